"""issue 12: VAT. A tariff states at most one VAT rate (one for everyone, or one per value of a
dimension such as the customer type); a rate is a plain percentage from 0 to 100 %, never a
case that is not offered or pending; a charge ``exempt from vat`` needs a VAT to be exempt from."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.words import article

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


def check_vat(ctx: Context, vat: ast.VatDecl) -> None:
    first = ctx.t.vats[0]
    if vat is not first:
        ctx.err("a tariff states one VAT; this is a second vat declaration", vat.span,
                hint="give one rate per customer type in one declaration:  vat NAME = by "
                "customer_type", related=[("the first is here", first.span)])
        return
    ctx.used.add(vat.name)
    unit = ctx.units.unit(vat.rate)
    if unit is not None and not unit.is_plain:
        ctx.err(f"the rate of vat {vat.name} is {unit.describe(ctx.currency)}, not a percentage",
                vat.rate.span, hint="write the rate as a percentage, e.g.  vat mva = 25 %")
    literals = [vat.rate] if isinstance(vat.rate, ast.Number) else []
    if isinstance(vat.rate, ast.Cases):
        for case in vat.rate.cases:
            if case.value is None:
                ctx.err(f"a VAT rate cannot be {'pending' if case.pending else 'not offered'}",
                        case.span, hint="give the rate (0 % for a customer exempt from VAT)")
            elif isinstance(case.value, ast.Number):
                literals.append(case.value)
    for lit in literals:
        rate = Fraction(lit.value) / (100 if lit.percent else 1)
        if rate > 1:
            ctx.err(f"a VAT rate of {lit.value}{' %' if lit.percent else ''} is more than "
                    "100 %", lit.span, hint="write the rate as a percentage, e.g. 25 %")
    r = vat.rounding
    if r is None:
        ctx.warn(f"vat {vat.name} says no rounding: each line's VAT is kept to the last decimal",
                 vat.span, hint="add a line under it:  round to øre half up")
    elif r.policy is not None:
        kind = ctx.ref(r.policy.name, r.policy.span, "rounding")
        if kind is not None and kind != "rounding":
            ctx.err(f"{r.policy.name} is {article(kind)}, not a rounding", r.policy.span,
                    hint="declare it:  rounding NAME = to øre half up")


def check_exempt(ctx: Context, charge: ast.ChargeDecl) -> None:
    for extra in charge.vat_exempts[1:]:
        ctx.err(f"charge {charge.name} is exempt from vat twice", extra.span,
                hint="keep one `exempt from vat` line",
                related=[("the first is here", charge.vat_exempts[0].span)])
    if charge.vat_exempt is not None and not ctx.t.vats:
        ctx.err(f"charge {charge.name} is exempt from vat, but this tariff states no VAT",
                charge.vat_exempt.span,
                hint="remove the line, or state the VAT:  vat mva \"Merverdiavgift\" = 25 %")
