"""Feedback files for a refused upload: the operator's own workbook with every faulty cell marked.

An OPD operator fixes a refused file fastest in the file itself, not by reading row numbers off
a screen. So for a refused .xlsx the core hands back a copy of the upload in which each cell
named by a problem is filled red and carries a comment with the message (in the operator's
language), plus a sheet listing every problem; for a refused .csv, which cannot hold colours or
comments, it hands back a CSV of the problems. Either way the file only describes the upload:
nothing is stored and nothing in the operator's data is changed besides the marking.

The copy is made only from a workbook that passed the reader's container checks (size, zip
bomb, DTD/entities): openpyxl never sees bytes the ingest reader would not have opened.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics.errors import Problem, Rejected
from metrics.i18n import t
from metrics.readers import DEFAULT_LIMITS, Limits, col_index, open_xlsx, sniff
from metrics.reports import CSV_MIME, XLSX_MIME, TableOut, neutralise, table_to_csv

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

MARK_FILL = "FFC7CE"  # Excel's own "bad" red
MAX_COLUMN = 16_384  # XFD, the last column a workbook can have
_LETTERS = re.compile(r"^([A-Z]{1,3})(?:\s|$)")
# Problems about a header cell name the column by its header text ("NIK", "kode_opd"), not by
# its letter: such text is looked up in the header row instead of being read as a column letter.
HEADER_KEYS = frozenset({"col.duplicate", "col.unknown", "col.missing", "file.personal_data"})


@dataclass(frozen=True)
class FeedbackFile:
    name: str
    data: bytes
    mime: str
    marked_cells: int  # cells highlighted in the workbook copy (0 for a CSV of errors)


def _stem(file: str) -> str:
    stem = file.rsplit("/", 1)[-1]
    return stem.rsplit(".", 1)[0] if "." in stem else stem


def _cell_of(p: Problem, ws: Worksheet | None = None) -> tuple[int, int] | None:
    """(row, 1-based column) a problem points at in a workbook, or None when it names no cell.

    `ws` (the problem's sheet) lets a header problem find its header cell by text.
    """
    if p.row is None or p.row < 1:
        return None
    if ws is not None and p.key in HEADER_KEYS and p.row == 1 and p.column:
        for cell in next(ws.iter_rows(min_row=1, max_row=1), ()):
            if cell.value is not None and str(cell.value).strip() == p.column:
                return (p.row, cell.column)
    m = _LETTERS.match(p.column or "")
    return (p.row, col_index(m.group(1)) + 1) if m else (p.row, 1)


_HEAD = {
    "id": ["Berkas", "Lembar", "Baris", "Kolom", "Pesan", "Kode", "Indikator"],
    "en": ["File", "Sheet", "Row", "Column", "Message", "Code", "Indicator"],
}


def problems_table(problems: list[Problem], lang: str) -> tuple[list[str], list[list[str | int | None]]]:
    # the indicator goes last: scripts reading the first six columns keep working
    head = _HEAD.get(lang, _HEAD["id"])
    rows = [
        [p.file, p.sheet or "", p.row, p.column or "", p.message(lang), p.key, p.indicator_label(lang)]
        for p in problems
    ]
    return head, rows


def errors_csv(problems: list[Problem], lang: str = "id") -> bytes:
    """Every problem as one CSV row (file, sheet, row, column, message, code); formula-safe."""
    return table_to_csv(TableOut("errors", *problems_table(problems, lang)))


def errors_file(problems: list[Problem], file: str, lang: str = "id") -> FeedbackFile | None:
    """Every problem as a downloadable CSV named after the file, or None when there are none."""
    if not problems:
        return None
    stem = _stem(file) or "unggahan"
    return FeedbackFile(
        f"{stem}-{t('feedback.errors_suffix', lang)}.csv", errors_csv(problems, lang), CSV_MIME, 0
    )


def marked_workbook(
    data: bytes, file: str, problems: list[Problem], lang: str = "id", limits: Limits = DEFAULT_LIMITS
) -> tuple[bytes, int] | None:
    """The upload with its faulty cells filled and commented, or None if it cannot be opened safely."""
    try:
        pkg = open_xlsx(data, file, limits)  # the reader's safety checks, before openpyxl parses
    except Rejected:
        return None
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    try:
        wb = load_workbook(io.BytesIO(pkg.data), rich_text=False)
    except Exception:  # a workbook our reader accepts but openpyxl cannot load: no copy, CSV instead
        return None
    fill = PatternFill("solid", fgColor=MARK_FILL)
    by_cell: dict[tuple[str, int, int], list[str]] = {}
    default_sheet = next(iter(pkg.sheets), None)
    for p in problems:
        sheet = p.sheet or default_sheet
        if sheet is None or sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        if not hasattr(ws, "iter_rows"):  # a chart sheet has no cells to mark
            continue
        at = _cell_of(p, ws)
        if at is None:
            continue
        if at[1] > MAX_COLUMN:  # letters beyond XFD: not a cell, so mark the row's first cell
            at = (at[0], 1)
        by_cell.setdefault((sheet, *at), []).append(p.message(lang))
    for (sheet, row, col), messages in by_cell.items():
        c = wb[sheet].cell(row=row, column=col)
        c.fill = fill
        text = "\n".join(dict.fromkeys(messages))  # one line per distinct message
        c.comment = Comment(text[:2000], "Indeks Kota Cerdas", width=320, height=120)
    title = t("feedback.sheet", lang)[:31]
    if title in wb.sheetnames:
        del wb[title]
    ws = wb.create_sheet(title, 0)
    head, rows = problems_table(problems, lang)
    ws.append([t("feedback.intro", lang, n=len(problems))])
    ws["A1"].font = Font(bold=True)
    ws.append(head)
    for c in ws[2]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append([neutralise(v) for v in r])
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str):
                c.data_type = "s"  # never a formula, whatever the message quotes
    for letter, width in zip("ABCDEFG", (24, 14, 8, 22, 90, 26, 40)):
        ws.column_dimensions[letter].width = width
    wb.active = 0
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), len(by_cell)


def feedback_file(
    data: bytes, file: str, problems: list[Problem], lang: str = "id", limits: Limits = DEFAULT_LIMITS
) -> FeedbackFile | None:
    """What to hand back for a refused upload: a marked workbook copy, else a CSV of the errors."""
    if not problems:
        return None
    stem = _stem(file) or "unggahan"
    suffix = t("feedback.suffix", lang)
    if data and sniff(data) == "xlsx":
        marked = marked_workbook(data, file, problems, lang, limits)
        if marked is not None:
            return FeedbackFile(f"{stem}-{suffix}.xlsx", marked[0], XLSX_MIME, marked[1])
    return FeedbackFile(f"{stem}-{suffix}.csv", errors_csv(problems, lang), CSV_MIME, 0)
