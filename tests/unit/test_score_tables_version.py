"""The derived score tables carry the version of the SQL that built them (issue 16, point 1).

A database whose tables were built by other SQL (another version recorded, none recorded, or the
column layout migrations and older releases created) is rebuilt when opened for writing, with a
message in the log, and then serves the scores a recomputation from the raw rows gives; a
database already at this version is left alone, however often it is opened.
"""

from __future__ import annotations

import logging

import duckdb
import pytest

from metrics import scoring
from metrics.keys import copy_database
from metrics.store import Store, score_sql
from metrics.store.migrations import MIGRATIONS

_LOGGER = "metrics.store.scores"


def _columns(path, table: str) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _version(path) -> str | None:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'score_tables_version'").fetchone()
    return row[0] if row else None


def _indexes(path) -> dict[tuple[str, int], float]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            (c, y): i for c, y, i in con.execute("SELECT city_code, year, index FROM score_city").fetchall()
        }


def _served_equals_raw(path) -> None:
    store = Store(path)
    try:
        assert scoring.recomputation_differences(store) == []
        kept = store.score_table(None, None)
        raw = store.score_table(None, None, from_raw=True)
        assert kept["city_code"] and kept["city_code"] == raw["city_code"] and kept["year"] == raw["year"]
    finally:
        store.close()


def test_a_new_database_records_the_version(tmp_path):
    store = Store(tmp_path / "new.duckdb")
    store.close()
    assert _version(tmp_path / "new.duckdb") == score_sql.SCORE_TABLES_VERSION
    assert "weighted_levels" in _columns(tmp_path / "new.duckdb", "score_parts")


def test_another_version_is_rebuilt_on_open(demo_db_file, tmp_path, caplog):
    path = tmp_path / "d.duckdb"
    copy_database(demo_db_file, path)
    before = _indexes(path)
    with duckdb.connect(str(path)) as con:  # tables as another release's SQL might have left them
        con.execute("UPDATE score_city SET index = index + 1")
        con.execute("UPDATE meta SET value = 'older' WHERE key = 'score_tables_version'")
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        Store(path).close()
    assert any("rebuilt" in r.getMessage() and "older" in r.getMessage() for r in caplog.records)
    assert _version(path) == score_sql.SCORE_TABLES_VERSION
    assert _indexes(path) == before
    _served_equals_raw(path)


def test_the_old_column_layout_is_rebuilt_on_open(demo_db_file, tmp_path, caplog):
    """The layout and rows migrations 2 and 6 build (frozen SQL), with no version recorded."""
    path = tmp_path / "d.duckdb"
    copy_database(demo_db_file, path)
    v2 = MIGRATIONS[1]
    with duckdb.connect(str(path)) as con:
        for table in score_sql.DERIVED_TABLES:
            con.execute(f"DROP TABLE {table}")
        for stmt in v2[:4]:  # the old CREATE TABLEs
            con.execute(stmt)
        for stmt in MIGRATIONS[5]:  # v6 fills them with the rules of its day
            if stmt.startswith(("INSERT INTO score_", "DELETE FROM score_")):
                con.execute(stmt)
        con.execute("DELETE FROM meta WHERE key = 'score_tables_version'")
    assert "wl" in _columns(path, "score_parts") and "nv_level" in _columns(path, "score_facts")
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        Store(path).close()
    assert any("not recorded" in r.getMessage() for r in caplog.records)
    assert _columns(path, "score_parts") == [
        "city_code", "year", "fw_seq", "kind", "code", "weighted_levels", "weights", "indicators", "missing", "answered",
    ]  # fmt: skip
    assert "unverified_level" in _columns(path, "score_facts")
    assert _version(path) == score_sql.SCORE_TABLES_VERSION
    _served_equals_raw(path)


def test_the_version_is_stable_across_opens(demo_db_file, tmp_path, caplog):
    path = tmp_path / "d.duckdb"
    copy_database(demo_db_file, path)
    Store(path).close()
    with duckdb.connect(str(path)) as con:  # a mark no rebuild would keep
        con.execute("UPDATE score_city SET index = index + 1")
    marked = _indexes(path)
    with caplog.at_level(logging.DEBUG, logger=_LOGGER):
        for _ in range(2):
            Store(path).close()
    assert not [r for r in caplog.records if r.name == _LOGGER]
    assert _indexes(path) == marked
    assert score_sql.score_tables_version() == score_sql.SCORE_TABLES_VERSION


def test_backups_with_and_without_the_version_restore(demo_db_file, tmp_path):
    """meta travels in a backup: one made before the version existed (no key) and one made now
    (the key, which the new file writes itself on open) both restore, and the restored file is
    at this version with the scores of its source."""
    import shutil

    from metrics.auth import SYSTEM
    from metrics.backup import make_backup, restore_backup

    path = tmp_path / "src" / "d.duckdb"
    path.parent.mkdir()
    copy_database(demo_db_file, path)
    src = Store(path)
    want = src.score_table(None, None)
    made_now = tmp_path / "now.zip"
    make_backup(src, SYSTEM, made_now)
    src.close()
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM meta WHERE key = 'score_tables_version'")
    src = Store(path, migrate=False)  # as the release before: nothing checks the score tables
    made_before = tmp_path / "before.zip"
    make_backup(src, SYSTEM, made_before)
    src.close()
    for n, archive in enumerate((made_before, made_now)):
        target = tmp_path / f"restored{n}" / "d.duckdb"
        target.parent.mkdir()
        shutil.copy(str(path) + ".key", str(target) + ".key")
        restore_backup(archive, target)
        assert _version(target) == score_sql.SCORE_TABLES_VERSION
        restored = Store(target)
        try:
            assert restored.score_table(None, None) == want
        finally:
            restored.close()


@pytest.mark.both_backends
def test_a_city_year_with_verifications_only_is_scored_once(demo_store, backend):
    """Several verified indicators in a city-year without any submission: the kept score_city row
    (every city-year, or a city's years: the scopes a rebuild uses) counts each indicator once,
    as the recomputation from the raw rows does (the scoped query must not repeat the city-year
    once per verified indicator)."""
    from metrics.auth import SYSTEM
    from metrics.governance import verify

    with demo_store.cursor() as cur:
        year = cur.execute("SELECT max(year) + 1 FROM submissions").fetchone()[0]
        city = cur.execute("SELECT min(city_code) FROM cities").fetchone()[0]
        codes = [
            r[0]
            for r in cur.execute(
                "SELECT code FROM fw_indicators WHERE fw_seq = (SELECT max(seq) FROM frameworks) ORDER BY ord LIMIT 3"
            ).fetchall()
        ]
    for code in codes:
        verify(demo_store, SYSTEM, city, year, code, 3, "kunjungan lapangan")
    demo_store.refresh_score_tables()  # the "every city-year" scope as well as the city's own
    kept = demo_store.score_table([year], None)
    raw = demo_store.score_table([year], None, from_raw=True)
    assert kept["city_code"] == raw["city_code"] == [city]
    assert kept["indicators"] == raw["indicators"] and kept["pairs"] == raw["pairs"]
    assert kept["missing"] == raw["missing"] and kept["index"] == raw["index"]
    assert scoring.recomputation_differences(demo_store) == []


def test_the_issue_17_layout_is_rebuilt_on_open(demo_db_file, tmp_path, caplog):
    """score_facts as the release before issue 17 built it (no N/A claims, no value per
    population, no population): rebuilt on open, with the method dimensions in score_city."""
    path = tmp_path / "d.duckdb"
    copy_database(demo_db_file, path)
    with duckdb.connect(str(path)) as con:
        for column in ("na_claims", "metric_basis", "population"):
            con.execute(f"ALTER TABLE score_facts DROP COLUMN {column}")
        con.execute("UPDATE meta SET value = 'before-17' WHERE key = 'score_tables_version'")
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        Store(path).close()
    assert any("before-17" in r.getMessage() for r in caplog.records)
    assert _columns(path, "score_facts")[-3:] == ["na_claims", "metric_basis", "population"]
    assert _version(path) == score_sql.SCORE_TABLES_VERSION
    _served_equals_raw(path)
