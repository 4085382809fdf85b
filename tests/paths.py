"""Where the repository's folders are, and running the command line from the root."""

import io
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
DATA = ROOT / "data"
STDLIB = ROOT / "stdlib"


def run(*argv: str) -> tuple[int, str, str]:
    """Run `takst ARGV...` in-process from the repository root: (exit code, stdout, stderr)."""
    from takst.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(list(argv), out, err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def run_here(*argv: str) -> tuple[int, str, str]:
    """Run `takst ARGV...` in-process in the current folder: (exit code, stdout, stderr)."""
    from takst.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()
