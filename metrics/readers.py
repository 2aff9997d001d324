"""Safe, strict readers for the two file types people upload: CSV and XLSX.

Uploaded files come from outside the trust boundary. Everything that can be checked cheaply
is checked before a spreadsheet parser runs, and the parser only ever sees bytes this module
has already verified:

* the upload's size, the zip directory's entry count and declared unpacked size, and the
  compression ratio are checked from the directory alone;
* every entry is then inflated here, in bounded chunks, with its declared size and CRC
  enforced, so a forged size header (a "zip bomb" that claims to be small) is stopped after at
  most its declared size and reported as a damaged file, not a traceback;
* every part is scanned for DTDs and entity declarations (entity expansion, external
  entities) and for non-UTF-8 encodings that would hide them from that scan;
* the verified parts are re-packed into a fresh, uncompressed zip, so the spreadsheet
  parser (calamine) reads exactly what was checked, never the uploader's container;
* a sheet's row and column extent, and its cell count, are checked on its XML before
  calamine builds a grid from it.

Everything a lenient reader would silently smooth over (formulas with no cached value, error
cells, merged cells, hidden sheets, odd encodings, ambiguous CSV delimiters, rows wider than
their header) is surfaced so the ingest layer can refuse it with a position.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from posixpath import dirname, join, normpath

# zlib's API on zlib-ng: every workbook part is inflated and CRC-checked here, and zlib-ng does
# that about twice as fast as the system zlib (a national batch inflates 4 GB)
from zlib_ng import zlib_ng as zlib

from metrics.errors import Problem, Rejected

XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_unzipped: int = 50 * 1024 * 1024
    max_entries: int = 100
    max_ratio: int = 100
    max_rows: int = 2_000  # template sheets: far more than any framework's indicators
    max_cols: int = 30
    max_csv_rows: int = 200_000
    max_text: int = 4_000
    chunk: int = 1 << 20  # bytes inflated at a time while checking an entry


DEFAULT_LIMITS = Limits()


@dataclass
class Table:
    """Rows of one sheet or CSV; `row_numbers[i]` is the 1-based line/row of `rows[i]`."""

    file: str
    sheet: str | None
    header: list[str]
    rows: list[list[object]]
    row_numbers: list[int]
    delimiter: str | None = None


def sniff(data: bytes) -> str:
    """'xlsx' or 'csv' from the content, never from the file name."""
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0") or b"\x00" in data[:4096]:
        return "binary"
    return "csv"


def check_size(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> None:
    if not data:
        raise Rejected([Problem("file.empty", file)])
    if len(data) > limits.max_bytes:
        raise Rejected([Problem("file.too_large", file, params={"size": len(data), "limit": limits.max_bytes})])


# --------------------------------------------------------------------------------------- CSV


def decode_csv(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected([Problem("file.not_utf8", file, params={"pos": exc.start})]) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_csv(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> Table:
    """Parse a UTF-8 CSV (BOM optional) delimited by commas or semicolons, judged from the header.

    A header that splits into several columns both ways is refused rather than guessed, and so
    is a data row with more values than the header has columns (typically an unquoted decimal
    comma such as 3,5, which would otherwise shift every later value one column right).
    """
    check_size(data, file, limits)
    text = decode_csv(data, file)
    if "\x00" in text:
        raise Rejected([Problem("file.unknown_type", file)])
    first = text.split("\n", 1)[0]
    try:
        counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";")}
    except csv.Error as exc:
        raise Rejected([Problem("file.csv_malformed", file, row=1, params={"detail": str(exc)})]) from None
    if counts[","] >= 2 and counts[";"] >= 2:
        raise Rejected([Problem("file.csv_ambiguous", file, row=1,
                                params={"comma": counts[","], "semicolon": counts[";"]})])
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] < 2:
        raise Rejected([Problem("file.csv_one_column", file, row=1)])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        all_rows = []
        for n, r in enumerate(reader, start=1):
            if n > limits.max_csv_rows + 1:
                raise Rejected([Problem("file.too_many_rows", file, params={"n": f">{limits.max_csv_rows}", "limit": limits.max_csv_rows})])
            all_rows.append((reader.line_num, r))
    except csv.Error as exc:
        raise Rejected([Problem("file.csv_malformed", file, params={"detail": str(exc)})]) from None
    if not all_rows:
        raise Rejected([Problem("file.empty", file)])
    header = [h.strip() for h in all_rows[0][1]]
    if len(header) > limits.max_cols:
        raise Rejected([Problem("file.too_many_cols", file, row=1, params={"n": len(header), "limit": limits.max_cols})])
    rows, numbers, problems = [], [], []
    for line, r in all_rows[1:]:
        if not any(c.strip() for c in r):
            continue
        if len(r) > len(header):
            problems.append(Problem("file.csv_row_width", file, row=line, column=str(len(header) + 1),
                                    params={"n": len(r), "m": len(header)}))
            if len(problems) >= 20:
                break
            continue
        rows.append(r)
        numbers.append(line)
    if problems:
        raise Rejected(problems)
    return Table(file, None, header, rows, numbers, delimiter=delimiter)


# -------------------------------------------------------------------------------------- XLSX

# An optional namespace prefix: calamine matches elements by local name, so `<x:c>` is a cell too.
_NS = rb"(?:[A-Za-z_][\w.\-]*:)?"
# t="e" (an error cell) anywhere, without a leading \b so that re can scan for its first literal
# byte (~5x faster over a whole sheet); _word_search() puts the boundary back.
_TYPE_E_SCAN = re.compile(rb't\s*=\s*["\']e["\']')
_FORMULA_RE = re.compile(rb"<" + _NS + rb"f(?=[\s/>])")
_VALUE_RE = re.compile(rb"<" + _NS + rb"v>(.*?)</" + _NS + rb"v>", re.S)
_DIM_RE = re.compile(rb"<" + _NS + rb'dimension\s+ref\s*=\s*["\']\$?([A-Za-z]{1,3})\$?([0-9]+)'
                     rb'(?::\$?([A-Za-z]{1,3})\$?([0-9]+))?["\']')
_ROW_TAG = re.compile(rb"<" + _NS + rb"row(?=[\s/>])")
_CELL_TAG = re.compile(rb"<" + _NS + rb"c(?=[\s/>])")
# a row or cell tag that does not open with its r= reference (the only form Excel, openpyxl and
# our templates write): positions may be implied by predecessors, so they are walked one by one
_NOT_REF_FIRST = re.compile(rb"""<(?:row|c)(?=[\s/>])(?! r=["'])""")
# The walk reads each start tag's attributes one by one, as an XML parser does: a '>' inside a
# quoted value does not end the tag. (Patterns that stopped at the first '>' were shown
# `<c x=">" r="XFD1048576">`, missed the reference, and let calamine try to allocate 550 GB.)
_SHAPE_TAG = re.compile(rb"<" + _NS + rb"(row|c)(?=[\s/>])")
_ATTR_AT = re.compile(rb"""\s*(?:([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')|(/?>))""")
_REF_PARTS = re.compile(rb"\$?([A-Za-z]*)\$?([0-9]+)")
_CELL_END = re.compile(rb"</" + _NS + rb"c>|<" + _NS + rb"(?:c|row)(?=[\s/>])")  # a cell's body ends
# character references in a cell or row reference would hide it from the checks below
_ESCAPED_SCAN = re.compile(rb'r\s*=\s*["\'][^"\'<>]*&')
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_XML_DECL_ENC = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_UTF8_NAMES = {b"utf-8", b"utf8", b"us-ascii", b"ascii"}
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # zip local file header, 30 bytes
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory entry, 46 bytes
_END_RECORD = struct.Struct("<4sHHHHIIH")  # end of central directory, 22 bytes
_LOCAL_SIG = 0x04034B50
_CENTRAL_SIG = 0x02014B50
_EOCD_SIG = b"PK\x05\x06"


def col_index(letters: str) -> int:
    """0-based column index of Excel column letters."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def col_letter(idx: int) -> str:
    s, idx = "", idx + 1
    while idx:
        idx, r = divmod(idx - 1, 26)
        s = chr(65 + r) + s
    return s


def _greater_than(limit: str, alphabet: str, lead: str) -> bytes:
    """A regex (bytes) matching exactly the strings over `alphabet` that sort after `limit`
    when compared as numbers in that base: longer ones, or as long and greater.

    Used to find an out-of-range row number or column letters anywhere in a sheet with one
    C-level search instead of a Python loop over every cell.
    """
    alpha = alphabet
    any_ch = f"[{alpha[0]}-{alpha[-1]}]"
    alts = [f"{lead}{any_ch}{{{len(limit)},}}"]  # longer (`lead`: the classes a first character may be)
    for i, ch in enumerate(limit):
        bigger = alpha[alpha.index(ch) + 1:]
        if not bigger:
            continue
        rest = len(limit) - i - 1
        alts.append(re.escape(limit[:i]) + f"[{bigger[0]}-{bigger[-1]}]" + (f"{any_ch}{{{rest}}}" if rest else ""))
    return ("(?:" + "|".join(alts) + ")").encode()


def _beyond_source(limits: Limits, ws: bytes = rb"\s") -> bytes:
    """An r= reference anywhere in the XML (a cell's "XFD9" or a row's "9") beyond the allowed
    rows or columns. It is not tied to an element: no reading of tag boundaries can hide one,
    and it starts with a literal, so re scans for it in C (_word_search adds the boundary)."""
    digits, upper = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    big_row = rb"0*" + _greater_than(str(limits.max_rows), digits, "[1-9]")
    big_col = _greater_than(col_letter(limits.max_cols - 1), upper, "[A-Z]")
    q = rb"""["']"""
    # case-blind for the letters only: a re.I on the whole pattern would cost re its literal scan
    return rb"r" + ws + rb"*=" + ws + rb"*" + q + rb"(?i:\$?(?:" + big_col + rb"\$?[0-9]+|[A-Za-z]*\$?" + big_row + rb"))" + q


@functools.cache
def _pattern(limits: Limits) -> re.Pattern:
    return re.compile(_beyond_source(limits))


# re's \s, spelled out for RE2, whose \s lacks \v
_WS = rb"[ \t\n\r\f\v]"
# Everything the exact checks below look for, as one RE2 pattern: a sheet it does not match
# (the usual one) is known in one linear pass to hold no prefixed, reference-less or formula
# tag, no error type, no escaped reference and no reference past the limits, so the several
# slower `re` scans are skipped. Each alternative matches wherever its `re` counterpart does
# (lookaheads are consumed, word boundaries dropped), never less: a hit only means the exact
# checks run. Latin-1 mode reads bytes as bytes, so no byte sequence can slip past as bad UTF-8.
_SURVEY_PARTS = (
    rb"<[A-Za-z_][\w.\-]*:(?:c|row|f)(?:" + _WS + rb"|[/>])",  # _PREFIXED_TAG, prefixed _FORMULA_RE
    # _NOT_REF_FIRST: a row or cell tag not followed by exactly ' r=' and a quote
    rb"<(?:row|c)(?:[\t\n\r\f\v/>]| (?:$|[^r]|r$|r[^=]|r=$|r=[^\"']))",
    rb"<f(?:" + _WS + rb"|[/>])",  # _FORMULA_RE
    rb"t" + _WS + rb"*=" + _WS + rb"*[\"']e[\"']",  # _TYPE_E_SCAN
    rb"r" + _WS + rb"*=" + _WS + rb"*[\"'][^\"'<>]*&",  # _ESCAPED_SCAN
)


@functools.cache
def _survey_pattern(limits: Limits):
    import re2  # only when a workbook is read

    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    return re2.compile(b"|".join((*_SURVEY_PARTS, _beyond_source(limits, _WS))), options)


def _survey(xml: bytes, limits: Limits) -> bool:
    """False when the sheet certainly needs none of the exact scans (see _SURVEY_PARTS)."""
    return _survey_pattern(limits).search(xml) is not None


@dataclass
class XlsxPackage:
    """An xlsx that passed the container checks; `sheets` maps visible sheet names to parts.

    `data` is the re-packed, verified container, not the upload's own bytes; `parts` holds the
    same verified entries, inflated, by name.
    """

    file: str
    data: bytes
    sheets: dict[str, str]
    hidden: list[str]
    parts: dict[str, bytes]

    def part(self, name: str) -> bytes:
        return self.parts[name]


def _zip_bad(file: str, detail: str) -> Rejected:
    return Rejected([Problem("file.zip_bad", file, params={"detail": detail})])


def _directory_precheck(data: bytes, file: str, limits: Limits) -> None:
    """Entry count and directory size from the end-of-directory record, before zipfile parses it.

    A 10 MB upload can hold a directory of 200,000 entries; refusing on the declared count keeps
    that refusal as cheap as the others.
    """
    i = data.rfind(_EOCD_SIG, max(0, len(data) - 65_557))
    if i < 0 or i + 22 > len(data):
        return  # no directory record at all: zipfile reports the damage
    _disk_entries, total, cd_size, _cd_offset = struct.unpack_from("<HHII", data, i + 8)
    if total > limits.max_entries:
        raise Rejected([Problem("file.zip_entries", file, params={"n": total, "limit": limits.max_entries})])
    if cd_size > limits.max_entries * 2048:
        raise Rejected([Problem("file.zip_entries", file, params={"n": f"> {limits.max_entries}",
                                                                  "limit": limits.max_entries})])


def _entry_chunks(data: bytes, info: zipfile.ZipInfo, file: str, limits: Limits) -> Iterator[bytes]:
    """The entry's content in chunks, inflated here with its declared size and CRC enforced.

    Never yields more than the declared size in total: a stream that would inflate further (a
    forged size header) is refused at that point, so memory stays bounded by the declared sizes
    already checked against the limits.
    """
    name = info.filename
    if info.flag_bits & 0x1:
        raise _zip_bad(file, f"{name}: encrypted entry")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _zip_bad(file, f"{name}: unsupported compression method {info.compress_type}")
    off = info.header_offset
    if off < 0 or off + _LOCAL_HEADER.size > len(data):
        raise _zip_bad(file, f"{name}: local header out of range")
    sig, *_rest, n_len, x_len = _LOCAL_HEADER.unpack_from(data, off)
    if sig != _LOCAL_SIG:
        raise _zip_bad(file, f"{name}: bad local header")
    start = off + _LOCAL_HEADER.size + n_len + x_len
    end = start + info.compress_size
    if end > len(data):
        raise _zip_bad(file, f"{name}: truncated")
    raw = memoryview(data)[start:end]
    size, crc, total, step = info.file_size, 0, 0, limits.chunk

    def account(out: bytes) -> bytes:
        nonlocal total, crc
        total += len(out)
        if total > size:
            raise _zip_bad(file, f"{name}: inflates past its declared size of {size} bytes (forged size header)")
        crc = zlib.crc32(out, crc)
        return out

    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != size:
            raise _zip_bad(file, f"{name}: stored size mismatch")
        for i in range(0, len(raw), step):
            yield account(bytes(raw[i:i + step]))
    else:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            for i in range(0, len(raw), step):
                pending = raw[i:i + step]
                while pending and not d.eof:
                    out = d.decompress(pending, step)
                    pending = d.unconsumed_tail
                    if out:
                        yield account(out)
                if d.eof:
                    break
            while not d.eof:  # input exhausted; drain what the inflater still holds
                out = d.decompress(b"", step)
                if not out:
                    break
                yield account(out)
        except zlib.error as exc:
            raise _zip_bad(file, f"{name}: {exc}") from None
        if not d.eof:
            raise _zip_bad(file, f"{name}: compressed data truncated")
    if total != size:
        raise _zip_bad(file, f"{name}: {total} bytes, {size} declared (forged size header)")
    if crc != info.CRC:
        raise _zip_bad(file, f"{name}: CRC mismatch")


def _check_encoding(head: bytes, file: str, name: str) -> None:
    """Refuse parts in UTF-16/32 or declaring a non-UTF-8 encoding: the DTD scan reads UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        raise Rejected([Problem("file.xml_encoding", file, params={"part": name, "encoding": "UTF-16/32"})])
    m = _XML_DECL_ENC.match(head)
    if m and m.group(1).strip().lower() not in _UTF8_NAMES:
        raise Rejected([Problem("file.xml_encoding", file, params={
            "part": name, "encoding": m.group(1).decode("ascii", "replace")[:40]})])


def _stored_zip(parts: dict[str, bytes], crcs: dict[str, int]) -> bytes:
    """A zip of `parts`, uncompressed, for the parser: nothing in it but the verified entries.

    Written here rather than with zipfile, which costs a national batch about 2 CPU-seconds
    re-computing every CRC that _entry_chunks has just checked. The container is the plainest
    the format allows: stored entries, one fixed date, UTF-8 names, no extra fields. Its size is
    bounded by Limits.max_unzipped (50 MB) and max_entries (100), far from zip64's limits.
    """
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, content in parts.items():
        raw = name.encode("utf-8")
        crc, size = crcs[name], len(content)
        # version 2.0; bit 11: the name is UTF-8; method 0: stored; time 00:00, date 1980-01-01
        out += (_LOCAL_HEADER.pack(_LOCAL_SIG, 20, 0x800, 0, 0, 0x21, crc, size, size, len(raw), 0), raw, content)
        central += (_CENTRAL_HEADER.pack(_CENTRAL_SIG, 20, 20, 0x800, 0, 0, 0x21, crc, size, size, len(raw),
                                         0, 0, 0, 0, 0, offset), raw)
        offset += _LOCAL_HEADER.size + len(raw) + size
    directory = b"".join(central)
    end = _END_RECORD.pack(_EOCD_SIG, 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join((*out, directory, end))


def open_xlsx(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> XlsxPackage:
    """Check the zip container and every part; refuse before any spreadsheet parser runs."""
    from defusedxml import ElementTree as SafeET  # defused: refuses entities, never fetches

    check_size(data, file, limits)
    _directory_precheck(data, file, limits)
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        infos = zin.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error) as exc:
        raise _zip_bad(file, str(exc) or type(exc).__name__) from None
    except Exception as exc:  # anything else zipfile trips over in a damaged directory
        raise _zip_bad(file, type(exc).__name__) from None
    if len(infos) > limits.max_entries:
        raise Rejected([Problem("file.zip_entries", file, params={"n": len(infos), "limit": limits.max_entries})])
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_unzipped:
        raise Rejected([Problem("file.zip_size", file, params={"size": declared, "limit": limits.max_unzipped})])
    compressed = max(1, sum(i.compress_size for i in infos))
    if declared > 1_000_000 and declared / compressed > limits.max_ratio:
        raise Rejected(
            [Problem("file.zip_ratio", file, params={"ratio": round(declared / compressed), "limit": limits.max_ratio})]
        )
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _zip_bad(file, f"{dup}: duplicate entry")

    # Inflate every entry once, here, checking sizes, CRCs, encodings and DTDs, and re-pack the
    # verified bytes (uncompressed) for the parser. Any DTD in any part is refused: no
    # legitimate workbook needs one, and it is how entity-expansion and external-entity attacks
    # get in; the scan covers every entry, since a sheet may live under any name the rels give.
    parts: dict[str, bytes] = {}
    crcs: dict[str, int] = {}
    for info in infos:
        if info.is_dir():
            continue  # a folder entry holds nothing a parser reads
        tail = b""
        chunks = []
        for chunk in _entry_chunks(data, info, file, limits):
            if not chunks:
                _check_encoding(chunk[:256], file, info.filename)
            # every DTD opens with "<!"; a C-level byte search skips the regex on the rest
            if (b"!" in chunk or b"!" in tail) and _DTD_RE.search(tail + chunk):
                raise Rejected([Problem("file.xml_dtd", file, params={"part": info.filename})])
            tail = chunk[-16:]
            chunks.append(chunk)
        parts[info.filename] = b"".join(chunks)  # one chunk: that very object, not a copy
        crcs[info.filename] = info.CRC  # _entry_chunks checked the content against it
    clean = _stored_zip(parts, crcs)

    if "xl/workbook.xml" not in names:
        raise _zip_bad(file, "xl/workbook.xml missing")
    try:
        wb = SafeET.fromstring(parts["xl/workbook.xml"])
        rels = (
            SafeET.fromstring(parts["xl/_rels/workbook.xml.rels"])
            if "xl/_rels/workbook.xml.rels" in parts
            else None
        )
    except Exception as exc:  # defusedxml's refusals and ordinary parse errors alike
        raise Rejected([Problem("file.xml_bad", file, params={"detail": type(exc).__name__})]) from None
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels:
            rid, target = rel.get("Id"), rel.get("Target") or ""
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = normpath(join(dirname("xl/workbook.xml"), target))
            targets[rid] = path
    sheets: dict[str, str] = {}
    hidden: list[str] = []
    for el in wb.iter():
        if not isinstance(el.tag, str) or el.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        name = el.get("name") or ""
        rid = next((v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        if el.get("state") in ("hidden", "veryHidden"):
            hidden.append(name)
        sheets[name] = targets.get(rid, "")
    return XlsxPackage(file, clean, sheets, hidden, parts)


def _word_search(pattern: re.Pattern, xml: bytes) -> re.Match | None:
    """`pattern` (starting with a word character) where it starts a word, as a leading \\b would."""
    for m in pattern.finditer(xml):
        i = m.start()
        if i == 0 or not (xml[i - 1:i].isalnum() or xml[i - 1] == 0x5F):
            return m
    return None


_PREFIXED_TAG = re.compile(rb"<[A-Za-z_][\w.\-]*:(?:c|row)(?=[\s/>])")


def _count_upto(pattern: re.Pattern, xml: bytes, limit: int) -> int:
    n = 0
    for _ in pattern.finditer(xml):
        n += 1
        if n > limit:
            break
    return n


def _tags(xml: bytes, file: str, sheet: str) -> Iterator[tuple[bytes, list[tuple[bytes, bytes]], int, bool]]:
    """Row and cell start tags in document order: (b"row" | b"c", [(attribute local name, value)],
    offset just past the tag, whether it closes itself). Attributes are read one by one, as an
    XML parser reads them; a tag none would read is refused rather than guessed at."""
    pos = 0
    while tag := _SHAPE_TAG.search(xml, pos):
        pos, attrs = tag.end(), []
        while (a := _ATTR_AT.match(xml, pos)) and not a.group(4):
            attrs.append((a.group(1).rsplit(b":", 1)[-1], a.group(2) if a.group(2) is not None else a.group(3)))
            pos = a.end()
        if a is None:
            raise Rejected([Problem("file.xml_bad", file, sheet, params={"detail": "malformed row or cell tag"})])
        pos = a.end()
        yield tag.group(1), attrs, pos, a.group(4) == b"/>"


def check_sheet_shape(xml: bytes, file: str, sheet: str, limits: Limits = DEFAULT_LIMITS,
                      unusual: bool | None = None) -> None:
    """Refuse a sheet reaching past the allowed rows/columns, or holding too many cells, from its XML.

    Runs before calamine so that it never builds a grid from a sheet that declares a cell at
    row 1,048,576 or column XFD, or that stacks a million cells onto a few positions. The common
    case is a few C-level scans; only a sheet whose rows or cells do not open with their `r`
    reference (so positions may be implied by order) is walked element by element, a walk the
    cell and row counts bound. `unusual` is _survey()'s verdict when the caller has it.
    """
    if unusual is None:
        unusual = _survey(xml, limits)

    def too_many_rows(n: object) -> Rejected:
        return Rejected([Problem("file.too_many_rows", file, sheet, params={"n": n, "limit": limits.max_rows})])

    def too_many_cols(n: object, row: int | None = None) -> Rejected:
        return Rejected([Problem("file.too_many_cols", file, sheet, row, params={"n": n, "limit": limits.max_cols})])

    m = _DIM_RE.search(xml[:4096])
    if m:
        last_col = (m.group(3) or m.group(1)).decode()
        last_row = int(m.group(4) or m.group(2))
        if last_row > limits.max_rows:
            raise too_many_rows(last_row)
        if col_index(last_col) + 1 > limits.max_cols:
            raise too_many_cols(col_index(last_col) + 1)
    budget = limits.max_rows * limits.max_cols
    prefixed = unusual and bool(_PREFIXED_TAG.search(xml))
    if prefixed:  # prefixed elements: count with the regex, stopping at the budget
        cells = _count_upto(_CELL_TAG, xml, budget)
        rows = _count_upto(_ROW_TAG, xml, limits.max_rows)
    else:  # the usual case, counted in C: an upper bound first (it also counts <col, <rowBreaks...)
        # a cell takes at least 4 bytes (<c/>), so a small sheet cannot hold too many
        cells = xml.count(b"<c") if len(xml) > 4 * budget else 0
        if cells > budget:
            cells = sum(xml.count(b"<c" + end) for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
        rows = xml.count(b"<row")
        if rows > limits.max_rows:
            rows = sum(xml.count(b"<row" + end) for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
    if cells > budget:
        raise Rejected([Problem("file.too_many_cells", file, sheet, params={"limit": budget})])
    if rows > limits.max_rows:
        raise too_many_rows(f">{limits.max_rows}")
    if not unusual:
        return
    if b"&" in xml and _word_search(_ESCAPED_SCAN, xml):
        raise Rejected([Problem("file.xml_bad", file, sheet, params={"detail": "escaped cell reference"})])
    hit = _word_search(_pattern(limits), xml)
    if hit:
        ref = _REF_PARTS.search(hit.group(0).split(b"=", 1)[1])
        r = int(ref.group(2))
        if r > limits.max_rows:
            raise too_many_rows(r)
        raise too_many_cols(col_index(ref.group(1).decode()) + 1, r)
    if not prefixed and not _NOT_REF_FIRST.search(xml):
        return
    # Some rows or cells may carry no reference: walk them in order as calamine does (a row
    # without r follows the previous row, a cell without r the previous cell of its row). The
    # counts above bound this loop; every explicit reference was bounded by the search above.
    row, col = 0, -1
    for kind, attrs, _end, _empty in _tags(xml, file, sheet):
        refs = [m for name, value in attrs if name == b"r" and (m := _REF_PARTS.fullmatch(value))]
        if kind == b"row":
            # a row given twice over: the furthest reading, so that what follows is bounded
            row = max((int(m.group(2)) for m in refs), default=row + 1)
            col = -1
        elif refs:
            row = max(int(m.group(2)) for m in refs)
            col = max(col_index(m.group(1).decode()) if m.group(1) else col + 1 for m in refs)
        else:
            col += 1
        if row > limits.max_rows:
            raise too_many_rows(row)
        if col + 1 > limits.max_cols:
            raise too_many_cols(col + 1, row)


def scan_sheet_xml(xml: bytes, file: str = "", sheet: str | None = None, unusual: bool = True
                   ) -> tuple[dict[tuple[int, int], tuple[str, str]], tuple[int, int] | None]:
    """Find formula and error cells by position, and the declared dimension (rows, cols).

    Returns {(row, col0): ("formula"|"error", value)}. Calamine hides formulas behind their
    cached values (or an empty string when there is none), so this is how they are caught.
    `unusual=False` (_survey()'s verdict) says the sheet has neither.
    """
    special: dict[tuple[int, int], tuple[str, str]] = {}
    dim = None
    m = _DIM_RE.search(xml[:4096])
    if m:
        last_col = m.group(3) or m.group(1)
        last_row = m.group(4) or m.group(2)
        dim = (int(last_row), col_index(last_col.decode()) + 1)
    if not unusual or (not _FORMULA_RE.search(xml) and not _word_search(_TYPE_E_SCAN, xml)):
        return special, dim
    row, col = 0, -1
    for kind, attrs, end, empty in _tags(xml, file, sheet):
        ref = next((m for name, value in attrs if name == b"r" and (m := _REF_PARTS.fullmatch(value))), None)
        if kind == b"row":
            row, col = (int(ref.group(2)) if ref else row + 1), -1
            continue
        if ref and ref.group(1):
            row, col = int(ref.group(2)), col_index(ref.group(1).decode())
        else:  # position implied by order (check_sheet_shape has bounded it); good enough to point at
            col += 1
        stop = _CELL_END.search(xml, end)
        body = b"" if empty else xml[end:stop.start() if stop else len(xml)]
        is_formula = bool(_FORMULA_RE.search(body))
        is_error = any(name == b"t" and value == b"e" for name, value in attrs)
        if not (is_formula or is_error):
            continue
        pos = (max(row, 1), max(col, 0))
        if is_error:
            v = _VALUE_RE.search(body)
            special[pos] = ("error", v.group(1).decode("utf-8", "replace")[:40] if v else "#ERR")
        else:
            special[pos] = ("formula", "")
    return special, dim


def read_sheet(pkg: XlsxPackage, sheet: str, limits: Limits = DEFAULT_LIMITS):
    """Rows of `sheet` as Python values (via calamine) plus formula/error cells and merged ranges.

    Returns (rows, special, merged): rows[r0][c0] 0-based; special keyed by (1-based row, c0);
    merged as 0-based ((r0, c0), (r1, c1)) corners.
    """
    part = pkg.sheets.get(sheet, "")
    try:
        xml = pkg.part(part)
    except Exception as exc:
        raise Rejected([Problem("file.zip_bad", pkg.file, sheet=sheet, params={"detail": f"{part or sheet}: {type(exc).__name__}"})]) from None
    unusual = _survey(xml, limits)
    check_sheet_shape(xml, pkg.file, sheet, limits, unusual)
    special, _dim = scan_sheet_xml(xml, pkg.file, sheet, unusual)
    del xml
    from python_calamine import CalamineWorkbook  # only now: the container and the sheet passed

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(pkg.data))
        sh = wb.get_sheet_by_name(sheet)
        rows = sh.to_python(skip_empty_area=False)  # starts at A1, so indexes match the sheet
        if len(rows) > limits.max_rows:
            raise Rejected([Problem("file.too_many_rows", pkg.file, sheet=sheet, params={"n": len(rows), "limit": limits.max_rows})])
        width = max(map(len, rows), default=0)
        if width > limits.max_cols:
            raise Rejected([Problem("file.too_many_cols", pkg.file, sheet=sheet, params={"n": width, "limit": limits.max_cols})])
        # calamine gives 0-based ((r0, c0), (r1, c1)); keep it 0-based, callers add 1 for display
        merged = list(sh.merged_cell_ranges or [])
    except Rejected:
        raise
    except Exception as exc:  # calamine raises its own types for CRC, XML and zip damage
        raise Rejected([Problem("file.xml_bad", pkg.file, sheet=sheet, params={"detail": f"{type(exc).__name__}: {exc}"[:200]})]) from None
    return rows, special, merged


def stray_cells(rows: list[list[object]], width: int, first_row: int, file: str, sheet: str | None) -> None:
    """Refuse values to the right of the last header column (from `first_row`, 1-based).

    Such cells are not read by anything, so a value typed there would otherwise vanish silently.
    """
    if max(map(len, rows[first_row - 1:]), default=0) <= width:
        return  # no row reaches past the last column (calamine's grid is usually exactly that wide)
    problems = []
    for r1 in range(first_row, len(rows) + 1):
        row = rows[r1 - 1]
        for c0 in range(width, len(row)):
            if row[c0] not in ("", None):
                problems.append(Problem("xlsx.stray_cell", file, sheet, r1, col_letter(c0),
                                        {"last": col_letter(width - 1) if width else "A"}))
                break
        if len(problems) >= 20:
            break
    if problems:
        raise Rejected(problems)
