"""Batch reports: a register's results as a table, JSON or CSV.

Output is deterministic: customers in register order, charges in tariff order,
amounts as exact decimal strings, no timestamps. Every ``write_*`` function
streams: it writes each customer's row as the result comes and keeps only
running sums (:class:`Totals`), so a register of any size is written in bounded
memory; the ``to_*`` functions are the same into a string.
"""

from __future__ import annotations

import contextlib
import csv
import decimal
import errno
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TextIO

from takst.beside import Beside
from takst.dsl import ast
from takst.dsl.errors import TariffError, diagnostic
from takst.dsl.numbers import money_group, money_text
from takst.interpreter.model import ChargeLine, CustomerResult
from takst.render.results import customer_json

if TYPE_CHECKING:
    from takst.render.locale import Numbers
    from takst.render.table import Painter, Screen


def _frequency_words(charge: ast.ChargeDecl) -> str:
    f = charge.frequency
    if f.kind == "once":
        return f"once, in the year of {f.anchor.name if f.anchor else '?'}"
    every = f"every {f.period}"  # issue 12: every month, quarter or half year
    if f.anchor is not None:
        return f"{every} from {f.anchor.name}"
    return every


class Totals:
    """Sums of a register's results, accumulated exactly as the results pass.

    ``by_charge`` holds the sum of the known amounts of each charge; ``pending``
    counts the customers whose amount of a charge is pending (not in the sum).
    Nothing of a result is kept but these sums, so a register of any size is summed
    in constant memory.
    """

    def __init__(self, tariff: ast.Tariff) -> None:
        self.charges = tuple(c.name for c in tariff.charges)
        self.customers = 0
        self.by_charge = dict.fromkeys(self.charges, Decimal(0))
        self.known = dict.fromkeys(self.charges, 0)
        self.pending = dict.fromkeys(self.charges, 0)
        self.total = Decimal(0)
        self.any_pending = False
        #: issue 12: whether the tariff states VAT, and the VAT summed (per charge, in all).
        self.has_vat = bool(tariff.vats)
        self.vat_by_charge = dict.fromkeys(self.charges, Decimal(0))
        self.vat = Decimal(0)

    def add(self, result: CustomerResult, total: Decimal | None = None) -> None:
        """Count one result in (``total``: its total, when the caller has it already)."""
        self.add_lines(result.lines, result.total if total is None else total)

    def add_lines(self, lines: Sequence[ChargeLine], total: Decimal, times: int = 1) -> None:
        """Count in ``times`` results that have these lines and this total (exactly: a
        sum of equal amounts is their product, in the context that never rounds)."""
        self.customers += times
        pending = False
        add = _SUM.add

        def many(amount: Decimal) -> Decimal:
            return amount if times == 1 else _SUM.multiply(amount, times)

        for line in lines:
            if line.status == "pending":
                pending = True
            amount = line.amount
            if amount is None:
                self.pending[line.charge] += times
            else:
                if amount:  # most lines of a register are not charged: nothing to add
                    self.by_charge[line.charge] = add(self.by_charge[line.charge], many(amount))
                self.known[line.charge] += times
            if line.vat is not None:
                vat = many(line.vat)
                self.vat_by_charge[line.charge] = add(self.vat_by_charge[line.charge], vat)
                self.vat = add(self.vat, vat)
        self.total = add(self.total, many(total))
        if pending:
            self.any_pending = True

    def to_json(self) -> dict[str, Any]:
        """The ``"totals"`` entry of a JSON result."""
        data: dict[str, Any] = {
            "customers": self.customers,
            "by_charge": {c: money_text(self.by_charge[c]) for c in self.charges},
            "pending_by_charge": {c: n for c, n in self.pending.items() if n},
            "total": money_text(self.total),
        }
        if self.has_vat:  # issue 12
            data["vat_by_charge"] = {c: money_text(self.vat_by_charge[c]) for c in self.charges}
            data["vat"] = money_text(self.vat)
            data["total_inc_vat"] = money_text(_SUM.add(self.total, self.vat))
        return data


#: The context of every running sum: exact, or an error (never rounded to 28 digits).
_SUM = decimal.Context(prec=400, traps=[decimal.Inexact, decimal.Rounded,
                                        decimal.InvalidOperation])


def _dump(value: Any) -> str:
    # One customer per line: readable and diffable, and json's fast C encoder does the
    # work (indent= would switch to the slow pure-Python one).
    return json.dumps(value, ensure_ascii=False)


def _head(tariff: ast.Tariff, year: int, manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    head: dict[str, Any] = {} if manifest is None else {"manifest": dict(manifest)}
    head |= {
        "tariff": tariff.name,
        "title": tariff.title,
        "file": tariff.file,
        "year": year,
        "currency": tariff.currency,
        "charges": [
            {
                "charge": c.name,
                "label": c.label or c.name,
                "frequency": _frequency_words(c),
                "pending": c.pending,
            }
            for c in tariff.charges
        ],
    }
    return head


def write_json(
    out: TextIO,
    tariff: ast.Tariff,
    year: int,
    results: Iterable[CustomerResult],
    *,
    with_trace: bool = False,
    manifest: Mapping[str, Any] | None = None,
) -> Totals:
    """Write the results as one JSON document, one head entry and one customer per line,
    each customer as it comes; the totals, summed on the way, end the document.

    ``manifest`` (see :mod:`takst.provenance.manifest`) becomes the first entry,
    ``"manifest"``, so that ``takst verify`` can check the result again.
    """
    totals = Totals(tariff)
    out.write("{\n" + ",\n".join(f"  {_dump(k)}: {_dump(v)}"
                                   for k, v in _head(tariff, year, manifest).items()))
    sep = ',\n  "customers": [\n    '
    vat = bool(tariff.vats)
    for r in results:
        out.write(sep + _dump(customer_json(r, with_trace=with_trace, vat=vat)))
        sep = ",\n    "
        totals.add(r)
    out.write('\n  ]' if totals.customers else ',\n  "customers": []')
    out.write(f',\n  "totals": {_dump(totals.to_json())}\n}}\n')
    return totals


def to_json(
    tariff: ast.Tariff,
    year: int,
    results: Iterable[CustomerResult],
    *,
    with_trace: bool = False,
    manifest: Mapping[str, Any] | None = None,
) -> str:
    """:func:`write_json` into a string (for small results)."""
    buf = io.StringIO()
    write_json(buf, tariff, year, results, with_trace=with_trace, manifest=manifest)
    return buf.getvalue()


#: A text cell starting with one of these is run as a formula by spreadsheets (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def csv_text(cell: str) -> str:
    """A text cell (an id, a name) as CSV output writes it: one a spreadsheet would run
    as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
    gets a leading ``'``, and so does one that already starts with ``'``, so that
    :func:`csv_text_read` gives the text back exactly. A plain number (``-5``) stays."""
    if cell.startswith("'") or (cell.startswith(FORMULA_START) and not _NUMBER.fullmatch(cell)):
        return "'" + cell
    return cell


def csv_text_read(cell: str) -> str:
    """The text a cell written by :func:`csv_text` stands for."""
    return cell[1:] if cell.startswith("'") else cell


def write_csv(out: TextIO, tariff: ast.Tariff, results: Iterable[CustomerResult]) -> Totals:
    """Write the results as CSV, one row per customer as it comes (in blocks of
    :data:`_BLOCK_ROWS` rows, each block written at once). Text cells that a
    spreadsheet would run as a formula are neutralised (:func:`csv_text`); amounts are
    numbers and stay as they are."""
    vat = bool(tariff.vats)
    # issue 12: the VAT columns come last, and only when the tariff states VAT
    vat_heads = [*(f"{c.name} vat" for c in tariff.charges), "vat", "total_inc_vat"] if vat else []
    totals = Totals(tariff)
    # Rows are written in blocks, by the C writer into a buffer: one write per block.
    buffer = io.StringIO(newline="")
    row = csv.writer(buffer, lineterminator="\n").writerow
    row(["id", "name", *(c.name for c in tariff.charges), "total", "pending", *vat_heads])
    # A register repeats few combinations of charge lines (the engines keep one line per
    # amount): the cells after the name, and the count of results, per combination, keyed
    # by the lines' identities. A kept combination holds its lines, so no id in a key is
    # reused; when too many are kept, they are counted into the totals and let go.
    combos: dict[tuple[int, ...], _Combination] = {}

    def flush() -> None:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if text:  # taken out first: a write that fails is not tried again
            out.write(text)

    try:
        for n, r in enumerate(results, 1):
            key = tuple(map(id, r.lines))
            combo = combos.get(key)
            if combo is None:
                if len(combos) >= _KEPT_LINES:
                    _count(totals, combos)
                combo = combos[key] = _Combination(r.lines, *_tail_cells(r, vat))
            combo.times += 1
            row([csv_text(r.id), csv_text(r.name), *combo.cells])
            if n % _BLOCK_ROWS == 0:
                flush()
    finally:  # every row before a failure is written, as it would be one at a time
        flush()
    _count(totals, combos)
    return totals


#: How many combinations of lines :func:`write_csv` keeps the cells of.
_KEPT_LINES = 4096
#: How many rows :func:`write_csv` writes at a time.
_BLOCK_ROWS = 512


class _Combination:
    """Charge lines that results of :func:`write_csv` share: their cells, total and count."""

    __slots__ = ("cells", "lines", "times", "total")

    def __init__(self, lines: Sequence[ChargeLine], cells: list[str], total: Decimal) -> None:
        self.lines, self.cells, self.total, self.times = lines, cells, total, 0


def _count(totals: Totals, combos: dict[tuple[int, ...], _Combination]) -> None:
    """Add the kept combinations' results to the totals, and let them go."""
    for combo in combos.values():
        totals.add_lines(combo.lines, combo.total, combo.times)
    combos.clear()


def _tail_cells(r: CustomerResult, vat: bool) -> tuple[list[str], Decimal]:
    """A result's cells after its name (the amounts, total, pending charges, VAT), and
    its total."""
    cells = []
    pending = []
    for line in r.lines:
        if line.status == "pending":
            pending.append(line.charge)
        cells.append("pending" if line.amount is None else money_text(line.amount))
    total = r.total
    cells += [money_text(total), ";".join(pending)]
    if vat:
        cells += ["pending" if ln.vat is None else money_text(ln.vat) for ln in r.lines]
        cells += [money_text(r.vat_total), money_text(r.total_inc_vat)]
    return cells, total


def to_csv(tariff: ast.Tariff, results: Iterable[CustomerResult]) -> str:
    """:func:`write_csv` into a string (for small results)."""
    buf = io.StringIO(newline="")
    write_csv(buf, tariff, results)
    return buf.getvalue()


def _table_cells(r: CustomerResult, amount: Callable[[Decimal], str],
                 chosen: frozenset[str] | None, vat: bool = False) -> list[str]:
    cells = [r.id, r.name]
    for line in r.lines:
        if chosen is not None and line.charge not in chosen:
            continue
        if line.amount is None:
            cells.append("pending")
        elif not line.charged:
            cells.append("-")
        else:
            cells.append(amount(line.amount))
    cells.append(amount(r.total) + (" +" if r.pending else ""))
    if vat:  # issue 12
        cells += [amount(r.vat_total), amount(r.total_inc_vat)]
    return cells


def write_table(out: TextIO, tariff: ast.Tariff, year: int,
                results: Iterable[CustomerResult], *, numbers: Numbers | None = None,
                screen: Screen | None = None, layout: str = "auto",
                charges: Sequence[str] | None = None) -> Totals:
    """A plain-text table for people: one row per customer, one column per charge.

    The columns are as wide as their widest cell, which is known only at the end:
    the rows go to a temporary file on the way (with the widths and the totals, as
    they pass), and are laid out from it, so memory stays bounded.

    ``numbers`` writes the amounts (default: takst's plain form, ``56 680.00``);
    ``charges`` chooses the columns (in the tariff's order; the total stays the whole
    total); ``layout`` is ``wide`` (the table), ``blocks`` (one customer per block),
    ``long`` (one line per amount) or ``auto``: the table when it fits ``screen``'s
    width, else blocks, said in one line under the title."""
    from takst.render import table as tables

    amount = money_group if numbers is None or numbers.plain else numbers.amount
    screen = screen or tables.Screen()
    chosen = None if charges is None else frozenset(charges)
    shown = [c for c in tariff.charges if chosen is None or c.name in chosen]
    vat = bool(tariff.vats)
    extra = ["vat", "total_inc_vat"] if vat else []  # issue 12: VAT beside the total
    heads = ["id", "name", *(c.name for c in shown), "total", *extra]
    widths = [tables.cells(h) for h in heads]
    cells = tables.cells
    values = [0] * len(heads)  # the widest value of each column, without its heading
    totals = Totals(tariff)
    paint = tables.Painter(out, screen)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        for r in results:
            row = _table_cells(r, amount, chosen, vat)
            values = [max(w, cells(c)) for w, c in zip(values, row, strict=True)]
            spool.write(_dump(row) + "\n")
            totals.add(r)
        foot = ["", f"{totals.customers} customers"]
        for c in shown:
            known, count = totals.known[c.name], totals.known[c.name] + totals.pending[c.name]
            if not known and count:
                foot.append("pending")
            else:
                foot.append(amount(totals.by_charge[c.name]) + (" +" if known < count else ""))
        foot.append(amount(totals.total) + (" +" if totals.any_pending else ""))
        if vat:
            foot += [amount(totals.vat), amount(_SUM.add(totals.total, totals.vat))]
        values = [max(w, cells(c)) for w, c in zip(values, foot, strict=True)]
        widths = [max(w, v) for w, v in zip(widths, values, strict=True)]
        needed = sum(widths) + 2 * (len(widths) - 1)
        chosen_layout, note = tables.choose_layout(layout, needed, screen.width)

        paint.line(f"{tariff.title} — billing year {year} — amounts in {tariff.currency}",
                   "bold")
        paint.line()
        for c in shown:
            paint.line(f"  {c.name}: {c.label or c.name} ({_frequency_words(c)})")
        if chosen is not None:
            paint.line(f"  total: every charge of the tariff ({len(shown)} of "
                       f"{len(tariff.charges)} shown)")
        if note:
            paint.line()
            paint.line(note, "italic")
        paint.line()
        spool.seek(0)
        rows = (json.loads(line) for line in spool)
        if chosen_layout == "blocks":
            _blocks(paint, shown, values, rows, foot, screen.width or tables.DEFAULT_WIDTH,
                    extra)
        elif chosen_layout == "long":
            _long(paint, shown, widths, values, rows, foot, extra)
        else:
            _wide(paint, heads, widths, rows, foot)
    notes = ["- not charged: not due this year (once-only, or not yet joined), not offered "
             "to this customer type, or not among its services"]
    if totals.any_pending:
        notes.append("+ the total does not include pending amounts (not decided yet)")
    for text in notes:
        if screen.width is None:
            paint.line(text)
        else:  # on a screen: within its width
            for part in textwrap.wrap(text, max(screen.width - 1, 40), subsequent_indent="  "):
                paint.line(part)
    return totals


def _wide(paint: Painter, heads: list[str], widths: list[int], rows: Iterable[list[str]],
          foot: list[str]) -> None:
    from takst.render.table import ljust, rjust

    def fmt(cells: list[str]) -> str:
        line = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            line.append(ljust(cell, w) if i < 2 else rjust(cell, w))
        return "  ".join(line).rstrip()

    rule = "  ".join("-" * w for w in widths)
    paint.line(fmt(heads), "bold")
    paint.line(rule, "dim")
    for row in rows:
        paint.line(fmt(row))
    paint.line(rule, "dim")
    paint.line(fmt(foot), "bold")
    paint.line()


def _blocks(paint: Painter, shown: Sequence[ast.ChargeDecl], values: list[int],
            rows: Iterable[list[str]], foot: list[str], width: int,
            extra: Sequence[str] = ()) -> None:
    """One customer per block: ``id name ... total``, then its amounts side by side (and
    ``extra``, the VAT columns after the total, among them)."""
    from takst.render.table import block_geometry, block_lines

    names = [*(c.name for c in shown), *extra]
    at = 2 + len(shown)  # the total's cell; the extra ones follow it
    amount_w = max([*values[2:at], *values[at + 1:]], default=0)
    name_w, per_line, line_w = block_geometry(names, amount_w, width)
    for row in rows:
        head = f"{row[0]}  {row[1]}" if row[0] != row[1] else row[1]
        for i, text in enumerate(block_lines(head, row[at], names, [*row[2:at], *row[at + 1:]],
                                             name_w, amount_w, per_line, line_w)):
            paint.line(text, "bold" if i == 0 else None)
        paint.line()
    paint.line("-" * line_w, "dim")
    for i, text in enumerate(block_lines(f"All {foot[1]}", foot[at], names,
                                         [*foot[2:at], *foot[at + 1:]], name_w,
                                         amount_w, per_line, line_w)):
        paint.line(text, "bold" if i == 0 else None)
    paint.line()


def _long(paint: Painter, shown: Sequence[ast.ChargeDecl], widths: list[int],
          values: list[int], rows: Iterable[list[str]], foot: list[str],
          extra: Sequence[str] = ()) -> None:
    """One line per amount: ``id name charge amount``; a customer's total is its last line
    (before ``extra``, the VAT columns)."""
    from takst.render.table import cells, ljust, rjust

    names = [c.name for c in shown]
    charge_w = max([cells("charge"), cells("total"), *(cells(n) for n in [*names, *extra])])
    amount_w = max([cells("amount"), *values[2:]])
    id_w, name_w = widths[0], max(widths[1], cells(foot[1]))

    def fmt(cells4: Sequence[str]) -> str:
        a, b, c, d = cells4
        return f"{ljust(a, id_w)}  {ljust(b, name_w)}  {ljust(c, charge_w)}  {rjust(d, amount_w)}"

    rule = "  ".join("-" * w for w in (id_w, name_w, charge_w, amount_w))
    paint.line(fmt(["id", "name", "charge", "amount"]).rstrip(), "bold")
    paint.line(rule, "dim")
    for row in rows:
        for name, value in zip([*names, "total", *extra], row[2:], strict=True):
            paint.line(fmt([row[0], row[1], name, value]).rstrip())
    paint.line(rule, "dim")
    for name, value in zip([*names, "total", *extra], foot[2:], strict=True):
        paint.line(fmt(["", foot[1], name, value]).rstrip(), "bold" if name == "total" else None)
    paint.line()


def to_table(tariff: ast.Tariff, year: int, results: Iterable[CustomerResult], *,
             numbers: Numbers | None = None, screen: Screen | None = None,
             layout: str = "auto", charges: Sequence[str] | None = None) -> str:
    """:func:`write_table` into a string (for small results)."""
    buf = io.StringIO()
    write_table(buf, tariff, year, results, numbers=numbers, screen=screen, layout=layout,
                charges=charges)
    return buf.getvalue()


class HashingWriter:
    """A text stream that passes everything on and keeps the SHA-256 of its UTF-8 bytes
    (the sidecar of a CSV result records it, without the CSV being held in memory)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._digest = hashlib.sha256()

    def write(self, text: str) -> int:
        self._digest.update(text.encode("utf-8"))
        return self._out.write(text)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class OutputError(TariffError):
    """An output file that cannot or must not be written (``--out``)."""

    kind = "output error"


#: A temporary file of ``open_atomic`` for ``F`` is ``.F.takst-PID-RANDOM.tmp``, next to F.
_TEMP = re.compile(r"^\.(?P<name>.+)\.takst-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")
#: A temporary file whose process still runs is removed only when it is older than this.
STALE_SECONDS = 24 * 3600

_PLAIN = {
    errno.ENOSPC: ("there is no space left on the device",
                   "free some space, or write to another disk with --out"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space, or write elsewhere"),
    errno.EISDIR: ("it is a folder", "name a file, e.g. --out FOLDER/result.json"),
    errno.ENOTDIR: ("a part of the path is not a folder", "check the path"),
    errno.ENOENT: ("its folder does not exist", "create the folder first, or check the path"),
    errno.EACCES: ("permission denied", "write to a folder you may write to, or change "
                   "the permissions"),
    errno.EPERM: ("permission denied", "write to a folder you may write to, or change "
                  "the permissions"),
    errno.EROFS: ("the file system is read-only", "write to another folder with --out"),
    errno.EIO: ("the device reported an input/output error", "check the disk"),
    errno.EFBIG: ("the file is too large for the file system", "write to another disk"),
}


def plain_os_error(err: OSError) -> tuple[str, str]:
    """What an OS error means, in plain words, and what to do about it."""
    return _PLAIN.get(err.errno or 0, ((err.strerror or str(err)).lower(),
                                       "check the path and try again"))


def output_error(path: str | Path, err: OSError) -> OutputError:
    """An OS error while writing ``path``, in plain words, naming ``path`` (never the
    hidden temporary file) and saying what to do."""
    what, hint = plain_os_error(err)
    return OutputError(diagnostic(f"cannot write {path}: {what}; nothing was written",
                                  hint=hint))


def output_target(path: str | Path) -> Path:
    """The file ``--out PATH`` writes: PATH, or the file a symbolic link PATH names (the
    link is kept, its target replaced atomically). Refuses an existing file that is not
    a regular file (a device such as ``/dev/null``, a FIFO, a socket, a folder)."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = target.stat()
    except FileNotFoundError:
        return target
    except OSError as err:
        raise output_error(path, err) from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(diagnostic(f"cannot write {path}: it is a folder",
                                     hint="name a file, e.g. --out FOLDER/result.json"))
    if not stat.S_ISREG(st.st_mode):
        kind = ("a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise OutputError(diagnostic(
            f"cannot write {path}: it is {kind}, not a regular file",
            hint="--out replaces a regular file; to write to standard output, leave "
            "--out out (and redirect it)"))
    return target


def check_not_input(out: str | Path, inputs: Iterable[tuple[str, str | Path]]) -> None:
    """Refuse an output that is one of the inputs (``(what, path)``): the same path, the
    same file by another name (a hard link, ``./x``, another spelling) or a symbolic link
    to it. Nothing is read or written."""
    try:
        target = output_target(out)
        st_out = target.stat()
    except FileNotFoundError:
        return
    except OSError:
        return  # output_target reports it
    for what, path in inputs:
        try:
            st_in = os.stat(path)
        except OSError:
            continue
        if (st_in.st_dev, st_in.st_ino) == (st_out.st_dev, st_out.st_ino):
            same = "" if str(path) == str(out) else f" ({out} is {path})"
            raise OutputError(diagnostic(
                f"--out {out} would overwrite the {what} {path}{same}; nothing was read "
                "or written", hint="write the result to another file"))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists, or it cannot be told: keep the file
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary files that an earlier run writing ``path`` left behind
    (killed before it could clean up): those whose process is no longer running, or
    older than :data:`STALE_SECONDS`. Returns the files removed."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        m = _TEMP.match(entry.name)
        if m is None or m.group("name") != path.name:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if old or not _alive(int(m.group("pid"))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _temporary(path: Path) -> tuple[int, str]:
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.takst-{os.getpid()}-", suffix=".tmp",
                               dir=folder)
    try:
        # mkstemp makes the file private (0600); give it the mode the file had, or the
        # mode a new file gets (0666 less the umask)
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return fd, tmp


@contextlib.contextmanager
def _staged(path: Path, shown: str | Path, *, binary: bool = False,
            ) -> Iterator[tuple[Any, str]]:
    """Write a temporary file for ``path``; yields (stream, temporary path). It is synced
    when the block ends; removed when the block raises. OS errors name ``shown``."""
    try:
        fd, tmp = _temporary(path)
    except OSError as err:
        raise output_error(shown, err) from None
    try:
        try:
            with (os.fdopen(fd, "wb") if binary
                  else os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
                yield fh, tmp
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as err:
            raise output_error(shown, err) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def open_atomic(path: str | Path) -> Iterator[TextIO]:
    """A file written whole or not at all: the text goes to a temporary file in the same
    folder (``.NAME.takst-PID-RANDOM.tmp``), which replaces ``path`` when the ``with``
    block ends without an exception (and is removed when it raises). A symbolic link is
    kept and the file it names replaced. Temporary files of earlier runs that were
    killed are removed first (:func:`remove_stale_temporaries`). An OS error is an
    :class:`OutputError` naming ``path``."""
    target = output_target(path)
    with _staged(target, path) as (fh, tmp):
        yield fh
    _into_place(tmp, target, path)


@contextlib.contextmanager
def open_atomic_binary(path: str | Path) -> Iterator[BinaryIO]:
    """:func:`open_atomic` for bytes (an XLSX workbook): written whole or not at all."""
    target = output_target(path)
    with _staged(target, path, binary=True) as (fh, tmp):
        yield fh
    _into_place(tmp, target, path)


def _into_place(tmp: str, target: Path, shown: str | Path) -> None:
    """The temporary file replaces ``target`` (or is removed, and the error names ``shown``)."""
    try:
        os.replace(tmp, target)
    except OSError as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise output_error(shown, err) from None


class ByName(Protocol):
    """``open_atomic_pair``'s writer by name: ``write(temporary path)``, then the SHA-256 of
    the file written; ``meanwhile`` runs while the file is hashed and synced."""

    def __call__(self, write: Callable[[str], None],
                 meanwhile: Callable[[], object] | None = None) -> str: ...


@contextlib.contextmanager
def open_atomic_pair(
    path: str | Path, second: str | Path,
) -> Iterator[tuple[TextIO, ByName, TextIO]]:
    """Two files replaced together, such as a CSV result and its manifest sidecar: both
    old or both new. Yields (stream, ``by_name``, second stream). The first file is
    written to its stream, or by name (by DuckDB's ``COPY``): ``by_name(write)`` calls
    ``write(temporary path)``, which may replace the temporary file, then syncs it, gives
    it the mode the stream's file had and returns the SHA-256 of its bytes.

    Both are written to temporary files first; then ``second`` (the sidecar, which records
    the SHA-256 of ``path``) is renamed into place, then ``path``. When the second rename
    fails, the old ``second`` is put back (or the new one removed). A run killed between
    the two renames leaves a new sidecar beside the old CSV, which ``takst verify`` reports
    as an inconsistent pair (the CSV's SHA-256 is not the recorded one, and the CSV is
    older than its sidecar)."""
    target, target2 = output_target(path), output_target(second)
    with _staged(target, path) as (fh, tmp), _staged(target2, second) as (fh2, tmp2):

        def by_name(write: Callable[[str], None],
                    meanwhile: Callable[[], object] | None = None) -> str:
            mode = os.stat(tmp).st_mode & 0o7777
            write(tmp)
            try:
                os.chmod(tmp, mode)
                with open(tmp, "rb") as written:
                    # synced and hashed, each in a thread, while ``meanwhile`` runs in this
                    # one: each lets the others run
                    synced = Beside(os.fsync, written.fileno())
                    hashed = Beside(_sha256_of, written)
                    try:
                        if meanwhile is not None:
                            meanwhile()
                    finally:
                        synced.wait()
                        hashed.wait()
                    synced.result()
                    digest = hashed.result()
            except OSError as err:
                raise output_error(path, err) from None
            return digest

        yield fh, by_name, fh2
    backup = None
    try:
        if target2.exists():  # keep the old sidecar, to put it back if the CSV fails
            backup = str(target2.with_name(f".{target2.name}.takst-{os.getpid()}-old.tmp"))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(backup)
            os.link(target2, backup)
        os.replace(tmp2, target2)
    except OSError as err:
        for t in (tmp, tmp2, backup):
            if t is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(t)
        raise output_error(second, err) from None
    try:
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if backup is not None:
            os.replace(backup, target2)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target2)
        if isinstance(exc, OSError):
            raise output_error(path, exc) from None
        raise
    if backup is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(backup)


def _sha256_of(fh: BinaryIO) -> str:
    """The SHA-256 of what is left to read of ``fh``, as 64 hex digits."""
    digest = hashlib.sha256()
    while block := fh.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then a rename."""
    with open_atomic(path) as fh:
        fh.write(text)
