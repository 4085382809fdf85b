"""What the ``takst`` command starts before it imports the rest of takst.

A batch run (``takst eval ... --engine batch``) needs DuckDB's database, which takes 20 to
40 ms to open, and the SHA-256 of its register for the manifest (a tenth of a second for a
million rows), while takst's own modules take about 0.1 s to import, in one thread. DuckDB
opens its database, and ``hashlib`` hashes, without Python's lock: :func:`start` begins
both in threads of their own meanwhile; the batch engine takes the database
(:func:`takst.interpreter.batch.duckdb_engine.open_with`), the manifest the hash
(:func:`takst.provenance.manifest.sha256_file`). This module imports nothing of takst but
:mod:`takst.beside` (the standard library's threads only), so that it can run first.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from takst.beside import Beside


def _option(argv: Sequence[str], option: str, shortest: int) -> str | None:
    """The value a command line gives ``option`` (``--option VALUE``, ``--option=VALUE`` or
    an abbreviation of at least ``shortest`` characters, as argparse takes), the first time
    it gives one; None where it gives none."""
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if len(name) >= shortest and option.startswith(name):
            return value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
    return None


def batch_requested(argv: Sequence[str]) -> bool:
    """True for an ``eval`` command line that asks for the batch engine (``--engine batch``,
    ``--engine=batch``, or an abbreviation of ``--engine`` that argparse takes)."""
    return "eval" in argv and _option(argv, "--engine", 4) == "batch"


def register_given(argv: Sequence[str]) -> str | None:
    """The register an ``eval`` command line names (``--register PATH``, ``--register=PATH``
    or an abbreviation of ``--register`` that argparse takes), if it names one."""
    given = _option(argv, "--register", 5)
    return given if given and given != "-" else None


#: Files being hashed ahead of time: path (as ``str(Path(...))``) -> (thread, [stat key
#: before, digest] once found).
HASHES: dict[str, tuple[threading.Thread, list[Any]]] = {}


def stat_key(path: str | Path, *, regular: bool = False) -> tuple[int, ...] | None:
    """What tells a file's content unchanged: device, inode, size, and both times; None
    where it cannot be stat'ed (or, ``regular``, is not a regular file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if regular and not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_ahead(path: str) -> None:
    """Start finding the SHA-256 of the file at ``path`` in a thread (once per path): kept
    with the file's :func:`stat_key`, only where it had the same one before and after. Only
    a regular file is read ahead (a named pipe's bytes would be taken from its reader)."""
    if path in HASHES:
        return
    found: list[Any] = []

    def work() -> None:
        before = stat_key(path, regular=True)
        if before is None:
            return
        with contextlib.suppress(OSError):
            digest = sha256(path)
            if before == stat_key(path):
                found.extend([before, digest])

    thread = threading.Thread(target=work, name="takst-sha256", daemon=True)
    HASHES[path] = (thread, found)
    thread.start()


def _open_database() -> Any:
    """DuckDB's in-memory database, opened by its C extension alone; None where there is no
    such DuckDB (the batch engine then opens its own, or says DuckDB is missing)."""
    try:
        return importlib.import_module("_duckdb").connect()
    except Exception:  # no DuckDB, or another one
        return None


class Opening:
    """DuckDB's in-memory database, opened in a thread (not a daemon: a command that ends
    first waits for it, never exits while DuckDB is still opening)."""

    def __init__(self) -> None:
        self._opening: Beside[Any] | None = Beside(_open_database, name="takst-duckdb-open",
                                                   daemon=False)

    def take(self) -> Any:
        """The database once it is open (None where it could not be), given once."""
        opening, self._opening = self._opening, None
        return None if opening is None else opening.result()


def start(argv: Sequence[str]) -> Opening | None:
    """For a command line that asks for the batch engine: the database opening, and its
    register's SHA-256 begun."""
    if not batch_requested(argv):
        return None
    register = register_given(argv)
    if register is not None:
        hash_ahead(str(Path(register)))
    return Opening()
