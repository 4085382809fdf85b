"""The ``takst`` command (and ``python -m takst``): :func:`takst.cli.main`, with DuckDB's
database opened meanwhile when the command asks for the batch engine (:mod:`takst.startup`)."""

import sys


def main() -> int:
    from takst.startup import start

    opening = start(sys.argv[1:])
    from takst.cli import main as cli

    if opening is not None:
        from takst.interpreter.batch.duckdb_engine import open_with

        open_with(opening.take)
    return cli()


if __name__ == "__main__":
    sys.exit(main())
