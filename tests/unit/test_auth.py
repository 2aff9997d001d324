"""Roles, scopes, passwords, the sign-in throttle, sessions and the audit chain, through the core."""

from datetime import timedelta

import pytest

from metrics import auth, users
from metrics.audit import verify_chain
from metrics.auth import ANONYMOUS, SYSTEM, Action, User, can
from metrics.errors import PermissionDenied, ValidationError
from metrics.store import utcnow

pytestmark = pytest.mark.both_backends

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
            users.login(mini, "korban", f"tebak-salah-{k}", now=t0, client="203.0.113.9")
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


# ------------------------------------------------------------ rehash at sign-in (issue 16, point 5)


def _weak_hash(password: str) -> str:
    """A hash as an older release with weaker argon2 parameters would have stored it."""
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash(password)


def _put_hash(store, username: str, pw_hash: str) -> None:
    with store.transaction() as cur:  # the database as an older release left it
        store.update_user(cur, username, pw_hash=pw_hash)


def test_a_hash_made_with_weaker_parameters_is_renewed_at_sign_in(mini):
    users.add_user(mini, SYSTEM, "lama", "Sandi-Lama-Sekali", "viewer")
    weak = _weak_hash("Sandi-Lama-Sekali")
    _put_hash(mini, "lama", weak)
    assert auth.needs_rehash(weak) and auth.verify_password(weak, "Sandi-Lama-Sekali")
    n = mini.audit_count()
    sess = users.login(mini, "lama", "Sandi-Lama-Sekali")
    stored = mini.get_user_row("lama")[1]
    assert stored != weak and not auth.needs_rehash(stored)
    assert auth.hash_parameters(stored) == f"m={auth.ARGON2_MEMORY_KIB},t={auth.ARGON2_TIME},p=1"
    # the renewal is written in the sign-in's own transaction, and audited
    rows = mini.audit_rows()[n:]
    assert [r.action for r in rows] == ["login.success", "user.rehash"]
    assert (rows[1].username, rows[1].object) == ("lama", "user:lama")
    assert users.check_session(mini, sess) is not None  # the new hash ends no session
    # the same password still signs in, and a current hash is not renewed again
    assert users.login(mini, "lama", "Sandi-Lama-Sekali").user.username == "lama"
    assert mini.get_user_row("lama")[1] == stored
    assert [r.action for r in mini.audit_rows()[n:]] == ["login.success", "user.rehash", "login.success"]
    with pytest.raises(users.LoginFailed):
        users.login(mini, "lama", "Sandi-Salah-Sekali")
    assert mini.get_user_row("lama")[1] == stored


def test_raising_the_parameters_reaches_existing_accounts_at_their_next_sign_in(mini, monkeypatch):
    users.add_user(mini, SYSTEM, "lama", "Sandi-Lama-Sekali", "viewer")
    before = mini.get_user_row("lama")[1]
    auth._hasher.cache_clear()
    monkeypatch.setattr(auth, "ARGON2_TIME", auth.ARGON2_TIME + 1)
    try:
        assert auth.needs_rehash(before)
        users.login(mini, "lama", "Sandi-Lama-Sekali")
        after = mini.get_user_row("lama")[1]
        assert f"t={auth.ARGON2_TIME}," in after and not auth.needs_rehash(after)
        assert users.login(mini, "lama", "Sandi-Lama-Sekali").user.username == "lama"
    finally:
        auth._hasher.cache_clear()


def test_a_failed_sign_in_never_renews_the_hash(mini):
    users.add_user(mini, SYSTEM, "lama", "Sandi-Lama-Sekali", "viewer")
    weak = _weak_hash("Sandi-Lama-Sekali")
    _put_hash(mini, "lama", weak)
    with pytest.raises(users.LoginFailed):
        users.login(mini, "lama", "Sandi-Salah-Sekali")
    users.update_user(mini, SYSTEM, "lama", active=False)
    with pytest.raises(users.LoginFailed):
        users.login(mini, "lama", "Sandi-Lama-Sekali")  # right password, disabled account
    assert mini.get_user_row("lama")[1] == weak
    assert "user.rehash" not in {r.action for r in mini.audit_rows()}


def test_a_password_changed_meanwhile_is_not_put_back_by_a_renewal(mini):
    users.add_user(mini, SYSTEM, "lama", "Sandi-Lama-Sekali", "viewer")
    weak = _weak_hash("Sandi-Lama-Sekali")
    _put_hash(mini, "lama", weak)
    users.set_password(mini, SYSTEM, "lama", "Sandi-Baru-Sekali")  # between the check and the write
    changed = mini.get_user_row("lama")[1]
    with mini.transaction() as cur:
        users._store_rehash(mini, cur, users.get_user(mini, "lama"), weak, auth.rehash_password("x" * 8))
    assert mini.get_user_row("lama")[1] == changed
    assert users.login(mini, "lama", "Sandi-Baru-Sekali").user.username == "lama"
