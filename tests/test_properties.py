"""Properties that must hold for every customer, searched with Hypothesis."""

from __future__ import annotations

import ast as pyast
import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from paths import ROOT
from strategies import any_population, kongsberg_customers, os2_customers, years

from takst.interpreter.evaluator import Customer, Evaluator, round_fraction
from takst.interpreter.model import ChargeLine
from takst.interpreter.trace import Step

SETTINGS = settings(max_examples=300, deadline=None)


def _all_steps(line: ChargeLine) -> list[Step]:
    return list(line.steps)


@SETTINGS
@given(c=os2_customers(), year=years)
def test_evaluation_never_uses_float(os2_eval: Evaluator, c: Customer, year: int) -> None:
    """Every amount and every number in the trace is an exact decimal, never a float."""
    result = os2_eval.evaluate(c, year)
    for line in result.lines:
        assert line.amount is None or type(line.amount) is Decimal
        for step in line.steps:
            for _key, value in step.detail:
                assert isinstance(value, str)
                if value and value[0].isdigit():
                    assert "e" not in value.lower(), value  # no exponent, no float repr
    assert type(result.total) is Decimal


def test_no_float_in_the_source() -> None:
    """No float literal or float() call appears in the parser, checker or interpreter.

    A line may opt out with a ``# float-ok: reason`` comment when the float is not a
    number of the tariff (the checker's did-you-mean likeness threshold is one).
    """
    offenders = []
    for folder in ("dsl", "interpreter"):
        for path in sorted((ROOT / folder).glob("*.py")):
            source = path.read_text(encoding="utf-8")
            allowed = {i for i, ln in enumerate(source.splitlines(), 1) if "# float-ok:" in ln}
            tree = pyast.parse(source)
            for node in pyast.walk(tree):
                if getattr(node, "lineno", 0) in allowed:
                    continue
                if isinstance(node, pyast.Constant) and isinstance(node.value, float):
                    offenders.append(f"{path.name}:{node.lineno} float literal")
                if isinstance(node, pyast.Call) and getattr(node.func, "id", None) == "float":
                    offenders.append(f"{path.name}:{node.lineno} float()")
    assert offenders == []


@SETTINGS
@given(a=any_population, b=any_population, member=st.booleans(), year=years)
def test_os2_annual_fee_is_non_decreasing_in_population(
    os2_eval: Evaluator, a: Decimal, b: Decimal, member: bool, year: int
) -> None:
    """Within one membership, a larger municipality never pays a lower annual fee."""
    small, large = sorted((a, b))
    joined = dt.date(2022, 6, 1)

    def fee(pop: Decimal) -> Decimal | None:
        c = Customer(id="x", name="Vejle",
                     values={"population": pop, "os2_member": member, "joined": joined})
        return os2_eval.evaluate(c, year, trace=False).line("annual_fee").amount

    fee_small, fee_large = fee(small), fee(large)
    assert fee_small is not None and fee_large is not None
    assert fee_small <= fee_large


def exact(text: str | None) -> Fraction:
    """Read an exact value from a trace: ``47584.5`` or ``94201/717710``."""
    assert text is not None
    if "/" in text:
        num, den = text.split("/")
        return Fraction(int(num), int(den))
    return Fraction(Decimal(text))


def rederive(line: ChargeLine) -> Decimal | None:
    """Recompute a line's amount from its trace alone, checking each calculation shown."""
    amount: Fraction | None = None
    slices: list[Fraction] = []
    for step in line.steps:
        if step.kind in ("frequency", "case") and step.applied is False:
            return Decimal(0)
        if step.kind == "pending":
            return None
        if step.kind == "cell":
            amount = exact(step.value)
        elif step.kind == "calc":
            left, right = exact(step.get("left")), exact(step.get("right"))
            op = step.get("op")
            result = {"+": left + right, "-": left - right, "*": left * right}.get(
                op or "", left / right if right else None
            )
            assert result == exact(step.get("result")), step.text
            amount = result
        elif step.kind == "slice":
            result = exact(step.get("units")) * exact(step.get("rate"))
            assert result == exact(step.get("result")), step.text
            slices.append(result)
        elif step.kind == "sum":
            assert sum(slices, Fraction(0)) == exact(step.value)
            amount = exact(step.value)
        elif step.kind in ("call", "pool") or (step.kind == "exception" and step.applied):
            amount = exact(step.value)
        elif step.kind == "prorate" and step.applied:
            assert amount is not None
            assert exact(step.get("left")) == amount
            amount = amount * exact(step.get("numerator")) / exact(step.get("denominator"))
            assert amount == exact(step.get("result"))
        elif step.kind == "round":
            assert amount is not None
            rounded = round_fraction(amount, Decimal(step.get("step") or "x"),
                                     step.get("mode") or "")
            assert str(rounded) == step.value
            amount = Fraction(rounded)
        elif step.kind == "result":
            assert amount is not None
            assert exact(step.value) == amount
    assert amount is not None
    return Decimal(amount.numerator) / Decimal(amount.denominator)


@SETTINGS
@given(c=os2_customers(), year=years)
def test_every_os2_amount_equals_its_trace(os2_eval: Evaluator, c: Customer, year: int) -> None:
    """Each OS2valghalla amount is exactly what its trace's cells, exceptions and prorations give."""
    for line in os2_eval.evaluate(c, year).lines:
        assert rederive(line) == line.amount


@SETTINGS
@given(c=kongsberg_customers(), year=years)
def test_every_kongsberg_amount_equals_its_trace(
    kongsberg_eval: Evaluator, c: Customer, year: int
) -> None:
    """Each Kongsbergregionen amount is exactly the sum and product shown in its trace."""
    for line in kongsberg_eval.evaluate(c, year).lines:
        assert rederive(line) == line.amount


@SETTINGS
@given(c=os2_customers(), year=years)
def test_trace_on_and_off_agree(os2_eval: Evaluator, c: Customer, year: int) -> None:
    """Tracing never changes an amount."""
    on = os2_eval.evaluate(c, year, trace=True)
    off = os2_eval.evaluate(c, year, trace=False)
    assert [ln.amount for ln in on.lines] == [ln.amount for ln in off.lines]
