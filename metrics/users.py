"""User accounts and sign-in, with the throttle and session rules enforced in the core.

A sign-in starts a server-side session: a row in `sessions` with the user, when it started, when
it was last seen and when it expires. The browser holds it as a random 256-bit token in a cookie
(set by ui/asgi.py, exchanged for a one-time ticket: see `issue_ticket`/`redeem_ticket`); only the
token's hash is stored. Every rerun of every tab asks `check_session` (or `resume_session` for a new
tab or a reload), so idle and absolute timeouts, logout, a password change, a disabled account and
an admin's "end all sessions" end the session everywhere at the next interaction.

Usernames are case-insensitive: new ones are stored in lower case, and a lookup matches any case
(an account created mixed-case before this rule keeps working).

Failed sign-ins slow down the client that makes them instead of locking the account: a lock
that anyone can trigger by typing a name keeps its owner out, and the admin's name is no secret.
Delays grow per (client address, name typed); one client is also slowed across names (password
spraying); and every client is slowed a little, never beyond ACCOUNT_CAP, once a name sees many
failures from many addresses. Trusted addresses are never slowed, and a one-time unlock code
printed by `python -m metrics user unlock NAME` lets its holder past every delay once. An
unknown name, a disabled account, a wrong password and a throttled attempt all get the same
answer, after the same argon2 work, so neither text nor timing tells whether a name exists.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from metrics import auth
from metrics.auth import Action, User, require
from metrics.errors import CoreError, ValidationError
from metrics.store import utcnow

if TYPE_CHECKING:
    import pandas as pd

    from metrics.storage import Cursor, Storage

    Network = ipaddress.IPv4Network | ipaddress.IPv6Network

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=8)
SESSION_TOKEN_BYTES = 32  # 256 random bits in the cookie
TICKET_VALID = timedelta(seconds=20)  # the one-time ticket that has the cookie set, used within seconds
LAST_SEEN_STEP = timedelta(minutes=1)  # last_seen is written at most this often (not on every rerun)

# The throttle. Each rule counts recorded failures since its window began and, past `free` of
# them, asks for 1, 2, 4 ... seconds (at most `cap`) after the latest before the next attempt.
PAIR_FREE, PAIR_CAP, PAIR_WINDOW = 3, 900.0, timedelta(hours=24)  # one client, one name
CLIENT_FREE, CLIENT_CAP, CLIENT_WINDOW = 30, 900.0, timedelta(hours=24)  # one client, all names
# all clients, one name: what a client that never failed may be asked to wait because of others
ACCOUNT_FREE, ACCOUNT_CAP, ACCOUNT_WINDOW = 10, 30.0, timedelta(minutes=15)
FAILURE_RETENTION = max(PAIR_WINDOW, CLIENT_WINDOW, ACCOUNT_WINDOW)

TRUSTED_ENV = "SMARTCITY_TRUSTED_ADDRESSES"
DEFAULT_TRUSTED = "127.0.0.1,::1"
NO_CLIENT = "-"  # callers that know no address (the CLI, tests) share one throttle key

MAX_LOGIN_PASSWORD = 1024  # longer than any password the policy lets be set; refused unread
MAX_CLIENT = 64
UNLOCK_VALID = timedelta(minutes=30)
UNLOCK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a terminal
UNLOCK_LENGTH = 16  # 80 bits


class LoginFailed(CoreError):
    """Sign-in refused. A password sign-in gets the same key and text whatever the reason (the
    audit row says which); SSO refusals (metrics/sso.py) say why, to the verified person."""


def bounded(text: object, limit: int) -> str:
    """`text` as storable, loggable text of at most `limit` characters (plus a marker saying how
    much was cut): characters that cannot be stored or displayed become U+FFFD."""
    s = "" if text is None else str(text)
    cut = len(s) - limit
    s = s[:limit].encode("utf-8", "replace").decode("utf-8")
    s = "".join(c if c.isprintable() else "\ufffd" for c in s)
    return f"{s}…(+{cut})" if cut > 0 else s


def trusted_networks() -> list[Network]:
    """$SMARTCITY_TRUSTED_ADDRESSES (comma-separated IPs or CIDRs; empty: none), default loopback.
    An entry that does not parse is skipped: a typo can only trust less."""
    nets: list[Network] = []
    for part in os.environ.get(TRUSTED_ENV, DEFAULT_TRUSTED).split(","):
        try:
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue
    return nets


def is_trusted(client: str | None) -> bool:
    if not client:
        return False
    try:
        addr = ipaddress.ip_address(client)
    except ValueError:
        return False
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return any(addr in net for net in trusted_networks())


def _user_from_row(row: Sequence[Any]) -> User:
    return User(
        username=row[0],
        role=row[2],
        city_code=row[3],
        opd_code=row[4],
        active=bool(row[5]),
        display_name=row[6] or row[0],
    )


def get_user(store: Storage, username: str) -> User | None:
    row = store.get_user_row(username)
    return _user_from_row(row) if row else None


def add_user(
    store: Storage,
    actor: User,
    username: str,
    password: str,
    role: str,
    city: str | None = None,
    opd: str | None = None,
    display_name: str = "",
) -> User:
    require(actor, Action.MANAGE_USERS, city)
    username = username.lower() if isinstance(username, str) else username
    auth.validate_new_user(username, role, city, opd, display_name)
    if store.get_user_row(username):  # any case: "Budi" and "budi" are one name
        raise ValidationError("user.exists", name=username)
    if opd and (city, opd) not in store.opd_map():
        raise ValidationError("cell.unknown_opd", value=opd, city=city)
    pw_hash = auth.hash_password(password, demo_database=is_demo_database(store))
    with store.transaction() as cur:
        store.insert_user(cur, username, pw_hash, role, city, opd, display_name or username)
        store.write_audit(
            cur,
            actor,
            "user.create",
            f"user:{username}",
            None,
            {"role": role, "city": city, "opd": opd, "display_name": display_name or username},
        )
    return _stored_user(store, username)


def _stored_user(store: Storage, username: str) -> User:
    user = get_user(store, username)
    if user is None:  # just written in a committed transaction
        raise ValidationError("user.unknown", name=username)
    return user


def is_demo_database(store: Storage) -> bool:
    """True only in a database that `metrics.demo.install` filled: there the published demo
    password is allowed; anywhere else it is refused like a common one."""
    return store.get_setting(auth.DEMO_SETTING, "false") == "true"


def has_accounts(store: Storage) -> bool:
    """Whether any account exists: a database made by `python -m metrics init` has none until the
    operator creates the first admin (`python -m metrics user add NAME --role admin`)."""
    return len(store.users_frame()) > 0


def set_password(store: Storage, actor: User, username: str, password: str) -> None:
    row = store.get_user_row(username)
    if not row:
        raise ValidationError("user.unknown", name=username)
    username = row[0]  # as stored, whatever case was typed
    if actor.username != username:
        require(actor, Action.MANAGE_USERS, row[3])
    pw_hash = auth.hash_password(password, demo_database=is_demo_database(store))
    with store.transaction() as cur:
        # a password change ends every session of that account, in every tab
        store.update_user(cur, username, pw_hash=pw_hash, sessions_valid_after=utcnow())
        store.delete_sessions(cur, username)
        store.write_audit(cur, actor, "user.password", f"user:{username}", None, {"changed": True})


def update_user(
    store: Storage,
    actor: User,
    username: str,
    *,
    role: str | None = None,
    city: str | None = None,
    opd: str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
) -> User:
    row = store.get_user_row(username)
    if not row:
        raise ValidationError("user.unknown", name=username)
    require(actor, Action.MANAGE_USERS, row[3])
    username = row[0]  # as stored, whatever case was typed
    before: dict[str, Any] = {
        "role": row[2],
        "city": row[3],
        "opd": row[4],
        "active": bool(row[5]),
        "display_name": row[6],
    }
    after = dict(before)
    for k, v in (
        ("role", role),
        ("city", city),
        ("opd", opd),
        ("active", active),
        ("display_name", display_name),
    ):
        if v is not None:
            after[k] = v
    auth.validate_new_user(
        username.lower(), after["role"], after["city"], after["opd"], after["display_name"]
    )
    with store.transaction() as cur:
        still_admin = after["role"] == "admin" and after["active"]
        if (
            before["role"] == "admin"
            and before["active"]
            and not still_admin
            and store.other_active_admins(cur, username) == 0
        ):
            # nobody could manage users, periods or backups any more (short of the server shell);
            # counted inside the transaction so two concurrent demotions cannot both pass
            raise ValidationError("user.last_admin", name=username)
        fields: dict[str, object] = {
            "role": after["role"],
            "city_code": after["city"],
            "opd_code": after["opd"],
            "active": after["active"],
            "display_name": after["display_name"],
        }
        if not after["active"] and before["active"]:
            fields["sessions_valid_after"] = utcnow()  # disabling ends sessions at the next rerun
            store.delete_sessions(cur, username)
        store.update_user(cur, username, **fields)
        store.write_audit(cur, actor, "user.update", f"user:{username}", before, after)
    return _stored_user(store, username)


def list_users(store: Storage, actor: User) -> pd.DataFrame:
    require(actor, Action.MANAGE_USERS)
    df: pd.DataFrame = store.users_frame()
    if actor.city_code is not None:
        df = df[df["city_code"] == actor.city_code]
    return df


@dataclass(frozen=True)
class Session:
    user: User
    started_at: datetime
    last_seen: datetime
    sid: str | None = None  # the server-side row; None only for sessions made by hand in tests


def _hash(secret: str) -> str:
    # 256 random bits need no slow hash; a digest keeps the stored value useless to a reader
    return hashlib.sha256(secret.encode()).hexdigest()


def _start_session(store: Storage, cur: Cursor, user: User, now: datetime, client: str) -> Session:
    sid = secrets.token_hex(16)
    store.insert_session(cur, sid, user.username, now, now + ABSOLUTE_TIMEOUT, client)
    return Session(user, now, now, sid)


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt as the throttle sees it: the name typed and the client, both bounded."""

    account: str  # lower-cased, at most MAX_USERNAME characters (+ a marker when cut)
    client: str  # the address, or NO_CLIENT
    lookup: str | None  # the name to look up, None when it cannot be a username at all
    trusted: bool


def _attempt(username: str | None, client: str | None) -> Attempt:
    typed = (username or "").strip().lower()
    account = bounded(typed, auth.MAX_USERNAME)
    return Attempt(
        account,
        bounded(client, MAX_CLIENT) if client else NO_CLIENT,
        typed if account == typed and auth.USERNAME_RE.fullmatch(typed) else None,
        is_trusted(client),
    )


def _backoff(count: int, latest: datetime | None, free: int, cap: float, now: datetime) -> float:
    """Seconds still to wait after `count` failures, the latest at `latest`."""
    if latest is None or count < free:
        return 0.0
    return max(0.0, (latest - now).total_seconds() + min(2.0 ** (count - free), cap))


def throttle_wait(store: Storage, username: str, client: str | None, now: datetime | None = None) -> float:
    """Seconds `client` must wait before trying `username` again (0: it may try now)."""
    return _wait(store, _attempt(username, client), now or utcnow())


def _wait(store: Storage, attempt: Attempt, now: datetime) -> float:
    if attempt.trusted:
        return 0.0
    pc, pl, cc, cl, ac, al = store.login_failure_stats(
        attempt.client, attempt.account, now - PAIR_WINDOW, now - CLIENT_WINDOW, now - ACCOUNT_WINDOW
    )
    return max(
        _backoff(pc, pl, PAIR_FREE, PAIR_CAP, now),
        _backoff(cc, cl, CLIENT_FREE, CLIENT_CAP, now),
        _backoff(ac, al, ACCOUNT_FREE, ACCOUNT_CAP, now),
    )


def _refusal(wait: float) -> LoginFailed:
    return (
        LoginFailed("login.failed_wait", seconds=math.ceil(wait)) if wait > 0 else LoginFailed("login.failed")
    )


def _code_hash(code: str) -> str:
    return _hash(code)


def _normal_code(code: str | None) -> str | None:
    c = "".join(ch for ch in (code or "")[:64].upper() if ch.isalnum())
    return c if len(c) == UNLOCK_LENGTH else None


def issue_unlock_code(
    store: Storage, actor: User, username: str, now: datetime | None = None
) -> tuple[str, datetime]:
    """A one-time code that lets `username` past the sign-in throttle once, with the right
    password, within UNLOCK_VALID; it clears that account's throttle when used. Only the hash
    is stored; a new code replaces the previous one. Printed by `python -m metrics user unlock`."""
    now = now or utcnow()
    row = store.get_user_row(username) if auth.USERNAME_RE.fullmatch((username or "").lower()) else None
    if not row:
        raise ValidationError("user.unknown", name=bounded(username, auth.MAX_USERNAME))
    require(actor, Action.MANAGE_USERS, row[3])
    code = "".join(secrets.choice(UNLOCK_ALPHABET) for _ in range(UNLOCK_LENGTH))
    expires = now + UNLOCK_VALID
    with store.transaction() as cur:
        store.put_unlock_code(cur, row[0].lower(), _code_hash(code), expires, actor.username)
        store.write_audit(
            cur,
            actor,
            "user.unlock_code",
            f"user:{row[0]}",
            None,
            {"expires_at": expires.isoformat(timespec="seconds")},
        )
    return "-".join(code[i : i + 4] for i in range(0, UNLOCK_LENGTH, 4)), expires


def login(
    store: Storage,
    username: str,
    password: str,
    now: datetime | None = None,
    *,
    client: str | None = None,
    unlock_code: str | None = None,
) -> Session:
    """Check credentials, throttled by `client` (the browser's address) and the name typed.

    Raises LoginFailed with one key and text for every refusal; the audit row (one per attempt)
    records why, with the name and address cut to a bounded length.
    """
    now = now or utcnow()
    at = _attempt(username, client)
    code = _normal_code(unlock_code)
    unlocking = (
        code is not None
        and at.lookup is not None
        and store.unlock_code_valid(at.lookup, _code_hash(code), now)
    )
    wait = 0.0 if unlocking else _wait(store, at, now)
    row = store.get_user_row(at.lookup) if at.lookup is not None and wait == 0 else None
    pw = password if isinstance(password, str) and len(password) <= MAX_LOGIN_PASSWORD else None
    # one argon2 verification on every path, so the time taken says nothing about the account
    ok = auth.verify_password(row[1] if row else auth.dummy_hash(), pw if pw is not None else "")
    if wait > 0:
        reason = "throttled"
    elif row is None:
        reason = "unknown user"
    elif not row[5]:
        reason = "disabled"
    elif not ok or pw is None:
        reason = "password"
    else:
        reason = None
    obj = f"user:{at.account}"
    if reason is not None or row is None:  # (row is None only with a reason: for the type checker)
        with store.transaction() as cur:
            if reason != "throttled":  # a throttled attempt was not a guess: it does not add to the delay
                store.add_login_failure(cur, now, at.client, at.account, now - FAILURE_RETENTION)
            store.write_audit(
                cur,
                auth.ANONYMOUS,
                "login.failure",
                obj,
                None,
                {"reason": reason, "client": at.client, "unlock_code": code is not None},
            )
        raise _refusal(wait if reason == "throttled" else _wait(store, at, now))
    user = _user_from_row(row)
    # the argon2 parameters were raised since this hash was made: hash again with today's, before
    # the transaction so that it does not hold the write lock through the work
    rehashed = auth.rehash_password(pw) if pw is not None and auth.needs_rehash(row[1]) else None
    with store.transaction() as cur:
        if unlocking and at.lookup is not None:
            store.use_unlock_code(cur, at.lookup)
        # an unlock code clears the account's throttle for every client; else only this one's
        store.clear_login_failures(cur, at.account, None if unlocking else at.client)
        store.write_audit(cur, user, "login.success", obj, None, {"client": at.client, "unlocked": unlocking})
        if rehashed is not None:
            _store_rehash(store, cur, user, row[1], rehashed)
        return _start_session(store, cur, user, now, at.client)


def _store_rehash(store: Storage, cur: Cursor, user: User, old_hash: str, new_hash: str) -> None:
    """Replace the hash just verified by one with today's parameters, in the sign-in's own
    transaction, and audit it (a write of a credential, like every other). Only if the hash is
    still the one verified: a password changed meanwhile must not be put back. Sessions stay."""
    current = store.get_user_row(user.username, cur)
    if current is None or current[1] != old_hash:
        return
    store.update_user(cur, current[0], pw_hash=new_hash)
    store.write_audit(
        cur,
        user,
        "user.rehash",
        f"user:{current[0]}",
        {"parameters": auth.hash_parameters(old_hash)},
        {"parameters": auth.hash_parameters(new_hash)},
    )


def attempts_left(
    store: Storage, username: str, client: str | None, now: datetime | None = None
) -> int | None:
    """Failed sign-ins this client may still make with this typed name before it is asked to wait;
    None when it is never slowed (a trusted address). Counted from the throttle's own rows for the
    name as typed, so it reads the same whether or not such an account exists."""
    at = _attempt(username, client)
    if at.trusted:
        return None
    now = now or utcnow()
    pc, _, cc, _, _, _ = store.login_failure_stats(
        at.client, at.account, now - PAIR_WINDOW, now - CLIENT_WINDOW, now - ACCOUNT_WINDOW
    )
    return max(0, min(PAIR_FREE - int(pc), CLIENT_FREE - int(cc)))


def _live(store: Storage, srow: Sequence[Any] | None, now: datetime) -> Session | None:
    """The session of row `srow` (from store.get_session), refreshed, or None when it has ended:
    idle, past its absolute expiry, account disabled or gone, or ended since it started."""
    if srow is None:
        return None
    sid, username, created_at, last_seen, expires_at, _ = srow
    if now - last_seen > IDLE_TIMEOUT or now >= expires_at or now - created_at > ABSOLUTE_TIMEOUT:
        return None
    row = store.get_user_row(username)
    if row is None or not row[5]:
        return None
    if row[9] is not None and created_at < row[9]:
        return None
    if now - last_seen >= LAST_SEEN_STEP:
        with store.transaction() as cur:
            store.touch_session(cur, sid, now)
        last_seen = now
    return Session(_user_from_row(row), created_at, last_seen, sid)


def check_session(store: Storage, session: Session, now: datetime | None = None) -> Session | None:
    """The session refreshed, or None when it must end (idle, too old, account disabled/changed,
    logged out or ended by an admin in any tab)."""
    now = now or utcnow()
    if session.sid is not None:
        return _live(store, store.get_session(session.sid), now)
    # a session made by hand (tests): the same timeouts and account checks, nothing stored
    if now - session.last_seen > IDLE_TIMEOUT or now - session.started_at > ABSOLUTE_TIMEOUT:
        return None
    row = store.get_user_row(session.user.username)
    if row is None or not row[5]:
        return None
    valid_after = row[9]
    if valid_after is not None and session.started_at < valid_after:
        return None
    user = _user_from_row(row)
    return Session(user, session.started_at, now)


def resume_session(store: Storage, token: str | None, now: datetime | None = None) -> Session | None:
    """The live session whose cookie token is `token` (a reload, a new tab), else None."""
    if not token or not isinstance(token, str) or len(token) > 128:
        return None
    return _live(store, store.session_by_token(_hash(token)), now or utcnow())


def issue_ticket(store: Storage, session: Session, now: datetime | None = None) -> str | None:
    """A one-time ticket, valid for TICKET_VALID, that ui/asgi.py exchanges for the session's
    cookie token. It travels in the body of one same-origin POST, never in a URL; only its hash is
    stored, and a new ticket replaces the last. None for a session with no server-side row."""
    if session.sid is None:
        return None
    now = now or utcnow()
    ticket = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    with store.transaction() as cur:
        store.set_session_ticket(cur, session.sid, _hash(ticket), now + TICKET_VALID)
    return ticket


def redeem_ticket(store: Storage, ticket: str | None, now: datetime | None = None) -> str | None:
    """The cookie token for a ticket from `issue_ticket`: a fresh random token whose hash replaces
    the session's last one. The ticket is spent whether or not it was still valid; None when it is
    unknown, spent, expired or its session has ended."""
    if not ticket or not isinstance(ticket, str) or len(ticket) > 128:
        return None
    now = now or utcnow()
    with store.transaction() as cur:
        srow = store.session_by_ticket(cur, _hash(ticket))
        if srow is None:
            return None
        if srow[5] is None or now >= srow[5]:
            store.set_session_ticket(cur, srow[0], None, None)
            return None
        token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
        store.set_session_token(cur, srow[0], _hash(token))
    if _live(store, store.get_session(srow[0]), now) is None:
        with store.transaction() as cur:
            store.set_session_token(cur, srow[0], None)
        return None
    return token


def logout(store: Storage, session: Session) -> None:
    """End the session in every tab that holds it (the cookie no longer opens anything)."""
    with store.transaction() as cur:
        if session.sid is not None:
            store.delete_session(cur, session.sid)
        store.write_audit(cur, session.user, "logout", f"user:{session.user.username}")


def logout_token(store: Storage, token: str | None) -> None:
    """End the session a cookie token opens (the sign-out route clears the cookie too)."""
    if not token or not isinstance(token, str) or len(token) > 128:
        return
    srow = store.session_by_token(_hash(token))
    if srow is not None:
        with store.transaction() as cur:
            store.delete_session(cur, srow[0])


def end_sessions(
    store: Storage, actor: User, username: str | None = None, now: datetime | None = None
) -> int:
    """An admin ends sessions at once: one user's, or (username None) every user's the admin
    manages (a city admin: the city's users). Audited with how many were open; every tab holding
    one is signed out at its next interaction. Returns that number."""
    now = now or utcnow()
    if username is not None:
        row = store.get_user_row(username) if auth.USERNAME_RE.fullmatch((username or "").lower()) else None
        if not row:
            raise ValidationError("user.unknown", name=bounded(username, auth.MAX_USERNAME))
        require(actor, Action.MANAGE_USERS, row[3])
        name, city, obj = row[0], None, f"user:{row[0]}"
    else:
        require(actor, Action.MANAGE_USERS, actor.city_code)
        name, city, obj = (
            None,
            actor.city_code,
            f"city:{actor.city_code}" if actor.city_code else "sessions:*",
        )
    with store.transaction() as cur:
        n = int(store.delete_sessions(cur, name, city, before=now))
        store.write_audit(cur, actor, "session.end_all", obj, None, {"ended": n})
    return n
