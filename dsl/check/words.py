"""Words and small facts the checks share: articles, sample values, operand texts."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal

from takst.dsl import ast
from takst.dsl.numbers import plain
from takst.dsl.symbols import input_unit
from takst.dsl.units import Unit

CURRENCY = re.compile(r"^[A-Z]{3}$")

#: What a condition operand turns out to be.
Kind = str  # "number", "date", "text", "yes/no", "list", "bands", "year", "bandkey", "unknown"


def article(kind: str) -> str:
    return {
        "input": "an input",
        "list": "a list",
        "bands": "bands",
        "param": "a param",
        "charge": "a charge",
        "builtin": "a customer field",
        "number": "a number",
        "date": "a date",
        "text": "text",
        "yes/no": "yes/no",
        "year": "a year",
        "bandkey": "a band",
        "inhabitants": "a number of inhabitants",
        "count": "a count",
        "money": "an amount",
        "setting": "a setting",
        "category": "a category",
        "group": "a group",
        "slices": "slices",
        "formula": "a formula",
        "aggregate": "an aggregate",
        "pool": "a pool",
        "proration": "a proration",
        "rounding": "a rounding",
    }.get(kind, kind)


def things(inp: ast.InputDecl) -> str:
    return "inhabitants" if inp.type.kind == "inhabitants" else (inp.type.counted or "things")


def value_hint(inp: ast.InputDecl) -> str:
    return f"e.g. {inp.name} {sample_value(inp)}"


def sample_value(inp: ast.InputDecl) -> str:
    return {
        "inhabitants": "41_000",
        "yes/no": "yes",
        "date": "2024-01-01",
        "text": '"text"',
        "number": "1",
        "money": "1_000",
        "count": "100",
    }[inp.type.kind]


def operand_text(op: ast.Operand) -> str:
    if op.kind == "text":
        return f'"{op.value}"'
    if op.kind == "yes/no":
        return "yes" if op.value else "no"
    if op.kind == "number":
        assert isinstance(op.value, Decimal)
        return plain(op.value)
    return str(op.value)


def name_of(op: ast.Operand) -> str | None:
    return str(op.value) if op.kind == "name" else None


def is_zero(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Number) and expr.value == 0 and not expr.per


def type_unit(t: ast.InputType) -> Unit | None:
    return input_unit(ast.InputDecl("_", None, t, span=t.span))


def refs(expr: ast.Expr) -> list[str]:
    """Every name an expression refers to (not looking into params), each once."""
    names = [n.name for n in ast.find_all(expr, ast.Ref)]
    names += [c.dim.name for c in ast.find_all(expr, ast.Cases)]
    return list(dict.fromkeys(names))


def same_result(a: ast.Expr, b: ast.Expr) -> bool:
    if is_zero(a) and is_zero(b):
        return True
    return a == b  # spans are not part of equality


def close_names(name: str, table: dict[str, object] | object) -> str | None:
    names = list(table) if isinstance(table, dict) else []
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.75)  # float-ok: name likeness
    return match[0] if match else None
