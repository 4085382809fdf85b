"""The parsed tariff files, kept on disk so that a file read again is not parsed again.

Parsing the OS2 tariff costs about 0.1 s of a command's start: importing Lark,
loading its tables (see :mod:`takst.dsl.grammar`), parsing and building the AST.
Reading that AST back from the cache costs a few milliseconds, and needs no Lark.
This is what Python's ``__pycache__`` and Jinja's bytecode cache do for their source
files, with two differences that matter for a tariff:

* **JSON, never a pickle.** Reading a cache file cannot run code. The AST is written
  as its nodes' constructor arguments (``{"@": "Charge", "name": ..., ...}``) and read
  back through the same constructors, of the AST's own classes only. A value of any
  other kind (a list, a dict, a float...) is never written: that file is parsed
  each time.
* **A key of everything the AST depends on.** Each file has one slot, named by its
  path and its name in diagnostics. The slot's first line is the SHA-256 of the
  file's text, that name, the parser's code (every module of ``takst.dsl``, the
  grammar), Lark's version and Python's. A changed tariff, or another takst, never
  meets an old AST: the key differs, and the file is parsed and its slot rewritten.

A file that fails to parse is never cached: its errors are found again each time.
Writes go to a temporary name and are renamed into place. Any problem with the cache
(no home folder, a read-only or full folder, a damaged slot) only means the file is
parsed: the cache can slow nothing down and never changes a result. The folder is
the grammar's (``$TAKST_CACHE_DIR``, else ``$XDG_CACHE_HOME/takst``, else
``~/.cache/takst``); ``TAKST_CACHE_DIR=`` (empty) switches both caches off. At most
:data:`MAX_SLOTS` files are kept: the ones used longest ago are removed first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs

from takst.dsl import ast
from takst.dsl.errors import SourceText, Span

#: The cache's format (part of the key).
_FORMAT = "takst-ast-1"
#: How many parsed files the cache folder keeps.
MAX_SLOTS = 512


def cache_dir() -> Path | None:
    """The folder of the cached files, or None when caching is off."""
    configured = os.environ.get("TAKST_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "takst"
    try:
        return Path.home() / ".cache" / "takst"
    except RuntimeError:  # no home folder
        return None


def write_atomic(path: Path, key: str, body: bytes) -> bool:
    """Write ``key`` (a line) and ``body`` to ``path`` through a temporary file renamed
    into place. False when the folder cannot be written (the cache is then not used)."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(key.encode("ascii") + b"\n")
            f.write(body)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:  # a read-only or full folder: run without the cache
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# --------------------------------------------------------------------------- the key

@lru_cache(maxsize=1)
def code_digest() -> str:
    """The SHA-256 of what turns a text into an AST: the modules of ``takst.dsl`` (the
    parser, the AST's classes and what they use), the grammar, Lark's version (its
    package's first module, which names it) and Python's version."""
    h = hashlib.sha256(f"{_FORMAT} python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    folder = Path(__file__).parent
    sources = sorted(folder.glob("*.py"))
    if not sources:  # installed without its sources: nothing to key on, no cache
        raise OSError("the parser's source files are not installed")
    for path in [*sources, folder / "tariff.lark"]:
        h.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    spec = importlib.util.find_spec("lark")
    if spec is None or spec.origin is None:  # pragma: no cover - lark is a dependency
        raise OSError("lark is not installed")
    h.update(b"\0lark\0" + Path(spec.origin).read_bytes())
    return h.hexdigest()


def _slot(folder: Path, path: Path, name: str) -> Path:
    where = hashlib.sha256(f"{path.resolve()}\0{name}".encode()).hexdigest()[:32]
    return folder / f"ast-{where}.json"


def _key(text: str, name: str) -> str:
    return hashlib.sha256(f"{code_digest()}\0{name}\0{text}".encode()).hexdigest()


# --------------------------------------------------------------------------- the codec

class _NotWritten(Exception):
    """A value the cache does not write."""


#: The classes an AST is made of, by name: the AST module's own and Span.
CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in vars(ast).values()
    if isinstance(cls, type) and cls.__module__ == ast.__name__ and attrs.has(cls)
}
CLASSES["Span"] = Span
#: Each class's constructor arguments: (the field's name, the argument's name).
_ARGUMENTS: dict[type[Any], tuple[tuple[str, str], ...]] = {
    cls: tuple((f.name, f.alias) for f in attrs.fields(cls) if f.init)
    for cls in CLASSES.values()
}
_NAMES = {cls: name for name, cls in CLASSES.items()}


def encode(tariff: ast.Tariff) -> str:
    """The AST as JSON text. Raises ``_NotWritten`` for a value it does not write (a list,
    a float, a subclass of ``str``...), and for a span of another text than the tariff's."""
    source = tariff.span.source

    def value(v: Any) -> Any:
        if v is None or type(v) in (bool, int, str):
            return v
        if isinstance(v, tuple):
            return [value(x) for x in v]
        kind = type(v)
        if kind is Span:
            if v.source is not None and v.source is not source:
                raise _NotWritten("a span of another text")
            return {"@": "Span", "f": v.file, "l": v.line, "c": v.column,
                    "el": v.end_line, "ec": v.end_column, "s": v.source is not None}
        if kind is Decimal:
            return {"$d": str(v)}
        if kind is dt.date:
            return {"$t": v.isoformat()}
        name = _NAMES.get(kind)
        if name is None:
            raise _NotWritten(f"a {kind.__name__}")
        node: dict[str, Any] = {"@": name}
        for field, argument in _ARGUMENTS[kind]:
            node[argument] = value(getattr(v, field))
        return node

    return json.dumps(value(tariff), ensure_ascii=False, separators=(",", ":"))


def _tuples(v: Any) -> Any:
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def decode(text: str, source: SourceText | None) -> ast.Tariff:
    """The AST of :func:`encode`'s JSON, each span pointing at ``source``. Raises
    (``ValueError``, ``KeyError``, a node's own error) for a text it did not write."""

    def node(d: dict[str, Any]) -> Any:
        name = d.pop("@", None)
        if name == "Span":
            return Span(d["f"], d["l"], d["c"], d["el"], d["ec"],
                        source=source if d["s"] else None)
        if name is not None:
            return CLASSES[name](**{k: _tuples(v) for k, v in d.items()})
        if "$d" in d:
            return Decimal(d["$d"])
        if "$t" in d:
            return dt.date.fromisoformat(d["$t"])
        raise ValueError("not an AST node")

    tariff = json.loads(text, object_hook=node)
    if not isinstance(tariff, ast.Tariff):
        raise ValueError("not a tariff")
    return tariff


# --------------------------------------------------------------------------- the cache

def parse_cached(
    text: str, name: str, path: Path, parse: Callable[[str, str], ast.Tariff]
) -> ast.Tariff:
    """``parse(text, name)``, the text of the file at ``path``: read from the cache when
    the file's slot holds this text's AST, else parsed and written there."""
    folder = cache_dir()
    if folder is None:
        return parse(text, name)
    try:
        slot = _slot(folder, path, name)
        key = _key(text, name)
    except (OSError, RuntimeError):  # the parser's files cannot be read: no cache
        return parse(text, name)
    try:
        with slot.open("rb") as f:
            if f.readline().rstrip(b"\n") == key.encode("ascii"):
                tariff = decode(f.read().decode("utf-8"), SourceText(text))
                with contextlib.suppress(OSError):
                    os.utime(slot)  # used now: pruned last
                return tariff
    except Exception:  # missing, unreadable or damaged (any error of its nodes): parse again
        pass
    tariff = parse(text, name)
    try:
        body = encode(tariff).encode("utf-8")
    except (_NotWritten, RecursionError, ValueError):
        return tariff
    new = not slot.exists()
    if write_atomic(slot, key, body) and new:
        prune(folder)
    return tariff


def prune(folder: Path, keep: int = MAX_SLOTS) -> None:
    """Remove the slots used longest ago, so that at most ``keep`` are left."""
    try:
        slots = [(entry.stat().st_mtime, entry.path) for entry in os.scandir(folder)
                 if entry.name.startswith("ast-") and entry.name.endswith(".json")]
    except OSError:
        return
    if len(slots) <= keep:
        return
    slots.sort()
    for _, old in slots[: len(slots) - keep]:
        with contextlib.suppress(OSError):
            os.unlink(old)
