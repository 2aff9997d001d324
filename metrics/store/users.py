"""Accounts, sign-in failures, unlock codes and server-side sessions."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metrics.store.connection import Connection, Cursor, utcnow

if TYPE_CHECKING:
    import pandas as pd

Row = tuple[Any, ...]


class Users(Connection):
    """Accounts, sign-in failures, unlock codes and server-side sessions."""

    def get_user_row(self, username: str, cur: Cursor | None = None) -> Row | None:
        """(username, pw_hash, role, city_code, opd_code, active, display_name, failed_count,
        locked_until, sessions_valid_after), the exact name first, else any case of it."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(
                    """SELECT username, pw_hash, role, city_code, opd_code, active, display_name, failed_count,
                          locked_until, sessions_valid_after FROM users WHERE lower(username) = lower($u)
                   ORDER BY username = $u DESC, username LIMIT 1""",
                    {"u": username},
                )
                .fetchone()
            )

    def insert_user(
        self,
        cur: Cursor,
        username: str,
        pw_hash: str,
        role: str,
        city: str | None,
        opd: str | None,
        display_name: str,
    ) -> None:
        cur.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, TRUE, ?, 0, NULL, ?, NULL)",
            [username, pw_hash, role, city, opd, display_name, utcnow()],
        )

    def other_active_admins(self, cur: Cursor, username: str) -> int:
        row = cur.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND active AND username <> ?", [username]
        ).fetchone()
        return int(row[0]) if row else 0

    def update_user(self, cur: Cursor, username: str, **fields: object) -> None:
        # failed_count/locked_until stay in the table (schema v1) but are no longer written
        allowed = {
            "pw_hash",
            "role",
            "city_code",
            "opd_code",
            "active",
            "display_name",
            "sessions_valid_after",
        }
        for k, v in fields.items():
            if k not in allowed:
                raise KeyError(k)
            # column names come from the fixed set above, values are bound
            cur.execute(f"UPDATE users SET {k} = ? WHERE username = ?", [v, username])

    def users_frame(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                """SELECT username, role, city_code, opd_code, active, display_name, created_at
                   FROM users ORDER BY username"""
            ).df()

    def login_failure_stats(
        self, client: str, account: str, pair_since: datetime, client_since: datetime, account_since: datetime
    ) -> Row:
        """(count, latest) of failed sign-ins for this client and account, for this client over
        all accounts, and for this account from every client, each since its own instant."""
        with self.cursor() as cur:
            row = cur.execute(
                """SELECT count(*) FILTER (WHERE client = $c AND account = $a AND failed_at >= $ps),
                          max(failed_at) FILTER (WHERE client = $c AND account = $a AND failed_at >= $ps),
                          count(*) FILTER (WHERE client = $c AND failed_at >= $cs),
                          max(failed_at) FILTER (WHERE client = $c AND failed_at >= $cs),
                          count(*) FILTER (WHERE account = $a AND failed_at >= $as_),
                          max(failed_at) FILTER (WHERE account = $a AND failed_at >= $as_)
                   FROM login_failures WHERE failed_at >= least($ps, $cs, $as_)""",
                {"c": client, "a": account, "ps": pair_since, "cs": client_since, "as_": account_since},
            ).fetchone()
        return row if row else (0, None, 0, None, 0, None)

    def add_login_failure(
        self, cur: Cursor, at: datetime, client: str, account: str, prune_before: datetime
    ) -> None:
        """Record one failed sign-in, and forget those older than `prune_before`."""
        cur.execute("DELETE FROM login_failures WHERE failed_at < ?", [prune_before])
        cur.execute("INSERT INTO login_failures VALUES (?, ?, ?)", [at, client, account])

    def clear_login_failures(self, cur: Cursor, account: str, client: str | None = None) -> None:
        """Forget the failures of `account` from `client`, or from every client when None."""
        cur.execute(
            "DELETE FROM login_failures WHERE account = $a AND ($c IS NULL OR client = $c)",
            {"a": account, "c": client},
        )

    def put_unlock_code(
        self, cur: Cursor, account: str, code_hash: str, expires_at: datetime, created_by: str
    ) -> None:
        """The one live unlock code of `account` (a new one replaces the last)."""
        cur.execute(
            "INSERT INTO unlock_codes VALUES (?, ?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET "
            "code_hash = excluded.code_hash, expires_at = excluded.expires_at, created_at = excluded.created_at, "
            "created_by = excluded.created_by",
            [account, code_hash, expires_at, utcnow(), created_by],
        )

    def unlock_code_valid(self, account: str, code_hash: str, now: datetime) -> bool:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT code_hash, expires_at FROM unlock_codes WHERE account = ?", [account]
            ).fetchone()
        return row is not None and hmac.compare_digest(row[0], code_hash) and row[1] > now

    def use_unlock_code(self, cur: Cursor, account: str) -> None:
        cur.execute("DELETE FROM unlock_codes WHERE account = ?", [account])

    # ------------------------------------------------------------------ browser sessions

    _SESSION_COLS = "sid, username, created_at, last_seen, expires_at, ticket_expires_at"

    def insert_session(
        self, cur: Cursor, sid: str, username: str, created_at: datetime, expires_at: datetime, client: str
    ) -> None:
        cur.execute(
            "INSERT INTO sessions VALUES (?, ?, NULL, NULL, NULL, ?, ?, ?, ?)",
            [sid, username, created_at, created_at, expires_at, client],
        )

    def get_session(self, sid: str, cur: Cursor | None = None) -> Row | None:
        """(sid, username, created_at, last_seen, expires_at, ticket_expires_at) or None."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(f"SELECT {self._SESSION_COLS} FROM sessions WHERE sid = ?", [sid])
                .fetchone()
            )

    def session_by_token(self, token_hash: str) -> Row | None:
        with self.cursor() as c:
            return c.execute(
                f"SELECT {self._SESSION_COLS} FROM sessions WHERE token_hash = ?", [token_hash]
            ).fetchone()

    def session_by_ticket(self, cur: Cursor, ticket_hash: str) -> Row | None:
        return cur.execute(
            f"SELECT {self._SESSION_COLS} FROM sessions WHERE ticket_hash = ?", [ticket_hash]
        ).fetchone()

    def set_session_ticket(
        self, cur: Cursor, sid: str, ticket_hash: str | None, expires_at: datetime | None
    ) -> None:
        """The session's one live ticket (None, None: none)."""
        cur.execute(
            "UPDATE sessions SET ticket_hash = ?, ticket_expires_at = ? WHERE sid = ?",
            [ticket_hash, expires_at, sid],
        )

    def set_session_token(self, cur: Cursor, sid: str, token_hash: str | None) -> None:
        """The cookie's token of a session (a new one replaces the last); the ticket is spent."""
        cur.execute(
            "UPDATE sessions SET token_hash = ?, ticket_hash = NULL, ticket_expires_at = NULL WHERE sid = ?",
            [token_hash, sid],
        )

    def touch_session(self, cur: Cursor, sid: str, at: datetime) -> None:
        cur.execute("UPDATE sessions SET last_seen = ? WHERE sid = ?", [at, sid])

    def delete_session(self, cur: Cursor, sid: str) -> None:
        cur.execute("DELETE FROM sessions WHERE sid = ?", [sid])

    def delete_sessions(
        self,
        cur: Cursor,
        username: str | None = None,
        city: str | None = None,
        before: datetime | None = None,
    ) -> int:
        """End sessions: of one user (any case of the name), of every user of `city`, all of them
        (both None), and in every case those that expired before `before`. Returns how many."""
        row = cur.execute(
            """SELECT count(*) FROM sessions s LEFT JOIN users u ON u.username = s.username
               WHERE ($u IS NULL OR lower(s.username) = lower($u)) AND ($c IS NULL OR u.city_code = $c)""",
            {"u": username, "c": city},
        ).fetchone()
        n = row[0] if row else 0
        cur.execute(
            """DELETE FROM sessions WHERE sid IN (
                   SELECT s.sid FROM sessions s LEFT JOIN users u ON u.username = s.username
                   WHERE ($u IS NULL OR lower(s.username) = lower($u)) AND ($c IS NULL OR u.city_code = $c))""",
            {"u": username, "c": city},
        )
        if before is not None:
            cur.execute("DELETE FROM sessions WHERE expires_at < ?", [before])
        return int(n)

    def live_session_count(self, now: datetime) -> int:
        with self.cursor() as c:
            row = c.execute("SELECT count(*) FROM sessions WHERE expires_at > ?", [now]).fetchone()
        return int(row[0]) if row else 0
