"""The path to a target: the cheapest set of moves that lifts a city's index to a value, a band
or a rank next year, found exactly.

The index is linear in the moves the city can make (see scoring's module docstring: each
dimension is a weighted mean with fixed weights), so "reach at least T at the least effort" is
an integer program over one binary variable per level step, per metric threshold and per
programme; SciPy's milp (HiGHS) solves it exactly. The model's starting index is checked against
the stored one before any answer is given: a model that does not reproduce today's index refuses
rather than advise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TargetKind = Literal["index", "band", "rank"]
RankScope = Literal["national", "province", "category"]
MoveKind = Literal["level", "metric", "programme"]


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
    """One task of the plan, in the order the plan lists them."""

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
    moves: tuple[Move, ...]
    held: str  # how the other cities are held (rank targets), in the asked language; else ""
    solver: str  # e.g. "scipy.optimize.milp (HiGHS)"


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


# Entry points (filled in by the issue-20 work; signatures are the contract the page and CLI use):
#   situation(store, user, city, year, lang="id") -> Situation
#   plan(store, user, city, year, target, lang="id") -> Plan
#   by_opd(plan) -> dict[str, list[Move]]   (OPD name -> its tasks, in plan order)
