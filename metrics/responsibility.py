"""Who answers which indicator in a city: the one rule, for the Python side of the core.

Why a module of its own: an indicator is answered by every OPD of the city whose type the
framework lists for it, and by the OPD the city's admin assigned it to. An admin may assign only
an indicator that no OPD of the city can answer by type (issue 15: such an indicator must be
visible, not a silent zero; until assigned it counts as one unanswered pair). Completeness, the
OPD home, the deadlines, templates, the form and ingest validation ask this module; the scoring
SQL in metrics/store/scores.py (`_ANSWERS_FOR`, `_PAIR_ROWS`) states the same rule for the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics.auth import Action, User, require
from metrics.errors import ValidationError
from metrics.framework import Framework, Indicator
from metrics.loaded_frameworks import loaded_frameworks
from metrics.registry import Opd

if TYPE_CHECKING:
    from metrics.storage import Cursor, Storage


def answers(opd: Opd, ind: Indicator, assigned: Collection[tuple[str, str, str]]) -> bool:
    """Whether `opd` answers `ind`: its type is listed, or (city, indicator, OPD) is in `assigned`."""
    return opd.opd_type in ind.opd_types or (opd.city_code, ind.code, opd.opd_code) in assigned


def assigned_set(
    store: Storage, city: str | None = None, cur: Cursor | None = None
) -> frozenset[tuple[str, str, str]]:
    """(city, indicator, OPD) of every assignment (of one city)."""
    return frozenset((c, i, o) for c, i, o, *_ in store.assignment_rows(city, cur))


def indicators_of(store: Storage, fw: Framework, opd: Opd) -> list[Indicator]:
    """The indicators `opd` answers under `fw`, in framework order (its template, its form)."""
    got = assigned_set(store, opd.city_code)
    return [i for i in fw.indicators if answers(opd, i, got)]


@dataclass(frozen=True)
class Responsibility:
    """Indicator code -> the OPD codes of a city that answer it (empty: nobody can)."""

    by_indicator: dict[str, tuple[str, ...]]

    def of_opd(self, fw: Framework, opd_code: str) -> list[Indicator]:
        return [i for i in fw.indicators if opd_code in self.by_indicator.get(i.code, ())]

    @property
    def orphans(self) -> tuple[str, ...]:
        """Indicators no OPD of the city can answer (no OPD of any responsible type)."""
        return tuple(c for c, who in self.by_indicator.items() if not who)


def responsibility(store: Storage, fw: Framework, city: str, opds: list[Opd] | None = None) -> Responsibility:
    """Which OPDs of `city` answer each indicator of `fw` (the rule in this module's docstring)."""
    opds = store.opds(city) if opds is None else opds
    got = assigned_set(store, city)
    out = {i.code: tuple(sorted(o.opd_code for o in opds if answers(o, i, got))) for i in fw.indicators}
    return Responsibility(out)


def _latest_framework(store: Storage) -> Framework:
    fws = loaded_frameworks(store)
    if not fws:
        raise ValidationError("assign.unknown_indicator", value="-")
    return max(fws, key=lambda x: (x[0].applies_from, x[1]))[0]


def assign(store: Storage, user: User, city: str, indicator: str, opd: str | None) -> str | None:
    """Assign `indicator`, which no OPD of `city` answers by type, to `opd` of that city (None:
    withdraw the assignment). Audited as `indicator.assign`; the city's scores follow in the same
    transaction. Returns the OPD assigned before (or None)."""
    require(user, Action.MANAGE_REGISTRY, city)
    fw = _latest_framework(store)
    ind = fw.indicator(indicator)
    if ind is None:
        raise ValidationError("assign.unknown_indicator", value=indicator)
    opds = store.opds(city)
    if opd is not None and opd not in {o.opd_code for o in opds}:
        raise ValidationError("assign.not_of_city", opd=opd, city=city)
    if opd is not None and any(o.opd_type in ind.opd_types for o in opds):
        raise ValidationError("assign.answerable", value=indicator, city=city)
    with store.transaction() as cur:
        before = [r[2] for r in store.assignment_rows(city, cur) if r[1] == indicator]
        prev = before[0] if before else None
        store.set_assignment_row(cur, city, indicator, opd, user.username)
        store.write_audit(
            cur, user, "indicator.assign", f"assignment:{city}/{indicator}", {"opd": prev}, {"opd": opd}
        )
    return prev


def answered_sets(store: Storage, fw: Framework, city: str, year: int) -> dict[str, set[str]]:
    """Indicators each OPD answered this year: its self-assessment in force plus its service metrics."""
    got: dict[str, set[str]] = defaultdict(set)
    for a in store.answer_rows(year, city):
        got[a["opd_code"]].add(a["indicator_code"])
    by_metric = fw.metric_codes()
    msubs = store.submissions_frame(city, year=year, kind="metric")
    if not msubs.empty:
        in_force = msubs[msubs["in_force"]]
        for metric_code, opd_code in zip(in_force["metric_code"], in_force["opd_code"]):
            ind = by_metric.get(metric_code)
            if ind is not None:
                got[opd_code].add(ind.code)
    return got
