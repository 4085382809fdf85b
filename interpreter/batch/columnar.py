"""Columnar register checks: a register's cells read as text in DuckDB, checked there.

This module only builds and runs SQL. What a register's dialect is (delimiter, ``sep=``
line, decimal mark), which cells are acceptable and how a problem is worded belong to the
register reader (``src/takst/io/register.py``); ``src/takst/io/columnar.py`` finds the
dialect from the head of the file with the reader's own functions and passes it in here.

The checks are a *sieve*: a row the sieve lets through is one the reader reads, to the same
values; a row it holds back is looked at by the reader's own per-row checks in Python
(which word its problems). The sieve may hold back more than the reader refuses (a number
in another script's digits, a whitespace character the SQL does not trim): such a row has
no problem in the reader's words, and the caller then reads the whole file with the reader.

Tables made here (temporary, per connection):

* ``_raw``: ``c0 .. cN`` (VARCHAR, NULL for an empty cell), one row per non-blank record,
  in the file's order (``rowid`` is the record's index, from 0; filled :func:`in_order`);
  for a CSV file also each used cell's :func:`clean` flag (``_k0 ..``), found as the file
  is read, so that the checks and the typing that follow read it instead of finding it;
* ``_register``: the typed table the compiled plan reads (``_row``, ``id``, ``name``,
  ``customer_type``, ``services``, ``i_<input>``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import attrs

from takst.interpreter.batch.compiler import col, quote, text_lit

#: The characters Python's ``str.strip()`` removes (``str.isspace``), as an RE2 class body.
WHITESPACE = (r"\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
              r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}")
#: Characters the reader may refuse in an id or a name (control, format, line and paragraph
#: separators), or that DuckDB's Unicode tables may see differently from Python's
#: (private use, surrogates, unassigned): a superset of the reader's ``invisible``.
ODD_TEXT = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}]|[^\p{L}\p{M}\p{N}\p{P}\p{S}\p{Z}]"
#: A name or an id in its common form, which needs no trimming, no NFC and has no invisible
#: character: printable ASCII and the precomposed Latin letters (U+00A1 to U+024F but the
#: soft hyphen), a character other than a space at each end, and first none of ``= + - @ '``
#: (with which a spreadsheet reads a cell as a formula: such a text is written with a
#: leading ``'``, so a register whose every id and name is clean is written as it is).
CLEAN_TEXT = (r"[!-&(-*,.-<>?A-~\x{a1}-\x{ac}\x{ae}-\x{24f}]"
              r"([ -~\x{a0}-\x{ac}\x{ae}-\x{24f}]*[!-~\x{a1}-\x{ac}\x{ae}-\x{24f}])?")
TRUE_WORDS = ("true", "yes", "ja", "1", "sand", "sann", "sant")
FALSE_WORDS = ("false", "no", "nej", "nei", "0", "falsk", "usann", "falskt")
MAX_DIGITS = 30
NUMERIC = ("inhabitants", "count", "number", "money")


@attrs.frozen
class Column:
    """An input's column: where it is in the record, what it holds."""

    name: str
    position: int
    kind: str  # an InputType kind: inhabitants, count, number, money, yes/no, date, text
    optional: bool


def cell(position: int) -> str:
    return f"c{position}"


def csv_source(path: str, *, delimiter: str, skip: int, width: int) -> str:
    """``read_csv`` of every cell as text: no detection, RFC 4180 quotes, strict widths."""
    p = path.replace("'", "''")
    d = delimiter.replace("'", "''")
    spec = ", ".join(f"'{cell(i)}': 'VARCHAR'" for i in range(width))
    return (f"read_csv('{p}', delim='{d}', quote='\"', escape='\"', header=false, "
            f"skip={skip}, columns={{{spec}}}, auto_detect=false, strict_mode=true, "
            "null_padding=false)")


@attrs.frozen
class Flags:
    """The clean flags of a register's cells as :func:`load_text` finds them while the file
    is read: ``inner`` over the cells, ``outer`` over those and :data:`TEXTS_FLAG`."""

    inner: tuple[str, ...]
    outer: tuple[str, ...] = ()


#: The column that holds whether every text cell of the record (id, name, customer type)
#: is clean, found by one regular expression over them all (one call costs more than its
#: matching): a text's own flag is then looked for only in the records where it is false.
TEXTS_FLAG = "_kt"


def load_flags(columns: Sequence[Column], *, id_position: int, name_position: int,
               type_position: int | None, types: Sequence[str] | None = None) -> Flags:
    """:func:`flag_columns`, with the flags of the text cells (id, name, customer type) and
    of the inputs found at once (:data:`TEXTS_FLAG`), for :func:`load_text`: the same
    flags, cheaper to find."""
    texts_at = _texts_at(id_position, name_position, type_position, types)
    beside = {*texts_at, type_position}
    inputs = [c for c in columns if c.position not in beside]
    joined = [*((p, CLEAN_TEXT, None) for p in texts_at),
              *((c.position, *_clean_form(c)) for c in inputs)]
    own = {**{p: _clean_text(p) for p in texts_at}, **{c.position: clean(c) for c in inputs}}
    rest = [*_type_flags(type_position, types), *_point_flags(columns, beside)]
    if len(joined) < 2:
        return Flags((*(f"{own[p]} AS {flag(p)}" for p, _, _ in joined), *rest))
    # the separator (U+001F) is in no clean form: the one match splits where the cells do
    cells = ", chr(31), ".join(cell(p) for p, _, _ in joined)
    pattern = r"\x{1f}".join(form for _, form, _ in joined)
    inner = (f"regexp_full_match(concat({cells}), '{pattern}') AS {TEXTS_FLAG}", *rest)
    outer = tuple(f"CASE WHEN {TEXTS_FLAG} THEN {also or 'TRUE'} ELSE {own[p]} END AS {flag(p)}"
                  for p, _, also in joined)
    return Flags(inner, outer)


def load_text(con: Any, source: str, width: int, flags: Sequence[str] | Flags = ()) -> int:
    """``_raw`` from ``source`` without the blank records (every cell empty or spaces, which
    the reader skips); returns how many records it has. ``flags``: each cell's :func:`clean`
    as :func:`flag_columns` or :func:`load_flags` gives them, computed here once
    (:func:`typed` reads them)."""
    blank = " AND ".join(f"{_space_trimmed(cell(i))} = ''" for i in range(width))
    # a record whose first cell starts with something else than a space is not blank: the
    # trims are made only for the others
    first = cell(0)
    blank = (f"CASE WHEN {first} IS NOT NULL AND {first} <> '' AND NOT starts_with({first}, ' ') "
             f"THEN FALSE ELSE ({blank}) END")
    # ``_raw``'s rowid is the record's place in the file: it is filled in the file's order
    load_rows(con, f"(SELECT * FROM {source} WHERE NOT ({blank}))",
              flags if isinstance(flags, Flags) else Flags(tuple(flags)))
    (n,) = con.execute("SELECT count(*) FROM _raw").fetchone()
    return int(n)


def load_rows(con: Any, source: str, flags: Flags) -> None:
    """``_raw`` from ``source``, every record of it in its order (a Parquet file's rows:
    none is skipped), with each cell's :func:`clean` flag (:func:`load_flags`), computed
    here once (:func:`typed` reads them)."""
    query = f"SELECT *{''.join(', ' + f for f in flags.inner)} FROM {source}"
    if flags.outer:
        query = f"SELECT * EXCLUDE ({TEXTS_FLAG}), {', '.join(flags.outer)} FROM ({query})"
    with in_order(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS {query}")


@contextlib.contextmanager
def in_order(con: Any) -> Iterator[None]:
    """A statement that must keep its source's order (a table filled from a file, results
    written without a sort): DuckDB keeps it through selections and projections of one
    table, but rewrites a long ``IN`` list into a join, which does not (duckdb/duckdb#24398),
    so that rewrite is off meanwhile (the list is then tested row by row). The setting is
    the database's, not the connection's: such statements of the process's threads take
    turns (a lock), so that none is planned while another puts the setting back."""
    with _ORDER:
        (before,) = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
        off = ",".join(x for x in [*str(before or "").split(","), "in_clause"] if x.strip())
        con.execute(f"SET disabled_optimizers = {text_lit(off)}")
        try:
            yield
        finally:
            con.execute(f"SET disabled_optimizers = {text_lit(str(before or ''))}")


_ORDER = threading.RLock()


def stripped(c: str) -> str:
    """A cell as Python's ``strip()`` leaves it (NULL as '')."""
    return (f"regexp_replace(COALESCE({c}, ''), '^[{WHITESPACE}]+|[{WHITESPACE}]+$', '', 'g')")


def _space_trimmed(c: str) -> str:
    # DuckDB's trim() alone also trims some Unicode spaces, not tabs: spaces only, said
    return f"trim(COALESCE({c}, ''), ' ')"


#: The same characters but the space, as text (for ``contains``).
_WS_CHARS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200b)))
             + "\u2028\u2029\u202f\u205f\u3000")


def _ascii(c: str) -> str:
    """True when a cell is ASCII (as many bytes as characters: no regular expression)."""
    return f"strlen(COALESCE({c}, '')) = length(COALESCE({c}, ''))"


def _bad_ends(c: str) -> str:
    """Whitespace at the ends of a cell, once its spaces are trimmed (the SQL trims spaces
    only; Python's ``strip`` more): the first and last characters looked up, no regex."""
    t = _space_trimmed(c)
    ws = text_lit(_WS_CHARS)
    return (f"({t} <> '' AND (contains({ws}, left({t}, 1)) OR contains({ws}, right({t}, 1))))")


def number_patterns(mark: str) -> tuple[str, str]:
    """The reader's plain and grouped numbers for a decimal mark, in ASCII digits."""
    if mark == ".":
        return r"^[0-9]+(\.[0-9]+)?$", r"^[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]+)?$"
    return r"^[0-9]+(,[0-9]+)?$", r"^[1-9][0-9]{0,2}(\.[0-9]{3})+(,[0-9]+)?$"


def number_text(c: str, mark: str) -> str:
    """A number cell (space-trimmed, accepted) as decimal text with a point: ``1234.50``."""
    t = _space_trimmed(c)
    if mark == ".":
        return f"replace({t}, ',', '')"
    return f"replace(replace({t}, '.', ''), ',', '.')"


def _clean_form(column: Column) -> tuple[str, str | None]:
    """A cell's common form (:func:`clean`) as a regular expression over the cell, and what
    else it must be (SQL, or None): a date also in the calendar."""
    c = cell(column.position)
    kind = column.kind
    if kind in NUMERIC:
        return f"[0-9]{{1,{MAX_DIGITS}}}", None
    if kind == "yes/no":
        return "(" + "|".join(_yes_no_words()) + ")", None
    if kind == "date":
        return ("[0-9]{4}-[0-9]{2}-[0-9]{2}",
                f"try_cast({c} AS DATE) IS NOT NULL AND NOT starts_with({c}, '0000')")
    return CLEAN_TEXT, None


def _yes_no_words() -> list[str]:
    """The reader's yes/no words, the usual ones first."""
    return list(dict.fromkeys(("true", "false", *TRUE_WORDS, *FALSE_WORDS)))


def clean(column: Column) -> str:
    """SQL true for a cell in its common form (digits, an ISO date, a yes/no word as the
    reader lists it, a clean text), read as it is: NULL or false for any other."""
    c = cell(column.position)
    if column.kind == "yes/no":  # the usual words first: an OR chain stops at the first met
        return f"{c} IN ({', '.join(text_lit(w) for w in _yes_no_words())})"
    form, also = _clean_form(column)
    match = f"regexp_full_match({c}, '{form}')"
    return f"({match} AND {also})" if also else match


def flag_columns(columns: Sequence[Column], *, id_position: int, name_position: int,
                 type_position: int | None, types: Sequence[str] | None = None) -> list[str]:
    """The :func:`clean` of the id, the name, the customer type and each input's cell, as
    the columns :func:`flag` names (``... AS _k3``). ``types``: the tariff's customer
    types, when it has some: the customer type's flag is then that the cell is one of them
    as it is (a type's name is a clean text), which :func:`type_condition` reads."""
    texts_at = _texts_at(id_position, name_position, type_position, types)
    return [*(_text_flag(p) for p in texts_at),
            *_cell_flags(columns, type_position, types, texts_at)]


def _texts_at(id_position: int, name_position: int, type_position: int | None,
              types: Sequence[str] | None) -> list[int]:
    """The cells whose flag is a clean text: the id, the name, and the customer type when
    the tariff names no types."""
    return [id_position, name_position,
            *([type_position] if type_position is not None and types is None else [])]


def _clean_text(position: int) -> str:
    return clean(Column("", position, "text", False))


def _text_flag(position: int) -> str:
    return f"{_clean_text(position)} AS {flag(position)}"


def _cell_flags(columns: Sequence[Column], type_position: int | None,
                types: Sequence[str] | None, texts_at: Sequence[int]) -> list[str]:
    """The flags of :func:`flag_columns` but the clean texts': the customer type's among
    ``types``, each input's :func:`clean` and the numbers' :func:`pointed`."""
    beside = {*texts_at, type_position}
    return [*_type_flags(type_position, types),
            *(f"{clean(c)} AS {flag(c.position)}" for c in columns if c.position not in beside),
            *_point_flags(columns, beside)]


def _type_flags(type_position: int | None, types: Sequence[str] | None) -> list[str]:
    """The customer type's flag where the tariff names its types: one of them, as it is."""
    if type_position is None or types is None:
        return []
    allowed = ", ".join(text_lit(t) for t in types) or "NULL"
    return [f"{cell(type_position)} IN ({allowed}) AS {flag(type_position)}"]


def _point_flags(columns: Sequence[Column], beside: Collection[int | None]) -> list[str]:
    return [f"{pointed(c)} AS {point_flag(c.position)}" for c in columns
            if c.kind in ("number", "money") and c.position not in beside]


def pointed(column: Column) -> str:
    """SQL true for a number cell written as plain digits, a decimal point and plain digits
    (``1234.56``), at most 30 digits, and not one that reads two ways (``1.234``): read as
    it is where the file's mark is the point. (For the other cells of a number column,
    and with a decimal comma, the full checks apply.)"""
    c = cell(column.position)
    return (f"(strlen({c}) <= {MAX_DIGITS + 1} AND regexp_full_match({c}, '[0-9]+[.][0-9]+') "
            f"AND NOT regexp_full_match({c}, '[1-9][0-9]{{0,2}}[.][0-9]{{3}}'))")


def point_flag(position: int) -> str:
    """The column of a number cell's :func:`pointed` (beside its :func:`flag`)."""
    return f"_p{position}"


def flag(position: int) -> str:
    """The column of :func:`typed`'s inner projection that holds a cell's :func:`clean`."""
    return f"_k{position}"


def accepted(column: Column, mark: str, *, unsure: bool = False) -> str:
    """SQL true when the reader reads this column's cell without a problem (to the value
    :func:`typed` gives): a sieve, never looser than the reader. Refers to the cell's
    :func:`flag` (its clean form), as :func:`typed` computes it."""
    c = cell(column.position)
    t = _space_trimmed(c)
    kind = column.kind
    fast = f"regexp_full_match({t}, '[0-9]{{1,{MAX_DIGITS}}}')"  # the common case, first
    if kind in ("inhabitants", "count"):
        ok = (f"(regexp_full_match({t}, '[0-9]+') AND length({t}) <= {MAX_DIGITS})")
        if mark == ".":  # 1,234 is 1234 in a file with a decimal point
            plain, grouped = number_patterns(".")
            ok = (f"(regexp_full_match({t}, '[0-9]+') OR regexp_full_match({t}, "
                  f"'{grouped[1:-1]}')) AND length({number_text(c, mark)}) <= {MAX_DIGITS}")
        else:
            plain, grouped = number_patterns(",")
            ok = (f"(regexp_full_match({t}, '[0-9]+') OR regexp_full_match({t}, "
                  f"'{grouped[1:-1]}')) AND length({number_text(c, mark)}) <= {MAX_DIGITS}")
        ok = f"({ok})"
    elif kind in ("number", "money"):
        plain, grouped = number_patterns(mark)
        digits = f"length(regexp_replace({t}, '[^0-9]', '', 'g'))"
        ok = (f"((regexp_full_match({t}, '{plain[1:-1]}') OR regexp_full_match({t}, "
              f"'{grouped[1:-1]}')) AND {digits} <= {MAX_DIGITS})")
    elif kind == "yes/no":
        words = ", ".join(text_lit(w) for w in (*TRUE_WORDS, *FALSE_WORDS))
        ok = f"({_ascii(c)} AND lower({t}) IN ({words}))"  # Python's lower() is not DuckDB's
    elif kind == "date":
        ok = (f"(regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND "
              f"try_cast({t} AS DATE) IS NOT NULL AND NOT starts_with({t}, '0000'))")
    else:
        ok = f"{t} <> ''"
    if kind in NUMERIC:
        ok = f"({fast} OR {ok})"
    if unsure and kind in NUMERIC:  # a cell that shows a mark cannot be read: held back
        ok = f"({ok} AND {classify(c)} IS NULL)"
    ok = f"({ok} AND NOT {_bad_ends(c)})"
    if column.optional:
        ok = f"({t} = '' AND NOT {_bad_ends(c)} OR {ok})"
    if unsure and kind in NUMERIC:
        return ok
    fast = flag(column.position)
    if kind in ("number", "money") and mark == ".":
        fast = f"{fast} OR {point_flag(column.position)}"
    # CASE, not OR: DuckDB evaluates a CASE's other branch only for the rows that need it
    return f"(CASE WHEN {fast} THEN TRUE ELSE {ok} END)"


def classify(c: str) -> str:
    """The reader's ``_classify`` of a cell in SQL: ``'.'``, ``','``, ``'?.'``, ``'?,'`` or
    NULL (ASCII digits only: a cell with other characters is held back by the caller)."""
    t = f"trim(ltrim(trim(COALESCE({c}, ''), ' '), '+-'), ' ')"
    return (
        f"CASE WHEN NOT (contains(COALESCE({c}, ''), '.') OR contains(COALESCE({c}, ''), ',')) "
        "THEN NULL "
        f"WHEN regexp_full_match({t}, '[0-9]+(\\.|,)[0-9]+') THEN "
        f"CASE WHEN regexp_full_match({t}, '[1-9][0-9]{{0,2}}[.,][0-9]{{3}}') "
        f"THEN '?' || regexp_extract({t}, '[.,]') ELSE regexp_extract({t}, '[.,]') END "
        f"WHEN regexp_full_match({t}, '[1-9][0-9]{{0,2}}(\\.[0-9]{{3}}){{2,}}') THEN ',' "
        f"WHEN regexp_full_match({t}, '[1-9][0-9]{{0,2}}(,[0-9]{{3}}){{2,}}') THEN '.' "
        f"WHEN regexp_full_match({t}, '[1-9][0-9]{{0,2}}(\\.[0-9]{{3}})+,[0-9]+') THEN ',' "
        f"WHEN regexp_full_match({t}, '[1-9][0-9]{{0,2}}(,[0-9]{{3}})+\\.[0-9]+') THEN '.' "
        "END")


@attrs.frozen
class Evidence:
    """What the numbers of a file show about its decimal mark."""

    comma: bool
    point: bool
    two_ways: bool
    foreign: bool  # a number cell with a character that is not ASCII: the reader decides


def mark_evidence(con: Any, positions: Sequence[int], *, flagged: bool = False,
                  points: Sequence[int] = ()) -> Evidence:
    """``flagged``: ``_raw`` has the cells' :func:`flag` columns, and for the number
    columns at ``points`` their :func:`point_flag`; when every number cell is plain digits
    or :func:`pointed`, the flags tell the evidence."""
    if not positions:
        return Evidence(False, False, False, False)
    if flagged:  # every number plain digits, or digits with a point that reads one way
        either = [f"COALESCE(bool_and({flag(p)}" + (f" OR {point_flag(p)}" if p in points
                                                     else "") + "), TRUE)" for p in positions]
        shown = [f"bool_or({point_flag(p)})" for p in positions if p in points]
        plain, point = con.execute(
            "SELECT " + " AND ".join(either) + ", " + (" OR ".join(shown) or "FALSE")
            + " FROM _raw").fetchone()
        if plain:
            return Evidence(False, bool(point), False, False)
    kinds = [classify(cell(p)) for p in positions]
    parts = []
    for want in (",", "."):
        parts.append("bool_or(" + " OR ".join(f"{k} = '{want}'" for k in kinds) + ")")
    parts.append("bool_or(" + " OR ".join(f"starts_with({k}, '?')" for k in kinds) + ")")
    # a character that is not ASCII, or a control character (a tab the reader strips): the
    # SQL's classification could differ from the reader's
    parts.append("bool_or(" + " OR ".join(
        f"NOT {_ascii(cell(p))} OR regexp_matches(COALESCE({cell(p)}, ''), '[\\x00-\\x1f]')"
        for p in positions) + ")")
    row = con.execute("SELECT " + ", ".join(parts) + " FROM _raw").fetchone()
    return Evidence(*(bool(x) for x in row))


def text_ok(position: int, *, normal: bool) -> str:
    """An id, name or customer type the SQL reads as the reader does: no odd character, no
    line break, whitespace at its ends only spaces; ``normal``: already in NFC."""
    c = cell(position)
    ascii_ok = f"NOT regexp_matches(COALESCE({c}, ''), '[\\x00-\\x1f\\x7f]')"
    other_ok = f"NOT regexp_matches(COALESCE({c}, ''), '{ODD_TEXT}')"
    if normal:
        other_ok += f" AND nfc_normalize(COALESCE({c}, '')) = COALESCE({c}, '')"
    ok = (f"(CASE WHEN {_ascii(c)} THEN {ascii_ok} ELSE {other_ok} END) "
          f"AND NOT {_bad_ends(c)}")
    return f"(CASE WHEN {flag(position)} OR {c} IS NULL THEN TRUE ELSE ({ok}) END)"


def normal_text(c: str) -> str:
    """An id or a name as the reader takes it (trimmed, NFC; NFC only where not ASCII)."""
    t = _space_trimmed(c)
    return f"CASE WHEN strlen({t}) = length({t}) THEN {t} ELSE nfc_normalize({t}) END"


def held_back(con: Any, id_flag: int, flags: Sequence[int] = (), skip: bool = False,
              view: Callable[[], object] = lambda: None,
              ) -> tuple[dict[int, str], list[tuple[int, int]], set[int]]:
    """The records the sieve holds back (their index, with the id as the SQL reads it), the
    repeated ids: (record, first record of its id) for every record whose id an earlier
    record has (``_register``), and which of ``flags`` (positions of flagged cells) are
    true in every record: those cells are in their clean form everywhere, never empty.

    ``id_flag``: the id's position (``_raw`` has its flag): where every id is in its clean
    form, it is its cell as it is, counted there. ``skip``: the sieve's every condition
    holds for a record whose ``flags`` are all true (nothing else can hold one back):
    where they are true in every record, the sieve itself is not run. ``view``: makes
    ``_register`` where it is not made already (called before each query that reads it)."""
    positions = sorted({id_flag, *flags})
    found = con.execute(
        f"SELECT count(*) - count(DISTINCT {cell(id_flag)})"
        + "".join(f", COALESCE(bool_and(COALESCE({flag(p)}, FALSE)), TRUE)" for p in positions)
        + " FROM _raw").fetchone()
    repeated = found[0]
    clean = {p for p, every in zip(positions, found[1:], strict=True) if every}
    held = 0
    if not (skip and flags and clean.issuperset(flags)):
        view()
        (held,) = con.execute("SELECT count(*) FILTER (WHERE _held) FROM _register").fetchone()
    if id_flag not in clean:  # some id is not as it is read: counted as the SQL reads it
        view()
        (repeated,) = con.execute(
            "SELECT count(*) - count(DISTINCT id) FROM _register").fetchone()
    rows = {int(r): i for r, i in con.execute(
        "SELECT _row, id FROM _register WHERE _held ORDER BY _row").fetchall()} if held else {}
    clean &= set(flags)
    if not repeated:
        return rows, [], clean
    view()
    twice = [(int(r), int(f)) for r, f in con.execute(
        "SELECT _row, first FROM (SELECT _row, id, min(_row) OVER (PARTITION BY id) AS first, "
        "count(*) OVER (PARTITION BY id) AS n FROM _register) "
        "WHERE n > 1 AND id <> '' AND _row <> first ORDER BY _row").fetchall()]
    return rows, twice, clean


def type_condition(types: Sequence[str] | None, type_position: int | None) -> str | None:
    """SQL true for a record whose customer type the tariff names (prepare's ``Validator``),
    or None when the tariff names none. It holds where the type's flag does."""
    if types is None:
        return None
    allowed = ", ".join(text_lit(t) for t in types)
    if type_position is None:
        return f"'' IN ({allowed})"
    # the flag (flag_columns with the types): one of them as it is
    return (f"(CASE WHEN {flag(type_position)} THEN TRUE ELSE "
            f"{_space_trimmed(cell(type_position))} IN ({allowed}) END)")


def category_conditions(others: Mapping[int, Sequence[str]], charges: Sequence[str],
                        services_position: int | None) -> list[str]:
    """SQL true for a record whose category values and services the tariff accepts
    (prepare's ``Validator``); no cell's flag covers them."""
    out = []
    for position, names in others.items():
        allowed = ", ".join(text_lit(n) for n in names)
        out.append(f"({_space_trimmed(cell(position))} IN ({allowed}) OR "
                   f"{_space_trimmed(cell(position))} = '')")
    if services_position is not None:
        names = ", ".join(text_lit(c) for c in charges) or "''"
        out.append(f"len(list_filter({_services(services_position)}, "
                   f"lambda x: x NOT IN ({names}))) = 0")
    return out


def _services(position: int) -> str:
    return (f"list_filter(list_transform(string_split(COALESCE({cell(position)}, ''), ';'), "
            "lambda x: trim(x, ' ')), lambda x: x <> '')")


def scales_of(con: Any, columns: Sequence[Column], mark: str) -> dict[str, int]:
    """The decimals of each number column (the most any of its cells has)."""
    out: dict[str, int] = {}
    for column in columns:
        if column.kind in ("number", "money"):
            t = number_text(cell(column.position), mark)
            (s,) = con.execute(
                f"SELECT max(CASE WHEN contains({t}, '.') THEN length(split_part({t}, '.', 2)) "
                "ELSE 0 END) FROM _raw").fetchone() or (0,)
            out[column.name] = int(s or 0)
        elif column.kind in ("inhabitants", "count"):
            out[column.name] = 0
    return out


def widest(con: Any, columns: Sequence[Column]) -> dict[str, int]:
    """The most bytes of any cell of each number column: at least as many as its digits
    (``strlen`` reads the length DuckDB keeps beside each text, no scan of it)."""
    numeric = [c for c in columns if c.kind in NUMERIC]
    if not numeric:
        return {}
    parts = [f"max(strlen({cell(c.position)}))" for c in numeric]
    row = con.execute("SELECT " + ", ".join(parts) + " FROM _raw").fetchone()
    return {c.name: int(n or 0) for c, n in zip(numeric, row, strict=True)}


def typed(con: Any, columns: Sequence[Column], absent: Mapping[str, str], mark: str,
          scales: Mapping[str, int], *, id_position: int, name_position: int,
          type_position: int | None, services_position: int | None,
          conditions: Sequence[str] = (), texts: bool = False, narrow: bool = False,
          everywhere: frozenset[int] = frozenset()) -> str:
    """The typed table ``_register`` from ``_raw``, in one pass: ``_held`` is true for a
    record the sieve holds back (``conditions``, all true for a record it lets through),
    whose typed values are then not to be used (a cell that is no number is NULL).
    ``absent``: the inputs with no column (optional), by their SQL type. ``texts``: also
    each number's decimal text (``_t_<input>``), for reports that show the inputs. ``_raw``
    has the cells' flags (:func:`load_rows`). ``narrow``: every number fits 64 bits once
    scaled (:func:`widest`): ``BIGINT`` columns. ``everywhere``: the positions whose flag is
    true in every record (:func:`held_back`): their cells are read as they are, with no
    test of the flag (DuckDB folds the other branch away)."""
    def clean(position: int) -> str:
        return "TRUE" if position in everywhere else flag(position)

    integer = "BIGINT" if narrow else "HUGEINT"
    held = "NOT (" + " AND ".join(f"({c})" for c in conditions) + ")" if conditions else "FALSE"
    select = ["_row", f"{held} AS _held",
              f"CASE WHEN {clean(id_position)} THEN {cell(id_position)} ELSE "
              f"{normal_text(cell(id_position))} END AS id",
              f"CASE WHEN {clean(name_position)} THEN {cell(name_position)} ELSE "
              f"{normal_text(cell(name_position))} END AS name",
              (f"CASE WHEN {clean(type_position)} THEN {cell(type_position)} ELSE "
               f"{_space_trimmed(cell(type_position))} END AS customer_type"
               if type_position is not None else "'' AS customer_type"),
              (f"{_services(services_position)} AS services" if services_position is not None
               else "NULL::VARCHAR[] AS services")]
    for column in columns:
        c = cell(column.position)
        t = _space_trimmed(c)
        given = f"NULLIF({t}, '')"
        kind = column.kind
        if kind in NUMERIC:
            text = f"CASE WHEN {t} <> '' THEN {number_text(c, mark)} END"
            s = scales.get(column.name, 0)
            k = clean(column.position)
            if s == 0:
                select.append(f"CASE WHEN {k} THEN CAST({c} AS {integer}) ELSE "
                              f"TRY_CAST({text} AS {integer}) END AS {col(column.name)}")
            else:
                scaled = (f"TRY_CAST(split_part({text}, '.', 1) || rpad(split_part({text}, '.', "
                          f"2), {s}, '0') AS {integer})")
                if mark == "." and column.kind in ("number", "money"):  # plain: as it is
                    scaled = (f"CASE WHEN {k} OR {point_flag(column.position)} THEN "
                              f"CAST(split_part({c}, '.', 1) || rpad(split_part({c}, '.', 2), "
                              f"{s}, '0') AS {integer}) ELSE {scaled} END")
                select.append(f"{scaled} AS {col(column.name)}")
            if texts:
                select.append(f"{text} AS {quote('_t_' + column.name)}")
        elif kind == "yes/no":
            words = ", ".join(text_lit(w) for w in TRUE_WORDS)
            select.append(f"CASE WHEN {clean(column.position)} THEN {c} IN ({words}) "
                          f"WHEN {t} <> '' THEN lower({t}) IN ({words}) END "
                          f"AS {col(column.name)}")
        elif kind == "date":
            select.append(f"CASE WHEN {clean(column.position)} THEN CAST({c} AS DATE) "
                          f"ELSE TRY_CAST({given} AS DATE) END AS {col(column.name)}")
        else:
            select.append(f"{given} AS {col(column.name)}")
    for name, sql_type in absent.items():
        select.append(f"NULL::{sql_type} AS {col(name)}")
    # a view, not a table: each query computes only the columns it reads (writing a table
    # of a million rows costs about as much as reading the CSV)
    # an earlier call's view is replaced; a table of that name (run_register's), which a
    # view cannot replace, is dropped first (DuckDB's DROP TABLE IF EXISTS fails on a view)
    make = ("CREATE OR REPLACE TEMP VIEW _register AS SELECT " + ", ".join(select)
            + " FROM (SELECT rowid AS _row, * FROM _raw)")
    try:
        con.execute(make)
    except Exception:  # DuckDB's error (this module does not import DuckDB): raised again
        (tables,) = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_register'").fetchone()
        if not tables:
            raise
        con.execute("DROP TABLE _register")
        con.execute(make)
    return "_register"
