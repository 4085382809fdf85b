#!/usr/bin/env python3
"""Every example block of rules/, stdlib/, docs/examples/ and tests/fixtures/ under the
interpreter and the Spark engine (local mode, 127.0.0.1 only): cases, amounts, mismatches,
and the time each tariff takes. CI runs a subset (tests/test_spark.py); this runs them all.

    python bench/spark_diff.py [--master local[2]] [TARIFF ...]

Exits 1 on any mismatch or fallback. Needs the spark extra and Java 17.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

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
    for path in paths:
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
        print("  " + line)
    return 1 if fig.mismatches or fig.fallbacks else 0


if __name__ == "__main__":
    sys.exit(main())
