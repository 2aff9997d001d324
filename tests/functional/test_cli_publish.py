"""`python -m metrics publish` end to end, as a subprocess on a copy of the demo database: the
open-data package written and listed, the same bytes again, refusals with nothing written."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from frictionless import Package

from metrics import admin
from metrics.auth import SYSTEM
from metrics.demo import YEARS
from metrics.opendata import FILE_NAMES
from metrics.store import Store
from tests.conftest import ROOT, copy_db

YEAR = YEARS[-1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def db(demo_db_file: Path, tmp_path: Path) -> str:
    path = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, path)
    return str(path)


def _set_public(db: str, value: bool) -> None:
    store = Store(db)
    try:
        admin.set_public_read(store, SYSTEM, value)
    finally:
        store.close()


def _audit(db: str) -> list[tuple[str, str, str]]:
    store = Store(db)
    try:
        return [(r.username, r.action, r.object) for r in store.audit_rows()]
    finally:
        store.close()


def test_publish_writes_a_valid_package_lists_it_and_rewrites_the_same_bytes(db, tmp_path):
    _set_public(db, True)
    out = tmp_path / "data-terbuka"
    r = run("--db", db, "publish", "--year", str(YEAR), "-o", str(out), "--lang", "en")
    assert r.returncode == 0, r.stderr
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(files) == sorted(FILE_NAMES)
    lines = r.stdout.splitlines()
    # one line per file, with its size and SHA-256, then the sentence (in the --lang given after the command)
    for name, line in zip(FILE_NAMES, lines):
        content = files[name]
        assert line == f"{out / name}  {len(content)} bytes  sha256 {hashlib.sha256(content).hexdigest()}"
    assert lines[-1] == f"6 open-data files for {YEAR} written to {out}"
    assert Package(str(out / "datapackage.json")).validate().valid
    assert _audit(db)[-1] == ("system", "opendata.publish", f"opendata:{YEAR}")

    r = run("--db", db, "publish", "--year", str(YEAR), "-o", str(out), "--license", "CC-BY-4.0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == f"6 berkas data terbuka tahun {YEAR} ditulis ke {out}"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files  # idempotent, byte for byte

    r = run("--db", db, "publish", "--year", str(YEAR), "-o", str(tmp_path / "cc0"), "--license", "CC0-1.0")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "cc0" / "datapackage.json").read_text())["licenses"][0]["name"] == "CC0-1.0"


def test_publish_refuses_unpublished_results_a_viewer_and_a_foreign_folder(db, tmp_path):
    out = tmp_path / "out"
    r = run("--db", db, "--lang", "en", "publish", "--year", str(YEAR), "-o", str(out))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().startswith(f"Results are not published: the {YEAR} open data")
    assert not out.exists()
    assert not [a for a in _audit(db) if a[1] == "opendata.publish"]

    _set_public(db, True)
    r = run("--db", db, "publish", "--year", str(YEAR), "-o", str(out), "--user", "tamu")
    assert r.returncode == 1 and not out.exists()

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "laporan.xlsx").write_bytes(b"user file")
    r = run("--db", db, "publish", "--year", str(YEAR), "-o", str(mine))
    assert r.returncode == 1 and "tidak kosong" in r.stderr
    assert [p.name for p in mine.iterdir()] == ["laporan.xlsx"]

    r = run("--db", db, "publish", "--year", str(YEAR), "-o", str(out), "--license", "GPL-3.0")
    assert r.returncode == 2 and not out.exists()  # not among the choices: a usage error
