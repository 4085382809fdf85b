"""The tariff AST: one frozen attrs class per construct, each with its source span.

The AST is data only. It says what the tariff text says, with numbers as exact
``Decimal`` and names as strings; it does no evaluation, so any backend (the
tracing interpreter, a future compiled batch path) can consume it.
Rewrites use :func:`attrs.evolve`, never mutation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import attrs

from takst.dsl.errors import Span

# ---------------------------------------------------------------- base classes


@attrs.frozen
class Node:
    span: Span = attrs.field(eq=False, repr=False, kw_only=True)


@attrs.frozen
class Decl(Node):
    """A top-level declaration with a name and an optional label in the author's language."""

    name: str
    label: str | None


# ---------------------------------------------------------------- values


@attrs.frozen
class Name(Node):
    """A reference to a declared name (input, list, bands, param, charge) or a band/column key."""

    name: str


# ---------------------------------------------------------------- header


@attrs.frozen
class Source(Node):
    text: str


@attrs.frozen
class Header(Node):
    name: str
    title: str | None
    currency: Name | None
    sources: tuple[Source, ...]


# ---------------------------------------------------------------- inputs

InputKind = Literal["inhabitants", "yes/no", "date", "text", "number", "money", "count"]


@attrs.frozen
class InputType(Node):
    kind: InputKind
    #: For ``count of X``: the counted thing, as written (``transactions``).
    counted: str | None = None


@attrs.frozen
class InputDecl(Decl):
    type: InputType


# ---------------------------------------------------------------- lists


@attrs.frozen
class TextItem(Node):
    value: str


@attrs.frozen
class ListDecl(Decl):
    items: tuple[TextItem, ...]


# ---------------------------------------------------------------- bands


@attrs.frozen
class Bound(Node):
    value: Decimal
    inclusive: bool


@attrs.frozen
class Band(Decl):
    lower: Bound | None
    upper: Bound | None


@attrs.frozen
class BandsDecl(Decl):
    subject: Name
    bands: tuple[Band, ...]


# ---------------------------------------------------------------- expressions


@attrs.frozen
class Expr(Node):
    pass


@attrs.frozen
class Number(Expr):
    """A literal. ``currency`` set: money (``6_000 NOK``); ``per`` set: a rate
    (``1.50 NOK per inhabitant``); ``percent``: ``30 %`` (stored as written, 30)."""

    value: Decimal
    currency: str | None = None
    per: str | None = None
    percent: bool = False


@attrs.frozen
class Ref(Expr):
    name: str


@attrs.frozen
class BinOp(Expr):
    op: Literal["+", "-", "*"]
    left: Expr
    right: Expr


# ---------------------------------------------------------------- conditions


@attrs.frozen
class Operand(Node):
    """A leaf of a condition: a name, or a literal number, date, text or yes/no."""

    kind: Literal["name", "number", "date", "text", "yes/no"]
    value: str | Decimal | dt.date | bool


@attrs.frozen
class Cond(Node):
    pass


@attrs.frozen
class Truthy(Cond):
    operand: Operand


@attrs.frozen
class In(Cond):
    """``x in list``, ``date in 2023`` (a year), ``size in ...``; ``negated`` for ``not in``."""

    item: Operand
    container: Operand
    negated: bool = False


@attrs.frozen
class Compare(Cond):
    op: Literal["<", "<=", ">", ">=", "=", "!="]
    left: Operand
    right: Operand


@attrs.frozen
class Not(Cond):
    operand: Cond


@attrs.frozen
class BoolOp(Cond):
    op: Literal["and", "or"]
    left: Cond
    right: Cond


# ---------------------------------------------------------------- charges


@attrs.frozen
class Frequency(Node):
    """``every year``, ``every year from joined`` or ``once when joined``."""

    kind: Literal["every_year", "once"]
    anchor: Name | None


@attrs.frozen
class Cell(Node):
    value: Decimal


@attrs.frozen
class TableRow(Node):
    key: Name
    cells: tuple[Cell, ...]


@attrs.frozen
class Table(Node):
    """A table by one dimension (rows only) or two (rows × columns)."""

    dims: tuple[Name, ...]
    columns: tuple[Name, ...]
    rows: tuple[TableRow, ...]


@attrs.frozen
class Prorate(Node):
    numerator: Decimal
    denominator: Decimal
    condition: Cond
    reason: str | None


@attrs.frozen
class ExceptionRule(Node):
    condition: Cond
    result: Expr
    reason: str | None
    priority: int | None


RoundMode = Literal["half up", "half even", "up", "down"]


@attrs.frozen
class Rounding(Node):
    step: Decimal
    step_text: str
    mode: RoundMode


@attrs.frozen
class Note(Node):
    text: str


@attrs.frozen
class ChargeDecl(Decl):
    frequency: Frequency
    #: The base amount: a table or an expression; None for a pending charge.
    body: Table | Expr | None
    prorations: tuple[Prorate, ...] = ()
    exceptions: tuple[ExceptionRule, ...] = ()
    rounding: Rounding | None = None
    notes: tuple[Note, ...] = ()
    pending: bool = False
    #: Every base amount clause as written (the checker reports more than one).
    bodies: tuple[Table | Expr, ...] = ()
    roundings: tuple[Rounding, ...] = ()


@attrs.frozen
class ParamDecl(Decl):
    value: Expr


# ---------------------------------------------------------------- examples


@attrs.frozen
class Given(Node):
    name: str
    kind: Literal["number", "date", "text", "yes/no"]
    value: Decimal | dt.date | str | bool


@attrs.frozen
class Expect(Node):
    """``charge 11_445``, ``charge pending`` or ``total 11_445``."""

    charge: str | None  # None for the total
    amount: Decimal | None  # None for pending


@attrs.frozen
class Example(Node):
    title: str
    given: tuple[Given, ...]
    year: int
    year_span: Span = attrs.field(eq=False, repr=False)
    expects: tuple[Expect, ...]


# ---------------------------------------------------------------- the file


@attrs.frozen
class Tariff(Node):
    """A whole ``.tariff`` file, declarations in the order written."""

    file: str
    header: Header | None
    inputs: tuple[InputDecl, ...]
    lists: tuple[ListDecl, ...]
    bands: tuple[BandsDecl, ...]
    params: tuple[ParamDecl, ...]
    charges: tuple[ChargeDecl, ...]
    examples: tuple[Example, ...]
    #: Extra header blocks (a file may have only one; the checker reports the rest).
    extra_headers: tuple[Header, ...] = ()

    @property
    def name(self) -> str:
        return self.header.name if self.header else self.file

    @property
    def title(self) -> str:
        if self.header and self.header.title:
            return self.header.title
        return self.name

    @property
    def currency(self) -> str:
        if self.header and self.header.currency:
            return self.header.currency.name
        return "DKK"
