"""An independent reference of the scoring rules, written from README.md ("How the index is
computed", the partial-upload rule) and the framework schema, never from the scoring SQL.

Why it exists: `scoring.recomputation_differences` runs the product's own SQL a second way, so
it proves the incremental score tables but not the rules. This module states the rules again in
plain Python over plain dicts, so that a property test (tests/unit/test_scoring_reference.py)
can compare the product's numbers with it on many generated cases. Where the README is silent,
the choice made here is named in a comment starting with "README silent".

The rules, as the README states them, per city and year under the framework in force:

1. effective level of an indicator: the assessor's verified level if any; else, for a metric
   indicator with data that year, the number of thresholds the year's aggregate reaches (>= when
   higher is better, <= when lower is better); else the mean of the self-assessed levels in the
   latest submission of each OPD that answered it; else missing (0 under `missing: zero`);
2. D_d = sum(w_i L_i) / sum(w_i) over the indicators of the dimension; pillars likewise;
3. index = sum(W_d D_d) / sum(W_d) over the dimensions that have indicators;
4. completeness = share of (indicator, responsible OPD) pairs answered; an indicator no OPD of
   the city answers counts as one unanswered pair;
5. the newest accepted submission of a city/OPD/year (city/OPD/metric/year for metrics) is the
   one in force; a file that would drop answers of the version in force is refused without a
   mode, merged onto it with "merge", stored alone with "replace".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("merge", "replace")


@dataclass(frozen=True)
class RefMetric:
    code: str
    aggregate: str  # mean | sum | last | min | max
    direction: str  # higher | lower
    thresholds: tuple[float, ...]


@dataclass(frozen=True)
class RefIndicator:
    code: str
    pillar: str  # the top-level pillar
    subpillar: str | None
    dimension: str
    weight: float
    opd_types: tuple[str, ...]
    metric: RefMetric | None = None


@dataclass(frozen=True)
class RefFramework:
    scale_min: int
    scale_max: int
    missing: str  # zero | exclude
    dimensions: tuple[tuple[str, float], ...]  # (code, weight) in framework order
    pillars: tuple[str, ...]
    subpillars: tuple[tuple[str, str], ...]  # (code, parent)
    indicators: tuple[RefIndicator, ...]


@dataclass(frozen=True)
class RefOpd:
    city: str
    code: str
    opd_type: str


@dataclass(frozen=True)
class RefIndicatorLevel:
    code: str
    effective: float | None  # None when missing
    score_level: float | None  # what the index uses: missing counts as the scale minimum under zero
    source: str  # verified | metric | self | missing
    verified_level: int | None
    metric_value: float | None
    metric_level: int | None
    self_level: float | None
    n_opd: int  # OPDs whose self-assessment in force answers it
    responsible_opds: int


@dataclass(frozen=True)
class RefCityScore:
    index: float | None
    dimensions: dict[str, float | None]
    pillars: dict[str, float | None]
    subpillars: dict[str, float | None]
    completeness: float | None
    indicators: int
    missing: int
    pairs: int
    answered: int


@dataclass(frozen=True)
class RefOpdScore:
    index: float | None
    pairs: int
    answered: int


def aggregate(values: list[tuple[str, float]], how: str) -> float:
    """The year's aggregate of a metric's (period, value) pairs (period YYYY or YYYY-MM)."""
    vals = [v for _, v in sorted(values, key=lambda pv: pv[0])]  # one year's periods sort by time
    if how == "mean":
        return sum(vals) / len(vals)
    if how == "sum":
        return float(sum(vals))
    if how == "last":
        # README: the mean of the values of the latest period (several OPDs may report it)
        last = max(p for p, _ in values)
        at_last = [v for p, v in values if p == last]
        return sum(at_last) / len(at_last)
    if how == "min":
        return min(vals)
    if how == "max":
        return max(vals)
    raise ValueError(how)


def thresholds_reached(value: float, metric: RefMetric) -> int:
    if metric.direction == "higher":
        return sum(1 for t in metric.thresholds if value >= t)
    return sum(1 for t in metric.thresholds if value <= t)


def weighted_mean(pairs: list[tuple[float, float]]) -> float | None:
    """sum(w x) / sum(w) over (weight, value) pairs; None when there is nothing to average."""
    total = sum(w for w, _ in pairs)
    if not pairs or total == 0:
        return None
    return sum(w * x for w, x in pairs) / total


@dataclass
class Reference:
    """The world as the rules see it: registry, one framework, versions, verifications."""

    fw: RefFramework
    opds: list[RefOpd]
    # (city, opd, year) -> the versions of the self-assessment, oldest first
    assessments: dict[tuple[str, str, int], list[dict[str, int]]] = field(default_factory=dict)
    # (city, opd, metric, year) -> the versions of the metric's values by period, oldest first
    metrics: dict[tuple[str, str, str, int], list[dict[str, float]]] = field(default_factory=dict)
    # (city, year, indicator) -> verified levels, oldest first
    verified: dict[tuple[str, int, str], list[int]] = field(default_factory=dict)
    assigned: dict[tuple[str, str], str] = field(default_factory=dict)  # (city, indicator) -> OPD

    # ------------------------------------------------------------------ writes

    def _store(self, versions: list[dict[str, Any]], new: Mapping[str, Any], mode: str | None) -> bool:
        """Apply the partial-upload rule to one unit; False when the file is refused."""
        old = versions[-1] if versions else {}
        drops = any(k not in new for k in old)
        if drops and mode is None:
            return False
        versions.append({**old, **new} if drops and mode == "merge" else dict(new))
        return True

    def upload_assessment(
        self, city: str, opd: str, year: int, answers: dict[str, int], mode: str | None
    ) -> bool:
        return self._store(self.assessments.setdefault((city, opd, year), []), answers, mode)

    def upload_metric(
        self, city: str, opd: str, metric: str, year: int, values: dict[str, float], mode: str | None
    ) -> bool:
        return self._store(self.metrics.setdefault((city, opd, metric, year), []), values, mode)

    def verify(self, city: str, year: int, indicator: str, level: int) -> None:
        self.verified.setdefault((city, year, indicator), []).append(level)

    def assign(self, city: str, indicator: str, opd: str) -> None:
        self.assigned[(city, indicator)] = opd

    # ------------------------------------------------------------------ reads

    def responsible(self, city: str, ind: RefIndicator) -> list[str]:
        """OPD codes of `city` that answer `ind`: by type, or by the admin's assignment."""
        return sorted(
            o.code
            for o in self.opds
            if o.city == city
            and (o.opd_type in ind.opd_types or self.assigned.get((city, ind.code)) == o.code)
        )

    def self_in_force(self, city: str, year: int) -> dict[str, dict[str, int]]:
        """OPD code -> its self-assessment in force (the newest accepted version)."""
        return {o: v[-1] for (c, o, y), v in self.assessments.items() if c == city and y == year and v}

    def metric_in_force(self, city: str, year: int) -> dict[tuple[str, str], dict[str, float]]:
        """(OPD, metric) -> its values in force."""
        return {(o, m): v[-1] for (c, o, m, y), v in self.metrics.items() if c == city and y == year and v}

    def city_years(self) -> set[tuple[str, int]]:
        """README silent on which city-years are listed; taken here: those with any accepted
        submission (self-assessment or metric) or verification."""
        out = {(c, y) for (c, _, y), v in self.assessments.items() if v}
        out |= {(c, y) for (c, _, _, y), v in self.metrics.items() if v}
        out |= {(c, y) for (c, y, _) in self.verified}
        return out

    def indicator_levels(self, city: str, year: int) -> dict[str, RefIndicatorLevel]:
        selfs = self.self_in_force(city, year)
        mets = self.metric_in_force(city, year)
        out = {}
        for ind in self.fw.indicators:
            vlist = self.verified.get((city, year, ind.code))
            verified = vlist[-1] if vlist else None
            metric_value = metric_level = None
            if ind.metric is not None:
                # README: the values in force of every OPD reporting the metric are pooled;
                # "last" is the mean of the values of the latest period
                pooled = [
                    (period, value)
                    for (_, m), vals in sorted(mets.items())
                    if m == ind.metric.code
                    for period, value in vals.items()
                ]
                if pooled:
                    metric_value = aggregate(pooled, ind.metric.aggregate)
                    metric_level = thresholds_reached(metric_value, ind.metric)
            levels = [a[ind.code] for a in selfs.values() if ind.code in a]
            self_level = sum(levels) / len(levels) if levels else None
            effective: float | None
            if verified is not None:
                effective, source = float(verified), "verified"
            elif metric_level is not None:
                effective, source = float(metric_level), "metric"
            elif self_level is not None:
                effective, source = self_level, "self"
            else:
                effective, source = None, "missing"
            score_level = effective
            if effective is None and self.fw.missing == "zero":
                score_level = float(self.fw.scale_min)
            out[ind.code] = RefIndicatorLevel(
                ind.code,
                effective,
                score_level,
                source,
                verified,
                metric_value,
                metric_level,
                self_level,
                len(levels),
                len(self.responsible(city, ind)),
            )
        return out

    def _breakdown(
        self, levels: Mapping[str, float | None], key: Callable[[RefIndicator], str | None]
    ) -> dict[str, float | None]:
        """group -> sum(w_i L_i) / sum(w_i) over its indicators that have a level (None when none
        has one); groups without indicators are absent."""
        groups: dict[str, list[tuple[float, float]]] = {}
        for ind in self.fw.indicators:
            g = key(ind)
            if g is None:
                continue
            lv = levels.get(ind.code)
            groups.setdefault(g, [])
            if lv is not None:
                groups[g].append((ind.weight, lv))
        return {g: weighted_mean(p) for g, p in groups.items()}

    def combine(self, dims: Mapping[str, float | None]) -> float | None:
        """index = sum(W_d D_d) / sum(W_d) over the dimensions that have a value."""
        present = [(w, dims.get(d)) for d, w in self.fw.dimensions]
        return weighted_mean([(w, v) for w, v in present if v is not None])

    def city_score(self, city: str, year: int) -> RefCityScore:
        by_code = self.indicator_levels(city, year)
        levels = {c: lv.score_level for c, lv in by_code.items()}
        dims = self._breakdown(levels, lambda i: i.dimension)
        pillars = self._breakdown(levels, lambda i: i.pillar)
        subs = self._breakdown(levels, lambda i: i.subpillar)
        answered_by = self.answered(city, year)
        pairs = answered = 0
        for ind in self.fw.indicators:
            who = self.responsible(city, ind)
            pairs += max(1, len(who))
            answered += sum(1 for o in who if ind.code in answered_by.get(o, set()))
        return RefCityScore(
            index=self.combine(dims),
            dimensions=dims,
            pillars=pillars,
            subpillars=subs,
            completeness=answered / pairs if pairs else None,
            indicators=len(self.fw.indicators),
            missing=sum(1 for lv in by_code.values() if lv.effective is None),
            pairs=pairs,
            answered=answered,
        )

    def answered(self, city: str, year: int) -> dict[str, set[str]]:
        """OPD -> indicators it answered: its self-assessment in force plus the indicators of the
        metrics it reported (README silent; metrics.responsibility.answered_sets says so)."""
        got: dict[str, set[str]] = {o: set(a) for o, a in self.self_in_force(city, year).items()}
        by_metric = {i.metric.code: i.code for i in self.fw.indicators if i.metric}
        for o, m in self.metric_in_force(city, year):
            got.setdefault(o, set()).add(by_metric[m])
        return got

    def opd_scores(self, city: str, year: int) -> dict[str, RefOpdScore]:
        """Each OPD's index over the indicators it answered itself, with verified levels where
        present (the report card's and the rankings' own sentences; the README is silent)."""
        selfs = self.self_in_force(city, year)
        answered_by = self.answered(city, year)
        out = {}
        for o in self.opds:
            if o.city != city:
                continue
            mine = selfs.get(o.code, {})
            levels: dict[str, float | None] = {}
            for ind in self.fw.indicators:
                if ind.code in mine:
                    vlist = self.verified.get((city, year, ind.code))
                    levels[ind.code] = float(vlist[-1]) if vlist else float(mine[ind.code])
            dims = self._breakdown(levels, lambda i: i.dimension)
            resp = [i for i in self.fw.indicators if o.code in self.responsible(city, i)]
            out[o.code] = RefOpdScore(
                index=self.combine(dims),
                pairs=len(resp),
                answered=sum(1 for i in resp if i.code in answered_by.get(o.code, set())),
            )
        return out
