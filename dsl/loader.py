"""Loading a tariff with its imports.

``import customer_types`` reads ``stdlib/customer_types.tariff`` (shipped in the
package); ``import "shared/prices.tariff"`` reads a file relative to the
importing file. A module's definitions (categories, groups, lists, bands,
slices, params, formulas, policies...) join the importing tariff; its charges
and examples stay behind (they are the module's own tests).

Containment: an import names a stdlib module or a relative path that stays
inside the project root (the nearest folder above the tariff with a
``pyproject.toml``, ``takst.toml`` or ``.git``; else the tariff's own folder).
Absolute paths, ``..`` escapes and symbolic links that lead outside are refused
with a positioned error. Loading reads files only: nothing is run, nothing is
fetched.

Limits: imports nest at most :data:`MAX_IMPORT_DEPTH` modules deep (a tariff that
imports a module that imports a module ... ); an import path holds no control
characters (NUL, escape, ...). Both are positioned errors at the import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import attrs

from takst.dsl import ast
from takst.dsl.cache import parse_cached
from takst.dsl.errors import Diagnostic, TariffSyntaxError, diagnostic
from takst.dsl.files import read_tariff_text

ROOT_MARKERS = ("pyproject.toml", "takst.toml", ".git")
#: How many modules deep imports may nest (a tariff's own imports are level 1).
MAX_IMPORT_DEPTH = 50
_MODULE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

#: The definitions a module contributes to the tariff that imports it.
#: (Inputs and settings are not shared: a module's inputs serve its own examples; the
#: tariff that imports it declares its own.)
_SHARED: tuple[type[ast.Node], ...] = (
    ast.ListDecl,
    ast.CategoriesDecl,
    ast.GroupDecl,
    ast.BandsDecl,
    ast.SlicesDecl,
    ast.ParamDecl,
    ast.FormulaDecl,
    ast.AggregateDecl,
    ast.PoolDecl,
    ast.ProrationDecl,
    ast.RoundingDecl,
)


def parse(text: str, file: str = "<text>") -> ast.Tariff:
    """:func:`takst.dsl.parser.parse`, which loads the parser (Lark and its tables) when
    first called: a tariff whose files are all in the cache never loads it."""
    from takst.dsl.parser import parse as parse_text

    return parse_text(text, file)


def parse_file(path: str | Path, display: str | None = None) -> ast.Tariff:
    """Read and parse a ``.tariff`` file (see :func:`takst.dsl.parser.parse_file`), its
    AST from the cache of parsed files when it holds this text (:mod:`takst.dsl.cache`)."""
    path = Path(path)
    name = display if display is not None else str(path)
    return parse_cached(read_tariff_text(path, name), name, path, parse)


def stdlib_dir() -> Path:
    return Path(str(resources.files("takst.stdlib")))


def project_root(path: Path) -> Path:
    """The nearest folder at or above ``path``'s folder that marks a project."""
    start = path.resolve().parent
    for folder in (start, *start.parents):
        if any((folder / m).exists() for m in ROOT_MARKERS):
            return folder
    return start


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


class _Loader:
    def __init__(self, root: Path, texts: Mapping[Path, str] | None = None) -> None:
        self.root = root.resolve()
        self.stdlib = stdlib_dir().resolve()
        self.cache: dict[Path, ast.Tariff] = {}
        self.problems: list[Diagnostic] = []
        #: Texts to use instead of the files' contents (an editor's unsaved buffers).
        self.texts = {p.resolve(): t for p, t in (texts or {}).items()}

    def resolve(self, imp: ast.Import, importer: Path) -> Path | None:
        if not imp.is_path:
            if not _MODULE_NAME.match(imp.target):
                self.problems.append(diagnostic(
                    f"{imp.target} is not a module name", imp.span,
                    hint='a stdlib module is named in lower case, e.g. import customer_types; '
                    'import a file with quotes: import "shared/prices.tariff"'))
                return None
            path = self.stdlib / f"{imp.target}.tariff"
            if not path.is_file():
                known = sorted(p.stem for p in self.stdlib.glob("*.tariff"))
                self.problems.append(diagnostic(
                    f"there is no stdlib module {imp.target}", imp.span,
                    hint="the stdlib modules are: " + ", ".join(known)))
                return None
            return path
        target = imp.target
        if not target:
            self.problems.append(diagnostic("the import names no file", imp.span))
            return None
        control = next((c for c in target if ord(c) < 32 or 127 <= ord(c) < 160), None)
        if control is not None:
            what = "NUL" if control == "\x00" else f"U+{ord(control):04X}"
            self.problems.append(diagnostic(
                f"the import path holds an invisible control character ({what})", imp.span,
                hint="retype the path; a file name never holds control characters"))
            return None
        if os.path.isabs(target) or target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target):
            self.problems.append(diagnostic(
                f"imports use relative paths; {target} is absolute", imp.span,
                hint="name the file relative to this tariff, inside the project"))
            return None
        candidate = importer.parent / target
        resolved = candidate.resolve()
        allowed = self.root if _inside(importer.resolve(), self.root) else importer.resolve().parent
        if not (_inside(resolved, allowed) or _inside(resolved, self.stdlib)):
            lexical = Path(os.path.normpath(candidate.absolute()))  # `..` folded, links not
            how = "a symbolic link leads" if _inside(lexical, allowed) else "the path leads"
            self.problems.append(diagnostic(
                f"{target} is outside the project: {how} out of {_display(allowed)}",
                imp.span,
                hint="a tariff may import only from stdlib/ and from files inside its project"))
            return None
        if not target.endswith(".tariff"):
            self.problems.append(diagnostic(
                f"{target} is not a .tariff file", imp.span,
                hint="an import names a module written in the tariff language"))
            return None
        if not resolved.is_file():
            self.problems.append(diagnostic(
                f"no module file {target} (looked for {_display(candidate)})", imp.span,
                hint="check the path; it is relative to the importing tariff"))
            return None
        return resolved

    def load(self, path: Path, stack: tuple[Path, ...], via: ast.Import | None) -> ast.Tariff | None:
        real = path.resolve()
        if real in stack:
            chain = " -> ".join(_display(p) for p in (*stack[stack.index(real):], real))
            assert via is not None
            self.problems.append(diagnostic(
                f"these imports go round in a circle: {chain}", via.span,
                hint="move what both need into a third module that imports neither"))
            return None
        if real in self.cache:
            return self.cache[real]
        if len(stack) > MAX_IMPORT_DEPTH:
            assert via is not None
            self.problems.append(diagnostic(
                f"imports nest more than {MAX_IMPORT_DEPTH} modules deep "
                f"(this import is level {len(stack)})", via.span,
                hint="import the modules from fewer levels: a module may import several "
                "others side by side"))
            return None
        display = _display(path) if via is not None else None
        try:
            if real in self.texts:
                tariff = parse(self.texts[real], display or str(path))
            else:
                tariff = parse_file(path, display) if display else parse_file(path)
        except TariffSyntaxError as err:
            self.problems.extend(err.diagnostics)
            return None
        if via is not None and not tariff.is_module:
            self.problems.append(diagnostic(
                f"{_display(path)} is a tariff, not a module", via.span,
                hint="only files that start with `module NAME` can be imported"))
            return None
        merged = tariff
        for imp in tariff.imports:
            target = self.resolve(imp, real)
            if target is None:
                continue
            module = self.load(target, (*stack, real), imp)
            if module is None:
                continue
            merged = _merge(merged, module)
        self.cache[real] = merged
        return merged


def _merge(tariff: ast.Tariff, module: ast.Tariff) -> ast.Tariff:
    """The tariff with the module's shared definitions after its own (and the module's files)."""
    have = {id(d) for d in tariff.declarations}  # a diamond adds a declaration once
    shared = [d for d in module.declarations if isinstance(d, _SHARED) and id(d) not in have]
    files = (*tariff.modules, *(f for f in (module.file, *module.modules) if f not in tariff.modules))
    return attrs.evolve(tariff, declarations=(*tariff.declarations, *shared), modules=files)


def load_tariff(
    path: str | Path, *, root: str | Path | None = None, texts: Mapping[Path, str] | None = None
) -> ast.Tariff:
    """Parse a tariff and everything it imports. Raises :class:`TariffSyntaxError` with
    every problem found (syntax errors in any file, missing or escaping imports, cycles).
    ``texts`` gives the text of files by path, read instead of the files (unsaved edits)."""
    path = Path(path)
    loader = _Loader(Path(root) if root is not None else project_root(path), texts)
    tariff = loader.load(path, (), None)
    if loader.problems or tariff is None:
        raise TariffSyntaxError(loader.problems or [diagnostic(f"cannot load {path}")])
    return tariff
