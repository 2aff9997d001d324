"""The mayor's report card (rapor): a few printable PDF pages about one city and year.

Why a PDF made here: the report card is what gets printed, signed and filed, so it must be a
self-contained document that says what it is (city, year, framework id, date made) and carries
the same numbers as the dashboard. The numbers come from metrics.views.overview (the overview
page's read-model) and metrics.scoring, so nothing is computed twice; the charts are drawn with
fpdf2's own shapes (no plotting library, no network, no browser).

One function per page: `summary_page` (index, band, change, completeness, rank, the scale,
dimension bars), `pillars_page` (radar and table), `opds_page` (the OPD ranking, continued on as
many pages as it needs), `programmes_page` (each dimension's method, the programmes per pillar with
this year's status and budget, the survey figures per programme; only when the framework computes a
dimension by a method or the city has programmes that year), `priorities_page` (the priority indicators, how the index is computed and
the signature block). Tables are fpdf2's `table()`: it wraps cells, breaks pages and repeats the
header; every page, a continuation too, carries the banner through `_Doc.header`.
Indonesian text needs a Unicode font: DejaVu Sans from the Debian package fonts-dejavu-core is
used when present, else the PDF core font Helvetica with text reduced to Latin-1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpdf import FPDF, FontFace
from fpdf.util import Padding

from metrics import admin, exports, formatting, scoring, targets, views
from metrics import progress as steps
from metrics.auth import Action, User, require
from metrics.errors import ValidationError
from metrics.i18n import t

if TYPE_CHECKING:
    from metrics.storage import Storage

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
RGB = tuple[int, int, int]
NAVY: RGB = (31, 78, 121)
GREY: RGB = (150, 150, 150)
LIGHT: RGB = (235, 238, 242)
# band colours by position, lowest first (the same order as the dashboard: red -> green)
BAND_COLOURS: tuple[RGB, ...] = ((214, 96, 77), (244, 165, 130), (166, 217, 106), (26, 150, 65))
MAX_OPD_ROWS = 60  # a city has some 20-40 OPDs; the ranking never spreads over many pages
MARGIN, PAGE_W = 16.0, 210.0
WIDTH = PAGE_W - 2 * MARGIN  # the text width of an A4 page
BODY_TOP = 30.0  # below the banner

Text = Callable[[object], str]


@dataclass(frozen=True)
class ReportCard:
    name: str
    pdf: bytes
    pages: int
    sections: tuple[str, ...]  # page titles, in order
    unicode_font: bool


def _font_paths() -> tuple[Path, Path] | None:
    for d in FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "≥": ">=",
        "≤": "<=",
        "→": "->",
        "…": "...",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "÷": "/",
        "×": "x",
        "Δ": "d",
    }
)


def pdf_text(fonts: tuple[Path, Path] | None) -> Text:
    """Text as the PDF's fonts can draw it: as it is with DejaVu, Latin-1 approximations without.
    Shared by every PDF the product writes (report card, overdue list, guide)."""

    def txt(s: object) -> str:
        s = "" if s is None else str(s)
        return s if fonts else s.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    return txt


def start_pdf(pdf: FPDF, fonts: tuple[Path, Path] | None, title: str) -> str:
    """Register the fonts and the document's metadata on `pdf`; returns the font family to use."""
    pdf.set_title(title)
    pdf.set_author("Indeks Kota Cerdas")
    pdf.set_creator("Indeks Kota Cerdas")
    if not fonts:
        return "Helvetica"
    pdf.add_font("DejaVu", "", str(fonts[0]))
    pdf.add_font("DejaVu", "B", str(fonts[1]))
    return "DejaVu"


def _band_colour(position: int | None, count: int) -> RGB:
    if position is None:
        return GREY
    if count <= 1:
        return BAND_COLOURS[-1]
    k = round(position * (len(BAND_COLOURS) - 1) / (count - 1))
    return BAND_COLOURS[max(0, min(k, len(BAND_COLOURS) - 1))]


def _colour_of(band: views.BandView | None) -> RGB:
    return _band_colour(band.position if band else None, band.count if band else 1)


# the date a signed document carries ('5 Desember 2026'): metrics.formatting, kept here by name for
# the other PDFs that import it from this module
long_date = formatting.long_date


def _num(v: float | None, lang: str, digits: int = 2) -> str:
    return formatting.number(v, lang, digits)


def _pct(v: float | None, lang: str) -> str:
    return formatting.percent(v, lang)


def _delta(v: float | None, lang: str) -> str:
    return formatting.signed(v, lang)


def _clean(v: object) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)  # type: ignore[arg-type]  # numpy and pandas scalars, as the frames hold them
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def file_name(city: str, year: int, lang: str) -> str:
    """The report card's file name: rapor_<city>_<year>_<lang>.pdf."""
    return f"rapor_{city}_{year}_{lang}.pdf"


# --------------------------------------------------------------------------- the document


class _Doc(FPDF):
    """An A4 page with the navy banner (title and subtitle) on top and the footer below."""

    def __init__(self, family: str, txt: Text, subtitle: str, footer_text: str, page_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.family, self.txt = family, txt
        self.subtitle, self.footer_text, self.page_label = subtitle, footer_text, page_label
        self.banner = ""  # the title of the pages being written

    def header(self) -> None:
        self.set_fill_color(*NAVY)
        self.rect(0, 0, PAGE_W, 24, style="F")
        self.set_text_color(255, 255, 255)
        self.set_xy(MARGIN, 6)
        self.set_font(self.family, "B", 15)
        self.cell(WIDTH, 7, self.txt(self.banner))
        self.set_xy(MARGIN, 14)
        self.set_font(self.family, "", 9)
        self.cell(WIDTH, 5, self.txt(self.subtitle))
        self.set_text_color(0, 0, 0)
        self.set_xy(MARGIN, BODY_TOP)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 7.5)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.txt(self.footer_text), align="L")
        self.set_x(-40)
        self.cell(30, 5, self.txt(self.page_label.format(n=self.page_no(), total="{nb}")), align="R")
        self.set_text_color(0, 0, 0)


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # mm; a table's columns add up to WIDTH
    align: str = "LEFT"


@dataclass
class _Card:
    """What every page function draws with: the document, the overview and the label lookup."""

    pdf: _Doc
    ov: views.Overview
    scale: views.Scale
    lang: str
    sections: list[str] = field(default_factory=list)

    @property
    def txt(self) -> Text:
        return self.pdf.txt

    @property
    def family(self) -> str:
        return self.pdf.family

    @property
    def prev_year(self) -> int | str:
        return self.ov.prev_year or "–"

    def label(self, key: str, **params: object) -> str:
        return t(f"rc.{key}", self.lang, **params)

    def page(self, title: str) -> None:
        """A new titled page; its title is a section of the card (continuations repeat the banner)."""
        self.sections.append(title)
        self.pdf.banner = title
        self.pdf.add_page()

    def heading(self, s: str) -> None:
        pdf = self.pdf
        pdf.ln(3)
        pdf.set_font(self.family, "B", 11.5)
        pdf.set_text_color(*NAVY)
        pdf.cell(WIDTH, 7, self.txt(s), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(self.family, "", 9)

    def para(self, s: str, size: float = 9) -> None:
        self.pdf.set_font(self.family, "", size)
        self.pdf.multi_cell(WIDTH, 4.6, self.txt(s), new_x="LMARGIN", new_y="NEXT")

    def small(self, s: str) -> None:
        """A one-line legend under a chart."""
        self.pdf.set_font(self.family, "", 7.5)
        self.pdf.cell(WIDTH, 4, self.txt(s), new_x="LMARGIN", new_y="NEXT")

    def table(
        self, cols: Sequence[Column], rows: Sequence[Sequence[str | float | None]], max_lines: int = 3
    ) -> None:
        """A striped table with a navy header, repeated on a continuation page. Text wraps up to
        `max_lines` lines, then ends with an ellipsis. A float (or None) cell is an index drawn as
        a bar on the scale."""
        pdf = self.pdf
        pdf.set_font(self.family, "", 8.5)
        pdf.set_fill_color(255, 255, 255)  # the unstriped rows' fill: the table takes the current one
        pad = 1.0
        heads = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=NAVY)
        with pdf.table(
            width=WIDTH,
            col_widths=tuple(c.width for c in cols),
            text_align=tuple(c.align for c in cols),
            borders_layout="NONE",
            cell_fill_mode="ROWS",
            cell_fill_color=LIGHT,
            headings_style=heads,
            line_height=4.2,
            padding=(pad, pad),
            v_align="TOP",
        ) as table:
            table.row([self.txt(c.title) for c in cols])
            for values in rows:
                row = table.row()
                for c, v in zip(cols, values):
                    if isinstance(v, str):
                        row.cell(_clip(pdf, self.txt(v), c.width, pad, max_lines, self.txt("…")))
                    elif v is None or math.isnan(v):
                        row.cell("")
                    else:
                        row.cell(img=_bar(v, self.scale), v_align="MIDDLE")
        pdf.set_x(pdf.l_margin)


def _clip(pdf: FPDF, text: str, width: float, pad: float, max_lines: int, ell: str) -> str:
    """`text` as the lines it wraps to in a cell `width` mm wide with `pad` mm each side, at most
    `max_lines`, the last one cut with `ell`: the table's own wrapping, measured beforehand."""
    lines = _wrap(pdf, text, width, 4.2, Padding(0, pad, 0, pad)) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _fit(pdf, " ".join(lines[max_lines - 1 :]), width - 2 * pad, ell)]
    return "\n".join(lines)


NO_PADDING = Padding()  # the cell margin applies


def _wrap(pdf: FPDF, text: str, width: float, line_h: float, padding: Padding = NO_PADDING) -> list[str]:
    """The lines `text` wraps to in a cell `width` mm wide, in the current font (nothing drawn)."""
    lines = pdf.multi_cell(width, line_h, text, dry_run=True, output="LINES", padding=padding)
    assert isinstance(lines, list)
    return lines


def _bar(value: float, scale: views.Scale) -> BytesIO:
    """A navy bar as long as `value` is along the scale, as an SVG the table scales to its cell."""
    share = max(0.0, min(1.0, (value - scale.min) / (scale.max - scale.min)))
    r, g, b = NAVY
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="8.6" viewBox="0 0 100 8.6">'
        f'<rect x="0" y="0" width="{100 * share:.3f}" height="8.6" fill="rgb({r},{g},{b})"/></svg>'
    )
    return BytesIO(svg.encode())


def _fit(pdf: FPDF, text: str, width: float, ell: str) -> str:
    """`text` shortened with an ellipsis so that it fits on one line of `width` mm."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + ell) > width:
        text = text[:-1]
    return text.rstrip() + ell


# --------------------------------------------------------------------------- page 1: summary


def summary_page(c: _Card) -> None:
    """The index and its band, last year's change, the facts beside it, rank, scale, dimensions."""
    c.page(c.label("title"))
    top = c.pdf.get_y()
    _index_box(c, top)
    _facts(c, top)
    c.pdf.set_xy(MARGIN, top + 50)
    if c.ov.framework_changed:
        c.pdf.set_font(c.family, "", 7.5)
        c.pdf.set_text_color(120, 70, 0)
        text = c.label("framework_changed", before=c.ov.prev_framework_id, after=c.ov.framework_id)
        c.pdf.multi_cell(WIDTH, 3.8, c.txt(text), new_x="LMARGIN", new_y="NEXT")
        c.pdf.set_text_color(0, 0, 0)
    _ranks(c)
    _scale_strip(c)
    _dimension_bars(c)


def _index_box(c: _Card, top: float) -> None:
    pdf, ov, lang = c.pdf, c.ov, c.lang
    pdf.set_fill_color(*LIGHT)
    pdf.rect(MARGIN, top, 84, 44, style="F")
    pdf.set_xy(20, top + 3)
    pdf.set_font(c.family, "", 9)
    pdf.cell(76, 5, c.txt(c.label("index", hi=c.scale.max)))
    pdf.set_xy(20, top + 9)
    pdf.set_font(c.family, "B", 32)
    pdf.cell(76, 14, c.txt(_num(ov.index, lang)))
    pdf.set_fill_color(*_colour_of(ov.band))
    pdf.rect(20, top + 26, 72, 7, style="F")
    pdf.set_xy(20, top + 26)
    pdf.set_font(c.family, "B", 10)
    pdf.cell(72, 7, c.txt(c.label("band", band=ov.band.label if ov.band else "–")), align="C")
    pdf.set_xy(20, top + 35)
    pdf.set_font(c.family, "", 9)
    if ov.prev_year is not None:
        change = c.label(
            "change", delta=_delta(ov.delta, lang), year=ov.prev_year, prev=_num(ov.prev_index, lang)
        )
    else:
        change = c.label("no_prev", year=(ov.year or 0) - 1)
    pdf.cell(76, 5, c.txt(change))


def _facts(c: _Card, top: float) -> None:
    """Completeness, missing data and verified levels: three boxes beside the index."""
    pdf, ov = c.pdf, c.ov
    facts = [
        (
            c.label("completeness"),
            _pct(ov.completeness, c.lang),
            c.label("answered", answered=ov.answered, pairs=ov.pairs),
        ),
        (c.label("missing"), f"{ov.missing} / {ov.indicators}", c.label("missing_note")),
        (c.label("verified"), str(ov.verified), c.label("verified_note")),
    ]
    x0, box_w = 104.0, WIDTH - 88
    for n, (label, value, note) in enumerate(facts):
        y = top + n * 15.3
        pdf.set_fill_color(*LIGHT)
        pdf.rect(x0, y, box_w, 13.3, style="F")
        pdf.set_xy(x0 + 3, y + 1.5)
        pdf.set_font(c.family, "", 8.5)
        pdf.cell(50, 4.5, c.txt(label))
        pdf.set_xy(x0 + 3, y + 6.5)
        pdf.set_font(c.family, "B", 12)
        pdf.cell(22, 5.5, c.txt(value))
        pdf.set_font(c.family, "", 7.5)
        pdf.set_text_color(90, 90, 90)
        note_x = pdf.get_x()
        note_w = x0 + box_w - note_x - 2
        lines = _wrap(pdf, c.txt(note), note_w, 3.3)
        if len(lines) > 2:
            lines = [lines[0], _fit(pdf, " ".join(lines[1:]), note_w - 2, c.txt("…"))]
        for k, line in enumerate(lines):
            pdf.set_xy(note_x, y + (6.5 if len(lines) == 1 else 5.2) + k * 3.3)
            pdf.cell(note_w, 3.3 if len(lines) > 1 else 5.5, line)
        pdf.set_text_color(0, 0, 0)


def _ranks(c: _Card) -> None:
    """The city's rank among the cities with data: what a mayor asks first after the index."""
    if not c.ov.ranks:
        return
    c.heading(c.label("rank_title"))
    parts = [
        c.label(f"rank_{r.scope}", group=r.group, rank=r.rank if r.rank is not None else "–", of=r.of)
        for r in c.ov.ranks
    ]
    c.pdf.set_font(c.family, "B", 10)
    c.pdf.multi_cell(WIDTH, 5.5, c.txt("   ·   ".join(parts)), new_x="LMARGIN", new_y="NEXT")
    c.pdf.set_font(c.family, "", 9)


def _scale_strip(c: _Card) -> None:
    """The scale with its bands, this year's index (thick) and last year's (thin) marked on it."""
    pdf, scale, lang = c.pdf, c.scale, c.lang
    c.heading(c.label("scale_title"))
    y0 = pdf.get_y() + 1
    span = scale.max - scale.min
    for b in scale.bands:
        x0 = MARGIN + WIDTH * (b.min - scale.min) / span
        x1 = MARGIN + WIDTH * (b.max - scale.min) / span
        pdf.set_fill_color(*_band_colour(b.position, b.count))
        pdf.rect(x0, y0, x1 - x0, 6, style="F")
        pdf.set_xy(x0, y0 + 6.5)
        pdf.set_font(c.family, "", 7.5)
        pdf.cell(x1 - x0, 4, c.txt(f"{b.label} ({_num(b.min, lang, 1)}–{_num(b.max, lang, 1)})"), align="C")
    for v, now in ((c.ov.prev_index, False), (c.ov.index, True)):
        if v is None:
            continue
        x = MARGIN + WIDTH * (v - scale.min) / span
        pdf.set_draw_color(*((0, 0, 0) if now else (90, 90, 90)))
        pdf.set_line_width(0.9 if now else 0.4)
        pdf.line(x, y0 - 2.5, x, y0 + 8.5)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(MARGIN, y0 + 12)
    c.small(c.label("scale_legend", year=c.ov.year, prev=c.prev_year))


def _dimension_bars(c: _Card) -> None:
    """This year's value of each dimension (band colour) over last year's (thin grey), 0..max."""
    pdf, scale, lang = c.pdf, c.scale, c.lang
    c.heading(c.label("dimensions"))
    span = scale.max - scale.min
    label_w, bar_w = 52.0, WIDTH - 52 - 14
    for d in c.ov.dimensions.to_dict("records"):
        y = pdf.get_y() + 1
        v, p = _clean(d["value"]), _clean(d["prev"])
        pdf.set_xy(MARGIN, y)
        pdf.set_font(c.family, "", 8.5)
        name = c.txt(f"{d['name']} ({c.label('weight')} {formatting.plain(d['weight'], lang)})")
        pdf.cell(label_w, 6, _fit(pdf, name, label_w - 2, c.txt("…")))
        pdf.set_fill_color(*LIGHT)
        pdf.rect(MARGIN + label_w, y, bar_w, 6, style="F")
        if v is not None:
            pdf.set_fill_color(*_colour_of(scale.band(v)))
            pdf.rect(MARGIN + label_w, y, bar_w * (v - scale.min) / span, 4.2, style="F")
        if p is not None:
            pdf.set_fill_color(110, 110, 110)
            pdf.rect(MARGIN + label_w, y + 4.6, bar_w * (p - scale.min) / span, 1.2, style="F")
        pdf.set_xy(MARGIN + label_w + bar_w + 1, y)
        pdf.set_font(c.family, "B", 8.5)
        pdf.cell(13, 6, c.txt(_num(v, lang)), align="R")
        pdf.set_y(y + 7.5)
    y = pdf.get_y()  # axis ticks
    pdf.set_font(c.family, "", 7)
    for k in range(scale.min, scale.max + 1):
        pdf.set_xy(MARGIN + label_w + bar_w * (k - scale.min) / span - 5, y)
        pdf.cell(10, 4, str(k), align="C")
    pdf.set_xy(MARGIN, y + 5)
    c.small(c.label("bars_legend", year=c.ov.year, prev=c.prev_year))


# --------------------------------------------------------------------------- page 2: pillars


def pillars_page(c: _Card) -> None:
    """The pillars on a radar (this year filled, last year dashed) and in a table with the change."""
    c.page(c.label("pillars_title"))
    pillars = c.ov.pillars.to_dict("records")
    cx, cy, radius = PAGE_W / 2, c.pdf.get_y() + 62, 52.0
    if len(pillars) >= 3:
        _radar(c, pillars, cx, cy, radius)
    c.pdf.set_xy(MARGIN, cy + radius + 14)
    c.small(c.label("radar_legend", year=c.ov.year, prev=c.prev_year))
    c.heading(c.label("pillars_table"))
    cols = [
        Column(c.label("col_code"), 18),
        Column(c.label("col_pillar"), 86),
        Column(str(c.ov.year), 24, "RIGHT"),
        Column(str(c.prev_year), 24, "RIGHT"),
        Column(c.label("col_change"), 26, "RIGHT"),
    ]
    rows = []
    for p in pillars:
        v, prev = _clean(p["value"]), _clean(p["prev"])
        change = None if v is None or prev is None else v - prev
        rows.append([p["code"], p["name"], _num(v, c.lang), _num(prev, c.lang), _delta(change, c.lang)])
    c.table(cols, rows)


def _radar(c: _Card, pillars: list[dict[str, Any]], cx: float, cy: float, radius: float) -> None:
    pdf, scale, n = c.pdf, c.scale, len(pillars)
    span = scale.max - scale.min

    def point(k: int, v: float) -> tuple[float, float]:
        ang = -math.pi / 2 + 2 * math.pi * k / n
        r = radius * (v - scale.min) / span
        return cx + r * math.cos(ang), cy + r * math.sin(ang)

    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.2)
    for ring in range(scale.min + 1, scale.max + 1):
        pdf.polygon([point(k, ring) for k in range(n)], style="D")
        pdf.set_font(c.family, "", 6.5)
        pdf.set_text_color(*GREY)
        x, y = point(0, ring)
        pdf.text(x + 1, y + 1, str(ring))
        pdf.set_text_color(0, 0, 0)
    for k in range(n):
        x, y = point(k, scale.max)
        pdf.line(cx, cy, x, y)
    prev_pts = [point(k, _clean(p["prev"]) or scale.min) for k, p in enumerate(pillars)]
    now_pts = [point(k, _clean(p["value"]) or scale.min) for k, p in enumerate(pillars)]
    if c.ov.prev_year is not None:
        pdf.set_draw_color(110, 110, 110)
        pdf.set_line_width(0.5)
        with pdf.local_context(dash_pattern={"dash": 1.2, "gap": 1.0}):
            pdf.polygon(prev_pts, style="D")
    pdf.set_draw_color(*NAVY)
    pdf.set_fill_color(*NAVY)
    pdf.set_line_width(0.8)
    with pdf.local_context(fill_opacity=0.25):
        pdf.polygon(now_pts, style="DF")
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_font(c.family, "B", 8)
    for k, p in enumerate(pillars):
        ang = -math.pi / 2 + 2 * math.pi * k / n
        x = cx + (radius + 9) * math.cos(ang)
        y = cy + (radius + 7) * math.sin(ang)
        pdf.set_xy(x - 22, y - 3)
        pdf.cell(44, 4, c.txt(f"{p['code']} {_num(_clean(p['value']), c.lang)}"), align="C")


# --------------------------------------------------------------------------- page 3: OPD ranking


def opds_page(c: _Card, opds: Sequence[tuple[int | None, scoring.OpdScore]]) -> None:
    """The OPDs in ranking order with their index as a number and a bar, and their completeness."""
    c.page(c.label("opds_title"))
    c.para(c.label("opds_note"), 8.5)
    c.pdf.ln(1)
    cols = [
        Column(c.label("col_rank"), 11, "RIGHT"),
        Column(c.label("col_opd"), 93),
        Column(c.label("col_index"), 17, "RIGHT"),
        Column("", 30),
        Column(c.label("col_completeness"), 27, "RIGHT"),  # "Completeness" on one line
    ]
    rows = [
        [str(rank) if rank else "–", o.name, _num(o.index, c.lang), o.index, _pct(o.completeness, c.lang)]
        for rank, o in opds[:MAX_OPD_ROWS]
    ]
    c.table(cols, rows)
    if len(opds) > MAX_OPD_ROWS:
        c.para(c.label("opds_more", n=len(opds) - MAX_OPD_ROWS), 8)


# --------------------------------------------------------------------------- programmes and survey


def programmes_page(c: _Card, pl: views.ProgrammeList) -> None:
    """How each dimension is computed; the programmes per pillar with this year's status (stalled
    ones marked) and budget; and each survey dimension's figures per programme."""
    lang, year = c.lang, pl.year
    c.page(c.label("prog_title"))
    c.heading(c.label("prog_dimensions"))
    c.table(
        [
            Column(c.label("col_code"), 26),
            Column(c.label("col_dimension"), 52),
            Column(c.label("col_weight"), 18, "RIGHT"),
            Column(c.label("col_method"), 60),
            Column(c.label("col_value"), 22, "RIGHT"),
        ],
        [
            [
                d["code"],
                d["name"],
                formatting.plain(d["weight"], lang),
                t(f"drill.method.{d['method']}", lang),
                _num(_clean(d["value"]), lang),
            ]
            for d in pl.dimensions.to_dict("records")
        ],
    )
    c.heading(c.label("prog_pillars", year=year))
    if pl.rows.empty:
        c.para(c.label("prog_none"))
    else:
        c.table(
            [
                Column(c.label("col_pillar"), 66),
                Column(c.label("col_programmes"), 22, "RIGHT"),
                Column(c.label("col_running"), 32, "RIGHT"),
                Column(c.label("col_stalled"), 20, "RIGHT"),
                Column(c.label("col_budget"), 38, "RIGHT"),
            ],
            [
                [
                    p["pillar_name"],
                    str(p["programmes"]),
                    str(p["running"]),
                    str(p["stalled"]),
                    _num(p["budget"], lang, 0),
                ]
                for p in pl.pillars.to_dict("records")
            ],
        )
        c.para(c.label("prog_budget_total", year=year, total=_num(pl.budget_total, lang, 0)), 8.5)
        c.heading(c.label("prog_list", year=year))
        c.para(c.label("prog_note"), 8)
        c.pdf.ln(1)
        c.table(
            [
                Column(c.label("col_code"), 18),
                Column(c.label("col_programme"), 40),
                Column(c.label("col_pillar"), 26),
                Column(c.label("col_opd"), 24),
                Column(c.label("col_kind"), 20),
                Column(c.label("col_status", year=year), 24),
                Column(c.label("col_budget"), 26, "RIGHT"),
            ],
            [_programme_cells(c, p) for p in pl.rows.to_dict("records")],
        )
    for m in pl.surveys:
        _survey_table(c, m)


def _programme_cells(c: _Card, p: dict[str, Any]) -> list[str | float | None]:
    status = t(f"overview.pstatus.{p['status']}", c.lang)
    return [
        p["code"],
        p["name"],
        p["pillar_name"],
        p["opd"],
        t(f"overview.kind.{p['kind']}", c.lang),
        c.label("stalled_mark", status=status) if p["stalled"] else status,
        _num(p["budget"], c.lang, 0),
    ]


def _survey_table(c: _Card, m: views.MethodView) -> None:
    """A survey dimension's programmes: respondents, mean answer, impact, and whether it counts."""
    lang = c.lang
    c.heading(c.label("survey_title", name=m.name))
    if m.programmes.empty:
        c.para(c.label("survey_none"))
        return
    c.para(c.label("survey_note", min=m.min_respondents), 8)
    c.pdf.ln(1)
    c.table(
        [
            Column(c.label("col_code"), 20),
            Column(c.label("col_programme"), 54),
            Column(c.label("col_respondents"), 22, "RIGHT"),
            Column(c.label("col_mean"), 22, "RIGHT"),
            Column(c.label("col_impact"), 22, "RIGHT"),
            Column(c.label("col_sufficient"), 38),
        ],
        [
            [
                s["code"],
                s["name"],
                str(s["respondents"]),
                _num(_clean(s["mean"]), lang),
                _num(_clean(s["impact"]), lang),
                s["note"],
            ]
            for s in m.programmes.to_dict("records")
        ],
    )


# --------------------------------------------------------------------------- last page: priorities


def priorities_page(c: _Card, made: str, signatory: admin.Signatory | None) -> None:
    """The indicators that would raise the index most, who answers them and what the rubric asks
    next; then how the index is computed, and the signature block."""
    c.page(c.label("priorities_title"))
    c.para(c.label("priorities_note"), 8.5)
    c.pdf.ln(1)
    cols = [
        Column(c.label("col_code"), 15),
        Column(c.label("col_indicator"), 40),
        Column(c.label("col_opds"), 38),
        Column(c.label("col_level"), 12, "RIGHT"),
        Column(c.label("col_gain"), 18, "RIGHT"),
        Column(c.label("col_next"), 55),
    ]
    rows = [
        [
            p["code"],
            p["name"],
            ", ".join(p["opds"]) or "–",
            _num(_clean(p["level"]), c.lang, 1),
            "+" + _num(_clean(p["gain"]), c.lang, 3),
            f"{p['next_level']}: {p['next_rubric']}",
        ]
        for p in c.ov.priorities.to_dict("records")
    ]
    if rows:
        c.table(cols, rows, max_lines=6)
    else:
        c.para(c.label("no_priorities"))
    lo, hi = c.scale.min, c.scale.max
    c.heading(c.label("method_title"))
    c.para(c.label("method", lo=lo, hi=hi))
    c.para(c.label("missing_rule_zero" if c.scale.missing_rule == "zero" else "missing_rule_exclude", lo=lo))
    if "method" in c.ov.dimensions and (c.ov.dimensions["method"] != "rubric").any():
        c.para(c.label("method_methods"))
    c.pdf.ln(2)
    c.para(c.label("made", date=made, fw=c.ov.framework_id, name=c.ov.framework_name), 8)
    _signature(c, c.label("sign_place_date", city=c.ov.city_name, date=made), signatory)


def _signature(c: _Card, place_date: str, signatory: admin.Signatory | None) -> None:
    """The signature block at the foot of the card: place and date, position, room to sign, name."""
    pdf = c.pdf
    block_w, block_h = 80.0, 42.0
    if pdf.get_y() + block_h > pdf.h - pdf.b_margin:
        pdf.add_page()
    x = pdf.l_margin + WIDTH - block_w
    pdf.ln(6)
    y = pdf.get_y()
    pdf.set_font(c.family, "", 9.5)
    lines = [place_date, signatory.position if signatory and signatory.position else ""]
    for n, line in enumerate(lines):
        pdf.set_xy(x, y + n * 5)
        pdf.cell(block_w, 5, c.txt(line), align="C")
    pdf.set_xy(x, y + 30)
    if signatory and signatory.name:
        pdf.set_font(c.family, "B", 10)
        pdf.cell(block_w, 5, c.txt(signatory.name), align="C")
        pdf.line(x + 10, y + 35.5, x + block_w - 10, y + 35.5)
    else:
        pdf.set_font(c.family, "", 7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(block_w, 3.6, c.txt(c.label("sign_unnamed")), align="C")
        pdf.set_text_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, y + block_h)


# --------------------------------------------------------------------------- the path to a target


def plan_page(c: _Card, plan: targets.Plan) -> None:
    """The path to a target (metrics.targets.Plan): the target, whether it is reachable, the total
    effort, then each OPD's tasks (indicator, from -> to, the rubric text of the level to reach,
    the effort, the index after the task) and the index after each move in plan order."""
    lang = c.lang

    def label(key: str, **params: object) -> str:
        return t(f"target.pdf.{key}", lang, **params)

    c.page(label("title"))
    c.para(
        label("target", target=exports.target_words(plan.target, lang), city=c.ov.city_name, year=plan.year)
    )
    unit = t(f"target.unit.{plan.effort_unit}", lang)
    if plan.reachable:
        c.para(
            label(
                "reachable",
                start=_num(plan.start_index, lang),
                needed=_num(plan.needed_index, lang),
                final=_num(plan.final_index, lang),
                n=len(plan.moves),
                effort=_num(plan.total_effort, lang),
                unit=unit,
            )
        )
    else:
        c.para(label("unreachable", needed=_num(plan.needed_index, lang), best=_num(plan.final_index, lang)))
    for note in (plan.held, *plan.notes, label("solver", solver=plan.solver)):
        if note:
            c.para(note, 8)
    step = {m: n for n, m in enumerate(plan.moves, 1)}
    cols = [
        Column(label("col_step"), 10, "RIGHT"),
        Column(label("col_code"), 20),
        Column(label("col_indicator"), 36),
        Column(label("col_from_to"), 16, "CENTER"),
        Column(label("col_target_text"), 56),
        Column(label("col_effort"), 20, "RIGHT"),
        Column(label("col_index_after"), 20, "RIGHT"),
    ]
    for opd, moves in targets.by_opd(plan, lang).items():
        c.heading(opd)
        c.table(
            cols,
            [
                [
                    str(step[m]),
                    m.code,
                    m.name,
                    f"{_num(m.from_level, lang)} → {m.to_level if m.to_level is not None else '–'}",
                    m.target_text,
                    _num(m.effort, lang),
                    _num(m.index_after, lang),
                ]
                for m in moves
            ],
            max_lines=5,
        )
    if plan.moves:
        c.heading(label("climb"))
        c.table(
            [
                Column(label("col_step"), 10, "RIGHT"),
                Column(label("col_code"), 20),
                Column(label("col_indicator"), 68),
                Column(label("col_index_after"), 20, "RIGHT"),
                Column("", 60),
            ],
            [[label("today"), "", "", _num(plan.start_index, lang), plan.start_index]]
            + [
                [str(n), m.code, m.name, _num(m.index_after, lang), m.index_after]
                for n, m in enumerate(plan.moves, 1)
            ],
            max_lines=1,
        )


# --------------------------------------------------------------------------- the card


def build_pdf(
    ov: views.Overview,
    opds: Sequence[tuple[int | None, scoring.OpdScore]],
    lang: str,
    made_on: date,
    signatory: admin.Signatory | None = None,
    programmes: views.ProgrammeList | None = None,
    plan: targets.Plan | None = None,
) -> ReportCard:
    """The PDF of an overview (state "ok") and its ranked OPDs, signed by `signatory`, with the
    programme page when `programmes` is given and the path to a target when `plan` is; pure, no
    store access."""
    card, made = _card(ov, lang, made_on, t("rc.title", lang))
    summary_page(card)
    pillars_page(card)
    opds_page(card, opds)
    if programmes is not None:
        programmes_page(card, programmes)
    if plan is not None:
        plan_page(card, plan)
    priorities_page(card, made, signatory)
    data = bytes(card.pdf.output())
    name = file_name(ov.city_code or "", ov.year or 0, lang)
    return ReportCard(name, data, card.pdf.page_no(), tuple(card.sections), card.pdf.family != "Helvetica")


def _card(ov: views.Overview, lang: str, made_on: date, title: str) -> tuple[_Card, str]:
    """An empty document with the card's banner, footer and fonts, and the date it is made."""
    assert ov.scale is not None, "an overview in state 'ok' has a scale"
    fonts = _font_paths()
    txt = pdf_text(fonts)
    made = long_date(made_on, lang)

    def label(key: str, **params: object) -> str:
        return t(f"rc.{key}", lang, **params)

    pdf = _Doc(
        "Helvetica",
        txt,
        subtitle=label("subtitle", city=ov.city_name, year=ov.year, fw=ov.framework_id),
        footer_text=label("footer", city=ov.city_name, year=ov.year, fw=ov.framework_id, date=made),
        page_label=label("page", n="{n}", total="{total}"),
    )
    pdf.family = start_pdf(pdf, fonts, txt(title + f" {ov.city_name} {ov.year}"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    return _Card(pdf, ov, ov.scale, lang), made


def _programme_list(
    store: Storage, user: User, city: str, year: int, lang: str
) -> views.ProgrammeList | None:
    """The programme page's content, or None when the card has no such page: the framework
    computes no dimension by a method and the city has no programme that year."""
    pl = views.programme_list(store, city, year, lang, user=user)
    if pl.state != "ok":
        return None
    if pl.rows.empty and (pl.dimensions.empty or (pl.dimensions["method"] == "rubric").all()):
        return None
    return pl


def preview(
    store: Storage, city: str | None, year: int | None, lang: str = "id", *, user: User
) -> views.Overview:
    """What the report page shows before a download: the overview, for those who may export it.

    Refusing here (not only when a file is made) keeps the report page closed to roles without
    EXPORT even when the page is reached without the router.
    """
    require(user, Action.EXPORT, city)
    return views.overview(store, city, year, lang, user=user)


def report_card(
    store: Storage,
    user: User,
    city: str,
    year: int,
    lang: str = "id",
    made_on: date | None = None,
    progress: steps.Progress | None = None,
    target: targets.Target | None = None,
) -> ReportCard:
    """The city's report card PDF for `year`, for those who may export its results. Audited.
    `progress` hears of the read, the OPD ranking, the drawing and the audit row. With `target`,
    the card carries the path to it (metrics.targets.plan: for those who may also read plans)."""
    require(user, Action.EXPORT, city)
    steps.report(progress, "progress.rc_read", 0.0)
    ov = views.overview(store, city, year, lang, user=user)
    if ov.state != "ok":
        raise ValidationError("rc.no_data", city=ov.city_name or city, year=year)
    steps.report(progress, "progress.rc_rank", 0.3)
    opds = scoring.opd_scores(store, year, city)
    ranks = {c: r for c, _, r in scoring.competition_ranks([(o.opd_code, o.index) for o in opds])}
    ranked = sorted(
        ((ranks.get(o.opd_code), o) for o in opds), key=lambda x: (x[0] is None, x[0] or 0, x[1].opd_code)
    )
    pl = _programme_list(store, user, city, year, lang)
    steps.report(progress, "progress.rc_draw", 0.5)
    plan = targets.plan(store, user, city, year, target, lang) if target is not None else None
    card = build_pdf(ov, ranked, lang, made_on or date.today(), admin.signatory(store, city), pl, plan)
    steps.report(progress, "progress.rc_audit", 0.95)
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "export",
            f"reportcard:{year}/{city}",
            None,
            {"format": "pdf", "bytes": len(card.pdf), "pages": card.pages, "lang": lang},
        )
    steps.done(progress)
    return card


def plan_pdf(
    store: Storage,
    user: User,
    city: str,
    year: int,
    target: targets.Target,
    lang: str = "id",
    made_on: date | None = None,
) -> bytes:
    """The path to `target` (metrics.targets.plan, the plan the page shows) as a report-card page
    of its own, with the card's banner and footer; for those who may read the plan (it refuses
    the others first). Audited as an export."""
    plan = targets.plan(store, user, city, year, target, lang)
    ov = views.overview(store, city, year, lang, user=user)
    if ov.state != "ok":
        raise ValidationError("rc.no_data", city=ov.city_name or city, year=year)
    card, _made = _card(ov, lang, made_on or date.today(), t("target.pdf.title", lang))
    plan_page(card, plan)
    data = bytes(card.pdf.output())
    exports.audit_plan_export(store, user, plan, "pdf", data)
    return data
