"""The Spark engine: the compiled SQL transpiled to Spark SQL gives the interpreter's amounts
and statuses exactly, and never lets a double touch an amount.

The tests that run Spark share one session for the module (starting one takes seconds) and
are skipped, saying why, where PySpark or Java is missing; with TAKST_REQUIRE_SPARK=1 (CI)
a missing Spark is a failure instead. CI runs the examples of a few tariffs
(``CI_TARIFFS``); ``bench/spark_diff.py`` runs every folder's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("duckdb")

from batch_diff import Figures, compare, outcome
from paths import ROOT, RULES, run

from takst.dsl.errors import EvaluationError
from takst.dsl.loader import load_tariff
from takst.dsl.parser import parse
from takst.interpreter.batch.compiler import Unsupported, compile_tariff
from takst.interpreter.evaluator import InterpreterEngine
from takst.interpreter.model import Context, Customer

REQUIRE = os.environ.get("TAKST_REQUIRE_SPARK") == "1"


def _missing() -> str | None:
    try:
        from takst.interpreter.batch.spark_engine import available
    except ImportError as err:  # pragma: no cover
        return str(err)
    return available()


MISSING = _missing()
#: The example blocks CI runs under Spark (the rest: bench/spark_diff.py).
CI_TARIFFS = ("rules/os2valghalla.tariff", "stdlib/rounding_rules.tariff",
              "stdlib/proration_rules.tariff", "rules/serviceplatformen_pool.tariff",
              "docs/examples/shared_service.tariff")


def _sqlglot() -> None:
    if not _has("sqlglot"):
        if REQUIRE:
            pytest.fail("TAKST_REQUIRE_SPARK=1 but SQLGlot is not installed")
        pytest.skip("SQLGlot is not installed (the spark extra)")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One Spark session (local[2], 127.0.0.1 only) for every test of the module."""
    if MISSING is not None:
        if REQUIRE:
            pytest.fail(f"TAKST_REQUIRE_SPARK=1 but Spark cannot run here: {MISSING}")
        pytest.skip(f"Spark cannot run here: {MISSING}")
    from takst.interpreter.batch.spark_engine import spark_session, stop_sessions

    session = spark_session()
    # the tests bill a handful of customers: Spark's code generation costs more than it saves
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    yield session
    stop_sessions()


def _engine(tariff: object) -> object:
    from takst.interpreter.batch.spark_engine import SparkEngine

    return SparkEngine(tariff, checked=True)  # type: ignore[arg-type]


def _one_charge(body: str) -> object:
    from takst.interpreter.batch.spark_engine import SparkEngine

    return SparkEngine(parse('tariff t "T"\n  currency DKK\ninput n "N": number\n'
                             f"charge c every year\n{body}", "t.tariff"))


# ------------------------------------------------------------------ the SQL (no Spark needed)


def test_the_spark_sql_has_no_hugeint_no_double_and_divides_exactly() -> None:
    """The KS DIF plan in Spark SQL: DECIMAL(38,0) for every integer, no DIV (a BIGINT in
    Spark), no sign() (a DOUBLE), no '/' but the exact quotient of a remainder-free
    dividend, raise_error for the customer's errors."""
    _sqlglot()
    plan = compile_tariff(load_tariff(RULES / "ks_dif_2025.tariff"), 2025, dialect="spark")
    assert not isinstance(plan, Unsupported)
    assert plan.dialect == "spark"
    sql = plan.sql.upper()
    for word in ("HUGEINT", "INT128", " DIV ", "SIGN(", "DOUBLE", "FLOAT"):
        assert word not in sql, word
    assert re.search(r"(?<!RAISE_)ERROR\(", sql) is None
    assert "DECIMAL(38, 0)" in sql and "RAISE_ERROR(" in sql
    for m in re.finditer(r"\) / ", plan.sql):  # every division: (a - a % b) / b, cast back
        assert plan.sql[:m.start()].rstrip().endswith(")"), m


def test_integer_division_becomes_the_exact_quotient() -> None:
    """``a // b`` is ``CAST((a - a % b) / b AS DECIMAL(38,0))``, both sides DECIMAL(38,0)."""
    _sqlglot()
    from takst.interpreter.batch.dialects import to_spark

    assert to_spark("SELECT a // 3::HUGEINT, sign(a) FROM {src}") == (
        "SELECT CAST((CAST(a AS DECIMAL(38, 0)) - CAST(a AS DECIMAL(38, 0)) % "
        "CAST(CAST(3 AS DECIMAL(38, 0)) AS DECIMAL(38, 0))) / "
        "CAST(CAST(3 AS DECIMAL(38, 0)) AS DECIMAL(38, 0)) AS DECIMAL(38, 0)), "
        "CASE WHEN a < 0 THEN -1 WHEN a > 0 THEN 1 ELSE 0 END FROM {src}")


def test_a_literal_past_38_digits_falls_back_on_spark_only() -> None:
    """10**38 (a product of two literals) fits DuckDB's 128-bit HUGEINT but not Spark's
    DECIMAL(38,0): the Spark plan names it and the tariff falls back there; the DuckDB plan
    compiles."""
    _sqlglot()
    tariff = parse('tariff t "T"\n  currency DKK\ninput n "N": number\n'
                   f"charge c every year\n  amount {10**29} DKK * {10**9}\n", "t.tariff")
    assert not isinstance(compile_tariff(tariff, 2024), Unsupported)
    result = compile_tariff(tariff, 2024, dialect="spark")
    assert isinstance(result, Unsupported)
    assert result.note == (
        f"the Spark engine cannot compile a number too large for Spark's DECIMAL(38,0) "
        f"({10**38}); this tariff is evaluated by the interpreter")


def test_a_construct_that_does_not_compile_names_the_spark_engine() -> None:
    """The fallback note of the Spark plan says which engine cannot compile what, where."""
    tariff = parse('tariff t "T"\n  currency DKK\ninput n "N": number\n'
                   "charge c every year\n  amount 100 DKK / n\n", "t.tariff")
    result = compile_tariff(tariff, 2024, dialect="spark")
    assert isinstance(result, Unsupported)
    assert result.note.startswith("the Spark engine cannot compile charge c: an amount "
                                  "divided by a customer's value with no rounding (t.tariff:4)")


# ------------------------------------------------------------------ on Spark


def test_spark_listens_on_loopback_only_and_raises_on_overflow(spark: object) -> None:
    """Local mode binds the driver to 127.0.0.1, has no UI, and runs ANSI SQL."""
    conf = spark.sparkContext.getConf()  # type: ignore[attr-defined]
    assert conf.get("spark.driver.host") == "127.0.0.1"
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"  # type: ignore[attr-defined]
    assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert spark.sparkContext.master == "local[2]"  # type: ignore[attr-defined]


def test_spark_rounds_half_up_exactly_where_its_own_division_would_not(spark: object) -> None:
    """Spark's DECIMAL division gives 10/3 = 3.333333; the compiler's gives 100/3 = 33.33,
    200/3 = 66.67, 1/8 to øre = 0.13, exactly as the interpreter."""
    engine = _one_charge("  amount 100 DKK / n\n  round to øre half up\n")
    customers = [Customer(str(n), "a", {"n": Decimal(n)}) for n in (3, 1, 800, 6)]
    got = [r.lines[0].amount for r in engine.evaluate(customers, 2024, Context())]  # type: ignore[attr-defined]
    assert got == [Decimal("33.33"), Decimal(100), Decimal("0.13"), Decimal("16.67")]
    (own,) = spark.sql("SELECT CAST(10 AS DECIMAL(38,0)) / CAST(3 AS DECIMAL(38,0)) AS q"  # type: ignore[attr-defined]
                       ).collect()
    assert own.q == Decimal("3.333333")


def test_an_overflow_on_spark_is_an_error_never_a_null(spark: object) -> None:
    """A product past DECIMAL(38,0) raises an evaluation error (ANSI mode)."""
    engine = _one_charge("  amount 1 DKK * n * n\n")
    big = Customer("1", "a", {"n": Decimal(10**20)})
    with pytest.raises(EvaluationError, match="too large to compute exactly in the Spark"):
        list(engine.evaluate([big], 2024, Context()))  # type: ignore[attr-defined]


def test_division_by_zero_on_spark_is_the_interpreters_error(spark: object) -> None:
    """Spark says which divisor is 0 for which customer, in the interpreter's words."""
    engine = _one_charge("  amount 100 DKK / n\n  round to kroner half up\n")
    customers = [Customer("1", "Læsø", {"n": Decimal(0)})]
    kind, message = outcome(engine, customers, 2024, Context())
    assert (kind, message) == outcome(InterpreterEngine(engine.tariff), customers, 2024,  # type: ignore[attr-defined]
                                      Context())
    assert message == "division by zero: n is 0 for Læsø"


def test_traces_are_refused_on_spark(spark: object) -> None:
    """The Spark engine computes amounts; traces come from the interpreter."""
    engine = _one_charge("  amount 100 DKK\n")
    with pytest.raises(ValueError, match="traces come from the interpreter"):
        list(engine.evaluate([Customer("1", "a", {})], 2024, Context(), trace=True))  # type: ignore[attr-defined]


def test_services_and_every_charge_of_ks_dif_on_spark(spark: object) -> None:
    """Services, customer types and the KS DIF size adjustment on Spark: the interpreter's."""
    tariff = load_tariff(RULES / "ks_dif_2025.tariff")
    values = {"population": Decimal(10_000), "altinn_transactions": Decimal(5),
              "shipments": Decimal(7), "svarinn_messages": Decimal(1)}
    customers = [Customer("1", "A", values, "KOMMUNE", services=frozenset({"svarut"})),
                 Customer("2", "B", values, "KOMMUNE"),
                 Customer("3", "C", values, "FYLKESKOMMUNE", services=frozenset())]
    ctx = Context(settings={"largest_municipality": Decimal(717_710),
                            "largest_county": Decimal(728_803)})
    a = list(InterpreterEngine(tariff).evaluate(customers, 2025, ctx))
    b = list(_engine(tariff).evaluate(customers, 2025, ctx))  # type: ignore[attr-defined]
    fig = Figures()
    compare("services", a, b, fig)
    assert fig.mismatches == [] and fig.amounts == 3 * len(tariff.charges)


@pytest.mark.parametrize("path", CI_TARIFFS)
def test_the_example_blocks_give_the_same_amounts_on_spark(spark: object, path: str) -> None:
    """Every example of these tariffs (registers too: aggregates, pools with largest
    remainder) gives on Spark the interpreter's amounts, statuses and errors."""
    from spark_diff import run_tariff

    fig = Figures()
    run_tariff(ROOT / path, fig, _engine)
    assert fig.mismatches == []
    assert fig.fallbacks == []
    assert fig.cases > 0 and fig.amounts > 0


def test_ks_dif_on_its_register_through_the_command_line_on_spark(
        spark: object, tmp_path: Path) -> None:
    """`takst eval --engine spark` writes the interpreter's CSV byte for byte for KS DIF
    over its bundled register; the manifest records the engine; verify replays it."""
    outs = {}
    for engine in ("interpreter", "spark"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = run("eval", "rules/ks_dif_2025.tariff", "--register",
                           "data/norway_2024.csv", "--year", "2025", "--format", "csv",
                           "--out", str(out), "--engine", engine)
        assert code == 0, err
        assert err == ""
        outs[engine] = out.read_bytes()
    assert outs["spark"] == outs["interpreter"]
    manifest = json.loads((tmp_path / "spark.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["manifest"]["request"]["engine"] == "spark"


def test_a_tariff_spark_cannot_compile_is_billed_by_the_interpreter_with_a_note(
        spark: object, tmp_path: Path) -> None:
    """The Spark engine never gives a number it cannot compute exactly: a note names the
    construct, and the interpreter bills."""
    tariff = tmp_path / "t.tariff"
    tariff.write_text('tariff t "T"\n  currency DKK\n  source "s"\n\ninput n "N": number\n\n'
                      "charge c \"C\" every year\n  amount 100 DKK / n\n", encoding="utf-8")
    code, out, err = run("eval", str(tariff), "--set", "n=8", "--year", "2024",
                         "--format", "json", "--engine", "spark")
    assert code == 0, err
    assert err == (f"takst: note: the Spark engine cannot compile charge c: an amount divided "
                   f"by a customer's value with no rounding ({tariff}:7); this tariff is "
                   "evaluated by the interpreter\n")
    amounts = [line["amount"] for c in json.loads(out)["customers"] for line in c["lines"]]
    assert amounts == ["12.50"]
