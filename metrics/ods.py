"""Safe, strict reading of OpenDocument spreadsheets (.ods), LibreOffice's default format.

An .ods is a zip like an .xlsx and comes from the same untrusted place, so it gets the same
treatment (SECURITY.md, section 1): the container is checked from its directory
(`readers.zip_directory`), every entry is inflated here with its declared size, CRC, encoding
and DTDs checked (`readers._inflate`), active content (macros, embedded objects, external
links, form controls) is refused, and the native reader (calamine, in an isolated worker) is
handed a NEW package built from what was checked, never the upload.

What is particular to ODS is that positions are not written but implied by order, and runs of
rows and cells are compressed: `table:number-rows-repeated="1048553"` is how LibreOffice writes
the empty rest of every sheet, and the same attribute on a row holding a value makes a 1 KB
file describe a million filled rows (a classic bomb for any reader that expands it). So
content.xml is read here once, as a stream through a defused expat parser that builds no tree,
counting real positions: an empty run (no value type, formula or text) does not extend the
used area, a non-empty one counts with its repeats against the same `Limits` as an .xlsx sheet.
The same pass finds what the strict rules refuse (formulas, error cells, merged cells, hidden
sheets) and records each cell's type, value and text; the canonical content.xml written from
those records has no trailing empty runs, styles, annotations, shapes or scripts. Every sheet
is bounded, not only the one ingest reads: the native reader parses them all when it opens
the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape  # not xml.sax.saxutils: it imports urllib and ssl (10 ms on the first upload)
from typing import TYPE_CHECKING

# the zlib-ng build readers.py inflates with (the same module object, imported by its own name)
from zlib_ng import zlib_ng as zlib

from metrics import isolation
from metrics.errors import Problem, Rejected
from metrics.readers import (
    DEFAULT_LIMITS,
    Limits,
    Special,
    _check_names,
    _entry_chunks,
    _inflate,
    _native_sheet,
    _stored_zip,
    _zip_bad,
    zip_directory,
)

if TYPE_CHECKING:
    import zipfile

ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
# other OpenDocument types people upload by mistake, named in the refusal
_OTHER_ODF = {
    "application/vnd.oasis.opendocument.text": "OpenDocument Text (.odt)",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument Presentation (.odp)",
    "application/vnd.oasis.opendocument.graphics": "OpenDocument Drawing (.odg)",
    "application/vnd.oasis.opendocument.spreadsheet-template": "OpenDocument template (.ots)",
}

_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
_SCRIPT = "urn:oasis:names:tc:opendocument:xmlns:script:1.0"
_FORM = "urn:oasis:names:tc:opendocument:xmlns:form:1.0"
_XLINK = "http://www.w3.org/1999/xlink"
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


@dataclass(frozen=True)
class OdfActive:
    """One kind of active content, as an OpenDocument package shows it (cf. readers.ACTIVE_CONTENT)."""

    kind: str  # its message is file.active.<kind>, shared with .xlsx
    part_prefixes: tuple[str, ...]  # case-folded entry names
    media_marks: tuple[str, ...]  # case-folded substrings of a manifest media type
    elements: tuple[str, ...]  # elements of content.xml / styles.xml


# The one list of active content in an .ods: entry names, manifest types and elements all read it.
ODF_ACTIVE = (
    OdfActive(
        "macro",
        ("basic/", "scripts/", "dialogs/"),
        ("basic", "script", "macro"),
        (_q(_OFFICE, "script"), _q(_OFFICE, "event-listeners"), _q(_SCRIPT, "event-listener")),
    ),
    OdfActive(
        "external_link",
        (),
        (),
        (
            _q(_TABLE, "table-source"),
            _q(_TABLE, "cell-range-source"),
            _q(_TABLE, "dde-source"),
            _q(_TABLE, "dde-link"),
            _q(_OFFICE, "dde-source"),
            _q(_TEXT, "dde-connection-decl"),
        ),
    ),
    OdfActive(
        "ole_object",
        ("object ", "objectreplacements/"),
        (
            "oleobject",
            "opendocument.chart",
            "opendocument.formula",
            "opendocument.text",
            "opendocument.graphics",
            "opendocument.presentation",
            "opendocument.spreadsheet",
            "java",
        ),
        (_q(_DRAW, "object"), _q(_DRAW, "object-ole"), _q(_DRAW, "plugin"), _q(_DRAW, "applet")),
    ),
    OdfActive("activex", (), (), (_q(_FORM, "form"), _q(_DRAW, "control"))),
)
_ACTIVE_ELEMENTS = {el: what for what in ODF_ACTIVE for el in what.elements}

_T_TABLE, _T_ROW = _q(_TABLE, "table"), _q(_TABLE, "table-row")
_T_CELL, _T_COVERED = _q(_TABLE, "table-cell"), _q(_TABLE, "covered-table-cell")
_TX_P, _TX_H = _q(_TEXT, "p"), _q(_TEXT, "h")
_TX_S, _TX_TAB, _TX_BREAK = _q(_TEXT, "s"), _q(_TEXT, "tab"), _q(_TEXT, "line-break")
_ANNOTATION = _q(_OFFICE, "annotation")
_STYLE_EL, _TABLE_PROPS = _q(_STYLE, "style"), _q(_STYLE, "table-properties")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_DATE = re.compile(r"-?\d{4,5}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d{1,9})?)?")
_DURATION = re.compile(r"-?P(?:\d{1,9}D)?T?(?:\d{1,9}H)?(?:\d{1,9}M)?(?:\d{1,9}(?:\.\d{1,9})?S)?")
_COUNT = re.compile(r"[1-9]\d{0,9}")  # a repeat or span: at most ten digits
# the value attribute each kept type is read from; percentage and currency are numbers
_VALUE_ATTR = {
    "float": "value",
    "percentage": "value",
    "currency": "value",
    "date": "date-value",
    "time": "time-value",
    "boolean": "boolean-value",
    "string": None,
}
_VALUE_FORM = {"value": _NUMBER, "date-value": _DATE, "time-value": _DURATION}
# the value attribute each canonical type is written with (a string has none)
_CANONICAL_ATTR: dict[str | None, str] = {
    "float": "value",
    "date": "date-value",
    "time": "time-value",
    "boolean": "boolean-value",
}
MAX_DEPTH = 64


@dataclass
class _Cell:
    vtype: str | None  # the canonical type: float, date, time, boolean, string; None when empty
    value: str = ""  # the value attribute of that type
    text: str = ""

    @property
    def empty(self) -> bool:
        return self.vtype is None


# a merged range as 0-based ((first row, first col), (last row, last col)), as calamine gives it
Range = tuple[tuple[int, int], tuple[int, int]]
_Run = tuple[int, _Cell]  # (repeat, cell): a cell written once for `repeat` columns


@dataclass
class _Sheet:
    name: str
    hidden: bool
    rows: list[tuple[int, list[_Run] | None]] = field(default_factory=list)  # (repeat, cells or None)
    special: Special = field(default_factory=dict)
    merged: list[Range] = field(default_factory=list)
    height: int = 0  # rows read so far, empty runs included


class _Reader:
    """Target of the streaming, defused parse of content.xml (or, for its styles, styles.xml)."""

    def __init__(self, file: str, limits: Limits, hidden_styles: set[str]) -> None:
        self.file, self.limits, self.hidden_styles = file, limits, hidden_styles
        self.sheets: list[_Sheet] = []
        self.stack: list[str] = []
        self.elements = 0
        self.max_elements = 16 * limits.max_rows * limits.max_cols
        self.cells = 0
        self.text_total = 0
        self.style: str | None = None  # a table style being read
        self.sheet: _Sheet | None = None
        self.row: list[_Run] | None = None  # cells of the row being read
        self.row_repeat = 1
        self.row_filled = False
        self.col = 0
        self.cell: dict[str, str] | None = None  # attributes of the cell being read
        self.cell_depth = 0
        self.paragraphs: list[list[str]] = []
        self.skip_text = 0  # depth inside an annotation or a shape, whose text is not the cell's

    # ------------------------------------------------------------------ refusals
    def _refuse(self, key: str, row: int | None = None, col: int | None = None, **params: object) -> Rejected:
        from metrics.readers import col_letter

        return Rejected(
            [
                Problem(
                    key,
                    self.file,
                    self.sheet.name if self.sheet else None,
                    row,
                    col_letter(col) if col is not None else None,
                    params=params,
                )
            ]
        )

    def _count(self, value: str | None, what: str) -> int:
        if value is None:
            return 1
        if not _COUNT.fullmatch(value.strip()):
            raise self._refuse("file.xml_bad", detail=f"content.xml: {what}={value[:20]!r}")
        return int(value)

    # ------------------------------------------------------------------ parser target
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.max_elements:
            raise self._refuse("file.too_many_cells", limit=self.limits.max_rows * self.limits.max_cols)
        self.stack.append(tag)
        if len(self.stack) > MAX_DEPTH:
            raise self._refuse("file.xml_bad", detail="content.xml: nested too deeply")
        what = _ACTIVE_ELEMENTS.get(tag)
        if what is not None:
            raise Rejected(
                [Problem(f"file.active.{what.kind}", self.file, params={"part": tag.rsplit("}", 1)[-1]})]
            )
        href = attrib.get(_q(_XLINK, "href"))
        if href and tag != _q(_TEXT, "a") and (":" in href or href.startswith(("/", ".."))):
            raise Rejected([Problem("file.active.external_link", self.file, params={"part": href[:120]})])
        if tag == _STYLE_EL:
            self.style = (
                attrib.get(_q(_STYLE, "name")) if attrib.get(_q(_STYLE, "family")) == "table" else None
            )
        elif tag == _TABLE_PROPS and self.style and attrib.get(_q(_TABLE, "display")) == "false":
            self.hidden_styles.add(self.style)
        elif self.cell is not None:
            self._cell_child(tag, attrib)
        elif tag == _T_TABLE:
            self._start_table(attrib)
        elif tag == _T_ROW and self.sheet is not None:
            self.row, self.row_filled, self.col = [], False, 0
            self.row_repeat = self._count(
                attrib.get(_q(_TABLE, "number-rows-repeated")), "number-rows-repeated"
            )
        elif tag in (_T_CELL, _T_COVERED) and self.row is not None:
            self.cell, self.cell_depth, self.paragraphs = attrib, len(self.stack), []

    def _cell_child(self, tag: str, attrib: dict[str, str]) -> None:
        if self.skip_text or tag == _ANNOTATION or tag.startswith(f"{{{_DRAW}}}"):
            self.skip_text += 1
        elif tag in (_T_TABLE, _T_ROW, _T_CELL, _T_COVERED):
            raise self._refuse("file.xml_bad", detail="content.xml: a table inside a cell")
        elif tag in (_TX_P, _TX_H):
            self.paragraphs.append([])
        elif self.paragraphs and tag == _TX_S:
            n = min(self._count(attrib.get(_q(_TEXT, "c")), "text:c"), self.limits.max_text + 1)
            self._text(" " * n)
        elif self.paragraphs and tag == _TX_TAB:
            self._text("\t")
        elif self.paragraphs and tag == _TX_BREAK:
            self._text("\n")

    def _text(self, s: str) -> None:
        self.text_total += len(s)
        if self.text_total > self.limits.max_unzipped:
            raise self._refuse("file.xml_bad", detail="content.xml: text expands past the size limit")
        self.paragraphs[-1].append(s)

    def data(self, s: str) -> None:
        if (
            self.cell is not None
            and self.paragraphs
            and not self.skip_text
            and self.stack[-1] not in (_TX_S, _TX_TAB, _TX_BREAK)
        ):
            self._text(s)

    def end(self, tag: str) -> None:
        self.stack.pop()
        a = self.cell
        if a is not None:
            if len(self.stack) >= self.cell_depth:  # a child of the cell
                if self.skip_text:
                    self.skip_text -= 1
                return
            self._end_cell(a)
        elif tag == _STYLE_EL:
            self.style = None
        elif tag == _T_ROW and self.row is not None:
            self._end_row(self.row)
        elif tag == _T_TABLE and self.sheet is not None:
            self._end_table(self.sheet)

    def close(self) -> None:
        return None

    # ------------------------------------------------------------------ structure
    def _start_table(self, attrib: dict[str, str]) -> None:
        if self.sheet is not None:
            raise self._refuse("file.xml_bad", detail="content.xml: a table inside a table")
        name = attrib.get(_q(_TABLE, "name")) or ""
        if not name.strip():
            raise Rejected(
                [Problem("file.package_ambiguous", self.file, params={"detail": "a sheet without a name"})]
            )
        if any(s.name.casefold() == name.casefold() for s in self.sheets):
            raise Rejected(
                [
                    Problem(
                        "file.package_ambiguous", self.file, params={"detail": f"two sheets named {name!r}"}
                    )
                ]
            )
        if len(self.sheets) >= self.limits.max_entries:
            raise Rejected(
                [
                    Problem(
                        "file.zip_entries",
                        self.file,
                        params={"n": f">{self.limits.max_entries}", "limit": self.limits.max_entries},
                    )
                ]
            )
        hidden = attrib.get(_q(_TABLE, "style-name")) in self.hidden_styles
        self.sheet = _Sheet(name, hidden)

    def _end_cell(self, a: dict[str, str]) -> None:
        self.cell = None
        sheet, row, lim = self.sheet, self.row, self.limits
        # a cell is only read inside a row of a sheet (start); stated for the type checker
        assert sheet is not None and row is not None
        repeat = self._count(a.get(_q(_TABLE, "number-columns-repeated")), "number-columns-repeated")
        row0, col0 = sheet.height, self.col  # 0-based position of the run's first cell
        self.col += repeat
        text = "\n".join("".join(p) for p in self.paragraphs)
        formula = _q(_TABLE, "formula") in a
        error = a.get(_q(_CALCEXT, "value-type")) == "error"
        declared = a.get(_q(_OFFICE, "value-type"))
        cell = self._value(a, declared, text, row0, col0)
        spans = (
            self._count(a.get(_q(_TABLE, "number-rows-spanned")), "number-rows-spanned"),
            self._count(a.get(_q(_TABLE, "number-columns-spanned")), "number-columns-spanned"),
        )
        if spans != (1, 1):
            sheet.merged.append(((row0, col0), (row0 + spans[0] - 1, col0 + spans[1] - 1)))
        if formula or error:
            cell = cell if not cell.empty else _Cell("string", "", text)
        if cell.empty:
            self._append(row, repeat, cell)
            return
        # a value, a formula or text: the run counts with its repeats, in both directions
        if row0 + self.row_repeat > lim.max_rows:
            raise self._refuse("file.too_many_rows", n=row0 + self.row_repeat, limit=lim.max_rows)
        if col0 + repeat > lim.max_cols:
            raise self._refuse("file.too_many_cols", row0 + 1, n=col0 + repeat, limit=lim.max_cols)
        self.cells += repeat * self.row_repeat
        if self.cells > lim.max_rows * lim.max_cols:
            raise self._refuse("file.too_many_cells", limit=lim.max_rows * lim.max_cols)
        if error:
            sheet.special[(row0 + 1, col0)] = ("error", text[:40] or "#ERR")
        elif formula:
            sheet.special[(row0 + 1, col0)] = ("formula", "")
        self.row_filled = True
        self._append(row, repeat, cell)

    def _value(self, a: dict[str, str], declared: str | None, text: str, row0: int, col0: int) -> _Cell:
        """The cell as the canonical package states it: type, value attribute, text."""
        if declared is None or declared == "void":
            return _Cell("string", "", text) if text else _Cell(None)
        if declared not in _VALUE_ATTR:
            raise self._refuse("file.xml_bad", row0 + 1, col0, detail=f"value type {declared[:20]!r}")
        attr = _VALUE_ATTR[declared]
        if attr is None:
            return _Cell("string", "", text)
        value = (a.get(_q(_OFFICE, attr)) or "").strip()
        form = _VALUE_FORM.get(attr)
        ok = value in ("true", "false") if attr == "boolean-value" else bool(form and form.fullmatch(value))
        if not ok:
            raise self._refuse("file.xml_bad", row0 + 1, col0, detail=f"{declared} value {value[:30]!r}")
        vtype = "float" if attr == "value" else declared
        return _Cell(vtype, value, text)

    @staticmethod
    def _append(row: list[_Run], repeat: int, cell: _Cell) -> None:
        if cell.empty and row and row[-1][1].empty:  # one run of empty cells, however written
            row[-1] = (row[-1][0] + repeat, cell)
        else:
            row.append((repeat, cell))

    def _end_row(self, cells: list[_Run]) -> None:
        self.row = None
        sheet = self.sheet
        assert sheet is not None  # a row is only read inside a sheet (start)
        if self.row_filled:
            while cells and cells[-1][1].empty:  # the empty rest of the row is not the used area
                cells.pop()
            sheet.rows.append((self.row_repeat, cells))
        elif sheet.rows and sheet.rows[-1][1] is None:
            sheet.rows[-1] = (sheet.rows[-1][0] + self.row_repeat, None)
        else:
            sheet.rows.append((self.row_repeat, None))
        sheet.height += self.row_repeat

    def _end_table(self, sheet: _Sheet) -> None:
        self.sheet = None
        while sheet.rows and sheet.rows[-1][1] is None:  # nor is the empty rest of the sheet
            sheet.rows.pop()
        self.sheets.append(sheet)


def _parse(xml: bytes, name: str, reader: _Reader) -> None:
    """Stream `xml` through a defused expat parser into `reader` (no tree is built)."""
    from defusedxml.ElementTree import DefusedXMLParser

    parser = DefusedXMLParser(target=reader, forbid_dtd=True)
    try:
        for i in range(0, len(xml), 1 << 20):
            parser.feed(xml[i : i + (1 << 20)])
        parser.close()
    except Rejected:
        raise
    except Exception as exc:  # defusedxml's refusals and ordinary parse errors alike
        raise Rejected(
            [Problem("file.xml_bad", reader.file, params={"detail": f"{name}: {type(exc).__name__}"})]
        ) from None


# ---------------------------------------------------------------------------- the package


@dataclass
class OdsPackage:
    """An .ods that passed every check; `data` is the canonical package the reader opens.

    Shaped like readers.XlsxPackage (`sheets`, `hidden`, `parts`) so that ingest treats both
    alike; `special` and `merged` are what the streaming parse found, per sheet.
    """

    file: str
    data: bytes
    sheets: dict[str, str]
    hidden: list[str]
    parts: dict[str, bytes]
    special: dict[str, Special] = field(default_factory=dict)
    merged: dict[str, list[Range]] = field(default_factory=dict)

    def part(self, name: str) -> bytes:
        return self.parts[name]

    def read_sheet(
        self, sheet: str, limits: Limits = DEFAULT_LIMITS
    ) -> tuple[list[list[object]], Special, list[Range]]:
        """As readers.read_sheet: (rows from A1, formula/error cells, merged ranges)."""
        if sheet not in self.sheets:
            raise _zip_bad(self.file, f"content.xml: no sheet {sheet!r}")
        try:
            rows, _merged = isolation.run(_native_sheet, self.data, sheet)
        except isolation.ParseFailed as exc:
            key = "file.reader_crashed" if exc.crashed else "file.xml_bad"
            raise Rejected(
                [Problem(key, self.file, sheet=sheet, params={"detail": exc.detail[:200]})]
            ) from None
        # bounded before the parse; checked again on what the parser made of it
        if len(rows) > limits.max_rows:
            raise Rejected(
                [
                    Problem(
                        "file.too_many_rows",
                        self.file,
                        sheet,
                        params={"n": len(rows), "limit": limits.max_rows},
                    )
                ]
            )
        width = max(map(len, rows), default=0)
        if width > limits.max_cols:
            raise Rejected(
                [
                    Problem(
                        "file.too_many_cols", self.file, sheet, params={"n": width, "limit": limits.max_cols}
                    )
                ]
            )
        return rows, dict(self.special.get(sheet, {})), list(self.merged.get(sheet, []))


def _mimetype(data: bytes, infos: list[zipfile.ZipInfo], file: str, limits: Limits) -> None:
    """The package must open with a stored `mimetype` entry naming an OpenDocument spreadsheet."""
    first = infos[0] if infos else None
    if first is None or first.filename != "mimetype":
        raise Rejected(
            [Problem("file.package_ambiguous", file, params={"detail": "'mimetype' is not the first entry"})]
        )
    content = b"".join(_entry_chunks(data, first, file, limits)) if first.file_size <= 200 else b""
    mime = content.decode("ascii", "replace").strip()
    if mime == ODS_MIME:
        if first.compress_type != 0:
            raise Rejected(
                [Problem("file.package_ambiguous", file, params={"detail": "'mimetype' is compressed"})]
            )
        return
    what = _OTHER_ODF.get(mime) or (
        f"OpenDocument ({mime[:60]})" if mime.startswith("application/") else "ZIP"
    )
    raise Rejected([Problem("file.not_spreadsheet", file, params={"what": what})])


def _manifest(xml: bytes, file: str) -> None:
    """The manifest must call the package a spreadsheet and list no script or embedded object."""
    from defusedxml import ElementTree as SafeET

    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except Exception as exc:
        raise Rejected(
            [Problem("file.xml_bad", file, params={"detail": f"META-INF/manifest.xml: {type(exc).__name__}"})]
        ) from None
    found_root = False
    for entry in root.iter(_q(_MANIFEST, "file-entry")):
        path = entry.get(_q(_MANIFEST, "full-path")) or ""
        media = (entry.get(_q(_MANIFEST, "media-type")) or "").casefold()
        if path == "/":
            found_root = media == ODS_MIME
            continue
        for what in ODF_ACTIVE:
            if path.casefold().startswith(what.part_prefixes) or any(m in media for m in what.media_marks):
                raise Rejected(
                    [
                        Problem(
                            f"file.active.{what.kind}", file, params={"part": f"{path[:80]} ({media[:60]})"}
                        )
                    ]
                )
    if any(True for _ in root.iter(_q(_MANIFEST, "encryption-data"))):
        raise _zip_bad(file, "encrypted document")
    if not found_root:
        raise Rejected(
            [
                Problem(
                    "file.package_ambiguous",
                    file,
                    params={"detail": "META-INF/manifest.xml does not describe a spreadsheet"},
                )
            ]
        )


def _canonical_content(sheets: list[_Sheet]) -> bytes:
    """content.xml holding the checked sheets alone: names, types, values and text."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content xmlns:office="{_OFFICE}" xmlns:table="{_TABLE}" xmlns:text="{_TEXT}" '
        'office:version="1.2"><office:body><office:spreadsheet>'
    ]
    for sheet in sheets:
        out.append(f'<table:table table:name="{escape(sheet.name)}">')
        for repeat, cells in sheet.rows:
            rep = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
            out.append(f"<table:table-row{rep}>")
            for n, cell in cells or [(1, _Cell(None))]:
                crep = f' table:number-columns-repeated="{n}"' if n > 1 else ""
                if cell.empty:
                    out.append(f"<table:table-cell{crep}/>")
                    continue
                attr = _CANONICAL_ATTR.get(cell.vtype)
                value = f' office:{attr}="{cell.value}"' if attr else ""
                paras = (
                    "".join(f"<text:p>{escape(p, quote=False)}</text:p>" for p in cell.text.split("\n"))
                    if cell.text
                    else ""
                )
                out.append(
                    f'<table:table-cell{crep} office:value-type="{cell.vtype}"{value}>{paras}</table:table-cell>'
                )
            out.append("</table:table-row>")
        out.append("</table:table>")
    out.append("</office:spreadsheet></office:body></office:document-content>")
    return "".join(out).encode("utf-8")


_CANONICAL_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<manifest:manifest xmlns:manifest="{_MANIFEST}" manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{ODS_MIME}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
).encode()


def open_ods(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> OdsPackage:
    """Check an .ods container, every part and every sheet's real extent; refuse before any
    spreadsheet parser runs, and hand the parser a package rebuilt from what was checked."""
    infos = zip_directory(data, file, limits)
    _mimetype(data, infos, file, limits)
    names = [i.filename for i in infos]
    _check_names(names, file)
    for name in names:
        key = name.casefold()
        for what in ODF_ACTIVE:
            if key.startswith(what.part_prefixes):
                raise Rejected([Problem(f"file.active.{what.kind}", file, params={"part": name[:120]})])
    by_name = {i.filename: i for i in infos if not i.is_dir()}
    for needed in ("content.xml", "META-INF/manifest.xml"):
        if needed not in by_name:
            raise _zip_bad(file, f"{needed} missing")
    parts: dict[str, bytes] = {}
    for name, info in by_name.items():
        content = _inflate(data, info, file, limits)  # sizes, CRC, encoding, DTDs: every entry
        if name in ("content.xml", "styles.xml", "META-INF/manifest.xml"):
            parts[name] = content
    _manifest(parts["META-INF/manifest.xml"], file)
    hidden_styles: set[str] = set()
    if "styles.xml" in parts:  # table styles may live there; its scripts and objects are refused too
        styles = _Reader(file, limits, hidden_styles)
        _parse(parts["styles.xml"], "styles.xml", styles)
        if styles.sheets:
            raise Rejected(
                [Problem("file.package_ambiguous", file, params={"detail": "a sheet in styles.xml"})]
            )
    reader = _Reader(file, limits, hidden_styles)
    _parse(parts["content.xml"], "content.xml", reader)
    content = _canonical_content(reader.sheets)
    canon = {
        "mimetype": ODS_MIME.encode(),
        "content.xml": content,
        "META-INF/manifest.xml": _CANONICAL_MANIFEST,
    }
    clean = _stored_zip(canon, {n: zlib.crc32(c) for n, c in canon.items()})
    return OdsPackage(
        file,
        clean,
        {s.name: s.name for s in reader.sheets},
        [s.name for s in reader.sheets if s.hidden],
        canon,
        {s.name: s.special for s in reader.sheets},
        {s.name: s.merged for s in reader.sheets},
    )
