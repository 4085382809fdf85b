"""Results for spreadsheets: CSV as a Nordic Excel opens it, and XLSX workbooks.

**CSV for Excel** (:func:`write_excel_csv`, ``--format csv --locale da|nb|nn|sv``).
A Danish, Norwegian or Swedish Excel opens a double-clicked ``.csv`` with its
list separator (``;``) and its decimal comma, and reads UTF-8 only when the file
starts with a byte-order mark. So this CSV has a BOM, ``;`` between cells,
amounts with a decimal comma and no thousands separator (``56680,00``), an empty
cell for an amount that is pending (the ``pending`` column names the pending
charges: a number column holds numbers only), and no ``sep=;`` line (Excel
ignores the BOM when that line is there). Excel turns a cell that looks like a
number or a date into one (``0301`` -> ``301``): such a text cell, and one that
Excel would run as a formula (``=``, ``+``, ``-``, ``@``), is written as a
formula that is nothing but a string constant, ``="0301"``, its double quotes
doubled: Excel shows the text, and no function can be called from inside a
string constant. The register reader (:mod:`takst.io.register`) reads
``="…"`` back as the text, so the file reads back as written. Excel's string
constants hold at most 255 characters: a longer text that would run as a formula
gets a leading ``'`` instead (:func:`takst.render.report.csv_text`).

**XLSX** (:func:`write_xlsx`, ``--format xlsx --out FILE.xlsx``, the ``xlsx``
extra: openpyxl). A *Results* sheet with one row per customer, amounts as number
cells with a number format, the header frozen, an autofilter, the columns as wide
as their cells, and a row of totals (values, not formulas: Excel would add them up
in floating point); an *Inputs* sheet with each customer's inputs; a *Provenance*
sheet with the manifest (what the results were made from); with ``--trace``, a
*Trace* sheet with every step. openpyxl writes a number through ``float``
(``"%.16g" % value``: ``9.3`` would be stored as ``9.300000000000001``), so the
amounts are written as their exact decimal text instead (``<v>9.30</v>``).
Excel keeps 15 significant digits of a number: an amount with more is written as
a text cell with every digit, and the Provenance sheet says how many there are.
The workbook is written with openpyxl's write-only mode (rows stream to a
temporary file); the rows go to a spool file first, so the column widths are
known before the first row is written, and memory stays bounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from takst.dsl import ast
from takst.dsl.errors import UsageError, diagnostic
from takst.dsl.numbers import money_text
from takst.interpreter.model import CustomerResult
from takst.render.report import FORMULA_START, Totals, csv_text
from takst.render.results import step_json, value_json

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: UTF-8's byte-order mark, which makes Excel read a CSV file as UTF-8.
BOM = "\ufeff"
#: The list separator of a Nordic Excel.
SEPARATOR = ";"
#: The longest string constant an Excel formula may hold.
EXCEL_STRING_MAX = 255
#: Significant digits Excel keeps of a number.
EXCEL_DIGITS = 15

#: Text Excel would turn into a number, a date, a time or a percentage when it opens a CSV.
_LOOKS_NUMERIC = re.compile(r"[\s\d.,:/+\-eE%()]*\d[\s\d.,:/+\-eE%()]*")
#: Words a Nordic Excel reads as a truth value.
_TRUTH_WORDS = frozenset({"true", "false", "sand", "falsk", "sann", "usann", "sant", "falskt"})
_FORMULA_TEXT = re.compile(r'="((?:[^"]|"")*)"')


def excel_text(cell: str) -> str:
    """A text cell (an id, a name) as the CSV for Excel writes it: ``="0301"`` when Excel
    would change it (a number, a date, a truth value) or run it (a formula), else as it is."""
    changed = (_LOOKS_NUMERIC.fullmatch(cell) is not None
               or cell.strip().lower() in _TRUTH_WORDS)
    runs = cell.startswith(FORMULA_START) or cell.startswith("'")
    if not (changed or runs):
        return cell
    if len(cell) > EXCEL_STRING_MAX:
        return csv_text(cell)  # a leading ' for one that would run; a long number stays
    return '="' + cell.replace('"', '""') + '"'


def excel_text_read(cell: str) -> str:
    """The text a cell written by :func:`excel_text` stands for (``="0301"`` -> ``0301``)."""
    m = _FORMULA_TEXT.fullmatch(cell)
    return m.group(1).replace('""', '"') if m else cell


def excel_number(amount: Decimal, decimal_mark: str = ",") -> str:
    """An amount for the CSV for Excel: every decimal it has, at least two, with the
    locale's decimal mark and no thousands separator (``56680,00``)."""
    return money_text(amount).replace(".", decimal_mark)


def write_excel_csv(out: TextIO, tariff: ast.Tariff, results: Iterable[CustomerResult], *,
                    decimal_mark: str = ",") -> Totals:
    """Write the results as CSV for a Nordic Excel (see the module's docstring), one row
    per customer as it comes. The columns are those of
    :func:`takst.render.report.write_csv`: ``id``, ``name``, one per charge, ``total``,
    ``pending`` (the pending charges, separated by ``, ``)."""
    out.write(BOM)
    w = csv.writer(out, delimiter=SEPARATOR, lineterminator="\n")
    w.writerow(["id", "name", *(c.name for c in tariff.charges), "total", "pending"])
    totals = Totals(tariff)
    for r in results:
        cells = [excel_text(r.id), excel_text(r.name)]
        pending = []
        for line in r.lines:
            if line.status == "pending":
                pending.append(line.charge)
            cells.append("" if line.amount is None else excel_number(line.amount, decimal_mark))
        total = r.total
        cells += [excel_number(total, decimal_mark), ", ".join(pending)]
        w.writerow(cells)
        totals.add(r, total)
    return totals


def to_excel_csv(tariff: ast.Tariff, results: Iterable[CustomerResult], *,
                 decimal_mark: str = ",") -> str:
    """:func:`write_excel_csv` into a string (for small results)."""
    buf = io.StringIO(newline="")
    write_excel_csv(buf, tariff, results, decimal_mark=decimal_mark)
    return buf.getvalue()


# ------------------------------------------------------------------ XLSX


def need_openpyxl() -> None:
    """Raise a :class:`~takst.dsl.errors.UsageError` saying how to install openpyxl."""
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise UsageError(diagnostic(
            "XLSX needs openpyxl, which is not installed",
            hint="pip install 'takst[xlsx]' (or pip install openpyxl); or use --format csv "
            "--locale da, which a Danish or Norwegian Excel opens too")) from None


#: Excel's number format of an amount: grouped, two decimals, more when the amount has them.
AMOUNT_FORMAT = "#,##0.00########"
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def significant_digits(value: Decimal) -> int:
    """How many significant digits ``value`` has (``1234.50`` -> 5)."""
    digits = value.normalize().as_tuple().digits
    return len(digits) if any(digits) else 1


def exact_cell(ws: WriteOnlyWorksheet, value: Decimal, number_format: str = AMOUNT_FORMAT,
               ) -> Any:
    """A number cell holding ``value`` exactly as decimal text, or a text cell with every
    digit when Excel could not keep them all (more than 15 significant digits)."""
    from openpyxl.cell import WriteOnlyCell

    if significant_digits(value) > EXCEL_DIGITS:
        cell = WriteOnlyCell(ws, value=format(value, "f"))
        cell.number_format = "@"
        return cell
    cell = WriteOnlyCell(ws, value=0)
    cell.number_format = number_format
    # openpyxl would write a number through float ("%.16g"): write its exact text instead,
    # which Excel reads as the nearest number, as it does a typed one.
    setattr(cell, "_value", format(value, "f"))  # noqa: B010
    return cell


def _bold(ws: WriteOnlyWorksheet, values: Sequence[Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    out = []
    for v in values:
        cell = WriteOnlyCell(ws, value=v)
        cell.font = Font(bold=True)
        out.append(cell)
    return out


def _bolden(ws: WriteOnlyWorksheet, values: Sequence[Any]) -> list[Any]:
    """Bold cells: values made cells, cells (from :func:`exact_cell`) made bold."""
    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.styles import Font

    out = []
    for v in values:
        cell = v if isinstance(v, Cell) else WriteOnlyCell(ws, value=v)
        cell.font = Font(bold=True)
        out.append(cell)
    return out


def _widths(ws: Any, widths: Sequence[int]) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), 60)


def _amount_width(value: Decimal) -> int:
    text = money_text(value)
    whole = len(text.partition(".")[0].lstrip("-"))
    return len(text) + (whole - 1) // 3


def _sheet_title(name: str) -> str:
    """A name Excel accepts for a sheet: at most 31 characters, none of ``[]:*?/\\``."""
    return _SHEET_NAME.sub("_", name)[:31] or "Sheet"


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            yield from _flatten(f"{prefix}[{i}]", v)
    elif isinstance(value, list):
        yield prefix, ", ".join(str(v) for v in value)
    else:
        yield prefix, "" if value is None else str(value)


def write_workbook(out: IO[bytes], tariff: ast.Tariff, year: int,
                   results: Iterable[CustomerResult], *, with_trace: bool = False,
                   manifest: Mapping[str, Any] | None = None) -> Totals:
    """Write the results as an XLSX workbook to the binary stream ``out`` (see the
    module's docstring): sheets Results, Inputs, Provenance and, with ``with_trace``,
    Trace. Returns the totals."""
    need_openpyxl()
    from openpyxl import Workbook

    charges = tariff.charges
    heads = ["id", "name", *(c.name for c in charges), "total", "pending"]
    widths = [len(h) for h in heads]
    input_names: list[str] = []
    input_widths: dict[str, int] = {}
    totals = Totals(tariff)
    texts = 0  # amounts with more digits than Excel keeps
    steps = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        for r in results:
            lines = [[ln.charge, None if ln.amount is None else money_text(ln.amount),
                      ln.status, [step_json(s) for s in ln.steps] if with_trace else []]
                     for ln in r.lines]
            inputs = {k: value_json(v) for k, v in r.inputs}
            spool.write(json.dumps([r.id, r.name, lines, money_text(r.total),
                                    list(r.pending), inputs], ensure_ascii=False) + "\n")
            totals.add(r)
            widths[0] = max(widths[0], len(r.id))
            widths[1] = max(widths[1], len(r.name))
            for i, ln in enumerate(r.lines, 2):
                if ln.amount is not None:
                    widths[i] = max(widths[i], _amount_width(ln.amount))
                    texts += significant_digits(ln.amount) > EXCEL_DIGITS
                steps += len(ln.steps) if with_trace else 0
            widths[-2] = max(widths[-2], _amount_width(r.total))
            widths[-1] = max(widths[-1], len(", ".join(r.pending)))
            for k, v in inputs.items():
                if k not in input_widths:
                    input_names.append(k)
                    input_widths[k] = len(k)
                input_widths[k] = max(input_widths[k], len(str(v)))
        foot_total = totals.total
        widths[1] = max(widths[1], len(f"{totals.customers} customers"))
        widths[-2] = max(widths[-2], _amount_width(foot_total))

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Results")
        _widths(ws, widths)
        ws.freeze_panes = "C2"
        ws.append(_bold(ws, heads))
        spool.seek(0)
        for row in spool:
            ident, name, lines, total, pending, _ = json.loads(row)
            cells: list[Any] = [ident, name]
            for _charge, amount, _status, _steps in lines:
                cells.append(None if amount is None else exact_cell(ws, Decimal(amount)))
            cells += [exact_cell(ws, Decimal(total)), ", ".join(pending) or None]
            ws.append(cells)
        last = totals.customers + 1
        foot: list[Any] = ["", f"{totals.customers} customers"]
        for c in charges:
            foot.append(exact_cell(ws, totals.by_charge[c.name]))
        foot += [exact_cell(ws, totals.total),
                 "not in the totals: pending amounts" if totals.any_pending else None]
        from openpyxl.utils import get_column_letter

        ws.auto_filter.ref = f"A1:{get_column_letter(len(heads))}{last}"
        ws.append(_bolden(ws, foot))

        wi = wb.create_sheet("Inputs")
        _widths(wi, [widths[0], widths[1], *(input_widths[k] for k in input_names)])
        wi.freeze_panes = "C2"
        wi.append(_bold(wi, ["id", "name", *input_names]))
        spool.seek(0)
        for row in spool:
            ident, name, _, _, _, inputs = json.loads(row)
            wi.append([ident, name, *(_input_cell(wi, inputs.get(k)) for k in input_names)])
        wi.auto_filter.ref = (f"A1:{get_column_letter(2 + len(input_names))}"
                              f"{totals.customers + 1}")

        wp = wb.create_sheet("Provenance")
        about: list[tuple[str, str]] = [
            ("tariff", tariff.name), ("title", tariff.title), ("file", tariff.file),
            ("year", str(year)), ("currency", tariff.currency),
            ("customers", str(totals.customers)),
        ]
        for c in charges:
            about.append((f"charge {c.name}", c.label or c.name))
        if texts:
            about.append(("amounts as text", f"{texts} amounts have more than {EXCEL_DIGITS} "
                          "significant digits, more than Excel keeps; they are text cells "
                          "with every digit"))
        about += [(f"manifest.{k}", v) for k, v in _flatten("", dict(manifest or {}))]
        _widths(wp, [max(len(k) for k, _ in about), min(max(len(v) for _, v in about), 100)])
        wp.append(_bold(wp, ["what", "value"]))
        for k, v in about:
            wp.append([k, v])

        if with_trace:
            wt = wb.create_sheet("Trace")
            theads = ["id", "name", "charge", "step", "kind", "text", "value", "applied",
                      "file", "line"]
            _widths(wt, [widths[0], widths[1], max(len(c.name) for c in charges) if charges
                         else 6, 5, 10, 80, 16, 8, 30, 5])
            wt.freeze_panes = "A2"
            wt.append(_bold(wt, theads))
            spool.seek(0)
            for row in spool:
                ident, name, lines, _, _, _ = json.loads(row)
                for charge, _amount, _status, trace in lines:
                    for i, step in enumerate(trace, 1):
                        at = step.get("at") or {}
                        applied = step.get("applied")
                        wt.append([ident, name, charge, i, step["kind"], step["text"],
                                   step.get("value"),
                                   None if applied is None else ("yes" if applied else "no"),
                                   at.get("file"), at.get("line")])
            wt.auto_filter.ref = f"A1:J{steps + 1}"
        wb.save(out)
    return totals


def _input_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """An input value as a cell: numbers exact, truth values as yes/no, dates as dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value):
        return exact_cell(ws, Decimal(value), "#,##0.##########")
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(ws, value=dt.datetime.fromisoformat(value))
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def write_xlsx(path: str | Path, tariff: ast.Tariff, year: int,
               results: Iterable[CustomerResult], *, with_trace: bool = False,
               manifest: Mapping[str, Any] | None = None) -> Totals:
    """:func:`write_workbook` to ``path``, whole or not at all (a temporary file next to
    it, renamed into place)."""
    from takst.render.report import open_atomic_binary

    need_openpyxl()
    with open_atomic_binary(path) as fh:
        return write_workbook(fh, tariff, year, results, with_trace=with_trace,
                              manifest=manifest)


def sheet_title(name: str) -> str:
    """A name Excel accepts for a sheet (public for the compare workbook)."""
    return _sheet_title(name)
