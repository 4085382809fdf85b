"""Packaging: everything is importable under the takst namespace and nothing else."""

from __future__ import annotations

import importlib.util
from importlib import resources


def test_no_top_level_dsl_module() -> None:
    """The folders dsl/ and interpreter/ are installed as takst.dsl and takst.interpreter only."""
    assert importlib.util.find_spec("dsl") is None
    assert importlib.util.find_spec("interpreter") is None
    assert importlib.util.find_spec("takst.dsl") is not None
    assert importlib.util.find_spec("takst.interpreter") is not None


def test_grammar_ships_as_package_data() -> None:
    """The Lark grammar is read from the installed package, not from the working folder."""
    text = resources.files("takst.dsl").joinpath("tariff.lark").read_text(encoding="utf-8")
    assert text.startswith("// The takst tariff language")


def test_stdlib_is_a_package() -> None:
    """stdlib/ is importable as takst.stdlib so its .tariff modules ship in the wheel."""
    assert resources.files("takst.stdlib").is_dir()
