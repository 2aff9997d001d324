"""Audit: every create, update, approve, lock, login (success and failure), export and backup
writes exactly one append-only, hash-chained audit row; `python -m metrics audit verify` finds
a row edited or deleted behind the application's back."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from metrics import reports, users
from metrics.audit import verify_chain
from metrics.auth import SYSTEM
from metrics.backup import make_backup
from metrics.governance import load_registry_bytes, set_period, verify
from metrics.ingest import ingest_bytes, ingest_paths
from metrics.keys import head_path, key_path
from tests.conftest import ASSESS_CSV, ROOT

pytestmark = pytest.mark.both_backends


def _login_fail(store):
    with pytest.raises(users.LoginFailed):
        users.login(store, "auditor", "salah-sandi-1")


def _actions(tmp_path):
    """(what, expected audit action, performs it) in order."""
    return [
        (
            "create user",
            "user.create",
            lambda s: users.add_user(s, SYSTEM, "auditor", "Sandi-Panjang-1", "viewer"),
        ),
        ("login success", "login.success", lambda s: users.login(s, "auditor", "Sandi-Panjang-1")),
        ("login failure", "login.failure", _login_fail),
        (
            "login unknown user",
            "login.failure",
            lambda s: pytest.raises(users.LoginFailed, users.login, s, "tidak.ada", "apa-saja-123"),
        ),
        (
            "update user",
            "user.update",
            lambda s: users.update_user(s, SYSTEM, "auditor", display_name="Auditor"),
        ),
        (
            "change password",
            "user.password",
            lambda s: users.set_password(s, SYSTEM, "auditor", "Sandi-Baru-22"),
        ),
        ("unlock code", "user.unlock_code", lambda s: users.issue_unlock_code(s, SYSTEM, "auditor")),
        ("create submission", "submission.create", lambda s: ingest_bytes(s, SYSTEM, ASSESS_CSV, "a.csv")),
        (
            "update registry",
            "registry.load",
            lambda s: load_registry_bytes(
                s,
                SYSTEM,
                b"city_code,name,province,category,population\n0101,Kota Uji Baru,Jawa Barat,kecil,1\n",
                "c.csv",
            ),
        ),
        ("approve (verify)", "verification.create", lambda s: verify(s, SYSTEM, "0101", 2023, "G1", 2, "ok")),
        ("close year", "period.closed", lambda s: set_period(s, SYSTEM, "0101", 2023, "closed")),
        ("lock year", "period.locked", lambda s: set_period(s, SYSTEM, "0101", 2023, "locked")),
        ("export", "export", lambda s: reports.export(s, SYSTEM, 2023, "0101", "xlsx")),
        ("backup", "backup.create", lambda s: make_backup(s, SYSTEM, tmp_path / "b.zip")),
        ("disable user", "user.update", lambda s: users.update_user(s, SYSTEM, "auditor", active=False)),
        (
            "login disabled",
            "login.failure",
            lambda s: pytest.raises(users.LoginFailed, users.login, s, "auditor", "Sandi-Baru-22"),
        ),
    ]


def test_every_action_writes_exactly_one_chained_row(mini, tmp_path):
    actions = _actions(tmp_path)
    for what, expected, act in actions:
        n = mini.audit_count()
        act(mini)
        rows = mini.audit_rows()
        assert len(rows) == n + 1, f"{what}: {len(rows) - n} audit rows"
        assert rows[-1].action == expected, what
    rows = mini.audit_rows()
    assert verify_chain(rows) == []
    # count actions vs audit rows, per action name
    tail = [r.action for r in rows[-len(actions) :]]
    assert tail == [e for _, e, _ in actions]


def test_a_batch_stored_in_one_transaction_chains_one_row_per_file(mini, tmp_path):
    # several files in one transaction go through the many-rows writer: each row must still
    # point at the one before it, the first at the row already stored
    users.add_user(mini, SYSTEM, "sebelum", "Sandi-Panjang-1", "viewer")
    names = []
    for level in (1, 2, 3):
        name = f"batch-{level}.csv"
        (tmp_path / name).write_bytes(ASSESS_CSV.replace(b";G1;3;", f";G1;{level};".encode()))
        names.append(name)
    n = mini.audit_count()
    results = ingest_paths(mini, SYSTEM, [tmp_path], workers=1)
    assert [r.status for r in results] == ["accepted"] * 3
    rows = mini.audit_rows()
    assert [(r.action, r.object) for r in rows[n:]] == [("submission.create", f"file:{f}") for f in names]
    assert [r.prev_hash for r in rows[n:]] == [r.hash for r in rows[n - 1 : -1]]
    assert verify_chain(rows) == []


def test_the_store_has_no_way_to_change_an_audit_row():
    src = "\n".join(p.read_text() for p in sorted((ROOT / "metrics" / "store").glob("*.py")))
    assert not re.search(r"(UPDATE|DELETE\s+FROM)\s+audit\b", src, re.I)
    assert re.search(r"INSERT INTO audit", src)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "metrics", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_cli_audit_verify_detects_tampering(mini, tmp_path, tamper, backend):
    users.add_user(mini, SYSTEM, "korban", "Sandi-Panjang-1", "viewer")
    ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv")
    reports.export(mini, SYSTEM, 2023, None, "csv")
    path = mini.path
    mini.checkpoint()
    r = _cli("--db", path, "audit", "verify")
    if backend == "duckdb":
        # the fixture's store holds the file; a verify from another process is refused cleanly
        assert r.returncode == 1 and "in use by another process" in r.stderr
    else:  # processes share a PostgreSQL store: another one verifies while this one is open
        assert r.returncode == 0 and "AUDIT CHAIN BROKEN" not in r.stderr, (r.stdout, r.stderr)
    with mini.cursor() as cur:  # what an intruder with file access would do
        if tamper == "edit":
            cur.execute("UPDATE audit SET after = '{\"role\":\"admin\"}' WHERE action = 'user.create'")
        elif tamper == "delete":
            cur.execute("DELETE FROM audit WHERE action = 'submission.create'")
        else:
            cur.execute("UPDATE audit SET logged_at = '2000-01-01T00:00:00+00:00' WHERE action = 'export'")
    mini.checkpoint()
    mini.close()
    r = _cli("--db", path, "audit", "verify")
    assert r.returncode == 1 and "AUDIT CHAIN BROKEN" in r.stderr, (r.stdout, r.stderr)


def test_cli_audit_verify_passes_an_untouched_chain(mini):
    users.add_user(mini, SYSTEM, "biasa", "Sandi-Panjang-1", "viewer")
    path = mini.path
    mini.checkpoint()
    mini.close()
    r = _cli("--db", path, "audit", "verify")
    assert r.returncode == 0 and "chain intact" in r.stdout


# --------------------------------------------------------------------------- keyed chain and head (issue 14)
# The chain is keyed (HMAC under a key kept outside the database, metrics.keys) and its head
# (last id, last hash, row count) is kept outside the database too. Each way of cutting or
# rewriting the log is reported in its own sentence by `audit verify` (exit 1) and the core.


@pytest.fixture
def logged(mini):
    """The mini store with 30 audit rows."""
    from metrics import admin

    for k in range(27):
        admin.set_public_read(mini, SYSTEM, k % 2 == 0)
    assert mini.audit_count() == 30
    return mini


def _plain_rechain(cur, from_id: int, to_id: int = 1 << 62) -> None:
    """What an intruder without the key does after editing a row: recompute the chain from it."""
    from metrics.audit import row_hash

    rows = cur.execute(
        "SELECT id, logged_at, username, action, object, before, after, prev_hash FROM audit "
        "WHERE id BETWEEN ? AND ? ORDER BY id",
        [from_id, to_id],
    ).fetchall()
    prev = cur.execute("SELECT hash FROM audit WHERE id = ?", [from_id - 1]).fetchone()[0]
    for i, at, u, a, o, b, af, _p in rows:
        h = row_hash(prev, i, at, u, a, o, b, af)  # no key: plain SHA-256, the old scheme
        cur.execute("DELETE FROM audit WHERE id = ?", [i])
        cur.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [i, at, u, a, o, b, af, prev, h])
        prev = h


def _guessed_key_rechain(cur, from_id: int) -> None:
    """The same with a key of the intruder's own, so the rows still look keyed."""
    from metrics.audit import row_hash
    from metrics.keys import InstallationKey

    guess = InstallationKey(b"x" * 32, None)
    rows = cur.execute(
        "SELECT id, logged_at, username, action, object, before, after FROM audit WHERE id >= ? ORDER BY id",
        [from_id],
    ).fetchall()
    prev = cur.execute("SELECT hash FROM audit WHERE id = ?", [from_id - 1]).fetchone()[0]
    for i, at, u, a, o, b, af in rows:
        h = row_hash(prev, i, at, u, a, o, b, af, guess)
        cur.execute("DELETE FROM audit WHERE id = ?", [i])
        cur.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [i, at, u, a, o, b, af, prev, h])
        prev = h


TAMPERING = {
    # name: (what the intruder does on the open store, expected finding keys, an English phrase)
    "newest_row": (
        lambda s, c: c.execute("DELETE FROM audit WHERE id = 30"),
        {"tail_cut"},
        "The newest 1 audit rows are missing (ids 30–30)",
    ),
    "newest_20": (
        lambda s, c: c.execute("DELETE FROM audit WHERE id > 10"),
        {"tail_cut"},
        "The newest 20 audit rows are missing (ids 11–30)",
    ),
    "every_row": (
        lambda s, c: c.execute("DELETE FROM audit"),
        {"all_deleted"},
        "Every audit row has been deleted: the chain head kept outside the database records 30 rows",
    ),
    "edit_and_rechain_without_key": (
        lambda s, c: (
            c.execute("UPDATE audit SET after = '{\"value\":false}' WHERE id = 12"),
            _plain_rechain(c, 12),
        ),
        {"unkeyed", "head_mismatch"},
        "19 audit rows were rewritten without the key",
    ),
    "edit_and_rechain_with_a_guessed_key": (
        lambda s, c: (
            c.execute("UPDATE audit SET after = '{\"value\":false}' WHERE id = 12"),
            _guessed_key_rechain(c, 12),
        ),
        {"broken", "head_mismatch"},
        "19 audit rows do not match the keyed chain (ids 12, 13,",
    ),
    "edit_one_row": (
        lambda s, c: c.execute("UPDATE audit SET username = 'orang-lain' WHERE id = 5"),
        {"broken"},
        "1 audit rows do not match the keyed chain (ids 5)",
    ),
    "drop_table": (
        lambda s, c: c.execute("DROP TABLE audit"),
        {"table_missing"},
        "The audit table is missing from the database",
    ),
    "delete_head_file": (
        lambda s, c: head_path(s.path).unlink(),
        {"head_missing"},
        "The chain head kept outside the database",
    ),
    "edit_head_file": (
        lambda s, c: head_path(s.path).write_text(
            head_path(s.path).read_text().replace('"rows": 30', '"rows": 10')
        ),
        {"head_bad"},
        "is not signed with this installation's key",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_audit_verify_reports_each_kind_of_tampering(logged, case):
    from metrics.audit import verify_store

    tamper, expected, phrase = TAMPERING[case]
    assert verify_store(logged).ok
    with logged.cursor() as cur:
        tamper(logged, cur)
    rep = verify_store(logged)
    assert not rep.ok and {f.key for f in rep.findings if f.error} == expected, rep.findings
    assert any(phrase in m for m in rep.problems("en")), rep.problems("en")
    assert all(m.strip() for m in rep.problems("id"))
    path = logged.path
    logged.checkpoint()
    logged.close()
    r = _cli("--db", path, "--lang", "en", "audit", "verify")
    assert r.returncode == 1 and "AUDIT CHAIN BROKEN" in r.stderr and phrase in r.stderr, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr


def test_the_head_outside_the_database_follows_every_commit_once(mini, tmp_path, monkeypatch, backend):
    from metrics import audit
    from metrics.audit import read_head, verify_store

    status, head = read_head(mini.path, mini.audit_key)
    assert status == "ok" and (head.rows, head.last_id) == (3, 3)
    writes = []
    # several processes publish a PostgreSQL store's head: each writes it only if it is newer
    write_head = "write_head_if_newer" if backend == "postgresql" else "write_head"
    real = getattr(audit, write_head)
    monkeypatch.setattr(audit, write_head, lambda *a: (writes.append(a[1]), real(*a)))
    for level in (1, 2, 3):
        (tmp_path / f"f{level}.csv").write_bytes(ASSESS_CSV.replace(b";G1;3;", f";G1;{level};".encode()))
    assert all(r.accepted for r in ingest_paths(mini, SYSTEM, [tmp_path], workers=1))
    assert len(writes) == 1 and writes[0].rows == 6  # one batch transaction, one head write
    assert read_head(mini.path, mini.audit_key)[1].last_hash == mini.audit_rows()[-1].hash
    # a crash between commit and head write leaves the head behind: said, not an alarm
    monkeypatch.setattr(audit, write_head, lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    users.add_user(mini, SYSTEM, "sesudah", "Sandi-Panjang-1", "viewer")
    rep = verify_store(mini)
    assert rep.ok and [f.key for f in rep.findings] == ["head_behind"]
    monkeypatch.setattr(audit, write_head, real)
    users.update_user(mini, SYSTEM, "sesudah", display_name="Sesudah")
    assert verify_store(mini).findings == ()


def test_a_log_from_before_keying_is_kept_as_legacy_and_anchored(tmp_path):
    """An existing database with plain SHA-256 rows: not re-chained; its rows are checked as a
    plain chain, and the first keyed row (whose HMAC covers the last plain hash) anchors them."""
    import duckdb

    from metrics.audit import GENESIS, row_hash, verify_store
    from metrics.store import Store

    path = tmp_path / "lama.duckdb"
    Store(path).close()
    for suffix in (".key", ".audit-head"):
        Path(str(path) + suffix).unlink()
    con = duckdb.connect(str(path))
    prev = GENESIS
    for i in (1, 2, 3):  # what the previous version wrote
        at = f"2024-01-0{i}T00:00:00.000000+00:00"
        h = row_hash(prev, i, at, "system", "registry.load", f"file:{i}.csv", None, None)
        con.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [i, at, "system", "registry.load", f"file:{i}.csv", None, None, prev, h],
        )
        prev = h
    con.close()
    store = Store(path)  # first open with keying: a key is made and the head adopts the log
    try:
        users.add_user(store, SYSTEM, "baru", "Sandi-Panjang-1", "viewer")
        rep = verify_store(store)
        assert rep.ok and (rep.legacy, rep.keyed) == (3, 1) and "legacy" in rep.keys()  # noqa: SIM118 (a report, not a dict)
        with (
            store.cursor() as cur
        ):  # rewrite a legacy row and the plain chain after it: the keyed row notices
            cur.execute("UPDATE audit SET object = 'file:palsu.csv' WHERE id = 2")
            _plain_rechain(cur, 2, 3)
        rep = verify_store(store)
        assert not rep.ok and rep.broken == (4,) and rep.keys() == ["broken", "legacy"]
        with store.cursor() as cur:  # the keyed row rewritten plain as well: the head notices
            _plain_rechain(cur, 4)
        rep = verify_store(store)
        assert not rep.ok and rep.keys() == ["head_mismatch", "legacy"] and rep.legacy == 4
    finally:
        store.close()


def test_a_missing_key_is_reported_and_verify_does_not_make_one(logged):
    path = logged.path
    logged.checkpoint()
    logged.close()
    key_path(path).unlink()
    r = _cli("--db", path, "--lang", "en", "audit", "verify")
    assert r.returncode == 1 and "The installation key" in r.stderr and "30 keyed audit rows" in r.stderr, (
        r.stderr
    )
    assert not key_path(path).exists()  # a check changes nothing it checks
