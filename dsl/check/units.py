"""Units: money + inhabitants, money × money, a charge that is not money, params
defined in terms of themselves, formulas that do not fit their arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.tables import check_dimension_keys
from takst.dsl.check.words import CURRENCY, article, is_zero, type_unit
from takst.dsl.errors import Span, diagnostic
from takst.dsl.numbers import literal, plain
from takst.dsl.symbols import BILLING_YEAR, input_unit
from takst.dsl.units import MONEY, MONEY_UNIT, PLAIN, Unit, singular
from takst.dsl.visitor import NodeVisitor

if TYPE_CHECKING:
    from takst.dsl.check.context import Context

#: A formula's parameters bound to the units of one call's arguments (None: no formula).
Env = dict[str, Unit | None] | None


class Units(NodeVisitor["Unit | None"]):
    """The unit of each expression, one method per expression class; reports unit errors.
    A result of None means the unit is unknown (an error was reported, or it is pending)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._param_units: dict[str, Unit | None] = {}
        #: The params and formulas being worked out (to find cycles).
        self.param_stack: list[str] = []
        #: True while the total of a pool is checked (no pending params there).
        self.in_pool = False

    def unit(self, expr: ast.Expr, env: Env = None) -> Unit | None:
        """The unit of an expression, reporting unit errors. None when unknown.

        ``env`` binds a formula's parameters to the units of the arguments of one call.
        """
        return self.visit(expr, env)

    def param_unit(self, name: str) -> Unit | None:
        if name in self._param_units:
            return self._param_units[name]
        decl = self.ctx.sym.param(name)
        assert decl is not None
        if name in self.param_stack:
            cycle = " -> ".join([*self.param_stack[self.param_stack.index(name) :], name])
            self.ctx.err(
                f"param {name} is defined in terms of itself ({cycle})",
                decl.span,
                hint="give one of them a value that does not use the others",
            )
            return None
        self.param_stack.append(name)
        if decl.pending:
            unit = None
        elif decl.dated:
            # issue 12: a `not decided from DATE` entry has no value (and so no unit) of its own
            units = [None if d.pending else self.unit(d.value) for d in decl.dated]
            unit = next((u for u in units if u is not None), None)
            for d, u in zip(decl.dated[1:], units[1:], strict=True):
                if u is not None and unit is not None and u != unit:
                    self.ctx.err(f"this value of {name} is {u.describe(self.ctx.currency)}, the first is "
                             f"{unit.describe(self.ctx.currency)}", d.value.span,
                             hint="every dated value of a param has the same unit")
            for a, b in zip(decl.dated, decl.dated[1:], strict=False):
                if b.start <= a.start:
                    self.ctx.err(f"the dates of {name} must increase: {b.start} is not after "
                             f"{a.start}", b.span, hint="list dated values oldest first")
        else:
            unit = self.unit(decl.value)
            if decl.adjustment is not None:
                self.adjustment(decl, decl.adjustment)
        self.param_stack.pop()
        self._param_units[name] = unit
        return unit

    def adjustment(self, decl: ast.ParamDecl, adj: ast.Adjustment) -> None:
        """issue 12: the yearly adjustment of an indexed param is a plain rate (a percentage),
        and its rounding names a rounding."""
        rate = self.unit(adj.rate)
        if rate is not None and not rate.is_plain:
            self.ctx.err(f"{decl.name} is adjusted by {rate.describe(self.ctx.currency)}; an "
                         "adjustment is a percentage", adj.rate.span,
                         hint=f"e.g.  adjusted by 2.5 % every year from {adj.base_year}")
        r = adj.rounding
        if r is not None and r.policy is not None:
            kind = self.ctx.ref(r.policy.name, r.policy.span, "rounding")
            if kind is not None and kind != "rounding":
                self.ctx.err(f"{r.policy.name} is {article(kind)}, not a rounding",
                             r.policy.span, hint="declare it:  rounding NAME = to øre half up")

    def visit_Number(self, expr: ast.Number, env: Env = None) -> Unit | None:
        if expr.percent:
            return PLAIN
        if expr.currency is None:
            return PLAIN
        if expr.currency != self.ctx.currency:
            if CURRENCY.match(expr.currency):
                self.ctx.err(
                    f"this tariff is in {self.ctx.currency}, but this amount is in {expr.currency}",
                    expr.span,
                    hint=f"write the amount in {self.ctx.currency}",
                )
            else:
                self.ctx.err(
                    f"{expr.currency} is not a currency; after a number comes the "
                    f"currency ({self.ctx.currency})",
                    expr.span,
                    hint=f"e.g. {plain(expr.value)} {self.ctx.currency} or "
                    f"{plain(expr.value)} {self.ctx.currency} per inhabitant",
                )
            return None
        if expr.per in ast.PERIOD_MONTHS:
            # issue 12: a price per month, quarter, half year or year is an amount: the
            # amount for the period the charge is invoiced for (x 12 in a yearly charge)
            return MONEY_UNIT
        if expr.per is not None:
            return MONEY_UNIT * Unit.of(**{singular(expr.per): -1})
        return MONEY_UNIT

    def visit_Ref(self, expr: ast.Ref, env: Env = None) -> Unit | None:
        if env is not None and expr.name in env:
            return env[expr.name]
        kind = self.ctx.ref(expr.name, expr.span, "value")
        if kind is None:
            return None
        if kind == "param":
            param = self.ctx.sym.param(expr.name)
            if param is not None and self.in_pool and any(d.pending for d in param.dated):
                self.ctx.err(  # issue 12: a pool's total is one amount, known for everyone
                    f"{expr.name} is pending in some years (not decided yet) and cannot be "
                    "used in the total of a pool", expr.span,
                    hint="use it directly in a charge's amount: the charge is then pending "
                    "in those years")
            if param is not None and param.pending:
                if self.param_stack or self.in_pool:
                    self.ctx.err(
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
            inp = self.ctx.sym.input(expr.name)
            assert inp is not None
            unit = input_unit(inp)
            if unit is None:
                self.ctx.err(
                    f"{expr.name} is {article(inp.type.kind)} and cannot be used in a "
                    "calculation",
                    expr.span,
                    hint="use it in a condition instead (when ..., except ...)",
                )
            return unit
        if kind == "charge":
            charge = self.ctx.sym.get(expr.name)
            assert charge is not None and isinstance(charge.decl, ast.ChargeDecl)
            if charge.decl.pending:
                self.ctx.err(
                    f"{expr.name} is pending (its amount is not known yet) and cannot be "
                    "used in a calculation",
                    expr.span,
                    hint="leave it out until the amount is decided; a pending amount is "
                    "never counted as zero",
                )
            else:
                self.ctx.err(
                    f"{expr.name} is a charge; charges cannot be used inside other amounts",
                    expr.span,
                    hint="put the shared part in a param and use it in both charges",
                )
            return None
        if kind == "builtin" and expr.name == BILLING_YEAR:
            return PLAIN
        self.ctx.err(
            f"{expr.name} is {article(kind)} and cannot be used in a calculation",
            expr.span,
            hint="only numbers, amounts, rates and numeric inputs can be calculated with",
        )
        return None

    def visit_BinOp(self, expr: ast.BinOp, env: Env = None) -> Unit | None:
        left = self.visit(expr.left, env)
        right = self.visit(expr.right, env)
        if left is None or right is None:
            return None
        if expr.op == "/":
            if is_zero(expr.right):
                self.ctx.err("division by zero", expr.right.span, hint="divide by something else")
                return None
            result = left * Unit(tuple((k, -v) for k, v in right.dims))
            if abs(result.exponent(MONEY)) > 1:
                self.ctx.err(
                    "this division gives money squared, which has no meaning",
                    expr.span,
                    hint="divide money by a count or a plain number",
                )
                return None
            return result
        if expr.op == "*":
            result = left * right
            if result.exponent(MONEY) > 1:
                self.ctx.err(
                    f"multiplying two amounts of money ({left.describe(self.ctx.currency)} × "
                    f"{right.describe(self.ctx.currency)}) has no meaning",
                    expr.span,
                    hint=f"one side should be a rate ({self.ctx.currency} per inhabitant) or a "
                    "count or plain number",
                )
                return None
            return result
        if left != right:
            if is_zero(expr.left) or is_zero(expr.right):
                return right if is_zero(expr.left) else left
            verb = "add" if expr.op == "+" else "subtract"
            self.ctx.err(
                f"cannot {verb} {left.describe(self.ctx.currency)} and "
                f"{right.describe(self.ctx.currency)}",
                expr.span,
                hint="both sides of + and - must be in the same unit; "
                f"multiply a count by a rate (e.g. 1.50 {self.ctx.currency} per inhabitant "
                "* population) to get money",
            )
            return None
        return left

    def numeric_unit(self, name: str, span: Span) -> Unit | None:
        """The unit of a setting or an aggregate (both stand for a number)."""
        setting = self.ctx.sym.setting(name)
        if setting is not None:
            unit = type_unit(setting.type)
            if unit is None:
                self.ctx.err(f"setting {name} is {article(setting.type.kind)} and cannot be used "
                         "in a calculation", span)
            return unit
        agg = self.ctx.sym.aggregate(name)
        if agg is not None and agg.kind == "count":
            return PLAIN  # issue 12: a number of customers
        if agg is not None:
            inp = self.ctx.sym.input(agg.of.name)
            return input_unit(inp) if inp is not None else None
        return None

    def visit_Call(self, call: ast.Call, env: Env = None) -> Unit | None:
        kind = self.ctx.ref(call.name, call.span, "formula")
        if kind is None:
            return None
        formula = self.ctx.sym.formula(call.name)
        if formula is None:
            self.ctx.err(f"{call.name} is {article(kind)}, not a formula", call.span,
                     hint="declare it:  formula NAME(a, b) = ...")
            return None
        if len(call.args) != len(formula.params):
            self.ctx.err(
                f"formula {call.name} takes {len(formula.params)} value"
                f"{'s' if len(formula.params) != 1 else ''} "
                f"({', '.join(p.name for p in formula.params)}), not {len(call.args)}",
                call.span,
                hint="give one value per parameter, in order",
            )
            return None
        if call.name in self.param_stack:
            self.ctx.err(f"formula {call.name} uses itself", call.span,
                     hint="a formula cannot call itself, directly or through another")
            return None
        bound = {p.name: self.unit(a, env) for p, a in zip(formula.params, call.args,
                                                                 strict=True)}
        if any(u is None for u in bound.values()):
            return None
        self.param_stack.append(call.name)
        n = len(self.ctx.diags)
        unit = self.unit(formula.body, bound)
        self.param_stack.pop()
        if len(self.ctx.diags) > n:
            self.ctx.diags.insert(n, diagnostic(
                f"formula {call.name} does not fit the values given here",
                call.span,
                hint="the problem in the formula, for these values, follows",
            ))
        return unit

    def visit_Cases(self, cases: ast.Cases, env: Env = None) -> Unit | None:
        check_dimension_keys(self.ctx, cases.dim, [c.key for c in cases.cases], cases.span,
                                  allow_others=True)
        units = [(c, self.unit(c.value, env)) for c in cases.cases if c.value is not None]
        known = [(c, u) for c, u in units if u is not None]
        if not known:
            return None
        first_case, first = known[0]
        for c, u in known[1:]:
            if u != first and not (u.is_plain and c.value is not None and is_zero(c.value)):
                self.ctx.err(
                    f"the value for {c.key.name} is {u.describe(self.ctx.currency)}, but the value "
                    f"for {first_case.key.name} is {first.describe(self.ctx.currency)}",
                    c.value.span if c.value is not None else c.span,
                    hint="every case gives the same kind of value",
                )
        return first

    # issue 12: min/max, per started block, rounding inside an expression
    def visit_Extreme(self, expr: ast.Extreme, env: Env = None) -> Unit | None:
        if len(expr.args) < 2:
            self.ctx.err(f"{expr.op}(...) needs two values or more", expr.span,
                         hint=f"e.g. {expr.op}(fee, 5_000 {self.ctx.currency})")
        units = [(a, self.unit(a, env)) for a in expr.args]
        # 0 may stand beside anything (as in + and -); an unknown unit was reported already
        known = [(a, u) for a, u in units if u is not None and not (u.is_plain and is_zero(a))]
        for a, u in known[1:]:
            if u != known[0][1]:
                self.ctx.err(
                    f"{expr.op}(...) compares values of one unit; this one is "
                    f"{u.describe(self.ctx.currency)}, the first is "
                    f"{known[0][1].describe(self.ctx.currency)}",
                    a.span,
                    hint=f"give {expr.op} values in the same unit, e.g. two amounts in "
                    f"{self.ctx.currency}",
                )
                return None
        if any(u is None for _, u in units):
            return None
        return known[0][1] if known else PLAIN

    def visit_PerStarted(self, expr: ast.PerStarted, env: Env = None) -> Unit | None:
        """The price's unit: the number of blocks begun is a plain number (the block is in
        the quantity's own unit: ``per started 5 of amount`` counts blocks of 5 EUR)."""
        price = self.unit(expr.price, env)
        quantity = self.unit(expr.quantity, env)
        if price is None or quantity is None:
            return None
        return price

    def visit_RoundExpr(self, expr: ast.RoundExpr, env: Env = None) -> Unit | None:
        unit = self.unit(expr.value, env)
        if expr.policy is not None:
            kind = self.ctx.ref(expr.policy.name, expr.policy.span, "rounding")
            if kind is not None and kind != "rounding":
                self.ctx.err(f"{expr.policy.name} is {article(kind)}, not a rounding",
                             expr.policy.span, hint="declare it:  rounding NAME = to øre half up")
        if expr.currency is not None:
            if expr.currency != self.ctx.currency:
                self.ctx.err(
                    f"this tariff is in {self.ctx.currency}, but this step is in {expr.currency}",
                    expr.span, hint=f"write the step in {self.ctx.currency}, e.g. "
                    f"round(x to 1 {self.ctx.currency} up)")
                return None
            if unit is not None and not unit.is_money:
                self.ctx.err(
                    f"this value is {unit.describe(self.ctx.currency)}, but the step "
                    f"{plain(expr.step)} {expr.currency} is an amount of money",
                    expr.value.span,
                    hint=f"leave out the currency (round(x to {plain(expr.step)} up)), or "
                    "round an amount of money")
                return None
        return unit

    def money_expr(self, expr: ast.Expr, what: str) -> None:
        unit = self.unit(expr)
        if unit is None or unit.is_money:
            return
        if unit.is_plain and is_zero(expr):
            return
        if unit.is_plain and isinstance(expr, ast.Number):
            self.ctx.err(
                f"{literal(expr.value)} has no currency; {what} must be an amount in "
                f"{self.ctx.currency}",
                expr.span,
                hint=f"write {literal(expr.value)} {self.ctx.currency}",
            )
            return
        self.ctx.err(
            f"{what} is {unit.describe(self.ctx.currency)}, not an amount in {self.ctx.currency}",
            expr.span,
            hint=f"multiply by a price, e.g. 1.50 {self.ctx.currency} per inhabitant * population",
        )
