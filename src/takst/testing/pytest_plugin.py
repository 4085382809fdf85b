"""pytest plugin: the ``example`` blocks of ``.tariff`` files are test items.

Registered through the ``pytest11`` entry point, so it is on wherever takst is
installed: ``pytest`` in a folder of tariffs collects every ``example`` block of
every ``*.tariff`` file it meets (modules too) as an item named
``FILE.tariff::TITLE``, and every declared ``property`` as ``FILE.tariff::property
NAME``. The file is loaded with its imports and checked by the session
(:mod:`takst.session`), exactly as ``takst test`` does, and each example is run
by the same code (:func:`run_example`), so the two agree on what passes.

* A failing example shows, in pytest's report, the expected and actual amount of
  each charge and the trace of the actual result (:func:`report_failure`).
* A file that does not parse or check is one failing item, ``FILE.tariff::takst
  check``, whose report is the positioned diagnostics.

Options:

* ``--no-takst`` on the command line, or ``takst = false`` in the ini file
  (``[tool.pytest.ini_options]``), turns collection off (as does ``-p no:takst``).
* ``takst_ignore``: glob patterns, relative to the rootdir, of tariff files not
  to collect, e.g. deliberately broken golden inputs::

      [tool.pytest.ini_options]
      takst_ignore = ["tests/cases/*", "tests/fixtures/*"]

  (pytest's own ``--ignore`` and ``collect_ignore`` work as well; the option
  exists so that a tariff repository can say it once, next to ``testpaths``.)
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from takst.dsl import ast
    from takst.dsl.errors import Diagnostic
    from takst.interpreter.evaluator import Evaluator
    from takst.session import Session


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("takst", "takst tariff examples")
    group.addoption("--no-takst", action="store_true", default=False,
                    help="do not collect the example blocks of .tariff files as tests")
    parser.addini("takst", type="bool", default=True,
                  help="collect the example blocks of .tariff files as tests (default: true)")
    parser.addini("takst_ignore", type="linelist", default=[],
                  help="glob patterns (relative to the rootdir) of .tariff files not to collect")


def _enabled(config: pytest.Config) -> bool:
    return not config.getoption("no_takst") and bool(config.getini("takst"))


def _ignored(path: Path, config: pytest.Config) -> bool:
    try:
        rel = path.relative_to(config.rootpath).as_posix()
    except ValueError:
        rel = path.as_posix()
    patterns: list[str] = config.getini("takst_ignore")
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.rstrip("/") + "/*")
               for p in patterns)


_SESSION = pytest.StashKey["Session"]()


def _session(config: pytest.Config) -> Session:
    """The takst session of this pytest run (its cache lives as long as the run)."""
    from takst.session import Session

    if _SESSION not in config.stash:
        config.stash[_SESSION] = Session()
    return config.stash[_SESSION]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> TariffFile | None:
    if file_path.suffix != ".tariff" or not _enabled(parent.config):
        return None
    if _ignored(file_path, parent.config):
        return None
    file: TariffFile = TariffFile.from_parent(parent, path=file_path)
    return file


def _shown_path(path: Path) -> str:
    """The path as ``takst test`` would show it: relative to the working folder if inside it."""
    rel = os.path.relpath(path)
    return path.as_posix() if rel.startswith("..") else Path(rel).as_posix()


class TariffFile(pytest.File):
    """A ``.tariff`` file: one item per example (and per declared property)."""

    def collect(self) -> Iterator[pytest.Item]:
        from takst.interpreter.evaluator import Evaluator

        checked = _session(self.config).check(_shown_path(self.path))
        tariff = checked.tariff
        if tariff is None or not checked.ok:
            yield TariffProblemItem.from_parent(self, name="takst check",
                                                diagnostics=checked.diagnostics)
            return
        evaluator = Evaluator(tariff, checked=True)
        seen: set[str] = set()
        for example in tariff.examples:
            name = example.title
            n = 1
            while name in seen:  # two examples with one title still get two items
                n += 1
                name = f"{example.title} ({n})"
            seen.add(name)
            yield ExampleItem.from_parent(self, name=name, evaluator=evaluator, example=example)
        for prop in getattr(tariff, "properties", ()):
            yield PropertyItem.from_parent(self, name=f"property {prop.name}",
                                           evaluator=evaluator, prop=prop)


class TariffFailure(Exception):
    """An example or property of a tariff failed; ``text`` is takst's report of it."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _TariffItem(pytest.Item):
    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, TariffFailure):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)


class ExampleItem(_TariffItem):
    """One ``example`` block: passes when every expected amount is the actual one."""

    def __init__(self, *, evaluator: Evaluator, example: ast.Example, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluator = evaluator
        self.example = example

    def runtest(self) -> None:
        from takst.testing.specs import report_failure, run_example

        outcome = run_example(self.evaluator, self.example)
        if not outcome.passed:
            raise TariffFailure(report_failure(outcome, self.evaluator))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.example.span.line - 1, f"example {self.example.title!r}"


class PropertyItem(_TariffItem):
    """One declared ``property``: passes when no counterexample is found."""

    def __init__(self, *, evaluator: Evaluator, prop: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluator = evaluator
        self.prop = prop

    def runtest(self) -> None:
        from takst.testing.properties import check_property

        result = check_property(self.evaluator, self.prop)
        if not result.passed:
            text = f"{self.evaluator.tariff.file}:{self.prop.span.line}: {result.message}"
            if result.counterexample:
                text += ("\n  A counterexample, ready to paste into the tariff (the amounts "
                         "are what takst computes now):\n\n")
                text += result.counterexample
            raise TariffFailure(text)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.prop.span.line - 1, f"property {self.prop.name}"


class TariffProblemItem(_TariffItem):
    """A tariff that does not load or check: one failing item with its diagnostics."""

    def __init__(self, *, diagnostics: tuple[Diagnostic, ...] | list[Diagnostic],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.diagnostics = tuple(diagnostics)

    def runtest(self) -> None:
        from takst.dsl.errors import render_all

        raise TariffFailure(render_all(self.diagnostics))

    def reportinfo(self) -> tuple[Path, int, str]:
        span = next((d.span for d in self.diagnostics if d.span is not None), None)
        return self.path, (span.line - 1 if span else 0), "takst check"
