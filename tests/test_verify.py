"""Reproducibility manifests and `takst verify`: a result records its inputs and is rechecked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from paths import run_here as run

from takst import __version__
from takst.cli import main
from takst.dsl.parser import parse_file
from takst.provenance.manifest import sidecar_path, tariff_sources
from takst.session import Request

TARIFF = "rules/os2valghalla.tariff"
REGISTER = "data/os2valghalla_demo_2024.csv"
#: The start of København's first line in a JSON result.
KBH = '"id": "0101", "name": "København", "lines": [{"charge": "annual_fee", ' \
      '"label": "Årligt vederlag", '
EVAL = ("eval", TARIFF, "--register", REGISTER, "--year", "2024")




def sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def produce(fmt: str = "json", out: str | None = None, *extra: str) -> Path:
    target = out or f"result.{fmt}"
    code, _, err = run(*EVAL, "--format", fmt, "--out", target, *extra)
    assert code == 0, err
    return Path(target)


def edit(path: str | Path, old: str, new: str) -> None:
    text = Path(path).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    Path(path).write_text(text.replace(old, new), encoding="utf-8")


def amounts(result: Path, charge: str, value: str) -> list[str]:
    doc = json.loads(result.read_text(encoding="utf-8"))
    return [c["id"] + " " + c["name"] for c in doc["customers"]
            for ln in c["lines"] if ln["charge"] == charge and ln["amount"] == value]


# ------------------------------------------------------------------ the manifest


def test_json_manifest_records_files_and_the_request(work: Path) -> None:
    """A JSON result starts with a manifest of the version, file hashes and the request."""
    result = produce("json")
    lines = result.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith('  "manifest": {')
    doc = json.loads(result.read_text(encoding="utf-8"))
    assert doc["manifest"] == {
        "manifest_version": 2,
        "takst_version": __version__,
        "tariffs": [{"path": TARIFF, "sha256": sha(TARIFF)}],
        "register": {"path": REGISTER, "sha256": sha(REGISTER), "rows": 98},
        "request": {"tariff": TARIFF, "year": 2024, "register": REGISTER, "values": [],
                    "settings": [], "dialect": {"delimiter": None, "decimal": None},
                    "engine": "interpreter", "trace": False},
    }
    assert list(doc)[1:] == ["tariff", "title", "file", "year", "currency", "charges",
                             "customers", "totals"]
    assert len(doc["customers"]) == 98


def test_eval_twice_gives_identical_json_bytes(work: Path) -> None:
    """Two runs over the same inputs write byte-identical JSON, whatever the output is called."""
    a = produce("json", "a.json", "--trace")
    b = produce("json", "b.json", "--trace")
    assert a.read_bytes() == b.read_bytes()
    code, stdout, _ = run(*EVAL, "--format", "json", "--trace")
    assert code == 0 and stdout.encode("utf-8") == a.read_bytes()


def test_eval_twice_gives_identical_csv_and_manifest_bytes(work: Path) -> None:
    """Two CSV runs write byte-identical CSV files and byte-identical manifest sidecars."""
    Path("one").mkdir()
    a = produce("csv", "one/result.csv")
    b = produce("csv", "b.csv")
    assert a.read_bytes() == b.read_bytes()
    assert sidecar_path(a).read_bytes() == sidecar_path(b).read_bytes()
    side = json.loads(sidecar_path(a).read_text(encoding="utf-8"))
    assert side["result"] == {"format": "csv", "sha256": sha(a)}
    assert side["manifest"]["request"] == {
        "tariff": TARIFF, "year": 2024, "register": REGISTER, "values": [], "settings": [],
        "dialect": {"delimiter": None, "decimal": None}, "engine": "interpreter",
        "trace": False}
    assert a.read_text(encoding="utf-8").startswith("id,name,annual_fee,")


def test_csv_on_standard_output_has_no_manifest(work: Path) -> None:
    """CSV printed to standard output is plain CSV: no comment lines, no sidecar written."""
    code, out, _ = run(*EVAL, "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "id,name,annual_fee,connection_fee,operations_fee,total,pending"
    assert len(out.splitlines()) == 99
    assert sorted(p.name for p in work.iterdir()) == ["data", "rules"]


def test_set_values_are_recorded_instead_of_a_register(work: Path) -> None:
    """With --set, the manifest records the values as given and no register."""
    code, out, err = run("eval", TARIFF, "--set", "population=41000", "--set", "os2_member=yes",
                         "--set", "joined=2023-11-01", "--year", "2023", "--format", "json")
    assert code == 0, err
    manifest = json.loads(out)["manifest"]
    assert manifest["register"] is None
    assert manifest["request"]["values"] == ["population=41000", "os2_member=yes",
                                             "joined=2023-11-01"]
    assert manifest["request"]["year"] == 2023 and manifest["request"]["register"] is None
    Path("one.json").write_text(out, encoding="utf-8")
    assert run("verify", "one.json")[:2] == (
        0, "identical: 1 customer, 3 amounts, every file unchanged\n")


def test_tariff_sources_without_imports_is_the_main_file(work: Path) -> None:
    """Without imports, the files a tariff is read from are just its own file."""
    assert tariff_sources(parse_file(TARIFF)) == [TARIFF]


MAIN = """\
tariff main "Main"
  currency DKK
  source "a test"

import "shared/prices.tariff"

input population "Indbyggere": inhabitants

charge fee "Fee" every year
  amount base + 2 DKK per inhabitant * population
"""

MODULE = """\
module prices "Shared prices"

param base "Grundpris" = 1_000 DKK
"""


@pytest.fixture()
def imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tariff that imports a module, a two-row register, and a JSON result of them."""
    (tmp_path / "rules" / "shared").mkdir(parents=True)
    (tmp_path / "rules" / "main.tariff").write_text(MAIN, encoding="utf-8")
    (tmp_path / "rules" / "shared" / "prices.tariff").write_text(MODULE, encoding="utf-8")
    (tmp_path / "reg.csv").write_text("id,name,population\n1,A,100\n2,B,200\n",
                                      encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run("eval", "rules/main.tariff", "--register", "reg.csv", "--year", "2024",
                       "--format", "json", "--out", "result.json")
    assert code == 0, err
    return tmp_path


def test_imported_files_are_recorded(imports: Path) -> None:
    """The manifest records the main tariff and every file it imports, each with its hash."""
    manifest = json.loads(Path("result.json").read_text(encoding="utf-8"))["manifest"]
    assert manifest["tariffs"] == [
        {"path": "rules/main.tariff", "sha256": sha("rules/main.tariff")},
        {"path": "rules/shared/prices.tariff", "sha256": sha("rules/shared/prices.tariff")},
    ]
    assert run("verify", "result.json")[:2] == (
        0, "identical: 2 customers, 2 amounts, every file unchanged\n")


def test_a_change_in_an_imported_file_is_flagged(imports: Path) -> None:
    """One character changed in an imported module names that file and the amounts."""
    before = sha("rules/shared/prices.tariff")
    edit("rules/shared/prices.tariff", "1_000 DKK", "1_001 DKK")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == ("rules/shared/prices.tariff changed since the result was made "
                        f"(sha256 {before[:12]}… -> {sha('rules/shared/prices.tariff')[:12]}…)")
    assert lines[1] == "2 of 2 amounts differ, for 2 of 2 customers:"
    assert [ln.split() for ln in lines[3:]] == [
        ["1", "A", "fee", "1200.00", "1201.00", "the", "tariff", "changed"],
        ["2", "B", "fee", "1400.00", "1401.00", "the", "tariff", "changed"],
    ]


def test_an_import_dropped_from_the_tariff_is_named(imports: Path) -> None:
    """A tariff that stops importing a file says the file is no longer used."""
    edit("rules/main.tariff", 'import "shared/prices.tariff"\n',
         'param base "Grundpris" = 1_000 DKK\n')
    code, out, _ = run("verify", "result.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("rules/main.tariff changed since the result was made")
    assert lines[1] == ("rules/shared/prices.tariff was used to make the result, but is not "
                        "used now")
    assert lines[2] == "tariff changed, no amount differs: 2 customers, 2 amounts"


def test_every_field_of_the_request_is_recorded_and_read_back() -> None:
    """A request's JSON has every field of the request, and reads back as the same request."""
    import attrs

    from takst.session import Dialect

    request = Request("x.tariff", 2024, register="r.csv", values=("tier=2",),
                      settings=("total=1000",), dialect=Dialect("semicolon", "comma"),
                      trace=True)
    data = request.to_json()
    assert list(data) == [f.name for f in attrs.fields(Request)]
    assert Request.from_json(data) == (request, [])
    assert Request.from_json({**data, "colour": "red"}) == (request, ["colour=red"])


# ------------------------------------------------------------------ verify: identical


def test_verify_a_fresh_json_result_is_identical(work: Path) -> None:
    """`takst verify` on a result just made says identical and exits 0."""
    produce("json")
    assert run("verify", "result.json") == (
        0, "identical: 98 customers, 294 amounts, every file unchanged\n", "")


def test_verify_a_fresh_csv_result_by_either_file(work: Path) -> None:
    """A CSV result verifies when named by its CSV file or by its manifest sidecar."""
    produce("csv")
    expected = (0, "identical: 98 customers, 294 amounts, every file unchanged\n", "")
    assert run("verify", "result.csv") == expected
    assert run("verify", "result.csv.manifest.json") == expected


def test_quiet_prints_nothing(work: Path) -> None:
    """--quiet prints nothing; the exit status says whether the result still holds."""
    produce("json")
    assert run("verify", "--quiet", "result.json") == (0, "", "")
    edit(TARIFF, "small       23_980", "small       23_981")
    assert run("verify", "-q", "result.json") == (1, "", "")


# ------------------------------------------------------------------ verify: changes


def test_one_character_in_the_tariff_is_flagged_with_every_amount(work: Path) -> None:
    """A price changed by one character names the tariff and every amount that differs."""
    result = produce("json")
    small = amounts(result, "annual_fee", "23980.00")
    assert len(small) == 7
    before = sha(TARIFF)
    edit(TARIFF, "small       23_980", "small       23_981")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (f"{TARIFF} changed since the result was made "
                        f"(sha256 {before[:12]}… -> {sha(TARIFF)[:12]}…)")
    assert lines[1] == "7 of 294 amounts differ, for 7 of 98 customers:"
    assert lines[2].split() == ["customer", "charge", "recorded", "recomputed", "why"]
    rows = lines[3:]
    assert len(rows) == 7
    for who, row in zip(small, rows, strict=True):
        assert row.split() == [*who.split(), "annual_fee", "23980.00", "23981.00",
                               "the", "tariff", "changed"]


def test_one_digit_in_the_register_is_flagged_with_the_amount(work: Path) -> None:
    """A population digit changed in the register names the register, the value and the amount."""
    produce("csv")
    before = sha(REGISTER)
    edit(REGISTER, "0147,Frederiksberg,KOMMUNE,104664,", "0147,Frederiksberg,KOMMUNE,204664,")
    code, out, _ = run("verify", "result.csv")
    assert code == 1
    assert out.splitlines()[0] == (f"{REGISTER} changed since the result was made "
                                   f"(sha256 {before[:12]}… -> {sha(REGISTER)[:12]}…)")
    assert "1 of 294 amounts differ, for 1 of 98 customers:" in out
    row = out.splitlines()[-1].split()
    assert row == ["0147", "Frederiksberg", "annual_fee", "45780.00", "56680.00", "the",
                   "register", "changed"]


def test_register_change_in_a_json_result_names_the_changed_value(work: Path) -> None:
    """A JSON result shows the inputs, so the reason says which register value changed."""
    produce("json")
    edit(REGISTER, "0147,Frederiksberg,KOMMUNE,104664,", "0147,Frederiksberg,KOMMUNE,204664,")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    assert out.splitlines()[-1].endswith(
        "45780.00    56680.00  the register changed (population 104664 -> 204664)")


def test_both_files_changed_are_told_apart_per_customer(work: Path) -> None:
    """With both files changed, each amount says whether its register row changed too."""
    produce("json")
    edit(TARIFF, "small       23_980", "small       23_981")
    edit(REGISTER, "0147,Frederiksberg,KOMMUNE,104664,", "0147,Frederiksberg,KOMMUNE,4664,")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    assert f"{TARIFF} changed since" in out and f"{REGISTER} changed since" in out
    assert "8 of 294 amounts differ, for 8 of 98 customers:" in out
    rows = {ln.split()[0]: ln for ln in out.splitlines()[4:]}
    assert rows["0147"].endswith("45780.00    23981.00  the tariff and this customer's "
                                 "register row changed (population 104664 -> 4664)")
    assert rows["0161"].endswith("23980.00    23981.00  the tariff changed")


def test_a_comment_in_the_tariff_changes_no_amount(work: Path) -> None:
    """An edit that alters no amount is reported as a changed tariff with no amount differing."""
    produce("json")
    before = sha(TARIFF)
    edit(TARIFF, "# One per band,", "# One per band (checked),")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    assert out == (f"{TARIFF} changed since the result was made "
                   f"(sha256 {before[:12]}… -> {sha(TARIFF)[:12]}…)\n"
                   "tariff changed, no amount differs: 98 customers, 294 amounts\n")


def test_customers_added_and_removed_in_the_register(work: Path) -> None:
    """A customer gone from the register, or new in it, is named."""
    produce("json")
    edit(REGISTER, "0151,Ballerup,KOMMUNE,50039,true,2024-11-16\n",
         "9999,Nyby,KOMMUNE,1000,false,2024-01-01\n")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == ("none of the 291 amounts compared differs; 2 customers or charges on "
                        "one side only:")
    assert lines[3].split() == ["0151", "Ballerup", "(customer)", "in", "the", "result", "not",
                                "in", "the", "register", "now", "the", "register", "changed"]
    assert lines[4].split() == ["9999", "Nyby", "(customer)", "not", "in", "the", "result", "in",
                                "the", "register", "now", "the", "register", "changed"]


def test_an_edited_csv_result_is_noticed(work: Path) -> None:
    """A CSV changed after takst wrote it no longer matches the hash in its sidecar."""
    result = produce("csv")
    before = sha(result)
    edit(result, "0101,København,56680.00,", "0101,København,56681.00,")
    code, out, _ = run("verify", "result.csv")
    assert code == 1
    assert out.splitlines()[0] == (f"result.csv was changed after takst wrote it "
                                   f"(sha256 {before[:12]}… -> {sha(result)[:12]}…)")
    assert out.splitlines()[-1].split() == [
        "0101", "København", "annual_fee", "56681.00", "56680.00", "the", "result", "file",
        "was", "edited", "after", "takst", "wrote", "it"]


def test_amounts_differ_with_unchanged_files_blames_the_takst_version(work: Path) -> None:
    """Unchanged files but different amounts from another takst version say that takst changed."""
    result = produce("json")
    text = result.read_text(encoding="utf-8")
    text = text.replace(f'"takst_version": "{__version__}"', '"takst_version": "0.0.1"')
    text = text.replace(KBH + '"amount": "56680.00"', KBH + '"amount": "56000.00"')
    result.write_text(text, encoding="utf-8")
    code, out, _ = run("verify", "result.json")
    assert code == 1
    reason = f"takst changed: the result was made by takst 0.0.1, this is takst {__version__}"
    assert out.splitlines()[0] == "every file unchanged, but amounts differ: " + reason
    assert out.splitlines()[-1].split("  ")[-1] == reason
    assert "56000.00    56680.00" in out


def test_amounts_differ_with_nothing_changed_says_so(work: Path) -> None:
    """Same files and version but a different amount means an edited result or a takst bug."""
    result = produce("json")
    edit(result, KBH + '"amount": "56680.00"', KBH + '"amount": "56680.01"')
    code, out, _ = run("verify", "result.json")
    assert code == 1
    assert "every file unchanged, but amounts differ: no file and not the takst version " \
           "changed: the result file was edited, or takst is not reproducible" in out


def test_unknown_recorded_option_is_reported(work: Path) -> None:
    """An option this takst does not know is named, and the result is not called identical."""
    result = produce("json")
    edit(result, '"request": {', '"request": {"frobnicate": 3, ')
    code, out, _ = run("verify", "result.json")
    assert (code, out) == (1, "option frobnicate=3 of the result is not known to this takst; "
                              "it was left out\noptions not known, no amount differs: "
                              "98 customers, 294 amounts\n")


# ------------------------------------------------------------------ verify: bad input


def test_truncated_json_is_a_positioned_error(work: Path) -> None:
    """A result cut off in the middle gives file:line:col, plain words and a hint, exit 1."""
    result = produce("json")
    text = result.read_text(encoding="utf-8")
    Path("cut.json").write_text(text[: len(text) // 2], encoding="utf-8")
    code, out, err = run("verify", "cut.json")
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert first.startswith("cut.json:") and ": error: cut.json is not complete JSON: " in first
    line, col = (int(x) for x in first.split(":")[1:3])
    assert line == len(text[: len(text) // 2].splitlines()) and col > 1
    assert "hint: the file ends too early" in err
    assert "Traceback" not in err


def test_corrupt_json_points_at_the_damage(work: Path) -> None:
    """A damaged byte in a result is reported at its line and column."""
    Path("bad.json").write_text('{\n  "manifest": {"year": 2024,,}\n}\n', encoding="utf-8")
    code, _, err = run("verify", "bad.json")
    assert code == 1
    assert err.startswith("bad.json:2:29: error: bad.json is not valid JSON: expecting "
                          "property name enclosed in double quotes\n")
    assert "hint: the file was damaged or edited by hand" in err


def test_a_file_that_is_not_a_takst_result(work: Path) -> None:
    """JSON without a manifest is refused in plain words with a hint."""
    Path("other.json").write_text('{"a": 1}\n', encoding="utf-8")
    code, out, err = run("verify", "other.json")
    assert (code, out) == (1, "")
    assert err.startswith("other.json: error: other.json is not a takst result "
                          "(it has no manifest)\n  hint: make the result again with")


def test_a_damaged_manifest_is_named(work: Path) -> None:
    """A manifest with a bad field says which field, and where the manifest stands."""
    result = produce("json")
    edit(result, '"year": 2024, "register"', '"year": "2024", "register"')
    code, _, err = run("verify", "result.json")
    assert code == 1
    assert err.startswith("result.json, line 2: error: the manifest of result.json is damaged: "
                          "year is missing or not a number\n")


def test_a_csv_without_its_manifest(work: Path) -> None:
    """A CSV printed to standard output cannot be verified, and the hint says how to make one."""
    code, out, _ = run(*EVAL, "--format", "csv")
    Path("plain.csv").write_text(out, encoding="utf-8")
    code, _, err = run("verify", "plain.csv")
    assert code == 1
    assert "error: plain.csv has no manifest: plain.csv.manifest.json does not exist" in err
    assert "hint: a CSV result is verifiable when written with --out" in err


def test_a_missing_recorded_file_is_named(work: Path) -> None:
    """A recorded register that is gone is named, with a hint about where to run verify."""
    produce("json")
    Path(REGISTER).unlink()
    code, out, err = run("verify", "result.json")
    assert (code, out) == (1, "")
    assert (f"error: the register file {REGISTER} does not exist, but result.json was made "
            "from it") in err
    assert "hint: run takst verify in the folder the result was made in" in err


def test_a_missing_result_file(work: Path) -> None:
    """Naming a result that does not exist is a plain error."""
    code, _, err = run("verify", "nothing.json")
    assert code == 1
    assert "takst: error: no result file nothing.json\n  hint: check the path" in err


def test_a_tariff_that_no_longer_checks(work: Path) -> None:
    """When the current tariff is broken, verify names the change and shows the diagnostic."""
    produce("json")
    edit(TARIFF, "small       23_980   29_700", "small       23_980")
    code, out, err = run("verify", "result.json")
    assert code == 1 and out == ""
    assert err.startswith(f"{TARIFF} changed since the result was made")
    assert "result.json cannot be recomputed from the files as they are now" in err
    assert f"{TARIFF}:" in err and "hint:" in err
    assert "Traceback" not in err


def test_verify_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`takst --help` lists verify, and `takst verify --help` says what it does."""
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = " ".join(capsys.readouterr().out.split())
    assert "verify recompute a JSON or CSV result from the files it records" in listing
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "RESULT" in text and "--quiet" in text
    assert "Prints 'identical: ...' and exits 0" in text


def test_register_dialect_options_are_recorded_and_replayed(work: Path) -> None:
    """A semicolon register read with --delimiter is recorded with it and verifies identical."""
    text = Path(REGISTER).read_text(encoding="utf-8").replace(",", ";")
    Path("data/semi.csv").write_text(text, encoding="utf-8")
    code, _, err = run("eval", TARIFF, "--register", "data/semi.csv", "--delimiter", "semicolon",
                       "--year", "2024", "--format", "json", "--out", "semi.json")
    assert code == 0, err
    manifest = json.loads(Path("semi.json").read_text(encoding="utf-8"))["manifest"]
    assert manifest["request"]["dialect"] == {"delimiter": "semicolon", "decimal": None}
    assert manifest["register"] == {"path": "data/semi.csv", "sha256": sha("data/semi.csv"),
                                    "rows": 98}
    assert run("verify", "semi.json") == (
        0, "identical: 98 customers, 294 amounts, every file unchanged\n", "")


def test_a_charge_added_to_the_tariff_is_named_once(work: Path) -> None:
    """A charge the result does not have is reported once, not once per customer."""
    produce("json")
    edit(TARIFF, "# ---------------------------------------------------------------- examples",
         'pending support "Support" every year\n')
    code, out, _ = run("verify", "result.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == ("none of the 294 amounts compared differs; 1 customer or charge on one "
                        "side only:")
    assert lines[3].split("  ") == ["", "(every customer)", "support", "not in the result",
                                    "in the tariff now", "the tariff changed"]
    assert len(lines) == 4


# ------------------------------------------------------------------ the request, from Python


def test_a_result_made_from_python_through_the_session_verifies(work: Path) -> None:
    """A JSON result a program writes through the session, not the CLI, is verifiable."""
    from takst.render.report import write_json
    from takst.session import Session

    evaluation = Session().run(Request(TARIFF, 2024, register=REGISTER))
    with open("python.json", "w", encoding="utf-8") as fh:
        write_json(fh, evaluation.tariff, 2024, evaluation,
                   manifest=evaluation.manifest().to_json())
    assert run("verify", "python.json") == (
        0, "identical: 98 customers, 294 amounts, every file unchanged\n", "")
    assert Path("python.json").read_bytes() == produce("json").read_bytes()
    edit(REGISTER, "0101,København,", "0101,Kobenhavn,")
    code, out, _ = run("verify", "python.json")
    assert code == 1 and out.startswith(f"{REGISTER} changed since the result was made")


def test_values_and_settings_from_python_are_recorded_and_replayed(work: Path) -> None:
    """Values given as a mapping are recorded as NAME=VALUE texts and verify identical."""
    import datetime as dt

    from takst.render.report import to_json
    from takst.session import Session

    request = Request(TARIFF, 2023, values={"population": 41000, "os2_member": True,
                                            "joined": dt.date(2023, 11, 1)})
    assert request.values == ("population=41000", "os2_member=yes", "joined=2023-11-01")
    evaluation = Session().run(request)
    Path("values.json").write_text(
        to_json(evaluation.tariff, 2023, evaluation, manifest=evaluation.manifest().to_json()),
        encoding="utf-8")
    assert run("verify", "values.json") == (
        0, "identical: 1 customer, 3 amounts, every file unchanged\n", "")


def test_a_version_1_manifest_with_options_is_still_verified(work: Path) -> None:
    """A result whose manifest recorded the command's options (version 1) verifies as before."""
    result = produce("json")
    doc = json.loads(result.read_text(encoding="utf-8"))
    v1 = {"manifest_version": 1, "takst_version": __version__, "tariffs": doc["manifest"]["tariffs"],
          "register": doc["manifest"]["register"], "set": [], "year": 2024,
          "options": {"format": "json", "trace": False}}
    text = result.read_text(encoding="utf-8").splitlines(keepends=True)
    text[1] = f'  "manifest": {json.dumps(v1, ensure_ascii=False)},\n'
    Path("v1.json").write_text("".join(text), encoding="utf-8")
    assert run("verify", "v1.json") == (
        0, "identical: 98 customers, 294 amounts, every file unchanged\n", "")
    text[1] = text[1].replace('"options": {', '"options": {"frobnicate": 3, ')
    Path("v1.json").write_text("".join(text), encoding="utf-8")
    assert run("verify", "v1.json")[:2] == (
        1, "option frobnicate=3 of the result is not known to this takst; it was left out\n"
           "options not known, no amount differs: 98 customers, 294 amounts\n")


def test_a_hash_found_ahead_is_taken_only_for_the_file_as_it_is(tmp_path: Path) -> None:
    """``takst eval --out`` hashes the register in a thread while it bills it; the manifest
    takes that hash only when the file is unchanged, else it hashes the file again."""
    import os

    from takst import startup
    from takst.provenance import manifest

    path = tmp_path / "r.csv"
    path.write_bytes(b"id,name\n1,A\n" * 1000)
    manifest.prefetch_sha256(path)
    assert manifest.sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.prefetch_sha256(path)
    startup.HASHES[str(path)][0].join()
    path.write_bytes(b"id,name\n2,B\n" * 1000)  # changed after it was hashed
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert manifest.sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path) not in startup.HASHES
    missing = tmp_path / "gone.csv"
    manifest.prefetch_sha256(missing)  # an unreadable file: no error, hashed when asked
    with pytest.raises(FileNotFoundError):
        manifest.sha256_file(missing)


def test_a_failed_run_leaves_no_hash_behind(tmp_path: Path) -> None:
    from takst import startup

    bad = tmp_path / "r.csv"
    bad.write_text("id,name\n1,A\n", encoding="utf-8")  # no population column
    code, _, _ = run("eval", "rules/os2valghalla.tariff", "--register", str(bad), "--year",
                     "2024", "--format", "csv", "--out", str(tmp_path / "o.csv"))
    assert code == 1 and not (tmp_path / "o.csv").exists()
    assert str(bad) not in startup.HASHES


def test_the_command_hashes_a_batch_runs_register_while_takst_is_imported(
        tmp_path: Path) -> None:
    """``takst eval --engine batch --register R`` (``takst.startup``) begins R's SHA-256
    before takst's modules are imported; the manifest takes that hash (and a later
    prefetch of the same file starts no second one)."""
    from takst import startup
    from takst.provenance import manifest

    path = tmp_path / "r.csv"
    path.write_bytes(b"id,name\n1,A\n" * 1000)
    for argv, named in ((["eval", "t", "--register", "r.csv"], "r.csv"),
                        (["eval", "t", "--register=r.csv"], "r.csv"),
                        (["eval", "t", "--reg", "r.csv"], "r.csv"),
                        (["eval", "t", "--register", "-"], None),
                        (["eval", "t", "--re", "r.csv"], None),
                        (["eval", "t"], None)):
        assert startup.register_given(argv) == named
    opening = startup.start(["eval", "t.tariff", "--engine", "batch", "--register",
                             str(path)])
    assert opening is not None
    opening.take()
    early = startup.HASHES[str(path)]
    manifest.prefetch_sha256(path)
    assert startup.HASHES[str(path)] is early
    assert manifest.sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path) not in startup.HASHES
    assert startup.start(["eval", "t.tariff", "--register", str(path)]) is None
    assert str(path) not in startup.HASHES


def test_a_named_pipe_is_never_hashed_ahead(tmp_path: Path) -> None:
    """A register that is a named pipe is not read ahead for its hash (its bytes would be
    taken from the reader): nothing is found, and the pipe keeps what is written to it."""
    import os
    import threading

    from takst import startup

    fifo = tmp_path / "r.csv"
    os.mkfifo(fifo)
    written = b"id,name\n1,A\n"

    def feed() -> None:
        with open(fifo, "wb") as fh:  # blocks until the pipe is opened for reading
            fh.write(written)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    startup.hash_ahead(str(fifo))
    thread, found = startup.HASHES.pop(str(fifo))
    thread.join(5)
    assert not thread.is_alive() and found == []
    with open(fifo, "rb") as fh:
        assert fh.read() == written
    feeder.join(5)


def test_work_beside_gives_its_value_or_raises_what_it_raised() -> None:
    """``takst.beside.Beside``, which runs the early hash's and the quote check's kind of
    work in a thread: its result is the call's value, or what the call raised."""
    from takst.beside import Beside

    assert Beside(sum, [1, 2, 3]).result() == 6
    failing = Beside(int, "x")
    failing.wait()
    with pytest.raises(ValueError):
        failing.result()
