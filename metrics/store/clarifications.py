"""Clarification requests between assessors and OPDs (issue 18): each request and every event of
its loop (asked, answered, closed, reopened), so that the whole exchange can be read back; and
the assessors' marks of an answer's required evidence (evidence_checks), which are judged in the
same place. Rows are only added (a request's status columns excepted): the events and the checks
are the history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from metrics.records import Clarification, ClarificationEvent
from metrics.store.connection import Connection, Cursor, Row, scalar, utcnow

_REQUEST_COLUMNS = """id, city_code, year, indicator_code, opd_code, message, due, status, asked_by,
    asked_at, closed_by, closed_at, outcome, verified_level, close_note"""


def _event(r: Row) -> ClarificationEvent:
    return ClarificationEvent(
        int(r[0]), int(r[1]), r[2], r[3], tuple(int(x) for x in (r[4] or ())), r[5], r[6], r[7]
    )


class Clarifications(Connection):
    """clarifications, clarification_events, evidence_checks."""

    @contextmanager
    def _clarify_reader(self, cur: Cursor | None) -> Iterator[Cursor]:
        """The caller's transaction when given one, else a fresh cursor."""
        if cur is not None:
            yield cur
        else:
            with self.cursor() as own:
                yield own

    # ------------------------------------------------------------------ requests and events
    def add_clarification(
        self,
        cur: Cursor,
        city: str,
        year: int,
        indicator: str,
        opd: str | None,
        message: str,
        due: date | None,
        username: str,
    ) -> int:
        """A new open request (opd None: to every OPD responsible for the indicator) with its
        `asked` event."""
        cid = int(scalar(cur, "SELECT nextval('clarification_seq')"))
        now = utcnow()
        cur.execute(
            """INSERT INTO clarifications (id, city_code, year, indicator_code, opd_code, message, due,
               status, asked_by, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)""",
            [cid, city, year, indicator, opd, message, due, username, now],
        )
        self.add_clarification_event(cur, cid, "asked", message, (), None, username)
        return cid

    def add_clarification_event(
        self,
        cur: Cursor,
        clarification_id: int,
        kind: str,
        text: str | None,
        item_ids: Sequence[int],
        submission_id: int | None,
        username: str,
    ) -> int:
        eid = int(scalar(cur, "SELECT nextval('clarification_event_seq')"))
        cur.execute(
            "INSERT INTO clarification_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [eid, clarification_id, kind, text, list(item_ids), submission_id, username, utcnow()],
        )
        return eid

    def set_clarification_status(
        self,
        cur: Cursor,
        clarification_id: int,
        status: str,
        username: str | None = None,
        outcome: str | None = None,
        verified_level: int | None = None,
        close_note: str | None = None,
    ) -> None:
        """Move a request to `status`; closing stamps who, when and the outcome, any other status
        clears them (a reopened request is open again)."""
        closed = status == "closed"
        cur.execute(
            """UPDATE clarifications SET status = ?, closed_by = ?, closed_at = ?, outcome = ?,
               verified_level = ?, close_note = ? WHERE id = ?""",
            [
                status,
                username if closed else None,
                utcnow() if closed else None,
                outcome if closed else None,
                verified_level if closed else None,
                close_note if closed else None,
                clarification_id,
            ],
        )

    def clarification(self, clarification_id: int, cur: Cursor | None = None) -> Clarification | None:
        """One request with its events, or None."""
        with self._clarify_reader(cur) as c:
            row = c.execute(
                f"SELECT {_REQUEST_COLUMNS} FROM clarifications WHERE id = ?",  # fixed column list
                [clarification_id],
            ).fetchone()
            if row is None:
                return None
            return self._with_events(c, [row])[0]

    def clarification_list(
        self,
        city: str,
        year: int | None = None,
        opd: str | None = None,
        status: str | None = None,
        cur: Cursor | None = None,
    ) -> list[Clarification]:
        """A city's requests (of `year`; to `opd` or to every OPD, when `opd` is given; in
        `status`), oldest first, each with its events."""
        with self._clarify_reader(cur) as c:
            rows = c.execute(
                f"""SELECT {_REQUEST_COLUMNS} FROM clarifications
                    WHERE city_code = $city AND ($year IS NULL OR year = $year)
                    AND ($opd IS NULL OR opd_code IS NULL OR opd_code = $opd)
                    AND ($status IS NULL OR status = $status) ORDER BY id""",  # fixed column list
                {"city": city, "year": year, "opd": opd, "status": status},
            ).fetchall()
            return self._with_events(c, rows)

    def _with_events(self, cur: Cursor, rows: list[Row]) -> list[Clarification]:
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        events: dict[int, list[ClarificationEvent]] = {i: [] for i in ids}
        for e in cur.execute(
            """SELECT id, clarification_id, kind, text, item_ids, submission_id, username, happened_at
               FROM clarification_events WHERE clarification_id = ANY(?) ORDER BY id""",
            [ids],
        ).fetchall():
            events[int(e[1])].append(_event(e))
        return [
            Clarification(
                int(r[0]),
                r[1],
                int(r[2]),
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                r[12],
                None if r[13] is None else int(r[13]),
                r[14],
                tuple(events[int(r[0])]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ required evidence checks
    def add_evidence_check(
        self,
        cur: Cursor,
        city: str,
        year: int,
        indicator: str,
        level: int,
        requirement: int,
        met: bool,
        note: str,
        username: str,
    ) -> int:
        cid = int(scalar(cur, "SELECT nextval('evidence_check_seq')"))
        cur.execute(
            "INSERT INTO evidence_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [cid, city, year, indicator, level, requirement, met, note, username, utcnow()],
        )
        return cid

    def evidence_check_rows(
        self, city: str, year: int, indicator: str | None = None, cur: Cursor | None = None
    ) -> list[Row]:
        """The newest mark per (indicator, level, requirement) of a city-year:
        (indicator_code, level, requirement, met, note, username, checked_at)."""
        with self._clarify_reader(cur) as c:
            return c.execute(
                """SELECT indicator_code, level, requirement, met, note, username, checked_at
                   FROM evidence_checks WHERE id IN (
                       SELECT max(id) FROM evidence_checks WHERE city_code = $city AND year = $year
                       AND ($indicator IS NULL OR indicator_code = $indicator)
                       GROUP BY indicator_code, level, requirement)
                   ORDER BY indicator_code, level, requirement""",
                {"city": city, "year": year, "indicator": indicator},
            ).fetchall()
