"""Running ``example`` blocks: the tariff's own executable specification.

Used by ``takst test`` (and by the test suite). A failing example reports, per
charge, what was expected and what came out, with the trace of what came out.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import attrs

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, TariffError
from takst.dsl.numbers import money_group
from takst.dsl.symbols import BUILTIN_TEXT
from takst.interpreter.evaluator import Customer, Evaluator
from takst.interpreter.trace import CustomerResult, Value, render_text


@attrs.frozen
class Mismatch:
    what: str  # a charge name or "total"
    expected: str
    actual: str


@attrs.frozen
class ExampleOutcome:
    file: str
    example: ast.Example
    result: CustomerResult | None
    mismatches: tuple[Mismatch, ...] = ()
    errors: tuple[Diagnostic, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.errors


def example_customer(example: ast.Example) -> Customer:
    given = {g.name: g.value for g in example.given}
    values: dict[str, Value] = {k: v for k, v in given.items() if k not in BUILTIN_TEXT}
    return Customer(
        id=str(given.get("id", "example")),
        name=str(given.get("name", "example")),
        customer_type=str(given.get("customer_type", "")),
        values=values,
        origin=f'example "{example.title}", line {example.span.line}',
    )


def _shown(amount: Decimal | None) -> str:
    return "pending" if amount is None else money_group(amount)


def run_example(evaluator: Evaluator, example: ast.Example) -> ExampleOutcome:
    file = evaluator.tariff.file
    try:
        result = evaluator.evaluate(example_customer(example), example.year)
    except TariffError as err:
        return ExampleOutcome(file, example, None, errors=err.diagnostics)
    mismatches = []
    for exp in example.expects:
        if exp.charge is None:
            actual: Decimal | None = result.total
            what = "total"
        else:
            actual = result.line(exp.charge).amount
            what = exp.charge
        if actual != exp.amount or (actual is None) != (exp.amount is None):
            mismatches.append(Mismatch(what, _shown(exp.amount), _shown(actual)))
    return ExampleOutcome(file, example, result, tuple(mismatches))


def run_examples(evaluator: Evaluator) -> list[ExampleOutcome]:
    return [run_example(evaluator, ex) for ex in evaluator.tariff.examples]


def report_failure(outcome: ExampleOutcome, evaluator: Evaluator) -> str:
    """Expected vs actual per charge, then the trace of the actual."""
    ex = outcome.example
    out = [f'{outcome.file}:{ex.span.line}: example "{ex.title}" failed']
    if outcome.errors:
        from takst.dsl.errors import render

        out.extend(render(d) for d in outcome.errors)
        return "\n".join(out)
    width = max(len(m.what) for m in outcome.mismatches)
    out.append(f"  {'':{width}}  {'expected':>14}  {'actual':>14}")
    for m in outcome.mismatches:
        out.append(f"  {m.what:{width}}  {m.expected:>14}  {m.actual:>14}")
    assert outcome.result is not None
    out.append("")
    out.append("  Trace of the actual result:")
    tariff = evaluator.tariff
    text = render_text(
        outcome.result,
        title=tariff.title,
        tariff_file=tariff.file,
        year=ex.year,
        currency=tariff.currency,
    )
    out.extend("  | " + line if line else "  |" for line in text.rstrip("\n").split("\n"))
    return "\n".join(out)


def tariff_files(paths: Iterable[str]) -> list[Path]:
    """The .tariff files named, or found below the folders named, in a stable order."""
    found: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.tariff")))
        else:
            found.append(path)
    return found
