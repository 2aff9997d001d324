"""Signing in through the organisation's identity provider (OIDC via Streamlit's st.login).

The identity provider proves who someone is; what they may do is still decided by the core
user with the same name. An identity is mapped to a core account by its e-mail address used
as the username, else by the address's local part ("budi.santoso@kota.go.id" -> "budi.santoso").
No account is created on the fly, a disabled or locked account stays shut, and every attempt
is audited like a password sign-in.
"""

from __future__ import annotations

from datetime import datetime

from metrics import auth, users
from metrics.store import utcnow


def candidates(email: str | None) -> list[str]:
    """Usernames an e-mail address may map to, in the order they are tried."""
    e = (email or "").strip().lower()
    if not e or "@" not in e:
        return []
    local = e.split("@", 1)[0]
    return [n for n in dict.fromkeys([e, local]) if n]


def sso_login(store, email: str | None, email_verified: bool | None = None,
              now: datetime | None = None) -> users.Session:
    """A session for the core user an identity maps to; LoginFailed when there is none."""
    now = now or utcnow()
    names = candidates(email)
    row = next((r for r in map(store.get_user_row, names) if r is not None), None)
    reason = None
    if email_verified is False:
        reason = "email not verified"
    elif row is None:
        reason = "no matching user"
    elif not row[5]:
        reason = "disabled"
    elif row[8] is not None and row[8] > now:
        reason = "locked"
    if reason is not None:
        with store.transaction() as cur:
            store.write_audit(cur, auth.ANONYMOUS, "login.sso_failure", f"sso:{(email or '')[:200]}", None,
                              {"reason": reason})
        if reason == "disabled":
            raise users.LoginFailed("login.disabled")
        if reason == "locked":
            raise users.LoginFailed("login.locked", until=row[8].strftime("%H:%M UTC"))
        raise users.LoginFailed("login.sso_unknown")
    user = users.get_user(store, row[0])
    with store.transaction() as cur:
        store.write_audit(cur, user, "login.sso", f"user:{user.username}", None, {"email": email})
    return users.Session(user, now, now)
