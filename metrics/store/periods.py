"""Assessment periods (open/closed), deadlines and the reminders sent."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from metrics.store.connection import Connection, Cursor, Row, utcnow

if TYPE_CHECKING:
    import pandas as pd


class Periods(Connection):
    """Assessment periods (open/closed), deadlines and the reminders sent."""

    def period_status(self, city: str, year: int, cur: Cursor | None = None) -> str:
        with self.cursor() as c:
            row = (
                (cur or c)
                .execute("SELECT status FROM periods WHERE city_code = ? AND year = ?", [city, year])
                .fetchone()
            )
        return row[0] if row else "open"

    def set_period_status(self, cur: Cursor, city: str, year: int, status: str, username: str) -> None:
        cur.execute(
            "INSERT INTO periods VALUES (?, ?, ?, ?, ?) ON CONFLICT (city_code, year) DO UPDATE SET "
            "status = excluded.status, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [city, year, status, utcnow(), username],
        )

    def periods_frame(self, city: str | None = None) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                """SELECT city_code, year, status, updated_at, updated_by FROM periods
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, year""",
                {"c": city},
            ).df()

    def deadline_rows(self, city: str, year: int, cur: Cursor | None = None) -> list[Row]:
        """(city_code, self_due, verify_due, updated_at, updated_by) of the city's own row and the
        all-cities row ('*') of a year, whichever exist."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(
                    """SELECT city_code, self_due, verify_due, updated_at, updated_by FROM deadlines
                   WHERE year = ? AND city_code IN (?, '*') ORDER BY city_code = '*'""",
                    [year, city],
                )
                .fetchall()
            )

    def set_deadline_row(
        self, cur: Cursor, city: str, year: int, self_due: date | None, verify_due: date | None, username: str
    ) -> None:
        cur.execute(
            "INSERT INTO deadlines VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (city_code, year) DO UPDATE SET "
            "self_due = excluded.self_due, verify_due = excluded.verify_due, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by",
            [city, year, self_due, verify_due, utcnow(), username],
        )

    def delete_deadline_row(self, cur: Cursor, city: str, year: int) -> None:
        cur.execute("DELETE FROM deadlines WHERE city_code = ? AND year = ?", [city, year])

    def deadline_years(self) -> list[int]:
        with self.cursor() as cur:
            return [r[0] for r in cur.execute("SELECT DISTINCT year FROM deadlines ORDER BY 1").fetchall()]

    def reminder_sent(self, city: str, opd: str, year: int, stage: str) -> bool:
        with self.cursor() as cur:
            return (
                cur.execute(
                    "SELECT 1 FROM reminders WHERE city_code = ? AND opd_code = ? AND year = ? AND stage = ?",
                    [city, opd, year, stage],
                ).fetchone()
                is not None
            )

    def add_reminder(self, cur: Cursor, city: str, opd: str, year: int, stage: str, recipient: str) -> None:
        cur.execute(
            "INSERT INTO reminders VALUES (?, ?, ?, ?, ?, ?)", [city, opd, year, stage, recipient, utcnow()]
        )

    def period_statuses(self, cur: Cursor, cities: list[str]) -> dict[tuple[str, int], str]:
        """(city, year) -> status of every period row of `cities` (no row means open)."""
        rows = cur.execute(
            "SELECT city_code, year, status FROM periods WHERE city_code = ANY(?::VARCHAR[])",
            [sorted(set(cities))],
        ).fetchall()
        return {(c, y): st for c, y, st in rows}
