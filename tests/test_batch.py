"""The batch engine (SQL on DuckDB) gives the interpreter's amounts and statuses, exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

duckdb = pytest.importorskip("duckdb")

from batch_diff import (  # noqa: E402
    Figures,
    compare,
    documented_fallback,
    outcome,
    run_examples,
    tariffs,
)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from paths import DATA, ROOT, RULES  # noqa: E402

from takst.dsl.errors import EvaluationError  # noqa: E402
from takst.dsl.loader import load_tariff  # noqa: E402
from takst.dsl.parser import parse  # noqa: E402
from takst.interpreter.batch import (  # noqa: E402
    DuckDBEngine,
    FallsBack,
    NeedsReader,
    Unsupported,
    compile_tariff,
    run_register,
)
from takst.interpreter.batch.compiler import Plan  # noqa: E402
from takst.interpreter.evaluator import Evaluator, InterpreterEngine  # noqa: E402
from takst.interpreter.model import Context, Customer  # noqa: E402
from takst.io.register import load_register  # noqa: E402
from takst.testing.properties import _Strategies  # noqa: E402

RULE_FILES = sorted(RULES.glob("*.tariff"))


# ------------------------------------------------------------------ every example block


def test_every_example_block_gives_the_same_amounts_under_both_engines() -> None:
    """Every example of rules/, stdlib/, docs/examples/ and tests/fixtures/ runs under both
    engines with identical amounts and statuses, and none falls back."""
    fig = Figures()
    documented: set[str] = set()  # issue 12: tariffs with a construct that has no SQL form yet
    for path in tariffs():
        line = documented_fallback(path)
        if line is not None:
            documented.add(line)
        run_examples(path, fig)
    assert fig.mismatches == []
    # the only fallbacks are the documented ones, each naming its construct
    assert set(fig.fallbacks) == documented
    assert fig.cases >= 600 and fig.amounts >= 5000


def test_a_construct_that_does_not_compile_falls_back_with_a_note_naming_it() -> None:
    """Dividing by a customer's value with no rounding has no SQL form here: the compiler
    names it instead of giving a number."""
    tariff = parse(
        'tariff t "T"\n  currency DKK\ninput n "N": number\n'
        "charge c every year\n  amount 100 DKK / n\n", "t.tariff")
    result = compile_tariff(tariff, 2024)
    assert isinstance(result, Unsupported)
    assert result.note == (
        "the batch engine cannot compile charge c: an amount divided by a customer's value "
        "with no rounding (t.tariff:4); this tariff is evaluated by the interpreter")
    engine = DuckDBEngine(tariff)
    assert engine.unsupported == result
    with pytest.raises(FallsBack, match="divided by a customer's value"):
        list(engine.evaluate([Customer("1", "a", {"n": Decimal(3)})], 2024, Context()))


def test_the_same_division_rounded_compiles_and_rounds_half_up_exactly() -> None:
    """100 / 3 rounded to øre half up is 33.33, 200 / 3 is 66.67, 1 / 8 to øre is 0.13."""
    tariff = parse(
        'tariff t "T"\n  currency DKK\ninput n "N": number\n'
        "charge c every year\n  amount 100 DKK / n\n  round to øre half up\n",
        "t.tariff")
    engine = DuckDBEngine(tariff)
    customers = [Customer(str(n), "a", {"n": Decimal(n)}) for n in (3, 1, 800, 6)]
    got = [r.lines[0].amount for r in engine.evaluate(customers, 2024, Context())]
    assert got == [Decimal("33.33"), Decimal(100), Decimal("0.13"), Decimal("16.67")]


# ------------------------------------------------------------------ errors, never wrong numbers


def _one_charge(body: str) -> DuckDBEngine:
    return DuckDBEngine(parse(
        'tariff t "T"\n  currency DKK\ninput n "N": number\n'
        f"charge c every year\n{body}", "t.tariff"))


def test_an_overflow_is_an_error_never_a_wrapped_number() -> None:
    """A product past 128 bits raises an evaluation error."""
    engine = _one_charge("  amount 1 DKK * n * n * n\n")
    big = Customer("1", "a", {"n": Decimal(10**20)})
    with pytest.raises(EvaluationError, match="too large"):
        list(engine.evaluate([big], 2024, Context()))


def test_division_by_zero_is_the_interpreters_error() -> None:
    """Both engines say which divisor is 0 for which customer, in the same words."""
    engine = _one_charge("  amount 100 DKK / n\n  round to kroner half up\n")
    customers = [Customer("1", "Læsø", {"n": Decimal(0)})]
    kind, message = outcome(engine, customers, 2024, Context())
    assert (kind, message) == outcome(InterpreterEngine(engine.tariff), customers, 2024,
                                      Context())
    assert message == "division by zero: n is 0 for Læsø"


def test_an_error_is_raised_only_where_the_interpreter_evaluates() -> None:
    """A division by zero in a charge that is not due this year is no error, in either
    engine; nor one behind a missing optional input (the charge is pending)."""
    tariff = parse(
        'tariff t "T"\n  currency DKK\ninput n "N": number\ninput m "M": number optional\n'
        'input joined "J": date\n'
        "charge c once when joined\n  amount 100 DKK / n\n  round to kroner half up\n"
        "charge d every year\n  amount m * 1 DKK / n\n  round to kroner half up\n", "t.tariff")
    customers = [Customer("1", "a", {"n": Decimal(0), "joined": dt.date(2020, 5, 1)})]
    a = list(InterpreterEngine(tariff).evaluate(customers, 2024, Context()))
    b = list(DuckDBEngine(tariff).evaluate(customers, 2024, Context()))
    assert [(ln.amount, ln.status, ln.charged) for ln in b[0].lines] == [
        (ln.amount, ln.status, ln.charged) for ln in a[0].lines] == [
        (Decimal(0), "ok", False), (None, "pending", True)]


def test_services_bill_only_the_charges_a_customer_uses() -> None:
    """A charge outside the customer's services is not charged (0, not pending)."""
    tariff = load_tariff(RULES / "ks_dif_2025.tariff")
    values = {"population": Decimal(10_000), "altinn_transactions": Decimal(5),
              "shipments": Decimal(7), "svarinn_messages": Decimal(1)}
    customers = [Customer("1", "A", values, "KOMMUNE", services=frozenset({"svarut"})),
                 Customer("2", "B", values, "KOMMUNE"),
                 Customer("3", "C", values, "KOMMUNE", services=frozenset())]
    ctx = Context(settings={"largest_municipality": Decimal(717_710),
                            "largest_county": Decimal(728_803)})
    a = list(InterpreterEngine(tariff).evaluate(customers, 2025, ctx))
    b = list(DuckDBEngine(tariff).evaluate(customers, 2025, ctx))
    fig = Figures()
    compare("services", a, b, fig)
    assert fig.mismatches == [] and fig.amounts == 3 * len(tariff.charges)
    assert [ln.charged for ln in b[0].lines] == [ln.charge == "svarut" for ln in b[0].lines]
    assert not any(ln.charged for ln in b[2].lines)


def test_an_amount_with_no_exact_decimal_is_an_error() -> None:
    """1/3 of an amount with no rounding is refused, as the interpreter refuses it."""
    engine = _one_charge("  amount 100 DKK\n  prorate 1/3 when n > 5\n")
    with pytest.raises(EvaluationError, match="has no exact decimal value"):
        list(engine.evaluate([Customer("1", "a", {"n": Decimal(6)})], 2024, Context()))
    ok = list(engine.evaluate([Customer("1", "a", {"n": Decimal(5)})], 2024, Context()))
    assert ok[0].lines[0].amount == 100


def test_traces_are_refused() -> None:
    """The batch engine computes amounts; traces come from the interpreter."""
    engine = _one_charge("  amount 100 DKK\n")
    with pytest.raises(ValueError, match="traces come from the interpreter"):
        list(engine.evaluate([Customer("1", "a", {})], 2024, Context(), trace=True))


# ------------------------------------------------------------------ the fast path over files


def _interpreter_rows(tariff_path: Path, register: Path, year: int,
                      settings: dict[str, object] | None = None) -> list[tuple[object, ...]]:
    tariff = load_tariff(tariff_path)
    customers = load_register(register, {i.name: i for i in tariff.inputs})
    engine = InterpreterEngine(tariff)
    ctx = engine.prepare(customers, year, settings=settings)  # type: ignore[arg-type]
    rows = []
    for i, r in enumerate(engine.evaluate(customers, year, ctx)):
        row: list[object] = [i, r.id, r.name]
        for ln in r.lines:
            row += ["pending" if ln.status == "pending" else "ok" if ln.charged else "none",
                    ln.amount]
        rows.append(tuple(row))
    return rows


@pytest.mark.parametrize(("tariff", "register", "year", "given"), [
    ("os2valghalla.tariff", "os2valghalla_demo_2024.csv", 2024, None),
    ("os2valghalla.tariff", "os2valghalla_demo_2024.csv", 2023, None),
    ("ks_dif_2025.tariff", "norway_2024.csv", 2025, None),
    ("serviceplatformen_pool.tariff", "denmark_municipalities_2023.csv", 2019,
     {"expected_cost": Decimal(11_000_000), "true_up": Decimal("509168.34")}),
    ("serviceplatformen_pool.tariff", "denmark_municipalities_2023.csv", 2020,
     {"expected_cost": Decimal(10_000_000), "true_up": Decimal(0)}),
])
def test_a_register_file_billed_in_duckdb_equals_the_interpreter(
        tariff: str, register: str, year: int, given: dict[str, object] | None,
        tmp_path: Path) -> None:
    """CSV in, and the same register as Parquet in: every amount and status as the
    interpreter's, aggregates and pool shares (largest remainder) computed in SQL."""
    expected = _interpreter_rows(RULES / tariff, DATA / register, year, given)
    t = load_tariff(RULES / tariff)
    run = run_register(t, DATA / register, year, settings=given)  # type: ignore[arg-type]
    assert list(run.rows()) == expected
    parquet = tmp_path / "register.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{DATA / register}', all_varchar=true)) "
        f"TO '{parquet}' (FORMAT parquet)")
    run = run_register(t, parquet, year, settings=given)  # type: ignore[arg-type]
    assert list(run.rows()) == expected


def test_optional_inputs_left_empty_are_pending_in_the_fast_path(tmp_path: Path) -> None:
    """Empty cells of optional inputs are not given: SvarUT is pending for those customers."""
    path = tmp_path / "ks.csv"
    path.write_text(
        "id,name,customer_type,population,altinn_transactions,shipments,svarinn_messages\n"
        "1,A,KOMMUNE,10000,1000,2000,100\n2,B,KOMMUNE,717710,,,\n"
        "3,C,STATLIG_VIRKSOMHET,0,1000,2000,100\n4,D,FYLKESKOMMUNE,728803,5,,7\n",
        encoding="utf-8")
    expected = _interpreter_rows(RULES / "ks_dif_2025.tariff", path, 2025)
    run = run_register(load_tariff(RULES / "ks_dif_2025.tariff"), path, 2025)
    assert list(run.rows()) == expected
    svarut = 3 + 2 * [c.name for c in load_tariff(RULES / "ks_dif_2025.tariff").charges].index(
        "svarut")
    assert [r[svarut] for r in expected] == ["ok", "pending", "ok", "pending"]


def test_results_are_written_with_decimal_columns(tmp_path: Path) -> None:
    """Parquet output keeps exact DECIMAL amounts (NULL when pending) and the total."""
    t = load_tariff(RULES / "os2valghalla.tariff")
    run = run_register(t, DATA / "os2valghalla_demo_2024.csv", 2023)
    out = tmp_path / "out.parquet"
    run.write(out, "parquet")
    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()}
    assert types["annual_fee"] == "DECIMAL(38,2)" and types["total"] == "DECIMAL(38,2)"
    assert types["connection_fee"] == "DECIMAL(38,0)"
    rows = con.execute(f"SELECT id, annual_fee, operations_fee, total, pending FROM '{out}' "
                       "WHERE id = '0621'").fetchall()
    assert rows == [("0621", Decimal("11445.00"), None, Decimal("11445.00"), "operations_fee")]


@pytest.mark.parametrize(("tariff", "register", "year", "given"), [
    ("os2valghalla.tariff", "os2valghalla_demo_2024.csv", 2023, None),
    ("os2valghalla.tariff", "os2valghalla_demo_2024.csv", 2024, None),
    ("ks_dif_2025.tariff", "norway_2024.csv", 2025, None),
    ("serviceplatformen_pool.tariff", "denmark_municipalities_2023.csv", 2019,
     {"expected_cost": Decimal(11_000_000), "true_up": Decimal("509168.34")}),
])
def test_csv_written_by_duckdb_is_the_interpreters_csv_byte_for_byte(
        tariff: str, register: str, year: int, given: dict[str, object] | None,
        tmp_path: Path) -> None:
    """The batch CSV is what `takst eval --format csv` writes from the interpreter."""
    from takst.render.report import to_csv

    t = load_tariff(RULES / tariff)
    customers = load_register(DATA / register, {i.name: i for i in t.inputs})
    engine = InterpreterEngine(t)
    ctx = engine.prepare(customers, year, settings=given)  # type: ignore[arg-type]
    expected = to_csv(t, list(engine.evaluate(customers, year, ctx)))
    run_register(t, DATA / register, year, settings=given).write(  # type: ignore[arg-type]
        tmp_path / "out.csv", "csv")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == expected


@pytest.mark.parametrize("name", sorted(
    p.name for p in (ROOT / "tests/fixtures/registers").glob("*.csv")))
def test_registers_the_fast_path_cannot_check_exactly_go_to_the_reader(name: str) -> None:
    """Broken registers and other dialects (semicolons, tabs, BOM, CRLF, sep= lines, Danish
    thousands) are not read by the fast path: the reader reads or reports them."""
    t = load_tariff(RULES / "os2valghalla.tariff")
    with pytest.raises(NeedsReader):
        run_register(t, ROOT / "tests/fixtures/registers" / name, 2024)


@pytest.mark.parametrize("cell", ["-5", "12.5", "1.000", "", " 40000", "4e4"])
def test_a_bad_population_cell_goes_to_the_reader(cell: str, tmp_path: Path) -> None:
    """Any cell the reader would refuse (or read differently) stops the fast path."""
    path = tmp_path / "r.csv"
    path.write_text(f"id,name,population,os2_member,joined\n1,A,{cell},true,2024-01-01\n",
                    encoding="utf-8")
    with pytest.raises(NeedsReader):
        run_register(load_tariff(RULES / "os2valghalla.tariff"), path, 2024)


def test_a_parquet_register_with_floating_point_numbers_is_refused(tmp_path: Path) -> None:
    """A DOUBLE column is not exact: the register is refused, never read through a float."""
    from takst.dsl.errors import RegisterError

    path = tmp_path / "r.parquet"
    duckdb.connect().execute(
        "COPY (SELECT '1' AS id, 'A' AS name, 5000.0::DOUBLE AS population, true AS os2_member, "
        f"DATE '2024-01-01' AS joined) TO '{path}' (FORMAT parquet)")
    with pytest.raises(RegisterError, match="population holds floating-point numbers"):
        run_register(load_tariff(RULES / "os2valghalla.tariff"), path, 2024)


def test_typed_parquet_columns_are_read_exactly(tmp_path: Path) -> None:
    """Integer, BOOLEAN and DATE Parquet columns bill as their text would."""
    path = tmp_path / "r.parquet"
    duckdb.connect().execute(
        "COPY (SELECT '1' AS id, 'Kolding' AS name, 94528::BIGINT AS population, "
        f"true AS os2_member, DATE '2023-11-01' AS joined) TO '{path}' (FORMAT parquet)")
    rows = list(run_register(load_tariff(RULES / "os2valghalla.tariff"), path, 2023).rows())
    assert rows == [(0, "1", "Kolding", "ok", Decimal("11445.00"), "ok", Decimal(0),
                     "pending", None)]


def test_duplicate_ids_go_to_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,name,population,os2_member,joined\n1,A,5,true,2024-01-01\n"
                    "1,B,6,false,2024-01-01\n", encoding="utf-8")
    with pytest.raises(NeedsReader):
        run_register(load_tariff(RULES / "os2valghalla.tariff"), path, 2024)


# ------------------------------------------------------------------ drawn customers


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_drawn_customers_get_the_same_amounts_to_the_ore(path: Path) -> None:
    """Hypothesis customers for every rules/ tariff (values on and next to every band and
    slice bound, optional inputs left out, register-wide values given) bill identically."""
    tariff = load_tariff(path)
    evaluator = Evaluator(tariff)
    interp = InterpreterEngine(tariff)
    batch = DuckDBEngine(tariff)
    fig = Figures()

    @settings(max_examples=100, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_Strategies(evaluator).draw())
    def same(d: object) -> None:
        ctx = Context(settings=d.shared)  # type: ignore[attr-defined]
        customers = [d.customer]  # type: ignore[attr-defined]
        if tariff.pools:
            return  # pools need a register: see the register test below
        ka, ra = outcome(interp, customers, d.year, ctx)  # type: ignore[attr-defined]
        kb, rb = outcome(batch, customers, d.year, ctx)  # type: ignore[attr-defined]
        assert ka == kb, (ra, rb)
        if ka == "ok":
            before = len(fig.mismatches)
            compare(path.name, ra, rb, fig)  # type: ignore[arg-type]
            assert fig.mismatches[before:] == []

    same()


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_drawn_registers_get_the_same_register_values_and_amounts(path: Path) -> None:
    """Registers of random sizes (pools shared by largest remainder, aggregates over the
    register) give the same aggregates, pool shares and amounts under both engines."""
    tariff = load_tariff(path)
    evaluator = Evaluator(tariff)
    interp = InterpreterEngine(tariff)
    batch = DuckDBEngine(tariff)
    shared_names = {a.name for a in tariff.aggregates}

    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(_Strategies(evaluator).draw(), min_size=1, max_size=25))
    def same(draws: list[object]) -> None:
        customers = [
            Customer(str(i), d.customer.name, d.customer.values,  # type: ignore[attr-defined]
                     d.customer.customer_type, f"drawn row {i}")  # type: ignore[attr-defined]
            for i, d in enumerate(draws)]
        given_settings = {k: v for k, v in draws[0].shared.items()  # type: ignore[attr-defined]
                          if k not in shared_names}
        year = draws[0].year  # type: ignore[attr-defined]
        try:
            ctx_a = interp.prepare(customers, year, settings=given_settings)
        except Exception as err:  # the interpreter refuses this register: so must the engine
            with pytest.raises(type(err)):
                batch.prepare(customers, year, settings=given_settings)
            return
        ctx_b = batch.prepare(customers, year, settings=given_settings)
        assert {k: v for k, (v, _) in ctx_a.aggregates.items()} == {
            k: v for k, (v, _) in ctx_b.aggregates.items()}
        assert ctx_a.aggregates == ctx_b.aggregates
        assert ctx_a.pools == ctx_b.pools
        ka, ra = outcome(interp, customers, year, ctx_a)
        kb, rb = outcome(batch, customers, year, ctx_b)
        assert ka == kb, (ra, rb)
        if ka == "ok":
            fig = Figures()
            compare(path.name, ra, rb, fig)  # type: ignore[arg-type]
            assert fig.mismatches == []

    same()


def test_the_batch_package_imports_neither_the_interpreter_nor_duckdb() -> None:
    """interpreter/batch/ never imports the reference interpreter; DuckDB only when it runs."""
    import subprocess
    import sys

    code = ("import sys, takst.interpreter.batch; "
            "print('takst.interpreter.evaluator' in sys.modules, 'duckdb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


# ------------------------------------------------------------------ aggregates only when needed


def test_an_aggregate_no_customer_qualifies_for_does_not_stop_the_register_in_sql(
        tmp_path: Path) -> None:
    """KS DIF over municipalities only bills in DuckDB too (a register file and customers),
    with the interpreter's amounts: no amount needs largest_county."""
    from test_prepare import municipalities_only

    path = municipalities_only(tmp_path)
    tariff = load_tariff(RULES / "ks_dif_2025.tariff")
    expected = _interpreter_rows(RULES / "ks_dif_2025.tariff", path, 2025)
    run = run_register(tariff, path, 2025)
    assert run.context.empty == {"largest_county": f"no customer of {path} qualifies"}
    assert list(run.rows()) == expected
    customers = load_register(path, {i.name: i for i in tariff.inputs})
    fig = Figures()
    kind_a, a = outcome(InterpreterEngine(tariff), customers, 2025, None)
    kind_b, b = outcome(DuckDBEngine(tariff), customers, 2025, None)
    assert kind_a == kind_b == "ok"
    assert isinstance(a, list) and isinstance(b, list)
    compare("kommuner", a, b, fig)
    assert fig.mismatches == [] and fig.amounts == len(customers) * len(tariff.charges)


def test_an_empty_aggregate_is_the_interpreters_error_where_it_is_needed(
        tmp_path: Path) -> None:
    """The customer whose amount needs the empty aggregate gets the interpreter's message,
    at the interpreter's place; statuses met first in the interpreter's order still win
    (a missing optional input before it: pending, no error)."""
    from test_prepare import NEEDS

    tariff = parse(NEEDS.replace("input population \"P\": inhabitants",
                                 "input population \"P\": inhabitants\n"
                                 "input extra \"E\": count of things optional").replace(
        "others   100_000 NOK * population / largest_county",
        "STATLIG_VIRKSOMHET  1 NOK per thing * extra * largest_county / population\n"
        "    others   100_000 NOK * population / largest_county"), "t.tariff")
    alpha = Customer("1", "Alpha", {"population": Decimal(10)}, "KOMMUNE")
    beta = Customer("2", "Beta", {"population": Decimal(20)}, "STATLIG_VIRKSOMHET")
    gamma = Customer("3", "Gamma", {"population": Decimal(20)}, "FYLKESKOMMUNE")
    # Beta's amount needs extra first: pending in both engines
    for engine in (InterpreterEngine(tariff), DuckDBEngine(tariff)):
        ctx = engine.prepare([alpha, beta], 2025, register="R.csv")
        lines = [(ln.amount, ln.status) for r in engine.evaluate([alpha, beta], 2025, ctx)
                 for ln in r.lines]
        assert lines == [(1_000, "ok"), (None, "pending")]
    # with extra given, Beta needs the aggregate; a county makes it not empty
    beta2 = attrs.evolve(beta, values={**beta.values, "extra": Decimal(3)})
    errors = []
    for engine in (InterpreterEngine(tariff), DuckDBEngine(tariff)):
        ctx = engine.prepare([alpha, beta2], 2025, register="R.csv")
        with pytest.raises(EvaluationError) as err:
            list(engine.evaluate([alpha, beta2], 2025, ctx))
        (d,) = err.value.diagnostics
        errors.append((d.message, d.span, d.hint, d.related))
    assert errors[0] == errors[1]
    assert errors[0][0] == ("the amount for Beta needs aggregate largest_county, but no "
                            "customer of R.csv qualifies")
    assert errors[0][1] is not None and errors[0][1].line == 14
    kind_a, a = outcome(InterpreterEngine(tariff), [alpha, beta2, gamma], 2025, None)
    kind_b, b = outcome(DuckDBEngine(tariff), [alpha, beta2, gamma], 2025, None)
    assert kind_a == kind_b == "ok" and isinstance(a, list) and isinstance(b, list)
    fig = Figures()
    compare("with a county", a, b, fig)
    assert fig.mismatches == []


def test_a_pool_that_needs_an_empty_aggregate_is_the_interpreters_register_error() -> None:
    """Both engines refuse to share a pool whose total needs an empty aggregate."""
    from test_prepare import NEEDS

    tariff = parse(NEEDS.replace("charge fee", (
        "pool part \"S\" = 2 NOK per inhabitant * largest_county\n  shared by population\n"
        "charge share \"Share\" every year\n  amount part\n"
        "charge fee")), "t.tariff")
    customers = [Customer("1", "Alpha", {"population": Decimal(10)}, "KOMMUNE")]
    messages = []
    for engine in (InterpreterEngine(tariff), DuckDBEngine(tariff)):
        with pytest.raises(EvaluationError) as err:
            engine.prepare(customers, 2025, register="R.csv")
        messages.append(err.value.diagnostics[0].message)
    assert messages == ["pool part needs aggregate largest_county, but no customer of R.csv "
                        "qualifies"] * 2


def test_a_param_with_no_exact_decimal_is_compared_exactly_in_sql() -> None:
    """`value < third` with third = 10 DKK / 3 gives the interpreter's amounts."""
    from test_interpreter import THIRD

    customers = [Customer(str(i), v, {"value": Decimal(v)})
                 for i, v in enumerate(["3.33", "3.34", "1", "4.33", "4.34"])]
    kind_a, a = outcome(InterpreterEngine(THIRD), customers, 2024, Context())
    kind_b, b = outcome(DuckDBEngine(THIRD), customers, 2024, Context())
    assert kind_a == kind_b == "ok" and isinstance(a, list) and isinstance(b, list)
    fig = Figures()
    compare("third", a, b, fig)
    assert fig.mismatches == [] and fig.amounts == 10


def test_a_charge_that_can_never_be_pending_is_known_so() -> None:
    """OS2's annual and connection fees are never pending (the plan's statuses of them have
    no such value) and its operations fee is (no price yet); with the optional input an
    amount reads left out of ``complete``, an empty cell of it makes its charge pending."""
    os2 = load_tariff(RULES / "os2valghalla.tariff")
    plan = compile_tariff(os2, 2024, complete=("population", "os2_member", "joined"))
    assert isinstance(plan, Plan)
    assert {o.name: o.may_pend for o in plan.charges} == {
        "annual_fee": False, "connection_fee": False, "operations_fee": True}
    plan = compile_tariff(os2, 2024)  # joined may be empty: every charge anchored on it
    assert isinstance(plan, Plan)
    assert all(o.may_pend for o in plan.charges)


def test_a_batch_run_imports_duckdbs_engine_alone_and_bills_as_the_package_does() -> None:
    """``takst eval --engine batch`` imports DuckDB's C extension (``_duckdb``), not the
    ``duckdb`` package's Python layer around it; where the extension lacks a name takst
    uses, the package is imported instead, with the same output byte for byte."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import takst.interpreter.batch.duckdb_engine as e\n"
        "if sys.argv[1] == 'package':\n"
        "    e._ENGINE_NAMES = (*e._ENGINE_NAMES, 'not_in_any_duckdb')\n"
        "from takst.cli import main\n"
        "rc = main(['eval', 'rules/os2valghalla.tariff', '--register',"
        " 'data/os2valghalla_demo_2024.csv', '--year', '2024', '--engine', 'batch',"
        " '--format', 'csv'])\n"
        "print('duckdb' in sys.modules, '_duckdb' in sys.modules, file=sys.stderr)\n"
        "sys.exit(rc)\n")
    runs = {how: subprocess.run([sys.executable, "-c", code, how], cwd=ROOT,
                                capture_output=True, text=True, check=False)
            for how in ("engine", "package")}
    assert [r.returncode for r in runs.values()] == [0, 0], runs["engine"].stderr
    assert runs["engine"].stderr.split()[-2:] == ["False", "True"]
    assert runs["package"].stderr.split()[-2:] == ["True", "True"]
    assert runs["engine"].stdout == runs["package"].stdout
    assert runs["engine"].stdout.count("\n") == 99  # the header and 98 customers


@pytest.mark.parametrize(("argv", "batch"), [
    (["eval", "t.tariff", "--engine", "batch"], True),
    (["eval", "t.tariff", "--engine=batch", "--register", "r.csv"], True),
    (["eval", "t.tariff", "--eng", "batch"], True),
    (["eval", "t.tariff"], False),
    (["eval", "t.tariff", "--engine", "interpreter"], False),
    (["eval", "t.tariff", "--engine"], False),
    (["sql", "t.tariff", "--engine", "batch"], False),
    (["eval", "batch.tariff", "--register", "batch"], False),
])
def test_the_command_opens_duckdb_early_only_for_a_batch_run(argv: list[str],
                                                             batch: bool) -> None:
    from takst.startup import batch_requested

    assert batch_requested(argv) is batch


def test_the_database_opened_while_takst_is_imported_is_the_one_the_run_uses() -> None:
    """``takst eval --engine batch`` (the command, ``takst.__main__``) opens DuckDB's
    database in a thread while takst's modules are imported; the batch engine bills in that
    very database, and writes what an in-process run writes."""
    import subprocess
    import sys

    args = ["eval", "rules/os2valghalla.tariff", "--register",
            "data/os2valghalla_demo_2024.csv", "--year", "2024", "--engine", "batch",
            "--format", "csv"]
    code = (
        "import sys\n"
        "import takst.startup as s\n"
        "opened = []\n"
        "real = s._open_database\n"
        "def spy():\n"
        "    opened.append(real())\n"
        "    return opened[-1]\n"
        "s._open_database = spy\n"
        "sys.argv = ['takst', *sys.argv[1:]]\n"
        "import takst.__main__\n"
        "rc = takst.__main__.main()\n"
        "from takst.interpreter.batch import duckdb_engine as e\n"
        "print(len(opened), opened[0] is not None and opened[0] is e._DATABASE[0],"
        " file=sys.stderr)\n"
        "sys.exit(rc)\n")
    early = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    plain = subprocess.run([sys.executable, "-c",
                            "import sys\nfrom takst.cli import main\nsys.exit(main())\n", *args],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    assert early.returncode == plain.returncode == 0, early.stderr
    assert early.stderr.split()[-2:] == ["1", "True"]
    assert early.stdout == plain.stdout and early.stdout.count("\n") == 99
