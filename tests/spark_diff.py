"""Running every example block under the interpreter and the Spark engine, and comparing.

The approach of tests/batch_diff.py, with one change for Spark's cost per query (a second
or more, whatever the size): the one-customer examples of a tariff that share a billing
year and settings are billed by Spark in one query, and each register example in its own.
An example the interpreter refuses is run alone, so that its error is compared too.

Shared by tests/test_spark.py (a subset in CI) and bench/spark_diff.py (every folder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from batch_diff import FOLDERS, Figures, checked, compare, outcome, tariffs
from paths import ROOT

from takst.dsl.errors import TariffError
from takst.interpreter.batch.duckdb_engine import FallsBack
from takst.interpreter.evaluator import InterpreterEngine
from takst.interpreter.model import Context, Customer
from takst.testing.specs import _settings, example_customer

__all__ = ["FOLDERS", "Figures", "run_tariff", "tariffs"]


def run_tariff(path: Path, fig: Figures, make: Callable[[Any], Any]) -> None:
    """Every example of the tariff at ``path``: the interpreter against ``make(tariff)``."""
    from takst.io.register import load_register

    tariff = checked(path)
    if tariff is None:
        return
    interp = InterpreterEngine(tariff, checked=True)
    engine = make(tariff)
    rel = path.relative_to(ROOT)
    if engine.unsupported is not None:
        fig.fallbacks.append(f"{rel}: {engine.unsupported.note}")
        return
    groups: dict[str, tuple[int, dict[str, Any], list[tuple[str, Customer]]]] = {}
    alone: list[tuple[str, Sequence[Customer], int, Context | None, dict[str, Any],
                      str | None]] = []
    for ex in tariff.examples:
        label = f"{rel}:{ex.span.line}"
        settings = _settings(ex, tariff)
        try:
            if ex.register is not None:
                reg = Path(tariff.file).parent / ex.register
                customers = load_register(reg, {i.name: i for i in tariff.inputs})
                alone.append((label, customers, ex.year, None, settings, str(reg)))
                continue
            customer = example_customer(ex, tariff)
        except TariffError:
            continue
        ctx = Context(settings=settings)
        kind, _ = outcome(interp, [customer], ex.year, ctx)
        if kind == "error":
            alone.append((label, [customer], ex.year, ctx, settings, None))
            continue
        key = repr((ex.year, sorted(settings.items(), key=str)))
        groups.setdefault(key, (ex.year, settings, []))[2].append((label, customer))
    for year, settings, members in groups.values():
        customers = [c for _, c in members]
        ctx = Context(settings=settings)
        ka, ra = outcome(interp, customers, year, ctx)
        try:
            kb, rb = outcome(engine, customers, year, ctx)
        except FallsBack as fb:
            fig.fallbacks.append(f"{rel}: {fb.unsupported.note}")
            continue
        label = ", ".join(lbl for lbl, _ in members)
        _judge(label, ka, ra, kb, rb, fig)
    for label, customers, year, ctx, settings, reg in alone:
        ka, ra = outcome(interp, customers, year, ctx, settings, reg)
        try:
            kb, rb = outcome(engine, customers, year, ctx, settings, reg)
        except FallsBack as fb:
            fig.fallbacks.append(f"{label}: {fb.unsupported.note}")
            continue
        _judge(label, ka, ra, kb, rb, fig)


def _judge(label: str, ka: str, ra: Any, kb: str, rb: Any, fig: Figures) -> None:
    if ka != kb:
        fig.mismatches.append(f"{label}: interpreter {ka} {ra if ka == 'error' else ''}, "
                              f"spark {kb} {rb if kb == 'error' else ''}")
    elif ka == "error":
        fig.errors_alike += 1
        fig.cases += 1
        if ra != rb:
            fig.mismatches.append(f"{label}: interpreter says {ra!r}, spark says {rb!r}")
    else:
        compare(label, ra, rb, fig)
