"""End to end in a real browser: the dashboard served by `python -m ui.serve`, driven by headless Chromium.

This is what AppTest cannot show: that the pages render in a browser (plotly charts drawn from
Streamlit's bundled JavaScript, no network), that sign-in and the sidebar navigation work, and
that no page shows an exception or an error box; and that neither the browser nor the server
reached anything outside this machine meanwhile (the server under tests/netwatch.py's hook). A
screenshot of every page is saved under test-output/screenshots/ for people to look at.

Chromium is Debian's package (/usr/bin/chromium) driven by Playwright's Python package; no
browser is downloaded. Without Chromium the test is skipped locally, but fails under CI=true.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.pages import CHROMIUM, open_signed_in, served_dashboard
from metrics import i18n, scoring
from metrics.demo import DEMO_PASSWORD
from metrics.formatting import number
from metrics.keys import copy_database
from metrics.store import Store
from tests.netwatch import outside, watched_env

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
CITY, YEAR = "3299", 2024  # the demo mayor's office (walikota) city and the latest demo year
READ_PAGES = ("overview", "rankings", "compare", "drilldown", "completeness", "matrix")
PAGE_TITLE = {
    "overview": "overview.title",
    "rankings": "rankings.title",
    "compare": "compare.title",
    "drilldown": "drill.title",
    "completeness": "compl.title",
    "matrix": "matrix.title",
}

pytestmark = pytest.mark.e2e


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: the browser test must run, not skip)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium, checked before the app is started (skip locally, fail under CI=true)."""
    _need(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - requirements-dev pins it
        _need(False, "the playwright Python package is not installed")
    return CHROMIUM


@pytest.fixture(scope="module")
def served_app(demo_db_file, tmp_path_factory):
    """A demo DB copy served by `python -m ui.serve` on a free local port, its network use watched."""
    db = tmp_path_factory.mktemp("e2e") / "demo.duckdb"
    copy_database(demo_db_file, db)
    store = Store(db)  # the expected numbers, read before the server takes the file
    expected = scoring.city_score(store, CITY, YEAR)
    store.close()
    watch = tmp_path_factory.mktemp("e2e-net")
    with served_dashboard(
        db, tmp_path_factory.mktemp("e2e-log") / "streamlit.log", timeout=60, env=watched_env(watch, [ROOT])
    ) as (url, _proc):
        yield url, expected, watch


def _assert_no_error(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception shown on {where}"
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"error box shown on {where}"


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run (the 'running' status widget is gone)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=30_000)


def _screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main container, so grow the viewport to fit it."""
    for _ in range(3):  # content can grow once the taller viewport lets tables and charts lay out
        page.wait_for_timeout(500)
        height = page.evaluate(
            '() => Math.max(1000, ...[...document.querySelectorAll(\'[data-testid="stMain"], '
            '[data-testid="stMainBlockContainer"]\')].map(e => e.scrollHeight))'
        )
        page.set_viewport_size({"width": 1440, "height": min(int(height) + 80, 12_000)})
    page.wait_for_timeout(400)  # plotly re-lays out on resize
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_read_pages_render_in_chromium(chromium, served_app):
    from playwright.sync_api import expect, sync_playwright

    url, expected, watch = served_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, nav, external = open_signed_in(
            pw, url, "walikota", DEMO_PASSWORD, chromium, 30_000
        )  # the mayor's office

        for name in READ_PAGES:
            title_key = {"drilldown": "page.drilldown"}.get(name, f"page.{name}")
            nav.get_by_text(i18n.t(title_key, "id"), exact=True).click()
            expect(page.get_by_role("heading", name=i18n.t(PAGE_TITLE[name], "id"), level=1)).to_be_visible(
                timeout=30_000
            )
            _wait_idle(page)
            expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
            value = page.locator('[data-testid="stMetricValue"]').first
            expect(value).to_be_visible(timeout=30_000)
            text = value.inner_text().strip()
            assert text and text != "–", f"main number missing on {name}"
            if name in ("overview", "drilldown", "matrix"):
                # the Indonesian UI writes the decimal comma (3,48): metrics.formatting
                assert text == number(expected.index, "id") == f"{expected.index:.2f}".replace(".", ","), (
                    name,
                    text,
                    expected.index,
                )
            _assert_no_error(page, name)
            _screenshot(page, name)
            if name == "rankings":  # the national table sits in the second tab
                page.get_by_role("tab", name=i18n.t("rankings.tab_city", "id")).click()
                expect(page.locator('[data-testid="stDataFrame"]').nth(1)).to_be_visible(timeout=30_000)
                _assert_no_error(page, "rankings (cities)")
                _screenshot(page, "rankings-cities")

        # the English switch keeps the signed-in session and the page
        page.get_by_text("English", exact=True).click()
        last_title = i18n.t(PAGE_TITLE[READ_PAGES[-1]], "en")
        expect(page.get_by_role("heading", name=last_title, level=1)).to_be_visible(timeout=30_000)
        nav.get_by_text(i18n.t("page.overview", "en"), exact=True).click()
        expect(page.get_by_role("heading", name=i18n.t("overview.title", "en"), level=1)).to_be_visible(
            timeout=30_000
        )
        _wait_idle(page)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        _assert_no_error(page, "overview (en)")
        _screenshot(page, "overview-en")
        browser.close()
    assert external == [], f"the dashboard fetched from the network: {external[:5]}"
    assert outside(watch) == [], "the dashboard server called outside this machine"


def test_opd_operator_uploads_a_filled_template(chromium, served_app):
    """opd.kominfo signs in, downloads the template from the Upload page, fills in one level and
    uploads it through the real file input; the page says it was accepted."""
    import io

    from openpyxl import load_workbook
    from playwright.sync_api import expect, sync_playwright

    from metrics import templates as tpl

    url, _, watch = served_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, nav, _ = open_signed_in(
            pw, url, "opd.kominfo", DEMO_PASSWORD, chromium, 30_000, accept_downloads=True
        )
        nav.get_by_text(i18n.t("page.upload", "id"), exact=True).click()
        expect(page.get_by_role("heading", name=i18n.t("upload.title", "id"), level=1)).to_be_visible(
            timeout=30_000
        )
        _wait_idle(page)
        _assert_no_error(page, "upload")

        # the template, downloaded as the operator would, with one level typed in
        with page.expect_download(timeout=30_000) as dl:
            page.get_by_role("button", name=i18n.t("upload.download_template", "id")).click()
        assert dl.value.suggested_filename == f"penilaian_{CITY}_01_{YEAR}.xlsx"
        wb = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))  # saved without an extension
        wb[tpl.SHEET].cell(tpl.FIRST_DATA_ROW, tpl.COL_INDEX["level"] + 1).value = 1
        buf = io.BytesIO()
        wb.save(buf)

        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[
                {
                    "name": "isian-kominfo.xlsx",
                    "buffer": buf.getvalue(),
                    "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                }
            ]
        )
        accepted = i18n.t("upload.accepted", "id").format(file="isian-kominfo.xlsx", n=1)
        expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
            accepted, timeout=30_000
        )
        _wait_idle(page)
        expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("22 / 22")
        _assert_no_error(page, "upload (accepted)")
        _screenshot(page, "upload-accepted")
        browser.close()
    assert outside(watch) == [], "the dashboard server called outside this machine"


WRITE_PAGES = ("upload", "entry", "history", "verify", "admin", "audit", "report")


def test_governance_and_entry_pages_render_for_the_admin(chromium, served_app):
    """The Diskominfo admin opens every data-entry and governance page: each shows its title and
    no error box, and a screenshot of each is kept for people to look at."""
    from playwright.sync_api import expect, sync_playwright

    url, _, watch = served_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, nav, external = open_signed_in(pw, url, "admin", DEMO_PASSWORD, chromium, 30_000)
        for name in WRITE_PAGES:
            nav.get_by_text(i18n.t(f"page.{name}", "id"), exact=True).click()
            expect(page.get_by_role("heading", name=i18n.t(f"{name}.title", "id"), level=1)).to_be_visible(
                timeout=30_000
            )
            _wait_idle(page)
            _assert_no_error(page, name)
            _screenshot(page, f"admin-{name}")
        browser.close()
    assert external == [], f"the dashboard fetched from the network: {external[:5]}"
    assert outside(watch) == [], "the dashboard server called outside this machine"
