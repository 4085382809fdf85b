"""The calculator of seed 004 as data: per service the existing and the new price.

:class:`Calculator` bills a register once under the new tariff (and, with
``old``, under the tariff in force), keeps every customer's result with its
trace, and answers "this organisation, these services" with a :class:`Table`:
per service the existing price, the new price, the change in money and in
percent, the services that are new to the customer, and the totals. The page
(:mod:`takst.web.app`) and the static site (:mod:`takst.web.site`) render it.

Where an existing price comes from, in this order:

1. ``old``: the tariff in force, billed over the same register (its charge of
   the same name; a pending amount is "not known");
2. ``existing``: a CSV of **known amounts** per customer and service, each row
   citing its source (:func:`read_known`). KS DIF publishes its existing prices
   for one customer only (Lillestrøm, seed 004 section 7), so
   ``data/ks_dif_existing_2025.csv`` records those and nothing else. For a
   customer in the file, a service it does not list is new to that customer; a
   customer not in the file has no known existing price: "not known", never 0.

Money is exact (Decimal, no float); a percentage is rounded for display only,
half up to whole percent as the seed prints it, and computed from the exact
amounts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import attrs

from takst.dsl import ast
from takst.dsl.errors import Diagnostic, RegisterError, UsageError, diagnostic
from takst.interpreter.model import CustomerResult
from takst.session import Request, Session

#: How a row's existing price is known.
Existing = Literal["known", "none", "not known"]
#: How a row's new price is known: a new amount, pending, not offered, or no such
#: service in the new tariff.
New = Literal["ok", "pending", "not offered", "absent"]

KNOWN_COLUMNS = ("id", "charge", "amount", "source")


@attrs.frozen
class Known:
    """An existing price known from a data file, with where it was published."""

    customer: str
    charge: str
    label: str
    amount: Decimal
    source: str
    row: int


def read_known(path: str, register_ids: Iterable[str]) -> dict[str, dict[str, Known]]:
    """The known existing prices of ``path`` (CSV: ``id, charge, amount, source``, and
    optionally ``name`` and ``label``), by customer id and charge. Every problem is
    raised at once, as a :class:`~takst.dsl.errors.RegisterError` naming row and column."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(diagnostic(f"cannot read --existing {path}: {e.strerror or e}",
                                    hint="give the CSV of known existing prices")) from None
    rows = list(csv.reader(io.StringIO(text)))
    problems: list[Diagnostic] = []
    if not rows:
        raise RegisterError(diagnostic(f"{path}: the file is empty",
                                       hint="the header is: " + ",".join(KNOWN_COLUMNS)))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in KNOWN_COLUMNS if c not in header]
    if missing:
        raise RegisterError(diagnostic(
            f"{path}, row 1: no column {', '.join(missing)}",
            hint="the header must name: " + ", ".join(KNOWN_COLUMNS) + " (name, label optional)"))
    col = {h: i for i, h in enumerate(header)}
    ids = set(register_ids)
    out: dict[str, dict[str, Known]] = {}
    for n, raw in enumerate(rows[1:], 2):
        if not any(c.strip() for c in raw):
            continue
        cells = [c.strip() for c in raw] + [""] * (len(header) - len(raw))

        def get(name: str, cells: list[str] = cells) -> str:
            return cells[col[name]] if name in col else ""

        ident, charge, amount, source = (get(c) for c in KNOWN_COLUMNS)
        where = f"{path}, row {n}"
        if ident not in ids:
            problems.append(diagnostic(f"{where}, column id: no customer {ident!r} in the register",
                                       hint="use the customer's id as the register writes it"))
            continue
        if not charge:
            problems.append(diagnostic(f"{where}, column charge: empty",
                                       hint="name the service, e.g. digisos"))
            continue
        try:
            value = Decimal(amount.replace(" ", "").replace("\u00a0", ""))
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(diagnostic(f"{where}, column amount: {amount!r} is not an amount",
                                       hint="write it like 87240 or 87240.50"))
            continue
        if not source:
            problems.append(diagnostic(f"{where}, column source: empty",
                                       hint="say where the amount was published"))
            continue
        if charge in out.get(ident, {}):
            problems.append(diagnostic(f"{where}: {ident} {charge} is given twice",
                                       hint=f"keep one row (the first is row "
                                       f"{out[ident][charge].row})"))
            continue
        out.setdefault(ident, {})[charge] = Known(ident, charge, get("label") or charge, value,
                                                  source, n)
    if problems:
        raise RegisterError(problems)
    return out


@attrs.frozen
class Row:
    """One service of the table."""

    charge: str
    label: str
    existing: Decimal | None
    existing_state: Existing
    #: ``old`` (the tariff in force), ``known`` (the data file) or None.
    existing_from: str | None
    new: Decimal | None
    new_state: New

    @property
    def new_service(self) -> bool:
        """New to the customer: it had no such service (the seed's "tillegg" column)."""
        return self.existing_state == "none" and self.new_state == "ok"

    @property
    def comparable(self) -> bool:
        """Both prices known (a service gone from the new tariff costs nothing there)."""
        return self.existing_state == "known" and self.new_state in ("ok", "absent",
                                                                     "not offered")

    @property
    def change(self) -> Decimal | None:
        if not self.comparable or self.new_state == "absent":
            return None
        assert self.existing is not None
        return (self.new or Decimal(0)) - self.existing

    @property
    def percent(self) -> Decimal | None:
        change = self.change
        if change is None or not self.existing:
            return None
        return whole_percent(change, self.existing)


def whole_percent(change: Decimal, base: Decimal) -> Decimal:
    """``change / base`` in whole percent, half up (away from zero), from exact values."""
    from fractions import Fraction

    ratio = Fraction(change) * 100 / Fraction(base)
    sign = -1 if ratio < 0 else 1
    ratio = abs(ratio)
    whole = ratio.numerator // ratio.denominator
    if ratio - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(sign * whole).quantize(Decimal(1), rounding=ROUND_HALF_UP)


@attrs.frozen
class Table:
    """The calculator's answer for one customer and a choice of services."""

    customer: CustomerResult
    rows: tuple[Row, ...]
    #: Chosen services the new tariff does not offer this customer (and it had none).
    not_offered: tuple[str, ...]

    def _sum(self, values: Iterable[Decimal | None]) -> Decimal:
        return sum((v for v in values if v is not None), Decimal(0))

    @property
    def existing_total(self) -> Decimal | None:
        known = [r.existing for r in self.rows if r.existing_state == "known"]
        return self._sum(known) if known else None

    @property
    def new_total(self) -> Decimal:
        """The new prices of the services that are not new to the customer."""
        return self._sum(r.new for r in self.rows if r.new_state == "ok" and not r.new_service)

    @property
    def added_total(self) -> Decimal:
        """The new prices of the services new to the customer."""
        return self._sum(r.new for r in self.rows if r.new_service)

    @property
    def grand_total(self) -> Decimal:
        return self.new_total + self.added_total

    @property
    def change_base(self) -> Decimal | None:
        rows = [r.existing for r in self.rows if r.comparable]
        return self._sum(rows) if rows else None

    @property
    def change_total(self) -> Decimal | None:
        """New minus existing, over the services whose two prices are both known."""
        base = self.change_base
        if base is None:
            return None
        return self._sum(r.new for r in self.rows if r.comparable) - base

    @property
    def change_percent(self) -> Decimal | None:
        base, change = self.change_base, self.change_total
        if not base or change is None:
            return None
        return whole_percent(change, base)

    @property
    def left_out(self) -> list[tuple[str, str]]:
        """The services the totals of change leave out, and why."""
        out = []
        for r in self.rows:
            if r.comparable or r.new_service:
                continue
            if r.new_state == "pending":
                why = "the new price is pending"
            elif r.existing_state == "not known":
                why = "the existing price is not known"
            else:
                why = "no price in either model"
            out.append((r.label, why))
        return out

    @property
    def whole(self) -> bool:
        """Every amount is whole kroner: shown without decimals, as the seed prints them."""
        values = [v for r in self.rows for v in (r.existing, r.new) if v is not None]
        return all(v == v.to_integral_value() for v in values)


@attrs.frozen
class Service:
    charge: str
    label: str


class Calculator:
    """A register billed under the new tariff (and the old one), ready to answer."""

    def __init__(self, session: Session, tariff: str, register: str, year: int, *,
                 old: str | None = None, old_year: int | None = None,
                 existing: str | None = None) -> None:
        self.session = session
        self.request = Request(tariff, year, register, trace=True)
        evaluation = session.run(self.request)
        self.tariff: ast.Tariff = evaluation.tariff
        self.results: list[CustomerResult] = list(evaluation)
        self.diagnostics = list(evaluation.warnings)
        self.warnings = [w.message for w in self.diagnostics]
        self.by_id = {r.id: r for r in self.results}
        self.year = year
        self.register = register
        self.old_tariff: ast.Tariff | None = None
        self.old_results: dict[str, CustomerResult] = {}
        self.old_year = old_year if old_year is not None else year
        if old:
            old_eval = session.run(Request(old, self.old_year, register, trace=True))
            self.old_tariff = old_eval.tariff
            self.old_results = {r.id: r for r in old_eval}
        self.existing_file = existing
        self.known = read_known(existing, self.by_id) if existing else {}
        self.services = self._services()

    def _services(self) -> tuple[Service, ...]:
        """Every service, new tariff's first, each one of the old side after the service
        it comes before there (the seed: Grunnfinansiering, Min Kommune, SvarUT, ...)."""
        new = [Service(c.name, c.label or c.name) for c in self.tariff.charges]
        names = {s.charge for s in new}
        old: list[Service] = []
        if self.old_tariff is not None:
            old += [Service(c.name, c.label or c.name) for c in self.old_tariff.charges]
        for rows in self.known.values():
            old += [Service(k.charge, k.label) for k in rows.values()]
        merged = list(new)
        for i, s in enumerate(old):
            if s.charge in names:
                continue
            names.add(s.charge)
            after = next((o.charge for o in old[i + 1:] if o.charge in {m.charge for m in new}),
                         None)
            at = next((j for j, m in enumerate(merged) if m.charge == after), len(merged))
            merged.insert(at, s)
        return tuple(merged)

    # ------------------------------------------------------------------ finding
    def find(self, wanted: str) -> CustomerResult:
        """The customer with id ``wanted``, or named so (any case; ``Name (id)`` as the
        type-ahead offers it). Raises :class:`~takst.dsl.errors.UsageError`."""
        wanted = wanted.strip()
        if wanted in self.by_id:
            return self.by_id[wanted]
        if wanted.endswith(")") and " (" in wanted:
            ident = wanted.rpartition(" (")[2][:-1]
            if ident in self.by_id:
                return self.by_id[ident]
        low = wanted.casefold()
        named = [r for r in self.results if r.name.casefold() == low]
        if len(named) == 1:
            return named[0]
        if named:
            raise UsageError(diagnostic(f"{len(named)} organisations are named {wanted}",
                                        hint="choose one by id: "
                                        + ", ".join(r.id for r in named)))
        close = [r for r in self.results if low and low in r.name.casefold()][:5]
        if not close:  # a typing slip: the names that look most like it
            import difflib

            names = {r.name.casefold(): r for r in self.results}
            close = [names[n] for n in difflib.get_close_matches(low, names, n=3, cutoff=0.75)]
        hint = ("did you mean: " + ", ".join(f"{r.name} ({r.id})" for r in close)) if close \
            else "type a name or an id from the register and choose it from the list"
        raise UsageError(diagnostic(f"no organisation {wanted!r} in the register", hint=hint))

    def choose(self, services: Sequence[str]) -> tuple[str, ...]:
        """The charges ``services`` names (``all``, ``none``, or charge names, or labels)."""
        if [s.strip().lower() for s in services] == ["none"]:
            return ()
        if not services or any(s.strip().lower() == "all" for s in services):
            return tuple(s.charge for s in self.services)
        by_name = {s.charge: s.charge for s in self.services}
        by_name.update({s.label.casefold(): s.charge for s in self.services})
        chosen: list[str] = []
        unknown = []
        for s in services:
            key = s.strip()
            hit = by_name.get(key) or by_name.get(key.casefold())
            if hit is None:
                unknown.append(key)
            elif hit not in chosen:
                chosen.append(hit)
        if unknown:
            raise UsageError(diagnostic(
                "no service " + ", ".join(repr(u) for u in unknown),
                hint="the services are: " + ", ".join(s.charge for s in self.services)
                + " (or all)"))
        order = [s.charge for s in self.services]
        return tuple(sorted(chosen, key=order.index))

    # ------------------------------------------------------------------ the table
    def table(self, customer: CustomerResult, services: Sequence[str]) -> Table:
        old = self.old_results.get(customer.id)
        known = self.known.get(customer.id)
        labels = {s.charge: s.label for s in self.services}
        new_lines = {ln.charge: ln for ln in customer.lines}
        old_lines = {ln.charge: ln for ln in old.lines} if old else {}
        rows = []
        not_offered = []
        for charge in services:
            existing: Decimal | None = None
            state: Existing = "not known"
            source: str | None = None
            line = old_lines.get(charge)
            if old is not None and line is not None and line.amount is not None:
                if line.charged:
                    existing, state, source = line.amount, "known", "old"
                else:
                    state = "none"
            elif known is not None and charge in known:
                existing, state, source = known[charge].amount, "known", "known"
            elif known is not None or (old is not None and line is None):
                state = "none"
            nl = new_lines.get(charge)
            new: Decimal | None = None
            new_state: New
            if nl is None:
                new_state = "absent"
            elif nl.amount is None:
                new_state = "pending"
            elif not nl.charged:
                new_state = "not offered"
            else:
                new, new_state = nl.amount, "ok"
            if new_state in ("not offered", "absent") and state != "known":
                not_offered.append(labels.get(charge, charge))
                continue
            rows.append(Row(charge, labels.get(charge, charge), existing, state, source, new,
                            new_state))
        return Table(customer, tuple(rows), tuple(not_offered))

    def option(self, result: CustomerResult) -> str:
        """What the type-ahead offers for a customer: its name, with its id if the name
        is not unique."""
        return f"{result.name} ({result.id})" if self._twins.get(result.name.casefold(), 0) > 1 \
            else result.name

    @property
    def _twins(self) -> dict[str, int]:
        if not hasattr(self, "_twin_counts"):
            counts: dict[str, int] = {}
            for r in self.results:
                counts[r.name.casefold()] = counts.get(r.name.casefold(), 0) + 1
            self._twin_counts = counts
        return self._twin_counts
