"""The tariff language: grammar, parser, AST, checker."""
