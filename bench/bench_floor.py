#!/usr/bin/env python3
"""takst against a hand-written floor, as whole processes, and one customer against a bare import.

    python bench/bench_floor.py                 # 10 000 and 100 000 rows
    python bench/bench_floor.py --million       # and 1 000 000 rows (minutes, about 2 GiB free)
    python bench/bench_floor.py --quick         # 500 rows, one run each: a CI smoke test
    python bench/bench_floor.py --tariffs os2 --traces off
    python bench/bench_floor.py --rows 20000 200000

For each size it writes synthetic registers for rules/os2valghalla.tariff and
rules/ks_dif_2025.tariff (data/norway_2024.csv's columns), runs
``takst eval TARIFF --register R --year Y --format csv --out F`` as a separate process with
traces off and on, and for OS2 the hand-written floor (bench/floor_os2.py) with the same CSV
I/O, and prints µs per row (wall clock and CPU), the ratio takst/floor and each process's
peak RSS (from ``os.wait4`` in a small launcher). It checks that the floor writes the same
amounts as takst. Then it times the one-customer command ``takst eval
rules/kongsbergregionen.tariff --set population=41000 --set joined=2019-05-01 --year 2019``
against ``python -c "import lark, attrs, decimal, fractions"``.
Exit status: 0 when every check passed, 1 when one failed, 2 for a bad command line. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_eval import machine_info, municipality_names, thousands, write_register  # noqa: E402

OS2 = ROOT / "rules" / "os2valghalla.tariff"
KS = ROOT / "rules" / "ks_dif_2025.tariff"
NORWAY = ROOT / "data" / "norway_2024.csv"
FLOOR = HERE / "floor_os2.py"
SEED = 42
IMPORTS = "import lark, attrs, decimal, fractions"
ONE = ["eval", "rules/kongsbergregionen.tariff", "--set", "population=41000",
       "--set", "joined=2019-05-01", "--year", "2019"]


# ------------------------------------------------------------------ processes


def byte_compile() -> str:
    """Byte-compile takst's modules, as ``pip install`` does, so that no measured process
    compiles source (with ``PYTHONDONTWRITEBYTECODE`` set, as on the build machines, every
    process would, for about a quarter of a second): the line the benchmarks print."""
    import compileall

    ok = all(compileall.compile_dir(str(ROOT / part), quiet=1)
             for part in ("src", "interpreter", "dsl", "stdlib") if (ROOT / part).is_dir())
    return ("takst's modules byte-compiled first (as pip install does)" if ok
            else "takst's modules could not all be byte-compiled: processes compile source")


def takst_command() -> list[str]:
    """The ``takst`` console script of this Python, else ``python -m takst``."""
    script = Path(sys.executable).with_name("takst")
    found = script if script.exists() else shutil.which("takst")
    return [str(found)] if found else [sys.executable, "-m", "takst"]


class Run:
    """One finished process: wall and CPU seconds, peak RSS, exit code, standard error."""

    def __init__(self, seconds: float, cpu: float, rss_kib: int, code: int, err: str) -> None:
        self.seconds, self.cpu, self.rss_kib, self.code, self.err = (
            seconds, cpu, rss_kib, code, err)


#: Starts a command and reports its wall and CPU seconds, peak RSS and exit code. The
#: measured process is started from this small launcher, not from the benchmark: on Linux a
#: process started from a big one counts that one's memory in its peak RSS (the exec
#: keeps the high-water mark of the memory it replaces).
LAUNCHER = """\
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
_, status, use = os.wait4(pid, 0)
seconds = time.perf_counter() - start
print(seconds, use.ru_utime + use.ru_stime, use.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run(cmd: Sequence[str]) -> Run:
    """Run a process to its end: wall seconds, CPU seconds, its own peak RSS, exit code,
    standard error."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.posix_spawn(sys.executable, [sys.executable, "-c", LAUNCHER, *cmd],
                             dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, _ = os.wait4(pid, 0)
        out.seek(0)
        err.seek(0)
        report = out.read().decode("ascii", "replace").split()
        text = err.read().decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0 or len(report) != 4:
        return Run(0.0, 0.0, 0, 1, "the launcher failed: " + text)
    seconds, cpu, rss, code = report
    kib = int(rss) if sys.platform != "darwin" else int(rss) // 1024
    return Run(float(seconds), float(cpu), kib, int(code), text)


def best(repeat: int, cmd: Sequence[str]) -> Run:
    """The fastest of ``repeat`` runs (the least disturbed by other work on the machine)."""
    runs = [run(cmd) for _ in range(repeat)]
    return min(runs, key=lambda r: r.seconds)


def median_seconds(repeat: int, cmd: Sequence[str]) -> tuple[float, float, Run]:
    """Median wall and CPU seconds of ``repeat`` runs, and the last run."""
    runs = [run(cmd) for _ in range(repeat)]
    return (statistics.median(r.seconds for r in runs),
            statistics.median(r.cpu for r in runs), runs[-1])


# ------------------------------------------------------------------ registers


def write_ks_register(path: Path, rows: int) -> None:
    """KS DIF customers with data/norway_2024.csv's columns: a tenth county councils,
    populations log-uniform from 200 to 720 000; the optional inputs left out."""
    with NORWAY.open(encoding="utf-8", newline="") as fh:
        base = list(csv.DictReader(fh))
    counties = sorted({r["county"] for r in base})
    rng = random.Random(SEED)
    lo, hi = math.log(200), math.log(720_000)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "name", "customer_type", "population", "county"])
        for i in range(1, rows + 1):
            county = rng.random() < 0.1
            w.writerow([f"{i:07d}", f"{rng.choice(base)['name']} {i}",
                        "FYLKESKOMMUNE" if county else "KOMMUNE",
                        round(math.exp(rng.uniform(lo, hi))), rng.choice(counties)])


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


# ------------------------------------------------------------------ the benchmark


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def per_row(seconds: float, rows: int) -> str:
    return f"{seconds / rows * 1e6:.1f}"


def table(heads: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> str:
    widths = [max(len(x) for x in col) for col in zip(heads, *rows, strict=True)]
    lines = []
    for cells in (heads, ["-" * w for w in widths], *rows):
        lines.append("  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    return "\n".join("  " + ln.rstrip() for ln in lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], metavar="N",
                   help="register sizes (default: 10000 100000)")
    p.add_argument("--million", action="store_true", help="also 1 000 000 rows")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="runs of each register process; the fastest is shown (default 1)")
    p.add_argument("--one-repeat", type=int, default=7, metavar="N",
                   help="runs of the one-customer command and the bare import; medians "
                   "(default 7)")
    p.add_argument("--tariffs", nargs="+", choices=["os2", "ks"], default=["os2", "ks"],
                   help="which tariffs to bill (default: both)")
    p.add_argument("--traces", choices=["off", "on", "both"], default="both",
                   help="run takst with traces off, on or both (default: both)")
    p.add_argument("--quick", action="store_true",
                   help="500 rows, one run each, 3 one-customer runs: a smoke test for CI")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.repeat, args.one_repeat, args.million = [500], 1, 3, False
    if args.million:
        args.rows = sorted({*args.rows, 1_000_000})
    if args.repeat < 1 or args.one_repeat < 1 or any(n < 1 for n in args.rows):
        p.error("--rows and the repeats must be positive")

    wall = time.perf_counter()
    os.chdir(ROOT)  # the one-customer command names its tariff as a user would type it
    takst = takst_command()
    print("takst against the hand-written floor" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print("  " + line)
    print("  " + byte_compile())
    print(f"  takst      {' '.join(takst)}; floor {FLOOR.relative_to(ROOT)}; "
          f"fastest of {args.repeat} run(s) per process")
    failures: list[str] = []

    def fail(message: str) -> None:
        failures.append(message)
        print("  CHECK FAILED: " + message)

    names = municipality_names()
    results: list[list[str]] = []
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="takst-floor-") as tmp:
        folder = Path(tmp)
        for n in args.rows:
            for key, label, tariff, year in (("os2", "OS2", OS2, 2024), ("ks", "KS DIF", KS, 2025)):
                if key not in args.tariffs:
                    continue
                reg = folder / f"{label.replace(' ', '_')}_{n}.csv"
                if tariff is OS2:
                    write_register(reg, n, names)
                else:
                    write_ks_register(reg, n)
                out = {k: folder / f"out_{k}.csv" for k in ("off", "on", "floor")}
                base = [*takst, "eval", str(tariff), "--register", str(reg), "--year", str(year),
                        "--format", "csv", "--out"]
                off = on = None
                if args.traces in ("off", "both"):
                    off = best(args.repeat, [*base, str(out["off"])])
                if args.traces in ("on", "both"):
                    on = best(args.repeat, [*base, str(out["on"]), "--trace"])
                for what, r in (("traces off", off), ("traces on", on)):
                    if r is not None and r.code != 0:
                        fail(f"{label} {n} rows, takst {what}: exit {r.code}: {r.err[:300]}")
                floor = None
                takst_out = out["off"] if off is not None else out["on"]
                takst_ok = all(r is None or r.code == 0 for r in (off, on))
                if tariff is OS2:
                    floor = best(args.repeat, [sys.executable, str(FLOOR), str(reg), str(year),
                                               str(out["floor"])])
                    if floor.code != 0:
                        fail(f"OS2 {n} rows, floor: exit {floor.code}: {floor.err[:300]}")
                    elif takst_ok:
                        got, want = read_rows(out["floor"]), read_rows(takst_out)
                        if got != want:
                            bad = [i for i, (a, b) in enumerate(zip(got, want, strict=False))
                                   if a != b][:3]
                            fail(f"OS2 {n} rows: the floor differs from takst ({len(got)} vs "
                                 f"{len(want)} rows; first differing: "
                                 f"{[(got[i], want[i]) for i in bad]})")
                        else:
                            checks.append(f"OS2 {thousands(n)} rows: the floor's CSV equals "
                                          f"takst's, row for row ({thousands(len(got) - 1)} "
                                          "customers, every amount, total and pending)")
                if (off is not None and on is not None and takst_ok
                        and read_rows(out["on"]) != read_rows(out["off"])):
                    fail(f"{label} {n} rows: traces on and off write different CSV")
                for what, r in (("takst, traces off", off), ("takst, traces on", on),
                                ("floor (hand-written Decimal)", floor)):
                    if r is None:
                        continue
                    ratio = f"{r.seconds / floor.seconds:.1f}" if floor else "-"
                    cpu_ratio = f"{r.cpu / floor.cpu:.1f}" if floor else "-"
                    results.append([thousands(n), label, what, f"{r.seconds:.2f}",
                                    per_row(r.seconds, n), ratio, f"{r.cpu:.2f}",
                                    per_row(r.cpu, n), cpu_ratio, mib(r.rss_kib)])
                for f in (reg, *out.values()):
                    f.unlink(missing_ok=True)
                    Path(str(f) + ".manifest.json").unlink(missing_ok=True)

    print(f"\n1. Whole processes over a register, CSV in and out ({OS2.relative_to(ROOT)} "
          f"billing 2024, {KS.relative_to(ROOT)} billing 2025)")
    print(table(["rows", "tariff", "process", "wall s", "µs/row", "× floor", "CPU s",
                 "CPU µs/row", "CPU × floor", "peak RSS MiB"], results, left=3))

    one_s, one_cpu, one = median_seconds(args.one_repeat, [*takst, *ONE])
    bare_s, bare_cpu, bare = median_seconds(args.one_repeat, [sys.executable, "-c", IMPORTS])
    if one.code != 0:
        fail(f"one-customer command: exit {one.code}: {one.err[:300]}")
    print(f"\n2. One customer as a whole process (median of {args.one_repeat})")
    print(table(["process", "wall ms", "× bare import", "CPU ms", "CPU × bare",
                 "peak RSS MiB"], [
        ["takst " + " ".join(ONE), f"{one_s * 1000:.0f}", f"{one_s / bare_s:.2f}",
         f"{one_cpu * 1000:.0f}", f"{one_cpu / bare_cpu:.2f}", mib(one.rss_kib)],
        [f'python -c "{IMPORTS}"', f"{bare_s * 1000:.0f}", "1.00", f"{bare_cpu * 1000:.0f}",
         "1.00", mib(bare.rss_kib)],
    ], left=1))

    print("\n3. Checks")
    for line in checks:
        print("  " + line)
    print(f"\nwall time {time.perf_counter() - wall:.1f} s")
    if failures:
        print(f"FAILED: {len(failures)} check(s) failed:")
        for m in failures:
            print("  - " + m)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
