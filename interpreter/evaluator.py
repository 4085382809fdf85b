"""The tracing interpreter: the reference semantics of the tariff language.

Evaluates a checked tariff for one customer and one billing year. All
arithmetic is exact: ``Decimal`` under a context that traps inexact results and
any mixing with float, and ``Fraction`` for prorations until the tariff's
rounding rule says how to round. Each decision and calculation is recorded as a
:class:`~takst.interpreter.trace.Step` pointing at the tariff text.

Order of work for a charge: is it due this year (frequency) -> base amount
(table cell or expression) -> exceptions (the one that applies replaces the
base) -> prorations (multiply) -> rounding (if the tariff says) -> amount.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

import attrs

from takst.dsl import ast
from takst.dsl.checker import band_interval, check, errors_of
from takst.dsl.errors import CheckError, EvaluationError, diagnostic
from takst.dsl.numbers import group, money_group, money_text, plain
from takst.dsl.symbols import BILLING_YEAR, BUILTIN_TEXT, Symbols, input_unit
from takst.interpreter.trace import ChargeLine, CustomerResult, Step, Value, value_text

#: Exact arithmetic: any result that would need rounding raises instead.
EXACT = decimal.Context(
    prec=200,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=10_000,
    Emin=-10_000,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Inexact,
        decimal.FloatOperation,
    ],
)

ZERO = Decimal("0")
_OP_SIGN = {"+": "+", "-": "-", "*": "×"}


@attrs.frozen
class Customer:
    """One customer's values: the register's id and name, and a value per input."""

    id: str
    name: str
    values: Mapping[str, Value]
    customer_type: str = ""
    origin: str = "command line"


# ------------------------------------------------------------------ rounding


def round_fraction(x: Fraction, step: Decimal, mode: str) -> Decimal:
    """Round an exact value to a multiple of ``step``. Exact: no float, no context rounding."""
    q = x / Fraction(step)
    sign = -1 if q < 0 else 1
    a = abs(q)
    whole = a.numerator // a.denominator
    rem = a - whole
    half = Fraction(1, 2)
    if mode == "down":
        k = whole
    elif mode == "up":
        k = whole + (1 if rem else 0)
    elif mode == "half up":
        k = whole + (1 if rem >= half else 0)
    elif mode == "half even":
        k = whole + (1 if rem > half or (rem == half and whole % 2 == 1) else 0)
    else:  # pragma: no cover - the grammar admits only the four modes
        raise ValueError(mode)
    with decimal.localcontext(EXACT):
        return Decimal(sign * k) * step


def fraction_to_decimal(x: Fraction) -> Decimal | None:
    """The exact decimal of a fraction, or None when it has no finite decimal expansion."""
    den = x.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    scale = max(twos, fives)
    numerator = x.numerator * (10**scale // x.denominator)
    return Decimal(numerator).scaleb(-scale)


def _fraction_text(num: Decimal, den: Decimal) -> str:
    if den == 100:
        return f"{plain(num)} %"
    return f"{plain(num)}/{plain(den)}"


# ------------------------------------------------------------------ the evaluator


class Evaluator:
    """Evaluates one tariff. Build it once, then call :meth:`evaluate` per customer."""

    def __init__(self, tariff: ast.Tariff, *, checked: bool = False) -> None:
        if not checked:
            errors = errors_of(check(tariff))
            if errors:
                raise CheckError(errors)
        self.tariff = tariff
        self.sym = Symbols(tariff)
        self.currency = tariff.currency
        self.lists = {lst.name: frozenset(i.value for i in lst.items) for lst in tariff.lists}
        # Every numeric input is 0 or more (registers refuse negative values).
        self.intervals = {
            b.name: [band_interval(band, ZERO) for band in b.bands] for b in tariff.bands
        }
        self.tables: dict[int, dict[tuple[str, ...], ast.Cell]] = {}
        for charge in tariff.charges:
            if isinstance(charge.body, ast.Table):
                self.tables[id(charge.body)] = _table_index(charge.body)

    # ------------------------------------------------------------------ public
    def evaluate(self, customer: Customer, year: int, *, trace: bool = True) -> CustomerResult:
        """Every charge of the tariff for ``customer`` in billing ``year``."""
        run = _Run(self, customer, year, trace)
        with decimal.localcontext(EXACT):
            lines = tuple(run.charge(c) for c in self.tariff.charges)
        inputs = tuple(
            (name, customer.values[name]) for name in self.sym.inputs() if name in customer.values
        )
        return CustomerResult(
            id=customer.id,
            name=customer.name,
            origin=customer.origin,
            inputs=inputs,
            lines=lines,
        )


def _table_index(table: ast.Table) -> dict[tuple[str, ...], ast.Cell]:
    index: dict[tuple[str, ...], ast.Cell] = {}
    for row in table.rows:
        if table.columns:
            for col, cell in zip(table.columns, row.cells, strict=False):
                index[(row.key.name, col.name)] = cell
        elif row.cells:
            index[(row.key.name,)] = row.cells[0]
    return index


class _Run:
    """One customer, one year. Caches params and band choices within the run."""

    def __init__(self, ev: Evaluator, customer: Customer, year: int, trace: bool) -> None:
        self.ev = ev
        self.c = customer
        self.year = year
        self.trace = trace
        self.params: dict[str, Decimal] = {}
        self.bands: dict[str, ast.Band] = {}
        self.band_steps: dict[str, Step] = {}
        #: The trace of the charge being evaluated (None when not tracing).
        self.steps: list[Step] | None = None

    # ------------------------------------------------------------------ charges
    def charge(self, charge: ast.ChargeDecl) -> ChargeLine:
        steps: list[Step] | None = [] if self.trace else None
        self.steps = steps
        label = charge.label or charge.name
        due = self.frequency(charge, steps)
        if not due:
            return ChargeLine(charge.name, label, ZERO, "ok", False, _tuple(steps), charge.span)
        if charge.pending:
            if steps is not None:
                note = "; ".join(n.text for n in charge.notes)
                steps.append(
                    Step(
                        "pending",
                        "amount not decided yet (pending)" + (f": {note}" if note else ""),
                        charge.span,
                        value="pending",
                    )
                )
            return ChargeLine(charge.name, label, None, "pending", True, _tuple(steps), charge.span)
        assert charge.body is not None
        if isinstance(charge.body, ast.Table):
            base = self.table(charge.body, steps)
        else:
            base = self.expr(charge.body, steps)
        amount = self.exceptions(charge, base, steps)
        exact = Fraction(amount)
        exact = self.prorate(charge, exact, steps)
        final = self.finish(charge, exact, steps)
        if steps is not None:
            steps.append(
                Step("result", f"amount = {money_group(final)}", None, value=money_text(final))
            )
        return ChargeLine(charge.name, label, final, "ok", True, _tuple(steps), charge.span)

    def frequency(self, charge: ast.ChargeDecl, steps: list[Step] | None) -> bool:
        freq = charge.frequency
        if freq.anchor is None:
            if steps is not None:
                steps.append(
                    Step("frequency", "charged every year", freq.span, applied=True)
                )
            return True
        anchor = freq.anchor.name
        when = self.c.values[anchor]
        assert isinstance(when, dt.date)
        if freq.kind == "every_year":
            due = self.year >= when.year
            if steps is not None:
                if due:
                    text = (f"charged every year from {anchor} ({when.isoformat()}): "
                            f"billing year {self.year} ≥ {when.year}")
                else:
                    text = (f"not charged: charged every year from {anchor} ({when.isoformat()}), "
                            f"and billing year {self.year} is before {when.year}")
                steps.append(Step("frequency", text, freq.span, applied=due))
            return due
        due = self.year == when.year
        if steps is not None:
            if due:
                text = (f"charged once, in the year of {anchor}: {when.isoformat()} is in "
                        f"billing year {self.year}")
            else:
                text = (f"not charged: charged once, in the year of {anchor} ({when.year}), "
                        f"not in billing year {self.year}")
            steps.append(Step("frequency", text, freq.span, applied=due))
        return due

    def table(self, table: ast.Table, steps: list[Step] | None) -> Decimal:
        key: list[str] = []
        for dim in table.dims:
            key.append(self.dimension(dim.name, steps))
        cell = self.ev.tables[id(table)][tuple(key)]
        value = cell.value
        if steps is not None:
            where = ", ".join(f"{d.name} = {k}" for d, k in zip(table.dims, key, strict=True))
            steps.append(
                Step(
                    "cell",
                    f"table cell ({where}): {money_group(value)}",
                    cell.span,
                    value=money_text(value),
                    detail=tuple((d.name, k) for d, k in zip(table.dims, key, strict=True)),
                )
            )
        return value

    def dimension(self, name: str, steps: list[Step] | None) -> str:
        """The key of a table dimension for this customer: a band name or yes/no."""
        if self.ev.sym.bands(name) is not None:
            return self.band(name, steps).name
        value = self.c.values[name]
        assert isinstance(value, bool)
        return "yes" if value else "no"

    def band(self, name: str, steps: list[Step] | None) -> ast.Band:
        """The band of ``name`` this customer is in; its step goes once into each charge's
        trace that uses it (also when a condition uses it)."""
        if steps is None:
            steps = self.steps
        if name in self.bands:
            band = self.bands[name]
            if steps is not None and not any(
                s.kind == "band" and s.get("bands") == name for s in steps
            ):
                steps.append(self.band_steps[name])
            return band
        decl = self.ev.sym.bands(name)
        assert decl is not None
        subject = decl.subject.name
        value = self.c.values[subject]
        assert isinstance(value, Decimal)
        for iv in self.ev.intervals[name]:
            if iv.lo is not None and (value < iv.lo or (value == iv.lo and not iv.lo_incl)):
                continue
            if iv.hi is not None and (value > iv.hi or (value == iv.hi and not iv.hi_incl)):
                continue
            self.bands[name] = iv.band
            if self.trace:
                lo = "" if iv.lo is None else f"{group(iv.lo)} {'≤' if iv.lo_incl else '<'} "
                hi = "" if iv.hi is None else f" {'≤' if iv.hi_incl else '<'} {group(iv.hi)}"
                label = f' "{iv.band.label}"' if iv.band.label else ""
                step = Step(
                    "band",
                    f"{subject} {group(value)} is in {name} {iv.band.name}{label}: "
                    f"{lo}{group(value)}{hi}",
                    iv.band.span,
                    value=iv.band.name,
                    detail=(("bands", name), ("subject", subject), ("value", str(value))),
                )
                self.band_steps[name] = step
                if steps is not None:
                    steps.append(step)
            return iv.band
        raise EvaluationError(
            diagnostic(
                f"{subject} {group(value)} of {self.c.name} falls in no band of {name}",
                decl.span,
                hint="run `takst check` on the tariff: its bands do not cover every value",
            )
        )

    def exceptions(self, charge: ast.ChargeDecl, base: Decimal, steps: list[Step] | None) -> Decimal:
        fired: list[tuple[ast.ExceptionRule, Decimal]] = []
        for ex in charge.exceptions:
            ok, why = self.cond(ex.condition)
            reason = f" ({ex.reason})" if ex.reason else ""
            if ok:
                value = self.expr(ex.result, steps)
                fired.append((ex, value))
                if steps is not None:
                    steps.append(
                        Step(
                            "exception",
                            f"exception applies{reason}: {why} → {money_group(value)}",
                            ex.span,
                            value=str(value),
                            applied=True,
                        )
                    )
            elif steps is not None:
                steps.append(
                    Step("exception", f"exception does not apply{reason}: {why}", ex.span,
                         applied=False)
                )
        if not fired:
            return base
        fired.sort(key=lambda fv: -(fv[0].priority or 0))
        return fired[0][1]

    def prorate(self, charge: ast.ChargeDecl, amount: Fraction, steps: list[Step] | None) -> Fraction:
        for pr in charge.prorations:
            ok, why = self.cond(pr.condition)
            frac_text = _fraction_text(pr.numerator, pr.denominator)
            reason = f" ({pr.reason})" if pr.reason else ""
            if ok:
                before = amount
                amount = amount * Fraction(pr.numerator) / Fraction(pr.denominator)
                if steps is not None:
                    after = fraction_to_decimal(amount)
                    shown = money_group(after) if after is not None else f"{float_free(amount)}"
                    steps.append(
                        Step(
                            "prorate",
                            f"prorated {frac_text}{reason}: {why}; "
                            f"{money_group(_dec(before))} × {frac_text} = {shown}",
                            pr.span,
                            value=str(after) if after is not None else None,
                            detail=(
                                ("op", "*"),
                                ("left", str(_dec(before))),
                                ("numerator", str(pr.numerator)),
                                ("denominator", str(pr.denominator)),
                                ("result", str(after) if after is not None else "inexact"),
                            ),
                            applied=True,
                        )
                    )
            elif steps is not None:
                steps.append(
                    Step("prorate", f"not prorated {frac_text}{reason}: {why}", pr.span,
                         applied=False)
                )
        return amount

    def finish(self, charge: ast.ChargeDecl, amount: Fraction, steps: list[Step] | None) -> Decimal:
        r = charge.rounding
        if r is not None:
            rounded = round_fraction(amount, r.step, r.mode)
            if steps is not None:
                exact = fraction_to_decimal(amount)
                before = group(exact) if exact is not None else float_free(amount)
                steps.append(
                    Step(
                        "round",
                        f"rounded to {r.step_text} ({r.mode}): {before} → {money_group(rounded)}",
                        r.span,
                        value=str(rounded),
                        detail=(("step", str(r.step)), ("mode", r.mode)),
                    )
                )
            return rounded
        exact = fraction_to_decimal(amount)
        if exact is None:
            where = charge.prorations[-1].span if charge.prorations else charge.span
            raise EvaluationError(
                diagnostic(
                    f"the amount of {charge.name} for {self.c.name} is {float_free(amount)}, "
                    "which has no exact decimal value",
                    where,
                    hint="say how to round it: add a line `round to øre half up` to the charge",
                )
            )
        return exact

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, steps: list[Step] | None) -> Decimal:
        try:
            return self._expr(e, steps)
        except decimal.DecimalException:
            raise EvaluationError(
                diagnostic(
                    "this calculation gives a number too large to compute exactly",
                    e.span,
                    hint="check the inputs for absurd values (e.g. a population of 10^100)",
                )
            ) from None

    def _expr(self, e: ast.Expr, steps: list[Step] | None) -> Decimal:
        if isinstance(e, ast.Number):
            return e.value / 100 if e.percent else e.value
        if isinstance(e, ast.Ref):
            return self.ref(e, steps)
        assert isinstance(e, ast.BinOp)
        left = self._expr(e.left, steps)
        right = self._expr(e.right, steps)
        if e.op == "+":
            result = left + right
        elif e.op == "-":
            result = left - right
        else:
            result = left * right
        if steps is not None:
            sign = _OP_SIGN[e.op]
            steps.append(
                Step(
                    "calc",
                    f"{self.label(e)} = {group(left)} {sign} {group(right)} = {group(result)}",
                    e.span,
                    value=str(result),
                    detail=(("op", e.op), ("left", str(left)), ("right", str(right)),
                            ("result", str(result))),
                )
            )
        return result

    def ref(self, e: ast.Ref, steps: list[Step] | None) -> Decimal:
        name = e.name
        if name == BILLING_YEAR:
            return Decimal(self.year)
        param = self.ev.sym.param(name)
        if param is not None:
            if name not in self.params:
                self.params[name] = self._expr(param.value, steps)
            value = self.params[name]
            if steps is not None:
                label = f' "{param.label}"' if param.label else ""
                steps.append(
                    Step(
                        "param",
                        f"{name}{label} = {self.literal_text(param.value, value)}",
                        param.span,
                        value=str(value),
                    )
                )
            return value
        value = self.c.values[name]
        assert isinstance(value, Decimal)
        if steps is not None:
            inp = self.ev.sym.input(name)
            unit = ""
            if inp is not None:
                u = input_unit(inp)
                if u is not None and not u.is_plain:
                    unit = " " + _unit_words(u.describe(self.ev.currency), value)
            steps.append(Step("input", f"{name} = {group(value)}{unit}", None, value=str(value)))
        return value

    def literal_text(self, e: ast.Expr, value: Decimal) -> str:
        if isinstance(e, ast.Number):
            return _number_text(e)
        return group(value)

    def label(self, e: ast.Expr) -> str:
        """The expression as the author wrote it (names and literals), for the trace."""
        if isinstance(e, ast.Number):
            return _number_text(e)
        if isinstance(e, ast.Ref):
            return e.name
        assert isinstance(e, ast.BinOp)
        parts = []
        for side in (e.left, e.right):
            text = self.label(side)
            parts.append(f"({text})" if isinstance(side, ast.BinOp) else text)
        return f" {_OP_SIGN[e.op]} ".join(parts)

    # ------------------------------------------------------------------ conditions
    def cond(self, c: ast.Cond) -> tuple[bool, str]:
        """Whether a condition holds, and (when tracing) why, in words."""
        if not self.trace:
            return self._cond(c, None), ""
        parts: list[str] = []
        value = self._cond(c, parts)
        if len(parts) == 1:
            return value, parts[0]
        return value, "; ".join(parts) + (" → yes" if value else " → no")

    def _cond(self, c: ast.Cond, parts: list[str] | None) -> bool:
        if isinstance(c, ast.BoolOp):
            left = self._cond(c.left, parts)
            if c.op == "and" and not left:
                return False  # the rest is not needed
            if c.op == "or" and left:
                return True
            return self._cond(c.right, parts)
        if isinstance(c, ast.Not):
            inner: list[str] | None = [] if parts is not None else None
            value = not self._cond(c.operand, inner)
            if parts is not None and inner is not None:
                parts.append("not (" + "; ".join(inner) + ")")
            return value
        if isinstance(c, ast.Truthy):
            v = self.operand(c.operand)
            assert isinstance(v, bool)
            if parts is not None:
                parts.append(f"{c.operand.value} is {'yes' if v else 'no'}")
            return v
        if isinstance(c, ast.In):
            item = self.operand(c.item)
            box = c.container
            if box.kind == "name" and str(box.value) in self.ev.lists:
                inside = item in self.ev.lists[str(box.value)]
                shown = str(box.value)
            else:
                year = self.operand(box)
                assert isinstance(item, dt.date) and isinstance(year, Decimal)
                inside = item.year == int(year)
                shown = plain(year)
            if parts is not None:
                verb = "is in" if inside else "is not in"
                parts.append(f"{self.operand_text(c.item, item)} {verb} {shown}")
            return inside != c.negated
        assert isinstance(c, ast.Compare)
        left = self.operand(c.left)
        bands = self.ev.sym.bands(str(c.left.value)) if c.left.kind == "name" else None
        right = str(c.right.value) if bands is not None else self.operand(c.right)
        result = _compare(c.op, left, right)
        if parts is None:
            return result
        years = BILLING_YEAR in (c.left.value, c.right.value)
        right_text = str(right) if bands is not None else self.operand_text(c.right, right, years)
        parts.append(
            f"{self.operand_text(c.left, left, years)} {c.op} {right_text}: "
            + ("yes" if result else "no")
        )
        return result

    def operand(self, op: ast.Operand) -> Value:
        if op.kind != "name":
            return op.value
        name = str(op.value)
        if name == BILLING_YEAR:
            return Decimal(self.year)
        if name in BUILTIN_TEXT:
            return {"id": self.c.id, "name": self.c.name, "customer_type": self.c.customer_type}[
                name
            ]
        if self.ev.sym.bands(name) is not None:
            return self.band(name, None).name
        if self.ev.sym.param(name) is not None:
            return self.ref(ast.Ref(name, span=op.span), None)
        return self.c.values[name]

    def operand_text(self, op: ast.Operand, value: Value, year: bool = False) -> str:
        """``joined 2023-11-01``, ``name "Kolding"``, ``size large``, ``billing_year 2024``."""
        if year and isinstance(value, Decimal):
            shown = plain(value)
        elif isinstance(value, str) and op.kind == "name" and str(op.value) not in BUILTIN_TEXT:
            shown = value  # a band name
        else:
            shown = value_text(value)
        return f"{op.value} {shown}" if op.kind == "name" else shown


def _compare(op: str, left: Value, right: Value) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    assert isinstance(left, Decimal | dt.date) and isinstance(right, Decimal | dt.date)
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == "<=":
        return left <= right  # type: ignore[operator]
    if op == ">":
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def _number_text(e: ast.Number) -> str:
    text = group(e.value)
    if e.percent:
        return f"{text} %"
    if e.currency and e.per:
        return f"{text} {e.currency} per {e.per}"
    if e.currency:
        return f"{text} {e.currency}"
    return text


def _unit_words(described: str, value: Decimal) -> str:
    # "a count of inhabitants" -> "inhabitants"
    for prefix in ("a count of ", "an amount in "):
        if described.startswith(prefix):
            return described[len(prefix) :]
    return described


def _dec(x: Fraction) -> Decimal:
    d = fraction_to_decimal(x)
    assert d is not None
    return d


def float_free(x: Fraction) -> str:
    """An inexact fraction in words, e.g. ``100/3 (33.333…)``, computed without float."""
    sign = "-" if x < 0 else ""
    a = abs(x)
    whole = a.numerator // a.denominator
    digits = ((a - whole) * 1000).numerator // ((a - whole) * 1000).denominator
    return f"{x.numerator}/{x.denominator} ({sign}{group(Decimal(whole))}.{digits:03d}…)"


def _tuple(steps: list[Step] | None) -> tuple[Step, ...]:
    return tuple(steps) if steps is not None else ()


def evaluate(tariff: ast.Tariff, customer: Customer, year: int) -> CustomerResult:
    """Check and evaluate in one call (for tests and small scripts)."""
    return Evaluator(tariff).evaluate(customer, year)


__all__ = [
    "EXACT",
    "Customer",
    "Evaluator",
    "evaluate",
    "fraction_to_decimal",
    "round_fraction",
]

