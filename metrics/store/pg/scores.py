"""The derived score tables on PostgreSQL, rebuilt per city natively in PostgreSQL's SQL inside
the write transaction, under the cities' locks (see metrics.store.pg.connection).
"""

from __future__ import annotations

from metrics.store.pg.connection import PgConnection, PgCursor
from metrics.store.scores import ALL_CITY_YEARS, CityYears, Scores


class PgScores(Scores, PgConnection):
    """The derived score tables on PostgreSQL."""

    def _refresh_stale(self, cur: PgCursor) -> None:  # type: ignore[override]
        pending = self._stale.get(id(cur)) or set()
        finished = self._stale_finished.get(id(cur)) or set()
        if not pending and not finished:
            return
        everything = ALL_CITY_YEARS in pending
        self.lock_cities(cur, {c for c, _ in pending} | finished, everything=everything)
        super()._refresh_stale(cur)  # type: ignore[arg-type]

    # GROUNDWORK PLACEHOLDERS (issue 19): the score-rebuild helper replaces these two with the
    # PostgreSQL rebuild; until then the score tables stay empty on PostgreSQL.
    def _rebuild_score_tables(self, cur: PgCursor, items: CityYears) -> None:  # type: ignore[override]
        return None

    def _rebuild_finished_scores(self, cur: PgCursor, cities: set[str]) -> None:  # type: ignore[override]
        return None

    def _check_score_tables(self) -> None:
        return None
