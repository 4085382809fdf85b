"""Declared properties: counterexamples are found, printed as paste-ready examples,
and pool shares always add up to the pool."""

from __future__ import annotations

import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import ROOT

from takst.cli import main
from takst.dsl.errors import TariffSyntaxError
from takst.dsl.loader import load_tariff
from takst.dsl.parser import parse
from takst.interpreter.evaluator import Customer, Evaluator
from takst.testing.properties import check_properties

HEADER = 'tariff t "T"\n  currency DKK\n  source "test"\n'


def outcomes(body: str, cases: int = 100) -> list:
    return check_properties(Evaluator(parse(HEADER + body, "p.tariff")), cases=cases)


def test_a_true_property_holds() -> None:
    """A fee that grows with population passes its monotonicity property."""
    (o,) = outcomes(
        "input population: inhabitants\n"
        "charge fee every year\n  amount 2 DKK per inhabitant * population\n"
        "property grows: fee never decreases as population grows\n"
    )
    assert o.passed
    assert "no counterexample in 100 cases" in o.message


def test_a_false_property_gives_a_pasteable_counterexample(tmp_path: Path) -> None:
    """A band table that falls is caught, and its counterexample pastes into the tariff."""
    text = HEADER + (
        "input population: inhabitants\n"
        "bands size by population\n  small up to 1_000\n  big from 1_001\n"
        "charge fee every year\n  table by size\n    small 500\n    big 400\n"
        "property grows: fee never decreases as population grows\n"
    )
    (o,) = check_properties(Evaluator(parse(text, "p.tariff")), cases=200)
    assert not o.passed
    assert "fee is 400.00, less than 500.00" in o.message
    assert o.counterexample.count("example ") == 2
    pasted = tmp_path / "pasted.tariff"
    pasted.write_text(text + "\n" + o.counterexample, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["test", str(pasted), "--cases", "50"], out, err)
    assert "2 of 2 examples passed" in out.getvalue()
    assert code == 1  # the property still fails: the author now corrects the tariff


def test_bounded_property() -> None:
    """An amount above the stated bound is reported with the amount and the bound."""
    (o,) = outcomes(
        "input n: count of calls\n"
        "charge fee every year\n  amount 1 DKK per call * n\n"
        "property capped: fee is between 0 and 1_000\n"
    )
    assert not o.passed
    assert "is outside 0 to 1_000" in o.message
    assert "expect fee 1_001" in o.counterexample


def test_exceptions_only_lower() -> None:
    """An exception that raises an amount breaks `exceptions only lower`."""
    (o,) = outcomes(
        "input member: yes/no\n"
        "charge fee every year\n  amount 100 DKK\n  except member -> 150 DKK\n"
        "property lower: exceptions only lower fee\n"
    )
    assert not o.passed
    assert "is above 100.00, its amount without exceptions" in o.message
    assert "member yes" in o.counterexample


def test_unknown_property_sentence_is_a_positioned_error() -> None:
    """A rule takst cannot check is refused, listing the rules it can."""
    with pytest.raises(TariffSyntaxError) as info:
        parse(HEADER + "input p: inhabitants\ncharge f every year\n  amount 1 DKK\n"
              "property x: f rises whenever p rises\n", "p.tariff")
    diag = info.value.diagnostics[0]
    assert diag.span is not None and diag.span.line == 7
    assert "is not a rule takst can check" in diag.message
    assert "CHARGE never decreases as INPUT grows" in (diag.hint or "")


def test_seed_tariffs_properties_hold() -> None:
    """Every property declared in rules/ holds."""
    for path in sorted((ROOT / "rules").glob("*.tariff")):
        ev = Evaluator(load_tariff(path))
        for o in check_properties(ev, cases=100):
            assert o.passed, o.message


POOL = load_tariff(ROOT / "rules" / "serviceplatformen_pool.tariff")
POOL_EV = Evaluator(POOL)


@settings(max_examples=200, deadline=None)
@given(
    populations=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=60),
    cost_ore=st.integers(min_value=0, max_value=10**12),
    true_up_ore=st.integers(min_value=0, max_value=10**9),
)
def test_pool_shares_add_up_exactly(populations: list[int], cost_ore: int,
                                    true_up_ore: int) -> None:
    """Over any register, the rounded shares add up to the pool to the øre."""
    if sum(populations) == 0:
        populations = [*populations, 1]
    customers = [Customer(str(i), f"K{i}", {"population": Decimal(p)})
                 for i, p in enumerate(populations)]
    settings_ = {"expected_cost": Decimal(cost_ore).scaleb(-2),
                 "true_up": Decimal(true_up_ore).scaleb(-2)}
    results = POOL_EV.evaluate_all(customers, 2020, settings=settings_)
    total = settings_["expected_cost"] + settings_["true_up"]
    assert sum((r.line("buffet").amount or Decimal(0) for r in results), Decimal(0)) == total
    for r in results:  # each share is within one øre of its exact value
        amount = r.line("buffet").amount
        assert amount is not None and amount == amount.quantize(Decimal("0.01"))


def test_takst_test_prints_the_counterexample(tmp_path: Path) -> None:
    """`takst test` fails a broken property and prints the blocks to paste."""
    path = tmp_path / "t.tariff"
    path.write_text(HEADER + (
        "input population: inhabitants\n"
        "bands size by population\n  small up to 1_000\n  big from 1_001\n"
        "charge fee every year\n  table by size\n    small 500\n    big 400\n"
        "property grows: fee never decreases as population grows\n"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    code = main(["test", str(path), "--cases", "100"], out, err)
    os.chdir(cwd)
    text = out.getvalue()
    assert code == 1
    assert "ready to paste into the tariff" in text
    assert 'example "grows: population 1_001"' in text
    assert text.splitlines()[-1] == "0 passed, 1 failed"
