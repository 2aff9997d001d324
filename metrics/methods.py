"""The inputs of the programmes and survey methods, and the "tidak berlaku" answers, of one
city-year: what the drill-down, the report card and `score --json` show so that a reader can
recompute every method value by hand.

The numbers come from the very SQL that scores the city-year (metrics/store/score_sql.py's
METHOD_CTES and `na_confirmed`), read through the store, so what is shown is what was counted;
the rules are stated in metrics.scoring's module docstring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metrics import admin
from metrics.auth import Action, User, require

if TYPE_CHECKING:
    from metrics.storage import Storage


@dataclass(frozen=True)
class MethodPillar:
    """One top-level pillar's value v(d, p) of a method dimension and what it counted."""

    pillar: str
    value: float | None  # None: missing (no programme planned; no sufficient surveyed programme)
    # programmes: of the dimension's kind running that year (start <= year <= end), this pillar's
    planned: int = 0  # not stopped with an accepted reason
    running: int = 0  # status berjalan or selesai
    excluded: int = 0  # dihentikan with an accepted reason (out of the count)
    not_started: int = 0  # direncanakan (or no status that year)
    stalled: int = 0  # dihentikan without an accepted reason (still planned)
    programmes: int = 0  # survey: the sufficient surveyed programmes of the pillar


@dataclass(frozen=True)
class SurveyedProgramme:
    """One programme of the survey in force: respondents, mean answer (1-5) and impact."""

    code: str
    name: str
    pillar: str | None  # its top-level pillar (None: not in the year's framework)
    respondents: int
    mean: float | None
    impact: float | None
    sufficient: bool  # respondents >= the dimension's min_respondents: counted


@dataclass(frozen=True)
class MethodInput:
    """One non-rubric dimension of a city-year: its value and everything it counted."""

    code: str
    name: str
    method: str  # programmes | survey
    kind: str | None  # programmes: masterplan | quickwin
    min_respondents: int
    pillar_weight: float
    weight: float
    value: float | None
    pillars: tuple[MethodPillar, ...]
    programmes: tuple[SurveyedProgramme, ...]  # survey: every surveyed programme, sufficient or not
    # programme codes left out: of the kind, running, but with a pillar not in the framework
    # (programmes); surveyed but not in the register in force (survey)
    ignored: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The `inputs` of `score --json`: per pillar, surveyed programmes, ignored codes."""
        out: dict[str, Any] = {"kind": self.kind, "pillar_weight": self.pillar_weight}
        if self.method == "programmes":
            out["pillars"] = [{k: v for k, v in asdict(p).items() if k != "programmes"} for p in self.pillars]
        else:
            out["min_respondents"] = self.min_respondents
            out["pillars"] = [
                {"pillar": p.pillar, "value": p.value, "programmes": p.programmes} for p in self.pillars
            ]
            out["programmes"] = [asdict(s) for s in self.programmes]
        out["ignored"] = list(self.ignored)
        return out


@dataclass(frozen=True)
class NaIndicator:
    """An indicator of the city-year answered "tidak berlaku", or decided on by an assessor."""

    code: str
    claims: int  # OPDs whose assessment in force answers it "tidak berlaku"
    reasons: tuple[tuple[str, str], ...]  # (OPD, reason) of each claim
    decision: str | None  # the newest decision: accepted | rejected (None: none yet)
    note: str | None
    decided_by: str | None
    decided_at: datetime | None
    confirmed: bool  # accepted and claimed: left out of the score

    @property
    def status(self) -> str:
        """confirmed | rejected | pending (claimed, no decision) | withdrawn (decided, no claim)."""
        if self.confirmed:
            return "confirmed"
        if not self.claims:
            return "withdrawn"
        return "rejected" if self.decision == "rejected" else "pending"

    @property
    def reason(self) -> str:
        """The claims' reasons in one line (OPD: reason; ...)."""
        return "; ".join(f"{opd}: {why}" for opd, why in self.reasons)


def _may_read(store: Storage, user: User) -> None:
    require(user, Action.READ_SCORES, public_read=admin.public_read(store))


def method_inputs(
    store: Storage, user: User, city: str, year: int, lang: str = "id"
) -> tuple[MethodInput, ...]:
    """Each non-rubric dimension of the city-year's framework, in framework order, with its value,
    its per-pillar values and counts, the surveyed programmes and the programmes it ignored."""
    return method_inputs_by_city(store, user, year, city, lang).get(city, ())


def method_inputs_by_city(
    store: Storage, user: User, year: int, city: str | None = None, lang: str = "id"
) -> dict[str, tuple[MethodInput, ...]]:
    """method_inputs of `city`, or of every city scored in `year` (None), by city code: one read
    for all of them (`score --json` of a national database)."""
    _may_read(store, user)
    rows = store.method_input_rows(year, city)
    pillars: dict[tuple[str, str], list[MethodPillar]] = {}
    for r in rows["pillars"]:
        pillars.setdefault((r["city_code"], r["dimension"]), []).append(
            MethodPillar(
                r["pillar"],
                r["value"],
                int(r["planned"]),
                int(r["running"]),
                int(r["excluded"]),
                int(r["not_started"]),
                int(r["stalled"]),
                int(r["programmes"]),
            )
        )
    surveyed: dict[tuple[str, str], list[SurveyedProgramme]] = {}
    for r in rows["surveyed"]:
        surveyed.setdefault((r["city_code"], r["dimension"]), []).append(
            SurveyedProgramme(
                r["programme_code"],
                r["name"],
                r["pillar"],
                int(r["respondents"]),
                r["mean_answer"],
                r["impact"],
                bool(r["sufficient"]),
            )
        )
    ignored: dict[tuple[str, str], list[str]] = {}
    for r in rows["ignored"]:
        ignored.setdefault((r["city_code"], r["dimension"]), []).append(r["code"])
    out: dict[str, list[MethodInput]] = {}
    for r in rows["dimensions"]:
        key = (r["city_code"], r["code"])
        out.setdefault(r["city_code"], []).append(
            MethodInput(
                code=r["code"],
                name=r["name_en"] if lang == "en" else r["name_id"],
                method=r["method"],
                kind=r["kind"],
                min_respondents=int(r["min_respondents"]),
                pillar_weight=float(r["pillar_weight"]),
                weight=float(r["weight"]),
                value=r["value"],
                pillars=tuple(pillars.get(key, ())),
                programmes=tuple(surveyed.get(key, ())),
                ignored=tuple(ignored.get(key, ())),
            )
        )
    return {c: tuple(items) for c, items in out.items()}


def na_indicators(store: Storage, user: User, city: str, year: int) -> tuple[NaIndicator, ...]:
    """The city-year's "tidak berlaku" answers in force and decisions, in framework order."""
    _may_read(store, user)
    return tuple(
        NaIndicator(
            code=r["indicator_code"],
            claims=int(r["na_claims"]),
            reasons=tuple((str(opd), str(why)) for opd, why in (r["reasons"] or ())),
            decision=r["decision"],
            note=r["note"],
            decided_by=r["decided_by"],
            decided_at=r["decided_at"],
            confirmed=bool(r["confirmed"]),
        )
        for r in store.na_indicator_rows(year, city)
    )


def na_counts(items: tuple[NaIndicator, ...]) -> dict[str, int]:
    """How many indicators are confirmed, pending, rejected (and withdrawn) not applicable."""
    out = {"confirmed": 0, "pending": 0, "rejected": 0, "withdrawn": 0}
    for na in items:
        out[na.status] += 1
    return out
