"""The derived score tables: marking them stale, rebuilding them, checking their version, and
reading scores. The SQL itself, and what each table holds, is in metrics.store.score_sql.

The tables are rebuilt for the affected city-years inside the same transaction as every write
that changes their inputs (submissions, the OPD registry, frameworks), so a reader never sees
them stale; a verification rebuilds its city's score_city rows the same way. A database whose
tables were built by other SQL (an older release, or migrations' frozen text) is rebuilt whole
when it is opened for writing.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from metrics.store import score_sql as sql
from metrics.store.connection import Connection, Cursor

if TYPE_CHECKING:
    from metrics.records import SubmissionBatch

log = logging.getLogger(__name__)

ALL_CITY_YEARS = ("*", -1)  # mark_scores_stale(): everything
_SCORE_TABLES = sql.SCORE_TABLES  # the answer tables (backup_tables leaves them out, with score_city)
VERSION_KEY = "score_tables_version"  # meta key: the score_sql.SCORE_TABLES_VERSION the tables were built by

Row = tuple[Any, ...]
CityYears = set[tuple[str, int]]

# Every statement, composed once at import.
_REFRESH: dict[tuple[str, Literal["all", "target"]], str] = {
    (t, s): sql.refresh_sql(t, s) for t in sql.SCORE_TABLES for s in ("all", "target")
}
_DELETE_TARGET = {t: sql.delete_target_sql(t) for t in sql.SCORE_TABLES}
_SCORE_CITY_ALL = sql.score_city_insert("all")
_SCORE_CITY_SOME = sql.score_city_insert("cities")
_SCORE_WIDE_SQL = sql.score_wide_sql("asked")
_SCORE_RAW_SQL = sql.score_raw_sql()


def _columns(res: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    """A result's columns through Arrow: a national read is thousands of rows of lists."""
    tbl = res.to_arrow_table()
    return {name: tbl.column(name).to_pylist() for name in tbl.column_names}


def _dicts(res: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in res.description or []]
    return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


class Scores(Connection):
    """The derived score tables: marking them stale, rebuilding them, and reading scores."""

    def mark_scores_stale(self, cur: Cursor, city_years: CityYears | tuple[str, int]) -> None:
        """Note city-years whose score tables must follow a write made on `cur`.

        Inside `transaction()` the rebuild runs once, just before commit; on any other cursor
        it runs at once. Pass ALL_CITY_YEARS when every city-year may have changed.
        """
        items: CityYears = {ALL_CITY_YEARS} if city_years == ALL_CITY_YEARS else set(city_years)  # type: ignore[arg-type]
        pending = self._stale.get(id(cur))
        if pending is None:
            self._rebuild_score_tables(cur, items)
        else:
            pending |= items

    def mark_finished_scores_stale(self, cur: Cursor, cities: set[str]) -> None:
        """Note cities whose finished scores (score_city) alone must follow a write on `cur`.

        For verifications: they are applied to the pre-summed parts when score_city is built, so
        the answer tables behind score_cy/score_facts/score_parts need no rebuild.
        """
        pending = self._stale_finished.get(id(cur))
        if pending is None:
            self._rebuild_finished_scores(cur, cities)
        else:
            pending |= set(cities)

    def _refresh_stale(self, cur: Cursor) -> None:
        pending = self._stale.get(id(cur))
        finished = self._stale_finished.get(id(cur)) or set()
        if pending:
            # with everything rebuilt, every city's finished scores are too
            finished = set() if ALL_CITY_YEARS in pending else finished - {c for c, _ in pending}
            self._rebuild_score_tables(cur, pending)
            pending.clear()
        if finished:
            self._rebuild_finished_scores(cur, finished)
            self._stale_finished.get(id(cur), set()).clear()

    def _rebuild_finished_scores(self, cur: Cursor, cities: set[str]) -> None:
        ordered = sorted(cities)  # the cities' finished scores, every year at once
        cur.execute("DELETE FROM score_city WHERE list_contains(?, city_code)", [ordered])
        cur.execute(_SCORE_CITY_SOME, {"cities": ordered})

    def _rebuild_score_tables(self, cur: Cursor, items: CityYears) -> None:
        if ALL_CITY_YEARS in items:
            for table in sql.SCORE_TABLES:
                cur.execute(f"DELETE FROM {table}")  # fixed table names
                cur.execute(f"INSERT INTO {table} " + _REFRESH[table, "all"])
            cur.execute("DELETE FROM score_city")
            cur.execute(_SCORE_CITY_ALL)
            return
        pairs = sorted(items)
        params = {"cities": [c for c, _ in pairs], "years": [y for _, y in pairs]}
        for table in sql.SCORE_TABLES:
            cur.execute(_DELETE_TARGET[table], params)
            cur.execute(f"INSERT INTO {table} " + _REFRESH[table, "target"], params)
        self._rebuild_finished_scores(cur, {c for c, _ in pairs})

    def refresh_score_tables(self) -> None:
        """Rebuild the score tables from every raw answer (after bulk loads that bypass the store)."""
        with self.transaction() as cur:
            self.mark_scores_stale(cur, ALL_CITY_YEARS)

    def score_tables_version(self) -> str | None:
        """The version of the SQL the derived tables were built by (None: not recorded)."""
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", [VERSION_KEY]).fetchone()
        return str(row[0]) if row else None

    def _check_score_tables(self) -> None:
        """Rebuild the derived tables whose SQL differs from this release's (called on open).

        Migrations create and fill the tables with the SQL of their day (frozen text), and an
        older release's database keeps what it built; either way the tables may have another
        column layout or follow another rule. They hold nothing that is not derived, so they
        are dropped, created and filled again from the raw rows in one transaction, and the
        version recorded; a database already at this version is left alone.
        """
        old = self.score_tables_version()
        if old == sql.SCORE_TABLES_VERSION:
            return
        with self._write_lock, self.cursor() as cur:
            has_data = cur.execute(
                "SELECT EXISTS (SELECT 1 FROM submissions) OR EXISTS (SELECT 1 FROM verifications)"
            ).fetchone()
            cur.begin()
            try:
                for table in sql.DERIVED_TABLES:
                    cur.execute(f"DROP TABLE IF EXISTS {table}")  # fixed table names
                for ddl in sql.SCORE_TABLES_DDL:
                    cur.execute(ddl)
                self._rebuild_score_tables(cur, {ALL_CITY_YEARS})
                cur.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", [VERSION_KEY, sql.SCORE_TABLES_VERSION]
                )
                cur.commit()
            except BaseException:
                with suppress(duckdb.Error):
                    cur.rollback()
                raise
        if has_data and has_data[0]:
            log.info(
                "score tables of %s were built by other SQL (version %s): rebuilt from the raw rows (version %s)",
                Path(self.path).name,
                old or "not recorded",
                sql.SCORE_TABLES_VERSION,
            )
        else:
            log.debug(
                "score tables of %s created at version %s", Path(self.path).name, sql.SCORE_TABLES_VERSION
            )

    # ------------------------------------------------------------------ scoring reads
    # The scoring rules (see scoring.py for the why) as fixed SQL over bound $years/$city.

    def score_table(
        self, years: list[int] | None, city: str | None, from_raw: bool = False
    ) -> dict[str, list[Any]]:
        """Columns of one row per scored city-year (breakdowns as parallel code/value lists).

        Read from score_city; a year asked for a city that has no data in it is scored on the
        spot (every indicator missing), as the scoring rules say. `from_raw` recomputes
        everything from the raw answer rows instead, ignoring the score tables.
        """
        asked = {"years": years, "city": city}
        with self.cursor() as cur:
            if from_raw:
                return _columns(cur.execute(_SCORE_RAW_SQL, asked))
            out = _columns(cur.execute(sql.SCORE_CITY_READ, asked))
            if city is not None and years:
                absent = sorted(set(years) - set(out["year"]))
                if absent:
                    res = cur.execute(_SCORE_WIDE_SQL, {"years": absent, "city": city})
                    cols = [d[0] for d in res.description or []]
                    rows = sorted(
                        [tuple(out[c][n] for c in cols) for n in range(len(out["year"]))] + res.fetchall(),
                        key=lambda r: (r[1], r[0]),
                    )
                    out = {c: [r[n] for r in rows] for n, c in enumerate(cols)}
        return out

    def opd_score_rows(self, years: list[int] | None, city: str | None) -> list[Row]:
        with self.cursor() as cur:
            return cur.execute(sql.OPD_SQL, {"years": years, "city": city}).fetchall()

    def indicator_rows(self, year: int, city: str | None) -> list[dict[str, Any]]:
        """Every indicator's levels of `city` (None: of every city scored) in `year`, by city and order."""
        with self.cursor() as cur:
            return _dicts(cur.execute(sql.INDICATOR_SQL, {"years": [year], "city": city}))

    def answer_rows(self, year: int, city: str, opd: str | None = None) -> list[dict[str, Any]]:
        """Each OPD's current answer per indicator with its submission, for the drill-down."""
        with self.cursor() as cur:
            return _dicts(cur.execute(sql.ANSWERS_SQL, {"year": year, "city": city, "opd": opd}))

    def method_input_rows(self, year: int, city: str | None) -> dict[str, list[dict[str, Any]]]:
        """What the method dimensions of a city-year (`city` None: of every city scored that year)
        counted, by the CTEs that score them: rows, each with its city_code, of
        `dimensions` (value), `pillars` (v(d, p) and its counts), `surveyed` (each surveyed
        programme's impact) and `ignored` (programme codes left out), for metrics.methods."""
        asked = {"years": [year], "city": city}
        with self.cursor() as cur:
            return {
                "dimensions": _dicts(cur.execute(sql.METHOD_DIMENSIONS_SQL, asked)),
                "pillars": _dicts(cur.execute(sql.METHOD_PILLARS_SQL, asked)),
                "surveyed": _dicts(cur.execute(sql.SURVEYED_SQL, asked)),
                "ignored": _dicts(cur.execute(sql.IGNORED_SQL, asked)),
            }

    def na_indicator_rows(self, year: int, city: str) -> list[dict[str, Any]]:
        """The city-year's indicators answered "tidak berlaku" in force or decided on: claims,
        reasons ([OPD, reason] pairs), the newest decision, and whether confirmed."""
        with self.cursor() as cur:
            return _dicts(cur.execute(sql.NA_SQL, {"years": [year], "city": city}))

    def level_history(self, city: str | None, years: list[int]) -> list[Row]:
        """(city, year, indicator, effective level) for the year-over-year movers table."""
        with self.cursor() as cur:
            return cur.execute(sql.LEVELS_SQL, {"years": years, "city": city}).fetchall()

    def scores_if(
        self, batch: SubmissionBatch, username: str, city: str, year: int
    ) -> tuple[dict[str, list[Any]], list[Row]]:
        """(score_table-like columns, OPD score rows) of one city-year as they would be with `batch` stored.

        The batch is written and the city-year's score tables rebuilt exactly as a real upload
        would, in a transaction that is always rolled back: the effect of a file is computed by
        the same SQL that will compute it once stored, not by a second formula. Nothing is kept
        (a sequence number may be used up, which only leaves a gap in submission ids).
        """
        asked = {"years": [year], "city": city}
        with self._write_lock, self.cursor() as cur:
            cur.begin()
            try:
                self.insert_submissions(cur, batch, username, None, None, "preview")  # type: ignore[attr-defined]
                table = _columns(cur.execute(sql.SCORE_CITY_READ, asked))
                opd_rows = cur.execute(sql.OPD_SQL, asked).fetchall()
            finally:
                with suppress(duckdb.Error):
                    cur.rollback()
        return table, opd_rows
