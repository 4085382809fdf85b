"""Comparing two versions of a price model over one register (seed 004, "6: Effekten").

Every customer of the register is billed under the old and the new tariff; the
result is, per customer, the old and new totals and the change in kroner and
in percent, and the two *effect tables* of seed 004: how many customers of each
customer type fall in each band of change, in percent and in kroner.

Policy, stated once here (the CLI help and ``takst compare --help`` repeat it):

* **Amounts are exact.** Totals are the evaluator's exact ``Decimal`` totals;
  the change is ``new - old``, computed exactly.
* **Pending amounts are left out.** Only known amounts are compared (the same
  rule as a report's total); a customer with a pending amount in either
  version is flagged (``pending_old`` / ``pending_new``; ``+`` in the table).
* **Percent** is ``change / |old| × 100``, kept exact (a ``Fraction``). It is
  *shown* rounded half up (away from zero on a tie) to whole percent in the
  table, as in seed 004, and to two decimals in JSON and CSV (JSON also has
  ``percent_exact``: the exact decimal, or a fraction such as ``100/3``). Bands
  are chosen on the exact value, never on the rounded one, so the two tables
  always agree on who had a reduction; a row shown as "29 %" can therefore be
  in "Noe over snittet" (29.4 %): the row says its band.
* **Old total 0.** With an old total of 0 and a new total above (or below) 0
  there is no percent: it is ``n/a`` (JSON ``null``) and the customer is
  counted on a separate line of the percent table, ``Nye kunder (før: 0)``
  (new customers), shown only when there is one (JSON always lists it); the
  kroner table counts it as usual. A customer with 0 in both
  versions has no change at all: its change is 0 % (not ``n/a``).
* **Band boundaries.** Bands are given by increasing bounds ``b0 < b1 < ...``
  (the seed's: percent 0, 29, 60, 100; kroner 0, 40 000, 100 000, 250 000).
  The first band is *below* ``b0`` (a reduction is a change below 0); the
  second runs *from* ``b0`` up to and including ``b1`` (a change of exactly 0
  is no reduction); every later band starts *just above* the previous bound and
  includes its own upper bound; the last band is everything above the last
  bound. This is the seed's kroner table read literally: "0 – 40 000",
  "40 001 – 100 000". So exactly 0 % is "Opp til snittet", exactly 29 % is
  "Opp til snittet" and 29.01 % is "Noe over snittet"; exactly 40 000 kr is
  "Opp til snittet" and 40 000.01 kr is "Noe over snittet".
* **Columns** are the seed's six customer types, always, in the seed's order;
  a type in the register that is not one of them gets its own column after
  them (in order of first appearance); an empty type is the column ``(none)``.
* **Other bands** (``--percent-bands`` / ``--kroner-bands``, :func:`parse_bands`):
  upper bounds, lowest first, each optionally ``NAME:BOUND``, and a last bare
  ``NAME`` for the open top band: ``"0,40000,100000,250000"`` (the default),
  ``"Ned:0,Litt:1000,Mye"``. The boundary rule above holds for any bounds.
"""

from __future__ import annotations

import csv
import decimal
import io
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import attrs

from takst.dsl import ast
from takst.dsl.errors import CheckError, diagnostic
from takst.dsl.numbers import exact_sum, group, money_group, money_text, plain
from takst.interpreter.evaluator import (
    EXACT,
    Customer,
    Evaluator,
    fraction_to_decimal,
    round_fraction,
)
from takst.interpreter.model import Value

if TYPE_CHECKING:
    from takst.compare.review import Review
    from takst.render.locale import Numbers

BandKind = Literal["percent", "kroner"]

#: The seed's band names, lowest band first (seed 004, "6: Effekten").
DEFAULT_NAMES = (
    "Kostnadsreduksjon",
    "Opp til snittet",
    "Noe over snittet",
    "Over snittet",
    "Stor økning",
)
DEFAULT_PERCENT_BOUNDS = (Decimal(0), Decimal(29), Decimal(60), Decimal(100))
DEFAULT_KRONER_BOUNDS = (Decimal(0), Decimal(40_000), Decimal(100_000), Decimal(250_000))
#: The seed's columns, in its order. They are always shown, also when empty.
DEFAULT_TYPES = (
    "KOMMUNE",
    "FYLKESKOMMUNE",
    "STATLIG_VIRKSOMHET",
    "KOMMUNAL_VIRKSOMHET",
    "KOMMUNAL_VIRKSOMHET_IKS",
    "PRIVAT_VIRKSOMHET",
)
#: The column of customers whose ``customer_type`` is empty or missing.
NO_TYPE = "(none)"
#: The percent table's extra line: old total 0, so no percent.
NEW_CUSTOMERS = "Nye kunder (før: 0)"
#: Places of the percent in JSON and CSV (rounded half up); the table shows whole percent.
PERCENT_PLACES = Decimal("0.01")
ROUNDING_NOTE = (
    "percent_exact = change / |old total| × 100, exact (a fraction when its decimals do "
    "not end); percent = that, rounded half up to 2 decimals (the table: to whole percent); "
    "null when the old total is 0 and the new is not; bands use the exact value"
)
BOUNDARY_NOTE = (
    "the first band is below its bound; the second includes both its bounds; "
    "every later band starts just above the bound before it and includes its own"
)


# ------------------------------------------------------------------ bands


@attrs.frozen
class Band:
    """One band of change: the values between ``lower`` and ``upper`` (None: no limit),
    each bound itself in the band when it is ``_included``."""

    name: str
    lower: Decimal | None
    lower_included: bool
    upper: Decimal | None
    upper_included: bool

    def contains(self, x: Fraction) -> bool:
        if self.lower is not None:
            lo = Fraction(self.lower)
            if x < lo or (x == lo and not self.lower_included):
                return False
        if self.upper is not None:
            hi = Fraction(self.upper)
            if x > hi or (x == hi and not self.upper_included):
                return False
        return True


@attrs.frozen
class Bands:
    """The bands of one effect table, lowest first. Every number is in exactly one."""

    kind: BandKind
    bands: tuple[Band, ...]

    def of(self, x: Fraction) -> Band:
        for band in self.bands:
            if band.contains(x):
                return band
        raise AssertionError(f"{x} is in no band")  # pragma: no cover - bands are gapless

    def span_text(self, band: Band) -> tuple[str, str]:
        """The band's "Fra" and "Til" cells, as seed 004 writes them."""
        unit = " %" if self.kind == "percent" else ""
        first = band is self.bands[0]
        if first:
            # no total below 0: no change below -100 %
            low = ("-100 %" if self.kind == "percent" and band.upper is not None
                   and band.upper > -100 else "-")
        else:
            assert band.lower is not None
            if (self.kind == "kroner" and not band.lower_included
                    and band.lower == band.lower.to_integral_value()):
                low = group(band.lower + 1)  # "40 001": whole kroner above 40 000
            else:
                low = _number(band.lower) + unit
        high = "" if band.upper is None else _number(band.upper) + unit
        return low, high


def _number(value: Decimal) -> str:
    return group(Decimal(plain(value)))


def make_bands(
    kind: BandKind, bounds: Sequence[Decimal], names: Sequence[str | None] = ()
) -> Bands:
    """Bands from increasing bounds (see the module's boundary rule).

    ``names`` has one entry per band (``len(bounds) + 1``); a missing or None
    name is the seed's name when there are four bounds, else the range in words.
    """
    if not bounds:
        raise BadBands("no bounds", "give at least one bound, e.g. 0")
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            raise BadBands(
                f"the bounds must increase, but {plain(b)} follows {plain(a)}",
                "list the bounds from the lowest to the highest",
            )
    given = list(names) + [None] * (len(bounds) + 1 - len(names))
    unit = " %" if kind == "percent" else ""
    out: list[Band] = []
    for i in range(len(bounds) + 1):
        lower = bounds[i - 1] if i > 0 else None
        upper = bounds[i] if i < len(bounds) else None
        name = given[i]
        if name is None:
            if len(bounds) == len(DEFAULT_NAMES) - 1:
                name = DEFAULT_NAMES[i]
            elif lower is None:
                name = f"under {_number(bounds[0])}{unit}"
            elif upper is None:
                name = f"over {_number(lower)}{unit}"
            else:
                name = f"{_number(lower)}{unit} – {_number(upper)}{unit}"
        out.append(Band(name, lower, i == 1, upper, i > 0))
    seen: set[str] = set()
    for band in out:
        if band.name in seen:
            raise BadBands(f"two bands are named {band.name!r}", "give every band its own name")
        seen.add(band.name)
    return Bands(kind, tuple(out))


DEFAULT_PERCENT_BANDS = make_bands("percent", DEFAULT_PERCENT_BOUNDS)
DEFAULT_KRONER_BANDS = make_bands("kroner", DEFAULT_KRONER_BOUNDS)


class BadBands(ValueError):
    """A band specification that cannot be read."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


_BOUND = re.compile(r"^-?\d+(\.\d+)?$")


def _bound(text: str, kind: BandKind) -> Decimal | None:
    t = re.sub(r"[\s_]", "", text)
    if kind == "percent":
        t = t.removesuffix("%")
    return Decimal(t) if _BOUND.match(t) else None


def parse_bands(spec: str, kind: BandKind) -> Bands:
    """Read ``--percent-bands`` / ``--kroner-bands``.

    A comma-separated list of upper bounds, lowest first, each optionally
    named: ``0,40000,100000,250000`` or ``Ned:0,Litt:40_000,Mye``. A last item
    without a number names the open top band. Unnamed bands get the seed's
    names when there are four bounds, else their range in words. Percent bounds
    may end in ``%``; ``_`` and spaces inside numbers are ignored.
    """
    items = [s.strip() for s in spec.split(",")]
    bounds: list[Decimal] = []
    names: list[str | None] = []
    example = "0,29,60,100" if kind == "percent" else "0,40000,100000,250000"
    for i, item in enumerate(items):
        if not item:
            raise BadBands(f"empty item in {spec!r}", f"write the bounds like {example}")
        name, colon, number = item.rpartition(":")
        if not colon:
            number, name = item, ""
        value = _bound(number, kind)
        if colon and not name.strip():
            raise BadBands(f"no name before ':' in {item!r}", "write NAME:BOUND, e.g. Ned:0")
        if value is None:
            if not colon and i == len(items) - 1 and bounds:
                names.append(item)  # the name of the open top band
                continue
            raise BadBands(
                f"{number.strip()!r} is not a number",
                f"write the bounds like {example}, or name them like NAME:BOUND",
            )
        bounds.append(value)
        names.append(name.strip() or None)
    return make_bands(kind, bounds, names)


# ------------------------------------------------------------------ inputs


def merged_inputs(old: ast.Tariff, new: ast.Tariff) -> dict[str, ast.InputDecl]:
    """The inputs a register must have for both tariffs: the union, by name.

    Raises :class:`CheckError` (every conflict at once) when the two tariffs
    declare one input with different types: no register can satisfy both.
    """
    merged = {i.name: i for i in old.inputs}
    problems = []
    for decl in new.inputs:
        before = merged.get(decl.name)
        if before is None:
            merged[decl.name] = decl
        elif (before.type.kind, before.type.counted) != (decl.type.kind, decl.type.counted):
            problems.append(
                diagnostic(
                    f"input {decl.name} is {_type_words(decl)} here, but "
                    f"{_type_words(before)} in the old tariff",
                    decl.span,
                    hint="a register cannot give both; rename one of the inputs",
                    related=[(f"the old tariff's input {decl.name}", before.span)]
                    if before.span is not None else [],
                )
            )
    if problems:
        raise CheckError(problems)
    return merged


def _type_words(decl: ast.InputDecl) -> str:
    if decl.type.kind == "count":
        return f"a count of {decl.type.counted}"
    kind: str = decl.type.kind
    return {"number": "a number", "date": "a date"}.get(kind, kind)


# ------------------------------------------------------------------ the comparison


@attrs.frozen
class Change:
    """One customer under both tariffs."""

    id: str
    name: str
    customer_type: str
    old: Decimal
    new: Decimal
    change: Decimal
    #: Exact percent, or None when the old total is 0 and the new is not.
    percent: Fraction | None
    percent_band: str  # NEW_CUSTOMERS when percent is None
    kroner_band: str
    pending_old: tuple[str, ...]
    pending_new: tuple[str, ...]

    @property
    def column(self) -> str:
        return self.customer_type or NO_TYPE

    @property
    def pending(self) -> bool:
        return bool(self.pending_old or self.pending_new)


@attrs.frozen
class Side:
    tariff: ast.Tariff
    year: int


@attrs.frozen
class EffectRow:
    name: str
    low: str
    high: str
    band: Band | None  # None for the new-customers line
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@attrs.frozen
class Effect:
    """One effect table: rows of counts per column, and the Totalt row."""

    kind: BandKind
    columns: tuple[str, ...]
    rows: tuple[EffectRow, ...]

    def count(self, row: str, column: str | None = None) -> int:
        for r in self.rows:
            if r.name == row:
                return r.total if column is None else r.counts.get(column, 0)
        raise KeyError(row)

    def column_total(self, column: str) -> int:
        return sum(r.counts.get(column, 0) for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)


@attrs.frozen
class Comparison:
    old: Side
    new: Side
    register: str
    changes: tuple[Change, ...]
    percent_bands: Bands
    kroner_bands: Bands

    @property
    def currency(self) -> str:
        return self.new.tariff.currency

    @property
    def columns(self) -> tuple[str, ...]:
        extra: list[str] = []
        for c in self.changes:
            if c.column not in DEFAULT_TYPES and c.column not in extra:
                extra.append(c.column)
        return (*DEFAULT_TYPES, *extra)

    def effect(self, kind: BandKind, *, always_new: bool = False) -> Effect:
        """The effect table of ``kind``. The percent table has the new-customers line when
        a customer has an old total of 0, or always with ``always_new``."""
        bands = self.percent_bands if kind == "percent" else self.kroner_bands
        rows: list[EffectRow] = []
        for band in bands.bands:
            low, high = bands.span_text(band)
            rows.append(EffectRow(band.name, low, high, band, self._counts(kind, band.name)))
        if kind == "percent" and (always_new or any(c.percent is None for c in self.changes)):
            rows.append(EffectRow(NEW_CUSTOMERS, "", "", None,
                                  self._counts(kind, NEW_CUSTOMERS)))
        return Effect(kind, self.columns, tuple(rows))

    def _counts(self, kind: BandKind, name: str) -> dict[str, int]:
        counts = dict.fromkeys(self.columns, 0)
        for c in self.changes:
            if (c.percent_band if kind == "percent" else c.kroner_band) == name:
                counts[c.column] += 1
        return counts

    def totals(self) -> tuple[Decimal, Decimal, Decimal, Fraction | None]:
        with decimal.localcontext(EXACT):
            old = exact_sum(c.old for c in self.changes)
            new = exact_sum(c.new for c in self.changes)
            change = new - old
        return old, new, change, _percent(old, change)


def _percent(old: Decimal, change: Decimal) -> Fraction | None:
    if old == 0:
        return Fraction(0) if change == 0 else None
    return Fraction(change) * 100 / abs(Fraction(old))


def _own(tariff: ast.Tariff, settings: Mapping[str, Value] | None) -> dict[str, Value]:
    """The settings a tariff declares, out of those given for both."""
    names = {s.name for s in tariff.settings}
    return {k: v for k, v in (settings or {}).items() if k in names}


def compare(
    old: ast.Tariff,
    new: ast.Tariff,
    customers: Iterable[Customer],
    *,
    old_year: int,
    new_year: int,
    percent_bands: Bands = DEFAULT_PERCENT_BANDS,
    kroner_bands: Bands = DEFAULT_KRONER_BANDS,
    register: str = "",
    checked: bool = False,
    settings: Mapping[str, Value] | None = None,
) -> Comparison:
    """Bill every customer under both tariffs and sort the changes into bands.

    The customers must have values for the inputs of both tariffs
    (:func:`merged_inputs` says which). ``checked=True`` skips checking the tariffs
    again when the caller already has.
    """
    old_ev = Evaluator(old, checked=checked)
    new_ev = Evaluator(new, checked=checked)
    customers = list(customers)
    # register-wide values (aggregates, pools) first, each tariff over the same register
    olds = old_ev.evaluate_all(customers, old_year, settings=_own(old, settings),
                               register=register or None)
    news = new_ev.evaluate_all(customers, new_year, settings=_own(new, settings),
                               register=register or None)
    changes: list[Change] = []
    for customer, a, b in zip(customers, olds, news, strict=True):
        with decimal.localcontext(EXACT):
            before, after = a.total, b.total
            change = after - before
        pct = _percent(before, change)
        changes.append(
            Change(
                id=customer.id,
                name=customer.name,
                customer_type=customer.customer_type,
                old=before,
                new=after,
                change=change,
                percent=pct,
                percent_band=NEW_CUSTOMERS if pct is None else percent_bands.of(pct).name,
                kroner_band=kroner_bands.of(Fraction(change)).name,
                pending_old=a.pending,
                pending_new=b.pending,
            )
        )
    return Comparison(Side(old, old_year), Side(new, new_year), register, tuple(changes),
                      percent_bands, kroner_bands)


# ------------------------------------------------------------------ numbers for people


def percent_whole(p: Fraction | None) -> str:
    """``41.6 %`` -> ``42 %``; half up (away from zero); ``n/a`` when there is no percent."""
    if p is None:
        return "n/a"
    return f"{plain(round_fraction(p, Decimal(1), 'half up'))} %"


def percent_exact_text(p: Fraction | None) -> str | None:
    """The percent for JSON and CSV: two decimals, half up (``41.61``); None for n/a."""
    if p is None:
        return None
    return format(round_fraction(p, PERCENT_PLACES, "half up"), "f")


def percent_exact(p: Fraction | None) -> str | None:
    """The exact percent for programs: ``29.0001``, or a fraction (``100/3``) when its
    decimals do not end; None for n/a."""
    if p is None:
        return None
    d = fraction_to_decimal(p)
    return plain(d) if d is not None else f"{p.numerator}/{p.denominator}"


def _count(n: int) -> str:
    return str(n) if n else "-"


def _kroner_head(currency: str) -> str:
    return "I kroner" if currency in ("NOK", "DKK", "SEK", "ISK") else f"I {currency}"


# ------------------------------------------------------------------ renderings


_plain_money = money_group


def _side_words(side: Side) -> str:
    return f"{side.tariff.title} ({side.tariff.file}, billing year {side.year})"


def effect_table(comparison: Comparison, kind: BandKind, review: Review | None = None,
                 ) -> list[str]:
    """An effect table laid out as in seed 004: band, Fra, Til, Totalt, one column per type.
    With a ``review`` (:mod:`takst.compare.review`), its words and its columns."""
    if review is not None:
        from takst.compare.review import effect_view

        view = effect_view(comparison, kind, review, local_numbers=False)
        labels = review.labels
        head = [view.head, labels.from_, labels.to, labels.total, *review.keys]
        rows = [[name, low, high, _count(total), *(_count(c) for c in counts)]
                for name, low, high, total, counts in view.rows]
        foot = [labels.total, "", "", _count(view.totals[0]),
                *(_count(c) for c in view.totals[1])]
        return _grid(head, rows, foot, "l" + "r" * (len(head) - 1))
    eff = comparison.effect(kind)
    head = ["Prosentvis" if kind == "percent" else _kroner_head(comparison.currency),
            "Fra", "Til", "Totalt", *eff.columns]
    rows = [[r.name, r.low, r.high, _count(r.total), *(_count(r.counts[c]) for c in eff.columns)]
            for r in eff.rows]
    foot = ["Totalt", "", "", _count(eff.total),
            *(_count(eff.column_total(c)) for c in eff.columns)]
    return _grid(head, rows, foot, "l" + "r" * (len(head) - 1))


def _grid(head: list[str], rows: list[list[str]], foot: list[str] | None, align: str) -> list[str]:
    """Columns padded to their widest cell; ``align`` has an ``l`` or ``r`` per column."""
    every = [head, *rows, *([foot] if foot else [])]
    widths = [max(len(r[i]) for r in every) for i in range(len(head))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(cells, widths, align, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [fmt(head), rule, *(fmt(r) for r in rows)]
    if foot:
        out += [rule, fmt(foot)]
    return out


def to_table(comparison: Comparison, review: Review | None = None,
             numbers: Numbers | None = None) -> str:
    """For people: one row per customer, then the two effect tables of seed 004. With a
    ``review`` (:mod:`takst.compare.review`), the band names and the customer-type
    columns are its own (the locale's words, the tariff's types); ``numbers`` writes the
    amounts in a locale (default: the plain ``56 680.00``)."""
    cmp = comparison
    money_group = _plain_money if numbers is None or numbers.plain else numbers.amount

    def band(name: str, kind: BandKind) -> str:
        return name if review is None else review.band(name, kind, cmp)

    lines = [
        f"Old: {_side_words(cmp.old)}",
        f"New: {_side_words(cmp.new)}",
        (f"Register: {cmp.register}, " if cmp.register else "")
        + f"{len(cmp.changes)} customers — amounts in {cmp.currency}",
        "",
    ]
    head = ["id", "name", "customer_type", "old", "new", "change", "%", "band (%)",
            "band (kr)"]
    rows = []
    for c in cmp.changes:
        rows.append([
            c.id, c.name, c.column,
            money_group(c.old) + (" +" if c.pending_old else "  "),
            money_group(c.new) + (" +" if c.pending_new else "  "),
            money_group(c.change), percent_whole(c.percent),
            band(c.percent_band, "percent"), band(c.kroner_band, "kroner"),
        ])
    old, new, change, pct = cmp.totals()
    foot = ["", f"{len(cmp.changes)} customers", "",
            money_group(old) + (" +" if any(c.pending_old for c in cmp.changes) else "  "),
            money_group(new) + (" +" if any(c.pending_new for c in cmp.changes) else "  "),
            money_group(change), percent_whole(pct), "", ""]
    lines += _grid(head, rows, foot, "lllrrrrll")
    lines.append("")
    if any(c.pending for c in cmp.changes):
        lines.append("+ has a pending amount (not decided yet), left out of the comparison")
    lines.append("% is the change over the old total, rounded half up to whole percent;")
    lines.append("  the bands use the exact value")
    if any(c.percent is None for c in cmp.changes):
        lines.append("n/a: the old total is 0, so there is no percent "
                     f"(line {band(NEW_CUSTOMERS, 'percent')!r})")
    lines.append("")
    lines.append("Effect in percent: customers by change relative to the old total")
    lines += effect_table(cmp, "percent", review)
    lines.append("")
    lines.append(f"Effect in {cmp.currency}: customers by change in amount")
    lines += effect_table(cmp, "kroner", review)
    lines.append("")
    lines.append("A change equal to a bound counts in the band that ends there (29 %, 40 000),")
    lines.append("except the first bound: a change of exactly 0 is no reduction. - is none.")
    return "\n".join(lines) + "\n"


def _side_json(side: Side) -> dict[str, Any]:
    t = side.tariff
    return {"tariff": t.name, "title": t.title, "file": t.file, "year": side.year,
            "currency": t.currency}


def change_json(c: Change) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "customer_type": c.customer_type,
        "old": money_text(c.old),
        "new": money_text(c.new),
        "change": money_text(c.change),
        "percent": percent_exact_text(c.percent),
        "percent_exact": percent_exact(c.percent),
        "percent_band": c.percent_band if c.percent is not None else None,
        "kroner_band": c.kroner_band,
        "pending_old": list(c.pending_old),
        "pending_new": list(c.pending_new),
    }


def _bound_json(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def effect_json(comparison: Comparison, kind: BandKind) -> dict[str, Any]:
    eff = comparison.effect(kind, always_new=True)
    rows = []
    for r in eff.rows:
        row: dict[str, Any] = {"band": r.name}
        if r.band is None:
            row["old_total_zero"] = True
        else:
            row.update(lower=_bound_json(r.band.lower), lower_included=r.band.lower_included,
                       upper=_bound_json(r.band.upper), upper_included=r.band.upper_included,
                       shown_from=r.low, shown_to=r.high)
        row.update(total=r.total, by_type=dict(r.counts))
        rows.append(row)
    return {"unit": "percent" if kind == "percent" else comparison.currency,
            "columns": list(eff.columns), "rows": rows,
            "totals": {"total": eff.total,
                       "by_type": {c: eff.column_total(c) for c in eff.columns}}}


def to_json(comparison: Comparison) -> str:
    """Deterministic JSON: amounts as exact decimal strings, one customer per line."""
    cmp = comparison

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    old, new, change, pct = cmp.totals()
    head: dict[str, Any] = {
        "old": _side_json(cmp.old),
        "new": _side_json(cmp.new),
        "register": cmp.register,
        "currency": cmp.currency,
        "rounding": ROUNDING_NOTE,
        "boundaries": BOUNDARY_NOTE,
    }
    parts = [f"  {dump(k)}: {dump(v)}" for k, v in head.items()]
    body = ",\n".join("    " + dump(change_json(c)) for c in cmp.changes)
    parts.append('  "customers": [\n' + body + "\n  ]" if cmp.changes else '  "customers": []')
    parts.append("  " + dump("totals") + ": " + dump({
        "customers": len(cmp.changes), "old": money_text(old), "new": money_text(new),
        "change": money_text(change), "percent": percent_exact_text(pct)}))
    parts.append('  "effect_percent": ' + dump(effect_json(cmp, "percent")))
    parts.append('  "effect_kroner": ' + dump(effect_json(cmp, "kroner")))
    return "{\n" + ",\n".join(parts) + "\n}\n"


def to_csv(comparison: Comparison) -> str:
    """One row per customer (the effect tables are in the table and JSON outputs)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "customer_type", "old", "new", "change", "percent",
                "percent_band", "kroner_band", "pending_old", "pending_new"])
    for c in comparison.changes:
        pct = percent_exact_text(c.percent)
        w.writerow([c.id, c.name, c.customer_type, money_text(c.old), money_text(c.new),
                    money_text(c.change), "n/a" if pct is None else pct,
                    c.percent_band if c.percent is not None else "n/a", c.kroner_band,
                    ";".join(c.pending_old), ";".join(c.pending_new)])
    return buf.getvalue()
