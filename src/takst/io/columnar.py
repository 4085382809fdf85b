"""A register read and checked in DuckDB, column by column, with the reader's words.

The register reader (:mod:`takst.io.register`) costs several µs a row in Python, more than
billing the row in SQL. Here a register file goes into DuckDB as text and is checked there
(:mod:`takst.interpreter.batch.columnar` has the SQL):

1. **The dialect**, from the head of the file with the reader's own functions: UTF-8 with
   or without a byte-order mark, Excel's ``sep=`` line, the delimiter that splits the header
   into the columns the tariff needs (``_choose_delimiter``: the same refusal when two
   do), ``--delimiter``/``--decimal``.
2. **Every cell as text** in DuckDB (``read_csv`` with no detection, strict widths; or
   ``read_parquet``, its typed columns cast to text, floating-point columns refused).
3. **The decimal mark**, from what the numbers show (the reader's ``_classify`` in SQL).
4. **A sieve** in SQL: numbers, dates, yes/no words, empty and repeated ids, customer
   types, category values, services, invisible characters, NFC, line breaks. A register the
   sieve passes whole is typed in SQL (numbers to scaled integers, never through a float)
   with no Python per row.
5. **The problems**, when the sieve holds rows back: one streaming pass of Python's CSV
   reader finds each held row's physical line, and the reader's own per-row checks word
   its problems (``row 7, column population``), all of them, in the file's order, as the
   reader reports them. Only the rows held back are checked in Python.

Where this cannot be exact it raises :class:`~takst.interpreter.batch.NeedsReader`, and
the caller reads the file with the reader: UTF-16, a file DuckDB cannot split as strict CSV
(a row of another width, a stray quote), an unknown ``sep=`` line, a header that is not the
first line, a repeated column name, a number with digits of another script, and any row the
sieve holds back in which the reader finds no problem (whitespace the SQL does not trim).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from takst.beside import Beside
from takst.dsl import ast
from takst.dsl.errors import Diagnostic, RegisterError, diagnostic
from takst.dsl.symbols import Symbols
from takst.interpreter.batch import columnar as sql
from takst.interpreter.batch.compiler import NARROW_DIGITS, Compiler, Constants, col, quote
from takst.interpreter.batch.duckdb_engine import SQL_TYPES, NeedsReader, _duckdb
from takst.interpreter.model import Customer, Value
from takst.interpreter.prepare import validate
from takst.io import register as reader

_HEAD = 1 << 16
_LINE = re.compile(r"\r\n|\r|\n")


@attrs.frozen
class Loaded:
    """A register in DuckDB, checked: the typed table the compiled plan reads."""

    table: str
    scales: dict[str, int]
    rows: int
    delimiter: str | None  # comma, semicolon, tab (None for Parquet)
    decimal: str  # point or comma
    #: Where the customer with this id is (``r.csv, row 7``), found by a pass over the file.
    origin: Callable[[str], str]
    #: The tariff's inputs the register has a column for.
    present: tuple[str, ...] = ()
    #: The physical row of each record, by a pass over the file (for tests and messages).
    record_rows: Callable[[], list[int]] = list
    #: Every number fits 64 bits once scaled: the table's numbers are ``BIGINT``.
    narrow: bool = False
    #: The inputs every record has a value of (each cell in its clean form): the plan
    #: never tests them for emptiness.
    complete: tuple[str, ...] = ()
    #: Where every name cell is in its clean form: (``_raw``, its column), the names as
    #: the plan reads them; else None.
    names: tuple[str, str] | None = None
    #: Every id and name is in its clean form (``CLEAN_TEXT``): written as it is.
    plain_texts: bool = False


@attrs.frozen
class _Header:
    skip: int  # physical lines before the first record
    header_row: int
    delimiter: str
    columns: list[str]


def load(
    con: Any,
    path: str | Path,
    tariff: ast.Tariff | Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    texts: bool = False,
) -> Loaded:
    """Read, check and type the register at ``path`` in DuckDB (see the module's docstring).
    Raises :class:`RegisterError` with the reader's problems, or
    :class:`~takst.interpreter.batch.NeedsReader`. ``tariff``: the tariff (its customer
    types, categories and charges are checked too), or only the inputs, as the reader takes
    them."""
    path = Path(path)
    name = display if display is not None else str(path)
    full: ast.Tariff | None
    if isinstance(tariff, ast.Tariff):
        inputs, full = {i.name: i for i in tariff.inputs}, tariff
    else:
        inputs, full = dict(tariff), None
    delim_char = reader._option(delimiter, reader.DELIMITERS, "delimiter")
    mark_option = reader._option(decimal, reader.DECIMAL_MARKS, "decimal")
    needed = [*reader.REQUIRED, *(n for n, d in inputs.items() if not d.optional)]
    duck = _duckdb()
    parquet: str | None = None
    if path.suffix.lower() == ".parquet":
        columns, parquet = _parquet_text(con, path, name, inputs)
        header: _Header | None = None
        width = len(columns)
    else:
        header = _header(path, name, needed, delim_char)
        columns = header.columns
        width = len(columns)
    index: dict[str, int] = {}
    for i, c in enumerate(columns):
        if c in index and c:
            raise NeedsReader(f"column {c} appears twice")
        index.setdefault(c, i)
    sym = Symbols(full) if full is not None else None
    cats = sym.categories.get("customer_type") if sym is not None else None
    types = [i.name for i in cats.items] if cats is not None else None
    # each cell's clean form is found as the file is read, once for every later query
    flags = sql.load_flags(
        [sql.Column(n, index[n], d.type.kind, d.optional)
         for n, d in inputs.items() if n in index],
        id_position=index.get("id", 0), name_position=index.get("name", 0),
        type_position=index.get("customer_type"), types=types) \
        if "id" in index and "name" in index else sql.Flags(())
    if parquet is not None:
        try:
            sql.load_rows(con, parquet, flags)
        except duck.Error as err:
            raise RegisterError(diagnostic(
                f"cannot read {name} as Parquet: {str(err).splitlines()[0]}", where=name,
                hint="give a Parquet file, or a CSV register")) from None
    quotes: Beside[None] | None = None
    if header is not None:
        # the file's quotes are looked at beside DuckDB's read (which lets this thread run)
        quotes = Beside(_quotes_agree, path, header)
        try:
            sql.load_text(con, sql.csv_source(
                str(path), delimiter=header.delimiter, skip=header.skip, width=width), width,
                flags)
        except duck.Error as err:
            quotes.wait()  # DuckDB's refusal is the one told
            raise NeedsReader(f"DuckDB cannot read it as strict CSV: {err}") from None
    where = f"{name}, row {header.header_row}" if header else name
    missing = [c for c in needed if c not in index]
    if missing:
        raise RegisterError([_missing(c, columns, where) for c in missing])
    (count,) = con.execute("SELECT count(*) FROM _raw").fetchone()
    if count == 0:
        raise RegisterError(diagnostic(
            f"register {name} has no customers",
            where=f"{name}, row {header.header_row + 1}" if header else name,
            hint="add one row per customer below the header"))

    present = [sql.Column(n, index[n], d.type.kind, d.optional)
               for n, d in inputs.items() if n in index]
    numeric = [c.position for c in present if c.kind in sql.NUMERIC]
    unsure = False
    if header is None:
        mark = "."
    elif mark_option is not None:
        mark = mark_option
    else:
        seen = sql.mark_evidence(con, numeric, flagged=True, points=[
            c.position for c in present if c.kind in ("number", "money")])
        if seen.foreign:
            raise NeedsReader("a number with characters that are not ASCII, or a tab")
        if seen.comma != seen.point:
            mark = "," if seen.comma else "."
        else:
            mark = "."
            unsure = seen.two_ways or (seen.comma and seen.point)

    others = {index[c.name]: [i.name for i in c.items] for c in sym.categories.values()
              if c.name != "customer_type" and c.name in index
              and c.name in inputs} if sym is not None else {}
    id_pos, name_pos = index["id"], index["name"]
    type_pos, services_pos = index.get("customer_type"), index.get("services")
    # what the sieve checks: ``conditions`` hold for a record whose cells are in their
    # clean form (their flags), ``unguarded`` need not; where there are none of those and
    # every cell is clean, no record can be held back (held_back then skips the sieve)
    conditions = [f"(CASE WHEN {sql.flag(id_pos)} THEN TRUE ELSE "
                  f"{sql._space_trimmed(sql.cell(id_pos))} <> '' END)",
                  sql.text_ok(id_pos, normal=True), sql.text_ok(name_pos, normal=True)]
    unguarded: list[str] = []
    if type_pos is not None:
        conditions.append(sql.text_ok(type_pos, normal=False))
    if services_pos is not None:
        unguarded.append(f"NOT regexp_matches(COALESCE({sql.cell(services_pos)}, ''), "
                         f"'[{sql.WHITESPACE.replace(' ', '')}]')")
    for column in present:  # a number of an unclear mark is checked, clean or not
        (unguarded if unsure and column.kind in sql.NUMERIC else conditions).append(
            sql.accepted(column, mark, unsure=unsure))
    known_type = sql.type_condition(types, type_pos)
    if known_type is not None:
        (conditions if type_pos is not None else unguarded).append(known_type)
    unguarded += sql.category_conditions(
        others, [c.name for c in full.charges] if full is not None else [],
        services_pos if full is not None else None)
    if quotes is not None:
        quotes.result()
    # a cell with a line break (a record of more than one line) is held back: the reader
    # words it, and numbers its rows by the file's lines. A cell in its clean form (its
    # flag) has none: only the others are searched.
    flagged = {id_pos, name_pos, *(() if type_pos is None else (type_pos,)),
               *(c.position for c in present)}
    breaks = []
    for i in range(width):
        b = (f"contains(COALESCE({sql.cell(i)}, ''), chr(10)) OR "
             f"contains(COALESCE({sql.cell(i)}, ''), chr(13))")
        breaks.append(f"(CASE WHEN {sql.flag(i)} THEN FALSE ELSE {b} END)" if i in flagged
                      else f"({b})")
    (conditions if len(flagged) == width else unguarded).append(f"NOT ({' OR '.join(breaks)})")
    scales = sql.scales_of(con, present, mark)
    if full is not None:
        scales = dict(Compiler(full, 2000, Constants(), scales).scales)
    # 64-bit integers where every number fits once scaled (the plan then runs in them
    # first: BatchRun.write); a TRY_CAST that did not fit would be NULL, so it is measured
    digits = sql.widest(con, present)
    narrow = all(digits.get(c.name, 0) + scales.get(c.name, 0) <= NARROW_DIGITS
                 for c in present if c.kind in sql.NUMERIC)
    wide = "BIGINT" if narrow else "HUGEINT"
    absent = {n: SQL_TYPES.get(d.type.kind, wide) for n, d in inputs.items()
              if n not in index}
    def view(conditions: Sequence[str] = (), everywhere: frozenset[int] = frozenset()) -> str:
        return sql.typed(con, present, absent, mark, scales, id_position=id_pos,
                         name_position=name_pos, type_position=type_pos,
                         services_position=services_pos, conditions=conditions, texts=texts,
                         narrow=narrow, everywhere=everywhere)

    made: list[str] = []

    def sieve() -> str:  # the view with the sieve's conditions, made where it is read
        if not made:
            made.append(view(conditions=[*conditions, *unguarded]))
        return made[0]

    try:
        held, twice, clean = sql.held_back(con, id_pos, sorted(flagged), skip=not unguarded,
                                           view=sieve)
    except duck.Error as err:  # pragma: no cover - a query the sieve should not make
        raise NeedsReader(str(err)) from None
    if held or twice or unsure:
        _report(con, path, name, full, inputs, header, columns, index, mark_option,
                held, twice, unsure, needed)
    # no record is held back; the cells clean in every record are read as they are, with no
    # test of their flags per record
    table = view(everywhere=frozenset(clean)) if clean else sieve()
    return Loaded(table, scales, int(count),
                  None if header is None else reader._DELIMITER_NAMES[header.delimiter],
                  reader._MARK_NAMES[mark],
                  _origins(path, name, inputs, header, mark_option),
                  tuple(c.name for c in present),
                  lambda: [row for row, _, _ in _records(path, name, inputs, header,
                                                         mark_option, con, width)],
                  narrow,
                  tuple(c.name for c in present if c.position in clean),
                  ("_raw", sql.cell(name_pos)) if name_pos in clean else None,
                  id_pos in clean and name_pos in clean)


def _missing(col: str, columns: Sequence[str], where: str) -> Diagnostic:
    """The reader's words for a column the register lacks."""
    what = ("every register has it" if col in reader.REQUIRED
            else "the tariff has an input of that name")
    return diagnostic(
        f"the register has no column {col} ({what})", where=where,
        hint="the columns are: " + ", ".join(reader._shown(c) for c in columns if c)
        + f"; add a column named {col}")


def _header(path: Path, name: str, needed: Sequence[str], delim_char: str | None) -> _Header:
    """The dialect from the head of the file, with the reader's functions."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
            more = bool(fh.read(1))
    except OSError as err:
        raise reader._open_error(err, name) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise NeedsReader("UTF-16 or NUL bytes")
    head = head.removeprefix(b"\xef\xbb\xbf")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if not more or err.start < len(head) - 4:
            raise NeedsReader("not UTF-8") from None
        text = head[: err.start].decode("utf-8")
    if more and text.endswith("\r"):  # a CRLF cut by the head
        text = text[:-1]
    if len({m.group() for m in _LINE.finditer(text)}) > 1:
        raise NeedsReader("line ends of more than one kind")
    lines = _LINE.split(text)
    if len(lines) < 2 and more:
        raise NeedsReader("a header longer than the head of the file")
    first, skip = lines[0], 0
    sep = reader._SEP_LINE.match(first)
    if sep:
        if sep.group(1) not in reader._DELIMITER_NAMES and delim_char is None:
            raise NeedsReader("an unknown sep= line")
        delim_char = delim_char or sep.group(1)
        skip = 1
    offset = skip
    complete = len(lines) - (1 if more else 0)  # the last line of the head may go on
    while skip < complete and not lines[skip].strip():
        skip += 1  # blank lines before the header: skipped, counted
    if skip >= complete:
        if more:
            raise NeedsReader("no header in the head of the file")
        raise RegisterError(diagnostic(
            f"register {name} is empty", where=f"{name}, row {offset + 1}",
            hint="the first line names the columns, e.g. id,name,population"))
    line = lines[skip]
    if '"' in line:
        raise NeedsReader("a quoted header")
    header_row = skip + 1
    if delim_char is None:
        delim_char = reader._choose_delimiter(line, needed, f"{name}, row {header_row}")
    columns = reader._split(line, delim_char)
    return _Header(skip + 1, header_row, delim_char, columns)


def _quotes_agree(path: Path, header: _Header) -> None:
    """Raise :class:`NeedsReader` when a double quote follows a space (or a tab, unless tabs
    delimit): Python's CSV reader keeps such a quote as text, DuckDB's reads a quoted cell
    (and trims the space), so they would read different text. The bytes are searched a
    megabyte at a time, and only a chunk with a quote in it is looked at closely."""
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if b'"' in chunk:
                both = last + chunk
                if b' "' in both or (header.delimiter != "\t" and b'\t"' in both):
                    raise NeedsReader("a double quote after a space or a tab")
            last = chunk[-1:]


def _parquet_text(con: Any, path: Path, name: str,
                  inputs: Mapping[str, ast.InputDecl]) -> tuple[list[str], str]:
    """A Parquet file's column names, and the query of its every column cast to text, in
    the file's order (:func:`~takst.interpreter.batch.columnar.load_rows` loads ``_raw``)."""
    duck = _duckdb()
    if not path.exists():
        raise reader._open_error(FileNotFoundError(), name)
    p = str(path).replace("'", "''")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{p}')").fetchall()
    except duck.Error as err:
        raise RegisterError(diagnostic(
            f"cannot read {name} as Parquet: {str(err).splitlines()[0]}", where=name,
            hint="give a Parquet file, or a CSV register")) from None
    columns = [d[0] for d in described]
    floats = [d[0] for d in described if d[0] in inputs and d[1] in ("FLOAT", "DOUBLE")]
    if floats:
        raise RegisterError([diagnostic(
            f"column {f} holds floating-point numbers, which are not exact",
            where=f"{name}, column {f}",
            hint="write the column as DECIMAL or as text") for f in floats])
    cells = ", ".join(
        f"NULLIF(CAST({quote(c)} AS VARCHAR), '') AS {sql.cell(i)}"
        for i, c in enumerate(columns))
    return columns, f"(SELECT {cells} FROM read_parquet('{p}') ORDER BY file_row_number)"


# ------------------------------------------------------------------ the held rows


def _records(path: Path, name: str, inputs: Mapping[str, ast.InputDecl],
             header: _Header | None, mark_option: str | None, con: Any,
             width: int) -> Iterator[tuple[int, list[str], bool]]:
    """Every record as the reader sees it: physical row, fields, whether it spans lines.
    A Parquet file's records are its rows (``row 1`` is the first), read back from DuckDB."""
    if header is None:  # the cells, not their flags
        cells = ", ".join(sql.cell(i) for i in range(width))
        cur = con.execute(f"SELECT {cells} FROM _raw ORDER BY rowid")
        k = 0
        while True:
            batch = cur.fetchmany(4096)
            if not batch:
                return
            for cells in batch:
                k += 1
                yield k, ["" if v is None else v for v in cells], False
        return
    reg = reader.Register(reader._FileSource(path, name), inputs, name,
                          delimiter=reader._DELIMITER_NAMES[header.delimiter],
                          decimal=None if mark_option is None else reader._MARK_NAMES[mark_option])
    needed = [*reader.REQUIRED, *(n for n, d in inputs.items() if not d.optional)]
    with path.open("r", encoding="utf-8-sig", newline="") as stream:
        lines, offset, delim = reg._start(stream, needed)
        errors: list[Diagnostic] = []
        records = reader._records(lines, delim, offset, name, errors)
        next(records, None)  # the header
        for row, fields, multi in records:
            if len(fields) != width:
                fields = reader._fit(fields, width, header.columns)
            yield row, fields, multi
        if errors:
            raise NeedsReader("a record Python's CSV reader cannot read")


def _report(con: Any, path: Path, name: str, tariff: ast.Tariff | None,
            inputs: Mapping[str, ast.InputDecl], header: _Header | None, columns: list[str],
            index: Mapping[str, int], mark_option: str | None, held: Mapping[int, str],
            twice: Sequence[tuple[int, int]], unsure: bool, needed: Sequence[str]) -> None:
    """The problems of the rows the sieve held back, in the reader's words (raised), or
    :class:`NeedsReader` when the reader finds none."""
    width = len(columns)
    held_set = set(held)
    first_of = dict(twice)
    wanted = held_set | set(first_of) | set(first_of.values())
    delim_char = header.delimiter if header else ","
    delim_word = reader._DELIMITER_NAMES.get(delim_char, repr(delim_char))
    rows: dict[int, int] = {}
    fields_of: dict[int, tuple[list[str], bool]] = {}
    numeric = [(c, index[c]) for c, d in inputs.items()
               if d.type.kind in reader._NUMERIC_KINDS and c in index]
    showing: list[tuple[int, list[str]]] = []  # rows with a number that shows a mark
    k = -1
    for k, (row, fields, multi) in enumerate(
            _records(path, name, inputs, header, mark_option, con, width)):
        if k in wanted:
            rows[k] = row
            fields_of[k] = (fields, multi)
        if unsure and len(fields) == width and any(
                reader._classify(fields[i]) is not None for _, i in numeric):
            showing.append((row, fields))
    (count,) = con.execute("SELECT count(*) FROM _raw").fetchone()
    if k + 1 != count:
        raise NeedsReader("DuckDB and Python's CSV reader split the records differently")
    found: list[tuple[int, Diagnostic]] = []
    mark = mark_option or "."
    if unsure:
        mark, _, found = reader._decimal_mark(showing, numeric, name)
    readers = [(col, index[col], reader._cell_reader(decl, mark, unsure))
               for col, decl in inputs.items() if col in index]
    used = [c for c in (*reader.REQUIRED, *inputs, "customer_type", "services") if c in index]
    id_col, name_col = index["id"], index["name"]
    type_col, services_col = index.get("customer_type"), index.get("services")
    customers: list[Customer] = []
    for k in sorted(wanted):
        fields, multi = fields_of[k]
        row = rows[k]
        if k not in held_set and k not in first_of:
            continue  # only the first row of a repeated id
        if multi or len(fields) != width:
            problem = reader._shape_problem(fields, multi, width, delim_char, delim_word)
            if problem is not None:
                found.append((row, diagnostic(problem[0], where=f"{name}, row {row}",
                                              hint=problem[1])))
                continue
        if len(fields) != width:
            raise NeedsReader("a row of another width")
        bad = False
        broken: Sequence[str] = ()
        if multi:
            broken = [c for c in used if any(ch in fields[index[c]].strip() for ch in "\r\n")]
            for c in broken:
                bad = True
                found.append((row, diagnostic(
                    f"{c} has a line break in it", where=f"{name}, row {row}, column {c}",
                    hint="a cell holds one line: remove the line break, or the stray double "
                    "quote before it")))
        ident = reader.text_cell(fields[id_col])
        if k in held_set and ident != held[k]:
            # a repeated id is found in SQL: it must read this id as the reader does
            raise NeedsReader("an id the SQL and the reader normalise differently")
        name_text = reader.text_cell(fields[name_col])
        for c, text in (("id", ident), ("name", name_text)):
            if c in broken:
                continue
            hidden = reader.invisible(text)
            if hidden is not None:
                bad = True
                found.append((row, reader.invisible_problem(name, row, c, text, hidden)))
        if not ident:
            bad = True
            found.append((row, reader.empty_id_problem(name, row)))
        elif k in first_of:
            first_fields = fields_of[first_of[k]][0]
            if reader.text_cell(first_fields[id_col]) != ident:
                raise NeedsReader("ids the SQL and the reader normalise differently")
            bad = True
            found.append((row, diagnostic(
                f"id {reader._shown(ident)} is already used in row {rows[first_of[k]]}",
                where=f"{name}, row {row}, column id", hint="each customer has its own id")))
        values: dict[str, Value] = {}
        for c, i, read in readers:
            if multi and c in broken:
                continue
            try:
                value = read(fields[i])
            except reader.BadValue as err:
                bad = True
                found.append((row, diagnostic(
                    err.message, where=f"{name}, row {row}, column {c}", hint=err.hint)))
                continue
            except reader._Unsure:
                bad = True
                continue
            if value is not None:
                values[c] = value
        if bad:
            continue
        services = None
        if services_col is not None:
            services = frozenset(p.strip() for p in fields[services_col].split(";")
                                 if p.strip())
        customers.append(Customer(
            id=ident, name=name_text, values=values,
            customer_type=fields[type_col].strip() if type_col is not None else "",
            origin=f"{name}, row {row}", services=services))
    if found:
        raise RegisterError([d for _, d in sorted(found, key=lambda item: item[0])])
    problems = validate(tariff, customers) if tariff is not None else []
    if problems:
        raise RegisterError(problems)
    raise NeedsReader("rows the SQL holds back in which the reader finds no problem")


def _origins(path: Path, name: str, inputs: Mapping[str, ast.InputDecl],
             header: _Header | None, mark_option: str | None) -> Callable[[str], str]:
    """``r.csv, row 7`` for a customer's id, by a pass over the file (for a message)."""

    def origin(cid: str) -> str:
        width = len(header.columns) if header else 0
        if header is None:
            return f"{name}, customer {cid}"
        id_col = header.columns.index("id")
        for row, fields, _ in _records(path, name, inputs, header, mark_option, None, width):
            if len(fields) > id_col and reader.text_cell(fields[id_col]) == cid:
                return f"{name}, row {row}"
        return f"{name}, customer {cid}"

    return origin


# ------------------------------------------------------------------ the session's batch run


class BatchEngine:
    """A register billed in DuckDB, as the session's engine: ``evaluate`` streams the
    results of the compiled plan (the customers it is given are not read: they are in
    DuckDB). ``run`` writes CSV and Parquet itself (:meth:`write_csv`, :meth:`write_parquet`)."""

    name = "batch"

    def __init__(self, run: Any, tariff: ast.Tariff, loaded: Loaded) -> None:
        self.run = run
        self.tariff = tariff
        self.loaded = loaded
        sym = Symbols(tariff)
        kinds = {i.name: i.type.kind for i in tariff.inputs}
        self.inputs = [(n, kinds[n]) for n in sym.inputs() if n in loaded.present]

    def prepare(self, customers: Any, year: int, **_: Any) -> Any:
        return self.run.context

    def evaluate(self, customers: Any, year: int, context: Any, *,
                 trace: bool = False) -> Iterator[Any]:
        if trace:
            raise ValueError("traces come from the interpreter")
        results: Iterator[Any] = self.run.results(self.inputs)
        return results

    def lookalikes(self) -> list[Diagnostic]:
        """The look-alike name warnings of the register (see ``Lookalikes``), found over
        its distinct names in SQL and Python, with the rows of the customers named."""
        found = reader.Lookalikes(self.tariff)
        if not found.active:
            return []
        con, table = self.run.con, self.run.table
        # the names as the plan reads them: the name cells themselves where every one is
        # in its clean form (read from ``_raw``, with no view between: a third faster)
        source, name = self.loaded.names or (table, "name")
        exact = list(found.exact)
        ends = found.last_characters()
        where = f"NOT list_contains(?, {name})"
        if ends is not None:
            # as Lookalikes.may_match, by the last character only (a wider sieve; Python
            # then decides, over the few distinct names left): one that is not an ASCII
            # letter or digit, or is the last of an entry's loose form, in either case;
            # tested first (most names end otherwise), the list only for the others
            last = "".join(f"\\x{{{ord(c):x}}}" for c in sorted(
                {c for e in ends if e.isascii() and e.isalnum()
                 for c in (e.lower(), e.upper())}))
            pattern = "[^A-Za-z0-9]" + (f"|[{last}]" if last else "")
            where = (f"CASE WHEN regexp_matches({name}, '(?:{pattern})$') THEN {where} "
                     "ELSE FALSE END")
        names = [n for (n,) in con.execute(
            f"SELECT DISTINCT {name} FROM {source} WHERE {where}", [exact]).fetchall()]
        close = [n for n in names if reader.loose(n) in found.loose_entries]
        if not close:
            return []
        who = con.execute(f"SELECT id, name FROM {table} WHERE list_contains(?, name) "
                          "ORDER BY _row", [close]).fetchall()
        warnings: list[Diagnostic] = []
        for cid, cname in who:
            c = Customer(id=cid, name=cname, values={}, origin=self.loaded.origin(cid))
            warnings.extend(found.check(c))
        return warnings

    def write_csv(self, out: Any) -> None:
        """The results as ``takst eval --format csv`` writes them, byte for byte: written by
        DuckDB to a temporary file, then copied to ``out``."""
        import os
        import shutil
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix="takst-batch-", suffix=".csv")
        os.close(fd)
        try:
            self.run.write(tmp, "csv")
            with open(tmp, encoding="utf-8", newline="") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
        finally:
            os.unlink(tmp)

    def write_csv_file(self, path: str) -> None:
        """The results as ``takst eval --format csv`` writes them, written by DuckDB to
        ``path`` (which it replaces)."""
        self.run.write(path, "csv")

    def write_parquet(self, path: str | Path) -> None:
        """The results as Parquet (``DECIMAL(38, s)`` columns), replacing ``path`` whole."""
        write_parquet_atomic(path, lambda tmp: self.run.write(tmp, "parquet"))


def write_parquet_atomic(path: str | Path, write: Callable[[str], None]) -> None:
    """``write(temporary path)``, then the temporary file renamed over ``path``: never a
    half-written file (the temporary is removed when writing fails)."""
    import contextlib
    import os

    from takst.render.report import output_error, output_target

    target = output_target(path)
    tmp = target.with_name(f".{target.name}.takst-{os.getpid()}.tmp")
    try:
        write(str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        raise output_error(path, err) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def batch_engine(
    tariff: ast.Tariff,
    register: str,
    year: int,
    settings_of: Callable[[], Mapping[str, Value]],
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> BatchEngine:
    """The register checked and billed in DuckDB: raises :class:`RegisterError` (the
    reader's words), :class:`NeedsReader` (read it with the reader), ``FallsBack``."""
    from takst.interpreter.batch.duckdb_engine import bounded, run_table

    con = bounded()
    loaded = load(con, register, tariff, delimiter=delimiter, decimal=decimal, texts=True)
    settings = settings_of()  # after the register: its problems are told first
    run = run_table(tariff, con, loaded.table, year, loaded.scales, settings=settings,
                    register=register, origins=loaded.origin, narrow=loaded.narrow,
                    complete=loaded.complete, plain_texts=loaded.plain_texts)
    return BatchEngine(run, tariff, loaded)


def customers(con: Any, loaded: Loaded, name: str,
              inputs: Mapping[str, ast.InputDecl]) -> list[Customer]:
    """The customers of a register loaded with ``texts=True``, as the reader gives them
    (``origin`` found by a pass over the file): what the tests compare with the reader."""
    rows = loaded.record_rows()
    picks = []
    for n in loaded.present:
        kind = inputs[n].type.kind
        picks.append(quote("_t_" + n) if kind in sql.NUMERIC else col(n))
    query = ("SELECT _row, id, name, customer_type, services"
             + "".join(f", {p}" for p in picks) + f" FROM {loaded.table} ORDER BY _row")
    out = []
    for rec, cid, cname, ctype, services, *cells in con.execute(query).fetchall():
        values: dict[str, Value] = {}
        for n, v in zip(loaded.present, cells, strict=True):
            if v is None:
                continue
            values[n] = Decimal(v) if inputs[n].type.kind in sql.NUMERIC else v
        out.append(Customer(id=cid, name=cname, values=values, customer_type=ctype,
                            origin=f"{name}, row {rows[rec]}",
                            services=None if services is None else frozenset(services)))
    return out
