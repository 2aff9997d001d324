"""Audit: every create, update, approve, lock, login (success and failure), export and backup
writes exactly one append-only, hash-chained audit row; `python -m metrics audit verify` finds
a row edited or deleted behind the application's back."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from metrics import reports, users
from metrics.audit import verify_chain
from metrics.auth import SYSTEM
from metrics.backup import make_backup
from metrics.governance import load_registry_bytes, set_period, verify
from metrics.ingest import ingest_bytes, ingest_paths
from tests.conftest import ASSESS_CSV, ROOT


def _login_fail(store):
    with pytest.raises(users.LoginFailed):
        users.login(store, "auditor", "salah-sandi-1")


def _actions(tmp_path):
    """(what, expected audit action, performs it) in order."""
    return [
        ("create user", "user.create", lambda s: users.add_user(s, SYSTEM, "auditor", "Sandi-Panjang-1", "viewer")),
        ("login success", "login.success", lambda s: users.login(s, "auditor", "Sandi-Panjang-1")),
        ("login failure", "login.failure", _login_fail),
        ("login unknown user", "login.failure", lambda s: pytest.raises(users.LoginFailed, users.login, s,
                                                                        "tidak.ada", "apa-saja-123")),
        ("update user", "user.update", lambda s: users.update_user(s, SYSTEM, "auditor", display_name="Auditor")),
        ("change password", "user.password", lambda s: users.set_password(s, SYSTEM, "auditor", "Sandi-Baru-22")),
        ("create submission", "submission.create", lambda s: ingest_bytes(s, SYSTEM, ASSESS_CSV, "a.csv")),
        ("update registry", "registry.load", lambda s: load_registry_bytes(
            s, SYSTEM, b"city_code,name,province,category,population\n0101,Kota Uji Baru,Jawa Barat,kecil,1\n", "c.csv")),
        ("approve (verify)", "verification.create", lambda s: verify(s, SYSTEM, "0101", 2023, "G1", 2, "ok")),
        ("close year", "period.closed", lambda s: set_period(s, SYSTEM, "0101", 2023, "closed")),
        ("lock year", "period.locked", lambda s: set_period(s, SYSTEM, "0101", 2023, "locked")),
        ("export", "export", lambda s: reports.export(s, SYSTEM, 2023, "0101", "xlsx")),
        ("backup", "backup.create", lambda s: make_backup(s, SYSTEM, tmp_path / "b.zip")),
        ("disable user", "user.update", lambda s: users.update_user(s, SYSTEM, "auditor", active=False)),
        ("login disabled", "login.failure", lambda s: pytest.raises(users.LoginFailed, users.login, s, "auditor",
                                                                    "Sandi-Baru-22")),
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
    tail = [r.action for r in rows[-len(actions):]]
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
    assert [r.prev_hash for r in rows[n:]] == [r.hash for r in rows[n - 1:-1]]
    assert verify_chain(rows) == []


def test_the_store_has_no_way_to_change_an_audit_row():
    src = (ROOT / "metrics" / "store.py").read_text()
    assert not re.search(r"(UPDATE|DELETE\s+FROM)\s+audit\b", src, re.I)
    assert re.search(r"INSERT INTO audit", src)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "metrics", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_cli_audit_verify_detects_tampering(mini, tmp_path, tamper):
    users.add_user(mini, SYSTEM, "korban", "Sandi-Panjang-1", "viewer")
    ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv")
    reports.export(mini, SYSTEM, 2023, None, "csv")
    path = mini.path
    mini.checkpoint()
    r = _cli("--db", path, "audit", "verify")
    # the fixture's store holds the file; a verify from another process is refused cleanly
    assert r.returncode == 1 and "in use by another process" in r.stderr
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
