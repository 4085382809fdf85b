"""The tariff lexer lives in the package (``takst.lexer``); this name stays for the docs' tests."""

from __future__ import annotations

from takst.lexer import BUILTINS, KEYWORDS, TariffLexer

__all__ = ["BUILTINS", "KEYWORDS", "TariffLexer"]
