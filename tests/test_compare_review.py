"""`takst compare` as a review artefact: Markdown for a pull request, XLSX a sheet per table,
the words from the locale and the columns from the tariff (issue 11, item 8)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from paths import ROOT, run

from takst.compare.compare import DEFAULT_NAMES, DEFAULT_TYPES
from takst.compare.review import Labels, _labels, md
from takst.render.locale import LOCALES, numbers

SP = "rules/serviceplatformen.tariff"
DK = "data/denmark_municipalities_2023.csv"
SP_ARGS = ("compare", SP, SP, "--register", DK, "--old-year", "2018", "--new-year", "2019")
KS = "rules/ks_dif_2025.tariff"
NORWAY = "data/norway_2024.csv"


@pytest.fixture(scope="module")
def ks_newer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (ROOT / KS).read_text(encoding="utf-8")
    newer = tmp_path_factory.mktemp("ks") / "ks_dif_2026.tariff"
    newer.write_text(text.replace("6.345 NOK per inhabitant", "7.1 NOK per inhabitant"),
                     encoding="utf-8")
    return newer


def test_labels_are_data_for_every_locale() -> None:
    """labels.json has the five band names and the heads for every locale takst writes."""
    data = _labels()
    assert set(data) == set(LOCALES)
    for locale in LOCALES:
        labels = Labels.of(locale, "DKK")
        assert len(labels.bands) == len(DEFAULT_NAMES) == len(set(labels.bands))
    assert Labels.of("nb", "NOK").bands == DEFAULT_NAMES  # the seed's own words
    assert Labels.of("da", "DKK").amount == "I kroner"
    assert Labels.of("en", "EUR").amount == "In EUR"
    assert Labels.of("da", "EUR").amount == "I EUR"


def test_markdown_summary_and_danish_tables() -> None:
    """Markdown of a DKK tariff: the summary's totals in Danish numbers, the effect tables with
    Danish band names and the register's one customer type, the largest changes first."""
    code, out, err = run(*SP_ARGS, "--format", "markdown")
    assert code == 0, err
    assert out.startswith("# KOMBIT Serviceplatformen, buffetpris → ")
    assert "| Total, old (DKK) | 8.127.608,57 |" in out
    assert "| Total, new (DKK) | 11.509.168,34 |" in out
    assert "| Change (DKK) | +3.381.559,77 (+41,6 %) |" in out
    assert "| Procentvis | Fra | Til | I alt | KOMMUNE |" in out
    assert "| Lidt over gennemsnittet | 29 % | 60 % | 98 | 98 |" in out
    assert "| Lidt over gennemsnittet | 40.001 | 100.000 | 15 | 15 |" in out
    assert "| **I alt** |  |  | **98** | **98** |" in out
    for word in ("Kostnadsreduksjon", "FYLKESKOMMUNE", "Totalt"):
        assert word not in out
    largest = out[out.index("## Largest changes"):]
    rows = [ln for ln in largest.splitlines() if ln.startswith("| 0")]
    assert rows[0].startswith("| 0101 | København | KOMMUNE | 895.519,68 + | 1.268.108,16 + | "
                              "+372.588,48 | +41,6 % |")
    assert len(rows) == 10
    assert "No reductions." in largest


def test_markdown_of_the_ks_tariff_has_its_declared_types(ks_newer: Path) -> None:
    """The KS tariff declares its customer types: they are the columns, by their labels, in
    the tariff's order, with the seed's Norwegian band names (NOK -> nb)."""
    code, out, err = run("compare", KS, str(ks_newer), "--register", NORWAY, "--year", "2025",
                         "--format", "markdown")
    assert code == 0, err
    assert ("| Prosentvis | Fra | Til | Totalt | Kommune | Fylkeskommune | Statlig virksomhet "
            "| Kommunal virksomhet | Interkommunalt selskap (IKS) | Privat virksomhet |") in out
    assert "| Opp til snittet | 0 % | 29 % | 371 | 357 | 14 | – | – | – | – |" in out
    sep = numbers("nb").group_symbol  # Babel's, whatever the CLDR data says
    assert f"| Noe over snittet | 40{sep}001 | 100{sep}000 | 15 | 15 |" in out
    code, out, err = run("compare", KS, str(ks_newer), "--register", NORWAY, "--year", "2025",
                         "--format", "markdown", "--locale", "en")
    assert code == 0, err
    assert "| Up to the average | 0 % | 29 % | 371 | 357 | 14 |" in out


def test_markdown_escapes_register_text(tmp_path: Path) -> None:
    """A name with Markdown or HTML in it is shown as text: no cell is split, no tag made."""
    register = tmp_path / "evil.csv"
    lines = (ROOT / DK).read_text(encoding="utf-8").splitlines()
    head, first = lines[0], lines[1].split(",")
    first[1] = '"<script>alert(1)</script> | **x** [y](z)"'
    register.write_text("\n".join([head, ",".join(first), *lines[2:]]) + "\n",
                        encoding="utf-8")
    code, out, err = run("compare", SP, SP, "--register", str(register), "--old-year", "2018",
                         "--new-year", "2019", "--format", "markdown")
    assert code == 0, err
    row = next(ln for ln in out.splitlines() if ln.startswith("| 0101 "))
    assert "<script>" not in out
    assert r"\<script\>alert(1)\</script\> \| \*\*x\*\* \[y\](z)" in row
    assert row.count(" | ") == 6  # seven cells, as every row: the escaped | splits none
    assert md("a\nb|c") == r"a b\|c"


def _read(path: Path) -> object:
    openpyxl = pytest.importorskip("openpyxl")
    return openpyxl.load_workbook(path)


def _number(value: object) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def test_xlsx_a_sheet_per_table_against_json(tmp_path: Path, ks_newer: Path) -> None:
    """The workbook has the customers, both effect tables and a summary; every customer's
    amounts are the JSON's, and every effect count is the JSON's."""
    out = tmp_path / "cmp.xlsx"
    args = ("compare", KS, str(ks_newer), "--register", NORWAY, "--year", "2025")
    code, stdout, err = run(*args, "--format", "xlsx", "--out", str(out))
    assert code == 0, err
    assert stdout == ""
    wb = _read(out)
    assert wb.sheetnames == ["Customers", "Effect percent", "Effect NOK", "Summary"]
    code, text, err = run(*args, "--format", "json")
    doc = json.loads(text)
    ws = wb["Customers"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(doc["customers"]) + 1 == 372
    labels = {"KOMMUNE": "Kommune", "FYLKESKOMMUNE": "Fylkeskommune"}
    for row, c in zip(rows, doc["customers"], strict=False):
        assert row[0] == c["id"] and row[1] == c["name"]
        assert row[2] == labels.get(c["customer_type"], row[2])
        for cell, key in zip(row[3:6], ("old", "new", "change"), strict=True):
            assert _number(cell) == Decimal(c[key])
        assert _number(row[6]) == Decimal(c["percent"])
        assert row[7] == c["percent_band"] and row[8] == c["kroner_band"]
    foot = rows[-1]
    assert _number(foot[5]) == Decimal(doc["totals"]["change"])
    for sheet, key in (("Effect percent", "effect_percent"), ("Effect NOK", "effect_kroner")):
        got = list(wb[sheet].iter_rows(values_only=True))
        head = got[0]
        assert head[4:] == ("Kommune", "Fylkeskommune", "Statlig virksomhet",
                            "Kommunal virksomhet", "Interkommunalt selskap (IKS)",
                            "Privat virksomhet")
        want = [r for r in doc[key]["rows"] if r["band"] != "Nye kunder (før: 0)"]
        for row, r in zip(got[1:], want, strict=False):
            assert row[0] == r["band"] and row[3] == r["total"]
            assert list(row[4:]) == [r["by_type"][t] for t in DEFAULT_TYPES]
        assert got[-1][3] == doc[key]["totals"]["total"] == 371


def test_xlsx_compare_needs_out() -> None:
    """XLSX is a file: without --out the command says so."""
    code, out, err = run(*SP_ARGS, "--format", "xlsx")
    assert code == 2 and out == ""
    assert "--out FILE.xlsx" in err
