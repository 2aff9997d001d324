"""User accounts and sign-in, with the lockout and session rules enforced in the core.

The dashboard keeps a session in its own state, but every rerun asks `check_session` here,
so a disabled account or an expired session ends the same way whichever front end is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from metrics import auth
from metrics.auth import Action, User, require
from metrics.errors import CoreError, ValidationError
from metrics.store import utcnow

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=8)


class LoginFailed(CoreError):
    """Wrong credentials, a locked or a disabled account (the message says which it may say)."""


def _user_from_row(row) -> User:
    return User(username=row[0], role=row[2], city_code=row[3], opd_code=row[4], active=bool(row[5]),
                display_name=row[6] or row[0])


def get_user(store, username: str) -> User | None:
    row = store.get_user_row(username)
    return _user_from_row(row) if row else None


def add_user(store, actor: User, username: str, password: str, role: str, city: str | None = None,
             opd: str | None = None, display_name: str = "") -> User:
    require(actor, Action.MANAGE_USERS, city)
    auth.validate_new_user(username, role, city, opd)
    if store.get_user_row(username):
        raise ValidationError("user.exists", name=username)
    if opd and (city, opd) not in store.opd_map():
        raise ValidationError("cell.unknown_opd", value=opd, city=city)
    pw_hash = auth.hash_password(password)
    with store.transaction() as cur:
        store.insert_user(cur, username, pw_hash, role, city, opd, display_name or username)
        store.write_audit(cur, actor, "user.create", f"user:{username}", None,
                          {"role": role, "city": city, "opd": opd, "display_name": display_name or username})
    return get_user(store, username)


def set_password(store, actor: User, username: str, password: str) -> None:
    row = store.get_user_row(username)
    if not row:
        raise ValidationError("user.unknown", name=username)
    if actor.username != username:
        require(actor, Action.MANAGE_USERS, row[3])
    pw_hash = auth.hash_password(password)
    with store.transaction() as cur:
        # a password change ends every other session of that account
        store.update_user(cur, username, pw_hash=pw_hash, failed_count=0, locked_until=None,
                          sessions_valid_after=utcnow())
        store.write_audit(cur, actor, "user.password", f"user:{username}", None, {"changed": True})


def update_user(store, actor: User, username: str, *, role: str | None = None, city: str | None = None,
                opd: str | None = None, active: bool | None = None, display_name: str | None = None) -> User:
    row = store.get_user_row(username)
    if not row:
        raise ValidationError("user.unknown", name=username)
    require(actor, Action.MANAGE_USERS, row[3])
    before = {"role": row[2], "city": row[3], "opd": row[4], "active": bool(row[5]), "display_name": row[6]}
    after = dict(before)
    for k, v in (("role", role), ("city", city), ("opd", opd), ("active", active), ("display_name", display_name)):
        if v is not None:
            after[k] = v
    auth.validate_new_user(username, after["role"], after["city"], after["opd"])
    with store.transaction() as cur:
        still_admin = after["role"] == "admin" and after["active"]
        if before["role"] == "admin" and before["active"] and not still_admin \
                and store.other_active_admins(cur, username) == 0:
            # nobody could manage users, periods or backups any more (short of the server shell);
            # counted inside the transaction so two concurrent demotions cannot both pass
            raise ValidationError("user.last_admin", name=username)
        fields = {"role": after["role"], "city_code": after["city"], "opd_code": after["opd"],
                  "active": after["active"], "display_name": after["display_name"]}
        if not after["active"] and before["active"]:
            fields["sessions_valid_after"] = utcnow()  # disabling ends sessions at the next rerun
        if after["active"] and not before["active"]:
            fields.update(failed_count=0, locked_until=None)
        store.update_user(cur, username, **fields)
        store.write_audit(cur, actor, "user.update", f"user:{username}", before, after)
    return get_user(store, username)


def list_users(store, actor: User):
    require(actor, Action.MANAGE_USERS)
    df = store.users_frame()
    if actor.city_code is not None:
        df = df[df["city_code"] == actor.city_code]
    return df


@dataclass(frozen=True)
class Session:
    user: User
    started_at: datetime
    last_seen: datetime


def login(store, username: str, password: str, now: datetime | None = None) -> Session:
    """Check credentials; five failures lock the account for 15 minutes. Audited either way."""
    now = now or utcnow()
    row = store.get_user_row(username)
    if row is None:
        auth.verify_password(auth.dummy_hash(), password)  # same cost as a real check
        with store.transaction() as cur:
            store.write_audit(cur, auth.ANONYMOUS, "login.failure", f"user:{username}", None,
                              {"reason": "unknown user"})
        raise LoginFailed("login.failed")
    locked_until = row[8]
    if locked_until is not None and locked_until > now:
        with store.transaction() as cur:
            store.write_audit(cur, auth.ANONYMOUS, "login.failure", f"user:{username}", None,
                              {"reason": "locked"})
        raise LoginFailed("login.locked", until=locked_until.strftime("%H:%M UTC"))
    if not row[5]:
        with store.transaction() as cur:
            store.write_audit(cur, auth.ANONYMOUS, "login.failure", f"user:{username}", None,
                              {"reason": "disabled"})
        raise LoginFailed("login.disabled")
    if not auth.verify_password(row[1], password):
        failures = (row[7] or 0) + 1
        fields: dict = {"failed_count": failures}
        if failures >= MAX_FAILURES:
            fields.update(failed_count=0, locked_until=now + LOCKOUT)
        with store.transaction() as cur:
            store.update_user(cur, username, **fields)
            store.write_audit(cur, auth.ANONYMOUS, "login.failure", f"user:{username}", None,
                              {"reason": "password", "failures": failures,
                               "locked": failures >= MAX_FAILURES})
        raise LoginFailed("login.failed")
    user = _user_from_row(row)
    with store.transaction() as cur:
        store.update_user(cur, username, failed_count=0, locked_until=None)
        store.write_audit(cur, user, "login.success", f"user:{username}")
    return Session(user, now, now)


def check_session(store, session: Session, now: datetime | None = None) -> Session | None:
    """The session refreshed, or None when it must end (idle, too old, account disabled/changed)."""
    now = now or utcnow()
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


def logout(store, session: Session) -> None:
    with store.transaction() as cur:
        store.write_audit(cur, session.user, "logout", f"user:{session.user.username}")
