"""On a phone (375 px wide) in headless Chromium: each role signs in, lands on its home, and reaches its
pages through the collapsed sidebar (issue 15, point 3). Screenshots go to test-output/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from benchmarks.pages import CHROMIUM, CHROMIUM_ARGS, served_dashboard
from metrics import deadlines, i18n
from metrics.auth import SYSTEM
from metrics.demo import DEMO_PASSWORD
from metrics.keys import copy_database
from metrics.store import Store
from tests.functional.test_e2e_browser import _assert_no_error, _need, _wait_idle
from tests.netwatch import outside, watched_env

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
PHONE = {"width": 375, "height": 812}
DUE_IN = 9  # days from today to the self-assessment deadline set for the demo's open year

pytestmark = pytest.mark.e2e

# account -> (the title it lands on, a page of its own it must reach from the phone's menu and that
# page's title)
JOURNEYS = {
    "opd.kominfo": ("home.title", "page.upload", "upload.title"),
    "admin": ("status.title", "page.admin", "admin.title"),
    "penilai": ("verify.title", "page.overview", "overview.title"),
    "walikota": ("overview.title", "page.completeness", "compl.title"),
}


def L(key: str, **kw) -> str:
    text = i18n.t(key, "id")
    return text.format(**kw) if kw else text


@pytest.fixture(scope="module")
def phone_app(demo_db_file, tmp_path_factory):
    _need(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    db = tmp_path_factory.mktemp("mobile") / "demo.duckdb"
    copy_database(demo_db_file, db)
    store = Store(db)
    today = deadlines.city_today(store, "3299")
    deadlines.set_deadline(store, SYSTEM, None, 2024, today + timedelta(days=DUE_IN))
    store.checkpoint()
    store.close()
    watch = tmp_path_factory.mktemp("mobile-net")
    with served_dashboard(
        db,
        tmp_path_factory.mktemp("mobile-log") / "streamlit.log",
        timeout=60,
        env=watched_env(watch, [ROOT]),
    ) as (url, _proc):
        yield url, watch


@pytest.mark.parametrize("account", list(JOURNEYS))
def test_every_role_lands_home_and_navigates_on_a_phone(phone_app, account):
    from playwright.sync_api import expect, sync_playwright

    url, watch = phone_app
    landing, target, target_title = JOURNEYS[account]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE, locale="id-ID", is_mobile=True, has_touch=True)
            external: list[str] = []
            page.on(
                "request",
                lambda r: external.append(r.url) if not r.url.startswith((url, "data:", "blob:")) else None,
            )
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_label(L("login.username")).fill(account)
            page.get_by_label(L("login.password")).fill(DEMO_PASSWORD)
            page.get_by_role("button", name=L("login.submit")).click()
            # the role's home, not the sign-in page again
            title = page.locator('[data-testid="stHeading"] h1').first
            want = (
                L(landing, opd="Dinas Komunikasi dan Informatika") if landing == "home.title" else L(landing)
            )
            expect(title).to_have_text(want, timeout=60_000)
            _wait_idle(page)
            _assert_no_error(page, f"{account} home")
            if account == "opd.kominfo":  # the countdown and the one next action
                expect(page.get_by_text(L("home.days_left", n=DUE_IN))).to_be_visible()
                assert page.locator('[data-testid="stBaseButton-primary"]').count() >= 1
            # nothing wider than the phone
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, account
            page.screenshot(path=str(SHOTS / f"phone-{account}-home.png"), full_page=False)
            # the sidebar is collapsed on a phone: open it and go to one of the role's pages
            page.locator('[data-testid="stExpandSidebarButton"]').click()
            link = page.locator('[data-testid="stSidebarNav"]').get_by_text(L(target), exact=True)
            expect(link).to_be_visible(timeout=15_000)
            page.screenshot(path=str(SHOTS / f"phone-{account}-menu.png"), full_page=False)
            link.click()
            expect(page.locator('[data-testid="stHeading"] h1').first).to_have_text(
                L(target_title), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, f"{account} {target}")
            page.screenshot(path=str(SHOTS / f"phone-{account}-{target.split('.')[1]}.png"), full_page=False)
            assert external == [], external
        finally:
            browser.close()
    assert outside(watch) == [], outside(watch)
