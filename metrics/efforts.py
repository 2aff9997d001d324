"""The effort of raising an indicator by one level, per city and year, entered by the OPD that
answers it or by the city's planner and audited; the path to a target (metrics.targets) costs
each level step by it (a step with no entry costs one)."""

from __future__ import annotations

from typing import Literal

EffortUnit = Literal["langkah", "hari", "rupiah"]
EFFORT_UNITS: tuple[EffortUnit, ...] = ("langkah", "hari", "rupiah")

# Entry points (filled in by the issue-20 work; the page and the plan use them):
#   effort_table(store, user, city, year, lang="id") -> EffortTable  (rows: indicator, OPDs, level today, effort per step)
#   set_efforts(store, user, city, year, changes: list[EffortChange]) -> int  (audited; an OPD only its own indicators)
#   set_effort_unit(store, user, city, year, unit) -> None  (audited; planner or admin)
#   efforts_of(store, city, year) -> dict[tuple[str, int], float]  (indicator, to_level) -> effort, for metrics.targets
