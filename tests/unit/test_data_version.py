"""The data version page caches key on (issue 16, point 4): it moves with every write that
changes what a page shows, and with nothing else: a sign-in, a failed sign-in, a sign-out or a
download no longer empties every user's cached pages."""

from __future__ import annotations

import pytest

from metrics import admin, reports, users
from metrics.auth import SYSTEM
from metrics.errors import CoreError
from metrics.governance import load_framework_text, save_opd, set_period, verify
from metrics.ingest import ingest_bytes
from metrics.registry import Opd
from metrics.store import ACTIONS_PAGES_DO_NOT_SHOW
from tests.conftest import ASSESS_CSV, MINI_YAML

pytestmark = pytest.mark.both_backends

PW = "rahasia-budi-123"


@pytest.fixture
def store(mini):
    users.add_user(mini, SYSTEM, "budi", PW, "viewer")
    return mini


def test_sign_in_sign_out_failed_sign_in_and_downloads_leave_it(store):
    before = store.data_version()
    audited = store.audit_count()
    sess = users.login(store, "budi", PW, client="10.0.0.1")
    with pytest.raises(CoreError):
        users.login(store, "budi", "wrong-password", client="10.0.0.1")
    ticket = users.issue_ticket(store, sess)
    assert users.redeem_ticket(store, ticket) is not None
    assert reports.export(store, SYSTEM, 2023, "0101", "csv")
    users.logout(store, sess)
    assert store.audit_count() >= audited + 4  # each was audited ...
    assert store.data_version() == before  # ... and no page's data changed


def test_every_write_pages_show_moves_it(store):
    seen = [store.data_version()]

    def moved() -> bool:
        seen.append(store.data_version())
        return seen[-1] > seen[-2]

    assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert moved()  # an upload
    verify(store, SYSTEM, "0101", 2023, "G1", 2, "site visit")
    assert moved()  # a verification
    save_opd(store, SYSTEM, Opd("0101", "09", "bappeda", "Bappeda"))
    assert moved()  # a registry change
    text = MINI_YAML.read_text(encoding="utf-8").replace("applies_from: 2023", "applies_from: 2025")
    load_framework_text(store, SYSTEM, text)
    assert moved()  # a framework load
    admin.set_public_read(store, SYSTEM, True)
    assert moved()  # the publication switch
    set_period(store, SYSTEM, "0101", 2023, "closed")
    assert moved()  # a period


def test_it_survives_reopening(store):
    assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
    version, path = store.data_version(), store.path
    store.close()
    from metrics.store import Store

    again = Store(path)
    try:
        assert again.data_version() == version
    finally:
        again.close()


def test_the_list_of_actions_pages_do_not_show_is_short_and_named():
    # a new kind of write moves the version unless it is listed here: keep the list to events
    # that change no data a page shows (sign-in and sessions, downloads, password hashes)
    listed = {
        "login.success",
        "login.failure",
        "login.sso",
        "login.sso_failure",
        "logout",
        "export",
        "backup.create",
        "session.end_all",
        "user.unlock_code",
        "user.password",
        "user.rehash",
        "framework.whatif",  # a preview of a candidate framework, audited as a read
    }
    assert listed == ACTIONS_PAGES_DO_NOT_SHOW
