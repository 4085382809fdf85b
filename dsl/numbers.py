"""Exact numbers as people read them. No float anywhere."""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from decimal import Decimal


def group(value: Decimal | int, sep: str = " ") -> str:
    """``25000`` -> ``25 000``; ``-1234.5`` -> ``-1 234.5``. Exact: digits are never dropped."""
    d = Decimal(value)
    sign = "-" if d < 0 else ""
    text = format(d.copy_abs(), "f")  # copy_abs is exact; abs() rounds to the context
    whole, _, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = sign + sep.join(groups)
    return out + ("." + frac if frac else "")


def money_text(value: Decimal) -> str:
    """An amount as a plain decimal string with at least two decimals: ``34880.00``.

    More decimals are kept when the exact value has them (takst never rounds
    unless the tariff says so): ``597705.345`` stays ``597705.345``. Works on
    strings, so no decimal context can round it.
    """
    # The text depends only on the value, and a register repeats few amounts: remember
    # some (equal decimals, ``1.5`` and ``1.50``, have one text and one hash).
    known = _MONEY.get(value) if type(value) is Decimal and value.is_finite() else None
    if known is not None:
        return known
    text = format(Decimal(value), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    frac = frac + "0" * (2 - len(frac)) if len(frac) < 2 else frac
    if whole in ("-0", "") and set(frac) <= {"0"}:
        whole = "0"
    text = f"{whole}.{frac}"
    if type(value) is Decimal and value.is_finite() and len(_MONEY) < _MONEY_KEPT:
        _MONEY[value] = text
    return text


#: Texts of amounts already written (at most ``_MONEY_KEPT`` of them).
_MONEY: dict[Decimal, str] = {}
_MONEY_KEPT = 4096


def money_group(value: Decimal) -> str:
    """An amount for people: ``34 880.00``."""
    return group(Decimal(money_text(value)))


def plain(value: Decimal) -> str:
    """A number as written by an author, without exponent or trailing zeros: ``1.5``, ``25000``."""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def literal(value: Decimal) -> str:
    """A number as an author writes it in a tariff: ``25_000``, ``1.50`` -> ``1.5``."""
    text = plain(value)
    sign = "-" if text.startswith("-") else ""
    whole, dot, frac = text.lstrip("-").partition(".")
    return sign + group(Decimal(whole), "_") + dot + frac


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of decimals: never rounded to the default context's 28 digits."""
    add = _EXACT_SUM.add
    total = Decimal(0)
    for v in values:
        total = add(total, v)
    return total


#: Sums of decimals: 400 digits, and an error rather than any rounding.
_EXACT_SUM = decimal.Context(prec=400, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow,
    decimal.Inexact, decimal.Rounded])
