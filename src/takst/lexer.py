"""A Pygments lexer for the takst tariff language (``.tariff`` files).

Registered as a Pygments entry point (``pygments.lexers``), so ``pygmentize -l
tariff FILE`` and any Pygments user highlights tariffs; the Sphinx manual uses it
for ``.. code-block:: tariff``. The keyword lists are the quoted words of
``dsl/tariff.lark``; ``tests/test_docs.py`` checks that they stay in step with
the grammar, and the language server's completion offers them.

The lexer has no catch-all rule on purpose: a character the language does not
know becomes an ``Error`` token, Sphinx reports it ("Could not lex literal_block
as tariff"), and ``sphinx-build -W`` fails. A character the lexer does not know
is not part of the language either, so such a snippet would not parse.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, words
from pygments.token import (
    Comment,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

__all__ = ["BUILTINS", "KEYWORDS", "TariffLexer"]

#: Words that start a top-level declaration.
DECLARATIONS = (
    *("tariff", "module", "import"),  # header, modules
    *("input", "setting"),  # values per customer, values for the whole evaluation
    *("list", "categories", "group", "bands", "slices"),  # names and dimensions
    *("volume",),  # issue 12: volume pricing
    *("param", "formula", "aggregate", "pool"),  # named values
    *("proration", "rounding"),  # named policies
    *("charge", "pending", "example", "property"),
    *("vat",),  # issue 12: the VAT a tariff states
)

#: The types of an input (``yes/no`` is ``yes`` ``/`` ``no``, see CONSTANTS).
TYPES = ("inhabitants", "date", "text", "number", "money", "count")

#: Words that open or qualify a clause, by where they are used.
CLAUSES = (
    *("currency", "source"),  # header
    *("of", "optional"),  # count of THINGS; an input that may be missing
    *("by", "from", "above", "to", "up", "below"),  # bands and tables
    *("at",),  # the rate of a slice
    *("sum", "max", "min", "among"),  # aggregates
    *("shared", "rounded"),  # pools
    *("every", "year", "once", "when"),  # frequency
    *("table", "amount", "prorate", "except", "priority", "note"),  # charge clauses
    *("offered",),  # a case that is not offered
    *("months", "days", "with"),  # prorate by months/days; prorate with, round with
    *("round", "half", "even", "down"),  # rounding
    *("per",),  # rates
    *("plus", "flat"),  # issue 12: a flat amount per tier reached
    *("least", "most", "before", "after"),  # issue 12: at least / at most, and their place
    *("started",),  # issue 12: per started block
    *("weighted",),  # issue 12: a dated value weighted by days
    *("given", "billing", "expect", "total", "register", "for", "rate"),  # examples
    *("adjusted", "equally", "exempt", "default", "decided"),  # issue 12
)

#: Words that combine or test conditions.
OPERATOR_WORDS = ("and", "or", "not", "in")

#: The yes/no literals.
CONSTANTS = ("yes", "no")

#: Every keyword of the grammar (what the test compares with dsl/tariff.lark).
KEYWORDS = frozenset((*DECLARATIONS, *TYPES, *CLAUSES, *OPERATOR_WORDS, *CONSTANTS))

#: Names every tariff knows without declaring them, and the words of a rounding step.
BUILTINS = ("id", "name", "customer_type", "billing_year")
STEP_WORDS = ("øre", "ore", "krone", "kroner", "whole")

# A keyword is a whole word: not preceded or followed by a letter, digit or "_".
_WORD = {"prefix": r"(?<!\w)", "suffix": r"(?!\w)"}


class TariffLexer(RegexLexer):
    """Highlights tariff text: keywords, comments, texts, numbers, dates and names."""

    name = "Tariff"
    aliases = ["tariff", "takst"]  # noqa: RUF012 - Pygments' own interface
    filenames = ["*.tariff"]  # noqa: RUF012
    mimetypes = ["text/x-tariff"]  # noqa: RUF012

    tokens = {  # noqa: RUF012
        "root": [
            (r"[ \t\f]+", Whitespace),
            (r"\r?\n", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"[^"\n]*"', String.Double),
            # An unclosed text still highlights (the parser reports it).
            (r'"[^"\n]*', String.Double),
            # A date before a number: DATE outranks NUMBER in the grammar too.
            (r"\d{4}-\d{2}-\d{2}(?![\w])", Literal.Date),
            (r"\d[\d_]*\.\d[\d_]*", Number.Float),
            (r"\d[\d_]*", Number.Integer),
            (r"->|!=|<=|>=|[<>=+\-*/%]", Operator),
            (r"[(),:]", Punctuation),
            (words(DECLARATIONS, **_WORD), Keyword.Declaration),
            (words(TYPES, **_WORD), Keyword.Type),
            (words(OPERATOR_WORDS, **_WORD), Operator.Word),
            (words(CONSTANTS, **_WORD), Keyword.Constant),
            (words(CLAUSES, **_WORD), Keyword),
            (words(BUILTINS, **_WORD), Name.Builtin),
            (words(STEP_WORDS, **_WORD), Name.Constant),
            # A three-letter code in capitals: a currency (DKK, NOK, SEK, EUR).
            (r"[A-Z]{3}(?!\w)", Name.Constant),
            (r"[^\W\d]\w*", Name),
        ],
    }
