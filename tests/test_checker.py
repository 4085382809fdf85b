"""The checker: band analysis, exclusivity of exceptions, and the shape of check()'s answer."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from paths import RULES, STDLIB

from takst.dsl import ast
from takst.dsl.check import analyse_bands, check, errors_of
from takst.dsl.check.conditions import disjoint as exclusive
from takst.dsl.errors import Diagnostic
from takst.dsl.intervals import band_interval
from takst.dsl.loader import load_tariff
from takst.dsl.parser import parse
from takst.dsl.symbols import Symbols

HEADER = 'tariff t "T"\n  currency DKK\n  source "s"\n'


def bands(lines: str) -> ast.BandsDecl:
    """A ``bands size by population`` declaration with the given band lines."""
    text = (
        HEADER
        + "bands size by population\n"
        + "".join(f"  {line.strip()}\n" for line in lines.strip().splitlines())
    )
    return parse(text, "bands.tariff").bands[0]


def whole(lines: str) -> list[str]:
    """Band messages over whole numbers from 0 (inhabitants, counts)."""
    return [d.message for d in analyse_bands(bands(lines), whole=True, floor=Decimal(0))]


def decimal(lines: str) -> list[str]:
    """Band messages over decimal numbers from 0 up (money, plain numbers)."""
    return [d.message for d in analyse_bands(bands(lines), whole=False, floor=Decimal(0))]


def messages(body: str) -> list[str]:
    """Every message check() gives for a tariff with the standard header."""
    return [d.message for d in check(parse(HEADER + body, "check.tariff"))]


OS2_AS_PUBLISHED = """
small       below 25_000
medium      from 25_001 to 60_000
large       from 60_001 to 120_000
very_large  from 120_001
"""

OS2_AS_RESOLVED = """
small       up to 25_000
medium      from 25_001 to 60_000
large       from 60_001 to 120_000
very_large  from 120_001
"""

KONGSBERG_AS_PUBLISHED = """
under_5000  below 5_000
to_10000    from 5_000 to 10_000
to_25000    from 10_000 to 25_000
over_25000  above 25_000
"""

HALF_OPEN = """
small  below 25_000
big    from 25_000
"""


# ------------------------------------------------------------------ bands over whole numbers


def test_os2_as_published_misses_exactly_25000() -> None:
    """Over whole numbers, `below 25_000` then `from 25_001` leaves out 25 000 and nothing else."""
    assert whole(OS2_AS_PUBLISHED) == ["25 000 falls in no band of size"]


def test_os2_as_resolved_is_complete_over_whole_numbers() -> None:
    """`to 25_000` then `from 25_001` covers every whole number: the seed's reading is complete."""
    assert whole(OS2_AS_RESOLVED) == []


def test_kongsberg_as_published_overlaps_at_10000() -> None:
    """The Kongsberg bands as published put 10 000 in two bands, and 25 000 in one."""
    assert whole(KONGSBERG_AS_PUBLISHED) == [
        "10 000 is in two bands of size: to_10000 and to_25000"
    ]


def test_half_open_bands_are_complete_in_both_domains() -> None:
    """`below X` followed by `from X` leaves no gap and no overlap, whole or decimal."""
    assert whole(HALF_OPEN) == []
    assert decimal(HALF_OPEN) == []


def test_whole_gap_at_the_bottom() -> None:
    """Bands over inhabitants that start above 0 leave the smallest values out."""
    assert whole("a from 1_000 to 9_999\nb from 10_000") == ["0 to 999 fall in no band of size"]


def test_whole_gap_of_one_value_at_the_bottom() -> None:
    """A first band starting at 1 leaves out exactly 0, in the singular."""
    assert whole("a from 1 to 9\nb from 10") == ["0 falls in no band of size"]


def test_whole_gap_at_the_top() -> None:
    """Bands whose last band has an upper bound leave the largest values out."""
    assert whole("a to 9\nb from 10 to 99") == ["100 and above fall in no band of size"]


def test_whole_gap_in_the_middle() -> None:
    """A run of missing values between two bands is named from its first to its last value."""
    assert whole("a to 100\nb from 200") == ["101 to 199 fall in no band of size"]


def test_whole_bands_are_analysed_in_value_order() -> None:
    """Bands may be written in any order; coverage is judged by their values."""
    assert whole("big from 10_000\nsmall to 9_999") == []


def test_whole_empty_band() -> None:
    """`above 10 below 11` holds no whole number, so the band is unreachable."""
    assert whole("a to 10\nb above 10 below 11\nc from 11") == [
        "band b of size is unreachable: no whole number is inside its bounds"
    ]


def test_whole_band_inside_another() -> None:
    """A band whose every value is in an earlier band is unreachable."""
    assert whole("a to 1_000\nb from 10 to 20\nc from 1_001") == [
        "band b of size is unreachable: every value in it (10 to 20) is already in band a"
    ]


def test_whole_two_open_bands() -> None:
    """Only the last band may be open upwards; two open bands share their upper values."""
    assert whole("a from 0\nb from 100") == ["100 and above are in two bands of size: a and b"]


def test_whole_overlap_hint_names_both_fixes() -> None:
    """An overlap's hint offers ending the first band below, or starting the second above."""
    (diag,) = analyse_bands(bands(KONGSBERG_AS_PUBLISHED), whole=True, floor=Decimal(0))
    assert diag.hint == (
        "decide which band 10 000 belongs to: end to_10000 with `below 10_000`, "
        "or start to_25000 with `above 10_000`"
    )
    assert diag.related and diag.related[0][0] == "band to_10000 is here"


def test_whole_gap_hint_names_both_fixes() -> None:
    """A one-value gap's hint offers ending the first band at it, or starting the second at it."""
    (diag,) = analyse_bands(bands(OS2_AS_PUBLISHED), whole=True, floor=Decimal(0))
    assert diag.hint == (
        "decide which band 25 000 belongs to: end small with `to 25_000`, "
        "or start medium with `from 25_000`"
    )
    assert diag.span is not None and diag.span.line == 6  # the band after the gap


# ------------------------------------------------------------------ bands over decimals


def test_os2_as_published_over_decimals() -> None:
    """Over decimals, `below 25_000` then `from 25_001` misses everything between the two."""
    assert decimal(OS2_AS_PUBLISHED) == [
        "values between 25 000 and 25 001 (e.g. 25 000.5) fall in no band of size",
        "values between 60 000 and 60 001 (e.g. 60 000.5) fall in no band of size",
        "values between 120 000 and 120 001 (e.g. 120 000.5) fall in no band of size",
    ]


def test_os2_as_resolved_has_holes_over_decimals() -> None:
    """Bounds that are complete over whole numbers leave holes between them over decimals."""
    assert decimal(OS2_AS_RESOLVED)[0] == (
        "values between 25 000 and 25 001 (e.g. 25 000.5) fall in no band of size"
    )
    assert len(decimal(OS2_AS_RESOLVED)) == 3


def test_decimal_overlap_at_a_shared_bound() -> None:
    """`to 10` then `from 10` puts 10 in both bands."""
    assert decimal("a to 10\nb from 10") == ["10 is in two bands of size: a and b"]


def test_decimal_gap_at_a_shared_bound() -> None:
    """`below 10` then `above 10` leaves out exactly 10."""
    assert decimal("a below 10\nb above 10") == ["10 falls in no band of size"]


def test_decimal_band_empty_over_whole_numbers_is_reachable_over_decimals() -> None:
    """`above 10 below 11` holds 10.5, so over decimals it is a proper band."""
    assert decimal("a to 10\nb above 10 below 11\nc from 11") == []


def test_decimal_unreachable_band() -> None:
    """A band whose lower bound passes its upper bound holds no value."""
    assert decimal("a below 10\nb from 20 to 10\nc from 10") == [
        "band b of size is unreachable: no value is inside its bounds"
    ]


def test_decimal_band_after_an_open_band() -> None:
    """A band after one with no upper bound is unreachable over decimals too."""
    assert decimal("a below 10\nb from 10\nc from 20") == [
        "band c of size is unreachable: every value in it is already in band b"
    ]


def test_decimal_partial_overlap() -> None:
    """Two bands sharing a range are reported with that range."""
    assert decimal("a from 0 to 100\nb from 50") == [
        "values from 50 to 100 are in two bands of size: a and b"
    ]


def test_decimal_gap_at_the_top_with_inclusive_end() -> None:
    """A last band ending `to 100` leaves out the values above 100."""
    assert decimal("a from 0 to 100") == ["values above 100 fall in no band of size"]


def test_decimal_without_a_floor_reports_the_values_below() -> None:
    """Without a floor, the values below the first band's lower bound are a gap too."""
    diags = analyse_bands(bands("a from 1_000 to 9_999.99\nb from 10_000"), whole=False,
                          floor=None)
    assert [d.message for d in diags] == [
        "values below 1 000 fall in no band of size",
        "values between 9 999.99 and 10 000 (e.g. 9 999.995) fall in no band of size",
    ]


def test_decimal_gap_at_the_bottom_with_a_floor() -> None:
    """With a floor, values from the floor up to the first band are a gap."""
    diags = analyse_bands(bands("a from 10\n"), whole=False, floor=Decimal(0))
    assert [d.message for d in diags] == ["values from 0 up to 10 fall in no band of size"]


def test_decimal_gap_at_the_top_with_exclusive_end() -> None:
    """A last band ending `below 100` is reported so that following the hint closes the gap."""
    (diag,) = analyse_bands(bands("a from 0 below 100"), whole=False, floor=Decimal(0))
    assert diag.hint is not None
    (bound,) = re.findall(r"`([^`]*)`", diag.hint)
    assert decimal(f"a from 0 below 100\nb {bound}") == []


def test_decimal_band_inside_another() -> None:
    """A band inside another is reported with its own range, like over whole numbers."""
    messages_ = decimal("a from 0 to 100\nb from 10 to 20\nc above 100")
    assert len(messages_) == 1
    assert "10 to 20" in messages_[0]
    assert "100" not in messages_[0]


def test_decimal_two_bands_without_lower_bound() -> None:
    """Two `below` bands over decimals overlap below the first one's end, without a huge number."""
    messages_ = decimal("a below 10\nb below 20\nc from 20")
    assert messages_ and "000 000 000" not in messages_[0]
    assert "two bands of size: a and b" in messages_[0]


def test_band_interval_uses_the_floor_for_a_missing_lower_bound() -> None:
    """A band with only an upper bound starts at the domain's floor, inclusive."""
    band = bands("a below 10\nb from 10").bands[0]
    iv = band_interval(band, Decimal(0))
    assert (iv.lo, iv.lo_incl, iv.hi, iv.hi_incl) == (Decimal(0), True, Decimal(10), False)
    open_iv = band_interval(bands("a below 10\nb from 10").bands[1], None)
    assert (open_iv.lo, open_iv.lo_incl, open_iv.hi) == (Decimal(10), True, None)


def test_checker_uses_whole_numbers_for_inhabitants_and_decimals_for_money() -> None:
    """check() judges bands by inhabitants as whole numbers and bands by money as decimals."""
    table = "charge c every year\n  table by b\n    small 1\n    big 2\n"
    by_inhabitants = messages(
        "input p: inhabitants\nbands b by p\n  small to 10\n  big from 11\n" + table
    )
    by_money = messages("input p: money\nbands b by p\n  small to 10\n  big from 11\n" + table)
    assert by_inhabitants == []
    assert by_money == ["values between 10 and 11 (e.g. 10.5) fall in no band of b"]


def test_whole_number_input_refuses_decimal_bounds() -> None:
    """Bands by inhabitants cannot have a decimal bound."""
    assert messages(
        "input p: inhabitants\nbands b by p\n  small to 10.5\n  big above 10.5\n"
        "charge c every year\n  table by b\n    small 1\n    big 2\n"
    ) == ["p is a whole number of inhabitants; 10.5 cannot be a bound"]


def test_bands_must_go_by_a_number() -> None:
    """Bands by a date input are refused."""
    assert messages(
        "input j: date\nbands b by j\n  small to 10\n  big from 11\n"
        "charge c every year\n  table by b\n    small 1\n    big 2\n"
    ) == ["bands b are by j, which is not a number"]


# ------------------------------------------------------------------ exclusive conditions


DISJOINT_TARIFF = (
    HEADER
    + "input member: yes/no\n"
    + "input other: yes/no\n"
    + "input joined: date\n"
    + 'list north = "Aalborg", "Hjørring"\n'
    + 'list south = "Odense", "Svendborg"\n'
    + 'list mixed = "Aalborg", "Odense"\n'
)


def disjoint(a: str, b: str) -> bool:
    """Whether the checker finds conditions ``a`` and ``b`` exclusive."""
    t = parse(
        DISJOINT_TARIFF
        + f"charge c every year\n  amount 1 DKK\n  except {a} -> 0 DKK\n  except {b} -> 1 DKK\n"
    )
    first, second = t.charges[0].exceptions
    return exclusive(first.condition, second.condition, Symbols(t))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("member", "not member"),
        ("not not member", "not member"),
        ("name in north", "name not in north"),
        ("name in north", "name in south"),
        ("joined in 2023", "joined in 2024"),
        ("joined in 2023", "joined not in 2023"),
        ('customer_type = "a"', 'customer_type = "b"'),
        ('customer_type = "a"', 'customer_type != "a"'),
        ("member = yes", "member = no"),
        ("member and name in north", "name in south"),
        ("other", "member and not other"),
    ],
)
def test_exclusive_conditions(a: str, b: str) -> None:
    """Conditions that no customer can meet together are recognised as exclusive."""
    assert disjoint(a, b)
    assert disjoint(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("member", "member"),
        ("member", "other"),
        ("member", "not other"),
        ("name in north", "name in mixed"),
        ("joined in 2023", "joined in 2023"),
        ('customer_type = "a"', 'customer_type != "b"'),
        ("member or other", "not member"),
        ("joined < 2023-01-01", "joined >= 2023-01-01"),
        ("name in nowhere", "name in north"),
    ],
)
def test_conditions_that_may_overlap(a: str, b: str) -> None:
    """Conditions some customer may meet together (or the checker cannot tell apart) overlap."""
    assert not disjoint(a, b)


def test_truthy_and_equals_no_are_exclusive() -> None:
    """A yes/no input tested bare and tested `= no` cannot both hold."""
    assert disjoint("member", "member = no")


def test_priorities_settle_a_conflict() -> None:
    """Overlapping exceptions with different priorities are not reported; equal ones are."""
    body = DISJOINT_TARIFF.removeprefix(HEADER) + (
        "charge c every year\n  amount 1 DKK\n"
        "  except member -> 0 DKK priority {p}\n  except other -> 1 DKK priority 1\n"
    )
    conflict = "these two exceptions to c can apply to the same customer with different results"
    assert conflict not in messages(body.format(p=2))
    assert conflict in messages(body.format(p=1))


def test_same_result_is_no_conflict() -> None:
    """Overlapping exceptions with the same result (0 and 0 DKK count as the same) are fine."""
    body = DISJOINT_TARIFF.removeprefix(HEADER) + (
        "charge c every year\n  amount 1 DKK\n  except member -> 0 DKK\n  except other -> 0\n"
    )
    assert not any("exceptions" in m for m in messages(body))


# ------------------------------------------------------------------ seed tariffs


@pytest.mark.parametrize(
    "path", sorted([*RULES.glob("*.tariff"), *STDLIB.glob("*.tariff")]), ids=lambda p: p.stem
)
def test_seed_tariffs_check_clean(path: Path) -> None:
    """Every tariff in rules/ and module in stdlib/ (with its imports) checks with no
    error and no warning."""
    assert check(load_tariff(path)) == []


def test_there_are_seed_tariffs() -> None:
    """rules/ holds the seed tariffs the other tests rely on."""
    assert {p.name for p in RULES.glob("*.tariff")} >= {
        "os2valghalla.tariff",
        "kongsbergregionen.tariff",
        "ks_dif_2025.tariff",
        "serviceplatformen.tariff",
        "serviceplatformen_pool.tariff",
    }


# ------------------------------------------------------------------ the shape of check()


UNORDERED = (
    "tariff t\n"  # 1: no source -> a warning, emitted first
    "  currency DKK\n"
    "input population: inhabitants\n"  # 3: unused -> a warning, emitted last
    "input joined: date\n"
    "charge fee once when joined\n"
    "  amount 6_000\n"  # 6: no currency
    'example "e"\n'  # 7: does not give population
    "  given joined 2024-01-01, other 1\n"  # 8: unknown input
    "  billing year 2024\n"
    "  expect fees 1\n"  # 10: unknown charge
)


def test_check_returns_every_diagnostic_sorted_by_position() -> None:
    """check() reports every problem of the file, ordered by line and column, not by check."""
    diags = check(parse(UNORDERED, "u.tariff"))
    assert [(d.severity, d.span.line if d.span else 0, d.message) for d in diags] == [
        ("warning", 1, "tariff t cites no source"),
        ("warning", 3, "input population is declared but never used"),
        ("error", 6, "6_000 has no currency; the amount of fee must be an amount in DKK"),
        ("error", 7, 'example "e" does not give population'),
        ("error", 8, "other is not an input of this tariff"),
        ("error", 10, "fees is not a charge of this tariff"),
    ]
    positions = [(d.span.line, d.span.column) for d in diags if d.span]
    assert positions == sorted(positions)


def test_errors_of_keeps_only_errors() -> None:
    """errors_of() drops the warnings and keeps the errors in order."""
    diags = check(parse(UNORDERED, "u.tariff"))
    assert [d.span.line for d in errors_of(diags) if d.span] == [6, 7, 8, 10]
    assert all(isinstance(d, Diagnostic) and d.is_error for d in errors_of(diags))


def test_check_does_not_stop_inside_a_table() -> None:
    """A table with an unknown row and a missing row reports both."""
    assert messages(
        "input p: inhabitants\nbands b by p\n  small to 10\n  big from 11\n"
        "charge c every year\n  table by b\n    small 1\n    huge 2\n"
    ) == ["this table has no row for b = big", "huge is not a value of b"]


def test_header_problems() -> None:
    """A header without currency is an error; a header with a lowercase currency too."""
    assert check(parse('tariff t\n  source "s"\n'))[0].message == "tariff t has no currency"
    assert check(parse('tariff t\n  currency dkk\n  source "s"\n'))[0].message == (
        "dkk is not a currency code"
    )


def test_second_header() -> None:
    """A second tariff header in one file is an error pointing at the first."""
    diags = check(parse(HEADER + 'tariff u\n  currency DKK\n  source "s"\n', "two.tariff"))
    assert [d.message for d in diags] == ["a file holds one tariff; this is a second tariff header"]
    assert diags[0].related[0][0] == "the first header is here"


def test_units_that_make_money() -> None:
    """A rate times its count, a percent of money and a sum of amounts are all money."""
    assert (
        messages(
            "input p: inhabitants\ninput n: count of transactions\n"
            "param base = 6_000 DKK\n"
            "charge a every year\n  amount 1.50 DKK per inhabitant * p\n"
            "charge b every year\n  amount 0.25 DKK per transaction * n + base\n"
            "charge c every year\n  amount 10 % * base - 100 DKK\n"
        )
        == []
    )


def test_rate_for_the_wrong_thing() -> None:
    """A price per inhabitant times a count of transactions is not money."""
    assert messages(
        "input n: count of transactions\ncharge c every year\n  amount 2 DKK per inhabitant * n\n"
    ) == ["the amount of c is DKK × transaction per inhabitant, not an amount in DKK"]


def test_param_cycle() -> None:
    """A param defined through itself is reported once, with the cycle."""
    assert messages("param a = b\nparam b = a\ncharge c every year\n  amount a\n") == [
        "param a is defined in terms of itself (a -> b -> a)"
    ]


def test_example_values_are_checked_against_input_types() -> None:
    """An example must give whole inhabitants and values of the input's kind."""
    assert messages(
        "input p: inhabitants\ninput m: yes/no\ncharge c every year\n"
        "  amount 1 DKK per inhabitant * p\n  except m -> 0 DKK\n"
        'example "e"\n  given p 1.5, m 3\n  billing year 2024\n  expect c 1.5\n'
    ) == [
        "p is a whole number of inhabitants, not 1.5",
        "m is yes/no, but the example gives a number",
    ]


def test_param_named_like_an_input_is_a_duplicate() -> None:
    """A param with an input's name is reported as a duplicate, not a crash."""
    assert messages(
        "input p: inhabitants\nparam p = 1 DKK\n"
        "charge c every year\n  amount 1 DKK per inhabitant * p\n"
    ) == ["p is already declared (as an input)"]


def test_param_named_like_a_customer_field_is_refused() -> None:
    """A param named `name` is refused as a customer field, not a crash."""
    assert messages("param name = 1 DKK\ncharge c every year\n  amount 1 DKK\n") == [
        "name is a customer field every register has; it cannot be declared"
    ]


def test_customer_field_cannot_be_declared() -> None:
    """An input named like a customer field is refused."""
    assert messages("input name: text\ncharge c every year\n  amount 1 DKK\n") == [
        "name is a customer field every register has; it cannot be declared"
    ]


def test_undefined_anchor_hint_suggests_a_date() -> None:
    """An undefined `once when joined` suggests declaring joined as a date."""
    (diag,) = check(parse(HEADER + "charge c once when joined\n  amount 1 DKK\n"))
    assert diag.hint == "declare it, e.g.  input joined: date"


def test_unknown_band_in_a_comparison_lists_the_bands() -> None:
    """`size = huge`, where huge is no band of size, names the bands of size."""
    diags = check(
        parse(
            HEADER + "input p: inhabitants\nbands size by p\n  small to 10\n  big from 11\n"
            "charge c every year\n  amount 1 DKK\n  except size = huge -> 0 DKK\n"
        )
    )
    assert [d.message for d in diags] == ["huge is not a band of size"]
    assert diags[0].hint == "the bands of size are: small, big"


@pytest.mark.parametrize(("decl", "other", "ok"), [
    ("aggregate largest \"L\" = max of population", "population", True),
    ("aggregate largest \"L\" = max of population", "paid", False),
    ("setting largest \"L\": inhabitants", "population", True),
    ("setting largest \"L\": money", "paid", True),
    ("setting largest \"L\": money", "population", False),
])
def test_an_aggregate_or_setting_in_a_condition_has_its_unit(decl: str, other: str,
                                                             ok: bool) -> None:
    """`population < largest` compares inhabitants with inhabitants (an aggregate of
    population, a setting of inhabitants); against money it is refused."""
    text = (f'tariff t "T"\n  currency NOK\n  source "s"\ninput population "P": inhabitants\n'
            f'input paid "A": money\n{decl}\ncharge c "C" every year\n  amount 5 NOK\n'
            f"  except {other} < largest -> 0 NOK\n")
    messages = [d.message for d in errors_of(check(parse(text, "t.tariff")))]
    assert messages == ([] if ok else [messages[0]])
    if not ok:
        assert messages[0].startswith("cannot compare")
