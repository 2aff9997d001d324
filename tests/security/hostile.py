"""Named hostile uploads, each with the refusal it must get, for the tests and for the figures.

tests/security/test_limits.py and test_xml_attacks.py assert on them; tools/security_figures.py
times them (wall clock and peak memory, in a fresh process) for SECURITY.md. Keeping one list
means the figures are measured on exactly the files the tests refuse.
"""

from __future__ import annotations

import csv
import io
import zipfile

from tests.security.conftest import (
    GOOD_ROW,
    HEAD,
    build_zip,
    forge_declared_size,
    good_xlsx,
    long_xlsx,
    wb_bytes,
    with_part,
    zip_parts,
)

SHEET = "xl/worksheets/sheet1.xml"
SST = "xl/sharedStrings.xml"
WORKBOOK = "xl/workbook.xml"
MB = 1024 * 1024

LAUGHS_DTD = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


def _with_doctype(xml: bytes, dtd: bytes, ref: bytes) -> bytes:
    """`xml` with `dtd` before its root element and `ref` in its first text or value."""
    decl, rest = (
        (xml.split(b"?>", 1)[0] + b"?>", xml.split(b"?>", 1)[1]) if xml.startswith(b"<?xml") else (b"", xml)
    )
    for tag in (b"<t>", b"<v>"):
        if tag in rest:
            rest = rest.replace(tag, tag + ref, 1)
            break
    else:  # the workbook: put the reference in an attribute value
        rest = rest.replace(b'name="', b'name="' + ref, 1)
    return decl + dtd + rest.lstrip()


def _string_workbook() -> bytes:
    """A long-format workbook whose text goes through sharedStrings.xml (as Excel writes it)."""
    parts = zip_parts(good_xlsx())
    # openpyxl writes inline strings; move the header's first text into a shared-strings table
    old = b'<c r="A1" t="inlineStr"><is><t>city_code</t></is></c>'
    assert old in parts[SHEET]
    parts[SHEET] = parts[SHEET].replace(old, b'<c r="A1" t="s"><v>0</v></c>')
    parts[SST] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>city_code</t></si></sst>"
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    return build_zip(parts)


def shared_strings_xlsx() -> bytes:
    """A valid long-format workbook with a shared-strings part (the seed the XML attacks edit)."""
    return _string_workbook()


def oversize_csv() -> bytes:
    line = "0101,01,2023,G1,3,bukti,\n"
    return (
        "city_code,opd_code,year,indicator_code,level,evidence,note\n" + line * (10 * MB // len(line) + 10)
    ).encode()


def oversize_xlsx() -> bytes:
    # a real zip just over 10 MB: an incompressible stored part
    import random

    rnd = random.Random(1)
    parts = zip_parts(good_xlsx())
    parts["xl/media/image1.bin"] = rnd.randbytes(10 * MB + 1024)
    return build_zip(parts, zipfile.ZIP_STORED)


def unzipped_over_limit() -> bytes:
    parts = zip_parts(good_xlsx())
    parts["xl/media/pad.bin"] = b"\x00" * (21 * MB)
    return build_zip(parts)


def too_many_entries() -> bytes:
    parts = zip_parts(good_xlsx())
    parts.update({f"xl/extra/e{i}.xml": b"<e/>" for i in range(101)})
    return build_zip(parts)


def ratio_over_100() -> bytes:
    parts = zip_parts(good_xlsx())
    parts["xl/media/pad.bin"] = b"\x00" * (4 * MB)
    return build_zip(parts)


def forged_small_size_bomb() -> bytes:
    """A sheet that inflates to 40 MB but declares 2 KB: passes the directory checks, so only
    inflating with the declared size enforced catches it."""
    pad = b"<!-- " + b"x" * (40 * MB) + b" -->"
    parts = zip_parts(good_xlsx())
    parts[SHEET] = parts[SHEET].replace(b"</worksheet>", pad + b"</worksheet>")
    return forge_declared_size(build_zip(parts), SHEET, 2048)


def forged_large_size() -> bytes:
    data = good_xlsx()
    real = len(zip_parts(data)[SHEET])
    return forge_declared_size(data, SHEET, real + 1000)


def rows_over_template() -> bytes:
    return wb_bytes(long_xlsx(rows=[["0101", "01", 2023, "G1", 1, None, None]] * 2_001))


def cols_over_template() -> bytes:
    wb = long_xlsx()
    wb.active.cell(row=2, column=31, value="x")
    return wb_bytes(wb)


def far_cell_no_dimension() -> bytes:
    """One cell at row 1,048,576 and no <dimension>: a sparse sheet that would make a dense grid."""

    def edit(xml: bytes) -> bytes:
        import re

        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        return xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="n"><v>1</v></c></row></sheetData>'
        )

    return with_part(good_xlsx(), SHEET, edit)


def beyond_excel_limit() -> bytes:
    def edit(xml: bytes) -> bytes:
        return xml.replace(
            b"</sheetData>", b'<row r="1048577"><c r="A1048577" t="n"><v>1</v></c></row></sheetData>'
        )

    return with_part(good_xlsx(), SHEET, edit)


def unreferenced_wide_row() -> bytes:
    """Cells without r= references: positions implied by order, 40 of them in one row."""

    def edit(xml: bytes) -> bytes:
        cells = b"".join(b'<c t="n"><v>%d</v></c>' % i for i in range(40))
        return xml.replace(b"</sheetData>", b"<row>" + cells + b"</row></sheetData>")

    return with_part(good_xlsx(), SHEET, edit)


def reference_behind_quoted_gt() -> bytes:
    """A '>' inside a quoted attribute value is not the end of the tag: the r= after it is read
    by the parser (a grid to XFD1,048,576 is 550 GB), so the checks must read it too."""

    def edit(xml: bytes) -> bytes:
        return xml.replace(
            b"</sheetData>", b'<row r="3"><c x=">" r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
        )

    return with_part(good_xlsx(), SHEET, edit)


def implied_cells_after_hidden_reference() -> bytes:
    """Cells without r= follow a reference hidden behind a quoted '>': AD3, then AE3 (column 31)."""

    def edit(xml: bytes) -> bytes:
        cells = b'<c x=">" r="AD3" t="n"><v>1</v></c>' + b'<c t="n"><v>2</v></c>'
        return xml.replace(b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>")

    return with_part(good_xlsx(), SHEET, edit)


def unclosed_quote_in_cell() -> bytes:
    """A cell tag whose attribute never closes: refused as malformed, not guessed at."""

    def edit(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", b'<row r="3"><c t="n x=1><v>1</v></c></row></sheetData>')

    return with_part(good_xlsx(), SHEET, edit)


def stacked_cells() -> bytes:
    """70,000 cells all claiming position A2: within the grid, but a memory sink for a parser."""

    def edit(xml: bytes) -> bytes:
        import random

        rnd = random.Random(3)  # varied values, so the part does not trip the ratio check first
        cells = b"".join(b'<c r="A3" t="n"><v>%d</v></c>' % rnd.getrandbits(40) for _ in range(70_000))
        return xml.replace(b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>")

    return with_part(good_xlsx(), SHEET, edit)


def csv_too_many_cols() -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(HEAD + [f"x{i}" for i in range(30)])
    return buf.getvalue().encode()


# XML attacks ---------------------------------------------------------------------------------


def laughs_in(part: str) -> bytes:
    ref = b"&lol9;"
    return with_part(_string_workbook(), part, lambda x: _with_doctype(x, LAUGHS_DTD, ref))


def xxe_in(part: str, target: str) -> bytes:
    dtd = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://' + target.encode() + b'">]>'
    return with_part(_string_workbook(), part, lambda x: _with_doctype(x, dtd, b"&xxe;"))


def xxe_parameter_entity(target: str) -> bytes:
    dtd = b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file://' + target.encode() + b'"> %p;]>'
    return with_part(_string_workbook(), SST, lambda x: _with_doctype(x, dtd, b""))


def doctype_after_padding(target: str) -> bytes:
    """The DTD after 100 KB of comments: a check of only the first bytes of a part misses it."""
    dtd = (
        b"<!--" + b"p" * 100_000 + b'--><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://' + target.encode() + b'">]>'
    )
    return with_part(_string_workbook(), SST, lambda x: _with_doctype(x, dtd, b"&xxe;"))


def utf16_part_with_dtd(target: str) -> bytes:
    """The same attack in UTF-16, where a byte search for '<!DOCTYPE' finds nothing."""
    dtd = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://' + target.encode() + b'">]>'

    def edit(xml: bytes) -> bytes:
        return (
            _with_doctype(xml, dtd, b"&xxe;")
            .replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
            .decode()
            .encode("utf-16")
        )

    return with_part(_string_workbook(), SST, edit)


def declared_latin1() -> bytes:
    return with_part(
        _string_workbook(),
        SST,
        lambda x: (
            x.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
            if b'encoding="UTF-8"' in x
            else b'<?xml version="1.0" encoding="ISO-8859-1"?>' + x
        ),
    )


LIMIT_CASES = {
    # name: (builder, expected problem key)
    "upload over 10 MB (csv)": (oversize_csv, "file.too_large"),
    "upload over 10 MB (xlsx)": (oversize_xlsx, "file.too_large"),
    "unzips to over 20 MB": (unzipped_over_limit, "file.zip_size"),
    "more than 100 zip entries": (too_many_entries, "file.zip_entries"),
    "compression ratio over 100:1": (ratio_over_100, "file.zip_ratio"),
    "forged size: 40 MB sheet declared 2 KB": (forged_small_size_bomb, "file.zip_bad"),
    "forged size: declared larger than content": (forged_large_size, "file.zip_bad"),
    "2,001 rows (template allows 2,000)": (rows_over_template, "file.too_many_rows"),
    "31 columns (template allows 30)": (cols_over_template, "file.too_many_cols"),
    "cell at row 1,048,576, no dimension": (far_cell_no_dimension, "file.too_many_rows"),
    "row past Excel's limit (1,048,577)": (beyond_excel_limit, "file.too_many_rows"),
    "40 unreferenced cells in a row": (unreferenced_wide_row, "file.too_many_cols"),
    "cell at XFD1,048,576 behind a quoted '>'": (reference_behind_quoted_gt, "file.too_many_rows"),
    "implied cells after a hidden reference": (implied_cells_after_hidden_reference, "file.too_many_cols"),
    "cell tag with an unclosed quote": (unclosed_quote_in_cell, "file.xml_bad"),
    "70,000 cells stacked on one row": (stacked_cells, "file.too_many_cells"),
    "CSV with 37 columns": (csv_too_many_cols, "file.too_many_cols"),
}


def xml_cases(target: str) -> dict:
    return {
        "billion laughs in sharedStrings": (lambda: laughs_in(SST), "file.xml_dtd"),
        "billion laughs in the sheet": (lambda: laughs_in(SHEET), "file.xml_dtd"),
        "billion laughs in the workbook": (lambda: laughs_in(WORKBOOK), "file.xml_dtd"),
        "XXE in sharedStrings": (lambda: xxe_in(SST, target), "file.xml_dtd"),
        "XXE in the sheet": (lambda: xxe_in(SHEET, target), "file.xml_dtd"),
        "XXE in the workbook": (lambda: xxe_in(WORKBOOK, target), "file.xml_dtd"),
        "XXE parameter entity": (lambda: xxe_parameter_entity(target), "file.xml_dtd"),
        "DTD after 100 KB of comments": (lambda: doctype_after_padding(target), "file.xml_dtd"),
        "UTF-16 part hiding a DTD": (lambda: utf16_part_with_dtd(target), "file.xml_encoding"),
        "part declaring ISO-8859-1": (declared_latin1, "file.xml_encoding"),
    }


# ------------------------------------------------ declared counts, package ambiguity, active content
# (issue 14, round two). Each builder starts from a valid workbook; the checked sheet stays clean,
# and wherever a second resolver could be pointed elsewhere, "elsewhere" holds a formula cell: a
# reader that followed it would accept a live formula the checks never saw.

FORMULA = (b'<c r="E2" t="n"><v>3</v></c>', b'<c r="E2" t="n"><f>1+1</f><v>3</v></c>')
WB_RELS = "xl/_rels/workbook.xml.rels"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _formula_sheet(parts: dict[str, bytes]) -> bytes:
    assert FORMULA[0] in parts[SHEET]
    return parts[SHEET].replace(*FORMULA)


def _sst_count(value: bytes) -> bytes:
    return with_part(
        _string_workbook(), SST, lambda x: x.replace(b'uniqueCount="1"', b'uniqueCount="' + value + b'"')
    )


def sst_unique_count_huge() -> bytes:
    """The 13 KB upload that aborted the server: the reader reserved 100,000,000,000 strings."""
    return _sst_count(b"100000000000")


def sst_unique_count_max() -> bytes:
    """uniqueCount at 2^64 - 1: the reader panicked (a BaseException, past `except Exception`)."""
    return _sst_count(b"18446744073709551615")


def sst_two_million_entries() -> bytes:
    """A real string table of 2,000,000 (empty) items, 14 MB unpacked, within the size and
    ratio limits (the spellings vary at random): refused by counting its items as it inflates."""
    import random

    rng = random.Random(2)
    items = b"".join(rng.choices((b"<si/>", b"<si />", b"<si></si>", b"<si>\n</si>"), k=2_000_000))
    parts = zip_parts(_string_workbook())
    parts[SST] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><si><t>city_code</t></si>' + items + b"</sst>"
    )
    return build_zip(parts)


def root_rels_elsewhere() -> bytes:
    """_rels/.rels names another workbook part, whose sheet holds a formula."""
    parts = zip_parts(good_xlsx())
    parts["xl/book2.xml"] = parts[WORKBOOK]
    parts["xl/_rels/book2.xml.rels"] = parts[WB_RELS].replace(
        b"/xl/worksheets/sheet1.xml", b"/xl/worksheets/sheet2.xml"
    )
    parts["xl/worksheets/sheet2.xml"] = _formula_sheet(parts)
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(b"xl/workbook.xml", b"xl/book2.xml")
    return build_zip(parts)


def names_differ_in_case() -> bytes:
    """Two sheet entries whose names differ only in case: one clean, one with a formula."""
    parts = zip_parts(good_xlsx())
    parts["xl/worksheets/Sheet1.xml"] = _formula_sheet(parts)
    return build_zip(parts)


def backslash_entry_name() -> bytes:
    """The sheet under a Windows-style name as well (the formula copy)."""
    parts = zip_parts(good_xlsx())
    parts["xl\\worksheets\\sheet1.xml"] = _formula_sheet(parts)
    return build_zip(parts)


def two_sheets_same_name() -> bytes:
    """Two <sheet name="Data">: one resolver keeps the first, another the last (with a formula)."""
    parts = zip_parts(good_xlsx())
    parts["xl/worksheets/sheet2.xml"] = _formula_sheet(parts)
    parts[WORKBOOK] = parts[WORKBOOK].replace(
        b"</sheets>", b'<sheet name="Data" sheetId="2" r:id="rId9" /></sheets>'
    )
    parts[WB_RELS] = parts[WB_RELS].replace(
        b"</Relationships>",
        b'<Relationship Type="'
        + REL.encode()
        + b'/worksheet" Target="worksheets/sheet2.xml" Id="rId9" /></Relationships>',
    )
    return build_zip(parts)


def target_outside_package() -> bytes:
    """The sheet's relationship climbs out of the package (../../)."""
    return with_part(
        good_xlsx(),
        WB_RELS,
        lambda x: x.replace(b"/xl/worksheets/sheet1.xml", b"../../worksheets/sheet1.xml"),
    )


def target_with_dot_segments() -> bytes:
    """A relationship target spelled with ./ and ../ that still lands on the sheet: read as that sheet."""
    return with_part(
        good_xlsx(),
        WB_RELS,
        lambda x: x.replace(b"/xl/worksheets/sheet1.xml", b"./worksheets/../worksheets/./sheet1.xml"),
    )


def dot_segments_to_formula() -> bytes:
    """The same spelling, landing on the sheet with the formula: the formula must be found."""
    return with_part(target_with_dot_segments(), SHEET, lambda x: x.replace(*FORMULA))


def _with_active(
    entry: str,
    content: bytes,
    rel_type: str | None,
    content_type: str | None,
    rels_part: str = WB_RELS,
    target: str | None = None,
) -> bytes:
    parts = zip_parts(good_xlsx())
    parts[entry] = content
    if rel_type:
        old = parts.get(
            rels_part,
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b"</Relationships>",
        )
        parts[rels_part] = old.replace(
            b"</Relationships>",
            (
                f'<Relationship Type="{rel_type}" Target="{target or "/" + entry}" Id="rIdX" /></Relationships>'
            ).encode(),
        )
    if content_type:
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>", f'<Override PartName="/{entry}" ContentType="{content_type}"/></Types>'.encode()
        )
    return build_zip(parts)


def macro_workbook() -> bytes:
    """An .xlsm: a VBA project, linked from the workbook and declared in the content types."""
    return _with_active(
        "xl/vbaProject.bin",
        b"\xd0\xcf\x11\xe0VBA",
        "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
        "application/vnd.ms-office.vbaProject",
    )


def macro_content_type_only() -> bytes:
    """A macro-enabled workbook content type, with the VBA part under an innocent name."""
    parts = zip_parts(good_xlsx())
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"spreadsheetml.sheet.main+xml", b"../application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    )
    return build_zip(parts)


def external_link() -> bytes:
    return _with_active(
        "xl/externalLinks/externalLink1.xml",
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
        REL + "/externalLink",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml",
    )


def ole_object() -> bytes:
    """An embedded OLE object linked from the sheet."""
    return _with_active(
        "xl/embeddings/oleObject1.bin",
        b"\xd0\xcf\x11\xe0OLE",
        REL + "/oleObject",
        None,
        rels_part="xl/worksheets/_rels/sheet1.xml.rels",
        target="../embeddings/oleObject1.bin",
    )


def embedded_file_renamed() -> bytes:
    """An embedded package under another folder, linked as a package from the sheet."""
    return _with_active(
        "xl/media/report.docx",
        b"PK\x03\x04docx",
        REL + "/package",
        None,
        rels_part="xl/worksheets/_rels/sheet1.xml.rels",
        target="../media/report.docx",
    )


def activex_control() -> bytes:
    return _with_active(
        "xl/activeX/activeX1.xml",
        b'<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/'
        b'activeX" ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}"/>',
        REL + "/control",
        "application/vnd.ms-office.activeX+xml",
        rels_part="xl/worksheets/_rels/sheet1.xml.rels",
        target="../activeX/activeX1.xml",
    )


def utf32_part() -> bytes:
    """The workbook part in UTF-32 without a byte-order mark."""
    return with_part(good_xlsx(), WORKBOOK, lambda x: x.decode().encode("utf-32-be"))


def renamed_pdf() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def one_byte() -> bytes:
    return b"a"


def word_document() -> bytes:
    return build_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


# name: (builder, expected problem key, or None where the file is valid once read as checked)
PACKAGE_CASES = {
    "sharedStrings uniqueCount 100,000,000,000": (sst_unique_count_huge, None),
    "sharedStrings uniqueCount 2^64-1": (sst_unique_count_max, None),
    "sharedStrings of 2,000,000 entries": (sst_two_million_entries, "file.too_many_strings"),
    "_rels/.rels points at another workbook": (root_rels_elsewhere, "file.package_ambiguous"),
    "entry names differing only in case": (names_differ_in_case, "file.package_ambiguous"),
    "backslash entry name": (backslash_entry_name, "file.package_ambiguous"),
    "two sheets with the same name": (two_sheets_same_name, "file.package_ambiguous"),
    "relationship target outside the package": (target_outside_package, "file.package_ambiguous"),
    "target with ./ and ../ to the clean sheet": (target_with_dot_segments, None),
    "target with ./ and ../ to a formula": (dot_segments_to_formula, "xlsx.formula"),
    "VBA project (.xlsm)": (macro_workbook, "file.active.macro"),
    "macro-enabled content type": (macro_content_type_only, "file.active.macro"),
    "external workbook link": (external_link, "file.active.external_link"),
    "OLE object": (ole_object, "file.active.ole_object"),
    "embedded package under xl/media": (embedded_file_renamed, "file.active.ole_object"),
    "ActiveX control": (activex_control, "file.active.activex"),
    "UTF-32 part without a byte-order mark": (utf32_part, "file.xml_encoding"),
    "a PDF renamed .xlsx": (renamed_pdf, "file.not_spreadsheet"),
    "a one-byte file": (one_byte, "file.not_spreadsheet"),
    "a Word document renamed .xlsx": (word_document, "file.not_spreadsheet"),
}


def largest_allowed_sheet() -> bytes:
    """The most a sheet may hold: 2,000 rows x 30 columns of text, 19.9 MB unpacked (just under
    the 20 MB limit), under 10 MB packed. Read whole by the native reader (then refused: text
    right of the template's columns), so its figure is the reading's worst case."""
    import random

    from metrics.readers import col_letter

    rng = random.Random(1)
    texts = [("".join(rng.choice("ab ") for _ in range(300))).encode() for _ in range(40)]
    parts = zip_parts(good_xlsx())
    xml = parts[SHEET]
    rows = [
        b'<row r="%d">' % r
        + b"".join(
            b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>'
            % (col_letter(c).encode(), r, rng.choice(texts))
            for c in range(30)
        )
        + b"</row>"
        for r in range(2, 2001)
    ]
    start, end = xml.index(b'<row r="2">'), xml.index(b"</sheetData>")
    parts[SHEET] = xml[:start] + b"".join(rows) + xml[end:]
    assert 19 * MB < len(parts[SHEET]) < 20 * MB, len(parts[SHEET])
    return build_zip(parts)


# name: (builder, expected problem key): the limits' worst cases that reach the native reader
SIZE_CASES = {
    "largest sheet the limits allow (19.9 MB of text)": (largest_allowed_sheet, "xlsx.stray_cell"),
}


# ---------------------------------------------------------------------------- OpenDocument (.ods)
# The same attacks and strict rules, in LibreOffice's format (metrics/ods.py). Each builder writes
# a LibreOffice-shaped package (tests/odsfile.py: trailing empty runs to row 1,048,576 and column
# 16,384 included), so a refusal is never an accident of an unusual shape.


def _ods(rows=None, **kw) -> bytes:
    from tests.odsfile import ods_bytes

    return ods_bytes({"Data": [HEAD, *(rows or [GOOD_ROW])]}, **kw)


def _ods_content(tables: str | None = None, before_body: str = "", in_spreadsheet: str = "") -> bytes:
    from tests.odsfile import content_xml, table_xml

    return content_xml(
        [tables if tables is not None else table_xml("Data", [HEAD, GOOD_ROW])], before_body, in_spreadsheet
    )


def _ods_with(content: bytes | None = None, **kw) -> bytes:
    from tests.odsfile import ods_package

    return ods_package(content if content is not None else _ods_content(), **kw)


def _ods_row(extra_row: str) -> bytes:
    """The valid sheet with `extra_row` (raw XML) after the good row, then LibreOffice's empty rest."""
    from tests.odsfile import table_xml

    table = table_xml("Data", [HEAD, GOOD_ROW])
    cut = table.index('<table:table-row table:style-name="ro1" table:number-rows-repeated=')
    return _ods_with(_ods_content(table[:cut] + extra_row + table[cut:]))


def ods_valid() -> bytes:
    """A long-format workbook as LibreOffice saves it: accepted, the empty rest not counted."""
    return _ods()


def ods_repeated_rows_bomb() -> bytes:
    """One filled row declared 1,048,574 times: 1 KB on disk, a million rows to a reader that expands it."""
    return _ods_row(
        '<table:table-row table:number-rows-repeated="1048574"><table:table-cell office:value-type="string">'
        "<text:p>0101</text:p></table:table-cell></table:table-row>"
    )


def ods_repeated_cells_bomb() -> bytes:
    """One filled cell repeated across all 16,384 columns of a row."""
    return _ods_row(
        '<table:table-row><table:table-cell office:value-type="float" office:value="3" '
        'table:number-columns-repeated="16384"><text:p>3</text:p></table:table-cell></table:table-row>'
    )


def ods_huge_repeat_both_ways() -> bytes:
    """A filled cell repeated 2^31 - 1 times across, in a row repeated 2^31 - 1 times down."""
    return _ods_row(
        '<table:table-row table:number-rows-repeated="2147483647"><table:table-cell office:value-type="string"'
        ' table:number-columns-repeated="2147483647"><text:p>x</text:p></table:table-cell></table:table-row>'
    )


def ods_content_after_empty_run() -> bytes:
    """An empty run of 5,000 rows, then one value: the value sits at row 5,003, past the 2,000 allowed."""
    return _ods_row(
        '<table:table-row table:number-rows-repeated="5000"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
    )


def ods_formula() -> bytes:
    from tests.odsfile import Formula

    return _ods([["0101", "01", 2023, "G1", Formula("=1+2"), "Perwali 12/2023", None]])


def ods_error_cell() -> bytes:
    from tests.odsfile import Error

    return _ods([["0101", "01", 2023, "G1", Error("#DIV/0!"), "Perwali 12/2023", None]])


def ods_merged() -> bytes:
    return _ods([GOOD_ROW, ["0101", "01", 2023, "G2", 2, "Dok", "catatan"]], merges={"Data": [(2, 5, 1, 2)]})


def ods_hidden_sheet() -> bytes:
    from tests.odsfile import ods_bytes

    return ods_bytes({"Data": [HEAD, GOOD_ROW], "Rahasia": [["x"]]}, hidden=("Rahasia",))


def ods_basic_macro() -> bytes:
    """A LibreOffice Basic library, as Calc stores one (Basic/Standard/Module1.xml)."""
    return _ods_with(
        extra={
            "Basic/Standard/Module1.xml": b'<?xml version="1.0" encoding="UTF-8"?><module>Sub Main\nEnd Sub</module>'
        },
        manifest_extra='<manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" '
        'manifest:media-type="text/xml"/>',
    )


def ods_macro_in_manifest_only() -> bytes:
    """A script declared in the manifest under an innocent name."""
    return _ods_with(
        extra={"lib/a.xml": b"<a/>"},
        manifest_extra='<manifest:file-entry manifest:full-path="lib/a.xml" '
        'manifest:media-type="application/vnd.sun.star.basic-script"/>',
    )


def ods_event_macro() -> bytes:
    """A macro bound to the document's open event."""
    return _ods_with(
        _ods_content(
            before_body="<office:scripts><office:event-listeners><script:event-listener "
            'script:language="ooo:script" script:event-name="dom:load" '
            'xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/>'
            "</office:event-listeners></office:scripts>"
        )
    )


def ods_embedded_object() -> bytes:
    """An embedded OLE object (Object 1/) with its replacement image."""
    return _ods_with(
        extra={"Object 1/content.xml": b"<x/>", "ObjectReplacements/Object 1": b"\x00" * 64},
        manifest_extra='<manifest:file-entry manifest:full-path="Object 1/" '
        'manifest:media-type="application/vnd.sun.star.oleobject"/>',
    )


def ods_draw_object_in_cell() -> bytes:
    """An object frame anchored in a cell (draw:object) pointing into the package."""
    return _ods_row(
        '<table:table-row><table:table-cell><draw:frame><draw:object xlink:href="./Obj"/></draw:frame>'
        "</table:table-cell></table:table-row>"
    )


def ods_linked_sheet() -> bytes:
    """A sheet linked to another file (table:table-source): LibreOffice offers to fetch it."""
    from tests.odsfile import table_xml

    table = table_xml("Data", [HEAD, GOOD_ROW]).replace(
        "<table:table-column",
        '<table:table-source xlink:href="file:///C:/rahasia/anggaran.ods" '
        'table:table-name="Sheet1" table:mode="copy-results-only"/><table:table-column',
        1,
    )
    return _ods_with(_ods_content(table))


def ods_form_control() -> bytes:
    from tests.odsfile import table_xml

    table = table_xml("Data", [HEAD, GOOD_ROW]).replace(
        "<table:table-column",
        '<office:forms><form:form form:name="F"><form:button form:name="B"/></form:form>'
        "</office:forms><table:table-column",
        1,
    )
    return _ods_with(_ods_content(table))


def ods_billion_laughs() -> bytes:
    c = _ods_content()
    head, rest = c.split(b"?>", 1)
    return _ods_with(head + b"?>" + LAUGHS_DTD + rest.replace(b"<text:p>G1<", b"<text:p>&lol9;<", 1))


def ods_xxe_styles() -> bytes:
    styles = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">&e;'
        b"</office:document-styles>"
    )
    return _ods_with(extra={"styles.xml": styles})


def ods_utf16_content() -> bytes:
    return _ods_with(
        _ods_content().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    )


def ods_mimetype_not_first() -> bytes:
    return _ods_with(first="content.xml")


def ods_text_document() -> bytes:
    """A LibreOffice Writer document renamed .ods."""
    return _ods_with(mimetype="application/vnd.oasis.opendocument.text")


def ods_two_sheets_same_name() -> bytes:
    from tests.odsfile import table_xml

    return _ods_with(_ods_content(table_xml("Data", [HEAD, GOOD_ROW]) + table_xml("DATA", [HEAD, GOOD_ROW])))


def ods_deep_nesting() -> bytes:
    return _ods_row(
        '<table:table-row><table:table-cell office:value-type="string"><text:p>'
        + "<text:span>" * 200
        + "x"
        + "</text:span>" * 200
        + "</text:p></table:table-cell></table:table-row>"
    )


def ods_forged_size() -> bytes:
    """content.xml inflating to 40 MB while declaring 2 KB (the disguised zip bomb)."""
    c = _ods_content().replace(b"<office:body>", b"<!-- " + b"x" * (40 * MB) + b" --><office:body>")
    return forge_declared_size(_ods_with(c), "content.xml", 2048)


# name: (builder, expected problem key, or None when the file must be accepted as checked)
ODS_CASES = {
    "LibreOffice-shaped long-format .ods": (ods_valid, None),
    "filled row repeated 1,048,574 times": (ods_repeated_rows_bomb, "file.too_many_rows"),
    "filled cell repeated 16,384 times": (ods_repeated_cells_bomb, "file.too_many_cols"),
    "filled cell repeated 2^31-1 times both ways": (ods_huge_repeat_both_ways, "file.too_many_rows"),
    "value after an empty run of 5,000 rows": (ods_content_after_empty_run, "file.too_many_rows"),
    "formula cell (.ods)": (ods_formula, "xlsx.formula"),
    "error cell (.ods)": (ods_error_cell, "xlsx.error_cell"),
    "merged cells (.ods)": (ods_merged, "xlsx.merged"),
    "hidden sheet (.ods)": (ods_hidden_sheet, "xlsx.hidden_sheet"),
    "LibreOffice Basic library": (ods_basic_macro, "file.active.macro"),
    "script type in the manifest only": (ods_macro_in_manifest_only, "file.active.macro"),
    "macro bound to the open event": (ods_event_macro, "file.active.macro"),
    "embedded OLE object (Object 1/)": (ods_embedded_object, "file.active.ole_object"),
    "object frame in a cell": (ods_draw_object_in_cell, "file.active.ole_object"),
    "sheet linked to another file": (ods_linked_sheet, "file.active.external_link"),
    "form control": (ods_form_control, "file.active.activex"),
    "billion laughs in content.xml": (ods_billion_laughs, "file.xml_dtd"),
    "XXE in styles.xml": (ods_xxe_styles, "file.xml_dtd"),
    "content.xml in UTF-16": (ods_utf16_content, "file.xml_encoding"),
    "mimetype not the first entry": (ods_mimetype_not_first, "file.package_ambiguous"),
    "a Writer document renamed .ods": (ods_text_document, "file.not_spreadsheet"),
    "two sheets named Data and DATA": (ods_two_sheets_same_name, "file.package_ambiguous"),
    "text nested 200 levels deep": (ods_deep_nesting, "file.xml_bad"),
    "forged size: 40 MB content.xml declared 2 KB": (ods_forged_size, "file.zip_bad"),
}
