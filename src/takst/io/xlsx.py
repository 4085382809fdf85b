"""XLSX registers: a workbook's sheet read as a register, validated like a CSV one.

``--register customers.xlsx`` reads the first sheet (``--sheet NAME`` another).
The sheet is read with openpyxl's read-only mode, row by row, and each row's cells
are turned into the text a CSV export would hold; those rows go through the one
validation path of :mod:`takst.io.register` (required columns, ids, every input's
type, every problem at once). A problem is then named by its sheet and cell,
``customers.xlsx, sheet Ark1, cell C7 (column population)``, as Excel shows them.

How cells become text:

* a number cell is its exact value (``41000``, ``1234.5``), with a decimal point;
  an id cell shown with leading zeros (number format ``0000``) keeps them
  (``301`` shown as ``0301`` is ``0301``);
* a text cell is its text: a number typed as text must be written as a CSV
  number with a decimal point (a number cell is the better habit);
* a date cell is ``YYYY-MM-DD`` (a date with a time of day is refused, as in CSV);
* a truth value is ``true`` or ``false``; an empty cell is empty; a formula is its
  last computed value (a workbook never opened in Excel has none: the cell is
  empty).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO, cast

import attrs

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, RegisterError, UsageError, diagnostic
from takst.interpreter.model import Customer
from takst.io.register import Register, _Source

#: The file names read as workbooks.
SUFFIXES = (".xlsx", ".xlsm")
_WHERE = re.compile(r"^(?P<name>.*), row (?P<row>\d+)(?:, column (?P<col>.+))?$")
_ZEROS = re.compile(r"^0+$")


def is_xlsx(path: str | os.PathLike[str]) -> bool:
    """True for a register file named ``*.xlsx`` (or ``*.xlsm``)."""
    return Path(path).suffix.lower() in SUFFIXES


def _need_openpyxl() -> None:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise UsageError(diagnostic(
            "an .xlsx register needs openpyxl, which is not installed",
            hint="pip install 'takst[xlsx]', or save the sheet as 'CSV UTF-8' and give that")
        ) from None


def cell_text(value: Any, number_format: str | None = None) -> str:
    """The text a cell's value stands for in a register (see the module's docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        text = str(value)
        if number_format and _ZEROS.match(number_format) and value >= 0:
            text = text.zfill(len(number_format))
        return text
    if isinstance(value, float):
        d = Decimal(repr(value))  # the shortest text that is this float: 9.3, not 9.300...01
        text = format(d, "f")
        if d == d.to_integral_value() and number_format and _ZEROS.match(number_format):
            text = str(int(d)).zfill(len(number_format))
        return text
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


@attrs.define
class _Layout:
    """What the pass over a sheet found: its header (row numbers need no mapping: each
    sheet row is one record of the text, a cell's line breaks included)."""

    header: list[str] = attrs.field(factory=list)


class _LineStream:
    """A text stream over lines made as they are read (the rows of a sheet): what the
    register reader uses of a file, ``readline``, iteration and ``close``."""

    def __init__(self, lines: Iterator[str], close: Callable[[], None]) -> None:
        self._lines = lines
        self._close = close

    def readline(self, size: int = -1) -> str:
        return next(self._lines, "")

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def __next__(self) -> str:
        return next(self._lines)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> _LineStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _XlsxSource(_Source):
    """A sheet of a workbook, as the text of a CSV file with commas and decimal points."""

    def __init__(self, path: Path, display: str, sheet: str | None) -> None:
        self.path = path
        self.display = display
        self.wanted = sheet
        self.sheet = sheet or ""
        self.layout = _Layout()
        self._stamp: tuple[int, int] | None = None

    def _open_book(self) -> Any:
        from openpyxl import load_workbook

        try:
            return load_workbook(self.path, read_only=True, data_only=True)
        except FileNotFoundError:
            raise RegisterError(diagnostic(f"no register file {self.display}",
                                           hint="check the path and the file name")) from None
        except IsADirectoryError:
            raise RegisterError(diagnostic(f"{self.display} is a folder, not a register file",
                                           hint="name an .xlsx file")) from None
        except OSError as err:
            raise RegisterError(diagnostic(f"cannot read {self.display}: {err.strerror}",
                                           hint="check the file's permissions")) from None
        except Exception as err:  # zipfile.BadZipFile, KeyError, XML errors: not a workbook
            raise RegisterError(diagnostic(
                f"{self.display} cannot be read as an XLSX workbook ({type(err).__name__})",
                hint="save it again from Excel as 'Excel Workbook (*.xlsx)', or save the "
                "sheet as 'CSV UTF-8' and give that")) from None

    def _file_stamp(self) -> tuple[int, int]:
        st = self.path.stat()
        return (st.st_size, st.st_mtime_ns)

    def first(self) -> bool:
        book = self._open_book()
        try:
            names = list(book.sheetnames)
        finally:
            book.close()
        if self.wanted is None:
            if not names:
                raise RegisterError(diagnostic(f"the workbook {self.display} has no sheets",
                                               hint="give a workbook with the customers"))
            self.sheet = names[0]
        elif self.wanted not in names:
            raise RegisterError(diagnostic(
                f"the workbook {self.display} has no sheet {self.wanted!r}",
                hint="its sheets are: " + ", ".join(repr(n) for n in names)))
        self._stamp = self._file_stamp()
        return False  # the numbers are written with a decimal point: nothing to find

    def again(self) -> None:
        try:
            same = self._stamp is not None and self._file_stamp() == self._stamp
        except OSError:
            same = False
        if not same:
            raise RegisterError(diagnostic(
                f"the register {self.display} changed while takst was reading it",
                where=self.display, hint="run it again when nothing is writing to the file"))

    def open(self) -> tuple[TextIO, Callable[[], None]]:
        book = self._open_book()
        ws = book[self.sheet]
        layout = self.layout = _Layout()

        def lines() -> Iterator[str]:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            expected = 1  # the sheet row that comes next
            width = 0
            for row in ws.iter_rows():
                if not row:
                    continue
                number = getattr(row[0], "row", None) or expected
                while expected < number:  # rows left out of the file are empty rows
                    yield "\n"
                    expected += 1
                values = [cell_text(getattr(c, "value", None), getattr(c, "number_format", None))
                          for c in row]
                if not layout.header and any(v.strip() for v in values):
                    layout.header = [v.strip() for v in values]
                    width = len(values)
                while values and not values[-1] and len(values) > width:
                    values.pop()
                buf.seek(0)
                buf.truncate()
                writer.writerow(values)
                # one item per sheet row, line breaks in its cells and all: the CSV
                # reader counts the items it is given, so its row numbers are the sheet's
                yield buf.getvalue()
                expected += 1

        def verify() -> None:
            self.again()

        return cast(TextIO, _LineStream(lines(), book.close)), verify


def _cell_where(where: str | None, source: _XlsxSource) -> str | None:
    """``book.xlsx, row 7, column population`` -> ``book.xlsx, sheet S, cell C7 (column
    population)``."""
    if where is None:
        return None
    m = _WHERE.match(where)
    if m is None:
        return where
    row = int(m.group("row"))
    place = f"{m.group('name')}, sheet {source.sheet}"
    col = m.group("col")
    if col is None:
        return f"{place}, row {row}"
    header = source.layout.header
    if col in header:
        return f"{place}, cell {_column_letter(header.index(col))}{row} (column {col})"
    return f"{place}, row {row}, column {col}"


def _cells(d: Diagnostic, source: _XlsxSource) -> Diagnostic:
    return attrs.evolve(d, where=_cell_where(d.where, source))


class XlsxRegister:
    """A register in a sheet of an XLSX workbook, read as it is iterated (see
    :class:`takst.io.register.Register`); problems name the sheet and the cell."""

    def __init__(self, path: Path, inputs: Mapping[str, ast.InputDecl], display: str,
                 sheet: str | None) -> None:
        self.name = display
        self._source = _XlsxSource(path, display, sheet)
        self._register = Register(self._source, inputs, display, delimiter="comma",
                                  decimal="point")

    @property
    def rows(self) -> int | None:
        return self._register.rows

    @property
    def sheet(self) -> str:
        """The sheet read (known once the first iteration began)."""
        return self._source.sheet

    def __iter__(self) -> Iterator[Customer]:
        source = self._source
        try:
            for c in self._register:
                yield attrs.evolve(c, origin=_cell_where(c.origin, source) or c.origin)
        except RegisterError as e:
            raise RegisterError([_cells(d, source) for d in e.diagnostics]) from None


def open_xlsx_register(
    path: str | os.PathLike[str],
    inputs: Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    sheet: str | None = None,
) -> XlsxRegister:
    """The register in ``sheet`` (default: the first) of the workbook at ``path``."""
    _need_openpyxl()
    p = Path(path)
    return XlsxRegister(p, inputs, display if display is not None else str(p), sheet)


def load_xlsx_register(
    path: str | os.PathLike[str],
    inputs: Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    sheet: str | None = None,
) -> list[Customer]:
    """Read a whole XLSX register into a list (see :func:`open_xlsx_register`)."""
    return list(open_xlsx_register(path, inputs, display, sheet=sheet))
