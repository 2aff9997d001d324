"""The efforts a city puts on raising an indicator by one level, and the unit it counts them in.

The path to a target (metrics.targets) costs each level step by these; a step without an entry
costs one. Kept per city and year, like the answers they plan for.
"""

from __future__ import annotations

from metrics.store.connection import Connection, Cursor, Row, utcnow


class Efforts(Connection):
    """indicator_efforts and effort_units."""

    def effort_rows(self, city: str, year: int) -> list[Row]:
        """(indicator_code, to_level, effort, updated_by, updated_at) of the city-year, by code and level."""
        with self.cursor() as cur:
            return cur.execute(
                """SELECT indicator_code, to_level, effort, updated_by, updated_at FROM indicator_efforts
                   WHERE city_code = ? AND year = ? ORDER BY indicator_code, to_level""",
                [city, year],
            ).fetchall()

    def set_effort(
        self,
        cur: Cursor,
        city: str,
        year: int,
        indicator: str,
        to_level: int,
        effort: float | None,
        username: str,
    ) -> None:
        """Set (or, with None, clear) the effort of raising `indicator` to `to_level` (one
        statement either way, so that two writers setting the same step at once both succeed)."""
        if effort is None:
            cur.execute(
                "DELETE FROM indicator_efforts WHERE city_code = ? AND year = ? AND indicator_code = ? AND to_level = ?",
                [city, year, indicator, to_level],
            )
            return
        cur.execute(
            "INSERT INTO indicator_efforts VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (city_code, year, indicator_code, to_level) DO UPDATE SET effort = excluded.effort, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            [city, year, indicator, to_level, effort, username, utcnow()],
        )

    def effort_unit(self, city: str, year: int) -> str | None:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT unit FROM effort_units WHERE city_code = ? AND year = ?", [city, year]
            ).fetchone()
        return str(row[0]) if row else None

    def set_effort_unit(self, cur: Cursor, city: str, year: int, unit: str, username: str) -> None:
        cur.execute(
            "INSERT INTO effort_units VALUES (?, ?, ?, ?, ?) ON CONFLICT (city_code, year) DO UPDATE SET "
            "unit = excluded.unit, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            [city, year, unit, username, utcnow()],
        )
