"""``takst lsp``: a language server for tariff files (needs the ``lsp`` extra, pygls).

:mod:`takst.lsp.analysis` is what the server knows about a document (pure, over
``takst.dsl``); :mod:`takst.lsp.server` speaks the protocol; :mod:`takst.lsp.client` is a
small synchronous client for tests, the benchmark and session transcripts.
"""

from __future__ import annotations


def main() -> int:
    """Start the server over stdio. Returns an exit code (2 when pygls is missing)."""
    try:
        from takst.lsp.server import serve
    except ImportError as err:  # the lsp extra is not installed
        import sys

        print(f"takst: error: the language server needs pygls ({err.name} is missing)\n"
              "  hint: pip install 'takst[lsp]'", file=sys.stderr)
        return 2
    serve()
    return 0
