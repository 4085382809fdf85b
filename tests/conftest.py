"""Shared fixtures: the repository's folders and the seed tariffs, parsed once."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import ROOT, RULES

from takst.dsl import ast
from takst.dsl.parser import parse_file
from takst.interpreter.evaluator import Evaluator


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def os2() -> ast.Tariff:
    return parse_file(RULES / "os2valghalla.tariff", "rules/os2valghalla.tariff")


@pytest.fixture(scope="session")
def kongsberg() -> ast.Tariff:
    return parse_file(RULES / "kongsbergregionen.tariff", "rules/kongsbergregionen.tariff")


@pytest.fixture(scope="session")
def os2_eval(os2: ast.Tariff) -> Evaluator:
    return Evaluator(os2)


@pytest.fixture(scope="session")
def kongsberg_eval(kongsberg: ast.Tariff) -> Evaluator:
    return Evaluator(kongsberg)
