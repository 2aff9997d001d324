"""Streamlit entry point: navigation, sign-in, language and the shared sidebar filters only.

Run with `python -m ui.serve` (`streamlit run dashboard.py` without Streamlit's public-address
lookup, see ui/serve.py). Pages live in pages/, one file each; everything they compute comes
from the metrics core.

Single sign-on is optional: with an [auth] section in .streamlit/secrets.toml (Streamlit's
st.login OIDC settings) the sign-in page offers "Masuk dengan SSO", and a signed-in identity is
mapped to a core user by metrics.sso (audited; refused when no enabled user matches). Without a
secrets file (fresh installs, AppTest) nothing about SSO is shown or read.
"""

import streamlit as st

from metrics import sso, users
from metrics.auth import MAX_USERNAME
from metrics.errors import CoreError
from ui import shell
from ui.serve import no_external_ip_lookup
from ui.shell import tr

no_external_ip_lookup()  # already done by `python -m ui.serve`; this covers a plain `streamlit run`

# an emoji favicon is drawn inline; a :material/...: one would be fetched from fonts.gstatic.com
st.set_page_config(page_title=tr("app.title"), page_icon="🏙️", layout="wide")

store = shell.get_store()


def sso_settings() -> tuple[bool, tuple[str, ...]]:
    """(SSO configured, allowed e-mail domains); off when there is no secrets file or no [auth]."""
    if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
        return False, ()
    domains = st.secrets.get("sso", {}).get("allowed_domains", ())
    return True, tuple(str(d) for d in domains)


def sso_identity() -> dict | None:
    """The OIDC identity Streamlit holds for this browser, if SSO is on and someone signed in."""
    try:
        return st.user.to_dict() if st.user.get("is_logged_in") else None
    except Exception:
        return None


def sso_logout() -> None:
    """End the provider's session too, and forget this browser's mapping attempt and refusal."""
    st.session_state.pop("sso_error", None)
    st.session_state.pop("sso_tried", None)
    st.logout()


SSO_ON, SSO_DOMAINS = sso_settings()

# The language lives in a plain session key ("lang", read by shell.lang()), not in the radio's own
# widget key: Streamlit drops a widget's key on any run that does not draw the widget (AppTest
# runs a page file without this script after switch_page, because pages/ exists), and the app
# would then fall back to Indonesian.
if st.session_state.get("lang") not in ("id", "en"):
    st.session_state["lang"] = "id"
if st.session_state.get("lang_choice") != st.session_state["lang"]:
    st.session_state["lang_choice"] = st.session_state["lang"]  # the radio shows the language in force
with st.sidebar:
    st.radio(
        tr("lang.label"),
        ["id", "en"],
        key="lang_choice",
        horizontal=True,
        on_change=lambda: st.session_state.update(lang=st.session_state["lang_choice"]),
        format_func=lambda v: {"id": "Bahasa Indonesia", "en": "English"}[v],
    )

if SSO_ON and st.session_state.get("session") is None:
    ident = sso_identity()
    # one attempt per identity and browser session: a refusal is audited once, not at every rerun
    if ident is not None and st.session_state.get("sso_tried") != ident.get("email"):
        st.session_state["sso_tried"] = ident.get("email")
        try:
            shell.signed_in(
                store, sso.sso_login(store, ident.get("email"), ident.get("email_verified"), SSO_DOMAINS)
            )
            st.session_state.pop("sso_error", None)
        except CoreError as exc:
            st.session_state["sso_error"] = exc

user = shell.refresh_session(store)
public = shell.public_read(store)


def login_page() -> None:
    st.title(tr("login.title"))
    if st.session_state.pop("session_ended", False):
        st.info(tr("login.session_ended"))
    sess = st.session_state.get("session")
    if sess is not None:
        st.markdown(
            tr(
                "login.signed_in_as",
                name=shell.md_escape(sess.user.display_name),
                role=tr(f"role.{sess.user.role}"),
            )
        )
        st.caption(tr("login.session_until", **shell.session_ends(sess)))
        if st.button(tr("login.logout"), key="logout"):
            shell.logout(store)
            if SSO_ON and sso_identity() is not None:
                sso_logout()  # else the provider's sign-in would sign the user straight back in
            st.rerun()
        return
    if public:
        st.caption(tr("login.public_hint"))
    if not users.has_accounts(store):
        st.info(tr("login.no_accounts"))  # a database made without --demo: the first admin is made on the CLI
    if SSO_ON:
        refused = st.session_state.get("sso_error")
        if refused is not None:
            st.error(shell.core_message(refused))
            if st.button(tr("login.logout"), key="sso_logout"):
                sso_logout()
        elif st.button(tr("login.sso"), key="login_sso", type="primary", icon=":material/key:"):
            st.session_state.pop("sso_tried", None)  # map the identity again once the provider answers
            st.login()
    with st.form("login"):
        username = st.text_input(tr("login.username"), key="login_user", max_chars=MAX_USERNAME)
        password = st.text_input(
            tr("login.password"), type="password", key="login_pw", max_chars=users.MAX_LOGIN_PASSWORD
        )
        with st.expander(tr("login.unlock")):
            code = st.text_input(
                tr("login.unlock_code"), key="login_code", help=tr("login.unlock_help"), max_chars=32
            )
        submitted = st.form_submit_button(tr("login.submit"), type="primary")
    if submitted:
        try:
            shell.signed_in(
                store,
                users.login(
                    store, username, password, client=shell.client_address(), unlock_code=code or None
                ),
            )
        except CoreError as exc:
            st.error(shell.core_message(exc))
            shell.sign_in_hints(store, exc, username)
        else:
            st.session_state["go_home"] = True  # land on the role's home, not on this form again
            st.rerun()


login = st.Page(
    login_page,
    title=tr("page.account") if user.username != "anonymous" else tr("page.login"),
    icon=":material/login:",
    url_path="masuk",
)
sections = shell.build_pages(user, public, login)
# a page URL opened signed out (a reload after a timeout, a shared link) shows the sign-in form
# under that URL, and the page itself once signed in; never Streamlit's "Page not found"
shell.add_stand_ins(sections, user, public, login_page)
# expanded: an admin has 14 pages; none may hide behind "View more"
nav = st.navigation(sections, expanded=True)
home_file = shell.landing_file(user, public)
if st.session_state.pop("go_home", False) and nav is login and home_file:
    st.switch_page(str(shell.PAGES / home_file))

with st.sidebar:
    if user.role != "anonymous":
        st.caption(
            tr("login.signed_in_as", name=shell.md_escape(user.display_name), role=tr(f"role.{user.role}"))
        )
    if nav is not login:
        shell.sidebar_filters(store, user)

shell.cookie_script()  # after a sign-in or sign-out: the browser sets or drops its cookie
nav.run()
