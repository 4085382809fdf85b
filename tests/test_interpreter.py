"""The tracing interpreter: amounts, statuses and traces of the seed tariffs and of
small tariffs written for one rule each."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from fractions import Fraction

import pytest

from takst.dsl import ast
from takst.dsl.errors import CheckError, EvaluationError
from takst.dsl.parser import parse
from takst.interpreter.evaluator import (
    EXACT,
    Customer,
    Evaluator,
    fraction_to_decimal,
    round_fraction,
)
from takst.testing.specs import run_examples

D = Decimal


def customer(name: str = "A", **values: object) -> Customer:
    return Customer(id=name, name=name, values=values)  # type: ignore[arg-type]


def tariff(body: str) -> ast.Tariff:
    return parse('tariff t "T"\n  currency DKK\n  source "test"\n' + body, "t.tariff")


# ------------------------------------------------------------------ the seed tariffs' own examples


@pytest.mark.parametrize("fixture", ["os2_eval", "kongsberg_eval"])
def test_seed_examples_pass(fixture: str, request: pytest.FixtureRequest) -> None:
    """Every example block of the seed tariffs gives the published amounts."""
    evaluator: Evaluator = request.getfixturevalue(fixture)
    outcomes = run_examples(evaluator)
    assert outcomes, "a seed tariff without examples tests nothing"
    failed = [(o.example.title, o.mismatches, o.errors) for o in outcomes if not o.passed]
    assert failed == []


# Published OS2valghalla table (seed 000): (population, member) -> annual fee, connection fee.
OS2_TABLE = [
    (D(1_789), True, D(23_980), D(35_000)),
    (D(1_789), False, D(29_700), D(35_000)),
    (D(41_000), True, D(34_880), D(70_000)),
    (D(41_000), False, D(43_200), D(70_000)),
    (D(94_528), True, D(45_780), D(190_000)),
    (D(94_528), False, D(56_700), D(190_000)),
    (D(361_544), True, D(56_680), D(350_000)),
    (D(361_544), False, D(70_200), D(350_000)),
]


@pytest.mark.parametrize(("population", "member", "annual", "connection"), OS2_TABLE)
def test_os2_published_table(
    os2_eval: Evaluator, population: Decimal, member: bool, annual: Decimal, connection: Decimal
) -> None:
    """Each cell of the published price table is what a municipality of that size pays."""
    c = customer("Vejle", population=population, os2_member=member, joined=dt.date(2024, 5, 1))
    result = os2_eval.evaluate(c, 2024)
    assert result.line("annual_fee").amount == annual
    assert result.line("connection_fee").amount == connection
    assert result.line("operations_fee").status == "pending"
    assert result.line("operations_fee").amount is None
    assert result.total == annual + connection


@pytest.mark.parametrize("name", ["Ballerup", "Frederiksberg", "Ringkøbing-Skjern", "Aarhus"])
def test_crowdfunding_participants_pay_no_connection_fee(os2_eval: Evaluator, name: str) -> None:
    """The 21 crowdfunding participants of seed 001 are exempt from the connection fee."""
    c = customer(name, population=D(50_000), os2_member=True, joined=dt.date(2024, 1, 1))
    line = os2_eval.evaluate(c, 2024).line("connection_fee")
    assert line.amount == 0
    fired = [s for s in line.steps if s.kind == "exception" and s.applied]
    assert len(fired) == 1
    assert f'name "{name}" is in crowdfunding_2022' in fired[0].text
    assert "crowdfundingen" in fired[0].text


def test_quarter_fee_only_in_2023(os2_eval: Evaluator) -> None:
    """An agreement entered in 2023 pays a quarter for 2023 and the full fee afterwards."""
    c = customer("Vejle", population=D(41_000), os2_member=True, joined=dt.date(2023, 12, 1))
    assert os2_eval.evaluate(c, 2023).line("annual_fee").amount == D(8_720)
    assert os2_eval.evaluate(c, 2024).line("annual_fee").amount == D(34_880)
    c2024 = customer("Vejle", population=D(41_000), os2_member=True, joined=dt.date(2024, 1, 1))
    assert os2_eval.evaluate(c2024, 2024).line("annual_fee").amount == D(34_880)


def test_band_trace_names_the_comparison(os2_eval: Evaluator) -> None:
    """The trace says which band was chosen and shows the comparison that chose it."""
    c = customer("Vejle", population=D(41_000), os2_member=False, joined=dt.date(2024, 1, 1))
    steps = os2_eval.evaluate(c, 2024).line("annual_fee").steps
    band = next(s for s in steps if s.kind == "band")
    assert band.text == 'population 41 000 is in size medium "Mellem": 25 001 ≤ 41 000 ≤ 60 000'
    assert band.span is not None and band.span.line > 0
    cell = next(s for s in steps if s.kind == "cell")
    assert cell.text == "table cell (size = medium, os2_member = no): 43 200.00"


def test_not_charged_before_joining(os2_eval: Evaluator) -> None:
    """Before the agreement year nothing is charged, and the trace says why."""
    c = customer("Vejle", population=D(41_000), os2_member=True, joined=dt.date(2025, 3, 1))
    result = os2_eval.evaluate(c, 2024)
    assert [ln.charged for ln in result.lines] == [False, False, False]
    assert result.total == 0
    assert "billing year 2024 is before 2025" in result.line("annual_fee").steps[0].text


def test_kongsberg_fixed_plus_per_inhabitant(kongsberg_eval: Evaluator) -> None:
    """The annual cost is 6 000 NOK plus 1.50 NOK per inhabitant, exactly."""
    c = customer("K", population=D(27_723), joined=dt.date(2018, 11, 10))
    line = kongsberg_eval.evaluate(c, 2024).line("annual")
    assert line.amount == D("47584.50")
    calcs = [s for s in line.steps if s.kind == "calc"]
    assert [s.get("result") for s in calcs] == ["41584.5", "47584.5"]


@pytest.mark.parametrize(
    ("population", "fee"),
    [(4_999, 25_000), (5_000, 40_000), (9_999, 40_000), (10_000, 70_000),
     (24_999, 70_000), (25_000, 100_000), (700_000, 100_000)],
)
def test_kongsberg_connection_bands(kongsberg_eval: Evaluator, population: int, fee: int) -> None:
    """The connection cost follows the four bands, with 10 000 and 25 000 resolved upwards."""
    c = customer("K", population=D(population), joined=dt.date(2020, 2, 1))
    assert kongsberg_eval.evaluate(c, 2020).line("connection").amount == D(fee)


# ------------------------------------------------------------------ single rules


def test_exception_priority_decides() -> None:
    """With two exceptions that both apply, the one with the higher priority wins."""
    t = tariff(
        "input member: yes/no\n"
        'list free = "A"\n'
        "charge fee every year\n"
        "  amount 100 DKK\n"
        '  except name in free -> 0 DKK "free" priority 2\n'
        '  except member -> 50 DKK "half" priority 1\n'
    )
    ev = Evaluator(t)
    assert ev.evaluate(customer("A", member=True), 2024).line("fee").amount == 0
    assert ev.evaluate(customer("B", member=True), 2024).line("fee").amount == 50
    assert ev.evaluate(customer("B", member=False), 2024).line("fee").amount == 100


def test_inexact_proration_needs_a_rounding_rule() -> None:
    """A third of 100 has no exact decimal, so evaluation stops with a positioned error."""
    t = tariff(
        "input late: yes/no\n"
        "charge fee every year\n"
        "  amount 100 DKK\n"
        "  prorate 1/3 when late\n"
    )
    with pytest.raises(EvaluationError) as info:
        Evaluator(t).evaluate(customer(late=True), 2024)
    diag = info.value.diagnostics[0]
    assert diag.span is not None and diag.span.line == 7
    assert "no exact decimal value" in diag.message
    assert "round to øre half up" in (diag.hint or "")


def test_rounding_is_applied_and_traced() -> None:
    """The tariff's rounding rule rounds the exact value once, and the trace shows both."""
    t = tariff(
        "input late: yes/no\n"
        "charge fee every year\n"
        "  amount 100 DKK\n"
        "  prorate 1/3 when late\n"
        "  round to øre half up\n"
    )
    line = Evaluator(t).evaluate(customer(late=True), 2024).line("fee")
    assert line.amount == D("33.33")
    rnd = next(s for s in line.steps if s.kind == "round")
    assert rnd.text == "rounded to øre (half up): 33.333333… → 33.33"


def test_percent_proration_and_percent_literal() -> None:
    """25 % prorates to a quarter and a percent literal is a plain fraction in an amount."""
    t = tariff(
        "input late: yes/no\n"
        "param share = 10 %\n"
        "charge fee every year\n"
        "  amount 1_000 DKK * share\n"
        "  prorate 25 % when late\n"
    )
    ev = Evaluator(t)
    assert ev.evaluate(customer(late=True), 2024).line("fee").amount == D("25.00")
    assert ev.evaluate(customer(late=False), 2024).line("fee").amount == D("100.00")


def test_pending_is_never_zero() -> None:
    """A pending charge has no amount and a pending status, and the total leaves it out."""
    t = tariff(
        "charge fee every year\n"
        "  amount 100 DKK\n"
        'pending later "Later" every year\n'
        '  note "not decided"\n'
    )
    result = Evaluator(t).evaluate(customer(), 2024)
    assert result.line("later").amount is None
    assert result.line("later").status == "pending"
    assert result.pending == ("later",)
    assert result.total == 100
    assert "not decided" in result.line("later").steps[-1].text


def test_evaluator_refuses_a_tariff_with_errors() -> None:
    """A tariff that does not check is never evaluated."""
    t = tariff("charge fee every year\n  amount 100 DKK + population\n")
    with pytest.raises(CheckError):
        Evaluator(t)


def test_traces_off_give_the_same_amounts(os2_eval: Evaluator) -> None:
    """Evaluating without a trace gives identical amounts and records no steps."""
    c = customer("Kolding", population=D(94_528), os2_member=True, joined=dt.date(2023, 11, 1))
    on = os2_eval.evaluate(c, 2023, trace=True)
    off = os2_eval.evaluate(c, 2023, trace=False)
    assert [ln.amount for ln in on.lines] == [ln.amount for ln in off.lines]
    assert all(ln.steps == () for ln in off.lines)
    assert all(ln.steps for ln in on.lines)


# ------------------------------------------------------------------ exact arithmetic


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        (Fraction(5, 2), "half up", D(3)),
        (Fraction(5, 2), "half even", D(2)),
        (Fraction(7, 2), "half even", D(4)),
        (Fraction(-5, 2), "half up", D(-3)),
        (Fraction(21, 10), "up", D(3)),
        (Fraction(29, 10), "down", D(2)),
        (Fraction(100, 3), "half up", D(33)),
    ],
)
def test_round_fraction_modes(value: Fraction, mode: str, expected: Decimal) -> None:
    """Each rounding mode rounds an exact fraction to whole kroner as named."""
    assert round_fraction(value, D(1), mode) == expected


def test_round_to_hundreds() -> None:
    """Rounding to a step of 100 gives a multiple of 100."""
    assert round_fraction(Fraction(12_345), D(100), "half up") == D(12_300)


def test_fraction_to_decimal_is_exact() -> None:
    """Fractions with a finite decimal expansion convert exactly; others give None."""
    assert fraction_to_decimal(Fraction(45_780, 4)) == D("11445")
    assert fraction_to_decimal(Fraction(1, 8)) == D("0.125")
    assert fraction_to_decimal(Fraction(1, 3)) is None


def test_exact_context_traps_float_and_inexact() -> None:
    """Inside the evaluator's context, mixing in a float or losing a digit raises."""
    with decimal.localcontext(EXACT):
        with pytest.raises(decimal.FloatOperation):
            _ = D(0.1)
        with pytest.raises(decimal.FloatOperation):
            _ = D(1) < 0.5
        with pytest.raises(decimal.Inexact):
            _ = D(1) / D(3)


def test_huge_values_are_a_positioned_error() -> None:
    """A calculation too large to be exact gives an evaluation error at the expression."""
    t = tariff(
        "input n: number\n"
        "charge fee every year\n"
        "  amount 1 DKK * n * n * n * n * n\n"
    )
    big = D("9" * 60)
    with pytest.raises(EvaluationError) as info:
        Evaluator(t).evaluate(customer(n=big), 2024)
    assert info.value.diagnostics[0].span is not None


def test_graduated_slices_price_each_slice_at_its_rate() -> None:
    """Each slice of the population is priced at its own rate, one trace line per slice."""
    t = tariff(
        "input population: inhabitants\n"
        "slices steps by population\n"
        "  first   up to 10_000             at 2 DKK per inhabitant\n"
        "  second  from 10_001 to 50_000    at 1.50 DKK per inhabitant\n"
        "  rest    from 50_001              at 1 DKK per inhabitant\n"
        "charge fee every year\n  amount steps\n"
    )
    ev = Evaluator(t)
    line = ev.evaluate(customer(population=D(60_000)), 2024).line("fee")
    assert line.amount == D(20_000 + 60_000 + 10_000)
    slices = [s for s in line.steps if s.kind == "slice"]
    assert [s.text for s in slices] == [
        "slice first (1–10 000): 10 000 × 2 = 20 000",
        "slice second (10 001–50 000): 40 000 × 1.5 = 60 000",
        "slice rest (50 001–): 10 000 × 1 = 10 000",
    ]
    assert ev.evaluate(customer(population=D(7)), 2024).line("fee").amount == D(14)
    assert ev.evaluate(customer(population=D(0)), 2024).line("fee").amount == D(0)


def test_dated_value_in_force_on_1_january() -> None:
    """A dated param uses the value in force on 1 January; before the first is an error."""
    t = tariff(
        "input population: inhabitants\n"
        "param price =\n"
        "  1.37 DKK per inhabitant from 2018-01-01\n"
        "  1.94 DKK per inhabitant from 2019-01-01\n"
        "charge fee every year\n  amount price * population\n"
    )
    ev = Evaluator(t)
    assert ev.evaluate(customer(population=D(100)), 2018).line("fee").amount == D("137")
    assert ev.evaluate(customer(population=D(100)), 2025).line("fee").amount == D("194")
    with pytest.raises(EvaluationError, match="price has no value for billing year 2017"):
        ev.evaluate(customer(population=D(100)), 2017)


def test_inexact_exception_value_is_not_shown_rounder() -> None:
    """An exception whose value has no finite decimal is shown as 33.333333…, not cut to 33."""
    t = tariff(
        "input member: yes/no\n"
        "charge fee every year\n"
        "  amount 100 DKK\n"
        "  except member -> 100 DKK / 3\n"
        "  round to øre half up\n"
    )
    line = Evaluator(t).evaluate(customer(member=True), 2024).line("fee")
    assert line.amount == D("33.33")
    fired = next(s for s in line.steps if s.kind == "exception" and s.applied)
    assert fired.text.endswith("→ 33.333333…")
    assert fired.value == "100/3"


# ------------------------------------------------------------------ inexact params in conditions

THIRD = tariff('''input value "Value": money
param third = 10 DKK / 3
param upper = 13 DKK / 3
param whole = 3 DKK / 3
charge fee "Fee" every year
  amount 100 DKK
  except value < third -> 0 DKK "small"
charge exact "Exact" every year
  amount 100 DKK
  except value = whole -> 1 DKK "one" priority 2
  except value >= third and value <= upper -> 2 DKK "near" priority 1
''')


@pytest.mark.parametrize("trace", [True, False])
@pytest.mark.parametrize(("value", "fee", "exact"), [
    ("3.33", 0, 100), ("3.34", 100, 2), ("1", 0, 1), ("4.33", 100, 2), ("4.34", 100, 100)])
def test_a_param_with_no_exact_decimal_is_compared_exactly(
        trace: bool, value: str, fee: int, exact: int) -> None:
    """`value < third` with third = 10 DKK / 3: compared as fractions, on the traced and the
    compiled path, never an internal error (decimal.Inexact)."""
    ev = Evaluator(THIRD)
    r = ev.evaluate(customer(value=D(value)), 2024, trace=trace)
    assert [ln.amount for ln in r.lines] == [fee, exact]


def test_the_trace_shows_an_inexact_param_with_its_first_decimals() -> None:
    """The condition's words show the fraction as the trace shows any: 3.333333…"""
    r = Evaluator(THIRD).evaluate(customer(value=D("3.33")), 2024)
    steps = [s.text for s in r.line("fee").steps if s.kind == "exception"]
    assert steps == ["exception applies (small): value 3.33 < third 3.333333…: yes → 0.00"]
