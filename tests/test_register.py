"""Registers: reading customers from CSV, and every problem reported by row and column."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA
from register_readers import KINDS, read_both_ways

from takst.dsl import ast
from takst.dsl.errors import RegisterError, render
from takst.dsl.parser import parse
from takst.io import register
from takst.io.register import load_register, open_register, parse_register

HEADER = "id,name,customer_type,population,os2_member,joined\n"
MONEY = """\
tariff m "Money"
  currency DKK
  source "test"

input budget "Budget": money
input share "Andel": number
input population "Indbyggere": inhabitants

charge fee "Gebyr" every year
  amount budget * share + 1 DKK per inhabitant * population
"""


@pytest.fixture(autouse=True, params=KINDS)
def reader(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the list readers and with the streaming reader (read twice)."""
    read_both_ways(sys.modules[__name__], request.param, tmp_path, monkeypatch)


def inputs(os2: ast.Tariff) -> dict[str, ast.InputDecl]:
    return {i.name: i for i in os2.inputs}


def test_bundled_demo_register_reads_98_customers(os2: ast.Tariff) -> None:
    """The demo register has the 98 Danish municipalities with typed values."""
    customers = load_register(DATA / "os2valghalla_demo_2024.csv", inputs(os2))
    assert len(customers) == 98
    first = customers[0]
    assert (first.id, first.name, first.customer_type) == ("0101", "København", "KOMMUNE")
    assert first.values["population"] == Decimal(653_664)
    assert isinstance(first.values["os2_member"], bool)
    assert isinstance(first.values["joined"], dt.date)
    assert sum(c.values["population"] for c in customers) == 5_932_561  # type: ignore[misc]


def test_bom_crlf_blank_lines_and_extra_columns(os2: ast.Tariff) -> None:
    """A BOM, Windows line ends, blank lines and unknown columns do not disturb reading."""
    text = (
        "\ufeffid,name,customer_type,population,os2_member,joined,remark\r\n"
        "0101,København,KOMMUNE,653664,true,2024-01-01,x\r\n"
        "\r\n"
        "0825,Læsø,KOMMUNE,1789,FALSE,2023-10-05,\r\n"
    )
    customers = parse_register(text.lstrip("\ufeff"), inputs(os2), "r.csv")
    assert [c.id for c in customers] == ["0101", "0825"]
    assert customers[1].values["os2_member"] is False


def test_ids_keep_leading_zeros(os2: ast.Tariff) -> None:
    """Ids are text: 0301 stays 0301."""
    customers = parse_register(HEADER + "0301,Oslo,KOMMUNE,717710,true,2024-01-01\n",
                               inputs(os2), "r.csv")
    assert customers[0].id == "0301"


def test_every_problem_is_reported(os2: ast.Tariff) -> None:
    """All bad cells of a file come back at once, each with its row and column."""
    text = HEADER + (
        "1,A,KOMMUNE,-5,true,2024-01-01\n"
        "2,B,KOMMUNE,41 000,yes,2024-02-30\n"
        ",C,KOMMUNE,10,ja,2024-01-01\n"
        "4,D,KOMMUNE,10,true\n"
        "1,E,KOMMUNE,10,nope,01-01-2024\n"
    )
    with pytest.raises(RegisterError) as info:
        parse_register(text, inputs(os2), "r.csv")
    where = [d.where for d in info.value.diagnostics]
    assert where == [
        "r.csv, row 2, column population",
        "r.csv, row 3, column population",
        "r.csv, row 3, column joined",
        "r.csv, row 4, column id",
        "r.csv, row 5",
        "r.csv, row 6, column id",
        "r.csv, row 6, column os2_member",
        "r.csv, row 6, column joined",
    ]
    texts = [render(d) for d in info.value.diagnostics]
    assert "cannot be negative" in texts[0]
    assert "write 41000" in texts[1]
    assert "this row has 5 fields, but the header has 6" in texts[4]
    assert "id 1 is already used in row 2" in texts[5]


def test_missing_columns_are_named(os2: ast.Tariff) -> None:
    """A missing column is named along with the columns that are there."""
    with pytest.raises(RegisterError) as info:
        parse_register("id,name,population\n1,A,5\n", inputs(os2), "r.csv")
    messages = [d.message for d in info.value.diagnostics]
    assert messages == [
        "the register has no column os2_member (the tariff has an input of that name)",
        "the register has no column joined (the tariff has an input of that name)",
    ]


def test_empty_and_header_only_registers(os2: ast.Tariff) -> None:
    """An empty file and a file with only a header are refused in words."""
    with pytest.raises(RegisterError, match="is empty"):
        parse_register("", inputs(os2), "r.csv")
    with pytest.raises(RegisterError, match="has no customers"):
        parse_register(HEADER, inputs(os2), "r.csv")


def test_not_utf8(tmp_path: Path, os2: ast.Tariff) -> None:
    """A file in another encoding is refused with a hint to export as UTF-8."""
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "1,Læsø,KOMMUNE,1789,true,2024-01-01\n").encode("latin-1"))
    with pytest.raises(RegisterError) as info:
        load_register(path, inputs(os2))
    assert "not UTF-8" in info.value.diagnostics[0].message
    assert "CSV UTF-8" in (info.value.diagnostics[0].hint or "")


# ------------------------------------------------------------------ streaming


def rows_text(n: int, start: int = 1) -> str:
    return "".join(f"{i},M{i},KOMMUNE,{1000 + i},true,2024-01-01\n" for i in range(start, n + 1))


def test_streaming_yields_good_rows_and_reports_problems_at_the_end(
    tmp_path: Path, os2: ast.Tariff,
) -> None:
    """Rows are yielded as they are read; a bad row is not, and the error comes at the end."""
    path = tmp_path / "r.csv"
    path.write_text(HEADER + rows_text(3) + "4,D,KOMMUNE,x,true,2024-01-01\n" + rows_text(6, 5)
                    + "2,Again,KOMMUNE,5,true,2024-01-01\n", encoding="utf-8")
    seen: list[str] = []
    with pytest.raises(RegisterError) as info:
        for customer in open_register(path, inputs(os2), "r.csv"):
            seen.append(customer.id)
    assert seen == ["1", "2", "3", "5", "6"]
    assert [d.where for d in info.value.diagnostics] == [
        "r.csv, row 5, column population", "r.csv, row 8, column id"]


def test_streaming_reads_again_and_tells_the_dialect(tmp_path: Path) -> None:
    """Each iteration reads the file again; rows, delimiter and decimal mark are known after
    the first."""
    path = tmp_path / "r.csv"
    path.write_text("sep=;\r\nid;name;budget;share;population\r\n1;A;1.234,50;0,5;41.000\r\n"
                    "2;B;100;2;1000\r\n", encoding="utf-8-sig")
    decls = {i.name: i for i in parse(MONEY, "m.tariff").inputs}
    reg = open_register(path, decls)
    assert (reg.rows, reg.delimiter, reg.decimal) == (None, None, None)
    first = list(reg)
    assert (reg.rows, reg.delimiter, reg.decimal) == (2, "semicolon", "comma")
    assert first[0].values["population"] == Decimal(41000)
    assert list(reg) == first == load_register(path, decls)


def test_a_register_that_changes_between_reads_is_refused(tmp_path: Path, os2: ast.Tariff) -> None:
    """A file that changed since the first read is refused: by its size and time before any
    row, and by its hash at the end when size and time were kept."""
    path = tmp_path / "r.csv"
    path.write_text(HEADER + rows_text(3), encoding="utf-8")
    reg = open_register(path, inputs(os2), "r.csv")
    assert len(list(reg)) == 3
    path.write_text(HEADER + rows_text(4), encoding="utf-8")
    with pytest.raises(RegisterError, match=r"r\.csv changed while takst was reading it"):
        next(iter(reg))

    reg = open_register(path, inputs(os2), "r.csv")
    assert len(list(reg)) == 4
    stat = path.stat()
    path.write_text(HEADER + rows_text(4).replace("M1,", "N1,"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(RegisterError, match="changed while takst was reading it"):
        list(reg)


def test_streaming_memory_does_not_grow_with_the_rows(tmp_path: Path, os2: ast.Tariff) -> None:
    """Reading 2 000 rows one at a time holds far less than the list of them."""
    path = tmp_path / "r.csv"
    path.write_text(HEADER + rows_text(2_000), encoding="utf-8")
    decls = inputs(os2)

    def peak(read: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            read()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    streamed = peak(lambda: sum(1 for _ in open_register(path, decls)))
    listed = peak(lambda: load_register(path, decls))
    assert streamed * 4 < listed


@pytest.mark.parametrize(
    "cell",
    ["2024-02-29", "2023-02-29", "2024-13-01", "0000-01-01", "2024-1-01", "２０２４-01-01",
     "2024-01-0１", " 2024-01-01 ", "41000", "0041", "٤١", "1" * 30, "1" * 31, "", " ", "-5",
     "4,5", "4.5", "1.000", "true", "TRUE", " Ja ", "maybe", "x"],
)
def test_compiled_cell_readers_agree_with_parse_value(cell: str, os2: ast.Tariff) -> None:
    """The fast paths chosen per column read every cell as parse_value does, or refuse it
    with the same words."""
    for decl in os2.inputs:
        for mark in (".", ","):
            try:
                expected: object = register.parse_value(decl, cell, decimal=mark)
            except register.BadValue as bad:
                expected = (bad.message, bad.hint)
            try:
                got: object = register._cell_reader(decl, mark, unsure=False)(cell)
            except register.BadValue as bad:
                got = (bad.message, bad.hint)
            assert got == expected and type(got) is type(expected), (decl.name, mark)


def test_digits_of_other_scripts_still_show_the_mark() -> None:
    """The quick scan for decimal-mark evidence does not miss digits outside ASCII."""
    decls = {i.name: i for i in parse(MONEY, "m.tariff").inputs}
    (a,) = parse_register("id;name;budget;share;population\n1;A;١٢,٥;1;5\n", decls, "r.csv")
    assert a.values["budget"] == Decimal("12.5")


def test_not_utf8_far_into_the_file_names_its_row(tmp_path: Path, os2: ast.Tariff) -> None:
    """A byte that is not UTF-8 after the first chunk read is named by its row all the same."""
    path = tmp_path / "r.csv"
    head = (HEADER + rows_text(3000)).encode("utf-8")
    assert len(head) > 65536
    path.write_bytes(head + "3001,Læsø,KOMMUNE,1789,true,2024-01-01\n".encode("latin-1"))
    with pytest.raises(RegisterError) as info:
        load_register(path, inputs(os2))
    assert info.value.diagnostics[0].where == f"{path}, row 3002"
