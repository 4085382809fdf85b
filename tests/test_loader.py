"""Imports: stdlib modules by name, files by relative path, and containment: a tariff
reads only stdlib/ and files inside its own project, and never runs or fetches anything."""

from __future__ import annotations

import ast as pyast
import os
import socket
import subprocess
from pathlib import Path

import pytest
from paths import ROOT

from takst.dsl.check import check
from takst.dsl.errors import TariffSyntaxError
from takst.dsl.loader import load_tariff
from takst.interpreter.evaluator import Evaluator
from takst.testing.specs import run_examples

HEADER = 'tariff t "T"\n  currency NOK\n  source "test"\n'
MODULE = 'module common "Common"\n  currency NOK\n  source "test"\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (marked by pyproject.toml) with a tariffs/ subfolder."""
    root = tmp_path / "proj"
    (root / "tariffs" / "lib").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n", encoding="utf-8")
    return root


def errors(path: Path) -> list[str]:
    with pytest.raises(TariffSyntaxError) as info:
        load_tariff(path)
    return [f"{d.span.line}:{d.span.column}: {d.message}" if d.span else d.message
            for d in info.value.diagnostics]


def test_stdlib_module_by_name(project: Path) -> None:
    """`import customer_types` brings the six customer types and their groups."""
    t = project / "tariffs" / "a.tariff"
    t.write_text(HEADER + "import customer_types\ncharge c every year\n  by customer_type\n"
                 "    municipal 1 NOK\n    state_and_private 2 NOK\n", encoding="utf-8")
    tariff = load_tariff(t)
    assert [c.name for c in tariff.categories[0].items][:2] == ["KOMMUNE", "FYLKESKOMMUNE"]
    assert check(tariff) == []
    assert tariff.modules and tariff.modules[0].endswith("customer_types.tariff")


def test_relative_import_inside_the_project(project: Path) -> None:
    """A file in the project can be imported by a path relative to the importer."""
    (project / "tariffs" / "lib" / "prices.tariff").write_text(
        MODULE + "param fee = 100 NOK\n", encoding="utf-8")
    t = project / "tariffs" / "a.tariff"
    t.write_text(HEADER + 'import "lib/prices.tariff"\ncharge c every year\n  amount fee\n'
                 'example "uses the module"\n  billing year 2025\n  expect c 100\n',
                 encoding="utf-8")
    tariff = load_tariff(t)
    assert [o.passed for o in run_examples(Evaluator(tariff))] == [True]


def test_etc_passwd_is_refused(project: Path) -> None:
    """`import "../../etc/passwd"` is a positioned error: it leaves the project."""
    t = project / "tariffs" / "a.tariff"
    t.write_text(HEADER + 'import "../../etc/passwd"\n', encoding="utf-8")
    (msg,) = errors(t)
    assert msg.startswith("4:8: ../../etc/passwd is outside the project: the path leads out of")


def test_absolute_path_is_refused(project: Path) -> None:
    """An absolute import path is refused, whatever it names."""
    t = project / "tariffs" / "a.tariff"
    t.write_text(HEADER + 'import "/etc/passwd"\n', encoding="utf-8")
    assert errors(t) == ["4:8: imports use relative paths; /etc/passwd is absolute"]


def test_symlink_escape_is_refused(project: Path, tmp_path: Path) -> None:
    """A symbolic link inside the project that points outside it is refused."""
    outside = tmp_path / "outside.tariff"
    outside.write_text(MODULE + "param fee = 1 NOK\n", encoding="utf-8")
    link = project / "tariffs" / "lib" / "link.tariff"
    os.symlink(outside, link)
    t = project / "tariffs" / "a.tariff"
    t.write_text(HEADER + 'import "lib/link.tariff"\n', encoding="utf-8")
    (msg,) = errors(t)
    assert "is outside the project: a symbolic link leads out of" in msg


def test_missing_module_and_cycle(project: Path) -> None:
    """A missing file and a circle of imports are positioned errors."""
    lib = project / "tariffs" / "lib"
    (lib / "a.tariff").write_text(MODULE.replace("common", "a") + 'import "b.tariff"\n',
                                  encoding="utf-8")
    (lib / "b.tariff").write_text(MODULE.replace("common", "b") + 'import "a.tariff"\n',
                                  encoding="utf-8")
    t = project / "tariffs" / "main.tariff"
    t.write_text(HEADER + 'import "lib/a.tariff"\nimport "lib/none.tariff"\n'
                 "import no_such_module\n", encoding="utf-8")
    msgs = errors(t)
    assert any("these imports go round in a circle" in m for m in msgs)
    assert any(m.startswith("5:8: no module file lib/none.tariff") for m in msgs)
    assert any(m.startswith("6:8: there is no stdlib module no_such_module") for m in msgs)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"], ids=["NUL", "ESC", "DEL"])
def test_a_control_character_in_an_import_path_is_a_positioned_error(
    project: Path, char: str
) -> None:
    """An import path holding a NUL (or another control character) is refused at the import,
    before any file is looked for."""
    t = project / "tariffs" / "main.tariff"
    t.write_text(HEADER + f'import "lib/a{char}b.tariff"\n', encoding="utf-8")
    (msg,) = errors(t)
    assert msg.startswith("4:8: the import path holds an invisible control character (")
    from takst.cli import main

    code = main(["check", str(t)], _Sink(), err := _Sink())
    assert code == 1 and "internal error" not in err.text


class _Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_chain_of_1500_imports_is_a_positioned_error(project: Path) -> None:
    """Imports nest at most MAX_IMPORT_DEPTH modules deep: a chain of 1 500 modules stops with
    one positioned error at the import that goes one level too deep (no RecursionError)."""
    from takst.dsl.loader import MAX_IMPORT_DEPTH

    lib = project / "tariffs" / "lib"
    for n in range(1500):
        nxt = f'import "m{n + 1}.tariff"\n' if n < 1499 else ""
        (lib / f"m{n}.tariff").write_text(MODULE.replace("common", f"m{n}") + nxt,
                                          encoding="utf-8")
    t = project / "tariffs" / "main.tariff"
    t.write_text(HEADER + 'import "lib/m0.tariff"\n', encoding="utf-8")
    (msg,) = errors(t)
    assert msg == (f"4:8: imports nest more than {MAX_IMPORT_DEPTH} modules deep "
                   f"(this import is level {MAX_IMPORT_DEPTH + 1})") or msg.endswith(
        f"imports nest more than {MAX_IMPORT_DEPTH} modules deep "
        f"(this import is level {MAX_IMPORT_DEPTH + 1})")
    assert MAX_IMPORT_DEPTH == 50


def test_a_chain_just_within_the_import_limit_loads(project: Path) -> None:
    """A chain of exactly MAX_IMPORT_DEPTH modules loads, with every module's definitions."""
    from takst.dsl.loader import MAX_IMPORT_DEPTH

    lib = project / "tariffs" / "lib"
    for n in range(MAX_IMPORT_DEPTH):
        nxt = f'import "m{n + 1}.tariff"\n' if n < MAX_IMPORT_DEPTH - 1 else ""
        (lib / f"m{n}.tariff").write_text(
            MODULE.replace("common", f"m{n}") + nxt + f"param p{n} = 1 NOK\n", encoding="utf-8")
    t = project / "tariffs" / "main.tariff"
    t.write_text(HEADER + 'import "lib/m0.tariff"\n', encoding="utf-8")
    assert len(load_tariff(t).params) == MAX_IMPORT_DEPTH


def test_a_tariff_is_not_a_module(project: Path) -> None:
    """Only files that start with `module` can be imported."""
    (project / "tariffs" / "other.tariff").write_text(HEADER, encoding="utf-8")
    t = project / "tariffs" / "a.tariff"
    t.write_text(HEADER + 'import "other.tariff"\n', encoding="utf-8")
    assert errors(t) == ["4:8: other.tariff is a tariff, not a module"] or any(
        "is a tariff, not a module" in m for m in errors(t))


def test_nothing_is_run_or_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking and testing every seed tariff opens no socket and starts no process."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("takst tried to reach the network or run a program")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "system", refuse)
    for path in sorted((ROOT / "rules").glob("*.tariff")):
        tariff = load_tariff(path)
        assert all(o.passed for o in run_examples(Evaluator(tariff)))


def test_no_dynamic_code_in_the_engine() -> None:
    """The parser, checker, loader and interpreter never exec, eval or import networking."""
    banned_calls = {"exec", "eval", "compile", "__import__"}
    banned_modules = {"socket", "urllib", "http", "subprocess", "requests", "pickle"}
    found = []
    for folder in ("dsl", "interpreter"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = pyast.parse(path.read_text(encoding="utf-8"))
            for node in pyast.walk(tree):
                if isinstance(node, pyast.Call) and getattr(node.func, "id", None) in banned_calls:
                    found.append(f"{path.name}:{node.lineno}")
                if isinstance(node, pyast.Import | pyast.ImportFrom):
                    names = [a.name for a in node.names] if isinstance(node, pyast.Import) else [
                        node.module or ""]
                    found += [f"{path.name}:{node.lineno} {n}" for n in names
                              if n.split(".")[0] in banned_modules]
    assert found == []
