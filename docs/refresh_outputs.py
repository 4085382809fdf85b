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

``.. snippet-output: takst ARGS...``
    ARGS name one file ``NAME.tariff``. The ``text`` block after it is what
    that command prints when the nearest ``.. code-block:: tariff`` above it is
    saved as NAME.tariff in an empty folder and the command is run there; it
    starts with ``$ takst ARGS...``.
``.. reserved-words:``
    The ``text`` block after it lists the reserved words: the quoted words of
    ``dsl/tariff.lark``, in alphabetical order.

A line ``...`` in a ``text`` block of ``verify-output`` stands for one or more
lines left out. Such a block is kept as it is while it still matches; when it
does not, each part between the ``...`` lines is found again in the new output
by its first line (the first part at the top, the last part at the bottom) and
refreshed with the same number of lines. A part whose first line is gone is
reported, and the block must be edited by hand.

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
_SNIPPET_RUN = re.compile(
    r"^(?P<indent>[ \t]*)\.\. snippet-output:[ \t]*(?P<command>takst[ \t].*?)[ \t]*$"
)
_RESERVED = re.compile(r"^(?P<indent>[ \t]*)\.\. reserved-words:[ \t]*$")
GRAMMAR = ROOT / "dsl" / "tariff.lark"


def reserved_words() -> list[str]:
    """The quoted words of the grammar: the words a name cannot be."""
    return sorted(set(re.findall(r'"([^\W\d]\w*)"', GRAMMAR.read_text(encoding="utf-8"))))


def _reserved_block() -> list[str]:
    return textwrap.wrap(", ".join(reserved_words()), 76)


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


ELIDED = "..."


def _matches(shown: list[str], actual: list[str]) -> bool:
    """``shown`` is ``actual``, where a line ``...`` stands for one or more lines."""
    pieces = [r"[^\n]*(?:\n[^\n]*)*" if line == ELIDED else re.escape(line) for line in shown]
    return re.fullmatch("\n".join(pieces), "\n".join(actual)) is not None


def _parts(lines: list[str]) -> list[list[str]]:
    """The runs of lines between ``...`` lines (an empty run where ``...`` starts or ends)."""
    parts: list[list[str]] = [[]]
    for line in lines:
        if line == ELIDED:
            parts.append([])
        else:
            parts[-1].append(line)
    return parts


def _elide(old: list[str], new: list[str], where: str) -> list[str]:
    """``new`` with the lines left out that ``old`` (a block with ``...`` lines) leaves out."""
    if _matches(old, new):
        return old
    parts = _parts(old)
    out: list[str] = []
    at = 0
    for k, part in enumerate(parts):
        if k > 0:
            out.append(ELIDED)
        if not part:
            continue
        if k == len(parts) - 1 and len(parts) > 1:
            start = len(new) - len(part)  # the last part ends the output
        elif k == 0:
            start = 0  # the first part starts it
        else:
            found = [i for i in range(at + 1, len(new)) if new[i] == part[0]]
            if not found:
                raise SystemExit(
                    f"{where}: cannot refresh this block: {part[0]!r} (after a `...` line) "
                    "is no longer in the output; edit the block by hand"
                )
            start = found[0]
        if start < at or (k > 0 and start == at):
            raise SystemExit(f"{where}: the output is too short for this block's parts; "
                             "edit the block by hand")
        out.extend(new[start : start + len(part)])
        at = start + len(part)
    return out


def _snippet_output(lines: list[str], at: int, command: str, where: str) -> list[str]:
    old = _body(lines, at).rstrip("\n").split("\n")
    files = [a for a in shlex.split(command) if a.endswith(".tariff")]
    if len(files) != 1:
        raise SystemExit(f"{where}: `.. snippet-output: {command}` must name one .tariff file")
    j = at - 1
    while j >= 0 and not _TARIFF.match(lines[j]):
        j -= 1
    if j < 0:
        raise SystemExit(f"{where}: no tariff snippet above `.. snippet-output: {command}`")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / files[0]).write_text(_body(lines, j), encoding="utf-8")
        out, err = _run(shlex.split(command)[1:], Path(tmp))
    new = (out + err).rstrip("\n").split("\n")
    if ELIDED in old[1:]:
        new = _elide(old[1:], new, where)
    return [f"$ {command}", *new]


def _verify_output(command: str, language: str, old: list[str], where: str) -> list[str]:
    out, err = _run(shlex.split(command)[1:], ROOT)
    text = (out + err).rstrip("\n")
    if language == "json":
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False).split("\n")
    new = text.split("\n")
    if ELIDED in old[1:]:
        new = _elide(old[1:], new, where)
    return [f"$ {command}", *new]


def refresh(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        check, verify = _CHECK.match(line), _VERIFY.match(line)
        reserved, snippet = _RESERVED.match(line), _SNIPPET_RUN.match(line)
        i += 1
        if not (check or verify or reserved or snippet):
            continue
        while i < len(lines) and not lines[i].strip():
            out.append(lines[i])
            i += 1
        block = _BLOCK.match(lines[i]) if i < len(lines) else None
        if block is None:
            raise SystemExit(f"{path.name}:{i}: a marked output must be followed by a code block")
        if reserved:
            new = _reserved_block()
        elif snippet:
            new = _snippet_output(lines, i, snippet["command"], f"{path.name}:{i + 1}")
        elif check:
            new = _check_output(lines, i, check["file"])
        else:
            assert verify is not None
            old = _body(lines, i).rstrip("\n").split("\n")
            new = _verify_output(verify["command"], block["lang"], old, f"{path.name}:{i + 1}")
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
