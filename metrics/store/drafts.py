"""The in-browser form drafts, one per OPD and year."""

from __future__ import annotations

from metrics.store.connection import Connection, Cursor, Row, utcnow


class Drafts(Connection):
    """The in-browser form drafts, one per OPD and year."""

    def get_draft(self, city: str, opd: str, year: int) -> Row | None:
        """(payload, updated_at, username) of the OPD's draft for the year, if any."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT payload, updated_at, username FROM drafts WHERE city_code = ? AND opd_code = ? AND year = ?",
                [city, opd, year],
            ).fetchone()

    def save_draft(self, cur: Cursor, city: str, opd: str, year: int, payload: str, username: str) -> None:
        cur.execute(
            "INSERT INTO drafts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (city_code, opd_code, year) DO UPDATE SET "
            "payload = excluded.payload, updated_at = excluded.updated_at, username = excluded.username",
            [city, opd, year, payload, utcnow(), username],
        )

    def delete_draft(self, cur: Cursor, city: str, opd: str, year: int) -> None:
        cur.execute("DELETE FROM drafts WHERE city_code = ? AND opd_code = ? AND year = ?", [city, opd, year])
