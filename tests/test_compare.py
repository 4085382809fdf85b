"""`takst compare`: two versions of a price model over one register (seed 004, "6: Effekten")."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from paths import DATA, ROOT, run

from takst.compare.compare import (
    DEFAULT_KRONER_BANDS,
    DEFAULT_NAMES,
    DEFAULT_PERCENT_BANDS,
    DEFAULT_TYPES,
    NEW_CUSTOMERS,
    NO_TYPE,
    BadBands,
    Comparison,
    compare,
    merged_inputs,
    parse_bands,
    percent_exact_text,
    percent_whole,
)
from takst.dsl.errors import CheckError
from takst.dsl.parser import parse_file
from takst.io.register import load_register

OS2 = "rules/os2valghalla.tariff"
OS2_2025 = "tests/fixtures/compare/os2valghalla_2025.tariff"
DEMO = "data/os2valghalla_demo_2024.csv"
PRICE_OLD = "tests/fixtures/compare/price_old.tariff"
PRICE_NEW = "tests/fixtures/compare/price_new.tariff"
PRICE_CONFLICT = "tests/fixtures/compare/price_conflict.tariff"
BOUNDARIES = "tests/fixtures/compare/boundaries.csv"
SERVICEPLATFORMEN = ROOT / "rules" / "serviceplatformen.tariff"
RED, UP_TO, SOME_OVER, OVER, BIG = DEFAULT_NAMES


def comparison(old: str, new: str, register: str, year: int = 2024) -> Comparison:
    a = parse_file(ROOT / old, old)
    b = parse_file(ROOT / new, new)
    customers = load_register(ROOT / register, merged_inputs(a, b), register)
    return compare(a, b, customers, old_year=year, new_year=year, register=register)


@pytest.fixture(scope="module")
def os2_next() -> Comparison:
    return comparison(OS2, OS2_2025, DEMO)


@pytest.fixture(scope="module")
def bounds() -> Comparison:
    return comparison(PRICE_OLD, PRICE_NEW, BOUNDARIES, 2025)


# ------------------------------------------------------------------ OS2valghalla, +10 % and a band


def test_os2_annual_fee_up_ten_percent(os2_next: Comparison) -> None:
    """København (very large member, crowdfunding): 56 680 -> 62 348, +5 668 DKK, exactly 10 %."""
    c = {c.id: c for c in os2_next.changes}["0101"]
    assert (c.old, c.new, c.change) == (Decimal("56680"), Decimal("62348"), Decimal("5668"))
    assert c.percent == 10
    assert percent_whole(c.percent) == "10 %"
    assert (c.percent_band, c.kroner_band) == (UP_TO, UP_TO)


def test_os2_pending_is_left_out_and_flagged(os2_next: Comparison) -> None:
    """The pending operations fee is not compared, but names the customers that have it."""
    by_id = {c.id: c for c in os2_next.changes}
    assert by_id["0101"].pending_old == by_id["0101"].pending_new == ("operations_fee",)
    dragor = by_id["0155"]  # joined 2023: nothing once-only in 2024
    assert not dragor.pending
    assert (dragor.old, dragor.new, dragor.change) == (Decimal(29700), Decimal(32670),
                                                       Decimal(2970))


def test_os2_moved_to_small_band_is_a_reduction(os2_next: Comparison) -> None:
    """Herlev (29 215 inhabitants, joined 2024) is small now: 34 880 + 70 000 -> 26 378 + 35 000."""
    c = {c.id: c for c in os2_next.changes}["0163"]
    assert (c.old, c.new, c.change) == (Decimal(104880), Decimal(61378), Decimal(-43502))
    assert c.percent == Fraction(-43502 * 100, 104880)
    assert percent_exact_text(c.percent) == "-41.48"
    assert percent_whole(c.percent) == "-41 %"
    assert (c.percent_band, c.kroner_band) == (RED, RED)


def test_os2_half_up_on_a_tie(os2_next: Comparison) -> None:
    """Albertslund (joined 2023): 34 880 -> 26 378 is exactly -24.375 %, shown -24.38 and -24 %."""
    c = {c.id: c for c in os2_next.changes}["0165"]
    assert c.change == Decimal(-8502)
    assert c.percent == Fraction("-24.375")
    assert percent_exact_text(c.percent) == "-24.38"
    assert percent_whole(c.percent) == "-24 %"


def test_os2_connection_fee_raise(os2_next: Comparison) -> None:
    """Aalborg: 70 200 + 350 000 -> 77 220 + 400 000, +57 020 DKK (13.57 %): Noe over in kroner."""
    c = {c.id: c for c in os2_next.changes}["0851"]
    assert (c.old, c.new, c.change) == (Decimal(420200), Decimal(477220), Decimal(57020))
    assert percent_exact_text(c.percent) == "13.57"
    assert percent_whole(c.percent) == "14 %"
    assert (c.percent_band, c.kroner_band) == (UP_TO, SOME_OVER)


def test_os2_small_relative_change(os2_next: Comparison) -> None:
    """Gentofte: 45 780 + 190 000 -> 50 358 + 190 000, +4 578 DKK, 1.94 % of 235 780."""
    c = {c.id: c for c in os2_next.changes}["0157"]
    assert (c.old, c.new, c.change) == (Decimal(235780), Decimal(240358), Decimal(4578))
    assert percent_exact_text(c.percent) == "1.94"
    assert percent_whole(c.percent) == "2 %"


def test_os2_effect_tables(os2_next: Comparison) -> None:
    """The six 25 001-30 000 municipalities are reductions, Aalborg alone is above 40 000 DKK."""
    reduced = sorted(c.name for c in os2_next.changes if c.change < 0)
    assert reduced == ["Albertslund", "Allerød", "Billund", "Herlev", "Lejre", "Nordfyns"]
    pct = os2_next.effect("percent")
    assert [(r.name, r.total) for r in pct.rows] == [
        (RED, 6), (UP_TO, 92), (SOME_OVER, 0), (OVER, 0), (BIG, 0)]
    kr = os2_next.effect("kroner")
    assert [(r.name, r.total) for r in kr.rows] == [
        (RED, 6), (UP_TO, 91), (SOME_OVER, 1), (OVER, 0), (BIG, 0)]
    for eff in (pct, kr):
        assert eff.total == len(os2_next.changes) == 98
        assert eff.columns == DEFAULT_TYPES
        assert eff.column_total("KOMMUNE") == 98
        assert eff.column_total("FYLKESKOMMUNE") == 0


def test_os2_totals(os2_next: Comparison) -> None:
    """The total change is the sum of the rows: 10 % of all annual fees, less the band move."""
    old, new, change, _ = os2_next.totals()
    assert old == Decimal("8846900.00")  # `takst eval` of 2024, as in the README
    assert change == sum((c.change for c in os2_next.changes), Decimal(0))
    assert new - old == change


def test_same_tariff_changes_nothing() -> None:
    """A tariff compared with itself gives 0 change and 0 % for every customer."""
    same = comparison(OS2, OS2, DEMO)
    assert len(same.changes) == 98
    assert all(c.change == 0 and c.percent == 0 for c in same.changes)
    assert same.effect("percent").count(UP_TO) == 98
    assert same.effect("kroner").count(UP_TO) == 98
    assert same.effect("kroner").count(RED) == 0


# ------------------------------------------------------------------ band boundaries


BOUNDARY_CASES = {
    # id: (percent shown, percent in JSON, percent band, kroner band)
    "01": ("0 %", "0.00", UP_TO, UP_TO),  # exactly 0 is no reduction
    "02": ("-1 %", "-1.00", RED, RED),
    "03": ("29 %", "29.00", UP_TO, UP_TO),  # exactly 29 % is up to the average
    "04": ("29 %", "29.00", SOME_OVER, UP_TO),  # 29.0001 %: the band uses the exact value
    "05": ("60 %", "60.00", SOME_OVER, UP_TO),
    "06": ("100 %", "100.00", OVER, UP_TO),
    "07": ("100 %", "100.01", BIG, UP_TO),
    "08": ("40 %", "40.00", SOME_OVER, UP_TO),  # exactly 40 000 kr
    "09": ("40 %", "40.00", SOME_OVER, SOME_OVER),  # 40 000.01 kr
    "10": ("50 %", "50.00", SOME_OVER, SOME_OVER),  # exactly 100 000 kr
    "11": ("100 %", "100.00", OVER, OVER),  # exactly 250 000 kr
    "12": ("100 %", "100.00", BIG, BIG),  # 250 000.01 kr
    "13": ("n/a", None, NEW_CUSTOMERS, UP_TO),  # old total 0: no percent
    "14": ("0 %", "0.00", UP_TO, UP_TO),  # 0 in both: no change, not a new customer
    "15": ("1 %", "0.50", UP_TO, UP_TO),  # half up
    "16": ("-1 %", "-0.50", RED, RED),  # half up is away from zero
    "17": ("33 %", "33.33", SOME_OVER, UP_TO),  # 100/3 %
    "18": ("29 %", "29.40", SOME_OVER, UP_TO),  # shown 29 %, but above 29
}


@pytest.mark.parametrize("ident", sorted(BOUNDARY_CASES))
def test_boundaries(bounds: Comparison, ident: str) -> None:
    """Changes exactly on and just above each bound land in the documented band."""
    shown, exact, pband, kband = BOUNDARY_CASES[ident]
    c = {c.id: c for c in bounds.changes}[ident]
    assert percent_whole(c.percent) == shown
    assert percent_exact_text(c.percent) == exact
    assert (c.percent_band, c.kroner_band) == (pband, kband)


def test_boundary_effect_tables(bounds: Comparison) -> None:
    """Extra customer types get their own columns after the seed's, and an empty type is (none)."""
    pct = bounds.effect("percent")
    assert pct.columns == (*DEFAULT_TYPES, "BARNEHAGE", NO_TYPE)
    assert [(r.name, r.total) for r in pct.rows] == [
        (RED, 2), (UP_TO, 4), (SOME_OVER, 7), (OVER, 2), (BIG, 2), (NEW_CUSTOMERS, 1)]
    assert pct.count(OVER, NO_TYPE) == 1 and pct.count(BIG, NO_TYPE) == 1
    assert pct.count(SOME_OVER, "BARNEHAGE") == 1
    assert pct.count(NEW_CUSTOMERS, "KOMMUNE") == 1
    kr = bounds.effect("kroner")
    assert [(r.name, r.total) for r in kr.rows] == [
        (RED, 2), (UP_TO, 12), (SOME_OVER, 2), (OVER, 1), (BIG, 1)]
    assert pct.total == kr.total == 18
    assert pct.column_total("KOMMUNE") == kr.column_total("KOMMUNE") == 9
    # the two tables agree on who had a reduction, column by column (as in seed 004)
    assert all(pct.count(RED, t) == kr.count(RED, t) for t in pct.columns)


def test_default_bands_read_like_the_seed() -> None:
    """The default bands show the seed's Fra/Til cells: "-100 %".."0 %", "40 001".."100 000"."""
    assert [DEFAULT_PERCENT_BANDS.span_text(b) for b in DEFAULT_PERCENT_BANDS.bands] == [
        ("-100 %", "0 %"), ("0 %", "29 %"), ("29 %", "60 %"), ("60 %", "100 %"), ("100 %", "")]
    assert [DEFAULT_KRONER_BANDS.span_text(b) for b in DEFAULT_KRONER_BANDS.bands] == [
        ("-", "0"), ("0", "40 000"), ("40 001", "100 000"), ("100 001", "250 000"),
        ("250 001", "")]
    assert [b.name for b in DEFAULT_KRONER_BANDS.bands] == list(DEFAULT_NAMES)


def test_parse_bands_default_spec_is_the_default() -> None:
    """The seed's bounds written as a SPEC give the default bands, names included."""
    assert parse_bands("0,40000,100000,250000", "kroner") == DEFAULT_KRONER_BANDS
    assert parse_bands("0 %, 29 %, 60 %, 100 %", "percent") == DEFAULT_PERCENT_BANDS
    assert parse_bands("0, 40_000, 100 000, 250_000", "kroner") == DEFAULT_KRONER_BANDS


def test_parse_bands_names() -> None:
    """NAME:BOUND names a band, a last bare NAME the open top band; others say their range."""
    named = parse_bands("Ned:0,Litt:1000,Mye", "kroner")
    assert [b.name for b in named.bands] == ["Ned", "Litt", "Mye"]
    plain = parse_bands("0,10", "percent")
    assert [b.name for b in plain.bands] == ["under 0 %", "0 % – 10 %", "over 10 %"]
    assert plain.of(Fraction(10)).name == "0 % – 10 %"
    assert plain.of(Fraction(0)).name == "0 % – 10 %"
    assert plain.of(Fraction(-1, 100)).name == "under 0 %"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("100,60", "the bounds must increase, but 60 follows 100"),
        ("0,,10", "empty item in '0,,10'"),
        ("0,abc,10", "'abc' is not a number"),
        (":0", "no name before ':' in ':0'"),
        ("Ned", "'Ned' is not a number"),
        ("A:0,A:10", "two bands are named 'A'"),
    ],
)
def test_parse_bands_errors(spec: str, message: str) -> None:
    """A SPEC that cannot be read says what is wrong with it."""
    with pytest.raises(BadBands) as caught:
        parse_bands(spec, "kroner")
    assert caught.value.message == message


# ------------------------------------------------------------------ inputs of both tariffs


def test_register_needs_inputs_of_both() -> None:
    """The register must have the inputs of both tariffs: the union of their inputs."""
    a = parse_file(ROOT / PRICE_OLD, PRICE_OLD)
    b = parse_file(ROOT / PRICE_NEW, PRICE_NEW)
    assert list(merged_inputs(a, b)) == ["old_price", "new_price"]


def test_conflicting_input_types() -> None:
    """One input with two types is an error at the new tariff's input, with the old one as note."""
    a = parse_file(ROOT / PRICE_OLD, PRICE_OLD)
    b = parse_file(ROOT / PRICE_CONFLICT, PRICE_CONFLICT)
    with pytest.raises(CheckError) as caught:
        merged_inputs(a, b)
    (d,) = caught.value.diagnostics
    assert d.message == "input old_price is inhabitants here, but money in the old tariff"
    assert str(d.span) == f"{PRICE_CONFLICT}:6:7"
    assert str(d.related[0][1]) == f"{PRICE_OLD}:6:7"


# ------------------------------------------------------------------ the command line


def test_cli_table() -> None:
    """`takst compare` prints a row per customer and the seed's two effect tables (in the
    seed's Norwegian with --locale nb); the columns are the customer types of the register,
    as the tariff declares none."""
    code, out, err = run("compare", OS2, OS2_2025, "--register", DEMO, "--year", "2024",
                         "--locale", "nb")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Old: OS2valghalla 3.0 (rules/os2valghalla.tariff, billing year 2024)"
    row = next(ln for ln in lines if ln.startswith("0163  Herlev"))
    assert "104\u00a0880,00" in row  # Norwegian: a no-break space groups, a comma marks
    assert row.split() == ["0163", "Herlev", "KOMMUNE", "104", "880,00", "+", "61", "378,00",
                           "+", "-43", "502,00", "-41", "%", "Kostnadsreduksjon",
                           "Kostnadsreduksjon"]
    assert "Prosentvis" in out and "I kroner" in out
    kr = lines.index(next(ln for ln in lines if ln.startswith("I kroner")))
    assert lines[kr].split() == ["I", "kroner", "Fra", "Til", "Totalt", "KOMMUNE"]
    assert lines[kr + 2].split() == [RED, "-", "0", "6", "6"]
    assert lines[kr + 4].split() == ["Noe", "over", "snittet", "40", "001", "100", "000",
                                     "1", "1"]
    assert lines[kr + 8].split() == ["Totalt", "98", "98"]
    assert "+ has a pending amount" in out
    assert NEW_CUSTOMERS not in out  # no old total of 0: the seed's five lines only


def test_cli_table_of_a_danish_tariff_is_danish() -> None:
    """Without --locale, a DKK tariff's effect tables are in Danish, with no empty Norwegian
    customer-type columns; the seed's band names stay in JSON, where programs read them."""
    code, out, err = run("compare", OS2, OS2_2025, "--register", DEMO, "--year", "2024")
    assert code == 0, err
    lines = out.splitlines()
    row = next(ln for ln in lines if ln.startswith("0163  Herlev"))
    assert row.split()[-2:] == ["Omkostningsreduktion", "Omkostningsreduktion"]
    kr = lines.index(next(ln for ln in lines if ln.startswith("I kroner")))
    assert lines[kr].split() == ["I", "kroner", "Fra", "Til", "I", "alt", "KOMMUNE"]
    assert lines[kr + 4].split() == ["Lidt", "over", "gennemsnittet", "40", "001", "100",
                                     "000", "1", "1"]
    for word in ("Kostnadsreduksjon", "Prosentvis", "FYLKESKOMMUNE", "PRIVAT_VIRKSOMHET"):
        assert word not in out
    code, out, err = run("compare", OS2, OS2_2025, "--register", DEMO, "--year", "2024",
                         "--format", "json")
    assert code == 0, err
    assert json.loads(out)["customers"][0]["kroner_band"] in DEFAULT_NAMES


def test_cli_json_is_exact_and_deterministic(tmp_path: Path) -> None:
    """JSON has amounts as strings, one customer per line, and is written the same twice."""
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    for f in files:
        code, out, err = run("compare", OS2, OS2_2025, "--register", DEMO, "--year", "2024",
                             "--format", "json", "--out", str(f))
        assert code == 0, err
        assert out == ""
    text = files[0].read_text(encoding="utf-8")
    assert text == files[1].read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]  # no temp files
    doc = json.loads(text)
    assert doc["old"]["year"] == doc["new"]["year"] == 2024
    assert doc["totals"]["customers"] == 98
    herlev = next(c for c in doc["customers"] if c["id"] == "0163")
    assert herlev == {
        "id": "0163", "name": "Herlev", "customer_type": "KOMMUNE", "old": "104880.00",
        "new": "61378.00", "change": "-43502.00", "percent": "-41.48",
        "percent_exact": herlev["percent_exact"], "percent_band": RED, "kroner_band": RED,
        "pending_old": ["operations_fee"], "pending_new": ["operations_fee"]}
    assert Fraction(herlev["percent_exact"]) == Fraction(-4350200, 104880)
    customer_lines = [ln for ln in text.splitlines() if ln.startswith('    {"id": ')]
    assert len(customer_lines) == 98
    rows = doc["effect_kroner"]["rows"]
    assert [(r["band"], r["total"]) for r in rows] == [
        (RED, 6), (UP_TO, 91), (SOME_OVER, 1), (OVER, 0), (BIG, 0)]
    assert rows[2]["lower"] == "40000" and rows[2]["lower_included"] is False
    assert rows[2]["upper"] == "100000" and rows[2]["upper_included"] is True
    assert doc["effect_percent"]["totals"]["total"] == 98
    assert doc["effect_percent"]["rows"][-1] == {  # always there in JSON, here empty
        "band": NEW_CUSTOMERS, "old_total_zero": True, "total": 0,
        "by_type": dict.fromkeys(DEFAULT_TYPES, 0)}


def test_cli_csv_new_customers() -> None:
    """2023 against 2024: customers that paid nothing in 2023 have n/a percent in CSV."""
    code, out, err = run("compare", OS2, OS2, "--register", DEMO, "--old-year", "2023",
                         "--new-year", "2024", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 98
    kbh = next(r for r in rows if r["id"] == "0101")  # joined 2024
    assert (kbh["old"], kbh["new"], kbh["percent"], kbh["percent_band"]) == (
        "0.00", "56680.00", "n/a", "n/a")
    kolding = next(r for r in rows if r["id"] == "0621")  # a quarter in 2023, all in 2024
    assert (kolding["old"], kolding["new"], kolding["change"], kolding["percent"]) == (
        "11445.00", "45780.00", "34335.00", "300.00")
    assert kolding["percent_band"] == BIG and kolding["pending_old"] == "operations_fee"
    assert kolding["pending_new"] == ""


def test_cli_new_customers_line() -> None:
    """The percent table counts old-total-0 customers on their own line; Totalt is still 98."""
    code, out, err = run("compare", OS2, OS2, "--register", DEMO, "--old-year", "2023",
                         "--new-year", "2024")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith(NEW_CUSTOMERS))
    assert line.split()[-2:] == ["72", "72"]  # one column: the register's one type
    totals = [ln for ln in out.splitlines() if ln.startswith("I alt")]
    assert [t.split()[2] for t in totals] == ["98", "98"]


def test_cli_custom_bands() -> None:
    """--kroner-bands and --percent-bands replace the seed's bands, names and all."""
    code, out, err = run("compare", PRICE_OLD, PRICE_NEW, "--register", BOUNDARIES,
                         "--year", "2025", "--format", "json",
                         "--kroner-bands", "Ned:0,Litt:1000,Mye", "--percent-bands", "0,50")
    assert code == 0, err
    doc = json.loads(out)
    assert [(r["band"], r["total"]) for r in doc["effect_kroner"]["rows"]] == [
        ("Ned", 2), ("Litt", 10), ("Mye", 6)]
    assert [(r["band"], r["total"]) for r in doc["effect_percent"]["rows"]] == [
        ("under 0 %", 2), ("0 % – 50 %", 10), ("over 50 %", 5), (NEW_CUSTOMERS, 1)]


def test_cli_missing_input_of_new_tariff(tmp_path: Path) -> None:
    """A register without the new tariff's input is a register error naming the column."""
    reg = tmp_path / "r.csv"
    reg.write_text("id,name,old_price\n1,A,x\n", encoding="utf-8")
    code, out, err = run("compare", PRICE_OLD, PRICE_NEW, "--register", str(reg), "--year", "2025")
    assert code == 1
    assert f"{reg}, row 1: error: the register has no column new_price" in err
    assert out == ""


def test_cli_conflicting_inputs() -> None:
    """Two types for one input stop the comparison with a positioned error."""
    code, _, err = run("compare", PRICE_OLD, PRICE_CONFLICT, "--register", BOUNDARIES,
                       "--year", "2025")
    assert code == 1
    assert err.startswith(f"{PRICE_CONFLICT}:6:7: error: input old_price is inhabitants here")
    assert f"{PRICE_OLD}:6:7: note: the old tariff's input old_price" in err


def test_cli_reports_both_broken_tariffs(tmp_path: Path) -> None:
    """The problems of both tariffs are reported at once."""
    a, b = tmp_path / "a.tariff", tmp_path / "b.tariff"
    a.write_text('tariff a "A"\n  currency NOK\n  source "s"\ncharge f every year\n'
                 "  amount 1 + 1 NOK\n", encoding="utf-8")
    b.write_text('tariff b "B"\n  currency NOK\n  source "s"\ncharge f every yaer\n',
                 encoding="utf-8")
    code, _, err = run("compare", str(a), str(b), "--register", BOUNDARIES, "--year", "2025")
    assert code == 1
    assert f"{a}:5:10: error:" in err and f"{b}:4:16: error:" in err
    assert "takst: 2 errors" in err


def test_cli_option_problems_at_once() -> None:
    """No year and a bad band SPEC are both reported, as usage errors (exit 2)."""
    code, out, err = run("compare", PRICE_OLD, PRICE_NEW, "--register", BOUNDARIES,
                         "--percent-bands", "10,5")
    assert code == 2
    assert "which billing year?" in err
    assert "--percent-bands '10,5': the bounds must increase, but 5 follows 10" in err
    assert out == ""


def test_cli_different_currencies(tmp_path: Path) -> None:
    """Tariffs in two currencies cannot be compared."""
    dkk = tmp_path / "dkk.tariff"
    dkk.write_text((ROOT / PRICE_NEW).read_text(encoding="utf-8").replace("NOK", "DKK"),
                   encoding="utf-8")
    code, _, err = run("compare", PRICE_OLD, str(dkk), "--register", BOUNDARIES, "--year", "2025")
    assert code == 2
    assert "the old tariff bills in NOK, the new one in DKK" in err


# ------------------------------------------------------------------ Serviceplatformen 2018 -> 2019


@pytest.mark.skipif(not SERVICEPLATFORMEN.exists(),
                    reason="rules/serviceplatformen.tariff is not written yet")
def test_serviceplatformen_2018_to_2019() -> None:
    """1.37 -> 1.94 DKK per inhabitant: +0.57 × population, 41.6 %, all 98 "Noe over snittet"."""
    code, out, err = run("compare", "rules/serviceplatformen.tariff",
                         "rules/serviceplatformen.tariff",
                         "--register", "data/denmark_municipalities_2023.csv",
                         "--old-year", "2018", "--new-year", "2019", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    with (DATA / "denmark_municipalities_2023.csv").open(encoding="utf-8") as fh:
        population = {r["id"]: Decimal(r["population"]) for r in csv.DictReader(fh)}
    assert len(doc["customers"]) == len(population) == 98
    expected_kroner = dict.fromkeys(DEFAULT_NAMES, 0)
    for c in doc["customers"]:
        pop = population[c["id"]]
        assert Decimal(c["old"]) == Decimal("1.37") * pop
        assert Decimal(c["new"]) == Decimal("1.94") * pop
        assert Decimal(c["change"]) == Decimal("0.57") * pop
        assert c["percent"] == "41.61"  # 0.57 / 1.37 = 41.605... %
        assert c["percent_band"] == SOME_OVER
        band = DEFAULT_KRONER_BANDS.of(Fraction(Decimal("0.57") * pop)).name
        assert c["kroner_band"] == band
        expected_kroner[band] += 1
    pct = doc["effect_percent"]["rows"]
    assert [(r["band"], r["total"]) for r in pct] == [
        (RED, 0), (UP_TO, 0), (SOME_OVER, 98), (OVER, 0), (BIG, 0),
        ("Nye kunder (før: 0)", 0)]
    assert pct[2]["by_type"]["KOMMUNE"] == 98
    assert {r["band"]: r["total"] for r in doc["effect_kroner"]["rows"]} == expected_kroner
    # København, 653 664 inhabitants: +372 588.48 DKK, a big increase in kroner
    kbh = next(c for c in doc["customers"] if c["id"] == "0101")
    assert kbh["change"] == "372588.48" and kbh["kroner_band"] == BIG


def test_two_versions_of_the_ks_tariff(tmp_path: Path) -> None:
    """Raising the municipal base-funding rate changes only municipalities, by the formula."""
    from fractions import Fraction

    text = (ROOT / "rules" / "ks_dif_2025.tariff").read_text(encoding="utf-8")
    assert text.count("6.345 NOK per inhabitant") == 1
    newer = tmp_path / "ks_dif_2026.tariff"
    newer.write_text(text.replace("6.345 NOK per inhabitant", "7.1 NOK per inhabitant"),
                     encoding="utf-8")
    code, out, err = run("compare", "rules/ks_dif_2025.tariff", str(newer),
                         "--register", "data/norway_2024.csv", "--year", "2025",
                         "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    by_id = {c["id"]: c for c in doc["customers"]}
    assert len(by_id) == 371

    def base(rate: str, people: int, largest: int = 717_710) -> Fraction:
        exact = 16_500 + Fraction(rate) * people * (1 - Fraction(1, 10) * people / largest)
        return Fraction(int(exact + Fraction(1, 2)))  # half up, to whole kroner

    lillestrom = by_id["3205"]
    assert Decimal(lillestrom["change"]) == Decimal(
        int(base("7.1", 94_201) - base("6.345", 94_201)))
    assert Decimal(lillestrom["change"]) > 0
    counties = [c for c in doc["customers"] if c["customer_type"] == "FYLKESKOMMUNE"]
    assert len(counties) == 14 and all(Decimal(c["change"]) == 0 for c in counties)
    assert all(Decimal(c["change"]) > 0 for c in doc["customers"]
               if c["customer_type"] == "KOMMUNE")
    rows = {r["band"]: r for r in doc["effect_percent"]["rows"]}
    assert rows[UP_TO]["by_type"]["FYLKESKOMMUNE"] == 14
    assert sum(r["total"] for r in doc["effect_kroner"]["rows"]) == 371
