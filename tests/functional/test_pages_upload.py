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

from metrics import entry, scoring, users
from metrics import templates as tpl
from metrics.auth import SYSTEM
from metrics.cells import NA
from metrics.formatting import number
from metrics.governance import set_period
from metrics.store import Store, utcnow
from tests.apptest_support import no_errors, t
from ui import form as form_ui
from ui.charts import md_escape

ROOT = Path(__file__).resolve().parents[2]
CITY, YEAR = "3299", 2024
LEVEL_COL = tpl.COL_INDEX["level"] + 1
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def run_page(
    path: Path, page: str, username: str = "opd.kominfo", lang: str = "id", state: dict | None = None
):
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


def filled_template(
    path: Path, levels: dict[int, object], username: str = "opd.kominfo", opd: str = "01"
) -> bytes:
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
    # any type reaches the core, which names a wrong one in the user's language (test_pages_upload_formats)
    assert not up.disabled and not up.allowed_type
    assert not at.warning  # 2024 is open


def test_upload_good_file_is_accepted_and_the_index_moves(app_db):
    data = filled_template(app_db, {tpl.FIRST_DATA_ROW: 0})
    before = with_store(
        app_db, lambda s: (scoring.city_score(s, CITY, YEAR).index, s.counts()["submissions"])
    )
    at = run_page(app_db, "upload", lang="en")
    at.file_uploader(key="up_file").set_value(("isian-kominfo.xlsx", data, XLSX)).run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("upload.accepted", "en", file=md_escape("isian-kominfo.xlsx"), n=1)
    ]
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
    assert (
        table["message"][1]
        == {"id": "Level 7 di luar skala 0–4.", "en": "Level 7 is outside the scale 0–4."}[lang]
    )
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
    # the demo reports some metrics monthly: a yearly file lacks those months, the operator confirms
    assert not at.success and at.radio(key="up_mode").value == "merge"
    at.button(key="up_confirm").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("upload.accepted", file=md_escape("metrik.csv"), n=len(lines) - 1)
    ]


def test_a_closed_year_shows_why_and_disables_the_upload(app_db):
    with_store(app_db, lambda s: set_period(s, SYSTEM, CITY, YEAR, "closed"))
    at = run_page(app_db, "upload", lang="en")
    no_errors(at)
    assert any(str(YEAR) in w.value and "closed" in w.value for w in at.warning)
    assert at.file_uploader(key="up_file").disabled


# --------------------------------------------------------------------------- Isi formulir


SCOPE = (CITY, "01", YEAR, 0)  # the form's widgets before any submit (generation 0)


def kominfo_form(path: Path, lang: str = "id") -> entry.EntryForm:
    return with_store(path, lambda s: entry.form(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR, lang))


def level_radio(at: AppTest, code: str):
    return at.radio(key=form_ui.key(code, "level", SCOPE))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_form_shows_one_card_per_indicator_with_the_whole_rubric(app_db, lang):
    fm = kominfo_form(app_db, lang)
    at = run_page(app_db, "entry", lang=lang)
    no_errors(at)
    assert at.title[0].value == t("entry.title", lang)
    assert not at.data_editor  # no grid: cards
    # grouped by pillar, each group saying how far it is; the whole form's progress above
    assert [e.label for e in at.expander] == [
        t("entry.pillar", lang, code=g.code, name=md_escape(g.name), answered=g.answered, total=g.total)
        for g in fm.pillars
    ]
    assert len(fm.pillars) > 1 and fm.total == len(fm.rows)
    assert t("entry.progress", lang, answered=fm.answered, total=fm.total) in at.get("progress")[0].proto.text
    editable = [c for c in fm.cards if c.level_editable]
    scored = [c for c in fm.cards if not c.level_editable]
    assert editable and scored  # the demo OPD has both kinds
    for c in editable:
        radio = level_radio(at, c.code)
        # every level with its full rubric sentence beside its number, none cut short
        assert radio.options == [f"{ch.level} — {ch.text}" for ch in c.choices] + (
            [c.choice(NA, lang)] if c.allow_na else []  # "tidak berlaku" where allowed (issue 17)
        )
        assert all(len(ch.text) > 25 for ch in c.choices[3:])  # the sentences a grid used to cut at 25
        assert radio.value == c.value
    # an indicator a service metric scores: its value, thresholds and level, no level to choose
    info = " ".join(i.value for i in at.info)
    for c in scored:
        assert form_ui.key(c.code, "level", SCOPE) not in [r.key for r in at.radio]
        assert number(c.metric.value, lang) in info
        assert (
            f"{t('entry.threshold', lang, level=1, op='≥' if c.metric.direction != 'lower' else '≤', value='')}"
            in info
        )
    assert [b.label for b in at.button if b.key != "en_ev_send"] == [  # en_ev: the evidence panel
        t("entry.save", lang),
        t("entry.submit", lang),
        t("entry.discard", lang),
    ]


def test_choose_a_level_on_a_card_is_saved_as_you_go_then_submitted(app_db):
    fm = kominfo_form(app_db, "en")
    card = next(c for c in fm.cards if c.level_editable and c.level != 0)
    before = with_store(app_db, lambda s: scoring.city_score(s, CITY, YEAR).index)
    at = run_page(app_db, "entry", lang="en")
    level_radio(at, card.code).set_value(0).run()  # one click on the card's level 0 sentence
    no_errors(at)
    draft = with_store(app_db, lambda s: entry.form(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR))
    assert draft.source == "draft" and next(c for c in draft.cards if c.code == card.code).level == 0
    # a reload (a new browser session on the same page) finds the unsaved edit, kept as the draft
    reloaded = run_page(app_db, "entry", lang="en")
    assert level_radio(reloaded, card.code).value == 0
    assert [i.value for i in at.info if i.value.startswith(t("entry.saved", "en", n=0)[:12])] == [
        t("entry.saved", "en", n=fm.total - sum(1 for c in fm.cards if c.level is None and c.level_editable))
    ]
    at.text_area(key=form_ui.key(card.code, "evidence", SCOPE)).set_value("Belum ada SK").run()
    no_errors(at)
    assert with_store(app_db, lambda s: s.get_draft(CITY, "01", YEAR))[2] == "opd.kominfo"
    at.button(key="en_submit").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("upload.accepted", "en", file=md_escape(f"formulir_{CITY}_01_{YEAR}.csv"), n=1)
    ]
    answers = with_store(app_db, lambda s: entry.current_answers(s, CITY, "01", YEAR))
    assert answers[card.code][:2] == (0, "Belum ada SK")
    # the levels a service metric decides were carried over untouched
    for c in fm.cards:
        if not c.level_editable:
            assert answers.get(c.code, (None,))[0] == c.level
    after = with_store(app_db, lambda s: scoring.city_score(s, CITY, YEAR).index)
    assert after < before and at.metric[3].value == number(after, "en")
    assert with_store(app_db, lambda s: s.get_draft(CITY, "01", YEAR)) is None


def test_form_errors_are_listed_by_indicator_and_nothing_is_stored(app_db):
    fm = kominfo_form(app_db, "en")
    card = next(c for c in fm.cards if c.level_editable)
    subs = with_store(app_db, lambda s: s.counts()["submissions"])
    at = run_page(app_db, "entry", lang="en")
    # evidence with what looks like a national ID number: refused by the same rule as a file
    at.text_area(key=form_ui.key(card.code, "evidence", SCOPE)).set_value("NIK 3201234567890123").run()
    at.button(key="en_submit").click().run()
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [
        t("upload.rejected", "en", file=md_escape(f"formulir_{CITY}_01_{YEAR}.csv"), n=1)
    ]
    table = at.dataframe[-1].value
    assert list(table["indicator"].str.split().str[0]) == [card.code]  # named by indicator, not a CSV line
    assert "national ID (NIK)" in table["message"][0]
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
    assert at.radio and all(r.disabled for r in at.radio)
    assert all(a.disabled for a in at.text_area)
    assert not at.button  # no save / submit / discard
    msg = with_store(
        app_db,
        lambda s: entry.form(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR).closed_message("en"),
    )
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
    assert set(versions["kind"]) == {
        t("upload.kind.assessment", "en"),
        t("upload.kind.metric", "en"),
    }  # words
    newest = hist.ids[0]
    assert at.selectbox(key="hi_version").value == newest
    assert (
        at.dataframe[1].value["indicator_code"].tolist()
        == with_store(app_db, lambda s: s.submission_rows(newest))["indicator_code"].tolist()
    )
    previous = hist.comparable(newest)[0]
    assert at.selectbox(key="hi_old").value == previous
    diff = at.dataframe[2].value
    assert (diff["change"] == t("history.change.changed", "en")).sum() >= 1
    at.selectbox(key="hi_version").set_value(previous).run()  # open an earlier version
    no_errors(at)
    assert any(c.value.startswith(f"Version #{previous} ") for c in at.caption)
    assert (
        at.dataframe[1].value["indicator_code"].tolist()
        == with_store(app_db, lambda s: s.submission_rows(previous))["indicator_code"].tolist()
    )


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
    [message] = at.dataframe[-1].value["message"].tolist()  # one line saying whose file it is
    assert "Dinas Kesehatan" in message and "not for your OPD (01" in message
    assert with_store(app_db, lambda s: s.content_fingerprint()) == fingerprint


def test_city_roles_see_the_citys_history_and_admin_picks_an_opd(app_db):
    at = run_page(app_db, "history", username="walikota")
    no_errors(at)
    assert at.dataframe[0].value["opd_code"].nunique() > 1
    at = run_page(app_db, "upload", username="admin", state={"f_city": CITY})
    no_errors(at)
    assert len(at.selectbox(key="up_opd").options) > 1


# --------------------------------------------------------------------------- partial files and error wording


def test_a_partial_file_shows_the_dropped_answers_and_merges_on_confirm(app_db):
    before = with_store(app_db, lambda s: entry.current_answers(s, CITY, "01", YEAR))
    code = sorted(before)[0]
    data = (
        f"city_code,opd_code,year,indicator_code,level,evidence,note\n{CITY},01,{YEAR},{code},4,SK baru,\n"
    ).encode()
    subs = with_store(app_db, lambda s: s.counts()["submissions"])
    at = run_page(app_db, "upload", lang="id")
    at.file_uploader(key="up_file").set_value(("sebagian.csv", data, "text/csv")).run()
    no_errors(at)
    assert not at.success and with_store(app_db, lambda s: s.counts()["submissions"]) == subs  # nothing yet
    assert at.warning[-1].value == t("upload.drops", "id", file=md_escape("sebagian.csv"), n=len(before) - 1)
    dropped = next(d.value for d in at.dataframe if "key" in d.value.columns)  # first: the answers it lacks
    assert sorted(dropped["key"]) == sorted(before)[1:] and dropped["name"].str.len().min() > 0
    assert at.radio(key="up_mode").value == "merge"  # the default
    at.run()  # a rerun keeps the preview and stores nothing
    assert with_store(app_db, lambda s: s.counts()["submissions"]) == subs
    at.button(key="up_confirm").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("upload.accepted", file=md_escape("sebagian.csv"), n=1)]
    after = with_store(app_db, lambda s: entry.current_answers(s, CITY, "01", YEAR))
    assert set(after) == set(before) and after[code][:2] == (4, "SK baru")
    assert with_store(app_db, lambda s: s.counts()["submissions"]) == subs + 1
    at.run()
    assert with_store(app_db, lambda s: s.counts()["submissions"]) == subs + 1  # stored once


@pytest.mark.parametrize("username, shows_code", [("opd.kominfo", False), ("admin", True)])
def test_error_table_names_the_indicator_and_hides_internal_keys_from_opd_operators(
    app_db, username, shows_code
):
    data = filled_template(app_db, {11: 5}, username="opd.kominfo")
    at = run_page(app_db, "upload", username=username)
    at.file_uploader(key="up_file").set_value(("isian.xlsx", data, XLSX)).run()
    assert not at.exception
    df = at.dataframe[-1]
    order = list(df.proto.column_order)
    assert ("code" in order) is shows_code
    first_code = with_store(
        app_db, lambda s: entry.form(s, users.get_user(s, "opd.kominfo"), CITY, "01", YEAR)
    )
    code = first_code.rows["code"][0]
    assert df.value["indicator"][0] == f"{code} {first_code.rows['indicator'][0]}"
