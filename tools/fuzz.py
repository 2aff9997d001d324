"""A seeded corpus of hostile and broken uploads, and a runner that feeds it to the real ingest.

Why it exists: the promise "any file an OPD (or an attacker) uploads is either accepted whole
or refused with a message, and a refused file changes nothing" is only worth something if it
holds for files nobody thought of. This module mutates a handful of valid seed files (the
OPD template, a long-format workbook, assessment and service-metric CSVs) with byte flips,
truncations, zip-entry damage (dropped, garbled, duplicated entries; forged sizes and CRCs;
DTDs and external entities; UTF-16 parts; bombs), header shuffles and random cell values.
The same seed always gives the same corpus, so a failure found here is reproducible.

The test suite (tests/security/test_fuzz.py) runs a fast subset on every run and the full
corpus (1,200 files) under @pytest.mark.slow. Run by hand:

    .venv/bin/python tools/fuzz.py --n 1200 --seed 2024 [--keep DIR]

It prints the figures SECURITY.md quotes and exits 1 if any file raised.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import struct
import sys
import time
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

XSS = "<img src=x onerror=alert(1)>"
NIK = "3273012345678901"

# Values a hostile or careless spreadsheet puts in cells.
CELL_PALETTE: tuple[object, ...] = (
    "",
    " ",
    "0",
    "4",
    "5",
    "-1",
    "3,5",
    "3.5",
    "2.0",
    "1e3",
    "NaN",
    "inf",
    "-inf",
    "TRUE",
    "FALSE",
    "BENAR",
    "tiga",
    "٣",
    "３",
    "2023",
    "20x3",
    "9999",
    "0101",
    "01",
    "G1",
    "G2",
    "E1",
    "E2",
    "XX",
    "ZZZ",
    "=1+1",
    "+SUM(A1)",
    "-2+3",
    "@cmd",
    "\tTAB",
    "\rCR",
    "  =lead",
    '=HYPERLINK("http://x","y")',
    XSS,
    "<script>alert(1)</script>",
    "**bold** [x](javascript:alert(1))",
    NIK,
    "NIK " + NIK,
    "3273 0123 4567 8901",
    "x" * 5000,
    "\x00",
    "\x1b[31m",
    "é",
    "漢字",
    "🙂",
    "a\nb",
    '"quoted"',
    "'; DROP TABLE submissions; --",
    "../../etc/passwd",
    "2023-13",
    "2023-01",
    "2023-1",
    "1.7976931348623157e309",
    3,
    4,
    0,
    -1,
    7,
    2.5,
    1e20,
    3273012345678901,
    True,
    False,
    None,
)


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    mutation: str
    seed_name: str


# ----------------------------------------------------------------------------------- seeds


def seed_files(store) -> dict[str, bytes]:
    """Valid uploads for the store's first framework and first city/OPDs, the mutation bases."""
    import openpyxl

    from metrics.loaded_frameworks import loaded_frameworks
    from metrics.templates import build_template

    fw, _seq = loaded_frameworks(store)[0]
    year = fw.applies_from
    opds = sorted(store.opd_map().values(), key=lambda o: (o.city_code, o.opd_code))
    city = next(c for c in store.cities() if c.city_code == opds[0].city_code)
    out: dict[str, bytes] = {}
    # the template, filled
    for opd in opds:
        inds = fw.indicators_for_opd_type(opd.opd_type)
        if inds:
            prefill = {
                ind.code: (min(fw.scale_max, 1 + n % fw.scale_max), f"Bukti {n}", None)
                for n, ind in enumerate(inds)
            }
            out["template.xlsx"] = _stable(build_template(fw, city, opd, year, prefill))
            break
    # long-format CSV and xlsx of every responsible OPD of that city
    rows = []
    for opd in opds:
        if opd.city_code != city.city_code:
            continue
        for n, ind in enumerate(fw.indicators_for_opd_type(opd.opd_type)):
            rows.append(
                [opd.city_code, opd.opd_code, year, ind.code, (n + 1) % (fw.scale_max + 1), f"Dok {n}", ""]
            )
    head = ["city_code", "opd_code", "year", "indicator_code", "level", "evidence", "note"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    out["assess.csv"] = buf.getvalue().encode()
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(["kode_kota", "kode_opd", "tahun", "kode_indikator", "level", "bukti", "catatan"])
    w.writerows(rows)
    out["assess_semicolon.csv"] = ("\ufeff" + buf.getvalue()).encode()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(head)
    for r in rows:
        ws.append(r)
    b = io.BytesIO()
    wb.save(b)
    out["long.xlsx"] = _stable(b.getvalue())
    # a service-metric CSV, if the framework has metrics
    metric_rows = []
    for opd in opds:
        if opd.city_code != city.city_code:
            continue
        for code, ind in sorted(fw.metric_codes().items()):
            if opd.opd_type in ind.opd_types:
                metric_rows += [
                    [opd.city_code, opd.opd_code, code, f"{year}-{m:02d}", 10 * m] for m in (1, 2, 3)
                ]
    if metric_rows:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["city_code", "opd_code", "metric_code", "period", "value"])
        w.writerows(metric_rows)
        out["metric.csv"] = buf.getvalue().encode()
    return out


# ------------------------------------------------------------------------------- zip helpers


_TIMESTAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _stable(data: bytes) -> bytes:
    """A workbook openpyxl just saved, with its clock readings fixed, so the corpus is reproducible."""
    parts = [(i.filename, c) for i, c in _entries(data)]
    return _build(
        [
            (n, _TIMESTAMP.sub(rb"\g<1>2024-01-01T00:00:00Z\g<2>", c) if n == "docProps/core.xml" else c)
            for n, c in parts
        ]
    )


def _entries(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    return [(i, zf.read(i.filename)) for i in zf.infolist()]


def _build(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content, compress_type=method)
    return buf.getvalue()


def _sheet_name(entries) -> str:
    names = [i.filename for i, _ in entries]
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/sheet"))
    return sheets[-1] if sheets else names[-1]


def _patch_directory(data: bytes, index: int, *, size: int | None = None, crc: int | None = None) -> bytes:
    """Rewrite the `index`-th entry's declared uncompressed size and/or CRC, in the central
    directory and its local header alike (a forged header, as an attacker would write it)."""
    out = bytearray(data)
    pos, n = 0, -1
    while True:
        pos = out.find(b"PK\x01\x02", pos)
        if pos < 0:
            return bytes(out)
        n += 1
        if n == index:
            break
        pos += 4
    local = struct.unpack_from("<I", out, pos + 42)[0]
    if crc is not None:
        struct.pack_into("<I", out, pos + 16, crc & 0xFFFFFFFF)
        struct.pack_into("<I", out, local + 14, crc & 0xFFFFFFFF)
    if size is not None:
        struct.pack_into("<I", out, pos + 24, size)
        struct.pack_into("<I", out, local + 22, size)
    return bytes(out)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def _inject_doctype(xml: bytes, decl: bytes, ref: bytes) -> bytes:
    """Put `decl` before the root element and `ref` (an entity reference) in the first text."""
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    if b"<t>" in body:
        body = body.replace(b"<t>", b"<t>" + ref, 1)
    elif b"<v>" in body:
        body = body.replace(b"<v>", b"<v>" + ref, 1)
    return decl + body.lstrip()


# ------------------------------------------------------------------------------- mutators


def m_byte_flip(rng: random.Random, data: bytes, kind: str) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 24)):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256)
    return bytes(b)


def m_truncate(rng: random.Random, data: bytes, kind: str) -> bytes:
    return data[: rng.randrange(0, len(data))]


def m_append_junk(rng: random.Random, data: bytes, kind: str) -> bytes:
    return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))


def m_zip_damage(rng: random.Random, data: bytes, kind: str) -> bytes:
    if kind != "xlsx":
        return m_byte_flip(rng, data, kind)
    ents = _entries(data)
    names = [(i.filename, c) for i, c in ents]
    how = rng.choice(
        [
            "drop",
            "garble",
            "forge_small",
            "forge_crc",
            "duplicate",
            "stored",
            "bomb",
            "many",
            "rename_sheet",
            "empty_part",
            "xml_trunc",
        ]
    )
    if how == "drop":
        del names[rng.randrange(len(names))]
        return _build(names)
    if how == "garble":
        k = rng.randrange(len(names))
        names[k] = (names[k][0], bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000))))
        return _build(names)
    if how == "forge_small":
        k = rng.randrange(len(names))
        built = _build(names)
        return _patch_directory(built, k, size=rng.choice([0, 1, max(1, len(names[k][1]) // 2)]))
    if how == "forge_crc":
        return _patch_directory(_build(names), rng.randrange(len(names)), crc=rng.getrandbits(32))
    if how == "duplicate":
        k = rng.randrange(len(names))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _build(names + [(names[k][0], b"<x/>")])
    if how == "stored":
        return _build(names, zipfile.ZIP_STORED)
    if how == "bomb":
        return _build(names + [("xl/media/pad.bin", b"\x00" * rng.choice([2_000_000, 3_000_000]))])
    if how == "many":
        return _build(names + [(f"xl/extra/e{i}.xml", b"<e/>") for i in range(rng.randint(95, 140))])
    if how == "rename_sheet":
        sheet = _sheet_name(ents)
        return _build([(("xl/worksheets/other.xml" if n == sheet else n), c) for n, c in names])
    if how == "empty_part":
        k = rng.randrange(len(names))
        names[k] = (names[k][0], b"")
        return _build(names)
    # xml_trunc
    k = rng.randrange(len(names))
    names[k] = (names[k][0], names[k][1][: rng.randrange(max(1, len(names[k][1])))])
    return _build(names)


def m_xml_attack(rng: random.Random, data: bytes, kind: str) -> bytes:
    if kind != "xlsx":
        # entity text in a CSV is just text; the CSV reader must treat it as such
        return data + b"\n" + BILLION_LAUGHS.replace(b"\n", b" ")
    ents = [(i.filename, c) for i, c in _entries(data)]
    targets = [n for n, _ in ents if n.endswith((".xml", ".rels"))]
    target = rng.choice(targets + ["xl/sharedStrings.xml", "xl/workbook.xml", _sheet_name(_entries(data))])
    how = rng.choice(["laughs", "xxe", "utf16", "padded_doctype", "latin1_decl"])
    out = []
    for n, c in ents:
        if n == target:
            if how == "laughs":
                c = _inject_doctype(c, BILLION_LAUGHS, b"&lol9;")
            elif how == "xxe":
                c = _inject_doctype(c, XXE, b"&xxe;")
            elif how == "utf16":
                c = (
                    c.replace(b"UTF-8", b"UTF-16")
                    .replace(b"utf-8", b"UTF-16")
                    .decode("utf-8")
                    .encode("utf-16")
                )
            elif how == "padded_doctype":  # comments push the DTD past any prefix-only check
                c = _inject_doctype(
                    c, b'<?xml version="1.0"?>' + b"<!--" + b"p" * 70_000 + b"-->" + XXE[21:], b"&xxe;"
                )
            else:
                c = c.replace(b"UTF-8", b"ISO-8859-1").replace(b"utf-8", b"ISO-8859-1")
        out.append((n, c))
    return _build(out)


def m_sheet_xml(rng: random.Random, data: bytes, kind: str) -> bytes:
    """Edits of the sheet XML itself: formulas, errors, merges, far cells, references dropped or
    hidden behind a '>' inside a quoted attribute value."""
    if kind != "xlsx":
        return m_cells(rng, data, kind)
    ents = [(i.filename, c) for i, c in _entries(data)]
    sheet = _sheet_name(_entries(data))
    how = rng.choice(
        [
            "formula",
            "formula_nocache",
            "shared_formula",
            "error",
            "far_row",
            "far_col",
            "excel_limit",
            "no_refs",
            "prefixed",
            "merge",
            "dimension",
            "hidden",
            "quoted_gt_far",
            "quoted_gt_error",
            "quoted_gt_run",
        ]
    )
    out = []
    for n, c in ents:
        if n == sheet:
            if how == "formula":
                c = c.replace(b"<v>", b"<f>1+1</f><v>", 1)
            elif how == "formula_nocache":
                c = c.replace(
                    b"</sheetData>", b'<row r="1999"><c r="B1999"><f>NOW()</f></c></row></sheetData>'
                )
            elif how == "shared_formula":
                c = c.replace(
                    b"</sheetData>",
                    b'<row r="1998"><c r="C1998"><f t="shared" si="0"/></c></row></sheetData>',
                )
            elif how == "error":
                c = c.replace(
                    b"</sheetData>", b'<row r="1997"><c r="D1997" t="e"><v>#DIV/0!</v></c></row></sheetData>'
                )
            elif how == "far_row":
                c = c.replace(
                    b"</sheetData>", b'<row r="250000"><c r="A250000" t="n"><v>1</v></c></row></sheetData>'
                )
            elif how == "far_col":
                c = c.replace(
                    b"</sheetData>", b'<row r="1996"><c r="XFD1996" t="n"><v>1</v></c></row></sheetData>'
                )
            elif how == "excel_limit":
                c = c.replace(
                    b"</sheetData>", b'<row r="1048577"><c r="A1048577"><v>1</v></c></row></sheetData>'
                )
            elif how == "no_refs":
                import re

                c = re.sub(rb'\sr="[A-Z]+[0-9]+"', b"", c)
            elif how == "prefixed":
                c = (
                    c.replace(b"<c ", b"<x:c ")
                    .replace(b"</c>", b"</x:c>")
                    .replace(
                        b"<worksheet ",
                        b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ',
                        1,
                    )
                )
                c = c.replace(b"<v>", b"<x:f>1+1</x:f><v>", 1)
            elif how == "quoted_gt_far":  # a '>' in a quoted value does not end the tag; r= after it counts
                c = c.replace(
                    b"</sheetData>",
                    b'<row r="1995"><c x=">" r="XFD1048576" t="n"><v>1</v></c></row></sheetData>',
                )
            elif how == "quoted_gt_error":
                c = c.replace(
                    b"</sheetData>",
                    b'<row r="1994"><c x=">" r="D1994" t="e"><v>#N/A</v></c></row></sheetData>',
                )
            elif how == "quoted_gt_run":  # implied cells after a reference hidden behind a quoted '>'
                c = c.replace(
                    b"</sheetData>",
                    b'<row r="1993"><c x=">" r="AD1993" t="n"><v>1</v></c>'
                    + b'<c t="n"><v>2</v></c>' * 200
                    + b"</row></sheetData>",
                )
            elif how == "merge":
                c = c.replace(
                    b"</sheetData>",
                    b'</sheetData><mergeCells count="1"><mergeCell ref="K11:L12"/></mergeCells>',
                    1,
                )
            elif how == "dimension":
                import re

                c = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', c, count=1)
        if how == "hidden" and n == "xl/workbook.xml":
            c = c.replace(b"<sheet ", b'<sheet state="hidden" ', 1)
        out.append((n, c))
    return _build(out)


def _workbook(data: bytes):
    """The workbook for an openpyxl-level mutation, or None when openpyxl cannot open it."""
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data))
    except Exception:
        return None


def m_header_shuffle(rng: random.Random, data: bytes, kind: str) -> bytes:
    if kind == "xlsx":
        wb = _workbook(data)
        if wb is None:
            return data
        ws = wb.worksheets[-1]
        hr = 10 if ws.title == "Penilaian" else 1
        cells = [c for c in ws[hr]]
        values = [c.value for c in cells]
        how = rng.choice(["shuffle", "rename", "blank"])
        if how == "shuffle":
            rng.shuffle(values)
        elif how == "rename":
            k = rng.randrange(len(values))
            values[k] = rng.choice(["nik", "no_kk", "Level", "LEVEL (0-4)", "bukti ", "x", "Kode  Indikator"])
        else:
            values[rng.randrange(len(values))] = None
        for c, v in zip(cells, values):
            c.value = v
        b = io.BytesIO()
        wb.save(b)
        return _stable(b.getvalue())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data
    lines = text.split("\n")
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    cols = lines[0].split(delim)
    how = rng.choice(["shuffle", "drop", "dup", "rename", "delim", "nik"])
    if how == "shuffle":
        rng.shuffle(cols)
    elif how == "drop":
        del cols[rng.randrange(len(cols))]
    elif how == "dup":
        cols.append(rng.choice(cols))
    elif how == "rename":
        cols[rng.randrange(len(cols))] = rng.choice(["Kode Kota", "level ", "LEVEL", "tahun_", "x"])
    elif how == "delim":
        lines = [ln.replace(delim, rng.choice(["\t", "|", ";" if delim == "," else ","])) for ln in lines]
        return "\n".join(lines).encode()
    else:
        cols.append("nik")
        lines = [lines[0]] + [ln + delim + NIK if ln.strip() else ln for ln in lines[1:]]
    lines[0] = delim.join(cols)
    return "\n".join(lines).encode()


def m_cells(rng: random.Random, data: bytes, kind: str) -> bytes:
    """Random values in random cells (the sheet's data area or the CSV's fields)."""
    if kind == "xlsx":
        wb = _workbook(data)
        if wb is None:
            return data
        ws = wb.worksheets[-1]
        first = 11 if ws.title == "Penilaian" else 2
        for _ in range(rng.randint(1, 6)):
            r = rng.randint(first - (7 if first == 11 else 1), max(first, ws.max_row))
            c = rng.randint(1, max(1, ws.max_column))
            v = rng.choice(CELL_PALETTE)
            if isinstance(v, str) and ("\x00" in v or "\x1b" in v):
                v = v.replace("\x00", "").replace("\x1b", "")  # openpyxl refuses control characters
            ws.cell(row=r, column=c, value=v)
        b = io.BytesIO()
        wb.save(b)
        return _stable(b.getvalue())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data
    delim = ";" if text.split("\n", 1)[0].count(";") > 1 else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    for _ in range(rng.randint(1, 6)):
        if len(rows) < 2:
            break
        r = rng.randrange(1, len(rows))
        if rows[r]:
            rows[r][rng.randrange(len(rows[r]))] = str(rng.choice(CELL_PALETTE))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])).writerows(rows)
    return buf.getvalue().encode()


def m_encoding(rng: random.Random, data: bytes, kind: str) -> bytes:
    if kind == "xlsx":
        return m_truncate(rng, data, kind)
    text = data.decode("utf-8-sig", "replace") + "\n0101,01,2023,G1,3,Bukti é,\n"
    enc = rng.choice(["latin-1", "utf-16", "cp1252", "utf-8-crlf", "mac-cr", "nul"])
    if enc == "utf-8-crlf":
        return text.replace("\n", "\r\n").encode()
    if enc == "mac-cr":
        return text.replace("\n", "\r").encode()
    if enc == "nul":
        return text.encode() + b"\x00\x00"
    return text.encode(enc, "replace")


def m_rows(rng: random.Random, data: bytes, kind: str) -> bytes:
    """Many rows or many columns (CSV), past the template's limits."""
    if kind == "xlsx":
        return m_sheet_xml(rng, data, kind)
    text = data.decode("utf-8-sig", "replace")
    lines = text.rstrip("\n").split("\n")
    how = rng.choice(["dup_rows", "wide", "long_row"])
    if how == "dup_rows":
        return ("\n".join(lines + lines[1:] * rng.randint(1, 3)) + "\n").encode()
    delim = ";" if lines[0].count(";") > 1 else ","
    if how == "wide":
        lines[0] += delim + delim.join(f"c{i}" for i in range(40))
        return "\n".join(lines).encode()
    lines[-1] += delim + "extra" + delim + "3"
    return "\n".join(lines).encode()


# Issue 14, round two: classes an independent test found. Each picks one variant at random.
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def m_declared_counts(rng: random.Random, data: bytes, kind: str) -> bytes:
    """Declared counts and extents far beyond the content: the shared-string table's counts
    (which the native reader used to reserve memory by), a dimension, a huge string table."""
    if kind != "xlsx":
        return m_cells(rng, data, kind)
    ents = [(i.filename, c) for i, c in _entries(data)]
    how = rng.choice(
        ["unique_huge", "unique_max", "count_huge", "unique_negative", "many_strings", "dimension"]
    )
    big = {
        "unique_huge": b"100000000000",
        "unique_max": b"18446744073709551615",
        "count_huge": b"99999999999",
        "unique_negative": b"-1",
    }.get(how, b"1")
    out = []
    has_sst = any(n == "xl/sharedStrings.xml" for n, _c in ents)
    for n, c in ents:
        if n == "xl/sharedStrings.xml":
            attr = b"count" if how == "count_huge" else b"uniqueCount"
            c = re.sub(rb"(<sst\b[^>]*?)\s" + attr + rb'="[^"]*"', rb"\1", c)
            c = c.replace(b"<sst ", b"<sst " + attr + b'="' + big + b'" ', 1)
            if how == "many_strings":
                c = c.replace(
                    b"</sst>",
                    b"".join(b"<si><t>%d</t></si>" % k for k in range(rng.choice((100_001, 400_000))))
                    + b"</sst>",
                )
        elif n == _sheet_name(_entries(data)) and how == "dimension":
            c = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', c)
        out.append((n, c))
    if not has_sst and how != "dimension":  # give the workbook a string table to lie in
        out.append(
            (
                "xl/sharedStrings.xml",
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main" uniqueCount="'
                + big
                + b'"><si><t>x</t></si></sst>',
            )
        )
        out = [
            (
                n,
                c.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdS" Type="{_REL_NS}/sharedStrings" '
                    f'Target="sharedStrings.xml"/></Relationships>'.encode(),
                )
                if n == "xl/_rels/workbook.xml.rels"
                else c,
            )
            for n, c in out
        ]
    return _build(out)


def m_package_ambiguity(rng: random.Random, data: bytes, kind: str) -> bytes:
    """Packages two readers resolve differently; the copy a second reader would follow holds a
    formula (which must never be accepted)."""
    if kind != "xlsx":
        return m_cells(rng, data, kind)
    ents = [(i.filename, c) for i, c in _entries(data)]
    sheet = _sheet_name(_entries(data))
    parts = dict(ents)
    evil = re.sub(
        rb"(<c r=\"[A-Z]+\d+\"[^>]*?)(/>|>)",
        rb"\1><f>1+1</f><v>0</v></c><c r=\"ZZ1\"\2",
        parts[sheet],
        count=1,
    )
    how = rng.choice(["root_rels", "case", "backslash", "same_name", "outside", "dots"])
    if how == "root_rels":
        parts["xl/book2.xml"] = parts["xl/workbook.xml"]
        parts["xl/_rels/book2.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            sheet.split("/")[-1].encode(), b"evil.xml"
        )
        parts[sheet.rsplit("/", 1)[0] + "/evil.xml"] = evil
        parts["_rels/.rels"] = parts["_rels/.rels"].replace(b"xl/workbook.xml", b"xl/book2.xml")
    elif how == "case":
        parts[sheet.replace("sheet", rng.choice(["Sheet", "SHEET", "sHeet"]))] = evil
    elif how == "backslash":
        parts[sheet.replace("/", "\\")] = evil
    elif how == "same_name":
        name = re.search(rb'<sheet [^>]*name="([^"]*)"', parts["xl/workbook.xml"]).group(1)
        parts["xl/worksheets/evil.xml"] = evil
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
            b"</sheets>", b'<sheet name="' + name.upper() + b'" sheetId="77" r:id="rIdE"/></sheets>'
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            f'<Relationship Id="rIdE" Type="{_REL_NS}/worksheet" Target="worksheets/evil.xml"/>'
            "</Relationships>".encode(),
        )
    else:
        rels = parts["xl/_rels/workbook.xml.rels"]
        target = re.search(
            rb'Target="([^"]*' + re.escape(sheet.split("/")[-1].encode()) + rb')"', rels
        ).group(1)
        new = (
            b"../../" + target.split(b"/")[-1]
            if how == "outside"
            else b"./worksheets/../worksheets/./" + target.split(b"/")[-1]
        )
        parts["xl/_rels/workbook.xml.rels"] = rels.replace(target, new)
        if how == "dots":
            parts[sheet] = evil
    return _build(list(parts.items()))


def m_active_content(rng: random.Random, data: bytes, kind: str) -> bytes:
    """Macros, external links, OLE/ActiveX objects and embedded files, by part, link or type."""
    from metrics.readers import ACTIVE_CONTENT

    if kind != "xlsx":
        return m_cells(rng, data, kind)
    parts = dict((i.filename, c) for i, c in _entries(data))
    what = rng.choice(ACTIVE_CONTENT)
    how = rng.choice(["part", "relationship", "content_type"])
    if how == "part":
        parts[
            rng.choice(what.part_prefixes).replace("xl/vbaproject", "xl/vbaProject")
            + rng.choice(["1.bin", ".bin", "x.xml"])
        ] = b"\xd0\xcf\x11\xe0"
    elif how == "relationship":
        rels = "xl/_rels/workbook.xml.rels"
        parts[rels] = parts[rels].replace(
            b"</Relationships>",
            (
                f'<Relationship Id="rIdA" Type="{_REL_NS}/{rng.choice(what.rel_types)}" Target="media/a.bin"/>'
                "</Relationships>"
            ).encode(),
        )
        parts["xl/media/a.bin"] = b"\xd0\xcf\x11\xe0"
    else:
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            (
                f'<Override PartName="/xl/media/b.bin" ContentType="application/vnd.ms-office.'
                f'{rng.choice(what.content_marks)}"/></Types>'
            ).encode(),
        )
        parts["xl/media/b.bin"] = b"\x00"
    return _build(list(parts.items()))


def m_not_a_table(rng: random.Random, data: bytes, kind: str) -> bytes:
    """What people upload by mistake: a PDF, a picture, a one-byte file, a UTF-32 CSV, a .docx."""
    from metrics.readers import KNOWN_NOT_TABLES

    how = rng.choice(["magic", "one_byte", "utf32", "docx", "empty_line"])
    if how == "magic":
        return rng.choice(KNOWN_NOT_TABLES)[0] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    if how == "one_byte":
        return bytes([rng.randrange(32, 127)])
    if how == "utf32":
        return data.decode("utf-8", "replace").encode(rng.choice(["utf-32", "utf-32-le", "utf-32-be"]))
    if how == "docx":
        return _build([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")])
    return b"catatan tanpa pemisah\n"


# ------------------------------------------------------------------------ personal-data bypasses
# NIK/KK numbers written the ways a hostile tester (issue 14, round two) or a careless operator
# hides them: separators, invisible and no-break spaces, adjacent numbers, Excel's exponent form,
# other digit scripts. `plant_nik` puts one in a data cell of a seed file and says where, so a
# test can demand a refusal naming that row and column (tests/security/test_personal_data.py).

_PROVINCES = (
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    21,
    31,
    32,
    33,
    34,
    35,
    36,
    51,
    52,
    53,
    61,
    62,
    63,
    64,
    65,
    71,
    72,
    73,
    74,
    75,
    76,
    81,
    82,
    91,
    92,
    93,
    94,
    95,
    96,
)
NIK_SEPARATORS = (
    " ",
    ".",
    "-",
    "/",
    "_",
    ",",
    "'",
    "|",
    "\u00a0",
    "\u2009",
    "\u202f",
    "\u3000",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u2013",
    " - ",
    " / ",
    "  ",
    "\t",
)


def realistic_nik(rng: random.Random) -> str:
    """A made-up number with a NIK's layout: province, regency, district, birth date (day + 40
    for women), serial. KK numbers have the same shape (date of issue instead of birth)."""
    day = rng.randint(1, 31) + rng.choice((0, 40))
    return (
        f"{rng.choice(_PROVINCES):02d}{rng.randint(1, 79):02d}{rng.randint(1, 40):02d}"
        f"{day:02d}{rng.randint(1, 12):02d}{rng.randint(0, 99):02d}{rng.randint(1, 9999):04d}"
    )


def _groups(nik: str, sizes: tuple[int, ...]) -> list[str]:
    out, k = [], 0
    for n in sizes:
        out.append(nik[k : k + n])
        k += n
    return out


def _script(nik: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in nik)


NIK_STYLES: dict[str, object] = {
    "plain": lambda nik, rng: nik,
    "grouped": lambda nik, rng: rng.choice(NIK_SEPARATORS).join(_groups(nik, (4, 4, 4, 4))),
    "six_six_four": lambda nik, rng: rng.choice(NIK_SEPARATORS).join(_groups(nik, (6, 6, 4))),
    "fields": lambda nik, rng: rng.choice(NIK_SEPARATORS).join(_groups(nik, (2, 2, 2, 2, 2, 2, 4))),
    "mixed": lambda nik, rng: "{}.{}.{} {}-{}".format(*_groups(nik, (2, 2, 2, 6, 4))),
    "then_number": lambda nik, rng: (
        nik + rng.choice(NIK_SEPARATORS) + rng.choice(("2024", "1", "081234567890"))
    ),
    "number_then": lambda nik, rng: rng.choice(("2024", "7", "RT 03/RW 05")) + " " + nik,
    "grouped_then_year": lambda nik, rng: " ".join(_groups(nik, (4, 4, 4, 4))) + " 2024",
    "two": lambda nik, rng: nik + rng.choice((" ", ", ", "/", "\u200b", " dan ")) + realistic_nik(rng),
    "back_to_back": lambda nik, rng: nik + realistic_nik(rng),
    "excel_text": lambda nik, rng: (
        f"{int(nik) / 1e15:.{rng.choice((14, 5))}f}".replace(".", rng.choice(".,"))
        + rng.choice(("E+15", "e+15", "E15"))
    ),
    "excel_number": lambda nik, rng: float(f"{int(nik) / 1e15:.14f}e15"),  # what Excel keeps of it
    "integer": lambda nik, rng: int(nik),
    "fullwidth": lambda nik, rng: _script(nik, 0xFF10),
    "arabic_indic": lambda nik, rng: _script(nik, 0x0660),
    "superscript": lambda nik, rng: nik.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")),
    "struck_through": lambda nik, rng: "".join(d + "\u0336" for d in nik),
    "in_sentence": lambda nik, rng: (
        f"Bantuan untuk warga a.n. Budi (NIK "
        f"{rng.choice(NIK_SEPARATORS).join(_groups(nik, (4, 4, 4, 4)))}), RT 03"
    ),
}


def nik_bypass(rng: random.Random, style: str | None = None) -> tuple[str, object]:
    """(style, value): one realistic NIK written in `style` (a random one if None)."""
    style = style or rng.choice(sorted(NIK_STYLES))
    return style, NIK_STYLES[style](realistic_nik(rng), rng)


_TEXT_COLUMNS = {"evidence", "bukti", "note", "catatan", "value", "nilai"}


def plant_nik(
    rng: random.Random, data: bytes, kind: str, style: str | None = None
) -> tuple[bytes, int, str, str]:
    """(file, row, column, style): `data` with a NIK-bearing value in one data cell; the row and
    column are as ingest's problems name them (CSV: header text; xlsx: column letter). Raises
    ValueError when the file has no such cell (an already-broken file), so `corpus` skips it."""
    style, value = nik_bypass(rng, style)
    if kind == "xlsx":
        wb = _workbook(data)
        if wb is None:
            raise ValueError("not a workbook openpyxl can open")
        ws = wb.worksheets[-1]
        hr = 10 if ws.title == "Penilaian" else 1
        cols = [c.column for c in ws[hr] if str(c.value or "").strip().lower() in _TEXT_COLUMNS]
        rows = [r for r in range(hr + 1, ws.max_row + 1) if ws.cell(row=r, column=1).value not in (None, "")]
        if not cols or not rows:
            raise ValueError("no data cell to plant in")
        r, c = rng.choice(rows), rng.choice(cols)
        ws.cell(row=r, column=c, value=value)
        b = io.BytesIO()
        wb.save(b)
        return _stable(b.getvalue()), r, ws.cell(row=r, column=c).column_letter, style
    text = data.decode("utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom) :]
    delim = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    table = list(csv.reader(io.StringIO(text), delimiter=delim))
    cols = [i for i, h in enumerate(table[0]) if h.strip().lower() in _TEXT_COLUMNS] if table else []
    rows = [n for n in range(1, len(table)) if any(table[n])]
    if not cols or not rows:
        raise ValueError("no data cell to plant in")
    n, i = rng.choice(rows), rng.choice(cols)
    if i >= len(table[n]):
        raise ValueError("short row")
    table[n][i] = str(value)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator="\n").writerows(table)
    return (bom + buf.getvalue()).encode("utf-8"), n + 1, table[0][i], style


def m_nik_bypass(rng: random.Random, data: bytes, kind: str) -> bytes:
    """A NIK/KK number, written one of the NIK_STYLES ways, in a data cell: always refused."""
    return plant_nik(rng, data, kind)[0]


MUTATORS = {
    "byte_flip": m_byte_flip,
    "truncate": m_truncate,
    "append_junk": m_append_junk,
    "zip_damage": m_zip_damage,
    "xml_attack": m_xml_attack,
    "sheet_xml": m_sheet_xml,
    "header_shuffle": m_header_shuffle,
    "cells": m_cells,
    "encoding": m_encoding,
    "rows": m_rows,
    "declared_counts": m_declared_counts,
    "package_ambiguity": m_package_ambiguity,
    "active_content": m_active_content,
    "not_a_table": m_not_a_table,
    "nik_bypass": m_nik_bypass,
}
# mutations after which no file may be accepted (a skipped one is named "...(skipped)")
MUST_REFUSE = {"package_ambiguity", "active_content", "not_a_table", "nik_bypass"}
# the ones that apply to CSV seeds as well (the other workbook mutations fall back to cell edits)
ANY_SEED = {"not_a_table", "nik_bypass"}


def must_refuse(s: Sample) -> bool:
    """Whether `s` may not be accepted: its last mutation is one of MUST_REFUSE, applied to a
    workbook (on a CSV seed the workbook mutations fall back to cell edits), and nothing after it
    rebuilt the file (header_shuffle re-saves through openpyxl, dropping the planted parts)."""
    last = s.mutation.split("+")[-1]
    return last in MUST_REFUSE and (last in ANY_SEED or s.seed_name.endswith(".xlsx"))


def corpus(seeds: dict[str, bytes], n: int, seed: int = 2024) -> list[Sample]:
    """`n` mutated files, deterministic for a given `seeds` and `seed`; mutations may stack."""
    rng = random.Random(seed)
    names = sorted(seeds)
    mut_names = sorted(MUTATORS)
    out = []
    for k in range(n):
        base = names[k % len(names)]
        kind = "xlsx" if base.endswith(".xlsx") else "csv"
        data = seeds[base]
        applied = []
        for _ in range(1 if rng.random() < 0.75 else 2):
            m = rng.choice(mut_names)
            applied.append(m)
            try:
                data = MUTATORS[m](rng, data, kind)
            except Exception:  # a mutation that cannot apply to an already-broken file: skip it
                applied[-1] += "(skipped)"
        ext = rng.choice([".xlsx", ".csv"]) if rng.random() < 0.05 else "." + kind  # lying names too
        out.append(Sample(f"fuzz_{k:04d}_{'+'.join(applied)}{ext}", data, "+".join(applied), base))
    return out


# ------------------------------------------------------------------------------- hostile backups
# Backups an attacker (or a damaged USB stick) hands to `restore` (metrics/backup.py), each made
# from a valid backup. tests/security/test_backup.py restores every one over a live database
# and asserts a one-sentence refusal that leaves the live file untouched (or, for a byte flip
# that lands somewhere harmless, an exact restore). The cases that need the installation key
# (`key`) are what an attacker who stole it, or a newer version of this product, would make.


def backup_parts(data: bytes) -> dict[str, bytes]:
    return {i.filename: c for i, c in _entries(data)}


def backup_zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in parts.items():
            method = zipfile.ZIP_STORED if name.endswith(".parquet") else zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content, compress_type=method)
    return buf.getvalue()


def edit_parquet(data: bytes, edit) -> bytes:
    """The Parquet file `data` with its table replaced by edit(table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = pa.BufferOutputStream()
    pq.write_table(edit(pq.read_table(pa.BufferReader(data))), out)
    return out.getvalue().to_pybytes()


def recomputed(parts: dict[str, bytes], key=None, edit_manifest=None) -> dict[str, bytes]:
    """`parts` with the manifest's sizes and SHA-256 recomputed (as anyone can), edited by
    edit_manifest(dict), and signed again only if `key` (an InstallationKey) is given."""
    import hashlib

    m = json.loads(parts["manifest.json"])
    m["entries"] = {
        n: {"size": len(c), "sha256": hashlib.sha256(c).hexdigest()}
        for n, c in parts.items()
        if n.endswith(".parquet")
    }
    if edit_manifest:
        edit_manifest(m)
    data = json.dumps(m, indent=1, sort_keys=True).encode()
    out = {**parts, "manifest.json": data}
    if key is not None:
        out["manifest.sig"] = json.dumps({"key_id": key.key_id, "hmac": key.mac(data)}).encode()
    return out


def sql_archive(target: str) -> bytes:
    """A backup in the old EXPORT DATABASE layout whose SQL writes `target` on the server."""
    import hashlib

    parts = {
        "schema.sql": f"COPY (SELECT 'pwned' AS x) TO '{target}' (FORMAT csv);\n".encode(),
        "load.sql": f"COPY (SELECT 42 AS y) TO '{target}' (FORMAT csv);\n".encode(),
    }
    parts["manifest.json"] = json.dumps(
        {"format": 1, "files": {n: hashlib.sha256(c).hexdigest() for n, c in parts.items()}}
    ).encode()
    return backup_zip(parts)


def hostile_backups(
    valid: bytes, canary: str, key=None, flips: int = 24, seed: int = 2024
) -> dict[str, bytes]:
    """Named hostile variants of the backup `valid`; `canary` is a path no restore may create."""
    import pyarrow as pa

    rng = random.Random(seed)
    parts = backup_parts(valid)
    tables = sorted(n for n in parts if n.endswith(".parquet"))
    level = next(n for n in tables if n.startswith("tables/assessments."))
    out: dict[str, bytes] = {}
    for _ in range(flips):
        pos = rng.randrange(len(valid))
        out[f"flip_{pos}"] = valid[:pos] + bytes([valid[pos] ^ (1 << rng.randrange(8))]) + valid[pos + 1 :]
    out["truncated"] = valid[: len(valid) // 2]
    out["not_a_zip"] = b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(200))
    out["missing_entry"] = backup_zip({n: c for n, c in parts.items() if n != level})
    index = [i.filename for i, _ in _entries(valid)].index(level)
    out["declared_2gb_entry"] = _patch_directory(valid, index, size=2 * 1024**3)
    # seventeen 500 MB entries: each under the entry bound, together over the total one
    data = backup_zip({**parts, **{f"tables/files.{9000 + n:04d}.parquet": b"" for n in range(17)}})
    for n in range(17):
        data = _patch_directory(data, len(parts) + n, size=500 * 1024**2)
    out["declared_8_5gb_total"] = data
    edited = {
        **parts,
        level: edit_parquet(
            parts[level],
            lambda t: t.set_column(
                t.schema.get_field_index("level"), "level", pa.array([4] * t.num_rows, pa.int8())
            ),
        ),
    }
    out["edited_level_manifest_recomputed"] = backup_zip(recomputed(edited))
    out["sql_archive"] = sql_archive(canary)
    out["sql_entry_in_backup"] = backup_zip(
        {**parts, "schema.sql": f"COPY (SELECT 1) TO '{canary}';".encode()}
    )
    out["path_traversal_entry"] = backup_zip({**parts, "../../evil.parquet": parts[level]})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we write on purpose
        for n, c in [*parts.items(), (level, parts[level])]:
            zf.writestr(n, c)
    out["duplicate_entry"] = buf.getvalue()
    if key is not None:
        out["other_schema_version"] = backup_zip(
            recomputed(parts, key, lambda m: m.update(schema_version=m["schema_version"] + 1))
        )
        out["old_format"] = backup_zip(recomputed(parts, key, lambda m: m.update(format=1)))
        users = next(n for n in tables if n.startswith("tables/users."))
        out["extra_column"] = backup_zip(
            recomputed(
                {
                    **parts,
                    users: edit_parquet(
                        parts[users], lambda t: t.append_column("is_superuser", pa.array([True] * t.num_rows))
                    ),
                },
                key,
            )
        )
        out["retyped_column"] = backup_zip(
            recomputed(
                {
                    **parts,
                    level: edit_parquet(
                        parts[level],
                        lambda t: t.set_column(
                            t.schema.get_field_index("level"), "level", t.column("level").cast("string")
                        ),
                    ),
                },
                key,
            )
        )
        out["row_count_lies"] = backup_zip(
            recomputed(
                parts,
                key,
                lambda m: m["tables"]["assessments"].update(rows=m["tables"]["assessments"]["rows"] + 1),
            )
        )
        out["unknown_table"] = backup_zip(
            recomputed(
                {**parts, "tables/secrets.0000.parquet": parts[level]},
                key,
                lambda m: m["tables"].update(secrets={"rows": 1, "parts": ["tables/secrets.0000.parquet"]}),
            )
        )
        out["manifest_lists_missing_entry"] = backup_zip(
            recomputed(
                parts,
                key,
                lambda m: m["entries"].update(
                    {"tables/cities.0001.parquet": {"size": 10, "sha256": "0" * 64}}
                ),
            )
        )
    return out


# ------------------------------------------------------------------------------- runner


@dataclass
class FuzzReport:
    files: int
    accepted: int
    rejected: int
    crashes: list[tuple[str, str]]
    silent: list[str]  # rejected without a message
    changed: list[str]  # rejected yet the store changed
    keys: Counter
    seconds: float
    let_through: list[str] = field(default_factory=list)  # accepted though its mutation must be refused

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "crashes": len(self.crashes),
            "rejected_without_message": len(self.silent),
            "rejected_but_changed_store": len(self.changed),
            "accepted_but_must_refuse": len(self.let_through),
            "seconds": round(self.seconds, 1),
            "top_reasons": dict(self.keys.most_common(15)),
        }


def run(store, samples: list[Sample], user=None) -> FuzzReport:
    """Ingest every sample through the real core, recording anything that breaks the promise."""
    from metrics.auth import SYSTEM
    from metrics.ingest import ingest_bytes, load_context

    user = user or SYSTEM
    ctx = load_context(store)
    rep = FuzzReport(len(samples), 0, 0, [], [], [], Counter(), 0.0)
    t0 = time.perf_counter()
    before = store.content_fingerprint()
    for s in samples:
        try:
            r = ingest_bytes(store, user, s.data, s.name, ctx=ctx)
        except BaseException as exc:  # the one thing that must never happen (a Rust panic included)
            if isinstance(exc, KeyboardInterrupt):
                raise
            rep.crashes.append((s.name, f"{type(exc).__name__}: {exc}"[:300]))
            before = store.content_fingerprint()
            continue
        if r.accepted:
            rep.accepted += 1
            if must_refuse(s):
                rep.let_through.append(s.name)
            before = store.content_fingerprint()
            continue
        rep.rejected += 1
        ok = bool(r.problems) and all(
            p.message("id").strip() and p.message("en").strip() and p.render("id") for p in r.problems
        )
        if not ok:
            rep.silent.append(s.name)
        for p in r.problems[:1]:
            rep.keys[p.key] += 1
        after = store.content_fingerprint()
        if after != before:
            rep.changed.append(s.name)
            before = after
    rep.seconds = time.perf_counter() - t0
    return rep


def mini_store(path):
    """The tests' small framework and registry (tests/fixtures), as the fuzz target."""
    from tests.conftest import make_mini_store

    return make_mini_store(path)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--keep", help="also write the corpus files into this folder")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = mini_store(Path(tmp) / "fuzz.duckdb")
        samples = corpus(seed_files(store), args.n, args.seed)
        if args.keep:
            d = Path(args.keep)
            d.mkdir(parents=True, exist_ok=True)
            for s in samples:
                (d / s.name).write_bytes(s.data)
        rep = run(store, samples)
        store.close()
    print(json.dumps(rep.to_dict(), indent=1))
    for name, err in rep.crashes[:20]:
        print("CRASH", name, err, file=sys.stderr)
    for name in rep.let_through[:20]:
        print("LET THROUGH", name, file=sys.stderr)
    return 1 if rep.crashes or rep.silent or rep.changed or rep.let_through else 0


if __name__ == "__main__":
    raise SystemExit(main())
