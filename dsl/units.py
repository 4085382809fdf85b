"""Units of measure: money, counts of things, and their ratios.

A unit is a product of dimensions with integer exponents: ``DKK`` is
``{money: 1}``, ``DKK per inhabitant`` is ``{money: 1, inhabitant: -1}``, a plain
number is ``{}``. Multiplying adds exponents, so ``1.50 NOK per inhabitant *
population`` is money. Adding requires equal units. A unit with money squared is
never meaningful and the checker refuses it.
"""

from __future__ import annotations

import attrs

MONEY = "money"


def singular(word: str) -> str:
    """Normalise a counted thing to its singular: ``inhabitants`` -> ``inhabitant``.

    The tariff language says ``count of transactions`` and ``per transaction``;
    both mean the same unit. English plurals in this domain end in ``s``.
    """
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@attrs.frozen
class Unit:
    """A product of dimensions, e.g. money / inhabitant. Exponents are never zero."""

    dims: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def of(**exponents: int) -> Unit:
        return Unit(tuple(sorted((k, v) for k, v in exponents.items() if v)))

    @staticmethod
    def count(thing: str) -> Unit:
        return Unit(((singular(thing), 1),))

    def __mul__(self, other: Unit) -> Unit:
        acc = dict(self.dims)
        for k, v in other.dims:
            acc[k] = acc.get(k, 0) + v
        return Unit(tuple(sorted((k, v) for k, v in acc.items() if v)))

    def exponent(self, dim: str) -> int:
        return dict(self.dims).get(dim, 0)

    @property
    def is_money(self) -> bool:
        return self.dims == ((MONEY, 1),)

    @property
    def is_plain(self) -> bool:
        return not self.dims

    def describe(self, currency: str) -> str:
        """Words a tariff author reads: ``DKK per inhabitant``, ``inhabitants``, ``number``."""
        if not self.dims:
            return "a plain number"
        ordered = sorted(self.dims, key=lambda kv: (kv[0] != MONEY, kv[0]))  # money first
        num = [k for k, v in ordered for _ in range(v) if v > 0]
        den = [k for k, v in self.dims for _ in range(-v) if v < 0]
        words = [currency if k == MONEY else k for k in num] or ["1"]
        text = " × ".join(words)
        if not den:
            if text == currency:
                return f"an amount in {currency}"
            return f"a count of {text}s" if len(num) == 1 else text
        return text + " per " + " per ".join(currency if k == MONEY else k for k in den)


PLAIN = Unit()
MONEY_UNIT = Unit.of(money=1)
INHABITANTS = Unit.count("inhabitant")
