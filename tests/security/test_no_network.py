"""The dashboard server makes no network call of its own: started as the README starts it, it
looks up and connects to nothing but this machine, even when a page on another site tries to
open its WebSocket.

Streamlit, left alone, asks checkip.amazonaws.com for the machine's public address: for its
start-up banner when it listens on every interface, and when it checks the origin of a
cross-site WebSocket (on every attempt while the lookup fails, as it does on a network without
internet access). `python -m ui.serve` turns that lookup off; this test caught all four lookups
when the server was started with plain `streamlit run dashboard.py`.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.pages import served_dashboard
from metrics.keys import copy_database
from tests.netwatch import outside, watched_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_served_dashboard_looks_up_and_connects_to_nothing_outside(demo_db_file, tmp_path):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    db = tmp_path / "demo.duckdb"
    copy_database(demo_db_file, db)
    # as the README starts it: on every interface
    with served_dashboard(
        db, tmp_path / "server.log", timeout=90, env=watched_env(tmp_path, [ROOT]), address=None
    ) as (url, _proc):
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200
        # a page on another site opens the dashboard's WebSocket: refused, having looked up nothing
        with pytest.raises(InvalidStatus) as refused:
            connect(
                url.replace("http://", "ws://") + "/_stcore/stream",
                origin="http://pengintai.example",
                open_timeout=10,
            ).close()
        assert refused.value.response.status_code == 403
        time.sleep(0.5)
    assert outside(tmp_path) == [], (tmp_path / "server.log").read_text()[-2000:]


# --------------------------------------------------------------------------- hostile user text in a browser

# Display name, city name and file name that Markdown would turn into a remote image, a remote
# <img> and links (bare URL, www., e-mail); evidence and a note that a spreadsheet would run.
HOSTILE_NAME = "![x](http://evil.example/n.png) www.evil.example a@evil.example"
HOSTILE_CITY = "Kota ![c](http://evil.example/c.png) <img src=http://evil.example/i.png>"
HOSTILE_FILE = "![f](http://evil.example/f.png) https://evil.example/a.png.csv"
EVIDENCE = '=HYPERLINK("http://evil.example","klik")'
NOTE = "@SUM(1)"


def _hostile_db(demo_db_file, folder: Path) -> Path:
    """The demo database with an admin of city 3299 named HOSTILE_NAME, the city renamed
    HOSTILE_CITY, and OPD 01's 2024 answers sent again as HOSTILE_FILE with formula-like text."""
    from metrics import entry, users
    from metrics.auth import SYSTEM
    from metrics.demo import DEMO_PASSWORD
    from metrics.governance import load_registry_bytes
    from metrics.ingest import ingest_bytes
    from metrics.store import Store
    from tests.conftest import copy_db

    db = copy_db(demo_db_file, folder / "hostile.duckdb")
    store = Store(db)
    try:
        users.add_user(store, SYSTEM, "penguji", DEMO_PASSWORD, "admin", "3299", None, HOSTILE_NAME)
        load_registry_bytes(
            store,
            SYSTEM,
            (
                f"city_code,name,province,category,population\n3299,{HOSTILE_CITY},Jawa Barat,besar,1180000\n"
            ).encode(),
            "kota.csv",
        )
        fm = entry.form(store, SYSTEM, "3299", "01", 2024)
        answers = {
            r["code"]: (r["level"], r["evidence"] or "", r["note"] or "") for r in fm.rows.to_dict("records")
        }
        first = next(iter(answers))
        answers[first] = (answers[first][0], EVIDENCE, NOTE)
        data, _ = entry.form_csv("3299", "01", 2024, answers)
        result = ingest_bytes(store, SYSTEM, data, HOSTILE_FILE)
        assert result.accepted, [p.render("en") for p in result.problems]
    finally:
        store.close()
    return db


def _chromium_or_skip():
    import os

    from benchmarks.pages import CHROMIUM

    ok = CHROMIUM.exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - requirements-dev pins it
        ok = False
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium/playwright missing at {CHROMIUM} (CI=true: the browser test must run)")
        pytest.skip(f"Chromium/playwright missing at {CHROMIUM}")


def _no_markup(page, where: str) -> None:
    """Nothing of the hostile text became an image or a link to it."""
    for selector in ('img[src*="evil"]', 'a[href*="evil"]', 'a[href^="mailto:"]'):
        assert page.locator(selector).count() == 0, f"{selector} on {where}"


@pytest.mark.e2e
@pytest.mark.slow
def test_pages_showing_hostile_names_fetch_nothing_and_tables_export_no_formula(demo_db_file, tmp_path):
    """A served dashboard, Chromium signed in as the admin with the hostile display name: the
    sidebar (every page), the overview (city name), history (file name), verification (evidence),
    audit and administration show the text literally, and neither browser nor server requests
    anything outside. The tables have no toolbar "Download as CSV"; the page's own CSV of the
    verification answers carries the formula-like evidence neutralised."""
    import csv
    import io

    _chromium_or_skip()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    from benchmarks.pages import open_signed_in
    from metrics import i18n
    from metrics.demo import DEMO_PASSWORD

    db = _hostile_db(demo_db_file, tmp_path)
    watch = tmp_path / "watch"
    with served_dashboard(db, tmp_path / "server.log", timeout=90, env=watched_env(watch, [ROOT])) as (
        url,
        _proc,
    ):
        with sync_playwright() as pw:
            browser, page, nav, external = open_signed_in(
                pw, url, "penguji", DEMO_PASSWORD, timeout_ms=60_000, accept_downloads=True
            )
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar).to_contain_text("evil.example/n.png", timeout=30_000)
            shown = sidebar.inner_text().replace("\u2060", "")
            assert HOSTILE_NAME in shown  # literally, joiners aside
            _no_markup(page, "sidebar")

            def visit(page_key: str, title_key: str) -> None:
                nav.get_by_text(i18n.t(page_key, "id"), exact=True).click()
                expect(page.get_by_role("heading", name=i18n.t(title_key, "id"), level=1)).to_be_visible(
                    timeout=60_000
                )
                page.wait_for_timeout(300)
                page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
                page.wait_for_timeout(500)
                _no_markup(page, page_key)

            visit("page.overview", "overview.title")
            assert HOSTILE_CITY in page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
            visit("page.history", "history.title")
            visit("page.audit", "audit.title")
            visit("page.admin", "admin.title")
            visit("page.verify", "verify.title")

            # every answer, the formula-like evidence among them
            page.get_by_text(i18n.t("verify.only_flagged", "id"), exact=True).click()
            page.wait_for_timeout(300)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
            frame = page.locator('[data-testid="stDataFrame"]').first
            frame.hover()
            page.wait_for_timeout(500)
            toolbar = page.locator('[data-testid="stElementToolbar"]').first
            expect(toolbar).to_be_visible(timeout=10_000)  # the toolbar is there (search, fullscreen)...
            assert page.get_by_role("button", name="Download as CSV").count() == 0  # ...without the CSV

            button = page.get_by_role("button", name=i18n.t("table.download", "id")).first
            expect(button).to_be_enabled(timeout=30_000)
            download = None
            for _ in range(3):  # on a busy machine a click during a rerun can be lost: again, once idle
                page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
                try:
                    with page.expect_download(timeout=30_000) as dl:
                        button.click()
                    download = dl.value
                    break
                except PlaywrightTimeout:
                    page.wait_for_timeout(1000)
            assert download is not None, "the table's CSV button gave no download"
            assert download.suggested_filename == "jawaban-3299-2024.csv"
            rows = list(csv.reader(io.StringIO(Path(download.path()).read_bytes().decode("utf-8-sig"))))
            cells = [c for r in rows for c in r]
            assert "'" + EVIDENCE in cells and "'" + NOTE in cells
            assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "@", "\t", "\r"))]
            _no_markup(page, "verify")
            browser.close()
        time.sleep(0.5)
    assert external == [], f"the browser fetched from outside: {external[:5]}"
    assert outside(watch) == [], (tmp_path / "server.log").read_text()[-2000:]
