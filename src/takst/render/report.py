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
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from takst.dsl import ast
from takst.dsl.numbers import money_group, money_text
from takst.interpreter.model import CustomerResult
from takst.render.results import customer_json


def _frequency_words(charge: ast.ChargeDecl) -> str:
    f = charge.frequency
    if f.kind == "once":
        return f"once, in the year of {f.anchor.name if f.anchor else '?'}"
    if f.anchor is not None:
        return f"every year from {f.anchor.name}"
    return "every year"


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

    def add(self, result: CustomerResult, total: Decimal | None = None) -> None:
        """Count one result in (``total``: its total, when the caller has it already)."""
        self.customers += 1
        pending = False
        add = _SUM.add
        for line in result.lines:
            if line.status == "pending":
                pending = True
            if line.amount is None:
                self.pending[line.charge] += 1
            else:
                self.by_charge[line.charge] = add(self.by_charge[line.charge], line.amount)
                self.known[line.charge] += 1
        self.total = add(self.total, result.total if total is None else total)
        if pending:
            self.any_pending = True

    def to_json(self) -> dict[str, Any]:
        """The ``"totals"`` entry of a JSON result."""
        return {
            "customers": self.customers,
            "by_charge": {c: money_text(self.by_charge[c]) for c in self.charges},
            "pending_by_charge": {c: n for c, n in self.pending.items() if n},
            "total": money_text(self.total),
        }


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
    for r in results:
        out.write(sep + _dump(customer_json(r, with_trace=with_trace)))
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


def write_csv(out: TextIO, tariff: ast.Tariff, results: Iterable[CustomerResult]) -> Totals:
    """Write the results as CSV, one row per customer as it comes."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "name", *(c.name for c in tariff.charges), "total", "pending"])
    totals = Totals(tariff)
    for r in results:
        cells = [r.id, r.name]
        pending = []
        for line in r.lines:
            if line.status == "pending":
                pending.append(line.charge)
            cells.append("pending" if line.amount is None else money_text(line.amount))
        total = r.total
        cells += [money_text(total), ";".join(pending)]
        w.writerow(cells)
        totals.add(r, total)
    return totals


def to_csv(tariff: ast.Tariff, results: Iterable[CustomerResult]) -> str:
    """:func:`write_csv` into a string (for small results)."""
    buf = io.StringIO(newline="")
    write_csv(buf, tariff, results)
    return buf.getvalue()


def _table_cells(r: CustomerResult) -> list[str]:
    cells = [r.id, r.name]
    for line in r.lines:
        if line.amount is None:
            cells.append("pending")
        elif not line.charged:
            cells.append("-")
        else:
            cells.append(money_group(line.amount))
    cells.append(money_group(r.total) + (" +" if r.pending else ""))
    return cells


def write_table(out: TextIO, tariff: ast.Tariff, year: int,
                results: Iterable[CustomerResult]) -> Totals:
    """A plain-text table for people: one row per customer, one column per charge.

    The columns are as wide as their widest cell, which is known only at the end:
    the rows go to a temporary file on the way (with the widths and the totals, as
    they pass), and are laid out from it, so memory stays bounded."""
    charges = tariff.charges
    heads = ["id", "name", *(c.name for c in charges), "total"]
    widths = [len(h) for h in heads]
    totals = Totals(tariff)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        for r in results:
            cells = _table_cells(r)
            widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]
            spool.write(_dump(cells) + "\n")
            totals.add(r)
        foot = ["", f"{totals.customers} customers"]
        for c in charges:
            known, count = totals.known[c.name], totals.known[c.name] + totals.pending[c.name]
            if not known and count:
                foot.append("pending")
            else:
                foot.append(money_group(totals.by_charge[c.name])
                            + (" +" if known < count else ""))
        foot.append(money_group(totals.total) + (" +" if totals.any_pending else ""))
        widths = [max(w, len(c)) for w, c in zip(widths, foot, strict=True)]

        def fmt(cells: list[str]) -> str:
            line = []
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
                line.append(cell.ljust(w) if i < 2 else cell.rjust(w))
            return "  ".join(line).rstrip() + "\n"

        rule = "  ".join("-" * w for w in widths) + "\n"
        out.write(f"{tariff.title} — billing year {year} — amounts in {tariff.currency}\n\n")
        for c in charges:
            out.write(f"  {c.name}: {c.label or c.name} ({_frequency_words(c)})\n")
        out.write("\n" + fmt(heads) + rule)
        spool.seek(0)
        for row in spool:
            out.write(fmt(json.loads(row)))
        out.write(rule + fmt(foot) + "\n")
    out.write("- not charged: not due this year (once-only, or not yet joined), not offered "
              "to this customer type, or not among its services\n")
    if totals.any_pending:
        out.write("+ the total does not include pending amounts (not decided yet)\n")
    return totals


def to_table(tariff: ast.Tariff, year: int, results: Iterable[CustomerResult]) -> str:
    """:func:`write_table` into a string (for small results)."""
    buf = io.StringIO()
    write_table(buf, tariff, year, results)
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


@contextlib.contextmanager
def open_atomic(path: str | Path) -> Iterator[TextIO]:
    """A file written whole or not at all: the text goes to a temporary file in the same
    folder, which replaces ``path`` when the ``with`` block ends without an exception
    (and is removed when it raises)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
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
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then a rename."""
    with open_atomic(path) as fh:
        fh.write(text)
