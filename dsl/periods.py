"""issue 12: time finer than a year — billing periods, dated values and day counts.

Plain calendar arithmetic shared by the checker and every engine: the periods a
billing year is invoiced in (months, quarters, half years), which dated value is
in force on a day, the days each dated value is in force within a period, and the
days two date ranges share. Day counts are whole numbers; every fraction made of
them is exact (``Fraction``), never float.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import Decimal

import attrs

from takst.dsl import ast

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_ORDINAL = ("1st", "2nd", "3rd", "4th")


@attrs.frozen
class Period:
    """One billing period: its first and last day (both included) and its name."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


@functools.lru_cache(maxsize=64)
def year_period(year: int) -> Period:
    """The whole billing year as one period (frozen, so one per year is shared: every
    customer's evaluation starts from it)."""
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), f"the year {year}")


def periods_of(year: int, period: str) -> tuple[Period, ...]:
    """The periods of a billing year, in order: 12 months, 4 quarters, 2 half years or 1."""
    months = ast.PERIOD_MONTHS[period]
    out: list[Period] = []
    for i, first in enumerate(range(1, 13, months)):
        last = first + months - 1
        if period == "month":
            label = f"{MONTH_NAMES[first - 1]} {year}"
        elif period == "quarter":
            label = f"{_ORDINAL[i]} quarter {year}"
        elif period == "half year":
            label = f"{_ORDINAL[i]} half of {year}"
        else:
            label = f"the year {year}"
        out.append(Period(dt.date(year, first, 1), _month_end(year, last), label))
    return tuple(out)


def in_force(dated: Sequence[ast.Dated], on: dt.date) -> ast.Dated | None:
    """The dated value in force on ``on``: the last whose date is on or before it."""
    chosen = None
    for d in dated:
        if d.start <= on:
            chosen = d
    return chosen


def segments(dated: Sequence[ast.Dated], period: Period) -> list[tuple[ast.Dated | None, int]]:
    """The dated values in force during ``period`` with their days, in order; a run of
    days before the first value comes as ``(None, days)``."""
    out: list[tuple[ast.Dated | None, int]] = []
    day = period.start
    while day <= period.end:
        current = in_force(dated, day)
        nxt = next((d.start for d in dated if d.start > day), None)
        last = period.end if nxt is None or nxt > period.end else nxt - dt.timedelta(days=1)
        out.append((current, (last - day).days + 1))
        day = last + dt.timedelta(days=1)
    return out


def shared_days(start: dt.date, end: dt.date, period: Period) -> int:
    """How many days of ``period`` lie between ``start`` and ``end`` (both included)."""
    first = max(start, period.start)
    last = min(end, period.end)
    return max(0, (last - first).days + 1)


def rate_factor(per: str | None, period: str) -> tuple[int, int] | None:
    """For a price per month, quarter, half year or year in a charge invoiced per
    ``period``: the factor (numerator, denominator) that makes it the period's amount;
    None for any other literal."""
    if per not in ast.PERIOD_MONTHS:
        return None
    have, want = ast.PERIOD_MONTHS[per], ast.PERIOD_MONTHS[period]
    return (want, have)


def bound_params(decl: ast.BandsDecl | ast.SlicesDecl) -> tuple[str, ...]:
    """The params named as bounds in a bands or slices declaration, in order, once each."""
    rows = decl.bands if isinstance(decl, ast.BandsDecl) else decl.slices
    names: list[str] = []
    for band in rows:
        for bound in (band.lower, band.upper):
            if bound is not None and bound.param is not None and bound.param.name not in names:
                names.append(bound.param.name)
    return tuple(names)


def resolve_band(band: ast.Band, values: dict[str, Decimal]) -> ast.Band:
    """The band with every param bound replaced by its value in ``values``."""
    def one(bound: ast.Bound | None) -> ast.Bound | None:
        if bound is None or bound.param is None:
            return bound
        return attrs.evolve(bound, value=values[bound.param.name], param=None)
    lower, upper = one(band.lower), one(band.upper)
    if lower is band.lower and upper is band.upper:
        return band
    return attrs.evolve(band, lower=lower, upper=upper)
