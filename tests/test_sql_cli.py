"""`takst sql`: the SQL a tariff compiles to, printed for review, in DuckDB's or Spark's
dialect; a bad tariff gets its positioned diagnostics, a construct that does not compile a
plain message at its place."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from paths import run

HAS_SQLGLOT = importlib.util.find_spec("sqlglot") is not None


def test_the_sql_of_ks_dif_for_duckdb_reads_the_customers() -> None:
    """The DuckDB query: a header naming the relation's columns, then the query over
    `customers`, with 128-bit integers and the compiler's own rounding."""
    code, out, err = run("sql", "rules/ks_dif_2025.tariff", "--year", "2025")
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "-- takst sql rules/ks_dif_2025.tariff --year 2025 --dialect duckdb"
    assert lines[1] == ("-- customers: _row, id, name, customer_type, services, i_population, "
                        "i_altinn_transactions, i_shipments, i_svarinn_messages")
    assert "FROM customers" in out and "{src}" not in out
    assert ("HUGEINT" in out or "INT128" in out) and "//" in out
    assert out.endswith(";\n")


@pytest.mark.skipif(not HAS_SQLGLOT, reason="SQLGlot is not installed (the spark extra)")
def test_the_indented_duckdb_sql_is_the_same_query() -> None:
    """The SQL printed for review, run on DuckDB over KS DIF's register, gives the rows the
    engine's own query gives."""
    pytest.importorskip("duckdb")
    from paths import DATA, RULES

    from takst.dsl.loader import load_tariff
    from takst.interpreter.batch import DuckDBEngine
    from takst.interpreter.batch.compiler import Plan
    from takst.interpreter.batch.dialects import pretty_duckdb
    from takst.io.register import load_register

    tariff = load_tariff(RULES / "ks_dif_2025.tariff")
    customers = load_register(DATA / "norway_2024.csv", {i.name: i for i in tariff.inputs})
    engine = DuckDBEngine(tariff)
    context = engine.prepare(customers, 2025)
    plan = engine.plan(2025, context, engine._load(customers).scales)
    assert isinstance(plan, Plan)
    own = engine.con.execute(plan.query("customers")).fetchall()
    shown = engine.con.execute(pretty_duckdb(plan.sql).replace("{src}", "customers")).fetchall()
    assert shown == own and len(own) == len(customers)


@pytest.mark.skipif(not HAS_SQLGLOT, reason="SQLGlot is not installed (the spark extra)")
def test_the_sql_of_ks_dif_for_spark_has_decimal_38_and_no_double() -> None:
    """The Spark query, indented: DECIMAL(38, 0) integers, raise_error, no DOUBLE, no DIV."""
    code, out, err = run("sql", "rules/ks_dif_2025.tariff", "--year", "2025",
                         "--dialect", "spark")
    assert code == 0, err
    assert "DECIMAL(38, 0)" in out and "RAISE_ERROR(" in out.upper()
    for word in ("HUGEINT", "INT128", " DIV ", "DOUBLE", "SIGN("):
        assert word not in out.upper(), word
    assert "\n  SELECT\n" in out  # indented for reading


def test_a_bad_tariff_gets_its_diagnostics_not_an_internal_error(tmp_path: Path) -> None:
    """A tariff with an error: the checker's message at its line and column, exit 1."""
    bad = tmp_path / "bad.tariff"
    bad.write_text('tariff t "T"\n  currency DKK\n\ncharge c every year\n  amount x * 2 DKK\n',
                   encoding="utf-8")
    code, out, err = run("sql", str(bad), "--year", "2024")
    assert code == 1
    assert out == ""
    assert f"{bad}:5:" in err and "internal error" not in err


def test_a_construct_that_does_not_compile_is_named_at_its_place(tmp_path: Path) -> None:
    """No SQL for an amount divided by a customer's value without rounding: the message
    names the engine, the construct and the charge's line; nothing is printed."""
    t = tmp_path / "t.tariff"
    t.write_text('tariff t "T"\n  currency DKK\n  source "s"\n\ninput n "N": number\n\n'
                 'charge c "C" every year\n  amount 100 DKK / n\n', encoding="utf-8")
    code, out, err = run("sql", str(t), "--year", "2024")
    assert code == 1
    assert out == ""
    assert err.startswith(f"{t}:7:")
    assert ("the batch engine cannot compile charge c: an amount divided by a customer's "
            "value with no rounding") in err
    assert "interpreter" in err


def test_the_year_is_asked_for() -> None:
    """Without --year: a usage message, exit 2."""
    code, _, err = run("sql", "rules/ks_dif_2025.tariff")
    assert code == 2
    assert "which billing year?" in err


def test_the_sql_is_written_atomically_to_out(tmp_path: Path) -> None:
    """--out writes the same text as standard output."""
    target = tmp_path / "ks.sql"
    code, _, err = run("sql", "rules/os2valghalla.tariff", "--year", "2024", "--out", str(target))
    assert code == 0, err
    _, out, _ = run("sql", "rules/os2valghalla.tariff", "--year", "2024")
    assert target.read_text(encoding="utf-8") == out
