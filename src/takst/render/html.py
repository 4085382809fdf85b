"""The printable worksheet: one customer's amounts and their trace as an HTML page.

``takst explain --format html`` and the calculator page (:mod:`takst.web`) write
it. One page per customer (A4, ``@page`` print CSS): the inputs, then every
charge line with its steps, each step beside the tariff line it came from,
highlighted (:class:`takst.lexer.TariffLexer`), and the amounts in the reader's
locale (:mod:`takst.render.locale`). Printed from a browser, or to PDF with
Chromium's ``--headless --print-to-pdf`` (see ``docs/calculator.rst``).

A rendering of the same trace records as the text worksheet
(:mod:`takst.render.worksheet`). Everything that comes from a tariff or a
register is escaped: the template engine (Jinja2, the ``web`` extra) escapes
every value, and the highlighted source is escaped by Pygments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takst.dsl.errors import Span, UsageError, diagnostic
from takst.interpreter.model import CustomerResult
from takst.interpreter.trace import value_text
from takst.render.locale import Numbers

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"

# A number as the trace writes it (takst's plain form, 597 705.345 or 0.1, "…" when cut):
# grouped with spaces or with a decimal point. A plain integer (a year, an id, a row)
# is left alone: it reads the same in every locale.
_NUMBER = re.compile(r"(?<![\w.,-])(-?\d{1,3}(?: \d{3})+(?:\.\d+)?|-?\d+\.\d+)(?![\w-])")


def environment() -> jinja2.Environment:
    """The template environment of the worksheet and the calculator: escaping always on."""
    return _environment(str(TEMPLATES))


def need_web(what: str, modules: tuple[str, ...] = ("jinja2", "markupsafe")) -> None:
    """A usage error naming the web extra when one of ``modules`` is not installed."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(diagnostic(
            f"{what} needs the web extra ({', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed)",
            hint="pip install 'takst[web]'"))


@cache
def _environment(*folders: str) -> jinja2.Environment:
    try:
        import jinja2
    except ImportError:  # pragma: no cover - the web extra is missing
        raise UsageError(diagnostic(
            "HTML output needs Jinja2, which is not installed",
            hint="pip install 'takst[web]'")) from None
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(folders)),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def localized(text: str, numbers: Numbers) -> str:
    """A trace step's text with its numbers in the locale: ``6.345 × 94 201`` is
    ``6,345 × 94 201`` in Norwegian and ``6,345 × 94.201`` in Danish."""
    if numbers.plain:
        return text

    def one(m: re.Match[str]) -> str:
        written = m.group(1).replace(" ", "")
        value = Decimal(written)
        # as many decimals as written: 606 360.00 stays an amount, 0.1 a number
        return numbers.amount(value) if len(written.partition(".")[2]) >= 2 else numbers.number(value)

    return _NUMBER.sub(one, text)


class Sources:
    """The highlighted lines of the tariff files a trace points at, read once each."""

    def __init__(self, tariff_file: str) -> None:
        self.tariff_file = tariff_file
        self._lines: dict[str, list[str]] = {}

    def lines(self, file: str) -> list[str]:
        if file not in self._lines:
            try:
                text = Path(file).read_text(encoding="utf-8")
            except OSError:
                text = ""
            self._lines[file] = highlight_lines(text)
        return self._lines[file]

    def line(self, span: Span | None) -> str:
        """The highlighted source line of ``span`` (escaped HTML), or ""."""
        if span is None or span.line < 1:
            return ""
        lines = self.lines(span.file)
        return lines[span.line - 1] if span.line <= len(lines) else ""

    def where(self, span: Span | None) -> str:
        """``line 44`` in the tariff, ``customer_types.tariff:3`` in an imported module."""
        if span is None:
            return ""
        if span.file == self.tariff_file:
            return f"line {span.line}"
        return f"{Path(span.file).name}:{span.line}"


def highlight_lines(text: str) -> list[str]:
    """Every line of tariff text as escaped HTML with Pygments' token classes."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from takst.lexer import TariffLexer

    if not text:
        return []
    html = highlight(text, TariffLexer(), HtmlFormatter(nowrap=True))
    return html.split("\n")


@cache
def highlight_css() -> str:
    """The colours of the highlighted source (Pygments' default style, under ``.src``)."""
    from pygments.formatters import HtmlFormatter

    return str(HtmlFormatter(style="default").get_style_defs(".src"))  # type: ignore[no-untyped-call]


def css_string(text: str) -> str:
    """``text`` as a CSS string, every character that is not a letter, a digit or a
    space escaped (``\\3C ``), so no text can end the string or the style sheet."""
    out = []
    for ch in text:
        out.append(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):X} ")
    return '"' + "".join(out) + '"'


def amount_text(value: Decimal | None, numbers: Numbers) -> str:
    return "pending" if value is None else numbers.amount(value)


def customer_page(result: CustomerResult, sources: Sources, numbers: Numbers) -> dict[str, Any]:
    """What the template needs of one customer: texts already in the locale."""
    lines = []
    for n, line in enumerate(result.lines, 1):
        steps = [{"text": localized(s.text, numbers), "where": sources.where(s.span),
                  "source": sources.line(s.span), "kind": s.kind} for s in line.steps]
        lines.append({"n": n, "charge": line.charge, "label": line.label,
                      "amount": amount_text(line.amount, numbers),
                      "pending": line.amount is None, "steps": steps})
    if result.origin == "command line":
        ident = result.name if result.name != "the customer" else "values given on the command line"
    else:
        ident = f"{result.id} {result.name}".strip() if result.id != result.name else result.name
    return {
        "id": result.id,
        "ident": ident,
        "origin": result.origin,
        "inputs": [(k, localized(value_text(v), numbers)) for k, v in result.inputs],
        "lines": lines,
        "total": numbers.amount(result.total),
        "pending": list(result.pending),
    }


def render_worksheets(
    results: Iterable[CustomerResult],
    *,
    title: str,
    tariff_file: str,
    year: int,
    currency: str,
    numbers: Numbers,
    warnings: Sequence[str] = (),
    links: Mapping[str, str] | None = None,
) -> str:
    """The printable worksheet of each result, one A4 page each, as one HTML document.

    ``links`` (optional) are extra links shown in the page's header for the screen
    only (the calculator's "back to the calculator"), name -> URL."""
    need_web("HTML output")
    sources = Sources(tariff_file)
    pages = [customer_page(r, sources, numbers) for r in results]
    from markupsafe import Markup

    for n, page in enumerate(pages):
        page["page_name"] = f"customer{n}"
        # the running head of each printed page: tariff, year and customer
        page["running_head"] = Markup(css_string(f"{title} · {year} · {page['ident']}"))
    return environment().get_template("worksheet.html").render(
        title=title, tariff_file=tariff_file, year=year, currency=currency,
        locale=numbers.locale, pages=pages, warnings=list(warnings),
        links=dict(links or {}), highlight_css=highlight_css())
