"""The schema and its migrations: SCHEMA_VERSION is true, migrating step by step ends where a
new database starts, a newer database is refused, and the migrations are frozen text."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metrics.store import MIGRATIONS, SCHEMA_VERSION, SchemaNewer, Store

ROOT = Path(__file__).resolve().parents[2]


def _schema(store: Store) -> tuple[list[tuple], list[tuple]]:
    with store.cursor() as cur:
        tables = cur.execute(
            """SELECT table_name FROM duckdb_tables()
               WHERE database_name = current_database() AND schema_name = 'main' ORDER BY 1"""
        ).fetchall()
        columns = cur.execute(
            """SELECT table_name, column_index, column_name, data_type, is_nullable, column_default
               FROM duckdb_columns()
               WHERE database_name = current_database() AND schema_name = 'main' ORDER BY 1, 2"""
        ).fetchall()
    return tables, columns


def _of_record(schema: tuple[list[tuple], list[tuple]]) -> tuple[list[tuple], list[tuple]]:
    tables, columns = schema
    return [t for t in tables if not t[0].startswith("score_")], [
        c for c in columns if not c[0].startswith("score_")
    ]


def _meta_version(store: Store) -> str:
    with store.cursor() as cur:
        return cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]


def test_step_by_step_from_v1_ends_with_the_schema_of_a_new_database(tmp_path):
    fresh = Store(tmp_path / "fresh.duckdb")
    try:
        want = _schema(fresh)
        assert fresh.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
        assert _meta_version(fresh) == str(SCHEMA_VERSION)
    finally:
        fresh.close()

    old = Store(tmp_path / "old.duckdb", migrate=False)
    try:
        for n in range(1, SCHEMA_VERSION + 1):
            old.migrate(upto=n)
            assert old.schema_version() == n
        old.migrate()  # nothing left to do
        # the tables of record are exactly the migrations' (the derived score_* tables follow
        # their SQL's own version and are rebuilt on a normal open: metrics.store.scores)
        assert _of_record(_schema(old)) == _of_record(want)
        assert _meta_version(old) == str(SCHEMA_VERSION)
    finally:
        old.close()
    # opened normally afterwards, it has the very schema of a new database
    again = Store(tmp_path / "old.duckdb")
    try:
        assert _schema(again) == want and again.schema_version() == SCHEMA_VERSION
    finally:
        again.close()


def test_a_database_from_a_newer_release_is_refused(tmp_path):
    path = tmp_path / "newer.duckdb"
    store = Store(path)
    with store.transaction() as cur:
        cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    store.close()
    for kwargs in ({}, {"migrate": False}, {"read_only": True}):
        with pytest.raises(SchemaNewer) as exc:
            Store(path, **kwargs)
        assert exc.value.key == "store.schema_newer"
        assert str(SCHEMA_VERSION + 1) in exc.value.message("en") and "newer" in exc.value.message("en")
        assert "lebih baru" in exc.value.message("id")
    # refused, not changed: the file still says the newer version
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION + 1
        )
    finally:
        con.close()


def test_migrations_module_imports_nothing():
    """Frozen SQL text: a migration never imports live query text (or anything else)."""
    tree = ast.parse((ROOT / "metrics" / "store" / "migrations.py").read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in imports), [
        ast.unparse(n) for n in imports
    ]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert names <= {"MIGRATIONS", "SCHEMA_VERSION", "len", "tuple", "str"}, names


def _layout(store: Store) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(tables, (table, column) pairs, sequences) of a database."""
    with store.cursor() as cur:
        tables = {
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
            ).fetchall()
        }
        columns = {
            (r[0], r[1])
            for r in cur.execute(
                "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main'"
            ).fetchall()
        }
        sequences = {r[0] for r in cur.execute("SELECT sequence_name FROM duckdb_sequences()").fetchall()}
    return tables, columns, sequences


def test_a_database_of_the_v6_release_with_a_framework_and_answers_migrates(demo_db_file, tmp_path):
    """Later migrations add columns to framework tables that hold rows: a v6 database with a
    loaded framework and answers (a demo taken back to v6's layout: whatever later migrations
    added is dropped, the rows stay) opens, migrates and scores as a new one would."""
    from metrics import scoring
    from metrics.keys import copy_database

    v6 = Store(tmp_path / "layout.duckdb", migrate=False)
    v6.migrate(upto=6)
    tables6, columns6, sequences6 = _layout(v6)
    v6.close()
    path = tmp_path / "v6.duckdb"
    copy_database(demo_db_file, path)
    s = Store(path)
    tables, columns, sequences = _layout(s)
    derived = {t for t in tables if t.startswith("score_")}  # rebuilt by their own version
    with s.transaction() as cur:
        for table in sorted(tables - tables6 - derived):
            cur.execute(f"DROP TABLE {table}")
        for seq in sorted(sequences - sequences6):
            cur.execute(f"DROP SEQUENCE {seq}")
        for table, column in sorted(columns - columns6):
            if table in tables6 and table not in derived:
                cur.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        cur.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
        # that release built its score tables with its own SQL (another version, or none recorded)
        cur.execute("DELETE FROM meta WHERE key = 'score_tables_version'")
    s.close()
    s = Store(path)
    try:
        assert s.schema_version() == SCHEMA_VERSION
        with s.cursor() as cur:
            methods = cur.execute("SELECT DISTINCT method FROM fw_dimensions").fetchall()
        assert methods == [("rubric",)]  # a v6 framework knew no other method
        assert scoring.recomputation_differences(s) == []
    finally:
        s.close()
