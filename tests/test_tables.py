"""Terminal outputs: amounts in the reader's locale, tables that fit, plain text in pipes.

src/takst/render/table.py, report.write_table, render/worksheet.py, cli_options.py;
and the first-contact fixes of issue 11 item 9 (``-`` for standard streams, ``takst
test`` with no paths, the tutorial's first step).
"""

from __future__ import annotations

import io
import os
import pty
import random
import re
import select
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA, ROOT, RULES, run, run_here

from takst.render import table as tables
from takst.render.locale import KNOWN_SYMBOLS, numbers

OS2 = "rules/os2valghalla.tariff"
DEMO = "data/os2valghalla_demo_2024.csv"
KS = "rules/ks_dif_2025.tariff"
NORWAY = "data/norway_2024.csv"
KONGSBERG = ["eval", "rules/kongsbergregionen.tariff", "--set", "population=41000",
             "--set", "joined=2019-05-01", "--year", "2019"]
NBSP = "\u00a0"
ESC = "\x1b["


# ------------------------------------------------------------------ numbers


def test_known_symbols_are_babels() -> None:
    """The symbols takst writes without loading Babel's data are Babel's (CLDR's)."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    for locale, (point, sep) in KNOWN_SYMBOLS.items():
        assert (get_decimal_symbol(locale), get_group_symbol(locale)) == (point, sep), locale


def test_fast_formatting_is_babels_for_many_amounts() -> None:
    rng = random.Random(11)
    values = [Decimal(x) for x in ("0", "-0", "0.001", "-0.5", "999", "1000", "-1234.5",
                                   "597705.345", "1E+3", "1E-7", "4114983",
                                   "123456789012345678901234567890.0123456789")]
    values += [Decimal(rng.randrange(-10**12, 10**12)).scaleb(-rng.randrange(0, 5))
               for _ in range(300)]
    for locale in KNOWN_SYMBOLS:
        n = numbers(locale)
        for v in values:
            for places in (0, 1, 2, 3):
                assert n._format(v, places) == n.babel(v, places), (locale, v, places)


def test_trace_numbers_in_the_locale() -> None:
    da, nb = numbers("da"), numbers("nb")
    text = 'price_per_inhabitant × population = 1.5 × 41 000 = 61 500'
    assert tables.localize_text(text, da) == "price_per_inhabitant × population = 1,5 × 41.000 = 61.500"
    assert tables.localize_text(text, nb) == ("price_per_inhabitant × population = "
                                              f"1,5 × 41{NBSP}000 = 61{NBSP}500")
    # dates, names in quotes, words with digits and line numbers stay
    kept = 'joined 2019-05-01 in billing year 2019; size over_25000 "Over 25 000.5" OS2 -3 days'
    assert tables.localize_text(kept, da) == kept
    assert tables.localize_text("change -1 234.50", da) == "change -1.234,50"
    assert tables.localize_text(text, numbers("en")) == text


# ------------------------------------------------------------------ the locale in the CLI


def _row(out: str, start: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(start))


def test_danish_table_by_default_for_a_dkk_tariff() -> None:
    code, out, err = run("eval", OS2, "--register", DEMO, "--year", "2024")
    assert code == 0, err
    assert _row(out, "0101  København").split() == ["0101", "København", "56.680,00", "0,00",
                                                    "pending", "56.680,00", "+"]
    assert "3.831.900,00" in _row(out, "      98 customers")
    code, out, err = run("eval", OS2, "--register", DEMO, "--year", "2024", "--locale", "en")
    assert _row(out, "0101  København").split() == ["0101", "København", "56", "680.00", "0.00",
                                                    "pending", "56", "680.00", "+"]


def test_norwegian_table_by_default_for_a_nok_tariff() -> None:
    code, out, err = run("eval", KS, "--register", NORWAY, "--year", "2025")
    assert code == 0, err
    assert f"4{NBSP}114{NBSP}983,00" in _row(out, "0301  Oslo")
    code, out, _ = run("eval", KS, "--register", NORWAY, "--year", "2025", "--locale", "sv")
    assert f"4{NBSP}114{NBSP}983,00" in _row(out, "0301  Oslo")


def test_worksheet_in_the_locale() -> None:
    code, out, err = run(*KONGSBERG)
    assert code == 0, err
    assert f"1,5 × 41{NBSP}000 = 61{NBSP}500" in out
    assert out.rstrip().endswith(f"167{NBSP}500,00")
    assert "joined      2019-05-01" in out
    code, out, err = run("explain", OS2, "--register", DEMO, "--customer", "Kolding", "--year",
                         "2024", "--locale", "da")
    assert "population 94.528 is in size large" in out
    assert out.rstrip().endswith("45.780,00")
    # the tariff's own texts are quoted as written: a version number is not an amount
    code, out, err = run("explain", OS2, "--register", DEMO, "--customer", "Kolding", "--year",
                         "2023")
    assert "crowdfundingen af OS2valghalla 3.0" in out and "45.780,00 × 1/4 = 11.445" in out


def test_compare_table_in_the_locale() -> None:
    code, out, err = run("compare", OS2, "rules/os2valghalla.tariff", "--register", DEMO,
                         "--old-year", "2023", "--new-year", "2024")
    assert code == 0, err
    assert "56.680,00" in _row(out, "0101  København")


def test_an_unknown_locale_is_a_usage_error_with_a_suggestion() -> None:
    code, out, err = run("eval", OS2, "--register", DEMO, "--year", "2024", "--locale", "danish")
    assert code == 2 and out == ""
    assert "--locale da" in err


# ------------------------------------------------------------------ layouts


def _ks_results() -> tuple[object, list[object]]:
    from takst.session import Request, Session

    evaluation = Session().run(Request(tariff=str(RULES / "ks_dif_2025.tariff"), year=2025,
                                       register=str(DATA / "norway_2024.csv")))
    return evaluation.tariff, list(evaluation)


@pytest.fixture(scope="module")
def ks() -> tuple[object, list[object]]:
    return _ks_results()


def test_a_wide_table_switches_to_blocks_that_fit_and_says_so(ks: tuple[object, list[object]]) -> None:
    from takst.render.report import to_table

    tariff, results = ks
    text = to_table(tariff, 2025, results, numbers=numbers("nb"),  # type: ignore[arg-type]
                    screen=tables.Screen(width=120))
    lines = text.splitlines()
    assert max(tables.cells(line) for line in lines) <= 120
    note = [line for line in lines if "do not fit" in line]
    assert note == ["241 columns do not fit in 120: one customer per block (see --layout and --charges)."]
    oslo = lines.index(next(line for line in lines if line.startswith("0301  Oslo")))
    assert lines[oslo].endswith(f"total 8{NBSP}928{NBSP}445,00 +")
    assert re.match(rf"  grunnfinansiering +4{NBSP}114{NBSP}983,00 +svarut +pending", lines[oslo + 1])
    assert any(line.startswith("All 371 customers") and "137" in line for line in lines)
    # no width (a pipe, a file): the table as it always was
    wide = to_table(tariff, 2025, results, numbers=numbers("nb"))  # type: ignore[arg-type]
    assert "do not fit" not in wide and max(len(x) for x in wide.splitlines()) == 241


def test_long_layout_one_line_per_amount(ks: tuple[object, list[object]]) -> None:
    from takst.render.report import to_table

    tariff, results = ks
    text = to_table(tariff, 2025, results, layout="long")  # type: ignore[arg-type]
    lines = text.splitlines()
    assert _row(text, "0301  Oslo             grunnfinansiering").endswith("4 114 983.00")
    assert _row(text, "0301  Oslo             total").endswith("8 928 445.00 +")
    assert sum(line.startswith("0301  Oslo ") for line in lines) == 14  # 13 charges + total


def test_charges_choose_the_columns() -> None:
    code, out, err = run("eval", KS, "--register", NORWAY, "--year", "2025", "--locale", "en",
                         "--charges", "svarut,grunnfinansiering")
    assert code == 0, err
    head = _row(out, "id ")
    assert head.split() == ["id", "name", "grunnfinansiering", "svarut", "total"]
    assert _row(out, "0301  Oslo").split()[-3:] == ["8", "928", "445.00", "+"][-3:]
    assert "total: every charge of the tariff (2 of 13 shown)" in out


def test_unknown_charge_and_charges_outside_a_table_are_usage_errors() -> None:
    code, out, err = run("eval", KS, "--register", NORWAY, "--year", "2025",
                         "--charges", "svarUT,digisoss")
    assert code == 2 and out == ""
    assert "no charge 'svarUT'" in err and "did you mean 'svarut'" in err
    assert "no charge 'digisoss'" in err and "did you mean 'digisos'" in err
    code, out, err = run("eval", KS, "--register", NORWAY, "--year", "2025", "--format", "csv",
                         "--charges", "svarut")
    assert code == 2 and "--charges chooses the columns of a table" in err


def test_screen_of_pipes_terminals_and_no_color() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert tables.screen_for(io.StringIO(), {"COLUMNS": "80"}) == tables.Screen()
    assert tables.screen_for(Tty(), {"COLUMNS": "80"}) == tables.Screen(80, True, True)
    assert tables.screen_for(Tty(), {"COLUMNS": "80", "NO_COLOR": "1"}).color is False
    assert tables.screen_for(Tty(), {"COLUMNS": "80", "NO_COLOR": ""}).color is True
    assert tables.screen_for(Tty(), {"COLUMNS": "80", "TERM": "dumb"}).color is False
    assert tables.worksheet_width(tables.Screen(80, True)) == 80
    assert tables.worksheet_width(tables.Screen(300, True)) == 120
    assert tables.worksheet_width(tables.Screen()) == 100


def test_piped_output_has_no_escape_sequences() -> None:
    for args in (("eval", KS, "--register", NORWAY, "--year", "2025"), KONGSBERG):
        code, out, err = run(*args)
        assert code == 0 and ESC not in out and ESC not in err


def _in_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run ``takst ARGV`` with stdout and stderr on a pseudo-terminal; what it showed."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "takst", *argv], stdout=child, stderr=child,
                            stdin=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "TERM": "xterm-256color", **env})
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(main, 1 << 16)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_a_table_that_fits_in_colour_unless_no_color() -> None:
    argv = ["eval", KS, "--register", NORWAY, "--year", "2025"]
    shown = _in_a_terminal(argv, {"COLUMNS": "120", "NO_COLOR": ""})
    assert ESC in shown and "241 columns do not fit in 120" in shown
    plain = _in_a_terminal(argv, {"COLUMNS": "120", "NO_COLOR": "1"})
    assert ESC not in plain and "241 columns do not fit in 120" in plain
    lines = plain.replace("\r\n", "\n").splitlines()
    assert max(tables.cells(line) for line in lines) <= 120
    sheet = _in_a_terminal(KONGSBERG, {"COLUMNS": "80", "NO_COLOR": "1"})
    lines = sheet.replace("\r\n", "\n").splitlines()
    assert lines[-1].startswith("Total ") and len(lines[-1]) == 80


def test_progress_bar_only_on_a_terminal_and_only_for_long_runs() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    ticks = iter(range(10_000))

    def clock() -> float:
        return float(next(ticks))  # every call a second later

    err = Tty()
    assert list(tables.progress(range(500), err, total=500, clock=clock,
                                environ={"NO_COLOR": "1"})) == list(range(500))
    assert "customers" in err.getvalue()
    quiet = io.StringIO()
    assert list(tables.progress(range(500), quiet, clock=clock)) == list(range(500))
    assert quiet.getvalue() == ""
    fast = Tty()
    assert list(tables.progress(range(20), fast, total=20)) == list(range(20))
    assert fast.getvalue() == ""


def test_one_customer_and_pipes_load_neither_babel_nor_rich() -> None:
    probe = ("import sys, io; from takst.cli import main; "
             f"main({KONGSBERG!r}, io.StringIO(), io.StringIO()); "
             "main(['eval', 'rules/ks_dif_2025.tariff', '--register', 'data/norway_2024.csv', "
             "'--year', '2025', '--charges', 'svarut'], io.StringIO(), io.StringIO()); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'babel', 'rich'}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ "-" and first contact


def test_out_dash_is_standard_output(work: Path) -> None:
    code, out, err = run_here("eval", OS2, "--register", DEMO, "--year", "2024", "--format",
                              "csv", "--out", "-")
    assert code == 0, err
    assert out.startswith("id,name,annual_fee")
    assert not (work / "-").exists() and not (work / "-.manifest.json").exists()


def test_register_dash_is_standard_input(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (work / DEMO).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, err = run_here("eval", OS2, "--register", "-", "--year", "2024", "--format",
                              "json")
    assert code == 0, err
    assert '"register": "<stdin>"' in out and '"0101"' in out
    bad = b"id,name,customer_type,population,os2_member,joined\n1,X,KOMMUNE,many,true,2024-01-01\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bad)))
    code, out, err = run_here("eval", OS2, "--register", "-", "--year", "2024")
    assert code == 1 and out == ""
    assert "<stdin>" in err and "takst-stdin-" not in err


GOOD = """tariff good "Good"
  currency DKK
  source "test"

charge fee "Fee" every year
  amount 100 DKK

example "pays"
  billing year 2024
  expect fee 100
"""


def test_takst_test_with_no_paths_runs_what_pytest_would(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "good.tariff").write_text(GOOD)
    (tmp_path / "tests" / "cases").mkdir(parents=True)
    (tmp_path / "tests" / "cases" / "broken.tariff").write_text("tariff broken\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "other.tariff").write_text("tariff broken\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_here("test")
    assert code == 1 and "broken.tariff" in out  # no configuration: every folder but hidden ones
    assert "other.tariff" not in out
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests", "rules"]\n'
        'takst_ignore = ["tests/cases/*"]\n')
    code, out, err = run_here("test")
    assert code == 0, out + err
    assert "broken.tariff" not in out and "rules/good.tariff: 1 of 1 examples passed" in out
    assert out.splitlines()[0] == ("tariffs as pytest finds them (pyproject.toml "
                                   "[tool.pytest.ini_options]: tests, rules); 1 file left out "
                                   "by takst_ignore")
    code, out, _ = run_here("test", "tests/cases")  # named paths run as given
    assert code == 1


def _tutorial_steps() -> list[str]:
    text = (ROOT / "docs" / "tutorial.rst").read_text(encoding="utf-8")
    steps = []
    for m in re.finditer(r"((?:\.\. expect-\w+:[^\n]*\n\n)?)\.\. code-block:: tariff\n\n"
                         r"((?:   [^\n]*\n|\n)+)", text):
        if m.group(1):
            continue  # a deliberate mistake
        body = "\n".join(line[3:] for line in m.group(2).splitlines())
        if body.lstrip().startswith("tariff"):
            steps.append(body)
    return steps


def test_every_tutorial_step_checks_without_any_diagnostic(tmp_path: Path) -> None:
    """A new user who saves a step and runs `takst check` on it gets `ok` (exit 0)."""
    steps = _tutorial_steps()
    assert len(steps) >= 5
    (tmp_path / "docs").mkdir()
    for n, step in enumerate(steps, 1):
        path = tmp_path / "docs" / f"step{n}.tariff"
        path.write_text(step, encoding="utf-8")
        code, _, err = run("check", str(path))
        assert code == 0, f"tutorial step {n}:\n{err}"
