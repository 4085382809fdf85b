"""issue 12: time finer than a year (charges per month, quarter or half year, prices per
period, rules for dated values, prorations between dates) and dated bounds."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction

import pytest

from takst.dsl import ast
from takst.dsl.check import check, errors_of
from takst.dsl.errors import TariffSyntaxError
from takst.dsl.formatter import format_text
from takst.dsl.parser import parse
from takst.dsl.periods import periods_of, segments
from takst.interpreter.evaluator import Evaluator
from takst.interpreter.model import Context, Customer
from takst.render.results import line_json

HEADER = 'tariff t "T"\n  currency NOK\n  source "s"\n'


def tariff_of(body: str) -> ast.Tariff:
    return parse(HEADER + body, "t.tariff")


def messages(body: str) -> list[str]:
    return [d.message for d in check(tariff_of(body))]


def errors(body: str) -> list[str]:
    return [d.message for d in errors_of(check(tariff_of(body)))]


def customer(**values: object) -> Customer:
    def value(v: object) -> object:
        return Decimal(v) if isinstance(v, int | str) and not isinstance(v, bool) else v
    return Customer("1", "K", {k: value(v) for k, v in values.items()})  # type: ignore[misc]


def both(body: str, year: int, **values: object) -> list[tuple[Decimal | None, str]]:
    """The lines by the reference and by the compiled closures, which must agree."""
    ev = Evaluator(tariff_of(body))
    c = customer(**values)
    ref = ev.reference(c, year)
    fast = ev.evaluate(c, year, trace=False)
    got = [(ln.amount, ln.status) for ln in ref.lines]
    assert got == [(ln.amount, ln.status) for ln in fast.lines]
    assert [ln.periods for ln in ref.lines] == [ln.periods for ln in fast.lines]
    return got


# ------------------------------------------------------------------ parsing


def test_every_month_quarter_and_half_year_name_the_period() -> None:
    """`every month`, `every quarter from joined` and `every half year` set the period."""
    t = tariff_of("input joined: date\n"
                  "charge a every month\n  amount 1 NOK\n"
                  "charge b every quarter from joined\n  amount 1 NOK\n"
                  "charge c every half year\n  amount 1 NOK\n"
                  "charge d every year\n  amount 1 NOK\n")
    assert [c.frequency.period for c in t.charges] == ["month", "quarter", "half year", "year"]
    assert t.charges[1].frequency.anchor is not None
    assert t.charges[1].frequency.anchor.name == "joined"


def test_every_week_is_a_plain_error() -> None:
    """A period that is not one names the ones there are, at the word (also a typo of
    `year` with no clause after it)."""
    for body in ("charge a every week\n  amount 1 NOK\n", "charge a every yaer\n"):
        with pytest.raises(TariffSyntaxError) as info:
            tariff_of(body)
        d = info.value.diagnostics[0]
        word = body.split()[3]
        assert d.message == f'unexpected word "{word}"; expected "half" or "year"'
        assert d.hint == ("say how often: every year, every half year, every quarter or "
                          "every month")
        assert (d.span.line, d.span.column) == (4, 16)


def test_prices_per_year_and_half_year_parse() -> None:
    """`per year` and `per half year` are rates whose `per` is the period."""
    t = tariff_of("param a = 6_000 NOK per year\nparam b = 3_000 NOK per half year\n"
                  "param c = 500 NOK per month\n")
    assert [p.value.per for p in t.params] == ["year", "half year", "month"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("line", "kind"), [
    ("in force on 1 January", "january"),
    ("in force at the start of each period", "period"),
    ("weighted by days", "days"),
])
def test_a_dated_param_can_end_with_its_rule(line: str, kind: str) -> None:
    """The rule line after the dated values is kept on the param."""
    t = tariff_of(f"param p =\n  1 NOK from 2020-01-01\n  2 NOK from 2021-07-01\n  {line}\n")
    rule = t.params[0].rule
    assert rule is not None and rule.kind == kind
    assert len(t.params[0].dated) == 2


def test_a_rule_line_in_other_words_is_an_error_naming_the_three() -> None:
    """`in force on 1 July` is not a rule; the hint lists the three lines."""
    with pytest.raises(TariffSyntaxError) as info:
        tariff_of("param p =\n  1 NOK from 2020-01-01\n  in force on 1 July\n")
    d = info.value.diagnostics[0]
    assert d.message == "`in force on 1 July` is not a rule for dated values"
    assert d.hint is not None and "weighted by days" in d.hint


def test_prorate_between_dates_and_param_bounds_parse() -> None:
    """`prorate 1/2 from A to B` keeps its dates; `up to NAME` keeps the param."""
    t = tariff_of("input population: inhabitants\nparam top = 10\n"
                  "bands size by population\n  small up to top\n  large above top\n"
                  "charge a every year\n  amount 1 NOK\n"
                  "  prorate 1/2 from 2021-01-01 to 2021-06-30 \"Halv pris\"\n")
    pr = t.charges[0].prorations[0]
    assert (pr.start, pr.end, pr.numerator, pr.denominator) == (
        dt.date(2021, 1, 1), dt.date(2021, 6, 30), 1, 2)
    small, large = t.bands[0].bands
    assert small.upper is not None and small.upper.param is not None
    assert small.upper.param.name == "top" and small.upper.inclusive
    assert large.lower is not None and large.lower.param is not None
    assert not large.lower.inclusive


BODY = """input population: inhabitants
input joined: date

param top =
  10 from 2020-01-01
  20 from 2022-01-01

param price "Pris" =
  500 NOK per month from 2020-01-01
  600 NOK per month from 2021-07-01
  weighted by days

param start_price =
  1_200 NOK per year from 2020-01-01
  2_400 NOK per year from 2021-07-01
  in force at the start of each period

bands size by population
  small  up to top
  large  above top

charge support "Support" every quarter from joined
  amount price  # a comment stays
  prorate 1/2 from 2021-01-01 to 2021-06-30 "Halv pris"
  round to øre half up

charge sized every half year
  by size
    small  1_000 NOK per year
    large  2_000 NOK per year

charge monthly every month
  amount start_price
"""


def test_the_formatter_round_trips_every_new_construct() -> None:
    """Formatting keeps the AST and is stable (a second pass changes nothing)."""
    text = HEADER + BODY
    once = format_text(text, "t.tariff")
    assert parse(once, "t.tariff").declarations == parse(text, "t.tariff").declarations
    assert format_text(once, "t.tariff") == once
    assert "  weighted by days\n" in once and "every half year\n" in once
    assert "prorate 1/2 from 2021-01-01 to 2021-06-30" in once and "up to top" in once


# ------------------------------------------------------------------ checking


def test_the_worked_body_checks_clean() -> None:
    """Every new construct together checks with no error."""
    assert errors(BODY) == []


def test_a_mid_year_value_without_a_rule_is_a_warning() -> None:
    """A value from 1 July and no rule line: every period would take 1 January's value."""
    found = messages("param p =\n  1 NOK from 2020-01-01\n  2 NOK from 2021-07-01\n"
                     "charge c every year\n  amount p\n")
    assert found == ["the value of p from 2021-07-01 starts during the year, but p says no "
                     "rule for it: every billing period takes the value on 1 January"]
    assert messages("param p =\n  1 NOK from 2020-01-01\n  2 NOK from 2021-01-01\n"
                    "charge c every year\n  amount p\n") == []


def test_overlapping_prorations_between_dates_conflict() -> None:
    """Two prorations over the same days: an error naming the shared days, with both places."""
    body = ("charge fee every month\n  amount 100 NOK per month\n"
            "  prorate 1/2 from 2021-01-01 to 2021-06-30\n"
            "  prorate 1/4 from 2021-03-01 to 2021-09-30\n")
    diags = errors_of(check(tariff_of(body)))
    assert [d.message for d in diags] == [
        "these two prorations of fee both cover 2021-03-01 to 2021-06-30"]
    assert diags[0].span.line == 7 and diags[0].related[0][1].line == 6
    assert errors("charge fee every month\n  amount 100 NOK per month\n"
                  "  prorate 1/2 from 2021-06-30 to 2021-01-01\n") == [
        "this proration ends on 2021-01-01, before it starts on 2021-06-30"]


def test_a_gap_that_opens_on_a_date_is_reported_with_the_date() -> None:
    """The bands are analysed on every date a bound changes."""
    body = ("input population: inhabitants\n"
            "param top =\n  10 from 2020-01-01\n  20 from 2022-01-01\n"
            "param bottom =\n  11 from 2020-01-01\n  22 from 2022-01-01\n"
            "bands size by population\n  small up to top\n  large from bottom\n"
            "charge c every year\n  by size\n    small 1 NOK\n    large 2 NOK\n")
    assert errors(body) == ["from 2022-01-01: 21 falls in no band of size"]


def test_a_bound_param_must_be_a_number_not_weighted_and_of_one_rule() -> None:
    """A calculation, a weighted param or two rules among the bounds are errors."""
    base = "input population: inhabitants\n{params}\nbands size by population\n" \
           "  small up to a\n  large above b\ncharge c every year\n  by size\n" \
           "    small 1 NOK\n    large 2 NOK\n"
    calc = base.format(params="param a = 5 + 5\nparam b = 10")
    assert errors(calc) == ["a is a bound, so each of its values is a number as written "
                            "(e.g. 25_000)"]
    weighted = base.format(params="param a =\n  10 from 2020-01-01\n  weighted by days\n"
                           "param b = 10")
    assert errors(weighted) == ["a is weighted by days, so it has no one value on a day and "
                                "cannot be a bound of size"]
    mixed = base.format(params="param a =\n  10 from 2020-01-01\n"
                        "  in force at the start of each period\n"
                        "param b =\n  10 from 2020-01-01\n")
    assert errors(mixed) == ["the bounds of size take their values by different rules: b "
                             "takes the value on 1 January, a takes the value at the start "
                             "of each period"]


def test_a_price_per_month_is_an_amount() -> None:
    """`500 NOK per month` is money (for the charge's period), not a rate per thing."""
    assert errors("charge c every quarter\n  amount 500 NOK per month\n") == []
    assert errors("input population: inhabitants\n"
                  "charge c every year\n  amount 500 NOK per month * population\n") != []


# ------------------------------------------------------------------ evaluating


def test_periods_of_a_year() -> None:
    """Months, quarters and half years cover the year, in order, with their days."""
    q = periods_of(2024, "quarter")
    assert [(p.start, p.end, p.days) for p in q] == [
        (dt.date(2024, 1, 1), dt.date(2024, 3, 31), 91),
        (dt.date(2024, 4, 1), dt.date(2024, 6, 30), 91),
        (dt.date(2024, 7, 1), dt.date(2024, 9, 30), 92),
        (dt.date(2024, 10, 1), dt.date(2024, 12, 31), 92)]
    assert sum(p.days for p in periods_of(2023, "month")) == 365
    assert [p.label for p in periods_of(2021, "half year")] == [
        "1st half of 2021", "2nd half of 2021"]


def test_a_quarterly_charge_is_the_sum_of_its_quarters() -> None:
    """From joined in May: three quarters of 3 × the weighted monthly price, the second
    quarter at half price; the line keeps each quarter's amount."""
    got = both(BODY, 2021, population=5, joined=dt.date(2021, 5, 10))
    assert got[0] == (Decimal("4350.00"), "ok")
    ev = Evaluator(tariff_of(BODY))
    line = ev.reference(customer(population=5, joined=dt.date(2021, 5, 10)), 2021).lines[0]
    assert [(p.label, p.amount, p.charged) for p in line.periods] == [
        ("1st quarter 2021", Decimal(0), False), ("2nd quarter 2021", Decimal("750.00"), True),
        ("3rd quarter 2021", Decimal("1800.00"), True),
        ("4th quarter 2021", Decimal("1800.00"), True)]
    kinds = [s.kind for s in line.steps]
    assert kinds.count("period") == 4 and kinds[-2:] == ["sum", "result"]
    sum_step = line.steps[-2]
    assert sum_step.text == ("support: sum of the 3 quarterly amounts: 750.00 + 1 800.00 + "
                             "1 800.00 = 4 350.00")


def test_a_price_changing_mid_quarter_is_weighted_by_its_days() -> None:
    """A quarter from 1 June to ... : 500 for the days before 1 July and 600 after."""
    body = ("param price =\n  500 NOK per month from 2020-01-01\n"
            "  600 NOK per month from 2021-07-15\n  weighted by days\n"
            "charge c every quarter\n  amount price\n  round to øre half up\n")
    q3 = (Fraction(1500) * 14 + Fraction(1800) * 78) / 92
    expected = 1500 * 2 + round(q3 * 100) / Fraction(100) + 1800
    assert both(body, 2021) == [(Decimal(expected.numerator) / expected.denominator, "ok")]


def test_the_value_at_each_period_start_and_on_1_january_differ() -> None:
    """A yearly price doubling on 1 July: 12 × 100 by 1 January, 6 × 100 + 6 × 200 by
    each month's start, and (1 200 × 181 + 2 400 × 184) / 365 weighted by days."""
    body = ("param a =\n  1_200 NOK per year from 2020-01-01\n  2_400 NOK per year from "
            "2021-07-01\n  in force on 1 January\n"
            "param b =\n  1_200 NOK per year from 2020-01-01\n  2_400 NOK per year from "
            "2021-07-01\n  in force at the start of each period\n"
            "param w =\n  1_200 NOK per year from 2020-01-01\n  2_400 NOK per year from "
            "2021-07-01\n  weighted by days\n"
            "charge ca every month\n  amount a\n"
            "charge cb every month\n  amount b\n"
            "charge cw every year\n  amount w\n  round to øre half up\n"
            "charge cy every year\n  amount b\n")
    assert both(body, 2021) == [(Decimal(1200), "ok"), (Decimal(1800), "ok"),
                                (Decimal("1804.93"), "ok"), (Decimal(1200), "ok")]


def test_half_price_in_the_first_half_of_2021() -> None:
    """Six months at half price; a yearly charge day-weighted (184 + 181 / 2) / 365."""
    body = ("charge m every month\n  amount 100 NOK per month\n"
            "  prorate 1/2 from 2021-01-01 to 2021-06-30\n"
            "charge y every year\n  amount 1_200 NOK\n"
            "  prorate 1/2 from 2021-01-01 to 2021-06-30\n  round to øre half up\n")
    assert both(body, 2021) == [(Decimal(900), "ok"), (Decimal("902.47"), "ok")]
    assert both(body, 2022) == [(Decimal(1200), "ok"), (Decimal(1200), "ok")]


def test_prorate_by_days_from_joined_takes_the_part_of_the_period() -> None:
    """Joined 10 May in a quarterly charge: 52 of the 91 days of the second quarter."""
    body = ("input joined: date\ncharge c every quarter from joined\n"
            "  amount 910 NOK per quarter\n  prorate by days from joined\n")
    assert both(body, 2021, joined=dt.date(2021, 5, 10)) == [(Decimal(520 + 910 * 2), "ok")]
    months = ("input joined: date\ncharge c every half year\n"
              "  amount 600 NOK per half year\n  prorate by months from joined\n")
    assert both(months, 2021, joined=dt.date(2021, 5, 10)) == [(Decimal(200 + 600), "ok")]


def test_a_dated_bound_moves_a_customer_to_another_band() -> None:
    """15 inhabitants are large while the bound is 10 and small from 2022 (bound 20)."""
    assert both(BODY, 2021, population=15, joined=dt.date(2019, 1, 1))[1] == (
        Decimal(2000), "ok")
    assert both(BODY, 2022, population=15, joined=dt.date(2019, 1, 1))[1] == (
        Decimal(1000), "ok")
    ev = Evaluator(tariff_of(BODY))
    line = ev.reference(customer(population=15, joined=dt.date(2019, 1, 1)), 2022).lines[1]
    texts = [s.text for s in line.steps]
    assert "top = 20 (in force from 2022-01-01, the value on 1 January 2022)" in texts
    assert "population 15 is in size small: 0 ≤ 15 ≤ 20" in texts


def test_a_dated_slice_bound_follows_the_date() -> None:
    """The threshold of OpenFisca's second bracket: 12 100 in 2014, 6 000 in 2017."""
    body = ("input salary: money\n"
            "param t =\n  12_100 NOK from 2014-01-01\n  6_000 NOK from 2017-01-01\n"
            "slices s by salary\n  low up to t at 3 %\n  high above t at 10 %\n"
            "charge c every year\n  amount s\n")
    assert both(body, 2014, salary=15_000) == [(Decimal("653.00"), "ok")]
    assert both(body, 2017, salary=15_000) == [(Decimal("1080.00"), "ok")]


def test_a_period_before_the_first_value_is_an_error_naming_the_date() -> None:
    """A monthly charge taking each month's value in a year before the series starts."""
    from takst.dsl.errors import EvaluationError

    body = ("param p =\n  1 NOK per month from 2021-07-01\n"
            "  in force at the start of each period\n"
            "charge c every month\n  amount p\n")
    ev = Evaluator(tariff_of(body))
    with pytest.raises(EvaluationError) as info:
        ev.reference(customer(), 2021)
    assert info.value.diagnostics[0].message == (
        "p has no value on 2021-01-01: its first value is from 2021-07-01")


def test_segments_split_a_period_where_values_change() -> None:
    """The days each dated value is in force within a period, and days before the first."""
    t = tariff_of("param p =\n  1 NOK from 2021-02-10\n  2 NOK from 2021-03-01\n"
                  "  weighted by days\n")
    q1 = periods_of(2021, "quarter")[0]
    got = [(d.start if d else None, days) for d, days in segments(t.params[0].dated, q1)]
    assert got == [(None, 40), (dt.date(2021, 2, 10), 19), (dt.date(2021, 3, 1), 31)]


def test_json_shows_periods_only_for_periodic_lines() -> None:
    """A whole-year line has no `periods` key (whole-year outputs are unchanged)."""
    ev = Evaluator(tariff_of(BODY))
    result = ev.evaluate(customer(population=5, joined=dt.date(2019, 1, 1)), 2021,
                         trace=False)
    support, _, monthly = result.lines
    data = line_json(support, with_trace=False)
    assert list(data) == ["charge", "label", "amount", "status", "charged", "periods"]
    assert data["periods"][0] == {"start": "2021-01-01", "end": "2021-03-31",
                                  "label": "1st quarter 2021", "amount": "750.00",
                                  "charged": True}
    assert len(line_json(monthly, with_trace=False)["periods"]) == 12
    whole = Evaluator(tariff_of("charge c every year\n  amount 1 NOK\n"))
    line = whole.evaluate(customer(), 2021, trace=False).lines[0]
    assert "periods" not in line_json(line, with_trace=False)


def test_the_batch_engine_gives_the_same_amounts() -> None:
    """Periods, weighted values, period-start values, dates prorations and dated bounds in
    SQL give the interpreter's amounts for every drawn customer and year."""
    pytest.importorskip("duckdb")
    from takst.interpreter.batch import DuckDBEngine
    from takst.interpreter.evaluator import InterpreterEngine

    t = tariff_of(BODY)
    batch, interp = DuckDBEngine(t), InterpreterEngine(t)
    assert batch.unsupported is None
    people = [Customer(str(i), f"c{i}", {"population": Decimal(p), "joined": j})
              for i, (p, j) in enumerate(itertools.product(
                  [0, 10, 11, 20, 21], [dt.date(2019, 2, 1), dt.date(2021, 5, 10),
                                        dt.date(2021, 12, 31), dt.date(2022, 3, 3)]))]
    for year in (2021, 2022):
        a = list(interp.evaluate(people, year, Context()))
        b = list(batch.evaluate(people, year, Context()))
        assert [[(ln.amount, ln.status) for ln in r.lines] for r in a] == [
            [(ln.amount, ln.status) for ln in r.lines] for r in b]
