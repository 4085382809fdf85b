"""The session API (src/takst/session.py): one way in for the CLI, the pytest plugin and more."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA, ROOT, RULES

from takst import session as session_module
from takst.cli import main
from takst.dsl import ast
from takst.dsl.errors import (
    CheckError,
    EvaluationError,
    RegisterError,
    TariffSyntaxError,
    UsageError,
    diagnostic,
)
from takst.interpreter.model import ChargeLine, Context, Customer, CustomerResult, Value
from takst.render.report import Totals, to_csv, to_table, write_csv, write_json
from takst.session import Dialect, Request, Session

OS2 = str(RULES / "os2valghalla.tariff")
OS2_REGISTER = str(DATA / "os2valghalla_demo_2024.csv")
POOL = str(RULES / "serviceplatformen_pool.tariff")
DK_REGISTER = str(DATA / "denmark_municipalities_2023.csv")
UNUSED = str(ROOT / "tests" / "cases" / "unused_input.tariff")
BROKEN = str(ROOT / "tests" / "fixtures" / "plugin" / "broken.tariff")
UNDEFINED = str(ROOT / "tests" / "cases" / "undefined_name.tariff")


# ------------------------------------------------------------------ loading and checking


def test_check_returns_the_diagnostics_as_data() -> None:
    """A tariff with errors is checked without raising: the problems are in the result."""
    checked = Session().check(BROKEN)
    assert not checked.ok
    assert checked.errors and all(d.is_error for d in checked.errors)


def test_load_raises_on_errors_and_keeps_warnings() -> None:
    """load raises the syntax error of a file that does not parse, CheckError for a tariff
    with errors; a tariff with only warnings loads, with its warnings kept."""
    session = Session()
    with pytest.raises(TariffSyntaxError):
        session.load(BROKEN)
    with pytest.raises(CheckError) as caught:
        session.load(UNDEFINED)
    assert list(caught.value.diagnostics) == list(session.check(UNDEFINED).diagnostics)
    checked = session.load(UNUSED)
    assert checked.ok and checked.tariff is not None
    assert [d.message for d in checked.warnings] == [
        "input joined is declared but never used"]
    assert checked.errors == ()


def test_the_session_caches_a_tariff_until_its_file_changes(tmp_path: Path) -> None:
    """The same unchanged file is checked once per session; an edit is seen at once."""
    path = tmp_path / "t.tariff"
    shutil.copy(UNUSED, path)
    session = Session()
    first = session.load(path)
    assert session.load(path) is first
    assert Session().load(path) is not first  # the cache belongs to the session
    text = path.read_text(encoding="utf-8").replace("input joined: date\n", "")
    path.write_text(text + "\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different stamp even within one clock tick
    second = session.load(path)
    assert second is not first and second.warnings == ()


def test_a_changed_import_is_seen_by_the_cache(tmp_path: Path) -> None:
    """An edit of an imported file, not of the main one, makes the session read both again."""
    (tmp_path / "prices.tariff").write_text(
        'module prices\n\nparam base "Grundpris" = 1_000 DKK\n', encoding="utf-8")
    main_file = tmp_path / "main.tariff"
    main_file.write_text(
        'tariff main "Main"\n  currency DKK\n  source "test"\n\nimport "prices.tariff"\n\n'
        'input population: inhabitants\n\ncharge fee every year\n  amount base\n',
        encoding="utf-8")
    session = Session()
    first = session.load(main_file)
    assert first.ok, first.diagnostics
    (tmp_path / "prices.tariff").write_text(
        'module prices\n\nparam base "Grundpris" = 2_000 DKK\n', encoding="utf-8")
    os.utime(tmp_path / "prices.tariff", ns=(1, 1))
    assert session.load(main_file) is not first


# ------------------------------------------------------------------ requests


def test_a_request_takes_values_as_a_mapping_or_as_items() -> None:
    """Python values become NAME=VALUE texts as --set writes them; one text is refused."""
    request = Request(OS2, 2023, values={"population": 41000, "os2_member": False,
                                         "joined": dt.date(2023, 11, 1),
                                         "rate": Decimal("1.50")})
    assert request.values == ("population=41000", "os2_member=no", "joined=2023-11-01",
                              "rate=1.50")
    assert Request(Path(OS2), 2023, values=["population=1"]).tariff == OS2
    with pytest.raises(TypeError):
        Request(OS2, 2023, values="population=1")


def test_run_with_values_gives_one_result() -> None:
    """Values describe one customer; its amounts are those of the command line."""
    evaluation = Session().run(Request(OS2, 2023, values={
        "population": 41000, "os2_member": True, "joined": "2023-11-01"}))
    results = list(evaluation)
    assert evaluation.rows == 1 and len(results) == 1
    assert results[0].origin == "command line"
    assert results[0].lines[0].steps == ()  # no trace unless asked for


def test_run_with_a_register_streams_and_iterates_again() -> None:
    """Results come one at a time; iterating the evaluation again gives the same results."""
    evaluation = Session().run(Request(OS2, 2024, register=OS2_REGISTER))
    assert evaluation.rows == 98
    results = iter(evaluation)
    assert isinstance(results, Iterator)
    first = next(results)
    assert first.id == "0101"
    again = list(evaluation)
    assert len(again) == 98 and again[0] == first


def test_a_trace_is_there_when_the_request_asks() -> None:
    """trace=True gives every charge line its steps."""
    evaluation = Session().run(Request(OS2, 2024, register=OS2_REGISTER, trace=True))
    assert all(line.steps for line in next(iter(evaluation)).lines)


def test_settings_must_name_settings() -> None:
    """An item of `settings` that is not a setting of the tariff is a usage problem."""
    with pytest.raises(UsageError) as caught:
        Session().run(Request(POOL, 2019, register=DK_REGISTER,
                              settings={"expected_cost": 11_000_000, "population": 3}))
    assert [d.message for d in caught.value.diagnostics] == [
        "setting population: the tariff has no setting population"]


def test_settings_of_a_pool_with_a_register() -> None:
    """Settings given separately share the pool as --set does."""
    request = Request(POOL, 2019, register=DK_REGISTER,
                      settings={"expected_cost": "11000000", "true_up": "509168.34"})
    session = Session()
    by_settings = [r.total for r in session.run(request)]
    as_values = Request(POOL, 2019, register=DK_REGISTER,
                        values=("expected_cost=11000000", "true_up=509168.34"))
    assert by_settings == [r.total for r in session.run(as_values)]
    assert sum(by_settings) == Decimal("11509168.34")


def test_a_register_problem_is_raised_by_the_first_pass(tmp_path: Path) -> None:
    """A bad register raises RegisterError from run, before any result is written."""
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,customer_type,population,os2_member,joined\n"
                   "1,A,KOMMUNE,lots,true,2024-01-01\n", encoding="utf-8")
    with pytest.raises(RegisterError):
        Session().run(Request(OS2, 2024, register=bad))


def _bad_rows(tmp_path: Path) -> Path:
    """The demo register with a services column: a bad number in row 4, a service that is
    not a charge (a problem only the tariff sees) in rows 30 and 60, a bad date in row 81."""
    lines = Path(OS2_REGISTER).read_text(encoding="utf-8").splitlines()
    lines[0] += ",services"
    for i in range(1, len(lines)):
        lines[i] += ",annual_fee;connection_fee"
    for i, column, text in ((3, 3, "lots"), (29, 6, "svarut"), (59, 6, "digipost"),
                            (80, 5, "2024-13-45")):
        cells = lines[i].split(",")
        cells[column] = text
        lines[i] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bad


def _tariff_problems(tmp_path: Path) -> Path:
    """The same register with only the problems that the tariff sees (rows 30 and 60)."""
    lines = _bad_rows(tmp_path).read_text(encoding="utf-8").splitlines()
    good = Path(OS2_REGISTER).read_text(encoding="utf-8").splitlines()
    for i in (3, 80):
        lines[i] = good[i] + ",annual_fee;connection_fee"
    path = tmp_path / "tariff_problems.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_once_reads_the_register_once_with_the_same_results() -> None:
    """run(once=True) of a tariff without register-wide values: the same results, the rows
    known only after the iteration, and the manifest then the same as the two-pass one's."""
    session = Session()
    request = Request(OS2, 2024, register=OS2_REGISTER)
    twice = session.run(request)
    once = session.run(request, once=True)
    assert once.rows is None
    with pytest.raises(RuntimeError):
        once.manifest()
    assert list(once) == list(twice)
    assert once.rows == twice.rows == 98
    assert once.manifest().to_json() == twice.manifest().to_json()


@pytest.mark.parametrize("which", ["reader", "tariff"])
def test_once_raises_every_register_problem_at_the_end(which: str, tmp_path: Path) -> None:
    """Read once, a register's problems come when it has been read through: the same
    problems, in the same order, as the first pass raises them (the reader's first, else
    the customer checks only the tariff can make); the results before them were given,
    and are the caller's to throw away."""
    bad = _bad_rows(tmp_path) if which == "reader" else _tariff_problems(tmp_path)
    session = Session()
    with pytest.raises(RegisterError) as first_pass:
        session.run(Request(OS2, 2024, register=bad))
    evaluation = session.run(Request(OS2, 2024, register=bad), once=True)
    given = []
    with pytest.raises(RegisterError) as at_end:
        for r in evaluation:
            given.append(r.id)
    told = [(d.message, d.where) for d in at_end.value.diagnostics]
    assert told == [(d.message, d.where) for d in first_pass.value.diagnostics]
    if which == "reader":
        assert [t[1].rsplit(", ", 2)[1:] for t in told] == [
            ["row 4", "column population"], ["row 81", "column joined"]]
    else:
        assert [t[0] for t in told] == ["service 'svarut' is not a charge of this tariff",
                                        "service 'digipost' is not a charge of this tariff"]
    assert len(given) == (98 - 4 if which == "reader" else 98 - 2)  # the good rows, on the way


def test_once_tells_register_problems_before_an_evaluation_error(tmp_path: Path) -> None:
    """An evaluation error midway does not hide a register problem found later in the file."""
    session = Session(engines={"interpreter": _failing_engine(after=10)})
    for bad, words in ((_bad_rows(tmp_path), "lots"),
                       (_tariff_problems(tmp_path), "svarut")):
        with pytest.raises(RegisterError) as caught:
            list(session.run(Request(OS2, 2024, register=bad), once=True))
        assert words in caught.value.diagnostics[0].message
    with pytest.raises(EvaluationError):  # without register problems: the error itself
        list(session.run(Request(OS2, 2024, register=OS2_REGISTER), once=True))


def test_once_is_two_passes_where_register_wide_values_need_them() -> None:
    """A pooled tariff's shares need every customer first: once=True still makes a first pass."""
    request = Request(POOL, 2019, register=DK_REGISTER,
                      settings={"expected_cost": "11000000", "true_up": "509168.34"})
    evaluation = Session().run(request, once=True)
    assert evaluation.rows == 98 and evaluation.validator is None


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_a_bad_register_read_once_writes_nothing(fmt: str, tmp_path: Path) -> None:
    """eval reads the register once for a CSV file or a table; a problem found at the end
    still leaves no output, with the same message as before."""
    bad = _bad_rows(tmp_path)
    target = tmp_path / f"out.{fmt}"
    messages = []
    for extra in ([], ["--out", str(target)]):
        out, err = io.StringIO(), io.StringIO()
        code = main(["eval", OS2, "--register", str(bad), "--year", "2024",
                     "--format", fmt, *extra], out, err)
        assert (code, out.getvalue()) == (1, "")
        messages.append(err.getvalue())
    assert "'lots'" in messages[0] and "2024-13-45" in messages[0]
    assert messages[0] == messages[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_explain_finds_a_customer_by_name_with_its_trace() -> None:
    """explain gives the named customer's result with its trace."""
    result = Session().explain(Request(OS2, 2024, register=OS2_REGISTER), "frederiksberg")
    assert (result.id, result.name) == ("0147", "Frederiksberg")
    assert all(line.steps for line in result.lines)
    with pytest.raises(UsageError) as caught:
        Session().explain(Request(OS2, 2024, register=OS2_REGISTER), None)
    assert caught.value.diagnostics[0].message == "which customer?"


# ------------------------------------------------------------------ engines


class CountingEngine:
    """An engine around the interpreter that records how it is called."""

    name = "counting"

    def __init__(self, tariff: ast.Tariff) -> None:
        from takst.interpreter.evaluator import InterpreterEngine

        self.inner = InterpreterEngine(tariff, checked=True)
        self.prepared_from: list[str] = []

    def prepare(self, customers: Iterable[Customer], year: int, *,
                settings: Mapping[str, Value] | None = None,
                register: str | None = None) -> Context:
        self.prepared_from.append(type(customers).__name__)
        return self.inner.prepare(customers, year, settings=settings, register=register)

    def evaluate(self, customers: Iterable[Customer], year: int, context: Context, *,
                 trace: bool = False) -> Iterator[CustomerResult]:
        return self.inner.evaluate(customers, year, context, trace=trace)


def test_the_request_chooses_the_engine() -> None:
    """A session runs a request with the engine it names, and records the name."""
    made: list[CountingEngine] = []

    def factory(tariff: ast.Tariff) -> CountingEngine:
        made.append(CountingEngine(tariff))
        return made[-1]

    session = Session(engines={"interpreter": session_module.DEFAULT_ENGINES["interpreter"],
                               "counting": factory})
    evaluation = session.run(Request(OS2, 2024, register=OS2_REGISTER, engine="counting"))
    assert len(list(evaluation)) == 98
    assert made and made[0].prepared_from != ["list"]  # an iterator, never a list
    assert evaluation.manifest().request["engine"] == "counting"


def test_an_unknown_engine_is_a_usage_problem() -> None:
    """A request for an engine the session does not have names the ones it has."""
    with pytest.raises(UsageError) as caught:
        Session().run(Request(OS2, 2024, register=OS2_REGISTER, engine="duckdb"))
    d = caught.value.diagnostics[0]
    assert (d.message, d.hint) == ("no engine 'duckdb'", "the engines are: interpreter, batch, spark")


# ------------------------------------------------------------------ streaming output


class Watch(io.StringIO):
    """A stream that counts the rows written, and how far the results computed ran ahead
    of them (noted as each result is computed)."""

    def __init__(self) -> None:
        super().__init__()
        self.computed = 0
        self.max_ahead = 0
        self.written_rows = 0

    def write(self, text: str) -> int:
        self.written_rows += text.count("\n")
        return super().write(text)


def _counted(results: Iterable[CustomerResult], watch: Watch) -> Iterator[CustomerResult]:
    for r in results:
        watch.computed += 1
        watch.max_ahead = max(watch.max_ahead, watch.computed - watch.written_rows)
        yield r


@pytest.mark.parametrize("writer", ["json", "csv"])
def test_results_are_written_as_they_are_computed(writer: str) -> None:
    """No writer holds many results: JSON writes each before the next is computed, CSV
    writes its rows in blocks of a few hundred (one write each, for speed)."""
    from takst.render import report

    evaluation = Session().run(Request(OS2, 2024, register=OS2_REGISTER))
    results = list(evaluation) * 20  # 1 960 rows: several blocks
    watch = Watch()
    if writer == "json":
        write_json(watch, evaluation.tariff, 2024, _counted(results, watch))
        assert watch.max_ahead <= 2  # the row just computed (and the head's last line)
    else:
        write_csv(watch, evaluation.tariff, _counted(results, watch))
        assert 100 < watch.max_ahead <= report._BLOCK_ROWS + 1
        assert watch.written_rows == 1 + 1960
    assert watch.computed == 1960


def test_csv_totals_count_every_row_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CSV writer keeps the cells of repeated lines and counts their results: its
    totals are those of adding every result one at a time, with few kept or many."""
    from takst.render import report

    evaluation = Session().run(Request(OS2, 2024, register=OS2_REGISTER))
    results = list(evaluation) * 3
    one_by_one = Totals(evaluation.tariff)
    for r in results:
        one_by_one.add(r)
    expected = one_by_one.to_json()
    assert expected["customers"] == 294 and expected["pending_by_charge"]
    texts = set()
    for kept in (4096, 2, 0):
        monkeypatch.setattr(report, "_KEPT_LINES", kept)
        buffer = io.StringIO()
        assert write_csv(buffer, evaluation.tariff, results).to_json() == expected
        texts.add(buffer.getvalue())
    assert len(texts) == 1


def test_running_totals_are_exact_beyond_28_digits() -> None:
    """Totals summed as rows pass are exact, not rounded to the decimal default's 28 digits."""
    tariff = Session().load(OS2).tariff
    assert tariff is not None
    totals = Totals(tariff)
    names = [c.name for c in tariff.charges]
    big = Decimal("123456789012345678901234567890.01")
    for amounts in ([big, Decimal("0.01"), None], [big, None, Decimal("2.00")]):
        totals.add(CustomerResult(id="x", name="x", origin="test", inputs=(), lines=tuple(
            ChargeLine(charge=n, label=n, amount=a, status="ok", charged=True, steps=())
            for n, a in zip(names, amounts, strict=True))))
    data = totals.to_json()
    assert data["by_charge"][names[0]] == "246913578024691357802469135780.02"
    assert data["pending_by_charge"] == {names[1]: 1, names[2]: 1}
    assert data["total"] == "246913578024691357802469135782.03"
    assert data["customers"] == 2


def test_the_table_is_the_same_from_a_stream() -> None:
    """The table laid out from running sums and a spooled file has the widths of all rows."""
    session = Session()
    evaluation = session.run(Request(OS2, 2024, register=OS2_REGISTER))
    table = to_table(evaluation.tariff, 2024, evaluation)
    lines = table.splitlines()
    rule = next(ln for ln in lines if ln.startswith("----"))
    assert all(len(ln) <= len(rule) for ln in lines if ln and not ln.startswith(("-", "+")))
    assert "98 customers" in table
    assert to_csv(evaluation.tariff, evaluation).count("\n") == 99


def _failing_engine(after: int) -> session_module.EngineFactory:
    def factory(tariff: ast.Tariff) -> CountingEngine:
        engine = CountingEngine(tariff)
        inner = engine.evaluate

        def evaluate(customers: Iterable[Customer], year: int, context: Context, *,
                     trace: bool = False) -> Iterator[CustomerResult]:
            for n, r in enumerate(inner(customers, year, context, trace=trace)):
                if n == after:
                    raise EvaluationError(diagnostic("the engine gave up"))
                yield r

        engine.evaluate = evaluate  # type: ignore[method-assign]
        return engine
    return factory


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_a_failure_midway_writes_nothing(fmt: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after some results were written leaves no output file and prints nothing."""
    monkeypatch.setitem(session_module.DEFAULT_ENGINES, "interpreter",
                        _failing_engine(after=50))
    target = tmp_path / f"out.{fmt}"
    for extra in ([], ["--out", str(target)]):
        out, err = io.StringIO(), io.StringIO()
        code = main(["eval", OS2, "--register", OS2_REGISTER, "--year", "2024",
                     "--format", fmt, *extra], out, err)
        assert (code, out.getvalue()) == (1, "")
        assert "the engine gave up" in err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_csv_sidecar_hashes_the_streamed_csv(tmp_path: Path) -> None:
    """The sidecar's SHA-256, computed while the CSV was written, is that of the file."""
    import hashlib

    target = tmp_path / "r.csv"
    code = main(["eval", OS2, "--register", OS2_REGISTER, "--year", "2024", "--format", "csv",
                 "--out", str(target)], io.StringIO(), io.StringIO())
    assert code == 0
    side = json.loads((tmp_path / "r.csv.manifest.json").read_text(encoding="utf-8"))
    assert side["result"]["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()


def test_the_dialect_is_part_of_the_request(tmp_path: Path) -> None:
    """A semicolon register needs no option when found, and is read with Dialect as well."""
    text = Path(OS2_REGISTER).read_text(encoding="utf-8").replace(",", ";")
    semi = tmp_path / "semi.csv"
    semi.write_text(text, encoding="utf-8")
    plain = [r.total for r in Session().run(Request(OS2, 2024, register=OS2_REGISTER))]
    told = Session().run(Request(OS2, 2024, register=semi, dialect=Dialect("semicolon")))
    assert [r.total for r in told] == plain
    with pytest.raises(UsageError):
        Session().run(Request(OS2, 2024, values={"population": 1}, dialect=Dialect("tab")))


def test_csv_rows_before_a_failure_are_written_once() -> None:
    """A failure while results are computed leaves every row before it written (as one row
    at a time would); a write that fails is not tried again."""
    evaluation = Session().run(Request(OS2, 2024, register=OS2_REGISTER))
    results = list(evaluation) * 7  # 686 rows: a block and a part

    def failing() -> Iterator[CustomerResult]:
        yield from results[:600]
        raise RuntimeError("stop")

    buffer = io.StringIO()
    with pytest.raises(RuntimeError, match="stop"):
        write_csv(buffer, evaluation.tariff, failing())
    assert buffer.getvalue().count("\n") == 1 + 600

    class Full(io.StringIO):
        tries = 0

        def write(self, text: str) -> int:
            if "\n" in text and text.count("\n") > 1:
                self.tries += 1
                raise OSError(28, "No space left on device")
            return super().write(text)

    full = Full()
    with pytest.raises(OSError, match="No space"):
        write_csv(full, evaluation.tariff, results)
    assert full.tries == 1
