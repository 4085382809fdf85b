"""Bands and slices: gaps, overlaps and unreachable bands, naming the exact value."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from takst.dsl import ast
from takst.dsl.check import periods
from takst.dsl.check.words import is_zero, things
from takst.dsl.errors import Diagnostic, diagnostic
from takst.dsl.intervals import Interval, band_interval, int_range
from takst.dsl.numbers import group, literal, plain
from takst.dsl.periods import bound_params
from takst.dsl.symbols import input_unit
from takst.dsl.units import singular

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


def check_bands(ctx: Context, decl: ast.BandsDecl) -> None:
    kind = ctx.ref(decl.subject.name, decl.subject.span, "value")
    seen: dict[str, ast.Band] = {}
    for band in decl.bands:
        if band.name in seen:
            ctx.err(
                f"band {band.name} is twice in bands {decl.name}",
                band.span,
                hint="give each band its own name",
                related=[("the first is here", seen[band.name].span)],
            )
        seen[band.name] = band
        if band.lower is None and band.upper is None:  # pragma: no cover - grammar
            ctx.err(f"band {band.name} has no bounds", band.span)
    if kind is None:
        return
    inp = ctx.sym.input(decl.subject.name)
    if inp is None or input_unit(inp) is None:
        ctx.err(
            f"bands {decl.name} are by {decl.subject.name}, which is not a number",
            decl.subject.span,
            hint="bands go by a numeric input: inhabitants, number, money or count of ...",
        )
        return
    whole = inp.type.kind in ("inhabitants", "count")
    floor = Decimal(0)  # registers refuse negative values for every numeric input
    if whole:
        for band in decl.bands:
            for bound in (band.lower, band.upper):
                if bound is not None and bound.value != bound.value.to_integral_value():
                    ctx.err(
                        f"{decl.subject.name} is a whole number of "
                        f"{things(inp)}; {plain(bound.value)} cannot be a bound",
                        bound.span,
                        hint="use whole numbers for the bounds, e.g. `to 25_000`, "
                        "`from 25_001`",
                    )
                    return
    if bound_params(decl):  # issue 12: dated bounds, analysed on every date they change
        check_dated_bounds(ctx, decl, decl, inp, whole, floor)
        return
    ctx.diags.extend(analyse_bands(decl, whole, floor))


def check_dated_bounds(ctx: Context, decl: ast.BandsDecl | ast.SlicesDecl,
                       as_bands: ast.BandsDecl, inp: ast.InputDecl, whole: bool,
                       floor: Decimal, reword: bool = False) -> None:
    """issue 12: bounds named by params: each param checked, then gaps and overlaps on
    every date a bound changes."""
    params = periods.check_bound_params(ctx, decl, inp.type.kind == "money")
    if params is None:
        return
    if whole and periods.whole_bound_problems(ctx, params, decl.subject.name, things(inp)):
        return
    found = periods.dated_diagnostics(
        params, as_bands, lambda d: analyse_bands(d, whole, floor))
    ctx.diags.extend(_as_slices(d) for d in found) if reword else ctx.diags.extend(found)


def check_slices(ctx: Context, decl: ast.SlicesDecl) -> None:
    kind = ctx.ref(decl.subject.name, decl.subject.span, "value")
    if kind is None:
        return
    inp = ctx.sym.input(decl.subject.name)
    unit = input_unit(inp) if inp is not None else None
    if inp is None or unit is None:
        word = "slices" if decl.rule == "graduated" else "volume"
        ctx.err(f"{word} {decl.name} are by {decl.subject.name}, which is not a number",
                decl.subject.span, hint=f"{word} go by a numeric input, e.g. population")
        return
    for sl in decl.slices:
        if sl.flat is not None:  # issue 12: a flat amount per tier reached
            check_flat(ctx, decl, sl, sl.flat)
        if sl.rate is None:
            continue
        rate = ctx.units.unit(sl.rate)
        if rate is not None and not (rate * unit).is_money:
            ctx.err(
                f"the rate of {'slice' if decl.rule == 'graduated' else 'band'} {sl.name} is "
                f"{rate.describe(ctx.currency)}; "
                f"times {decl.subject.name} it must give an amount in {ctx.currency}",
                sl.rate.span,
                hint=f"e.g. at 1.50 {ctx.currency} per "
                f"{singular(inp.type.counted or 'inhabitant')}",
            )
    whole = inp.type.kind in ("inhabitants", "count")
    fake = ast.BandsDecl(name=decl.name, label=decl.label, subject=decl.subject,
                         bands=decl.slices, span=decl.span)
    if bound_params(decl):  # issue 12: dated bounds
        check_dated_bounds(ctx, decl, fake, inp, whole, Decimal(0),
                           reword=decl.rule != "volume")
        return
    found = analyse_bands(fake, whole, Decimal(0))
    # volume pricing: the quantity picks one band, so the bands' own words fit
    ctx.diags.extend(found if decl.rule == "volume" else map(_as_slices, found))


def check_flat(ctx: Context, decl: ast.SlicesDecl, sl: ast.Slice, flat: ast.Expr) -> None:
    """The flat amount of a tier is money, charged once when the quantity reaches it."""
    what = "slice" if decl.rule == "graduated" else "band"
    unit = ctx.units.unit(flat)
    if unit is None or unit.is_money or (unit.is_plain and is_zero(flat)):
        return
    ctx.err(
        f"the flat amount of {what} {sl.name} is {unit.describe(ctx.currency)}, not an "
        f"amount in {ctx.currency}",
        flat.span,
        hint=f"a flat amount is charged once for the {what}: write it in money, e.g. "
        f"plus 10 {ctx.currency} (a price per unit goes after `at`)",
    )


def _as_slices(d: Diagnostic) -> Diagnostic:
    """A band diagnostic reworded for slices (the same analysis serves both)."""
    def words(text: str) -> str:
        return (text.replace("in no band of", "in no slice of")
                .replace("in two bands of", "in two slices of").replace("band ", "slice ")
                .replace("bands", "slices"))
    return attrs.evolve(d, message=words(d.message), hint=words(d.hint) if d.hint else None,
                        related=tuple((words(label), span) for label, span in d.related))


# ------------------------------------------------------------------ the analysis


def _values(lo: Decimal, hi: Decimal | None, unit: str) -> tuple[str, str]:
    """Words for a run of whole values, and the verb agreeing with it."""
    if hi is None:
        return f"{unit}{group(lo)} and above", "fall"
    if lo == hi:
        return f"{unit}{group(lo)}", "falls"
    return f"{unit}{group(lo)} to {group(hi)}", "fall"


def analyse_bands(decl: ast.BandsDecl, whole: bool, floor: Decimal | None) -> list[Diagnostic]:
    """Gaps, overlaps and unreachable bands of one ``bands`` declaration."""
    ivs = [band_interval(b, floor) for b in decl.bands]
    if whole:
        return _analyse_whole(decl, ivs, floor)
    return _analyse_real(decl, ivs, floor)


def _analyse_whole(
    decl: ast.BandsDecl, ivs: list[Interval], floor: Decimal | None
) -> list[Diagnostic]:
    """Band analysis over whole numbers (inhabitants, counts): the bands as ranges of
    whole values, sorted, each compared with how far the ones before it reach."""
    out: list[Diagnostic] = []
    name = decl.name
    ranges = []
    for iv in ivs:
        lo, hi = int_range(iv)
        if lo is None:
            lo = floor if floor is not None else Decimal("-1e30")
        if hi is not None and lo > hi:
            out.append(
                diagnostic(
                    f"band {iv.band.name} of {name} is unreachable: "
                    "no whole number is inside its bounds",
                    iv.band.span,
                    hint="check the band's bounds: no whole number is inside them",
                )
            )
            continue
        ranges.append((lo, hi, iv.band))
    ranges.sort(key=lambda r: (r[0], r[1] if r[1] is not None else Decimal("1e30")))
    reach: Decimal | None = (floor - 1) if floor is not None else None  # last value covered
    reach_band: ast.Band | None = None
    open_band: ast.Band | None = None  # a band with no upper bound, once seen
    for lo, hi, band in ranges:
        if open_band is not None:
            out.append(_after_open(open_band, lo, hi, band, name))
            continue
        if reach is not None and lo > reach + 1:
            words, verb = _values(reach + 1, lo - 1, "")
            out.append(
                diagnostic(
                    f"{words} {verb} in no band of {name}",
                    band.span,
                    hint=_gap_hint(reach_band, band, reach + 1, lo - 1, whole=True),
                )
            )
        elif reach is not None and reach_band is not None and lo <= reach:
            out.append(_overlap(reach_band, reach, lo, hi, band, name))
        if hi is None:
            open_band = band
            if reach is None or lo > reach:
                reach = lo
            continue
        if reach is None or hi > reach:
            reach, reach_band = hi, band
    if open_band is None and reach is not None and ranges:
        words, verb = _values(reach + 1, None, "")
        last = ranges[-1][2]
        out.append(
            diagnostic(
                f"{words} {verb} in no band of {name}",
                last.span,
                hint=f"let the last band run upwards: e.g. `from {literal(reach + 1)}`",
            )
        )
    return out


def _after_open(
    open_band: ast.Band, lo: Decimal, hi: Decimal | None, band: ast.Band, name: str
) -> Diagnostic:
    """A band that starts after a band open upwards (which holds all its values)."""
    related = [(f"band {open_band.name} is here", open_band.span)]
    if hi is not None:
        return diagnostic(
            f"band {band.name} of {name} is unreachable: every value in it "
            f"({_values(lo, hi, '')[0]}) is already in band {open_band.name}",
            band.span,
            hint="remove the band, or fix the bounds so each value is in one band",
            related=related,
        )
    return diagnostic(
        f"{group(lo)} and above are in two bands of {name}: "
        f"{open_band.name} and {band.name}",
        band.span,
        hint="only the last band may be open upwards",
        related=related,
    )


def _overlap(
    reach_band: ast.Band, reach: Decimal, lo: Decimal, hi: Decimal | None, band: ast.Band,
    name: str,
) -> Diagnostic:
    """A band that starts at or before ``reach``, the last value ``reach_band`` covers."""
    related = [(f"band {reach_band.name} is here", reach_band.span)]
    if hi is not None and hi <= reach:
        return diagnostic(
            f"band {band.name} of {name} is unreachable: every value in it "
            f"({_values(lo, hi, '')[0]}) is already in band {reach_band.name}",
            band.span,
            hint="remove the band, or fix the bounds so each value is in one band",
            related=related,
        )
    words, _verb = _values(lo, reach, "")
    verb = "is" if lo == reach else "are"
    return diagnostic(
        f"{words} {verb} in two bands of {name}: "
        f"{reach_band.name} and {band.name}",
        band.span,
        hint=f"decide which band {words} {'belongs' if lo == reach else 'belong'} "
        f"to: end {reach_band.name} "
        f"with `below {literal(lo)}`, or start {band.name} with "
        f"`above {literal(reach)}`",
        related=related,
    )


def _gap_hint(
    before: ast.Band | None, after: ast.Band, lo: Decimal, hi: Decimal, *, whole: bool
) -> str:
    if before is None:
        return f"start band {after.name} lower, e.g. `from {literal(lo)}`, or add a band for them"
    if whole and lo == hi:
        return (
            f"decide which band {group(lo)} belongs to: end {before.name} with "
            f"`to {literal(lo)}`, or start {after.name} with `from {literal(lo)}`"
        )
    return f"make the bands meet: start {after.name} with `above` the end of {before.name}"


def _low(iv: Interval) -> tuple[int, Decimal, int]:
    """A lower edge as (value, side): ``from 5`` starts before ``above 5``."""
    if iv.lo is None:
        return (0, Decimal(0), 0)  # minus infinity
    return (1, iv.lo, 0 if iv.lo_incl else 1)


def _high(iv: Interval) -> tuple[int, Decimal, int]:
    """An upper edge as (value, side): ``to 5`` ends after ``below 5``."""
    if iv.hi is None:
        return (2, Decimal(0), 0)  # plus infinity
    return (1, iv.hi, 1 if iv.hi_incl else 0)


def _analyse_real(
    decl: ast.BandsDecl, ivs: list[Interval], floor: Decimal | None
) -> list[Diagnostic]:
    """Band analysis over decimal values (money, plain numbers): the bands sorted by their
    edges, each compared with the one that reaches furthest before it."""
    out: list[Diagnostic] = []
    name, subject = decl.name, decl.subject.name
    live = []
    for iv in ivs:
        if iv.lo is not None and iv.hi is not None and (
            iv.lo > iv.hi or (iv.lo == iv.hi and not (iv.lo_incl and iv.hi_incl))
        ):
            out.append(
                diagnostic(
                    f"band {iv.band.name} of {name} is unreachable: no value is inside its bounds",
                    iv.band.span,
                    hint="the lower bound must be below the upper bound",
                )
            )
        else:
            live.append(iv)
    live.sort(key=lambda iv: (_low(iv), _high(iv)))
    prev: Interval | None = None  # the band that reaches furthest so far
    for iv in live:
        if prev is None:
            out.extend(_first_band(iv, floor, name))
            prev = iv
            continue
        found, advance = _after(prev, iv, name, subject)
        out.extend(found)
        if advance:
            prev = iv
    if prev is not None and prev.hi is not None:
        if prev.hi_incl:
            words, hint = f"values above {group(prev.hi)}", f"above {literal(prev.hi)}"
        else:
            words, hint = f"{group(prev.hi)} and above", f"from {literal(prev.hi)}"
        out.append(
            diagnostic(
                f"{words} fall in no band of {name}",
                prev.band.span,
                hint=f"let the last band run upwards: add a band `{hint}`",
            )
        )
    return out


def _first_band(iv: Interval, floor: Decimal | None, name: str) -> list[Diagnostic]:
    """What the lowest band leaves uncovered below it."""
    if iv.lo is not None and floor is not None and (
        iv.lo > floor or (iv.lo == floor and not iv.lo_incl)
    ):
        words = (f"values from {group(floor)} up to {group(iv.lo)}" if iv.lo > floor
                 else f"{group(floor)}")
        verb = "fall" if iv.lo > floor else "falls"
        return [
            diagnostic(
                f"{words} {verb} in no band of {name}",
                iv.band.span,
                hint=f"start band {iv.band.name} with `from {literal(floor)}`",
            )
        ]
    if iv.lo is not None and floor is None:
        return [
            diagnostic(
                f"values below {group(iv.lo)} fall in no band of {name}",
                iv.band.span,
                hint=f"leave out the lower bound of band {iv.band.name} so it covers "
                "everything below",
            )
        ]
    return []


def _after(
    prev: Interval, iv: Interval, name: str, subject: str
) -> tuple[list[Diagnostic], bool]:
    """How band ``iv`` meets ``prev`` (the band that reaches furthest before it): the
    problems, and whether ``iv`` now reaches furthest."""
    related = [(f"band {prev.band.name} is here", prev.band.span)]
    if _high(iv) <= _high(prev) and (iv.lo is None or prev.lo is None or _low(iv) >= _low(prev)):
        inside = (f" ({group(iv.lo)} to {group(iv.hi)})"
                  if iv.lo is not None and iv.hi is not None else "")
        return [
            diagnostic(
                f"band {iv.band.name} of {name} is unreachable: every value in it{inside} is "
                f"already in band {prev.band.name}",
                iv.band.span,
                hint="remove the band, or fix the bounds so each value is in one band",
                related=related,
            )
        ], False
    if prev.hi is None:  # pragma: no cover - an open band reaches furthest of all
        return [], False
    h = prev.hi
    if iv.lo is None:
        return [
            diagnostic(
                f"values up to {group(h)} are in two bands of {name}: "
                f"{prev.band.name} and {iv.band.name}",
                iv.band.span,
                hint="only the first band may be open downwards",
                related=related,
            )
        ], True
    if iv.lo > h:
        mid = (h + iv.lo) / 2
        return [
            diagnostic(
                f"values between {group(h)} and {group(iv.lo)} (e.g. {group(mid)}) "
                f"fall in no band of {name}",
                iv.band.span,
                hint=f"{subject} is measured in decimals: end {prev.band.name} with "
                f"`below {literal(iv.lo)}` and start {iv.band.name} with "
                f"`from {literal(iv.lo)}`",
            )
        ], True
    if iv.lo == h and not prev.hi_incl and not iv.lo_incl:
        return [
            diagnostic(
                f"{group(h)} falls in no band of {name}",
                iv.band.span,
                hint=f"use `from {literal(h)}` in {iv.band.name} or `to {literal(h)}` "
                f"in {prev.band.name}",
            )
        ], True
    if iv.lo == h and prev.hi_incl and iv.lo_incl:
        return [
            diagnostic(
                f"{group(h)} is in two bands of {name}: {prev.band.name} and {iv.band.name}",
                iv.band.span,
                hint=f"use `above {literal(h)}` in {iv.band.name} or `below {literal(h)}` "
                f"in {prev.band.name}",
                related=related,
            )
        ], True
    if iv.lo < h:
        top = h if iv.hi is None else min(h, iv.hi)
        return [
            diagnostic(
                f"values from {group(iv.lo)} to {group(top)} are in two bands of {name}: "
                f"{prev.band.name} and {iv.band.name}",
                iv.band.span,
                hint="make each band start where the one before it ends",
                related=related,
            )
        ], True
    return [], True
