"""The manual's tariff snippets are checked like tariffs.

Every ``.. code-block:: tariff`` in ``docs/*.rst`` is one of three kinds:

* a complete tariff (its first line that is not blank or a comment starts with
  ``tariff``): it must load (with its imports) and check with no errors, and
  its ``example`` blocks must pass;
* a fragment (anything else): it is put after :data:`WRAPPER`, a minimal header
  and inputs, and the result must parse;
* a deliberate mistake: the code block is preceded by an rst comment
  ``.. expect-error: TEXT`` (or ``.. expect-warning: TEXT``), and parsing or
  checking the snippet (wrapped if it is a fragment) must report an error (a
  warning) whose message contains TEXT; or by ``.. expect-failure: TEXT``, and
  the snippet, a complete tariff, must check without errors and have an
  example whose title contains TEXT that fails.

Where the manual shows what ``takst check`` prints, the ``.. code-block:: text``
is preceded by an rst comment ``.. check-output: NAME.tariff``; the test saves
the nearest tariff snippet above it as NAME.tariff, runs ``takst check NAME.tariff``
and compares, so a quoted message cannot drift from the real one. Likewise
``.. snippet-output: takst ARGS...`` (ARGS naming a file ``NAME.tariff``) saves
the nearest tariff snippet above as NAME.tariff in an empty folder and runs that
command there; the ``text`` block after it starts with ``$ takst ARGS...`` and
holds the output. In the same way an rst comment
``.. verify-output: takst ARGS...`` before a code block says
that the block is what that command prints when run from the repository root:
a ``text`` block starts with the line ``$ takst ARGS...`` and then holds the
output exactly, except that a line ``...`` stands for one or more lines left
out; a ``json`` block holds the same JSON value (laid out for reading).
``python docs/refresh_outputs.py`` rewrites both kinds of block from what takst
prints today.

A complete tariff is loaded as if it were saved in ``docs/`` (or any other
folder of the repository, such as ``rules/``): ``import customer_types`` reads
the stdlib, ``import "../stdlib/rounding_rules.tariff"`` a file of the
repository, and an example's ``register "../data/norway_2024.csv"`` a register
of ``data/``. Diagnostics name the snippet by its place in the manual.

The Sphinx build itself is run separately (``sphinx-build -W -b html docs
docs/_build/html``).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest

from takst.cli import main
from takst.dsl import ast, loader
from takst.dsl.check import check, errors_of
from takst.dsl.errors import Diagnostic, TariffError, render_all
from takst.dsl.parser import parse
from takst.interpreter.evaluator import Evaluator
from takst.testing.specs import report_failure, run_examples

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GRAMMAR = ROOT / "dsl" / "tariff.lark"

#: What a fragment is put after: a header and a few inputs, so that a fragment
#: (declarations without a header) is a whole file for the parser.
WRAPPER = """\
tariff doc_fragment "A fragment of the manual"
  currency DKK
  source "docs"

input fragment_population: inhabitants
input fragment_member: yes/no
input fragment_joined: date

"""

_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]+tariff[ \t]*$")
_TEXT_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]+text[ \t]*$")
_ANY_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]+(?P<lang>\w+)[ \t]*$")
_VERIFY = re.compile(r"^[ \t]*\.\. verify-output:[ \t]*(?P<command>takst[ \t].*?)[ \t]*$")
_OUTPUT = re.compile(r"^[ \t]*\.\. check-output:[ \t]*(?P<file>\S+\.tariff)[ \t]*$")
_SNIPPET_RUN = re.compile(r"^[ \t]*\.\. snippet-output:[ \t]*(?P<command>takst[ \t].*?)[ \t]*$")
_MARKER = re.compile(
    r"^[ \t]*\.\. expect-(?P<kind>error|warning|failure):[ \t]*(?P<text>\S.*?)[ \t]*$"
)


@dataclass(frozen=True)
class Snippet:
    """One ``.. code-block:: tariff`` of the manual."""

    file: str
    line: int  # 1-based line of the code-block directive
    text: str
    expect: tuple[str, str] | None  # ("error" | "warning", substring)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def complete(self) -> bool:
        for line in self.text.splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                return stripped.split()[0] == "tariff"
        return False

    def source(self) -> str:
        return self.text if self.complete else WRAPPER + self.text


def _block_body(lines: list[str], start: int, indent: str) -> str:
    """The content of the directive at ``lines[start]``: its indented lines after the options."""
    i = start + 1
    body: list[str] = []
    in_options = True
    while i < len(lines):
        line = lines[i]
        deeper = line.startswith(indent) and len(line) - len(line.lstrip()) > len(indent)
        if line.strip() and not deeper:
            break  # a line indented no deeper than the directive ends it
        if in_options and line.strip().startswith(":") and not body:
            i += 1
            continue
        in_options = False
        body.append(line)
        i += 1
    return textwrap.dedent("\n".join(body)).strip("\n") + "\n"


def _marker_before(lines: list[str], start: int) -> tuple[str, str] | None:
    j = start - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return None
    m = _MARKER.match(lines[j])
    return (m["kind"], m["text"]) if m else None


def collect() -> list[Snippet]:
    snippets: list[Snippet] = []
    for path in sorted(DOCS.glob("*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            m = _BLOCK.match(line)
            if m:
                snippets.append(
                    Snippet(
                        file=f"docs/{path.name}",
                        line=n + 1,
                        text=_block_body(lines, n, m["indent"]),
                        expect=_marker_before(lines, n),
                    )
                )
    return snippets


@dataclass(frozen=True)
class Output:
    """A ``takst check`` output quoted in the manual, with the snippet it belongs to."""

    file: str
    line: int  # 1-based line of the check-output comment
    tariff_file: str
    snippet: Snippet
    shown: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def collect_outputs(snippets: list[Snippet]) -> list[Output]:
    outputs: list[Output] = []
    for path in sorted(DOCS.glob("*.rst")):
        name = f"docs/{path.name}"
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            m = _OUTPUT.match(line)
            if not m:
                continue
            k = n + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            block = _TEXT_BLOCK.match(lines[k]) if k < len(lines) else None
            assert block, f"{name}:{n + 1}: check-output is not followed by a text code block"
            before = [s for s in snippets if s.file == name and s.line < n + 1]
            assert before, f"{name}:{n + 1}: no tariff snippet above this check-output"
            outputs.append(
                Output(name, n + 1, m["file"], before[-1], _block_body(lines, k, block["indent"]))
            )
    return outputs


@dataclass(frozen=True)
class Run:
    """A command's output quoted in the manual: the command, the block's language and text."""

    file: str
    line: int  # 1-based line of the verify-output comment
    command: str
    language: str
    shown: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def collect_runs() -> list[Run]:
    runs: list[Run] = []
    for path in sorted(DOCS.glob("*.rst")):
        name = f"docs/{path.name}"
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            m = _VERIFY.match(line)
            if not m:
                continue
            k = n + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            block = _ANY_BLOCK.match(lines[k]) if k < len(lines) else None
            assert block, f"{name}:{n + 1}: verify-output is not followed by a code block"
            body = _block_body(lines, k, block["indent"])
            runs.append(Run(name, n + 1, m["command"], block["lang"], body))
    return runs


@dataclass(frozen=True)
class SnippetRun:
    """A command's output for a snippet saved as a file, quoted in the manual."""

    file: str
    line: int  # 1-based line of the snippet-output comment
    command: str
    tariff_file: str
    snippet: Snippet
    shown: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def collect_snippet_runs(snippets: list[Snippet]) -> list[SnippetRun]:
    runs: list[SnippetRun] = []
    for path in sorted(DOCS.glob("*.rst")):
        name = f"docs/{path.name}"
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            m = _SNIPPET_RUN.match(line)
            if not m:
                continue
            files = [a for a in shlex.split(m["command"]) if a.endswith(".tariff")]
            assert len(files) == 1, f"{name}:{n + 1}: the command must name one .tariff file"
            k = n + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            block = _TEXT_BLOCK.match(lines[k]) if k < len(lines) else None
            assert block, f"{name}:{n + 1}: snippet-output is not followed by a text code block"
            before = [s for s in snippets if s.file == name and s.line < n + 1]
            assert before, f"{name}:{n + 1}: no tariff snippet above this snippet-output"
            runs.append(SnippetRun(name, n + 1, m["command"], files[0], before[-1],
                                   _block_body(lines, k, block["indent"])))
    return runs


SNIPPETS = collect()
OUTPUTS = collect_outputs(SNIPPETS)
SNIPPET_RUNS = collect_snippet_runs(SNIPPETS)
RUNS = collect_runs()
COMPLETE = [s for s in SNIPPETS if s.expect is None and s.complete]
FRAGMENTS = [s for s in SNIPPETS if s.expect is None and not s.complete]
MISTAKES = [s for s in SNIPPETS if s.expect is not None]


def _ids(snippets: list[Snippet]) -> list[str]:
    return [s.where for s in snippets]


#: Where a complete snippet is loaded from: a file of docs/ that does not exist. Its
#: imports and its examples' registers are found relative to docs/.
SNIPPET_PATH = DOCS / "snippet.tariff"


def load_snippet(snippet: Snippet) -> ast.Tariff:
    """The snippet with its imports, as :func:`takst.dsl.loader.load_tariff` loads a file
    saved as docs/snippet.tariff; its diagnostics name the snippet (``docs/NAME.rst:LINE``).

    Run it with the repository root as the current folder, so that an example's
    register (relative to the tariff's file, ``docs/``) is found.
    """
    read_file = loader.parse_file
    virtual = SNIPPET_PATH.resolve()

    def parse_file(path: str | Path, display: str | None = None) -> ast.Tariff:
        if Path(path).resolve() == virtual:
            return parse(snippet.source(), snippet.where)
        return read_file(path, display)

    with mock.patch.object(loader, "parse_file", parse_file):
        return loader.load_tariff(SNIPPET_PATH, root=ROOT)


def _diagnostics(snippet: Snippet) -> list[Diagnostic]:
    """Every problem loading and checking find in the snippet (check only runs when it
    loads)."""
    try:
        tariff = load_snippet(snippet)
    except TariffError as err:
        return list(err.diagnostics)
    return check(tariff)


_ELIDED = "..."


def shown_matches(shown: str, actual: str) -> bool:
    """Whether a quoted output is ``actual``: line by line, where a line ``...`` of
    ``shown`` stands for one or more lines of ``actual``."""
    pieces = [
        r"[^\n]*(?:\n[^\n]*)*" if line == _ELIDED else re.escape(line)
        for line in shown.split("\n")
    ]
    return re.fullmatch("\n".join(pieces), actual) is not None


# ------------------------------------------------------------------ the tests


def test_the_manual_has_snippets_of_every_kind() -> None:
    """The extractor finds complete tariffs, fragments and deliberate mistakes in docs/."""
    assert COMPLETE, "no complete tariff snippet found in docs/*.rst"
    assert FRAGMENTS, "no fragment snippet found in docs/*.rst"
    assert MISTAKES, "no `.. expect-error:` snippet found in docs/*.rst"
    assert all(s.text.strip() for s in SNIPPETS), "an empty tariff code block"


def test_every_marker_is_followed_by_a_tariff_block() -> None:
    """An ``.. expect-error:``, ``.. expect-warning:`` or ``.. expect-failure:`` comment
    always precedes a tariff block."""
    marked = {s.where for s in MISTAKES}
    dangling = []
    for path in sorted(DOCS.glob("*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if _MARKER.match(line):
                k = n + 1
                while k < len(lines) and not lines[k].strip():
                    k += 1
                if k >= len(lines) or f"docs/{path.name}:{k + 1}" not in marked:
                    dangling.append(f"docs/{path.name}:{n + 1}")
    assert not dangling, f"markers not followed by `.. code-block:: tariff`: {dangling}"


@pytest.mark.parametrize("snippet", COMPLETE, ids=_ids(COMPLETE))
def test_complete_tariff_checks_and_its_examples_pass(
    snippet: Snippet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A complete tariff in the manual loads, checks without errors and passes its examples."""
    monkeypatch.chdir(ROOT)
    try:
        tariff = load_snippet(snippet)
    except TariffError as err:
        pytest.fail(render_all(err.diagnostics))
    errors = errors_of(check(tariff))
    assert not errors, render_all(errors)
    evaluator = Evaluator(tariff, checked=True)
    failures = [report_failure(o, evaluator) for o in run_examples(evaluator) if not o.passed]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("snippet", FRAGMENTS, ids=_ids(FRAGMENTS))
def test_fragment_parses_after_the_wrapper(snippet: Snippet) -> None:
    """A fragment of the manual parses when put after a minimal header and inputs."""
    try:
        parse(snippet.source(), snippet.where)
    except TariffError as err:
        pytest.fail(render_all(err.diagnostics))


@pytest.mark.parametrize("snippet", MISTAKES, ids=_ids(MISTAKES))
def test_deliberate_mistake_is_reported(snippet: Snippet, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snippet marked as a mistake gets a diagnostic of that severity containing that text."""
    monkeypatch.chdir(ROOT)
    assert snippet.expect is not None
    severity, text = snippet.expect
    if severity == "failure":
        assert snippet.complete, "an example can fail only in a complete tariff"
        tariff = load_snippet(snippet)
        errors = errors_of(check(tariff))
        assert not errors, render_all(errors)
        failed = [o.example.title for o in run_examples(Evaluator(tariff, checked=True))
                  if not o.passed]
        assert any(text in title for title in failed), f"failing examples: {failed}"
        return
    diags = _diagnostics(snippet)
    found = [d for d in diags if d.severity == severity and text in d.message]
    assert found, f"no {severity} containing {text!r}; got:\n{render_all(diags) or '(nothing)'}"
    if severity == "warning":
        assert not errors_of(diags), render_all(errors_of(diags))


@pytest.mark.parametrize("output", OUTPUTS, ids=[o.where for o in OUTPUTS])
def test_quoted_check_output_is_what_takst_prints(
    output: Output, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``takst check`` output quoted in the manual is exactly what takst prints today."""
    (tmp_path / output.tariff_file).write_text(output.snippet.text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    main(["check", output.tariff_file], out, err)
    actual = (err.getvalue() + out.getvalue()).rstrip("\n")
    assert actual == output.shown.rstrip("\n")


@pytest.mark.parametrize("run", RUNS, ids=[r.where for r in RUNS])
def test_quoted_command_output_is_what_takst_prints(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command output quoted in the manual is what that takst command prints today."""
    monkeypatch.chdir(ROOT)
    out, err = io.StringIO(), io.StringIO()
    main(shlex.split(run.command)[1:], out, err)
    actual = (out.getvalue() + err.getvalue()).rstrip("\n")
    if run.language == "json":
        assert json.loads(run.shown) == json.loads(actual)
        return
    first, _, rest = run.shown.partition("\n")
    assert first == f"$ {run.command}", "the block must start with the command it shows"
    shown = rest.rstrip("\n")
    if _ELIDED in shown.split("\n"):
        assert shown_matches(shown, actual), f"the output is now:\n{actual}"
    else:
        assert shown == actual


@pytest.mark.parametrize("run", SNIPPET_RUNS, ids=[r.where for r in SNIPPET_RUNS])
def test_quoted_snippet_output_is_what_takst_prints(
    run: SnippetRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command's output for a snippet saved as a file is what takst prints today."""
    (tmp_path / run.tariff_file).write_text(run.snippet.text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    main(shlex.split(run.command)[1:], out, err)
    actual = (out.getvalue() + err.getvalue()).rstrip("\n")
    first, _, rest = run.shown.partition("\n")
    assert first == f"$ {run.command}", "the block must start with the command it shows"
    assert shown_matches(rest.rstrip("\n"), actual), f"the output is now:\n{actual}"


def test_elided_lines_match_one_or_more_lines() -> None:
    """``...`` in a quoted output stands for at least one line, anywhere in the block."""
    assert shown_matches("a\n...\nd", "a\nb\nc\nd")
    assert shown_matches("a\n...\nd", "a\n\nd")
    assert not shown_matches("a\n...\nd", "a\nd")
    assert shown_matches("...\nd", "x\nd")
    assert shown_matches("a\n...", "a\nb")
    assert not shown_matches("a\n...\nd", "a\nb\nc")
    assert not shown_matches("a.c", "abc")  # only a line of its own elides


# ------------------------------------------------------------------ the highlighter


def _lexer_module() -> ModuleType:
    pytest.importorskip("pygments")
    spec = importlib.util.spec_from_file_location("tariff_lexer", DOCS / "_ext" / "tariff_lexer.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lexer_keywords_are_the_grammar_keywords() -> None:
    """The highlighter knows exactly the quoted words of dsl/tariff.lark as keywords."""
    lexer = _lexer_module()
    grammar = set(re.findall(r'"([^\W\d]\w*)"', GRAMMAR.read_text(encoding="utf-8")))
    assert set(lexer.KEYWORDS) == grammar


_RESERVED = re.compile(r"^[ \t]*\.\. reserved-words:[ \t]*$")


def test_reserved_words_in_the_manual_are_the_grammar_keywords() -> None:
    """The list of reserved words after ``.. reserved-words:`` is the grammar's quoted words."""
    grammar = set(re.findall(r'"([^\W\d]\w*)"', GRAMMAR.read_text(encoding="utf-8")))
    lists = []
    for path in sorted(DOCS.glob("*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if _RESERVED.match(line):
                k = n + 1
                while k < len(lines) and not lines[k].strip():
                    k += 1
                block = _TEXT_BLOCK.match(lines[k]) if k < len(lines) else None
                assert block, f"docs/{path.name}:{n + 1}: not followed by a text code block"
                body = _block_body(lines, k, block["indent"])
                lists.append(set(re.findall(r"[^\W\d]\w*", body)))
    assert lists, "no `.. reserved-words:` list in docs/*.rst"
    for words in lists:
        assert words == grammar, (
            f"missing: {sorted(grammar - words)}; not reserved: {sorted(words - grammar)} "
            "(python docs/refresh_outputs.py rewrites the list)"
        )


@pytest.mark.parametrize("snippet", SNIPPETS, ids=_ids(SNIPPETS))
def test_snippet_highlights_without_errors(snippet: Snippet) -> None:
    """Every tariff snippet lexes without an Error token, so Sphinx highlights it silently."""
    lexer = _lexer_module()
    from pygments.token import Error

    bad = [v for t, v in lexer.TariffLexer().get_tokens(snippet.text) if t in Error]
    assert not bad, f"characters the highlighter does not know: {bad}"


def test_the_python_page_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example of docs/python.rst (the session API) gives the output shown."""
    import contextlib
    import doctest

    monkeypatch.chdir(ROOT)
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        failed, attempted = doctest.testfile(
            str(DOCS / "python.rst"), module_relative=False, optionflags=doctest.ELLIPSIS,
            report=True)
    assert attempted >= 30, "docs/python.rst lost its examples"
    assert failed == 0, report.getvalue()
