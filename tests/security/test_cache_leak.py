"""Cached reads never leak across users (issue 5).

The dashboard caches core reads with st.cache_data (ui.shell.cached), which is shared by every
session of the process. Any answer that depends on who asks must therefore carry the user in its
key. Here two OPD operators of the same city, opd.kominfo (OPD 01) and opd.dinkes (OPD 04), use
the same pages one after the other in the SAME process, so the second would get the first one's
cached answer if the key left the user out.

Each case first proves the cache really is shared between the two AppTest runs (the first
user's second visit does not call the core again), then that the second user's visit does call
the core (a different key), and that each sees only their own OPD.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metrics import entry, users, views
from tests.apptest_support import session

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "pages"
OPDS = {"opd.kominfo": ("01", "Dinas Komunikasi dan Informatika"), "opd.dinkes": ("04", "Dinas Kesehatan")}


@pytest.fixture
def app_db(app_db) -> Path:
    """The shared demo copy, with st.cache_data empty before and after (the cache is the subject)."""
    st.cache_data.clear()
    yield app_db
    st.cache_data.clear()


def counting(monkeypatch, module, name: str) -> list:
    """Replace module.name with a wrapper (same module and qualified name, so the same cache
    entry name) that records the user of every real call."""
    calls: list = []
    real = getattr(module, name)

    @functools.wraps(real)
    def wrapper(store, *args, **kwargs):
        who = kwargs.get("user") or next((a for a in args if isinstance(a, users.User)), None)
        calls.append(who.username if who else None)
        return real(store, *args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def visit(path: Path, username: str, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def shown_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.caption, *at.markdown, *at.subheader)]
    for sb in at.selectbox:
        parts.extend(sb.options)
    return "\n".join(str(p) for p in parts)


def only_own(at: AppTest, username: str) -> None:
    text = shown_text(at)
    _own_code, own_name = OPDS[username]
    _other_code, other_name = next(v for k, v in OPDS.items() if k != username)
    assert own_name in text, text
    assert other_name not in text, f"{username} sees {other_name}"


def test_read_page_keys_carry_the_user(app_db, monkeypatch):
    calls = counting(monkeypatch, views, "overview")
    a = visit(app_db, "opd.kominfo", "overview")
    visit(app_db, "opd.kominfo", "overview")
    assert calls == ["opd.kominfo"], "the cache is shared between runs of one process"
    b = visit(app_db, "opd.dinkes", "overview")
    assert calls == ["opd.kominfo", "opd.dinkes"], "another user gets their own cache entry"
    # scores are not per-OPD secrets: both see the same city index
    assert a.metric[0].value == b.metric[0].value


def test_history_shows_each_operator_only_their_own_submissions(app_db, monkeypatch):
    if not (PAGES / "history.py").exists():
        pytest.skip("pages/history.py is not written yet")
    calls = counting(monkeypatch, entry, "history")
    first = visit(app_db, "opd.kominfo", "history")
    visit(app_db, "opd.kominfo", "history")
    assert calls == ["opd.kominfo"]
    second = visit(app_db, "opd.dinkes", "history")
    assert calls == ["opd.kominfo", "opd.dinkes"]
    for at, username in ((first, "opd.kominfo"), (second, "opd.dinkes")):
        code, name = OPDS[username]
        table = at.dataframe[0].value
        assert len(table) > 0
        assert set(table["opd_code"]) == {code} and set(table["opd_name"]) == {name}
        assert all(f" · {code} · " in label for label in at.selectbox(key="hi_version").options)
    # the version pickers list different submissions
    assert not set(first.selectbox(key="hi_version").options) & set(
        second.selectbox(key="hi_version").options
    )


@pytest.mark.parametrize("page, fn", [("entry", "form"), ("upload", "template")])
def test_form_and_template_are_each_operators_own(app_db, monkeypatch, page, fn):
    if not (PAGES / f"{page}.py").exists():
        pytest.skip(f"pages/{page}.py is not written yet")
    calls = counting(monkeypatch, entry, fn)
    ctx_calls = counting(monkeypatch, entry, "upload_context")
    first = visit(app_db, "opd.kominfo", page)
    visit(app_db, "opd.kominfo", page)
    assert calls == ["opd.kominfo"] and ctx_calls == ["opd.kominfo"]
    second = visit(app_db, "opd.dinkes", page)
    assert calls == ["opd.kominfo", "opd.dinkes"] and ctx_calls == ["opd.kominfo", "opd.dinkes"]
    only_own(first, "opd.kominfo")
    only_own(second, "opd.dinkes")
