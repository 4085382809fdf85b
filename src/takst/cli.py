"""The ``takst`` command line: check, eval, explain, test.

Exit codes: 0 success; 1 problems found (diagnostics, failing examples, bad
register); 2 the command line itself is wrong. A user never sees a Python
traceback for bad input: every problem is a positioned diagnostic.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from takst import __version__
from takst.dsl import ast
from takst.dsl.checker import check, errors_of
from takst.dsl.errors import (
    CheckError,
    Diagnostic,
    TariffError,
    UsageError,
    diagnostic,
    render,
)
from takst.dsl.parser import parse_file
from takst.interpreter.evaluator import Customer, Evaluator
from takst.interpreter.register import BadValue, load_register, parse_value
from takst.interpreter.report import to_csv, to_json, to_table, write_atomic
from takst.interpreter.specs import report_failure, run_examples, tariff_files
from takst.interpreter.trace import render_text

MAX_SHOWN = 100


def _print_diags(diags: Sequence[Diagnostic], stream: TextIO) -> None:
    for d in diags[:MAX_SHOWN]:
        print(render(d), file=stream)
        print(file=stream)
    if len(diags) > MAX_SHOWN:
        print(f"... and {len(diags) - MAX_SHOWN} more problems", file=stream)


def _summary(diags: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


def load_tariff(path: str, err: TextIO) -> ast.Tariff:
    """Parse and check; print warnings; raise on errors."""
    tariff = parse_file(path)
    diags = check(tariff)
    errors = errors_of(diags)
    if errors:
        raise CheckError(diags)
    _print_diags(diags, err)
    return tariff


# ------------------------------------------------------------------ commands


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    files = tariff_files(args.files)
    if not files:
        raise UsageError(diagnostic("no .tariff files found", hint="name files or folders"))
    bad = 0
    for f in files:
        try:
            diags = check(parse_file(f))
        except TariffError as e:
            diags = list(e.diagnostics)
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


def _customers_from_sets(tariff: ast.Tariff, sets: list[str]) -> list[Customer]:
    inputs = {i.name: i for i in tariff.inputs}
    values = {}
    ident = name = "(command line)"
    ctype = ""
    problems = []
    for item in sets:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            problems.append(diagnostic(f"--set {item}: expected NAME=VALUE",
                                       hint="e.g. --set population=41000"))
            continue
        if key in ("id", "name", "customer_type"):
            if key == "id":
                ident = raw
            elif key == "name":
                name = raw
            else:
                ctype = raw
            continue
        decl = inputs.get(key)
        if decl is None:
            problems.append(
                diagnostic(
                    f"--set {key}: the tariff has no input {key}",
                    hint="its inputs are: " + ", ".join(inputs) + " (and id, name, customer_type)",
                )
            )
            continue
        try:
            values[key] = parse_value(decl, raw)
        except BadValue as bad:
            problems.append(diagnostic(f"--set {key}: {bad.message}", hint=bad.hint))
    missing = [n for n in inputs if n not in values]
    if missing and not problems:
        problems.append(
            diagnostic(
                "no value for " + ", ".join(missing),
                hint="add " + " ".join(f"--set {m}=..." for m in missing),
            )
        )
    if problems:
        raise UsageError(problems)
    if ident == "(command line)" and name != "(command line)":
        ident = name
    return [Customer(id=ident, name=name, values=values, customer_type=ctype,
                     origin="command line")]


def _customers(args: argparse.Namespace, tariff: ast.Tariff) -> list[Customer]:
    if args.register and args.set:
        raise UsageError(diagnostic("use either --register or --set, not both"))
    if args.register:
        inputs = {i.name: i for i in tariff.inputs}
        return load_register(args.register, inputs)
    if args.set:
        return _customers_from_sets(tariff, args.set)
    raise UsageError(
        diagnostic(
            "no customers to evaluate",
            hint="give --register REGISTER.csv, or the inputs with --set NAME=VALUE",
        )
    )


def _emit(text: str, args: argparse.Namespace, out: TextIO) -> None:
    if getattr(args, "out", None):
        write_atomic(args.out, text)
    else:
        out.write(text)


def cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    year = _year(args)
    tariff = load_tariff(args.file, err)
    customers = _customers(args, tariff)
    evaluator = Evaluator(tariff, checked=True)
    trace = args.trace or (args.set and args.format == "table")
    results = [evaluator.evaluate(c, year, trace=bool(trace)) for c in customers]
    if args.format == "json":
        text = to_json(tariff, year, results, with_trace=args.trace)
    elif args.format == "csv":
        text = to_csv(tariff, results)
    elif args.set:
        text = "".join(
            render_text(r, title=tariff.title, tariff_file=tariff.file, year=year,
                        currency=tariff.currency)
            for r in results
        )
    else:
        text = to_table(tariff, year, results)
    _emit(text, args, out)
    return 0


def _find_customer(customers: list[Customer], wanted: str) -> Customer:
    by_id = [c for c in customers if c.id == wanted]
    if by_id:
        return by_id[0]
    low = wanted.casefold()
    by_name = [c for c in customers if c.name.casefold() == low]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise UsageError(
            diagnostic(
                f"{len(by_name)} customers are named {wanted}",
                hint="use the id instead: " + ", ".join(c.id for c in by_name),
            )
        )
    partial = [c for c in customers if low in c.name.casefold()]
    hint = ("did you mean: " + ", ".join(f"{c.name} ({c.id})" for c in partial[:5])
            if partial else "give an id or a name from the register")
    raise UsageError(diagnostic(f"no customer {wanted!r} in the register", hint=hint))


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    year = _year(args)
    tariff = load_tariff(args.file, err)
    customers = _customers(args, tariff)
    if args.register:
        if not args.customer:
            raise UsageError(
                diagnostic("which customer?", hint="add --customer ID_OR_NAME, e.g. --customer 0621")
            )
        customers = [_find_customer(customers, args.customer)]
    result = Evaluator(tariff, checked=True).evaluate(customers[0], year)
    if args.format == "json":
        import json

        from takst.interpreter.trace import customer_json

        text = json.dumps(
            {"tariff": tariff.name, "year": year, "currency": tariff.currency,
             "customer": customer_json(result, with_trace=True)},
            ensure_ascii=False, indent=2,
        ) + "\n"
    else:
        text = render_text(result, title=tariff.title, tariff_file=tariff.file, year=year,
                           currency=tariff.currency)
    _emit(text, args, out)
    return 0


def cmd_test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    files = tariff_files(args.paths or ["."])
    if not files:
        raise UsageError(diagnostic("no .tariff files found", hint="name files or folders"))
    passed = failed = 0
    for f in files:
        try:
            tariff = parse_file(f)
            diags = check(tariff)
            if errors_of(diags):
                raise CheckError(diags)
        except TariffError as e:
            _print_diags(e.diagnostics, err)
            print(f"{f}: cannot run its examples: {_summary(e.diagnostics)}", file=out)
            failed += 1
            continue
        evaluator = Evaluator(tariff, checked=True)
        outcomes = run_examples(evaluator)
        ok = sum(o.passed for o in outcomes)
        for o in outcomes:
            if o.passed:
                if args.verbose:
                    print(f"  ok    {o.example.title}", file=out)
            else:
                print(report_failure(o, evaluator), file=out)
                print(file=out)
        passed += ok
        failed += len(outcomes) - ok
        status = "ok" if ok == len(outcomes) else "FAILED"
        print(f"{f}: {ok} of {len(outcomes)} examples passed  {status}", file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0


# ------------------------------------------------------------------ argument parsing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(diagnostic(message, hint=f"see `{self.prog} --help`"))


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
        sp.add_argument("--register", metavar="CSV", help="a register of customers (CSV)")
        sp.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                        help="an input value for one customer (repeat for each input)")
        sp.add_argument("--year", type=_year_arg, help="the billing year, e.g. 2024")
        sp.add_argument("--out", metavar="PATH", help="write to PATH (atomically) instead of "
                        "standard output")

    e = sub.add_parser("eval", help="evaluate a tariff for one customer or a whole register")
    customers(e)
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    e.add_argument("--trace", action="store_true", help="include the trace in JSON output")
    e.set_defaults(func=cmd_eval)

    x = sub.add_parser("explain", help="the trace of one customer's amounts, as a worksheet")
    customers(x)
    x.add_argument("--customer", metavar="ID_OR_NAME", help="which customer of the register")
    x.add_argument("--format", choices=["text", "json"], default="text")
    x.set_defaults(func=cmd_explain)

    t = sub.add_parser("test", help="run the example blocks of tariff files")
    t.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing examples too")
    t.set_defaults(func=cmd_test)
    return p


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
    except OSError as e:
        print(f"takst: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=err)
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
