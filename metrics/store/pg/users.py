"""Accounts and sessions on PostgreSQL: the two reads-then-writes that must not interleave.

Sessions, sign-in failures and unlock codes are rows every process reads and writes, so a
session made by one process serves the next request in another, and a failure counted by one
slows the next attempt in another, with the DuckDB statements as written. Two places read and
then write on what they read, which one DuckDB process does one writer at a time; under READ
COMMITTED in several processes they lock the rows they read until commit:
- the last active admin: two admins demoting each other at once must not both pass the count,
  so the count locks every active admin's row (in name order: no deadlock between two counts);
- the cookie's one-time ticket: two requests redeeming it at once must not both get a token, so
  the redemption locks the session's row; the second then finds the ticket spent.
"""

from __future__ import annotations

from metrics.store.pg.connection import PgConnection, PgCursor
from metrics.store.users import Row, Users


class PgUsers(Users, PgConnection):
    """Accounts and sessions on PostgreSQL."""

    def other_active_admins(self, cur: PgCursor, username: str) -> int:  # type: ignore[override]
        rows = cur.execute(
            "SELECT username FROM users WHERE role = 'admin' AND active ORDER BY username FOR UPDATE"
        ).fetchall()
        return sum(1 for (name,) in rows if name != username)

    def session_by_ticket(self, cur: PgCursor, ticket_hash: str) -> Row | None:  # type: ignore[override]
        return cur.execute(
            f"SELECT {self._SESSION_COLS} FROM sessions WHERE ticket_hash = ? FOR UPDATE", [ticket_hash]
        ).fetchone()
