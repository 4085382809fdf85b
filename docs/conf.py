"""Sphinx configuration of the takst manual.

Build with warnings as errors:

    sphinx-build -W -b html docs docs/_build/html

The build needs no network: no intersphinx, no remote images, the stock theme.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from takst.lexer import TariffLexer

HERE = Path(__file__).resolve().parent

with (HERE.parent / "pyproject.toml").open("rb") as fh:
    _version = tomllib.load(fh)["project"]["version"]

project = "takst"
author = "the takst authors"
copyright = "the takst authors"
version = _version
release = _version

root_doc = "index"
extensions: list[str] = []
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
language = "en"

# Code blocks say their language; a bare ``::`` block is not highlighted.
highlight_language = "none"
pygments_style = "sphinx"

# Keep quotes and dashes as written: messages quoted in the manual must match takst's.
smartquotes = False

html_theme = "alabaster"
html_title = f"takst {release}"
html_show_sourcelink = False


def setup(app: Any) -> dict[str, Any]:
    app.add_lexer("tariff", TariffLexer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
