"""The report card page through the real router (dashboard.py) with streamlit.testing's AppTest.

The page's download buttons get their files from the core only when clicked (deferred data).
AppTest has no click for a download, so the test records the callables the page registers with
Streamlit's media file manager and runs them, which is what the server does when the browser
asks for the file: the XLSX must hold no formula cell, the PDF must be a PDF, and each download
writes exactly one audit row while merely opening the page writes none.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from metrics.demo import YEARS
from metrics.store import Store
from tests.apptest_support import session, t

ROOT = Path(__file__).resolve().parents[2]
CITY, YEAR = "3299", YEARS[-1]


@pytest.fixture
def deferred(monkeypatch) -> dict:
    """file name -> the callable a download button registered (what a click would run)."""
    seen: dict = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return seen


def run_report(path: Path, username: str, lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("pages/report.py")
    at.run()
    return at


def export_rows(path: Path) -> list[tuple]:
    store = Store(path)
    try:
        return [(r.username, r.object) for r in store.audit_rows() if r.action == "export"]
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["id", "en"])
def test_executive_gets_both_downloads_in_the_ui_language(app_db, deferred, lang):
    at = run_report(app_db, "walikota", lang)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == t("report.title", lang)
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels == [t("report.download_pdf", lang), t("report.download_xlsx", lang)]
    pdf_name, xlsx_name = f"rapor_{CITY}_{YEAR}_{lang}.pdf", f"angka_{CITY}_{YEAR}_{lang}.xlsx"
    assert set(deferred) == {pdf_name, xlsx_name}
    # opening the page exported nothing
    assert export_rows(app_db) == []

    # "click": run what the server runs for each button
    xlsx = deferred[xlsx_name]()
    wb = load_workbook(io.BytesIO(xlsx))
    sheets = wb.sheetnames
    assert sheets == (["Indeks", "OPD", "Indikator"] if lang == "id" else ["Index", "OPD", "Indicators"])
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert wb["OPD"].max_row > 10  # the city's OPDs are there
    pdf = deferred[pdf_name]()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
    # each download audited once, as the signed-in user, for the city and year shown
    assert export_rows(app_db) == [
        ("walikota", f"scores:{YEAR}/{CITY}"),
        ("walikota", f"reportcard:{YEAR}/{CITY}"),
    ]


def test_roles_without_export_do_not_get_the_page(app_db):
    for username in ("opd.kominfo", "tamu"):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.session_state["session"] = session(app_db, username)
        at.run()
        assert not at.exception
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("pages/report.py")
        at.switch_page("pages/overview.py")  # control: a page the role may use is registered
