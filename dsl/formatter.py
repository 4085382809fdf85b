"""The canonical layout of a ``.tariff`` file: ``takst fmt``.

The formatter parses the text, prints every declaration again with one printer
method per AST node type, and puts the comments back where they were. It changes
only layout, never content:

* the header first, then the declarations in the order written (nothing is
  reordered, not even the clauses of a charge);
* a declaration starts in column 0, its clauses (and header lines) are indented
  two spaces, the lines of a table, a ``by`` (cases) clause and the continued
  lines of ``given`` and ``expect`` four; band, slice, category and dated lines
  two. A declaration is one block: blank lines inside it are removed; between
  declarations a run of blank lines becomes one (no blank line is added where
  there was none);
* columns are aligned: the names, labels and bounds of bands, slices and
  categories; the keys and values of cases; table keys, with numbers
  right-aligned and a two-way table's header right-aligned over its columns;
  the ``from`` of dated values; end-of-line comments on consecutive lines of one
  declaration. Columns are two spaces apart, except a table's columns of
  numbers: three, as the seed tariffs and the manual have always written them;
* one space between words; ``a + b``, ``f(a, b)``, ``x in y``, ``1/4``, ``30 %``,
  ``input n "Label": type``;
* numbers: the whole part grouped by thousands with underscores (``25000`` ->
  ``25_000``, ``1000`` -> ``1_000``), leading zeros dropped; the decimals exactly
  as written, trailing zeros included (``1.50`` stays ``1.50``: the author's
  digits; underscores among decimals are dropped). Left as written: a rounding
  step (its text is part of the AST and is shown in traces), the billing year, a
  priority, and a four-digit whole number in a condition (it may be a year:
  ``billing_year = 2023``). A number that would
  then look like Danish thousands, which the parser refuses (``0025.000``), keeps
  four whole digits (``0_025.000``);
* parentheses, quotes and the spelling of alternatives (``up to``/``to``,
  ``25 %``/``25/100``) are kept as written;
* comments are kept: a comment at the end of a line stays at the end of that
  line; a comment line stays before the line it preceded, indented like it. A
  comment between declarations stays in column 0, except an indented comment
  right after a declaration's last line (no blank line between), which stays
  with that declaration at clause indentation. Lines are never wrapped.

Safety: every printed line is lexed again and compared with the source line it
replaces; the words must be the same (numbers by value). Then the whole result
is parsed again and must give the same AST. A construct with no printer yet, or
a printer that would change a line, makes :func:`format_text` raise
:class:`FormatError` with the position, and the file is left alone. A new
construct of the language is one method in :class:`Printer` (registered in
:data:`Printer.printers`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
from lark import Token

from takst.dsl import ast
from takst.dsl.errors import SourceText, Span, TariffError, TariffSyntaxError, diagnostic
from takst.dsl.numbers import group
from takst.dsl.parser import _lark, parse, parse_file

#: What the parser refuses as a Danish thousands separator (``25.000``).
_DANISH = re.compile(r"^\d{1,3}(\.000)+$")

#: Indentation of clauses (and header, band, category, slice, dated lines).
CLAUSE = "  "
#: Indentation of table and case lines, and of continued given/expect lines.
NESTED = "    "


class FormatError(TariffError):
    """The file parses, but the formatter cannot lay it out without changing it."""

    kind = "format error"


# ------------------------------------------------------------------ the source text


def _normalise(text: str) -> str:
    """The text as the parser reads it: Unix line ends, no byte order mark, a final newline."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


@attrs.frozen
class _Gap:
    """A line without code: blank (``comment`` None) or a comment line."""

    line: int
    indent: int
    comment: str | None


class Source:
    """The tokens of a source text by position and by line, and its comments.

    The parser keeps no comments (the lexer folds them into the end-of-line
    token), so they are found here: every line that holds no token is blank or a
    comment line, and whatever follows a line's last token is its end-of-line comment.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        #: What diagnostics about this text show (the source, never the laid-out result).
        self.source = SourceText(text)
        self.tokens: list[Token] = [t for t in _lark().lex(text) if t.type != "_NL"]
        self.by_start = {(t.line, t.column): i for i, t in enumerate(self.tokens)}
        self.by_end = {(t.end_line, t.end_column): i for i, t in enumerate(self.tokens)}
        self.on_line: dict[int, list[Token]] = {}
        for t in self.tokens:
            self.on_line.setdefault(t.line or 0, []).append(t)
        #: Lines with code, in order.
        self.code_lines = sorted(self.on_line)
        self.eol: dict[int, str] = {}
        for line, toks in self.on_line.items():
            rest = self.lines[line - 1][(toks[-1].end_column or 1) - 1 :].strip()
            if rest:
                self.eol[line] = rest
        self.gaps: dict[int, _Gap] = {}
        for n, raw in enumerate(self.lines[:-1], start=1):  # the last piece follows the final \n
            if n not in self.on_line:
                stripped = raw.strip()
                indent = len(raw.expandtabs(8)) - len(raw.expandtabs(8).lstrip())
                self.gaps[n] = _Gap(n, indent, stripped or None)

    def token_at(self, span: Span) -> Token | None:
        i = self.by_start.get((span.line, span.column))
        return None if i is None else self.tokens[i]

    def before(self, span: Span) -> Token | None:
        """The token just before the one that starts ``span``."""
        i = self.by_start.get((span.line, span.column))
        return None if i is None or i == 0 else self.tokens[i - 1]

    def parens(self, span: Span) -> int:
        """How many pairs of parentheses the author wrapped directly around ``span``."""
        i = self.by_start.get((span.line, span.column))
        j = self.by_end.get((span.end_line, span.end_column))
        if i is None or j is None:
            return 0
        k = 0
        while (i - k - 1 >= 0 and j + k + 1 < len(self.tokens)
               and self.tokens[i - k - 1].value == "(" and self.tokens[j + k + 1].value == ")"):
            k += 1
        return k

    def line_has(self, line: int, value: str) -> bool:
        return any(t.value == value and t.type != "STRING" for t in self.on_line.get(line, ()))


# ------------------------------------------------------------------ small helpers


def width(text: str) -> int:
    """Columns a text takes on screen (combining accents take none)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def ljust(text: str, cols: int) -> str:
    return text + " " * (cols - width(text))


def rjust(text: str, cols: int) -> str:
    return " " * (cols - width(text)) + text


def number(value: Decimal) -> str:
    """``25000`` -> ``25_000``; ``1.50`` stays ``1.50`` (decimals as written).

    A number that would then read as Danish thousands, which the parser refuses
    (``0025.000`` -> ``25.000``), keeps four whole digits: ``0_025.000``.
    """
    text = group(value, "_")
    if _DANISH.match(text):
        whole, _, frac = text.partition(".")
        text = f"{whole.zfill(4)[0]}_{whole.zfill(4)[1:]}.{frac}"
    return text


def string(text: str) -> str:
    return f'"{text}"'


def columns(rows: Sequence[Sequence[str]], right: Sequence[bool] = (),
            sep: str = "  ", first: str | None = None) -> list[str]:
    """Rows of cells as aligned lines: each column as wide as its widest cell.

    ``right[j]``: right-align column j; ``sep`` goes between columns (``first``, if
    given, after the first one). Empty trailing cells leave no spaces behind.
    """
    ncols = max((len(r) for r in rows), default=0)
    widths = [max((width(r[j]) for r in rows if j < len(r)), default=0) for j in range(ncols)]
    out = []
    for r in rows:
        line = ""
        for j, cell in enumerate(r):
            align = rjust if j < len(right) and right[j] else ljust
            if j:
                line += first if j == 1 and first is not None else sep
            line += align(cell, widths[j])
        out.append(line.rstrip())
    return out


# ------------------------------------------------------------------ the printer

Lines = list[str]


class Printer:
    """One method per AST node type; each returns the node's lines, one per source line.

    ``printers`` maps a declaration's (or a charge clause's) type to its method,
    ``inline_printers`` an expression's or a condition's type to its method (which
    returns a part of a line). A type without a printer is refused with a
    positioned error, never dropped.
    """

    printers: ClassVar[dict[type, Callable[[Printer, Any], Lines]]] = {}
    #: Expressions and conditions: a part of a line each.
    inline_printers: ClassVar[dict[type, Callable[[Printer, Any], str]]] = {}

    def __init__(self, source: Source, file: str) -> None:
        self.src = source
        self.file = file

    # -------------------------------------------------------------- dispatch
    def node(self, node: ast.Node) -> Lines:
        method = self.printers.get(type(node))
        if method is None:
            raise FormatError(diagnostic(
                f"takst fmt cannot lay out this construct yet (no printer for "
                f"{type(node).__name__}); the file is left as it is",
                self._line_span(node.span),
                hint="format this file by hand for now; a printer is one method in "
                "dsl/formatter.py",
            ))
        return method(self, node)

    def _line_span(self, span: Span) -> Span:
        text = self.src.lines[span.line - 1] if 0 < span.line <= len(self.src.lines) else ""
        return Span(self.file, span.line, 1, span.line, max(len(text), 1) + 1, source=self.src.source)

    # -------------------------------------------------------------- leaves
    def label(self, label: str | None) -> str:
        return f" {string(label)}" if label is not None else ""

    def key(self, name: ast.Name) -> str:
        """A band, column or case key: quoted if the author quoted it."""
        tok = self.src.token_at(name.span)
        return string(name.name) if tok is not None and tok.type == "STRING" else name.name

    def step(self, step_text: str) -> str:
        return step_text  # kept as written: the AST (and the trace) keeps the text

    # -------------------------------------------------------------- expressions
    _EXPR_PREC: ClassVar[dict[str, int]] = {"+": 1, "-": 1, "*": 2, "/": 2}

    def _expr_prec(self, e: ast.Expr) -> int:
        return self._EXPR_PREC[e.op] if isinstance(e, ast.BinOp) else 3

    def expr(self, e: ast.Expr, need: bool = False, sole_arg: bool = False) -> str:
        """An expression; ``need``: parentheses are required here by precedence."""
        text = self.inline(e)
        written = self.src.parens(e.span) - (1 if sole_arg else 0)
        pairs = max(written, 1 if need else 0)
        return "(" * pairs + text + ")" * pairs

    def inline(self, node: ast.Node) -> str:
        """A part of a line (an expression or a condition), dispatched by type."""
        method = self.inline_printers.get(type(node))
        if method is None:
            raise FormatError(diagnostic(
                f"takst fmt cannot lay out this construct yet (no printer for "
                f"{type(node).__name__}); the file is left as it is",
                self._line_span(node.span), hint="format this file by hand for now"))
        return method(self, node)

    def number_(self, e: ast.Number) -> str:
        text = number(e.value)
        if e.percent:
            return f"{text} %"
        if e.currency is not None:
            text = f"{text} {e.currency}"
            if e.per is not None:
                text = f"{text} per {e.per}"
        return text

    def ref(self, e: ast.Ref) -> str:
        return e.name

    def binop(self, e: ast.BinOp) -> str:
        p = self._EXPR_PREC[e.op]
        left = self.expr(e.left, need=self._expr_prec(e.left) < p)
        right = self.expr(e.right, need=self._expr_prec(e.right) <= p)
        return f"{left} {e.op} {right}"

    def call(self, e: ast.Call) -> str:
        sole = len(e.args) == 1  # the call's own parentheses are around a sole argument
        return f"{e.name}(" + ", ".join(self.expr(a, sole_arg=sole) for a in e.args) + ")"

    # -------------------------------------------------------------- conditions
    def _cond_prec(self, c: ast.Cond) -> int:
        if isinstance(c, ast.BoolOp):
            return 1 if c.op == "or" else 2
        if isinstance(c, ast.Not):
            return 3
        return 4

    def cond(self, c: ast.Cond, need: bool = False) -> str:
        text = self.inline(c)
        pairs = max(self.src.parens(c.span), 1 if need else 0)
        return "(" * pairs + text + ")" * pairs

    def boolop(self, c: ast.BoolOp) -> str:
        p = self._cond_prec(c)
        left = self.cond(c.left, need=self._cond_prec(c.left) < p)
        right = self.cond(c.right, need=self._cond_prec(c.right) <= p)
        return f"{left} {c.op} {right}"

    def not_(self, c: ast.Not) -> str:
        return "not " + self.cond(c.operand, need=self._cond_prec(c.operand) < 3)

    def truthy(self, c: ast.Truthy) -> str:
        return self.operand(c.operand)

    def in_(self, c: ast.In) -> str:
        word = "not in" if c.negated else "in"
        return f"{self.operand(c.item)} {word} {self.operand(c.container)}"

    def compare(self, c: ast.Compare) -> str:
        return f"{self.operand(c.left)} {c.op} {self.operand(c.right)}"

    def operand(self, o: ast.Operand) -> str:
        if o.kind == "number":
            assert isinstance(o.value, Decimal)
            tok = self.src.token_at(o.span)
            if tok is not None and sum(ch.isdigit() for ch in tok.value) == 4 \
                    and "." not in tok.value:
                return str(tok.value)  # four digits: perhaps a year, left as written
            return number(o.value)
        if o.kind == "text":
            return string(str(o.value))
        if o.kind == "yes/no":
            return "yes" if o.value else "no"
        if o.kind == "date":
            return o.value.isoformat()  # type: ignore[union-attr]
        return str(o.value)

    # -------------------------------------------------------------- lists of items
    def broken(self, head_line: int, items: Sequence[tuple[int, str]], head: str,
               indent: str) -> Lines:
        """``head item, item,`` with a line break wherever the author broke the line.

        ``items``: (source line, text) of each item; ``head_line``: the line of the head.
        Continued lines are indented ``indent``.
        """
        groups: list[list[str]] = []
        line = head_line
        on_head = True
        for n, (at, text) in enumerate(items):
            if n == 0 or at > line:
                groups.append([text])
                if n == 0 and at > line:
                    on_head = False
            else:
                groups[-1].append(text)
            line = max(line, at)
        lines: Lines = [] if on_head else [head]
        for g, pieces in enumerate(groups):
            joined = ", ".join(pieces) + ("," if g < len(groups) - 1 else "")
            lines.append(f"{head} {joined}" if g == 0 and on_head else indent + joined)
        return lines

    # ================================================================ declarations
    def header(self, h: ast.Header) -> Lines:
        before = self.src.before(h.span)
        word = before.value if before is not None and before.value in ("tariff", "module") \
            else "tariff"
        out = [f"{word} {h.name}{self.label(h.title)}"]
        items: list[tuple[int, str]] = [(s.span.line, f"{CLAUSE}source {string(s.text)}")
                                        for s in h.sources]
        if h.currency is not None:
            items.append((h.currency.span.line, f"{CLAUSE}currency {h.currency.name}"))
        out += [text for _, text in sorted(items, key=lambda i: i[0])]
        return out

    def import_(self, i: ast.Import) -> Lines:
        return [f"import {string(i.target) if i.is_path else i.target}"]

    def input_type(self, t: ast.InputType) -> str:
        return f"count of {t.counted}" if t.kind == "count" else t.kind

    def input_(self, d: ast.InputDecl) -> Lines:
        if d.default is not None:  # issue 12: `default V` (and `optional` only as written)
            opt = " optional" if self.src.line_has(d.span.line, "optional") else ""
            value = self.given_value(ast.Given(d.name, d.default.kind, d.default.value,
                                               span=d.default.span))
            return [f"input {d.name}{self.label(d.label)}: {self.input_type(d.type)}{opt} "
                    f"default {value}"]
        opt = " optional" if d.optional else ""
        return [f"input {d.name}{self.label(d.label)}: {self.input_type(d.type)}{opt}"]

    def setting(self, d: ast.SettingDecl) -> Lines:
        return [f"setting {d.name}{self.label(d.label)}: {self.input_type(d.type)}"]

    def list_(self, d: ast.ListDecl) -> Lines:
        items = [(i.span.line, string(i.value)) for i in d.items]
        return self.broken(d.span.line, items, f"list {d.name}{self.label(d.label)} =", CLAUSE)

    def group_(self, d: ast.GroupDecl) -> Lines:
        items = [(m.span.line, self.key(m)) for m in d.members]
        return self.broken(d.span.line, items, f"group {d.name}{self.label(d.label)} =", CLAUSE)

    def categories(self, d: ast.CategoriesDecl) -> Lines:
        rows = [[c.name, string(c.label) if c.label is not None else ""] for c in d.items]
        return [f"categories {d.name}{self.label(d.label)}"] + [
            CLAUSE + line for line in columns(rows)]

    def _range(self, b: ast.Band) -> str:
        parts = []
        if b.lower is not None:
            parts.append(("from " if b.lower.inclusive else "above ") + self.bound(b.lower))
        if b.upper is not None:
            if b.upper.inclusive:
                tok = self.src.token_at(b.upper.span)
                word = "up to " if tok is not None and tok.value == "up" else "to "
            else:
                word = "below "
            parts.append(word + self.bound(b.upper))
        return " ".join(parts)

    def bound(self, b: ast.Bound) -> str:
        """issue 12: a bound as written: a number, or the param it is (dated bounds)."""
        return b.param.name if b.param is not None else number(b.value)

    def _named_rows(self, items: Sequence[ast.Band]) -> list[list[str]]:
        labelled = any(b.label is not None for b in items)
        rows = []
        for b in items:
            row = [b.name]
            if labelled:
                row.append(string(b.label) if b.label is not None else "")
            row.append(self._range(b))
            rows.append(row)
        return rows

    def bands(self, d: ast.BandsDecl) -> Lines:
        head = f"bands {d.name}{self.label(d.label)} by {d.subject.name}"
        return [head] + [CLAUSE + line for line in columns(self._named_rows(d.bands))]

    def slices(self, d: ast.SlicesDecl) -> Lines:
        word = "slices" if d.rule == "graduated" else "volume"
        head = f"{word} {d.name}{self.label(d.label)} by {d.subject.name}"
        rows = self._named_rows(d.slices)
        for row, s in zip(rows, d.slices, strict=True):
            if s.rate is None:  # issue 12: a flat amount only
                assert s.flat is not None
                row.append("flat " + self.expr(s.flat))
            elif s.flat is not None:  # issue 12: a rate plus a flat amount
                row.append("at " + self.expr(s.rate) + " plus " + self.expr(s.flat))
            else:
                row.append("at " + self.expr(s.rate))
        return [head] + [CLAUSE + line for line in columns(rows)]

    def cases(self, c: ast.Cases, head: str) -> Lines:
        rows = []
        for case in c.cases:
            if case.pending:
                value = "pending"
            elif case.value is None:
                value = "not offered"
            else:
                value = self.expr(case.value)
            if case.reason is not None:  # issue 12: reasons on cases
                value += f" {string(case.reason)}"
            rows.append([self.key(case.key), value])
        return [head] + [NESTED + line for line in columns(rows)]

    def param(self, d: ast.ParamDecl) -> Lines:
        head = f"param {d.name}{self.label(d.label)} ="
        if d.pending:
            return [f"{head} pending" + (f" {string(d.note)}" if d.note is not None else "")]
        if d.dated:
            rows = [["not decided" if v.pending else self.expr(v.value),
                     f"from {v.start.isoformat()}"
                     + (f" {string(v.note)}" if v.pending and v.note is not None else "")]
                    for v in d.dated]
            rule = [CLAUSE + self.dated_rule(d.rule)] if d.rule is not None else []
            return [head] + [CLAUSE + line for line in columns(rows, sep=" ")] + rule
        if d.adjustment is not None:  # issue 12: indexation
            a = d.adjustment
            out = [f"{head} {self.expr(d.value)}",
                   f"{CLAUSE}adjusted by {self.expr(a.rate)} every year from {a.base_year}"]
            if a.rounding is not None:
                out += [CLAUSE + line for line in self.rounding(a.rounding)]
            return out
        if isinstance(d.value, ast.Cases):
            return self.cases(d.value, f"{head} by {d.value.dim.name}")
        return [f"{head} {self.expr(d.value)}"]

    #: issue 12: the rule line of a dated param, by its kind.
    DATED_RULE_WORDS: ClassVar[dict[str, str]] = {
        "january": "in force on 1 January",
        "period": "in force at the start of each period",
        "days": "weighted by days",
    }

    def dated_rule(self, r: ast.DatedRule) -> str:
        return self.DATED_RULE_WORDS[r.kind]

    def formula(self, d: ast.FormulaDecl) -> Lines:
        params = ", ".join(p.name for p in d.params)
        return [f"formula {d.name}({params}) = {self.expr(d.body)}"]

    def aggregate(self, d: ast.AggregateDecl) -> Lines:
        among = f" among {self.cond(d.among)}" if d.among is not None else ""
        return [f"aggregate {d.name}{self.label(d.label)} = {d.kind} of {d.of.name}{among}"]

    def pool(self, d: ast.PoolDecl) -> Lines:
        out = [f"pool {d.name}{self.label(d.label)} = {self.expr(d.total)}"]
        if d.total_rounding is not None:  # issue 12
            r = d.total_rounding
            out.append(f"{CLAUSE}total rounded to {self.step(r.step_text)} {r.mode}")
        among = f" among {self.cond(d.among)}" if d.among is not None else ""
        if d.equal is not None and d.keyed is not None:  # issue 12: a mixed key
            eq, kd = self._pool_parts(d.key.span.line, d.equal, d.keyed)
            out.append(f"{CLAUSE}shared {eq} equally and {kd} by {d.key.name}{among}")
        else:
            out.append(f"{CLAUSE}shared by {d.key.name}{among}")
        if d.step_text is not None:
            out.append(f"{CLAUSE}rounded to {self.step(d.step_text)} by largest_remainder")
        return out

    def _pool_parts(self, line: int, *parts: ast.PoolPart) -> list[str]:
        """The parts of a mixed pool key as written on their line: ``30 %`` or ``3/10``
        (what follows each part's number tells which)."""
        toks = [t.value for t in self.src.on_line.get(line, [])]
        at = toks.index("shared") + 1 if "shared" in toks else 0
        out = []
        for part in parts:
            percent = at + 1 < len(toks) and toks[at + 1] == "%"
            out.append(f"{number(part.numerator)} %" if percent
                       else f"{number(part.numerator)}/{number(part.denominator)}")
            at += 2 if percent else 3  # the part
            at += 2  # `equally and`
        return out

    def _fraction(self, line: int, numerator: Decimal, denominator: Decimal) -> str:
        if denominator == 100 and self.src.line_has(line, "%"):
            return f"{number(numerator)} %"
        return f"{number(numerator)}/{number(denominator)}"

    def proration(self, d: ast.ProrationDecl) -> Lines:
        head = f"proration {d.name}{self.label(d.label)} ="
        if d.period is not None:
            return [f"{head} by {d.period}"]
        return [f"{head} {self._fraction(d.span.line, d.numerator, d.denominator)}"]

    def rounding_decl(self, d: ast.RoundingDecl) -> Lines:
        return [f"rounding {d.name}{self.label(d.label)} = to {self.step(d.step_text)} {d.mode}"]

    def vat_decl(self, d: ast.VatDecl) -> Lines:
        """issue 12: ``vat NAME "Label" = RATE`` (or ``= by DIM`` and cases), then its rounding."""
        head = f"vat {d.name}{self.label(d.label)} ="
        if isinstance(d.rate, ast.Cases):
            out = self.cases(d.rate, f"{head} by {d.rate.dim.name}")
        else:
            out = [f"{head} {self.expr(d.rate)}"]
        if d.rounding is not None:
            out += [CLAUSE + line for line in self.rounding(d.rounding)]
        return out

    def vat_exempt(self, e: ast.VatExempt) -> Lines:
        return ["exempt from vat" + (f" {string(e.reason)}" if e.reason is not None else "")]

    def frequency(self, f: ast.Frequency) -> str:
        if f.kind == "once":
            assert f.anchor is not None
            return f"once when {f.anchor.name}"
        every = f"every {f.period}"  # issue 12: every month, quarter, half year or year
        return every + (f" from {f.anchor.name}" if f.anchor is not None else "")

    #: ChargeDecl fields that repeat another field (the first body, the first rounding).
    _CHARGE_REPEATS: ClassVar[frozenset[str]] = frozenset({"body", "rounding", "frequency",
                                                           "vat_exempt"})

    def charge(self, d: ast.ChargeDecl) -> Lines:
        word = "pending" if d.pending else "charge"
        out = [f"{word} {d.name}{self.label(d.label)} {self.frequency(d.frequency)}"]
        clauses = [c for c in _nodes_of(d, skip=self._CHARGE_REPEATS)]
        for clause in sorted(clauses, key=_position):
            out += self.clause(clause)
        return out

    def clause(self, c: ast.Node) -> Lines:
        """A clause of a charge: dispatched by type like a declaration."""
        if isinstance(c, ast.Cases):
            return [CLAUSE + line if i == 0 else line
                    for i, line in enumerate(self.cases(c, f"by {c.dim.name}"))]
        if isinstance(c, ast.Expr):
            return [f"{CLAUSE}amount {self.expr(c)}"]
        if isinstance(c, ast.Cond):  # issue 12: a pending charge's `for CONDITION`
            return [f"{CLAUSE}for {self.cond(c)}"]
        return [CLAUSE + line if i == 0 else line for i, line in enumerate(self.node(c))]

    def table(self, t: ast.Table) -> Lines:
        out = [f"table by {', '.join(d.name for d in t.dims)}"]
        rows: list[list[str]] = []
        if t.columns:
            rows.append(["", *(self.key(c) for c in t.columns)])
        lead = max(len(t.dims) - 1, 1)
        if len(t.dims) > 2:  # issue 12: a table of three or more dimensions
            if rows:
                rows[0] = [""] * lead + rows[0][1:]
            for r in t.rows:
                rows.append([self.key(r.key), *(self.key(k) for k in r.more_keys),
                             *(number(c.value) for c in r.cells)])
            ncols = max((len(r) for r in rows), default=1)
            lines = columns(rows, [False] * lead + [True] * ncols, sep="   ")
            return out + [NESTED + line for line in lines]
        for r in t.rows:
            rows.append([self.key(r.key), *(number(c.value) for c in r.cells)])
        ncols = max((len(r) for r in rows), default=1)
        lines = columns(rows, [False] + [True] * ncols, sep="   ", first="  ")
        return out + [NESTED + line for line in lines]

    def prorate(self, p: ast.Prorate) -> Lines:
        reason = f" {string(p.reason)}" if p.reason is not None else ""
        if p.policy is not None:
            if p.condition is not None:
                use = f"when {self.cond(p.condition)}"
            else:
                assert p.anchor is not None
                use = f"from {p.anchor.name}"
            return [f"prorate with {p.policy.name} {use}{reason}"]
        if p.period is not None:
            assert p.anchor is not None
            return [f"prorate by {p.period} from {p.anchor.name}{reason}"]
        if p.start is not None and p.end is not None:  # issue 12: between two dates
            fraction = self._fraction(p.span.line, p.numerator, p.denominator)
            return [f"prorate {fraction} from {p.start.isoformat()} to {p.end.isoformat()}"
                    f"{reason}"]
        assert p.condition is not None
        fraction = self._fraction(p.span.line, p.numerator, p.denominator)
        return [f"prorate {fraction} when {self.cond(p.condition)}{reason}"]

    def exception(self, e: ast.ExceptionRule) -> Lines:
        reason = f" {string(e.reason)}" if e.reason is not None else ""
        priority = f" priority {e.priority}" if e.priority is not None else ""
        return [f"except {self.cond(e.condition)} -> {self.expr(e.result)}{reason}{priority}"]

    def rounding(self, r: ast.Rounding) -> Lines:
        if r.policy is not None:
            return [f"round with {r.policy.name}"]
        return [f"round to {self.step(r.step_text)} {r.mode}"]

    def note(self, n: ast.Note) -> Lines:
        return [f"note {string(n.text)}"]

    # issue 12: minimum and maximum amounts, min/max, per started block, round(...)
    def limit(self, lim: ast.Limit) -> Lines:
        place = f" {lim.place}" if lim.place is not None else ""
        reason = f" {string(lim.reason)}" if lim.reason is not None else ""
        return [f"{lim.kind} {self.expr(lim.value)}{place}{reason}"]

    def extreme(self, e: ast.Extreme) -> str:
        sole = len(e.args) == 1
        return f"{e.op}(" + ", ".join(self.expr(a, sole_arg=sole) for a in e.args) + ")"

    def per_started(self, e: ast.PerStarted) -> str:
        before = self.src.before(e.quantity.span)
        # the name form has no ``of``; a quantity in parentheses is the ``of`` form
        if isinstance(e.quantity, ast.Ref) and (before is None or before.value not in ("of", "(")):
            return f"{self.expr(e.price)} per started {number(e.block)} {e.quantity.name}"
        return f"{self.expr(e.price)} per started {number(e.block)} of {self.expr(e.quantity)}"

    def round_expr(self, e: ast.RoundExpr) -> str:
        value = self.expr(e.value)
        if e.policy is not None:
            return f"round({value} with {e.policy.name})"
        unit = f" {e.currency}" if e.currency is not None else ""
        step = number(e.step) if e.currency is not None else self.step(e.step_text)
        return f"round({value} to {step}{unit} {e.mode})"

    def given_value(self, g: ast.Given) -> str:
        if g.kind == "number":
            assert isinstance(g.value, Decimal)
            return number(g.value)
        if g.kind == "text":
            return string(str(g.value))
        if g.kind == "yes/no":
            return "yes" if g.value else "no"
        return g.value.isoformat()  # type: ignore[union-attr]

    def expect_item(self, e: ast.Expect) -> str:
        amount = "pending" if e.amount is None else number(e.amount)
        if e.kind == "total":
            return f"total {amount}"
        if e.kind in ("pool", "rate", "vat"):
            return f"{e.kind} {e.charge} {amount}"
        if e.kind == "vat_total":  # issue 12
            return f"vat total {amount}"
        return f"{e.charge} {amount}"

    def example(self, x: ast.Example) -> Lines:
        out = [f"example {string(x.title)}"]
        if x.register is not None:
            out.append(f"{CLAUSE}register {string(x.register)}")
        if x.given:
            items = [(g.span.line, f"{g.name} {self.given_value(g)}") for g in x.given]
            out += self.broken(x.given[0].span.line, items, f"{CLAUSE}given", NESTED)
        out.append(f"{CLAUSE}billing year {x.year}")
        statements: list[list[ast.Expect]] = []
        for e in x.expects:
            before = self.src.before(e.span)
            if statements and before is not None and before.value == ",":
                statements[-1].append(e)
            else:
                statements.append([e])
        for stmt in statements:
            head = f"{CLAUSE}expect"
            if stmt[0].customer is not None:
                head += f" for {string(stmt[0].customer)}"
            items = [(e.span.line, self.expect_item(e)) for e in stmt]
            out += self.broken(stmt[0].span.line, items, head, NESTED)
        return out

    def property_(self, p: ast.PropertyDecl) -> Lines:
        """``property NAME "label": words``: the words as written (a sentence), numbers
        canonical, on the same line or the next as the author put them."""
        start = self.src.by_start[(p.span.line, p.span.column)]
        toks = self.src.tokens
        i = start
        while toks[i].value != ":":
            i += 1
        words = []
        j = i + 1
        line = (toks[j].line or 0) if j < len(toks) else p.span.line
        while j < len(toks) and toks[j].line == line:
            t = toks[j]
            words.append(number(Decimal(t.value.replace("_", ""))) if t.type == "NUMBER"
                         else str(t.value))
            j += 1
        head = f"property {p.name}{self.label(p.label)}:"
        sentence = " ".join(words)
        if line > p.span.line:
            return [head, CLAUSE + sentence]
        return [f"{head} {sentence}"]


def _position(node: ast.Node) -> tuple[int, int]:
    return (node.span.line, node.span.column)


def _nodes_of(obj: Any, skip: frozenset[str] = frozenset()) -> Iterator[ast.Node]:
    """The nodes in ``obj``'s fields (a node, or a tuple of nodes), field by field."""
    for f in attrs.fields(type(obj)):
        if f.name in skip or f.name == "span":
            continue
        value = getattr(obj, f.name)
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, ast.Node))


Printer.printers.update({
    ast.Header: Printer.header,
    ast.Import: Printer.import_,
    ast.InputDecl: Printer.input_,
    ast.SettingDecl: Printer.setting,
    ast.ListDecl: Printer.list_,
    ast.GroupDecl: Printer.group_,
    ast.CategoriesDecl: Printer.categories,
    ast.BandsDecl: Printer.bands,
    ast.SlicesDecl: Printer.slices,
    ast.ParamDecl: Printer.param,
    ast.FormulaDecl: Printer.formula,
    ast.AggregateDecl: Printer.aggregate,
    ast.PoolDecl: Printer.pool,
    ast.ProrationDecl: Printer.proration,
    ast.RoundingDecl: Printer.rounding_decl,
    ast.VatDecl: Printer.vat_decl,  # issue 12
    ast.VatExempt: Printer.vat_exempt,  # issue 12
    ast.ChargeDecl: Printer.charge,
    ast.Example: Printer.example,
    # the clauses of a charge
    ast.Table: Printer.table,
    ast.Prorate: Printer.prorate,
    ast.ExceptionRule: Printer.exception,
    ast.Rounding: Printer.rounding,
    ast.Note: Printer.note,
    ast.Limit: Printer.limit,  # issue 12
    ast.PropertyDecl: Printer.property_,
})
Printer.inline_printers.update({
    ast.Number: Printer.number_,
    ast.Ref: Printer.ref,
    ast.BinOp: Printer.binop,
    ast.Call: Printer.call,
    ast.Extreme: Printer.extreme,  # issue 12
    ast.PerStarted: Printer.per_started,
    ast.RoundExpr: Printer.round_expr,
    ast.BoolOp: Printer.boolop,
    ast.Not: Printer.not_,
    ast.Truthy: Printer.truthy,
    ast.In: Printer.in_,
    ast.Compare: Printer.compare,
})


# ------------------------------------------------------------------ the whole file


@attrs.frozen
class _Out:
    """One line of the result: code (with its source line and end-of-line comment) or not."""

    text: str
    comment: str | None = None
    decl: int | None = None  # which declaration a code line belongs to


def format_text(text: str, file: str = "<text>") -> str:
    """The canonical layout of a tariff text. Raises :class:`TariffSyntaxError` if it
    does not parse, :class:`FormatError` if it cannot be laid out without a change."""
    text = _normalise(text)
    tariff = parse(text, file)
    src = Source(text)
    printer = Printer(src, file)
    decls = tariff.declarations  # in the order written
    code: list[tuple[str, int]] = []  # (line, declaration index)
    for k, decl in enumerate(decls):
        code.extend((line, k) for line in printer.node(decl))
    _verify(code, src, file)
    out = _assemble(code, src)
    _reads_back(out, tariff, text, file)
    return out


def _reads_back(out: str, tariff: ast.Tariff, text: str, file: str) -> None:
    """The laid-out text must parse to the same AST; else refuse (a bug in this module)."""
    problem = None
    try:
        if parse(out, file) != tariff:
            problem = "it would parse to a different tariff"
    except TariffSyntaxError as e:
        problem = f"it would not parse ({e.diagnostics[0].message})"
    if problem:
        raise FormatError(diagnostic(
            f"takst fmt cannot lay out {file}: {problem}; the file is left as it is",
            hint="this is a bug in takst fmt; please report it with the file"))


def _lex_line(text: str) -> list[Token]:
    return [t for t in _lark().lex(text) if t.type != "_NL"]


def _same(a: Token, b: Token) -> bool:
    if a.type == "NUMBER" and b.type == "NUMBER":
        return Decimal(a.value.replace("_", "")) == Decimal(b.value.replace("_", ""))
    return a.type == b.type and a.value == b.value


def _verify(code: list[tuple[str, int]], src: Source, file: str) -> None:
    """Each printed line has the words of the source line it stands for, or refuse."""
    for n, (line, _) in enumerate(code):
        if n >= len(src.code_lines):
            last = src.code_lines[-1] if src.code_lines else 1
            raise _changed(src, file, last, f"an extra line {line.strip()!r}")
        at = src.code_lines[n]
        try:
            printed = _lex_line(line)
        except Exception:
            printed = []
        written = src.on_line[at]
        if len(printed) != len(written) or not all(map(_same, printed, written)):
            raise _changed(src, file, at, repr(line.strip()))
    if len(code) < len(src.code_lines):
        raise _changed(src, file, src.code_lines[len(code)], "nothing")


def _changed(src: Source, file: str, line: int, printed: str) -> FormatError:
    width_ = max(len(src.lines[line - 1]), 1) if 0 < line <= len(src.lines) else 1
    return FormatError(diagnostic(
        f"takst fmt would change what this line says (it printed {printed}); "
        "the file is left as it is",
        Span(file, line, 1, line, width_ + 1, source=src.source),
        hint="a construct the formatter does not know yet; please report it, and format "
        "this file by hand for now",
    ))


def _assemble(code: list[tuple[str, int]], src: Source) -> str:
    out: list[_Out] = []
    prev_line = 0
    prev_decl: int | None = None
    for (text, decl), line in zip(code, src.code_lines, strict=True):
        gaps = [src.gaps[n] for n in range(prev_line + 1, line) if n in src.gaps]
        indent = text[: len(text) - len(text.lstrip(" "))]
        if decl == prev_decl:  # inside a declaration: comments indented like the next line
            out += [_Out(indent + g.comment) for g in gaps if g.comment]
        else:
            out += _between(gaps, prev_decl is not None)
        out.append(_Out(text, src.eol.get(line), decl))
        prev_line, prev_decl = line, decl
    tail = [src.gaps[n] for n in range(prev_line + 1, len(src.lines)) if n in src.gaps]
    out += _between(tail, prev_decl is not None)
    while out and not out[-1].text and out[-1].comment is None:
        out.pop()
    return "".join(line + "\n" for line in _with_comments(out))


def _between(gaps: list[_Gap], after_decl: bool) -> list[_Out]:
    """The lines between two declarations: comments, and at most one blank line in a row."""
    out: list[_Out] = []
    i = 0
    if after_decl:  # indented comments right after a declaration stay with it
        while i < len(gaps) and gaps[i].comment and gaps[i].indent > 0:
            out.append(_Out(CLAUSE + str(gaps[i].comment)))
            i += 1
    for g in gaps[i:]:
        if g.comment:
            out.append(_Out(g.comment))
        elif (out and out[-1].text) or (not out and after_decl):
            out.append(_Out(""))
    return out


def _with_comments(out: list[_Out]) -> list[str]:
    """The lines, with end-of-line comments aligned on consecutive lines of one declaration."""
    lines: list[str] = []
    i = 0
    while i < len(out):
        if out[i].comment is None:
            lines.append(out[i].text)
            i += 1
            continue
        j = i
        while j < len(out) and out[j].comment is not None and out[j].decl == out[i].decl:
            j += 1
        col = max(width(o.text) for o in out[i:j]) + 2
        lines += [ljust(o.text, col) + str(o.comment) for o in out[i:j]]
        i = j
    return lines


# ------------------------------------------------------------------ files


@attrs.frozen
class Formatted:
    path: Path
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def format_file(path: str | Path, display: str | None = None) -> Formatted:
    """Read and lay out a file (nothing is written). Raises like :func:`format_text`."""
    path = Path(path)
    name = display if display is not None else str(path)
    try:
        raw = path.read_bytes()
        before = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        parse_file(path, name)  # raises the positioned diagnostic for an unreadable file
        raise
    return Formatted(path, before, format_text(before, name))
