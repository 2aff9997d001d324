"""The OPD operator's whole journey in headless Chromium (issue 15, "Done when").

opd.kominfo signs in and lands on Beranda OPD; goes to Unggah, downloads the pre-filled template,
keeps only three answers (a partial file: the version in force answers all 22 indicators), uploads
it through the real file input, sees the answers the file lacks before anything is stored, keeps
the default choice (merge) and confirms: accepted. A reload keeps the sign-in (the session
cookie). Then a complete file goes the same way with no preview.

Every user action from the signed-in home to the accepted upload (clicks, file choices, the
confirmation; not filling the workbook offline) is counted: the issue asks for at most 4. The
server runs under tests/netwatch.py: neither it nor the browser may reach outside this machine.
Screenshots: test-output/screenshots/journey-{home,preview,accepted}.png.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from benchmarks.pages import open_signed_in, served_dashboard
from metrics import entry, i18n, users
from metrics import templates as tpl
from metrics.demo import DEMO_PASSWORD
from metrics.keys import copy_database
from metrics.store import Store
from tests.functional.test_e2e_browser import SHOTS, _assert_no_error, _screenshot, _wait_idle, chromium  # noqa: F401
from tests.netwatch import outside, watched_env

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, CITY, OPD, YEAR = "opd.kominfo", "3299", "01", 2024
KEEP = 3  # answers the partial file keeps; the others are emptied
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ACTIONS = 4  # the issue: from the signed-in home to an accepted upload

pytestmark = pytest.mark.e2e


def L(key: str, **kw) -> str:
    """A label of the Indonesian UI, from the catalogue."""
    text = i18n.t(key, "id")
    return text.format(**kw) if kw else text


@pytest.fixture(scope="module")
def journey_app(chromium, demo_db_file, tmp_path_factory):  # noqa: F811 - the shared fixture
    """A private demo DB copy served by `python -m ui.serve`, its network use watched; and what the
    operator's OPD looks like before the journey (name, display name, indicators in force)."""
    db = tmp_path_factory.mktemp("journey") / "demo.duckdb"
    copy_database(demo_db_file, db)
    store = Store(db)
    user = users.get_user(store, ACCOUNT)
    opd_name = next(o.name for o in store.opds(CITY) if o.opd_code == OPD)
    n_codes = len(_answer_rows(entry.template(store, user, CITY, OPD, YEAR).data))
    store.close()
    watch = tmp_path_factory.mktemp("journey-net")
    with served_dashboard(
        db,
        tmp_path_factory.mktemp("journey-log") / "streamlit.log",
        timeout=60,
        env=watched_env(watch, [ROOT]),
    ) as (url, _proc):
        yield url, watch, opd_name, user.display_name, n_codes


def _answer_rows(data: bytes) -> list[str]:
    """The indicator codes of the template's answer rows, in order."""
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data))[tpl.SHEET]
    out = []
    row = tpl.FIRST_DATA_ROW
    while code := ws.cell(row, tpl.COL_INDEX["indicator_code"] + 1).value:
        out.append(str(code))
        row += 1
    return out


def _partial(data: bytes, keep: int) -> tuple[bytes, list[str]]:
    """The template with every answer after the first `keep` rows emptied (level, evidence and note,
    as an operator deleting them would): (the file, the codes it no longer answers)."""
    from openpyxl import load_workbook

    codes = _answer_rows(data)
    wb = load_workbook(io.BytesIO(data))
    ws = wb[tpl.SHEET]
    for n in range(keep, len(codes)):
        for field in ("level", "evidence", "note"):
            ws.cell(tpl.FIRST_DATA_ROW + n, tpl.COL_INDEX[field] + 1).value = None
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), codes[keep:]


def test_opd_operator_merges_a_partial_upload_and_stays_signed_in(journey_app, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, watch, opd_name, display_name, n_codes = journey_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, nav, external = open_signed_in(
            pw, url, ACCOUNT, DEMO_PASSWORD, chromium, 60_000, accept_downloads=True
        )
        try:
            title = page.locator('[data-testid="stHeading"] h1').first
            uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
            success = page.locator('[data-testid="stAlertContentSuccess"]')
            warning = page.locator('[data-testid="stAlertContentWarning"]')

            def at_home() -> None:
                expect(title).to_have_text(L("home.title", opd=opd_name), timeout=60_000)
                _wait_idle(page)
                _assert_no_error(page, "home")

            def download(actions: list[str]) -> bytes:
                with page.expect_download(timeout=30_000) as dl:
                    actions.append("download the template")
                    page.get_by_role("button", name=L("upload.download_template")).click()
                assert dl.value.suggested_filename == f"penilaian_{CITY}_{OPD}_{YEAR}.xlsx"
                return Path(dl.value.path()).read_bytes()

            def to_upload(actions: list[str]) -> None:
                # the demo OPD has answered everything, so the home's next action is its history;
                # Unggah is one click away in the sidebar
                actions.append("open Unggah")
                nav.get_by_text(L("page.upload"), exact=True).click()
                expect(title).to_have_text(L("upload.title"), timeout=60_000)
                _wait_idle(page)
                _assert_no_error(page, "upload")

            def choose_file(actions: list[str], name: str, data: bytes) -> None:
                actions.append(f"choose {name}")
                uploader.set_input_files(files=[{"name": name, "buffer": data, "mimeType": XLSX}])

            # --- signed in: the OPD's home, with its status and one next action
            at_home()
            expect(nav.get_by_text(L("page.home"), exact=True)).to_be_visible()
            expect(page.get_by_text(L("home.answered"), exact=True)).to_be_visible()
            expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text(f"{n_codes} / {n_codes}")
            expect(page.get_by_role("button", name=L("home.action.done"))).to_be_visible()
            _screenshot(page, "journey-home")

            # --- a partial file: home -> Unggah -> template -> file -> preview -> merge -> confirm
            partial_actions: list[str] = []
            to_upload(partial_actions)
            data, dropped = _partial(download(partial_actions), KEEP)
            assert len(dropped) == n_codes - KEEP > 0
            choose_file(partial_actions, "isian-sebagian.xlsx", data)

            # nothing is stored yet: the page shows what the file lacks, merge chosen by default
            expect(warning).to_contain_text(
                L("upload.drops", file="isian-sebagian.xlsx", n=len(dropped)), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "upload (preview)")
            expect(page.get_by_text(L("upload.dropped_title"), exact=True)).to_be_visible()
            dropped_table = page.locator(
                '[data-testid="stDataFrame"]:visible'
            ).first  # the others are in closed expanders
            expect(dropped_table).to_be_visible()
            # the grid is drawn on a canvas; the accessible table inside it carries the cells (sorted by
            # code, the rows in view): one row per dropped answer, the first dropped code among them
            grid = dropped_table.locator('table[role="grid"]')
            expect(grid).to_have_attribute("aria-rowcount", str(len(dropped) + 1), timeout=30_000)
            first = min(dropped)
            expect(
                grid.locator('td[role="gridcell"]').filter(has_text=re.compile(f"^{re.escape(first)}$"))
            ).to_have_count(1)
            # the index effect of each choice, numbers written the Indonesian way (2,87), as on the
            # accepted screen
            effect = page.locator('[data-testid="stDataFrame"]:visible').nth(1).locator('td[role="gridcell"]')
            expect(effect.filter(has_text=re.compile(r"^\d+,\d\d$")).first).to_be_attached(timeout=30_000)
            expect(effect.filter(has_text=re.compile(r"^\d+\.\d\d$"))).to_have_count(0)
            merge = page.get_by_role("radio", name=L("upload.mode.merge"))
            expect(merge).to_be_checked()
            expect(page.get_by_role("radio", name=L("upload.mode.replace"))).not_to_be_checked()
            expect(success).to_have_count(0)
            _screenshot(page, "journey-preview")

            partial_actions.append("confirm (merge)")
            page.get_by_role("button", name=L("upload.confirm")).click()
            expect(success).to_contain_text(
                L("upload.accepted", file="isian-sebagian.xlsx", n=1), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "upload (accepted)")
            # merged: the answers the file lacked stay in force
            expect(
                page.get_by_text(L("upload.stored_mode.merge", carried=len(dropped), dropped=0))
            ).to_be_visible()
            expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text(f"{n_codes} / {n_codes}")
            _screenshot(page, "journey-accepted")
            assert len(partial_actions) <= MAX_ACTIONS, partial_actions

            # --- a reload keeps the sign-in and the page
            page.reload(wait_until="domcontentloaded")
            expect(title).to_have_text(L("upload.title"), timeout=60_000)
            _wait_idle(page)
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar.get_by_text(display_name)).to_be_visible()
            for key in ("page.home", "page.upload", "page.entry", "page.history"):
                expect(nav.get_by_text(L(key), exact=True)).to_be_visible()
            expect(page.get_by_label(L("login.password"))).to_have_count(0)

            # --- a complete file drops nothing: no preview, accepted at once
            nav.get_by_text(L("page.home"), exact=True).click()  # back to the start of the count
            at_home()
            full_actions: list[str] = []
            to_upload(full_actions)
            complete = download(full_actions)
            assert len(_answer_rows(complete)) == n_codes
            choose_file(full_actions, "isian-lengkap.xlsx", complete)
            expect(success).to_contain_text(
                L("upload.accepted", file="isian-lengkap.xlsx", n=1), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "upload (complete file)")
            expect(warning).to_have_count(0)
            assert len(full_actions) <= MAX_ACTIONS, full_actions
            assert len(partial_actions) == len(full_actions) + 1  # the one confirmation of the merge
            print(
                f"\nactions from the signed-in home: partial file with merge {len(partial_actions)} "
                f"{partial_actions}; complete file {len(full_actions)} {full_actions}"
            )
        finally:
            browser.close()
    assert external == [], f"the browser fetched from the network: {external[:5]}"
    assert outside(watch) == [], "the dashboard server called outside this machine"
