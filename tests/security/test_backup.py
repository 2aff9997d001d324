"""Backup and restore through the operator's command line: `python -m metrics backup -o FILE`
and `restore FILE` into a fresh directory (holding this installation's key) give identical
scores, an intact audit chain, and sequences that continue (a new submission after restore gets
a fresh id); a damaged backup is refused before anything is written.

Hostile backups (issue 14; built by tools/fuzz.hostile_backups): byte flips, a damaged zip, a
manifest listing a missing entry, a 2 GB entry declared in the zip directory, an edited level
with the manifest recomputed, an archive carrying SQL that writes a file, another schema version,
retyped or extra columns, lying row counts. Each is refused in one sentence (never a traceback),
the live database stays byte for byte what it was (also after --force), and no SQL from the
archive runs. An edited backup restores only when imported as foreign, which is audited.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from metrics import admin
from metrics import audit as audit_chain
from metrics import keys as installation_keys
from metrics.auth import SYSTEM, User
from metrics.backup import make_backup, restore_backup
from metrics.errors import CoreError
from metrics.governance import set_period, verify
from metrics.ingest import ingest_bytes
from metrics.store import Store
from tests.conftest import ASSESS_CSV, ROOT, copy_db, make_mini_store
from tools import fuzz

HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "metrics", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=180,
    )


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "live" / "kota.duckdb"
    store = make_mini_store(path)
    assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert ingest_bytes(
        store, SYSTEM, (HEAD + "0101,01,2023,G1,4,revisi,\n").encode(), "b.csv", mode="replace"
    ).accepted
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
    fresh.parent.mkdir()
    # the administrator brings this installation's key (kept apart from the backups) along
    shutil.copy(str(source) + ".key", str(fresh) + ".key")
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
    target.parent.mkdir()
    shutil.copy(str(source) + ".key", str(target) + ".key")
    r = cli("--db", target, "restore", bad)
    assert r.returncode == 1 and "checksum" in r.stderr and victim in r.stderr
    assert not target.exists() and sorted(p.name for p in target.parent.iterdir()) == ["x.duckdb.key"]
    r = cli("--db", target, "--lang", "en", "restore", tmp_path / "nope.zip")
    assert r.returncode == 1 and "Invalid backup" in r.stderr


def test_restore_never_overwrites_without_force(source, tmp_path):
    out = tmp_path / "b.zip"
    assert cli("--db", source, "backup", "-o", out).returncode == 0
    before = source.read_bytes()
    r = cli("--db", source, "restore", out)
    assert r.returncode == 1 and "--force" in r.stderr
    assert source.read_bytes() == before


# --------------------------------------------------------------------------- hostile backups

# what each hostile variant must be refused with (tools/fuzz.hostile_backups)
REFUSALS = {
    "truncated": "backup.bad",
    "not_a_zip": "backup.bad",
    "duplicate_entry": "backup.bad",
    "missing_entry": "backup.missing_entry",
    "manifest_lists_missing_entry": "backup.missing_entry",
    "declared_2gb_entry": "backup.entry_too_large",
    "declared_8_5gb_total": "backup.too_large",
    "edited_level_manifest_recomputed": "backup.not_ours",
    "sql_archive": "backup.unexpected_entry",
    "sql_entry_in_backup": "backup.unexpected_entry",
    "path_traversal_entry": "backup.unexpected_entry",
    "other_schema_version": "backup.schema",
    "old_format": "backup.format",
    "extra_column": "backup.columns",
    "retyped_column": "backup.columns",
    "row_count_lies": "backup.counts",
    "unknown_table": "backup.tables",
}


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def live(source, tmp_path):
    """A live database (with its key and head) and a valid backup of it, made by the core."""
    folder = tmp_path / "server"
    folder.mkdir()
    db = copy_db(source, folder / "kota.duckdb")
    store = Store(db)
    out = tmp_path / "valid.zip"
    make_backup(store, SYSTEM, out)
    store.checkpoint()
    fingerprint = store.content_fingerprint()
    store.close()
    key = installation_keys.load_key(str(db), create=False)
    return db, out.read_bytes(), key, fingerprint


def test_hostile_backups_are_refused_in_a_sentence_and_the_live_database_is_untouched(live, tmp_path):
    db, valid, key, fingerprint = live
    canary = tmp_path / "dari-sql.csv"
    cases = fuzz.hostile_backups(valid, str(canary), key)
    assert set(REFUSALS) <= set(cases)
    listing = sorted(p.name for p in db.parent.iterdir())
    before = _digest(db)
    seen = {}
    for name, data in cases.items():
        src = tmp_path / "hostile.zip"
        src.write_bytes(data)
        try:
            restore_backup(src, db, force=True)
        except CoreError as exc:
            seen[name] = exc.key
            assert exc.message("id") and exc.message("en") and exc.message("id") != exc.message("en"), name
            assert "Traceback" not in exc.message("en")
            assert _digest(db) == before, name
            assert sorted(p.name for p in db.parent.iterdir()) == listing, name  # nothing left behind
        else:
            # only a flip in a field nothing reads (a timestamp, the comment) may restore, and exactly
            assert name.startswith("flip_"), name
            restored = Store(db)
            try:
                assert restored.content_fingerprint() == fingerprint
                assert audit_chain.verify_store(restored).ok
            finally:
                restored.close()
            for p in db.parent.glob("*.before-restore-*"):
                p.unlink()
            before = _digest(db)
        assert not canary.exists(), name
    assert {n: seen.get(n) for n in REFUSALS} == REFUSALS
    flips = [n for n in cases if n.startswith("flip_")]
    assert sum(n in seen for n in flips) >= len(flips) * 2 // 3  # most flips land on checked bytes


def test_sql_in_a_backup_never_runs_even_through_the_cli_with_force_and_foreign(live, tmp_path):
    db, _valid, _key, _fp = live
    canary = tmp_path / "ditulis-oleh-copy.csv"
    evil = tmp_path / "evil.zip"
    evil.write_bytes(fuzz.sql_archive(str(canary)))
    before = _digest(db)
    for extra in ((), ("--foreign",)):
        r = cli("--db", db, "--lang", "en", "restore", evil, "--force", *extra)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert "schema.sql" in r.stderr and "not part of this application's backups" in r.stderr
        assert not canary.exists() and _digest(db) == before


def test_a_2gb_entry_is_refused_from_the_zip_directory_alone(live, tmp_path):
    db, valid, _key, _fp = live
    src = tmp_path / "bom.zip"
    src.write_bytes(fuzz.hostile_backups(valid, str(tmp_path / "x"), None, flips=0)["declared_2gb_entry"])
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(CoreError) as exc:
        restore_backup(src, db, force=True)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert exc.value.key == "backup.entry_too_large" and "2147483648" in exc.value.message("en")
    assert seconds < 1.0 and peak < 5 * 1024**2, (seconds, peak)  # nothing of the entry was read


def test_a_late_failure_after_force_leaves_the_live_database_intact_and_readable(live, tmp_path):
    # the archive is signed with the key and passes every check until a table is loaded into the
    # file built aside: the restore that used to delete the live file first must now keep it
    db, valid, key, fingerprint = live
    for name in ("row_count_lies", "retyped_column"):
        bad = tmp_path / f"{name}.zip"
        bad.write_bytes(fuzz.hostile_backups(valid, str(tmp_path / "x"), key, flips=0)[name])
        before = _digest(db)
        r = cli("--db", db, "--lang", "en", "restore", bad, "--force")
        assert r.returncode == 1 and "Traceback" not in r.stderr and "refused" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1  # one sentence
        assert _digest(db) == before
        assert not [p for p in db.parent.iterdir() if "restor" in p.name]
    r = cli("--db", db, "score", "--year", "2023", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["cities"], r.stderr
    store = Store(db)
    try:
        assert store.content_fingerprint() == fingerprint and audit_chain.verify_store(store).ok
    finally:
        store.close()


def test_restore_force_replaces_atomically_and_keeps_the_old_database(live, tmp_path):
    db, valid, _key, fingerprint = live
    store = Store(db)
    verify(store, SYSTEM, "0101", 2023, "G1", 1, "setelah cadangan")  # the live file moves on
    store.checkpoint()
    later = store.content_fingerprint()
    store.close()
    src = tmp_path / "b.zip"
    src.write_bytes(valid)
    r = cli("--db", db, "restore", src, "--force")
    assert r.returncode == 0, r.stderr
    (aside,) = db.parent.glob("kota.duckdb.before-restore-*[0-9]")
    assert "kept as" in r.stdout and str(aside) in r.stdout
    for path, expected in ((db, fingerprint), (aside, later)):
        s = Store(path, read_only=True)
        try:
            assert s.content_fingerprint() == expected
        finally:
            s.close()
    r = cli("--db", db, "audit", "verify")
    assert r.returncode == 0 and "chain intact" in r.stdout, r.stderr


def test_an_edited_backup_restores_only_as_foreign_and_the_import_is_audited(live, tmp_path):
    db, valid, _key, _fp = live
    edited = tmp_path / "diubah.zip"
    edited.write_bytes(
        fuzz.hostile_backups(valid, str(tmp_path / "x"), None, flips=0)["edited_level_manifest_recomputed"]
    )
    r = cli("--db", db, "--lang", "en", "restore", edited, "--force")
    assert r.returncode == 1 and "signature does not match" in r.stderr, r.stderr
    r = cli("--db", db, "restore", edited, "--force", "--foreign")
    assert r.returncode == 0 and "FOREIGN" in r.stdout, r.stderr
    store = Store(db)
    try:
        assert set(store.submission_rows(1)["level"]) == {4}  # the edit came in, knowingly
        last = store.audit_rows()[-1]
        assert last.action == audit_chain.FOREIGN_IMPORT and json.loads(last.after)["foreign_rows"] > 0
        rep = audit_chain.verify_store(store)
        assert rep.ok and "foreign" in rep.keys() and rep.foreign == len(store.audit_rows()) - 1  # noqa: SIM118 (a report)
    finally:
        store.close()
    # the same through the administration page: refused, then accepted as foreign and logged
    admin_user = User("adm", "admin")
    live_store = Store(db)
    try:
        with pytest.raises(CoreError) as exc:
            admin.restore_to_new_file(live_store, admin_user, edited.read_bytes(), "diubah.zip")
        assert exc.value.key == "backup.not_ours"
        res = admin.restore_to_new_file(
            live_store, admin_user, edited.read_bytes(), "diubah.zip", foreign=True
        )
        assert res.foreign and res.chain_ok and Path(res.path).exists()
        after = json.loads(live_store.audit_rows()[-1].after)
        assert after["foreign"] is True and after["restored_to"] == res.path
    finally:
        live_store.close()


def test_a_fresh_server_without_the_key_refuses_unless_foreign(live, tmp_path):
    _db, valid, _key, _fingerprint = live
    src = tmp_path / "b.zip"
    src.write_bytes(valid)
    fresh = tmp_path / "lain" / "kota.duckdb"
    r = cli("--db", fresh, "--lang", "en", "restore", src)
    assert r.returncode == 1 and "no installation key" in r.stderr and not fresh.exists()
    r = cli("--db", fresh, "restore", src, "--foreign")
    assert r.returncode == 0, r.stderr
    assert Path(str(fresh) + ".key").exists() and Path(str(fresh) + ".audit-head").exists()
    r = cli("--db", fresh, "audit", "verify")
    assert r.returncode == 0 and "chain intact" in r.stdout, r.stderr


def test_programme_survey_and_na_ids_continue_after_restore(source, tmp_path):
    """The issue-17 tables travel in a backup, and their id sequences continue after a restore."""
    from metrics.records import Programme, ProgrammeStatus, SurveyProgramme
    from metrics.store import Store

    prog = Programme(
        "P-01",
        "Satu Data Kota",
        "G",
        "masterplan",
        "01",
        2023,
        2024,
        (),
        (),
        (ProgrammeStatus(2023, "berjalan"),),
    )
    survey = SurveyProgramme("P-01", 60, 180, 700.0, "01")

    def add_rows(store: Store) -> tuple[int, int, int]:
        with store.transaction() as cur:
            return (
                store.insert_programme_version(cur, "0101", [prog], "perencana", "load"),
                store.insert_survey(
                    cur,
                    "0101",
                    2023,
                    [survey],
                    "admin",
                    file_name="s.csv",
                    sha256=None,
                    source="cli",
                    n_rows=60,
                    mapping=None,
                ),
                store.add_na_decision(cur, "0101", 2023, "G2", "rejected", "ada layanan", "penilai"),
            )

    src = Store(source)
    try:
        old = add_rows(src)
        src.checkpoint()
    finally:
        src.close()
    out = tmp_path / "b.zip"
    assert cli("--db", source, "backup", "-o", out).returncode == 0
    fresh = tmp_path / "baru" / "kota.duckdb"
    fresh.parent.mkdir()
    shutil.copy(str(source) + ".key", str(fresh) + ".key")
    r = cli("--db", fresh, "restore", out)
    assert r.returncode == 0, r.stderr
    dst = Store(fresh)
    try:
        assert [p.code for p in dst.programmes_in_force("0101")] == ["P-01"]
        in_force = dst.survey_in_force("0101", 2023)
        assert in_force is not None and in_force[1][0].respondents == 60
        new = add_rows(dst)
    finally:
        dst.close()
    assert all(n > o for n, o in zip(new, old, strict=True))
