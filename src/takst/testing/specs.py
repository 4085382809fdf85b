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
from takst.dsl.errors import Diagnostic, TariffError, diagnostic
from takst.dsl.numbers import exact_sum, money_group
from takst.dsl.symbols import BUILTIN_TEXT
from takst.interpreter.evaluator import Evaluator
from takst.interpreter.exact import fraction_to_decimal, num_text
from takst.interpreter.model import Context, Customer, CustomerResult, Value
from takst.render.worksheet import render_text


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


def example_customer(example: ast.Example, tariff: ast.Tariff | None = None) -> Customer:
    given = {g.name: g.value for g in example.given}
    shared = {d.name for d in (*tariff.settings, *tariff.aggregates)} if tariff else set()
    values: dict[str, Value] = {
        k: v for k, v in given.items() if k not in BUILTIN_TEXT and k not in shared
    }
    return Customer(
        id=str(given.get("id", "example")),
        name=str(given.get("name", "example")),
        customer_type=str(given.get("customer_type", "")),
        values=values,
        origin=f'example "{example.title}", line {example.span.line}',
    )


def _shown(amount: Decimal | None) -> str:
    return "pending" if amount is None else money_group(amount)


def _settings(example: ast.Example, tariff: ast.Tariff) -> dict[str, Value]:
    shared = {d.name for d in (*tariff.settings, *tariff.aggregates)}
    return {g.name: g.value for g in example.given if g.name in shared}


def run_example(evaluator: Evaluator, example: ast.Example) -> ExampleOutcome:
    """Evaluate one example: for its given customer, or over its register."""
    tariff = evaluator.tariff
    file = tariff.file
    settings = _settings(example, tariff)
    try:
        if example.register is not None:
            return _run_register_example(evaluator, example, settings)
        result = evaluator.evaluate(example_customer(example, tariff), example.year,
                                    context=Context(settings=settings))
    except TariffError as err:
        return ExampleOutcome(file, example, None, errors=err.diagnostics)
    mismatches = []
    for exp in example.expects:
        actual = actual_of(result, exp)
        what = _what(exp)
        if actual != exp.amount or (actual is None) != (exp.amount is None):
            mismatches.append(Mismatch(what, _shown(exp.amount), _shown(actual)))
    return ExampleOutcome(file, example, result, tuple(mismatches))


def actual_of(result: CustomerResult, exp: ast.Expect) -> Decimal | None:
    """What ``exp`` is compared with in ``result``: a charge's amount, the total, or
    (issue 12) a charge's VAT or the VAT of all charges."""
    if exp.kind == "total":
        return result.total
    if exp.kind == "vat_total":
        return result.vat_total
    line = result.line(exp.charge or "")
    if exp.kind == "vat":
        return None if line.amount is None else (line.vat or Decimal(0))
    return line.amount


def _what(exp: ast.Expect) -> str:
    if exp.kind == "vat":
        return f"vat {exp.charge}"
    if exp.kind == "vat_total":
        return "vat total"
    return exp.charge or "total"


def _register_path(evaluator: Evaluator, example: ast.Example) -> Path:
    assert example.register is not None
    return Path(evaluator.tariff.file).parent / example.register


def _run_register_example(
    evaluator: Evaluator, example: ast.Example, settings: dict[str, Value]
) -> ExampleOutcome:
    from takst.io.register import load_register

    tariff = evaluator.tariff
    path = _register_path(evaluator, example)
    if not path.is_file():
        return ExampleOutcome(tariff.file, example, None, errors=(diagnostic(
            f"the example's register {example.register} does not exist (looked for {path})",
            example.span, hint="the path is relative to the tariff file"),))
    inputs = {i.name: i for i in tariff.inputs}
    customers = load_register(path, inputs)
    ctx = evaluator.prepare(customers, example.year, settings, register=str(path))
    results = {c.id: evaluator.evaluate(c, example.year, context=ctx) for c in customers}
    mismatches: list[Mismatch] = []
    shown: CustomerResult | None = None
    for exp in example.expects:
        what = _what(exp)
        actual: Decimal | None
        if exp.kind in ("pool", "rate"):
            pool = ctx.pools[exp.charge or ""]
            value = pool.total if exp.kind == "pool" else pool.total / pool.key_sum
            actual = fraction_to_decimal(value)
            label = f"{exp.kind} {what}"
            if actual is None or actual != exp.amount:
                mismatches.append(Mismatch(label, _shown(exp.amount), num_text(value)))
            continue
        if exp.customer is None:
            if exp.kind in ("total", "vat_total"):
                actual = exact_sum(actual_of(r, exp) or Decimal(0) for r in results.values())
            else:
                amounts = [actual_of(r, exp) for r in results.values()]
                actual = None if any(a is None for a in amounts) else sum(
                    (a for a in amounts if a is not None), Decimal(0))
            label = f"{what} (all customers)"
        else:
            result = results.get(exp.customer) or next(
                (r for r in results.values() if r.name == exp.customer), None)
            if result is None:
                mismatches.append(Mismatch(f"customer {exp.customer}", "in the register",
                                           "not found"))
                continue
            shown = shown or result
            actual = actual_of(result, exp)
            label = f"{result.id} {what}"
        if actual != exp.amount or (actual is None) != (exp.amount is None):
            mismatches.append(Mismatch(label, _shown(exp.amount), _shown(actual)))
    return ExampleOutcome(tariff.file, example, shown, tuple(mismatches))


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
    if outcome.result is None:
        return "\n".join(out)
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
