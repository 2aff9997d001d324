"""The smart-city maturity index, computed in DuckDB exactly as the framework documents it.

Every year is scored under the framework in force that year. Values keep full precision;
rounding is for display only. The SQL lives in the store (metrics/store/score_sql.py, run by
metrics/store/scores.py); this module shapes its rows into typed results and holds the small pure
calculations built on them (ranks, priorities). The rules, for city c and year y:

Effective level of a rubric indicator i: the assessor's verified level if any; else, for a metric
indicator with a value that year, the number of thresholds the year's aggregate reaches (>= for
higher-is-better, <= for lower-is-better); else the mean of the self-assessed levels in the
submission in force of each OPD that answered it; else missing (the scale minimum when the
framework says `missing: zero`, left out under `missing: exclude`).

1. Rubric dimensions and sub-pillars: D_d = sum(w_i * L_i) / sum(w_i) over the rubric indicators
   of dimension d (sub-pillars likewise, over their rubric indicators only).
2. Not applicable. An `allow_na` indicator may be answered "tidak berlaku" with a reason in an
   OPD's assessment in force (a claim); a claim gives no level and never counts as answered. An
   assessor accepts or rejects it per city-year and indicator; the newest decision counts. The
   indicator is CONFIRMED not applicable when its newest decision is `accepted` and at least one
   assessment in force of the city-year claims it. Unconfirmed claims (no decision, or rejected)
   give no level: the indicator is missing unless another source gives it a level (another OPD's
   level, a metric). A confirmed indicator leaves the weights and the counts (indicators,
   missing) of its dimension, pillar, sub-pillar and the total, and completeness (its pairs -
   one per responsible OPD, one if none - and its answered OPDs); a verification of it is
   ignored. Each OPD's index and completeness likewise leave it out.
3. Thresholds per city category: a metric indicator's thresholds for a city are those the
   framework gives for the city's registry category, else its `default` ones. With
   `per_population: N` the thresholds apply to value / population * N, population being the
   city's figure for the latest year not after y (else the registry's one figure); with no
   population there is no metric level (the self-assessment counts, as for a missing value).
4. `programmes` dimension d of kind k: the programmes of c's register in force (its newest
   version) of kind k with start_year <= y <= end_year; those whose status in y is `dihentikan`
   with an accepted reason are excluded. Per top-level pillar p of y's framework (a programme's
   pillar or sub-pillar maps to its top-level pillar; a programme whose pillar is not in the
   framework is ignored): planned_p = the programmes of p not excluded, running_p = those whose
   status in y is `berjalan` or `selesai` (no status in y: `direncanakan`).
       v(d, p) = scale_min + (scale_max - scale_min) * running_p / planned_p  (planned_p > 0; else missing)
       D_d = mean over ALL the framework's top-level pillars of v(d, p), a missing one counting as
             scale_min under `missing: zero` and left out under `missing: exclude` (none left: missing)
   e.g. 10 of 12 Smart Economy masterplan programmes running, scale 0-4: v = 4 * 10/12 = 3.3333.
5. `survey` dimension d: the survey import in force for (c, y) (the newest). A surveyed programme
   of the register in force (others are ignored) is SUFFICIENT when its respondents >=
   d.min_respondents; impact_j = scale_min + (scale_max - scale_min) * (mean answer - 1) / 4 (the
   1-5 answers mapped onto the scale: mean - 1 on 0-4).
       D_d = mean impact_j over the sufficient programmes (none: missing)
       v(d, p) = mean impact_j over the sufficient programmes whose pillar maps to p (none: missing)
6. Pillars: P_p = (sum_i w_i * L_i + sum_d pw_d * v(d, p)) / (sum_i w_i + sum_d pw_d), i over the
   rubric indicators of p, d over the non-rubric dimensions, pw_d the dimension's
   `pillar_weight`; a missing v(d, p) counts as scale_min (pw_d in the denominator) under
   `missing: zero` and is left out of both sums under `missing: exclude`.
7. index = sum(W_d * D_d) / sum(W_d) over the dimensions that have a value (method dimensions
   included).

Method dimensions have no indicators, so they count only through these values. A city-year is
scored when it has a submission in force or a verification, or is asked for; programmes or a
survey alone do not add one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metrics.framework import Band, Framework
from metrics.loaded_frameworks import loaded_frameworks

if TYPE_CHECKING:
    from metrics.records import SubmissionBatch
    from metrics.storage import Row, Storage


@dataclass(frozen=True)
class CityScore:
    city_code: str
    year: int
    framework_id: str
    fw_seq: int
    index: float | None
    band: Band | None
    dimensions: dict[str, float | None]
    pillars: dict[str, float | None]
    subpillars: dict[str, float | None]
    completeness: float | None  # share of (indicator, responsible OPD) pairs answered
    indicators: int
    missing: int  # indicators with no level, counted as the scale minimum when missing: zero
    pairs: int
    answered: int

    def to_json(self) -> dict[str, object]:
        return {
            "city_code": self.city_code,
            "index": self.index,
            "band": self.band.label["id"] if self.band else None,
            "band_en": self.band.label["en"] if self.band else None,
            "dimensions": self.dimensions,
            "pillars": self.pillars,
            "subpillars": self.subpillars,
            "completeness": self.completeness,
            "indicators": self.indicators,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class OpdScore:
    city_code: str
    opd_code: str
    name: str
    opd_type: str
    year: int
    index: float | None  # over the indicators it answered, the dimensions present
    pairs: int
    answered: int
    last_upload: datetime | None  # when its version in force was accepted (naive UTC)
    submission_id: int | None

    @property
    def completeness(self) -> float | None:
        return self.answered / self.pairs if self.pairs else None


@dataclass(frozen=True)
class IndicatorLevel:
    code: str
    name: dict[str, str]  # {"id", "en"}
    dimension: str
    pillar: str
    subpillar: str | None
    weight: float
    effective: float | None
    score_level: float | None
    source: str  # verified | metric | self | missing | na (confirmed not applicable: counts nowhere)
    verified_level: int | None
    metric_code: str | None
    metric_value: float | None
    metric_level: int | None
    metric_unit: str | None
    metric_aggregate: str | None
    metric_direction: str | None
    thresholds: list[float] | None  # those of the city's category (the default ones when none given)
    self_level: float | None
    n_opd: int
    responsible_opds: int
    opd_types: list[str] = field(default_factory=list)
    # the value the thresholds apply to: metric_value / population * per_population when the
    # framework normalises by population (None without a population figure: no metric level)
    metric_basis: float | None = None
    population: int | None = None  # the city's population used for the year
    per_population: float | None = None
    allow_na: bool = False
    na_claims: int = 0  # OPDs whose assessment in force answers it "tidak berlaku"

    @property
    def metric_unscored_reason(self) -> str | None:
        """Why a metric value gave no level: `no_population` (per-population, no figure)."""
        if self.metric_value is not None and self.metric_level is None and self.per_population is not None:
            return "no_population"
        return None


def _frameworks_by_seq(store: Storage) -> dict[int, Framework]:
    return {seq: fw for fw, seq in loaded_frameworks(store)}


def score(
    store: Storage, years: list[int] | None = None, city: str | None = None, from_raw: bool = False
) -> list[CityScore]:
    """Scores of every city-year with data (and of `city` for each of `years` even without).

    `from_raw` recomputes them from the raw answer rows rather than the score tables that every
    write keeps up to date: the same numbers, slower; for checks and benchmarks.
    """
    return _city_scores(store, store.score_table(list(years) if years is not None else None, city, from_raw))


def _city_scores(store: Storage, t: dict[str, list[Any]]) -> list[CityScore]:
    """CityScores from the columns of store.score_table (or store.scores_if)."""
    fws = _frameworks_by_seq(store)
    # the breakdowns' keys in framework order, once per framework rather than once per city-year
    orders = {
        seq: ([d.code for d in fw.dimensions], [p.code for p in fw.pillars], [s.code for s in fw.subpillars])
        for seq, fw in fws.items()
    }
    out = []
    for city_code, year, seq, index, dc, dv, pc, pv, sc, sv, indicators, missing, pairs, answered in zip(
        t["city_code"],
        t["year"],
        t["fw_seq"],
        t["index"],
        t["dim_codes"],
        t["dim_values"],
        t["pillar_codes"],
        t["pillar_values"],
        t["sub_codes"],
        t["sub_values"],
        t["indicators"],
        t["missing"],
        t["pairs"],
        t["answered"],
    ):
        fw = fws.get(seq)
        if fw is None:
            continue
        od, op, osub = orders[seq]
        got = dict(zip(dc or (), dv or ()))
        dims = {c: got[c] for c in od if c in got}
        got = dict(zip(pc or (), pv or ()))
        pillars = {c: got[c] for c in op if c in got}
        got = dict(zip(sc or (), sv or ()))
        subs = {c: got[c] for c in osub if c in got}
        pairs, answered = int(pairs or 0), int(answered or 0)
        out.append(
            CityScore(
                city_code=city_code,
                year=year,
                framework_id=fw.id,
                fw_seq=seq,
                index=index,
                band=fw.band(index),
                dimensions=dims,
                pillars=pillars,
                subpillars=subs,
                completeness=(answered / pairs) if pairs else None,
                indicators=int(indicators or 0),
                missing=int(missing or 0),
                pairs=pairs,
                answered=answered,
            )
        )
    out.sort(key=lambda s: (s.year, s.city_code))
    return out


def recomputation_differences(store: Storage, years: list[int] | None = None, tol: float = 1e-9) -> list[str]:
    """Where the scores served from the score tables differ from a recomputation from the raw
    answer rows (empty when they agree): the check that the tables every write keeps up to date
    are exact. `python -m metrics score --check` runs it for an operator."""
    kept = {(s.city_code, s.year): s for s in score(store, years)}
    raw = {(s.city_code, s.year): s for s in score(store, years, from_raw=True)}
    out = []
    for key in sorted(kept.keys() | raw.keys()):
        a, b = kept.get(key), raw.get(key)
        where = f"{key[0]} {key[1]}"
        if a is None or b is None:
            out.append(f"{where}: {'only recomputed' if a is None else 'only in the score tables'}")
            continue
        for name in ("fw_seq", "indicators", "missing", "pairs", "answered"):
            if getattr(a, name) != getattr(b, name):
                out.append(f"{where}: {name} {getattr(a, name)} kept, {getattr(b, name)} recomputed")
        for name in ("index", "dimensions", "pillars", "subpillars"):
            x, y = getattr(a, name), getattr(b, name)
            xs, ys = (x, y) if isinstance(x, dict) else ({"": x}, {"": y})
            if xs.keys() != ys.keys() or any(
                (xs[k] is None) != (ys[k] is None) or (xs[k] is not None and abs(xs[k] - ys[k]) > tol)
                for k in xs
            ):
                out.append(f"{where}: {name} {x} kept, {y} recomputed")
    return out


def city_score(store: Storage, city: str, year: int) -> CityScore | None:
    return next(iter(score(store, [year], city)), None)


def scores_if(
    store: Storage, batch: SubmissionBatch, username: str, city: str, year: int
) -> tuple[CityScore | None, dict[str, OpdScore]]:
    """The city's score and its OPDs' scores (by OPD code) as they would be with `batch` stored.

    What an upload's preview shows before anything takes force: computed by the store writing
    the batch in a transaction it rolls back, so the numbers are those the upload would give.
    """
    table, rows = store.scores_if(batch, username, city, year)
    city_score_ = next(iter(_city_scores(store, table)), None)
    return city_score_, {o.opd_code: o for o in _opd_scores(rows)}


def opd_scores(store: Storage, year: int | list[int], city: str | None = None) -> list[OpdScore]:
    years = year if isinstance(year, list) else [year]
    return _opd_scores(store.opd_score_rows(years, city))


def _opd_scores(rows: list[Row]) -> list[OpdScore]:
    out = [OpdScore(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]), r[8], r[9]) for r in rows]
    out.sort(key=lambda s: (s.year, s.city_code, s.opd_code))
    return out


def indicator_levels(store: Storage, city: str, year: int) -> list[IndicatorLevel]:
    return [_indicator_level(r) for r in store.indicator_rows(year, city)]


def indicator_levels_by_city(store: Storage, year: int) -> dict[str, list[IndicatorLevel]]:
    """Every scored city's indicator levels in `year` (one read: the open-data package's)."""
    out: dict[str, list[IndicatorLevel]] = defaultdict(list)
    for r in store.indicator_rows(year, None):
        out[r["city_code"]].append(_indicator_level(r))
    return dict(out)


def _indicator_level(r: dict[str, Any]) -> IndicatorLevel:
    return IndicatorLevel(
        code=r["code"],
        name={"id": r["name_id"], "en": r["name_en"]},
        dimension=r["dimension"],
        pillar=r["pillar"],
        subpillar=r["subpillar"],
        weight=r["weight"],
        effective=r["effective"],
        score_level=r["score_level"],
        source=r["source"],
        verified_level=r["verified_level"],
        metric_code=r["metric_code"],
        metric_value=r["metric_value"],
        metric_level=r["metric_level"],
        metric_unit=r["metric_unit"],
        metric_aggregate=r["metric_aggregate"],
        metric_direction=r["metric_direction"],
        thresholds=r["thresholds"],
        self_level=r["self_level"],
        n_opd=int(r["n_opd"]),
        responsible_opds=int(r["responsible_opds"]),
        opd_types=list(r["opd_types"] or []),
        metric_basis=r["metric_basis"],
        population=int(r["population"]) if r["population"] is not None else None,
        per_population=r["per_population"],
        allow_na=bool(r["allow_na"]),
        na_claims=int(r["na_claims"] or 0),
    )


def competition_ranks(values: list[tuple[str, float | None]]) -> list[tuple[str, float | None, int | None]]:
    """Order by value descending; ties share a rank (1, 2, 2, 4); missing values get no rank."""
    present = sorted(((c, v) for c, v in values if v is not None), key=lambda x: (-x[1], x[0]))
    out: list[tuple[str, float | None, int | None]] = []
    prev, rank = None, 0
    for n, (code, value) in enumerate(present, start=1):
        if value != prev:
            rank, prev = n, value
        out.append((code, value, rank))
    out.extend((code, None, None) for code, v in sorted(values) if v is None)
    return out


@dataclass(frozen=True)
class Priority:
    code: str
    name: dict[str, str]  # {"id", "en"}
    dimension: str
    pillar: str
    level: float  # the level used in the index now
    gain: float  # index points gained if this indicator rose one level (less if it would pass the top)


def index_gain_per_level(
    fw: Framework, levels: list[IndicatorLevel], dimensions: Mapping[str, float | None] | None = None
) -> dict[str, float]:
    """How much the city index moves when one indicator rises one level, everything else equal.

    d(index)/d(L_i) = (W_d / sum W over present dimensions) * (w_i / sum w over dimension d).
    The present dimensions are those of `dimensions` (a CityScore's) with a value, programme and
    survey dimensions included; without it, the rubric dimensions with a counted indicator.
    """
    dim_w = {d.code: d.weight for d in fw.dimensions}
    counted = [lv for lv in levels if lv.score_level is not None]
    dims_present = {lv.dimension for lv in counted}
    if dimensions is not None:
        dims_present |= {d for d, v in dimensions.items() if v is not None and d in dim_w}
    # exact sums (math.fsum): a plain sum over a set depends on its order, which changes with
    # each process's string hashing, and a gain that differs in its last bit between processes
    # changed which of several equally cheap paths to a target was offered (metrics.targets)
    total_w = math.fsum(dim_w[d] for d in dims_present) or 1.0
    by_dim: dict[str, list[float]] = defaultdict(list)
    for lv in counted:
        by_dim[lv.dimension].append(lv.weight)
    w_in_dim = {d: math.fsum(ws) for d, ws in by_dim.items()}
    return {lv.code: (dim_w[lv.dimension] / total_w) * (lv.weight / w_in_dim[lv.dimension]) for lv in counted}


def priorities(
    fw: Framework,
    levels: list[IndicatorLevel],
    n: int = 5,
    dimensions: Mapping[str, float | None] | None = None,
) -> list[Priority]:
    """The `n` indicators that would raise the index most if improved by one level (`dimensions`:
    the city's dimension values, so that the method dimensions share the index; see
    index_gain_per_level)."""
    gains = index_gain_per_level(fw, levels, dimensions)
    cands = [
        Priority(
            lv.code,
            lv.name,
            lv.dimension,
            lv.pillar,
            lv.score_level,
            gains[lv.code] * min(1.0, fw.scale_max - lv.score_level),
        )
        for lv in levels
        if lv.score_level is not None and lv.score_level < fw.scale_max and lv.code in gains
    ]
    cands.sort(key=lambda p: (-p.gain, p.level, p.code))
    return cands[:n]
