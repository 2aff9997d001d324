"""What-if for a framework change: every city's index, band and rank for a loaded year under a
candidate framework, beside today's, without loading it.

The re-score runs in the store (metrics.store.whatif) over the kept per-indicator facts with
the candidate shadowing the year's framework, so it follows the very rules a loaded framework
would; nothing is stored, and the preview is audited as a read.

A candidate comes as framework YAML (validated by metrics.framework.parse_framework, errors
located as for a load) or as edits of the year's framework made on the page (`FrameworkEdits`):
those are applied to the Framework objects, written out in the framework file format and parsed
back, so the one validator of framework files judges them too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from metrics import formatting
from metrics.auth import Action, User, require
from metrics.errors import ValidationError
from metrics.framework import (
    DEFAULT_CATEGORY,
    PROGRAMME_KINDS,
    Band,
    Dimension,
    Framework,
    Indicator,
    Metric,
    framework_for_year,
    parse_framework,
)
from metrics.governance import framework_upload_text
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.scoring import competition_ranks

if TYPE_CHECKING:
    from metrics.storage import Storage

AUDIT_ACTION = "framework.whatif"  # a read: it does not move the content version (audit_log)
_SAME = 1e-12  # contributions closer than this did not change


@dataclass(frozen=True)
class CityChange:
    city_code: str
    name: str
    province: str
    category: str | None
    index_before: float | None
    index_after: float | None
    delta: float | None  # after - before (None when either is missing)
    band_before: str | None  # the band's label in the result's language
    band_after: str | None
    rank_before: int | None  # competition ranks (1, 2, 2, 4) among the year's cities
    rank_after: int | None
    rank_change: int | None  # rank_before - rank_after: positive = moved up
    driver: str  # why, in the result's language: the dimension whose contribution moved most
    dimensions_before: dict[str, float | None]
    dimensions_after: dict[str, float | None]
    # added to the committed contract: the pillar values (the key test compares them too)
    pillars_before: dict[str, float | None] = field(default_factory=dict)
    pillars_after: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class WhatIfResult:
    year: int
    framework_before: str  # framework ids
    framework_after: str
    changes: tuple[str, ...]  # the framework differences, in the result's language
    cities: tuple[CityChange, ...]  # by rank_after, then code
    moved: int  # cities whose rank changed
    elapsed_ms: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FrameworkEdits:
    """Changes to a framework made on the page (empty: none)."""

    dimension_weights: dict[str, float] = field(default_factory=dict)
    indicator_weights: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, tuple[float, ...]] = field(default_factory=dict)  # a metric's default ones
    methods: dict[str, str] = field(default_factory=dict)  # dimension -> rubric | programmes | survey
    missing: str | None = None  # zero | exclude
    bands: tuple[tuple[float, str], ...] | None = None  # (min, label), ascending


# --------------------------------------------------------------------------- frameworks


def framework_of_year(store: Storage, year: int) -> Framework:
    """The framework in force for `year` (what a candidate is compared with)."""
    fw = framework_for_year(loaded_frameworks(store), year)
    if fw is None:
        raise ValidationError("whatif.error.no_framework", year=year)
    return fw


def editable_framework(store: Storage, user: User, year: int) -> Framework:
    """The year's framework as the what-if page offers it for editing: the admin's only."""
    require(user, Action.LOAD_FRAMEWORK)
    return framework_of_year(store, year)


def framework_document(fw: Framework) -> dict[str, Any]:
    """`fw` in the framework file format (the inverse of metrics.framework.build)."""

    def dimension(d: Dimension) -> dict[str, Any]:
        out: dict[str, Any] = {"code": d.code, "name": dict(d.name), "weight": d.weight, "method": d.method}
        if d.kind is not None:
            out["kind"] = d.kind
        return out | {"min_respondents": d.min_respondents, "pillar_weight": d.pillar_weight}

    def indicator(i: Indicator) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": i.code,
            "pillar": i.subpillar or i.pillar,
            "dimension": i.dimension,
            "weight": i.weight,
            "opd_types": list(i.opd_types),
            "name": dict(i.name),
            "levels": {level: dict(text) for level, text in i.levels.items()},
            "allow_na": i.allow_na,
        }
        if i.metric is not None:
            m = i.metric
            thresholds: Any = list(m.thresholds)
            if m.category_thresholds:
                thresholds = {DEFAULT_CATEGORY: thresholds} | {
                    c: list(th) for c, th in m.category_thresholds.items()
                }
            metric: dict[str, Any] = {
                "code": m.code,
                "unit": m.unit,
                "aggregate": m.aggregate,
                "direction": m.direction,
                "thresholds": thresholds,
            }
            if m.per_population is not None:
                metric["per_population"] = m.per_population
            out["metric"] = metric
        if i.evidence:
            out["evidence"] = {level: [dict(x) for x in items] for level, items in i.evidence.items()}
        return out

    return {
        "id": fw.id,
        "applies_from": fw.applies_from,
        "name": dict(fw.name),
        "scale": {"min": fw.scale_min, "max": fw.scale_max},
        "missing": fw.missing,
        "bands": [{"min": b.min, "label": dict(b.label)} for b in fw.bands],
        "dimensions": [dimension(d) for d in fw.dimensions],
        "pillars": [
            {"code": p.code, "name": dict(p.name)}
            | (
                {"subpillars": [{"code": s.code, "name": dict(s.name)} for s in subs]}
                if (subs := [s for s in fw.subpillars if s.parent == p.code])
                else {}
            )
            for p in fw.pillars
        ],
        "indicators": [indicator(i) for i in fw.indicators],
    }


def framework_yaml(fw: Framework) -> str:
    """`fw` as framework YAML, which parse_framework reads back to an equal Framework."""
    return yaml.safe_dump(framework_document(fw), allow_unicode=True, sort_keys=False, width=100)


def edited_framework(base: Framework, edits: FrameworkEdits) -> Framework:
    """`base` with the page's `edits`, validated by the framework file validator (a broken rule is
    its located ValidationError, e.g. dimension weights that no longer sum to 1). Its id is the
    base's with `-edit` appended, its source the YAML it was checked as."""
    for code in [*edits.dimension_weights, *edits.methods]:
        if base.dimension(code) is None:
            raise ValidationError("whatif.error.unknown_code", code=code, framework=base.id)
    for code in [*edits.indicator_weights, *edits.thresholds]:
        if base.indicator(code) is None:
            raise ValidationError("whatif.error.unknown_code", code=code, framework=base.id)

    dimensions = [
        dataclasses.replace(d, weight=float(edits.dimension_weights.get(d.code, d.weight)))
        for d in base.dimensions
    ]
    for n, d in enumerate(dimensions):
        method = edits.methods.get(d.code, d.method)
        if method == d.method:
            continue
        kind = None
        if method == "programmes":  # a kind no other programmes dimension counts (else the validator says so)
            taken = {x.kind for x in dimensions if x.method == "programmes"}
            kind = next((k for k in PROGRAMME_KINDS if k not in taken), None)
        dimensions[n] = dataclasses.replace(d, method=method, kind=kind)

    indicators = []
    for i in base.indicators:
        changed = dataclasses.replace(i, weight=float(edits.indicator_weights.get(i.code, i.weight)))
        if i.code in edits.thresholds:
            if i.metric is None:
                raise ValidationError("whatif.error.not_metric", code=i.code)
            metric = dataclasses.replace(
                i.metric, thresholds=tuple(float(x) for x in edits.thresholds[i.code])
            )
            changed = dataclasses.replace(changed, metric=metric)
        indicators.append(changed)

    bands = base.bands
    if edits.bands is not None:
        known = {b.label[lang]: b.label for b in base.bands for lang in ("en", "id")}
        bands = tuple(Band(float(lo), known.get(text, {"id": text, "en": text})) for lo, text in edits.bands)
    edited = dataclasses.replace(
        base,
        id=f"{base.id}-edit",
        missing=edits.missing or base.missing,
        bands=bands,
        dimensions=tuple(dimensions),
        indicators=tuple(indicators),
    )
    return parse_framework(framework_yaml(edited))


# --------------------------------------------------------------------------- the differences


def _list(values: tuple[float, ...] | None, lang: str) -> str:
    return "–" if values is None else "[" + "; ".join(formatting.plain(v, lang) for v in values) + "]"


def framework_changes(before: Framework, after: Framework, lang: str = "id") -> tuple[str, ...]:
    """The differences between two frameworks that can change a score, in `lang`."""
    out: list[str] = []

    def say(key: str, **params: object) -> None:
        out.append(t(f"whatif.change.{key}", lang, **params))

    if (before.scale_min, before.scale_max) != (after.scale_min, after.scale_max):
        say(
            "scale",
            before=f"{before.scale_min}–{before.scale_max}",
            after=f"{after.scale_min}–{after.scale_max}",
        )
    if before.missing != after.missing:
        say("missing", before=before.missing, after=after.missing)
    if before.bands != after.bands:

        def bands(fw: Framework) -> str:
            return "; ".join(f"{pick(b.label, lang)} ≥ {formatting.plain(b.min, lang)}" for b in fw.bands)

        say("bands", before=bands(before), after=bands(after))

    dims_b = {d.code: d for d in before.dimensions}
    dims_a = {d.code: d for d in after.dimensions}
    for code, d in dims_a.items():
        if code not in dims_b:
            say("dimension_added", code=code, name=pick(d.name, lang))
    for code, d in dims_b.items():
        a = dims_a.get(code)
        if a is None:
            say("dimension_removed", code=code, name=pick(d.name, lang))
            continue
        if a.weight != d.weight:
            say(
                "dimension_weight",
                code=code,
                before=formatting.plain(d.weight, lang),
                after=formatting.plain(a.weight, lang),
            )
        if (a.method, a.kind) != (d.method, d.kind):
            say(
                "dimension_method",
                code=code,
                before=" ".join(filter(None, (d.method, d.kind))),
                after=" ".join(filter(None, (a.method, a.kind))),
            )
        for name in ("pillar_weight", "min_respondents"):
            x, y = getattr(d, name), getattr(a, name)
            if x != y and a.method != "rubric":
                say("dimension_setting", code=code, field=name, before=x, after=y)

    pillars_b = {p.code for p in (*before.pillars, *before.subpillars)}
    pillars_a = {p.code for p in (*after.pillars, *after.subpillars)}
    for code in sorted(pillars_a - pillars_b):
        say("pillar_added", code=code)
    for code in sorted(pillars_b - pillars_a):
        say("pillar_removed", code=code)

    for i in after.indicators:
        if before.indicator(i.code) is None:
            say("indicator_added", code=i.code, name=pick(i.name, lang))
    for i in before.indicators:
        a_ = after.indicator(i.code)
        if a_ is None:
            say("indicator_removed", code=i.code, name=pick(i.name, lang))
            continue
        out.extend(_indicator_changes(i, a_, lang))
    return tuple(out)


def _metric_text(m: Metric | None) -> str:
    return "–" if m is None else f"{m.code} ({m.aggregate}, {m.direction})"


def _indicator_changes(b: Indicator, a: Indicator, lang: str) -> list[str]:
    out: list[str] = []
    code = b.code
    if a.weight != b.weight:
        out.append(
            t(
                "whatif.change.indicator_weight",
                lang,
                code=code,
                before=formatting.plain(b.weight, lang),
                after=formatting.plain(a.weight, lang),
            )
        )
    for name, x, y in (
        ("dimension", b.dimension, a.dimension),
        ("pillar", b.subpillar or b.pillar, a.subpillar or a.pillar),
        ("opd_types", ", ".join(b.opd_types), ", ".join(a.opd_types)),
        ("allow_na", b.allow_na, a.allow_na),
    ):
        if x != y:
            out.append(t("whatif.change.indicator_setting", lang, code=code, field=name, before=x, after=y))
    mb, ma = b.metric, a.metric
    if _metric_text(mb) != _metric_text(ma):
        out.append(
            t(
                "whatif.change.indicator_metric",
                lang,
                code=code,
                before=_metric_text(mb),
                after=_metric_text(ma),
            )
        )
    if mb is not None and ma is not None:
        categories = sorted({DEFAULT_CATEGORY, *mb.category_thresholds, *ma.category_thresholds})
        for category in categories:
            th_b = mb.thresholds if category == DEFAULT_CATEGORY else mb.category_thresholds.get(category)
            th_a = ma.thresholds if category == DEFAULT_CATEGORY else ma.category_thresholds.get(category)
            if th_b != th_a:
                out.append(
                    t(
                        "whatif.change.indicator_thresholds",
                        lang,
                        code=code,
                        category=category,
                        before=_list(th_b, lang),
                        after=_list(th_a, lang),
                    )
                )
        if mb.per_population != ma.per_population:
            out.append(
                t(
                    "whatif.change.indicator_setting",
                    lang,
                    code=code,
                    field="per_population",
                    before=formatting.plain(mb.per_population, lang),
                    after=formatting.plain(ma.per_population, lang),
                )
            )
    return out


def _changed_indicators(before: Framework, after: Framework) -> set[str]:
    """Codes of the indicators added, removed or changed in anything a score reads."""
    codes = {i.code for i in before.indicators} ^ {i.code for i in after.indicators}
    for i in after.indicators:
        b = before.indicator(i.code)
        if b is not None and (
            b.weight,
            b.dimension,
            b.pillar,
            b.subpillar,
            b.metric,
            b.allow_na,
            b.opd_types,
        ) != (i.weight, i.dimension, i.pillar, i.subpillar, i.metric, i.allow_na, i.opd_types):
            codes.add(i.code)
    return codes


# --------------------------------------------------------------------------- the what-if


@dataclass(frozen=True)
class _Scores:
    index: float | None
    dimensions: dict[str, float | None]
    pillars: dict[str, float | None]


def _scores(table: dict[str, list[Any]], fw: Framework) -> dict[str, _Scores]:
    """Per city, its index and breakdowns from score_table-like columns, in `fw`'s order."""
    dims = [d.code for d in fw.dimensions]
    pillars = [p.code for p in fw.pillars]
    out = {}
    for city, index, dc, dv, pc, pv in zip(
        table["city_code"],
        table["index"],
        table["dim_codes"],
        table["dim_values"],
        table["pillar_codes"],
        table["pillar_values"],
        strict=True,
    ):
        got_d = dict(zip(dc or (), dv or (), strict=True))
        got_p = dict(zip(pc or (), pv or (), strict=True))
        out[city] = _Scores(
            index,
            {c: got_d[c] for c in dims if c in got_d},
            {c: got_p[c] for c in pillars if c in got_p},
        )
    return out


def _contributions(fw: Framework, dims: dict[str, float | None]) -> dict[str, float]:
    """Each dimension's share of the index: W_d * D_d / sum(W) over the dimensions with a value."""
    weights = {d.code: d.weight for d in fw.dimensions}
    present = {c: v for c, v in dims.items() if v is not None and c in weights}
    total = sum(weights[c] for c in present)
    return {c: weights[c] * v / total for c, v in present.items()} if total else {}


def _driver(
    before: Framework,
    after: Framework,
    b: _Scores | None,
    a: _Scores | None,
    changed_indicators: set[str],
    lang: str,
) -> str:
    """The dimension whose weighted contribution to the index moved most, as 'Output 2,10 → 2,45'
    (its value before and after) or 'Output: bobot 0,2 → 0,3' when only its weight moved; named
    after the one changed indicator when a single indicator of that dimension changed."""
    cb = _contributions(before, b.dimensions) if b else {}
    ca = _contributions(after, a.dimensions) if a else {}
    order = [d.code for d in after.dimensions] + [d.code for d in before.dimensions]
    moves = {c: abs(ca.get(c, 0.0) - cb.get(c, 0.0)) for c in dict.fromkeys(order)}
    code = max(moves, key=lambda c: moves[c], default=None)
    if code is None or moves[code] <= _SAME:
        return t("whatif.driver.unchanged", lang)
    dim = after.dimension(code) or before.dimension(code)
    name = pick(dim.name, lang) if dim else code
    vb = b.dimensions.get(code) if b else None
    va = a.dimensions.get(code) if a else None
    wb, wa = before.dimension(code), after.dimension(code)
    if formatting.number(vb, lang) == formatting.number(va, lang) and wb and wa and wb.weight != wa.weight:
        text = t(
            "whatif.driver.weight",
            lang,
            dimension=name,
            before=formatting.plain(wb.weight, lang),
            after=formatting.plain(wa.weight, lang),
        )
    else:
        text = t(
            "whatif.driver.value",
            lang,
            dimension=name,
            before=formatting.number(vb, lang),
            after=formatting.number(va, lang),
        )
    in_dim = [
        c
        for c in changed_indicators
        if (i := after.indicator(c) or before.indicator(c)) and i.dimension == code
    ]
    if len(changed_indicators) == 1 and in_dim:
        text = t("whatif.driver.indicator", lang, indicator=in_dim[0], driver=text)
    return text


def _ranks(scores: dict[str, _Scores]) -> dict[str, int | None]:
    return {code: rank for code, _, rank in competition_ranks([(c, s.index) for c, s in scores.items()])}


def candidate_sha256(candidate: Framework) -> str:
    """The hash the audit row records: of the candidate's text (its YAML when it has none)."""
    return hashlib.sha256((candidate.source or framework_yaml(candidate)).encode()).hexdigest()


def whatif(
    store: Storage, user: User, candidate: Framework | str | bytes, year: int, lang: str = "id"
) -> WhatIfResult:
    """Every city scored in `year` under `candidate` (a Framework, framework YAML text, or an
    uploaded file's bytes, read under the same cap and encoding rule as a load) beside its
    scores today, as if the candidate were loaded to apply from `year` (its own applies_from is
    ignored). Nothing is stored; one audit row records the preview (a read)."""
    require(user, Action.LOAD_FRAMEWORK)
    if isinstance(candidate, bytes):
        candidate = framework_upload_text(candidate)
    fw = parse_framework(candidate) if isinstance(candidate, str) else candidate
    started = time.perf_counter()
    before_fw = framework_of_year(store, year)
    before_table = store.score_table([year], None)
    if not before_table["city_code"]:
        raise ValidationError("whatif.error.no_scores", year=year)
    after_table = store.whatif_score_table(fw, year)
    before, after = _scores(before_table, before_fw), _scores(after_table, fw)
    ranks_b, ranks_a = _ranks(before), _ranks(after)
    changed = _changed_indicators(before_fw, fw)
    cities = {c.city_code: c for c in store.cities()}

    rows = []
    for code in sorted(before.keys() | after.keys()):
        b, a = before.get(code), after.get(code)
        ib, ia = (b.index if b else None), (a.index if a else None)
        rb, ra = ranks_b.get(code), ranks_a.get(code)
        band_b, band_a = before_fw.band(ib), fw.band(ia)
        city = cities.get(code)
        rows.append(
            CityChange(
                city_code=code,
                name=city.name if city else code,
                province=city.province if city else "",
                category=city.category if city else None,
                index_before=ib,
                index_after=ia,
                delta=(ia - ib) if ia is not None and ib is not None else None,
                band_before=pick(band_b.label, lang) if band_b else None,
                band_after=pick(band_a.label, lang) if band_a else None,
                rank_before=rb,
                rank_after=ra,
                rank_change=(rb - ra) if rb is not None and ra is not None else None,
                driver=_driver(before_fw, fw, b, a, changed, lang),
                dimensions_before=b.dimensions if b else {},
                dimensions_after=a.dimensions if a else {},
                pillars_before=b.pillars if b else {},
                pillars_after=a.pillars if a else {},
            )
        )
    rows.sort(key=lambda c: (c.rank_after is None, c.rank_after or 0, c.city_code))
    result = WhatIfResult(
        year=year,
        framework_before=before_fw.id,
        framework_after=fw.id,
        changes=framework_changes(before_fw, fw, lang),
        cities=tuple(rows),
        moved=sum(c.rank_before != c.rank_after for c in rows),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            AUDIT_ACTION,
            f"year:{year}",
            None,
            {"framework": fw.id, "sha256": candidate_sha256(fw), "cities": len(rows), "moved": result.moved},
        )
    return result


# Entry points (final signatures; pages/whatif.py calls these):
#   whatif(store, user, candidate: Framework | str, year: int, lang="id") -> WhatIfResult
#       (Action.LOAD_FRAMEWORK; YAML text is validated as a load would: ValidationError located;
#        a year without scores: ValidationError "whatif.error.no_scores"; one audit row "framework.whatif")
#   edited_framework(base: Framework, edits: FrameworkEdits) -> Framework  (the page's edits, validated)
#   framework_of_year(store, year: int) -> Framework  (the year's framework in force)
#   editable_framework(store, user, year: int) -> Framework  (the same, for the admin's page: the base to edit)
#   framework_changes(before: Framework, after: Framework, lang="id") -> tuple[str, ...]
#   framework_yaml(fw: Framework) -> str  (the candidate as a framework file, e.g. to download and load)
