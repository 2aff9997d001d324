"""The help guide ("Panduan"): what the Bantuan page shows and the printable PDF for OPD operators
and the mayor's office.

Why generated, not written once: a guide that lists error messages by hand goes stale the day a
message changes, and screenshots pasted into a document show last year's screens. Here the
"what each error means" section is built from the message catalogue itself (every `file.*`,
`xlsx.*` and `cell.*` key, in the reader's language), the help contact is the admin's setting,
and the screenshots are taken from a folder the browser tests fill (tests/functional/test_e2e_browser.py,
test-output/screenshots/), embedding only those that exist at the moment the guide is built.
Nothing of it is stored: the guide is made on request. The page draws the same `Guide` model
the PDF is printed from, so both say the same thing. Anyone may read it, signed in or not.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from metrics import admin, formatting, i18n
from metrics.i18n import t

if TYPE_CHECKING:
    from metrics.storage import Storage

ERROR_GROUPS = ("file", "xlsx", "cell")  # message-key prefixes an OPD operator meets in an upload
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
ELLIPSIS = "…"
# Screenshots of the browser tests worth showing, by file stem, and the section they illustrate.
SCREENSHOTS: tuple[tuple[str, str, str], ...] = (
    ("phone-opd.kominfo-home", "fill", "guide.shot.home"),
    ("admin-upload", "fill", "guide.shot.upload"),
    ("upload-accepted", "fill", "guide.shot.accepted"),
    ("admin-entry", "fill", "guide.shot.form"),
    ("overview", "read", "guide.shot.overview"),
    ("completeness", "read", "guide.shot.completeness"),
    ("admin-report", "read", "guide.shot.report"),
)
DEFAULT_SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


def screenshots_folder() -> Path:
    """Where the browser tests leave their screenshots ($SMARTCITY_SCREENSHOTS overrides)."""
    return Path(os.environ.get("SMARTCITY_SCREENSHOTS") or DEFAULT_SCREENSHOTS)


@dataclass(frozen=True)
class Shot:
    path: Path
    caption: str


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()  # numbered steps or a bullet list
    shots: tuple[Shot, ...] = ()


@dataclass(frozen=True)
class ErrorGroup:
    title: str
    messages: tuple[tuple[str, str], ...]  # (key, text with every placeholder shown as …)


@dataclass(frozen=True)
class Guide:
    lang: str
    title: str
    subtitle: str
    intro: str
    sections: tuple[Section, ...]  # fill, read (with their screenshots)
    errors_title: str
    errors_intro: str
    errors: tuple[ErrorGroup, ...]
    ask: Section


def error_text(key: str, lang: str = "id") -> str:
    """A catalogue message as the guide prints it: its placeholders replaced by an ellipsis."""
    return _PLACEHOLDER.sub(ELLIPSIS, i18n.text(key, lang))


def error_keys(prefix: str) -> list[str]:
    return i18n.keys(prefix)


def _shots(folder: Path | None, section: str, lang: str) -> tuple[Shot, ...]:
    if folder is None:
        return ()
    out = []
    for stem, where, caption in SCREENSHOTS:
        path = Path(folder) / f"{stem}.png"
        if where == section and path.is_file():
            out.append(Shot(path, t(caption, lang)))
    return tuple(out)


def guide(lang: str = "id", contact: str = "", screenshots: Path | None = None) -> Guide:
    """The guide's content in `lang`, with the screenshots of `screenshots` that exist."""

    def L(key: str, **kw: object) -> str:  # a local shorthand
        return t(key, lang, **kw)

    def steps(part: str, n: int) -> tuple[str, ...]:
        return tuple(L(f"guide.{part}.{i}") for i in range(1, n + 1))

    ask = [L("guide.ask.default")]
    if contact.strip():
        ask.append(L("guide.ask.contact", contact=contact.strip()))
    return Guide(
        lang=lang,
        title=L("guide.title"),
        subtitle=L("guide.subtitle"),
        intro=L("guide.intro"),
        sections=(
            Section(L("guide.fill.title"), items=steps("fill", 7), shots=_shots(screenshots, "fill", lang)),
            Section(L("guide.read.title"), items=steps("read", 3), shots=_shots(screenshots, "read", lang)),
        ),
        errors_title=L("guide.errors.title"),
        errors_intro=L("guide.errors.intro"),
        errors=tuple(
            ErrorGroup(L(f"guide.errors.{g}"), tuple((k, error_text(k, lang)) for k in error_keys(g)))
            for g in ERROR_GROUPS
        ),
        ask=Section(L("guide.ask.title"), paragraphs=tuple(ask)),
    )


def help_guide(store: Storage, lang: str = "id", screenshots: Path | None = None) -> Guide:
    """The guide with this deployment's help contact (the admin's setting)."""
    return guide(lang, admin.help_contact(store), screenshots)


@dataclass(frozen=True)
class GuidePdf:
    name: str
    pdf: bytes
    pages: int
    images: tuple[str, ...]  # file names of the screenshots embedded


def file_name(lang: str = "id") -> str:
    return (
        f"panduan_indeks_kota_cerdas_{lang}.pdf" if lang == "id" else f"guide_indeks_kota_cerdas_{lang}.pdf"
    )


def build_pdf(g: Guide, made_on: date | None = None) -> GuidePdf:
    """The printable guide (A4, fpdf2, DejaVu Sans like the report card); pure, no store access."""
    from fpdf import FPDF
    from PIL import Image

    from metrics.reportcard import GREY, NAVY, _font_paths, pdf_text, start_pdf

    fonts = _font_paths()

    txt = pdf_text(fonts)

    footer = t("guide.footer", g.lang, date=formatting.long_date(made_on or date.today(), g.lang))

    class Doc(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(family, "", 7.5)
            self.set_text_color(*GREY)
            self.cell(0, 5, txt(footer), align="L")
            self.set_x(-40)
            self.cell(30, 5, txt(t("guide.page", g.lang, n=self.page_no(), total="{nb}")), align="R")
            self.set_text_color(0, 0, 0)

    pdf = Doc(orientation="P", unit="mm", format="A4")
    family = start_pdf(pdf, fonts, txt(g.title))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(16, 16, 16)
    W = 210 - 32
    images: list[str] = []

    def heading(s: str, size: float = 13) -> None:
        pdf.ln(2)
        pdf.set_font(family, "B", size)
        pdf.set_text_color(*NAVY)
        pdf.multi_cell(W, 7, txt(s), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)

    def para(s: str, size: float = 10, indent: float = 0, bullet: str = "") -> None:
        pdf.set_font(family, "", size)
        pdf.set_x(16 + indent)
        if bullet:
            pdf.cell(6, 5.2, txt(bullet))
        pdf.multi_cell(W - indent - (6 if bullet else 0), 5.2, txt(s), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def shot(s: Shot) -> None:
        with Image.open(s.path) as im:
            w_px, h_px = im.size
        w: float = W
        h = w * h_px / max(w_px, 1)
        if h > 170:  # a tall full-page screenshot: fit the page height, keep its proportions
            h, w = 170, 170 * w_px / max(h_px, 1)
        if pdf.get_y() + h + 10 > 297 - 18:
            pdf.add_page()
        pdf.image(str(s.path), x=16 + (W - w) / 2, w=w, h=h)
        pdf.set_font(family, "", 8.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(W, 4.5, txt(s.caption), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)
        images.append(s.path.name)

    pdf.add_page()
    pdf.set_font(family, "B", 18)
    pdf.set_text_color(*NAVY)
    pdf.multi_cell(W, 9, txt(g.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    pdf.multi_cell(W, 6, txt(g.subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    para(g.intro)
    for sec in g.sections:
        heading(sec.title)
        for p in sec.paragraphs:
            para(p)
        for n, item in enumerate(sec.items, 1):
            para(item, indent=2, bullet=f"{n}.")
        for s in sec.shots:
            shot(s)
    heading(g.errors_title)
    para(g.errors_intro)
    for group in g.errors:
        heading(group.title, 11)
        for _key, text in group.messages:
            para(text, size=9, indent=2, bullet="•")
    heading(g.ask.title)
    for p in g.ask.paragraphs:
        para(p)
    pdf.alias_nb_pages()
    data = bytes(pdf.output())
    return GuidePdf(file_name(g.lang), data, pdf.page_no(), tuple(images))


def guide_pdf(
    store: Storage, lang: str = "id", screenshots: Path | None = None, made_on: date | None = None
) -> GuidePdf:
    """The printable guide of this deployment, made now from the catalogue and the screenshots."""
    return build_pdf(help_guide(store, lang, screenshots), made_on)
