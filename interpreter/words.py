"""How engines name a tariff's expressions in traces and messages: as the author wrote
them. Shared by the reference interpreter and the compiled engines, so that the same
expression reads the same in every engine's words."""

from __future__ import annotations

from takst.dsl import ast
from takst.dsl.numbers import group

#: The sign of each operator as a controller reads it.
OP_SIGN = {"+": "+", "-": "-", "*": "×", "/": "/"}


def number_text(e: ast.Number) -> str:
    """A number as written, with its unit: ``1.50 DKK per inhabitant``, ``25 %``."""
    text = group(e.value)
    if e.percent:
        return f"{text} %"
    if e.currency and e.per:
        return f"{text} {e.currency} per {e.per}"
    if e.currency:
        return f"{text} {e.currency}"
    return text


def expr_label(e: ast.Expr) -> str:
    """The expression as the author wrote it (names and literals), for the trace."""
    if isinstance(e, ast.Number):
        return number_text(e)
    if isinstance(e, ast.Ref):
        return e.name
    if isinstance(e, ast.Call):
        return f"{e.name}(…)"
    if isinstance(e, ast.Cases):
        return f"by {e.dim.name}"
    if isinstance(e, ast.Extreme):  # issue 12
        inner = ", ".join(expr_label(a) for a in e.args)
        return f"{e.op}({inner if len(inner) <= 40 else '…'})"
    if isinstance(e, ast.PerStarted):
        qty = e.quantity
        of = qty.name if isinstance(qty, ast.Ref) else f"of {expr_label(qty)}"
        return f"{expr_label(e.price)} per started {group(e.block)} {of}"
    if isinstance(e, ast.RoundExpr):
        return "round(…)"
    assert isinstance(e, ast.BinOp)
    parts = []
    for side in (e.left, e.right):
        if isinstance(side, ast.BinOp):
            inner = expr_label(side)
            # a long inner part was worked out on an earlier line: refer to it
            parts.append(f"({inner})" if len(inner) <= 30 else "(…)")
        else:
            parts.append(expr_label(side))
    return f" {OP_SIGN[e.op]} ".join(parts)
