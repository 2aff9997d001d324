"""The path to a target: the cheapest set of moves that lifts a city's index to a value, a band
or a rank next year, found exactly.

The index is linear in the moves the city can make (see scoring's module docstring: each
dimension is a weighted mean with fixed weights), so "reach at least T at the least effort" is
an integer program over one binary variable per level step, per metric threshold and per
programme; SciPy's milp (HiGHS) solves it exactly. The model's starting index is checked against
the stored one before any answer is given: a model that does not reproduce today's index refuses
rather than advise.

The model, for city c and year y under the year's framework (W_d dimension weights, P the
dimensions with a value today, which no move changes):

    index = sum_{d in P} W_d D_d / sum_{d in P} W_d
    rubric d:      D_d = sum_i w_i L_i / sum_i w_i   over the indicators counted today
                   d(index)/d(L_i) = g_i = W_d / sum_P W * w_i / sum_d w   (scoring.index_gain_per_level)
    programmes d:  D_d = mean over the counted top pillars p of min + (max - min) * running_p / planned_p
                   starting one more programme of p adds h_p = W_d / sum_P W * (max - min) / planned_p / n_d
                   (n_d: every top pillar of the framework under `missing: zero`, else those with planned_p > 0)
    survey d:      held at today's value (not a move)

Moves (one binary y per step, y_{i,k} <= y_{i,k-1} along an indicator):
  - a rubric indicator counted at level s (self-assessed mean, verified level, or the scale
    minimum when missing under `missing: zero`) steps to ceil(s) (s + 1 when whole), then one
    level at a time up to the scale maximum; step k gains g_i * (k - max(s, k - 1));
  - a metric-scored indicator (source `metric`) steps through the thresholds of the city's
    category, each +1 level, the metric value needed shown (per-population thresholds turned
    into the raw value: threshold * population / per_population);
  - a programme of the register in force planned in y, of a `programmes` dimension's kind, that
    is not running (direncanakan, or dihentikan without an accepted reason) is one binary gaining
    the sum of h_p over the programme dimensions of its kind.
Not moves: indicators confirmed not applicable (they count nowhere), indicators missing under
`missing: exclude` (filling one changes a denominator, so the index is not linear in it), survey
dimensions, and anything in a dimension with no value today. Each step costs the city's effort
for (indicator, to level) (metrics.efforts), else 1; a programme costs 1.

minimise sum c_j y_j  subject to  start + sum g_j y_j >= needed - 1e-9, precedence, y binary;
ties go to the fewest moves (a second integer program bounded by the optimal cost), then to a
fixed order of the steps (a third, bounded by both), so the same city gives the same plan in every
process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from metrics import scoring
from metrics.auth import Action, User, require
from metrics.efforts import effort_unit_of, efforts_of, framework_in_force
from metrics.errors import CoreError, ValidationError
from metrics.formatting import number, plain
from metrics.framework import Framework
from metrics.i18n import pick, t

if TYPE_CHECKING:
    from metrics.methods import MethodInput
    from metrics.registry import City
    from metrics.storage import Storage

TargetKind = Literal["index", "band", "rank"]
RankScope = Literal["national", "province", "category"]
MoveKind = Literal["level", "metric", "programme"]
RANK_SCOPES: tuple[RankScope, ...] = ("national", "province", "category")

TOL = 1e-9  # an index within this of the needed one reaches it (the model's agreement bound too)
SOLVER = "scipy.optimize.milp (HiGHS)"
_MAX_CUTS = 50  # solutions the solver accepted within its own tolerance but that miss by > TOL


@dataclass(frozen=True)
class Target:
    """What the city wants: index >= `value` (kind index), the band whose label or position is
    `value` (kind band: its lower bound), or rank <= `value` among the cities of `within`, the
    other cities held at their current scores (kind rank)."""

    kind: TargetKind
    value: float | int | str
    within: RankScope = "national"


@dataclass(frozen=True)
class Move:
    """One task of the plan, in the order the plan lists them: every step the plan takes on one
    indicator (from today's level to `to_level`), or one programme to start running."""

    kind: MoveKind
    opd_codes: tuple[str, ...]  # the OPDs responsible (empty: nobody yet; the city decides)
    opd_names: tuple[str, ...]
    code: str  # indicator code, or programme code for kind programme
    name: str  # indicator or programme name, in the asked language
    dimension: str
    pillar: str | None
    from_level: float | None  # the level counted today (None: missing); programme: None
    to_level: int | None  # the level to reach; programme: None
    target_text: str  # the rubric text of the target level, or what the metric / programme must do
    metric_code: str | None
    metric_needed: float | None  # the metric value that reaches to_level (in the metric's unit)
    metric_unit: str | None
    effort: float
    index_after: float  # the index once this and every earlier move is done
    # added by the issue-20 work (defaults keep the contract's constructor valid)
    gain: float = 0.0  # index points this move adds
    dimension_name: str = ""
    pillar_name: str = ""
    verify_again: bool = False  # the level is an assessor's: the new one must be verified again
    metric_direction: str | None = None  # higher | lower: metric_needed is a floor or a ceiling
    metric_now: float | None = None  # the metric value today


@dataclass(frozen=True)
class Plan:
    city_code: str
    year: int
    target: Target
    needed_index: float  # the index the target asks for
    start_index: float | None
    reachable: bool
    final_index: float | None  # after every move (not reachable: the best reachable index)
    total_effort: float
    effort_unit: str  # "langkah" (steps, the default), "hari" or "rupiah"
    moves: tuple[Move, ...]  # not reachable: every move, the cheapest way to the best reachable index
    held: str  # how the other cities are held (rank targets), in the asked language; else ""
    solver: str  # e.g. "scipy.optimize.milp (HiGHS)"
    # added by the issue-20 work
    notes: tuple[str, ...] = ()  # what is not a move and why, in the asked language
    city_name: str = ""
    band_after: str | None = None  # the band label of final_index, in the asked language
    scale_min: int = 0
    scale_max: int = 4


@dataclass(frozen=True)
class Situation:
    """Where the city stands, for the page's target form: today's index, band and ranks."""

    city_code: str
    city_name: str
    year: int
    index: float | None
    band: str | None  # label in the asked language
    bands: tuple[tuple[str, float], ...]  # (label, lower bound) of the year's framework, ascending
    ranks: dict[str, tuple[int | None, int]]  # scope -> (rank, cities ranked) for national/province/category
    scale_max: int
    effort_unit: str
    # added by the issue-20 work
    scale_min: int = 0
    province: str = ""
    category: str = ""


# ------------------------------------------------------------------------------ the pure solver


@dataclass(frozen=True)
class Model:
    """The integer program's data: one entry per binary step."""

    start: float  # today's index
    gain: npt.NDArray[np.float64]  # index points each step adds (> 0)
    cost: npt.NDArray[np.float64]  # its effort (>= 0)
    prev: npt.NDArray[np.int64]  # the step that must be taken with it (-1: none)

    @property
    def best(self) -> float:
        """The index with every step taken."""
        return math.fsum([self.start, *self.gain.tolist()])


@dataclass(frozen=True)
class Solution:
    reachable: bool
    chosen: npt.NDArray[np.bool_]  # per step (not reachable: every step)
    final: float  # start + the gains chosen
    cost: float


def _value_of(model: Model, chosen: npt.NDArray[np.bool_]) -> float:
    return math.fsum([model.start, *model.gain[chosen].tolist()])


def solve(model: Model, needed: float) -> Solution:
    """The cheapest set of steps with start + sum(gain) >= needed - TOL, found exactly.

    Already reached: nothing chosen. Out of reach (every step together falls short): not
    reachable, every step chosen (the cheapest way to the best reachable index, each step
    adding a positive gain). Among equally cheap sets, the one with the fewest steps.
    """
    n = len(model.gain)
    if model.start >= needed - TOL:
        return Solution(True, np.zeros(n, dtype=bool), model.start, 0.0)
    if model.best < needed - TOL:
        every = np.ones(n, dtype=bool)
        return Solution(False, every, model.best, math.fsum(model.cost.tolist()))
    chosen = _milp(model, needed)
    return Solution(True, chosen, _value_of(model, chosen), math.fsum(model.cost[chosen].tolist()))


def _milp(model: Model, needed: float) -> npt.NDArray[np.bool_]:
    from scipy import sparse  # type: ignore[import-untyped]
    from scipy.optimize import Bounds, LinearConstraint  # type: ignore[import-untyped]

    n = len(model.gain)
    after = np.flatnonzero(model.prev >= 0)
    rows = np.arange(len(after))
    # y_k - y_prev(k) <= 0
    prec = sparse.csr_array(
        (
            np.concatenate([np.ones(len(after)), -np.ones(len(after))]),
            (np.concatenate([rows, rows]), np.concatenate([after, model.prev[after]])),
        ),
        shape=(len(after), n),
    )
    base = [LinearConstraint(model.gain[None, :], lb=needed - model.start - TOL, ub=np.inf)]
    if len(after):
        base.append(LinearConstraint(prec, lb=-np.inf, ub=0.0))
    bounds = Bounds(np.zeros(n), np.ones(n))
    chosen = _run(model, needed, model.cost, base, bounds)
    cost = math.fsum(model.cost[chosen].tolist())
    costs = model.cost
    slack = TOL * max(1.0, abs(cost))
    tie = [*base, LinearConstraint(costs[None, :], lb=-np.inf, ub=cost + slack)]
    if len(np.unique(costs)) > 1 or (n and costs[0] == 0.0):
        # equally cheap sets: prefer the fewest steps (with equal positive costs it is the same program)
        fewer = _run(model, needed, np.ones(n), tie, bounds, fallback=chosen)
        if math.fsum(costs[fewer].tolist()) <= cost + slack:
            chosen = fewer
    # Equally cheap sets of as many steps are common (indicators of equal weight): left to the
    # solver, which one it returns follows the last bits of the inputs. The plan must not change
    # on a reload or in another server process, so the last pass picks by a fixed order: the steps ranked by gain, largest first (rounded to 12 digits, so that
    # gains equal but for their last bit rank as equal), then by their place in the model.
    ranks = np.empty(n)
    ranks[np.lexsort((np.arange(n), -np.round(model.gain, 12)))] = np.arange(1, n + 1)
    steps = float(chosen.sum())
    same = [*tie, LinearConstraint(np.ones((1, n)), lb=-np.inf, ub=steps)]
    ordered = _run(model, needed, ranks, same, bounds, fallback=chosen)
    if math.fsum(costs[ordered].tolist()) <= cost + slack and ordered.sum() <= steps:
        chosen = ordered
    return chosen


def _run(
    model: Model,
    needed: float,
    c: npt.NDArray[np.float64],
    constraints: list[object],
    bounds: object,
    fallback: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.bool_]:
    """Solve; a rounded solution that misses the target by more than TOL (HiGHS accepts rows
    within its own, looser, tolerance) is cut off and the program solved again."""
    from scipy.optimize import LinearConstraint, milp

    n = len(c)
    cons = list(constraints)
    for _ in range(_MAX_CUTS):
        res = milp(
            c,
            integrality=np.ones(n),
            bounds=bounds,
            constraints=cons,
            options={"mip_rel_gap": 0.0, "time_limit": 60.0},
        )
        if res.status != 0 or res.x is None:
            if fallback is not None:
                return fallback
            raise CoreError("target.core.solver_failed", status=str(res.message))
        chosen = np.asarray(res.x) > 0.5
        if _value_of(model, chosen) >= needed - TOL:
            return chosen
        # sum_{j in S} y_j - sum_{j not in S} y_j <= |S| - 1: this exact set is not a solution
        row = np.where(chosen, 1.0, -1.0)
        cons.append(LinearConstraint(row[None, :], lb=-np.inf, ub=float(chosen.sum()) - 1.0))
    if fallback is not None:
        return fallback
    raise CoreError("target.core.solver_failed", status="cuts")


# ------------------------------------------------------------------------------ reading the city


@dataclass
class _Group:
    """What one move is made of: an indicator's steps or one programme."""

    kind: MoveKind
    code: str
    name: str
    dimension: str
    dimension_name: str
    pillar: str | None
    pillar_name: str
    opd_codes: tuple[str, ...]
    from_level: float | None
    verified: bool = False
    metric_code: str | None = None
    metric_unit: str | None = None
    metric_direction: str | None = None
    metric_now: float | None = None
    levels: dict[int, dict[str, str]] = field(default_factory=dict)
    needed_raw: dict[int, float] = field(default_factory=dict)  # metric: to_level -> raw value needed


@dataclass
class _Context:
    fw: Framework
    city: City
    score: scoring.CityScore
    start: float
    model: Model
    step_group: list[str]  # per step: its group key
    step_level: list[int | None]  # per step: the level it reaches (programme: None)
    groups: dict[str, _Group]
    notes: tuple[str, ...]
    opd_names: dict[str, str]
    unit: str


def _access(user: User, city: str) -> None:
    require(user, Action.PLAN, city, user.opd_code if user.role == "opd" else None)


def _city(store: Storage, city: str) -> City:
    found = next((c for c in store.cities() if c.city_code == city), None)
    if found is None:
        raise ValidationError("target.core.unknown_city", city=city)
    return found


def _scored(store: Storage, city: str, year: int) -> scoring.CityScore:
    cs = scoring.city_score(store, city, year)
    if cs is None or cs.index is None:
        raise ValidationError("target.core.no_score", city=city, year=year)
    return cs


def _mismatch(city: str, year: int, what: str, model: float | None, stored: float | None) -> CoreError:
    return CoreError(
        "target.core.model_mismatch",
        city=city,
        year=year,
        what=what,
        model="-" if model is None else repr(model),
        stored="-" if stored is None else repr(stored),
    )


def _programme_dimension(
    fw: Framework, mi: MethodInput
) -> tuple[float | None, dict[str, tuple[int, int]], int]:
    """D_d of a `programmes` dimension from its counts, the (planned, running) of each top
    pillar, and the number of pillars the mean runs over."""
    lo, hi = fw.scale_min, fw.scale_max
    counts = {p.pillar: (p.planned, p.running) for p in mi.pillars}
    values: list[float] = []
    for p in fw.pillars:
        planned, running = counts.get(p.code, (0, 0))
        if planned > 0:
            values.append(lo + (hi - lo) * running / planned)
        elif fw.missing == "zero":
            values.append(float(lo))
    return (sum(values) / len(values) if values else None), counts, len(values)


def _context(store: Storage, user: User, city: str, year: int, lang: str) -> _Context:
    from metrics import methods, programmes
    from metrics.responsibility import responsibility

    _access(user, city)
    city_obj = _city(store, city)
    fw = framework_in_force(store, year)
    cs = _scored(store, city, year)
    assert cs.index is not None  # _scored refuses a city-year without one
    levels = scoring.indicator_levels(store, city, year)
    efforts = efforts_of(store, city, year)
    opds = store.opds(city)
    opd_names = {o.opd_code: o.name for o in opds}
    who = responsibility(store, fw, city, opds).by_indicator
    dim_w = {d.code: d.weight for d in fw.dimensions}
    dim_names = {d.code: pick(d.name, lang) for d in fw.dimensions}
    pil_names = {p.code: pick(p.name, lang) for p in (*fw.pillars, *fw.subpillars)}
    lo, hi = fw.scale_min, fw.scale_max

    # today's dimension values, rebuilt from the facts the way the SQL builds them
    model_dims: dict[str, float | None] = {}
    weight_sum: dict[str, float] = {}
    level_sum: dict[str, list[float]] = {}
    for lv in levels:
        if lv.score_level is not None:
            weight_sum[lv.dimension] = weight_sum.get(lv.dimension, 0.0) + lv.weight
            level_sum.setdefault(lv.dimension, []).append(lv.weight * lv.score_level)
    for d in fw.rubric_dimensions():
        model_dims[d.code] = (
            math.fsum(level_sum[d.code]) / weight_sum[d.code] if weight_sum.get(d.code) else None
        )
    inputs = {mi.code: mi for mi in methods.method_inputs(store, user, city, year, lang)}
    prog_dims: list[tuple[str, dict[str, tuple[int, int]], int]] = []
    survey: list[str] = []
    for d in fw.dimensions:
        if d.method == "programmes":
            mi = inputs.get(d.code)
            value, counts, n_pillars = _programme_dimension(fw, mi) if mi else (None, {}, 0)
            model_dims[d.code] = value
            if value is not None:
                prog_dims.append((d.code, counts, n_pillars))
        elif d.method == "survey":
            model_dims[d.code] = cs.dimensions.get(d.code)
            survey.append(d.code)
    for code, value in model_dims.items():
        stored = cs.dimensions.get(code)
        if (value is None) != (stored is None) or (
            value is not None and stored is not None and abs(value - stored) > TOL
        ):
            raise _mismatch(city, year, code, value, stored)
    present = [d for d, v in model_dims.items() if v is not None]
    total_w = math.fsum(dim_w[d] for d in present)
    start = math.fsum(dim_w[d] * v for d, v in model_dims.items() if v is not None) / total_w
    if abs(start - cs.index) > TOL:
        raise _mismatch(city, year, "index", start, cs.index)

    gains = scoring.index_gain_per_level(fw, levels, cs.dimensions)
    gain: list[float] = []
    cost: list[float] = []
    prev: list[int] = []
    step_group: list[str] = []
    step_level: list[int | None] = []
    groups: dict[str, _Group] = {}
    excluded: list[str] = []
    na: list[str] = []
    for lv in levels:
        if lv.source == "na":
            na.append(lv.code)
            continue
        if lv.score_level is None:  # missing under `missing: exclude`: a denominator change
            excluded.append(lv.code)
            continue
        s = lv.score_level
        if s >= hi or lv.code not in gains:
            continue
        ind = fw.indicator(lv.code)
        g = gains[lv.code]
        grp = _Group(
            kind="metric" if lv.source == "metric" else "level",
            code=lv.code,
            name=pick(lv.name, lang),
            dimension=lv.dimension,
            dimension_name=dim_names.get(lv.dimension, lv.dimension),
            pillar=lv.pillar,
            pillar_name=pil_names.get(lv.pillar, lv.pillar),
            opd_codes=who.get(lv.code, ()),
            from_level=lv.effective,
            verified=lv.source == "verified",
            levels=dict(ind.levels) if ind else {},
        )
        if grp.kind == "metric":
            grp.metric_code = lv.metric_code
            grp.metric_unit = lv.metric_unit
            grp.metric_direction = lv.metric_direction
            grp.metric_now = lv.metric_value
            for k, threshold in enumerate(lv.thresholds or (), start=lo + 1):
                raw = threshold
                if lv.per_population and lv.population:
                    raw = threshold * lv.population / lv.per_population
                grp.needed_raw[k] = raw
        groups[lv.code] = grp
        first = True
        for k in range(math.floor(s) + 1, hi + 1):
            gain.append(g * (k - max(s, k - 1)))
            cost.append(efforts.get((lv.code, k), 1.0))
            prev.append(-1 if first else len(gain) - 2)
            step_group.append(lv.code)
            step_level.append(k)
            first = False

    if prog_dims:
        kinds = {d.code: d.kind for d in fw.dimensions}
        board = programmes.build_board(store.programmes_in_force(city), fw, city, year, lang, opd_names)
        prog_gain: dict[str, float] = {}
        first_dim: dict[str, str] = {}
        for code, counts, n_pillars in prog_dims:
            for pillar, (planned, running) in counts.items():
                rows = [
                    r for r in board.rows if r.top_pillar == pillar and r.kind == kinds[code] and r.stalled
                ]
                if len(rows) != planned - running:
                    raise _mismatch(
                        city, year, f"{code}/{pillar}", float(len(rows)), float(planned - running)
                    )
                if not rows:
                    continue
                h = dim_w[code] / total_w * (hi - lo) / planned / n_pillars
                for r in rows:
                    prog_gain[r.code] = prog_gain.get(r.code, 0.0) + h
                    first_dim.setdefault(r.code, code)
                    groups.setdefault(
                        "programme:" + r.code,
                        _Group(
                            kind="programme",
                            code=r.code,
                            name=r.name,
                            dimension=code,
                            dimension_name=dim_names.get(code, code),
                            pillar=pillar,
                            pillar_name=pil_names.get(pillar, pillar),
                            opd_codes=(r.opd,) if r.opd in opd_names else (),
                            from_level=None,
                        ),
                    )
        for pcode in sorted(prog_gain):
            gain.append(prog_gain[pcode])
            cost.append(1.0)
            prev.append(-1)
            step_group.append("programme:" + pcode)
            step_level.append(None)

    notes = []
    if excluded:
        notes.append(t("target.core.note_exclude", lang, codes=", ".join(excluded)))
    if na:
        notes.append(t("target.core.note_na", lang, codes=", ".join(na)))
    if survey:
        notes.append(t("target.core.note_survey", lang, codes=", ".join(dim_names[d] for d in survey)))
    model = Model(
        start=cs.index,
        gain=np.asarray(gain, dtype=np.float64),
        cost=np.asarray(cost, dtype=np.float64),
        prev=np.asarray(prev, dtype=np.int64),
    )
    return _Context(
        fw,
        city_obj,
        cs,
        cs.index,
        model,
        step_group,
        step_level,
        groups,
        tuple(notes),
        opd_names,
        effort_unit_of(store, city, year),
    )


# ------------------------------------------------------------------------------ targets


def index_value(value: float | int | str) -> float:
    """A target index as a number: 3.5, or "3,5" as an Indonesian writes it; refused unless finite."""
    try:
        x = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise ValidationError("target.core.bad_index", value=value)
    return x


def band_of(fw: Framework, value: float | int | str) -> tuple[str, float]:
    """The band a target names, by label (Indonesian or English, any case) or 1-based position:
    (its Indonesian label, its lower bound)."""
    bands = sorted(fw.bands, key=lambda b: b.min)
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        pos = int(text)
        if 1 <= pos <= len(bands):
            return bands[pos - 1].label["id"], bands[pos - 1].min
    else:
        for b in bands:
            if text.casefold() in {v.casefold() for v in b.label.values()}:
                return b.label["id"], b.min
    choices = ", ".join(f"{n} {b.label['id']}" for n, b in enumerate(bands, start=1))
    raise ValidationError("target.core.unknown_band", value=value, choices=choices)


def _rank_value(value: float | int | str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise ValidationError("target.core.bad_rank", value=value)
    return int(text)


def scope_indexes(store: Storage, city: City, year: int, within: str) -> dict[str, float]:
    """Index by city code of every city scored in `year` in `city`'s scope (itself included)."""
    if within not in RANK_SCOPES:
        raise ValidationError("target.core.bad_scope", value=within, choices=", ".join(RANK_SCOPES))
    cities = {c.city_code: c for c in store.cities()}

    def same(code: str) -> bool:
        other = cities.get(code)
        if within == "national":
            return True
        if other is None:
            return False
        return other.province == city.province if within == "province" else other.category == city.category

    return {
        s.city_code: s.index
        for s in scoring.score(store, [year])
        if s.index is not None and same(s.city_code)
    }


def needed_for_rank(others: Sequence[float], rank: int) -> float | None:
    """The index that gives rank <= `rank` when the other cities keep `others`: the rank-th
    highest of them (a city tied with it shares its rank; competition ranking counts only the
    cities strictly above). None: fewer than `rank` others, any index will do."""
    ordered = sorted(others, reverse=True)
    return ordered[rank - 1] if len(ordered) >= rank else None


def _needed(store: Storage, ctx: _Context, target: Target, year: int, lang: str) -> tuple[float, str]:
    if target.kind == "index":
        return index_value(target.value), ""
    if target.kind == "band":
        return band_of(ctx.fw, target.value)[1], ""
    if target.kind != "rank":
        raise ValidationError("target.core.bad_kind", value=target.kind)
    rank = _rank_value(target.value)
    scope = scope_indexes(store, ctx.city, year, target.within)
    others = [v for c, v in scope.items() if c != ctx.city.city_code]
    needed = needed_for_rank(others, rank)
    scope_name = t(f"target.core.scope.{target.within}", lang)
    if needed is None:
        held = t("target.core.held_few", lang, year=year, rank=rank, scope=scope_name, others=len(others))
        return float(ctx.fw.scale_min), held
    held = t("target.core.held", lang, year=year, rank=rank, scope=scope_name, needed=number(needed, lang, 4))
    return needed, held


# ------------------------------------------------------------------------------ entry points


def situation(store: Storage, user: User, city: str, year: int, lang: str = "id") -> Situation:
    """Today's index, band, bands and ranks (national, province, category) of the city-year."""
    _access(user, city)
    city_obj = _city(store, city)
    fw = framework_in_force(store, year)
    cs = scoring.city_score(store, city, year)
    index = cs.index if cs is not None else None
    band = fw.band(index)
    ranks: dict[str, tuple[int | None, int]] = {}
    for scope in RANK_SCOPES:
        values = scope_indexes(store, city_obj, year, scope)
        ranked = scoring.competition_ranks(list(values.items()))
        ranks[scope] = (next((r for c, _, r in ranked if c == city), None), len(values))
    return Situation(
        city_code=city,
        city_name=city_obj.name,
        year=year,
        index=index,
        band=pick(band.label, lang) if band else None,
        bands=tuple((pick(b.label, lang), b.min) for b in sorted(fw.bands, key=lambda b: b.min)),
        ranks=ranks,
        scale_max=fw.scale_max,
        effort_unit=effort_unit_of(store, city, year),
        scale_min=fw.scale_min,
        province=city_obj.province,
        category=city_obj.category,
    )


def plan(store: Storage, user: User, city: str, year: int, target: Target, lang: str = "id") -> Plan:
    """The cheapest moves that lift the city's `year` index to `target` (see the module
    docstring for the model). Not reachable: `final_index` is the best reachable index and
    `moves` every move (the cheapest way to it)."""
    ctx = _context(store, user, city, year, lang)
    needed, held = _needed(store, ctx, target, year, lang)
    sol = solve(ctx.model, needed)
    moves = _moves(ctx, sol, lang)
    notes = ctx.notes
    if not sol.reachable:
        notes = (
            t(
                "target.core.note_unreachable",
                lang,
                needed=number(needed, lang, 4),
                best=number(sol.final, lang, 4),
            ),
            *notes,
        )
    band = ctx.fw.band(sol.final)
    return Plan(
        city_code=city,
        year=year,
        target=target,
        needed_index=needed,
        start_index=ctx.start,
        reachable=sol.reachable,
        final_index=sol.final,
        total_effort=sol.cost,
        effort_unit=ctx.unit,
        moves=moves,
        held=held,
        solver=SOLVER,
        notes=notes,
        city_name=ctx.city.name,
        band_after=pick(band.label, lang) if band else None,
        scale_min=ctx.fw.scale_min,
        scale_max=ctx.fw.scale_max,
    )


def _target_text(grp: _Group, to_level: int | None, lang: str) -> str:
    if grp.kind == "programme":
        return t("target.core.programme", lang, name=grp.name)
    if grp.kind == "metric" and to_level is not None and to_level in grp.needed_raw:
        key = "target.core.metric_lower" if grp.metric_direction == "lower" else "target.core.metric_higher"
        return t(
            key,
            lang,
            needed=plain(grp.needed_raw[to_level], lang),
            now=plain(grp.metric_now, lang),
            unit=grp.metric_unit or "",
        ).replace("  ", " ")
    text = pick(grp.levels.get(to_level or 0), lang) if to_level is not None else ""
    if grp.verified:
        text = f"{text} {t('target.core.verify_again', lang)}".strip()
    return text


def _moves(ctx: _Context, sol: Solution, lang: str) -> tuple[Move, ...]:
    chosen = np.flatnonzero(sol.chosen)
    by_group: dict[str, list[int]] = {}
    for j in chosen.tolist():
        by_group.setdefault(ctx.step_group[j], []).append(j)
    drafts = []
    for key, steps in by_group.items():
        grp = ctx.groups[key]
        gain = math.fsum(ctx.model.gain[steps].tolist())
        effort = math.fsum(ctx.model.cost[steps].tolist())
        levels = [lv for j in steps if (lv := ctx.step_level[j]) is not None]
        drafts.append((grp, max(levels) if levels else None, gain, effort))
    # the best value for effort first; a free move before any other
    drafts.sort(key=lambda d: (-(d[2] / d[3]) if d[3] > 0 else -math.inf, d[0].code, d[0].kind))
    out = []
    parts = [ctx.start]
    for grp, to_level, gain, effort in drafts:
        parts.append(gain)
        out.append(
            Move(
                kind=grp.kind,
                opd_codes=grp.opd_codes,
                opd_names=tuple(ctx.opd_names.get(o, o) for o in grp.opd_codes),
                code=grp.code,
                name=grp.name,
                dimension=grp.dimension,
                pillar=grp.pillar,
                from_level=grp.from_level,
                to_level=to_level,
                target_text=_target_text(grp, to_level, lang),
                metric_code=grp.metric_code,
                metric_needed=grp.needed_raw.get(to_level) if to_level is not None else None,
                metric_unit=grp.metric_unit,
                effort=effort,
                index_after=math.fsum(parts),
                gain=gain,
                dimension_name=grp.dimension_name,
                pillar_name=grp.pillar_name,
                verify_again=grp.verified,
                metric_direction=grp.metric_direction,
                metric_now=grp.metric_now,
            )
        )
    return tuple(out)


def by_opd(plan: Plan, lang: str = "id") -> dict[str, list[Move]]:
    """OPD name -> its tasks, in plan order; a task several OPDs answer is listed under each, a
    task nobody answers yet under the locale's "no OPD yet" (last)."""
    out: dict[str, list[Move]] = {}
    nobody: list[Move] = []
    order: dict[str, str] = {}
    for m in plan.moves:
        if not m.opd_codes:
            nobody.append(m)
        for code, name in zip(m.opd_codes, m.opd_names):
            order.setdefault(name, code)
            out.setdefault(name, []).append(m)
    result = {name: out[name] for name in sorted(out, key=lambda n: (order[n], n))}
    if nobody:
        result[t("target.core.no_opd", lang)] = nobody
    return result


def plan_json(p: Plan) -> dict[str, object]:
    """The plan as plain JSON data (`plan --json`, downloads)."""
    from dataclasses import asdict

    return asdict(p)


# Entry points (the contract the page and CLI use):
#   situation(store, user, city, year, lang="id") -> Situation
#   plan(store, user, city, year, target, lang="id") -> Plan
#   by_opd(plan, lang="id") -> dict[str, list[Move]]   (OPD name -> its tasks, in plan order; "no OPD yet" last)
#   band_of(fw, value) -> (label id, lower bound); needed_for_rank(others, rank) -> float | None
#   solve(model: Model, needed) -> Solution   (pure; tests and benchmarks)
#   plan_json(plan) -> dict   (what `plan --json` prints)
