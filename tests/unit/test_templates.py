"""The per-OPD workbook: layout, protection, drop-down, and a filled copy ingests unchanged."""

import io

import openpyxl

from metrics import scoring, templates
from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from tests.conftest import opd_user


def _template(store, city="0101", opd="01", year=2023, prefill=None):
    fw = loaded_frameworks(store)[-1][0]
    c = next(c for c in store.cities() if c.city_code == city)
    o = store.opd_map()[(city, opd)]
    return templates.build_template(fw, c, o, year, prefill)


def test_layout_lists_exactly_the_opds_indicators(mini):
    wb = openpyxl.load_workbook(io.BytesIO(_template(mini)))
    assert wb.sheetnames == [templates.INSTRUCTIONS_SHEET, templates.SHEET]
    ws = wb[templates.SHEET]
    info = {label: ws.cell(row=r, column=2).value for _, (r, label) in templates.INFO_ROWS.items()}
    assert info == {
        "Kode Kota": "0101",
        "Kode OPD": "01",
        "Tahun": 2023,
        "Kerangka": "mini-2023",
        "Versi Templat": "1",
    }
    codes = [ws.cell(row=r, column=1).value for r in range(templates.FIRST_DATA_ROW, ws.max_row + 1)]
    assert codes == ["G1", "G2"]  # DISKOMINFO answers G1 and G2, not the DLH indicators
    assert ws.cell(row=templates.FIRST_DATA_ROW, column=5).value == "Tidak ada"  # rubric level 0
    assert ws.protection.sheet is True
    level_col = templates.COL_INDEX["level"] + 1
    assert ws.cell(row=templates.FIRST_DATA_ROW, column=level_col).protection.locked is False
    assert ws.cell(row=templates.FIRST_DATA_ROW, column=1).protection.locked is True
    assert ws.cell(row=4, column=2).protection.locked is True
    dvs = ws.data_validations.dataValidation
    assert len(dvs) == 1 and dvs[0].type == "list" and dvs[0].formula1 == '"0,1,2,3,4"'


def test_filled_template_round_trips(mini):
    wb = openpyxl.load_workbook(io.BytesIO(_template(mini)))
    ws = wb[templates.SHEET]
    lc, ec = templates.COL_INDEX["level"] + 1, templates.COL_INDEX["evidence"] + 1
    ws.cell(row=11, column=lc, value=3)
    ws.cell(row=11, column=ec, value="Perwali 12/2023")
    ws.cell(row=12, column=lc, value=2)
    buf = io.BytesIO()
    wb.save(buf)
    r = ingest_bytes(mini, opd_user(), buf.getvalue(), "isi.xlsx")
    assert r.accepted, [p.render("en") for p in r.problems]
    assert r.rows == 2
    rows = mini.submission_rows(r.submission_ids[0])
    assert rows[["indicator_code", "level"]].values.tolist() == [["G1", 3], ["G2", 2]]
    assert rows["evidence"].iloc[0] == "Perwali 12/2023" and rows["evidence"].isna().iloc[1]
    assert rows["source_row"].tolist() == [11, 12]
    assert scoring.city_score(mini, "0101", 2023).answered == 2


def test_untouched_template_has_no_answers(mini):
    r = ingest_bytes(mini, opd_user(), _template(mini), "kosong.xlsx")
    assert not r.accepted and r.problems[0].key == "file.no_rows"


def test_prefill_and_errors_in_template_name_sheet_row_column(mini):
    data = _template(mini, prefill={"G1": (9, "x", None)})
    r = ingest_bytes(mini, SYSTEM, data, "salah.xlsx")
    p = r.problems[0]
    assert (p.key, p.sheet, p.row, p.column) == ("cell.level_range", "Penilaian", 11, "J (Level (0-4))")


def test_template_for_other_year_framework_mismatch(mini):
    from metrics.governance import load_framework_text
    from tests.conftest import MINI_YAML

    data = _template(mini, year=2024, prefill={"G1": (2, None, None)})
    text = (
        MINI_YAML.read_text()
        .replace("applies_from: 2023", "applies_from: 2024")
        .replace("id: mini-2023", "id: mini-2024")
    )
    load_framework_text(mini, SYSTEM, text)
    r = ingest_bytes(mini, SYSTEM, data, "lama.xlsx")
    assert [p.key for p in r.problems] == ["xlsx.framework_mismatch"]


def test_tampered_header_is_refused(mini):
    wb = openpyxl.load_workbook(io.BytesIO(_template(mini, prefill={"G1": (2, None, None)})))
    ws = wb[templates.SHEET]
    ws.cell(row=templates.HEADER_ROW, column=10, value="Nilai")
    buf = io.BytesIO()
    wb.save(buf)
    r = ingest_bytes(mini, SYSTEM, buf.getvalue(), "ubah.xlsx")
    assert [(p.key, p.row, p.column) for p in r.problems] == [("xlsx.header", 10, "J")]
