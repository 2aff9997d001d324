"""The app shell: connection, language, sign-in, filters and the page list by role."""

from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import streamlit as st

from metrics import admin, i18n, readers, users
from metrics.auth import ANONYMOUS, Action, User, can
from metrics.errors import CoreError
from metrics.i18n import t
from metrics.registry import DEFAULT_TIMEZONE, TZ_ABBREV
from metrics.store import Store, StoreBusy, resolve_db_path, utcnow

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "pages"


# The dashboard process must stay under 600 MB: DuckDB's buffer pool is capped, or rebuilding the
# score tables after a national framework load takes the server from ~320 to 645 MB (539 MB with
# this cap; benchmarks/pages.py measures it). $SMARTCITY_DUCKDB_MEMORY overrides it.
DUCKDB_MEMORY = "256MB"


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    # One DuckDB connection per process; every read and write takes its own cursor from it.
    store = Store(path, memory_limit=os.environ.get("SMARTCITY_DUCKDB_MEMORY") or DUCKDB_MEMORY)
    # the spreadsheet reader's isolated worker, started in the background before the first upload
    threading.Thread(target=readers.warm_up, name="reader-warm-up", daemon=True).start()
    return store


def db_path() -> str:
    return resolve_db_path()  # $SMARTCITY_DB, else data/smartcity.duckdb: the store's one rule


def open_store() -> Store:
    """The process's Store, outside a script run too (the session routes of ui/asgi.py)."""
    return _store(db_path())


def get_store() -> Store:
    path = db_path()
    try:
        return _store(path)
    except StoreBusy as exc:
        st.error(str(exc))
        st.stop()


# ------------------------------------------------------------------ language


def lang() -> str:
    return st.session_state.get("lang", "id")


def tr(key: str, **params) -> str:
    """Text `key` in the current language."""
    return i18n.t(key, lang(), **params)


# Where GFM would still make a link of text whose punctuation is all escaped: Streamlit's
# Markdown (remark-gfm) finds bare URLs ("http://", "https://", "www.") and e-mail addresses
# ("@") in the text *after* escapes are resolved. An invisible WORD JOINER (U+2060) there
# breaks the match; it also breaks shortcodes (":smile:", ":material/home:"), found the same way.
_AUTOLINK = re.compile(r"(?<=:)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def md_escape(text: object) -> str:
    """User text (names, file names, evidence, notes, codes) for anything Streamlit draws as
    Markdown: st.markdown/caption/title/subheader, alerts, widget, tab, metric and badge labels.

    The one place such text is made literal: every ASCII punctuation mark is backslash-escaped
    (no emphasis, links, images, HTML, directives or math), and a word joiner goes after every
    colon and before "@" and the "." of "www." so that no bare URL or e-mail address becomes a
    link. Tables (st.dataframe) and st.text/st.code show text as it is and need none of this.
    """
    raw = _AUTOLINK.sub(WORD_JOINER, "" if text is None else str(text))
    return "".join(
        "\\" + ch if (ch.isascii() and not ch.isalnum() and not ch.isspace()) else ch for ch in raw
    )


def md_list(items, numbered: bool = False) -> str:
    """User or catalogue texts as one Markdown list, each item escaped (md_escape)."""
    return "\n".join(
        f"{n}. {md_escape(x)}" if numbered else f"- {md_escape(x)}" for n, x in enumerate(items, 1)
    )


def core_message(exc: CoreError) -> str:
    """A core error's sentence for Markdown: the message as written, its parameters (a file
    name, a username, a typed value) made literal with md_escape (numbers keep their format)."""
    return t(exc.key, lang(), **{k: md_escape(v) if isinstance(v, str) else v for k, v in exc.params.items()})


@contextmanager
def progress_status(label_key: str):
    """An st.status with a bar for a long core call: yields the `progress(step, fraction)`
    callable to hand the core (metrics.progress); the label shows the step in words, and the box
    ends "complete" only if the core reported its end (1.0), else "error" (it refused or failed)."""
    title = tr(label_key)
    box = st.status(title, expanded=False)
    bar = box.progress(0.0)
    reached = [0.0]

    def step(key: str, fraction: float) -> None:
        words = t(key, lang())
        reached[0] = fraction
        box.update(label=f"{title} · {words}")
        bar.progress(fraction, text=words)

    try:
        yield step
    finally:
        box.update(state="complete" if reached[0] >= 1.0 else "error")


# ------------------------------------------------------------------ sign-in


def current_user() -> User:
    sess = st.session_state.get("session")
    return sess.user if sess else ANONYMOUS


def client_address() -> str:
    """The browser's address, for the sign-in throttle. Streamlit reports a loopback peer as None
    (and AppTest, which has no browser, as a stand-in object); that is 127.0.0.1 here. Behind a
    reverse proxy on this host, the address is the client's only when the proxy sends
    X-Forwarded-For (uvicorn trusts it from loopback); otherwise every browser is 127.0.0.1."""
    ip = st.context.ip_address
    return ip if isinstance(ip, str) and ip else "127.0.0.1"


SESSION_COOKIE = "ikc_session"  # ui.asgi.COOKIE (not imported: that module builds the server app)


def refresh_session(store: Store) -> User:
    """Re-check the session on every rerun: idle/absolute timeouts, logout in another tab, a
    password change, a disabled account and an admin's "end all sessions" end it. A tab without
    one (a reload, a new tab, a shared link) resumes the session its cookie opens, if any."""
    sess = st.session_state.get("session")
    if sess is None:
        if st.session_state.get("cookie_clear"):
            return ANONYMOUS  # signed out in this tab: the handshake's cookie is stale
        resumed = users.resume_session(store, st.context.cookies.get(SESSION_COOKIE))
        if resumed is not None:
            st.session_state["session"] = resumed
        return resumed.user if resumed is not None else ANONYMOUS
    fresh = users.check_session(store, sess)
    if fresh is None:
        st.session_state.pop("session", None)
        st.session_state["session_ended"] = True
        return ANONYMOUS
    st.session_state["session"] = fresh
    return fresh.user


def public_read(store: Store) -> bool:
    return admin.public_read(store)


def logout(store: Store) -> None:
    sess = st.session_state.pop("session", None)
    st.session_state.pop("cookie_ticket", None)
    if sess is not None:
        users.logout(store, sess)
    st.session_state["cookie_clear"] = True  # the browser drops its cookie at the next run


def local_zone(store: Store, user: User) -> str:
    """The time zone times are shown in: the user's city's (WIB/WITA/WIT, from the registry); for
    national users and the sign-in page, the only city's when there is one, else WIB."""
    cities = _registry_snapshot(store, store.path, store.data_version())[0]
    mine = [c for c in cities if c.city_code == user.city_code] or (cities if len(cities) == 1 else [])
    return mine[0].tz if mine else DEFAULT_TIMEZONE


def local_time(at, zone: str) -> str:
    """A naive-UTC moment as the clock time in `zone`, with WIB/WITA/WIT ("14.32 WITA")."""
    t = at.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return t.strftime("%H.%M" if lang() == "id" else "%H:%M") + " " + TZ_ABBREV.get(zone, zone)


def session_ends(sess: users.Session) -> dict:
    """When a session ends, in local time: the idle and the absolute limit."""
    zone = local_zone(get_store(), sess.user)
    return {
        "idle": local_time(sess.last_seen + users.IDLE_TIMEOUT, zone),
        "until": local_time(sess.started_at + users.ABSOLUTE_TIMEOUT, zone),
        "minutes": int(users.IDLE_TIMEOUT.total_seconds() // 60),
    }


def sign_in_hints(store: Store, exc: CoreError, username: str) -> None:
    """After a refused sign-in: until when to wait (local time), or how many failed attempts this
    device has left before it must wait. Both come from the throttle's counters for the name as
    typed and this client, so they read the same for an unknown name: nothing about the account."""
    zone = local_zone(store, ANONYMOUS)
    if exc.key == "login.failed_wait":
        until = utcnow() + timedelta(seconds=int(exc.params.get("seconds", 0)))
        st.caption(tr("login.wait_until", time=local_time(until, zone)))
        return
    left = users.attempts_left(store, username, client_address())
    if left is None:
        return
    st.warning(tr("login.attempts_left", n=left) if left > 0 else tr("login.attempts_none"))


def signed_in(store: Store, sess: users.Session) -> None:
    """Keep a new sign-in: in this tab's state, and (at the next run) in the browser's cookie."""
    st.session_state["session"] = sess
    st.session_state.pop("cookie_clear", None)
    st.session_state.pop("cookie_cleared", None)
    ticket = users.issue_ticket(store, sess)
    if ticket is not None:
        st.session_state["cookie_ticket"] = ticket


def cookie_script() -> None:
    """Have the browser set or clear the session cookie through ui/asgi.py's routes: one
    same-origin POST, the one-time ticket in its body (never in a URL). Drawn once, after a
    sign-in or sign-out; without those routes (plain `streamlit run`) the POST just fails."""
    ticket = st.session_state.pop("cookie_ticket", None)
    clear = st.session_state.get("cookie_clear") and not st.session_state.get("cookie_cleared")
    if ticket is None and not clear:
        return
    if ticket is not None:
        js = (
            'fetch("/_ikc/session", {method: "POST", credentials: "same-origin", '
            f'headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(ticket)}}});'
        )
    else:
        st.session_state["cookie_cleared"] = True
        js = 'fetch("/_ikc/logout", {method: "POST", credentials: "same-origin"});'
    st.html(f"<script>{js}</script>", unsafe_allow_javascript=True)


# ------------------------------------------------------------------ filters


@dataclass(frozen=True)
class Filters:
    city: str | None
    year: int | None
    province: str | None
    category: str | None


@st.cache_data(show_spinner=False)
def _registry_snapshot(_store: Store, db_key: str, version: tuple):
    cities = _store.cities()
    years = _store.years()
    return cities, years


def filters() -> Filters:
    return st.session_state.get("filters", Filters(None, None, None, None))


# ------------------------------------------------------------------ cached core reads


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_read(_fn, _store: Store, name: str, db: str, version: tuple, args: tuple, kwargs: tuple):
    return _fn(_store, *args, **dict(kwargs))


def cached(fn, store: Store, *args, **kwargs):
    """`fn(store, *args, **kwargs)` through st.cache_data, for the read pages' core functions.

    The key is the function's name, the database path, the data version (which moves with every
    write that changes what pages show: uploads, verifications, registry and framework changes;
    not with sign-ins or downloads, see metrics.store.audit_log) and every argument; pass the
    language and, where the answer depends on who asks, the user among the arguments.
    """
    return _refused_stops(
        _cached_read,
        fn,
        store,
        f"{fn.__module__}.{fn.__qualname__}",
        store.path,
        store.data_version(),
        args,
        tuple(sorted(kwargs.items())),
    )


def fresh(fn, store: Store, *args, **kwargs):
    """`fn(store, *args, **kwargs)` uncached, for views that show the audit log's own state (the
    admin page's chain head moves with every sign-in, which the data version ignores)."""
    return _refused_stops(fn, store, *args, **kwargs)


def _refused_stops(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except CoreError as exc:
        # the core refused (e.g. a role reaching a page it may not use): say so and draw nothing
        st.error(core_message(exc))
        st.stop()


def sidebar_filters(store: Store, user: User) -> Filters:
    """City and year (plus province and category for national users), kept across pages."""
    # keyed on the data version too, so a new city or year shows as soon as it is loaded
    cities, years = _registry_snapshot(store, store.path, store.data_version())
    if not cities or not years:
        f = Filters(None, None, None, None)
        st.session_state["filters"] = f
        return f
    national = user.city_code is None
    province = category = None
    pool = cities
    if national:
        provinces = sorted({c.province for c in cities})
        province = st.sidebar.selectbox(
            tr("filter.province"),
            [None] + provinces,
            key="f_province",
            format_func=lambda v, all_=tr("filter.all"): all_ if v is None else v,
        )
        cats = sorted({c.category for c in cities})
        category = st.sidebar.selectbox(
            tr("filter.category"),
            [None] + cats,
            key="f_category",
            format_func=lambda v, all_=tr("filter.all"): all_ if v is None else v,
        )
        pool = [
            c
            for c in cities
            if (province is None or c.province == province) and (category is None or c.category == category)
        ] or cities
    else:
        pool = [c for c in cities if c.city_code == user.city_code] or cities
    codes = [c.city_code for c in pool]
    names = {c.city_code: c.name for c in cities}
    if st.session_state.get("f_city") not in codes:
        st.session_state["f_city"] = codes[0]
    city = st.sidebar.selectbox(tr("filter.city"), codes, key="f_city", format_func=lambda c: names.get(c, c))
    ys = sorted(years, reverse=True)
    if st.session_state.get("f_year") not in ys:
        st.session_state["f_year"] = ys[0]
    year = st.sidebar.selectbox(tr("filter.year"), ys, key="f_year")
    f = Filters(city, year, province, category)
    st.session_state["filters"] = f
    return f


# ------------------------------------------------------------------ pages


@dataclass(frozen=True)
class PageSpec:
    file: str
    title_key: str
    icon: str
    action: Action | None  # shown only if the user may do this (None: everyone who may read)
    section: str  # "home" | "read" | "write" | "admin"
    needs_opd: bool = False  # only for accounts scoped to one OPD (the core refuses the others)


PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("home.py", "page.home", ":material/home:", Action.UPLOAD, "home", needs_opd=True),
    PageSpec("status.py", "page.status", ":material/monitoring:", Action.PERIOD, "home"),
    PageSpec("overview.py", "page.overview", ":material/dashboard:", Action.READ_SCORES, "read"),
    PageSpec("rankings.py", "page.rankings", ":material/leaderboard:", Action.READ_SCORES, "read"),
    PageSpec("compare.py", "page.compare", ":material/trending_up:", Action.READ_SCORES, "read"),
    PageSpec("drilldown.py", "page.drilldown", ":material/account_tree:", Action.READ_SCORES, "read"),
    PageSpec("completeness.py", "page.completeness", ":material/checklist:", Action.READ_SCORES, "read"),
    PageSpec("matrix.py", "page.matrix", ":material/grid_on:", Action.READ_SCORES, "read"),
    PageSpec("report.py", "page.report", ":material/picture_as_pdf:", Action.EXPORT, "read"),
    PageSpec("target.py", "page.target", ":material/flag:", Action.PLAN, "read"),
    PageSpec("upload.py", "page.upload", ":material/upload_file:", Action.UPLOAD, "write"),
    PageSpec("entry.py", "page.entry", ":material/edit_note:", Action.UPLOAD, "write"),
    PageSpec("programmes.py", "page.programmes", ":material/event_note:", Action.READ_SUBMISSIONS, "write"),
    PageSpec("survey.py", "page.survey", ":material/groups:", Action.IMPORT_SURVEY, "write"),
    PageSpec("history.py", "page.history", ":material/history:", Action.READ_SUBMISSIONS, "write"),
    PageSpec("verify.py", "page.verify", ":material/fact_check:", Action.VERIFY, "admin"),
    PageSpec("interviews.py", "page.interviews", ":material/event:", Action.READ_SUBMISSIONS, "admin"),
    PageSpec("admin.py", "page.admin", ":material/admin_panel_settings:", Action.PERIOD, "admin"),
    PageSpec("whatif.py", "page.whatif", ":material/science:", Action.LOAD_FRAMEWORK, "admin"),
    PageSpec("audit.py", "page.audit", ":material/policy:", Action.READ_AUDIT, "admin"),
    # help for everyone, signed in or not (listed under the account, after the sign-in page)
    PageSpec("help.py", "page.help", ":material/help:", None, "account"),
)


def page_allowed(spec: PageSpec, user: User, public: bool) -> bool:
    if spec.needs_opd and user.opd_code is None:
        return False
    if spec.action is None:
        return True
    return can(user, spec.action, user.city_code, user.opd_code, public_read=public)


# Where each role lands after signing in (its home), first match that the role may use: an OPD
# operator on its OPD's home, an assessor on Verifikasi, an administrator on the status board,
# a planner on the programme register, the executive, the viewer and a public visitor on
# Ringkasan; else the sign-in page.
LANDING_BY_ROLE = {
    "opd": "home.py",
    "assessor": "verify.py",
    "admin": "status.py",
    "planner": "programmes.py",
}


def landing_file(user: User, public: bool) -> str | None:
    """The page file `user` lands on, or None for the sign-in page."""
    specs = {s.file: s for s in PAGE_SPECS}
    for file in (LANDING_BY_ROLE.get(user.role), "overview.py"):
        spec = specs.get(file)
        if spec is not None and (PAGES / file).exists() and page_allowed(spec, user, public):
            return file
    return None


def build_pages(user: User, public: bool, login_page) -> dict:
    sections: dict[str, list] = {}
    home = landing_file(user, public)
    for spec in PAGE_SPECS:
        path = PAGES / spec.file
        if not path.exists() or not page_allowed(spec, user, public):
            continue
        sections.setdefault(tr(f"section.{spec.section}"), []).append(
            st.Page(
                str(path),
                title=tr(spec.title_key),
                icon=spec.icon,
                url_path=spec.file[:-3],
                default=spec.file == home,
            )
        )
    # the sign-in page first: with no home page (signed out) the first page is the default one
    account = [login_page, *sections.pop(tr("section.account"), [])]
    sections[tr("section.account")] = account
    return sections


def add_stand_ins(sections: dict, user: User, public: bool, login_page) -> None:
    """Hidden pages under the URL of every page this user may not open: signed out, the sign-in
    form (signing in then shows the page at that same URL); signed in, a sentence saying the page
    is not for this role. Nothing of the page itself runs, and no "Page not found" box."""

    def not_available() -> None:
        st.warning(tr("nav.not_available"))

    # the default page answers at "/" but keeps its own path too (Streamlit's private _url_path)
    shown = {getattr(p, "_url_path", p.url_path) for pages in sections.values() for p in pages}
    home = landing_file(user, public)  # the default page reports url_path "" but keeps its own path
    if home:
        shown.add(home[:-3])
    stand_in = login_page if user.role == "anonymous" else not_available
    for spec in PAGE_SPECS:
        url = spec.file[:-3]
        if url in shown or not (PAGES / spec.file).exists():
            continue
        sections.setdefault(tr("section.account"), []).append(
            st.Page(stand_in, title=tr(spec.title_key), icon=spec.icon, url_path=url, visibility="hidden")
        )


# ------------------------------------------------------------------ reminders' mail server


def smtp_settings():
    """The city's SMTP server from `[smtp]` in .streamlit/secrets.toml (host, port, user, password,
    from, starttls, days_before, days_after), handed to the core; None when not configured, and
    then no reminder is ever sent."""
    from metrics.deadlines import SmtpSettings

    try:
        if not st.secrets.load_if_toml_exists() or "smtp" not in st.secrets:
            return None
        return SmtpSettings.from_mapping(dict(st.secrets["smtp"]))
    except Exception:
        return None
