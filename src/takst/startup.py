"""What the ``takst`` command starts before it imports the rest of takst.

A batch run (``takst eval ... --engine batch``) needs DuckDB's database, which takes 20 to
40 ms to open, and takst's own modules, which take about 0.1 s to import, in one thread.
DuckDB opens its database without Python's lock: :func:`start` opens it in a thread of
its own meanwhile, and the batch engine takes it (:func:`takst.interpreter.batch.
duckdb_engine.open_with`). This module imports nothing of takst, so that it can run first.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import Any


def batch_requested(argv: Sequence[str]) -> bool:
    """True for an ``eval`` command line that asks for the batch engine (``--engine batch``,
    ``--engine=batch``, or an abbreviation of ``--engine`` that argparse takes)."""
    if "eval" not in argv:
        return False
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if len(name) >= 4 and "--engine".startswith(name):
            given = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            if given == "batch":
                return True
    return False


class Opening:
    """DuckDB's in-memory database, opened in a thread (not a daemon: a command that ends
    first waits for it, never exits while DuckDB is still opening)."""

    def __init__(self) -> None:
        self._database: Any = None
        self._thread = threading.Thread(target=self._open, name="takst-duckdb-open")
        self._thread.start()

    def _open(self) -> None:
        try:
            engine = importlib.import_module("_duckdb")  # DuckDB's C extension alone
            self._database = engine.connect()
        except Exception:  # no DuckDB, or another one: opened later, or never
            self._database = None

    def take(self) -> Any:
        """The database once it is open (None where it could not be), given once."""
        self._thread.join()
        database, self._database = self._database, None
        return database


def start(argv: Sequence[str]) -> Opening | None:
    """The database opening, for a command line that asks for the batch engine."""
    return Opening() if batch_requested(argv) else None
