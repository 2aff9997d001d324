"""What the AppTest page tests share: labels, a signed-in session, and the no-error check."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from metrics import i18n, users
from metrics.store import Store, utcnow

ROOT = Path(__file__).resolve().parent.parent


def t(key: str, lang: str = "id", **params) -> str:
    """A UI label as the page shows it."""
    text = i18n.text(key, lang)
    return text.format(**params) if params else text


def app_store(path: Path) -> Store:
    """The app's own connection to the database (one per process, as in production)."""
    from ui import shell

    return shell._store(str(path))


def session(path: Path, username: str) -> users.Session:
    """A fresh signed-in session of a demo account, as the login form would make it."""
    user = users.get_user(app_store(path), username)
    now = utcnow()
    return users.Session(user, now, now)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
