"""`takst eval --engine`: the compiled engine through the session and the command line,
with the same results as the interpreter, and an honest note when it cannot compile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paths import RULES, run

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


NAMES = ["københavn", "Ballerup", "AARHUS", "Skive Kommune", "ringkøbing\u2013skjern",
         "Vejen 2", "vejen", "Ørsted", "Odense\u00a0", "Syddjurs"]


@pytest.mark.parametrize("clean", [False, True])
@pytest.mark.parametrize("out", ["results.csv", "results.parquet", None])
def test_both_engines_warn_of_the_same_look_alike_names(tmp_path: Path, out: str | None,
                                                        clean: bool) -> None:
    """A name that matches a list entry only loosely is warned of by either engine, with
    its row, also when the batch engine writes its results to a file itself, and when
    every name is in its clean form (the batch engine then reads the names as they are in
    the file, not through its typed view)."""
    names = [n.replace("\u00a0", "").replace("\u2013", "-") for n in NAMES] if clean else NAMES
    register = tmp_path / "r.csv"
    register.write_text("id,name,customer_type,population,os2_member,joined\n" + "".join(
        f"{i:04d},{n},KOMMUNE,{1000 + i},true,2024-08-22\n" for i, n in enumerate(names)),
        encoding="utf-8")
    warned = {}
    for engine in ("interpreter", "batch"):
        if out and out.endswith(".parquet") and engine == "interpreter":
            target = ["--format", "csv", "--out", str(tmp_path / "i.csv")]
        elif out:
            target = ["--format", out.rsplit(".", 1)[1], "--out", str(tmp_path / f"{engine}{out}")]
        else:
            target = ["--format", "json"]
        code, _, err = run("eval", "rules/os2valghalla.tariff", "--register", str(register),
                           "--year", "2024", *target, "--engine", engine)
        assert code == 0, err
        warned[engine] = [ln.split(": warning: ")[0] for ln in err.splitlines()
                          if ": warning: " in ln]
    if clean:  # the batch engine read the names as they are
        from takst.dsl.loader import load_tariff
        from takst.interpreter.batch.duckdb_engine import connect
        from takst.io import columnar

        loaded = columnar.load(connect(), register, load_tariff(RULES / "os2valghalla.tariff"))
        assert loaded.names == ("_raw", "c1")
    rows = [f"{register}, row {k}" for k in (2, 4, 6, 8)]  # københavn, AARHUS, ringkøbing,
    assert warned["interpreter"] == rows                   # vejen
    assert warned["batch"] == rows
