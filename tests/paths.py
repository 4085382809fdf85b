"""Where the repository's folders are, for tests that read its files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
DATA = ROOT / "data"
STDLIB = ROOT / "stdlib"
