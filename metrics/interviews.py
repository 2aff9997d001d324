"""Interview sessions: when the assessors meet a city's OPDs, where, about which indicators.

In the national evaluation the assessors question each answer's evidence in interviews; a city
that learns of its session late, or in the wrong time zone, arrives unprepared. Assessors and
the administrator schedule sessions here (a time in the city's own zone, a place or an https
video link, the OPDs that attend, the indicators to discuss), keep notes per session with the
indicators actually discussed, and cancel a session by marking it (it stays, so everyone who
saved it can be told). OPD operators see only the sessions their OPD attends, and everyone who
may see a session can take it as an `.ics` file for their calendar, written by the icalendar
library (it escapes every text field, so a hostile OPD name cannot end the file or add events).

Times are kept as the city's local wall time (what people agree on: "Rabu 09.00 WITA") and get
their zone (registry City.tz: WIB, WITA or WIT) when shown or written into a calendar file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from metrics.auth import Action, User, can, require
from metrics.errors import PermissionDenied, ValidationError
from metrics.framework import framework_for_year
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.records import Interview
from metrics.registry import DEFAULT_TIMEZONE, TZ_ABBREV

if TYPE_CHECKING:
    from metrics.framework import Framework
    from metrics.storage import Cursor, Storage

MIN_MINUTES, MAX_MINUTES = 15, 480  # a quarter of an hour to a working day
MAX_PLACE = 200
MAX_LINK = 500
MAX_NOTE = 4_000  # one note, as long as any other free text of an answer
MAX_NOTES = 100  # notes kept per session
FIRST_YEAR, LAST_YEAR = 2000, 2099  # the years a session may fall in
UPCOMING = 5  # sessions the OPD home lists
UID_DOMAIN = "indeks-kota-cerdas"
PRODID = "-//Indeks Kota Cerdas//Wawancara//ID"
ICS_MIME = "text/calendar"

# C0 controls other than tab and line feed, DEL and the C1 controls: never part of a place, a
# note or a calendar text (RFC 5545 excludes them from TEXT values)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SessionNote:
    """What was noted at (or about) a session, with the indicators discussed."""

    text: str
    indicators: tuple[str, ...]
    by: str
    at: datetime | None  # naive UTC


@dataclass(frozen=True)
class Session:
    """A session as a page shows it: the stored session, its zone and the names of its OPDs."""

    interview: Interview
    zone: str  # WIB | WITA | WIT
    opd_names: tuple[str, ...]
    notes: tuple[SessionNote, ...]  # empty for OPD operators (notes are the assessors')

    @property
    def id(self) -> int:
        return self.interview.id

    @property
    def ends_at(self) -> datetime:
        return self.interview.starts_at + timedelta(minutes=self.interview.minutes)


@dataclass(frozen=True)
class Board:
    """The Wawancara page of a city: the sessions to come, those of the chosen year that are past,
    and what the scheduling form offers (only to those who may schedule)."""

    city_code: str
    city_name: str
    year: int | None
    zone: str  # WIB | WITA | WIT
    can_schedule: bool
    upcoming: tuple[Session, ...]
    past: tuple[Session, ...]  # of `year`, newest first
    opd_options: tuple[tuple[str, str], ...] = ()  # (code, name)
    indicator_options: tuple[tuple[str, str], ...] = ()  # (code, "code · name") of `year`'s framework
    today: date | None = None  # the city's date now (the scheduling form's first date)


# ------------------------------------------------------------------------------ helpers


def _zone_name(store: Storage, city: str) -> str:
    c = next((c for c in store.cities() if c.city_code == city), None)
    return c.tz if c is not None else DEFAULT_TIMEZONE


def zone_label(zone: str) -> str:
    return TZ_ABBREV.get(zone, zone)


def city_now(store: Storage, city: str, now: datetime | None = None) -> datetime:
    """The city's local wall time now (or at `now`: aware, or naive UTC), naive like starts_at."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(ZoneInfo(_zone_name(store, city))).replace(tzinfo=None)


def _local(store: Storage, city: str, at: datetime) -> datetime:
    """`at` as the city's wall time: naive is taken as already local, aware is converted."""
    if at.tzinfo is None:
        return at
    return at.astimezone(ZoneInfo(_zone_name(store, city))).replace(tzinfo=None)


def _text(value: object, key: str, limit: int, *, one_line: bool) -> str | None:
    """A free text stripped (None when blank); refused when too long or with control characters."""
    if value is None:
        return None
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if one_line:
        text = " ".join(text.split())
    if not text:
        return None
    if _CONTROLS.search(text):
        raise ValidationError(f"interview.{key}_control")
    if len(text) > limit:
        raise ValidationError(f"interview.{key}_too_long", n=len(text), limit=limit)
    return text


def _link(value: object) -> str | None:
    """A video link: an https address with a host, no spaces, bounded (None when blank)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if len(text) > MAX_LINK:
        raise ValidationError("interview.link_too_long", n=len(text), limit=MAX_LINK)
    from metrics.evidence import check_url  # the one rule for an https link people click

    try:
        return check_url(text)
    except ValidationError:
        raise ValidationError("interview.link_https") from None


def _codes(values: Sequence[str] | None) -> tuple[str, ...]:
    """Codes as given, stripped, each once, in their first order."""
    return tuple(dict.fromkeys(str(v).strip() for v in (values or ()) if str(v).strip()))


def _framework(store: Storage, year: int) -> Framework | None:
    return framework_for_year(loaded_frameworks(store), year)


def _indicators(store: Storage, year: int, values: Sequence[str] | None) -> tuple[str, ...]:
    codes = _codes(values)
    if not codes:
        return ()
    fw = _framework(store, year)
    for code in codes:
        if fw is None or fw.indicator(code) is None:
            raise ValidationError("cell.unknown_indicator", value=code, framework=fw.id if fw else "-")
    return codes


@dataclass(frozen=True)
class _Plan:
    starts_at: datetime
    minutes: int
    place: str | None
    video_link: str | None
    opds: tuple[str, ...]
    indicators: tuple[str, ...]


def _plan(
    store: Storage,
    city: str,
    starts_at: object,
    minutes: object,
    place: object,
    video_link: object,
    opds: Sequence[str] | None,
    indicators: Sequence[str] | None,
) -> _Plan:
    """Every check of a session's plan, before anything is written."""
    if city not in store.city_codes():
        raise ValidationError("cell.unknown_city", value=city)
    if not isinstance(starts_at, datetime):
        raise ValidationError("interview.bad_time")
    start = _local(store, city, starts_at).replace(second=0, microsecond=0)
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise ValidationError("interview.bad_time")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ValidationError("interview.minutes_range", value=minutes, min=MIN_MINUTES, max=MAX_MINUTES)
    where = _text(place, "place", MAX_PLACE, one_line=True)
    link = _link(video_link)
    if where is None and link is None:
        raise ValidationError("interview.where_required")
    opd_codes = _codes(opds)
    if not opd_codes:
        raise ValidationError("interview.no_opds")
    known = {o.opd_code for o in store.opds(city)}
    for code in opd_codes:
        if code not in known:
            raise ValidationError("interview.unknown_opd", value=code, city=city)
    return _Plan(start, minutes, where, link, opd_codes, _indicators(store, start.year, indicators))


def _audit_view(iv: Interview | _Plan) -> dict[str, object]:
    opds = iv.opd_codes if isinstance(iv, Interview) else iv.opds
    indicators = iv.indicator_codes if isinstance(iv, Interview) else iv.indicators
    return {
        "starts_at": iv.starts_at.isoformat(timespec="minutes"),
        "minutes": iv.minutes,
        "place": iv.place,
        "video_link": iv.video_link,
        "opds": list(opds),
        "indicators": list(indicators),
    }


def _obj(city: str, interview_id: int) -> str:
    return f"interview:{city}/{interview_id}"


def notes_json(notes: list[SessionNote]) -> str | None:
    if not notes:
        return None
    return json.dumps(
        [
            {
                "text": n.text,
                "indicators": list(n.indicators),
                "by": n.by,
                "at": n.at.isoformat(timespec="seconds") if n.at else None,
            }
            for n in notes
        ],
        ensure_ascii=False,
    )


def notes_of(iv: Interview) -> tuple[SessionNote, ...]:
    """The notes kept with a session, oldest first (stored as a JSON list in its `notes`; a plain
    text there, as another tool might write, reads as one note without indicators)."""
    if not iv.notes:
        return ()
    try:
        raw = json.loads(iv.notes)
    except ValueError:
        raw = None
    if not isinstance(raw, list):
        return (SessionNote(iv.notes, (), iv.created_by, iv.created_at),)
    out = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        at = item.get("at")
        try:
            when = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            when = None
        out.append(
            SessionNote(
                str(item.get("text") or ""),
                tuple(str(c) for c in item.get("indicators") or ()),
                str(item.get("by") or ""),
                when,
            )
        )
    return tuple(out)


def _session(store: Storage, city: str, user: User, ivs: Sequence[Interview]) -> list[Session]:
    zone = zone_label(_zone_name(store, city))
    names = {o.opd_code: o.name for o in store.opds(city)}
    notes_shown = user.opd_code is None  # the assessors' notes may speak of several OPDs
    return [
        Session(iv, zone, tuple(names.get(c, c) for c in iv.opd_codes), notes_of(iv) if notes_shown else ())
        for iv in ivs
    ]


def _stored(store: Storage, city: str, interview_id: object, cur: Cursor | None = None) -> Interview:
    if isinstance(interview_id, bool) or not isinstance(interview_id, int):
        raise ValidationError("interview.not_found", id=interview_id)
    iv = store.interview(interview_id, cur)
    if iv is None or iv.city_code != city:
        raise ValidationError("interview.not_found", id=interview_id)
    return iv


# ------------------------------------------------------------------------------ writes


def schedule(
    store: Storage,
    user: User,
    city: str,
    starts_at: datetime,
    minutes: int,
    place: str | None,
    video_link: str | None,
    opds: Sequence[str],
    indicators: Sequence[str],
    notes: str | None = None,
) -> int:
    """Schedule a session of `city` at `starts_at` (the city's local time, naive) for `minutes`,
    at `place` and/or `video_link` (https), with `opds` of the city and `indicators` of the year's
    framework; `notes` (an agenda, say) is kept as its first note. Assessors and the admin only.
    The session and its audit row share one transaction; its id."""
    require(user, Action.SCHEDULE_INTERVIEW, city)
    plan = _plan(store, city, starts_at, minutes, place, video_link, opds, indicators)
    text = _text(notes, "notes", MAX_NOTE, one_line=False)
    with store.transaction() as cur:
        first = [SessionNote(text, (), user.username, datetime.now(UTC).replace(tzinfo=None))] if text else []
        iid = store.insert_interview(
            cur,
            city,
            plan.starts_at,
            plan.minutes,
            plan.place,
            plan.video_link,
            plan.opds,
            plan.indicators,
            notes_json(first),
            user.username,
        )
        store.write_audit(
            cur, user, "interview.schedule", _obj(city, iid), None, {**_audit_view(plan), "notes": text}
        )
    return iid


def update(
    store: Storage,
    user: User,
    city: str,
    interview_id: int,
    starts_at: datetime,
    minutes: int,
    place: str | None,
    video_link: str | None,
    opds: Sequence[str],
    indicators: Sequence[str],
) -> None:
    """Change a session's time, length, place or link, OPDs and indicators (its notes stay). A
    cancelled session is not changed: schedule a new one. Audited with before and after."""
    require(user, Action.SCHEDULE_INTERVIEW, city)
    plan = _plan(store, city, starts_at, minutes, place, video_link, opds, indicators)
    with store.transaction() as cur:
        iv = _stored(store, city, interview_id, cur)
        if iv.cancelled:
            raise ValidationError("interview.cancelled", id=interview_id)
        store.update_interview(
            cur,
            iv.id,
            plan.starts_at,
            plan.minutes,
            plan.place,
            plan.video_link,
            plan.opds,
            plan.indicators,
            iv.notes,
            False,
            user.username,
        )
        store.write_audit(
            cur, user, "interview.update", _obj(city, iv.id), _audit_view(iv), _audit_view(plan)
        )


def cancel(store: Storage, user: User, city: str, interview_id: int) -> None:
    """Mark a session cancelled (it stays, and its calendar file then says CANCELLED). Audited."""
    require(user, Action.SCHEDULE_INTERVIEW, city)
    with store.transaction() as cur:
        iv = _stored(store, city, interview_id, cur)
        if iv.cancelled:
            raise ValidationError("interview.cancelled", id=interview_id)
        store.update_interview(
            cur,
            iv.id,
            iv.starts_at,
            iv.minutes,
            iv.place,
            iv.video_link,
            iv.opd_codes,
            iv.indicator_codes,
            iv.notes,
            True,
            user.username,
        )
        store.write_audit(
            cur, user, "interview.cancel", _obj(city, iv.id), {"cancelled": False}, {"cancelled": True}
        )


def add_notes(
    store: Storage,
    user: User,
    city: str,
    interview_id: int,
    notes: str,
    indicators_discussed: Sequence[str],
) -> None:
    """Keep a note with a session, with the indicators discussed (of the framework of the session's
    year; not only those planned: talks wander). Earlier notes stay. Audited."""
    require(user, Action.SCHEDULE_INTERVIEW, city)
    text = _text(notes, "notes", MAX_NOTE, one_line=False)
    if text is None:
        raise ValidationError("interview.note_empty")
    with store.transaction() as cur:
        iv = _stored(store, city, interview_id, cur)
        if iv.cancelled:
            raise ValidationError("interview.cancelled", id=interview_id)
        discussed = _indicators(store, iv.starts_at.year, indicators_discussed)
        kept = list(notes_of(iv))
        if len(kept) >= MAX_NOTES:
            raise ValidationError("interview.too_many_notes", limit=MAX_NOTES)
        note = SessionNote(text, discussed, user.username, datetime.now(UTC).replace(tzinfo=None))
        store.update_interview(
            cur,
            iv.id,
            iv.starts_at,
            iv.minutes,
            iv.place,
            iv.video_link,
            iv.opd_codes,
            iv.indicator_codes,
            notes_json([*kept, note]),
            iv.cancelled,
            user.username,
        )
        store.write_audit(
            cur,
            user,
            "interview.notes",
            _obj(city, iv.id),
            None,
            {"text": text, "indicators": list(discussed), "n": len(kept) + 1},
        )


# ------------------------------------------------------------------------------ reads


def _reader_opd(user: User, opd: str | None) -> str | None:
    """The OPD whose sessions a reader sees: an OPD operator only ever its own."""
    return opd if user.opd_code is None else (opd or user.opd_code)


def sessions(
    store: Storage, user: User, city: str, opd: str | None = None, upcoming_from: datetime | None = None
) -> list[Interview]:
    """The city's sessions in time order: those `opd` attends when given (an OPD operator: always
    its own OPD's), those not yet over at `upcoming_from` (the city's local time, naive; or
    aware) when given. Cancelled sessions are listed, marked. OPD operators get no notes."""
    opd = _reader_opd(user, opd)
    require(user, Action.READ_SUBMISSIONS, city, opd)
    if upcoming_from is None:
        found = store.interviews(city, opd)
    else:
        since = _local(store, city, upcoming_from)
        found = [
            iv
            for iv in store.interviews(city, opd, since - timedelta(minutes=MAX_MINUTES))
            if iv.starts_at + timedelta(minutes=iv.minutes) > since
        ]
    if user.opd_code is not None:
        found = [replace(iv, notes=None) for iv in found]
    return found


def upcoming(
    store: Storage, user: User, now: datetime | None = None, limit: int = UPCOMING
) -> tuple[Session, ...]:
    """The next sessions of the signed-in OPD operator's OPD (the OPD home), not cancelled ones."""
    if user.city_code is None or user.opd_code is None:
        raise PermissionDenied("perm.denied", role=user.role, action="interviews", scope="")
    city = user.city_code
    found = [
        iv
        for iv in sessions(store, user, city, user.opd_code, city_now(store, city, now))
        if not iv.cancelled
    ]
    return tuple(_session(store, city, user, found[:limit]))


def board(
    store: Storage, user: User, city: str, year: int | None, lang: str = "id", now: datetime | None = None
) -> Board:
    """The Wawancara page's read-model for `city`: sessions not yet over, the past ones of `year`
    and, for those who may schedule, the city's OPDs and `year`'s indicators to choose from."""
    found = sessions(store, user, city)
    local_now = city_now(store, city, now)
    later = [iv for iv in found if iv.starts_at + timedelta(minutes=iv.minutes) > local_now]
    done = [
        iv
        for iv in reversed(found)
        if iv.starts_at + timedelta(minutes=iv.minutes) <= local_now
        and (year is None or iv.starts_at.year == year)
    ]
    may = can(user, Action.SCHEDULE_INTERVIEW, city)
    opd_options: tuple[tuple[str, str], ...] = ()
    indicator_options: tuple[tuple[str, str], ...] = ()
    if may:
        opd_options = tuple((o.opd_code, o.name) for o in store.opds(city))
        fw = _framework(store, year) if year is not None else None
        if fw is not None:
            indicator_options = tuple((i.code, f"{i.code} · {pick(i.name, lang)}") for i in fw.indicators)
    city_name = next((c.name for c in store.cities() if c.city_code == city), city)
    return Board(
        city,
        city_name,
        year,
        zone_label(_zone_name(store, city)),
        may,
        tuple(_session(store, city, user, later)),
        tuple(_session(store, city, user, done)),
        opd_options,
        indicator_options,
        local_now.date(),
    )


# ------------------------------------------------------------------------------ calendar file


def _ics_text(value: object) -> str:
    """Text for a calendar field: control characters other than tab and new line dropped (the
    library escapes commas, semicolons, backslashes and new lines itself)."""
    text = "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub(" ", text)


def uid(city: str, interview_id: int) -> str:
    """The session's calendar UID: the same in every file of it, so a calendar updates the event."""
    return f"interview-{interview_id}@{city}.{UID_DOMAIN}"


def ics(store: Storage, user: User, city: str, interview_id: int, lang: str = "id") -> bytes:
    """The session as an iCalendar file (one VEVENT, its time with the city's TZID and VTIMEZONE),
    for whoever may see it: assessors, the admin, the city's readers, and the OPDs attending."""
    from icalendar import Calendar, Event

    require(user, Action.READ_SUBMISSIONS, city, _reader_opd(user, None))
    iv = _stored(store, city, interview_id)
    if user.opd_code is not None and user.opd_code not in iv.opd_codes:
        raise PermissionDenied("perm.denied", role=user.role, action="interview", scope=f" ({city})")
    zone_name = _zone_name(store, city)
    zone = ZoneInfo(zone_name)
    city_name = next((c.name for c in store.cities() if c.city_code == city), city)
    names = {o.opd_code: o.name for o in store.opds(city)}
    fw = _framework(store, iv.starts_at.year)
    indicators = []
    for code in iv.indicator_codes:
        ind = fw.indicator(code) if fw is not None else None
        indicators.append(f"{code} {pick(ind.name, lang)}" if ind is not None else code)
    description = [
        t("interview.ics_opds", lang, opds="; ".join(names.get(c, c) for c in iv.opd_codes)),
        t("interview.ics_indicators", lang, indicators="; ".join(indicators) or "-"),
    ]
    if iv.place and iv.video_link:
        description.append(t("interview.ics_link", lang, link=iv.video_link))
    changed = iv.updated_at or iv.created_at

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    event = Event()
    event.add("uid", uid(city, iv.id))
    event.add("dtstamp", changed.replace(tzinfo=UTC))
    event.add("created", iv.created_at.replace(tzinfo=UTC))
    event.add("last-modified", changed.replace(tzinfo=UTC))
    # each change makes a newer version that calendars take over the copy they hold
    event.add("sequence", int((changed - iv.created_at).total_seconds()))
    event.add("dtstart", iv.starts_at.replace(tzinfo=zone))
    event.add("dtend", (iv.starts_at + timedelta(minutes=iv.minutes)).replace(tzinfo=zone))
    event.add("summary", _ics_text(t("interview.ics_summary", lang, city=city_name)))
    event.add("location", _ics_text(iv.place or iv.video_link))
    if iv.video_link:
        event.add("url", iv.video_link)
    event.add("description", _ics_text("\n".join(description)))
    event.add("status", "CANCELLED" if iv.cancelled else "CONFIRMED")
    cal.add_component(event)
    cal.add_missing_timezones()  # the VTIMEZONE of the city's zone, from the zoneinfo database
    return bytes(cal.to_ical())


def ics_name(city: str, interview_id: int) -> str:
    """The download's file name."""
    return f"wawancara-{city}-{interview_id}.ics"


__all__ = [
    "ICS_MIME",
    "Board",
    "Session",
    "SessionNote",
    "add_notes",
    "board",
    "cancel",
    "city_now",
    "ics",
    "ics_name",
    "notes_of",
    "schedule",
    "sessions",
    "uid",
    "upcoming",
    "update",
]
