#!/usr/bin/env python3
"""How fast registers are read: µs per row for a synthetic OS2 register.

    python bench/bench_register.py                    # 100 000 rows, best of 5
    python bench/bench_register.py --rows 20000 --repeat 3
    python bench/bench_register.py --against old_register.py   # also time another version
    python bench/bench_register.py --quick            # 2 000 rows, one run: a smoke test

Three ways of reading are timed: ``load_register`` (every customer kept in a list),
``open_register`` read through once as a new register (the first iteration: the byte scan
of the file, then the rows) and the same register read again (a later iteration: no scan).
Times are CPU seconds of this process (``time.process_time``), the least of the repeats,
so other work on a shared machine disturbs them as little as possible; wall-clock times are
shown next to them. ``--against FILE`` loads another register module (e.g. one saved with
``git show REV:src/takst/io/register.py > old_register.py``) and times its
``load_register`` on the same file, for before/after figures. Exit status 1 when the
readers disagree on the customers.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_eval import TARIFF, machine_info, municipality_names, thousands, write_register  # noqa: E402


def timed(repeat: int, fn: Callable[[], int]) -> tuple[float, float, int]:
    """Least CPU seconds and least wall seconds over ``repeat`` calls, and the row count."""
    cpu: list[float] = []
    wall: list[float] = []
    rows = 0
    for _ in range(repeat):
        gc.collect()
        c, w = time.process_time(), time.perf_counter()
        rows = fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return min(cpu), min(wall), rows


def load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("other_register", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000, metavar="N")
    p.add_argument("--repeat", type=int, default=5, metavar="N")
    p.add_argument("--against", type=Path, metavar="FILE",
                   help="another register module whose load_register is timed too")
    p.add_argument("--quick", action="store_true", help="2 000 rows, one run")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = 2_000, 1
    if args.rows < 1 or args.repeat < 1:
        p.error("--rows and --repeat must be positive")

    from takst.dsl.parser import parse_file
    from takst.io.register import load_register, open_register

    inputs = {i.name: i for i in parse_file(TARIFF).inputs}
    print("takst register reading")
    for line in machine_info():
        print("  " + line)
    rows_out: list[tuple[str, float, float]] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="takst-reg-") as tmp:
        reg = Path(tmp) / "os2.csv"
        write_register(reg, args.rows, municipality_names())
        size = reg.stat().st_size
        expected = load_register(reg, inputs)
        again = open_register(reg, inputs)
        list(again)
        cases: list[tuple[str, Callable[[], int]]] = [
            ("load_register (a list of every customer)", lambda: len(load_register(reg, inputs))),
            ("open_register, first iteration (scan + rows)",
             lambda: sum(1 for _ in open_register(reg, inputs))),
            ("open_register, a later iteration", lambda: sum(1 for _ in again)),
        ]
        if args.against is not None:
            other = load_module(args.against)
            if other.load_register(reg, inputs) != expected:
                print(f"  CHECK FAILED: {args.against} reads other customers")
                ok = False
            cases.append((f"{args.against.name}: load_register",
                          lambda: len(other.load_register(reg, inputs))))
        del expected
        for label, fn in cases:
            cpu, wall, n = timed(args.repeat, fn)
            rows_out.append((label, cpu / n * 1e6, wall / n * 1e6))
    print(f"  register   {thousands(args.rows)} rows of {TARIFF.name}'s inputs, "
          f"{size / 1e6:.1f} MB; least of {args.repeat}")
    width = max(len(label) for label, _, _ in rows_out)
    print(f"\n  {'':{width}}  µs/row CPU  µs/row wall")
    for label, cpu, wall in rows_out:
        print(f"  {label:{width}}  {cpu:10.2f}  {wall:11.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
