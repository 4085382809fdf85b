"""Options that several ``takst`` commands share: ``--locale`` and the table's layout.

Kept apart from :mod:`takst.cli` so every command (and every front end that adds
a command) defines them the same way. Nothing here imports Babel or rich.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO, TextIO

from takst.dsl.errors import UsageError, diagnostic
from takst.render.locale import LOCALES, LocaleError, resolve_locale

#: ``--out -`` and ``--register -``: standard output, standard input.
STDIO = "-"


def _locale_arg(text: str) -> str:
    try:
        return resolve_locale(text, "")
    except LocaleError as e:
        d = e.diagnostics[0]
        raise argparse.ArgumentTypeError(f"{d.message}; {d.hint}") from None


def add_locale_option(parser: argparse.ArgumentParser) -> None:
    """``--locale da|nb|nn|sv|en`` (dest ``locale``; None: from the tariff's currency)."""
    parser.add_argument(
        "--locale", type=_locale_arg, default=None, metavar="|".join(LOCALES),
        help="how amounts are written for people: da 56.680,00, nb/nn/sv 56 680,00, "
        "en 56 680.00 (default: from the tariff's currency: DKK da, NOK nb, SEK sv, else en); "
        "with --format csv, da/nb/nn/sv write CSV for Excel (UTF-8 with BOM, ';', decimal "
        "comma), en or none takst's plain CSV")


def locale_of(args: argparse.Namespace, currency: str) -> str:
    """The locale a command writes in: ``--locale``, else the currency's."""
    return resolve_locale(getattr(args, "locale", None), currency)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """``--charges a,b`` and ``--layout``: the columns and the shape of a register's table."""
    parser.add_argument(
        "--charges", metavar="A,B", help="the table shows only these charges (the total "
        "stays the total of every charge)")
    parser.add_argument(
        "--layout", choices=["auto", "wide", "blocks", "long"], default="auto",
        help="the table of a register: wide (one row per customer), blocks (one customer "
        "per block), long (one line per amount), or auto (default): wide when it fits the "
        "terminal (or COLUMNS), else blocks")


def chosen_charges(text: str | None, charges: Sequence[str]) -> tuple[str, ...] | None:
    """The charges ``--charges`` names, in the tariff's order; every unknown name at once."""
    if text is None:
        return None
    wanted = [w.strip() for w in text.split(",") if w.strip()]
    if not wanted:
        raise UsageError(diagnostic("--charges names no charge",
                                    hint="e.g. --charges " + ",".join(charges[:2])))
    problems = []
    for w in wanted:
        if w not in charges:
            close = difflib.get_close_matches(w, charges, n=1)
            problems.append(diagnostic(
                f"--charges: the tariff has no charge {w!r}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "its charges are: " + ", ".join(charges)))
    if problems:
        raise UsageError(problems)
    return tuple(c for c in charges if c in wanted)


# ------------------------------------------------------------------ "-": standard input and output

#: How messages and results name a register read from standard input.
STDIN_NAME = "<stdin>"


class _Renamed:
    """A text stream that writes ``old`` as ``new`` (the temporary copy of standard
    input as ``<stdin>``, in messages and results)."""

    def __init__(self, stream: TextIO, old: str, new: str) -> None:
        self._stream, self._old, self._new = stream, old, new

    def write(self, text: str) -> int:
        self._stream.write(text.replace(self._old, self._new))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def standard_streams(args: argparse.Namespace, out: TextIO, err: TextIO,
                     stdin: BinaryIO | None = None) -> Iterator[tuple[TextIO, TextIO]]:
    """``--out -`` is standard output (as no ``--out``); ``--register -`` reads standard
    input: copied (in chunks) to a private temporary file, since a register is read more
    than once, and named ``<stdin>`` in every message and result. Yields (out, err)."""
    if getattr(args, "out", None) == STDIO:
        args.out = None
    if getattr(args, "register", None) != STDIO:
        yield out, err
        return
    source = stdin if stdin is not None else sys.stdin.buffer
    with tempfile.TemporaryDirectory(prefix="takst-stdin-") as folder:
        path = os.path.join(folder, "register.csv")
        with open(path, "wb") as fh:
            shutil.copyfileobj(source, fh, 1 << 16)
        args.register = path
        yield (_Renamed(out, path, STDIN_NAME),  # type: ignore[misc]
               _Renamed(err, path, STDIN_NAME))
