"""The scoring reads on PostgreSQL (metrics.store.pg.score_reads) give what DuckDB's give.

Both stores hold the very same rows: the demo database built on DuckDB, and a PostgreSQL database
into which every one of its tables, the score tables included, is copied row for row (COPY).
So each read is compared on identical inputs, apart from how the score tables were filled: the
reads are proved by themselves, whatever the PostgreSQL rebuild does (its own tests compare
the rebuild). Same rows, in the same order where the read orders them; floats to 1e-9; a
DuckDB HUGEINT sum (Decimal) equals the PostgreSQL int of the same value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metrics.records import SubmissionBatch
from metrics.store import Store
from metrics.whatif import framework_of_year
from tests import pg_cluster
from tests.conftest import copy_db
from tests.unit.test_whatif import CANDIDATES

YEARS = [2022, 2023, 2024, 2025]


def copy_duckdb_into_pg(duck_path: Path, url: str) -> None:
    """Every table of the DuckDB file (but meta, the store's own) copied into the PostgreSQL
    store at `url`, replacing what it holds, and the sequences moved past the copied ids."""
    pg = Store(url)
    con = duckdb.connect(str(duck_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        sequences = con.execute(
            "SELECT sequence_name, last_value FROM duckdb_sequences() WHERE last_value IS NOT NULL"
        ).fetchall()
        with pg.cursor() as cur:
            cur.begin()
            for table in tables:
                if table == "meta":
                    continue
                res = con.execute(f"SELECT * FROM {table}")  # names from the file's own catalogue
                columns = [d[0] for d in res.description or []]
                cur.execute(f"DELETE FROM {table}")
                cur.copy_rows(table, columns, res.fetchall())
            for name, value in sequences:
                cur.execute("SELECT setval(?, ?)", [name, value])
            cur.commit()
    finally:
        con.close()
        pg.close()


@pytest.fixture(scope="module")
def stores(
    demo_db_file: Path, pg_state_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Store]]:
    """(DuckDB store, PostgreSQL store) on the same rows; the tests only read (a preview rolls back)."""
    path = tmp_path_factory.mktemp("reads") / "demo.duckdb"
    copy_db(demo_db_file, path)
    url = pg_cluster.create_database()
    copy_duckdb_into_pg(path, url)
    duck = Store(path)
    pg = Store(url)
    assert type(pg).__name__ == "PgStore"
    yield duck, pg
    pg.close()
    duck.close()
    pg_cluster.drop_database(url)


def _differences(a: Any, b: Any, where: str = "", out: list[str] | None = None) -> list[str]:
    """Where `a` (DuckDB) and `b` (PostgreSQL) differ: numbers to 1e-9, the rest exactly."""
    out = [] if out is None else out
    numbers = (int, float, Decimal)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9):
            out.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} rows/items != {len(b)}")
        else:
            for n, (x, y) in enumerate(zip(a, b, strict=True)):
                _differences(x, y, f"{where}[{n}]", out)
    elif isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            out.append(f"{where}: keys {list(a)} != {list(b)}")
        else:
            for k in a:
                _differences(a[k], b[k], f"{where}.{k}", out)
    elif type(a) is not type(b) or a != b:
        out.append(f"{where}: {a!r} != {b!r}")
    return out


def _same(a: Any, b: Any) -> None:
    diffs = _differences(a, b)
    assert not diffs, diffs[:10]


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of a read that states no order, in one order."""
    return sorted(rows, key=lambda r: tuple(str(x) for x in r))


def test_the_copy_is_whole(stores: tuple[Store, Store]) -> None:
    duck, pg = stores
    assert pg.city_codes() == duck.city_codes() and len(duck.city_codes()) >= 5
    with duck.cursor() as d, pg.cursor() as p:
        for table in (
            "submissions",
            "assessments",
            "score_facts",
            "score_city",
            "verifications",
            "na_decisions",
        ):
            n_duck = d.execute(f"SELECT count(*) FROM {table}").fetchone()
            n_pg = p.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert n_duck == n_pg and n_duck is not None and n_duck[0] > 0, table


def test_opd_score_rows(stores: tuple[Store, Store]) -> None:
    duck, pg = stores
    city = sorted(duck.city_codes())[0]
    for years, c in ((None, None), ([2024], None), ([2023, 2024], city), ([2031], city)):
        rows = duck.opd_score_rows(years, c)
        assert rows or years == [2031]
        _same(_sorted(rows), _sorted(pg.opd_score_rows(years, c)))


@pytest.mark.parametrize("year", YEARS)
def test_indicator_rows_of_every_city_and_of_one(stores: tuple[Store, Store], year: int) -> None:
    duck, pg = stores
    every = duck.indicator_rows(year, None)
    assert len({r["city_code"] for r in every}) >= 5 or year == 2025  # (no data in 2025)
    _same(every, pg.indicator_rows(year, None))
    for city in sorted(duck.city_codes())[:3]:
        _same(duck.indicator_rows(year, city), pg.indicator_rows(year, city))


def test_indicator_rows_of_a_city_without_data_are_all_missing(stores: tuple[Store, Store]) -> None:
    duck, pg = stores
    city = sorted(duck.city_codes())[0]
    rows = duck.indicator_rows(2031, city)
    assert rows and {r["source"] for r in rows} == {"missing"}
    _same(rows, pg.indicator_rows(2031, city))


def test_answer_rows(stores: tuple[Store, Store]) -> None:
    duck, pg = stores
    for city in sorted(duck.city_codes())[:3]:
        for year in YEARS:
            rows = duck.answer_rows(year, city)
            _same(rows, pg.answer_rows(year, city))
            for opd in sorted({r["opd_code"] for r in rows})[:2]:
                _same(duck.answer_rows(year, city, opd), pg.answer_rows(year, city, opd))
    assert duck.answer_rows(2024, sorted(duck.city_codes())[0])


@pytest.mark.parametrize("year", YEARS)
def test_method_input_rows(stores: tuple[Store, Store], year: int) -> None:
    duck, pg = stores
    every = duck.method_input_rows(year, None)
    if year == 2024:
        assert every["dimensions"] and every["pillars"] and every["surveyed"]
    _same(every, pg.method_input_rows(year, None))
    for city in sorted(duck.city_codes())[:2]:
        _same(duck.method_input_rows(year, city), pg.method_input_rows(year, city))


def test_na_indicator_rows(stores: tuple[Store, Store]) -> None:
    duck, pg = stores
    found = 0
    for city in sorted(duck.city_codes()):
        for year in YEARS:
            rows = duck.na_indicator_rows(year, city)
            found += len(rows)
            _same(rows, pg.na_indicator_rows(year, city))
    assert found > 0  # the demo has "tidak berlaku" claims and decisions


def test_level_history(stores: tuple[Store, Store]) -> None:
    duck, pg = stores
    rows = duck.level_history(None, YEARS)
    assert len(rows) > 100
    _same(rows, pg.level_history(None, YEARS))
    city = sorted(duck.city_codes())[0]
    _same(duck.level_history(city, [2023, 2024]), pg.level_history(city, [2023, 2024]))


@pytest.mark.parametrize("name", ["unchanged", *CANDIDATES])
def test_whatif_score_table(stores: tuple[Store, Store], name: str) -> None:
    duck, pg = stores
    for year in (2024, 2022):
        base = framework_of_year(duck, year)
        candidate = (
            base if name == "unchanged" else dataclasses.replace(CANDIDATES[name](base), applies_from=year)
        )
        table = duck.whatif_score_table(candidate, year)
        assert len(table["city_code"]) >= 5
        _same(table, pg.whatif_score_table(candidate, year))


def test_whatif_writes_nothing_on_postgresql(stores: tuple[Store, Store]) -> None:
    _, pg = stores
    base = framework_of_year(pg, 2024)
    before = pg.content_fingerprint(), pg.framework_sources()
    pg.whatif_score_table(dataclasses.replace(CANDIDATES["indicator_weights"](base), applies_from=2024), 2024)
    assert (pg.content_fingerprint(), pg.framework_sources()) == before


def _upload(store: Store, city: str, opd: str, year: int) -> SubmissionBatch:
    """A new assessment by `opd` answering what it answers now, each level moved one step."""
    rows = store.answer_rows(year, city, opd)
    assert rows
    batch = SubmissionBatch(
        kind=["assessment"],
        city_code=[city],
        opd_code=[opd],
        year=[year],
        metric_code=[None],
        fw_seq=[None],
        file_name=["preview.xlsx"],
        sha256=[None],
        n_rows=[len(rows)],
        a_sub=[0] * len(rows),
        a_code=[r["indicator_code"] for r in rows],
        a_level=[1 if r["level"] >= 4 else r["level"] + 1 for r in rows],
        a_evidence=[None] * len(rows),
        a_note=[None] * len(rows),
        a_row=list(range(len(rows))),
    )
    return batch


def test_scores_if(stores: tuple[Store, Store]) -> None:
    """The preview of an upload: the city's scores and its OPDs' as they would be, nothing kept."""
    duck, pg = stores
    city = sorted(duck.city_codes())[0]
    opd = duck.answer_rows(2024, city)[0]["opd_code"]
    batch = _upload(duck, city, opd, 2024)
    before = pg.content_fingerprint()
    table_duck, opds_duck = duck.scores_if(batch, "tester", city, 2024)
    table_pg, opds_pg = pg.scores_if(batch, "tester", city, 2024)
    assert pg.content_fingerprint() == before
    now = duck.score_table([2024], city)
    assert table_duck["index"] != now["index"], "the preview must move the index to prove anything"
    _same(table_duck, table_pg)
    # the previewed OPD's last upload is the preview's own time and id: the rest is the same
    _same(_sorted([r[:8] for r in opds_duck]), _sorted([r[:8] for r in opds_pg]))
    others = [r for r in opds_duck if r[1] != opd]
    assert others
    _same(_sorted(others), _sorted([r for r in opds_pg if r[1] != opd]))
