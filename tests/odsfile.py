"""OpenDocument spreadsheets (.ods) written by hand, shaped the way LibreOffice Calc writes them.

LibreOffice is not on the CI machine (and is hundreds of MB), so the tests build their .ods
files here: every sheet ends, as LibreOffice writes it, with a repeated run of empty cells to
column 16,384 and a repeated run of empty rows to row 1,048,576; comments become annotations
inside the cell; hidden sheets are a table style with `table:display="false"`; formulas are
`table:formula` attributes. `workbook_to_ods` converts any openpyxl workbook (the product's
template included) sheet by sheet, row by row, so a test can say "this .xlsx, saved as .ods".
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape, quoteattr

ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:fo="urn:oasis:names:composite:xsl-fo-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
    'xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0" '
    'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
    'xmlns:loext="urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"'
)
MAX_ROWS, MAX_COLS = 1_048_576, 16_384


class Formula(str):
    """A cell value that is a formula (its text, e.g. '=1+1'), with a cached number."""


class Error(str):
    """A cell value that is an error result (e.g. '#DIV/0!'), as a formula leaves it."""


class Note(str):
    """A comment on a cell: `Note("text")` wraps the value through `with_note`."""


def with_note(value, note: str):
    return (value, Note(note))


def cell_xml(value) -> str:
    note = ""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Note):
        value, n = value
        note = (
            f'<office:annotation draw:style-name="gr1" svg:width="1.5in" xmlns:svg="urn:oasis:names:tc:opendocument'
            f':xmlns:svg-compatible:1.0"><dc:date>2024-01-01T00:00:00</dc:date><text:p>{escape(n)}</text:p>'
            "</office:annotation>"
        )
    if value is None or value == "":
        return f"<table:table-cell>{note}</table:table-cell>" if note else "<table:table-cell/>"
    if isinstance(value, Error):
        return (
            f'<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
            f'calcext:value-type="error">{note}<text:p>{escape(value)}</text:p></table:table-cell>'
        )
    if isinstance(value, Formula):
        return (
            f'<table:table-cell table:formula={quoteattr("of:" + value)} office:value-type="float" office:value="0"'
            f' calcext:value-type="float">{note}<text:p>0</text:p></table:table-cell>'
        )
    if isinstance(value, bool):
        v = "true" if value else "false"
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{v}" calcext:value-type="boolean">'
            f"{note}<text:p>{v.upper()}</text:p></table:table-cell>"
        )
    if isinstance(value, (int, float)):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value!r}" calcext:value-type="float">'
            f"{note}<text:p>{value}</text:p></table:table-cell>"
        )
    if isinstance(value, dt.datetime):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}" '
            f'calcext:value-type="date">{note}<text:p>{value:%d/%m/%Y}</text:p></table:table-cell>'
        )
    paras = "".join(f"<text:p>{escape(line)}</text:p>" for line in str(value).split("\n"))
    return f'<table:table-cell office:value-type="string" calcext:value-type="string">{note}{paras}</table:table-cell>'


def table_xml(name: str, rows, hidden: bool = False, trailing: bool = True, merges=()) -> str:
    """One sheet as LibreOffice writes it: its rows, then the empty rest of the sheet as runs.

    `merges` are (row0, col0, rows, cols) spans set on the named cell (its neighbours become
    covered cells)."""
    style = "ta2" if hidden else "ta1"
    spans = {(r, c): (nr, nc) for r, c, nr, nc in merges}
    covered = {(r + i, c + j) for r, c, nr, nc in merges for i in range(nr) for j in range(nc)} - set(spans)
    out = [
        f'<table:table table:name={quoteattr(name)} table:style-name="{style}">'
        f'<table:table-column table:style-name="co1" table:number-columns-repeated="{MAX_COLS}" '
        'table:default-cell-style-name="Default"/>'
    ]
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            if (r, c) in covered:
                cells.append("<table:covered-table-cell/>")
                continue
            x = cell_xml(v)
            if (r, c) in spans:
                nr, nc = spans[(r, c)]
                x = x.replace(
                    "<table:table-cell",
                    f'<table:table-cell table:number-columns-spanned="{nc}" table:number-rows-spanned="{nr}"',
                    1,
                )
            cells.append(x)
        if trailing:
            cells.append(f'<table:table-cell table:number-columns-repeated="{MAX_COLS - len(row)}"/>')
        out.append('<table:table-row table:style-name="ro1">' + "".join(cells) + "</table:table-row>")
    if trailing:  # as LibreOffice does: a long run of empty rows, then the last row on its own
        rest = MAX_ROWS - len(rows) - 1
        out.append(
            f'<table:table-row table:style-name="ro1" table:number-rows-repeated="{rest}">'
            f'<table:table-cell table:number-columns-repeated="{MAX_COLS}"/></table:table-row>'
            f'<table:table-row table:style-name="ro1"><table:table-cell table:number-columns-repeated="{MAX_COLS}"/>'
            "</table:table-row>"
        )
    out.append("</table:table>")
    return "".join(out)


def content_xml(tables: list[str], before_body: str = "", in_spreadsheet: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content {NS} office:version="1.3"><office:scripts/>'
        "<office:automatic-styles>"
        '<style:style style:name="ta1" style:family="table" style:master-page-name="Default">'
        '<style:table-properties table:display="true" style:writing-mode="lr-tb"/></style:style>'
        '<style:style style:name="ta2" style:family="table" style:master-page-name="Default">'
        '<style:table-properties table:display="false" style:writing-mode="lr-tb"/></style:style>'
        "</office:automatic-styles>"
        + before_body
        + "<office:body><office:spreadsheet>"
        + in_spreadsheet
        + "".join(tables)
        + "<table:named-expressions/></office:spreadsheet></office:body></office:document-content>"
    ).encode()


STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<office:document-styles {NS} office:version="1.3"><office:styles>'
    '<style:style style:name="Default" style:family="table-cell"/></office:styles></office:document-styles>'
).encode()


def manifest_xml(extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:version="1.3" manifest:media-type="{ODS_MIME}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
        + extra
        + "</manifest:manifest>"
    ).encode()


META = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta '
    b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.3">'
    b"<office:meta/></office:document-meta>"
)


def ods_package(
    content: bytes,
    extra: dict[str, bytes] | None = None,
    manifest_extra: str = "",
    mimetype: str = ODS_MIME,
    first: str = "mimetype",
) -> bytes:
    """A zip laid out as ODF requires: `mimetype` first and stored, then the parts (deflated)."""
    parts = {
        "mimetype": mimetype.encode(),
        "content.xml": content,
        "styles.xml": STYLES,
        "meta.xml": META,
        "META-INF/manifest.xml": manifest_xml(manifest_extra),
        **(extra or {}),
    }
    order = [first] + [n for n in parts if n != first]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in order:
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            zf.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), parts[name], compress_type=method
            )
    return buf.getvalue()


def ods_bytes(
    sheets: dict[str, list[list]], hidden: tuple[str, ...] = (), merges: dict | None = None
) -> bytes:
    """A workbook of `sheets` (name -> rows of values), LibreOffice-shaped."""
    merges = merges or {}
    return ods_package(
        content_xml([table_xml(n, rows, n in hidden, merges=merges.get(n, ())) for n, rows in sheets.items()])
    )


def workbook_to_ods(xlsx: bytes) -> bytes:
    """The openpyxl-readable workbook `xlsx` saved as .ods: same sheets, order, rows, columns,
    values, comments and hidden state (what "Save As .ods" keeps that a reader sees)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx))
    sheets, hidden, merges = {}, [], {}
    for ws in wb.worksheets:
        rows = []
        for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column):
            vals = []
            for c in row:
                v = c.value
                if isinstance(v, str) and v.startswith("=") and c.data_type == "f":
                    v = Formula(v)
                if c.comment is not None:
                    v = with_note(v, c.comment.text)
                vals.append(v)
            while vals and vals[-1] in (None, ""):
                vals.pop()
            rows.append(vals)
        sheets[ws.title] = rows
        if ws.sheet_state != "visible":
            hidden.append(ws.title)
        merges[ws.title] = [
            (m.min_row - 1, m.min_col - 1, m.max_row - m.min_row + 1, m.max_col - m.min_col + 1)
            for m in ws.merged_cells.ranges
        ]
    return ods_bytes(sheets, tuple(hidden), merges)
