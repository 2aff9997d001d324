"""Accounts, sessions, drafts, periods, deadlines, efforts, frameworks, the registry and the audit
reads on both stores (issue 19), and what only several PostgreSQL processes can get wrong.

The round trips run on both backends: each statement of these groups, its replacement of a row,
and the Python types of what it reads back. The rest open two stores on one PostgreSQL database,
which is what two dashboard processes are: a session or a throttle written by one serves the
other, and each read-then-write that one DuckDB process runs one writer at a time is held open in
one store while the other tries the same, to show that the second waits and then sees the first.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from metrics import governance, users
from metrics.auth import SYSTEM
from metrics.errors import PeriodClosed, ValidationError
from metrics.framework import parse_framework
from metrics.store import Store, utcnow
from tests.conftest import MINI_YAML

PW = "Sandi-Panjang-1"
OUTSIDER = "203.0.113.66"  # never trusted
PG_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


# --------------------------------------------------------------------------- both backends


@pytest.mark.both_backends
def test_drafts_periods_deadlines_and_reminders_replace_their_row(mini):
    with mini.transaction() as cur:
        mini.save_draft(cur, "0101", "01", 2023, '{"G1": 2}', "op1")
        mini.save_draft(cur, "0101", "01", 2023, '{"G1": 3}', "op2")
    payload, at, who = mini.get_draft("0101", "01", 2023)
    assert (payload, who, isinstance(at, datetime)) == ('{"G1": 3}', "op2", True)
    with mini.transaction() as cur:
        mini.delete_draft(cur, "0101", "01", 2023)
    assert mini.get_draft("0101", "01", 2023) is None

    assert mini.period_status("0101", 2023) == "open"
    with mini.transaction() as cur:
        mini.set_period_status(cur, "0101", 2023, "closed", "a")
        mini.set_period_status(cur, "0101", 2023, "locked", "b")
        mini.set_period_status(cur, "0202", 2024, "closed", "a")
        assert mini.period_status("0101", 2023, cur) == "locked"
        assert mini.period_statuses(cur, ["0101", "0101"]) == {("0101", 2023): "locked"}
        assert mini.period_statuses(cur, []) == {}
    frame = mini.periods_frame()
    assert list(zip(frame["city_code"], frame["year"], frame["status"], frame["updated_by"])) == [
        ("0101", 2023, "locked", "b"),
        ("0202", 2024, "closed", "a"),
    ]
    assert list(mini.periods_frame("0202")["year"]) == [2024]

    with mini.transaction() as cur:
        mini.set_deadline_row(cur, "*", 2023, date(2023, 3, 1), None, "a")
        mini.set_deadline_row(cur, "0101", 2023, date(2023, 4, 1), date(2023, 5, 1), "a")
        mini.set_deadline_row(cur, "0101", 2023, date(2023, 4, 2), None, "b")
        mini.set_deadline_row(cur, "0202", 2025, None, None, "b")
    rows = mini.deadline_rows("0101", 2023)
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("0101", date(2023, 4, 2), None, "b"),
        ("*", date(2023, 3, 1), None, "a"),
    ]
    assert mini.deadline_years() == [2023, 2025]
    with mini.transaction() as cur:
        mini.delete_deadline_row(cur, "0202", 2025)
    assert mini.deadline_years() == [2023]

    assert not mini.reminder_sent("0101", "01", 2023, "before")
    with mini.transaction() as cur:
        mini.add_reminder(cur, "0101", "01", 2023, "before", "a@uji.go.id")
    assert mini.reminder_sent("0101", "01", 2023, "before")
    assert not mini.reminder_sent("0101", "01", 2023, "after")


@pytest.mark.both_backends
def test_efforts_and_their_unit_replace_and_clear(mini):
    with mini.transaction() as cur:
        mini.set_effort(cur, "0101", 2023, "G1", 2, 5.0, "a")
        mini.set_effort(cur, "0101", 2023, "G1", 2, 7.5, "b")  # replaces
        mini.set_effort(cur, "0101", 2023, "E1", 3, 1, "a")
        mini.set_effort(cur, "0101", 2023, "E2", 2, None, "a")  # nothing to clear
        mini.set_effort_unit(cur, "0101", 2023, "days", "a")
        mini.set_effort_unit(cur, "0101", 2023, "rupiah", "b")
    rows = mini.effort_rows("0101", 2023)
    assert [r[:4] for r in rows] == [("E1", 3, 1.0, "a"), ("G1", 2, 7.5, "b")]
    assert all(isinstance(r[2], float) and isinstance(r[4], datetime) for r in rows)
    assert mini.effort_unit("0101", 2023) == "rupiah" and mini.effort_unit("0101", 2024) is None
    with mini.transaction() as cur:
        mini.set_effort(cur, "0101", 2023, "G1", 2, None, "a")
    assert [r[0] for r in mini.effort_rows("0101", 2023)] == ["E1"]


@pytest.mark.both_backends
def test_accounts_failures_unlock_codes_and_sessions_round_trip(mini):
    now = utcnow()
    users.add_user(mini, SYSTEM, "budi", PW, "viewer")
    users.add_user(mini, SYSTEM, "adm.satu", PW, "admin")
    row = mini.get_user_row("BUDI")
    assert row is not None and row[0] == "budi" and row[5] is True and row[7] == 0
    frame = mini.users_frame()
    assert list(frame["username"]) == ["adm.satu", "budi"] and bool(frame["active"].all())
    with mini.transaction() as cur:
        assert mini.other_active_admins(cur, "adm.satu") == 0
        assert mini.other_active_admins(cur, "budi") == 1

    with mini.transaction() as cur:
        for k in range(3):
            mini.add_login_failure(cur, now - timedelta(minutes=k), OUTSIDER, "budi", now - timedelta(days=1))
        mini.add_login_failure(cur, now - timedelta(days=2), OUTSIDER, "budi", now - timedelta(days=3))
        mini.add_login_failure(
            cur, now, "198.51.100.7", "budi", now - timedelta(days=1)
        )  # prunes the old one
    stats = mini.login_failure_stats(
        OUTSIDER, "budi", now - timedelta(hours=1), now - timedelta(hours=1), now
    )
    assert stats == (3, now, 3, now, 2, now)  # the account: this failure and the other client's
    assert all(isinstance(v, int) for v in stats[::2])
    with mini.transaction() as cur:
        mini.clear_login_failures(cur, "budi", OUTSIDER)
    assert mini.login_failure_stats(OUTSIDER, "budi", now, now, now)[::2] == (0, 0, 1)
    with mini.transaction() as cur:
        mini.clear_login_failures(cur, "budi")
    assert mini.login_failure_stats(OUTSIDER, "budi", now, now, now)[4] == 0

    with mini.transaction() as cur:
        mini.put_unlock_code(cur, "budi", "h1", now + timedelta(minutes=5), "a")
        mini.put_unlock_code(cur, "budi", "h2", now + timedelta(minutes=5), "a")  # replaces
    assert not mini.unlock_code_valid("budi", "h1", now) and mini.unlock_code_valid("budi", "h2", now)
    assert not mini.unlock_code_valid("budi", "h2", now + timedelta(minutes=6))
    with mini.transaction() as cur:
        mini.use_unlock_code(cur, "budi")
    assert not mini.unlock_code_valid("budi", "h2", now)

    with mini.transaction() as cur:
        mini.insert_session(cur, "s1", "budi", now, now + timedelta(hours=8), OUTSIDER)
        mini.insert_session(cur, "s2", "Budi", now, now - timedelta(seconds=1), OUTSIDER)
        mini.insert_session(cur, "s3", "adm.satu", now, now + timedelta(hours=8), OUTSIDER)
        mini.set_session_ticket(cur, "s1", "t1", now + timedelta(seconds=20))
    assert mini.live_session_count(now) == 2
    with mini.transaction() as cur:
        assert mini.session_by_ticket(cur, "t1") == (
            "s1",
            "budi",
            now,
            now,
            now + timedelta(hours=8),
            now + timedelta(seconds=20),
        )
        mini.set_session_token(cur, "s1", "k1")
        assert mini.session_by_ticket(cur, "t1") is None
        mini.touch_session(cur, "s1", now + timedelta(minutes=2))
    assert mini.session_by_token("k1") == (
        "s1",
        "budi",
        now,
        now + timedelta(minutes=2),
        now + timedelta(hours=8),
        None,
    )
    with mini.transaction() as cur:
        assert mini.delete_sessions(cur, "BUDI", before=now) == 2  # any case of the name
    assert mini.get_session("s1") is None and mini.get_session("s3") is not None
    with mini.transaction() as cur:
        mini.delete_session(cur, "s3")
    assert mini.live_session_count(now) == 0


@pytest.mark.both_backends
def test_frameworks_registry_and_audit_reads(mini):
    seq0 = len(mini.framework_sources())
    text = MINI_YAML.read_text(encoding="utf-8")
    _, seq = governance.load_framework_text(mini, SYSTEM, text)
    assert seq == seq0 + 1 and mini.framework_sources()[-1] == (seq, text)
    frame = mini.framework_list()
    assert list(frame["seq"]) == list(range(1, seq + 1)) and list(frame["indicators"]) == [4] * seq
    assert {o.opd_code for o in mini.opds("0101")} == {"01", "02", "03"} and len(mini.opds()) == 5
    assert mini.opd_map()[("0202", "03")].opd_type == "DLH"
    assert [c.city_code for c in mini.cities()] == ["0202", "0101"]  # by name: Coba, Uji
    with mini.transaction() as cur:
        mini.set_assignment_row(cur, "0202", "G2", "01", "a")
        mini.set_assignment_row(cur, "0202", "G2", "03", "b")  # the one OPD replaced
        mini.set_assignment_row(cur, "0202", "E1", "01", "a")
        mini.set_assignment_row(cur, "0202", "E1", None, "a")  # withdrawn
        assert [r[:3] for r in mini.assignment_rows("0202", cur)] == [("0202", "G2", "03")]
    assert [r[2] for r in mini.assignment_rows()] == ["03"]

    users.add_user(mini, SYSTEM, "budi", PW, "viewer")
    with pytest.raises(users.LoginFailed):
        users.login(mini, "budi", "salah-sandi-1", client=OUTSIDER)
    n = mini.audit_count()
    assert n == len(mini.audit_rows()) and n >= 5
    assert {"framework.load", "registry.load", "user.create", "login.failure"} <= set(mini.audit_actions())
    assert mini.audit_actions() == sorted(mini.audit_actions())
    assert {"system", "anonymous"} <= set(mini.audit_usernames())
    failures = mini.audit_frame(None, "login.failure", None, None, 10)
    assert len(failures) == 1 and failures["object"].iloc[0] == "user:budi"
    assert list(mini.audit_frame("system", None, None, None, 2)["id"]) == [n - 1, n - 2]
    newest = mini.audit_rows()[-1].at
    assert len(mini.audit_frame(None, None, newest, newest, 100)) >= 1
    assert len(mini.audit_frame(None, None, "2999", None, 100)) == 0
    # a failed sign-in changes nothing a page shows; the account made before it does
    created = next(r.at for r in reversed(mini.audit_rows()) if r.action == "user.create")
    assert mini.last_content_change() == created
    assert mini.last_content_change(also_skip=("user.create",)) < created


# --------------------------------------------------------------------------- two processes


@pytest.fixture
def two(mini: Store) -> Iterator[tuple[Store, Store]]:
    """The mini store and a second store on the same PostgreSQL database: two processes."""
    other = Store(mini.path)
    try:
        yield mini, other
    finally:
        other.close()


def _contend(store: Store, hold: Callable[[Any], None], then: Callable[[], Any]) -> tuple[bool, Any]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = then()
        except Exception as exc:  # handed back to the test
            out["value"] = exc

    worker = threading.Thread(target=run)
    with store.transaction() as cur:
        hold(cur)
        worker.start()
        time.sleep(0.5)
        waited = worker.is_alive()
    worker.join(timeout=30)
    assert not worker.is_alive()
    return waited, out.get("value")


@PG_ONLY
def test_a_session_made_by_one_process_serves_the_next_request_in_another(two):
    a, b = two
    users.add_user(a, SYSTEM, "budi", PW, "viewer")
    sess = users.login(a, "budi", PW, client=OUTSIDER)
    token = users.redeem_ticket(b, users.issue_ticket(a, sess))
    assert token is not None
    resumed = users.resume_session(b, token)
    assert resumed is not None and resumed.sid == sess.sid and resumed.user.username == "budi"
    assert users.check_session(a, sess) is not None
    users.logout(b, resumed)  # signing out in a tab served by the other process ends it everywhere
    assert users.resume_session(a, token) is None and users.check_session(a, sess) is None
    # a password changed through one process ends the sessions the other serves
    sess2 = users.login(b, "budi", PW, client=OUTSIDER)
    users.set_password(a, SYSTEM, "budi", "Sandi-Baru-2222")
    assert users.check_session(b, sess2) is None


@PG_ONLY
def test_failures_counted_by_one_process_slow_the_next_attempt_in_another(two):
    a, b = two
    users.add_user(a, SYSTEM, "admin.kota", PW, "admin")
    now = utcnow()
    for _ in range(users.PAIR_FREE):
        with pytest.raises(users.LoginFailed):
            users.login(a, "admin.kota", "tebakan-salah", now, client=OUTSIDER)
    assert users.attempts_left(b, "admin.kota", OUTSIDER, now) == 0
    assert users.throttle_wait(b, "admin.kota", OUTSIDER, now) > 0
    with pytest.raises(users.LoginFailed) as exc:
        users.login(b, "admin.kota", PW, now, client=OUTSIDER)  # the right password, still throttled
    assert exc.value.key == "login.failed_wait"
    code, _ = users.issue_unlock_code(b, SYSTEM, "admin.kota", now)
    assert (
        users.login(a, "admin.kota", PW, now, client=OUTSIDER, unlock_code=code).user.username == "admin.kota"
    )
    assert users.throttle_wait(b, "admin.kota", OUTSIDER, now) == 0
    for _ in range(users.PAIR_FREE):
        with pytest.raises(users.LoginFailed):
            users.login(b, "admin.kota", "tebakan-salah", now, client=OUTSIDER)
    with pytest.raises(users.LoginFailed):  # the code was used up in the other process
        users.login(b, "admin.kota", PW, now, client=OUTSIDER, unlock_code=code)


@PG_ONLY
def test_a_ticket_redeemed_in_two_processes_at_once_gives_one_cookie(two):
    a, b = two
    users.add_user(a, SYSTEM, "budi", PW, "viewer")
    sess = users.login(a, "budi", PW, client=OUTSIDER)
    ticket = users.issue_ticket(a, sess)
    assert ticket is not None

    def redeem_in_a(cur: Any) -> None:  # what redeem_ticket does, held open before its commit
        srow = a.session_by_ticket(cur, hashlib.sha256(ticket.encode()).hexdigest())
        assert srow is not None
        a.set_session_token(cur, srow[0], hashlib.sha256(b"the first cookie").hexdigest())

    waited, second = _contend(a, redeem_in_a, lambda: users.redeem_ticket(b, ticket))
    assert waited and second is None  # the ticket was spent by the first


@PG_ONLY
def test_two_admins_demoting_each_other_in_two_processes_leave_one_admin(two):
    a, b = two
    users.add_user(a, SYSTEM, "adm.satu", PW, "admin")
    users.add_user(a, SYSTEM, "adm.dua", PW, "admin")

    def demote_satu(cur: Any) -> None:
        assert a.other_active_admins(cur, "adm.satu") == 1
        a.update_user(cur, "adm.satu", role="viewer")

    waited, second = _contend(a, demote_satu, lambda: users.update_user(b, SYSTEM, "adm.dua", role="viewer"))
    assert waited and isinstance(second, ValidationError) and second.key == "user.last_admin"
    assert [r[0] for r in a.users_frame().itertuples(index=False) if r[1] == "admin"] == ["adm.dua"]


@PG_ONLY
def test_a_year_locked_in_one_process_stops_a_write_checking_it_in_another(two):
    a, b = two
    waited, second = _contend(
        a,
        lambda cur: a.set_period_status(cur, "0101", 2023, "locked", "admin"),
        lambda: governance.verify(b, SYSTEM, "0101", 2023, "G1", 2, "cek"),
    )
    assert waited and isinstance(second, PeriodClosed), second
    # and the other way round: a lock waits for the write that checked the year open
    waited, second = _contend(
        a,
        lambda cur: a.period_status("0202", 2023, cur),
        lambda: governance.set_period(b, SYSTEM, "0202", 2023, "locked"),
    )
    assert waited and second == "open" and a.period_status("0202", 2023) == "locked"


@PG_ONLY
def test_an_indicator_assigned_in_two_processes_at_once_keeps_one_opd(two):
    a, b = two

    def assign_in_b() -> None:
        with b.transaction() as cur:
            b.set_assignment_row(cur, "0202", "G2", "03", "b")

    waited, second = _contend(a, lambda cur: a.set_assignment_row(cur, "0202", "G2", "01", "a"), assign_in_b)
    assert waited and second is None
    assert [r[:3] for r in a.assignment_rows("0202")] == [("0202", "G2", "03")]


@PG_ONLY
def test_frameworks_loaded_in_two_processes_at_once_take_turns(two):
    a, b = two
    fw = parse_framework(MINI_YAML.read_text(encoding="utf-8"))
    seq0 = len(a.framework_sources())

    def save_in_b() -> int:
        with b.transaction() as cur:
            return b.save_framework(cur, fw, "b")

    waited, second = _contend(a, lambda cur: a.save_framework(cur, fw, "a"), save_in_b)
    assert waited and second == seq0 + 2
    assert list(a.framework_list()["loaded_by"])[-2:] == ["a", "b"]
