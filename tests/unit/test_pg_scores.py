"""The derived score tables on PostgreSQL (metrics.store.pg.scores, .score_sql) against DuckDB's.

The PostgreSQL store rebuilds score_cy, score_facts, score_parts and score_city natively, in its own
dialect, inside each write transaction. Proof that it states the same rules:
- the demo database built on each backend through the real core (`init --demo`'s install: every
  upload, verification and decision rebuilt its city-years as it was written) holds the same four
  tables row for row (floats to 1e-9); so does a rebuild of everything, and one of every city-year
  by the targeted statements;
- the same upload, verification and "tidak berlaku" decision on both leave the same tables;
- after uploads on either backend the tables equal a recomputation from the raw rows;
- the reads of this module (score_city, a year scored on the spot, the recomputation from the raw
  rows) give the same columns on both;
- the tables carry the PostgreSQL SQL's version and are rebuilt on open when built by other SQL.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics import scoring
from metrics.auth import SYSTEM
from metrics.governance import decide_na, verify
from metrics.ingest import ingest_bytes
from metrics.store import PgStore, Store
from metrics.store.pg import score_sql as pg_sql
from metrics.store.score_sql import DERIVED_TABLES
from tests import pg_cluster
from tests.conftest import _pg_copy

# each derived table's key: its rows are compared in this order (sorted in Python, so that the
# two engines' text orders do not matter)
KEYS = {
    "score_cy": ("city_code", "year"),
    "score_facts": ("city_code", "year", "indicator_code"),
    "score_parts": ("city_code", "year", "kind", "code"),
    "score_city": ("city_code", "year"),
}
UPLOAD = ("7399", "01", 2024)  # a demo OPD-year with 33 answers in force


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def table_rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    """Every row of a derived table, sorted by its key."""
    with store.cursor() as cur:
        res = cur.execute(f"SELECT * FROM {table}")  # fixed table names
        cols = [d[0] for d in res.description or []]
        rows = res.fetchall()
    key = [cols.index(c) for c in KEYS[table]]
    return sorted((tuple(r) for r in rows), key=lambda r: tuple(r[k] for k in key))


def differences(a: Store, b: Store) -> list[str]:
    """Where the derived tables of two stores differ (empty: row for row the same)."""
    out = []
    for table in DERIVED_TABLES:
        ra, rb = table_rows(a, table), table_rows(b, table)
        if len(ra) != len(rb):
            out.append(f"{table}: {len(ra)} rows, {len(rb)} rows")
            continue
        out += [f"{table}: {x} != {y}" for x, y in zip(ra, rb, strict=True) if not _same(x, y)]
    return out


def same_columns(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> bool:
    return list(a) == list(b) and all(_same(a[c], b[c]) for c in a)


@pytest.fixture
def duck_demo(demo_db_file: Path, tmp_path: Path) -> Iterator[Store]:
    from metrics.keys import copy_database

    path = tmp_path / "demo.duckdb"
    copy_database(demo_db_file, path)
    store = Store(path)
    yield store
    store.close()


@pytest.fixture
def pg_demo(demo_pg_template: str) -> Iterator[Store]:
    url = _pg_copy(demo_pg_template)
    store = Store(url)
    assert isinstance(store, PgStore)
    yield store
    store.close()
    pg_cluster.drop_database(url)


def _scale(store: Store) -> tuple[int, int]:
    with store.cursor() as cur:
        row = cur.execute("SELECT scale_min, scale_max FROM frameworks ORDER BY seq DESC LIMIT 1").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def upload_changed(store: Store, city: str, opd: str, year: int, shift: int = 1) -> None:
    """Upload again the OPD-year's answers in force, every level moved by `shift` on the scale."""
    lo, hi = _scale(store)
    with store.cursor() as cur:
        rows = cur.execute(
            """SELECT a.indicator_code, a.level FROM assessments a WHERE a.submission_id =
               (SELECT max(id) FROM submissions WHERE kind = 'assessment' AND city_code = ? AND opd_code = ?
                AND year = ?) ORDER BY a.indicator_code""",
            [city, opd, year],
        ).fetchall()
    assert rows
    lines = ["city_code,opd_code,year,indicator_code,level,evidence,note"]
    lines += [
        f"{city},{opd},{year},{code},{lo + (level - lo + shift) % (hi - lo + 1)},bukti,"
        for code, level in rows
    ]
    result = ingest_bytes(store, SYSTEM, "\n".join(lines).encode(), f"ulang{shift}.csv")
    assert result.accepted, result


def write_the_same_things(store: Store) -> None:
    """An upload, a verification and a "tidak berlaku" decision: the writes that rebuild scores."""
    upload_changed(store, *UPLOAD)
    upload_changed(store, "3599", "02", 2024, shift=2)
    verify(store, SYSTEM, "3599", 2024, "LIV-07", 2, "kunjungan lapangan")
    decide_na(store, SYSTEM, "5199", 2024, "LIV-09", True, "diterima")


# --------------------------------------------------------------------------- PostgreSQL vs DuckDB


def test_the_demo_built_on_each_backend_holds_the_same_score_tables(pg_demo, duck_demo):
    assert table_rows(pg_demo, "score_city")  # (not empty: every city-year of the demo)
    assert differences(pg_demo, duck_demo) == []


def test_a_rebuild_of_everything_and_of_every_city_year_gives_the_same_tables(pg_demo, duck_demo):
    pg_demo.refresh_score_tables()
    assert differences(pg_demo, duck_demo) == []
    with pg_demo.cursor() as cur:
        every = {(c, y) for c, y in cur.execute("SELECT city_code, year FROM score_cy").fetchall()}
    with pg_demo.transaction() as cur:  # emptied, then each city-year by the targeted statements
        for table in DERIVED_TABLES:
            cur.execute(f"DELETE FROM {table}")  # fixed table names
        pg_demo.mark_scores_stale(cur, every)
    assert differences(pg_demo, duck_demo) == []


def test_the_same_writes_leave_the_same_tables(pg_demo, duck_demo):
    for store in (pg_demo, duck_demo):
        write_the_same_things(store)
    assert differences(pg_demo, duck_demo) == []
    city, _, year = UPLOAD
    assert pg_demo.score_table([year], city)["index"] != [None]


def test_the_reads_give_the_same_columns(pg_demo, duck_demo):
    with duck_demo.cursor() as cur:
        last = cur.execute("SELECT max(year) FROM submissions").fetchone()[0]
    asks: list[tuple[list[int] | None, str | None]] = [
        (None, None),
        ([last], None),
        ([last - 1, last], "5199"),
        ([last, last + 1, last + 2], "7399"),  # years without data scored on the spot
    ]
    for years, city in asks:
        kept = pg_demo.score_table(years, city)
        assert same_columns(kept, duck_demo.score_table(years, city)), (years, city)
        raw = pg_demo.score_table(years, city, from_raw=True)
        assert same_columns(raw, duck_demo.score_table(years, city, from_raw=True)), (years, city)
    assert pg_demo.score_table([last + 1], "7399")["missing"][0] > 0


# --------------------------------------------------------------------------- either backend


@pytest.mark.both_backends
def test_after_writes_the_tables_equal_a_recomputation_from_the_raw_rows(demo_store, backend):
    write_the_same_things(demo_store)
    for shift in range(1, 4):  # the same OPD-year again and again: only the newest counts
        upload_changed(demo_store, *UPLOAD, shift=shift)
    assert scoring.recomputation_differences(demo_store) == []
    kept = {t: table_rows(demo_store, t) for t in DERIVED_TABLES}
    demo_store.refresh_score_tables()  # every table from the raw rows
    for table in DERIVED_TABLES:
        fresh = table_rows(demo_store, table)
        assert len(fresh) == len(kept[table]) and all(
            _same(x, y) for x, y in zip(fresh, kept[table], strict=True)
        ), table


@pytest.mark.both_backends
def test_a_verification_rebuilds_only_the_finished_scores_of_its_city(demo_store, backend):
    before = {t: table_rows(demo_store, t) for t in DERIVED_TABLES}
    verify(demo_store, SYSTEM, "3599", 2024, "LIV-07", 1, "kunjungan lapangan")
    after = {t: table_rows(demo_store, t) for t in DERIVED_TABLES}
    for table in pg_sql.SCORE_TABLES:
        assert after[table] == before[table]
    changed = [a for a, b in zip(after["score_city"], before["score_city"], strict=True) if not _same(a, b)]
    assert [(r[0], r[1]) for r in changed] == [("3599", 2024)]


# --------------------------------------------------------------------------- the tables' version


def _meta_version(store: Store) -> str | None:
    return store.score_tables_version()


def test_a_new_postgres_database_records_the_postgres_version(pg_url):
    store = Store(pg_url)
    try:
        assert _meta_version(store) == pg_sql.SCORE_TABLES_VERSION
        assert pg_sql.SCORE_TABLES_VERSION.startswith("pg-")
        assert pg_sql.score_tables_version() == pg_sql.SCORE_TABLES_VERSION
    finally:
        store.close()


def test_another_version_is_rebuilt_on_open_and_the_version_is_stable(pg_demo, duck_demo, caplog):
    url = pg_demo.url
    with pg_demo.cursor() as cur:  # tables as another release's SQL might have left them
        cur.execute('UPDATE score_city SET "index" = "index" + 1')
        cur.execute("UPDATE meta SET value = 'older' WHERE key = 'score_tables_version'")
    with caplog.at_level(logging.INFO, logger="metrics.store.scores"):
        Store(url).close()
    assert any("rebuilt" in r.getMessage() and "older" in r.getMessage() for r in caplog.records)
    assert _meta_version(pg_demo) == pg_sql.SCORE_TABLES_VERSION
    assert differences(pg_demo, duck_demo) == []
    with pg_demo.cursor() as cur:  # a mark no rebuild would keep
        cur.execute('UPDATE score_city SET "index" = "index" + 1')
    marked = table_rows(pg_demo, "score_city")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="metrics.store.scores"):
        Store(url).close()
    assert not [r for r in caplog.records if r.name == "metrics.store.scores"]
    assert table_rows(pg_demo, "score_city") == marked


def test_the_version_follows_the_postgres_statements():
    texts = "\n".join(pg_sql.refresh_sql(t, s) for t in pg_sql.SCORE_TABLES for s in ("all", "target"))
    for duckdb_only in ("QUALIFY", "GROUP BY ALL", "list_", "arg_max", "SEMI JOIN", "ANTI JOIN", "any_value"):
        assert duckdb_only not in texts
        assert duckdb_only not in pg_sql.score_city_insert("all") + pg_sql.score_raw_sql()
