"""`takst eval --engine`: the compiled engine through the session and the command line,
with the same results as the interpreter, and an honest note when it cannot compile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paths import run

pytest.importorskip("duckdb")

REGISTERS = [
    ("rules/os2valghalla.tariff", "data/os2valghalla_demo_2024.csv", "2024", []),
    ("rules/ks_dif_2025.tariff", "data/norway_2024.csv", "2025", []),
    ("rules/serviceplatformen_pool.tariff", "data/denmark_municipalities_2023.csv", "2019",
     ["--set", "expected_cost=11000000", "--set", "true_up=509168.34"]),
]


@pytest.mark.parametrize(("tariff", "register", "year", "sets"), REGISTERS)
def test_batch_and_interpreter_write_the_same_csv(tmp_path: Path, tariff: str, register: str,
                                                   year: str, sets: list[str]) -> None:
    """Every amount of a seed register is the same, byte for byte, under both engines; the
    manifest records the engine, and verify replays it."""
    outs = {}
    for engine in ("interpreter", "batch"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = run("eval", tariff, "--register", register, "--year", year, *sets,
                           "--format", "csv", "--out", str(out), "--engine", engine)
        assert code == 0, err
        assert err == ""
        outs[engine] = out.read_bytes()
    assert outs["batch"] == outs["interpreter"]
    manifest = json.loads((tmp_path / "batch.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["manifest"]["request"]["engine"] == "batch"
    code, out, err = run("verify", str(tmp_path / "batch.csv"))
    assert code == 0, err
    assert out.startswith("identical: ")


def test_a_tariff_that_does_not_compile_is_billed_by_the_interpreter_with_a_note(
        tmp_path: Path) -> None:
    """The batch engine never gives a number it cannot compute exactly: it names the
    charge and the construct (at the charge's line), and the interpreter bills."""
    tariff = tmp_path / "t.tariff"
    tariff.write_text('tariff t "T"\n  currency DKK\n  source "s"\n\ninput n "N": number\n\n'
                      "charge c \"C\" every year\n  amount 100 DKK / n\n", encoding="utf-8")
    code, out, err = run("eval", str(tariff), "--set", "n=8", "--year", "2024",
                         "--format", "json", "--engine", "batch")
    assert code == 0, err
    assert err == (f"takst: note: the batch engine cannot compile charge c: an amount divided by "
                   f"a customer's value with no rounding ({tariff}:7); this tariff is "
                   "evaluated by the interpreter\n")
    amounts = [line["amount"] for c in json.loads(out)["customers"] for line in c["lines"]]
    assert amounts == ["12.50"]
