"""User text never becomes Markdown: no image, link, HTML or autolink out of a name or file name.

Streamlit draws st.markdown, captions, alerts, titles and widget/metric labels as GitHub-flavoured
Markdown, and its remark-gfm finds bare URLs and e-mail addresses in the text *after* backslash
escapes are resolved, so escaping punctuation alone still links "www.evil.example". ui.shell's
md_escape escapes every ASCII punctuation mark and puts a word joiner where an autolink would
start; this file checks it against the frontend's own patterns, and that the pages use it
(tests/security/test_no_network.py shows the same in Chromium, with no outside request).
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from metrics import users
from metrics.auth import SYSTEM
from metrics.demo import DEMO_PASSWORD
from metrics.store import Store, utcnow
from tests.apptest_support import ROOT
from ui.shell import WORD_JOINER, md_escape

HOSTILE = [
    "![x](http://evil.example/x.png)",
    "[klik](javascript:alert(1))",
    '<img src="http://evil.example/i.png">',
    "https://evil.example/a.png",
    "lihat www.evil.example sekarang",
    "WWW.EVIL.EXAMPLE",
    "mail@evil.example",
    "mailto:mail@evil.example",
    "**tebal** _miring_ `kode` ~~coret~~ # judul",
    ":material/home: :red[merah] $x^2$ &lt;b&gt;",
    "Dinas Komunikasi dan Informatika",
]

# The patterns of mdast-util-gfm-autolink-literal as bundled in streamlit 1.67's frontend
# (static/js/StreamlitMarkdown.*.js), applied, as there, to text whose escapes are resolved.
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.IGNORECASE)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")
SHORTCODE = re.compile(r":[\w/-]+:")  # emoji and :material/...: icons, also found after escapes
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def resolved(markdown: str) -> str:
    """What a CommonMark parser keeps as text from a string made only of escapes and plain text."""
    return ESCAPE.sub(r"\1", markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_md_escape_leaves_no_markup_and_no_autolink(text):
    out = md_escape(text)
    # every ASCII punctuation mark is escaped: no emphasis, link, image, HTML, directive or math
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", out)
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped), out
    text_node = resolved(out)
    assert text_node.replace(WORD_JOINER, "") == text  # shown literally, joiners aside
    assert not GFM_URL.search(text_node), text_node
    assert not GFM_EMAIL.search(text_node), text_node
    assert not SHORTCODE.search(text_node), text_node


def test_without_the_joiners_gfm_would_still_autolink():
    """Why md_escape needs more than backslashes: the frontend's patterns match resolved text."""
    for text in ("https://evil.example/a.png", "www.evil.example", "mail@evil.example"):
        backslashed = "".join(
            "\\" + c if c.isascii() and not c.isalnum() and not c.isspace() else c for c in text
        )
        assert GFM_URL.search(resolved(backslashed)) or GFM_EMAIL.search(resolved(backslashed))


# --------------------------------------------------------------------------- the pages use it


NAME = "![x](http://evil.example/n.png) www.evil.example a@evil.example"


def _run(path, username: str, page: str | None, lang: str = "id") -> AppTest:
    store = Store(path)
    user = users.get_user(store, username)
    store.close()
    now = utcnow()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, now, now)
    at.session_state["lang"] = lang
    at.run()  # the router (dashboard.py): the sidebar is drawn on this run
    if page is not None:
        at.switch_page(f"pages/{page}.py").run()
    return at


def test_display_name_is_shown_escaped_in_the_sidebar(app_db):
    store = Store(app_db)
    users.add_user(store, SYSTEM, "penguji", DEMO_PASSWORD, "admin", None, None, NAME)
    store.close()
    at = _run(app_db, "penguji", None, "en")
    assert not at.exception
    captions = [c.value for c in at.sidebar.caption]
    assert any(md_escape(NAME) in c for c in captions), captions
    assert not any(NAME in c for c in captions)  # never the raw text


def test_admin_messages_show_usernames_escaped(app_db):
    """'www.evil.example' is a valid username: the 'added' message must not make it a link."""
    at = _run(app_db, "admin", "admin", "en")
    at.text_input(key="admin_new_name").input("www.evil.example")
    at.text_input(key="admin_new_display").input(NAME)
    at.text_input(key="admin_new_pw").input(DEMO_PASSWORD)
    at.selectbox(key="admin_new_role").set_value("viewer")
    next(b for b in at.button if (b.key or "").startswith("FormSubmitter:admin_add_user")).click().run()
    assert not at.exception
    assert [s.value for s in at.success] and "www\u2060\\.evil\\.example" in at.success[0].value
    assert "www.evil.example" not in at.success[0].value
