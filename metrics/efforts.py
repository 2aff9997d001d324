"""The effort of raising an indicator by one level, per city and year, entered by the OPD that
answers it or by the city's planner and audited; the path to a target (metrics.targets) costs
each level step by it (a step with no entry costs one)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from metrics.auth import Action, User, require
from metrics.errors import PermissionDenied, ValidationError
from metrics.framework import Framework, framework_for_year
from metrics.governance import check_city
from metrics.i18n import pick
from metrics.loaded_frameworks import loaded_frameworks

if TYPE_CHECKING:
    from metrics.storage import Storage

EffortUnit = Literal["langkah", "hari", "rupiah"]
EFFORT_UNITS: tuple[EffortUnit, ...] = ("langkah", "hari", "rupiah")
DEFAULT_UNIT: EffortUnit = "langkah"
DEFAULT_EFFORT = 1.0  # a step with no entry
MAX_EFFORT = 1e15  # far above any city's budget in Rupiah; refuses typos and overflow
MAX_CHANGES = 10_000  # one call: far more than every step of a national framework


@dataclass(frozen=True)
class EffortRow:
    """One indicator of the city-year: who answers it, its level today and the effort entered
    for each step (to_level -> effort; None: none entered, the step costs DEFAULT_EFFORT)."""

    code: str
    name: str
    opd_codes: tuple[str, ...]
    opd_names: tuple[str, ...]
    level: float | None  # the level the index counts today (None: missing or not applicable)
    source: str  # verified | metric | self | missing | na (scoring.IndicatorLevel.source)
    efforts: dict[int, float | None]  # every level above the scale minimum
    editable: bool  # the acting user may set this row's efforts


@dataclass(frozen=True)
class EffortTable:
    city_code: str
    year: int
    unit: str  # one of EFFORT_UNITS
    rows: tuple[EffortRow, ...]  # framework order
    editable: bool  # the acting user may set some row's efforts
    unit_editable: bool = False  # planner or admin: may change the unit
    scale_min: int = 0
    scale_max: int = 4


@dataclass(frozen=True)
class EffortChange:
    indicator: str
    to_level: int
    effort: float | None  # None: clear (back to DEFAULT_EFFORT)


def efforts_of(store: Storage, city: str, year: int) -> dict[tuple[str, int], float]:
    """(indicator, to_level) -> effort entered for the city-year."""
    return {(str(r[0]), int(r[1])): float(r[2]) for r in store.effort_rows(city, year)}


def effort_unit_of(store: Storage, city: str, year: int) -> str:
    """The unit the city counts its efforts in that year (DEFAULT_UNIT when none set)."""
    return store.effort_unit(city, year) or DEFAULT_UNIT


def framework_in_force(store: Storage, year: int) -> Framework:
    """The framework that scores `year`, or a ValidationError naming the year (efforts and the
    path to a target plan against it)."""
    fw = framework_for_year(loaded_frameworks(store), year)
    if fw is None:
        raise ValidationError("target.core.no_framework", year=year)
    return fw


def _scope(user: User) -> str | None:
    return user.opd_code if user.role == "opd" else None


def effort_table(store: Storage, user: User, city: str, year: int, lang: str = "id") -> EffortTable:
    """Every indicator of the year's framework with its OPDs, level today and efforts; rows the
    user may edit marked (an OPD: those it answers; a planner or admin: all)."""
    from metrics import scoring
    from metrics.auth import can
    from metrics.responsibility import responsibility

    require(user, Action.PLAN, city, _scope(user))
    check_city(store, city)
    fw = framework_in_force(store, year)
    opds = store.opds(city)
    names = {o.opd_code: o.name for o in opds}
    who = responsibility(store, fw, city, opds).by_indicator
    levels = {lv.code: lv for lv in scoring.indicator_levels(store, city, year)}
    got = efforts_of(store, city, year)
    may = can(user, Action.SET_EFFORT, city, _scope(user))
    rows = []
    for ind in fw.indicators:
        lv = levels.get(ind.code)
        owners = who.get(ind.code, ())
        rows.append(
            EffortRow(
                code=ind.code,
                name=pick(ind.name, lang),
                opd_codes=owners,
                opd_names=tuple(names.get(o, o) for o in owners),
                level=lv.score_level if lv else None,
                source=lv.source if lv else "missing",
                efforts={k: got.get((ind.code, k)) for k in range(fw.scale_min + 1, fw.scale_max + 1)},
                editable=may and (user.role != "opd" or user.opd_code in owners),
            )
        )
    return EffortTable(
        city_code=city,
        year=year,
        unit=effort_unit_of(store, city, year),
        rows=tuple(rows),
        editable=any(r.editable for r in rows),
        unit_editable=may and user.role != "opd",
        scale_min=fw.scale_min,
        scale_max=fw.scale_max,
    )


def _checked(fw: Framework, who: dict[str, tuple[str, ...]], user: User, changes: list[EffortChange]) -> None:
    seen: set[tuple[str, int]] = set()
    for ch in changes:
        if fw.indicator(ch.indicator) is None:
            raise ValidationError("effort.unknown_indicator", value=ch.indicator, framework=fw.id)
        level = ch.to_level
        if isinstance(level, bool) or not isinstance(level, int) or not fw.scale_min < level <= fw.scale_max:
            raise ValidationError(
                "effort.bad_level", indicator=ch.indicator, value=level, lo=fw.scale_min + 1, hi=fw.scale_max
            )
        if (ch.indicator, level) in seen:
            raise ValidationError("effort.duplicate", indicator=ch.indicator, level=level)
        seen.add((ch.indicator, level))
        e = ch.effort
        if e is not None and (
            isinstance(e, bool)
            or not isinstance(e, (int, float))
            or not math.isfinite(float(e))
            or not 0 <= float(e) <= MAX_EFFORT
        ):
            raise ValidationError(
                "effort.bad_value", indicator=ch.indicator, level=level, value=e, max=f"{MAX_EFFORT:.0e}"
            )
        if user.role == "opd" and user.opd_code not in who.get(ch.indicator, ()):
            raise PermissionDenied("effort.not_yours", indicator=ch.indicator, opd=user.opd_code or "-")


def set_efforts(store: Storage, user: User, city: str, year: int, changes: list[EffortChange]) -> int:
    """Set (or clear, effort None) the efforts of some steps of the city-year: all or none. An
    OPD only for the indicators it answers in the city; a value is finite, >= 0 and at most
    MAX_EFFORT; a level in (scale_min, scale_max]. One audit row lists every change with its
    value before and after. Returns the number of steps whose effort changed."""
    from metrics.responsibility import responsibility

    require(user, Action.SET_EFFORT, city, _scope(user))
    check_city(store, city)
    changes = list(changes)
    if len(changes) > MAX_CHANGES:
        raise ValidationError("effort.too_many", n=len(changes), limit=MAX_CHANGES)
    fw = framework_in_force(store, year)
    who = responsibility(store, fw, city).by_indicator
    _checked(fw, who, user, changes)
    with store.transaction() as cur:
        now = efforts_of(store, city, year)
        before: dict[str, float | None] = {}
        after: dict[str, float | None] = {}
        for ch in changes:
            key = (ch.indicator, ch.to_level)
            new = None if ch.effort is None else float(ch.effort)
            if now.get(key) == new:
                continue
            store.set_effort(cur, city, year, ch.indicator, ch.to_level, new, user.username)
            before[f"{ch.indicator}:{ch.to_level}"] = now.get(key)
            after[f"{ch.indicator}:{ch.to_level}"] = new
        if after:
            store.write_audit(cur, user, "effort.set", f"efforts:{city}/{year}", before, after)
    return len(after)


def set_effort_unit(store: Storage, user: User, city: str, year: int, unit: str) -> None:
    """The unit the city's efforts of `year` count in (planner or admin; audited)."""
    require(user, Action.SET_EFFORT, city, None)
    if user.role == "opd":
        raise PermissionDenied("perm.denied", role=user.role, action="set_effort_unit", scope=f" ({city})")
    check_city(store, city)
    if unit not in EFFORT_UNITS:
        raise ValidationError("effort.bad_unit", value=unit, choices=", ".join(EFFORT_UNITS))
    with store.transaction() as cur:
        prev = store.effort_unit(city, year)
        store.set_effort_unit(cur, city, year, unit, user.username)
        store.write_audit(cur, user, "effort.unit", f"efforts:{city}/{year}", {"unit": prev}, {"unit": unit})


# Entry points (the page and the plan use them):
#   effort_table(store, user, city, year, lang="id") -> EffortTable  (rows: indicator, OPDs, level today, effort per step)
#   set_efforts(store, user, city, year, changes: list[EffortChange]) -> int  (audited; an OPD only its own indicators)
#   set_effort_unit(store, user, city, year, unit) -> None  (audited; planner or admin)
#   efforts_of(store, city, year) -> dict[tuple[str, int], float]  (indicator, to_level) -> effort, for metrics.targets
#   effort_unit_of(store, city, year) -> str  (DEFAULT_UNIT when none set)
