"""The verification, administration and audit pages through the real router (dashboard.py) with
streamlit.testing's AppTest, on a private copy of the demo database (SMARTCITY_DB).

Each page renders in Indonesian and English for its role and shows what the core computes;
an assessor's verified level reaches the overview index; an admin closes then locks a year and
the core refuses a later upload; the audit page lists the log and reports the hash chain.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import admin, demo, i18n, review, scoring, users
from metrics.auth import DEMO_PASSWORD, SYSTEM
from metrics.formatting import number
from metrics.i18n import t as core_t
from metrics.ingest import ingest_bytes
from metrics.store import Store
from tests.apptest_support import app_store, no_errors, session, t

ROOT = Path(__file__).resolve().parents[2]
CITY, YEAR = "3299", 2024


def run_page(path: Path, page: str, username: str, lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = lang
    at.session_state["f_city"] = CITY
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


def table_with(at: AppTest, column: str):
    """The first read-only table showing `column` (st.dataframe keeps no key without selections)."""
    return next(d.value for d in at.dataframe if d.editing_mode == "read_only" and column in d.value.columns)


def upload_as_kominfo(path: Path):
    """Diskominfo 3299 uploads one answer for 2024 through the core, as the upload page would."""
    store = app_store(path)
    code = store.answer_rows(YEAR, CITY, "01")[0]["indicator_code"]
    user = users.get_user(store, "opd.kominfo")
    body = f"city_code,opd_code,year,indicator_code,level,evidence,note\n{CITY},01,{YEAR},{code},2,Bukti,\n"
    return ingest_bytes(store, user, body.encode(), "kominfo.csv")


# --------------------------------------------------------------------------- each page, both languages


@pytest.mark.parametrize("lang", ["id", "en"])
def test_verify_page_renders_for_the_assessor(app_db, lang):
    store = app_store(app_db)
    assessor = users.get_user(store, "penilai")
    at = run_page(app_db, "verify", "penilai", lang)
    no_errors(at)
    assert t("verify.no_gaps", lang) in [c.value for c in at.caption]  # nothing verified in 2024 yet
    code = review.review(store, assessor, CITY, YEAR).indicators["code"].iloc[0]
    review.apply(store, assessor, CITY, YEAR, [{"code": code, "verified_level": 1, "verified_note": "cek"}])
    rv = review.review(store, assessor, CITY, YEAR, lang)
    at.run()
    no_errors(at)
    assert at.title[0].value == t("verify.title", lang) and not at.warning
    assert [m.label for m in at.metric[:3]] == [
        t("verify.flag.jump", lang),
        t("verify.flag.no_evidence", lang),
        t("verify.flag.above_peers", lang),
    ]
    assert [m.value for m in at.metric[:3]] == [str(rv.flag_counts[f]) for f in review.FLAGS]
    assert at.metric[3].value == f"{rv.verified} / {len(rv.indicators)}"
    editor = at.data_editor[0]
    assert list(editor.value["code"]) == list(rv.indicators["code"])
    answers = table_with(at, "flag_text")
    assert len(answers) == sum(1 for f in rv.answers["flags"] if f)  # flagged only, by default
    assert set(answers["flag_text"]) <= set(rv.answers["flag_text"])
    gaps = table_with(at, "gap")
    assert list(gaps["opd_code"]) == list(rv.gaps["opd_code"]) and list(gaps["verified"]) == list(
        rv.gaps["verified"]
    )
    assert rv.verified == 1 and at.metric[3].value == f"1 / {len(rv.indicators)}"
    assert t("verify.gaps", lang) in [s.value for s in at.subheader]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_admin_page_renders_for_the_admin(app_db, lang):
    at = run_page(app_db, "admin", "admin", lang)
    no_errors(at)
    assert at.title[0].value == t("admin.title", lang) and not at.warning
    assert [tab.label for tab in at.tabs] == [
        t(f"admin.tab.{k}", lang) for k in ("periods", "users", "registry", "framework", "system")
    ]
    assert at.selectbox(key="admin_year").value == YEAR
    assert at.selectbox(key="admin_year").options == [str(y) for y in range(2020, YEAR + 2)]
    periods = table_with(at, "updated_by")
    # the status in words of the UI language, not the stored code
    assert list(periods["status"]) == [t("verify.period.locked", lang)] * 4 + [t("verify.period.open", lang)]
    roles = table_with(at, "role")
    assert len(roles) == 6 + len(demo.CITIES)  # and one planner per demo city
    assert t("role.executive", lang) in set(roles["role"]) and "executive" not in set(
        roles["role"]
    )  # in words
    assert len(table_with(at, "opd_types")) == 60
    assert at.toggle(key="admin_public").value is False


@pytest.mark.parametrize("lang", ["id", "en"])
def test_audit_page_lists_rows_and_shows_the_chain_ok(app_db, lang):
    at = run_page(app_db, "audit", "admin", lang)
    no_errors(at)
    log = admin.read_audit(app_store(app_db), SYSTEM)
    assert at.title[0].value == t("audit.title", lang) and not at.warning
    assert [s.value for s in at.success] == [t("audit.chain_ok", lang, n=log.total)]
    rows = table_with(at, "action")
    assert list(rows["id"]) == list(log.rows["id"]) and len(rows) == log.total
    # actions in words of the UI language, not the stored codes ("demo.install" -> "Data demo dipasang")
    assert "demo.install" in set(log.rows["action"])
    assert t("audit.act.demo.install", lang) in set(rows["action"]) and "demo.install" not in set(
        rows["action"]
    )
    assert at.get("download_button")


# --------------------------------------------------------------------------- the assessor's journey


def test_assessor_verifies_a_level_and_the_overview_uses_it(app_db):
    store = app_store(app_db)
    rv = review.review(store, users.get_user(store, "penilai"), CITY, YEAR)
    row = next(
        n
        for n, r in enumerate(rv.indicators.to_dict("records"))
        if r["source"] == "self" and r["effective"] >= 2
    )
    code = rv.indicators["code"].iloc[row]
    before = scoring.city_score(store, CITY, YEAR).index
    ov = run_page(app_db, "overview", "walikota")
    assert ov.metric[0].value == number(before)

    at = run_page(app_db, "verify", "penilai")
    # the editor's cell edit, as the browser sends it
    at.session_state[f"verify_editor_{CITY}_{YEAR}_0"] = {
        "edited_rows": {row: {"verified_level": 0, "verified_note": "dokumen tidak ada"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="verify_save").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("verify.saved", n=1)]
    ver = {v["indicator_code"]: v for v in store.verification_rows(CITY, YEAR)}
    assert (ver[code]["level"], ver[code]["note"], ver[code]["username"]) == (
        0,
        "dokumen tidak ada",
        "penilai",
    )
    level = next(lv for lv in scoring.indicator_levels(store, CITY, YEAR) if lv.code == code)
    assert level.source == "verified" and level.effective == 0
    after = scoring.city_score(store, CITY, YEAR).index
    assert after < before
    ov = run_page(app_db, "overview", "walikota")
    assert ov.metric[0].value == number(after)
    # the editor starts again from the stored verification
    assert at.data_editor[0].value["verified_level"].iloc[row] == 0


# --------------------------------------------------------------------------- the admin's journey


def test_admin_closes_then_locks_the_year_and_uploads_are_refused(app_db):
    store = app_store(app_db)
    at = run_page(app_db, "admin", "admin")
    at.button(key="admin_close").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("admin.period.done", year=YEAR, before=t("verify.period.open"), after=t("verify.period.closed"))
    ]
    assert store.period_status(CITY, YEAR) == "closed"
    r = upload_as_kominfo(app_db)
    assert not r.accepted and [p.key for p in r.problems] == ["period.closed"]

    assert at.button(key="admin_lock").disabled  # not before the confirmation
    at.checkbox(key="admin_lock_sure").check().run()
    at.button(key="admin_lock").click().run()
    no_errors(at)
    assert store.period_status(CITY, YEAR) == "locked"
    assert at.button(key="admin_open").disabled and at.button(key="admin_close").disabled
    r = upload_as_kominfo(app_db)
    assert not r.accepted and [p.key for p in r.problems] == ["period.locked"]
    log = admin.read_audit(store, SYSTEM, username="admin").rows
    assert list(log["action"][:2]) == ["period.locked", "period.closed"]
    assert set(log["object"][:2]) == {f"period:{CITY}/{YEAR}"}

    # the assessor now sees the year read-only
    v = run_page(app_db, "verify", "penilai", "en")
    no_errors(v)
    assert t("verify.locked", "en", year=YEAR) in [i.value for i in v.info]
    assert not v.data_editor and not [b for b in v.button if b.key == "verify_save"]


def test_admin_publishes_results_and_manages_a_user(app_db):
    store = app_store(app_db)
    at = run_page(app_db, "admin", "admin")
    at.toggle(key="admin_public").set_value(True).run()
    no_errors(at)
    assert admin.public_read(store) is True and at.toggle(key="admin_public").value is True
    assert t("admin.public_on") in [s.value for s in at.success]

    at.text_input(key="admin_new_name").input("penilai.dua")
    at.selectbox(key="admin_new_role").set_value("assessor")
    at.text_input(key="admin_new_pw").input("Sandi-Panjang-Sekali-9")
    submit = next(b for b in at.button if b.label == t("admin.users.submit"))  # the form's button
    submit.click().run()
    no_errors(at)
    assert users.get_user(store, "penilai.dua").role == "assessor"
    assert "penilai.dua" in list(table_with(at, "role")["username"])

    at.selectbox(key="admin_pick_user").set_value("penilai.dua").run()
    at.button(key="admin_disable").click().run()
    no_errors(at)
    assert users.get_user(store, "penilai.dua").active is False

    # a refused write shows the core's message and changes nothing
    at.text_input(key="admin_new_name").input("Bukan Nama Sah")
    at.text_input(key="admin_new_pw").input("Sandi-Panjang-Sekali-9")
    next(b for b in at.button if b.label == t("admin.users.submit")).click().run()
    assert [e.value for e in at.error] == [core_t("user.bad_name")]
    assert users.get_user(store, "Bukan Nama Sah") is None


def test_admin_names_the_report_card_signatory(app_db):
    store = app_store(app_db)
    at = run_page(app_db, "admin", "admin")
    assert admin.signatory(store, CITY) is None
    at.text_input(key="admin_sig_name").input("Dr. H. Budi Santoso, M.Si.")
    at.text_input(key="admin_sig_pos").input("Wali Kota Sukamaju")
    next(b for b in at.button if b.label == t("admin.signatory_save")).click().run()
    no_errors(at)
    assert admin.signatory(store, CITY) == admin.Signatory("Dr. H. Budi Santoso, M.Si.", "Wali Kota Sukamaju")
    assert t("admin.signatory_done") in [s.value for s in at.success]
    assert at.text_input(key="admin_sig_name").value == "Dr. H. Budi Santoso, M.Si."


def test_admin_uploads_a_registry_and_takes_a_backup(app_db):
    store = app_store(app_db)
    at = run_page(app_db, "admin", "admin")
    at.file_uploader(key="admin_registry_file").set_value(
        (
            "kota.csv",
            b"city_code,name,province,category,population\n7777,Kota Baru Uji,Bali,kecil,1000\n",
            "text/csv",
        )
    )
    at.run()
    at.button(key="admin_registry_load").click().run()
    no_errors(at)
    assert "7777" in store.city_codes()
    assert t("admin.registry.done", kind=t("admin.registry.kind.cities"), added=1, updated=0) in [
        s.value for s in at.success
    ]

    at.button(key="admin_backup").click().run()
    no_errors(at)
    # the users table's CSV, then the backup
    assert [b.label for b in at.get("download_button")] == [t("table.download"), t("admin.backup.download")]
    made = at.session_state["admin_backup_file"]
    assert zipfile.ZipFile(io.BytesIO(made.data)).read("manifest.json")
    at.file_uploader(key="admin_restore_file").set_value((made.name, made.data, "application/zip"))
    at.run()
    at.button(key="admin_restore").click().run()
    no_errors(at)
    msg = [s.value for s in at.success if "SMARTCITY_DB" in s.value]
    assert len(msg) == 1
    restored_path = msg[0].split("BARU ")[1].split(" (")[0]
    assert Path(restored_path).exists() and Path(restored_path) != app_db
    restored = Store(restored_path)
    try:
        assert "7777" in restored.city_codes()
        assert [c.index for c in scoring.score(restored, [YEAR])] == [
            c.index for c in scoring.score(store, [YEAR])
        ]
    finally:
        restored.close()


def test_audit_page_filters_and_reports_a_broken_chain(app_db):
    store = app_store(app_db)
    admin.set_public_read(store, users.get_user(store, "admin"), True)
    at = run_page(app_db, "audit", "admin", "en")
    at.selectbox(key="audit_action").set_value("setting.public_read").run()
    no_errors(at)
    rows = table_with(at, "action")
    assert list(rows["action"]) == [i18n.t("audit.act.setting.public_read", "en")] and list(
        rows["username"]
    ) == ["admin"]
    target = int(rows["id"].iloc[0])
    with store.cursor() as cur:  # behind the application's back
        cur.execute("UPDATE audit SET after = '{\"value\":false}' WHERE id = ?", [target])
    at.run()
    assert [e.value for e in at.error] == [t("audit.chain_broken", "en", n=1, ids=str(target))]


def test_audit_page_reports_a_cut_tail_and_shows_the_head(app_db):
    from ui.shell import md_escape

    # the newest row deleted leaves a valid chain: only the head kept outside the database shows it
    store = app_store(app_db)
    admin.set_public_read(store, users.get_user(store, "admin"), True)
    at = run_page(app_db, "audit", "admin", "en")
    no_errors(at)
    head = admin.audit_report(store, SYSTEM).head
    assert any(head.short() in c.value for c in at.caption)
    with store.cursor() as cur:  # behind the application's back
        cur.execute("DELETE FROM audit WHERE id = ?", [head.last_id])
    at.run()
    assert [e.value for e in at.error] == [
        md_escape(core_t("audit.tail_cut", "en", n=1, first=head.last_id, last=head.last_id, rows=head.rows))
    ]
    assert not at.success


# --------------------------------------------------------------------------- labels


def test_labels_are_complete_and_every_label_used_exists():
    import re

    for page in ("verify", "admin", "audit"):
        source = (ROOT / "pages" / f"{page}.py").read_text(encoding="utf-8")
        used = set(re.findall(r'tr\(\s*"([a-z_.]+)"', source))
        used |= set(re.findall(r'"((?:verify|admin|audit)\.col\.[a-z_]+)"', source))
        assert used and all(i18n.has(k) for k in used), (page, [k for k in used if not i18n.has(k)])


def test_the_chain_head_on_the_admin_page_follows_a_sign_in(app_db):
    """Sign-ins do not move the data version the read caches key on, so the admin page reads the
    audit chain head uncached: a sign-in elsewhere shows on the next run."""
    at = run_page(app_db, "admin", "admin")
    at.run()  # the page's own choices (the framework shown) are in the session from here on
    no_errors(at)
    store = app_store(app_db)
    before, version = store.audit_count(), store.data_version()
    users.login(store, "tamu", DEMO_PASSWORD, client="203.0.113.7")
    assert store.audit_count() == before + 1 and store.data_version() == version
    head = admin.audit_state(store, users.get_user(store, "admin")).head
    at.run()
    assert t("admin.audit_head", head=head.short()) in [c.value for c in at.caption]
