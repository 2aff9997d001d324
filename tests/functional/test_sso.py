"""Single sign-on mapping (metrics.sso): an OIDC e-mail identity becomes a core session or is refused.

Runs on a copy of the demo database; every attempt must leave exactly one audit row.
"""

from __future__ import annotations

import pytest

from metrics import sso, users
from metrics.auth import SYSTEM
from metrics.store import utcnow
from tests.apptest_support import t

DOMAINS = ("sukamaju.go.id",)


def last_audit(store):
    return store.audit_rows()[-1]


def test_candidates_are_the_address_then_its_local_part():
    assert sso.candidates(" Budi.Santoso@Kota.go.id ") == ["budi.santoso@kota.go.id", "budi.santoso"]
    assert sso.candidates("") == [] and sso.candidates(None) == [] and sso.candidates("no-at-sign") == []


def test_identity_maps_to_the_core_user_and_is_audited(demo_store):
    before = demo_store.audit_count()
    sess = sso.sso_login(demo_store, "Walikota@Sukamaju.go.id", True, DOMAINS)
    assert (
        sess.user.username == "walikota" and sess.user.role == "executive" and sess.user.city_code == "3299"
    )
    assert sess.started_at == sess.last_seen
    assert demo_store.audit_count() == before + 1
    row = last_audit(demo_store)
    assert (row.username, row.action, row.object) == ("walikota", "login.sso", "user:walikota")
    # the session is an ordinary core session: the rerun check accepts it
    assert users.check_session(demo_store, sess) is not None


def test_provider_without_email_verified_claim_is_accepted(demo_store):
    assert sso.sso_login(demo_store, "opd.kominfo@sukamaju.go.id", None, DOMAINS).user.opd_code == "01"


@pytest.mark.parametrize(
    "email, verified, domains, key, reason",
    [
        ("walikota@sukamaju.go.id", False, DOMAINS, "login.sso_unverified", "email not verified"),
        ("nobody@sukamaju.go.id", True, DOMAINS, "login.sso_unknown", "no matching user"),
        ("admin@gmail.com", True, DOMAINS, "login.sso_domain", "domain not allowed"),
        ("admin@sukamaju.go.id.evil.com", True, DOMAINS, "login.sso_domain", "domain not allowed"),
        ("admin@sukamaju.go.id", True, (), "login.sso_domain", "domain not allowed"),  # none configured
        ("", True, DOMAINS, "login.sso_domain", "domain not allowed"),
    ],
    ids=["unverified", "unknown", "foreign-domain", "look-alike-domain", "no-domains-configured", "no-email"],
)
def test_refusals_are_clear_and_audited(demo_store, email, verified, domains, key, reason):
    before = demo_store.audit_count()
    with pytest.raises(users.LoginFailed) as exc:
        sso.sso_login(demo_store, email, verified, domains)
    assert exc.value.key == key
    assert exc.value.message("id") and exc.value.message("en")
    assert demo_store.audit_count() == before + 1
    row = last_audit(demo_store)
    assert (row.username, row.action) == ("anonymous", "login.sso_failure")
    assert f'"{reason}"' in row.after


def test_disabled_user_is_refused(demo_store):
    users.update_user(demo_store, SYSTEM, "tamu", active=False)
    before = demo_store.audit_count()
    with pytest.raises(users.LoginFailed) as exc:
        sso.sso_login(demo_store, "tamu@sukamaju.go.id", True, DOMAINS)
    assert exc.value.key == "login.disabled"
    assert demo_store.audit_count() == before + 1
    assert '"disabled"' in last_audit(demo_store).after


def test_wrong_passwords_from_an_outsider_do_not_keep_an_sso_user_out(demo_store):
    # the password throttle slows guessing; the identity provider has already checked this person
    now = utcnow()
    for _ in range(20):
        with pytest.raises(users.LoginFailed):
            users.login(demo_store, "penilai", "wrong password!", now, client="203.0.113.9")
    assert users.throttle_wait(demo_store, "penilai", "203.0.113.9", now) > 0
    assert (
        sso.sso_login(demo_store, "penilai@sukamaju.go.id", True, DOMAINS, now=now).user.username == "penilai"
    )


def test_the_audited_address_is_bounded(demo_store):
    # the provider's claim is stored in the audit row: a megabyte-long address is cut first
    email = "walikota@" + "x" * 1_000_000 + "@sukamaju.go.id"
    assert sso.sso_login(demo_store, email, True, DOMAINS).user.username == "walikota"
    row = last_audit(demo_store)
    assert row.action == "login.sso" and len(row.after) < 400


# --------------------------------------------------------------------------- the dashboard's wiring

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-not-live",
    "client_id": "kota-cerdas",
    "client_secret": "test-client-secret-not-live",
    "server_metadata_url": "https://sso.example.go.id/.well-known/openid-configuration",
}


def dashboard(secrets: dict | None = None, identity: dict | None = None, lang: str = "id"):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard.py"), default_timeout=60)
    if secrets:
        at.secrets = secrets
    if identity:
        at.user = identity
    at.session_state["lang"] = lang
    return at


def sso_buttons(at) -> list[str]:
    return [b.label for b in at.button if b.key == "login_sso"]


def test_without_secrets_no_sso_is_offered(app_db):
    at = dashboard().run()
    assert not at.exception and not at.error
    assert sso_buttons(at) == []
    assert "session" not in at.session_state


@pytest.mark.parametrize("lang, label", [("id", "Masuk dengan SSO"), ("en", "Sign in with SSO")])
def test_with_auth_secrets_the_sso_button_is_shown(app_db, lang, label):
    at = dashboard({"auth": AUTH}, lang=lang).run()
    assert not at.exception and not at.error
    assert sso_buttons(at) == [label]


def test_a_signed_in_identity_becomes_a_core_session(app_db):
    from metrics.store import Store

    at = dashboard(
        {"auth": AUTH, "sso": {"allowed_domains": list(DOMAINS)}},
        {"is_logged_in": True, "email": "walikota@sukamaju.go.id", "email_verified": True},
    ).run()
    assert not at.exception and not at.error
    assert at.session_state["session"].user.username == "walikota"
    store = Store(app_db)
    try:
        assert [r.username for r in store.audit_rows() if r.action == "login.sso"] == ["walikota"]
    finally:
        store.close()


def test_an_unmatched_identity_is_refused_once_and_clearly(app_db):
    from metrics.i18n import t
    from metrics.store import Store

    at = dashboard(
        {"auth": AUTH, "sso": {"allowed_domains": list(DOMAINS)}},
        {"is_logged_in": True, "email": "siapa@sukamaju.go.id", "email_verified": True},
    ).run()
    at.run()  # a second rerun must not try (and audit) again
    assert not at.exception
    assert "session" not in at.session_state
    assert [e.value for e in at.error] == [t("login.sso_unknown", "id")]
    store = Store(app_db)
    try:
        assert [r.action for r in store.audit_rows() if r.action.startswith("login.sso")] == [
            "login.sso_failure"
        ]
    finally:
        store.close()


def test_a_database_without_accounts_says_how_to_make_the_first_admin(tmp_path, monkeypatch):
    """`python -m metrics init` (no --demo) makes no account; the sign-in page says what to do."""
    from metrics import cli
    from ui import shell

    path = tmp_path / "fresh.duckdb"
    assert cli.main(["--db", str(path), "init"]) == 0
    monkeypatch.setenv("SMARTCITY_DB", str(path))
    try:
        at = dashboard()
        at.run()
        assert not at.exception
        assert [i.value for i in at.info] == [t("login.no_accounts", "id")]
    finally:
        shell._store.clear()


def test_a_database_with_accounts_does_not_show_the_first_admin_hint(app_db):
    at = dashboard()
    at.run()
    assert t("login.no_accounts", "id") not in [i.value for i in at.info]
