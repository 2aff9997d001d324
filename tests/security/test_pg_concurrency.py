"""Several processes writing to one PostgreSQL store at once (issue 19): nothing lost, nothing
duplicated, score tables equal to a recomputation from the raw rows, one audit chain.

4 processes x 4 threads, each its own `Store(url)` on one database copied from the mini
template, upload through the core's real entry points (`entry.upload`, what the upload page
calls, as OPD operators; `ingest_bytes` for the admin's two-city files), most of them to the
same OPDs of the same city-year at the same moment (tests/security/pg_writers.py). The locking
design under proof is in metrics/store/pg/connection.py's docstring: without it, the same run
ends with duplicated score groups or a broken audit chain (shown by hand, see the issue's note).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics import audit, scoring
from metrics.store import Store
from metrics.store.score_sql import DERIVED_TABLES
from tests import pg_cluster
from tests.conftest import ROOT, _pg_copy
from tests.security.pg_writers import Upload, plan

PROCESSES, THREADS, UPLOADS = 4, 4, 12
# each score table's group: one row per key (fw_seq included: a duplicate has the same one)
GROUPS = {
    "score_cy": ("city_code", "year", "fw_seq"),
    "score_facts": ("city_code", "year", "fw_seq", "indicator_code"),
    "score_parts": ("city_code", "year", "fw_seq", "kind", "code"),
    "score_city": ("city_code", "year", "fw_seq"),
}


def run_writers(
    url: str,
    processes: int = PROCESSES,
    threads: int = THREADS,
    uploads: int = UPLOADS,
    cmd: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Start the writer processes, let them all go at once, and collect one line per upload."""
    cmd = cmd or [sys.executable, "-m", "tests.security.pg_writers"]
    procs = [
        subprocess.Popen(
            [*cmd, url, str(p), str(threads), str(uploads)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(processes)
    ]
    try:
        for p in procs:
            ready = p.stdout.readline() if p.stdout else ""
            assert ready.strip() == "READY", (ready, p.stderr.read() if p.stderr else "")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        lines: list[dict[str, Any]] = []
        for p in procs:
            out, err = p.communicate(timeout=900)
            assert p.returncode == 0, err[-3000:]
            lines += [json.loads(x) for x in out.splitlines() if x.strip()]
        return lines
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def table_rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    """A score table's rows, sorted, floats to 9 places (a rebuild may add in another order)."""

    def norm(v: object) -> object:
        if isinstance(v, float):
            return round(v, 9)
        if isinstance(v, list):
            return tuple(norm(x) for x in v)
        return v

    with store.cursor() as cur:
        rows = cur.execute(f"SELECT * FROM {table}").fetchall()  # fixed table names
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)


@pytest.fixture(scope="module")
def proof(pg_state_dir: Path, mini_pg_template: str) -> Iterator[dict[str, Any]]:
    """One run of every writer on a fresh copy of the mini store; then the store, and a second
    copy of the database as the writers left it (whose score tables a test rebuilds)."""
    url = _pg_copy(mini_pg_template)
    before = Store(url)
    audit_before = len(before.audit_rows())
    before.close()
    lines = run_writers(url)
    copy_url = _pg_copy(url)  # no connection is open to `url` now, as a template needs
    store, copy = Store(url), Store(copy_url)
    try:
        yield {"store": store, "copy": copy, "lines": lines, "audit_before": audit_before}
    finally:
        store.close()
        copy.close()
        pg_cluster.drop_database(url)
        pg_cluster.drop_database(copy_url)


def _plans() -> list[Upload]:
    return [plan(p, t, k) for p in range(PROCESSES) for t in range(THREADS) for k in range(UPLOADS)]


def _accepted(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for x in lines if x.get("status") == "accepted"]


def _ran(proof: dict[str, Any]) -> None:
    """The score checks mean something only after the writers stored what they planned."""
    assert len(_accepted(proof["lines"])) == sum(up.valid for up in _plans())


def test_every_upload_is_accepted_or_refused_as_planned(proof):
    lines = proof["lines"]
    assert len(lines) == PROCESSES * THREADS * UPLOADS
    assert [x["error"] for x in lines if x["error"]] == []
    planned = {up.name: up.valid for up in _plans()}
    assert sorted(x["name"] for x in lines) == sorted(planned)
    for x in lines:
        assert x["error"] is None
        if planned[x["name"]]:
            assert x["status"] == "accepted" and x["ids"], x
        else:
            assert x["status"] != "accepted" and x["problems"] and x["ids"] == [], x
    # the contention was real: half the uploads went to the same city-year, 0101 in 2023
    hot = [up for up in _plans() if up.valid and up.user in (("0101", "01"), ("0101", "03"))]
    assert len(hot) >= len(lines) / 2


def test_no_submission_lost_or_duplicated(proof):
    store, lines = proof["store"], proof["lines"]
    ids = [i for x in _accepted(lines) for i in x["ids"]]
    assert len(ids) == len(set(ids))  # each its own id
    frame = store.submissions_frame()
    assert sorted(frame["id"]) == sorted(ids)  # every accepted one stored, nothing else
    # each submission holds the answers of its own file's unit, nothing mixed in from another
    files = {up.name: up for up in _plans()}
    for x in _accepted(lines):
        sent: dict[tuple[str, str, int], dict[str, int]] = {}
        for row in files[x["name"]].data.decode().splitlines()[1:]:
            city, opd, year, code, level = row.split(",")[:5]
            sent.setdefault((city, opd, int(year)), {})[code] = int(level)
        stored = {}
        for sid in x["ids"]:
            meta = store.submission(sid)
            rows = store.submission_rows(sid)
            assert meta is not None and rows is not None and meta.n_rows == len(rows)
            stored[meta.city_code, meta.opd_code, meta.year] = dict(
                zip(rows["indicator_code"], map(int, rows["level"]), strict=True)
            )
        assert stored == sent, x["name"]


def test_the_audit_chain_verifies_with_one_row_per_accepted_upload(proof):
    store, lines = proof["store"], proof["lines"]
    report = audit.verify_store(store)
    assert report.ok and not report.broken, report.problems("en")
    rows = store.audit_rows()
    new = rows[proof["audit_before"] :]
    assert [r.id for r in rows] == list(range(1, len(rows) + 1))
    accepted = _accepted(lines)
    assert len(new) == len(accepted)
    assert {r.action for r in new} == {"submission.create"}
    assert sorted(r.object for r in new) == sorted(f"file:{x['name']}" for x in accepted)
    by_file = {x["name"]: sorted(x["ids"]) for x in accepted}
    for r in new:
        after = json.loads(r.after or "{}")
        assert sorted(s["id"] for s in after["submissions"]) == by_file[r.object.removeprefix("file:")]


def test_score_tables_have_one_row_per_group(proof):
    _ran(proof)
    store = proof["store"]
    with store.cursor() as cur:
        for table, key in GROUPS.items():
            cols = ", ".join(key)  # fixed column names
            dup = cur.execute(
                f"SELECT {cols}, count(*) FROM {table} GROUP BY {cols} HAVING count(*) > 1"
            ).fetchall()
            assert dup == [], (table, dup[:5])
        hot = cur.execute(
            "SELECT count(*) FROM score_city WHERE city_code = '0101' AND year = 2023"
        ).fetchone()
    assert hot == (1,)  # and the contended city-year is there at all


def test_score_tables_equal_a_recomputation_from_the_raw_rows(proof):
    _ran(proof)
    store = proof["store"]
    years = sorted({int(y) for y in store.submissions_frame()["year"]})
    assert years == [2023, 2024, *range(2025, 2025 + PROCESSES)]
    assert scoring.recomputation_differences(store, years) == []
    kept = scoring.score(store, years)
    assert {(s.city_code, s.year) for s in kept} >= {("0101", 2023), ("0202", 2024)}


def test_score_tables_equal_a_rebuild_of_everything(proof):
    _ran(proof)
    store, copy = proof["store"], proof["copy"]
    assert set(GROUPS) == set(DERIVED_TABLES)
    copy.refresh_score_tables()
    for table in DERIVED_TABLES:
        kept, rebuilt = table_rows(store, table), table_rows(copy, table)
        assert kept, table
        assert kept == rebuilt, table
