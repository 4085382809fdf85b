#!/usr/bin/env python3
"""Benchmark of the batch engine (SQL on DuckDB) against the interpreter, for OS2valghalla.

    python bench/bench_batch.py              # 10 000 and 100 000 rows
    python bench/bench_batch.py --million    # also 1 000 000 rows (the interpreter takes minutes)
    python bench/bench_batch.py --rows 2000  # any sizes; --quick: 2 000 rows, for CI

Registers are generated with the columns of data/os2valghalla_demo_2024.csv (id, name,
customer_type, population, os2_member, joined), written as CSV and as Parquet. Measured, as
nanoseconds per customer (time.perf_counter, one run after gc.collect()):

* batch CSV -> Parquet and batch Parquet -> Parquet: ``run_register`` (columnar checks,
  register-wide values, compile) and ``BatchRun.write`` (DuckDB writes DECIMAL columns):
  the whole path, no Python per row;
* batch CSV -> Python: the same plan, results streamed to Python as tuples;
* interpreter, traces off: the register reader (``load_register``) and
  ``InterpreterEngine.prepare`` + ``evaluate``, shown apart and together.

DuckDB's database is opened once before the runs (about 0.1 s per process). Every size
also checks that both engines give the same amount and status for every charge
of every customer (exit status 1 when one differs).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
TARIFF = ROOT / "rules" / "os2valghalla.tariff"
MUNICIPALITIES = ROOT / "data" / "os2valghalla_demo_2024.csv"
YEAR = 2024
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def make_register(n: int, path: Path) -> None:
    rng = random.Random(42)
    names = [line.split(",")[1] for line in
             MUNICIPALITIES.read_text(encoding="utf-8").splitlines()[1:]]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("id,name,customer_type,population,os2_member,joined\n")
        for i in range(n):
            name = names[i % len(names)] if rng.random() < 0.1 else f"{names[i % len(names)]} {i}"
            y = rng.choice((2022, 2023, 2024, 2025))
            out.write(f"{i:07d},{name},KOMMUNE,{rng.randint(1_500, 700_000)},"
                      f"{'true' if rng.random() < 0.7 else 'false'},"
                      f"{y}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\n")


def batch_write(tariff: Any, src: Path, out: Path, fmt: str) -> None:
    from takst.interpreter.batch import run_register

    run_register(tariff, src, YEAR).write(out, fmt)


def batch_rows(tariff: Any, src: Path) -> list[Any]:
    from takst.interpreter.batch import run_register

    return list(run_register(tariff, src, YEAR).rows())


def interpret(engine: Any, customers: list[Any]) -> list[Any]:
    ctx = engine.prepare(customers, YEAR)
    return list(engine.evaluate(customers, YEAR, ctx, trace=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--million", action="store_true", help="also 1 000 000 rows")
    ap.add_argument("--quick", action="store_true", help="2 000 rows only")
    ap.add_argument("--interpreter-max", type=int, default=None, metavar="ROWS",
                    help="measure the interpreter only up to ROWS rows; larger registers "
                    "are compared with its ns per customer at the largest size measured (*)")
    args = ap.parse_args(argv)
    sizes = [2_000] if args.quick else [*args.rows, *([1_000_000] if args.million else [])]

    import duckdb

    from takst.dsl.loader import load_tariff
    from takst.interpreter.batch.duckdb_engine import connect
    from takst.interpreter.evaluator import InterpreterEngine
    from takst.io.register import load_register

    connect()  # DuckDB's in-memory database is opened once per process (about 0.1 s)
    tariff = load_tariff(TARIFF)
    inputs = {i.name: i for i in tariff.inputs}
    failed = False
    table: list[tuple[int, dict[str, float]]] = []
    estimated: set[int] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            csv_path = Path(tmp) / f"os2_{n}.csv"
            pq_path = Path(tmp) / f"os2_{n}.parquet"
            make_register(n, csv_path)
            duckdb.connect().execute(
                f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) "
                f"TO '{pq_path}' (FORMAT parquet)")
            t: dict[str, float] = {}
            out = Path(tmp)
            t["batch CSV->Parquet"], _ = timed(partial(
                batch_write, tariff, csv_path, out / "o1.parquet", "parquet"))
            t["batch Parquet->Parquet"], _ = timed(partial(
                batch_write, tariff, pq_path, out / "o2.parquet", "parquet"))
            t["batch CSV->CSV"], _ = timed(partial(batch_write, tariff, csv_path, out / "o.csv",
                                                   "csv"))
            t["batch CSV->Python rows"], rows = timed(partial(batch_rows, tariff, csv_path))
            order = sum(1 for i, row in enumerate(rows) if row[0] != i or row[1] != f"{i:07d}")
            if order:
                failed = True
                print(f"ORDER at {n} rows: {order} customers out of the register's order",
                      file=sys.stderr)
            if args.interpreter_max is not None and n > args.interpreter_max and table:
                last = table[-1][1]
                for key in ("reader (Python)", "interpreter eval (traces off)",
                            "interpreter reader+eval"):
                    t[key] = last[key] / table[-1][0] * n
                estimated.add(n)
                table.append((n, t))
                print(f"{n:>9,} rows: batch only, {order} out of order (interpreter figures "
                      f"from {table[-2][0]:,} rows)", flush=True)
                continue
            t["reader (Python)"], customers = timed(partial(load_register, csv_path, inputs))
            engine = InterpreterEngine(tariff, checked=True)
            t["interpreter eval (traces off)"], results = timed(partial(interpret, engine,
                                                                        customers))
            t["interpreter reader+eval"] = t["reader (Python)"] + t["interpreter eval (traces off)"]
            bad = 0
            for row, res in zip(rows, results, strict=True):
                for k, ln in enumerate(res.lines):
                    status = "pending" if ln.status == "pending" else ("ok" if ln.charged else "none")
                    if (row[3 + 2 * k], row[4 + 2 * k]) != (status, ln.amount):
                        bad += 1
            if bad or len(rows) != n:
                failed = True
                print(f"MISMATCH at {n} rows: {bad} amounts differ", file=sys.stderr)
            table.append((n, t))
            print(f"{n:>9,} rows: {bad} mismatches over {n * len(tariff.charges):,} amounts",
                  flush=True)
    print()
    print(f"{'ns per customer':<32}" + "".join(
        f"{f'{n:,}' + ('*' if n in estimated else ''):>14}" for n, _ in table))
    for key in table[0][1]:
        print(f"{key:<32}" + "".join(f"{t[key] / n * 1e9:>14,.0f}" for n, t in table))
    print()
    print("ratios (interpreter reader+eval / batch; interpreter eval only / batch):")
    for key in ("batch CSV->Parquet", "batch Parquet->Parquet", "batch CSV->CSV",
                "batch CSV->Python rows"):
        print(f"  {key:<30}" + "".join(
            f"{t['interpreter reader+eval'] / t[key]:>9.1f}× / "
            f"{t['interpreter eval (traces off)'] / t[key]:>5.1f}×" for n, t in table))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
