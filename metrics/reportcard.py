"""The mayor's report card (rapor): a few printable PDF pages about one city and year.

Why a PDF made here: the report card is what gets printed, signed and filed, so it must be a
self-contained document that says what it is (city, year, framework id, date made) and carries
the same numbers as the dashboard. The numbers come from metrics.views.overview (the overview
page's read-model) and metrics.scoring, so nothing is computed twice; the charts are drawn with
fpdf2's own shapes (no plotting library, no network, no browser).

Pages: 1 summary (index, band, change, completeness, dimension bars); 2 pillars (radar and
table); 3+ the OPD ranking; last the priority indicators and how the index is computed.
Indonesian text needs a Unicode font: DejaVu Sans from the Debian package fonts-dejavu-core is
used when present, else the PDF core font Helvetica with text reduced to Latin-1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from metrics import admin, formatting, scoring, views
from metrics import progress as steps
from metrics.auth import Action, User, require
from metrics.errors import ValidationError
from metrics.i18n import t

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
NAVY = (31, 78, 121)
GREY = (150, 150, 150)
LIGHT = (235, 238, 242)
# band colours by position, lowest first (the same order as the dashboard: red -> green)
BAND_COLOURS = ((214, 96, 77), (244, 165, 130), (166, 217, 106), (26, 150, 65))
MAX_OPD_ROWS = 60  # a city has some 20-40 OPDs; the ranking never spreads over many pages


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


def pdf_text(fonts: tuple[Path, Path] | None):
    """Text as the PDF's fonts can draw it: as it is with DejaVu, Latin-1 approximations without.
    Shared by every PDF the product writes (report card, overdue list, guide)."""

    def txt(s: object) -> str:
        s = "" if s is None else str(s)
        return s if fonts else s.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    return txt


def start_pdf(pdf, fonts: tuple[Path, Path] | None, title: str) -> str:
    """Register the fonts and the document's metadata on `pdf`; returns the font family to use."""
    pdf.set_title(title)
    pdf.set_author("Indeks Kota Cerdas")
    pdf.set_creator("Indeks Kota Cerdas")
    if not fonts:
        return "Helvetica"
    pdf.add_font("DejaVu", "", str(fonts[0]))
    pdf.add_font("DejaVu", "B", str(fonts[1]))
    return "DejaVu"


def _band_colour(position: int | None, count: int) -> tuple[int, int, int]:
    if position is None:
        return GREY
    if count <= 1:
        return BAND_COLOURS[-1]
    k = round(position * (len(BAND_COLOURS) - 1) / (count - 1))
    return BAND_COLOURS[max(0, min(k, len(BAND_COLOURS) - 1))]


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
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def file_name(city: str, year: int, lang: str) -> str:
    """The report card's file name: rapor_<city>_<year>_<lang>.pdf."""
    return f"rapor_{city}_{year}_{lang}.pdf"


def build_pdf(
    ov: views.Overview,
    opds: list[tuple[int | None, scoring.OpdScore]],
    lang: str,
    made_on: date,
    signatory: admin.Signatory | None = None,
) -> ReportCard:
    """The PDF of an overview (state "ok") and its ranked OPDs, signed by `signatory`; pure, no store access."""
    from fpdf import FPDF

    fonts = _font_paths()
    L = lambda key, **kw: t(f"rc.{key}", lang, **kw)  # noqa: E731 - a local shorthand for the labels

    txt = pdf_text(fonts)
    made = long_date(made_on, lang)
    footer_text = L("footer", city=ov.city_name, year=ov.year, fw=ov.framework_id, date=made)

    class Doc(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(family, "", 7.5)
            self.set_text_color(*GREY)
            self.cell(0, 5, txt(footer_text), align="L")
            self.set_x(-40)
            self.cell(30, 5, txt(L("page", n=self.page_no(), total="{nb}")), align="R")
            self.set_text_color(0, 0, 0)

    pdf = Doc(orientation="P", unit="mm", format="A4")
    family = start_pdf(pdf, fonts, txt(L("title") + f" {ov.city_name} {ov.year}"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(16, 16, 16)
    W = 210 - 32
    sections: list[str] = []
    scale = ov.scale

    def page(title: str, continued: bool = False) -> None:
        pdf.add_page()
        if not continued:
            sections.append(title)
        pdf.set_fill_color(*NAVY)
        pdf.rect(0, 0, 210, 24, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_xy(16, 6)
        pdf.set_font(family, "B", 15)
        pdf.cell(W, 7, txt(title))
        pdf.set_xy(16, 14)
        pdf.set_font(family, "", 9)
        pdf.cell(W, 5, txt(L("subtitle", city=ov.city_name, year=ov.year, fw=ov.framework_id)))
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(16, 30)

    def heading(s: str) -> None:
        pdf.ln(3)
        pdf.set_font(family, "B", 11.5)
        pdf.set_text_color(*NAVY)
        pdf.cell(W, 7, txt(s), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(family, "", 9)

    def para(s: str, size: float = 9) -> None:
        pdf.set_font(family, "", size)
        pdf.multi_cell(W, 4.6, txt(s), new_x="LMARGIN", new_y="NEXT")

    # ---------------------------------------------------------------- page 1: summary
    page(L("title"))
    top = pdf.get_y()
    band = ov.band
    colour = _band_colour(band.position if band else None, band.count if band else 1)
    pdf.set_fill_color(*LIGHT)
    pdf.rect(16, top, 84, 44, style="F")
    pdf.set_xy(20, top + 3)
    pdf.set_font(family, "", 9)
    pdf.cell(76, 5, txt(L("index", hi=scale.max)))
    pdf.set_xy(20, top + 9)
    pdf.set_font(family, "B", 32)
    pdf.cell(76, 14, txt(_num(ov.index, lang)))
    pdf.set_fill_color(*colour)
    pdf.rect(20, top + 26, 72, 7, style="F")
    pdf.set_xy(20, top + 26)
    pdf.set_font(family, "B", 10)
    pdf.cell(72, 7, txt(L("band", band=band.label if band else "–")), align="C")
    pdf.set_xy(20, top + 35)
    pdf.set_font(family, "", 9)
    if ov.prev_year is not None:
        pdf.cell(
            76,
            5,
            txt(L("change", delta=_delta(ov.delta, lang), year=ov.prev_year, prev=_num(ov.prev_index, lang))),
        )
    else:
        pdf.cell(76, 5, txt(L("no_prev", year=ov.year - 1)))

    facts = [
        (L("completeness"), _pct(ov.completeness, lang), L("answered", answered=ov.answered, pairs=ov.pairs)),
        (L("missing"), f"{ov.missing} / {ov.indicators}", L("missing_note")),
        (L("verified"), str(ov.verified), L("verified_note")),
    ]
    y = top
    for label, value, note in facts:
        pdf.set_fill_color(*LIGHT)
        pdf.rect(104, y, W - 88, 13.3, style="F")
        pdf.set_xy(107, y + 1.5)
        pdf.set_font(family, "", 8.5)
        pdf.cell(50, 4.5, txt(label))
        pdf.set_xy(107, y + 6.5)
        pdf.set_font(family, "B", 12)
        pdf.cell(22, 5.5, txt(value))
        pdf.set_font(family, "", 7.5)
        pdf.set_text_color(90, 90, 90)
        note_x, note_w = pdf.get_x(), 104 + (W - 88) - pdf.get_x() - 2
        lines = pdf.multi_cell(note_w, 3.3, txt(note), dry_run=True, output="LINES")
        if len(lines) > 2:
            lines = [lines[0], _fit(pdf, " ".join(lines[1:]), note_w - 2, txt("…"))]
        for n, line in enumerate(lines):
            pdf.set_xy(note_x, y + (6.5 if len(lines) == 1 else 5.2) + n * 3.3)
            pdf.cell(note_w, 3.3 if len(lines) > 1 else 5.5, line)
        pdf.set_text_color(0, 0, 0)
        y += 15.3
    pdf.set_xy(16, top + 50)
    if ov.framework_changed:
        pdf.set_font(family, "", 7.5)
        pdf.set_text_color(120, 70, 0)
        pdf.multi_cell(
            W,
            3.8,
            txt(L("framework_changed", before=ov.prev_framework_id, after=ov.framework_id)),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(0, 0, 0)

    # the city's rank among the cities with data: what a mayor asks first after the index
    if ov.ranks:
        heading(L("rank_title"))
        pdf.set_font(family, "B", 10)
        parts = [
            L(f"rank_{r.scope}", group=r.group, rank=r.rank if r.rank is not None else "–", of=r.of)
            for r in ov.ranks
        ]
        pdf.multi_cell(W, 5.5, txt("   ·   ".join(parts)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)

    # the scale with its bands and the index marked on it
    heading(L("scale_title"))
    y0 = pdf.get_y() + 1
    span = scale.max - scale.min
    for b in scale.bands:
        x0 = 16 + W * (b.min - scale.min) / span
        x1 = 16 + W * (b.max - scale.min) / span
        pdf.set_fill_color(*_band_colour(b.position, b.count))
        pdf.rect(x0, y0, x1 - x0, 6, style="F")
        pdf.set_xy(x0, y0 + 6.5)
        pdf.set_font(family, "", 7.5)
        pdf.cell(x1 - x0, 4, txt(f"{b.label} ({_num(b.min, lang, 1)}–{_num(b.max, lang, 1)})"), align="C")
    for v, style in ((ov.prev_index, "prev"), (ov.index, "now")):
        if v is None:
            continue
        x = 16 + W * (v - scale.min) / span
        pdf.set_draw_color(*((0, 0, 0) if style == "now" else (90, 90, 90)))
        pdf.set_line_width(0.9 if style == "now" else 0.4)
        pdf.line(x, y0 - 2.5, x, y0 + 8.5)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(16, y0 + 12)
    pdf.set_font(family, "", 7.5)
    pdf.cell(
        W, 4, txt(L("scale_legend", year=ov.year, prev=ov.prev_year or "–")), new_x="LMARGIN", new_y="NEXT"
    )

    # dimension bars: this year (band colour) and last year (thin grey) on the 0..max axis
    heading(L("dimensions"))
    label_w, bar_w = 52, W - 52 - 14
    for d in ov.dimensions.to_dict("records"):
        y = pdf.get_y() + 1
        v, p = _clean(d["value"]), _clean(d["prev"])
        pdf.set_xy(16, y)
        pdf.set_font(family, "", 8.5)
        weight = formatting.plain(d["weight"], lang)
        pdf.cell(label_w, 6, _fit(pdf, txt(f"{d['name']} ({L('weight')} {weight})"), label_w - 2, txt("…")))
        pdf.set_fill_color(*LIGHT)
        pdf.rect(16 + label_w, y, bar_w, 6, style="F")
        if v is not None:
            b = scale.band(v) if scale is not None else None
            pdf.set_fill_color(*_band_colour(b.position if b else None, b.count if b else 1))
            pdf.rect(16 + label_w, y, bar_w * (v - scale.min) / span, 4.2, style="F")
        if p is not None:
            pdf.set_fill_color(110, 110, 110)
            pdf.rect(16 + label_w, y + 4.6, bar_w * (p - scale.min) / span, 1.2, style="F")
        pdf.set_xy(16 + label_w + bar_w + 1, y)
        pdf.set_font(family, "B", 8.5)
        pdf.cell(13, 6, txt(_num(v, lang)), align="R")
        pdf.set_y(y + 7.5)
    # axis ticks
    y = pdf.get_y()
    pdf.set_font(family, "", 7)
    for k in range(scale.min, scale.max + 1):
        x = 16 + label_w + bar_w * (k - scale.min) / span
        pdf.set_xy(x - 5, y)
        pdf.cell(10, 4, str(k), align="C")
    pdf.set_xy(16, y + 5)
    pdf.set_font(family, "", 7.5)
    pdf.cell(
        W, 4, txt(L("bars_legend", year=ov.year, prev=ov.prev_year or "–")), new_x="LMARGIN", new_y="NEXT"
    )

    # ---------------------------------------------------------------- page 2: pillars
    page(L("pillars_title"))
    pillars = ov.pillars.to_dict("records")
    n = len(pillars)
    cx, cy, radius = 105, pdf.get_y() + 62, 52
    if n >= 3:

        def point(k: int, v: float) -> tuple[float, float]:
            ang = -math.pi / 2 + 2 * math.pi * k / n
            r = radius * (v - scale.min) / span
            return cx + r * math.cos(ang), cy + r * math.sin(ang)

        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.2)
        for ring in range(scale.min + 1, scale.max + 1):
            pdf.polygon([point(k, ring) for k in range(n)], style="D")
            pdf.set_font(family, "", 6.5)
            pdf.set_text_color(*GREY)
            x, y = point(0, ring)
            pdf.text(x + 1, y + 1, str(ring))
            pdf.set_text_color(0, 0, 0)
        for k in range(n):
            x, y = point(k, scale.max)
            pdf.line(cx, cy, x, y)
        prev_pts = [point(k, _clean(p["prev"]) or scale.min) for k, p in enumerate(pillars)]
        now_pts = [point(k, _clean(p["value"]) or scale.min) for k, p in enumerate(pillars)]
        if ov.prev_year is not None:
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
        pdf.set_font(family, "B", 8)
        for k, p in enumerate(pillars):
            ang = -math.pi / 2 + 2 * math.pi * k / n
            x = cx + (radius + 9) * math.cos(ang)
            y = cy + (radius + 7) * math.sin(ang)
            pdf.set_xy(x - 22, y - 3)
            pdf.cell(44, 4, txt(f"{p['code']} {_num(_clean(p['value']), lang)}"), align="C")
    pdf.set_xy(16, cy + radius + 14)
    pdf.set_font(family, "", 7.5)
    pdf.cell(
        W, 4, txt(L("radar_legend", year=ov.year, prev=ov.prev_year or "–")), new_x="LMARGIN", new_y="NEXT"
    )
    heading(L("pillars_table"))
    cols = [
        (L("col_code"), 18, "L"),
        (L("col_pillar"), 86, "L"),
        (str(ov.year), 24, "R"),
        (str(ov.prev_year or "–"), 24, "R"),
        (L("col_change"), 26, "R"),
    ]
    rows = [
        [
            p["code"],
            p["name"],
            _num(_clean(p["value"]), lang),
            _num(_clean(p["prev"]), lang),
            _delta(
                None
                if _clean(p["value"]) is None or _clean(p["prev"]) is None
                else _clean(p["value"]) - _clean(p["prev"]),
                lang,
            ),
        ]
        for p in pillars
    ]
    _table(pdf, family, txt, cols, rows, new_page=lambda: page(L("pillars_title"), continued=True))

    # ---------------------------------------------------------------- page 3: OPD ranking
    page(L("opds_title"))
    para(L("opds_note"), 8.5)
    pdf.ln(1)
    cols = [
        (L("col_rank"), 11, "R"),
        (L("col_opd"), 95, "L"),
        (L("col_index"), 17, "R"),
        ("", 30, "L"),
        (L("col_completeness"), 25, "R"),
    ]
    rows = []
    bars = []
    for rank, o in opds[:MAX_OPD_ROWS]:
        rows.append([str(rank) if rank else "–", o.name, _num(o.index, lang), "", _pct(o.completeness, lang)])
        bars.append(o.index)
    _table(
        pdf,
        family,
        txt,
        cols,
        rows,
        bars=(3, bars, scale),
        new_page=lambda: page(L("opds_title"), continued=True),
    )
    if len(opds) > MAX_OPD_ROWS:
        para(L("opds_more", n=len(opds) - MAX_OPD_ROWS), 8)

    # ---------------------------------------------------------------- last page: priorities and method
    page(L("priorities_title"))
    para(L("priorities_note"), 8.5)
    pdf.ln(1)
    # who answers for each priority in the city, and what the rubric asks at the next level
    cols = [
        (L("col_code"), 15, "L"),
        (L("col_indicator"), 40, "L"),
        (L("col_opds"), 38, "L"),
        (L("col_level"), 12, "R"),
        (L("col_gain"), 16, "R"),
        (L("col_next"), 57, "L"),
    ]
    rows = [
        [
            p["code"],
            p["name"],
            ", ".join(p["opds"]) or "–",
            _num(_clean(p["level"]), lang, 1),
            "+" + _num(_clean(p["gain"]), lang, 3),
            f"{p['next_level']}: {p['next_rubric']}",
        ]
        for p in ov.priorities.to_dict("records")
    ]
    if rows:
        _table(
            pdf,
            family,
            txt,
            cols,
            rows,
            new_page=lambda: page(L("priorities_title"), continued=True),
            max_lines=6,
        )
    else:
        para(L("no_priorities"))
    heading(L("method_title"))
    para(L("method", lo=scale.min, hi=scale.max))
    para(L("missing_rule_zero" if scale.missing_rule == "zero" else "missing_rule_exclude", lo=scale.min))
    pdf.ln(2)
    para(L("made", date=made, fw=ov.framework_id, name=ov.framework_name), 8)
    _signature(
        pdf, family, txt, W, L("sign_place_date", city=ov.city_name, date=made), signatory, L("sign_unnamed")
    )

    data = bytes(pdf.output())
    name = file_name(ov.city_code, ov.year, lang)
    return ReportCard(name, data, pdf.page_no(), tuple(sections), fonts is not None)


def _signature(
    pdf, family: str, txt, width: float, place_date: str, signatory: admin.Signatory | None, unnamed: str
) -> None:
    """The signature block at the foot of the card: place and date, position, room to sign, name."""
    block_w, block_h = 80, 42
    if pdf.get_y() + block_h > pdf.h - pdf.b_margin:
        pdf.add_page()
    x = pdf.l_margin + width - block_w
    pdf.ln(6)
    y = pdf.get_y()
    pdf.set_font(family, "", 9.5)
    lines = [place_date, signatory.position if signatory and signatory.position else ""]
    for n, line in enumerate(lines):
        pdf.set_xy(x, y + n * 5)
        pdf.cell(block_w, 5, txt(line), align="C")
    pdf.set_xy(x, y + 30)
    if signatory and signatory.name:
        pdf.set_font(family, "B", 10)
        pdf.cell(block_w, 5, txt(signatory.name), align="C")
        pdf.line(x + 10, y + 35.5, x + block_w - 10, y + 35.5)
    else:
        pdf.set_font(family, "", 7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(block_w, 3.6, txt(unnamed), align="C")
        pdf.set_text_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, y + block_h)


def _table(pdf, family: str, txt, cols, rows, bars=None, new_page=None, max_lines: int = 3) -> None:
    """A striped table whose text wraps (up to `max_lines` lines, then an ellipsis), with its header
    repeated on a continuation page; `bars` = (column, values, scale) draws an index bar there."""
    ell = txt("…")  # "..." under the Latin-1 core font
    line_h, pad = 4.2, 1.0

    def head() -> None:
        pdf.set_font(family, "B", 8.5)
        pdf.set_fill_color(*NAVY)
        pdf.set_text_color(255, 255, 255)
        for title, w, align in cols:
            pdf.cell(w, 6.5, txt(title), align=align, fill=True)
        pdf.ln(6.5)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(family, "", 8.5)

    head()
    for k, r in enumerate(rows):
        cells = []
        for (_, w, _), v in zip(cols, r):
            lines = pdf.multi_cell(w, line_h, txt(v), dry_run=True, output="LINES") or [""]
            if len(lines) > max_lines:
                lines = lines[: max_lines - 1] + [_fit(pdf, " ".join(lines[max_lines - 1 :]), w - 2, ell)]
            cells.append(lines)
        row_h = max(len(c) for c in cells) * line_h + 2 * pad
        if pdf.get_y() + row_h > pdf.h - pdf.b_margin - 2:
            if new_page is not None:
                new_page()
            else:
                pdf.add_page()
            head()
        y = pdf.get_y()
        x = pdf.l_margin
        if k % 2 == 0:
            pdf.set_fill_color(*LIGHT)
            pdf.rect(x, y, sum(w for _, w, _ in cols), row_h, style="F")
        for (_, w, align), lines in zip(cols, cells):
            for n, line in enumerate(lines):
                pdf.set_xy(x, y + pad + n * line_h)
                pdf.cell(w, line_h, line, align=align)
            x += w
        if bars is not None:
            col, values, scale = bars
            v = values[k]
            bx = pdf.l_margin + sum(w for _, w, _ in cols[:col])
            bw = cols[col][1] - 3
            if v is not None:
                pdf.set_fill_color(*NAVY)
                pdf.rect(
                    bx + 1,
                    y + row_h / 2 - 1.2,
                    bw * (v - scale.min) / (scale.max - scale.min),
                    2.4,
                    style="F",
                )
        pdf.set_xy(pdf.l_margin, y + row_h)
    pdf.set_x(pdf.l_margin)


def _fit(pdf, text: str, width: float, ell: str) -> str:
    """`text` shortened with an ellipsis so that it fits on one line of `width` mm."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + ell) > width:
        text = text[:-1]
    return text.rstrip() + ell


def preview(store, city: str | None, year: int | None, lang: str = "id", *, user: User) -> views.Overview:
    """What the report page shows before a download: the overview, for those who may export it.

    Refusing here (not only when a file is made) keeps the report page closed to roles without
    EXPORT even when the page is reached without the router.
    """
    require(user, Action.EXPORT, city)
    return views.overview(store, city, year, lang, user=user)


def report_card(
    store,
    user: User,
    city: str,
    year: int,
    lang: str = "id",
    made_on: date | None = None,
    progress: steps.Progress | None = None,
) -> ReportCard:
    """The city's report card PDF for `year`, for those who may export its results. Audited.
    `progress` hears of the read, the OPD ranking, the drawing and the audit row."""
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
    steps.report(progress, "progress.rc_draw", 0.5)
    card = build_pdf(ov, ranked, lang, made_on or date.today(), admin.signatory(store, city))
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
