"""Charges: one amount, one rounding, how often they are made, prorations, and
exceptions that can fire together with different results and no priority."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.conditions import disjoint
from takst.dsl.check.declarations import check_fraction
from takst.dsl.check.periods import check_prorate_dates
from takst.dsl.check.tables import check_table
from takst.dsl.check.words import article, same_result
from takst.dsl.numbers import group

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


def check_charge(ctx: Context, charge: ast.ChargeDecl) -> None:
    if charge.name == "total":
        ctx.err(
            "a charge cannot be called total",
            charge.span,
            hint="`total` means the sum of all charges in examples and reports; "
            "choose another name",
        )
    check_frequency(ctx, charge)
    if charge.pending:
        if charge.pending_for is not None:  # issue 12: pending for some customers only
            ctx.conds.check(charge.pending_for)
        return
    if not charge.bodies:
        ctx.err(
            f"charge {charge.name} has no amount",
            charge.span,
            hint="add a line `table by ...` or `amount ...`, or declare it "
            f"`pending {charge.name}` if the amount is not known yet",
        )
    for extra in charge.bodies[1:]:
        ctx.err(
            f"charge {charge.name} has more than one amount",
            extra.span,
            hint="a charge has one `table` or one `amount`; split it into two charges",
        )
    for extra_r in charge.roundings[1:]:
        ctx.err(
            f"charge {charge.name} is rounded twice",
            extra_r.span,
            hint="keep one `round to ...` line",
        )
    if isinstance(charge.body, ast.Table):
        check_table(ctx, charge.body)
    elif isinstance(charge.body, ast.Expr):
        ctx.units.money_expr(charge.body, f"the amount of {charge.name}")
    if charge.rounding is not None and charge.rounding.policy is not None:
        pol = charge.rounding.policy
        kind = ctx.ref(pol.name, pol.span, "rounding")
        if kind is not None and kind != "rounding":
            ctx.err(f"{pol.name} is {article(kind)}, not a rounding", pol.span,
                     hint="declare it:  rounding NAME = to øre half up")
    for pr in charge.prorations:
        check_prorate(ctx, pr, charge)
    for ex in charge.exceptions:
        ctx.conds.check(ex.condition)
        ctx.units.money_expr(ex.result, f"the result of this exception to {charge.name}")
    check_conflicts(ctx, charge)
    check_limits(ctx, charge)
    check_prorate_dates(ctx, charge)  # issue 12
    check_periodic_with(ctx, charge)


def check_frequency(ctx: Context, charge: ast.ChargeDecl) -> None:
    anchor = charge.frequency.anchor
    if anchor is None:
        return
    kind = ctx.ref(anchor.name, anchor.span, "date")
    if kind is None:
        return
    inp = ctx.sym.input(anchor.name)
    if inp is None or inp.type.kind != "date":
        ctx.err(
            f"{anchor.name} is not a date input, so it cannot say when "
            f"{charge.name} is charged",
            anchor.span,
            hint="name a date input here, e.g. `once when joined` with  input joined: date",
        )


def check_prorate(ctx: Context, pr: ast.Prorate, charge: ast.ChargeDecl) -> None:
    period = pr.period
    if pr.policy is not None:
        kind = ctx.ref(pr.policy.name, pr.policy.span, "proration")
        decl = ctx.sym.proration(pr.policy.name)
        if kind is not None and decl is None:
            ctx.err(f"{pr.policy.name} is {article(kind)}, not a proration",
                     pr.policy.span, hint="declare it:  proration NAME = by months")
            return
        if decl is None:
            return
        period = decl.period
        if period is not None and pr.anchor is None:
            ctx.err(f"proration {decl.name} goes by {period}; say from which date",
                     pr.span, hint=f"write  prorate with {decl.name} from joined")
        if period is None and pr.condition is None:
            ctx.err(f"proration {decl.name} is a fixed fraction; say when it applies",
                     pr.span, hint=f"write  prorate with {decl.name} when ...")
    elif period is None:
        check_fraction(ctx, pr.numerator, pr.denominator, pr.span)
    if pr.condition is not None:
        ctx.conds.check(pr.condition)
    if pr.anchor is not None:
        kind = ctx.ref(pr.anchor.name, pr.anchor.span, "date")
        inp = ctx.sym.input(pr.anchor.name)
        if kind is not None and (inp is None or inp.type.kind != "date"):
            ctx.err(f"{pr.anchor.name} is not a date input", pr.anchor.span,
                     hint="prorate by months or days from a date, e.g. from joined")


def check_conflicts(ctx: Context, charge: ast.ChargeDecl) -> None:
    exs = charge.exceptions
    for i, a in enumerate(exs):
        for b in exs[i + 1 :]:
            if a.priority is not None and b.priority is not None and a.priority != b.priority:
                continue
            if same_result(a.result, b.result):
                continue
            if disjoint(a.condition, b.condition, ctx.sym):
                continue
            ctx.err(
                f"these two exceptions to {charge.name} can apply to the same customer "
                "with different results",
                b.span,
                hint="make the conditions exclusive (add `and not ...`), give both the same "
                "result, or say which wins with `priority N` on each (higher wins)",
                related=[("the other exception is here", a.span)],
            )


# issue 12: minimum and maximum amounts
def check_periodic_with(ctx: Context, charge: ast.ChargeDecl) -> None:
    """A charge invoiced per month, quarter or half year cannot yet have ``at least`` /
    ``at most`` or VAT: refused, rather than billed without them."""
    period = charge.frequency.period
    if period == "year":
        return
    for lim in charge.limits:
        ctx.err(f"charge {charge.name} is invoiced every {period}, and takst cannot yet apply "
                f"a {_word(lim)} to a charge invoiced per period",
                lim.span,
                hint="bound the amount of each period in its calculation (max(...), min(...)), "
                "or invoice the charge every year")
    if ctx.t.vats and charge.vat_exempt is None:
        ctx.err(f"charge {charge.name} is invoiced every {period}, and takst cannot yet add "
                "VAT to a charge invoiced per period",
                charge.span,
                hint="invoice it every year, or write `exempt from vat \"reason\"` under it if "
                "no VAT is due")


def check_limits(ctx: Context, charge: ast.ChargeDecl) -> None:
    """``at least`` / ``at most``: money, once each, the minimum not above the maximum, and a
    stated place (before or after proration) when the charge is prorated."""
    seen: dict[str, ast.Limit] = {}
    for lim in charge.limits:
        ctx.units.money_expr(lim.value, f"the {_word(lim)} of {charge.name}")
        if lim.kind in seen:
            ctx.err(f"charge {charge.name} has two `{lim.kind}` lines", lim.span,
                    hint=f"keep one `{lim.kind}` line",
                    related=[("the first is here", seen[lim.kind].span)])
        seen.setdefault(lim.kind, lim)
        if lim.place is None and charge.prorations:
            ctx.err(
                f"say whether `{lim.kind}` applies before or after the proration of "
                f"{charge.name}",
                lim.span,
                hint=f"end the line with `before proration` (the {_word(lim)} is prorated "
                f"too) or `after proration` (the prorated amount is {_bound(lim)})",
                related=[("the proration is here", charge.prorations[0].span)],
            )
    low, high = seen.get("at least"), seen.get("at most")
    if low is None or high is None:
        return
    a, b = _constant(low.value), _constant(high.value)
    if a is not None and b is not None and a > b and low.place == high.place:
        ctx.err(
            f"the minimum of {charge.name} ({group(a)}) is above its maximum ({group(b)})",
            low.span,
            hint="every amount would be both raised and cut: swap the two, or correct one",
            related=[("the maximum is here", high.span)],
        )


def _word(lim: ast.Limit) -> str:
    return "minimum" if lim.kind == "at least" else "maximum"


def _bound(lim: ast.Limit) -> str:
    return "raised to the minimum" if lim.kind == "at least" else "cut to the maximum"


def _constant(e: ast.Expr) -> Decimal | None:
    """The value of a literal amount (``5_000 NOK``), else None."""
    if isinstance(e, ast.Number) and e.per is None and not e.percent:
        return e.value
    return None
