"""Spreadsheets: CSV for a Nordic Excel, XLSX results and XLSX registers (issue 11, 2-3)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from paths import ROOT, run, run_here

from takst.dsl import ast
from takst.dsl.errors import RegisterError
from takst.io.register import load_register, parse_register, text_cell
from takst.render.excel import (
    BOM,
    excel_text,
    excel_text_read,
    significant_digits,
)

openpyxl = pytest.importorskip("openpyxl")

OS2 = "rules/os2valghalla.tariff"
DEMO = "data/os2valghalla_demo_2024.csv"
KS = "rules/ks_dif_2025.tariff"
KS_REGISTER = "docs/examples/ks_customers_2025.csv"
OS2_EVAL = ("eval", OS2, "--register", DEMO, "--year", "2024")


def _money(name: str, optional: bool = False) -> ast.InputDecl:
    return ast.InputDecl(name, None, ast.InputType("money", span=None), optional=optional,
                         span=None)


def _json_results(*argv: str) -> dict[str, object]:
    code, out, err = run(*argv, "--format", "json")
    assert code == 0, err
    doc: dict[str, object] = json.loads(out)
    return doc


# ------------------------------------------------------------------ text cells


@pytest.mark.parametrize(("text", "written"), [
    ("0301", '="0301"'),
    ("301", '="301"'),
    ("1-2", '="1-2"'),
    ("3/4", '="3/4"'),
    ("1e5", '="1e5"'),
    ("TRUE", '="TRUE"'),
    ("=SUM(A1)", '="=SUM(A1)"'),
    ('=HYPERLINK("x")', '="=HYPERLINK(""x"")"'),
    ("+45 1234", '="+45 1234"'),
    ("@cmd", '="@cmd"'),
    ("'quoted", "=\"'quoted\""),
    ("København", "København"),
    ("Region 2", "Region 2"),
])
def test_excel_text(text: str, written: str) -> None:
    """Text Excel would change (a number, a date, a truth value) or run (a formula) becomes a
    string constant; other text stays; it reads back exactly."""
    assert excel_text(text) == written
    assert excel_text_read(written) == text
    assert text_cell(written) == text  # the register reader reads it back too


def test_excel_text_too_long_for_a_string_constant() -> None:
    """Excel's string constants hold 255 characters: a longer formula-like text gets a ',
    never a live formula."""
    text = "=" + "A" * 300
    assert excel_text(text) == "'" + text
    assert not excel_text(text).startswith("=")


def test_string_constant_cannot_break_out() -> None:
    """A double quote in the text is doubled: the formula stays one string constant."""
    evil = '=0"&CMD("calc")&"'
    written = excel_text(evil)
    assert written == '="=0""&CMD(""calc"")&"""'
    body = written[2:-1]
    assert '"' not in body.replace('""', "")  # no lone quote: nothing ends the constant
    assert excel_text_read(written) == evil


# ------------------------------------------------------------------ CSV for Excel


def test_danish_csv_for_excel() -> None:
    """--locale da: BOM, ';', decimal comma without grouping, ids as ="0101", pending in
    its own column and an empty amount cell."""
    code, out, err = run(*OS2_EVAL, "--format", "csv", "--locale", "da")
    assert code == 0, err
    assert out.startswith(BOM)
    lines = out.removeprefix(BOM).split("\n")
    assert lines[0] == "id;name;annual_fee;connection_fee;operations_fee;total;pending"
    assert lines[1] == '"=""0101""";København;56680,00;0,00;;56680,00;operations_fee'
    assert lines[-1] == ""
    rows = list(csv.reader(io.StringIO(out.removeprefix(BOM), newline=""), delimiter=";"))
    assert len(rows) == 99
    for r in rows[1:]:
        for cell in r[2:-1]:  # number columns hold numbers only, or nothing
            assert cell == "" or cell.replace(",", "").isdigit(), cell
            assert "." not in cell and " " not in cell


def test_norwegian_csv_is_the_same_form() -> None:
    """--locale nb: the same Excel form (Norwegian Excel also has ';' and a decimal comma)."""
    code, out, err = run("eval", KS, "--register", KS_REGISTER, "--year", "2025",
                         "--format", "csv", "--locale", "nb")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out.removeprefix(BOM), newline=""), delimiter=";"))
    doc = _json_results("eval", KS, "--register", KS_REGISTER, "--year", "2025")
    customers = doc["customers"]
    assert isinstance(customers, list)
    assert len(rows) == len(customers) + 1
    for row, c in zip(rows[1:], customers, strict=True):
        assert excel_text_read(row[0]) == c["id"]
        assert row[-2] == c["total"].replace(".", ",")


def test_english_locale_keeps_the_plain_csv_byte_for_byte() -> None:
    """--locale en, and no --locale, write today's plain CSV."""
    _, plain, _ = run(*OS2_EVAL, "--format", "csv")
    code, en, err = run(*OS2_EVAL, "--format", "csv", "--locale", "en")
    assert code == 0, err
    assert en == plain
    assert plain.startswith("id,name,annual_fee,")


def test_unknown_locale_is_a_usage_error() -> None:
    """A locale takst does not write is refused with a suggestion, nothing written."""
    code, out, err = run(*OS2_EVAL, "--format", "csv", "--locale", "danish")
    assert code != 0 and out == ""
    assert "--locale da" in err


def test_nordic_csv_reads_back_with_the_register_reader(tmp_path: Path) -> None:
    """The register reader reads the Excel CSV back: the same ids, names and amounts."""
    code, out, err = run(*OS2_EVAL, "--format", "csv", "--locale", "da")
    assert code == 0, err
    path = tmp_path / "result.csv"
    path.write_text(out, encoding="utf-8", newline="")
    inputs = {"annual_fee": _money("annual_fee"), "connection_fee": _money("connection_fee"),
              "operations_fee": _money("operations_fee", optional=True),
              "total": _money("total")}
    back = load_register(path, inputs)
    doc = _json_results(*OS2_EVAL)
    customers = doc["customers"]
    assert isinstance(customers, list)
    assert len(back) == len(customers) == 98
    for c, j in zip(back, customers, strict=True):
        assert (c.id, c.name) == (j["id"], j["name"])
        for ln in j["lines"]:
            if ln["amount"] is None:
                assert ln["charge"] not in c.values
            else:
                assert c.values[ln["charge"]] == Decimal(ln["amount"])
        assert c.values["total"] == Decimal(j["total"])
    assert back[0].id == "0101"


def test_tricky_names_round_trip() -> None:
    """Names with a ';', a double quote, a formula, a number and a truth value come back."""
    names = ["Ringkøbing; Vest", 'Sagt "hej"', "=1+1", "2024", "Sand", "-5"]
    from takst.interpreter.model import ChargeLine, CustomerResult
    from takst.render.excel import to_excel_csv

    tariff = _one_charge_tariff()
    results = [CustomerResult(id=f"0{i}", name=n, origin="", inputs=(), lines=(
        ChargeLine("fee", "Fee", Decimal("1.50"), "computed", True, ()),))
        for i, n in enumerate(names)]
    text = to_excel_csv(tariff, results)
    back = parse_register(text.removeprefix(BOM), {"fee": _money("fee")}, "x.csv")
    assert [c.name for c in back] == names
    assert [c.id for c in back] == [f"0{i}" for i in range(len(names))]
    assert all(c.values["fee"] == Decimal("1.50") for c in back)


def _one_charge_tariff() -> ast.Tariff:
    from takst.dsl.parser import parse

    return parse(
        'tariff t "T"\n  currency DKK\n  source "test"\n\n'
        'charge fee "Fee" every year\n  amount 1.50 DKK\n', "t.tariff")


def test_nordic_csv_with_out_is_verifiable(work: Path) -> None:
    """--out with --locale da writes the sidecar with the locale; verify reads it back."""
    code, _, err = run_here(*OS2_EVAL, "--format", "csv", "--locale", "da", "--out", "r.csv")
    assert code == 0, err
    side = json.loads(Path("r.csv.manifest.json").read_text(encoding="utf-8"))
    assert side["result"]["locale"] == "da"
    code, out, err = run_here("verify", "r.csv")
    assert code == 0, out + err
    assert out.startswith("identical")
    text = Path("r.csv").read_text(encoding="utf-8")
    Path("r.csv").write_text(text.replace("56680,00", "56681,00", 1), encoding="utf-8",
                             newline="")
    code, out, err = run_here("verify", "r.csv")
    assert code == 1
    assert "56681" in out + err


# ------------------------------------------------------------------ XLSX results


def _xlsx(tmp_path: Path, *argv: str) -> object:
    out = tmp_path / "r.xlsx"
    code, stdout, err = run(*argv, "--format", "xlsx", "--out", str(out))
    assert code == 0, err
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]  # no temporary left
    return openpyxl.load_workbook(out)


def _number(value: object) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def test_xlsx_results_cell_by_cell_against_json(tmp_path: Path) -> None:
    """Every cell of the Results sheet is the JSON result's value: ids as text, amounts as
    numbers with a number format, pending empty; a totals row of values."""
    wb = _xlsx(tmp_path, *OS2_EVAL)
    doc = _json_results(*OS2_EVAL)
    ws = wb["Results"]
    charges = [c["charge"] for c in doc["charges"]]
    heads = [c.value for c in ws[1]]
    assert heads == ["id", "name", *charges, "total", "pending"]
    customers = doc["customers"]
    assert ws.max_row == len(customers) + 2
    for i, c in enumerate(customers, 2):
        row = ws[i]
        assert row[0].value == c["id"] and row[0].data_type == "s"
        assert row[1].value == c["name"]
        for cell, ln in zip(row[2:-2], c["lines"], strict=True):
            if ln["amount"] is None:
                assert cell.value is None
            else:
                assert cell.data_type == "n"
                assert _number(cell.value) == Decimal(ln["amount"])
                assert cell.number_format.startswith("#,##0.00")
        assert _number(row[-2].value) == Decimal(c["total"])
        assert (row[-1].value or "") == ", ".join(c["pending"])
    foot = ws[len(customers) + 2]
    assert foot[1].value == f"{len(customers)} customers"
    totals = doc["totals"]
    for cell, charge in zip(foot[2:-2], charges, strict=True):
        assert _number(cell.value) == Decimal(totals["by_charge"][charge])
    assert _number(foot[-2].value) == Decimal(totals["total"]) == Decimal("8846900.00")
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == f"A1:G{len(customers) + 1}"
    assert ws.column_dimensions["B"].width >= len("Ringkøbing-Skjern")


def test_xlsx_has_inputs_and_provenance(tmp_path: Path) -> None:
    """The Inputs sheet has each customer's inputs; Provenance the manifest (file hashes)."""
    wb = _xlsx(tmp_path, *OS2_EVAL)
    doc = _json_results(*OS2_EVAL)
    inputs = wb["Inputs"]
    heads = [c.value for c in inputs[1]]
    first = doc["customers"][0]
    assert heads == ["id", "name", *first["inputs"]]
    row = [c.value for c in inputs[2]]
    assert row[0] == first["id"]
    assert _number(row[heads.index("population")]) == Decimal(first["inputs"]["population"])
    prov = {r[0]: r[1] for r in wb["Provenance"].iter_rows(min_row=2, values_only=True)}
    manifest = doc["manifest"]
    assert prov["tariff"] == "os2valghalla" and prov["year"] == "2024"
    assert prov["manifest.request.register"] == DEMO
    sha = next(v for k, v in prov.items() if k.endswith("sha256") and "register" in k)
    assert sha == manifest["register"]["sha256"]


def test_xlsx_trace_sheet(tmp_path: Path) -> None:
    """With --trace, a Trace sheet has every step of every charge line."""
    wb = _xlsx(tmp_path, *OS2_EVAL, "--trace")
    code, out, _ = run(*OS2_EVAL, "--format", "json", "--trace")
    assert code == 0
    doc = json.loads(out)
    steps = [(c["id"], ln["charge"], s["text"]) for c in doc["customers"]
             for ln in c["lines"] for s in ln["trace"]]
    rows = list(wb["Trace"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[5]) for r in rows] == steps
    (tmp_path / "plain").mkdir()
    assert "Trace" not in _xlsx(tmp_path / "plain", *OS2_EVAL).sheetnames


def test_xlsx_needs_out() -> None:
    """XLSX is a file: without --out the command says so and writes nothing."""
    code, out, err = run(*OS2_EVAL, "--format", "xlsx")
    assert code == 2 and out == ""
    assert "--out FILE.xlsx" in err


def test_xlsx_amounts_are_exact_in_the_file(tmp_path: Path) -> None:
    """openpyxl writes numbers through float; takst writes the exact decimal text (9.30
    stays 9.30, not 9.300000000000001), and more than 15 digits as text."""
    import zipfile

    from takst.interpreter.model import ChargeLine, CustomerResult
    from takst.render.excel import write_workbook

    tariff = _one_charge_tariff()
    amounts = ["9.30", "0.94", "1234567890123.45", "12345678901234.567"]
    results = [CustomerResult(id=str(i), name=f"c{i}", origin="", inputs=(), lines=(
        ChargeLine("fee", "Fee", Decimal(a), "computed", True, ()),)) for i, a in
        enumerate(amounts)]
    buf = io.BytesIO()
    write_workbook(buf, tariff, 2024, results)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>9.30</v>" in sheet and "9.300000000000001" not in sheet
    assert "<v>0.94</v>" in sheet and "0.9399999999999999" not in sheet
    assert "<v>1234567890123.45</v>" in sheet  # 15 digits: a number
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    ws = wb["Results"]
    assert ws["C4"].data_type == "n"
    assert ws["C5"].value == "12345678901234.567" and ws["C5"].data_type == "s"  # 17 digits
    prov = {r[0]: r[1] for r in wb["Provenance"].iter_rows(min_row=2, values_only=True)}
    assert "1 amounts have more than 15" in prov["amounts as text"]
    assert significant_digits(Decimal("1234.50")) == 5


def test_xlsx_is_written_whole_or_not_at_all(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing leaves the old file as it was and no temporary file."""
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"old")
    import takst.render.excel as excel

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(excel, "write_workbook", broken)
    code, _, err = run(*OS2_EVAL, "--format", "xlsx", "--out", str(out))
    assert code == 1
    assert "nothing was written" in err
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


# ------------------------------------------------------------------ XLSX registers


def _workbook(path: Path, rows: list[list[object]], *, title: str = "Ark1",
              extra: str | None = None, formats: dict[str, str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    if extra:
        other = wb.create_sheet(extra)
        other.append(["id", "name", "population", "os2_member", "joined"])
        other.append(["0999", "Andet", 5, True, "2024-01-01"])
    wb.save(path)
    return path


def _demo_rows() -> list[list[object]]:
    import datetime as dt

    with (ROOT / DEMO).open(encoding="utf-8") as fh:
        rows: list[list[object]] = [next(csv.reader(fh))]
        for r in csv.reader(fh):
            rows.append([r[0], r[1], r[2], int(r[3]), r[4] == "true",
                         dt.date.fromisoformat(r[5]) if r[5] else None])
    return rows


def test_xlsx_register_gives_the_csv_results(tmp_path: Path) -> None:
    """The demo register as a workbook (numbers, truth values and dates as cells) bills the
    same as the CSV register."""
    book = _workbook(tmp_path / "demo.xlsx", _demo_rows())
    code, out, err = run("eval", OS2, "--register", str(book), "--year", "2024",
                         "--format", "csv")
    assert code == 0, err
    _, expected, _ = run(*OS2_EVAL, "--format", "csv")
    assert out == expected


def test_xlsx_register_sheet_option(tmp_path: Path) -> None:
    """--sheet reads another sheet; a sheet that is not there is named with the sheets."""
    book = _workbook(tmp_path / "demo.xlsx", _demo_rows(), extra="Andre")
    code, out, err = run("eval", OS2, "--register", str(book), "--sheet", "Andre",
                         "--year", "2024", "--format", "json")
    assert code == 0, err
    assert [c["id"] for c in json.loads(out)["customers"]] == ["0999"]
    code, out, err = run("eval", OS2, "--register", str(book), "--sheet", "Kunder",
                         "--year", "2024")
    assert code == 1 and out == ""
    assert "has no sheet 'Kunder'" in err and "'Ark1', 'Andre'" in err


def test_xlsx_register_errors_name_the_cell(tmp_path: Path) -> None:
    """Every problem at once, each named by sheet and cell (B7 style), as Excel shows it."""
    rows = _demo_rows()[:8]
    rows[3][3] = "many"        # D4: population is text
    rows[5][0] = rows[2][0]    # A6: a repeated id
    rows[6][3] = -5            # D7: negative
    book = _workbook(tmp_path / "bad.xlsx", rows)
    code, out, err = run("eval", OS2, "--register", str(book), "--year", "2024")
    assert code == 1 and out == ""
    assert f"{book}, sheet Ark1, cell D4 (column population)" in err
    assert "population is 'many', which is not a whole number" in err
    assert f"{book}, sheet Ark1, cell A6 (column id)" in err
    assert "is already used in row 3" in err
    assert f"{book}, sheet Ark1, cell D7 (column population)" in err


def test_xlsx_register_missing_column_and_leading_zeros(tmp_path: Path) -> None:
    """A missing column names the header row; a number id shown as 0301 keeps its zeros."""
    book = _workbook(tmp_path / "nopop.xlsx", [["id", "name"], ["0101", "København"]])
    with pytest.raises(RegisterError) as e:
        load_register_xlsx(book)
    assert e.value.diagnostics[0].where == f"{book}, sheet Ark1, row 1"
    assert "no column population" in e.value.diagnostics[0].message
    book = _workbook(tmp_path / "zeros.xlsx", [
        ["id", "name", "population", "os2_member", "joined"],
        [301, "Oslo", 709_037, "yes", "2024-01-01"]], formats={"A2": "0000"})
    [c] = load_register_xlsx(book)
    assert c.id == "0301"
    assert c.origin == f"{book}, sheet Ark1, row 2"


def test_xlsx_register_multiline_cell_keeps_rows(tmp_path: Path) -> None:
    """A line break in a cell of an unused column does not shift the rows named later."""
    rows = _demo_rows()[:6]
    rows[0].append("note")
    for r in rows[1:]:
        r.append("")
    rows[2][-1] = "two\nlines"
    rows[4][3] = "x"  # E5 -> D5
    book = _workbook(tmp_path / "ml.xlsx", rows)
    with pytest.raises(RegisterError) as e:
        load_register_xlsx(book)
    assert [d.where for d in e.value.diagnostics] == [
        f"{book}, sheet Ark1, cell D5 (column population)"]


def test_not_a_workbook(tmp_path: Path) -> None:
    """A file named .xlsx that is no workbook is a register error, not a traceback."""
    bad = tmp_path / "bad.xlsx"
    bad.write_text("id,name\n", encoding="utf-8")
    code, out, err = run("eval", OS2, "--register", str(bad), "--year", "2024")
    assert code == 1 and out == ""
    assert "cannot be read as an XLSX workbook" in err
    assert "Traceback" not in err


def load_register_xlsx(book: Path) -> list[object]:
    from takst.dsl.parser import parse_file
    from takst.io.xlsx import load_xlsx_register

    tariff = parse_file(ROOT / OS2, OS2)
    return list(load_xlsx_register(book, {i.name: i for i in tariff.inputs}))
