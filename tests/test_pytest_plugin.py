"""The pytest plugin: the example blocks of .tariff files are pytest items.

Each test copies the small tariffs of tests/fixtures/plugin/ (a passing one with a
register example, one with a wrong expectation, one that does not parse, one
that does not check, one that imports a stdlib module) into a fresh folder and
runs pytest there with ``pytester``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

from takst.cli import main

pytest_plugins = ["pytester"]

FIXTURES = ROOT / "tests" / "fixtures" / "plugin"


@pytest.fixture
def tariffs(pytester: pytest.Pytester) -> Path:
    """A folder with the fixture tariffs (and the register one of them reads)."""
    shutil.copytree(FIXTURES, pytester.path, dirs_exist_ok=True)
    return pytester.path


def test_items_are_named_by_file_and_example(pytester: pytest.Pytester, tariffs: Path) -> None:
    """Each example is an item FILE.tariff::TITLE; a file that does not load is one item."""
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "broken.tariff::takst check",
        "passing.tariff::Small customer",
        "passing.tariff::Large customer",
        "passing.tariff::Every member of the register",
        "properties.tariff::Small customer",
        "properties.tariff::property fee_grows",
        "properties.tariff::property fee_small",
        "unchecked.tariff::takst check",
        "uses_module.tariff::A municipality pays",
        "uses_module.tariff::A county is not offered the service",
        "wrong.tariff::Right",
        "wrong.tariff::Wrong on purpose",
    ]


def test_passing_examples_pass(pytester: pytest.Pytester, tariffs: Path) -> None:
    """The examples of a correct tariff pass, a register example and a stdlib import included."""
    result = pytester.runpytest("passing.tariff", "uses_module.tariff", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_a_wrong_expectation_shows_expected_actual_and_the_trace(
    pytester: pytest.Pytester, tariffs: Path
) -> None:
    """A failing example reports expected vs actual per charge and the trace of the actual."""
    result = pytester.runpytest("wrong.tariff", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ example 'Wrong on purpose' _*",
        'wrong.tariff:16: example "Wrong on purpose" failed',
        "               expected          actual",
        "  fee            300.00          350.00",
        "  total          300.00          350.00",
        "",
        "  Trace of the actual result:",
        "  | Wrong  —  billing year 2024  —  amounts in DKK",
        "  |   population  1 000",
        "  |      100 DKK + (…) = 100 + 250 = 350 * line 9",
        "FAILED wrong.tariff::Wrong on purpose - *",
    ])
    assert "Traceback" not in result.stdout.str()
    assert "pytest_plugin.py" not in result.stdout.str()


def test_a_file_that_does_not_parse_is_one_failing_item(
    pytester: pytest.Pytester, tariffs: Path
) -> None:
    """A syntax error is one failing item whose report is the positioned diagnostic."""
    result = pytester.runpytest("broken.tariff", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*_ takst check _*",
        'broken.tariff:6:18: error: unexpected "inhabitants"; expected ":" or a text in '
        'double quotes ("...")',
        "    6 | input population inhabitants",
        "      |                  ^^^^^^^^^^^",
        "  hint: an input is written with a colon before its type*",
        "FAILED broken.tariff::takst check - broken.tariff:6:18: error: *",
    ])


def test_a_file_that_does_not_check_is_one_failing_item(
    pytester: pytest.Pytester, tariffs: Path
) -> None:
    """A check error (here an undefined name) is one failing item with the checker's message."""
    result = pytester.runpytest("unchecked.tariff", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "unchecked.tariff:9:10: error: price is not defined",
        "    9 |   amount price * population",
        "      |          ^^^^^",
    ])


@pytest.mark.parametrize("how", [["--no-takst"], ["-p", "no:takst"], ["-o", "takst=false"]])
def test_collection_can_be_turned_off(
    pytester: pytest.Pytester, tariffs: Path, how: list[str]
) -> None:
    """--no-takst, -p no:takst or the ini option takst = false: no tariff is collected."""
    result = pytester.runpytest(*how, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_takst_ignore_leaves_files_out(pytester: pytest.Pytester, tariffs: Path) -> None:
    """The ini option takst_ignore (globs relative to the rootdir) leaves matching files out."""
    pytester.makeini("[pytest]\ntakst_ignore =\n    broken.tariff\n    unchecked.*\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8, failed=2)


def _takst_test_outcomes(folder: Path) -> set[tuple[str, str, str]]:
    """(file, example title, "property NAME" or "takst check"; "passed"/"failed") as
    `takst test -v` says."""
    out, err = io.StringIO(), io.StringIO()
    main(["test", "-v", str(folder)], out, err)
    found: set[tuple[str, str, str]] = set()
    passed: list[str] = []
    for line in out.getvalue().splitlines():
        if m := re.match(r"^  ok    property (\w+)", line):
            passed.append(f"property {m[1]}")
        elif line.startswith("  ok    "):
            passed.append(line.removeprefix("  ok    "))
        elif m := re.match(r'^(\S+\.tariff):\d+: example "(.*)" failed$', line):
            found.add((Path(m[1]).name, m[2], "failed"))
        elif m := re.match(r"^(\S+\.tariff):\d+: property (\w+) ", line):
            found.add((Path(m[1]).name, f"property {m[2]}", "failed"))
        elif m := re.match(r"^(\S+\.tariff): \d+ of \d+ examples passed", line):
            found |= {(Path(m[1]).name, title, "passed") for title in passed}
            passed = []
        elif m := re.match(r"^(\S+\.tariff): cannot run its examples", line):
            found.add((Path(m[1]).name, "takst check", "failed"))
    return found


def test_takst_test_and_pytest_agree(pytester: pytest.Pytester, tariffs: Path) -> None:
    """`takst test` and pytest pass and fail the same examples of the same files."""
    reprec = pytester.inline_run("-p", "no:cacheprovider")
    by_pytest = set()
    for rep in reprec.getreports("pytest_runtest_logreport"):
        if rep.when == "call":
            file, name = rep.nodeid.split("::", 1)
            by_pytest.add((file, name, rep.outcome))
    by_takst = _takst_test_outcomes(tariffs)
    assert by_pytest == by_takst
    assert {o for _, _, o in by_takst} == {"passed", "failed"}


def test_the_projects_pytest_runs_the_examples_of_rules_and_stdlib() -> None:
    """`pytest` in the repository collects the examples of rules/ and stdlib/, not the
    deliberately broken tariffs of tests/cases/ or the fixtures."""
    result = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ids = result.stdout.splitlines()
    assert "rules/os2valghalla.tariff::Nothing is charged before the agreement is entered" in ids
    assert "stdlib/customer_types.tariff::A county is in the municipal group" in ids
    tariff_files = {i.split("::")[0] for i in ids if ".tariff::" in i}
    assert {f.split("/")[0] for f in tariff_files} == {"rules", "stdlib"}
    assert tariff_files == {
        p.relative_to(ROOT).as_posix()
        for folder in ("rules", "stdlib") for p in (ROOT / folder).glob("*.tariff")
    }


def test_a_failing_property_shows_its_counterexample(
    pytester: pytest.Pytester, tariffs: Path
) -> None:
    """A declared property is an item too; a false one reports a counterexample to paste."""
    result = pytester.runpytest("properties.tariff", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*_ property fee_small _*",
        "properties.tariff:18: property fee_small * fails: fee 2 000.00 is outside 0 to 1_500",
        "  A counterexample, ready to paste into the tariff*",
        'example "fee_small: counterexample"',
        "FAILED properties.tariff::property fee_small - *",
    ])


def test_examples_with_one_title_get_one_item_each(pytester: pytest.Pytester) -> None:
    """Two examples with the same title are two items, the second numbered."""
    block = 'example "Same"\n  given population 1\n  billing year 2024\n  expect fee 1\n\n'
    pytester.makefile(".tariff", same=(
        'tariff same\n  currency DKK\n  source "s"\n\ninput population: inhabitants\n\n'
        "charge fee every year\n  amount 1 DKK\n\n" + block + block))
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert [line for line in result.outlines if "::" in line] == [
        "same.tariff::Same", "same.tariff::Same (2)"]
