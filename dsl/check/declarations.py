"""Declarations: the header, names (undefined, duplicated, unused, clashing with the
customer fields), inputs, lists, categories, groups, formulas, aggregates, pools,
prorations and properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.words import CURRENCY, article, close_names, refs, sample_value, things
from takst.dsl.errors import Span
from takst.dsl.numbers import literal, plain
from takst.dsl.symbols import BUILTIN_TEXT, BUILTINS, COUNT_ALL, input_unit, value_kind

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


def check_header(ctx: Context) -> None:
    h = ctx.t.header
    if h is None:
        ctx.err(
            "this file has no tariff header",
            Span(ctx.t.file, 1, 1, 1, 2, source=ctx.t.span.source),
            hint='start the file with:  tariff my_tariff "Title"  and a currency line',
        )
        return
    for extra in ctx.t.extra_headers:
        ctx.err(
            "a file holds one tariff; this is a second tariff header",
            extra.span,
            hint="split the file in two, one tariff per file",
            related=[("the first header is here", h.span)],
        )
    what = "module" if ctx.t.is_module else "tariff"
    if h.currency is None:
        ctx.err(
            f"{what} {h.name} has no currency",
            h.span,
            hint="add a line under the header:  currency DKK  (or NOK, SEK, EUR)",
        )
    elif not CURRENCY.match(h.currency.name):
        ctx.err(
            f"{h.currency.name} is not a currency code",
            h.currency.span,
            hint="use a three-letter ISO code in capitals, e.g. DKK or NOK",
        )
    if not h.sources:
        ctx.warn(
            f"{what} {h.name} cites no source",
            h.span,
            hint='add  source "the document the prices come from"  so every number can be traced',
        )


def check_names(ctx: Context) -> None:
    for first, again in ctx.sym.duplicates:
        assert again.decl is not None
        if first.kind == "builtin":
            ctx.err(
                f"{again.name} is a customer field every register has; it cannot be declared",
                again.decl.span,
                hint=f"use {again.name} directly, or choose another name",
            )
        else:
            assert first.decl is not None
            ctx.err(
                f"{again.name} is already declared (as {article(first.kind)})",
                again.decl.span,
                hint="give each input, list, bands, param and charge its own name",
                related=[(f"{again.name} is first declared here", first.decl.span)],
            )


def check_unused(ctx: Context) -> None:
    if ctx.t.is_module:
        return  # a module offers definitions; its users decide what to use
    kinds = {ast.InputDecl: "input", ast.ListDecl: "list", ast.BandsDecl: "bands",
             ast.ParamDecl: "param", ast.SettingDecl: "setting", ast.SlicesDecl: "slices",
             ast.FormulaDecl: "formula", ast.AggregateDecl: "aggregate",
             ast.PoolDecl: "pool"}
    own = [d for d in (*ctx.t.inputs, *ctx.t.lists, *ctx.t.bands, *ctx.t.params,
                       *ctx.t.settings, *ctx.t.slices, *ctx.t.formulas,
                       *ctx.t.aggregates, *ctx.t.pools)
           if d.span.file == ctx.t.file]
    for decl in own:
        if decl.name not in ctx.used and ctx.sym.get(decl.name) is not None:
            sym = ctx.sym.get(decl.name)
            if sym is not None and sym.decl is decl:
                kind = kinds[type(decl)]
                ctx.warn(
                    f"{kind} {decl.name} is declared but never used",
                    decl.span,
                    hint="use it in a charge, or remove it",
                )


def check_input(ctx: Context, decl: ast.InputDecl) -> None:
    if decl.type.kind == "count" and decl.type.counted in ("inhabitant", "inhabitants"):
        ctx.warn(
            f"input {decl.name}: write the type as `inhabitants`",
            decl.type.span,
            hint="`inhabitants` is the built-in type for a number of inhabitants",
        )
    if decl.default is not None:
        check_input_default(ctx, decl, decl.default)


def check_input_default(ctx: Context, decl: ast.InputDecl, default: ast.DefaultValue) -> None:
    """issue 12: a stated default has the input's kind (a whole number for a count, one of the
    declared categories for a categorised text)."""
    want = value_kind(decl)
    if want != default.kind:
        ctx.err(f"input {decl.name} is {article(want)}, but its default is {article(default.kind)}",
                default.span, hint=f"e.g.  default {sample_value(decl)}")
        return
    value = default.value
    if decl.type.kind in ("inhabitants", "count") and isinstance(value, Decimal) \
            and value != value.to_integral_value():
        ctx.err(f"the default of {decl.name} is a whole number of {things(decl)}, not "
                f"{plain(value)}", default.span, hint="e.g.  default 0")
    cats = ctx.sym.categories.get(decl.name)
    if cats is not None and isinstance(value, str) and value not in {c.name for c in cats.items}:
        ctx.err(f'the default "{value}" is not one of the categories of {decl.name}',
                default.span, hint="use one of: " + ", ".join(c.name for c in cats.items))


def check_list(ctx: Context, lst: ast.ListDecl) -> None:
    seen: dict[str, ast.TextItem] = {}
    for item in lst.items:
        if item.value in seen:
            ctx.warn(
                f'"{item.value}" is twice in list {lst.name}',
                item.span,
                hint="remove the second one",
            )
        seen[item.value] = item
        if item.value != item.value.strip():
            ctx.warn(
                f'"{item.value}" in list {lst.name} has spaces at its start or end',
                item.span,
                hint="names are matched exactly; remove the spaces",
            )


def check_categories(ctx: Context, cats: ast.CategoriesDecl) -> None:
    sym = ctx.sym.get(cats.name)
    is_text = cats.name in BUILTIN_TEXT or (
        sym is not None and sym.kind == "input" and isinstance(sym.decl, ast.InputDecl)
        and sym.decl.type.kind == "text"
    )
    if not is_text:
        ctx.err(
            f"categories are declared for a text field; {cats.name} is not one",
            cats.span,
            hint="e.g.  categories customer_type  (a field every register has)",
        )
    if ctx.sym.categories.get(cats.name) is not cats:
        ctx.err(f"the categories of {cats.name} are declared twice", cats.span)
    ctx.used.add(cats.name)


def check_group(ctx: Context, grp: ast.GroupDecl) -> None:
    owners = set()
    for m in grp.members:
        owner = ctx.sym.category_of.get(m.name)
        if owner is None:
            close = close_names(m.name, dict.fromkeys(ctx.sym.category_of))
            ctx.err(f"{m.name} is not a declared category", m.span,
                     hint=f"did you mean {close}?" if close else
                     "declare it in a `categories` block")
        else:
            owners.add(owner.name)
            ctx.used.add(m.name)
    if len(owners) > 1:
        ctx.err(f"group {grp.name} mixes categories of {', '.join(sorted(owners))}",
                 grp.span, hint="a group holds values of one field")


def check_formula(ctx: Context, formula: ast.FormulaDecl) -> None:
    seen: set[str] = set()
    for p in formula.params:
        if p.name in seen:
            ctx.err(f"parameter {p.name} is named twice", p.span)
        seen.add(p.name)
        if ctx.sym.get(p.name) is not None and p.name not in BUILTINS:
            ctx.warn(f"parameter {p.name} hides the declaration of the same name inside "
                      f"formula {formula.name}", p.span, hint="rename the parameter")


def numeric_input(ctx: Context, name: ast.Name, what: str, hint: str) -> None:
    """Report ``name`` unless it is a numeric input (what counts, sums or shares)."""
    if ctx.ref(name.name, name.span, "value") is None:
        return
    inp = ctx.sym.input(name.name)
    if inp is None or input_unit(inp) is None:
        ctx.err(f"{what} {name.name}, which is not a numeric input", name.span, hint=hint)


def check_aggregate(ctx: Context, agg: ast.AggregateDecl) -> None:
    if agg.kind == "count" and agg.of.name == COUNT_ALL and ctx.sym.get(COUNT_ALL) is None:
        pass  # issue 12: `count of customers`: every customer among the members
    elif agg.kind == "count":
        if ctx.ref(agg.of.name, agg.of.span, "value") is not None \
                and ctx.sym.input(agg.of.name) is None:
            ctx.err(f"aggregate {agg.name} counts the customers with a value for {agg.of.name}, "
                    "which is not an input", agg.of.span,
                    hint="write  count of customers, or count of an input")
    else:
        numeric_input(ctx, agg.of, f"aggregate {agg.name} is over",
                      "e.g.  aggregate largest = max of population")
    if agg.among is not None:
        ctx.conds.check(agg.among)


def check_pool(ctx: Context, pool: ast.PoolDecl) -> None:
    ctx.units.in_pool = True
    ctx.units.money_expr(pool.total, f"the total of pool {pool.name}")
    ctx.units.in_pool = False
    for name in refs(pool.total):
        if ctx.sym.kind(name) == "input":
            ctx.err(
                f"the total of pool {pool.name} uses {name}, which differs per customer",
                pool.total.span,
                hint="a pool's total is one amount for everyone: use settings, params "
                "and aggregates",
            )
    numeric_input(ctx, pool.key, f"pool {pool.name} is shared by",
                       "share by a count, e.g. population")
    check_pool_parts(ctx, pool)
    if pool.among is not None:
        ctx.conds.check(pool.among)


def check_pool_parts(ctx: Context, pool: ast.PoolDecl) -> None:
    """issue 12: a mixed key's two parts are fractions that add up to the whole; the total's
    rounding names a rounding."""
    if pool.equal is not None and pool.keyed is not None:
        parts = []
        for part in (pool.equal, pool.keyed):
            if part.denominator == 0:
                ctx.err("a fraction cannot divide by zero", part.span, hint="e.g. 30 %")
                return
            parts.append(Fraction(part.numerator) / Fraction(part.denominator))
        whole = sum(parts, Fraction(0))
        if whole != 1:
            ctx.err(f"pool {pool.name} shares {_share_words(pool.equal)} equally and "
                    f"{_share_words(pool.keyed)} by {pool.key.name}: together "
                    f"{_share_words_of(whole)}, not the whole total", pool.span,
                    hint=f"make the parts add up to 100 %, e.g.  shared 30 % equally and 70 % by "
                    f"{pool.key.name}")
    r = pool.total_rounding
    if r is not None and r.policy is not None:  # pragma: no cover - the grammar says `to`
        ctx.ref(r.policy.name, r.policy.span, "rounding")


def _share_words(part: ast.PoolPart) -> str:
    if part.denominator == 100:
        return f"{plain(part.numerator)} %"
    return f"{plain(part.numerator)}/{plain(part.denominator)}"


def _share_words_of(x: Fraction) -> str:
    pct = x * 100
    return f"{pct.numerator} %" if pct.denominator == 1 else f"{x.numerator}/{x.denominator}"


def check_proration_decl(ctx: Context, pr: ast.ProrationDecl) -> None:
    if pr.period is None:
        check_fraction(ctx, pr.numerator, pr.denominator, pr.span)


def check_fraction(ctx: Context, num: Decimal, den: Decimal, span: Span) -> None:
    if den == 0:
        ctx.err("a fraction cannot divide by zero", span, hint="e.g. prorate 1/4 when ...")
        return
    frac = Fraction(num) / Fraction(den)
    if not 0 <= frac <= 1:
        ctx.err(
            f"prorating by {plain(num)}/{plain(den)} is not a part of the year's amount",
            span,
            hint="a proration is a fraction from 0 to 1, e.g. 1/4 or 25 %",
        )


def check_property(ctx: Context, prop: ast.PropertyDecl) -> None:
    subject = prop.subject
    if prop.kind == "pool_adds_up":
        if ctx.sym.pool(subject.name) is None:
            ctx.ref(subject.name, subject.span, "pool")
            if ctx.sym.get(subject.name) is not None:
                ctx.err(f"{subject.name} is not a pool", subject.span)
        else:
            ctx.used.add(subject.name)
        return
    charge = ctx.sym.get(subject.name)
    if charge is None or charge.kind != "charge":
        close = close_names(subject.name, {c.name: None for c in ctx.t.charges})
        ctx.err(f"{subject.name} is not a charge of this tariff", subject.span,
                 hint=f"did you mean {close}?" if close else
                 "a property is about one of the tariff's charges")
        return
    assert isinstance(charge.decl, ast.ChargeDecl)
    if charge.decl.pending:
        ctx.err(f"{subject.name} is pending: there is no amount to check", subject.span)
    if prop.kind in ("non_decreasing", "non_increasing"):
        assert prop.input is not None
        kind = ctx.ref(prop.input.name, prop.input.span, "value")
        inp = ctx.sym.input(prop.input.name)
        if kind is not None and (inp is None or input_unit(inp) is None):
            ctx.err(f"{prop.input.name} is not a numeric input, so it cannot grow",
                     prop.input.span, hint="name an input such as population")
    if prop.kind == "bounded" and prop.low is not None and prop.high is not None \
            and prop.low > prop.high:
        ctx.err(f"the bounds are the wrong way round: {literal(prop.low)} is above "
                 f"{literal(prop.high)}", prop.span)
    if prop.kind == "exceptions_lower" and not charge.decl.exceptions:
        ctx.warn(f"{subject.name} has no exceptions, so this property is always true",
                  prop.span)
