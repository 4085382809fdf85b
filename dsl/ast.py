"""The tariff AST: one frozen attrs class per construct, each with its source span.

The AST is data only. It says what the tariff text says, with numbers as exact
``Decimal`` and names as strings; it does no evaluation, so any backend (the
tracing interpreter, a future compiled batch path) can consume it.
Rewrites use :func:`attrs.evolve`, never mutation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs

from takst.dsl.errors import Span

N = TypeVar("N", bound="Node")

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
    #: An optional input may be missing; a charge that needs it is then pending.
    optional: bool = False
    #: issue 12: the value used when the input is not given (``default 0``), instead of pending.
    default: DefaultValue | None = None


@attrs.frozen
class DefaultValue(Node):
    """issue 12: the stated default of an input: ``input staff: count of staff default 0``."""

    kind: Literal["number", "date", "text", "yes/no"]
    value: Decimal | dt.date | str | bool


@attrs.frozen
class SettingDecl(Decl):
    """A value for the whole evaluation (not per customer), e.g. a pool's total cost."""

    type: InputType


# ---------------------------------------------------------------- modules


@attrs.frozen
class Import(Node):
    """``import customer_types`` (from stdlib/) or ``import "shared/prices.tariff"``."""

    target: str
    is_path: bool


# ---------------------------------------------------------------- categories


@attrs.frozen
class Category(Decl):
    pass


@attrs.frozen
class CategoriesDecl(Decl):
    """The allowed values of a text field, e.g. the customer types of a price model."""

    items: tuple[Category, ...]


@attrs.frozen
class GroupDecl(Decl):
    members: tuple[Name, ...]


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
    #: issue 12, dated bounds: the param whose value (in force on the date its rule says)
    #: is the bound; ``value`` is then 0 and means nothing (:func:`resolve_bound`).
    param: Name | None = None


@attrs.frozen
class Band(Decl):
    lower: Bound | None
    upper: Bound | None


@attrs.frozen
class BandsDecl(Decl):
    subject: Name
    bands: tuple[Band, ...]


@attrs.frozen
class Slice(Band):
    """A slice of a graduated scale: its range and the rate for the units inside it.

    ``flat``: an amount charged once when the quantity reaches the slice (``at RATE plus
    FLAT``, or ``flat FLAT`` with no rate: ``rate`` is then None)."""

    rate: Expr | None = attrs.field(kw_only=True)
    flat: Expr | None = attrs.field(default=None, kw_only=True)


#: How a scale prices its quantity: slice by slice, or wholly at the band it reaches.
TierRule = Literal["graduated", "volume"]


@attrs.frozen
class SlicesDecl(Decl):
    """A graduated scale: each slice of the subject is priced at its own rate.

    ``rule == "volume"`` (declared ``volume``): the whole quantity is priced at the rate
    of the one band it is in, plus that band's flat amount."""

    subject: Name
    slices: tuple[Slice, ...]
    rule: TierRule = "graduated"


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
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


@attrs.frozen
class Call(Expr):
    """A use of a formula: ``size_adjusted(3_000 NOK, 0.636 NOK per inhabitant, 30 %)``."""

    name: str
    args: tuple[Expr, ...]


@attrs.frozen
class Case(Node):
    key: Name
    value: Expr | None  # None: not offered to this key (or pending)
    pending: bool = False
    #: issue 12: why this case has its value (``KOMMUNE 0 % "Kompensert"``), shown in the trace.
    reason: str | None = None


@attrs.frozen
class Cases(Expr):
    """One value per key of a dimension (categories, groups, bands or yes/no)."""

    dim: Name
    cases: tuple[Case, ...]


@attrs.frozen
class Extreme(Expr):
    """``min(a, b, ...)`` or ``max(a, b, ...)``: the least or the greatest of the values."""

    op: Literal["min", "max"]
    args: tuple[Expr, ...]


@attrs.frozen
class PerStarted(Expr):
    """``25 NOK per started 100 calls`` (or ``... per started 500 of (area - 500)``): the
    price times the number of blocks of ``block`` units begun (the quantity divided by the
    block, rounded up to a whole number)."""

    price: Expr
    block: Decimal
    quantity: Expr


@attrs.frozen
class RoundExpr(Expr):
    """``round(x to 1 NOK up)``, ``round(x to øre half up)``, ``round(x with to_ore)``:
    a value rounded inside a calculation, in the words of a charge's ``round`` line."""

    value: Expr
    step: Decimal
    step_text: str
    mode: RoundMode
    #: The currency written after the step (``to 1 NOK``), or None.
    currency: str | None = None
    #: ``round(x with NAME)``: the rule comes from a rounding declaration.
    policy: Name | None = None


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
    #: issue 12: the period a recurring charge is invoiced for (``every month``, ``every
    #: quarter``, ``every half year``); ``year`` for every whole-year charge.
    period: PeriodName = "year"


@attrs.frozen
class Cell(Node):
    value: Decimal


@attrs.frozen
class TableRow(Node):
    key: Name
    cells: tuple[Cell, ...]
    #: issue 12: in a table of three or more dimensions, the keys of the dimensions after
    #: the first and before the last (the last's values are the columns).
    more_keys: tuple[Name, ...] = ()


@attrs.frozen
class Table(Node):
    """A table by one dimension (rows only) or two (rows × columns)."""

    dims: tuple[Name, ...]
    columns: tuple[Name, ...]
    rows: tuple[TableRow, ...]


@attrs.frozen
class Prorate(Node):
    """A fixed fraction when a condition holds, or by months/days from a date in its year.

    ``policy`` names a ``proration`` declaration to take the rule from.
    """

    numerator: Decimal
    denominator: Decimal
    condition: Cond | None
    reason: str | None
    period: Literal["months", "days"] | None = None
    anchor: Name | None = None
    policy: Name | None = None
    #: issue 12: ``prorate 1/2 from 2021-01-01 to 2021-06-30``: the fraction applies to the
    #: days of the billing period between these dates (both included).
    start: dt.date | None = None
    end: dt.date | None = None


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
    #: ``round with NAME``: the rule comes from a rounding declaration.
    policy: Name | None = None


@attrs.frozen
class Note(Node):
    text: str


#: Where a minimum or maximum applies: to the amount before or after the prorations.
LimitPlace = Literal["before proration", "after proration"]


@attrs.frozen
class Limit(Node):
    """``at least 5_000 NOK`` or ``at most 50_000 NOK`` on a charge: the amount is raised to
    the minimum or cut to the maximum, before or after the prorations (``place``; None: not
    said, which ``check`` accepts only for a charge with no prorations)."""

    kind: Literal["at least", "at most"]
    value: Expr
    place: LimitPlace | None
    reason: str | None


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
    #: ``at least`` / ``at most`` lines, as written.
    limits: tuple[Limit, ...] = ()
    #: issue 12: a pending charge limited to some customers (``for customer_type = KOMMUNE``);
    #: for the others it is not charged.
    pending_for: Cond | None = None
    #: issue 12: ``exempt from vat "reason"``: no VAT on this charge (the first of
    #: ``vat_exempts``, every such line as written: the checker reports more than one).
    vat_exempt: VatExempt | None = None
    vat_exempts: tuple[VatExempt, ...] = ()


@attrs.frozen
class VatExempt(Node):
    """issue 12: ``exempt from vat "reason"``: a charge outside the tariff's VAT."""

    reason: str | None


@attrs.frozen
class Dated(Node):
    value: Expr
    start: dt.date
    #: issue 12: ``not decided from 2026-01-01 "note"``: from this date the value is pending.
    pending: bool = False
    note: str | None = None


@attrs.frozen
class ParamDecl(Decl):
    value: Expr
    #: Values with effective dates; the one in force on 1 January of the billing year.
    dated: tuple[Dated, ...] = ()
    #: Not decided yet: a charge that uses it is pending (never counted as zero).
    pending: bool = False
    note: str | None = None
    #: issue 12: indexation: the value is adjusted every year from a base year.
    adjustment: Adjustment | None = None
    #: issue 12: which dated value a billing period takes (None: the value on 1 January).
    rule: DatedRule | None = None


@attrs.frozen
class Adjustment(Node):
    """issue 12: ``adjusted by 2.5 % every year from 2021``: the param's value is its value in
    the base year; each later year's is the year before's × (1 + rate), compounded, and
    rounded each year when ``rounding`` is given."""

    rate: Expr
    base_year: int
    rounding: Rounding | None = None


@attrs.frozen
class FormulaDecl(Decl):
    params: tuple[Name, ...]
    body: Expr


@attrs.frozen
class AggregateDecl(Decl):
    """``max of population among customer_type = KOMMUNE``, computed over the register."""

    kind: Literal["sum", "max", "min", "count"]
    of: Name
    among: Cond | None


@attrs.frozen
class PoolDecl(Decl):
    """A total shared among customers in proportion to a key (a numeric input)."""

    total: Expr
    key: Name
    among: Cond | None
    #: Shares are rounded to this step, remainders by the largest-remainder method.
    step: Decimal | None
    step_text: str | None
    #: issue 12: a mixed key: this part of the total in equal shares, ``keyed`` by the key.
    equal: PoolPart | None = None
    keyed: PoolPart | None = None
    #: issue 12: the total is rounded before it is shared (``total rounded to kroner half up``).
    total_rounding: Rounding | None = None


@attrs.frozen
class PoolPart(Node):
    """issue 12: one part of a mixed pool key: ``30 %`` (30/100) or ``1/3``."""

    numerator: Decimal
    denominator: Decimal


@attrs.frozen
class ProrationDecl(Decl):
    numerator: Decimal
    denominator: Decimal
    period: Literal["months", "days"] | None


@attrs.frozen
class RoundingDecl(Decl):
    step: Decimal
    step_text: str
    mode: RoundMode


@attrs.frozen
class VatDecl(Decl):
    """issue 12: ``vat mva "Merverdiavgift" = 25 %`` (or ``= by customer_type`` with cases):
    the VAT rate of every charge (but those ``exempt from vat``), its amount rounded per
    line as ``rounding`` says. VAT is shown beside a charge's amount, never inside it."""

    rate: Expr
    rounding: Rounding | None = None


#: issue 12: the periods a charge can be invoiced for, and how many months each has.
PeriodName = Literal["month", "quarter", "half year", "year"]
PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "half year": 6, "year": 12}

DatedRuleKind = Literal["january", "period", "days"]


@attrs.frozen
class DatedRule(Node):
    """issue 12: which value of a dated param a billing period takes: the one in force on
    1 January (``january``), on each period's first day (``period``), or each value
    weighted by the days of the period it is in force (``days``)."""

    kind: DatedRuleKind


# ---------------------------------------------------------------- examples


@attrs.frozen
class Given(Node):
    name: str
    kind: Literal["number", "date", "text", "yes/no"]
    value: Decimal | dt.date | str | bool


@attrs.frozen
class Expect(Node):
    """``charge 11_445``, ``charge pending``, ``total 11_445``, ``pool NAME 1_000``
    or ``rate NAME 1.94``; ``customer`` (``expect for "0101" ...``) in register examples."""

    charge: str | None  # None for the total
    amount: Decimal | None  # None for pending
    kind: Literal["charge", "total", "pool", "rate", "vat", "vat_total"] = "charge"
    customer: str | None = None


@attrs.frozen
class Example(Node):
    title: str
    given: tuple[Given, ...]
    year: int
    year_span: Span = attrs.field(eq=False, repr=False)
    expects: tuple[Expect, ...]
    #: A register file (relative to the tariff file) the example evaluates over.
    register: str | None = None


# ---------------------------------------------------------------- properties

PropertyKind = Literal["non_decreasing", "non_increasing", "bounded", "exceptions_lower",
                       "pool_adds_up"]


@attrs.frozen
class PropertyDecl(Decl):
    """An invariant the tariff states; ``takst test`` searches for counterexamples.

    ``subject`` is the charge (or pool); ``input`` the input that grows;
    ``low``/``high`` the bounds of ``is between``.
    """

    kind: PropertyKind
    subject: Name
    input: Name | None = None
    low: Decimal | None = None
    high: Decimal | None = None


# ---------------------------------------------------------------- the file


#: The per-kind views of a tariff: attribute name -> the declaration class it holds.
KINDS: dict[str, type[Node]] = {
    "imports": Import,
    "inputs": InputDecl,
    "settings": SettingDecl,
    "lists": ListDecl,
    "categories": CategoriesDecl,
    "groups": GroupDecl,
    "bands": BandsDecl,
    "slices": SlicesDecl,
    "params": ParamDecl,
    "formulas": FormulaDecl,
    "aggregates": AggregateDecl,
    "pools": PoolDecl,
    "prorations": ProrationDecl,
    "roundings": RoundingDecl,
    "vats": VatDecl,
    "charges": ChargeDecl,
    "examples": Example,
    "properties": PropertyDecl,
}

#: Every class that stands at the top level of a file (headers included).
TOP_LEVEL: tuple[type[Node], ...] = (Header, *KINDS.values())


def _replace_kind(decls: list[Node], cls: type[Node], new: tuple[Node, ...]) -> None:
    """Put ``new`` in place of the declarations of class ``cls``: one for one where the
    count is the same, else all of them where the first one stood (or at the end)."""
    at = [i for i, d in enumerate(decls) if type(d) is cls]
    if len(at) == len(new):
        for i, d in zip(at, new, strict=True):
            decls[i] = d
        return
    first = at[0] if at else len(decls)
    for i in reversed(at):
        del decls[i]
    decls[first:first] = new


@attrs.frozen(init=False)
class Tariff(Node):
    """A whole ``.tariff`` file: its declarations in the order written.

    ``declarations`` holds every top-level construct (headers, imports, inputs,
    bands, charges, examples, ...) in source order; ``tariff.charges``,
    ``tariff.inputs``, ... are views of one kind each, in the same order. A module's
    shared declarations, once imported, follow the importing file's own.

    The views can also be given to the constructor (and to :func:`attrs.evolve`):
    ``attrs.evolve(tariff, charges=new)`` puts the new charges where the old ones
    stood.
    """

    file: str
    declarations: tuple[Node, ...]
    is_module: bool
    #: The module files imported, directly or through other modules.
    modules: tuple[str, ...]
    _views: dict[type[Node], tuple[Node, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False)

    def __init__(
        self,
        file: str,
        declarations: Sequence[Node] = (),
        *,
        span: Span,
        is_module: bool = False,
        modules: tuple[str, ...] = (),
        header: Header | None = None,
        extra_headers: tuple[Header, ...] | None = None,
        **views: tuple[Node, ...],
    ) -> None:
        decls = list(declarations)
        unknown = set(views) - set(KINDS)
        if unknown:
            raise TypeError(f"Tariff() got unexpected keyword arguments {sorted(unknown)}")
        if header is not None or extra_headers is not None:
            old = [d for d in decls if isinstance(d, Header)]
            new_headers = (
                (header,) if header is not None else tuple(old[:1])
            ) + (extra_headers if extra_headers is not None else tuple(old[1:]))
            _replace_kind(decls, Header, new_headers)
        for name, new in views.items():
            _replace_kind(decls, KINDS[name], tuple(new))
        self.__attrs_init__(file, tuple(decls), is_module, modules, span=span)
        by_kind: dict[type[Node], list[Node]] = {cls: [] for cls in TOP_LEVEL}
        for d in self.declarations:
            by_kind.setdefault(type(d), []).append(d)
        object.__setattr__(self, "_views", {cls: tuple(v) for cls, v in by_kind.items()})

    def replace(self, **views: tuple[Node, ...]) -> Tariff:
        """This tariff with the declarations of some kinds replaced, e.g.
        ``tariff.replace(charges=new)`` (each where the old ones stood; typed, unlike
        ``attrs.evolve`` with a view)."""
        changes: dict[str, Any] = dict(views)
        return Tariff(self.file, self.declarations, span=self.span, is_module=self.is_module,
                      modules=self.modules, **changes)

    def of_kind(self, cls: type[N]) -> tuple[N, ...]:
        """The declarations of class ``cls``, in source order."""
        return self._views.get(cls, ())  # type: ignore[return-value]

    @property
    def header(self) -> Header | None:
        headers = self.of_kind(Header)
        return headers[0] if headers else None

    @property
    def extra_headers(self) -> tuple[Header, ...]:
        """Extra header blocks (a file may have only one; the checker reports the rest)."""
        return self.of_kind(Header)[1:]

    @property
    def imports(self) -> tuple[Import, ...]:
        return self.of_kind(Import)

    @property
    def inputs(self) -> tuple[InputDecl, ...]:
        return self.of_kind(InputDecl)

    @property
    def settings(self) -> tuple[SettingDecl, ...]:
        return self.of_kind(SettingDecl)

    @property
    def lists(self) -> tuple[ListDecl, ...]:
        return self.of_kind(ListDecl)

    @property
    def categories(self) -> tuple[CategoriesDecl, ...]:
        return self.of_kind(CategoriesDecl)

    @property
    def groups(self) -> tuple[GroupDecl, ...]:
        return self.of_kind(GroupDecl)

    @property
    def bands(self) -> tuple[BandsDecl, ...]:
        return self.of_kind(BandsDecl)

    @property
    def slices(self) -> tuple[SlicesDecl, ...]:
        return self.of_kind(SlicesDecl)

    @property
    def params(self) -> tuple[ParamDecl, ...]:
        return self.of_kind(ParamDecl)

    @property
    def formulas(self) -> tuple[FormulaDecl, ...]:
        return self.of_kind(FormulaDecl)

    @property
    def aggregates(self) -> tuple[AggregateDecl, ...]:
        return self.of_kind(AggregateDecl)

    @property
    def pools(self) -> tuple[PoolDecl, ...]:
        return self.of_kind(PoolDecl)

    @property
    def prorations(self) -> tuple[ProrationDecl, ...]:
        return self.of_kind(ProrationDecl)

    @property
    def roundings(self) -> tuple[RoundingDecl, ...]:
        return self.of_kind(RoundingDecl)

    @property
    def charges(self) -> tuple[ChargeDecl, ...]:
        return self.of_kind(ChargeDecl)

    @property
    def vats(self) -> tuple[VatDecl, ...]:
        """issue 12: the VAT declarations (a tariff has at most one; the checker says so)."""
        return self.of_kind(VatDecl)

    @property
    def examples(self) -> tuple[Example, ...]:
        return self.of_kind(Example)

    @property
    def properties(self) -> tuple[PropertyDecl, ...]:
        return self.of_kind(PropertyDecl)

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


# ---------------------------------------------------------------- walking the tree


def iter_child_nodes(node: Node) -> Iterator[Node]:
    """The nodes directly inside ``node``, field by field in declaration order (a field
    holding a tuple gives its nodes in order). Spans and other non-node values are skipped."""
    for f in _node_fields(type(node)):
        value = getattr(node, f)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for v in value:
                if isinstance(v, Node):
                    yield v


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, depth first, field by field (iterative:
    no recursion limit, however deep the tree)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(iter_child_nodes(current))))


def find_all(node: Node, cls: type[N] | tuple[type[N], ...]) -> Iterator[N]:
    """Every node of class ``cls`` (or of one of the classes) at or below ``node``."""
    for n in walk(node):
        if isinstance(n, cls):
            yield n


_FIELDS: dict[type, tuple[str, ...]] = {}

#: Fields that repeat a node held in another field (a charge's first body and first
#: rounding are also in ``bodies`` and ``roundings``): walked once, through the tuple.
_REPEATS: dict[type, frozenset[str]] = {
    ChargeDecl: frozenset({"body", "rounding", "vat_exempt"})}


def _node_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        skip = {"span", "year_span", "_views"}
        if cls is Tariff:
            names = ("declarations",)
        else:
            skip |= _REPEATS.get(cls, frozenset())
            names = tuple(f.name for f in attrs.fields(cls) if f.name not in skip)
        _FIELDS[cls] = names
    return names
