"""Read-models of the dashboard's result pages: one function per page, returning what it draws.

Why a module of its own: the pages must stay thin (read the filters, call one function, draw),
and everything a reader relies on (which year is "last year", what counts as missing, how an
indicator's level came about, how to recompute the index by hand) must be testable without
Streamlit. So every number, every table and every formula shown on the read pages is put
together here from the scoring core; the UI only formats and draws it.

Every function takes the Store first and plain, hashable arguments after it (so the dashboard
can cache on them), plus the reading user as the keyword `user`: the core refuses a reader who
may not see results (anonymous while the admin has not published them) with PermissionDenied,
whatever page or script asks. It never raises for missing data, and says why it has nothing to show through
`state`:
    "ok"        there is something to draw
    "empty"     the database has no registry, framework or year yet (first run)
    "no_city"   the chosen city is not in the registry
    "no_data"   the city has no submission, metric or verification for the year

Nothing here writes, so reading a page records nothing and moves no data version: a download
that must be audited goes through `metrics.exports`, which makes it with these functions.

Values keep full precision; rounding to two decimals is the UI's job. Text that came from
spreadsheets (OPD names, evidence, notes) is passed through untouched for the UI to show as
plain text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import pandas as pd

from metrics import admin, formatting, reports, scoring
from metrics.auth import Action, User, can, require
from metrics.errors import ValidationError
from metrics.framework import Dimension, Framework, framework_for_year, highest_band
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.registry import City

if TYPE_CHECKING:
    from metrics.programmes import BoardRow
    from metrics.storage import Storage

_View = TypeVar("_View")  # the page's result type, which says why there is nothing to show

MAX_COMPARE_CITIES = 6
TOP_MOVERS = 10
TOP_PRIORITIES = 5
NA_COLUMNS = ["code", "name", "dimension_name", "pillar_name", "status", "reason"]  # Drilldown.na

# Export headers: the core's report headers plus the ranking-specific columns.
HEADERS: dict[str, dict[str, str]] = {
    "id": {
        **reports.HEADERS["id"],
        "index_prev": "Indeks Tahun Lalu",
        "change": "Perubahan",
        "rank_prev": "Peringkat Tahun Lalu",
        "movement": "Pergerakan Peringkat",
        "framework_changed": "Kerangka Berbeda dari Tahun Lalu",
        "rank_in_selection": "Peringkat dalam Pilihan",
    },
    "en": {
        **reports.HEADERS["en"],
        "index_prev": "Index last year",
        "change": "Change",
        "rank_prev": "Rank last year",
        "movement": "Rank movement",
        "framework_changed": "Framework differs from last year",
        "rank_in_selection": "Rank in selection",
    },
}


# --------------------------------------------------------------------------- shared pieces


@dataclass(frozen=True)
class BandView:
    """One maturity band of the framework, as drawn: [min, max) with its label and position."""

    min: float
    max: float
    label: str
    position: int  # 0 = lowest band
    count: int  # number of bands in the framework (for colouring by position)


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    bands: tuple[BandView, ...]
    missing_rule: str  # "zero": missing indicators count as the scale minimum; "exclude": left out

    def band(self, value: float | None) -> BandView | None:
        return highest_band(self.bands, value)


@dataclass(frozen=True)
class Formula:
    """sum(weight * value) / sum(weight), with every term, so a reader can recompute it."""

    terms: tuple[tuple[str, float, float], ...]  # (label, weight, value)
    numerator: float
    denominator: float
    result: float | None

    def text(self, lang: str = "id", digits: int = 2) -> str:
        """'(0,10×3,29 + 0,20×2,74) ÷ (0,10 + 0,20) = 2,89' (rounded terms, full-precision result),
        with the decimal mark of `lang` (metrics.formatting)."""
        if not self.terms or self.result is None:
            return "–"

        def f(v: float) -> str:
            return formatting.number(v, lang, digits)

        num = " + ".join(f"{f(w)}×{f(v)}" for _, w, v in self.terms)
        den = " + ".join(f(w) for _, w, _ in self.terms)
        return f"({num}) ÷ ({den}) = {f(self.numerator)} ÷ {f(self.denominator)} = {f(self.result)}"


def _formula(terms: list[tuple[str, float, float | None]]) -> Formula:
    kept = tuple((label, float(w), float(v)) for label, w, v in terms if v is not None)
    num = sum(w * v for _, w, v in kept)
    den = sum(w for _, w, _ in kept)
    return Formula(kept, num, den, (num / den) if den > 0 else None)


def _change(before: float | None, after: float | None) -> float | None:
    """after - before, or None when either is missing."""
    return after - before if after is not None and before is not None else None


def _band_label(fw: Framework, index: float | None, lang: str) -> str:
    """The label of the band `index` falls in ('' when none: no index)."""
    band = fw.band(index)
    return pick(band.label if band else None, lang)


def _scale(fw: Framework, lang: str) -> Scale:
    bands = []
    for n, b in enumerate(fw.bands):
        upper = fw.bands[n + 1].min if n + 1 < len(fw.bands) else float(fw.scale_max)
        bands.append(BandView(b.min, upper, pick(b.label, lang), n, len(fw.bands)))
    return Scale(fw.scale_min, fw.scale_max, tuple(bands), fw.missing)


def _has_data(cs: scoring.CityScore | None) -> bool:
    """A city-year has data when at least one indicator has a level (answer, metric or verification).

    scoring.score() returns a row for an asked-for city-year even without any data (everything
    missing, so 0 under `missing: zero`); showing that as an index would be dishonest.
    """
    return cs is not None and cs.indicators > 0 and cs.missing < cs.indicators


@dataclass(frozen=True)
class _Base:
    """What every view reads first: the registry's cities by code and the loaded frameworks."""

    cities: dict[str, City]
    frameworks: list[tuple[Framework, int]]  # (framework, load sequence), as loaded_frameworks


def _may_read(store: Storage, user: User) -> None:
    require(user, Action.READ_SCORES, public_read=admin.public_read(store))


def _base(store: Storage) -> _Base:
    return _Base({c.city_code: c for c in store.cities()}, loaded_frameworks(store))


def _empty_state(base: _Base, city: str | None, year: int | None) -> str | None:
    """The reason there is nothing to show, or None when the city-year can be read."""
    if not base.cities or not base.frameworks or year is None:
        return "empty"
    if city is None or city not in base.cities:
        return "no_city"
    if framework_for_year(base.frameworks, year) is None:
        return "empty"
    return None


class _Scope(NamedTuple):
    """A city-year a page can draw: what _open checked, with the city and year known to be set."""

    base: _Base
    fw: Framework
    scale: Scale
    name: str  # the city's
    city: str
    year: int


class _LevelsScope(NamedTuple):
    fw: Framework
    scale: Scale
    name: str
    cs: scoring.CityScore
    dim_names: dict[str, str]
    pil_names: dict[str, str]
    levels: list[scoring.IndicatorLevel]
    city: str
    year: int


def _open(
    store: Storage, user: User, city: str | None, year: int | None, lang: str, view: Callable[..., _View]
) -> _View | _Scope:
    """The prelude of every city-year page: check the reader, then the city and year.

    Returns a `view` saying why there is nothing to show, or the _Scope when the page has a
    city-year to draw.
    """
    _may_read(store, user)
    base = _base(store)
    state = _empty_state(base, city, year)
    fw = framework_for_year(base.frameworks, year) if year is not None else None
    if state or city is None or year is None or fw is None:  # the last three: as state says
        return view(state, city, base.cities[city].name if city in base.cities else "", year)
    return _Scope(base, fw, _scale(fw, lang), base.cities[city].name, city, year)


def _open_levels(
    store: Storage, user: User, city: str | None, year: int | None, lang: str, view: Callable[..., _View]
) -> _View | _LevelsScope:
    """The prelude of the pages that show every indicator's level: _open, then the city-year's
    score and levels. Returns a `view` saying why there is nothing to show, or the _LevelsScope."""
    scope = _open(store, user, city, year, lang, view)
    if not isinstance(scope, _Scope):
        return scope
    fw, scale, name, city, year = scope.fw, scope.scale, scope.name, scope.city, scope.year
    cs = _scores_by_year(store, city, [year]).get(year)
    if cs is None:
        return view("no_data", city, name, year, scale, fw.id)
    dim_names, pil_names = _name_maps(fw, lang)
    levels = scoring.indicator_levels(store, city, year)
    return _LevelsScope(fw, scale, name, cs, dim_names, pil_names, levels, city, year)


def _name_maps(fw: Framework, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    dims = {d.code: pick(d.name, lang) for d in fw.dimensions}
    pillars = {p.code: pick(p.name, lang) for p in (*fw.pillars, *fw.subpillars)}
    return dims, pillars


def _scores_by_year(store: Storage, city: str, years: list[int]) -> dict[int, scoring.CityScore]:
    return {s.year: s for s in scoring.score(store, years, city) if s.city_code == city and _has_data(s)}


# --------------------------------------------------------------------------- 1. overview


@dataclass(frozen=True)
class RankView:
    """The city's place among the cities with data this year: nationally, in its province or category."""

    scope: str  # national | province | category
    group: str  # the province or category compared within ("" nationally)
    rank: int | None  # ties share a rank (1, 2, 2, 4)
    of: int  # cities with data in that group


@dataclass(frozen=True)
class Overview:
    state: str
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    scale: Scale | None = None
    framework_id: str = ""
    framework_name: str = ""
    index: float | None = None
    band: BandView | None = None
    prev_year: int | None = None
    prev_index: float | None = None
    prev_band: BandView | None = None
    prev_framework_id: str | None = None
    delta: float | None = None
    dimensions: pd.DataFrame = field(default_factory=pd.DataFrame)  # code, name, weight, value, prev, method
    pillars: pd.DataFrame = field(default_factory=pd.DataFrame)  # code, name, value, prev
    completeness: float | None = None  # 0..1
    answered: int = 0
    pairs: int = 0
    indicators: int = 0
    missing: int = 0
    verified: int = 0
    # code, name, dimension, pillar, level, gain, opds (names of the responsible OPDs, a tuple),
    # next_level, next_rubric (what the rubric asks for at the next level)
    priorities: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranks: tuple[RankView, ...] = ()  # national, province, category (in that order)
    # indicators no OPD of the city can answer (no OPD of a responsible type): (code, name)
    orphans: tuple[tuple[str, str], ...] = ()
    # the programmes planned this year that are not running; None when the reader may not read
    # the city's submissions (then the page says nothing about programmes)
    stalled: StalledProgrammes | None = None

    @property
    def orphans_text(self) -> str:
        """'ECO-05 Name; SOC-07 Name': the indicators nobody in the city can answer, for one line."""
        return "; ".join(f"{code} {name}" for code, name in self.orphans)

    def rank(self, scope: str) -> RankView | None:
        return next((r for r in self.ranks if r.scope == scope), None)

    @property
    def framework_changed(self) -> bool:
        return self.prev_framework_id is not None and self.prev_framework_id != self.framework_id


def overview(store: Storage, city: str | None, year: int | None, lang: str = "id", *, user: User) -> Overview:
    """The city's index for the year with its band, last year's, the breakdowns and the priorities."""
    scope = _open(store, user, city, year, lang, Overview)
    if not isinstance(scope, _Scope):
        return scope
    base, fw, scale, name, city, year = scope
    scores = _scores_by_year(store, city, [year - 1, year])
    cs = scores.get(year)
    if cs is None:
        return Overview("no_data", city, name, year, scale, fw.id, pick(fw.name, lang))
    prev = scores.get(year - 1)
    prev_fw = framework_for_year(base.frameworks, year - 1) if prev else None
    dim_names, pil_names = _name_maps(fw, lang)
    dims = pd.DataFrame(
        [
            {
                "code": d.code,
                "name": dim_names[d.code],
                "weight": d.weight,
                "value": cs.dimensions.get(d.code),
                "prev": prev.dimensions.get(d.code) if prev else None,
                "method": d.method,
            }
            for d in fw.dimensions
        ],
        columns=["code", "name", "weight", "value", "prev", "method"],
    )
    pillars = pd.DataFrame(
        [
            {
                "code": p.code,
                "name": pil_names[p.code],
                "value": cs.pillars.get(p.code),
                "prev": prev.pillars.get(p.code) if prev else None,
            }
            for p in fw.pillars
        ],
        columns=["code", "name", "value", "prev"],
    )
    levels = scoring.indicator_levels(store, city, year)
    pri = _priorities(store, fw, city, levels, dim_names, pil_names, lang, cs.dimensions)
    return Overview(
        "ok",
        city,
        name,
        year,
        scale,
        fw.id,
        pick(fw.name, lang),
        cs.index,
        scale.band(cs.index),
        prev.year if prev else None,
        prev.index if prev else None,
        _scale(prev_fw, lang).band(prev.index) if prev and prev_fw else None,
        prev.framework_id if prev else None,
        (cs.index - prev.index) if prev and cs.index is not None and prev.index is not None else None,
        dims,
        pillars,
        cs.completeness,
        cs.answered,
        cs.pairs,
        cs.indicators,
        cs.missing,
        sum(1 for lv in levels if lv.source == "verified"),
        pri,
        city_ranks(store, base.cities, city, year),
        _orphans(store, fw, city, lang),
        _stalled(store, user, fw, city, year, lang),
    )


def _orphans(store: Storage, fw: Framework, city: str, lang: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of the indicators nobody in the city can answer (metrics.responsibility)."""
    from metrics.responsibility import responsibility

    names = {i.code: pick(i.name, lang) for i in fw.indicators}
    return tuple((c, names[c]) for c in responsibility(store, fw, city).orphans)


_PRIORITY_COLS = ["code", "name", "dimension", "pillar", "level", "gain", "opds", "next_level", "next_rubric"]


def _priorities(
    store: Storage,
    fw: Framework,
    city: str,
    levels: list[scoring.IndicatorLevel],
    dim_names: dict[str, str],
    pil_names: dict[str, str],
    lang: str,
    dimensions: dict[str, float | None],
) -> pd.DataFrame:
    """The priority indicators, each with who answers for it in the city and what the next level
    asks (`dimensions`: the city's dimension values, method dimensions included)."""
    from metrics.responsibility import responsibility  # the one rule of who answers what in a city

    indicators = {i.code: i for i in fw.indicators}
    opds = store.opds(city)
    names = {o.opd_code: o.name for o in opds}
    who = responsibility(store, fw, city, opds).by_indicator
    rows = []
    for p in scoring.priorities(fw, levels, TOP_PRIORITIES, dimensions):
        ind = indicators[p.code]
        nxt = min(fw.scale_max, int(p.level) + 1)  # a mean of 2.5 rises by reaching level 3
        rows.append(
            {
                "code": p.code,
                "name": pick(p.name, lang),
                "dimension": dim_names.get(p.dimension, p.dimension),
                "pillar": pil_names.get(p.pillar, p.pillar),
                "level": p.level,
                "gain": p.gain,
                "opds": tuple(names[c] for c in who.get(p.code, ()) if c in names),
                "next_level": nxt,
                "next_rubric": pick(ind.levels.get(nxt), lang) or "",
            }
        )
    return pd.DataFrame(rows, columns=_PRIORITY_COLS)


def city_ranks(store: Storage, cities: dict[str, City], city: str, year: int) -> tuple[RankView, ...]:
    """The city's rank among the cities with data in `year`: nationally, in its province and its
    category (competition ranks: ties share a rank)."""
    me = cities.get(city)
    # the same set the rankings page ranks nationally: every city-year with data
    scored = [(s.city_code, s.index) for s in scoring.score(store, [year]) if _has_data(s)]
    out = []
    for scope in ("national", "province", "category"):
        group = "" if scope == "national" else getattr(me, scope, "")
        members = [
            (c, v) for c, v in scored if scope == "national" or getattr(cities.get(c), scope, None) == group
        ]
        ranks = {c: r for c, _, r in scoring.competition_ranks(members)}
        out.append(RankView(scope, group, ranks.get(city), sum(1 for _, v in members if v is not None)))
    return tuple(out)


# --------------------------------------------------------------------------- 2. rankings


@dataclass(frozen=True)
class Rankings:
    state: str
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    prev_year: int | None = None
    scale: Scale | None = None
    framework_id: str = ""
    # OPDs of the city: rank, opd_code, name, opd_type, index, band, index_prev, change,
    # completeness (0..100), answered, pairs, last_upload
    opds: pd.DataFrame = field(default_factory=pd.DataFrame)
    # cities: rank, rank_prev, movement, city_code, name, province, category, index, band,
    # completeness, missing, indicators, framework_id, framework_changed (+ rank_in_selection if filtered)
    cities: pd.DataFrame = field(default_factory=pd.DataFrame)
    filtered: bool = False
    city_rank: int | None = None  # the chosen city's national rank
    ranked_cities: int = 0
    city_row: int | None = None  # the chosen city's row in `cities` (None when filtered out)
    ranked_opds: int = 0  # OPDs with an index (they answered at least one indicator)
    missing_zero: bool = False  # the city index counts missing indicators as the scale minimum
    framework_changed: bool = False  # some city was scored under another framework last year


_OPD_COLS = [
    "rank",
    "opd_code",
    "name",
    "opd_type",
    "index",
    "band",
    "index_prev",
    "change",
    "completeness",
    "answered",
    "pairs",
    "last_upload",
]
_CITY_COLS = [
    "rank",
    "rank_prev",
    "movement",
    "city_code",
    "name",
    "province",
    "category",
    "index",
    "band",
    "completeness",
    "missing",
    "indicators",
    "framework_id",
    "framework_changed",
]


def _export(
    name: str, df: pd.DataFrame, keys: list[str], lang: str, rename: dict[str, str]
) -> reports.TableOut:
    """A table for reports.tables_to_xlsx/table_to_csv (which neutralise formula-like text)."""
    h = HEADERS.get(lang, HEADERS["id"])
    rows = [
        [
            None
            if v is None or v is pd.NA or (isinstance(v, float) and v != v)
            else (str(v) if isinstance(v, pd.Timestamp) else v)
            for v in r
        ]
        for r in df[keys].astype(object).itertuples(index=False, name=None)
    ]
    return reports.TableOut(name, [h.get(rename.get(k, k), k) for k in keys], rows)


def rankings(
    store: Storage,
    city: str | None,
    year: int | None,
    province: str | None = None,
    category: str | None = None,
    lang: str = "id",
    *,
    user: User,
) -> Rankings:
    """OPDs of the city ranked by index, and the cities ranked nationally, each against last year."""
    scope = _open(store, user, city, year, lang, Rankings)
    if not isinstance(scope, _Scope):
        return scope
    base, fw, scale, city, year = scope.base, scope.fw, scope.scale, scope.city, scope.year
    prev_year = year - 1
    fws = {fw_.id: fw_ for fw_, _ in base.frameworks}

    # cities, national ranks this year and last
    all_scores = [s for s in scoring.score(store, [prev_year, year]) if _has_data(s)]
    now = {s.city_code: s for s in all_scores if s.year == year}
    before = {s.city_code: s for s in all_scores if s.year == prev_year}
    rank_now = {c: r for c, _, r in scoring.competition_ranks([(c, s.index) for c, s in now.items()])}
    rank_before = {c: r for c, _, r in scoring.competition_ranks([(c, s.index) for c, s in before.items()])}
    rows = []
    for code, s in now.items():
        c = base.cities.get(code)
        if c is None:
            continue
        p = before.get(code)
        r_now, r_prev = rank_now.get(code), rank_before.get(code)
        rows.append(
            {
                "rank": r_now,
                "rank_prev": r_prev,
                "movement": (r_prev - r_now) if r_prev is not None and r_now is not None else None,
                "city_code": code,
                "name": c.name,
                "province": c.province,
                "category": c.category,
                "index": s.index,
                "band": _band_label(fws[s.framework_id], s.index, lang)
                if s.index is not None and s.framework_id in fws
                else "",
                "completeness": None if s.completeness is None else s.completeness * 100,
                "missing": s.missing,
                "indicators": s.indicators,
                "framework_id": s.framework_id,
                "framework_changed": p is not None and p.framework_id != s.framework_id,
            }
        )
    cities = pd.DataFrame(rows, columns=_CITY_COLS)
    cities = cities.sort_values(["rank", "name"], na_position="last", kind="stable").reset_index(drop=True)
    filtered = province is not None or category is not None
    if filtered:
        keep = pd.Series(True, index=cities.index)
        if province is not None:
            keep &= cities["province"] == province
        if category is not None:
            keep &= cities["category"] == category
        cities = cities.loc[keep].reset_index(drop=True)
        sel = {c: r for c, _, r in scoring.competition_ranks(list(zip(cities["city_code"], cities["index"])))}
        cities.insert(1, "rank_in_selection", [sel.get(c) for c in cities["city_code"]])
    for col in ("rank", "rank_prev", "movement"):
        cities[col] = cities[col].astype("Int64")

    # OPDs of the city, this year against last
    ops = scoring.opd_scores(store, [prev_year, year], city)
    prev_idx = {o.opd_code: o.index for o in ops if o.year == prev_year}
    cur = [o for o in ops if o.year == year]
    orank = {c: r for c, _, r in scoring.competition_ranks([(o.opd_code, o.index) for o in cur])}
    opds = pd.DataFrame(
        [
            {
                "rank": orank.get(o.opd_code),
                "opd_code": o.opd_code,
                "name": o.name,
                "opd_type": o.opd_type,
                "index": o.index,
                "band": _band_label(fw, o.index, lang) if o.index is not None else "",
                "index_prev": prev_idx.get(o.opd_code),
                "change": _change(prev_idx.get(o.opd_code), o.index),
                "completeness": None if o.completeness is None else o.completeness * 100,
                "answered": o.answered,
                "pairs": o.pairs,
                "last_upload": o.last_upload,
            }
            for o in cur
        ],
        columns=_OPD_COLS,
    )
    opds = opds.sort_values(["rank", "opd_code"], na_position="last", kind="stable").reset_index(drop=True)
    opds["rank"] = opds["rank"].astype("Int64")

    return Rankings(
        "ok",
        city,
        base.cities[city].name,
        year,
        prev_year,
        scale,
        fw.id,
        opds,
        cities,
        filtered,
        rank_now.get(city),
        len(rank_now),
        next((n for n, c in enumerate(cities["city_code"]) if c == city), None),
        int(opds["index"].notna().sum()),
        fw.missing == "zero",
        bool(cities["framework_changed"].any()),
    )


RANKING_FILES = ("xlsx", "opd_csv", "city_csv")


def rankings_file(
    store: Storage,
    city: str | None,
    year: int | None,
    province: str | None,
    category: str | None,
    lang: str,
    part: str,
    *,
    user: User,
) -> bytes:
    """One of the rankings page's downloads: the table the reader sees, neutralised.

    Made only, never recorded: a read-model does not write. The page downloads through
    `metrics.exports.rankings_download`, which audits the export.
    """
    if part not in RANKING_FILES:
        raise ValueError(part)
    rk = rankings(store, city, year, province, category, lang, user=user)
    if rk.state != "ok":
        raise ValidationError("export.no_data", city=city, year=year)
    city_keys = [c for c in _CITY_COLS if c != "indicators"]
    if rk.filtered:
        city_keys.insert(1, "rank_in_selection")
    opd_table = _export("OPD", rk.opds, _OPD_COLS, lang, {"name": "opd"})
    city_table = _export(
        HEADERS.get(lang, HEADERS["id"])["city"], rk.cities, city_keys, lang, {"name": "city"}
    )
    return {
        "xlsx": lambda: reports.tables_to_xlsx([opd_table, city_table]),
        "opd_csv": lambda: reports.table_to_csv(opd_table),
        "city_csv": lambda: reports.table_to_csv(city_table),
    }[part]()


# --------------------------------------------------------------------------- 3. year over year


@dataclass(frozen=True)
class Compare:
    state: str
    cities: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    truncated: bool = False  # more than MAX_COMPARE_CITIES were asked for
    scale: Scale | None = None
    # long: city_code, city, year, measure ("index" or a dimension code), measure_name, value, framework_id
    series: pd.DataFrame = field(default_factory=pd.DataFrame)
    measures: tuple[tuple[str, str], ...] = ()  # (code, name), index first
    framework_changes: tuple[tuple[int, str, str], ...] = ()  # (year, framework before, framework from then)
    # city_code, city, code, name, from_year, to_year, from_level, to_level, change, comparable
    rising: pd.DataFrame = field(default_factory=pd.DataFrame)
    falling: pd.DataFrame = field(default_factory=pd.DataFrame)
    latest: pd.DataFrame = field(default_factory=pd.DataFrame)  # per city: last year with data, index, change
    missing_counted: int = 0  # missing indicators (counted as 0) across the plotted city-years
    city_options: tuple[tuple[str, str], ...] = ()  # every city of the registry: (code, name)
    year_options: tuple[int, ...] = ()  # every year with data or a period


_MOVER_COLS = [
    "city_code",
    "city",
    "code",
    "name",
    "from_year",
    "to_year",
    "from_level",
    "to_level",
    "change",
]


def _peers(base: _Base, city: str | None, all_scores: list[scoring.CityScore], n: int) -> tuple[str, ...]:
    """`city` and the n-1 cities nearest to it: same category first, then nearest latest index.

    The default comparison, so that the page opens with something meaningful to compare.
    """
    if city not in base.cities:
        return ()
    latest = {}
    for s in all_scores:
        if _has_data(s) and s.index is not None:
            latest[s.city_code] = s.index  # score() is ordered by year, so the last one wins
    mine = latest.get(city)
    cat = base.cities[city].category

    def distance(code: str) -> tuple[bool, float, str]:
        return (
            base.cities[code].category != cat,
            abs(latest[code] - mine) if mine is not None and code in latest else float("inf"),
            code,
        )

    others = sorted((c for c in base.cities if c != city and c in latest), key=distance)
    return (city, *others[: n - 1])


def compare(
    store: Storage,
    cities: tuple[str, ...] | None,
    year_from: int | None = None,
    year_to: int | None = None,
    lang: str = "id",
    default_city: str | None = None,
    *,
    user: User,
) -> Compare:
    """Index and dimension lines of up to six cities over the chosen years, and the biggest movers.

    cities None: `default_city` and its two nearest peers. Years: from `year_from` to `year_to`
    inclusive; either None means the first/last year the store knows.
    """
    _may_read(store, user)
    base = _base(store)
    year_options = tuple(store.years())
    if not base.cities or not base.frameworks or not year_options:
        return Compare("empty")
    lo = year_options[0] if year_from is None else int(year_from)
    hi = year_options[-1] if year_to is None else int(year_to)
    lo, hi = min(lo, hi), max(lo, hi)
    years = tuple(y for y in year_options if lo <= y <= hi)
    all_scores = scoring.score(store, list(years)) if years else []  # every city: peers and lines alike
    if cities is None:
        cities = _peers(base, default_city, all_scores, 3)
    asked = tuple(dict.fromkeys(c for c in cities if c in base.cities))
    chosen = asked[:MAX_COMPARE_CITIES]
    truncated = len(asked) > MAX_COMPARE_CITIES
    city_options = tuple((c.city_code, c.name) for c in base.cities.values())
    if not chosen or not years:
        return Compare(
            "no_city" if not chosen else "no_data",
            chosen,
            years,
            truncated,
            city_options=city_options,
            year_options=year_options,
        )
    latest_fw = framework_for_year(base.frameworks, years[-1]) or base.frameworks[-1][0]
    scale = _scale(latest_fw, lang)
    fw_of_year = {y: framework_for_year(base.frameworks, y) for y in years}
    fws = {fw.id: fw for fw, _ in base.frameworks}
    scores = [s for s in all_scores if s.city_code in chosen and _has_data(s)]
    if not scores:
        return Compare(
            "no_data", chosen, years, truncated, scale, city_options=city_options, year_options=year_options
        )
    # measures in the order of the latest framework, then any older dimension codes
    measures: dict[str, str] = {"index": ""}
    for fw in [latest_fw] + [f for f in fw_of_year.values() if f is not None]:
        for d in fw.dimensions:
            measures.setdefault(d.code, pick(d.name, lang))
    rows = []
    for s in scores:
        cname = base.cities[s.city_code].name
        rows.append(
            {
                "city_code": s.city_code,
                "city": cname,
                "year": s.year,
                "measure": "index",
                "measure_name": "",
                "value": s.index,
                "framework_id": s.framework_id,
            }
        )
        for code, v in s.dimensions.items():
            rows.append(
                {
                    "city_code": s.city_code,
                    "city": cname,
                    "year": s.year,
                    "measure": code,
                    "measure_name": measures.get(code, code),
                    "value": v,
                    "framework_id": s.framework_id,
                }
            )
    series = pd.DataFrame(
        rows, columns=["city_code", "city", "year", "measure", "measure_name", "value", "framework_id"]
    )
    # cities in the order asked for (the first is the reader's own city), then measure, then year
    series = series.assign(_o=series["city_code"].map({c: n for n, c in enumerate(chosen)}))
    series = (
        series.sort_values(["_o", "measure", "year"], kind="stable").drop(columns="_o").reset_index(drop=True)
    )

    # framework changes between consecutive years that have scores
    fw_ids = {s.year: s.framework_id for s in scores}
    seen = sorted(fw_ids)
    changes = tuple((b, fw_ids[a], fw_ids[b]) for a, b in pairwise(seen) if fw_ids[a] != fw_ids[b])

    # movers: each city's indicators from its first to its last plotted year with data
    movers = []
    latest = []
    by_city: dict[str, list[scoring.CityScore]] = defaultdict(list)
    for s in scores:
        by_city[s.city_code].append(s)
    for code in chosen:
        got = sorted(by_city.get(code, []), key=lambda s: s.year)
        if not got:
            continue
        first, last = got[0], got[-1]
        latest.append(
            {
                "city_code": code,
                "city": base.cities[code].name,
                "year": last.year,
                "index": last.index,
                "from_year": first.year,
                "from_index": first.index,
                "change": _change(first.index, last.index) if len(got) > 1 else None,
                "framework_changed": first.framework_id != last.framework_id,
            }
        )
        if len(got) < 2:
            continue
        hist = store.level_history(code, [first.year, last.year])
        # (effective level, level counted): a missing level shows as such, its change counts it as 0
        lv = {(y, ind): (eff, sl) for _, y, ind, eff, sl in hist}
        fw_last = fws.get(last.framework_id)
        for ind in fw_last.indicators if fw_last else ():
            (ea, a), (eb, b) = (
                lv.get((first.year, ind.code), (None, None)),
                lv.get((last.year, ind.code), (None, None)),
            )
            if a is None or b is None or a == b:
                continue
            movers.append(
                {
                    "city_code": code,
                    "city": base.cities[code].name,
                    "code": ind.code,
                    "name": pick(ind.name, lang),
                    "from_year": first.year,
                    "to_year": last.year,
                    "from_level": ea,
                    "to_level": eb,
                    "change": b - a,
                }
            )
    mv = pd.DataFrame(movers, columns=_MOVER_COLS)
    rising = (
        mv[mv["change"] > 0]
        .sort_values(["change", "city_code", "code"], ascending=[False, True, True], kind="stable")
        .head(TOP_MOVERS)
        .reset_index(drop=True)
    )
    falling = (
        mv[mv["change"] < 0]
        .sort_values(["change", "city_code", "code"], ascending=[True, True, True], kind="stable")
        .head(TOP_MOVERS)
        .reset_index(drop=True)
    )
    return Compare(
        "ok",
        chosen,
        years,
        truncated,
        scale,
        series,
        tuple(measures.items()),
        changes,
        rising,
        falling,
        pd.DataFrame(
            latest,
            columns=[
                "city_code",
                "city",
                "year",
                "index",
                "from_year",
                "from_index",
                "change",
                "framework_changed",
            ],
        ),
        sum(s.missing for s in scores if s.framework_id in fws and fws[s.framework_id].missing == "zero"),
        city_options=city_options,
        year_options=year_options,
    )


# --------------------------------------------------------------------------- 4. drill-down


@dataclass(frozen=True)
class IndicatorDetail:
    code: str
    name: str
    dimension: str
    dimension_name: str
    pillar: str
    pillar_name: str
    subpillar: str | None
    subpillar_name: str
    weight: float
    effective: float | None
    score_level: float | None  # the level the index counts (missing -> scale minimum under `missing: zero`)
    source: str  # verified | metric | self | missing
    rubric: tuple[tuple[int, str], ...]  # every level's sentence
    rubric_level: int | None  # the rubric level the effective level reaches (floor of a mean)
    self_level: float | None
    n_opd: int
    responsible_opds: int
    verified_level: int | None = None
    verified_note: str | None = None
    verified_by: str | None = None
    verified_at: object = None
    metric_code: str | None = None
    metric_value: float | None = None
    metric_level: int | None = None
    metric_unit: str | None = None
    metric_aggregate: str | None = None
    metric_direction: str | None = None
    thresholds: tuple[float, ...] = ()
    # the metric submission in force: opd_code, opd_name, submission_id, accepted_at, file_name, username
    metric_submission: dict[str, Any] | None = None
    # each OPD's current self-assessment: opd_code, opd_name, level, rubric, evidence, note,
    # submission_id, accepted_at, username, file_name, source_row
    answers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def rubric_sentence(self) -> str:
        return dict(self.rubric).get(self.rubric_level, "") if self.rubric_level is not None else ""

    def self_formula(self, lang: str = "id") -> str:
        """'(3 + 4) ÷ 2 = 3,50' over the OPDs' self-assessed levels."""
        if self.answers.empty:
            return "–"
        levels = [int(x) for x in self.answers["level"]]
        mean = formatting.number(sum(levels) / len(levels), lang)
        return f"({' + '.join(str(x) for x in levels)}) ÷ {len(levels)} = {mean}"


@dataclass(frozen=True)
class GroupView:
    kind: str  # dimension | pillar
    code: str
    name: str
    weight: float | None  # the dimension's weight in the index (pillars carry none)
    value: float | None  # as the core computed it
    formula: Formula  # recomputed from the indicators' levels and weights
    indicators: tuple[str, ...]
    missing: int


@dataclass(frozen=True)
class Drilldown:
    state: str
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    scale: Scale | None = None
    framework_id: str = ""
    index: float | None = None
    band: BandView | None = None
    index_formula: Formula | None = None  # over the dimensions, with their weights
    groups: dict[str, list[GroupView]] = field(default_factory=dict)  # "dimension"|"pillar" -> groups
    # code, name, dimension, pillar, subpillar, weight, effective, score_level, source, n_opd, responsible_opds
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: int = 0
    indicators_total: int = 0
    # the dimensions computed by a method (programmes | survey): what each counted
    methods: tuple[MethodView, ...] = ()
    # indicators marked not applicable this year: code, name, dimension_name, pillar_name,
    # status (confirmed: left out of the denominators | pending, rejected: counted as missing), reason
    na: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NA_COLUMNS))

    def method(self, code: str | None) -> MethodView | None:
        """The inputs of dimension `code` when a method computes it (None for a rubric dimension)."""
        return next((m for m in self.methods if m.code == code), None)

    def group_options(self, kind: str) -> list[str]:
        return [g.code for g in self.groups.get(kind, [])]

    def group_label(self, kind: str, code: str) -> str:
        g = self.group(kind, code)
        return f"{g.name} ({code})" if g is not None and g.code == code else code

    def indicator_label(self, code: str) -> str:
        names = self.indicators.loc[self.indicators["code"] == code, "name"]
        return f"{code} · {names.iloc[0]}" if len(names) else code

    def group(self, kind: str, code: str | None) -> GroupView | None:
        opts = self.groups.get(kind, [])
        return next((g for g in opts if g.code == code), opts[0] if opts else None)

    def table(self, kind: str, code: str | None) -> pd.DataFrame:
        """The indicators of one dimension or pillar, in framework order."""
        g = self.group(kind, code)
        if g is None:
            return self.indicators.iloc[0:0]
        return self.indicators[self.indicators["code"].isin(g.indicators)].reset_index(drop=True)


def _rubric_level(fw: Framework, level: float | None) -> int | None:
    if level is None:
        return None
    return max(fw.scale_min, min(fw.scale_max, int(level + 1e-9)))


def drilldown(
    store: Storage, city: str | None, year: int | None, lang: str = "id", *, user: User
) -> Drilldown:
    """Index -> dimension or pillar -> indicator: levels, where they came from, and the formulas."""
    scope = _open_levels(store, user, city, year, lang, Drilldown)
    if not isinstance(scope, _LevelsScope):
        return scope
    fw, scale, name, cs, dim_names, pil_names, levels, city, year = scope
    rows = []
    for lv in levels:
        rows.append(
            {
                "code": lv.code,
                "name": pick(lv.name, lang),
                "dimension": lv.dimension,
                "dimension_name": dim_names.get(lv.dimension, lv.dimension),
                "pillar": lv.pillar,
                "pillar_name": pil_names.get(lv.pillar, lv.pillar),
                "subpillar": lv.subpillar,
                "weight": lv.weight,
                "effective": lv.effective,
                "score_level": lv.score_level,
                "source": lv.source,
                "n_opd": lv.n_opd,
                "responsible_opds": lv.responsible_opds,
                "contribution": (lv.weight * lv.score_level) if lv.score_level is not None else None,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "code",
            "name",
            "dimension",
            "dimension_name",
            "pillar",
            "pillar_name",
            "subpillar",
            "weight",
            "effective",
            "score_level",
            "source",
            "n_opd",
            "responsible_opds",
            "contribution",
        ],
    )

    method_views = _method_views(store, user, fw, city, year, lang)
    by_code = {m.code: m for m in method_views}
    pillar_weights = {d.code: d.pillar_weight for d in fw.dimensions}

    def group_view(kind: str, code: str, gname: str, weight: float | None, value: float | None) -> GroupView:
        members = [lv for lv in levels if (lv.dimension if kind == "dimension" else lv.pillar) == code]
        terms: list[tuple[str, float, float | None]] = [
            (lv.code, lv.weight, lv.score_level) for lv in members
        ]
        if kind == "dimension" and code in by_code:
            formula = by_code[code].formula  # the mean of its pillar values (or programmes' impacts)
        elif kind == "dimension":
            formula = _formula(terms)
        else:
            # a pillar combines its indicators with each method dimension's value for it
            terms += [
                (m.code, pillar_weights[m.code], _method_pillar_term(fw, m, code)) for m in method_views
            ]
            formula = _formula(terms)
        return GroupView(
            kind,
            code,
            gname,
            weight,
            value,
            formula,
            tuple(lv.code for lv in members),
            sum(1 for lv in members if lv.source == "missing"),
        )

    groups = {
        "dimension": [
            group_view("dimension", d.code, dim_names[d.code], d.weight, cs.dimensions.get(d.code))
            for d in fw.dimensions
            if d.code in cs.dimensions
        ],
        "pillar": [
            group_view("pillar", p.code, pil_names[p.code], None, cs.pillars.get(p.code))
            for p in fw.pillars
            if p.code in cs.pillars
        ],
    }
    # a dimension always carries its weight (only pillars have none)
    index_formula = _formula([(g.code, g.weight or 0.0, g.value) for g in groups["dimension"]])
    return Drilldown(
        "ok",
        city,
        name,
        year,
        scale,
        fw.id,
        cs.index,
        scale.band(cs.index),
        index_formula,
        groups,
        table,
        cs.missing,
        cs.indicators,
        method_views,
        _na_table(store, user, fw, city, year, lang),
    )


def indicator_detail(
    store: Storage, city: str | None, year: int | None, code: str | None, lang: str = "id", *, user: User
) -> IndicatorDetail | None:
    """One indicator of the drill-down in full: its level's source, the OPDs' answers and evidence,
    the verification, the metric and its thresholds, and the rubric.

    Apart from `drilldown` so that the page carries one indicator's answers and evidence, not
    every indicator's (at national scale that was most of the page's time on every rerun).
    None when the city-year has no data or the indicator is not in its framework.
    """
    scope = _open(store, user, city, year, lang, Drilldown)
    if not isinstance(scope, _Scope):
        return None
    fw, city, year = scope.fw, scope.city, scope.year
    lv = next((x for x in scoring.indicator_levels(store, city, year) if x.code == code), None)
    if lv is None:
        return None
    dim_names, pil_names = _name_maps(fw, lang)
    ind = fw.indicator(lv.code)
    rubric = tuple((k, pick(v, lang)) for k, v in sorted(ind.levels.items())) if ind else ()
    rub = dict(rubric)
    ans = pd.DataFrame(
        [
            {
                "opd_code": a["opd_code"],
                "opd_name": a["opd_name"],
                "level": a["level"],
                "rubric": rub.get(a["level"], ""),
                "evidence": a["evidence"],
                "note": a["note"],
                "submission_id": a["submission_id"],
                "accepted_at": a["accepted_at"],
                "username": a["username"],
                "file_name": a["file_name"],
                "source_row": a["source_row"],
            }
            for a in store.answer_rows(year, city)
            if a["indicator_code"] == code
        ],
        columns=[
            "opd_code",
            "opd_name",
            "level",
            "rubric",
            "evidence",
            "note",
            "submission_id",
            "accepted_at",
            "username",
            "file_name",
            "source_row",
        ],
    )
    v = next((v for v in store.verification_rows(city, year) if v["indicator_code"] == code), None)
    ms = None
    if lv.metric_code:
        msubs = store.submissions_frame(city, year=year, kind="metric")
        if not msubs.empty:
            hit = msubs[msubs["in_force"] & (msubs["metric_code"] == lv.metric_code)]
            ms = hit.to_dict("records")[-1] if len(hit) else None  # as the score uses the newest
    return IndicatorDetail(
        code=lv.code,
        name=pick(lv.name, lang),
        dimension=lv.dimension,
        dimension_name=dim_names.get(lv.dimension, lv.dimension),
        pillar=lv.pillar,
        pillar_name=pil_names.get(lv.pillar, lv.pillar),
        subpillar=lv.subpillar,
        subpillar_name=pil_names.get(lv.subpillar, "") if lv.subpillar else "",
        weight=lv.weight,
        effective=lv.effective,
        score_level=lv.score_level,
        source=lv.source,
        rubric=rubric,
        rubric_level=_rubric_level(fw, lv.effective),
        self_level=lv.self_level,
        n_opd=lv.n_opd,
        responsible_opds=lv.responsible_opds,
        verified_level=lv.verified_level,
        verified_note=v["note"] if v else None,
        verified_by=v["username"] if v else None,
        verified_at=v["verified_at"] if v else None,
        metric_code=lv.metric_code,
        metric_value=lv.metric_value,
        metric_level=lv.metric_level,
        metric_unit=lv.metric_unit,
        metric_aggregate=lv.metric_aggregate,
        metric_direction=lv.metric_direction,
        thresholds=tuple(lv.thresholds or ()),
        metric_submission={
            "opd_code": ms["opd_code"],
            "opd_name": ms["opd_name"],
            "submission_id": ms["id"],
            "accepted_at": ms["accepted_at"],
            "file_name": ms["file_name"],
            "username": ms["username"],
        }
        if ms is not None
        else None,
        answers=ans,
    )


# --------------------------------------------------------------------------- 5. completeness


@dataclass(frozen=True)
class Completeness:
    state: str
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    scale: Scale | None = None
    framework_id: str = ""
    n_opds: int = 0  # OPDs responsible for at least one indicator
    n_submitted: int = 0  # of those, OPDs with any submission this year
    n_complete: int = 0  # of those, OPDs that answered everything they are responsible for
    pairs: int = 0
    answered: int = 0
    completeness: float | None = None  # 0..1
    indicators: int = 0
    missing: int = 0  # indicators with no level at all (count as 0 under `missing: zero`)
    # opd_code, name, opd_type, status (none|partial|complete), answered, pairs, completeness (0..100),
    # last_upload, submission_id
    opds: pd.DataFrame = field(default_factory=pd.DataFrame)
    # code, name, pillar, dimension, responsible, answered, status (missing|partial), opd_types
    missing_indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    # long: opd_code, opd, pillar, pillar_name, answered, required, share (0..100 or None)
    heat: pd.DataFrame = field(default_factory=pd.DataFrame)
    pillars: tuple[tuple[str, str], ...] = ()
    deadline: object = None  # metrics.deadlines.Deadline of the city-year
    days_left: int | None = None
    on_time_rate: float | None = None  # 0..1; None without a deadline
    # code, name, opd_types: indicators no OPD of the city can answer
    orphans: pd.DataFrame = field(default_factory=pd.DataFrame)
    # open clarification requests past their due date (metrics.clarify.overdue_table; issue 18),
    # for readers of the city's submissions only
    overdue_requests: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_not_submitted(self) -> int:
        return self.n_opds - self.n_submitted

    @property
    def opd_order(self) -> list[str]:
        """OPDs as the status table lists them: not submitted first."""
        return self.opds["opd_code"].tolist() if not self.opds.empty else []


def _answered_sets(store: Storage, fw: Framework, city: str, year: int) -> dict[str, set[str]]:
    """Indicators each OPD answered this year (metrics.responsibility.answered_sets)."""
    from metrics.responsibility import answered_sets

    return answered_sets(store, fw, city, year)


def completeness(
    store: Storage, city: str | None, year: int | None, lang: str = "id", *, user: User
) -> Completeness:
    """Who has submitted for the year, what is still missing, and OPD x pillar completeness."""
    scope = _open(store, user, city, year, lang, Completeness)
    if not isinstance(scope, _Scope):
        return scope
    fw, scale, name, city, year = scope.fw, scope.scale, scope.name, scope.city, scope.year
    dim_names, pil_names = _name_maps(fw, lang)
    cs = scoring.city_score(store, city, year)
    from metrics import clarify, deadlines, home
    from metrics.responsibility import responsibility

    ops = [o for o in scoring.opd_scores(store, year, city) if o.year == year and o.pairs > 0]
    got = _answered_sets(store, fw, city, year)
    who_answers = responsibility(store, fw, city)
    cst = deadlines.opd_statuses(store, city, year)
    assert cst is not None  # None only for a year without a framework, and `fw` is its framework
    timely = {x.opd_code: x.timeliness for x in cst.opds}
    opd_rows = []
    heat = []
    for o in ops:
        status = "complete" if o.answered >= o.pairs else ("partial" if o.answered > 0 else "none")
        opd_rows.append(
            {
                "opd_code": o.opd_code,
                "name": o.name,
                "opd_type": o.opd_type,
                "status": status,
                "submitted": o.submission_id is not None,
                "answered": o.answered,
                "pairs": o.pairs,
                "completeness": 100 * o.answered / o.pairs,
                "last_upload": o.last_upload,
                "submission_id": o.submission_id,
                "timeliness": timely.get(o.opd_code, "not_yet"),
            }
        )
        mine = who_answers.of_opd(fw, o.opd_code)
        for p in fw.pillars:
            req = [i.code for i in mine if i.pillar == p.code]
            done = sum(1 for c in req if c in got.get(o.opd_code, ()))
            heat.append(
                {
                    "opd_code": o.opd_code,
                    "opd": o.name,
                    "pillar": p.code,
                    "pillar_name": pil_names[p.code],
                    "answered": done,
                    "required": len(req),
                    "share": (100 * done / len(req)) if req else None,
                }
            )
    opds = pd.DataFrame(
        opd_rows,
        columns=[
            "opd_code",
            "name",
            "opd_type",
            "status",
            "submitted",
            "answered",
            "pairs",
            "completeness",
            "last_upload",
            "submission_id",
            "timeliness",
        ],
    )
    order = {"none": 0, "partial": 1, "complete": 2}
    opds = opds.sort_values(
        ["status", "completeness", "opd_code"],
        key=lambda s: s.map(order) if s.name == "status" else s,
        kind="stable",
    ).reset_index(drop=True)
    opds["submission_id"] = opds["submission_id"].astype("Int64")

    # which OPDs of the city are responsible for each indicator, and which of them answered it
    resp = who_answers.by_indicator
    levels = {lv.code: lv for lv in scoring.indicator_levels(store, city, year)}
    miss = []
    for i in fw.indicators:
        lv = levels.get(i.code)
        who = resp.get(i.code, ())
        done = sum(1 for oc in who if i.code in got.get(oc, ()))
        is_missing = lv is None or lv.source == "missing"
        if not is_missing and done >= len(who):
            continue
        miss.append(
            {
                "code": i.code,
                "name": pick(i.name, lang),
                "pillar": pil_names.get(i.pillar, i.pillar),
                "dimension": dim_names.get(i.dimension, i.dimension),
                "responsible": len(who),
                "answered": done,
                "status": "missing" if is_missing else "partial",
                "opd_types": ", ".join(i.opd_types),
            }
        )
    missing = pd.DataFrame(
        miss,
        columns=["code", "name", "pillar", "dimension", "responsible", "answered", "status", "opd_types"],
    )
    missing = missing.sort_values(
        ["status", "code"],
        key=lambda s: s.map({"missing": 0, "partial": 1}) if s.name == "status" else s,
        kind="stable",
    ).reset_index(drop=True)
    return Completeness(
        "ok",
        city,
        name,
        year,
        scale,
        fw.id,
        len(ops),
        sum(1 for o in ops if o.submission_id is not None),
        sum(1 for o in ops if o.answered >= o.pairs),
        cs.pairs if cs else 0,
        cs.answered if cs else 0,
        cs.completeness if cs else None,
        cs.indicators if cs else len(fw.indicators),
        cs.missing if cs else len(fw.indicators),
        opds,
        missing,
        pd.DataFrame(
            heat, columns=["opd_code", "opd", "pillar", "pillar_name", "answered", "required", "share"]
        ),
        tuple((p.code, pil_names[p.code]) for p in fw.pillars),
        cst.deadline,
        cst.days_left,
        cst.on_time_rate,
        home.orphan_table(store, fw, city, lang),
        clarify.overdue_table(store, user, city, year, lang, cst.today),
    )


# --------------------------------------------------------------------------- 6. maturity matrix


@dataclass(frozen=True)
class Matrix:
    state: str
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    scale: Scale | None = None
    framework_id: str = ""
    index: float | None = None
    band: BandView | None = None
    dimensions: tuple[tuple[str, str], ...] = ()  # (code, name) in framework order
    pillars: tuple[tuple[str, str], ...] = ()
    # long: dimension, dimension_name, pillar, pillar_name, value, weight, n, missing
    city: pd.DataFrame = field(default_factory=pd.DataFrame)
    # long: opd_code, opd, pillar, pillar_name, value, weight, n (answered indicators)
    opds: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: int = 0
    indicators: int = 0

    @property
    def dimension_codes(self) -> list[str]:
        return [c for c, _ in self.dimensions]

    @property
    def pillar_codes(self) -> list[str]:
        return [c for c, _ in self.pillars]

    @property
    def opd_order(self) -> list[str]:
        return list(dict.fromkeys(self.opds["opd_code"])) if not self.opds.empty else []


def _method_cells(
    fw: Framework, d: Dimension, mv: MethodView, dim_names: dict[str, str], pil_names: dict[str, str]
) -> list[dict[str, object]]:
    """A method dimension's row of the matrix: each pillar's v(d, p) with the dimension's pillar
    weight, as the pillar values count it (a missing one as the scale's minimum under
    `missing: zero`, left out under `exclude`; metrics.scoring rule 6)."""
    rows: list[dict[str, object]] = []
    for p in fw.pillars:
        value = mv.pillar_value(p.code)
        if value is None and fw.missing == "zero":
            value = float(fw.scale_min)
        rows.append(
            {
                "dimension": d.code,
                "dimension_name": dim_names[d.code],
                "pillar": p.code,
                "pillar_name": pil_names[p.code],
                "value": value,
                "weight": d.pillar_weight if value is not None else 0.0,
                "n": 0,
                "missing": 0,
            }
        )
    return rows


def matrix(store: Storage, city: str | None, year: int | None, lang: str = "id", *, user: User) -> Matrix:
    """Dimension x pillar levels for the city, and pillar levels of each OPD's own answers."""
    scope = _open_levels(store, user, city, year, lang, Matrix)
    if not isinstance(scope, _LevelsScope):
        return scope
    fw, scale, name, cs, dim_names, pil_names, levels, city, year = scope
    cells: dict[tuple[str, str], list[scoring.IndicatorLevel]] = defaultdict(list)
    for lv in levels:
        cells[(lv.dimension, lv.pillar)].append(lv)
    city_rows = []
    by_method = {m.code: m for m in _method_views(store, user, fw, city, year, lang)}
    for d in fw.dimensions:
        if d.code in by_method:
            city_rows += _method_cells(fw, d, by_method[d.code], dim_names, pil_names)
            continue
        for p in fw.pillars:
            members = cells.get((d.code, p.code), [])
            f = _formula([(lv.code, lv.weight, lv.score_level) for lv in members])
            city_rows.append(
                {
                    "dimension": d.code,
                    "dimension_name": dim_names[d.code],
                    "pillar": p.code,
                    "pillar_name": pil_names[p.code],
                    "value": f.result,
                    "weight": f.denominator,
                    "n": len(members),
                    "missing": sum(1 for lv in members if lv.source == "missing"),
                }
            )
    # an OPD's level per indicator: the assessor's verified level if any, else its own answer
    # (as scoring.opd_scores counts it)
    verified = {lv.code: lv.verified_level for lv in levels if lv.verified_level is not None}
    ind = {lv.code: lv for lv in levels}
    per_opd: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    opd_names: dict[str, str] = {}
    for a in store.answer_rows(year, city):
        answered = ind.get(a["indicator_code"])
        if answered is None:
            continue
        opd_names[a["opd_code"]] = a["opd_name"]
        level = float(verified.get(answered.code, a["level"]))
        per_opd[(a["opd_code"], answered.pillar)].append((answered.weight, level))
    opd_rows = []
    for oc in sorted(opd_names):
        for p in fw.pillars:
            vals = per_opd.get((oc, p.code), [])
            w = sum(x for x, _ in vals)
            opd_rows.append(
                {
                    "opd_code": oc,
                    "opd": opd_names[oc],
                    "pillar": p.code,
                    "pillar_name": pil_names[p.code],
                    "value": (sum(x * v for x, v in vals) / w) if w else None,
                    "weight": w,
                    "n": len(vals),
                }
            )
    return Matrix(
        "ok",
        city,
        name,
        year,
        scale,
        fw.id,
        cs.index,
        scale.band(cs.index),
        tuple((d.code, dim_names[d.code]) for d in fw.dimensions),
        tuple((p.code, pil_names[p.code]) for p in fw.pillars),
        pd.DataFrame(
            city_rows,
            columns=[
                "dimension",
                "dimension_name",
                "pillar",
                "pillar_name",
                "value",
                "weight",
                "n",
                "missing",
            ],
        ),
        pd.DataFrame(opd_rows, columns=["opd_code", "opd", "pillar", "pillar_name", "value", "weight", "n"]),
        cs.missing,
        cs.indicators,
    )


# --------------------------------------------------------------------------- 7. programmes and methods (issue 17)

STALLED_SHOWN = 5  # Ringkasan lists the first few stalled programmes; the Program page has them all
NO_STATUS = "none"  # a programme of the year with no status recorded for it

_PROGRAMME_COLS = [
    "code",
    "name",
    "kind",
    "pillar",
    "pillar_name",
    "opd_code",
    "opd",
    "status",
    "top_pillar",
    "top_pillar_name",
    "stalled",
    "budget",
]


@dataclass(frozen=True)
class StalledProgrammes:
    """The city's programmes planned for the year that are not running (metrics.programmes.stalled)."""

    year: int
    registered: int  # programmes in the city's register in force (0: no register yet)
    # code, name, kind, pillar, pillar_name, opd_code, opd, status (a PROGRAMME_STATUSES value or
    # "none": no status recorded), top_pillar, top_pillar_name, stalled, budget
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def shown(self) -> pd.DataFrame:
        """The first STALLED_SHOWN rows: what Ringkasan lists."""
        return self.rows.head(STALLED_SHOWN)

    @property
    def more(self) -> int:
        return max(0, self.count - STALLED_SHOWN)


def _programme_row(r: BoardRow, pil_names: dict[str, str]) -> dict[str, Any]:
    """One programme of the year's board as the tables show it."""
    top = r.top_pillar or r.pillar
    return {
        "code": r.code,
        "name": r.name,
        "kind": r.kind,
        "pillar": r.pillar,
        "pillar_name": pil_names.get(r.pillar, r.pillar),
        "opd_code": r.opd,
        "opd": r.opd_name or r.opd,
        "status": r.status if r.recorded else NO_STATUS,
        "top_pillar": top,
        "top_pillar_name": pil_names.get(top, top),
        "stalled": r.stalled,
        "budget": r.budget,
    }


def _may_read_register(user: User, city: str) -> bool:
    """Whether the reader may see the city's programme register (metrics.programmes refuses the
    others): readers of the city's submissions, an OPD operator of the city included."""
    return can(user, Action.READ_SUBMISSIONS, city, user.opd_code)


def _stalled(
    store: Storage, user: User, fw: Framework, city: str, year: int, lang: str
) -> StalledProgrammes | None:
    """The stalled programmes for Ringkasan, or None when the reader may not read the city's
    register (its state is the city's working data, not a published result)."""
    if not _may_read_register(user, city):
        return None
    from metrics import programmes

    _, pil_names = _name_maps(fw, lang)
    rows = [_programme_row(r, pil_names) for r in programmes.stalled(store, user, city, year, lang)]
    return StalledProgrammes(
        year,
        len(programmes.register(store, user, city)),
        pd.DataFrame(rows, columns=_PROGRAMME_COLS),
    )


@dataclass(frozen=True)
class MethodView:
    """What one dimension computed by a method (programmes | survey) counted, as the drill-down
    and the report card show it (from metrics.methods.method_inputs)."""

    code: str
    name: str
    method: str  # programmes | survey
    kind: str | None  # the programme kind a `programmes` dimension counts
    min_respondents: int
    value: float | None
    formula: Formula  # the dimension value: the mean of the pillar values that exist
    # programmes: pillar, pillar_name, planned, running, excluded, stalled, value, formula (in words)
    # survey: pillar, pillar_name, programmes (counted), value
    pillars: pd.DataFrame = field(default_factory=pd.DataFrame)
    # survey: code, name, pillar_name, respondents, mean, impact, sufficient, note
    programmes: pd.DataFrame = field(default_factory=pd.DataFrame)
    ignored: tuple[str, ...] = ()  # survey rows for programmes not in the register that year

    def pillar_value(self, pillar: str) -> float | None:
        if self.pillars.empty:
            return None
        hit = self.pillars.loc[self.pillars["pillar"] == pillar, "value"]
        return _float(hit.iloc[0]) if len(hit) else None

    @property
    def insufficient(self) -> pd.DataFrame:
        """The surveyed programmes left out for having fewer respondents than the minimum."""
        if self.programmes.empty:
            return self.programmes
        return self.programmes[~self.programmes["sufficient"].astype(bool)].reset_index(drop=True)


def _float(v: object) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        x = float(v)  # type: ignore[arg-type]  # numpy and pandas scalars, as the frames hold them
    except (TypeError, ValueError):
        return None
    return None if x != x else x


def _method_views(
    store: Storage, user: User, fw: Framework, city: str, year: int, lang: str
) -> tuple[MethodView, ...]:
    """Each method dimension's inputs (metrics.methods.method_inputs), with the pillar formulas
    written out so a reader can recompute every value."""
    from metrics import methods

    _, pil_names = _name_maps(fw, lang)
    out = []
    for mi in methods.method_inputs(store, user, city, year, lang):
        if mi.method == "programmes":
            pillars = pd.DataFrame(
                [
                    {
                        "pillar": p.pillar,
                        "pillar_name": pil_names.get(p.pillar, p.pillar),
                        "planned": p.planned,
                        "running": p.running,
                        "excluded": p.excluded,
                        # not started, or stopped without an accepted reason (programmes.stalled)
                        "stalled": p.not_started + p.stalled,
                        "value": p.value,
                        "formula": _programmes_formula(p.running, p.planned, p.value, lang),
                    }
                    for p in mi.pillars
                ],
                columns=[
                    "pillar",
                    "pillar_name",
                    "planned",
                    "running",
                    "excluded",
                    "stalled",
                    "value",
                    "formula",
                ],
            )
        else:
            pillars = pd.DataFrame(
                [
                    {
                        "pillar": p.pillar,
                        "pillar_name": pil_names.get(p.pillar, p.pillar),
                        "programmes": p.programmes,
                        "value": p.value,
                    }
                    for p in mi.pillars
                ],
                columns=["pillar", "pillar_name", "programmes", "value"],
            )
        surveyed = pd.DataFrame(
            [
                {
                    "code": s.code,
                    "name": s.name,
                    "respondents": s.respondents,
                    "mean": s.mean,
                    "impact": s.impact,
                    "sufficient": s.sufficient,
                    "note": t("drill.method_counted", lang)
                    if s.sufficient
                    else t("drill.method_insufficient", lang, min=mi.min_respondents),
                }
                for s in mi.programmes
            ],
            columns=["code", "name", "respondents", "mean", "impact", "sufficient", "note"],
        )
        # D_d as metrics.scoring states it: programmes, the mean over every top-level pillar (a
        # missing one as the scale minimum under `missing: zero`); survey, the mean impact of
        # the sufficient programmes
        terms = (
            [(p.pillar, 1.0, _missing_as(fw, p.value)) for p in mi.pillars]
            if mi.method == "programmes"
            else [(s.code, 1.0, s.impact) for s in mi.programmes if s.sufficient]
        )
        out.append(
            MethodView(
                mi.code,
                mi.name,
                mi.method,
                mi.kind,
                mi.min_respondents,
                mi.value,
                _formula(terms),
                pillars,
                surveyed,
                tuple(mi.ignored),
            )
        )
    return tuple(out)


def _programmes_formula(running: int, planned: int, value: float | None, lang: str) -> str:
    """'4 × 3 berjalan / 4 direncanakan = 3,00': a programmes pillar value in words and numbers."""
    if not planned or value is None:
        return t("drill.method_no_programmes", lang)
    return t(
        "drill.method_pillar_formula",
        lang,
        running=running,
        planned=planned,
        value=formatting.number(value, lang),
    )


@dataclass(frozen=True)
class ProgrammeList:
    """The city's programmes of the year per pillar, with this year's status (stalled ones marked)
    and budget, and what the method dimensions counted: the report card's programme page."""

    state: str
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    # code, name, kind, pillar, pillar_name, opd_code, opd, status, top_pillar, top_pillar_name,
    # stalled (bool), budget (whole Rupiah that year, every source)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    # per pillar of the framework with programmes: pillar, pillar_name, programmes, running, stalled, budget
    pillars: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget_total: int = 0
    methods: tuple[MethodView, ...] = ()
    # dimensions in framework order: code, name, weight, method, value
    dimensions: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def surveys(self) -> tuple[MethodView, ...]:
        return tuple(m for m in self.methods if m.method == "survey")


def programme_list(
    store: Storage, city: str | None, year: int | None, lang: str = "id", *, user: User
) -> ProgrammeList:
    """The programmes of the city for `year` per pillar (status, stalled, budget: the programme
    board of metrics.programmes) and the inputs of the method dimensions; for readers of the
    city's register (metrics.programmes refuses the others)."""
    scope = _open(store, user, city, year, lang, ProgrammeList)
    if not isinstance(scope, _Scope):
        return scope
    fw, name, city, year = scope.fw, scope.name, scope.city, scope.year
    from metrics import programmes

    dim_names, pil_names = _name_maps(fw, lang)
    b = programmes.board(store, user, city, year, lang)
    table = pd.DataFrame([_programme_row(r, pil_names) for r in b.rows], columns=_PROGRAMME_COLS)
    per_pillar = []
    for p in fw.pillars:
        cells = [c for c in b.cells if c.pillar == p.code and c.planned]
        if not cells:
            continue
        per_pillar.append(
            {
                "pillar": p.code,
                "pillar_name": pil_names[p.code],
                "programmes": sum(c.planned for c in cells),
                "running": sum(c.running for c in cells),
                "stalled": sum(c.stalled for c in cells),
                "budget": sum(c.budget for c in cells),
            }
        )
    cs = scoring.city_score(store, city, year)
    dims = pd.DataFrame(
        [
            {
                "code": d.code,
                "name": dim_names[d.code],
                "weight": d.weight,
                "method": d.method,
                "value": cs.dimensions.get(d.code) if cs is not None else None,
            }
            for d in fw.dimensions
        ],
        columns=["code", "name", "weight", "method", "value"],
    )
    return ProgrammeList(
        "ok",
        city,
        name,
        year,
        table,
        pd.DataFrame(
            per_pillar, columns=["pillar", "pillar_name", "programmes", "running", "stalled", "budget"]
        ),
        sum(r.budget for r in b.rows),
        _method_views(store, user, fw, city, year, lang),
        dims,
    )


def _method_pillar_term(fw: Framework, m: MethodView, pillar: str) -> float | None:
    """What method dimension `m` puts into pillar `pillar`'s value (metrics.scoring, rule 6)."""
    return _missing_as(fw, m.pillar_value(pillar))


def _missing_as(fw: Framework, v: float | None) -> float | None:
    """A missing method value as the framework counts it: the scale minimum under `missing:
    zero`, left out (None) under `missing: exclude`."""
    if v is None and fw.missing == "zero":
        return float(fw.scale_min)
    return v


def _na_table(store: Storage, user: User, fw: Framework, city: str, year: int, lang: str) -> pd.DataFrame:
    """The indicators marked not applicable this year, confirmed (left out) or pending (missing)."""
    from metrics import methods

    dim_names, pil_names = _name_maps(fw, lang)
    rows = []
    for na in methods.na_indicators(store, user, city, year):
        if na.status == "withdrawn":  # decided on, but no OPD claims it any more: an ordinary answer
            continue
        ind = fw.indicator(na.code)
        rows.append(
            {
                "code": na.code,
                "name": pick(ind.name, lang) if ind else na.code,
                "dimension_name": dim_names.get(ind.dimension, ind.dimension) if ind else "",
                "pillar_name": pil_names.get(ind.pillar, ind.pillar) if ind else "",
                "status": na.status,
                "reason": na.reason,
            }
        )
    return pd.DataFrame(rows, columns=NA_COLUMNS)
