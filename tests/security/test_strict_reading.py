"""Strict reading: nothing in a file is guessed silently.

Each case is a file a lenient reader would accept with a wrong or missing value. Each must be
refused with its position (file, sheet, row, column) and a message in Indonesian and English.
Cases already covered for CSV in tests/unit/test_ingest.py are covered here for workbooks, where
the reader (calamine) hides them: a formula with no cached value reads as an empty cell.
"""

from __future__ import annotations

import csv
import io

import pytest

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from tests.security.conftest import GOOD_ROW, HEAD, long_xlsx, reject, wb_bytes, with_part

pytestmark = pytest.mark.both_backends

SHEET = "xl/worksheets/sheet1.xml"


def _xlsx(rows, edit=None) -> bytes:
    data = wb_bytes(long_xlsx(rows=rows))
    return with_part(data, SHEET, edit) if edit else data


def _row(**cells):
    r = list(GOOD_ROW)
    for k, v in cells.items():
        r[HEAD.index(k)] = v
    return r


def _hidden(state):
    wb = long_xlsx()
    wb.create_sheet("Lampiran").sheet_state = state
    return wb_bytes(wb)


def _merged():
    wb = long_xlsx(rows=[GOOD_ROW, _row(indicator_code="G2", level=2)])
    wb.active.merge_cells("F2:F3")
    return wb_bytes(wb)


def _stray():
    wb = long_xlsx()
    wb.active["J2"] = "catatan tersesat"
    return wb_bytes(wb)


# name: (bytes, expected (key, sheet, row, column))
XLSX_CASES = {
    "formula without cached value": (lambda: _xlsx([_row(level="=1+1")]), ("xlsx.formula", "Data", 2, "E")),
    "formula with cached value": (
        lambda: _xlsx(
            [_row(level=3)],
            lambda x: x.replace(b'<c r="E2" t="n"><v>3</v>', b'<c r="E2" t="n"><f>1+2</f><v>3</v>'),
        ),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "shared formula": (
        lambda: _xlsx(
            [_row(level=3)],
            lambda x: x.replace(
                b'<c r="E2" t="n"><v>3</v>', b'<c r="E2" t="n"><f t="shared" si="0"/><v>3</v>'
            ),
        ),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "formula in a namespace-prefixed cell": (
        lambda: _xlsx(
            [_row(level=3)],
            lambda x: x.replace(
                b'<c r="E2" t="n"><v>3</v></c>',
                b'<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="E2" t="n">'
                b"<x:f>1+2</x:f><x:v>3</x:v></x:c>",
            ),
        ),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "error cell #DIV/0!": (
        lambda: _xlsx(
            [_row(level=3)],
            lambda x: x.replace(b'<c r="E2" t="n"><v>3</v>', b'<c r="E2" t="e"><v>#DIV/0!</v>'),
        ),
        ("xlsx.error_cell", "Data", 2, "E"),
    ),
    "error cell whose type sits behind a quoted '>'": (
        lambda: _xlsx(
            [_row(level=3)],
            lambda x: x.replace(b'<c r="E2" t="n"><v>3</v>', b'<c r="E2" x=">" t="e"><v>#N/A</v>'),
        ),
        ("xlsx.error_cell", "Data", 2, "E"),
    ),
    "merged cells in the data area": (_merged, ("xlsx.merged", "Data", 2, "F")),
    "hidden sheet": (lambda: _hidden("hidden"), ("xlsx.hidden_sheet", "Lampiran", None, None)),
    "very hidden sheet": (lambda: _hidden("veryHidden"), ("xlsx.hidden_sheet", "Lampiran", None, None)),
    "decimal comma": (
        lambda: _xlsx([_row(level="3,5")]),
        ("cell.level_decimal_comma", "Data", 2, "E (level)"),
    ),
    "decimal number": (lambda: _xlsx([_row(level=2.5)]), ("cell.level_not_int", "Data", 2, "E (level)")),
    "boolean cell": (lambda: _xlsx([_row(level=True)]), ("cell.boolean", "Data", 2, "E (level)")),
    "boolean text": (lambda: _xlsx([_row(level="BENAR")]), ("cell.boolean", "Data", 2, "E (level)")),
    "level outside the scale": (lambda: _xlsx([_row(level=7)]), ("cell.level_range", "Data", 2, "E (level)")),
    "negative level": (lambda: _xlsx([_row(level=-1)]), ("cell.level_range", "Data", 2, "E (level)")),
    "value right of the header": (_stray, ("xlsx.stray_cell", "Data", 2, "J")),
    "row past Excel's limit": (
        lambda: _xlsx(
            [GOOD_ROW],
            lambda x: x.replace(
                b"</sheetData>", b'<row r="1048577"><c r="A1048577" t="n"><v>1</v></c></row></sheetData>'
            ),
        ),
        ("file.too_many_rows", "Data", None, None),
    ),
}


@pytest.mark.parametrize("name", sorted(XLSX_CASES))
def test_xlsx_strict(mini, name):
    build, want = XLSX_CASES[name]
    r = reject(mini, build(), "isian.xlsx")
    got = [(p.key, p.sheet, p.row, p.column) for p in r.problems]
    assert got == [want], [p.render("en") for p in r.problems]
    p = r.problems[0]
    assert p.file == "isian.xlsx"
    where_id, where_en = p.render("id"), p.render("en")
    assert "isian.xlsx" in where_id and f"lembar {want[1]}" in where_id and f"sheet {want[1]}" in where_en
    if want[2] is not None:
        assert f"baris {want[2]}" in where_id and f"row {want[2]}" in where_en
    if want[3] is not None:
        assert f"kolom {want[3]}" in where_id and f"column {want[3]}" in where_en


def test_formula_without_cached_value_reads_as_empty_in_calamine():
    """Why the reader scans the XML itself: calamine alone would call this level unanswered."""
    from python_calamine import CalamineWorkbook

    data = XLSX_CASES["formula without cached value"][0]()
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Data").to_python()
    assert rows[1][4] == ""


def test_template_strict(mini):
    """The OPD template: formula, merged and stray cells in its data area are refused too."""
    import openpyxl

    from metrics.templates import build_template

    fw = loaded_frameworks(mini)[0][0]
    city = next(c for c in mini.cities() if c.city_code == "0101")
    opd = mini.opd_map()[("0101", "01")]
    base = build_template(fw, city, opd, 2023)

    def edited(fn):
        wb = openpyxl.load_workbook(io.BytesIO(base))
        fn(wb["Penilaian"])
        return wb_bytes(wb)

    assert ingest_bytes(mini, SYSTEM, edited(lambda ws: ws.__setitem__("J11", 3)), "ok.xlsx").accepted
    cases = [
        (lambda ws: ws.__setitem__("J11", "=2+1"), ("xlsx.formula", "Penilaian", 11, "J")),
        (
            lambda ws: (ws.__setitem__("J11", 3), ws.merge_cells("K11:L11")),
            ("xlsx.merged", "Penilaian", 11, "K"),
        ),
        (
            lambda ws: (ws.__setitem__("J11", 3), ws.__setitem__("N11", "lupa")),
            ("xlsx.stray_cell", "Penilaian", 11, "N"),
        ),
        (
            lambda ws: ws.__setitem__("J11", "3,0"),
            ("cell.level_decimal_comma", "Penilaian", 11, "J (Level (0-4))"),
        ),
    ]
    for fn, want in cases:
        r = reject(mini, edited(fn), "templat.xlsx")
        assert [(p.key, p.sheet, p.row, p.column) for p in r.problems] == [want]


def _csv(rows, delimiter=",", encoding="utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return buf.getvalue().encode(encoding)


E_ACUTE = [HEAD, ["0101", "01", "2023", "G1", "3", "Bukti dengan é", ""]]

CSV_CASES = {
    "latin-1": (lambda: _csv(E_ACUTE, encoding="latin-1"), ("file.not_utf8", None, None)),
    "windows-1252": (lambda: _csv(E_ACUTE, encoding="cp1252"), ("file.not_utf8", None, None)),
    "utf-16": (lambda: _csv(E_ACUTE, encoding="utf-16"), ("file.not_spreadsheet", None, None)),
    "tab-delimited": (lambda: _csv(E_ACUTE, delimiter="\t"), ("file.csv_one_column", 1, None)),
    "pipe-delimited": (lambda: _csv(E_ACUTE, delimiter="|"), ("file.csv_one_column", 1, None)),
    "commas and semicolons in the header": (
        lambda: b"city_code;opd_code;year,indicator_code,level\n0101;01;2023,G1,3\n",
        ("file.csv_ambiguous", 1, None),
    ),
    "unquoted decimal comma": (
        lambda: (",".join(HEAD) + "\n0101,01,2023,G1,3,5,,\n").encode(),
        ("file.csv_row_width", 2, "8"),
    ),
}


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_csv_strict(mini, name):
    build, (key, row, column) = CSV_CASES[name]
    r = reject(mini, build(), "isian.csv")
    assert [(p.key, p.row, p.column) for p in r.problems] == [(key, row, column)]
    assert "isian.csv" in r.problems[0].render("id")


def test_csv_rejects_every_wide_row_not_only_the_first(mini):
    data = (",".join(HEAD) + "\n0101,01,2023,G1,3,5,,\n0101,01,2023,G2,2,,\n0101,01,2023,E1,1,7,,\n").encode()
    r = reject(mini, data, "x.csv")
    assert [(p.key, p.row) for p in r.problems] == [("file.csv_row_width", 2), ("file.csv_row_width", 4)]


def test_messages_exist_in_both_languages_for_every_new_key():
    from metrics import i18n

    for key in (
        "file.csv_ambiguous",
        "file.csv_row_width",
        "file.xml_encoding",
        "file.too_many_cells",
        "xlsx.stray_cell",
    ):
        assert i18n.text(key, "id") != i18n.text(key, "en")
