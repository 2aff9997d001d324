"""Pre-filled self-assessment workbooks, one per OPD and year.

An OPD operator should only have to choose a level and type evidence: the workbook lists
exactly the indicators that OPD answers, shows the rubric beside each, offers 0-4 from a
drop-down, and protects everything else. The layout constants here are the contract the
ingest reader checks, so a downloaded template, once filled, ingests without changes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics import TEMPLATE_VERSION
from metrics.cells import NA
from metrics.framework import Framework, Indicator
from metrics.i18n import pick
from metrics.registry import City, Opd

if TYPE_CHECKING:
    from openpyxl import Workbook

SHEET = "Penilaian"
INSTRUCTIONS_SHEET = "Petunjuk"
INFO_ROWS = {  # field -> (row, label)
    "city_code": (4, "Kode Kota"),
    "opd_code": (5, "Kode OPD"),
    "year": (6, "Tahun"),
    "framework": (7, "Kerangka"),
    "template_version": (8, "Versi Templat"),
}
HEADER_ROW = 10
FIRST_DATA_ROW = 11


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    width: int
    input: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("indicator_code", "Kode Indikator", 12),
    Column("indicator_name", "Indikator", 40),
    Column("pillar", "Pilar", 10),
    Column("dimension", "Dimensi", 11),
    Column("rubric_0", "Level 0", 26),
    Column("rubric_1", "Level 1", 26),
    Column("rubric_2", "Level 2", 26),
    Column("rubric_3", "Level 3", 26),
    Column("rubric_4", "Level 4", 26),
    Column("level", "Level (0-4)", 11, input=True),
    Column("evidence", "Bukti", 40, input=True),
    Column("evidence_link", "Tautan bukti", 36, input=True),
    Column("note", "Catatan", 30, input=True),
)
COL_INDEX = {c.field: n for n, c in enumerate(COLUMNS)}  # 0-based
# Templates made before the evidence-link column (issue 18) still load: ingest reads a workbook
# whose headers are these as this layout, with no links.
LEGACY_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.field != "evidence_link")
LAYOUTS: tuple[tuple[Column, ...], ...] = (COLUMNS, LEGACY_COLUMNS)  # the current one first


def instructions(fw: Framework) -> list[str]:
    return [
        "Petunjuk pengisian penilaian mandiri Kota Cerdas",
        "",
        "1. Isi lembar 'Penilaian' saja. Jangan mengubah blok info, judul kolom, atau urutan kolom.",
        f"2. Untuk setiap indikator pilih level {fw.scale_min}–{fw.scale_max} dari daftar pilihan di kolom 'Level'.",
        "   Bacalah rubrik di kolom 'Level 0' s.d. 'Level 4' dan pilih level yang sesuai bukti Anda.",
        "3. Tuliskan bukti (nama dokumen, tautan, nomor peraturan) di kolom 'Bukti'.",
        "   Level 3 atau 4 tanpa bukti akan ditandai untuk diperiksa penilai.",
        "3a. Tautan ke dokumen atau layanan daring (hanya https://) ditulis di kolom 'Tautan bukti'; beberapa tautan",
        "   dipisahkan spasi atau titik koma. Tautan itu disimpan sebagai bukti jawaban baris tersebut. Berkas",
        "   (PDF, gambar, XLSX, DOCX) dilampirkan di aplikasi setelah unggah, atau di menu 'Isi formulir'.",
        "4. Baris dengan level kosong dianggap belum dijawab dan dihitung 0 dalam indeks.",
        "5. Jangan memasukkan rumus, menggabungkan sel, atau menyembunyikan lembar.",
        f"5a. Indikator yang boleh dijawab tidak berlaku menawarkan '{NA}' di daftar pilihan level (tanda komentar di sel",
        "   levelnya). Pilih TB hanya bila indikator itu memang tidak berlaku bagi daerah Anda (mis. tidak ada bus kota),",
        "   dan WAJIB tuliskan alasannya di kolom 'Catatan' pada baris yang sama. TB tanpa alasan, atau TB pada indikator",
        "   lain, ditolak. Jawaban TB menunggu konfirmasi penilai; selama belum dikonfirmasi ia dihitung belum dijawab.",
        "6. Jangan memasukkan data pribadi (NIK, nomor KK, nama warga): sistem ini hanya menyimpan data agregat.",
        "7. Simpan sebagai .xlsx lalu unggah melalui menu 'Unggah' di aplikasi. Setiap unggahan disimpan sebagai versi;",
        "   unggahan terbaru untuk OPD dan tahun yang sama yang dipakai dalam perhitungan.",
        "",
        f"Kerangka: {fw.id} — {pick(fw.name, 'id')}",
        f"Versi templat: {TEMPLATE_VERSION}",
    ]


def inert_text(wb: Workbook) -> None:
    """No formula cells: names, evidence and notes come from uploads (formula injection).

    openpyxl turns any text starting with '=' into a formula; every text cell is kept a string,
    and one that a spreadsheet would read as a formula is marked with Excel's own quote prefix,
    which displays and re-reads as the same text (so a re-uploaded template keeps its value).
    """
    from metrics.reports import formula_like

    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    c.data_type = "s"
                    if formula_like(c.value):
                        c.quotePrefix = True


def build_template(
    fw: Framework,
    city: City,
    opd: Opd,
    year: int,
    prefill: dict[str, tuple[int | str | None, str | None, str | None]] | None = None,
    indicators: list[Indicator] | None = None,
) -> bytes:
    """The workbook for `opd` of `city` for `year` under `fw`, optionally pre-filled.

    `prefill` maps indicator code -> (level, evidence, note), e.g. from a saved draft or the
    OPD's current submission, so an operator can correct rather than retype. A "tidak berlaku"
    answer is pre-filled as level TB (metrics.cells.NA) with its reason as the note.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    # `indicators`: what the OPD answers in its city (metrics.responsibility.indicators_of, with the
    # indicators assigned to it); without a store at hand, those of its type
    indicators = fw.indicators_for_opd_type(opd.opd_type) if indicators is None else indicators
    wb = Workbook()
    ins = wb.active
    ins.title = INSTRUCTIONS_SHEET
    for n, line in enumerate(instructions(fw), start=1):
        ins.cell(row=n, column=1, value=line)
    ins["A1"].font = Font(bold=True, size=14)
    ins.column_dimensions["A"].width = 110
    ins.protection.sheet = True

    ws = wb.create_sheet(SHEET)
    wb.active = 1
    ws["A1"] = "Penilaian Mandiri Kota Cerdas"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"{city.name} — {opd.name} — {year}"
    ws["A2"].font = Font(italic=True)
    values = {
        "city_code": city.city_code,
        "opd_code": opd.opd_code,
        "year": year,
        "framework": fw.id,
        "template_version": TEMPLATE_VERSION,
    }
    grey = PatternFill("solid", fgColor="EEEEEE")
    for field, (row, label) in INFO_ROWS.items():
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        c = ws.cell(row=row, column=2, value=values[field])
        c.fill = grey
        if field in ("city_code", "opd_code"):
            c.number_format = "@"  # text: keep leading zeros
    ws.cell(row=4, column=3, value=city.name)
    ws.cell(row=5, column=3, value=opd.name)

    head_fill = PatternFill("solid", fgColor="1F4E79")
    input_fill = PatternFill("solid", fgColor="FFF2CC")
    for n, col in enumerate(COLUMNS, start=1):
        c = ws.cell(row=HEADER_ROW, column=n, value=col.header)
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = head_fill
        c.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(n)].width = col.width

    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + max(len(indicators), 1) - 1
    level_col = get_column_letter(COL_INDEX["level"] + 1)
    # A list validation gives the drop-down; whole-number validation alone does not.
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(str(v) for v in range(fw.scale_min, fw.scale_max + 1)) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Level tidak sah",
        error=f"Pilih level {fw.scale_min}–{fw.scale_max}.",
    )
    ws.add_data_validation(dv)
    # indicators that allow "tidak berlaku" offer TB too (issue 17); the others keep the numbers
    na_rows = [r for r, ind in enumerate(indicators, start=first) if ind.allow_na]
    if not na_rows:
        dv.add(f"{level_col}{first}:{level_col}{last}")
    else:
        for r in sorted(set(range(first, last + 1)) - set(na_rows)):
            dv.add(f"{level_col}{r}")
        dv_na = DataValidation(
            type="list",
            formula1='"' + ",".join([*(str(v) for v in range(fw.scale_min, fw.scale_max + 1)), NA]) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Level tidak sah",
            error=f"Pilih level {fw.scale_min}–{fw.scale_max} atau {NA} (tidak berlaku, dengan alasan di Catatan).",
        )
        ws.add_data_validation(dv_na)
        for r in na_rows:
            dv_na.add(f"{level_col}{r}")

    prefill = prefill or {}
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, ind in enumerate(indicators, start=first):
        row_values: dict[str, str | int | None] = {
            "indicator_code": ind.code,
            "indicator_name": pick(ind.name, "id"),
            "pillar": ind.subpillar or ind.pillar,
            "dimension": ind.dimension,
        }
        for lv in range(fw.scale_min, fw.scale_max + 1):
            row_values[f"rubric_{lv}"] = pick(ind.levels[lv], "id")
        level, evidence, note = prefill.get(ind.code, (None, None, None))
        # links are not pre-filled: those already given are kept as evidence items, and a link
        # typed again is simply the same item (metrics.evidence)
        row_values.update({"level": level, "evidence": evidence, "note": note})
        for col in COLUMNS:
            c = ws.cell(row=r, column=COL_INDEX[col.field] + 1, value=row_values.get(col.field))
            c.alignment = wrap
            if col.input:
                c.protection = Protection(locked=False)
                c.fill = input_fill
        if ind.allow_na:
            ws.cell(row=r, column=COL_INDEX["level"] + 1).comment = Comment(
                f"Boleh diisi {NA} (tidak berlaku) bila indikator ini tidak berlaku bagi daerah Anda; "
                "alasannya wajib ditulis di kolom Catatan. Penilai akan mengonfirmasi atau menolaknya.",
                "Indeks Kota Cerdas",
            )
        if ind.metric:
            ws.cell(row=r, column=1).comment = Comment(
                f"Indikator ini juga dinilai dari metrik layanan {ind.metric.code} ({ind.metric.unit}); "
                "nilai metrik, jika dilaporkan, mengalahkan penilaian mandiri.",
                "Indeks Kota Cerdas",
            )
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=2)
    ws.protection.sheet = True
    ws.protection.formatRows = False
    ws.protection.formatColumns = False
    inert_text(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
