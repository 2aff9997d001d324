"""The clarification loop through the pages with AppTest (issue 18, sections 2-3).

On a private copy of the demo database: the assessor (penilai) picks an answer of Dinas Kominfo on
Verifikasi and asks for clarification with a due date; the OPD operator (opd.kominfo) sees the
request with its due date on its home; once past due it is listed on Kelengkapan; the assessor
closes it as verified at a level on Verifikasi.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from metrics import clarify, deadlines, users
from metrics.store import Store
from tests.apptest_support import ROOT, no_errors, session, t
from ui.shell import Filters

CITY, OPD, YEAR = "3299", "01", 2024
QUESTION = "Mohon lampirkan SK Tim Kota Cerdas yang ditandatangani."
SHOWN = "SK Tim Kota Cerdas yang ditandatangani"  # as drawn (markdown punctuation escaped)


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def page(path: Path, username: str, name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = "id"
    at.session_state["filters"] = Filters(CITY, YEAR, None, None)
    return at.run()


def kominfo_code(path: Path) -> str:
    """An indicator Dinas Kominfo answered in the demo's 2024 submission in force."""
    return with_store(path, lambda s: s.answer_rows(YEAR, CITY, OPD)[0]["indicator_code"])


def test_an_assessor_asks_on_verifikasi_and_the_opd_sees_it_on_its_home(app_db):
    code = kominfo_code(app_db)
    today = with_store(app_db, lambda s: deadlines.city_today(s, CITY))
    at = page(app_db, "penilai", "verify.py")
    no_errors(at)
    at.selectbox(key="verify_ev_code").set_value(code).run()
    no_errors(at)
    at.text_area(key="verify_ask_message_0").input(QUESTION)
    at.date_input(key="verify_ask_due_0").set_value(today + timedelta(days=3))
    at.selectbox(key="verify_ask_opd_0").set_value(OPD)
    next(b for b in at.button if b.label == t("clarify.verify.ask")).click().run()
    no_errors(at)
    assert t("clarify.verify.asked", code=code) in [s.value for s in at.success]

    def asked(s: Store):
        return clarify.requests(s, users.get_user(s, "penilai"), CITY, YEAR)

    (c,) = with_store(app_db, asked)
    assert (c.indicator_code, c.opd_code, c.message, c.due, c.status) == (
        code,
        OPD,
        QUESTION,
        today + timedelta(days=3),
        "open",
    )
    # the request now shows on Verifikasi with its exchange
    assert any(SHOWN in x.value for x in at.caption)

    home = page(app_db, "opd.kominfo", "home.py")
    no_errors(home)
    assert t("clarify.home.title", n=1) in [s.value for s in home.subheader]
    shown = [w.value for w in home.warning]
    assert any(SHOWN in w and code in w for w in shown), shown

    # the assessor closes it as verified at 2 on Verifikasi: the level is recorded
    at = page(app_db, "penilai", "verify.py")
    at.selectbox(key="verify_ev_code").set_value(code).run()
    at.radio(key=f"verify_close_outcome_{c.id}_0").set_value("verified").run()
    at.number_input(key=f"verify_close_level_{c.id}_0").set_value(2)
    at.text_input(key=f"verify_close_note_{c.id}_0").input("SK sesuai")
    next(b for b in at.button if b.label == t("clarify.verify.close")).click().run()
    no_errors(at)
    assert t("clarify.verify.closed", id=c.id) in [s.value for s in at.success]
    ver = with_store(
        app_db, lambda s: [v for v in s.verification_rows(CITY, YEAR) if v["indicator_code"] == code]
    )
    assert [(v["level"], v["note"], v["username"]) for v in ver] == [(2, "SK sesuai", "penilai")]
    home = page(app_db, "opd.kominfo", "home.py")
    assert t("clarify.home.title", n=1) not in [s.value for s in home.subheader]
