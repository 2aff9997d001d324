"""Wawancara (issue 18) and the OPD home's "Jadwal wawancara" through AppTest, on a copy of the demo DB.

The assessor fills the scheduling form (date, time in WIB, length, place, OPDs, indicators); the
session is stored with its audit row and listed, and its .ics download (run as the server runs a
deferred download) is a calendar file with the same start in Asia/Jakarta. The assessor then
notes and cancels it from the page. The Diskominfo operator's home lists the session with its
.ics; the mayor's office reads the page without the form; a viewer does not get the page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from metrics import interviews
from metrics.auth import User
from metrics.i18n import t as core_t
from metrics.store import Store
from tests.apptest_support import ROOT, no_errors, session, t
from ui.charts import md_escape
from ui.shell import Filters

CITY, YEAR = "3299", 2024
ASSESSOR = User("penilai", "assessor")


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


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def opd_codes(path: Path) -> dict[str, str]:
    return with_store(path, lambda s: {o.opd_type: o.opd_code for o in s.opds(CITY)})


def run_page(path: Path, username: str, lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = lang
    at.session_state["f_city"] = CITY
    at.run()
    at.switch_page("pages/interviews.py").run()
    return at


def test_an_assessor_schedules_a_session_and_downloads_its_ics(app_db, deferred):
    codes = opd_codes(app_db)
    at = run_page(app_db, "penilai")
    no_errors(at)
    assert at.title[0].value == t("interview.page.title")
    # the demo's two sessions of 2024 are past, each with its calendar file
    assert t("interview.page.past", year=YEAR) in [h.value for h in at.subheader]
    assert {f"wawancara-{CITY}-1.ics", f"wawancara-{CITY}-2.ics"} <= set(deferred)

    at.date_input(key="iv_date").set_value(date(2030, 3, 4))
    at.time_input(key="iv_time").set_value(time(9, 30))
    at.number_input(key="iv_minutes").set_value(60)
    at.text_input(key="iv_place").input("Ruang Rapat Diskominfo")
    at.multiselect(key="iv_opds").set_value([codes["DISKOMINFO"], codes["DINKES"]])
    at.multiselect(key="iv_indicators").set_value(["GOV-01", "LIV-01"])
    next(b for b in at.button if b.label == t("interview.page.submit")).click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("interview.page.scheduled")]

    found = with_store(
        app_db, lambda s: interviews.sessions(s, ASSESSOR, CITY, upcoming_from=datetime(2030, 1, 1))
    )
    assert len(found) == 1
    iv = found[0]
    assert (iv.starts_at, iv.minutes, iv.place, iv.video_link) == (
        datetime(2030, 3, 4, 9, 30),
        60,
        "Ruang Rapat Diskominfo",
        None,
    )
    assert (iv.opd_codes, iv.indicator_codes, iv.created_by) == (
        (codes["DISKOMINFO"], codes["DINKES"]),
        ("GOV-01", "LIV-01"),
        "penilai",
    )
    actions = with_store(app_db, lambda s: [(r.username, r.action) for r in s.audit_rows()][-1])
    assert actions == ("penilai", "interview.schedule")
    assert t("interview.page.upcoming") in [h.value for h in at.subheader]

    # the download, as the server runs it when the browser asks for the file
    data = deferred[f"wawancara-{CITY}-{iv.id}.ics"]()
    ev = Calendar.from_ical(data).walk("VEVENT")[0]
    assert ev.decoded("DTSTART") == datetime(2030, 3, 4, 9, 30, tzinfo=ZoneInfo("Asia/Jakarta"))
    assert ev.decoded("DTEND") == datetime(2030, 3, 4, 10, 30, tzinfo=ZoneInfo("Asia/Jakarta"))
    assert str(ev["LOCATION"]) == "Ruang Rapat Diskominfo"
    assert str(ev["UID"]) == f"interview-{iv.id}@{CITY}.indeks-kota-cerdas"

    # a note with the indicators discussed, then the cancellation, from the session's card
    at.text_area(key=f"iv_note_{iv.id}").input("Perwali masterplan ditunjukkan.")
    at.multiselect(key=f"iv_discussed_{iv.id}").set_value(["GOV-01"])
    at.button(key=f"iv_save_note_{iv.id}").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("interview.page.note_saved")]
    at.button(key=f"iv_cancel_{iv.id}").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("interview.page.cancelled_done")]
    kept = with_store(app_db, lambda s: s.interview(iv.id))
    assert kept is not None and kept.cancelled
    assert [(n.text, n.indicators) for n in interviews.notes_of(kept)] == [
        ("Perwali masterplan ditunjukkan.", ("GOV-01",))
    ]
    assert not [b for b in at.button if b.key == f"iv_cancel_{iv.id}"]  # nothing more to cancel


def test_a_refused_plan_says_why_and_stores_nothing(app_db):
    at = run_page(app_db, "penilai", lang="en")
    at.multiselect(key="iv_opds").set_value([opd_codes(app_db)["DISKOMINFO"]])
    next(b for b in at.button if b.label == t("interview.page.submit", "en")).click().run()
    assert [e.value for e in at.error] == [t("interview.where_required", "en")]
    assert not at.exception
    assert len(with_store(app_db, lambda s: s.interviews(CITY))) == 3  # the demo's


def test_the_opd_home_shows_the_next_session_with_its_ics(app_db, deferred):
    codes = opd_codes(app_db)
    soon = (
        datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None, second=0, microsecond=0)
    )
    soon += timedelta(days=2)
    iid = with_store(
        app_db,
        lambda s: interviews.schedule(
            s, ASSESSOR, CITY, soon, 90, None, "https://meet.example.id/kominfo", [codes["DISKOMINFO"]], []
        ),
    )
    at = AppTest.from_file(str(ROOT / "pages" / "home.py"), default_timeout=60)
    at.session_state["session"] = session(app_db, "opd.kominfo")
    at.session_state["lang"] = "id"
    at.session_state["filters"] = Filters(CITY, YEAR, None, None)
    at.run()
    no_errors(at)
    assert t("interview.home.title") in [h.value for h in at.subheader]
    assert [b.proto.label for b in at.get("download_button")] == [t("interview.page.ics")]
    ev = Calendar.from_ical(deferred[f"wawancara-{CITY}-{iid}.ics"]()).walk("VEVENT")[0]
    assert ev.decoded("DTSTART") == soon.replace(tzinfo=ZoneInfo("Asia/Jakarta"))
    assert str(ev["URL"]) == "https://meet.example.id/kominfo"


def test_the_mayors_office_reads_and_a_viewer_does_not_get_the_page(app_db):
    at = run_page(app_db, "walikota")
    no_errors(at)
    assert at.title[0].value == t("interview.page.title")
    assert not [b for b in at.button if b.label == t("interview.page.submit")]
    assert not [b for b in at.button if (b.key or "").startswith("iv_cancel_")]
    assert len(at.get("download_button")) == 2  # the demo's 2024 sessions, read only
    viewer = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    viewer.session_state["session"] = session(app_db, "tamu")
    viewer.run()
    offered = {
        Path(str(i["script_path"])).name for i in viewer._registered_pages.values() if i.get("script_path")
    }
    assert "interviews.py" not in offered and "overview.py" in offered
    # the file run directly (a bypassed router): the core's refusal, nothing of the page
    direct = AppTest.from_file(str(ROOT / "pages" / "interviews.py"), default_timeout=60)
    direct.session_state["session"] = session(app_db, "tamu")
    direct.session_state["filters"] = Filters(CITY, YEAR, None, None)
    direct.run()
    assert not direct.exception
    assert [e.value for e in direct.error] == [
        core_t(
            "perm.denied",
            "id",
            role="viewer",
            action=md_escape("read_submissions"),
            scope=md_escape(f" ({CITY})"),
        )
    ]
    assert not direct.get("download_button") and not direct.subheader
