"""Running the same customers under the interpreter and the batch engine, and comparing.

Shared by tests/test_batch_diff.py and bench/bench_batch.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from paths import ROOT

from takst.dsl import ast
from takst.dsl.check import check, errors_of
from takst.dsl.errors import TariffError
from takst.dsl.loader import load_tariff
from takst.interpreter.batch.compiler import not_compiled
from takst.interpreter.batch.duckdb_engine import DuckDBEngine, FallsBack
from takst.interpreter.evaluator import InterpreterEngine
from takst.interpreter.model import Context, Customer, CustomerResult
from takst.testing.specs import _settings, example_customer

#: The folders whose example blocks both engines run.
FOLDERS = ("rules", "stdlib", "docs/examples", "tests/fixtures")


@attrs.define
class Figures:
    cases: int = 0
    amounts: int = 0
    mismatches: list[str] = attrs.field(factory=list)
    fallbacks: list[str] = attrs.field(factory=list)
    errors_alike: int = 0


def tariffs() -> list[Path]:
    return [p for f in FOLDERS for p in sorted((ROOT / f).rglob("*.tariff"))]


def checked(path: Path) -> ast.Tariff | None:
    """The tariff, or None when it does not load or check (deliberately broken fixtures)."""
    try:
        tariff = load_tariff(path)
    except TariffError:
        return None
    return None if errors_of(check(tariff)) else tariff


def documented_fallback(path: Path, engine: str = "batch") -> str | None:
    """The fallback line (as ``Figures.fallbacks`` has it) of a tariff with one of issue 12's
    constructs that no engine compiles yet (``not_compiled`` names it; the manual lists
    them), as ``engine`` (``batch`` or ``Spark``) words it; None for any other tariff."""
    tariff = checked(path)
    newer = not_compiled(tariff) if tariff is not None else None
    if newer is None:
        return None
    return f"{path.relative_to(ROOT)}: {attrs.evolve(newer, engine=engine).note}"


def outcome(engine: object, customers: Sequence[Customer], year: int,
            context: Context | None, settings: dict[str, object] | None = None,
            register: str | None = None) -> tuple[str, list[CustomerResult] | str]:
    """("ok", results) or ("error", the first message)."""
    try:
        ctx = context
        if ctx is None:
            ctx = engine.prepare(customers, year, settings=settings,  # type: ignore[attr-defined]
                                 register=register)
        return "ok", list(engine.evaluate(customers, year, ctx))  # type: ignore[attr-defined]
    except TariffError as err:
        return "error", err.diagnostics[0].message if err.diagnostics else str(err)


def compare(label: str, a: list[CustomerResult], b: list[CustomerResult], fig: Figures) -> None:
    fig.cases += len(a)
    if len(a) != len(b):
        fig.mismatches.append(f"{label}: {len(a)} results against {len(b)}")
        return
    for ra, rb in zip(a, b, strict=True):
        if ra.id != rb.id:
            fig.mismatches.append(f"{label}: customer {ra.id} against {rb.id}")
        for la, lb in zip(ra.lines, rb.lines, strict=True):
            fig.amounts += 1
            if (la.charge, la.amount, la.status, la.charged) != (
                    lb.charge, lb.amount, lb.status, lb.charged):
                fig.mismatches.append(
                    f"{label}: {ra.id} {la.charge}: interpreter {la.amount} {la.status} "
                    f"{la.charged}, batch {lb.amount} {lb.status} {lb.charged}")


def run_examples(path: Path, fig: Figures, make: Any = None) -> None:
    """Every example of the tariff at ``path`` under the interpreter and the engine ``make``
    gives (``make(tariff)``; default the DuckDB engine)."""
    from takst.io.register import load_register

    tariff = checked(path)
    if tariff is None:
        return
    interp = InterpreterEngine(tariff, checked=True)
    batch = (make or (lambda t: DuckDBEngine(t, checked=True)))(tariff)
    if batch.unsupported is not None:
        fig.fallbacks.append(f"{path.relative_to(ROOT)}: {batch.unsupported.note}")
        return
    for ex in tariff.examples:
        label = f"{path.relative_to(ROOT)}:{ex.span.line}"
        settings = _settings(ex, tariff)
        try:
            if ex.register is not None:
                reg = Path(tariff.file).parent / ex.register
                customers = load_register(reg, {i.name: i for i in tariff.inputs})
                ctx_a = ctx_b = None
            else:
                customers = [example_customer(ex, tariff)]
                ctx_a = ctx_b = Context(settings=settings)
                reg = None
        except TariffError:
            continue
        ka, ra = outcome(interp, customers, ex.year, ctx_a, settings, str(reg) if reg else None)
        try:
            kb, rb = outcome(batch, customers, ex.year, ctx_b, settings,
                             str(reg) if reg else None)
        except FallsBack as fb:
            fig.fallbacks.append(f"{label}: {fb.unsupported.note}")
            continue
        if ka != kb:
            fig.mismatches.append(f"{label}: interpreter {ka} {ra if ka == 'error' else ''}, "
                                  f"batch {kb} {rb if kb == 'error' else ''}")
        elif ka == "error":
            fig.errors_alike += 1
            fig.cases += 1
        else:
            assert isinstance(ra, list) and isinstance(rb, list)
            compare(label, ra, rb, fig)
