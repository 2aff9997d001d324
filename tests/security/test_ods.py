"""OpenDocument spreadsheets (.ods, LibreOffice's default) under the .xlsx's limits and strict rules.

Issue 15, point 5: an .ods was refused as "not an .xlsx or CSV". Now it is read, but only the
way an .xlsx is (metrics/ods.py): zip limits, DTDs and encodings on every part, macros,
embedded objects, external links and form controls refused, each sheet's real extent counted
from the XML before the native reader sees it (a repeated-rows or repeated-cells bomb is a
1 KB file), formulas, error cells, merged cells and hidden sheets refused with their position,
and the reader handed a canonical package rebuilt from what was checked. Every hostile file
is one of tests/security/hostile.ODS_CASES, fed to the real ingest.

Two fixtures were written by LibreOffice Calc 7.4 itself (`soffice --headless --convert-to ods`):
tests/fixtures/template-libreoffice.ods is tools.fuzz's filled template of the mini framework
(`fuzz.seed_files(make_mini_store(...))["template.xlsx"]`), strict-libreoffice.ods a long-format
workbook with a formula, an error, a merge and a hidden sheet. Regenerate them that way if the
template's layout changes.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from metrics import isolation, scoring
from metrics.auth import SYSTEM
from metrics.errors import Rejected
from metrics.ingest import ingest_bytes, read_records
from metrics.ods import ODS_MIME, open_ods
from metrics.readers import Limits
from tests.conftest import make_mini_store
from tests.odsfile import workbook_to_ods
from tests.security import hostile
from tests.security.conftest import keys, reject

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("name", list(hostile.ODS_CASES))
def test_ods_case(mini, name):
    build, key = hostile.ODS_CASES[name]
    if key is None:
        r = ingest_bytes(mini, SYSTEM, build(), "isian.ods")
        assert r.accepted, r.to_dict("en")
        return
    r = reject(mini, build(), "isian.ods")
    assert keys(r) == {key}, r.to_dict("en")


BOMBS = [n for n, (_b, k) in hostile.ODS_CASES.items() if k in ("file.too_many_rows", "file.too_many_cols")]


@pytest.mark.parametrize("name", BOMBS)
def test_repeat_bombs_are_refused_before_the_reader_runs(monkeypatch, name):
    """A declared repeat of filled rows or cells is counted from the XML: the native reader
    (which would expand it) is never called, and the refusal costs no memory to speak of."""
    import tracemalloc

    def never(*_a, **_k):
        raise AssertionError("the native reader was called")

    monkeypatch.setattr(isolation, "run", never)
    build, key = hostile.ODS_CASES[name]
    data = build()
    assert len(data) < 20_000
    tracemalloc.start()
    with pytest.raises(Rejected) as exc:
        read_records(data, "bom.ods")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [p.key for p in exc.value.problems] == [key]
    assert peak < 5 * 1024 * 1024, peak


def test_libreoffice_trailing_runs_do_not_count_but_filled_ones_do(monkeypatch):
    """LibreOffice ends every sheet with a million empty rows and every row with thousands of
    empty cells: not the used area. The same run with a value in it is."""
    monkeypatch.setattr(isolation, "run", lambda *a, **k: ([], []))
    pkg = open_ods(hostile.ods_valid(), "ok.ods")
    content = pkg.parts["content.xml"]
    assert b"1048" not in content and b"16384" not in content and b"16377" not in content
    assert list(pkg.sheets) == ["Data"] and pkg.hidden == []


def test_the_reader_gets_a_canonical_package_of_checked_parts_only():
    pkg = open_ods((FIXTURES / "template-libreoffice.ods").read_bytes(), "t.ods")
    zf = zipfile.ZipFile(BytesIO(pkg.data))
    infos = zf.infolist()
    assert [i.filename for i in infos] == ["mimetype", "content.xml", "META-INF/manifest.xml"]
    assert infos[0].compress_type == zipfile.ZIP_STORED and zf.read("mimetype") == ODS_MIME.encode()
    content = zf.read("content.xml")
    # no styles, annotations (the template's comments), validations, forms or settings
    for gone in (b"annotation", b"style-name", b"content-validation", b"office:forms", b"calcext"):
        assert gone not in content, gone
    assert b"Indikator ini juga dinilai" not in content  # a comment's text is not a cell's value


def _seed_template(tmp_path) -> bytes:
    from tools import fuzz

    store = make_mini_store(tmp_path / "seed.duckdb")
    try:
        return fuzz.seed_files(store)["template.xlsx"]
    finally:
        store.close()


def _ingested(tmp_path, name: str, data: bytes):
    store = make_mini_store(tmp_path / f"{name}.duckdb")
    try:
        r = ingest_bytes(store, SYSTEM, data, name)
        assert r.accepted, r.to_dict("en")
        sc = scoring.city_score(store, "0101", 2023)
        rows = [tuple(row[:3]) for sid in r.submission_ids for row in store.submission_rows(sid)]
        return sc.index, sc.completeness, sorted(rows)
    finally:
        store.close()


def test_the_product_template_saved_as_ods_is_accepted_and_scored_like_the_xlsx(tmp_path):
    """The template the product generates, converted sheet by sheet, row by row (same sheet
    names, rows and columns, comments as annotations, LibreOffice's trailing runs): accepted,
    read through the template layout checks, and scored exactly as the .xlsx."""
    xlsx = _seed_template(tmp_path)
    as_xlsx = _ingested(tmp_path, "isian.xlsx", xlsx)
    as_ods = _ingested(tmp_path, "isian.ods", workbook_to_ods(xlsx))
    assert as_ods == as_xlsx
    assert as_xlsx[2], "the seed template answers indicators"


def test_libreoffice_s_own_ods_of_the_template_is_accepted_and_scored_like_the_xlsx(tmp_path):
    as_xlsx = _ingested(tmp_path, "isian.xlsx", _seed_template(tmp_path))
    as_ods = _ingested(tmp_path, "isian.ods", (FIXTURES / "template-libreoffice.ods").read_bytes())
    assert as_ods == as_xlsx


def test_libreoffice_s_own_ods_gets_every_strict_refusal(mini):
    """Written by LibreOffice from an .xlsx with a formula, an error cell, a merge and a hidden
    sheet: the hidden sheet stops the reading (as for .xlsx); without it, the other three are
    found at their cells."""
    r = reject(mini, (FIXTURES / "strict-libreoffice.ods").read_bytes(), "lo.ods")
    assert [(p.key, p.sheet) for p in r.problems] == [("xlsx.hidden_sheet", "Rahasia")]
    pkg = open_ods((FIXTURES / "strict-libreoffice.ods").read_bytes(), "lo.ods")
    assert pkg.special["Data"] == {(2, 4): ("formula", ""), (5, 0): ("error", "#DIV/0!")}
    assert pkg.merged["Data"] == [((2, 5), (2, 6))]
    rows, _special, _merged = pkg.read_sheet("Data")
    assert rows[1][5] == "  dua  spasi\nbaris"  # two paragraphs, spaces kept, as LibreOffice shows them


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_the_template_converted_by_the_installed_libreoffice_is_accepted(tmp_path):
    src = tmp_path / "isian.xlsx"
    src.write_bytes(_seed_template(tmp_path))
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert _ingested(tmp_path, "isian.ods", (tmp_path / "isian.ods").read_bytes()) == _ingested(
        tmp_path, "isian2.xlsx", src.read_bytes()
    )


def test_an_element_flood_is_bounded():
    """However the XML is written, the parse is bounded: more elements than 16 per allowed cell
    is refused (here under small limits), before anything is stored or expanded."""
    from tests.odsfile import content_xml, ods_package

    flood = "<table:table-row>" + "<table:table-cell/>" * 600 + "</table:table-row>"
    data = ods_package(content_xml([f'<table:table table:name="Data">{flood}</table:table>']))
    with pytest.raises(Rejected) as exc:
        open_ods(data, "f.ods", Limits(max_rows=10, max_cols=3))
    assert [p.key for p in exc.value.problems] == ["file.too_many_cells"]


def test_an_old_excel_file_is_told_to_be_saved_as_xlsx(mini):
    """An .xls (OLE compound file) gets one sentence saying what it is and what to do."""
    r = reject(mini, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "lama.xls")
    (p,) = r.problems
    assert p.key == "file.old_excel"
    assert ".xls" in p.message("id") and "Simpan Sebagai" in p.message("id") and ".xlsx" in p.message("id")
    assert "Save As" in p.message("en")


def test_markup_in_sheet_names_and_text_survives_the_canonical_package():
    """The canonical content.xml is written by us: names and text holding & < > " ' come
    through as the same sheet and the same text, not as broken XML."""
    from tests.odsfile import ods_bytes

    name = "Data & <\"Kota\"> 'x'"
    pkg = open_ods(ods_bytes({name: [['a & <b> "c"', "x"]]}), "n.ods")
    assert list(pkg.sheets) == [name]
    assert pkg.read_sheet(name)[0][0] == ['a & <b> "c"', "x"]
