"""``takst site``: the calculator as static files, for an organisation's own website.

The same pages as ``takst serve`` (:mod:`takst.web.pages`), rendered ahead of
time for every organisation of the register::

    DIR/index.html            the calculator, no organisation chosen
    DIR/c/ID.html             the calculator for one organisation, every service
    DIR/w/ID.html             its printable worksheet (new tariff)
    DIR/w/ID-old.html         ... under the tariff in force (with --old)
    DIR/w/ID-known.html       ... its known existing prices (with --existing)
    DIR/static/calculator.css, calculator.js
    DIR/.takst-site           what made the site (JSON)

The little JavaScript of the page does what the server does per request: the
type-ahead leads to the organisation's page, and a choice of services hides the
other rows and computes the totals again, exactly (BigInt, no float), as
:mod:`takst.web.calculator` computes them. It works from ``file://`` and from
any static web server.

Written atomically: into a temporary folder beside ``DIR``, renamed into place
when everything is written. An existing ``DIR`` is replaced only if it is empty
or a site takst made before (it holds ``.takst-site``); an input inside ``DIR``
is refused, so no input is ever overwritten.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from takst import __version__
from takst.dsl.errors import UsageError, diagnostic
from takst.render.locale import Numbers
from takst.web.calculator import Calculator
from takst.web.pages import STATIC, STATIC_FILES, calculator_page, worksheet_page

MARKER = ".takst-site"
_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class StaticLinks:
    """Relative links between the site's files, from a page ``depth`` folders down."""

    def __init__(self, slugs: dict[str, str], depth: int) -> None:
        self.slugs = slugs
        self.up = "../" * depth

    def calculator(self, customer: str | None, services: Sequence[str] | None) -> str:
        if customer is None:
            return self.up + "index.html"
        query = "?services=" + quote(",".join(services)) if services else ""
        return f"{self.up}c/{self.slugs[customer]}.html{query}"

    def worksheet(self, customer: str, model: str, charge: str | None = None) -> str:
        suffix = "" if model == "new" else f"-{model}"
        anchor = f"#charge-{charge}" if charge else ""
        return f"{self.up}w/{self.slugs[customer]}{suffix}.html{anchor}"

    def static(self, name: str) -> str:
        return f"{self.up}static/{name}"


def slugs(ids: Sequence[str]) -> dict[str, str]:
    """A file name for every customer id: the id itself when it is a safe name (and
    unique in any case), else ``x`` and its UTF-8 bytes in hex."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for ident in ids:
        slug = ident if _SAFE.fullmatch(ident) and len(ident) <= 80 else ""
        if not slug or slug.lower() in seen:
            slug = "x" + ident.encode("utf-8").hex()[:120]
        while slug.lower() in seen:
            slug += "_"
        seen.add(slug.lower())
        out[ident] = slug
    return out


def _inside(path: str | os.PathLike[str], folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def check_out(out: Path, inputs: Sequence[tuple[str, str]]) -> None:
    """Refuse an output folder that would replace an input or a folder not made by takst."""
    for what, path in inputs:
        if _inside(path, out):
            raise UsageError(diagnostic(
                f"--out {out}: the {what} {path} is inside it, and the site replaces the folder",
                hint="write the site to another folder"))
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(diagnostic(f"--out {out}: not a folder",
                                    hint="name a new folder, or a site takst wrote before"))
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(diagnostic(
            f"--out {out}: the folder is not empty and is not a site takst wrote",
            hint="name a new or empty folder (takst replaces only a folder holding "
            f"{MARKER})"))


def write_site(calc: Calculator, numbers: Numbers, out: str | os.PathLike[str],
               inputs: Sequence[tuple[str, str]]) -> int:
    """Write the static site of ``calc`` to the folder ``out``; returns the number of
    organisations. ``inputs`` are ``(what, path)`` of every file read."""
    target = Path(out)
    check_out(target, inputs)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.takst-", dir=parent))
    tmp.chmod(0o755)  # a website: readable by the web server
    try:
        _write(calc, numbers, tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.takst-old-", dir=parent))
            os.replace(target, old / "site")
            try:
                os.replace(tmp, target)
            except OSError:
                os.replace(old / "site", target)  # put the old site back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(calc.results)


def _write(calc: Calculator, numbers: Numbers, root: Path) -> None:
    names = slugs([r.id for r in calc.results])
    (root / "c").mkdir()
    (root / "w").mkdir()
    (root / "static").mkdir()
    for name in STATIC_FILES:
        shutil.copyfile(STATIC / name, root / "static" / name)
    top = StaticLinks(names, 0)
    down = StaticLinks(names, 1)
    _, index = calculator_page(calc, numbers, top, customer=None, services=None, static=True)
    (root / "index.html").write_text(index, encoding="utf-8")
    for r in calc.results:
        slug = names[r.id]
        _, page = calculator_page(calc, numbers, down, customer=r.id, services=None, static=True)
        (root / "c" / f"{slug}.html").write_text(page, encoding="utf-8")
        (root / "w" / f"{slug}.html").write_text(
            worksheet_page(calc, numbers, down, r, "new"), encoding="utf-8")
        if r.id in calc.old_results:
            (root / "w" / f"{slug}-old.html").write_text(
                worksheet_page(calc, numbers, down, r, "old"), encoding="utf-8")
        if r.id in calc.known:
            (root / "w" / f"{slug}-known.html").write_text(
                worksheet_page(calc, numbers, down, r, "known"), encoding="utf-8")
    made = {"made_by": f"takst {__version__}", "tariff": calc.tariff.file,
            "year": calc.year, "register": calc.register,
            "old": calc.old_tariff.file if calc.old_tariff is not None else None,
            "existing": calc.existing_file, "organisations": len(calc.results)}
    (root / MARKER).write_text(json.dumps(made, ensure_ascii=False, indent=2) + "\n",
                               encoding="utf-8")
