"""The worksheet: one customer's amounts and their trace as text a controller can follow.

A rendering of the trace records of :mod:`takst.interpreter.trace`; the JSON
rendering of the same records is :mod:`takst.render.results`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection
from decimal import Decimal
from typing import TYPE_CHECKING

from takst.dsl.errors import Span
from takst.dsl.numbers import money_group
from takst.interpreter.model import CustomerResult
from takst.interpreter.trace import value_text

if TYPE_CHECKING:
    from takst.render.locale import Numbers


def _where(span: Span | None, tariff_file: str) -> str:
    if span is None:
        return ""
    if span.file == tariff_file:
        return f"line {span.line}"
    return f"{span.file}:{span.line}"


def render_text(
    result: CustomerResult,
    *,
    title: str,
    tariff_file: str,
    year: int,
    currency: str,
    width: int = 100,
    numbers: Numbers | None = None,
    keep: Collection[str] = (),
) -> str:
    """The trace as a worksheet a municipal controller can follow line by line.

    ``numbers`` writes the amounts and the numbers of the steps in a locale (default:
    takst's plain form, ``56 680.00``), except in ``keep``, the tariff's own texts
    (:func:`takst.render.table.tariff_texts`); ``width``: the length of the dotted lines."""
    if numbers is not None and not numbers.plain:
        from takst.render.table import localize_text

        def amount_text(value: Decimal) -> str:
            return numbers.amount(value)

        def local(text: str) -> str:
            return localize_text(text, numbers, keep)
    else:
        amount_text = money_group

        def local(text: str) -> str:
            return text

    out: list[str] = []
    out.append(f"{title}  —  billing year {year}  —  amounts in {currency}")
    out.append(f"Tariff: {tariff_file}")
    if result.origin == "command line":
        ident = result.name if result.name != "the customer" else "(values given on the command line)"
        out.append(f"Customer: {ident}")
    else:
        ident = f"{result.id} {result.name}".strip() if result.id != result.name else result.name
        out.append(f"Customer: {ident}  ({result.origin})")
    out.append("")
    if result.inputs:
        out.append("Inputs")
        namew = max(len(n) for n, _ in result.inputs)
        for name, value in result.inputs:
            out.append(f"  {name.ljust(namew)}  {local(value_text(value))}")
        out.append("")
    for n, line in enumerate(result.lines, 1):
        amount = "pending" if line.amount is None else amount_text(line.amount)
        head = f"{n}. {line.label} ({line.charge})"
        out.append(head + " " + "." * max(width - len(head) - len(amount) - 2, 3) + " " + amount)
        inside = False  # issue 12: the steps of one billing period are indented under it
        for step in line.steps:
            if step.kind == "period":
                inside = bool(step.applied)
                indent = "     "
            elif inside and step.kind not in ("sum", "result"):
                indent = "       "
            else:
                inside, indent = False, "     "
            where = _where(step.span, tariff_file)
            room = width - len(indent) - (len(where) + 2 if where else 0)
            # keep grouped numbers ("11 445.00") on one line: wrap with a mark for their
            # spaces (a locale's own group symbol, a no-break space or a dot, never breaks)
            unbroken = re.sub(r"(?<=\d) (?=\d{3}\b)", "\0", local(step.text))
            chunks = [
                c.replace("\0", " ")
                for c in textwrap.wrap(unbroken, room, subsequent_indent="  ")
            ] or [""]
            first = chunks[0]
            pad = max(width - len(indent) - len(first) - len(where), 2)
            out.append(f"{indent}{first}{' ' * pad}{where}" if where else f"{indent}{first}")
            out.extend(f"{indent}{c}" for c in chunks[1:])
        out.append("")
    total = amount_text(result.total)
    label = "Total"
    if result.pending:
        label += " (not including pending: " + ", ".join(result.pending) + ")"
    out.append(label + " " + "." * max(width - len(label) - len(total) - 2, 3) + " " + total)
    if any(ln.vat is not None for ln in result.lines):  # issue 12: VAT beside the amounts
        for label, value in (("VAT", result.vat_total), ("Total with VAT", result.total_inc_vat)):
            text = amount_text(value)
            out.append(label + " " + "." * max(width - len(label) - len(text) - 2, 3) + " "
                       + text)
    return "\n".join(out) + "\n"
