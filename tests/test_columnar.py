"""Registers read and checked in DuckDB (src/takst/io/columnar.py): the reader's problems in
the reader's words, found in SQL; the session's batch runs with no Python per row; Parquet.

The reader's own bad-register tests (tests/test_register.py, tests/test_register_dialects.py)
run against the columnar reader too (tests/register_readers.py, kind ``columnar``); the
tests here make sure the columnar path itself answers (no hand-on to the reader) for the
problems it claims to check, and that a file it hands on says so."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from paths import DATA, ROOT, run_here

from takst.dsl.errors import RegisterError, render
from takst.dsl.loader import load_tariff
from takst.interpreter.prepare import validate

duckdb = pytest.importorskip("duckdb")

from takst.interpreter.batch.duckdb_engine import NeedsReader, connect  # noqa: E402
from takst.io import columnar  # noqa: E402
from takst.io.register import load_register  # noqa: E402

OS2 = ROOT / "rules" / "os2valghalla.tariff"
KS = ROOT / "rules" / "ks_dif_2025.tariff"
HEADER = "id,name,customer_type,population,os2_member,joined\n"
GOOD = "0101,København,KOMMUNE,644431,true,2019-01-01\n"

#: Registers with problems the columnar path reports itself, in the reader's words.
BAD = {
    "a bad population": HEADER + GOOD + "0147,Frederiksberg,KOMMUNE,1O4000,true,2019-01-01\n",
    "a negative population": HEADER + GOOD + "2,B,KOMMUNE,-5,true,2019-01-01\n",
    "separators in a count": HEADER + GOOD + '2,B,KOMMUNE,"41 000",true,2019-01-01\n',
    "a local date": HEADER + GOOD + "2,B,KOMMUNE,5,true,01.11.2023\n",
    "a US date": HEADER + GOOD + "2,B,KOMMUNE,5,true,11/01/2023\n",
    "no such day": HEADER + GOOD + "2,B,KOMMUNE,5,true,2023-02-30\n",
    "a date with a time": HEADER + GOOD + "2,B,KOMMUNE,5,true,2023-02-03 10:00\n",
    "a yes/no word": HEADER + GOOD + "2,B,KOMMUNE,5,maybe,2019-01-01\n",
    "an empty cell": HEADER + GOOD + "2,B,KOMMUNE,,true,2019-01-01\n",
    "an empty id": HEADER + GOOD + ",B,KOMMUNE,5,true,2019-01-01\n",
    "a repeated id": HEADER + GOOD + "3,B,KOMMUNE,5,true,2019-01-01\n" + GOOD,
    "an id repeated in another normal form": (
        HEADER + "\u00f8,B,KOMMUNE,5,true,2019-01-01\no\u0338,C,KOMMUNE,5,true,2019-01-01\n"
        "\u00e5,D,KOMMUNE,5,true,2019-01-01\na\u030a,E,KOMMUNE,5,true,2019-01-01\n"),
    "an invisible character": HEADER + GOOD + "2,B\u200bX,KOMMUNE,5,true,2019-01-01\n",
    "a line break in a name": HEADER + GOOD + '2,"B\nX",KOMMUNE,5,true,2019-01-01\n',
    "31 digits": HEADER + GOOD + "2,B,KOMMUNE," + "1" * 31 + ",true,2019-01-01\n",
    "several problems in one row and after": (
        HEADER + GOOD + ",B\u200b,KOMMUNE,x,maybe,2019-13-01\n"
        "\n\n7,C,KOMMUNE,5,true,2019-01-01\n7,D,KOMMUNE,y,true,2019-01-01\n"),
    "a missing column": "id,name,customer_type,os2_member,joined\n1,A,KOMMUNE,true,2019-01-01\n",
    "no customers": HEADER,
    "an empty file": "\n\n",
    "semicolons and a decimal comma, a bad cell": (
        "sep=;\r\nid;name;customer_type;population;os2_member;joined\r\n"
        "1;A;KOMMUNE;1.234.567;ja;2019-01-01\r\n2;B;KOMMUNE;12,5;ja;2019-01-01\r\n"),
}

MONEY = """\
tariff m "Money"
  currency DKK
  source "test"

input budget "Budget": money
input population "Indbyggere": inhabitants

charge fee "Gebyr" every year
  amount budget + 1 DKK per inhabitant * population
"""

MARKS = {
    "both marks": "id,name,budget,population\n1,A,\"1,5\",5\n2,B,2.5,5\n",
    "a number that reads two ways": "id,name,budget,population\n1,A,41.000,5\n2,B,7.250,5\n",
}


def reader_problems(path: Path, tariff_path: Path) -> list[str]:
    """The reader's problems of a register file, then prepare's (customer types), rendered."""
    tariff = load_tariff(tariff_path)
    inputs = {i.name: i for i in tariff.inputs}
    try:
        customers = load_register(path, inputs, "r.csv")
    except RegisterError as err:
        return [render(d) for d in err.diagnostics]
    return [render(d) for d in validate(tariff, customers)]


def columnar_problems(path: Path, tariff_path: Path) -> list[str]:
    tariff = load_tariff(tariff_path)
    with pytest.raises(RegisterError) as info:
        columnar.load(connect(), path, tariff, "r.csv")
    return [render(d) for d in info.value.diagnostics]


@pytest.mark.parametrize("case", sorted(BAD))
def test_problems_found_in_sql_are_the_readers_word_for_word(case: str, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(BAD[case], encoding="utf-8", newline="")
    expected = reader_problems(path, OS2)
    assert expected, "the case has a problem for the reader"
    assert columnar_problems(path, OS2) == expected


@pytest.mark.parametrize("case", sorted(MARKS))
def test_an_unclear_decimal_mark_is_the_readers_problem(case: str, tmp_path: Path) -> None:
    tariff = tmp_path / "m.tariff"
    tariff.write_text(MONEY, encoding="utf-8")
    path = tmp_path / "r.csv"
    path.write_text(MARKS[case], encoding="utf-8")
    expected = reader_problems(path, tariff)
    assert expected
    assert columnar_problems(path, tariff) == expected


def test_customer_types_and_services_are_prepares_problems(tmp_path: Path) -> None:
    lines = (DATA / "norway_2024.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    t = header.index("customer_type")
    rows = [line.split(",") for line in lines[1:6]]
    rows[1][t] = "AMT"
    rows[3][t] = "kommune"
    text = ",".join([*header, "services"]) + "\n" + "".join(
        ",".join([*r, "svarut;nothing" if i == 2 else ""]) + "\n" for i, r in enumerate(rows))
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8")
    expected = reader_problems(path, KS)
    assert len(expected) == 3
    assert columnar_problems(path, KS) == expected


def test_the_customers_are_the_readers(tmp_path: Path) -> None:
    """Values, types, optional inputs, ids in NFC, origins: as the reader gives them."""
    tariff = load_tariff(KS)
    inputs = {i.name: i for i in tariff.inputs}
    src = DATA / "norway_2024.csv"
    con = connect()
    loaded = columnar.load(con, src, tariff, "r.csv", texts=True)
    assert columnar.customers(con, loaded, "r.csv", inputs) == load_register(src, inputs, "r.csv")
    assert loaded.delimiter == "comma" and loaded.decimal == "point"


@pytest.mark.parametrize("row", ['2, "B",KOMMUNE,5,true,2019-01-01', '2,B\t"x",KOMMUNE,5,true,2019-01-01'])
def test_a_quote_after_a_space_is_left_to_the_reader(row: str, tmp_path: Path) -> None:
    """Python's CSV reader keeps `` "B"`` as text with its quotes; DuckDB's would read B."""
    path = tmp_path / "r.csv"
    path.write_text(HEADER + GOOD + row + "\n", encoding="utf-8")
    with pytest.raises(NeedsReader):
        columnar.load(connect(), path, load_tariff(OS2), "r.csv")


def test_a_row_the_sieve_holds_but_the_reader_reads_goes_to_the_reader(tmp_path: Path) -> None:
    """A name ending in a no-break space is one the SQL does not trim: the whole file is read by
    the reader (NeedsReader), and the session says so."""
    path = tmp_path / "r.csv"
    path.write_text(HEADER + GOOD + "2,B\u00a0,KOMMUNE,5,true,2019-01-01\n", encoding="utf-8")
    with pytest.raises(NeedsReader):
        columnar.load(connect(), path, load_tariff(OS2), "r.csv")
    code, out, err = run_here("eval", str(OS2), "--register", str(path), "--year", "2024",
                              "--format", "csv", "--engine", "batch")
    assert code == 0
    assert "read by the Python reader" in err
    code, expected, _ = run_here("eval", str(OS2), "--register", str(path), "--year", "2024",
                                 "--format", "csv")
    assert out == expected


DIALECTS = {
    "plain": None,
    "excel-danish": "sep=;\r\nid;name;customer_type;population;os2_member;joined\r\n",
}


def _register(tmp_path: Path, dialect: str) -> Path:
    lines = (DATA / "os2valghalla_demo_2024.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / f"{dialect}.csv"
    if dialect == "plain":
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        body = "".join(line.replace(",", ";") + "\r\n" for line in lines[1:])
        path.write_bytes(b"\xef\xbb\xbf" + (str(DIALECTS[dialect]) + body).encode("utf-8"))
    return path


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_batch_csv_and_json_are_the_interpreters_bytes_with_no_python_reader(
        dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _register(tmp_path, dialect)
    outs: dict[str, dict[str, str]] = {}
    for engine in ("interpreter", "batch"):
        outs[engine] = {}
        for fmt in ("csv", "json"):
            code, out, err = run_here("eval", str(OS2), "--register", str(path), "--year",
                                      "2024", "--format", fmt, "--engine", engine)
            assert code == 0, err
            assert err == ""
            outs[engine][fmt] = out
        if engine == "interpreter":  # from here on, the Python reader must not read a row
            from takst.io import register

            def no_reader(self: object) -> object:
                raise AssertionError("the batch engine read the register in Python")

            monkeypatch.setattr(register.Register, "__iter__", no_reader)
    assert outs["batch"]["csv"] == outs["interpreter"]["csv"]
    a, b = json.loads(outs["interpreter"]["json"]), json.loads(outs["batch"]["json"])
    assert b["manifest"]["request"]["engine"] == "batch"
    a["manifest"]["request"]["engine"] = "batch"
    assert a == b
    assert outs["batch"]["json"] == outs["interpreter"]["json"].replace(
        '"engine": "interpreter"', '"engine": "batch"')


def test_parquet_results_and_parquet_registers(tmp_path: Path) -> None:
    src = DATA / "os2valghalla_demo_2024.csv"
    results = {}
    for engine in ("interpreter", "batch"):
        out = tmp_path / f"{engine}.parquet"
        code, _, err = run_here("eval", str(OS2), "--register", str(src), "--year", "2024",
                                "--format", "parquet", "--out", str(out), "--engine", engine)
        assert code == 0, err
        con = duckdb.connect()
        types = dict(con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()[i][:2]
                     for i in range(6))
        assert types["total"].startswith("DECIMAL(38,")
        results[engine] = con.execute(f"SELECT * FROM '{out}'").fetchall()
        assert not list(tmp_path.glob(".*.tmp"))
    assert results["batch"] == results["interpreter"]
    assert len(results["batch"]) == 98
    # a Parquet register (typed columns) gives the CSV register's results
    reg = tmp_path / "register.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{reg}' (FORMAT parquet)")
    code, from_parquet, err = run_here("eval", str(OS2), "--register", str(reg), "--year",
                                       "2024", "--format", "csv", "--engine", "batch")
    assert code == 0, err
    code, from_csv, _ = run_here("eval", str(OS2), "--register", str(src), "--year", "2024",
                                 "--format", "csv")
    assert from_parquet == from_csv
    code, _, err = run_here("eval", str(OS2), "--register", str(reg), "--year", "2024",
                            "--format", "csv")
    assert code == 2 and "--engine batch" in err


def test_parquet_needs_an_out_file() -> None:
    code, _, err = run_here("eval", str(OS2), "--register", str(DATA / "os2valghalla_demo_2024.csv"),
                            "--year", "2024", "--format", "parquet")
    assert code == 2 and "--out" in err


def test_a_bad_register_under_the_batch_engine_reports_the_readers_problems(
        tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(BAD["several problems in one row and after"], encoding="utf-8")
    runs = [run_here("eval", str(OS2), "--register", str(path), "--year", "2024",
                     "--format", "csv", "--engine", engine)
            for engine in ("interpreter", "batch")]
    assert runs[0][0] == runs[1][0] != 0
    assert runs[0][2] == runs[1][2]


def test_a_register_duckdb_reads_in_parallel_keeps_its_order(tmp_path: Path) -> None:
    """A register large enough that DuckDB reads it in several chunks at once: the results
    come in the register's order, every amount exact (a plan is written sorted by row)."""
    scale = ROOT / "bench" / "scale" / "social_security_contribution.tariff"
    n = 150_000
    path = tmp_path / "salaries.csv"
    cents = [(i * 7919) % 3_000_000 for i in range(n)]
    path.write_text("id,name,salary\n" + "".join(
        f"{i},P{i},{c // 100}.{c % 100:02d}\n" for i, c in enumerate(cents)), encoding="utf-8")
    code, out, err = run_here("eval", str(scale), "--register", str(path), "--year", "2024",
                              "--format", "csv", "--engine", "batch")
    assert code == 0, err
    rows = out.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [str(i) for i in range(n)]

    def exact(c: int) -> str:
        total = min(c, 600_000) * 2 + (min(max(c, 600_000), 1_240_000) - 600_000) * 6 \
            + (max(c, 1_240_000) - 1_240_000) * 12
        x = (total + 50) // 100
        return f"{x // 100}.{x % 100:02d}"

    assert [r.split(",")[2] for r in rows] == [exact(c) for c in cents]


def test_an_os2_register_read_in_parallel_keeps_its_order_through_in_lists(
        tmp_path: Path) -> None:
    """OS2's exemption list and yes/no words are ``IN`` lists, which DuckDB turns into joins
    that do not keep a table's order (duckdb/duckdb#24398): a register of several row
    groups, written without a sort, still comes out in the register's order, each row the
    interpreter's, and the rewrite is switched back on afterwards."""
    names = ["Aarhus", "Kolding 7", "Vejen", "Læsø", "Odense 3", "Ærø"]
    n = 300_000
    path = tmp_path / "r.csv"
    path.write_text(HEADER + "".join(
        f"{i:07d},{names[i % 6]},KOMMUNE,{1_500 + (i * 7919) % 700_000},"
        f"{'true' if i % 3 else 'false'},{2023 + i % 2}-0{1 + i % 9}-1{i % 10}\n"
        for i in range(n)), encoding="utf-8")
    outs = {}
    for engine in ("interpreter", "batch"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = run_here("eval", str(OS2), "--register", str(path), "--year", "2024",
                                "--format", "csv", "--out", str(out), "--engine", engine)
        assert code == 0, err
        outs[engine] = out.read_text(encoding="utf-8")
    ids = [line.split(",", 1)[0] for line in outs["batch"].splitlines()[1:]]
    assert ids == [f"{i:07d}" for i in range(n)]
    assert outs["batch"] == outs["interpreter"]
    (off,) = connect().execute("SELECT current_setting('disabled_optimizers')").fetchone()
    assert off == ""


BIG = """tariff big "Big numbers"
  currency NOK
  source "a test of the batch engine's integers"

input population "Innbyggere": inhabitants

param price "Pr innbygger" = 1_000_000_000.50 NOK per inhabitant

charge annual "Årlig" every year
  amount price * population
"""


@pytest.mark.parametrize("population", ["41000", "9000000000"])
def test_a_plan_that_overflows_64_bits_is_run_in_128(population: str, tmp_path: Path) -> None:
    """The register's numbers fit 64 bits, so the plan runs in them first; 9 000 000 000
    inhabitants at 1 000 000 000.50 NOK overflow 64 bits (the price is in øre): the plan runs
    again in 128 bits, and the amount is the interpreter's, exact."""
    tariff = tmp_path / "big.tariff"
    tariff.write_text(BIG, encoding="utf-8")
    reg = tmp_path / "r.csv"
    reg.write_text(f"id,name,population\n1,A,{population}\n2,B,12\n", encoding="utf-8")
    outs = {}
    for engine in ("interpreter", "batch"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = run_here("eval", str(tariff), "--register", str(reg), "--year", "2024",
                                "--format", "csv", "--out", str(out), "--engine", engine)
        assert code == 0, err
        assert "note" not in err  # the batch engine billed it, no fall-back
        outs[engine] = out.read_text(encoding="utf-8")
    assert outs["batch"] == outs["interpreter"]
    want = Decimal("1000000000.50") * int(population)
    assert f",{want:.2f}," in outs["batch"]


def test_an_amount_with_no_exact_value_is_placed_as_the_interpreter_places_it(
        tmp_path: Path) -> None:
    """An error the plan raises for one customer (here 10/3 with no rounding) names the
    charge's place in the tariff and the interpreter's hint, and nothing is written."""
    tariff = tmp_path / "third.tariff"
    tariff.write_text(BIG.replace("1_000_000_000.50 NOK", "1 NOK").replace(
        "price * population", "price * population / 3"), encoding="utf-8")
    reg = tmp_path / "r.csv"
    reg.write_text("id,name,population\n1,A,9\n2,B,10\n", encoding="utf-8")
    errs = {}
    for engine in ("interpreter", "batch"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = run_here("eval", str(tariff), "--register", str(reg), "--year", "2024",
                                "--format", "csv", "--out", str(out), "--engine", engine)
        assert code == 1 and not out.exists()
        errs[engine] = err
    place = f"{tariff}:9:8: error: the amount of annual for B "
    hint = "hint: say how to round it: add a line `round to øre half up` to the charge"
    for err in errs.values():
        assert place in err and hint in err


#: Money registers with a decimal point: plain cells are read as they are (their flags),
#: the others by the full checks; both give the reader's values, or its words.
POINTED = {
    "plain decimals": ("1234.56", "0.5", "7", "12.125"),
    "a number that reads two ways beside decimals": ("1.234", "12.5", "7"),
    "only numbers that read two ways": ("41.000", "7.250", "7"),
    "thirty digits and a point": ("123456789012345.123456789012345", "1.5", "2"),
    "thirty-one digits and a point": ("1234567890123456.123456789012345", "1.5", "2"),
    "grouped thousands and decimals": ('"1,234.50"', "12.5", "7"),
    "a space before": (" 12.5", "1.25", "7"),
}


@pytest.mark.parametrize("case", sorted(POINTED))
@pytest.mark.parametrize("decimal", [None, "point", "comma"])
def test_numbers_with_a_decimal_point_are_the_readers(case: str, decimal: str | None,
                                                      tmp_path: Path) -> None:
    tariff_path = tmp_path / "m.tariff"
    tariff_path.write_text(MONEY, encoding="utf-8")
    tariff = load_tariff(tariff_path)
    inputs = {i.name: i for i in tariff.inputs}
    path = tmp_path / "r.csv"
    path.write_text("id,name,budget,population\n" + "".join(
        f"{i},P{i},{b},5\n" for i, b in enumerate(POINTED[case])), encoding="utf-8")
    try:
        want: object = [(c.id, c.values) for c in load_register(path, inputs, "r.csv",
                                                                   decimal=decimal)]
    except RegisterError as err:
        want = [render(d) for d in err.diagnostics]
    try:
        con = connect()
        loaded = columnar.load(con, path, tariff, "r.csv", decimal=decimal, texts=True)
        got: object = [(c.id, c.values) for c in columnar.customers(con, loaded, "r.csv", inputs)]
    except RegisterError as err:
        got = [render(d) for d in err.diagnostics]
    except NeedsReader:
        got = want  # handed to the reader, whose answer it then is
    assert got == want


def test_the_cells_flag_found_at_once_is_each_cells_own(tmp_path: Path) -> None:
    """load_flags finds the clean flags of the id, the name, the customer type and the
    inputs by one match over them all (joined by U+001F) and each one's own only where
    that fails: every flag is the one flag_columns gives, for clean cells, empty ones, a
    separator inside a cell, a space or NBSP at an end, one character, letters past Latin,
    numbers, yes/no words and dates in and out of their common forms (and the calendar)."""
    from takst.interpreter.batch import columnar as sql

    texts = ["0101", "Aarhus", "", "a\x1fb", " x", "x\u00a0", "Å", "Ωmega", "Ballerup 2"]
    counts = ["1000", "", "1 000", "1e3", "x\x1f1", "0", "9" * 31]
    words = ["ja", "true", "JA", "", "nej ", "falskt"]
    dates = ["2024-02-29", "2023-02-29", "0000-01-01", "", "2024-1-05", "2024-01-05\x1f"]
    rows = [(a, b, c, n, w, d) for a in texts for b in texts[:5] for c in ("KOMMUNE", "", " K")
            for n, w, d in zip(counts, words * 2, dates + dates[:1], strict=False)]
    path = tmp_path / "r.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,name,customer_type,population,member,joined\n")
        for row in rows:
            fh.write(",".join(f'"{x}"' for x in row) + "\n")
    columns = [sql.Column("population", 3, "inhabitants", False),
               sql.Column("member", 4, "yes/no", False), sql.Column("joined", 5, "date", True)]
    kw = {"id_position": 0, "name_position": 1, "type_position": 2}
    source = sql.csv_source(str(path), delimiter=",", skip=1, width=6)
    con = connect()
    found = {}
    for name, flags in (("each", sql.flag_columns(columns, **kw)),
                        ("at once", sql.load_flags(columns, **kw))):
        assert sql.load_text(con, source, 6, flags) == len(rows)
        found[name] = con.execute(
            "SELECT _k0, _k1, _k2, _k3, _k4, _k5 FROM _raw ORDER BY rowid").fetchall()
    assert len(sql.load_flags(columns, **kw).outer) == 6  # the six found at once
    assert found["at once"] == found["each"]
    for i in range(6):  # every flag both found and not
        assert {r[i] is True for r in found["each"]} == {True, False}
    assert (True,) * 6 in found["each"]


def test_the_sieve_is_not_run_where_every_cell_is_clean(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """When every cell the tariff reads has its clean flag and nothing else can hold a
    record back, held_back answers from the flags (no record is held back) and skips the
    sieve; a register with a column the tariff does not read (its line breaks are not
    flagged) runs it. The inputs whose every cell is clean are complete (the plan does not
    test them for emptiness); an empty cell of an optional input leaves its input out.
    Either way the customers and their amounts are the reader's and the interpreter's."""
    from takst.interpreter.batch import columnar as sql
    from takst.interpreter.evaluator import InterpreterEngine

    seen: list[tuple[object, object]] = []
    real = sql.held_back

    def spy(con: object, id_flag: int | None = None, flags: Sequence[int] = (),
            skip: bool = False, view: object = None) -> object:
        found = real(con, id_flag, flags, skip, view)
        seen.append((skip, found[2]))
        return found

    monkeypatch.setattr(sql, "held_back", spy)
    os2 = {"population", "os2_member", "joined"}
    clean = HEADER + GOOD + "0147,Frederiksberg,KOMMUNE,104000,false,2024-06-30\n"
    extra = (HEADER.strip() + ",note\n" + GOOD.strip() + ",x\n"
             "0147,Frederiksberg,KOMMUNE,104000,false,2024-06-30,y\n")
    ks = ("id,name,customer_type,population,altinn_transactions,shipments,svarinn_messages\n"
          "1,A,KOMMUNE,10000,1000,2000,100\n2,B,KOMMUNE,717710,5,,7\n"
          "3,C,STATLIG_VIRKSOMHET,0,1000,2000,100\n")
    cases = [(OS2, 2024, clean, True, set(range(6)), os2),
             (OS2, 2024, extra, False, set(range(6)), os2),
             (KS, 2025, ks, True, set(range(7)) - {5},
              {"population", "altinn_transactions", "svarinn_messages"})]
    for tariff_path, year, text, skip, flagged, complete in cases:
        tariff = load_tariff(tariff_path)
        inputs = {i.name: i for i in tariff.inputs}
        path = tmp_path / "r.csv"
        path.write_text(text, encoding="utf-8")
        seen.clear()
        con = connect()
        loaded = columnar.load(con, path, tariff, "r.csv", texts=True)
        assert seen == [(skip, flagged)]
        assert set(loaded.complete) == complete
        got = [(c.id, c.name, c.values) for c in columnar.customers(con, loaded, "r.csv", inputs)]
        customers = load_register(path, inputs, "r.csv")
        assert got == [(c.id, c.name, c.values) for c in customers] and len(got) >= 2
        batch = columnar.batch_engine(tariff, str(path), year, dict)
        got_lines = [[(x.charge, x.status, x.amount) for x in r.lines]
                     for r in batch.evaluate(None, year, None)]
        engine = InterpreterEngine(tariff)
        want_lines = [[(x.charge, x.status, x.amount) for x in r.lines]
                      for r in engine.evaluate(customers, year, engine.prepare(customers, year))]
        assert got_lines == want_lines
        assert any(s == "pending" for r in want_lines for _, s, _ in r)


#: BAD registers whose rows are one line each after the header (a Parquet file's row N is
#: the CSV's physical row N + 1).
ONE_LINE_ROWS = sorted(c for c, text in BAD.items()
                       if "\n\n" not in text and '"' not in text and not text.startswith("sep=")
                       and text.count("\n") > 1 and c != "a missing column")


#: Where DuckDB finds no types for the file's columns (dates of two forms) or types as a
#: DOUBLE (31 digits, refused as not exact), the Parquet file is made of text only.
UNTYPED = {"31 digits", "a US date", "a local date"}


@pytest.mark.parametrize(("case", "typed"), [(c, t) for c in ONE_LINE_ROWS for t in (False, True)
                                             if not (t and c in UNTYPED)])
def test_a_parquet_registers_problems_are_the_csv_registers(case: str, typed: bool,
                                                            tmp_path: Path) -> None:
    """The same register as Parquet (every column text, or the types DuckDB finds) has the
    CSV register's problems, word for word, at its rows (each cell's flags found as the
    file is read, as for a CSV file)."""
    path = tmp_path / "r.csv"
    path.write_text(BAD[case], encoding="utf-8", newline="")
    expected = reader_problems(path, OS2)
    parquet = tmp_path / "r.parquet"
    how = "" if typed else ", all_varchar=true"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{path}'{how})) "
                             f"TO '{parquet}' (FORMAT parquet)")
    tariff = load_tariff(OS2)
    with pytest.raises(RegisterError) as info:
        columnar.load(connect(), parquet, tariff, "r.parquet")
    got = [render(d) for d in info.value.diagnostics]

    def as_parquet(text: str) -> str:
        import re

        text = text.replace("r.csv, row", "r.parquet, row")
        return re.sub(r"\brow (\d+)", lambda m: f"row {int(m.group(1)) - 1}", text)

    assert got == [as_parquet(e) for e in expected]


def test_the_sieves_view_is_made_only_where_the_sieve_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A register whose every cell is clean is typed once (the view the plan reads, with
    no condition of the sieve's); one with a cell that is not is typed twice: first with
    the sieve's conditions, which it runs, then again without them. Either way the
    customers are the reader's."""
    from takst.interpreter.batch import columnar as sql

    tariff = load_tariff(OS2)
    inputs = {i.name: i for i in tariff.inputs}
    made: list[bool] = []
    real = sql.typed

    def spy(*args: Any, **kw: Any) -> str:
        made.append(bool(kw.get("conditions")))
        return real(*args, **kw)

    monkeypatch.setattr(sql, "typed", spy)
    for row, want in (("0147,Frederiksberg,KOMMUNE,104000,false,2024-06-30\n", [False]),
                      ("0147,Frederiksberg ,KOMMUNE,104000,false,2024-06-30\n", [True, False])):
        made.clear()
        path = tmp_path / "r.csv"
        path.write_text(HEADER + GOOD + row, encoding="utf-8")
        con = connect()
        loaded = columnar.load(con, path, tariff, "r.csv", texts=True)
        assert made == want
        got = [(c.id, c.name, c.values)
               for c in columnar.customers(con, loaded, "r.csv", inputs)]
        assert got == [(c.id, c.name, c.values) for c in load_register(path, inputs, "r.csv")]


def test_the_typed_view_tests_only_the_flags_of_cells_not_clean_everywhere(
        tmp_path: Path) -> None:
    """Where no record is held back, ``_register`` is made again: a column whose every cell
    is in its clean form is read as it is (its flag is no longer tested), the others still
    by their flags; the customers are the reader's."""
    tariff = load_tariff(OS2)
    inputs = {i.name: i for i in tariff.inputs}
    path = tmp_path / "r.csv"
    # the name (a trailing space), the population (thousands) and os2_member (``Ja``) of
    # the second record are not in their clean forms; the id, type and date are
    path.write_text(HEADER + GOOD + '0147,Frederiksberg ,KOMMUNE,"1,040,000",Ja,2024-06-30\n',
                    encoding="utf-8")
    con = connect()
    loaded = columnar.load(con, path, tariff, "r.csv", texts=True)
    (view,) = con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = '_register'").fetchone()
    assert {p for p in range(6) if f"_k{p}" in view} == {1, 3, 4}
    assert "false as _held" in view.lower()
    got = [(c.id, c.name, c.values) for c in columnar.customers(con, loaded, "r.csv", inputs)]
    assert got == [(c.id, c.name, c.values) for c in load_register(path, inputs, "r.csv")]
    assert got[1][1] == "Frederiksberg" and got[1][2]["population"] == 1040000


def test_the_typed_view_replaces_a_table_of_its_name() -> None:
    """``run_register`` (the older road) leaves a table ``_register`` on its connection; a
    register then loaded on that connection replaces it with its typed view, and its
    customers are the reader's."""
    from takst.interpreter.batch import run_register

    tariff = load_tariff(OS2)
    inputs = {i.name: i for i in tariff.inputs}
    src = DATA / "os2valghalla_demo_2024.csv"
    con = connect()
    run_register(tariff, str(src), 2024, con=con)
    kind = "SELECT table_type FROM information_schema.tables WHERE table_name = '_register'"
    assert con.execute(kind).fetchall() == [("LOCAL TEMPORARY",)]
    loaded = columnar.load(con, src, tariff, "r.csv", texts=True)
    assert con.execute(kind).fetchall() == [("VIEW",)]
    got = [(c.id, c.name, c.values) for c in columnar.customers(con, loaded, "r.csv", inputs)]
    assert got == [(c.id, c.name, c.values) for c in load_register(src, inputs, "r.csv")]
