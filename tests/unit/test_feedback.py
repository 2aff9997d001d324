"""Feedback files for refused uploads (metrics.feedback): the marked workbook and the errors CSV.

The marked copy must point at exactly the cells the problems name (fill + comment), list every
problem on its own first sheet, and never turn text into a formula; the errors CSV must make
formula-like text inert for spreadsheet programs.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from metrics import entry, feedback, ingest, users
from metrics import templates as tpl
from metrics.errors import Problem

CITY, YEAR = "3299", 2024
LEVEL_COL = tpl.COL_INDEX["level"] + 1
EVIDENCE_COL = tpl.COL_INDEX["evidence"] + 1


def _xlsx(rows: list[list[object]], title: str = "Data") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def refused_template(demo_store):
    """opd.kominfo's template with three bad levels and formula-like (but plain text) evidence."""
    user = users.get_user(demo_store, "opd.kominfo")
    f = entry.template(demo_store, user, CITY, "01", YEAR)
    wb = load_workbook(io.BytesIO(f.data))
    ws = wb[tpl.SHEET]
    ws.cell(11, LEVEL_COL).value = "3,5"
    ws.cell(12, LEVEL_COL).value = 9
    ws.cell(15, LEVEL_COL).value = "x"
    ws.cell(13, EVIDENCE_COL).value = '=HYPERLINK("http://contoh.test","klik")'
    ws.cell(13, EVIDENCE_COL).data_type = "s"  # text that looks like a formula, not a formula
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    return data, entry.upload(demo_store, user, data, "isian.xlsx", "en")


def test_marked_workbook_highlights_and_comments_each_reported_cell(refused_template):
    data, out = refused_template
    assert out.status == "rejected" and [p.row for p in out.problems] == [11, 12, 15]
    fb = out.feedback
    assert fb.name == "isian-corrections.xlsx" and fb.mime == feedback.XLSX_MIME and fb.marked_cells == 3
    wb = load_workbook(io.BytesIO(fb.data))
    ws = wb[tpl.SHEET]
    for p in out.problems:
        c = ws.cell(p.row, LEVEL_COL)
        assert c.fill.fgColor.rgb.endswith(feedback.MARK_FILL), p
        assert c.comment is not None and p.message("en") in c.comment.text
    for r in (13, 14):  # rows without a problem keep their look and have no comment
        c = ws.cell(r, LEVEL_COL)
        assert not c.fill.fgColor.rgb.endswith(feedback.MARK_FILL) and c.comment is None
    # the operator's own data is unchanged, and text stays text
    original = load_workbook(io.BytesIO(data))[tpl.SHEET]
    for r in range(tpl.FIRST_DATA_ROW, original.max_row + 1):
        assert [ws.cell(r, c).value for c in range(1, 13)] == [
            original.cell(r, c).value for c in range(1, 13)
        ]
    ev = ws.cell(13, EVIDENCE_COL)
    assert ev.value.startswith("=HYPERLINK") and ev.data_type == "s"
    # the errors sheet comes first and lists every problem
    assert wb.sheetnames[0] == "Errors" and wb.active.title == "Errors"
    listed = list(wb["Errors"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in listed] == [
        ("isian.xlsx", p.sheet, p.row, p.column, p.key) for p in out.problems
    ]


def test_marked_workbook_in_indonesian(refused_template):
    data, out = refused_template
    fb = feedback.feedback_file(data, "isian.xlsx", out.problems, "id")
    wb = load_workbook(io.BytesIO(fb.data))
    assert fb.name == "isian-koreksi.xlsx" and wb.sheetnames[0] == "Kesalahan"
    assert wb[tpl.SHEET].cell(12, LEVEL_COL).comment.text == "Level 9 di luar skala 0–4."


def test_header_problems_mark_the_header_cell_by_its_text(demo_store):
    data = _xlsx(
        [
            ["city_code", "opd_code", "year", "indicator_code", "level", "NIK"],
            ["3299", "01", 2024, "GOV-01", 3, "x"],
        ]
    )
    parsed = ingest.parse_upload(data, "panjang.xlsx", ingest.load_context(demo_store))
    [p] = parsed.result.problems
    assert (p.key, p.row, p.column) == ("file.personal_data", 1, "NIK")
    marked, n = feedback.marked_workbook(data, "panjang.xlsx", [p], "en")
    ws = load_workbook(io.BytesIO(marked))["Data"]
    assert n == 1 and ws["F1"].comment is not None  # column F holds "NIK", not column "NIK" (far right)
    assert ws["F1"].fill.fgColor.rgb.endswith(feedback.MARK_FILL)


def test_problems_without_a_cell_are_listed_but_not_marked(demo_store):
    data = _xlsx(
        [["city_code", "opd_code", "year", "indicator_code", "level"], ["3299", "01", 2024, "GOV-01", 3]]
    )
    problems = [
        Problem("period.locked", "a.xlsx", params={"city": CITY, "year": 2023}),
        Problem("xlsx.formula", "a.xlsx", "Data", 2, "ZZZZ"),
    ]  # not a real column: row start instead
    marked, n = feedback.marked_workbook(data, "a.xlsx", problems, "en")
    wb = load_workbook(io.BytesIO(marked))
    assert n == 1 and wb["Data"]["A2"].comment is not None
    assert len(list(wb["Errors"].iter_rows(min_row=3))) == 2


def test_a_refused_csv_gets_a_csv_of_errors_that_is_formula_safe(demo_store):
    user = users.get_user(demo_store, "opd.kominfo")
    data = b"city_code,opd_code,year,indicator_code,level,=SUM(A1:A9)\n3299,01,2024,GOV-01,3,x\n"
    out = entry.upload(demo_store, user, data, "@isian.csv", "en")
    assert out.status == "rejected" and any(p.column == "=SUM(A1:A9)" for p in out.problems)
    fb = out.feedback
    assert fb.mime == feedback.CSV_MIME and fb.name == "@isian-corrections.csv" and fb.marked_cells == 0
    rows = list(csv.reader(io.StringIO(fb.data.decode("utf-8-sig"))))
    assert rows[0] == ["File", "Sheet", "Row", "Column", "Message", "Code", "Indicator"]
    for r in rows[1:]:
        assert r[0] == "'@isian.csv"  # a leading @ would be a formula in Excel
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in r), r
    assert [r[3] for r in rows[1:] if "SUM" in r[3]] == ["'=SUM(A1:A9)"]


def test_errors_csv_neutralises_every_formula_prefix():
    problems = [
        Problem("cell.level_not_int", "f.csv", None, 2, v, {"value": v, "min": 0, "max": 4})
        for v in ("=1+1", "+1", "-1", "@x", "\tx", " =2")
    ]
    rows = list(csv.reader(io.StringIO(feedback.errors_csv(problems, "id").decode("utf-8-sig"))))
    assert rows[0][0] == "Berkas"
    assert [r[3] for r in rows[1:]] == ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "' =2"]


def test_no_problems_no_feedback():
    assert feedback.feedback_file(b"x", "a.csv", []) is None
