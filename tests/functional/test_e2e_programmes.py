"""The programme register and the citizen survey in headless Chromium (issue 17, "Done when").

Against `python -m ui.serve` on a demo copy holding the small register of
tests/functional/test_pages_programmes.py and a planner of Kota Sukamaju:

* the planner signs in, lands on Program, opens the browser editor, adds a programme row by
  typing into the grid (the data editor is a canvas: its cells are reached by position and edited
  with the keyboard, as a person does) and saves: a new register version holds it;
* the OPD operator of Diskominfo opens Program, records a status for its programme with evidence
  on the status form: stored with its name;
* the admin opens Survei warga, chooses a survey export through the real file input, keeps the
  mapping the page offers (the programme column and the two questions) and imports it: the
  respondents per programme are shown and stored.

The server runs under tests/netwatch.py: neither it nor the browser may reach outside this machine.
Screenshots: test-output/screenshots/programmes-{editor,status,survey}.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.pages import open_signed_in, served_dashboard
from metrics import i18n, users
from metrics.auth import SYSTEM
from metrics.demo import DEMO_PASSWORD
from metrics.keys import copy_database
from metrics.store import Store
from tests.functional.test_e2e_browser import SHOTS, _assert_no_error, _screenshot, _wait_idle, chromium  # noqa: F401
from tests.functional.test_pages_programmes import CITY, PLANNER, YEAR, register
from tests.netwatch import outside, watched_env

ROOT = Path(__file__).resolve().parents[2]
NEW_ROW = {  # the editor's columns, in order (programmes.EDITOR_COLUMNS)
    "kode": "PRG-05",
    "nama": "Sistem informasi pasar",
    "pilar": "ECO",
    "jenis": "quickwin",
    "opd": "01",
    "tahun_mulai": "2024",
    "tahun_selesai": "2025",
}
ROW_HEIGHT = 35  # Streamlit's data grid: header and rows
SURVEY = (
    "Timestamp,Kode program,Q1 Kemudahan layanan,Q2 Manfaat bagi warga\n"
    + "".join(f"2024/05/0{1 + n % 9} 10:00:00,PRG-01,4,5\n" for n in range(3))
    + "2024/06/10 09:00:00,PRG-02,2,3\n"
).encode()

pytestmark = pytest.mark.e2e


def L(key: str, **kw) -> str:
    """A label of the Indonesian UI, from the catalogue."""
    return i18n.t(key, "id", **kw)


@pytest.fixture(scope="module")
def programmes_app(chromium, demo_db_file, tmp_path_factory):  # noqa: F811 - the shared fixture
    """A demo DB copy with the test register and a planner, served with its network use watched."""
    db = tmp_path_factory.mktemp("programmes") / "demo.duckdb"
    copy_database(demo_db_file, db)
    store = Store(db)
    dinkes = users.get_user(store, "opd.dinkes").opd_code
    with store.transaction() as cur:
        store.insert_programme_version(cur, CITY, register(dinkes), SYSTEM.username, "load", "awal.xlsx")
    if users.get_user(store, PLANNER) is None:
        users.add_user(store, SYSTEM, PLANNER, DEMO_PASSWORD, "planner", CITY, None, "Bappeda Sukamaju")
    store.checkpoint()
    store.close()
    watch = tmp_path_factory.mktemp("programmes-net")
    with served_dashboard(
        db,
        tmp_path_factory.mktemp("programmes-log") / "streamlit.log",
        timeout=60,
        env=watched_env(watch, [ROOT]),
    ) as (url, _proc):
        yield url, watch
    assert outside(watch) == [], "the dashboard server called outside this machine"


def _cells(page, table) -> list[str]:
    """The text of every cell of a data grid (drawn on a canvas; its accessible table holds them)."""
    from playwright.sync_api import expect

    grid = table.locator('table[role="grid"]')
    expect(grid).to_be_attached(timeout=30_000)
    return grid.locator('td[role="gridcell"]').all_inner_texts()


def _saved_pattern(key: str, **kw) -> re.Pattern:
    """A catalogue sentence with its version number left open ("versi #12")."""
    return re.compile(re.escape(L(key, id=999999, **kw)).replace("999999", r"\d+"))


def _open_tab(page, label: str) -> None:
    from playwright.sync_api import expect

    tab = page.get_by_role("tab", name=label)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true", timeout=30_000)
    _wait_idle(page)


def _pick(page, label: str, option: str) -> None:
    """Choose `option` in the Streamlit selectbox labelled `label`."""
    from playwright.sync_api import expect

    field = page.get_by_role("combobox", name=label, exact=True)
    field.click()  # a click in the field starts a search; the down arrow opens the whole list
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    expect(field).to_have_value(option)


def _go(page, nav, page_key: str, title_key: str) -> None:
    from playwright.sync_api import expect

    nav.get_by_text(L(page_key), exact=True).click()
    expect(page.locator('[data-testid="stHeading"] h1').first).to_have_text(L(title_key), timeout=60_000)
    _wait_idle(page)
    _assert_no_error(page, page_key)


def test_a_planner_adds_a_programme_in_the_editor(programmes_app, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, _watch = programmes_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, _nav, external = open_signed_in(pw, url, PLANNER, DEMO_PASSWORD, chromium, 60_000)
        try:
            # the planner's home is the register
            expect(page.locator('[data-testid="stHeading"] h1').first).to_have_text(
                L("programmes.page.title"), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "programmes")
            _open_tab(page, L("programmes.page.tab_editor"))
            editor = page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first
            expect(editor).to_be_visible()
            editor.scroll_into_view_if_needed()
            editor.hover()
            # the toolbar floats over the grid's top edge, which takes the pointer: click it directly
            editor.get_by_role("button", name="Add row").dispatch_event("click")
            _wait_idle(page)
            # the new row is the fifth under the header; its first cell (after the row marker)
            box = editor.bounding_box()
            page.mouse.click(box["x"] + 70, box["y"] + ROW_HEIGHT + 4 * ROW_HEIGHT + ROW_HEIGHT / 2)
            page.wait_for_timeout(300)
            for value in NEW_ROW.values():
                page.keyboard.press("Enter")  # open the cell's editor
                page.wait_for_timeout(250)
                page.keyboard.type(value, delay=20)
                page.wait_for_timeout(200)
                page.keyboard.press("Tab")  # keep it, go to the next column
                page.wait_for_timeout(300)
            _wait_idle(page)
            page.get_by_role("button", name=L("programmes.page.save")).click()
            expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
                _saved_pattern("programmes.page.saved", n=5), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "programmes (saved)")
            _screenshot(page, "programmes-editor")
            # the new version: PRG-05 planned this year, on the list and in the history as an edit
            _open_tab(page, L("programmes.page.tab_list"))
            listed = _cells(page, page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first)
            assert "PRG-05" in listed and "Sistem informasi pasar" in listed
            _open_tab(page, L("programmes.page.tab_versions"))
            history = _cells(
                page, page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first
            )
            assert L("programmes.page.change.edit") in history and PLANNER in history
        finally:
            browser.close()
    assert external == [], f"the browser fetched from the network: {external[:5]}"


def test_an_opd_operator_updates_its_programme_status(programmes_app, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, _watch = programmes_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, nav, external = open_signed_in(pw, url, "opd.kominfo", DEMO_PASSWORD, chromium, 60_000)
        try:
            _go(page, nav, "page.programmes", "programmes.page.title")
            expect(page.get_by_role("tab", name=L("programmes.page.tab_editor"))).to_have_count(0)
            _open_tab(page, L("programmes.page.tab_status"))
            _pick(page, L("programmes.page.status_programme"), "PRG-02 · Satu data kota")
            _pick(page, L("programmes.page.status.col"), L("programmes.page.status.berjalan"))
            page.get_by_label(L("programmes.page.status_evidence"), exact=True).fill(
                "https://data.sukamaju.go.id/satu-data"
            )
            page.get_by_role("button", name=L("programmes.page.status_submit")).click()
            expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
                L(
                    "programmes.page.status_saved",
                    code="PRG-02",
                    status=L("programmes.page.status.berjalan"),
                    year=YEAR,
                ),
                timeout=60_000,
            )
            _wait_idle(page)
            _assert_no_error(page, "programmes (status)")
            _screenshot(page, "programmes-status")
            # the OPD's list on the tab now reads Berjalan for PRG-02, with its evidence
            mine = _cells(page, page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first)
            row = mine[mine.index("PRG-02") :]
            assert L("programmes.page.status.berjalan") in row[:8]
            assert "https://data.sukamaju.go.id/satu-data" in mine
        finally:
            browser.close()
    assert external == [], f"the browser fetched from the network: {external[:5]}"


def test_an_admin_imports_a_survey_export(programmes_app, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, _watch = programmes_app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, nav, external = open_signed_in(pw, url, "admin", DEMO_PASSWORD, chromium, 60_000)
        try:
            _go(page, nav, "page.survey", "survey.page.title")
            _pick(page, L("filter.city"), "Kota Sukamaju")
            _wait_idle(page)
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                files=[{"name": "survei-warga.csv", "buffer": SURVEY, "mimeType": "text/csv"}]
            )
            expect(page.get_by_text(L("survey.page.read", rows=4, cols=4))).to_be_visible(timeout=60_000)
            _wait_idle(page)
            # the mapping the core offers: the code column by its name, the two 1-5 questions
            main = page.locator('[data-testid="stMain"]')
            expect(
                main.get_by_role("combobox", name=L("survey.page.programme_column"), exact=True)
            ).to_have_value("Kode program")
            questions = main.locator('[data-testid="stMultiSelect"]').first
            expect(questions).to_contain_text("Q1 Kemudahan layanan")
            expect(questions).to_contain_text("Q2 Manfaat bagi warga")
            page.get_by_role("button", name=L("survey.page.submit")).click()
            expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
                L("survey.page.imported", file="survei-warga.csv", rows=4, n=2), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "survey (imported)")
            # the import in force: 2 programmes; PRG-01 3 respondents (27 / 6 answers: mean 4.5,
            # impact 3.5), PRG-02 1 respondent (5 / 2: mean 2.5, impact 1.5); both under the minimum
            expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("2")
            result = _cells(page, page.locator('[data-testid="stDataFrame"]').first)
            first, second = result[result.index("PRG-01") :], result[result.index("PRG-02") :]
            # (the grid's accessible cells carry the values; the canvas draws them as 4,50)
            assert first[2:6] == ["01", "3", "4.5", "3.5"], first
            assert second[2:6] == ["01", "1", "2.5", "1.5"], second
            _screenshot(page, "programmes-survey")
        finally:
            browser.close()
    assert external == [], f"the browser fetched from the network: {external[:5]}"
