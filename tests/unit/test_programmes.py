"""The programme register: its workbook round trip, every refusal with its place, versions, who
may change what, the assessor's word on a stop reason, the board's counts and the export."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from metrics import programmes as pg
from metrics.auth import SYSTEM, User
from metrics.cells import CellError
from metrics.errors import PeriodClosed, PermissionDenied, Rejected, ValidationError
from metrics.governance import set_period
from tests.conftest import opd_user

pytestmark = pytest.mark.both_backends

CITY = "0101"
PLANNER = User("perencana", "planner", CITY)
ASSESSOR = User("penilai", "assessor")
VIEWER = User("pemirsa", "viewer", CITY)
OPD01 = opd_user(CITY, "01")
OPD03 = opd_user(CITY, "03")


def _put(ws, row, values):
    for col, v in enumerate(values, start=1):
        c = ws.cell(row=row, column=col, value=v)
        if isinstance(v, str):
            c.data_type = "s"  # text as typed, never turned into a formula by openpyxl


def workbook(store, programmes=(), statuses=(), budgets=(), *, city=CITY, base=None):
    """The city's template filled in as a planner would (rows from row 2 of each sheet)."""
    data = base or pg.programme_template(store, PLANNER if city == CITY else SYSTEM, city)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    if programmes or statuses or budgets:  # the sheets hold exactly these rows
        for sheet in pg.DATA_SHEETS:
            wb[sheet].delete_rows(2, wb[sheet].max_row)
    for sheet, rows in (
        (pg.PROGRAMME_SHEET, programmes),
        (pg.STATUS_SHEET, statuses),
        (pg.BUDGET_SHEET, budgets),
    ):
        for n, values in enumerate(rows, start=2):
            _put(wb[sheet], n, values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = (
    ["P1", "Satu Data Kota", "GOV", "masterplan", "01", 2023, 2025, "G1, G2"],
    ["P2", "Perizinan daring terpadu", "GOV.PUB", "quickwin", "02", 2024, 2024, None],
    ["P3", "Sensor udara", "ENV", "masterplan", "03", 2023, 2026, "E1"],
)
GOOD_STATUS = (
    ["P1", 2023, "berjalan", None, "SK Wali Kota 1/2023"],
    ["P1", 2024, "selesai", None, None],
    ["P3", 2024, "dihentikan", "Anggaran dialihkan ke penanganan banjir", "Surat Bappeda"],
)
GOOD_BUDGET = (
    ["P1", 2023, "APBD", 1_500_000_000],
    ["P1", 2024, "APBN", "1.250.000"],
    ["P3", 2024, "mitra", 0],
)


def load(store, data, user=PLANNER, name="program.xlsx"):
    return pg.load_programmes_file(store, user, CITY, data, name)


def rejected(store, *rows, user=PLANNER):
    with pytest.raises(Rejected) as exc:
        load(store, workbook(store, *rows), user)
    return {(p.key, p.sheet, p.row, p.column) for p in exc.value.problems}


# ------------------------------------------------------------------------------------ round trip


def test_template_filled_and_loaded_gives_the_register(mini):
    result = load(mini, workbook(mini, GOOD, GOOD_STATUS, GOOD_BUDGET))
    assert result.programmes == 3 and result.previous == 0 and result.version_id is not None
    reg = {p.code: p for p in pg.register(mini, PLANNER, CITY)}
    assert list(reg) == ["P1", "P2", "P3"]
    p1 = reg["P1"]
    assert (p1.name, p1.pillar, p1.kind, p1.opd_code, p1.start_year, p1.end_year) == (
        "Satu Data Kota",
        "GOV",
        "masterplan",
        "01",
        2023,
        2025,
    )
    assert p1.indicator_codes == ("G1", "G2") and p1.source_row == 2
    assert [(b.year, b.source, b.amount) for b in p1.budgets] == [
        (2023, "APBD", 1_500_000_000),
        (2024, "APBN", 1_250_000),
    ]
    assert [(s.year, s.status, s.evidence, s.updated_by) for s in p1.statuses] == [
        (2023, "berjalan", "SK Wali Kota 1/2023", "perencana"),
        (2024, "selesai", None, "perencana"),
    ]
    p3 = reg["P3"]
    assert p3.statuses[0].reason == "Anggaran dialihkan ke penanganan banjir"
    assert p3.statuses[0].reason_accepted is False
    assert reg["P2"].indicator_codes == () and reg["P2"].pillar == "GOV.PUB"


def test_the_template_is_prefilled_with_the_register_and_loads_back_unchanged(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS, GOOD_BUDGET))
    before = pg.register(mini, PLANNER, CITY)
    data = pg.programme_template(mini, PLANNER, CITY, "en")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Petunjuk", "Program", "Status", "Anggaran", "Daftar"]
    assert [c.value for c in wb["Program"][1]] == list(pg.TEMPLATE_COLUMNS["Program"])
    assert wb["Program"]["A2"].value == "P1" and wb["Program"]["E2"].value == "01"
    assert wb["Petunjuk"].cell(*pg.CITY_CELL).value == CITY
    # the drop-downs: pillars and OPDs from the lists sheet, kinds, statuses and sources inline
    formulas = {
        (ws.title, dv.formula1)
        for ws in wb.worksheets
        for dv in ws.data_validations.dataValidation
        if dv.type == "list"
    }
    assert ("Program", "Daftar!$A$2:$A$4") in formulas  # GOV, ENV, GOV.PUB
    assert ("Program", "Daftar!$C$2:$C$4") in formulas  # OPDs 01, 02, 03 of city 0101
    assert ("Program", '"masterplan,quickwin"') in formulas
    assert ("Status", '"direncanakan,berjalan,selesai,dihentikan"') in formulas
    assert ("Anggaran", '"APBD,APBN,mitra"') in formulas
    assert [wb["Daftar"].cell(row=r, column=1).value for r in (2, 3, 4)] == ["GOV", "ENV", "GOV.PUB"]
    again = load(mini, data, name="again.xlsx")
    after = pg.register(mini, PLANNER, CITY)
    assert again.programmes == 3 and again.previous == 3
    assert after == before  # same statuses, kept with who set them and when


def test_formula_like_text_goes_in_and_out_as_text(mini):
    rows = (["P1", '=HYPERLINK("http://x.test","klik")', "GOV", "masterplan", "01", 2023, 2023, None],)
    load(mini, workbook(mini, rows))
    assert pg.register(mini, PLANNER, CITY)[0].name == '=HYPERLINK("http://x.test","klik")'
    wb = openpyxl.load_workbook(io.BytesIO(pg.programme_template(mini, PLANNER, CITY)))
    cell = wb["Program"]["B2"]
    assert cell.data_type == "s" and cell.quotePrefix  # shown as text by Excel, re-read the same
    assert load(mini, workbook(mini, base=pg.programme_template(mini, PLANNER, CITY))).programmes == 1


# -------------------------------------------------------------------------------------- refusals


def test_every_bad_programme_cell_is_named_with_sheet_row_and_column(mini):
    rows = (
        ["P1", "Baik", "GOV", "masterplan", "01", 2023, 2024, None],
        ["P1", "Kode ganda", "GOV", "masterplan", "01", 2023, 2024, None],  # duplicate code
        ["P2", "Pilar asing", "ECO", "masterplan", "01", 2023, 2024, None],
        ["P3", "Jenis salah", "GOV", "rencana", "01", 2023, 2024, None],
        ["P4", "OPD asing", "GOV", "quickwin", "99", 2023, 2024, None],
        ["P5", "Terbalik", "GOV", "quickwin", "01", 2025, 2023, None],
        ["P6", "Tahun aneh", "GOV", "quickwin", "01", 1800, 2023, None],
        ["P7", "Indikator asing", "ENV", "quickwin", "03", 2023, 2024, "E1, X9"],
        ["P8", None, "ENV", "quickwin", "03", 2023, 2024, None],  # name missing
        ["P9", "Sebelum kerangka", "ENV", "quickwin", "03", 2020, 2022, None],
    )
    assert rejected(mini, rows) == {
        ("cell.duplicate_row", "Program", 3, "A"),
        ("programme.unknown_pillar", "Program", 4, "C"),
        ("programme.bad_kind", "Program", 5, "D"),
        ("cell.unknown_opd", "Program", 6, "E"),
        ("programme.span", "Program", 7, "G"),
        ("cell.year", "Program", 8, "F"),
        ("programme.unknown_indicator", "Program", 9, "H"),
        ("cell.required", "Program", 10, "B"),
        ("programme.no_framework", "Program", 11, "F"),
    }


def test_every_bad_status_and_budget_cell_is_named(mini):
    rows = (["P1", "Baik", "GOV", "masterplan", "01", 2023, 2026, None],)
    statuses = (
        ["P1", 2023, "dihentikan", None, None],  # no reason
        ["P1", 2027, "berjalan", None, None],  # outside 2023-2026
        ["P1", 2024, "macet", None, None],  # unknown status
        ["PX", 2024, "berjalan", None, None],  # unknown programme
        ["P1", 2025, "berjalan", "tidak perlu", None],  # a reason without stopping
        ["P1", 2024, "selesai", None, None],  # P1 2024 already on row 4
    )
    budgets = (
        ["P1", 2023, "APBD", -5],
        ["P1", 2023, "hibah", 10],
        ["P1", 2027, "APBN", 10],
        ["P1", 2024, "APBD", "1,5 juta"],
        ["P1", 2024, "APBN", 2.5],
    )
    assert rejected(mini, rows, statuses, budgets) == {
        ("programme.reason_required", "Status", 2, "D"),
        ("programme.outside_span", "Status", 3, "B"),
        ("programme.bad_status", "Status", 4, "C"),
        ("programme.unknown_code", "Status", 5, "A"),
        ("programme.reason_not_stopped", "Status", 6, "D"),
        ("cell.duplicate_row", "Status", 7, "B"),
        ("programme.bad_amount", "Anggaran", 2, "D"),
        ("programme.bad_source", "Anggaran", 3, "C"),
        ("programme.outside_span", "Anggaran", 4, "B"),
        ("programme.bad_amount", "Anggaran", 5, "D"),
        ("programme.bad_amount", "Anggaran", 6, "D"),
    }


def test_problems_read_in_both_languages(mini):
    rows = (["P1", "Baik", "ECO", "masterplan", "01", 2023, 2024, None],)
    with pytest.raises(Rejected) as exc:
        load(mini, workbook(mini, rows))
    (p,) = exc.value.problems
    assert p.render("id") == (
        "program.xlsx, lembar Program, baris 2, kolom C: Pilar 'ECO' tidak ada dalam kerangka mini-2023 (berlaku pada 2023)."
    )
    assert p.render("en") == (
        "program.xlsx, sheet Program, row 2, column C: Pillar 'ECO' is not in framework mini-2023 (in force in 2023)."
    )


def test_structure_refusals_formula_cells_personal_data_and_another_citys_file(mini):
    wb = openpyxl.load_workbook(io.BytesIO(workbook(mini, GOOD)))
    wb["Program"]["B2"] = "=1+1"  # a real formula
    wb["Program"]["B3"] = "Warga 3201234567890123"  # a NIK in a name
    wb["Status"]["C1"] = "keadaan"  # a renamed header
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(Rejected) as exc:
        load(mini, buf.getvalue())
    assert {(p.key, p.sheet, p.row, p.column) for p in exc.value.problems} == {
        ("xlsx.formula", "Program", 2, "B"),
        ("file.personal_data", "Program", 3, "B"),
        ("xlsx.header", "Status", 1, "C"),
    }
    other = workbook(mini, (["P1", "Baik", "GOV", "masterplan", "01", 2023, 2024, None],), city="0202")
    with pytest.raises(Rejected) as exc:
        load(mini, other)
    assert [(p.key, p.sheet, p.params) for p in exc.value.problems] == [
        ("programme.wrong_city", "Petunjuk", {"found": "0202", "city": CITY})
    ]
    with pytest.raises(Rejected) as exc:
        load(mini, b"kode,nama\nP1,x\n", name="program.csv")
    assert [p.key for p in exc.value.problems] == ["programme.not_workbook"]
    with pytest.raises(Rejected) as exc:
        load(mini, workbook(mini))
    assert [p.key for p in exc.value.problems] == ["programme.empty"]


def test_a_refused_file_changes_nothing(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS, GOOD_BUDGET))
    versions, audit = pg.programme_versions(mini, PLANNER, CITY), mini.audit_count()
    bad = (*GOOD, ["P4", "Pilar asing", "ECO", "masterplan", "01", 2023, 2024, None])
    with pytest.raises(Rejected):
        load(mini, workbook(mini, bad, GOOD_STATUS, GOOD_BUDGET))
    assert pg.programme_versions(mini, PLANNER, CITY) == versions and mini.audit_count() == audit
    assert [p.code for p in pg.register(mini, PLANNER, CITY)] == ["P1", "P2", "P3"]


# ------------------------------------------------------------------------ versions, audit, roles


def test_two_loads_are_two_versions_and_the_first_stays_readable(mini):
    first = load(mini, workbook(mini, GOOD), name="a.xlsx")
    second = load(mini, workbook(mini, GOOD[:1]), name="b.xlsx")
    assert second.previous == 3 and second.programmes == 1
    versions = pg.programme_versions(mini, PLANNER, CITY)
    assert [(v.id, v.change, v.file_name) for v in versions] == [
        (second.version_id, "load", "b.xlsx"),
        (first.version_id, "load", "a.xlsx"),
    ]
    assert versions[0].sha256 and mini.file_content(versions[0].sha256)  # the file is kept
    assert [p.code for p in pg.programmes_of_version(mini, PLANNER, CITY, first.version_id)] == [
        "P1",
        "P2",
        "P3",
    ]
    assert [p.code for p in pg.register(mini, PLANNER, CITY)] == ["P1"]
    rows = mini.audit_frame(action="programme.load")
    assert len(rows) == 2 and set(rows["object"]) == {f"programmes:{CITY}"}


def test_who_may_load_read_and_update(mini):
    data = workbook(mini, GOOD)
    for user in (OPD01, VIEWER, ASSESSOR, User("p2", "planner", "0202")):
        with pytest.raises(PermissionDenied):
            load(mini, data, user)
    load(mini, data)
    assert len(pg.register(mini, OPD01, CITY)) == 3  # an OPD reads its city's whole register
    with pytest.raises(PermissionDenied):
        pg.register(mini, VIEWER, CITY)
    with pytest.raises(PermissionDenied):
        pg.register(mini, opd_user("0202", "01"), CITY)
    with pytest.raises(PermissionDenied):
        pg.programme_template(mini, OPD01, CITY)


def test_an_opd_updates_its_own_programme_only(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS))
    vid = pg.update_status(mini, OPD01, CITY, "P1", 2025, "berjalan", evidence="Laporan triwulan")
    s = next(p for p in pg.register(mini, OPD01, CITY) if p.code == "P1").status_in(2025)
    assert (s.status, s.evidence, s.updated_by) == ("berjalan", "Laporan triwulan", OPD01.username)
    assert pg.programme_versions(mini, PLANNER, CITY)[0].id == vid
    assert pg.programme_versions(mini, PLANNER, CITY)[0].change == "status"
    with pytest.raises(PermissionDenied):
        pg.update_status(mini, OPD01, CITY, "P3", 2024, "berjalan")  # P3 belongs to OPD 03
    with pytest.raises(PermissionDenied):
        pg.update_status(mini, VIEWER, CITY, "P1", 2024, "berjalan")
    with pytest.raises(ValidationError) as exc:
        pg.update_status(mini, OPD01, CITY, "P1", 2026, "berjalan")
    assert exc.value.key == "programme.outside_span"
    with pytest.raises(ValidationError) as exc:
        pg.update_status(mini, OPD01, CITY, "P1", 2025, "dihentikan")
    assert exc.value.key == "programme.reason_required"
    (row,) = mini.audit_frame(action="programme.status").to_dict("records")
    assert row["object"] == f"programme:{CITY}/P1/2025" and row["username"] == OPD01.username


def test_a_locked_year_refuses_status_updates(mini):
    load(mini, workbook(mini, GOOD))
    set_period(mini, SYSTEM, CITY, 2024, "locked")
    with pytest.raises(PeriodClosed):
        pg.update_status(mini, OPD01, CITY, "P1", 2024, "berjalan")


def test_a_locked_year_refuses_a_register_that_changes_what_it_counts(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS))
    set_period(mini, SYSTEM, CITY, 2023, "locked")
    before = mini.programme_version_id(CITY)
    changed_2023 = [["P1", 2023, "dihentikan", "Dipindah ke program provinsi", None], *GOOD_STATUS[1:]]
    with pytest.raises(PeriodClosed):
        load(mini, workbook(mini, GOOD, changed_2023))
    assert mini.programme_version_id(CITY) == before
    # a change that leaves 2023 as it was (P1's 2024 status) is taken
    changed_2024 = [GOOD_STATUS[0], ["P1", 2024, "berjalan", None, None], GOOD_STATUS[2]]
    assert load(mini, workbook(mini, GOOD, changed_2024)).version_id != before


def test_an_assessor_accepts_a_reason_and_a_reload_keeps_it(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS))
    with pytest.raises(PermissionDenied):
        pg.decide_stop_reason(mini, PLANNER, CITY, "P3", 2024, True)
    with pytest.raises(ValidationError) as exc:
        pg.decide_stop_reason(mini, ASSESSOR, CITY, "P1", 2024, True)  # P1 is not stopped
    assert exc.value.key == "programme.no_stop_reason"
    pg.decide_stop_reason(mini, ASSESSOR, CITY, "P3", 2024, True, "Surat dialihkan diperiksa")
    assert pg.programme_versions(mini, PLANNER, CITY)[0].note == "Surat dialihkan diperiksa"

    def accepted():
        p3 = next(p for p in pg.register(mini, PLANNER, CITY) if p.code == "P3")
        return p3.status_in(2024).reason_accepted

    assert accepted() is True
    load(mini, workbook(mini, GOOD, GOOD_STATUS))  # the same reason uploaded again: still accepted
    assert accepted() is True
    other = (*GOOD_STATUS[:2], ["P3", 2024, "dihentikan", "Alasan lain", None])
    load(mini, workbook(mini, GOOD, other))  # a new reason needs a new decision
    assert accepted() is False
    (row,) = mini.audit_frame(action="programme.reason").to_dict("records")
    assert row["object"] == f"programme:{CITY}/P3/2024" and row["username"] == ASSESSOR.username


def test_the_board_tells_a_waiting_reason_from_a_rejected_one(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS))

    def state():
        (row,) = pg.board(mini, ASSESSOR, CITY, 2024).reasons
        return row.code, row.reason_state

    assert state() == ("P3", "pending")
    pg.decide_stop_reason(mini, ASSESSOR, CITY, "P3", 2024, False, "Bukti pengalihan anggaran belum ada")
    assert state() == ("P3", "rejected")
    load(mini, workbook(mini, GOOD, GOOD_STATUS))  # the same reason again: still judged
    assert state() == ("P3", "rejected")
    pg.update_status(mini, OPD03, CITY, "P3", 2024, "dihentikan", "Dialihkan ke program provinsi")
    assert state() == ("P3", "pending")  # a new reason waits for a new decision
    pg.decide_stop_reason(mini, ASSESSOR, CITY, "P3", 2024, True)
    assert state() == ("P3", "accepted")


# ------------------------------------------------------------------------------------ the editor


def test_editor_rows_and_save(mini):
    load(mini, workbook(mini, GOOD, GOOD_STATUS, GOOD_BUDGET))
    rows = pg.editor_rows(mini, PLANNER, CITY)
    assert list(rows[0]) == list(pg.EDITOR_COLUMNS)
    assert rows[0]["indikator"] == "G1, G2"
    rows[0]["nama"] = "Satu Data Kota (revisi)"
    rows = [r for r in rows if r["kode"] != "P2"]  # P2 removed
    rows.append(
        {
            "kode": "P4",
            "nama": "Baru",
            "pilar": "ENV",
            "jenis": "quickwin",
            "opd": "03",
            "tahun_mulai": 2024.0,
            "tahun_selesai": float("nan"),
            "indikator": None,
        }
    )
    with pytest.raises(Rejected) as exc:
        pg.save_programmes(mini, PLANNER, CITY, rows)
    assert [(p.key, p.row, p.column) for p in exc.value.problems] == [("cell.required", 3, "tahun_selesai")]
    rows[-1]["tahun_selesai"] = 2025
    rows[0]["tahun_selesai"] = 2023  # P1's 2024 status and budget would fall outside
    with pytest.raises(Rejected) as exc:
        pg.save_programmes(mini, PLANNER, CITY, rows)
    assert [(p.key, p.row, p.column) for p in exc.value.problems] == [
        ("programme.span_drops_budget", 1, "tahun_selesai")
    ]
    rows[0]["tahun_selesai"] = 2025
    result = pg.save_programmes(mini, PLANNER, CITY, rows)
    assert (result.previous, result.programmes) == (3, 3)
    reg = {p.code: p for p in pg.register(mini, PLANNER, CITY)}
    assert list(reg) == ["P1", "P3", "P4"] and reg["P1"].name == "Satu Data Kota (revisi)"
    assert len(reg["P1"].statuses) == 2 and len(reg["P1"].budgets) == 2  # kept from the version before
    (row,) = mini.audit_frame(action="programme.edit").to_dict("records")
    assert json.loads(row["before"])["programmes"] == 3 and json.loads(row["after"])["programmes"] == 3
    with pytest.raises(PermissionDenied):
        pg.save_programmes(mini, OPD01, CITY, rows)


# ------------------------------------------------------------------------------------- the board


def test_board_counts_a_hand_made_register(mini):
    programmes = (
        ["M1", "Berjalan", "GOV", "masterplan", "01", 2023, 2025, None],
        ["M2", "Selesai", "GOV.PUB", "masterplan", "02", 2024, 2024, None],
        ["M3", "Belum mulai", "GOV", "masterplan", "01", 2024, 2026, None],
        ["M4", "Dihentikan, diterima", "GOV", "masterplan", "01", 2023, 2024, None],
        ["M5", "Dihentikan, menunggu", "GOV", "masterplan", "02", 2024, 2025, None],
        ["M6", "Nanti", "GOV", "masterplan", "01", 2025, 2026, None],
        ["Q1", "Direncanakan", "GOV.PUB", "quickwin", "01", 2024, 2024, None],
        ["Q2", "Berjalan", "ENV", "quickwin", "03", 2024, 2024, None],
    )
    statuses = (
        ["M1", 2024, "berjalan", None, None],
        ["M2", 2024, "selesai", None, None],
        ["M4", 2024, "dihentikan", "Digabung ke M1", None],
        ["M5", 2024, "dihentikan", "Tidak ada anggaran", None],
        ["Q1", 2024, "direncanakan", None, None],
        ["Q2", 2024, "berjalan", None, None],
    )
    budgets = (
        ["M1", 2024, "APBD", 100],
        ["M1", 2024, "APBN", 50],
        ["M1", 2023, "APBD", 999],  # another year
        ["M3", 2024, "mitra", 7],
        ["Q2", 2024, "APBD", 30],
    )
    load(mini, workbook(mini, programmes, statuses, budgets))
    pg.decide_stop_reason(mini, ASSESSOR, CITY, "M4", 2024, True)
    b = pg.board(mini, OPD01, CITY, 2024, "en")
    assert b.framework_id == "mini-2023" and b.unplaced == () and b.versions == 2
    cells = {(c.pillar, c.kind): c for c in b.cells}
    assert list(cells) == [
        ("GOV", "masterplan"),
        ("GOV", "quickwin"),
        ("ENV", "masterplan"),
        ("ENV", "quickwin"),
    ]
    gm = cells[("GOV", "masterplan")]
    assert (gm.planned, gm.running, gm.stopped_accepted, gm.stopped_pending, gm.not_started, gm.stalled) == (
        5,
        2,
        1,
        1,
        1,
        2,
    )
    assert gm.budget == 157 and gm.share == 2 / 4 and gm.pillar_name == "Governance"
    assert [r.code for r in gm.rows] == ["M1", "M2", "M3", "M4", "M5"]
    gq = cells[("GOV", "quickwin")]
    assert (gq.planned, gq.running, gq.not_started, gq.stalled, gq.share) == (1, 0, 1, 1, 0.0)
    em = cells[("ENV", "masterplan")]
    assert (em.planned, em.share) == (0, None)
    eq = cells[("ENV", "quickwin")]
    assert (eq.planned, eq.running, eq.budget, eq.share) == (1, 1, 30, 1.0)
    m3 = next(r for r in gm.rows if r.code == "M3")
    assert (m3.status, m3.recorded, m3.stalled, m3.opd_name) == (
        "direncanakan",
        False,
        True,
        "Dinas Kominfo Uji",
    )
    assert [r.code for r in pg.stalled(mini, PLANNER, CITY, 2024)] == ["M3", "M5", "Q1"]
    assert [r.code for r in pg.opd_programmes(mini, OPD01, CITY, "01", 2024)] == ["M1", "M3", "M4", "Q1"]
    assert [r.code for r in pg.stalled(mini, PLANNER, CITY, 2026)] == ["M3", "M6"]
    with pytest.raises(PermissionDenied):
        pg.board(mini, VIEWER, CITY, 2024)


def test_a_city_without_a_register_has_an_empty_board(mini):
    b = pg.board(mini, PLANNER, CITY, 2024)
    assert b.versions == 0 and all(c.planned == 0 for c in b.cells) and len(b.cells) == 4


# ------------------------------------------------------------------------------------ the export


def test_export_makes_formula_text_inert_and_is_audited(mini):
    rows = (["P1", '=HYPERLINK("http://x.test","klik")', "GOV", "masterplan", "01", 2023, 2024, None],)
    statuses = (["P1", 2024, "dihentikan", "@SUM(1)", "+62 811"],)
    load(mini, workbook(mini, rows, statuses, (["P1", 2024, "APBD", 5],)))
    wb = openpyxl.load_workbook(io.BytesIO(pg.export_programmes(mini, PLANNER, CITY, "xlsx")))
    assert wb.sheetnames == ["Program", "Status", "Anggaran"]
    name = wb["Program"]["B2"]
    assert name.value == '\'=HYPERLINK("http://x.test","klik")' and name.data_type == "s"
    assert [c.value for c in wb["Status"][2]] == ["P1", 2024, "dihentikan", "'@SUM(1)", "'+62 811", None]
    assert not any(c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    text = pg.export_programmes(mini, PLANNER, CITY, "csv").decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == list(pg.CSV_COLUMNS)
    assert table[1][:2] == ["P1", '\'=HYPERLINK("http://x.test","klik")'] and table[1][5] == "2023"
    assert table[2][5:11] == ["2024", "dihentikan", "'@SUM(1)", "", "'+62 811", "5"]
    assert len(mini.audit_frame(action="export")) == 2
    with pytest.raises(PermissionDenied):
        pg.export_programmes(mini, OPD01, CITY, "csv")
    with pytest.raises(ValidationError):
        pg.export_programmes(mini, PLANNER, CITY, "pdf")


def test_amounts_and_years_parse_as_people_type_them():
    assert pg.parse_amount("Rp 1.500.000") == 1_500_000
    assert pg.parse_amount(2_000_000.0) == 2_000_000
    assert pg.parse_amount("  ") is None
    for bad in ("1,5", "-3", 1.5, "10e9"):
        with pytest.raises(CellError):
            pg.parse_amount(bad)
    assert pg.parse_year(2024.0) == 2024 and pg.parse_year(None) is None
    assert pg.parse_codes("G1, G2;E1  G1") == ("G1", "G2", "E1")
