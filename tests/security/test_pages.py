"""The dashboard, driven through Streamlit's AppTest, over whatever pages exist in pages/:

* XSS: OPD names, evidence and notes made of HTML/JS appear escaped on every page (never in an
  element that renders raw HTML);
* the role matrix: each role reaches exactly the pages its permissions allow, and a page it may
  not use is not even registered (so its URL leads nowhere);
* sessions end server-side at the next rerun: a disabled account, an idle session;
* cached reads never leak across users in one process (the cache is shared by all sessions).

The pages are discovered at run time, so pages added later are covered by the same rules.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from metrics import demo, users
from metrics.auth import SYSTEM
from metrics.governance import load_registry_bytes, verify
from metrics.ingest import ingest_bytes
from metrics.keys import copy_database
from metrics.loaded_frameworks import loaded_frameworks
from metrics.store import Store
from tests.conftest import ROOT

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest

from ui import shell

XSS = "<img src=x onerror=alert(1)>"
XSS_NOTE = "<script>alert('catatan')</script>"
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
CITY = "3299"
YEAR = 2024

# Who may open which page, written out from the product's rules (not computed from auth.can):
# read pages for every signed-in role; exports for the mayor's office and assessors; uploads for
# OPD operators; verification for assessors; administration and the audit log for admins; the
# programme register for the city's readers of submissions, kept by planners, who also import the
# citizen survey.
SIGNED_IN = {"admin", "executive", "opd", "assessor", "viewer", "planner"}
EXPECTED_PAGES = {
    "overview.py": SIGNED_IN,
    "rankings.py": SIGNED_IN,
    "compare.py": SIGNED_IN,
    "drilldown.py": SIGNED_IN,
    "completeness.py": SIGNED_IN,
    "matrix.py": SIGNED_IN,
    "report.py": {"admin", "executive", "assessor", "planner"},
    "upload.py": {"admin", "opd"},
    "entry.py": {"admin", "opd"},
    "history.py": {"admin", "executive", "opd", "assessor", "planner"},
    "programmes.py": {"admin", "executive", "opd", "assessor", "planner"},
    "survey.py": {"admin", "planner"},
    # the interview sessions: readers of submissions (an OPD operator: its own OPD's sessions)
    "interviews.py": {"admin", "executive", "opd", "assessor", "planner"},
    "verify.py": {"admin", "assessor"},
    "admin.py": {"admin"},
    "audit.py": {"admin"},
    "help.py": SIGNED_IN | {"anonymous"},
    "home.py": {"opd"},  # an OPD operator's home: needs an OPD (an admin has none)
    "status.py": {"admin"},
    # the path to a target: the mayor's office, planners, the admin and OPDs; what-if: the admin
    "target.py": {"admin", "executive", "opd", "planner"},
    "whatif.py": {"admin"},
}
ACCOUNTS = {
    "admin": "admin",
    "executive": "walikota",
    "opd": "opd.kominfo",
    "assessor": "penilai",
    "viewer": "tamu",
    "planner": "bappeda.sukamaju",
}


@pytest.fixture(scope="module")
def app_db(tmp_path_factory, demo_db_file):
    """A copy of the demo database with hostile text in an OPD name, evidence, notes and a
    verification note of city 3299, year 2024; SMARTCITY_DB points the app at it."""
    path = tmp_path_factory.mktemp("pages") / "app.duckdb"
    copy_database(demo_db_file, path)
    store = Store(path)
    fw = loaded_frameworks(store)[-1][0]
    base = next(o for o in store.opds(CITY) if fw.indicators_for_opd_type(o.opd_type))
    load_registry_bytes(
        store,
        SYSTEM,
        (f'city_code,opd_code,opd_type,name\n{CITY},X9,{base.opd_type},"{XSS}"\n').encode(),
        "opd.csv",
    )
    inds = fw.indicators_for_opd_type(base.opd_type)
    body = "".join(f'{CITY},X9,{YEAR},{i.code},{n % 5},"{XSS}","{XSS_NOTE}"\n' for n, i in enumerate(inds))
    r = ingest_bytes(
        store,
        SYSTEM,
        ("city_code,opd_code,year,indicator_code,level,evidence,note\n" + body).encode(),
        "xss.csv",
    )
    assert r.accepted, r.to_dict("en")
    verify(store, SYSTEM, CITY, YEAR, inds[0].code, 2, XSS_NOTE)
    users.add_user(store, SYSTEM, "walikota.lain", demo.DEMO_PASSWORD, "executive", "3599")
    sessions = {role: users.login(store, name, demo.DEMO_PASSWORD) for role, name in ACCOUNTS.items()}
    sessions["executive_other"] = users.login(store, "walikota.lain", demo.DEMO_PASSWORD)
    store.checkpoint()
    store.close()
    old = os.environ.get("SMARTCITY_DB")
    os.environ["SMARTCITY_DB"] = str(path)
    yield path, sessions
    shell._store.clear()
    if old is None:
        os.environ.pop("SMARTCITY_DB", None)
    else:
        os.environ["SMARTCITY_DB"] = old


def _app(session=None, city: str | None = CITY, lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    if session is not None:
        at.session_state["session"] = session
    if city:
        at.session_state["f_city"] = city
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _elements(node):
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for ch in children.values():
            yield ch
            yield from _elements(ch)


def _rendered(at) -> list[tuple[str, str, bool]]:
    """(element type, its text or spec, whether it renders raw HTML) for every element."""
    out = []
    for el in _elements(at._tree):
        proto = getattr(el, "proto", None)
        kind = type(el).__name__
        if proto is None:
            continue
        if kind == "Html":  # st.html renders its body as HTML
            out.append((kind, str(proto.body), True))
        elif kind in ("Markdown", "Caption", "Title", "Header", "Subheader", "Text", "Latex", "Divider"):
            # markdown renders raw HTML only with unsafe_allow_html (proto.allow_html)
            out.append((kind, str(getattr(proto, "body", "")), bool(getattr(proto, "allow_html", False))))
        elif kind == "Dataframe":
            out.append((kind, el.value.to_json(date_format="iso"), False))
        else:
            out.append((kind, str(proto), False))
    return out


def _reader(page: str) -> str:
    """The role that opens `page` in the hostile-text tests: the admin where it may."""
    return "admin" if "admin" in EXPECTED_PAGES[page] else sorted(EXPECTED_PAGES[page] - {"anonymous"})[0]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["id"])
def test_hostile_text_is_escaped_on_every_page(app_db, page, lang):
    _path, sessions = app_db
    at = _app(sessions[_reader(page)], lang=lang)
    at.switch_page(f"pages/{page}")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for kind, text, raw_html in _rendered(at):
        if raw_html:  # st.html or unsafe_allow_html: data must never get here unescaped
            assert "<img" not in text and "<script" not in text, (page, kind, text[:200])
        elif kind in ("Markdown", "Caption", "Title", "Header", "Subheader"):
            # markdown text: the payload may appear only escaped (ui.charts.md_escape), so it
            # shows literally instead of being parsed as markup
            assert XSS not in text and XSS_NOTE not in text, (page, kind, text[:200])


def test_hostile_text_reaches_the_pages_at_all(app_db):
    """Control for the test above: the payload is really shown somewhere (as text), so its
    absence from raw-HTML elements is not because the data never arrived."""
    _path, sessions = app_db
    seen = []
    for page in PAGES:
        at = _app(sessions[_reader(page)])
        at.switch_page(f"pages/{page}")
        at.run()
        blob = json.dumps(_rendered(at))
        if "onerror" in blob:
            seen.append(page)
    assert seen, "no page showed the hostile OPD/evidence text at all"


def test_every_page_declares_its_permission():
    """A page file without a PageSpec would be unreachable or, worse, unguarded if wired ad hoc."""
    declared = {s.file for s in shell.PAGE_SPECS}
    assert set(PAGES) <= declared, set(PAGES) - declared
    assert set(PAGES) <= set(EXPECTED_PAGES), set(PAGES) - set(EXPECTED_PAGES)


@pytest.mark.parametrize("role", sorted(SIGNED_IN) + ["anonymous"])
def test_role_reaches_exactly_its_pages(app_db, role):
    _path, sessions = app_db
    for page in PAGES:
        # a fresh app per page: after a page has run, AppTest lists every file of pages/ as
        # switchable, so a refusal would only be seen before the first switch
        at = _app(sessions.get(role))
        allowed = role in EXPECTED_PAGES[page]
        if allowed:
            at.switch_page(f"pages/{page}")
            at.run()
            assert not at.exception, (role, page, [e.value for e in at.exception])
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"pages/{page}")


def test_anonymous_reads_scores_only_when_the_admin_publishes_them(app_db):
    path, _sessions = app_db
    store = shell._store(str(path))
    page = next((p for p in PAGES if EXPECTED_PAGES[p] == SIGNED_IN), None)
    if page is None:
        pytest.skip("no read page exists yet")
    with pytest.raises(ValueError):
        _app(None).switch_page(f"pages/{page}")
    with store.transaction() as cur:
        store.set_setting(cur, "public_read", "true")
    try:
        at = _app(None)
        at.switch_page(f"pages/{page}")
        at.run()
        assert not at.exception
    finally:
        with store.transaction() as cur:
            store.set_setting(cur, "public_read", "false")


def test_disabling_a_user_ends_the_session_at_the_next_rerun(app_db):
    path, _sessions = app_db
    store = shell._store(str(path))  # the app's own connection (one per process)
    users.add_user(store, SYSTEM, "akan.nonaktif", demo.DEMO_PASSWORD, "viewer")
    sess = users.login(store, "akan.nonaktif", demo.DEMO_PASSWORD)
    at = _app(sess)
    assert at.session_state["session"].user.username == "akan.nonaktif"
    assert [t.value for t in at.title] != ["Masuk ke Indeks Kota Cerdas"]
    users.update_user(store, SYSTEM, "akan.nonaktif", active=False)
    # the browser's next rerun arrives with the same session object in its state; a fresh
    # AppTest run with that state is that rerun as the server sees it
    at = _app(sess)
    assert "session" not in at.session_state
    assert [t.value for t in at.title] == ["Masuk ke Indeks Kota Cerdas"]
    assert any("berakhir" in i.value or "ended" in i.value for i in at.info), [i.value for i in at.info]


def test_idle_session_ends_server_side(app_db):
    _path, sessions = app_db
    s = sessions["viewer"]
    stale = users.Session(s.user, s.started_at - timedelta(hours=1), s.last_seen - timedelta(minutes=31))
    at = _app(stale)
    assert "session" not in at.session_state


def _signature(at) -> list[tuple[str, str]]:
    """What a person reads on the page: headings, text, tables and metric values."""
    keep = ("Title", "Header", "Subheader", "Caption", "Markdown", "Dataframe", "Metric", "Text")
    sig = [(k, t) for k, t, _h in _rendered(at) if k in keep]
    sig += [("metric", f"{m.label}={m.value}") for m in at.metric]
    return sig


def test_cached_reads_do_not_leak_across_users(app_db):
    """Two city-scoped users in one process share st.cache_data. What user B sees right after
    user A filled the cache is exactly what B sees from an empty cache, and B's city filter
    offers only B's own city."""
    import streamlit as st

    path, sessions = app_db
    a, b = sessions["executive"], sessions["executive_other"]
    names = {c.city_code: c.name for c in shell._store(str(path)).cities()}
    for page in (p for p in PAGES if "executive" in EXPECTED_PAGES[p]):

        def render(sess):
            at = _app(sess, city=None)
            at.switch_page(f"pages/{page}")
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            boxes = [x for x in at.sidebar.selectbox if x.key == "f_city"]
            if boxes:
                assert boxes[0].options == [names[sess.user.city_code]], (page, boxes[0].options)
            return _signature(at)

        st.cache_data.clear()
        render(a)  # A fills the shared cache
        after_a = render(b)
        st.cache_data.clear()
        fresh = render(b)
        assert after_a == fresh, page
