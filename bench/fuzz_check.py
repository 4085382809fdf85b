"""Fuzz takst with mutated tariffs and registers: bad input must never crash it.

Every case is a tariff from ``rules/`` or ``stdlib/`` (or random text) or a register
derived from ``data/os2valghalla_demo_2024.csv``, mutated by a few random edits:
lines and tokens deleted, duplicated and swapped, characters inserted (NUL, BOM,
right-to-left marks, line separators, quotes, keywords, huge numbers...), the text
cut at a random point, or its bytes spoiled. Then

* ``takst check FILE`` must end with exit code 0 or 1, every diagnostic on stderr
  positioned (``file:line:col: error|warning:``), 0 only with nothing on stderr;
  a file that checks clean also runs ``takst test FILE`` (exit 0 or 1);
* ``takst eval rules/os2valghalla.tariff --register FILE --year 2024 --format json``
  must end with 0 (and valid JSON), 1 (every problem at ``FILE, row N``) or 2;

never exit 70 (an internal error), never an exception, and within ``--timeout``
seconds. Failing inputs are saved to ``--failures`` with a note of what went wrong.

    python bench/fuzz_check.py                      # 100 000 cases on 2 processes
    python bench/fuzz_check.py --cases 2000 --jobs 1 --seed 7

The mutation engine (:func:`mutate`, :func:`random_mutations`, :func:`check_case`,
:func:`eval_case`) is also what ``tests/test_fuzz.py`` drives with Hypothesis.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
OS2 = ROOT / "rules" / "os2valghalla.tariff"
DEMO = ROOT / "data" / "os2valghalla_demo_2024.csv"
REGISTER_FIXTURES = ROOT / "tests" / "fixtures" / "registers"

# ------------------------------------------------------------------ the corpus


def tariff_sources() -> dict[str, str]:
    """Every .tariff file of rules/ and stdlib/, by its path relative to the root."""
    files = sorted([*(ROOT / "rules").rglob("*.tariff"), *(ROOT / "stdlib").rglob("*.tariff")])
    return {str(f.relative_to(ROOT)): f.read_text(encoding="utf-8") for f in files}


def register_sources(rows: int = 12) -> dict[str, str]:
    """The demo register and its spreadsheet exports, cut to ``rows`` customers."""
    files = [DEMO, *sorted(REGISTER_FIXTURES.glob("os2_*.csv"))]
    out = {}
    for f in files:
        text = f.read_bytes().decode("utf-8")  # keep a BOM, as the file has it
        lines = text.splitlines(keepends=True)
        out[str(f.relative_to(ROOT))] = "".join(lines[: rows + 2])
    return out


def _grammar_words() -> list[str]:
    grammar = (ROOT / "dsl" / "tariff.lark").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'"([^"\s\\]+)"', grammar)))


#: Words and characters that edits insert: the grammar's keywords and punctuation,
#: numbers and dates on and over the limits, and the characters editors and
#: spreadsheets leave behind.
VOCABULARY: list[str] = [
    *_grammar_words(),
    "population", "joined", "os2_member", "size", "name", "billing_year", "customer_type",
    "DKK", "NOK", "yes", "no", "total", "pending", "small", "medium",
    "0", "1", "25_000", "1.50", "2,50", "-1", "-25_000", "-0.5", "1,5", "1 000,50", "1.000",
    "41.000", "1_", "0.000_1", "9" * 31,
    "1" + "0" * 40, "2023-02-30", "2024-01-01", "0000-00-00", "9999-12-31", "01.11.2023",
    '"', '"x"', '""', "#", "# comment", "(", ")", "((((", "))))", "->", "%", "/", "*", "+",
    "-", "=", "!=", "<=", ":", ",", ";", ".", "_", "\\",
]
SPECIAL: list[str] = [
    "\x00", "\ufeff", "\u200f", "\u202e", "\u200b", "\u2028", "\u2029", "\x85", "\x0b", "\x0c",
    "\x1c", "\x1e", "\t", "\r", "\n", "\r\n", "\n\n", " ", "  ", "\u00a0", "\u3000", "é", "ø",
    "Å", "ß", "İ", "ﬁ", "٣", "²", "𝟘", "𝔞", "😀", "\U0010ffff", "\ud800", "\x7f", "\x1b[31m",
    # combining and invisible characters, look-alike dashes
    "\u0301", "e\u0301", "o\u0308", "\u200c", "\u200d", "\u2060", "\u00ad", "\u061c", "–", "−",
]
REGISTER_WORDS: list[str] = [
    ",", ";", "\t", '"', '""', "sep=;\r\n", "sep=,\n", "sep=|\n", "\r\n", "\n", "\r",
    "1.234,50", "1,234.50", "41.000", "41,000", "41 000", "-5", "0,5", "1e1000",
    "1" + "0" * 40, "ja", "nej", "SAND", "maybe", "2023-02-30", "01.11.2023", "11/25/2023",
    "2024-01-01 00:00", "id", "name", "population", "joined", "os2_member", "customer_type",
]

#: What each edit does; (kind, a, b, payload): a and b are positions taken modulo the
#: length of what they index, payload is text to insert.
KINDS = (
    "delete_line", "duplicate_line", "swap_lines", "delete_token", "duplicate_token",
    "swap_tokens", "replace_token", "insert", "delete_span", "truncate", "spoil_bytes",
)
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


class Mutation(NamedTuple):
    kind: str
    a: int
    b: int
    payload: str


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def mutate(text: str, mutations: Sequence[Mutation]) -> bytes:
    """Apply the edits in order, and return the file's bytes (UTF-8 unless spoiled)."""
    spoil: list[Mutation] = []
    for m in mutations:
        if m.kind == "spoil_bytes":
            spoil.append(m)
        elif m.kind in ("delete_line", "duplicate_line", "swap_lines"):
            lines = _lines(text)
            if not lines:
                continue
            i, j = m.a % len(lines), m.b % len(lines)
            if m.kind == "delete_line":
                del lines[i]
            elif m.kind == "duplicate_line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        elif m.kind in ("delete_token", "duplicate_token", "swap_tokens", "replace_token"):
            tokens = _TOKEN.findall(text)
            if not tokens:
                text = m.payload
                continue
            i, j = m.a % len(tokens), m.b % len(tokens)
            if m.kind == "delete_token":
                del tokens[i]
            elif m.kind == "duplicate_token":
                tokens.insert(j, tokens[i])
            elif m.kind == "swap_tokens":
                tokens[i], tokens[j] = tokens[j], tokens[i]
            else:
                tokens[i] = m.payload
            text = "".join(tokens)
        elif m.kind == "insert":
            i = m.a % (len(text) + 1)
            text = text[:i] + m.payload + text[i:]
        elif m.kind == "delete_span":
            i = m.a % (len(text) + 1)
            text = text[:i] + text[i + m.b % 40 :]
        elif m.kind == "truncate":
            text = text[: m.a % (len(text) + 1)]
        else:  # pragma: no cover - KINDS is closed
            raise ValueError(m.kind)
    data = text.encode("utf-8", errors="surrogatepass")  # a lone surrogate: not UTF-8
    for m in spoil:
        how = m.b % 5
        if how == 0:
            data = b"\xef\xbb\xbf" + data
        elif how == 1:
            i = m.a % (len(data) + 1)
            data = data[:i] + bytes([0x80 + m.a % 128]) + data[i:]
        elif how == 2:
            data = data.decode("utf-8", errors="replace").encode("latin-1", errors="replace")
        elif how == 3:
            data = data.decode("utf-8", errors="replace").encode("utf-16")
        else:
            data = data.decode("utf-8", errors="replace").encode("utf-16-le")
    return data


def random_payload(rng: random.Random, words: Sequence[str] = VOCABULARY) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(words)
    if roll < 0.8:
        return rng.choice(SPECIAL)
    if roll < 0.9:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
    return "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(1, 4)))


def random_mutations(rng: random.Random, words: Sequence[str] = VOCABULARY) -> list[Mutation]:
    """One to four edits; truncation and spoiled bytes less often than the others."""
    out = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        kind = rng.choice(KINDS[:-2] * 4 + KINDS[-2:])
        out.append(Mutation(kind, rng.randrange(1 << 20), rng.randrange(1 << 20),
                            random_payload(rng, words)))
    return out


def random_text(rng: random.Random) -> str:
    """Text from scratch: a soup of the language's words, or any characters."""
    if rng.random() < 0.7:
        parts = []
        for _ in range(rng.randint(0, 80)):
            roll = rng.random()
            parts.append("\n" if roll < 0.15 else "\n  " if roll < 0.25
                         else rng.choice(VOCABULARY) + " ")
        return "".join(parts)
    return "".join(chr(rng.randint(1, 0x24F)) if rng.random() < 0.9 else rng.choice(SPECIAL)
                   for _ in range(rng.randint(0, 300)))


# ------------------------------------------------------------------ running one case


def _main(argv: list[str]) -> tuple[int, str, str]:
    from takst.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


_HEAD = re.compile(r"^.+:\d+:\d+: (error|warning|note): ")


def check_problems(display: str, code: int, err: str) -> list[str]:
    """What is wrong with the outcome of ``takst check FILE``: [] when nothing."""
    problems = []
    if code not in (0, 1):
        problems.append(f"exit code {code}, expected 0 or 1")
    if code == 0 and err:
        problems.append("exit code 0 with diagnostics")
    heads = 0
    summary = re.compile(rf"^{re.escape(display)}: (\d+ errors?|\d+ warnings?)(, \d+ warnings?)?$")
    for line in err.split("\n"):
        if not line or line.startswith(" "):
            continue  # a source excerpt, its caret, a hint
        if _HEAD.match(line):
            heads += 1
        elif not (summary.match(line) or re.match(r"^\.\.\. and \d+ more problems$", line)):
            problems.append(f"a stderr line that is not a positioned diagnostic: {line[:200]!r}")
    if code == 1 and not heads:
        problems.append("exit code 1 without a positioned diagnostic")
    return problems


def eval_problems(display: str, code: int, out: str, err: str) -> list[str]:
    """What is wrong with the outcome of ``takst eval --register FILE``: [] when nothing."""
    problems = []
    if code not in (0, 1, 2):
        problems.append(f"exit code {code}, expected 0, 1 or 2")
    if code == 0:
        try:
            json.loads(out)
        except ValueError as e:
            problems.append(f"exit code 0 but the JSON does not load: {e}")
    if code == 1:
        head = re.compile(rf"^{re.escape(display)}, row \d+(, column .+)?: error: ")
        heads = 0
        for line in err.split("\n"):
            if not line or line.startswith(" "):
                continue
            if head.match(line):
                heads += 1
            elif not re.match(r"^(takst: \d+ errors?|\.\.\. and \d+ more problems)$", line):
                problems.append(f"a stderr line without the register's row: {line[:200]!r}")
        if not heads:
            problems.append("exit code 1 without a problem at a register row")
    return problems


class Outcome(NamedTuple):
    problems: list[str]
    code: int | None
    err: str
    seconds: float


_WARM: list[bool] = []


def _warm() -> None:
    """Import takst and build its parser once, in the parent, so every forked case
    starts warm (each case then costs its own work, not a fresh start)."""
    if not _WARM:
        import hypothesis  # noqa: F401  (takst test runs declared properties with it)

        _main(["check", str(OS2)])
        _main(["eval", str(OS2), "--register", str(DEMO), "--year", "2024", "--format", "json"])
        _WARM.append(True)


def _run_here(argv: list[str]) -> tuple[int | None, str, str, list[str]]:
    previous = os.environ.get("TAKST_DEBUG")
    os.environ["TAKST_DEBUG"] = "1"  # an internal error raises, so we see its traceback
    try:
        code, out, err = _main(argv)
        return code, out, err, []
    except Exception:
        return None, "", "", ["exception:\n" + traceback.format_exc()]
    finally:
        if previous is None:
            del os.environ["TAKST_DEBUG"]
        else:
            os.environ["TAKST_DEBUG"] = previous


class _Runner:
    """A warm child process that runs cases one at a time, killed when a case runs
    over its time bound (and started afresh for the next case).

    The time bound is kept outside the code under test: an alarm raised inside it
    would surface wherever the case happens to be (inside Hypothesis, when the case
    runs ``takst test``) and be reported as something it is not."""

    def __init__(self) -> None:
        self.pid = 0
        self.conn: Connection | None = None

    def _start(self) -> Connection:
        ours, theirs = multiprocessing.Pipe()
        pid = os.fork()
        if pid == 0:  # the child: serve cases until the parent goes away
            status = 0
            try:
                ours.close()
                _warm()
                while True:
                    try:
                        argv = theirs.recv()
                    except EOFError:
                        break
                    theirs.send(_run_here(argv))
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        theirs.close()
        self.pid, self.conn = pid, ours
        return ours

    def _stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.pid, self.conn = 0, None

    def run(self, argv: list[str], timeout: float) -> tuple[int | None, str, str, list[str]]:
        conn = self.conn or self._start()
        try:
            conn.send(argv)
            if conn.poll(timeout):
                code, out, err, problems = conn.recv()
                return code, out, err, problems
        except (EOFError, OSError) as e:
            self._stop()
            return None, "", "", [f"the case's process ended without an outcome ({e!r})"]
        self._stop()
        return None, "", "", [f"timeout: still running after {timeout} s"]


_RUNNER = _Runner()


def _run_guarded(argv: list[str], timeout: float) -> tuple[int | None, str, str, list[str]]:
    """Run one takst command within ``timeout`` seconds (in a child process)."""
    if timeout <= 0 or not hasattr(os, "fork"):
        return _run_here(argv)
    return _RUNNER.run(argv, timeout)


def check_case(path: Path, timeout: float = 5.0) -> Outcome:
    """``takst check PATH``, then ``takst test PATH`` when it checks clean."""
    start = time.perf_counter()
    code, _, err, problems = _run_guarded(["check", str(path)], timeout)
    if code is not None:
        problems = check_problems(str(path), code, err)
        if code == 0 and not problems:
            # Few cases per declared property: the examples and properties run, briefly.
            tcode, _, terr, problems = _run_guarded(["test", "--cases", "3", str(path)],
                                                    timeout)
            if tcode is not None and tcode not in (0, 1):
                problems = [f"takst test: exit code {tcode}, expected 0 or 1", terr[:2000]]
    return Outcome(problems, code, err, time.perf_counter() - start)


def eval_case(path: Path, options: Sequence[str] = (), timeout: float = 5.0) -> Outcome:
    """``takst eval rules/os2valghalla.tariff --register PATH --year 2024 --format json``."""
    start = time.perf_counter()
    argv = ["eval", str(OS2), "--register", str(path), "--year", "2024", "--format", "json",
            *options]
    code, out, err, problems = _run_guarded(argv, timeout)
    if code is not None:
        problems = eval_problems(str(path), code, out, err)
    return Outcome(problems, code, err, time.perf_counter() - start)


REGISTER_OPTIONS: list[list[str]] = [
    [], [], [], [], ["--decimal", "comma"], ["--decimal", "point"],
    ["--delimiter", "semicolon"], ["--delimiter", "comma"], ["--delimiter", "tab"],
]


# ------------------------------------------------------------------ the campaign


class Case(NamedTuple):
    number: int
    kind: str  # "tariff" | "text" | "register"
    source: str
    data: bytes
    options: list[str]


def make_case(seed: int, index: int, tariffs: dict[str, str], registers: dict[str, str]) -> Case:
    """Case ``index`` of the campaign ``seed``: the same every time."""
    rng = random.Random(f"{seed}:{index}")
    roll = rng.random()
    if roll < 0.6:
        name = rng.choice(sorted(tariffs))
        return Case(index, "tariff", name, mutate(tariffs[name], random_mutations(rng)), [])
    if roll < 0.7:
        return Case(index, "text", "random text", mutate(random_text(rng), []), [])
    name = rng.choice(sorted(registers))
    words = REGISTER_WORDS + VOCABULARY[:20]
    return Case(index, "register", name, mutate(registers[name], random_mutations(rng, words)),
                rng.choice(REGISTER_OPTIONS))


_STATE: dict[str, object] = {}


def _init_worker(seed: int, folder: str) -> None:
    _STATE["seed"] = seed
    _STATE["tariffs"] = tariff_sources()
    _STATE["registers"] = register_sources()
    _STATE["dir"] = Path(tempfile.mkdtemp(prefix="fuzz-", dir=folder))


def _work(chunk: range) -> tuple[Counter[str], list[tuple[Case, Outcome]], float]:
    tariffs = _STATE["tariffs"]
    registers = _STATE["registers"]
    folder = _STATE["dir"]
    assert isinstance(tariffs, dict) and isinstance(registers, dict) and isinstance(folder, Path)
    seed = _STATE["seed"]
    assert isinstance(seed, int)
    stats: Counter[str] = Counter()
    failures = []
    slowest = 0.0
    for index in chunk:
        case = make_case(seed, index, tariffs, registers)
        outcome = _run_case(case, case.data, folder)
        slowest = max(slowest, outcome.seconds)
        stats[f"{case.kind} exit {outcome.code}"] += 1
        if outcome.problems:
            failures.append((case, outcome))
    return stats, failures, slowest


def _chunks(cases: int, size: int) -> Iterator[range]:
    for start in range(0, cases, size):
        yield range(start, min(start + size, cases))


def _signature(outcome: Outcome) -> str:
    """What identifies a failure: the exception and where it was raised, or the problem."""
    return signature(outcome.problems)


def signature(problems: Sequence[str]) -> str:
    """``function ExceptionType`` of where an exception was raised (``_blank_block
    IndexError``), or the first problem with its numbers blurred."""
    first = problems[0] if problems else ""
    if first.startswith("exception:"):
        lines = [ln for ln in first.splitlines() if ln.strip()]
        functions = [ln.rsplit(" in ", 1)[-1].strip() for ln in lines
                     if ln.strip().startswith("File ")]
        named = [f for f in functions if not f.startswith("<")]  # not <genexpr>, <listcomp>
        where = named[-1] if named else "?"
        return f"{where} {lines[-1].split(':')[0].strip()}"
    return re.sub(r"\d+", "N", first.split(":")[0])


def _run_case(case: Case, data: bytes, folder: Path) -> Outcome:
    if case.kind == "register":
        path = folder / "register.csv"
        path.write_bytes(data)
        return eval_case(path, case.options)
    path = folder / "case.tariff"
    path.write_bytes(data)
    return check_case(path)


def minimize(case: Case, outcome: Outcome, folder: Path, budget: int = 400) -> bytes:
    """A smaller input that fails the same way: drop lines, then runs of bytes."""
    want = _signature(outcome)
    data = case.data
    tries = 0

    def fails(candidate: bytes) -> bool:
        nonlocal tries
        tries += 1
        got = _run_case(case, candidate, folder)
        return bool(got.problems) and _signature(got) == want

    for unit in ("lines", "bytes"):
        size = max(len(data) // 2, 1)
        while size >= 1 and tries < budget:
            parts = data.splitlines(keepends=True) if unit == "lines" else [
                data[i:i + 1] for i in range(len(data))]
            chunk = max(1, min(size, len(parts)))
            i, shrunk = 0, False
            while i < len(parts) and tries < budget:
                candidate = b"".join(parts[:i] + parts[i + chunk:])
                if candidate != data and fails(candidate):
                    data, parts, shrunk = candidate, parts[:i] + parts[i + chunk:], True
                else:
                    i += chunk
            if not shrunk:
                size //= 2
            if unit == "lines" and size < 1:
                break
    return data


#: Crashes found by this fuzzer in takst outside the register reader, by ``function
#: ExceptionType``, with the test in tests/test_fuzz.py that reproduces each (a strict
#: xfail: when the bug is fixed it fails, and its entry here goes).
KNOWN_BUGS: dict[str, str] = {}


def save_failure(folder: Path, case: Case, outcome: Outcome, *, minimized: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".csv" if case.kind == "register" else ".tariff"
    data_path = folder / f"case-{case.number}{suffix}"
    data_path.write_bytes(case.data)
    if minimized:
        with tempfile.TemporaryDirectory() as scratch:
            small = minimize(case, outcome, Path(scratch))
        (folder / f"case-{case.number}.min{suffix}").write_bytes(small)
    command = (f"takst eval rules/os2valghalla.tariff --register {data_path} --year 2024 "
               f"--format json {' '.join(case.options)}" if case.kind == "register"
               else f"takst check {data_path}")
    note = folder / f"case-{case.number}.txt"
    note.write_text(
        f"case {case.number} ({case.kind}, from {case.source})\n"
        f"reproduce: TAKST_DEBUG=1 {command}\n"
        f"exit code: {outcome.code}\n\n" + "\n".join(outcome.problems)
        + "\n\nstderr:\n" + outcome.err[:5000],
        encoding="utf-8",
    )
    return note


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="how many (default 100 000)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="the campaign (default 0)")
    parser.add_argument("--failures", default="fuzz-failures",
                        help="folder for failing inputs (default ./fuzz-failures)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    stats: Counter[str] = Counter()
    failures: list[tuple[Case, Outcome]] = []
    slowest = 0.0
    done = 0
    with tempfile.TemporaryDirectory(prefix="takst-fuzz-") as scratch:
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        with ctx.Pool(args.jobs, initializer=_init_worker, initargs=(args.seed, scratch)) as pool:
            for chunk_stats, chunk_failures, chunk_slowest in pool.imap_unordered(
                _work, _chunks(args.cases, 250)
            ):
                stats.update(chunk_stats)
                failures.extend(chunk_failures)
                slowest = max(slowest, chunk_slowest)
                done += sum(chunk_stats.values())
                if done % 10_000 < 250:
                    rate = done / (time.perf_counter() - start)
                    print(f"  {done:>7} cases, {rate:6.0f} cases/s, {len(failures)} failing",
                          flush=True)
    seconds = time.perf_counter() - start
    print(f"{done} cases in {seconds:.1f} s: {done / seconds:.0f} cases/s on {args.jobs} "
          f"processes; slowest case {slowest:.2f} s")
    for key in sorted(stats):
        print(f"  {key:<22} {stats[key]:>7}")
    if not failures:
        print("no failing cases")
        return 0
    folder = Path(args.failures)
    groups: dict[str, list[tuple[Case, Outcome]]] = {}
    for case, outcome in sorted(failures, key=lambda f: f[0].number):
        groups.setdefault(signature(outcome.problems), []).append((case, outcome))
    new = 0
    for sig, cases in sorted(groups.items(), key=lambda g: -len(g[1])):
        known = KNOWN_BUGS.get(sig)
        new += 0 if known else len(cases)
        first, outcome = cases[0]
        note = save_failure(folder, first, outcome, minimized=True)
        for case, other in cases[1:]:
            save_failure(folder, case, other, minimized=False)
        print(f"{'known' if known else 'NEW  '} {len(cases):>5} x {sig}"
              + (f"  ({known})" if known else "") + f"\n        e.g. case {first.number}: {note}")
    print(f"{len(failures)} failing cases ({new} not known), saved in {folder}/")
    return 1


if __name__ == "__main__":
    sys.exit(main())
