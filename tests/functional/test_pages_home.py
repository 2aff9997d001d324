"""Every role lands on its home after signing in, and the landing pages work (issue 15, points 3 and 8)."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from metrics import deadlines
from metrics.auth import SYSTEM
from metrics.demo import DEMO_PASSWORD
from tests.apptest_support import ROOT, app_store, no_errors, session, t
from ui.shell import Filters

LANDING_TITLES = {  # role account -> the title of the page it lands on
    "opd.kominfo": ("home.title", {"opd": "Dinas Komunikasi dan Informatika"}),
    "admin": ("status.title", {}),
    "penilai": ("verify.title", {}),
    "walikota": ("overview.title", {}),
    "tamu": ("overview.title", {}),
}


def _sign_in(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "id"
    at.run()
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_pw").input(DEMO_PASSWORD)
    next(b for b in at.button if b.label == t("login.submit")).click()
    return at.run()


@pytest.mark.parametrize("name", list(LANDING_TITLES))
def test_signing_in_lands_on_the_roles_home(app_db, name):
    at = _sign_in(name)
    no_errors(at)
    key, params = LANDING_TITLES[name]
    titles = [x.value for x in at.title]
    assert t(key, **params).replace("\\", "") in [x.replace("\\", "") for x in titles], (name, titles)
    assert t("login.title") not in titles  # never the sign-in page again with a lone "Keluar"


def _page(path, name: str, page: str, city="3299", year=2024) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    at.session_state["session"] = session(path, name)
    at.session_state["lang"] = "id"
    at.session_state["filters"] = Filters(city, year, None, None)
    return at.run()


def test_opd_home_shows_status_countdown_and_one_next_action(app_db):
    store = app_store(app_db)
    today = deadlines.city_today(store, "3299")
    deadlines.set_deadline(store, SYSTEM, None, 2024, date.fromordinal(today.toordinal() + 9))
    at = _page(app_db, "opd.kominfo", "home.py")
    no_errors(at)
    labels = {m.label: m.value for m in at.metric}
    assert labels[t("home.answered")].endswith("/ 22")
    assert t("home.days_left", n=9) in [m.proto.delta for m in at.metric]
    nexts = [b for b in at.button if b.key == "home_next"]
    assert len(nexts) == 1 and nexts[0].label in {t(f"home.action.{a}", n=0) for a in ("upload", "done")} | {
        t("home.action.complete", n=n) for n in range(1, 23)
    }


def test_status_board_lists_overdue_opds_and_nobody_answers(app_db):
    store = app_store(app_db)
    deadlines.set_deadline(store, SYSTEM, "7399", 2024, date(2024, 3, 31))
    at = _page(app_db, "admin", "status.py", city="7399")
    no_errors(at)
    assert at.title[0].value == t("status.title")
    # the demo's Kabupaten Lembah Hijau has three indicators with no OPD of their type
    assert any(w.value.startswith(t("orphans.warning", n=3)[:20]) for w in at.warning)
    assert {m.label for m in at.metric} >= {t("status.overdue_n"), t("compl.on_time_rate")}
    overdue = next(m for m in at.metric if m.label == t("status.overdue_n"))
    assert int(overdue.value) > 0
    assert [b.label for b in at.get("download_button")][:2] == [t("status.pdf"), t("status.xlsx")]


def test_completeness_and_overview_flag_indicators_nobody_answers(app_db):
    for page in ("completeness.py", "overview.py"):
        at = _page(app_db, "walikota", page, city="7399")
        no_errors(at)
        assert any(t("orphans.warning", n=3)[:40] in w.value for w in at.warning), page
    at = _page(app_db, "walikota", "completeness.py", city="7399")
    assert t("compl.on_time_rate") in [m.label for m in at.metric]
