"""`takst lsp` through the protocol: a server process spoken to over pipes, each capability."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

from takst.dsl.formatter import format_text
from takst.lsp.client import LspClient, position

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
OS2 = RULES / "os2valghalla.tariff"
GAP = OS2.read_text(encoding="utf-8").replace("from 25_001 to 60_000", "from 25_002 to 60_000")


@pytest.fixture(scope="module")
def client() -> Iterator[LspClient]:
    with LspClient((sys.executable, "-m", "takst", "lsp"), cwd=ROOT) as c:
        c.initialize(ROOT)
        yield c
        assert c.proc.poll() is None, c.stderr_text()


_version = iter(range(2, 10_000))


def opened(client: LspClient, path: Path, text: str | None = None) -> tuple[str, dict[str, Any]]:
    """Open ``path`` (with ``text`` as its buffer) and wait for its diagnostics."""
    uri = client.open(path, text)
    return uri, client.wait_for("textDocument/publishDiagnostics", uri=uri)


def changed(client: LspClient, uri: str, text: str) -> dict[str, Any]:
    client.change(uri, text, next(_version))
    return client.wait_for("textDocument/publishDiagnostics", uri=uri)


def at(uri: str, pos: dict[str, int]) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": pos}


def closed(client: LspClient, uri: str) -> None:
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.wait_for("textDocument/publishDiagnostics", uri=uri)


# ------------------------------------------------------------------ initialize


def test_initialize_announces_every_capability() -> None:
    """The server says it offers hover, definition, references, completion, formatting,
    code actions and symbols, and keeps documents in step incrementally."""
    with LspClient(cwd=ROOT) as c:
        caps = c.initialize(ROOT)["capabilities"]
    for cap in ("hoverProvider", "definitionProvider", "referencesProvider", "completionProvider",
                "documentFormattingProvider", "codeActionProvider", "documentSymbolProvider"):
        assert caps.get(cap), cap
    assert caps["textDocumentSync"]["openClose"] is True


# ------------------------------------------------------------------ diagnostics


def test_a_gap_is_reported_on_open(client: LspClient) -> None:
    """Opening a tariff whose bands leave a value out publishes the checker's diagnostic,
    positioned on the band after the gap, with its hint."""
    uri, note = opened(client, OS2, GAP)
    (d,) = note["diagnostics"]
    assert d["message"].startswith("25 001 falls in no band of size\nhint: decide which band")
    assert d["severity"] == 1
    assert d["source"] == "takst"
    line = GAP.splitlines().index('  medium      "Mellem"      from 25_002 to 60_000')
    assert d["range"] == {"start": {"line": line, "character": 2}, "end": {"line": line, "character": 8}}
    closed(client, uri)


def test_diagnostics_follow_changes_and_are_debounced() -> None:
    """A burst of changes is checked once, after it: the first diagnostics published are
    those of the last text, not of the broken ones typed on the way. (A server of its own,
    with a debounce long enough for a busy machine, set by the initialization options.)"""
    with LspClient(cwd=ROOT) as client:
        client.initialize(ROOT, {"debounceMs": 400})
        uri, note = opened(client, OS2, GAP)
        assert len(note["diagnostics"]) == 1
        text = OS2.read_text(encoding="utf-8")
        for broken in (text.replace("60_000", "60_00x"), text.replace("to 60_000", "to"), GAP):
            client.change(uri, broken, next(_version))
        client.change(uri, text, next(_version))
        note = client.wait_for("textDocument/publishDiagnostics", uri=uri)
        assert note["diagnostics"] == []
        assert changed(client, uri, GAP)["diagnostics"][0]["message"].startswith("25 001 falls")


def test_overlapping_bands_point_at_both_bands(client: LspClient) -> None:
    """An overlap names the other band as related information."""
    text = OS2.read_text(encoding="utf-8").replace("from 25_001 to 60_000", "from 24_000 to 60_000")
    uri, note = opened(client, OS2, text)
    (d,) = note["diagnostics"]
    assert "are in two bands of size: small and medium" in d["message"]
    (rel,) = d["relatedInformation"]
    assert rel["message"] == "band small is here"
    small = text.splitlines().index('  small       "Lille"       up to 25_000')
    assert rel["location"]["uri"] == uri
    assert rel["location"]["range"]["start"] == {"line": small, "character": 2}
    closed(client, uri)


def test_conflicting_exceptions_point_at_both(client: LspClient) -> None:
    """Two exceptions that can fire together with different results: the diagnostic is on
    the second, the first is its related location."""
    text = OS2.read_text(encoding="utf-8").replace(
        "  except name in crowdfunding_2022 -> 0 DKK",
        "  except population > 1_000 -> 5 DKK\n  except name in crowdfunding_2022 -> 0 DKK")
    uri, note = opened(client, OS2, text)
    (d,) = [d for d in note["diagnostics"] if "exceptions" in d["message"]]
    lines = text.splitlines()
    second = next(i for i, t in enumerate(lines) if t.startswith("  except name in"))
    assert d["range"]["start"]["line"] == second
    (rel,) = d["relatedInformation"]
    assert rel["message"] == "the other exception is here"
    assert rel["location"]["range"]["start"]["line"] == second - 1
    closed(client, uri)


@pytest.mark.parametrize("junk", [
    "", "tariff", "charge x every year\n  amount (((((", "\x00\x01\ufeff bands by by by\n",
    "param x = " + "(" * 500 + "1" + ")" * 500 + "\n", "tariff t\n  currency DKK\n" + "é" * 5000,
])
def test_broken_text_gives_diagnostics_never_a_crash(client: LspClient, junk: str) -> None:
    """Whatever the buffer holds, the server answers with diagnostics and stays up."""
    path = ROOT / "tests" / "fixtures" / "scratch_lsp.tariff"
    uri, note = opened(client, path, junk)
    assert isinstance(note["diagnostics"], list)
    pos = {"line": 0, "character": 3}
    client.request("textDocument/hover", at(uri, pos))
    client.request("textDocument/completion", at(uri, pos))
    client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                               "options": {"tabSize": 2, "insertSpaces": True}})
    closed(client, uri)
    assert client.proc.poll() is None


def test_a_syntax_error_keeps_the_last_good_outline_and_hover(client: LspClient) -> None:
    """While a line is half typed, hover still answers from the last text that parsed."""
    text = OS2.read_text(encoding="utf-8")
    uri, _ = opened(client, OS2, text)
    broken = text.replace("  prorate 1/4 when", "  prorate 1/4 whe")
    note = changed(client, uri, broken)
    assert note["diagnostics"] and note["diagnostics"][0]["severity"] == 1
    hover = client.request("textDocument/hover", at(uri, position(broken, "size", 1)))
    assert "bands size" in hover["contents"]["value"]
    closed(client, uri)


def test_a_problem_in_an_imported_module_is_shown_at_the_import(
        client: LspClient, tmp_path: Path) -> None:
    """A syntax error typed in a module open in the editor shows, without touching the
    tariff that imports it, on its import line, pointing at the module's line."""
    (tmp_path / "pyproject.toml").write_text("")
    module = tmp_path / "prices.tariff"
    module.write_text('module prices\n  currency DKK\n  source "s"\n\nparam fee = 10 DKK\n')
    main = tmp_path / "main.tariff"
    main.write_text('tariff main\n  currency DKK\n  source "s"\n\nimport "prices.tariff"\n\n'
                    'charge c every year\n  amount fee\n')
    uri, note = opened(client, main)
    assert note["diagnostics"] == []
    muri, _ = opened(client, module, module.read_text())
    client.change(muri, "module prices\n  currency DKK\n\nparam fee = = 10 DKK\n", next(_version))
    note = client.wait_for("textDocument/publishDiagnostics", uri=uri)  # main, checked again
    (d,) = [d for d in note["diagnostics"] if d["range"]["start"]["line"] == 4]
    assert d["relatedInformation"][0]["location"]["uri"] == muri
    assert d["relatedInformation"][0]["location"]["range"]["start"]["line"] == 3
    closed(client, muri)
    closed(client, uri)


# ------------------------------------------------------------------ hover


def hover_text(client: LspClient, uri: str, text: str, needle: str, nth: int = 0,
               offset: int = 0) -> str:
    result = client.request("textDocument/hover", at(uri, position(text, needle, nth, offset)))
    assert result is not None, needle
    value: str = result["contents"]["value"]
    return value


def test_hover_a_band_shows_its_range(client: LspClient) -> None:
    """Hovering a band key in a table gives the band's range in words."""
    text = OS2.read_text(encoding="utf-8")
    uri, _ = opened(client, OS2, text)
    h = hover_text(client, uri, text, "medium", 1)
    assert h == '**band medium** "Mellem"\n\nof size: population from 25 001 to 60 000'
    assert hover_text(client, uri, text, "small", 1).endswith("population up to 25 000")
    assert hover_text(client, uri, text, "very_large", 1).endswith("from 120 001 upwards")
    closed(client, uri)


def test_hover_an_input_shows_its_type_and_unit(client: LspClient) -> None:
    """An input's hover says its type and its unit."""
    text = OS2.read_text(encoding="utf-8")
    uri, _ = opened(client, OS2, text)
    assert hover_text(client, uri, text, "population", 1) == (
        '**input population** "Indbyggere"\n\ntype: inhabitants\n\nunit: a count of inhabitants')
    closed(client, uri)


def test_hover_a_param_shows_its_dated_values_and_unit(client: LspClient) -> None:
    """A param with dated values lists each with its date, and the unit."""
    path = RULES / "serviceplatformen.tariff"
    text = path.read_text(encoding="utf-8")
    uri, _ = opened(client, path, text)
    h = hover_text(client, uri, text, "buffet_price", 1)
    assert "- from 2018-01-01: `1.37 DKK per inhabitant`" in h
    assert "- from 2019-01-01: `1.94 DKK per inhabitant`" in h
    assert "unit: DKK per inhabitant" in h
    closed(client, uri)


def test_hover_a_param_and_an_expression_show_units(client: LspClient) -> None:
    """A param's hover gives its value and unit; an operator gives the unit of its expression."""
    path = RULES / "kongsbergregionen.tariff"
    text = path.read_text(encoding="utf-8")
    uri, _ = opened(client, path, text)
    h = hover_text(client, uri, text, "price_per_inhabitant", 1)
    assert h.startswith('**param price_per_inhabitant** "Pr innbygger"\n\nvalue: `1.50 NOK per inhabitant`')
    assert "unit: NOK per inhabitant" in h
    whole = hover_text(client, uri, text, "+ price_per_inhabitant")
    assert whole == ("```tariff\nfixed_per_municipality + price_per_inhabitant * population\n```\n"
                     "unit: an amount in NOK")
    product = hover_text(client, uri, text, "* population")
    assert product.startswith("```tariff\nprice_per_inhabitant * population\n```")
    closed(client, uri)


def test_hover_a_formula_shows_its_definition(client: LspClient) -> None:
    """A call's hover shows the formula as written."""
    path = RULES / "ks_dif_2025.tariff"
    text = path.read_text(encoding="utf-8")
    uri, _ = opened(client, path, text)
    h = hover_text(client, uri, text, "size_adjusted(16_500")
    assert "formula size_adjusted(fixed, price, adjustment, people, largest) = fixed +" in h
    param = hover_text(client, uri, text, "(price, people)", offset=8)
    assert param == "**people**: a parameter of formula `per_inhabitant_part`"
    closed(client, uri)


# ------------------------------------------------------------------ definition, references


def test_definition_in_the_same_file(client: LspClient) -> None:
    """A band key in a table leads to the band; a name to its declaration."""
    text = OS2.read_text(encoding="utf-8")
    uri, _ = opened(client, OS2, text)
    (loc,) = client.request("textDocument/definition", at(uri, position(text, "large", 2)))
    line = text.splitlines().index('  large       "Stor"        from 60_001 to 120_000')
    assert loc == {"uri": uri, "range": {"start": {"line": line, "character": 2},
                                         "end": {"line": line, "character": 7}}}
    (loc,) = client.request("textDocument/definition", at(uri, position(text, "crowdfunding_2022", 1)))
    assert loc["range"]["start"]["line"] == text.splitlines().index(
        'list crowdfunding_2022 "Deltog i crowdfundingen af OS2valghalla 3.0" =')
    closed(client, uri)


def test_definition_into_the_stdlib(client: LspClient) -> None:
    """A category and a group defined in stdlib/customer_types.tariff are found there."""
    path = RULES / "ks_dif_2025.tariff"
    text = path.read_text(encoding="utf-8")
    uri, _ = opened(client, path, text)
    std = (ROOT / "stdlib" / "customer_types.tariff").resolve()
    std_lines = std.read_text(encoding="utf-8").splitlines()
    (loc,) = client.request("textDocument/definition", at(uri, position(text, "FYLKESKOMMUNE ")))
    assert loc["uri"] == std.as_uri()
    assert loc["range"]["start"] == {"line": std_lines.index('  FYLKESKOMMUNE            "Fylkeskommune"'),
                                     "character": 2}
    (loc,) = client.request("textDocument/definition", at(uri, position(text, "    municipal ", offset=4)))
    assert loc["uri"] == std.as_uri()
    assert std_lines[loc["range"]["start"]["line"]].startswith("group municipal")
    (loc,) = client.request("textDocument/definition", at(uri, position(text, "size_adjusted(16", 0)))
    assert loc["uri"] == uri
    closed(client, uri)


def test_references_within_a_file(client: LspClient) -> None:
    """Every use of the bands, and their declaration."""
    text = OS2.read_text(encoding="utf-8")
    uri, _ = opened(client, OS2, text)
    refs = client.request("textDocument/references", {
        **at(uri, position(text, "size")), "context": {"includeDeclaration": True}})
    lines = sorted(r["range"]["start"]["line"] for r in refs)
    assert lines == [i for i, t in enumerate(text.splitlines()) if "size" in t.split("#")[0]
                     and not t.startswith("property")]
    refs = client.request("textDocument/references", {
        **at(uri, position(text, "size")), "context": {"includeDeclaration": False}})
    assert len(refs) == len(lines) - 1
    closed(client, uri)


def test_references_across_imports(client: LspClient) -> None:
    """A category's references reach from the stdlib module into the tariff that imports it."""
    path = RULES / "ks_dif_2025.tariff"
    text = path.read_text(encoding="utf-8")
    uri, _ = opened(client, path, text)
    refs = client.request("textDocument/references", {
        **at(uri, position(text, "    KOMMUNE ", offset=4)), "context": {"includeDeclaration": True}})
    uris = {r["uri"] for r in refs}
    std = (ROOT / "stdlib" / "customer_types.tariff").resolve().as_uri()
    assert uris == {uri, std}
    own = [r for r in refs if r["uri"] == uri]
    code = [line.split("#", 1)[0] for line in text.splitlines()]
    assert len(own) == sum(len(re.findall(r"(?<![\w\"])KOMMUNE(?![\w\"])", c)) for c in code)
    closed(client, uri)


# ------------------------------------------------------------------ completion


def labels(client: LspClient, uri: str, line: int, character: int) -> list[str]:
    result = client.request("textDocument/completion", at(uri, {"line": line, "character": character}))
    return [item["label"] for item in result["items"]]


def test_completion_offers_the_missing_band_keys_in_a_table(client: LspClient) -> None:
    """On a new row of a table, the bands not yet in it are offered."""
    text = OS2.read_text(encoding="utf-8")
    row = "    very_large  56_680   70_200\n"
    typing = text.replace(row, "    ")
    uri, _ = opened(client, OS2, typing)
    line = typing.splitlines().index("    medium      34_880   43_200") + 2
    assert labels(client, uri, line, 4) == ["very_large"]
    closed(client, uri)


def test_completion_offers_category_keys_in_cases(client: LspClient) -> None:
    """Under `by customer_type`, the categories and the groups of the dimension."""
    path = RULES / "ks_dif_2025.tariff"
    text = path.read_text(encoding="utf-8")
    typing = text.replace("    STATLIG_VIRKSOMHET  pending\n", "    S\n")
    uri, _ = opened(client, path, typing)
    line = typing.splitlines().index("    S")
    got = labels(client, uri, line, 5)
    assert "STATLIG_VIRKSOMHET" in got and "municipal" in got
    assert "KOMMUNE" not in got  # already has a row
    closed(client, uri)


def test_completion_of_declarations_and_names(client: LspClient) -> None:
    """At the start of a line the declaration words; in an amount, the names in scope and
    the keywords."""
    path = RULES / "kongsbergregionen.tariff"
    text = path.read_text(encoding="utf-8")
    uri, _ = opened(client, path, text)
    lines = text.splitlines()
    blank = lines.index("")
    first = labels(client, uri, blank, 0)
    assert {"tariff", "charge", "param", "bands", "example"} <= set(first)
    amount = next(i for i, t in enumerate(lines) if t.startswith("  amount"))
    got = labels(client, uri, amount, len("  amount "))
    assert {"population", "price_per_inhabitant", "size", "billing_year", "per", "round"} <= set(got)
    closed(client, uri)


# ------------------------------------------------------------------ formatting


def test_formatting_gives_the_canonical_layout(client: LspClient) -> None:
    """The edit replaces the text with `takst fmt`'s layout; a laid-out file needs none."""
    text = OS2.read_text(encoding="utf-8")
    messy = text.replace("  small       23_980   29_700", "  small  23_980 29_700").replace(
        "\ncharge connection_fee", "\n\n\ncharge connection_fee")
    uri, _ = opened(client, OS2, messy)
    opts = {"tabSize": 2, "insertSpaces": True}
    (edit,) = client.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": opts})
    assert edit["newText"] == format_text(messy, str(OS2)) == text
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    assert edit["range"]["end"]["line"] >= len(messy.splitlines())
    changed(client, uri, text)
    assert client.request("textDocument/formatting",
                          {"textDocument": {"uri": uri}, "options": opts}) == []
    closed(client, uri)


# ------------------------------------------------------------------ code actions


def actions(client: LspClient, uri: str, diag: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diag["range"], "context": {"diagnostics": [diag]}})
    return result


def apply(text: str, edits: list[dict[str, Any]]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def off(p: dict[str, int]) -> int:
        return offsets[p["line"]] + p["character"]

    for e in sorted(edits, key=lambda e: off(e["range"]["start"]), reverse=True):
        text = text[: off(e["range"]["start"])] + e["newText"] + text[off(e["range"]["end"]):]
    return text


def test_code_actions_close_a_gap_either_way(client: LspClient) -> None:
    """The gap's hint offers two bounds; each action writes one, and the gap is gone."""
    uri, note = opened(client, OS2, GAP)
    (diag,) = note["diagnostics"]
    acts = actions(client, uri, diag)
    assert [a["title"] for a in acts] == ["Give band small `to 25_001`", "Give band medium `from 25_001`"]
    for act in acts:
        fixed = apply(GAP, act["edit"]["changes"][uri])
        assert changed(client, uri, fixed)["diagnostics"] == []
    assert "  small       \"Lille\"       to 25_001\n" in apply(GAP, acts[0]["edit"]["changes"][uri])
    closed(client, uri)


def test_code_action_adds_a_missing_table_row(client: LspClient) -> None:
    """A table without a row for a band: the action adds the row the hint names, with
    placeholders for the amounts (an amount is never invented)."""
    text = OS2.read_text(encoding="utf-8").replace("    large       190_000\n", "")
    uri, note = opened(client, OS2, text)
    (diag,) = note["diagnostics"]
    assert diag["message"].startswith("this table has no row for size = large")
    (act,) = actions(client, uri, diag)
    assert act["title"] == "Add the row for large (then fill in its amounts)"
    fixed = apply(text, act["edit"]["changes"][uri])
    assert "    very_large  350_000\n    large  <amount>\n" in fixed
    closed(client, uri)


def test_code_action_renames_a_misspelt_name(client: LspClient) -> None:
    """`did you mean X?` becomes an action that writes X."""
    text = OS2.read_text(encoding="utf-8").replace("table by size, os2_member", "table by sise, os2_member")
    uri, note = opened(client, OS2, text)
    diag = next(d for d in note["diagnostics"] if d["message"].startswith("sise is not defined"))
    (act,) = actions(client, uri, diag)
    assert act["title"] == "Change to size"
    assert apply(text, act["edit"]["changes"][uri]) == OS2.read_text(encoding="utf-8")
    closed(client, uri)


# ------------------------------------------------------------------ symbols


def test_document_symbols_are_the_outline(client: LspClient) -> None:
    """Each declaration in file order, bands with their bands as children, examples too."""
    text = OS2.read_text(encoding="utf-8")
    uri, _ = opened(client, OS2, text)
    syms = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    names = [s["name"] for s in syms]
    assert names[:7] == ["population", "os2_member", "joined", "crowdfunding_2022", "size",
                         "annual_fee", "connection_fee"]
    size = syms[4]
    assert size["detail"] == "bands"
    assert [c["name"] for c in size["children"]] == ["small", "medium", "large", "very_large"]
    for s in syms:
        r, sel = s["range"], s["selectionRange"]
        assert (r["start"]["line"], r["start"]["character"]) <= (sel["start"]["line"],
                                                                  sel["start"]["character"])
        assert (sel["end"]["line"], sel["end"]["character"]) <= (r["end"]["line"], r["end"]["character"])
    assert sum(1 for s in syms if s["detail"] == "example") == text.count("\nexample ")
    closed(client, uri)


def test_without_pygls_the_command_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`takst lsp` without the lsp extra exits 2 with a hint, not a traceback."""
    from takst.cli import main

    for name in [m for m in sys.modules if m == "takst.lsp.server" or m.startswith(("pygls", "lsprotocol"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygls", None)
    monkeypatch.setitem(sys.modules, "lsprotocol", None)
    assert main(["lsp"]) == 2
    err = capsys.readouterr().err
    assert "the language server needs pygls" in err
    assert "pip install 'takst[lsp]'" in err
