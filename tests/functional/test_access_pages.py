"""Access control through AppTest, from both ends (issue 5).

tests/security/test_pages.py checks, page by page, that switch_page() fails for a page a role
may not use, against a table written from the product's rules. This file adds:

* the navigation offered to each role (admin, executive, opd, assessor, viewer, anonymous with
  public read off and on) is exactly the set the core's `auth.can()` matrix allows — compared as
  whole sets, so an extra page is caught as surely as a missing one — and the administration
  pages are pinned by hand as well;
* a page a role may not use, run DIRECTLY (AppTest.from_file on pages/x.py with that role's
  session, as someone typing its URL into a bypassed router would), shows the core's refusal and
  no data: no table, editor, metric, chart or download. The guard is the core's `require`, not
  the navigation;
* a page a role may use, run the same way, is not refused (so the refusal above is not simply
  what every direct run shows).

Pages are discovered at run time, so pages added later are held to the same rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import admin, users
from metrics.auth import ANONYMOUS, SYSTEM, User, can
from metrics.i18n import t as core_t
from metrics.keys import copy_database
from metrics.store import Store, utcnow
from ui import shell
from ui.shell import Filters

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
CITY, YEAR = "3299", 2024
ACCOUNTS = {
    "admin": "admin",
    "executive": "walikota",
    "opd": "opd.kominfo",
    "assessor": "penilai",
    "viewer": "tamu",
    "planner": "bappeda.sukamaju",
}
# who is who in these tests: a role, or the anonymous visitor with results unpublished / published
CASES = [*ACCOUNTS, "anonymous", "anonymous_public"]
# the pages of this issue, pinned by hand (the rest follow the can() matrix)
GOVERNANCE_PAGES = {
    "verify.py": {"admin", "assessor"},
    "admin.py": {"admin"},
    "audit.py": {"admin"},
    "status.py": {"admin"},
    "whatif.py": {"admin"},
}
DATA_ELEMENTS = ("dataframe", "data_editor", "metric", "plotly_chart", "download_button", "table")


@pytest.fixture(scope="module")
def dbs(tmp_path_factory, demo_db_file):
    """Two copies of the demo database: results unpublished (as shipped) and published."""
    folder = tmp_path_factory.mktemp("access")
    paths = {}
    for public in (False, True):
        path = folder / f"{'public' if public else 'private'}.duckdb"
        copy_database(demo_db_file, path)
        if public:
            store = Store(path)
            admin.set_public_read(store, SYSTEM, True)
            store.checkpoint()
            store.close()
        paths[public] = path
    store = Store(paths[False])
    sessions = {
        role: users.Session(users.get_user(store, name), utcnow(), utcnow())
        for role, name in ACCOUNTS.items()
    }
    store.close()
    yield paths, sessions
    shell._store.clear()


def _setup(dbs, case, monkeypatch):
    paths, sessions = dbs
    public = case == "anonymous_public"
    monkeypatch.setenv("SMARTCITY_DB", str(paths[public]))
    sess = sessions.get(case)
    return (sess.user if sess else ANONYMOUS), sess, public


def allowed_pages(user, public: bool) -> set[str]:
    """What the core's permission matrix lets `user` use, page by page (PageSpec.action)."""
    return {
        s.file
        for s in shell.PAGE_SPECS
        if s.file in PAGES
        and (not s.needs_opd or user.opd_code is not None)
        and (s.action is None or can(user, s.action, user.city_code, user.opd_code, public_read=public))
    }


def test_the_matrix_gives_the_governance_pages_to_exactly_their_roles():
    for page, roles in GOVERNANCE_PAGES.items():
        assert {r for r in ACCOUNTS if page in allowed_pages(_case_user(r), False)} == roles, page
    for public in (False, True):
        assert not allowed_pages(ANONYMOUS, public) & set(GOVERNANCE_PAGES)


@pytest.mark.parametrize("case", CASES)
def test_navigation_offers_exactly_the_allowed_pages(dbs, case, monkeypatch):
    user, sess, public = _setup(dbs, case, monkeypatch)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    if sess is not None:
        at.session_state["session"] = sess
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    offered = {
        Path(str(info["script_path"])).name
        for info in at._registered_pages.values()
        if info.get("script_path")
    }
    expected = allowed_pages(user, public)
    assert offered == expected, (case, sorted(offered ^ expected))
    for page, roles in GOVERNANCE_PAGES.items():
        if page in PAGES:
            assert (page in offered) == (case in roles), (case, page)
    assert "help.py" in offered  # Bantuan is for everyone, signed in or not
    if case == "anonymous":
        assert offered == {"help.py"}  # the sign-in page and help only
    if case == "anonymous_public":
        assert offered - {"help.py"} and all(
            s.action is not None and s.action.value == "read_scores"
            for s in shell.PAGE_SPECS
            if s.file in offered - {"help.py"}
        )


def _run_direct(page: str, sess, lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    if sess is not None:
        at.session_state["session"] = sess
    at.session_state["lang"] = lang
    at.session_state["filters"] = Filters(CITY, YEAR, None, None)
    at.run()
    return at


def _refusal(role: str, lang: str) -> str:
    """The start of the core's perm.denied message for `role` (action and scope vary by page)."""
    return core_t("perm.denied", lang, role=role, action="\0", scope="").split("'\0'")[0]


def _data_shown(at: AppTest) -> dict[str, int]:
    return {kind: len(at.get(kind)) for kind in DATA_ELEMENTS if len(at.get(kind))}


def _case_user(case: str):
    """The user of a case without a database (for choosing test parameters at collection time)."""
    scope = {"executive": (CITY, None), "opd": (CITY, "01"), "planner": (CITY, None)}.get(case, (None, None))
    return ANONYMOUS if case.startswith("anonymous") else User(ACCOUNTS[case], case, *scope)


def _pairs(allowed: bool) -> list:
    out = []
    for case in CASES:
        ok = allowed_pages(_case_user(case), case == "anonymous_public")
        for page in PAGES:
            if (page in ok) == allowed:
                out.append(pytest.param(case, page, id=f"{case}-{page[:-3]}"))
    return out


@pytest.mark.parametrize("case,page", _pairs(allowed=False))
def test_a_page_run_directly_refuses_a_role_that_may_not_use_it(dbs, case, page, monkeypatch):
    user, sess, public = _setup(dbs, case, monkeypatch)
    assert page not in allowed_pages(user, public)
    lang = "en" if len(page) % 2 else "id"  # both languages across the pages
    at = _run_direct(page, sess, lang)
    assert not at.exception, (case, page, [e.value for e in at.exception])
    errors = [e.value for e in at.error]
    assert any(e.startswith(_refusal(user.role, lang)) for e in errors), (case, page, errors)
    assert _data_shown(at) == {}, (case, page, _data_shown(at))


@pytest.mark.parametrize("case,page", _pairs(allowed=True))
def test_a_page_run_directly_is_not_refused_for_a_role_that_may_use_it(dbs, case, page, monkeypatch):
    user, sess, public = _setup(dbs, case, monkeypatch)
    assert page in allowed_pages(user, public)
    at = _run_direct(page, sess)
    assert not at.exception, (case, page, [e.value for e in at.exception])
    errors = [e.value for e in at.error]
    assert not any(e.startswith(_refusal(user.role, "id")) for e in errors), (case, page, errors)
    assert at.title, (case, page)


def test_the_admin_is_refused_nowhere():
    # (the OPD home is an OPD operator's own page: an account without an OPD has none)
    assert allowed_pages(_case_user("admin"), False) == set(PAGES) - {"home.py"}


def test_the_landing_pages_are_in_the_matrix():
    """Each role's home (issue 15) is a page the matrix gives it, and the status board is the admin's."""
    assert {r for r in ACCOUNTS if "status.py" in allowed_pages(_case_user(r), False)} == {"admin"}
    assert {r for r in ACCOUNTS if "home.py" in allowed_pages(_case_user(r), False)} == {"opd"}
    for role, page in {
        "admin": "status.py",
        "opd": "home.py",
        "assessor": "verify.py",
        "executive": "overview.py",
        "viewer": "overview.py",
        "planner": "programmes.py",
    }.items():
        assert shell.landing_file(_case_user(role), False) == page, role
        assert page in allowed_pages(_case_user(role), False), role
    assert shell.landing_file(ANONYMOUS, False) is None
    assert shell.landing_file(ANONYMOUS, True) == "overview.py"
