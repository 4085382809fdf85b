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
exceptions (the one that applies replaces the base) -> prorations (multiply)
-> rounding (if the tariff says) -> amount.

Some values are computed over the whole register before any customer:
aggregates (``max of population among ...``) and pools (a total shared in
proportion to a key). :meth:`Evaluator.prepare` computes them into a
:class:`Context`; a single customer can be evaluated with those values given.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

import attrs

from takst.dsl import ast
from takst.dsl.check import check, errors_of
from takst.dsl.errors import CheckError, Diagnostic, EvaluationError, RegisterError, diagnostic
from takst.dsl.intervals import band_interval
from takst.dsl.numbers import group, money_group, money_text, plain
from takst.dsl.symbols import BILLING_YEAR, BUILTIN_TEXT, Symbols, input_unit
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
from takst.interpreter.model import ChargeLine, Context, Customer, CustomerResult, PoolShares, Value
from takst.interpreter.trace import Step, value_text

ZERO = Decimal("0")
_OP_SIGN = {"+": "+", "-": "-", "*": "×", "/": "/"}
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

    def __init__(self, tariff: ast.Tariff, *, checked: bool = False) -> None:
        if not checked:
            errors = errors_of(check(tariff))
            if errors:
                raise CheckError(errors)
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

    # ------------------------------------------------------------------ register-wide values
    def validate(self, customers: Sequence[Customer]) -> list[Diagnostic]:
        """Problems of customers that only the tariff can see: a customer type outside the
        declared categories, a service that is not a charge."""
        problems: list[Diagnostic] = []
        cats = self.sym.categories.get("customer_type")
        allowed = [c.name for c in cats.items] if cats is not None else None
        charges = {c.name for c in self.tariff.charges}
        for c in customers:
            if allowed is not None and c.customer_type not in allowed:
                problems.append(diagnostic(
                    f"customer type {c.customer_type!r} is not one of this tariff's customer types",
                    where=f"{c.origin}, column customer_type",
                    hint="use one of: " + ", ".join(allowed)))
            for other in (cat for cat in self.sym.categories.values()
                          if cat.name != "customer_type"):
                value = c.values.get(other.name)
                names = [i.name for i in other.items]
                if isinstance(value, str) and value not in names:
                    problems.append(diagnostic(
                        f"{other.name} {value!r} is not one of its declared values",
                        where=f"{c.origin}, column {other.name}",
                        hint="use one of: " + ", ".join(names)))
            for s in sorted(c.services or ()):
                if s not in charges:
                    problems.append(diagnostic(
                        f"service {s!r} is not a charge of this tariff",
                        where=f"{c.origin}, column services",
                        hint="the charges are: " + ", ".join(sorted(charges))))
        return problems

    def prepare(
        self,
        customers: Sequence[Customer],
        year: int,
        settings: Mapping[str, Value] | None = None,
        register: str | None = None,
    ) -> Context:
        """Compute aggregates and pools over ``customers`` for ``year``."""
        settings = dict(settings or {})
        problems = self.validate(customers)
        if problems:
            raise RegisterError(problems)
        missing = [s.name for s in self.tariff.settings if s.name not in settings]
        if missing:
            raise EvaluationError(diagnostic(
                "no value for the setting" + ("s " if len(missing) > 1 else " ")
                + ", ".join(missing),
                self.sym.setting(missing[0]).span if self.sym.setting(missing[0]) else None,
                hint=" ".join(f"--set {m}=..." for m in missing)))
        where = register or "the register"
        aggregates: dict[str, tuple[Fraction, str]] = {}
        base = Context(settings=settings, register=register)
        with decimal.localcontext(EXACT):
            for agg in self.tariff.aggregates:
                members = [c for c in customers
                           if agg.among is None or _Run(self, c, year, False, base).test(agg.among)]
                if not members:
                    raise EvaluationError(diagnostic(
                        f"aggregate {agg.name}: no customer of {where} qualifies", agg.span,
                        hint="check the `among` condition and the register"))
                values = [(as_fraction(c.values[agg.of.name]), c) for c in members
                          if agg.of.name in c.values]  # an optional input not given: left out
                if not values:
                    raise EvaluationError(diagnostic(
                        f"aggregate {agg.name}: no customer of {where} has a value for "
                        f"{agg.of.name}", agg.span, hint="fill in the column in the register"))
                among = f" among {_cond_words(agg.among)}" if agg.among is not None else ""
                if agg.kind == "sum":
                    value = sum((v for v, _ in values), Fraction(0))
                    how = (f"sum of {agg.of.name}{among}: {len(values)} customers of {where}")
                else:
                    pick = max if agg.kind == "max" else min
                    value, who = pick(values, key=lambda vc: vc[0])
                    how = (f"{agg.kind} of {agg.of.name}{among}: {who.id} {who.name}, "
                           f"of {len(values)} customers of {where}")
                aggregates[agg.name] = (value, how)
            ctx = Context(settings=settings, aggregates=aggregates, register=register)
            pools = {p.name: self._pool(p, customers, year, ctx) for p in self.tariff.pools}
        return Context(settings=settings, aggregates=aggregates, pools=pools, register=register)

    def _pool(self, pool: ast.PoolDecl, customers: Sequence[Customer], year: int,
              ctx: Context) -> PoolShares:
        run = _Run(self, customers[0] if customers else Customer("", "", {}), year, False, ctx)
        total = run.expr(pool.total, None)
        members = [c for c in customers
                   if pool.among is None or _Run(self, c, year, False, ctx).test(pool.among)]
        lacking = [c for c in members if pool.key.name not in c.values]
        if lacking:
            raise RegisterError([diagnostic(
                f"pool {pool.name} is shared by {pool.key.name}, but this customer has no value "
                "for it", where=f"{c.origin}, column {pool.key.name}",
                hint="every customer among the pool's members needs the key") for c in lacking])
        keys = {c.id: as_fraction(c.values[pool.key.name]) for c in members}
        key_sum = sum(keys.values(), Fraction(0))
        if not members or key_sum == 0:
            raise EvaluationError(diagnostic(
                f"pool {pool.name} has no one to share it: the sum of {pool.key.name} over its "
                "members is 0", pool.span, hint="check the register and the `among` condition"))
        exact = {cid: total * k / key_sum for cid, k in keys.items()}
        shares: dict[str, tuple[Fraction, Fraction]] = {}
        if pool.step is None:
            shares = {cid: (v, v) for cid, v in exact.items()}
        else:
            step = Fraction(pool.step)
            units_total = total / step
            if units_total.denominator != 1:
                raise EvaluationError(diagnostic(
                    f"pool {pool.name} totals {float_free(total)}, which is not a whole number "
                    f"of {pool.step_text}", pool.span,
                    hint="round the total first, or share to a finer step"))
            floors = {cid: (v / step).numerator // (v / step).denominator for cid, v in exact.items()}
            left = int(units_total) - sum(floors.values())
            order = sorted(exact, key=lambda cid: (-(exact[cid] / step - floors[cid]),
                                                   list(exact).index(cid)))
            extra = set(order[:left])
            shares = {cid: (exact[cid], (floors[cid] + (1 if cid in extra else 0)) * step)
                      for cid in exact}
        among = f" among {_cond_words(pool.among)}" if pool.among is not None else ""
        text = (f"pool {pool.name} = {_money(total)} {self.currency}, shared by "
                f"{pool.key.name}{among}: Σ {pool.key.name} = {num_text(key_sum)} over "
                f"{len(members)} customers")
        return PoolShares(total, key_sum, len(members), shares, text)

    # ------------------------------------------------------------------ public
    def evaluate(self, customer: Customer, year: int, *, trace: bool = True,
                 context: Context | None = None) -> CustomerResult:
        """Every charge of the tariff for ``customer`` in billing ``year``."""
        run = _Run(self, customer, year, trace, context or Context())
        with decimal.localcontext(EXACT):
            lines = tuple(run.charge(c) for c in self.tariff.charges)
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

    def evaluate_all(self, customers: Sequence[Customer], year: int, *, trace: bool = False,
                     settings: Mapping[str, Value] | None = None,
                     register: str | None = None) -> list[CustomerResult]:
        """A whole register: register-wide values first, then every customer."""
        ctx = self.prepare(customers, year, settings, register)
        return [self.evaluate(c, year, trace=trace, context=ctx) for c in customers]


def _table_index(table: ast.Table) -> dict[tuple[str, ...], ast.Cell]:
    index: dict[tuple[str, ...], ast.Cell] = {}
    for row in table.rows:
        if table.columns:
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


def _cond_words(c: ast.Cond | None) -> str:
    """A condition as written (for traces of register-wide values)."""
    if c is None:
        return ""
    if isinstance(c, ast.BoolOp):
        return f"{_cond_words(c.left)} {c.op} {_cond_words(c.right)}"
    if isinstance(c, ast.Not):
        return f"not {_cond_words(c.operand)}"
    if isinstance(c, ast.Truthy):
        return str(c.operand.value)
    if isinstance(c, ast.In):
        return f"{c.item.value} {'not in' if c.negated else 'in'} {c.container.value}"
    assert isinstance(c, ast.Compare)
    right = c.right.value if c.right.kind != "text" else f'"{c.right.value}"'
    return f"{c.left.value} {c.op} {right}"


class _Run:
    """One customer, one year. Caches params and band choices within the run."""

    def __init__(self, ev: Evaluator, customer: Customer, year: int, trace: bool,
                 ctx: Context) -> None:
        self.ev = ev
        self.c = customer
        self.year = year
        self.trace = trace
        self.ctx = ctx
        self.params: dict[str, Fraction] = {}
        self.bands: dict[str, ast.Band] = {}
        self.band_steps: dict[str, Step] = {}
        #: The trace of the charge being evaluated (None when not tracing).
        self.steps: list[Step] | None = None
        #: Formula parameters bound in the call being evaluated.
        self.env: dict[str, Fraction] = {}

    # ------------------------------------------------------------------ charges
    def charge(self, charge: ast.ChargeDecl) -> ChargeLine:
        steps: list[Step] | None = [] if self.trace else None
        self.steps = steps
        label = charge.label or charge.name
        line = ChargeLine(charge.name, label, ZERO, "ok", False, (), charge.span)
        if self.c.services is not None and charge.name not in self.c.services:
            if steps is not None:
                steps.append(Step("frequency", "not billed: not among this customer's services "
                                  "(register column services)", charge.span, applied=False))
            return attrs.evolve(line, steps=_tuple(steps))
        try:
            due = self.frequency(charge, steps)
        except _Missing as miss:
            if steps is not None:
                steps.append(Step("pending", f"{miss.name} is not given for this customer, so "
                                  "it is not known whether the charge is due (pending)",
                                  charge.span, value="pending"))
            return attrs.evolve(line, amount=None, status="pending", charged=True,
                                steps=_tuple(steps))
        if not due:
            return attrs.evolve(line, steps=_tuple(steps))
        if charge.pending:
            if steps is not None:
                note = "; ".join(n.text for n in charge.notes)
                steps.append(Step("pending", "amount not decided yet (pending)"
                                  + (f": {note}" if note else ""), charge.span, value="pending"))
            return attrs.evolve(line, amount=None, status="pending", charged=True,
                                steps=_tuple(steps))
        assert charge.body is not None
        try:
            if isinstance(charge.body, ast.Table):
                base = self.table(charge.body, steps)
            else:
                base = self.expr(charge.body, steps)
            amount = self.exceptions(charge, base, steps)
            amount = self.prorate(charge, amount, steps)
        except _NotOffered as no:
            if steps is not None:
                steps.append(Step("case", no.text, no.span, applied=False))  # type: ignore[arg-type]
            return attrs.evolve(line, steps=_tuple(steps))
        except _Missing as miss:
            if steps is not None:
                why = ("is not decided yet" if miss.decided else "is not given for this customer")
                note = f" ({miss.note})" if miss.note else ""
                steps.append(Step(
                    "pending", f"{miss.name} {why}{note}, so the amount is not known yet "
                    "(pending)", charge.span, value="pending"))
            return attrs.evolve(line, amount=None, status="pending", charged=True,
                                steps=_tuple(steps))
        final = self.finish(charge, amount, steps)
        if steps is not None:
            steps.append(
                Step("result", f"amount = {money_group(final)}", None, value=money_text(final))
            )
        return attrs.evolve(line, amount=final, charged=True, steps=_tuple(steps))

    def frequency(self, charge: ast.ChargeDecl, steps: list[Step] | None) -> bool:
        freq = charge.frequency
        if freq.anchor is None:
            if steps is not None:
                steps.append(Step("frequency", "charged every year", freq.span, applied=True))
            return True
        anchor = freq.anchor.name
        when = self.c.values.get(anchor)
        if when is None:
            raise _Missing(anchor)
        assert isinstance(when, dt.date)
        if freq.kind == "every_year":
            due = self.year >= when.year
            if steps is not None:
                if due:
                    text = (f"charged every year from {anchor} ({when.isoformat()}): "
                            f"billing year {self.year} ≥ {when.year}")
                else:
                    text = (f"not charged: charged every year from {anchor} ({when.isoformat()}), "
                            f"and billing year {self.year} is before {when.year}")
                steps.append(Step("frequency", text, freq.span, applied=due))
            return due
        due = self.year == when.year
        if steps is not None:
            if due:
                text = (f"charged once, in the year of {anchor}: {when.isoformat()} is in "
                        f"billing year {self.year}")
            else:
                text = (f"not charged: charged once, in the year of {anchor} ({when.year}), "
                        f"not in billing year {self.year}")
            steps.append(Step("frequency", text, freq.span, applied=due))
        return due

    def table(self, table: ast.Table, steps: list[Step] | None) -> Fraction:
        key = [self.dimension(dim.name, steps) for dim in table.dims]
        cell = self.ev.tables[id(table)][tuple(key)]
        if steps is not None:
            where = ", ".join(f"{d.name} = {k}" for d, k in zip(table.dims, key, strict=True))
            steps.append(
                Step(
                    "cell",
                    f"table cell ({where}): {money_group(cell.value)}",
                    cell.span,
                    value=money_text(cell.value),
                    detail=tuple((d.name, k) for d, k in zip(table.dims, key, strict=True)),
                )
            )
        return Fraction(cell.value)

    def dimension(self, name: str, steps: list[Step] | None) -> str:
        """The key of a dimension for this customer: a band, yes/no, or a category."""
        if self.ev.sym.bands(name) is not None:
            return self.band(name, steps).name
        if name == "customer_type":
            return self.c.customer_type
        value = self.c.values[name]
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def band(self, name: str, steps: list[Step] | None) -> ast.Band:
        """The band of ``name`` this customer is in; its step goes once into each charge's
        trace that uses it (also when a condition uses it)."""
        if steps is None:
            steps = self.steps
        if name in self.bands:
            band = self.bands[name]
            if steps is not None and not any(
                s.kind == "band" and s.get("bands") == name for s in steps
            ):
                steps.append(self.band_steps[name])
            return band
        decl = self.ev.sym.bands(name)
        assert decl is not None
        subject = decl.subject.name
        value = self.c.values.get(subject)
        if value is None:
            raise _Missing(subject)
        assert isinstance(value, Decimal)
        for iv in self.ev.intervals[name]:
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
                if steps is not None:
                    steps.append(step)
            return iv.band
        raise EvaluationError(
            diagnostic(
                f"{subject} {group(value)} of {self.c.name} falls in no band of {name}",
                decl.span,
                hint="run `takst check` on the tariff: its bands do not cover every value",
            )
        )

    def exceptions(self, charge: ast.ChargeDecl, base: Fraction,
                   steps: list[Step] | None) -> Fraction:
        fired: list[tuple[ast.ExceptionRule, Fraction]] = []
        for ex in charge.exceptions:
            ok, why = self.cond(ex.condition)
            reason = f" ({ex.reason})" if ex.reason else ""
            if ok:
                value = self.expr(ex.result, steps)
                fired.append((ex, value))
                if steps is not None:
                    steps.append(
                        Step(
                            "exception",
                            f"exception applies{reason}: {why} → {_money(value)}",
                            ex.span,
                            value=exact_text(value),
                            applied=True,
                        )
                    )
            elif steps is not None:
                steps.append(
                    Step("exception", f"exception does not apply{reason}: {why}", ex.span,
                         applied=False)
                )
        if not fired:
            return base
        fired.sort(key=lambda fv: -(fv[0].priority or 0))
        return fired[0][1]

    def prorate(self, charge: ast.ChargeDecl, amount: Fraction,
                steps: list[Step] | None) -> Fraction:
        for pr in charge.prorations:
            num, den, period = pr.numerator, pr.denominator, pr.period
            if pr.policy is not None:
                decl = self.ev.sym.proration(pr.policy.name)
                assert decl is not None
                num, den, period = decl.numerator, decl.denominator, decl.period
            reason = f" ({pr.reason})" if pr.reason else ""
            if period is not None:
                assert pr.anchor is not None
                ok, why, frac = self.period_fraction(pr.anchor.name, period)
                frac_text = f"{frac.numerator}/{frac.denominator}"
                num, den = Decimal(frac.numerator), Decimal(frac.denominator)
            else:
                assert pr.condition is not None
                ok, why = self.cond(pr.condition)
                frac_text = fraction_text(num, den)
            if ok:
                before = amount
                amount = amount * Fraction(num) / Fraction(den)
                if steps is not None:
                    steps.append(
                        Step(
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
                    )
            elif steps is not None:
                steps.append(
                    Step("prorate", f"not prorated{reason}: {why}", pr.span, applied=False)
                )
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

    def finish(self, charge: ast.ChargeDecl, amount: Fraction,
               steps: list[Step] | None) -> Decimal:
        r = charge.rounding
        if r is not None:
            step_value, step_text, mode = r.step, r.step_text, r.mode
            if r.policy is not None:
                pol = self.ev.sym.rounding(r.policy.name)
                assert pol is not None
                step_value, step_text, mode = pol.step, pol.step_text, pol.mode
            rounded = round_fraction(amount, step_value, mode)
            if steps is not None:
                exact = fraction_to_decimal(amount)
                before = group(exact) if exact is not None else num_text(amount)
                via = f" by rounding {r.policy.name}" if r.policy is not None else ""
                steps.append(
                    Step(
                        "round",
                        f"rounded to {step_text} ({mode}){via}: {before} → {money_group(rounded)}",
                        r.span,
                        value=str(rounded),
                        detail=(("step", str(step_value)), ("mode", mode)),
                    )
                )
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
    def expr(self, e: ast.Expr, steps: list[Step] | None) -> Fraction:
        try:
            return self._expr(e, steps)
        except (decimal.DecimalException, OverflowError, ValueError):
            raise EvaluationError(
                diagnostic(
                    "this calculation gives a number too large to compute exactly",
                    e.span,
                    hint="check the inputs for absurd values (e.g. a population of 10^100)",
                )
            ) from None

    def _expr(self, e: ast.Expr, steps: list[Step] | None) -> Fraction:
        if isinstance(e, ast.Number):
            return Fraction(e.value) / 100 if e.percent else Fraction(e.value)
        if isinstance(e, ast.Ref):
            return self.ref(e, steps)
        if isinstance(e, ast.Call):
            return self.call(e, steps)
        if isinstance(e, ast.Cases):
            return self.cases(e, steps)
        assert isinstance(e, ast.BinOp)
        left = self._expr(e.left, steps)
        right = self._expr(e.right, steps)
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
        if steps is not None:
            sign = _OP_SIGN[e.op]
            steps.append(
                Step(
                    "calc",
                    f"{self.label(e)} = {num_text(left)} {sign} {num_text(right)} = "
                    f"{num_text(result)}",
                    e.span,
                    value=exact_text(result),
                    detail=(("op", e.op), ("left", exact_text(left)),
                            ("right", exact_text(right)), ("result", exact_text(result))),
                )
            )
        return result

    def ref(self, e: ast.Ref, steps: list[Step] | None) -> Fraction:
        name = e.name
        if name in self.env:
            return self.env[name]
        if name == BILLING_YEAR:
            return Fraction(self.year)
        sym = self.ev.sym.get(name)
        kind = sym.kind if sym is not None else None
        if kind == "param":
            return self.param(name, steps)
        if kind == "setting":
            value = self.ctx.settings.get(name)
            if value is None:
                raise EvaluationError(diagnostic(
                    f"setting {name} has no value", sym.decl.span if sym and sym.decl else None,
                    hint=f"give it on the command line: --set {name}=..."))
            if steps is not None:
                steps.append(Step("input", f"{name} = {value_text(value)} (setting)", None,
                                  value=str(value)))
            return as_fraction(value)
        if kind == "aggregate":
            return self.aggregate(name, steps)
        if kind == "pool":
            return self.pool_share(name, steps)
        if kind == "slices":
            return self.slices(name, steps)
        value = self.c.values.get(name)
        if value is None:
            raise _Missing(name)
        assert isinstance(value, Decimal)
        if steps is not None:
            inp = self.ev.sym.input(name)
            unit = ""
            if inp is not None:
                u = input_unit(inp)
                if u is not None and not u.is_plain:
                    unit = " " + _unit_words(u.describe(self.ev.currency))
            steps.append(Step("input", f"{name} = {group(value)}{unit}", None, value=str(value)))
        return Fraction(value)

    def param(self, name: str, steps: list[Step] | None) -> Fraction:
        param = self.ev.sym.param(name)
        assert param is not None
        if param.pending:
            label = f' "{param.label}"' if param.label else ""
            raise _Missing(f"{name}{label}", decided=True, note=param.note)
        value_expr = param.value
        dated_note = ""
        if param.dated:
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
        if name not in self.params:
            self.params[name] = self._expr(value_expr, steps)
        value = self.params[name]
        if steps is not None and not isinstance(value_expr, ast.Cases):
            label = f' "{param.label}"' if param.label else ""
            steps.append(
                Step(
                    "param",
                    f"{name}{label} = {self.literal_text(value_expr, value)}{dated_note}",
                    param.span,
                    value=exact_text(value),
                )
            )
        return value

    def aggregate(self, name: str, steps: list[Step] | None) -> Fraction:
        if name in self.ctx.aggregates:
            value, how = self.ctx.aggregates[name]
        else:
            given = self.ctx.settings.get(name)
            if given is None:
                agg = self.ev.sym.aggregate(name)
                raise EvaluationError(diagnostic(
                    f"aggregate {name} is computed over a register, and there is none here",
                    agg.span if agg else None,
                    hint=f"evaluate with --register, or give the value: --set {name}=..."))
            value, how = as_fraction(given), "given, not computed from a register"
        if steps is not None:
            decl = self.ev.sym.aggregate(name)
            steps.append(Step("param", f"{name} = {num_text(value)} ({how})",
                              decl.span if decl else None, value=exact_text(value)))
        return value

    def pool_share(self, name: str, steps: list[Step] | None) -> Fraction:
        pool = self.ctx.pools.get(name)
        decl = self.ev.sym.pool(name)
        if pool is None:
            raise EvaluationError(diagnostic(
                f"pool {name} is shared over a register, and there is none here",
                decl.span if decl else None, hint="evaluate with --register"))
        share = pool.shares.get(self.c.id)
        if share is None:
            if steps is not None:
                steps.append(Step("pool", f"{pool.text}; {self.c.name} is not among them: 0",
                                  decl.span if decl else None, value="0"))
            return Fraction(0)
        exact, rounded = share
        assert decl is not None
        key = self.c.values[decl.key.name]
        if steps is not None:
            rate = pool.total / pool.key_sum
            adj = rounded - exact
            tail = ""
            if decl.step is not None:
                tail = (f"; rounded to {decl.step_text} by largest remainder: "
                        f"{num_text(exact)} → {_money(rounded)}")
            steps.append(Step(
                "pool",
                f"{pool.text}; rate {num_text(rate)} per unit; share = "
                f"{_money(pool.total)} × {value_text(key)} / {num_text(pool.key_sum)}"
                f" = {num_text(exact)}{tail}",
                decl.span,
                value=exact_text(rounded),
                detail=(("total", exact_text(pool.total)), ("key", str(key)),
                        ("key_sum", exact_text(pool.key_sum)), ("exact", exact_text(exact)),
                        ("adjustment", exact_text(adj))),
            ))
        return rounded

    def slices(self, name: str, steps: list[Step] | None) -> Fraction:
        decl = self.ev.sym.slices(name)
        assert decl is not None
        subject = decl.subject.name
        raw = self.c.values.get(subject)
        if raw is None:
            raise _Missing(subject)
        q = as_fraction(raw)
        inp = self.ev.sym.input(subject)
        whole = inp is not None and inp.type.kind in ("inhabitants", "count")
        total = Fraction(0)
        for sl in decl.slices:
            iv = band_interval(sl, ZERO)
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
            rate = self._expr(sl.rate, None)
            amount = units * rate
            total += amount
            if steps is not None:
                steps.append(Step(
                    "slice",
                    f"slice {sl.name} ({span_text}): {num_text(units)} × {num_text(rate)} = "
                    f"{num_text(amount)}",
                    sl.span, value=exact_text(amount),
                    detail=(("units", exact_text(units)), ("rate", exact_text(rate)),
                            ("result", exact_text(amount)))))
        if steps is not None:
            steps.append(Step("sum", f"{name}: sum of the slices for {subject} {num_text(q)} = "
                              f"{num_text(total)}", decl.span, value=exact_text(total)))
        return total

    def call(self, e: ast.Call, steps: list[Step] | None) -> Fraction:
        formula = self.ev.sym.formula(e.name)
        assert formula is not None
        args = [self._expr(a, steps) for a in e.args]
        saved = self.env
        self.env = {p.name: v for p, v in zip(formula.params, args, strict=True)}
        try:
            result = self._expr(formula.body, steps)
        finally:
            self.env = saved
        if steps is not None:
            bound = ", ".join(f"{p.name} = {num_text(v)}"
                              for p, v in zip(formula.params, args, strict=True))
            steps.append(Step("call", f"{e.name}({bound}) = {num_text(result)}", e.span,
                              value=exact_text(result)))
        return result

    def cases(self, e: ast.Cases, steps: list[Step] | None) -> Fraction:
        key = self.dimension(e.dim.name, steps)
        chosen = None
        for case in e.cases:
            if case.key.name == key:
                chosen = case
                break
        if chosen is None:
            for case in e.cases:
                if key in self.ev.groups.get(case.key.name, ()):
                    chosen = case
                    break
        if chosen is None:
            chosen = next((c for c in e.cases if c.key.name == "others"), None)
        if chosen is None:
            raise EvaluationError(diagnostic(
                f"no case for {e.dim.name} {key!r} of {self.c.name}", e.span,
                hint="run `takst check`: every value of the dimension needs a case"))
        via = "" if chosen.key.name == key else f" (by {chosen.key.name})"
        if chosen.pending:
            raise _Missing(f"the price for {e.dim.name} {key}{via}", decided=True)
        if chosen.value is None:
            raise _NotOffered(f"not offered to {e.dim.name} {key}{via}", chosen.span)
        if steps is not None:
            steps.append(Step("case", f"{e.dim.name} {key}{via}: this case", chosen.span,
                              value=chosen.key.name, applied=True))
        return self._expr(chosen.value, steps)

    def literal_text(self, e: ast.Expr, value: Fraction) -> str:
        if isinstance(e, ast.Number):
            return _number_text(e)
        return num_text(value)

    def label(self, e: ast.Expr) -> str:
        """The expression as the author wrote it (names and literals), for the trace."""
        if isinstance(e, ast.Number):
            return _number_text(e)
        if isinstance(e, ast.Ref):
            return e.name
        if isinstance(e, ast.Call):
            return f"{e.name}(…)"
        if isinstance(e, ast.Cases):
            return f"by {e.dim.name}"
        assert isinstance(e, ast.BinOp)
        parts = []
        for side in (e.left, e.right):
            if isinstance(side, ast.BinOp):
                inner = self.label(side)
                # a long inner part was worked out on an earlier line: refer to it
                parts.append(f"({inner})" if len(inner) <= 30 else "(…)")
            else:
                parts.append(self.label(side))
        return f" {_OP_SIGN[e.op]} ".join(parts)

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
        if isinstance(c, ast.BoolOp):
            left = self._cond(c.left, parts)
            if c.op == "and" and not left:
                return False  # the rest is not needed
            if c.op == "or" and left:
                return True
            return self._cond(c.right, parts)
        if isinstance(c, ast.Not):
            inner: list[str] | None = [] if parts is not None else None
            value = not self._cond(c.operand, inner)
            if parts is not None and inner is not None:
                parts.append("not (" + "; ".join(inner) + ")")
            return value
        if isinstance(c, ast.Truthy):
            v = self.operand(c.operand)
            assert isinstance(v, bool)
            if parts is not None:
                parts.append(f"{c.operand.value} is {'yes' if v else 'no'}")
            return v
        if isinstance(c, ast.In):
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
                assert isinstance(item, dt.date) and isinstance(year, Decimal)
                inside = item.year == int(year)
                shown = plain(year)
            if parts is not None:
                verb = "is in" if inside else "is not in"
                parts.append(f"{self.operand_text(c.item, item)} {verb} {shown}")
            return inside != c.negated
        assert isinstance(c, ast.Compare)
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

    def operand(self, op: ast.Operand) -> Value:
        if op.kind != "name":
            return op.value
        name = str(op.value)
        if name == BILLING_YEAR:
            return Decimal(self.year)
        if name in BUILTIN_TEXT:
            return {"id": self.c.id, "name": self.c.name, "customer_type": self.c.customer_type}[
                name
            ]
        kind = self.ev.sym.kind(name)
        if kind == "bands":
            return self.band(name, None).name
        if kind in ("param", "aggregate", "setting"):
            if kind == "setting" and not isinstance(self.ctx.settings.get(name), Decimal | None):
                return self.ctx.settings[name]
            value = self.ref(ast.Ref(name, span=op.span), None)
            d = fraction_to_decimal(value)
            return d if d is not None else Decimal(value.numerator) / Decimal(value.denominator)
        if kind == "category":
            return name
        value = self.c.values.get(name)
        if value is None:
            raise _Missing(name)
        return value

    def operand_text(self, op: ast.Operand, value: Value, year: bool = False) -> str:
        """``joined 2023-11-01``, ``name "Kolding"``, ``size large``, ``billing_year 2024``."""
        if year and isinstance(value, Decimal):
            shown = plain(value)
        elif isinstance(value, str) and op.kind == "name" and str(op.value) not in BUILTIN_TEXT:
            shown = value  # a band name
        else:
            shown = value_text(value)
        return f"{op.value} {shown}" if op.kind == "name" else shown


def _compare(op: str, left: Value, right: Value) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    assert isinstance(left, Decimal | dt.date) and isinstance(right, Decimal | dt.date)
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == "<=":
        return left <= right  # type: ignore[operator]
    if op == ">":
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def _number_text(e: ast.Number) -> str:
    text = group(e.value)
    if e.percent:
        return f"{text} %"
    if e.currency and e.per:
        return f"{text} {e.currency} per {e.per}"
    if e.currency:
        return f"{text} {e.currency}"
    return text


def _unit_words(described: str) -> str:
    # "a count of inhabitants" -> "inhabitants"
    for prefix in ("a count of ", "an amount in "):
        if described.startswith(prefix):
            return described[len(prefix) :]
    return described


def _tuple(steps: list[Step] | None) -> tuple[Step, ...]:
    return tuple(steps) if steps is not None else ()


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
        return self.evaluator.prepare(list(customers), year, settings, register)

    def evaluate(
        self,
        customers: Iterable[Customer],
        year: int,
        context: Context,
        *,
        trace: bool = False,
    ) -> Iterator[CustomerResult]:
        for customer in customers:
            yield self.evaluator.evaluate(customer, year, trace=trace, context=context)
