#!/usr/bin/env python3
"""The batch engine at scale: whole processes from 10 000 to 10 000 000 customers, and a
3-bracket marginal scale beside numpy and OpenFisca. Every figure of one run, with ratios.

    python bench/bench_scale.py                 # 10 000, 100 000 and 1 000 000 rows
    python bench/bench_scale.py --ten-million   # and 10 000 000 (batch only; minutes, disk)
    python bench/bench_scale.py --quick         # 2 000 rows: a smoke test for CI (seconds)
    python bench/bench_scale.py --rows 50000 --of-python /tmp/ofvenv/bin/python
    python bench/bench_scale.py --rows 1000000 --pairs 12   # batch and floor alternately

1. **OS2 registers, CSV in and out, whole processes** (rules/os2valghalla.tariff, billing
   2024, registers as bench/bench_floor.py writes them): ``takst eval --engine batch`` from the
   CSV register and from the same register as Parquet; the interpreter with traces off (up to
   100 000 rows unless ``--interpreter-million``) and on (up to 10 000 rows); the hand-written
   ``Decimal`` floor with the same CSV I/O (bench/floor_os2.py, up to 1 000 000 rows). Each
   output is compared with the floor's, row for row (exact to the øre). Wall seconds, ns per
   customer, × floor, and each process's peak RSS (``os.wait4`` of the process, from a small
   launcher: bench/bench_floor.py's ``run``). With ``--pairs N``, the batch run from CSV and
   the floor then run N more times each, alternately, at every size the floor runs at: the
   fastest and median of each and their ratios, since a single run of each is at the mercy
   of the machine's other work; every output of the pairs is checked too. The share of CPU
   time the hypervisor took for other guests ("steal", from /proc/stat) is printed beside
   them and for the whole run: a high share slows every process, unevenly.
2. **A 3-bracket marginal scale**: OpenFisca's country-template ``social_security_contribution``
   (bench/scale/social_security_contribution.tariff, the source cited there) on random
   monthly salaries: takst's batch engine in memory (the compiled plan over a DuckDB table,
   results into a table) and as a whole process (CSV in and out); numpy int64 cents (the
   limit) and OpenFisca's float32 ``calculate`` in memory (bench/scale/openfisca_scale.py,
   run with ``--of-python``, default /tmp/ofvenv/bin/python when it exists: a separate venv
   with ``openfisca-country-template``). takst's amounts are checked against the int64 ones;
   OpenFisca's wrong rows are counted.

Exit status 0 when every check passed, 1 when one failed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_eval import machine_info, municipality_names, thousands, write_register  # noqa: E402
from bench_floor import Run, byte_compile, mib, run, table, takst_command  # noqa: E402

OS2 = ROOT / "rules" / "os2valghalla.tariff"
SCALE = HERE / "scale" / "social_security_contribution.tariff"
OF_SCRIPT = HERE / "scale" / "openfisca_scale.py"
FLOOR = HERE / "floor_os2.py"
DEFAULT_OF = Path("/tmp/ofvenv/bin/python")


def ns(seconds: float, rows: int) -> str:
    return f"{seconds / rows * 1e9:,.0f}".replace(",", " ")


def cpu_jiffies() -> tuple[int, int] | None:
    """The machine's (steal, total) CPU time so far, in jiffies (Linux's /proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return values[7], sum(values)


def steal_share(since: tuple[int, int] | None) -> str:
    """The share of CPU time stolen by the hypervisor since ``since``, as a phrase."""
    now = cpu_jiffies()
    if since is None or now is None or now[1] <= since[1]:
        return "steal not known"
    return f"steal {100 * (now[0] - since[0]) / (now[1] - since[1]):.0f}% of CPU time"


def pairs(count: int, batch: Sequence[str], out: Path, floor: Sequence[str],
          floor_out: Path) -> tuple[list[Run], list[Run], int]:
    """Run ``batch`` and ``floor`` alternately ``count`` times each; the runs, and how many
    failed (an exit code, or an output unlike the first single run's)."""
    first, first_floor = out.with_suffix(".first.csv"), floor_out.with_suffix(".first.csv")
    out.replace(first)
    floor_out.replace(first_floor)
    ours: list[Run] = []
    theirs: list[Run] = []
    bad = 0
    try:
        for _ in range(count):
            for cmd, dst, want, runs in ((batch, out, first, ours),
                                         (floor, floor_out, first_floor, theirs)):
                r = run(cmd)
                if r.code or not filecmp.cmp(dst, want, shallow=False):
                    bad += 1
                runs.append(r)
    finally:
        first.replace(out)
        first_floor.replace(floor_out)
    return ours, theirs, bad


def same_rows(a: Path, b: Path) -> bool:
    with a.open(encoding="utf-8", newline="") as fa, b.open(encoding="utf-8", newline="") as fb:
        return all(x == y for x, y in zip(csv.reader(fa), csv.reader(fb), strict=True))


def to_parquet(src: Path, dst: Path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{dst}' "
                "(FORMAT parquet)")
    con.close()


def salaries(n: int, seed: int = 7) -> list[int]:
    """Monthly salaries in cents: every bracket bound and its neighbours, then uniform."""
    rng = random.Random(seed)
    bounds = [0, 1, 599_999, 600_000, 600_001, 1_239_999, 1_240_000, 1_240_001]
    out = bounds[:n]
    out += [rng.randint(0, 3_000_000) for _ in range(n - len(out))]
    return out


def write_salaries(cents: Sequence[int], register: Path, plain: Path) -> None:
    with register.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,name,salary\n")
        for i, c in enumerate(cents):
            fh.write(f"{i},P{i},{c // 100}.{c % 100:02d}\n")
    plain.write_text("\n".join(map(str, cents)) + "\n", encoding="utf-8")


def exact_cents(c: int) -> int:
    total = min(c, 600_000) * 2 + (min(max(c, 600_000), 1_240_000) - 600_000) * 6 \
        + (max(c, 1_240_000) - 1_240_000) * 12
    return (total + 50) // 100


def in_memory_takst(register: Path, year: int) -> tuple[float, int, int]:
    """The compiled plan over the register already in DuckDB, its amounts into a table (as
    OpenFisca's ``calculate`` gives an array): (seconds, rows, sum of the amounts in cents)."""
    from takst.dsl.loader import load_tariff
    from takst.interpreter.batch.columnar import in_order
    from takst.interpreter.batch.duckdb_engine import bounded, run_table
    from takst.io.columnar import load

    tariff = load_tariff(SCALE)
    con = bounded()
    loaded = load(con, register, tariff)
    with in_order(con):
        con.execute("CREATE OR REPLACE TEMP TABLE _mem AS SELECT * FROM _register")
    batch = run_table(tariff, con, "_mem", year, loaded.scales, narrow=loaded.narrow)
    # as BatchRun.write runs it: in 64-bit integers where the salaries fit (they do), in the
    # table's order without a sort (the plan has no join)
    plan = batch.plan.narrowed() if batch.narrow else batch.plan
    assert plan.keeps_order
    with in_order(con):
        start = time.perf_counter()
        con.execute('CREATE OR REPLACE TEMP TABLE _out AS SELECT _row, '
                    f'"social_security_contribution" FROM ({plan.query("_mem", sort=False)}) q')
        seconds = time.perf_counter() - start
    rows, total, moved = con.execute(
        'SELECT count(*), sum("social_security_contribution") * 100, '
        "count(*) FILTER (WHERE _row <> rowid) FROM _out").fetchone()
    if moved:  # the amounts must be in the salaries' order, as OpenFisca's array is
        raise SystemExit(f"scale in memory: {moved} amounts out of the register's order")
    return seconds, int(rows), int(total)


def paired(count: int, n: int, batch: Sequence[str], out: Path, floor: Sequence[str],
           floor_out: Path, fail: Callable[[str], None], checks: list[str]) -> list[str]:
    """``count`` alternate runs of batch and the floor at ``n`` rows, as lines to print."""
    print(f"  {thousands(n)} rows: {count} alternate runs each of batch and the floor ...",
          flush=True)
    since = cpu_jiffies()
    ours, theirs, bad = pairs(count, batch, out, floor, floor_out)
    if bad:
        fail(f"pairs at {n} rows: {bad} run(s) failed or wrote other bytes than the first")
    else:
        checks.append(f"{thousands(n)} rows, the {count} pairs: every output is the same bytes "
                      "as the first run's")
    a = [r.seconds for r in ours]
    f = [r.seconds for r in theirs]
    each = [y / x for x, y in zip(a, f, strict=True)]
    return [
        f"{thousands(n)} rows, {count} alternate runs each ({steal_share(since)}):",
        f"  batch, CSV in: fastest {min(a):.2f} s, median {statistics.median(a):.2f} s",
        f"  floor:         fastest {min(f):.2f} s, median {statistics.median(f):.2f} s",
        f"  floor ÷ batch: fastest {min(f) / min(a):.2f}, median "
        f"{statistics.median(f) / statistics.median(a):.2f}, median of the pairs' "
        f"{statistics.median(each):.2f} (pairs from {min(each):.2f} to {max(each):.2f})",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                   metavar="N", help="register sizes (default: 10000 100000 1000000)")
    p.add_argument("--ten-million", action="store_true", help="also 10 000 000 rows (batch)")
    p.add_argument("--interpreter-million", action="store_true",
                   help="the interpreter (traces off) at 1 000 000 rows too (minutes)")
    p.add_argument("--scale-rows", type=int, default=1_000_000, metavar="N",
                   help="rows of the 3-bracket scale (default 1000000)")
    p.add_argument("--of-python", default=str(DEFAULT_OF) if DEFAULT_OF.exists() else None,
                   metavar="PYTHON", help="a Python with numpy (and openfisca-country-template)")
    p.add_argument("--pairs", type=int, default=0, metavar="N",
                   help="then N alternate runs each of batch (CSV in) and the floor, at the "
                        "sizes the floor runs at: fastest, median and ratios")
    p.add_argument("--quick", action="store_true", help="2 000 rows, a smoke test for CI")
    args = p.parse_args(argv)
    if args.pairs < 0:
        p.error("--pairs must be 0 or more")
    if args.quick:
        args.rows, args.scale_rows, args.ten_million = [2_000], 2_000, False
    if args.ten_million:
        args.rows = sorted({*args.rows, 10_000_000})
    wall = time.perf_counter()
    jiffies = cpu_jiffies()
    takst = takst_command()
    failures: list[str] = []

    def fail(message: str) -> None:
        failures.append(message)
        print("  CHECK FAILED: " + message, flush=True)

    print("takst's batch engine at scale" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print("  " + line)
    print("  " + byte_compile())
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the "
          "machine slows every process alike; compare within one run)", flush=True)
    names = municipality_names()
    rows_out: list[list[str]] = []
    pair_lines: list[str] = []
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="takst-scale-") as tmp:
        folder = Path(tmp)
        for n in args.rows:
            reg = folder / f"os2_{n}.csv"
            write_register(reg, n, names)
            pq = folder / f"os2_{n}.parquet"
            if n < 10_000_000:  # at 10 million, the CSV register only (time and disk)
                to_parquet(reg, pq)
            out = folder / "out.csv"
            floor_out = folder / "floor.csv"
            base = [*takst, "eval", str(OS2), "--year", "2024", "--format", "csv", "--out"]
            runs: list[tuple[str, Run, Path | None]] = []
            floor: Run | None = None
            floor_cmd = [sys.executable, str(FLOOR), str(reg), "2024", str(floor_out)]
            if n <= 1_000_000:
                floor = run(floor_cmd)
                if floor.code:
                    fail(f"floor {n}: exit {floor.code}: {floor.err[:300]}")
                    floor = None
            plan = [("batch, CSV in", [*base, str(out), "--register", str(reg),
                                       "--engine", "batch"])]
            if pq.exists():
                plan.append(("batch, Parquet in", [*base, str(out), "--register", str(pq),
                                                   "--engine", "batch"]))
            if n <= 100_000 or (args.interpreter_million and n <= 1_000_000):
                plan.append(("interpreter, traces off", [*base, str(out), "--register",
                                                         str(reg)]))
            if n <= 10_000:
                plan.append(("interpreter, traces on", [*base, str(out), "--register", str(reg),
                                                        "--trace"]))
            for label, cmd in plan:
                r = run(cmd)
                if r.code:
                    fail(f"{label} {n}: exit {r.code}: {r.err[:300]}")
                    continue
                if floor is not None:
                    if same_rows(out, floor_out):
                        checks.append(f"{thousands(n)} rows, {label}: every row equals the "
                                      "floor's (amounts to the øre, totals, pending)")
                    else:
                        fail(f"{label} {n}: the CSV differs from the floor's")
                runs.append((label, r, out))
                print(f"  {thousands(n)} rows, {label}: {r.seconds:.1f} s", flush=True)
                if args.pairs and floor is not None and label == "batch, CSV in" \
                        and not r.code:
                    pair_lines.extend(paired(args.pairs, n, cmd, out, floor_cmd, floor_out,
                                             fail, checks))
            if floor is not None:
                runs.append(("floor (hand-written Decimal)", floor, None))
            for label, r, _ in runs:
                ratio = f"{floor.seconds / r.seconds:.2f}" if floor else "-"
                rows_out.append([thousands(n), label, f"{r.seconds:.2f}", ns(r.seconds, n),
                                 ratio, f"{r.cpu:.2f}", mib(r.rss_kib)])
            for f in (reg, pq, out, floor_out):
                f.unlink(missing_ok=True)
                Path(str(f) + ".manifest.json").unlink(missing_ok=True)

        print(f"\n1. {OS2.relative_to(ROOT)}, billing 2024: whole processes, CSV out")
        print(table(["rows", "process", "wall s", "ns/customer", "floor ÷ this", "CPU s",
                     "peak RSS MiB"], rows_out))
        for line in pair_lines:
            print("  " + line)

        # ---------------------------------------------------------------- the scale
        n = args.scale_rows
        cents = salaries(n)
        reg, plain = folder / "salaries.csv", folder / "salaries.txt"
        write_salaries(cents, reg, plain)
        exact_total = sum(exact_cents(c) for c in cents)
        scale_rows: list[list[str]] = []
        mem_s, mem_rows, mem_total = in_memory_takst(reg, 2024)
        if mem_rows != n or mem_total != exact_total:
            fail(f"scale in memory: takst's sum {mem_total} cents, exact {exact_total}")
        else:
            checks.append(f"scale, {thousands(n)} rows: takst's amounts sum to the exact "
                          f"{exact_total} cents")
        out = folder / "scale_out.csv"
        whole = run([*takst, "eval", str(SCALE), "--register", str(reg), "--year", "2024",
                     "--format", "csv", "--out", str(out), "--engine", "batch"])
        if whole.code:
            fail(f"scale, whole process: exit {whole.code}: {whole.err[:300]}")
        else:
            with out.open(encoding="utf-8", newline="") as fh:
                got = [r["total"] for r in csv.DictReader(fh)]
            want = [f"{exact_cents(c) // 100}.{exact_cents(c) % 100:02d}" for c in cents]
            wrong = sum(1 for a, b in zip(got, want, strict=True) if a != b)
            if wrong:
                fail(f"scale, whole process: {wrong} rows differ from the exact amounts")
            else:
                checks.append(f"scale, {thousands(n)} rows, whole process: every amount is "
                              "the exact one (int64 cents, half up)")
        scale_rows.append(["takst batch, in memory (the plan's amounts into a table)", ns(mem_s, n),
                           "exact", "-"])
        if not whole.code:
            scale_rows.append(["takst batch, whole process (CSV in and out)",
                               ns(whole.seconds, n), "exact", mib(whole.rss_kib)])
        of: dict[str, object] = {}
        if args.of_python:
            of_out = folder / "of.json"
            done = subprocess.run([args.of_python, str(OF_SCRIPT), str(plain), str(of_out)],
                                  capture_output=True, text=True, check=False)
            if done.returncode:
                fail(f"openfisca_scale.py: exit {done.returncode}: {done.stderr[-300:]}")
            else:
                of = json.loads(of_out.read_text(encoding="utf-8"))
                if of["exact_sum_cents"] != exact_total:
                    fail("numpy int64 differs from the exact sum")
                scale_rows.append(["numpy int64 cents (the limit), in memory",
                                   ns(float(of["numpy_seconds"]), n), "exact", "-"])  # type: ignore[arg-type]
                if "openfisca_seconds" in of:
                    scale_rows.append([
                        "OpenFisca float32 calculate, in memory",
                        ns(float(of["openfisca_seconds"]), n),  # type: ignore[arg-type]
                        f"{of['openfisca_wrong_rows']} rows wrong by up to "
                        f"{of['openfisca_worst_cents']} cent", "-"])
                else:
                    print(f"  OpenFisca: {of.get('openfisca')}")
        else:
            print("  numpy/OpenFisca: no --of-python (python3 -m venv /tmp/ofvenv && "
                  "/tmp/ofvenv/bin/pip install openfisca-country-template)")
        print(f"\n2. {SCALE.relative_to(ROOT)}: {thousands(n)} monthly salaries")
        print(table(["engine", "ns/row", "amounts", "peak RSS MiB"], scale_rows, left=1))
        if "openfisca_seconds" in of:
            ratio = float(of["openfisca_seconds"]) / mem_s  # type: ignore[arg-type]
            print(f"  takst in memory ÷ OpenFisca: {1 / ratio:.2f} (at most 1: takst as fast); "
                  f"÷ numpy: {mem_s / float(of['numpy_seconds']):.1f}")  # type: ignore[arg-type]

    print("\n3. Checks")
    for line in checks:
        print("  " + line)
    print(f"\nwall time {time.perf_counter() - wall:.1f} s ({steal_share(jiffies)})")
    if failures:
        print(f"FAILED: {len(failures)} check(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
