"""What each name in a tariff refers to. Pure lookups over the AST, shared by the
checker and by every evaluation backend; no evaluation happens here."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import attrs

from takst.dsl import ast
from takst.dsl.units import INHABITANTS, MONEY_UNIT, PLAIN, Unit

#: Customer fields every register has, usable in any tariff without an ``input`` line.
BUILTIN_TEXT = ("id", "name", "customer_type")
#: The billing year being evaluated (a whole number, e.g. 2024).
BILLING_YEAR = "billing_year"
BUILTINS = (*BUILTIN_TEXT, BILLING_YEAR)
#: issue 12: ``aggregate n = count of customers``: every customer among the members.
COUNT_ALL = "customers"

SymbolKind = Literal[
    "input",
    "setting",
    "list",
    "category",
    "group",
    "bands",
    "slices",
    "param",
    "formula",
    "aggregate",
    "pool",
    "proration",
    "rounding",
    "charge",
    "builtin",
    "vat",  # issue 12
]


@attrs.frozen
class Symbol:
    kind: SymbolKind
    name: str
    decl: ast.Decl | None  # None for builtins


def input_unit(decl: ast.InputDecl) -> Unit | None:
    """The unit of a numeric input, or None for yes/no, date and text."""
    kind = decl.type.kind
    if kind == "inhabitants":
        return INHABITANTS
    if kind == "count":
        return Unit.count(decl.type.counted or "thing")
    if kind == "number":
        return PLAIN
    if kind == "money":
        return MONEY_UNIT
    return None


def value_kind(decl: ast.InputDecl) -> str:
    """``number`` for numeric inputs, else the input's own kind (``yes/no``, ``date``, ``text``)."""
    return "number" if input_unit(decl) is not None else decl.type.kind


class Symbols:
    """Name -> declaration for one tariff. Later declarations of a taken name are
    kept in :attr:`duplicates` for the checker to report."""

    def __init__(self, tariff: ast.Tariff) -> None:
        self.table: dict[str, Symbol] = {}
        self.duplicates: list[tuple[Symbol, Symbol]] = []
        for name in BUILTINS:
            self.table[name] = Symbol("builtin", name, None)
        #: categories declarations by the text field they type (``customer_type``).
        self.categories: dict[str, ast.CategoriesDecl] = {}
        #: category name -> its categories declaration.
        self.category_of: dict[str, ast.CategoriesDecl] = {}
        decls: list[tuple[SymbolKind, ast.Decl]] = [
            *(("input", d) for d in tariff.inputs),
            *(("setting", d) for d in tariff.settings),
            *(("list", d) for d in tariff.lists),
            *(("category", c) for d in tariff.categories for c in d.items),
            *(("group", d) for d in tariff.groups),
            *(("bands", d) for d in tariff.bands),
            *(("slices", d) for d in tariff.slices),
            *(("param", d) for d in tariff.params),
            *(("formula", d) for d in tariff.formulas),
            *(("aggregate", d) for d in tariff.aggregates),
            *(("pool", d) for d in tariff.pools),
            *(("proration", d) for d in tariff.prorations),
            *(("rounding", d) for d in tariff.roundings),
            *(("charge", d) for d in tariff.charges),
            *(("vat", d) for d in tariff.vats),
        ]
        for cats in tariff.categories:
            self.categories.setdefault(cats.name, cats)
            for item in cats.items:
                self.category_of.setdefault(item.name, cats)
        for kind, decl in sorted(
            decls,
            key=lambda kd: (
                kd[1].span.file != tariff.file, kd[1].span.file, kd[1].span.line, kd[1].span.column
            ),
        ):
            sym = Symbol(kind, decl.name, decl)
            if decl.name in self.table:
                self.duplicates.append((self.table[decl.name], sym))
            else:
                self.table[decl.name] = sym

    def get(self, name: str) -> Symbol | None:
        return self.table.get(name)

    def kind(self, name: str) -> SymbolKind | None:
        sym = self.table.get(name)
        return sym.kind if sym else None

    def inputs(self) -> dict[str, ast.InputDecl]:
        return {
            s.name: s.decl
            for s in self.table.values()
            if s.kind == "input" and isinstance(s.decl, ast.InputDecl)
        }

    def bands(self, name: str) -> ast.BandsDecl | None:
        sym = self.table.get(name)
        return sym.decl if sym and isinstance(sym.decl, ast.BandsDecl) else None

    def list_(self, name: str) -> ast.ListDecl | None:
        sym = self.table.get(name)
        return sym.decl if sym and isinstance(sym.decl, ast.ListDecl) else None

    def input(self, name: str) -> ast.InputDecl | None:
        sym = self.table.get(name)
        return sym.decl if sym and isinstance(sym.decl, ast.InputDecl) else None

    def param(self, name: str) -> ast.ParamDecl | None:
        sym = self.table.get(name)
        return sym.decl if sym and isinstance(sym.decl, ast.ParamDecl) else None

    def decl(self, name: str, kind: SymbolKind) -> ast.Decl | None:
        sym = self.table.get(name)
        return sym.decl if sym is not None and sym.kind == kind else None

    def setting(self, name: str) -> ast.SettingDecl | None:
        d = self.decl(name, "setting")
        return d if isinstance(d, ast.SettingDecl) else None

    def group(self, name: str) -> ast.GroupDecl | None:
        d = self.decl(name, "group")
        return d if isinstance(d, ast.GroupDecl) else None

    def slices(self, name: str) -> ast.SlicesDecl | None:
        d = self.decl(name, "slices")
        return d if isinstance(d, ast.SlicesDecl) else None

    def formula(self, name: str) -> ast.FormulaDecl | None:
        d = self.decl(name, "formula")
        return d if isinstance(d, ast.FormulaDecl) else None

    def aggregate(self, name: str) -> ast.AggregateDecl | None:
        d = self.decl(name, "aggregate")
        return d if isinstance(d, ast.AggregateDecl) else None

    def pool(self, name: str) -> ast.PoolDecl | None:
        d = self.decl(name, "pool")
        return d if isinstance(d, ast.PoolDecl) else None

    def proration(self, name: str) -> ast.ProrationDecl | None:
        d = self.decl(name, "proration")
        return d if isinstance(d, ast.ProrationDecl) else None

    def rounding(self, name: str) -> ast.RoundingDecl | None:
        d = self.decl(name, "rounding")
        return d if isinstance(d, ast.RoundingDecl) else None


    def rule_of(self, r: ast.Rounding | ast.RoundExpr) -> tuple[Decimal, str, ast.RoundMode]:
        """The step (with its text) and the mode of a rounding: its policy's when it names
        one (``round with to_ore``), else its own."""
        if r.policy is not None:
            pol = self.rounding(r.policy.name)
            assert pol is not None  # the checker refuses a policy that is not a rounding
            return pol.step, pol.step_text, pol.mode
        return r.step, r.step_text, r.mode
    def aggregates_read(self, *nodes: ast.Node) -> list[str]:
        """The aggregates ``nodes`` read, directly or through params, formulas, slices and
        pools, in the order they are met (each once). A formula's parameters hide the
        declarations of their names inside its body."""
        found: list[str] = []
        seen: set[str] = set()
        work: list[tuple[ast.Node, frozenset[str]]] = [(n, frozenset()) for n in nodes]
        while work:
            node, hidden = work.pop(0)
            for n in ast.walk(node):
                if isinstance(n, ast.Ref | ast.Call):
                    name = n.name
                elif isinstance(n, ast.Operand) and n.kind == "name":
                    name = str(n.value)
                else:
                    continue
                if name in hidden or name in seen:
                    continue
                seen.add(name)
                sym = self.table.get(name)
                if sym is None or sym.decl is None:
                    continue
                if sym.kind == "aggregate":
                    found.append(name)
                elif isinstance(sym.decl, ast.FormulaDecl):
                    work.append((sym.decl.body, frozenset(p.name for p in sym.decl.params)))
                elif sym.kind in ("param", "slices", "pool"):
                    work.append((sym.decl, frozenset()))
        return found

    def group_members(self, name: str) -> tuple[str, ...]:
        g = self.group(name)
        return tuple(m.name for m in g.members) if g is not None else ()

    def dimension_keys(self, name: str) -> tuple[str, ...] | None:
        """The values a dimension takes: band names, yes/no, or categories."""
        bands = self.bands(name)
        if bands is not None:
            return tuple(b.name for b in bands.bands)
        inp = self.input(name)
        if inp is not None and inp.type.kind == "yes/no":
            return ("yes", "no")
        cats = self.categories.get(name)
        if cats is not None:
            return tuple(c.name for c in cats.items)
        return None

    def dimension_groups(self, name: str) -> dict[str, tuple[str, ...]]:
        """Groups usable as keys of a categorised dimension, with their members."""
        cats = self.categories.get(name)
        if cats is None:
            return {}
        names = {c.name for c in cats.items}
        out: dict[str, tuple[str, ...]] = {}
        for sym in self.table.values():
            if sym.kind == "group" and isinstance(sym.decl, ast.GroupDecl):
                members = tuple(m.name for m in sym.decl.members)
                if members and set(members) <= names:
                    out[sym.name] = members
        return out
