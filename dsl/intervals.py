"""Bands as intervals of their subject's values: shared by the checker (gaps,
overlaps) and by every engine (which band a value falls in)."""

from __future__ import annotations

from decimal import Decimal

import attrs

from takst.dsl import ast


@attrs.frozen
class Interval:
    """A band as an interval of the subject's values. ``None`` is unbounded."""

    band: ast.Band
    lo: Decimal | None
    lo_incl: bool
    hi: Decimal | None
    hi_incl: bool


def band_interval(band: ast.Band, floor: Decimal | None) -> Interval:
    """The interval a band covers; a missing lower bound starts at the domain's floor."""
    if band.lower is not None:
        lo: Decimal | None = band.lower.value
        lo_incl = band.lower.inclusive
    else:
        lo, lo_incl = floor, True
    hi = band.upper.value if band.upper else None
    hi_incl = band.upper.inclusive if band.upper else False
    return Interval(band, lo, lo_incl, hi, hi_incl)


def int_range(iv: Interval) -> tuple[Decimal | None, Decimal | None]:
    """Whole-number bounds (inclusive) of an interval over whole numbers."""
    lo = None if iv.lo is None else (iv.lo if iv.lo_incl else iv.lo + 1)
    hi = None if iv.hi is None else (iv.hi if iv.hi_incl else iv.hi - 1)
    return lo, hi


def contains(iv: Interval, value: Decimal) -> bool:
    """Whether ``value`` lies in the interval."""
    if iv.lo is not None and (value < iv.lo or (value == iv.lo and not iv.lo_incl)):
        return False
    return not (iv.hi is not None and (value > iv.hi or (value == iv.hi and not iv.hi_incl)))
