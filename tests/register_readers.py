"""The register tests run against each way of reading a register: the list readers
(``parse_register``, ``load_register``) and the streaming ``open_register``, read twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from takst.dsl import ast
from takst.interpreter.model import Customer
from takst.io import register

TextReader = Callable[..., list[Customer]]
FileReader = Callable[..., list[Customer]]


def streamed(path: str | Path, inputs: Mapping[str, ast.InputDecl], display: str | None = None,
             **options: Any) -> list[Customer]:
    """The customers of a register file read by streaming, twice: both reads give the same
    customers and ``rows`` says how many."""
    reg = register.open_register(path, inputs, display, **options)
    assert reg.rows is None
    first = list(reg)
    assert reg.rows == len(first)
    assert list(reg) == first
    return first


def text_reader(kind: str, folder: Path) -> TextReader:
    """``parse_register``, or the same through a file in ``folder`` and ``open_register``."""
    if kind == "parse_register":
        return register.parse_register

    def parse(text: str, inputs: Mapping[str, ast.InputDecl], name: str,
              **options: Any) -> list[Customer]:
        path = folder / "streamed.csv"
        path.write_bytes(text.encode("utf-8"))
        return streamed(path, inputs, name, **options)

    return parse


def file_reader(kind: str) -> FileReader:
    """``load_register``, or ``open_register`` read twice."""
    return register.load_register if kind == "load_register" else streamed


#: The parameters of :func:`read_both_ways`.
KINDS = ["lists", "streaming"]


def read_both_ways(module: ModuleType, kind: str, folder: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a test module's ``parse_register`` and ``load_register`` read the ``kind`` way."""
    if kind == "lists":
        return
    monkeypatch.setattr(module, "parse_register", text_reader("open_register", folder))
    monkeypatch.setattr(module, "load_register", file_reader("open_register"))


# ------------------------------------------------------------------ the columnar reader

#: Why each register the columnar reader handed to the Python reader went there (the
#: NeedsReader reasons), for the summary of tests/test_columnar.py.
HANDED_ON: list[str] = []


def columnar(path: str | Path, inputs: Mapping[str, ast.InputDecl], display: str | None = None,
             **options: Any) -> list[Customer]:
    """The customers of a register file read and checked in DuckDB
    (:func:`takst.io.columnar.load`), or its problems in the reader's words; a file the
    columnar path cannot check exactly is read by the reader (and counted in HANDED_ON)."""
    from takst.interpreter.batch.duckdb_engine import NeedsReader, connect
    from takst.io import columnar as col

    con = connect()
    name = display if display is not None else str(path)
    try:
        loaded = col.load(con, path, inputs, display, texts=True, **options)
    except NeedsReader as why:
        HANDED_ON.append(str(why))
        return register.load_register(path, inputs, display, **options)
    return col.customers(con, loaded, name, inputs)


def columnar_text(folder: Path) -> TextReader:
    def parse(text: str, inputs: Mapping[str, ast.InputDecl], name: str,
              **options: Any) -> list[Customer]:
        path = folder / "columnar.csv"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        return columnar(path, inputs, name, **options)

    return parse


KINDS.append("columnar")
_read_both_ways = read_both_ways


def read_both_ways(module: ModuleType, kind: str, folder: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a test module's ``parse_register`` and ``load_register`` read the ``kind`` way:
    ``lists``, ``streaming`` (the reader), or ``columnar`` (DuckDB, the reader's words)."""
    if kind == "columnar":
        monkeypatch.setattr(module, "parse_register", columnar_text(folder))
        monkeypatch.setattr(module, "load_register", columnar)
        return
    _read_both_ways(module, kind, folder, monkeypatch)
