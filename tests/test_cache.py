"""The cache of parsed tariff files (takst.dsl.cache): what it reads back is the AST
the parser makes, spans and their lines included; a changed, damaged or unparsable
file is parsed; the cache never changes a result, and a command whose files are all
cached never loads Lark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from paths import ROOT

from takst.dsl import ast, cache, loader
from takst.dsl.check import check
from takst.dsl.errors import Span, TariffSyntaxError
from takst.dsl.parser import parse_file

#: Every tariff file of the repository that parses.
TARIFFS = sorted(
    p for folder in ("rules", "stdlib", "docs", "tests") for p in (ROOT / folder).rglob("*.tariff")
)


def _same(a: Any, b: Any, where: str = "tariff") -> None:
    """a and b are the same AST, field by field: spans (which AST equality leaves out)
    and the lines each span shows included."""
    assert type(a) is type(b), where
    if isinstance(a, tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif type(a) is Span:
        assert (a.file, a.line, a.column, a.end_line, a.end_column) == (
            b.file, b.line, b.column, b.end_line, b.end_column), where
        assert (a.source is None) == (b.source is None), where
        if a.source is not None:
            assert a.source.lines == b.source.lines, where
    elif attrs.has(type(a)):
        for field in attrs.fields(type(a)):
            if field.init:
                _same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    else:
        assert a == b, where


def _parsable() -> list[Path]:
    found = []
    for path in TARIFFS:
        try:
            parse_file(path)
        except TariffSyntaxError:
            continue
        found.append(path)
    return found


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("TAKST_CACHE_DIR", str(where))
    return where


def test_every_tariff_in_the_repository_reads_back_as_the_parser_made_it() -> None:
    paths = _parsable()
    assert len(paths) > 50
    for path in paths:
        tariff = parse_file(path, path.name)
        back = cache.decode(cache.encode(tariff), tariff.span.source)
        assert back == tariff, path
        _same(back, tariff, path.name)
        assert back.charges == tariff.charges and back.examples == tariff.examples


def test_a_file_read_again_comes_from_the_cache_without_the_parser(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "rules" / "ks_dif_2025.tariff"
    first = loader.load_tariff(path)
    slots = list(folder.glob("ast-*.json"))
    assert slots, "the parsed files were written to the cache"

    def no_parser(text: str, file: str = "<text>") -> ast.Tariff:
        raise AssertionError("parsed again")

    monkeypatch.setattr("takst.dsl.parser.parse", no_parser)
    again = loader.load_tariff(path)
    assert again == first
    _same(again, first)
    # the checker's diagnostics (they show the span's line) are the same
    assert [str(d) for d in check(again)] == [str(d) for d in check(first)]


def test_a_changed_file_is_parsed_again(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.tariff"
    text = (ROOT / "rules" / "os2valghalla.tariff").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    before = loader.load_tariff(path)
    changed = text.replace("small       23_980", "small       23_981")
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    after = loader.load_tariff(path)
    assert after != before
    assert after == parse_file(path)
    assert len(list(folder.glob("ast-*.json"))) == 1  # one slot per file, rewritten


def test_a_damaged_or_foreign_slot_is_parsed_again(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "rules" / "os2valghalla.tariff"
    good = loader.load_tariff(path)
    (slot,) = folder.glob("ast-*.json")
    key = slot.read_bytes().split(b"\n", 1)[0]
    for body in (b"{not json", b'{"@": "Nothing"}', b'{"@": "Charge"}',
                 json.dumps({"@": "Tariff", "file": "x"}).encode(), b'"a text"', b""):
        slot.write_bytes(key + b"\n" + body)
        assert loader.load_tariff(path) == good
        assert slot.read_bytes() != key + b"\n" + body  # rewritten
    # a slot whose key is another text's (the file changed since) is not read at all
    slot.write_bytes(b"0" * 64 + b"\n" + slot.read_bytes().split(b"\n", 1)[1])
    monkeypatch.setattr(cache, "decode", lambda *a: pytest.fail("a stale slot was read"))
    assert loader.load_tariff(path) == good


def test_a_file_with_errors_is_never_cached(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.tariff"
    path.write_text('tariff "x"\ncharge c = 1 +\n', encoding="utf-8")
    for _ in range(2):
        with pytest.raises(TariffSyntaxError) as err:
            loader.load_tariff(path)
        assert "bad.tariff" in str(err.value.diagnostics[0])
    assert not list(folder.glob("ast-*.json"))


def test_the_cache_off_or_unwritable_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "rules" / "os2valghalla.tariff"
    expected = parse_file(path)
    monkeypatch.setenv("TAKST_CACHE_DIR", "")
    assert loader.load_tariff(path) == expected
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TAKST_CACHE_DIR", str(blocker / "cache"))
    assert loader.load_tariff(path) == expected
    assert loader.load_tariff(path) == expected


def test_a_value_the_cache_does_not_write_leaves_the_file_uncached(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "rules" / "os2valghalla.tariff"
    real = loader.parse

    def with_a_float(text: str, file: str = "<text>") -> ast.Tariff:
        tariff = real(text, file)
        return attrs.evolve(tariff, modules=(1.5,))  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "parse", with_a_float)
    assert loader.load_tariff(path).modules == (1.5,)
    assert not list(folder.glob("ast-*.json"))


def test_the_folder_keeps_the_slots_used_last(folder: Path, tmp_path: Path) -> None:
    text = (ROOT / "rules" / "os2valghalla.tariff").read_text(encoding="utf-8")
    for i in range(6):
        path = tmp_path / f"t{i}.tariff"
        path.write_text(text, encoding="utf-8")
        loader.load_tariff(path)
    slots = sorted(folder.glob("ast-*.json"), key=os.path.getmtime)
    assert len(slots) == 6
    for age, slot in enumerate(slots):
        os.utime(slot, (1_000_000 + age, 1_000_000 + age))
    newest = slots[-3:]
    cache.prune(folder, keep=3)
    assert sorted(folder.glob("ast-*.json")) == sorted(newest)


def test_a_command_on_cached_files_never_loads_lark(folder: Path) -> None:
    """The second run of ``takst eval`` reads its tariff from the cache: Lark (and the
    parser's tables) are never imported."""
    env = {**os.environ, "TAKST_CACHE_DIR": str(folder)}
    code = (
        "import sys\n"
        "from takst.cli import main\n"
        "rc = main(['eval', 'rules/os2valghalla.tariff', '--register',"
        " 'data/os2valghalla_demo_2024.csv', '--year', '2024', '--format', 'json'])\n"
        "print('LARK' if 'lark' in sys.modules else 'NO LARK', file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=False) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stderr.strip().endswith("LARK")
    assert runs[1].stderr.strip().endswith("NO LARK")
