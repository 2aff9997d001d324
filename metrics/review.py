"""The assessor's view of a city-year: self-assessed levels beside evidence, with review flags.

Why: an assessor cannot re-check every answer, so the core points at the answers most likely
to be over-stated, by three explainable rules, and shows how far each OPD's self-assessment
sits from what the assessors verified:

  jump         the OPD's level for the indicator rose by JUMP (2) or more since last year
  no_evidence  a level of EVIDENCE_FROM (3) or higher without its evidence: where the framework
               lists the evidence that level requires (Indicator.evidence_for), fewer evidence
               items (files, links) linked to the answer than items required, naming the
               requirements; elsewhere, no evidence text and no item at all
  above_peers  the level is PEER_GAP (2) or more above the mean level that OPDs of the same
               type gave the same indicator that year in other cities (at least MIN_PEERS of them)

A verification is per city, year and indicator (it replaces the self-assessments of every OPD
for that indicator in the index; see metrics.scoring). `apply` records only what changed,
through metrics.governance.verify_many: every row is checked first, then all are written in one
transaction with an audit row each, so a bad row or a locked year changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from metrics import clarify, governance, scoring
from metrics.auth import Action, User, require
from metrics.cells import CellError, blank, editor_value, missing, parse_level
from metrics.errors import PeriodClosed, ValidationError
from metrics.framework import framework_for_year
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.records import EvidenceItem

if TYPE_CHECKING:
    from metrics.storage import Storage

JUMP = 2
EVIDENCE_FROM = 3
PEER_GAP = 2.0
MIN_PEERS = 3
FLAGS = ("jump", "no_evidence", "above_peers")


@dataclass(frozen=True)
class Review:
    state: str  # ok | empty (no framework for the year) | no_city (none chosen) | no_data (nothing submitted)
    city_code: str | None
    year: int | None
    status: str = "open"  # the period
    city_name: str = ""
    framework_id: str = ""
    scale_min: int = 0
    scale_max: int = 4
    answers: pd.DataFrame = field(default_factory=pd.DataFrame)
    # opd_code, opd_name, code, indicator, level, prev_level, evidence, note, peer_mean, peers, flags, flag_text
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    # code, indicator, dimension, pillar, self_level, n_opd, flags, source, effective,
    # verified_level, verified_note, verified_by, verified_at
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    # opd_code, opd_name, answered, verified, self_mean, verified_mean, gap
    flag_counts: dict[str, int] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.status != "locked"

    @property
    def verified(self) -> int:
        """Indicators of the year with a verified level."""
        return int(self.indicators["verified_level"].notna().sum()) if len(self.indicators) else 0

    def answers_shown(self, only_flagged: bool = False) -> pd.DataFrame:
        """The answers, flagged first (most flags first), or only the flagged ones."""
        df = self.answers
        if only_flagged:
            df = df[df["flags"] != ""]
        order = df["flags"].str.count(",") + (df["flags"] != "").astype(int)
        return (
            df.assign(_n=order)
            .sort_values(["_n", "code", "opd_code"], ascending=[False, True, True])
            .drop(columns="_n")
            .reset_index(drop=True)
        )


def flags_for(
    level: int,
    prev_level: int | None,
    evidence: str | None,
    peer_mean: float | None,
    peers: int,
    *,
    required: int = 0,
    linked: int = 0,
) -> list[str]:
    """The review flags of one self-assessed answer (see the module docstring for the rules);
    `required`: the evidence items the framework lists for its level, `linked`: the evidence
    items (files, links) linked to the answer."""
    out = []
    if prev_level is not None and level - prev_level >= JUMP:
        out.append("jump")
    if level >= EVIDENCE_FROM and (linked < required if required else blank(evidence) and not linked):
        out.append("no_evidence")
    if peer_mean is not None and peers >= MIN_PEERS and level - peer_mean >= PEER_GAP:
        out.append("above_peers")
    return out


def review(store: Storage, user: User, city: str, year: int, lang: str = "id") -> Review:
    """Every self-assessed answer of the city-year with its flags, per-indicator levels and per-OPD gaps."""
    require(user, Action.VERIFY, city)
    if city is None or year is None:
        return Review("no_city", city, year)
    names = {c.city_code: c.name for c in store.cities()}
    if city not in names:
        return Review("no_city", city, year)
    fw = framework_for_year(loaded_frameworks(store), year)
    status = store.period_status(city, year)
    if fw is None:
        return Review("empty", city, year, status, names[city])
    opd_types = {o.opd_code: o.opd_type for o in store.opds(city)}
    now = store.answer_rows(year, city)
    prev = {(r["opd_code"], r["indicator_code"]): int(r["level"]) for r in store.answer_rows(year - 1, city)}
    peers = {(typ, code): (mean, n) for typ, code, mean, n in store.peer_levels(year, city)}
    ind_by_code = {i.code: i for i in fw.indicators}

    linked = _linked_items(store, user, city, year, now)
    marks_by_code: dict[str, dict[tuple[int, int], tuple[bool, str, str, Any]]] = {}

    def _marks(code: str) -> dict[tuple[int, int], tuple[bool, str, str, Any]]:
        """The assessors' met/not-met marks of the indicator's required evidence (read once)."""
        from metrics import clarify

        if code not in marks_by_code:
            marks_by_code[code] = clarify.requirement_marks(store, user, city, year, code)
        return marks_by_code[code]

    rows = []
    for r in now:
        code, opd = r["indicator_code"], r["opd_code"]
        level = int(r["level"])
        pm, pn = peers.get((opd_types.get(opd), code), (None, 0))
        ind = ind_by_code.get(code)
        required = [pick(x, lang) for x in ind.evidence_for(level)] if ind else []
        n_items = linked.get((opd, code), 0)
        fl = flags_for(
            level, prev.get((opd, code)), r["evidence"], pm, pn, required=len(required), linked=n_items
        )
        missing_evidence = ""
        if "no_evidence" in fl and required:
            # the requirements an assessor has not marked met (Verifikasi) are the ones missing;
            # when every one is marked met, the assessor has settled it and nothing is flagged
            unmet = [x for n, x in enumerate(required) if not _marks(code).get((level, n), (False,))[0]]
            if unmet:
                missing_evidence = "; ".join(unmet)
            else:
                fl.remove("no_evidence")
        rows.append(
            {
                "opd_code": opd,
                "opd_name": r["opd_name"] or "",
                "code": code,
                "indicator": pick(ind.name, lang) if ind else code,
                "level": level,
                "prev_level": prev.get((opd, code)),
                "evidence": r["evidence"] or "",
                "note": r["note"] or "",
                "peer_mean": pm,
                "peers": int(pn),
                "flags": ",".join(fl),
                "flag_text": "; ".join(
                    t(
                        "review.flag.evidence_missing",
                        lang,
                        n=n_items,
                        required=len(required),
                        items=missing_evidence,
                    )
                    if f == "no_evidence" and missing_evidence
                    else t(f"review.flag.{f}", lang)
                    for f in fl
                ),
                "evidence_items": n_items,
                "missing_evidence": missing_evidence,
            }
        )
    answers = pd.DataFrame(
        rows,
        columns=[
            "opd_code",
            "opd_name",
            "code",
            "indicator",
            "level",
            "prev_level",
            "evidence",
            "note",
            "peer_mean",
            "peers",
            "flags",
            "flag_text",
            "evidence_items",
            "missing_evidence",
        ],
    )
    answers["prev_level"] = answers["prev_level"].astype("Int64")

    flags_per_ind: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["flags"]:
            flags_per_ind[r["code"]] += 1
    ver = {v["indicator_code"]: v for v in store.verification_rows(city, year)}
    levels = scoring.indicator_levels(store, city, year)
    dim_names = {d.code: pick(d.name, lang) for d in fw.dimensions}  # shown by name, as on the read pages
    ind_rows = []
    for lv in levels:
        if lv.n_opd == 0 and lv.verified_level is None:
            continue  # nothing self-assessed and nothing verified: nothing to review yet
        v = ver.get(lv.code)
        ind_rows.append(
            {
                "code": lv.code,
                "indicator": pick(lv.name, lang),
                "dimension": dim_names.get(lv.dimension, lv.dimension),
                "pillar": lv.subpillar or lv.pillar,
                "self_level": lv.self_level,
                "n_opd": lv.n_opd,
                "flags": flags_per_ind.get(lv.code, 0),
                "source": lv.source,
                "effective": lv.effective,
                "verified_level": lv.verified_level,
                "verified_note": (v or {}).get("note") or "",
                "verified_by": (v or {}).get("username"),
                "verified_at": (v or {}).get("verified_at"),
            }
        )
    indicators = pd.DataFrame(
        ind_rows,
        columns=[
            "code",
            "indicator",
            "dimension",
            "pillar",
            "self_level",
            "n_opd",
            "flags",
            "source",
            "effective",
            "verified_level",
            "verified_note",
            "verified_by",
            "verified_at",
        ],
    )
    indicators["verified_level"] = indicators["verified_level"].astype("Int64")

    gaps = _gaps(rows, {c: v["level"] for c, v in ver.items()})
    counts = {f: int(sum(1 for r in rows if f in r["flags"].split(","))) for f in FLAGS}
    state = "ok" if rows or ver else "no_data"
    return Review(
        state,
        city,
        year,
        status,
        names[city],
        fw.id,
        fw.scale_min,
        fw.scale_max,
        answers,
        indicators,
        gaps,
        counts,
    )


def _linked_items(
    store: Storage, user: User, city: str, year: int, answers: Iterable[Mapping[str, Any]]
) -> dict[tuple[str, str], int]:
    """(OPD, indicator) -> the evidence items linked to that answer, for the answers at a level
    the evidence flag looks at (one read for the city-year)."""
    from metrics import evidence

    codes = {r["indicator_code"] for r in answers if int(r["level"]) >= EVIDENCE_FROM}
    out: dict[tuple[str, str], int] = defaultdict(int)
    for code, items in evidence.year_evidence(store, user, city, year).items():
        if code in codes:
            for opd, _item in items:
                out[(opd, code)] += 1
    return out


def _gaps(rows: list[dict[str, Any]], verified: dict[str, int]) -> pd.DataFrame:
    """Per OPD: its mean self-assessed level against the verified level, over verified indicators."""
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = per.setdefault(
            r["opd_code"],
            {"opd_code": r["opd_code"], "opd_name": r["opd_name"], "answered": 0, "self": [], "ver": []},
        )
        d["answered"] += 1
        if r["code"] in verified:
            d["self"].append(r["level"])
            d["ver"].append(verified[r["code"]])
    out = []
    for d in per.values():
        n = len(d["self"])
        s: float | None = sum(d["self"]) / n if n else None
        v: float | None = sum(d["ver"]) / n if n else None
        out.append(
            {
                "opd_code": d["opd_code"],
                "opd_name": d["opd_name"],
                "answered": d["answered"],
                "verified": n,
                "self_mean": s,
                "verified_mean": v,
                "gap": (s - v) if s is not None and v is not None else None,
            }
        )
    df = pd.DataFrame(
        out, columns=["opd_code", "opd_name", "answered", "verified", "self_mean", "verified_mean", "gap"]
    )
    return df.sort_values(["gap", "opd_code"], ascending=[False, True], na_position="last").reset_index(
        drop=True
    )


@dataclass(frozen=True)
class Applied:
    changed: tuple[str, ...]  # indicators whose verification was recorded
    unchanged: int


def _level(v: object, lo: int, hi: int) -> int | None:
    """A verified-level cell as the data editor returns it, read by the upload rule
    (metrics.cells.parse_level): an int on the scale, or None when blank; else ValidationError."""
    try:
        return parse_level(editor_value(v), lo, hi)
    except CellError as e:
        raise ValidationError(e.key, **e.params) from None


def apply(store: Storage, user: User, city: str, year: int, rows: Iterable[Mapping[str, object]]) -> Applied:
    """Record each row's verified level and note where it differs from the verification in force.

    `rows` are records with code, verified_level, verified_note (as the review table holds them).
    A row without a verified level is left alone (a verification is never withdrawn here). All
    changed rows are recorded together or, if any is invalid or the year is locked, none.
    """
    require(user, Action.VERIFY, city)
    if store.period_status(city, year) == "locked":
        raise PeriodClosed("period.locked", city=city, year=year)
    fw = framework_for_year(loaded_frameworks(store), year) if year is not None else None
    lo, hi = (fw.scale_min, fw.scale_max) if fw else (0, 4)
    current = {
        v["indicator_code"]: (int(v["level"]), v["note"] or "") for v in store.verification_rows(city, year)
    }
    todo, same = [], 0
    for r in rows:
        code = str(r.get("code") or "").strip()
        level = _level(r.get("verified_level"), lo, hi)
        note = r.get("verified_note")
        note = "" if missing(note) else str(note).strip()
        if not code or level is None:
            continue
        if current.get(code) == (level, note):
            same += 1
            continue
        todo.append((code, level, note))
    governance.verify_many(store, user, city, year, todo)
    return Applied(tuple(c for c, _, _ in todo), same)


# ------------------------------------------------------------------ "tidak berlaku" answers (issue 17)

NA_CLAIM_COLUMNS = [
    "code",
    "indicator",
    "opd_code",
    "opd_name",
    "reason",
    "state",
    "state_text",
    "decision_note",
    "decided_by",
    "decided_at",
    "submitted_at",
]


@dataclass(frozen=True)
class NaClaims:
    """The city-year's "tidak berlaku" answers in force, one row per OPD and indicator, with where
    each stands (pending | accepted | rejected: metrics.entry.na_state) and the assessor's note."""

    city_code: str
    year: int
    status: str  # the period: a locked year takes no decision
    claims: pd.DataFrame  # NA_CLAIM_COLUMNS

    @property
    def editable(self) -> bool:
        return self.status != "locked"

    @property
    def open(self) -> list[str]:
        """Indicators with an answer waiting for the assessor's word, in code order."""
        df = self.claims
        return sorted(set(df.loc[df["state"] == "pending", "code"])) if len(df) else []

    @property
    def codes(self) -> list[str]:
        """Every indicator claimed not applicable: the open ones first (a decision may be changed)."""
        rest = sorted(set(self.claims["code"]) - set(self.open)) if len(self.claims) else []
        return self.open + rest


def na_claims(store: Storage, user: User, city: str, year: int, lang: str = "id") -> NaClaims:
    """What the assessor decides on: every "tidak berlaku" answer of the city-year in force."""
    from metrics.entry import na_state  # the one rule of where such an answer stands

    require(user, Action.VERIFY, city)
    fw = framework_for_year(loaded_frameworks(store), year)
    names = {i.code: pick(i.name, lang) for i in fw.indicators} if fw else {}
    rows = []
    for c in store.na_claims(city, year):
        state = na_state(c)
        rows.append(
            {
                "code": c["indicator_code"],
                "indicator": names.get(c["indicator_code"], c["indicator_code"]),
                "opd_code": c["opd_code"],
                "opd_name": c["opd_name"] or c["opd_code"],
                "reason": c["reason"],
                "state": state,
                "state_text": t(f"na.state.{state}", lang),
                "decision_note": c["decision_note"] or "",
                "decided_by": c["decided_by"],
                "decided_at": c["decided_at"],
                "submitted_at": c["submitted_at"],
            }
        )
    return NaClaims(city, year, store.period_status(city, year), pd.DataFrame(rows, columns=NA_CLAIM_COLUMNS))


def decide_na(
    store: Storage, user: User, city: str, year: int, indicator: str, accepted: bool, note: object = ""
) -> int:
    """The assessor's word on a "tidak berlaku" answer (metrics.governance.decide_na: checked,
    audited); `note` as the page's text field holds it."""
    return governance.decide_na(
        store, user, city, year, indicator, accepted, "" if missing(note) else str(note)
    )


# ------------------------------------------------------------------ one answer: evidence, checks, requests (issue 18)


@dataclass(frozen=True)
class Requirement:
    """A required evidence item of a level (Indicator.evidence_for) and the assessor's newest mark."""

    level: int
    index: int  # its 0-based position at that level (what clarify.mark_requirement takes)
    label: str
    met: bool | None = None  # None: not marked yet
    note: str = ""
    by: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class AnswerReview:
    """Everything the assessor judges one indicator's answers by, for Verifikasi: each OPD's level,
    the evidence linked to the answers, the required evidence of the levels given with the marks,
    the clarification requests with their events, and who may be asked."""

    city_code: str
    year: int
    code: str
    indicator: str
    status: str  # the period
    scale_min: int
    scale_max: int
    state: str | None  # the answer's state (metrics.clarify.answer_states), None: nothing yet
    answers: tuple[tuple[str, str, int], ...]  # (opd_code, opd_name, level) in force
    evidence: tuple[tuple[str, EvidenceItem], ...]  # (opd_code, item)
    requirements: tuple[Requirement, ...]
    requests: tuple[clarify.RequestView, ...]
    responsible: tuple[tuple[str, str], ...]  # (opd_code, name) who may be asked
    verified_level: int | None = None
    given: dict[int, EvidenceItem] = field(default_factory=dict)  # items given with the answers to requests

    @property
    def editable(self) -> bool:
        return self.status != "locked"

    def opd_name(self, code: str | None) -> str | None:
        """The name of the city's OPD `code` (the code itself when it is not one of the indicator's)."""
        if code is None:
            return None
        names = {c: n for c, n in self.responsible} | {c: n for c, n, _ in self.answers}
        return names.get(code, code)

    @property
    def files(self) -> tuple[tuple[str, EvidenceItem], ...]:
        return tuple(x for x in self.evidence if x[1].kind == "file")

    @property
    def links(self) -> tuple[tuple[str, EvidenceItem], ...]:
        return tuple(x for x in self.evidence if x[1].kind == "link")

    @property
    def open_requests(self) -> tuple[clarify.RequestView, ...]:
        return tuple(r for r in self.requests if r.request.status != "closed")


def answer_review(
    store: Storage, user: User, city: str, year: int, indicator: str, lang: str = "id"
) -> AnswerReview | None:
    """The assessor's view of one indicator's answers in a city-year (None: no such indicator)."""
    from metrics import evidence
    from metrics.responsibility import responsibility

    require(user, Action.VERIFY, city)
    fw = framework_for_year(loaded_frameworks(store), year)
    ind = fw.indicator(indicator) if fw else None
    if fw is None or ind is None:
        return None
    names = {o.opd_code: o.name for o in store.opds(city)}
    answers = tuple(
        (r["opd_code"], r["opd_name"] or r["opd_code"], int(r["level"]))
        for r in store.answer_rows(year, city)
        if r["indicator_code"] == indicator
    )
    ver = next((v for v in store.verification_rows(city, year) if v["indicator_code"] == indicator), None)
    vlevel = int(ver["level"]) if ver else None
    marks = clarify.requirement_marks(store, user, city, year, indicator)
    levels = sorted({lv for _, _, lv in answers} | ({vlevel} if vlevel is not None else set()))
    reqs = tuple(
        Requirement(lv, i, pick(label, lang), *(marks.get((lv, i)) or (None, "", None, None)))
        for lv in levels
        for i, label in enumerate(ind.evidence_for(lv))
    )
    asked = [c for c in clarify.requests(store, user, city, year) if c.indicator_code == indicator]
    who = responsibility(store, fw, city).by_indicator.get(indicator, ())
    given = {i: store.evidence_item(i) for c in asked for e in c.events for i in e.item_ids}
    return AnswerReview(
        city,
        year,
        indicator,
        pick(ind.name, lang),
        store.period_status(city, year),
        fw.scale_min,
        fw.scale_max,
        clarify.answer_states(store, user, city, year).get(indicator),
        answers,
        tuple(evidence.answer_evidence(store, user, city, year, indicator)),
        reqs,
        tuple(clarify.views_of(store, city, year, asked, lang)),
        tuple((o, names.get(o, o)) for o in who),
        vlevel,
        {i: it for i, it in given.items() if it is not None and it.city_code == city},
    )
