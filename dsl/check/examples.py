"""Examples: unknown or missing inputs, values of the wrong kind, expected charges
and pools that do not exist."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.words import article, close_names, sample_value, things, value_hint
from takst.dsl.numbers import plain
from takst.dsl.symbols import BUILTIN_TEXT, value_kind

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


def check_example(ctx: Context, ex: ast.Example) -> None:
    given = _check_given(ctx, ex)
    _check_missing(ctx, ex, given)
    _check_expects(ctx, ex)


def _check_given(ctx: Context, ex: ast.Example) -> dict[str, ast.Given]:
    """Each given value names an input (or a setting) once, with a value of its kind."""
    inputs = ctx.sym.inputs()
    given: dict[str, ast.Given] = {}
    for g in ex.given:
        if g.name in given:
            ctx.err(f"{g.name} is given twice in this example", g.span)
        given[g.name] = g
        if g.name in BUILTIN_TEXT:
            if g.kind != "text":
                ctx.err(f'{g.name} is text; write it in double quotes ("...")', g.span)
            continue
        inp = inputs.get(g.name)
        if inp is None and ctx.sym.setting(g.name) is not None:
            setting = ctx.sym.setting(g.name)
            assert setting is not None
            inp = ast.InputDecl(setting.name, setting.label, setting.type, span=setting.span)
        if inp is None and ctx.sym.aggregate(g.name) is not None and ex.register is None:
            continue  # an aggregate given by hand (there is no register to compute it)
        if inp is None:
            close = close_names(g.name, inputs)
            ctx.err(
                f"{g.name} is not an input of this tariff",
                g.span,
                hint=f"did you mean {close}?" if close else
                "the inputs are: " + ", ".join(inputs),
            )
            continue
        want = value_kind(inp)
        if want != g.kind:
            ctx.err(
                f"{g.name} is {article(want)}, but the example gives {article(g.kind)}",
                g.span,
                hint=value_hint(inp),
            )
        elif inp.type.kind in ("inhabitants", "count"):
            assert isinstance(g.value, Decimal)
            if g.value != g.value.to_integral_value() or g.value < 0:
                ctx.err(
                    f"{g.name} is a whole number of {things(inp)}, not {plain(g.value)}",
                    g.span,
                )
    return given


def _check_missing(ctx: Context, ex: ast.Example, given: dict[str, ast.Given]) -> None:
    """An example gives every input it needs, and none that its register holds."""
    inputs = ctx.sym.inputs()
    if ex.register is not None:
        for g in ex.given:
            if g.name in inputs or g.name in BUILTIN_TEXT:
                ctx.err(
                    f"{g.name} comes from the register in this example; it cannot be given",
                    g.span,
                    hint="an example over a register gives only settings; to try one "
                    "customer's values, write an example without the register line",
                )
        missing = [s_.name for s_ in ctx.t.settings if s_.name not in given]
    else:
        missing = [n for n, d in inputs.items() if n not in given and not d.optional]
        missing += [s_.name for s_ in ctx.t.settings if s_.name not in given]
    if missing:
        ctx.err(
            f"example \"{ex.title}\" does not give "
            + ", ".join(missing),
            ex.span,
            hint=f"add {'them' if len(missing) > 1 else 'it'} to the given line, e.g. "
            + ", ".join(
                f"{n} {sample_value(inputs[n]) if n in inputs else '1_000'}" for n in missing
            ),
        )


def _check_expects(ctx: Context, ex: ast.Example) -> None:
    """Each expectation names a charge or a pool of the tariff, once."""
    charges = {c.name for c in ctx.t.charges}
    seen_keys: set[tuple[str | None, str, str | None]] = set()
    for e in ex.expects:
        key = (e.customer, e.kind, e.charge)
        if key in seen_keys:
            ctx.err(f"{e.charge or 'total'} is expected twice in this example", e.span)
        seen_keys.add(key)
        if e.customer is not None and ex.register is None:
            ctx.err("`expect for ...` names a customer of a register, but this example has "
                     "none", e.span, hint='add a line  register "path/to/register.csv"')
        if e.kind in ("pool", "rate"):
            if ctx.sym.pool(e.charge or "") is None:
                ctx.err(f"{e.charge} is not a pool of this tariff", e.span)
            elif ex.register is None:
                ctx.err("a pool is computed over a register; this example has none",
                         e.span, hint='add a line  register "path/to/register.csv"')
            continue
        if e.kind in ("vat", "vat_total") and not ctx.t.vats:  # issue 12
            ctx.err("this example expects VAT, but the tariff states no VAT", e.span,
                    hint='state it:  vat mva "Merverdiavgift" = 25 %')
            continue
        if e.charge is not None and e.charge not in charges:
            close = close_names(e.charge, {c: None for c in charges})
            ctx.err(
                f"{e.charge} is not a charge of this tariff",
                e.span,
                hint=f"did you mean {close}?" if close else
                "the charges are: " + ", ".join(sorted(charges)),
            )
