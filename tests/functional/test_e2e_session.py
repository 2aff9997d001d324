"""A sign-in survives a reload, a new tab and a page URL opened directly; a sign-out ends it in
every tab (issue 15, point 2). Headless Chromium against `python -m ui.serve`.

The server is fresh, so the first request, straight to /admin, is also the one Streamlit used to
run as a legacy `pages/` app without the router: it must get the sign-in form, and signing in
there must land on /admin. The session cookie must be HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import pytest

from benchmarks.pages import CHROMIUM, CHROMIUM_ARGS, served_dashboard
from metrics import i18n
from metrics.demo import DEMO_PASSWORD
from metrics.keys import copy_database
from ui.asgi import COOKIE

pytestmark = pytest.mark.e2e

ADMIN_TITLE = i18n.t("admin.title", "id")
AUDIT_TITLE = i18n.t("audit.title", "id")
LOGIN_TITLE = i18n.t("login.title", "id")


@pytest.fixture(scope="module")
def served(demo_db_file, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    db = tmp_path_factory.mktemp("sess") / "demo.duckdb"
    copy_database(demo_db_file, db)
    with served_dashboard(db, tmp_path_factory.mktemp("sess-log") / "streamlit.log", timeout=60) as (url, _p):
        yield url


def _title(page, text: str, timeout: int = 60_000):
    from playwright.sync_api import expect

    expect(page.locator("h1").filter(has_text=text).first).to_be_visible(timeout=timeout)


def _sign_in(page, username: str) -> None:
    page.get_by_label(i18n.t("login.username", "id")).fill(username)
    page.get_by_label(i18n.t("login.password", "id")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=i18n.t("login.submit", "id")).click()


def _session_cookie(context):
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def test_reload_new_tab_and_direct_url_keep_the_sign_in_and_logout_ends_it_everywhere(served):
    from playwright.sync_api import expect, sync_playwright

    url = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
            one = context.new_page()
            # the first request after the start goes straight to a page URL: the router's sign-in
            one.goto(url + "/admin", wait_until="domcontentloaded")
            _title(one, LOGIN_TITLE)
            expect(one.get_by_text("Page not found")).to_have_count(0)
            _sign_in(one, "admin")
            _title(one, ADMIN_TITLE)  # landed on the page the URL named
            assert one.url.rstrip("/").endswith("/admin")

            # the cookie is set by the server, unreadable by scripts, strict about other sites
            for _ in range(50):
                cookie = _session_cookie(context)
                if cookie:
                    break
                one.wait_for_timeout(200)
            assert cookie is not None, context.cookies()
            assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
            assert len(cookie["value"]) >= 22  # >= 128 bits, url-safe base64
            assert COOKIE not in one.evaluate("() => document.cookie")
            assert cookie["value"] not in one.url

            one.reload(wait_until="domcontentloaded")
            _title(one, ADMIN_TITLE)  # still signed in, still on the same page
            signed_in = i18n.t("login.signed_in_as", "id").split("**")[0].strip()  # "Masuk sebagai"
            expect(one.locator('[data-testid="stSidebar"]').get_by_text(signed_in)).to_be_visible()

            two = context.new_page()
            two.goto(url + "/audit", wait_until="domcontentloaded")
            _title(two, AUDIT_TITLE)  # a second tab on another page: signed in too
            expect(two.locator('[data-testid="stSidebar"]').get_by_text(signed_in)).to_be_visible()

            # sign out in the first tab
            one.goto(url + "/masuk", wait_until="domcontentloaded")
            one.get_by_role("button", name=i18n.t("login.logout", "id")).click()
            expect(one.get_by_label(i18n.t("login.password", "id"))).to_be_visible(timeout=60_000)
            for _ in range(50):
                if _session_cookie(context) is None:
                    break
                one.wait_for_timeout(200)
            assert _session_cookie(context) is None  # the browser dropped it

            # the second tab is signed out at its next interaction (no reload)
            nav = two.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text(i18n.t("page.account", "id"), exact=True).click()
            expect(two.get_by_label(i18n.t("login.password", "id"))).to_be_visible(timeout=60_000)
            expect(
                two.locator('[data-testid="stSidebarNav"]').get_by_text(
                    i18n.t("page.admin", "id"), exact=True
                )
            ).to_have_count(0)
            two.reload(wait_until="domcontentloaded")
            expect(two.get_by_label(i18n.t("login.password", "id"))).to_be_visible(timeout=60_000)
        finally:
            browser.close()
