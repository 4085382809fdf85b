"""The session: the one way into takst for every front end.

The command line (:mod:`takst.cli`), the pytest plugin, and later a calculator
page and a language server all do the same few things, and they do them here:

* load a tariff with its imports and check it, with the diagnostics as data
  (:meth:`Session.check` never raises for a bad tariff, :meth:`Session.load`
  raises :class:`~takst.dsl.errors.CheckError` on errors; warnings are kept);
* build the customers of an evaluation from a register (read lazily, one
  customer at a time, :func:`open_register`) or from values (the ``--set``
  language, :func:`customer_from_values`);
* run an evaluation :class:`Request` with a chosen engine
  (:class:`~takst.interpreter.backend.Engine`; today ``interpreter``) and get
  its results, streamed, and their traces (:meth:`Session.run`,
  :meth:`Session.explain`).

A :class:`Request` is plain data (attrs, frozen): what a result's manifest
records (:mod:`takst.provenance.manifest`) and what ``takst verify`` replays
(:meth:`Session.replay`), so a result made from Python is as verifiable as one
made on the command line. A session owns its caches (checked tariffs, by path,
kept while their files are unchanged); nothing is cached for the whole process.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from takst import __version__
from takst.dsl import ast
from takst.dsl.errors import (
    CheckError,
    Diagnostic,
    RegisterError,
    TariffError,
    UsageError,
    diagnostic,
)
from takst.interpreter.model import Context, Customer, CustomerResult, Value

if TYPE_CHECKING:
    from takst.compare import compare as versions
    from takst.interpreter.backend import Engine
    from takst.interpreter.prepare import Validator
    from takst.io.register import Lookalikes
    from takst.provenance.manifest import Manifest

#: What makes an engine for a checked tariff.
EngineFactory = Callable[[ast.Tariff], "Engine"]

#: The names a customer's values may give besides the tariff's inputs.
CUSTOMER_FIELDS = ("id", "name", "customer_type")


# ------------------------------------------------------------------ requests


def _text(value: object) -> str:
    """A Python value as the text of a ``NAME=VALUE`` item."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _items(values: Mapping[str, object] | Iterable[str]) -> tuple[str, ...]:
    """``NAME=VALUE`` items, from a mapping of names to values or from the items."""
    if isinstance(values, str):
        raise TypeError("give values as a mapping or a list of NAME=VALUE texts, not one text")
    if isinstance(values, Mapping):
        return tuple(f"{k}={_text(v)}" for k, v in values.items())
    return tuple(values)


def _path(path: str | os.PathLike[str]) -> str:
    return os.fspath(path)


def _optional_path(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


@attrs.frozen
class Dialect:
    """How a register is written, when it cannot be told from the file.

    ``delimiter`` is ``comma``, ``semicolon`` or ``tab``; ``decimal`` is ``point``
    or ``comma``; None finds them from the file."""

    delimiter: str | None = None
    decimal: str | None = None
    #: The sheet of an XLSX register (None: the first).
    sheet: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"delimiter": self.delimiter, "decimal": self.decimal}
        if self.sheet is not None:  # recorded only when given: older manifests stay the same
            data["sheet"] = self.sheet
        return data


@attrs.frozen
class Request:
    """One evaluation asked for: what a result is made from, as data.

    ``values`` are ``NAME=VALUE`` items exactly as ``takst eval --set`` takes them
    (a mapping is turned into them): the inputs of the one customer (and its
    ``id``, ``name``, ``customer_type``), the tariff's settings, and, without a
    register, its aggregates. ``settings`` are items that must name settings.
    """

    tariff: str = attrs.field(converter=_path)
    year: int
    register: str | None = attrs.field(default=None, converter=_optional_path)
    values: tuple[str, ...] = attrs.field(default=(), converter=_items)
    settings: tuple[str, ...] = attrs.field(default=(), converter=_items)
    dialect: Dialect = Dialect()
    engine: str = "interpreter"
    trace: bool = False

    def to_json(self) -> dict[str, Any]:
        """The request as JSON data, every field, keys in a fixed order."""
        return {
            "tariff": self.tariff,
            "year": self.year,
            "register": self.register,
            "values": list(self.values),
            "settings": list(self.settings),
            "dialect": self.dialect.to_json(),
            "engine": self.engine,
            "trace": self.trace,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> tuple[Request, list[str]]:
        """A request from :meth:`to_json` data (shape checked by the manifest reader), and
        the entries this takst does not know, as ``NAME=VALUE`` texts (they are left out)."""
        known = set(_REQUEST_KEYS)
        dialect = data.get("dialect") or {}
        request = cls(
            tariff=data["tariff"],
            year=data["year"],
            register=data.get("register"),
            values=tuple(data.get("values", ())),
            settings=tuple(data.get("settings", ())),
            dialect=Dialect(dialect.get("delimiter"), dialect.get("decimal"),
                            dialect.get("sheet")),
            engine=data.get("engine", "interpreter"),
            trace=bool(data.get("trace", False)),
        )
        ignored = [f"{k}={v}" for k, v in data.items() if k not in known]
        return request, ignored


_REQUEST_KEYS = ("tariff", "year", "register", "values", "settings", "dialect", "engine",
                 "trace")


# ------------------------------------------------------------------ checked tariffs


@attrs.frozen
class Checked:
    """A tariff file loaded (with its imports) and checked: the tariff, unless it could
    not be read, and every diagnostic, errors and warnings, in order."""

    path: str
    tariff: ast.Tariff | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)

    @property
    def ok(self) -> bool:
        """No errors: the tariff can be evaluated."""
        return self.tariff is not None and not self.errors


def summary(diags: Sequence[Diagnostic]) -> str:
    """``2 errors, 1 warning``: how many problems of each kind."""
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


# ------------------------------------------------------------------ registers


class Register(Protocol):
    """A register of customers, read again at every iteration, one customer at a time.

    The first full iteration raises :class:`~takst.dsl.errors.RegisterError` listing
    every problem of the file; ``rows`` is the number of customers once it was read."""

    @property
    def rows(self) -> int | None: ...

    def __iter__(self) -> Iterator[Customer]: ...


def open_register(
    path: str | Path,
    inputs: Mapping[str, ast.InputDecl],
    display: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    sheet: str | None = None,
) -> Register:
    """The register at ``path`` for a tariff with these inputs, read (streamed) when
    iterated: :func:`takst.io.register.open_register`, or for an ``.xlsx`` file
    :func:`takst.io.xlsx.open_xlsx_register` (its first sheet, or ``sheet``)."""
    from takst.io import xlsx

    if xlsx.is_xlsx(path):
        return xlsx.open_xlsx_register(path, inputs, display, sheet=sheet)
    if sheet is not None:
        raise UsageError(diagnostic(f"--sheet {sheet}: the register {path} is not an .xlsx "
                                    "workbook", hint="leave out --sheet for a CSV register"))
    from takst.io import register

    return register.open_register(path, inputs, display, delimiter=delimiter, decimal=decimal)


# ------------------------------------------------------------------ customers from values


def _key(item: str) -> str:
    return item.partition("=")[0].strip()


def shared_names(tariff: ast.Tariff) -> dict[str, ast.InputType | None]:
    """Names a value may give for the whole evaluation: settings (typed) and aggregates."""
    out: dict[str, ast.InputType | None] = {s.name: s.type for s in tariff.settings}
    out.update({a.name: None for a in tariff.aggregates})
    return out


def settings_from_values(tariff: ast.Tariff, items: Sequence[str], *,
                         register: bool) -> dict[str, Value]:
    """The values of settings among ``items`` (and, without a register, of aggregates).
    Raises :class:`~takst.dsl.errors.UsageError` with every problem."""
    from takst.io.register import BadValue, parse_value

    shared = shared_names(tariff)
    values: dict[str, Value] = {}
    problems = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in shared:
            continue
        typ = shared[key]
        if typ is None and register:
            problems.append(diagnostic(
                f"--set {key}: {key} is computed from the register and cannot be given",
                hint=f"leave out --set {key}"))
            continue
        decl = ast.InputDecl(key, None, typ or ast.InputType("number", span=tariff.span),
                             span=tariff.span)
        try:
            values[key] = parse_value(decl, raw)
        except BadValue as bad:
            problems.append(diagnostic(f"--set {key}: {bad.message}", hint=bad.hint))
    if problems:
        raise UsageError(problems)
    return values


def customer_from_values(tariff: ast.Tariff, items: Sequence[str]) -> Customer:
    """The one customer the ``NAME=VALUE`` items describe (settings and aggregates among
    them are left for :func:`settings_from_values`). Raises
    :class:`~takst.dsl.errors.UsageError` with every problem."""
    from takst.io.register import BadValue, parse_value

    inputs = {i.name: i for i in tariff.inputs}
    shared = shared_names(tariff)
    values: dict[str, Value] = {}
    ident = name = "the customer"
    ctype = ""
    problems = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            problems.append(diagnostic(f"--set {item}: expected NAME=VALUE",
                                       hint="e.g. --set population=41000"))
            continue
        if key in shared:
            continue  # a setting or an aggregate: see settings_from_values
        if key in CUSTOMER_FIELDS:
            if key == "id":
                ident = raw
            elif key == "name":
                name = raw
            else:
                ctype = raw
            continue
        decl = inputs.get(key)
        if decl is None:
            problems.append(
                diagnostic(
                    f"--set {key}: the tariff has no input {key}",
                    hint="its inputs are: " + ", ".join(inputs) + " (and id, name, customer_type)",
                )
            )
            continue
        try:
            values[key] = parse_value(decl, raw)
        except BadValue as bad:
            problems.append(diagnostic(f"--set {key}: {bad.message}", hint=bad.hint))
    missing = [n for n, d in inputs.items() if n not in values and not d.optional]
    missing += [n for n, t in shared.items() if t is not None and not any(
        _key(x) == n for x in items)]
    if missing and not problems:
        problems.append(
            diagnostic(
                "no value for " + ", ".join(missing),
                hint="add " + " ".join(f"--set {m}=..." for m in missing),
            )
        )
    if problems:
        raise UsageError(problems)
    if ident == "the customer" and name != "the customer":
        ident = name
    return Customer(id=ident, name=name, values=values, customer_type=ctype,
                    origin="command line")


def find_customer(customers: Iterable[Customer], wanted: str) -> Customer:
    """The customer whose id is ``wanted``, or else the one so named (any case), in one
    pass over ``customers``. Raises :class:`~takst.dsl.errors.UsageError` if none or
    several are, with the names that come close."""
    low = wanted.casefold()
    by_id: Customer | None = None
    by_name: list[Customer] = []
    partial: list[Customer] = []
    for c in customers:  # every customer: a register's problems show at its end
        if by_id is None and c.id == wanted:
            by_id = c
        name = c.name.casefold()
        if name == low:
            by_name.append(c)
        if low in name and len(partial) < 5:
            partial.append(c)
    if by_id is not None:
        return by_id
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise UsageError(
            diagnostic(
                f"{len(by_name)} customers are named {wanted}",
                hint="use the id instead: " + ", ".join(c.id for c in by_name),
            )
        )
    hint = ("did you mean: " + ", ".join(f"{c.name} ({c.id})" for c in partial)
            if partial else "give an id or a name from the register")
    raise UsageError(diagnostic(f"no customer {wanted!r} in the register", hint=hint))


def _drain(customers: Iterable[Customer]) -> None:
    """Read a register to its end, so that its problems are raised."""
    for _ in customers:
        pass


# ------------------------------------------------------------------ evaluations


@attrs.define
class Evaluation:
    """A request after its first pass: the tariff checked, the customers known, the
    register-wide values (aggregates, pools) computed. Iterate it (or call
    :meth:`results`) for the results, computed one by one as they are consumed; each
    iteration evaluates again, reading the register again."""

    request: Request
    tariff: ast.Tariff
    engine: Engine
    context: Context
    customers: Iterable[Customer]
    #: How many customers the evaluation has (the register's rows, or 1); None until the
    #: register has been read through, in an evaluation that reads it once.
    rows: int | None
    version: str = __version__
    #: Warnings for customers of the last iteration whose name is not an entry of a list
    #: the tariff tests ``name in`` against, but matches one when case, spaces and dashes
    #: are ignored (``københavn``, ``Ringkøbing–Skjern`` with an en dash): the tariff
    #: matches names exactly, so the amount stays as it says, and the author is told.
    _warnings: list[Diagnostic] = attrs.field(factory=list)
    #: How the warnings are found when first asked for (``Session.run(...,
    #: warnings_later=True)``), or None: they are known.
    _later: Callable[[], list[Diagnostic]] | None = None
    #: In an evaluation that reads its register once (``Session.run(..., once=True)``):
    #: the checks of each customer that the first pass would have made.
    validator: Validator | None = None
    #: A register checked and billed in DuckDB (``takst.io.columnar.BatchEngine``), when the
    #: batch engine could read it there: it writes CSV and Parquet itself.
    batch: Any = None
    #: Why a batch run read its register with the Python reader instead, if it did.
    reader_note: str | None = None

    @property
    def warnings(self) -> list[Diagnostic]:
        if self._later is not None:
            later, self._later = self._later, None
            self._warnings = later()
        return self._warnings

    @warnings.setter
    def warnings(self, found: list[Diagnostic]) -> None:
        self._warnings, self._later = found, None

    def results(self) -> Iterator[CustomerResult]:
        """One result per customer, in order, with traces if the request asks for them.
        The customers' look-alike warnings are collected in :attr:`warnings` on the way."""
        from takst.io.register import Lookalikes

        if self.batch is not None:  # its warnings were found when it was made
            batch: Iterator[CustomerResult] = self.batch.evaluate((), self.request.year,
                                                                  self.context)
            return batch

        found = Lookalikes(self.tariff)
        self.warnings = []
        customers: Iterable[Customer] = self.customers
        if self.validator is not None:
            return self._once(customers, self.validator, found if found.active else None)
        if found.active:
            customers = self._watched(customers, found)
        return self.engine.evaluate(iter(customers), self.request.year, self.context,
                                    trace=self.request.trace)

    def _watched(self, customers: Iterable[Customer], found: Lookalikes) -> Iterator[Customer]:
        for c in customers:
            self.warnings.extend(found.check(c))
            yield c

    def _once(self, customers: Iterable[Customer], validator: Validator,
              found: Lookalikes | None) -> Iterator[CustomerResult]:
        """Results while the register is read, its one pass: a customer with a problem is
        not evaluated, and every problem is raised when the register has been read
        through, before any evaluation error (as the two-pass order has them)."""
        problems: list[Diagnostic] = []
        read_problems: list[RegisterError] = []

        def checked() -> Iterator[Customer]:
            lookalikes = found.check if found is not None else None
            warnings = self.warnings
            customer_problems = validator.problems
            try:
                for c in customers:
                    if lookalikes is not None:  # looked at as the customers pass
                        warnings.extend(lookalikes(c))
                    bad = customer_problems(c)
                    if bad:
                        problems.extend(bad)
                    else:
                        yield c
            except RegisterError as err:
                read_problems.append(err)
                raise

        good = checked()
        try:
            yield from self.engine.evaluate(good, self.request.year, self.context,
                                            trace=self.request.trace)
        except TariffError:
            if read_problems:  # the reader's problems come first, as in the first pass
                raise
            _drain(good)  # a register's own problems are told before an evaluation's
            if problems:
                raise RegisterError(problems) from None
            raise
        if problems:
            raise RegisterError(problems)
        self.rows = getattr(self.customers, "rows", None)

    def __iter__(self) -> Iterator[CustomerResult]:
        return self.results()

    def manifest(self) -> Manifest:
        """What the results are made from, for a result file (see ``takst verify``)."""
        from takst.provenance.manifest import make_manifest

        if self.rows is None:
            raise RuntimeError("the register has not been read through yet: iterate the "
                               "evaluation before asking for its manifest")
        return make_manifest(self.tariff, version=self.version, request=self.request.to_json(),
                             rows=self.rows)


def _interpreter(tariff: ast.Tariff) -> Engine:
    from takst.interpreter.evaluator import InterpreterEngine

    return InterpreterEngine(tariff, checked=True)


def _batch(tariff: ast.Tariff) -> Engine:
    """The compiled SQL engine on DuckDB (the ``batch`` extra); a tariff it cannot compile
    is evaluated by the interpreter instead, with a note naming the construct."""
    try:
        from takst.interpreter.batch.duckdb_engine import DuckDBEngine, _duckdb

        _duckdb()
    except ImportError:
        raise UsageError(diagnostic(
            "the batch engine needs DuckDB, which is not installed",
            hint="pip install -e '.[batch]', or use --engine interpreter")) from None
    engine = DuckDBEngine(tariff, checked=True)
    if engine.unsupported is not None:
        return _FallBack(_interpreter(tariff), engine.unsupported.note)
    return engine


def spark_factory(master: str | None = None) -> EngineFactory:
    """The compiled SQL engine on Apache Spark (the ``spark`` extra: PySpark and Java), on
    ``master`` (default ``local[2]``, bound to 127.0.0.1); a tariff it cannot compile is
    evaluated by the interpreter instead, with a note naming the construct."""

    def make(tariff: ast.Tariff) -> Engine:
        try:
            from takst.interpreter.batch.spark_engine import SparkEngine, available
        except ImportError:  # pragma: no cover - the engine module itself is always there
            raise UsageError(diagnostic("the Spark engine is not installed",
                                        hint="pip install -e '.[spark]'")) from None
        missing = available()
        if missing is not None:
            raise UsageError(diagnostic(missing, hint="pip install -e '.[spark]' (and Java 17), "
                                        "or use --engine batch or --engine interpreter"))
        engine = SparkEngine(tariff, checked=True, master=master)
        if engine.unsupported is not None:
            return _FallBack(_interpreter(tariff), engine.unsupported.note)
        return engine

    return make


class _FallBack:
    """The interpreter standing in for an engine that cannot compile a tariff."""

    name = "interpreter"

    def __init__(self, engine: Engine, note: str) -> None:
        self.engine = engine
        self.note = note
        self.prepare = engine.prepare
        self.evaluate = engine.evaluate


#: The engines a session knows unless it is given others.
DEFAULT_ENGINES: Mapping[str, EngineFactory] = {"interpreter": _interpreter, "batch": _batch,
                                                "spark": spark_factory()}


def engine_note(engine: Engine) -> str | None:
    """Why an evaluation runs on another engine than the one asked for, if it does."""
    return engine.note if isinstance(engine, _FallBack) else None


def _stamp(path: str) -> tuple[str, int, int] | None:
    from takst.provenance.manifest import resolve_recorded

    try:
        st = resolve_recorded(path).stat()
    except OSError:
        return None
    return (path, st.st_mtime_ns, st.st_size)


class Session:
    """Loads, checks and evaluates tariffs; one per front end (or per request served).

    ``engines`` maps engine names to factories (a checked tariff -> an
    :class:`~takst.interpreter.backend.Engine`); the default knows ``interpreter``.
    """

    def __init__(self, *, engines: Mapping[str, EngineFactory] | None = None,
                 version: str = __version__) -> None:
        self.engines: dict[str, EngineFactory] = dict(engines or DEFAULT_ENGINES)
        self.version = version
        # path -> (the files it was read from, with their stamps; the checked tariff)
        self._checked: dict[str, tuple[tuple[tuple[str, int, int] | None, ...], Checked]] = {}

    # ------------------------------------------------------------------ tariffs
    def _load(self, path: str | os.PathLike[str]) -> Checked:
        """Load and check; raises the loader's error for a file that cannot be read."""
        from takst.dsl.check import check
        from takst.dsl.loader import load_tariff
        from takst.provenance.manifest import tariff_sources

        key = os.fspath(path)
        hit = self._checked.get(key)
        if hit is not None and all(s is not None and _stamp(s[0]) == s for s in hit[0]):
            return hit[1]
        tariff = load_tariff(key)
        checked = Checked(key, tariff, tuple(check(tariff)))
        self._checked[key] = (tuple(_stamp(p) for p in tariff_sources(tariff)), checked)
        return checked

    def check(self, path: str | os.PathLike[str]) -> Checked:
        """Load ``path`` with its imports and check it. Never raises for a bad tariff:
        every problem is in :attr:`Checked.diagnostics`."""
        try:
            return self._load(path)
        except TariffError as e:
            return Checked(os.fspath(path), None, tuple(e.diagnostics))

    def load(self, path: str | os.PathLike[str]) -> Checked:
        """Load and check ``path``; raises :class:`~takst.dsl.errors.TariffError` (a
        :class:`~takst.dsl.errors.CheckError` listing every diagnostic) if it has errors.
        The warnings are in the result."""
        checked = self._load(path)
        if checked.errors:
            raise CheckError(list(checked.diagnostics))
        return checked

    def engine(self, name: str, tariff: ast.Tariff) -> Engine:
        """An engine called ``name`` for a checked tariff."""
        factory = self.engines.get(name)
        if factory is None:
            raise UsageError(diagnostic(f"no engine {name!r}",
                                        hint="the engines are: " + ", ".join(self.engines)))
        return factory(tariff)

    # ------------------------------------------------------------------ customers
    def _values(self, tariff: ast.Tariff, request: Request) -> list[str]:
        """Every NAME=VALUE item of the request; settings must name settings."""
        names = {s.name for s in tariff.settings}
        wrong = [i for i in request.settings if _key(i) not in names]
        if wrong:
            raise UsageError([diagnostic(
                f"setting {_key(i)}: the tariff has no setting {_key(i)}",
                hint=("its settings are: " + ", ".join(names)) if names
                else "the tariff has no settings") for i in wrong])
        return [*request.values, *request.settings]

    def _only_settings(self, tariff: ast.Tariff, request: Request) -> list[str]:
        """The request's values; with a register, only settings (else a usage error)."""
        items = self._values(tariff, request)
        shared = shared_names(tariff)
        per_customer = [x for x in items if _key(x) not in shared]
        if request.register and per_customer:
            raise UsageError(diagnostic(
                "with --register, --set gives only settings: " + ", ".join(per_customer),
                hint="the register holds each customer's values"
                + (f"; the settings are: {', '.join(shared)}" if shared else "")))
        return items

    def customers(self, tariff: ast.Tariff, request: Request) -> Register | list[Customer]:
        """The customers of ``request``: its register (read lazily), or the one customer
        its values describe. Raises :class:`~takst.dsl.errors.UsageError`."""
        items = self._only_settings(tariff, request)
        if request.register:
            inputs = {i.name: i for i in tariff.inputs}
            return open_register(request.register, inputs, delimiter=request.dialect.delimiter,
                                 decimal=request.dialect.decimal, sheet=request.dialect.sheet)
        if request.dialect.delimiter or request.dialect.decimal:
            raise UsageError(diagnostic(
                "--delimiter and --decimal describe a register, and there is no --register",
                hint="leave them out with --set (its numbers are written like 1234.50)"))
        if items:
            return [customer_from_values(tariff, items)]
        raise UsageError(
            diagnostic(
                "no customers to evaluate",
                hint="give --register REGISTER.csv, or the inputs with --set NAME=VALUE",
            )
        )

    def _settings(self, tariff: ast.Tariff, request: Request,
                  customers: Iterable[Customer]) -> dict[str, Value]:
        try:
            return settings_from_values(tariff, self._values(tariff, request),
                                        register=bool(request.register))
        except UsageError:
            if request.register:
                _drain(customers)  # a register's own problems are told first
            raise

    # ------------------------------------------------------------------ evaluating
    def run(self, request: Request, *, once: bool = False,
            warnings_later: bool = False) -> Evaluation:
        """The first pass of ``request``: load and check the tariff, find its customers,
        compute the register-wide values. Iterate the result for the results.

        ``once=True`` allows reading a register only once, when the tariff has no
        register-wide values and the interpreter bills: the register is then checked as
        the results are computed, and its problems are raised at the end of the
        iteration (:class:`~takst.dsl.errors.RegisterError`), after some results were
        given. Use it only where those can be thrown away (an atomic output file, a
        spool); the evaluation's :attr:`~Evaluation.rows` is known after the iteration.

        ``warnings_later=True``: a batch run finds its look-alike warnings when they are
        first asked for, not before it returns (its results written by DuckDB meanwhile
        are not delayed by them). Ask for them only once the results are consumed.

        Raises :class:`~takst.dsl.errors.TariffError`: the tariff's diagnostics, a
        register's problems, a usage problem of the request."""
        tariff = self._tariff(request)
        batch = bool(request.register and request.engine == "batch" and not request.trace)
        customers: Register | list[Customer] | None = None
        if batch and request.dialect.sheet is None:
            # the reader opens the register only where DuckDB does not read it
            self._only_settings(tariff, request)
        else:
            customers = self.customers(tariff, request)
        reader_note = None
        if batch:
            fast = self._batch_run(tariff, request, warnings_later)
            if isinstance(fast, Evaluation):
                return fast
            reader_note = fast
        elif request.register and Path(request.register).suffix.lower() == ".parquet":
            raise UsageError(diagnostic(
                f"{request.register} is a Parquet register, which only the batch engine reads",
                hint="add --engine batch (pip install 'takst[batch]')"))
        if customers is None:
            customers = self.customers(tariff, request)
        # traces come from the reference interpreter, whatever engine bills
        engine = self.engine("interpreter" if request.trace else request.engine, tariff)
        settings = self._settings(tariff, request, customers)
        if (once and request.register and not tariff.aggregates and not tariff.pools
                and getattr(engine, "name", None) == "interpreter"
                and all(s.name in settings for s in tariff.settings)):
            from takst.dsl.symbols import Symbols
            from takst.interpreter.prepare import Validator

            context = Context(settings=settings, register=request.register)
            return Evaluation(request, tariff, engine, context, customers, None, self.version,
                              validator=Validator(tariff, Symbols(tariff)))
        if request.register:
            context = engine.prepare(iter(customers), request.year, settings=settings,
                                     register=request.register)
            rows = getattr(customers, "rows", None)
            if rows is None:  # pragma: no cover - an engine that did not read the register
                rows = sum(1 for _ in customers)
        else:
            listed = list(customers)
            problems = _validate(engine, listed)
            if problems:
                raise UsageError(problems)
            context = Context(settings=settings)
            rows = len(listed)
        return Evaluation(request, tariff, engine, context, customers, rows, self.version,
                          reader_note=reader_note)

    def _batch_run(self, tariff: ast.Tariff, request: Request,
                   warnings_later: bool = False) -> Evaluation | str | None:
        """A register run wholly in DuckDB (:func:`takst.io.columnar.batch_engine`): its
        evaluation, or why the register is read by the Python reader instead (None: the
        tariff does not compile, or the session has its own batch engine)."""
        if self.engines.get("batch") is not _batch or request.register is None:
            return None
        try:
            from takst.interpreter.batch.duckdb_engine import FallsBack, NeedsReader, unsupported
            from takst.io.columnar import batch_engine
        except ImportError:
            return None
        if unsupported(tariff) is not None:
            return None  # the interpreter, with the note naming the construct
        items = self._values(tariff, request)
        try:
            engine = batch_engine(
                tariff, request.register, request.year,
                lambda: settings_from_values(tariff, items, register=True),
                delimiter=request.dialect.delimiter, decimal=request.dialect.decimal)
        except NeedsReader as why:
            if Path(request.register).suffix.lower() == ".parquet":
                raise UsageError(diagnostic(
                    f"the Parquet register {request.register} cannot be checked in DuckDB: "
                    f"{why}", hint="write it as a CSV register")) from None
            return f"the register is read by the Python reader ({why})"
        except FallsBack:
            return None
        # the look-alike warnings now (a batch engine may write its results itself), or
        # when first asked for, once the results are written
        if warnings_later:
            return Evaluation(request, tariff, engine, engine.run.context, [],
                              engine.loaded.rows, self.version, batch=engine,
                              later=engine.lookalikes)
        return Evaluation(request, tariff, engine, engine.run.context, [], engine.loaded.rows,
                          self.version, batch=engine, warnings=engine.lookalikes())

    def _tariff(self, request: Request) -> ast.Tariff:
        tariff = self.load(request.tariff).tariff
        assert tariff is not None  # load raises otherwise
        return tariff

    def explain(self, request: Request, customer: str | None = None) -> CustomerResult:
        """One customer's result with its trace: the customer the values describe, or the
        customer of the register with id (or name) ``customer``."""
        request = attrs.evolve(request, trace=True)
        if not request.register:
            return next(iter(self.run(request)))
        tariff = self._tariff(request)
        customers = self.customers(tariff, request)
        if not customer:
            _drain(customers)
            raise UsageError(
                diagnostic("which customer?", hint="add --customer ID_OR_NAME, e.g. --customer 0621")
            )
        chosen = find_customer(customers, customer)
        engine = self.engine("interpreter", tariff)  # a trace: always the reference
        settings = self._settings(tariff, request, customers)
        context = engine.prepare(iter(customers), request.year, settings=settings,
                                 register=request.register)
        return next(engine.evaluate([chosen], request.year, context, trace=True))

    def replay(self, manifest: Manifest) -> tuple[Evaluation, list[str]]:
        """The evaluation a result's manifest records, with the files as they are now,
        and the recorded entries this takst does not know (left out)."""
        request, ignored = Request.from_json(manifest.request)
        return self.run(attrs.evolve(request, trace=False)), [*manifest.ignored, *ignored]

    def compare(
        self,
        old: str,
        new: str,
        register: str,
        *,
        old_year: int,
        new_year: int,
        values: Sequence[str] = (),
        dialect: Dialect = Dialect(),
        percent_bands: versions.Bands | None = None,
        kroner_bands: versions.Bands | None = None,
    ) -> versions.Comparison:
        """Bill ``register`` under two tariffs (see :mod:`takst.compare.compare`); the
        problems of both tariffs are raised at once."""
        from takst.compare import compare as versions

        loaded: dict[str, ast.Tariff] = {}
        problems: list[Diagnostic] = []
        for path in dict.fromkeys([old, new]):  # the same file twice is read once
            try:
                loaded[path] = self._tariff(Request(path, old_year))
            except TariffError as e:  # report the problems of both files at once
                problems.extend(e.diagnostics)
        if problems:
            raise CheckError(problems)
        a, b = loaded[old], loaded[new]
        if a.currency != b.currency:
            raise UsageError(diagnostic(
                f"the old tariff bills in {a.currency}, the new one in {b.currency}",
                hint="compare two tariffs in the same currency"))
        customers = list(open_register(register, versions.merged_inputs(a, b),
                                       delimiter=dialect.delimiter, decimal=dialect.decimal,
                                       sheet=dialect.sheet))
        settings = {**settings_from_values(a, values, register=True),
                    **settings_from_values(b, values, register=True)}
        return versions.compare(
            a, b, customers, old_year=old_year, new_year=new_year,
            percent_bands=percent_bands or versions.DEFAULT_PERCENT_BANDS,
            kroner_bands=kroner_bands or versions.DEFAULT_KRONER_BANDS,
            register=register, checked=True, settings=settings)


def _validate(engine: Engine, customers: Sequence[Customer]) -> list[Diagnostic]:
    """Problems of customers only the tariff can see (customer types, services), for
    customers not from a register (a register's are raised by ``engine.prepare``)."""
    from takst.interpreter.evaluator import InterpreterEngine

    if isinstance(engine, _FallBack):
        engine = engine.engine
    if isinstance(engine, InterpreterEngine):
        return engine.evaluator.validate(customers)
    validate = getattr(engine, "validate", None)
    if not callable(validate):
        return []
    try:
        found = validate(customers)
    except RegisterError as e:  # an engine that raises its problems rather than returning them
        return list(e.diagnostics)
    return list(found or [])
