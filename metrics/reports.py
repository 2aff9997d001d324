"""Exports people open in spreadsheet programs: score tables as XLSX or CSV.

Text that came from uploads (OPD names, evidence, notes) could be crafted to run as a
formula when the export is opened (CSV/formula injection), so every text cell that starts,
after any leading spaces, with =, +, -, @, tab or carriage return is written with a leading
apostrophe, and no formula cell is ever written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from metrics import scoring
from metrics.auth import Action, User, require
from metrics.framework import framework_for_year
from metrics.i18n import pick
from metrics.loaded_frameworks import loaded_frameworks

if TYPE_CHECKING:
    from metrics.storage import Storage

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_like(text: str) -> bool:
    """Would a spreadsheet program read this text as a formula (also after leading spaces)?"""
    return text.lstrip(" ").startswith(DANGEROUS_PREFIXES)


_T = TypeVar("_T")


def neutralise(value: _T) -> _T | str:
    """Make text inert for spreadsheet programs; numbers and None pass through unchanged."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


@dataclass
class TableOut:
    name: str
    header: list[str]
    rows: Sequence[Sequence[object]]  # cells: text, numbers, None


HEADERS = {
    "id": {
        "city_code": "Kode Kota",
        "city": "Kota",
        "province": "Provinsi",
        "category": "Kategori",
        "year": "Tahun",
        "framework": "Kerangka",
        "index": "Indeks",
        "band": "Kategori Kematangan",
        "rank": "Peringkat",
        "completeness": "Kelengkapan (%)",
        "missing": "Indikator Kosong",
        "opd_code": "Kode OPD",
        "opd": "OPD",
        "opd_type": "Jenis OPD",
        "answered": "Dijawab",
        "pairs": "Wajib Dijawab",
        "last_upload": "Unggahan Terakhir",
        "code": "Kode",
        "indicator": "Indikator",
        "dimension": "Dimensi",
        "pillar": "Pilar",
        "weight": "Bobot",
        "level": "Level Efektif",
        "source": "Sumber",
    },
    "en": {
        "city_code": "City code",
        "city": "City",
        "province": "Province",
        "category": "Category",
        "year": "Year",
        "framework": "Framework",
        "index": "Index",
        "band": "Maturity band",
        "rank": "Rank",
        "completeness": "Completeness (%)",
        "missing": "Missing indicators",
        "opd_code": "OPD code",
        "opd": "OPD",
        "opd_type": "OPD type",
        "answered": "Answered",
        "pairs": "Required",
        "last_upload": "Last upload",
        "code": "Code",
        "indicator": "Indicator",
        "dimension": "Dimension",
        "pillar": "Pillar",
        "weight": "Weight",
        "level": "Effective level",
        "source": "Source",
    },
}


def build_tables(store: Storage, year: int, city: str | None = None, lang: str = "id") -> list[TableOut]:
    """The numbers of a year as plain tables: cities, then (for one city) OPDs and indicators."""
    h = HEADERS.get(lang, HEADERS["id"])
    fw = framework_for_year(loaded_frameworks(store), year)
    cities = {c.city_code: c for c in store.cities()}
    all_scores = scoring.score(store, [year])
    scores = [s for s in all_scores if city is None or s.city_code == city]
    ranks = {
        code: rank
        for code, _, rank in scoring.competition_ranks([(s.city_code, s.index) for s in all_scores])
    }
    dim_codes = [d.code for d in fw.dimensions] if fw else []
    pil_codes = [p.code for p in fw.pillars] if fw else []
    city_rows = []
    for s in sorted(scores, key=lambda s: (ranks.get(s.city_code) or 10**9, s.city_code)):
        c = cities.get(s.city_code)
        city_rows.append(
            [
                s.city_code,
                c.name if c else "",
                c.province if c else "",
                c.category if c else "",
                year,
                s.framework_id,
                s.index,
                pick(s.band.label, lang) if s.band else "",
                ranks.get(s.city_code),
                None if s.completeness is None else s.completeness * 100,
                s.missing,
                *[s.dimensions.get(d) for d in dim_codes],
                *[s.pillars.get(p) for p in pil_codes],
            ]
        )
    tables = [
        TableOut(
            "Indeks" if lang == "id" else "Index",
            [
                h["city_code"],
                h["city"],
                h["province"],
                h["category"],
                h["year"],
                h["framework"],
                h["index"],
                h["band"],
                h["rank"],
                h["completeness"],
                h["missing"],
                *dim_codes,
                *pil_codes,
            ],
            city_rows,
        )
    ]
    if city:
        opd_rows = []
        opds = scoring.opd_scores(store, year, city)
        opd_ranks = {c: r for c, _, r in scoring.competition_ranks([(o.opd_code, o.index) for o in opds])}
        for o in sorted(opds, key=lambda o: (opd_ranks.get(o.opd_code) or 10**9, o.opd_code)):
            opd_rows.append(
                [
                    o.opd_code,
                    o.name,
                    o.opd_type,
                    o.index,
                    opd_ranks.get(o.opd_code),
                    None if o.completeness is None else o.completeness * 100,
                    o.answered,
                    o.pairs,
                    str(o.last_upload) if o.last_upload else "",
                ]
            )
        tables.append(
            TableOut(
                "OPD",
                [
                    h["opd_code"],
                    h["opd"],
                    h["opd_type"],
                    h["index"],
                    h["rank"],
                    h["completeness"],
                    h["answered"],
                    h["pairs"],
                    h["last_upload"],
                ],
                opd_rows,
            )
        )
        ind_rows = [
            [
                lv.code,
                pick(lv.name, lang),
                lv.dimension,
                lv.subpillar or lv.pillar,
                lv.weight,
                lv.effective,
                lv.source,
            ]
            for lv in scoring.indicator_levels(store, city, year)
        ]
        tables.append(
            TableOut(
                "Indikator" if lang == "id" else "Indicators",
                [
                    h["code"],
                    h["indicator"],
                    h["dimension"],
                    h["pillar"],
                    h["weight"],
                    h["level"],
                    h["source"],
                ],
                ind_rows,
            )
        )
    return tables


def tables_to_xlsx(tables: list[TableOut]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(neutralise(t.name)[:31])
        ws.append([neutralise(x) for x in t.header])
        for c in ws[1]:
            c.font = Font(bold=True)
        for r in t.rows:
            ws.append([neutralise(x) for x in r])
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":  # belt and braces: never write a formula cell
                    c.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_to_csv(table: TableOut) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([neutralise(x) for x in table.header])
    for r in table.rows:
        w.writerow([neutralise(x) for x in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM so Excel reads UTF-8


def export(store: Storage, user: User, year: int, city: str | None, fmt: str, lang: str = "id") -> bytes:
    """Scores of a year as XLSX (all tables) or CSV (the first table); audited."""
    require(user, Action.EXPORT, city)
    if user.city_code is not None and city is None:
        city = user.city_code
    tables = build_tables(store, year, city, lang)
    data = tables_to_xlsx(tables) if fmt == "xlsx" else table_to_csv(tables[-1] if city else tables[0])
    with store.transaction() as cur:
        store.write_audit(
            cur, user, "export", f"scores:{year}/{city or '*'}", None, {"format": fmt, "bytes": len(data)}
        )
    return data
