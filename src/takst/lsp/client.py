"""A small synchronous Language Server Protocol client over pipes.

For the tests, the benchmark and session transcripts: it starts a server command
(``takst lsp`` by default), sends requests and notifications, waits for answers and
notifications, and can record every message it sees. It is not used by the server.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

JSON = dict[str, Any]

DEFAULT_COMMAND = (sys.executable, "-m", "takst", "lsp")


class LspClient:
    """Talks to one server process. Use as a context manager; it shuts the server down."""

    def __init__(self, command: Sequence[str] = DEFAULT_COMMAND, *, cwd: str | Path | None = None,
                 record: bool = False) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.proc = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            cwd=cwd,
        )
        self._next = 0
        self._answers: dict[int, JSON] = {}
        self._notes: queue.Queue[JSON] = queue.Queue()
        self._lock = threading.Condition()
        self.transcript: list[tuple[str, JSON]] | None = [] if record else None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ wire
    def _send(self, message: JSON) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        if self.transcript is not None:
            self.transcript.append(("->", message))

    def _read(self) -> None:
        out: IO[bytes] | None = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            message: JSON = json.loads(out.read(length).decode("utf-8"))
            if self.transcript is not None:
                self.transcript.append(("<-", message))
            if "id" in message and "method" not in message:
                with self._lock:
                    self._answers[int(message["id"])] = message
                    self._lock.notify_all()
            elif "id" in message:  # a request from the server: answer it plainly
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                self._notes.put(message)

    # ------------------------------------------------------------------ calls
    def request(self, method: str, params: JSON | None = None, timeout: float = 30) -> Any:
        """Send a request and wait for its result (raises on an error answer)."""
        self._next += 1
        ident = self._next
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        with self._lock:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {method} in {timeout} s")
                self._lock.wait(left)
            answer = self._answers.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: JSON | None = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params or {}})

    def wait_for(self, method: str, timeout: float = 30, uri: str | None = None) -> JSON:
        """The next notification ``method`` (for ``uri``, if given); others are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method} in {timeout} s")
            try:
                note = self._notes.get(timeout=left)
            except queue.Empty:
                continue
            if note.get("method") != method:
                continue
            if uri is not None and note.get("params", {}).get("uri") != uri:
                continue
            params: JSON = note["params"]
            return params

    # ------------------------------------------------------------------ helpers
    def initialize(self, root: Path | None = None, options: JSON | None = None) -> JSON:
        result: JSON = self.request("initialize", {
            "processId": None,
            "initializationOptions": options,
            "rootUri": root.resolve().as_uri() if root else None,
            "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown"]},
                                              "publishDiagnostics": {"relatedInformation": True}}},
        })
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "tariff", "version": 1,
            "text": path.read_text(encoding="utf-8") if text is None else text}})
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.request("shutdown", timeout=10)
                self.notify("exit")
                self.proc.wait(timeout=10)
        except (OSError, TimeoutError, RuntimeError):
            self.proc.kill()
            self.proc.wait()
        finally:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._reader.join(timeout=5)
            self._stderr.close()

    def stderr_text(self) -> str:
        """What the server wrote to its standard error so far."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def __enter__(self) -> LspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transcript_text(self) -> str:
        """The recorded messages, one JSON object per message with its direction."""
        lines = []
        for direction, message in self.transcript or []:
            who = "client -> server" if direction == "->" else "server -> client"
            lines.append(f"--- {who}\n{json.dumps(message, ensure_ascii=False, indent=2)}")
        return "\n".join(lines) + "\n"


def position(text: str, needle: str, nth: int = 0, offset: int = 0) -> JSON:
    """The LSP position (UTF-16) of the ``nth`` occurrence of ``needle`` in ``text``, plus
    ``offset`` characters."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    start += offset
    line = text.count("\n", 0, start)
    col_text = text[text.rfind("\n", 0, start) + 1 : start]
    return {"line": line, "character": len(col_text.encode("utf-16-le")) // 2}
