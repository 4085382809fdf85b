#!/usr/bin/env python3
"""Every example block of rules/, stdlib/, docs/examples/ and tests/fixtures/ under the
interpreter and the Spark engine (local mode, 127.0.0.1 only): cases, amounts, mismatches,
and the time each tariff takes. CI runs a subset (tests/test_spark.py); this runs them all.

    python bench/spark_diff.py [--master local[2]] [TARIFF ...]

Exits 1 on any mismatch, or on a fallback other than the documented ones: a tariff with
one of issue 12's constructs that no engine compiles yet (``not_compiled`` names it, and the
manual lists it) is billed by the interpreter and is only listed. Needs the spark extra and
Java 17.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from batch_diff import documented_fallback  # noqa: E402
from spark_diff import Figures, run_tariff, tariffs  # noqa: E402

from takst.interpreter.batch.spark_engine import (  # noqa: E402
    SparkEngine,
    available,
    spark_session,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tariffs", nargs="*", help="tariff files (default: every folder)")
    ap.add_argument("--master", default=None, help="the Spark master (default local[2])")
    args = ap.parse_args()
    missing = available()
    if missing:
        print(f"spark_diff: {missing}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    spark_session(args.master)
    started = time.perf_counter() - t0
    print(f"Spark session started in {started:.1f} s", flush=True)
    paths = [Path(p).resolve() for p in args.tariffs] or tariffs()
    fig = Figures()
    documented: set[str] = set()  # the fallbacks the manual lists (issue 12's constructs)
    for path in paths:
        line = documented_fallback(path, "Spark")
        if line is not None:
            documented.add(line)
        t = time.perf_counter()
        cases = fig.cases
        run_tariff(path, fig, lambda tariff: SparkEngine(tariff, checked=True,
                                                         master=args.master))
        print(f"{path.relative_to(ROOT)}: {fig.cases - cases} cases in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
    total = time.perf_counter() - t0
    print(f"\ncases {fig.cases}, amounts {fig.amounts}, errors alike {fig.errors_alike}, "
          f"mismatches {len(fig.mismatches)}, fallbacks {len(fig.fallbacks)}; "
          f"{total:.1f} s in all ({started:.1f} s starting Spark)")
    for line in fig.mismatches + fig.fallbacks:
        print("  " + line + (" (documented)" if line in documented else ""))
    unexpected = set(fig.fallbacks) - documented
    return 1 if fig.mismatches or unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
