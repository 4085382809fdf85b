"""Text -> AST. Lark parses the grammar in ``tariff.lark``; :class:`_Builder` maps
each rule to a frozen AST node with its span. Lark's exceptions never leave this
module: they become :class:`TariffSyntaxError` with plain-words messages.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, SourceText, Span, TariffSyntaxError, diagnostic
from takst.dsl.files import MAX_FILE_SIZE, read_tariff_text, too_large
from takst.dsl.grammar import parser
from takst.dsl.numbers import group

#: Words for the grammar's named terminals (never show a terminal name to an author).
_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a text in double quotes ("...")',
    "DATE": "a date (YYYY-MM-DD)",
    "_NL": "the end of the line",
    "YES": '"yes"',
    "NO": '"no"',
    "$END": "the end of the file",
    "EVERY_PERIOD": '"every month", "every quarter"',  # issue 12: one token each
}

#: How deep expressions and conditions may nest: levels of parentheses (a formula's
#: arguments included) and of ``not``.
MAX_DEPTH = 100
#: How long a calculation or condition may be: terms and operators in a row (e.g. the
#: terms of one sum). With MAX_DEPTH it bounds the depth of the tree, so every later
#: stage (checker, evaluator, formatter) recurses a bounded number of levels.
MAX_TERMS = 250
#: How many digits a number literal may have.
MAX_DIGITS = 30

#: Words that start a top-level declaration (used for error recovery and hints).
TOP_LEVEL = (
    "tariff", "module", "import", "input", "setting", "list", "categories", "group", "bands",
    "slices", "volume", "param", "formula", "aggregate", "pool", "proration", "rounding", "charge",
    "pending", "example", "property", "vat",
)

_DANISH_THOUSANDS = re.compile(r"^\d{1,3}(\.000)+$")


#: The LALR parser of ``tariff.lark`` (built once per grammar, cached on disk: see grammar.py).
_lark = parser


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    for term in _lark().terminals:
        if term.name == name:
            pattern = term.pattern
            if isinstance(pattern, lark.lexer.PatternStr):
                return f'"{pattern.value}"'
            break
    return name.lower()


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    if token.type == "_NL":
        return "the end of the line"
    if token.type == "NAME":
        return f'word "{token.value}"'
    if token.type == "NUMBER":
        return f"number {token.value}"
    if token.type == "DATE":
        return f"date {token.value}"
    if token.type == "STRING":
        return f"text {token.value}"
    return f'"{token.value}"'


def _expected_words(expected: set[str]) -> str:
    if "EVERY" in expected:  # issue 12: `every month` is a token of its own; "every" says it
        expected = expected - {"EVERY_PERIOD"}
    words = sorted({_describe_terminal(e) for e in expected if not e.startswith("__IGNORE")})
    if len(words) > 8:
        words = [*words[:8], "..."]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _hint_for(token_value: str, expected: set[str], line_text: str, column: int = 0) -> str | None:
    first = line_text.strip().split(" ", 1)[0] if line_text.strip() else ""
    if (
        token_value in (",", ";")
        and 1 < column < len(line_text)
        and line_text[column - 2].isdigit()
        and line_text[column].isdigit()
    ):
        return "write decimals with a point, not a comma: 2.50, not 2,50"
    if "NAME" in expected and re.fullmatch(r"[^\W\d]\w*", token_value or "-"):
        return (f'"{token_value}" is a word of the tariff language and cannot be a name here; '
                f"choose another name, e.g. {token_value}_")
    keywords = [w.strip('"') for w in map(_describe_terminal, expected) if w.startswith('"')]
    import difflib  # only for a hint: not imported by every process

    close = difflib.get_close_matches(token_value, keywords, n=1, cutoff=0.8)  # float-ok: likeness
    if close and token_value not in keywords:
        return f"did you mean {close[0]}?"
    if "COLON" in expected and first == "input":
        return ("an input is written with a colon before its type, e.g.  "
                'input population "Indbyggere": inhabitants')

    if "INHABITANTS" in expected:
        return "an input's type is one of: inhabitants, yes/no, date, text, number, money, " \
            "count of THINGS"
    if expected >= {"HALF", "YEAR"} and len(expected) == 2:  # issue 12: after `every`
        return "say how often: every year, every half year, every quarter or every month"
    if "EVERY" in expected and "ONCE" in expected:
        return "say how often the charge is made: every year, every year from joined, " \
            "or once when joined"
    if token_value and _DANISH_THOUSANDS.match(token_value):
        return f"write thousands with an underscore ({token_value.replace('.', '_')}) or not at all"
    if "_NL" in expected and len(expected) <= 3:
        return "this line has something extra at its end; one clause goes on each line"
    if first and first not in TOP_LEVEL and line_text[:1] not in (" ", "\t") and "_NL" in expected:
        return "a declaration starts with one of: " + ", ".join(TOP_LEVEL)
    if expected == {"STRING"}:
        return 'put text in double quotes, e.g. "Lille"'
    if "NUMBER" in expected and token_value.replace(".", "").replace(",", "").isdigit():
        return "write numbers with a decimal point and underscores only, e.g. 25_000 or 1.50"
    return None


def _syntax_diagnostic(
    err: UnexpectedInput, file: str, text: str, source: SourceText
) -> Diagnostic:
    line = getattr(err, "line", 1) or 1
    column = getattr(err, "column", 1) or 1
    lines = text.split("\n")  # as Lark counts lines: only \n ends one
    if lines and lines[-1] == "":
        lines.pop()  # the text ends with a newline: no line after it
    line_text = lines[line - 1] if 0 < line <= len(lines) else ""
    if isinstance(err, UnexpectedCharacters):
        char = line_text[column - 1] if 0 < column <= len(line_text) else "\n"
        span = Span(file, line, column, line, column + 1, source=source)
        if char == '"':
            return diagnostic(
                "this text has no closing double quote",
                span,
                hint='end the text on the same line with "',
            )
        if char == "." and re.search(r"\d\.\d{3}$", line_text[: column - 1]):
            return diagnostic(
                "a number with more than one point",
                span,
                hint="write thousands with an underscore (1_000_000), decimals with one point",
            )
        if char in ",;" and re.match(r"\d", line_text[column : column + 1]):
            return diagnostic(
                f"{char!r} inside a number is not understood",
                span,
                hint="write decimals with a point and thousands with an underscore: 1.50, 25_000",
            )
        return diagnostic(
            f"the character {char!r} is not part of the tariff language here",
            span,
            hint="remove it, or put it inside a text in double quotes",
        )
    if isinstance(err, UnexpectedToken):
        token = err.token
        # `accepts` simulates the parser, so LALR's merged states do not leak into the list
        expected = set(err.accepts or err.expected)
        if token.type == "$END":
            last = len(lines) or 1
            span = Span(file, last, 1, last, 1, source=source)
            return diagnostic(
                f"the file ends too early; expected {_expected_words(expected)}",
                span,
                hint="finish the last declaration",
            )
        width = max(len(str(token.value).split("\n")[0]), 1)
        span = Span(file, line, column, line, column + width, source=source)
        if token.type == "_NL":
            message = f"the line ends too early; expected {_expected_words(expected)}"
        else:
            message = f"unexpected {_describe_token(token)}; expected {_expected_words(expected)}"
        return diagnostic(
            message, span, hint=_hint_for(str(token.value), expected, line_text, column)
        )
    if isinstance(err, UnexpectedEOF):
        last = len(lines) or 1
        return diagnostic("the file ends too early", Span(file, last, 1, last, 1, source=source))
    return diagnostic(str(err).splitlines()[0], Span(file, line, column, line, column + 1, source=source))


def _blank_block(text: str, line: int) -> str:
    """Blank out the top-level declaration that contains ``line`` (1-based), keep line numbers."""
    lines = text.split("\n")
    start = line - 1
    while start > 0 and not _is_top_level(lines[start]):
        start -= 1
    end = line
    while end < len(lines) and not _is_top_level(lines[end]):
        end += 1
    for i in range(start, min(end, len(lines))):
        lines[i] = ""
    return "\n".join(lines)


def _is_top_level(line: str) -> bool:
    if not line or line[0] in " \t#":
        return False
    return line.split(" ", 1)[0] in TOP_LEVEL


def parse(text: str, file: str = "<text>") -> ast.Tariff:
    """Parse a tariff text. Raises :class:`TariffSyntaxError` with every syntax error found."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_FILE_SIZE:
        raise TariffSyntaxError(too_large(file, f"{group(len(text))} characters"))
    source = SourceText(text)  # every span of this parse shows its lines from here
    _check_parentheses(text, file, source)
    if not text.endswith("\n"):
        text += "\n"
    diags: list[Diagnostic] = []
    attempt = text
    tree = None
    for _ in range(50):  # one syntax error per declaration, at most 50
        try:
            tree = _lark().parse(attempt)
            break
        except UnexpectedInput as err:
            diag = _syntax_diagnostic(err, file, text, source)
            if diags and diag.span is not None and diags[-1].span == diag.span:
                break
            diags.append(diag)
            line = diag.span.line if diag.span else 1
            blanked = _blank_block(attempt, line)
            if blanked == attempt:
                break
            attempt = blanked
    if diags:
        raise TariffSyntaxError(diags)
    assert tree is not None
    _check_depth(tree, file, source)
    builder = _Builder(file, source)
    tariff = builder.transform(tree)
    if builder.problems:
        raise TariffSyntaxError(builder.problems)
    assert isinstance(tariff, ast.Tariff)
    return tariff


def _too_deep(file: str, line: int, col: int, source: SourceText) -> TariffSyntaxError:
    return TariffSyntaxError(diagnostic(
        f"this calculation or condition is too deeply nested (more than {MAX_DEPTH} levels)",
        Span(file, line, col, line, col + 1, source=source),
        hint="split the calculation or condition into named params",
    ))


#: What the parenthesis scan looks at: texts and comments (skipped), parentheses, line ends.
_PARENS = re.compile(r'"[^"\n]*"|#[^\n]*|[()\n]')


def _check_parentheses(text: str, file: str, source: SourceText) -> None:
    """Refuse parentheses nested more than MAX_DEPTH deep, before the parser sees them
    (a linear scan: 100 000 nested pairs are refused at once)."""
    depth = 0
    line, line_start = 1, 0
    for m in _PARENS.finditer(text):
        token = m.group()
        if token == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(file, line, m.start() - line_start + 1, source)
        elif token == ")":
            depth = max(depth - 1, 0)
        elif token == "\n":
            line, line_start = line + 1, m.end()


def _check_depth(tree: lark.Tree[Token], file: str, source: SourceText) -> None:
    """Refuse absurdly nested or long calculations before any recursive stage sees them:
    more than MAX_DEPTH ``not`` in a row, or a tree more than MAX_TERMS deep (terms and
    operators in a row). Parentheses add no node; :func:`_check_parentheses` counts them."""
    stack: list[tuple[lark.Tree[Token], int, int]] = [(tree, 0, 0)]
    while stack:
        node, length, nesting = stack.pop()
        if node.data == "not_":
            nesting += 1
        if nesting > MAX_DEPTH or length > MAX_TERMS:
            meta = node.meta
            line = getattr(meta, "line", 1)
            col = getattr(meta, "column", 1)
            if nesting > MAX_DEPTH:
                raise _too_deep(file, line, col, source)
            raise TariffSyntaxError(diagnostic(
                f"this calculation or condition is too long (more than about {MAX_TERMS} terms)",
                Span(file, line, col, line, col + 1, source=source),
                hint="split it into named params, e.g. one param per subtotal",
            ))
        stack.extend((c, length + 1, nesting) for c in node.children if isinstance(c, lark.Tree))


def parse_file(path: str | Path, display: str | None = None) -> ast.Tariff:
    """Read and parse a ``.tariff`` file. ``display`` is the name shown in diagnostics."""
    path = Path(path)
    name = display if display is not None else str(path)
    return parse(read_tariff_text(path, name), name)


# --------------------------------------------------------------------------- builder

Children = list[Any]


def _text(token: Token) -> str:
    return str(token)[1:-1]


@v_args(meta=True)
class _Builder(Transformer[Token, Any]):
    """Maps each grammar rule to an AST node. Structure only, no evaluation."""

    def __init__(self, file: str, source: SourceText | None = None) -> None:
        super().__init__()
        self.file = file
        self._source = source
        self.problems: list[Diagnostic] = []

    # ----------------------------------------------------------------- helpers
    def _span(self, meta: Meta) -> Span:
        if meta.empty:
            return Span(self.file, 1, 1, 1, 1, source=self._source)
        end_line, end_column = meta.end_line, meta.end_column
        if end_column == 1 and end_line > meta.line:  # ends on the newline: stop at the line end
            end_line -= 1
            end_column = 10_000
        return Span(self.file, meta.line, meta.column, end_line, end_column, source=self._source)

    def _tspan(self, token: Token) -> Span:
        line = token.line or 1
        col = token.column or 1
        return Span(self.file, line, col, token.end_line or line, token.end_column or col + 1,
                    source=self._source)

    def _number(self, token: Token) -> Decimal:
        raw = str(token)
        digits = sum(ch.isdigit() for ch in raw)
        if digits > MAX_DIGITS:
            self.problems.append(
                diagnostic(
                    f"this number has {digits} digits; takst reads numbers of at most "
                    f"{MAX_DIGITS} digits",
                    self._tspan(token),
                    hint="check the number; no price or count is that long",
                )
            )
            return Decimal(0)
        if _DANISH_THOUSANDS.match(raw):
            self.problems.append(
                diagnostic(
                    f"{raw} reads as the decimal number {raw.split('.')[0]}, "
                    "but looks like a thousands separator",
                    self._tspan(token),
                    hint=f"write {raw.replace('.', '_')} for {raw.replace('.', ' ')}, "
                    f"or {raw.split('.')[0]} if that is meant",
                )
            )
        if raw.endswith("_") or "__" in raw or "_." in raw or "._" in raw:
            self.problems.append(
                diagnostic(
                    f"{raw} has an underscore in a strange place",
                    self._tspan(token),
                    hint="underscores only group digits, e.g. 25_000",
                )
            )
        try:
            return Decimal(raw.replace("_", ""))
        except InvalidOperation:  # pragma: no cover - the grammar only lets digits through
            self.problems.append(diagnostic(f"{raw} is not a number", self._tspan(token)))
            return Decimal(0)

    def _date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self.problems.append(
                diagnostic(
                    f"{token} is not a date in the calendar",
                    self._tspan(token),
                    hint="write a real date as YYYY-MM-DD, e.g. 2023-11-01",
                )
            )
            return dt.date(1, 1, 1)

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), span=self._tspan(token))

    # ----------------------------------------------------------------- file
    def start(self, meta: Meta, children: Children) -> ast.Tariff:
        # every declaration in file order (a `module` header comes as ("module", Header))
        decls: list[ast.Node] = []
        first_is_module: bool | None = None
        for c in children:
            if isinstance(c, tuple) and c and c[0] == "module":
                c = c[1]
                if first_is_module is None:
                    first_is_module = True
            elif isinstance(c, ast.Header) and first_is_module is None:
                first_is_module = False
            if isinstance(c, ast.TOP_LEVEL):
                decls.append(c)
        return ast.Tariff(
            self.file,
            decls,
            is_module=bool(first_is_module),
            span=Span(self.file, 1, 1, 1, 1, source=self._source),
        )

    def tariff(self, meta: Meta, children: Children) -> ast.Header:
        name, title, *items = children
        currencies = [i for i in items if isinstance(i, ast.Name)]
        for extra in currencies[1:]:
            self.problems.append(
                diagnostic(
                    "a tariff has one currency",
                    extra.span,
                    hint="remove this currency line",
                )
            )
        return ast.Header(
            name=str(name),
            title=_text(title) if title else None,
            currency=currencies[0] if currencies else None,
            sources=tuple(i for i in items if isinstance(i, ast.Source)),
            span=self._tspan(name),
        )

    def module(self, meta: Meta, children: Children) -> tuple[str, ast.Header]:
        return ("module", self.tariff(meta, children))

    def import_name(self, meta: Meta, children: Children) -> ast.Import:
        return ast.Import(str(children[0]), False, span=self._tspan(children[0]))

    def import_path(self, meta: Meta, children: Children) -> ast.Import:
        return ast.Import(_text(children[0]), True, span=self._tspan(children[0]))

    def currency(self, meta: Meta, children: Children) -> ast.Name:
        return self._name(children[0])

    def source(self, meta: Meta, children: Children) -> ast.Source:
        return ast.Source(_text(children[0]), span=self._span(meta))

    # ----------------------------------------------------------------- inputs
    def input(self, meta: Meta, children: Children) -> ast.InputDecl:
        name, label, typ, optional = children
        return ast.InputDecl(
            name=str(name),
            label=_text(label) if label else None,
            type=typ,
            optional=optional is not None,
            span=self._tspan(name),
        )

    def setting(self, meta: Meta, children: Children) -> ast.SettingDecl:
        name, label, typ = children
        return ast.SettingDecl(
            name=str(name), label=_text(label) if label else None, type=typ, span=self._tspan(name)
        )

    def categories(self, meta: Meta, children: Children) -> ast.CategoriesDecl:
        name, label, *items = children
        return ast.CategoriesDecl(
            name=str(name), label=_text(label) if label else None, items=tuple(items),
            span=self._tspan(name),
        )

    def category(self, meta: Meta, children: Children) -> ast.Category:
        name, label = children
        return ast.Category(str(name), _text(label) if label else None, span=self._tspan(name))

    def group(self, meta: Meta, children: Children) -> ast.GroupDecl:
        name, label, *members = children
        return ast.GroupDecl(
            name=str(name), label=_text(label) if label else None,
            members=tuple(self._name(m) for m in members), span=self._tspan(name),
        )

    def slices(self, meta: Meta, children: Children) -> ast.SlicesDecl:
        name, label, subject, *slices = children
        return ast.SlicesDecl(
            name=str(name), label=_text(label) if label else None, subject=self._name(subject),
            slices=tuple(slices), span=self._tspan(name),
        )

    def slice(self, meta: Meta, children: Children) -> ast.Slice:
        name, label, *rest = children
        rate = rest[-1]
        bounds = rest[:-1]
        lower = next((b for kind, b in bounds if kind == "lower"), None)
        upper = next((b for kind, b in bounds if kind == "upper"), None)
        return ast.Slice(
            name=str(name), label=_text(label) if label else None, lower=lower, upper=upper,
            rate=rate, span=self._tspan(name),
        )

    # issue 12: a flat amount per tier reached, and volume pricing
    def _tier(self, children: Children, rate: ast.Expr | None,
              flat: ast.Expr | None) -> ast.Slice:
        name, label, *bounds = children
        lower = next((b for kind, b in bounds if kind == "lower"), None)
        upper = next((b for kind, b in bounds if kind == "upper"), None)
        return ast.Slice(
            name=str(name), label=_text(label) if label else None, lower=lower, upper=upper,
            rate=rate, flat=flat, span=self._tspan(name),
        )

    def slice_plus(self, meta: Meta, children: Children) -> ast.Slice:
        *head, rate, flat = children
        return self._tier(head, rate, flat)

    def slice_flat(self, meta: Meta, children: Children) -> ast.Slice:
        *head, flat = children
        return self._tier(head, None, flat)

    def volume(self, meta: Meta, children: Children) -> ast.SlicesDecl:
        name, label, subject, *slices = children
        return ast.SlicesDecl(
            name=str(name), label=_text(label) if label else None, subject=self._name(subject),
            slices=tuple(slices), rule="volume", span=self._tspan(name),
        )

    def type_inhabitants(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("inhabitants", span=self._span(meta))

    def type_yes_no(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("yes/no", span=self._span(meta))

    def type_date(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("date", span=self._span(meta))

    def type_text(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("text", span=self._span(meta))

    def type_number(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("number", span=self._span(meta))

    def type_money(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("money", span=self._span(meta))

    def type_count(self, meta: Meta, children: Children) -> ast.InputType:
        return ast.InputType("count", counted=str(children[0]), span=self._span(meta))

    # ----------------------------------------------------------------- lists
    def list_decl(self, meta: Meta, children: Children) -> ast.ListDecl:
        name, label, *items = children
        return ast.ListDecl(
            name=str(name),
            label=_text(label) if label else None,
            items=tuple(ast.TextItem(_text(t), span=self._tspan(t)) for t in items),
            span=self._tspan(name),
        )

    # ----------------------------------------------------------------- bands
    def bands(self, meta: Meta, children: Children) -> ast.BandsDecl:
        name, label, subject, *bands = children
        return ast.BandsDecl(
            name=str(name),
            label=_text(label) if label else None,
            subject=self._name(subject),
            bands=tuple(bands),
            span=self._tspan(name),
        )

    def band(self, meta: Meta, children: Children) -> ast.Band:
        name, label, *bounds = children
        lower = next((b for kind, b in bounds if kind == "lower"), None)
        upper = next((b for kind, b in bounds if kind == "upper"), None)
        return ast.Band(
            name=str(name),
            label=_text(label) if label else None,
            lower=lower,
            upper=upper,
            span=self._tspan(name),
        )

    def from_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "lower", ast.Bound(self._number(children[0]), True, span=self._span(meta))

    def above_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "lower", ast.Bound(self._number(children[0]), False, span=self._span(meta))

    def to_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "upper", ast.Bound(self._number(children[0]), True, span=self._span(meta))

    def below_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "upper", ast.Bound(self._number(children[0]), False, span=self._span(meta))

    # issue 12: dated bounds — a bound named by a param
    def _param_bound(self, meta: Meta, token: Token, inclusive: bool) -> ast.Bound:
        return ast.Bound(Decimal(0), inclusive, self._name(token), span=self._span(meta))

    def from_param_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "lower", self._param_bound(meta, children[0], True)

    def above_param_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "lower", self._param_bound(meta, children[0], False)

    def to_param_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "upper", self._param_bound(meta, children[0], True)

    def below_param_bound(self, meta: Meta, children: Children) -> tuple[str, ast.Bound]:
        return "upper", self._param_bound(meta, children[0], False)

    # ----------------------------------------------------------------- params
    def param(self, meta: Meta, children: Children) -> ast.ParamDecl:
        name, label, value = children
        return ast.ParamDecl(
            name=str(name),
            label=_text(label) if label else None,
            value=value,
            span=self._tspan(name),
        )

    param_cases = param

    def param_dated(self, meta: Meta, children: Children) -> ast.ParamDecl:
        name, label, *dated = children
        return ast.ParamDecl(
            name=str(name),
            label=_text(label) if label else None,
            value=dated[0].value,
            dated=tuple(dated),
            span=self._tspan(name),
        )

    def dated(self, meta: Meta, children: Children) -> ast.Dated:
        value, date = children
        return ast.Dated(value, self._date(date), span=self._tspan(date))

    # issue 12: time finer than a year — which dated value a billing period takes
    #: The rule lines a dated param may end with, as words -> the rule.
    DATED_RULES: ClassVar[dict[str, ast.DatedRuleKind]] = {
        "in force on 1 January": "january",
        "in force at the start of each period": "period",
        "weighted by days": "days",
    }

    def param_dated_rule(self, meta: Meta, children: Children) -> ast.ParamDecl:
        *rest, rule = children
        decl = self.param_dated(meta, rest)
        return attrs.evolve(decl, rule=rule)

    def rule_in_force(self, meta: Meta, children: Children) -> ast.DatedRule | None:
        words = " ".join(str(t) for t in children if t.type != "_NL")
        kind = self.DATED_RULES.get(words)
        if kind is None:
            self.problems.append(diagnostic(
                f"`{words}` is not a rule for dated values", self._span(meta),
                hint="write one of: `in force on 1 January`, `in force at the start of each "
                "period`, `weighted by days`"))
            kind = "january"
        return ast.DatedRule(kind, span=self._span(meta))

    def rule_weighted(self, meta: Meta, children: Children) -> ast.DatedRule:
        return ast.DatedRule("days", span=self._span(meta))

    def formula(self, meta: Meta, children: Children) -> ast.FormulaDecl:
        name, *params, body = children
        return ast.FormulaDecl(
            name=str(name), label=None, params=tuple(self._name(p) for p in params), body=body,
            span=self._tspan(name),
        )

    def aggregate(self, meta: Meta, children: Children) -> ast.AggregateDecl:
        name, label, kind, of, among = children
        return ast.AggregateDecl(
            name=str(name), label=_text(label) if label else None, kind=kind,
            of=self._name(of), among=among, span=self._tspan(name),
        )

    def agg_kind(self, meta: Meta, children: Children) -> str:
        return str(children[0])

    def among(self, meta: Meta, children: Children) -> ast.Cond:
        return self._cond(children[0])

    def pool(self, meta: Meta, children: Children) -> ast.PoolDecl:
        name, label, total, total_rounding, key, among, rounding = children
        step, step_text = rounding if rounding else (None, None)
        return ast.PoolDecl(
            name=str(name), label=_text(label) if label else None, total=total,
            key=self._name(key), among=among, step=step, step_text=step_text,
            total_rounding=total_rounding, span=self._tspan(name),
        )

    def pool_mixed(self, meta: Meta, children: Children) -> ast.PoolDecl:
        """issue 12: ``shared 30 % equally and 70 % by population``."""
        name, label, total, total_rounding, equal, keyed, key, among, rounding = children
        step, step_text = rounding if rounding else (None, None)
        eq_span, key_span = self._tspan(key), self._tspan(key)
        return ast.PoolDecl(
            name=str(name), label=_text(label) if label else None, total=total,
            key=self._name(key), among=among, step=step, step_text=step_text,
            equal=ast.PoolPart(equal[0], equal[1], span=eq_span),
            keyed=ast.PoolPart(keyed[0], keyed[1], span=key_span),
            total_rounding=total_rounding, span=self._tspan(name),
        )

    def pool_total_rounding(self, meta: Meta, children: Children) -> ast.Rounding:
        """issue 12: ``total rounded to kroner half up``: the total, before it is shared."""
        (step, step_text), mode = children
        return ast.Rounding(step, step_text, mode, span=self._span(meta))

    # ----------------------------------------------------------------- issue 12
    def input_default(self, meta: Meta, children: Children) -> ast.InputDecl:
        """``input staff: count of staff default 0``: used when the value is not given."""
        name, label, typ, _optional, (kind, value) = children
        return ast.InputDecl(
            name=str(name), label=_text(label) if label else None, type=typ, optional=True,
            default=ast.DefaultValue(kind, value, span=self._span(meta)),
            span=self._tspan(name),
        )

    def param_indexed(self, meta: Meta, children: Children) -> ast.ParamDecl:
        """``param fee = 10_000 NOK`` / ``adjusted by 2.5 % every year from 2021``."""
        name, label, value, (rate, base_year, adj_span), rounding = children
        return ast.ParamDecl(
            name=str(name), label=_text(label) if label else None, value=value,
            adjustment=ast.Adjustment(rate, base_year, rounding, span=adj_span),
            span=self._tspan(name),
        )

    def param_adjustment(self, meta: Meta, children: Children) -> tuple[ast.Expr, int, Span]:
        rate, year = children
        value = self._number(year)
        if value != value.to_integral_value() or not 1900 <= value <= 2200:
            self.problems.append(diagnostic(
                f"{year} is not a year to adjust from", self._tspan(year),
                hint="write the base year, e.g.  adjusted by 2.5 % every year from 2021"))
            value = Decimal(2000)
        return rate, int(value), self._span(meta)

    def dated_pending(self, meta: Meta, children: Children) -> ast.Dated:
        """``not decided from 2026-01-01 "note"`` in a dated series: pending from that date."""
        date, note = children
        return ast.Dated(ast.Number(Decimal(0), span=self._tspan(date)), self._date(date),
                         pending=True, note=_text(note) if note else None,
                         span=self._tspan(date))

    def vat(self, meta: Meta, children: Children) -> ast.VatDecl:
        name, label, rate, rounding = children
        return ast.VatDecl(name=str(name), label=_text(label) if label else None, rate=rate,
                           rounding=rounding, span=self._tspan(name))

    vat_cases = vat

    def vat_exempt(self, meta: Meta, children: Children) -> ast.VatExempt:
        return ast.VatExempt(_text(children[0]) if children[0] else None, span=self._span(meta))

    def pending_for(self, meta: Meta, children: Children) -> tuple[str, ast.Cond]:
        return "for", self._cond(children[0])

    def table_multi(self, meta: Meta, children: Children) -> ast.Table:
        """A table by three or more dimensions: a header line of the last dimension's values,
        then rows that start with one key of each other dimension."""
        names = [c for c in children if isinstance(c, Token) and c.type == "NAME"]
        lines = [c for c in children if isinstance(c, list)]
        dims = tuple(self._name(n) for n in names)
        lead = len(dims) - 1
        header, *rows_lines = lines or [[]]
        for tok in header:
            if tok.type in ("NUMBER", "DATE"):
                self.problems.append(diagnostic(
                    f"the first line of a table by {', '.join(d.name for d in dims)} names its "
                    f"columns (the values of {dims[-1].name}), but {tok} is a number",
                    self._tspan(tok),
                    hint=f"start the table with a line of the values of {dims[-1].name}"))
        columns = tuple(ast.Name(_text(t) if t.type == "STRING" else str(t), span=self._tspan(t))
                        for t in header)
        rows = []
        for line in rows_lines:
            keys, cells = line[:lead], line[lead:]
            bad_key = next((k for k in keys if k.type in ("NUMBER", "DATE")), None)
            if bad_key is not None or len(keys) < lead:
                at = bad_key if bad_key is not None else line[0]
                self.problems.append(diagnostic(
                    f"a row of this table starts with a value of each of "
                    f"{', '.join(d.name for d in dims[:-1])}, then its amounts",
                    self._tspan(at), hint="write the row as:  key  key  amount ..."))
                continue
            for c in cells:
                if c.type != "NUMBER":
                    self.problems.append(diagnostic(
                        f"a table cell must be a number, not {c}", self._tspan(c),
                        hint=f"each row is {lead} keys followed by one number per column"))
            names_ = [ast.Name(_text(k) if k.type == "STRING" else str(k), span=self._tspan(k))
                      for k in keys]
            rows.append(ast.TableRow(
                key=names_[0], more_keys=tuple(names_[1:]),
                cells=tuple(ast.Cell(self._number(c), span=self._tspan(c))
                            for c in cells if c.type == "NUMBER"),
                span=self._tspan(keys[0])))
        return ast.Table(dims=dims, columns=columns, rows=tuple(rows), span=self._span(meta))

    def expect_vat(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(str(children[0]), self._number(children[1]), kind="vat",
                          span=self._span(meta))

    def expect_vat_total(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(None, self._number(children[0]), kind="vat_total",
                          span=self._span(meta))

    #: How a pool's rounding remainder is placed (the only method so far).
    POOL_METHODS: ClassVar[tuple[str, ...]] = ("largest_remainder",)

    def pool_rounding(self, meta: Meta, children: Children) -> tuple[Decimal, str]:
        step: tuple[Decimal, str] = children[0]
        method = children[1]
        if str(method) not in self.POOL_METHODS:
            self.problems.append(diagnostic(
                f"{method} is not a way to place a pool's rounding remainder",
                self._tspan(method),
                hint="write  rounded to øre by largest_remainder  (each share is rounded down; "
                "the øre left over go to the largest remainders)"))
        return step

    def proration(self, meta: Meta, children: Children) -> ast.ProrationDecl:
        name, label, rule = children
        period: Literal["months", "days"] | None = None
        num, den = Decimal(1), Decimal(1)
        if rule == "months" or rule == "days":  # the grammar allows only these two words
            period = rule
        else:
            num, den = rule
        return ast.ProrationDecl(
            name=str(name), label=_text(label) if label else None, numerator=num,
            denominator=den, period=period, span=self._tspan(name),
        )

    def by_period(self, meta: Meta, children: Children) -> str:
        period: str = children[0]
        return period

    def period(self, meta: Meta, children: Children) -> str:
        return str(children[0])

    def rounding_policy(self, meta: Meta, children: Children) -> ast.RoundingDecl:
        name, label, (step, step_text), mode = children
        return ast.RoundingDecl(
            name=str(name), label=_text(label) if label else None, step=step,
            step_text=step_text, mode=mode, span=self._tspan(name),
        )

    # ----------------------------------------------------------------- charges
    def cases(self, meta: Meta, children: Children) -> ast.Cases:
        dim, *cases = children
        return ast.Cases(self._name(dim), tuple(cases), span=self._span(meta))

    def case(self, meta: Meta, children: Children) -> ast.Case:
        key, value, reason = children
        return ast.Case(self._name(key), value, reason=_text(reason) if reason else None,
                        span=self._tspan(key))

    def case_not_offered(self, meta: Meta, children: Children) -> ast.Case:
        key, reason = children
        return ast.Case(self._name(key), None, reason=_text(reason) if reason else None,
                        span=self._tspan(key))

    def case_pending(self, meta: Meta, children: Children) -> ast.Case:
        key, reason = children
        return ast.Case(self._name(key), None, pending=True,
                        reason=_text(reason) if reason else None, span=self._tspan(key))

    def param_pending(self, meta: Meta, children: Children) -> ast.ParamDecl:
        name, label, note = children
        return ast.ParamDecl(
            name=str(name), label=_text(label) if label else None,
            value=ast.Number(Decimal(0), span=self._tspan(name)), pending=True,
            note=_text(note) if note else None, span=self._tspan(name),
        )

    def charge(self, meta: Meta, children: Children) -> ast.ChargeDecl:
        name, label, frequency, *clauses = children
        bodies = tuple(c for c in clauses if isinstance(c, ast.Table | ast.Expr))
        roundings = tuple(c for c in clauses if isinstance(c, ast.Rounding))
        return ast.ChargeDecl(
            name=str(name),
            label=_text(label) if label else None,
            frequency=frequency,
            body=bodies[0] if bodies else None,
            prorations=tuple(c for c in clauses if isinstance(c, ast.Prorate)),
            exceptions=tuple(c for c in clauses if isinstance(c, ast.ExceptionRule)),
            rounding=roundings[0] if roundings else None,
            notes=tuple(c for c in clauses if isinstance(c, ast.Note)),
            bodies=bodies,
            roundings=roundings,
            limits=tuple(c for c in clauses if isinstance(c, ast.Limit)),
            vat_exempt=next((c for c in clauses if isinstance(c, ast.VatExempt)), None),
            vat_exempts=tuple(c for c in clauses if isinstance(c, ast.VatExempt)),
            span=self._tspan(name),
        )

    def pending(self, meta: Meta, children: Children) -> ast.ChargeDecl:
        name, label, frequency, *clauses = children
        fors = [c[1] for c in clauses if isinstance(c, tuple)]
        for extra in fors[1:]:
            self.problems.append(diagnostic(
                f"pending {name} says twice which customers it is for", extra.span,
                hint="join the conditions in one line with `or`"))
        return ast.ChargeDecl(
            name=str(name),
            label=_text(label) if label else None,
            frequency=frequency,
            body=None,
            notes=tuple(c for c in clauses if isinstance(c, ast.Note)),
            pending=True,
            pending_for=fors[0] if fors else None,
            span=self._tspan(name),
        )

    def every_year(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("every_year", None, span=self._span(meta))

    def every_year_from(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("every_year", self._name(children[0]), span=self._span(meta))

    def once_when(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("once", self._name(children[0]), span=self._span(meta))

    # issue 12: time finer than a year — a charge invoiced per month, quarter or half year
    #: The words after ``every`` that name a period shorter than a year.
    PERIOD_WORDS: ClassVar[dict[str, ast.PeriodName]] = {"month": "month", "quarter": "quarter"}

    def _period_word(self, token: Token) -> ast.PeriodName:
        # the token is `every month` or `every quarter` (the grammar lets no other through)
        return self.PERIOD_WORDS[str(token).split()[-1]]

    def every_period(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("every_year", None, self._period_word(children[0]),
                             span=self._span(meta))

    def every_period_from(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("every_year", self._name(children[1]),
                             self._period_word(children[0]), span=self._span(meta))

    def every_half_year(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("every_year", None, "half year", span=self._span(meta))

    def every_half_year_from(self, meta: Meta, children: Children) -> ast.Frequency:
        return ast.Frequency("every_year", self._name(children[0]), "half year",
                             span=self._span(meta))

    def amount(self, meta: Meta, children: Children) -> ast.Expr:
        expr: ast.Expr = children[0]
        return expr

    def table(self, meta: Meta, children: Children) -> ast.Table:
        first, second, *lines = children
        dims = (self._name(first),) + ((self._name(second),) if second is not None else ())
        columns: tuple[ast.Name, ...] = ()
        if len(dims) == 2 and lines:
            header = lines[0]
            lines = lines[1:]
            for tok in header:
                if tok.type in ("NUMBER", "DATE"):
                    self.problems.append(
                        diagnostic(
                            f"the first line of a table by {dims[0].name}, {dims[1].name} "
                            f"names its columns, but {tok} is a number",
                            self._tspan(tok),
                            hint=f"start the table with a line of the values of {dims[1].name}, "
                            "e.g.  yes  no",
                        )
                    )
            columns = tuple(
                ast.Name(_text(t) if t.type == "STRING" else str(t), span=self._tspan(t))
                for t in header
            )
        rows = []
        for line in lines:
            key, *cells = line
            if key.type in ("NUMBER", "DATE"):
                self.problems.append(
                    diagnostic(
                        f"a table row starts with the value of {dims[0].name} it is for, not {key}",
                        self._tspan(key),
                        hint="write the row as: name  amount ...",
                    )
                )
                continue
            bad = [c for c in cells if c.type != "NUMBER"]
            for c in bad:
                self.problems.append(
                    diagnostic(
                        f"a table cell must be a number, not {c}",
                        self._tspan(c),
                        hint="each row is its key followed by one number per column",
                    )
                )
            keyname = _text(key) if key.type == "STRING" else str(key)
            rows.append(
                ast.TableRow(
                    key=ast.Name(keyname, span=self._tspan(key)),
                    cells=tuple(
                        ast.Cell(self._number(c), span=self._tspan(c))
                        for c in cells
                        if c.type == "NUMBER"
                    ),
                    span=self._tspan(key),
                )
            )
        return ast.Table(dims=dims, columns=columns, rows=tuple(rows), span=self._span(meta))

    def table_line(self, meta: Meta, children: Children) -> list[Token]:
        return list(children)

    def prorate(self, meta: Meta, children: Children) -> ast.Prorate:
        (num, den), cond, reason = children
        return ast.Prorate(
            num, den, self._cond(cond), _text(reason) if reason else None, span=self._span(meta)
        )

    def prorate_period(self, meta: Meta, children: Children) -> ast.Prorate:
        period, anchor, reason = children
        return ast.Prorate(
            Decimal(1), Decimal(1), None, _text(reason) if reason else None, period=period,
            anchor=self._name(anchor), span=self._span(meta),
        )

    def prorate_named(self, meta: Meta, children: Children) -> ast.Prorate:
        policy, (how, value), reason = children
        return ast.Prorate(
            Decimal(1), Decimal(1), value if how == "when" else None,
            _text(reason) if reason else None,
            anchor=value if how == "from" else None,
            policy=self._name(policy), span=self._span(meta),
        )

    # issue 12: time finer than a year — a fraction for the days between two dates
    def prorate_dates(self, meta: Meta, children: Children) -> ast.Prorate:
        (num, den), start, end, reason = children
        return ast.Prorate(
            num, den, None, _text(reason) if reason else None, start=self._date(start),
            end=self._date(end), span=self._span(meta),
        )

    def use_when(self, meta: Meta, children: Children) -> tuple[str, ast.Cond]:
        return "when", self._cond(children[0])

    def use_from(self, meta: Meta, children: Children) -> tuple[str, ast.Name]:
        return "from", self._name(children[0])

    def ratio(self, meta: Meta, children: Children) -> tuple[Decimal, Decimal]:
        return self._number(children[0]), self._number(children[1])

    def percent_fraction(self, meta: Meta, children: Children) -> tuple[Decimal, Decimal]:
        return self._number(children[0]), Decimal(100)

    def exception(self, meta: Meta, children: Children) -> ast.ExceptionRule:
        cond, result, reason, priority = children
        return ast.ExceptionRule(
            self._cond(cond),
            result,
            _text(reason) if reason else None,
            priority,
            span=self._span(meta),
        )

    def priority(self, meta: Meta, children: Children) -> int:
        value = self._number(children[0])
        if value != value.to_integral_value():
            self.problems.append(
                diagnostic("a priority is a whole number", self._tspan(children[0]))
            )
        return int(value)

    def rounding(self, meta: Meta, children: Children) -> ast.Rounding:
        (step, step_text), mode = children
        return ast.Rounding(step, step_text, mode, span=self._span(meta))

    def rounding_named(self, meta: Meta, children: Children) -> ast.Rounding:
        return ast.Rounding(
            Decimal(1), "", "half up", policy=self._name(children[0]), span=self._span(meta)
        )

    _STEP_WORDS: ClassVar[dict[str, Decimal]] = {
        "øre": Decimal("0.01"),
        "ore": Decimal("0.01"),
        "krone": Decimal(1),
        "kroner": Decimal(1),
        "whole": Decimal(1),
    }

    def step(self, meta: Meta, children: Children) -> tuple[Decimal, str]:
        tok = children[0]
        if tok.type == "NUMBER":
            value = self._number(tok)
            if value <= 0:
                self.problems.append(
                    diagnostic("a rounding step must be above zero", self._tspan(tok),
                               hint="e.g. round to 0.01 half up")
                )
                value = Decimal(1)
            return value, str(tok)
        word = str(tok)
        if word.lower() not in self._STEP_WORDS:
            self.problems.append(
                diagnostic(
                    f"cannot round to {word!r}",
                    self._tspan(tok),
                    hint="round to øre, to kroner, or to a step such as 0.01 or 100",
                )
            )
            return Decimal(1), word
        return self._STEP_WORDS[word.lower()], word

    def half_up(self, meta: Meta, children: Children) -> str:
        return "half up"

    def half_even(self, meta: Meta, children: Children) -> str:
        return "half even"

    def round_up(self, meta: Meta, children: Children) -> str:
        return "up"

    def round_down(self, meta: Meta, children: Children) -> str:
        return "down"

    def note(self, meta: Meta, children: Children) -> ast.Note:
        return ast.Note(_text(children[0]), span=self._span(meta))

    # issue 12: minimum and maximum amounts
    def _limit(self, kind: Literal["at least", "at most"], meta: Meta,
               children: Children) -> ast.Limit:
        value, place, reason = children
        return ast.Limit(kind, value, place, _text(reason) if reason else None,
                         span=self._span(meta))

    def at_least(self, meta: Meta, children: Children) -> ast.Limit:
        return self._limit("at least", meta, children)

    def at_most(self, meta: Meta, children: Children) -> ast.Limit:
        return self._limit("at most", meta, children)

    def before_proration(self, meta: Meta, children: Children) -> str:
        return "before proration"

    def after_proration(self, meta: Meta, children: Children) -> str:
        return "after proration"

    def min_of(self, meta: Meta, children: Children) -> ast.Extreme:
        return ast.Extreme("min", tuple(children), span=self._span(meta))

    def max_of(self, meta: Meta, children: Children) -> ast.Extreme:
        return ast.Extreme("max", tuple(children), span=self._span(meta))

    # issue 12: per started block, and rounding inside an expression
    def _block(self, tok: Token) -> Decimal:
        value = self._number(tok)
        if value <= 0:
            self.problems.append(diagnostic(
                "a block must be above zero", self._tspan(tok),
                hint="e.g. 25 NOK per started 100 calls"))
            value = Decimal(1)
        return value

    def per_started_literal(self, meta: Meta, children: Children) -> ast.PerStarted:
        num, cur, block, qty = children
        price = ast.Number(self._number(num), currency=str(cur),
                           span=attrs.evolve(self._tspan(num), end_line=cur.end_line,
                                             end_column=cur.end_column))
        return ast.PerStarted(price, self._block(block), self._quantity(qty),
                              span=self._span(meta))

    def _quantity(self, qty: Any) -> ast.Expr:
        """The quantity of a per-started price: a name, or the value after ``of``."""
        if isinstance(qty, Token):
            return ast.Ref(str(qty), span=self._tspan(qty))
        assert isinstance(qty, ast.Expr)
        return qty

    def per_started_named(self, meta: Meta, children: Children) -> ast.PerStarted:
        name, block, qty = children
        return ast.PerStarted(ast.Ref(str(name), span=self._tspan(name)), self._block(block),
                              self._quantity(qty), span=self._span(meta))

    def round_expr(self, meta: Meta, children: Children) -> ast.RoundExpr:
        value, (step, step_text), mode = children
        return ast.RoundExpr(value, step, step_text, mode, span=self._span(meta))

    def round_expr_money(self, meta: Meta, children: Children) -> ast.RoundExpr:
        value, num, cur, mode = children
        step = self._number(num)
        if step <= 0:
            self.problems.append(diagnostic("a rounding step must be above zero",
                                            self._tspan(num), hint="e.g. round(x to 1 NOK up)"))
            step = Decimal(1)
        return ast.RoundExpr(value, step, str(step), mode, currency=str(cur),
                             span=self._span(meta))

    def round_expr_named(self, meta: Meta, children: Children) -> ast.RoundExpr:
        value, name = children
        return ast.RoundExpr(value, Decimal(1), "", "half up", policy=self._name(name),
                             span=self._span(meta))

    # ----------------------------------------------------------------- expressions
    def add(self, meta: Meta, children: Children) -> ast.BinOp:
        return ast.BinOp("+", children[0], children[1], span=self._span(meta))

    def sub(self, meta: Meta, children: Children) -> ast.BinOp:
        return ast.BinOp("-", children[0], children[1], span=self._span(meta))

    def mul(self, meta: Meta, children: Children) -> ast.BinOp:
        return ast.BinOp("*", children[0], children[1], span=self._span(meta))

    def div(self, meta: Meta, children: Children) -> ast.BinOp:
        return ast.BinOp("/", children[0], children[1], span=self._span(meta))

    def call(self, meta: Meta, children: Children) -> ast.Call:
        name, *args = children
        return ast.Call(str(name), tuple(args), span=self._span(meta))

    def ref(self, meta: Meta, children: Children) -> ast.Ref:
        return ast.Ref(str(children[0]), span=self._tspan(children[0]))

    def plain_number(self, meta: Meta, children: Children) -> ast.Number:
        return ast.Number(self._number(children[0]), span=self._span(meta))

    def percent(self, meta: Meta, children: Children) -> ast.Number:
        return ast.Number(self._number(children[0]), percent=True, span=self._span(meta))

    def money(self, meta: Meta, children: Children) -> ast.Number:
        return ast.Number(self._number(children[0]), currency=str(children[1]), span=self._span(meta))

    def rate(self, meta: Meta, children: Children) -> ast.Number:
        num, cur, per = children
        return ast.Number(self._number(num), currency=str(cur), per=str(per), span=self._span(meta))

    # issue 12: time finer than a year — a price per year or half year
    def rate_year(self, meta: Meta, children: Children) -> ast.Number:
        num, cur = children
        return ast.Number(self._number(num), currency=str(cur), per="year",
                          span=self._span(meta))

    def rate_half_year(self, meta: Meta, children: Children) -> ast.Number:
        num, cur = children
        return ast.Number(self._number(num), currency=str(cur), per="half year",
                          span=self._span(meta))

    # ----------------------------------------------------------------- conditions
    def or_(self, meta: Meta, children: Children) -> ast.BoolOp:
        return ast.BoolOp(
            "or", self._cond(children[0]), self._cond(children[1]), span=self._span(meta)
        )

    def and_(self, meta: Meta, children: Children) -> ast.BoolOp:
        return ast.BoolOp(
            "and", self._cond(children[0]), self._cond(children[1]), span=self._span(meta)
        )

    def not_(self, meta: Meta, children: Children) -> ast.Not:
        return ast.Not(self._cond(children[0]), span=self._span(meta))

    def _cond(self, node: Any) -> ast.Cond:
        if isinstance(node, ast.Operand):
            return ast.Truthy(node, span=node.span)
        assert isinstance(node, ast.Cond)
        return node

    def in_(self, meta: Meta, children: Children) -> ast.In:
        return ast.In(children[0], children[1], span=self._span(meta))

    def not_in(self, meta: Meta, children: Children) -> ast.In:
        return ast.In(children[0], children[1], negated=True, span=self._span(meta))

    def compare(self, meta: Meta, children: Children) -> ast.Compare:
        left, op, right = children
        return ast.Compare(op, left, right, span=self._span(meta))

    def cmp_op(self, meta: Meta, children: Children) -> str:
        return str(children[0])

    def name_operand(self, meta: Meta, children: Children) -> ast.Operand:
        return ast.Operand("name", str(children[0]), span=self._tspan(children[0]))

    def number_operand(self, meta: Meta, children: Children) -> ast.Operand:
        return ast.Operand("number", self._number(children[0]), span=self._tspan(children[0]))

    def date_operand(self, meta: Meta, children: Children) -> ast.Operand:
        return ast.Operand("date", self._date(children[0]), span=self._tspan(children[0]))

    def string_operand(self, meta: Meta, children: Children) -> ast.Operand:
        return ast.Operand("text", _text(children[0]), span=self._tspan(children[0]))

    def yes_operand(self, meta: Meta, children: Children) -> ast.Operand:
        return ast.Operand("yes/no", True, span=self._tspan(children[0]))

    def no_operand(self, meta: Meta, children: Children) -> ast.Operand:
        return ast.Operand("yes/no", False, span=self._tspan(children[0]))

    # ----------------------------------------------------------------- properties
    _PROPERTY_FORMS = (
        "CHARGE never decreases as INPUT grows",
        "CHARGE never increases as INPUT grows",
        "CHARGE is between NUMBER and NUMBER",
        "exceptions only lower CHARGE",
        "shares of POOL add up to the pool",
    )

    def property(self, meta: Meta, children: Children) -> ast.PropertyDecl | None:
        name, label, words = children
        toks: list[Token] = words
        text = [str(t) for t in toks]
        low = [w.lower() for w in text]
        span = self._tspan(name)
        lab = _text(label) if label else None

        def nm(tok: Token) -> ast.Name:
            return ast.Name(str(tok), span=self._tspan(tok))

        if len(low) == 6 and low[1:4] in (["never", "decreases", "as"], ["never", "increases", "as"]) \
                and low[5] == "grows":
            kind: ast.PropertyKind = (
                "non_decreasing" if low[2] == "decreases" else "non_increasing")
            return ast.PropertyDecl(str(name), lab, kind, nm(toks[0]), input=nm(toks[4]),
                                    span=span)
        if len(low) >= 6 and low[1:3] == ["is", "between"] and "and" in low[3:]:
            i = low.index("and", 3)
            nums = [t for t in toks[3:] if t.type == "NUMBER"]
            words_ok = all(t.type == "NUMBER" or str(t) in ("and", self._currency_word(t))
                           for t in toks[3:])
            if len(nums) == 2 and words_ok and toks[i - 1].type in ("NUMBER", "NAME"):
                return ast.PropertyDecl(str(name), lab, "bounded", nm(toks[0]),
                                        low=self._number(nums[0]), high=self._number(nums[1]),
                                        span=span)
        if len(low) == 4 and low[:3] == ["exceptions", "only", "lower"]:
            return ast.PropertyDecl(str(name), lab, "exceptions_lower", nm(toks[3]), span=span)
        if len(low) == 8 and low[0:2] == ["shares", "of"] and \
                low[3:] == ["add", "up", "to", "the", "pool"]:
            return ast.PropertyDecl(str(name), lab, "pool_adds_up", nm(toks[2]), span=span)
        self.problems.append(diagnostic(
            f"property {name}: \"{' '.join(text)}\" is not a rule takst can check",
            self._tspan(toks[0]),
            hint="write one of: " + "; ".join(self._PROPERTY_FORMS)))
        return None

    @staticmethod
    def _currency_word(tok: Token) -> str:
        return str(tok) if tok.type == "NAME" and str(tok).isupper() else "\0"

    def property_words(self, meta: Meta, children: Children) -> list[Token]:
        return list(children)

    # ----------------------------------------------------------------- examples
    def example(self, meta: Meta, children: Children) -> ast.Example:
        title, register, given, (year, year_span), *expects = children
        return ast.Example(
            title=_text(title),
            given=tuple(given or ()),
            year=year,
            year_span=year_span,
            expects=tuple(e for group in expects for e in group),
            register=register,
            span=self._tspan(title),
        )

    def example_register(self, meta: Meta, children: Children) -> str:
        return _text(children[0])

    def expect_for(self, meta: Meta, children: Children) -> str:
        return _text(children[0])

    def expect_pool(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(str(children[0]), self._number(children[1]), kind="pool",
                          span=self._span(meta))

    def expect_rate(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(str(children[0]), self._number(children[1]), kind="rate",
                          span=self._span(meta))

    def given(self, meta: Meta, children: Children) -> list[ast.Given]:
        return list(children)

    def given_item(self, meta: Meta, children: Children) -> ast.Given:
        name, (kind, value) = children
        return ast.Given(str(name), kind, value, span=self._span(meta))

    def number_value(self, meta: Meta, children: Children) -> tuple[str, Decimal]:
        return "number", self._number(children[0])

    def date_value(self, meta: Meta, children: Children) -> tuple[str, dt.date]:
        return "date", self._date(children[0])

    def string_value(self, meta: Meta, children: Children) -> tuple[str, str]:
        return "text", _text(children[0])

    def yes_value(self, meta: Meta, children: Children) -> tuple[str, bool]:
        return "yes/no", True

    def no_value(self, meta: Meta, children: Children) -> tuple[str, bool]:
        return "yes/no", False

    def billing_year(self, meta: Meta, children: Children) -> tuple[int, Span]:
        tok = children[0]
        value = self._number(tok)
        if value != value.to_integral_value() or not 1900 <= value <= 2200:
            self.problems.append(
                diagnostic(
                    f"{tok} is not a billing year",
                    self._tspan(tok),
                    hint="write a year such as 2024",
                )
            )
            return 2000, self._tspan(tok)
        return int(value), self._tspan(tok)

    def expect(self, meta: Meta, children: Children) -> list[ast.Expect]:
        customer, *items = children
        if customer is None:
            return list(items)
        return [attrs.evolve(e, customer=customer) for e in items]

    def expect_amount(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(str(children[0]), self._number(children[1]), span=self._span(meta))

    def expect_pending(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(str(children[0]), None, span=self._span(meta))

    def expect_total(self, meta: Meta, children: Children) -> ast.Expect:
        return ast.Expect(None, self._number(children[0]), kind="total", span=self._span(meta))
