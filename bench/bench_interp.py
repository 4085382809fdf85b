#!/usr/bin/env python3
"""Interpreter speed: microseconds per customer, and a whole process against a hand-written floor.

    python bench/bench_interp.py                 # 20 000 customers, 3 repeats
    python bench/bench_interp.py --rows 100000   # the issue's size
    python bench/bench_interp.py --quick         # 2 000 customers, 1 repeat, no process runs

Printed:

1. ``Evaluator.evaluate`` per customer (µs of CPU time, median of the repeats), traces off
   (the compiled path) and on (the reference interpreter), and the reference without a trace,
   for rules/os2valghalla.tariff (synthetic municipalities) and rules/ks_dif_2025.tariff (the
   Norwegian register, repeated with fresh ids), register-wide values prepared first. Traces
   on are timed over the first 2 000 customers (they are slow; the figure is per customer).
2. OS2 billed CSV -> CSV as a whole process (``python -m takst eval ... --format csv --out``)
   against a hand-written Python ``Decimal`` function of the same tariff with the same CSV
   I/O (the floor, ``--floor`` mode of this script), and their ratio (the target is <= 5),
   in CPU time of the child processes (user + system; the machine may be shared) and in wall
   time. The floor's output is compared with takst's, byte for byte: any difference fails.

Exit status 0 when every check passed, 1 otherwise. Standard library and takst only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import math
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OS2 = ROOT / "rules" / "os2valghalla.tariff"
KS = ROOT / "rules" / "ks_dif_2025.tariff"
NORWAY = ROOT / "data" / "norway_2024.csv"
MUNICIPALITIES = ROOT / "data" / "denmark_municipalities_2023.csv"
YEAR = 2024


# ------------------------------------------------------------------ registers


def write_os2_register(path: Path, rows: int) -> None:
    """Synthetic municipalities: log-uniform population, half members, joined 2023-2024,
    one in ten named exactly like a municipality (so the crowdfunding exemption fires)."""
    with MUNICIPALITIES.open(encoding="utf-8", newline="") as fh:
        names = [row["name"] for row in csv.DictReader(fh)]
    rng = random.Random(42)
    lo, hi = math.log(1_500), math.log(700_000)
    first = dt.date(2023, 1, 1).toordinal()
    days = dt.date(2024, 12, 31).toordinal() - first + 1
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "name", "customer_type", "population", "os2_member", "joined"])
        for i in range(1, rows + 1):
            base = rng.choice(names)
            exact = rng.random() < 0.10
            w.writerow([
                f"{i:07d}", base if exact else f"{base} {i}", "KOMMUNE",
                round(math.exp(rng.uniform(lo, hi))),
                "true" if rng.random() < 0.5 else "false",
                dt.date.fromordinal(first + rng.randrange(days)).isoformat(),
            ])


def write_ks_register(path: Path, rows: int) -> None:
    """The Norwegian register repeated (fresh ids) up to ``rows`` customers."""
    with NORWAY.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        head = next(reader)
        base = list(reader)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(head)
        for i in range(rows):
            row = list(base[i % len(base)])
            row[0] = f"{row[0]}-{i}"
            w.writerow(row)


# ------------------------------------------------------------------ the floor

CROWDFUNDING = frozenset({
    "Ballerup", "Brøndby", "Fredericia", "Frederiksberg", "Frederikshavn", "Gribskov",
    "Guldborgsund", "Holbæk", "Horsens", "Kalundborg", "Kolding", "København", "Middelfart",
    "Næstved", "Odense", "Ringkøbing-Skjern", "Skive", "Slagelse", "Syddjurs", "Vejen", "Aarhus",
})
ANNUAL = {  # size -> (member, non-member)
    0: (Decimal("23980"), Decimal("29700")), 1: (Decimal("34880"), Decimal("43200")),
    2: (Decimal("45780"), Decimal("56700")), 3: (Decimal("56680"), Decimal("70200")),
}
CONNECTION = {0: Decimal("35000"), 1: Decimal("70000"), 2: Decimal("190000"),
              3: Decimal("350000")}
ZERO = Decimal("0")
QUARTER = Decimal("0.25")


def os2_floor(name: str, population: int, member: bool, joined: dt.date,
              year: int) -> tuple[Decimal, Decimal, Decimal | None]:
    """rules/os2valghalla.tariff by hand: annual fee, connection fee, operations fee."""
    size = (0 if population <= 25_000 else 1 if population <= 60_000
            else 2 if population <= 120_000 else 3)
    annual = ZERO
    if year >= joined.year:
        annual = ANNUAL[size][0 if member else 1]
        if joined.year == 2023 and year == 2023:
            annual = annual * QUARTER
    once = joined.year == year
    connection = (ZERO if name in CROWDFUNDING else CONNECTION[size]) if once else ZERO
    operations = None if once else ZERO
    return annual, connection, operations


def money(d: Decimal) -> str:
    return f"{d:.2f}"


def run_floor(register: Path, out: Path, year: int) -> None:
    """The floor as a whole process: read the CSV, compute, write the CSV."""
    with register.open(encoding="utf-8", newline="") as fh, \
            out.open("w", encoding="utf-8", newline="") as oh:
        reader = csv.DictReader(fh)
        w = csv.writer(oh, lineterminator="\n")
        w.writerow(["id", "name", "annual_fee", "connection_fee", "operations_fee", "total",
                    "pending"])
        for row in reader:
            annual, connection, operations = os2_floor(
                row["name"], int(row["population"]), row["os2_member"] == "true",
                dt.date.fromisoformat(row["joined"]), year)
            total = annual + connection + (operations or ZERO)
            w.writerow([row["id"], row["name"], money(annual), money(connection),
                        "pending" if operations is None else money(operations), money(total),
                        "" if operations is not None else "operations_fee"])


# ------------------------------------------------------------------ measuring


def median_seconds(repeat: int, fn: Callable[[], object]) -> float:
    """Median CPU seconds of this process for ``fn`` (robust on a shared machine)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


TRACED = 2_000


def per_customer(tariff_path: Path, register: Path,
                 repeat: int) -> tuple[float, float, float, int]:
    """µs per customer: compiled (traces off), reference without and with a trace."""
    from takst.dsl.loader import load_tariff
    from takst.interpreter.evaluator import Evaluator
    from takst.io.register import load_register

    tariff = load_tariff(tariff_path)
    ev = Evaluator(tariff)
    customers = load_register(register, {i.name: i for i in tariff.inputs})
    ctx = ev.prepare(customers, YEAR, {}, register=str(register))
    n = len(customers)
    few = customers[:TRACED]
    results: dict[str, list] = {}
    reference = getattr(ev, "reference", None)  # absent before the compiled path existed

    def run() -> None:
        results["off"] = [ev.evaluate(c, YEAR, trace=False, context=ctx) for c in customers]

    def run_reference() -> None:
        results["ref"] = [reference(c, YEAR, trace=False, context=ctx) for c in few]

    def run_traced() -> None:
        results["on"] = [ev.evaluate(c, YEAR, trace=True, context=ctx) for c in few]

    off = median_seconds(repeat, run)
    ref = median_seconds(repeat, run_reference) / len(few) * 1e6 if reference else math.nan
    on = median_seconds(repeat, run_traced)
    for other in ("on", "ref"):
        for a, b in zip(results["off"], results.get(other, []), strict=False):
            if [(ln.amount, str(ln.amount), ln.status) for ln in a.lines] != \
                    [(ln.amount, str(ln.amount), ln.status) for ln in b.lines]:
                raise SystemExit(f"the compiled and the reference path disagree for {a.id}")
    return off / n * 1e6, ref, on / len(few) * 1e6, n


def process_seconds(argv: Sequence[str], repeat: int) -> tuple[float, float]:
    """Median CPU seconds (user + system) and wall seconds of a whole child process."""
    cpu, wall = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(cpu), statistics.median(wall)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="2 000 rows, 1 repeat, no processes")
    p.add_argument("--floor", nargs=2, metavar=("REGISTER", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.floor:
        run_floor(Path(args.floor[0]), Path(args.floor[1]), YEAR)
        return 0
    rows, repeat = (2_000, 1) if args.quick else (args.rows, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        os2_reg, ks_reg = Path(tmp) / "os2.csv", Path(tmp) / "ks.csv"
        write_os2_register(os2_reg, rows)
        write_ks_register(ks_reg, rows)
        print(f"Evaluator.evaluate, µs of CPU per customer ({rows} customers, median of "
              f"{repeat})")
        print(f"  {'tariff':<28}{'traces off':>12}{'reference':>12}{'traces on':>12}")
        for label, tariff, reg in (("rules/os2valghalla.tariff", OS2, os2_reg),
                                   ("rules/ks_dif_2025.tariff", KS, ks_reg)):
            off, ref, on, _ = per_customer(tariff, reg, repeat)
            print(f"  {label:<28}{off:>12.1f}{ref:>12.1f}{on:>12.1f}")
        if args.quick:
            return 0
        out_takst, out_floor = Path(tmp) / "takst.csv", Path(tmp) / "floor.csv"
        takst = process_seconds([sys.executable, "-m", "takst", "eval", str(OS2), "--register",
                                 str(os2_reg), "--year", str(YEAR), "--format", "csv",
                                 "--out", str(out_takst)], repeat)
        floor = process_seconds([sys.executable, __file__, "--floor", str(os2_reg),
                                 str(out_floor)], repeat)
        same = out_takst.read_text(encoding="utf-8") == out_floor.read_text(encoding="utf-8")
        print(f"\nOS2 CSV -> CSV as a whole process, {rows} rows (median of {repeat})")
        print(f"  {'':16}{'CPU ms':>10}{'wall ms':>10}")
        print(f"  {'takst eval':16}{takst[0] * 1000:10.0f}{takst[1] * 1000:10.0f}")
        print(f"  {'hand-written':16}{floor[0] * 1000:10.0f}{floor[1] * 1000:10.0f}")
        print(f"  {'ratio':16}{takst[0] / floor[0]:10.2f}{takst[1] / floor[1]:10.2f}"
              "  (target <= 5)")
        print(f"  same output     {'yes' if same else 'NO'}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
