"""Registers: CSV files of customers, read into typed values for a tariff's inputs.

A register is a CSV file with a header row, as a spreadsheet exports it. It has
the columns ``id`` and ``name`` and one column per input the tariff declares;
``customer_type`` is read when present; other columns are ignored. Ids are text
(``0301`` keeps its zero). Every problem of the file is reported at once, each
with its row and column, and nothing is evaluated when there is one.

The file's *dialect* is found without a flag, and refused when it cannot be
found for certain:

* **Encoding.** UTF-8 with or without a byte-order mark; UTF-16 with a
  byte-order mark (a spreadsheet's "Unicode text").
* **Rows.** Windows (CRLF), Unix (LF) and old Mac (CR) line ends. Blank lines
  are skipped. A row is named by its physical line in the file, so
  ``row 7`` is line 7 in any editor.
* **Delimiter.** Excel's ``sep=;`` first line says it (the line counts as row 1).
  Otherwise it is the one of comma, semicolon and tab that splits the header
  into the columns the tariff needs. A header that two delimiters split
  equally well is refused; ``--delimiter`` resolves it.
* **Decimal mark.** Read from the numbers themselves: ``1234,50`` or
  ``1.234.567`` show a decimal comma, ``1234.50`` or ``1,234,567`` a decimal
  point. Once the mark is known, the other mark is a thousands separator in its
  proper places (``41.000`` is 41 000 in a file with decimal commas). A number
  that reads two ways (``41.000``: 41 000 or 41?) in a file that shows neither
  mark is never guessed: the file is refused, and ``--decimal`` resolves it. A
  file that shows both marks is refused the same way.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, RegisterError, diagnostic
from takst.interpreter.model import Customer, Value

REQUIRED = ("id", "name")
_TRUE = {"true", "yes", "ja", "1", "sand", "sann", "sant"}
_FALSE = {"false", "no", "nej", "nei", "0", "falsk", "usann", "falskt"}
#: Inputs larger than this are refused: no real register has them, and they only
#: make exact arithmetic slow.
MAX_DIGITS = 30

#: The delimiters a register may use, by the name ``--delimiter`` takes.
DELIMITERS: dict[str, str] = {"comma": ",", "semicolon": ";", "tab": "\t"}
#: The decimal marks a register may use, by the name ``--decimal`` takes.
DECIMAL_MARKS: dict[str, str] = {"point": ".", "comma": ","}
_DELIMITER_NAMES = {ch: word for word, ch in DELIMITERS.items()}
_MARK_NAMES = {".": "point", ",": "comma"}
_NUMERIC_KINDS = ("inhabitants", "count", "number", "money")

_SEP_LINE = re.compile(r'^\s*"?sep=(.)"?[,;\t ]*$', re.IGNORECASE)
_FIRST_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]\d{1,2}:\d{2}")
_LOCAL_DATE = re.compile(r"^(\d{1,2})([.\-/])(\d{1,2})\2(\d{4})$")
_SPACE_GROUPS = re.compile(r"^\d{1,3}([ \u00a0\u202f]\d{3})+$")
_SET_GROUPS = re.compile(r"^\d{1,3}([. ,]\d{3})+$")
_PLAIN_POINT = re.compile(r"^\d+(\.\d+)?$")

#: Numbers written with a known decimal mark: plain, or with the other mark between thousands.
_NUMBER = {
    ".": (re.compile(r"^\d+(?:\.\d+)?$"), re.compile(r"^[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")),
    ",": (re.compile(r"^\d+(?:,\d+)?$"), re.compile(r"^[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$")),
}
#: What a number shows about the file's decimal mark, when nothing else says it.
_ONE_MARK = re.compile(r"^\d+([.,])\d+$")
_ONE_GROUP = re.compile(r"^[1-9]\d{0,2}[.,]\d{3}$")
_EVIDENCE = (
    (re.compile(r"^[1-9]\d{0,2}(?:\.\d{3}){2,}$"), ","),  # 1.234.567
    (re.compile(r"^[1-9]\d{0,2}(?:,\d{3}){2,}$"), "."),  # 1,234,567
    (re.compile(r"^[1-9]\d{0,2}(?:\.\d{3})+,\d+$"), ","),  # 1.234,50
    (re.compile(r"^[1-9]\d{0,2}(?:,\d{3})+\.\d+$"), "."),  # 1,234.50
)


class BadValue(ValueError):
    """A cell that does not hold a value of its input's type."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# ------------------------------------------------------------------ values


def _read_number(text: str, decimal: str | None) -> str | None:
    """``text`` as Python decimal text (``1234.50``), or None when it is no number.

    ``decimal`` is the register's decimal mark; None (``--set``) means a point
    and no thousands separators."""
    if decimal is None:
        return text if _PLAIN_POINT.match(text) else None
    plain, grouped = _NUMBER[decimal]
    group = "," if decimal == "." else "."
    if plain.match(text):
        return text.replace(decimal, ".")
    if grouped.match(text):
        return text.replace(group, "").replace(decimal, ".")
    return None


def _shown(text: str) -> str:
    """A cell's text for a message: as it is, or quoted with escapes when it has
    characters a terminal would not show as they are (line breaks, NUL, ...)."""
    return text if text.isprintable() else repr(text)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def parse_value(decl: ast.InputDecl, raw: str, decimal: str | None = None) -> Value:
    """Read one cell (or ``--set`` value) as the input's type. Raises :class:`BadValue`.

    ``decimal`` is the decimal mark of the register the cell is from (``.`` or
    ``,``), which makes the other mark a thousands separator; None for a
    ``--set`` value (decimal point, no separators)."""
    text = raw.strip()
    kind = decl.type.kind
    if text == "":
        raise BadValue(
            f"{decl.name} is empty",
            f"give every customer a value for {decl.name}",
        )
    if kind in ("inhabitants", "count"):
        things = "inhabitants" if kind == "inhabitants" else (decl.type.counted or "things")
        if re.match(r"^-\s*\d", text):
            raise BadValue(
                f"{decl.name} is {_shown(text)}, but a number of {things} cannot be negative",
                "correct the value; a count is 0 or more",
            )
        number = _read_number(text, decimal)
        if number is None and (
            _SPACE_GROUPS.match(text) or (decimal is None and _SET_GROUPS.match(text))
        ):
            raise BadValue(
                f"{decl.name} is {text!r}: write a number of {things} without separators",
                "write " + re.sub(r"[. ,\u00a0\u202f]", "", text),
            )
        if number is None or "." in number:
            raise BadValue(
                f"{decl.name} is {text!r}, which is not a whole number of {things}",
                "write a whole number such as 41000",
            )
        if len(number) > MAX_DIGITS:
            raise BadValue(
                f"{decl.name} has {len(number)} digits, more than any real register holds",
                f"check the value; takst reads numbers of at most {MAX_DIGITS} digits",
            )
        return Decimal(number)
    if kind in ("number", "money"):
        if re.match(r"^-\s*\d", text):
            raise BadValue(
                f"{decl.name} is {_shown(text)}, but takst's numeric inputs cannot be negative",
                "correct the value; amounts and numbers in a register are 0 or more",
            )
        number = _read_number(text, decimal)
        if number is None:
            example = "1234,50" if decimal == "," else "1234.50"
            mark = "comma" if decimal == "," else "point"
            raise BadValue(
                f"{decl.name} is {text!r}, which is not a number",
                f"write digits with a decimal {mark}, e.g. {example}",
            )
        if _digits(number) > MAX_DIGITS:
            raise BadValue(
                f"{decl.name} has {_digits(number)} digits, more than any real register holds",
                f"check the value; takst reads numbers of at most {MAX_DIGITS} digits",
            )
        return Decimal(number)
    if kind == "yes/no":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise BadValue(
            f"{decl.name} is {text!r}, not true or false",
            "write true or false (yes/no and ja/nej are read too)",
        )
    if kind == "date":
        return _parse_date(decl.name, text)
    return text


def _parse_date(name: str, text: str) -> dt.date:
    iso = _ISO_DATE.match(text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            if 1 <= month <= 12 and year >= 1:
                days = calendar.monthrange(year, month)[1]
                hint = (f"{calendar.month_name[month]} {year} has {days} days; "
                        "write a real date as YYYY-MM-DD")
            else:
                hint = "write a real date as YYYY-MM-DD, e.g. 2023-11-01 (month before day)"
            raise BadValue(f"{name} is {text}, which is not a date in the calendar",
                           hint) from None
    timestamp = _ISO_DATETIME.match(text)
    if timestamp:
        raise BadValue(
            f"{name} is {text!r}, a date with a time of day",
            f"write the date only: {timestamp.group(1)}",
        )
    local = _LOCAL_DATE.match(text)
    if local:
        first, sep, second, year_text = local.groups()
        readings = []
        for day, month in ((int(first), int(second)), (int(second), int(first))):
            try:
                readings.append(dt.date(int(year_text), month, day))
            except ValueError:
                continue
            if sep != "/":  # 01.11.2023 and 01-11-2023 are day first, always
                break
        if readings:
            means = " or ".join(
                f"{d.isoformat()} if it is {d.day} {calendar.month_name[d.month]} {d.year}"
                for d in dict.fromkeys(readings)
            )
            raise BadValue(
                f"{name} is {text!r}; takst reads dates as YYYY-MM-DD only",
                f"write {means}",
            )
    raise BadValue(
        f"{name} is {text!r}, which is not a date",
        "write dates as YYYY-MM-DD, e.g. 2023-11-01",
    )


# ------------------------------------------------------------------ files


def read_text(path: Path, display: str) -> str:
    """The text of a register file: UTF-8 (with or without a BOM), or UTF-16 with a BOM."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RegisterError(
            diagnostic(f"no register file {display}", hint="check the path and the file name")
        ) from None
    except IsADirectoryError:
        raise RegisterError(diagnostic(f"{display} is a folder, not a register file",
                                       hint="name a .csv file")) from None
    except OSError as err:
        raise RegisterError(diagnostic(f"cannot read {display}: {err.strerror}",
                                       hint="check the file's permissions")) from None
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        before = raw[: err.start].decode(encoding, errors="replace")
        row = before.count("\n") + 1
        raise RegisterError(
            diagnostic(
                f"this register is not {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} text",
                where=f"{display}, row {row}",
                hint="export the spreadsheet as 'CSV UTF-8'",
            )
        ) from None
    if text.count("\x00") * 4 > len(text) > 0:  # UTF-16 without its byte-order mark
        raise RegisterError(
            diagnostic(
                "this register looks like UTF-16 text without a byte-order mark",
                where=f"{display}, row 1",
                hint="export the spreadsheet as 'CSV UTF-8'",
            )
        )
    return text


def _option(value: str | None, table: Mapping[str, str], option: str) -> str | None:
    """A ``--delimiter``/``--decimal`` value as its character (names and characters accepted)."""
    if value is None:
        return None
    if value in table:
        return table[value]
    if value in table.values():
        return value
    raise ValueError(f"{option} is one of {', '.join(table)}, not {value!r}")


def load_register(
    path: str | Path,
    inputs: Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> list[Customer]:
    """Read a register for a tariff with these inputs. Raises :class:`RegisterError`
    with every problem of the file.

    ``delimiter`` (``comma``, ``semicolon``, ``tab``) and ``decimal`` (``point``,
    ``comma``) override what is found in the file; None finds them."""
    path = Path(path)
    name = display if display is not None else str(path)
    return parse_register(read_text(path, name), inputs, name,
                          delimiter=delimiter, decimal=decimal)


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return [line.strip()]


def _choose_delimiter(line: str, needed: Sequence[str], where: str) -> str:
    """The delimiter that splits the header ``line`` into the needed columns."""
    splits = {ch: _split(line, ch) for ch in DELIMITERS.values()}
    found = {ch: sum(1 for col in needed if col in cols) for ch, cols in splits.items()}
    best = max(found.values())
    winners = [ch for ch in splits if found[ch] == best]
    if len({tuple(splits[ch]) for ch in winners}) == 1:
        present = [ch for ch in winners if ch in line]
        return present[0] if present else ","
    if best == 0:  # no column the tariff needs: take the richest split, report the columns
        return max(winners, key=lambda ch: len(splits[ch]))
    words = [_DELIMITER_NAMES[ch] for ch in winners]
    readings = "; ".join(
        f"by {_DELIMITER_NAMES[ch]}s it has the columns " + ", ".join(splits[ch])
        for ch in winners
    )
    raise RegisterError(
        diagnostic(
            f"cannot tell how the columns are separated: {readings}",
            where=where,
            hint="say which with " + " or ".join(f"--delimiter {w}" for w in words)
            + " (or make sep=; the file's first line)",
        )
    )


def _unclosed_quote(fields: Sequence[str], delimiter: str, width: int) -> bool:
    """True when a cell holds whole rows: a double quote opened and not closed in time."""
    for field in fields:
        if "\n" in field or "\r" in field:
            lines = field.splitlines()[1:]
            if any(line.count(delimiter) >= max(width - 1, 1) for line in lines):
                return True
    return False


def _classify(cell: str) -> str | None:
    """What one cell shows about the decimal mark: ``.`` or ``,`` (it shows that mark),
    ``?.`` or ``?,`` (it reads two ways, e.g. ``41.000``), or None (nothing)."""
    text = cell.strip().lstrip("+-").strip()
    if text.isdigit() or not text:
        return None
    one = _ONE_MARK.match(text)
    if one:
        return "?" + one.group(1) if _ONE_GROUP.match(text) else one.group(1)
    for pattern, mark in _EVIDENCE:
        if pattern.match(text):
            return mark
    return None


def _two_ways(text: str) -> tuple[str, str]:
    """Both readings of a number like ``41.000``: with thousands (41000), as a decimal (41)."""
    core = text.strip().lstrip("+-").strip()
    whole, part = core[:-4], core[-3:]
    return whole + part, f"{whole}.{part}".rstrip("0").rstrip(".")


def parse_register(
    text: str,
    inputs: Mapping[str, ast.InputDecl],
    name: str,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> list[Customer]:
    """Read a register's text (see the module's docstring for what is found without options)."""
    delim_char = _option(delimiter, DELIMITERS, "delimiter")
    mark = _option(decimal, DECIMAL_MARKS, "decimal")
    problems: list[Diagnostic] = []
    text = text.removeprefix("\ufeff")

    # Excel's "sep=;" line names the delimiter; it is row 1 of the file.
    offset = 0
    first = _FIRST_LINE.match(text)
    assert first is not None  # the pattern matches any text
    sep = _SEP_LINE.match(first.group(1))
    if sep:
        if sep.group(1) not in _DELIMITER_NAMES and delim_char is None:
            raise RegisterError(
                diagnostic(
                    f"the first line says the columns are separated by {sep.group(1)!r}; "
                    "takst reads commas, semicolons and tabs",
                    where=f"{name}, row 1",
                    hint="export with one of those, or give --delimiter comma, "
                    "semicolon or tab",
                )
            )
        delim_char = delim_char or sep.group(1)
        text = text[first.end():]
        offset = 1

    # The header is the first line that is not blank.
    header_line = ""
    header_row = offset
    for line in io.StringIO(text, newline=""):
        header_row += 1
        if line.strip():
            header_line = line.rstrip("\r\n")
            break
    if not header_line:
        raise RegisterError(
            diagnostic(f"register {name} is empty", where=f"{name}, row {offset + 1}",
                       hint="the first line names the columns, e.g. id,name,population")
        )
    # an optional input's column may be left out (its charges are then pending)
    needed = [*REQUIRED, *(n for n, d in inputs.items() if not d.optional)]
    if delim_char is None:
        delim_char = _choose_delimiter(header_line, needed, f"{name}, row {header_row}")
    delim_word = _DELIMITER_NAMES.get(delim_char, repr(delim_char))

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim_char)
    records: list[tuple[int, list[str]]] = []
    multiline: set[int] = set()  # rows whose record goes on over several lines
    line_num = 0
    try:
        for fields in reader:
            row = offset + line_num + 1
            if reader.line_num > line_num + 1:
                multiline.add(row)
            line_num = reader.line_num
            if fields and any(f.strip() for f in fields):
                records.append((row, fields))
    except csv.Error as err:
        row = offset + line_num + 1
        problems.append(
            diagnostic(
                f"this row cannot be read as CSV: {err}",
                where=f"{name}, row {row}",
                hint="check for a double quote that is not closed",
            )
        )
    if not records:
        raise RegisterError(problems or [
            diagnostic(f"register {name} is empty", where=f"{name}, row {offset + 1}",
                       hint="the first line names the columns, e.g. id,name,population")
        ])
    header_row, header = records[0]
    columns = [h.strip() for h in header]
    if any("\n" in c or "\r" in c for c in columns):
        raise RegisterError([*problems, diagnostic(
            "a double quote in the header is not closed, so the rows after it were read "
            "as part of the header",
            where=f"{name}, row {header_row}",
            hint='close the quote, or remove it: a quote only goes around a whole cell, '
            '"like this"',
        )])
    index: dict[str, int] = {}
    for i, col in enumerate(columns):
        if col in index and col:
            problems.append(
                diagnostic(
                    f"column {_shown(col)} appears twice",
                    where=f"{name}, row {header_row}",
                    hint="keep one column of each name",
                )
            )
        index.setdefault(col, i)
    missing = [c for c in needed if c not in index]
    for col in missing:
        what = ("every register has it" if col in REQUIRED
                else "the tariff has an input of that name")
        problems.append(
            diagnostic(
                f"the register has no column {col} ({what})",
                where=f"{name}, row {header_row}",
                hint="the columns are: " + ", ".join(_shown(c) for c in columns if c)
                + f"; add a column named {col}",
            )
        )
    if missing:
        raise RegisterError(problems)
    if len(records) == 1:
        problems.append(
            diagnostic(f"register {name} has no customers", where=f"{name}, row {header_row + 1}",
                       hint="add one row per customer below the header")
        )
        raise RegisterError(problems)

    # Rows of the header's width; a trailing empty cell more or less is no problem.
    # Problems from here on are kept with their row and reported in the file's order.
    found: list[tuple[int, Diagnostic]] = []
    width = len(columns)
    rows: list[tuple[int, list[str]]] = []
    for row, fields in records[1:]:
        if len(fields) > width and not any(f.strip() for f in fields[width:]):
            fields = fields[:width]
        elif len(fields) < width and not any(columns[len(fields):]):
            fields = fields + [""] * (width - len(fields))
        if row in multiline and _unclosed_quote(fields, delim_char, width):
            found.append((row, diagnostic(
                "a double quote in this row is not closed, so the rows after it were "
                "read as part of one cell",
                where=f"{name}, row {row}",
                hint='close the quote, or remove it: a quote only goes around a whole cell, '
                '"like this"',
            )))
            continue
        if len(fields) != width:
            hint = f"check for a missing or extra {delim_word}"
            if delim_char != "\t":
                hint += (f"; put text with {delim_word}s in double quotes "
                         f'("Ringkøbing-Skjern{delim_char} Vest")')
            if delim_char == ",":
                hint += ", and numbers with a comma in them too"
            found.append((row, diagnostic(
                f"this row has {len(fields)} fields, but the header has {width}",
                where=f"{name}, row {row}", hint=hint)))
            continue
        rows.append((row, fields))

    numeric = [col for col, decl in inputs.items()
               if decl.type.kind in _NUMERIC_KINDS and col in index]
    unsure: set[tuple[int, str]] = set()  # cells that cannot be read until the mark is known
    if mark is None:
        mark, unsure, trouble = _decimal_mark(rows, numeric, index, name)
        found.extend(trouble)

    customers: list[Customer] = []
    seen: dict[str, int] = {}
    type_col = index.get("customer_type")
    services_col = index.get("services")
    used = [c for c in (*REQUIRED, *inputs, "customer_type", "services") if c in index]
    for row, fields in rows:
        broken = () if row not in multiline else [
            col for col in used if any(ch in fields[index[col]].strip() for ch in "\r\n")]
        for col in broken:
            found.append((row, diagnostic(
                f"{col} has a line break in it",
                where=f"{name}, row {row}, column {col}",
                hint="a cell holds one line: remove the line break, or the stray double quote "
                "before it",
            )))
        ident = fields[index["id"]].strip()
        cname = fields[index["name"]].strip()
        if not ident:
            found.append((row, diagnostic(
                "id is empty", where=f"{name}, row {row}, column id",
                hint="give every customer an id, e.g. its municipality code")))
        elif ident in seen:
            found.append((row, diagnostic(
                f"id {_shown(ident)} is already used in row {seen[ident]}",
                where=f"{name}, row {row}, column id",
                hint="each customer has its own id",
            )))
        else:
            seen[ident] = row
        values: dict[str, Value] = {}
        for col, decl in inputs.items():
            if (row, col) in unsure or col in broken or col not in index:
                continue
            if decl.optional and not fields[index[col]].strip():
                continue  # not given for this customer
            try:
                values[col] = parse_value(decl, fields[index[col]], decimal=mark)
            except BadValue as bad:
                found.append((row, diagnostic(
                    bad.message, where=f"{name}, row {row}, column {col}", hint=bad.hint)))
        ctype = fields[type_col].strip() if type_col is not None else ""
        services = None
        if services_col is not None:  # "svarut;digisos": the charges this customer uses
            services = frozenset(
                part.strip() for part in fields[services_col].split(";") if part.strip())
        customers.append(
            Customer(
                id=ident,
                name=cname,
                values=values,
                customer_type=ctype,
                origin=f"{name}, row {row}",
                services=services,
            )
        )
    problems.extend(d for _, d in sorted(found, key=lambda item: item[0]))
    if problems:
        raise RegisterError(problems)
    return customers


def _decimal_mark(
    rows: Sequence[tuple[int, Sequence[str]]],
    numeric: Sequence[str],
    index: Mapping[str, int],
    name: str,
) -> tuple[str, set[tuple[int, str]], list[tuple[int, Diagnostic]]]:
    """The register's decimal mark, from its numbers. Returns the mark, the cells that
    cannot be read without it when it is not certain, and the problem (with its row)
    that says so."""
    shown: dict[str, tuple[int, str, str]] = {}  # mark -> first cell that shows it
    two_ways: list[tuple[int, str, str]] = []
    for row, fields in rows:
        for col in numeric:
            cell = fields[index[col]]
            kind = _classify(cell)
            if kind is None:
                continue
            if kind.startswith("?"):
                two_ways.append((row, col, cell.strip()))
            else:
                shown.setdefault(kind, (row, col, cell.strip()))
    if len(shown) == 1:
        return next(iter(shown)), set(), []
    if len(shown) == 2:
        (crow, ccol, ctext), (prow, pcol, ptext) = shown[","], shown["."]
        unsure = {(row, col) for row, fields in rows for col in numeric
                  if _classify(fields[index[col]]) is not None}
        first = min((crow, ccol), (prow, pcol))
        return ".", unsure, [(first[0],
            diagnostic(
                f"this register writes numbers both ways: {ctext} (row {crow}, column {ccol}) "
                f"has a decimal comma, {ptext} (row {prow}, column {pcol}) a decimal point",
                where=f"{name}, row {first[0]}, column {first[1]}",
                hint="make them agree, or say which mark is the decimal mark with "
                "--decimal comma or --decimal point",
            ))
        ]
    if two_ways:
        row, col, text = two_ways[0]
        sep = text[-4]
        grouped, decimal = _two_ways(text)
        as_group = "comma" if sep == "." else "point"  # the --decimal that makes it thousands
        as_decimal = _MARK_NAMES[sep]
        more = ""
        if len(two_ways) > 1:
            rows_named = ", ".join(str(r) for r, _, _ in two_ways[1:6])
            more = (f"; {len(two_ways) - 1} more number{'s' if len(two_ways) > 2 else ''} "
                    f"read two ways (row{'s' if len(two_ways) > 2 else ''} {rows_named}"
                    f"{', ...' if len(two_ways) > 6 else ''})")
        return ".", {(r, c) for r, c, _ in two_ways}, [(row,
            diagnostic(
                f"{text} reads two ways, {grouped} (the {_MARK_NAMES[sep]} separates "
                f"thousands) or {decimal} (a decimal {_MARK_NAMES[sep]}), and no other "
                "number in the file shows which mark is its decimal mark",
                where=f"{name}, row {row}, column {col}",
                hint=f"say which with --decimal {as_group} ({text} = {grouped}) or "
                f"--decimal {as_decimal} ({text} = {decimal}), or write the number without "
                f"separators{more}",
            ))
        ]
    return ".", set(), []
