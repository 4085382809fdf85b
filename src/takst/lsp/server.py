"""The tariff language server: :mod:`takst.lsp.analysis` spoken over the Language Server
Protocol with pygls 2.x.

Each server keeps its own per-document analyses (nothing process-wide). Diagnostics are
published when a document opens and, debounced, after it changes. No request lets an
exception out: a broken text gives diagnostics, never a crashed server.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from takst import __version__
from takst.dsl.errors import Span
from takst.lsp.analysis import Analysis, Problem, Where, where_of

log = logging.getLogger("takst.lsp")

#: How long a burst of changes must pause before the document is checked again (seconds).
DEBOUNCE = 0.03

_SYMBOL_KIND = {
    "input": lsp.SymbolKind.Field, "setting": lsp.SymbolKind.Property,
    "list": lsp.SymbolKind.Array, "categories": lsp.SymbolKind.Enum,
    "category": lsp.SymbolKind.EnumMember, "group": lsp.SymbolKind.Array,
    "bands": lsp.SymbolKind.Enum, "band": lsp.SymbolKind.EnumMember,
    "slices": lsp.SymbolKind.Enum, "slice": lsp.SymbolKind.EnumMember,
    "param": lsp.SymbolKind.Constant, "formula": lsp.SymbolKind.Function,
    "aggregate": lsp.SymbolKind.Variable, "pool": lsp.SymbolKind.Variable,
    "proration": lsp.SymbolKind.Object, "rounding": lsp.SymbolKind.Object,
    "charge": lsp.SymbolKind.Method, "property": lsp.SymbolKind.Boolean,
    "example": lsp.SymbolKind.Event,
}

_COMPLETION_KIND = {
    "keyword": lsp.CompletionItemKind.Keyword, "key": lsp.CompletionItemKind.EnumMember,
    "input": lsp.CompletionItemKind.Field, "setting": lsp.CompletionItemKind.Property,
    "param": lsp.CompletionItemKind.Constant, "formula": lsp.CompletionItemKind.Function,
    "charge": lsp.CompletionItemKind.Method, "bands": lsp.CompletionItemKind.Enum,
    "category": lsp.CompletionItemKind.EnumMember, "builtin": lsp.CompletionItemKind.Variable,
    "parameter": lsp.CompletionItemKind.Variable,
}


def uri_to_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        return Path(unquote(parsed.path) or "untitled.tariff")
    return Path(unquote(parsed.path))


def path_to_uri(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()


class TariffServer(LanguageServer):
    """A language server with its own analyses, one per open document."""

    def __init__(self, debounce: float = DEBOUNCE) -> None:
        super().__init__("takst", __version__)
        self.debounce = debounce
        self.analyses: dict[str, Analysis] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ positions
    def _units(self) -> str:
        try:
            enc = self.workspace.position_encoding
        except Exception:  # before initialize: the protocol's default
            enc = None
        return str(enc.value if isinstance(enc, lsp.PositionEncodingKind) else enc or "utf-16")

    def _lines_of(self, path: Path, an: Analysis | None) -> list[str]:
        if an is not None:
            return an.texts.lines(path)
        return [""]

    def to_client(self, path: Path, line: int, col: int, an: Analysis | None) -> lsp.Position:
        lines = self._lines_of(path, an)
        text = lines[line] if 0 <= line < len(lines) else ""
        head = text[:col]
        units = self._units()
        if units == "utf-8":
            n = len(head.encode("utf-8"))
        elif units == "utf-32":
            n = len(head)
        else:
            n = len(head.encode("utf-16-le")) // 2
        return lsp.Position(line=line, character=n + max(0, col - len(text)))

    def from_client(self, an: Analysis, pos: lsp.Position) -> tuple[int, int]:
        lines = an.text.replace("\r\n", "\n").split("\n")
        text = lines[pos.line] if 0 <= pos.line < len(lines) else ""
        units = self._units()
        if units == "utf-32":
            return pos.line, pos.character
        count = 0
        for i, ch in enumerate(text):
            if count >= pos.character:
                return pos.line, i
            count += len(ch.encode("utf-8")) if units == "utf-8" else (2 if ord(ch) > 0xFFFF else 1)
        return pos.line, len(text)

    def range_of(self, w: Where, an: Analysis | None) -> lsp.Range:
        path, l0, c0, l1, c1 = w
        return lsp.Range(start=self.to_client(path, l0, c0, an), end=self.to_client(path, l1, c1, an))

    def location(self, w: Where, an: Analysis | None) -> lsp.Location:
        return lsp.Location(uri=path_to_uri(w[0]), range=self.range_of(w, an))

    # ------------------------------------------------------------------ analysis
    def buffers(self) -> dict[Path, str]:
        out: dict[Path, str] = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            out[uri_to_path(uri)] = doc.source
        return out

    def analyse(self, uri: str) -> Analysis | None:
        try:
            doc = self.workspace.get_text_document(uri)
            an = Analysis(uri_to_path(uri), doc.source, self.buffers(), self.analyses.get(uri))
        except Exception:  # never let a bug in a stage take the server down
            log.exception("analysis of %s failed", uri)
            return None
        self.analyses[uri] = an
        return an

    def analysis(self, uri: str) -> Analysis | None:
        an = self.analyses.get(uri)
        if an is not None:
            try:
                if an.text == self.workspace.get_text_document(uri).source:
                    return an
            except Exception:  # pragma: no cover - a document we never saw
                return an
        return self.analyse(uri)

    def publish(self, uri: str, fresh: bool = True) -> None:
        """Publish the diagnostics of ``uri`` (``fresh``: analyse again even if the text is
        the one analysed last, as when a module it imports has changed)."""
        an = self.analyse(uri) if fresh else self.analysis(uri)
        diags = [] if an is None else [self.diagnostic(p, an) for p in an.problems()]
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags))

    def diagnostic(self, p: Problem, an: Analysis) -> lsp.Diagnostic:
        d = p.diag
        message = d.message
        if p.elsewhere is not None:
            message = f"{d.span}: {message}" if d.span else message
        if d.hint:
            message += f"\nhint: {d.hint}"
        related = [
            lsp.DiagnosticRelatedInformation(location=self.location(_where(s, an), an), message=label)
            for label, s in d.related
        ]
        if p.elsewhere is not None:
            related.insert(0, lsp.DiagnosticRelatedInformation(
                location=self.location(p.elsewhere, an), message="the problem is here"))
        return lsp.Diagnostic(
            range=self.range_of(p.where, an),
            message=message,
            severity=lsp.DiagnosticSeverity.Error if d.is_error else lsp.DiagnosticSeverity.Warning,
            source="takst",
            related_information=related or None,
        )

    def schedule(self, uri: str) -> None:
        old = self._pending.pop(uri, None)
        if old is not None:
            old.cancel()

        async def later() -> None:
            await asyncio.sleep(self.debounce)
            self._pending.pop(uri, None)
            self.publish(uri, fresh=False)
            changed = uri_to_path(uri).resolve()
            for other, an in list(self.analyses.items()):
                if other != uri and changed in an.imports:  # a tariff that imports it
                    self.publish(other)

        self._pending[uri] = asyncio.ensure_future(later())


def _where(span: Span, an: Analysis) -> Where:
    return where_of(span, an.texts)


def make_server(debounce: float = DEBOUNCE) -> TariffServer:
    """A new server with every feature registered."""
    server = TariffServer(debounce)

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: TariffServer, params: lsp.InitializeParams) -> None:
        opts = params.initialization_options
        if isinstance(opts, dict) and isinstance(opts.get("debounceMs"), int | float):
            ls.debounce = max(0.0, min(float(opts["debounceMs"]), 5000.0)) / 1000  # float-ok: a delay

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TariffServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TariffServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TariffServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TariffServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.analyses.pop(uri, None)
        task = ls._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: TariffServer, params: lsp.HoverParams) -> lsp.Hover | None:
        an = ls.analysis(params.text_document.uri)
        if an is None:
            return None
        found = an.hover(*ls.from_client(an, params.position))
        if found is None:
            return None
        text, w = found
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
            range=ls.range_of(w, an),
        )

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: TariffServer, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
        an = ls.analysis(params.text_document.uri)
        if an is None:
            return None
        return [ls.location(w, an) for w in an.definition(*ls.from_client(an, params.position))]

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls: TariffServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        an = ls.analysis(params.text_document.uri)
        if an is None:
            return None
        others = tuple(a for u, a in ls.analyses.items() if u != params.text_document.uri)
        found = an.references(*ls.from_client(an, params.position),
                              include_declaration=params.context.include_declaration,
                              others=others)
        return [ls.location(w, an) for w in found]

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[" ", ","]))
    def completion(ls: TariffServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        an = ls.analysis(params.text_document.uri)
        items: list[lsp.CompletionItem] = []
        if an is not None:
            for label, kind, detail in an.completions(*ls.from_client(an, params.position)):
                items.append(lsp.CompletionItem(
                    label=label, detail=detail,
                    kind=_COMPLETION_KIND.get(kind, lsp.CompletionItemKind.Reference)))
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: TariffServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        an = ls.analysis(params.text_document.uri)
        if an is None:
            return None
        out = an.formatted()
        if out is None or out == an.text:
            return [] if out is not None else None
        lines = an.text.split("\n")
        end = lsp.Position(line=len(lines), character=0)
        return [lsp.TextEdit(range=lsp.Range(start=lsp.Position(line=0, character=0), end=end),
                             new_text=out)]

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: TariffServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        an = ls.analysis(params.text_document.uri)
        if an is None:
            return []
        out: list[lsp.DocumentSymbol] = []
        for name, kind, whole, sel, children in an.outline():
            out.append(lsp.DocumentSymbol(
                name=name, detail=kind, kind=_SYMBOL_KIND.get(kind, lsp.SymbolKind.Object),
                range=ls.range_of(whole, an), selection_range=ls.range_of(sel, an),
                children=[lsp.DocumentSymbol(
                    name=cn, detail=ck, kind=_SYMBOL_KIND.get(ck, lsp.SymbolKind.Object),
                    range=ls.range_of(cw, an), selection_range=ls.range_of(cs, an))
                    for cn, ck, cw, cs in children] or None,
            ))
        return out

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_action(ls: TariffServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        uri = params.text_document.uri
        an = ls.analysis(uri)
        if an is None:
            return None
        out: list[lsp.CodeAction] = []
        for title, edits, problem in an.fixes(params.range.start.line, params.range.end.line):
            out.append(lsp.CodeAction(
                title=title, kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[ls.diagnostic(problem, an)],
                edit=lsp.WorkspaceEdit(changes={uri: [
                    lsp.TextEdit(range=ls.range_of(w, an), new_text=text) for w, text in edits]}),
            ))
        return out

    return server


def serve() -> None:
    """Speak the protocol over stdin and stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING, format="takst lsp: %(message)s")
    make_server().start_io()
