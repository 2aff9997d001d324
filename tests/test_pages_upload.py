"""The OPD operator's pages (Unggah, Isi formulir, Riwayat unggahan) through the real router with AppTest.

Signed in as the demo operator opd.kominfo on a private copy of the demo database: the pages
render in Indonesian and English; a good file uploaded through st.file_uploader (AppTest 1.67
supports it: FileUploader.set_value) is accepted and moves the city index; a bad one lists every
error and changes nothing; the browser form is filled (the data editor's edit state seeded
under its key, the way AppTest documents) and submitted; history shows the versions and a
diff; and an OPD operator never sees another OPD's data.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from metrics import entry, scoring, templates as tpl, users
from metrics.auth import SYSTEM
from metrics.governance import set_period
from metrics.store import Store, utcnow
from ui.charts import md_escape
from tests.apptest_support import no_errors, t

ROOT = Path(__file__).resolve().parent.parent
CITY, YEAR = "3299", 2024
LEVEL_COL = tpl.COL_INDEX["level"] + 1
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def run_page(path: Path, page: str, username: str = "opd.kominfo", lang: str = "id", state: dict | None = None):
    user = with_store(path, lambda s: users.get_user(s, username))
    now = utcnow()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, now, now)
    at.session_state["lang"] = lang
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


def filled_template(path: Path, levels: dict[int, object], username: str = "opd.kominfo", opd: str = "01") -> bytes:
    """The operator's template from the core with `levels` {sheet row: level} typed in."""
    def make(store):
        return entry.template(store, users.get_user(store, username), CITY, opd, YEAR).data
    wb = load_workbook(io.BytesIO(with_store(path, make)))
    for row, level in levels.items():
        wb[tpl.SHEET].cell(row, LEVEL_COL).value = level
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- Unggah


@pytest.mark.parametrize("lang", ["id", "en"])
def test_upload_page_renders_for_the_operator(app_db, lang):
    at = run_page(app_db, "upload", lang=lang)
    no_errors(at)
    assert at.title[0].value == t("upload.title", lang)
    assert at.selectbox(key="up_opd").options == ["01 · Dinas Komunikasi dan Informatika"]  # their OPD only
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [t("upload.download_template", lang), t("upload.download_metric_template", lang)]
    up = at.file_uploader(key="up_file")
    assert not up.disabled and up.allowed_type == [".xlsx", ".csv"]
    assert not at.warning  # 2024 is open


def test_upload_good_file_is_accepted_and_the_index_moves(app_db):
    data = filled_template(app_db, {tpl.FIRST_DATA_ROW: 0})
    before = with_store(app_db, lambda s: (scoring.city_score(s, CITY, YEAR).index, s.counts()["submissions"]))
    at = run_page(app_db, "upload", lang="en")
    at.file_uploader(key="up_file").set_value(("isian-kominfo.xlsx", data, XLSX)).run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("upload.accepted", "en", file=md_escape("isian-kominfo.xlsx"), n=1)]
    after = with_store(app_db, lambda s: (scoring.city_score(s, CITY, YEAR).index, s.counts()["submissions"]))
    assert after[1] == before[1] + 1 and after[0] < before[0]
    city = at.metric[3]
    assert city.label == t("upload.city_index", "en") and city.value == f"{after[0]:.2f}"
    assert city.delta == f"{after[0] - before[0]:+.2f}"
    at.run()  # a rerun (any widget) must not store the same file again
    no_errors(at)
    assert with_store(app_db, lambda s: s.counts()["submissions"]) == after[1]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_upload_bad_file_lists_every_error_and_changes_nothing(app_db, lang):
    data = filled_template(app_db, {11: "3,5", 12: 7, 14: "tiga"})
    fingerprint = with_store(app_db, lambda s: s.content_fingerprint())
    at = run_page(app_db, "upload", lang=lang)
    at.file_uploader(key="up_file").set_value(("isian.xlsx", data, XLSX)).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("upload.rejected", lang, file=md_escape("isian.xlsx"), n=3)]
    table = at.dataframe[-1].value
    assert list(table["row"]) == [11, 12, 14] and set(table["sheet"]) == {tpl.SHEET}
    assert set(table["column"]) == {f"J ({tpl.COLUMNS[tpl.COL_INDEX['level']].header})"}
    assert table["message"][1] == {"id": "Level 7 di luar skala 0–4.", "en": "Level 7 is outside the scale 0–4."}[lang]
    labels = [b.proto.label for b in at.get("download_button")][2:]
    assert labels == [t("upload.download_marked", lang), t("upload.download_errors", lang)]
    assert with_store(app_db, lambda s: s.content_fingerprint()) == fingerprint
    assert not at.success


def test_upload_service_metric_csv(app_db):
    def metric_csv(store):
        return entry.metric_template(store, users.get_user(store, "opd.kominfo"), CITY, "01", YEAR).data
    text = with_store(app_db, metric_csv).decode("utf-8-sig")
    lines = text.strip().split("\n")
    filled = "\n".join([lines[0]] + [ln + "12.5" for ln in lines[1:]]).encode()
    at = run_page(app_db, "upload")
    at.file_uploader(key="up_file").set_value(("metrik.csv", filled, "text/csv")).run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("upload.accepted", file=md_escape("metrik.csv"), n=len(lines) - 1)]


def test_a_closed_year_shows_why_and_disables_the_upload(app_db):
    with_store(app_db, lambda s: set_period(s, SYSTEM, CITY, YEAR, "closed"))
    at = run_page(app_db, "upload", lang="en")
    no_errors(at)
    assert any(str(YEAR) in w.value and "closed" in w.value for w in at.warning)
    assert at.file_uploader(key="up_file").disabled


# --------------------------------------------------------------------------- Isi formulir


def editor(at: AppTest):
    [ed] = at.data_editor
    return ed


@pytest.mark.parametrize("lang", ["id", "en"])
def test_form_renders_with_the_rubric(app_db, lang):
    fm = with_store(app_db, lambda s: entry.form(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR, lang))
    at = run_page(app_db, "entry", lang=lang)
    no_errors(at)
    assert at.title[0].value == t("entry.title", lang)
    ed = editor(at)
    assert not ed.proto.disabled
    shown = ed.value
    assert list(shown["code"]) == list(fm.rows["code"])
    assert list(shown["rubric_4"]) == list(fm.rows["rubric_4"])  # the rubric beside each indicator
    assert [b.label for b in at.button] == [t("entry.save", lang), t("entry.submit", lang), t("entry.discard", lang)]


def test_fill_in_the_browser_and_submit(app_db):
    at = run_page(app_db, "entry", lang="en")
    ed = editor(at)
    code0 = ed.value["code"][0]
    before = with_store(app_db, lambda s: scoring.city_score(s, CITY, YEAR).index)
    at.session_state[ed.key] = {"edited_rows": {0: {"level": 0, "evidence": "Belum ada SK"}},
                                "added_rows": [], "deleted_rows": []}
    at.button(key="en_save").click().run()
    no_errors(at)
    assert [i.value for i in at.info] == [t("entry.saved", "en", n=len(ed.value))]
    draft = with_store(app_db, lambda s: s.get_draft(CITY, "01", YEAR))
    assert draft is not None and draft[2] == "opd.kominfo"
    at.button(key="en_submit").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("upload.accepted", "en", file=md_escape(f"formulir_{CITY}_01_{YEAR}.csv"), n=1)]
    answers = with_store(app_db, lambda s: entry.current_answers(s, CITY, "01", YEAR))
    assert answers[code0][:2] == (0, "Belum ada SK")
    after = with_store(app_db, lambda s: scoring.city_score(s, CITY, YEAR).index)
    assert after < before and at.metric[3].value == f"{after:.2f}"
    assert with_store(app_db, lambda s: s.get_draft(CITY, "01", YEAR)) is None


def test_form_errors_are_listed_by_indicator_and_nothing_is_stored(app_db):
    at = run_page(app_db, "entry", lang="en")
    ed = editor(at)
    code1 = ed.value["code"][1]
    subs = with_store(app_db, lambda s: s.counts()["submissions"])
    at.session_state[ed.key] = {"edited_rows": {1: {"level": None, "evidence": "bukti"}},
                                "added_rows": [], "deleted_rows": []}
    at.button(key="en_submit").click().run()
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [t("upload.rejected", "en", file=md_escape(f"formulir_{CITY}_01_{YEAR}.csv"),
                                             n=1)]
    table = at.dataframe[-1].value
    assert list(table["indicator"]) == [code1]  # named by indicator, not by a line of a CSV nobody saw
    assert table["message"][0] == "Evidence/note is filled but the level is empty."
    # no submission was added; the draft was kept so no typing is lost
    assert with_store(app_db, lambda s: s.counts()["submissions"]) == subs
    assert with_store(app_db, lambda s: s.get_draft(CITY, "01", YEAR)) is not None
    at.button(key="en_discard").click().run()
    no_errors(at)
    assert t("entry.discarded", "en") in [i.value for i in at.info]
    assert with_store(app_db, lambda s: s.get_draft(CITY, "01", YEAR)) is None


def test_form_is_read_only_in_a_locked_year(app_db):
    with_store(app_db, lambda s: set_period(s, SYSTEM, CITY, YEAR, "locked"))
    at = run_page(app_db, "entry", lang="en")
    no_errors(at)
    assert editor(at).proto.disabled
    assert not at.button  # no save / submit / discard
    msg = with_store(app_db, lambda s: entry.form(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR)
                     .closed_message("en"))
    assert [w.value for w in at.warning] == [msg + " " + t("entry.read_only", "en")]


# --------------------------------------------------------------------------- Riwayat unggahan


def test_history_shows_versions_opens_one_and_diffs(app_db):
    data = filled_template(app_db, {tpl.FIRST_DATA_ROW: 1})
    at = run_page(app_db, "upload")
    at.file_uploader(key="up_file").set_value(("versi-baru.xlsx", data, XLSX)).run()
    assert at.success
    hist = with_store(app_db, lambda s: entry.history(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR))
    at = run_page(app_db, "history", lang="en")
    no_errors(at)
    assert at.title[0].value == t("history.title", "en")
    versions = at.dataframe[0].value
    assert list(versions["id"]) == hist.ids and set(versions["opd_code"]) == {"01"}
    assert hist.city_name == "Kota Sukamaju" and "(Kota Sukamaju)" in at.caption[0].value  # named, not coded
    assert set(versions["kind"]) == {t("upload.kind.assessment", "en"), t("upload.kind.metric", "en")}  # words
    newest = hist.ids[0]
    assert at.selectbox(key="hi_version").value == newest
    assert at.dataframe[1].value["indicator_code"].tolist() == \
        with_store(app_db, lambda s: s.submission_rows(newest))["indicator_code"].tolist()
    previous = hist.comparable(newest)[0]
    assert at.selectbox(key="hi_old").value == previous
    diff = at.dataframe[2].value
    assert (diff["change"] == t("history.change.changed", "en")).sum() >= 1
    at.selectbox(key="hi_version").set_value(previous).run()  # open an earlier version
    no_errors(at)
    assert any(c.value.startswith(f"Version #{previous} ") for c in at.caption)
    assert at.dataframe[1].value["indicator_code"].tolist() == \
        with_store(app_db, lambda s: s.submission_rows(previous))["indicator_code"].tolist()


def test_an_opd_user_never_sees_another_opds_data(app_db):
    dinkes_opd = with_store(app_db, lambda s: users.get_user(s, "opd.dinkes").opd_code)
    at = run_page(app_db, "history", state={"hi_all_years": True})
    no_errors(at)
    versions = at.dataframe[0].value
    assert len(versions) > 0 and set(versions["opd_code"]) == {"01"}
    at = run_page(app_db, "entry")
    assert at.selectbox(key="en_opd").options == ["01 · Dinas Komunikasi dan Informatika"]
    # dinkes's own template, uploaded by kominfo: refused whole, nothing stored
    theirs = filled_template(app_db, {}, "opd.dinkes", dinkes_opd)
    fingerprint = with_store(app_db, lambda s: s.content_fingerprint())
    at = run_page(app_db, "upload", lang="en")
    at.file_uploader(key="up_file").set_value(("dinkes.xlsx", theirs, XLSX)).run()
    assert [e.value for e in at.error] == [t("upload.rejected", "en", file=md_escape("dinkes.xlsx"), n=1)]
    assert at.dataframe[-1].value["code"].tolist() == ["perm.denied"]
    assert with_store(app_db, lambda s: s.content_fingerprint()) == fingerprint


def test_city_roles_see_the_citys_history_and_admin_picks_an_opd(app_db):
    at = run_page(app_db, "history", username="walikota")
    no_errors(at)
    assert at.dataframe[0].value["opd_code"].nunique() > 1
    at = run_page(app_db, "upload", username="admin", state={"f_city": CITY})
    no_errors(at)
    assert len(at.selectbox(key="up_opd").options) > 1
