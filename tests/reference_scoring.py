"""An independent reference of the scoring rules, written from README.md ("How the index is
computed", the partial-upload rule), the rules in metrics.scoring's module docstring (issue 17:
methods, not applicable, fair thresholds) and the framework schema, never from the scoring SQL.

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
   the thresholds are those of the city's category (else the default ones); a per-population
   metric's aggregate is divided by the population of the latest year not after the scored year
   (else the registry's figure) and multiplied by per_population first (no population: no level);
2. D_d = sum(w_i L_i) / sum(w_i) over the indicators of the dimension; sub-pillars likewise;
3. index = sum(W_d D_d) / sum(W_d) over the dimensions that have a value;
4. completeness = share of (indicator, responsible OPD) pairs answered; an indicator no OPD of
   the city answers counts as one unanswered pair;
5. the newest accepted submission of a city/OPD/year (city/OPD/metric/year for metrics) is the
   one in force; a file that would drop answers of the version in force is refused without a
   mode, merged onto it with "merge", stored alone with "replace";
6. "tidak berlaku" (NA): an answer of an allow_na indicator; confirmed when the newest decision
   is `accepted` and an assessment in force claims it: the indicator leaves every weight, count
   and completeness (a verification of it is ignored); unconfirmed it gives no level, and a
   claim is never an answer;
7. programmes dimensions: per top pillar v = min + (max - min) * running / planned of the kind's
   programmes of the register in force active that year (dropped with an accepted reason left
   out); D = mean over every top pillar (missing: min under zero, left out under exclude);
   survey dimensions: impact = min + (max - min) * (mean answer - 1) / 4 of the programmes of the
   register in force with enough respondents; D = their mean, v per pillar the mean of its own;
   pillar P = (sum w L + sum pw v) / (sum w + sum pw), a missing v counting as min under zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("merge", "replace")
NA = "NA"  # an assessment answer "tidak berlaku" (in place of a level)
RUNNING = ("berjalan", "selesai")


@dataclass(frozen=True)
class RefMetric:
    code: str
    aggregate: str  # mean | sum | last | min | max
    direction: str  # higher | lower
    thresholds: tuple[float, ...]  # the default ones
    by_category: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (category, thresholds)
    per_population: float | None = None

    def thresholds_for(self, category: str | None) -> tuple[float, ...]:
        return dict(self.by_category).get(category or "", self.thresholds)


@dataclass(frozen=True)
class RefIndicator:
    code: str
    pillar: str  # the top-level pillar
    subpillar: str | None
    dimension: str
    weight: float
    opd_types: tuple[str, ...]
    metric: RefMetric | None = None
    allow_na: bool = False


@dataclass(frozen=True)
class RefMethod:
    """A dimension scored by a method (its code and weight are in RefFramework.dimensions)."""

    code: str
    method: str  # programmes | survey
    kind: str | None = None  # programmes: masterplan | quickwin
    min_respondents: int = 50
    pillar_weight: float = 1.0


@dataclass(frozen=True)
class RefProgramme:
    code: str
    pillar: str  # a pillar, a sub-pillar, or a code not in the framework
    kind: str
    start: int
    end: int
    statuses: tuple[tuple[int, str, bool], ...] = ()  # (year, status, reason accepted)

    def status_in(self, year: int) -> tuple[str, bool]:
        return next(((st, ok) for y, st, ok in self.statuses if y == year), ("direncanakan", False))


@dataclass(frozen=True)
class RefSurveyRow:
    code: str
    respondents: int
    answers: int
    answer_sum: float


@dataclass(frozen=True)
class RefFramework:
    scale_min: int
    scale_max: int
    missing: str  # zero | exclude
    dimensions: tuple[tuple[str, float], ...]  # (code, weight) in framework order
    pillars: tuple[str, ...]
    subpillars: tuple[tuple[str, str], ...]  # (code, parent)
    indicators: tuple[RefIndicator, ...]
    methods: tuple[RefMethod, ...] = ()  # the dimensions not scored by the rubric


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
    metric_basis: float | None = None  # the value the thresholds apply to
    na_claims: int = 0
    thresholds: tuple[float, ...] | None = None  # those the city is held to


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
    """The world as the rules see it: registry, one framework, versions, verifications, the
    programme register, surveys and N/A decisions."""

    fw: RefFramework
    opds: list[RefOpd]
    # (city, opd, year) -> the versions of the self-assessment (a level or NA), oldest first
    assessments: dict[tuple[str, str, int], list[dict[str, int | str]]] = field(default_factory=dict)
    # (city, opd, metric, year) -> the versions of the metric's values by period, oldest first
    metrics: dict[tuple[str, str, str, int], list[dict[str, float]]] = field(default_factory=dict)
    # (city, year, indicator) -> verified levels, oldest first
    verified: dict[tuple[str, int, str], list[int]] = field(default_factory=dict)
    assigned: dict[tuple[str, str], str] = field(default_factory=dict)  # (city, indicator) -> OPD
    categories: dict[str, str | None] = field(default_factory=dict)  # city -> category
    populations: dict[str, int | None] = field(default_factory=dict)  # city -> the registry's figure
    population_by_year: dict[tuple[str, int], int] = field(default_factory=dict)
    registers: dict[str, list[tuple[RefProgramme, ...]]] = field(default_factory=dict)  # versions
    surveys: dict[tuple[str, int], list[tuple[RefSurveyRow, ...]]] = field(default_factory=dict)
    # (city, year, indicator) -> decisions (accepted | rejected), oldest first
    na_decisions: dict[tuple[str, int, str], list[str]] = field(default_factory=dict)

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
        self, city: str, opd: str, year: int, answers: Mapping[str, int | str], mode: str | None
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

    def set_city(self, city: str, category: str | None, population: int | None) -> None:
        self.categories[city] = category
        self.populations[city] = population

    def set_population(self, city: str, year: int, population: int) -> None:
        self.population_by_year[(city, year)] = population

    def register(self, city: str, programmes: tuple[RefProgramme, ...]) -> None:
        self.registers.setdefault(city, []).append(programmes)

    def survey(self, city: str, year: int, rows: tuple[RefSurveyRow, ...]) -> None:
        self.surveys.setdefault((city, year), []).append(rows)

    def decide_na(self, city: str, year: int, indicator: str, decision: str) -> bool:
        """An assessor's decision; refused (False) when no assessment in force claims NA for it."""
        if not self.na_claims(city, year, indicator):
            return False
        self.na_decisions.setdefault((city, year, indicator), []).append(decision)
        return True

    # ------------------------------------------------------------------ reads

    def responsible(self, city: str, ind: RefIndicator) -> list[str]:
        """OPD codes of `city` that answer `ind`: by type, or by the admin's assignment."""
        return sorted(
            o.code
            for o in self.opds
            if o.city == city
            and (o.opd_type in ind.opd_types or self.assigned.get((city, ind.code)) == o.code)
        )

    def self_in_force(self, city: str, year: int) -> dict[str, dict[str, int | str]]:
        """OPD code -> its self-assessment in force (the newest accepted version)."""
        return {o: v[-1] for (c, o, y), v in self.assessments.items() if c == city and y == year and v}

    def metric_in_force(self, city: str, year: int) -> dict[tuple[str, str], dict[str, float]]:
        """(OPD, metric) -> its values in force."""
        return {(o, m): v[-1] for (c, o, m, y), v in self.metrics.items() if c == city and y == year and v}

    def city_years(self) -> set[tuple[str, int]]:
        """README silent on which city-years are listed; taken here: those with any accepted
        submission (self-assessment or metric) or verification (programmes and surveys alone
        add none: the rules say so)."""
        out = {(c, y) for (c, _, y), v in self.assessments.items() if v}
        out |= {(c, y) for (c, _, _, y), v in self.metrics.items() if v}
        out |= {(c, y) for (c, y, _) in self.verified}
        return out

    def population(self, city: str, year: int) -> int | None:
        """The figure of the latest year not after `year`, else the registry's one figure."""
        years = [y for (c, y) in self.population_by_year if c == city and y <= year]
        return self.population_by_year[(city, max(years))] if years else self.populations.get(city)

    def na_claims(self, city: str, year: int, code: str) -> int:
        """OPDs whose assessment in force answers `code` NA (only an allow_na indicator can be)."""
        ind = next((i for i in self.fw.indicators if i.code == code), None)
        if ind is None or not ind.allow_na:
            return 0
        return sum(1 for a in self.self_in_force(city, year).values() if a.get(code) == NA)

    def confirmed_na(self, city: str, year: int) -> set[str]:
        out = set()
        for ind in self.fw.indicators:
            decisions = self.na_decisions.get((city, year, ind.code))
            if decisions and decisions[-1] == "accepted" and self.na_claims(city, year, ind.code):
                out.add(ind.code)
        return out

    def indicator_levels(self, city: str, year: int) -> dict[str, RefIndicatorLevel]:
        selfs = self.self_in_force(city, year)
        mets = self.metric_in_force(city, year)
        confirmed = self.confirmed_na(city, year)
        out = {}
        for ind in self.fw.indicators:
            vlist = self.verified.get((city, year, ind.code))
            verified = vlist[-1] if vlist else None
            metric_value = metric_level = basis = None
            thresholds = None
            if ind.metric is not None:
                thresholds = ind.metric.thresholds_for(self.categories.get(city))
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
                    if ind.metric.per_population is None:
                        basis = metric_value
                    else:
                        pop = self.population(city, year)
                        basis = metric_value / pop * ind.metric.per_population if pop else None
                    if basis is not None:
                        metric_level = thresholds_reached(
                            basis, RefMetric("", "", ind.metric.direction, thresholds)
                        )
            levels = [a[ind.code] for a in selfs.values() if isinstance(a.get(ind.code), int)]
            self_level = sum(levels) / len(levels) if levels else None
            effective: float | None
            if ind.code in confirmed:
                effective, source = None, "na"
            elif verified is not None:
                effective, source = float(verified), "verified"
            elif metric_level is not None:
                effective, source = float(metric_level), "metric"
            elif self_level is not None:
                effective, source = self_level, "self"
            else:
                effective, source = None, "missing"
            score_level = effective
            if effective is None and self.fw.missing == "zero" and source != "na":
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
                basis,
                self.na_claims(city, year, ind.code),
                thresholds,
            )
        return out

    def _breakdown(
        self,
        levels: Mapping[str, float | None],
        key: Callable[[RefIndicator], str | None],
        skip: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> dict[str, float | None]:
        """group -> sum(w_i L_i) / sum(w_i) over its indicators that have a level (None when none
        has one); groups without indicators are absent; indicators in `skip` count nowhere."""
        groups: dict[str, list[tuple[float, float]]] = {}
        for ind in self.fw.indicators:
            g = key(ind)
            if g is None:
                continue
            groups.setdefault(g, [])
            lv = levels.get(ind.code)
            if lv is not None and ind.code not in skip:
                groups[g].append((ind.weight, lv))
        return {g: weighted_mean(p) for g, p in groups.items()}

    def combine(self, dims: Mapping[str, float | None]) -> float | None:
        """index = sum(W_d D_d) / sum(W_d) over the dimensions that have a value."""
        present = [(w, dims.get(d)) for d, w in self.fw.dimensions]
        return weighted_mean([(w, v) for w, v in present if v is not None])

    def top_pillar(self, code: str) -> str | None:
        """The top-level pillar a pillar or sub-pillar code maps to (None: not in the framework)."""
        if code in self.fw.pillars:
            return code
        return dict(self.fw.subpillars).get(code)

    def method_values(self, city: str, year: int) -> dict[str, tuple[float | None, dict[str, float | None]]]:
        """Method dimension -> (D, {top pillar: v})."""
        lo, hi = self.fw.scale_min, self.fw.scale_max
        versions = self.registers.get(city)
        register = versions[-1] if versions else ()
        uploads = self.surveys.get((city, year))
        rows = uploads[-1] if uploads else ()
        out: dict[str, tuple[float | None, dict[str, float | None]]] = {}
        for m in self.fw.methods:
            per_pillar: dict[str, float | None] = {}
            if m.method == "programmes":
                for p in self.fw.pillars:
                    mine = [
                        x
                        for x in register
                        if x.kind == m.kind and x.start <= year <= x.end and self.top_pillar(x.pillar) == p
                    ]
                    planned = [x for x in mine if x.status_in(year) != ("dihentikan", True)]
                    running = [x for x in planned if x.status_in(year)[0] in RUNNING]
                    per_pillar[p] = lo + (hi - lo) * len(running) / len(planned) if planned else None
                counted = [
                    v if v is not None else float(lo)
                    for _, v in sorted(per_pillar.items())
                    if v is not None or self.fw.missing == "zero"
                ]
                out[m.code] = (sum(counted) / len(counted) if counted else None, per_pillar)
                continue
            by_code = {x.code: x for x in register}
            impacts = sorted(
                (r.code, lo + (hi - lo) * (r.answer_sum / r.answers - 1) / 4)
                for r in rows
                if r.code in by_code and r.respondents >= m.min_respondents and r.answers > 0
            )
            for p in self.fw.pillars:
                mine = [v for c, v in impacts if self.top_pillar(by_code[c].pillar) == p]
                per_pillar[p] = sum(mine) / len(mine) if mine else None
            out[m.code] = (sum(v for _, v in impacts) / len(impacts) if impacts else None, per_pillar)
        return out

    def city_score(self, city: str, year: int) -> RefCityScore:
        by_code = self.indicator_levels(city, year)
        confirmed = self.confirmed_na(city, year)
        levels = {c: lv.score_level for c, lv in by_code.items()}
        dims = self._breakdown(levels, lambda i: i.dimension, confirmed)
        subs = self._breakdown(levels, lambda i: i.subpillar, confirmed)
        methods = self.method_values(city, year)
        for code, (value, _) in methods.items():
            dims[code] = value
        # pillars: the rubric indicators' weighted levels and the method dimensions' pillar values
        sums: dict[str, list[tuple[float, float]]] = {}
        for ind in self.fw.indicators:
            sums.setdefault(ind.pillar, [])
            lv = levels[ind.code]
            if lv is not None and ind.code not in confirmed:
                sums[ind.pillar].append((ind.weight, lv))
        for m in self.fw.methods:
            for p, v in methods[m.code][1].items():
                sums.setdefault(p, [])
                if v is not None:
                    sums[p].append((m.pillar_weight, v))
                elif self.fw.missing == "zero":
                    sums[p].append((m.pillar_weight, float(self.fw.scale_min)))
        pillars = {p: weighted_mean(pairs) for p, pairs in sums.items()}
        answered_by = self.answered(city, year)
        pairs = answered = 0
        for ind in self.fw.indicators:
            if ind.code in confirmed:
                continue
            who = self.responsible(city, ind)
            pairs += max(1, len(who))
            answered += sum(1 for o in who if ind.code in answered_by.get(o, set()))
        return RefCityScore(
            index=self.combine(dims),
            dimensions=dims,
            pillars=pillars,
            subpillars=subs,
            completeness=answered / pairs if pairs else None,
            indicators=len(self.fw.indicators) - len(confirmed),
            missing=sum(1 for lv in by_code.values() if lv.source == "missing"),
            pairs=pairs,
            answered=answered,
        )

    def answered(self, city: str, year: int) -> dict[str, set[str]]:
        """OPD -> indicators it answered: its self-assessment in force (levels; an NA claim is no
        answer) plus the indicators of the metrics it reported (README silent;
        metrics.responsibility.answered_sets says so)."""
        got: dict[str, set[str]] = {
            o: {k for k, v in a.items() if v != NA} for o, a in self.self_in_force(city, year).items()
        }
        by_metric = {i.metric.code: i.code for i in self.fw.indicators if i.metric}
        for o, m in self.metric_in_force(city, year):
            got.setdefault(o, set()).add(by_metric[m])
        return got

    def opd_scores(self, city: str, year: int) -> dict[str, RefOpdScore]:
        """Each OPD's index over the indicators it answered itself, with verified levels where
        present (the report card's and the rankings' own sentences; the README is silent);
        confirmed NA indicators count nowhere."""
        selfs = self.self_in_force(city, year)
        answered_by = self.answered(city, year)
        confirmed = self.confirmed_na(city, year)
        out = {}
        for o in self.opds:
            if o.city != city:
                continue
            mine = selfs.get(o.code, {})
            levels: dict[str, float | None] = {}
            for ind in self.fw.indicators:
                own = mine.get(ind.code)
                if isinstance(own, int) and ind.code not in confirmed:
                    vlist = self.verified.get((city, year, ind.code))
                    levels[ind.code] = float(vlist[-1]) if vlist else float(own)
            dims = self._breakdown(levels, lambda i: i.dimension)
            resp = [
                i
                for i in self.fw.indicators
                if o.code in self.responsible(city, i) and i.code not in confirmed
            ]
            out[o.code] = RefOpdScore(
                index=self.combine(dims),
                pairs=len(resp),
                answered=sum(1 for i in resp if i.code in answered_by.get(o.code, set())),
            )
        return out
