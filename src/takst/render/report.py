"""Batch reports: a register's results as a table, JSON or CSV.

Output is deterministic: customers in register order, charges in tariff order,
amounts as exact decimal strings, no timestamps.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from takst.dsl import ast
from takst.dsl.numbers import exact_sum, money_group, money_text
from takst.interpreter.trace import CustomerResult, customer_json


def _frequency_words(charge: ast.ChargeDecl) -> str:
    f = charge.frequency
    if f.kind == "once":
        return f"once, in the year of {f.anchor.name if f.anchor else '?'}"
    if f.anchor is not None:
        return f"every year from {f.anchor.name}"
    return "every year"


def to_json(
    tariff: ast.Tariff,
    year: int,
    results: Sequence[CustomerResult],
    *,
    with_trace: bool = False,
    manifest: Mapping[str, Any] | None = None,
) -> str:
    """The results as one JSON document, one head entry and one customer per line.

    ``manifest`` (see :mod:`takst.provenance.manifest`) becomes the first entry,
    ``"manifest"``, so that ``takst verify`` can check the result again.
    """
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
    # One customer per line: readable and diffable, and json's fast C encoder does the
    # work (indent= would switch to the slow pure-Python one).
    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    parts = [f"  {dump(k)}: {dump(v)}" for k, v in head.items()]
    customers = ",\n".join("    " + dump(customer_json(r, with_trace=with_trace))
                           for r in results)
    parts.append('  "customers": [\n' + customers + "\n  ]" if results else '  "customers": []')
    parts.append(f'  "totals": {dump(_totals(tariff, results))}')
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _totals(tariff: ast.Tariff, results: Sequence[CustomerResult]) -> dict[str, Any]:
    """Sums of the known amounts; ``pending_by_charge`` counts the customers whose amount
    of a charge is pending (not in the sum)."""
    per_charge: dict[str, str] = {}
    pending: dict[str, int] = {}
    for c in tariff.charges:
        amounts = [r.line(c.name).amount for r in results]
        per_charge[c.name] = money_text(exact_sum(a for a in amounts if a is not None))
        missing = sum(1 for a in amounts if a is None)
        if missing:
            pending[c.name] = missing
    return {
        "customers": len(results),
        "by_charge": per_charge,
        "pending_by_charge": pending,
        "total": money_text(exact_sum(r.total for r in results)),
    }


def to_csv(tariff: ast.Tariff, results: Sequence[CustomerResult]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", *(c.name for c in tariff.charges), "total", "pending"])
    for r in results:
        cells = []
        for line in r.lines:
            cells.append("pending" if line.amount is None else money_text(line.amount))
        w.writerow([r.id, r.name, *cells, money_text(r.total), ";".join(r.pending)])
    return buf.getvalue()


def to_table(tariff: ast.Tariff, year: int, results: Sequence[CustomerResult]) -> str:
    """A plain-text table for people: one row per customer, one column per charge."""
    charges = tariff.charges
    heads = ["id", "name", *(c.name for c in charges), "total"]
    rows: list[list[str]] = []
    for r in results:
        cells = [r.id, r.name]
        for line in r.lines:
            if line.amount is None:
                cells.append("pending")
            elif not line.charged:
                cells.append("-")
            else:
                cells.append(money_group(line.amount))
        cells.append(money_group(r.total) + (" +" if r.pending else ""))
        rows.append(cells)
    grand = exact_sum(r.total for r in results)
    foot = ["", f"{len(results)} customers"]
    for c in charges:
        amounts = [r.line(c.name).amount for r in results]
        known = [a for a in amounts if a is not None]
        if not known and amounts:
            foot.append("pending")
        else:
            foot.append(money_group(exact_sum(known)) + (" +" if len(known) < len(amounts)
                                                          else ""))
    foot.append(money_group(grand) + (" +" if any(r.pending for r in results) else ""))
    widths = [max(len(x) for x in col) for col in zip(heads, *rows, foot, strict=True)]

    def fmt(cells: list[str]) -> str:
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.ljust(w) if i < 2 else cell.rjust(w))
        return "  ".join(out).rstrip()

    lines = [f"{tariff.title} — billing year {year} — amounts in {tariff.currency}", ""]
    for c in charges:
        lines.append(f"  {c.name}: {c.label or c.name} ({_frequency_words(c)})")
    lines.append("")
    lines.append(fmt(heads))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(fmt(r) for r in rows)
    lines.append("  ".join("-" * w for w in widths))
    lines.append(fmt(foot))
    lines.append("")
    lines.append("- not charged: not due this year (once-only, or not yet joined), not offered "
                 "to this customer type, or not among its services")
    if any(r.pending for r in results):
        lines.append("+ the total does not include pending amounts (not decided yet)")
    return "\n".join(lines) + "\n"


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then a rename."""
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
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
