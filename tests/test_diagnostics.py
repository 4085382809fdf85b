"""Golden diagnostics: each ``tests/cases/NAME.tariff`` renders exactly ``NAME.err``.

A case is a small tariff that shows one mistake (or, with an empty ``.err``, one
thing that is *not* a mistake). The ``.err`` file holds every diagnostic of the
file -- the syntax errors if it does not parse, else everything the checker
reports -- rendered as :func:`takst.dsl.errors.render_all` does, with the file
named ``tests/cases/NAME.tariff`` whatever the working directory.

The ``.err`` files are assertions written by hand, not snapshots. To see which
outputs differ, or to rewrite them after a deliberate wording change::

    python tests/test_diagnostics.py            # list the cases whose output differs
    python tests/test_diagnostics.py --update   # rewrite those .err files (review the diff!)

Cases in :data:`XFAIL` expect the *correct* output for a known checker bug; the
update mode leaves their ``.err`` files alone.
"""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path

import pytest

from takst.dsl import errors as errors_module
from takst.dsl import parser as parser_module
from takst.dsl.check import check
from takst.dsl.errors import TariffSyntaxError, render, render_all
from takst.dsl.parser import parse, parse_file

CASES = Path(__file__).resolve().parent / "cases"

#: Cases whose ``.err`` holds the right answer for a reported bug. Strict: once
#: the bug is fixed the case passes, the xfail turns into a failure, and this
#: entry must go.
XFAIL: dict[str, str] = {}


def display_name(path: Path) -> str:
    """The name a case's diagnostics show, independent of the working directory."""
    return f"tests/cases/{path.name}"


def diagnose(path: Path) -> str:
    """Every diagnostic of one tariff file, rendered; the empty string when it is clean."""
    try:
        diags = check(parse_file(path, display=display_name(path)))
    except TariffSyntaxError as err:
        diags = list(err.diagnostics)
    return render_all(diags)


def golden_text(rendered: str) -> str:
    """The content of an ``.err`` file: the rendering plus a final newline, or nothing."""
    return rendered + "\n" if rendered else ""


def case_files() -> list[Path]:
    return sorted(CASES.glob("*.tariff"))


def _params() -> list[object]:
    out: list[object] = []
    for path in case_files():
        marks = []
        if path.stem in XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[path.stem]))
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


@pytest.mark.parametrize("path", _params())
def test_case(path: Path) -> None:
    """The diagnostics of the case file render exactly as its .err file says."""
    expected = path.with_suffix(".err").read_text(encoding="utf-8")
    assert golden_text(diagnose(path)) == expected


def test_every_case_has_a_golden_file() -> None:
    """Every .tariff case has an .err file and every .err file has its .tariff case."""
    tariffs = {p.stem for p in CASES.glob("*.tariff")}
    goldens = {p.stem for p in CASES.glob("*.err")}
    assert tariffs == goldens


def test_every_case_says_what_it_shows() -> None:
    """Every case file starts with a comment saying what it demonstrates."""
    for path in case_files():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), path.name


def test_xfail_entries_name_existing_cases() -> None:
    """Every expected failure names a case that exists, so a renamed case cannot hide."""
    assert set(XFAIL) <= {p.stem for p in case_files()}


def test_output_does_not_depend_on_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A case renders the same when the tests run from another folder."""
    path = CASES / "os2valghalla_bands_as_published.tariff"
    here = diagnose(path)
    monkeypatch.chdir(tmp_path)
    assert diagnose(path) == here
    assert here.startswith("tests/cases/os2valghalla_bands_as_published.tariff:10:3: ")


_TWO_TEXTS = (
    'tariff a "A"\n  currency DKK\n  source "s"\n\ncharge fee every year\n  amount 10 DKK +\n',
    'tariff b "B"\n  currency DKK\n  source "s"\n\ncharge due every year\n  amount 99 DKK *\n',
)


def _syntax_errors(text: str, file: str) -> TariffSyntaxError:
    with pytest.raises(TariffSyntaxError) as info:
        parse(text, file)
    return info.value


def test_two_texts_of_one_file_name_show_their_own_lines() -> None:
    """Two parses of different texts under the same file name each render their own source line,
    whichever was parsed last (a diagnostic carries its source; no cache is shared)."""
    first = _syntax_errors(_TWO_TEXTS[0], "same.tariff")
    second = _syntax_errors(_TWO_TEXTS[1], "same.tariff")
    assert render(first.diagnostics[0]).splitlines()[1] == "    6 |   amount 10 DKK +"
    assert render(second.diagnostics[0]).splitlines()[1] == "    6 |   amount 99 DKK *"
    checked_a = check(parse(_TWO_TEXTS[0].replace(" +\n", " + nothing\n"), "same.tariff"))
    checked_b = check(parse(_TWO_TEXTS[1].replace(" *\n", " * naught\n"), "same.tariff"))
    assert "   amount 10 DKK + nothing" in render_all(checked_a)
    assert "   amount 99 DKK * naught" in render_all(checked_b)
    assert "naught" not in render_all(checked_a) and "nothing" not in render_all(checked_b)


def _module_state() -> int:
    """How many items the dsl modules' global containers hold."""
    total = 0
    for module in (errors_module, parser_module):
        for value in vars(module).values():
            if isinstance(value, dict | list | set):
                total += len(value)
            elif hasattr(value, "_texts"):
                total += len(value._texts)
    return total


def test_parsing_keeps_nothing_process_wide() -> None:
    """A parse's source text lives as long as its AST and diagnostics, and no module-level
    store grows with the number of parses."""
    assert not hasattr(errors_module, "SOURCES")
    parse(_TWO_TEXTS[0].replace(" +\n", "\n"), "warm-up.tariff")
    before = _module_state()
    for n in range(200):
        tariff = parse(_TWO_TEXTS[0].replace(" +\n", f" + {n}\n"), f"file{n}.tariff")
    assert _module_state() == before
    source = weakref.ref(tariff.span.source) if tariff.span.source is not None else None
    assert source is not None and source() is not None
    err = _syntax_errors(_TWO_TEXTS[1], "gone.tariff")
    diag_source = err.diagnostics[0].span.source if err.diagnostics[0].span else None
    assert diag_source is not None
    held = weakref.ref(diag_source)
    del tariff, err, diag_source
    gc.collect()
    assert source() is None and held() is None


def main(argv: list[str]) -> int:
    """Script mode: list the cases whose output differs; with --update, rewrite them."""
    update = "--update" in argv
    changed = crashed = 0
    for path in case_files():
        golden = path.with_suffix(".err")
        try:
            actual = golden_text(diagnose(path))
        except Exception as err:  # a crash is never written into a golden file
            if path.stem not in XFAIL:
                crashed += 1
            print(f"crashed  {path.name}: {err!r}")
            continue
        old = golden.read_text(encoding="utf-8") if golden.exists() else None
        if old == actual:
            continue
        if path.stem in XFAIL:
            print(f"kept     {golden.name} (expected failure: {XFAIL[path.stem]})")
            continue
        changed += 1
        if update:
            golden.write_text(actual, encoding="utf-8")
            print(f"{'created' if old is None else 'updated'}  {golden.name}")
        else:
            print(f"differs  {golden.name}")
    if not changed and not crashed:
        print("all .err files match")
    elif changed and not update:
        print(f"{changed} differ; review them, then run with --update to rewrite")
    return 1 if crashed or (changed and not update) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
