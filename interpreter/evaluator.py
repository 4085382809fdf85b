"""The tracing interpreter: the reference semantics of the tariff language.

Evaluates a checked tariff for customers and a billing year. Arithmetic is
exact: numbers are ``Fraction`` inside a calculation (so ``population /
largest`` loses nothing), ``Decimal`` at the edges, under a context that traps
inexact results and any mixing with float. An amount leaves a charge as an
exact decimal, or rounded where the tariff says; a value with no exact decimal
and no rounding rule is an error, never silently rounded. Each decision and
calculation is recorded as a :class:`~takst.interpreter.trace.Step` pointing at
the tariff text.

Order of work for a charge: is it due this year (frequency) and one of the
customer's services -> base amount (table cell, cases, or expression) ->
exceptions (the one that applies replaces the base) -> ``at least``/``at most``
before proration -> prorations (multiply) -> ``at least``/``at most`` after
proration (bounds are not applied to an exception's result) -> rounding (if the
tariff says) -> amount.

Some values are computed over the whole register before any customer:
aggregates (``max of population among ...``) and pools (a total shared in
proportion to a key). :meth:`Evaluator.prepare` computes them into a
:class:`Context` in one pass (:mod:`takst.interpreter.prepare`); a single
customer can be evaluated with those values given.

Each step goes to a :class:`~takst.interpreter.trace.Tracer`; without a trace it
is the null tracer, and :meth:`Evaluator.evaluate` uses the same tariff compiled
into closures (:mod:`takst.interpreter.compiled`), which computes the same
amounts. This module stays the reference: every trace comes from it, and every
line the compiled closures do not take (an error, a pending value) is given by it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from takst.dsl import ast
from takst.dsl.check import require_no_errors
from takst.dsl.errors import Diagnostic, EvaluationError, Span, diagnostic
from takst.dsl.intervals import Interval, band_interval
from takst.dsl.numbers import group, money_group, money_text, plain
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
from takst.dsl.symbols import BILLING_YEAR, BUILTIN_TEXT, Symbols, input_unit
from takst.interpreter import prepare as prepare_values
from takst.interpreter.compiled import CompiledTariff, choose_case
from takst.interpreter.exact import (
    EXACT,
    as_fraction,
    exact_text,
    float_free,
    fraction_text,
    fraction_to_decimal,
    num_text,
    round_fraction,
)
from takst.interpreter.model import (
    ChargeLine,
    Context,
    Customer,
    CustomerResult,
    PeriodAmount,
    Value,
    input_defaults,
    with_defaults,
)
from takst.interpreter.trace import NULL, Step, Tracer, value_text
from takst.interpreter.words import OP_SIGN, expr_label, number_text

ZERO = Decimal("0")
#: Largest numerator/denominator a calculation may reach (keeps evaluation bounded).
MAX_BITS = 4_000


class _NotOffered(Exception):
    def __init__(self, text: str, span: object) -> None:
        super().__init__(text)
        self.text = text
        self.span = span


class _Missing(Exception):
    """A value the amount needs is not known: an optional input not given, or a value
    the tariff declares pending. The charge is then pending, never zero."""

    def __init__(self, name: str, *, decided: bool = False, note: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.decided = decided  # True: the tariff has not decided it; False: not given
        self.note = note


# ------------------------------------------------------------------ the evaluator


class Evaluator:
    """Evaluates one tariff. Build it once, then call :meth:`evaluate` per customer."""

    def __init__(self, tariff: ast.Tariff, *, checked: bool = False,
                 compiled: bool = True) -> None:
        if not checked:
            require_no_errors(tariff)
        self.tariff = tariff
        self.sym = Symbols(tariff)
        self.currency = tariff.currency
        self.lists = {lst.name: frozenset(i.value for i in lst.items) for lst in tariff.lists}
        self.groups = {g.name: frozenset(m.name for m in g.members) for g in tariff.groups}
        # Every numeric input is 0 or more (registers refuse negative values).
        self.intervals = {
            b.name: [band_interval(band, ZERO) for band in b.bands] for b in tariff.bands
        }
        self.tables: dict[int, dict[tuple[str, ...], ast.Cell]] = {}
        for charge in tariff.charges:
            if isinstance(charge.body, ast.Table):
                self.tables[id(charge.body)] = _table_index(charge.body)
        self._compile = compiled
        self._compiled: CompiledTariff | None = None
        #: issue 12: the stated defaults of inputs, used where a customer has no value.
        self.defaults = input_defaults(tariff)
        #: issue 12: the tariff's VAT (at most one; the checker refuses a second).
        self.vat: ast.VatDecl | None = tariff.vats[0] if tariff.vats else None
        #: issue 12: bands whose bounds are params (their thresholds change by date).
        self.dated_bands = {b.name for b in tariff.bands if bound_params(b)}

    @property
    def compiled(self) -> CompiledTariff | None:
        """The untraced path: the tariff compiled into closures, on first use (None: the
        reference only)."""
        if self._compiled is None and self._compile:
            self._compiled = CompiledTariff(self)
        return self._compiled

    # ------------------------------------------------------------------ register-wide values
    def validate(self, customers: Iterable[Customer]) -> list[Diagnostic]:
        """Problems of customers that only the tariff can see: a customer type outside the
        declared categories, a service that is not a charge."""
        return prepare_values.validate(self.tariff, customers, self.sym)

    def prepare(
        self,
        customers: Iterable[Customer],
        year: int,
        settings: Mapping[str, Value] | None = None,
        register: str | None = None,
    ) -> Context:
        """Compute aggregates and pools over ``customers`` for ``year``, in one pass
        (:func:`takst.interpreter.prepare.prepare`)."""
        return prepare_values.prepare(self.tariff, customers, year, self, settings, register,
                                      sym=self.sym)

    def holds(self, cond: ast.Cond, customer: Customer, year: int, context: Context) -> bool:
        """Whether ``cond`` holds for ``customer`` (for register-wide values)."""
        return _Run(self, customer, year, False, context).test(cond)

    def value(self, expr: ast.Expr, customer: Customer, year: int, context: Context) -> Fraction:
        """The exact value of ``expr`` for ``customer`` (for register-wide values)."""
        with decimal.localcontext(EXACT):
            return _Run(self, customer, year, False, context).expr(expr)

    # ------------------------------------------------------------------ public
    def evaluate(self, customer: Customer, year: int, *, trace: bool = True,
                 context: Context | None = None) -> CustomerResult:
        """Every charge of the tariff for ``customer`` in billing ``year``.

        With ``trace=False`` the compiled closures compute the amounts (the same amounts,
        :mod:`takst.interpreter.compiled`); a trace always comes from the reference."""
        fast = self.compiled if not trace else None
        if fast is not None:
            return fast.evaluate(customer, year, context or Context())
        return self.reference(customer, year, trace=trace, context=context)

    def reference(self, customer: Customer, year: int, *, trace: bool = True,
                  context: Context | None = None) -> CustomerResult:
        """Every charge for ``customer`` by the reference (tree-walking, tracing) interpreter."""
        run = _Run(self, customer, year, trace, context or Context())
        with decimal.localcontext(EXACT):
            lines = tuple(run.charge(c) for c in self.tariff.charges)
        customer = run.c  # issue 12: with the stated defaults of inputs it has no value for
        inputs = tuple(
            (name, customer.values[name]) for name in self.sym.inputs() if name in customer.values
        )
        return CustomerResult(
            id=customer.id,
            name=customer.name,
            origin=customer.origin,
            inputs=inputs,
            lines=lines,
        )

    def run(self, customer: Customer, year: int, context: Context) -> _Run:
        """The reference interpreter for one customer without a trace (lines one by one)."""
        return _Run(self, customer, year, False, context)

    def evaluate_all(self, customers: Sequence[Customer], year: int, *, trace: bool = False,
                     settings: Mapping[str, Value] | None = None,
                     register: str | None = None) -> list[CustomerResult]:
        """A whole register: register-wide values first, then every customer."""
        ctx = self.prepare(customers, year, settings, register)
        return [self.evaluate(c, year, trace=trace, context=ctx) for c in customers]


def _table_index(table: ast.Table) -> dict[tuple[str, ...], ast.Cell]:
    index: dict[tuple[str, ...], ast.Cell] = {}
    for row in table.rows:
        if row.more_keys or len(table.dims) > 2:  # issue 12: three or more dimensions
            lead = (row.key.name, *(k.name for k in row.more_keys))
            for col, cell in zip(table.columns, row.cells, strict=False):
                index[(*lead, col.name)] = cell
        elif table.columns:
            for col, cell in zip(table.columns, row.cells, strict=False):
                index[(row.key.name, col.name)] = cell
        elif row.cells:
            index[(row.key.name,)] = row.cells[0]
    return index


def _money(x: Fraction) -> str:
    """An amount for the trace: ``34 880.00`` when it has an exact decimal, else
    ``33.333333…`` (never silently cut to a rounder number)."""
    d = fraction_to_decimal(x)
    return money_group(d) if d is not None else num_text(x)


class _Run:
    """One customer, one year. Caches params and band choices within the run."""

    def __init__(self, ev: Evaluator, customer: Customer, year: int, trace: bool,
                 ctx: Context) -> None:
        self.ev = ev
        #: issue 12: the inputs this customer has no value for, given their stated default.
        self.defaulted = frozenset(n for n in ev.defaults if n not in customer.values)
        self.c = with_defaults(customer, ev.defaults)
        self.year = year
        self.trace = trace
        self.ctx = ctx
        self.params: dict[str, Fraction] = {}
        self.bands: dict[str, ast.Band] = {}
        self.band_steps: dict[str, Step] = {}
        #: The trace of the charge being evaluated (:data:`NULL` when not tracing).
        self.line: Tracer = NULL
        #: Where steps go now: the line's tracer, or :data:`NULL` for a value worked out
        #: without a trace of its own (a slice's rate, a value a condition compares).
        self.tr: Tracer = NULL
        #: Formula parameters bound in the call being evaluated.
        self.env: dict[str, Fraction] = {}
        #: Whether an exception gave the amount of the charge being evaluated.
        self.excepted = False
        #: issue 12: the yearly steps of each indexed param (added to each line using it).
        self.index_steps: dict[str, tuple[Step, ...]] = {}
        #: issue 12: the billing period being evaluated (the whole year but in a charge
        #: invoiced per month, quarter or half year) and its length in months.
        self.period: Period = year_period(year)
        self.months = 12

    def _muted(self, e: ast.Expr) -> Fraction:
        """The value of ``e`` with no steps of its own (bands still go to the line)."""
        saved, self.tr = self.tr, NULL
        try:
            return self._expr(e)
        finally:
            self.tr = saved

    # ------------------------------------------------------------------ charges
    def charge(self, charge: ast.ChargeDecl) -> ChargeLine:
        tr = self.line = self.tr = Tracer() if self.trace else NULL
        name = charge.name
        label = charge.label or name
        if self.c.services is not None and name not in self.c.services:
            tr.add("frequency", "not billed: not among this customer's services "
                   "(register column services)", charge.span, applied=False)
            return ChargeLine(name, label, ZERO, "ok", False, tr.result(), charge.span,
                              vat=ZERO if self.ev.vat is not None else None)
        try:
            due = self.frequency(charge)
        except _Missing as miss:
            tr.add("pending", f"{miss.name} is not given for this customer, so it is not known "
                   "whether the charge is due (pending)", charge.span, value="pending")
            return ChargeLine(name, label, None, "pending", True, tr.result(), charge.span)
        if not due:
            return ChargeLine(name, label, ZERO, "ok", False, tr.result(), charge.span,
                              vat=ZERO if self.ev.vat is not None else None)
        if charge.pending and charge.pending_for is not None and not self.pending_applies(charge):
            return ChargeLine(name, label, ZERO, "ok", False, tr.result(), charge.span,
                              vat=ZERO if self.ev.vat is not None else None)
        if charge.pending:
            if tr:
                note = "; ".join(n.text for n in charge.notes)
                tr.add("pending", "amount not decided yet (pending)"
                       + (f": {note}" if note else ""), charge.span, value="pending")
            return ChargeLine(name, label, None, "pending", True, tr.result(), charge.span)
        assert charge.body is not None
        if charge.frequency.period != "year":
            return self.periodic(charge)
        try:
            body = charge.body
            base = self.table(body) if isinstance(body, ast.Table) else self.expr(body)
            amount = self.exceptions(charge, base)
            amount = self.limits(charge, amount, "before proration")
            amount = self.prorate(charge, amount)
            amount = self.limits(charge, amount, "after proration")
        except _NotOffered as no:
            tr.add("case", no.text, no.span, applied=False)  # type: ignore[arg-type]
            return ChargeLine(name, label, ZERO, "ok", False, tr.result(), charge.span,
                              vat=ZERO if self.ev.vat is not None else None)
        except _Missing as miss:
            if tr:
                why = ("is not decided yet" if miss.decided else "is not given for this customer")
                note = f" ({miss.note})" if miss.note else ""
                tr.add("pending", f"{miss.name} {why}{note}, so the amount is not known yet "
                       "(pending)", charge.span, value="pending")
            return ChargeLine(name, label, None, "pending", True, tr.result(), charge.span)
        final = self.finish(charge, amount)
        if tr:
            tr.add("result", f"amount = {money_group(final)}", None, value=money_text(final))
        if self.ev.vat is not None:
            try:
                vat, rate = self.vat(charge, final)
            except _Missing as miss:  # the rate needs a value not given: VAT not known yet
                tr.add("vat", f"the VAT is not known yet: {miss.name} is not given for this "
                       "customer", self.ev.vat.span, applied=False)
                return ChargeLine(name, label, final, "ok", True, tr.result(), charge.span)
            return ChargeLine(name, label, final, "ok", True, tr.result(), charge.span,
                              vat=vat, vat_rate=rate)
        return ChargeLine(name, label, final, "ok", True, tr.result(), charge.span)

    # ------------------------------------------------------------------ issue 12
    def pending_applies(self, charge: ast.ChargeDecl) -> bool:
        """Whether a pending charge limited to some customers (``for ...``) is for this one;
        when it is not, it is not charged (and the trace says why)."""
        assert charge.pending_for is not None
        ok, why = self.cond(charge.pending_for)
        if not ok:
            only = prepare_values.cond_words(charge.pending_for)
            self.tr.add("pending", f"not charged: pending only for {only}; {why}",
                        charge.pending_for.span, applied=False)
        return ok

    def vat(self, charge: ast.ChargeDecl, amount: Decimal) -> tuple[Decimal, Decimal | None]:
        """The VAT on a line's amount and its rate: ``amount × rate``, rounded as the tariff's
        ``vat`` says (0 for a charge exempt from VAT)."""
        decl = self.ev.vat
        assert decl is not None
        tr = self.tr
        if charge.vat_exempt is not None:
            if tr:
                reason = f" ({charge.vat_exempt.reason})" if charge.vat_exempt.reason else ""
                tr.add("vat", f"no VAT: {charge.name} is exempt from VAT{reason}",
                       charge.vat_exempt.span, value="0", applied=False)
            return ZERO, None
        rate = self._muted(decl.rate)
        exact = Fraction(amount) * rate
        label = decl.label or decl.name
        which = ""
        if isinstance(decl.rate, ast.Cases):
            key = self.dimension(decl.rate.dim.name)
            chosen = choose_case(decl.rate, key, self.ev.groups)
            via = "" if chosen is None or chosen.key.name == key else f" by {chosen.key.name}"
            reason = f", {chosen.reason}" if chosen is not None and chosen.reason else ""
            which = f" ({decl.rate.dim.name} {key}{via}{reason})"
        r = decl.rounding
        if r is not None:
            step_value, step_text, mode = self.ev.sym.rule_of(r)
            vat = round_fraction(exact, step_value, mode)
            how = f", rounded to {step_text} ({mode}): {num_text(exact)} → {money_group(vat)}"
        else:
            found = fraction_to_decimal(exact)
            if found is None:
                raise EvaluationError(diagnostic(
                    f"the VAT of {charge.name} for {self.c.name} is {float_free(exact)}, which "
                    "has no exact decimal value", decl.span,
                    hint="say how to round it: add a line `round to øre half up` under the vat"))
            vat, how = found, ""
        rate_d = fraction_to_decimal(rate)
        if tr:
            tr.add("vat",
                   f"{label} {num_text(rate * 100)} %{which}: {money_group(amount)} × "
                   f"{num_text(rate * 100)} % = {num_text(exact)}{how}; amount with VAT "
                   f"{money_group(amount + vat)}",
                   decl.span, value=money_text(vat),
                   detail=(("rate", exact_text(rate)), ("amount", str(amount)),
                           ("vat", str(vat)), ("inc_vat", str(amount + vat))),
                   applied=True)
        return vat, rate_d

    def indexed(self, name: str, param: ast.ParamDecl) -> Fraction:
        """The value of an indexed param in the billing year: its value in the base year,
        × (1 + the rate in force that year) for each later year, rounded each year as stated.
        Each year is one ``index`` step."""
        adj = param.adjustment
        assert adj is not None
        if self.year < adj.base_year:
            raise EvaluationError(diagnostic(
                f"{name} is adjusted every year from {adj.base_year}, so it has no value for "
                f"billing year {self.year}", adj.span,
                hint=f"evaluate {adj.base_year} or a later year"))
        steps = Tracer() if self.trace else NULL
        saved, self.tr = self.tr, NULL
        try:
            value = self._expr(param.value)
        finally:
            self.tr = saved
        label = f' "{param.label}"' if param.label else ""
        steps.add("index", f"{name}{label} in {adj.base_year} (the base year) = "
                  f"{_money(value)}", param.span, value=exact_text(value),
                  detail=(("param", name), ("year", str(adj.base_year))))
        r = adj.rounding
        step_value: Decimal | None = None
        step_text, mode = "", "half up"
        if r is not None:
            step_value, step_text, mode = self.ev.sym.rule_of(r)
        for y in range(adj.base_year + 1, self.year + 1):
            rate = (self._muted(adj.rate) if y == self.year
                    else _Run(self.ev, self.c, y, False, self.ctx)._muted(adj.rate))
            before = value
            exact = before * (1 + rate)
            if exact.numerator.bit_length() > MAX_BITS or exact.denominator.bit_length() > MAX_BITS:
                raise ValueError("too large")
            rounded = ""
            value = exact
            if step_value is not None:
                value = Fraction(round_fraction(exact, step_value, mode))
                rounded = f", rounded to {step_text} ({mode}) → {_money(value)}"
            if steps:
                steps.add("index", f"{name} in {y} = {_money(before)} × (1 + "
                          f"{num_text(rate * 100)} %) = {num_text(exact)}{rounded}",
                          adj.span, value=exact_text(value),
                          detail=(("param", name), ("year", str(y)), ("left", exact_text(before)),
                                  ("rate", exact_text(rate)), ("result", exact_text(value))))
        self.index_steps[name] = steps.result()
        return value

    def frequency(self, charge: ast.ChargeDecl) -> bool:
        freq = charge.frequency
        tr = self.tr
        every = f"every {freq.period}"  # issue 12: every month, quarter, half year or year
        if freq.anchor is None:
            tr.add("frequency", f"charged {every}", freq.span, applied=True)
            return True
        anchor = freq.anchor.name
        when = self.c.values.get(anchor)
        if when is None:
            raise _Missing(anchor)
        assert isinstance(when, dt.date)
        if freq.kind == "every_year":
            due = self.year >= when.year
            if tr:
                if due:
                    text = (f"charged {every} from {anchor} ({when.isoformat()}): "
                            f"billing year {self.year} ≥ {when.year}")
                else:
                    text = (f"not charged: charged {every} from {anchor} ({when.isoformat()}), "
                            f"and billing year {self.year} is before {when.year}")
                tr.add("frequency", text, freq.span, applied=due)
            return due
        due = self.year == when.year
        if tr:
            if due:
                text = (f"charged once, in the year of {anchor}: {when.isoformat()} is in "
                        f"billing year {self.year}")
            else:
                text = (f"not charged: charged once, in the year of {anchor} ({when.year}), "
                        f"not in billing year {self.year}")
            tr.add("frequency", text, freq.span, applied=due)
        return due

    # ------------------------------------------------------------------ issue 12: periods
    def periodic(self, charge: ast.ChargeDecl) -> ChargeLine:
        """A charge invoiced per month, quarter or half year: each period of the billing
        year is worked out on its own (base, exceptions, prorations, rounding) with the
        dated values the tariff's rules give it; the line's amount is the year's sum."""
        tr = self.tr
        name, label = charge.name, charge.label or charge.name
        period = charge.frequency.period
        anchor = charge.frequency.anchor
        when = self.c.values.get(anchor.name) if anchor is not None else None
        saved = (self.period, self.months, self.params, self.bands, self.band_steps)
        parts: list[PeriodAmount] = []
        total = ZERO
        try:
            for p in periods_of(self.year, period):
                if isinstance(when, dt.date) and p.end < when:
                    assert anchor is not None
                    tr.add("period", f"{p.label}: not charged, before {anchor.name} "
                           f"({when.isoformat()})", charge.frequency.span, value="0",
                           detail=(("start", p.start.isoformat()), ("end", p.end.isoformat())),
                           applied=False)
                    parts.append(PeriodAmount(p.start, p.end, p.label, ZERO, False))
                    continue
                self.period, self.months = p, ast.PERIOD_MONTHS[period]
                self.params, self.bands, self.band_steps = {}, {}, {}
                tr.add("period", f"{p.label} ({p.start.isoformat()} to {p.end.isoformat()})",
                       charge.frequency.span,
                       detail=(("start", p.start.isoformat()), ("end", p.end.isoformat())),
                       applied=True)
                body = charge.body
                assert body is not None
                base = self.table(body) if isinstance(body, ast.Table) else self.expr(body)
                amount = self.exceptions(charge, base)
                amount = self.prorate(charge, amount)
                final = self.finish(charge, amount)
                parts.append(PeriodAmount(p.start, p.end, p.label, final))
                total += final
        except _NotOffered as no:
            tr.add("case", no.text, no.span, applied=False)  # type: ignore[arg-type]
            return ChargeLine(name, label, ZERO, "ok", False, tr.result(), charge.span)
        except _Missing as miss:
            if tr:
                why = ("is not decided yet" if miss.decided else "is not given for this customer")
                note = f" ({miss.note})" if miss.note else ""
                tr.add("pending", f"{miss.name} {why}{note}, so the amount is not known yet "
                       "(pending)", charge.span, value="pending")
            return ChargeLine(name, label, None, "pending", True, tr.result(), charge.span)
        finally:
            self.period, self.months, self.params, self.bands, self.band_steps = saved
        charged = [pa for pa in parts if pa.charged]
        if tr:
            words = {"month": "monthly", "quarter": "quarterly", "half year": "half-yearly"}
            sums = " + ".join(money_group(pa.amount) for pa in charged) or "0"
            tr.add("sum", f"{name}: sum of the {len(charged)} {words[period]} amounts: "
                   f"{sums} = {money_group(total)}", charge.span, value=money_text(total),
                   detail=tuple((pa.start.isoformat(), money_text(pa.amount)) for pa in charged))
            tr.add("result", f"amount = {money_group(total)}", None, value=money_text(total))
        return ChargeLine(name, label, total, "ok", True, tr.result(), charge.span,
                          periods=tuple(parts))

    def period_part(self, anchor: str, period: str) -> tuple[bool, str, Fraction]:
        """The part of the billing period being evaluated from ``anchor`` on, in whole
        months or in days (:meth:`period_fraction` for a whole year)."""
        p = self.period
        when = self.c.values.get(anchor)
        if when is None:
            raise _Missing(anchor)
        assert isinstance(when, dt.date)
        if when.year != self.year or when <= p.start:
            return False, (f"{anchor} {when.isoformat()} is not after the start of "
                           f"{p.label}, so the whole period counts"), Fraction(1)
        if period == "months":
            total = self.months
            months = 0 if when > p.end else p.end.month - when.month + 1
            return True, (f"{anchor} {when.isoformat()}: {months} of {total} months of "
                          f"{p.label}"), Fraction(months, total)
        days = 0 if when > p.end else (p.end - when).days + 1
        return True, (f"{anchor} {when.isoformat()}: {days} of {p.days} days of {p.label}, "
                      f"{when.isoformat()} to {p.end.isoformat()}"), Fraction(days, p.days)

    def dates_fraction(self, pr: ast.Prorate, num: Decimal, den: Decimal
                       ) -> tuple[bool, str, Fraction]:
        """``prorate 1/2 from A to B``: the fraction for the days of the period between A
        and B, the whole amount for the rest (day-weighted)."""
        assert pr.start is not None and pr.end is not None
        p = self.period
        inside = shared_days(pr.start, pr.end, p)
        between = f"{pr.start.isoformat()} to {pr.end.isoformat()}"
        frac = Fraction(num) / Fraction(den)
        if inside == 0:
            return False, f"no day of {p.label} is in {between}", Fraction(1)
        if inside == p.days:
            return True, f"every day of {p.label} is in {between}", frac
        factor = (Fraction(p.days - inside) + inside * frac) / p.days
        return True, (f"{inside} of {p.days} days of {p.label} are in {between}: "
                      f"({p.days - inside} + {inside} × {num_text(frac)}) / {p.days} = "
                      f"{factor.numerator}/{factor.denominator}"), factor

    def in_force_on(self, param: ast.ParamDecl) -> tuple[ast.Expr, str]:
        """The value of a dated param for the period being evaluated, by the param's rule
        (1 January, or each period's start), and the words the trace gives it."""
        kind = param.rule.kind if param.rule is not None else "january"
        on = dt.date(self.year, 1, 1) if kind == "january" else self.period.start
        chosen = in_force(param.dated, on)
        if chosen is None:
            raise EvaluationError(diagnostic(
                f"{param.name} has no value on {on.isoformat()}: its first value is from "
                f"{param.dated[0].start.isoformat()}", param.span,
                hint="evaluate a later year, or add a value in force on "
                f"{on.isoformat()}"))
        if kind == "january":
            return chosen.value, (f" (in force from {chosen.start.isoformat()}, the value on "
                                  f"1 January {self.year})")
        return chosen.value, (f" (in force from {chosen.start.isoformat()}, the value at the "
                              f"start of {self.period.label}, {on.isoformat()})")

    def weighted(self, param: ast.ParamDecl) -> Fraction:
        """A dated param ``weighted by days``: each value in force during the period times
        the days it is in force, over the period's days."""
        p = self.period
        total = Fraction(0)
        parts: list[str] = []
        for dated, days in segments(param.dated, p):
            if dated is None:
                raise EvaluationError(diagnostic(
                    f"{param.name} has no value on {p.start.isoformat()}: its first value is "
                    f"from {param.dated[0].start.isoformat()}", param.span,
                    hint="evaluate a later year, or add a value in force on "
                    f"{p.start.isoformat()}"))
            value = self._expr(dated.value)
            total += value * days
            parts.append(f"{num_text(value)} × {days} days")
        result = total / p.days
        tr = self.tr
        if tr:
            label = f' "{param.label}"' if param.label else ""
            tr.add("param", f"{param.name}{label} weighted by days over {p.label}: "
                   f"({' + '.join(parts)}) / {p.days} = {num_text(result)}", param.span,
                   value=exact_text(result))
        return result

    def band_intervals(self, name: str) -> list[Interval]:
        """The intervals of a bands declaration; a bound that is a param takes the param's
        value for the period being evaluated (dated bounds)."""
        if name not in self.ev.dated_bands:
            return self.ev.intervals[name]
        decl = self.ev.sym.bands(name)
        assert decl is not None
        values = self.bound_values(decl)
        return [band_interval(resolve_band(b, values), ZERO) for b in decl.bands]

    def bound_values(self, decl: ast.BandsDecl | ast.SlicesDecl) -> dict[str, Decimal]:
        values: dict[str, Decimal] = {}
        for pname in bound_params(decl):
            value = fraction_to_decimal(self.param(pname))
            if value is None:
                raise EvaluationError(diagnostic(
                    f"{pname} is a bound of {decl.name} and has no exact decimal value",
                    decl.span, hint=f"give {pname} a value with a finite decimal"))
            values[pname] = value
        return values

    def table(self, table: ast.Table) -> Fraction:
        key = [self.dimension(dim.name) for dim in table.dims]
        cell = self.ev.tables[id(table)][tuple(key)]
        tr = self.tr
        if tr:
            where = ", ".join(f"{d.name} = {k}" for d, k in zip(table.dims, key, strict=True))
            tr.add("cell", f"table cell ({where}): {money_group(cell.value)}", cell.span,
                   value=money_text(cell.value),
                   detail=tuple((d.name, k) for d, k in zip(table.dims, key, strict=True)))
        return Fraction(cell.value)

    def dimension(self, name: str) -> str:
        """The key of a dimension for this customer: a band, yes/no, or a category."""
        if self.ev.sym.bands(name) is not None:
            return self.band(name).name
        if name == "customer_type":
            return self.c.customer_type
        value = self.c.values.get(name)
        if value is None:  # an optional input not given: what needs it is not known yet
            raise _Missing(name)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def band(self, name: str) -> ast.Band:
        """The band of ``name`` this customer is in; its step goes once into each charge's
        trace that uses it (also when a condition uses it)."""
        line = self.line
        if name in self.bands:
            band = self.bands[name]
            if line and not line.has("band", "bands", name):
                line.append(self.band_steps[name])
            return band
        decl = self.ev.sym.bands(name)
        assert decl is not None
        subject = decl.subject.name
        value = self.c.values.get(subject)
        if value is None:
            raise _Missing(subject)
        assert isinstance(value, Decimal)
        for iv in self.band_intervals(name):
            if iv.lo is not None and (value < iv.lo or (value == iv.lo and not iv.lo_incl)):
                continue
            if iv.hi is not None and (value > iv.hi or (value == iv.hi and not iv.hi_incl)):
                continue
            self.bands[name] = iv.band
            if self.trace:
                lo = "" if iv.lo is None else f"{group(iv.lo)} {'≤' if iv.lo_incl else '<'} "
                hi = "" if iv.hi is None else f" {'≤' if iv.hi_incl else '<'} {group(iv.hi)}"
                label = f' "{iv.band.label}"' if iv.band.label else ""
                step = Step(
                    "band",
                    f"{subject} {group(value)} is in {name} {iv.band.name}{label}: "
                    f"{lo}{group(value)}{hi}",
                    iv.band.span,
                    value=iv.band.name,
                    detail=(("bands", name), ("subject", subject), ("value", str(value))),
                )
                self.band_steps[name] = step
                line.append(step)
            return iv.band
        raise EvaluationError(
            diagnostic(
                f"{subject} {group(value)} of {self.c.name} falls in no band of {name}",
                decl.span,
                hint="run `takst check` on the tariff: its bands do not cover every value",
            )
        )

    def exceptions(self, charge: ast.ChargeDecl, base: Fraction) -> Fraction:
        fired: list[tuple[ast.ExceptionRule, Fraction]] = []
        tr = self.tr
        for ex in charge.exceptions:
            ok, why = self.cond(ex.condition)
            reason = f" ({ex.reason})" if ex.reason else ""
            if ok:
                value = self.expr(ex.result)
                fired.append((ex, value))
                if tr:
                    tr.add("exception", f"exception applies{reason}: {why} → {_money(value)}",
                           ex.span, value=exact_text(value), applied=True)
            else:
                tr.add("exception", f"exception does not apply{reason}: {why}", ex.span,
                       applied=False)
        self.excepted = bool(fired)
        if not fired:
            return base
        fired.sort(key=lambda fv: -(fv[0].priority or 0))
        return fired[0][1]

    def prorate(self, charge: ast.ChargeDecl, amount: Fraction) -> Fraction:
        tr = self.tr
        for pr in charge.prorations:
            num, den, period = pr.numerator, pr.denominator, pr.period
            if pr.policy is not None:
                decl = self.ev.sym.proration(pr.policy.name)
                assert decl is not None
                num, den, period = decl.numerator, decl.denominator, decl.period
            reason = f" ({pr.reason})" if pr.reason else ""
            if period is not None:
                assert pr.anchor is not None
                ok, why, frac = (self.period_fraction(pr.anchor.name, period)
                                 if self.months == 12
                                 else self.period_part(pr.anchor.name, period))
                frac_text = f"{frac.numerator}/{frac.denominator}"
                num, den = Decimal(frac.numerator), Decimal(frac.denominator)
            elif pr.start is not None:  # issue 12: a fraction for the days between two dates
                ok, why, frac = self.dates_fraction(pr, num, den)
                frac_text = f"{frac.numerator}/{frac.denominator}"
                num, den = Decimal(frac.numerator), Decimal(frac.denominator)
            else:
                assert pr.condition is not None
                ok, why = self.cond(pr.condition)
                frac_text = fraction_text(num, den)
            if ok:
                before = amount
                amount = amount * Fraction(num) / Fraction(den)
                if tr:
                    tr.add(
                        "prorate",
                        f"prorated {frac_text}{reason}: {why}; "
                        f"{_money(before)} × {frac_text} = {num_text(amount)}",
                        pr.span,
                        value=exact_text(amount),
                        detail=(
                            ("op", "*"),
                            ("left", exact_text(before)),
                            ("numerator", str(num)),
                            ("denominator", str(den)),
                            ("result", exact_text(amount)),
                        ),
                        applied=True,
                    )
            else:
                tr.add("prorate", f"not prorated{reason}: {why}", pr.span, applied=False)
        return amount

    def period_fraction(self, anchor: str, period: str) -> tuple[bool, str, Fraction]:
        """The part of the billing year from ``anchor`` on, in whole months or in days."""
        when = self.c.values.get(anchor)
        if when is None:
            raise _Missing(anchor)
        assert isinstance(when, dt.date)
        if when.year != self.year:
            why = (f"{anchor} {when.isoformat()} is not in billing year {self.year}, "
                   "so the whole year counts")
            return False, why, Fraction(1)
        if period == "months":
            months = 12 - when.month + 1
            return True, (f"{anchor} {when.isoformat()}: {months} of 12 months from "
                          f"{when.strftime('%B')} on"), Fraction(months, 12)
        first = dt.date(self.year, 1, 1)
        last = dt.date(self.year, 12, 31)
        in_year = (last - first).days + 1
        days = (last - when).days + 1
        return True, (f"{anchor} {when.isoformat()}: {days} of {in_year} days from "
                      f"{when.isoformat()} to {last.isoformat()}"), Fraction(days, in_year)

    def finish(self, charge: ast.ChargeDecl, amount: Fraction) -> Decimal:
        r = charge.rounding
        if r is not None:
            step_value, step_text, mode = self.ev.sym.rule_of(r)
            rounded = round_fraction(amount, step_value, mode)
            tr = self.tr
            if tr:
                exact = fraction_to_decimal(amount)
                before = group(exact) if exact is not None else num_text(amount)
                via = f" by rounding {r.policy.name}" if r.policy is not None else ""
                tr.add("round",
                       f"rounded to {step_text} ({mode}){via}: {before} → {money_group(rounded)}",
                       r.span, value=str(rounded),
                       detail=(("step", str(step_value)), ("mode", mode)))
            return rounded
        exact = fraction_to_decimal(amount)
        if exact is None:
            where = charge.prorations[-1].span if charge.prorations else charge.span
            raise EvaluationError(
                diagnostic(
                    f"the amount of {charge.name} for {self.c.name} is {float_free(amount)}, "
                    "which has no exact decimal value",
                    where,
                    hint="say how to round it: add a line `round to øre half up` to the charge",
                )
            )
        return exact

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> Fraction:
        try:
            return self._expr(e)
        except (decimal.DecimalException, OverflowError, ValueError):
            raise EvaluationError(
                diagnostic(
                    "this calculation gives a number too large to compute exactly",
                    e.span,
                    hint="check the inputs for absurd values (e.g. a population of 10^100)",
                )
            ) from None

    def _expr(self, e: ast.Expr) -> Fraction:
        return _EXPR[type(e)](self, e)

    def number(self, e: ast.Number) -> Fraction:
        value = Fraction(e.value) / 100 if e.percent else Fraction(e.value)
        factor = rate_factor(e.per, _PERIOD_OF_MONTHS[self.months]) if e.per else None
        if factor is None or factor[0] == factor[1]:
            return value
        # issue 12: a price per month, quarter, half year or year is the period's amount
        result = value * factor[0] / factor[1]
        tr = self.tr
        if tr:
            period = _PERIOD_OF_MONTHS[self.months]
            op, by = ("*", factor[0] // factor[1]) if factor[0] > factor[1] else (
                "/", factor[1] // factor[0])
            tr.add("calc", f"{number_text(e)} for a {period}: {num_text(value)} "
                   f"{OP_SIGN[op]} {by} = {num_text(result)}", e.span,
                   value=exact_text(result),
                   detail=(("op", op), ("left", exact_text(value)), ("right", str(by)),
                           ("result", exact_text(result))))
        return result

    def binop(self, e: ast.BinOp) -> Fraction:
        left = self._expr(e.left)
        right = self._expr(e.right)
        if e.op == "+":
            result = left + right
        elif e.op == "-":
            result = left - right
        elif e.op == "*":
            result = left * right
        else:
            if right == 0:
                raise EvaluationError(diagnostic(
                    f"division by zero: {self.label(e.right)} is 0 for {self.c.name}", e.span,
                    hint="check the inputs, or guard the division with a case"))
            result = left / right
        if result.numerator.bit_length() > MAX_BITS or result.denominator.bit_length() > MAX_BITS:
            raise ValueError("too large")
        tr = self.tr
        if tr:
            sign = OP_SIGN[e.op]
            tr.add(
                "calc",
                f"{self.label(e)} = {num_text(left)} {sign} {num_text(right)} = "
                f"{num_text(result)}",
                e.span,
                value=exact_text(result),
                detail=(("op", e.op), ("left", exact_text(left)),
                        ("right", exact_text(right)), ("result", exact_text(result))),
            )
        return result

    def ref(self, e: ast.Ref) -> Fraction:
        name = e.name
        if name in self.env:
            return self.env[name]
        if name == BILLING_YEAR:
            return Fraction(self.year)
        sym = self.ev.sym.get(name)
        kind = sym.kind if sym is not None else None
        if kind == "param":
            return self.param(name)
        if kind == "setting":
            value = self.ctx.settings.get(name)
            if value is None:
                raise EvaluationError(diagnostic(
                    f"setting {name} has no value", sym.decl.span if sym and sym.decl else None,
                    hint=f"give it on the command line: --set {name}=..."))
            self.tr.add("input", f"{name} = {value_text(value)} (setting)", None,
                        value=str(value))
            return as_fraction(value)
        if kind == "aggregate":
            return self.aggregate(name, e.span)
        if kind == "pool":
            return self.pool_share(name)
        if kind == "slices":
            return self.slices(name)
        value = self.c.values.get(name)
        if value is None:
            raise _Missing(name)
        assert isinstance(value, Decimal)
        tr = self.tr
        if tr:
            inp = self.ev.sym.input(name)
            unit = ""
            if inp is not None:
                u = input_unit(inp)
                if u is not None and not u.is_plain:
                    unit = " " + _unit_words(u.describe(self.ev.currency))
            default = " (not given: the stated default)" if name in self.defaulted else ""
            tr.add("input", f"{name} = {group(value)}{unit}{default}", None, value=str(value))
        return Fraction(value)

    def param(self, name: str) -> Fraction:
        param = self.ev.sym.param(name)
        assert param is not None
        if param.pending:
            label = f' "{param.label}"' if param.label else ""
            raise _Missing(f"{name}{label}", decided=True, note=param.note)
        value_expr = param.value
        dated_note = ""
        if param.dated and param.rule is not None and param.rule.kind == "days":
            if name not in self.params:
                self.params[name] = self.weighted(param)
            return self.params[name]
        if param.dated and param.rule is not None:  # issue 12: the param's own rule
            value_expr, dated_note = self.in_force_on(param)
        elif param.dated:
            jan1 = dt.date(self.year, 1, 1)
            in_force = [d for d in param.dated if d.start <= jan1]
            if not in_force:
                raise EvaluationError(diagnostic(
                    f"{name} has no value for billing year {self.year}: its first value is from "
                    f"{param.dated[0].start.isoformat()}", param.span,
                    hint="evaluate a later year, or add a value in force on "
                    f"{jan1.isoformat()}"))
            chosen = in_force[-1]
            value_expr = chosen.value
            dated_note = (f" (in force from {chosen.start.isoformat()}, the value on "
                          f"1 January {self.year})")
            if chosen.pending:  # issue 12: a value of the series not decided yet
                label = f' "{param.label}"' if param.label else ""
                note = f"from {chosen.start.isoformat()}" + (f": {chosen.note}" if chosen.note
                                                            else "")
                raise _Missing(f"{name}{label}", decided=True, note=note)
        if param.adjustment is not None:  # issue 12: indexed every year from a base year
            if name not in self.params:
                self.params[name] = self.indexed(name, param)
            tr = self.tr
            if tr:
                if not tr.has("index", "param", name):
                    for step in self.index_steps.get(name, ()):
                        tr.append(step)
                label = f' "{param.label}"' if param.label else ""
                value = self.params[name]
                tr.add("param", f"{name}{label} = {_money(value)} (adjusted every year from "
                       f"{param.adjustment.base_year})", param.span, value=exact_text(value))
            return self.params[name]
        if name not in self.params:
            self.params[name] = self._expr(value_expr)
        value = self.params[name]
        tr = self.tr
        if tr and not isinstance(value_expr, ast.Cases):
            label = f' "{param.label}"' if param.label else ""
            tr.add("param",
                   f"{name}{label} = {self.literal_text(value_expr, value)}{dated_note}",
                   param.span, value=exact_text(value))
        return value

    def aggregate(self, name: str, span: Span | None = None) -> Fraction:
        if name in self.ctx.aggregates:
            value, how = self.ctx.aggregates[name]
        elif name in self.ctx.empty:  # no customer qualifies: an error where it is needed
            raise prepare_values.empty_aggregate(name, self.c, self.ctx.empty[name], span,
                                                 self.ev.sym)
        else:
            given = self.ctx.settings.get(name)
            if given is None:
                agg = self.ev.sym.aggregate(name)
                raise EvaluationError(diagnostic(
                    f"aggregate {name} is computed over a register, and there is none here",
                    agg.span if agg else None,
                    hint=f"evaluate with --register, or give the value: --set {name}=..."))
            value, how = as_fraction(given), "given, not computed from a register"
        tr = self.tr
        if tr:
            decl = self.ev.sym.aggregate(name)
            tr.add("param", f"{name} = {num_text(value)} ({how})",
                   decl.span if decl else None, value=exact_text(value))
        return value

    def pool_share(self, name: str) -> Fraction:
        pool = self.ctx.pools.get(name)
        decl = self.ev.sym.pool(name)
        if pool is None:
            raise EvaluationError(diagnostic(
                f"pool {name} is shared over a register, and there is none here",
                decl.span if decl else None, hint="evaluate with --register"))
        share = pool.shares.get(self.c.id)
        tr = self.tr
        if share is None:
            if tr:
                tr.add("pool", f"{pool.text}; {self.c.name} is not among them: 0",
                       decl.span if decl else None, value="0")
            return Fraction(0)
        exact, rounded = share
        assert decl is not None
        key = self.c.values[decl.key.name]
        if tr:
            rate = pool.total / pool.key_sum
            adj = rounded - exact
            tail = ""
            if decl.step is not None:
                tail = (f"; rounded to {decl.step_text} by largest remainder: "
                        f"{num_text(exact)} → {_money(rounded)}")
            how = (f"rate {num_text(rate)} per unit; share = {_money(pool.total)} × "
                   f"{value_text(key)} / {num_text(pool.key_sum)}")
            if decl.equal is not None and decl.keyed is not None:  # issue 12: a mixed key
                eq, kd = prepare_values._part(decl.equal), prepare_values._part(decl.keyed)
                how = (f"share = {_money(pool.total)} × {eq} / {len(pool.shares)} + "
                       f"{_money(pool.total)} × {kd} × {value_text(key)} / "
                       f"{num_text(pool.key_sum)}")
            tr.add(
                "pool",
                f"{pool.text}; {how} = {num_text(exact)}{tail}",
                decl.span,
                value=exact_text(rounded),
                detail=(("total", exact_text(pool.total)), ("key", str(key)),
                        ("key_sum", exact_text(pool.key_sum)), ("exact", exact_text(exact)),
                        ("adjustment", exact_text(adj))),
            )
        return rounded

    def slices(self, name: str) -> Fraction:
        decl = self.ev.sym.slices(name)
        assert decl is not None
        if decl.rule == "volume":
            return self.volume(decl)
        subject = decl.subject.name
        raw = self.c.values.get(subject)
        if raw is None:
            raise _Missing(subject)
        q = as_fraction(raw)
        inp = self.ev.sym.input(subject)
        whole = inp is not None and inp.type.kind in ("inhabitants", "count")
        total = Fraction(0)
        tr = self.tr
        bounds = self.bound_values(decl) if bound_params(decl) else None
        for sl in decl.slices:
            iv = band_interval(resolve_band(sl, bounds) if bounds else sl, ZERO)
            lo = Fraction(iv.lo if iv.lo is not None else 0)
            hi = Fraction(iv.hi) if iv.hi is not None else None
            if whole:
                first = max(lo if iv.lo_incl else lo + 1, Fraction(1))
                last = q if hi is None else min(q, hi if iv.hi_incl else hi - 1)
                units = max(Fraction(0), last - first + 1)
                top = None if hi is None else (hi if iv.hi_incl else hi - 1)
                span_text = f"{num_text(first)}–{'' if top is None else num_text(top)}"
            else:
                top = q if hi is None else min(q, hi)
                units = max(Fraction(0), top - lo)
                span_text = f"{num_text(lo)}–{'' if hi is None else num_text(hi)}"
            rate = self._muted(sl.rate) if sl.rate is not None else Fraction(0)
            amount = units * rate
            flat_text = ""
            flat_detail: tuple[tuple[str, str], ...] = ()
            if sl.flat is not None:  # issue 12: a flat amount once the slice is reached
                flat = self._muted(sl.flat)
                reached = units > 0
                amount += flat if reached else 0
                if sl.rate is None:  # a flat amount only
                    flat_text = (f", reached: flat {num_text(flat)}" if reached else
                                 f", not reached: flat {num_text(flat)} not charged")
                else:
                    flat_text = (f" plus {num_text(flat)} flat (reached)" if reached else
                                 f"; flat {num_text(flat)} not charged (not reached)")
                flat_detail = (("flat", exact_text(flat if reached else Fraction(0))),)
            total += amount
            if tr:
                what = (f"{num_text(units)} × {num_text(rate)}" if sl.rate is not None
                        else f"{num_text(units)} units")
                tr.add(
                    "slice",
                    f"slice {sl.name} ({span_text}): {what}{flat_text} = "
                    f"{num_text(amount)}",
                    sl.span, value=exact_text(amount),
                    detail=(("units", exact_text(units)), ("rate", exact_text(rate)),
                            *flat_detail, ("result", exact_text(amount))))
        if tr:
            tr.add("sum", f"{name}: sum of the slices for {subject} {num_text(q)} = "
                   f"{num_text(total)}", decl.span, value=exact_text(total))
        return total

    # issue 12: volume pricing
    def volume(self, decl: ast.SlicesDecl) -> Fraction:
        """The whole quantity at the rate of the one band it is in, plus its flat amount."""
        subject = decl.subject.name
        raw = self.c.values.get(subject)
        if raw is None:
            raise _Missing(subject)
        assert isinstance(raw, Decimal)
        for sl in decl.slices:
            iv = band_interval(sl, ZERO)
            if iv.lo is not None and (raw < iv.lo or (raw == iv.lo and not iv.lo_incl)):
                continue
            if iv.hi is not None and (raw > iv.hi or (raw == iv.hi and not iv.hi_incl)):
                continue
            q = Fraction(raw)
            rate = self._muted(sl.rate) if sl.rate is not None else Fraction(0)
            flat = self._muted(sl.flat) if sl.flat is not None else Fraction(0)
            amount = q * rate + flat
            tr = self.tr
            if tr:
                lo = "" if iv.lo is None else f"{group(iv.lo)} {'≤' if iv.lo_incl else '<'} "
                hi = "" if iv.hi is None else f" {'≤' if iv.hi_incl else '<'} {group(iv.hi)}"
                label = f' "{sl.label}"' if sl.label else ""
                parts = []
                if sl.rate is not None:
                    parts.append(f"{num_text(q)} × {num_text(rate)}")
                if sl.flat is not None:
                    parts.append(f"{num_text(flat)} flat")
                tr.add(
                    "tier",
                    f"{decl.name}: {subject} {group(raw)} is in band {sl.name}{label} "
                    f"({lo}{group(raw)}{hi}); the whole quantity at its price: "
                    f"{' + '.join(parts)} = {num_text(amount)}",
                    sl.span, value=exact_text(amount),
                    detail=(("volume", decl.name), ("band", sl.name), ("units", exact_text(q)),
                            ("rate", exact_text(rate)), ("flat", exact_text(flat)),
                            ("result", exact_text(amount))))
            return amount
        raise EvaluationError(diagnostic(
            f"{subject} {group(raw)} of {self.c.name} falls in no band of {decl.name}",
            decl.span, hint="run `takst check` on the tariff: its bands do not cover every value"))

    # issue 12: min and max, per started block, rounding inside an expression
    def extreme(self, e: ast.Extreme) -> Fraction:
        values = [self._expr(a) for a in e.args]
        result = min(values) if e.op == "min" else max(values)
        tr = self.tr
        if tr:
            shown = ", ".join(num_text(v) for v in values)
            tr.add("minmax", f"{self.label(e)} = {e.op}({shown}) = {num_text(result)}", e.span,
                   value=exact_text(result),
                   detail=(("op", e.op), ("values", " ".join(exact_text(v) for v in values)),
                           ("result", exact_text(result))))
        return result

    def per_started(self, e: ast.PerStarted) -> Fraction:
        q = self._expr(e.quantity)
        price = self._expr(e.price)
        ratio = q / Fraction(e.block)
        blocks = -((-ratio.numerator) // ratio.denominator)  # rounded up: every block begun
        result = price * blocks
        tr = self.tr
        if tr:
            tr.add("blocks",
                   f"{self.label(e)}: "
                   + (f"{e.quantity.name} " if isinstance(e.quantity, ast.Ref) else "")
                   + f"{num_text(q)} / {group(e.block)} = "
                   f"{num_text(ratio)}, rounded up to {blocks} started block"
                   f"{'' if blocks == 1 else 's'}; {blocks} × {num_text(price)} = "
                   f"{num_text(result)}",
                   e.span, value=exact_text(result),
                   detail=(("quantity", exact_text(q)), ("block", str(e.block)),
                           ("blocks", str(blocks)), ("price", exact_text(price)),
                           ("result", exact_text(result))))
        return result

    def round_expr(self, e: ast.RoundExpr) -> Fraction:
        value = self._expr(e.value)
        step, step_text, mode = self.ev.sym.rule_of(e)
        rounded = round_fraction(value, step, mode)
        tr = self.tr
        if tr:
            unit = f" {e.currency}" if e.currency else ""
            via = f" by rounding {e.policy.name}" if e.policy is not None else ""
            tr.add("round", f"{expr_label(e.value)} rounded to {step_text}{unit} ({mode}){via}: "
                   f"{num_text(value)} → {group(rounded)}", e.span, value=str(rounded),
                   detail=(("step", str(step)), ("mode", mode), ("in", "expression")))
        return Fraction(rounded)

    # issue 12: minimum and maximum amounts of a charge
    def limits(self, charge: ast.ChargeDecl, amount: Fraction, place: str) -> Fraction:
        """``at least`` / ``at most`` lines of ``place`` (a line that says no place goes after
        the prorations; check allows that only for a charge with none)."""
        tr = self.tr
        for lim in charge.limits:
            if (lim.place or "after proration") != place:
                continue
            where = f" {lim.place}" if lim.place else ""
            reason = f" ({lim.reason})" if lim.reason else ""
            head = f"{lim.kind} {expr_label(lim.value)}{where}{reason}"
            if self.excepted:
                tr.add("limit", f"{head}: not applied, an exception gave the amount", lim.span,
                       applied=False)
                continue
            bound = self.expr(lim.value)
            low = lim.kind == "at least"
            if (amount < bound) if low else (amount > bound):
                tr.add("limit", f"{head}: {_money(amount)} is {'below' if low else 'above'} "
                       f"{_money(bound)}, so the amount is {_money(bound)}", lim.span,
                       value=exact_text(bound), applied=True,
                       detail=(("kind", lim.kind), ("before", exact_text(amount)),
                               ("bound", exact_text(bound)), ("result", exact_text(bound))))
                amount = bound
            else:
                tr.add("limit", f"{head}: {_money(amount)} is not "
                       f"{'below' if low else 'above'} {_money(bound)}, unchanged", lim.span,
                       value=exact_text(amount), applied=False)
        return amount

    def call(self, e: ast.Call) -> Fraction:
        formula = self.ev.sym.formula(e.name)
        assert formula is not None
        args = [self._expr(a) for a in e.args]
        saved = self.env
        self.env = {p.name: v for p, v in zip(formula.params, args, strict=True)}
        try:
            result = self._expr(formula.body)
        finally:
            self.env = saved
        tr = self.tr
        if tr:
            bound = ", ".join(f"{p.name} = {num_text(v)}"
                              for p, v in zip(formula.params, args, strict=True))
            tr.add("call", f"{e.name}({bound}) = {num_text(result)}", e.span,
                   value=exact_text(result))
        return result

    def cases(self, e: ast.Cases) -> Fraction:
        key = self.dimension(e.dim.name)
        chosen = choose_case(e, key, self.ev.groups)
        if chosen is None:
            raise EvaluationError(diagnostic(
                f"no case for {e.dim.name} {key!r} of {self.c.name}", e.span,
                hint="run `takst check`: every value of the dimension needs a case"))
        via = "" if chosen.key.name == key else f" (by {chosen.key.name})"
        reason = f" ({chosen.reason})" if chosen.reason else ""  # issue 12: reasons on cases
        if chosen.pending:
            raise _Missing(f"the price for {e.dim.name} {key}{via}", decided=True,
                           note=chosen.reason)
        if chosen.value is None:
            raise _NotOffered(f"not offered to {e.dim.name} {key}{via}{reason}", chosen.span)
        self.tr.add("case", f"{e.dim.name} {key}{via}: this case{reason}", chosen.span,
                    value=chosen.key.name, applied=True)
        return self._expr(chosen.value)

    def literal_text(self, e: ast.Expr, value: Fraction) -> str:
        if isinstance(e, ast.Number):
            return number_text(e)
        return num_text(value)

    def label(self, e: ast.Expr) -> str:
        """The expression as the author wrote it (names and literals), for the trace."""
        return expr_label(e)

    # ------------------------------------------------------------------ conditions
    def test(self, c: ast.Cond) -> bool:
        with decimal.localcontext(EXACT):
            return self._cond(c, None)

    def cond(self, c: ast.Cond) -> tuple[bool, str]:
        """Whether a condition holds, and (when tracing) why, in words."""
        if not self.trace:
            return self._cond(c, None), ""
        parts: list[str] = []
        value = self._cond(c, parts)
        if len(parts) == 1:
            return value, parts[0]
        return value, "; ".join(parts) + (" → yes" if value else " → no")

    def _cond(self, c: ast.Cond, parts: list[str] | None) -> bool:
        return _COND[type(c)](self, c, parts)

    def bool_op(self, c: ast.BoolOp, parts: list[str] | None) -> bool:
        left = self._cond(c.left, parts)
        if c.op == "and" and not left:
            return False  # the rest is not needed
        if c.op == "or" and left:
            return True
        return self._cond(c.right, parts)

    def not_(self, c: ast.Not, parts: list[str] | None) -> bool:
        inner: list[str] | None = [] if parts is not None else None
        value = not self._cond(c.operand, inner)
        if parts is not None and inner is not None:
            parts.append("not (" + "; ".join(inner) + ")")
        return value

    def truthy(self, c: ast.Truthy, parts: list[str] | None) -> bool:
        v = self.operand(c.operand)
        assert isinstance(v, bool)
        if parts is not None:
            parts.append(f"{c.operand.value} is {'yes' if v else 'no'}")
        return v

    def in_(self, c: ast.In, parts: list[str] | None) -> bool:
        item = self.operand(c.item)
        box = c.container
        if box.kind == "name" and str(box.value) in self.ev.lists:
            inside = item in self.ev.lists[str(box.value)]
            shown = str(box.value)
        elif box.kind == "name" and str(box.value) in self.ev.groups:
            inside = item in self.ev.groups[str(box.value)]
            shown = str(box.value)
        else:
            year = self.operand(box)
            assert isinstance(item, dt.date) and isinstance(year, Decimal | Fraction)
            inside = Fraction(year) == item.year
            shown = plain(year) if isinstance(year, Decimal) else num_text(year)
        if parts is not None:
            verb = "is in" if inside else "is not in"
            parts.append(f"{self.operand_text(c.item, item)} {verb} {shown}")
        return inside != c.negated

    def compare(self, c: ast.Compare, parts: list[str] | None) -> bool:
        left = self.operand(c.left)
        bands = self.ev.sym.bands(str(c.left.value)) if c.left.kind == "name" else None
        category = c.right.kind == "name" and self.ev.sym.kind(str(c.right.value)) == "category"
        right = str(c.right.value) if bands is not None or category else self.operand(c.right)
        result = _compare(c.op, left, right)
        if parts is None:
            return result
        years = BILLING_YEAR in (c.left.value, c.right.value)
        right_text = str(right) if bands is not None or category else self.operand_text(
            c.right, right, years)
        parts.append(
            f"{self.operand_text(c.left, left, years)} {c.op} {right_text}: "
            + ("yes" if result else "no")
        )
        return result

    # ------------------------------------------------------------------ operands
    def operand(self, op: ast.Operand) -> Value | Fraction:
        if op.kind != "name":
            return op.value
        name = str(op.value)
        if name == BILLING_YEAR:
            return Decimal(self.year)
        if name in BUILTIN_TEXT:
            return {"id": self.c.id, "name": self.c.name, "customer_type": self.c.customer_type}[
                name
            ]
        return _OPERAND.get(self.ev.sym.kind(name), _Run.input_operand)(self, name, op)

    def band_operand(self, name: str, op: ast.Operand) -> Value:
        return self.band(name).name

    def value_operand(self, name: str, op: ast.Operand) -> Value | Fraction:
        """A param, aggregate or setting compared in a condition, as a decimal."""
        if self.ev.sym.kind(name) == "setting" and not isinstance(
            self.ctx.settings.get(name), Decimal | None
        ):
            return self.ctx.settings[name]
        value = self._muted(ast.Ref(name, span=op.span))
        d = fraction_to_decimal(value)
        return d if d is not None else value  # no exact decimal (10 EUR / 3): the fraction

    def category_operand(self, name: str, op: ast.Operand) -> Value:
        return name

    def input_operand(self, name: str, op: ast.Operand) -> Value:
        value = self.c.values.get(name)
        if value is None:
            raise _Missing(name)
        return value

    def operand_text(self, op: ast.Operand, value: Value | Fraction, year: bool = False) -> str:
        """``joined 2023-11-01``, ``name "Kolding"``, ``size large``, ``billing_year 2024``,
        ``third 3.333333…`` (a value with no exact decimal)."""
        if isinstance(value, Fraction):
            shown = num_text(value)
        elif year and isinstance(value, Decimal):
            shown = plain(value)
        elif isinstance(value, str) and op.kind == "name" and str(op.value) not in BUILTIN_TEXT:
            shown = value  # a band name
        else:
            shown = value_text(value)
        return f"{op.value} {shown}" if op.kind == "name" else shown


#: issue 12: a period's length in months -> its name.
_PERIOD_OF_MONTHS = {months: name for name, months in ast.PERIOD_MONTHS.items()}


# Per-node-type dispatch: one entry per AST class (a new class fails loudly with a KeyError
# naming it, and tests/test_interpreter.py checks every Expr and Cond class has an entry).
_EXPR: dict[type[ast.Expr], Callable[[_Run, Any], Fraction]] = {
    ast.Number: _Run.number,
    ast.Ref: _Run.ref,
    ast.Call: _Run.call,
    ast.Cases: _Run.cases,
    ast.BinOp: _Run.binop,
    ast.Extreme: _Run.extreme,  # issue 12
    ast.PerStarted: _Run.per_started,
    ast.RoundExpr: _Run.round_expr,
}
_COND: dict[type[ast.Cond], Callable[[_Run, Any, list[str] | None], bool]] = {
    ast.BoolOp: _Run.bool_op,
    ast.Not: _Run.not_,
    ast.Truthy: _Run.truthy,
    ast.In: _Run.in_,
    ast.Compare: _Run.compare,
}
#: How a name in a condition is read, by its kind (inputs when not listed).
_OPERAND: dict[str | None, Callable[[_Run, str, ast.Operand], Value | Fraction]] = {
    "bands": _Run.band_operand,
    "param": _Run.value_operand,
    "aggregate": _Run.value_operand,
    "setting": _Run.value_operand,
    "category": _Run.category_operand,
}


def _compare(op: str, left: Value | Fraction, right: Value | Fraction) -> bool:
    """``left op right``; numbers compare exactly, as fractions when either has no exact
    decimal (``value < third`` with ``third = 10 EUR / 3``)."""
    if isinstance(left, Fraction) or isinstance(right, Fraction):
        assert isinstance(left, Decimal | Fraction) and isinstance(right, Decimal | Fraction)
        left, right = Fraction(left), Fraction(right)
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    assert isinstance(left, Decimal | Fraction | dt.date)
    assert isinstance(right, Decimal | Fraction | dt.date)
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == "<=":
        return left <= right  # type: ignore[operator]
    if op == ">":
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def _unit_words(described: str) -> str:
    # "a count of inhabitants" -> "inhabitants"
    for prefix in ("a count of ", "an amount in "):
        if described.startswith(prefix):
            return described[len(prefix) :]
    return described


def evaluate(tariff: ast.Tariff, customer: Customer, year: int) -> CustomerResult:
    """Check and evaluate in one call (for tests and small scripts)."""
    return Evaluator(tariff).evaluate(customer, year)


__all__ = [
    "EXACT",
    "Context",
    "Customer",
    "Evaluator",
    "evaluate",
    "exact_text",
    "fraction_to_decimal",
    "round_fraction",
]


class InterpreterEngine:
    """The reference interpreter as an :class:`~takst.interpreter.backend.Engine`."""

    name = "interpreter"

    def __init__(self, tariff: ast.Tariff, *, checked: bool = False) -> None:
        self.evaluator = Evaluator(tariff, checked=checked)

    def prepare(
        self,
        customers: Iterable[Customer],
        year: int,
        *,
        settings: Mapping[str, Value] | None = None,
        register: str | None = None,
    ) -> Context:
        return self.evaluator.prepare(customers, year, settings, register)

    def evaluate(
        self,
        customers: Iterable[Customer],
        year: int,
        context: Context,
        *,
        trace: bool = False,
    ) -> Iterator[CustomerResult]:
        fast = self.evaluator.compiled if not trace else None
        if fast is not None:  # the untraced road, without a call between
            evaluate = fast.evaluate
            for customer in customers:
                yield evaluate(customer, year, context)
            return
        for customer in customers:
            yield self.evaluator.evaluate(customer, year, trace=trace, context=context)
