"""Program (issue 17) through the real router with AppTest, on a private copy of the demo database.

A small register is stored for Kota Sukamaju (3299) before each test (four programmes, counted by
hand below), and a planner account is made for the city. A planner lands on Program, sees the
board per pillar, saves an edit and a new programme in the browser editor (a new register version,
audited, budgets and statuses kept), and uploads a template with a wrong cell, which is refused
with its sheet, row and column and changes nothing. An OPD operator records the status of its
own programme (stored, audited) and sees no editor. An assessor accepts a reason for stopping.
A viewer is not offered the page and a direct run of it is refused by the core.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from metrics import programmes, users
from metrics.auth import SYSTEM
from metrics.demo import DEMO_PASSWORD
from metrics.i18n import t as core_t
from metrics.records import Programme, ProgrammeBudget, ProgrammeStatus
from metrics.store import Store, utcnow
from tests.apptest_support import no_errors, t
from ui.charts import md_escape
from ui.shell import Filters

ROOT = Path(__file__).resolve().parents[2]
CITY, YEAR = "3299", 2024
PLANNER = "perencana.test"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Diskominfo (01) owns three, Dinas Kesehatan (opd.dinkes's OPD) one. Planned in 2024: PRG-01
# (running, Rp 1.000.000.000 APBD + Rp 250.000.000 APBN), PRG-02 (no status: not started,
# stalled), PRG-03 (stopped, reason not yet accepted: stalled); PRG-04 ended in 2022.
# GOV x masterplan: planned 2, running 1, not started 1, stalled 1, budget 1.250.000.000.
# LIV x quickwin: planned 1, stopped awaiting the assessor 1, stalled 1, budget 0.


def register(dinkes: str) -> tuple[Programme, ...]:
    return (
        Programme(
            "PRG-01",
            "Mal pelayanan publik digital",
            "GOV",
            "masterplan",
            "01",
            2023,
            2026,
            budgets=(
                ProgrammeBudget(2024, "APBD", 1_000_000_000),
                ProgrammeBudget(2024, "APBN", 250_000_000),
            ),
            statuses=(ProgrammeStatus(2024, "berjalan", evidence="SK 12/2024"),),
        ),
        Programme("PRG-02", "Satu data kota", "GOV", "masterplan", "01", 2024, 2025),
        Programme(
            "PRG-03",
            "Rekam medis elektronik puskesmas",
            "LIV",
            "quickwin",
            dinkes,
            2024,
            2024,
            statuses=(ProgrammeStatus(2024, "dihentikan", reason="Anggaran dialihkan ke penanganan banjir"),),
        ),
        Programme("PRG-04", "Wifi taman kota", "GOV", "quickwin", "01", 2020, 2022),
    )


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


@pytest.fixture
def prog_db(app_db: Path) -> Path:
    """The demo copy with the register above and a planner of the city."""

    def setup(store: Store) -> None:
        dinkes = users.get_user(store, "opd.dinkes").opd_code
        with store.transaction() as cur:
            store.insert_programme_version(cur, CITY, register(dinkes), SYSTEM.username, "load", "awal.xlsx")
        if users.get_user(store, PLANNER) is None:
            users.add_user(store, SYSTEM, PLANNER, DEMO_PASSWORD, "planner", CITY, None, "Bappeda Sukamaju")
        BASELINE[app_db] = len(programme_audit(store))
        store.checkpoint()

    with_store(app_db, setup)
    return app_db


def run_page(path: Path, username: str = PLANNER, lang: str = "id", switch: bool = True) -> AppTest:
    user = with_store(path, lambda s: users.get_user(s, username))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, utcnow(), utcnow())
    at.session_state["lang"] = lang
    at.session_state["f_city"] = CITY
    at.session_state["f_year"] = YEAR
    at.run()
    if switch:
        at.switch_page("pages/programmes.py").run()
    return at


def in_force(path: Path) -> dict[str, Programme]:
    return with_store(path, lambda s: {p.code: p for p in s.programmes_in_force(CITY)})


def programme_audit(store: Store) -> list[tuple[str, str, str]]:
    return [(r.action, r.username, r.object) for r in store.audit_rows() if r.action.startswith("programme.")]


BASELINE: dict[Path, int] = {}  # per database: the programme audit rows it had before the test


def audit_actions(path: Path) -> list[tuple[str, str, str]]:
    """The programme audit rows written since the fixture's register (the demo's own come before)."""
    return with_store(path, programme_audit)[BASELINE[path] :]


def table_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


# --------------------------------------------------------------------------- the planner


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_planner_lands_on_program_and_sees_the_board(prog_db, lang):
    at = run_page(prog_db, lang=lang, switch=False)  # no switch: the planner's home
    no_errors(at)
    assert at.title[0].value == t("programmes.page.title", lang)
    board = table_with(at, "planned").set_index(["pillar", "kind"])
    gov = board.loc[("GOV", t("programmes.page.kind.masterplan", lang))]
    assert (gov["planned"], gov["running"], gov["not_started"], gov["stalled"], gov["budget"]) == (
        2,
        1,
        1,
        1,
        1_250_000_000,
    )
    liv = board.loc[("LIV", t("programmes.page.kind.quickwin", lang))]
    assert (liv["planned"], liv["stopped_pending"], liv["stalled"], liv["running"]) == (1, 1, 1, 0)
    listed = table_with(at, "reason")
    assert list(listed["code"]) == ["PRG-01", "PRG-02", "PRG-03"]  # PRG-04 ended in 2022
    assert list(listed["status"]) == [
        t(f"programmes.page.status.{s}", lang) for s in ("berjalan", "direncanakan", "dihentikan")
    ]
    assert [tab.label for tab in at.tabs] == [
        t(f"programmes.page.tab_{k}", lang) for k in ("list", "editor", "file", "status", "versions")
    ]
    assert at.data_editor  # the planner's editor
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [
        t("programmes.page.export_xlsx", lang),
        t("programmes.page.export_csv", lang),
        t("programmes.page.download_template", lang),
    ]


def test_a_planner_edits_and_adds_a_programme_in_the_browser_editor(prog_db):
    before = with_store(prog_db, lambda s: s.programme_version_id(CITY))
    at = run_page(prog_db)
    rows = at.data_editor[0].value
    assert list(rows["kode"]) == ["PRG-01", "PRG-02", "PRG-03", "PRG-04"]
    # the editor's edits, as the browser sends them: one name changed, one programme added
    at.session_state[f"pg_editor_{CITY}_0"] = {
        "edited_rows": {0: {"nama": "Mal pelayanan publik terpadu"}},
        "added_rows": [
            {
                "kode": "PRG-05",
                "nama": "Sistem informasi pasar",
                "pilar": "ECO",
                "jenis": "quickwin",
                "opd": "01",
                "tahun_mulai": 2024,
                "tahun_selesai": 2025,
                "indikator": "",
            }
        ],
        "deleted_rows": [],
    }
    at.button(key="pg_save").click().run()
    no_errors(at)
    after = with_store(prog_db, lambda s: s.programme_version_id(CITY))
    assert after is not None and before is not None and after > before
    assert [s.value for s in at.success] == [t("programmes.page.saved", id=after, n=5)]
    reg = in_force(prog_db)
    assert reg["PRG-01"].name == "Mal pelayanan publik terpadu"
    # what the editor does not show is kept: the budgets and the status
    assert sum(b.amount for b in reg["PRG-01"].budgets) == 1_250_000_000
    assert reg["PRG-01"].status_in(2024).status == "berjalan"
    assert (reg["PRG-05"].pillar, reg["PRG-05"].kind, reg["PRG-05"].start_year) == ("ECO", "quickwin", 2024)
    assert audit_actions(prog_db) == [("programme.edit", PLANNER, f"programmes:{CITY}")]
    # the board and the editor show the new version at once
    assert "PRG-05" in list(table_with(at, "reason")["code"])
    assert list(at.data_editor[0].value["kode"]) == ["PRG-01", "PRG-02", "PRG-03", "PRG-04", "PRG-05"]


def test_an_editor_error_is_located_and_nothing_is_stored(prog_db):
    before = with_store(prog_db, lambda s: s.programme_version_id(CITY))
    at = run_page(prog_db, lang="en")
    at.session_state[f"pg_editor_{CITY}_0"] = {
        "edited_rows": {1: {"jenis": None, "tahun_selesai": 2020}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="pg_save").click().run()
    assert not at.exception and not at.success
    problems = table_with(at, "message")
    assert list(problems["row"]) == [2, 2] and list(problems["column"]) == ["jenis", "tahun_selesai"]
    assert with_store(prog_db, lambda s: s.programme_version_id(CITY)) == before
    assert audit_actions(prog_db) == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_template_with_an_error_is_refused_with_sheet_row_and_column(prog_db, lang):
    def filled(store: Store) -> bytes:
        data = programmes.programme_template(store, users.get_user(store, PLANNER), CITY, lang)
        wb = load_workbook(io.BytesIO(data))
        ws = wb[programmes.PROGRAMME_SHEET]
        col = programmes.TEMPLATE_COLUMNS[programmes.PROGRAMME_SHEET].index("jenis") + 1
        assert ws.cell(3, col).value == "masterplan"  # PRG-02, the second programme
        ws.cell(3, col).value = "unggulan"
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()

    data = with_store(prog_db, filled)
    fingerprint = with_store(prog_db, lambda s: s.content_fingerprint())
    at = run_page(prog_db, lang=lang)
    at.file_uploader(key="pg_file").set_value(("program-isian.xlsx", data, XLSX)).run()
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [
        t("upload.rejected", lang, file=md_escape("program-isian.xlsx"), n=1)
    ]
    problems = table_with(at, "message")
    assert list(problems["sheet"]) == [programmes.PROGRAMME_SHEET] and list(problems["row"]) == [3]
    assert problems["column"][0].startswith("D")  # the `jenis` column
    assert problems["message"][0] == core_t(
        "programme.bad_kind", lang, value="unggulan", choices="masterplan, quickwin"
    )
    assert with_store(prog_db, lambda s: s.content_fingerprint()) == fingerprint
    at.run()  # a rerun does not hand the same file over again
    assert audit_actions(prog_db) == []


def test_a_good_template_is_loaded_as_a_new_version(prog_db):
    data = with_store(
        prog_db, lambda s: programmes.programme_template(s, users.get_user(s, PLANNER), CITY, "id")
    )
    at = run_page(prog_db)
    at.file_uploader(key="pg_file").set_value(("program.xlsx", data, XLSX)).run()
    no_errors(at)
    vid = with_store(prog_db, lambda s: s.programme_version_id(CITY))
    assert [s.value for s in at.success] == [
        t("programmes.page.loaded", file=md_escape("program.xlsx"), id=vid, n=4)
    ]
    assert in_force(prog_db)["PRG-03"].status_in(2024).reason == "Anggaran dialihkan ke penanganan banjir"
    assert [a for a, _u, _o in audit_actions(prog_db)] == ["programme.load"]


# --------------------------------------------------------------------------- an OPD operator


def test_an_opd_operator_updates_its_programme_status_and_sees_no_editor(prog_db):
    at = run_page(prog_db, username="opd.kominfo", lang="en")
    no_errors(at)
    assert [tab.label for tab in at.tabs] == [
        t(f"programmes.page.tab_{k}", "en") for k in ("list", "status", "versions")
    ]
    assert not at.data_editor and not at.file_uploader
    # its own programmes planned this year only (PRG-03 is Dinas Kesehatan's)
    assert at.selectbox(key="pg_status_code").options == [
        "PRG-01 · Mal pelayanan publik digital",
        "PRG-02 · Satu data kota",
    ]
    at.selectbox(key="pg_status_code").set_value("PRG-02")
    at.selectbox(key="pg_status_value").set_value("berjalan")
    at.text_input(key="pg_status_evidence").set_value("https://data.sukamaju.go.id/satu-data")
    at.button[0].click().run()  # the form's submit button
    no_errors(at)
    assert [s.value for s in at.success] == [
        t(
            "programmes.page.status_saved",
            "en",
            code=md_escape("PRG-02"),
            status=t("programmes.page.status.berjalan", "en"),
            year=YEAR,
        )
    ]
    status = in_force(prog_db)["PRG-02"].status_in(2024)
    assert (status.status, status.evidence, status.updated_by) == (
        "berjalan",
        "https://data.sukamaju.go.id/satu-data",
        "opd.kominfo",
    )
    assert audit_actions(prog_db) == [("programme.status", "opd.kominfo", f"programme:{CITY}/PRG-02/2024")]
    board = table_with(at, "planned").set_index(["pillar", "kind"])
    assert board.loc[("GOV", t("programmes.page.kind.masterplan", "en")), "running"] == 2


def test_stopping_without_a_reason_is_refused_by_the_core(prog_db):
    at = run_page(prog_db, username="opd.kominfo")
    at.selectbox(key="pg_status_value").set_value("dihentikan")
    at.button[0].click().run()
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [core_t("programme.reason_required", "id")]
    assert audit_actions(prog_db) == []


# --------------------------------------------------------------------------- an assessor


def test_an_assessor_accepts_a_reason_for_stopping(prog_db):
    at = run_page(prog_db, username="penilai")
    no_errors(at)
    assert t("programmes.page.tab_reasons") in [tab.label for tab in at.tabs]
    assert not at.data_editor
    assert at.selectbox(key="pg_reason_code").options == ["PRG-03"]
    at.text_input(key="pg_reason_note").set_value("Surat pengalihan anggaran terlampir")
    at.button(key="pg_reason_accept").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("programmes.page.reasons_accepted", code=md_escape("PRG-03"), year=YEAR)
    ]
    assert in_force(prog_db)["PRG-03"].status_in(2024).reason_accepted is True
    assert [a for a, _u, _o in audit_actions(prog_db)] == ["programme.reason"]
    board = table_with(at, "planned").set_index(["pillar", "kind"])
    liv = board.loc[("LIV", t("programmes.page.kind.quickwin"))]
    assert (liv["stopped_accepted"], liv["stopped_pending"], liv["stalled"]) == (1, 0, 0)


# --------------------------------------------------------------------------- a viewer


def test_a_viewer_is_not_offered_the_page_and_a_direct_run_is_refused(prog_db):
    user = with_store(prog_db, lambda s: users.get_user(s, "tamu"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, utcnow(), utcnow())
    at.run()
    offered = {
        Path(str(i["script_path"])).name for i in at._registered_pages.values() if i.get("script_path")
    }
    assert "programmes.py" not in offered and "overview.py" in offered
    direct = AppTest.from_file(str(ROOT / "pages" / "programmes.py"), default_timeout=60)
    direct.session_state["session"] = users.Session(user, utcnow(), utcnow())
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
    assert not direct.dataframe and not direct.data_editor and not direct.get("download_button")
