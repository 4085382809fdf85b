"""The compiled untraced path gives exactly the reference interpreter's amounts.

``Evaluator.evaluate(..., trace=False)`` runs the tariff compiled into closures
(interpreter/compiled.py); the tracing interpreter is the reference. Every example
block of rules/, stdlib/, docs/examples/ and the golden cases, and many drawn
customers, go through both: every line (amount with its exact digits, status,
charged), the inputs and any error must be the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import DATA, ROOT, RULES, STDLIB

from takst.dsl import ast
from takst.dsl.check import check, errors_of
from takst.dsl.errors import TariffError
from takst.dsl.loader import load_tariff
from takst.dsl.parser import parse
from takst.interpreter import compiled, evaluator
from takst.interpreter.evaluator import Evaluator
from takst.interpreter.model import Context, Customer, CustomerResult
from takst.io.register import load_register
from takst.testing.properties import _Strategies
from takst.testing.specs import _settings, example_customer

TARIFFS = sorted(
    [*RULES.glob("*.tariff"), *STDLIB.glob("*.tariff"), *(ROOT / "docs" / "examples").glob(
        "*.tariff"), *(ROOT / "tests" / "cases").glob("*.tariff")]
)


def _evaluator(path: Path) -> Evaluator | None:
    """The tariff's evaluator, or None when it does not load and check (a golden error case)."""
    try:
        tariff = load_tariff(path)
    except TariffError:
        return None
    if errors_of(check(tariff)):
        return None
    return Evaluator(tariff, checked=True)


EVALUATORS = {p: ev for p in TARIFFS if (ev := _evaluator(p)) is not None}


def outcome(run: Callable[[], CustomerResult]) -> Any:
    """What must agree: the result without its trace, or the error's diagnostics."""
    try:
        r = run()
    except TariffError as err:
        return ("error", type(err).__name__, err.diagnostics)
    lines = [(ln.charge, ln.label, ln.amount, str(ln.amount), ln.status, ln.charged, ln.span)
             for ln in r.lines]
    return (r.id, r.name, r.origin, r.inputs, lines)


def both(ev: Evaluator, customer: Customer, year: int, ctx: Context) -> tuple[Any, Any, Any]:
    fast = outcome(lambda: ev.evaluate(customer, year, trace=False, context=ctx))
    slow = outcome(lambda: ev.reference(customer, year, trace=False, context=ctx))
    traced = outcome(lambda: ev.reference(customer, year, trace=True, context=ctx))
    return fast, slow, traced


def test_there_are_tariffs_to_compare() -> None:
    """The corpus holds the seed tariffs and examples (a wrong path would test nothing)."""
    names = {p.name for p in EVALUATORS}
    assert {"os2valghalla.tariff", "ks_dif_2025.tariff", "serviceplatformen_pool.tariff"} <= names
    assert sum(len(ev.tariff.examples) for ev in EVALUATORS.values()) >= 40


@pytest.mark.parametrize("path", list(EVALUATORS), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_block_gives_the_same_amounts(path: Path) -> None:
    """Each example block's customers (or register) get the same lines on both paths."""
    ev = EVALUATORS[path]
    tariff = ev.tariff
    for example in tariff.examples:
        given_settings = _settings(example, tariff)
        if example.register is not None:
            register = Path(tariff.file).parent / example.register
            customers = load_register(register, {i.name: i for i in tariff.inputs})
            ctx = ev.prepare(customers, example.year, given_settings, register=str(register))
        else:
            customers = [example_customer(example, tariff)]
            ctx = Context(settings=given_settings)
        for customer in customers:
            fast, slow, traced = both(ev, customer, example.year, ctx)
            assert fast == slow, example.title
            assert fast == traced, example.title


@pytest.mark.parametrize("name", ["os2valghalla.tariff", "ks_dif_2025.tariff"])
def test_the_seed_examples_take_the_compiled_road(name: str) -> None:
    """On the seed tariffs no example line falls back to the reference (the speed claim)."""
    ev = Evaluator(load_tariff(RULES / name))
    assert ev.compiled is not None
    assert all(fn is not None for _, fn in ev.compiled.charges)
    for example in ev.tariff.examples:
        customer = example_customer(example, ev.tariff)
        ev.evaluate(customer, example.year, trace=False,
                    context=Context(settings=_settings(example, ev.tariff)))
    assert ev.compiled.gave_up == 0


def test_a_whole_register_gives_the_same_amounts() -> None:
    """KS DIF over the Norwegian register: aggregates prepared, every customer equal."""
    ev = EVALUATORS[RULES / "ks_dif_2025.tariff"]
    customers = load_register(DATA / "norway_2024.csv", {i.name: i for i in ev.tariff.inputs})
    ctx = ev.prepare(customers, 2025, {})
    for customer in customers:
        fast, slow, traced = both(ev, customer, 2025, ctx)
        assert fast == slow == traced


@pytest.mark.parametrize("path", [p for p, ev in EVALUATORS.items() if ev.tariff.charges],
                         ids=lambda p: str(p.relative_to(ROOT)))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_drawn_customers_give_the_same_amounts(path: Path, data: st.DataObject) -> None:
    """Customers drawn near every band bound, with optional inputs left out, agree."""
    ev = EVALUATORS[path]
    drawn = data.draw(_Strategies(ev).draw())
    fast, slow, traced = both(ev, drawn.customer, drawn.year, Context(settings=drawn.shared))
    assert fast == slow
    assert fast == traced


HEADER = """tariff t "T"
  currency DKK
input population "P": inhabitants
input n "N": number
input joined "J": date optional
input member "M": yes/no optional
"""


@pytest.mark.parametrize("body, values", [
    ("charge c \"C\" every year\n  amount 100 DKK / n\n",
     {"population": Decimal(0), "n": Decimal(0)}),  # division by zero: the reference's error
    ("charge c \"C\" every year\n  amount 100 DKK / n\n",
     {"population": Decimal(3), "n": Decimal(3)}),  # no exact decimal: the reference's error
    ("charge c \"C\" every year from joined\n  amount 100 DKK\n",
     {"population": Decimal(3)}),  # anchor not given: pending
    ("charge c \"C\" every year\n  amount 100 DKK\n  prorate by months from joined\n"
     "  round to kroner half up\n", {"population": Decimal(3), "joined": dt.date(2024, 5, 2)}),
    ("charge c \"C\" every year\n  amount 100 DKK\n  prorate by days from joined\n"
     "  round to øre half even\n", {"population": Decimal(3), "joined": dt.date(2024, 5, 2)}),
    ("charge c \"C\" every year\n  amount 100 DKK\n  except member -> 50 DKK\n",
     {"population": Decimal(3)}),  # a condition's value not given: pending
])
def test_the_uncommon_roads_agree(body: str, values: dict[str, Any]) -> None:
    """Errors, pending lines and prorations by period come out the same on both paths."""
    tariff = parse(HEADER + body, "t.tariff")
    ev = Evaluator(tariff)
    customer = Customer("1", "A", {"n": Decimal(1), **values})
    fast, slow, traced = both(ev, customer, 2024, Context())
    assert fast == slow == traced


def test_every_node_type_has_a_handler() -> None:
    """The dispatch tables of both paths cover every expression and condition class."""
    exprs = set(ast.Expr.__subclasses__())
    conds = set(ast.Cond.__subclasses__())
    assert set(evaluator._EXPR) == exprs
    assert set(compiled._EXPR) == exprs
    assert set(evaluator._COND) == conds
    assert set(compiled._COND) == conds


def test_a_value_first_needed_inside_a_formula_sees_its_arguments() -> None:
    """As in the reference, a param first evaluated inside a call reads the call's binding."""
    tariff = parse('tariff t "T"\n  currency DKK\ninput n "N": number\nparam k "K" = n\n'
                   "formula g(n) = k + n\n"
                   'charge c "C" every year\n  amount g(5) * 1 DKK + k * 1 DKK\n', "t.tariff")
    ev = Evaluator(tariff)
    customer = Customer("1", "A", {"n": Decimal(1)})
    fast, slow, traced = both(ev, customer, 2024, Context())
    assert fast == slow == traced
    assert ev.evaluate(customer, 2024, trace=False).lines[0].amount == Decimal(15)
