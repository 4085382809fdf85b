"""`takst fmt`: the canonical layout keeps every tariff's meaning and every comment.

Properties, for every file of rules/, stdlib/, tests/cases/, tests/fixtures/ and
the manual that parses, and for random tariffs generated from the grammar's
constructs: formatting is idempotent, the formatted text parses to the same AST
(spans aside), and the comments are the same, in the same order.
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import ROOT, run

from takst.dsl import ast, formatter
from takst.dsl.errors import TariffError, TariffSyntaxError
from takst.dsl.formatter import FormatError, Printer, format_text
from takst.dsl.numbers import group
from takst.dsl.parser import _lark, parse

# ------------------------------------------------------------------ helpers


def fmt(text: str) -> str:
    return format_text(text, "t.tariff")


def comments(text: str) -> list[str]:
    """Every comment's text in order, read from the lexer's end-of-line tokens."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    found: list[str] = []
    for tok in _lark().lex(text):
        if tok.type == "_NL":
            found += [c.rstrip() for c in re.findall(r"#[^\n]*", tok.value)]
    return found


def assert_canonical(text: str, file: str = "t.tariff") -> str:
    """Format ``text`` and check the properties; return the formatted text."""
    out = format_text(text, file)
    assert parse(out, file) == parse(text, file), "the formatted text means something else"
    assert format_text(out, file) == out, "formatting is not idempotent"
    assert comments(out) == comments(text), "comments were lost or reordered"
    lines = out.split("\n")
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))
    assert all(line == line.rstrip() for line in lines), "trailing whitespace"
    assert "\t" not in "".join(line[: len(line) - len(line.lstrip())] for line in lines)
    assert "\n\n\n" not in out, "more than one blank line in a row"
    return out


HEADER = 'tariff t "T"\n  currency DKK\n  source "s"\n\n'


# ------------------------------------------------------------------ the repository's tariffs


def _repository_tariffs() -> list[Path]:
    folders = ["rules", "stdlib", "tests/cases", "tests/fixtures", "docs"]
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.tariff"))


@pytest.mark.parametrize(
    "path", _repository_tariffs(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_repository_tariffs_format_to_the_same_meaning(path: Path) -> None:
    """Every tariff of the repository that parses formats idempotently, same AST, same comments."""
    text = path.read_text(encoding="utf-8")
    try:
        parse(text, path.name)
    except TariffSyntaxError:
        with pytest.raises(TariffSyntaxError):
            format_text(text, path.name)
        return
    assert_canonical(text, path.name)


def _manual_snippets() -> list[tuple[str, str]]:
    """The manual's ``code-block:: tariff`` snippets (fragments under a header)."""
    found = []
    for rst in sorted((ROOT / "docs").glob("*.rst")):
        lines = rst.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            m = re.match(r"^(\s*)\.\. code-block::\s+tariff\s*$", line)
            if not m:
                continue
            body = []
            for nxt in lines[n + 1 :]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= len(m[1]):
                    break
                body.append(nxt)
            text = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
            first = next((x.split()[0] for x in text.splitlines()
                          if x.strip() and not x.strip().startswith("#")), "")
            found.append((f"docs/{rst.name}:{n + 1}", text if first in ("tariff", "module")
                          else HEADER + text))
    return found


@pytest.mark.parametrize("where,text", _manual_snippets(), ids=[w for w, _ in _manual_snippets()])
def test_manual_snippets_format_to_the_same_meaning(where: str, text: str) -> None:
    """Every snippet of the manual that parses formats idempotently, same AST, same comments."""
    try:
        parse(text, where)
    except TariffError:
        return  # a snippet that shows a syntax error
    assert_canonical(text, where)


# ------------------------------------------------------------------ the layout, by example


def test_bands_align_names_labels_and_bounds() -> None:
    """Band names, labels and bounds are aligned in columns, numbers grouped with underscores."""
    text = HEADER + (
        "input population: inhabitants\n\n"
        "bands size by population\n"
        '      small "Lille"   up to 25000\n'
        '  medium   "Mellem"  from 25001 to 60000\n'
        "  very_large above 60000\n"
    )
    assert fmt(text) == HEADER + (
        "input population: inhabitants\n\n"
        "bands size by population\n"
        '  small       "Lille"   up to 25_000\n'
        '  medium      "Mellem"  from 25_001 to 60_000\n'
        "  very_large            above 60_000\n"
    )


def test_tables_right_align_numbers_under_their_header() -> None:
    """A two-way table: keys aligned, numbers right-aligned, the header right-aligned over them."""
    text = HEADER + (
        "charge fee every year\n"
        "  table by size, member\n"
        "      yes no\n"
        "    small 1000 2000.50\n"
        '    "very large" 350000 0\n'
    )
    assert fmt(text) == HEADER + (
        "charge fee every year\n"
        "  table by size, member\n"
        "                      yes         no\n"
        "    small           1_000   2_000.50\n"
        '    "very large"  350_000          0\n'
    )


def test_cases_align_and_keep_their_words() -> None:
    """Cases: keys aligned, values after them; `not offered` and `pending` as written."""
    text = HEADER + (
        "charge fee every year\n"
        " by customer_type\n"
        "  KOMMUNE 3000 NOK+0.636 NOK per inhabitant*population\n"
        "      STATLIG_VIRKSOMHET pending\n"
        "  others not   offered\n"
        "param p = by size\n"
        "  small 1 DKK\n"
    )
    assert fmt(text) == HEADER + (
        "charge fee every year\n"
        "  by customer_type\n"
        "    KOMMUNE             3_000 NOK + 0.636 NOK per inhabitant * population\n"
        "    STATLIG_VIRKSOMHET  pending\n"
        "    others              not offered\n"
        "param p = by size\n"
        "    small  1 DKK\n"
    )


def test_numbers_group_thousands_and_keep_the_authors_decimals() -> None:
    """25000 -> 25_000, 1.50 stays 1.50, 007 -> 7; steps, years, 4-digit condition numbers stay."""
    text = HEADER + (
        "param a = 25000 DKK + 1.50 DKK per inhabitant * population + 007\n"
        "param b = 1234567.125000 DKK\n"
        "charge c every year\n"
        "  amount a\n"
        "  prorate 1/4 when joined in 2023 and population > 25000 and x < 2_024\n"
        "  round to 1000 half up\n"
    )
    assert fmt(text) == HEADER + (
        "param a = 25_000 DKK + 1.50 DKK per inhabitant * population + 7\n"
        "param b = 1_234_567.125000 DKK\n"
        "charge c every year\n"
        "  amount a\n"
        "  prorate 1/4 when joined in 2023 and population > 25_000 and x < 2_024\n"
        "  round to 1000 half up\n"
    )


def test_a_number_never_becomes_danish_thousands() -> None:
    """0025.000 is 25.000, which the parser refuses: it keeps four whole digits, 0_025.000."""
    text = HEADER + "param a = 0025.000 DKK + 0000.000 DKK + 0.00 DKK\n"
    assert fmt(text) == HEADER + "param a = 0_025.000 DKK + 0_000.000 DKK + 0.00 DKK\n"


def test_parentheses_quotes_and_spellings_are_kept() -> None:
    """Redundant parentheses, `up to`, `25 %` and quoted keys are the author's: kept."""
    text = HEADER + (
        "param a = (1 DKK)+((b * c))\n"
        "formula f(x,y)=(x)*y\n"
        "proration quarter = 25%\n"
        "proration third = 1 / 3\n"
        "charge c every year\n"
        "  amount f((a), 2)\n"
        "  except (member) or not (x in l and y) -> 0 DKK\n"
    )
    assert fmt(text) == HEADER + (
        "param a = (1 DKK) + ((b * c))\n"
        "formula f(x, y) = (x) * y\n"
        "proration quarter = 25 %\n"
        "proration third = 1/3\n"
        "charge c every year\n"
        "  amount f((a), 2)\n"
        "  except (member) or not (x in l and y) -> 0 DKK\n"
    )


def test_line_breaks_after_commas_are_kept() -> None:
    """A list, given or expect continued after a comma stays continued, indented one step more."""
    text = HEADER + (
        'list l =\n"a", "b",\n     "c"\n'
        'example "e"\n'
        "  given a 1, b 2,\n"
        "          c 3\n"
        "  billing year 2024\n"
        "  expect x 1,\n"
        "  y 2\n"
        "  expect z pending\n"
    )
    assert fmt(text) == HEADER + (
        'list l =\n  "a", "b",\n  "c"\n'
        'example "e"\n'
        "  given a 1, b 2,\n"
        "    c 3\n"
        "  billing year 2024\n"
        "  expect x 1,\n"
        "    y 2\n"
        "  expect z pending\n"
    )


def test_comments_stay_where_they_were() -> None:
    """End-of-line comments stay on their line; comment lines stay before the line they precede."""
    text = (
        "\n\n# about the file\n\n\n"
        'tariff t "T # not a comment" # the header\n'
        "      currency DKK\n"
        "# about the source\n"
        '  source "s"\n'
        "\n\n\n"
        "# a block\n"
        "\n"
        "# about bands\n"
        "bands size by population\n"
        "  small to 10 # small\n"
        "\n"
        "     # big ones\n"
        "  big from 11           # big\n"
        "  # left behind by the author\n"
        "# the end\n"
    )
    assert fmt(text) == (
        "# about the file\n\n"
        'tariff t "T # not a comment"  # the header\n'
        "  currency DKK\n"
        "  # about the source\n"
        '  source "s"\n'
        "\n"
        "# a block\n"
        "\n"
        "# about bands\n"
        "bands size by population\n"
        "  small  to 10  # small\n"
        "  # big ones\n"
        "  big    from 11  # big\n"
        "  # left behind by the author\n"
        "# the end\n"
    )


def test_blank_lines_between_declarations_become_one_and_are_never_added() -> None:
    """Runs of blank lines between declarations become one; none is added where there was none."""
    text = HEADER + "input a: number\ninput b: number\n\n\n\n\ninput c: date\n\n\n"
    assert fmt(text) == HEADER + "input a: number\ninput b: number\n\ninput c: date\n"


def test_empty_and_comment_only_files() -> None:
    """An empty file stays empty; a file of comments keeps them."""
    assert fmt("") == ""
    assert fmt("\n\n  \n") == ""
    assert fmt("\n  # one\n\n\n# two") == "# one\n\n# two\n"


def test_windows_line_ends_and_byte_order_mark_are_normalised() -> None:
    """CRLF line ends and a byte order mark are read; the result has Unix line ends."""
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + "input a: number\r\n"
    assert fmt(text) == HEADER + "input a: number\n"


def test_syntax_errors_are_raised_not_formatted() -> None:
    """A text that does not parse raises the parser's positioned diagnostics."""
    with pytest.raises(TariffSyntaxError) as info:
        fmt(HEADER + "input population inhabitants\n")
    span = info.value.diagnostics[0].span
    assert span is not None and (span.line, span.column) == (5, 18)


# ------------------------------------------------------------------ refusing, never dropping


def test_a_node_without_a_printer_is_refused_with_its_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A construct with no printer yet (here: notes) makes fmt refuse, pointing at it."""
    monkeypatch.delitem(Printer.printers, ast.Note)
    with pytest.raises(FormatError) as info:
        fmt(HEADER + 'charge c every year\n  amount 1 DKK\n  note "n"\n')
    (diag,) = info.value.diagnostics
    assert diag.span is not None and diag.span.line == 7
    assert "no printer for Note" in diag.message


def test_an_expression_without_a_printer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Expressions and conditions dispatch by type too: one without a printer is refused."""
    monkeypatch.delitem(Printer.inline_printers, ast.Call)
    with pytest.raises(FormatError) as info:
        fmt(HEADER + "input a: number\nparam p = 1 + f(a)\n")
    (diag,) = info.value.diagnostics
    assert diag.span is not None and diag.span.line == 6
    assert "no printer for Call" in diag.message


def test_a_text_that_would_not_read_back_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Last check: the laid-out text must parse to the same AST, or fmt refuses."""
    monkeypatch.setattr(formatter, "number", lambda value: group(value, "_"))
    with pytest.raises(FormatError) as info:
        fmt(HEADER + "param a = 0025.000 DKK\n")
    assert "it would not parse (25.000 reads as the decimal number 25" in str(info.value)


def test_a_printer_that_drops_content_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a printer loses a line or a word, fmt refuses with the position of the source line."""
    monkeypatch.setitem(Printer.printers, ast.Note, lambda self, n: [])
    with pytest.raises(FormatError) as info:
        fmt(HEADER + 'charge c every year\n  note "n"\n  amount 1 DKK\n')
    (diag,) = info.value.diagnostics
    assert diag.span is not None and diag.span.line == 6
    monkeypatch.setitem(Printer.printers, ast.Note, lambda self, n: ['note "other"'])
    with pytest.raises(FormatError):
        fmt(HEADER + 'charge c every year\n  note "n"\n  amount 1 DKK\n')


# ------------------------------------------------------------------ the command


UGLY = HEADER + "bands size by population\n  small to 9999\n  big from 10000\n"
PRETTY = HEADER + "bands size by population\n  small  to 9_999\n  big    from 10_000\n"


def test_fmt_rewrites_a_file_only_if_it_changes(tmp_path: Path) -> None:
    """`takst fmt FILE` rewrites an untidy file, leaves a canonical one alone, exits 0."""
    ugly, pretty = tmp_path / "ugly.tariff", tmp_path / "pretty.tariff"
    ugly.write_text(UGLY, encoding="utf-8")
    pretty.write_text(PRETTY, encoding="utf-8")
    os.utime(pretty, (1_000_000, 1_000_000))
    code, out, err = run("fmt", str(tmp_path))
    assert (code, err) == (0, "")
    assert ugly.read_text(encoding="utf-8") == PRETTY
    assert pretty.stat().st_mtime == 1_000_000
    assert f"reformatted {ugly}" in out
    assert out.splitlines()[-1] == "1 file reformatted, 1 already formatted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretty.tariff", "ugly.tariff"]


def test_fmt_check_changes_nothing_and_shows_a_diff(tmp_path: Path) -> None:
    """`takst fmt --check` lists the files that would change and a diff, exits 1, writes nothing."""
    ugly = tmp_path / "ugly.tariff"
    ugly.write_text(UGLY, encoding="utf-8")
    code, out, _ = run("fmt", "--check", str(ugly))
    assert code == 1
    assert ugly.read_text(encoding="utf-8") == UGLY
    assert f"would reformat {ugly}" in out
    assert "-  small to 9999\n" in out and "+  small  to 9_999\n" in out
    assert out.splitlines()[-1] == "1 file would be reformatted"
    ugly.write_text(PRETTY, encoding="utf-8")
    assert run("fmt", "--check", str(ugly))[:2] == (0, "1 already formatted\n")


def test_fmt_leaves_a_broken_file_untouched(tmp_path: Path) -> None:
    """A file that does not parse gets positioned diagnostics and exit 1, and is not written."""
    bad = tmp_path / "bad.tariff"
    text = HEADER + "input population  inhabitants\n"
    bad.write_text(text, encoding="utf-8")
    code, out, err = run("fmt", str(bad))
    assert code == 1
    assert f"{bad}:5:19: error: unexpected \"inhabitants\"" in err
    assert bad.read_text(encoding="utf-8") == text
    assert out.splitlines()[-1] == "1 not formatted"


def test_fmt_refuses_a_construct_it_cannot_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no printer for a construct, `takst fmt` says where, exits 1 and writes nothing."""
    monkeypatch.delitem(Printer.printers, ast.Note)
    f = tmp_path / "n.tariff"
    text = HEADER + 'charge c every year\n    amount 1 DKK\n  note "n"\n'
    f.write_text(text, encoding="utf-8")
    code, _, err = run("fmt", str(f))
    assert code == 1
    assert f"{f}:7:1: error: takst fmt cannot lay out this construct yet" in err
    assert f.read_text(encoding="utf-8") == text


def test_rules_and_stdlib_are_canonical() -> None:
    """`takst fmt --check rules/ stdlib/` passes: the shipped tariffs are laid out canonically."""
    code, out, _ = run("fmt", "--check", "rules/", "stdlib/")
    assert code == 0, out


# ------------------------------------------------------------------ random tariffs

KEYWORDS = frozenset(
    t.pattern.value for t in _lark().terminals
    if isinstance(t.pattern, lark.lexer.PatternStr) and t.pattern.value.isalpha()
)

#: A place in a line where the grammar allows a line break (after a comma, after `=`).
BR = "\0br"

Line = list[str]
Draw = Callable[..., object]

names = st.one_of(
    st.sampled_from(["population", "member", "joined", "size", "fee", "KOMMUNE", "størrelse",
                     "customer_type", "x_1", "inputs", "yes_", "others"]),
    st.from_regex(r"[a-zA-Zæøå][a-z0-9_]{0,6}", fullmatch=True),
).filter(lambda n: n not in KEYWORDS)
_TEXT = "abcdefghijklmnopqrstuvwxyzæøåABCÆØÅ0123456789 .,:;-_()#%/*+'=<>"
strings = st.text(_TEXT, max_size=12).map(lambda s: f'"{s}"')
comment_texts = st.text(_TEXT + '"', max_size=15).map(lambda s: ("# " + s).rstrip())
dates = st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.isoformat())
years = st.integers(1900, 2200).map(str)


@st.composite
def numbers(draw: Draw, whole: bool = False, positive: bool = False) -> str:
    """A number as an author may write it: optional underscores, decimals with trailing zeros."""
    digits = draw(st.from_regex(r"[0-9]{1,8}", fullmatch=True))
    if positive and int(digits) == 0:
        digits += "1"
    out = digits[0]
    for ch in digits[1:]:
        out += ("_" if draw(st.booleans()) and draw(st.booleans()) else "") + ch
    if not whole and draw(st.booleans()):
        frac = draw(st.from_regex(r"[0-9]{1,4}", fullmatch=True))
        if re.fullmatch(r"\d{1,3}", digits) and frac == "000":
            frac = "0001"  # 25.000 would be refused as Danish thousands
        out += "." + frac
    return out


def opt(draw: Draw, strategy: st.SearchStrategy[str]) -> list[str]:
    return [draw(strategy)] if draw(st.booleans()) else []


@st.composite
def exprs(draw: Draw, depth: int = 0) -> Line:
    """``expr`` of the grammar: sums of products of atoms."""
    terms = [draw(products(depth))]
    for _ in range(draw(st.integers(0, 2 if depth < 2 else 0))):
        terms += [draw(st.sampled_from(["+", "-"])), *draw(products(depth))]
    return [t for term in terms for t in (term if isinstance(term, list) else [term])]


@st.composite
def products(draw: Draw, depth: int) -> Line:
    out = draw(atoms(depth))
    for _ in range(draw(st.integers(0, 2 if depth < 2 else 0))):
        out += [draw(st.sampled_from(["*", "/"])), *draw(atoms(depth))]
    return out


@st.composite
def atoms(draw: Draw, depth: int) -> Line:
    kind = draw(st.sampled_from(
        ["number", "percent", "money", "rate", "ref", "call", "paren"] if depth < 3
        else ["number", "money", "ref"]))
    n = draw(numbers())
    if kind == "number":
        return [n]
    if kind == "percent":
        return [n, "%"]
    if kind == "money":
        return [n, draw(names)]
    if kind == "rate":
        return [n, draw(names), "per", draw(names)]
    if kind == "ref":
        return [draw(names)]
    if kind == "call":
        args = [draw(exprs(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
        out = [draw(names), "("]
        for i, a in enumerate(args):
            out += ([","] if i else []) + a
        return [*out, ")"]
    return ["(", *draw(exprs(depth + 1)), ")"]


operands = st.one_of(names, numbers(), dates, strings, st.sampled_from(["yes", "no"]))


@st.composite
def conds(draw: Draw, depth: int = 0) -> Line:
    """``condition`` of the grammar: or of and of (not) tests."""
    out = draw(conjunctions(depth))
    for _ in range(draw(st.integers(0, 1 if depth < 2 else 0))):
        out += ["or", *draw(conjunctions(depth))]
    return out


@st.composite
def conjunctions(draw: Draw, depth: int) -> Line:
    out = draw(negations(depth))
    for _ in range(draw(st.integers(0, 1 if depth < 2 else 0))):
        out += ["and", *draw(negations(depth))]
    return out


@st.composite
def negations(draw: Draw, depth: int) -> Line:
    nots = ["not"] * draw(st.integers(0, 2)) if draw(st.booleans()) else []
    kind = draw(st.sampled_from(["truthy", "in", "not_in", "compare", "paren"] if depth < 2
                                else ["truthy", "in", "compare"]))
    if kind == "truthy":
        test = [draw(operands)]
    elif kind == "in":
        test = [draw(operands), "in", draw(operands)]
    elif kind == "not_in":
        test = [draw(operands), "not", "in", draw(operands)]
    elif kind == "compare":
        test = [draw(operands), draw(st.sampled_from(["<", "<=", ">", ">=", "=", "!="])),
                draw(operands)]
    else:
        test = ["(", *draw(conds(depth + 1)), ")"]
    return nots + test


def label(draw: Draw) -> list[str]:
    return opt(draw, strings)


@st.composite
def ranges(draw: Draw) -> Line:
    lower = draw(st.sampled_from([[], ["from"], ["above"]]))
    upper = draw(st.sampled_from([[], ["to"], ["up", "to"], ["below"]]))
    if not lower and not upper:
        lower = ["from"]
    out = []
    if lower:
        out += [*lower, draw(numbers())]
    if upper:
        out += [*upper, draw(numbers())]
    return out


types = st.one_of(
    st.sampled_from([["inhabitants"], ["yes", "/", "no"], ["date"], ["text"], ["number"],
                     ["money"]]),
    names.map(lambda n: ["count", "of", n]),
)
frequencies = st.one_of(
    st.just(["every", "year"]),
    names.map(lambda n: ["every", "year", "from", n]),
    names.map(lambda n: ["once", "when", n]),
)
steps = st.one_of(numbers(positive=True),
                  st.sampled_from(["øre", "ore", "krone", "kroner", "whole"]))
modes = st.sampled_from([["half", "up"], ["half", "even"], ["up"], ["down"]])
fractions = st.one_of(
    st.tuples(numbers(), numbers(positive=True)).map(lambda t: [t[0], "/", t[1]]),
    numbers().map(lambda n: [n, "%"]),
)


def separated(draw: Draw, items: list[Line], allow_first_break: bool = False) -> Line:
    """Items joined by commas, with optional line breaks after the commas."""
    out: Line = [BR] if allow_first_break and draw(st.booleans()) else []
    for i, item in enumerate(items):
        if i:
            out += [","] + ([BR] if draw(st.booleans()) else [])
        out += item
    return out


@st.composite
def case_lines(draw: Draw) -> list[Line]:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        value = draw(st.one_of(exprs(), st.just(["not", "offered"]), st.just(["pending"])))
        lines.append([draw(names), *value, *opt(draw, strings)])  # issue 12: a reason
    return lines


@st.composite
def tables(draw: Draw) -> list[Line]:
    keys = st.one_of(names, strings, st.sampled_from(["yes", "no"]))
    if draw(st.booleans()):
        cols = draw(st.integers(1, 3))
        head = [["table", "by", draw(names), ",", draw(names)],
                [draw(keys) for _ in range(cols)]]
    else:
        cols = 1
        head = [["table", "by", draw(names)]]
    rows = [[draw(keys), *[draw(numbers()) for _ in range(draw(st.integers(1, cols + 1)))]]
            for _ in range(draw(st.integers(1, 4)))]
    return head + rows


@st.composite
def clauses(draw: Draw) -> list[Line]:
    kind = draw(st.sampled_from(["table", "amount", "cases", "prorate", "prorate_period",
                                 "prorate_named", "except", "round", "round_with", "note",
                                 "table_multi", "vat_exempt"]))
    reason = opt(draw, strings)
    if kind == "table":
        return draw(tables())
    if kind == "amount":
        return [["amount", *draw(exprs())]]
    if kind == "cases":
        return [["by", draw(names)], *draw(case_lines())]
    if kind == "prorate":
        return [["prorate", *draw(fractions), "when", *draw(conds()), *reason]]
    if kind == "prorate_period":
        return [["prorate", "by", draw(st.sampled_from(["months", "days"])), "from",
                 draw(names), *reason]]
    if kind == "prorate_named":
        use = draw(st.one_of(conds().map(lambda c: ["when", *c]),
                             names.map(lambda n: ["from", n])))
        return [["prorate", "with", draw(names), *use, *reason]]
    if kind == "except":
        priority = ["priority", draw(numbers(whole=True))] if draw(st.booleans()) else []
        return [["except", *draw(conds()), "->", *draw(exprs()), *reason, *priority]]
    if kind == "round":
        return [["round", "to", draw(steps), *draw(modes)]]
    if kind == "round_with":
        return [["round", "with", draw(names)]]
    if kind == "table_multi":  # issue 12: three or more dimensions
        dims = [draw(names) for _ in range(draw(st.integers(3, 4)))]
        keys = st.one_of(names, strings, st.sampled_from(["yes", "no"]))
        cols = draw(st.integers(1, 3))
        listed = [w for i, d in enumerate(dims) for w in ([","] if i else []) + [d]]
        head = [["table", "by", *listed],
                [draw(keys) for _ in range(cols)]]
        rows = [[*(draw(keys) for _ in dims[:-1]), *(draw(numbers()) for _ in range(cols))]
                for _ in range(draw(st.integers(1, 3)))]
        return head + rows
    if kind == "vat_exempt":
        return [["exempt", "from", "vat", *reason]]
    return [["note", draw(strings)]]


@st.composite
def declarations(draw: Draw) -> list[Line]:
    kind = draw(st.sampled_from([
        "import", "input", "setting", "list", "categories", "group", "bands", "slices",
        "param", "param_cases", "param_dated", "param_pending", "formula", "aggregate", "pool",
        "proration", "rounding", "charge", "pending", "example", "property",
        # issue 12
        "input_default", "param_indexed", "param_dated_pending", "aggregate_count",
        "pool_mixed", "vat", "vat_cases", "pending_for"]))
    name = draw(names)
    lab = label(draw)
    if kind == "import":
        return [["import", draw(st.one_of(names, strings))]]
    if kind == "input":
        return [["input", name, *lab, ":", *draw(types),
                 *(["optional"] if draw(st.booleans()) else [])]]
    if kind == "setting":
        return [["setting", name, *lab, ":", *draw(types)]]
    if kind == "list":
        items = [[draw(strings)] for _ in range(draw(st.integers(1, 5)))]
        return [["list", name, *lab, "=", *separated(draw, items, True)]]
    if kind == "group":
        items = [[draw(names)] for _ in range(draw(st.integers(1, 5)))]
        return [["group", name, *lab, "=", *separated(draw, items, True)]]
    if kind == "categories":
        return [["categories", name, *lab]] + [
            [draw(names), *label(draw)] for _ in range(draw(st.integers(1, 4)))]
    if kind == "bands":
        return [["bands", name, *lab, "by", draw(names)]] + [
            [draw(names), *label(draw), *draw(ranges())] for _ in range(draw(st.integers(1, 4)))]
    if kind == "slices":
        return [["slices", name, *lab, "by", draw(names)]] + [
            [draw(names), *label(draw), *draw(ranges()), "at", *draw(exprs())]
            for _ in range(draw(st.integers(1, 3)))]
    if kind == "param":
        return [["param", name, *lab, "=", *draw(exprs())]]
    if kind == "param_cases":
        return [["param", name, *lab, "=", "by", draw(names)], *draw(case_lines())]
    if kind == "param_dated":
        return [["param", name, *lab, "="]] + [
            [*draw(exprs()), "from", draw(dates)] for _ in range(draw(st.integers(1, 3)))]
    if kind == "param_pending":
        return [["param", name, *lab, "=", "pending", *opt(draw, strings)]]
    if kind == "input_default":
        optional = ["optional"] if draw(st.booleans()) else []
        return [["input", name, *lab, ":", *draw(types), *optional, "default", draw(values)]]
    if kind == "param_indexed":
        rounding = [[["round", "to", draw(steps), *draw(modes)]], [["round", "with", draw(names)]],
                    []][draw(st.integers(0, 2))]
        return [["param", name, *lab, "=", *draw(exprs())],
                ["adjusted", "by", *draw(exprs()), "every", "year", "from", draw(years)],
                *rounding]
    if kind == "param_dated_pending":
        return [["param", name, *lab, "="], [*draw(exprs()), "from", draw(dates)],
                ["not", "decided", "from", draw(dates), *opt(draw, strings)]]
    if kind == "aggregate_count":
        return [["aggregate", name, *lab, "=", "count", "of", draw(names)]]
    if kind == "pool_mixed":
        total = [["total", "rounded", "to", draw(steps), *draw(modes)]] if draw(
            st.booleans()) else []
        return [["pool", name, *lab, "=", *draw(exprs())], *total,
                ["shared", *draw(fractions), "equally", "and", *draw(fractions), "by",
                 draw(names)]]
    if kind in ("vat", "vat_cases"):
        rounding = [["round", "to", draw(steps), *draw(modes)]] if draw(st.booleans()) else []
        if kind == "vat":
            return [["vat", name, *lab, "=", *draw(exprs())], *rounding]
        return [["vat", name, *lab, "=", "by", draw(names)], *draw(case_lines()), *rounding]
    if kind == "pending_for":
        return [["pending", name, *lab, *draw(frequencies)], ["for", *draw(conds())]]
    if kind == "formula":
        params = [draw(names) for _ in range(draw(st.integers(1, 3)))]
        listed = [w for i, p in enumerate(params) for w in ([","] if i else []) + [p]]
        return [["formula", name, "(", *listed, ")", "=", *draw(exprs())]]
    if kind == "aggregate":
        among = ["among", *draw(conds())] if draw(st.booleans()) else []
        return [["aggregate", name, *lab, "=", draw(st.sampled_from(["sum", "max", "min"])),
                 "of", draw(names), *among]]
    if kind == "pool":
        among = ["among", *draw(conds())] if draw(st.booleans()) else []
        lines = [["pool", name, *lab, "=", *draw(exprs())], ["shared", "by", draw(names), *among]]
        if draw(st.booleans()):
            lines.append(["rounded", "to", draw(steps), "by", "largest_remainder"])
        return lines
    if kind == "proration":
        rule = draw(st.one_of(fractions, st.sampled_from([["by", "months"], ["by", "days"]])))
        return [["proration", name, *lab, "=", *rule]]
    if kind == "rounding":
        return [["rounding", name, *lab, "=", "to", draw(steps), *draw(modes)]]
    if kind == "charge":
        body = [line for _ in range(draw(st.integers(1, 4))) for line in draw(clauses())]
        return [["charge", name, *lab, *draw(frequencies)], *body]
    if kind == "pending":
        notes = [["note", draw(strings)] for _ in range(draw(st.integers(0, 2)))]
        return [["pending", name, *lab, *draw(frequencies)], *notes]
    if kind == "example":
        return draw(examples())
    return draw(properties())


values = st.one_of(numbers(), dates, strings, st.sampled_from(["yes", "no"]))
expect_items = st.one_of(
    st.tuples(names, numbers()).map(list),
    names.map(lambda n: [n, "pending"]),
    numbers().map(lambda n: ["total", n]),
    st.tuples(st.sampled_from(["pool", "rate"]), names, numbers()).map(list),
    st.tuples(st.just("vat"), names, numbers()).map(list),  # issue 12
    numbers().map(lambda n: ["vat", "total", n]),
)


@st.composite
def examples(draw: Draw) -> list[Line]:
    lines = [["example", draw(strings)]]
    if draw(st.booleans()):
        lines.append(["register", draw(strings)])
    if draw(st.booleans()):
        items = [[draw(names), draw(values)] for _ in range(draw(st.integers(1, 4)))]
        lines.append(["given", *separated(draw, items)])
    lines.append(["billing", "year", draw(years)])
    for _ in range(draw(st.integers(1, 3))):
        who = ["for", draw(strings)] if draw(st.booleans()) else []
        items = [draw(expect_items) for _ in range(draw(st.integers(1, 4)))]
        lines.append(["expect", *who, *separated(draw, items)])
    return lines


@st.composite
def properties(draw: Draw) -> list[Line]:
    if not hasattr(ast, "PropertyDecl"):
        return [["input", draw(names), ":", "date"]]
    charge = draw(names)
    words = draw(st.sampled_from([
        [charge, "never", "decreases", "as", draw(names), "grows"],
        [charge, "never", "increases", "as", draw(names), "grows"],
        [charge, "is", "between", draw(numbers()), "and", draw(numbers())],
        ["exceptions", "only", "lower", charge],
        ["shares", "of", charge, "add", "up", "to", "the", "pool"],
    ]))
    brk = [BR] if draw(st.booleans()) else []
    return [["property", draw(names), *label(draw), ":", *brk, *words]]


@st.composite
def headers(draw: Draw) -> list[Line]:
    items = [["source", draw(strings)] for _ in range(draw(st.integers(0, 2)))]
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), ["currency", draw(names)])
    return [[draw(st.sampled_from(["tariff", "module"])), draw(names), *label(draw)], *items]


@st.composite
def tariffs(draw: Draw) -> list[list[Line]]:
    """A tariff as declarations of lines of words (``BR``: a break the grammar allows)."""
    decls = [draw(headers())] if draw(st.integers(0, 9)) else []
    return decls + draw(st.lists(declarations(), max_size=6))


_WORDLESS = {",", "(", ")", ":", "%", "/", "="}


def render(decls: list[list[Line]], shape: random.Random, spacing: random.Random) -> str:
    """A text for the declarations: ``shape`` decides line breaks, blank lines and comments
    (and the indentation of comment lines, which places a comment after a declaration),
    ``spacing`` the indentation of code and the spaces between words (which fmt ignores)."""

    def comment() -> str:
        n = shape.randrange(6)
        return "#" + "".join(shape.choice(_TEXT + '"') for _ in range(n))

    def gap() -> str:
        out = ""
        for _ in range(shape.choice([0, 0, 0, 1, 2])):
            if shape.random() < 0.5:  # a comment line: its indentation can matter
                out += shape.choice(["", "  ", "\t"]) + comment()
            else:
                out += spacing.choice(["", "  ", "\t"])
            out += spacing.choice(["", " "]) + "\n"
        return out

    def end() -> str:
        eol = (spacing.choice([" ", "  ", "\t"]) + comment()) if shape.random() < 0.2 else ""
        return eol + spacing.choice(["", "", " "]) + "\n" + gap()

    def indent() -> str:
        return spacing.choice(["", " ", "  ", "    ", "\t", "       "])

    text = gap()
    for decl in decls:
        for n, line in enumerate(decl):
            text += "" if n == 0 else indent()
            prev = ""
            for word in line:
                if word == BR:
                    if shape.random() < 0.6:
                        text += end() + indent()
                        prev = ""
                    continue
                if prev:
                    wordless = word in _WORDLESS or prev in _WORDLESS
                    text += spacing.choice(["", " ", "  "] if wordless else [" ", "  ", "\t"])
                text += word
                prev = word
            text += end()
        text += "\n" * shape.choice([0, 1, 1, 2, 3])
    if shape.random() < 0.2:
        text = text.rstrip("\n")
    if shape.random() < 0.1:
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decls=tariffs(), shape=st.integers(0, 2**32), space_a=st.integers(0, 2**32),
       space_b=st.integers(0, 2**32))
def test_random_tariffs_format_canonically(
    decls: list[list[Line]], shape: int, space_a: int, space_b: int
) -> None:
    """A random valid tariff formats idempotently, to the same AST, with the same comments;
    and two texts that differ only in spaces and indentation format to the same text."""
    text_a = render(decls, random.Random(shape), random.Random(space_a))
    text_b = render(decls, random.Random(shape), random.Random(space_b))
    out = assert_canonical(text_a)
    assert fmt(text_b) == out
