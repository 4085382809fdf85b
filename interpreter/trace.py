"""Trace records: the derivation of every amount, as data.

The evaluator appends one :class:`Step` per decision or calculation, each with
the span of the tariff text it came from. Text and JSON are two renderings of
the same records (:func:`render_text`, :func:`to_json`). A ``calc`` step keeps
its operands and result as exact decimal strings, so anyone can re-check the
arithmetic (``tests/test_properties.py`` does).
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from decimal import Decimal
from typing import Any, Literal, get_args

import attrs

from takst.dsl.errors import Span
from takst.dsl.numbers import group, money_group, money_text
from takst.interpreter.model import ChargeLine, CustomerResult, Value

StepKind = Literal[
    "frequency",  # whether the charge is due in the billing year
    "input",  # an input value read
    "param",  # a named value
    "band",  # a band chosen, with the comparison
    "cell",  # a table cell
    "case",  # a case chosen (or a case that is not offered)
    "calc",  # one arithmetic operation: left op right = result
    "call",  # a formula applied to its arguments
    "pool",  # a customer's share of a pool
    "slice",  # one slice of a graduated amount
    "sum",  # the sum of the slices
    "exception",  # an exception that fired or did not
    "prorate",  # a proration applied or skipped
    "round",  # a rounding
    "pending",  # an amount not known yet
    "result",  # the line's amount
]
#: Every step kind, checked when a :class:`Step` is made.
STEP_KINDS: tuple[str, ...] = get_args(StepKind)


@attrs.frozen
class Step:
    kind: StepKind = attrs.field(validator=attrs.validators.in_(STEP_KINDS))
    text: str
    span: Span | None = None
    #: The value this step produced, as an exact string ("45780.00", "large", "yes").
    value: str | None = None
    #: Machine-readable particulars, e.g. (("op", "*"), ("left", "1.50"), ("right", "41000")).
    detail: tuple[tuple[str, str], ...] = ()
    #: Whether the rule this step reports on applied (exceptions, prorations, frequency).
    applied: bool | None = None

    def get(self, key: str) -> str | None:
        return dict(self.detail).get(key)


# ------------------------------------------------------------------ tracers


class Tracer:
    """Collects the steps of one charge line, in order.

    The evaluator holds a tracer instead of threading a list through every call.
    :data:`NULL` (a :class:`NullTracer`) keeps nothing and is false, so a step whose
    text costs something to build is guarded by ``if tracer:``.
    """

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def __bool__(self) -> bool:
        return True

    def add(
        self,
        kind: StepKind,
        text: str,
        span: Span | None = None,
        *,
        value: str | None = None,
        detail: tuple[tuple[str, str], ...] = (),
        applied: bool | None = None,
    ) -> None:
        """Record one step."""
        self.steps.append(Step(kind, text, span, value, detail, applied))

    def append(self, step: Step) -> None:
        """Record a step made earlier (a band chosen once, reported in every line using it)."""
        self.steps.append(step)

    def has(self, kind: StepKind, key: str, value: str) -> bool:
        """Whether a step of ``kind`` with ``detail[key] == value`` is recorded already."""
        return any(s.kind == kind and s.get(key) == value for s in self.steps)

    def result(self) -> tuple[Step, ...]:
        return tuple(self.steps)


class NullTracer(Tracer):
    """A tracer that records nothing: the evaluation without a trace."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def add(
        self,
        kind: StepKind,
        text: str,
        span: Span | None = None,
        *,
        value: str | None = None,
        detail: tuple[tuple[str, str], ...] = (),
        applied: bool | None = None,
    ) -> None:
        pass

    def append(self, step: Step) -> None:
        pass

    def has(self, kind: StepKind, key: str, value: str) -> bool:
        return False

    def result(self) -> tuple[Step, ...]:
        return ()


#: The one tracer that records nothing.
NULL = NullTracer()


# ------------------------------------------------------------------ value words


def value_text(value: Value) -> str:
    """A value as a controller reads it: ``94 528``, ``yes``, ``2023-11-01``, ``"Kolding"``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return group(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return f'"{value}"'


def value_json(value: Value) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# ------------------------------------------------------------------ renderings


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
        for step in line.steps:
            where = _where(step.span, tariff_file)
            room = width - 5 - (len(where) + 2 if where else 0)
            # keep grouped numbers ("11 445.00") on one line: wrap with no-break spaces
            unbroken = re.sub(r"(?<=\d) (?=\d{3}\b)", "\u00a0", step.text)
            chunks = [
                c.replace("\u00a0", " ")
                for c in textwrap.wrap(unbroken, room, subsequent_indent="  ")
            ] or [""]
            first = chunks[0]
            pad = max(width - 5 - len(first) - len(where), 2)
            out.append(f"     {first}{' ' * pad}{where}" if where else f"     {first}")
            out.extend(f"     {c}" for c in chunks[1:])
        out.append("")
    total = money_group(result.total)
    label = "Total"
    if result.pending:
        label += " (not including pending: " + ", ".join(result.pending) + ")"
    out.append(label + " " + "." * max(width - len(label) - len(total) - 2, 3) + " " + total)
    return "\n".join(out) + "\n"


def step_json(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": step.kind, "text": step.text}
    if step.value is not None:
        data["value"] = step.value
    if step.applied is not None:
        data["applied"] = step.applied
    if step.detail:
        data["detail"] = dict(step.detail)
    if step.span is not None:
        data["at"] = {"file": step.span.file, "line": step.span.line, "column": step.span.column}
    return data


def line_json(line: ChargeLine, *, with_trace: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "charge": line.charge,
        "label": line.label,
        "amount": None if line.amount is None else money_text(line.amount),
        "status": line.status,
        "charged": line.charged,
    }
    if with_trace:
        data["trace"] = [step_json(s) for s in line.steps]
    return data


def customer_json(result: CustomerResult, *, with_trace: bool) -> dict[str, Any]:
    return {
        "id": result.id,
        "name": result.name,
        "lines": [line_json(ln, with_trace=with_trace) for ln in result.lines],
        "total": money_text(result.total),
        "pending": list(result.pending),
        "inputs": {k: value_json(v) for k, v in result.inputs},
    }
