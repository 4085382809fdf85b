"""Amounts in the reader's locale (src/takst/render/locale.py), exactly."""

from decimal import Decimal

import pytest

from takst.render.locale import LocaleError, Numbers, default_locale, numbers, resolve_locale


def test_danish_and_norwegian_amounts_as_the_manual_writes_them() -> None:
    assert numbers("da").amount(Decimal("56680")) == "56.680,00"
    assert numbers("nb").amount(Decimal("4114983")) == "4\u00a0114\u00a0983,00"
    assert numbers("en").amount(Decimal("56680")) == "56 680.00"


def test_no_digit_is_rounded_away() -> None:
    assert numbers("da").amount(Decimal("597705.345")) == "597.705,345"
    big = Decimal("123456789012345678901234567890.0123456789")
    assert numbers("nb").amount(big).replace("\u00a0", "").replace(",", ".") == str(big)


def test_negative_and_small_amounts() -> None:
    assert numbers("da").amount(Decimal("-1234.5")) == "-1.234,50"
    assert numbers("sv").amount(Decimal("0")) == "0,00"


def test_numbers_and_percentages() -> None:
    assert numbers("da").number(41000) == "41.000"
    assert numbers("nb").number(Decimal("1.50")) == "1,5"
    assert numbers("da").percent(Decimal("0.1234")) == "+12,3 %"
    assert numbers("en").percent(Decimal("-0.5")) == "-50.0%"


def test_symbols() -> None:
    assert (numbers("da").decimal_symbol, numbers("da").group_symbol) == (",", ".")
    assert numbers("en").decimal_symbol == "."


def test_default_from_currency_and_resolution() -> None:
    assert default_locale("DKK") == "da"
    assert default_locale("NOK") == "nb"
    assert default_locale("EUR") == "en"
    assert resolve_locale(None, "DKK") == "da"
    assert resolve_locale("NN", "DKK") == "nn"
    with pytest.raises(LocaleError) as info:
        resolve_locale("danish", "NOK")
    assert info.value.diagnostics[0].hint is not None
    assert "--locale da" in info.value.diagnostics[0].hint
    with pytest.raises(LocaleError):
        resolve_locale("fr", "NOK")
    with pytest.raises(LocaleError):
        Numbers("xx")
