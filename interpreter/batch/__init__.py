"""Compiled engines: a checked tariff as SQL, run on DuckDB (never importing the interpreter).

``compile_tariff`` gives a :class:`~takst.interpreter.batch.compiler.Plan` or an
:class:`~takst.interpreter.batch.compiler.Unsupported` naming the construct that does not
compile. DuckDB itself is imported only when an engine runs (the ``batch`` extra).
"""

from takst.interpreter.batch.compiler import Constants, Plan, Unsupported, compile_tariff
from takst.interpreter.batch.duckdb_engine import (
    BatchRun,
    DuckDBEngine,
    FallsBack,
    NeedsReader,
    register_values,
    run_register,
)

__all__ = [
    "BatchRun",
    "Constants",
    "DuckDBEngine",
    "FallsBack",
    "NeedsReader",
    "Plan",
    "Unsupported",
    "compile_tariff",
    "register_values",
    "run_register",
]
