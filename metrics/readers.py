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

import contextlib
import csv
import functools
import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from posixpath import dirname, join, normpath
from typing import TYPE_CHECKING, Any, Protocol, cast

# zlib's API on zlib-ng: every workbook part is inflated and CRC-checked here, and zlib-ng does
# that about twice as fast as the system zlib (a national batch inflates 4 GB)
from zlib_ng import zlib_ng as zlib

from metrics import isolation
from metrics.errors import Problem, Rejected

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

XLSX_MAGIC = b"PK\x03\x04"
# An OpenDocument package opens with a stored entry named "mimetype" (ODF 1.2, part 3, 3.3)
ODF_FIRST_ENTRY = b"mimetype"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    # 20 MB: twenty times a national template, and what keeps one upload's reading (here and in
    # the reader's worker) within its memory budget (SECURITY.md, section 1)
    max_unzipped: int = 20 * 1024 * 1024
    max_entries: int = 100
    max_ratio: int = 100
    max_rows: int = 2_000  # template sheets: far more than any framework's indicators
    max_cols: int = 30
    max_csv_rows: int = 200_000
    max_text: int = 4_000
    max_strings: int = 100_000  # shared-string items: far more than a template's texts
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


# Formats people upload by mistake, by their first bytes: named in the refusal, so the
# operator learns what the file is rather than that "the CSV has one column".
KNOWN_NOT_TABLES = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (OLE_MAGIC, "Excel 97-2003 (.xls) / Office 97-2003"),
    (b"{\\rtf", "RTF"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7-Zip"),
    (b"\x1f\x8b", "gzip"),
    (b"\x7fELF", "ELF"),
    (b"MZ", "Windows (.exe/.dll)"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def sniff(data: bytes) -> str:
    """'xlsx', 'ods' or 'csv' from the content, never from the file name ('binary' for anything else)."""
    if data.startswith(XLSX_MAGIC):
        # the first local header's name (30 bytes in): an OpenDocument package names its type first
        return "ods" if data[30 : 30 + len(ODF_FIRST_ENTRY)] == ODF_FIRST_ENTRY else "xlsx"
    if what_it_is(data) or b"\x00" in data[:4096]:
        return "binary"
    return "csv"


def what_it_is(data: bytes) -> str | None:
    """The name of a known non-spreadsheet format `data` starts with, if any."""
    return next((name for magic, name in KNOWN_NOT_TABLES if data.startswith(magic)), None)


def not_a_table(data: bytes, file: str) -> Rejected:
    """The refusal for content that is neither an .xlsx, an .ods nor a CSV, saying what it is if known.

    The old binary Excel format gets its own sentence: it is the one people most often upload,
    and the fix (save as .xlsx) is the same every time.
    """
    if data.startswith(OLE_MAGIC):
        return Rejected([Problem("file.old_excel", file, params={"what": what_it_is(data)})])
    what = what_it_is(data) or _utf16_32(data[:4]) or ("biner/binary" if b"\x00" in data[:4096] else None)
    return Rejected([Problem("file.not_spreadsheet", file, params={"what": what or "?"})])


def check_size(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> None:
    if not data:
        raise Rejected([Problem("file.empty", file)])
    if len(data) > limits.max_bytes:
        raise Rejected(
            [Problem("file.too_large", file, params={"size": len(data), "limit": limits.max_bytes})]
        )


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
    if sniff(data) == "binary":
        raise not_a_table(data, file)
    text = decode_csv(data, file)
    first = text.split("\n", 1)[0]
    try:
        counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";")}
    except csv.Error as exc:
        raise Rejected([Problem("file.csv_malformed", file, row=1, params={"detail": str(exc)})]) from None
    if counts[","] >= 2 and counts[";"] >= 2:
        raise Rejected(
            [
                Problem(
                    "file.csv_ambiguous", file, row=1, params={"comma": counts[","], "semicolon": counts[";"]}
                )
            ]
        )
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] < 2:
        one_line = not text[len(first) + 1 :].strip()
        if "\t" not in first and (one_line or not file.lower().endswith((".csv", ".txt"))):
            # neither named nor shaped like a table (a one-byte file, a note, a renamed file)
            raise Rejected([Problem("file.not_spreadsheet", file, params={"what": "teks/text"})])
        raise Rejected([Problem("file.csv_one_column", file, row=1)])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        all_rows = []
        for n, r in enumerate(reader, start=1):
            if n > limits.max_csv_rows + 1:
                raise Rejected(
                    [
                        Problem(
                            "file.too_many_rows",
                            file,
                            params={"n": f">{limits.max_csv_rows}", "limit": limits.max_csv_rows},
                        )
                    ]
                )
            all_rows.append((reader.line_num, r))
    except csv.Error as exc:
        raise Rejected([Problem("file.csv_malformed", file, params={"detail": str(exc)})]) from None
    if not all_rows:
        raise Rejected([Problem("file.empty", file)])
    header = [h.strip() for h in all_rows[0][1]]
    if len(header) > limits.max_cols:
        raise Rejected(
            [Problem("file.too_many_cols", file, row=1, params={"n": len(header), "limit": limits.max_cols})]
        )
    rows: list[list[str]] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    for line, r in all_rows[1:]:
        if not any(c.strip() for c in r):
            continue
        if len(r) > len(header):
            problems.append(
                Problem(
                    "file.csv_row_width",
                    file,
                    row=line,
                    column=str(len(header) + 1),
                    params={"n": len(r), "m": len(header)},
                )
            )
            if len(problems) >= 20:
                break
            continue
        rows.append(r)
        numbers.append(line)
    if problems:
        raise Rejected(problems)
    return Table(file, None, header, cast("list[list[object]]", rows), numbers, delimiter=delimiter)


# -------------------------------------------------------------------------------------- XLSX

# An optional namespace prefix: calamine matches elements by local name, so `<x:c>` is a cell too.
_NS = rb"(?:[A-Za-z_][\w.\-]*:)?"
_DIM_RE = re.compile(
    rb"<" + _NS + rb'dimension\s+ref\s*=\s*["\']\$?([A-Za-z]{1,3})\$?([0-9]+)'
    rb'(?::\$?([A-Za-z]{1,3})\$?([0-9]+))?["\']'
)
# an XML start tag's attributes read one by one, as an XML parser reads them: a '>' inside a
# quoted value does not end the tag
_ATTR_AT = re.compile(rb"""\s*(?:([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')|(/?>))""")
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
        raise Rejected(
            [
                Problem(
                    "file.zip_entries",
                    file,
                    params={"n": f"> {limits.max_entries}", "limit": limits.max_entries},
                )
            ]
        )


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
            raise _zip_bad(
                file, f"{name}: inflates past its declared size of {size} bytes (forged size header)"
            )
        crc = zlib.crc32(out, crc)
        return out

    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != size:
            raise _zip_bad(file, f"{name}: stored size mismatch")
        for i in range(0, len(raw), step):
            yield account(bytes(raw[i : i + step]))
    else:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            for i in range(0, len(raw), step):
                pending: bytes | memoryview[int] = raw[i : i + step]
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
        except zlib.error as exc:  # type: ignore[misc]  # zlib_ng's stub types its error loosely
            raise _zip_bad(file, f"{name}: {exc}") from None
        if not d.eof:
            raise _zip_bad(file, f"{name}: compressed data truncated")
    if total != size:
        raise _zip_bad(file, f"{name}: {total} bytes, {size} declared (forged size header)")
    if crc != info.CRC:
        raise _zip_bad(file, f"{name}: CRC mismatch")


def _utf16_32(head: bytes) -> str | None:
    """'UTF-32'/'UTF-16' (with byte order) when `head` (the first 4 bytes of a text that opens
    with an ASCII character or a byte-order mark) is in one of them."""
    for bom, name in (
        (b"\x00\x00\xfe\xff", "UTF-32BE"),
        (b"\xff\xfe\x00\x00", "UTF-32LE"),
        (b"\xfe\xff", "UTF-16BE"),
        (b"\xff\xfe", "UTF-16LE"),
    ):
        if head.startswith(bom):
            return name

    def text(byte: int) -> bool:  # what a CSV or an XML part opens with
        return byte in (9, 10, 13) or 32 <= byte < 127

    if len(head) >= 4 and head[:3] == b"\x00\x00\x00" and text(head[3]):
        return "UTF-32BE"
    if len(head) >= 4 and text(head[0]) and head[1:4] == b"\x00\x00\x00":
        return "UTF-32LE"
    if len(head) >= 2 and head[0] == 0 and text(head[1]):
        return "UTF-16BE"
    if len(head) >= 2 and text(head[0]) and head[1] == 0:
        return "UTF-16LE"
    return None


def _check_encoding(head: bytes, file: str, name: str) -> None:
    """Refuse parts in UTF-16/32 or declaring a non-UTF-8 encoding: the DTD scan reads UTF-8."""
    wide = _utf16_32(head[:4])
    if wide:
        raise Rejected([Problem("file.xml_encoding", file, params={"part": name, "encoding": wide})])
    m = _XML_DECL_ENC.match(head)
    if m and m.group(1).strip().lower() not in _UTF8_NAMES:
        raise Rejected(
            [
                Problem(
                    "file.xml_encoding",
                    file,
                    params={"part": name, "encoding": m.group(1).decode("ascii", "replace")[:40]},
                )
            ]
        )


def _stored_zip(parts: dict[str, bytes], crcs: dict[str, int]) -> bytes:
    """A zip of `parts`, uncompressed, for the parser: nothing in it but the verified entries.

    Written here rather than with zipfile, which costs a national batch about 2 CPU-seconds
    re-computing every CRC that _entry_chunks has just checked. The container is the plainest
    the format allows: stored entries, one fixed date, UTF-8 names, no extra fields. Its size is
    bounded by Limits.max_unzipped (20 MB) and max_entries (100), far from zip64's limits.
    """
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, content in parts.items():
        raw = name.encode("utf-8")
        crc, size = crcs[name], len(content)
        # version 2.0; bit 11: the name is UTF-8; method 0: stored; time 00:00, date 1980-01-01
        out += (
            _LOCAL_HEADER.pack(_LOCAL_SIG, 20, 0x800, 0, 0, 0x21, crc, size, size, len(raw), 0),
            raw,
            content,
        )
        central += (
            _CENTRAL_HEADER.pack(
                _CENTRAL_SIG, 20, 20, 0x800, 0, 0, 0x21, crc, size, size, len(raw), 0, 0, 0, 0, 0, offset
            ),
            raw,
        )
        offset += _LOCAL_HEADER.size + len(raw) + size
    directory = b"".join(central)
    end = _END_RECORD.pack(_EOCD_SIG, 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join((*out, directory, end))


# ------------------------------------------------------------------- the package, resolved once

# Relationship and content types, by their last path segment: transitional and strict OOXML
# spell the same types under different namespaces.
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
WORKBOOK_PART = "xl/workbook.xml"


@dataclass(frozen=True)
class ActiveContent:
    """One kind of content that can act on the reader's machine, and how each layer names it."""

    kind: str  # its message is file.active.<kind>
    part_prefixes: tuple[str, ...]  # case-folded part names that hold it
    rel_types: tuple[str, ...]  # relationship types (last segment) that link it
    content_marks: tuple[str, ...]  # substrings of a [Content_Types].xml content type


# The one list of active content: the checks below (part names, relationships, content types)
# all read it, and so does the fuzz corpus's generator for it.
ACTIVE_CONTENT = (
    ActiveContent(
        "macro",
        ("xl/vbaproject", "xl/vbadata", "xl/macrosheets/", "xl/dialogsheets/"),
        (
            "vbaProject",
            "vbaProjectSignature",
            "xlMacrosheet",
            "xlIntlMacrosheet",
            "dialogsheet",
            "wordVbaData",
        ),
        ("macroEnabled", "vbaProject", "vbaData", "macrosheet", "dialogsheet"),
    ),
    ActiveContent(
        "external_link",
        ("xl/externallinks/",),
        ("externalLink", "externalLinkPath", "xlExternalLinkPath", "attachedTemplate"),
        ("externalLink",),
    ),
    ActiveContent(
        "ole_object", ("xl/embeddings/",), ("oleObject", "package", "oleProperties"), ("oleObject",)
    ),
    ActiveContent(
        "activex",
        ("xl/activex/", "xl/ctrlprops/"),
        ("control", "activeXControlBinary", "ctrlProp"),
        ("activeX", "ctrlProps"),
    ),
)


def _active_problem(file: str, what: ActiveContent, where: str) -> Rejected:
    return Rejected([Problem(f"file.active.{what.kind}", file, params={"part": where[:120]})])


def _ambiguous(file: str, detail: str) -> Rejected:
    return Rejected([Problem("file.package_ambiguous", file, params={"detail": detail[:200]})])


def _check_names(names: list[str], file: str) -> None:
    """Refuse entry names that two readers could resolve differently: backslashes, dot
    segments, absolute or empty segments, and names equal after case-folding."""
    seen: dict[str, str] = {}
    for name in names:
        segments = name.rstrip("/").split("/")
        if (
            "\\" in name
            or name.startswith("/")
            or any(s in ("", ".", "..") for s in segments)
            or any(ord(ch) < 0x20 for ch in name)
        ):
            raise _ambiguous(file, f"entry name {name!r}")
        key = name.casefold()
        if key in seen:
            raise _ambiguous(file, f"entries {seen[key]!r} and {name!r} differ only in case")
        seen[key] = name
        for what in ACTIVE_CONTENT:
            if key.startswith(what.part_prefixes):
                raise _active_problem(file, what, name)


def _resolve_target(base_dir: str, target: str, file: str) -> str:
    """A relationship target as an entry name: relative to `base_dir`, or from the root when
    it starts with '/'. A target that leaves the package is refused."""
    if "\\" in target or "://" in target or target.startswith("//"):
        raise _ambiguous(file, f"relationship target {target!r}")
    path = normpath(target.lstrip("/") if target.startswith("/") else join(base_dir, target))
    if path.startswith("../") or path in ("..", ".", ""):
        raise _ambiguous(file, f"relationship target {target!r} outside the package")
    return path


def _xml(parts: dict[str, bytes], name: str, file: str) -> Element:
    from defusedxml import ElementTree as SafeET  # defused: refuses entities, never fetches

    try:
        root: Element = SafeET.fromstring(parts[name])
        return root
    except Exception as exc:  # defusedxml's refusals and ordinary parse errors alike
        raise Rejected(
            [Problem("file.xml_bad", file, params={"detail": f"{name}: {type(exc).__name__}"})]
        ) from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _relationships(
    parts: dict[str, bytes], rels_name: str, base_dir: str, file: str
) -> list[tuple[str, str, str, bool]]:
    """(id, type's last segment, resolved target, external) of every relationship in a .rels part;
    active content among them is refused here, whichever part links it."""
    out = []
    for rel in _xml(parts, rels_name, file).iter():
        if _local(rel.tag) != "Relationship":
            continue
        rtype = (rel.get("Type") or "").rstrip("/").rsplit("/", 1)[-1]
        for what in ACTIVE_CONTENT:
            if rtype in what.rel_types:
                raise _active_problem(file, what, f"{rels_name}: {rtype}")
        target = rel.get("Target") or ""
        external = (rel.get("TargetMode") or "") == "External"
        out.append(
            (
                rel.get("Id") or "",
                rtype,
                target if external else _resolve_target(base_dir, target, file),
                external,
            )
        )
    return out


@dataclass(frozen=True)
class _Layout:
    """What the workbook is, as this module reads it: the parts a reader needs, by role."""

    sheets: list[tuple[str, str, bool]]  # (name, entry name, hidden) in workbook order
    shared_strings: str | None
    styles: str | None
    date1904: bool


def _check_content_types(parts: dict[str, bytes], file: str) -> None:
    """Refuse a package whose [Content_Types].xml declares active content."""
    if "[Content_Types].xml" in parts:
        for el in _xml(parts, "[Content_Types].xml", file).iter():
            ct = el.get("ContentType") or ""
            for what in ACTIVE_CONTENT:
                if any(mark.casefold() in ct.casefold() for mark in what.content_marks):
                    raise _active_problem(file, what, f"[Content_Types].xml: {ct}")


def _resolve(parts: dict[str, bytes], names: set[str], file: str) -> _Layout:
    """Follow the package's own pointers, once: root relationships to the workbook, the
    workbook's relationships to its sheets, strings and styles. Everything ambiguous is refused."""
    _check_content_types(parts, file)
    if "_rels/.rels" not in parts:
        raise _ambiguous(file, "_rels/.rels missing")
    docs = [r for r in _relationships(parts, "_rels/.rels", "", file) if r[1] == "officeDocument"]
    if len(docs) != 1 or docs[0][2] != WORKBOOK_PART or docs[0][3]:
        found = ", ".join(repr(d[2]) for d in docs) or "none"
        raise _ambiguous(file, f"the office document must be {WORKBOOK_PART} (found {found})")
    if WORKBOOK_PART not in names:
        raise _zip_bad(file, f"{WORKBOOK_PART} missing")
    rels_name = "xl/_rels/workbook.xml.rels"
    rels = _relationships(parts, rels_name, "xl", file) if rels_name in parts else []
    by_id: dict[str, tuple[str, str, bool]] = {}
    for rid, rtype, target, external in rels:
        if rid in by_id:
            raise _ambiguous(file, f"relationship id {rid!r} given twice")
        by_id[rid] = (rtype, target, external)

    def single(rtype: str) -> str | None:
        found = [(t, ext) for rt, t, ext in by_id.values() if rt == rtype]
        if len(found) > 1:
            raise _ambiguous(file, f"{len(found)} {rtype} parts")
        if not found:
            return None
        target, external = found[0]
        if external or target not in names:
            raise _zip_bad(file, f"{target}: missing")
        return target

    wb = _xml(parts, WORKBOOK_PART, file)
    date1904 = False
    sheets: list[tuple[str, str, bool]] = []
    seen_names: set[str] = set()
    seen_parts: set[str] = set()
    for el in wb.iter():
        tag = _local(el.tag)
        if tag == "workbookPr":
            date1904 = (el.get("date1904") or "").strip().lower() in ("1", "true")
        if tag != "sheet":
            continue
        name = el.get("name") or ""
        sheet_rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
        if name.casefold() in seen_names:
            raise _ambiguous(file, f"two sheets named {name!r}")
        seen_names.add(name.casefold())
        rel = by_id.get(sheet_rid or "")
        if rel is None or rel[2]:
            raise _zip_bad(file, f"sheet {name!r}: no relationship {sheet_rid!r}")
        rtype, target, _ext = rel
        if rtype != "worksheet":
            raise Rejected([Problem("xlsx.not_worksheet", file, name, params={"name": name, "type": rtype})])
        if target not in names:
            raise _zip_bad(file, f"sheet {name!r}: {target} missing")
        if target in seen_parts:
            raise _ambiguous(file, f"two sheets share {target}")
        seen_parts.add(target)
        sheets.append((name, target, el.get("state") in ("hidden", "veryHidden")))
    return _Layout(sheets, single("sharedStrings"), single("styles"), date1904)


_SST_TAG = re.compile(rb"<(" + _NS + rb")sst(?=[\s/>])")
_STRING_ITEM = (b"<si>", b"<si ", b"<si/")


def _string_items(xml: bytes) -> int:
    """An upper bound of the shared-string items in `xml` (prefixed ones included)."""
    return sum(xml.count(t) for t in _STRING_ITEM) + xml.count(b":si>") + xml.count(b":si ")


def _plain_string_table(xml: bytes, file: str, name: str, limits: Limits) -> bytes:
    """The shared-string table with its declared counts dropped and its real size bounded.

    The counts are optional hints that the native reader trusts to reserve memory up front:
    `uniqueCount="100000000000"` in a 13 KB file aborted the whole server. Without them it
    grows by what is really there, which the item count bounds.
    """
    n = _string_items(xml)
    if n > limits.max_strings:
        raise Rejected([Problem("file.too_many_strings", file, params={"n": n, "limit": limits.max_strings})])
    m = _SST_TAG.search(xml)
    if m is None:
        raise Rejected([Problem("file.xml_bad", file, params={"detail": f"{name}: no string table"})])
    pos, kept = m.end(), []
    while (a := _ATTR_AT.match(xml, pos)) and not a.group(4):
        if a.group(1).rsplit(b":", 1)[-1] not in (b"count", b"uniqueCount"):
            kept.append(a.group(0))
        pos = a.end()
    if a is None:
        raise Rejected(
            [Problem("file.xml_bad", file, params={"detail": f"{name}: malformed string table tag"})]
        )
    return b"".join((xml[: m.end()], *kept, xml[pos:]))


def _canonical_package(
    layout: _Layout, parts: dict[str, bytes]
) -> tuple[bytes, dict[str, bytes], dict[str, str]]:
    """A new package built from the checked parts alone, under fixed names, with its own
    content types, relationships and workbook: nothing the uploader wrote decides what the
    native reader opens. Returns (zip bytes, parts by canonical name, sheet name -> part)."""
    from html import escape  # xml.sax.saxutils would pull in urllib and ssl (10 ms) for the same job

    out: dict[str, bytes] = {}
    sheets: dict[str, str] = {}
    rels, overrides, entries = [], [], []
    for n, (name, part, hidden) in enumerate(layout.sheets, start=1):
        canon = f"xl/worksheets/sheet{n}.xml"
        out[canon] = parts[part]
        sheets[name] = canon
        rels.append(
            f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        )
        overrides.append(f'<Override PartName="/{canon}" ContentType="{_CT}worksheet+xml"/>')
        state = ' state="hidden"' if hidden else ""
        entries.append(f'<sheet name="{escape(name, quote=True)}" sheetId="{n}"{state} r:id="rId{n}"/>')
    extra = len(layout.sheets)
    for role, source in (("sharedStrings", layout.shared_strings), ("styles", layout.styles)):
        if source is None:
            continue
        extra += 1
        out[f"xl/{role}.xml"] = parts[source]
        rels.append(f'<Relationship Id="rId{extra}" Type="{_REL_NS}/{role}" Target="{role}.xml"/>')
        overrides.append(f'<Override PartName="/xl/{role}.xml" ContentType="{_CT}{role}+xml"/>')
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    out["[Content_Types].xml"] = (
        head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{WORKBOOK_PART}" ContentType="{_CT}sheet.main+xml"/>'
        + "".join(overrides)
        + "</Types>"
    ).encode()
    out["_rels/.rels"] = (
        head + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="{WORKBOOK_PART}"/>'
        "</Relationships>"
    ).encode()
    out[WORKBOOK_PART] = (
        head
        + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        + ('<workbookPr date1904="1"/>' if layout.date1904 else "")
        + "<sheets>"
        + "".join(entries)
        + "</sheets></workbook>"
    ).encode()
    out["xl/_rels/workbook.xml.rels"] = (
        head
        + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(rels)
        + "</Relationships>"
    ).encode()
    return _stored_zip(out, {n: zlib.crc32(c) for n, c in out.items()}), out, sheets


def _inflate(
    data: bytes, info: zipfile.ZipInfo, file: str, limits: Limits, count_strings: bool = False
) -> bytes:
    """One entry's content, with its size, CRC, encoding and DTD checked on the way."""
    tail = b""
    chunks: list[bytes] = []
    items = 0
    for chunk in _entry_chunks(data, info, file, limits):
        if not chunks:
            _check_encoding(chunk[:256], file, info.filename)
        # every DTD opens with "<!"; a C-level byte search skips the regex on the rest
        if (b"!" in chunk or b"!" in tail) and _DTD_RE.search(tail + chunk):
            raise Rejected([Problem("file.xml_dtd", file, params={"part": info.filename})])
        if count_strings:  # stop a huge string table while it is still being inflated
            items += _string_items(chunk)
            if items > limits.max_strings:
                raise Rejected(
                    [
                        Problem(
                            "file.too_many_strings",
                            file,
                            params={"n": f">{limits.max_strings}", "limit": limits.max_strings},
                        )
                    ]
                )
        tail = chunk[-16:]
        chunks.append(chunk)
    return b"".join(chunks)  # one chunk: that very object, not a copy


# Zip-based formats that are not workbooks, by an entry only they have
_OTHER_PACKAGES = (
    ("word/document.xml", "Word (.docx)"),
    ("ppt/presentation.xml", "PowerPoint (.pptx)"),
    ("content.xml", "OpenDocument (.ods/.odt) tanpa/without 'mimetype'"),
)


def _other_package(infos: list[zipfile.ZipInfo], file: str) -> Rejected:
    """The refusal for a zip that holds no workbook: what it is instead, when that is known."""
    names = {i.filename for i in infos}
    if "mimetype" in names:  # an OpenDocument package laid out against its own rule (metrics.ods)
        return _ambiguous(file, "OpenDocument: 'mimetype' is not the first entry")
    what = next((label for entry, label in _OTHER_PACKAGES if entry in names), None)
    return Rejected([Problem("file.not_spreadsheet", file, params={"what": what or "ZIP"})])


_STRUCTURE = ("[Content_Types].xml", "_rels/.rels", WORKBOOK_PART, "xl/_rels/workbook.xml.rels")


def open_xlsx(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> XlsxPackage:
    """Check the zip container and every part; refuse before any spreadsheet parser runs.

    The package is resolved here once (root relationships, workbook, its relationships), and
    the parsers are handed a new package rebuilt from exactly the parts that were checked,
    under fixed names, so that no difference between two readers' resolution rules can make
    one of them read something the checks did not see.
    """
    infos = zip_directory(data, file, limits)
    names = [i.filename for i in infos]
    if WORKBOOK_PART not in names:
        raise _other_package(infos, file)
    _check_names(names, file)

    # The structure first (small parts), so that only the parts a reader needs are kept in
    # memory; then every other entry is inflated and checked too (sizes, CRCs, encodings,
    # DTDs, the relationships of every part), since a damaged or hostile part is a refusal
    # whether or not it is read.
    by_name = {i.filename: i for i in infos if not i.is_dir()}
    parts = {n: _inflate(data, by_name[n], file, limits) for n in _STRUCTURE if n in by_name}
    layout = _resolve(parts, set(by_name), file)
    needed = {p for _n, p, _h in layout.sheets} | {p for p in (layout.shared_strings, layout.styles) if p}
    for name, info in by_name.items():
        if name in parts:
            continue
        content = _inflate(data, info, file, limits, count_strings=name == layout.shared_strings)
        if name.endswith(".rels"):
            _relationships({name: content}, name, dirname(dirname(name)), file)
        if name in needed:
            parts[name] = content
    if layout.shared_strings:
        parts[layout.shared_strings] = _plain_string_table(
            parts[layout.shared_strings], file, layout.shared_strings, limits
        )
    clean, canon_parts, sheets = _canonical_package(layout, parts)
    hidden = [name for name, _p, is_hidden in layout.sheets if is_hidden]
    return XlsxPackage(file, clean, sheets, hidden, canon_parts)


@dataclass(frozen=True)
class OfficePackage:
    """Every entry of an office package that passed the container checks, inflated by name, and
    the relationships that point outside it as (part, type, target)."""

    parts: dict[str, bytes]
    external: list[tuple[str, str, str]]


def open_package(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> OfficePackage:
    """An office package other than a workbook (a .docx kept as evidence, metrics.evidence) under
    the workbook's container checks: size, entries, declared size and ratio, entry names, every
    entry inflated with its size, CRC, encoding and DTD checked, and active content named by any
    part name, relationship or content type refused."""
    infos = zip_directory(data, file, limits)
    _check_names([i.filename for i in infos], file)
    parts = {i.filename: _inflate(data, i, file, limits) for i in infos if not i.is_dir()}
    _check_content_types(parts, file)
    external = []
    for name, content in parts.items():
        if name.endswith(".rels"):
            for _rid, rtype, target, ext in _relationships(
                {name: content}, name, dirname(dirname(name)), file
            ):
                if ext:
                    external.append((name, rtype, target))
    return OfficePackage(parts, external)


def zip_directory(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> list[zipfile.ZipInfo]:
    """The entries of an uploaded zip (an .xlsx or an .ods), refused on its size, entry count,
    declared unpacked size, compression ratio or a duplicate name, from the directory alone."""
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
        raise Rejected(
            [Problem("file.zip_entries", file, params={"n": len(infos), "limit": limits.max_entries})]
        )
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_unzipped:
        raise Rejected(
            [Problem("file.zip_size", file, params={"size": declared, "limit": limits.max_unzipped})]
        )
    compressed = max(1, sum(i.compress_size for i in infos))
    if declared > 1_000_000 and declared / compressed > limits.max_ratio:
        raise Rejected(
            [
                Problem(
                    "file.zip_ratio",
                    file,
                    params={"ratio": round(declared / compressed), "limit": limits.max_ratio},
                )
            ]
        )
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _zip_bad(file, f"{dup}: duplicate entry")
    return infos


# ------------------------------------------------------------------------------ sheet checks
#
# What a sheet's XML is checked for before calamine reads it is stated once, in SHEET_CHECKS.
# Each check names the byte patterns that must occur somewhere in a sheet for it to find
# anything (its part of the prefilter) and the exact check that decides on what a real XML
# parser reads. Every sheet gets the prefilter: one RE2 pattern generated from the list, one
# linear pass in C. Only a sheet it matches (rare: our templates never do) is parsed, once, by a
# streaming expat parser behind defusedxml's guards, and every exact check sees its elements.
# A check's patterns may be broader than its exact check, never narrower:
# tests/security/test_sheet_checks.py proves it per check on generated sheets written every
# way XML allows (prefixes, attribute order and quotes, whitespace, character references,
# CDATA, comments), and fails a check that lacks either half.

# XML's whitespace, plus \v and \f (not XML whitespace: a pattern that allows more is broader)
_WS = rb"[ \t\n\r\f\v]"
# a namespace prefix: any run of name bytes, since XML names may hold non-ASCII letters (`<é:c>`)
_PREFIX = rb"[^ \t\n\r\f\v<>/!?\"'=:]+:"
_NAME_END = rb"(?:" + _WS + rb"|[/>])"
_PREFIXED_SHAPE_TAG = rb"<" + _PREFIX + rb"(?:c|row)" + _NAME_END
# `<c` / `<row` not opening with ` r="A1"` / ` r="1"`, the only form Excel, openpyxl and our
# templates write (RE2 has no lookahead: every way to differ from that prefix is spelled out)
_CELL_NOT_REF_FIRST = (
    rb"<c(?:[\t\n\r\f\v/>]| (?:$|[^r]|r$|r[^=]|r=$|r=[^\"']"
    rb"|r=\"(?:$|[^A-Za-z]|[A-Za-z]+(?:$|[^A-Za-z0-9])|[A-Za-z]+[0-9]+(?:$|[^0-9\"]))"
    rb"|r='(?:$|[^A-Za-z]|[A-Za-z]+(?:$|[^A-Za-z0-9])|[A-Za-z]+[0-9]+(?:$|[^0-9']))))"
)
_ROW_NOT_REF_FIRST = (
    rb"<row(?:[\t\n\r\f\v/>]| (?:$|[^r]|r$|r[^=]|r=$|r=[^\"']"
    rb"|r=\"(?:$|[^0-9]|[0-9]+(?:$|[^0-9\"]))|r='(?:$|[^0-9]|[0-9]+(?:$|[^0-9']))))"
)
_REF = re.compile(r"\$?([A-Za-z]*)\$?([0-9]+)")
_FAR = 10**9  # a row or column number too long to be worth converting (all are refused)
_TAG_NAME = re.compile(rb"<[^\s/>]+")


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
        bigger = alpha[alpha.index(ch) + 1 :]
        if not bigger:
            continue
        rest = len(limit) - i - 1
        alts.append(
            re.escape(limit[:i]) + f"[{bigger[0]}-{bigger[-1]}]" + (f"{any_ch}{{{rest}}}" if rest else "")
        )
    return ("(?:" + "|".join(alts) + ")").encode()


def _beyond_source(limits: Limits) -> bytes:
    """An r= reference (a cell's "XFD9" or a row's "9") past the allowed rows or columns,
    wherever it is written: not tied to an element, so no reading of tag boundaries hides one."""
    digits, upper = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    big_row = rb"0*" + _greater_than(str(limits.max_rows), digits, "[1-9]")
    big_col = _greater_than(col_letter(limits.max_cols - 1), upper, "[A-Z]")
    q = rb"""["']"""
    # case-blind for the letters only, as the references are read
    ref = rb"(?i:\$?(?:" + big_col + rb"\$?[0-9]+|[A-Za-z]*\$?" + big_row + rb"))"
    return rb"r" + _WS + rb"*=" + _WS + rb"*" + q + ref + q


@dataclass(frozen=True)
class Finding:
    """What an exact check found: its problem key, where (1-based row, 0-based column), params."""

    key: str
    row: int | None = None
    col: int | None = None
    params: dict[str, object] = field(default_factory=dict)

    def problem(self, file: str, sheet: str | None) -> Problem:
        column = col_letter(self.col) if self.col is not None else None
        return Problem(self.key, file, sheet, self.row, column, dict(self.params))


@dataclass(slots=True)
class SheetElement:
    """One element of a sheet as the exact checks see it. Names are local: calamine matches
    elements and attributes by local name, whatever the prefix, so `<x:c>` is a cell too."""

    name: str
    prefixed: bool
    attrs: dict[str, str]  # attribute local name -> value, character references resolved
    refs: list[tuple[int | None, int]]  # (0-based column or None, row) of each r that is a reference
    escaped_ref: bool  # an r attribute written with a character or entity reference
    row: int  # the walk's position after this element: 1-based row (0 before any row)
    col: int  # 0-based column (-1 at a row's start)
    row_stated: bool  # the element's own r gave that row (False: implied by what came before)
    col_stated: bool
    count: int  # elements of its kind (row or c) so far, itself included
    prefixed_seen: bool  # a prefixed row or cell so far, itself included
    cell: SheetElement | None  # the cell it is inside, if any
    ended: bool = False  # a cell at its end tag: `value` and what it holds are known
    value: str | None = None  # a cell's first <v> text


ExactCheck = Callable[[SheetElement, Limits], "Finding | None"]


@dataclass(frozen=True)
class SheetCheck:
    """One sheet check, stated once: what the prefilter needs to see, the exact check, its key."""

    name: str
    patterns: Callable[[Limits], tuple[bytes, ...]]  # RE2 (Latin-1) patterns, one of which must occur
    exact: ExactCheck
    elements: tuple[str, ...]  # local names of the elements it is shown ("/c": a cell at its end)
    keys: tuple[str, ...]  # the problem keys its findings carry (cell checks: those ingest reports)
    refuses: bool  # True: refused here, before calamine; False: a cell ingest reports by position
    example: bytes  # a sheet it finds under Limits(max_rows=9, max_cols=5) (tests prove both halves)


def _fixed(*patterns: bytes) -> Callable[[Limits], tuple[bytes, ...]]:
    return lambda _limits: patterns


def _too_many_rows(n: object, limits: Limits) -> Finding:
    return Finding("file.too_many_rows", params={"n": n, "limit": limits.max_rows})


def _too_many_cols(n: object, row: int | None, limits: Limits) -> Finding:
    return Finding("file.too_many_cols", row, params={"n": n, "limit": limits.max_cols})


def _exact_prefixed_count(el: SheetElement, limits: Limits) -> Finding | None:
    """More rows or cells than allowed, counting prefixed ones (the C-level count on every sheet
    sees unprefixed tags only)."""
    if el.ended or not el.prefixed_seen:
        return None
    if el.name == "c" and el.count > limits.max_rows * limits.max_cols:
        return Finding("file.too_many_cells", params={"limit": limits.max_rows * limits.max_cols})
    if el.name == "row" and el.count > limits.max_rows:
        return _too_many_rows(f">{limits.max_rows}", limits)
    return None


def _exact_escaped_ref(el: SheetElement, limits: Limits) -> Finding | None:
    """An r attribute written with character references: refused rather than decoded, since the
    native reader reads references as written."""
    if el.escaped_ref and not el.ended:
        return Finding("file.xml_bad", params={"detail": "escaped cell reference"})
    return None


def _exact_reference_beyond(el: SheetElement, limits: Limits) -> Finding | None:
    """A row or cell reference past the allowed rows or columns, as written."""
    if el.ended or el.escaped_ref:  # an escaped one is refused by _exact_escaped_ref
        return None
    for col, row in el.refs:
        if row > limits.max_rows:
            return _too_many_rows(row, limits)
        if col is not None and col + 1 > limits.max_cols:
            return _too_many_cols(col + 1, row, limits)
    return None


def _exact_implied_position(el: SheetElement, limits: Limits) -> Finding | None:
    """A row or cell without its own reference whose position, implied by order as calamine
    implies it (a row follows the previous row, a cell the previous cell of its row), is past
    the allowed rows or columns."""
    if el.ended:
        return None
    if el.row > limits.max_rows and not el.row_stated:
        return _too_many_rows(el.row, limits)
    if el.col + 1 > limits.max_cols and not el.col_stated:
        return _too_many_cols(el.col + 1, el.row, limits)
    return None


def _exact_error(el: SheetElement, limits: Limits) -> Finding | None:
    """A cell of type "e": an error value such as #DIV/0!, which the reader would pass on as text."""
    if el.ended and el.name == "c" and el.attrs.get("t") == "e":
        value = el.value[:40] if el.value is not None else "#ERR"
        return Finding("xlsx.error_cell", max(el.row, 1), max(el.col, 0), {"value": value})
    return None


def _exact_formula(el: SheetElement, limits: Limits) -> Finding | None:
    """A formula in a cell (calamine shows its cached value, or nothing, and hides the formula)."""
    if el.name == "f" and el.cell is not None and not el.ended:
        return Finding("xlsx.formula", max(el.cell.row, 1), max(el.cell.col, 0))
    return None


_DOC = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    b' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>%s'
    b"</sheetData></worksheet>"
)

# The one list of sheet checks, in the order their refusals are given (the first check that
# finds something names the problem). A new check is added here, with both halves and an
# example, and nowhere else.
SHEET_CHECKS = (
    SheetCheck(
        "prefixed_count",
        _fixed(_PREFIXED_SHAPE_TAG),
        _exact_prefixed_count,
        ("row", "c"),
        ("file.too_many_cells", "file.too_many_rows"),
        True,
        _DOC % ((b"<x:row>" + b"<x:c/>" * 5 + b"</x:row>") * 10),
    ),
    SheetCheck(
        "escaped_ref",
        _fixed(rb"r" + _WS + rb"*=" + _WS + rb"*(?:\"[^\"]*&|'[^']*&)"),
        _exact_escaped_ref,
        ("row", "c"),
        ("file.xml_bad",),
        True,
        _DOC % b'<row r="1"><c r="&#65;1"/></row>',
    ),
    SheetCheck(
        "reference_beyond",
        lambda limits: (_beyond_source(limits),),
        _exact_reference_beyond,
        ("row", "c"),
        ("file.too_many_rows", "file.too_many_cols"),
        True,
        _DOC % b'<row r="1"><c r="XFD1"/></row>',
    ),
    SheetCheck(
        "implied_position",
        _fixed(_PREFIXED_SHAPE_TAG, _CELL_NOT_REF_FIRST, _ROW_NOT_REF_FIRST),
        _exact_implied_position,
        ("row", "c"),
        ("file.too_many_rows", "file.too_many_cols"),
        True,
        _DOC % (b'<row r="1">' + b"<c/>" * 40 + b"</row>"),
    ),
    # at a cell found by both, the error is reported (the first cell check in the list wins)
    SheetCheck(
        "error",
        _fixed(rb"t" + _WS + rb"*=" + _WS + rb"*[\"'](?:e|&)"),
        _exact_error,
        ("/c",),
        ("xlsx.error_cell",),
        False,
        _DOC % b'<row r="1"><c r="A1" t="e"><v>#DIV/0!</v></c></row>',
    ),
    SheetCheck(
        "formula",
        _fixed(rb"<(?:" + _PREFIX + rb")?f" + _NAME_END),
        _exact_formula,
        ("f",),
        ("xlsx.formula",),
        False,
        _DOC % b'<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>',
    ),
)


@functools.cache
def survey_pattern(limits: Limits, checks: tuple[SheetCheck, ...]) -> Any:
    """The prefilter: every pattern of every check, as one RE2 pattern (compiled re2._Regexp).

    Latin-1 mode reads bytes as bytes, so no byte sequence can slip past as bad UTF-8."""
    import re2  # only when a workbook is read

    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    patterns = dict.fromkeys(p for check in checks for p in check.patterns(limits))
    return re2.compile(b"|".join(patterns), options)


def _survey(xml: bytes, limits: Limits, checks: tuple[SheetCheck, ...] | None = None) -> bool:
    """False when no exact check can find anything in the sheet, so it need not be parsed."""
    return survey_pattern(limits, checks or SHEET_CHECKS).search(xml) is not None


def _ref(value: str) -> tuple[int | None, int] | None:
    """(0-based column or None when it has no letters, 1-based row) of a reference, or None."""
    m = _REF.fullmatch(value)
    if m is None:
        return None
    letters, digits = m.group(1), m.group(2).lstrip("0")
    row = int(digits or "0") if len(digits) <= 9 else _FAR
    if not letters:
        return None, row
    return (_col_index(letters.upper()) if len(letters) <= 6 else _FAR), row


_col_index = functools.lru_cache(maxsize=1024)(col_index)


def _guarded_expat() -> Any:
    """A pyexpat parser with defusedxml's refusals (a DTD, an entity declaration, an external
    reference), without namespace processing: names arrive as written, prefixes and all, and an
    undeclared prefix is read as calamine reads it rather than refused."""
    from xml.parsers import expat

    from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

    def doctype(name: str, sysid: str | None, pubid: str | None, _internal: bool) -> None:
        raise DTDForbidden(name, sysid, pubid)

    def entity(name: str, _param: bool, value: str | None, base: str | None, *rest: str | None) -> None:
        raise EntitiesForbidden(name, value, base, rest[0], rest[1], rest[2])

    def unparsed(name: str, base: str | None, sysid: str | None, pubid: str | None, note: str | None) -> None:
        raise EntitiesForbidden(name, None, base, sysid, pubid, note)

    def external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = unparsed
    parser.ExternalEntityRefHandler = external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    return parser


class _Decided(Exception):
    """The first check in the list has found something: nothing later can change the outcome."""


class _SheetWalk:
    """One streaming pass over a sheet: the walk calamine makes over rows and cells (positions
    given or implied), with each element shown to the exact checks that name its local name
    ("/c" names a cell at its end tag, when what it holds is known)."""

    def __init__(self, xml: bytes, limits: Limits, checks: tuple[SheetCheck, ...]) -> None:
        self.xml, self.limits = xml, limits
        self.has_amp = b"&" in xml
        self.row, self.col = 0, -1
        self.counts = {"row": 0, "c": 0}
        self.prefixed_seen = False
        self.cells: list[SheetElement] = []  # the open cells, innermost last
        self.text: list[str] | None = None  # the text of a cell's first <v>, while it is read
        self.findings: dict[str, list[Finding]] = {c.name: [] for c in checks}
        # by local name: (the check decides the outcome alone, check, its findings)
        first = next((c for c in checks if c.refuses), None)
        self.shown: dict[str, list[tuple[bool, SheetCheck, list[Finding]]]] = {"row": [], "c": [], "/c": []}
        for check in checks:
            for name in check.elements:
                self.shown.setdefault(name, []).append((check is first, check, self.findings[check.name]))
        self.parser = _guarded_expat()
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.data

    def run(self) -> dict[str, list[Finding]]:
        with contextlib.suppress(_Decided):
            self.parser.Parse(self.xml, True)
        return self.findings

    def _escaped(self) -> bool:
        """Whether an r attribute of the element just started is written with a reference: its
        start tag, read from the bytes expat has just accepted as one well-formed tag."""
        at = self.parser.CurrentByteIndex
        stop = self.xml.find(b"<", at + 1)  # '<' cannot occur inside a tag
        tag = self.xml[at : stop if stop >= 0 else len(self.xml)]
        if b"&" not in tag:
            return False
        name = _TAG_NAME.match(tag)
        pos = name.end() if name else len(tag)
        while (a := _ATTR_AT.match(tag, pos)) and not a.group(4):
            value = a.group(2) if a.group(2) is not None else a.group(3)
            if a.group(1).rsplit(b":", 1)[-1] == b"r" and b"&" in value:
                return True
            pos = a.end()
        return False

    def start(self, qname: str, raw: dict[str, str]) -> None:
        prefix, _, name = qname.rpartition(":")
        checks = self.shown.get(name)
        if checks is None:  # nothing to check; only a cell's value is kept
            if name == "v" and self.cells and self.cells[-1].value is None:
                self.text = []
            return
        if ":" in "".join(raw):  # prefixed attributes: by local name (x:r is an r too)
            attrs = {k.rpartition(":")[2]: v for k, v in raw.items()}
            r_values = [v for k, v in raw.items() if k == "r" or k.endswith(":r")]
        else:
            attrs, r_values = raw, ([raw["r"]] if "r" in raw else [])
        refs = [ref for v in r_values if (ref := _ref(v))]
        row_stated = col_stated = False
        count = 0
        if name == "row":
            count = self.counts["row"] = self.counts["row"] + 1
            self.prefixed_seen = self.prefixed_seen or bool(prefix)
            row_stated = bool(refs)
            self.row = max((r for _c, r in refs), default=self.row + 1)
            self.col = -1
        elif name == "c":
            count = self.counts["c"] = self.counts["c"] + 1
            self.prefixed_seen = self.prefixed_seen or bool(prefix)
            if len(refs) == 1:  # the usual cell: one reference
                (col, self.row), row_stated = refs[0], True
            else:  # several (r and x:r): the furthest reading, so that what follows is bounded
                cols = [c for c, _r in refs if c is not None]
                col = max(cols) if cols else None
                if refs:
                    self.row, row_stated = max(r for _c, r in refs), True
            if col is not None:
                self.col, col_stated = col, True
            else:  # no column letters: the cell follows the previous cell of its row
                self.col += 1
        el = SheetElement(
            name,
            bool(prefix),
            attrs,
            refs,
            bool(r_values) and self.has_amp and self._escaped(),
            self.row,
            self.col,
            row_stated,
            col_stated,
            count,
            self.prefixed_seen,
            self.cells[-1] if self.cells else None,
        )
        for decides, check, found in checks:  # as _check, inlined: this runs for every cell
            if not (check.refuses and found) and (finding := check.exact(el, self.limits)):
                found.append(finding)
                if decides:
                    raise _Decided
        if name == "c":
            self.cells.append(el)

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def end(self, qname: str) -> None:
        name = qname.rpartition(":")[2] if ":" in qname else qname
        if name == "v" and self.text is not None:
            if self.cells:
                self.cells[-1].value = "".join(self.text)
            self.text = None
        elif name == "c" and self.cells:
            el = self.cells.pop()
            el.ended = True
            self._check(el, self.shown["/c"])

    def _check(self, el: SheetElement, checks: list[tuple[bool, SheetCheck, list[Finding]]]) -> None:
        for decides, check, found in checks:
            if check.refuses and found:
                continue  # the first finding of a refusing check is the one reported
            finding = check.exact(el, self.limits)
            if finding is not None:
                found.append(finding)
                if decides:
                    raise _Decided


def sheet_findings(
    xml: bytes, file: str, sheet: str | None, limits: Limits, checks: tuple[SheetCheck, ...] | None = None
) -> dict[str, list[Finding]]:
    """What each exact check finds in a sheet (one streaming parse). XML that expat cannot read
    is refused: a sheet the checks cannot read is not handed to a reader that might."""
    from xml.parsers.expat import ExpatError

    from defusedxml.common import DefusedXmlException

    try:
        return _SheetWalk(xml, limits, checks or SHEET_CHECKS).run()
    except (ExpatError, DefusedXmlException) as exc:
        detail = f"{type(exc).__name__}: {exc}"[:160]
        raise Rejected([Problem("file.xml_bad", file, sheet, params={"detail": detail})]) from None


def _check_extent(xml: bytes, file: str, sheet: str, limits: Limits) -> None:
    """Refuse a sheet whose declared dimension, or whose count of (unprefixed) cells or rows,
    is past the limits: a few C-level scans, on every sheet."""
    m = _DIM_RE.search(xml[:4096])
    if m:
        last_col = (m.group(3) or m.group(1)).decode()
        last_row = int(m.group(4) or m.group(2))
        if last_row > limits.max_rows:
            raise Rejected([_too_many_rows(last_row, limits).problem(file, sheet)])
        if col_index(last_col) + 1 > limits.max_cols:
            raise Rejected([_too_many_cols(col_index(last_col) + 1, None, limits).problem(file, sheet)])
    budget = limits.max_rows * limits.max_cols
    # an upper bound first (it also counts <col, <rowBreaks...); a cell takes at least 4 bytes
    # (<c/>), so a small sheet cannot hold too many
    cells = xml.count(b"<c") if len(xml) > 4 * budget else 0
    if cells > budget:
        cells = sum(xml.count(b"<c" + end) for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
    rows = xml.count(b"<row")
    if rows > limits.max_rows:
        rows = sum(xml.count(b"<row" + end) for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
    if cells > budget:
        raise Rejected([Problem("file.too_many_cells", file, sheet, params={"limit": budget})])
    if rows > limits.max_rows:
        raise Rejected([_too_many_rows(f">{limits.max_rows}", limits).problem(file, sheet)])


Special = dict[tuple[int, int], tuple[str, str]]


def check_sheet(
    xml: bytes,
    file: str,
    sheet: str,
    limits: Limits = DEFAULT_LIMITS,
    checks: tuple[SheetCheck, ...] | None = None,
) -> Special:
    """Refuse a sheet calamine must not read; return its formula and error cells by position.

    Runs before calamine so that it never builds a grid from a sheet that declares a cell at
    row 1,048,576 or column XFD, or that stacks a million cells onto a few positions, and
    because calamine hides formulas behind their cached values. Returns {(1-based row, 0-based
    column): ("formula" | "error", value)}. `checks`: SHEET_CHECKS unless a test says otherwise.
    """
    checks = checks or SHEET_CHECKS
    _check_extent(xml, file, sheet, limits)
    if not _survey(xml, limits, checks):
        return {}
    findings = sheet_findings(xml, file, sheet, limits, checks)
    for check in checks:  # in the list's order: the first refusing check's first finding
        if check.refuses and findings[check.name]:
            raise Rejected([findings[check.name][0].problem(file, sheet)])
    special: Special = {}
    for check in checks:  # at a cell found by several, the first in the list wins
        for f in findings[check.name] if not check.refuses else ():
            special.setdefault((f.row or 1, f.col or 0), (check.name, str(f.params.get("value", ""))))
    return special


def _native_sheet(data: bytes, sheet: str) -> tuple[list[list[object]], list[Any]]:
    """Calamine's reading of one sheet of a canonical package: (rows from A1, merged ranges).

    Runs in an isolated worker (metrics.isolation), so it imports calamine there.
    """
    from python_calamine import CalamineWorkbook

    sh = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet)
    rows = cast("list[list[object]]", sh.to_python(skip_empty_area=False))  # from A1, as the sheet
    # calamine gives 0-based ((r0, c0), (r1, c1)); kept 0-based, callers add 1 for display
    return rows, list(sh.merged_cell_ranges or [])


def _load_native() -> bool:
    import python_calamine  # noqa: F401 - imported for its cost, once per worker

    return True


def warm_up() -> None:
    """Start the isolated reader worker ahead of the first upload (it takes ~0.2 s to start)."""
    with contextlib.suppress(isolation.ParseFailed):  # the first upload will say what is wrong
        isolation.run(_load_native)


class SheetSource(Protocol):
    """A checked package that reads its own sheets (an .ods: metrics.ods.OdsPackage)."""

    def read_sheet(
        self, sheet: str, limits: Limits = ...
    ) -> tuple[list[list[object]], Special, list[Any]]: ...


def read_sheet(
    pkg: XlsxPackage | SheetSource, sheet: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[list[object]], Special, list[Any]]:
    """Rows of `sheet` as Python values (via calamine) plus formula/error cells and merged ranges.

    Returns (rows, special, merged): rows[r0][c0] 0-based; special keyed by (1-based row, c0);
    merged as 0-based ((r0, c0), (r1, c1)) corners.
    """
    if not isinstance(pkg, XlsxPackage):  # an .ods: its checks were made on the whole content (metrics.ods)
        return pkg.read_sheet(sheet, limits)
    part = pkg.sheets.get(sheet, "")
    try:
        xml = pkg.part(part)
    except Exception as exc:
        raise Rejected(
            [
                Problem(
                    "file.zip_bad",
                    pkg.file,
                    sheet=sheet,
                    params={"detail": f"{part or sheet}: {type(exc).__name__}"},
                )
            ]
        ) from None
    special = check_sheet(xml, pkg.file, sheet, limits)
    del xml
    try:
        rows, merged = isolation.run(_native_sheet, pkg.data, sheet)
    except isolation.ParseFailed as exc:
        key = "file.reader_crashed" if exc.crashed else "file.xml_bad"
        raise Rejected([Problem(key, pkg.file, sheet=sheet, params={"detail": exc.detail[:200]})]) from None
    if len(rows) > limits.max_rows:
        raise Rejected(
            [
                Problem(
                    "file.too_many_rows",
                    pkg.file,
                    sheet=sheet,
                    params={"n": len(rows), "limit": limits.max_rows},
                )
            ]
        )
    width = max(map(len, rows), default=0)
    if width > limits.max_cols:
        raise Rejected(
            [
                Problem(
                    "file.too_many_cols", pkg.file, sheet=sheet, params={"n": width, "limit": limits.max_cols}
                )
            ]
        )
    return rows, special, merged


def stray_cells(rows: list[list[object]], width: int, first_row: int, file: str, sheet: str | None) -> None:
    """Refuse values to the right of the last header column (from `first_row`, 1-based).

    Such cells are not read by anything, so a value typed there would otherwise vanish silently.
    """
    if max(map(len, rows[first_row - 1 :]), default=0) <= width:
        return  # no row reaches past the last column (calamine's grid is usually exactly that wide)
    problems = []
    for r1 in range(first_row, len(rows) + 1):
        row = rows[r1 - 1]
        for c0 in range(width, len(row)):
            if row[c0] not in ("", None):
                problems.append(
                    Problem(
                        "xlsx.stray_cell",
                        file,
                        sheet,
                        r1,
                        col_letter(c0),
                        {"last": col_letter(width - 1) if width else "A"},
                    )
                )
                break
        if len(problems) >= 20:
            break
    if problems:
        raise Rejected(problems)
