"""Shared fixtures: the repository's folders and the seed tariffs, parsed once."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from paths import DATA, ROOT, RULES

from takst.dsl import ast
from takst.dsl.parser import parse_file
from takst.interpreter.evaluator import Evaluator


def pytest_configure(config: pytest.Config) -> None:
    """The test run keeps its parsed files and parser tables in a cache folder of its
    own (takst.dsl.cache), not in the user's: the commands it runs inherit it."""
    if "TAKST_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="takst-test-cache-")
        os.environ["TAKST_CACHE_DIR"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


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


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with copies of the OS2valghalla tariff and demo register (at
    rules/os2valghalla.tariff and data/os2valghalla_demo_2024.csv), as the cwd."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(RULES / "os2valghalla.tariff", tmp_path / "rules" / "os2valghalla.tariff")
    shutil.copy(DATA / "os2valghalla_demo_2024.csv",
                tmp_path / "data" / "os2valghalla_demo_2024.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path
