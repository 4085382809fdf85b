"""One error family for everything a user can get wrong.

Every problem a user can cause is a :class:`Diagnostic`: a position (a
:class:`Span` in a tariff file, or a register row and column), a plain-words
message and a hint that says how to fix it. Diagnostics are raised in bulk as a
:class:`TariffError` subclass, so a caller reports *all* problems of a file,
not just the first. :func:`render` is the one place that gives them their shape::

    rules/x.tariff:12:5: error: 25 000 falls in no band of size
       12 |   medium "Mellem" from 25_001 to 60_000
          |   ^^^^^^
      hint: ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

Severity = Literal["error", "warning"]


class SourceText:
    """The text of one parsed file, split into lines as the parser counts them.

    Every :class:`Span` made while parsing a text points at its ``SourceText``, so a
    diagnostic can show its line without any process-wide cache: the text lives as
    long as the spans (the AST, the diagnostics) that need it.
    """

    __slots__ = ("__weakref__", "lines")

    def __init__(self, text: str) -> None:
        # only \n ends a line (not \x1c, U+2028, ...)
        self.lines: tuple[str, ...] = tuple(
            text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))

    def line(self, line: int) -> str | None:
        if not 1 <= line <= len(self.lines):
            return None
        return self.lines[line - 1]

    def __repr__(self) -> str:
        return f"<SourceText of {len(self.lines)} lines>"


@attrs.frozen
class Span:
    """Where a construct stands in a source file (1-based lines and columns).

    ``source`` is the text the span was found in (when known); it is not part of a
    span's identity: two spans at the same place are equal whatever text they carry.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    source: SourceText | None = attrs.field(
        default=None, eq=False, hash=False, repr=False, kw_only=True)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@attrs.frozen
class Diagnostic:
    """One problem found in a tariff, a register or a command line."""

    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None
    #: For register problems: "row 12, column population" instead of a span.
    where: str | None = None
    #: Other places that take part in the problem (e.g. the other band of an overlap).
    related: tuple[tuple[str, Span], ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class TariffError(Exception):
    """Base of every error takst reports to a user. Carries one or more diagnostics."""

    kind = "error"

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic]) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(first.message if first else self.kind)


class TariffSyntaxError(TariffError):
    """The text of a tariff does not follow the language's grammar."""

    kind = "syntax error"


class CheckError(TariffError):
    """The tariff parses but is inconsistent (names, units, bands, tables...)."""

    kind = "check error"


class RegisterError(TariffError):
    """A register (CSV of customers) has a missing column or a bad value."""

    kind = "register error"


class EvaluationError(TariffError):
    """A value could not be computed for a customer (e.g. an inexact division)."""

    kind = "evaluation error"


class UsageError(TariffError):
    """The command line asks for something impossible (bad option, unknown customer)."""

    kind = "usage error"


def diagnostic(
    message: str,
    span: Span | None = None,
    *,
    hint: str | None = None,
    severity: Severity = "error",
    where: str | None = None,
    related: Sequence[tuple[str, Span]] = (),
) -> Diagnostic:
    """Build a diagnostic. The one helper every stage uses, so their shape never drifts."""
    return Diagnostic(
        severity=severity,
        message=message,
        span=span,
        hint=hint,
        where=where,
        related=tuple(related),
    )


class SourceCache:
    """Source texts by file name, owned by a caller that renders diagnostics whose
    spans carry no text (a span's own text, when it has one, wins)."""

    def __init__(self) -> None:
        self._texts: dict[str, SourceText] = {}

    def add(self, file: str, text: str) -> None:
        self._texts[file] = SourceText(text)

    def line(self, file: str, line: int) -> str | None:
        source = self._texts.get(file)
        return None if source is None else source.line(line)


#: Source lines longer than this are shown as a window around the caret.
EXCERPT_WIDTH = 100


def _source_line(span: Span, sources: SourceCache | None) -> str | None:
    if span.source is not None:
        return span.source.line(span.line)
    return sources.line(span.file, span.line) if sources is not None else None


def _excerpt(span: Span, sources: SourceCache | None) -> list[str]:
    text = _source_line(span, sources)
    if text is None:
        return []
    text = text.expandtabs(1).rstrip()
    gutter = f"{span.line:>5} | "
    start = max(span.column - 1, 0)
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    else:
        width = max(len(text) - start, 1)
    width = max(1, min(width, max(len(text) - start, 1)))
    if len(text) > EXCERPT_WIDTH:  # show a window around the caret
        left = max(0, min(start - 20, len(text) - EXCERPT_WIDTH))
        window = text[left : left + EXCERPT_WIDTH]
        prefix = "…" if left > 0 else ""
        suffix = "…" if left + EXCERPT_WIDTH < len(text) else ""
        start = start - left + len(prefix)
        width = max(1, min(width, EXCERPT_WIDTH - (start - len(prefix))))
        text = prefix + window + suffix
    return [gutter + text, " " * (len(gutter) - 2) + "| " + " " * start + "^" * width]


def render(diag: Diagnostic, sources: SourceCache | None = None) -> str:
    """Render a diagnostic as ``file:line:col: severity: message``, the line, a caret, a hint.

    The line comes from the span's own source text; ``sources`` serves spans made
    without one."""
    if diag.span is not None:
        head = f"{diag.span}: {diag.severity}: {diag.message}"
    elif diag.where is not None:
        head = f"{diag.where}: {diag.severity}: {diag.message}"
    else:
        head = f"takst: {diag.severity}: {diag.message}"
    out = [head]
    if diag.span is not None:
        out.extend(_excerpt(diag.span, sources))
    for label, span in diag.related:
        out.append(f"{span}: note: {label}")
        out.extend(_excerpt(span, sources))
    if diag.hint:
        out.append(f"  hint: {diag.hint}")
    return "\n".join(out)


def render_all(diags: Iterable[Diagnostic], sources: SourceCache | None = None) -> str:
    return "\n\n".join(render(d, sources) for d in diags)
