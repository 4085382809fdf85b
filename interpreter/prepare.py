"""Register-wide values: validation, aggregates and pools, in one pass over the customers.

Some values of a tariff are computed over the whole register before any customer
is billed: aggregates (``max of population among customer_type = KOMMUNE``) and
pools (a total shared in proportion to a key, rounded to a step by largest
remainder). :func:`prepare` reads the customers once, as an iterable (a register
being read, never a list it needs), and keeps only what these values need: the
running max, min or sum of each aggregate with the customer that holds it, each
pool's key per member id. It also collects every problem only the tariff can see
(a customer type it does not declare, a service that is not a charge), and
raises them all at once.

An aggregate no customer qualifies for is no error of the register: the context
keeps why it has no value (:attr:`Context.empty`), and only a customer whose
amount needs it stops the evaluation (:func:`empty_aggregate`, at the place that
needs it). A pool is shared over the whole register, so one that needs such an
aggregate is an error of the register (:func:`needs_empty`).

Conditions (``among ...``) and pool totals are expressions of the language, so
their meaning comes from an engine: :class:`Conditions` is what this module asks
of it (the reference interpreter implements it). This module never imports an
engine.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Protocol

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, EvaluationError, RegisterError, Span, diagnostic
from takst.dsl.numbers import money_group
from takst.dsl.symbols import COUNT_ALL, Symbols
from takst.interpreter.exact import (
    EXACT,
    as_fraction,
    float_free,
    fraction_to_decimal,
    num_text,
    round_fraction,
)
from takst.interpreter.model import (
    Context,
    Customer,
    PoolShares,
    Value,
    input_defaults,
    with_defaults,
)


class Conditions(Protocol):
    """What register-wide values need of an engine: conditions and values of expressions."""

    def holds(self, cond: ast.Cond, customer: Customer, year: int, context: Context) -> bool:
        """Whether ``cond`` holds for ``customer`` (under the exact decimal context)."""
        ...

    def value(self, expr: ast.Expr, customer: Customer, year: int, context: Context) -> Fraction:
        """The exact value of ``expr`` for ``customer``."""
        ...


# ------------------------------------------------------------------ validation


class Validator:
    """The problems of customers that only the tariff can see, one customer at a time."""

    def __init__(self, tariff: ast.Tariff, sym: Symbols) -> None:
        cats = sym.categories.get("customer_type")
        self.allowed = [c.name for c in cats.items] if cats is not None else None
        self.others = [(cat.name, [i.name for i in cat.items])
                       for cat in sym.categories.values() if cat.name != "customer_type"]
        self.charges = {c.name for c in tariff.charges}

    def problems(self, c: Customer) -> list[Diagnostic]:
        """A customer type outside the declared categories, a value outside its category,
        a service that is not a charge."""
        problems: list[Diagnostic] = []
        allowed = self.allowed
        if allowed is not None and c.customer_type not in allowed:
            problems.append(diagnostic(
                f"customer type {c.customer_type!r} is not one of this tariff's customer types",
                where=f"{c.origin}, column customer_type",
                hint="use one of: " + ", ".join(allowed)))
        for name, names in self.others:
            value = c.values.get(name)
            if isinstance(value, str) and value not in names:
                problems.append(diagnostic(
                    f"{name} {value!r} is not one of its declared values",
                    where=f"{c.origin}, column {name}",
                    hint="use one of: " + ", ".join(names)))
        for s in sorted(c.services or ()):
            if s not in self.charges:
                problems.append(diagnostic(
                    f"service {s!r} is not a charge of this tariff",
                    where=f"{c.origin}, column services",
                    hint="the charges are: " + ", ".join(sorted(self.charges))))
        return problems


def validate(tariff: ast.Tariff, customers: Iterable[Customer],
             sym: Symbols | None = None) -> list[Diagnostic]:
    """Every problem of ``customers`` that only the tariff can see, in register order."""
    check = Validator(tariff, sym or Symbols(tariff))
    return [p for c in customers for p in check.problems(c)]


# ------------------------------------------------------------------ running values


class _Aggregate:
    """One aggregate while the register is read: the running value and who holds it."""

    def __init__(self, decl: ast.AggregateDecl) -> None:
        self.decl = decl
        self.members = 0
        self.count = 0  # members with a value
        self.value = Fraction(0)
        self.who = ("", "")  # (id, name) of the customer holding the max or min
        self.error: Exception | None = None

    def add(self, c: Customer, member: bool) -> None:
        if not member:
            return
        self.members += 1
        of = self.decl.of.name
        if self.decl.kind == "count" and of == COUNT_ALL and of not in c.values:
            self.value = Fraction(self.count + 1)  # issue 12: every member counts
            self.count += 1
            return
        if of not in c.values:
            return  # an optional input not given: left out
        kind = self.decl.kind
        if kind == "count":  # issue 12: the customers with a value
            self.value = Fraction(self.count + 1)
            self.count += 1
            return
        v = as_fraction(c.values[of])
        if kind == "sum":
            self.value = v if self.count == 0 else self.value + v
        elif (self.count == 0 or (kind == "max" and v > self.value)
              or (kind == "min" and v < self.value)):
            self.value, self.who = v, (c.id, c.name)  # the first of equals, as max() and min()
        self.count += 1

    def empty(self, where: str) -> str | None:
        """Why the register gives this aggregate no value (no customer qualifies), or None.

        An empty aggregate is no error of the register: only of a customer whose amount
        needs it (:func:`empty_aggregate`)."""
        if self.error is not None:
            raise self.error
        return None if self.members else f"no customer of {where} qualifies"

    def result(self, where: str) -> tuple[Fraction, str]:
        agg = self.decl
        if not self.count and agg.kind == "count":  # issue 12: none with a value is 0
            return Fraction(0), f"count of customers with {agg.of.name}: none of {where}"
        if not self.count:
            raise EvaluationError(diagnostic(
                f"aggregate {agg.name}: no customer of {where} has a value for "
                f"{agg.of.name}", agg.span, hint="fill in the column in the register"))
        among = f" among {cond_words(agg.among)}" if agg.among is not None else ""
        if agg.kind == "count":  # issue 12
            what = "customers" if agg.of.name == COUNT_ALL else f"customers with {agg.of.name}"
            return self.value, f"count of {what}{among}: {self.count} of {where}"
        if agg.kind == "sum":
            return self.value, f"sum of {agg.of.name}{among}: {self.count} customers of {where}"
        who_id, who_name = self.who
        return self.value, (f"{agg.kind} of {agg.of.name}{among}: {who_id} {who_name}, "
                            f"of {self.count} customers of {where}")


class _Pool:
    """One pool while the register is read: each member's key by customer id.

    A pool whose ``among`` condition uses values of the whole register (an aggregate, a
    param) cannot be decided while the register is read: those customers are kept and
    decided after the pass."""

    def __init__(self, decl: ast.PoolDecl, deferred: bool) -> None:
        self.decl = decl
        self.deferred = deferred
        self.waiting: list[Customer] = []
        self.members = 0
        self.keys: dict[str, Fraction] = {}
        self.lacking: list[str] = []  # origins of members without a key
        self.error: Exception | None = None

    def add(self, c: Customer) -> None:
        self.members += 1
        key = self.decl.key.name
        if key not in c.values:
            self.lacking.append(c.origin)
            return
        if not self.lacking:
            self.keys[c.id] = as_fraction(c.values[key])


def _deferred(cond: ast.Cond | None, sym: Symbols) -> bool:
    """Whether a condition reads a value that is known only after the whole register."""
    if cond is None:
        return False
    if isinstance(cond, ast.BoolOp):
        return _deferred(cond.left, sym) or _deferred(cond.right, sym)
    if isinstance(cond, ast.Not):
        return _deferred(cond.operand, sym)
    operands: tuple[ast.Operand, ...]
    if isinstance(cond, ast.Truthy):
        operands = (cond.operand,)
    elif isinstance(cond, ast.In):
        operands = (cond.item, cond.container)
    else:
        assert isinstance(cond, ast.Compare)
        operands = (cond.left, cond.right)
    return any(op.kind == "name" and sym.kind(str(op.value)) in ("param", "aggregate", "pool",
                                                                 "slices")
               for op in operands)


# ------------------------------------------------------------------ the pass


def prepare(
    tariff: ast.Tariff,
    customers: Iterable[Customer],
    year: int,
    conditions: Conditions,
    settings: Mapping[str, Value] | None = None,
    register: str | None = None,
    *,
    sym: Symbols | None = None,
) -> Context:
    """Aggregates and pools over ``customers`` for ``year``, reading them once.

    Raises :class:`RegisterError` with every customer problem; then
    :class:`EvaluationError` for a setting without a value; then the first problem of
    an aggregate or a pool, in the tariff's order."""
    sym = sym or Symbols(tariff)
    settings = dict(settings or {})
    where = register or "the register"
    check = Validator(tariff, sym)
    base = Context(settings=settings, register=register)
    aggs = [_Aggregate(a) for a in tariff.aggregates]
    pools = [_Pool(p, _deferred(p.among, sym)) for p in tariff.pools]
    problems: list[Diagnostic] = []
    first: Customer | None = None
    defaults = input_defaults(tariff)
    with decimal.localcontext(EXACT):
        for c in customers:
            c = with_defaults(c, defaults)  # issue 12: the stated defaults of inputs
            if first is None:
                first = c
            problems.extend(check.problems(c))
            for agg in aggs:
                if agg.error is not None:
                    continue
                try:
                    among = agg.decl.among
                    agg.add(c, among is None or conditions.holds(among, c, year, base))
                except Exception as err:  # raised after validation, as the tariff orders them
                    agg.error = err
            for pool in pools:
                if pool.error is not None:
                    continue
                among = pool.decl.among
                if pool.deferred:
                    pool.waiting.append(c)
                    continue
                try:
                    if among is None or conditions.holds(among, c, year, base):
                        pool.add(c)
                except Exception as err:
                    pool.error = err
    if problems:
        raise RegisterError(problems)
    missing = [s.name for s in tariff.settings if s.name not in settings]
    if missing:
        decl = sym.setting(missing[0])
        raise EvaluationError(diagnostic(
            "no value for the setting" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            decl.span if decl else None,
            hint=" ".join(f"--set {m}=..." for m in missing)))
    with decimal.localcontext(EXACT):
        aggregates: dict[str, tuple[Fraction, str]] = {}
        empty: dict[str, str] = {}
        for agg in aggs:
            reason = agg.empty(where)
            if reason is not None:
                empty[agg.decl.name] = reason
            else:
                aggregates[agg.decl.name] = agg.result(where)
        ctx = Context(settings=settings, aggregates=aggregates, register=register, empty=empty)
        shares: dict[str, PoolShares] = {}
        for pool in pools:
            needs_empty(pool.decl, empty, sym)
            shares[pool.decl.name] = _shares(pool, first or Customer("", "", {}), year, ctx,
                                             conditions, tariff.currency)
    return Context(settings=settings, aggregates=aggregates, pools=shares, register=register,
                   empty=empty)


def needs_empty(pool: ast.PoolDecl, empty: Mapping[str, str], sym: Symbols) -> None:
    """A pool is shared over the whole register: one that reads an empty aggregate (its
    total, its ``among``) cannot be, and that is an error of the register."""
    for name in sym.aggregates_read(pool):
        if name in empty:
            decl = sym.aggregate(name)
            raise EvaluationError(diagnostic(
                f"pool {pool.name} needs aggregate {name}, but {empty[name]}", pool.span,
                hint="check the aggregate's `among` condition and the register",
                related=[("the aggregate is declared here", decl.span)] if decl else ()))


def empty_aggregate(name: str, customer: Customer, reason: str, span: Span | None,
                    sym: Symbols) -> EvaluationError:
    """The error of a customer whose amount needs an aggregate the register gives no value,
    at the place that needs it (every engine says it in these words)."""
    decl = sym.aggregate(name)
    among = (f" ({cond_words(decl.among)})" if decl is not None and decl.among is not None
             else "")
    return EvaluationError(diagnostic(
        empty_message(name, customer.name, reason), span,
        hint=f"check the aggregate's `among` condition{among} and the register",
        related=[("the aggregate is declared here", decl.span)] if decl else ()))


def empty_message(name: str, customer: str, reason: str) -> str:
    """``the amount for Oslo needs aggregate largest_county, but no customer of R.csv
    qualifies``."""
    return f"the amount for {customer} needs aggregate {name}, but {reason}"


def _shares(pool: _Pool, first: Customer, year: int, ctx: Context, conditions: Conditions,
            currency: str) -> PoolShares:
    decl = pool.decl
    total = conditions.value(decl.total, first, year, ctx)
    unrounded = total
    if decl.total_rounding is not None:  # issue 12: the total is rounded before sharing
        r = decl.total_rounding
        total = Fraction(round_fraction(total, r.step, r.mode))
    if pool.error is not None:
        raise pool.error
    for c in pool.waiting:
        assert decl.among is not None
        if conditions.holds(decl.among, c, year, ctx):
            pool.add(c)
    if pool.lacking:
        raise RegisterError([diagnostic(
            f"pool {decl.name} is shared by {decl.key.name}, but this customer has no value "
            "for it", where=f"{origin}, column {decl.key.name}",
            hint="every customer among the pool's members needs the key")
            for origin in pool.lacking])
    keys = pool.keys
    key_sum = sum(keys.values(), Fraction(0))
    if not pool.members or key_sum == 0:
        raise EvaluationError(diagnostic(
            f"pool {decl.name} has no one to share it: the sum of {decl.key.name} over its "
            "members is 0", decl.span, hint="check the register and the `among` condition"))
    if decl.equal is not None and decl.keyed is not None:  # issue 12: a mixed key
        equal = Fraction(decl.equal.numerator) / Fraction(decl.equal.denominator)
        keyed = Fraction(decl.keyed.numerator) / Fraction(decl.keyed.denominator)
        n = len(keys)
        exact = {cid: total * equal / n + total * keyed * k / key_sum for cid, k in keys.items()}
    else:
        exact = {cid: total * k / key_sum for cid, k in keys.items()}
    shares: dict[str, tuple[Fraction, Fraction]]
    if decl.step is None:
        shares = {cid: (v, v) for cid, v in exact.items()}
    else:
        step = Fraction(decl.step)
        units_total = total / step
        if units_total.denominator != 1:
            raise EvaluationError(diagnostic(
                f"pool {decl.name} totals {float_free(total)}, which is not a whole number "
                f"of {decl.step_text}", decl.span,
                hint="round the total first, or share to a finer step"))
        floors = {cid: (v / step).numerator // (v / step).denominator for cid, v in exact.items()}
        left = int(units_total) - sum(floors.values())
        position = {cid: n for n, cid in enumerate(exact)}
        order = sorted(exact, key=lambda cid: (-(exact[cid] / step - floors[cid]), position[cid]))
        extra = set(order[:left])
        shares = {cid: (exact[cid], (floors[cid] + (1 if cid in extra else 0)) * step)
                  for cid in exact}
    among = f" among {cond_words(decl.among)}" if decl.among is not None else ""
    rounded = ""
    if decl.total_rounding is not None:
        r = decl.total_rounding
        rounded = (f" (rounded to {r.step_text} {r.mode} before sharing: "
                   f"{num_text(unrounded)} → {_money(total)})")
    how = f"by {decl.key.name}"
    if decl.equal is not None and decl.keyed is not None:
        how = (f"{_part(decl.equal)} equally and {_part(decl.keyed)} by {decl.key.name}")
    text = (f"pool {decl.name} = {_money(total)} {currency}{rounded}, shared "
            f"{how}{among}: Σ {decl.key.name} = {num_text(key_sum)} over "
            f"{pool.members} customers")
    return PoolShares(total, key_sum, pool.members, shares, text)


def _part(part: ast.PoolPart) -> str:
    """``30 %`` or ``1/3``: a part of a mixed pool key, as written."""
    if part.denominator == 100:
        return f"{num_text(Fraction(part.numerator))} %"
    return f"{num_text(Fraction(part.numerator))}/{num_text(Fraction(part.denominator))}"


def _money(x: Fraction) -> str:
    """An amount for the trace: ``34 880.00`` when it has an exact decimal, else
    ``33.333333…`` (never silently cut to a rounder number)."""
    d = fraction_to_decimal(x)
    return money_group(d) if d is not None else num_text(x)


def cond_words(c: ast.Cond | None) -> str:
    """A condition as written (for traces of register-wide values)."""
    if c is None:
        return ""
    if isinstance(c, ast.BoolOp):
        return f"{cond_words(c.left)} {c.op} {cond_words(c.right)}"
    if isinstance(c, ast.Not):
        return f"not {cond_words(c.operand)}"
    if isinstance(c, ast.Truthy):
        return str(c.operand.value)
    if isinstance(c, ast.In):
        return f"{c.item.value} {'not in' if c.negated else 'in'} {c.container.value}"
    assert isinstance(c, ast.Compare)
    right = c.right.value if c.right.kind != "text" else f'"{c.right.value}"'
    return f"{c.left.value} {c.op} {right}"
