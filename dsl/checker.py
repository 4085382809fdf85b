"""Static checks of a parsed tariff, before any evaluation.

:func:`check` returns every diagnostic of a file (errors and warnings), in file
order. A tariff with errors is never evaluated. What is checked:

* names: undefined, duplicated, unused, clashing with the customer fields;
* units: money + inhabitants, money × money, a charge that is not money;
* bands: gaps, overlaps and unreachable bands, naming the exact value;
* tables: missing or unknown rows and columns, rows of the wrong width;
* exceptions that can fire together with different results and no priority;
* pending amounts used in a calculation;
* conditions that compare things of different kinds;
* examples that give unknown inputs, miss inputs, or expect unknown charges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import attrs

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, Span, diagnostic
from takst.dsl.intervals import Interval, band_interval, int_range
from takst.dsl.numbers import group, literal, plain
from takst.dsl.symbols import BILLING_YEAR, BUILTIN_TEXT, BUILTINS, Symbols, input_unit, value_kind
from takst.dsl.units import MONEY, MONEY_UNIT, PLAIN, Unit, singular

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def check(tariff: ast.Tariff) -> list[Diagnostic]:
    """Every problem of ``tariff``, errors and warnings, sorted by position."""
    checker = _Checker(tariff)
    checker.run()
    return sorted(
        checker.diags,
        key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0),
    )


def expression_unit(tariff: ast.Tariff, expr: ast.Expr) -> Unit | None:
    """The unit of an expression of ``tariff`` (None when it has none or is inconsistent);
    for an editor's hover. Problems found on the way are not reported here: see :func:`check`."""
    return _Checker(tariff).expr_unit(expr)


def errors_of(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.is_error]


# ------------------------------------------------------------------ band analysis


def _values(lo: Decimal, hi: Decimal | None, unit: str) -> tuple[str, str]:
    """Words for a run of whole values, and the verb agreeing with it."""
    if hi is None:
        return f"{unit}{group(lo)} and above", "fall"
    if lo == hi:
        return f"{unit}{group(lo)}", "falls"
    return f"{unit}{group(lo)} to {group(hi)}", "fall"


def analyse_bands(decl: ast.BandsDecl, whole: bool, floor: Decimal | None) -> list[Diagnostic]:
    """Gaps, overlaps and unreachable bands of one ``bands`` declaration."""
    out: list[Diagnostic] = []
    name = decl.name
    ivs = [band_interval(b, floor) for b in decl.bands]
    if whole:
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
                assert reach is not None
                if hi is not None:
                    out.append(
                        diagnostic(
                            f"band {band.name} of {name} is unreachable: every value in it "
                            f"({_values(lo, hi, '')[0]}) is already in band {open_band.name}",
                            band.span,
                            hint="remove the band, or fix the bounds so each value is in one band",
                            related=[(f"band {open_band.name} is here", open_band.span)],
                        )
                    )
                else:
                    out.append(
                        diagnostic(
                            f"{group(lo)} and above are in two bands of {name}: "
                            f"{open_band.name} and {band.name}",
                            band.span,
                            hint="only the last band may be open upwards",
                            related=[(f"band {open_band.name} is here", open_band.span)],
                        )
                    )
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
                if hi is not None and hi <= reach:
                    out.append(
                        diagnostic(
                            f"band {band.name} of {name} is unreachable: every value in it "
                            f"({_values(lo, hi, '')[0]}) is already in band {reach_band.name}",
                            band.span,
                            hint="remove the band, or fix the bounds so each value is in one band",
                            related=[(f"band {reach_band.name} is here", reach_band.span)],
                        )
                    )
                else:
                    words, _verb = _values(lo, reach, "")
                    verb = "is" if lo == reach else "are"
                    out.append(
                        diagnostic(
                            f"{words} {verb} in two bands of {name}: "
                            f"{reach_band.name} and {band.name}",
                            band.span,
                            hint=f"decide which band {words} {'belongs' if lo == reach else 'belong'} "
                            f"to: end {reach_band.name} "
                            f"with `below {literal(lo)}`, or start {band.name} with "
                            f"`above {literal(reach)}`",
                            related=[(f"band {reach_band.name} is here", reach_band.span)],
                        )
                    )
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
    return _analyse_real(decl, ivs, floor)


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


def _analyse_real(
    decl: ast.BandsDecl, ivs: list[Interval], floor: Decimal | None
) -> list[Diagnostic]:
    """Band analysis over decimal values (money, plain numbers).

    Edges are compared as (value, side): a lower edge ``from 5`` starts before
    ``above 5``; an upper edge ``to 5`` ends after ``below 5``.
    """
    out: list[Diagnostic] = []
    name, subject = decl.name, decl.subject.name

    def low(iv: Interval) -> tuple[int, Decimal, int]:
        if iv.lo is None:
            return (0, Decimal(0), 0)  # minus infinity
        return (1, iv.lo, 0 if iv.lo_incl else 1)

    def high(iv: Interval) -> tuple[int, Decimal, int]:
        if iv.hi is None:
            return (2, Decimal(0), 0)  # plus infinity
        return (1, iv.hi, 1 if iv.hi_incl else 0)

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
    live.sort(key=lambda iv: (low(iv), high(iv)))
    prev: Interval | None = None  # the band that reaches furthest so far
    for iv in live:
        if prev is None:
            if iv.lo is not None and floor is not None and (
                iv.lo > floor or (iv.lo == floor and not iv.lo_incl)
            ):
                words = (f"values from {group(floor)} up to {group(iv.lo)}" if iv.lo > floor
                         else f"{group(floor)}")
                verb = "fall" if iv.lo > floor else "falls"
                out.append(
                    diagnostic(
                        f"{words} {verb} in no band of {name}",
                        iv.band.span,
                        hint=f"start band {iv.band.name} with `from {literal(floor)}`",
                    )
                )
            elif iv.lo is not None and floor is None:
                out.append(
                    diagnostic(
                        f"values below {group(iv.lo)} fall in no band of {name}",
                        iv.band.span,
                        hint=f"leave out the lower bound of band {iv.band.name} so it covers "
                        "everything below",
                    )
                )
            prev = iv
            continue
        related = [(f"band {prev.band.name} is here", prev.band.span)]
        if high(iv) <= high(prev) and (iv.lo is None or prev.lo is None or low(iv) >= low(prev)):
            inside = (f" ({group(iv.lo)} to {group(iv.hi)})"
                      if iv.lo is not None and iv.hi is not None else "")
            out.append(
                diagnostic(
                    f"band {iv.band.name} of {name} is unreachable: every value in it{inside} is "
                    f"already in band {prev.band.name}",
                    iv.band.span,
                    hint="remove the band, or fix the bounds so each value is in one band",
                    related=related,
                )
            )
            continue
        if prev.hi is None:  # pragma: no cover - an open band reaches furthest of all
            continue
        h = prev.hi
        if iv.lo is None:
            out.append(
                diagnostic(
                    f"values up to {group(h)} are in two bands of {name}: "
                    f"{prev.band.name} and {iv.band.name}",
                    iv.band.span,
                    hint="only the first band may be open downwards",
                    related=related,
                )
            )
        elif iv.lo > h:
            mid = (h + iv.lo) / 2
            out.append(
                diagnostic(
                    f"values between {group(h)} and {group(iv.lo)} (e.g. {group(mid)}) "
                    f"fall in no band of {name}",
                    iv.band.span,
                    hint=f"{subject} is measured in decimals: end {prev.band.name} with "
                    f"`below {literal(iv.lo)}` and start {iv.band.name} with "
                    f"`from {literal(iv.lo)}`",
                )
            )
        elif iv.lo == h and not prev.hi_incl and not iv.lo_incl:
            out.append(
                diagnostic(
                    f"{group(h)} falls in no band of {name}",
                    iv.band.span,
                    hint=f"use `from {literal(h)}` in {iv.band.name} or `to {literal(h)}` "
                    f"in {prev.band.name}",
                )
            )
        elif iv.lo == h and prev.hi_incl and iv.lo_incl:
            out.append(
                diagnostic(
                    f"{group(h)} is in two bands of {name}: {prev.band.name} and {iv.band.name}",
                    iv.band.span,
                    hint=f"use `above {literal(h)}` in {iv.band.name} or `below {literal(h)}` "
                    f"in {prev.band.name}",
                    related=related,
                )
            )
        elif iv.lo < h:
            top = h if iv.hi is None else min(h, iv.hi)
            out.append(
                diagnostic(
                    f"values from {group(iv.lo)} to {group(top)} are in two bands of {name}: "
                    f"{prev.band.name} and {iv.band.name}",
                    iv.band.span,
                    hint="make each band start where the one before it ends",
                    related=related,
                )
            )
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


# ------------------------------------------------------------------ the checker

#: What a condition operand turns out to be.
Kind = str  # "number", "date", "text", "yes/no", "list", "bands", "year", "bandkey", "unknown"


class _Checker:
    def __init__(self, tariff: ast.Tariff) -> None:
        self.t = tariff
        self.sym = Symbols(tariff)
        self.diags: list[Diagnostic] = []
        self.used: set[str] = set()
        self.currency = tariff.currency
        self._param_units: dict[str, Unit | None] = {}
        self._param_stack: list[str] = []
        self._in_pool = False

    def err(self, message: str, span: Span | None, hint: str | None = None, **kw: object) -> None:
        self.diags.append(diagnostic(message, span, hint=hint, **kw))  # type: ignore[arg-type]

    def warn(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diags.append(diagnostic(message, span, hint=hint, severity="warning"))

    # ------------------------------------------------------------------ driver
    def run(self) -> None:
        self.check_header()
        self.check_names()
        for decl in self.t.inputs:
            self.check_input(decl)
        for lst in self.t.lists:
            self.check_list(lst)
        for cats in self.t.categories:
            self.check_categories(cats)
        for grp in self.t.groups:
            self.check_group(grp)
        for bands in self.t.bands:
            self.check_bands(bands)
        for sl in self.t.slices:
            self.check_slices(sl)
        for formula in self.t.formulas:
            self.check_formula(formula)
        for param in self.t.params:
            sym = self.sym.get(param.name)
            if sym is not None and sym.decl is param:  # a duplicate is reported by check_names
                self.param_unit(param.name)
        for agg in self.t.aggregates:
            self.check_aggregate(agg)
        for pool in self.t.pools:
            self.check_pool(pool)
        for pr in self.t.prorations:
            self.check_proration_decl(pr)
        for charge in self.t.charges:
            self.check_charge(charge)
        for example in self.t.examples:
            self.check_example(example)
        for prop in self.t.properties:
            self.check_property(prop)
        self.check_unused()

    # ------------------------------------------------------------------ header
    def check_header(self) -> None:
        h = self.t.header
        if h is None:
            self.err(
                "this file has no tariff header",
                Span(self.t.file, 1, 1, 1, 2),
                hint='start the file with:  tariff my_tariff "Title"  and a currency line',
            )
            return
        for extra in self.t.extra_headers:
            self.err(
                "a file holds one tariff; this is a second tariff header",
                extra.span,
                hint="split the file in two, one tariff per file",
                related=[("the first header is here", h.span)],
            )
        what = "module" if self.t.is_module else "tariff"
        if h.currency is None:
            self.err(
                f"{what} {h.name} has no currency",
                h.span,
                hint="add a line under the header:  currency DKK  (or NOK, SEK, EUR)",
            )
        elif not _CURRENCY.match(h.currency.name):
            self.err(
                f"{h.currency.name} is not a currency code",
                h.currency.span,
                hint="use a three-letter ISO code in capitals, e.g. DKK or NOK",
            )
        if not h.sources:
            self.warn(
                f"{what} {h.name} cites no source",
                h.span,
                hint='add  source "the document the prices come from"  so every number can be traced',
            )

    # ------------------------------------------------------------------ names
    def check_names(self) -> None:
        for first, again in self.sym.duplicates:
            assert again.decl is not None
            if first.kind == "builtin":
                self.err(
                    f"{again.name} is a customer field every register has; it cannot be declared",
                    again.decl.span,
                    hint=f"use {again.name} directly, or choose another name",
                )
            else:
                assert first.decl is not None
                self.err(
                    f"{again.name} is already declared (as {_article(first.kind)})",
                    again.decl.span,
                    hint="give each input, list, bands, param and charge its own name",
                    related=[(f"{again.name} is first declared here", first.decl.span)],
                )

    def ref(self, name: str, span: Span, what: str) -> str | None:
        """Resolve a name used as ``what``; report it when undefined. Returns its kind."""
        sym = self.sym.get(name)
        if sym is None:
            close = _close_names(name, self.sym.table)
            hint = f"did you mean {close}?" if close else {
                "list": f'declare the list, e.g.  list {name} = "Ballerup", "Brøndby"',
                "value": f"declare it, e.g.  input {name}: inhabitants",
                "date": f"declare it, e.g.  input {name}: date",
            }.get(what, f"declare {name} before using it")
            self.err(f"{name} is not defined", span, hint=hint)
            return None
        self.used.add(name)
        return sym.kind

    def check_unused(self) -> None:
        if self.t.is_module:
            return  # a module offers definitions; its users decide what to use
        kinds = {ast.InputDecl: "input", ast.ListDecl: "list", ast.BandsDecl: "bands",
                 ast.ParamDecl: "param", ast.SettingDecl: "setting", ast.SlicesDecl: "slices",
                 ast.FormulaDecl: "formula", ast.AggregateDecl: "aggregate",
                 ast.PoolDecl: "pool"}
        own = [d for d in (*self.t.inputs, *self.t.lists, *self.t.bands, *self.t.params,
                           *self.t.settings, *self.t.slices, *self.t.formulas,
                           *self.t.aggregates, *self.t.pools)
               if d.span.file == self.t.file]
        for decl in own:
            if decl.name not in self.used and self.sym.get(decl.name) is not None:
                sym = self.sym.get(decl.name)
                if sym is not None and sym.decl is decl:
                    kind = kinds[type(decl)]
                    self.warn(
                        f"{kind} {decl.name} is declared but never used",
                        decl.span,
                        hint="use it in a charge, or remove it",
                    )

    # ------------------------------------------------------------------ inputs and lists
    def check_input(self, decl: ast.InputDecl) -> None:
        if decl.type.kind == "count" and decl.type.counted in ("inhabitant", "inhabitants"):
            self.warn(
                f"input {decl.name}: write the type as `inhabitants`",
                decl.type.span,
                hint="`inhabitants` is the built-in type for a number of inhabitants",
            )

    def check_list(self, lst: ast.ListDecl) -> None:
        seen: dict[str, ast.TextItem] = {}
        for item in lst.items:
            if item.value in seen:
                self.warn(
                    f'"{item.value}" is twice in list {lst.name}',
                    item.span,
                    hint="remove the second one",
                )
            seen[item.value] = item
            if item.value != item.value.strip():
                self.warn(
                    f'"{item.value}" in list {lst.name} has spaces at its start or end',
                    item.span,
                    hint="names are matched exactly; remove the spaces",
                )

    # ------------------------------------------------------------------ bands
    def check_bands(self, decl: ast.BandsDecl) -> None:
        kind = self.ref(decl.subject.name, decl.subject.span, "value")
        seen: dict[str, ast.Band] = {}
        for band in decl.bands:
            if band.name in seen:
                self.err(
                    f"band {band.name} is twice in bands {decl.name}",
                    band.span,
                    hint="give each band its own name",
                    related=[("the first is here", seen[band.name].span)],
                )
            seen[band.name] = band
            if band.lower is None and band.upper is None:  # pragma: no cover - grammar
                self.err(f"band {band.name} has no bounds", band.span)
        if kind is None:
            return
        inp = self.sym.input(decl.subject.name)
        if inp is None or input_unit(inp) is None:
            self.err(
                f"bands {decl.name} are by {decl.subject.name}, which is not a number",
                decl.subject.span,
                hint="bands go by a numeric input: inhabitants, number, money or count of ...",
            )
            return
        unit = input_unit(inp)
        whole = inp.type.kind in ("inhabitants", "count")
        floor = Decimal(0)  # registers refuse negative values for every numeric input
        if whole:
            for band in decl.bands:
                for bound in (band.lower, band.upper):
                    if bound is not None and bound.value != bound.value.to_integral_value():
                        self.err(
                            f"{decl.subject.name} is a whole number of "
                            f"{_things(inp)}; {plain(bound.value)} cannot be a bound",
                            bound.span,
                            hint="use whole numbers for the bounds, e.g. `to 25_000`, "
                            "`from 25_001`",
                        )
                        return
        del unit
        self.diags.extend(analyse_bands(decl, whole, floor))

    # ------------------------------------------------------------------ params and expressions
    def param_unit(self, name: str) -> Unit | None:
        if name in self._param_units:
            return self._param_units[name]
        decl = self.sym.param(name)
        assert decl is not None
        if name in self._param_stack:
            cycle = " -> ".join([*self._param_stack[self._param_stack.index(name) :], name])
            self.err(
                f"param {name} is defined in terms of itself ({cycle})",
                decl.span,
                hint="give one of them a value that does not use the others",
            )
            return None
        self._param_stack.append(name)
        if decl.pending:
            unit = None
        elif decl.dated:
            units = [self.expr_unit(d.value) for d in decl.dated]
            unit = units[0]
            for d, u in zip(decl.dated[1:], units[1:], strict=True):
                if u is not None and unit is not None and u != unit:
                    self.err(f"this value of {name} is {u.describe(self.currency)}, the first is "
                             f"{unit.describe(self.currency)}", d.value.span,
                             hint="every dated value of a param has the same unit")
            for a, b in zip(decl.dated, decl.dated[1:], strict=False):
                if b.start <= a.start:
                    self.err(f"the dates of {name} must increase: {b.start} is not after "
                             f"{a.start}", b.span, hint="list dated values oldest first")
        else:
            unit = self.expr_unit(decl.value)
        self._param_stack.pop()
        self._param_units[name] = unit
        return unit

    def expr_unit(self, expr: ast.Expr, env: dict[str, Unit | None] | None = None) -> Unit | None:
        """The unit of an expression, reporting unit errors. None when unknown.

        ``env`` binds a formula's parameters to the units of the arguments of one call.
        """
        if env is not None and isinstance(expr, ast.Ref) and expr.name in env:
            return env[expr.name]
        if isinstance(expr, ast.Cases):
            return self.cases_unit(expr, env)
        if isinstance(expr, ast.Call):
            return self.call_unit(expr, env)
        if isinstance(expr, ast.Number):
            if expr.percent:
                return PLAIN
            if expr.currency is None:
                return PLAIN
            if expr.currency != self.currency:
                if _CURRENCY.match(expr.currency):
                    self.err(
                        f"this tariff is in {self.currency}, but this amount is in {expr.currency}",
                        expr.span,
                        hint=f"write the amount in {self.currency}",
                    )
                else:
                    self.err(
                        f"{expr.currency} is not a currency; after a number comes the "
                        f"currency ({self.currency})",
                        expr.span,
                        hint=f"e.g. {plain(expr.value)} {self.currency} or "
                        f"{plain(expr.value)} {self.currency} per inhabitant",
                    )
                return None
            if expr.per is not None:
                return MONEY_UNIT * Unit.of(**{singular(expr.per): -1})
            return MONEY_UNIT
        if isinstance(expr, ast.Ref):
            kind = self.ref(expr.name, expr.span, "value")
            if kind is None:
                return None
            if kind == "param":
                param = self.sym.param(expr.name)
                if param is not None and param.pending:
                    if self._param_stack or self._in_pool:
                        self.err(
                            f"{expr.name} is pending (not decided yet) and cannot be used in "
                            "a calculation outside a charge",
                            expr.span,
                            hint="use it directly in a charge's amount: the charge is then "
                            "pending too",
                        )
                    return None  # the charge that uses it is pending; its unit is not known
                return self.param_unit(expr.name)
            if kind in ("setting", "aggregate"):
                return self.numeric_unit(expr.name, expr.span)
            if kind == "pool":
                return MONEY_UNIT  # the customer's share
            if kind == "slices":
                return MONEY_UNIT  # the sum of the slices' amounts
            if kind == "input":
                inp = self.sym.input(expr.name)
                assert inp is not None
                unit = input_unit(inp)
                if unit is None:
                    self.err(
                        f"{expr.name} is {_article(inp.type.kind)} and cannot be used in a "
                        "calculation",
                        expr.span,
                        hint="use it in a condition instead (when ..., except ...)",
                    )
                return unit
            if kind == "charge":
                charge = self.sym.get(expr.name)
                assert charge is not None and isinstance(charge.decl, ast.ChargeDecl)
                if charge.decl.pending:
                    self.err(
                        f"{expr.name} is pending (its amount is not known yet) and cannot be "
                        "used in a calculation",
                        expr.span,
                        hint="leave it out until the amount is decided; a pending amount is "
                        "never counted as zero",
                    )
                else:
                    self.err(
                        f"{expr.name} is a charge; charges cannot be used inside other amounts",
                        expr.span,
                        hint="put the shared part in a param and use it in both charges",
                    )
                return None
            if kind == "builtin" and expr.name == BILLING_YEAR:
                return PLAIN
            self.err(
                f"{expr.name} is {_article(kind)} and cannot be used in a calculation",
                expr.span,
                hint="only numbers, amounts, rates and numeric inputs can be calculated with",
            )
            return None
        if isinstance(expr, ast.BinOp):
            left = self.expr_unit(expr.left, env)
            right = self.expr_unit(expr.right, env)
            if left is None or right is None:
                return None
            if expr.op == "/":
                if _is_zero(expr.right):
                    self.err("division by zero", expr.right.span, hint="divide by something else")
                    return None
                result = left * Unit(tuple((k, -v) for k, v in right.dims))
                if abs(result.exponent(MONEY)) > 1:
                    self.err(
                        "this division gives money squared, which has no meaning",
                        expr.span,
                        hint="divide money by a count or a plain number",
                    )
                    return None
                return result
            if expr.op == "*":
                result = left * right
                if result.exponent(MONEY) > 1:
                    self.err(
                        f"multiplying two amounts of money ({left.describe(self.currency)} × "
                        f"{right.describe(self.currency)}) has no meaning",
                        expr.span,
                        hint=f"one side should be a rate ({self.currency} per inhabitant) or a "
                        "count or plain number",
                    )
                    return None
                return result
            if left != right:
                if _is_zero(expr.left) or _is_zero(expr.right):
                    return right if _is_zero(expr.left) else left
                verb = "add" if expr.op == "+" else "subtract"
                self.err(
                    f"cannot {verb} {left.describe(self.currency)} and "
                    f"{right.describe(self.currency)}",
                    expr.span,
                    hint="both sides of + and - must be in the same unit; "
                    f"multiply a count by a rate (e.g. 1.50 {self.currency} per inhabitant "
                    "* population) to get money",
                )
                return None
            return left
        raise AssertionError(f"unknown expression {expr!r}")  # pragma: no cover

    def numeric_unit(self, name: str, span: Span) -> Unit | None:
        """The unit of a setting or an aggregate (both stand for a number)."""
        setting = self.sym.setting(name)
        if setting is not None:
            unit = _type_unit(setting.type)
            if unit is None:
                self.err(f"setting {name} is {_article(setting.type.kind)} and cannot be used "
                         "in a calculation", span)
            return unit
        agg = self.sym.aggregate(name)
        if agg is not None:
            inp = self.sym.input(agg.of.name)
            return input_unit(inp) if inp is not None else None
        return None

    def call_unit(self, call: ast.Call, env: dict[str, Unit | None] | None) -> Unit | None:
        kind = self.ref(call.name, call.span, "formula")
        if kind is None:
            return None
        formula = self.sym.formula(call.name)
        if formula is None:
            self.err(f"{call.name} is {_article(kind)}, not a formula", call.span,
                     hint="declare it:  formula NAME(a, b) = ...")
            return None
        if len(call.args) != len(formula.params):
            self.err(
                f"formula {call.name} takes {len(formula.params)} value"
                f"{'s' if len(formula.params) != 1 else ''} "
                f"({', '.join(p.name for p in formula.params)}), not {len(call.args)}",
                call.span,
                hint="give one value per parameter, in order",
            )
            return None
        if call.name in self._param_stack:
            self.err(f"formula {call.name} uses itself", call.span,
                     hint="a formula cannot call itself, directly or through another")
            return None
        bound = {p.name: self.expr_unit(a, env) for p, a in zip(formula.params, call.args,
                                                                 strict=True)}
        if any(u is None for u in bound.values()):
            return None
        self._param_stack.append(call.name)
        n = len(self.diags)
        unit = self.expr_unit(formula.body, bound)
        self._param_stack.pop()
        if len(self.diags) > n:
            self.diags.insert(n, diagnostic(
                f"formula {call.name} does not fit the values given here",
                call.span,
                hint="the problem in the formula, for these values, follows",
            ))
        return unit

    def cases_unit(self, cases: ast.Cases, env: dict[str, Unit | None] | None) -> Unit | None:
        self.check_dimension_keys(cases.dim, [c.key for c in cases.cases], cases.span,
                                  allow_others=True)
        units = [(c, self.expr_unit(c.value, env)) for c in cases.cases if c.value is not None]
        known = [(c, u) for c, u in units if u is not None]
        if not known:
            return None
        first_case, first = known[0]
        for c, u in known[1:]:
            if u != first and not (u.is_plain and c.value is not None and _is_zero(c.value)):
                self.err(
                    f"the value for {c.key.name} is {u.describe(self.currency)}, but the value "
                    f"for {first_case.key.name} is {first.describe(self.currency)}",
                    c.value.span if c.value is not None else c.span,
                    hint="every case gives the same kind of value",
                )
        return first

    def check_dimension_keys(
        self, dim: ast.Name, keys: list[ast.Name], span: Span, *, allow_others: bool
    ) -> None:
        """Every value of the dimension is covered by exactly one key (a group covers its
        members; ``others`` covers the rest)."""
        kind = self.ref(dim.name, dim.span, "value")
        if kind is None:
            return
        values = self.sym.dimension_keys(dim.name)
        if values is None:
            self.err(
                f"{dim.name} cannot be a dimension: it is neither bands, a yes/no input, nor a "
                "field with declared categories",
                dim.span,
                hint="declare bands by the input, or `categories customer_type` with its values",
            )
            return
        groups = self.sym.dimension_groups(dim.name)
        covered: dict[str, ast.Name] = {}
        others: ast.Name | None = None
        for key in keys:
            if key.name == "others" and allow_others:
                others = key
                continue
            if key.name in groups:
                self.used.add(key.name)
                members = groups[key.name]
            elif key.name in values:
                members = (key.name,)
            else:
                self.err(
                    f"{key.name} is not a value of {dim.name}",
                    key.span,
                    hint=f"the values of {dim.name} are: {', '.join(values)}"
                    + (f"; groups: {', '.join(groups)}" if groups else ""),
                )
                continue
            for m in members:
                if m in covered:
                    self.err(
                        f"{m} is covered twice: by {covered[m].name} and by {key.name}",
                        key.span,
                        hint="each value of the dimension has one case",
                        related=[(f"{covered[m].name} is here", covered[m].span)],
                    )
                covered[m] = key
        missing = [v for v in values if v not in covered]
        if missing and others is None:
            self.err(
                f"no case for {dim.name} = {', '.join(missing)}",
                span,
                hint=f"add a line for {'each of them' if len(missing) > 1 else 'it'}, or a line "
                "`others ...` (or `others not offered`)",
            )
        elif others is not None and not missing:
            self.warn("`others` covers nothing here: every value has its own case", others.span)

    def check_categories(self, cats: ast.CategoriesDecl) -> None:
        sym = self.sym.get(cats.name)
        is_text = cats.name in BUILTIN_TEXT or (
            sym is not None and sym.kind == "input" and isinstance(sym.decl, ast.InputDecl)
            and sym.decl.type.kind == "text"
        )
        if not is_text:
            self.err(
                f"categories are declared for a text field; {cats.name} is not one",
                cats.span,
                hint="e.g.  categories customer_type  (a field every register has)",
            )
        if self.sym.categories.get(cats.name) is not cats:
            self.err(f"the categories of {cats.name} are declared twice", cats.span)
        self.used.add(cats.name)

    def check_group(self, grp: ast.GroupDecl) -> None:
        owners = set()
        for m in grp.members:
            owner = self.sym.category_of.get(m.name)
            if owner is None:
                close = _close_names(m.name, dict.fromkeys(self.sym.category_of))
                self.err(f"{m.name} is not a declared category", m.span,
                         hint=f"did you mean {close}?" if close else
                         "declare it in a `categories` block")
            else:
                owners.add(owner.name)
                self.used.add(m.name)
        if len(owners) > 1:
            self.err(f"group {grp.name} mixes categories of {', '.join(sorted(owners))}",
                     grp.span, hint="a group holds values of one field")

    def check_slices(self, decl: ast.SlicesDecl) -> None:
        kind = self.ref(decl.subject.name, decl.subject.span, "value")
        if kind is None:
            return
        inp = self.sym.input(decl.subject.name)
        unit = input_unit(inp) if inp is not None else None
        if inp is None or unit is None:
            self.err(f"slices {decl.name} are by {decl.subject.name}, which is not a number",
                     decl.subject.span, hint="slices go by a numeric input, e.g. population")
            return
        for sl in decl.slices:
            rate = self.expr_unit(sl.rate)
            if rate is not None and not (rate * unit).is_money:
                self.err(
                    f"the rate of slice {sl.name} is {rate.describe(self.currency)}; "
                    f"times {decl.subject.name} it must give an amount in {self.currency}",
                    sl.rate.span,
                    hint=f"e.g. at 1.50 {self.currency} per "
                    f"{singular(inp.type.counted or 'inhabitant')}",
                )
        whole = inp.type.kind in ("inhabitants", "count")
        fake = ast.BandsDecl(name=decl.name, label=decl.label, subject=decl.subject,
                             bands=decl.slices, span=decl.span)
        self.diags.extend(_as_slices(d) for d in analyse_bands(fake, whole, Decimal(0)))

    def check_formula(self, formula: ast.FormulaDecl) -> None:
        seen: set[str] = set()
        for p in formula.params:
            if p.name in seen:
                self.err(f"parameter {p.name} is named twice", p.span)
            seen.add(p.name)
            if self.sym.get(p.name) is not None and p.name not in BUILTINS:
                self.warn(f"parameter {p.name} hides the declaration of the same name inside "
                          f"formula {formula.name}", p.span, hint="rename the parameter")

    def numeric_input(self, name: ast.Name, what: str, hint: str) -> None:
        """Report ``name`` unless it is a numeric input (what counts, sums or shares)."""
        if self.ref(name.name, name.span, "value") is None:
            return
        inp = self.sym.input(name.name)
        if inp is None or input_unit(inp) is None:
            self.err(f"{what} {name.name}, which is not a numeric input", name.span, hint=hint)

    def check_aggregate(self, agg: ast.AggregateDecl) -> None:
        self.numeric_input(agg.of, f"aggregate {agg.name} is over",
                           "e.g.  aggregate largest = max of population")
        if agg.among is not None:
            self.check_cond(agg.among)

    def check_pool(self, pool: ast.PoolDecl) -> None:
        self._in_pool = True
        self.money_expr(pool.total, f"the total of pool {pool.name}")
        self._in_pool = False
        for name in _refs(pool.total):
            if self.sym.kind(name) == "input":
                self.err(
                    f"the total of pool {pool.name} uses {name}, which differs per customer",
                    pool.total.span,
                    hint="a pool's total is one amount for everyone: use settings, params "
                    "and aggregates",
                )
        self.numeric_input(pool.key, f"pool {pool.name} is shared by",
                           "share by a count, e.g. population")
        if pool.among is not None:
            self.check_cond(pool.among)

    def check_proration_decl(self, pr: ast.ProrationDecl) -> None:
        if pr.period is None:
            self.check_fraction(pr.numerator, pr.denominator, pr.span)

    def check_fraction(self, num: Decimal, den: Decimal, span: Span) -> None:
        if den == 0:
            self.err("a fraction cannot divide by zero", span, hint="e.g. prorate 1/4 when ...")
            return
        frac = Fraction(num) / Fraction(den)
        if not 0 <= frac <= 1:
            self.err(
                f"prorating by {plain(num)}/{plain(den)} is not a part of the year's amount",
                span,
                hint="a proration is a fraction from 0 to 1, e.g. 1/4 or 25 %",
            )

    def money_expr(self, expr: ast.Expr, what: str) -> None:
        unit = self.expr_unit(expr)
        if unit is None or unit.is_money:
            return
        if unit.is_plain and _is_zero(expr):
            return
        if unit.is_plain and isinstance(expr, ast.Number):
            self.err(
                f"{literal(expr.value)} has no currency; {what} must be an amount in "
                f"{self.currency}",
                expr.span,
                hint=f"write {literal(expr.value)} {self.currency}",
            )
            return
        self.err(
            f"{what} is {unit.describe(self.currency)}, not an amount in {self.currency}",
            expr.span,
            hint=f"multiply by a price, e.g. 1.50 {self.currency} per inhabitant * population",
        )

    # ------------------------------------------------------------------ conditions
    def operand_kind(
        self, op: ast.Operand, ctx_bands: str | None = None, what: str = "value"
    ) -> Kind:
        if op.kind != "name":
            return "number" if op.kind == "number" else op.kind
        name = str(op.value)
        if ctx_bands is not None:
            keys = self.sym.dimension_keys(ctx_bands) or ()
            if name in keys:
                return "bandkey"
        kind = self.ref(name, op.span, what)
        if kind is None:
            return "unknown"
        if kind == "input":
            inp = self.sym.input(name)
            assert inp is not None
            return value_kind(inp)
        if kind == "builtin":
            return "year" if name == BILLING_YEAR else "text"
        if kind == "param":
            self.param_unit(name)
            return "number"
        if kind in ("setting", "aggregate"):
            setting = self.sym.setting(name)
            if setting is not None and _type_unit(setting.type) is None:
                return setting.type.kind
            return "number"
        if kind == "category":
            return "category"
        if kind == "group":
            return "group"
        if kind == "charge":
            self.err(
                f"{name} is a charge and cannot be used in a condition",
                op.span,
                hint="conditions test inputs, lists, bands and the billing year",
            )
            return "unknown"
        return kind  # list, bands

    def check_cond(self, cond: ast.Cond) -> None:
        if isinstance(cond, ast.BoolOp):
            self.check_cond(cond.left)
            self.check_cond(cond.right)
        elif isinstance(cond, ast.Not):
            self.check_cond(cond.operand)
        elif isinstance(cond, ast.Truthy):
            kind = self.operand_kind(cond.operand)
            if kind not in ("yes/no", "unknown"):
                self.err(
                    f"{_operand_text(cond.operand)} is {_article(kind)}, not yes/no; "
                    "a condition needs a test",
                    cond.span,
                    hint="compare it, e.g. `population >= 10_000`, or test a list with `in`",
                )
        elif isinstance(cond, ast.In):
            item = self.operand_kind(cond.item)
            box = self.operand_kind(cond.container, what="list")
            if "unknown" in (item, box):
                return
            if box == "group":
                if item != "text":
                    self.err(f"only a text field can be in group {cond.container.value}",
                             cond.item.span, hint="e.g. customer_type in municipal")
            elif box == "list":
                if item != "text":
                    self.err(
                        f"only text can be looked up in list {cond.container.value}; "
                        f"{_operand_text(cond.item)} is {_article(item)}",
                        cond.item.span,
                        hint="test a text such as name, id or customer_type against a list",
                    )
            elif box in ("number", "year"):
                if item != "date":
                    self.err(
                        f"`in {_operand_text(cond.container)}` tests a date's year, but "
                        f"{_operand_text(cond.item)} is {_article(item)}",
                        cond.span,
                        hint="write e.g. `joined in 2023`, where joined is a date",
                    )
                elif cond.container.kind == "number":
                    year = cond.container.value
                    assert isinstance(year, Decimal)
                    if year != year.to_integral_value() or not 1900 <= year <= 2200:
                        self.err(
                            f"{plain(year)} is not a year",
                            cond.container.span,
                            hint="write a year such as 2023",
                        )
            else:
                self.err(
                    f"{_operand_text(cond.container)} is {_article(box)}; "
                    "`in` needs a list or a year",
                    cond.container.span,
                    hint="e.g. `name in crowdfunding_2022` or `joined in 2023`",
                )
        elif isinstance(cond, ast.Compare):
            self.check_compare(cond)
        else:  # pragma: no cover
            raise AssertionError(cond)

    def check_compare(self, cond: ast.Compare) -> None:
        left_bands = _name_of(cond.left) if self.sym.kind(_name_of(cond.left) or "") == "bands" \
            else None
        left = self.operand_kind(cond.left)
        if left_bands is not None and cond.right.kind == "name":
            keys = self.sym.dimension_keys(left_bands) or ()
            if str(cond.right.value) not in keys:
                self.err(
                    f"{cond.right.value} is not a band of {left_bands}",
                    cond.right.span,
                    hint=f"the bands of {left_bands} are: {', '.join(keys)}",
                )
                return
        right = self.operand_kind(cond.right, ctx_bands=left_bands)
        if "unknown" in (left, right):
            return
        if left == "bands":
            if right != "bandkey":
                keys = ", ".join(self.sym.dimension_keys(left_bands or "") or ())
                self.err(
                    f"{_operand_text(cond.right)} is not a band of {left_bands}",
                    cond.right.span,
                    hint=f"the bands of {left_bands} are: {keys}",
                )
            elif cond.op not in ("=", "!="):
                self.err(
                    "bands are compared with = or !=",
                    cond.span,
                    hint=f"e.g. `{left_bands} = {cond.right.value}`",
                )
            return
        numeric = {"number", "year"}
        if left in numeric and right in numeric:
            self.check_compare_units(cond)
            return
        if {left, right} == {"text", "category"}:
            return
        if left == right and left in ("date", "text", "yes/no"):
            if left in ("text", "yes/no") and cond.op not in ("=", "!="):
                self.err(f"{_article(left)} is compared with = or !=", cond.span)
            return
        self.err(
            f"cannot compare {_operand_text(cond.left)} ({_article(left)}) with "
            f"{_operand_text(cond.right)} ({_article(right)})",
            cond.span,
            hint="compare like with like: a number with a number, a date with a date",
        )

    def check_compare_units(self, cond: ast.Compare) -> None:
        units = []
        for op in (cond.left, cond.right):
            if op.kind == "number":
                units.append(None)  # a literal adapts to the other side
            elif op.kind == "name":
                name = str(op.value)
                inp = self.sym.input(name)
                if inp is not None:
                    units.append(input_unit(inp))
                elif self.sym.param(name) is not None:
                    units.append(self.param_unit(name))
                else:
                    units.append(PLAIN)
        a, b = units
        if a is not None and b is not None and a != b:
            self.err(
                f"cannot compare {a.describe(self.currency)} with {b.describe(self.currency)}",
                cond.span,
                hint="compare values of the same unit",
            )

    # ------------------------------------------------------------------ charges
    def check_charge(self, charge: ast.ChargeDecl) -> None:
        if charge.name == "total":
            self.err(
                "a charge cannot be called total",
                charge.span,
                hint="`total` means the sum of all charges in examples and reports; "
                "choose another name",
            )
        self.check_frequency(charge)
        if charge.pending:
            return
        if not charge.bodies:
            self.err(
                f"charge {charge.name} has no amount",
                charge.span,
                hint="add a line `table by ...` or `amount ...`, or declare it "
                f"`pending {charge.name}` if the amount is not known yet",
            )
        for extra in charge.bodies[1:]:
            self.err(
                f"charge {charge.name} has more than one amount",
                extra.span,
                hint="a charge has one `table` or one `amount`; split it into two charges",
            )
        for extra_r in charge.roundings[1:]:
            self.err(
                f"charge {charge.name} is rounded twice",
                extra_r.span,
                hint="keep one `round to ...` line",
            )
        if isinstance(charge.body, ast.Table):
            self.check_table(charge.body)
        elif isinstance(charge.body, ast.Expr):
            self.money_expr(charge.body, f"the amount of {charge.name}")
        if charge.rounding is not None and charge.rounding.policy is not None:
            pol = charge.rounding.policy
            kind = self.ref(pol.name, pol.span, "rounding")
            if kind is not None and kind != "rounding":
                self.err(f"{pol.name} is {_article(kind)}, not a rounding", pol.span,
                         hint="declare it:  rounding NAME = to øre half up")
        for pr in charge.prorations:
            self.check_prorate(pr, charge)
        for ex in charge.exceptions:
            self.check_cond(ex.condition)
            self.money_expr(ex.result, f"the result of this exception to {charge.name}")
        self.check_conflicts(charge)

    def check_frequency(self, charge: ast.ChargeDecl) -> None:
        anchor = charge.frequency.anchor
        if anchor is None:
            return
        kind = self.ref(anchor.name, anchor.span, "date")
        if kind is None:
            return
        inp = self.sym.input(anchor.name)
        if inp is None or inp.type.kind != "date":
            self.err(
                f"{anchor.name} is not a date input, so it cannot say when "
                f"{charge.name} is charged",
                anchor.span,
                hint="name a date input here, e.g. `once when joined` with  input joined: date",
            )

    def check_prorate(self, pr: ast.Prorate, charge: ast.ChargeDecl) -> None:
        period = pr.period
        if pr.policy is not None:
            kind = self.ref(pr.policy.name, pr.policy.span, "proration")
            decl = self.sym.proration(pr.policy.name)
            if kind is not None and decl is None:
                self.err(f"{pr.policy.name} is {_article(kind)}, not a proration",
                         pr.policy.span, hint="declare it:  proration NAME = by months")
                return
            if decl is None:
                return
            period = decl.period
            if period is not None and pr.anchor is None:
                self.err(f"proration {decl.name} goes by {period}; say from which date",
                         pr.span, hint=f"write  prorate with {decl.name} from joined")
            if period is None and pr.condition is None:
                self.err(f"proration {decl.name} is a fixed fraction; say when it applies",
                         pr.span, hint=f"write  prorate with {decl.name} when ...")
        elif period is None:
            self.check_fraction(pr.numerator, pr.denominator, pr.span)
        if pr.condition is not None:
            self.check_cond(pr.condition)
        if pr.anchor is not None:
            kind = self.ref(pr.anchor.name, pr.anchor.span, "date")
            inp = self.sym.input(pr.anchor.name)
            if kind is not None and (inp is None or inp.type.kind != "date"):
                self.err(f"{pr.anchor.name} is not a date input", pr.anchor.span,
                         hint="prorate by months or days from a date, e.g. from joined")

    def check_table(self, table: ast.Table) -> None:
        dims_keys: list[tuple[str, ...]] = []
        for dim in table.dims:
            kind = self.ref(dim.name, dim.span, "value")
            if kind is None:
                return
            keys = self.sym.dimension_keys(dim.name)
            if keys is None:
                self.err(
                    f"a table cannot go by {dim.name}: it is neither bands nor a yes/no input",
                    dim.span,
                    hint="declare bands by the input (bands size by population) and use "
                    "`table by size`",
                )
                return
            dims_keys.append(keys)
        row_dim = table.dims[0].name
        col_keys = dims_keys[1] if len(dims_keys) == 2 else None
        width = len(table.columns) if col_keys is not None else 1
        if col_keys is not None:
            col_dim = table.dims[1].name
            seen_cols: set[str] = set()
            for col in table.columns:
                if col.name not in col_keys:
                    self.err(
                        f"{col.name} is not a value of {col_dim}",
                        col.span,
                        hint=f"the columns of this table are the values of {col_dim}: "
                        + ", ".join(col_keys),
                    )
                elif col.name in seen_cols:
                    self.err(f"column {col.name} is twice in this table", col.span)
                seen_cols.add(col.name)
            for key in col_keys:
                if key not in seen_cols:
                    self.err(
                        f"this table has no column for {col_dim} = {key}",
                        table.span,
                        hint=f"add {key} to the column line and an amount for it in every row",
                    )
        seen_rows: dict[str, ast.TableRow] = {}
        for row in table.rows:
            if row.key.name not in dims_keys[0]:
                self.err(
                    f"{row.key.name} is not a value of {row_dim}",
                    row.key.span,
                    hint=f"the rows of this table are: {', '.join(dims_keys[0])}",
                )
            elif row.key.name in seen_rows:
                self.err(
                    f"row {row.key.name} is twice in this table",
                    row.key.span,
                    hint="keep one row per value",
                    related=[("the first is here", seen_rows[row.key.name].span)],
                )
            seen_rows[row.key.name] = row
            if len(row.cells) != width:
                cols = f" ({', '.join(c.name for c in table.columns)})" if col_keys else ""
                self.err(
                    f"row {row.key.name} has {len(row.cells)} amount"
                    f"{'s' if len(row.cells) != 1 else ''}, but the table has {width} "
                    f"column{'s' if width != 1 else ''}{cols}",
                    row.span,
                    hint="give one amount per column; a cell cannot be left empty",
                )
        for key in dims_keys[0]:
            if key not in seen_rows:
                self.err(
                    f"this table has no row for {row_dim} = {key}",
                    table.span,
                    hint=f"add a row:  {key}  " + "  ".join(["<amount>"] * width),
                )

    def check_conflicts(self, charge: ast.ChargeDecl) -> None:
        exs = charge.exceptions
        for i, a in enumerate(exs):
            for b in exs[i + 1 :]:
                if a.priority is not None and b.priority is not None and a.priority != b.priority:
                    continue
                if _same_result(a.result, b.result):
                    continue
                if _disjoint(a.condition, b.condition, self.sym):
                    continue
                self.err(
                    f"these two exceptions to {charge.name} can apply to the same customer "
                    "with different results",
                    b.span,
                    hint="make the conditions exclusive (add `and not ...`), give both the same "
                    "result, or say which wins with `priority N` on each (higher wins)",
                    related=[("the other exception is here", a.span)],
                )

    # ------------------------------------------------------------------ properties
    def check_property(self, prop: ast.PropertyDecl) -> None:
        subject = prop.subject
        if prop.kind == "pool_adds_up":
            if self.sym.pool(subject.name) is None:
                self.ref(subject.name, subject.span, "pool")
                if self.sym.get(subject.name) is not None:
                    self.err(f"{subject.name} is not a pool", subject.span)
            else:
                self.used.add(subject.name)
            return
        charge = self.sym.get(subject.name)
        if charge is None or charge.kind != "charge":
            close = _close_names(subject.name, {c.name: None for c in self.t.charges})
            self.err(f"{subject.name} is not a charge of this tariff", subject.span,
                     hint=f"did you mean {close}?" if close else
                     "a property is about one of the tariff's charges")
            return
        assert isinstance(charge.decl, ast.ChargeDecl)
        if charge.decl.pending:
            self.err(f"{subject.name} is pending: there is no amount to check", subject.span)
        if prop.kind in ("non_decreasing", "non_increasing"):
            assert prop.input is not None
            kind = self.ref(prop.input.name, prop.input.span, "value")
            inp = self.sym.input(prop.input.name)
            if kind is not None and (inp is None or input_unit(inp) is None):
                self.err(f"{prop.input.name} is not a numeric input, so it cannot grow",
                         prop.input.span, hint="name an input such as population")
        if prop.kind == "bounded" and prop.low is not None and prop.high is not None \
                and prop.low > prop.high:
            self.err(f"the bounds are the wrong way round: {literal(prop.low)} is above "
                     f"{literal(prop.high)}", prop.span)
        if prop.kind == "exceptions_lower" and not charge.decl.exceptions:
            self.warn(f"{subject.name} has no exceptions, so this property is always true",
                      prop.span)

    # ------------------------------------------------------------------ examples
    def check_example(self, ex: ast.Example) -> None:
        inputs = self.sym.inputs()
        given: dict[str, ast.Given] = {}
        for g in ex.given:
            if g.name in given:
                self.err(f"{g.name} is given twice in this example", g.span)
            given[g.name] = g
            if g.name in BUILTIN_TEXT:
                if g.kind != "text":
                    self.err(f'{g.name} is text; write it in double quotes ("...")', g.span)
                continue
            inp = inputs.get(g.name)
            if inp is None and self.sym.setting(g.name) is not None:
                setting = self.sym.setting(g.name)
                assert setting is not None
                inp = ast.InputDecl(setting.name, setting.label, setting.type, span=setting.span)
            if inp is None and self.sym.aggregate(g.name) is not None and ex.register is None:
                continue  # an aggregate given by hand (there is no register to compute it)
            if inp is None:
                close = _close_names(g.name, inputs)
                self.err(
                    f"{g.name} is not an input of this tariff",
                    g.span,
                    hint=f"did you mean {close}?" if close else
                    "the inputs are: " + ", ".join(inputs),
                )
                continue
            want = value_kind(inp)
            if want != g.kind:
                self.err(
                    f"{g.name} is {_article(want)}, but the example gives {_article(g.kind)}",
                    g.span,
                    hint=_value_hint(inp),
                )
            elif inp.type.kind in ("inhabitants", "count"):
                assert isinstance(g.value, Decimal)
                if g.value != g.value.to_integral_value() or g.value < 0:
                    self.err(
                        f"{g.name} is a whole number of {_things(inp)}, not {plain(g.value)}",
                        g.span,
                    )
        if ex.register is not None:
            for g in ex.given:
                if g.name in inputs or g.name in BUILTIN_TEXT:
                    self.err(
                        f"{g.name} comes from the register in this example; it cannot be given",
                        g.span,
                        hint="an example over a register gives only settings; to try one "
                        "customer's values, write an example without the register line",
                    )
            missing = [s_.name for s_ in self.t.settings if s_.name not in given]
        else:
            missing = [n for n, d in inputs.items() if n not in given and not d.optional]
            missing += [s_.name for s_ in self.t.settings if s_.name not in given]
        if missing:
            self.err(
                f"example \"{ex.title}\" does not give "
                + ", ".join(missing),
                ex.span,
                hint=f"add {'them' if len(missing) > 1 else 'it'} to the given line, e.g. "
                + ", ".join(
                    f"{n} {_sample_value(inputs[n]) if n in inputs else '1_000'}" for n in missing
                ),
            )
        charges = {c.name for c in self.t.charges}
        seen_keys: set[tuple[str | None, str, str | None]] = set()
        for e in ex.expects:
            key = (e.customer, e.kind, e.charge)
            if key in seen_keys:
                self.err(f"{e.charge or 'total'} is expected twice in this example", e.span)
            seen_keys.add(key)
            if e.customer is not None and ex.register is None:
                self.err("`expect for ...` names a customer of a register, but this example has "
                         "none", e.span, hint='add a line  register "path/to/register.csv"')
            if e.kind in ("pool", "rate"):
                if self.sym.pool(e.charge or "") is None:
                    self.err(f"{e.charge} is not a pool of this tariff", e.span)
                elif ex.register is None:
                    self.err("a pool is computed over a register; this example has none",
                             e.span, hint='add a line  register "path/to/register.csv"')
                continue
            if e.charge is not None and e.charge not in charges:
                close = _close_names(e.charge, {c: None for c in charges})
                self.err(
                    f"{e.charge} is not a charge of this tariff",
                    e.span,
                    hint=f"did you mean {close}?" if close else
                    "the charges are: " + ", ".join(sorted(charges)),
                )


# ------------------------------------------------------------------ helpers


def _article(kind: str) -> str:
    return {
        "input": "an input",
        "list": "a list",
        "bands": "bands",
        "param": "a param",
        "charge": "a charge",
        "builtin": "a customer field",
        "number": "a number",
        "date": "a date",
        "text": "text",
        "yes/no": "yes/no",
        "year": "a year",
        "bandkey": "a band",
        "inhabitants": "a number of inhabitants",
        "count": "a count",
        "money": "an amount",
        "setting": "a setting",
        "category": "a category",
        "group": "a group",
        "slices": "slices",
        "formula": "a formula",
        "aggregate": "an aggregate",
        "pool": "a pool",
        "proration": "a proration",
        "rounding": "a rounding",
    }.get(kind, kind)


def _things(inp: ast.InputDecl) -> str:
    return "inhabitants" if inp.type.kind == "inhabitants" else (inp.type.counted or "things")


def _value_hint(inp: ast.InputDecl) -> str:
    return f"e.g. {inp.name} {_sample_value(inp)}"


def _sample_value(inp: ast.InputDecl) -> str:
    return {
        "inhabitants": "41_000",
        "yes/no": "yes",
        "date": "2024-01-01",
        "text": '"text"',
        "number": "1",
        "money": "1_000",
        "count": "100",
    }[inp.type.kind]


def _operand_text(op: ast.Operand) -> str:
    if op.kind == "text":
        return f'"{op.value}"'
    if op.kind == "yes/no":
        return "yes" if op.value else "no"
    if op.kind == "number":
        assert isinstance(op.value, Decimal)
        return plain(op.value)
    return str(op.value)


def _name_of(op: ast.Operand) -> str | None:
    return str(op.value) if op.kind == "name" else None


def _is_zero(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Number) and expr.value == 0 and not expr.per


def _type_unit(t: ast.InputType) -> Unit | None:
    return input_unit(ast.InputDecl("_", None, t, span=t.span))


def _refs(expr: ast.Expr) -> set[str]:
    """Every name an expression refers to (not looking into params)."""
    if isinstance(expr, ast.Ref):
        return {expr.name}
    if isinstance(expr, ast.BinOp):
        return _refs(expr.left) | _refs(expr.right)
    if isinstance(expr, ast.Call):
        return set().union(*(_refs(a) for a in expr.args)) if expr.args else set()
    if isinstance(expr, ast.Cases):
        return {expr.dim.name}.union(*(_refs(c.value) for c in expr.cases if c.value))
    return set()


def _same_result(a: ast.Expr, b: ast.Expr) -> bool:
    if _is_zero(a) and _is_zero(b):
        return True
    return a == b  # spans are not part of equality


def _close_names(name: str, table: dict[str, object] | object) -> str | None:
    import difflib

    names = list(table) if isinstance(table, dict) else []
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.75)  # float-ok: name likeness
    return match[0] if match else None


# ------------------------------------------------------------------ exclusivity of conditions


def _atoms(cond: ast.Cond) -> Iterator[ast.Cond] | None:
    """The conjuncts of an ``and`` chain, or None when the condition has an ``or``."""
    if isinstance(cond, ast.BoolOp):
        if cond.op == "or":
            return None
        left = _atoms(cond.left)
        right = _atoms(cond.right)
        if left is None or right is None:
            return None
        return iter([*left, *right])
    return iter([cond])


def _disjoint(a: ast.Cond, b: ast.Cond, sym: Symbols) -> bool:
    """True when no customer can meet both conditions (a safe approximation:
    False means 'may overlap')."""
    atoms_a = _atoms(a)
    atoms_b = _atoms(b)
    if atoms_a is None or atoms_b is None:
        return False
    la, lb = list(atoms_a), list(atoms_b)
    return any(_atoms_exclusive(x, y, sym) for x in la for y in lb)


def _literal(cond: ast.Cond) -> tuple[str, str, object] | None:
    """Normalise an atom to (subject, relation, value) for exclusivity tests."""
    negated = False
    while isinstance(cond, ast.Not):
        negated = not negated
        cond = cond.operand
    if isinstance(cond, ast.Truthy) and cond.operand.kind == "name":
        return (str(cond.operand.value), "is", not negated)
    if isinstance(cond, ast.In) and cond.item.kind == "name":
        neg = cond.negated != negated
        c = cond.container
        if c.kind == "number":
            return (str(cond.item.value), "notyear" if neg else "year", c.value)
        if c.kind == "name":
            return (str(cond.item.value), "notin" if neg else "in", str(c.value))
    if isinstance(cond, ast.Compare) and cond.left.kind == "name" and cond.op in ("=", "!="):
        eq = (cond.op == "=") != negated
        if cond.right.kind == "yes/no":  # `m = no` is the same test as `not m`
            return (str(cond.left.value), "is", bool(cond.right.value) == eq)
        return (str(cond.left.value), "eq" if eq else "ne", (cond.right.kind, cond.right.value))
    return None


def _as_slices(d: Diagnostic) -> Diagnostic:
    """A band diagnostic reworded for slices (the same analysis serves both)."""
    def words(text: str) -> str:
        return (text.replace("in no band of", "in no slice of")
                .replace("in two bands of", "in two slices of").replace("band ", "slice ")
                .replace("bands", "slices"))
    return attrs.evolve(d, message=words(d.message), hint=words(d.hint) if d.hint else None,
                        related=tuple((words(label), span) for label, span in d.related))


def _members(sym: Symbols, name: str) -> set[str] | None:
    """The texts a list or a group holds."""
    lst = sym.list_(name)
    if lst is not None:
        return {i.value for i in lst.items}
    if sym.group(name) is not None:
        return set(sym.group_members(name))
    return None


def _atoms_exclusive(x: ast.Cond, y: ast.Cond, sym: Symbols) -> bool:
    a, b = _literal(x), _literal(y)
    if a is None or b is None or a[0] != b[0]:
        return False
    (_, ra, va), (_, rb, vb) = a, b
    if ra == "is" and rb == "is":
        return va != vb
    if {ra, rb} == {"in", "notin"}:
        return va == vb
    if ra == "in" and rb == "in":
        sa, sb = _members(sym, str(va)), _members(sym, str(vb))
        if sa is None or sb is None:
            return False
        return not (sa & sb)
    if {ra, rb} == {"in", "eq"}:  # customer_type in a group / = a category
        box, single = (va, vb) if ra == "in" else (vb, va)
        members = _members(sym, str(box))
        if members is None or not isinstance(single, tuple) or single[0] != "name":
            return False
        return sym.kind(str(single[1])) == "category" and str(single[1]) not in members
    if ra == "year" and rb == "year":
        return va != vb
    if {ra, rb} == {"year", "notyear"}:
        return va == vb
    if ra in ("eq", "ne") and rb in ("eq", "ne"):
        # only literals and band names are known values; a param's value is not
        literal_sides = all(
            v[0] != "name" or sym.bands(a[0]) is not None  # type: ignore[index]
            or sym.kind(str(v[1])) == "category"  # type: ignore[index]
            for v in (va, vb)
        )
        if not literal_sides:
            return False
        if ra == "eq" and rb == "eq":
            return va != vb
        if {ra, rb} == {"eq", "ne"}:
            return va == vb
    return False
