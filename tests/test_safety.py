"""Issue 9: nothing lost, nothing leaked. Outputs never damage an input or a device,
a CSV and its manifest are replaced together, stale temporary files are removed, OS
errors are plain; verify catches every edit, reads nothing outside the project and
survives any damaged manifest; CSV text cells cannot run as formulas; registers refuse
invisible characters and warn about names that match a list only loosely."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import DATA, RULES
from paths import run_here as run

from takst.render import report

TARIFF = "rules/os2valghalla.tariff"
REGISTER = "data/os2valghalla_demo_2024.csv"
EVAL = ("eval", TARIFF, "--register", REGISTER, "--year", "2024")
HEADER = "id,name,customer_type,population,os2_member,joined\n"




def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------ 1. --out names an input


@pytest.mark.parametrize("out", [REGISTER, "./" + REGISTER, "data/../" + REGISTER,
                                 "hardlink.csv", "symlink.csv"])
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_out_naming_the_register_is_refused(work: Path, out: str, fmt: str) -> None:
    os.link(REGISTER, "hardlink.csv")
    os.symlink(REGISTER, "symlink.csv")
    before = snapshot(work)
    code, stdout, err = run(*EVAL, "--format", fmt, "--out", out)
    assert code == 1
    assert f"--out {out} would overwrite the register {REGISTER}" in err
    assert "nothing was read or written" in err and "Traceback" not in err
    assert snapshot(work) == before and stdout == ""


@pytest.mark.parametrize("out", [TARIFF, "./rules/os2valghalla.tariff"])
def test_out_naming_the_tariff_is_refused(work: Path, out: str) -> None:
    before = snapshot(work)
    code, _, err = run(*EVAL, "--format", "json", "--out", out)
    assert code == 1 and f"would overwrite the tariff {TARIFF}" in err
    assert snapshot(work) == before


def test_out_naming_an_imported_module_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "main.tariff").write_text(
        'tariff main "Main"\n  currency DKK\n  source "a test"\n\nimport "shared/prices.tariff"\n\n'
        'input population "Indbyggere": inhabitants\n\n'
        'charge fee "Fee" every year\n  amount base + 2 DKK per inhabitant * population\n',
        encoding="utf-8")
    (tmp_path / "shared" / "prices.tariff").write_text(
        'module prices "Shared prices"\n\nparam base "Grundpris" = 1_000 DKK\n',
        encoding="utf-8")
    (tmp_path / "reg.csv").write_text("id,name,population\n1,A,100\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run("eval", "main.tariff", "--register", "reg.csv", "--year", "2024")[0] == 0
    before = snapshot(tmp_path)
    code, _, err = run("eval", "main.tariff", "--register", "reg.csv", "--year", "2024",
                       "--format", "csv", "--out", "shared/prices.tariff")
    assert code == 1
    assert "--out shared/prices.tariff would overwrite the imported module" in err
    assert snapshot(tmp_path) == before


def test_compare_out_naming_an_input_is_refused(work: Path) -> None:
    before = snapshot(work)
    for out, what in ((REGISTER, "register"), (TARIFF, "old tariff")):
        code, _, err = run("compare", TARIFF, TARIFF, "--register", REGISTER, "--year", "2024",
                           "--out", out)
        assert code == 1 and f"would overwrite the {what} {out}" in err
    assert snapshot(work) == before


def test_csv_sidecar_naming_an_input_is_refused(work: Path) -> None:
    """--out X.csv also writes X.csv.manifest.json: that must not be an input either."""
    shutil.copy(REGISTER, "r.csv.manifest.json")
    before = snapshot(work)
    code, _, err = run("eval", TARIFF, "--register", "r.csv.manifest.json", "--year", "2024",
                       "--format", "csv", "--out", "r.csv")
    assert code == 1 and "would overwrite the register r.csv.manifest.json" in err
    assert snapshot(work) == before


# ------------------------------------------------------------------ 2. non-regular --out


@pytest.fixture()
def devices_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A regression must fail the test, not replace the machine's /dev/null (as root)."""
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if os.path.realpath(dst).startswith("/dev/"):
            os.unlink(src)
            raise AssertionError(f"takst tried to replace {dst}")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("out", ["/dev/null", "/dev/full"])
def test_out_naming_a_device_is_refused(work: Path, out: str, devices_guarded: None) -> None:
    if not os.path.exists(out):
        pytest.skip(f"no {out}")
    kind = os.stat(out).st_rdev
    code, _, err = run(*EVAL, "--format", "json", "--out", out)
    assert code == 1 and f"cannot write {out}: it is a device, not a regular file" in err
    assert os.stat(out).st_rdev == kind and not Path(out).is_file()


def test_out_naming_a_fifo_or_a_folder_is_refused(work: Path) -> None:
    os.mkfifo("pipe")
    os.mkdir("folder")
    code, _, err = run(*EVAL, "--format", "json", "--out", "pipe")
    assert code == 1 and "cannot write pipe: it is a FIFO (named pipe), not a regular file" in err
    code, _, err = run(*EVAL, "--format", "csv", "--out", "folder")
    assert code == 1 and "cannot write folder: it is a folder" in err
    assert Path("folder").is_dir() and not any(Path("folder").iterdir())
    assert not Path("pipe").is_file()


def test_out_through_a_symbolic_link_replaces_its_target(work: Path,
                                                       devices_guarded: None) -> None:
    Path("target.json").write_text("old\n", encoding="utf-8")
    os.symlink("target.json", "link.json")
    code, _, err = run(*EVAL, "--format", "json", "--out", "link.json")
    assert code == 0, err
    assert Path("link.json").is_symlink() and os.readlink("link.json") == "target.json"
    assert json.loads(Path("target.json").read_text(encoding="utf-8"))["tariff"]
    os.symlink("/dev/null", "null.json")
    code, _, err = run(*EVAL, "--format", "json", "--out", "null.json")
    assert code == 1 and "cannot write null.json: it is a device" in err


# ------------------------------------------------------------------ 3. the CSV and its sidecar


def test_a_failed_csv_rename_keeps_the_old_pair(work: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(*EVAL, "--format", "csv", "--out", "result.csv")[0] == 0
    before = snapshot(work)
    Path(REGISTER).write_text(Path(REGISTER).read_text(encoding="utf-8").replace(
        "0101,København,", "0101,Kobenhavn,"), encoding="utf-8")
    before[REGISTER] = Path(REGISTER).read_bytes()
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("result.csv"):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    code, _, err = run(*EVAL, "--format", "csv", "--out", "result.csv")
    monkeypatch.setattr(os, "replace", real)
    assert code == 1
    assert "cannot write result.csv: there is no space left on the device" in err
    assert snapshot(work) == before  # both old, no temporary file left


def test_a_failed_sidecar_write_keeps_the_old_pair(work: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(*EVAL, "--format", "csv", "--out", "result.csv")[0] == 0
    before = snapshot(work)
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith(".manifest.json"):
            raise OSError(errno.EROFS, "Read-only file system", str(src))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    code, _, err = run(*EVAL, "--format", "csv", "--out", "result.csv")
    monkeypatch.setattr(os, "replace", real)
    assert code == 1 and "result.csv.manifest.json: the file system is read-only" in err
    assert snapshot(work) == before


KILL_BETWEEN_RENAMES = """
import os, sys
real = os.replace
def replace(src, dst):
    if str(dst).endswith("result.csv"):
        os._exit(9)  # killed between the two renames
    real(src, dst)
os.replace = replace
from takst.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_killed_between_the_renames_is_a_reported_inconsistent_pair(work: Path) -> None:
    assert run(*EVAL, "--format", "csv", "--out", "result.csv")[0] == 0
    old_csv = sha("result.csv")
    past = time.time() - 60
    os.utime("result.csv", (past, past))
    Path(REGISTER).write_text(Path(REGISTER).read_text(encoding="utf-8").replace(
        "0101,København,", "0101,Kobenhavn,"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, *EVAL, "--format", "csv",
                           "--out", "result.csv"], capture_output=True, text=True, check=False)
    assert proc.returncode == 9, proc.stderr
    assert sha("result.csv") == old_csv  # the old CSV beside the new manifest
    code, out, _ = run("verify", "result.csv")
    assert code == 1
    assert out.splitlines()[0].startswith(
        "result.csv and its manifest result.csv.manifest.json are inconsistent: ")
    assert "a `takst eval` writing the pair was interrupted" in out
    assert "run that `takst eval` again to write both" in out
    # and the next run cleans up and makes the pair whole
    assert run(*EVAL, "--format", "csv", "--out", "result.csv")[0] == 0
    assert run("verify", "result.csv")[0] == 0
    assert not list(work.glob(".result.csv*.tmp"))


# ------------------------------------------------------------------ 4. stale temporaries


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporary_files_of_killed_runs_are_removed(work: Path) -> None:
    dead = Path(f".result.json.takst-{dead_pid()}-abc123.tmp")
    alive = Path(f".result.json.takst-{os.getppid()}-def456.tmp")
    ancient = Path(f".result.json.takst-{os.getppid()}-ghi789.tmp")
    other = Path(f".other.json.takst-{dead_pid()}-abc123.tmp")
    mine = Path(".result.json.x1y2.tmp")  # not takst's naming: left alone
    for p in (dead, alive, ancient, other, mine):
        p.write_text("partial", encoding="utf-8")
    old = time.time() - getattr(report, "STALE_SECONDS", 0) - 60
    os.utime(ancient, (old, old))
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    assert not dead.exists() and not ancient.exists()
    assert alive.exists() and other.exists() and mine.exists()


def test_a_killed_run_leaves_a_temporary_file_the_next_run_removes(work: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILL_BETWEEN_RENAMES.replace(
        'endswith("result.csv")', 'endswith("result.json")'), *EVAL, "--format", "json",
        "--out", "result.json"])
    assert proc.wait() == 9
    left = list(work.glob(".result.json.takst-*.tmp"))
    assert len(left) == 1 and f"takst-{proc.pid}-" in left[0].name
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    assert not list(work.glob(".result.json.takst-*.tmp"))


# ------------------------------------------------------------------ 5. OS errors in plain words


@pytest.mark.parametrize(("code", "words", "hint"), [
    (errno.ENOSPC, "there is no space left on the device", "free some space"),
    (errno.EACCES, "permission denied", "write to a folder you may write to"),
    (errno.EROFS, "the file system is read-only", "write to another folder"),
    (errno.EISDIR, "it is a folder", "name a file"),
])
@pytest.mark.parametrize("where", ["write", "fsync", "replace", "mkstemp"])
def test_os_errors_name_the_given_path_in_plain_words(
        work: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str, hint: str,
        where: str) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code), "/x/.result.json.takst-1-abc.tmp")

    if where == "write":
        real_fdopen = os.fdopen

        class Failing(io.TextIOWrapper):
            def write(self, text: str) -> int:
                fail()
                return 0

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            raw = real_fdopen(fd, "wb")
            return Failing(raw, encoding="utf-8", newline="")

        monkeypatch.setattr(os, "fdopen", fdopen)
    elif where == "mkstemp":
        monkeypatch.setattr(report.tempfile, "mkstemp", fail)
    else:
        monkeypatch.setattr(os, where, fail)
    before = snapshot(work)
    status, _, err = run(*EVAL, "--format", "json", "--out", "result.json")
    monkeypatch.undo()
    assert status == 1
    assert f"cannot write result.json: {words}; nothing was written" in err
    assert f"hint: {hint}" in err
    assert ".tmp" not in err and "Traceback" not in err and "internal error" not in err
    assert snapshot(work) == before


def test_an_os_error_reading_an_input_is_plain(work: Path) -> None:
    code, _, err = run("verify", "nowhere/result.json")
    assert code == 1 and "nowhere/result.json" in err and "Traceback" not in err


# ------------------------------------------------------------------ 6. verify catches every edit


def edit_json(path: str, change: Any) -> None:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    change(doc)
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


JSON_EDITS = {
    "totals.total": lambda d: d["totals"].__setitem__("total", "1.00"),
    "totals.customers": lambda d: d["totals"].__setitem__("customers", 97),
    "currency": lambda d: d.__setitem__("currency", "EUR"),
    "title": lambda d: d.__setitem__("title", "Something else"),
    "year": lambda d: d.__setitem__("year", 2023),
    "customers[0].name": lambda d: d["customers"][0].__setitem__("name", "Kobenhavn"),
    "customers[0].lines[0].label": lambda d: d["customers"][0]["lines"][0].__setitem__(
        "label", "x"),
    "charges[0].label": lambda d: d["charges"][0].__setitem__("label", "x"),
    "manifest.register.rows": lambda d: d["manifest"]["register"].__setitem__("rows", 5),
    "extra": lambda d: d.__setitem__("extra", 1),
    "customers[0].total": lambda d: d["customers"][0].__setitem__("total", "0.00"),
}


@pytest.mark.parametrize("field", list(JSON_EDITS))
def test_verify_catches_an_edit_of_any_json_field(work: Path, field: str) -> None:
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    assert run("verify", "result.json")[0] == 0
    edit_json("result.json", JSON_EDITS[field])
    code, out, err = run("verify", "result.json")
    assert code == 1, out + err
    assert "identical" not in out
    assert field in out or field.split(".")[0] in out, out


def test_verify_reindented_json_is_still_identical(work: Path) -> None:
    """Every field compared as data: layout is not an edit."""
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    edit_json("result.json", lambda d: None)
    assert run("verify", "result.json")[0] == 0


def test_verify_catches_a_csv_edit_with_a_forged_digest(work: Path) -> None:
    assert run(*EVAL, "--format", "csv", "--out", "result.csv")[0] == 0
    text = Path("result.csv").read_text(encoding="utf-8")
    Path("result.csv").write_text(text.replace("0101,København,", "0101,Kobenhavn,"),
                                  encoding="utf-8")
    side = json.loads(Path("result.csv.manifest.json").read_text(encoding="utf-8"))
    side["result"]["sha256"] = sha("result.csv")
    Path("result.csv.manifest.json").write_text(json.dumps(side), encoding="utf-8")
    code, out, _ = run("verify", "result.csv")
    assert code == 1 and "row 2" in out and "Kobenhavn" in out and "identical" not in out


def test_verify_catches_a_sidecar_edit(work: Path) -> None:
    assert run(*EVAL, "--format", "csv", "--out", "result.csv")[0] == 0
    side = json.loads(Path("result.csv.manifest.json").read_text(encoding="utf-8"))
    side["manifest"]["register"]["rows"] = 3
    Path("result.csv.manifest.json").write_text(json.dumps(side), encoding="utf-8")
    code, out, _ = run("verify", "result.csv")
    assert code == 1 and "manifest.register.rows" in out


# ------------------------------------------------------------------ 7. verify reads nothing else


SECRET = "SECRET-LINE-do-not-print\n"


def crafted(doc: dict[str, Any], *, register: str | None = None,
            tariff: str | None = None) -> None:
    m = doc["manifest"]
    if register is not None:
        m["register"]["path"] = register
        m["request"]["register"] = register
    if tariff is not None:
        m["tariffs"][0]["path"] = tariff
        m["request"]["tariff"] = tariff


@pytest.mark.parametrize("kind", ["register", "tariff"])
@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "stdlib"])
def test_verify_reads_no_file_outside_the_project(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  kind: str, how: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("", encoding="utf-8")
    secret = tmp_path / "secret.csv"
    secret.write_text(SECRET, encoding="utf-8")
    (project / "rules").mkdir()
    (project / "data").mkdir()
    shutil.copy(RULES / "os2valghalla.tariff", project / TARIFF)
    shutil.copy(DATA / "os2valghalla_demo_2024.csv", project / REGISTER)
    os.symlink(secret, project / "link.csv")
    monkeypatch.chdir(project)
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    path = {"absolute": str(secret), "dotdot": "../secret.csv", "symlink": "link.csv",
            "stdlib": "stdlib:../../../secret"}[how]
    edit_json("result.json", lambda d: crafted(d, **{kind: path}))
    opened: list[str] = []
    real_open = open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    code, out, err = run("verify", "result.json")
    monkeypatch.undo()
    assert code == 1
    assert "SECRET" not in out + err
    assert "result.json, line" in err
    assert f"names the {kind} file" in err and "read nothing" in err
    assert not any("secret" in o for o in opened)


# ------------------------------------------------------------------ 8. damaged manifests


def leaves(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [at] + [p for k, v in value.items() for p in leaves(v, (*at, k))]
    if isinstance(value, list):
        return [at] + [p for i, v in enumerate(value) for p in leaves(v, (*at, i))]
    return [at]


MUTATIONS: list[Any] = [None, 0, -1, 10**40, 1.5, True, "", "pipe", "x" * 500, "\x00", [],
                        {}, ["a"], {"a": 1}, "2024", "../../etc/passwd"]
DELETE = object()


def test_every_damaged_manifest_is_a_clear_error(work: Path) -> None:
    """A table of mutations of every field of a real manifest: never an internal error."""
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    original = json.loads(Path("result.json").read_text(encoding="utf-8"))
    paths = [p for p in leaves(original["manifest"]) if p]
    tried = 0
    for path in paths:
        for value in [*MUTATIONS, DELETE]:
            doc = json.loads(json.dumps(original))
            target = doc["manifest"]
            for key in path[:-1]:
                target = target[key]
            if value is DELETE:
                del target[path[-1]]
            else:
                target[path[-1]] = value
            Path("mutated.json").write_text(json.dumps(doc), encoding="utf-8")
            code, out, err = run("verify", "mutated.json")
            tried += 1
            assert code in (0, 1), (path, value, out, err)
            assert "internal error" not in err and "Traceback" not in err
            if code == 1 and not out:
                assert "error" in err, (path, value)
    assert tried > 300
    # the original still verifies
    assert run("verify", "result.json")[0] == 0


@pytest.mark.parametrize(("key", "value", "message"), [
    ("delimiter", "pipe", 'dialect delimiter is "pipe", not one of comma, semicolon, tab'),
    ("decimal", "1,5", 'dialect decimal is "1,5", not one of point, comma'),
])
def test_a_bad_dialect_in_a_manifest_is_named(work: Path, key: str, value: str,
                                              message: str) -> None:
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0
    edit_json("result.json", lambda d: d["manifest"]["request"].__setitem__(
        "dialect", {key: value}))
    code, _, err = run("verify", "result.json")
    assert code == 1
    assert "error: the manifest of result.json is damaged: " + message in err


def test_a_bad_delimiter_in_a_version_1_manifest_is_named(work: Path) -> None:
    assert run(*EVAL, "--format", "json", "--out", "result.json")[0] == 0

    def v1(d: dict[str, Any]) -> None:
        m = d["manifest"]
        d["manifest"] = {"manifest_version": 1, "takst_version": m["takst_version"],
                         "tariffs": m["tariffs"], "register": m["register"], "set": [],
                         "year": 2024, "options": {"delimiter": "pipe", "decimal": "x"}}

    edit_json("result.json", v1)
    code, _, err = run("verify", "result.json")
    assert code == 1 and "dialect delimiter is \"pipe\"" in err


# ------------------------------------------------------------------ 11. formula injection


def test_csv_text_cells_are_neutralised() -> None:
    from takst.render.report import csv_text, csv_text_read

    for cell in ("=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3",
                 "\tx", "\rx", "'quoted"):
        assert csv_text(cell) == "'" + cell
        assert csv_text_read(csv_text(cell)) == cell
    for cell in ("København", "0101", "-5", "+3.50", "a=b", ""):
        assert csv_text(cell) == cell
        assert csv_text_read(csv_text(cell)) == cell


INJECTED = [("=1+1", "=HYPERLINK(\"http://evil\",\"x\")"), ("0102", "+cmd|' /C calc'!A0"),
            ("0103", "@SUM(A1:A9)"), ("0104", "-2+3"), ("0105", "'already quoted")]


@pytest.mark.parametrize("engine", ["interpreter", "batch"])
def test_formula_cells_in_a_csv_result_are_neutralised_and_verify(work: Path,
                                                                  engine: str) -> None:
    """Ids and names a spreadsheet would run are written with a leading ``'`` by either
    engine (the batch engine writes DuckDB's output; an id or a name that starts so is
    never in its clean form, so its register's texts are never written as they are)."""
    from takst.render.report import csv_text

    if engine == "batch":
        pytest.importorskip("duckdb")
    lines = [f"{i},\"{n.replace(chr(34), chr(34) * 2)}\",KOMMUNE,1000,true,2024-01-22\n"
             for i, n in INJECTED]
    Path("r.csv").write_text(HEADER + "".join(lines), encoding="utf-8")
    code, _, err = run("eval", TARIFF, "--register", "r.csv", "--year", "2024", "--format",
                       "csv", "--out", "result.csv", "--engine", engine)
    assert code == 0, err
    import csv

    rows = list(csv.reader(io.StringIO(Path("result.csv").read_text(encoding="utf-8"))))
    assert [(r[0], r[1]) for r in rows[1:]] == [(csv_text(i), "'" + n) for i, n in INJECTED]
    assert rows[1][0] == "'=1+1"
    assert all(not cell.startswith("'") for r in rows[1:] for cell in r[2:])  # numbers stay
    assert run("verify", "result.csv") == (
        0, "identical: 5 customers, 15 amounts, every file unchanged\n", "")
    # JSON is not for spreadsheets: the names are as they are
    code, out, _ = run("eval", TARIFF, "--register", "r.csv", "--year", "2024", "--format",
                       "json")
    assert [c["name"] for c in json.loads(out)["customers"]] == [n for _, n in INJECTED]


# ------------------------------------------------------------------ 12. invisible characters


@pytest.mark.parametrize(("cell", "column", "what"), [
    ("0101\u200b,København", "id", "U+200B ZERO WIDTH SPACE at character 5"),
    ("0101,Køben\u200fhavn", "name", "U+200F RIGHT-TO-LEFT MARK at character 6"),
    ("0101,\u202eKøbenhavn", "name", "U+202E RIGHT-TO-LEFT OVERRIDE at character 1"),
    ("0101,Køben\x00havn", "name", "U+0000 a control character at character 6"),
    ("\ufeff0101,København", "id", "U+FEFF ZERO WIDTH NO-BREAK SPACE at character 1"),
])
def test_invisible_characters_in_ids_and_names_are_refused(work: Path, cell: str, column: str,
                                                           what: str) -> None:
    Path("r.csv").write_text(HEADER + "0100,Ok,KOMMUNE,1000,true,2024-01-22\n"
                             + cell + ",KOMMUNE,1000,true,2024-01-22\n", encoding="utf-8")
    code, _, err = run("eval", TARIFF, "--register", "r.csv", "--year", "2024")
    assert code == 1
    assert f"r.csv, row 3, column {column}: error: {column} " in err
    assert f"holds an invisible character: {what}" in err
    assert "hint: remove it" in err


def test_ids_and_names_are_normalised_to_nfc(work: Path) -> None:
    """An id typed precomposed and one typed with a combining mark are the same id."""
    decomposed = "Ko\u0308benhavn"  # o + combining diaeresis
    Path("r.csv").write_text(HEADER + "0\u0144,B,KOMMUNE,1000,true,2024-01-22\n"
                             "0n\u0301,C,KOMMUNE,1000,true,2024-01-22\n", encoding="utf-8")
    code, _, err = run("eval", TARIFF, "--register", "r.csv", "--year", "2024")
    assert code == 1
    assert "r.csv, row 3, column id: error: id 0\u0144 is already used in row 2" in err
    Path("r.csv").write_text(HEADER + f"0101,{decomposed},KOMMUNE,1000,true,2024-01-22\n",
                             encoding="utf-8")
    code, out, _ = run("eval", TARIFF, "--register", "r.csv", "--year", "2024", "--format",
                       "json")
    assert code == 0 and json.loads(out)["customers"][0]["name"] == "K\u00f6benhavn"


@pytest.mark.parametrize(("name", "entry"), [
    ("københavn", "København"), ("Ringkøbing\u2013Skjern", "Ringkøbing-Skjern"),
    ("AARHUS", "Aarhus"), ("Ringkøbing - Skjern", None), ("Roskilde", None),
])
def test_a_name_that_matches_a_list_only_loosely_is_warned(work: Path, name: str,
                                                           entry: str | None) -> None:
    Path("r.csv").write_text(HEADER + "0100,København,KOMMUNE,1000,true,2024-01-22\n"
                             f"0101,{name},KOMMUNE,653664,true,2024-08-22\n", encoding="utf-8")
    code, out, err = run("eval", TARIFF, "--register", "r.csv", "--year", "2024", "--format",
                         "json")
    assert code == 0, err
    doc = json.loads(out)
    fee = {c["id"]: c["lines"][1]["amount"] for c in doc["customers"]}
    assert fee["0100"] == "0.00"  # in the list: exempt
    assert fee["0101"] != "0.00"  # the amount stays as the tariff says
    if entry is None:
        assert "warning" not in err
        return
    assert err.startswith(f"r.csv, row 3: warning: name {name} is not {entry} of list "
                          "crowdfunding_2022, but differs from it only in case, spaces or "
                          "dashes")
    assert f"hint: if it is the same customer, write the name as the list does ({entry})" in err
    assert "row 2" not in err


def test_the_worksheet_shows_a_loose_match(work: Path) -> None:
    """`takst explain` of a customer whose name matches a list entry only loosely says so
    in the worksheet itself (and on stderr, with the register row)."""
    Path("r.csv").write_text(HEADER + "0101,københavn,KOMMUNE,653664,true,2024-08-22\n",
                             encoding="utf-8")
    code, out, err = run("explain", TARIFF, "--register", "r.csv", "--customer", "0101",
                         "--year", "2024")
    assert code == 0, err
    assert out.endswith("\nWarning: name københavn is not København of list crowdfunding_2022, "
                        "but differs from it only in case, spaces or dashes; takst matches "
                        "names exactly, so `name in crowdfunding_2022` is false for this "
                        "customer\n")
    assert err.startswith("r.csv, row 2: warning: name københavn is not København")


def test_loose_match_ignores_case_runs_of_spaces_and_dashes() -> None:
    from takst.io.register import loose

    assert loose("Ringkøbing \u2013  Skjern") == loose("ringkøbing - skjern")
    assert loose("Frederiks\u00a0berg") == loose("frederiks berg")
    assert loose("Aarhus") != loose("Århus")


def test_the_quick_road_of_loose_is_the_careful_one() -> None:
    """loose() takes a quick road for Latin text; on every kind of text it says what the
    careful road (each character's category) says."""
    import unicodedata

    from takst.io.register import _INVISIBLE, loose

    def careful(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = "".join("-" if unicodedata.category(ch) == "Pd" else ch for ch in text
                       if unicodedata.category(ch) not in _INVISIBLE)
        return " ".join(text.split())

    for text in ("Ærø", "Høje-Taastrup", "Ringkøbing \u2013  Skjern", "Straße",
                 "Frederiks\u00a0berg", "Zw\u200bei", "Ⅻ Ødis", "Ǆemal", "a\u2010b",
                 "Ɐ\u0250x", "Tårnby\t", "ÉÈ ﬁ", "Lillestrøm\u00ad", ""):
        assert loose(text) == careful(text), text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    "aAbBeEpPsSyYnN019 \t\u00a0\u2013-\u200b\u0301\u00f8\u00c6\u00dfKk\ufb01\u2028"),
    max_size=8), st.sampled_from(["", " ", "1", "e", "p", "une", "rup"]))
def test_the_lookalike_quick_check_never_skips_a_loose_match(stem: str, end: str) -> None:
    """A name the quick check of its ending passes over has a loose form that is no
    entry's: its warnings are the ones the loose form gives (none)."""
    from takst.dsl.parser import parse
    from takst.interpreter.model import Customer
    from takst.io.register import Lookalikes, loose

    path = RULES / "os2valghalla.tariff"
    found = Lookalikes(parse(path.read_text(encoding="utf-8"), str(path)))
    name = stem + end
    if not found.may_match(name):
        assert loose(name) not in found.loose_entries, name
    c = Customer(id="1", name=name, values={}, customer_type="KOMMUNE", origin="r, row 2")
    expected = [] if name in found.exact else found.loose_entries.get(loose(name), [])
    assert len(found.check(c)) == len(expected)
