"""A comparison as a review artefact: its words from the locale, its columns from the tariff.

:class:`Review` says how a :class:`~takst.compare.compare.Comparison` is shown to
people: the names of the seed's five bands and the heads of the effect tables in
the reader's locale (``labels.json`` beside this module: data, one entry per
locale), and the customer-type columns of the tariffs. The columns are the values
of the tariffs' ``categories customer_type`` (the new tariff's first, then any
only the old one has), in their order, shown by their labels; a tariff without
customer types shows the types its register has, in the order they first appear,
so a Danish tariff gets no empty Norwegian columns. Bands named with
``--percent-bands`` / ``--kroner-bands`` keep their names.

:func:`to_markdown` writes a report that fits a pull request (a summary, the two
effect tables, the largest changes); :func:`write_compare_xlsx` a workbook with
a sheet per table. JSON and CSV are left as they are: programs read the seed's
band names and type codes there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

import attrs

from takst.compare.compare import (
    DEFAULT_NAMES,
    NEW_CUSTOMERS,
    NO_TYPE,
    Band,
    BandKind,
    Bands,
    Change,
    Comparison,
    percent_exact_text,
)
from takst.dsl import ast
from takst.interpreter.evaluator import round_fraction
from takst.render.locale import Numbers, numbers

#: How many of the largest increases and reductions the report lists.
LARGEST = 10
_KRONE = ("DKK", "NOK", "SEK", "ISK")


@cache
def _labels() -> dict[str, dict[str, Any]]:
    text = resources.files("takst.compare").joinpath("labels.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, Any]] = {
        k: v for k, v in json.loads(text).items() if not k.startswith("_")}
    return data


@attrs.frozen
class Labels:
    """The words of the effect tables in one locale (see ``labels.json``)."""

    locale: str
    bands: tuple[str, ...]
    new_customers: str
    percent: str
    amount: str
    from_: str
    to: str
    total: str
    none: str

    @classmethod
    def of(cls, locale: str, currency: str) -> Labels:
        d = _labels()[locale]
        amount = d["amount"] if currency.upper() in _KRONE else d["amount_other"]
        return cls(locale, tuple(d["bands"]), d["new_customers"], d["percent"],
                   amount.replace("{currency}", currency), d["from"], d["to"], d["total"],
                   d["none"])


def customer_types(*tariffs: ast.Tariff) -> list[tuple[str, str]]:
    """The values of the tariffs' ``categories customer_type`` with their labels, the
    first tariff's first (empty when none declares customer types)."""
    found: dict[str, str] = {}
    for t in tariffs:
        for decl in t.categories:
            if decl.name == "customer_type":
                for item in decl.items:
                    found.setdefault(item.name, item.label or item.name)
    return list(found.items())


@attrs.frozen
class Review:
    """How a comparison is shown to people: locale, labels, numbers and columns."""

    labels: Labels
    #: (customer type, its label), in the order of the columns.
    columns: tuple[tuple[str, str], ...]

    @property
    def numbers(self) -> Numbers:
        return numbers(self.labels.locale)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.columns)

    def band(self, name: str, kind: BandKind, comparison: Comparison) -> str:
        """A band's name as this review shows it: the seed's bands in the locale."""
        if name == NEW_CUSTOMERS:
            return self.labels.new_customers
        bands = comparison.percent_bands if kind == "percent" else comparison.kroner_bands
        names = tuple(b.name for b in bands.bands)
        if names == DEFAULT_NAMES and name in names:
            return self.labels.bands[names.index(name)]
        return name

    def column_label(self, key: str) -> str:
        return dict(self.columns).get(key, key)


def review_of(comparison: Comparison, locale: str) -> Review:
    """The review of ``comparison`` in ``locale`` (see the module's docstring)."""
    labels = Labels.of(locale, comparison.currency)
    declared = customer_types(comparison.new.tariff, comparison.old.tariff)
    columns = list(declared)
    keys = {k for k, _ in columns}
    for c in comparison.changes:
        if c.column not in keys:
            keys.add(c.column)
            columns.append((c.column, labels.none if c.column == NO_TYPE else c.column))
    return Review(labels, tuple(columns))


@attrs.frozen
class EffectView:
    """One effect table as a review shows it: rows of (band, from, to, total, counts)."""

    head: str
    rows: tuple[tuple[str, str, str, int, tuple[int, ...]], ...]
    totals: tuple[int, tuple[int, ...]]


def span_text(bands: Bands, band: Band | None, n: Numbers) -> tuple[str, str]:
    """A band's "from" and "to" cells in the locale (the rule of
    :meth:`~takst.compare.compare.Bands.span_text`: "40 001" is whole kroner above 40 000)."""
    if band is None:
        return "", ""
    unit = " %" if bands.kind == "percent" else ""
    if band is bands.bands[0]:
        low = (n.number(-100) + " %" if bands.kind == "percent" and band.upper is not None
               and band.upper > -100 else "-")
    else:
        assert band.lower is not None
        if (bands.kind == "kroner" and not band.lower_included
                and band.lower == band.lower.to_integral_value()):
            low = n.number(band.lower + 1)
        else:
            low = n.number(band.lower) + unit
    high = "" if band.upper is None else n.number(band.upper) + unit
    return low, high


def effect_view(comparison: Comparison, kind: BandKind, review: Review, *,
                local_numbers: bool = True) -> EffectView:
    """One effect table in the review's words and columns; the bounds in the locale's
    numbers (or, ``local_numbers=False``, as the plain-text table writes all its numbers)."""
    eff = comparison.effect(kind)
    bands = comparison.percent_bands if kind == "percent" else comparison.kroner_bands
    keys = review.keys
    rows = []
    for r in eff.rows:
        counts = tuple(r.counts.get(k, 0) for k in keys)
        low, high = (span_text(bands, r.band, review.numbers) if local_numbers
                     else (r.low, r.high))
        rows.append((review.band(r.name, kind, comparison), low, high, r.total, counts))
    totals = tuple(sum(c.column == k for c in comparison.changes) for k in keys)
    head = review.labels.percent if kind == "percent" else review.labels.amount
    return EffectView(head, tuple(rows), (len(comparison.changes), totals))


# ------------------------------------------------------------------ markdown

_MD_SPECIAL = set("\\`*_[]<>|#~")
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md(text: str) -> str:
    """Text for a Markdown table cell: every character Markdown or HTML would read
    escaped with a backslash, line breaks made spaces (no-break spaces stay)."""
    text = _BREAKS.sub(" ", text)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def code(text: str) -> str:
    """Text as inline code (a path), or escaped text when it holds a backtick."""
    text = _BREAKS.sub(" ", text)
    return f"`{text}`" if "`" not in text else md(text)


def _signed(n: Numbers, value: Decimal) -> str:
    return ("+" if value > 0 else "") + n.amount(value)


def _pct(n: Numbers, p: Fraction | None, places: int = 1) -> str:
    if p is None:
        return "n/a"
    d = round_fraction(p, Decimal(1).scaleb(-places), "half up")
    return n.percent(d / 100, places)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if a == "l" else "--:" for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _count(n: int) -> str:
    return str(n) if n else "–"


def to_markdown(comparison: Comparison, review: Review) -> str:
    """A report for a pull request: the summary, the two effect tables, the largest
    increases and reductions. Names from the register and the tariff are escaped."""
    cmp, n = comparison, review.numbers
    cur = cmp.currency
    old, new, change, pct = cmp.totals()
    up = sum(c.change > 0 for c in cmp.changes)
    down = sum(c.change < 0 for c in cmp.changes)
    pending = sum(c.pending for c in cmp.changes)
    lines = [f"# {md(cmp.old.tariff.title)} → {md(cmp.new.tariff.title)}", ""]
    summary = [
        ("Old", f"{md(cmp.old.tariff.title)} ({code(cmp.old.tariff.file)}, billing year "
                f"{cmp.old.year})"),
        ("New", f"{md(cmp.new.tariff.title)} ({code(cmp.new.tariff.file)}, billing year "
                f"{cmp.new.year})"),
        ("Register", f"{code(cmp.register)}, {len(cmp.changes)} customers"),
        (f"Total, old ({cur})", n.amount(old)),
        (f"Total, new ({cur})", n.amount(new)),
        (f"Change ({cur})", f"{_signed(n, change)} ({_pct(n, pct)})"),
        ("Customers", f"{up} pay more, {down} pay less, {len(cmp.changes) - up - down} the same"),
    ]
    if pending:
        summary.append(("Pending", f"{pending} customers have a pending amount (not decided "
                        "yet), left out on both sides"))
    lines += _table(["", ""], summary, "ll")
    for kind, title in (("percent", "Effect in percent: customers by change relative to the "
                         "old total"),
                        ("kroner", f"Effect in {cur}: customers by change in amount")):
        view = effect_view(cmp, kind, review)  # type: ignore[arg-type]
        labels = review.labels
        head = [md(view.head), labels.from_, labels.to, labels.total,
                *(md(label) for _, label in review.columns)]
        rows = [[md(name), md(low), md(high), _count(total), *(_count(c) for c in counts)]
                for name, low, high, total, counts in view.rows]
        rows.append([f"**{md(labels.total)}**", "", "", f"**{view.totals[0]}**",
                     *(f"**{c}**" for c in view.totals[1])])
        lines += ["", f"## {title}", ""]
        lines += _table(head, rows, "lrrr" + "r" * len(review.columns))
    lines += ["", "## Largest changes", ""]
    ups = sorted((c for c in cmp.changes if c.change > 0), key=lambda c: -c.change)[:LARGEST]
    downs = sorted((c for c in cmp.changes if c.change < 0), key=lambda c: c.change)[:LARGEST]
    head = ["id", "name", "customer type", f"old ({cur})", f"new ({cur})", f"change ({cur})",
            "%"]
    for what, chosen in (("increases", ups), ("reductions", downs)):
        lines.append(f"The {len(chosen)} largest {what}:" if chosen else f"No {what}.")
        if chosen:
            lines.append("")
            lines += _table(head, [_change_row(c, review) for c in chosen], "lllrrrr")
            if any(c.pending for c in chosen):
                lines += ["", "\\+ has a pending amount (not decided yet), left out of the "
                          "comparison."]
        lines.append("")
    lines.append("% is the change over the old total, rounded half up for display; the bands "
                 "use the exact value. A change equal to a bound counts in the band that ends "
                 "there, except the first: a change of exactly 0 is no reduction.")
    return "\n".join(lines) + "\n"


def _change_row(c: Change, review: Review) -> list[str]:
    n = review.numbers
    plus = " +" if c.pending else ""
    return [md(c.id), md(c.name), md(review.column_label(c.column)), n.amount(c.old) + plus,
            n.amount(c.new) + plus, _signed(n, c.change), _pct(n, c.percent)]


# ------------------------------------------------------------------ XLSX


def write_compare_workbook(out: IO[bytes], comparison: Comparison, review: Review) -> None:
    """A workbook with a sheet per table: Customers (one row per customer, amounts as
    numbers), the two effect tables, and a Summary."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from takst.render.excel import AMOUNT_FORMAT, _bold, _bolden, _widths, exact_cell

    cmp = comparison
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Customers")
    heads = ["id", "name", "customer_type", "old", "new", "change", "percent", "band (%)",
             "band (kr)", "pending_old", "pending_new"]
    longest = max((len(c.name) for c in cmp.changes), default=4)
    _widths(ws, [max((len(c.id) for c in cmp.changes), default=2), longest,
                 max((len(review.column_label(c.column)) for c in cmp.changes), default=13),
                 14, 14, 14, 9, 24, 24, 16, 16])
    ws.freeze_panes = "C2"
    ws.append(_bold(ws, heads))
    for c in cmp.changes:
        pct = percent_exact_text(c.percent)
        ws.append([c.id, c.name, review.column_label(c.column), exact_cell(ws, c.old),
                   exact_cell(ws, c.new), exact_cell(ws, c.change),
                   None if pct is None else exact_cell(ws, Decimal(pct), "0.00"),
                   review.band(c.percent_band, "percent", cmp) if c.percent is not None
                   else "n/a", review.band(c.kroner_band, "kroner", cmp),
                   ", ".join(c.pending_old) or None, ", ".join(c.pending_new) or None])
    ws.auto_filter.ref = f"A1:K{len(cmp.changes) + 1}"
    old, new, change, pct_all = cmp.totals()
    total_pct = percent_exact_text(pct_all)
    ws.append(_bolden(ws, ["", f"{len(cmp.changes)} customers", "", exact_cell(ws, old),
                           exact_cell(ws, new), exact_cell(ws, change),
                           None if total_pct is None else exact_cell(ws, Decimal(total_pct),
                                                                     "0.00"),
                           None, None, None, None]))
    for kind, title in (("percent", "Effect percent"), ("kroner", f"Effect {cmp.currency}")):
        view = effect_view(cmp, kind, review)  # type: ignore[arg-type]
        we = wb.create_sheet(title)
        labels = review.labels
        head = [view.head, labels.from_, labels.to, labels.total,
                *(label for _, label in review.columns)]
        _widths(we, [max(len(r[0]) for r in view.rows) if view.rows else 10, 9, 9, 7,
                     *(len(label) for _, label in review.columns)])
        we.freeze_panes = "B2"
        we.append(_bold(we, head))
        for name, low, high, total, counts in view.rows:
            we.append([name, low, high, total, *counts])
        we.append(_bolden(we, [labels.total, "", "", view.totals[0], *view.totals[1]]))
        we.auto_filter.ref = f"A1:{get_column_letter(len(head))}{len(view.rows) + 1}"
    summary: list[tuple[str, Any]] = [
        ("old tariff", f"{cmp.old.tariff.title} ({cmp.old.tariff.file})"),
        ("old billing year", cmp.old.year),
        ("new tariff", f"{cmp.new.tariff.title} ({cmp.new.tariff.file})"),
        ("new billing year", cmp.new.year),
        ("register", cmp.register), ("customers", len(cmp.changes)),
        ("currency", cmp.currency), ("locale", review.labels.locale),
    ]
    wsum = wb.create_sheet("Summary")
    _widths(wsum, [18, max(len(str(v)) for _, v in summary)])
    wsum.append(_bold(wsum, ["what", "value"]))
    for k, v in summary:
        wsum.append([k, v])
    wsum.append(["total old", exact_cell(wsum, old, AMOUNT_FORMAT)])
    wsum.append(["total new", exact_cell(wsum, new, AMOUNT_FORMAT)])
    wsum.append(["change", exact_cell(wsum, change, AMOUNT_FORMAT)])
    wb.save(out)


def write_compare_xlsx(path: str | Path, comparison: Comparison, review: Review) -> None:
    """:func:`write_compare_workbook` to ``path``, whole or not at all."""
    from takst.render.excel import need_openpyxl
    from takst.render.report import open_atomic_binary

    need_openpyxl()
    with open_atomic_binary(path) as fh:
        write_compare_workbook(fh, comparison, review)


def columns_json(review: Review) -> Mapping[str, str]:
    """The review's columns as ``{type: label}``."""
    return dict(review.columns)
