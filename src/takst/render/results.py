"""Results as JSON data: customers, charge lines and trace steps.

The building blocks of every JSON output (``takst eval --format json``,
``takst explain --format json``) and of the values a manifest compares.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from takst.dsl.numbers import money_text
from takst.interpreter.model import ChargeLine, CustomerResult, PeriodAmount, Value
from takst.interpreter.trace import Step


def value_json(value: Value) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def step_json(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": step.kind, "text": step.text}
    if step.value is not None:
        data["value"] = step.value
    if step.applied is not None:
        data["applied"] = step.applied
    if step.detail:
        data["detail"] = dict(step.detail)
    if step.span is not None:
        data["at"] = {"file": step.span.file, "line": step.span.line, "column": step.span.column}
    return data


def line_json(line: ChargeLine, *, with_trace: bool, vat: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "charge": line.charge,
        "label": line.label,
        "amount": None if line.amount is None else money_text(line.amount),
        "status": line.status,
        "charged": line.charged,
    }
    if vat:  # issue 12: only when the tariff states VAT (other outputs stay as they were)
        inc = line.amount_inc_vat
        data["vat_rate"] = None if line.vat_rate is None else str(line.vat_rate)
        data["vat"] = None if line.vat is None else money_text(line.vat)
        data["amount_inc_vat"] = None if inc is None else money_text(inc)
    if line.periods:  # issue 12: a charge invoiced per month, quarter or half year
        data["periods"] = [period_json(p) for p in line.periods]
    if with_trace:
        data["trace"] = [step_json(s) for s in line.steps]
    return data


def period_json(period: PeriodAmount) -> dict[str, Any]:
    """issue 12: one billing period of a line: its days, name and amount."""
    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "label": period.label, "amount": money_text(period.amount),
            "charged": period.charged}


def customer_json(result: CustomerResult, *, with_trace: bool,
                  vat: bool | None = None) -> dict[str, Any]:
    """``vat``: whether the tariff states VAT (None: whether a line has VAT)."""
    if vat is None:
        vat = any(ln.vat is not None for ln in result.lines)
    data: dict[str, Any] = {
        "id": result.id,
        "name": result.name,
        "lines": [line_json(ln, with_trace=with_trace, vat=vat) for ln in result.lines],
        "total": money_text(result.total),
    }
    if vat:  # issue 12
        data["vat"] = money_text(result.vat_total)
        data["total_inc_vat"] = money_text(result.total_inc_vat)
    data |= {
        "pending": list(result.pending),
        "inputs": {k: value_json(v) for k, v in result.inputs},
    }
    return data
