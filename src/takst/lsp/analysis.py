"""What the language server knows about one open tariff: its checked AST, its diagnostics
and an index of every name in it. Pure functions over ``takst.dsl``; no protocol here.

Positions are 0-based lines and columns counted in characters (code points); the server
converts them to the editor's units. An :class:`Analysis` belongs to one document of one
server: nothing is cached process-wide.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import attrs

from takst.dsl import ast
from takst.dsl.check import check, expression_unit
from takst.dsl.errors import Diagnostic, Span, TariffError, diagnostic
from takst.dsl.formatter import format_text
from takst.dsl.loader import load_tariff
from takst.dsl.numbers import group
from takst.dsl.parser import TOP_LEVEL
from takst.dsl.symbols import BUILTINS, Symbols, input_unit
from takst.lexer import KEYWORDS

#: A place in a file: (path, line, column, end line, end column), 0-based, in characters.
Where = tuple[Path, int, int, int, int]

OccRole = Literal["def", "ref"]


@attrs.frozen
class Target:
    """What a name refers to: a declaration (or a formula's parameter, or a builtin)."""

    kind: str
    name: str
    decl: ast.Node | None
    #: The name's own place in its declaration (None for builtins).
    where: Where | None
    #: The bands a band belongs to, the formula a parameter belongs to.
    owner: ast.Decl | None = None

    @property
    def key(self) -> tuple[object, ...]:
        return (self.kind, self.name, self.where)


@attrs.frozen
class Occurrence:
    """A name as written in a file, the declaration it refers to, and how it stands there."""

    where: Where
    name: str
    role: OccRole
    target: Target | None


def span_path(file: str) -> Path:
    """The file a span names, resolved (spans of imported modules are relative to the working
    folder)."""
    p = Path(file)
    return (p if p.is_absolute() else Path.cwd() / p).resolve()


class Texts:
    """Lines of the files an analysis touches: open buffers first, else read from disk."""

    def __init__(self, buffers: Mapping[Path, str]) -> None:
        self._lines: dict[Path, list[str]] = {
            p.resolve(): t.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            for p, t in buffers.items()
        }
        self._paths: dict[str, Path] = {}

    def path(self, file: str) -> Path:
        """:func:`span_path`, once per file name and analysis (resolving costs system calls)."""
        known = self._paths.get(file)
        if known is None:
            known = self._paths[file] = span_path(file)
        return known

    def lines(self, path: Path) -> list[str]:
        known = self._lines.get(path)
        if known is not None:
            return known
        real = path.resolve()
        if real not in self._lines:
            try:
                text = real.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                text = ""
            self._lines[real] = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return self._lines[real]

    def line(self, path: Path, line: int) -> str:
        lines = self.lines(path)
        return lines[line] if 0 <= line < len(lines) else ""


def where_of(span: Span, texts: Texts) -> Where:
    """A span as a 0-based place."""
    path = texts.path(span.file)
    end_col = span.end_column - 1
    if end_col > 1000:  # the parser's "to the end of the line"
        end_col = len(texts.line(path, span.end_line - 1))
    return (path, span.line - 1, span.column - 1, span.end_line - 1, end_col)


def _name_where(name: str, span: Span, texts: Texts) -> Where:
    """The place of ``name`` on the first line of ``span`` (where a declaration names itself)."""
    path = texts.path(span.file)
    text = texts.line(path, span.line - 1)
    m = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)").search(text, max(span.column - 1, 0))
    if m is None:
        return (path, span.line - 1, span.column - 1, span.line - 1, span.column - 1 + len(name))
    return (path, span.line - 1, m.start(), span.line - 1, m.end())


def _contains(w: Where, line: int, col: int) -> bool:
    _, l0, c0, l1, c1 = w
    if (line, col) < (l0, c0):
        return False
    return (line, col) <= (l1, c1)


_KIND_OF = {
    ast.InputDecl: "input", ast.SettingDecl: "setting", ast.ListDecl: "list",
    ast.CategoriesDecl: "categories", ast.Category: "category", ast.GroupDecl: "group",
    ast.BandsDecl: "bands", ast.Slice: "slice", ast.Band: "band", ast.SlicesDecl: "slices",
    ast.ParamDecl: "param", ast.FormulaDecl: "formula", ast.AggregateDecl: "aggregate",
    ast.PoolDecl: "pool", ast.ProrationDecl: "proration", ast.RoundingDecl: "rounding",
    ast.ChargeDecl: "charge", ast.PropertyDecl: "property",
    ast.VatDecl: "vat",  # issue 12
}


def kind_of(decl: ast.Node) -> str:
    for cls in type(decl).__mro__:
        if cls in _KIND_OF:
            return _KIND_OF[cls]
    return "declaration"


class _Indexer:
    """Walks a tariff (with its imported definitions) and records every name's occurrence."""

    def __init__(self, tariff: ast.Tariff, texts: Texts) -> None:
        self.t = tariff
        self.sym = Symbols(tariff)
        self.texts = texts
        self.occ: list[Occurrence] = []
        self.targets: dict[int, Target] = {}  # id(decl) -> its target
        self._seen: set[tuple[Where, OccRole]] = set()

    def target_of_decl(self, decl: ast.Decl, owner: ast.Decl | None = None) -> Target:
        t = self.targets.get(id(decl))
        if t is None:
            t = Target(kind_of(decl), decl.name, decl, _name_where(decl.name, decl.span, self.texts),
                       owner)
            self.targets[id(decl)] = t
        return t

    def global_target(self, name: str) -> Target | None:
        sym = self.sym.get(name)
        if sym is None:
            return self.band_target(name, None)
        if sym.decl is None:
            return Target("builtin", name, None, None)
        if sym.kind == "category":
            cats = self.sym.category_of.get(name)
            return self.target_of_decl(sym.decl, cats)
        return self.target_of_decl(sym.decl)

    def band_target(self, name: str, dim: str | None) -> Target | None:
        """A band (or a slice) named ``name``: of the bands ``dim`` if given, else of any."""
        decls: tuple[ast.BandsDecl | ast.SlicesDecl, ...] = (*self.t.bands, *self.t.slices)
        for decl in decls:
            if dim is not None and decl.name != dim:
                continue
            items = decl.bands if isinstance(decl, ast.BandsDecl) else decl.slices
            for band in items:
                if band.name == name:
                    return self.target_of_decl(band, decl)
        return None

    def key_target(self, name: str, dim: str) -> Target | None:
        """A key of a table or of cases (a band, a category, a group, yes/no)."""
        if name in ("yes", "no"):
            return None
        return self.band_target(name, dim) or self.global_target(name)

    def add(self, where: Where, name: str, role: OccRole, target: Target | None) -> None:
        if (where, role) in self._seen:  # a charge's body is also among its bodies
            return
        self._seen.add((where, role))
        self.occ.append(Occurrence(where, name, role, target))

    def ref(self, node: ast.Node, name: str, target: Target | None = None,
            at_start: bool = True) -> None:
        where = where_of(node.span, self.texts)
        if at_start:
            p, l0, c0, _, _ = where
            where = (p, l0, c0, l0, c0 + len(name))
        self.add(where, name, "ref", target if target is not None else self.global_target(name))

    def run(self) -> list[Occurrence]:
        for decl in self.declarations():
            self.decl(decl)
        return self.occ

    def declarations(self) -> Iterator[ast.Decl]:
        t = self.t
        for field in ("inputs", "settings", "lists", "categories", "groups", "bands", "slices",
                      "params", "formulas", "aggregates", "pools", "prorations", "roundings",
                      "charges", "properties"):
            yield from getattr(t, field)

    def decl(self, decl: ast.Decl) -> None:
        me = self.target_of_decl(decl)
        assert me.where is not None
        self.add(me.where, decl.name, "def", me)
        if isinstance(decl, ast.CategoriesDecl):
            for item in decl.items:
                tt = self.target_of_decl(item, decl)
                assert tt.where is not None
                self.add(tt.where, item.name, "def", tt)
            return
        if isinstance(decl, ast.BandsDecl | ast.SlicesDecl):
            self.ref(decl.subject, decl.subject.name)
            items = decl.bands if isinstance(decl, ast.BandsDecl) else decl.slices
            for band in items:
                tt = self.target_of_decl(band, decl)
                assert tt.where is not None
                self.add(tt.where, band.name, "def", tt)
                if isinstance(band, ast.Slice):
                    self.walk(band.rate, {})
            return
        if isinstance(decl, ast.FormulaDecl):
            local: dict[str, Target] = {}
            for p in decl.params:
                w = where_of(p.span, self.texts)
                tt = Target("parameter", p.name, p, w, decl)
                local[p.name] = tt
                self.add(w, p.name, "def", tt)
            self.walk(decl.body, local)
            return
        for field in attrs.fields(type(decl)):
            if field.name in ("span", "name", "label"):
                continue
            self.walk(getattr(decl, field.name), {})

    def walk(self, obj: object, local: dict[str, Target]) -> None:
        if isinstance(obj, tuple):
            for item in obj:
                self.walk(item, local)
            return
        if not isinstance(obj, ast.Node):
            return
        if isinstance(obj, ast.Ref):
            self.ref(obj, obj.name, local.get(obj.name), at_start=False)
            return
        if isinstance(obj, ast.Call):
            self.ref(obj, obj.name)
            self.walk(obj.args, local)
            return
        if isinstance(obj, ast.Name):
            self.ref(obj, obj.name, at_start=False)
            return
        if isinstance(obj, ast.Operand):
            if obj.kind == "name" and isinstance(obj.value, str):
                self.ref(obj, obj.value, local.get(obj.value), at_start=False)
            return
        if isinstance(obj, ast.Table):
            for dim in obj.dims:
                self.ref(dim, dim.name, at_start=False)
            if len(obj.dims) == 2:
                for col in obj.columns:
                    self.ref(col, col.name, self.key_target(col.name, obj.dims[1].name), False)
            for row in obj.rows:
                self.ref(row.key, row.key.name, self.key_target(row.key.name, obj.dims[0].name),
                         False)
            return
        if isinstance(obj, ast.Cases):
            self.ref(obj.dim, obj.dim.name, at_start=False)
            for case in obj.cases:
                self.ref(case.key, case.key.name, self.key_target(case.key.name, obj.dim.name),
                         False)
                if case.value is not None:
                    self.walk(case.value, local)
            return
        if isinstance(obj, ast.Header):
            return  # the currency is a code, not a name
        for field in attrs.fields(type(obj)):
            if field.name == "span":
                continue
            self.walk(getattr(obj, field.name), local)


def _example_occurrences(ix: _Indexer, tariff: ast.Tariff) -> None:
    """Names in the examples of the file: inputs given, charges (and pools) expected."""
    for ex in tariff.examples:
        for g in ex.given:
            ix.ref(g, g.name)
        for e in ex.expects:
            if e.charge is None:
                continue
            if e.kind == "charge":
                ix.ref(e, e.charge)
            else:
                ix.add(_name_where(e.charge, e.span, ix.texts), e.charge, "ref",
                       ix.global_target(e.charge))


@attrs.frozen
class Problem:
    """A diagnostic placed in this document (one from another file is placed at an import)."""

    diag: Diagnostic
    where: Where
    #: Set when the diagnostic stands in another file (an imported module).
    elsewhere: Where | None = None


class Analysis:
    """One document's state: its text, the checked tariff (or the last one that parsed)."""

    def __init__(self, path: Path, text: str, buffers: Mapping[Path, str] | None = None,
                 previous: Analysis | None = None) -> None:
        self.path = path.resolve()
        self.text = text
        self.buffers = {p.resolve(): t for p, t in (buffers or {}).items()}
        self.buffers[self.path] = text
        self.texts = Texts(self.buffers)
        self.tariff: ast.Tariff | None = None
        self.diagnostics: list[Diagnostic] = []
        self.parsed = False
        try:
            self.tariff = load_tariff(self.path, texts=self.buffers)
            self.parsed = True
            self.diagnostics = check(self.tariff)
        except TariffError as err:
            self.diagnostics = list(err.diagnostics)
            self.tariff = self._without_broken_lines()
        except RecursionError:
            self.diagnostics = [diagnostic("this file is too deeply nested to read",
                                           Span(str(self.path), 1, 1, 1, 1))]
        if self.tariff is None and previous is not None and previous.tariff is not None:
            self.tariff = previous.tariff  # the last good AST keeps hover and completion alive
            self.texts = previous.texts if not self.parsed else self.texts
        self.occurrences: list[Occurrence] = []
        self.symbols: Symbols | None = None
        if self.tariff is not None:
            ix = _Indexer(self.tariff, self.texts)
            self.occurrences = ix.run()
            _example_occurrences(ix, self.tariff)
            self.symbols = ix.sym
        #: The module files this document imports, directly or not.
        self.imports: frozenset[Path] = frozenset(
            self.texts.path(f) for f in (self.tariff.modules if self.tariff is not None else ()))

    def _without_broken_lines(self) -> ast.Tariff | None:
        """The tariff read with the lines that do not parse left out (for names, hover and
        completion while a line is half typed); None if that does not parse either."""
        broken = {d.span.line - 1 for d in self.diagnostics
                  if d.span is not None and self.texts.path(d.span.file) == self.path}
        if not broken:
            return None
        lines = self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        kept = "\n".join("" if i in broken else line for i, line in enumerate(lines))
        try:
            return load_tariff(self.path, texts={**self.buffers, self.path: kept})
        except (TariffError, RecursionError):
            return None

    # ------------------------------------------------------------------ diagnostics
    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        for d in self.diagnostics:
            if d.span is None:
                out.append(Problem(d, (self.path, 0, 0, 0, 0)))
                continue
            w = where_of(d.span, self.texts)
            if w[0] == self.path:
                out.append(Problem(d, w))
            elif d.is_error:  # a module's problem: at the import that brings it in
                out.append(Problem(d, self._importwhere_of(w[0]), elsewhere=w))
        return out

    def _importwhere_of(self, path: Path) -> Where:
        lines = self.texts.lines(self.path)
        stem = path.stem
        fallback: Where | None = None
        for i, line in enumerate(lines):
            s = line.strip()
            if s.startswith("import "):
                w = (self.path, i, 0, i, len(line))
                fallback = fallback or w
                if stem in s:
                    return w
        return fallback or (self.path, 0, 0, 0, len(lines[0]) if lines else 0)

    # ------------------------------------------------------------------ names
    def occurrence_at(self, line: int, col: int) -> Occurrence | None:
        best: Occurrence | None = None
        for occ in self.occurrences:
            if occ.where[0] == self.path and _contains(occ.where, line, col):
                best = occ
        return best

    def definition(self, line: int, col: int) -> list[Where]:
        occ = self.occurrence_at(line, col)
        if occ is None or occ.target is None or occ.target.where is None:
            return []
        return [occ.target.where]

    def references(self, line: int, col: int, include_declaration: bool = True,
                   others: tuple[Analysis, ...] = ()) -> list[Where]:
        occ = self.occurrence_at(line, col)
        if occ is None or occ.target is None:
            return []
        key = occ.target.key
        seen: set[Where] = set()
        out: list[Where] = []
        for an in (self, *others):
            for o in an.occurrences:
                if o.target is None or o.target.key != key or o.where in seen:
                    continue
                if o.role == "def" and not include_declaration:
                    continue
                seen.add(o.where)
                out.append(o.where)
        return out

    # ------------------------------------------------------------------ hover
    def hover(self, line: int, col: int) -> tuple[str, Where] | None:
        occ = self.occurrence_at(line, col)
        if occ is not None and occ.target is not None:
            text = self.describe(occ.target)
            expr = self._expr_at(line, col)
            if occ.role == "ref" and isinstance(expr, ast.Ref | ast.Call):
                unit = self.unit_text(expr)
                if unit:
                    text += f"\n\nhere: {unit}"
            return text, occ.where
        expr = self._expr_at(line, col)
        if expr is not None and not isinstance(expr, ast.Cases):
            unit = self.unit_text(expr)
            if unit:
                w = where_of(expr.span, self.texts)
                return f"```tariff\n{self.source(w)}\n```\n{unit}", w
        return None

    def unit_text(self, expr: ast.Expr) -> str | None:
        if self.tariff is None:
            return None
        try:
            unit = expression_unit(self.tariff, expr)
        except Exception:  # the unit of a broken expression is no reason to fail a hover
            return None
        return f"unit: {unit.describe(self.tariff.currency)}" if unit is not None else None

    def _expr_at(self, line: int, col: int) -> ast.Expr | None:
        """The innermost expression of this file under the position."""
        if self.tariff is None:
            return None
        best: ast.Expr | None = None
        stack: list[object] = [self.tariff]
        while stack:
            obj = stack.pop()
            if isinstance(obj, tuple):
                stack.extend(obj)
                continue
            if not isinstance(obj, ast.Node):
                continue
            if isinstance(obj, ast.Expr) and self.texts.path(obj.span.file) == self.path:
                w = where_of(obj.span, self.texts)
                if _contains(w, line, col):
                    best = obj
            for field in attrs.fields(type(obj)):
                if field.name not in ("span", "year_span"):
                    stack.append(getattr(obj, field.name))
        return best

    def source(self, w: Where, max_lines: int = 12) -> str:
        path, l0, c0, l1, c1 = w
        lines = [self.texts.line(path, i) for i in range(l0, min(l1, l0 + max_lines - 1) + 1)]
        if len(lines) == 1:
            return lines[0][c0:c1]
        return "\n".join(lines)

    def _decl_text(self, decl: ast.Node, whole: bool = True) -> str:
        w = where_of(decl.span, self.texts)
        path, l0, _, l1, _ = w
        last = l1 if whole else l0
        return "\n".join(self.texts.line(path, i).rstrip() for i in range(l0, min(last, l0 + 11) + 1))

    def _where_from(self, decl: ast.Node) -> str:
        path = self.texts.path(decl.span.file)
        if path == self.path:
            return ""
        try:
            shown = os.path.relpath(path, self.path.parent)
        except ValueError:  # pragma: no cover - another drive
            shown = str(path)
        return f"\n\nfrom {shown}"

    def describe(self, t: Target) -> str:
        """Markdown for a hover on a name."""
        d = t.decl
        cur = self.tariff.currency if self.tariff is not None else "DKK"
        if t.kind == "builtin":
            return {
                "id": "**id** (builtin): the customer's id in the register",
                "name": "**name** (builtin): the customer's name",
                "customer_type": "**customer_type** (builtin): the customer's type (a text)",
                "billing_year": "**billing_year** (builtin): the year being billed, e.g. 2024",
            }.get(t.name, f"**{t.name}** (builtin)")
        if t.kind == "parameter" and isinstance(t.owner, ast.FormulaDecl):
            return f"**{t.name}**: a parameter of formula `{t.owner.name}`"
        if d is None:
            return f"**{t.name}**"
        head = f"**{t.kind} {t.name}**"
        label = getattr(d, "label", None)
        if label:
            head += f' "{label}"'
        more: list[str] = []
        if isinstance(d, ast.InputDecl | ast.SettingDecl):
            ty = d.type.kind + (f" of {d.type.counted}" if d.type.counted else "")
            more.append(f"type: {ty}")
            unit = input_unit(ast.InputDecl(d.name, d.label, d.type, span=d.span))
            if unit is not None:
                more.append(f"unit: {unit.describe(cur)}")
            if isinstance(d, ast.InputDecl) and d.optional:
                more.append("optional: a charge that needs it is pending when it is missing")
        elif isinstance(d, ast.ParamDecl):
            if d.pending:
                more.append("value: pending (not decided yet)" + (f": {d.note}" if d.note else ""))
            elif d.dated:
                rule = {"period": "the one in force at the start of each billing period",
                        "days": "each weighted by the days it is in force in a period"}.get(
                    d.rule.kind if d.rule is not None else "",
                    "the one in force on 1 January of the billing year")  # issue 12
                more.append(f"dated values ({rule}):")
                for dv in d.dated:
                    more.append(f"- from {dv.start.isoformat()}: "
                                f"`{self.source(where_of(dv.value.span, self.texts))}`")
            else:
                more.append(f"value: `{self.source(where_of(d.value.span, self.texts))}`")
            unit_words = self.unit_text(d.value) if not d.pending else None
            if unit_words:
                more.append(unit_words)
        elif isinstance(d, ast.FormulaDecl):
            more.append("```tariff\n" + self._decl_text(d) + "\n```")
        elif isinstance(d, ast.Band) and isinstance(t.owner, ast.BandsDecl | ast.SlicesDecl):
            head = f"**{'slice' if isinstance(d, ast.Slice) else 'band'} {d.name}**"
            if d.label:
                head += f' "{d.label}"'
            more.append(f"of {t.owner.name}: {band_range(d, t.owner.subject.name)}")
        elif isinstance(d, ast.BandsDecl | ast.SlicesDecl):
            items = d.bands if isinstance(d, ast.BandsDecl) else d.slices
            more.extend(f"- {b.name}: {band_range(b, d.subject.name)}" for b in items)
        elif isinstance(d, ast.Category) and isinstance(t.owner, ast.CategoriesDecl):
            more.append(f"a value of {t.owner.name}")
        elif isinstance(d, ast.CategoriesDecl):
            more.append("values: " + ", ".join(c.name for c in d.items))
        else:
            more.append("```tariff\n" + self._decl_text(d, whole=False) + "\n```")
        return "\n\n".join([head, *more]) + self._where_from(d)

    # ------------------------------------------------------------------ completion
    def completions(self, line: int, col: int) -> list[tuple[str, str, str]]:
        """(label, kind, detail) for the position: keys inside tables and cases, declaration
        words at the start of a line, else names in scope and keywords."""
        lines = self.text.replace("\r\n", "\n").split("\n")
        current = lines[line] if line < len(lines) else ""
        before = current[:col]
        keys = self._keys_context(lines, line)
        if keys is not None and before.strip() == before.strip().split(" ")[0]:
            return [(k, "key", "key") for k in keys]
        if before.strip() == "" and not before:
            return [(w, "keyword", "declaration") for w in TOP_LEVEL]
        out: list[tuple[str, str, str]] = []
        if self.symbols is not None:
            for name, sym in sorted(self.symbols.table.items()):
                out.append((name, sym.kind, sym.kind))
        local = self._formula_params(line)
        out.extend((p, "parameter", "parameter") for p in local)
        out.extend((k, "keyword", "keyword") for k in sorted(KEYWORDS))
        return out

    def _formula_params(self, line: int) -> list[str]:
        if self.tariff is None:
            return []
        for f in self.tariff.formulas:
            if self.texts.path(f.span.file) == self.path and f.span.line - 1 == line:
                return [p.name for p in f.params]
        return []

    def _keys_context(self, lines: list[str], line: int) -> list[str] | None:
        """The keys to offer on ``line`` when it is inside a table or a cases block."""
        if self.symbols is None:
            return None
        for i in range(line - 1, max(-1, line - 60), -1):
            text = lines[i].split("#", 1)[0].rstrip()
            if not text:
                continue
            if not text.startswith((" ", "\t")):
                m = re.search(r"=\s*by\s+(\w+)\s*$", text)
                return self._keys(m.group(1), lines, i, line) if m else None
            m = re.match(r"\s*table\s+by\s+(\w+)(?:\s*,\s*(\w+))?\s*$", text)
            if m:
                if m.group(2) and i == line - 1:
                    return list(self.symbols.dimension_keys(m.group(2)) or ())
                return self._keys(m.group(1), lines, i, line)
            m = re.match(r"\s*by\s+(\w+)\s*$", text)
            if m:
                return self._keys(m.group(1), lines, i, line)
            if len(text) - len(text.lstrip()) <= 2:  # a clause line: not inside a block
                return None
        return None

    def _keys(self, dim: str, lines: list[str], header: int, line: int) -> list[str]:
        assert self.symbols is not None
        keys = list(self.symbols.dimension_keys(dim) or ())
        keys += [g for g in self.symbols.dimension_groups(dim) if g not in keys]
        used = {lines[j].split()[0] for j in range(header + 1, line) if lines[j].split()}
        return [k for k in keys if k not in used] or keys

    # ------------------------------------------------------------------ outline
    def outline(self) -> list[tuple[str, str, Where, Where, list[tuple[str, str, Where, Where]]]]:
        """(name, kind, whole range, name range, children) of each declaration of this file."""
        if self.tariff is None:
            return []
        out: list[tuple[str, str, Where, Where, list[tuple[str, str, Where, Where]]]] = []
        ix = _Indexer(self.tariff, self.texts)
        for decl in ix.declarations():
            if self.texts.path(decl.span.file) != self.path:
                continue
            children: list[tuple[str, str, Where, Where]] = []
            items: tuple[ast.Decl, ...] = ()
            if isinstance(decl, ast.BandsDecl):
                items = decl.bands
            elif isinstance(decl, ast.SlicesDecl):
                items = decl.slices
            elif isinstance(decl, ast.CategoriesDecl):
                items = decl.items
            for item in items:
                nw = _name_where(item.name, item.span, self.texts)
                children.append((item.name, kind_of(item), self._line_range(nw), nw))
            nw = _name_where(decl.name, decl.span, self.texts)
            w = where_of(decl.span, self.texts)
            starts = [(w[1], w[2]), (nw[1], 0), *((c[2][1], c[2][2]) for c in children)]
            ends = [(w[3], w[4]), (nw[3], nw[4]), *((c[2][3], c[2][4]) for c in children)]
            (l0, _), (l1, c1) = min(starts), max(ends)
            whole = (w[0], l0, 0, l1, c1)
            out.append((decl.name, kind_of(decl), whole, nw, children))
        for ex in self.tariff.examples:
            w = where_of(ex.span, self.texts)
            if w[0] == self.path:
                out.append((ex.title, "example", w, (w[0], w[1], w[2], w[1], w[2]), []))
        out.sort(key=lambda s: (s[2][1], s[2][2]))
        return out

    def _line_range(self, w: Where) -> Where:
        return (w[0], w[1], 0, w[1], len(self.texts.line(w[0], w[1])))

    # ------------------------------------------------------------------ formatting
    def formatted(self) -> str | None:
        """The canonical layout of the text, or None when it cannot be laid out."""
        try:
            return format_text(self.text, str(self.path))
        except TariffError:
            return None

    # ------------------------------------------------------------------ code actions
    def fixes(self, line0: int, line1: int) -> list[tuple[str, list[tuple[Where, str]], Problem]]:
        """Mechanical fixes for the checker's hints on the lines asked for:
        (title, edits, problem). Nothing is invented: a new table row gets ``<amount>``
        placeholders, which the checker then asks to fill in."""
        out: list[tuple[str, list[tuple[Where, str]], Problem]] = []
        for pr in self.problems():
            if pr.elsewhere is not None or not pr.diag.hint:
                continue
            if pr.where[3] < line0 or pr.where[1] > line1:
                continue
            hint = pr.diag.hint
            m = re.fullmatch(r"did you mean (\w+)\?", hint)
            if m:
                out.append((f"Change to {m.group(1)}", [(pr.where, m.group(1))], pr))
                continue
            m = re.match(r"add a row:\s+(.*)$", hint)
            if m:
                edit = self._add_row(pr, m.group(1))
                if edit is not None:
                    key = m.group(1).split()[0]
                    out.append((f"Add the row for {key} (then fill in its amounts)", [edit], pr))
                continue
            for band, bound in _bound_suggestions(hint):
                edit2 = self._set_bound(pr, band, bound)
                if edit2 is not None:
                    out.append((f"Give band {band} `{bound}`", [edit2], pr))
        return out

    def _add_row(self, pr: Problem, row: str) -> tuple[Where, str] | None:
        table = self._table_at(pr)
        if table is None or not table.rows:
            return None
        last = table.rows[-1]
        w = where_of(last.span, self.texts)
        text = self.texts.line(w[0], w[1])
        indent = text[: len(text) - len(text.lstrip())]
        end = len(text)
        return ((w[0], w[1], end, w[1], end), "\n" + indent + row)

    def _table_at(self, pr: Problem) -> ast.Table | None:
        if self.tariff is None or pr.diag.span is None:
            return None
        for ch in self.tariff.charges:
            for body in ch.bodies or ((ch.body,) if ch.body is not None else ()):
                if isinstance(body, ast.Table) and body.span == pr.diag.span:
                    return body
        return None

    def _set_bound(self, pr: Problem, band_name: str, bound: str) -> tuple[Where, str] | None:
        if self.tariff is None or pr.diag.span is None:
            return None
        lower = bound.split()[0] in ("from", "above")
        spans = [pr.diag.span, *(s for _, s in pr.diag.related)]
        decls: tuple[ast.BandsDecl | ast.SlicesDecl, ...] = (*self.tariff.bands, *self.tariff.slices)
        for decl in decls:
            items = decl.bands if isinstance(decl, ast.BandsDecl) else decl.slices
            if not any(b.span in spans for b in items) and decl.span not in spans:
                continue
            for b in items:
                if b.name != band_name:
                    continue
                old = b.lower if lower else b.upper
                if old is not None:
                    return (where_of(old.span, self.texts), bound)
                other = b.upper if lower else b.lower
                if other is None:
                    return None
                ow = where_of(other.span, self.texts)
                if lower:
                    return ((ow[0], ow[1], ow[2], ow[1], ow[2]), bound + " ")
                return ((ow[0], ow[3], ow[4], ow[3], ow[4]), " " + bound)
        return None


_BOUND = r"((?:from|above|to|up to|below) -?[\d_]+(?:\.[\d_]+)?)"


def _bound_suggestions(hint: str) -> list[tuple[str, str]]:
    """(band, bound) pairs a hint proposes, e.g. ``end small with `to 25_000```."""
    out = [(m.group(1), m.group(2)) for m in re.finditer(
        rf"(?:end|start)(?: band)? (\w+)(?: lower,)? (?:with|e\.g\.) `{_BOUND}`", hint)]
    out += [(m.group(2), m.group(1)) for m in re.finditer(rf"`{_BOUND}` in (\w+)", hint)]
    return out


def band_range(band: ast.Band, subject: str) -> str:
    """A band's range in words: ``population from 25 001 to 60 000``, ``up to 25 000``."""
    lo, hi = band.lower, band.upper
    if lo is None and hi is None:
        return f"any {subject}"
    if lo is None:
        assert hi is not None
        return f"{subject} {'up to' if hi.inclusive else 'below'} {group(hi.value)}"
    low = ("from " if lo.inclusive else "above ") + group(lo.value)
    if hi is None:
        return f"{subject} {low} upwards"
    return f"{subject} {low} {'to' if hi.inclusive else 'below'} {group(hi.value)}"


__all__ = ["BUILTINS", "Analysis", "Occurrence", "Problem", "Target", "Where", "band_range",
           "span_path", "where_of"]
