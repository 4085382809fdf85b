"""A checked tariff compiled once into Python closures: the untraced path of the interpreter.

The tracing interpreter (:mod:`takst.interpreter.evaluator`) is the reference: it
records every step, so each step has its words and its span. Billing a register
without a trace needs none of that, and walking the tree per customer costs more
than the arithmetic. As Jinja compiles a template into Python once, this module
turns every charge into one closure per node, with everything that does not
depend on the customer worked out at compile time: table cells by key, the
largest-first choice of cases, proration factors, the rounding rule, formula
bodies.

The closures compute exactly what the reference computes, with the same exact
arithmetic and the same rounding functions. Inside a calculation a number is a pair
of integers (numerator, denominator > 0) that is not reduced on every operation (a
``Fraction`` computes a gcd each time, which is most of the cost); it is reduced
when it grows past the reference's size limit, and before an amount is rounded or
written. Never float. They take the common road only: whenever the
reference would do something else for a line (a value missing, a case not
offered, a division by zero, an amount with no exact decimal, any error), the
closure gives up and that line is evaluated by the reference interpreter, which
then produces the pending line, the not-offered line or the error with its exact
words. ``tests/test_compiled.py`` runs every example block and random customers
through both paths and compares amounts and statuses exactly.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from takst.dsl import ast
from takst.dsl.intervals import Interval, band_interval
from takst.dsl.periods import (
    Period,
    bound_params,
    in_force,
    periods_of,
    rate_factor,
    resolve_band,
    segments,
    shared_days,
    year_period,
)
from takst.dsl.symbols import BILLING_YEAR, BUILTIN_TEXT, Symbols
from takst.interpreter.exact import EXACT, fraction_to_decimal, round_fraction
from takst.interpreter.model import (
    ChargeLine,
    Context,
    Customer,
    CustomerResult,
    PeriodAmount,
    Value,
    with_defaults,
)

if TYPE_CHECKING:
    from takst.interpreter.evaluator import Evaluator

#: An exact number inside a compiled calculation: (numerator, denominator > 0), not reduced.
Num = tuple[int, int]
#: An exact amount, reduced: what a charge line is computed from.
Amount = int | Fraction
Expr = Callable[["_State"], Num]
Cond = Callable[["_State"], bool]
#: A value a condition reads: an input's value, or a number with no exact decimal (a fraction).
Operand = Callable[["_State"], Value | Fraction]
Line = Callable[["_State"], ChargeLine]

ZERO = Decimal("0")
#: Largest numerator/denominator a calculation may reach (as the reference: MAX_BITS).
MAX_BITS = 4_000
#: How many charge lines of distinct amounts a charge remembers (lines are frozen data).
LINE_MEMORY = 4_096
#: How many distinct keys a `by` choice remembers (a dimension over free text is unbounded).
CASE_MEMORY = 4_096


class _GiveUp(Exception):
    """This line takes the reference road (pending, not offered, or an error)."""


class _Unsupported(Exception):
    """A construct this compiler leaves to the reference interpreter."""


class _Pending(Exception):
    """A value the amount needs is not known: the line is pending (the reference's _Missing)."""


class _NotOffered(Exception):
    """The case that applies says `not offered`: nothing is charged."""


def _number(s: _State, name: str) -> Decimal:
    """The customer's number ``name``: pending when it has none, the reference's road when
    it is not a number (the reference then says what is wrong)."""
    value = s.values.get(name)
    if value is None:
        _pending()
    if not isinstance(value, Decimal):
        _give_up()
    return value


def _exception(s: _State, exceptions: list[tuple[Cond, Expr, int]]) -> Num | None:
    """The amount of the exception that applies (the first of the highest priority among
    those whose condition holds), or None when none does."""
    found: Num | None = None
    top = 0
    for holds, result, priority in exceptions:
        if holds(s):
            value = result(s)
            if found is None or priority > top:
                found, top = value, priority
    return found


def _give_up() -> NoReturn:
    raise _GiveUp


def _pending() -> NoReturn:
    raise _Pending


def _not_offered(s: _State) -> Num:
    raise _NotOffered


def _num(x: Fraction) -> Num:
    return (x.numerator, x.denominator)


def _amount(x: Num) -> Amount:
    n, d = x
    return n if d == 1 else Fraction(n, d)


ZERO_NUM: Num = (0, 1)
_NO_NAMES: Mapping[str, int] = {}


class _State:
    """One customer in one billing year, with what the charges share."""

    __slots__ = ("bands", "c", "ctx", "frame", "inputs", "months", "names", "params", "period",
                 "values", "year")

    def __init__(self, c: Customer, year: int, ctx: Context) -> None:
        self.c = c
        self.values = c.values
        self.year = year
        self.ctx = ctx
        self.bands: dict[str, ast.Band] = {}
        self.params: dict[str, Num] = {}
        self.inputs: dict[str, Num] = {}
        #: The arguments of the formula being evaluated, and its parameters' positions.
        self.frame: tuple[Num, ...] = ()
        self.names: Mapping[str, int] = _NO_NAMES
        #: issue 12: the billing period being worked out and its length in months.
        self.period: Period = year_period(year)
        self.months = 12


class CompiledTariff:
    """Every charge of a checked tariff as a closure; lines that give up go to the reference."""

    def __init__(self, ev: Evaluator) -> None:
        self.ev = ev
        self.sym: Symbols = ev.sym
        self.intervals: dict[str, list[Interval]] = ev.intervals
        self.formulas: dict[str, Expr] = {}
        #: Every formula parameter's name (a reference with such a name looks for it first).
        self.param_names = {p.name for f in ev.tariff.formulas for p in f.params}
        #: The formula whose body is being compiled: its parameters' positions.
        self.scope: Mapping[str, int] = _NO_NAMES
        self.params: dict[str, Expr] = {}
        self.input_names = tuple(self.sym.inputs())
        #: Lines that gave up and were evaluated by the reference (for benchmarks and tests).
        self.gave_up = 0
        self.charges: list[tuple[ast.ChargeDecl, Line | None]] = []
        for charge in ev.tariff.charges:
            try:
                fn: Line | None = self._charge(charge)
            except Exception:  # _Unsupported, or a tariff checked=True that is not right:
                fn = None  # the reference evaluates this charge (and reports what is wrong)
            self.charges.append((charge, fn))

    # ------------------------------------------------------------------ running
    def evaluate(self, customer: Customer, year: int, context: Context) -> CustomerResult:
        customer = with_defaults(customer, self.ev.defaults)  # issue 12: stated defaults
        s = _State(customer, year, context)
        run: Any = None
        lines: list[ChargeLine] = []
        # No decimal context is needed here: the closures compare decimals and make them
        # with the exact context given explicitly (fraction_to_decimal, round_fraction).
        for charge, fn in self.charges:
            if fn is not None:
                try:
                    lines.append(fn(s))
                    continue
                except Exception:  # the reference gives the line, or the error's words
                    self.gave_up += 1
            if run is None:
                run = self.ev.run(customer, year, context)
            with decimal.localcontext(EXACT):
                lines.append(run.charge(charge))
        values = customer.values
        return CustomerResult(
            id=customer.id,
            name=customer.name,
            origin=customer.origin,
            inputs=tuple([(n, values[n]) for n in self.input_names if n in values]),
            lines=tuple(lines),
        )

    # ------------------------------------------------------------------ charges
    def _charge(self, charge: ast.ChargeDecl) -> Line:
        name, label, span = charge.name, charge.label or charge.name, charge.span
        has_vat = self.ev.vat is not None
        not_charged = ChargeLine(name, label, ZERO, "ok", False, (), span,
                                 vat=ZERO if has_vat else None)
        pending = ChargeLine(name, label, None, "pending", True, (), span)
        due = self._frequency(charge.frequency)
        if charge.pending:
            applies = (self._cond(charge.pending_for) if charge.pending_for is not None
                       else lambda s: True)

            def pending_line(s: _State) -> ChargeLine:
                c = s.c
                if c.services is not None and name not in c.services:
                    return not_charged
                try:
                    if not due(s):
                        return not_charged
                    return pending if applies(s) else not_charged
                except _Pending:
                    return pending
            return pending_line
        assert charge.body is not None
        body = (self._table(charge.body) if isinstance(charge.body, ast.Table)
                else self._expr(charge.body))
        exceptions = [(self._cond(ex.condition), self._expr(ex.result), ex.priority or 0)
                      for ex in charge.exceptions]
        prorations = [self._prorate(pr) for pr in charge.prorations]
        before = self._limits(charge, "before proration")
        after = self._limits(charge, "after proration")
        finish = self._finish(charge.rounding)
        made: dict[Amount, ChargeLine] = {}
        vat = self._vat(charge) if has_vat else None
        if charge.frequency.period != "year":
            if charge.limits or vat is not None:
                # at least / at most and VAT on a charge invoiced per period: the reference
                raise _Unsupported("a charge per period with at least, at most or VAT")
            return self._periodic(charge, due, body, exceptions, prorations, finish)

        def line(s: _State) -> ChargeLine:
            c = s.c
            if c.services is not None and name not in c.services:
                return not_charged
            try:
                if not due(s):
                    return not_charged
                amount = body(s)
                excepted = _exception(s, exceptions)
                fired = excepted is not None
                if excepted is not None:
                    amount = excepted
                elif before is not None:
                    amount = before(s, amount)
                for prorate in prorations:
                    amount = prorate(s, amount)
                if after is not None and not fired:
                    amount = after(s, amount)
            except _Pending:
                return pending
            except _NotOffered:
                return not_charged
            # the line depends only on the exact amount: a register repeats few of them
            exact = _amount(amount)
            done = made.get(exact)
            if done is None:
                done = ChargeLine(name, label, finish(exact), "ok", True, (), span)
                if len(made) < LINE_MEMORY:
                    made[exact] = done
            if vat is not None:
                assert done.amount is not None
                try:
                    tax, rate = vat(s, done.amount)
                except _Pending:
                    _give_up()  # the VAT is not known: the reference's line says why
                return attrs.evolve(done, vat=tax, vat_rate=rate)
            return done

        return line

    # issue 12: minimum and maximum amounts (not applied when an exception gave the amount)
    def _limits(self, charge: ast.ChargeDecl,
                place: str) -> Callable[[_State, Num], Num] | None:
        bounds = [(lim.kind == "at least", self._expr(lim.value)) for lim in charge.limits
                  if (lim.place or "after proration") == place]
        if not bounds:
            return None

        def limit(s: _State, amount: Num) -> Num:
            for low, bound in bounds:
                b = bound(s)
                if (_less(amount, b) if low else _less(b, amount)):
                    amount = b
            return amount

        return limit

    def _vat(self, charge: ast.ChargeDecl) -> Callable[[_State, Decimal], tuple[Decimal,
                                                                              Decimal | None]]:
        """issue 12: the VAT on a line's amount, and its rate (as the reference's ``vat``)."""
        decl = self.ev.vat
        assert decl is not None
        if charge.vat_exempt is not None:
            return lambda s, amount: (ZERO, None)
        rate_of = self._expr(decl.rate)
        r = decl.rounding
        if r is None:
            def exact_vat(s: _State, amount: Decimal) -> tuple[Decimal, Decimal | None]:
                rate = Fraction(*rate_of(s))
                found = fraction_to_decimal(Fraction(amount) * rate)
                if found is None:
                    _give_up()
                return found, fraction_to_decimal(rate)
            return exact_vat
        step, _, mode = self.sym.rule_of(r)

        def rounded_vat(s: _State, amount: Decimal) -> tuple[Decimal, Decimal | None]:
            rate = Fraction(*rate_of(s))
            return round_fraction(Fraction(amount) * rate, step, mode), fraction_to_decimal(rate)

        return rounded_vat

    def _periodic(self, charge: ast.ChargeDecl, due: Cond, body: Expr,
                  exceptions: list[tuple[Cond, Expr, int]],
                  prorations: list[Callable[[_State, Num], Num]],
                  finish: Callable[[Amount], Decimal]) -> Line:
        """issue 12: a charge invoiced per month, quarter or half year, period by period
        (as the reference's ``periodic``)."""
        name, label, span = charge.name, charge.label or charge.name, charge.span
        not_charged = ChargeLine(name, label, ZERO, "ok", False, (), span)
        pending = ChargeLine(name, label, None, "pending", True, (), span)
        period = charge.frequency.period
        months = ast.PERIOD_MONTHS[period]
        anchor = charge.frequency.anchor.name if charge.frequency.anchor else None

        def line(s: _State) -> ChargeLine:
            c = s.c
            if c.services is not None and name not in c.services:
                return not_charged
            saved = (s.period, s.months, s.params, s.bands)
            parts: list[PeriodAmount] = []
            total = ZERO
            try:
                if not due(s):
                    return not_charged
                when = s.values.get(anchor) if anchor is not None else None
                for p in periods_of(s.year, period):
                    if isinstance(when, dt.date) and p.end < when:
                        parts.append(PeriodAmount(p.start, p.end, p.label, ZERO, False))
                        continue
                    s.period, s.months, s.params, s.bands = p, months, {}, {}
                    amount = body(s)
                    excepted = _exception(s, exceptions)
                    if excepted is not None:
                        amount = excepted
                    for prorate in prorations:
                        amount = prorate(s, amount)
                    final = finish(_amount(amount))
                    parts.append(PeriodAmount(p.start, p.end, p.label, final))
                    total += final
            except _Pending:
                return pending
            except _NotOffered:
                return not_charged
            finally:
                s.period, s.months, s.params, s.bands = saved
            return ChargeLine(name, label, total, "ok", True, (), span, periods=tuple(parts))

        return line

    def _frequency(self, freq: ast.Frequency) -> Cond:
        if freq.anchor is None:
            return lambda s: True
        anchor = freq.anchor.name
        every = freq.kind == "every_year"

        def due(s: _State) -> bool:
            when = s.values.get(anchor)
            if when is None:
                _pending()
            if not isinstance(when, dt.date):
                _give_up()
            return s.year >= when.year if every else s.year == when.year

        return due

    def _table(self, table: ast.Table) -> Expr:
        cells = {key: _num(Fraction(cell.value))
                 for key, cell in self.ev.tables[id(table)].items()}
        dims = [self._dimension(d.name) for d in table.dims]
        if len(dims) == 1:
            (only,) = dims
            return lambda s: cells[(only(s),)]
        if len(dims) == 2:
            first, second = dims
            return lambda s: cells[(first(s), second(s))]
        return lambda s: cells[tuple(d(s) for d in dims)]

    def _prorate(self, pr: ast.Prorate) -> Callable[[_State, Num], Num]:
        num, den, period = pr.numerator, pr.denominator, pr.period
        if pr.policy is not None:
            decl = self.sym.proration(pr.policy.name)
            assert decl is not None
            num, den, period = decl.numerator, decl.denominator, decl.period
        if period is not None:
            assert pr.anchor is not None
            anchor = pr.anchor.name
            months = period == "months"

            def by_period(s: _State, amount: Num) -> Num:
                when = s.values.get(anchor)
                if when is None:
                    _pending()
                if not isinstance(when, dt.date):
                    _give_up()
                year = s.year
                if when.year != year:
                    return amount
                if s.months != 12:  # issue 12: the part of the period from the date on
                    p = s.period
                    if when <= p.start:
                        return amount
                    if months:
                        part = 0 if when > p.end else p.end.month - when.month + 1
                        return _mul(amount, (part, s.months))
                    days = 0 if when > p.end else (p.end - when).days + 1
                    return _mul(amount, (days, p.days))
                if months:
                    return _mul(amount, (12 - when.month + 1, 12))
                last = dt.date(year, 12, 31)
                in_year = (last - dt.date(year, 1, 1)).days + 1
                return _mul(amount, ((last - when).days + 1, in_year))

            return by_period
        if pr.start is not None and pr.end is not None:  # issue 12: between two dates
            start, end = pr.start, pr.end
            if den == 0:
                raise _Unsupported("a proration by 0")
            frac = Fraction(num) / Fraction(den)

            def by_dates(s: _State, amount: Num) -> Num:
                p = s.period
                inside = shared_days(start, end, p)
                if inside == 0:
                    return amount
                if inside == p.days:
                    return _mul(amount, _num(frac))
                return _mul(amount, _num((Fraction(p.days - inside) + inside * frac) / p.days))

            return by_dates
        assert pr.condition is not None
        holds = self._cond(pr.condition)
        if den == 0:
            raise _Unsupported("a proration by 0")
        factor = _num(Fraction(num) / Fraction(den))
        return lambda s, amount: _mul(amount, factor) if holds(s) else amount

    def _finish(self, r: ast.Rounding | None) -> Callable[[Amount], Decimal]:
        if r is None:
            def exact(amount: Amount) -> Decimal:
                d = fraction_to_decimal(Fraction(amount))
                if d is None:
                    _give_up()  # no exact decimal: the reference raises the error
                return d
            return exact
        step, _, mode = self.sym.rule_of(r)
        return lambda amount: round_fraction(Fraction(amount), step, mode)

    # ------------------------------------------------------------------ expressions
    def _expr(self, e: ast.Expr) -> Expr:
        return _EXPR[type(e)](self, e)

    def _number(self, e: ast.Number) -> Expr:
        value = _num(Fraction(e.value) / 100 if e.percent else Fraction(e.value))
        if e.per in ast.PERIOD_MONTHS:  # issue 12: a price per period, for the period billed
            per = e.per
            factors = {m: rate_factor(per, name) for name, m in ast.PERIOD_MONTHS.items()}

            def per_period(s: _State) -> Num:
                f = factors[s.months]
                assert f is not None
                return _mul(value, f)

            return per_period
        return lambda s: value

    def _binop(self, e: ast.BinOp) -> Expr:
        left, right = self._expr(e.left), self._expr(e.right)
        op = e.op
        if op == "/":
            def divide(s: _State) -> Num:
                a, b = left(s)
                c, d = right(s)
                if c == 0:
                    _give_up()  # division by zero: the reference's error
                if c < 0:
                    return _checked(-a * d, -b * c)
                return _checked(a * d, b * c)
            return divide
        if op == "*":
            def multiply(s: _State) -> Num:
                a, b = left(s)
                c, d = right(s)
                return _checked(a * c, b * d)
            return multiply
        sign = 1 if op == "+" else -1

        def add(s: _State) -> Num:
            a, b = left(s)
            c, d = right(s)
            if b == d:
                return _checked(a + sign * c, b)
            return _checked(a * d + sign * c * b, b * d)

        return add

    def _call(self, e: ast.Call) -> Expr:
        formula = self.sym.formula(e.name)
        assert formula is not None
        names = [p.name for p in formula.params]
        args = [self._expr(a) for a in e.args]
        if len(args) != len(names):
            raise _Unsupported(e.name)
        positions = {n: i for i, n in enumerate(names)}
        body = self.formulas.get(e.name)
        if body is None:
            saved_scope, self.scope = self.scope, positions
            try:
                body = self.formulas[e.name] = self._expr(formula.body)
            finally:
                self.scope = saved_scope
        fbody = body

        def call(s: _State) -> Num:
            frame = tuple([a(s) for a in args])
            saved = s.frame, s.names
            s.frame, s.names = frame, positions
            try:
                return fbody(s)
            finally:
                s.frame, s.names = saved

        return call

    def _cases(self, e: ast.Cases) -> Expr:
        dim = self._dimension(e.dim.name)
        values: dict[int, Expr] = {}
        for case in e.cases:
            if case.pending:
                values[id(case)] = lambda s: _pending()
            elif case.value is None:
                values[id(case)] = _not_offered
            else:
                values[id(case)] = self._expr(case.value)
        groups = self.ev.groups
        memory: dict[str, Expr] = {}

        def choose(key: str) -> Expr:
            case = choose_case(e, key, groups)
            if case is None:
                _give_up()  # no case: the reference's error
            fn = values[id(case)]
            if len(memory) < CASE_MEMORY:
                memory[key] = fn
            return fn

        def cases(s: _State) -> Num:
            key = dim(s)
            fn = memory.get(key)
            if fn is None:
                fn = choose(key)
            return fn(s)

        return cases

    def _ref(self, e: ast.Ref) -> Expr:
        """As the reference: a name bound by the formula being evaluated comes first."""
        name = e.name
        position = self.scope.get(name)
        if position is not None:  # a parameter of the formula whose body this is
            return lambda s: s.frame[position]
        saved_scope, self.scope = self.scope, _NO_NAMES  # a named value has its own scope
        try:
            inner = self._named(name)
        finally:
            self.scope = saved_scope
        if name not in self.param_names:
            return inner

        def ref(s: _State) -> Num:  # a value evaluated inside a call that binds its name
            i = s.names.get(name)
            return s.frame[i] if i is not None else inner(s)

        return ref

    def _named(self, name: str) -> Expr:
        if name == BILLING_YEAR:
            return lambda s: (s.year, 1)
        sym = self.sym.get(name)
        kind = sym.kind if sym is not None else None
        if kind == "param":
            return self._param(name)
        if kind == "setting":
            def setting(s: _State) -> Num:
                value = s.ctx.settings.get(name)
                if not isinstance(value, Decimal):
                    _give_up()
                return value.as_integer_ratio()
            return setting
        if kind == "aggregate":
            def aggregate(s: _State) -> Num:
                found = s.ctx.aggregates.get(name)
                if found is not None:
                    return _num(found[0])
                if name in s.ctx.empty:
                    _give_up()  # the reference's error, naming the customer
                given = s.ctx.settings.get(name)
                if not isinstance(given, Decimal):
                    _give_up()
                return given.as_integer_ratio()
            return aggregate
        if kind == "pool":
            decl = self.sym.pool(name)
            assert decl is not None
            key = decl.key.name

            def pool(s: _State) -> Num:
                shares = s.ctx.pools.get(name)
                if shares is None:
                    _give_up()
                share = shares.shares.get(s.c.id)
                if share is None:
                    return ZERO_NUM
                if key not in s.values:
                    _give_up()  # the reference reads the key, and fails without it
                return _num(share[1])
            return pool
        if kind == "slices":
            return self._slices(name)

        def read(s: _State) -> Num:
            known = s.inputs.get(name)
            if known is not None:
                return known
            value = _number(s, name)
            got = s.inputs[name] = value.as_integer_ratio()
            return got

        return read

    def _param(self, name: str) -> Expr:
        compiled = self.params.get(name)
        if compiled is not None:
            return compiled
        param = self.sym.param(name)
        assert param is not None
        if param.pending:
            def pending(s: _State) -> Num:
                _pending()
            self.params[name] = pending
            return pending
        # placeholder against a param naming itself (the checker refuses such cycles)
        self.params[name] = lambda s: _give_up()
        rule = param.rule.kind if param.rule is not None else "january"
        if param.adjustment is not None:  # issue 12: indexed every year from a base year
            indexed = self._indexed(param, param.adjustment)

            def value_for(s: _State) -> Expr:
                return indexed
        elif param.dated and rule != "january":  # issue 12: the period's value, by the rule
            fns = {id(d): (lambda s: _pending()) if d.pending else self._expr(d.value)
                   for d in param.dated}
            series = param.dated

            def value_for(s: _State) -> Expr:
                if rule == "period":
                    chosen = in_force(series, s.period.start)
                    if chosen is None:
                        _give_up()
                    return fns[id(chosen)]

                def weighted(s: _State) -> Num:
                    total = Fraction(0)
                    for d, days in segments(series, s.period):
                        if d is None:
                            _give_up()
                        total += Fraction(*fns[id(d)](s)) * days
                    return _num(total / s.period.days)
                return weighted
        elif param.dated:
            dated = [(d.start, (lambda s: _pending()) if d.pending else self._expr(d.value))
                     for d in param.dated]

            def value_for(s: _State) -> Expr:
                jan1 = dt.date(s.year, 1, 1)
                in_force = [fn for start, fn in dated if start <= jan1]
                if not in_force:
                    _give_up()
                return in_force[-1]
        else:
            plain = self._expr(param.value)

            def value_for(s: _State) -> Expr:
                return plain

        def value(s: _State) -> Num:
            cache = s.params
            known = cache.get(name)
            if known is None:
                known = cache[name] = value_for(s)(s)
            return known

        self.params[name] = value
        return value

    def _indexed(self, param: ast.ParamDecl, adj: ast.Adjustment) -> Expr:
        """issue 12: the base value × (1 + the rate of each year after the base year), rounded
        each year as stated (as the reference's ``indexed``)."""
        base = self._expr(param.value)
        rate = self._expr(adj.rate)
        constant = isinstance(adj.rate, ast.Number)
        step: Decimal | None = None
        mode: ast.RoundMode = "half up"
        r = adj.rounding
        if r is not None:
            step, _, mode = self.sym.rule_of(r)
        first = adj.base_year

        def indexed(s: _State) -> Num:
            if s.year < first:
                _give_up()  # the reference's error
            value = Fraction(*base(s))
            for y in range(first + 1, s.year + 1):
                at = s if constant or y == s.year else _State(s.c, y, s.ctx)
                value = value * (1 + Fraction(*rate(at)))
                if step is not None:
                    value = Fraction(round_fraction(value, step, mode))
                elif value.numerator.bit_length() > MAX_BITS:
                    _give_up()
            return _num(value)

        return indexed

    def _slices(self, name: str) -> Expr:
        decl = self.sym.slices(name)
        assert decl is not None
        if decl.rule == "volume":
            return self._volume(decl)
        subject = decl.subject.name
        inp = self.sym.input(subject)
        whole = inp is not None and inp.type.kind in ("inhabitants", "count")
        parts = []
        rates = [self._expr(sl.rate) if sl.rate is not None else _zero for sl in decl.slices]
        flats = [self._expr(sl.flat) if sl.flat is not None else None for sl in decl.slices]
        bounds = self._bounds(decl)
        for sl, rate_fn, flat in zip(decl.slices, rates, flats, strict=True):
            iv = band_interval(sl, ZERO)
            lo = Fraction(iv.lo if iv.lo is not None else 0)
            hi = Fraction(iv.hi) if iv.hi is not None else None
            parts.append((lo, hi, iv.lo_incl, iv.hi_incl, rate_fn, flat))

        def slices(s: _State) -> Num:
            raw = _number(s, subject)
            q = Fraction(raw)
            total = Fraction(0)
            now = parts
            if bounds is not None:  # issue 12: the bounds in force for the period
                values = bounds(s)
                now = []
                for sl, rate_fn, flat in zip(decl.slices, rates, flats, strict=True):
                    iv = band_interval(resolve_band(sl, values), ZERO)
                    now.append((Fraction(iv.lo if iv.lo is not None else 0),
                                Fraction(iv.hi) if iv.hi is not None else None,
                                iv.lo_incl, iv.hi_incl, rate_fn, flat))
            for lo, hi, lo_incl, hi_incl, rate, flat in now:
                if whole:
                    first = max(lo if lo_incl else lo + 1, Fraction(1))
                    last = q if hi is None else min(q, hi if hi_incl else hi - 1)
                    units = max(Fraction(0), last - first + 1)
                else:
                    top = q if hi is None else min(q, hi)
                    units = max(Fraction(0), top - lo)
                total = total + units * Fraction(*rate(s))
                if flat is not None and units > 0:  # a flat amount once the slice is reached
                    total = total + Fraction(*flat(s))
            return _num(total)

        return slices

    # issue 12: volume pricing, min and max, per started block, rounding in an expression
    def _volume(self, decl: ast.SlicesDecl) -> Expr:
        subject = decl.subject.name
        tiers = []
        for sl in decl.slices:
            iv = band_interval(sl, ZERO)
            rate = self._expr(sl.rate) if sl.rate is not None else _zero
            flat = self._expr(sl.flat) if sl.flat is not None else _zero
            tiers.append((iv, rate, flat))

        def volume(s: _State) -> Num:
            raw = _number(s, subject)
            for iv, rate, flat in tiers:
                if iv.lo is not None and (raw < iv.lo or (raw == iv.lo and not iv.lo_incl)):
                    continue
                if iv.hi is not None and (raw > iv.hi or (raw == iv.hi and not iv.hi_incl)):
                    continue
                a, b = raw.as_integer_ratio()
                c, d = rate(s)
                f, g = flat(s)
                return _checked(a * c * g + f * b * d, b * d * g)
            _give_up()  # in no band: the reference's error

        return volume

    def _extreme(self, e: ast.Extreme) -> Expr:
        args = [self._expr(a) for a in e.args]
        low = e.op == "min"

        def extreme(s: _State) -> Num:
            best = args[0](s)
            for arg in args[1:]:
                v = arg(s)
                if (_less(v, best) if low else _less(best, v)):
                    best = v
            return best

        return extreme

    def _per_started(self, e: ast.PerStarted) -> Expr:
        quantity, price = self._expr(e.quantity), self._expr(e.price)
        bn, bd = e.block.as_integer_ratio()

        def per_started(s: _State) -> Num:
            a, b = quantity(s)
            c, d = price(s)
            n, m = a * bd, b * bn  # the quantity in blocks (m > 0)
            blocks = -((-n) // m)  # rounded up
            return _checked(c * blocks, d)

        return per_started

    def _round_expr(self, e: ast.RoundExpr) -> Expr:
        value = self._expr(e.value)
        step, _, mode = self.sym.rule_of(e)

        def round_expr(s: _State) -> Num:
            n, d = value(s)
            return round_fraction(Fraction(n, d), step, mode).as_integer_ratio()

        return round_expr

    # ------------------------------------------------------------------ dimensions and bands
    def _dimension(self, name: str) -> Callable[[_State], str]:
        if self.sym.bands(name) is not None:
            band = self._band(name)
            return lambda s: band(s).name
        if name == "customer_type":
            return lambda s: s.c.customer_type

        def key(s: _State) -> str:
            value = s.values[name]
            if isinstance(value, bool):
                return "yes" if value else "no"
            return str(value)

        return key

    def _band(self, name: str) -> Callable[[_State], ast.Band]:
        decl = self.sym.bands(name)
        assert decl is not None
        subject = decl.subject.name
        intervals = [(iv.lo, iv.lo_incl, iv.hi, iv.hi_incl, iv.band)
                     for iv in self.intervals[name]]
        bounds = self._bounds(decl)

        def band(s: _State) -> ast.Band:
            known = s.bands.get(name)
            if known is not None:
                return known
            value = _number(s, subject)
            now = intervals
            if bounds is not None:  # issue 12: the bounds in force for the period
                values = bounds(s)
                now = []
                for b0 in decl.bands:
                    iv = band_interval(resolve_band(b0, values), ZERO)
                    now.append((iv.lo, iv.lo_incl, iv.hi, iv.hi_incl, b0))
            for lo, lo_incl, hi, hi_incl, b in now:
                if lo is not None and (value < lo or (value == lo and not lo_incl)):
                    continue
                if hi is not None and (value > hi or (value == hi and not hi_incl)):
                    continue
                s.bands[name] = b
                return b
            _give_up()  # in no band: the reference raises the error

        return band

    def _bounds(self, decl: ast.BandsDecl | ast.SlicesDecl
                ) -> Callable[[_State], dict[str, Decimal]] | None:
        """issue 12: the values of the params named as bounds, for the period (None: no
        bound is a param)."""
        names = bound_params(decl)
        if not names:
            return None
        fns = [(n, self._param(n)) for n in names]

        def values(s: _State) -> dict[str, Decimal]:
            out: dict[str, Decimal] = {}
            for n, fn in fns:
                d = fraction_to_decimal(Fraction(*fn(s)))
                if d is None:
                    _give_up()
                out[n] = d
            return out

        return values

    # ------------------------------------------------------------------ conditions
    def _cond(self, c: ast.Cond) -> Cond:
        return _COND[type(c)](self, c)

    def _bool_op(self, c: ast.BoolOp) -> Cond:
        left, right = self._cond(c.left), self._cond(c.right)
        if c.op == "and":
            return lambda s: left(s) and right(s)
        return lambda s: left(s) or right(s)

    def _not(self, c: ast.Not) -> Cond:
        inner = self._cond(c.operand)
        return lambda s: not inner(s)

    def _truthy(self, c: ast.Truthy) -> Cond:
        operand = self._operand(c.operand)

        def truthy(s: _State) -> bool:
            v = operand(s)
            if not isinstance(v, bool):
                _give_up()
            return v

        return truthy

    def _in(self, c: ast.In) -> Cond:
        item = self._operand(c.item)
        box = c.container
        negated = c.negated
        members: frozenset[str] | None = None
        if box.kind == "name" and str(box.value) in self.ev.lists:
            members = self.ev.lists[str(box.value)]
        elif box.kind == "name" and str(box.value) in self.ev.groups:
            members = self.ev.groups[str(box.value)]
        if members is not None:
            inside = members
            return lambda s: (item(s) in inside) != negated
        year = self._operand(box)

        def in_year(s: _State) -> bool:
            when, y = item(s), year(s)
            if not isinstance(when, dt.date) or not isinstance(y, Decimal | Fraction):
                _give_up()
            return (y == when.year) != negated  # exact for Decimal and Fraction alike

        return in_year

    def _compare(self, c: ast.Compare) -> Cond:
        left = self._operand(c.left)
        bands = self.sym.bands(str(c.left.value)) if c.left.kind == "name" else None
        category = c.right.kind == "name" and self.sym.kind(str(c.right.value)) == "category"
        right: Operand
        if bands is not None or category:
            text = str(c.right.value)
            right = lambda s: text  # noqa: E731
        else:
            right = self._operand(c.right)
        if c.op in ("=", "!="):
            equal = c.op == "="
            return lambda s: (left(s) == right(s)) == equal  # Decimal == Fraction is exact
        order: Callable[[Any, Any], bool] = {"<": operator.lt, "<=": operator.le,
                                             ">": operator.gt, ">=": operator.ge}[c.op]

        def compare(s: _State) -> bool:
            a, b = left(s), right(s)
            if isinstance(a, Fraction) or isinstance(b, Fraction):
                if not isinstance(a, Decimal | Fraction) or not isinstance(b, Decimal | Fraction):
                    _give_up()
                return order(Fraction(a), Fraction(b))
            if not isinstance(a, Decimal | dt.date) or not isinstance(b, Decimal | dt.date):
                _give_up()
            return order(a, b)

        return compare

    def _operand(self, op: ast.Operand) -> Operand:
        if op.kind != "name":
            constant = op.value
            return lambda s: constant
        name = str(op.value)
        if name == BILLING_YEAR:
            return lambda s: Decimal(s.year)
        if name in BUILTIN_TEXT:
            return {"id": lambda s: s.c.id, "name": lambda s: s.c.name,
                    "customer_type": lambda s: s.c.customer_type}[name]
        kind = self.sym.kind(name)
        if kind == "bands":
            band = self._band(name)
            return lambda s: band(s).name
        if kind in ("param", "aggregate", "setting"):
            value = self._ref(ast.Ref(name, span=op.span))
            setting = kind == "setting"

            def number(s: _State) -> Value | Fraction:
                if setting:
                    given = s.ctx.settings.get(name)
                    if given is not None and not isinstance(given, Decimal):
                        return given
                x = Fraction(*value(s))
                d = fraction_to_decimal(x)
                return x if d is None else d  # compared exactly, as the reference does

            return number
        if kind == "category":
            return lambda s: name

        def read(s: _State) -> Value:
            v = s.values.get(name)
            if v is None:
                _pending()
            return v

        return read


def choose_case(e: ast.Cases, key: str,
                groups: Mapping[str, frozenset[str]]) -> ast.Case | None:
    """The case for ``key``: its own, else the first whose group holds it, else ``others``."""
    for case in e.cases:
        if case.key.name == key:
            return case
    for case in e.cases:
        if key in groups.get(case.key.name, ()):
            return case
    return next((c for c in e.cases if c.key.name == "others"), None)


def _checked(n: int, d: int) -> Num:
    """``n/d`` (d > 0), held back as the reference does when its reduced form is too large."""
    if n.bit_length() > MAX_BITS or d.bit_length() > MAX_BITS:
        x = Fraction(n, d)
        n, d = x.numerator, x.denominator
        if n.bit_length() > MAX_BITS or d.bit_length() > MAX_BITS:
            _give_up()  # too large: the reference's error
    return (n, d)


def _mul(x: Num, y: Num) -> Num:
    return (x[0] * y[0], x[1] * y[1])


def _less(x: Num, y: Num) -> bool:
    """``x < y`` exactly (denominators are above zero)."""
    return x[0] * y[1] < y[0] * x[1]


def _zero(s: _State) -> Num:
    return ZERO_NUM


_EXPR: Mapping[type[ast.Expr], Callable[[CompiledTariff, Any], Expr]] = {
    ast.Number: CompiledTariff._number,
    ast.Ref: CompiledTariff._ref,
    ast.Call: CompiledTariff._call,
    ast.Cases: CompiledTariff._cases,
    ast.BinOp: CompiledTariff._binop,
    ast.Extreme: CompiledTariff._extreme,  # issue 12
    ast.PerStarted: CompiledTariff._per_started,
    ast.RoundExpr: CompiledTariff._round_expr,
}
_COND: Mapping[type[ast.Cond], Callable[[CompiledTariff, Any], Cond]] = {
    ast.BoolOp: CompiledTariff._bool_op,
    ast.Not: CompiledTariff._not,
    ast.Truthy: CompiledTariff._truthy,
    ast.In: CompiledTariff._in,
    ast.Compare: CompiledTariff._compare,
}
