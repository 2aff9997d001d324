"""Interview sessions (issue 18): when assessors meet a city's OPDs, where, about which indicators.

A session is one row, changed in place (its history is the audit log's before/after): a
cancelled session stays, marked, so an OPD that saved it in its calendar can still be told.
`starts_at` is the city's local wall time, naive, as people agree on it ("Rabu 09.00 WITA"); the
core adds the zone when it shows the session or writes it into a calendar file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from metrics.records import Interview
from metrics.store.connection import Connection, Cursor, Row, scalar, utcnow

_COLUMNS = """id, city_code, starts_at, minutes, place, video_link, opd_codes, indicator_codes, notes,
    cancelled, created_by, created_at, updated_by, updated_at"""


def _interview(r: Row) -> Interview:
    return Interview(
        int(r[0]),
        str(r[1]),
        r[2],
        int(r[3]),
        r[4],
        r[5],
        tuple(r[6] or ()),
        tuple(r[7] or ()),
        r[8],
        bool(r[9]),
        str(r[10]),
        r[11],
        r[12],
        r[13],
    )


class Interviews(Connection):
    """interviews."""

    def insert_interview(
        self,
        cur: Cursor,
        city: str,
        starts_at: datetime,
        minutes: int,
        place: str | None,
        video_link: str | None,
        opd_codes: Sequence[str],
        indicator_codes: Sequence[str],
        notes: str | None,
        username: str,
        at: datetime | None = None,
    ) -> int:
        """Store a new session of `city` (`starts_at`: the city's local time, naive); its id.
        `at` (naive UTC) is when it was made: now unless given (the demo's fixed history)."""
        iid = int(scalar(cur, "SELECT nextval('interview_seq')"))
        cur.execute(
            f"INSERT INTO interviews ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, ?, NULL, NULL)",
            [
                iid,
                city,
                starts_at,
                minutes,
                place,
                video_link,
                list(opd_codes),
                list(indicator_codes),
                notes,
                username,
                at or utcnow(),
            ],
        )
        return iid

    def update_interview(
        self,
        cur: Cursor,
        interview_id: int,
        starts_at: datetime,
        minutes: int,
        place: str | None,
        video_link: str | None,
        opd_codes: Sequence[str],
        indicator_codes: Sequence[str],
        notes: str | None,
        cancelled: bool,
        username: str,
    ) -> None:
        """Replace every changeable column of a session (the city and its creation stay)."""
        cur.execute(
            """UPDATE interviews SET starts_at = ?, minutes = ?, place = ?, video_link = ?, opd_codes = ?,
                   indicator_codes = ?, notes = ?, cancelled = ?, updated_by = ?, updated_at = ?
               WHERE id = ?""",
            [
                starts_at,
                minutes,
                place,
                video_link,
                list(opd_codes),
                list(indicator_codes),
                notes,
                cancelled,
                username,
                utcnow(),
                interview_id,
            ],
        )

    def interview(self, interview_id: int, cur: Cursor | None = None) -> Interview | None:
        """One session by id (None: no such session)."""
        sql = f"SELECT {_COLUMNS} FROM interviews WHERE id = ?"
        if cur is not None:
            row = cur.execute(sql, [interview_id]).fetchone()
        else:
            with self.cursor() as c:
                row = c.execute(sql, [interview_id]).fetchone()
        return _interview(row) if row else None

    def interviews(
        self, city: str, opd: str | None = None, starts_from: datetime | None = None
    ) -> list[Interview]:
        """The city's sessions in time order (then by id): only those `opd` attends when given,
        only those starting at or after `starts_from` (the city's local time) when given."""
        with self.cursor() as cur:
            rows = cur.execute(
                f"""SELECT {_COLUMNS} FROM interviews
                    WHERE city_code = ? AND (? IS NULL OR ? = ANY(opd_codes))
                      AND (CAST(? AS TIMESTAMP) IS NULL OR starts_at >= ?)
                    ORDER BY starts_at, id""",
                [city, opd, opd, starts_from, starts_from],
            ).fetchall()
        return [_interview(r) for r in rows]
