"""The clarification loop between assessors and OPDs, and the assessors' marks of required evidence.

Why: in the national evaluation an assessor who doubts an answer could only overwrite its level,
and a city learnt of the doubt at the interview, too late to produce the missing document. Here
an assessor asks about an answer (a message and a due date, to one OPD or to every OPD
responsible for the indicator); the OPD answers with text and/or evidence (and, if it changes
its level, the new version of its answers, submitted through the usual rules); the assessor
closes the request: accepted, verified at a level (the SAME rule and write as Verifikasi's
verified levels, metrics.governance), or rejected with a note.

Each answer (indicator) has one state in that loop (records.ANSWER_STATES):

  diisi              only in the OPD's in-browser draft
  diajukan           in the submission in force
  perlu_klarifikasi  a request about it is open
  dijawab            the OPD answered a request that is not closed yet
  terverifikasi      the newest closed request was accepted or verified, or a verified level exists

A request in progress (open, answered) wins over a verified level: asking again means the
assessor doubts it again. Every transition is a write audited with who and when, so the audit
rows (object `indicator:<city>/<year>/<code>`, like verifications) are the answer's history.

Notices: when an SMTP server is configured (the same settings and sending function as deadline
reminders, metrics.deadlines), a new request is mailed to the OPD's registry address and an
answer to the assessor who asked, when that account's name is an e-mail address (accounts mapped
from the identity provider are; the registry holds no assessor addresses). A notice is sent
after the write is committed; a failure is logged and never undoes or blocks the write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import pandas as pd

from metrics import deadlines, governance
from metrics.auth import Action, User, can, require
from metrics.errors import PeriodClosed, PermissionDenied, ValidationError
from metrics.framework import Framework, framework_for_year
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.readers import DEFAULT_LIMITS
from metrics.records import CLARIFICATION_OUTCOMES, Clarification
from metrics.registry import EMAIL_RE, MAX_EMAIL
from metrics.responsibility import responsibility

if TYPE_CHECKING:
    from metrics.storage import Cursor, Storage

log = logging.getLogger(__name__)

MAX_MESSAGE = DEFAULT_LIMITS.max_text  # a request's message, an answer's text, a closing note
MAX_ITEMS = 50  # evidence items given with one answer


def _framework(store: Storage, year: int) -> Framework:
    fw = framework_for_year(loaded_frameworks(store), year)
    if fw is None:
        raise ValidationError("cell.no_framework", value=year)
    return fw


def _text(value: object, required_key: str | None = None, **params: object) -> str:
    text = "" if value is None else str(value).strip()
    if required_key and not text:
        raise ValidationError(required_key, **params)
    if len(text) > MAX_MESSAGE:
        raise ValidationError("cell.text_too_long", n=len(text), limit=MAX_MESSAGE)
    return text


def _not_locked(store: Storage, cur: Cursor, city: str, year: int) -> None:
    if store.period_status(city, year, cur) == "locked":
        raise PeriodClosed("period.locked", city=city, year=year)


def _obj(city: str, year: int, indicator: str) -> str:
    return f"indicator:{city}/{year}/{indicator}"


def _request(store: Storage, city: str, year: int, clarification_id: int) -> Clarification:
    c = store.clarification(int(clarification_id))
    if c is None or c.city_code != city or c.year != year:
        raise ValidationError("clarify.unknown", id=clarification_id)
    return c


def _responsible(store: Storage, fw: Framework, city: str, indicator: str) -> tuple[str, ...]:
    return responsibility(store, fw, city).by_indicator.get(indicator, ())


# ------------------------------------------------------------------------------ required evidence


def mark_requirement(
    store: Storage,
    user: User,
    city: str,
    year: int,
    indicator: str,
    level: int,
    requirement: int,
    met: bool,
    note: str = "",
) -> int:
    """Mark one required evidence item of an answer met or not met: `requirement` is its 0-based
    position in `Indicator.evidence_for(level)`. The newest mark per (level, requirement) counts;
    audited as `evidence.check`. A locked year refuses."""
    require(user, Action.VERIFY, city)
    year = governance._check_year(year)
    governance.check_city(store, city)
    fw = _framework(store, year)
    ind = fw.indicator(indicator)
    if ind is None:
        raise ValidationError("cell.unknown_indicator", value=indicator, framework=fw.id)
    if isinstance(level, bool) or not isinstance(level, int) or not fw.scale_min <= level <= fw.scale_max:
        raise ValidationError("cell.level_range", value=level, min=fw.scale_min, max=fw.scale_max)
    required = ind.evidence_for(level)
    if (
        isinstance(requirement, bool)
        or not isinstance(requirement, int)
        or not 0 <= requirement < len(required)
    ):
        raise ValidationError("clarify.no_requirement", indicator=indicator, level=level, n=requirement)
    note = _text(note)
    with store.transaction() as cur:
        _not_locked(store, cur, city, year)
        prev = next(
            (
                r
                for r in store.evidence_check_rows(city, year, indicator, cur)
                if (r[1], r[2]) == (level, requirement)
            ),
            None,
        )
        cid = store.add_evidence_check(
            cur, city, year, indicator, level, requirement, bool(met), note, user.username
        )
        store.write_audit(
            cur,
            user,
            "evidence.check",
            _obj(city, year, indicator),
            {"met": prev[3], "note": prev[4]} if prev else None,
            {
                "level": level,
                "requirement": requirement,
                "label": pick(required[requirement], "id"),
                "met": bool(met),
                "note": note,
            },
        )
    return cid


def requirement_marks(
    store: Storage, user: User, city: str, year: int, indicator: str
) -> dict[tuple[int, int], tuple[bool, str, str, datetime]]:
    """(level, requirement) -> (met, note, username, at): the newest mark of each."""
    require(user, Action.READ_SUBMISSIONS, city)
    return {
        (int(r[1]), int(r[2])): (bool(r[3]), r[4] or "", r[5], r[6])
        for r in store.evidence_check_rows(city, year, indicator)
    }


# ------------------------------------------------------------------------------ the loop


def _due(value: object) -> date | None:
    return deadlines.as_date(value, "due")


def ask(
    store: Storage,
    user: User,
    city: str,
    year: int,
    indicator: str,
    message: str,
    due: date | None = None,
    opd: str | None = None,
    smtp: deadlines.SmtpSettings | None = None,
    lang: str = "id",
) -> int:
    """Ask for clarification on the city-year's answer to `indicator`: to `opd`, or to every OPD
    responsible for it (None). The answer moves to "perlu klarifikasi". Refused: an unknown
    indicator, an OPD not responsible for it, an empty or overlong message, a due date before
    the city's today, a locked year. Audited as `clarification.ask`; mailed to the OPD(s) when
    `smtp` is given."""
    require(user, Action.VERIFY, city)
    year = governance._check_year(year)
    governance.check_city(store, city)
    fw = _framework(store, year)
    ind = fw.indicator(indicator)
    if ind is None:
        raise ValidationError("cell.unknown_indicator", value=indicator, framework=fw.id)
    who = _responsible(store, fw, city, indicator)
    if opd is not None and opd not in who:
        raise ValidationError("clarify.not_responsible", opd=opd, indicator=indicator)
    if not who:
        raise ValidationError("clarify.nobody", indicator=indicator)
    message = _text(message, "clarify.message_required")
    when = _due(due)
    if when is not None and when < deadlines.city_today(store, city):
        raise ValidationError("clarify.due_past", due=when.isoformat())
    with store.transaction() as cur:
        _not_locked(store, cur, city, year)
        cid = store.add_clarification(cur, city, year, indicator, opd, message, when, user.username)
        store.write_audit(
            cur,
            user,
            "clarification.ask",
            _obj(city, year, indicator),
            None,
            {
                "clarification": cid,
                "opd": opd,
                "message": message,
                "due": when.isoformat() if when else None,
                "state": "perlu_klarifikasi",
            },
        )
    if smtp is not None:
        emails = {o.opd_code: o.email for o in store.opds(city)}
        to = [emails[o] for o in ([opd] if opd else who) if emails.get(o)]
        names = {c.city_code: c.name for c in store.cities()}
        subject = t("clarify.mail.ask_subject", lang, code=indicator, year=year)
        body = t(
            "clarify.mail.ask_body",
            lang,
            code=indicator,
            indicator=pick(ind.name, lang),
            city=names.get(city, city),
            year=year,
            message=message,
            due=deadlines.long_date_safe(when, lang),
        )
        _notify(smtp, [x for x in to if x], subject, body)
    return cid


def answer(
    store: Storage,
    user: User,
    city: str,
    year: int,
    clarification_id: int,
    text: str = "",
    item_ids: Iterable[int] = (),
    submission_id: int | None = None,
    smtp: deadlines.SmtpSettings | None = None,
    lang: str = "id",
) -> int:
    """The OPD's answer to a request: text and/or evidence items of its own (and, when it changed
    its level, the id of the new version of its answers, submitted through the usual rules).
    Only the OPD the request is for (for a request to every responsible OPD: any of them) may
    answer; a closed request or a locked year refuses. The request moves to "answered";
    audited as `clarification.answer`; mailed to the asking assessor when `smtp` is given and
    that account's name is an address. Returns the event's id."""
    c = _request(store, city, year, clarification_id)
    opd = c.opd_code or user.opd_code
    if opd is None:
        raise PermissionDenied("perm.denied", role=user.role, action=Action.UPLOAD.value, scope=f" ({city})")
    require(user, Action.UPLOAD, city, opd)
    if c.opd_code is None and opd not in _responsible(store, _framework(store, year), city, c.indicator_code):
        raise PermissionDenied(
            "perm.denied", role=user.role, action=Action.UPLOAD.value, scope=f" ({city}/{opd})"
        )
    text = _text(text)
    items = sorted({int(i) for i in item_ids})
    if not text and not items:
        raise ValidationError("clarify.answer_empty")
    if len(items) > MAX_ITEMS:
        raise ValidationError("clarify.too_many_items", n=len(items), limit=MAX_ITEMS)
    sid = None if submission_id is None else int(submission_id)
    if sid is not None:
        meta = store.submission(sid)
        if meta is None or (meta.city_code, meta.opd_code, meta.year) != (city, opd, year):
            raise ValidationError("clarify.bad_submission", id=sid)
    with store.transaction() as cur:
        _not_locked(store, cur, city, year)
        now = store.clarification(c.id, cur)
        if now is None or now.status == "closed":
            raise ValidationError("clarify.closed", id=c.id)
        owners = {i: store.evidence_item(i, cur) for i in items}
        foreign = [
            i
            for i, it in owners.items()
            if it is None or (it.city_code, it.opd_code, it.year) != (city, opd, year)
        ]
        if foreign:
            raise ValidationError("clarify.item_not_yours", ids=", ".join(map(str, foreign)))
        for item in items:  # evidence given in an answer backs the answer itself from now on
            store.link_evidence(cur, city, opd, year, c.indicator_code, item, user.username)
        eid = store.add_clarification_event(cur, c.id, "answered", text or None, items, sid, user.username)
        store.set_clarification_status(cur, c.id, "answered")
        store.write_audit(
            cur,
            user,
            "clarification.answer",
            _obj(city, year, c.indicator_code),
            {"clarification": c.id, "status": now.status},
            {
                "clarification": c.id,
                "opd": opd,
                "text": text,
                "items": items,
                "submission": sid,
                "state": "dijawab",
            },
        )
    if smtp is not None:
        to = c.asked_by if len(c.asked_by) <= MAX_EMAIL and EMAIL_RE.fullmatch(c.asked_by) else None
        subject = t("clarify.mail.answer_subject", lang, code=c.indicator_code, year=year, opd=opd)
        body = t(
            "clarify.mail.answer_body",
            lang,
            code=c.indicator_code,
            year=year,
            opd=opd,
            text=text or "-",
            n=len(items),
        )
        _notify(smtp, [to] if to else [], subject, body)
    return eid


def close(
    store: Storage,
    user: User,
    city: str,
    year: int,
    clarification_id: int,
    outcome: str,
    level: int | None = None,
    note: str = "",
) -> None:
    """Close a request: `accepted` (the answer stands), `verified` at `level` (recorded as the
    indicator's verified level by the same rule and write as Verifikasi, in this transaction) or
    `rejected` (a note saying why is required). A closed request or a locked year refuses;
    audited as `clarification.close`."""
    require(user, Action.VERIFY, city)
    c = _request(store, city, year, clarification_id)
    if outcome not in CLARIFICATION_OUTCOMES:
        raise ValidationError("clarify.bad_outcome", value=str(outcome)[:40])
    note = _text(note, "clarify.note_required" if outcome == "rejected" else None)
    checked: list[tuple[str, int, str]] = []
    if outcome == "verified":
        if level is None:
            raise ValidationError("clarify.level_required")
        checked = governance.check_verifications(store, year, [(c.indicator_code, level, note)])
    elif level is not None:
        raise ValidationError("clarify.level_only_verified")
    with store.transaction() as cur:
        _not_locked(store, cur, city, year)
        now = store.clarification(c.id, cur)
        if now is None or now.status == "closed":
            raise ValidationError("clarify.closed", id=c.id)
        governance.record_verifications(store, cur, user, city, year, checked)
        vlevel = checked[0][1] if checked else None
        store.set_clarification_status(cur, c.id, "closed", user.username, outcome, vlevel, note or None)
        store.add_clarification_event(cur, c.id, "closed", note or outcome, (), None, user.username)
        store.write_audit(
            cur,
            user,
            "clarification.close",
            _obj(city, year, c.indicator_code),
            {"clarification": c.id, "status": now.status},
            {
                "clarification": c.id,
                "outcome": outcome,
                "level": vlevel,
                "note": note,
                "state": "diajukan" if outcome == "rejected" else "terverifikasi",
            },
        )


def reopen(store: Storage, user: User, city: str, year: int, clarification_id: int, note: str = "") -> None:
    """Open a closed request again (the assessor closed it too soon); a verified level it recorded
    stays (change it on Verifikasi). Audited as `clarification.reopen`."""
    require(user, Action.VERIFY, city)
    c = _request(store, city, year, clarification_id)
    note = _text(note)
    with store.transaction() as cur:
        _not_locked(store, cur, city, year)
        now = store.clarification(c.id, cur)
        if now is None or now.status != "closed":
            raise ValidationError("clarify.not_closed", id=c.id)
        store.set_clarification_status(cur, c.id, "open")
        store.add_clarification_event(cur, c.id, "reopened", note or None, (), None, user.username)
        store.write_audit(
            cur,
            user,
            "clarification.reopen",
            _obj(city, year, c.indicator_code),
            {"clarification": c.id, "status": "closed", "outcome": now.outcome},
            {"clarification": c.id, "status": "open", "note": note, "state": "perlu_klarifikasi"},
        )


def _notify(smtp: deadlines.SmtpSettings, to: list[str], subject: str, body: str) -> None:
    """Mail a notice to each address; the write it tells of is already committed, so a server
    that refuses or is down is logged, never raised."""
    for addr in to:
        try:
            deadlines.send_mail(smtp, addr, subject, body)
        except Exception as exc:  # an SMTP or network failure of any kind
            log.warning("clarification notice to %s not sent: %s", addr, exc)


# ------------------------------------------------------------------------------ reads


def _read(user: User, city: str, opd: str | None) -> None:
    require(user, Action.READ_SUBMISSIONS, city, opd)


def requests(
    store: Storage,
    user: User,
    city: str,
    year: int,
    opd: str | None = None,
    status: str | None = None,
) -> list[Clarification]:
    """The city-year's requests, oldest first, with their events (to `opd` or to every OPD when
    `opd` is given; an OPD operator must give its own)."""
    _read(user, city, opd)
    return store.clarification_list(city, year, opd, status)


def open_requests(store: Storage, user: User, city: str, opd: str, year: int) -> list[Clarification]:
    """What the OPD has to answer: the open requests to it or to every responsible OPD of the
    indicators it answers."""
    _read(user, city, opd)
    got = store.clarification_list(city, year, opd, "open")
    general = [c for c in got if c.opd_code is None]
    if general:
        fw = framework_for_year(loaded_frameworks(store), year)
        mine = set() if fw is None else {i.code for i in responsibility(store, fw, city).of_opd(fw, opd)}
        got = [c for c in got if c.opd_code is not None or c.indicator_code in mine]
    return got


def overdue(
    store: Storage, user: User, city: str, year: int, today: date | None = None
) -> list[Clarification]:
    """Open requests past their due date (a due date counts to the end of that day in the city:
    `today` is the city's date, metrics.deadlines.city_today, unless given)."""
    _read(user, city, None)
    day = today or deadlines.city_today(store, city)
    return [
        c for c in store.clarification_list(city, year, None, "open") if c.due is not None and c.due < day
    ]


def days_overdue(c: Clarification, today: date) -> int:
    return (today - c.due).days if c.due is not None and c.due < today else 0


def answer_states(store: Storage, user: User, city: str, year: int, opd: str | None = None) -> dict[str, str]:
    """indicator -> its state in the loop (see the module docstring), for the answers of `opd`
    (or of every OPD of the city). Indicators with nothing yet are left out."""
    import json

    _read(user, city, opd)
    opds = [opd] if opd is not None else [o.opd_code for o in store.opds(city)]
    drafted: set[str] = set()
    for o in opds:
        row = store.get_draft(city, o, year)
        if row is not None:
            answers = json.loads(row[0]).get("answers", {})
            drafted |= {code for code, a in answers.items() if a and a[0] not in ("", None)}
    submitted = {r["indicator_code"] for r in store.answer_rows(year, city, opd)}
    submitted |= {c["indicator_code"] for c in store.na_claims(city, year, opd)}
    reqs = store.clarification_list(city, year, opd)
    if opd is not None:
        reqs = [c for c in reqs if c.opd_code is not None or c.indicator_code in submitted | drafted]
    verified = {v["indicator_code"] for v in store.verification_rows(city, year)}
    codes = drafted | submitted | {c.indicator_code for c in reqs}
    if opd is None:
        codes |= verified
    out: dict[str, str] = {}
    for code in sorted(codes):
        mine = [c for c in reqs if c.indicator_code == code]
        if any(c.status == "open" for c in mine):
            out[code] = "perlu_klarifikasi"
        elif any(c.status == "answered" for c in mine):
            out[code] = "dijawab"
        elif code in verified or (mine and mine[-1].outcome in ("accepted", "verified")):
            out[code] = "terverifikasi"
        elif code in submitted:
            out[code] = "diajukan"
        elif code in drafted:
            out[code] = "diisi"
    return out


@dataclass(frozen=True)
class RequestView:
    """A request as the pages draw it: the request, its indicator's name and whether it is late."""

    request: Clarification
    indicator: str
    overdue: bool
    days_overdue: int


def views_of(
    store: Storage, city: str, year: int, reqs: list[Clarification], lang: str, today: date | None = None
) -> list[RequestView]:
    fw = framework_for_year(loaded_frameworks(store), year)
    names = {i.code: pick(i.name, lang) for i in fw.indicators} if fw else {}
    day = today or deadlines.city_today(store, city)
    return [
        RequestView(
            c,
            names.get(c.indicator_code, c.indicator_code),
            c.status == "open" and days_overdue(c, day) > 0,
            days_overdue(c, day) if c.status == "open" else 0,
        )
        for c in reqs
    ]


def can_answer(user: User, c: Clarification) -> bool:
    """Whether `user` may answer `c` by role and scope (the responsibility check is answer's)."""
    return can(user, Action.UPLOAD, c.city_code, c.opd_code or user.opd_code)


OVERDUE_COLUMNS = [
    "id",
    "code",
    "indicator",
    "opd_code",
    "opd_name",
    "due",
    "due_text",
    "days_overdue",
    "asked_by",
]


def overdue_table(
    store: Storage, user: User, city: str, year: int, lang: str = "id", today: date | None = None
) -> pd.DataFrame:
    """The open requests past their due date as a table (Kelengkapan, the status board); empty for
    a reader who may not read the city's submissions (a viewer sees results, not the questions)."""
    if not can(user, Action.READ_SUBMISSIONS, city) or user.role == "opd":
        return pd.DataFrame(columns=OVERDUE_COLUMNS)
    day = today or deadlines.city_today(store, city)
    late = overdue(store, user, city, year, day)
    names = {o.opd_code: o.name for o in store.opds(city)}
    rows = [
        {
            "id": v.request.id,
            "code": v.request.indicator_code,
            "indicator": v.indicator,
            "opd_code": v.request.opd_code,
            "opd_name": names.get(v.request.opd_code, v.request.opd_code)
            if v.request.opd_code
            else t("clarify.all_opds", lang),
            "due": v.request.due,
            "due_text": deadlines.long_date_safe(v.request.due, lang),
            "days_overdue": v.days_overdue,
            "asked_by": v.request.asked_by,
        }
        for v in views_of(store, city, year, late, lang, day)
    ]
    return pd.DataFrame(rows, columns=OVERDUE_COLUMNS)
