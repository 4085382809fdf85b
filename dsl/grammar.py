"""The LALR parser for ``tariff.lark``, built once and cached on disk.

Building Lark's LALR tables takes about a quarter of a second; loading them takes
a few milliseconds. The tables are kept in a file of the user's cache folder
(``$TAKST_CACHE_DIR``, else ``$XDG_CACHE_HOME/takst``, else ``~/.cache/takst``)
whose name holds the SHA-256 of everything the tables depend on: the grammar
text, the Lark options, Lark's version and Python's version. A changed grammar
(or an upgraded Lark) therefore never meets old tables: it has another file
name, and the file's first line repeats the digest, which is checked on load.

The tables are stored as JSON (never a pickle: reading a cache file cannot run code).
The file is written to a temporary name in the same folder and renamed into
place, so a process never reads a half-written file, and two processes that
build at the same time both write the same content. Any problem with the cache
(no home folder, a read-only folder, a damaged file) only means the tables are
built again: the cache can slow nothing down and never changes a result.
Set ``TAKST_CACHE_DIR`` to the empty string to switch the cache off.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

from takst.dsl.cache import cache_dir, write_atomic

#: The options the parser is built with (part of the cache key).
OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "basic",
    "propagate_positions": True,
    "maybe_placeholders": True,
}


def grammar_text() -> str:
    return resources.files("takst.dsl").joinpath("tariff.lark").read_text(encoding="utf-8")


def digest(grammar: str) -> str:
    """What the parser tables depend on, as one SHA-256."""
    key = "\n".join([
        grammar,
        repr(sorted(OPTIONS.items())),
        f"lark {lark.__version__}",
        f"python {sys.version_info[0]}.{sys.version_info[1]}",
    ])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def cache_name(grammar: str) -> str:
    """The name of the cache file for ``grammar`` (its digest is part of it)."""
    return f"tariff-lark-{digest(grammar)}.json"


def _load(path: Path, key: str) -> Lark | None:
    try:
        with path.open("rb") as f:
            if f.readline().rstrip(b"\n") != key.encode("ascii"):
                return None
            payload = json.loads(f.read())
        return _from_tables(payload)
    except Exception:  # missing, unreadable or damaged: build the tables again
        return None


def _tables(parser: Lark) -> dict[str, Any]:
    """The parser's tables as plain data (what Lark itself would pickle)."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    return {"data": data, "memo": memo}


def _from_tables(payload: dict[str, Any]) -> Lark:
    """A parser from its tables read back from JSON, which turned the integer keys of
    the memo and of the LALR table into strings: they are turned back."""
    payload["memo"] = {int(k): v for k, v in payload["memo"].items()}
    table = payload["data"]["parser"]["parser"]
    table["tokens"] = {int(k): v for k, v in table["tokens"].items()}
    table["states"] = {int(state): {int(tok): act for tok, act in actions.items()}
                       for state, actions in table["states"].items()}
    return Lark.load(payload)  # Lark.load also takes this dict (its file format, unpickled)


def _save(parser: Lark, path: Path, key: str) -> None:
    write_atomic(path, key, json.dumps(_tables(parser), separators=(",", ":")).encode("utf-8"))


def build(grammar: str) -> Lark:
    """The parser built from the grammar text (no cache)."""
    return Lark(grammar, **OPTIONS)


def load_or_build(grammar: str, folder: Path | None) -> Lark:
    """The parser of ``grammar``: its cached tables in ``folder`` when they are there and
    match, else built (and cached there when the folder can be written)."""
    if folder is None:
        return build(grammar)
    key = digest(grammar)
    path = folder / cache_name(grammar)
    cached = _load(path, key)
    if cached is not None:
        return cached
    built = build(grammar)
    _save(built, path, key)
    return built


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The tariff parser, once per process: from the cache when its tables are there."""
    return load_or_build(grammar_text(), cache_dir())
