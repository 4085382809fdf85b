"""Refresh the command outputs quoted in the manual from what takst prints today.

    python docs/refresh_outputs.py            # rewrite docs/*.rst in place
    python docs/refresh_outputs.py --check    # only say which blocks are stale (exit 1)

Two rst comments mark a quoted output (``tests/test_docs.py`` checks both):

``.. check-output: NAME.tariff``
    The ``.. code-block:: text`` after it is what ``takst check NAME.tariff``
    prints for the nearest ``.. code-block:: tariff`` above it.
``.. verify-output: takst ARGS...``
    The code block after it is what that command prints when run from the
    repository root: a ``text`` block starts with ``$ takst ARGS...``; a
    ``json`` block holds the JSON, laid out with an indent of 2.

Run it after a change to takst's messages, trace or reports, and read the diff:
the prose around a block may need the same change.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import sys
import tempfile
import textwrap
from pathlib import Path

from takst.cli import main

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

_TARIFF = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]+tariff[ \t]*$")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]+(?P<lang>\w+)[ \t]*$")
_CHECK = re.compile(r"^(?P<indent>[ \t]*)\.\. check-output:[ \t]*(?P<file>\S+\.tariff)[ \t]*$")
_VERIFY = re.compile(
    r"^(?P<indent>[ \t]*)\.\. verify-output:[ \t]*(?P<command>takst[ \t].*?)[ \t]*$"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _body_end(lines: list[str], start: int) -> int:
    """The index after the body of the directive at ``lines[start]`` (trailing blanks excluded)."""
    i = start + 1
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > _indent(lines[start])):
        i += 1
    while i > start + 1 and not lines[i - 1].strip():
        i -= 1
    return i


def _body(lines: list[str], start: int) -> str:
    return textwrap.dedent("\n".join(lines[start + 1 : _body_end(lines, start)])).strip("\n") + "\n"


def _run(argv: list[str], cwd: Path) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        main(argv, out, err)
    finally:
        os.chdir(here)
    return out.getvalue(), err.getvalue()


def _check_output(lines: list[str], at: int, file: str) -> list[str]:
    j = at - 1
    while j >= 0 and not _TARIFF.match(lines[j]):
        j -= 1
    if j < 0:
        raise SystemExit(f"line {at + 1}: no tariff snippet above `.. check-output: {file}`")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / file).write_text(_body(lines, j), encoding="utf-8")
        out, err = _run(["check", file], Path(tmp))
    return (err + out).rstrip("\n").split("\n")


def _verify_output(command: str, language: str) -> list[str]:
    out, err = _run(shlex.split(command)[1:], ROOT)
    text = (out + err).rstrip("\n")
    if language == "json":
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False).split("\n")
    return [f"$ {command}", *text.split("\n")]


def refresh(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        check, verify = _CHECK.match(line), _VERIFY.match(line)
        i += 1
        if not (check or verify):
            continue
        while i < len(lines) and not lines[i].strip():
            out.append(lines[i])
            i += 1
        block = _BLOCK.match(lines[i]) if i < len(lines) else None
        if block is None:
            raise SystemExit(f"{path.name}:{i}: a marked output must be followed by a code block")
        if check:
            new = _check_output(lines, i, check["file"])
        else:
            assert verify is not None
            new = _verify_output(verify["command"], block["lang"])
        out.append(lines[i])
        out.append("")
        pad = block["indent"] + "   "
        out.extend((pad + n).rstrip() if n.strip() else "" for n in new)
        i = _body_end(lines, i)
    return "\n".join(out)


def run(argv: list[str]) -> int:
    stale = []
    for path in sorted(DOCS.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        new = refresh(path)
        if new != text:
            stale.append(path.name)
            if "--check" not in argv:
                path.write_text(new, encoding="utf-8")
    verb = "stale" if "--check" in argv else "refreshed"
    for name in stale:
        print(f"docs/{name}: {verb}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
