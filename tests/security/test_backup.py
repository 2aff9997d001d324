"""Backup and restore through the operator's command line: `python -m metrics backup -o FILE`
and `restore FILE` into a fresh directory give identical scores, an intact audit chain, and
sequences that continue (a new submission after restore gets a fresh id); a damaged backup is
refused before anything is written.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from metrics.auth import SYSTEM
from metrics.governance import set_period, verify
from metrics.ingest import ingest_bytes
from tests.conftest import ASSESS_CSV, ROOT, make_mini_store

HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "metrics", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, input=stdin, timeout=180)


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "live" / "kota.duckdb"
    store = make_mini_store(path)
    assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert ingest_bytes(store, SYSTEM, (HEAD + "0101,01,2023,G1,4,revisi,\n").encode(), "b.csv").accepted
    assert ingest_bytes(store, SYSTEM, (HEAD + "0202,01,2024,G1,2,,\n").encode(), "c.csv").accepted
    verify(store, SYSTEM, "0101", 2023, "G2", 3, "kunjungan lapangan")
    set_period(store, SYSTEM, "0202", 2024, "locked")
    store.checkpoint()
    store.close()
    return path


def _scores(db, year):
    r = cli("--db", db, "score", "--year", year, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_backup_restore_identical_and_sequences_continue(source, tmp_path):
    out = tmp_path / "cadangan" / "kota-backup.zip"
    out.parent.mkdir()
    r = cli("--db", source, "backup", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "sha256" in r.stdout
    fresh = tmp_path / "server-baru" / "kota.duckdb"
    r = cli("--db", fresh, "restore", out)
    assert r.returncode == 0, r.stderr
    for year in (2023, 2024):
        assert _scores(fresh, year) == _scores(source, year)
    r = cli("--db", fresh, "audit", "verify")
    assert r.returncode == 0 and "chain intact" in r.stdout, r.stderr
    # the backup's own audit row travelled with it
    from metrics.store import Store

    src, dst = Store(source), Store(fresh)
    try:
        assert dst.content_fingerprint() == src.content_fingerprint()
        assert dst.audit_rows()[-1].action == "backup.create"
        old_max = int(src.submissions_frame()["id"].max())
        old_ver = len(dst.verification_rows("0101", 2023))
    finally:
        src.close()
        dst.close()
    # sequences continue after restore: fresh ids, no collision with restored rows
    f = tmp_path / "baru.csv"
    f.write_bytes((HEAD + "0101,02,2023,G2,1,,\n").encode())
    r = cli("--db", fresh, "ingest", "--json", f)
    assert r.returncode == 0, r.stdout + r.stderr
    (res,) = json.loads(r.stdout)
    assert res["submissions"] and min(res["submissions"]) > old_max
    dst = Store(fresh)
    try:
        vid = verify(dst, SYSTEM, "0101", 2023, "G1", 2, "setelah pemulihan")
        assert vid > old_ver
        assert dst.period_status("0202", 2024) == "locked"  # the lock survived too
    finally:
        dst.close()


def test_damaged_backup_refused_and_nothing_written(source, tmp_path):
    out = tmp_path / "b.zip"
    assert cli("--db", source, "backup", "-o", out).returncode == 0
    zin = zipfile.ZipFile(out)
    parts = {n: zin.read(n) for n in zin.namelist()}
    victim = next(n for n in parts if n.endswith(".parquet"))
    parts[victim] = parts[victim][:-10] + b"\x00" * 10
    bad = tmp_path / "rusak.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, c in parts.items():
            z.writestr(n, c)
    bad.write_bytes(buf.getvalue())
    target = tmp_path / "baru" / "x.duckdb"
    r = cli("--db", target, "restore", bad)
    assert r.returncode == 1 and "checksum" in r.stderr and victim in r.stderr
    assert not target.exists()
    r = cli("--db", target, "--lang", "en", "restore", tmp_path / "nope.zip")
    assert r.returncode == 1 and "Invalid backup" in r.stderr


def test_restore_never_overwrites_without_force(source, tmp_path):
    out = tmp_path / "b.zip"
    assert cli("--db", source, "backup", "-o", out).returncode == 0
    before = source.read_bytes()
    r = cli("--db", source, "restore", out)
    assert r.returncode == 1 and "--force" in r.stderr
    assert source.read_bytes() == before
