"""Which tariff files ``takst test`` runs when it is given none: those pytest would.

A project that runs its tariffs' examples under pytest (the ``takst`` plugin,
:mod:`takst.testing.pytest_plugin`) says in ``pyproject.toml`` where they are and
which files are not tests (deliberately broken golden inputs)::

    [tool.pytest.ini_options]
    testpaths = ["tests", "rules", "stdlib"]
    takst_ignore = ["tests/cases/*", "tests/fixtures/*"]

``takst test`` with no paths reads the same table: it looks in ``testpaths``
(relative to the folder of the nearest ``pyproject.toml`` that has the table),
leaves out the files ``takst_ignore`` matches and the folders ``norecursedirs``
matches (pytest's default: hidden folders, ``build``, ``dist``, ``venv`` ...).
Without such a file it looks below the working folder, leaving out hidden folders.
Named paths are always run as given.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: pytest's default ``norecursedirs``.
NORECURSE = (".*", "*.egg", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}")


@dataclass
class Found:
    """The files to run, and where the choice came from (for one line of output)."""

    files: list[Path]
    config: Path | None = None
    testpaths: list[str] = field(default_factory=list)
    ignored: int = 0

    def describe(self) -> str | None:
        """One line saying where the files came from, or None without a configuration."""
        if self.config is None:
            return None
        where = ", ".join(self.testpaths) if self.testpaths else "."
        skipped = (f"; {self.ignored} file{'s' if self.ignored != 1 else ''} left out by "
                   "takst_ignore") if self.ignored else ""
        return (f"tariffs as pytest finds them ({self._shown(self.config)} "
                f"[tool.pytest.ini_options]: {where}){skipped}")

    @staticmethod
    def _shown(path: Path) -> str:
        rel = os.path.relpath(path)
        return path.as_posix() if rel.startswith("..") else Path(rel).as_posix()


def _options(start: Path) -> tuple[Path, dict[str, Any]] | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        options = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if isinstance(options, dict):
            return candidate, options
        return None  # pytest stops at the first pyproject.toml too (when it has no table
    return None      # it may look further, for other ini files: takst does not)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def default_tariff_files(start: Path | None = None) -> Found:
    """The ``.tariff`` files ``takst test`` runs with no paths (see the module's text)."""
    start = Path.cwd() if start is None else start
    found = _options(start.resolve())
    if found is None:
        return Found(_walk(start, NORECURSE, lambda p: False)[0])
    config, options = found
    root = config.parent
    testpaths = _strings(options.get("testpaths"))
    norecurse = tuple(_strings(options.get("norecursedirs"))) or NORECURSE
    ignore = _strings(options.get("takst_ignore"))

    def ignored(path: Path) -> bool:
        rel = path.resolve().relative_to(root).as_posix()
        return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.rstrip("/") + "/*")
                   for p in ignore)

    files: list[Path] = []
    skipped = 0
    for top in [root / t for t in testpaths] or [root]:
        if top.is_file() and top.suffix == ".tariff":
            files.append(_relative(top))
        elif top.is_dir():
            some, n = _walk(top, norecurse, ignored)
            files += some
            skipped += n
    return Found(files, config, testpaths, skipped)


def _relative(path: Path) -> Path:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else Path(rel)


def _walk(top: Path, norecurse: tuple[str, ...], ignored: Any) -> tuple[list[Path], int]:
    files: list[Path] = []
    skipped = 0
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(d, p) for p in norecurse))
        for name in sorted(names):
            if not name.endswith(".tariff"):
                continue
            path = Path(folder, name)
            if ignored(path):
                skipped += 1
            else:
                files.append(_relative(path))
    return sorted(files), skipped
