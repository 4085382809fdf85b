"""What each name in a tariff refers to. Pure lookups over the AST, shared by the
checker and by every evaluation backend; no evaluation happens here."""

from __future__ import annotations

from typing import Literal

import attrs

from takst.dsl import ast
from takst.dsl.units import INHABITANTS, MONEY_UNIT, PLAIN, Unit

#: Customer fields every register has, usable in any tariff without an ``input`` line.
BUILTIN_TEXT = ("id", "name", "customer_type")
#: The billing year being evaluated (a whole number, e.g. 2024).
BILLING_YEAR = "billing_year"
BUILTINS = (*BUILTIN_TEXT, BILLING_YEAR)

SymbolKind = Literal["input", "list", "bands", "param", "charge", "builtin"]


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
        decls: list[tuple[SymbolKind, ast.Decl]] = [
            *(("input", d) for d in tariff.inputs),
            *(("list", d) for d in tariff.lists),
            *(("bands", d) for d in tariff.bands),
            *(("param", d) for d in tariff.params),
            *(("charge", d) for d in tariff.charges),
        ]
        for kind, decl in sorted(decls, key=lambda kd: (kd[1].span.line, kd[1].span.column)):
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

    def dimension_keys(self, name: str) -> tuple[str, ...] | None:
        """The keys a table dimension can take: band names, or yes/no."""
        bands = self.bands(name)
        if bands is not None:
            return tuple(b.name for b in bands.bands)
        inp = self.input(name)
        if inp is not None and inp.type.kind == "yes/no":
            return ("yes", "no")
        return None
