"""Register-wide values (interpreter/prepare.py) and the tracer (interpreter/trace.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

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
