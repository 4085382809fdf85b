#!/usr/bin/env python3
"""The 3-bracket scale outside takst: numpy int64 (the limit) and OpenFisca's float32 calculate.

    PYTHON bench/scale/openfisca_scale.py SALARIES.txt OUT.json

Run by bench/bench_scale.py with a Python that has numpy (and, if installed,
``openfisca-country-template``: ``python3 -m venv /tmp/ofvenv && /tmp/ofvenv/bin/pip install
openfisca-country-template``). SALARIES.txt holds one salary in cents a line. Writes JSON:
seconds of each calculation (in memory, the inputs already loaded), the exact contributions'
sum in cents, and for OpenFisca how many rows differ from the exact amount (rounded half up
to the cent) and by how much at most. The exact amount is computed in int64 cents:
2 % up to 6 000, 6 % from 6 000 to 12 400, 12 % above (the brackets of
openfisca_country_template/parameters/taxes/social_security_contribution.yaml from 2017).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def exact_cents(cents: np.ndarray) -> np.ndarray:
    """The contribution in cents, rounded half up, computed in int64 (percent × cents)."""
    low = np.minimum(cents, 600_000) * 2
    middle = np.clip(cents, 600_000, 1_240_000) - 600_000
    high = np.maximum(cents, 1_240_000) - 1_240_000
    total = low + middle * 6 + high * 12  # in cents × 1/100
    return (total + 50) // 100


def main() -> int:
    salaries, out = sys.argv[1], sys.argv[2]
    cents = np.loadtxt(salaries, dtype=np.int64)
    result: dict[str, object] = {"rows": int(cents.size)}
    exact_cents(cents[:10])  # warm up
    start = time.perf_counter()
    exact = exact_cents(cents)
    result["numpy_seconds"] = time.perf_counter() - start
    result["exact_sum_cents"] = int(exact.sum())
    try:
        from openfisca_core.simulation_builder import SimulationBuilder
        from openfisca_country_template import CountryTaxBenefitSystem
    except ImportError as err:
        result["openfisca"] = f"not installed: {err}"
    else:
        tbs = CountryTaxBenefitSystem()
        sim = SimulationBuilder().build_default_simulation(tbs, count=int(cents.size))
        sim.set_input("salary", "2024-01", (cents / 100).astype(np.float32))
        start = time.perf_counter()
        got = sim.calculate("social_security_contribution", "2024-01")
        result["openfisca_seconds"] = time.perf_counter() - start
        got_cents = np.rint(got.astype(np.float64) * 100).astype(np.int64)
        wrong = got_cents != exact
        result["openfisca"] = "openfisca-country-template, float32"
        result["openfisca_wrong_rows"] = int(wrong.sum())
        result["openfisca_worst_cents"] = int(np.abs(got_cents - exact).max())
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
