"""The batch engine on DuckDB: the compiled plan run in the process.

Two ways in:

* :class:`DuckDBEngine` implements :class:`takst.interpreter.backend.Engine` over
  :class:`~takst.interpreter.model.Customer` values, so it is interchangeable with the
  interpreter (the customers are loaded into a DuckDB table, then one query bills them).
* :func:`run_register` bills a register file (CSV or Parquet) entirely in DuckDB, without
  Python per row, and streams the results or writes them (CSV, Parquet with DECIMAL
  columns). It accepts only what it can check in SQL exactly as strictly as the register
  reader (``src/takst/io/register.py``); for anything else it raises :class:`NeedsReader`
  and the caller reads the register with the reader (whose messages are the reference) and
  bills the customers through :class:`DuckDBEngine`.

DuckDB is imported lazily: ``takst`` works without the ``batch`` extra.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from takst.dsl import ast
from takst.dsl.check import require_no_errors
from takst.dsl.errors import EvaluationError, RegisterError, diagnostic
from takst.dsl.numbers import money_group
from takst.dsl.symbols import COUNT_ALL, Symbols
from takst.interpreter.batch.columnar import in_order
from takst.interpreter.batch.compiler import (
    NARROW_DIGITS,
    Compiler,
    Constants,
    Placed,
    Plan,
    Unsupported,
    col,
    compile_tariff,
    not_compiled,
    overflowed,
    quote,
    text_lit,
)
from takst.interpreter.exact import float_free, fraction_to_decimal, num_text
from takst.interpreter.model import (
    ChargeLine,
    Context,
    Customer,
    CustomerResult,
    PoolShares,
    Value,
)
from takst.interpreter.prepare import cond_words, needs_empty, validate

if TYPE_CHECKING:
    import duckdb

NUMERIC = ("inhabitants", "count", "number", "money")


class NeedsReader(Exception):
    """The register file is not one the fast path can check exactly: read it with the reader."""


class FallsBack(Exception):
    """The tariff does not compile: it is evaluated by the interpreter (the note says why)."""

    def __init__(self, unsupported: Unsupported) -> None:
        super().__init__(unsupported.note)
        self.unsupported = unsupported


#: What takst uses of DuckDB: all of it is the engine's own (its C extension).
_ENGINE_NAMES = ("connect", "Error", "DuckDBPyConnection")
_MODULE: list[Any] = []


def _duckdb() -> Any:
    """DuckDB's engine. Where the ``duckdb`` package's C extension (``_duckdb``, DuckDB 1.4
    and later) has what takst uses (:data:`_ENGINE_NAMES`: connections, their ``execute``
    and ``fetch`` methods, the error classes), it is imported alone: the package's
    ``__init__`` re-exports those very objects and adds a relational API in Python that
    takst does not use, whose import costs 0.07-0.1 s of every batch run. Otherwise (an
    older DuckDB) the package."""
    if not _MODULE:
        module: Any
        try:
            module = importlib.import_module("_duckdb")
            if not all(hasattr(module, n) for n in _ENGINE_NAMES):
                raise ImportError("not the engine takst knows")
        except ImportError:
            try:
                import duckdb as module
            except ImportError as err:  # pragma: no cover - depends on the install
                raise EvaluationError(diagnostic(
                    "the batch engine needs DuckDB, which is not installed",
                    hint="pip install 'takst[batch]'")) from err
        _MODULE.append(module)
    return _MODULE[0]


#: The SQL type of an input of each kind that is not a number (numbers: scaled integers).
SQL_TYPES = {"yes/no": "BOOLEAN", "date": "DATE", "text": "VARCHAR"}

_DATABASE: list[Any] = []
#: Where the process's database is being opened already (``takst.startup``): a function
#: that gives it once it is open (or None).
_OPENING: list[Callable[[], Any]] = []


def open_with(take: Callable[[], Any]) -> None:
    """The process's database is being opened elsewhere (in a thread, while takst's modules
    are imported): :func:`connect` takes it from ``take`` rather than open one."""
    _OPENING.append(take)


def connect() -> duckdb.DuckDBPyConnection:
    """A connection of its own (its temporary tables are its own) to the process's in-memory
    database, which is opened once: opening one costs about 0.1 s, a connection nothing."""
    if not _DATABASE:
        early = _OPENING.pop()() if _OPENING else None
        engine = _duckdb()
        db = early if isinstance(early, engine.DuckDBPyConnection) else engine.connect()
        try:  # a file rewritten within its clock tick is read again, never from a cache
            db.execute("SET enable_external_file_cache = false")
        except _duckdb().Error:  # pragma: no cover - a DuckDB before 1.3 has no such cache
            pass
        _DATABASE.append(db)
    con: duckdb.DuckDBPyConnection = _DATABASE[0].cursor()
    con.execute("SET preserve_insertion_order = true")
    return con


#: DuckDB's memory limit in the process (``TAKST_DUCKDB_MEMORY`` overrides it): past it,
#: DuckDB spills sorts and joins to its temporary folder rather than growing.
MEMORY_LIMIT = "512MB"


def bounded(limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """:func:`connect`, with the database's memory limited (see :data:`MEMORY_LIMIT`)."""
    import os
    import tempfile

    con = connect()
    con.execute(f"SET memory_limit = '{limit or os.environ.get('TAKST_DUCKDB_MEMORY') or MEMORY_LIMIT}'")
    folder = os.path.join(tempfile.gettempdir(), f"takst-duckdb-{os.getpid()}")
    con.execute(f"SET temp_directory = '{folder}'")
    return con


def _money(x: Fraction) -> str:
    d = fraction_to_decimal(x)
    return money_group(d) if d is not None else num_text(x)


def _translate(err: Exception, placed: Sequence[Placed] = ()) -> EvaluationError:
    """A DuckDB error as the user's error: the message the query raised (at its place in the
    tariff where the plan knows it), or an overflow."""
    text = str(err)
    m = re.search(r"Invalid Input Error: (.*)", text)
    if "Overflow" in text or "Out of Range" in text:
        return EvaluationError(diagnostic(
            "this calculation gives a number too large to compute exactly in the batch engine "
            "(128-bit integers)",
            hint="check the inputs for absurd values, or evaluate with --engine interpreter"))
    message = m.group(1).strip() if m else text
    for p in placed:
        if p.matches(message):
            return EvaluationError(diagnostic(message, p.span, hint=p.hint, related=p.related))
    return EvaluationError(diagnostic(message))


# ------------------------------------------------------------------ the engine


@attrs.define
class _Loaded:
    key: tuple[int, int]
    scales: dict[str, int]
    customers: list[Customer]
    #: Every number fits 64 bits once scaled: ``BIGINT`` columns, the 64-bit plan first.
    narrow: bool = False
    #: The inputs every customer has a value of (the plan does not test them).
    complete: tuple[str, ...] = ()


def unsupported(tariff: ast.Tariff) -> Unsupported | None:
    """Why the tariff does not compile (the construct, for the interpreter's note), or None:
    a compilation for a probe year, no connection made."""
    probe = compile_tariff(tariff, 2000)
    return probe if isinstance(probe, Unsupported) else None


class DuckDBEngine:
    """The compiled SQL plan on DuckDB, as an :class:`~takst.interpreter.backend.Engine`.

    :attr:`unsupported` is set when the tariff does not compile; the session then uses
    the interpreter and shows :attr:`Unsupported.note`. ``evaluate`` with ``trace=True``
    is refused: traces come from the interpreter.
    """

    name = "duckdb"

    def __init__(self, tariff: ast.Tariff, *, checked: bool = False) -> None:
        if not checked:
            require_no_errors(tariff)
        self.tariff = tariff
        self.sym = Symbols(tariff)
        self.inputs = {i.name: i for i in tariff.inputs}
        self.con = connect()
        self._loaded: _Loaded | None = None
        self.unsupported: Unsupported | None = unsupported(tariff)

    # -------------------------------------------------------------- loading customers
    def _load(self, customers: list[Customer]) -> _Loaded:
        key = (id(customers), len(customers))
        held = self._loaded
        if held is not None and held.key == key and all(
                a is b for a, b in zip(held.customers, customers, strict=True)):
            return held  # the same customers as prepare had (the list is held, so is its id)
        scales: dict[str, int] = {}
        for name, inp in self.inputs.items():
            if inp.type.kind in NUMERIC:
                s = 0
                for c in customers:
                    v = c.values.get(name)
                    if isinstance(v, Decimal):
                        exp = v.as_tuple().exponent
                        if isinstance(exp, int):
                            s = max(s, -exp)
                scales[name] = s
        # the compiler may need finer scales (band bounds)
        probe = Compiler(self.tariff, 2000, Constants(), scales)
        scales = dict(probe.scales)
        limit = 10**NARROW_DIGITS
        narrow = all(abs(int(v.scaleb(scales[n]))) < limit
                     for c in customers for n, v in c.values.items()
                     if n in scales and isinstance(v, Decimal))
        integer = "BIGINT" if narrow else "HUGEINT"
        cols = ["_row BIGINT", "id VARCHAR", "name VARCHAR", "customer_type VARCHAR",
                "services VARCHAR[]"]
        names = list(self.inputs)
        for name in names:
            kind = self.inputs[name].type.kind
            sql_type = SQL_TYPES.get(kind, integer)
            cols.append(f"{col(name)} {sql_type}")
        self.con.execute("DROP TABLE IF EXISTS customers")
        self.con.execute(f"CREATE TEMP TABLE customers ({', '.join(cols)})")
        rows = []
        empty: set[str] = set()  # the inputs some customer has no value of
        for i, c in enumerate(customers):
            row: list[object] = [i, c.id, c.name, c.customer_type,
                                 None if c.services is None else sorted(c.services)]
            for name in names:
                v = c.values.get(name)
                if name in scales and isinstance(v, Decimal):
                    row.append(str(int(v.scaleb(scales[name]))))
                elif v is None:
                    empty.add(name)
                    row.append(v)
                elif isinstance(v, bool | dt.date | str):
                    row.append(v)
                else:
                    row.append(str(v))
            rows.append(row)
        if rows:
            marks = ", ".join(["?"] * (5 + len(names)))
            self.con.executemany(f"INSERT INTO customers VALUES ({marks})", rows)
        complete = tuple(n for n in names if n not in empty)
        self._loaded = _Loaded(key, scales, customers, narrow, complete)
        return self._loaded

    # -------------------------------------------------------------- prepare
    def validate(self, customers: Sequence[Customer]) -> None:
        """The interpreter's checks of what only the tariff can see, with its messages."""
        problems = validate(self.tariff, customers, self.sym)
        if problems:
            raise RegisterError(problems)

    def prepare(
        self,
        customers: Iterable[Customer],
        year: int,
        *,
        settings: Mapping[str, Value] | None = None,
        register: str | None = None,
    ) -> Context:
        listed = customers if isinstance(customers, list) else list(customers)
        self.validate(listed)
        loaded = self._load(listed)
        origins = {c.id: c.origin for c in listed}
        return register_values(self.con, "customers", self.tariff, year, loaded.scales,
                               settings or {}, register, origins=origins.get)

    # -------------------------------------------------------------- evaluate
    def plan(self, year: int, context: Context, scales: Mapping[str, int],
             complete: Sequence[str] = ()) -> Plan:
        result = compile_tariff(self.tariff, year, constants(context), scales, complete=complete)
        if isinstance(result, Unsupported):
            raise FallsBack(result)
        return result

    def evaluate(
        self,
        customers: Iterable[Customer],
        year: int,
        context: Context,
        *,
        trace: bool = False,
    ) -> Iterator[CustomerResult]:
        if trace:
            raise ValueError("the batch engine computes amounts only: traces come from the "
                             "interpreter")
        listed = customers if isinstance(customers, list) else list(customers)
        loaded = self._load(listed)
        plan = self.plan(year, context, loaded.scales, loaded.complete)
        # the results into a table: an overflow of the 64-bit plan shows before any row
        narrow_first(plan, loaded.narrow, lambda p: self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _planned AS " + p.query("customers")))
        rows = itertools.chain.from_iterable(
            self._fetched("SELECT * FROM _planned ORDER BY _row", plan))
        yield from results_of(listed, rows, plan, self.sym)

    def _fetched(self, query: str, plan: Plan) -> Iterator[list[Any]]:
        """The rows of ``query`` a batch at a time."""
        try:
            cur = self.con.execute(query)
            while batch := cur.fetchmany(2048):
                yield batch
        except _duckdb().Error as err:
            raise _translate(err, plan.placed) from None


def narrow_first(plan: Plan, narrow: bool, run: Callable[[Plan], object]) -> None:
    """``run(plan.narrowed())`` where every number fits 64 bits (``narrow``), and
    ``run(plan)`` when it is not so or the 64-bit plan overflowed (:func:`overflowed`);
    DuckDB's other errors in the tariff's words (``plan.placed``)."""
    if narrow:
        try:
            run(plan.narrowed())
            return
        except _duckdb().Error as err:
            if not overflowed(err):
                raise _translate(err, plan.placed) from None
    try:
        run(plan)
    except _duckdb().Error as err:
        raise _translate(err, plan.placed) from None


def results_of(customers: Sequence[Customer], rows: Iterable[Sequence[Any]], plan: Plan,
               sym: Symbols) -> Iterator[CustomerResult]:
    """The results of a plan's rows (``_row, id, name, status, amount, ...``, in the
    customers' order), each with its customer's inputs: what an engine's ``evaluate`` gives."""
    names = list(sym.inputs())
    labels = [(o.name, o.label) for o in plan.charges]
    spans = {c.name: c.span for c in plan.tariff.charges}
    for c, row in zip(customers, rows, strict=True):
        yield CustomerResult(
            id=c.id, name=c.name, origin=c.origin,
            inputs=tuple((n, c.values[n]) for n in names if n in c.values),
            lines=_lines(row, labels, spans))


def _lines(row: Sequence[Any], labels: Sequence[tuple[str, str]],
           spans: Mapping[str, Any]) -> tuple[ChargeLine, ...]:
    lines = []
    for k, (name, label) in enumerate(labels):
        status, amount = row[3 + 2 * k], row[4 + 2 * k]
        if status == "ok":
            lines.append(ChargeLine(name, label, amount, "ok", True, (), spans[name]))
        elif status == "pending":
            lines.append(ChargeLine(name, label, None, "pending", True, (), spans[name]))
        else:
            lines.append(ChargeLine(name, label, Decimal(0), "ok", False, (), spans[name]))
    return tuple(lines)


def _count(con: duckdb.DuckDBPyConnection, table: str, agg: ast.AggregateDecl, among: str,
           sym: Symbols, where: str) -> tuple[Fraction, str] | None:
    """issue 12: ``count of customers`` (every member) or ``count of INPUT`` (the members with
    a value), in the interpreter's words; None when no customer is a member."""
    every = agg.of.name == COUNT_ALL and sym.get(COUNT_ALL) is None
    counted = "*" if every else col(agg.of.name)
    members, n = con.execute(
        f"SELECT count(*) FILTER (WHERE {among}), count({counted}) FILTER (WHERE {among}) "
        f"FROM {table}").fetchone() or (0, 0)
    if not members:
        return None
    words = f" among {cond_words(agg.among)}" if agg.among is not None else ""
    if not n:
        return Fraction(0), f"count of customers with {agg.of.name}: none of {where}"
    what = "customers" if every else f"customers with {agg.of.name}"
    return Fraction(int(n)), f"count of {what}{words}: {n} of {where}"


def constants(context: Context) -> Constants:
    return Constants(
        settings=dict(context.settings),
        aggregates={k: v for k, (v, _) in context.aggregates.items()},
        pools={k: (p.total, p.key_sum) for k, p in context.pools.items()},
        empty=dict(context.empty),
    )


# ------------------------------------------------------------------ register-wide values


def register_values(
    con: duckdb.DuckDBPyConnection,
    table: str,
    tariff: ast.Tariff,
    year: int,
    scales: Mapping[str, int],
    settings: Mapping[str, Value],
    register: str | None,
    *,
    origins: Any = None,
    shares: bool = True,
) -> Context:
    """Settings checked, aggregates and pools computed in SQL over ``table``."""
    newer = not_compiled(tariff)  # issue 12: constructs with no SQL form yet
    if newer is not None:
        raise FallsBack(newer)
    duck = _duckdb()
    sym = Symbols(tariff)
    settings = dict(settings)
    missing = [s.name for s in tariff.settings if s.name not in settings]
    if missing:
        decl = sym.setting(missing[0])
        raise EvaluationError(diagnostic(
            "no value for the setting" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            decl.span if decl else None, hint=" ".join(f"--set {m}=..." for m in missing)))
    where = register or "the register"
    base = Compiler(tariff, year, Constants(settings=settings), scales)
    aggregates: dict[str, tuple[Fraction, str]] = {}
    empty: dict[str, str] = {}
    try:
        for agg in tariff.aggregates:
            among = "TRUE" if agg.among is None else base.cond(agg.among).sql
            if agg.kind == "count":  # issue 12: as the interpreter counts (prepare.py)
                counted = _count(con, table, agg, among, sym, where)
                if counted is None:
                    empty[agg.name] = f"no customer of {where} qualifies"
                else:
                    aggregates[agg.name] = counted
                continue
            v = col(agg.of.name)
            s = base.scales.get(agg.of.name, 0)
            fn = agg.kind
            members, n, value = con.execute(
                f"SELECT count(*) FILTER (WHERE {among}), count({v}) FILTER (WHERE {among}), "
                f"{fn}({v}) FILTER (WHERE {among}) FROM {table}").fetchone() or (0, 0, None)
            if not members:  # an error only for a customer whose amount needs it
                empty[agg.name] = f"no customer of {where} qualifies"
                continue
            if not n:
                raise EvaluationError(diagnostic(
                    f"aggregate {agg.name}: no customer of {where} has a value for "
                    f"{agg.of.name}", agg.span, hint="fill in the column in the register"))
            exact = Fraction(int(value), 10**s)
            words = f" among {cond_words(agg.among)}" if agg.among is not None else ""
            if fn == "sum":
                how = f"sum of {agg.of.name}{words}: {n} customers of {where}"
            else:
                who = con.execute(
                    f"SELECT id, name FROM {table} WHERE {among} AND {v} = {int(value)}::HUGEINT "
                    "ORDER BY _row LIMIT 1").fetchone()
                assert who is not None
                how = f"{fn} of {agg.of.name}{words}: {who[0]} {who[1]}, of {n} customers of {where}"
            aggregates[agg.name] = (exact, how)
        consts = Constants(settings=settings, aggregates={k: v for k, (v, _) in aggregates.items()},
                           empty=empty)
        comp = Compiler(tariff, year, consts, scales)
        pools: dict[str, PoolShares] = {}
        for pool in tariff.pools:
            needs_empty(pool, empty, sym)
            total_x = comp.expr(pool.total)
            if total_x.const is None:
                raise FallsBack(Unsupported("a pool total that is not a fixed value", pool.span))
            total = total_x.const
            among = "TRUE" if pool.among is None else comp.cond(pool.among).sql
            k = col(pool.key.name)
            lacking = con.execute(
                f"SELECT id FROM {table} WHERE ({among}) AND {k} IS NULL ORDER BY _row").fetchall()
            if lacking:
                raise RegisterError([diagnostic(
                    f"pool {pool.name} is shared by {pool.key.name}, but this customer has no "
                    "value for it",
                    where=f"{origins(cid) if origins else cid}, column {pool.key.name}",
                    hint="every customer among the pool's members needs the key")
                    for (cid,) in lacking])
            members, key_int = con.execute(
                f"SELECT count(*), sum({k}) FROM {table} WHERE {among}").fetchone() or (0, None)
            s = comp.scales.get(pool.key.name, 0)
            key_sum = Fraction(int(key_int or 0), 10**s)
            if not members or key_sum == 0:
                raise EvaluationError(diagnostic(
                    f"pool {pool.name} has no one to share it: the sum of {pool.key.name} over "
                    "its members is 0", pool.span,
                    hint="check the register and the `among` condition"))
            if pool.step is not None and (total / Fraction(pool.step)).denominator != 1:
                raise EvaluationError(diagnostic(
                    f"pool {pool.name} totals {float_free(total)}, which is not a whole number "
                    f"of {pool.step_text}", pool.span,
                    hint="round the total first, or share to a finer step"))
            words = f" among {cond_words(pool.among)}" if pool.among is not None else ""
            text = (f"pool {pool.name} = {_money(total)} {tariff.currency}, shared by "
                    f"{pool.key.name}{words}: Σ {pool.key.name} = {num_text(key_sum)} over "
                    f"{members} customers")
            mapping: dict[str, tuple[Fraction, Fraction]] = {}
            if shares:
                mapping = _shares(con, table, tariff, year, settings, aggregates, pool,
                                  total, key_sum, scales)
            pools[pool.name] = PoolShares(total, key_sum, int(members), mapping, text)
    except duck.Error as err:
        raise _translate(err) from None
    return Context(settings=settings, aggregates=aggregates, pools=pools, register=register,
                   empty=empty)


def _shares(con: duckdb.DuckDBPyConnection, table: str, tariff: ast.Tariff, year: int,
            settings: Mapping[str, Value], aggregates: Mapping[str, tuple[Fraction, str]],
            pool: ast.PoolDecl, total: Fraction, key_sum: Fraction,
            scales: Mapping[str, int]) -> dict[str, tuple[Fraction, Fraction]]:
    """Each member's exact and rounded share, the rounding done by the plan's SQL."""
    consts = Constants(settings=settings, aggregates={k: v for k, (v, _) in aggregates.items()},
                       pools={pool.name: (total, key_sum)})
    comp = Compiler(tariff, year, consts, scales)
    x = comp.pool_share(pool.name, pool.span)
    s = comp.scales.get(pool.key.name, 0)
    cte = comp.ctes[-1].replace("{src}", table)
    vcol = quote(f"_pool_{pool.name}__v")
    rows = con.execute(
        f"WITH {cte} SELECT t.id, t.{col(pool.key.name)}, {x.num} FROM {table} t "
        f"JOIN (SELECT _row, v AS {vcol} FROM {quote('_pool_' + pool.name)}) p ON p._row = t._row "
        "ORDER BY t._row").fetchall()
    assert isinstance(x.den, int)
    return {cid: (total * Fraction(int(key), 10**s) / key_sum, Fraction(int(num), x.den))
            for cid, key, num in rows}


# ------------------------------------------------------------------ the fast path over files

_INT = r"^[0-9]+$"
_DEC = r"^[0-9]+(\.[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TWO_WAYS = r"^[1-9][0-9]{0,2}\.[0-9]{3}$"
_TRUE = ("true", "yes", "ja", "1", "sand", "sann", "sant")
_FALSE = ("false", "no", "nej", "nei", "0", "falsk", "usann", "falskt")
MAX_DIGITS = 30


@attrs.frozen
class BatchRun:
    """A register billed in DuckDB: its plan, its register-wide values and the results."""

    plan: Plan
    context: Context
    con: Any
    table: str
    #: The table's numbers are ``BIGINT`` (every one fits): :meth:`write` runs the
    #: plan in 64-bit integers first (:meth:`Plan.narrowed`), in 128-bit on an overflow.
    narrow: bool = False
    #: Every id and name is a clean text (``columnar.CLEAN_TEXT``: not empty, and none
    #: starts as a formula would): the CSV writer writes them as they are.
    plain_texts: bool = False

    def relation_sql(self) -> str:
        return self.plan.query(self.table)

    def rows(self, size: int = 8192) -> Iterator[tuple[Any, ...]]:
        """``(_row, id, name, status, amount, ...)`` per customer, in register order."""
        try:
            cur = self.con.execute(self.relation_sql())
            while True:
                batch = cur.fetchmany(size)
                if not batch:
                    return
                yield from batch
        except _duckdb().Error as err:
            raise _translate(err, self.plan.placed) from None

    def write(self, path: str | Path, fmt: str = "csv") -> None:
        """The results as the interpreter's reports write them (``id, name``, one column per
        charge, ``total``, ``pending``: the pending charges), written by DuckDB.

        CSV: amounts as text with at least two decimals (``34880.00``) and ``pending`` for a
        pending charge, as ``takst eval --format csv``. Parquet: one ``DECIMAL(38, s)`` column
        per charge (NULL when pending) and the total."""
        narrow_first(self.plan, self.narrow, lambda plan: self._write(plan, path, fmt))

    def _write(self, plan: Plan, path: str | Path, fmt: str) -> None:
        charges = plan.charges
        relation = plan.query(self.table, sort=False)  # sorted once, here, if at all
        order = "" if plan.keeps_order else " ORDER BY _row"
        total = " + ".join(f"COALESCE({quote(o.name)}, 0)" for o in charges) or "0"
        pends = [o for o in charges if o.may_pend]  # the others are never pending
        names = [f"CASE WHEN {quote(o.name + ':status')} = 'pending' THEN {text_lit(o.name)} END"
                 for o in pends]
        # '' where none is pending (concat_ws of NULLs is ''; CSV writes it as NULL, below)
        pending = (f"COALESCE({names[0]}, '')" if len(names) == 1 else
                   "concat_ws(';', " + ", ".join(names) + ")" if names else "''")
        if fmt == "parquet":
            cols = [f"CAST({quote(o.name)} AS DECIMAL(38,{o.scale})) AS {quote(o.name)}"
                    for o in charges]
            top = max((o.scale for o in charges), default=0)
            total = f"CAST({total} AS DECIMAL(38,{top}))"
            select = (f"SELECT id, name, {''.join(c + ', ' for c in cols)}{total} AS total, "
                      f"{pending} AS pending FROM ({relation}){order}")
            opts = "FORMAT parquet"
        else:
            if len(pends) > 1:  # the names joined only where a charge is pending (few rows)
                none = " AND ".join(f"{quote(o.name + ':status')} IS DISTINCT FROM 'pending'"
                                    for o in pends)
                pending = f"CASE WHEN {none} THEN '' ELSE {pending} END"
            cols = [(f"CASE WHEN {quote(o.name + ':status')} = 'pending' THEN 'pending' ELSE "
                     f"{_money_sql(quote(o.name), o.scale)} END" if o.may_pend else
                     _money_sql(quote(o.name), o.scale)) + f" AS {quote(o.name)}"
                    for o in charges]
            top = max((o.scale for o in charges), default=0)
            # NULL, not '': DuckDB quotes an empty string, Python's csv does not
            texts = ("id, name" if self.plain_texts else
                     f"NULLIF({_csv_text('id')}, '') AS id, NULLIF({_csv_text('name')}, '') AS name")
            select = (f"SELECT {texts}, {''.join(c + ', ' for c in cols)}"
                      f"{_money_sql(f'({total})', top)} AS total, "
                      f"NULLIF({pending}, '') AS pending "
                      f"FROM ({relation}){order}")
            opts = "FORMAT csv, HEADER true"
        target = str(path).replace("'", "''")
        with in_order(self.con):
            self.con.execute(f"COPY ({select}) TO '{target}' ({opts})")

    def results(self, inputs: Sequence[tuple[str, str]] = (),
                size: int = 4096) -> Iterator[CustomerResult]:
        """The results as the interpreter's :class:`CustomerResult` values (no traces), in
        register order. ``inputs``: (input, kind) of the inputs to show, read back from the
        register table (numbers as the decimal text the register gave, ``_t_<input>``)."""
        tariff = self.plan.tariff
        labels = [(o.name, o.label) for o in self.plan.charges]
        spans = {c.name: c.span for c in tariff.charges}
        picks = [quote("_t_" + name) if kind in NUMERIC else col(name) for name, kind in inputs]
        extra = "".join(f", r.{p}" for p in picks)
        query = (f"SELECT q.*{extra} FROM ({self.relation_sql()}) q "
                 f"JOIN {self.table} r ON r._row = q._row ORDER BY q._row")
        width = 3 + 2 * len(labels)
        try:
            cur = self.con.execute(query)
            while True:
                batch = cur.fetchmany(size)
                if not batch:
                    return
                for row in batch:
                    shown: list[tuple[str, Value]] = []
                    for k, (name, kind) in enumerate(inputs):
                        v = row[width + k]
                        if v is not None:
                            shown.append((name, Decimal(v) if kind in NUMERIC else v))
                    yield CustomerResult(id=row[1], name=row[2], origin="",
                                         inputs=tuple(shown), lines=_lines(row, labels, spans))
        except _duckdb().Error as err:
            raise _translate(err, self.plan.placed) from None


def _csv_text(value: str) -> str:
    """The report's ``csv_text`` in SQL: a text a spreadsheet would run as a formula (or
    that starts with a quote mark) gets a leading quote mark; a plain number stays."""
    q = "''''"
    # the first character's code (no substring made): = + - @ tab, carriage return, '
    first = ", ".join(str(ord(ch)) for ch in "=+-@\t\r'")
    return (f"CASE WHEN ascii({value}) NOT IN ({first}) THEN {value} "
            f"WHEN starts_with({value}, {q}) OR NOT regexp_full_match(" + value
            + r", '[+-]?[0-9]+(\.[0-9]+)?') THEN " + f"{q} || {value} ELSE {value} END")


def run_table(
    tariff: ast.Tariff,
    con: Any,
    table: str,
    year: int,
    scales: Mapping[str, int],
    *,
    settings: Mapping[str, Value] | None = None,
    register: str | None = None,
    origins: Any = None,
    narrow: bool = False,
    complete: Sequence[str] = (),
    plain_texts: bool = False,
) -> BatchRun:
    """A register already loaded and checked in ``table`` (the columns
    :class:`~takst.interpreter.batch.compiler.Plan` reads), billed: register-wide values in
    SQL, then the plan. ``complete``: the inputs every record has a value of. Raises
    :class:`FallsBack` when the tariff does not compile."""
    context = register_values(con, table, tariff, year, scales, settings or {}, register,
                              origins=origins)
    result = compile_tariff(tariff, year, constants(context), scales, complete=complete)
    if isinstance(result, Unsupported):
        raise FallsBack(result)
    return BatchRun(result, context, con, table, narrow, plain_texts)


def _money_sql(value: str, scale: int) -> str:
    """An exact DECIMAL as text with at least two decimals, more only where the value has
    them (``money_text``): no rounding, the decimals are cut only where they are zeros."""
    if scale <= 2:
        # DECIMAL(18, 2) is a 64-bit integer inside, and prints twice as fast as (38, 2):
        # taken where the amount fits (the test is exact: a DECIMAL, no float)
        return (f"CASE WHEN abs({value}) < 1000000000000000::DECIMAL(38,0) "
                f"THEN CAST(CAST({value} AS DECIMAL(18,2)) AS VARCHAR) "
                f"ELSE CAST(CAST({value} AS DECIMAL(38,2)) AS VARCHAR) END")
    return (f"regexp_replace(CAST({value} AS VARCHAR), '(\\.[0-9][0-9][0-9]*?)0+$', "
            "'\\1')")


def run_register(
    tariff: ast.Tariff,
    path: str | Path,
    year: int,
    *,
    settings: Mapping[str, Value] | None = None,
    con: Any = None,
) -> BatchRun:
    """Load, check, prepare and compile a register file, all in DuckDB.

    Raises :class:`NeedsReader` when the file is not plain enough to check here exactly as
    the reader does (a dialect, a bad cell, a missing column...: the reader then reports or
    reads it), :class:`FallsBack` when the tariff does not compile, and the reader's
    errors for the customer checks only the tariff can make.
    """
    path = Path(path)
    con = con or connect()
    duck = _duckdb()
    inputs = {i.name: i for i in tariff.inputs}
    sym = Symbols(tariff)
    p = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        source = f"read_parquet('{p}', file_row_number=true)"
        order = "file_row_number"
    else:
        with path.open("rb") as fh:
            head = fh.read(65536)
        if head.startswith(b"\xef\xbb\xbf") or b"\r" in head or b";" in head.split(b"\n")[0] \
                or b"\t" in head.split(b"\n")[0] or head.lower().startswith(b"sep="):
            raise NeedsReader("not a plain comma-separated register")
        first = head.split(b"\n")[0].decode("utf-8", "replace")
        if '"' in first or not first.strip():
            raise NeedsReader("a quoted or empty header")
        header = first.split(",")
        spec = ", ".join(f"{text_lit(h)}: 'VARCHAR'" for h in header)
        source = (f"read_csv('{p}', delim=',', quote='\"', escape='\"', header=true, "
                  f"columns={{{spec}}}, auto_detect=false, strict_mode=true, "
                  "null_padding=false)")
        order = "rowid"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        names = [d[0] for d in described if not (order == "file_row_number" and d[0] == order)]
        floats = [d[0] for d in described if d[0] in inputs and d[1] in ("FLOAT", "DOUBLE")]
        if floats:
            raise RegisterError([diagnostic(
                f"column {f} holds floating-point numbers, which are not exact",
                where=f"{path}, column {f}",
                hint="write the column as DECIMAL or as text") for f in floats])
        # every cell as text, as the reader sees it (a no-op for CSV)
        cells = ", ".join(
            f"CAST({quote(d[0])} AS VARCHAR) AS {quote(d[0])}" if d[1] != "VARCHAR"
            and d[0] != order else quote(d[0]) for d in described)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT {cells} FROM {source}")
    except duck.Error as err:
        raise NeedsReader(str(err)) from None
    if len(set(names)) != len(names) or any(n != n.strip() for n in names):
        raise NeedsReader("duplicate or padded column names")
    needed = ["id", "name", *(n for n, d in inputs.items() if not d.optional)]
    if any(n not in names for n in needed):
        raise NeedsReader("a column is missing")
    if "customer_type" in sym.categories and "customer_type" not in names:
        raise NeedsReader("no customer_type column")

    def cell(name: str) -> str:
        return quote(name)

    checks = [f"{cell('id')} IS NULL OR trim({cell('id')}) = ''",
              f"{cell('name')} IS NULL"]
    scales: dict[str, int] = {}
    for name, inp in inputs.items():
        if name not in names:
            continue
        c = cell(name)
        if inp.optional:  # an optional input's empty cell: not given
            c = f"NULLIF({c}, '')"
        kind = inp.type.kind
        given = f"{c} IS NOT NULL AND " if inp.optional else ""
        if kind in ("inhabitants", "count"):
            checks.append(f"{given}(NOT regexp_full_match(COALESCE({c}, ''), '{_INT}') "
                          f"OR length({c}) > {MAX_DIGITS})")
        elif kind in ("number", "money"):
            # 1.000 reads two ways (the reader asks which); 1.5 and 1000 do not
            checks.append(f"{given}(NOT regexp_full_match(COALESCE({c}, ''), '{_DEC}') "
                          f"OR length(replace({c}, '.', '')) > {MAX_DIGITS} "
                          f"OR regexp_full_match({c}, '{_TWO_WAYS}'))")
        elif kind == "yes/no":
            words = ", ".join(text_lit(w) for w in (*_TRUE, *_FALSE))
            checks.append(f"{given}lower(COALESCE({c}, '')) NOT IN ({words})")
        elif kind == "date":
            checks.append(f"{given}(NOT regexp_full_match(COALESCE({c}, ''), '{_DATE}') "
                          f"OR try_cast({c} AS DATE) IS NULL OR starts_with({c}, '0000'))")
        else:
            checks.append(f"{given}({c} IS NULL OR {c} <> trim({c}))")
    used = ["id", "name", *(n for n in ("customer_type", "services") if n in names),
            *(n for n in inputs if n in names)]
    for name in used:
        checks.append(f"contains(COALESCE({cell(name)}, ''), chr(10)) "
                      f"OR contains(COALESCE({cell(name)}, ''), chr(13))")
    checks.append(f"{cell('name')} <> trim({cell('name')}) OR {cell('id')} <> trim({cell('id')})")
    if "customer_type" in names:
        checks.append(f"{cell('customer_type')} <> trim({cell('customer_type')})")
    try:
        # two scans: a DISTINCT beside the checks makes DuckDB plan both slowly
        (bad,) = con.execute(
            "SELECT count(*) FILTER (WHERE " + " OR ".join(f"({x})" for x in checks)
            + ") FROM _raw").fetchone() or (0,)
        (twice,) = con.execute(
            f"SELECT count(*) - count(DISTINCT {cell('id')}) FROM _raw").fetchone() or (0,)
        if bad or twice:
            raise NeedsReader("a cell the reader must report")
        for name, inp in inputs.items():
            if name in names and inp.type.kind in ("number", "money"):
                c = f"NULLIF({cell(name)}, '')"
                (s,) = con.execute(
                    f"SELECT max(CASE WHEN contains({c}, '.') THEN length(split_part({c}, '.', 2)) "
                    f"ELSE 0 END) FROM _raw").fetchone() or (0,)
                scales[name] = int(s or 0)
        scales = dict(Compiler(tariff, year, Constants(), scales).scales)
        # the file's order, as the CSV and Parquet readers insert it (a table made from
        # _raw does not keep it as its own rowid: the order travels as a column)
        select = [f"{order} AS _row", f"{cell('id')} AS id",
                  f"{cell('name')} AS name",
                  (f"{cell('customer_type')} AS customer_type" if "customer_type" in names
                   else "'' AS customer_type")]
        if "services" in names:
            select.append(f"list_filter(list_transform(string_split(COALESCE({cell('services')}, "
                          "''), ';'), lambda x: trim(x)), lambda x: x <> '') AS services")
        else:
            select.append("NULL::VARCHAR[] AS services")
        for name, inp in inputs.items():
            kind = inp.type.kind
            if name not in names:
                typ = {"yes/no": "BOOLEAN", "date": "DATE", "text": "VARCHAR"}.get(kind, "HUGEINT")
                select.append(f"NULL::{typ} AS {col(name)}")
                continue
            c = cell(name)
            if inp.optional:
                c = f"NULLIF({c}, '')"
            if kind in NUMERIC:
                s = scales.get(name, 0)
                if s == 0:
                    select.append(f"CAST({c} AS HUGEINT) AS {col(name)}")
                else:
                    select.append(
                        f"CAST(split_part({c}, '.', 1) || rpad(split_part({c}, '.', 2), {s}, '0') "
                        f"AS HUGEINT) AS {col(name)}")
            elif kind == "yes/no":
                words = ", ".join(text_lit(w) for w in _TRUE)
                select.append(f"lower({c}) IN ({words}) AS {col(name)}")
            elif kind == "date":
                select.append(f"CAST({c} AS DATE) AS {col(name)}")
            else:
                select.append(f"{c} AS {col(name)}")
        con.execute("CREATE OR REPLACE TEMP TABLE _register AS SELECT " + ", ".join(select)
                    + " FROM _raw")
        con.execute("CREATE OR REPLACE TEMP VIEW register AS SELECT * FROM _register")
        # what only the tariff can see (customer types, services) is checked by the reader
        cats = sym.categories.get("customer_type")
        tests = []
        if cats is not None:
            allowed = ", ".join(text_lit(c.name) for c in cats.items)
            tests.append(f"customer_type NOT IN ({allowed})")
        for other in (c for c in sym.categories.values() if c.name != "customer_type"):
            if other.name in inputs:
                allowed = ", ".join(text_lit(i.name) for i in other.items)
                tests.append(f"{col(other.name)} NOT IN ({allowed})")
        charge_names = ", ".join(text_lit(c.name) for c in tariff.charges)
        tests.append(f"len(list_filter(services, lambda x: x NOT IN ({charge_names}))) > 0")
        (n_bad,) = con.execute(
            "SELECT count(*) FROM register WHERE " + " OR ".join(f"({t})" for t in tests)
        ).fetchone() or (0,)
        if n_bad:
            raise NeedsReader("a customer the reader must report")
    except duck.Error as err:
        raise NeedsReader(str(err)) from None
    context = register_values(con, "register", tariff, year, scales, settings or {}, str(path),
                              origins=lambda cid: f"{path}, customer {cid}")
    result = compile_tariff(tariff, year, constants(context), scales)
    if isinstance(result, Unsupported):
        raise FallsBack(result)
    return BatchRun(result, context, con, "register")
