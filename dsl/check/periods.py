"""issue 12: time finer than a year and dated bounds.

- A dated value that starts after 1 January without a rule line: the whole billing
  year takes the value on 1 January, which is rarely what a mid-year price change
  means (a warning naming the rule lines to choose from).
- ``prorate 1/2 from A to B``: B before A; two such prorations of one charge whose
  dates overlap (which one applies on the shared days?) is a conflict.
- Bounds named by params: each such param is a param with plain numbers (or amounts)
  as its values, not weighted by days, and every bound of one declaration follows the
  same rule; the bands or slices have no gap or overlap on any date a bound changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from takst.dsl import ast
from takst.dsl.check.words import article
from takst.dsl.errors import Diagnostic
from takst.dsl.numbers import plain
from takst.dsl.periods import in_force, resolve_band

if TYPE_CHECKING:
    from takst.dsl.check.context import Context

_RULE_WORDS = ("`in force on 1 January`, `in force at the start of each period` or "
               "`weighted by days`")


def check_dated_rule(ctx: Context, decl: ast.ParamDecl) -> None:
    """A dated param whose value changes during a year says which value a period takes."""
    if not decl.dated or decl.rule is not None:
        return
    for d in decl.dated:
        if (d.start.month, d.start.day) != (1, 1):
            ctx.warn(
                f"the value of {decl.name} from {d.start.isoformat()} starts during the "
                f"year, but {decl.name} says no rule for it: every billing period takes the "
                "value on 1 January",
                d.span,
                hint=f"add a line after the dated values: {_RULE_WORDS}",
            )
            return


def check_prorate_dates(ctx: Context, charge: ast.ChargeDecl) -> None:
    """Dated prorations of one charge: dates in order, and no two over the same days."""
    dated = [pr for pr in charge.prorations if pr.start is not None and pr.end is not None]
    for pr in dated:
        assert pr.start is not None and pr.end is not None
        if pr.end < pr.start:
            ctx.err(
                f"this proration ends on {pr.end.isoformat()}, before it starts on "
                f"{pr.start.isoformat()}",
                pr.span,
                hint="write the first day, then the last:  prorate 1/2 from 2021-01-01 to "
                "2021-06-30",
            )
    for i, a in enumerate(dated):
        for b in dated[i + 1 :]:
            assert a.start and a.end and b.start and b.end
            if a.end < a.start or b.end < b.start:
                continue
            first, last = max(a.start, b.start), min(a.end, b.end)
            if first <= last:
                ctx.err(
                    f"these two prorations of {charge.name} both cover {first.isoformat()} "
                    f"to {last.isoformat()}",
                    b.span,
                    hint="make the dates of the two prorations not overlap (a fraction for "
                    "each stretch of days)",
                    related=[("the other proration is here", a.span)],
                )


def check_bound_params(ctx: Context, decl: ast.BandsDecl | ast.SlicesDecl,
                       subject_money: bool) -> list[ast.ParamDecl] | None:
    """The params named as bounds of ``decl``, each checked; None when one is wrong."""
    rows = decl.bands if isinstance(decl, ast.BandsDecl) else decl.slices
    params: list[ast.ParamDecl] = []
    ok = True
    rules: dict[str, ast.ParamDecl] = {}
    for band in rows:
        for bound in (band.lower, band.upper):
            if bound is None or bound.param is None:
                continue
            name = bound.param.name
            kind = ctx.ref(name, bound.param.span, "value")
            if kind is None:
                ok = False
                continue
            param = ctx.sym.param(name)
            if param is None:
                ctx.err(f"{name} is {article(kind)}; a bound is a number or a param",
                        bound.param.span,
                        hint=f"declare the bound as a param:  param {name} = 25_000")
                ok = False
                continue
            if param in params:
                continue
            if not _plain_values(ctx, param, subject_money):
                ok = False
                continue
            rule = param.rule.kind if param.rule is not None else "january"
            if rule == "days":
                ctx.err(f"{name} is weighted by days, so it has no one value on a day "
                        f"and cannot be a bound of {decl.name}", bound.param.span,
                        hint=f"give {name} the rule `in force on 1 January` or `in force at "
                        "the start of each period`")
                ok = False
                continue
            if rules and rule not in rules:
                other = next(iter(rules.values()))
                ctx.err(f"the bounds of {decl.name} take their values by different rules: "
                        f"{name} {_rule_text(rule)}, {other.name} {_rule_text(_rule_of(other))}",
                        bound.param.span,
                        hint="give every param that is a bound of one declaration the same "
                        "rule line",
                        related=[(f"{other.name} is here", other.span)])
                ok = False
            rules.setdefault(rule, param)
            params.append(param)
    return params if ok else None


def _rule_of(param: ast.ParamDecl) -> str:
    return param.rule.kind if param.rule is not None else "january"


def _rule_text(rule: str) -> str:
    return {"january": "takes the value on 1 January",
            "period": "takes the value at the start of each period"}.get(rule, rule)


def _plain_values(ctx: Context, param: ast.ParamDecl, money: bool) -> bool:
    values = [d.value for d in param.dated] if param.dated else [param.value]
    for v in values:
        literal = (isinstance(v, ast.Number) and not v.percent and v.per is None
                   and (v.currency is None or (money and v.currency == ctx.currency)))
        if param.pending or not literal:
            ctx.err(f"{param.name} is a bound, so each of its values is a number as written "
                    "(e.g. 25_000)", v.span if not param.pending else param.span,
                    hint="write the threshold itself, not a calculation, a percentage or "
                    "a price per unit")
            return False
    return True


def dates_of(params: list[ast.ParamDecl]) -> list[dt.date]:
    """The days on which some bound changes, from the first on which all have a value."""
    firsts = [p.dated[0].start for p in params if p.dated]
    start = max(firsts) if firsts else dt.date(1, 1, 1)
    days = sorted({d.start for p in params for d in p.dated if d.start > start} | {start})
    return days


def value_on(param: ast.ParamDecl, day: dt.date) -> Decimal:
    expr = param.value
    if param.dated:
        chosen = in_force(param.dated, day)
        assert chosen is not None
        expr = chosen.value
    assert isinstance(expr, ast.Number)
    return expr.value


def resolved_on(decl: ast.BandsDecl, params: list[ast.ParamDecl], day: dt.date) -> ast.BandsDecl:
    """The bands as they stand on ``day``: every param bound replaced by its value."""
    values = {p.name: value_on(p, day) for p in params}
    return attrs.evolve(decl, bands=tuple(resolve_band(b, values) for b in decl.bands))


def dated_diagnostics(params: list[ast.ParamDecl], decl: ast.BandsDecl,
                      analyse: Callable[[ast.BandsDecl], list[Diagnostic]]
                      ) -> list[Diagnostic]:
    """The band analysis on every date a bound changes, each problem said once with the
    first date it holds from (``from 2017-01-01: 6 000 falls in no band of ...``)."""
    seen: set[str] = set()
    out: list[Diagnostic] = []
    several = len(dates_of(params)) > 1 or any(p.dated for p in params)
    for day in dates_of(params):
        found = analyse(resolved_on(decl, params, day))
        for d in found:
            if d.message in seen:
                continue
            seen.add(d.message)
            out.append(attrs.evolve(d, message=(f"from {day.isoformat()}: {d.message}"
                                                if several else d.message)))
    return out


def whole_bound_problems(ctx: Context, params: list[ast.ParamDecl], subject: str,
                         things: str) -> bool:
    """A bound over a whole number that is not whole, on any date (reported once)."""
    for p in params:
        values = [(d.value, d.value.span) for d in p.dated] if p.dated else [
            (p.value, p.value.span)]
        for v, span in values:
            assert isinstance(v, ast.Number)
            if v.value != v.value.to_integral_value():
                ctx.err(f"{subject} is a whole number of {things}; {plain(v.value)} "
                        f"({p.name}) cannot be a bound", span,
                        hint="use whole numbers for the bounds, e.g. 25_000")
                return True
    return False
