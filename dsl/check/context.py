"""What every check shares: the tariff, its symbols, the diagnostics found so far,
the names used, and the one place errors and warnings are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.check.words import close_names
from takst.dsl.errors import Diagnostic, Span, diagnostic
from takst.dsl.symbols import Symbols

if TYPE_CHECKING:
    from takst.dsl.check.conditions import Conditions
    from takst.dsl.check.units import Units


class Context:
    """The state of one check of one tariff."""

    units: Units
    conds: Conditions

    def __init__(self, tariff: ast.Tariff) -> None:
        self.t = tariff
        self.sym = Symbols(tariff)
        self.diags: list[Diagnostic] = []
        self.used: set[str] = set()
        self.currency = tariff.currency

    def err(
        self,
        message: str,
        span: Span | None,
        hint: str | None = None,
        *,
        related: Sequence[tuple[str, Span]] = (),
    ) -> None:
        self.diags.append(diagnostic(message, span, hint=hint, related=related))

    def warn(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diags.append(diagnostic(message, span, hint=hint, severity="warning"))

    def ref(self, name: str, span: Span, what: str) -> str | None:
        """Resolve a name used as ``what``; report it when undefined. Returns its kind."""
        sym = self.sym.get(name)
        if sym is None:
            close = close_names(name, self.sym.table)
            hint = f"did you mean {close}?" if close else {
                "list": f'declare the list, e.g.  list {name} = "Ballerup", "Brøndby"',
                "value": f"declare it, e.g.  input {name}: inhabitants",
                "date": f"declare it, e.g.  input {name}: date",
            }.get(what, f"declare {name} before using it")
            self.err(f"{name} is not defined", span, hint=hint)
            return None
        self.used.add(name)
        return sym.kind
