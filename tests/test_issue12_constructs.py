"""Issue 12's constructs: indexation, mixed-key pools, count aggregates, a pool total rounded
before sharing, VAT, a pending value in a dated series, tables of three dimensions, reasons on
cases, input defaults and pending charges for some customers, through the parser, the checker,
both interpreter paths, the formatter, the outputs and the batch engine's fallback."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from paths import ROOT

from takst.dsl import ast
from takst.dsl.check import check, errors_of
from takst.dsl.errors import EvaluationError
from takst.dsl.formatter import format_text
from takst.dsl.loader import load_tariff
from takst.dsl.parser import parse
from takst.interpreter.batch.compiler import Unsupported, compile_tariff, not_compiled
from takst.interpreter.evaluator import Evaluator
from takst.interpreter.model import Context, Customer, CustomerResult
from takst.render.report import to_csv, write_json
from takst.render.worksheet import render_text

HEADER = 'tariff t "T"\n  currency NOK\n  source "s"\n\n'
EXAMPLES = ROOT / "docs" / "examples"


def tariff(body: str) -> ast.Tariff:
    """A tariff of ``body`` under a NOK header."""
    return parse(HEADER + body, "t.tariff")


def messages(body: str) -> list[str]:
    """The checker's messages (errors and warnings) for ``body``."""
    return [d.message for d in check(tariff(body))]


def both(ev: Evaluator, c: Customer, year: int, ctx: Context | None = None) -> CustomerResult:
    """The traced reference result, after checking the compiled path gives the same lines."""
    ref = ev.evaluate(c, year, trace=True, context=ctx)
    fast = ev.evaluate(c, year, trace=False, context=ctx)
    for a, b in zip(ref.lines, fast.lines, strict=True):
        assert (a.amount, a.status, a.charged, a.vat, a.vat_rate) == \
            (b.amount, b.status, b.charged, b.vat, b.vat_rate), a.charge
    return ref


# ------------------------------------------------------------------ 9. indexation

INDEXED = """\
param kpi =
  1.8 % from 2017-01-01
  2.7 % from 2018-01-01
  not decided from 2019-01-01 "not published yet"

param fee "Avgift" = 10_000 NOK
  adjusted by kpi every year from 2016
  round to kroner half up

param fixed = 2_000 NOK
  adjusted by 2.5 % every year from 2016

charge a every year
  amount fee

charge b every year
  amount fixed
  round to øre half up
"""


def test_an_indexed_price_compounds_yearly_with_each_year_in_the_trace() -> None:
    """10 000 × 1.018 = 10 180, × 1.027 = 10 454.86 → 10 455; one index step per year."""
    ev = Evaluator(tariff(INDEXED))
    r = both(ev, Customer("1", "A", {}), 2018)
    assert r.line("a").amount == Decimal("10455")
    assert r.line("b").amount == Decimal("2101.25")  # 2 000 × 1.025², exact: 2 101.25
    steps = [s for s in r.line("a").steps if s.kind == "index"]
    assert [s.get("year") for s in steps] == ["2016", "2017", "2018"]
    assert steps[-1].get("left") == "10180" and steps[-1].get("rate") == "0.027"
    assert steps[-1].text == ("fee in 2018 = 10 180.00 × (1 + 2.7 %) = 10 454.86, rounded to "
                              "kroner (half up) → 10 455.00")


def test_an_indexed_price_is_pending_from_a_year_whose_rate_is_pending() -> None:
    """2019's change of the index is not decided, so the price indexed by it is pending."""
    ev = Evaluator(tariff(INDEXED))
    r = both(ev, Customer("1", "A", {}), 2019)
    assert r.line("a").status == "pending"
    assert r.line("b").amount == Decimal("2153.78")


def test_a_year_before_the_base_year_is_a_positioned_error() -> None:
    """An indexed param has no value before its base year."""
    ev = Evaluator(tariff(INDEXED))
    with pytest.raises(EvaluationError) as err:
        ev.evaluate(Customer("1", "A", {}), 2015)
    d = err.value.diagnostics[0]
    assert d.message == ("fee is adjusted every year from 2016, so it has no value for billing "
                         "year 2015")
    assert d.span is not None and d.span.line == 11  # the `adjusted by` line


def test_an_adjustment_in_money_is_refused() -> None:
    """The yearly adjustment is a percentage, not an amount."""
    assert "fee is adjusted by an amount in NOK; an adjustment is a percentage" in messages(
        "param fee = 10 NOK\n  adjusted by 1 NOK every year from 2020\n"
        "charge a every year\n  amount fee\n")


# ------------------------------------------------------------------ 10. pools


POOL = """\
input population: inhabitants
setting cost: money

aggregate members = count of customers
aggregate counted = count of staff
input staff: count of staff optional

pool split = cost
  shared 30 % equally and 70 % by population
  rounded to øre by largest_remainder

pool third = cost / 3
  total rounded to øre half up
  shared by population
  rounded to øre by largest_remainder

charge s every year
  amount split

charge t every year
  amount third

charge m every year
  amount 100 NOK * members + 1 NOK * counted
"""

REGISTER = [Customer("1", "Ålesund", {"population": Decimal(47199), "staff": Decimal(3)}),
            Customer("2", "Sandøy", {"population": Decimal(1246)}),
            Customer("3", "Sula", {"population": Decimal(9007)})]


def test_a_mixed_key_shares_a_total_to_the_ore_in_equal_and_keyed_parts() -> None:
    """1 000 000.01 is shared 30 % equally and 70 % by population, and the shares add up."""
    ev = Evaluator(tariff(POOL))
    ctx = ev.prepare(REGISTER, 2024, {"cost": Decimal("1000000.01")})
    pool = ctx.pools["split"]
    total = Fraction(100000001, 100)
    key_sum = 47199 + 1246 + 9007
    exact = total * Fraction(3, 10) / 3 + total * Fraction(7, 10) * 1246 / key_sum
    assert pool.shares["2"][0] == exact
    assert sum(r for _, r in pool.shares.values()) == total
    r = both(ev, REGISTER[1], 2024, ctx)
    assert r.line("s").amount == Decimal("115181.37")
    step = next(s for s in r.line("s").steps if s.kind == "pool")
    assert "shared 30 % equally and 70 % by population" in step.text
    assert "× 30 % / 3 + 1 000 000.01 × 70 % × 1 246 / 57 452" in step.text


def test_a_pool_total_is_rounded_before_it_is_shared() -> None:
    """A third of 1 000 000.01 is rounded to 333 333.34 first, and shared to the øre."""
    ev = Evaluator(tariff(POOL))
    ctx = ev.prepare(REGISTER, 2024, {"cost": Decimal("1000000.01")})
    pool = ctx.pools["third"]
    assert pool.total == Fraction(33333334, 100)
    assert sum(r for _, r in pool.shares.values()) == pool.total
    assert "(rounded to øre half up before sharing: 333 333.336666… → 333 333.34)" in pool.text


def test_count_aggregates_count_customers_and_customers_with_a_value() -> None:
    """count of customers is 3; count of staff counts the one customer with a value."""
    ev = Evaluator(tariff(POOL))
    ctx = ev.prepare(REGISTER, 2024, {"cost": Decimal(1)})
    assert ctx.aggregates["members"][0] == 3
    assert ctx.aggregates["counted"][0] == 1
    assert ctx.aggregates["members"][1] == "count of customers: 3 of the register"
    assert both(ev, REGISTER[0], 2024, ctx).line("m").amount == Decimal(301)


def test_mixed_key_parts_must_make_the_whole() -> None:
    """30 % and 60 % leave a tenth of the total unshared: check says so."""
    assert ("pool p shares 30 % equally and 60 % by population: together 90 %, not the whole "
            "total") in messages(
        "input population: inhabitants\nsetting cost: money\npool p = cost\n"
        "  shared 30 % equally and 60 % by population\ncharge c every year\n  amount p\n")


# ------------------------------------------------------------------ 11. VAT

VAT = """\
categories customer_type
  KOMMUNE
  UTLAND

vat mva "MVA" = by customer_type
    KOMMUNE  25 %
    UTLAND   0 % "Eksport"
  round to øre half up

input n: number optional

charge a every year
  amount 7_330.33 NOK

charge fee every year
  amount 585 NOK
  exempt from vat "Gebyr"

charge usage every year
  amount 1 NOK * n

charge later once when joined
  amount 1 NOK

input joined: date
"""


def test_vat_is_beside_each_line_never_inside_its_amount() -> None:
    """25 % of 7 330.33 is 1 832.5825 → 1 832.58; the amount stays 7 330.33."""
    ev = Evaluator(tariff(VAT))
    import datetime as dt

    c = Customer("1", "A", {"joined": dt.date(2020, 1, 1)}, customer_type="KOMMUNE")
    r = both(ev, c, 2025)
    a = r.line("a")
    assert (a.amount, a.vat, a.vat_rate, a.amount_inc_vat) == (
        Decimal("7330.33"), Decimal("1832.58"), Decimal("0.25"), Decimal("9162.91"))
    assert r.line("fee").vat == 0 and r.line("fee").vat_rate is None
    assert r.line("usage").status == "pending" and r.line("usage").vat is None
    assert r.line("later").charged is False and r.line("later").vat == 0
    assert (r.total, r.vat_total, r.total_inc_vat) == (
        Decimal("7915.33"), Decimal("1832.58"), Decimal("9747.91"))
    step = next(s for s in a.steps if s.kind == "vat")
    assert step.text == ("MVA 25 % (customer_type KOMMUNE): 7 330.33 × 25 % = 1 832.5825, "
                         "rounded to øre (half up): 1 832.5825 → 1 832.58; amount with VAT "
                         "9 162.91")
    sheet = render_text(r, title="T", tariff_file="t.tariff", year=2025, currency="NOK")
    assert sheet.splitlines()[-2:] == [
        "VAT " + "." * 87 + " 1 832.58", "Total with VAT " + "." * 76 + " 9 747.91"]


def test_a_customer_type_with_a_zero_rate_gets_its_reason_in_the_trace() -> None:
    """UTLAND's 0 % shows the case's reason."""
    ev = Evaluator(tariff(VAT))
    r = both(ev, Customer("1", "A", {}, customer_type="UTLAND"), 2025)
    assert r.line("a").vat == 0
    step = next(s for s in r.line("a").steps if s.kind == "vat")
    assert step.text.startswith("MVA 0 % (customer_type UTLAND, Eksport)")


def test_outputs_have_vat_columns_only_when_the_tariff_states_vat() -> None:
    """CSV and JSON get VAT columns after the old ones for a VAT tariff, none otherwise."""
    t = tariff(VAT)
    ev = Evaluator(t)
    import datetime as dt

    c = Customer("1", "A", {"n": Decimal(2), "joined": dt.date(2025, 1, 1)},
                 customer_type="KOMMUNE")
    rows = to_csv(t, [ev.evaluate(c, 2025, trace=False)]).splitlines()
    assert rows[0] == ("id,name,a,fee,usage,later,total,pending,a vat,fee vat,usage vat,"
                       "later vat,vat,total_inc_vat")
    assert rows[1] == ("1,A,7330.33,585.00,2.00,1.00,7918.33,,1832.58,0.00,0.50,0.25,1833.33,"
                       "9751.66")
    buf = io.StringIO()
    write_json(buf, t, 2025, [ev.evaluate(c, 2025, trace=False)])
    doc = json.loads(buf.getvalue())
    assert doc["customers"][0]["vat"] == "1833.33"
    assert doc["customers"][0]["lines"][0]["amount_inc_vat"] == "9162.91"
    assert doc["totals"]["total_inc_vat"] == "9751.66"
    plain = tariff("charge a every year\n  amount 1 NOK\n")
    result = Evaluator(plain).evaluate(Customer("1", "A", {}), 2025)
    assert to_csv(plain, [result]).splitlines()[0] == "id,name,a,total,pending"
    buf = io.StringIO()
    write_json(buf, plain, 2025, [result])
    assert "vat" not in buf.getvalue()


@pytest.mark.parametrize(("body", "message"), [
    ("vat a = 25 %\n  round to øre half up\nvat b = 20 %\n",
     "a tariff states one VAT; this is a second vat declaration"),
    ("vat a = 25 NOK\n", "the rate of vat a is an amount in NOK, not a percentage"),
    ("vat a = 125 %\n", "a VAT rate of 125 % is more than 100 %"),
    ("vat a = 25 %\n", "vat a says no rounding: each line's VAT is kept to the last decimal"),
    ("charge c every year\n  amount 1 NOK\n  exempt from vat\n",
     "charge c is exempt from vat, but this tariff states no VAT"),
    ('vat a = 25 %\n  round to øre half up\ncharge c every year\n  amount 1 NOK\n'
     '  exempt from vat\n  exempt from vat "again"\n', "charge c is exempt from vat twice"),
    ('import customer_types\nvat a = by customer_type\n    KOMMUNE not offered\n'
     '    others 25 %\n', "a VAT rate cannot be not offered"),
    ('charge c every year\n  amount 1 NOK\nexample "e"\n  billing year 2024\n'
     '  expect vat c 1\n', "this example expects VAT, but the tariff states no VAT"),
    ("vat a = 25 %\n  round to øre half up\ncharge c every year\n  amount 1 NOK\n"
     '  exempt from vat "x"\n  exempt from vat "y"\n',
     "charge c is exempt from vat twice"),
    ("vat a = 25 %\n  round to øre half up\ncharge c every month\n  amount 1 NOK\n",
     "charge c is invoiced every month, and takst cannot yet add VAT to a charge invoiced "
     "per period"),
    ("charge c every quarter\n  amount 10 NOK\n  at least 5 NOK\n",
     "charge c is invoiced every quarter, and takst cannot yet apply a minimum to a charge "
     "invoiced per period"),
])
def test_check_reports_vat_mistakes(body: str, message: str) -> None:
    """Each VAT mistake gets its own plain message."""
    if "import" in body:
        path = ROOT / "docs" / "vat_check.tariff"
        t = load_tariff(path, texts={path: HEADER + body})
        found = [d.message for d in check(t)]
    else:
        found = messages(body)
    assert message in found


# ------------------------------------------------------------------ 12. smaller gaps


def test_a_pending_value_in_a_dated_series_makes_its_years_pending() -> None:
    """From the pending date on, the charge is pending with the note; before it, computed."""
    t = tariff('param p =\n  1.37 NOK from 2024-01-01\n  not decided from 2026-01-01 "ny avtale"\n'
               "charge c every year\n  amount p * 10\n")
    ev = Evaluator(t)
    assert both(ev, Customer("1", "A", {}), 2025).line("c").amount == Decimal("13.70")
    line = both(ev, Customer("1", "A", {}), 2026).line("c")
    assert line.status == "pending"
    assert line.steps[-1].text == ("p is not decided yet (from 2026-01-01: ny avtale), so the "
                                   "amount is not known yet (pending)")


THREE = """\
categories customer_type
  KOMMUNE
  STAT

input population: inhabitants
input hosted: yes/no

bands size by population
  small up to 20_000
  large from 20_001

charge licence every year
  table by customer_type, size, hosted
                    yes      no
    KOMMUNE  small  12_000   10_000
    KOMMUNE  large  24_000   20_000
    STAT     small  40_000   35_000
    STAT     large  41_000   36_000
"""


def test_a_table_of_three_dimensions_finds_its_cell() -> None:
    """A large state agency not hosted pays the cell (STAT, large, no)."""
    ev = Evaluator(tariff(THREE))
    c = Customer("1", "A", {"population": Decimal(30000), "hosted": False}, customer_type="STAT")
    line = both(ev, c, 2025).line("licence")
    assert line.amount == Decimal(36000)
    cell = next(s for s in line.steps if s.kind == "cell")
    assert cell.text == "table cell (customer_type = STAT, size = large, hosted = no): 36 000.00"


def test_a_table_of_three_dimensions_is_checked_row_by_row() -> None:
    """A missing row, a duplicate row and an unknown key are each reported."""
    broken = THREE.replace("    STAT     large  41_000   36_000\n",
                           "    STAT     small  1   2\n    STATE    large  1   2\n")
    found = messages(broken)
    assert "row STAT small is twice in this table" in found
    assert "STATE is not a value of customer_type" in found
    assert "this table has no row for customer_type = STAT, size = large" in found


def test_reasons_on_cases_are_shown_in_the_trace() -> None:
    """The chosen case's reason is in its step, and in a `not offered` step."""
    t = tariff('categories customer_type\n  KOMMUNE\n  STAT\ncharge c every year\n'
               '  by customer_type\n    KOMMUNE 0 NOK "Inkludert"\n'
               '    STAT not offered "Egen avtale"\n')
    ev = Evaluator(t)
    k = both(ev, Customer("1", "A", {}, customer_type="KOMMUNE"), 2025).line("c")
    assert any(s.text == "customer_type KOMMUNE: this case (Inkludert)" for s in k.steps)
    s = both(ev, Customer("1", "A", {}, customer_type="STAT"), 2025).line("c")
    assert s.steps[-1].text == "not offered to customer_type STAT (Egen avtale)"


def test_an_input_with_a_default_is_computed_not_pending() -> None:
    """A missing value takes the stated default, in amounts, aggregates and the trace."""
    t = tariff("input users: count of users default 2\naggregate all_users = sum of users\n"
               "charge c every year\n  amount 100 NOK per user * users\n"
               "charge d every year\n  amount 1 NOK per user * all_users\n")
    ev = Evaluator(t)
    customers = [Customer("1", "A", {}), Customer("2", "B", {"users": Decimal(5)})]
    ctx = ev.prepare(customers, 2025)
    assert ctx.aggregates["all_users"][0] == 7
    r = both(ev, customers[0], 2025, ctx)
    assert r.line("c").amount == Decimal(200)
    assert any(s.text == "users = 2 users (not given: the stated default)"
               for s in r.line("c").steps)
    assert r.inputs == (("users", Decimal(2)),)


def test_a_default_of_the_wrong_kind_is_refused() -> None:
    """A count's default is a number, not a text."""
    assert 'input users is a number, but its default is text' in messages(
        'input users: count of users default "none"\ncharge c every year\n'
        "  amount 1 NOK per user * users\n")


def test_a_pending_charge_for_some_customer_types_is_not_charged_to_the_others() -> None:
    """Pending for municipalities, 0 (not charged, with the reason) for the others."""
    t = tariff("categories customer_type\n  KOMMUNE\n  STAT\n"
               "pending ops every year\n  for customer_type = KOMMUNE\n  note \"n\"\n")
    ev = Evaluator(t)
    assert both(ev, Customer("1", "A", {}, customer_type="KOMMUNE"), 2025).line(
        "ops").status == "pending"
    other = both(ev, Customer("1", "A", {}, customer_type="STAT"), 2025).line("ops")
    assert (other.amount, other.status, other.charged) == (0, "ok", False)
    assert other.steps[-1].text == ('not charged: pending only for customer_type = KOMMUNE; '
                                    'customer_type "STAT" = KOMMUNE: no')


# ------------------------------------------------------------------ formatter, batch, examples

NEW_FILES = ["ekommune_sunnmore", "vat_norway", "indexation", "smaller_gaps",
             "prokom_pdf_forms"]


@pytest.mark.parametrize("name", NEW_FILES)
def test_the_worked_tariffs_check_format_and_pass_their_examples(name: str) -> None:
    """Each worked tariff checks clean, is laid out canonically, and its examples pass."""
    from takst.testing.specs import run_examples

    path = EXAMPLES / f"{name}.tariff"
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text
    t = load_tariff(path)
    assert errors_of(check(t)) == []
    outcomes = run_examples(Evaluator(t))
    assert outcomes and all(o.passed for o in outcomes)


@pytest.mark.parametrize(("name", "construct"), [
    ("ekommune_sunnmore", "pool ekommune shared partly equally (a mixed key)"),
    ("vat_norway", "vat mva (VAT)"),
    ("indexation", "param kpi: a pending value in a dated series"),
    ("smaller_gaps", "param call_price: a pending value in a dated series"),
    ("prokom_pdf_forms", "vat mva (VAT)"),
])
def test_the_batch_compiler_names_the_construct_it_leaves_to_the_interpreter(
        name: str, construct: str) -> None:
    """A construct without an SQL form yet is named, never compiled to a wrong number."""
    t = load_tariff(EXAMPLES / f"{name}.tariff")
    result = compile_tariff(t, 2025)
    assert isinstance(result, Unsupported)
    assert result.construct == construct
    assert not_compiled(t) == result
    assert result.note.startswith(f"the batch engine cannot compile {construct} (")


def test_a_session_on_the_batch_engine_falls_back_with_the_note() -> None:
    """Asking for the batch engine runs the interpreter, with a note naming VAT."""
    pytest.importorskip("duckdb")
    from takst.session import Session, engine_note

    engine = Session().engine("batch", load_tariff(EXAMPLES / "vat_norway.tariff"))
    note = engine_note(engine)
    assert note is not None and "vat mva (VAT)" in note


def test_count_aggregates_are_computed_in_sql_as_the_interpreter_counts() -> None:
    """A count aggregate compiles: the batch engine bills the register as the interpreter."""
    pytest.importorskip("duckdb")
    from takst.interpreter.batch import DuckDBEngine
    from takst.interpreter.evaluator import InterpreterEngine

    t = tariff("input population: inhabitants\ninput staff: count of staff optional\n"
               "aggregate members = count of customers among population > 2_000\n"
               "aggregate counted = count of staff\n"
               "charge m every year\n  amount 100 NOK * members + 1 NOK * counted\n")
    assert not_compiled(t) is None
    batch, interp = DuckDBEngine(t, checked=True), InterpreterEngine(t, checked=True)
    assert batch.unsupported is None
    ctx_b = batch.prepare(REGISTER, 2024)
    ctx_i = interp.prepare(REGISTER, 2024)
    assert ctx_b.aggregates == ctx_i.aggregates
    amounts_b = [r.line("m").amount for r in batch.evaluate(REGISTER, 2024, ctx_b)]
    amounts_i = [r.line("m").amount for r in interp.evaluate(REGISTER, 2024, ctx_i)]
    assert amounts_b == amounts_i == [Decimal(201)] * 3


def test_a_pending_charge_right_after_a_dated_param_is_a_charge() -> None:
    """`not decided from` (not `pending from`) keeps `pending` free to start the next line."""
    t = tariff("param p =\n  1 NOK from 2024-01-01\n  not decided from 2026-01-01\n"
               "pending ops every year\n  note \"n\"\n")
    assert [c.name for c in t.charges] == ["ops"] and t.charges[0].pending
    assert t.params[0].dated[1].pending


def test_a_vat_rate_that_needs_a_missing_value_leaves_the_vat_unknown() -> None:
    """A rate by an optional yes/no not given: the amount is known, its VAT is not."""
    t = tariff("input abroad: yes/no optional\nvat mva = by abroad\n    yes 0 %\n    no 25 %\n"
               "  round to øre half up\ncharge c every year\n  amount 100 NOK\n")
    ev = Evaluator(t)
    line = both(ev, Customer("1", "A", {}), 2025).line("c")
    assert (line.amount, line.status, line.vat) == (Decimal(100), "ok", None)
    assert line.steps[-1].text == "the VAT is not known yet: abroad is not given for this customer"
    assert both(ev, Customer("1", "A", {"abroad": False}), 2025).line("c").vat == Decimal(25)
