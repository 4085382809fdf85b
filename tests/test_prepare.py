"""Register-wide values (interpreter/prepare.py) and the tracer (interpreter/trace.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA, RULES

from takst.dsl.errors import EvaluationError, RegisterError
from takst.dsl.loader import load_tariff
from takst.dsl.parser import parse
from takst.interpreter.evaluator import Evaluator, InterpreterEngine
from takst.interpreter.model import Customer
from takst.interpreter.trace import NULL, STEP_KINDS, Step, StepKind, Tracer
from takst.io.register import load_register


class Once:
    """An iterable that can be read only once (as a register streamed from a file)."""

    def __init__(self, customers: list[Customer]) -> None:
        self.customers = customers
        self.read = False

    def __iter__(self) -> Iterator[Customer]:
        assert not self.read, "read twice"
        self.read = True
        return iter(self.customers)


def _ks() -> tuple[Evaluator, list[Customer]]:
    tariff = load_tariff(RULES / "ks_dif_2025.tariff")
    customers = load_register(DATA / "norway_2024.csv", {i.name: i for i in tariff.inputs})
    return Evaluator(tariff), customers


def test_prepare_reads_the_customers_once() -> None:
    """Aggregates come from one pass over an iterable that cannot be read twice."""
    ev, customers = _ks()
    ctx = ev.prepare(Once(customers), 2025, {})
    assert ctx.aggregates["largest_municipality"][0] == 717_710
    assert ctx.aggregates == ev.prepare(customers, 2025, {}).aggregates


def test_the_engine_prepares_from_a_generator() -> None:
    """InterpreterEngine.prepare takes a generator and gives the evaluator's values."""
    ev, customers = _ks()
    engine = InterpreterEngine(ev.tariff)
    ctx = engine.prepare((c for c in customers), 2025)
    assert ctx == ev.prepare(customers, 2025, {})
    assert ctx.aggregates["largest_municipality"][1] == (
        "max of population among customer_type = KOMMUNE: 0301 Oslo, of 357 customers of "
        "the register")


def test_pools_from_one_pass_keep_the_largest_remainder_shares() -> None:
    """A pool's shares from a read-once register add up to the total, to the øre."""
    tariff = load_tariff(RULES / "serviceplatformen_pool.tariff")
    ev = Evaluator(tariff)
    customers = load_register(DATA / "denmark_municipalities_2023.csv",
                              {i.name: i for i in tariff.inputs})
    settings = {"expected_cost": Decimal("10000000"), "true_up": Decimal("0")}
    ctx = ev.prepare(Once(customers), 2020, settings)
    pool = ctx.pools["buffet_pool"]
    assert pool.members == len(customers)
    assert sum(rounded for _, rounded in pool.shares.values()) == 10_000_000
    assert all(abs(rounded - exact) < Decimal("0.01") for exact, rounded in pool.shares.values())


HEADER = '''tariff t "T"
  currency DKK
categories customer_type "Type"
  KOMMUNE "Kommune"
input population "P": inhabitants optional
aggregate largest "L" = max of population among customer_type = KOMMUNE
charge c "C" every year
  amount 1 DKK
'''


def test_every_customer_problem_is_listed_before_any_aggregate_problem() -> None:
    """Two customers with unknown types are both reported, though no aggregate can be made."""
    ev = Evaluator(parse(HEADER, "t.tariff"))
    customers = [Customer("1", "A", {}, "SKOLE", origin="row 2"),
                 Customer("2", "B", {}, "FIRMA", origin="row 3")]
    with pytest.raises(RegisterError) as err:
        ev.prepare(Once(customers), 2024)
    assert [d.where for d in err.value.diagnostics] == ["row 2, column customer_type",
                                                         "row 3, column customer_type"]


def test_an_aggregate_without_values_says_so() -> None:
    """Members without the aggregated value: the error names the aggregate and the column."""
    ev = Evaluator(parse(HEADER, "t.tariff"))
    with pytest.raises(EvaluationError) as err:
        ev.prepare(Once([Customer("1", "A", {}, "KOMMUNE")]), 2024)
    assert err.value.diagnostics[0].message == (
        "aggregate largest: no customer of the register has a value for population")


def test_max_keeps_the_first_of_equals() -> None:
    """Of two customers with the same largest value, the first in the register is named."""
    ev = Evaluator(parse(HEADER, "t.tariff"))
    customers = [Customer("1", "A", {"population": Decimal(5)}, "KOMMUNE"),
                 Customer("2", "B", {"population": Decimal(9)}, "KOMMUNE"),
                 Customer("3", "C", {"population": Decimal(9)}, "KOMMUNE")]
    value, how = ev.prepare(Once(customers), 2024).aggregates["largest"]
    assert value == 9
    assert "2 B, of 3 customers" in how


def test_step_kinds_are_checked_when_a_step_is_made() -> None:
    """A step of a kind the StepKind type does not list is refused at run time."""
    with pytest.raises(ValueError, match="kind"):
        Step("bogus", "text")  # type: ignore[arg-type]
    assert set(STEP_KINDS) == set(StepKind.__args__)  # type: ignore[attr-defined]


def test_every_kind_the_interpreter_emits_is_listed() -> None:
    """Traces of every seed example use only listed kinds, and use the once-missing ones."""
    seen: set[str] = set()
    for path in sorted(RULES.glob("*.tariff")):
        ev = Evaluator(load_tariff(path))
        from takst.testing.specs import run_example

        for example in ev.tariff.examples:
            outcome = run_example(ev, example)
            if outcome.result is not None:
                seen.update(s.kind for ln in outcome.result.lines for s in ln.steps)
    assert seen <= set(STEP_KINDS)
    assert {"case", "call", "pool"} <= seen


def test_the_null_tracer_records_nothing() -> None:
    """NULL is false and keeps no step; a Tracer keeps them in order."""
    NULL.add("calc", "1 + 1 = 2")
    assert not NULL and NULL.result() == ()
    tracer = Tracer()
    tracer.add("calc", "1 + 1 = 2", value="2")
    tracer.add("result", "amount = 2.00")
    assert tracer and [s.kind for s in tracer.result()] == ["calc", "result"]


# ------------------------------------------------------------------ aggregates only when needed


def municipalities_only(tmp_path: Path) -> Path:
    """The Norwegian register without its counties: largest_county has no customer."""
    lines = (DATA / "norway_2024.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "kommuner.csv"
    path.write_text("\n".join(ln for ln in lines if ",FYLKESKOMMUNE," not in ln) + "\n",
                    encoding="utf-8")
    return path


def test_an_aggregate_no_customer_qualifies_for_does_not_stop_the_register(
        tmp_path: Path) -> None:
    """KS DIF over municipalities only: no amount needs largest_county, so every one is
    billed, on the traced and the compiled path alike, as over the whole register."""
    tariff = load_tariff(RULES / "ks_dif_2025.tariff")
    path = municipalities_only(tmp_path)
    customers = load_register(path, {i.name: i for i in tariff.inputs})
    assert customers and all(c.customer_type != "FYLKESKOMMUNE" for c in customers)
    ev = Evaluator(tariff)
    ctx = ev.prepare(Once(customers), 2025, register=str(path))
    assert "largest_county" not in ctx.aggregates
    assert ctx.empty == {"largest_county": f"no customer of {path} qualifies"}
    assert ctx.aggregates["largest_municipality"][0] == 717_710
    traced = [ev.evaluate(c, 2025, trace=True, context=ctx) for c in customers]
    fast = [ev.evaluate(c, 2025, trace=False, context=ctx) for c in customers]
    assert [[(ln.amount, ln.status) for ln in r.lines] for r in traced] == [
        [(ln.amount, ln.status) for ln in r.lines] for r in fast]
    everyone = load_register(DATA / "norway_2024.csv", {i.name: i for i in tariff.inputs})
    whole = ev.prepare(everyone, 2025)
    lillestrom = next(c for c in customers if c.id == "3205")
    assert [(ln.amount, ln.status) for ln in ev.evaluate(lillestrom, 2025, context=ctx).lines] \
        == [(ln.amount, ln.status) for ln in ev.evaluate(lillestrom, 2025, context=whole).lines]


NEEDS = '''tariff t "T"
  currency NOK
  source "test"
categories customer_type "Type"
  KOMMUNE "Kommune"
  FYLKESKOMMUNE "Fylkeskommune"
  STATLIG_VIRKSOMHET "Statlig"
input population "P": inhabitants
aggregate largest_county "L" = max of population among customer_type = FYLKESKOMMUNE
charge fee "Fee" every year
  by customer_type
    KOMMUNE  1_000 NOK
    others   100_000 NOK * population / largest_county
  round to kroner half up
'''


@pytest.mark.parametrize("trace", [True, False])
def test_an_empty_aggregate_is_an_error_of_the_customer_that_needs_it(trace: bool) -> None:
    """The first customer whose amount needs the empty aggregate stops the run, with a
    message naming it and the aggregate, at the place that needs it; the customers before
    it are billed."""
    ev = Evaluator(parse(NEEDS, "t.tariff"))
    customers = [Customer("1", "Alpha", {"population": Decimal(10)}, "KOMMUNE"),
                 Customer("2", "Beta", {"population": Decimal(20)}, "STATLIG_VIRKSOMHET")]
    ctx = ev.prepare(Once(customers), 2025, register="R.csv")
    assert ev.evaluate(customers[0], 2025, trace=trace, context=ctx).total == 1_000
    with pytest.raises(EvaluationError) as err:
        ev.evaluate(customers[1], 2025, trace=trace, context=ctx)
    (d,) = err.value.diagnostics
    assert d.message == ("the amount for Beta needs aggregate largest_county, but no customer "
                         "of R.csv qualifies")
    assert d.span is not None and (d.span.line, d.span.column) == (13, 41)
    assert [(text, s.line) for text, s in d.related] == [("the aggregate is declared here", 9)]
    assert d.hint == ("check the aggregate's `among` condition "
                      "(customer_type = FYLKESKOMMUNE) and the register")


def test_a_pool_that_needs_an_empty_aggregate_is_an_error_of_the_register() -> None:
    """A pool is shared over the whole register: one whose total needs an empty aggregate
    cannot be, and prepare says so."""
    ev = Evaluator(parse(NEEDS.replace("charge fee", (
        "pool part \"S\" = 2 NOK per inhabitant * largest_county\n  shared by population\n"
        "charge share \"Share\" every year\n  amount part\n"
        "charge fee")), "t.tariff"))
    customers = [Customer("1", "Alpha", {"population": Decimal(10)}, "KOMMUNE")]
    with pytest.raises(EvaluationError) as err:
        ev.prepare(Once(customers), 2025, register="R.csv")
    assert err.value.diagnostics[0].message == (
        "pool part needs aggregate largest_county, but no customer of R.csv qualifies")
