"""Deadlines, on-time status, the overdue list, reminders, the OPD home and the status board (issue 15,
points 3, 6 and 8), on the hand-made mini store and the demo database."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from metrics import cli, deadlines, home, views
from metrics.auth import SYSTEM, User
from metrics.errors import PermissionDenied, Rejected, ValidationError
from metrics.governance import load_registry_bytes, save_opd
from metrics.ingest import ingest_bytes
from metrics.registry import Opd, parse_registry_csv
from tests.conftest import ASSESS_CSV

pytestmark = pytest.mark.both_backends

CITY_ADMIN = User("admin0101", "admin", "0101")
EXEC = User("wali0101", "executive", "0101")


def _audit(store, action):
    return store.audit_frame(None, action, None, None, 100)


@pytest.fixture
def mini_due(mini):
    """The mini store with 2023 answers (OPD 03 misses E2) and an OPD that never submitted; the
    2023 self-assessment deadline for every city is today (so the answers just given are on time)."""
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    save_opd(mini, SYSTEM, Opd("0101", "04", "DLH", "DLH Cabang"))
    today = deadlines.city_today(mini, "0101")
    deadlines.set_deadline(mini, SYSTEM, None, 2023, today, today + timedelta(days=30))
    return mini, today


def test_on_time_late_not_yet_overdue_and_the_rate(mini_due):
    store, today = mini_due
    cs = deadlines.opd_statuses(store, "0101", 2023, today + timedelta(days=3))
    by = {o.opd_code: o for o in cs.opds}
    assert cs.deadline.scope == "all" and cs.deadline.self_due == today
    assert [by[c].timeliness for c in ("01", "02", "03", "04")] == [
        "on_time",
        "on_time",
        "on_time",
        "not_yet",
    ]
    # overdue: the deadline passed and something it answers for is still missing
    assert not by["01"].overdue and not by["02"].overdue
    assert by["03"].overdue and by["03"].missing == ("E2",) and by["03"].days_overdue == 3
    assert by["04"].overdue and by["04"].missing == ("E1", "E2")
    assert cs.on_time_rate == pytest.approx(3 / 4)
    assert [o.opd_code for o in cs.overdue] == ["04", "03"]  # least answered first
    # before the deadline nobody is overdue
    assert not any(o.overdue for o in deadlines.opd_statuses(store, "0101", 2023, today).opds)
    # the city's own row overrides the every-city row: yesterday makes every answer late
    deadlines.set_deadline(store, CITY_ADMIN, "0101", 2023, today - timedelta(days=1))
    cs = deadlines.opd_statuses(store, "0101", 2023, today)
    assert cs.deadline.scope == "city" and cs.on_time_rate == 0
    assert {o.timeliness for o in cs.opds} == {"late", "not_yet"}
    assert deadlines.deadline(store, "0202", 2023).scope == "all"


def test_setting_deadlines_is_checked_and_audited(mini_due):
    store, today = mini_due
    with pytest.raises(PermissionDenied):  # a city's admin cannot set every city's deadline
        deadlines.set_deadline(store, CITY_ADMIN, None, 2023, today)
    with pytest.raises(PermissionDenied):
        deadlines.set_deadline(store, EXEC, "0101", 2023, today)
    with pytest.raises(PermissionDenied):  # nor another city's
        deadlines.set_deadline(store, CITY_ADMIN, "0202", 2023, today)
    with pytest.raises(ValidationError):
        deadlines.set_deadline(store, SYSTEM, "0101", 2023, today, today - timedelta(days=1))
    with pytest.raises(ValidationError):
        deadlines.set_deadline(store, SYSTEM, "0101", 2023, "31/12/2023")
    before = deadlines.set_deadline(store, CITY_ADMIN, "0101", 2023, today + timedelta(days=5))
    assert before.scope == "none"
    rows = _audit(store, "deadline.set")
    assert list(rows["object"])[:2] == ["deadline:0101/2023", "deadline:*/2023"]
    assert json.loads(rows["after"].iloc[0])["self_due"] == (today + timedelta(days=5)).isoformat()
    deadlines.set_deadline(store, CITY_ADMIN, "0101", 2023, None, None)  # removed: the all-cities row again
    assert deadlines.deadline(store, "0101", 2023).scope == "all"


def test_completeness_view_shows_timeliness_and_the_on_time_rate(mini_due):
    store, today = mini_due
    cp = views.completeness(store, "0101", 2023, user=SYSTEM)
    assert cp.on_time_rate == pytest.approx(3 / 4)
    assert cp.deadline.self_due == today and cp.days_left == 0
    assert dict(zip(cp.opds["opd_code"], cp.opds["timeliness"])) == {
        "01": "on_time",
        "02": "on_time",
        "03": "on_time",
        "04": "not_yet",
    }


def test_registry_carries_optional_head_name_and_email(mini):
    data = (
        b"city_code,opd_code,opd_type,name,head_name,email\n"
        b"0101,03,DLH,DLH Uji,Ir. Sari Dewi,DLH@Kota-Uji.go.id\n"
    )
    load_registry_bytes(mini, SYSTEM, data, "opds.csv")
    o = next(x for x in mini.opds("0101") if x.opd_code == "03")
    assert (o.head_name, o.email) == ("Ir. Sari Dewi", "dlh@kota-uji.go.id")
    # a load without the optional columns keeps them
    load_registry_bytes(mini, SYSTEM, b"city_code,opd_code,opd_type,name\n0101,03,DLH,DLH Baru\n", "o.csv")
    o = next(x for x in mini.opds("0101") if x.opd_code == "03")
    assert (o.name, o.head_name, o.email) == ("DLH Baru", "Ir. Sari Dewi", "dlh@kota-uji.go.id")
    with pytest.raises(Rejected) as exc:
        parse_registry_csv(
            b"city_code,opd_code,opd_type,name,head_name,email\n0101,03,DLH,D,X,not-an-address\n", "bad.csv"
        )
    assert exc.value.problems[0].column == "email"


def test_overdue_list_pdf_and_xlsx(mini_due):
    store, today = mini_due
    load_registry_bytes(
        store,
        SYSTEM,
        (b'city_code,opd_code,opd_type,name,head_name\n0101,03,DLH,DLH Uji,=HYPERLINK("http://x")\n'),
        "o.csv",
    )
    later = today + timedelta(days=4)
    xl = deadlines.overdue_list(store, EXEC, "0101", 2023, "xlsx", "id", today=later)
    ws = load_workbook(io.BytesIO(xl.data)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == ["OPD", "Kepala OPD", "Dijawab", "Indikator belum dijawab", "Hari terlambat"]
    assert rows[1] == ["DLH Cabang", "–", "0 / 2", "E1, E2", 4]
    assert rows[2] == [
        "DLH Uji",
        '\'=HYPERLINK("http://x")',
        "1 / 2",
        "E2",
        4,
    ]  # neutralised, never a formula
    wb = load_workbook(io.BytesIO(xl.data))
    assert [r for r in wb.worksheets[1].iter_rows(values_only=True)] == [
        ("Indikator", "Nama indikator", "OPD", "Tenggat", "Hari terlambat", "Diminta oleh")
    ]  # no clarification request is late yet
    pdf = deadlines.overdue_list(store, EXEC, "0101", 2023, "pdf", "id", today=later)
    assert pdf.data.startswith(b"%PDF") and pdf.name == "tunggakan_0101_2023.pdf"
    assert list(_audit(store, "export")["object"])[:2] == ["overdue:0101/2023"] * 2
    with pytest.raises(PermissionDenied):  # an OPD operator does not get every agency's list
        deadlines.overdue_list(store, User("op", "opd", "0101", "01"), "0101", 2023, "pdf")


# ------------------------------------------------------------------------------ reminders


def _with_emails(store):
    load_registry_bytes(
        store,
        SYSTEM,
        (
            b"city_code,opd_code,opd_type,name,head_name,email\n"
            b"0101,01,DISKOMINFO,Dinas Kominfo Uji,,kominfo@uji.go.id\n"
            b"0101,03,DLH,DLH Uji,,dlh@uji.go.id\n"
        ),
        "o.csv",
    )


def test_reminders_go_to_registry_addresses_once_and_are_audited(mini_due, smtp_server):
    store, today = mini_due
    inbox, port = smtp_server
    _with_emails(store)
    smtp = deadlines.SmtpSettings(
        "127.0.0.1", port, sender="ikc@kota-uji.go.id", starttls=False, days_before=(1,), days_after=(2,)
    )
    day_before = today - timedelta(days=1)
    out = deadlines.send_reminders(store, SYSTEM, 2023, smtp, ["0101"], today=day_before)
    # incomplete OPDs only: 03 (has an address) is mailed, 04 (no address) is reported, not mailed
    assert {(r.opd_code, r.sent, r.skipped) for r in out} == {("03", True, ""), ("04", False, "no_email")}
    assert [m[0] for m in inbox.messages] == [["dlh@uji.go.id"]]
    assert "E2" in inbox.messages[0][1] and "1 hari lagi" in inbox.messages[0][1]
    audit = _audit(store, "reminder.sent")
    assert (
        list(audit["object"]) == ["opd:0101/03"] and json.loads(audit["after"].iloc[0])["stage"] == "before-1"
    )
    # once per OPD, year and stage
    again = deadlines.send_reminders(store, SYSTEM, 2023, smtp, ["0101"], today=day_before)
    assert {r.skipped for r in again} == {"already_sent", "no_email"} and len(inbox.messages) == 1
    # after the deadline: the overdue ones, on the configured day only
    assert (
        deadlines.send_reminders(store, SYSTEM, 2023, smtp, ["0101"], today=today + timedelta(days=1)) == []
    )
    after = deadlines.send_reminders(store, SYSTEM, 2023, smtp, ["0101"], today=today + timedelta(days=2))
    assert [(r.opd_code, r.stage, r.sent) for r in after if r.sent] == [("03", "after-2", True)]
    assert len(inbox.messages) == 2


def test_no_mail_without_settings_or_on_a_dry_run(mini_due, smtp_server):
    store, today = mini_due
    inbox, port = smtp_server
    _with_emails(store)
    day_before = today - timedelta(days=1)
    none = deadlines.send_reminders(store, SYSTEM, 2023, None, ["0101"], today=today - timedelta(days=7))
    assert none and {r.skipped for r in none} <= {"no_smtp", "no_email"} and not any(r.sent for r in none)
    smtp = deadlines.SmtpSettings("127.0.0.1", port, starttls=False, days_before=(1,))
    dry = deadlines.send_reminders(store, SYSTEM, 2023, smtp, ["0101"], today=day_before, dry_run=True)
    assert {r.skipped for r in dry} == {"dry_run", "no_email"}
    assert inbox.messages == [] and _audit(store, "reminder.sent").empty
    with pytest.raises(PermissionDenied):
        deadlines.send_reminders(store, EXEC, 2023, smtp, ["0101"], today=day_before)
    assert deadlines.SmtpSettings.from_mapping({}) is None
    assert deadlines.read_smtp_settings("/nonexistent.toml", environ={}) is None


def test_cli_remind_reads_a_toml_file(mini_due, smtp_server, tmp_path, capsys):
    store, today = mini_due
    inbox, port = smtp_server
    _with_emails(store)
    path = store.path
    store.close()
    conf = tmp_path / "secrets.toml"
    conf.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "ikc@uji.go.id"\nstarttls = false\n'
        "days_before = [1]\n",
        encoding="utf-8",
    )
    day = (today - timedelta(days=1)).isoformat()
    base = [
        "--db",
        path,
        "remind",
        "--year",
        "2023",
        "--city",
        "0101",
        "--smtp-config",
        str(conf),
        "--today",
        day,
    ]
    assert cli.main(base + ["--dry-run", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(r["opd"], r["skipped"]) for r in listed} == {("03", "dry_run"), ("04", "no_email")}
    assert inbox.messages == []
    assert cli.main(base) == 0
    assert "OK: 1 sent" in capsys.readouterr().out and [m[0] for m in inbox.messages] == [["dlh@uji.go.id"]]
    # nothing configured: nothing sent, and it says so
    assert (
        cli.main(
            [
                "--db",
                path,
                "remind",
                "--year",
                "2023",
                "--smtp-config",
                str(tmp_path / "none.toml"),
                "--today",
                day,
            ]
        )
        == 0
    )
    assert "nothing sent" in capsys.readouterr().out


# ------------------------------------------------------------------------------ OPD home, status board


def test_opd_home_has_one_next_action(mini_due):
    store, today = mini_due
    h = home.opd_home(store, User("op3", "opd", "0101", "03"), today=today)
    assert (h.year, h.answered, h.pairs, h.missing, h.next_action) == (2023, 1, 2, ("E2",), "complete")
    assert h.submission_id is not None and h.days_left == 0 and h.timeliness == "on_time"
    assert home.opd_home(store, User("op1", "opd", "0101", "01"), today=today).next_action == "done"
    h4 = home.opd_home(store, User("op4", "opd", "0101", "04"), today=today)
    assert (h4.next_action, h4.submission_id, h4.answered, h4.pairs) == ("upload", None, 0, 2)
    with store.transaction() as cur:
        store.save_draft(cur, "0101", "04", 2023, "{}", "op4")
    assert home.opd_home(store, User("op4", "opd", "0101", "04"), today=today).next_action == "continue"
    from metrics.governance import set_period

    set_period(store, SYSTEM, "0101", 2023, "closed")
    assert home.opd_home(store, User("op4", "opd", "0101", "04"), year=2023).next_action == "closed"
    for who in (SYSTEM, EXEC, User("p", "assessor")):
        with pytest.raises(PermissionDenied):
            home.opd_home(store, who)


def test_status_board_for_the_admin_only(mini_due):
    store, today = mini_due
    b = home.status_board(store, CITY_ADMIN, "0101", 2023, today=today + timedelta(days=1))
    assert b.state == "ok" and list(b.overdue["opd_code"]) == ["04", "03"]
    assert b.on_time_rate == pytest.approx(3 / 4) and len(b.last_uploads) == 3
    assert set(b.opds.columns) >= {"completeness", "timeliness", "days_overdue"}
    for who in (EXEC, User("p", "assessor"), User("op", "opd", "0101", "01")):
        with pytest.raises(PermissionDenied):
            home.status_board(store, who, "0101", 2023)


# ------------------------------------------------------------------------------ indicators nobody answers


def test_indicators_nobody_can_answer_are_flagged(mini):
    load_registry_bytes(
        mini, SYSTEM, b"city_code,name,province,category,population\n0303,Kota Sepi,Aceh,kecil,10\n", "c.csv"
    )
    load_registry_bytes(
        mini, SYSTEM, b"city_code,opd_code,opd_type,name\n0303,01,DISKOMINFO,Kominfo Sepi\n", "o.csv"
    )
    ingest_bytes(
        mini,
        SYSTEM,
        b"city_code;opd_code;year;indicator_code;level;evidence;note\n"
        b"0303;01;2023;G1;3;;\n0303;01;2023;G2;3;;\n",
        "a.csv",
    )
    ov = views.overview(mini, "0303", 2023, user=SYSTEM)
    assert [c for c, _ in ov.orphans] == ["E1", "E2"]
    cp = views.completeness(mini, "0303", 2023, user=SYSTEM)
    assert list(cp.orphans["code"]) == ["E1", "E2"]
    assert set(cp.missing_indicators[cp.missing_indicators["responsible"] == 0]["code"]) == {"E1", "E2"}
    assert list(home.status_board(mini, SYSTEM, "0303", 2023).orphans["code"]) == ["E1", "E2"]
    from metrics.admin import admin_view

    assert list(admin_view(mini, SYSTEM, "0303", year=2023).orphans["code"]) == ["E1", "E2"]
    assert views.overview(mini, "0101", 2023, user=SYSTEM).orphans == ()  # every indicator has an OPD there


def test_the_overdue_list_carries_clarification_requests_past_their_due_date(mini_due):
    """Issue 18: open requests past their due date are on the daftar tunggakan too."""
    from metrics import clarify

    store, today = mini_due
    assessor = User("penilai", "assessor")
    cid = clarify.ask(store, assessor, "0101", 2023, "E1", "Mohon laporan kualitas udara", today, "03")
    later = today + timedelta(days=5)
    xl = deadlines.overdue_list(store, EXEC, "0101", 2023, "xlsx", "en", today=later)
    sheet = load_workbook(io.BytesIO(xl.data)).worksheets[1]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Indicator", "Indicator name", "OPD", "Due", "Days overdue", "Asked by")
    assert [(r[0], r[2], r[4], r[5]) for r in rows[1:]] == [("E1", "DLH Uji", 5, "penilai")]
    pdf = deadlines.overdue_list(store, EXEC, "0101", 2023, "pdf", "en", today=later)
    assert pdf.data.startswith(b"%PDF")
    assert json.loads(_audit(store, "export")["after"].iloc[0])["requests"] == 1
    # answered: no longer open, so no longer overdue
    clarify.answer(store, User("op03", "opd", "0101", "03"), "0101", 2023, cid, "Laporan dikirim")
    xl = deadlines.overdue_list(store, EXEC, "0101", 2023, "xlsx", "en", today=later)
    assert len(list(load_workbook(io.BytesIO(xl.data)).worksheets[1].iter_rows())) == 1
