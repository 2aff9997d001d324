"""Interview sessions (metrics.interviews, issue 18) on a private copy of the demo database.

Scheduling, changing, cancelling and noting a session each write the session and one audit row
in one transaction, and only assessors (of the city, or national) and the admin may do them;
bad input (a length out of bounds, an http link, no place, an OPD of another city, an indicator
outside the year's framework) changes nothing. An OPD operator sees only the sessions its OPD
attends, without the assessors' notes. The .ics file of a session, read back by icalendar, has
the same start (with the city's zone), end, summary, location and UID, and a hostile OPD name
(new lines, commas, semicolons, "END:VCALENDAR") stays text inside one event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from metrics import home, interviews
from metrics.auth import User
from metrics.demo import DEMO_INTERVIEWS
from metrics.errors import PermissionDenied, ValidationError
from metrics.registry import City, Opd
from metrics.store import Store

pytestmark = pytest.mark.both_backends

CITY = "3299"  # Kota Sukamaju, Jawa Barat: WIB
ADMIN = User("admin", "admin")
ASSESSOR = User("penilai", "assessor")
START = datetime(2030, 3, 4, 9, 30)  # the city's wall time


def opd_code(store: Store, opd_type: str, city: str = CITY) -> str:
    return next(o.opd_code for o in store.opds(city) if o.opd_type == opd_type)


def operator(store: Store, opd_type: str, city: str = CITY) -> User:
    return User(f"op.{opd_type.lower()}", "opd", city, opd_code(store, opd_type, city))


def audit(store: Store, prefix: str = "interview.") -> list[tuple[str, str, str, dict | None, dict | None]]:
    return [
        (
            r.username,
            r.action,
            r.object,
            json.loads(r.before) if r.before else None,
            json.loads(r.after or "null"),
        )
        for r in store.audit_rows()
        if r.action.startswith(prefix)
    ]


def plan(store: Store, **kw):
    args = {
        "starts_at": START,
        "minutes": 90,
        "place": "Ruang Rapat Bappeda",
        "video_link": None,
        "opds": [opd_code(store, "DISKOMINFO"), opd_code(store, "BAPPEDA")],
        "indicators": ["GOV-01", "GOV-04"],
    }
    args.update(kw)
    return args


def test_the_demo_has_three_sessions_of_sukamaju_with_notes(demo_store):
    found = interviews.sessions(demo_store, ADMIN, CITY)
    assert [iv.starts_at for iv in found] == [
        datetime(2024, 8, 14, 9, 0),
        datetime(2024, 8, 15, 13, 30),
        datetime(2025, 2, 20, 10, 0),
    ]
    assert [len(interviews.notes_of(iv)) for iv in found] == [1, 1, 0]
    first = interviews.notes_of(found[0])[0]
    assert (first.indicators, first.by, first.at) == (
        ("GOV-01", "GOV-04"),
        "penilai",
        datetime(2024, 8, 14, 4, 0),
    )
    assert [iv.indicator_codes for iv in found] == [d[5] for d in DEMO_INTERVIEWS]
    # created at fixed times: the demo is the same database every time
    assert [iv.created_at for iv in found] == [
        datetime(2024, 8, 1, 2),
        datetime(2024, 8, 1, 2),
        datetime(2025, 2, 1, 2),
    ]
    assert interviews.sessions(demo_store, ADMIN, "7399") == []


def test_an_assessor_schedules_a_session_with_one_audit_row(demo_store):
    before = len(interviews.sessions(demo_store, ADMIN, CITY))
    iid = interviews.schedule(
        demo_store,
        ASSESSOR,
        CITY,
        **plan(demo_store, starts_at=datetime(2030, 3, 4, 9, 30, 45, 12), place="  Ruang\nRapat  Bappeda "),
        notes="Agenda: masterplan",
    )
    iv = demo_store.interview(iid)
    assert iv is not None
    assert (iv.city_code, iv.starts_at, iv.minutes, iv.place, iv.video_link, iv.cancelled) == (
        CITY,
        START,  # to the minute
        90,
        "Ruang Rapat Bappeda",  # one line, single spaces
        None,
        False,
    )
    assert iv.opd_codes == (opd_code(demo_store, "DISKOMINFO"), opd_code(demo_store, "BAPPEDA"))
    assert iv.indicator_codes == ("GOV-01", "GOV-04")
    assert [(n.text, n.indicators, n.by) for n in interviews.notes_of(iv)] == [
        ("Agenda: masterplan", (), "penilai")
    ]
    assert len(interviews.sessions(demo_store, ADMIN, CITY)) == before + 1
    assert audit(demo_store) == [
        (
            "penilai",
            "interview.schedule",
            f"interview:{CITY}/{iid}",
            None,
            {
                "starts_at": "2030-03-04T09:30",
                "minutes": 90,
                "place": "Ruang Rapat Bappeda",
                "video_link": None,
                "opds": list(iv.opd_codes),
                "indicators": ["GOV-01", "GOV-04"],
                "notes": "Agenda: masterplan",
            },
        )
    ]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"minutes": 14}, "interview.minutes_range"),
        ({"minutes": 481}, "interview.minutes_range"),
        ({"minutes": True}, "interview.minutes_range"),
        ({"video_link": "http://meet.example.id/x", "place": None}, "interview.link_https"),
        ({"video_link": "https:///nohost"}, "interview.link_https"),
        ({"video_link": "javascript:alert(1)"}, "interview.link_https"),
        ({"video_link": "https://meet.example.id/a b"}, "interview.link_https"),
        ({"video_link": "https://x.id/" + "a" * 500}, "interview.link_too_long"),
        ({"place": None, "video_link": "  "}, "interview.where_required"),
        ({"place": "x" * 201}, "interview.place_too_long"),
        ({"place": "Ruang\x1b[31m"}, "interview.place_control"),
        ({"opds": []}, "interview.no_opds"),
        ({"opds": ["99"]}, "interview.unknown_opd"),
        ({"indicators": ["GOV-01", "NOPE-1"]}, "cell.unknown_indicator"),
        ({"starts_at": "2030-03-04 09:30"}, "interview.bad_time"),
        ({"starts_at": datetime(1999, 12, 31, 9)}, "interview.bad_time"),
    ],
)
def test_bad_plans_are_refused_and_change_nothing(demo_store, change, key):
    before = (len(interviews.sessions(demo_store, ADMIN, CITY)), len(demo_store.audit_rows()))
    with pytest.raises(ValidationError) as exc:
        interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store, **change))
    assert exc.value.key == key
    assert (len(interviews.sessions(demo_store, ADMIN, CITY)), len(demo_store.audit_rows())) == before


def test_an_opd_of_another_city_is_refused(demo_store):
    other = opd_code(demo_store, "DISKOMINFO", "7399")
    mine = {o.opd_code for o in demo_store.opds(CITY)}
    with pytest.raises(ValidationError) as exc:
        interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store, opds=[f"{other}x"]))
    assert exc.value.key == "interview.unknown_opd"
    assert f"{other}x" not in mine
    with pytest.raises(ValidationError):
        interviews.schedule(demo_store, ASSESSOR, "9999", **plan(demo_store))


@pytest.mark.parametrize(
    "user",
    [
        User("opd.kominfo", "opd", CITY, "01"),
        User("tamu", "viewer"),
        User("walikota", "executive", CITY),
        User("bappeda.sukamaju", "planner", CITY),
        User("penilai.lain", "assessor", "7399"),  # an assessor of another city
        User("penilai", "assessor", active=False),
    ],
)
def test_only_assessors_of_the_city_and_the_admin_write(demo_store, user):
    iid = interviews.schedule(demo_store, ADMIN, CITY, **plan(demo_store))
    n = len(demo_store.audit_rows())
    with pytest.raises(PermissionDenied):
        interviews.schedule(demo_store, user, CITY, **plan(demo_store))
    with pytest.raises(PermissionDenied):
        interviews.update(demo_store, user, CITY, iid, **plan(demo_store, minutes=60))
    with pytest.raises(PermissionDenied):
        interviews.cancel(demo_store, user, CITY, iid)
    with pytest.raises(PermissionDenied):
        interviews.add_notes(demo_store, user, CITY, iid, "catatan", [])
    assert len(demo_store.audit_rows()) == n
    local = User("penilai.sukamaju", "assessor", CITY)  # the city's own assessor may
    interviews.cancel(demo_store, local, CITY, iid)


def test_update_keeps_notes_and_audits_before_and_after(demo_store):
    iid = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store), notes="agenda")
    new = plan(
        demo_store, starts_at=START + timedelta(days=1), minutes=60, video_link="https://meet.example.id/s"
    )
    interviews.update(demo_store, ASSESSOR, CITY, iid, **new)
    iv = demo_store.interview(iid)
    assert iv is not None
    assert (iv.starts_at, iv.minutes, iv.video_link, iv.updated_by) == (
        datetime(2030, 3, 5, 9, 30),
        60,
        "https://meet.example.id/s",
        "penilai",
    )
    assert [n.text for n in interviews.notes_of(iv)] == ["agenda"]
    (_, action, obj, before, after) = audit(demo_store)[-1]
    assert (action, obj) == ("interview.update", f"interview:{CITY}/{iid}")
    assert (before["starts_at"], before["minutes"], before["video_link"]) == ("2030-03-04T09:30", 90, None)
    assert (after["starts_at"], after["minutes"], after["video_link"]) == (
        "2030-03-05T09:30",
        60,
        "https://meet.example.id/s",
    )
    elsewhere = plan(demo_store, opds=[opd_code(demo_store, "DISKOMINFO", "7399")])
    with pytest.raises(ValidationError) as exc:  # a session of the city only
        interviews.update(demo_store, ASSESSOR, "7399", iid, **elsewhere)
    assert exc.value.key == "interview.not_found"


def test_cancel_keeps_the_session_marked_and_audited(demo_store):
    iid = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store))
    interviews.cancel(demo_store, ASSESSOR, CITY, iid)
    iv = demo_store.interview(iid)
    assert iv is not None and iv.cancelled and iv.updated_by == "penilai"
    assert iid in [s.id for s in interviews.sessions(demo_store, ADMIN, CITY)]  # kept, listed
    assert audit(demo_store)[-1] == (
        "penilai",
        "interview.cancel",
        f"interview:{CITY}/{iid}",
        {"cancelled": False},
        {"cancelled": True},
    )
    n = len(demo_store.audit_rows())
    for write in (
        lambda: interviews.cancel(demo_store, ASSESSOR, CITY, iid),
        lambda: interviews.update(demo_store, ASSESSOR, CITY, iid, **plan(demo_store)),
        lambda: interviews.add_notes(demo_store, ASSESSOR, CITY, iid, "x", []),
    ):
        with pytest.raises(ValidationError) as exc:
            write()
        assert exc.value.key == "interview.cancelled"
    with pytest.raises(ValidationError) as exc:
        interviews.cancel(demo_store, ASSESSOR, CITY, 10_000)
    assert exc.value.key == "interview.not_found"
    assert len(demo_store.audit_rows()) == n


def test_notes_are_kept_per_session_with_the_indicators_discussed(demo_store):
    iid = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store))
    interviews.add_notes(demo_store, ASSESSOR, CITY, iid, "Perwali masterplan ada.", ["GOV-01"])
    interviews.add_notes(demo_store, ADMIN, CITY, iid, "Bahas juga SRIKANDI.", ["GOV-06", "GOV-06"])
    iv = demo_store.interview(iid)
    assert iv is not None
    assert [(n.text, n.indicators, n.by) for n in interviews.notes_of(iv)] == [
        ("Perwali masterplan ada.", ("GOV-01",), "penilai"),
        ("Bahas juga SRIKANDI.", ("GOV-06",), "admin"),  # not planned, still in the framework
    ]
    assert [(a[1], a[4]) for a in audit(demo_store)[-2:]] == [
        ("interview.notes", {"text": "Perwali masterplan ada.", "indicators": ["GOV-01"], "n": 1}),
        ("interview.notes", {"text": "Bahas juga SRIKANDI.", "indicators": ["GOV-06"], "n": 2}),
    ]
    for text, codes, key in (("  ", [], "interview.note_empty"), ("x", ["NOPE"], "cell.unknown_indicator")):
        with pytest.raises(ValidationError) as exc:
            interviews.add_notes(demo_store, ASSESSOR, CITY, iid, text, codes)
        assert exc.value.key == key
    iv2 = demo_store.interview(iid)
    assert iv2 is not None and len(interviews.notes_of(iv2)) == 2


def test_an_opd_sees_only_its_sessions_without_notes(demo_store):
    kominfo, dinkes = operator(demo_store, "DISKOMINFO"), operator(demo_store, "DINKES")
    both = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store), notes="internal")
    only_kominfo = interviews.schedule(
        demo_store,
        ASSESSOR,
        CITY,
        **plan(demo_store, opds=[kominfo.opd_code], starts_at=START + timedelta(hours=3)),
    )
    with_dinkes = interviews.schedule(
        demo_store,
        ASSESSOR,
        CITY,
        **plan(demo_store, opds=[dinkes.opd_code], starts_at=START + timedelta(days=2)),
    )
    future = datetime(2030, 1, 1)
    assert [iv.id for iv in interviews.sessions(demo_store, kominfo, CITY, upcoming_from=future)] == [
        both,
        only_kominfo,
    ]
    assert [iv.id for iv in interviews.sessions(demo_store, dinkes, CITY, upcoming_from=future)] == [
        with_dinkes
    ]
    # the demo's two sessions with Diskominfo and one with Dinkes come before
    assert len(interviews.sessions(demo_store, kominfo, CITY)) == 3 + 2
    assert all(iv.notes is None for iv in interviews.sessions(demo_store, kominfo, CITY))
    assert interviews.notes_of(demo_store.interview(both)) != ()  # kept, just not shown to the OPD
    with pytest.raises(PermissionDenied):
        interviews.sessions(demo_store, kominfo, CITY, opd=dinkes.opd_code)
    with pytest.raises(PermissionDenied):
        interviews.sessions(demo_store, kominfo, "7399")
    with pytest.raises(PermissionDenied):
        interviews.ics(demo_store, kominfo, CITY, with_dinkes)
    assert interviews.ics(demo_store, dinkes, CITY, with_dinkes).startswith(b"BEGIN:VCALENDAR")
    with pytest.raises(PermissionDenied):
        interviews.sessions(demo_store, User("tamu", "viewer"), CITY)
    # the mayor's office and the planners read every session of their city
    assert len(interviews.sessions(demo_store, User("walikota", "executive", CITY), CITY)) == 3 + 3
    assert len(interviews.sessions(demo_store, User("p", "planner", CITY), CITY)) == 3 + 3
    with pytest.raises(PermissionDenied):
        interviews.sessions(demo_store, User("walikota", "executive", CITY), "7399")


def test_upcoming_counts_a_session_in_progress_not_one_over(demo_store):
    iid = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store))  # 09.30-11.00
    ids = lambda at: [iv.id for iv in interviews.sessions(demo_store, ADMIN, CITY, upcoming_from=at)]  # noqa: E731
    assert ids(datetime(2030, 3, 4, 10, 59)) == [iid]
    assert ids(datetime(2030, 3, 4, 11, 0)) == []
    # an aware moment is taken where it is: 03.59 UTC is 10.59 WIB
    assert ids(datetime(2030, 3, 4, 3, 59, tzinfo=UTC)) == [iid]


def test_the_opd_home_lists_its_next_sessions(demo_store):
    kominfo = operator(demo_store, "DISKOMINFO")
    soon = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None) + timedelta(days=3)
    iid = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store, starts_at=soon, indicators=[]))
    gone = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store, starts_at=soon, indicators=[]))
    interviews.cancel(demo_store, ASSESSOR, CITY, gone)
    h = home.opd_home(demo_store, kominfo)
    assert [s.id for s in h.interview_sessions] == [iid]  # the demo's are past, the cancelled left out
    s = h.interview_sessions[0]
    assert (s.zone, s.opd_names) == (
        "WIB",
        ("Dinas Komunikasi dan Informatika", "Badan Perencanaan Pembangunan Daerah"),
    )
    assert s.notes == ()


# ------------------------------------------------------------------------------ the .ics file


def _event(data: bytes):
    cal = Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


@pytest.mark.parametrize(("city", "zone"), [("3299", "Asia/Jakarta"), ("7399", "Asia/Makassar")])
def test_the_ics_reads_back_with_the_citys_zone(demo_store, city, zone):
    opds = [opd_code(demo_store, "DISKOMINFO", city)]
    iid = interviews.schedule(
        demo_store,
        ASSESSOR,
        city,
        **plan(demo_store, opds=opds, video_link="https://meet.example.id/r?a=1&b=2", place=None),
    )
    data = interviews.ics(demo_store, ASSESSOR, city, iid, "en")
    cal, ev = _event(data)
    assert str(cal["VERSION"]) == "2.0" and str(cal["PRODID"]) == interviews.PRODID
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [zone]
    assert ev.decoded("DTSTART") == datetime(2030, 3, 4, 9, 30, tzinfo=ZoneInfo(zone))
    assert ev["DTSTART"].params["TZID"] == zone
    assert ev.decoded("DTEND") == datetime(2030, 3, 4, 11, 0, tzinfo=ZoneInfo(zone))
    offset = {"Asia/Jakarta": 7, "Asia/Makassar": 8}[zone]
    assert ev.decoded("DTSTART").astimezone(UTC) == datetime(2030, 3, 4, 9 - offset, 30, tzinfo=UTC)
    name = next(c.name for c in demo_store.cities() if c.city_code == city)
    assert str(ev["SUMMARY"]) == f"Smart city assessment interview – {name}"
    assert str(ev["LOCATION"]) == "https://meet.example.id/r?a=1&b=2"
    assert str(ev["URL"]) == "https://meet.example.id/r?a=1&b=2"
    assert str(ev["UID"]) == f"interview-{iid}@{city}.indeks-kota-cerdas"
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert "GOV-01 Smart city master plan" in str(ev["DESCRIPTION"])
    # the same file on every download until the session changes (a stable UID and DTSTAMP)
    assert interviews.ics(demo_store, ASSESSOR, city, iid, "en") == data


def test_a_cancelled_session_says_so_in_a_newer_version_of_the_event(demo_store):
    iid = interviews.schedule(demo_store, ASSESSOR, CITY, **plan(demo_store))
    _, first = _event(interviews.ics(demo_store, ASSESSOR, CITY, iid))
    interviews.cancel(demo_store, ASSESSOR, CITY, iid)
    _, ev = _event(interviews.ics(demo_store, ASSESSOR, CITY, iid))
    assert str(ev["STATUS"]) == "CANCELLED"
    assert str(ev["UID"]) == str(first["UID"])
    assert ev.decoded("SEQUENCE") >= first.decoded("SEQUENCE")
    assert ev.decoded("DTSTAMP") >= first.decoded("DTSTAMP")
    assert str(ev["LOCATION"]) == "Ruang Rapat Bappeda"
    assert str(ev["SUMMARY"]) == "Wawancara penilaian kota cerdas – Kota Sukamaju"


def test_a_hostile_opd_name_stays_text_inside_one_event(demo_store, backend):
    # PostgreSQL's text cannot hold NUL at all (nor can a registry file: the readers refuse it),
    # so there the name carries the other control character twice
    controls = "\x00\x1b" if backend == "duckdb" else "\x1b\x1b"
    hostile = 'Dinas X\r\nEND:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:pwned; a,b\\n "q"' + controls
    with demo_store.transaction() as cur:
        demo_store.upsert_opds(cur, [Opd(CITY, "98", "DISKOMINFO", hostile)])
    iid = interviews.schedule(
        demo_store, ASSESSOR, CITY, **plan(demo_store, opds=["98"], place="Aula; lantai 2, Gedung A")
    )
    data = interviews.ics(demo_store, ASSESSOR, CITY, iid)
    lines = data.decode().split("\r\n")
    assert lines.count("END:VCALENDAR") == 1 and lines[-2:] == ["END:VCALENDAR", ""]
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    assert not [line for line in lines if line.startswith("SUMMARY:pwned")]
    assert b"\x00" not in data and b"\x1b" not in data
    _, ev = _event(data)
    text = str(ev["DESCRIPTION"])
    # the name comes back as written, its line breaks as new lines, its controls as spaces
    assert 'Dinas X\nEND:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:pwned; a,b\\n "q"  ' in text
    assert str(ev["LOCATION"]) == "Aula; lantai 2, Gedung A"
    assert str(ev["SUMMARY"]) == "Wawancara penilaian kota cerdas – Kota Sukamaju"


def test_a_city_in_papua_gets_wit(demo_store):
    with demo_store.transaction() as cur:
        demo_store.upsert_cities(cur, [City("9499", "Kota Uji Timur", "Papua", "kecil", 100_000)])
        demo_store.upsert_opds(cur, [Opd("9499", "01", "DISKOMINFO", "Dinas Kominfo")])
    iid = interviews.schedule(demo_store, ADMIN, "9499", **plan(demo_store, opds=["01"]))
    cal, ev = _event(interviews.ics(demo_store, ADMIN, "9499", iid))
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Jayapura"]
    assert ev.decoded("DTSTART").astimezone(UTC) == datetime(2030, 3, 4, 0, 30, tzinfo=UTC)
    board = interviews.board(demo_store, ADMIN, "9499", 2030, "id", now=datetime(2030, 3, 1, tzinfo=UTC))
    assert (board.zone, [s.id for s in board.upcoming], board.past) == ("WIT", [iid], ())
