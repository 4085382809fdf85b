"""The command line end to end: check, eval, explain, test, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA, ROOT, run

OS2 = "rules/os2valghalla.tariff"
KB = "rules/kongsbergregionen.tariff"
DEMO = "data/os2valghalla_demo_2024.csv"


def test_check_rules_is_clean() -> None:
    """`takst check rules/` reports every seed tariff ok and exits 0."""
    code, out, err = run("check", "rules/")
    assert code == 0, err
    assert f"{OS2}: ok" in out and f"{KB}: ok" in out
    assert "rules/ks_dif_2025.tariff: ok" in out
    assert err == ""


def test_check_reports_positioned_errors(tmp_path: Path) -> None:
    """A broken tariff gives file:line:col diagnostics with a hint and exit code 1."""
    bad = tmp_path / "bad.tariff"
    bad.write_text(
        'tariff t "T"\n  currency DKK\n  source "s"\n'
        "input population: inhabitants\n"
        "bands size by population\n"
        "  small below 25_000\n"
        "  medium from 25_001\n"
        "charge fee every year\n"
        "  table by size\n"
        "    small 1\n"
        "    medium 2\n",
        encoding="utf-8",
    )
    code, _, err = run("check", str(bad))
    assert code == 1
    assert f"{bad}:7:3: error: 25 000 falls in no band of size" in err
    assert "  hint: decide which band 25 000 belongs to" in err
    assert "Traceback" not in err


def test_eval_register_table_has_all_98() -> None:
    """The main job prints one row per Danish municipality and a total."""
    code, out, err = run("eval", OS2, "--register", DEMO, "--year", "2024")
    assert code == 0, err
    assert "OS2valghalla 3.0 — billing year 2024 — amounts in DKK" in out
    assert "98 customers" in out
    rows = [ln for ln in out.splitlines() if ln[:4].isdigit()]
    assert len(rows) == 98
    assert any(ln.startswith("0101  København") for ln in rows)


def test_eval_json_shape() -> None:
    """`--format json` has the documented shape, with amounts as decimal strings."""
    code, out, err = run("eval", OS2, "--register", DEMO, "--year", "2024", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["tariff"] == "os2valghalla"
    assert doc["year"] == 2024
    assert doc["currency"] == "DKK"
    assert len(doc["customers"]) == 98
    first = doc["customers"][0]
    assert first["id"] == "0101" and first["name"] == "København"
    assert [ln["charge"] for ln in first["lines"]] == ["annual_fee", "connection_fee",
                                                      "operations_fee"]
    for cust in doc["customers"]:
        known = Decimal(0)
        for ln in cust["lines"]:
            assert ln["status"] in ("ok", "pending")
            assert isinstance(ln["label"], str)
            if ln["status"] == "ok":
                assert ln["amount"] == f"{Decimal(ln['amount']):.2f}"
                known += Decimal(ln["amount"])
            else:
                assert ln["amount"] is None
        assert cust["total"] == f"{known:.2f}"


def test_eval_json_amounts_match_the_table() -> None:
    """JSON, CSV and the table give the same totals for every customer."""
    _, js, _ = run("eval", OS2, "--register", DEMO, "--year", "2023", "--format", "json")
    _, cs, _ = run("eval", OS2, "--register", DEMO, "--year", "2023", "--format", "csv")
    totals_json = {c["id"]: c["total"] for c in json.loads(js)["customers"]}
    lines = cs.splitlines()
    assert lines[0] == "id,name,annual_fee,connection_fee,operations_fee,total,pending"
    totals_csv = {ln.split(",")[0]: ln.split(",")[-2] for ln in lines[1:]}
    assert totals_json == totals_csv


def test_eval_is_deterministic(tmp_path: Path) -> None:
    """Two runs over the same inputs write byte-identical files."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for target in (a, b):
        code, _, err = run("eval", OS2, "--register", DEMO, "--year", "2024", "--format", "json",
                           "--trace", "--out", str(target))
        assert code == 0, err
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_bytes()) > 10_000


def test_eval_with_set() -> None:
    """`--set` evaluates one customer and prints its worksheet."""
    code, out, err = run("eval", OS2, "--set", "population=41000", "--set", "os2_member=true",
                         "--set", "joined=2023-11-01", "--set", "name=Vejle", "--year", "2023",
                         "--locale", "en")
    assert code == 0, err
    assert "Customer: Vejle" in out
    assert "prorated 1/4" in out
    assert "Total (not including pending: operations_fee) " in out
    assert out.rstrip().endswith("78 720.00")


def test_eval_set_missing_input_is_a_usage_error() -> None:
    """Leaving out an input says which and how to give it."""
    code, out, err = run("eval", OS2, "--set", "population=41000", "--year", "2024")
    assert code == 2
    assert "no value for os2_member, joined" in err
    assert "--set os2_member=..." in err
    assert out == ""


def test_eval_without_year_asks_for_it() -> None:
    """Without --year the command says which option is missing."""
    code, _, err = run("eval", OS2, "--register", DEMO)
    assert code == 2
    assert "which billing year?" in err and "--year" in err


def test_explain_by_name_and_id() -> None:
    """`explain` finds a customer by id or name and prints the same worksheet."""
    code, by_name, err = run("explain", OS2, "--register", DEMO, "--customer", "kolding",
                             "--year", "2024", "--locale", "en")
    assert code == 0, err
    code, by_id, _ = run("explain", OS2, "--register", DEMO, "--customer", "0621", "--year", "2024",
                         "--locale", "en")
    assert by_name == by_id
    assert "Customer: 0621 Kolding" in by_id
    assert "population 94 528 is in size large" in by_id


def test_explain_unknown_customer_suggests() -> None:
    """An unknown customer name gives close matches from the register."""
    code, _, err = run("explain", OS2, "--register", DEMO, "--customer", "Frederiks", "--year",
                       "2024")
    assert code == 2
    assert "no customer 'Frederiks'" in err
    assert "Frederiksberg (0147)" in err


def test_register_problems_are_all_reported_and_nothing_written(tmp_path: Path) -> None:
    """A broken register lists every bad cell by row and column, and --out is left alone."""
    reg = tmp_path / "reg.csv"
    reg.write_text(
        "id,name,customer_type,population,os2_member,joined\n"
        "0101,København,KOMMUNE,653664,true,2024-01-01\n"
        "0147,Frederiksberg,KOMMUNE,104.664,true,2024-01-01\n"
        "0151,Ballerup,KOMMUNE,50039,maybe,2024-13-01\n"
        "0101,Igen,KOMMUNE,1,false,2024-01-01\n",
        encoding="utf-8",
    )
    target = tmp_path / "out.json"
    target.write_text("previous result", encoding="utf-8")
    code, _, err = run("eval", OS2, "--register", str(reg), "--year", "2024", "--format",
                         "json", "--out", str(target))
    assert code == 1
    assert f"{reg}, row 3, column population: error:" in err
    assert f"{reg}, row 4, column os2_member: error:" in err
    assert f"{reg}, row 4, column joined: error:" in err
    assert f"{reg}, row 5, column id: error: id 0101 is already used in row 2" in err
    assert "Traceback" not in err
    assert target.read_text(encoding="utf-8") == "previous result"
    assert list(tmp_path.iterdir()) == [reg, target] or sorted(tmp_path.iterdir()) == sorted(
        [reg, target]
    )


def test_register_missing_column(tmp_path: Path) -> None:
    """A register without a column the tariff needs names the column and lists those present."""
    reg = tmp_path / "reg.csv"
    reg.write_text("id,name,population\n1,A,100\n", encoding="utf-8")
    code, _, err = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1
    assert "the register has no column os2_member" in err
    assert "the register has no column joined" in err
    assert "the columns are: id, name, population" in err


def test_test_command_passes_on_rules() -> None:
    """`takst test rules/` runs every example and ends with a pass/fail count."""
    code, out, err = run("test", "rules/")
    assert code == 0, out + err
    examples = sum(t.read_text(encoding="utf-8").count("\nexample ")
                   + t.read_text(encoding="utf-8").count("\nproperty ")
                   for t in (ROOT / "rules").glob("*.tariff"))
    assert examples >= 41  # examples and declared properties
    assert out.splitlines()[-1] == f"{examples} passed, 0 failed"


def test_test_command_shows_expected_actual_and_trace(tmp_path: Path) -> None:
    """A wrong expectation fails with expected vs actual per charge and the actual's trace."""
    text = (ROOT / OS2).read_text(encoding="utf-8").replace(
        "expect annual_fee 11_445, connection_fee 0", "expect annual_fee 11_446, connection_fee 0"
    )
    wrong = tmp_path / "wrong.tariff"
    wrong.write_text(text, encoding="utf-8")
    code, out, _ = run("test", str(wrong))
    assert code == 1
    assert "failed" in out
    assert "annual_fee       11 446.00       11 445.00" in out
    assert "  | 1. Årligt vederlag (annual_fee)" in out
    assert "prorated 1/4" in out
    assert out.splitlines()[-1] == "15 passed, 1 failed"  # 11 examples and 4 properties pass


def test_missing_file_is_a_plain_error() -> None:
    """A tariff path that does not exist is reported in words, not as a traceback."""
    code, _, err = run("check", "rules/nope.tariff")
    assert code == 1
    assert "no tariff file rules/nope.tariff" in err
    assert "Traceback" not in err


def test_console_script_and_module_entry_points() -> None:
    """The installed `takst` script and `python -m takst` both run."""
    version = subprocess.run(["takst", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "takst 0.1.0"
    mod = subprocess.run([sys.executable, "-m", "takst", "check", str(ROOT / "rules")],
                         capture_output=True, text=True, cwd=DATA)
    assert mod.returncode == 0, mod.stderr
    assert mod.stdout.count(": ok") == len(list((ROOT / "rules").glob("*.tariff")))


INEXACT = '''tariff inexact "Inexact params"
  currency EUR
  source "issue 12"

input value "Value": money

param third = 10 EUR / 3

charge fee "Fee" every year
  amount 100 EUR
  except value < third -> 0 EUR "small"

example "below a third"
  given value 3.33
  billing year 2024
  expect fee 0

example "above a third"
  given value 3.34
  billing year 2024
  expect fee 100
'''


def test_a_param_with_no_exact_decimal_in_a_condition_checks_evaluates_and_tests(
        tmp_path: Path) -> None:
    """`except value < third` with third = 10 EUR / 3: check, eval and test all succeed
    (once exit 70, decimal.Inexact)."""
    path = tmp_path / "inexact.tariff"
    path.write_text(INEXACT, encoding="utf-8")
    assert run("check", str(path))[0] == 0
    code, out, err = run("test", str(path))
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed"), out + err
    code, out, err = run("eval", str(path), "--year", "2024", "--set", "value=3.33",
                         "--format", "json")
    assert code == 0, err
    assert json.loads(out)["customers"][0]["lines"][0]["amount"] == "0.00"


def test_one_file_that_crashes_does_not_stop_the_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal error in one file is that file's failure, named, with the usual request to
    report it; the files after it still run, the summary counts it, and the exit is 70."""
    import takst.testing.specs as specs

    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.tariff").write_text(INEXACT.replace("inexact", name),
                                                 encoding="utf-8")
    real = specs.run_examples

    def crash_on_b(evaluator: object, *args: object, **kwargs: object) -> object:
        if evaluator.tariff.file.endswith("b.tariff"):  # type: ignore[attr-defined]
            raise ZeroDivisionError("a bug")
        return real(evaluator, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(specs, "run_examples", crash_on_b)
    monkeypatch.delenv("TAKST_DEBUG", raising=False)
    code, out, err = run("test", str(tmp_path))
    lines = out.splitlines()
    assert code == 70, out + err
    assert f"{tmp_path / 'a.tariff'}: 2 of 2 examples passed  ok" in lines
    assert f"{tmp_path / 'c.tariff'}: 2 of 2 examples passed  ok" in lines
    assert (f"{tmp_path / 'b.tariff'}: internal error (a bug in takst, not in your files): "
            "ZeroDivisionError: a bug") in lines
    assert ("  Please report it with the command you ran. Run with TAKST_DEBUG=1 to see "
            "details.") in lines
    assert f"{tmp_path / 'b.tariff'}: FAILED (internal error)" in lines
    assert lines[-1] == "4 passed, 1 failed (1 by an internal error)"
    assert "Traceback" not in out + err
