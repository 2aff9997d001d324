"""Safe, strict readers for the two file types people upload: CSV and XLSX.

Uploaded files come from outside the trust boundary. Everything that can be checked cheaply
is checked before a spreadsheet parser runs (size, zip entry count, declared unpacked size,
compression ratio, DTDs), and everything a lenient reader would silently smooth over
(formulas with no cached value, error cells, merged cells, hidden sheets, odd encodings) is
surfaced so the ingest layer can refuse it with a position.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from posixpath import dirname, join, normpath

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
    """Parse a UTF-8 CSV (BOM optional), detecting comma or semicolon from the header line."""
    check_size(data, file, limits)
    text = decode_csv(data, file)
    if "\x00" in text:
        raise Rejected([Problem("file.unknown_type", file)])
    first = text.split("\n", 1)[0]
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";")}
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
    rows, numbers = [], []
    for line, r in all_rows[1:]:
        if not any(c.strip() for c in r):
            continue
        rows.append(r)
        numbers.append(line)
    return Table(file, None, header, rows, numbers, delimiter=delimiter)


# -------------------------------------------------------------------------------------- XLSX

_CELL_RE = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF_RE = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_TYPE_E_RE = re.compile(rb'\bt="e"')
_VALUE_RE = re.compile(rb"<v>(.*?)</v>", re.S)
_DIM_RE = re.compile(rb'<dimension\s+ref="([A-Z]{1,3})([0-9]+)(?::([A-Z]{1,3})([0-9]+))?"')


def col_index(letters: str) -> int:
    """0-based column index of Excel column letters."""
    n = 0
    for ch in letters:
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
    """An xlsx that passed the container checks; `sheets` maps visible sheet names to parts."""

    file: str
    data: bytes
    sheets: dict[str, str]
    hidden: list[str]
    zf: zipfile.ZipFile

    def part(self, name: str) -> bytes:
        return self.zf.read(name)


def open_xlsx(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> XlsxPackage:
    """Check the zip container and the workbook parts; refuse before any spreadsheet parser runs."""
    from defusedxml import ElementTree as SafeET  # defused: refuses entities, never fetches

    check_size(data, file, limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise Rejected([Problem("file.zip_bad", file, params={"detail": str(exc) or type(exc).__name__})]) from None
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
    names = {i.filename for i in infos}

    def read_part(name: str) -> bytes:
        try:
            blob = zf.read(name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError) as exc:
            raise Rejected([Problem("file.zip_bad", file, params={"detail": f"{name}: {exc}"})]) from None
        except Exception as exc:  # zlib.error and friends from damaged streams
            raise Rejected([Problem("file.zip_bad", file, params={"detail": f"{name}: {type(exc).__name__}"})]) from None
        if len(blob) > limits.max_unzipped:
            raise Rejected([Problem("file.zip_size", file, params={"size": len(blob), "limit": limits.max_unzipped})])
        return blob

    # Any DTD in any XML part is refused: no legitimate workbook needs one, and it is how
    # entity-expansion and external-entity attacks get in (calamine's parser is not ours to audit).
    for info in infos:
        if info.filename.endswith((".xml", ".rels", ".vml")):
            blob = read_part(info.filename)
            if b"<!DOCTYPE" in blob[:65536].upper() or b"<!ENTITY" in blob[:65536].upper():
                raise Rejected([Problem("file.xml_dtd", file, params={"part": info.filename})])

    if "xl/workbook.xml" not in names:
        raise Rejected([Problem("file.zip_bad", file, params={"detail": "xl/workbook.xml missing"})])
    try:
        wb = SafeET.fromstring(read_part("xl/workbook.xml"))
        rels = (
            SafeET.fromstring(read_part("xl/_rels/workbook.xml.rels"))
            if "xl/_rels/workbook.xml.rels" in names
            else None
        )
    except Rejected:
        raise
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
        if el.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        name = el.get("name") or ""
        rid = next((v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        if el.get("state") in ("hidden", "veryHidden"):
            hidden.append(name)
        sheets[name] = targets.get(rid, "")
    return XlsxPackage(file, data, sheets, hidden, zf)


def scan_sheet_xml(xml: bytes) -> tuple[dict[tuple[int, int], tuple[str, str]], tuple[int, int] | None]:
    """Find formula and error cells by position, and the declared dimension (rows, cols).

    Returns {(row, col0): ("formula"|"error", value)}. Calamine hides formulas behind their
    cached values (or an empty string when there is none), so this is how they are caught.
    """
    special: dict[tuple[int, int], tuple[str, str]] = {}
    dim = None
    m = _DIM_RE.search(xml[:4096])
    if m:
        last_col = m.group(3) or m.group(1)
        last_row = m.group(4) or m.group(2)
        dim = (int(last_row), col_index(last_col.decode()) + 1)
    if b"<f" not in xml and b't="e"' not in xml:
        return special, dim
    for cm in _CELL_RE.finditer(xml):
        attrs, body = cm.group(1), cm.group(2) or b""
        is_formula = b"<f" in body
        is_error = bool(_TYPE_E_RE.search(attrs))
        if not (is_formula or is_error):
            continue
        ref = _REF_RE.search(attrs)
        if not ref:
            continue
        pos = (int(ref.group(2)), col_index(ref.group(1).decode()))
        if is_error:
            v = _VALUE_RE.search(body)
            special[pos] = ("error", v.group(1).decode("utf-8", "replace") if v else "#ERR")
        else:
            special[pos] = ("formula", "")
    return special, dim


def read_sheet(pkg: XlsxPackage, sheet: str, limits: Limits = DEFAULT_LIMITS):
    """Rows of `sheet` as Python values (via calamine) plus formula/error cells and merged ranges.

    Returns (rows, special, merged): rows[r0][c0] 0-based; special keyed by (1-based row, c0);
    merged as 0-based ((r0, c0), (r1, c1)) corners.
    """
    from python_calamine import CalamineWorkbook

    part = pkg.sheets.get(sheet, "")
    try:
        xml = pkg.part(part)
    except Exception as exc:
        raise Rejected([Problem("file.zip_bad", pkg.file, sheet=sheet, params={"detail": f"{part}: {exc}"})]) from None
    special, dim = scan_sheet_xml(xml)
    if dim:
        if dim[0] > limits.max_rows:
            raise Rejected([Problem("file.too_many_rows", pkg.file, sheet=sheet, params={"n": dim[0], "limit": limits.max_rows})])
        if dim[1] > limits.max_cols:
            raise Rejected([Problem("file.too_many_cols", pkg.file, sheet=sheet, params={"n": dim[1], "limit": limits.max_cols})])
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(pkg.data))
        sh = wb.get_sheet_by_name(sheet)
        rows = sh.to_python(skip_empty_area=False)  # starts at A1, so indexes match the sheet
        if len(rows) > limits.max_rows:
            raise Rejected([Problem("file.too_many_rows", pkg.file, sheet=sheet, params={"n": len(rows), "limit": limits.max_rows})])
        width = max((len(r) for r in rows), default=0)
        if width > limits.max_cols:
            raise Rejected([Problem("file.too_many_cols", pkg.file, sheet=sheet, params={"n": width, "limit": limits.max_cols})])
        # calamine gives 0-based ((r0, c0), (r1, c1)); keep it 0-based, callers add 1 for display
        merged = list(sh.merged_cell_ranges or [])
    except Rejected:
        raise
    except Exception as exc:  # calamine raises its own types for CRC, XML and zip damage
        raise Rejected([Problem("file.xml_bad", pkg.file, sheet=sheet, params={"detail": f"{type(exc).__name__}: {exc}"[:200]})]) from None
    return rows, special, merged
