"""The calculator page end to end in a real browser: headless Chromium (Debian's
``chromium`` and ``chromium-driver``) driven by Selenium.

The tests start ``takst serve`` on 127.0.0.1 with a free port, open the
Lillestrøm URL and read seed 004's figures off the page; they also type into the
type-ahead, click the checkboxes, ask for an unknown organisation, show a
register name ``<script>…</script>`` as text, and open the static site of
``takst site`` from ``file://`` and from a plain static server on 127.0.0.1.

Without a browser they are skipped with the reason; with ``TAKST_REQUIRE_BROWSER=1``
(set by ``.ci/run``) a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT

TARIFF = "rules/ks_dif_2025.tariff"
REGISTER = "data/norway_2024.csv"
EXISTING = "data/ks_dif_existing_2025.csv"
LILLESTROM = "?customer=Lillestr%C3%B8m&services=all"


def _browser() -> tuple[str, str] | str:
    """The Chromium and chromedriver executables, or why there are none."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[browser]')"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        return "no chromium/chromedriver found (apt-get install chromium chromium-driver)"
    return chromium, driver


def _need_browser() -> tuple[str, str]:
    found = _browser()
    if isinstance(found, str):
        if os.environ.get("TAKST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TAKST_REQUIRE_BROWSER=1 but {found}")
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    chromium, chromedriver = _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1300", "--lang=nb", "--allow-file-access-from-files"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """``takst serve ARGS --port 0``, and the address it prints once it listens."""
    proc = subprocess.Popen([sys.executable, "-m", "takst", "serve", *args, "--port", "0"],
                            cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, encoding="utf-8")
    assert proc.stderr is not None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found:
            return proc, found.group(0)
    proc.kill()
    rest = proc.stderr.read()
    _stop(proc)
    raise AssertionError("takst serve did not start: " + rest)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The KS DIF calculator over the whole Norwegian register, with the known existing
    prices of seed 004."""
    _need_browser()
    proc, url = _start([TARIFF, "--register", REGISTER, "--year", "2025",
                        "--existing", EXISTING], ROOT)
    try:
        yield url
    finally:
        _stop(proc)


def _small_register(folder: Path) -> Path:
    """Oslo (the largest municipality), Lillestrøm, a county and a name that is HTML."""
    path = folder / "small.csv"
    path.write_text(
        "id,name,customer_type,population\n"
        "0301,Oslo,KOMMUNE,717710\n"
        "3205,Lillestrøm,KOMMUNE,94201\n"
        "32,Akershus,FYLKESKOMMUNE,728803\n"
        "9999,<script>window.pwned=1</script>,KOMMUNE,1000\n",
        encoding="utf-8")
    return path


def _text(cell: Any) -> str:
    return " ".join(cell.text.replace("\u00a0", " ").split())


def _table(driver: Any) -> dict[str, list[str]]:
    """The rows of the price table as the reader sees them (hidden rows left out)."""
    from selenium.webdriver.common.by import By

    rows: dict[str, list[str]] = {}
    for tr in driver.find_elements(By.CSS_SELECTOR, "#prices tbody tr, #prices tfoot tr"):
        if not tr.is_displayed():
            continue
        cells = tr.find_elements(By.CSS_SELECTOR, "th, td")
        rows[_text(cells[0])] = [_text(c) for c in cells[1:]]
    return rows


# the columns: existing, new, change %, change kr, new service, total new
SEED = {  # seed 004, section 7: Lillestrøm
    "Grunnfinansiering": ["0", "606 360", "n/a", "606 360", "", "606 360"],
    "Min Kommune": ["155 249", "—", "n/a", "n/a", "", ""],
    "SvarUT": ["376 518", "pending", "", "", "", "pending"],
    "Fiks Digisos": ["87 240", "60 553", "-31 %", "-26 687", "", "60 553"],
    "Fiks Bekymringsmelding": ["9 863", "60 553", "+514 %", "50 690", "", "60 553"],
    "Digitalt ledsagerbevis": ["", "", "", "", "111 590", "111 590"],
    "KS Læring": ["235 568", "159 167", "-32 %", "-76 401", "", "159 167"],
    "Fiks Digiorden": ["", "", "", "", "190 603", "190 603"],
    "Fiks Smittevern": ["112 809", "126 590", "+12 %", "13 781", "", "126 590"],
    "Fiks Folkeregister": ["49 896", "85 013", "+70 %", "35 117", "", "85 013"],
    "Fiks Kjøretøyregister": ["", "", "", "", "30 718", "30 718"],
    "Skatte- og inntektsopplysninger": ["120 392", "57 866", "-52 %", "-62 526", "", "57 866"],
    "Fiks Melding": ["7 371", "9 000", "+22 %", "1 629", "", "9 000"],
    "Fiks Protokoller": ["61 436", "61 436", "0 %", "0", "", "61 436"],
    # the seed's totals: existing 1 216 342 and new services 332 911 as published; the new
    # column leaves out SvarUT (pending: the register has no usage counts), so its
    # 1 471 753 is 1 226 538 here, and the change is over the services priced in both
    "Total": ["1 216 342", "1 226 538", "+46 %", "386 714", "332 911", "1 559 449"],
}


def test_lillestrom_shows_the_seeds_figures(driver: Any, server: str) -> None:
    """The Lillestrøm URL shows, per service, seed 004's existing and new prices and the
    change: 606 360, 60 553, 111 590, 159 167, 190 603, 126 590, 85 013, 30 718, 57 866,
    9 000, 61 436 among them, whole kroner as the seed prints them."""
    driver.get(server + LILLESTROM)
    assert "Lillestrøm" in driver.title
    assert _table(driver) == SEED
    for figure in ("606 360", "60 553", "111 590", "159 167", "190 603", "126 590", "85 013",
                   "30 718", "57 866", "9 000", "61 436"):
        assert figure in driver.find_element("id", "prices").text.replace("\u00a0", " ")
    shots = os.environ.get("TAKST_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(shots) / "calculator-lillestrom.png"))


def test_every_amount_links_to_its_worksheet(driver: Any, server: str) -> None:
    """A new amount opens the worksheet of that customer at its charge; the worksheet
    shows the same amount and the tariff line it comes from."""
    from selenium.webdriver.common.by import By

    driver.get(server + LILLESTROM)
    link = driver.find_element(By.CSS_SELECTOR, "tr[data-charge=digiorden] td.added a")
    assert link.get_attribute("href").endswith("/worksheet?customer=3205#charge-digiorden")
    link.click()
    heading = driver.find_element(By.ID, "charge-digiorden")
    assert heading.text.replace("\u00a0", " ").endswith("190 603,00")
    assert "size_adjusted" in driver.find_element(By.TAG_NAME, "body").text
    driver.get(server + LILLESTROM)
    driver.find_element(By.CSS_SELECTOR, "tr[data-charge=svarut] td.existing a").click()
    assert "seed 004" in driver.find_element(By.ID, "charge-svarut").text


def test_type_ahead_and_checkboxes(driver: Any, server: str) -> None:
    """Typing a name offers it from the register; choosing it shows its table; a checkbox
    leaves a service out (URL services=a,b, totals again); "select all" brings all back."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(server)
    options = [o.get_attribute("value") for o in
               driver.find_elements(By.CSS_SELECTOR, "#organisations option")]
    assert "Lillestrøm" in options and len(options) == 371
    box = driver.find_element(By.ID, "customer")
    box.send_keys("Lillestrøm")
    box.send_keys(Keys.ENTER)
    _wait(driver, lambda: "customer=3205" in driver.current_url)  # the id: one organisation
    assert "services=all" in driver.current_url
    assert _table(driver)["Fiks Digisos"][1] == "60 553"
    driver.find_element(By.CSS_SELECTOR, "input.service[value=svarut]").click()
    _wait(driver, lambda: "svarut" not in driver.current_url and "services=grunn" in
          driver.current_url)
    table = _table(driver)
    assert "SvarUT" not in table
    assert table["Total"][0] == "839 824"  # 1 216 342 - 376 518
    assert not driver.find_element(By.ID, "all").is_selected()
    driver.find_element(By.ID, "all").click()
    _wait(driver, lambda: "services=all" in driver.current_url)
    assert _table(driver)["Total"] == SEED["Total"]
    driver.find_element(By.ID, "all").click()  # untick all: nothing chosen, not everything
    _wait(driver, lambda: "services=none" in driver.current_url)
    assert not any(b.is_selected() for b in driver.find_elements(By.CSS_SELECTOR, "input.service"))
    assert list(_table(driver)) == ["Total"]


def _wait(driver: Any, ok: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except Exception:  # the page is being replaced
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out at {driver.current_url}")


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def test_unknown_organisation_is_a_404_with_a_message(driver: Any, server: str) -> None:
    """An unknown organisation: HTTP 404 and the problem on the page; an unknown service:
    400; no 500."""
    status, _ = _status(server + "?customer=Atlantis")
    assert status == 404
    driver.get(server + "?customer=Lillestr%C3%B8x")
    problem = driver.find_element("css selector", ".problem").text
    assert "no organisation 'Lillestrøx' in the register" in problem
    assert "Lillestrøm (3205)" in problem  # did you mean
    status, body = _status(server + "?customer=3205&services=digisos,nope")
    assert status == 400 and "no service &#39;nope&#39;" in body
    assert _status(server + "worksheet?customer=Atlantis")[0] == 404
    assert _status(server + "etc/passwd")[0] == 404
    assert _status(server + "static/app.py")[0] == 404
    assert _status(server + "static/%2e%2e/app.py")[0] == 404


def test_a_name_that_is_html_shows_as_text(driver: Any, tmp_path: Path) -> None:
    """A register name ``<script>…</script>`` is shown as text and never runs."""
    register = _small_register(tmp_path)
    proc, url = _start([str(ROOT / TARIFF), "--register", str(register), "--year", "2025"],
                       tmp_path)
    try:
        driver.get(url + "?customer=9999&services=all")
        assert driver.execute_script("return window.pwned") is None
        heading = driver.find_element("css selector", ".result h2 .customer").text
        assert heading == "<script>window.pwned=1</script>"
        driver.get(url + "worksheet?customer=9999")
        assert driver.execute_script("return window.pwned") is None
        assert "<script>window.pwned=1</script>" in driver.find_element("tag name", "body").text
    finally:
        _stop(proc)


def _site(tmp_path: Path) -> Path:
    register = _small_register(tmp_path)
    out = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "takst", "site", str(ROOT / TARIFF),
                           "--register", str(register), "--year", "2025",
                           "--existing", str(tmp_path / "known.csv"), "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, encoding="utf-8",
                          check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_browser()
    folder = tmp_path_factory.mktemp("site")
    shutil.copyfile(ROOT / EXISTING, folder / "known.csv")
    return _site(folder)


def test_static_site_from_file_url(driver: Any, site: Path) -> None:
    """The static site opened from file:// leads from the front page to Lillestrøm's
    prices, with the seed's figures; unticking a service computes the totals again
    (exactly, in the page) as the server does."""
    from selenium.webdriver.common.by import By

    driver.get((site / "index.html").as_uri() + LILLESTROM)
    _wait(driver, lambda: "/c/3205.html" in driver.current_url)
    assert _table(driver) == SEED
    driver.find_element(By.CSS_SELECTOR, "input.service[value=svarut]").click()
    driver.find_element(By.CSS_SELECTOR, "input.service[value=grunnfinansiering]").click()
    table = _table(driver)
    assert "SvarUT" not in table and "Grunnfinansiering" not in table
    # the server's figures for the same choice: existing 1 216 342 - 376 518 - 0,
    # new 1 226 538 - 606 360, change 620 178 - 839 824
    assert table["Total"] == ["839 824", "620 178", "-26 %", "-219 646", "332 911", "953 089"]
    assert not driver.find_element(By.ID, "all").is_selected()
    driver.find_element(By.ID, "all").click()
    assert _table(driver)["Total"] == SEED["Total"]
    driver.find_element(By.CSS_SELECTOR, "tr[data-charge=digisos] td.new a").click()
    assert driver.find_element(By.ID, "charge-digisos").text.replace("\u00a0", " ").endswith(
        "60 553,00")


def test_static_site_from_a_static_server(driver: Any, site: Path) -> None:
    """The same site from a plain static web server on 127.0.0.1 (python -m http.server):
    the type-ahead leads to the page; an unknown name is said on the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind",
                             "127.0.0.1"], cwd=site, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        port = re.search(r"port (\d+)", proc.stdout.readline())
        assert port, "http.server did not start"
        base = f"http://127.0.0.1:{port.group(1)}/"
        driver.get(base + "index.html")
        box = driver.find_element(By.ID, "customer")
        box.send_keys("Lillestrøm")
        box.send_keys(Keys.ENTER)
        _wait(driver, lambda: driver.current_url.startswith(base + "c/3205.html"))
        assert _table(driver)["Fiks Protokoller"] == SEED["Fiks Protokoller"]
        driver.get(base + "index.html?customer=Atlantis")
        assert "no organisation 'Atlantis'" in driver.find_element(By.ID, "static-problem").text
        driver.get(base + "c/9999.html")
        assert driver.execute_script("return window.pwned") is None
    finally:
        _stop(proc)
