"""Server-side sessions, the cookie's one-time ticket, case-insensitive usernames, the attempts-left
warning and city time zones (issue 15, points 2 and 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics import auth, registry, users
from metrics.auth import User
from metrics.errors import PermissionDenied, ValidationError
from metrics.store import utcnow

pytestmark = pytest.mark.both_backends

SYSTEM = User("system", "admin", None, None)
PW = "rahasia-budi-123"  # "rahasia-123" is the common "rahasia" (secret) plus digits


@pytest.fixture
def store(mini):
    users.add_user(mini, SYSTEM, "budi", PW, "viewer")
    return mini


def _cookie(store, sess, now=None):
    return users.redeem_ticket(store, users.issue_ticket(store, sess, now), now)


def test_a_sign_in_is_a_stored_session_whose_cookie_opens_it_in_another_tab(store):
    sess = users.login(store, "budi", PW)
    assert sess.sid is not None
    token = _cookie(store, sess)
    assert token and len(token) >= 43  # 256 bits, url-safe base64
    with store.cursor() as cur:
        stored = cur.execute("SELECT token_hash, ticket_hash FROM sessions").fetchall()
    assert token not in repr(stored) and stored[0][1] is None  # only a hash; the ticket is spent
    other_tab = users.resume_session(store, token)
    assert other_tab is not None and other_tab.user.username == "budi" and other_tab.sid == sess.sid
    assert users.resume_session(store, token + "x") is None


def test_a_ticket_is_single_use_and_expires_within_seconds(store):
    sess = users.login(store, "budi", PW)
    ticket = users.issue_ticket(store, sess)
    assert users.redeem_ticket(store, ticket) is not None
    assert users.redeem_ticket(store, ticket) is None  # spent
    late = users.issue_ticket(store, sess)
    assert users.redeem_ticket(store, late, utcnow() + users.TICKET_VALID + timedelta(seconds=1)) is None


def test_logout_in_one_tab_ends_the_session_in_every_tab(store):
    sess = users.login(store, "budi", PW)
    token = _cookie(store, sess)
    other = users.resume_session(store, token)
    users.logout(store, sess)
    assert users.check_session(store, other) is None
    assert users.resume_session(store, token) is None


@pytest.mark.parametrize("how", ["password", "disable", "end_user", "end_all"])
def test_password_change_disabling_and_end_all_sessions_revoke_it(store, how):
    sess = users.login(store, "budi", PW)
    token = _cookie(store, sess)
    if how == "password":
        users.set_password(store, SYSTEM, "budi", "baru-sekali-123")
    elif how == "disable":
        users.update_user(store, SYSTEM, "budi", active=False)
    elif how == "end_user":
        assert users.end_sessions(store, SYSTEM, "BUDI") == 1
    else:
        assert users.end_sessions(store, SYSTEM) >= 1
    assert users.check_session(store, sess) is None
    assert users.resume_session(store, token) is None
    if how.startswith("end"):
        assert store.audit_rows()[-1].action == "session.end_all"


def test_only_an_admin_ends_sessions(store):
    with pytest.raises(PermissionDenied):
        users.end_sessions(store, User("budi", "viewer", None, None))


def test_idle_and_absolute_timeouts_end_a_resumed_session(store):
    now = utcnow()
    sess = users.login(store, "budi", PW, now)
    token = _cookie(store, sess, now)
    assert users.resume_session(store, token, now + users.IDLE_TIMEOUT - timedelta(minutes=1)) is not None
    assert users.resume_session(store, token, now + users.IDLE_TIMEOUT * 2 + timedelta(minutes=2)) is None
    sess2 = users.login(store, "budi", PW, now)
    tok2 = _cookie(store, sess2, now)
    t = now
    while t < now + users.ABSOLUTE_TIMEOUT - timedelta(minutes=20):  # active all day long
        t += timedelta(minutes=20)
        assert users.resume_session(store, tok2, t) is not None
    assert users.resume_session(store, tok2, now + users.ABSOLUTE_TIMEOUT + timedelta(minutes=1)) is None


def test_usernames_are_case_insensitive_and_old_mixed_case_accounts_still_sign_in(store):
    assert users.login(store, "BuDi", PW).user.username == "budi"
    with pytest.raises(ValidationError) as exc:
        users.add_user(store, SYSTEM, "Budi", PW, "viewer")
    assert exc.value.key == "user.exists"
    assert users.add_user(store, SYSTEM, "Siti.Rahma", PW, "viewer").username == "siti.rahma"
    # an account stored mixed-case by an earlier version
    with store.transaction() as cur:
        store.insert_user(cur, "Andi.Lama", auth.hash_password(PW), "viewer", None, None, "Andi")
    for typed in ("andi.lama", "Andi.Lama", "ANDI.LAMA"):
        assert users.login(store, typed, PW).user.username == "Andi.Lama"
    users.set_password(store, SYSTEM, "andi.lama", "baru-sekali-123")
    assert users.login(store, "andi.lama", "baru-sekali-123").user.username == "Andi.Lama"


def test_attempts_left_counts_down_the_same_for_a_real_and_an_unknown_name(store):
    client = "192.0.2.10"
    for name in ("budi", "tidak.ada"):
        assert users.attempts_left(store, name, client) == users.PAIR_FREE
        for k in range(users.PAIR_FREE):
            with pytest.raises(users.LoginFailed):
                users.login(store, name, "salah-salah", client=client)
            assert users.attempts_left(store, name, client) == users.PAIR_FREE - k - 1
    assert users.attempts_left(store, "budi", "127.0.0.1") is None  # trusted: never slowed


@pytest.mark.parametrize(
    "province,zone",
    [
        ("Jawa Barat", "Asia/Jakarta"),
        ("Kalimantan Barat", "Asia/Jakarta"),
        ("Bali", "Asia/Makassar"),
        ("Sulawesi Selatan", "Asia/Makassar"),
        ("Kalimantan Timur", "Asia/Makassar"),
        ("Papua Pegunungan", "Asia/Jayapura"),
        ("Maluku Utara", "Asia/Jayapura"),
        ("Provinsi Maluku", "Asia/Jayapura"),
        ("", "Asia/Jakarta"),
    ],
)
def test_a_city_time_zone_follows_its_province(province, zone):
    assert registry.timezone_for_province(province) == zone


def test_the_registry_takes_an_optional_time_zone_and_stores_it(mini):
    data = (
        b"city_code,name,province,category,population,timezone\n"
        b"9101,Kota Timur,Papua,kecil,10,\n"
        b"9102,Kota Barat,Papua,kecil,10,Asia/Jakarta\n"
    )
    cities = registry.parse_registry_csv(data, "kota.csv")
    assert [c.tz for c in cities] == ["Asia/Jayapura", "Asia/Jakarta"]
    with store_tx(mini) as cur:
        mini.upsert_cities(cur, cities)
    got = {c.city_code: c.tz for c in mini.cities()}
    assert got["9101"] == "Asia/Jayapura" and got["9102"] == "Asia/Jakarta"
    bad = b"city_code,name,province,category,population,timezone\n9103,Kota X,Bali,kecil,1,Asia/Tokyo\n"
    with pytest.raises(Exception) as exc:
        registry.parse_registry_csv(bad, "kota.csv")
    assert "timezone" in str(exc.value.problems[0].params)


def store_tx(store):
    return store.transaction()
