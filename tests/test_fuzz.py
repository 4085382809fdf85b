"""Fuzzing: mutated and random tariffs, and mutated registers, always end in a result or
positioned diagnostics (exit 0/1, or 2 for eval), never an internal error, in bounded time.

The mutation engine is bench/fuzz_check.py (which runs it for 100 000 cases); here
Hypothesis drives it for a few thousand derandomized cases, so CI is stable.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import ROOT


def _load_engine() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_check", ROOT / "bench" / "fuzz_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_check"] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load_engine()
TARIFFS: dict[str, str] = fuzz.tariff_sources()
REGISTERS: dict[str, str] = fuzz.register_sources()

#: Crashes found by fuzzing in code outside the register reader, by ``function
#: ExceptionType``. Each has a minimal reproducer below as a strict xfail test: when
#: a bug is fixed its test passes, fails as strict, and its entry here goes.
KNOWN_BUGS: dict[str, str] = {}

#: A few thousand cases in all, within the 60 s CI budget on 2 cores.
TOTAL_TARIFF_CASES = 1_400
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,  # each case has a hard time bound of its own (CASE_SECONDS)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CASE_SECONDS = 5.0

payloads = st.one_of(
    st.sampled_from(fuzz.VOCABULARY),
    st.sampled_from(fuzz.SPECIAL),
    st.text(max_size=6),
    st.lists(st.sampled_from(fuzz.VOCABULARY), min_size=1, max_size=5).map(" ".join),
)
register_payloads = st.one_of(st.sampled_from(fuzz.REGISTER_WORDS), payloads)


def mutations(payload: st.SearchStrategy[str]) -> st.SearchStrategy[list[object]]:
    one = st.builds(fuzz.Mutation, kind=st.sampled_from(fuzz.KINDS),
                    a=st.integers(0, 1 << 20), b=st.integers(0, 1 << 20), payload=payload)
    return st.lists(one, min_size=1, max_size=4)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def assert_check_survives(path: Path, data: bytes) -> None:
    """`takst check` (and `takst test` when clean) on these bytes behaves."""
    path.write_bytes(data)
    outcome = fuzz.check_case(path, timeout=CASE_SECONDS)
    if outcome.problems and fuzz.signature(outcome.problems) in KNOWN_BUGS:
        return
    assert not outcome.problems, "\n".join(outcome.problems) + "\n" + outcome.err[:3000]


@pytest.mark.parametrize("source", sorted(TARIFFS))
def test_mutated_tariffs_check_with_positioned_diagnostics(source: str, scratch: Path) -> None:
    """Every seed and stdlib tariff, mutated, checks clean or with positioned diagnostics."""
    text = TARIFFS[source]

    @FUZZ
    @settings(max_examples=max(100, TOTAL_TARIFF_CASES // len(TARIFFS)))
    @given(mutations(payloads))
    def run(edits: list[object]) -> None:
        assert_check_survives(scratch / "mutated.tariff", fuzz.mutate(text, edits))

    run()


@FUZZ
@settings(max_examples=300)
@given(st.text(max_size=400))
def test_random_text_checks_with_positioned_diagnostics(text: str) -> None:
    """Any text at all (NUL, surrogates, line separators...) gets positioned diagnostics."""
    path = Path(_scratch_dir()) / "random.tariff"
    assert_check_survives(path, text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@settings(max_examples=400)
@given(st.lists(st.one_of(st.sampled_from(fuzz.VOCABULARY), st.sampled_from(["\n", "\n  "])),
                max_size=80))
def test_word_soup_checks_with_positioned_diagnostics(words: list[str]) -> None:
    """Random sequences of the language's own words reach deep into the grammar, safely."""
    path = Path(_scratch_dir()) / "soup.tariff"
    assert_check_survives(path, " ".join(words).encode("utf-8"))


@FUZZ
@settings(max_examples=700)
@given(st.sampled_from(sorted(REGISTERS)), mutations(register_payloads),
       st.sampled_from(fuzz.REGISTER_OPTIONS))
def test_mutated_registers_evaluate_or_report_rows(
    source: str, edits: list[object], options: list[str]
) -> None:
    """A mutated register bills (exit 0, valid JSON) or names its rows (1), never exit 70."""
    path = Path(_scratch_dir()) / "register.csv"
    path.write_bytes(fuzz.mutate(REGISTERS[source], edits))
    outcome = fuzz.eval_case(path, options, timeout=CASE_SECONDS)
    assert not outcome.problems, "\n".join(outcome.problems) + "\n" + outcome.err[:3000]


def test_the_engine_is_deterministic() -> None:
    """The same campaign seed and case number give the same bytes, in any process."""
    a = fuzz.make_case(3, 41, TARIFFS, REGISTERS)
    b = fuzz.make_case(3, 41, TARIFFS, REGISTERS)
    assert a == b
    assert fuzz.make_case(3, 42, TARIFFS, REGISTERS) != a


def test_the_engine_finds_a_planted_crash(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash anywhere in `takst check` is reported as a failure, with its traceback."""
    import takst.cli

    def broken(*args: object) -> object:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(takst.cli, "check", broken)
    path = scratch / "planted.tariff"
    path.write_text(TARIFFS["rules/os2valghalla.tariff"], encoding="utf-8")
    outcome = fuzz.check_case(path)
    assert outcome.code is None
    assert fuzz.signature(outcome.problems) == "broken ZeroDivisionError"


def test_the_engine_rejects_unpositioned_diagnostics() -> None:
    """The check predicate refuses exit 70, a bare `takst: error:` and exit 1 with nothing."""
    assert fuzz.check_problems("t.tariff", 70, "") == [
        "exit code 70, expected 0 or 1", "exit code 1 without a positioned diagnostic"
    ][:1]
    assert fuzz.check_problems("t.tariff", 1, "takst: error: boom\n") == [
        "a stderr line that is not a positioned diagnostic: 'takst: error: boom'",
        "exit code 1 without a positioned diagnostic",
    ]
    assert fuzz.check_problems("t.tariff", 1, "t.tariff:3:4: error: x\n   3 | y\n"
                               "t.tariff: 1 error\n") == []


_DIR: list[str] = []


def _scratch_dir() -> str:
    """One folder for the module's given-tests (function-scoped fixtures do not mix
    with @given)."""
    if not _DIR:
        import tempfile

        _DIR.append(tempfile.mkdtemp(prefix="takst-fuzz-"))
    return _DIR[0]
