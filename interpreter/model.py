"""What an evaluation works on: customers and the values of the whole evaluation.

Plain data, shared by every engine (the reference interpreter and the batch
engines) and by the applications that build customers from registers or values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import attrs

from takst.dsl import ast
from takst.dsl.errors import Span
from takst.dsl.numbers import exact_sum

if TYPE_CHECKING:
    from takst.interpreter.trace import Step

#: A value of an input or setting: a number, yes/no, a date or a name.
Value = Decimal | bool | dt.date | str


@attrs.frozen
class Customer:
    """One customer: the register's id and name, a value per input, its type and services."""

    id: str
    name: str
    values: Mapping[str, Value]
    customer_type: str = ""
    origin: str = "command line"
    #: Charges this customer uses (the register's ``services`` column); None: all.
    services: frozenset[str] | None = None


@attrs.frozen
class PoolShares:
    """A pool computed over a register: its total, key sum and each member's share."""

    total: Fraction
    key_sum: Fraction
    members: int
    #: customer id -> (exact share, share after rounding)
    shares: Mapping[str, tuple[Fraction, Fraction]]
    text: str


@attrs.frozen
class Context:
    """Values for the whole evaluation: settings, aggregates and pools."""

    settings: Mapping[str, Value] = attrs.field(factory=dict)
    #: aggregate name -> (value, how it was found)
    aggregates: Mapping[str, tuple[Fraction, str]] = attrs.field(factory=dict)
    pools: Mapping[str, PoolShares] = attrs.field(factory=dict)
    register: str | None = None
    #: aggregate name -> why the register gives it no value (``no customer of R.csv
    #: qualifies``): an error only for a customer whose amount needs it.
    empty: Mapping[str, str] = attrs.field(factory=dict)


def input_defaults(tariff: ast.Tariff) -> dict[str, Value]:
    """issue 12: the stated defaults of a tariff's inputs (``input staff: ... default 0``)."""
    return {d.name: d.default.value for d in tariff.inputs if d.default is not None}


def with_defaults(customer: Customer, defaults: Mapping[str, Value]) -> Customer:
    """``customer`` with the stated default of every input it has no value for (the same
    customer when it lacks none)."""
    if not defaults or all(name in customer.values for name in defaults):
        return customer
    values = {**defaults, **customer.values}
    return attrs.evolve(customer, values=values)


# ------------------------------------------------------------------ results


Status = Literal["ok", "pending"]


@attrs.frozen
class PeriodAmount:
    """issue 12: one billing period of a charge invoiced per month, quarter or half year:
    its days, its name and its amount (0 and ``charged`` False before the charge starts)."""

    start: dt.date
    end: dt.date
    label: str
    amount: Decimal
    charged: bool = True


@attrs.frozen
class ChargeLine:
    charge: str
    label: str
    amount: Decimal | None  # None when pending
    status: Status
    charged: bool
    steps: tuple[Step, ...]
    span: Span | None = None
    #: issue 12: the VAT on this line when the tariff states VAT (None: it states none, or
    #: the amount is pending); 0 for a charge exempt from VAT or not charged. Never inside
    #: ``amount``, which stays without VAT.
    vat: Decimal | None = None
    #: issue 12: the VAT rate applied (0.25 for 25 %); None when none applies.
    vat_rate: Decimal | None = None

    @property
    def amount_inc_vat(self) -> Decimal | None:
        """The amount with its VAT (the amount itself where there is no VAT)."""
        if self.amount is None:
            return None
        return self.amount if self.vat is None else self.amount + self.vat
    #: issue 12: the amount of each period of a charge invoiced more often than yearly
    #: (empty for a whole-year charge); ``amount`` is the year's total.
    periods: tuple[PeriodAmount, ...] = ()


@attrs.frozen
class CustomerResult:
    id: str
    name: str
    origin: str  # "register row 12", "example ..." or "command line"
    inputs: tuple[tuple[str, Value], ...]
    lines: tuple[ChargeLine, ...]

    @property
    def total(self) -> Decimal:
        return exact_sum(ln.amount for ln in self.lines if ln.amount is not None)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(ln.charge for ln in self.lines if ln.status == "pending")

    @property
    def vat_total(self) -> Decimal:
        """issue 12: the VAT of the known lines (0 where the tariff states no VAT)."""
        return exact_sum(ln.vat for ln in self.lines if ln.vat is not None)

    @property
    def total_inc_vat(self) -> Decimal:
        """issue 12: the total with VAT."""
        return exact_sum((self.total, self.vat_total))

    def line(self, charge: str) -> ChargeLine:
        for ln in self.lines:
            if ln.charge == charge:
                return ln
        raise KeyError(charge)
