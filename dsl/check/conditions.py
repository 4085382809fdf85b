"""Conditions: operands of the wrong kind, comparisons of unlike things, bands compared
with a value that is not one of their bands; and when two conditions exclude each other."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.words import Kind, article, name_of, operand_text, type_unit
from takst.dsl.numbers import plain
from takst.dsl.symbols import BILLING_YEAR, Symbols, input_unit, value_kind
from takst.dsl.units import PLAIN, Unit
from takst.dsl.visitor import NodeVisitor

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


class Conditions(NodeVisitor[None]):
    """Checks a condition, one method per condition class."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def check(self, cond: ast.Cond) -> None:
        self.visit(cond)

    def operand_kind(
        self, op: ast.Operand, ctx_bands: str | None = None, what: str = "value"
    ) -> Kind:
        if op.kind != "name":
            return "number" if op.kind == "number" else op.kind
        name = str(op.value)
        if ctx_bands is not None:
            keys = self.ctx.sym.dimension_keys(ctx_bands) or ()
            if name in keys:
                return "bandkey"
        kind = self.ctx.ref(name, op.span, what)
        if kind is None:
            return "unknown"
        if kind == "input":
            inp = self.ctx.sym.input(name)
            assert inp is not None
            return value_kind(inp)
        if kind == "builtin":
            return "year" if name == BILLING_YEAR else "text"
        if kind == "param":
            self.ctx.units.param_unit(name)
            return "number"
        if kind in ("setting", "aggregate"):
            setting = self.ctx.sym.setting(name)
            if setting is not None and type_unit(setting.type) is None:
                return setting.type.kind
            return "number"
        if kind == "category":
            return "category"
        if kind == "group":
            return "group"
        if kind == "charge":
            self.ctx.err(
                f"{name} is a charge and cannot be used in a condition",
                op.span,
                hint="conditions test inputs, lists, bands and the billing year",
            )
            return "unknown"
        return kind  # list, bands

    def visit_BoolOp(self, cond: ast.BoolOp) -> None:
        self.visit(cond.left)
        self.visit(cond.right)

    def visit_Not(self, cond: ast.Not) -> None:
        self.visit(cond.operand)

    def visit_Truthy(self, cond: ast.Truthy) -> None:
        kind = self.operand_kind(cond.operand)
        if kind not in ("yes/no", "unknown"):
            self.ctx.err(
                f"{operand_text(cond.operand)} is {article(kind)}, not yes/no; "
                "a condition needs a test",
                cond.span,
                hint="compare it, e.g. `population >= 10_000`, or test a list with `in`",
            )

    def visit_In(self, cond: ast.In) -> None:
        item = self.operand_kind(cond.item)
        box = self.operand_kind(cond.container, what="list")
        if "unknown" in (item, box):
            return
        if box == "group":
            if item != "text":
                self.ctx.err(f"only a text field can be in group {cond.container.value}",
                         cond.item.span, hint="e.g. customer_type in municipal")
        elif box == "list":
            if item != "text":
                self.ctx.err(
                    f"only text can be looked up in list {cond.container.value}; "
                    f"{operand_text(cond.item)} is {article(item)}",
                    cond.item.span,
                    hint="test a text such as name, id or customer_type against a list",
                )
        elif box in ("number", "year"):
            if item != "date":
                self.ctx.err(
                    f"`in {operand_text(cond.container)}` tests a date's year, but "
                    f"{operand_text(cond.item)} is {article(item)}",
                    cond.span,
                    hint="write e.g. `joined in 2023`, where joined is a date",
                )
            elif cond.container.kind == "number":
                year = cond.container.value
                assert isinstance(year, Decimal)
                if year != year.to_integral_value() or not 1900 <= year <= 2200:
                    self.ctx.err(
                        f"{plain(year)} is not a year",
                        cond.container.span,
                        hint="write a year such as 2023",
                    )
        else:
            self.ctx.err(
                f"{operand_text(cond.container)} is {article(box)}; "
                "`in` needs a list or a year",
                cond.container.span,
                hint="e.g. `name in crowdfunding_2022` or `joined in 2023`",
            )

    def visit_Compare(self, cond: ast.Compare) -> None:
        self.check_compare(cond)

    def check_compare(self, cond: ast.Compare) -> None:
        left_bands = name_of(cond.left) if self.ctx.sym.kind(name_of(cond.left) or "") == "bands" \
            else None
        left = self.operand_kind(cond.left)
        if left_bands is not None and cond.right.kind == "name":
            keys = self.ctx.sym.dimension_keys(left_bands) or ()
            if str(cond.right.value) not in keys:
                self.ctx.err(
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
                names = ", ".join(self.ctx.sym.dimension_keys(left_bands or "") or ())
                self.ctx.err(
                    f"{operand_text(cond.right)} is not a band of {left_bands}",
                    cond.right.span,
                    hint=f"the bands of {left_bands} are: {names}",
                )
            elif cond.op not in ("=", "!="):
                self.ctx.err(
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
                self.ctx.err(f"{article(left)} is compared with = or !=", cond.span)
            return
        self.ctx.err(
            f"cannot compare {operand_text(cond.left)} ({article(left)}) with "
            f"{operand_text(cond.right)} ({article(right)})",
            cond.span,
            hint="compare like with like: a number with a number, a date with a date",
        )

    def check_compare_units(self, cond: ast.Compare) -> None:
        units: list[Unit | None] = []
        for op in (cond.left, cond.right):
            if op.kind == "number":
                units.append(None)  # a literal adapts to the other side
            elif op.kind == "name":
                name = str(op.value)
                inp = self.ctx.sym.input(name)
                if inp is not None:
                    units.append(input_unit(inp))
                elif self.ctx.sym.param(name) is not None:
                    units.append(self.ctx.units.param_unit(name))
                elif self.ctx.sym.kind(name) in ("setting", "aggregate"):
                    # the unit of its type, or of the input it aggregates
                    units.append(self.ctx.units.numeric_unit(name, op.span))
                else:
                    units.append(PLAIN)
        a, b = units
        if a is not None and b is not None and a != b:
            self.ctx.err(
                f"cannot compare {a.describe(self.ctx.currency)} with {b.describe(self.ctx.currency)}",
                cond.span,
                hint="compare values of the same unit",
            )


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


def disjoint(a: ast.Cond, b: ast.Cond, sym: Symbols) -> bool:
    """True when no customer can meet both conditions (a safe approximation:
    False means 'may overlap')."""
    atoms_a = _atoms(a)
    atoms_b = _atoms(b)
    if atoms_a is None or atoms_b is None:
        return False
    la, lb = list(atoms_a), list(atoms_b)
    return any(_atoms_exclusive(x, y, sym) for x in la for y in lb)


def _atom(cond: ast.Cond) -> tuple[str, str, object] | None:
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


def _members(sym: Symbols, name: str) -> set[str] | None:
    """The texts a list or a group holds."""
    lst = sym.list_(name)
    if lst is not None:
        return {i.value for i in lst.items}
    if sym.group(name) is not None:
        return set(sym.group_members(name))
    return None


def _atoms_exclusive(x: ast.Cond, y: ast.Cond, sym: Symbols) -> bool:
    a, b = _atom(x), _atom(y)
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
