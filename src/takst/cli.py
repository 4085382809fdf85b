"""The ``takst`` command line: check, eval, explain, test, verify, fmt, compare.

argparse -> :mod:`takst.session` -> :mod:`takst.render`, nothing else: every
command turns its options into session calls and writes what they return.

Exit codes: 0 success; 1 problems found (diagnostics, failing examples, bad
register); 2 the command line itself is wrong; 70 an internal error. A user
never sees a Python traceback for bad input: every problem is a positioned
diagnostic.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import attrs

from takst import __version__, cli_options
from takst.dsl.errors import (
    Diagnostic,
    TariffError,
    UsageError,
    diagnostic,
    render,
)
from takst.session import Checked, Dialect, Request, Session, engine_note, summary
from takst.testing import DEFAULT_CASES

if TYPE_CHECKING:
    from takst.compare import compare as versions
    from takst.dsl import ast
    from takst.interpreter.model import CustomerResult
    from takst.provenance.manifest import Manifest
    from takst.render.locale import Numbers
    from takst.render.table import Screen
    from takst.session import Evaluation
    from takst.web.calculator import Calculator

MAX_SHOWN = 100
#: Output to standard output is kept in memory up to this size, then in a temporary file,
#: and written when the command succeeds (so a failing command writes nothing).
SPOOL = 1 << 20

_summary = summary


def _print_diags(diags: Sequence[Diagnostic], stream: TextIO) -> None:
    for d in diags[:MAX_SHOWN]:
        print(render(d), file=stream)
        print(file=stream)
    if len(diags) > MAX_SHOWN:
        print(f"... and {len(diags) - MAX_SHOWN} more problems", file=stream)


def _load(session: Session, path: str, err: TextIO) -> Checked:
    """Load and check; print the warnings; raise on errors."""
    checked = session.load(path)
    _print_diags(checked.warnings, err)
    return checked


@contextlib.contextmanager
def _output(args: argparse.Namespace, out: TextIO) -> Iterator[TextIO]:
    """Where a command writes: ``--out`` atomically, or standard output once it is done."""
    if getattr(args, "out", None):
        from takst.render.report import open_atomic

        with open_atomic(args.out) as fh:
            yield fh
        return
    with tempfile.SpooledTemporaryFile(SPOOL, "w+", encoding="utf-8", newline="") as spool:
        yield spool  # type: ignore[misc]
        spool.seek(0)
        shutil.copyfileobj(spool, out)


def _guard_out(args: argparse.Namespace, inputs: Sequence[tuple[str, str | None]]) -> None:
    """Refuse an ``--out`` that is not a regular file or that is one of the inputs,
    before anything is read (imported modules: call again once they are known)."""
    out = getattr(args, "out", None)
    if not out:
        return
    from takst.render.report import check_not_input, output_target

    output_target(out)
    check_not_input(out, [(what, p) for what, p in inputs if p])
    if getattr(args, "format", None) == "csv" and args.command == "eval":
        from takst.provenance.manifest import sidecar_path

        side = sidecar_path(out)
        output_target(side)
        check_not_input(side, [(what, p) for what, p in inputs if p])


def _modules(tariff: object) -> list[tuple[str, str | None]]:
    return [("imported module", m) for m in getattr(tariff, "modules", ())]


def _numbers(args: argparse.Namespace, currency: str) -> Numbers:
    """How amounts are written for people: ``--locale``, else from the currency."""
    from takst.render.locale import numbers

    return numbers(cli_options.locale_of(args, currency))


def _screen(args: argparse.Namespace, out: TextIO) -> Screen:
    """Where a table goes: standard output (a terminal, or a pipe), or an ``--out`` file
    (no width, no colour)."""
    from takst.render.table import Screen, screen_for

    return Screen() if getattr(args, "out", None) else screen_for(out)


def _texts(tariff: ast.Tariff, numbers: Numbers) -> frozenset[str]:
    """The tariff's own texts, which a worksheet in a locale quotes as written."""
    from takst.render.table import tariff_texts

    return frozenset() if numbers.plain else tariff_texts(tariff)


def _worksheet_width(args: argparse.Namespace, out: TextIO) -> int:
    from takst.render.table import worksheet_width

    return worksheet_width(_screen(args, out))


def _with_progress(args: argparse.Namespace, evaluation: Evaluation,
                   err: TextIO) -> Iterable[CustomerResult]:
    """A register's results, with a progress bar on a terminal's stderr for long runs."""
    if not args.register:
        return evaluation
    from takst.render.table import progress

    return progress(evaluation, err, total=evaluation.rows)


# ------------------------------------------------------------------ commands


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from takst.testing.specs import tariff_files

    files = tariff_files(args.files)
    if not files:
        raise UsageError(diagnostic("no .tariff files found", hint="name files or folders"))
    session = Session()
    bad = 0
    for f in files:
        diags = session.check(f).diagnostics
        if diags:
            bad += 1
            _print_diags(diags, err)
            print(f"{f}: {_summary(diags)}", file=err)
        else:
            print(f"{f}: ok", file=out)
    return 1 if bad else 0


def _year(args: argparse.Namespace) -> int:
    if args.year is None:
        raise UsageError(
            diagnostic("which billing year?", hint="add --year, e.g. --year 2024")
        )
    return int(args.year)


def _request(args: argparse.Namespace, year: int, *, trace: bool) -> Request:
    return Request(tariff=args.file, year=year, register=args.register,
                   values=tuple(args.set or ()),
                   dialect=Dialect(args.delimiter, args.decimal, getattr(args, "sheet", None)),
                   trace=trace,
                   engine=getattr(args, "engine", "interpreter"))


def cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    year = _year(args)
    _need_out(args)
    inputs = [("tariff", args.file), ("register", args.register)]
    _guard_out(args, inputs)
    if not (args.format == "csv" and args.out and args.register and args.register != "-"):
        return _eval(args, year, out, err)
    # its manifest records the register's SHA-256: found meanwhile, in a thread
    from takst.provenance.manifest import forget_sha256, prefetch_sha256

    prefetch_sha256(args.register)
    try:
        return _eval(args, year, out, err)
    finally:  # taken by the manifest, or not needed (a run that failed)
        forget_sha256(args.register)


def _eval(args: argparse.Namespace, year: int, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    tariff = _load(session, args.file, err).tariff
    assert tariff is not None
    _guard_out(args, _modules(tariff))
    # A run allocates many short-lived objects and almost no cycles: keep what is loaded
    # out of the collector's sight and collect less often (about a fifth of the run's time).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    trace = bool(args.trace or (not args.register and args.format == "table"))
    if args.format == "parquet" and not args.out:
        raise UsageError(diagnostic("Parquet results are written to a file",
                                    hint="add --out RESULTS.parquet"))
    charges = cli_options.chosen_charges(args.charges, [c.name for c in tariff.charges])
    if charges is not None and args.format != "table":
        raise UsageError(diagnostic("--charges chooses the columns of a table",
                                    hint="leave --charges out with --format " + args.format))
    numbers = _numbers(args, tariff.currency)
    csv_file = args.format == "csv" and bool(args.out)
    # The register is read once where a problem found late can still throw the results
    # away: a CSV file is written atomically, a table is laid out only at the end.
    once = csv_file or (args.format == "table" and bool(args.register))
    evaluation = session.run(_request(args, year, trace=trace), once=once,
                             warnings_later=csv_file)
    note = engine_note(evaluation.engine)
    if note:
        print(f"takst: note: {note}", file=err)
    if evaluation.reader_note:
        print(f"takst: note: {evaluation.reader_note}", file=err)
    results = _with_progress(args, evaluation, err)
    if args.format == "parquet":
        from takst.io.parquet import write_parquet

        write_parquet(args.out, tariff, evaluation)
        _print_diags(evaluation.warnings, err)
        return 0
    excel = _excel_locale(args, tariff)
    if args.format == "xlsx":
        from takst.render.excel import write_xlsx

        write_xlsx(args.out, tariff, year, results, with_trace=args.trace,
                   manifest=evaluation.manifest().to_json())
        _print_diags(evaluation.warnings, err)
        return 0
    if csv_file:
        # a CSV cannot hold its manifest: a sidecar, replaced together with the CSV, and
        # written after it (the manifest counts the register's rows)
        from takst.provenance.manifest import sidecar_path, sidecar_text
        from takst.render import report

        with report.open_atomic_pair(args.out, sidecar_path(args.out)) as (
                stream, by_name, side):
            if evaluation.batch is not None and not excel:
                # written by DuckDB straight to the temporary file, the same bytes
                # its look-alike warnings found while the file is hashed
                sha256 = by_name(evaluation.batch.write_csv_file,
                                 lambda: evaluation.warnings)
            else:
                hashing = report.HashingWriter(stream)
                if excel:
                    from takst.render.excel import write_excel_csv

                    write_excel_csv(hashing, tariff, results,  # type: ignore[arg-type]
                                    decimal_mark=excel[1])
                else:
                    report.write_csv(hashing, tariff, results)  # type: ignore[arg-type]
                sha256 = hashing.hexdigest()
            side.write(sidecar_text(evaluation.manifest(), sha256=sha256,
                                    locale=excel[0] if excel else None))
        _print_diags(evaluation.warnings, err)
        return 0
    # results a program reads record what made them
    manifest = evaluation.manifest() if args.format in ("json", "csv") else None
    with _output(args, out) as stream:
        if args.format == "table" and not args.register:  # one customer: its worksheet
            from takst.render.worksheet import render_text

            width = _worksheet_width(args, out)
            for r in evaluation:
                stream.write(render_text(r, title=tariff.title, tariff_file=tariff.file,
                                         year=year, currency=tariff.currency, width=width,
                                         numbers=numbers, keep=_texts(tariff, numbers)))
        else:
            _write_results(args, stream, tariff, year, results, manifest,
                           numbers=numbers, screen=_screen(args, out), charges=charges,
                           batch=evaluation.batch)
    _print_diags(evaluation.warnings, err)  # found as the customers passed
    return 0


def _write_results(args: argparse.Namespace, stream: TextIO, tariff: ast.Tariff, year: int,
                   evaluation: Iterable[CustomerResult], manifest: Manifest | None, *,
                   numbers: Numbers | None = None, screen: Screen | None = None,
                   charges: Sequence[str] | None = None, batch: Any = None) -> None:
    """A register's results as JSON, CSV or a table (``batch``: a register billed in
    DuckDB, which writes its plain CSV itself)."""
    from takst.render import report

    if args.format == "json":
        report.write_json(stream, tariff, year, evaluation, with_trace=args.trace,
                          manifest=manifest.to_json() if manifest else None)
    elif args.format == "csv":
        excel = _excel_locale(args, tariff)
        if excel is None and batch is not None:  # written by DuckDB, the same bytes
            batch.write_csv(stream)
        elif excel:
            from takst.render.excel import write_excel_csv

            write_excel_csv(stream, tariff, evaluation, decimal_mark=excel[1])
        else:
            report.write_csv(stream, tariff, evaluation)
    else:
        report.write_table(stream, tariff, year, evaluation, numbers=numbers, screen=screen,
                           layout=args.layout, charges=charges)


def _excel_locale(args: argparse.Namespace, tariff: ast.Tariff) -> tuple[str, str] | None:
    """The Nordic locale and its decimal mark when ``--locale`` asks for CSV for Excel
    (``da``, ``nb``, ``nn``, ``sv``); None for takst's plain CSV (``en``, or no
    ``--locale``: a CSV is read by programs too, and stays as it was)."""
    name = getattr(args, "locale", None)
    if not name:
        return None
    from takst.render.locale import numbers, resolve_locale

    locale = resolve_locale(name, tariff.currency)
    return None if locale == "en" else (locale, numbers(locale).decimal_symbol)


def _need_out(args: argparse.Namespace) -> None:
    """XLSX is a file: ``--out FILE.xlsx`` is needed (and openpyxl)."""
    if getattr(args, "format", None) != "xlsx":
        return
    if not getattr(args, "out", None):
        raise UsageError(diagnostic("--format xlsx writes a workbook file, and there is no --out",
                                    hint="add --out FILE.xlsx"))
    from takst.render.excel import need_openpyxl

    need_openpyxl()


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    year = _year(args)
    _guard_out(args, [("tariff", args.file), ("register", args.register)])
    session = Session()
    tariff = _load(session, args.file, err).tariff
    assert tariff is not None
    _guard_out(args, _modules(tariff))
    if args.format == "html":
        return _explain_html(args, out, err, session, tariff, year)
    result = session.explain(_request(args, year, trace=True), args.customer)
    # a name that matches a list entry only loosely: told on stderr and in the worksheet
    from takst.interpreter.model import Customer
    from takst.io.register import lookalike_warnings

    warnings = lookalike_warnings(tariff, [Customer(result.id, result.name, {},
                                                    origin=result.origin)])
    _print_diags(warnings, err)
    with _output(args, out) as stream:
        if args.format == "json":
            import json

            from takst.render.results import customer_json

            stream.write(json.dumps(
                {"tariff": tariff.name, "year": year, "currency": tariff.currency,
                 "customer": customer_json(result, with_trace=True),
                 "warnings": [w.message for w in warnings]},
                ensure_ascii=False, indent=2,
            ) + "\n")
        else:
            from takst.render.worksheet import render_text

            stream.write(render_text(result, title=tariff.title, tariff_file=tariff.file,
                                     year=year, currency=tariff.currency,
                                     width=_worksheet_width(args, out),
                                     numbers=_numbers(args, tariff.currency),
                                     keep=_texts(tariff, _numbers(args, tariff.currency))))
            for w in warnings:
                stream.write(f"\nWarning: {w.message}\n")
    return 0


def _explain_html(args: argparse.Namespace, out: TextIO, err: TextIO, session: Session,
                  tariff: ast.Tariff, year: int) -> int:
    """The printable worksheet: one customer (--customer), or every customer of the
    register, one A4 page each (takst.render.html)."""
    from takst.interpreter.model import Customer
    from takst.io.register import lookalike_warnings
    from takst.render.html import render_worksheets
    from takst.render.locale import numbers, resolve_locale

    locale = resolve_locale(getattr(args, "locale", None), tariff.currency)
    request = _request(args, year, trace=True)
    if args.register and not args.customer:
        evaluation = session.run(request)
        results = list(evaluation)
        warnings = list(evaluation.warnings)
    else:
        results = [session.explain(request, args.customer)]
        warnings = lookalike_warnings(tariff, [Customer(r.id, r.name, {}, origin=r.origin)
                                               for r in results])
    _print_diags(warnings, err)
    with _output(args, out) as stream:
        stream.write(render_worksheets(results, title=tariff.title, tariff_file=tariff.file,
                                       year=year, currency=tariff.currency,
                                       numbers=numbers(locale),
                                       warnings=[w.message for w in warnings]))
    return 0


def cmd_fmt(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Lay out tariff files canonically (dsl/formatter.py); --check only says which would change."""
    import difflib

    from takst.dsl.formatter import format_file
    from takst.render.report import write_atomic
    from takst.testing.specs import tariff_files

    files = tariff_files(args.paths)
    if not files:
        raise UsageError(diagnostic("no .tariff files found", hint="name files or folders"))
    changed = failed = 0
    for f in files:
        try:
            result = format_file(f)
        except TariffError as e:
            _print_diags(e.diagnostics, err)
            print(f"{f}: not formatted (left as it is): {_summary(e.diagnostics)}", file=err)
            failed += 1
            continue
        if not result.changed:
            continue
        changed += 1
        if args.check:
            print(f"would reformat {f}", file=out)
            diff = difflib.unified_diff(result.before.splitlines(keepends=True),
                                        result.after.splitlines(keepends=True),
                                        f"{f}", f"{f} (formatted)")
            out.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
        else:
            # through a symbolic link: rewrite the file it names, keep the link
            write_atomic(Path(f).resolve(), result.after)
            print(f"reformatted {f}", file=out)
    same = len(files) - changed - failed
    done = "would be reformatted" if args.check else "reformatted"
    summary = [f"{changed} file{'s' if changed != 1 else ''} {done}"] if changed else []
    if same or not (changed or failed):
        summary.append(f"{same} already formatted")
    if failed:
        summary.append(f"{failed} not formatted")
    print(", ".join(summary), file=out)
    return 1 if failed or (args.check and changed) else 0


def cmd_test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from takst.testing.specs import tariff_files

    if args.paths:
        files = tariff_files(args.paths)
    else:  # the files pytest would run: testpaths, takst_ignore (testing/project.py)
        from takst.testing.project import default_tariff_files

        found = default_tariff_files()
        files = found.files
        if found.describe():
            print(found.describe(), file=out)
    if not files:
        raise UsageError(diagnostic("no .tariff files found", hint="name files or folders"))
    from takst.interpreter.evaluator import Evaluator
    from takst.testing.properties import PropertyOutcome, check_properties
    from takst.testing.specs import ExampleOutcome, report_failure, run_examples

    session = Session()
    passed = failed = crashed = 0
    for f in files:
        try:
            tariff = session.load(f).tariff
            assert tariff is not None
        except TariffError as e:
            _print_diags(e.diagnostics, err)
            print(f"{f}: cannot run its examples: {_summary(e.diagnostics)}", file=out)
            failed += 1
            continue
        outcomes: list[ExampleOutcome] = []
        props: list[PropertyOutcome] = []
        try:
            evaluator = Evaluator(tariff, checked=True)
            outcomes = run_examples(evaluator)
            for o in outcomes:
                if o.passed:
                    if args.verbose:
                        print(f"  ok    {o.example.title}", file=out)
                else:
                    print(report_failure(o, evaluator), file=out)
                    print(file=out)
            props = check_properties(evaluator, cases=args.cases) if tariff.properties else []
            for p in props:
                if p.passed:
                    if args.verbose:
                        print(f"  ok    {p.message}", file=out)
                else:
                    print(f"{f}:{p.prop.span.line}: {p.message}", file=out)
                    if p.counterexample:
                        print("  A counterexample, ready to paste into the tariff (the amounts "
                              "are what takst computes now):", file=out)
                        print("", file=out)
                        print(p.counterexample, file=out)
        except TariffError as e:  # a problem of the file found while running it
            _print_diags(e.diagnostics, err)
            print(f"{f}: cannot run its examples: {_summary(e.diagnostics)}", file=out)
            failed += 1 + sum(not o.passed for o in outcomes)
            passed += sum(o.passed for o in outcomes)
            continue
        except Exception as e:  # a bug in takst: this file fails, the others still run
            if os.environ.get("TAKST_DEBUG"):
                raise
            crashed += 1
            _crash_log()
            print(f"{f}: internal error (a bug in takst, not in your files): "
                  f"{type(e).__name__}{': ' + str(e) if str(e) else ''}\n"
                  "  Please report it with the command you ran. Run with TAKST_DEBUG=1 to see "
                  "details.", file=out)
            failed += 1 + sum(not o.passed for o in outcomes)
            passed += sum(o.passed for o in outcomes)
            print(f"{f}: FAILED (internal error)", file=out)
            continue
        ok = sum(o.passed for o in outcomes)
        props_ok = sum(p.passed for p in props)
        passed += ok + props_ok
        failed += len(outcomes) - ok + len(props) - props_ok
        status = "ok" if ok == len(outcomes) and props_ok == len(props) else "FAILED"
        extra = f", {props_ok} of {len(props)} properties hold" if props else ""
        print(f"{f}: {ok} of {len(outcomes)} examples passed{extra}  {status}", file=out)
    internal = f" ({crashed} by an internal error)" if crashed else ""
    print(f"{passed} passed, {failed} failed{internal}", file=out)
    if crashed:
        return 70
    return 1 if failed else 0


def _crash_log() -> None:
    """The traceback of the exception being handled, to ``TAKST_CRASH_LOG`` (if set)."""
    import traceback

    Path(os.environ.get("TAKST_CRASH_LOG", os.devnull)).write_text(traceback.format_exc())


def cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from takst.provenance.manifest import (
        ResultError,
        compare_amounts,
        document_edits,
        file_changes,
        load_result,
        source_changes,
    )

    recorded = load_result(args.result)
    changes = file_changes(recorded.manifest, args.result)
    session = Session()
    try:  # evaluate the recorded request again, with the files as they are now
        tariff = _load(session, recorded.manifest.request["tariff"], err).tariff
        assert tariff is not None
        evaluation, ignored = session.replay(recorded.manifest)
        results = list(evaluation)
    except TariffError as e:  # e.g. the tariff no longer checks: say which files changed
        for change in changes:
            print(change.text(), file=err)
        print(f"takst: {args.result} cannot be recomputed from the files as they are now:\n",
              file=err)
        raise ResultError(e.diagnostics) from None
    changes += source_changes(recorded.manifest, tariff)
    edits: list[str] = []
    if not changes and not ignored and not recorded.edited:  # every field, not only amounts
        if recorded.manifest.request.get("trace"):
            evaluation = session.run(attrs.evolve(evaluation.request, trace=True))
            results = list(evaluation)
        edits = document_edits(recorded, tariff, results, evaluation.manifest())
    verdict = compare_amounts(recorded, tariff, results, changes, version=__version__,
                              ignored_options=ignored, edits=edits)
    if not args.quiet:
        out.write(verdict.text)
    return 0 if verdict.identical else 1


def _compare_options(
    args: argparse.Namespace,
) -> tuple[int, int, versions.Bands, versions.Bands]:
    """The years and bands of `takst compare`; every problem of the options at once."""
    from takst.compare import compare as versions

    problems = []
    old_year = args.old_year if args.old_year is not None else args.year
    new_year = args.new_year if args.new_year is not None else args.year
    if old_year is None or new_year is None:
        problems.append(diagnostic(
            "which billing year?",
            hint="add --year, e.g. --year 2024 (or --old-year and --new-year)"))
    bands = {"percent": versions.DEFAULT_PERCENT_BANDS, "kroner": versions.DEFAULT_KRONER_BANDS}
    for kind, spec in (("percent", args.percent_bands), ("kroner", args.kroner_bands)):
        if spec is None:
            continue
        try:
            bands[kind] = versions.parse_bands(spec, "percent" if kind == "percent" else "kroner")
        except versions.BadBands as bad:
            problems.append(diagnostic(f"--{kind}-bands {spec!r}: {bad.message}", hint=bad.hint))
    if problems:
        raise UsageError(problems)
    return old_year, new_year, bands["percent"], bands["kroner"]


def cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from takst.compare import compare as versions

    _need_out(args)
    old_year, new_year, percent_bands, kroner_bands = _compare_options(args)
    _guard_out(args, [("old tariff", args.old), ("new tariff", args.new),
                      ("register", args.register)])
    session = Session()
    for path in dict.fromkeys([args.old, args.new]):  # warnings once per file
        checked = session.check(path)
        if checked.ok:
            _print_diags(checked.warnings, err)
            _guard_out(args, _modules(checked.tariff))
    result = session.compare(args.old, args.new, args.register, old_year=old_year,
                             new_year=new_year, values=args.set,
                             dialect=Dialect(args.delimiter, args.decimal, args.sheet),
                             percent_bands=percent_bands, kroner_bands=kroner_bands)
    from takst.compare.review import review_of
    from takst.render.locale import resolve_locale

    # the words of the effect tables in the locale, the columns from the tariffs
    review = review_of(result, resolve_locale(args.locale, result.currency))
    if args.format == "xlsx":
        from takst.compare.review import write_compare_xlsx

        write_compare_xlsx(args.out, result, review)
        return 0
    with _output(args, out) as stream:
        if args.format == "json":
            stream.write(versions.to_json(result))
        elif args.format == "csv":
            stream.write(versions.to_csv(result))
        elif args.format == "markdown":
            from takst.compare.review import to_markdown

            stream.write(to_markdown(result, review))
        else:
            stream.write(versions.to_table(result, review, _numbers(args, result.currency)))
    return 0


def _calculator(args: argparse.Namespace,
                err: TextIO) -> tuple[Calculator, Numbers, list[tuple[str, str]]]:
    """The calculator of `takst serve` and `takst site`, its numbers, and every file read."""
    from takst.render.locale import numbers, resolve_locale
    from takst.web.calculator import Calculator

    session = Session()
    for path in dict.fromkeys([args.file, *([args.old] if args.old else [])]):
        _load(session, path, err)
    calc = Calculator(session, args.file, args.register, _year(args), old=args.old,
                      old_year=args.old_year, existing=args.existing)
    _print_diags(calc.diagnostics, err)  # look-alike names, found as the customers passed
    inputs = [("tariff", args.file), ("register", args.register)]
    inputs += [("imported module", m) for m in calc.tariff.modules]
    if args.old:
        inputs.append(("old tariff", args.old))
    if args.existing:
        inputs.append(("existing prices", args.existing))
    return calc, numbers(resolve_locale(getattr(args, "locale", None), calc.tariff.currency)), inputs


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The calculator page on a local web server (takst.web.app)."""
    from takst.render.html import need_web

    need_web("takst serve", ("jinja2", "markupsafe", "starlette", "uvicorn"))
    from takst.web.app import serve

    calc, nums, _ = _calculator(args, err)

    def ready(url: str) -> None:
        print(f"takst: the calculator is at {url} (Ctrl-C stops it)", file=err, flush=True)

    serve(calc, nums, host=args.host, port=args.port, ready=ready)
    return 0


def cmd_site(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The calculator as static files (takst.web.site)."""
    from takst.render.html import need_web

    need_web("takst site")
    from takst.web.site import check_out, write_site

    given = [("tariff", args.file), ("register", args.register)]
    given += [("old tariff", args.old)] if args.old else []
    given += [("existing prices", args.existing)] if args.existing else []
    check_out(Path(args.out), given)  # before anything is computed
    calc, nums, inputs = _calculator(args, err)
    n = write_site(calc, nums, args.out, inputs)
    print(f"wrote the calculator of {n} organisations to {args.out}/ "
          f"(open {args.out}/index.html)", file=out)
    return 0


def _web_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file", metavar="TARIFF", help="the new tariff (.tariff)")
    sp.add_argument("--register", metavar="CSV", required=True, help="the organisations")
    sp.add_argument("--year", type=_year_arg, help="the billing year of TARIFF, e.g. 2025")
    sp.add_argument("--old", metavar="OLD", help="the tariff in force: the existing prices")
    sp.add_argument("--old-year", type=_year_arg, help="the billing year of OLD (default --year)")
    sp.add_argument("--existing", metavar="CSV", help="known existing prices per organisation "
                    "and service (id,charge,amount,source), where no tariff gives them")
    sp.add_argument("--locale", metavar="LOCALE", help="how amounts are written: da, nb, nn, "
                    "sv or en (default: from the tariff's currency)")


# ------------------------------------------------------------------ argument parsing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(diagnostic(message, hint=f"see `{self.prog} --help`"))


def _session(args: argparse.Namespace) -> Session:
    """The session of a command: with ``--spark-master``, its Spark engine on that master."""
    master = getattr(args, "spark_master", None)
    if not master:
        return Session()
    from takst.session import DEFAULT_ENGINES, spark_factory

    return Session(engines={**DEFAULT_ENGINES, "spark": spark_factory(master)})


def cmd_sql(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from takst.interpreter.batch.compiler import Unsupported, compile_tariff

    year = _year(args)
    _guard_out(args, [("tariff", args.file)])
    session = Session()
    tariff = _load(session, args.file, err).tariff
    assert tariff is not None
    _guard_out(args, _modules(tariff))
    try:
        plan = compile_tariff(tariff, year, dialect=args.dialect)
    except ImportError:
        raise UsageError(diagnostic("the Spark dialect needs SQLGlot, which is not installed",
                                    hint="pip install -e '.[spark]'")) from None
    if isinstance(plan, Unsupported):
        from takst.dsl.errors import EvaluationError

        raise EvaluationError(diagnostic(
            f"the {plan.engine} engine cannot compile {plan.construct}", plan.span,
            hint="takst eval evaluates this tariff with the interpreter instead (it falls "
            "back with a note)"))
    sql = plan.sql
    with contextlib.suppress(ImportError):  # indented by SQLGlot where it is installed
        from takst.interpreter.batch import dialects

        duck = compile_tariff(tariff, year)
        assert not isinstance(duck, Unsupported)
        sql = (dialects.to_spark(duck.sql, pretty=True) if args.dialect == "spark"
               else dialects.pretty_duckdb(duck.sql))
    inputs = ", ".join(f"i_{i.name}" for i in tariff.inputs)
    header = (f"-- takst sql {args.file} --year {year} --dialect {args.dialect}\n"
              f"-- customers: _row, id, name, customer_type, services, {inputs}\n"
              "-- (numbers as integers scaled by 10^decimals; amounts leave as DECIMAL(38, s))\n"
              + ("-- (where a register's numbers fit 18 digits it runs first with BIGINT for\n"
                 "-- HUGEINT and DECIMAL(18, s) for DECIMAL(38, s), and as here on an overflow)\n"
                 if args.dialect == "duckdb" else ""))
    with _output(args, out) as stream:
        stream.write(header + sql.replace("{src}", "customers") + ";\n")
    return 0


def cmd_lsp(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from takst.lsp import main as serve  # lazily: pygls is the optional `lsp` extra

    return serve()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="takst", description="Tariffs as code: check, evaluate and explain "
                "price models written in the takst tariff language.")
    p.add_argument("--version", action="version", version=f"takst {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="check tariff files; exit 1 on any diagnostic")
    c.add_argument("files", nargs="+", metavar="FILE", help=".tariff files or folders")
    c.set_defaults(func=cmd_check)

    def customers(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", metavar="FILE", help="the .tariff file")
        sp.add_argument("--register", metavar="CSV", help="a register of customers (CSV, or "
                        "an .xlsx workbook: its first sheet, or --sheet NAME)")
        _dialect_options(sp)
        sp.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                        help="an input value for one customer (repeat for each input)")
        sp.add_argument("--year", type=_year_arg, help="the billing year, e.g. 2024")
        sp.add_argument("--out", metavar="PATH", help="write to PATH (atomically) instead of "
                        "standard output")

    e = sub.add_parser("eval", help="evaluate a tariff for one customer or a whole register")
    customers(e)
    e.add_argument("--format", choices=["table", "json", "csv", "xlsx", "parquet"],
                   default="table",
                   help="table (for people), json, csv, xlsx (a workbook; needs --out and "
                   "the xlsx extra), or parquet (one DECIMAL(38, s) column per charge; needs "
                   "--out)")
    e.add_argument("--trace", action="store_true", help="include the trace in JSON output")
    cli_options.add_locale_option(e)
    cli_options.add_table_options(e)
    e.add_argument("--engine", choices=["interpreter", "batch", "spark"], default="interpreter",
                   help="interpreter (the reference, default), batch (compiled SQL on DuckDB; "
                   "needs the batch extra) or spark (the same SQL on Apache Spark; needs the "
                   "spark extra and Java); traces always come from the interpreter")
    e.add_argument("--spark-master", metavar="URL", help="the Spark master of --engine spark "
                   "(default local[2]: in this process's machine, on 127.0.0.1 only)")
    e.set_defaults(func=cmd_eval)

    q = sub.add_parser("sql", help="print the SQL a tariff compiles to, for review",
                       description="Compile a checked tariff and billing year to the SQL the "
                       "batch engine (DuckDB) or the Spark engine runs, and print it indented. "
                       "The query reads the customer relation `customers`; aggregates and "
                       "pools take their values from a register when it runs.")
    q.add_argument("file", metavar="FILE", help="the .tariff file")
    q.add_argument("--year", type=_year_arg, help="the billing year, e.g. 2025")
    q.add_argument("--dialect", choices=["duckdb", "spark"], default="duckdb",
                   help="duckdb (the batch engine, default) or spark")
    q.add_argument("--out", metavar="PATH", help="write to PATH (atomically) instead of "
                   "standard output")
    q.set_defaults(func=cmd_sql)

    x = sub.add_parser("explain", help="the trace of one customer's amounts, as a worksheet")
    customers(x)
    x.add_argument("--customer", metavar="ID_OR_NAME", help="which customer of the register")
    x.add_argument("--format", choices=["text", "json", "html"], default="text",
                   help="text, json, or html: the printable worksheet (A4, one page per "
                   "customer; without --customer, every customer of the register)")
    cli_options.add_locale_option(x)
    x.set_defaults(func=cmd_explain)

    t = sub.add_parser("test", help="run the example blocks of tariff files")
    t.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: those "
                   "pytest would collect: pyproject.toml's testpaths without takst_ignore, "
                   "else .)")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing examples too")
    t.add_argument("--cases", type=int, default=DEFAULT_CASES, metavar="N",
                   help=f"cases to try per declared property (default {DEFAULT_CASES})")
    t.set_defaults(func=cmd_test)

    f = sub.add_parser("fmt", help="lay out tariff files canonically (rewrites them in place)",
                       description="Rewrite tariff files in the canonical layout: two-space "
                       "indentation, aligned bands, tables and cases, numbers with "
                       "underscores for thousands, at most one blank line between "
                       "declarations, comments kept. Only layout changes; a file that does not parse, or "
                       "that the formatter cannot lay out yet, is reported and left as it is.")
    f.add_argument("paths", nargs="+", metavar="PATH", help=".tariff files or folders")
    f.add_argument("--check", action="store_true", help="change nothing: print the files that "
                   "would change, with a diff, and exit 1 if there are any")
    f.set_defaults(func=cmd_fmt)

    v = sub.add_parser(
        "verify", help="recompute a JSON or CSV result from the files it records; "
        "exit 1 if a file or an amount changed",
        description="Check a result of `takst eval --format json` (or `--format csv --out "
        "FILE`, whose manifest is FILE.manifest.json) again: hash the tariff files and the "
        "register it records, evaluate again with the files as they are now and the recorded "
        "year and options, and compare every amount. Prints 'identical: ...' and exits 0, or "
        "says which files changed and which amounts differ and why, and exits 1. Recorded "
        "paths are relative to the folder the result was made in: run verify there.")
    v.add_argument("result", metavar="RESULT", help="a .json result, or a .csv result with "
                   "its .csv.manifest.json next to it")
    v.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors; the exit status says it (0: identical)")
    v.set_defaults(func=cmd_verify)

    k = sub.add_parser(
        "compare", help="bill a register under two tariffs: the change per customer and "
        "the effect tables (customers per type in bands of change)",
        description="Bill every customer of a register under OLD and NEW and show, per "
        "customer, both totals and the change in money and percent (pending amounts are left "
        "out and flagged), then the two effect tables of seed 004: customers per customer type "
        "in bands of change in percent and in kroner. Percent = change / old total, exact; "
        "shown rounded half up (whole percent in the table, 2 decimals in JSON/CSV); an old "
        "total of 0 has no percent (n/a) and is counted on the line 'Nye kunder'. A change "
        "equal to a bound is in the band that ends there, except the first bound: exactly "
        "0 is 'Opp til snittet', not a reduction; so are exactly 29 % and exactly 40 000 "
        "(40 000.01 is 'Noe over snittet').")
    k.add_argument("old", metavar="OLD", help="the tariff in force (.tariff)")
    k.add_argument("new", metavar="NEW", help="the proposed tariff (.tariff); may be OLD "
                   "again with another --new-year")
    k.add_argument("--register", metavar="CSV", required=True,
                   help="the customers; it must have the inputs of both tariffs")
    _dialect_options(k)
    k.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                   help="a setting of the tariffs (e.g. a pool's total), for both")
    k.add_argument("--year", type=_year_arg, help="the billing year of both, e.g. 2025")
    k.add_argument("--old-year", type=_year_arg, help="the billing year of OLD (default --year)")
    k.add_argument("--new-year", type=_year_arg, help="the billing year of NEW (default --year)")
    k.add_argument("--format", choices=["table", "json", "csv", "markdown", "xlsx"],
                   default="table", help="table, json, csv, markdown (a report for a pull "
                   "request) or xlsx (a sheet per table; needs --out)")
    cli_options.add_locale_option(k)
    k.add_argument("--out", metavar="PATH", help="write to PATH (atomically) instead of "
                   "standard output")
    k.add_argument("--percent-bands", metavar="SPEC", help="upper bounds in percent, lowest "
                   "first, optionally NAME:BOUND, a last bare NAME for the top band "
                   "(default: 0,29,60,100 with the seed's names)")
    k.add_argument("--kroner-bands", metavar="SPEC", help="upper bounds in money, as "
                   "--percent-bands (default: 0,40000,100000,250000)")
    k.set_defaults(func=cmd_compare)

    sv = sub.add_parser("serve", help="the price calculator page on a local web server",
                        description="Serve the calculator of seed 004: choose an organisation "
                        "and services, see per service the existing and the new price, the "
                        "change in percent and in money, new services and totals; every amount "
                        "links to its worksheet. Listens on 127.0.0.1 unless --host says "
                        "otherwise. Needs the web extra.")
    _web_options(sv)
    sv.add_argument("--host", default="127.0.0.1", help="the address to listen on "
                    "(default 127.0.0.1: this computer only)")
    sv.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0: a free "
                    "one, printed)")
    sv.set_defaults(func=cmd_serve)

    st = sub.add_parser("site", help="write the price calculator as static files",
                        description="Write the calculator of `takst serve` as static files "
                        "(HTML, CSS, a little JavaScript, the results and worksheets of every "
                        "organisation) to put on a website or open from disk. DIR is replaced "
                        "atomically; a non-empty DIR that takst did not write is refused.")
    _web_options(st)
    st.add_argument("--out", metavar="DIR", required=True, help="the folder to write")
    st.set_defaults(func=cmd_site)

    ls = sub.add_parser("lsp", help="run the language server over stdio (for editors)")
    ls.set_defaults(func=cmd_lsp)
    return p


def _dialect_options(sp: argparse.ArgumentParser) -> None:
    """--delimiter and --decimal: how a register is written, when it cannot be told;
    --sheet: which sheet of an XLSX register."""
    sp.add_argument("--sheet", metavar="NAME", help="the sheet of an .xlsx register "
                    "(default: the first)")
    sp.add_argument("--delimiter", choices=["comma", "semicolon", "tab"],
                    help="how the register's columns are separated (default: found "
                    "from its header or its sep= line)")
    sp.add_argument("--decimal", choices=["point", "comma"],
                    help="the register's decimal mark (default: found from its "
                    "numbers; the other mark then separates thousands)")


def _year_arg(text: str) -> int:
    if not text.isdigit() or not 1900 <= int(text) <= 2200:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year (e.g. 2024)")
    return int(text)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        with cli_options.standard_streams(args, out, err) as (out, err):
            code: int = args.func(args, out, err)
        return code
    except UsageError as e:
        _print_diags(e.diagnostics, err)
        return 2
    except TariffError as e:
        _print_diags(e.diagnostics, err)
        print(f"takst: {_summary(e.diagnostics)}", file=err)
        return 1
    except KeyboardInterrupt:
        print("takst: interrupted; nothing was written", file=err)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # outputs are OutputError; this is another file: say it plainly
        from takst.render.report import plain_os_error

        what, hint = plain_os_error(e)
        shown = f"cannot use {e.filename}: " if e.filename else ""
        print(f"takst: error: {shown}{what}; nothing was written\n  hint: {hint}", file=err)
        return 1
    except Exception:  # an internal error: say so plainly, keep the traceback for developers
        if os.environ.get("TAKST_DEBUG"):
            raise
        import traceback

        print("takst: internal error (a bug in takst, not in your files); nothing was written.\n"
              "Please report it with the command you ran. Run with TAKST_DEBUG=1 to see details.",
              file=err)
        Path(os.environ.get("TAKST_CRASH_LOG", os.devnull)).write_text(traceback.format_exc())
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
