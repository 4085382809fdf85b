"""Registers: CSV files of customers, read into typed values for a tariff's inputs.

A register is a CSV file with a header row, as a spreadsheet exports it. It has
the columns ``id`` and ``name`` and one column per input the tariff declares;
``customer_type`` is read when present; other columns are ignored. Ids are text
(``0301`` keeps its zero; so does ``="0301"``, the string constant CSV for Excel
writes, :mod:`takst.render.excel`). An XLSX workbook's sheet is read through the
same checks by :mod:`takst.io.xlsx`. Every problem of the file is reported at once, each
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

A register is read as a stream (:func:`open_register`): each iteration reads the
file again, row by row, and memory does not grow with it (only the set of ids, to
find duplicates, and the problems found). A first cheap pass over the bytes finds
the encoding and whether any number could show a decimal mark; a pass over the
rows decides the mark only when one could. Every problem is still reported at
once, at the end of the iteration, in the file's order; the rows that have one
are not yielded. :func:`load_register` and :func:`parse_register` read the same
way into a list.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import attrs

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

#: Bytes read at a time: memory stays this size whatever the register's.
_CHUNK = 1 << 16
#: UTF-8 bytes with ASCII digits and every non-ASCII byte (which may be part of another
#: script's digit) made ``0``: a register whose bytes then have no ``0.0`` or ``0,0`` has no
#: number that shows a decimal mark (a regular expression is 40 times slower at this).
_DIGITISH = bytes.maketrans(bytes(range(0x30, 0x3a)) + bytes(range(0x80, 0x100)),
                            b"0" * (10 + 0x80))
#: The first bytes of every UTF-8 character that may be a digit (``\d``) other than ASCII's:
#: the two-byte ones of the Arabic-Indic, extended Arabic-Indic and NKo digits, and every
#: three- and four-byte one. A text without any (Danish, Norwegian, Swedish: Æ, Ø, Å and
#: the rest start with 0xC3) has only ASCII digits, and its letters are no digits.
DIGIT_LEADS = bytes([0xD9, 0xDB, 0xDF, *range(0xE0, 0xF5)])
#: ASCII digits made ``0``, every non-ASCII byte ``x``: for a text without DIGIT_LEADS.
_ASCII_DIGITS = bytes.maketrans(bytes(range(0x30, 0x3a)) + bytes(range(0x80, 0x100)),
                                b"0" * 10 + b"x" * 0x80)


def _may_show_marks(data: bytes) -> bool:
    """False when no number in this UTF-8 text can show a decimal mark (see ``_classify``:
    each kind of number that does has a digit, a point or comma, and a digit)."""
    other = any(data.find(lead) >= 0 for lead in DIGIT_LEADS)
    digitish = data.translate(_DIGITISH if other else _ASCII_DIGITS)
    return b"0.0" in digitish or b"0,0" in digitish
_BOOLS: dict[str, bool] = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


def _option(value: str | None, table: Mapping[str, str], option: str) -> str | None:
    """A ``--delimiter``/``--decimal`` value as its character (names and characters accepted)."""
    if value is None:
        return None
    if value in table:
        return table[value]
    if value in table.values():
        return value
    raise ValueError(f"{option} is one of {', '.join(table)}, not {value!r}")


def _open_error(err: OSError, display: str) -> RegisterError:
    if isinstance(err, FileNotFoundError):
        return RegisterError(
            diagnostic(f"no register file {display}", hint="check the path and the file name"))
    if isinstance(err, IsADirectoryError):
        return RegisterError(diagnostic(f"{display} is a folder, not a register file",
                                        hint="name a .csv file"))
    return RegisterError(diagnostic(f"cannot read {display}: {err.strerror}",
                                    hint="check the file's permissions"))


def _changed(display: str) -> RegisterError:
    return RegisterError(diagnostic(
        f"the register {display} changed while takst was reading it",
        where=display,
        hint="takst reads a register more than once (register-wide values first, then each "
        "customer); run it again when nothing is writing to the file",
    ))


@attrs.frozen
class _Scan:
    """What one pass over a file's bytes finds before any row is read."""

    encoding: str  # for reading its text: utf-8-sig or utf-16 (both drop the byte-order mark)
    digest: bytes
    stamp: tuple[int, int]  # size and modification time
    marks: bool  # some text in it could show a decimal mark


def _scan_file(path: Path, display: str) -> _Scan:
    """Read a file's bytes once, in chunks: its encoding (UTF-8 with or without a BOM, or
    UTF-16 with a BOM), refused when it does not decode; its hash; and whether any of its
    text could show a decimal mark."""
    try:
        fh = path.open("rb")
    except OSError as err:
        raise _open_error(err, display) from None
    with fh:
        try:
            stamp = os.fstat(fh.fileno())
            chunk = fh.read(_CHUNK)
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                encoding, codec, skip = "utf-16", (
                    "utf-16-le" if chunk.startswith(b"\xff\xfe") else "utf-16-be"), 2
            else:
                encoding, codec = "utf-8-sig", "utf-8"
                skip = 3 if chunk.startswith(codecs.BOM_UTF8) else 0
            digest = hashlib.sha256()
            decoder = codecs.getincrementaldecoder(codec)()
            utf16 = skip == 2
            chars = nuls = lines = 0
            marks = utf16  # not looked for in UTF-16: a pass over the rows decides
            tail = b""
            body = chunk[skip:]
            while True:
                digest.update(chunk)
                try:
                    text = decoder.decode(body, final=not chunk)
                except UnicodeDecodeError as err:
                    before = err.object[: err.start].decode(codec, errors="replace")
                    raise RegisterError(diagnostic(
                        f"this register is not {'UTF-16' if utf16 else 'UTF-8'} text",
                        where=f"{display}, row {lines + before.count(chr(10)) + 1}",
                        hint="export the spreadsheet as 'CSV UTF-8'",
                    )) from None
                chars += len(text)
                if utf16:
                    nuls += text.count("\x00")
                    lines += text.count("\n")
                else:  # counted in the bytes: faster, and the same in UTF-8
                    nuls += body.count(0)
                    lines += body.count(b"\n")
                    if not marks:
                        marks = _may_show_marks(tail + body)
                        tail = (tail + body)[-2:]
                if not chunk:
                    break
                chunk = body = fh.read(_CHUNK)
        except OSError as err:
            raise _open_error(err, display) from None
    if nuls * 4 > chars > 0:  # UTF-16 without its byte-order mark
        raise RegisterError(diagnostic(
            "this register looks like UTF-16 text without a byte-order mark",
            where=f"{display}, row 1",
            hint="export the spreadsheet as 'CSV UTF-8'",
        ))
    return _Scan(encoding, digest.digest(), (stamp.st_size, stamp.st_mtime_ns), marks)


class _Hashing(io.RawIOBase):
    """A binary file that hashes what is read from it."""

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__()
        self._raw = raw
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.hash.update(memoryview(buffer)[:n])
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Source:
    """Where a register's text comes from, read anew for each pass."""

    def first(self) -> bool:
        """Prepare the first pass; True when some text could show a decimal mark."""
        raise NotImplementedError

    def again(self) -> None:
        """Prepare a later pass: refused when the source changed since the first."""

    def open(self) -> tuple[TextIO, Callable[[], None]]:
        """The text, and a check to call once all of it is read."""
        raise NotImplementedError


class _TextSource(_Source):
    def __init__(self, text: str) -> None:
        self._text = text

    def first(self) -> bool:
        return _may_show_marks(self._text.encode("utf-8", errors="surrogatepass"))

    def open(self) -> tuple[TextIO, Callable[[], None]]:
        return io.StringIO(self._text, newline=""), lambda: None


class _FileSource(_Source):
    def __init__(self, path: Path, display: str) -> None:
        self._path = path
        self._display = display
        self._scan: _Scan | None = None

    def first(self) -> bool:
        self._scan = _scan_file(self._path, self._display)
        return self._scan.marks

    def again(self) -> None:
        if self._scan is None:
            raise _changed(self._display)
        try:
            stat = self._path.stat()
        except OSError:
            raise _changed(self._display) from None
        if (stat.st_size, stat.st_mtime_ns) != self._scan.stamp:
            raise _changed(self._display)

    def open(self) -> tuple[TextIO, Callable[[], None]]:
        scan = self._scan
        assert scan is not None  # first() or again() came before
        try:
            raw = self._path.open("rb", buffering=0)
        except OSError:
            raise _changed(self._display) from None
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(io.BufferedReader(hashing, _CHUNK), encoding=scan.encoding,
                                newline="")

        def verify() -> None:
            if hashing.hash.digest() != scan.digest:
                raise _changed(self._display)

        return text, verify


# ------------------------------------------------------------------ dialects


#: Unicode categories refused in ids and names: control characters (NUL, tab ...),
#: format characters (zero-width spaces and joiners, bidi marks and overrides, the
#: byte order mark, soft hyphens), line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


#: ``="0301"``: a formula that is only a string constant, as CSV for Excel writes a text
#: that Excel would otherwise turn into a number (``takst.render.excel``).
_FORMULA_TEXT = re.compile(r'="((?:[^"]|"")*)"')


def text_cell(raw: str) -> str:
    """An id or a name as takst uses it: stripped, in Unicode normal form NFC (so that
    ``ø`` typed as one character or as ``o`` + a combining stroke is the same). A cell
    ``="0301"`` (a string constant, as CSV for Excel keeps an id a text) is its text."""
    text = raw.strip()
    if text.startswith('="'):
        m = _FORMULA_TEXT.fullmatch(text)
        if m:
            text = m.group(1).replace('""', '"')
    if text.isascii():  # its own normal form (the common case, in C)
        return text
    return unicodedata.normalize("NFC", text)


def invisible(text: str) -> str | None:
    """The first control, zero-width or bidi character of ``text``, described
    (``U+200B ZERO WIDTH SPACE at character 5``), or None."""
    if text.isprintable():  # no Cc, Cf, Zl or Zp character in it (the common case, in C)
        return None
    for i, ch in enumerate(text, 1):
        if unicodedata.category(ch) in _INVISIBLE:
            name = unicodedata.name(ch, "a control character")
            return f"U+{ord(ch):04X} {name} at character {i}"
    return None


def invisible_problem(name: str, row: int, col: str, text: str, hidden: str) -> Diagnostic:
    """An id or a name holding an invisible character (``hidden``, as :func:`invisible`
    describes it), in the words of every reader of registers."""
    return diagnostic(
        f"{col} {_shown(text)} holds an invisible character: {hidden}",
        where=f"{name}, row {row}, column {col}",
        hint="remove it: a control, zero-width or direction character makes "
        "two values that look the same differ (copied from a web page or a PDF?)")


def empty_id_problem(name: str, row: int) -> Diagnostic:
    """A row without an id, in the words of every reader of registers."""
    return diagnostic("id is empty", where=f"{name}, row {row}, column id",
                      hint="give every customer an id, e.g. its municipality code")


def loose(text: str) -> str:
    """A text with case, compatibility forms, runs of spaces and the kind of dash
    ignored: what two spellings of one name have in common."""
    if text.isascii() and text.isprintable():  # the same, for the common case, in C
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isprintable() and max(text, default=" ") < "\u0250":
        # Latin letters only (Æ, Ø, Å, é ...): no invisible character (each is not
        # printable), and no dash but ASCII's own (U+2010 and the others are higher up)
        return " ".join(text.split())
    text = "".join("-" if unicodedata.category(ch) == "Pd" else ch for ch in text
                   if unicodedata.category(ch) not in _INVISIBLE)
    return " ".join(text.split())


def _name_lists(tariff: ast.Tariff) -> dict[str, tuple[str, ...]]:
    """The lists the tariff tests customers' names against (``name in LIST``)."""
    lists = {decl.name: tuple(item.value for item in decl.items) for decl in tariff.lists}
    used: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tariff):
        if (isinstance(node, ast.In) and node.item.kind == "name" and node.item.value == "name"
                and node.container.kind == "name" and node.container.value in lists):
            used[str(node.container.value)] = lists[str(node.container.value)]
    return used


class Lookalikes:
    """Finds customers whose name matches an entry of a list the tariff tests ``name in``
    against only when case, spaces and dashes are ignored, one customer at a time."""

    def __init__(self, tariff: ast.Tariff) -> None:
        lists = _name_lists(tariff)
        self.active = bool(lists)
        self.exact = {entry for entries in lists.values() for entry in entries}
        self.loose_entries: dict[str, list[tuple[str, str]]] = {}
        for list_name, entries in lists.items():
            for entry in entries:
                self.loose_entries.setdefault(loose(entry), []).append((list_name, entry))
        #: The last character and the last three of every entry's loose form: a name that
        #: ends in ASCII letters or digits ends its loose form with them, lowercased, so
        #: a name whose ending no entry has needs no loose form (most names, quickly).
        keys = [k for k in self.loose_entries if k]
        self._ends1 = frozenset(k[-1] for k in keys)
        self._ends3 = frozenset(k[-3:] for k in keys if len(k) >= 3)
        self._sure = len(keys) == len(self.loose_entries)  # no entry is blank

    def check(self, c: Customer) -> list[Diagnostic]:
        """The warnings for one customer (none for most)."""
        if not self.active or c.name in self.exact:
            return []
        if not self.may_match(c.name):
            return []
        return [diagnostic(
            f"name {_shown(c.name)} is not {_shown(entry)} of list {list_name}, but "
            "differs from it only in case, spaces or dashes; takst matches names "
            "exactly, so `name in " + list_name + "` is false for this customer",
            severity="warning", where=c.origin or None,
            hint=f"if it is the same customer, write the name as the list does "
            f"({_shown(entry)}), or add this spelling to the list")
            for list_name, entry in self.loose_entries.get(loose(c.name), ())]

    def last_characters(self) -> frozenset[str] | None:
        """The last character of every entry's loose form (what :meth:`may_match` compares
        the last of a name with); None when an entry's loose form is blank, and every name
        has to be looked at."""
        return self._ends1 if self._sure else None

    def may_match(self, name: str) -> bool:
        """False only when ``loose(name)`` is surely no entry's loose form: its ending,
        known without working it out when ``name`` ends in ASCII letters or digits."""
        if not self._sure:
            return True
        text = name.rstrip()
        if not text:
            return False  # the loose form is blank, and no entry's is
        tail = text[-3:]
        if len(tail) == 3 and tail.isascii() and tail.isalnum():
            return tail.lower() in self._ends3
        last = text[-1]
        if last.isascii() and last.isalnum():
            return last.lower() in self._ends1
        return True


def lookalike_warnings(tariff: ast.Tariff, customers: Iterable[Customer]) -> list[Diagnostic]:
    """A warning for each customer whose name matches an entry of a list the tariff
    tests ``name in`` against only when case, spaces and dashes are ignored."""
    found = Lookalikes(tariff)
    if not found.active:
        return []
    return [w for c in customers for w in found.check(c)]


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



def _decimal_mark(
    rows: Iterable[tuple[int, Sequence[str]]],
    numeric: Sequence[tuple[str, int]],
    name: str,
) -> tuple[str, bool, list[tuple[int, Diagnostic]]]:
    """The register's decimal mark, from the numbers of its rows (streamed, kept only as
    the few it names). Returns the mark; whether the cells that show a mark cannot be read
    without it, because it is not certain; and the problem (with its row) that says so."""
    shown: dict[str, tuple[int, str, str]] = {}  # mark -> first cell that shows it
    two_ways: list[tuple[int, str, str]] = []  # the first seven numbers that read two ways
    count = 0  # how many read two ways
    for row, fields in rows:
        for col, i in numeric:
            cell = fields[i]
            kind = _classify(cell)
            if kind is None:
                continue
            if kind.startswith("?"):
                count += 1
                if len(two_ways) < 7:
                    two_ways.append((row, col, cell.strip()))
            else:
                shown.setdefault(kind, (row, col, cell.strip()))
    if len(shown) == 1:
        return next(iter(shown)), False, []
    if len(shown) == 2:
        (crow, ccol, ctext), (prow, pcol, ptext) = shown[","], shown["."]
        first = min((crow, ccol), (prow, pcol))
        return ".", True, [(first[0],
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
        if count > 1:
            rows_named = ", ".join(str(r) for r, _, _ in two_ways[1:6])
            more = (f"; {count - 1} more number{'s' if count > 2 else ''} "
                    f"read two ways (row{'s' if count > 2 else ''} {rows_named}"
                    f"{', ...' if count > 6 else ''})")
        return ".", True, [(row,
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
    return ".", False, []


# ------------------------------------------------------------------ reading


class _Unsure(Exception):
    """A cell that cannot be read before the file's decimal mark is known."""


CellReader = Callable[[str], "Value | None"]


def _cell_reader(decl: ast.InputDecl, mark: str, unsure: bool) -> CellReader:
    """A function reading one cell of this input's column, chosen once per file: a fast
    path for the common forms (plain digits, ISO dates, yes/no words), else
    :func:`parse_value`. Returns None for an optional input left empty; raises
    :class:`BadValue`, or :class:`_Unsure` for a number read two ways."""
    kind = decl.type.kind
    optional = decl.optional

    def slow(raw: str) -> Value | None:
        if optional and not raw.strip():
            return None
        if unsure and _classify(raw) is not None:
            raise _Unsure
        return parse_value(decl, raw, decimal=mark)

    if kind in _NUMERIC_KINDS:
        def number(raw: str) -> Value | None:
            text = raw.strip()
            if text.isdecimal() and len(text) <= MAX_DIGITS:
                return Decimal(text)
            return slow(raw)
        return number
    if kind == "yes/no":
        def yes_no(raw: str) -> Value | None:
            value = _BOOLS.get(raw.strip().lower())
            return slow(raw) if value is None else value
        return yes_no
    if kind == "date":
        def date(raw: str) -> Value | None:
            text = raw.strip()
            if len(text) == 10 and text[4] == "-" and text[7] == "-":
                try:  # exactly YYYY-MM-DD with ASCII digits, a real date
                    return dt.date.fromisoformat(text)
                except ValueError:
                    pass
            return slow(raw)
        return date

    def plain(raw: str) -> Value | None:
        return raw.strip() or slow(raw)
    return plain


@attrs.frozen
class _Dialect:
    delimiter: str
    decimal: str


def _records(
    lines: Iterable[str], delimiter: str, offset: int, name: str, errors: list[Diagnostic],
) -> Iterator[tuple[int, list[str], bool]]:
    """The non-blank CSV records: row (physical line), fields, whether it spans lines. A
    record that cannot be read as CSV ends them, with its problem appended to ``errors``."""
    reader = csv.reader(lines, delimiter=delimiter)
    line_num = 0
    try:
        for fields in reader:
            row = offset + line_num + 1
            now = reader.line_num
            multi = now > line_num + 1
            line_num = now
            if fields and (fields[0].strip() or any(f.strip() for f in fields)):
                yield row, fields, multi
    except csv.Error as err:
        errors.append(diagnostic(
            f"this row cannot be read as CSV: {err}",
            where=f"{name}, row {offset + line_num + 1}",
            hint="check for a double quote that is not closed",
        ))


class Register:
    """A register file, read row by row: each ``iter(register)`` reads it again and yields
    its customers one at a time, so memory does not grow with the file.

    The first complete iteration finds the dialect (see the module's docstring), with a
    cheap streaming scan first where the whole file decides (the encoding, the decimal
    mark). Rows with a problem are not yielded; at the end of the iteration a
    :class:`RegisterError` lists every problem of the file. A later iteration refuses a
    file that changed since (its size, modification time or hash)."""

    def __init__(
        self,
        source: _Source,
        inputs: Mapping[str, ast.InputDecl],
        name: str,
        *,
        delimiter: str | None = None,
        decimal: str | None = None,
    ) -> None:
        self.name = name
        self._source = source
        self._inputs = dict(inputs)
        self._delimiter = _option(delimiter, DELIMITERS, "delimiter")
        self._decimal = _option(decimal, DECIMAL_MARKS, "decimal")
        self._dialect: _Dialect | None = None
        self._rows: int | None = None

    @property
    def rows(self) -> int | None:
        """How many customers the register has; None until it has been read through."""
        return self._rows

    @property
    def delimiter(self) -> str | None:
        """The delimiter found (``comma``, ``semicolon``, ``tab``); None until read through."""
        return None if self._dialect is None else _DELIMITER_NAMES[self._dialect.delimiter]

    @property
    def decimal(self) -> str | None:
        """The decimal mark found (``point``, ``comma``); None until read through."""
        return None if self._dialect is None else _MARK_NAMES[self._dialect.decimal]

    def __iter__(self) -> Iterator[Customer]:
        return self._read()

    def _start(self, stream: TextIO, needed: Sequence[str]) -> tuple[Iterator[str], int, str]:
        """The lines after a ``sep=`` line, the number of lines before them, the delimiter."""
        name = self.name
        delim_char = self._delimiter
        first = stream.readline().removeprefix("\ufeff")
        offset = 0
        buffered: list[str] = [first]
        # Excel's "sep=;" line names the delimiter; it is row 1 of the file.
        sep = _SEP_LINE.match(first.rstrip("\r\n"))
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
            buffered = []
            offset = 1
        if self._dialect is not None:  # a later pass: found by the first
            delim_char = self._dialect.delimiter
        else:
            # The header is the first line that is not blank.
            header_line = ""
            header_row = offset
            seen = 0
            while True:
                if seen < len(buffered):
                    line = buffered[seen]
                else:
                    line = stream.readline()
                    buffered.append(line)
                seen += 1
                if not line:
                    break
                header_row += 1
                if line.strip():
                    header_line = line.rstrip("\r\n")
                    break
            if not header_line:
                raise RegisterError(diagnostic(
                    f"register {name} is empty", where=f"{name}, row {offset + 1}",
                    hint="the first line names the columns, e.g. id,name,population"))
            if delim_char is None:
                delim_char = _choose_delimiter(header_line, needed, f"{name}, row {header_row}")
        assert delim_char is not None
        return itertools.chain(buffered, stream), offset, delim_char

    def _read(self) -> Iterator[Customer]:
        if self._dialect is None:
            marks = self._source.first()
        else:
            self._source.again()
            marks = False
        stream, verify = self._source.open()
        try:
            yield from self._pass(stream, verify, marks)
        except UnicodeDecodeError:  # it decoded when scanned, so it changed since
            raise _changed(self.name) from None
        finally:
            stream.close()

    def _pass(
        self, stream: TextIO, verify: Callable[[], None], marks: bool,
    ) -> Iterator[Customer]:
        name = self.name
        inputs = self._inputs
        # an optional input's column may be left out (its charges are then pending)
        needed = [*REQUIRED, *(n for n, d in inputs.items() if not d.optional)]
        lines, offset, delim_char = self._start(stream, needed)
        delim_word = _DELIMITER_NAMES.get(delim_char, repr(delim_char))
        csv_errors: list[Diagnostic] = []
        records = _records(lines, delim_char, offset, name, csv_errors)

        head = next(records, None)
        if head is None:
            raise RegisterError(csv_errors or [
                diagnostic(f"register {name} is empty", where=f"{name}, row {offset + 1}",
                           hint="the first line names the columns, e.g. id,name,population")
            ])
        header_row, header, _ = head
        columns = [h.strip() for h in header]
        if any("\n" in c or "\r" in c for c in columns):
            for _ in records:  # a CSV problem later in the file is reported first
                pass
            raise RegisterError([*csv_errors, diagnostic(
                "a double quote in the header is not closed, so the rows after it were read "
                "as part of the header",
                where=f"{name}, row {header_row}",
                hint='close the quote, or remove it: a quote only goes around a whole cell, '
                '"like this"',
            )])
        problems: list[Diagnostic] = []
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
            for _ in records:
                pass
            raise RegisterError([*csv_errors, *problems])

        width = len(columns)
        numeric = [(col, index[col]) for col, decl in inputs.items()
                   if decl.type.kind in _NUMERIC_KINDS and col in index]
        found: list[tuple[int, Diagnostic]] = []
        unsure = False  # numbers that show a mark cannot be read: the mark is not certain
        if self._decimal is not None:
            mark = self._decimal
        elif self._dialect is not None:
            mark = self._dialect.decimal
        elif numeric and marks:
            mark, unsure, found = self._find_mark(needed, width, columns, numeric)
        else:
            mark = "."

        # Rows of the header's width; a trailing empty cell more or less is no problem.
        # Problems from here on are kept with their row and reported in the file's order.
        readers = [(col, index[col], _cell_reader(decl, mark, unsure))
                   for col, decl in inputs.items() if col in index]
        id_col, name_col = index["id"], index["name"]
        type_col = index.get("customer_type")
        services_col = index.get("services")
        used = [c for c in (*REQUIRED, *inputs, "customer_type", "services") if c in index]
        seen: set[str] = set()  # ids so far; the first row of a repeated one is found after
        repeated: list[tuple[int, int, str]] = []  # (index in found, row, id)
        count = 0
        customers = 0
        for row, fields, multi in records:
            count += 1
            if len(fields) != width:
                fields = _fit(fields, width, columns)
            if multi or len(fields) != width:
                problem = _shape_problem(fields, multi, width, delim_char, delim_word)
                if problem is not None:
                    found.append((row, diagnostic(
                        problem[0], where=f"{name}, row {row}", hint=problem[1])))
                    continue
            bad = False
            broken: Sequence[str] = ()
            if multi:
                broken = [col for col in used
                          if any(ch in fields[index[col]].strip() for ch in "\r\n")]
                for col in broken:
                    bad = True
                    found.append((row, diagnostic(
                        f"{col} has a line break in it",
                        where=f"{name}, row {row}, column {col}",
                        hint="a cell holds one line: remove the line break, or the stray "
                        "double quote before it",
                    )))
            ident = text_cell(fields[id_col])
            name_text = text_cell(fields[name_col])
            for col, text in (() if ident.isprintable() and name_text.isprintable()
                              else (("id", ident), ("name", name_text))):
                if col in broken:  # a line break: reported above
                    continue
                hidden = invisible(text)
                if hidden is not None:
                    bad = True
                    found.append((row, invisible_problem(name, row, col, text, hidden)))
            if not ident:
                bad = True
                found.append((row, empty_id_problem(name, row)))
            elif ident in seen:
                bad = True
                repeated.append((len(found), row, ident))
                found.append((row, _LATER))
            else:
                seen.add(ident)
            values: dict[str, Value] = {}
            for col, i, read in readers:
                if multi and col in broken:
                    continue
                try:
                    value = read(fields[i])
                except BadValue as err:
                    bad = True
                    found.append((row, diagnostic(
                        err.message, where=f"{name}, row {row}, column {col}", hint=err.hint)))
                    continue
                except _Unsure:
                    bad = True
                    continue
                if value is not None:
                    values[col] = value
            if bad:
                continue
            services = None
            if services_col is not None:  # "svarut;digisos": the charges this customer uses
                services = frozenset(
                    part.strip() for part in fields[services_col].split(";") if part.strip())
            customers += 1
            yield Customer(
                id=ident,
                name=name_text,
                values=values,
                customer_type=fields[type_col].strip() if type_col is not None else "",
                origin=f"{name}, row {row}",
                services=services,
            )
        verify()
        del seen
        if repeated:
            first_rows = self._first_rows(needed, width, columns, id_col,
                                          {ident for _, _, ident in repeated})
            for at, row, ident in repeated:
                if ident not in first_rows:  # it was there a moment ago
                    raise _changed(name)
                found[at] = (row, diagnostic(
                    f"id {_shown(ident)} is already used in row {first_rows[ident]}",
                    where=f"{name}, row {row}, column id",
                    hint="each customer has its own id",
                ))
        if count == 0:
            raise RegisterError([*csv_errors, *problems, diagnostic(
                f"register {name} has no customers", where=f"{name}, row {header_row + 1}",
                hint="add one row per customer below the header")])
        problems = [*csv_errors, *problems, *(d for _, d in sorted(found, key=_row_of))]
        if problems:
            raise RegisterError(problems)
        self._dialect = _Dialect(delim_char, mark)
        self._rows = customers

    def _find_mark(
        self, needed: Sequence[str], width: int, columns: Sequence[str],
        numeric: Sequence[tuple[str, int]],
    ) -> tuple[str, bool, list[tuple[int, Diagnostic]]]:
        """The decimal mark, from a pass over the rows that only looks at their numbers."""
        return _decimal_mark(self._rows_again(needed, width, columns), numeric, self.name)

    def _first_rows(
        self, needed: Sequence[str], width: int, columns: Sequence[str], id_col: int,
        ids: set[str],
    ) -> dict[str, int]:
        """The first row of each of these ids, from a pass over the ids only."""
        first: dict[str, int] = {}
        for row, fields in self._rows_again(needed, width, columns):
            ident = text_cell(fields[id_col])
            if ident in ids:
                first.setdefault(ident, row)
        return first

    def _rows_again(
        self, needed: Sequence[str], width: int, columns: Sequence[str],
    ) -> Iterator[tuple[int, list[str]]]:
        """The rows of the header's width, read again (a pass that finds no problems)."""
        stream, _ = self._source.open()
        with stream:
            lines, offset, delim_char = self._start(stream, needed)
            records = _records(lines, delim_char, offset, self.name, [])
            next(records, None)  # the header
            for row, fields, multi in records:
                if len(fields) != width:
                    fields = _fit(fields, width, columns)
                if _shape_problem(fields, multi, width, delim_char, "") is None:
                    yield row, fields


def _row_of(item: tuple[int, Diagnostic]) -> int:
    return item[0]


#: Stands for a problem whose message is written once the whole file is read.
_LATER = diagnostic("")


def _fit(fields: list[str], width: int, columns: Sequence[str]) -> list[str]:
    """A row with a trailing empty cell more or less than the header, made its width."""
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        return fields[:width]
    if len(fields) < width and not any(columns[len(fields):]):
        return fields + [""] * (width - len(fields))
    return fields


def _shape_problem(
    fields: Sequence[str], multi: bool, width: int, delim_char: str, delim_word: str,
) -> tuple[str, str] | None:
    """Why a row (trimmed or padded to the header) cannot be read: message and hint."""
    if multi and _unclosed_quote(fields, delim_char, width):
        return ("a double quote in this row is not closed, so the rows after it were "
                "read as part of one cell",
                'close the quote, or remove it: a quote only goes around a whole cell, '
                '"like this"')
    if len(fields) != width:
        hint = f"check for a missing or extra {delim_word}"
        if delim_char != "\t":
            hint += (f"; put text with {delim_word}s in double quotes "
                     f'("Ringkøbing-Skjern{delim_char} Vest")')
        if delim_char == ",":
            hint += ", and numbers with a comma in them too"
        return f"this row has {len(fields)} fields, but the header has {width}", hint
    return None


def open_register(
    path: str | Path,
    inputs: Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> Register:
    """A register file for a tariff with these inputs, read as it is iterated (see
    :class:`Register`). ``display`` names the file in messages (default: the path).

    ``delimiter`` (``comma``, ``semicolon``, ``tab``) and ``decimal`` (``point``,
    ``comma``) override what is found in the file; None finds them."""
    path = Path(path)
    name = display if display is not None else str(path)
    return Register(_FileSource(path, name), inputs, name, delimiter=delimiter, decimal=decimal)


def load_register(
    path: str | Path,
    inputs: Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> list[Customer]:
    """Read a whole register into a list. Raises :class:`RegisterError` with every problem
    of the file (see :func:`open_register`)."""
    return list(open_register(path, inputs, display, delimiter=delimiter, decimal=decimal))


def parse_register(
    text: str,
    inputs: Mapping[str, ast.InputDecl],
    name: str,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> list[Customer]:
    """Read a register's text (see the module's docstring for what is found without options)."""
    return list(Register(_TextSource(text), inputs, name, delimiter=delimiter, decimal=decimal))
