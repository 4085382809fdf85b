"""Reproducibility manifests: what a result was made from, and checking it again.

Every JSON or CSV result of ``takst eval`` (or of any front end, through
:mod:`takst.session`) records a :class:`Manifest`: the takst version, the
SHA-256 of every tariff file used (the main file first, then any file it
imports) and of the register, and the evaluation request itself
(:class:`takst.session.Request`: tariff, year, register or values, settings,
register dialect, engine, trace). It has no timestamp and no absolute path that
was not given, so the same inputs give byte-identical results.

* A JSON result holds it as its top-level ``"manifest"`` object.
* A CSV result cannot hold it without breaking CSV readers (a comment line is not
  CSV), so ``--out RESULT.csv`` also writes ``RESULT.csv.manifest.json`` next to
  it: the manifest and the SHA-256 of the CSV itself. CSV on standard output has
  no manifest.

``takst verify RESULT`` reads the result back (:func:`load_result`), hashes the
recorded files again (:func:`file_changes`), replays the recorded request with
the current files (:meth:`takst.session.Session.replay`), and compares every
amount (:func:`compare_amounts`). Manifests of version 1, which recorded the
command's options instead of a request, are still read.

Paths are recorded as given on the command line, so they are relative to the
folder the command ran in; ``takst verify`` resolves them the same way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePath
from typing import Any

import attrs

from takst import startup
from takst.dsl import ast
from takst.dsl.errors import SourceText, Span, TariffError, diagnostic
from takst.dsl.numbers import money_text
from takst.interpreter.model import CustomerResult
from takst.render.report import csv_text_read
from takst.render.results import value_json

#: Raised when the manifest's shape changes incompatibly: 2 records the request.
MANIFEST_VERSION = 2
#: Version 1 recorded ``set``, ``year`` and the command's ``options``; still read.
OLD_VERSIONS = frozenset({1})
#: The sidecar of a CSV result ``x.csv`` is ``x.csv`` + this.
SIDECAR_SUFFIX = ".manifest.json"
#: Options of a version 1 manifest that this takst replays (``delimiter``,
#: ``decimal``, ``trace``) or that do not change the amounts.
V1_OPTIONS = frozenset({"command", "func", "file", "register", "set", "year", "out",
                        "format", "trace", "delimiter", "decimal"})
#: How many hex digits of a SHA-256 a report shows.
SHORT = 12

MANIFEST_KEY = '"manifest"'
CHARGES_KEY = '"charges"'
HINT_REMAKE = "make the result again with `takst eval ... --format json --out FILE`"


class ResultError(TariffError):
    """A file given to ``takst verify`` is not a readable takst result, or a file
    its manifest records is missing."""

    kind = "result error"


# ------------------------------------------------------------------ the manifest


@attrs.frozen
class FileRecord:
    """A file a result was made from: its path as given, and the SHA-256 of its bytes."""

    path: str
    sha256: str


@attrs.frozen
class RegisterRecord:
    """The register a result was made from, and how many customers it had."""

    path: str
    sha256: str
    rows: int


@attrs.frozen
class Manifest:
    """What a result was made from. ``tariffs[0]`` is the main tariff file."""

    takst_version: str
    tariffs: tuple[FileRecord, ...]
    register: RegisterRecord | None
    #: The request, as :meth:`takst.session.Request.to_json` gives it.
    request: Mapping[str, Any]
    #: Recorded entries this takst does not know (``NAME=VALUE``; read, never written).
    ignored: tuple[str, ...] = ()

    @property
    def year(self) -> int:
        year: int = self.request["year"]
        return year

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data, keys in a fixed order."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "takst_version": self.takst_version,
            "tariffs": [{"path": t.path, "sha256": t.sha256} for t in self.tariffs],
            "register": None if self.register is None else {
                "path": self.register.path,
                "sha256": self.register.sha256,
                "rows": self.register.rows,
            },
            "request": dict(self.request),
        }


STDLIB_PREFIX = "stdlib:"


def resolve_recorded(path: str | Path) -> Path:
    """The file a recorded path names: ``stdlib:NAME`` is a module of the installed
    takst's standard library (wherever takst is installed); anything else is a path."""
    text = str(path)
    if text.startswith(STDLIB_PREFIX):
        from takst.dsl.loader import stdlib_dir

        return stdlib_dir() / f"{text[len(STDLIB_PREFIX):]}.tariff"
    return Path(text)


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits (``stdlib:NAME`` resolved); the one
    :func:`prefetch_sha256` found, when the file has not changed since."""
    resolved = resolve_recorded(path)
    early = startup.HASHES.pop(str(resolved), None)
    if early is not None:
        thread, found = early
        thread.join()
        if found and found[0] == startup.stat_key(resolved):
            return str(found[1])
    return startup.sha256(resolved)


def prefetch_sha256(path: str | Path) -> None:
    """Start finding a file's SHA-256 in a thread, for the manifest written at the end of
    a run (a register of a million rows takes a tenth of a second; ``hashlib`` and file
    reads let other threads run meanwhile), unless the ``takst`` command began it
    (:mod:`takst.startup`). :func:`sha256_file` takes it only when the file's size, times
    and inode are those it had before and after it was hashed, and hashes the file itself
    otherwise; an error here only means it does."""
    startup.hash_ahead(str(resolve_recorded(path)))


def forget_sha256(path: str | Path) -> None:
    """Drop a hash :func:`prefetch_sha256` started and nothing took (a run that failed)."""
    startup.HASHES.pop(str(resolve_recorded(path)), None)


def tariff_sources(tariff: ast.Tariff) -> list[str]:
    """Every tariff file ``tariff`` was read from: the main file first, then each file
    it imports, directly or through another module, once, in the order they were read.

    This is the one place that decides which files a result records, so the manifest
    of every result, and so ``takst verify``, sees exactly the files returned here.
    The imports come from ``tariff.modules``, which :func:`takst.dsl.loader.load_tariff`
    fills; **a new way for a tariff to read another file must be added here.**
    Paths are as the loader names them (the path given on the command line, and
    imported files relative to the current folder), so they open from the current
    folder.
    """
    return list(dict.fromkeys([tariff.file, *tariff.modules]))


def _portable(path: str) -> str:
    """A path as given, with ``/`` separators, so a manifest reads the same on every system;
    a standard-library module as ``stdlib:NAME``, not where takst happens to be installed."""
    from takst.dsl.loader import stdlib_dir

    here = stdlib_dir()
    folders = {Path(os.path.abspath(here)), here.resolve()}
    inside = Path(os.path.abspath(path)).parent in folders  # the loader names modules so
    if inside and path.endswith(".tariff"):
        return STDLIB_PREFIX + Path(path).stem
    return PurePath(path).as_posix()


def make_manifest(
    tariff: ast.Tariff,
    *,
    version: str,
    request: Mapping[str, Any],
    rows: int,
) -> Manifest:
    """The manifest of a result just computed from ``tariff`` for ``request`` (JSON data
    of a :class:`takst.session.Request`; its paths are recorded portably)."""
    register = request.get("register")
    recorded = dict(request)
    recorded["tariff"] = _portable(str(request["tariff"]))
    if register is not None:
        recorded["register"] = _portable(str(register))
    return Manifest(
        takst_version=version,
        tariffs=tuple(FileRecord(_portable(p), sha256_file(p)) for p in tariff_sources(tariff)),
        register=None if register is None else RegisterRecord(
            _portable(str(register)), sha256_file(register), rows
        ),
        request=recorded,
    )


def sidecar_path(result: str | Path) -> Path:
    """Where the manifest of a CSV result is written: ``x.csv`` -> ``x.csv.manifest.json``."""
    result = Path(result)
    return result.with_name(result.name + SIDECAR_SUFFIX)


def sidecar_text(manifest: Manifest, result_text: str | None = None, *,
                 sha256: str | None = None, locale: str | None = None) -> str:
    """The sidecar of a CSV result: its manifest, and the SHA-256 of the CSV (so that an
    edited CSV, or a CSV and a sidecar of two different runs, are noticed). It does not
    name the CSV: the two go by name (``x.csv``, ``x.csv.manifest.json``), and the same
    inputs give the same bytes whatever the output is called. Give the CSV's text, or
    the SHA-256 of its UTF-8 bytes (computed while it was written)."""
    if sha256 is not None:
        digest = sha256
    elif result_text is not None:
        digest = hashlib.sha256(result_text.encode("utf-8")).hexdigest()
    else:
        raise TypeError("sidecar_text needs the CSV's text or its sha256")
    result = {"format": "csv", "sha256": digest}
    if locale is not None:  # CSV for a Nordic Excel (takst.render.excel); plain CSV has none
        result["locale"] = locale
    return (
        "{\n"
        f'  "result": {json.dumps(result)},\n'
        f'  "manifest": {json.dumps(manifest.to_json(), ensure_ascii=False)}\n'
        "}\n"
    )


# ------------------------------------------------------------------ reading a result back


@attrs.frozen
class RecordedCustomer:
    """One customer of a result as it was written: amounts by charge (None = pending)."""

    id: str
    name: str
    amounts: tuple[tuple[str, str | None], ...]
    #: The input values the result shows (JSON only; a CSV result does not have them).
    inputs: Mapping[str, Any] | None


@attrs.frozen
class RecordedResult:
    """A result read back by ``takst verify``."""

    path: str
    format: str  # "json" or "csv"
    manifest: Manifest
    charges: tuple[str, ...]
    customers: tuple[RecordedCustomer, ...]
    #: For a CSV result whose bytes differ from the SHA-256 in its sidecar: (recorded, now).
    edited: tuple[str, str] | None = None
    #: The CSV is older than its sidecar and does not match it: a write of the pair was
    #: interrupted between its two renames (the sidecar is renamed first).
    half_written: bool = False
    #: The whole document as read: the JSON data of a JSON result; for a CSV result
    #: ``{"csv": TEXT, "sidecar": DATA}``. ``takst verify`` recomputes it and compares.
    document: Any = None


def _fail(message: str, *, hint: str | None = None, where: str | None = None,
          span: Span | None = None) -> ResultError:
    return ResultError(diagnostic(message, span, hint=hint, where=where))


def _read(path: str, what: str) -> str:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise _fail(f"no {what} {path}", hint="check the path and the file name") from None
    except IsADirectoryError:
        raise _fail(f"{path} is a folder, not a {what}") from None
    except OSError as err:
        raise _fail(f"cannot read {path}: {err.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise _fail(f"{path} is not UTF-8 text, so it is not a takst result",
                    where=f"{path}, line {line}", hint=HINT_REMAKE) from None


def _line_of(text: str, needle: str) -> int:
    at = text.find(needle)
    return 1 if at < 0 else text.count("\n", 0, at) + 1


def _load_json(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        # A result is one object: text that does not end with its brace was cut off.
        cut = not text.rstrip().endswith("}")
        raise _fail(
            f"{path} is not complete JSON: {err.msg.lower()}"
            if cut else f"{path} is not valid JSON: {err.msg.lower()}",
            span=Span(path, err.lineno, err.colno, err.lineno, err.colno + 1,
                      source=SourceText(text)),
            hint=("the file ends too early: it was cut off while being copied or written; "
                  if cut else "the file was damaged or edited by hand; ") + HINT_REMAKE,
        ) from None


def _manifest(data: Any, path: str, at: str) -> Manifest:
    """Check the shape of a manifest read from ``path``; ``at`` says where it stands."""

    def bad(what: str) -> ResultError:
        return _fail(f"the manifest of {path} is damaged: {what}", where=at, hint=HINT_REMAKE)

    if not isinstance(data, dict):
        raise bad("it is not an object")
    version = data.get("manifest_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > MANIFEST_VERSION:
        raise _fail(
            f"{path} was made by a newer takst (manifest version {version}; this takst "
            f"reads version {MANIFEST_VERSION})",
            where=at, hint="verify it with the takst version that made it, or a newer one",
        )
    if not isinstance(version, int) or isinstance(version, bool) or (
            version != MANIFEST_VERSION and version not in OLD_VERSIONS):
        raise bad("manifest_version is missing or not a number")

    def text(obj: Mapping[str, Any], key: str, where: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise bad(f"{where}{key} is missing or not text")
        return value

    def digest(obj: Mapping[str, Any], where: str) -> str:
        value = text(obj, "sha256", where)
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise bad(f"{where}sha256 is not 64 hex digits")
        return value

    tariffs = data.get("tariffs")
    if not isinstance(tariffs, list) or not tariffs or not all(isinstance(t, dict)
                                                               for t in tariffs):
        raise bad("tariffs is missing or empty")
    records = tuple(
        FileRecord(text(t, "path", f"tariff {i}: "), digest(t, f"tariff {i}: "))
        for i, t in enumerate(tariffs, 1)
    )
    reg = data.get("register")
    register = None
    if reg is not None:
        if not isinstance(reg, dict):
            raise bad("register is not an object")
        rows = reg.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise bad("register rows is not a number")
        register = RegisterRecord(text(reg, "path", "register "), digest(reg, "register "), rows)
    request: Any
    ignored: Sequence[str] = ()
    if version == 1:
        request, ignored = _v1_request(data, records, register, bad)
    else:
        request = data.get("request")
    if not isinstance(request, dict):
        raise bad("request is missing or not an object")
    _check_request(request, register, bad, records)
    return Manifest(
        takst_version=text(data, "takst_version", ""),
        tariffs=records,
        register=register,
        request=request,
        ignored=tuple(ignored),
    )


def _v1_request(data: Mapping[str, Any], tariffs: Sequence[FileRecord],
                register: RegisterRecord | None,
                bad: Any) -> tuple[dict[str, Any], list[str]]:
    """The request a version 1 manifest (``set``, ``year``, ``options``) stands for, and
    the options this takst does not know."""
    sets = data.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise bad("set is not a list of NAME=VALUE texts")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise bad("options is not an object")
    request = {
        "tariff": tariffs[0].path,
        "year": data.get("year"),
        "register": None if register is None else register.path,
        "values": sets,  # with a register, version 1 recorded no --set
        "settings": [],
        "dialect": {"delimiter": options.get("delimiter"), "decimal": options.get("decimal")},
        "engine": "interpreter",
        "trace": bool(options.get("trace", False)),
    }
    ignored = [f"{k}={v}" for k, v in options.items() if k not in V1_OPTIONS]
    return request, ignored


def _check_request(request: Mapping[str, Any], register: RegisterRecord | None,
                   bad: Any, tariffs: Sequence[FileRecord] = ()) -> None:
    """The shape of a recorded request (see :class:`takst.session.Request`)."""
    tariff = request.get("tariff")
    if not isinstance(tariff, str) or not tariff:
        raise bad("the request's tariff is missing or not text")
    year = request.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise bad("year is missing or not a number")
    if not 1900 <= year <= 2200:
        raise bad("year is not a year from 1900 to 2200")
    reg = request.get("register")
    if reg is not None and not isinstance(reg, str):
        raise bad("the request's register is not text")
    if (reg is None) != (register is None):
        raise bad("the request's register is not the register recorded")
    for key in ("values", "settings"):
        items = request.get(key, [])
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise bad(f"{key} is not a list of NAME=VALUE texts")
    if reg is None and not request.get("values") and not request.get("settings"):
        raise bad("it records neither a register nor --set values")
    dialect = request.get("dialect", {})
    if dialect is not None and (not isinstance(dialect, dict) or not all(
            v is None or isinstance(v, str) for v in dialect.values())):
        raise bad("dialect is not an object of texts")
    for key, allowed in DIALECT.items():
        value = (dialect or {}).get(key)
        if value is not None and value not in allowed:
            raise bad(f"dialect {key} is {json.dumps(value, ensure_ascii=False)[:40]}, "
                      f"not one of {', '.join(allowed)}")
    if not isinstance(request.get("engine", "interpreter"), str):
        raise bad("engine is not text")
    if request.get("engine", "interpreter") not in ENGINES:
        raise bad(f"engine is not one of {', '.join(ENGINES)}")
    if not isinstance(request.get("trace", False), bool):
        raise bad("trace is not true or false")
    if tariffs and tariff != tariffs[0].path:
        raise bad("the request's tariff is not the first tariff recorded")
    if register is not None and reg != register.path:
        raise bad("the request's register is not the register recorded")


#: The register dialects a request may record (see :class:`takst.session.Dialect`).
DIALECT = {"delimiter": ("comma", "semicolon", "tab"), "decimal": ("point", "comma")}
#: The engines a request may record.
ENGINES = ("interpreter", "batch")


def _json_result(path: str, text: str) -> RecordedResult:
    data = _load_json(path, text)
    if not isinstance(data, dict) or "manifest" not in data:
        if isinstance(data, dict) and "customers" in data:
            message = f"{path} has no manifest: it was made by a takst without manifests"
        elif isinstance(data, dict) and "customer" in data:
            message = f"{path} is the output of `takst explain`, which has no manifest"
        else:
            message = f"{path} is not a takst result (it has no manifest)"
        raise _fail(message, where=path, hint=HINT_REMAKE)
    at = f"{path}, line {_line_of(text, MANIFEST_KEY)}"
    manifest = _manifest(data["manifest"], path, at)

    def bad(what: str, where: str) -> ResultError:
        return _fail(f"{path} is damaged: {what}", where=where, hint=HINT_REMAKE)

    charges_data = data.get("charges")
    if not isinstance(charges_data, list) or not all(
        isinstance(c, dict) and isinstance(c.get("charge"), str) for c in charges_data
    ):
        raise bad("its list of charges is missing", f"{path}, line {_line_of(text, CHARGES_KEY)}")
    charges = tuple(c["charge"] for c in charges_data)
    customers_data = data.get("customers")
    if not isinstance(customers_data, list):
        raise bad("its list of customers is missing", path)
    customers = []
    for i, c in enumerate(customers_data, 1):
        where = f"{path}, customer {i}"
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) \
                or not isinstance(c.get("name"), str) or not isinstance(c.get("lines"), list):
            raise bad("a customer has no id, name or lines", where)
        amounts = []
        for ln in c["lines"]:
            if not isinstance(ln, dict) or not isinstance(ln.get("charge"), str) \
                    or not (ln.get("amount") is None or isinstance(ln.get("amount"), str)):
                raise bad(f"a line of customer {c['id']} has no charge or amount", where)
            amounts.append((ln["charge"], ln["amount"]))
        inputs = c.get("inputs")
        customers.append(RecordedCustomer(
            id=c["id"], name=c["name"], amounts=tuple(amounts),
            inputs=inputs if isinstance(inputs, dict) else None,
        ))
    return RecordedResult(path=path, format="json", manifest=manifest, charges=charges,
                          customers=tuple(customers), document=data)


def _csv_result(path: str, sidecar: str) -> RecordedResult:
    side_text = _read(sidecar, "manifest file")
    data = _load_json(sidecar, side_text)
    if not isinstance(data, dict) or "manifest" not in data:
        raise _fail(f"{sidecar} is not the manifest of a takst result", where=sidecar,
                    hint="make the result again with `takst eval ... --format csv --out FILE`")
    at = f"{sidecar}, line {_line_of(side_text, MANIFEST_KEY)}"
    manifest = _manifest(data["manifest"], sidecar, at)
    text = _read(path, "result file")
    recorded = data.get("result")
    edited = None
    half = False
    if isinstance(recorded, dict) and isinstance(recorded.get("sha256"), str):
        now = sha256_file(path)
        if now != recorded["sha256"]:
            edited = (recorded["sha256"], now)
            # the sidecar is renamed into place first: a CSV older than it did not get
            # replaced (an edit of the CSV makes it the newer of the two)
            half = os.stat(path).st_mtime_ns < os.stat(sidecar).st_mtime_ns
    locale = recorded.get("locale") if isinstance(recorded, dict) else None
    excel = isinstance(locale, str)
    if excel:  # CSV for Excel: a BOM, ';', decimal commas, ="0301" for texts
        from takst.render.excel import SEPARATOR, excel_text_read

        reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""),
                            delimiter=SEPARATOR)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if len(header) < 4 or header[:2] != ["id", "name"] or header[-2:] != ["total", "pending"]:
        raise _fail(f"{path} is not a takst CSV result: its first row is not "
                    "id,name,CHARGES...,total,pending", where=f"{path}, row 1", hint=HINT_REMAKE)
    charges = tuple(header[2:-2])
    customers = []
    try:
        for fields in reader:
            if not fields:
                continue
            if len(fields) != len(header):
                raise _fail(f"{path} is damaged: this row has {len(fields)} fields, but the "
                            f"header has {len(header)}", where=f"{path}, row {reader.line_num}",
                            hint=HINT_REMAKE)
            if excel:
                amounts = tuple((charge, cell.replace(",", ".") if cell else None)
                                for charge, cell in zip(charges, fields[2:-2], strict=True))
                ident, name = excel_text_read(fields[0]), excel_text_read(fields[1])
            else:
                amounts = tuple((charge, None if cell == "pending" else cell)
                                for charge, cell in zip(charges, fields[2:-2], strict=True))
                ident, name = csv_text_read(fields[0]), csv_text_read(fields[1])
            customers.append(RecordedCustomer(id=ident, name=name, amounts=amounts,
                                              inputs=None))
    except csv.Error as err:
        raise _fail(f"{path} is not readable CSV: {err}", where=f"{path}, row {reader.line_num}",
                    hint=HINT_REMAKE) from None
    return RecordedResult(path=path, format="csv", manifest=manifest, charges=charges,
                          customers=tuple(customers), edited=edited, half_written=half,
                          document={"csv": text, "sidecar": data})


def load_result(path: str) -> RecordedResult:
    """Read a result of ``takst eval``: a JSON file with its manifest inside, or a CSV
    file with its sidecar (either of the two may be named). Raises :class:`ResultError`,
    also when the manifest names a file outside the result's project root
    (:func:`check_confined`)."""
    if path.endswith(SIDECAR_SUFFIX):
        return _confined(_csv_result(path[: -len(SIDECAR_SUFFIX)], path), path)
    sidecar = sidecar_path(path)
    if Path(path).suffix.lower() != ".json" and sidecar.is_file():
        return _confined(_csv_result(path, str(sidecar)), str(sidecar))
    if Path(path).suffix.lower() == ".csv" and Path(path).is_file():
        raise _fail(
            f"{path} has no manifest: {sidecar} does not exist",
            hint="a CSV result is verifiable when written with --out, which writes its "
            "manifest next to it; or use --format json",
        )
    return _confined(_json_result(path, _read(path, "result file")), path)


def result_root(result: str | Path) -> Path:
    """The project root of a result: the nearest folder at or above it with a
    ``pyproject.toml``, ``takst.toml`` or ``.git``; without one, the current folder
    (where its recorded paths are relative to)."""
    from takst.dsl.loader import ROOT_MARKERS

    start = Path(os.path.abspath(result)).parent.resolve()
    for folder in (start, *start.parents):
        if any((folder / m).exists() for m in ROOT_MARKERS):
            return folder
    return Path.cwd().resolve()


def check_confined(manifest: Manifest, result: str, where: str) -> None:
    """Refuse a manifest that names a file outside the result's project root
    (:func:`result_root`): an absolute path or ``..`` that leads out, or a symbolic
    link out of it; ``stdlib:NAME`` must name a module of the standard library. Nothing
    is read, so nothing of such a file is shown."""
    root = result_root(result)
    named = [("tariff", t.path) for t in manifest.tariffs]
    if manifest.register is not None:
        named.append(("register", manifest.register.path))
    for kind, recorded in named:
        if recorded.startswith(STDLIB_PREFIX):
            if recorded[len(STDLIB_PREFIX):].isidentifier():
                continue
            reason = "is not the name of a standard-library module"
        elif "\x00" in recorded:
            reason = "holds a NUL character"
        else:
            try:
                real = Path(os.path.realpath(recorded))
                real.relative_to(root)
                continue
            except (ValueError, OSError):
                reason = f"is outside the result's project root {_shown(root)}"
        raise _fail(
            f"the manifest of {result} names the {kind} file "
            f"{json.dumps(recorded, ensure_ascii=False)[:200]}, which {reason}; takst "
            "verify reads only the files inside the project that made the result, and "
            "read nothing", where=where,
            hint="verify a result in the project that made it (a takst result names its "
            "files relative to the folder it was made in)")


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path) if path != Path.cwd().resolve() else "(this folder)"
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def _confined(result: RecordedResult, manifest_file: str) -> RecordedResult:
    try:
        text: str | None = Path(manifest_file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):  # pragma: no cover - it was just read
        text = None
    at = manifest_file if text is None else f"{manifest_file}, line {_line_of(text, MANIFEST_KEY)}"
    check_confined(result.manifest, result.path, at)
    return result


# ------------------------------------------------------------------ what changed


@attrs.frozen
class FileChange:
    """A recorded file whose bytes are not the same now, or that is used or unused now."""

    kind: str  # "tariff" or "register"
    path: str
    before: str | None  # recorded SHA-256; None: not used when the result was made
    after: str | None  # SHA-256 now; None: not used now

    def text(self) -> str:
        if self.before is None:
            return f"{self.path} is used now, but was not when the result was made"
        if self.after is None:
            return f"{self.path} was used to make the result, but is not used now"
        return (f"{self.path} changed since the result was made "
                f"(sha256 {self.before[:SHORT]}… -> {self.after[:SHORT]}…)")


def file_changes(manifest: Manifest, result: str) -> list[FileChange]:
    """Hash every recorded file again. Raises :class:`ResultError` naming every missing one."""
    records: list[tuple[str, str, str]] = [("tariff", t.path, t.sha256) for t in manifest.tariffs]
    if manifest.register is not None:
        records.append(("register", manifest.register.path, manifest.register.sha256))
    missing = [(kind, path) for kind, path, _ in records if not resolve_recorded(path).is_file()]
    if missing:
        raise ResultError([
            diagnostic(
                f"the {kind} file {path} does not exist, but {result} was made from it",
                hint="run takst verify in the folder the result was made in (its paths are "
                "relative to it), or restore the file",
            )
            for kind, path in missing
        ])
    changes = []
    for kind, path, before in records:
        after = sha256_file(path)
        if after != before:
            changes.append(FileChange(kind, path, before, after))
    return changes


def source_changes(manifest: Manifest, tariff: ast.Tariff) -> list[FileChange]:
    """Tariff files used now that were not recorded, and recorded ones not used now
    (once a tariff can import files, an edit can add or drop an import)."""
    recorded = [t.path for t in manifest.tariffs]
    now = [_portable(p) for p in tariff_sources(tariff)]
    added = [FileChange("tariff", p, None, sha256_file(p)) for p in now if p not in recorded]
    dropped = [FileChange("tariff", t.path, t.sha256, None) for t in manifest.tariffs
               if t.path not in now]
    return added + dropped


# ------------------------------------------------------------------ the whole document

#: How many edited fields ``takst verify`` lists.
MAX_EDITS = 10


def document_edits(recorded: RecordedResult, tariff: ast.Tariff, results: Sequence[CustomerResult],
                   manifest_now: Manifest) -> list[str]:
    """Every field of a result that is not what takst writes for it now: the whole
    document is made again from the recomputed results and the recomputed manifest and
    compared with the one read (JSON: every value, at its path such as ``totals.total``;
    CSV: every row, and every field of the sidecar). The takst version is left out
    (reported on its own), and so is the manifest of a version 1 result."""
    from takst.render import report

    year = manifest_now.year
    now_manifest = manifest_now.to_json()
    if recorded.format == "json":
        rec = dict(recorded.document)
        with_trace = bool(manifest_now.request.get("trace"))
        now = json.loads(report.to_json(tariff, year, results, with_trace=with_trace,
                                        manifest=now_manifest))
        _align_manifest(rec, now)
        return _diff(rec, now, "")[:MAX_EDITS]
    recorded_result = recorded.document["sidecar"].get("result")
    locale = recorded_result.get("locale") if isinstance(recorded_result, dict) else None
    if isinstance(locale, str):
        from takst.render.excel import to_excel_csv
        from takst.render.locale import numbers, resolve_locale

        try:
            mark = numbers(resolve_locale(locale, tariff.currency)).decimal_symbol
        except TariffError:
            mark = ","
        text_now = to_excel_csv(tariff, results, decimal_mark=mark)
        shown_now = text_now.removeprefix("\ufeff")  # the recorded text was read without it
    else:
        locale = None
        text_now = shown_now = report.to_csv(tariff, results)
    edits = []
    rec_rows = recorded.document["csv"].split("\n")
    now_rows = shown_now.split("\n")
    for i in range(max(len(rec_rows), len(now_rows))):
        a = rec_rows[i] if i < len(rec_rows) else None
        b = now_rows[i] if i < len(now_rows) else None
        if a != b:
            edits.append(f"row {i + 1}: {_cut(a)} (recomputed: {_cut(b)})")
    side = dict(recorded.document["sidecar"])
    side_now = json.loads(sidecar_text(manifest_now, text_now, locale=locale))
    _align_manifest(side, side_now)
    edits.extend(f"{sidecar_path(recorded.path).name}: {e}" for e in _diff(side, side_now, ""))
    return edits[:MAX_EDITS]


def _align_manifest(rec: dict[str, Any], now: dict[str, Any]) -> None:
    m = rec.get("manifest")
    if isinstance(m, dict) and m.get("manifest_version") in OLD_VERSIONS:
        rec.pop("manifest", None)
        now.pop("manifest", None)
    elif isinstance(m, dict) and "takst_version" in m:
        now["manifest"]["takst_version"] = m["takst_version"]


def _cut(row: str | None) -> str:
    if row is None:
        return "(no row)"
    return json.dumps(row if len(row) <= 60 else row[:60] + "…", ensure_ascii=False)


def _diff(rec: Any, now: Any, at: str) -> list[str]:
    if isinstance(rec, dict) and isinstance(now, dict):
        out = []
        for key in dict.fromkeys([*rec, *now]):
            where = f"{at}.{key}" if at else str(key)
            if key not in now:
                out.append(f"{where} is in the result, but takst does not write it")
            elif key not in rec:
                if now[key] not in ({}, []):  # an empty entry an older takst did not write
                    out.append(f"{where} is missing from the result")
            else:
                out.extend(_diff(rec[key], now[key], where))
        return out
    if isinstance(rec, list) and isinstance(now, list):
        out = []
        for i, (a, b) in enumerate(zip(rec, now, strict=False)):
            out.extend(_diff(a, b, f"{at}[{i}]"))
        if len(rec) != len(now):
            out.append(f"{at} has {len(rec)} entries, recomputed {len(now)}")
        return out
    if type(rec) is not type(now) or rec != now:
        return [f"{at or '(the document)'}: {_cut(json.dumps(rec, ensure_ascii=False))[1:-1]}"
                f" (recomputed: {_cut(json.dumps(now, ensure_ascii=False))[1:-1]})"]
    return []


# ------------------------------------------------------------------ comparing amounts


@attrs.frozen
class Difference:
    """One amount that differs, or a customer or charge on one side only."""

    customer: str  # "0101 København", or "" for a whole charge
    charge: str
    recorded: str  # the amount as recorded, "pending", or "-" for absent
    recomputed: str
    reason: str


@attrs.frozen
class Verdict:
    """The outcome of ``takst verify``: identical, and the report to print."""

    identical: bool
    text: str


def _amount_text(amount: Decimal | None) -> str:
    return "pending" if amount is None else money_text(amount)


def _same(recorded: str | None, now: Decimal | None) -> bool:
    if recorded is None or now is None:
        return recorded is None and now is None
    try:
        return Decimal(recorded) == now
    except InvalidOperation:
        return False


def _label(ident: str, name: str) -> str:
    return name if ident == name else f"{ident} {name}".strip()


def _row_change(rec: RecordedCustomer, now: CustomerResult) -> str | None:
    """How this customer's register values differ from those the result shows, if known."""
    if rec.inputs is None:
        return None
    parts = []
    if rec.name != now.name:
        parts.append(f"name {rec.name} -> {now.name}")
    current = {k: value_json(v) for k, v in now.inputs}
    for key in dict.fromkeys([*rec.inputs, *current]):
        if rec.inputs.get(key) != current.get(key):
            parts.append(f"{key} {_show(rec.inputs.get(key))} -> {_show(current.get(key))}")
    return ", ".join(parts)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def compare_amounts(
    recorded: RecordedResult,
    tariff: ast.Tariff,
    results: Sequence[CustomerResult],
    changes: Sequence[FileChange],
    *,
    version: str,
    ignored_options: Sequence[str] = (),
    edits: Sequence[str] = (),
) -> Verdict:
    """Compare a recorded result with the amounts computed now, and say why they differ.
    ``edits`` (:func:`document_edits`) are the fields of the result that are not what
    takst writes now; with no amount differing and every file unchanged they make the
    result edited, not identical."""
    tariff_changed = any(c.kind == "tariff" for c in changes)
    register_changed = any(c.kind == "register" for c in changes)
    version_changed = recorded.manifest.takst_version != version
    causes = []
    if tariff_changed and register_changed:
        causes.append("the tariff and the register changed")
    elif tariff_changed:
        causes.append("the tariff changed")
    elif register_changed:
        causes.append("the register changed")
    if recorded.edited and recorded.half_written:
        causes.append("the CSV and its manifest are of two different runs")
    elif recorded.edited:
        causes.append("the result file was edited after takst wrote it")
    if ignored_options:
        causes.append("this takst does not know an option of the result")
    if causes:
        file_reason = ", and ".join(causes)
    elif version_changed:
        file_reason = (f"takst changed: the result was made by takst "
                       f"{recorded.manifest.takst_version}, this is takst {version}")
    else:
        file_reason = ("no file and not the takst version changed: the result file was "
                       "edited, or takst is not reproducible (please report it)")

    def reason_for(rec: RecordedCustomer, now: CustomerResult) -> str:
        if not register_changed or recorded.edited:
            return file_reason
        row = _row_change(rec, now)
        if row is None:  # a CSV result does not show the inputs
            return file_reason
        if row:
            return (f"the tariff and this customer's register row changed ({row})"
                    if tariff_changed else f"the register changed ({row})")
        return "the tariff changed" if tariff_changed else "the register changed"

    diffs: list[Difference] = []
    charges_now = [c.name for c in tariff.charges]
    for name in recorded.charges:
        if name not in charges_now:
            diffs.append(Difference("", name, "recorded", "not in the tariff now", file_reason))
    for name in charges_now:
        if name not in recorded.charges:
            diffs.append(Difference("", name, "not in the result", "in the tariff now",
                                    file_reason))
    by_id = {r.id: r for r in results}
    recorded_ids = {c.id for c in recorded.customers}
    compared = 0
    for rec in recorded.customers:
        now = by_id.get(rec.id)
        if now is None:
            diffs.append(Difference(_label(rec.id, rec.name), "(customer)", "in the result",
                                    "not in the register now", file_reason))
            continue
        amounts_now = {ln.charge: ln.amount for ln in now.lines}
        for charge, amount in rec.amounts:
            if charge not in amounts_now:
                continue  # reported once for the whole charge above
            compared += 1
            if not _same(amount, amounts_now[charge]):
                diffs.append(Difference(
                    _label(rec.id, rec.name), charge,
                    "pending" if amount is None else amount,
                    _amount_text(amounts_now[charge]),
                    reason_for(rec, now),
                ))
    for r in results:
        if r.id not in recorded_ids:
            diffs.append(Difference(_label(r.id, r.name), "(customer)", "not in the result",
                                    "in the register now", file_reason))

    lines: list[str] = []
    if recorded.edited and recorded.half_written:
        before, after = recorded.edited
        lines.append(
            f"{recorded.path} and its manifest {sidecar_path(recorded.path)} are inconsistent: "
            f"the manifest records the CSV's sha256 {before[:SHORT]}…, but the CSV is "
            f"{after[:SHORT]}… and older than its manifest, so a `takst eval` writing the "
            "pair was interrupted (the manifest is replaced first); run that `takst eval` "
            "again to write both")
    elif recorded.edited:
        before, after = recorded.edited
        lines.append(f"{recorded.path} was changed after takst wrote it "
                     f"(sha256 {before[:SHORT]}… -> {after[:SHORT]}…)")
    lines.extend(c.text() for c in changes)
    lines.extend(f"option {o} of the result is not known to this takst; it was left out"
                 for o in ignored_options)
    n_customers = len(recorded.customers)
    counts = (f"{n_customers} customer{'s' if n_customers != 1 else ''}, "
              f"{compared} amount{'s' if compared != 1 else ''}")
    version_note = (f" (made by takst {recorded.manifest.takst_version}, checked with "
                    f"takst {version})" if version_changed else "")
    if not diffs:
        if not changes and not recorded.edited and not ignored_options and not edits:
            lines.append(f"identical: {counts}, every file unchanged{version_note}")
            return Verdict(True, "\n".join(lines) + "\n")
        what = []
        if edits and not recorded.edited:
            lines.append(f"{recorded.path} was edited after takst wrote it: these fields are "
                         "not what takst writes for its files:")
            lines.extend(f"  {e}" for e in edits)
        if tariff_changed:
            what.append("tariff changed")
        if register_changed:
            what.append("register changed")
        if recorded.edited and recorded.half_written:
            what.append("result and manifest inconsistent")
        elif recorded.edited or edits:
            what.append("result file edited")
        if ignored_options:
            what.append("options not known")
        lines.append(f"{', '.join(what)}, no amount differs: {counts}{version_note}")
        return Verdict(False, "\n".join(lines) + "\n")

    amount_diffs = [d for d in diffs if d.customer and d.charge != "(customer)"]
    if not changes and not recorded.edited:
        lines.append("every file unchanged, but amounts differ: " + file_reason)
    heads = ("customer", "charge", "recorded", "recomputed", "why")
    rows = [(d.customer or "(every customer)", d.charge, d.recorded, d.recomputed, d.reason)
            for d in diffs]
    widths = [max(len(r[i]) for r in (heads, *rows)) for i in range(4)]

    def fmt(r: Sequence[str]) -> str:
        return "  " + "  ".join(
            [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]),
             r[3].rjust(widths[3]), r[4]]
        ).rstrip()

    touched = len({d.customer for d in amount_diffs})
    others = len(diffs) - len(amount_diffs)
    head = (f"{len(amount_diffs)} of {compared} amounts differ, for {touched} of "
            f"{n_customers} customers" if amount_diffs
            else f"none of the {compared} amounts compared differs")
    if others:
        head += (f"; {others} customer{'s' if others != 1 else ''} or "
                 f"charge{'s' if others != 1 else ''} on one side only")
    lines.append(head + ":")
    lines.append(fmt(heads))
    lines.extend(fmt(r) for r in rows)
    return Verdict(False, "\n".join(lines) + "\n")

