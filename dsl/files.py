"""Reading a tariff file's text: its size limit, UTF-8, and the positioned errors of a
file that cannot be read. No parsing here (so reading needs no parser loaded).
"""

from __future__ import annotations

from pathlib import Path

from takst.dsl.errors import Diagnostic, Span, TariffSyntaxError, diagnostic
from takst.dsl.numbers import group

#: The largest tariff file (in bytes; a text: in characters) that is read at all.
MAX_FILE_SIZE = 2_000_000


def too_large(file: str, size: str) -> Diagnostic:
    return diagnostic(
        f"this file is too large to be a tariff: {size}; takst reads tariff files of at most "
        f"{group(MAX_FILE_SIZE)} bytes",
        Span(file, 1, 1, 1, 1),
        hint="check that this is the tariff you meant; a large table can live in a module "
        "of its own",
    )


def read_tariff_text(path: Path, name: str) -> str:
    """The text of the ``.tariff`` file at ``path``; ``name`` is the file's name in the
    errors. Raises :class:`TariffSyntaxError` for a missing, unreadable, too large or
    non-UTF-8 file."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_SIZE + 1)
    except FileNotFoundError:
        raise TariffSyntaxError(
            diagnostic(f"no tariff file {name}", hint="check the path and the file name")
        ) from None
    except IsADirectoryError:
        raise TariffSyntaxError(
            diagnostic(f"{name} is a folder, not a tariff file", hint="name a .tariff file")
        ) from None
    except OSError as err:
        raise TariffSyntaxError(
            diagnostic(f"cannot read {name}: {err.strerror}", hint="check the file's permissions")
        ) from None
    if len(raw) > MAX_FILE_SIZE:
        raise TariffSyntaxError(too_large(name, f"more than {group(MAX_FILE_SIZE)} bytes"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise TariffSyntaxError(
            diagnostic(
                "this file is not UTF-8 text",
                Span(name, line, 1, line, 1),
                hint="save the file as UTF-8 (most editors offer it under 'Save as')",
            )
        ) from None
