"""Numbers as the reader's locale writes them: ``56.680,00`` in Danish, ``4 114 983,00`` in Norwegian.

Every human-facing output (the table, the worksheet, HTML, the calculator page)
formats its amounts through a :class:`Numbers` for one locale. The locale is
chosen by ``--locale`` or, by default, from the tariff's currency (DKK → ``da``,
NOK → ``nb``, SEK → ``sv``); ``en`` keeps takst's plain form (``56 680.00``).

Babel does the formatting, on exact :class:`~decimal.Decimal` values: no float
is ever made, and no digit is rounded away (an amount with more than two
decimals, which takst keeps when the tariff does not round, shows them all).
Babel is imported on first use, so a process that prints nothing for people
does not pay for it.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from functools import cache
from typing import Final

from takst.dsl.errors import TariffError, diagnostic
from takst.dsl.numbers import group, money_text

#: The locales takst writes, in the order the manual lists them.
LOCALES: Final = ("da", "nb", "nn", "sv", "en")

#: The locale a currency's readers expect, when ``--locale`` is not given.
BY_CURRENCY: Final = {"DKK": "da", "NOK": "nb", "SEK": "sv"}

#: The language names people would type, to suggest the code.
_NAMES: Final = {
    "danish": "da", "dansk": "da", "dk": "da", "da_dk": "da",
    "norwegian": "nb", "norsk": "nb", "bokmal": "nb", "bokmål": "nb", "no": "nb", "nb_no": "nb",
    "nynorsk": "nn", "nn_no": "nn",
    "swedish": "sv", "svenska": "sv", "se": "sv", "sv_se": "sv",
    "english": "en", "en_gb": "en", "en_us": "en",
}


class LocaleError(TariffError):
    """``--locale`` names a locale takst does not write."""

    kind = "usage error"


def default_locale(currency: str) -> str:
    """The locale for a tariff in ``currency``: ``da`` for DKK, ``nb`` for NOK, else ``en``."""
    return BY_CURRENCY.get(currency.upper(), "en")


def resolve_locale(name: str | None, currency: str) -> str:
    """The locale code for ``--locale NAME`` (or the currency's default when ``None``).

    Raises :class:`LocaleError` with a suggestion for anything else."""
    if name is None or name == "":
        return default_locale(currency)
    key = name.strip().lower().replace("-", "_")
    if key in LOCALES:
        return key
    if key in _NAMES:
        raise LocaleError(diagnostic(
            f"unknown locale {name!r}",
            hint=f"write --locale {_NAMES[key]} (takst's locales are {', '.join(LOCALES)})"))
    raise LocaleError(diagnostic(
        f"unknown locale {name!r}",
        hint=f"choose one of {', '.join(LOCALES)} (en keeps the plain form 56 680.00)"))


def _places(text: str) -> int:
    return len(text.partition(".")[2])


class Numbers:
    """Amounts, numbers and percentages in one locale."""

    def __init__(self, locale: str) -> None:
        if locale not in LOCALES:
            raise LocaleError(diagnostic(f"unknown locale {locale!r}",
                                         hint=f"choose one of {', '.join(LOCALES)}"))
        self.locale = locale

    def __repr__(self) -> str:
        return f"Numbers({self.locale!r})"

    @property
    def plain(self) -> bool:
        """True for ``en``: takst's own form, without Babel."""
        return self.locale == "en"

    @property
    def decimal_symbol(self) -> str:
        """``,`` in the Nordic locales, ``.`` in ``en``."""
        return "." if self.plain else _symbols(self.locale)[0]

    @property
    def group_symbol(self) -> str:
        """``.`` in Danish, a no-break space in Norwegian and Swedish, a space in ``en``."""
        return " " if self.plain else _symbols(self.locale)[1]

    def _format(self, value: Decimal, places: int) -> str:
        if self.plain:
            return group(value)
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * places if places else "")
        # Babel quantizes in the current context: give it room for every digit, and
        # trap inexact results, so nothing is ever rounded silently.
        digits = len(value.as_tuple().digits) + places + 2
        # (traps one by one: the C decimal module takes a traps dict only when it
        # names every signal)
        with decimal.localcontext() as ctx:
            ctx.prec = max(digits, 28)
            ctx.traps[decimal.Inexact] = True
            ctx.traps[decimal.InvalidOperation] = True
            return format_decimal(value, format=pattern, locale=self.locale,
                                  decimal_quantization=False, group_separator=True)

    def amount(self, value: Decimal) -> str:
        """A money amount with at least two decimals, and every decimal it has: ``56.680,00``."""
        text = money_text(value)
        return self._format(Decimal(text), _places(text))

    def number(self, value: Decimal | int) -> str:
        """A number as written, grouped, without trailing zeros: ``41 000``, ``1,5``."""
        d = Decimal(value)
        text = format(d, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return self._format(Decimal(text), _places(text))

    def percent(self, value: Decimal, places: int = 1) -> str:
        """A ratio (``0.125``) as a percentage rounded for display only: ``12,5 %``.

        Only a display: the amounts themselves are never rounded here."""
        pct = (Decimal(value) * 100).quantize(Decimal(1).scaleb(-places))
        sign = "+" if pct > 0 else ""
        return sign + self._format(pct, places) + (" %" if not self.plain else "%")


@cache
def _symbols(locale: str) -> tuple[str, str]:
    from babel.numbers import get_decimal_symbol, get_group_symbol

    return get_decimal_symbol(locale), get_group_symbol(locale)


@cache
def numbers(locale: str) -> Numbers:
    """The shared :class:`Numbers` for ``locale``."""
    return Numbers(locale)
