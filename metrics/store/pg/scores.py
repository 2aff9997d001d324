"""The derived score tables on PostgreSQL, rebuilt per city natively in PostgreSQL's SQL inside
the write transaction, under the cities' locks (see metrics.store.pg.connection).

The statements are metrics.store.pg.score_sql's (the DuckDB rules, fragment for fragment, in
PostgreSQL's dialect); when to rebuild what is the DuckDB store's logic (metrics.store.scores),
inherited. Nothing here goes through DuckDB: a write's rebuild reads a few thousand rows of its
city-years through the indexes of metrics.store.pg.schema.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any, Literal

from metrics.store.pg import score_sql as sql
from metrics.store.pg.connection import GLOBAL_LOCK, PgConnection, PgCursor, translate
from metrics.store.scores import ALL_CITY_YEARS, VERSION_KEY, CityYears, Scores

log = logging.getLogger("metrics.store.scores")  # the DuckDB store's logger: one place to look

# Every statement, composed once at import.
_REFRESH: dict[tuple[str, Literal["all", "target"]], str] = {
    (t, s): f"INSERT INTO {t} " + sql.refresh_sql(t, s) for t in sql.SCORE_TABLES for s in ("all", "target")
}
# the answer tables' rows of the target city-years, in one statement (one round trip)
_DELETE_ANSWERS = (
    "WITH "
    + ",\n".join(f"deleted_{t} AS ({sql.delete_target_sql(t)} RETURNING 1)" for t in sql.SCORE_TABLES)
    + "\nSELECT 1"
)
# ... and score_city's rows of the same city-years with them (a write's usual case: one round trip)
_DELETE_ANSWERS_AND_FINISHED = (
    "WITH "
    + ",\n".join(
        f"deleted_{t} AS ({sql.delete_target_sql(t)} RETURNING 1)"
        for t in (*sql.SCORE_TABLES, sql.FINISHED_TABLE)
    )
    + "\nSELECT 1"
)
_DELETE_FINISHED = sql.delete_target_sql(sql.FINISHED_TABLE)
_DELETE_CITIES = "DELETE FROM score_city WHERE city_code = ANY($cities::VARCHAR[])"
_SCORE_CITY_ALL = sql.score_city_insert("all")
_SCORE_CITY_SOME = sql.score_city_insert("cities")
_SCORE_CITY_TARGET = sql.score_city_insert("target")
_SCORE_WIDE_SQL = sql.score_wide_sql("asked")
_SCORE_RAW_SQL = sql.score_raw_sql()


# the settings of a statement that reads every city-year (until the transaction ends)
_READ_EVERYTHING = "SELECT set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true)"
# ... and of a rebuild of some city-years: plans made once per connection for any city-years
# (planning these joins costs several times running them), never compiled (JIT would cost more
# than running them, on each execution)
_SOME_CITY_YEARS = (
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('jit', 'off', true)"
)


def _prepared(cur: PgCursor, statement: str, params: dict[str, Any]) -> None:
    """Run a rebuild statement as a prepared statement of the cursor's connection (psycopg keeps
    them per connection): planning one of these joins costs more than running it for a city-year
    (ms), and the rebuild runs in every write transaction. Its parameters are bound by the server,
    so each is cast in the SQL."""
    import psycopg

    with psycopg.Cursor(cur.conn) as server_side:
        server_side.execute(translate(statement), params, prepare=True)


def _pair_params(items: CityYears) -> dict[str, Any]:
    """The paired $cities/$years lists of city-years, in sorted order."""
    pairs = sorted(items)
    return {"cities": [c for c, _ in pairs], "years": [y for _, y in pairs]}


def _columns(cur: PgCursor) -> dict[str, list[Any]]:
    """A result's columns (arrays come back as lists, NUMERIC sums as int)."""
    names = cur.columns()
    rows = cur.fetchall()
    return {name: [r[n] for r in rows] for n, name in enumerate(names)}


class PgScores(Scores, PgConnection):
    """The derived score tables on PostgreSQL."""

    def _refresh_stale(self, cur: PgCursor) -> None:  # type: ignore[override]
        """The rebuild before commit, under the cities' locks. Unlike the DuckDB store's, a
        city-year's answer tables are followed by its own finished scores only (not every year of
        its city: no other year's inputs changed), and cities whose finished scores are stale are
        rebuilt whole, once."""
        pending = self._stale.get(id(cur)) or set()
        finished = self._stale_finished.get(id(cur)) or set()
        if not pending and not finished:
            return
        everything = ALL_CITY_YEARS in pending
        self.lock_cities(cur, {c for c, _ in pending} | finished, everything=everything)
        if everything:
            self._rebuild_score_tables(cur, {ALL_CITY_YEARS})
        else:
            cur.execute(_SOME_CITY_YEARS)
            if pending:
                finished_years = {(c, y) for c, y in pending if c not in finished}
                # (score_city's rows deleted with the answer tables' when they are of the same city-years)
                together = finished_years == pending
                self._rebuild_answer_tables(cur, pending, with_finished=together)
                self._rebuild_finished_city_years(cur, finished_years, deleted=together)
            if finished:
                self._rebuild_finished_scores(cur, finished)
        pending.clear()
        finished.clear()

    def _rebuild_finished_scores(self, cur: PgCursor, cities: set[str]) -> None:  # type: ignore[override]
        ordered = sorted(cities)  # the cities' finished scores, every year at once
        _prepared(cur, _DELETE_CITIES, {"cities": ordered})
        _prepared(cur, _SCORE_CITY_SOME, {"cities": ordered})

    def _rebuild_finished_city_years(self, cur: PgCursor, items: CityYears, deleted: bool = False) -> None:
        """score_city of the city-years `items` (`deleted`: their old rows are gone already)."""
        if items:
            if not deleted:
                _prepared(cur, _DELETE_FINISHED, _pair_params(items))
            _prepared(cur, _SCORE_CITY_TARGET, _pair_params(items))

    def _rebuild_answer_tables(self, cur: PgCursor, items: CityYears, with_finished: bool = False) -> None:
        """score_cy, score_facts and score_parts of the city-years `items` (none is ALL_CITY_YEARS);
        `with_finished`: score_city's rows of the same city-years deleted in the same statement."""
        params = _pair_params(items)
        _prepared(cur, _DELETE_ANSWERS_AND_FINISHED if with_finished else _DELETE_ANSWERS, params)
        for table in sql.SCORE_TABLES:
            _prepared(cur, _REFRESH[table, "target"], params)

    def _rebuild_score_tables(self, cur: PgCursor, items: CityYears) -> None:  # type: ignore[override]
        if ALL_CITY_YEARS in items:
            # every row is read: hash joins throughout (the planner's guesses at the sizes of the
            # CTEs, one row, would otherwise nest loops over them: minutes for 500 cities), and no
            # JIT compilation (seconds for these plans, whose cost the setting above inflates)
            cur.execute(_READ_EVERYTHING)
            for table in sql.SCORE_TABLES:
                cur.execute(f"DELETE FROM {table}")  # fixed table names
                cur.execute(_REFRESH[table, "all"])
            cur.execute("DELETE FROM score_city")
            cur.execute(_SCORE_CITY_ALL)
            return
        cur.execute(_SOME_CITY_YEARS)
        self._rebuild_answer_tables(cur, items, with_finished=True)
        self._rebuild_finished_city_years(cur, items, deleted=True)

    def _check_score_tables(self) -> None:
        """Rebuild the derived tables whose SQL differs from this release's PostgreSQL SQL (on
        open; scores.Scores._check_score_tables says why). Several processes may open the store at
        once: the first takes the global score lock exclusively and rebuilds, the others then find
        the version recorded."""
        import psycopg

        old = self.score_tables_version()
        if old == sql.SCORE_TABLES_VERSION:
            return
        with self._write_lock, self.cursor() as cur:
            cur.begin()
            try:
                self.lock(cur, GLOBAL_LOCK)
                row = cur.execute("SELECT value FROM meta WHERE key = ?", [VERSION_KEY]).fetchone()
                if row and row[0] == sql.SCORE_TABLES_VERSION:  # another process rebuilt them
                    cur.rollback()
                    return
                has_data = cur.execute(
                    "SELECT EXISTS (SELECT 1 FROM submissions) OR EXISTS (SELECT 1 FROM verifications)"
                ).fetchone()
                for table in sql.DERIVED_TABLES:
                    cur.execute(f"DROP TABLE IF EXISTS {table}")  # fixed table names
                for ddl in sql.SCORE_TABLES_DDL:
                    cur.execute(ddl)
                self._rebuild_score_tables(cur, {ALL_CITY_YEARS})
                cur.execute(
                    "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [VERSION_KEY, sql.SCORE_TABLES_VERSION],
                )
                cur.commit()
            except BaseException:
                with suppress(psycopg.Error):
                    cur.rollback()
                raise
        if has_data and has_data[0]:
            log.info(
                "score tables of %s were built by other SQL (version %s): rebuilt from the raw rows (version %s)",
                self.path,
                old or "not recorded",
                sql.SCORE_TABLES_VERSION,
            )
        else:
            log.debug("score tables of %s created at version %s", self.path, sql.SCORE_TABLES_VERSION)

    def score_table(
        self, years: list[int] | None, city: str | None, from_raw: bool = False
    ) -> dict[str, list[Any]]:
        """Columns of one row per scored city-year (scores.Scores.score_table), by PostgreSQL's SQL."""
        asked = {"years": years, "city": city}
        with self.cursor() as cur:
            if from_raw:  # every answer row read, as by a rebuild of everything
                cur.begin()
                try:
                    cur.execute(_READ_EVERYTHING)
                    return _columns(cur.execute(_SCORE_RAW_SQL, asked))
                finally:  # (nothing written; the settings go; a commit keeps the connection's
                    cur.commit()  # prepared statements, which psycopg drops on a rollback)
            out = _columns(cur.execute(sql.SCORE_CITY_READ, asked))
            if city is not None and years:
                absent = sorted(set(years) - set(out["year"]))
                if absent:
                    extra = _columns(cur.execute(_SCORE_WIDE_SQL, {"years": absent, "city": city}))
                    cols = list(out)
                    rows = sorted(
                        [tuple(out[c][n] for c in cols) for n in range(len(out["year"]))]
                        + [tuple(extra[c][n] for c in cols) for n in range(len(extra["year"]))],
                        key=lambda r: (r[1], r[0]),
                    )
                    out = {c: [r[n] for r in rows] for n, c in enumerate(cols)}
        return out
