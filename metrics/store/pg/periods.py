"""Assessment periods on PostgreSQL: a period's status read inside a write holds until commit.

On DuckDB one process serialises the writers, so a write that checked "not locked" commits before
anyone can lock the year. Under READ COMMITTED in several processes an upload could check the
year open, an admin lock it and commit, and the upload commit after: a change to a locked year.
So a status read inside a write transaction first takes the city's period lock shared, and a
status change takes it exclusively: the change waits for the writes that checked the old status,
and a write that checks after it waits for the change and then reads it (the lock is taken in a
statement of its own, so the read that follows has a snapshot taken after the wait).

Two admins changing the same city's period at the very same moment each hold the lock shared
from their own check and wait for the other: PostgreSQL finds the deadlock within a second and
refuses one of them (CommitFailed), which the admin repeats. Uploads never wait for each other.
"""

from __future__ import annotations

from metrics.store.periods import Periods
from metrics.store.pg.connection import PERIOD_LOCK_CLASS, PgConnection, PgCursor


class PgPeriods(Periods, PgConnection):
    """Periods on PostgreSQL: the status read by a write and its change serialised per city."""

    def _lock_periods(self, cur: PgCursor, cities: list[str], shared: bool) -> None:
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        for city in sorted(set(cities)):
            cur.execute(f"SELECT {fn}(?, hashtext(?))", [PERIOD_LOCK_CLASS, city])  # fixed names

    def period_status(self, city: str, year: int, cur: PgCursor | None = None) -> str:  # type: ignore[override]
        if cur is not None:
            self._lock_periods(cur, [city], shared=True)
        return super().period_status(city, year, cur)  # type: ignore[arg-type]

    def period_statuses(self, cur: PgCursor, cities: list[str]) -> dict[tuple[str, int], str]:  # type: ignore[override]
        self._lock_periods(cur, cities, shared=True)
        return super().period_statuses(cur, cities)  # type: ignore[arg-type]

    def set_period_status(self, cur: PgCursor, city: str, year: int, status: str, username: str) -> None:  # type: ignore[override]
        self._lock_periods(cur, [city], shared=False)
        super().set_period_status(cur, city, year, status, username)  # type: ignore[arg-type]
