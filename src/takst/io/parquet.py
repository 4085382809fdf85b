"""Results as Parquet (``takst eval --format parquet --out R.parquet``), written by DuckDB.

The columns: ``id``, ``name`` (VARCHAR), one ``DECIMAL(38, s)`` per charge (NULL where the
charge is pending), ``total`` (``DECIMAL(38, s)``, the known amounts) and ``pending`` (the
pending charges, ``;``-separated). ``s``: a batch run takes the decimals the compiler gives
the charge (0 for whole amounts, 2 for øre); the interpreter's results the most decimals
any of its amounts has. The file is written to a temporary file beside the target and renamed
over it: never half-written. A batch run writes it from DuckDB directly (no Python per row); the
interpreter's results stream into a DuckDB table in batches first (its memory limit holds).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from takst.dsl import ast
from takst.interpreter.model import CustomerResult


def write_parquet(path: str | Path, tariff: ast.Tariff, evaluation: Any) -> None:
    """Write an evaluation's results to ``path`` as Parquet (see the module's docstring)."""
    from takst.io.columnar import write_parquet_atomic

    batch = getattr(evaluation, "batch", None)
    if batch is not None:
        batch.write_parquet(path)
        return
    write_parquet_atomic(path, lambda tmp: _from_results(tmp, tariff, evaluation))


def _scale(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _from_results(tmp: str, tariff: ast.Tariff, results: Iterable[CustomerResult]) -> None:
    from takst.dsl.numbers import money_text
    from takst.interpreter.batch.compiler import quote
    from takst.interpreter.batch.duckdb_engine import bounded

    con = bounded()
    charges = [c.name for c in tariff.charges]
    cols = ", ".join(f"{quote(c)} VARCHAR" for c in charges)
    con.execute("CREATE OR REPLACE TEMP TABLE _results (_row BIGINT, id VARCHAR, name VARCHAR"
                + (", " + cols if cols else "") + ", total VARCHAR, pending VARCHAR)")
    scales = dict.fromkeys([*charges, "total"], 0)
    marks = ", ".join(["?"] * (len(charges) + 5))
    batch: list[list[object]] = []
    for i, r in enumerate(results):
        row: list[object] = [i, r.id, r.name]
        for line in r.lines:
            if line.amount is None:
                row.append(None)
            else:
                scales[line.charge] = max(scales[line.charge], _scale(line.amount))
                row.append(money_text(line.amount))
        total = r.total
        scales["total"] = max(scales["total"], _scale(total))
        row += [money_text(total), ";".join(r.pending)]
        batch.append(row)
        if len(batch) >= 4096:
            con.executemany(f"INSERT INTO _results VALUES ({marks})", batch)
            batch = []
    if batch:
        con.executemany(f"INSERT INTO _results VALUES ({marks})", batch)
    typed = "".join(f"CAST({quote(c)} AS DECIMAL(38,{scales[c]})) AS {quote(c)}, "
                    for c in charges)
    target = tmp.replace("'", "''")
    con.execute(f"COPY (SELECT id, name, {typed}CAST(total AS DECIMAL(38,{scales['total']})) "
                f"AS total, pending FROM _results ORDER BY _row) TO '{target}' (FORMAT parquet)")
    con.execute("DROP TABLE _results")
