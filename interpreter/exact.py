"""Exact arithmetic: the decimal context that traps inexact results, exact rounding
to a step, and the exact text of a fraction. No float anywhere."""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

from takst.dsl.numbers import group, plain
from takst.interpreter.model import Value

#: Exact arithmetic: any result that would need rounding raises instead.
EXACT = decimal.Context(
    prec=200,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=10_000,
    Emin=-10_000,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Inexact,
        decimal.FloatOperation,
    ],
)



def round_fraction(x: Fraction, step: Decimal, mode: str) -> Decimal:
    """Round an exact value to a multiple of ``step``. Exact: no float, no context rounding."""
    q = x / Fraction(step)
    sign = -1 if q < 0 else 1
    a = abs(q)
    whole = a.numerator // a.denominator
    rem = a - whole
    half = Fraction(1, 2)
    if mode == "down":
        k = whole
    elif mode == "up":
        k = whole + (1 if rem else 0)
    elif mode == "half up":
        k = whole + (1 if rem >= half else 0)
    elif mode == "half even":
        k = whole + (1 if rem > half or (rem == half and whole % 2 == 1) else 0)
    else:  # pragma: no cover - the grammar admits only the four modes
        raise ValueError(mode)
    return EXACT.multiply(Decimal(sign * k), step)


def fraction_to_decimal(x: Fraction) -> Decimal | None:
    """The exact decimal of a fraction, or None when it has no finite decimal expansion."""
    den = x.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    scale = max(twos, fives)
    numerator = x.numerator * (10**scale // x.denominator)
    return Decimal(numerator).scaleb(-scale, EXACT)  # exact, or Inexact is raised


def exact_text(x: Fraction) -> str:
    """A machine-readable exact value: ``47584.5`` or, without a finite decimal, ``94201/717710``."""
    d = fraction_to_decimal(x)
    if d is not None:
        return plain(d) if d == d.to_integral_value() else format(d, "f")
    return f"{x.numerator}/{x.denominator}"


def num_text(x: Fraction, places: int = 6) -> str:
    """A value for people: ``47 584.5``, or ``0.131252… (94201/717710)`` when it does not end."""
    d = fraction_to_decimal(x)
    if d is not None:
        return group(d)
    sign = "-" if x < 0 else ""
    a = abs(x)
    whole = a.numerator // a.denominator
    digits = ((a - whole) * 10**places).numerator // ((a - whole) * 10**places).denominator
    return f"{sign}{group(Decimal(whole))}.{digits:0{places}d}…"


def float_free(x: Fraction) -> str:
    """An inexact fraction in words, e.g. ``100/3 (33.333…)``, computed without float."""
    return f"{x.numerator}/{x.denominator} ({num_text(x, 3)})"


def fraction_text(num: Decimal, den: Decimal) -> str:
    if den == 100:
        return f"{plain(num)} %"
    return f"{plain(num)}/{plain(den)}"


def as_fraction(value: Value) -> Fraction:
    assert isinstance(value, Decimal), value
    return Fraction(value)
