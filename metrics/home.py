"""Where each role lands after signing in: the OPD operator's home and the administrator's status board.

Why: after sign-in every role used to see the sign-in page again with a lone "Keluar" button. An
OPD operator needs, for the open year, where their OPD stands (answered x of y, the version in
force, the deadline and days left) and the ONE next thing to do; the administrator needs the
city at a glance (completeness by OPD, who is overdue, the last uploads, indicators nobody can
answer). Both are read-models over metrics.deadlines (the one on-time rule) and
metrics.responsibility (the one "who answers what" rule); the pages only draw them.

The OPD's home also lists the assessors' open clarification requests (metrics.clarify), each with
its due date and whether it is late in the city's date, so that a doubt reaches the OPD before
the interview rather than at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import pandas as pd

from metrics import clarify, deadlines, interviews
from metrics.auth import Action, User, require
from metrics.errors import PermissionDenied
from metrics.framework import framework_for_year
from metrics.i18n import pick
from metrics.loaded_frameworks import loaded_frameworks
from metrics.responsibility import responsibility

if TYPE_CHECKING:
    from metrics.framework import Framework
    from metrics.storage import Storage

LAST_UPLOADS = 10


@dataclass(frozen=True)
class NaItem:
    """One of the OPD's "tidak berlaku" answers in force and where it stands (issue 17)."""

    code: str
    reason: str
    state: str  # pending | accepted | rejected (metrics.entry.na_state)
    note: str | None = None  # the assessor's note (why it was rejected)
    decided_by: str | None = None
    decided_at: datetime | None = None


# the one next action of an OPD home, in the order a year goes
NEXT_ACTIONS = ("upload", "continue", "complete", "done", "closed", "no_year")


def open_year(store: Storage, city: str, today: date | None = None) -> int | None:
    """The year an OPD works on: the latest known year (with data, a period or a deadline) that is
    open for the city and has a framework; None when there is none."""
    frameworks = loaded_frameworks(store)
    known = set(store.years()) | set(store.deadline_years())
    for y in sorted(known, reverse=True):
        if framework_for_year(frameworks, y) is not None and store.period_status(city, y) == "open":
            return y
    return None


@dataclass(frozen=True)
class OpdHome:
    city_code: str
    city_name: str
    opd_code: str
    opd_name: str
    year: int | None
    period: str = "open"  # open | closed | locked
    pairs: int = 0
    answered: int = 0
    missing: tuple[str, ...] = ()
    submission_id: int | None = None  # the version in force
    submitted_at: datetime | None = None
    file_name: str | None = None
    deadline: deadlines.Deadline | None = None
    days_left: int | None = None
    timeliness: str = "not_yet"
    draft_at: datetime | None = None  # an unsent in-browser draft, if any
    next_action: str = "no_year"
    # its "tidak berlaku" answers: rejected ones are to fix (answer a level or a better reason),
    # pending ones wait for the assessor; until confirmed, neither counts as answered
    na_items: tuple[NaItem, ...] = ()
    # the next interview sessions the OPD attends (issue 18), soonest first
    interview_sessions: tuple[interviews.Session, ...] = ()
    # the assessors' open clarification requests to the OPD (issue 18), with due dates and lateness
    requests: tuple[clarify.RequestView, ...] = ()

    @property
    def na_rejected(self) -> tuple[NaItem, ...]:
        return tuple(i for i in self.na_items if i.state == "rejected")

    @property
    def na_pending(self) -> tuple[NaItem, ...]:
        return tuple(i for i in self.na_items if i.state == "pending")

    @property
    def completeness(self) -> float | None:
        return self.answered / self.pairs if self.pairs else None


def _next_action(period: str, submission_id: int | None, answered: int, pairs: int, draft: bool) -> str:
    if period != "open":
        return "closed"
    if draft:
        return "continue"  # finish what was started in the browser before anything else
    if submission_id is None:
        return "upload"
    if answered < pairs:
        return "complete"
    return "done"


def opd_home(store: Storage, user: User, year: int | None = None, today: date | None = None) -> OpdHome:
    """The signed-in OPD operator's home for the open year (or `year`). Refused for an account
    without an OPD (an administrator, an executive): they have their own landing pages."""
    if user.opd_code is None or user.city_code is None:
        raise PermissionDenied("perm.denied", role=user.role, action="opd_home", scope="")
    require(user, Action.UPLOAD, user.city_code, user.opd_code)
    city, opd = user.city_code, user.opd_code
    o = next((x for x in store.opds(city) if x.opd_code == opd), None)
    city_name = next((c.name for c in store.cities() if c.city_code == city), city)
    opd_name = o.name if o else opd
    year = year if year is not None else open_year(store, city, today)
    if year is None:
        return OpdHome(city, city_name, opd, opd_name, None)
    cs = deadlines.opd_statuses(store, city, year, today)
    period = store.period_status(city, year)
    mine = next((s for s in cs.opds if s.opd_code == opd), None) if cs else None
    draft = store.get_draft(city, opd, year)
    subs = store.submissions_frame(city, opd, year, kind="assessment")
    in_force = subs[subs["in_force"]].head(1) if not subs.empty else subs
    sid = int(in_force["id"].iloc[0]) if len(in_force) else None
    at = in_force["accepted_at"].iloc[0].to_pydatetime() if len(in_force) else None
    fname = str(in_force["file_name"].iloc[0]) if len(in_force) and in_force["file_name"].iloc[0] else None
    pairs, answered = (mine.pairs, mine.answered) if mine else (0, 0)
    dl = cs.deadline if cs else deadlines.deadline(store, city, year)
    from metrics.entry import na_state  # the one rule of where a "tidak berlaku" answer stands

    na_items = tuple(
        NaItem(
            c["indicator_code"],
            c["reason"],
            na_state(c),
            c["decision_note"] or None,
            c["decided_by"],
            c["decided_at"],
        )
        for c in store.na_claims(city, year, opd)
    )
    return OpdHome(
        city,
        city_name,
        opd,
        opd_name,
        year,
        period,
        pairs,
        answered,
        mine.missing if mine else (),
        sid,
        at,
        fname,
        dl,
        dl.days_left(cs.today) if cs else None,
        mine.timeliness if mine else "not_yet",
        draft[1] if draft else None,
        _next_action(period, sid, answered, pairs, draft is not None),
        na_items,
        interview_sessions=interviews.upcoming(store, user),
        requests=tuple(
            clarify.views_of(store, city, year, clarify.open_requests(store, user, city, opd, year), "id")
        ),
    )


# ------------------------------------------------------------------------------ status board


@dataclass(frozen=True)
class StatusBoard:
    state: str  # "ok" | "no_city" | "empty"
    city_code: str | None = None
    city_name: str = ""
    year: int | None = None
    status: deadlines.CityStatus | None = None
    # opd_code, name, head_name, status (none|partial|complete), answered, pairs, completeness (0..100),
    # timeliness, submitted_at, days_overdue
    opds: pd.DataFrame = field(default_factory=pd.DataFrame)
    # opd_code, name, head_name, missing (n), days_overdue
    overdue: pd.DataFrame = field(default_factory=pd.DataFrame)
    # id, opd_code, opd_name, kind, file_name, username, accepted_at
    last_uploads: pd.DataFrame = field(default_factory=pd.DataFrame)
    # code, name, opd_types: indicators no OPD of the city answers
    orphans: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def on_time_rate(self) -> float | None:
        return self.status.on_time_rate if self.status else None


def opd_table(cs: deadlines.CityStatus) -> pd.DataFrame:
    """One row per responsible OPD: completeness and timeliness (Kelengkapan and the board)."""
    rows = [
        {
            "opd_code": o.opd_code,
            "name": o.name,
            "head_name": o.head_name,
            "status": "complete" if o.complete else ("partial" if o.answered else "none"),
            "answered": o.answered,
            "pairs": o.pairs,
            "completeness": 100 * o.answered / o.pairs,
            "timeliness": o.timeliness,
            "submitted_at": o.submitted_at,
            "days_overdue": o.days_overdue,
        }
        for o in cs.opds
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "opd_code",
            "name",
            "head_name",
            "status",
            "answered",
            "pairs",
            "completeness",
            "timeliness",
            "submitted_at",
            "days_overdue",
        ],
    )


def orphan_table(store: Storage, fw: Framework, city: str, lang: str) -> pd.DataFrame:
    """Indicators of `fw` that no OPD of the city's registry can answer (metrics.responsibility)."""
    orphans = set(responsibility(store, fw, city).orphans)
    rows = [
        {"code": i.code, "name": pick(i.name, lang), "opd_types": ", ".join(i.opd_types)}
        for i in fw.indicators
        if i.code in orphans
    ]
    return pd.DataFrame(rows, columns=["code", "name", "opd_types"])


def status_board(
    store: Storage,
    user: User,
    city: str | None,
    year: int | None,
    lang: str = "id",
    today: date | None = None,
) -> StatusBoard:
    """The administrator's landing page for a city-year."""
    require(user, Action.PERIOD, city)
    cities = {c.city_code: c.name for c in store.cities()}
    if city is None or city not in cities:
        return StatusBoard("no_city", city)
    fw = framework_for_year(loaded_frameworks(store), year) if year is not None else None
    if fw is None or year is None:
        return StatusBoard("empty", city, cities[city], year)
    cs = deadlines.opd_statuses(store, city, year, today)
    if cs is None:  # no framework for the year, as checked just above
        return StatusBoard("empty", city, cities[city], year)
    table = opd_table(cs)
    over = pd.DataFrame(
        [
            {
                "opd_code": o.opd_code,
                "name": o.name,
                "head_name": o.head_name,
                "missing": len(o.missing),
                "days_overdue": o.days_overdue,
            }
            for o in cs.overdue
        ],
        columns=["opd_code", "name", "head_name", "missing", "days_overdue"],
    )
    subs = store.submissions_frame(city, year=year)
    last = (
        subs.head(LAST_UPLOADS)[
            ["id", "opd_code", "opd_name", "kind", "file_name", "username", "accepted_at"]
        ]
        if not subs.empty
        else pd.DataFrame(
            columns=["id", "opd_code", "opd_name", "kind", "file_name", "username", "accepted_at"]
        )
    )
    return StatusBoard(
        "ok",
        city,
        cities[city],
        year,
        cs,
        table,
        over,
        last.reset_index(drop=True),
        orphan_table(store, fw, city, lang),
    )
