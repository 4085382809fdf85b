"""Registers as they come from real offices: every dialect found without a flag, or
refused with the option that settles it; every problem reported by physical row."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA, ROOT
from register_readers import KINDS, read_both_ways

from takst.cli import main
from takst.dsl import ast
from takst.dsl.errors import RegisterError, render
from takst.dsl.parser import parse
from takst.interpreter.model import Customer
from takst.io.register import load_register, parse_register

FIXTURES = ROOT / "tests" / "fixtures" / "registers"
OS2 = str(ROOT / "rules" / "os2valghalla.tariff")
DEMO = DATA / "os2valghalla_demo_2024.csv"
HEADER = "id,name,customer_type,population,os2_member,joined\n"


@pytest.fixture(autouse=True, params=KINDS)
def reader(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the list readers and with the streaming reader (read twice)."""
    read_both_ways(sys.modules[__name__], request.param, tmp_path, monkeypatch)

#: A tariff with a money, a number and an inhabitants input, for decimal marks.
MONEY_TARIFF = """\
tariff m "Money"
  currency DKK
  source "test"

input budget "Budget": money
input share "Andel": number
input population "Indbyggere": inhabitants

charge fee "Gebyr" every year
  amount budget * share + 1 DKK per inhabitant * population
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def inputs(tariff: ast.Tariff) -> dict[str, ast.InputDecl]:
    return {i.name: i for i in tariff.inputs}


@pytest.fixture(scope="module")
def money() -> dict[str, ast.InputDecl]:
    return inputs(parse(MONEY_TARIFF, "m.tariff"))


def problems(text: str, decls: dict[str, ast.InputDecl], **options: str) -> list[str]:
    """The rendered problems of a register text (it must have some)."""
    with pytest.raises(RegisterError) as info:
        parse_register(text, decls, "r.csv", **options)
    return [render(d) for d in info.value.diagnostics]


def plain(customers: list[Customer]) -> list[tuple[object, ...]]:
    """Customers without where they came from."""
    return [(c.id, c.name, c.customer_type, dict(c.values)) for c in customers]


def customers_of(result_json: str) -> tuple[object, object]:
    doc = json.loads(result_json)
    return doc["customers"], doc["totals"]


# ------------------------------------------------------------------ the deliverable


def test_fixtures_are_spreadsheet_exports_of_the_demo_register() -> None:
    """The fixtures have the bytes a spreadsheet writes: BOM and CRLF, a sep= line, tabs."""
    a = (FIXTURES / "os2_semicolon_crlf_bom.csv").read_bytes()
    assert a.startswith(b"\xef\xbb\xbfid;name;customer_type;population;os2_member;joined\r\n")
    assert a.count(b"\r\n") == a.count(b"\n") == 99
    b = (FIXTURES / "os2_sep_line.csv").read_bytes()
    assert b.startswith(b"sep=;\r\nid;name;")
    c = (FIXTURES / "os2_tab.csv").read_bytes()
    assert c.startswith(b"id\tname\tcustomer_type\t") and b"," not in c.split(b"\n")[0]
    assert b"653.664 ; ja" in (FIXTURES / "os2_danish_thousands.csv").read_bytes()


@pytest.mark.parametrize(
    "fixture", ["os2_semicolon_crlf_bom.csv", "os2_sep_line.csv", "os2_tab.csv"]
)
def test_spreadsheet_export_evaluates_to_the_same_amounts(fixture: str) -> None:
    """`takst eval --format json` bills every customer of an export exactly as the plain CSV."""
    base = ["eval", OS2, "--year", "2024", "--format", "json", "--register"]
    code, plain, err = run(*base, str(DEMO))
    assert code == 0, err
    code, converted, err = run(*base, str(FIXTURES / fixture))
    assert (code, err) == (0, "")
    assert customers_of(converted) == customers_of(plain)
    assert len(json.loads(converted)["customers"]) == 98


def test_danish_thousands_need_the_decimal_option_and_then_bill_the_same() -> None:
    """`653.664` alone reads two ways: refused naming --decimal; with --decimal comma, same bill."""
    reg = str(FIXTURES / "os2_danish_thousands.csv")
    base = ["eval", OS2, "--year", "2024", "--format", "json", "--register", reg]
    code, out, err = run(*base)
    assert code == 1 and out == ""
    assert err.startswith(
        f"{reg}, row 2, column population: error: 653.664 reads two ways, 653664 (the point "
        "separates thousands) or 653.664 (a decimal point), and no other number in the file "
        "shows which mark is its decimal mark\n"
        "  hint: say which with --decimal comma (653.664 = 653664) or --decimal point "
        "(653.664 = 653.664), or write the number without separators; 97 more numbers read "
        "two ways (rows 3, 4, 5, 6, 7, ...)\n"
    )
    code, danish, err = run(*base, "--decimal", "comma")
    assert (code, err) == (0, "")
    _, plain, _ = run("eval", OS2, "--year", "2024", "--format", "json", "--register", str(DEMO))
    assert customers_of(danish) == customers_of(plain)


def test_explain_takes_the_dialect_options() -> None:
    """`takst explain` reads the Danish export with --decimal comma and --delimiter semicolon."""
    code, out, err = run("explain", OS2, "--register", str(FIXTURES / "os2_danish_thousands.csv"),
                         "--decimal", "comma", "--delimiter", "semicolon",
                         "--customer", "Kolding", "--year", "2024", "--locale", "en")
    assert (code, err) == (0, "")
    assert "Customer: 0621 Kolding" in out and "population  94 528" in out
    assert "os2_danish_thousands.csv, row 71)" in out  # its line, counting two blank lines


def test_broken_register_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    """Every problem of the broken fixture is reported at once by physical row, and --out
    is left untouched."""
    reg = FIXTURES / "os2_broken.csv"
    target = tmp_path / "result.json"
    target.write_text("previous result", encoding="utf-8")
    code, out, err = run("eval", OS2, "--register", str(reg), "--year", "2024",
                         "--format", "json", "--out", str(target))
    assert code == 1 and out == ""
    assert target.read_text(encoding="utf-8") == "previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    heads = [line.removeprefix(f"{reg}, ") for line in err.splitlines()
             if line.startswith(str(reg))]
    assert heads == [
        "row 4, column population: error: population is -5, but a number of inhabitants "
        "cannot be negative",
        "row 5, column population: error: population is '50039,5', which is not a whole "
        "number of inhabitants",
        "row 7, column id: error: id 0101 is already used in row 3",
        "row 7, column os2_member: error: os2_member is 'måske', not true or false",
        "row 7, column joined: error: joined is '01.11.2023'; takst reads dates as "
        "YYYY-MM-DD only",
        "row 8, column joined: error: joined is 2023-02-30, which is not a date in the calendar",
        "row 9, column id: error: id is empty",
        "row 10, column population: error: population is '1e1000', which is not a whole "
        "number of inhabitants",
        "row 10, column joined: error: joined is '11/25/2023'; takst reads dates as "
        "YYYY-MM-DD only",
        "row 11: error: this row has 4 fields, but the header has 6",
        "row 12, column population: error: population has 33 digits, more than any real "
        "register holds",
        "row 12, column joined: error: joined is '2024-01-01 00:00', a date with a time of day",
        "row 13, column population: error: population is empty",
        "row 13, column joined: error: joined is 2024-13-01, which is not a date in the calendar",
        "row 14: error: a double quote in this row is not closed, so the rows after it were "
        "read as part of one cell",
    ]
    for hint in ("write 2023-11-01 if it is 1 November 2023",
                 "February 2023 has 28 days",
                 "write 2023-11-25 if it is 25 November 2023",
                 "write the date only: 2024-01-01",
                 'check for a missing or extra semicolon; put text with semicolons in double '
                 'quotes ("Ringkøbing-Skjern; Vest")'):
        assert f"  hint: {hint}" in err
    assert err.endswith("takst: 15 errors\n")


# ------------------------------------------------------------------ encodings and line ends


def test_utf16_unicode_text_export_reads_like_utf8(tmp_path: Path, os2: ast.Tariff) -> None:
    """Excel's "Unicode text" (UTF-16 with a BOM, tab separated) gives the same customers."""
    path = tmp_path / "unicode.txt"
    path.write_bytes((FIXTURES / "os2_tab.csv").read_text(encoding="utf-8").encode("utf-16"))
    assert plain(load_register(path, inputs(os2))) == plain(load_register(DEMO, inputs(os2)))


def test_utf16_without_bom_is_refused_in_words(tmp_path: Path, os2: ast.Tariff) -> None:
    """UTF-16 without a byte-order mark is not read as UTF-8 full of NULs."""
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + "1,A,KOMMUNE,5,true,2024-01-01\n").encode("utf-16-le"))
    with pytest.raises(RegisterError) as info:
        load_register(path, inputs(os2))
    assert [render(d) for d in info.value.diagnostics] == [
        f"{path}, row 1: error: this register looks like UTF-16 text without a byte-order "
        "mark\n  hint: export the spreadsheet as 'CSV UTF-8'"
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_rows_are_physical_lines_for_every_line_end(newline: str, os2: ast.Tariff) -> None:
    """With a sep= line and blank lines, a problem is named by its line in an editor."""
    lines = ["sep=,", "", "id,name,customer_type,population,os2_member,joined",
             "1,A,KOMMUNE,5,true,2024-01-01", "", "   ", ",,,,,",
             "2,B,KOMMUNE,x,true,2024-01-01"]
    assert problems(newline.join(lines) + newline, inputs(os2))[0].startswith(
        "r.csv, row 8, column population: error: population is 'x'"
    )


def test_rows_after_a_quoted_line_break_keep_their_physical_number(os2: ast.Tariff) -> None:
    """A quoted cell over two lines is one record; the next record is named by its own line."""
    text = HEADER + ('1,A,KOMMUNE,5,true,2024-01-01,"a remark\nover two lines"\n'
                     "2,B,KOMMUNE,-1,true,2024-01-01\n")
    text = text.replace("joined\n", "joined,remark\n").replace(
        "2024-01-01\n", "2024-01-01,\n")
    assert problems(text, inputs(os2))[0].startswith("r.csv, row 4, column population:")


# ------------------------------------------------------------------ delimiters


def test_excel_sep_line_names_the_delimiter(os2: ast.Tariff) -> None:
    """`sep=,` and `"sep=;"` are read, and the customers are the same as without them."""
    body = (HEADER + "1,A,KOMMUNE,5,true,2024-01-01\n")
    expected = plain(parse_register(body, inputs(os2), "r.csv"))
    (c,) = parse_register("sep=,\n" + body, inputs(os2), "r.csv")
    assert plain([c]) == expected and c.origin == "r.csv, row 3"
    semi = '"sep=;"\r\n' + body.replace(",", ";")
    assert plain(parse_register(semi, inputs(os2), "r.csv")) == expected


def test_unknown_sep_line_is_refused_naming_the_option(os2: ast.Tariff) -> None:
    """`sep=|` is named, with --delimiter as the way out."""
    assert problems("sep=|\nid|name\n", inputs(os2)) == [
        "r.csv, row 1: error: the first line says the columns are separated by '|'; takst "
        "reads commas, semicolons and tabs\n"
        "  hint: export with one of those, or give --delimiter comma, semicolon or tab"
    ]


def test_header_that_two_delimiters_split_is_refused(os2: ast.Tariff) -> None:
    """A header that reads as well by commas as by semicolons is not guessed."""
    text = ("id;name;population,os2_member,joined\n"
            "1;A;5,true,2024-01-01\n")
    assert problems(text, inputs(os2)) == [
        "r.csv, row 1: error: cannot tell how the columns are separated: by commas it has "
        "the columns id;name;population, os2_member, joined; by semicolons it has the columns "
        "id, name, population,os2_member,joined\n"
        "  hint: say which with --delimiter comma or --delimiter semicolon "
        "(or make sep=; the file's first line)"
    ]
    assert problems("\r\r" + text.replace("\n", "\r"), inputs(os2))[0].startswith(
        "r.csv, row 3: error: cannot tell how the columns are separated")
    found = problems(text, inputs(os2), delimiter="semicolon")
    assert found[0].startswith("r.csv, row 1: error: the register has no column population")


def test_delimiter_option_overrides_detection(os2: ast.Tariff) -> None:
    """--delimiter tab reads a file whose names have commas and semicolons in them."""
    text = ("id\tname\tcustomer_type\tpopulation\tos2_member\tjoined\n"
            "1\tA, B; C\tKOMMUNE\t5\ttrue\t2024-01-01\n")
    (c,) = parse_register(text, inputs(os2), "r.csv", delimiter="tab")
    assert c.name == "A, B; C"
    assert parse_register(text, inputs(os2), "r.csv") == [c]


def test_stray_spaces_blank_lines_and_trailing_delimiters(os2: ast.Tariff) -> None:
    """Spaces around cells and names, blank lines and a trailing empty cell are no problem."""
    text = ("\n id ; name ; customer_type ; population ; os2_member ; joined ;\n"
            "  0101 ;  København ; KOMMUNE ;  653664 ; JA ; 2024-08-22 ;\n\n"
            "0825;Læsø;KOMMUNE;1789;Nej;2023-10-05\n;;;;;;\n")
    a, b = parse_register(text, inputs(os2), "r.csv")
    assert (a.id, a.name, a.values["population"], a.values["os2_member"]) == (
        "0101", "København", Decimal(653664), True)
    assert (b.origin, b.values["os2_member"]) == ("r.csv, row 5", False)


def test_extra_cells_with_text_are_a_problem(os2: ast.Tariff) -> None:
    """A row with a non-empty cell beyond the header is reported, not cut off."""
    found = problems(HEADER + "1,A,KOMMUNE,5,true,2024-01-01,surprise\n", inputs(os2))
    assert found[0].startswith("r.csv, row 2: error: this row has 7 fields, but the header has 6")


# ------------------------------------------------------------------ decimal marks


def test_decimal_comma_file_reads_thousand_points(money: dict[str, ast.InputDecl]) -> None:
    """`1.234,50` shows a decimal comma, so `41.000` in the same file is 41 000."""
    text = "id;name;budget;share;population\r\n1;A;1.234,50;0,5;41.000\r\n2;B;100;2;1000\r\n"
    a, b = parse_register(text, money, "r.csv")
    assert a.values == {"budget": Decimal("1234.50"), "share": Decimal("0.5"),
                        "population": Decimal(41000)}
    assert b.values == {"budget": Decimal(100), "share": Decimal(2),
                        "population": Decimal(1000)}


def test_decimal_point_file_reads_thousand_commas(money: dict[str, ast.InputDecl]) -> None:
    """`1234.50` shows a decimal point, so a quoted `"41,000"` in a comma file is 41 000."""
    text = 'id,name,budget,share,population\n1,A,1234.50,0.5,"41,000"\n2,B,"1,234,567",1,3\n'
    a, b = parse_register(text, money, "r.csv")
    assert a.values["population"] == Decimal(41000)
    assert b.values["budget"] == Decimal(1234567)


def test_several_groups_show_the_mark_by_themselves(money: dict[str, ast.InputDecl]) -> None:
    """`1.234.567` can only be thousands, so the file's decimal mark is a comma."""
    text = "id;name;budget;share;population\n1;A;1.234.567;1;41.000\n"
    (a,) = parse_register(text, money, "r.csv")
    assert (a.values["budget"], a.values["population"]) == (Decimal(1234567), Decimal(41000))


def test_comma_file_with_an_unclear_quoted_number_is_refused(
    money: dict[str, ast.InputDecl],
) -> None:
    """`"41,000"` with nothing else to go by is not guessed, even in a comma file."""
    text = 'id,name,budget,share,population\n1,A,10,1,"41,000"\n'
    assert problems(text, money) == [
        "r.csv, row 2, column population: error: 41,000 reads two ways, 41000 (the comma "
        "separates thousands) or 41 (a decimal comma), and no other number in the file shows "
        "which mark is its decimal mark\n"
        "  hint: say which with --decimal point (41,000 = 41000) or --decimal comma "
        "(41,000 = 41), or write the number without separators"
    ]
    (a,) = parse_register(text, money, "r.csv", decimal="point")
    assert a.values["population"] == Decimal(41000)


def test_a_file_with_both_marks_is_refused(money: dict[str, ast.InputDecl]) -> None:
    """Decimal commas and decimal points in one file: refused, naming --decimal, never mixed."""
    text = "id;name;budget;share;population\n1;A;12,50;1;5\n2;B;12.5;1;5\n3;C;x;1;5\n"
    assert problems(text, money) == [
        "r.csv, row 2, column budget: error: this register writes numbers both ways: 12,50 "
        "(row 2, column budget) has a decimal comma, 12.5 (row 3, column budget) a decimal "
        "point\n"
        "  hint: make them agree, or say which mark is the decimal mark with --decimal comma "
        "or --decimal point",
        "r.csv, row 4, column budget: error: budget is 'x', which is not a number\n"
        "  hint: write digits with a decimal point, e.g. 1234.50",
    ]
    assert problems(text, money, decimal="comma")[0] == (
        "r.csv, row 3, column budget: error: budget is '12.5', which is not a number\n"
        "  hint: write digits with a decimal comma, e.g. 1234,50"
    )


def test_numbers_in_ignored_columns_do_not_decide_the_mark(
    money: dict[str, ast.InputDecl],
) -> None:
    """Only the columns the tariff reads count: a remark like `1,5` says nothing."""
    text = "id,name,budget,share,population,remark\n1,A,12.5,1,5,\"1,5\"\n"
    (a,) = parse_register(text, money, "r.csv")
    assert a.values["budget"] == Decimal("12.5")


def test_space_separated_thousands_are_refused_with_the_plain_number(
    money: dict[str, ast.InputDecl],
) -> None:
    """`41 000` (also with a no-break space) is refused, with the number to write instead."""
    text = "id;name;budget;share;population\n1;A;1;1;41 000\n2;B;1;1;41\u00a0000\n"
    found = problems(text, money)
    assert [f.splitlines()[-1] for f in found] == ["  hint: write 41000"] * 2


def test_register_numbers_have_at_most_30_digits(money: dict[str, ast.InputDecl]) -> None:
    """10^1000 in a register is refused by its number of digits, before any arithmetic."""
    text = f"id;name;budget;share;population\n1;A;1{'0' * 1000};1;1\n"
    assert problems(text, money) == [
        "r.csv, row 2, column budget: error: budget has 1001 digits, more than any real "
        "register holds\n  hint: check the value; takst reads numbers of at most 30 digits"
    ]


# ------------------------------------------------------------------ booleans and dates


@pytest.mark.parametrize(
    ("cell", "value"),
    [("true", True), ("FALSE", False), ("yes", True), ("No", False), ("ja", True),
     ("NEJ", False), ("nei", False), ("1", True), ("0", False), ("SAND", True),
     ("FALSK", False)],
)
def test_yes_no_words(cell: str, value: bool, os2: ast.Tariff) -> None:
    """Booleans in English, Danish and Norwegian, and as a Danish spreadsheet exports them."""
    (c,) = parse_register(HEADER + f"1,A,KOMMUNE,5, {cell} ,2024-01-01\n", inputs(os2), "r.csv")
    assert c.values["os2_member"] is value


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ("01-11-2023", "write 2023-11-01 if it is 1 November 2023"),
        ("01.11.2023", "write 2023-11-01 if it is 1 November 2023"),
        ("1.11.2023", "write 2023-11-01 if it is 1 November 2023"),
        ("01/11/2023", "write 2023-11-01 if it is 1 November 2023 or 2023-01-11 if it is "
         "11 January 2023"),
        ("2023-11-01T00:00:00", "write the date only: 2023-11-01"),
        ("2023-02-30", "February 2023 has 28 days; write a real date as YYYY-MM-DD"),
        ("2024-02-30", "February 2024 has 29 days; write a real date as YYYY-MM-DD"),
        ("31.02.2023", "write dates as YYYY-MM-DD, e.g. 2023-11-01"),
        ("nov 1 2023", "write dates as YYYY-MM-DD, e.g. 2023-11-01"),
    ],
)
def test_dates_are_iso_with_a_hint_for_local_forms(cell: str, hint: str, os2: ast.Tariff) -> None:
    """A Danish-looking date gets its ISO form as the hint; an impossible date says why."""
    found = problems(HEADER + f"1,A,KOMMUNE,5,true,{cell}\n", inputs(os2))
    assert len(found) == 1
    assert found[0].startswith("r.csv, row 2, column joined: error: joined is ")
    assert found[0].endswith(f"  hint: {hint}")


def test_iso_dates_are_read(os2: ast.Tariff) -> None:
    """A leap day is a date."""
    (c,) = parse_register(HEADER + "1,A,KOMMUNE,5,true,2024-02-29\n", inputs(os2), "r.csv")
    assert c.values["joined"] == dt.date(2024, 2, 29)


# ------------------------------------------------------------------ quotes, empties, options


def test_unclosed_quote_that_swallows_rows_is_named(tmp_path: Path) -> None:
    """A quote left open in an ignored column would hide the rows after it: refused."""
    reg = tmp_path / "r.csv"
    reg.write_text("id,name,customer_type,population,os2_member,joined,remark\n"
                   '1,A,KOMMUNE,5,true,2024-01-01,"oops\n'
                   "2,B,KOMMUNE,5,true,2024-01-01,\n", encoding="utf-8")
    code, _, err = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1
    assert err.startswith(f"{reg}, row 2: error: a double quote in this row is not closed")


def test_unclosed_quote_in_the_header_is_named(os2: ast.Tariff) -> None:
    """A quote opened in the header swallows the file: one problem, on one line."""
    found = problems('"id,name,customer_type,population,os2_member,joined\n'
                     "1,A,KOMMUNE,5,true,2024-01-01\n", inputs(os2))
    assert found == [
        "r.csv, row 1: error: a double quote in the header is not closed, so the rows after "
        "it were read as part of the header\n"
        '  hint: close the quote, or remove it: a quote only goes around a whole cell, '
        '"like this"'
    ]


def test_odd_characters_in_messages_are_escaped(os2: ast.Tariff) -> None:
    """A column name or id with a control character is shown escaped, on one line."""
    found = problems("id,name,x\x85y,x\x85y\n", inputs(os2))
    assert found[0].splitlines()[0] == "r.csv, row 1: error: column 'x\\x85y' appears twice"


def test_line_break_inside_a_name_is_a_problem(os2: ast.Tariff) -> None:
    """A quoted line break in a value the tariff reads is reported at its cell."""
    found = problems(HEADER + '1,"Køben\nhavn",KOMMUNE,5,true,2024-01-01\n', inputs(os2))
    assert found == ["r.csv, row 2, column name: error: name has a line break in it\n"
                     "  hint: a cell holds one line: remove the line break, or the stray "
                     "double quote before it"]


@pytest.mark.parametrize("text", ["", "\ufeff", "\r\n\r\n", "sep=;\r\n", "   \n"])
def test_empty_files_are_refused_with_a_row(text: str, os2: ast.Tariff) -> None:
    """A file with no header is empty, and the message says where the header belongs."""
    found = problems(text, inputs(os2))
    assert len(found) == 1 and " is empty" in found[0] and found[0].startswith("r.csv, row ")


def test_dialect_options_without_a_register_are_a_usage_error() -> None:
    """--decimal with --set is refused (exit 2) instead of silently ignored."""
    code, _, err = run("eval", OS2, "--set", "population=5", "--set", "os2_member=yes",
                       "--set", "joined=2024-01-01", "--year", "2024", "--decimal", "comma")
    assert code == 2
    assert "--delimiter and --decimal describe a register" in err


@pytest.mark.parametrize("option", [["--delimiter", "pipe"], ["--decimal", "dot"]])
def test_unknown_dialect_choices_are_a_usage_error(option: list[str]) -> None:
    """Only the documented choices are accepted."""
    code, _, err = run("eval", OS2, "--register", str(DEMO), "--year", "2024", *option)
    assert code == 2 and "invalid choice" in err


def test_result_records_the_dialect_options_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--decimal is recorded in the result's manifest, so `takst verify` reads the
    register the same way again."""
    monkeypatch.chdir(ROOT)
    result = tmp_path / "result.json"
    code, _, err = run("eval", "rules/os2valghalla.tariff", "--register",
                       "tests/fixtures/registers/os2_danish_thousands.csv", "--decimal", "comma",
                       "--year", "2024", "--format", "json", "--out", str(result))
    assert (code, err) == (0, "")
    assert json.loads(result.read_text(encoding="utf-8"))["manifest"]["request"]["dialect"]["decimal"] == (
        "comma")
    code, out, err = run("verify", str(result))
    assert (code, err) == (0, "")
    assert out.startswith("identical: 98 customers")


def test_the_cheap_scan_for_decimal_marks_misses_no_digit() -> None:
    r"""The byte scan before the mark pass: the first bytes it treats as starting a digit
    are those of every non-ASCII ``\d`` character, so a number in any script that shows a
    mark is still found, and a Nordic name after an id (``0071,Ærø``) is not one."""
    import re

    from takst.io.register import DIGIT_LEADS, _may_show_marks

    leads = {chr(cp).encode("utf-8")[0] for cp in range(0x80, 0x110000)
             if not 0xD800 <= cp < 0xE000 and re.match(r"\d", chr(cp))}
    assert leads <= set(DIGIT_LEADS)
    assert not _may_show_marks("0071,Ærø 71,KOMMUNE,9973\n0072,Øster Å,5\n".encode())
    for number in ("1,5", "1.5", "\u0661,\u0665", "5,\u0663", "\u07c1.\u07c2", "\uff11,\uff15",
                   "\u0967.\u0968", "\U0001d7cf,\U0001d7d0"):
        assert _may_show_marks(f"0071,Ærø,{number}\n".encode()), number
        assert _may_show_marks(f"0072,Øster Å,{number}\n".encode()), number
