"""Registers: CSV files of customers, read into typed values for a tariff's inputs.

A register is UTF-8 CSV (a byte-order mark is allowed) with a header row. It
has the columns ``id`` and ``name`` and one column per input the tariff
declares; ``customer_type`` is read when present; other columns are ignored.
Ids are text (``0301`` keeps its zero). Every problem of the file is reported
at once, each with its row and column, and nothing is evaluated when there is
one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, RegisterError, diagnostic
from takst.interpreter.evaluator import Customer
from takst.interpreter.trace import Value

REQUIRED = ("id", "name")
_WHOLE = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_TRUE = {"true", "yes", "ja", "1"}
_FALSE = {"false", "no", "nej", "nei", "0"}
#: Inputs larger than this are refused: no real register has them, and they only
#: make exact arithmetic slow.
MAX_DIGITS = 30


class BadValue(ValueError):
    """A cell that does not hold a value of its input's type."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_value(decl: ast.InputDecl, raw: str) -> Value:
    """Read one cell (or ``--set`` value) as the input's type. Raises :class:`BadValue`."""
    text = raw.strip()
    kind = decl.type.kind
    if text == "":
        raise BadValue(
            f"{decl.name} is empty",
            f"give every customer a value for {decl.name}",
        )
    if kind in ("inhabitants", "count"):
        things = "inhabitants" if kind == "inhabitants" else (decl.type.counted or "things")
        if not _WHOLE.match(text):
            if re.match(r"^-\d", text):
                raise BadValue(
                    f"{decl.name} is {text}, but a number of {things} cannot be negative",
                    "correct the value; a count is 0 or more",
                )
            if re.match(r"^\d{1,3}([. ,]\d{3})+$", text):
                raise BadValue(
                    f"{decl.name} is {text!r}: write a number of {things} without separators",
                    f"write {re.sub(r'[. ,]', '', text)}",
                )
            raise BadValue(
                f"{decl.name} is {text!r}, which is not a whole number of {things}",
                f"write a whole number such as 41000",
            )
        if len(text) > MAX_DIGITS:
            raise BadValue(
                f"{decl.name} has {len(text)} digits, more than any real register holds",
                "check the value",
            )
        return Decimal(text)
    if kind in ("number", "money"):
        if re.match(r"^-\d", text):
            raise BadValue(
                f"{decl.name} is {text}, but takst's numeric inputs cannot be negative",
                "correct the value; amounts and numbers in a register are 0 or more",
            )
        if not _DECIMAL.match(text) or len(text) > MAX_DIGITS + 2:
            raise BadValue(
                f"{decl.name} is {text!r}, which is not a number",
                "write digits with a decimal point, e.g. 1234.50",
            )
        return Decimal(text)
    if kind == "yes/no":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise BadValue(f"{decl.name} is {text!r}, not true or false", "write true or false")
    if kind == "date":
        try:
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise BadValue(
                f"{decl.name} is {text!r}, which is not a date",
                "write dates as YYYY-MM-DD, e.g. 2023-11-01",
            ) from None
    return text


def read_text(path: Path, display: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RegisterError(
            diagnostic(f"no register file {display}", hint="check the path and the file name")
        ) from None
    except IsADirectoryError:
        raise RegisterError(diagnostic(f"{display} is a folder, not a register file")) from None
    except OSError as err:
        raise RegisterError(diagnostic(f"cannot read {display}: {err.strerror}")) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        row = raw[: err.start].count(b"\n") + 1
        raise RegisterError(
            diagnostic(
                "this register is not UTF-8 text",
                where=f"{display}, row {row}",
                hint="export the spreadsheet as 'CSV UTF-8'",
            )
        ) from None


def load_register(
    path: str | Path, inputs: Mapping[str, ast.InputDecl], display: str | None = None
) -> list[Customer]:
    """Read a register for a tariff with these inputs. Raises :class:`RegisterError`
    with every problem of the file."""
    path = Path(path)
    name = display if display is not None else str(path)
    return parse_register(read_text(path, name), inputs, name)


def parse_register(text: str, inputs: Mapping[str, ast.InputDecl], name: str) -> list[Customer]:
    problems: list[Diagnostic] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RegisterError(
            diagnostic(f"register {name} is empty", hint="the first line names the columns")
        ) from None
    except csv.Error as err:
        raise RegisterError(diagnostic(f"register {name}: {err}", where=f"{name}, row 1")) from None
    columns = [h.strip() for h in header]
    index: dict[str, int] = {}
    for i, col in enumerate(columns):
        if col in index and col:
            problems.append(
                diagnostic(
                    f"column {col} appears twice",
                    where=f"{name}, row 1",
                    hint="keep one column of each name",
                )
            )
        index.setdefault(col, i)
    needed = [*REQUIRED, *inputs]
    missing = [c for c in needed if c not in index]
    for col in missing:
        what = "every register has it" if col in REQUIRED else "the tariff has an input of that name"
        problems.append(
            diagnostic(
                f"the register has no column {col} ({what})",
                where=f"{name}, row 1",
                hint="the columns are: " + ", ".join(c for c in columns if c)
                + f"; add a column named {col}",
            )
        )
    if missing:
        raise RegisterError(problems)
    customers: list[Customer] = []
    seen: dict[str, int] = {}
    type_col = index.get("customer_type")
    try:
        for fields in reader:
            row = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(columns):
                problems.append(
                    diagnostic(
                        f"this row has {len(fields)} fields, but the header has {len(columns)}",
                        where=f"{name}, row {row}",
                        hint="check for a missing or extra comma; put text with commas in "
                        'double quotes ("Ringkøbing-Skjern, Vest")',
                    )
                )
                continue
            ident = fields[index["id"]].strip()
            cname = fields[index["name"]].strip()
            if not ident:
                problems.append(
                    diagnostic("id is empty", where=f"{name}, row {row}, column id",
                               hint="give every customer an id, e.g. its municipality code")
                )
            elif ident in seen:
                problems.append(
                    diagnostic(
                        f"id {ident} is already used in row {seen[ident]}",
                        where=f"{name}, row {row}, column id",
                        hint="each customer has its own id",
                    )
                )
            else:
                seen[ident] = row
            values: dict[str, Value] = {}
            for col, decl in inputs.items():
                try:
                    values[col] = parse_value(decl, fields[index[col]])
                except BadValue as bad:
                    problems.append(
                        diagnostic(bad.message, where=f"{name}, row {row}, column {col}",
                                   hint=bad.hint)
                    )
            ctype = fields[type_col].strip() if type_col is not None else ""
            customers.append(
                Customer(
                    id=ident,
                    name=cname,
                    values=values,
                    customer_type=ctype,
                    origin=f"{name}, row {row}",
                )
            )
    except csv.Error as err:
        problems.append(diagnostic(f"the CSV cannot be read: {err}",
                                   where=f"{name}, row {reader.line_num}"))
    if problems:
        raise RegisterError(problems)
    if not customers:
        raise RegisterError(
            diagnostic(f"register {name} has no customers", where=f"{name}, row 2",
                       hint="add one row per customer below the header")
        )
    return customers
