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

#: Crashes found by fuzzing in code outside the register reader (bench/fuzz_check.py
#: keeps the list): tolerated here so the fuzz tests find *new* crashes, each with a
#: minimal reproducer below as a strict xfail test.
KNOWN_BUGS: dict[str, str] = fuzz.KNOWN_BUGS

#: A few thousand cases in all, within the 60 s CI budget on 2 cores.
TOTAL_TARIFF_CASES = 1_400
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,  # each case has a hard time bound of its own (CASE_SECONDS)
    # `takst test` checks a tariff's declared properties with Hypothesis, inside ours.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.nested_given],
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

    @settings(FUZZ, max_examples=max(100, TOTAL_TARIFF_CASES // len(TARIFFS)))
    @given(mutations(payloads))
    def run(edits: list[object]) -> None:
        assert_check_survives(scratch / "mutated.tariff", fuzz.mutate(text, edits))

    run()


@settings(FUZZ, max_examples=300)
@given(text=st.text(max_size=400))
def test_random_text_checks_with_positioned_diagnostics(scratch: Path, text: str) -> None:
    """Any text at all (NUL, surrogates, line separators...) gets positioned diagnostics."""
    assert_check_survives(scratch / "random.tariff", text.encode("utf-8", errors="surrogatepass"))


@settings(FUZZ, max_examples=400)
@given(words=st.lists(st.one_of(st.sampled_from(fuzz.VOCABULARY),
                               st.sampled_from(["\n", "\n  "])), max_size=80))
def test_word_soup_checks_with_positioned_diagnostics(scratch: Path, words: list[str]) -> None:
    """Random sequences of the language's own words reach deep into the grammar, safely."""
    assert_check_survives(scratch / "soup.tariff", " ".join(words).encode("utf-8"))


@settings(FUZZ, max_examples=700)
@given(source=st.sampled_from(sorted(REGISTERS)), edits=mutations(register_payloads),
       options=st.sampled_from(fuzz.REGISTER_OPTIONS))
def test_mutated_registers_evaluate_or_report_rows(
    scratch: Path, source: str, edits: list[object], options: list[str]
) -> None:
    """A mutated register bills (exit 0, valid JSON) or names its rows (1), never exit 70."""
    path = scratch / "register.csv"
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
    import takst.dsl.check

    def broken(*args: object) -> object:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(takst.dsl.check, "check", broken)  # what the session calls
    path = scratch / "planted.tariff"
    path.write_text(TARIFFS["rules/os2valghalla.tariff"], encoding="utf-8")
    outcome = fuzz.check_case(path, timeout=0)  # in this process, where the plant is
    assert outcome.code is None
    assert fuzz.signature(outcome.problems) == "broken ZeroDivisionError"


def test_a_case_over_its_time_is_a_timeout_even_inside_hypothesis(scratch: Path) -> None:
    """A case that runs too long is killed from outside and reported as a timeout, also
    while `takst test` runs Hypothesis (an alarm inside it was reported as a flaky
    strategy); the next case runs in a fresh process."""
    os2 = str(ROOT / "rules" / "os2valghalla.tariff")
    code, _, _, problems = fuzz._run_guarded(["test", "--cases", "1000000", os2], 1.0)
    assert (code, problems) == (None, ["timeout: still running after 1.0 s"])
    code, out, _, problems = fuzz._run_guarded(["check", os2], 30.0)
    assert (code, problems) == (0, [])
    assert out == f"{os2}: ok\n"


def test_the_engine_rejects_unpositioned_diagnostics() -> None:
    """The check predicate refuses exit 70, a bare `takst: error:` and exit 1 with nothing."""
    assert fuzz.check_problems("t.tariff", 70, "") == ["exit code 70, expected 0 or 1"]
    assert fuzz.check_problems("t.tariff", 1, "takst: error: boom\n") == [
        "a stderr line that is not a positioned diagnostic: 'takst: error: boom'",
        "exit code 1 without a positioned diagnostic",
    ]
    assert fuzz.check_problems("t.tariff", 1, "t.tariff:3:4: error: x\n   3 | y\n"
                               "t.tariff: 1 error\n") == []


# ------------------------------------------------------------------ known bugs, elsewhere


def test_line_separators_in_syntax_error_recovery(scratch: Path) -> None:
    """A file separator and a line separator in a broken file give diagnostics, not exit 70
    (found by this fuzzer: lines were counted two ways; since fixed)."""
    path = scratch / "separators.tariff"
    path.write_bytes(b'\x1c\nexample "\xe2\x80\xa8"\n')
    assert fuzz.check_case(path).problems == []


def test_example_without_a_setting(scratch: Path) -> None:
    """An example that leaves out a setting is told to give it, not answered with exit 70
    (found by this fuzzer: a KeyError in check_example, since fixed)."""
    path = scratch / "setting.tariff"
    path.write_text('tariff t "T"\n  currency DKK\n  source "s"\n\n'
                    'setting cost "Cost": money\n\n'
                    "charge fee every year\n  amount 1 DKK\n\n"
                    'example "e"\n  given name "A"\n  billing year 2024\n  expect fee 1\n',
                    encoding="utf-8")
    assert fuzz.check_case(path).problems == []


def test_known_bugs_name_their_reproducers() -> None:
    """Every tolerated crash has its strict-xfail reproducer in this file."""
    for test in KNOWN_BUGS.values():
        assert callable(globals()[test])
