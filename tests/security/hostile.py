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
    HEAD, build_zip, forge_declared_size, good_xlsx, long_xlsx, wb_bytes, with_part, zip_parts)

SHEET = "xl/worksheets/sheet1.xml"
SST = "xl/sharedStrings.xml"
WORKBOOK = "xl/workbook.xml"
MB = 1024 * 1024

LAUGHS_DTD = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                         for i in range(1, 10))
              + b"]>")


def _with_doctype(xml: bytes, dtd: bytes, ref: bytes) -> bytes:
    """`xml` with `dtd` before its root element and `ref` in its first text or value."""
    decl, rest = (xml.split(b"?>", 1)[0] + b"?>", xml.split(b"?>", 1)[1]) if xml.startswith(b"<?xml") else (b"", xml)
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
    parts[SST] = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
                  b"<si><t>city_code</t></si></sst>")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return build_zip(parts)


def shared_strings_xlsx() -> bytes:
    """A valid long-format workbook with a shared-strings part (the seed the XML attacks edit)."""
    return _string_workbook()


def oversize_csv() -> bytes:
    line = "0101,01,2023,G1,3,bukti,\n"
    return ("city_code,opd_code,year,indicator_code,level,evidence,note\n" + line * (10 * MB // len(line) + 10)).encode()


def oversize_xlsx() -> bytes:
    # a real zip just over 10 MB: an incompressible stored part
    import random

    rnd = random.Random(1)
    parts = zip_parts(good_xlsx())
    parts["xl/media/image1.bin"] = rnd.randbytes(10 * MB + 1024)
    return build_zip(parts, zipfile.ZIP_STORED)


def unzipped_over_50mb() -> bytes:
    parts = zip_parts(good_xlsx())
    parts["xl/media/pad.bin"] = b"\x00" * (51 * MB)
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
        return xml.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="n"><v>1</v></c></row></sheetData>')
    return with_part(good_xlsx(), SHEET, edit)


def beyond_excel_limit() -> bytes:
    def edit(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", b'<row r="1048577"><c r="A1048577" t="n"><v>1</v></c></row></sheetData>')
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
        return xml.replace(b"</sheetData>", b'<row r="3"><c x=">" r="XFD1048576" t="n"><v>1</v></c></row></sheetData>')
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
    dtd = (b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file://' + target.encode() + b'"> %p;]>')
    return with_part(_string_workbook(), SST, lambda x: _with_doctype(x, dtd, b""))


def doctype_after_padding(target: str) -> bytes:
    """The DTD after 100 KB of comments: a check of only the first bytes of a part misses it."""
    dtd = b"<!--" + b"p" * 100_000 + b'--><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://' + target.encode() + b'">]>'
    return with_part(_string_workbook(), SST, lambda x: _with_doctype(x, dtd, b"&xxe;"))


def utf16_part_with_dtd(target: str) -> bytes:
    """The same attack in UTF-16, where a byte search for '<!DOCTYPE' finds nothing."""
    dtd = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://' + target.encode() + b'">]>'

    def edit(xml: bytes) -> bytes:
        return _with_doctype(xml, dtd, b"&xxe;").replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")
    return with_part(_string_workbook(), SST, edit)


def declared_latin1() -> bytes:
    return with_part(_string_workbook(), SST, lambda x: x.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
                     if b'encoding="UTF-8"' in x else b'<?xml version="1.0" encoding="ISO-8859-1"?>' + x)


LIMIT_CASES = {
    # name: (builder, expected problem key)
    "upload over 10 MB (csv)": (oversize_csv, "file.too_large"),
    "upload over 10 MB (xlsx)": (oversize_xlsx, "file.too_large"),
    "unzips to over 50 MB": (unzipped_over_50mb, "file.zip_size"),
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
