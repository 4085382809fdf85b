"""Trace records: the derivation of every amount, as data.

The evaluator appends one :class:`Step` per decision or calculation, each with
the span of the tariff text it came from. Text and JSON are two renderings of
the same records, in the applications (``takst.render.worksheet``,
``takst.render.results``). A ``calc`` step keeps
its operands and result as exact decimal strings, so anyone can re-check the
arithmetic (``tests/test_properties.py`` does).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, get_args

import attrs

from takst.dsl.errors import Span
from takst.dsl.numbers import group
from takst.interpreter.model import Value

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
    "tier",  # volume pricing: the band the whole quantity is in, its rate and flat amount
    "minmax",  # min(...) or max(...): the values compared and the one taken
    "blocks",  # per started block: the blocks begun and the price for them
    "limit",  # at least / at most: the amount raised to the minimum, cut to the maximum, or not
    "exception",  # an exception that fired or did not
    "prorate",  # a proration applied or skipped
    "round",  # a rounding
    "pending",  # an amount not known yet
    "result",  # the line's amount
    "index",  # issue 12: one year of an indexed param: the year before's value × (1 + rate)
    "vat",  # issue 12: the VAT on the line's amount (beside it, never inside it)
    "period",  # issue 12: one billing period of a charge invoiced per month, quarter, half year
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
