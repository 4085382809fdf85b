"""Limits: absurd tariffs and registers (deep, long, huge, impossible) end in a positioned
error or a result within a bounded time, never a traceback or an internal error."""

from __future__ import annotations

import decimal
import io
import json
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from paths import ROOT

from takst.cli import main

OS2 = str(ROOT / "rules" / "os2valghalla.tariff")
KONGSBERG = str(ROOT / "rules" / "kongsbergregionen.tariff")
HEAD = 'tariff t "T"\n  currency DKK\n  source "s"\n\ninput population "I": inhabitants\n'
FEE = "charge fee every year\n  amount 1 DKK per inhabitant * population\n"
REGISTER_HEAD = "id,name,customer_type,population,os2_member,joined\n"
#: Generous bounds: the machine is shared; a bound is about "not unbounded", not speed.
FEW_SECONDS = 10.0


def run(*argv: str) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - start


def check(tmp_path: Path, text: str, name: str = "t.tariff") -> tuple[int, str, float]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code, _, err, seconds = run("check", str(path))
    return code, err, seconds


def first_error(err: str) -> str:
    """The head line of the first error diagnostic."""
    return next(line for line in err.splitlines() if ": error: " in line)


def assert_positioned(err: str, path: Path, line: int, message: str) -> None:
    """The first error is at ``path:line:column`` and says ``message``."""
    head = first_error(err)
    assert re.match(rf"{re.escape(str(path))}:{line}:\d+: error: ", head), head
    assert message in head, head
    assert "Traceback" not in err and "internal error" not in err


# ------------------------------------------------------------------ nesting


def test_flat_sum_of_200_terms_is_not_nesting(tmp_path: Path) -> None:
    """200 terms in one amount are long but flat: the tariff checks, evaluates with a trace,
    tests and formats (the nesting limit counts depth, not terms)."""
    path = tmp_path / "t.tariff"
    path.write_text(HEAD + "charge fee every year\n  amount " + " + ".join(["1 DKK"] * 200)
                    + " + 0 DKK per inhabitant * population\n\nexample \"e\"\n"
                    "  given population 1\n  billing year 2024\n  expect fee 200\n",
                    encoding="utf-8")
    for argv in (["check"], ["test"], ["fmt", "--check"],
                 ["eval", "--set", "population=1", "--year", "2024", "--trace"]):
        code, _, err, seconds = run(argv[0], str(path), *argv[1:])
        assert code == 0, (argv, err)
        assert seconds < FEW_SECONDS
    assert "200" in run("eval", str(path), "--set", "population=1", "--year", "2024")[1]


def test_the_longest_calculation_runs_through_every_stage(tmp_path: Path) -> None:
    """A sum just under the length limit, nested 100 formula calls and 99 parentheses pass
    every stage (check, test, trace, format): the limits keep all recursion bounded."""
    longest = " + ".join(["1 DKK"] * 240)
    calls = "f(" * 100 + "1 DKK" + ")" * 100
    parens = "(" * 99 + "1 DKK" + ")" * 99
    path = tmp_path / "t.tariff"
    path.write_text(HEAD + "formula f(x) = x\n"
                    + f"charge a every year\n  amount {longest}\n"
                    + f"charge b every year\n  amount {calls} + 1 DKK per inhabitant * population\n"
                    + f"charge c every year\n  amount {parens}\n"
                    + '\nexample "e"\n  given population 1\n  billing year 2024\n'
                    + "  expect a 240, b 2, c 1\n", encoding="utf-8")
    for argv in (["check"], ["test"], ["fmt", "--check"],
                 ["eval", "--set", "population=1", "--year", "2024", "--trace"]):
        code, _, err, _ = run(argv[0], str(path), *argv[1:])
        assert code == 0, (argv, err)


def test_overlong_calculation_is_a_positioned_error(tmp_path: Path) -> None:
    """A sum of 300 terms is longer than the stated limit: an error on that line."""
    code, err, _ = check(tmp_path, HEAD + "charge fee every year\n  amount "
                         + " + ".join(["1 DKK"] * 300) + "\n")
    assert code == 1
    assert_positioned(err, tmp_path / "t.tariff", 7,
                      "this calculation or condition is too long (more than about 250 terms)")


@pytest.mark.parametrize(("condition", "message"), [
    (" and ".join(["population > 1"] * 500), "too long (more than about 250 terms)"),
    ("not " * 5000 + "population > 1", "too deeply nested (more than 100 levels)"),
], ids=["and", "not"])
def test_deeply_nested_condition_is_a_positioned_error(
    tmp_path: Path, condition: str, message: str
) -> None:
    """A condition of 500 `and`s (too long) or 5 000 `not`s (too deep) is refused at its line."""
    code, err, seconds = check(tmp_path, HEAD + FEE + f"  except {condition} -> 0 DKK\n")
    assert code == 1 and seconds < FEW_SECONDS
    assert_positioned(err, tmp_path / "t.tariff", 8, message)


def test_hundred_thousand_parentheses_are_refused_quickly(tmp_path: Path) -> None:
    """100 000 nested parentheses are nested 100 000 deep: refused at once, at the 101st."""
    condition = "(" * 100_000 + "population > 1" + ")" * 100_000
    code, err, seconds = check(tmp_path, HEAD + FEE + f"  except {condition} -> 0 DKK\n")
    assert code == 1 and seconds < 2.0
    assert_positioned(err, tmp_path / "t.tariff", 8,
                      "this calculation or condition is too deeply nested (more than 100 levels)")
    assert first_error(err).startswith(f"{tmp_path / 't.tariff'}:8:110: ")


def test_a_hundred_parentheses_are_allowed_and_a_hundred_and_one_are_not(tmp_path: Path) -> None:
    """The stated nesting limit: 100 levels of parentheses check, 101 are refused."""
    def condition(n: int) -> str:
        return "(" * n + "population > 1" + ")" * n

    assert check(tmp_path, HEAD + FEE + f"  except {condition(100)} -> 0 DKK\n")[:2] == (0, "")
    code, err, _ = check(tmp_path, HEAD + FEE + f"  except {condition(101)} -> 0 DKK\n")
    assert code == 1 and "too deeply nested (more than 100 levels)" in first_error(err)


def test_unbalanced_parentheses_are_a_positioned_error(tmp_path: Path) -> None:
    """Opening parentheses without their closing ones: an error on their line (too deep when
    there are 10 000 of them, a syntax error when there are two)."""
    code, err, _ = check(tmp_path, HEAD + FEE + "  except " + "(" * 10_000 + " -> 0 DKK\n")
    assert code == 1
    assert_positioned(err, tmp_path / "t.tariff", 8, "too deeply nested")
    code, err, _ = check(tmp_path, HEAD + FEE + "  except ((population > 1 -> 0 DKK\n")
    assert code == 1
    assert_positioned(err, tmp_path / "t.tariff", 8, "unexpected")


# ------------------------------------------------------------------ size


def test_one_megabyte_list_checks_in_seconds(tmp_path: Path) -> None:
    """A list of 100 000 names (1.3 MB) checks clean within a few seconds."""
    names = ", ".join(f'"Kommune {i}"' for i in range(100_000))
    text = HEAD + f"list big = {names}\n" + FEE + "  except name in big -> 0 DKK\n"
    assert len(text) > 1_000_000
    code, err, seconds = check(tmp_path, text)
    assert (code, err) == (0, "")
    assert seconds < FEW_SECONDS


def test_one_megabyte_line_checks_in_seconds(tmp_path: Path) -> None:
    """A title of a million characters is read, and shown cut to a window in errors."""
    text = HEAD.replace('"T"', '"' + "x" * 1_000_000 + '"') + FEE + "  amount 2 DKK\n"
    code, err, seconds = check(tmp_path, text)
    assert code == 1 and seconds < FEW_SECONDS
    assert_positioned(err, tmp_path / "t.tariff", 8, "charge fee has more than one amount")
    assert max(len(line) for line in err.splitlines()) < 200


def test_a_file_over_the_size_limit_is_refused_at_once(tmp_path: Path) -> None:
    """A 10 MB tariff (200 000 charges) is refused before it is parsed, with the stated
    limit in the message; a text of that size given to parse() is refused the same way."""
    from takst.dsl.errors import TariffSyntaxError
    from takst.dsl.parser import MAX_FILE_SIZE, parse

    body = "".join(f"charge c{i} every year\n  amount {i} DKK + 1 DKK\n" for i in range(200_000))
    text = HEAD + body
    assert len(text) > 5 * MAX_FILE_SIZE
    code, err, seconds = check(tmp_path, text)
    assert code == 1 and seconds < FEW_SECONDS
    head = first_error(err)
    assert head.startswith(f"{tmp_path / 't.tariff'}:1:1: error: this file is too large to be a "
                           "tariff: more than 2 000 000 bytes; takst reads tariff files of at most "
                           "2 000 000 bytes"), head
    with pytest.raises(TariffSyntaxError) as info:
        parse(text, "big.tariff")
    assert "takst reads tariff files of at most 2 000 000 bytes" in info.value.diagnostics[0].message
    assert MAX_FILE_SIZE == 2_000_000


def test_checking_many_charges_grows_linearly(tmp_path: Path) -> None:
    """Four times the charges take about four times as long, not sixteen."""
    def charges(n: int) -> str:
        return HEAD + "".join(f"charge c{i} every year\n  amount {i} DKK + 1 DKK per "
                              "inhabitant * population\n" for i in range(n))

    check(tmp_path, charges(50))  # warm up the grammar
    _, _, small = check(tmp_path, charges(500))
    code, err, large = check(tmp_path, charges(2_000))
    assert (code, err) == (0, "")
    assert large < 8 * small + 1.0, (small, large)


def test_thousands_of_errors_are_reported_in_bounded_output(tmp_path: Path) -> None:
    """20 000 bad lines give at most 100 diagnostics and a count of the rest."""
    code, err, seconds = check(tmp_path, HEAD + FEE + "  amount x\n" * 20_000)
    assert code == 1 and seconds < FEW_SECONDS
    assert err.count(": error: ") == 100
    assert "... and 19900 more problems" in err


# ------------------------------------------------------------------ enormous numbers


@pytest.mark.parametrize(("line", "where"), [
    ("charge fee every year\n  amount 1{zeros} DKK per inhabitant * population\n", 7),
    ("bands size by population\n  small below 1{zeros}\n  large from 1{zeros}\n" + FEE, 7),
    (FEE + 'example "e"\n  given population 1{zeros}\n  billing year 2024\n  expect fee 1\n',
     9),
    (FEE + 'example "e"\n  given population 1\n  billing year 2024\n  expect fee 1{zeros}\n',
     11),
], ids=["amount", "band", "given", "expect"])
def test_ten_to_the_thousand_in_a_tariff(tmp_path: Path, line: str, where: int) -> None:
    """10^1000 anywhere in a tariff is refused by its number of digits, at its position."""
    code, err, seconds = check(tmp_path, HEAD + line.format(zeros="0" * 1000))
    assert code == 1 and seconds < FEW_SECONDS
    assert_positioned(err, tmp_path / "t.tariff", where,
                      "this number has 1001 digits; takst reads numbers of at most 30 digits")


def test_ten_to_the_thousand_in_a_register(tmp_path: Path) -> None:
    """10^1000 inhabitants in a register: an error at its row and column, exit 1."""
    reg = tmp_path / "r.csv"
    reg.write_text(REGISTER_HEAD + f"1,A,KOMMUNE,1{'0' * 1000},true,2024-01-01\n",
                   encoding="utf-8")
    code, out, err, _ = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert (code, out) == (1, "")
    assert err.startswith(f"{reg}, row 2, column population: error: population has 1001 "
                          "digits, more than any real register holds\n")


def test_ten_to_the_thousand_on_the_command_line() -> None:
    """10^1000 given with --set is a usage error (exit 2) in words."""
    code, _, err, _ = run("eval", KONGSBERG, "--set", f"population=1{'0' * 1000}",
                          "--set", "joined=2019-01-01", "--year", "2019")
    assert code == 2
    assert "population has 1001 digits" in err


def test_runaway_products_stop_with_a_positioned_error(tmp_path: Path) -> None:
    """Params that square each other 24 times stop with an error at the amount, quickly."""
    params = ["param p0 = 99_999_999_999_999_999_999_999_999_999"]
    params += [f"param p{i} = p{i - 1} * p{i - 1}" for i in range(1, 25)]
    path = tmp_path / "t.tariff"
    path.write_text(HEAD + "\n".join(params) + "\n"
                    "charge fee every year\n  amount p24 * 1 DKK per inhabitant * population\n",
                    encoding="utf-8")
    code, _, err, seconds = run("eval", str(path), "--set", "population=5", "--year", "2024")
    assert code == 1 and seconds < FEW_SECONDS
    assert_positioned(err, path, 32, "this calculation gives a number too large to compute "
                      "exactly")


def test_thirty_digit_inputs_evaluate_exactly() -> None:
    """The largest register value allowed (30 digits) bills exactly: 1.50 DKK each."""
    population = "9" * 30
    code, out, err, _ = run("eval", KONGSBERG, "--set", f"population={population}",
                            "--set", "joined=2018-01-01", "--year", "2019", "--format", "json")
    assert code == 0, err
    (customer,) = json.loads(out)["customers"]
    annual = {ln["charge"]: ln["amount"] for ln in customer["lines"]}["annual"]
    with decimal.localcontext(decimal.Context(prec=100)):
        assert Decimal(annual) == Decimal(6000) + Decimal("1.50") * Decimal(population)


def test_totals_of_large_amounts_are_exact() -> None:
    """A customer's total is the exact sum of its amounts, however many digits they have."""
    code, out, err, _ = run("eval", KONGSBERG, "--set", "population=1" + "0" * 26 + "1",
                            "--set", "joined=2019-05-01", "--year", "2019", "--format", "json")
    assert code == 0, err
    (customer,) = json.loads(out)["customers"]
    amounts = [Decimal(ln["amount"]) for ln in customer["lines"]]
    with decimal.localcontext(decimal.Context(prec=100)):
        expected = sum(amounts, Decimal(0))
    assert Decimal(customer["total"]) == expected


# ------------------------------------------------------------------ impossible values


@pytest.mark.parametrize(("population", "message"), [
    ("-5", "population is -5, but a number of inhabitants cannot be negative"),
    ("41000.5", "population is '41000.5', which is not a whole number of inhabitants"),
    ("0.5", "population is '0.5', which is not a whole number of inhabitants"),
])
def test_negative_or_fractional_inhabitants_in_a_register(
    tmp_path: Path, population: str, message: str
) -> None:
    """A register's inhabitants are whole and not negative; the cell is named."""
    reg = tmp_path / "r.csv"
    reg.write_text(REGISTER_HEAD + f"1,A,KOMMUNE,{population},true,2024-01-01\n",
                   encoding="utf-8")
    code, _, err, _ = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1
    assert err.startswith(f"{reg}, row 2, column population: error: {message}\n")


@pytest.mark.parametrize(("population", "message"), [
    ("-5", 'unexpected "-"'),
    ("1.5", "population is a whole number of inhabitants, not 1.5"),
])
def test_negative_or_fractional_inhabitants_in_an_example(
    tmp_path: Path, population: str, message: str
) -> None:
    """An example's `given` with -5 or 1.5 inhabitants is an error at its line."""
    text = HEAD + FEE + (f'example "e"\n  given population {population}\n'
                         "  billing year 2024\n  expect fee 1\n")
    code, err, _ = check(tmp_path, text)
    assert code == 1
    assert_positioned(err, tmp_path / "t.tariff", 9, message)


def test_impossible_date_in_a_tariff(tmp_path: Path) -> None:
    """2023-02-30 in a condition and in an example are errors at their positions."""
    text = (HEAD + "input joined: date\n" + FEE + "  except joined > 2023-02-30 -> 0 DKK\n"
            'example "e"\n  given population 1, joined 2023-02-29\n  billing year 2024\n'
            "  expect fee 1\n")
    code, err, _ = check(tmp_path, text)
    assert code == 1
    heads = [line for line in err.splitlines() if ": error: " in line]
    path = tmp_path / "t.tariff"
    assert heads == [f"{path}:9:19: error: 2023-02-30 is not a date in the calendar",
                     f"{path}:11:30: error: 2023-02-29 is not a date in the calendar"]


def test_impossible_date_in_a_register(tmp_path: Path) -> None:
    """2023-02-30 in a register: the row, the column, and how many days February has."""
    reg = tmp_path / "r.csv"
    reg.write_text(REGISTER_HEAD + "1,A,KOMMUNE,5,true,2023-02-30\n", encoding="utf-8")
    code, _, err, _ = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1
    assert err.startswith(
        f"{reg}, row 2, column joined: error: joined is 2023-02-30, which is not a date in "
        "the calendar\n  hint: February 2023 has 28 days; write a real date as YYYY-MM-DD\n")


@pytest.mark.parametrize("year", ["0", "99999", "2024.5", "-2024"])
def test_impossible_billing_year_is_a_usage_error(year: str) -> None:
    """--year outside 1900-2200 or not a whole number: exit 2 in words."""
    code, _, err, _ = run("eval", KONGSBERG, "--set", "population=5", "--set",
                          "joined=2019-01-01", "--year", year)
    assert code == 2
    assert "is not a year" in err


# ------------------------------------------------------------------ register size and shape


def test_cell_larger_than_the_csv_field_limit(tmp_path: Path) -> None:
    """A cell of 200 000 characters is an error at its row, not a crash."""
    reg = tmp_path / "r.csv"
    reg.write_text(REGISTER_HEAD + "1,A,KOMMUNE,5,true,2024-01-01\n"
                   f'2,"{"x" * 200_000}",KOMMUNE,5,true,2024-01-01\n', encoding="utf-8")
    code, _, err, _ = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1
    assert err.startswith(f"{reg}, row 3: error: this row cannot be read as CSV: field larger "
                          "than field limit")


def test_row_of_a_hundred_thousand_cells(tmp_path: Path) -> None:
    """A row with 100 000 cells is named by its row and its number of fields."""
    reg = tmp_path / "r.csv"
    reg.write_text(REGISTER_HEAD + "1,A,KOMMUNE,5,true,2024-01-01" + ",x" * 100_000 + "\n",
                   encoding="utf-8")
    code, _, err, seconds = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1 and seconds < FEW_SECONDS
    assert err.startswith(f"{reg}, row 2: error: this row has 100006 fields, but the header "
                          "has 6")


def test_large_register_is_read_and_refused_in_bounded_time(tmp_path: Path) -> None:
    """30 000 customers bill in seconds; 30 000 bad rows give 100 problems and a count."""
    reg = tmp_path / "r.csv"
    rows = "".join(f"{i},K{i},KOMMUNE,{i},true,2024-01-01\n" for i in range(30_000))
    reg.write_text(REGISTER_HEAD + rows, encoding="utf-8")
    code, out, err, seconds = run("eval", OS2, "--register", str(reg), "--year", "2024",
                                  "--format", "csv")
    assert (code, err) == (0, "")
    assert out.count("\n") == 30_001 and seconds < FEW_SECONDS
    reg.write_text(REGISTER_HEAD + rows.replace("true", "maybe"), encoding="utf-8")
    code, out, err, seconds = run("eval", OS2, "--register", str(reg), "--year", "2024")
    assert code == 1 and seconds < FEW_SECONDS
    assert err.count(": error: ") == 100 and "... and 29900 more problems" in err
