"""The editor grammars against the language's own: the VS Code TextMate grammar knows every
keyword of dsl/tariff.lark, and the Pygments lexer is found through its entry point."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest
from lark import Lark

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "tariff.tmLanguage.json"
TARIFFS = sorted([*(ROOT / "rules").glob("*.tariff"), *(ROOT / "stdlib").glob("*.tariff")])

#: Named terminals that are words of the language, not names or literals.
WORD_TERMINALS = {"OPTIONAL", "YES", "NO"}


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_grammar", VSCODE / "scripts" / "build_grammar.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lark() -> Lark:
    text = resources.files("takst.dsl").joinpath("tariff.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="basic")


def _tokenise(grammar: dict[str, object], line: str) -> list[tuple[int, int, str]]:
    """What a TextMate engine does with a grammar of single-line `match` rules: at each
    position, the rule whose match starts first wins (the earlier rule on a tie)."""
    repo = grammar["repository"]
    assert isinstance(repo, dict)
    rules = [(re.compile(repo[p["include"][1:]]["match"]), repo[p["include"][1:]]["name"])
             for p in grammar["patterns"]]  # type: ignore[attr-defined]
    out: list[tuple[int, int, str]] = []
    pos = 0
    while pos < len(line):
        best: tuple[int, int, str] | None = None
        for rx, scope in rules:
            m = rx.search(line, pos)
            if m is not None and m.end() > m.start() and (best is None or m.start() < best[0]):
                best = (m.start(), m.end(), scope)
        if best is None:
            break
        out.append(best)
        pos = best[1]
    return out


def test_the_textmate_grammar_is_generated_from_the_lark_grammar() -> None:
    """The committed grammar is what scripts/build_grammar.py makes of dsl/tariff.lark now."""
    builder = _builder()
    assert GRAMMAR.read_text(encoding="utf-8") == builder.render(), (
        "run: python editors/vscode/scripts/build_grammar.py")


def test_every_keyword_of_the_lark_grammar_is_a_keyword_of_the_textmate_grammar() -> None:
    """Each word terminal of the Lark grammar, alone on a line, is scoped as a keyword."""
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    lark = _lark()
    words = {str(t.pattern.value) for t in lark.terminals
             if t.pattern.type == "str" and str(t.pattern.value).isalpha()}
    assert {"tariff", "bands", "except", "optional", "yes", "per", "priority"} <= words
    for word in sorted(words):
        ((start, end, scope),) = _tokenise(grammar, word)
        assert (start, end) == (0, len(word)), word
        assert scope.startswith(("keyword.", "constant.language.")), (word, scope)
    assert _builder().grammar_keywords() == words


@pytest.mark.parametrize("path", TARIFFS, ids=lambda p: p.name)
def test_every_keyword_token_of_a_tariff_is_highlighted_as_a_keyword(path: Path) -> None:
    """Lex the file with Lark; every keyword token it produces is covered, exactly, by a
    keyword scope of the TextMate grammar, and no name token is taken for a keyword."""
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    scopes = {i: {(s, e): scope for s, e, scope in _tokenise(grammar, line)}
              for i, line in enumerate(lines)}
    keywords = names = 0
    for tok in _lark().lex(text):
        line = (tok.line or 1) - 1
        col = (tok.column or 1) - 1
        key = (col, col + len(tok.value))
        is_word = tok.value.isalpha() and (tok.type in WORD_TERMINALS or (tok.type.isupper()
                                            and tok.type not in ("NAME", "STRING", "NUMBER", "DATE")))
        if tok.type == "NAME":
            names += 1
            assert not scopes[line].get(key, "").startswith("keyword."), (path.name, tok)
        elif is_word:
            keywords += 1
            scope = scopes[line].get(key)
            want = "constant.language." if tok.type in ("YES", "NO") else "keyword."
            assert scope is not None and scope.startswith(want), (path.name, tok.line, tok, scope)
    assert keywords > 10 and names > 10


def test_the_extension_declares_the_language_and_its_grammar() -> None:
    """package.json ties .tariff to the language, its configuration, grammar and snippets,
    and starts `takst lsp`."""
    pkg = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (lang,) = pkg["contributes"]["languages"]
    assert lang["id"] == "tariff" and lang["extensions"] == [".tariff"]
    assert (VSCODE / lang["configuration"]).is_file()
    (gram,) = pkg["contributes"]["grammars"]
    assert gram["scopeName"] == "source.tariff" and (VSCODE / gram["path"]).resolve() == GRAMMAR
    (snip,) = pkg["contributes"]["snippets"]
    snippets = json.loads((VSCODE / snip["path"]).read_text(encoding="utf-8"))
    assert {"tariff", "bands", "charge", "param", "example"} <= {s["prefix"] for s in snippets.values()}
    conf = json.loads((VSCODE / lang["configuration"]).read_text(encoding="utf-8"))
    assert conf["comments"]["lineComment"] == "#"
    js = (VSCODE / "extension.js").read_text(encoding="utf-8")
    assert "vscode-languageclient/node" in js and '"lsp"' in js
    assert pkg["contributes"]["configuration"]["properties"]["takst.server.command"]["default"] == ["takst"]


def test_snippets_parse_as_tariffs() -> None:
    """Each snippet, with its placeholders filled by their defaults, parses."""
    from takst.dsl.parser import parse

    pkg = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    snippets = json.loads((VSCODE / pkg["contributes"]["snippets"][0]["path"]).read_text(encoding="utf-8"))
    header = 'tariff t "T"\n  currency DKK\n  source "s"\n\ninput population: inhabitants\n' \
        "input joined: date\nbands size by population\n  small from 0\n\n"
    for name, snip in snippets.items():
        body = "\n".join(snip["body"])
        body = re.sub(r"\$\{\d+:([^}]*)\}", r"\1", body)
        body = re.sub(r"\$\d+", "", body)
        text = body + "\n" if snip["prefix"] in ("tariff", "module") else header + body + "\n"
        parse(text, f"<snippet {name}>")


def test_pygmentize_finds_the_tariff_lexer() -> None:
    """The lexer is a Pygments entry point: `pygmentize -l tariff FILE` highlights."""
    lexers = pytest.importorskip("pygments.lexers")
    from takst.lexer import TariffLexer

    assert isinstance(lexers.get_lexer_by_name("tariff"), TariffLexer)
    assert isinstance(lexers.get_lexer_for_filename("x.tariff"), TariffLexer)
    run = subprocess.run(
        [sys.executable, "-m", "pygments", "-l", "tariff", "-f", "html",
         str(ROOT / "rules" / "os2valghalla.tariff")],
        capture_output=True, text=True, check=True)
    assert '<span class="kd">charge</span>' in run.stdout
    assert 'class="err"' not in run.stdout
