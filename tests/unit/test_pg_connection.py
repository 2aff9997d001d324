"""The PostgreSQL connection (metrics.store.pg.connection): which backend a setting names, the
placeholder translation, the password kept out of the path, and the audit chain staying one
chain when several stores (processes) append to it at once."""

from __future__ import annotations

import threading

import pytest

from metrics import audit
from metrics.auth import SYSTEM
from metrics.keys import state_base
from metrics.store import PgStore, Store
from metrics.store.pg.connection import is_postgres, redacted, translate


def test_the_setting_names_the_backend():
    assert is_postgres("postgresql://u@h:5432/db")
    assert is_postgres("postgres://u@h/db")
    assert not is_postgres("data/smartcity.duckdb")
    assert not is_postgres(":memory:")
    assert type(Store(":memory:")) is Store


@pytest.mark.parametrize(
    ("duck", "pg"),
    [
        ("SELECT * FROM t WHERE a = ?", "SELECT * FROM t WHERE a = %s"),
        ("WHERE ($c IS NULL OR c = $c) AND y = $year", "WHERE (%(c)s IS NULL OR c = %(c)s) AND y = %(year)s"),
        ("SELECT '50%', x LIKE 'a%' FROM t WHERE b = ?", "SELECT '50%', x LIKE 'a%' FROM t WHERE b = %s"),
        ("SELECT 5 % 2, ?", "SELECT 5 %% 2, %s"),
        (
            "SELECT 'it''s ?' AS \"q?\" -- a ? here\n, ?::VARCHAR[]",
            "SELECT 'it''s ?' AS \"q?\" -- a ? here\n, %s::VARCHAR[]",
        ),
    ],
)
def test_placeholders_are_translated_outside_quotes_and_comments(duck, pg):
    assert translate(duck) == pg


def test_the_password_never_shows():
    assert (
        redacted("postgresql://app:s3cret@db.example:5433/smartcity")
        == "postgresql://app@db.example:5433/smartcity"
    )
    assert redacted("postgresql://app@db/smartcity") == "postgresql://app@db/smartcity"


def test_a_url_keeps_its_key_in_the_state_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("SMARTCITY_STATE_DIR", str(tmp_path))
    assert state_base("postgresql://app:pw@db.example:5433/smart") == str(
        tmp_path / "pg-db.example-5433-smart"
    )
    assert state_base("data/x.duckdb") == "data/x.duckdb"


def test_a_url_opens_a_postgres_store_at_the_current_schema(pg_url):
    store = Store(pg_url)
    try:
        assert isinstance(store, PgStore)
        from metrics.store import SCHEMA_VERSION

        assert store.schema_version() == SCHEMA_VERSION
        assert store.path == pg_url  # no password in the tests' URL: the path is the URL itself
    finally:
        store.close()


def test_two_stores_appending_at_once_keep_one_chain(pg_url):
    """Two PgStore objects (as two processes would) x 4 threads each append audit rows at once:
    every row is kept, ids run 1..n without a gap or a repeat, and the chain verifies."""
    stores = [Store(pg_url), Store(pg_url)]
    errors: list[BaseException] = []

    def work(store: Store, n: int) -> None:
        try:
            for k in range(15):
                with store.transaction() as cur:
                    store.write_audit(cur, SYSTEM, "test.concurrent", f"{n}-{k}", None, {"k": k})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(stores[i % 2], i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        rows = stores[0].audit_rows()
        assert [r.id for r in rows] == list(range(1, 8 * 15 + 1))
        assert len({r.object for r in rows}) == 8 * 15
        assert audit.verify_chain(rows, stores[0].audit_key) == []
        report = audit.verify_store(stores[1])
        assert not report.broken and not report.findings, report
        assert stores[0].data_version() == (8 * 15,)  # every audited write moved it once
    finally:
        for s in stores:
            s.close()


def test_an_older_head_does_not_replace_a_newer_one(pg_url):
    store = Store(pg_url)
    try:
        for k in range(3):
            with store.transaction() as cur:
                store.write_audit(cur, SYSTEM, "test.head", str(k))
        status, head = audit.read_head(store.path, store.audit_key)
        assert status == "ok" and head is not None and head.last_id == 3
        stale = audit.Head(1, "x", 1, "")
        store._publish_audit_head(stale)  # a process that committed earlier publishing late
        status, head = audit.read_head(store.path, store.audit_key)
        assert head is not None and head.last_id == 3
    finally:
        store.close()
