"""Signing in through the organisation's identity provider (OIDC via Streamlit's st.login).

The identity provider proves who someone is; what they may do is still decided by the core
user with the same name. An identity is mapped to a core account by its e-mail address: the
address itself as the username, else the address's local part ("budi.santoso@kota.go.id" ->
"budi.santoso"). Because a local part alone says nothing about who owns it ("admin@gmail.com"),
only addresses in the configured domains are mapped at all, and an address the provider says
is unverified is refused. No account is created on the fly, a disabled account stays shut, and every
attempt, accepted or refused, is audited like a password sign-in. The password sign-in throttle
(metrics/users.py) does not apply: it slows password guessing, and here the identity provider
has checked the person, so an outsider's wrong passwords cannot keep an SSO user out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from metrics import auth, users
from metrics.store import utcnow

if TYPE_CHECKING:
    from metrics.storage import Storage

MAX_EMAIL = 254  # the longest address SMTP allows


def candidates(email: str | None) -> list[str]:
    """Usernames an e-mail address may map to, in the order they are tried."""
    e = (email or "").strip().lower()
    if not e or "@" not in e:
        return []
    local = e.split("@", 1)[0]
    return [n for n in dict.fromkeys([e, local]) if n]


def domain_of(email: str | None) -> str:
    e = (email or "").strip().lower()
    return e.rsplit("@", 1)[1] if "@" in e else ""


def sso_login(
    store: Storage,
    email: str | None,
    email_verified: bool | None = None,
    allowed_domains: Iterable[str] = (),
    now: datetime | None = None,
) -> users.Session:
    """A session for the core user an identity maps to; LoginFailed (audited) when there is none.

    `allowed_domains`: the organisation's e-mail domains (e.g. {"sukamaju.go.id"}); an address
    outside them, or any address when none are configured, is refused. `email_verified` is the
    provider's claim: False is refused; None (a provider that does not send the claim) is
    accepted, the domain rule still applies.
    """
    now = now or utcnow()
    domains = {d.strip().lower().lstrip("@") for d in allowed_domains if d and d.strip()}
    domain = domain_of(email)
    names = candidates(email)
    row = None
    reason = None
    if email_verified is False:
        reason = "email not verified"
    elif not names or domain not in domains:
        reason = "domain not allowed"
    else:
        row = next((r for r in map(store.get_user_row, names) if r is not None), None)
        if row is None:
            reason = "no matching user"
        elif not row[5]:
            reason = "disabled"
    if reason is not None:
        with store.transaction() as cur:
            store.write_audit(
                cur,
                auth.ANONYMOUS,
                "login.sso_failure",
                f"sso:{users.bounded(email, MAX_EMAIL)}",
                None,
                {"reason": reason},
            )
        if reason == "email not verified":
            raise users.LoginFailed("login.sso_unverified")
        if reason == "domain not allowed":
            raise users.LoginFailed("login.sso_domain", domain=users.bounded(domain, 100) or "–")
        if reason == "disabled":
            raise users.LoginFailed("login.disabled")
        raise users.LoginFailed("login.sso_unknown")
    assert row is not None  # no reason to refuse means a user row was found
    user = users.get_user(store, row[0])
    assert user is not None  # the row just read
    with store.transaction() as cur:
        store.write_audit(
            cur, user, "login.sso", f"user:{user.username}", None, {"email": users.bounded(email, MAX_EMAIL)}
        )
        return users._start_session(store, cur, user, now, "sso")
