"""The effort of raising an indicator by one level, per city and year, entered by the OPD that
answers it or by the city's planner and audited; the path to a target (metrics.targets) costs
each level step by it (a step with no entry costs one)."""

from __future__ import annotations

from typing import Literal

EffortUnit = Literal["langkah", "hari", "rupiah"]
EFFORT_UNITS: tuple[EffortUnit, ...] = ("langkah", "hari", "rupiah")
