"""The worksheet: one customer's amounts and their trace as text a controller can follow.

A rendering of the trace records of :mod:`takst.interpreter.trace`; the JSON
rendering of the same records is :mod:`takst.render.results`.
"""

from __future__ import annotations

import re
import textwrap

from takst.dsl.errors import Span
from takst.dsl.numbers import money_group
from takst.interpreter.model import CustomerResult
from takst.interpreter.trace import value_text


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
) -> str:
    """The trace as a worksheet a municipal controller can follow line by line."""
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
            out.append(f"  {name.ljust(namew)}  {value_text(value)}")
        out.append("")
    for n, line in enumerate(result.lines, 1):
        amount = "pending" if line.amount is None else money_group(line.amount)
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
            # keep grouped numbers ("11 445.00") on one line: wrap with no-break spaces
            unbroken = re.sub(r"(?<=\d) (?=\d{3}\b)", "\u00a0", step.text)
            chunks = [
                c.replace("\u00a0", " ")
                for c in textwrap.wrap(unbroken, room, subsequent_indent="  ")
            ] or [""]
            first = chunks[0]
            pad = max(width - len(indent) - len(first) - len(where), 2)
            out.append(f"{indent}{first}{' ' * pad}{where}" if where else f"{indent}{first}")
            out.extend(f"{indent}{c}" for c in chunks[1:])
        out.append("")
    total = money_group(result.total)
    label = "Total"
    if result.pending:
        label += " (not including pending: " + ", ".join(result.pending) + ")"
    out.append(label + " " + "." * max(width - len(label) - len(total) - 2, 3) + " " + total)
    return "\n".join(out) + "\n"
