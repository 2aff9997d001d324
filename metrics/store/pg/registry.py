"""The registry on PostgreSQL: an indicator's one assigned OPD stays one under concurrent writers.

An assignment is replaced by a delete and an insert (the table's key is city, indicator and OPD,
so it cannot itself say "one OPD per indicator"). In one DuckDB process writers take turns; in
several PostgreSQL processes two admins assigning the same indicator to two OPDs at once would
each delete nothing and insert one row: two assigned OPDs. So a write that reads or replaces a
city's assignments first takes that city's lock, the one its score rebuild takes at commit
anyway (metrics.store.pg.connection: the global lock shared, then the city's), so the second
writer waits, then reads and replaces what the first committed.
"""

from __future__ import annotations

from metrics.store.pg.connection import PgConnection, PgCursor
from metrics.store.registry import Registry


class PgRegistry(Registry, PgConnection):
    """The registry on PostgreSQL."""

    def assignment_rows(  # type: ignore[override]
        self, city: str | None = None, cur: PgCursor | None = None
    ) -> list[tuple[str, str, str, object, str]]:
        if cur is not None and city is not None:
            self.lock_cities(cur, {city})
        return super().assignment_rows(city, cur)  # type: ignore[arg-type]

    def set_assignment_row(  # type: ignore[override]
        self, cur: PgCursor, city: str, indicator: str, opd: str | None, username: str
    ) -> None:
        self.lock_cities(cur, {city})
        super().set_assignment_row(cur, city, indicator, opd, username)  # type: ignore[arg-type]
