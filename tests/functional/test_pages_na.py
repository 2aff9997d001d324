"""Not-applicable ("tidak berlaku") answers through the pages with AppTest (issue 17, section 4).

On a private copy of the demo database: the OPD operator opd.kominfo marks an indicator TB on its
card in Isi formulir, gives the reason in the relabelled note field and submits; the assessor
accepts a claim on Verifikasi, or rejects it with a note that then shows on the OPD's home.
The indicator is one the demo's framework allows "tidak berlaku" for and that the operator
answers with a level; if the framework in the database has none, it is reloaded with one.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from metrics import entry, users
from metrics.auth import SYSTEM
from metrics.cells import NA
from metrics.governance import load_framework_text
from metrics.ingest import ingest_bytes
from metrics.store import Store
from tests.apptest_support import ROOT, no_errors, session, t
from ui import form as form_ui
from ui.charts import md_escape
from ui.shell import Filters

CITY, OPD, YEAR = "3299", "01", 2024
REASON = "Kota ini tidak mempunyai RSUD sendiri; rujukan ke RS provinsi"
HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def na_indicator(path: Path) -> str:
    """An indicator opd.kominfo answers with a level on its form and may answer "tidak berlaku"."""

    def go(s: Store) -> str:
        fm = entry.form(s, users.get_user(s, "opd.kominfo"), CITY, OPD, YEAR)
        cards = [c for c in fm.cards if c.level_editable]
        hit = next((c.code for c in cards if c.allow_na), None)
        if hit is not None:
            return hit
        # the demo's framework marks none the operator answers: reload it with one so marked
        code = cards[0].code
        _seq, source = s.framework_sources()[-1]
        doc = yaml.safe_load(source)
        next(i for i in doc["indicators"] if i["code"] == code)["allow_na"] = True
        load_framework_text(s, SYSTEM, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
        return code

    return with_store(path, go)


def page(path: Path, username: str, name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = "id"
    at.session_state["filters"] = Filters(CITY, YEAR, None, None)
    return at.run()


def claims(path: Path) -> list[dict]:
    return with_store(path, lambda s: s.na_claims(CITY, YEAR))


def test_an_opd_marks_tb_with_a_reason_on_its_card_and_submits(app_db):
    code = na_indicator(app_db)
    at = page(app_db, "opd.kominfo", "entry.py")
    no_errors(at)
    scope = (CITY, OPD, YEAR, 0)
    radio = at.radio(key=form_ui.key(code, "level", scope))
    assert radio.options[-1] == t("na.choice", na=NA)  # TB is one more choice on this card only
    radio.set_value(NA).run()  # saved as the draft at once, and the missing reason said
    assert not at.exception and len(at.error) == 1
    assert t("cell.na_reason_required", indicator=code) in at.dataframe[-1].value["message"].tolist()
    note = at.text_input(key=form_ui.key(code, "note", scope))
    assert note.label == t("na.reason_label")  # the note field becomes the required reason
    assert t("na.state.draft") in [c.value for c in at.caption]
    note.set_value(REASON).run()
    no_errors(at)
    at.button(key="en_submit").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("upload.accepted", file=md_escape(f"formulir_{CITY}_{OPD}_{YEAR}.csv"), n=1)
    ]
    assert t("na.summary", n=1) in [c.value for c in at.caption]
    [claim] = [c for c in claims(app_db) if c["indicator_code"] == code]
    assert (claim["opd_code"], claim["reason"], claim["decision"]) == (OPD, REASON, None)
    # the card now says where the answer stands
    assert at.radio(key=form_ui.key(code, "level", (CITY, OPD, YEAR, 1))).value == NA
    assert t("na.state.pending") in [c.value for c in at.caption]


def _claim(path: Path, code: str) -> None:
    body = f"{CITY},{OPD},{YEAR},{code},TB,,{REASON}\n"
    r = with_store(path, lambda s: ingest_bytes(s, SYSTEM, (HEAD + body).encode(), "tb.csv", mode="merge"))
    assert r.accepted and r.na == 1, r.to_dict()


def test_assessor_accepts_an_na_on_verifikasi(app_db):
    code = na_indicator(app_db)
    _claim(app_db, code)
    at = page(app_db, "penilai", "verify.py")
    no_errors(at)
    assert t("na.verify_title") in [h.value for h in at.subheader]
    assert at.selectbox(key="verify_na_code_0").value == code
    at.button(key="verify_na_accept").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("na.accepted", code=code)]
    [claim] = [c for c in claims(app_db) if c["indicator_code"] == code]
    assert (claim["decision"], claim["decided_by"]) == ("accepted", "penilai")
    audit = with_store(app_db, lambda s: s.audit_frame(action="na.accept"))
    assert list(audit["object"]) == [f"indicator:{CITY}/{YEAR}/{code}"]


def test_a_rejection_needs_a_note_and_returns_to_the_opd_home(app_db):
    code = na_indicator(app_db)
    _claim(app_db, code)
    at = page(app_db, "penilai", "verify.py")
    at.button(key="verify_na_reject").click().run()  # no note: refused, nothing recorded
    assert [e.value.replace("\\", "") for e in at.error] == [t("na.note_required", indicator=code)]
    assert claims(app_db)[0]["decision"] is None
    at.text_input(key="verify_na_note_0").set_value("RS provinsi melayani warga: isi level").run()
    at.button(key="verify_na_reject").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("na.rejected", code=code)]
    home = page(app_db, "opd.kominfo", "home.py")
    no_errors(home)
    assert t("na.home_rejected", code=code, note=md_escape("RS provinsi melayani warga: isi level")) in [
        w.value for w in home.warning
    ]
