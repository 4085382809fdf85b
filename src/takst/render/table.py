"""Tables for people that fit where they are shown: a terminal, a pipe, a file.

:func:`screen_for` says how wide the output may be and whether it may be styled:
a terminal's width (``COLUMNS`` overrides it), no limit for a pipe or a file;
colour only on a terminal and never with ``NO_COLOR`` (https://no-color.org) or
``TERM=dumb``. :func:`choose_layout` picks how a
register's results are laid out when the one-row-per-customer table does not
fit: one customer per block, or one line per amount. :func:`localize_text`
writes the numbers of a trace step in the reader's locale.

rich draws on a terminal only (bold headings, dim rules) and shows the progress
bar of :func:`progress`; it is imported only then, so a pipe, a file or a
one-customer run never pays for it. Everything written to a pipe or a file is
plain text without escape sequences.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO, TypeVar

from takst.render.locale import Numbers

#: How a register's results can be laid out (``--layout``).
LAYOUTS: Final = ("auto", "wide", "blocks", "long")
#: The width a layout that needs one uses when the output has none (a file, a pipe).
DEFAULT_WIDTH: Final = 100
#: The worksheet's width: the terminal's, within these bounds.
WORKSHEET_WIDTHS: Final = (60, 120)
#: A run shows its progress bar once it has run this long (seconds).
PROGRESS_AFTER: Final = 2.0

T = TypeVar("T")


@dataclass(frozen=True)
class Screen:
    """Where a table is shown: its width (None: as wide as the table needs) and whether
    it is a terminal that may be styled."""

    width: int | None = None
    terminal: bool = False
    color: bool = False


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _columns(environ: Mapping[str, str]) -> int | None:
    text = environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return None


def no_color(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``NO_COLOR`` is set to anything but the empty string, or ``TERM=dumb``."""
    env = os.environ if environ is None else environ
    return bool(env.get("NO_COLOR")) or env.get("TERM") == "dumb"


def screen_for(stream: object, environ: Mapping[str, str] | None = None) -> Screen:
    """The :class:`Screen` of standard output ``stream``: a terminal has its width
    (``COLUMNS`` when set, as a shell exports it); a pipe or a file has none (the whole
    table, for ``less -S``, an editor or a program; ``--layout`` chooses another)."""
    env = os.environ if environ is None else environ
    if not _isatty(stream):
        return Screen()
    width = _columns(env) or shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return Screen(width=width, terminal=True, color=not no_color(env))


def worksheet_width(screen: Screen) -> int:
    """The worksheet's width on ``screen``: 100 in a file or pipe, else the screen's
    (at least 60, at most 120: longer lines are hard to follow)."""
    if screen.width is None:
        return DEFAULT_WIDTH
    low, high = WORKSHEET_WIDTHS
    return max(low, min(high, screen.width))


# ------------------------------------------------------------------ cells


def cells(text: str) -> int:
    """How many terminal columns ``text`` takes: wide (East Asian) characters two,
    combining marks none."""
    if text.isascii():
        return len(text)
    n = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def ljust(text: str, width: int) -> str:
    return text + " " * (width - cells(text))


def rjust(text: str, width: int) -> str:
    return " " * (width - cells(text)) + text


# ------------------------------------------------------------------ layouts


def choose_layout(layout: str, needed: int, width: int | None) -> tuple[str, str | None]:
    """The layout to use and, when ``auto`` switched away from the table, the one line
    that says so. ``needed``: the width of the one-row-per-customer table."""
    if layout != "auto":
        return layout, None
    if width is None or needed <= width:
        return "wide", None
    return "blocks", (f"{needed} columns do not fit in {width}: one customer per block "
                      "(see --layout and --charges).")


def block_geometry(names: Sequence[str], amount_width: int, width: int) -> tuple[int, int, int]:
    """(name width, cells per line, line width) of the blocks layout."""
    name_w = max((cells(n) for n in names), default=0)
    cell = name_w + 2 + amount_width
    per_line = max(1, (width - 2 + 4) // (cell + 4))
    per_line = min(per_line, max(1, len(names)))
    return name_w, per_line, 2 + per_line * cell + (per_line - 1) * 4


def block_lines(head: str, total: str, names: Sequence[str], amounts: Sequence[str],
                name_w: int, amount_w: int, per_line: int, line_w: int) -> list[str]:
    """One customer (or the totals) as a block: a heading with the total at the right,
    then the amounts, ``per_line`` to a line."""
    right = f"total {total}"
    pad = max(line_w - cells(head) - cells(right), 2)
    out = [head + " " * pad + right]
    pairs = [ljust(n, name_w) + "  " + rjust(a, amount_w) for n, a in zip(names, amounts,
                                                                          strict=True)]
    for i in range(0, len(pairs), per_line):
        out.append(("  " + "    ".join(pairs[i:i + per_line])).rstrip())
    return out


# ------------------------------------------------------------------ numbers in text


#: A number as takst writes it in a trace step: digits grouped by spaces, a decimal point.
#: Not a part of a word (``over_25000``), of a date (``2019-05-01``) or of a longer number.
_NUMBER = re.compile(r"(?<![\w.])(?<!\d-)\d{1,3}(?: \d{3})*(?:\.\d+)?(?![\w.]|-\d)")
_QUOTED = re.compile(r'("[^"]*")')


def localize_text(text: str, numbers: Numbers, keep: Iterable[str] = ()) -> str:
    """The numbers of a trace step (``1.5 × 41 000 = 61 500``) in ``numbers``' locale
    (``1,5 × 41.000 = 61.500`` in Danish); text in double quotes, the texts of ``keep``
    (the tariff's own labels and names, :func:`tariff_texts`) and dates stay as they
    are. Only the symbols change: every digit stays."""
    if numbers.plain:
        return text
    group, point = numbers.group_symbol, numbers.decimal_symbol

    def one(m: re.Match[str]) -> str:
        return m.group(0).replace(" ", "\0").replace(".", point).replace("\0", group)

    kept = [k for k in keep if k in text]
    if kept:
        pattern = "|".join(re.escape(k) for k in sorted(kept, key=len, reverse=True))
        pieces = re.split(f"({pattern})", text)
        return "".join(p if i % 2 else localize_text(p, numbers) for i, p in enumerate(pieces))
    parts = _QUOTED.split(text)
    return "".join(p if i % 2 else _NUMBER.sub(one, p) for i, p in enumerate(parts))


def tariff_texts(tariff: object) -> frozenset[str]:
    """The tariff's own texts with a number in them (labels, reasons, names in lists:
    ``OS2valghalla 3.0``), which a worksheet quotes as they are written."""
    import attrs

    from takst.dsl.errors import Span

    found: set[str] = set()
    seen: set[int] = set()
    stack: list[object] = [tariff]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if any(c.isdigit() for c in node) and _NUMBER.search(node):
                found.add(node)
        elif isinstance(node, (list, tuple, frozenset, set)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif attrs.has(type(node)) and not isinstance(node, Span) and id(node) not in seen:
            seen.add(id(node))
            kind: Any = type(node)
            stack.extend(getattr(node, a.name) for a in attrs.fields(kind))
    return frozenset(found)


# ------------------------------------------------------------------ writing


class Painter:
    """Writes lines: plain text, or through rich on a terminal that may be styled
    (``style``: a rich style such as ``bold``; ignored for plain text)."""

    def __init__(self, out: TextIO, screen: Screen | None = None) -> None:
        self.out = out
        self._console: Any = None
        self._text: Any = None
        if screen is not None and screen.color:
            try:
                from rich.console import Console
                from rich.text import Text
            except ImportError:  # pragma: no cover - rich is a dependency; plain then
                return
            self._console = Console(file=out, force_terminal=True, highlight=False,
                                    width=screen.width or DEFAULT_WIDTH, soft_wrap=True,
                                    emoji=False, markup=False)
            self._text = Text

    def line(self, text: str = "", style: str | None = None) -> None:
        if self._console is None or not style:
            self.out.write(text + "\n")
        else:
            self._console.print(self._text(text, style=style), crop=False)


def progress(items: Iterable[T], err: TextIO, *, total: int | None = None,
             after: float = PROGRESS_AFTER, clock: Callable[[], float] = time.monotonic,
             environ: Mapping[str, str] | None = None) -> Iterator[T]:
    """``items`` as they come; once the run has taken ``after`` seconds, and only when
    ``err`` is a terminal, a progress bar on it (gone when the run ends)."""
    if not _isatty(err):
        yield from items
        return
    start = clock()
    it = iter(items)
    done = 0
    for item in it:
        yield item
        done += 1
        if done % 32 == 0 and clock() - start >= after:
            break
    else:
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:  # pragma: no cover - rich is a dependency
        yield from it
        return
    env = os.environ if environ is None else environ
    console = Console(file=err, no_color=no_color(env), highlight=False)
    columns = [TextColumn("customers"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("eval", total=total, completed=done)
        for item in it:
            yield item
            bar.advance(task)
