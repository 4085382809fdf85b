"""The parser: the AST each construct produces, spans, and syntax errors in plain words."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, Span, TariffError, TariffSyntaxError
from takst.dsl.parser import parse, parse_file

HEADER = 'tariff t "T"\n  currency DKK\n  source "s"\n'


def parse_body(body: str, file: str = "test.tariff") -> ast.Tariff:
    """Parse ``body`` under a minimal header (three lines, so the body starts on line 4)."""
    return parse(HEADER + body, file)


def syntax_errors(text: str, file: str = "bad.tariff") -> tuple[Diagnostic, ...]:
    """The diagnostics of a text that must not parse."""
    with pytest.raises(TariffSyntaxError) as info:
        parse(text, file)
    return info.value.diagnostics


def charge(body: str) -> ast.ChargeDecl:
    """The only charge of ``body``."""
    (decl,) = parse_body(body).charges
    return decl


def condition(cond: str) -> ast.Cond:
    """The condition of one exception ``except COND -> 0 DKK``."""
    decl = charge(f"charge c every year\n  amount 1 DKK\n  except {cond} -> 0 DKK\n")
    return decl.exceptions[0].condition


def expr(text: str) -> ast.Expr:
    """The value of ``param p = TEXT``."""
    return parse_body(f"param p = {text}\n").params[0].value


def name_op(name: str) -> ast.Operand:
    return ast.Operand("name", name, span=SPAN)


def truthy(name: str) -> ast.Truthy:
    return ast.Truthy(name_op(name), span=SPAN)


#: Any span: spans are not part of node equality.
SPAN = Span("elsewhere", 99, 99, 99, 99)


# ------------------------------------------------------------------ header


def test_header_name_title_currency_and_sources() -> None:
    """The header gives the tariff's name, title, currency and every source in order."""
    t = parse('tariff os2 "OS2valghalla"\n  currency DKK\n  source "a"\n  source "b"\n')
    assert t.header is not None
    assert t.header.name == "os2"
    assert t.header.title == "OS2valghalla"
    assert t.header.currency == ast.Name("DKK", span=SPAN)
    assert [s.text for s in t.header.sources] == ["a", "b"]
    assert (t.name, t.title, t.currency) == ("os2", "OS2valghalla", "DKK")


def test_header_without_title_or_currency() -> None:
    """A bare header has no title and no currency; the tariff's title falls back to its name."""
    t = parse("tariff bare\n")
    assert t.header == ast.Header("bare", None, None, (), span=SPAN)
    assert t.title == "bare"


def test_a_second_header_is_kept_for_the_checker() -> None:
    """A second tariff header parses and is kept in extra_headers."""
    t = parse("tariff a\n  currency DKK\ntariff b\n  currency DKK\n")
    assert t.header is not None and t.header.name == "a"
    assert [h.name for h in t.extra_headers] == ["b"]


def test_two_currencies_are_a_syntax_error() -> None:
    """A header with two currency lines is refused at the second one."""
    (diag,) = syntax_errors("tariff a\n  currency DKK\n  currency NOK\n")
    assert diag.message == "a tariff has one currency"
    assert diag.span is not None and (diag.span.line, diag.span.column) == (3, 12)


def test_empty_file_parses_to_an_empty_tariff() -> None:
    """An empty file (or one with only comments) parses to a tariff without declarations."""
    for text in ("", "\n\n", "# only a comment\n", "# no final newline"):
        t = parse(text)
        assert t.header is None
        assert (t.inputs, t.lists, t.bands, t.params, t.charges, t.examples) == ((),) * 6


# ------------------------------------------------------------------ inputs


@pytest.mark.parametrize(
    ("written", "kind", "counted"),
    [
        ("inhabitants", "inhabitants", None),
        ("yes/no", "yes/no", None),
        ("yes / no", "yes/no", None),
        ("date", "date", None),
        ("text", "text", None),
        ("number", "number", None),
        ("money", "money", None),
        ("count of transactions", "count", "transactions"),
    ],
)
def test_input_types(written: str, kind: str, counted: str | None) -> None:
    """Each input type parses to its kind, and `count of X` keeps the counted thing as written."""
    (decl,) = parse_body(f"input x: {written}\n").inputs
    typ = ast.InputType(kind, counted, span=SPAN)  # type: ignore[arg-type]
    assert decl == ast.InputDecl("x", None, typ, span=SPAN)


def test_input_label() -> None:
    """An input's label is its text without the quotes."""
    (decl,) = parse_body('input population "Indbyggere": inhabitants\n').inputs
    assert (decl.name, decl.label) == ("population", "Indbyggere")


def test_names_may_use_danish_letters() -> None:
    """Names may contain letters such as æ, ø and å."""
    (decl,) = parse_body("input størrelse_på_kommune: number\n").inputs
    assert decl.name == "størrelse_på_kommune"


# ------------------------------------------------------------------ lists


def test_list_on_several_lines() -> None:
    """A list may continue on the next lines after a comma, and keeps its items in order."""
    (lst,) = parse_body('list l "Label" =\n  "Ballerup", "Brøndby",\n  "Aarhus"\n').lists
    assert lst.name == "l" and lst.label == "Label"
    assert [i.value for i in lst.items] == ["Ballerup", "Brøndby", "Aarhus"]


def test_list_item_spans() -> None:
    """Each list item has the span of its text, quotes included."""
    (lst,) = parse_body('list l = "a", "bc"\n').lists
    assert [(i.span.line, i.span.column, i.span.end_column) for i in lst.items] == [
        (4, 10, 13),
        (4, 15, 19),
    ]


# ------------------------------------------------------------------ bands


@pytest.mark.parametrize(
    ("written", "lower", "upper"),
    [
        ("from 10", (Decimal(10), True), None),
        ("above 10", (Decimal(10), False), None),
        ("to 10", None, (Decimal(10), True)),
        ("up to 10", None, (Decimal(10), True)),
        ("below 10", None, (Decimal(10), False)),
        ("from 10 to 20", (Decimal(10), True), (Decimal(20), True)),
        ("from 10 up to 20", (Decimal(10), True), (Decimal(20), True)),
        ("from 10 below 20", (Decimal(10), True), (Decimal(20), False)),
        ("above 10 to 20", (Decimal(10), False), (Decimal(20), True)),
        ("above 10 below 20", (Decimal(10), False), (Decimal(20), False)),
    ],
)
def test_band_bounds(
    written: str,
    lower: tuple[Decimal, bool] | None,
    upper: tuple[Decimal, bool] | None,
) -> None:
    """`from`/`to`/`up to` are inclusive bounds, `above`/`below` exclusive ones."""
    (decl,) = parse_body(f"bands b by x\n  band {written}\n").bands
    (band,) = decl.bands
    got_lower = (band.lower.value, band.lower.inclusive) if band.lower else None
    got_upper = (band.upper.value, band.upper.inclusive) if band.upper else None
    assert (got_lower, got_upper) == (lower, upper)


def test_bands_declaration() -> None:
    """A bands declaration has a name, a label, a subject and its bands in order, with labels."""
    text = 'bands size "Størrelse" by population\n  small "Lille" up to 25_000\n  big from 25_001\n'
    (decl,) = parse_body(text).bands
    assert decl == ast.BandsDecl(
        "size",
        "Størrelse",
        ast.Name("population", span=SPAN),
        (
            ast.Band(
                "small", "Lille", None, ast.Bound(Decimal(25_000), True, span=SPAN), span=SPAN
            ),
            ast.Band("big", None, ast.Bound(Decimal(25_001), True, span=SPAN), None, span=SPAN),
        ),
        span=SPAN,
    )


# ------------------------------------------------------------------ params and literals


def test_money_literal() -> None:
    """`6_000 NOK` is an amount of 6000 in NOK."""
    assert expr("6_000 NOK") == ast.Number(Decimal(6000), currency="NOK", span=SPAN)


def test_rate_literal() -> None:
    """`1.50 NOK per inhabitant` is a rate, with the decimal kept exactly as written."""
    number = expr("1.50 NOK per inhabitant")
    assert number == ast.Number(Decimal("1.50"), currency="NOK", per="inhabitant", span=SPAN)
    assert isinstance(number, ast.Number)
    assert str(number.value) == "1.50"


def test_percent_literal() -> None:
    """`30 %` is stored as written (30) with the percent flag."""
    assert expr("30 %") == ast.Number(Decimal(30), percent=True, span=SPAN)
    assert expr("2.5%") == ast.Number(Decimal("2.5"), percent=True, span=SPAN)


def test_plain_number_literal() -> None:
    """A number without a unit is a plain number; underscores only group digits."""
    assert expr("1_234_567.891") == ast.Number(Decimal("1234567.891"), span=SPAN)


def test_param_label_and_reference() -> None:
    """A param has a name, a label and an expression that may name other things."""
    (param,) = parse_body('param fixed "Fast" = base\n').params
    assert param == ast.ParamDecl("fixed", "Fast", ast.Ref("base", span=SPAN), span=SPAN)


def test_multiplication_binds_tighter_than_addition() -> None:
    """`a + b * c` is a + (b * c)."""
    a, b, c = (ast.Ref(n, span=SPAN) for n in "abc")
    assert expr("a + b * c") == ast.BinOp("+", a, ast.BinOp("*", b, c, span=SPAN), span=SPAN)


def test_subtraction_is_left_associative() -> None:
    """`a - b - c` is (a - b) - c."""
    a, b, c = (ast.Ref(n, span=SPAN) for n in "abc")
    assert expr("a - b - c") == ast.BinOp("-", ast.BinOp("-", a, b, span=SPAN), c, span=SPAN)


def test_parentheses_group() -> None:
    """`(a + b) * c` multiplies the sum."""
    a, b, c = (ast.Ref(n, span=SPAN) for n in "abc")
    assert expr("(a + b) * c") == ast.BinOp("*", ast.BinOp("+", a, b, span=SPAN), c, span=SPAN)


# ------------------------------------------------------------------ charges


def test_frequencies() -> None:
    """`every year`, `every year from X` and `once when X` parse to their kind and anchor."""
    t = parse_body(
        "charge a every year\n  amount 1 DKK\n"
        "charge b every year from joined\n  amount 1 DKK\n"
        "charge c once when joined\n  amount 1 DKK\n"
    )
    joined = ast.Name("joined", span=SPAN)
    assert [c.frequency for c in t.charges] == [
        ast.Frequency("every_year", None, span=SPAN),
        ast.Frequency("every_year", joined, span=SPAN),
        ast.Frequency("once", joined, span=SPAN),
    ]


def test_charge_with_amount() -> None:
    """A charge's `amount` line is its body; a charge is not pending."""
    decl = charge('charge fee "Gebyr" every year\n  amount 2 DKK\n')
    assert (decl.name, decl.label, decl.pending) == ("fee", "Gebyr", False)
    assert decl.body == ast.Number(Decimal(2), currency="DKK", span=SPAN)
    assert decl.bodies == (decl.body,)


def test_table_by_one_dimension() -> None:
    """A 1-D table has one dimension, no columns, and one cell per row."""
    decl = charge('charge c every year\n  table by size\n    small 100\n    "Stor" 2_000.50\n')
    assert decl.body == ast.Table(
        dims=(ast.Name("size", span=SPAN),),
        columns=(),
        rows=(
            ast.TableRow(
                ast.Name("small", span=SPAN), (ast.Cell(Decimal(100), span=SPAN),), span=SPAN
            ),
            ast.TableRow(
                ast.Name("Stor", span=SPAN), (ast.Cell(Decimal("2000.50"), span=SPAN),), span=SPAN
            ),
        ),
        span=SPAN,
    )


def test_table_by_two_dimensions() -> None:
    """A 2-D table's first line names its columns; each row has one cell per column."""
    decl = charge(
        "charge c every year\n  table by size, member\n"
        "          yes     no\n    small 23_980  29_700\n    big   34_880  43_200\n"
    )
    table = decl.body
    assert isinstance(table, ast.Table)
    assert [d.name for d in table.dims] == ["size", "member"]
    assert [c.name for c in table.columns] == ["yes", "no"]
    assert [(r.key.name, [c.value for c in r.cells]) for r in table.rows] == [
        ("small", [Decimal(23_980), Decimal(29_700)]),
        ("big", [Decimal(34_880), Decimal(43_200)]),
    ]


def test_table_row_keeps_every_cell_for_the_checker() -> None:
    """A row with too few or too many cells still parses; the checker counts them."""
    decl = charge("charge c every year\n  table by s, m\n  yes no\n    a 1\n    b 1 2 3\n")
    assert isinstance(decl.body, ast.Table)
    assert [len(r.cells) for r in decl.body.rows] == [1, 3]


def test_table_cell_must_be_a_number() -> None:
    """A table cell that is not a number is a syntax error at that cell."""
    (diag,) = syntax_errors(HEADER + "charge c every year\n  table by s\n    a 1 DKK\n")
    assert diag.message == "a table cell must be a number, not DKK"
    assert diag.hint == "each row is its key followed by one number per column"
    assert diag.span is not None and (diag.span.line, diag.span.column) == (6, 9)


def test_table_row_must_start_with_its_key() -> None:
    """A table row that starts with a number is refused: the key comes first."""
    (diag,) = syntax_errors(HEADER + "charge c every year\n  table by s\n    100 small\n")
    assert diag.message == "a table row starts with the value of s it is for, not 100"


def test_two_dimensional_table_header_must_name_columns() -> None:
    """The column line of a 2-D table holds names, not numbers; each number is reported."""
    diags = syntax_errors(HEADER + "charge c every year\n  table by s, m\n    a 1 2\n")
    assert [d.message for d in diags] == [
        "the first line of a table by s, m names its columns, but 1 is a number",
        "the first line of a table by s, m names its columns, but 2 is a number",
    ]


def test_exceptions_with_reason_and_priority() -> None:
    """An exception has a condition, a result, an optional reason and an optional priority."""
    decl = charge(
        "charge c every year\n  amount 1 DKK\n"
        '  except member -> 0 DKK "members" priority 2\n'
        "  except other -> 5 DKK\n"
    )
    assert decl.exceptions == (
        ast.ExceptionRule(
            truthy("member"),
            ast.Number(Decimal(0), currency="DKK", span=SPAN),
            "members",
            2,
            span=SPAN,
        ),
        ast.ExceptionRule(
            truthy("other"),
            ast.Number(Decimal(5), currency="DKK", span=SPAN),
            None,
            None,
            span=SPAN,
        ),
    )


def test_priority_must_be_whole() -> None:
    """A priority with decimals is refused."""
    (diag,) = syntax_errors(
        HEADER + "charge c every year\n  amount 1 DKK\n  except m -> 0 DKK priority 1.5\n"
    )
    assert diag.message == "a priority is a whole number"


def test_prorate_ratio_and_percent() -> None:
    """`prorate 1/4` keeps numerator and denominator; `prorate 25 %` is 25/100."""
    decl = charge(
        "charge c every year\n  amount 1 DKK\n"
        '  prorate 1/4 when joined in 2023 "first year"\n'
        "  prorate 25 % when late\n"
    )
    first, second = decl.prorations
    assert (first.numerator, first.denominator, first.reason) == (1, 4, "first year")
    assert first.condition == ast.In(
        name_op("joined"), ast.Operand("number", Decimal(2023), span=SPAN), span=SPAN
    )
    assert (second.numerator, second.denominator, second.reason) == (25, 100, None)
    assert second.condition == truthy("late")


@pytest.mark.parametrize(
    ("step", "value"),
    [
        ("øre", Decimal("0.01")),
        ("ore", Decimal("0.01")),
        ("krone", Decimal(1)),
        ("kroner", Decimal(1)),
        ("whole", Decimal(1)),
        ("0.01", Decimal("0.01")),
        ("100", Decimal(100)),
    ],
)
def test_rounding_steps(step: str, value: Decimal) -> None:
    """A rounding step is a word for a unit of currency or a number, kept as written too."""
    decl = charge(f"charge c every year\n  amount 1 DKK\n  round to {step} half up\n")
    assert decl.rounding == ast.Rounding(value, step, "half up", span=SPAN)


@pytest.mark.parametrize(
    ("written", "mode"),
    [("half up", "half up"), ("half even", "half even"), ("up", "up"), ("down", "down")],
)
def test_rounding_modes(written: str, mode: str) -> None:
    """Each rounding mode parses to its name."""
    decl = charge(f"charge c every year\n  amount 1 DKK\n  round to 0.01 {written}\n")
    assert decl.rounding is not None and decl.rounding.mode == mode


def test_rounding_to_an_unknown_word() -> None:
    """Rounding to a word that is not a unit of currency is refused with the known words."""
    (diag,) = syntax_errors(HEADER + "charge c every year\n  amount 1 DKK\n  round to cents up\n")
    assert diag.message == "cannot round to 'cents'"
    assert diag.hint == "round to øre, to kroner, or to a step such as 0.01 or 100"


def test_rounding_step_zero() -> None:
    """A rounding step of zero is refused."""
    (diag,) = syntax_errors(HEADER + "charge c every year\n  amount 1 DKK\n  round to 0 up\n")
    assert diag.message == "a rounding step must be above zero"


def test_two_roundings_and_two_amounts_are_kept_for_the_checker() -> None:
    """A charge with two amounts or two roundings parses; the first is used, all are kept."""
    decl = charge(
        "charge c every year\n  amount 1 DKK\n  amount 2 DKK\n"
        "  round to øre up\n  round to kroner down\n"
    )
    assert decl.body == ast.Number(Decimal(1), currency="DKK", span=SPAN)
    assert len(decl.bodies) == 2
    assert decl.rounding is not None and decl.rounding.step_text == "øre"
    assert len(decl.roundings) == 2


def test_notes() -> None:
    """Notes keep their text in order."""
    decl = charge('charge c every year\n  note "first"\n  amount 1 DKK\n  note "second"\n')
    assert [n.text for n in decl.notes] == ["first", "second"]


def test_pending_charge() -> None:
    """A pending charge has no body, is marked pending and may have notes."""
    (decl,) = parse_body('pending ops "Drift" once when joined\n  note "not known yet"\n').charges
    assert decl == ast.ChargeDecl(
        "ops",
        "Drift",
        ast.Frequency("once", ast.Name("joined", span=SPAN), span=SPAN),
        None,
        notes=(ast.Note("not known yet", span=SPAN),),
        pending=True,
        span=SPAN,
    )


def test_declarations_are_grouped_by_kind_in_file_order() -> None:
    """Charges and pending charges share one tuple, in the order written."""
    t = parse_body(
        "charge a every year\n  amount 1 DKK\npending b every year\ncharge c every year\n"
        "  amount 1 DKK\n"
    )
    assert [(c.name, c.pending) for c in t.charges] == [("a", False), ("b", True), ("c", False)]


# ------------------------------------------------------------------ conditions


def test_or_binds_looser_than_and() -> None:
    """`a or b and c` is a or (b and c)."""
    assert condition("a or b and c") == ast.BoolOp(
        "or", truthy("a"), ast.BoolOp("and", truthy("b"), truthy("c"), span=SPAN), span=SPAN
    )


def test_and_is_left_associative() -> None:
    """`a and b and c` is (a and b) and c."""
    assert condition("a and b and c") == ast.BoolOp(
        "and", ast.BoolOp("and", truthy("a"), truthy("b"), span=SPAN), truthy("c"), span=SPAN
    )


def test_not_binds_tighter_than_and() -> None:
    """`not a and b` is (not a) and b."""
    assert condition("not a and b") == ast.BoolOp(
        "and", ast.Not(truthy("a"), span=SPAN), truthy("b"), span=SPAN
    )


def test_parentheses_in_conditions() -> None:
    """`(a or b) and c` tests the disjunction first."""
    assert condition("(a or b) and c") == ast.BoolOp(
        "and", ast.BoolOp("or", truthy("a"), truthy("b"), span=SPAN), truthy("c"), span=SPAN
    )


def test_in_and_not_in() -> None:
    """`x in l` is a membership test; `x not in l` the same test, negated."""
    x, lst = name_op("x"), name_op("l")
    assert condition("x in l") == ast.In(x, lst, span=SPAN)
    assert condition("x not in l") == ast.In(x, lst, negated=True, span=SPAN)


def test_not_before_in_negates_the_test() -> None:
    """`not x in l` is not (x in l)."""
    assert condition("not x in l") == ast.Not(
        ast.In(name_op("x"), name_op("l"), span=SPAN), span=SPAN
    )


def test_comparison_binds_tighter_than_and() -> None:
    """`a >= 10 and b` compares first, then combines."""
    ten = ast.Operand("number", Decimal(10), span=SPAN)
    assert condition("a >= 10 and b") == ast.BoolOp(
        "and", ast.Compare(">=", name_op("a"), ten, span=SPAN), truthy("b"), span=SPAN
    )


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "=", "!="])
def test_comparison_operators(op: str) -> None:
    """Each comparison operator is kept as written."""
    cond = condition(f"a {op} b")
    assert cond == ast.Compare(op, name_op("a"), name_op("b"), span=SPAN)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "kind", "value"),
    [
        ("population", "name", "population"),
        ("10_000", "number", Decimal(10_000)),
        ("2023-11-01", "date", dt.date(2023, 11, 1)),
        ('"Kolding"', "text", "Kolding"),
        ("yes", "yes/no", True),
        ("no", "yes/no", False),
    ],
)
def test_condition_operands(written: str, kind: str, value: object) -> None:
    """Each kind of operand parses to its kind and exact value."""
    cond = condition(f"x = {written}")
    assert isinstance(cond, ast.Compare)
    assert (cond.right.kind, cond.right.value) == (kind, value)


def test_an_invalid_date_is_refused() -> None:
    """A date that is not in the calendar is a syntax error with an example."""
    (diag,) = syntax_errors(
        HEADER + "charge c every year\n  amount 1 DKK\n  except j < 2023-02-30 -> 0 DKK\n"
    )
    assert diag.message == "2023-02-30 is not a date in the calendar"
    assert diag.hint == "write a real date as YYYY-MM-DD, e.g. 2023-11-01"


# ------------------------------------------------------------------ examples


def test_example() -> None:
    """An example has a title, given values of each kind, a billing year and expectations."""
    t = parse_body(
        'example "Kolding"\n'
        '  given name "Kolding", population 94_528,\n'
        "        member yes, other no, joined 2023-11-01\n"
        "  billing year 2023\n"
        "  expect annual_fee 11_445.5, ops pending,\n"
        "         total 11_445.5\n"
    )
    (ex,) = t.examples
    assert ex == ast.Example(
        title="Kolding",
        given=(
            ast.Given("name", "text", "Kolding", span=SPAN),
            ast.Given("population", "number", Decimal(94_528), span=SPAN),
            ast.Given("member", "yes/no", True, span=SPAN),
            ast.Given("other", "yes/no", False, span=SPAN),
            ast.Given("joined", "date", dt.date(2023, 11, 1), span=SPAN),
        ),
        year=2023,
        year_span=SPAN,
        expects=(
            ast.Expect("annual_fee", Decimal("11445.5"), span=SPAN),
            ast.Expect("ops", None, span=SPAN),
            ast.Expect(None, Decimal("11445.5"), kind="total", span=SPAN),
        ),
        span=SPAN,
    )
    assert (ex.year_span.line, ex.year_span.column) == (7, 16)


@pytest.mark.parametrize("year", ["20", "2024.5", "3000"])
def test_billing_year_must_be_a_year(year: str) -> None:
    """A billing year that is not a plausible whole year is refused."""
    (diag,) = syntax_errors(
        HEADER + f'example "e"\n  given a 1\n  billing year {year}\n  expect total 0\n'
    )
    assert diag.message == f"{year} is not a billing year"
    assert diag.hint == "write a year such as 2024"


# ------------------------------------------------------------------ spans


SPANNED = (
    'tariff t "T"\n'  # 1
    "  currency DKK\n"  # 2
    '  source "s"\n'  # 3
    "\n"  # 4
    "input population: inhabitants\n"  # 5
    "bands size by population\n"  # 6
    "  small  to 25_000\n"  # 7
    "  big    from 25_001\n"  # 8
    "charge fee every year\n"  # 9
    "  amount 2 DKK * population\n"  # 10
    '  except name = "A" -> 0 DKK\n'  # 11
)


def test_spans_of_declarations_point_at_their_names() -> None:
    """A declaration's span is its name: line and column (1-based) and where the name ends."""
    t = parse(SPANNED, "spans.tariff")
    assert t.inputs[0].span == Span("spans.tariff", 5, 7, 5, 17)
    assert t.bands[0].span == Span("spans.tariff", 6, 7, 6, 11)
    assert t.bands[0].bands[1].span == Span("spans.tariff", 8, 3, 8, 6)
    assert t.charges[0].span == Span("spans.tariff", 9, 8, 9, 11)
    assert t.header is not None and t.header.span == Span("spans.tariff", 1, 8, 1, 9)


def test_spans_of_clauses_and_expressions() -> None:
    """Bounds, amounts, operands and exceptions carry the span of their text."""
    t = parse(SPANNED, "spans.tariff")
    small = t.bands[0].bands[0]
    assert small.upper is not None and small.upper.span == Span("spans.tariff", 7, 10, 7, 19)
    body = t.charges[0].body
    assert isinstance(body, ast.BinOp)
    assert body.span == Span("spans.tariff", 10, 10, 10, 28)
    assert body.right.span == Span("spans.tariff", 10, 18, 10, 28)
    exc = t.charges[0].exceptions[0]
    assert (exc.span.line, exc.span.column) == (11, 3)
    assert isinstance(exc.condition, ast.Compare)
    assert exc.condition.right.span == Span("spans.tariff", 11, 17, 11, 20)


def test_span_renders_as_file_line_column() -> None:
    """A span prints as file:line:column."""
    assert str(Span("rules/x.tariff", 12, 5, 12, 11)) == "rules/x.tariff:12:5"


def test_equality_ignores_spans() -> None:
    """The same tariff laid out differently (comments, blank lines, spacing) gives an equal AST."""
    moved = (
        "# a comment first\n\n"
        + SPANNED.replace("  small  to", "  small    to").replace("\n\ninput", "\n\n\n\ninput")
        + "# and one at the end\n"
    )
    a, b = parse(SPANNED, "same.tariff"), parse(moved, "same.tariff")
    assert a == b
    assert hash(a) == hash(b)
    assert a.inputs[0].span != b.inputs[0].span


def test_equality_sees_values() -> None:
    """Changing one number makes the ASTs differ."""
    assert parse(SPANNED, "x") != parse(SPANNED.replace("25_001", "25_002"), "x")


def test_nodes_are_frozen() -> None:
    """AST nodes cannot be changed; rewrites go through attrs.evolve."""
    decl = parse(SPANNED).inputs[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decl.name = "other"  # type: ignore[misc]
    assert attrs.evolve(decl, name="other").name == "other"


# ------------------------------------------------------------------ syntax errors

#: Broken texts of every kind; none of their messages may show the parser's inner words.
BROKEN = [
    "input population inhabitants\n",
    "input population: \n",
    "input population: people\n",
    "input : inhabitants\n",
    "input x: count\n",
    "input x: yes\n",
    "list l = \n",
    'list l = "a" "b"\n',
    'list l = "a",\n',
    "bands size by population\n",
    "bands size by population\n  small\n",
    "bands size by population\n  small between 1 and 2\n",
    "bands b by x\n  a from -1\n",
    "param p = \n",
    "param p = 2 +\n",
    "param p = (2\n",
    "param p = 2 DKK DKK\n",
    "param p = 2,50 DKK\n",
    "param p = 2;5\n",
    "param p == 2\n",
    "param p = @\n",
    "param p = 'a'\n",
    'param p = "a\n',
    "param p = 2 % %\n",
    "param p = 1__0 DKK\n",
    "charge c\n  amount 1 DKK\n",
    "charge c every\n",
    "charge c every week\n  amount 1 DKK\n",
    "charge c every year\n",
    "charge c every year\n  amount\n",
    "charge c every year\n  amount 1 DKK\n  except -> 0 DKK\n",
    "charge c every year\n  amount 1 DKK\n  except x 0 DKK\n",
    "charge c every year\n  amount 1 DKK\n  except x == 1 -> 0 DKK\n",
    "charge c every year\n  amount 1 DKK\n  except x in y z -> 0 DKK\n",
    "charge c every year\n  amount 1 DKK\n  except x -> 0 DKK priority\n",
    "charge c every year\n  amount 1 DKK\n  round to 1\n",
    "charge c every year\n  amount 1 DKK\n  prorate 1/ when x\n",
    "charge c every year\n  table by\n",
    "charge c every year\n  table by x\n",
    "charge c every year\n  table by s, t, u\n",
    "charge c every year\n  amount 1 DKK\n  note hello\n",
    "charge c every year\n  amount 1 DKK\n  foo\n",
    "pending p every year\n  amount 1 DKK\n",
    "example x\n",
    'example "x"\n',
    'example "x"\n  given a\n  billing year 2024\n  expect total 1\n',
    'example "x"\n  given a 1,\n  billing year 2024\n  expect total 1\n',
    'example "x"\n  given a 1\n  billing 2024\n  expect total 1\n',
    'example "x"\n  given a 1\n  billing year 2024\n  expect c 1 DKK\n',
    "foo bar\n",
    "tariff t\n  currency\n",
    "tariff t\n  source s\n",
    "param p = 2 €\n",
]

#: Capitalised words an author is meant to see: placeholders in the hints.
_PLACEHOLDERS = ("YYYY-MM-DD", "THINGS")


def _inner_words(text: str) -> list[str]:
    """Words of ``text`` that look like the parser's internals (quoted user text removed)."""
    for placeholder in _PLACEHOLDERS:
        text = text.replace(placeholder, "")
    text = re.sub(r'"[^"]*"|\'[^\']*\'', "", text)
    return re.findall(r"__[A-Z]\w*|\$END|\b_?[A-Z][A-Z_]+\b|Token\(|Tree\(|expected one of", text)


def test_inner_words_are_detected() -> None:
    """The detector used below finds terminal names and Lark words, but not quoted user text."""
    assert _inner_words("expected NUMBER, _NL or __ANON_3 at $END") == [
        "NUMBER",
        "_NL",
        "__ANON_3",
        "$END",
    ]
    assert _inner_words('unexpected the word "DKK"; expected a date (YYYY-MM-DD)') == []


@pytest.mark.parametrize("body", BROKEN)
def test_syntax_errors_use_plain_words(body: str) -> None:
    """No message or hint shows terminal names (NUMBER, _NL, __ANON_0, $END) or Lark objects."""
    for diag in syntax_errors(HEADER + body):
        assert _inner_words(diag.message) == [], diag.message
        assert _inner_words(diag.hint or "") == [], diag.hint


@pytest.mark.parametrize("body", BROKEN)
def test_syntax_errors_are_positioned(body: str) -> None:
    """Every syntax error is an error with a span in the parsed file, inside the text."""
    text = HEADER + body
    lines = text.splitlines()
    diags = syntax_errors(text, "broken.tariff")
    assert diags
    for diag in diags:
        assert diag.severity == "error"
        assert diag.span is not None
        assert diag.span.file == "broken.tariff"
        assert 1 <= diag.span.line <= len(lines)
        assert 1 <= diag.span.column <= len(lines[diag.span.line - 1]) + 1


def test_syntax_error_is_a_tariff_error_named_by_its_first_problem() -> None:
    """A TariffSyntaxError is a TariffError whose text is its first diagnostic's message."""
    with pytest.raises(TariffError) as info:
        parse(HEADER + "input population inhabitants\n")
    assert isinstance(info.value, TariffSyntaxError)
    assert str(info.value) == info.value.diagnostics[0].message
    assert info.value.kind == "syntax error"


def test_missing_colon_is_explained() -> None:
    """An input without its colon is reported at the type, saying a colon was expected."""
    (diag,) = syntax_errors(HEADER + "input population inhabitants\n")
    assert diag.message == (
        'unexpected "inhabitants"; expected ":" or a text in double quotes ("...")'
    )
    assert diag.span == Span("bad.tariff", 4, 18, 4, 29)


def test_unknown_input_type_lists_the_types() -> None:
    """An unknown input type is answered with the list of types."""
    (diag,) = syntax_errors(HEADER + "input population: people\n")
    assert diag.hint == (
        "an input's type is one of: inhabitants, yes/no, date, text, number, money, count of THINGS"
    )


def test_missing_frequency_is_explained() -> None:
    """A charge without a frequency is answered with the three frequencies."""
    (diag,) = syntax_errors(HEADER + "charge c\n  amount 1 DKK\n")
    assert diag.message == (
        'the line ends too early; expected "every", "once" or a text in double quotes ("...")'
    )
    assert diag.hint == (
        "say how often the charge is made: every year, every year from joined, or once when joined"
    )


def test_semicolon_in_a_number() -> None:
    """A semicolon inside a number is explained as a decimal mark problem."""
    (diag,) = syntax_errors(HEADER + "param p = 2;5\n")
    assert diag.message == "';' inside a number is not understood"
    assert diag.hint == (
        "write decimals with a point and thousands with an underscore: 1.50, 25_000"
    )


def test_decimal_comma_gets_a_hint() -> None:
    """A Danish decimal comma (2,50 DKK) is answered with a hint to write 2.50."""
    (diag,) = syntax_errors(HEADER + "param p = 2,50 DKK\n")
    assert diag.hint is not None and "point" in diag.hint


def test_param_error_lists_only_what_a_param_accepts() -> None:
    """An error after a param's value does not offer `priority`, which only exceptions take."""
    (diag,) = syntax_errors(HEADER + "param p = 2 DKK DKK\n")
    assert '"priority"' not in diag.message


def test_danish_thousands_separator() -> None:
    """25.000 is refused as a probable thousands separator, with both readings offered."""
    (diag,) = syntax_errors(HEADER + "param p = 25.000 DKK\n")
    assert diag.message == (
        "25.000 reads as the decimal number 25, but looks like a thousands separator"
    )
    assert diag.hint == "write 25_000 for 25 000, or 25 if that is meant"
    assert diag.span == Span("bad.tariff", 4, 11, 4, 17)


@pytest.mark.parametrize("number", ["1_", "1__0", "1_.5", "25_000_"])
def test_underscore_in_a_strange_place(number: str) -> None:
    """Underscores that do not group digits are refused."""
    (diag,) = syntax_errors(HEADER + f"param p = {number} DKK\n")
    assert diag.message == f"{number} has an underscore in a strange place"


def test_every_broken_declaration_is_reported() -> None:
    """Syntax errors in several declarations are all reported, in file order."""
    diags = syntax_errors(
        HEADER
        + "input a inhabitants\n"  # 4
        + "input b: date\n"
        + "param p = 2 DKK per\n"  # 6
        + "charge c every\n"  # 7
        + "  amount 1 DKK\n"
        + "example x\n"  # 9
    )
    assert [d.span.line for d in diags if d.span] == [4, 6, 7, 9]


def test_a_correct_declaration_after_an_error_is_not_reported() -> None:
    """Recovery skips only the broken declaration: the next one is not blamed."""
    diags = syntax_errors(HEADER + "input a inhabitants\ninput b: date\n")
    assert len(diags) == 1


def test_text_without_final_newline_parses() -> None:
    """A file need not end with a newline."""
    assert parse(HEADER + "input a: date").inputs[0].name == "a"


# ------------------------------------------------------------------ files


def test_parse_file_uses_the_display_name(tmp_path: Path) -> None:
    """parse_file reads UTF-8 (with or without BOM) and names the file as asked in spans."""
    path = tmp_path / "x.tariff"
    path.write_bytes(("\ufeff" + HEADER + "input a: date\n").encode("utf-8"))
    t = parse_file(path, display="shown.tariff")
    assert t.file == "shown.tariff"
    assert t.inputs[0].span.file == "shown.tariff"
    assert parse_file(path).file == str(path)


def test_parse_file_missing(tmp_path: Path) -> None:
    """A missing file is a syntax error saying so, with no span."""
    with pytest.raises(TariffSyntaxError) as info:
        parse_file(tmp_path / "nope.tariff", display="nope.tariff")
    (diag,) = info.value.diagnostics
    assert diag.message == "no tariff file nope.tariff"
    assert diag.span is None


def test_parse_file_folder(tmp_path: Path) -> None:
    """A folder given as a tariff file is refused in plain words."""
    with pytest.raises(TariffSyntaxError) as info:
        parse_file(tmp_path, display="rules")
    assert info.value.diagnostics[0].message == "rules is a folder, not a tariff file"


def test_parse_file_not_utf8(tmp_path: Path) -> None:
    """A file that is not UTF-8 is refused at the line of the first bad byte."""
    path = tmp_path / "latin1.tariff"
    path.write_bytes(HEADER.encode() + 'input a "Størrelse": number\n'.encode("latin-1"))
    with pytest.raises(TariffSyntaxError) as info:
        parse_file(path, display="latin1.tariff")
    (diag,) = info.value.diagnostics
    assert diag.message == "this file is not UTF-8 text"
    assert diag.span == Span("latin1.tariff", 4, 1, 4, 1)


# ------------------------------------------------------------------ limits and line ends


def test_windows_and_old_mac_line_ends() -> None:
    """CRLF and CR line ends parse to the same AST as LF, with the same line numbers."""
    text = HEADER + "input a: date\n"
    lf = parse(text, "le.tariff")
    for ending in ("\r\n", "\r"):
        other = parse(text.replace("\n", ending), "le.tariff")
        assert other == lf
        assert other.inputs[0].span == lf.inputs[0].span


def test_overlong_number() -> None:
    """A number with more digits than takst reads is refused at the number."""
    (diag,) = syntax_errors(HEADER + "param p = " + "1" * 31 + " DKK\n")
    assert diag.message == "this number has 31 digits; takst reads numbers of at most 30 digits"
    assert diag.span is not None and (diag.span.line, diag.span.column) == (4, 11)


def test_deep_nesting() -> None:
    """A condition nested absurdly deep is refused with a hint, not a recursion error."""
    (diag,) = syntax_errors(
        HEADER + "charge c every year\n  amount 1 DKK\n  except " + "not " * 150 + "m -> 0 DKK\n"
    )
    assert diag.message == (
        "this calculation or condition is too deeply nested (more than 100 levels)"
    )
    assert diag.hint == "split the calculation or condition into named params"


def test_redundant_parentheses_parse_to_their_value_up_to_the_nesting_limit() -> None:
    """Parentheses around a single value add no node: 100 pairs parse to the number; 101
    pairs are nested deeper than the stated limit."""
    assert expr("(" * 100 + "1" + ")" * 100) == ast.Number(Decimal(1), span=SPAN)
    (diag,) = syntax_errors(HEADER + "param p = " + "(" * 101 + "1" + ")" * 101 + "\n")
    assert diag.message == (
        "this calculation or condition is too deeply nested (more than 100 levels)")
    assert diag.span is not None and (diag.span.line, diag.span.column) == (4, 111)


# ------------------------------------------------------------------ declarations in source order

ORDERED = """\
param price = 2 DKK
input population: inhabitants
charge fee every year
  amount price * population
param base = 1 DKK
charge other every year
  amount base
"""


def test_declarations_keep_source_order() -> None:
    """A tariff holds its declarations in the order written; each per-kind view keeps that order."""
    t = parse_body(ORDERED)
    assert [type(d).__name__ for d in t.declarations] == [
        "Header", "ParamDecl", "InputDecl", "ChargeDecl", "ParamDecl", "ChargeDecl"]
    assert [p.name for p in t.params] == ["price", "base"]
    assert [c.name for c in t.charges] == ["fee", "other"]
    assert t.header is t.declarations[0] and t.extra_headers == ()
    assert t.of_kind(ast.InputDecl) == t.inputs


def test_evolve_with_a_view_replaces_that_kind_in_place() -> None:
    """attrs.evolve(tariff, charges=...) puts the new charges where the old ones stood and
    leaves every other declaration (and the order) alone."""
    t = parse_body(ORDERED)
    renamed = tuple(attrs.evolve(c, name=c.name + "_x") for c in t.charges)
    t2 = attrs.evolve(t, charges=renamed)
    assert [getattr(d, "name", None) for d in t2.declarations] == [
        "t", "price", "population", "fee_x", "base", "other_x"]
    fewer = attrs.evolve(t, charges=renamed[1:])
    assert [getattr(d, "name", None) for d in fewer.declarations] == [
        "t", "price", "population", "other_x", "base"]
    assert attrs.evolve(t, charges=t.charges) == t
    assert t.replace(charges=renamed) == t2
    with pytest.raises(TypeError):
        ast.Tariff("x", (), span=SPAN, chargez=())  # type: ignore[arg-type]


def test_walk_and_find_all_visit_every_node_in_source_order() -> None:
    """ast.walk yields every node depth first in field order; find_all picks one class."""
    t = parse_body(ORDERED)
    refs = [r.name for r in ast.find_all(t, ast.Ref)]
    assert refs == ["price", "population", "base"]
    assert sum(1 for _ in ast.walk(t.charges[0])) == len(list(ast.walk(t.charges[0])))
    assert next(iter(ast.walk(t))) is t
    assert [type(n).__name__ for n in ast.iter_child_nodes(t)][:2] == ["Header", "ParamDecl"]
    deep = parse_body("param p = " + "(" * 90 + "1" + ")" * 90 + "\n")
    assert len(list(ast.find_all(deep, ast.Number))) == 1


# ------------------------------------------------------------------ the cached parser tables

_ROOT = Path(__file__).resolve().parents[1]
SEED_FILES = sorted([*(_ROOT / "rules").glob("*.tariff"), *(_ROOT / "stdlib").glob("*.tariff")])


def test_cached_tables_parse_exactly_like_freshly_built_ones(tmp_path: Path) -> None:
    """The parser loaded from the cache gives the same trees as one built from the grammar."""
    from takst.dsl import grammar

    text = grammar.grammar_text()
    grammar.load_or_build(text, tmp_path)  # builds and writes the cache
    (cache,) = tmp_path.iterdir()
    assert cache.name == grammar.cache_name(text)
    loaded = grammar.load_or_build(text, tmp_path)
    built = grammar.build(text)
    assert SEED_FILES
    for path in SEED_FILES:
        source = path.read_text(encoding="utf-8")
        assert loaded.parse(source) == built.parse(source), path
    assert [t.name for t in loaded.terminals] == [t.name for t in built.terminals]


def test_a_changed_grammar_never_meets_old_tables(tmp_path: Path) -> None:
    """Another grammar text has another cache file; a file whose recorded digest does not
    match (stale, damaged or foreign) is ignored and replaced, never used."""
    from takst.dsl import grammar

    text = grammar.grammar_text()
    changed = text + "\n// a comment changes the digest\n"
    assert grammar.cache_name(changed) != grammar.cache_name(text)
    grammar.load_or_build(text, tmp_path)
    old = tmp_path / grammar.cache_name(text)
    (tmp_path / grammar.cache_name(changed)).write_bytes(old.read_bytes())  # stale tables
    grammar.load_or_build(changed, tmp_path)
    first_line = (tmp_path / grammar.cache_name(changed)).read_bytes().split(b"\n", 1)[0]
    assert first_line == grammar.digest(changed).encode("ascii")
    old.write_bytes(b"garbage\n")  # damaged: rebuilt
    assert grammar.load_or_build(text, tmp_path).parse(HEADER) == grammar.build(text).parse(HEADER)
    assert old.read_bytes().split(b"\n", 1)[0] == grammar.digest(text).encode("ascii")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path) -> None:
    """A cache folder that cannot be made or written still gives a working parser."""
    from takst.dsl import grammar

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    parser = grammar.load_or_build(grammar.grammar_text(), blocker / "cache")
    assert parser.parse(HEADER) is not None
    assert grammar.load_or_build(grammar.grammar_text(), None).parse(HEADER) is not None
