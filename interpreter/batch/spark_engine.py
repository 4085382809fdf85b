"""The batch engine on Apache Spark: the compiled plan, transpiled to Spark SQL, run by Spark.

:class:`SparkEngine` implements :class:`takst.interpreter.backend.Engine` like
:class:`~takst.interpreter.batch.duckdb_engine.DuckDBEngine`: the same plan
(:func:`~takst.interpreter.batch.compiler.compile_tariff` with ``dialect="spark"``), the
same register-wide values (``register_values``, its queries transpiled the same way), the
same results. The customers come validated from the register reader (its checks and its
messages); they are sent to Spark as a DataFrame of text cells, which Spark SQL casts
(numbers to ``DECIMAL(38,0)`` scaled integers, dates, yes/no), never through a float.

Spark runs in local mode by default (``local[2]``), bound to the loopback interface only:
``SPARK_LOCAL_IP``, ``spark.driver.host`` and ``spark.driver.bindAddress`` are
``127.0.0.1`` and the web UI is off. Its SQL runs with ``spark.sql.ansi.enabled=true``,
so an overflow of ``DECIMAL(38,0)`` raises instead of giving NULL. One Spark session is
started per process and master (starting one takes seconds) and kept.

PySpark is imported lazily: ``takst`` works without the ``spark`` extra.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from takst.dsl import ast
from takst.dsl.check import require_no_errors
from takst.dsl.errors import EvaluationError, RegisterError, diagnostic
from takst.dsl.symbols import Symbols
from takst.interpreter.batch.compiler import (
    Compiler,
    Constants,
    Placed,
    Plan,
    Unsupported,
    compile_tariff,
)
from takst.interpreter.batch.dialects import to_spark
from takst.interpreter.batch.duckdb_engine import (
    FallsBack,
    constants,
    register_values,
    results_of,
)
from takst.interpreter.model import Context, Customer, CustomerResult, Value
from takst.interpreter.prepare import validate

NUMERIC = ("inhabitants", "count", "number", "money")
DEFAULT_MASTER = "local[2]"
#: Up to this many customers, the results are collected at once; above, streamed.
COLLECT = 20_000
LOOPBACK = "127.0.0.1"

#: Spark settings of every session: loopback only, no UI, overflow as an error.
CONF: Mapping[str, str] = {
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.decimalOperations.allowPrecisionLoss": "true",
}



def _pyspark() -> Any:
    try:
        import pyspark
    except ImportError as err:
        raise ImportError("the Spark engine needs PySpark: pip install 'takst[spark]'") from err
    return pyspark


def available() -> str | None:
    """Why the Spark engine cannot run here (no PySpark, no Java), or None."""
    try:
        _pyspark()
        import duckdb  # noqa: F401  (the register-wide values' helpers)
        import sqlglot  # noqa: F401
    except ImportError as err:
        return str(err)
    java_home = os.environ.get("JAVA_HOME")
    found = (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) or any(
        os.path.exists(os.path.join(d, "java")) for d in os.environ.get("PATH", "").split(":") if d)
    if not found:
        return "the Spark engine needs Java (17 or later): no java on PATH or JAVA_HOME"
    return None


_SESSIONS: dict[str, Any] = {}
_LOGS: list[Any] = []


class SparkUnavailable(Exception):
    """Spark could not be started (no Java, a master that does not answer)."""


def spark_session(master: str | None = None) -> Any:
    """The process's Spark session for ``master`` (default ``local[2]``), started once.

    Local mode listens on 127.0.0.1 only."""
    master = master or DEFAULT_MASTER
    held = _SESSIONS.get(master)
    if held is not None:
        return held
    for other in list(_SESSIONS):  # Spark allows one context per process
        _SESSIONS.pop(other).stop()
    _pyspark()
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = LOOPBACK
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    conf = SparkConf().setMaster(master).setAppName("takst").setAll(list(CONF.items()))
    # the JVM's own output goes to a log file, never to our standard output or error
    fd, log = tempfile.mkstemp(prefix="takst-spark-", suffix=".log")
    out = os.fdopen(fd, "wb")
    _LOGS.append(out)
    atexit.register(_remove, log)
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stdout": out,  # type: ignore[no-untyped-call]
                                                     "stderr": out})
    except Exception as err:
        out.flush()
        with open(log, encoding="utf-8", errors="replace") as fh:
            tail = " ".join(fh.read().strip().splitlines()[-3:])
        raise SparkUnavailable(
            f"Spark did not start ({master}): {tail or err}") from None
    context = SparkContext(conf=conf, gateway=gateway)
    spark = SparkSession(context)
    context.setLogLevel("OFF")
    _SESSIONS[master] = spark
    return spark


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def stop_sessions() -> None:
    """Stop the Spark sessions this process started."""
    for master in list(_SESSIONS):
        _SESSIONS.pop(master).stop()


# ------------------------------------------------------------------ errors


def _condition(err: Exception) -> tuple[str, Mapping[str, str]]:
    cond = ""
    params: Mapping[str, str] = {}
    for name in ("getCondition", "getErrorClass"):
        fn = getattr(err, name, None)
        if callable(fn):
            try:
                cond = fn() or ""
            except Exception:  # pragma: no cover - a PySpark without it
                cond = ""
            if cond:
                break
    fn = getattr(err, "getMessageParameters", None)
    if callable(fn):
        try:
            params = fn() or {}
        except Exception:  # pragma: no cover
            params = {}
    return cond, params


def _is_spark_error(err: Exception) -> bool:
    try:
        from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, PySparkException | Py4JJavaError)


def translate(err: Exception, placed: Sequence[Placed] = ()) -> EvaluationError:
    """A Spark error as the user's error: the message the query raised (at its place in the
    tariff where the plan knows it), an overflow, or a division by zero."""
    cond, params = _condition(err)
    text = str(err)
    if cond.startswith(("NUMERIC_VALUE_OUT_OF_RANGE", "ARITHMETIC_OVERFLOW", "CAST_OVERFLOW",
                        "DECIMAL_PRECISION", "NUMERIC_OUT_OF_SUPPORTED_RANGE")) or (
            not cond and re.search(r"cannot be represented as Decimal|overflow", text)):
        return EvaluationError(diagnostic(
            "this calculation gives a number too large to compute exactly in the Spark engine "
            "(38-digit decimals)",
            hint="check the inputs for absurd values, or evaluate with --engine interpreter"))
    if cond == "USER_RAISED_EXCEPTION" or "USER_RAISED_EXCEPTION" in text:
        message = params.get("errorMessage")
        if message is None:
            m = re.search(r"\[USER_RAISED_EXCEPTION\] (.*?)(?: SQLSTATE: \w+)?$", text,
                          re.MULTILINE)
            message = m.group(1).strip() if m else text
        for p in placed:
            if p.matches(message):
                return EvaluationError(diagnostic(message, p.span, hint=p.hint,
                                                  related=p.related))
        return EvaluationError(diagnostic(message))
    if cond == "DIVIDE_BY_ZERO":
        return EvaluationError(diagnostic("division by zero in the Spark engine",
                                          hint="evaluate with --engine interpreter to see where"))
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return EvaluationError(diagnostic(f"Spark failed: {first}",
                                      hint="evaluate with --engine interpreter"))


# ------------------------------------------------------------------ DuckDB-style queries on Spark


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = [tuple(r) for r in rows]

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


class SparkSQL:
    """Runs the compiler's DuckDB SQL on Spark (transpiled), as a DuckDB connection would:
    ``execute(sql).fetchone()`` / ``fetchall()``. Spark's errors are raised as the user's."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def execute(self, sql: str) -> _Rows:
        query = to_spark(sql)
        try:
            return _Rows(self.spark.sql(query).collect())
        except Exception as err:
            if _is_spark_error(err):
                raise translate(err) from None
            raise


# ------------------------------------------------------------------ the engine

_VIEWS = [0]


class SparkEngine:
    """The compiled SQL plan on Spark, as an :class:`~takst.interpreter.backend.Engine`.

    :attr:`unsupported` is set when the tariff does not compile for Spark; the session then
    uses the interpreter and shows :attr:`Unsupported.note`. Traces come from the
    interpreter: ``evaluate`` with ``trace=True`` is refused."""

    name = "spark"

    def __init__(self, tariff: ast.Tariff, *, checked: bool = False,
                 master: str | None = None) -> None:
        if not checked:
            require_no_errors(tariff)
        self.tariff = tariff
        self.master = master or DEFAULT_MASTER
        self.sym = Symbols(tariff)
        self.inputs = {i.name: i for i in tariff.inputs}
        probe = compile_tariff(tariff, 2000, dialect="spark")
        self.unsupported: Unsupported | None = probe if isinstance(probe, Unsupported) else None
        self._spark: Any = None
        _VIEWS[0] += 1
        self.view = f"takst_customers_{os.getpid()}_{_VIEWS[0]}"
        self._loaded: tuple[list[Customer], dict[str, int]] | None = None
        #: plans by year, constants and scales (compiling and transpiling take a while)
        self._plans: dict[str, Plan | Unsupported] = {}

    @property
    def spark(self) -> Any:
        if self._spark is None:
            try:
                self._spark = spark_session(self.master)
            except SparkUnavailable as err:
                raise EvaluationError(diagnostic(
                    str(err), hint="check Java (17 or later) and --spark-master, or use "
                    "--engine batch or --engine interpreter")) from None
        return self._spark

    # -------------------------------------------------------------- loading customers
    def _scales(self, customers: Sequence[Customer]) -> dict[str, int]:
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
        return dict(Compiler(self.tariff, 2000, Constants(), scales).scales)

    def _load(self, customers: list[Customer]) -> dict[str, int]:
        held = self._loaded
        if held is not None and len(held[0]) == len(customers) and all(
                a is b for a, b in zip(held[0], customers, strict=True)):
            return held[1]
        from pyspark.sql.types import StringType, StructField, StructType

        scales = self._scales(customers)
        names = list(self.inputs)
        raw = ["_row", "id", "name", "customer_type", "services", *(f"i_{n}" for n in names)]
        schema = StructType([StructField(f"c{k}", StringType(), True) for k in range(len(raw))])
        rows = []
        for i, c in enumerate(customers):
            row: list[str | None] = [str(i), c.id, c.name, c.customer_type,
                                     None if c.services is None else ";".join(sorted(c.services))]
            for name in names:
                v = c.values.get(name)
                if v is None:
                    row.append(None)
                elif name in scales and isinstance(v, Decimal):
                    row.append(str(int(v.scaleb(scales[name]))))
                elif isinstance(v, bool):
                    row.append("true" if v else "false")
                elif isinstance(v, dt.date):
                    row.append(v.isoformat())
                else:
                    row.append(str(v))
            rows.append(row)
        frame = self.spark.createDataFrame(rows, schema)
        staged = f"{self.view}_text"
        frame.createOrReplaceTempView(staged)
        select = ["CAST(c0 AS BIGINT) AS _row", "c1 AS id", "c2 AS name",
                  "COALESCE(c3, '') AS customer_type",
                  "CASE WHEN c4 IS NULL THEN NULL ELSE filter(split(c4, ';'), x -> x <> '') "
                  "END AS services"]
        for k, name in enumerate(names, start=5):
            kind = self.inputs[name].type.kind
            target = f"`i_{name.replace('`', '``')}`"
            if kind in NUMERIC:
                select.append(f"CAST(c{k} AS DECIMAL(38,0)) AS {target}")
            elif kind == "yes/no":
                select.append(f"CAST(c{k} AS BOOLEAN) AS {target}")
            elif kind == "date":
                select.append(f"CAST(c{k} AS DATE) AS {target}")
            else:
                select.append(f"c{k} AS {target}")
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {self.view} AS SELECT "
                       + ", ".join(select) + f" FROM {staged}")
        self._loaded = (customers, scales)
        return scales

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
        scales = self._load(listed)
        origins = {c.id: c.origin for c in listed}
        sql: Any = SparkSQL(self.spark)  # a connection as register_values uses one
        return register_values(sql, self.view, self.tariff, year, scales, settings or {},
                               register, origins=origins.get)

    # -------------------------------------------------------------- evaluate
    def plan(self, year: int, context: Context, scales: Mapping[str, int]) -> Plan:
        consts = constants(context)
        key = repr((year, sorted(scales.items()), sorted(consts.settings.items(), key=str),
                    sorted(consts.aggregates.items()), sorted(consts.pools.items()),
                    sorted(consts.empty.items())))
        result = self._plans.get(key)
        if result is None:
            result = compile_tariff(self.tariff, year, consts, scales, dialect="spark")
            self._plans[key] = result
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
            raise ValueError("the Spark engine computes amounts only: traces come from the "
                             "interpreter")
        listed = customers if isinstance(customers, list) else list(customers)
        scales = self._load(listed)
        plan = self.plan(year, context, scales)
        try:
            frame = self.spark.sql(plan.query(self.view))
            # a small result in one job; a large one streamed a partition at a time
            rows = (iter(frame.collect()) if len(listed) <= COLLECT
                    else frame.toLocalIterator())
            yield from results_of(listed, (tuple(row) for row in rows), plan, self.sym)
        except Exception as err:
            if _is_spark_error(err):
                raise translate(err, plan.placed) from None
            raise


__all__ = ["SparkEngine", "SparkSQL", "available", "spark_session", "stop_sessions",
           "translate"]
