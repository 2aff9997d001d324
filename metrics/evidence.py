"""Evidence files and links per answer ("bukti dukung"): checked by content, stored once, served safely.

Why a module of its own: evidence is the one place where the product keeps files people made
elsewhere (decrees as PDF, screenshots, office documents) and hands them to other people (the
assessors). Everything about that is decided here:

* **What a file is** comes from its bytes, never its name: the first bytes must be a PDF, a
  JPEG, a PNG or a zip package that is an .xlsx or a .docx (`ALLOWED`). Size is checked first
  (`MAX_FILE_BYTES`), before anything is parsed.
* **Parsing untrusted content** (pypdf, pypdfium2, Pillow, the office container) happens only in
  `metrics.isolation` workers (memory-capped, replaced when they die), so a hostile file is a
  refusal, never a crash of the server; a time-out is a refusal too. The worker returns either
  the checked file or the problems found.
* **PDF**: encrypted or malformed (pypdf in strict mode, and pdfium) refused; active content
  (JavaScript, launch and other actions that run or fetch things, embedded files, RichMedia, XFA
  forms, additional actions) refused with the advice to print to a plain PDF, so it is never
  stored and never served. The file is kept as uploaded (it passed the checks).
* **Images** are decoded under a pixel limit (decompression bombs refused), turned upright by
  their EXIF orientation, and re-encoded from the pixels alone: no EXIF (GPS position included),
  no text chunks, no ICC profile. Animated images are refused. What is stored is the re-encoded
  file, so the SHA-256 is the clean file's.
* **Office files** go through the workbook reader's container checks (metrics.readers: size,
  entries, ratio, forged sizes, DTDs, encodings, ambiguous names); macros, embedded objects,
  ActiveX and external links or templates are refused.
* **Personal data**: a file whose text layer (PDF pages, .docx paragraphs, .xlsx cells) holds a
  NIK/KK-shaped number by metrics.personal's rule is refused, naming the page, paragraph or cell.
  That refusal is the "flag to the uploader": nothing is stored until the uploader removes it.
  Images have no text layer (no OCR); a PDF without one gets the flag `no_text_layer`, so the
  assessor knows the check could not read it.

Storage: `evidence_blobs` holds each content once by SHA-256; `evidence_items` records who gave
which file (or https link) for which OPD-year, under what name, when; `evidence_links` ties items
to answers and is never deleted (unlinking stamps it). Reading follows the answers' rule:
whoever may read that OPD's submissions (Action.READ_SUBMISSIONS scoped to the OPD). Downloads
carry a clean file name and the checked type, for an attachment; the preview is a PNG rendered
here (a PDF's first page, or the image scaled down), never the document itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from metrics import isolation
from metrics.auth import Action, User, require
from metrics.errors import PeriodClosed, Problem, Rejected, ValidationError
from metrics.framework import framework_for_year
from metrics.loaded_frameworks import loaded_frameworks
from metrics.personal import find_personal, looks_personal, may_hold_personal
from metrics.readers import open_package, open_xlsx, what_it_is, zip_directory
from metrics.responsibility import indicators_of

if TYPE_CHECKING:
    from metrics.records import EvidenceItem
    from metrics.storage import Cursor, Storage

MAX_FILE_BYTES = 10 * 1024 * 1024
QUOTA_SETTING = "evidence_quota_mb"  # store setting: the total per OPD-year, in MB
DEFAULT_QUOTA_MB = 200

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ALLOWED = frozenset({PDF, JPEG, PNG, XLSX, DOCX})
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", XLSX: ".xlsx", DOCX: ".docx"}
_ALSO = {JPEG: (".jpeg", ".jfif")}

# 40 megapixels: a 7,300 x 5,500 photo, more than phones take. Larger is refused before it is
# decoded: a 48 MP rotated JPEG peaked at 491 MB in the worker (cap 512 MB above its start), too
# close to the cap to accept.
MAX_PIXELS = 40_000_000
CHECK_TIMEOUT_S = 60.0
PREVIEW_TIMEOUT_S = 30.0
MAX_PREVIEW_WIDTH = 2000
MAX_URL = 2000
MAX_NAME = 120
YEAR_MIN, YEAR_MAX = 2000, 2100

# The PDF names that make a document act rather than show: as dictionary keys, and as action
# types (/S). `/OpenAction` alone is usually "open at page 1" and is allowed unless its action is
# one of these; `/AA` (additional actions on open, close, page view, field events) is refused.
PDF_ACTIVE_KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/Launch": "Launch",
    "/EmbeddedFile": "EmbeddedFile",
    "/EmbeddedFiles": "EmbeddedFiles",
    "/RichMedia": "RichMedia",
    "/RichMediaContent": "RichMedia",
    "/XFA": "XFA",
    "/AA": "AA",
}
PDF_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "Launch",
    "/ImportData": "ImportData",
    "/SubmitForm": "SubmitForm",
    "/GoToE": "GoToE",
    "/RichMediaExecute": "RichMedia",
    "/Rendition": "Rendition",
}
# The same names found in the raw bytes (hex escapes such as /J#61vaScript decoded): objects a
# lenient reader might find outside the cross-reference table. Short names (/JS, /AA) are left
# to the object walk: three bytes occur by chance in compressed streams.
_RAW_NAME = re.compile(rb"/((?:[A-Za-z]|#[0-9A-Fa-f]{2})(?:[A-Za-z0-9]|#[0-9A-Fa-f]{2}){3,40})")
_RAW_ACTIVE = {"JavaScript", "Launch", "EmbeddedFile", "EmbeddedFiles", "RichMedia", "XFA", "ImportData"}
_MAX_PDF_NODES = 2_000_000

# Office parts that act when opened, by name, in a .docx (the workbook reader knows the xl/ ones)
_DOCX_ACTIVE_PARTS = (
    ("vbaproject", "macro"),
    ("vbadata", "macro"),
    ("embeddings/", "ole_object"),
    ("activex/", "activex"),
)
# relationships a .docx may point outside itself with: ordinary hyperlinks only
_DOCX_EXTERNAL_OK = {"hyperlink"}
_DOCX_TEXT_PARTS = re.compile(r"word/(?:document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml")


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check: `data` is what is stored (images re-encoded)."""

    data: bytes
    mime: str
    size: int
    sha256: str
    flags: tuple[str, ...]  # what the assessor should know: metadata_removed, no_text_layer
    pages: int | None  # a PDF's page count


@dataclass(frozen=True)
class EvidenceDownload:
    """A stored file as the browser gets it: as an attachment, under a clean name."""

    file_name: str
    mime: str
    data: bytes


# ------------------------------------------------------------------------------------ names


def safe_name(name: str, mime: str | None = None) -> str:
    """The file's own name without any path or control character, at most MAX_NAME characters;
    with `mime`, its extension made the one of the checked type ("laporan.exe" -> "laporan.pdf")."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in unicodedata.normalize("NFC", base)
    )
    base = re.sub(r"\s+", " ", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    if mime is not None:
        wanted = EXTENSIONS.get(mime, "")
        if f".{ext.lower()}" not in (wanted, *_ALSO.get(mime, ())):
            ext = wanted.lstrip(".")
    stem = (stem or "bukti")[: MAX_NAME - len(ext) - 1]
    return f"{stem}.{ext}" if ext else stem


def _problem(key: str, file: str, **params: object) -> Problem:
    return Problem(key, file, params=params)


def _refuse(key: str, file: str, **params: object) -> Rejected:
    return Rejected([_problem(key, file, **params)])


# ------------------------------------------------------------------------------------ sniffing


def sniff(data: bytes) -> str | None:
    """The allowed type `data` starts as (zip packages: 'zip', decided in the worker), or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _what(data: bytes) -> str:
    """What a refused file looks like, for the message: a known format, markup, text or binary."""
    known = what_it_is(data)
    if known:
        return known
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml", b"<")):
        return "HTML/SVG/XML"
    if b"\x00" in data[:4096]:
        return "biner/binary"
    return "teks/text"


def check_file(data: bytes, name: str) -> CheckedFile:
    """Check an uploaded evidence file completely; the file as it is to be stored, or Rejected.

    Size and type are decided here from the bytes; everything that parses the content runs in
    an isolated worker (`_check_in_worker`).
    """
    file = safe_name(name)
    if not data:
        raise _refuse("evidence.empty", file)
    if len(data) > MAX_FILE_BYTES:
        raise _refuse("evidence.too_large", file, size=len(data), limit=MAX_FILE_BYTES)
    kind = sniff(data)
    if kind is None:
        raise _refuse("evidence.type", file, what=_what(data))
    try:
        out = isolation.run(_check_in_worker, data, file, kind, timeout=CHECK_TIMEOUT_S)
    except isolation.ParseFailed as exc:
        key = "evidence.timeout" if exc.detail.startswith("no result") else "evidence.unreadable"
        raise _refuse(key, file, detail=exc.detail[:160]) from None
    if isinstance(out, CheckedFile):
        return out
    raise Rejected(out)


def _check_in_worker(data: bytes, file: str, kind: str) -> CheckedFile | list[Problem]:
    """In the worker: the checked file, or the problems (a raised Rejected would lose them)."""
    try:
        if kind == PDF:
            return _check_pdf(data, file)
        if kind in (JPEG, PNG):
            return _check_image(data, file, kind)
        return _check_office(data, file)
    except Rejected as exc:
        return exc.problems


def _checked(data: bytes, mime: str, flags: Iterable[str] = (), pages: int | None = None) -> CheckedFile:
    return CheckedFile(data, mime, len(data), hashlib.sha256(data).hexdigest(), tuple(flags), pages)


# ------------------------------------------------------------------------------------------ PDF


def _pdf_active(reader: Any) -> str | None:
    """The first active feature in any object the cross-reference table names, or None."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    numbers: set[tuple[int, int]] = {(n, g) for g, table in reader.xref.items() for n in table}
    numbers |= {(n, 0) for n in getattr(reader, "xref_objStm", {})}
    stack: list[Any] = [reader.trailer]
    for num, gen in sorted(numbers):
        stack.append(reader.get_object(IndirectObject(num, gen, reader)))
    seen = 0
    while stack:
        obj = stack.pop()
        seen += 1
        if seen > _MAX_PDF_NODES:
            raise _refuse("evidence.pdf_complex", "", limit=_MAX_PDF_NODES)
        if isinstance(obj, DictionaryObject):  # a stream's dictionary is one too
            for key, value in obj.items():
                if key in PDF_ACTIVE_KEYS:
                    return PDF_ACTIVE_KEYS[key]
                if key == "/S" and str(value) in PDF_ACTIVE_ACTIONS:
                    return PDF_ACTIVE_ACTIONS[str(value)]
                if not isinstance(value, IndirectObject):  # each indirect object is walked once, above
                    stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(v for v in obj if not isinstance(v, IndirectObject))
    return None


def _raw_active(data: bytes) -> str | None:
    """An active feature's name anywhere in the file's bytes (defence in depth), or None."""
    for m in _RAW_NAME.finditer(data):
        raw = m.group(1)
        name = (
            re.sub(rb"#([0-9A-Fa-f]{2})", lambda h: bytes([int(h.group(1), 16)]), raw) if b"#" in raw else raw
        )
        text = name.decode("latin-1")
        if text in _RAW_ACTIVE:
            return text
    return None


def _check_pdf(data: bytes, file: str) -> CheckedFile:
    import pypdf
    import pypdfium2  # type: ignore[import-untyped]  # ships no type information

    warnings.simplefilter("ignore")  # pypdf's warnings about odd files are not for the log
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise _refuse("evidence.pdf_malformed", file, detail=f"{type(exc).__name__}"[:80]) from None
    if encrypted:
        raise _refuse("evidence.pdf_encrypted", file)
    try:
        active = _pdf_active(reader) or _raw_active(data)
    except Rejected:
        raise _refuse("evidence.pdf_complex", file, limit=_MAX_PDF_NODES) from None
    except Exception as exc:
        raise _refuse("evidence.pdf_malformed", file, detail=f"{type(exc).__name__}"[:80]) from None
    if active:
        raise _refuse("evidence.pdf_active", file, what=active)
    try:
        doc = pypdfium2.PdfDocument(data)
    except Exception as exc:
        raise _refuse("evidence.pdf_malformed", file, detail=f"pdfium: {type(exc).__name__}"[:80]) from None
    try:
        pages = len(doc)
        if pages < 1:
            raise _refuse("evidence.pdf_malformed", file, detail="no pages")
        any_text = False
        for i in range(pages):
            page = doc[i]
            text = page.get_textpage().get_text_range()
            any_text = any_text or bool(text.strip())
            if may_hold_personal(text) and find_personal(text) is not None:
                raise _refuse("evidence.personal_page", file, page=i + 1)
    finally:
        doc.close()
    return _checked(data, PDF, () if any_text else ("no_text_layer",), pages)


# --------------------------------------------------------------------------------------- images


def _check_image(data: bytes, file: str, mime: str) -> CheckedFile:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    want = "JPEG" if mime == JPEG else "PNG"
    try:
        im = Image.open(io.BytesIO(data), formats=[want])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("evidence.image_too_big", file, limit=MAX_PIXELS) from None
    except Exception as exc:
        raise _refuse("evidence.image_bad", file, detail=type(exc).__name__) from None
    with im:
        w, h = im.size
        if w * h > MAX_PIXELS or w < 1 or h < 1:
            raise _refuse("evidence.image_too_big", file, limit=MAX_PIXELS)
        if getattr(im, "n_frames", 1) > 1:
            raise _refuse("evidence.image_animated", file)
        had_metadata = bool(im.getexif()) or any(
            k not in ("dpi", "jfif", "jfif_version", "jfif_unit", "jfif_density") for k in im.info
        )
        try:
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse("evidence.image_too_big", file, limit=MAX_PIXELS) from None
        except Exception as exc:
            raise _refuse("evidence.image_bad", file, detail=type(exc).__name__) from None
        # upright by the EXIF orientation before the EXIF goes; in place, so that the pixels are
        # held once (a copy only while an image is really turned). A damaged EXIF block is only
        # metadata: the image is kept as it is drawn.
        with contextlib.suppress(Exception):
            ImageOps.exif_transpose(im, in_place=True)
        clean: Image.Image = im
        keep = ("L", "RGB", "CMYK") if mime == JPEG else ("1", "L", "LA", "RGB", "RGBA", "I;16")
        if clean.mode not in keep:
            clean = clean.convert("RGB" if mime == JPEG else "RGBA")
        # nothing of the file's metadata goes into the new file: no EXIF (GPS), no ICC profile,
        # no comments or text chunks (the stored file is read back for EXIF in the tests)
        clean.info.clear()
        out = io.BytesIO()
        if mime == JPEG:
            clean.save(out, "JPEG", quality=90, exif=b"", icc_profile=None)
        else:
            clean.save(out, "PNG", exif=b"", icc_profile=None)
    return _checked(out.getvalue(), mime, ("metadata_removed",) if had_metadata else ())


# --------------------------------------------------------------------------------- office files

# The workbook reader's refusals, reworded for an office evidence file (same parameters)
_OFFICE_KEYS = {
    "file.zip_bad": "evidence.office.zip_bad",
    "file.zip_entries": "evidence.office.zip_entries",
    "file.zip_size": "evidence.office.zip_size",
    "file.zip_ratio": "evidence.office.zip_ratio",
    "file.xml_dtd": "evidence.office.xml_dtd",
    "file.xml_bad": "evidence.office.xml_bad",
    "file.xml_encoding": "evidence.office.xml_encoding",
    "file.package_ambiguous": "evidence.office.ambiguous",
    "file.too_many_strings": "evidence.office.too_many_strings",
    "file.active.macro": "evidence.office.active",
    "file.active.external_link": "evidence.office.active",
    "file.active.ole_object": "evidence.office.active",
    "file.active.activex": "evidence.office.active",
    "file.not_spreadsheet": "evidence.office.not_office",
}


def _office_problem(p: Problem, file: str) -> Problem:
    key = _OFFICE_KEYS.get(p.key, "evidence.office.xml_bad")
    params = dict(p.params)
    if key == "evidence.office.active":
        params = {"what": p.key.rsplit(".", 1)[-1], "part": params.get("part", "")}
    elif key == "evidence.office.xml_bad" and p.key not in _OFFICE_KEYS:
        params = {"detail": p.message("en")[:160]}
    return Problem(key, file, p.sheet, p.row, p.column, params)


def _check_office(data: bytes, file: str) -> CheckedFile:
    try:
        names = {i.filename for i in zip_directory(data, file)}
        if "xl/workbook.xml" in names and "word/document.xml" in names:
            raise _refuse("evidence.office.ambiguous", file, detail="xl/ + word/")
        if "xl/workbook.xml" in names:
            return _check_xlsx(data, file)
        if "word/document.xml" in names:
            return _check_docx(data, file)
        raise _refuse("evidence.office.not_office", file, what="ZIP")
    except Rejected as exc:
        raise Rejected(
            [p if p.key.startswith("evidence.") else _office_problem(p, file) for p in exc.problems]
        ) from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _iter_end(xml: bytes) -> Iterator[Any]:
    """Elements of `xml` as each one ends (defused: no DTD, no entities, no fetching)."""
    from defusedxml.ElementTree import iterparse

    for _event, el in iterparse(io.BytesIO(xml), events=("end",)):
        yield el


def _check_xlsx(data: bytes, file: str) -> CheckedFile:
    pkg = open_xlsx(data, file)
    strings: list[str] = []
    if "xl/sharedStrings.xml" in pkg.parts:
        for el in _iter_end(pkg.parts["xl/sharedStrings.xml"]):
            if _local(el.tag) == "si":
                strings.append("".join(el.itertext()))
                el.clear()
    for sheet, part in pkg.sheets.items():
        for el in _iter_end(pkg.parts[part]):
            if _local(el.tag) != "c":
                continue
            kind, ref = el.get("t"), el.get("r") or ""
            value = next((c.text for c in el if _local(c.tag) == "v"), None)
            if kind == "s":
                idx = int(value) if value and value.strip().isdigit() else -1
                text = strings[idx] if 0 <= idx < len(strings) else ""
            elif kind == "inlineStr":
                text = "".join(el.itertext())
            else:
                text = value or ""
            if text and looks_personal(text):
                raise Rejected(
                    [Problem("evidence.personal_cell", file, sheet, params={"sheet": sheet, "cell": ref})]
                )
            el.clear()
    return _checked(data, XLSX)


def _check_docx(data: bytes, file: str) -> CheckedFile:
    pkg = open_package(data, file)
    for name in pkg.parts:
        low = name.casefold()
        for mark, what in _DOCX_ACTIVE_PARTS:
            if low.startswith("word/") and (low.rsplit("/", 1)[-1].startswith(mark) or mark in low):
                raise _refuse("evidence.office.active", file, what=what, part=name[:120])
    for part, rtype, target in pkg.external:
        if rtype not in _DOCX_EXTERNAL_OK:
            raise _refuse(
                "evidence.office.active", file, what="external_link", part=f"{part}: {rtype} {target}"[:120]
            )
    for name in sorted(pkg.parts, key=lambda n: (n != "word/document.xml", n)):
        if not _DOCX_TEXT_PARTS.fullmatch(name):
            continue
        n = 0
        for el in _iter_end(pkg.parts[name]):
            if _local(el.tag) != "p":
                continue
            n += 1
            text = "".join(t.text or "" for t in el.iter() if _local(t.tag) == "t")
            if text and may_hold_personal(text) and find_personal(text) is not None:
                if name == "word/document.xml":
                    raise _refuse("evidence.personal_paragraph", file, paragraph=n)
                raise _refuse("evidence.personal_part", file, part=name, paragraph=n)
    return _checked(data, DOCX)


# ------------------------------------------------------------------------------------- previews


def _render_preview(data: bytes, mime: str, width: int) -> bytes:
    """In the worker: a PNG of a PDF's first page, or of the (already clean) image, `width` wide."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    if mime == PDF:
        import pypdfium2

        doc = pypdfium2.PdfDocument(data)
        try:
            page = doc[0]
            w_pt, h_pt = page.get_size()
            scale = width / max(w_pt, 1.0)
            if h_pt * scale > 4 * width:  # an absurdly tall page: bounded, not a huge bitmap
                scale = 4 * width / max(h_pt, 1.0)
            # no form fields drawn: nothing of a form's scripts can run, only the page is painted
            image = page.render(scale=scale, may_draw_forms=False).to_pil()
        finally:
            doc.close()
    else:
        image = Image.open(io.BytesIO(data), formats=["JPEG" if mime == JPEG else "PNG"])
        image.load()
        if image.width > width:
            image = image.resize((width, max(1, round(image.height * width / image.width))))
        if image.mode not in ("1", "L", "LA", "RGB", "RGBA"):
            image = image.convert("RGBA")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ------------------------------------------------------------------------------------ the store


def _check_year(year: object) -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError("evidence.year", value=year)
    return year


def _answerable(store: Storage, city: str, opd: str, year: int) -> set[str]:
    """The indicator codes `opd` answers in `year`'s framework (the city and OPD must exist)."""
    o = store.opd_map().get((city, opd))
    if o is None:
        raise ValidationError("cell.unknown_opd", value=opd, city=city)
    fw = framework_for_year(loaded_frameworks(store), year)
    if fw is None:
        raise ValidationError("cell.no_framework", value=year)
    return {i.code for i in indicators_of(store, fw, o)}


def _indicator_codes(store: Storage, city: str, opd: str, year: int, indicators: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(str(c).strip() for c in indicators))
    if not wanted:
        return []
    ok = _answerable(store, city, opd, year)
    for code in wanted:
        if code not in ok:
            raise ValidationError("evidence.indicator", code=code[:40], opd=opd, year=year)
    return wanted


def _check_writable(store: Storage, city: str, year: int, cur: Cursor | None = None) -> None:
    status = store.period_status(city, year, cur)
    if status in ("closed", "locked"):
        raise PeriodClosed(f"period.{status}", city=city, year=year)


def quota_bytes(store: Storage) -> int:
    """The total of distinct file contents an OPD may keep per year (the store setting, in MB)."""
    raw = store.get_setting(QUOTA_SETTING)
    try:
        mb = float(raw) if raw is not None else DEFAULT_QUOTA_MB
    except ValueError:
        mb = DEFAULT_QUOTA_MB
    return int(max(mb, 0) * 1024 * 1024)


def add_file(
    store: Storage,
    user: User,
    city: str,
    opd: str,
    year: int,
    data: bytes,
    name: str,
    indicators: Iterable[str] = (),
) -> EvidenceItem:
    """Check and keep an evidence file for the OPD-year, linked to `indicators` (answers of its own).

    The content is stored once by SHA-256 (another OPD's copy shares it); the same content given
    again by the same OPD-year is that item again (new links are added to it). Refused: another
    OPD's scope, a closed year, an indicator the OPD does not answer, any failed check
    (Rejected, with every problem located), the OPD-year's quota.
    """
    require(user, Action.UPLOAD, city, opd)
    year = _check_year(year)
    codes = _indicator_codes(store, city, opd, year, indicators)
    if not codes:
        _answerable(store, city, opd, year)  # the OPD and the year's framework must exist all the same
    _check_writable(store, city, year)
    file = safe_name(name)
    checked = check_file(data, file)
    limit = quota_bytes(store)
    with store.transaction() as cur:
        _check_writable(store, city, year, cur)
        existing = store.evidence_item_by_content(cur, city, opd, year, checked.sha256)
        if existing is None:
            used = store.evidence_bytes_used(cur, city, opd, year)
            if used + checked.size > limit:
                raise _refuse("evidence.quota", file, used=used, size=checked.size, limit=limit)
            store.put_evidence_blob(cur, checked.sha256, checked.mime, checked.data)
            item_id = store.insert_evidence_item(
                cur,
                city,
                opd,
                year,
                "file",
                sha256=checked.sha256,
                url=None,
                original_name=file,
                mime=checked.mime,
                size=checked.size,
                flags=",".join(checked.flags) or None,
                username=user.username,
            )
        else:
            item_id = existing
        linked = [c for c in codes if store.link_evidence(cur, city, opd, year, c, item_id, user.username)]
        store.write_audit(
            cur,
            user,
            "evidence.add",
            f"evidence:{city}/{opd}/{year}/{item_id}",
            None,
            {
                "item_id": item_id,
                "sha256": checked.sha256,
                "size": checked.size,
                "mime": checked.mime,
                "name": file,
                "flags": list(checked.flags),
                "reused": existing is not None,
                "indicators": linked,
            },
        )
    item = store.evidence_item(item_id)
    assert item is not None  # written just above
    return item


def check_url(url: str) -> str:
    """The link as stored: https only, no credentials, no control characters or spaces, bounded."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise ValidationError("evidence.url_length", limit=MAX_URL)
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F or unicodedata.category(ch) in ("Cc", "Cf", "Zs") for ch in url):
        raise ValidationError("evidence.url_bad", detail="spasi/kontrol · spaces/control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("evidence.url_bad", detail="URL") from None
    if parts.scheme.lower() != "https":
        raise ValidationError("evidence.url_https", scheme=(parts.scheme or "-")[:20])
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError("evidence.url_credentials")
    host = parts.hostname or ""
    if not host or port == 0:
        raise ValidationError("evidence.url_bad", detail="host")
    return url


def add_link(
    store: Storage,
    user: User,
    city: str,
    opd: str,
    year: int,
    url: str,
    indicators: Iterable[str] = (),
) -> EvidenceItem:
    """Keep an https link as evidence of the OPD-year, linked to `indicators` (the OPD-year's
    item with the same link is reused: see add_link_in)."""
    require(user, Action.UPLOAD, city, opd)
    year = _check_year(year)
    clean = check_url(url)
    codes = _indicator_codes(store, city, opd, year, indicators)
    if not codes:
        _answerable(store, city, opd, year)
    _check_writable(store, city, year)
    with store.transaction() as cur:
        _check_writable(store, city, year, cur)
        item_id = add_link_in(store, cur, user, city, opd, year, clean, codes)
    item = store.evidence_item(item_id)
    assert item is not None
    return item


def add_link_in(
    store: Storage,
    cur: Cursor,
    user: User,
    city: str,
    opd: str,
    year: int,
    url: str,
    indicators: Iterable[str] = (),
) -> int:
    """add_link inside the caller's transaction: the template's "Tautan bukti" links are stored
    with the answers they back (metrics.ingest.store_parsed), all or nothing. The caller has
    checked the period and the indicators (ingest's validation); the OPD-year's item with the
    same link is that item again (a re-uploaded template adds no copies). Returns the item id."""
    require(user, Action.UPLOAD, city, opd)
    clean = check_url(url)
    codes = list(dict.fromkeys(indicators))
    same = next(
        (i.id for i in store.evidence_items(city, opd, year, cur) if i.kind == "link" and i.url == clean),
        None,
    )
    item_id = same
    if item_id is None:
        item_id = store.insert_evidence_item(
            cur,
            city,
            opd,
            year,
            "link",
            sha256=None,
            url=clean,
            original_name=None,
            mime=None,
            size=None,
            flags=None,
            username=user.username,
        )
    linked = [c for c in codes if store.link_evidence(cur, city, opd, year, c, item_id, user.username)]
    if same is None or linked:
        store.write_audit(
            cur,
            user,
            "evidence.link_add",
            f"evidence:{city}/{opd}/{year}/{item_id}",
            None,
            {"item_id": item_id, "url": clean, "indicators": linked, "reused": same is not None},
        )
    return item_id


def _own_item(store: Storage, city: str, opd: str, year: int, item_id: int) -> EvidenceItem:
    item = store.evidence_item(item_id)
    if item is None or (item.city_code, item.opd_code, item.year) != (city, opd, year):
        raise ValidationError("evidence.not_own", item=item_id, opd=opd, year=year)
    return item


def link(store: Storage, user: User, city: str, opd: str, year: int, indicator: str, item_id: int) -> bool:
    """Attach an item of the OPD-year to one of its answers; False when it was attached already."""
    require(user, Action.UPLOAD, city, opd)
    year = _check_year(year)
    _own_item(store, city, opd, year, item_id)
    code = _indicator_codes(store, city, opd, year, [indicator])[0]
    with store.transaction() as cur:
        _check_writable(store, city, year, cur)
        made = store.link_evidence(cur, city, opd, year, code, item_id, user.username)
        if made:
            store.write_audit(
                cur,
                user,
                "evidence.link",
                f"evidence:{city}/{opd}/{year}/{item_id}",
                None,
                {"indicator": code},
            )
    return made


def unlink(store: Storage, user: User, city: str, opd: str, year: int, indicator: str, item_id: int) -> bool:
    """Detach an item from an answer (the link is stamped, never deleted); False when not attached."""
    require(user, Action.UPLOAD, city, opd)
    year = _check_year(year)
    _own_item(store, city, opd, year, item_id)
    with store.transaction() as cur:
        _check_writable(store, city, year, cur)
        done = store.unlink_evidence(cur, city, opd, year, indicator, item_id, user.username)
        if done:
            store.write_audit(
                cur,
                user,
                "evidence.unlink",
                f"evidence:{city}/{opd}/{year}/{item_id}",
                {"indicator": indicator},
                None,
            )
    return done


# ------------------------------------------------------------------------------------- reading


def items(store: Storage, user: User, city: str, opd: str, year: int) -> list[EvidenceItem]:
    """Every item the OPD gave for the year (newest first), for reuse across its answers."""
    require(user, Action.READ_SUBMISSIONS, city, opd)
    return store.evidence_items(city, opd, year)


def answer_evidence(
    store: Storage, user: User, city: str, year: int, indicator: str, opd: str | None = None
) -> list[tuple[str, EvidenceItem]]:
    """(OPD code, item) of the evidence linked now to an answer: one OPD's (`opd`), or every
    OPD's (the assessor's view; an OPD operator must name its own)."""
    require(user, Action.READ_SUBMISSIONS, city, opd)
    return store.linked_evidence(city, year, indicator, opd)


def year_evidence(
    store: Storage, user: User, city: str, year: int, opd: str | None = None
) -> dict[str, list[tuple[str, EvidenceItem]]]:
    """indicator -> (OPD code, item) linked now to its answers, for the whole city-year (of one
    OPD): answer_evidence for every answer in one read."""
    require(user, Action.READ_SUBMISSIONS, city, opd)
    out: dict[str, list[tuple[str, EvidenceItem]]] = {}
    for o, code, item in store.linked_evidence_of_year(city, year, opd):
        out.setdefault(code, []).append((o, item))
    return out


def _readable(store: Storage, user: User, item_id: int) -> EvidenceItem:
    item = store.evidence_item(item_id)
    if item is None:
        raise ValidationError("evidence.not_found", item=item_id)
    require(user, Action.READ_SUBMISSIONS, item.city_code, item.opd_code)
    return item


def download(store: Storage, user: User, item_id: int) -> EvidenceDownload:
    """A stored file for whoever may read that OPD's answers, as an attachment; audited as an
    export (who took which file), an action that leaves the pages' caches alone."""
    item = _readable(store, user, item_id)
    if item.kind != "file" or item.sha256 is None or item.mime is None:
        raise ValidationError("evidence.is_link", item=item_id)
    data = store.evidence_blob(item.sha256)
    if data is None:  # pragma: no cover - an item always has its blob (same transaction)
        raise ValidationError("evidence.not_found", item=item_id)
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "export",
            f"evidence:{item.city_code}/{item.opd_code}/{item.year}/{item.id}",
            None,
            {"kind": "evidence", "sha256": item.sha256, "bytes": len(data), "mime": item.mime},
        )
    return EvidenceDownload(safe_name(item.original_name or "bukti", item.mime), item.mime, data)


def preview_png(store: Storage, user: User, item_id: int, width: int = 900) -> bytes | None:
    """A PNG of a PDF's first page or of an image, `width` pixels wide at most, rendered in a
    worker; None for office files, links, and a file that cannot be rendered."""
    item = _readable(store, user, item_id)
    if item.kind != "file" or item.sha256 is None or item.mime not in (PDF, JPEG, PNG):
        return None
    data = store.evidence_blob(item.sha256)
    if data is None:
        return None
    width = max(50, min(int(width), MAX_PREVIEW_WIDTH))
    try:
        return isolation.run(_render_preview, data, item.mime, width, timeout=PREVIEW_TIMEOUT_S)
    except isolation.ParseFailed:
        return None
