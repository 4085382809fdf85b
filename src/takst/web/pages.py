"""The calculator's pages as HTML text: shared by the server and the static site.

Every page is rendered on the server (or, for the static site, ahead of time)
from a :class:`~takst.web.calculator.Calculator`, through Jinja2 templates with
escaping always on. Where the pages link to is given by a :class:`Links`: the
server links to ``/worksheet?customer=...``, the static site to ``w/ID.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from takst.dsl.errors import Diagnostic, TariffError
from takst.interpreter.model import CustomerResult
from takst.render.html import _environment, render_worksheets
from takst.render.locale import Numbers
from takst.web.calculator import Calculator, Row, Table

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: The files under /static/: the only files the server serves besides its pages.
STATIC_FILES = ("calculator.css", "calculator.js")


class Links(Protocol):
    def calculator(self, customer: str | None, services: Sequence[str] | None) -> str: ...
    def worksheet(self, customer: str, model: str, charge: str | None = None) -> str: ...
    def static(self, name: str) -> str: ...


def _env() -> Any:
    from takst.render.html import TEMPLATES as RENDER

    return _environment(str(TEMPLATES), str(RENDER))


class Formats:
    """Amounts of one table: whole kroner when every amount is whole (as the seed
    prints them: 606 360), else every decimal (606 360,50); never rounded."""

    def __init__(self, numbers: Numbers, whole: bool) -> None:
        self.numbers = numbers
        self.whole = whole

    def money(self, value: Decimal) -> str:
        if self.whole and value == value.to_integral_value():
            return self.numbers.number(value.to_integral_value())
        return self.numbers.amount(value)

    def percent(self, value: Decimal) -> str:
        sign = "+" if value > 0 else ""
        return sign + self.numbers.number(value) + ("%" if self.numbers.plain else "\u00a0%")


def _row(row: Row, f: Formats, links: Links, ident: str) -> dict[str, Any]:
    model = "old" if row.existing_from == "old" else "known"
    existing = (f.money(row.existing) if row.existing_state == "known" and row.existing is not None
                else ("not known" if row.existing_state == "not known" else ""))
    new_text = {"pending": "pending", "not offered": "not offered", "absent": "—"}.get(
        row.new_state, "")
    if row.new_state == "ok" and row.new is not None:
        new_text = f.money(row.new)
    change = row.change
    if row.comparable:
        pct = f.percent(row.percent) if row.percent is not None else "n/a"
        kr = f.money(change) if change is not None else "n/a"
    else:
        pct = kr = ""
    return {
        "charge": row.charge,
        "label": row.label,
        "existing": existing,
        "existing_link": links.worksheet(ident, model, row.charge)
        if row.existing_state == "known" else None,
        "existing_state": row.existing_state,
        "existing_value": "" if row.existing is None else str(row.existing),
        "new": "" if row.new_service else new_text,
        "added": new_text if row.new_service else "",
        "total": new_text if row.new_state in ("ok", "pending") else "",
        "new_link": links.worksheet(ident, "new", row.charge)
        if row.new_state in ("ok", "pending") else None,
        "new_state": row.new_state,
        "new_value": "" if row.new is None else str(row.new),
        "new_service": row.new_service,
        "percent": pct,
        "change": kr,
        "negative": change is not None and change < 0,
    }


def _scale(table: Table) -> int:
    values = [v for r in table.rows for v in (r.existing, r.new) if v is not None]
    return max((max(-int(v.as_tuple().exponent), 0) for v in values), default=0)


def table_view(calc: Calculator, table: Table, numbers: Numbers, links: Links) -> dict[str, Any]:
    f = Formats(numbers, table.whole)
    ident = table.customer.id
    rows = [_row(r, f, links, ident) for r in table.rows]
    existing_total = table.existing_total
    change_total = table.change_total
    change_percent = table.change_percent
    return {
        "rows": rows,
        "existing_total": "not known" if existing_total is None else f.money(existing_total),
        "new_total": f.money(table.new_total),
        "added_total": f.money(table.added_total) if any(r.new_service for r in table.rows)
        else "",
        "grand_total": f.money(table.grand_total),
        "change_total": "" if change_total is None else f.money(change_total),
        "change_percent": "" if change_percent is None else f.percent(change_percent),
        "change_base": "" if table.change_base is None else f.money(table.change_base),
        # with no existing price known, the page says so once instead of per service
        "left_out": table.left_out if existing_total is not None else [],
        "not_offered": list(table.not_offered),
        "whole": table.whole,
        "scale": _scale(table),
        "worksheet": links.worksheet(ident, "new"),
        "known": ident in calc.known,
        "has_old": ident in calc.old_results,
    }


def calculator_page(calc: Calculator, numbers: Numbers, links: Links, *,
                    customer: str | None, services: Sequence[str] | None,
                    static: bool = False) -> tuple[int, str]:
    """The calculator with ``customer`` and ``services`` chosen, and its HTTP status:
    200, or 404 for an unknown organisation, 400 for an unknown service (the page then
    says what is wrong and how to go on)."""
    status = 200
    problem: Diagnostic | None = None
    result: CustomerResult | None = None
    chosen: tuple[str, ...] = tuple(s.charge for s in calc.services)
    try:
        chosen = calc.choose(services or ["all"])
    except TariffError as e:
        status, problem = 400, e.diagnostics[0]
    if customer:
        try:
            result = calc.find(customer)
        except TariffError as e:
            status, problem = 404, e.diagnostics[0]
    view = None
    if result is not None and problem is None:
        view = table_view(calc, calc.table(result, chosen), numbers, links)
    everything = len(chosen) == len(calc.services)

    def shown(path: str | None) -> str | None:
        """A file as the page names it: a published site names no folder of this computer."""
        return None if path is None else (Path(path).name if static else path)

    html = _env().get_template("calculator.html").render(
        title=calc.tariff.title or calc.tariff.name,
        tariff_file=shown(calc.tariff.file),
        sources=[s.text for s in calc.tariff.header.sources] if calc.tariff.header else [],
        year=calc.year,
        currency=calc.tariff.currency,
        locale=numbers.locale,
        group_symbol=numbers.group_symbol,
        decimal_symbol=numbers.decimal_symbol,
        plain=numbers.plain,
        register=shown(calc.register),
        old_file=shown(calc.old_tariff.file) if calc.old_tariff is not None else None,
        old_year=calc.old_year,
        existing_file=shown(calc.existing_file),
        known_customers=sorted(calc.by_id[i].name for i in calc.known),
        options=[(calc.option(r), r.id) for r in calc.results],
        services=[(s.charge, s.label, s.charge in chosen) for s in calc.services],
        everything=everything,
        customer_text=customer or "",
        chosen=result,
        chosen_option=calc.option(result) if result is not None else "",
        view=view,
        problem=problem,
        status=status,
        links=links,
        static=static,
        warnings=calc.warnings,
    )
    return status, html


def known_page(calc: Calculator, numbers: Numbers, links: Links, result: CustomerResult) -> str:
    """The known existing prices of one customer, each with its source."""
    rows = calc.known.get(result.id, {})
    return str(_env().get_template("known.html").render(
        title=calc.tariff.title or calc.tariff.name, locale=numbers.locale,
        customer=result, file=calc.existing_file,
        rows=[(k.charge, k.label, numbers.amount(k.amount), k.source, k.row)
              for k in rows.values()],
        links=links))


def worksheet_page(calc: Calculator, numbers: Numbers, links: Links, result: CustomerResult,
                   model: str) -> str:
    """The printable worksheet of one customer under the new tariff (``new``) or the
    tariff in force (``old``), or its known existing prices (``known``)."""
    back = {"Back to the calculator": links.calculator(result.id, None)}
    if model == "known":
        return known_page(calc, numbers, links, result)
    if model == "old" and calc.old_tariff is not None:
        tariff, year, res = calc.old_tariff, calc.old_year, calc.old_results[result.id]
    else:
        tariff, year, res = calc.tariff, calc.year, result
    return render_worksheets([res], title=tariff.title or tariff.name, tariff_file=tariff.file,
                             year=year, currency=tariff.currency, numbers=numbers, links=back)


def message_page(numbers: Numbers, links: Links, title: str, message: str, hint: str) -> str:
    return str(_env().get_template("message.html").render(
        locale=numbers.locale, title=title, message=message, hint=hint, links=links))
