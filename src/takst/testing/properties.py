"""Declared properties: searching for counterexamples with Hypothesis.

A tariff states invariants (``property NAME: annual_fee never decreases as
population grows``). :func:`check_properties` draws customers from the input
types the tariff declares — values on and next to every band and slice bound,
the names in its lists, its categories, its billing years — and looks for one
that breaks the rule. A counterexample comes back as ``example`` blocks ready to
paste into the tariff (with the amounts takst computes now, for the author to
correct). The search is deterministic (same tariff, same cases), so CI is stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from takst.dsl import ast
from takst.dsl.errors import TariffError, render
from takst.dsl.numbers import literal, money_group
from takst.dsl.symbols import Symbols
from takst.interpreter.evaluator import Context, Customer, Evaluator
from takst.interpreter.model import Value
from takst.testing import DEFAULT_CASES


@attrs.frozen
class PropertyOutcome:
    prop: ast.PropertyDecl
    passed: bool
    message: str
    #: Example blocks showing the counterexample, ready to paste (empty when passed).
    counterexample: str = ""


@attrs.frozen
class Draw:
    """One drawn case: a customer, its billing year, and register-wide values."""

    customer: Customer
    year: int
    shared: dict[str, Value]


# ------------------------------------------------------------------ strategies


def _bounds_of(tariff: ast.Tariff, name: str) -> list[Decimal]:
    """Every band and slice bound over ``name``, and the values next to them."""
    out: set[Decimal] = set()
    decls: tuple[ast.BandsDecl | ast.SlicesDecl, ...] = (*tariff.bands, *tariff.slices)
    for decl in decls:
        if decl.subject.name != name:
            continue
        items = decl.bands if isinstance(decl, ast.BandsDecl) else decl.slices
        for band in items:
            for bound in (band.lower, band.upper):
                if bound is not None:
                    out.update(v for v in (bound.value - 1, bound.value, bound.value + 1) if v >= 0)
    return sorted(out)


def _years(tariff: ast.Tariff) -> tuple[int, int]:
    years = [e.year for e in tariff.examples]
    years += [d.start.year for p in tariff.params for d in p.dated]
    if not years:
        return 2020, 2030
    return min(years), max(years) + 1


class _Strategies:
    def __init__(self, evaluator: Evaluator) -> None:
        from hypothesis import strategies as st

        self.st = st
        self.ev = evaluator
        self.t = evaluator.tariff
        self.sym = Symbols(self.t)

    def value(self, decl: ast.InputDecl) -> Any:
        st = self.st
        kind = decl.type.kind
        if kind in ("inhabitants", "count"):
            bounds = [int(b) for b in _bounds_of(self.t, decl.name)]
            whole = st.integers(min_value=0, max_value=2_000_000)
            if bounds:
                whole = st.one_of(st.sampled_from(bounds), whole)
            return whole.map(Decimal)
        if kind in ("number", "money"):
            base = st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))
            near = _bounds_of(self.t, decl.name)
            return st.one_of(st.sampled_from(near), base) if near else base
        if kind == "yes/no":
            return st.booleans()
        if kind == "date":
            lo, hi = _years(self.t)
            return st.dates(min_value=dt.date(lo - 2, 1, 1), max_value=dt.date(hi + 1, 12, 31))
        cats = self.sym.categories.get(decl.name)
        if cats is not None:
            return st.sampled_from([c.name for c in cats.items])
        return st.sampled_from(self.names())

    def names(self) -> list[str]:
        names = sorted({i.value for lst in self.t.lists for i in lst.items})
        return [*names, "Testby"]

    def draw(self) -> Any:
        st = self.st
        inputs = [i for i in self.t.inputs]
        lo, hi = _years(self.t)
        cats = self.sym.categories.get("customer_type")
        types = [c.name for c in cats.items] if cats is not None else [""]

        @st.composite  # type: ignore[untyped-decorator]  # hypothesis is imported lazily, as Any
        def build(draw: Callable[[Any], Any]) -> Draw:
            values: dict[str, Value] = {}
            for decl in inputs:
                value = draw(self.value(decl))
                if decl.optional and draw(st.booleans()):
                    continue
                values[decl.name] = value
            customer = Customer(
                id="x", name=draw(st.sampled_from(self.names())),
                values=values, customer_type=draw(st.sampled_from(types)),
                origin="a drawn customer",
            )
            shared: dict[str, Value] = {}
            for s in self.t.settings:
                decl = ast.InputDecl(s.name, s.label, s.type, span=s.span)
                shared[s.name] = draw(self.value(decl))
            for agg in self.t.aggregates:
                own = values.get(agg.of.name, Decimal(0))
                assert isinstance(own, Decimal)
                # often a customer near the top of the register (where size adjustments bite)
                near = max(int(own) // 4, 1)
                extra = Decimal(draw(st.one_of(st.integers(min_value=0, max_value=near),
                                               st.integers(min_value=0, max_value=2_000_000))))
                # as a real register has them: a max or sum is at least the customer's own
                # value, and at least 1 (a register of empty municipalities is not drawn)
                shared[agg.name] = max(own + extra, Decimal(1)) if agg.kind in ("max", "sum") \
                    else max(own - extra, Decimal(0))
            return Draw(customer, draw(st.integers(min_value=lo, max_value=hi)), shared)

        return build()


# ------------------------------------------------------------------ checking


def _amount(ev: Evaluator, d: Draw, charge: str) -> Decimal | None:
    result = ev.evaluate(d.customer, d.year, trace=False, context=Context(settings=d.shared))
    return result.line(charge).amount


def _grown(d: Draw, prop: ast.PropertyDecl, tariff: ast.Tariff, delta: Decimal) -> Draw:
    """The same case with the property's input larger by ``delta`` (a larger customer in
    the same register: a `max` aggregate over that input grows with it if passed)."""
    assert prop.input is not None
    name = prop.input.name
    old = d.customer.values.get(name, Decimal(0))
    assert isinstance(old, Decimal)
    new = old + delta
    values = {**d.customer.values, name: new}
    shared = dict(d.shared)
    for agg in tariff.aggregates:
        if agg.of.name == name:
            current = shared[agg.name]
            assert isinstance(current, Decimal)
            if agg.kind == "max":
                shared[agg.name] = max(current, new)
            elif agg.kind == "sum":
                shared[agg.name] = current + delta
    return attrs.evolve(d, customer=attrs.evolve(d.customer, values=values), shared=shared)


def _given_text(d: Draw, tariff: ast.Tariff) -> str:
    parts = [f'name "{d.customer.name}"']
    if d.customer.customer_type:
        parts.append(f'customer_type "{d.customer.customer_type}"')
    for decl in tariff.inputs:
        if decl.name in d.customer.values:
            parts.append(f"{decl.name} {_value_literal(d.customer.values[decl.name])}")
    for name, value in d.shared.items():
        parts.append(f"{name} {_value_literal(value)}")
    return ", ".join(parts)


def _value_literal(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return literal(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return f'"{value}"'


def _example_block(title: str, d: Draw, tariff: ast.Tariff, charge: str,
                   amount: Decimal | None) -> str:
    expect = "pending" if amount is None else literal(amount)
    return (f'example "{title}"\n  given {_given_text(d, tariff)}\n'
            f"  billing year {d.year}\n  expect {charge} {expect}\n")


def check_properties(evaluator: Evaluator, *, cases: int = DEFAULT_CASES) -> list[PropertyOutcome]:
    """Search for a counterexample to each declared property of the evaluator's tariff."""
    return [check_property(evaluator, p, cases=cases) for p in evaluator.tariff.properties]


def _settings(cases: int) -> Any:
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=cases,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )


def check_property(evaluator: Evaluator, prop: ast.PropertyDecl, *,
                   cases: int = DEFAULT_CASES) -> PropertyOutcome:
    try:
        from hypothesis import find
        from hypothesis import strategies as st
        from hypothesis.errors import NoSuchExample
    except ImportError:  # pragma: no cover - hypothesis is in takst[test]
        return PropertyOutcome(prop, False, "checking properties needs Hypothesis: "
                               "pip install 'takst[test]'")
    tariff = evaluator.tariff
    strategies = _Strategies(evaluator)
    base = strategies.draw()
    label = f' "{prop.label}"' if prop.label else ""
    what = f"property {prop.name}{label}"

    def safe(fn: Callable[..., bool]) -> Callable[..., bool]:
        def wrapped(*args: Any) -> bool:
            try:
                return fn(*args)
            except TariffError:
                return True  # an evaluation error is a counterexample too
        return wrapped

    try:
        if prop.kind in ("non_decreasing", "non_increasing"):
            assert prop.input is not None
            inp = strategies.sym.input(prop.input.name)
            whole = inp is not None and inp.type.kind in ("inhabitants", "count")
            deltas = (st.integers(min_value=1, max_value=2_000_000).map(Decimal) if whole else
                      st.integers(min_value=1, max_value=10**8).map(lambda n: Decimal(n).scaleb(-2)))
            charge = prop.subject.name

            @safe
            def broken(pair: tuple[Draw, Decimal]) -> bool:
                d, delta = pair
                if prop.input is None or prop.input.name not in d.customer.values:
                    return False
                a1 = _amount(evaluator, d, charge)
                a2 = _amount(evaluator, _grown(d, prop, tariff, delta), charge)
                if a1 is None or a2 is None:
                    return False
                return a2 < a1 if prop.kind == "non_decreasing" else a2 > a1

            d, delta = find(st.tuples(base, deltas), broken, settings=_settings(cases))
            return _monotone_failure(evaluator, prop, what, d, delta)
        if prop.kind == "bounded":
            charge = prop.subject.name

            @safe
            def out_of_bounds(d: Draw) -> bool:
                a = _amount(evaluator, d, charge)
                assert prop.low is not None and prop.high is not None
                return a is not None and not prop.low <= a <= prop.high

            d = find(base, out_of_bounds, settings=_settings(cases))
            return _single_failure(evaluator, prop, what, d, "is outside "
                                   f"{literal(prop.low or Decimal(0))} to "
                                   f"{literal(prop.high or Decimal(0))}")
        if prop.kind == "exceptions_lower":
            charge = prop.subject.name
            plain_tariff = _without_exceptions(tariff, charge)
            plain_ev = Evaluator(plain_tariff, checked=True)

            @safe
            def raised(d: Draw) -> bool:
                a = _amount(evaluator, d, charge)
                b = _amount(plain_ev, d, charge)
                return a is not None and b is not None and a > b

            d = find(base, raised, settings=_settings(cases))
            without = _amount(plain_ev, d, charge)
            return _single_failure(evaluator, prop, what, d,
                                   f"is above {money_group(without or Decimal(0))}, its amount "
                                   "without exceptions")
        assert prop.kind == "pool_adds_up"
        return _check_pool(evaluator, prop, what, strategies, cases)
    except NoSuchExample:
        return PropertyOutcome(prop, True, f"{what}: ok (no counterexample in {cases} cases)")


def _without_exceptions(tariff: ast.Tariff, charge: str) -> ast.Tariff:
    charges = tuple(attrs.evolve(c, exceptions=()) if c.name == charge else c
                    for c in tariff.charges)
    return tariff.replace(charges=charges)


def _describe_error(evaluator: Evaluator, d: Draw, charge: str) -> str | None:
    try:
        _amount(evaluator, d, charge)
    except TariffError as err:
        return "\n".join(render(x) for x in err.diagnostics)
    return None


def _monotone_failure(evaluator: Evaluator, prop: ast.PropertyDecl, what: str, d: Draw,
                      delta: Decimal) -> PropertyOutcome:
    tariff = evaluator.tariff
    charge = prop.subject.name
    assert prop.input is not None
    bigger = _grown(d, prop, tariff, delta)
    for case in (d, bigger):
        error = _describe_error(evaluator, case, charge)
        if error is not None:
            return PropertyOutcome(prop, False, f"{what} fails: evaluation stops with an error:\n"
                                   f"{error}", _example_block(f"{prop.name}: evaluation error",
                                                              case, tariff, charge, None))
    a1, a2 = _amount(evaluator, d, charge), _amount(evaluator, bigger, charge)
    v1, v2 = d.customer.values[prop.input.name], bigger.customer.values[prop.input.name]
    assert isinstance(v1, Decimal) and isinstance(v2, Decimal)
    verb = "less" if prop.kind == "non_decreasing" else "more"
    message = (f"{what} fails: with {prop.input.name} {literal(v2)} {charge} is "
               f"{money_group(a2 or Decimal(0))}, {verb} than {money_group(a1 or Decimal(0))} "
               f"with {prop.input.name} {literal(v1)}")
    blocks = "\n".join([
        _example_block(f"{prop.name}: {prop.input.name} {literal(v1)}", d, tariff, charge, a1),
        _example_block(f"{prop.name}: {prop.input.name} {literal(v2)}", bigger, tariff, charge,
                       a2),
    ])
    return PropertyOutcome(prop, False, message, blocks)


def _single_failure(evaluator: Evaluator, prop: ast.PropertyDecl, what: str, d: Draw,
                    why: str) -> PropertyOutcome:
    charge = prop.subject.name
    error = _describe_error(evaluator, d, charge)
    if error is not None:
        return PropertyOutcome(prop, False, f"{what} fails: evaluation stops with an error:\n"
                               f"{error}", _example_block(f"{prop.name}: evaluation error", d,
                                                          evaluator.tariff, charge, None))
    amount = _amount(evaluator, d, charge)
    message = f"{what} fails: {charge} {money_group(amount or Decimal(0))} {why}"
    return PropertyOutcome(prop, False, message, _example_block(
        f"{prop.name}: counterexample", d, evaluator.tariff, charge, amount))


def _check_pool(evaluator: Evaluator, prop: ast.PropertyDecl, what: str,
                strategies: _Strategies, cases: int) -> PropertyOutcome:
    from hypothesis import find
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    tariff = evaluator.tariff
    pool = strategies.sym.pool(prop.subject.name)
    assert pool is not None
    base = strategies.draw()
    registers = st.lists(base, min_size=1, max_size=40)

    def broken(draws: list[Draw]) -> bool:
        customers = [attrs.evolve(d.customer, id=str(i), name=f"Kunde {i}")
                     for i, d in enumerate(draws)]
        settings = {k: v for k, v in draws[0].shared.items()
                    if strategies.sym.setting(k) is not None}
        try:
            ctx = evaluator.prepare(customers, draws[0].year, settings)
        except TariffError:
            return False  # e.g. nobody to share with, or a total not in whole øre
        shares = ctx.pools[pool.name]
        return sum(r for _, r in shares.shares.values()) != shares.total

    try:
        draws = find(registers, broken, settings=_settings(cases))
    except NoSuchExample:
        return PropertyOutcome(prop, True, f"{what}: ok (no counterexample in {cases} registers)")
    return PropertyOutcome(prop, False, f"{what} fails for a register of {len(draws)} customers",
                           "\n".join(_given_text(d, tariff) for d in draws))


__all__ = ["DEFAULT_CASES", "PropertyOutcome", "check_properties", "check_property"]
