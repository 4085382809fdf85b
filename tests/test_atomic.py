"""Atomic outputs: `takst eval --out F` leaves F as it was or complete, never partial, even
when the process is killed mid-run; a failed run leaves F and its folder untouched.

A run killed with SIGKILL while it writes leaves its temporary file behind
(``.F.takst-PID-RANDOM.tmp`` next to F): nothing can clean up after SIGKILL, so the
next run writing F removes it (tests/test_safety.py). F itself is never touched
until the finished file is renamed over it. The register has
``TAKST_ATOMIC_ROWS`` customers (default 10 000, a 5 MB result; 200 000 passes too,
in about a minute and a half).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from paths import ROOT

OS2 = str(ROOT / "rules" / "os2valghalla.tariff")
ROWS = int(os.environ.get("TAKST_ATOMIC_ROWS", "10000"))
PREVIOUS = b"previous result\n"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture(scope="module")
def big_register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic register of ROWS municipalities, with every band and both memberships."""
    path = tmp_path_factory.mktemp("register") / "big.csv"
    rng = random.Random(2024)
    lines = ["id,name,customer_type,population,os2_member,joined"]
    for i in range(ROWS):
        lines.append(f"{i:06d},Kommune {i},KOMMUNE,{rng.randint(0, 700_000)},"
                     f"{rng.choice(['true', 'false'])},{rng.randint(2020, 2025)}-"
                     f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def command(register: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "takst", "eval", OS2, "--register", str(register),
            "--year", "2024", "--format", "json", "--out", str(target)]


def temps(folder: Path, target: Path) -> list[Path]:
    """Temporary files of a write to ``target`` (their documented name)."""
    return sorted(folder.glob(f".{target.name}.*.tmp"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed in the meantime
        return 1 << 62


@dataclass
class Run:
    """One `takst eval --out` run, and when (if ever) to send it a signal."""

    folder: Path
    when: Callable[[Run, float], bool] | None = None
    sig: int = signal.SIGKILL
    target: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = None
    fired: bool = False
    states: set[tuple[int, int]] = field(default_factory=set)  # (inode, size) of F seen
    code: int | None = None

    def __post_init__(self) -> None:
        self.target = self.folder / "result.json"
        self.target.write_bytes(PREVIOUS)

    @property
    def others(self) -> set[str]:
        """Names in the folder besides F."""
        return {p.name for p in self.folder.iterdir()} - {"result.json"}


def reading(register: Path) -> Callable[[Run, float], bool]:
    """True while the run has the register open and no temporary file of F exists yet:
    it is reading or evaluating, before any output (seen in /proc, so on Linux)."""
    wanted = str(register.resolve())

    def check(run: Run, elapsed: float) -> bool:
        assert run.proc is not None
        if temps(run.folder, run.target):
            return False
        try:
            fds = os.listdir(f"/proc/{run.proc.pid}/fd")
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink(f"/proc/{run.proc.pid}/fd/{fd}") == wanted:
                    return True
            except OSError:
                continue
        return False

    return check


def temp_holds(size: int) -> Callable[[Run, float], bool]:
    """True once a temporary file of F exists and holds ``size`` bytes or more."""
    return lambda run, elapsed: any(_size(t) >= size for t in temps(run.folder, run.target))


@pytest.fixture(scope="module")
def runs(big_register: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """All runs at once (the machine has cores to spare for them), each signalled at its
    point; F of the undisturbed run is watched all along."""
    plan = {
        "complete": Run(tmp_path_factory.mktemp("complete")),
        "evaluating": Run(tmp_path_factory.mktemp("evaluating"), reading(big_register)),
        "write-starts": Run(tmp_path_factory.mktemp("starts"), temp_holds(0)),
        "mid-write": Run(tmp_path_factory.mktemp("mid"), temp_holds(1 << 20)),
        # Once the temporary file has content: an interrupt in the instant between its
        # creation and the write can leave it behind (see write_atomic in the report).
        "interrupted": Run(tmp_path_factory.mktemp("interrupted"), temp_holds(1), signal.SIGINT),
    }
    started = time.monotonic()
    for run in plan.values():
        run.proc = subprocess.Popen(command(big_register, run.target),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while any(run.proc.poll() is None for run in plan.values() if run.proc):
        elapsed = time.monotonic() - started
        assert elapsed < 600, "the runs took too long"
        for run in plan.values():
            assert run.proc is not None
            if run.when is None:
                st = os.stat(run.target)
                run.states.add((st.st_ino, st.st_size))
            elif not run.fired and run.proc.poll() is None and run.when(run, elapsed):
                run.proc.send_signal(run.sig)
                run.fired = True
        time.sleep(0.0005)
    for run in plan.values():
        assert run.proc is not None
        run.code = run.proc.wait()
        st = os.stat(run.target)
        run.states.add((st.st_ino, st.st_size))
    return plan


def assert_intact(run: Run, complete: Run) -> None:
    """F is the previous file or the complete result, nothing in between."""
    data = run.target.read_bytes()
    assert data == PREVIOUS or data == complete.target.read_bytes(), (
        f"{run.target} is partial: {len(data)} bytes")


# ------------------------------------------------------------------ killed runs


def test_undisturbed_run_never_shows_a_partial_file(runs: dict[str, Run]) -> None:
    """While a run writes, F is only ever the previous file or the complete result."""
    run = runs["complete"]
    assert run.code == 0
    doc = json.loads(run.target.read_bytes())
    assert len(doc["customers"]) == ROWS
    final = os.stat(run.target)
    assert len(run.states) <= 2
    assert (final.st_ino, final.st_size) in run.states
    assert run.others == set()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="finds the open register in /proc")
def test_killed_while_reading_or_evaluating(runs: dict[str, Run]) -> None:
    """SIGKILL before any output is written leaves F as it was and no temporary file."""
    run = runs["evaluating"]
    assert run.fired and run.code == -signal.SIGKILL
    assert run.target.read_bytes() == PREVIOUS
    assert run.others == set()


@pytest.mark.parametrize("stage", ["write-starts", "mid-write"])
def test_killed_while_writing(stage: str, runs: dict[str, Run]) -> None:
    """SIGKILL once the temporary file exists (or holds a megabyte): F is intact; the only
    other file is the documented temporary one."""
    run = runs[stage]
    assert_intact(run, runs["complete"])
    assert all(name.startswith(".result.json.") and name.endswith(".tmp")
               for name in run.others)
    if run.fired and run.code == -signal.SIGKILL and run.target.read_bytes() == PREVIOUS:
        assert len(run.others) == 1, "killed mid-write, so its temporary file is left"


def test_interrupted_while_writing_cleans_up(runs: dict[str, Run]) -> None:
    """Ctrl-C (SIGINT) while writing: exit 130, F intact, and the temporary file removed."""
    run = runs["interrupted"]
    assert_intact(run, runs["complete"])
    assert run.others == set()
    if run.target.read_bytes() == PREVIOUS:
        assert run.code == 130
    else:  # the signal came after the rename: the run had done its work
        assert run.code in (0, 130)


# ------------------------------------------------------------------ failed runs


def test_register_error_leaves_the_previous_file(tmp_path: Path) -> None:
    """A register with a bad row: exit 1, F byte for byte as it was, no other file."""
    register = tmp_path / "bad.csv"
    register.write_text("id,name,customer_type,population,os2_member,joined\n"
                        "1,A,KOMMUNE,-5,true,2024-01-01\n", encoding="utf-8")
    target = tmp_path / "result.json"
    target.write_bytes(PREVIOUS)
    mtime = target.stat().st_mtime_ns
    result = subprocess.run(command(register, target), capture_output=True, timeout=60)
    assert result.returncode == 1
    assert b"row 2, column population" in result.stderr
    assert target.read_bytes() == PREVIOUS and target.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "result.json"]


def test_failed_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    """--out naming a folder fails at the rename: exit 1 in words, no temporary file left."""
    register = tmp_path / "r.csv"
    register.write_text("id,name,customer_type,population,os2_member,joined\n"
                        "1,A,KOMMUNE,5,true,2024-01-01\n", encoding="utf-8")
    target = tmp_path / "result.json"
    target.mkdir()
    result = subprocess.run(command(register, target), capture_output=True, timeout=60)
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "result.json"]
    assert list(target.iterdir()) == []


def test_output_gets_the_permissions_of_a_normal_file(tmp_path: Path) -> None:
    """--out F is created with the mode the umask gives any new file (0644 under 022)."""
    register = tmp_path / "r.csv"
    register.write_text("id,name,customer_type,population,os2_member,joined\n"
                        "1,A,KOMMUNE,5,true,2024-01-01\n", encoding="utf-8")
    target = tmp_path / "result.json"
    old = os.umask(0o022)
    try:
        result = subprocess.run(command(register, target), capture_output=True, timeout=60)
    finally:
        os.umask(old)
    assert result.returncode == 0
    assert target.stat().st_mode & 0o777 == 0o644
