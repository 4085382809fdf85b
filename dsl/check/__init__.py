"""Static checks of a parsed tariff, before any evaluation.

:func:`check` returns every diagnostic of a file (errors and warnings), in file
order. A tariff with errors is never evaluated. What is checked, module by module:

* :mod:`.declarations`: the header; names undefined, duplicated, unused, clashing
  with the customer fields; inputs, lists, categories, groups, formulas,
  aggregates, pools, prorations, properties;
* :mod:`.units`: money + inhabitants, money × money, a charge that is not money,
  pending amounts used in a calculation;
* :mod:`.bands`: gaps, overlaps and unreachable bands and slices, naming the exact value;
* :mod:`.tables`: missing or unknown rows and columns, rows of the wrong width,
  cases that miss a value or cover one twice;
* :mod:`.conditions`: conditions that compare things of different kinds;
* :mod:`.charges`: exceptions that can fire together with different results and no priority;
* :mod:`.examples`: examples that give unknown inputs, miss inputs, or expect unknown charges;
* :mod:`.vat`: the VAT a tariff states (one, a percentage, no case not offered) and charges
  exempt from it.

:class:`Checker` dispatches on each declaration's class (``visit_<Class>``).
"""

from __future__ import annotations

from takst.dsl import ast
from takst.dsl.check import bands, charges, declarations, examples, periods, vat
from takst.dsl.check.bands import analyse_bands
from takst.dsl.check.conditions import Conditions, disjoint
from takst.dsl.check.context import Context
from takst.dsl.check.units import Units
from takst.dsl.errors import CheckError, Diagnostic
from takst.dsl.units import Unit
from takst.dsl.visitor import NodeVisitor

__all__ = ["Checker", "analyse_bands", "check", "disjoint", "errors_of", "expression_unit",
           "require_no_errors"]

#: The order in which declarations are checked: a kind before the kinds that use it,
#: so what a charge uses has been checked (and its unit worked out) first.
ORDER: tuple[type[ast.Node], ...] = (
    ast.InputDecl,
    ast.ListDecl,
    ast.CategoriesDecl,
    ast.GroupDecl,
    ast.BandsDecl,
    ast.SlicesDecl,
    ast.FormulaDecl,
    ast.ParamDecl,
    ast.AggregateDecl,
    ast.PoolDecl,
    ast.ProrationDecl,
    ast.VatDecl,
    ast.ChargeDecl,
    ast.Example,
    ast.PropertyDecl,
)


def check(tariff: ast.Tariff) -> list[Diagnostic]:
    """Every problem of ``tariff``, errors and warnings, sorted by position."""
    checker = Checker(tariff)
    checker.run()
    return sorted(
        checker.ctx.diags,
        key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0),
    )


def expression_unit(tariff: ast.Tariff, expr: ast.Expr) -> Unit | None:
    """The unit of an expression of ``tariff`` (None when it has none or is inconsistent);
    for an editor's hover. Problems found on the way are not reported here: see :func:`check`."""
    return Checker(tariff).ctx.units.unit(expr)


def errors_of(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.is_error]


def require_no_errors(tariff: ast.Tariff) -> None:
    """Raise :class:`~takst.dsl.errors.CheckError` with the tariff's errors, if it has any
    (what an engine given an unchecked tariff does first)."""
    errors = errors_of(check(tariff))
    if errors:
        raise CheckError(errors)


class Checker(NodeVisitor[None]):
    """Checks one tariff: one method per kind of declaration."""

    def __init__(self, tariff: ast.Tariff) -> None:
        self.ctx = Context(tariff)
        self.ctx.units = Units(self.ctx)
        self.ctx.conds = Conditions(self.ctx)

    def run(self) -> None:
        ctx = self.ctx
        declarations.check_header(ctx)
        declarations.check_names(ctx)
        for kind in ORDER:
            for decl in ctx.t.of_kind(kind):
                self.visit(decl)
        declarations.check_unused(ctx)

    def visit_InputDecl(self, decl: ast.InputDecl) -> None:
        declarations.check_input(self.ctx, decl)

    def visit_ListDecl(self, decl: ast.ListDecl) -> None:
        declarations.check_list(self.ctx, decl)

    def visit_CategoriesDecl(self, decl: ast.CategoriesDecl) -> None:
        declarations.check_categories(self.ctx, decl)

    def visit_GroupDecl(self, decl: ast.GroupDecl) -> None:
        declarations.check_group(self.ctx, decl)

    def visit_BandsDecl(self, decl: ast.BandsDecl) -> None:
        bands.check_bands(self.ctx, decl)

    def visit_SlicesDecl(self, decl: ast.SlicesDecl) -> None:
        bands.check_slices(self.ctx, decl)

    def visit_FormulaDecl(self, decl: ast.FormulaDecl) -> None:
        declarations.check_formula(self.ctx, decl)

    def visit_ParamDecl(self, decl: ast.ParamDecl) -> None:
        sym = self.ctx.sym.get(decl.name)
        if sym is not None and sym.decl is decl:  # a duplicate is reported by check_names
            self.ctx.units.param_unit(decl.name)
            periods.check_dated_rule(self.ctx, decl)  # issue 12

    def visit_AggregateDecl(self, decl: ast.AggregateDecl) -> None:
        declarations.check_aggregate(self.ctx, decl)

    def visit_PoolDecl(self, decl: ast.PoolDecl) -> None:
        declarations.check_pool(self.ctx, decl)

    def visit_ProrationDecl(self, decl: ast.ProrationDecl) -> None:
        declarations.check_proration_decl(self.ctx, decl)

    def visit_ChargeDecl(self, decl: ast.ChargeDecl) -> None:
        charges.check_charge(self.ctx, decl)
        vat.check_exempt(self.ctx, decl)

    def visit_VatDecl(self, decl: ast.VatDecl) -> None:
        vat.check_vat(self.ctx, decl)

    def visit_Example(self, decl: ast.Example) -> None:
        examples.check_example(self.ctx, decl)

    def visit_PropertyDecl(self, decl: ast.PropertyDecl) -> None:
        declarations.check_property(self.ctx, decl)
