"""The app shell: connection, language, sign-in, filters and the page list by role."""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from metrics import readers, users
from metrics.auth import ANONYMOUS, Action, User, can
from metrics.errors import CoreError
from metrics.i18n import t
from metrics.store import Store, StoreBusy
from ui.text import T

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


def get_store() -> Store:
    path = os.environ.get("SMARTCITY_DB") or str(ROOT / "data" / "smartcity.duckdb")
    try:
        return _store(path)
    except StoreBusy as exc:
        st.error(str(exc))
        st.stop()


# ------------------------------------------------------------------ language


def lang() -> str:
    return st.session_state.get("lang", "id")


def tr(key: str, **params) -> str:
    """UI label `key` in the current language."""
    entry = T[key]
    text = entry.get(lang()) or entry["id"]
    return text.format(**params) if params else text


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
    return "".join("\\" + ch if (ch.isascii() and not ch.isalnum() and not ch.isspace()) else ch for ch in raw)


def core_message(exc: CoreError) -> str:
    """A core error's sentence for Markdown: the message as written, its parameters (a file
    name, a username, a typed value) made literal with md_escape (numbers keep their format)."""
    return t(exc.key, lang(), **{k: md_escape(v) if isinstance(v, str) else v for k, v in exc.params.items()})


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


def refresh_session(store: Store) -> User:
    """Re-check the session on every rerun: idle/absolute timeouts and disabled accounts end it."""
    sess = st.session_state.get("session")
    if sess is None:
        return ANONYMOUS
    fresh = users.check_session(store, sess)
    if fresh is None:
        st.session_state.pop("session", None)
        st.session_state["session_ended"] = True
        return ANONYMOUS
    st.session_state["session"] = fresh
    return fresh.user


def public_read(store: Store) -> bool:
    return store.get_setting("public_read", "false") == "true"


def logout(store: Store) -> None:
    sess = st.session_state.pop("session", None)
    if sess is not None:
        users.logout(store, sess)


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
    upload, verification and audited change, so new data shows at once) and every argument;
    pass the language and, where the answer depends on who asks, the user among the arguments.
    """
    try:
        return _cached_read(fn, store, f"{fn.__module__}.{fn.__qualname__}", store.path, store.data_version(),
                            args, tuple(sorted(kwargs.items())))
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
        province = st.sidebar.selectbox(tr("filter.province"), [None] + provinces, key="f_province",
                                        format_func=lambda v, all_=tr("filter.all"): all_ if v is None else v)
        cats = sorted({c.category for c in cities})
        category = st.sidebar.selectbox(tr("filter.category"), [None] + cats, key="f_category",
                                        format_func=lambda v, all_=tr("filter.all"): all_ if v is None else v)
        pool = [c for c in cities if (province is None or c.province == province)
                and (category is None or c.category == category)] or cities
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
    section: str  # "read" | "write" | "admin"


PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("overview.py", "page.overview", ":material/dashboard:", Action.READ_SCORES, "read"),
    PageSpec("rankings.py", "page.rankings", ":material/leaderboard:", Action.READ_SCORES, "read"),
    PageSpec("compare.py", "page.compare", ":material/trending_up:", Action.READ_SCORES, "read"),
    PageSpec("drilldown.py", "page.drilldown", ":material/account_tree:", Action.READ_SCORES, "read"),
    PageSpec("completeness.py", "page.completeness", ":material/checklist:", Action.READ_SCORES, "read"),
    PageSpec("matrix.py", "page.matrix", ":material/grid_on:", Action.READ_SCORES, "read"),
    PageSpec("report.py", "page.report", ":material/picture_as_pdf:", Action.EXPORT, "read"),
    PageSpec("upload.py", "page.upload", ":material/upload_file:", Action.UPLOAD, "write"),
    PageSpec("entry.py", "page.entry", ":material/edit_note:", Action.UPLOAD, "write"),
    PageSpec("history.py", "page.history", ":material/history:", Action.READ_SUBMISSIONS, "write"),
    PageSpec("verify.py", "page.verify", ":material/fact_check:", Action.VERIFY, "admin"),
    PageSpec("admin.py", "page.admin", ":material/admin_panel_settings:", Action.PERIOD, "admin"),
    PageSpec("audit.py", "page.audit", ":material/policy:", Action.READ_AUDIT, "admin"),
)


def page_allowed(spec: PageSpec, user: User, public: bool) -> bool:
    if spec.action is None:
        return True
    return can(user, spec.action, user.city_code, user.opd_code, public_read=public)


def build_pages(user: User, public: bool, login_page) -> dict:
    sections: dict[str, list] = {}
    for spec in PAGE_SPECS:
        path = PAGES / spec.file
        if not path.exists() or not page_allowed(spec, user, public):
            continue
        sections.setdefault(tr(f"section.{spec.section}"), []).append(
            st.Page(str(path), title=tr(spec.title_key), icon=spec.icon, url_path=spec.file[:-3]))
    account = [login_page]
    sections.setdefault(tr("section.account"), []).extend(account)
    return sections
