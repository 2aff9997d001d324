"""Roles, scopes, passwords, the sign-in throttle, sessions and the audit chain, through the core."""

from datetime import timedelta

import pytest

from metrics import auth, users
from metrics.audit import verify_chain
from metrics.auth import ANONYMOUS, SYSTEM, Action, User, can
from metrics.errors import PermissionDenied, ValidationError
from metrics.store import utcnow

ADMIN = User("adm", "admin")
CITY_ADMIN = User("adm2", "admin", "0101")
EXEC = User("wk", "executive", "0101")
OPD = User("op", "opd", "0101", "01")
ASSESSOR = User("pn", "assessor")
VIEWER = User("tm", "viewer")

# (action, city, opd) -> the exact set of users allowed
MATRIX = [
    ((Action.READ_SCORES, "0101", None), {ADMIN, CITY_ADMIN, EXEC, OPD, ASSESSOR, VIEWER}),
    ((Action.READ_SUBMISSIONS, "0101", "01"), {ADMIN, CITY_ADMIN, EXEC, OPD, ASSESSOR}),
    ((Action.READ_SUBMISSIONS, "0101", "02"), {ADMIN, CITY_ADMIN, EXEC, ASSESSOR}),
    ((Action.READ_SUBMISSIONS, "0202", "01"), {ADMIN, ASSESSOR}),
    ((Action.UPLOAD, "0101", "01"), {ADMIN, CITY_ADMIN, OPD}),
    ((Action.UPLOAD, "0101", "02"), {ADMIN, CITY_ADMIN}),
    ((Action.UPLOAD, "0202", "01"), {ADMIN}),
    ((Action.VERIFY, "0101", None), {ADMIN, CITY_ADMIN, ASSESSOR}),
    ((Action.PERIOD, "0101", None), {ADMIN, CITY_ADMIN}),
    ((Action.LOCK, "0101", None), {ADMIN, CITY_ADMIN}),
    ((Action.MANAGE_USERS, None, None), {ADMIN, CITY_ADMIN}),
    ((Action.LOAD_FRAMEWORK, None, None), {ADMIN, CITY_ADMIN}),
    ((Action.READ_AUDIT, None, None), {ADMIN, CITY_ADMIN}),
    ((Action.EXPORT, "0101", None), {ADMIN, CITY_ADMIN, EXEC, ASSESSOR}),
    ((Action.BACKUP, None, None), {ADMIN, CITY_ADMIN}),
]


@pytest.mark.parametrize("args,allowed", MATRIX)
def test_permission_matrix(args, allowed):
    everyone = {ADMIN, CITY_ADMIN, EXEC, OPD, ASSESSOR, VIEWER, ANONYMOUS}
    assert {u for u in everyone if can(u, *args)} == allowed
    for u in everyone - allowed:
        with pytest.raises(PermissionDenied):
            auth.require(u, *args)


def test_anonymous_reads_scores_only_when_public():
    assert not can(ANONYMOUS, Action.READ_SCORES)
    assert can(ANONYMOUS, Action.READ_SCORES, public_read=True)
    assert not can(ANONYMOUS, Action.READ_SUBMISSIONS, "0101", "01", public_read=True)


def test_disabled_user_can_do_nothing():
    ghost = User("x", "admin", active=False)
    assert not any(can(ghost, a, "0101", "01") for a in Action)


def test_password_policy_and_argon2id():
    with pytest.raises(ValidationError):
        auth.check_password_policy("short")
    with pytest.raises(ValidationError):
        auth.check_password_policy("password123")  # on the shipped common list
    auth.check_password_policy("x" * 64)  # long passphrases are welcome
    h = auth.hash_password("Kota-Cerdas-2024!")
    assert h.startswith("$argon2id$") and "m=19456,t=2" in h
    assert auth.verify_password(h, "Kota-Cerdas-2024!") and not auth.verify_password(h, "wrong-one")


def test_user_management_is_admin_only_and_audited(mini):
    n = mini.audit_count()
    with pytest.raises(PermissionDenied):
        users.add_user(mini, EXEC, "baru", "Sandi-Panjang-1", "viewer")
    u = users.add_user(mini, SYSTEM, "op.kominfo", "Sandi-Panjang-1", "opd", "0101", "01")
    assert (u.role, u.city_code, u.opd_code) == ("opd", "0101", "01")
    assert mini.audit_count() == n + 1 and mini.audit_rows()[-1].action == "user.create"
    row = mini.get_user_row("op.kominfo")
    assert row[1].startswith("$argon2id$") and "Sandi-Panjang-1" not in row[1]
    with pytest.raises(ValidationError):
        users.add_user(mini, SYSTEM, "op.kominfo", "Sandi-Panjang-1", "viewer")
    with pytest.raises(ValidationError):
        users.add_user(mini, SYSTEM, "opd.tanpa", "Sandi-Panjang-1", "opd")  # opd needs a scope


def test_100_rapid_wrong_attempts_are_throttled_and_the_account_is_not_locked(mini):
    users.add_user(mini, SYSTEM, "korban", "Sandi-Panjang-1", "viewer")
    t0 = utcnow()
    waits = []
    for k in range(100):
        with pytest.raises(users.LoginFailed) as exc:
            users.login(mini, "korban", "tebak-salah-%d" % k, now=t0, client="203.0.113.9")
        waits.append(exc.value.params.get("seconds", 0))
    assert waits == [0, 0] + [1] * 98  # three checked; 97 refused unchecked, the wait not grown by them
    with pytest.raises(users.LoginFailed) as exc:  # even the right password, inside the wait
        users.login(mini, "korban", "Sandi-Panjang-1", now=t0, client="203.0.113.9")
    assert exc.value.key == "login.failed_wait"
    # from another address at once, and from the same one a second later: no lock to wait out
    assert (
        users.login(mini, "korban", "Sandi-Panjang-1", now=t0, client="198.51.100.7").user.username
        == "korban"
    )
    s = users.login(mini, "korban", "Sandi-Panjang-1", now=t0 + timedelta(seconds=1), client="203.0.113.9")
    assert s.user.username == "korban"
    actions = [r.action for r in mini.audit_rows()]
    assert actions.count("login.failure") == 101 and actions.count("login.success") == 2


def test_unknown_user_and_disabled_account_fail_like_a_wrong_password(mini):
    users.add_user(mini, SYSTEM, "ada", "Sandi-Panjang-1", "viewer")
    users.add_user(mini, SYSTEM, "mati", "Sandi-Panjang-1", "viewer")
    users.update_user(mini, SYSTEM, "mati", active=False)
    refusals = []
    for name, pw in (("siapa", "apa-saja-123"), ("ada", "apa-saja-123"), ("mati", "Sandi-Panjang-1")):
        with pytest.raises(users.LoginFailed) as exc:
            users.login(mini, name, pw)
        refusals.append((exc.value.key, exc.value.message("id"), exc.value.message("en")))
    assert refusals[0] == refusals[1] == refusals[2] and refusals[0][0] == "login.failed"


def test_session_idle_absolute_and_disable(mini):
    users.add_user(mini, SYSTEM, "sesi", "Sandi-Panjang-1", "viewer")
    t0 = utcnow()
    s = users.login(mini, "sesi", "Sandi-Panjang-1", now=t0)
    s = users.check_session(mini, s, now=t0 + timedelta(minutes=29))
    assert s is not None
    assert users.check_session(mini, s, now=t0 + timedelta(minutes=60)) is None  # idle 31 min
    for k in range(1, 18):  # active every 29 minutes (last at 8h13), but the absolute limit is 8 hours
        s = users.check_session(mini, s, now=t0 + timedelta(minutes=29 * k)) if s else None
    assert s is None
    s = users.login(mini, "sesi", "Sandi-Panjang-1")
    users.update_user(mini, SYSTEM, "sesi", active=False)
    assert users.check_session(mini, s) is None


def test_audit_chain_detects_tampering(mini):
    users.add_user(mini, SYSTEM, "a.user", "Sandi-Panjang-1", "viewer")
    rows = mini.audit_rows()
    assert verify_chain(rows) == []
    with mini.cursor() as cur:
        cur.execute("UPDATE audit SET after = '{\"role\":\"admin\"}' WHERE action = 'user.create'")
    bad = verify_chain(mini.audit_rows())
    assert bad and mini.audit_rows()[bad[0] - 1].action == "user.create"


def test_the_last_active_admin_cannot_be_disabled_or_demoted(mini):
    users.add_user(mini, SYSTEM, "admin.satu", "Sandi-Panjang-1", "admin")
    n = mini.audit_count()
    for change in ({"active": False}, {"role": "viewer"}):
        with pytest.raises(ValidationError) as exc:
            users.update_user(mini, SYSTEM, "admin.satu", **change)
        assert exc.value.key == "user.last_admin"
    assert mini.audit_count() == n and users.get_user(mini, "admin.satu").active
    users.add_user(mini, SYSTEM, "admin.dua", "Sandi-Panjang-2", "admin")
    assert not users.update_user(mini, SYSTEM, "admin.satu", active=False).active  # another admin remains
    with pytest.raises(ValidationError):
        users.update_user(mini, SYSTEM, "admin.dua", active=False)
