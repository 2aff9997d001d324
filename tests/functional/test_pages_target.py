"""Jalur ke target (issue 20) through the real router with AppTest, on a private copy of the demo
database (Kota Sukamaju, 3299, 2024: index 3,2058, band Maju).

The mayor's office sets an index target and reads the task list per OPD: every number on the page
is the plan metrics.targets.plan gives for the same target; an unreachable target says so with
the best reachable index. The XLSX and PDF downloads (run as the server runs a click: the
callables the buttons register) hold the same plan and are audited. A planner saves an effort
per step and the plan's total effort changes to the core's new optimum; an OPD operator may not
set the effort of an indicator its OPD does not answer (the core's refusal is shown, nothing is
stored). Roles without Action.PLAN are not offered the page.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from metrics import efforts, formatting, reportcard, targets, users
from metrics.i18n import t as core_t
from tests.apptest_support import app_store, no_errors, session, t
from ui.charts import md_escape

ROOT = Path(__file__).resolve().parents[2]
CITY, YEAR = "3299", 2024


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


def run_page(path: Path, username: str, lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = lang
    at.session_state["f_city"] = CITY
    at.session_state["f_year"] = YEAR
    at.run()
    at.switch_page("pages/target.py").run()
    no_errors(at)
    return at


def set_index_target(at: AppTest, value: float) -> AppTest:
    at.number_input(key="tg_index").set_value(value)
    at.button(key="tg_go").click().run()
    no_errors(at)
    return at


def core_plan(path: Path, username: str, value: float, lang: str = "id") -> targets.Plan:
    store = app_store(path)
    return targets.plan(
        store, users.get_user(store, username), CITY, YEAR, targets.Target("index", value), lang
    )


def num(v: float | None, lang: str = "id") -> str:
    return formatting.number(v, lang)


def audit(path: Path, prefix: str) -> list[tuple[str, str, str]]:
    return [
        (r.action, r.username, r.object) for r in app_store(path).audit_rows() if r.action.startswith(prefix)
    ]


def task_tables(at: AppTest, n: int) -> list:
    """The first `n` tables of the page: the task list, one per OPD."""
    return [d.value for d in at.dataframe[:n]]


def test_the_executive_sets_an_index_target_and_reads_the_plan(app_db, deferred):
    at = run_page(app_db, "walikota")
    # where the city stands, from metrics.targets.situation
    sit = targets.situation(
        app_store(app_db), users.get_user(app_store(app_db), "walikota"), CITY, YEAR, "id"
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("target.index_now", hi=4)] == num(sit.index) == "3,21"
    assert metrics[t("target.band_now")] == sit.band == "Maju"
    set_index_target(at, 3.5)
    plan = core_plan(app_db, "walikota", 3.5)
    assert plan.reachable and plan.needed_index == 3.5
    # 4 programmes to start: 3,2058 + 0,1333 + 0,1 + 0,05 + 0,0333 = 3,5225, each costing one step
    assert [m.code for m in plan.moves] == ["ECO-QW01", "GOV-MP02", "BRD-MP04", "LIV-MP06"]
    assert plan.total_effort == 4.0 and round(plan.final_index, 4) == 3.5225
    assert [s.value for s in at.success] == [
        t(
            "target.reachable_plan",
            needed="3,50",
            final=num(plan.final_index),
            n=4,
            effort="4,00",
            unit=t("target.unit.langkah"),
        )
    ]
    # the task list per OPD: the plan's tasks, in the core's OPD order, with its exact numbers
    groups = targets.by_opd(plan, "id")
    assert list(groups) == [
        "Dinas Komunikasi dan Informatika",
        "Dinas Kesehatan",
        "Dinas Pekerjaan Umum dan Penataan Ruang",
        "Badan Pendapatan Daerah",
    ]
    tables = task_tables(at, len(groups))
    step = {m: n for n, m in enumerate(plan.moves, 1)}
    for table, moves in zip(tables, groups.values()):
        assert list(table["code"]) == [m.code for m in moves]
        assert list(table["step"]) == [step[m] for m in moves]
        assert list(table["index_after"]) == [m.index_after for m in moves]
        assert list(table["effort"]) == [m.effort for m in moves]
        assert list(table["target_text"]) == [m.target_text for m in moves]
    assert list(tables[0]["target_text"]) == ["jalankan program Pusat Data dan Komputasi Awan Pemda"]
    assert at.get("plotly_chart")  # the index climbing to the target
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("target.total_effort", unit=t("target.unit.langkah"))] == "4,00"

    # the downloads: nothing exported until clicked, then each audited once
    xlsx_name, pdf_name = f"jalur_{CITY}_{YEAR}_id.xlsx", f"jalur_{CITY}_{YEAR}_id.pdf"
    assert {xlsx_name, pdf_name} <= set(deferred)
    assert audit(app_db, "export") == []
    wb = load_workbook(io.BytesIO(deferred[xlsx_name]()))
    assert wb.sheetnames == ["Tugas", "Ringkasan"]
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    rows = list(wb["Tugas"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:4] == ("OPD", "Langkah", "Kode", "Indikator / program")
    body = [dict(zip(header, r)) for r in rows[1:]]
    assert [(r["OPD"], r["Kode"], r["Langkah"]) for r in body] == [
        (opd, m.code, step[m]) for opd, moves in groups.items() for m in moves
    ]
    # (a spreadsheet keeps 15 significant digits)
    assert [r[core_t("target.xlsx.index_after", "id")] for r in body] == pytest.approx(
        [m.index_after for ms in groups.values() for m in ms], rel=1e-14
    )
    assert [r["Upaya"] for r in body] == [1.0] * 4
    summary = dict(wb["Ringkasan"].iter_rows(min_row=2, values_only=True))
    assert summary["Kota"] == "Kota Sukamaju" and summary["Tahun"] == YEAR
    assert summary["Target"] == "indeks 3,50" and summary["Indeks yang diperlukan"] == 3.5
    assert summary["Indeks sekarang"] == pytest.approx(plan.start_index, rel=1e-14)
    assert summary["Upaya total"] == 4.0
    assert summary["Dapat dicapai"] == "ya" and summary["Jumlah tugas"] == 4
    pdf = deferred[pdf_name]()
    assert pdf[:5] == b"%PDF-"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Kota Sukamaju" in text and "Jalur ke target" in text and "GOV-MP02" in text
    assert audit(app_db, "export") == [
        ("export", "walikota", f"plan:{YEAR}/{CITY}"),
        ("export", "walikota", f"plan:{YEAR}/{CITY}"),
    ]


def test_an_unreachable_target_shows_the_best_index(app_db):
    at = set_index_target(run_page(app_db, "walikota", "en"), 4.0)
    plan = core_plan(app_db, "walikota", 4.0, "en")
    assert not plan.reachable and round(plan.final_index, 4) == 3.8138
    assert not at.success
    assert [w.value for w in at.warning] == [
        t("target.unreachable", "en", needed="4.00", best=num(plan.final_index, "en"))
    ]
    # every move is listed: the cheapest way to the best reachable index
    groups = targets.by_opd(plan, "en")
    shown = [code for table in task_tables(at, len(groups)) for code in table["code"]]
    assert sorted(shown) == sorted(m.code for ms in groups.values() for m in ms)


def test_a_planner_saves_an_effort_and_the_plan_changes(app_db):
    planner = "bappeda.sukamaju"
    at = set_index_target(run_page(app_db, planner), 3.55)
    before = core_plan(app_db, planner, 3.55)
    assert before.total_effort == 8.0
    # a one-step task of the plan (every step costs one by default)
    task = next(m for m in before.moves if m.kind == "level" and m.effort == 1.0)
    editor = at.data_editor[0].value
    row = list(editor["code"]).index(task.code)
    key = f"tg_efforts_{CITY}_{YEAR}_0"
    at.session_state[key] = {
        "edited_rows": {row: {f"to_{task.to_level}": 0.5}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="tg_effort_save").click().run()
    no_errors(at)
    assert app_store(app_db).effort_rows(CITY, YEAR)[0][:3] == (task.code, task.to_level, 0.5)
    assert audit(app_db, "effort.") == [("effort.set", planner, f"efforts:{CITY}/{YEAR}")]
    after = core_plan(app_db, planner, 3.55)
    # that step now costs half: the old tasks cost 7,5, so the optimum is at most that, and every
    # other step still costs one, so a plan that cheap takes the halved step
    assert after.total_effort <= 7.5
    assert (task.code, 0.5) in [(m.code, m.effort) for m in after.moves]
    successes = [s.value for s in at.success]
    assert successes[0] == t("target.effort.saved", n=1, unit=t("target.unit.langkah"))
    assert successes[1] == t(
        "target.reachable_plan",
        needed="3,55",
        final=num(after.final_index),
        n=len(after.moves),
        effort=num(after.total_effort),
        unit=t("target.unit.langkah"),
    )
    # the planner may change the unit too: audited, and the plan counts in it
    at.selectbox(key=f"tg_unit_{CITY}_{YEAR}_1").set_value("hari")
    at.button(key="tg_effort_save").click().run()
    no_errors(at)
    assert efforts.effort_unit_of(app_store(app_db), CITY, YEAR) == "hari"
    assert at.success[0].value == t("target.effort.saved", n=0, unit=t("target.unit.hari"))


def test_an_opd_cannot_set_the_effort_of_another_opds_indicator(app_db):
    at = run_page(app_db, "opd.kominfo")
    editor = at.data_editor[0].value
    mine = dict(zip(editor["code"], editor["editable"]))
    # Diskominfo (01) answers GOV-01 but not GOV-05 (Bagian Organisasi's)
    assert mine["GOV-01"] and not mine["GOV-05"]
    assert not at.selectbox  # the unit is the planner's
    row = list(editor["code"]).index("GOV-05")
    key = f"tg_efforts_{CITY}_{YEAR}_0"
    at.session_state[key] = {"edited_rows": {row: {"to_4": 3.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="tg_effort_save").click().run()
    assert not at.exception and not at.success
    opd = users.get_user(app_store(app_db), "opd.kominfo").opd_code
    assert [e.value for e in at.error] == [
        core_t("effort.not_yours", "id", indicator=md_escape("GOV-05"), opd=md_escape(opd))
    ]
    assert app_store(app_db).effort_rows(CITY, YEAR) == []
    assert audit(app_db, "effort.") == []
    # its own indicator is accepted
    own = list(editor["code"]).index("GOV-01")
    at.session_state[key] = {"edited_rows": {own: {"to_4": 3.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="tg_effort_save").click().run()
    no_errors(at)
    assert [r[:3] for r in app_store(app_db).effort_rows(CITY, YEAR)] == [("GOV-01", 4, 3.0)]


@pytest.mark.parametrize("username", ["tamu", "penilai"])
def test_roles_without_plan_do_not_get_the_page(app_db, username):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(app_db, username)
    at.run()
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/target.py")


def test_the_report_card_can_carry_the_plan(app_db):
    """reportcard.report_card(target=...): the path to the target as a page before the signature."""
    store = app_store(app_db)
    walikota = users.get_user(store, "walikota")
    card = reportcard.report_card(store, walikota, CITY, YEAR, "id", target=targets.Target("index", 3.5))
    assert card.sections[-2:] == (t("target.pdf.title"), t("rc.priorities_title"))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(card.pdf)).pages)
    assert "ECO-QW01" in text and "indeks 3,50" in text
