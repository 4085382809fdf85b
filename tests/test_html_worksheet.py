"""`takst explain --format html`: the printable worksheet (src/takst/render/html.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from paths import ROOT, run

from takst.render.html import localized
from takst.render.locale import numbers

KS = ("rules/ks_dif_2025.tariff", "--register", "data/norway_2024.csv", "--year", "2025")


def test_lillestrom_worksheet_has_locale_amounts_and_highlighted_source() -> None:
    """One customer: its page, amounts in Norwegian (the tariff bills in NOK), each step
    beside the tariff line it came from, highlighted."""
    code, out, err = run("explain", *KS, "--customer", "Lillestrøm", "--format", "html")
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>") and '<html lang="nb">' in out
    assert out.count('<section class="page"') == 1
    assert "@page { size: A4;" in out
    heading = re.search(r'<h2 id="charge-grunnfinansiering">.*?</h2>', out, re.S)
    assert heading and "606\u00a0360,00" in heading.group(0)
    # the rounding step, beside line 50 of the tariff, highlighted by the tariff lexer
    row = re.search(r'<tr><td class="step">rounded to kroner \(half up\): '
                    r'606\u00a0360,332222… → 606\u00a0360,00</td><td class="where">line 50</td>'
                    r'<td class="src">(.*?)</td></tr>', out)
    assert row, out[:2000]
    assert '<span class="k">round</span>' in row.group(1)
    assert ".src .k {" in out  # the highlighting's colours


def test_danish_and_english_numbers_in_the_steps() -> None:
    """The numbers inside a step's text follow the locale; years and ids do not change."""
    text = "price × people = 6.345 × 94 201 = 597 705.345; billing year 2025; row 0301"
    assert localized(text, numbers("da")) == (
        "price × people = 6,345 × 94.201 = 597.705,345; billing year 2025; row 0301")
    assert localized(text, numbers("en")) == text
    assert localized("606 360.00 and 0.1", numbers("nb")) == "606\u00a0360,00 and 0,1"
    assert numbers("nb").amount(Decimal("0.1")) == "0,10"


def test_every_customer_one_page_each_and_locale_option(tmp_path: Path) -> None:
    """Without --customer, every customer of the register gets its page; --locale en (when
    the command has it) or the currency decides the numbers."""
    register = tmp_path / "r.csv"
    register.write_text("id,name,customer_type,population\n0301,Oslo,KOMMUNE,717710\n"
                        "3205,Lillestrøm,KOMMUNE,94201\n", encoding="utf-8")
    code, out, err = run("explain", "rules/ks_dif_2025.tariff", "--register", str(register),
                         "--year", "2025", "--format", "html")
    assert code == 0, err
    assert out.count('<section class="page"') == 2
    assert 'id="customer-0301"' in out and 'id="customer-3205"' in out
    assert "606\u00a0360,00" in out


def test_everything_from_the_register_is_escaped(tmp_path: Path) -> None:
    """A name that is HTML is written as text."""
    register = tmp_path / "r.csv"
    register.write_text("id,name,customer_type,population\n"
                        '1,<script>alert("x")</script>,KOMMUNE,1000\n', encoding="utf-8")
    code, out, err = run("explain", "rules/ks_dif_2025.tariff", "--register", str(register),
                         "--year", "2025", "--format", "html", "--customer", "1")
    assert code == 0, err
    assert "<script>" not in out
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in out


def test_html_out_is_atomic_and_never_an_input(tmp_path: Path) -> None:
    """--out writes the file whole; the register as --out is refused."""
    target = tmp_path / "ws.html"
    code, _, err = run("explain", *KS, "--customer", "3205", "--format", "html",
                       "--out", str(target))
    assert code == 0, err
    assert target.read_text(encoding="utf-8").rstrip().endswith("</html>")
    code, _, err = run("explain", *KS, "--customer", "3205", "--format", "html",
                       "--out", "data/norway_2024.csv")
    assert code != 0 and "norway_2024.csv" in err


def test_print_to_pdf_with_chromium(tmp_path: Path) -> None:
    """The documented PDF path works: Chromium's --headless --print-to-pdf makes a real
    A4 PDF of the worksheet (skipped only without chromium; TAKST_REQUIRE_BROWSER=1
    makes that a failure)."""
    import os

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("TAKST_REQUIRE_BROWSER") == "1":
            pytest.fail("TAKST_REQUIRE_BROWSER=1 but no chromium found")
        pytest.skip("no chromium found (apt-get install chromium)")
    html = tmp_path / "ws.html"
    code, _, err = run("explain", *KS, "--customer", "3205", "--format", "html",
                       "--out", str(html))
    assert code == 0, err
    pdf = tmp_path / "ws.pdf"
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri()],
                          capture_output=True, timeout=180, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert pages >= 2  # thirteen charges with their steps do not fit on one A4 page
    # A4 is 210 × 297 mm: 595 × 842 points (Chromium writes 594.96 × 841.92)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert len(boxes) == pages
    assert all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes)
