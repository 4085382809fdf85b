#!/usr/bin/env python3
"""Benchmark of takst: parse + check, register loading, evaluation, the CLI path.

Standalone (standard library + takst only). Run from anywhere:

    python bench/bench_eval.py                       # 10 000 and 100 000 rows, 3 repeats
    python bench/bench_eval.py --rows 5000 --repeat 5
    python bench/bench_eval.py --quick               # 1 000 rows, 1 repeat: a CI smoke test
    python bench/bench_eval.py --profile             # also cProfile the largest size

What is measured (all with time.perf_counter, median of the repeats) is described in
bench/README.md. Exit status: 0 when every check passed; 1 when a check failed (traces on and
off disagree on an amount, the CLI failed or disagrees with the in-process totals, a tariff
has check errors, the exemption count is off); 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
TARIFF = RULES / "os2valghalla.tariff"
MUNICIPALITIES = ROOT / "data" / "denmark_municipalities_2023.csv"
YEAR = 2024
SEED = 42
POP_MIN, POP_MAX = 1_500, 700_000
#: Share of rows named exactly like a municipality (the rest get a numeric suffix).
EXACT_NAME_SHARE = 0.10

T = TypeVar("T")


# ------------------------------------------------------------------ helpers


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds for one call of ``fn`` (after a full garbage collection), and its result."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_of(repeat: int, fn: Callable[[], T]) -> tuple[float, list[float], T]:
    """Median seconds over ``repeat`` calls, all the times, and the last result."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        result = None  # let the previous result go before the next run
        seconds, result = timed(fn)
        times.append(seconds)
    return statistics.median(times), times, result


def thousands(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def table(heads: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain text table; the first ``left`` columns are left-aligned, the rest right."""
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [fmt(heads), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]
    return "\n".join("  " + line for line in lines)


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def machine_info() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        affinity = len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
        usable = f", {affinity} usable by this process"
    except (AttributeError, OSError):
        usable = ""
    return [
        f"python     {platform.python_version()} ({platform.python_implementation()}, "
        f"{platform.python_compiler()}) {sys.executable}",
        f"platform   {platform.platform()}",
        f"machine    {platform.machine()}, {cpu}; os.cpu_count() = {os.cpu_count()}{usable}",
        f"packages   takst {version_of('takst')}, lark {version_of('lark')}, "
        f"attrs {version_of('attrs')}",
    ]


# ------------------------------------------------------------------ synthetic registers


def municipality_names() -> list[str]:
    with MUNICIPALITIES.open(encoding="utf-8", newline="") as fh:
        return [row["name"] for row in csv.DictReader(fh)]


def write_register(path: Path, rows: int, names: Sequence[str]) -> None:
    """A register of ``rows`` synthetic municipalities. A fresh ``Random(42)`` per file and
    the same draws per row, so a smaller register is a prefix of a larger one."""
    rng = random.Random(SEED)
    lo, hi = math.log(POP_MIN), math.log(POP_MAX)
    first = dt.date(2023, 1, 1).toordinal()
    days = dt.date(2024, 12, 31).toordinal() - first + 1
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "name", "customer_type", "population", "os2_member", "joined"])
        for i in range(1, rows + 1):
            base = rng.choice(names)
            exact = rng.random() < EXACT_NAME_SHARE
            population = round(math.exp(rng.uniform(lo, hi)))
            member = rng.random() < 0.5
            joined = dt.date.fromordinal(first + rng.randrange(days))
            w.writerow([
                f"{i:07d}",
                base if exact else f"{base} {i}",
                "KOMMUNE",
                population,
                "true" if member else "false",
                joined.isoformat(),
            ])


# ------------------------------------------------------------------ the benchmark


class Failures:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)
        print(f"  CHECK FAILED: {message}")


def amounts_of(result: Any) -> str:
    """What must not depend on tracing: every line's amount, status and whether it is charged,
    and the total. Kept as one string per customer (exact: ``str`` of a Decimal keeps every
    digit) because strings are not tracked by the cyclic garbage collector: 100 000 live tuples
    would slow the traces-OFF run that follows and distort its figure."""
    lines = ";".join(f"{ln.charge}={ln.amount}/{ln.status}/{ln.charged}" for ln in result.lines)
    return f"{result.id}|{lines}|{result.total}"


def bench_parse(repeat: int, fail: Failures) -> None:
    from takst.dsl import parser as parser_module
    from takst.dsl.check import check, errors_of
    from takst.dsl.loader import load_tariff as parse_file  # parse with imports

    def parse_and_check(path: Path) -> list[Any]:
        return check(parse_file(path))

    files = sorted(RULES.glob("*.tariff"))
    print(f"\n1. Parse + check of rules/*.tariff ({len(files)} files)")
    if not files:
        fail.add("no .tariff files in rules/")
        return

    # The very first parse in the process builds the Lark LALR parser (cached afterwards).
    cold_file = TARIFF if TARIFF in files else files[0]
    cold, _ = timed(lambda: parse_file(cold_file))

    lark_factory = getattr(parser_module, "_lark", None)
    construct: float | None = None
    if lark_factory is not None and hasattr(lark_factory, "cache_clear"):
        times = []
        for _ in range(repeat):
            lark_factory.cache_clear()
            seconds, _ = timed(lark_factory)
            times.append(seconds)
        construct = statistics.median(times)

    rows = []
    steady: dict[Path, float] = {}
    for f in files:
        parse_med, _, tariff = median_of(repeat, partial(parse_file, f))
        check_med, _, diags = median_of(repeat, partial(check, tariff))
        both_med, _, _ = median_of(repeat, partial(parse_and_check, f))
        steady[f] = parse_med
        errors = errors_of(diags)
        if errors:
            fail.add(f"{f.name} has {len(errors)} check errors")
        lines = len(f.read_text(encoding="utf-8").splitlines())
        rows.append([
            f.relative_to(ROOT).as_posix(), str(lines), ms(parse_med), ms(check_med), ms(both_med),
            str(len(diags)),
        ])
    print(f"  one-off, first load (parse with imports) in this process ({cold_file.name}, "
          f"includes building the Lark parser): {ms(cold)} ms")
    if construct is not None:
        print(f"  one-off, building the Lark parser alone (dsl.parser._lark(), "
              f"median of {repeat}, warm imports): {ms(construct)} ms")
    print(f"  cold overhead of the first parse over a steady one: "
          f"{ms(cold - steady[cold_file])} ms")
    print(f"  steady state (parser built), median of {repeat}:")
    print(table(["file", "lines", "parse ms", "check ms", "parse+check ms", "diagnostics"], rows))


def bench_sizes(sizes: Sequence[int], repeat: int, profile: bool, fail: Failures) -> None:
    from takst.cli import main as cli_main
    from takst.dsl.check import check, errors_of
    from takst.dsl.numbers import money_group, money_text
    from takst.dsl.parser import parse_file
    from takst.interpreter.evaluator import Evaluator
    from takst.io.register import load_register

    tariff = parse_file(TARIFF)
    if errors_of(check(tariff)):
        fail.add(f"{TARIFF.name} does not check; cannot evaluate it")
        return
    inputs = {i.name: i for i in tariff.inputs}
    crowd = {i.value for lst in tariff.lists if lst.name == "crowdfunding_2022" for i in lst.items}
    names = municipality_names()
    tariff_rel = TARIFF.relative_to(ROOT).as_posix()

    profiles = ""
    results_rows: list[list[str]] = []
    check_lines: list[str] = []
    gen_rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="takst-bench-") as tmp:
        folder = Path(tmp)
        for n in sizes:
            reg = folder / f"register_{n}.csv"
            gen_s, _ = timed(partial(write_register, reg, n, names))

            # (a) loading the register
            load_med, _, customers = median_of(repeat, partial(load_register, reg, inputs))
            exact_hits = sum(1 for c in customers if c.name in crowd)
            exempt_expected = sum(
                1 for c in customers if c.name in crowd and c.values["joined"].year == YEAR
            )
            gen_rows.append([
                thousands(n), f"{reg.stat().st_size / 1024:,.0f} KiB".replace(",", " "),
                f"{exact_hits} ({exact_hits / n:.1%})", str(exempt_expected), f"{gen_s:.3f}",
            ])

            # (b) evaluation, traces on and off (a fresh Evaluator per run: its set-up counts)
            def run(trace: bool, customers: list[Any] = customers) -> list[Any]:
                ev = Evaluator(tariff, checked=True)
                return [ev.evaluate(c, YEAR, trace=trace) for c in customers]

            on_med, _, with_trace = median_of(repeat, lambda: run(True))
            steps = sum(len(ln.steps) for r in with_trace for ln in r.lines)
            on_amounts = [amounts_of(r) for r in with_trace]
            on_sum = sum((r.total for r in with_trace), Decimal(0))
            del with_trace
            off_med, _, without = median_of(repeat, lambda: run(False))

            # (c) the whole CLI path, in process, traces off
            out_json = folder / f"out_{n}.json"
            err = io.StringIO()
            argv = ["eval", str(TARIFF), "--register", str(reg), "--year", str(YEAR),
                    "--format", "json", "--out", str(out_json)]
            codes: list[int] = []

            def cli(argv: list[str] = argv, err: io.StringIO = err,
                    codes: list[int] = codes) -> None:
                codes.append(cli_main(argv, out=io.StringIO(), err=err))

            cli_med, _, _ = median_of(repeat, cli)
            for label, seconds, per in (
                ("load_register", load_med, "rows/s"),
                ("evaluate, traces ON", on_med, "customers/s"),
                ("evaluate, traces OFF", off_med, "customers/s"),
                ("CLI eval --format json --out (traces off)", cli_med, "customers/s"),
            ):
                results_rows.append([
                    thousands(n), label, f"{seconds:.3f}", f"{thousands(n / seconds)} {per}",
                    f"{seconds / n * 1e6:.1f}",
                ])
            rest = cli_med - load_med - off_med
            results_rows.append([
                thousands(n), "  derived: CLI minus load minus eval OFF", f"{rest:.3f}",
                "(parse, JSON, write)", f"{rest / n * 1e6:.1f}",
            ])

            # checks: traces on == traces off, per customer and in sum; CLI agrees
            off_amounts = [amounts_of(r) for r in without]
            off_sum = sum((r.total for r in without), Decimal(0))
            differ = [i for i, (a, b) in enumerate(zip(on_amounts, off_amounts, strict=True))
                      if a != b]
            if differ or on_sum != off_sum or len(on_amounts) != len(off_amounts):
                for i in differ[:5]:
                    print(f"  traces on : {on_amounts[i]}\n  traces off: {off_amounts[i]}")
                fail.add(f"{n} rows: traces on and off differ for {len(differ)} customers "
                         f"(sums {on_sum} vs {off_sum})")
            else:
                check_lines.append(
                    f"{thousands(n)} rows: traces ON and OFF identical for all "
                    f"{thousands(len(off_amounts))} customers (every line's amount, status, "
                    f"charged; totals); sum of totals {money_group(on_sum)} DKK both ways; "
                    f"{thousands(steps)} trace steps ({steps / n:.1f} per customer)"
                )
            exempt = sum(
                1 for r in without
                if r.name in crowd and r.line("connection_fee").charged
                and r.line("connection_fee").amount == 0
            )
            if exempt != exempt_expected:
                fail.add(f"{n} rows: {exempt} connection-fee exemptions, expected "
                         f"{exempt_expected}")
            else:
                check_lines.append(
                    f"{thousands(n)} rows: crowdfunding exemption applied to "
                    f"{exempt} customers joined in {YEAR}, as expected"
                )
            if any(c != 0 for c in codes):
                fail.add(f"{n} rows: CLI exit codes {codes}; stderr: {err.getvalue()[:500]}")
            else:
                doc = json.loads(out_json.read_text(encoding="utf-8"))
                cli_total = doc["totals"]["total"]
                cli_count = doc["totals"]["customers"]
                if cli_total != money_text(off_sum) or cli_count != n:
                    fail.add(f"{n} rows: CLI JSON says {cli_count} customers, total "
                             f"{cli_total}; in process: {n}, {money_text(off_sum)}")
                else:
                    check_lines.append(
                        f"{thousands(n)} rows: CLI exit 0, JSON totals ({cli_count} customers, "
                        f"{cli_total}) equal the in-process totals; output "
                        f"{out_json.stat().st_size / 1e6:.1f} MB"
                    )
            del without, on_amounts, off_amounts

            if profile and n == max(sizes):
                profiles = profile_runs(n, cli, run)
            del customers

    print(f"\n2. Synthetic registers (random.Random({SEED}); population log-uniform "
          f"{thousands(POP_MIN)}–{thousands(POP_MAX)}; os2_member 50/50; joined 2023-01-01–"
          f"2024-12-31; {EXACT_NAME_SHARE:.0%} exact municipality names, the rest "
          f"'<name> <row>')")
    print(table(["rows", "CSV size", "names in crowdfunding list", f"of those joined {YEAR}",
                 "generate s"], gen_rows))
    print(f"\n3. Evaluation of {tariff_rel}, billing year {YEAR} "
          f"(median of {repeat}; seconds per run of the whole register)")
    print(table(["rows", "what", "seconds", "throughput", "µs per row"], results_rows, left=2))
    print("\n4. Checks")
    for line in check_lines:
        print("  " + line)
    if profiles:
        print("\n5. Profiles (cProfile, after the timed runs; profiling slows everything down)")
        print(profiles, end="")


def profile_runs(n: int, cli: Callable[[], None], run: Callable[[bool], list[Any]]) -> str:
    out = []
    for label, fn in (("evaluate, traces OFF", lambda: run(False)),
                      ("CLI eval --format json (traces off)", cli)):
        prof = cProfile.Profile()
        gc.collect()
        prof.enable()
        fn()
        prof.disable()
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative")
        stats.print_stats(18)
        body = buf.getvalue()
        start = body.find("   ncalls")
        out.append(f"{chr(10) if out else ''}  {label}, {thousands(n)} customers, "
                   "top 18 by cumulative time:\n")
        out.append("".join("    " + ln + "\n" for ln in body[start:].rstrip().splitlines()))
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], metavar="N",
                   help="register sizes (default: 10000 100000)")
    p.add_argument("--repeat", type=int, default=3, metavar="N",
                   help="repeats per measurement; the median is reported (default: 3)")
    p.add_argument("--parse-repeat", type=int, default=None, metavar="N",
                   help="repeats of each parse/check measurement (default: 10 x --repeat; "
                   "a parse takes milliseconds, so more repeats steady the median)")
    p.add_argument("--quick", action="store_true",
                   help="1 000 rows, 1 repeat: a smoke test for CI "
                   "(overrides --rows and the repeats)")
    p.add_argument("--profile", action="store_true",
                   help="also print cProfile hotspots for the largest register")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.repeat, args.parse_repeat = [1_000], 1, 1
    if args.parse_repeat is None:
        args.parse_repeat = 10 * args.repeat
    if args.repeat < 1 or args.parse_repeat < 1 or any(n < 1 for n in args.rows):
        p.error("--rows and the repeats must be positive")

    wall = time.perf_counter()
    t0 = time.perf_counter()
    import takst.cli  # noqa: F401  (the import itself is measured)

    import_s = time.perf_counter() - t0
    print("takst benchmark" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print("  " + line)
    print(f"  settings   rows {', '.join(thousands(n) for n in args.rows)}; "
          f"repeat {args.repeat}, parse repeat {args.parse_repeat} (medians reported); "
          f"import takst.cli {ms(import_s)} ms")

    fail = Failures()
    bench_parse(args.parse_repeat, fail)
    bench_sizes(args.rows, args.repeat, args.profile, fail)

    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_text = f"; peak RSS {peak / 1024:.0f} MiB" if sys.platform != "darwin" \
            else f"; peak RSS {peak / 2**20:.0f} MiB"
    except ImportError:
        peak_text = ""
    print(f"\nwall time {time.perf_counter() - wall:.1f} s{peak_text}")
    if fail.messages:
        print(f"FAILED: {len(fail.messages)} check(s) failed:")
        for m in fail.messages:
            print("  - " + m)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
