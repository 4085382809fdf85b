"""The calculator without a browser: its table (src/takst/web/calculator.py), the server's
answers over HTTP on 127.0.0.1 (src/takst/web/app.py) and the static site (site.py)."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from paths import DATA, ROOT, RULES, run, run_here

from takst.dsl.errors import RegisterError, UsageError
from takst.render.locale import numbers
from takst.session import Session
from takst.web.calculator import Calculator, read_known, whole_percent

TARIFF = str(RULES / "ks_dif_2025.tariff")
EXISTING = str(DATA / "ks_dif_existing_2025.csv")
SMALL = ("id,name,customer_type,population\n"
         "0301,Oslo,KOMMUNE,717710\n"
         "3205,Lillestrøm,KOMMUNE,94201\n"
         "32,Akershus,FYLKESKOMMUNE,728803\n"
         "9999,<script>alert(1)</script>,KOMMUNE,1000\n")


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "small.csv"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def calc(register: Path) -> Calculator:
    return Calculator(Session(), TARIFF, str(register), 2025, existing=EXISTING)


@pytest.fixture(scope="module")
def server(calc: Calculator) -> Iterator[str]:
    from takst.web.app import make_server

    srv, sock, url = make_server(calc, numbers("nb"), host="127.0.0.1", port=0)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        thread.join(0.05)
    try:
        yield url
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


def get(url: str, headers: dict[str, str] | None = None,
        method: str = "GET") -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode("utf-8"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8"), dict(e.headers)


# ------------------------------------------------------------------ the table


def test_lillestrom_table_is_the_seeds(calc: Calculator) -> None:
    """Seed 004's calculator for Lillestrøm: each change as published, the existing total
    1 216 342 and the new services 332 911 as published."""
    table = calc.table(calc.find("lillestrøm"), calc.choose(["all"]))
    rows = {r.charge: r for r in table.rows}
    assert [r.charge for r in table.rows][:3] == ["grunnfinansiering", "min_kommune", "svarut"]
    assert rows["digisos"].change == Decimal(-26687) and rows["digisos"].percent == -31
    assert rows["bekymringsmelding"].percent == 514
    assert rows["protokoll"].change == 0
    assert rows["grunnfinansiering"].change == 606360 and rows["grunnfinansiering"].percent is None
    assert rows["min_kommune"].new_state == "absent" and rows["min_kommune"].change is None
    assert [r.charge for r in table.rows if r.new_service] == [
        "ledsagerbevis", "digiorden", "kjoretoyregister"]
    assert table.existing_total == 1216342
    assert table.added_total == 332911
    assert rows["svarut"].new_state == "pending"
    assert table.left_out == [("SvarUT", "the new price is pending")]
    assert table.change_base == 1216342 - 376518
    assert table.change_total == 1226538 - 839824


def test_elsewhere_existing_prices_are_not_known(calc: Calculator) -> None:
    """A customer the known prices do not cover: "not known", never 0; no change."""
    table = calc.table(calc.find("Oslo"), calc.choose(["all"]))
    assert {r.existing_state for r in table.rows} == {"not known"}
    assert table.existing_total is None and table.change_total is None
    county = calc.table(calc.find("32"), calc.choose(["all"]))
    assert "Fiks Digisos" in county.not_offered  # not offered to counties: no row


def test_percent_is_rounded_half_up_from_exact_amounts() -> None:
    """-30.59 % is -31 %, 0.5 % is 1 %, -0.5 % is -1 %."""
    assert whole_percent(Decimal(-26687), Decimal(87240)) == -31
    assert whole_percent(Decimal(1), Decimal(200)) == 1
    assert whole_percent(Decimal(-1), Decimal(200)) == -1
    assert whole_percent(Decimal("0.49"), Decimal(100)) == 0


def test_services_by_name_label_and_unknown(calc: Calculator) -> None:
    """Services are chosen by charge name or label, in the table's order; an unknown one
    is a usage error naming the services."""
    assert calc.choose(["KS Læring", "digisos"]) == ("digisos", "ks_laering")
    assert calc.choose(["none"]) == ()  # every box unticked: an empty table, not all
    with pytest.raises(UsageError, match="no service 'nope'"):
        calc.choose(["digisos", "nope"])


def test_known_prices_file_problems_name_row_and_column(tmp_path: Path) -> None:
    """Every problem of the known-prices file at once, with its row and column."""
    bad = tmp_path / "known.csv"
    bad.write_text("id,charge,amount,source\n3205,digisos,87 240,seed\n"
                   "4444,digisos,1,seed\n3205,melding,abc,seed\n3205,digisos,1,seed\n"
                   "3205,smittevern,1,\n", encoding="utf-8")
    with pytest.raises(RegisterError) as e:
        read_known(str(bad), ["3205"])
    messages = [d.message for d in e.value.diagnostics]
    assert messages == [
        f"{bad}, row 3, column id: no customer '4444' in the register",
        f"{bad}, row 4, column amount: 'abc' is not an amount",
        f"{bad}, row 5: 3205 digisos is given twice",
        f"{bad}, row 6, column source: empty",
    ]
    with pytest.raises(RegisterError, match="no column source"):
        (tmp_path / "k2.csv").write_text("id,charge,amount\n", encoding="utf-8")
        read_known(str(tmp_path / "k2.csv"), ["3205"])


def test_the_known_prices_cite_seed_004() -> None:
    """data/ks_dif_existing_2025.csv: Lillestrøm only, every row citing seed 004."""
    known = read_known(EXISTING, ["3205"])
    assert list(known) == ["3205"]
    assert all("seed 004" in k.source for k in known["3205"].values())
    assert sum(k.amount for k in known["3205"].values()) == 1216342  # the seed's total


# ------------------------------------------------------------------ the server


def test_lillestrom_page(server: str) -> None:
    """The state in the URL, rendered on the server for the first paint."""
    status, body, headers = get(server + "?customer=Lillestr%C3%B8m&services=all")
    assert status == 200
    assert "default-src 'none'" in headers["content-security-policy"]
    assert '<a href="/worksheet?customer=3205#charge-digiorden">190\u00a0603</a>' in body
    assert 'id="existing-total">1\u00a0216\u00a0342<' in body


def test_unknown_organisation_and_service_are_4xx(server: str) -> None:
    """404 for an unknown organisation, 400 for an unknown service, the problem on the page."""
    status, body, _ = get(server + "?customer=Atlantis")
    assert status == 404 and "no organisation &#39;Atlantis&#39; in the register" in body
    status, body, _ = get(server + "?customer=3205&services=digisos&services=nope")
    assert status == 400 and "no service &#39;nope&#39;" in body
    assert get(server + "worksheet?customer=3205&model=sideways")[0] == 400
    assert get(server + "worksheet?customer=Atlantis")[0] == 404


def test_only_its_own_pages(server: str) -> None:
    """Nothing but the pages and the two static files; GET only; the Host must be the
    server's (no DNS rebinding)."""
    for path in ("etc/passwd", "static/app.py", "static/../app.py", "static/%2e%2e/app.py",
                 "static/", "worksheet/../../pyproject.toml"):
        assert get(server + path)[0] == 404, path
    assert get(server + "static/calculator.js")[0] == 200
    assert get(server, method="POST")[0] == 405
    assert get(server, headers={"Host": "evil.example"})[0] == 400
    host, port = server.split("//")[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/../../../etc/passwd")
    assert conn.getresponse().status == 404
    conn.close()


def test_register_text_is_escaped(server: str) -> None:
    """A register name ``<script>…</script>`` is text on every page."""
    for path in ("?customer=9999", "", "worksheet?customer=9999"):
        status, body, _ = get(server + path)
        assert status == 200
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# ------------------------------------------------------------------ the static site


def test_site_writes_every_page_and_replaces_only_its_own(tmp_path: Path,
                                                           register: Path) -> None:
    """`takst site` writes the calculator of every organisation with its worksheets;
    a second run replaces it; a folder takst did not write, or one holding an input,
    is refused and left as it is."""
    out = tmp_path / "site"
    args = ("site", TARIFF, "--register", str(register), "--year", "2025",
            "--existing", EXISTING)
    code, text, err = run_here(*args, "--out", str(out))
    assert code == 0, err
    assert "4 organisations" in text
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [".takst-site", "c/0301.html", "c/32.html", "c/3205.html", "c/9999.html",
                     "index.html", "static/calculator.css", "static/calculator.js",
                     "w/0301.html", "w/32.html", "w/3205-known.html", "w/3205.html",
                     "w/9999.html"]
    assert json.loads((out / ".takst-site").read_text(encoding="utf-8"))["organisations"] == 4
    page = (out / "c" / "3205.html").read_text(encoding="utf-8")
    assert 'href="../w/3205.html#charge-digiorden"' in page
    assert '<body data-mode="static">' in page
    assert str(ROOT) not in page and str(tmp_path) not in page  # file names, not where they are
    assert "<script>alert(1)</script>" not in (out / "c" / "9999.html").read_text("utf-8")
    code, _, err = run_here(*args, "--out", str(out))  # again: replaced
    assert code == 0, err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.takst-")]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep", encoding="utf-8")
    code, _, err = run_here(*args, "--out", str(other))
    assert code == 2 and "is not empty and is not a site takst wrote" in err
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep"
    code, _, err = run_here(*args, "--out", str(register.parent))
    assert code == 2 and "is inside it" in err
    assert register.read_text(encoding="utf-8") == SMALL


def test_serve_and_site_need_register_and_year(tmp_path: Path) -> None:
    """Usage errors, no traceback: no --register; no --year; a port in use."""
    code, _, err = run_here("serve", TARIFF)
    assert code == 2 and "--register" in err
    code, _, err = run_here("site", TARIFF, "--register", str(ROOT / "data/norway_2024.csv"),
                            "--out", str(tmp_path / "s"))
    assert code == 2 and "which billing year?" in err


OLD = """\
tariff ks_old "KS DIF, the old model (a test's own)"
  currency NOK
  source "a test"

input population "Innbyggere": inhabitants

charge min_kommune "Min Kommune" every year
  amount 10_000 NOK

charge digisos "Fiks Digisos" every year
  amount 1 NOK per inhabitant * population
"""


def test_existing_prices_from_the_old_tariff(tmp_path: Path, register: Path) -> None:
    """With --old, every organisation's existing prices come from the tariff in force,
    billed over the same register; its services the new tariff lacks are rows too, and
    the worksheet of an existing amount is the old tariff's."""
    old = tmp_path / "old.tariff"
    old.write_text(OLD, encoding="utf-8")
    calc = Calculator(Session(), TARIFF, str(register), 2025, old=str(old), old_year=2024)
    assert [s.charge for s in calc.services][:2] == ["grunnfinansiering", "svarut"]
    assert "min_kommune" in [s.charge for s in calc.services]
    table = calc.table(calc.find("Oslo"), calc.choose(["digisos", "min_kommune", "melding"]))
    rows = {r.charge: r for r in table.rows}
    assert rows["digisos"].existing == 717710 and rows["digisos"].existing_from == "old"
    assert rows["digisos"].change == 322524 - 717710
    assert rows["min_kommune"].new_state == "absent"
    assert rows["melding"].new_service  # the old tariff has no such charge
    from takst.web.app import ServerLinks
    from takst.web.pages import worksheet_page

    page = worksheet_page(calc, numbers("nb"), ServerLinks(), calc.find("Oslo"), "old")
    assert "KS DIF, the old model" in page and "billing year 2024" in page


@pytest.mark.parametrize("command", [
    ["serve", "rules/os2valghalla.tariff", "--register", "data/os2valghalla_demo_2024.csv",
     "--year", "2024"],
    ["site", "rules/os2valghalla.tariff", "--register", "data/os2valghalla_demo_2024.csv",
     "--year", "2024", "--out", "never-written"],
    ["explain", "rules/os2valghalla.tariff", "--register", "data/os2valghalla_demo_2024.csv",
     "--year", "2024", "--customer", "Kolding", "--format", "html"],
])
def test_without_the_web_extra_a_plain_usage_error(command: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With the core install only, serve, site and explain --format html say which extra
    to install (never an internal error), and write nothing."""
    import importlib.util

    real = importlib.util.find_spec

    def without_web(name: str, package: str | None = None) -> object:
        if name.split(".")[0] in ("jinja2", "markupsafe", "starlette", "uvicorn"):
            return None
        return real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_web)
    code, out, err = run(*command)
    assert out == ""
    assert code == 2, err
    assert "needs the web extra" in err and "pip install 'takst[web]'" in err
    assert "internal error" not in err
    assert not (ROOT / "never-written").exists()
