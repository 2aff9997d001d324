"""The clarification loop and the assessors' marks of required evidence (issue 18, sections 2-3),
on the hand-made mini store (tests/fixtures/mini.yaml; answers of tests/conftest.py ASSESS_CSV:
G1 = 3 by OPD 01, G2 = 2 by 01 and 4 by 02, E1 = 1 by 03; the index is 1.8, see test_scoring.py)."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
import yaml

from metrics import clarify, deadlines, entry, evidence, review, scoring
from metrics.auth import SYSTEM, User
from metrics.errors import PeriodClosed, PermissionDenied, ValidationError
from metrics.governance import load_framework_text, load_registry_bytes, set_period
from metrics.ingest import ingest_bytes
from tests.conftest import ASSESS_CSV, MINI_YAML

pytestmark = pytest.mark.both_backends

CITY, YEAR = "0101", 2023
ASSESSOR = User("penilai", "assessor", CITY)
OTHER_ASSESSOR = User("penilai2", "assessor", "0202")
OPD01 = User("op01", "opd", CITY, "01")
OPD02 = User("op02", "opd", CITY, "02")
OPD03 = User("op03", "opd", CITY, "03")
VIEWER = User("tamu", "viewer", CITY)


@pytest.fixture
def store(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    return mini


def _audit(store, action):
    return store.audit_frame(None, action, None, None, 100)


def _item(store, opd, year=YEAR, city=CITY) -> int:
    """An evidence item (a link) of `opd`, through metrics.evidence."""
    who = User(f"op{opd}", "opd", city, opd)
    return evidence.add_link(store, who, city, opd, year, "https://jdih.uji.go.id/perwali-12").id


def _today(store):
    return deadlines.city_today(store, CITY)


# ------------------------------------------------------------------------------ the full loop


def test_ask_answer_verify_moves_the_score_and_leaves_audit_rows(store):
    assert scoring.city_score(store, CITY, YEAR).index == pytest.approx(1.8)
    due = _today(store) + timedelta(days=7)
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "E1", "Mohon unggah laporan pemantauan udara.", due, "03")
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR, "03") == {"E1": "perlu_klarifikasi"}
    item = _item(store, "03")
    eid = clarify.answer(store, OPD03, CITY, YEAR, cid, "Laporan terlampir.", [item])
    assert clarify.answer_states(store, OPD03, CITY, YEAR, "03") == {"E1": "dijawab"}
    clarify.close(store, ASSESSOR, CITY, YEAR, cid, "verified", 3, "Laporan sesuai")

    (c,) = clarify.requests(store, ASSESSOR, CITY, YEAR)
    assert (c.status, c.outcome, c.verified_level, c.closed_by) == ("closed", "verified", 3, "penilai")
    assert [(e.kind, e.text, e.item_ids, e.username) for e in c.events] == [
        ("asked", "Mohon unggah laporan pemantauan udara.", (), "penilai"),
        ("answered", "Laporan terlampir.", (item,), "op03"),
        ("closed", "Laporan sesuai", (), "penilai"),
    ]
    assert c.events[1].id == eid and c.due == due
    # the verification is the one Verifikasi records: a row, its audit, and the score moved
    (v,) = [r for r in store.verification_rows(CITY, YEAR) if r["indicator_code"] == "E1"]
    assert (v["level"], v["note"], v["username"]) == (3, "Laporan sesuai", "penilai")
    assert list(_audit(store, "verification.create")["object"]) == [f"indicator:{CITY}/{YEAR}/E1"]
    # OUTPUT = (1*3 + 3*3) / 4 = 3.0, OUTCOME unchanged 2.0: 0.4*3.0 + 0.6*2.0
    assert scoring.city_score(store, CITY, YEAR).index == pytest.approx(2.4)
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR, "03") == {"E1": "terverifikasi"}
    # every transition audited, with who
    for action, who, state in [
        ("clarification.ask", "penilai", "perlu_klarifikasi"),
        ("clarification.answer", "op03", "dijawab"),
        ("clarification.close", "penilai", "terverifikasi"),
    ]:
        rows = _audit(store, action)
        assert list(rows["username"]) == [who] and list(rows["object"]) == [f"indicator:{CITY}/{YEAR}/E1"]
        assert json.loads(rows["after"].iloc[0])["state"] == state
    assert json.loads(_audit(store, "clarification.answer")["after"].iloc[0])["items"] == [item]
    # the evidence given in the answer now backs the answer itself
    assert [it.id for _opd, it in evidence.answer_evidence(store, ASSESSOR, CITY, YEAR, "E1", "03")] == [item]


def test_rejecting_needs_a_note_and_accepting_needs_no_level(store):
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Perwali mana?", opd="01")
    clarify.answer(store, OPD01, CITY, YEAR, cid, "Perwali 12/2023")
    with pytest.raises(ValidationError) as e:
        clarify.close(store, ASSESSOR, CITY, YEAR, cid, "rejected")
    assert e.value.key == "clarify.note_required"
    with pytest.raises(ValidationError) as e:
        clarify.close(store, ASSESSOR, CITY, YEAR, cid, "verified")
    assert e.value.key == "clarify.level_required"
    with pytest.raises(ValidationError) as e:  # the same level rule as Verifikasi
        clarify.close(store, ASSESSOR, CITY, YEAR, cid, "verified", 5)
    assert e.value.key == "cell.level_range"
    with pytest.raises(ValidationError):
        clarify.close(store, ASSESSOR, CITY, YEAR, cid, "maybe")
    assert _audit(store, "clarification.close").empty and store.verification_rows(CITY, YEAR) == []
    clarify.close(store, ASSESSOR, CITY, YEAR, cid, "rejected", note="Perwali belum ditetapkan")
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR, "01")["G1"] == "diajukan"
    with pytest.raises(ValidationError) as e:  # closed: neither answered nor closed again
        clarify.answer(store, OPD01, CITY, YEAR, cid, "lagi")
    assert e.value.key == "clarify.closed"
    clarify.reopen(store, ASSESSOR, CITY, YEAR, cid, "Lihat lagi")
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR, "01")["G1"] == "perlu_klarifikasi"
    clarify.close(store, ASSESSOR, CITY, YEAR, cid, "accepted")
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR, "01")["G1"] == "terverifikasi"
    assert store.verification_rows(CITY, YEAR) == []  # accepted records no level
    assert [e.kind for e in clarify.requests(store, ASSESSOR, CITY, YEAR)[0].events] == [
        "asked",
        "answered",
        "closed",
        "reopened",
        "closed",
    ]


def test_answer_states_from_draft_to_verified(store):
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR) == {
        "G1": "diajukan",
        "G2": "diajukan",
        "E1": "diajukan",
    }
    entry.save_draft(store, OPD03, CITY, "03", YEAR, [{"code": "E1", "level": 1}, {"code": "E2", "level": 2}])
    assert clarify.answer_states(store, OPD03, CITY, YEAR, "03") == {"E1": "diajukan", "E2": "diisi"}
    # a request to every responsible OPD of G2 concerns 01 and 02, not 03
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G2", "Berapa izin yang terbit daring?")
    assert clarify.answer_states(store, OPD02, CITY, YEAR, "02") == {"G2": "perlu_klarifikasi"}
    assert "G2" not in clarify.answer_states(store, OPD03, CITY, YEAR, "03")
    clarify.answer(store, OPD02, CITY, YEAR, cid, "412 izin")
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR)["G2"] == "dijawab"
    clarify.close(store, ASSESSOR, CITY, YEAR, cid, "verified", 3)
    states = clarify.answer_states(store, ASSESSOR, CITY, YEAR)
    assert states == {"G1": "diajukan", "G2": "terverifikasi", "E1": "diajukan", "E2": "diisi"}
    # asking again about a verified answer puts it back in the loop
    clarify.ask(store, ASSESSOR, CITY, YEAR, "G2", "Data 2023 atau 2022?", opd="01")
    assert clarify.answer_states(store, ASSESSOR, CITY, YEAR)["G2"] == "perlu_klarifikasi"


# ------------------------------------------------------------------------------ refusals


def test_who_may_ask_answer_and_close(store):
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Bukti?", opd="01")
    with pytest.raises(PermissionDenied):  # another OPD
        clarify.answer(store, OPD02, CITY, YEAR, cid, "kami jawab")
    for who in (VIEWER, OPD01, OTHER_ASSESSOR):
        with pytest.raises(PermissionDenied):
            clarify.ask(store, who, CITY, YEAR, "G1", "Bukti?")
        with pytest.raises(PermissionDenied):
            clarify.close(store, who, CITY, YEAR, cid, "accepted")
    with pytest.raises(PermissionDenied):  # reading another city's requests
        clarify.requests(store, OTHER_ASSESSOR, CITY, YEAR)
    with pytest.raises(PermissionDenied):  # an OPD reads only its own
        clarify.open_requests(store, OPD02, CITY, "01", YEAR)
    # a request to every responsible OPD: 02 may answer G2, 03 (DLH) may not
    all_cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G2", "Sumber data?")
    with pytest.raises(PermissionDenied):
        clarify.answer(store, OPD03, CITY, YEAR, all_cid, "kami juga")
    # evidence must be the OPD's own, and an answer must say something
    with pytest.raises(ValidationError) as e:
        clarify.answer(store, OPD02, CITY, YEAR, all_cid, "lihat", [_item(store, "01")])
    assert e.value.key == "clarify.item_not_yours"
    with pytest.raises(ValidationError) as e:
        clarify.answer(store, OPD02, CITY, YEAR, all_cid, "  ")
    assert e.value.key == "clarify.answer_empty"
    # asking: a message, an OPD responsible for the indicator, a due date not past in the city
    with pytest.raises(ValidationError) as e:
        clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "  ")
    assert e.value.key == "clarify.message_required"
    with pytest.raises(ValidationError) as e:
        clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "x" * 4001)
    assert e.value.key == "cell.text_too_long"
    with pytest.raises(ValidationError) as e:
        clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Bukti?", opd="03")
    assert e.value.key == "clarify.not_responsible"
    with pytest.raises(ValidationError) as e:
        clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Bukti?", _today(store) - timedelta(days=1))
    assert e.value.key == "clarify.due_past"
    with pytest.raises(ValidationError):  # a request of another city-year is unknown here
        clarify.answer(store, OPD01, CITY, 2024, cid, "x")
    assert len(_audit(store, "clarification.ask")) == 2 and _audit(store, "clarification.answer").empty


def test_a_locked_year_refuses_every_step(store):
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Bukti?", opd="01")
    set_period(store, SYSTEM, CITY, YEAR, "locked")
    with pytest.raises(PeriodClosed):
        clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Lagi?")
    with pytest.raises(PeriodClosed):
        clarify.answer(store, OPD01, CITY, YEAR, cid, "Perwali")
    with pytest.raises(PeriodClosed):
        clarify.close(store, ASSESSOR, CITY, YEAR, cid, "verified", 2)
    (c,) = clarify.requests(store, ASSESSOR, CITY, YEAR)
    assert c.status == "open" and len(c.events) == 1 and store.verification_rows(CITY, YEAR) == []


# ------------------------------------------------------------------------------ due dates


def test_overdue_by_the_citys_date_and_open_requests_of_an_opd(store):
    today = _today(store)
    a = clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Bukti?", today, "01")
    b = clarify.ask(store, ASSESSOR, CITY, YEAR, "G2", "Sumber?", today + timedelta(days=2))
    clarify.ask(store, ASSESSOR, CITY, YEAR, "E1", "Laporan?", None, "03")  # no due date: never overdue
    assert clarify.overdue(store, ASSESSOR, CITY, YEAR, today) == []  # due today counts to its end
    assert clarify.overdue(store, ASSESSOR, CITY, YEAR) == []  # "today" is the city's by default
    assert [c.id for c in clarify.overdue(store, ASSESSOR, CITY, YEAR, today + timedelta(days=1))] == [a]
    late = clarify.overdue(store, ASSESSOR, CITY, YEAR, today + timedelta(days=3))
    assert [(c.id, clarify.days_overdue(c, today + timedelta(days=3))) for c in late] == [(a, 3), (b, 1)]
    clarify.answer(store, OPD01, CITY, YEAR, a, "Perwali 12/2023")  # answered: no longer overdue
    assert [c.id for c in clarify.overdue(store, ASSESSOR, CITY, YEAR, today + timedelta(days=3))] == [b]
    # the OPD's open requests: its own and those to every OPD responsible for what it answers
    assert [c.id for c in clarify.open_requests(store, OPD02, CITY, "02", YEAR)] == [b]
    assert [c.id for c in clarify.open_requests(store, OPD01, CITY, "01", YEAR)] == [b]
    assert [c.indicator_code for c in clarify.open_requests(store, OPD03, CITY, "03", YEAR)] == ["E1"]


# ------------------------------------------------------------------------------ required evidence


def _with_requirements(store):
    doc = yaml.safe_load(MINI_YAML.read_text(encoding="utf-8"))
    g1 = next(i for i in doc["indicators"] if i["code"] == "G1")
    g1["evidence"] = {
        3: [{"id": "Peraturan Wali Kota", "en": "Mayor's regulation"}, {"id": "SK Tim", "en": "Team decree"}]
    }
    load_framework_text(store, SYSTEM, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


def test_marking_required_evidence_met_or_not(store):
    _with_requirements(store)
    assert clarify.requirement_marks(store, ASSESSOR, CITY, YEAR, "G1") == {}
    clarify.mark_requirement(store, ASSESSOR, CITY, YEAR, "G1", 3, 0, True)
    clarify.mark_requirement(store, ASSESSOR, CITY, YEAR, "G1", 3, 1, True)
    clarify.mark_requirement(store, ASSESSOR, CITY, YEAR, "G1", 3, 1, False, "SK belum ditandatangani")
    marks = clarify.requirement_marks(store, ASSESSOR, CITY, YEAR, "G1")
    assert {k: v[:3] for k, v in marks.items()} == {
        (3, 0): (True, "", "penilai"),
        (3, 1): (False, "SK belum ditandatangani", "penilai"),
    }
    audit = _audit(store, "evidence.check")
    assert len(audit) == 3
    assert json.loads(audit["before"].iloc[0]) == {"met": True, "note": ""}  # newest first
    assert json.loads(audit["after"].iloc[0])["label"] == "SK Tim"
    for level, req in ((3, 2), (4, 0), (2, 0)):  # no such requirement
        with pytest.raises(ValidationError) as e:
            clarify.mark_requirement(store, ASSESSOR, CITY, YEAR, "G1", level, req, True)
        assert e.value.key == "clarify.no_requirement"
    with pytest.raises(PermissionDenied):
        clarify.mark_requirement(store, OPD01, CITY, YEAR, "G1", 3, 0, True)
    set_period(store, SYSTEM, CITY, YEAR, "locked")
    with pytest.raises(PeriodClosed):
        clarify.mark_requirement(store, ASSESSOR, CITY, YEAR, "G1", 3, 0, False)


# ------------------------------------------------------------------------------ notices


def _with_emails(store):
    load_registry_bytes(
        store,
        SYSTEM,
        (
            b"city_code,opd_code,opd_type,name,head_name,email\n"
            b"0101,01,DISKOMINFO,Dinas Kominfo Uji,,kominfo@uji.go.id\n"
            b"0101,02,DPMPTSP,DPMPTSP Uji,,dpmptsp@uji.go.id\n"
        ),
        "o.csv",
    )


def test_notices_go_through_the_reminders_smtp_when_configured(store, smtp_server):
    inbox, port = smtp_server
    _with_emails(store)
    smtp = deadlines.SmtpSettings("127.0.0.1", port, sender="ikc@kota-uji.go.id", starttls=False)
    sso_assessor = User("budi@uji.go.id", "assessor", CITY)  # an account named by its address
    cid = clarify.ask(store, sso_assessor, CITY, YEAR, "G2", "Sumber data?", smtp=smtp)
    # a request to every responsible OPD of G2: 01 and 02, at their registry addresses
    assert sorted(m[0][0] for m in inbox.messages) == ["dpmptsp@uji.go.id", "kominfo@uji.go.id"]
    assert "G2" in inbox.messages[0][1] and "Sumber data?" in inbox.messages[0][1]
    clarify.answer(store, OPD02, CITY, YEAR, cid, "Data OSS 2023", smtp=smtp)
    assert inbox.messages[-1][0] == ["budi@uji.go.id"] and "Data OSS 2023" in inbox.messages[-1][1]
    # an assessor whose account is no address gets no mail; an OPD without one neither
    n = len(inbox.messages)
    c2 = clarify.ask(store, ASSESSOR, CITY, YEAR, "E1", "Laporan?", opd="03", smtp=smtp)
    clarify.answer(store, OPD03, CITY, YEAR, c2, "Terlampir", smtp=smtp)
    assert len(inbox.messages) == n


def test_no_notice_without_settings_and_a_dead_server_never_blocks(store, smtp_server):
    inbox, _port = smtp_server
    _with_emails(store)
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "Bukti?", opd="01")
    assert inbox.messages == []
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    down = deadlines.SmtpSettings("127.0.0.1", dead, starttls=False)
    cid2 = clarify.ask(store, ASSESSOR, CITY, YEAR, "G2", "Sumber?", opd="01", smtp=down)
    clarify.answer(store, OPD01, CITY, YEAR, cid, "Perwali", smtp=down)
    assert [c.id for c in clarify.requests(store, ASSESSOR, CITY, YEAR, status="open")] == [cid2]
    assert len(_audit(store, "clarification.ask")) == 2


# ------------------------------------------------------------------------------ read models of the pages


def test_answer_review_and_the_overdue_table(store):
    _with_requirements(store)
    who = User("op01", "opd", CITY, "01")
    link = evidence.add_link(store, who, CITY, "01", YEAR, "https://jdih.uji.go.id/perwali-12", ["G1"])
    clarify.mark_requirement(store, ASSESSOR, CITY, YEAR, "G1", 3, 1, False, "belum")
    today = _today(store)
    cid = clarify.ask(store, ASSESSOR, CITY, YEAR, "G1", "SK Tim?", today, "01")
    ar = review.answer_review(store, ASSESSOR, CITY, YEAR, "G1")
    assert ar.answers == (("01", "Dinas Kominfo Uji", 3),) and ar.state == "perlu_klarifikasi"
    assert [(o, i.id) for o, i in ar.links] == [("01", link.id)] and ar.files == ()
    assert [(r.level, r.index, r.label, r.met, r.note) for r in ar.requirements] == [
        (3, 0, "Peraturan Wali Kota", None, ""),
        (3, 1, "SK Tim", False, "belum"),
    ]
    assert [v.request.id for v in ar.open_requests] == [cid] and ar.responsible == (
        ("01", "Dinas Kominfo Uji"),
    )
    assert (ar.opd_name("01"), ar.opd_name("99"), ar.opd_name(None)) == ("Dinas Kominfo Uji", "99", None)
    with pytest.raises(PermissionDenied):
        review.answer_review(store, OPD01, CITY, YEAR, "G1")
    # Kelengkapan's list: past due by the city's date, for readers of submissions only
    assert clarify.overdue_table(store, ASSESSOR, CITY, YEAR, "id", today).empty
    late = clarify.overdue_table(store, ASSESSOR, CITY, YEAR, "id", today + timedelta(days=2))
    assert late[["id", "code", "opd_name", "days_overdue"]].values.tolist() == [
        [cid, "G1", "Dinas Kominfo Uji", 2]
    ]
    assert clarify.overdue_table(store, VIEWER, CITY, YEAR, "id", today + timedelta(days=2)).empty
