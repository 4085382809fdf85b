"""A checked tariff and a billing year, compiled to one SQL query over a customer relation.

The query computes, for every customer, every charge's status and exact amount,
with the same order of work as the reference interpreter: frequency and services ->
base (table, cases or expression) -> exceptions -> prorations -> rounding.

Exact arithmetic in SQL: every value is a fraction ``num / den`` of 128-bit integers
(``HUGEINT``). A denominator known when compiling (a literal, a parameter, a
register-wide value, an input's decimal scale) stays a Python integer, so most
denominators never reach the SQL; division by a customer's value makes it an SQL
expression. No ``DECIMAL / DECIMAL`` (DuckDB answers a ``DOUBLE``) and no float ever
touches an amount: the compiler writes rounding as integer arithmetic
(half up: ``(2n + d) // (2d)`` over the absolute values). DuckDB raises on a
``HUGEINT`` overflow, so an amount too large for 128 bits is an error, never a
wrapped number.

A value the amount needs that is missing (an optional input not given, a pending
parameter or case) is pending; a case ``not offered`` means the charge is not
charged. Both travel as a *status* beside the value: NULL (a value), ``'P'``
(pending) or ``'N'`` (not offered), combined left to right with ``COALESCE`` so the
first one met in the interpreter's order wins, as the interpreter's exceptions do.

A construct with no SQL form here makes :func:`compile_tariff` return
:class:`Unsupported` naming it: the tariff then runs on the interpreter, never with a
wrong number.

The customer relation has the columns ``_row`` (input order), ``id``, ``name``,
``customer_type``, ``services`` (``VARCHAR[]``, NULL: every charge) and one column
per input named ``"i_<input>"``: numbers as ``HUGEINT`` scaled by ``10**scale``
(the scale the plan asks for), yes/no as ``BOOLEAN``, dates as ``DATE``, text as
``VARCHAR``; NULL where a value is not given.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from fractions import Fraction

import attrs

from takst.dsl import ast
from takst.dsl.errors import Span
from takst.dsl.intervals import band_interval
from takst.dsl.periods import (
    bound_params,
    periods_of,
    rate_factor,
    resolve_band,
    segments,
    shared_days,
    year_period,
)
from takst.dsl.periods import in_force as value_in_force
from takst.dsl.symbols import BILLING_YEAR, BUILTIN_TEXT, Symbols
from takst.interpreter.exact import round_fraction
from takst.interpreter.prepare import cond_words, empty_message
from takst.interpreter.words import expr_label

ZERO = Decimal(0)
#: Numeric inputs whose values are whole numbers.
WHOLE_KINDS = ("inhabitants", "count")
HUGE = 2**127 - 1


@attrs.frozen
class Unsupported:
    """A construct the SQL compiler does not handle: the tariff falls back to the interpreter."""

    construct: str
    span: Span | None
    #: The engine that cannot compile it: ``batch`` (DuckDB) or ``Spark``.
    engine: str = "batch"

    @property
    def note(self) -> str:
        where = f" ({self.span.file}:{self.span.line})" if self.span is not None else ""
        return (f"the {self.engine} engine cannot compile {self.construct}{where}; "
                "this tariff is evaluated by the interpreter")


class _NoBound(Exception):
    """issue 12: a param bound with no value for the year (its error, where it is used)."""

    def __init__(self, x: X) -> None:
        super().__init__(x.num)
        self.x = x


class _Unsupported(Exception):
    def __init__(self, construct: str, span: Span | None) -> None:
        super().__init__(construct)
        self.result = Unsupported(construct, span)


@attrs.frozen
class Constants:
    """The values of the whole evaluation a plan is compiled with."""

    settings: Mapping[str, object] = attrs.field(factory=dict)
    aggregates: Mapping[str, Fraction] = attrs.field(factory=dict)
    #: pool name -> (total, key sum) as the register gives them.
    pools: Mapping[str, tuple[Fraction, Fraction]] = attrs.field(factory=dict)
    #: aggregate name -> why the register gives it no value: an error for a customer only
    #: where its amount needs it (carried as the status, so it is met in the interpreter's
    #: order).
    empty: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ChargeOut:
    name: str
    label: str
    #: Decimal places of the amount column.
    scale: int
    #: False where the charge's status can never be ``pending`` (its status expression
    #: has no such value): its columns are written without a test of it.
    may_pend: bool = True


@attrs.frozen
class Placed:
    """Where an error the query may raise belongs in the tariff: a message that starts with
    ``before`` and ends with ``after`` (the customer's name between them) is given ``span``,
    ``hint`` and ``related``, as the interpreter gives them."""

    before: str
    after: str
    span: Span | None
    hint: str | None = None
    related: tuple[tuple[str, Span], ...] = ()

    def matches(self, message: str) -> bool:
        return (message.startswith(self.before) and message.endswith(self.after)
                and len(message) >= len(self.before) + len(self.after))


@attrs.frozen
class Plan:
    """The compiled query: ``sql`` selects from the relation named by ``source``."""

    tariff: ast.Tariff
    year: int
    #: The scale each numeric input column must be loaded at.
    scales: Mapping[str, int]
    charges: tuple[ChargeOut, ...]
    #: ``WITH`` parts (pool shares) and the query; ``{src}`` stands for the customer relation.
    sql: str
    #: The positions of the errors the query may raise.
    placed: tuple[Placed, ...] = ()
    #: The SQL dialect of ``sql``: ``duckdb`` or ``spark``.
    dialect: str = "duckdb"
    #: The query selects and projects the customer relation only (no pool's join), so
    #: DuckDB gives its rows in the relation's order without the final sort (with the
    #: ``IN`` rewrite off: :func:`takst.interpreter.batch.columnar.in_order`).
    keeps_order: bool = False

    def narrowed(self) -> Plan:
        """The same plan in 64-bit integers (``BIGINT``, and its amounts ``DECIMAL(18, s)``),
        about twice as fast as 128-bit ones, for a relation whose numbers are ``BIGINT``
        too. DuckDB raises on a ``BIGINT`` overflow, and on an amount that does not fit
        ``DECIMAL(18, s)``, as on a ``HUGEINT`` one, so the caller runs this plan first and
        the 128-bit one when it raises so (:func:`overflowed`): never a wrapped number. (No
        text literal of a plan spells a type: its messages are phrases and names.)"""
        sql = _WIDE.sub(lambda m: m.group(1) + "BIGINT", self.sql)
        return attrs.evolve(self, sql=sql.replace("DECIMAL(38,", "DECIMAL(18,"))

    def query(self, src: str, *, sort: bool = True) -> str:
        """The query over ``src``; ``sort=False`` leaves out its final ``ORDER BY _row``,
        for a query that reads it as a subquery and sorts its own result (one sort, not
        two: DuckDB keeps a subquery's order only where no operator reorders, and an
        ``IN`` list of constants is a join)."""
        return (self.sql if sort else self.sql.removesuffix(_SORTED)).replace("{src}", src)


_SORTED = " ORDER BY _row"
_WIDE = re.compile(r"(::|\bAS )HUGEINT\b")
#: A number of at most this many digits (scaled to an integer) fits a ``BIGINT``.
NARROW_DIGITS = 18


def overflowed(err: Exception) -> bool:
    """True for DuckDB's error on an integer overflow (or a value out of a type's range)."""
    text = str(err)
    return "Overflow" in text or "Out of Range" in text or "out of range" in text


# ------------------------------------------------------------------ SQL text helpers


def lit(n: int) -> str:
    if abs(n) > HUGE:
        raise _Unsupported(f"a number too large for 128 bits ({n})", None)
    return f"{n}::HUGEINT" if n >= 0 else f"({n})::HUGEINT"


def text_lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def col(name: str) -> str:
    return quote("i_" + name)


def error_sql(message_sql: str) -> str:
    """An SQL error raised for the row (never folded away: the message names the customer)."""
    return f"error({message_sql})"


#: The parts of each status ``combine`` built, so that combining flattens and dedupes.
_PARTS: dict[str, tuple[str, ...]] = {}


def combine(*sts: str | None) -> str | None:
    """The first status met, left to right (``COALESCE``), each part once."""
    parts: list[str] = []
    for s in sts:
        if s is None:
            continue
        for p in _PARTS.get(s, (s,)):
            if p not in parts:
                parts.append(p)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    out = "COALESCE(" + ", ".join(parts) + ")"
    _PARTS[out] = tuple(parts)
    return out


def scale_of(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)


def scaled(d: Decimal, scale: int) -> int:
    """``d * 10**scale`` as an integer; ``scale`` is at least the decimal's own."""
    v = d.scaleb(scale)
    assert v == v.to_integral_value(), (d, scale)
    return int(v)


# ------------------------------------------------------------------ values


@attrs.frozen
class X:
    """A compiled value: ``num / den`` and a status (NULL: a value, 'P' pending, 'N' not offered)."""

    num: str
    den: int | str
    st: str | None = None
    const: Fraction | None = None

    @staticmethod
    def of(f: Fraction) -> X:
        return X(lit(f.numerator), f.denominator, None, f)

    def num_at(self, den: int) -> str:
        """The numerator over ``den`` (a multiple of this value's static denominator)."""
        assert isinstance(self.den, int)
        factor = den // self.den
        return self.num if factor == 1 else f"({self.num} * {lit(factor)})"

    def den_sql(self) -> str:
        return lit(self.den) if isinstance(self.den, int) else self.den


PENDING = "P"
NOT_OFFERED = "N"
#: A branch of a choice: a value, pending, not offered, or an SQL error.
Branch = X | str


def choose(branches: list[tuple[str, Branch]], else_: Branch, pre_st: str | None = None, *,
           key: str | None = None, guard: str | None = None) -> X:
    """``CASE WHEN cond THEN branch ... ELSE else_ END`` over values and statuses.

    With ``key``, each condition is a literal the key is compared with (``CASE key WHEN``).
    Where ``guard`` holds the value is NULL (its status is in ``pre_st``)."""
    arms = [*branches, ("", else_)]
    values = [b for _, b in arms if isinstance(b, X)]
    static = all(isinstance(v.den, int) for v in values)
    common = 1
    if static:
        for v in values:
            assert isinstance(v.den, int)
            common = common * v.den // math.gcd(common, v.den)
    den: int | str = common

    def case(parts: list[tuple[str, str]]) -> str:
        *whens, (_, last) = parts
        if not whens:
            out = last
        else:
            body = " ".join(f"WHEN {c} THEN {v}" for c, v in whens)
            out = f"CASE {key} {body} ELSE {last} END" if key else f"CASE {body} ELSE {last} END"
        return f"CASE WHEN {guard} THEN NULL ELSE {out} END" if guard else out

    def num_of(b: Branch) -> str:
        if isinstance(b, X):
            return b.num_at(den) if static else b.num  # type: ignore[arg-type]
        if b in (PENDING, NOT_OFFERED):
            return "NULL"
        return b  # an error

    num = case([(c, num_of(b)) for c, b in arms])
    if not static:
        den = case([(c, b.den_sql() if isinstance(b, X) else "1::HUGEINT") for c, b in arms])

    def st_of(b: Branch) -> str:
        if isinstance(b, X):
            return b.st or "NULL"
        if b in (PENDING, NOT_OFFERED):
            return text_lit(b)
        return "NULL"

    sts = [(c, st_of(b)) for c, b in arms]
    st = None if all(v == "NULL" for _, v in sts) else case(sts)
    return X(num, den, combine(pre_st, st))


@attrs.frozen
class Cnd:
    """A compiled condition: a boolean and a status."""

    sql: str
    st: str | None = None


@attrs.frozen
class Op:
    """A compiled operand: its kind, SQL (or a value for numbers) and status."""

    kind: str  # "num", "date", "text", "bool"
    sql: str
    x: X | None = None
    st: str | None = None


# ------------------------------------------------------------------ the compiler


class Compiler:
    def __init__(self, tariff: ast.Tariff, year: int, consts: Constants,
                 data_scales: Mapping[str, int] | None = None,
                 complete: Collection[str] = ()) -> None:
        self.t = tariff
        self.year = year
        self.consts = consts
        self.sym = Symbols(tariff)
        self.lists = {lst.name: [i.value for i in lst.items] for lst in tariff.lists}
        self.groups = {g.name: [m.name for m in g.members] for g in tariff.groups}
        self.inputs = {i.name: i for i in tariff.inputs}
        #: The inputs the register has a value of for every customer: never pending, so
        #: their emptiness is not tested (the register's loader knows it).
        self.complete = frozenset(complete)
        self.scales: dict[str, int] = {}
        for name, inp in self.inputs.items():
            if inp.type.kind in ("inhabitants", "count", "number", "money"):
                self.scales[name] = (data_scales or {}).get(name, 0)
        self._bump_scales()
        self._bump_bound_scales()  # issue 12
        #: issue 12: the billing period being compiled (the year, or one period of a charge
        #: invoiced per month, quarter or half year) and its length in months.
        self.period = year_period(year)
        self.months = 12
        self.params: dict[str, X] = {}
        self.env: dict[str, X] = {}
        self.ctes: list[str] = []
        self.pool_cols: dict[str, X] = {}
        #: band name -> the first level's column that holds each customer's band
        self.band_cols: dict[str, str] = {}
        self.placed: list[Placed] = []

    def unknown(self, name: str) -> str | None:
        """The status of input ``name`` where its value is unknown (an empty cell: pending),
        or None where every customer has a value (:attr:`complete`)."""
        if name in self.complete:
            return None
        return f"CASE WHEN {col(name)} IS NULL THEN 'P' END"

    def _bump_scales(self) -> None:
        """A numeric column's scale covers the decimals of the bounds it is compared with."""
        for b in self.t.bands:
            for band in b.bands:
                for bound in (band.lower, band.upper):
                    if bound is not None and b.subject.name in self.scales:
                        self.scales[b.subject.name] = max(self.scales[b.subject.name],
                                                          scale_of(bound.value))
        for s in self.t.slices:
            for sl in s.slices:
                for bound in (sl.lower, sl.upper):
                    if bound is not None and s.subject.name in self.scales:
                        self.scales[s.subject.name] = max(self.scales[s.subject.name],
                                                          scale_of(bound.value))

    def _bump_bound_scales(self) -> None:
        """issue 12: a column compared with a param bound covers the decimals of its values."""
        decls: list[ast.BandsDecl | ast.SlicesDecl] = [*self.t.bands, *self.t.slices]
        for decl in decls:
            subject = decl.subject.name
            if subject not in self.scales:
                continue
            for name in bound_params(decl):
                p = self.sym.param(name)
                if p is None:
                    continue
                for v in ([d.value for d in p.dated] if p.dated else [p.value]):
                    if isinstance(v, ast.Number):
                        self.scales[subject] = max(self.scales[subject], scale_of(v.value))

    # -------------------------------------------------------------- arithmetic
    def binop(self, op: str, a: X, b: X, span: Span, label: str = "the divisor") -> X:
        if a.const is not None and b.const is not None:
            if op == "+":
                return X.of(a.const + b.const)
            if op == "-":
                return X.of(a.const - b.const)
            if op == "*":
                return X.of(a.const * b.const)
            if b.const != 0:
                return X.of(a.const / b.const)
        st = combine(a.st, b.st)
        if op in "+-":
            if isinstance(a.den, int) and isinstance(b.den, int):
                den = a.den * b.den // math.gcd(a.den, b.den)
                return X(f"({a.num_at(den)} {op} {b.num_at(den)})", den, st)
            return X(f"({a.num} * {b.den_sql()} {op} {b.num} * {a.den_sql()})",
                     f"({a.den_sql()} * {b.den_sql()})", st)
        if op == "*":
            if isinstance(a.den, int) and isinstance(b.den, int):
                return X(f"({a.num} * {b.num})", a.den * b.den, st)
            return X(f"({a.num} * {b.num})", f"({a.den_sql()} * {b.den_sql()})", st)
        # division: by the right side's value, an error where it is 0
        guard = f"{b.num} = 0" if st is None else f"{st} IS NULL AND {b.num} = 0"
        msg = error_sql(text_lit(f"division by zero: {label} is 0 for ") + " || name")
        num = f"(CASE WHEN {guard} THEN {msg} ELSE {a.num} * {b.den_sql()} END)"
        if b.const is not None:
            if b.const == 0:
                return X(num, 1, st)
            f = 1 / b.const
            return self.binop("*", a, X.of(f), span)
        return X(num, f"({a.den_sql()} * {b.num})", st)

    # -------------------------------------------------------------- expressions
    def expr(self, e: ast.Expr) -> X:
        if isinstance(e, ast.Number):
            value = Fraction(e.value) / 100 if e.percent else Fraction(e.value)
            factor = rate_factor(e.per, _PERIOD_OF_MONTHS[self.months])
            if factor is not None:  # issue 12: a price per period, for the period compiled
                value = value * factor[0] / factor[1]
            return X.of(value)
        if isinstance(e, ast.Ref):
            return self.ref(e)
        if isinstance(e, ast.Call):
            formula = self.sym.formula(e.name)
            assert formula is not None
            args = [self.expr(a) for a in e.args]
            saved = self.env
            self.env = {p.name: v for p, v in zip(formula.params, args, strict=True)}
            try:
                body = self.expr(formula.body)
            finally:
                self.env = saved
            return attrs.evolve(body, st=combine(*(a.st for a in args), body.st))
        if isinstance(e, ast.Cases):
            return self.cases(e)
        if isinstance(e, ast.BinOp):
            return self.binop(e.op, self.expr(e.left), self.expr(e.right), e.span,
                              expr_label(e.right))
        if isinstance(e, ast.Extreme):  # issue 12
            return self.extreme(e)
        if isinstance(e, ast.PerStarted):
            return self.per_started(e)
        if isinstance(e, ast.RoundExpr):
            return self.round_expr(e)
        raise _Unsupported(f"the expression {type(e).__name__}", e.span)

    # -------------------------------------------------------------- issue 12
    def less(self, a: X, b: X) -> str:
        """The SQL of ``a < b``, exactly (static denominators are above zero)."""
        if isinstance(a.den, int) and isinstance(b.den, int):
            return f"({a.num} * {lit(b.den)} < {b.num} * {lit(a.den)})"
        return (f"(({a.num} * {b.den_sql()} - {b.num} * {a.den_sql()}) * sign({a.den_sql()}) "
                f"* sign({b.den_sql()}) < 0)")

    def pick(self, a: X, b: X, low: bool) -> X:
        """The least (``low``) or the greatest of two values, with both their statuses."""
        if a.const is not None and b.const is not None:
            return X.of(min(a.const, b.const) if low else max(a.const, b.const))
        cond = self.less(b, a) if low else self.less(a, b)
        picked = choose([(cond, attrs.evolve(b, st=None))], attrs.evolve(a, st=None))
        return attrs.evolve(picked, st=combine(a.st, b.st))

    def extreme(self, e: ast.Extreme) -> X:
        values = [self.expr(a) for a in e.args]
        out = values[0]
        for v in values[1:]:
            out = self.pick(out, v, e.op == "min")
        return out

    def per_started(self, e: ast.PerStarted) -> X:
        q, price = self.expr(e.quantity), self.expr(e.price)
        if not isinstance(q.den, int):
            raise _Unsupported(f"a price per started block of a divided value ({expr_label(e.quantity)})",
                               e.span)
        fb = Fraction(e.block)
        n = q.num if fb.denominator == 1 else f"({q.num} * {lit(fb.denominator)})"
        m = lit(q.den * fb.numerator)
        blocks = f"(CASE WHEN {n} >= 0 THEN ({n} + {m} - 1) // {m} ELSE -((-{n}) // {m}) END)"
        return X(f"({price.num} * {blocks})", price.den, combine(q.st, price.st))

    def rounded(self, x: X, step: Decimal, mode: str) -> X:
        """``x`` rounded to a multiple of ``step`` (as a charge's round line does)."""
        s = scale_of(step)
        fs = Fraction(step)
        a = x.num if fs.denominator == 1 else f"({x.num} * {lit(fs.denominator)})"
        if isinstance(x.den, int):
            b = lit(x.den * fs.numerator)
            sign = f"sign({a})"
        else:
            b = f"abs({x.den} * {lit(fs.numerator)})"
            sign = f"(sign({a}) * sign({x.den}))"
        m = f"abs({a})"
        if mode == "down":
            k = f"({m} // {b})"
        elif mode == "up":
            k = f"(({m} + {b} - 1) // {b})"
        elif mode == "half up":
            k = f"((2 * {m} + {b}) // (2 * {b}))"
        else:
            q0 = f"({m} // {b})"
            r2 = f"(2 * ({m} - {q0} * {b}))"
            k = (f"({q0} + CASE WHEN {r2} > {b} OR ({r2} = {b} AND {q0} % 2 = 1) "
                 f"THEN 1 ELSE 0 END)")
        unit = scaled(step, s)
        num = f"({sign} * {k})" if unit == 1 else f"({sign} * {k} * {lit(unit)})"
        return X(num, 10**s, x.st)

    def round_expr(self, e: ast.RoundExpr) -> X:
        step, _, mode = self.sym.rule_of(e)
        x = self.expr(e.value)
        if x.const is not None:
            return X.of(Fraction(round_fraction(x.const, step, mode)))
        return self.rounded(x, step, mode)

    def limited(self, charge: ast.ChargeDecl, x: X, place: str) -> X:
        """``x`` raised to the charge's ``at least`` / cut to its ``at most`` of ``place``."""
        for lim in charge.limits:
            if (lim.place or "after proration") == place:
                bound = self.expr(lim.value)
                x = self.pick(x, bound, lim.kind == "at most")
        return x

    def ref(self, e: ast.Ref) -> X:
        name = e.name
        if name in self.env:
            return self.env[name]
        if name == BILLING_YEAR:
            return X.of(Fraction(self.year))
        kind = self.sym.kind(name)
        if kind == "param":
            if name not in self.params:
                self.params[name] = self.param(name)
            return self.params[name]
        if kind == "setting":
            value = self.consts.settings.get(name)
            if value is None:
                return X(error_sql(text_lit(f"setting {name} has no value") + " || ''"), 1)
            if not isinstance(value, Decimal):
                raise _Unsupported(f"the non-numeric setting {name} in a calculation", e.span)
            return X.of(Fraction(value))
        if kind == "aggregate":
            if name in self.consts.aggregates:
                return X.of(self.consts.aggregates[name])
            if name in self.consts.empty:
                before, after = empty_message(name, "\0", self.consts.empty[name]).split("\0")
                decl = self.sym.aggregate(name)
                among = (f" ({cond_words(decl.among)})"
                         if decl is not None and decl.among is not None else "")
                self.placed.append(Placed(
                    before, after, e.span,
                    f"check the aggregate's `among` condition{among} and the register",
                    (("the aggregate is declared here", decl.span),) if decl else ()))
                return X("NULL::HUGEINT", 1,
                         error_sql(text_lit(before) + " || name || " + text_lit(after)))
            given = self.consts.settings.get(name)
            if isinstance(given, Decimal):
                return X.of(Fraction(given))
            return X(error_sql(text_lit(
                f"aggregate {name} is computed over a register, and there is none here")
                + " || ''"), 1)
        if kind == "pool":
            return self.pool_share(name, e.span)
        if kind == "slices":
            return self.slices(name)
        inp = self.inputs.get(name)
        if inp is None or name not in self.scales:
            raise _Unsupported(f"the value {name} in a calculation", e.span)
        return X(col(name), 10 ** self.scales[name], self.unknown(name))

    def param(self, name: str) -> X:
        p = self.sym.param(name)
        assert p is not None
        if p.pending:
            return X("NULL", 1, "'P'")
        value = p.value
        rule = p.rule.kind if p.rule is not None else "january"
        if p.dated and rule == "days":  # issue 12: weighted by the days of the period
            total: X | None = None
            for d, days in segments(p.dated, self.period):
                if d is None:
                    return X(error_sql(text_lit(
                        f"{name} has no value on {self.period.start.isoformat()}: its first "
                        f"value is from {p.dated[0].start.isoformat()}") + " || ''"), 1)
                part = self.binop("*", self.expr(d.value),
                                  X.of(Fraction(days, self.period.days)), p.span)
                total = part if total is None else self.binop("+", total, part, p.span)
            assert total is not None
            return total
        if p.dated and rule == "period":  # issue 12: the value at the period's start
            chosen = value_in_force(p.dated, self.period.start)
            if chosen is None:
                return X(error_sql(text_lit(
                    f"{name} has no value on {self.period.start.isoformat()}: its first value "
                    f"is from {p.dated[0].start.isoformat()}") + " || ''"), 1)
            return self.expr(chosen.value)
        if p.dated:
            jan1 = dt.date(self.year, 1, 1)
            in_force = [d for d in p.dated if d.start <= jan1]
            if not in_force:
                return X(error_sql(text_lit(
                    f"{name} has no value for billing year {self.year}: its first value is "
                    f"from {p.dated[0].start.isoformat()}") + " || ''"), 1)
            value = in_force[-1].value
        return self.expr(value)

    def pool_share(self, name: str, span: Span) -> X:
        if name in self.pool_cols:
            return self.pool_cols[name]
        pool = self.sym.pool(name)
        assert pool is not None
        given = self.consts.pools.get(name)
        if given is None:
            x = X(error_sql(text_lit(
                f"pool {name} is shared over a register, and there is none here") + " || ''"), 1)
            self.pool_cols[name] = x
            return x
        total, key_sum = given
        key = pool.key.name
        if key not in self.scales:
            raise _Unsupported(f"pool {name} shared by a non-numeric value", span)
        s = self.scales[key]
        member = "TRUE" if pool.among is None else self.cond(pool.among).sql
        # exact share = total * k / key_sum, with k = i_key / 10**s
        e_den = total.denominator * 10**s * key_sum.numerator
        e_num = f"({col(key)} * {lit(total.numerator * key_sum.denominator)})"
        cte = quote(f"_pool_{name}")
        if pool.step is None:
            self.ctes.append(f"{cte} AS (SELECT _row, {e_num} AS v FROM {{src}} "
                             f"WHERE {member})")
            x = X(f"COALESCE({quote(f'_pool_{name}__v')}, 0::HUGEINT)", e_den)
        else:
            step = Fraction(pool.step)
            units_total = total / step
            u_den = e_den * step.numerator
            u_num = f"({e_num} * {lit(step.denominator)})"
            floor = (f"CASE WHEN {u_num} >= 0 THEN {u_num} // {lit(u_den)} "
                     f"ELSE -((-{u_num} + {lit(u_den - 1)}) // {lit(u_den)}) END")
            assert units_total.denominator == 1
            self.ctes.append(
                f"{cte} AS (SELECT _row, fl + CASE WHEN row_number() OVER (ORDER BY rm DESC, _row) "
                f"<= {lit(int(units_total))} - sum(fl) OVER () THEN 1 ELSE 0 END AS v "
                f"FROM (SELECT _row, fl, u - fl * {lit(u_den)} AS rm FROM "
                f"(SELECT _row, {u_num} AS u, {floor} AS fl FROM {{src}} WHERE {member})))")
            x = X(f"(COALESCE({quote(f'_pool_{name}__v')}, 0::HUGEINT) * {lit(step.numerator)})",
                  step.denominator)
        self.pool_cols[name] = x
        return x

    def slices(self, name: str) -> X:
        decl = self.sym.slices(name)
        assert decl is not None
        if decl.rule == "volume":
            return self.volume(decl)
        subject = decl.subject.name
        inp = self.inputs.get(subject)
        if inp is None or subject not in self.scales:
            raise _Unsupported(f"slices {name} over a value that is not a numeric input", decl.span)
        s = self.scales[subject]
        one = 10**s
        q = col(subject)
        whole = inp.type.kind in WHOLE_KINDS
        total: X | None = None
        try:
            values = self.bound_values(decl)
        except _NoBound as no:
            return no.x
        for sl in decl.slices:
            iv = band_interval(resolve_band(sl, values) if values else sl, ZERO)
            lo = Fraction(iv.lo if iv.lo is not None else 0)
            hi = Fraction(iv.hi) if iv.hi is not None else None
            if whole:
                first = max(lo if iv.lo_incl else lo + 1, Fraction(1))
                top = None if hi is None else (hi if iv.hi_incl else hi - 1)
                last = q if top is None else f"least({q}, {lit(_int(top * one))})"
                units = f"greatest(0::HUGEINT, {last} - {lit(_int(first * one) - one)})"
            else:
                top_sql = q if hi is None else f"least({q}, {lit(_int(hi * one))})"
                units = f"greatest(0::HUGEINT, {top_sql} - {lit(_int(lo * one))})"
            rate = self.expr(sl.rate) if sl.rate is not None else X.of(Fraction(0))
            part = self.binop("*", X(units, one), rate, sl.span)
            if sl.flat is not None:  # issue 12: a flat amount once the slice is reached
                reached = X(f"(CASE WHEN {units} > 0 THEN 1 ELSE 0 END)::HUGEINT", 1)
                part = self.binop("+", part, self.binop("*", reached, self.expr(sl.flat),
                                                        sl.span), sl.span)
            total = part if total is None else self.binop("+", total, part, sl.span)
        assert total is not None
        return attrs.evolve(total, st=combine(self.unknown(subject), total.st))

    def volume(self, decl: ast.SlicesDecl) -> X:
        """Issue 12: the whole quantity at the rate of the band it is in, plus its flat amount."""
        subject = decl.subject.name
        if subject not in self.scales:
            raise _Unsupported(f"volume {decl.name} over a value that is not a numeric input",
                               decl.span)
        s = self.scales[subject]
        v = col(subject)
        q = X(v, 10**s)
        branches: list[tuple[str, Branch]] = []
        for sl in decl.slices:
            iv = band_interval(sl, ZERO)
            conds = []
            if iv.lo is not None:
                conds.append(f"{v} {'>=' if iv.lo_incl else '>'} {lit(scaled(iv.lo, s))}")
            if iv.hi is not None:
                conds.append(f"{v} {'<=' if iv.hi_incl else '<'} {lit(scaled(iv.hi, s))}")
            rate = self.expr(sl.rate) if sl.rate is not None else X.of(Fraction(0))
            price = self.binop("*", q, rate, sl.span)
            if sl.flat is not None:
                price = self.binop("+", price, self.expr(sl.flat), sl.span)
            branches.append((" AND ".join(conds) or "TRUE", price))
        msg = error_sql(text_lit(f"{subject} ") + f" || ({v})::VARCHAR || "
                        + text_lit(" of ") + " || name || "
                        + text_lit(f" falls in no band of {decl.name}"))
        return choose(branches, msg, self.unknown(subject),
                      guard=None if subject in self.complete else f"{v} IS NULL")

    # -------------------------------------------------------------- dimensions
    def band(self, name: str) -> tuple[str, str | None]:
        """The SQL of the band name of ``name`` for the customer, and its status.

        The band is found once per customer (a column of the first level, ``''`` when the
        value is in no band); the error for that is raised only where the band is used."""
        decl = self.sym.bands(name)
        assert decl is not None
        subject = decl.subject.name
        if subject not in self.scales:
            raise _Unsupported(f"bands {name} over a value that is not a numeric input", decl.span)
        s = self.scales[subject]
        v = col(subject)
        try:
            values = self.bound_values(decl)
        except _NoBound as no:
            return no.x.num, None
        key = name
        if values:  # issue 12: dated bounds: one column per set of bound values
            key = name + "@" + ",".join(f"{k}={values[k]}" for k in sorted(values))
        column = quote("b_" + key)
        if key not in self.band_cols:
            whens = []
            for band in decl.bands:
                iv = band_interval(resolve_band(band, values) if values else band, ZERO)
                conds = []
                if iv.lo is not None:
                    conds.append(f"{v} {'>=' if iv.lo_incl else '>'} {lit(scaled(iv.lo, s))}")
                if iv.hi is not None:
                    conds.append(f"{v} {'<=' if iv.hi_incl else '<'} {lit(scaled(iv.hi, s))}")
                whens.append(f"WHEN {' AND '.join(conds) or 'TRUE'} THEN {text_lit(band.name)}")
            if subject not in self.complete:
                whens.insert(0, f"WHEN {v} IS NULL THEN NULL")
            self.band_cols[key] = f"CASE {' '.join(whens)} ELSE '' END AS {column}"
        msg = error_sql(text_lit(f"{subject} ") + f" || ({v})::VARCHAR || "
                        + text_lit(" of ") + " || name || " + text_lit(f" falls in no band of {name}"))
        sql = f"(CASE WHEN {column} = '' THEN {msg} ELSE {column} END)"
        return sql, self.unknown(subject)

    def bound_values(self, decl: ast.BandsDecl | ast.SlicesDecl) -> dict[str, Decimal]:
        """issue 12: the values of the params named as bounds, for the period compiled."""
        values: dict[str, Decimal] = {}
        for pname in bound_params(decl):
            x = self.param(pname)
            if x.const is None and x.num.startswith("error("):
                raise _NoBound(x)  # no value for the year: the error where the band is used
            if x.const is None:
                raise _Unsupported(f"the bound {pname} of {decl.name}", decl.span)
            d = Decimal(x.const.numerator) / Decimal(x.const.denominator)
            if Fraction(d) != x.const:
                raise _Unsupported(f"the bound {pname} of {decl.name}", decl.span)
            values[pname] = d
        return values

    def dimension(self, name: str) -> tuple[str, str | None]:
        if self.sym.bands(name) is not None:
            return self.band(name)
        if name == "customer_type":
            return "customer_type", None
        inp = self.inputs.get(name)
        if inp is None:
            raise _Unsupported(f"the dimension {name}", None)
        c = col(name)
        if inp.type.kind == "yes/no":
            return f"(CASE WHEN {c} THEN 'yes' WHEN NOT {c} THEN 'no' END)", self.unknown(name)
        if inp.type.kind == "text":
            return c, self.unknown(name)
        raise _Unsupported(f"the dimension {name}", inp.span)

    def cases(self, e: ast.Cases) -> X:
        key, key_st = self.dimension(e.dim.name)
        branches: list[tuple[str, Branch]] = []

        def branch(case: ast.Case) -> Branch:
            if case.pending:
                return PENDING
            if case.value is None:
                return NOT_OFFERED
            return self.expr(case.value)

        plain = [c for c in e.cases if c.key.name not in self.groups and c.key.name != "others"]
        grouped = [c for c in e.cases if c.key.name in self.groups]
        seen: set[str] = set()
        for case in plain:
            seen.add(case.key.name)
            branches.append((text_lit(case.key.name), branch(case)))
        for case in grouped:  # a group: each member not named on its own
            b = branch(case)
            for m in self.groups[case.key.name]:
                if m not in seen:
                    seen.add(m)
                    branches.append((text_lit(m), b))
        others = next((c for c in e.cases if c.key.name == "others"), None)
        if others is not None:
            else_: Branch = branch(others)
        else:
            else_ = error_sql(text_lit(f"no case for {e.dim.name} '") + f" || {key} || "
                              + text_lit("' of ") + " || name")
        guard = None if key_st is None else f"{key_st} IS NOT NULL"
        return choose(branches, else_, key_st, key=key, guard=guard)

    def table(self, table: ast.Table) -> X:
        keys = [self.dimension(d.name) for d in table.dims]
        st = combine(*(s for _, s in keys))
        guard = None if st is None else f"{st} IS NOT NULL"
        missing = error_sql(text_lit("no table cell for ") + " || name")
        rows: list[tuple[str, Branch]] = []
        for row in table.rows:
            if table.columns:
                cells: list[tuple[str, Branch]] = [
                    (text_lit(c.name), X.of(Fraction(cell.value)))
                    for c, cell in zip(table.columns, row.cells, strict=False)]
                rows.append((text_lit(row.key.name), choose(cells, missing, key=keys[1][0])))
            elif row.cells:
                rows.append((text_lit(row.key.name), X.of(Fraction(row.cells[0].value))))
        return choose(rows, missing, st, key=keys[0][0], guard=guard)

    # -------------------------------------------------------------- conditions
    def operand(self, op: ast.Operand) -> Op:
        if op.kind == "number":
            assert isinstance(op.value, Decimal)
            return Op("num", "", X.of(Fraction(op.value)))
        if op.kind == "date":
            assert isinstance(op.value, dt.date)
            return Op("date", f"DATE '{op.value.isoformat()}'")
        if op.kind == "text":
            return Op("text", text_lit(str(op.value)))
        if op.kind == "yes/no":
            return Op("bool", "TRUE" if op.value else "FALSE")
        name = str(op.value)
        if name == BILLING_YEAR:
            return Op("num", "", X.of(Fraction(self.year)))
        if name in BUILTIN_TEXT:
            return Op("text", name)
        kind = self.sym.kind(name)
        if kind == "bands":
            sql, st = self.band(name)
            return Op("text", sql, st=st)
        if kind in ("param", "aggregate", "setting"):
            value = self.consts.settings.get(name) if kind == "setting" else None
            if isinstance(value, bool):
                return Op("bool", "TRUE" if value else "FALSE")
            if isinstance(value, dt.date):
                return Op("date", f"DATE '{value.isoformat()}'")
            if isinstance(value, str):
                return Op("text", text_lit(value))
            x = self.ref(ast.Ref(name, span=op.span))
            return Op("num", "", x, x.st)
        if kind == "category":
            return Op("text", text_lit(name))
        inp = self.inputs.get(name)
        if inp is None:
            raise _Unsupported(f"the operand {name}", op.span)
        c = col(name)
        st = self.unknown(name)
        k = inp.type.kind
        if k == "yes/no":
            return Op("bool", c, st=st)
        if k == "date":
            return Op("date", c, st=st)
        if k == "text":
            return Op("text", c, st=st)
        x = self.ref(ast.Ref(name, span=op.span))
        return Op("num", "", x, x.st)

    def cond(self, c: ast.Cond) -> Cnd:
        if isinstance(c, ast.BoolOp):
            a, b = self.cond(c.left), self.cond(c.right)
            # the value where the statuses say it is known: a constant side decides it
            if c.op == "and":
                st = combine(a.st, None if b.st is None or a.sql == "FALSE"
                             else f"CASE WHEN {a.sql} THEN {b.st} END")
                if "FALSE" in (a.sql, b.sql):
                    return Cnd("FALSE", st)
                if a.sql == "TRUE" or b.sql == "TRUE":
                    return Cnd(b.sql if a.sql == "TRUE" else a.sql, st)
                return Cnd(f"({a.sql} AND {b.sql})", st)
            st = combine(a.st, None if b.st is None or a.sql == "TRUE"
                         else f"CASE WHEN NOT {a.sql} THEN {b.st} END")
            if "TRUE" in (a.sql, b.sql):
                return Cnd("TRUE", st)
            if a.sql == "FALSE" or b.sql == "FALSE":
                return Cnd(b.sql if a.sql == "FALSE" else a.sql, st)
            return Cnd(f"({a.sql} OR {b.sql})", st)
        if isinstance(c, ast.Not):
            a = self.cond(c.operand)
            if a.sql in ("TRUE", "FALSE"):
                return Cnd("FALSE" if a.sql == "TRUE" else "TRUE", a.st)
            return Cnd(f"(NOT {a.sql})", a.st)
        if isinstance(c, ast.Truthy):
            o = self.operand(c.operand)
            if o.kind != "bool":
                raise _Unsupported("a condition on a value that is not yes/no", c.span)
            return Cnd(o.sql, o.st)
        if isinstance(c, ast.In):
            item = self.operand(c.item)
            box = c.container
            neg = "NOT " if c.negated else ""
            if box.kind == "name" and str(box.value) in self.lists:
                values = ", ".join(text_lit(v) for v in self.lists[str(box.value)])
                return Cnd(f"({item.sql} {neg}IN ({values}))", item.st)
            if box.kind == "name" and str(box.value) in self.groups:
                values = ", ".join(text_lit(v) for v in self.groups[str(box.value)])
                return Cnd(f"({item.sql} {neg}IN ({values}))", item.st)
            year = self.operand(box)
            if item.kind != "date" or year.x is None or year.x.const is None:
                raise _Unsupported("`in` with this container", c.span)
            y = year.x.const
            if y.denominator != 1:
                return Cnd("TRUE" if c.negated else "FALSE", combine(item.st, year.st))
            return Cnd(f"({neg}(year({item.sql}) = {int(y)}))", combine(item.st, year.st))
        if isinstance(c, ast.Compare):
            left = self.operand(c.left)
            bands = c.left.kind == "name" and self.sym.bands(str(c.left.value)) is not None
            category = c.right.kind == "name" and self.sym.kind(str(c.right.value)) == "category"
            right = (Op("text", text_lit(str(c.right.value))) if bands or category
                     else self.operand(c.right))
            st = combine(left.st, right.st)
            if left.kind != right.kind:
                if c.op in ("=", "!="):
                    return Cnd("TRUE" if c.op == "!=" else "FALSE", st)
                raise _Unsupported("a comparison of values of different kinds", c.span)
            if left.kind == "num":
                xa, xb = left.x, right.x
                assert xa is not None and xb is not None
                if not (isinstance(xa.den, int) and isinstance(xb.den, int)):
                    raise _Unsupported("a comparison with a divided value", c.span)
                if xa.const is not None and xb.const is not None:
                    ok = {"=": xa.const == xb.const, "!=": xa.const != xb.const,
                          "<": xa.const < xb.const, "<=": xa.const <= xb.const,
                          ">": xa.const > xb.const, ">=": xa.const >= xb.const}[c.op]
                    return Cnd("TRUE" if ok else "FALSE", st)
                den = xa.den * xb.den // math.gcd(xa.den, xb.den)
                return Cnd(f"({xa.num_at(den)} {c.op} {xb.num_at(den)})", st)
            if left.kind == "bool" and c.op not in ("=", "!="):
                raise _Unsupported("an order comparison of yes/no values", c.span)
            if left.kind == "text" and c.op not in ("=", "!="):
                raise _Unsupported("an order comparison of texts", c.span)
            return Cnd(f"({left.sql} {c.op} {right.sql})", st)
        raise _Unsupported(f"the condition {type(c).__name__}", c.span)

    # -------------------------------------------------------------- charges
    def charge(self, charge: ast.ChargeDecl) -> tuple[str, str, ChargeOut]:
        """A charge's status (``ok``, ``pending``, ``none``), its amount as an integer at the
        output's scale (computed only where the status is ``ok``) and its output."""
        label = charge.label or charge.name
        services = (f"services IS NOT NULL AND NOT list_contains(services, "
                    f"{text_lit(charge.name)})")
        whens: list[tuple[str, str]] = [(services, "'none'")]
        freq = charge.frequency
        if freq.anchor is not None:
            a = col(freq.anchor.name)
            if freq.anchor.name not in self.complete:
                whens.append((f"{a} IS NULL", "'pending'"))
            due = (f"{self.year} >= year({a})" if freq.kind == "every_year"
                   else f"{self.year} = year({a})")
            whens.append((f"NOT ({due})", "'none'"))
        if charge.pending or charge.body is None:
            whens.append(("TRUE", "'pending'"))
            status = "CASE " + " ".join(f"WHEN {c} THEN {v}" for c, v in whens) + " END"
            return status, "NULL::HUGEINT", ChargeOut(charge.name, label, 0)
        base = (self.table(charge.body) if isinstance(charge.body, ast.Table)
                else self.expr(charge.body))
        sts: list[str | None] = [base.st]
        limit_sts: list[str | None] = []  # issue 12: a bound's status, where no exception fired
        if any(lim.place == "before proration" for lim in charge.limits):
            base = self.limited(charge, base, "before proration")
            limit_sts.append(base.st)
            base = attrs.evolve(base, st=None)
        # exceptions: every condition is evaluated; the highest priority that applies wins
        fired: list[tuple[ast.ExceptionRule, Cnd, X]] = []
        for ex in charge.exceptions:
            cnd = self.cond(ex.condition)
            result = self.expr(ex.result)
            sts.append(cnd.st)
            if result.st is not None:
                sts.append(f"CASE WHEN {cnd.sql} THEN {result.st} END")
            fired.append((ex, cnd, result))
        amount = base
        if fired:
            order = sorted(fired, key=lambda f: -(f[0].priority or 0))
            amount = choose([(cnd.sql, x) for _, cnd, x in order], attrs.evolve(base, st=None))
            amount = attrs.evolve(amount, st=None)
        # prorations: a fraction when a condition holds, or by months/days from a date
        for pr in charge.prorations:
            num, den, period = pr.numerator, pr.denominator, pr.period
            if pr.policy is not None:
                decl = self.sym.proration(pr.policy.name)
                assert decl is not None
                num, den, period = decl.numerator, decl.denominator, decl.period
            if pr.start is not None and pr.end is not None:  # issue 12: between two dates
                p = self.period
                inside = shared_days(pr.start, pr.end, p)
                if inside == 0:
                    continue
                f = Fraction(num) / Fraction(den)
                if inside != p.days:
                    f = (Fraction(p.days - inside) + inside * f) / p.days
                amount = self.binop("*", amount, X.of(f), pr.span)
                continue
            if period is not None and self.months != 12:  # issue 12: part of the period
                assert pr.anchor is not None
                a = col(pr.anchor.name)
                sts.append(self.unknown(pr.anchor.name))
                p = self.period
                whole = f"year({a}) <> {self.year} OR {a} <= DATE '{p.start.isoformat()}'"
                after = f"{a} > DATE '{p.end.isoformat()}'"
                if period == "months":
                    part, of = f"{p.end.month + 1} - month({a})", self.months
                else:
                    part = f"date_diff('day', {a}, DATE '{p.end.isoformat()}') + 1"
                    of = p.days
                factor = X(f"(CASE WHEN {whole} THEN {of} WHEN {after} THEN 0 "
                           f"ELSE {part} END)::HUGEINT", of)
                amount = self.binop("*", amount, factor, pr.span)
                continue
            if period is not None:
                assert pr.anchor is not None
                a = col(pr.anchor.name)
                sts.append(self.unknown(pr.anchor.name))
                in_year = f"year({a}) = {self.year}"
                if period == "months":
                    factor = X(f"(CASE WHEN {in_year} THEN 13 - month({a}) ELSE 12 END)::HUGEINT",
                               12)
                else:
                    days = (dt.date(self.year, 12, 31) - dt.date(self.year, 1, 1)).days + 1
                    factor = X(f"(CASE WHEN {in_year} THEN date_diff('day', {a}, "
                               f"DATE '{self.year}-12-31') + 1 ELSE {days} END)::HUGEINT", days)
                amount = self.binop("*", amount, factor, pr.span)
            else:
                assert pr.condition is not None
                cnd = self.cond(pr.condition)
                sts.append(cnd.st)
                f = Fraction(num) / Fraction(den)
                if cnd.sql == "FALSE":
                    continue
                if cnd.sql == "TRUE":
                    amount = self.binop("*", amount, X.of(f), pr.span)
                    continue
                factor = X(f"(CASE WHEN {cnd.sql} THEN {lit(f.numerator)} "
                           f"ELSE {lit(f.denominator)} END)", f.denominator)
                amount = self.binop("*", amount, factor, pr.span)
        if any((lim.place or "after proration") == "after proration" for lim in charge.limits):
            limited = self.limited(charge, amount, "after proration")  # issue 12
            if fired:  # an exception's result is not limited
                any_fired = " OR ".join(f"({cnd.sql})" for _, cnd, _ in fired)
                limited = choose([(any_fired, attrs.evolve(amount, st=None))],
                                 attrs.evolve(limited, st=None))
            limit_sts.append(limited.st)
            amount = attrs.evolve(limited, st=None)
        limit_st = combine(*limit_sts)
        if limit_st is not None and fired:
            any_fired = " OR ".join(f"({cnd.sql})" for _, cnd, _ in fired)
            limit_st = f"CASE WHEN NOT ({any_fired}) THEN {limit_st} END"
        sts.append(limit_st)
        st = combine(*sts)
        last = ("'ok'" if st is None else
                f"CASE {st} WHEN 'N' THEN 'none' WHEN 'P' THEN 'pending' ELSE 'ok' END")
        status = "CASE " + " ".join(f"WHEN {c} THEN {v}" for c, v in whens) + f" ELSE {last} END"
        n, scale = self.finish(charge, amount)
        return status, n, ChargeOut(charge.name, label, scale)

    def periodic(self, charge: ast.ChargeDecl) -> tuple[str, str, ChargeOut]:
        """issue 12: a charge invoiced per month, quarter or half year: each period compiled
        as a whole-year charge of its own (its prices per period, dated values, bounds and
        prorations for that period), rounded on its own, and the year's sum of them."""
        freq = charge.frequency
        label = charge.label or charge.name
        if charge.pending or charge.body is None:
            return self.charge(charge)
        one = attrs.evolve(charge, frequency=attrs.evolve(freq, period="year", anchor=None))
        saved = self.period, self.months, self.params
        parts: list[tuple[str, str, str, int]] = []  # (applies, status, amount, scale)
        try:
            for p in periods_of(self.year, freq.period):
                self.period, self.months, self.params = p, ast.PERIOD_MONTHS[freq.period], {}
                status, n, out = self.charge(one)
                applies = (f"{col(freq.anchor.name)} <= DATE '{p.end.isoformat()}'"
                           if freq.anchor is not None else "TRUE")
                parts.append((applies, status, n, out.scale))
        finally:
            self.period, self.months, self.params = saved
        scale = max(sc for *_, sc in parts)
        whens: list[tuple[str, str]] = []
        if freq.anchor is not None:
            a = col(freq.anchor.name)
            if freq.anchor.name not in self.complete:
                whens.append((f"{a} IS NULL", "'pending'"))
            whens.append((f"NOT ({self.year} >= year({a}))", "'none'"))
        for applies, status, _, _ in parts:
            whens.append((f"({applies}) AND ({status}) <> 'ok'", status))
        status = "CASE " + " ".join(f"WHEN {c} THEN {v}" for c, v in whens) + " ELSE 'ok' END"
        terms = []
        for applies, _, n, sc in parts:
            at = n if sc == scale else f"({n} * {lit(10 ** (scale - sc))})"
            terms.append(at if applies == "TRUE" else f"(CASE WHEN {applies} THEN {at} "
                         "ELSE 0::HUGEINT END)")
        return status, "(" + " + ".join(terms) + ")", ChargeOut(charge.name, label, scale)

    def finish(self, charge: ast.ChargeDecl, x: X) -> tuple[str, int]:
        """The amount as an integer at a scale: rounded as the tariff says, or exact."""
        r = charge.rounding
        who = " || name"
        if r is not None:
            step, _, mode = self.sym.rule_of(r)
            return self.rounded(x, step, mode).num, scale_of(step)
        if not isinstance(x.den, int):
            raise _Unsupported(f"charge {charge.name}: an amount divided by a customer's value "
                               "with no rounding", charge.span)
        d = x.den
        twos = fives = 0
        rest = d
        while rest % 2 == 0:
            rest //= 2
            twos += 1
        while rest % 5 == 0:
            rest //= 5
            fives += 1
        s = max(twos, fives)
        if rest == 1:
            return (x.num if 10**s == d else f"({x.num} * {lit(10**s // d)})"), s
        before, after = f"the amount of {charge.name} for ", " has no exact decimal value"
        self.placed.append(Placed(  # where the interpreter says it, with its hint
            before, after, charge.prorations[-1].span if charge.prorations else charge.span,
            "say how to round it: add a line `round to øre half up` to the charge"))
        msg = error_sql(text_lit(before) + who + " || " + text_lit(after))
        scaled_num = f"({x.num} * {lit(10**s)})"
        return (f"(CASE WHEN {scaled_num} % {lit(d)} <> 0 THEN {msg} "
                f"ELSE {scaled_num} // {lit(d)} END)"), s

    def compile(self) -> Plan:
        statuses: list[str] = []
        amounts: list[str] = []
        outs: list[ChargeOut] = []
        for charge in self.t.charges:
            status, n, out = (self.periodic(charge) if charge.frequency.period != "year"
                              else self.charge(charge))
            # a status's values are its literals: without 'pending' among them, never pending
            out = attrs.evolve(out, may_pend="'pending'" in status)
            st = quote(out.name + "__st")
            statuses.append(f"{status} AS {st}")
            amounts.append(f"CASE WHEN {st} = 'ok' THEN {n} END AS {quote(out.name + '__n')}")
            outs.append(out)
        pools = [p for p, x in self.pool_cols.items() if not x.num.startswith("error(")]
        joins = "".join(f" LEFT JOIN {quote('_pool_' + p)} ON {quote('_pool_' + p)}._row = s._row"
                        for p in pools)
        pool_cols = "".join(f", {quote('_pool_' + p)}.v AS {quote('_pool_' + p + '__v')}"
                            for p in pools)
        outer = ["_row", "id", "name"]
        for out in outs:
            st = quote(out.name + "__st")
            n = quote(out.name + "__n")
            mult = "" if out.scale == 0 else f" * 0.{'0' * (out.scale - 1)}1::DECIMAL(38,{out.scale})"
            amount = f"CAST({n} AS DECIMAL(38,0)){mult}"
            outer.append(f"{st} AS {quote(out.name + ':status')}")
            outer.append(f"CASE WHEN {st} = 'ok' THEN {amount} WHEN {st} = 'none' THEN "
                         f"0::DECIMAL(38,{out.scale}) END AS {quote(out.name)}")
        band_cols = "".join(f",\n    {b}" for b in self.band_cols.values())
        ctes = [
            *self.ctes,
            f"_l0 AS (SELECT s.*{pool_cols}{band_cols}\n  FROM {{src}} s{joins})",
            "_l1 AS (SELECT *,\n    " + ",\n    ".join(statuses) + "\n  FROM _l0)",
            "_l2 AS (SELECT _row, id, name, " + ", ".join(
                quote(o.name + "__st") for o in outs) + ",\n    " + ",\n    ".join(amounts)
            + "\n  FROM _l1)",
        ]
        sql = ("WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(outer)
               + "\nFROM _l2" + _SORTED)
        return Plan(self.t, self.year, dict(self.scales), tuple(outs), sql,
                    tuple(dict.fromkeys(self.placed)), keeps_order=not self.ctes and not joins)




#: issue 12: a period's length in months -> its name.
_PERIOD_OF_MONTHS = {months: name for name, months in ast.PERIOD_MONTHS.items()}


def _int(f: Fraction) -> int:
    if f.denominator != 1:
        raise _Unsupported("a slice bound finer than its subject's decimals", None)
    return f.numerator


def not_compiled(tariff: ast.Tariff) -> Unsupported | None:
    """issue 12: the first construct of the language's newer ones that has no SQL form yet
    (VAT, indexation, a pending value in a dated series, a table of three or more dimensions,
    an input's default, a pending charge for some customers, a mixed pool key, a pool total
    rounded before sharing), or None; count aggregates are computed in SQL. The tariff then runs on the
    interpreter, with a note naming the construct."""
    for vat in tariff.vats:
        return Unsupported(f"vat {vat.name} (VAT)", vat.span)
    for p in tariff.params:
        if p.adjustment is not None:
            return Unsupported(f"param {p.name} adjusted every year (indexation)", p.span)
        if any(d.pending for d in p.dated):
            return Unsupported(f"param {p.name}: a pending value in a dated series", p.span)
    for inp in tariff.inputs:
        if inp.default is not None:
            return Unsupported(f"input {inp.name} with a default", inp.span)
    for pool in tariff.pools:
        if pool.equal is not None:
            return Unsupported(f"pool {pool.name} shared partly equally (a mixed key)", pool.span)
        if pool.total_rounding is not None:
            return Unsupported(f"pool {pool.name} with its total rounded before sharing",
                               pool.span)
    for charge in tariff.charges:
        if charge.pending_for is not None:
            return Unsupported(f"pending {charge.name} for some customers only", charge.span)
        if isinstance(charge.body, ast.Table) and len(charge.body.dims) > 2:
            return Unsupported(f"charge {charge.name}: a table of {len(charge.body.dims)} "
                               "dimensions", charge.body.span)
    return None


def compile_tariff(tariff: ast.Tariff, year: int, consts: Constants | None = None,
                   data_scales: Mapping[str, int] | None = None, *,
                   dialect: str = "duckdb", complete: Collection[str] = ()) -> Plan | Unsupported:
    """The SQL plan of a checked tariff for ``year``, or the construct that does not compile.
    ``complete``: the inputs every customer of the register has a value of (the plan then
    never tests them for emptiness).

    ``dialect`` is ``duckdb`` (the compiler's own SQL) or ``spark`` (that SQL transpiled by
    :func:`takst.interpreter.batch.dialects.to_spark`, which needs SQLGlot)."""
    if dialect not in ("duckdb", "spark"):
        raise ValueError(f"no SQL dialect {dialect!r}: duckdb or spark")
    engine = "Spark" if dialect == "spark" else "batch"
    newer = not_compiled(tariff)
    if newer is not None:
        return attrs.evolve(newer, engine=engine)
    try:
        plan = Compiler(tariff, year, consts or Constants(), data_scales, complete).compile()
    except _Unsupported as no:
        return attrs.evolve(no.result, engine=engine)
    if dialect == "duckdb":
        return plan
    from takst.interpreter.batch.dialects import TooWide, to_spark

    try:
        sql = to_spark(plan.sql)
    except TooWide as wide:
        return Unsupported(f"a number too large for Spark's DECIMAL(38,0) ({wide.number})",
                           None, engine)
    return attrs.evolve(plan, sql=sql, dialect="spark")
