"""Streamlit entry point: navigation, sign-in, language and the shared sidebar filters only.

Run with `streamlit run dashboard.py`. Pages live in pages/, one file each; everything they
compute comes from the metrics core.
"""

import streamlit as st

from metrics import users
from metrics.errors import CoreError
from ui import shell
from ui.shell import tr

# an emoji favicon is drawn inline; a :material/...: one would be fetched from fonts.gstatic.com
st.set_page_config(page_title="Indeks Kota Cerdas", page_icon="🏙️", layout="wide")

store = shell.get_store()

with st.sidebar:
    st.session_state.setdefault("lang", "id")
    st.radio(tr("lang.label"), ["id", "en"], key="lang", horizontal=True,
             format_func=lambda v: {"id": "Bahasa Indonesia", "en": "English"}[v])

user = shell.refresh_session(store)
public = shell.public_read(store)


def login_page() -> None:
    st.title(tr("login.title"))
    if st.session_state.pop("session_ended", False):
        st.info(tr("login.session_ended"))
    sess = st.session_state.get("session")
    if sess is not None:
        st.markdown(tr("login.signed_in_as", name=sess.user.display_name, role=tr(f"role.{sess.user.role}")))
        if st.button(tr("login.logout"), key="logout"):
            shell.logout(store)
            st.rerun()
        return
    if public:
        st.caption(tr("login.public_hint"))
    with st.form("login"):
        username = st.text_input(tr("login.username"), key="login_user")
        password = st.text_input(tr("login.password"), type="password", key="login_pw")
        submitted = st.form_submit_button(tr("login.submit"), type="primary")
    if submitted:
        try:
            st.session_state["session"] = users.login(store, username.strip(), password)
        except CoreError as exc:
            st.error(exc.message(shell.lang()))
        else:
            st.rerun()


login = st.Page(login_page, title=tr("page.account") if user.username != "anonymous" else tr("page.login"),
                icon=":material/login:", url_path="masuk")
sections = shell.build_pages(user, public, login)
nav = st.navigation(sections)

with st.sidebar:
    if user.role != "anonymous":
        st.caption(tr("login.signed_in_as", name=user.display_name, role=tr(f"role.{user.role}")))
    if nav is not login:
        shell.sidebar_filters(store, user)

nav.run()
