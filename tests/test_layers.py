"""The pipeline's import rules (docs/architecture.rst), checked from the source.

dsl/ imports nothing of takst outside takst.dsl; interpreter/ (the meaning of a
tariff) imports only takst.dsl and takst.interpreter and no I/O or CLI library; a
compiled engine under interpreter/batch/ never imports the reference interpreter.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IO_OR_CLI = {"argparse", "csv", "sqlite3", "http", "socket", "subprocess", "urllib"}


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _violations(folder: Path, allowed: tuple[str, ...], *, no_io: bool,
                forbidden: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for f in sorted(folder.rglob("*.py")):
        for line, name in _imports(f):
            where = f"{f.relative_to(folder.parent)}:{line}"
            if name.startswith("takst") and not name.startswith(allowed):
                bad.append(f"{where}: imports {name}")
            if forbidden and name.startswith(forbidden):
                bad.append(f"{where}: imports {name}")
            if no_io and name.split(".")[0] in IO_OR_CLI:
                bad.append(f"{where}: imports {name} (I/O or CLI in the semantics layer)")
    return bad


def test_dsl_imports_only_itself() -> None:
    """The language layer depends on nothing above it."""
    assert _violations(ROOT / "dsl", ("takst.dsl",), no_io=False) == []


def test_interpreter_imports_only_the_language_and_itself() -> None:
    """The meaning of a tariff has no registers, files, CLI or network in it."""
    assert _violations(ROOT / "interpreter", ("takst.dsl", "takst.interpreter"), no_io=True) == []


def test_batch_engines_never_import_the_reference_interpreter() -> None:
    """A compiled engine stands beside the interpreter: they share the model, not code."""
    batch = ROOT / "interpreter" / "batch"
    if not batch.is_dir():
        pytest.skip("no compiled engine in this tree")
    assert _violations(batch, ("takst.dsl", "takst.interpreter"), no_io=True,
                       forbidden=("takst.interpreter.evaluator",)) == []


def test_the_rules_find_a_violation(tmp_path: Path) -> None:
    """The check is not blind: bad imports are reported with their lines."""
    pkg = tmp_path / "interpreter"
    pkg.mkdir()
    (pkg / "m.py").write_text("import os\nfrom takst.cli import main\nimport csv\n"
                              "from takst.interpreter.evaluator import Evaluator\n",
                              encoding="utf-8")
    assert _violations(pkg, ("takst.dsl", "takst.interpreter"), no_io=True,
                       forbidden=("takst.interpreter.evaluator",)) == [
        "interpreter/m.py:2: imports takst.cli",
        "interpreter/m.py:3: imports csv (I/O or CLI in the semantics layer)",
        "interpreter/m.py:4: imports takst.interpreter.evaluator",
    ]
