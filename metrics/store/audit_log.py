"""The audit table: hash-chained rows written in the caller's transaction, and its reads.

The audit writer also keeps the content version (`data_version`): every audited write moves
it, in the same transaction, except the actions in ACTIONS_PAGES_DO_NOT_SHOW. Page caches key on
it, so a sign-in or a download no longer empties every user's cached pages, while a new kind of
write invalidates them unless it is listed here (fail-safe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrics import audit as audit_chain
from metrics.auth import User
from metrics.store.connection import Connection, Cursor, _now_iso

if TYPE_CHECKING:
    import pandas as pd

AuditEntry = tuple[str, str, object, object]  # (action, object, before, after)
AuditRow = tuple[int, str, str, str, str, str | None, str | None, str, str]

# Audited actions that change nothing any page shows from the data (the audit log page itself
# reads uncached): signing in and out, failed sign-ins, downloads, sessions, unlock codes and
# password hashes. Every other audited action moves the content version.
ACTIONS_PAGES_DO_NOT_SHOW: frozenset[str] = frozenset(
    {
        "login.success",
        "login.failure",
        "login.sso",
        "login.sso_failure",
        "logout",
        "export",
        "backup.create",
        "session.end_all",
        "user.unlock_code",
        "user.password",
        "user.rehash",
        "framework.whatif",  # a preview of a candidate framework: nothing stored
    }
)

_CONTENT_VERSION = "content_version"  # the meta key


class AuditLog(Connection):
    """The audit table: hash-chained rows written in the caller's transaction, and its reads."""

    def _chained(self, cur: Cursor, user: User, entries: list[AuditEntry]) -> list[AuditRow]:
        """Audit rows for `entries`, in order, each hash-chained under the key to the one before
        (the last stored row first): the one place that computes the chain, for one row or many.
        Moves the content version unless every entry is one pages do not show."""
        if id(cur) in self._audit_written:
            self._audit_written[id(cur)] = True
        if any(action not in ACTIONS_PAGES_DO_NOT_SHOW for action, _, _, _ in entries):
            cur.execute(
                "INSERT OR REPLACE INTO meta SELECT $k, (coalesce(max(value::BIGINT), 0) + 1)::VARCHAR "
                "FROM meta WHERE key = $k",
                {"k": _CONTENT_VERSION},
            )
        last = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        next_id = int(last[0]) + 1 if last else 1
        prev = str(last[1]) if last else audit_chain.GENESIS
        rows: list[AuditRow] = []
        for n, (action, obj, before, after) in enumerate(entries):
            at = _now_iso()
            b, a = audit_chain.canonical(before), audit_chain.canonical(after)
            h = audit_chain.row_hash(prev, next_id + n, at, user.username, action, obj, b, a, self.audit_key)
            rows.append((next_id + n, at, user.username, action, obj, b, a, prev, h))
            prev = h
        return rows

    def data_version(self) -> tuple[int]:
        """The content version: moves with every write that changes what a page shows.

        One meta row, cheap enough to ask on every dashboard rerun; page caches key on it
        (ui.shell.cached). Audited writes move it (see ACTIONS_PAGES_DO_NOT_SHOW for those that
        do not); a database no content write has touched yet is at 0.
        """
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", [_CONTENT_VERSION]).fetchone()
        return (int(row[0]) if row else 0,)

    def write_audit(
        self, cur: Cursor, user: User, action: str, obj: str, before: object = None, after: object = None
    ) -> int:
        """Append one hash-chained audit row inside the caller's transaction."""
        (row,) = self._chained(cur, user, [(action, obj, before, after)])
        cur.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
        return row[0]

    def write_audit_many(self, cur: Cursor, user: User, entries: list[AuditEntry]) -> list[int]:
        """Append one hash-chained audit row per (action, object, before, after), in order, in one go."""
        import pyarrow as pa

        if not entries:
            return []
        rows = self._chained(cur, user, entries)
        cols = list(zip(*rows))
        names = ("id", "logged_at", "username", "action", "object", "before", "after", "prev_hash", "hash")
        tbl = pa.table(
            {k: pa.array(v, pa.int64() if k == "id" else pa.string()) for k, v in zip(names, cols)}
        )
        cur.register("_new_audit", tbl)
        cur.execute("INSERT INTO audit SELECT * FROM _new_audit")
        cur.unregister("_new_audit")
        return [r[0] for r in rows]

    def audit_rows(self) -> audit_chain.AuditRows:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT id, logged_at, username, action, object, before, after, prev_hash, hash FROM audit ORDER BY id"
            ).fetchall()
        return audit_chain.AuditRows((audit_chain.AuditRow(*r) for r in rows), self.audit_key)

    def has_audit_table(self) -> bool:
        """False when the audit table was dropped behind the application's back."""
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND table_name = 'audit'"
            ).fetchone()
        return row is not None and row[0] == 1

    def _audit_head_in(self, cur: Cursor) -> audit_chain.Head | None:
        """The chain head as this transaction leaves it, if it wrote audit rows (one read per commit)."""
        return self.audit_head(cur) if self._audit_written.get(id(cur)) else None

    def audit_head(self, cur: Cursor) -> audit_chain.Head:
        """Last id, last hash and row count of the audit log as `cur` sees it."""
        row = cur.execute("SELECT count(*), max(id), arg_max(hash, id) FROM audit").fetchone()
        n, last_id, last_hash = row if row else (0, None, None)
        if not n:
            return audit_chain.Head(0, audit_chain.GENESIS, 0, _now_iso())
        return audit_chain.Head(int(last_id), last_hash, int(n), _now_iso())

    def _publish_audit_head(self, head: audit_chain.Head) -> None:
        """Keep the committed head outside the database (and in the server log). A failure here
        cannot undo the commit: it is logged, and `audit verify` then shows the head behind."""
        if self.audit_key is None:
            return
        try:
            audit_chain.write_head(self.path, head, self.audit_key)
        except OSError as exc:
            audit_chain.log.error("audit head of %s not written (%s): %s", self.path, exc, head.short())

    def audit_frame(
        self,
        username: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                """SELECT id, logged_at, username, action, object, before, after FROM audit
                   WHERE ($u IS NULL OR username = $u) AND ($a IS NULL OR action = $a)
                     AND ($s IS NULL OR logged_at >= $s) AND ($e IS NULL OR logged_at <= $e)
                   ORDER BY id DESC LIMIT $n""",
                {"u": username, "a": action, "s": since, "e": until, "n": limit},
            ).df()

    def audit_count(self) -> int:
        with self.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM audit").fetchone()
        return int(row[0]) if row else 0

    def audit_actions(self) -> list[str]:
        """The distinct audit actions recorded, for the audit page's filter."""
        with self.cursor() as cur:
            return [str(r[0]) for r in cur.execute("SELECT DISTINCT action FROM audit ORDER BY 1").fetchall()]

    def audit_usernames(self) -> list[str]:
        """The distinct users in the audit log, for the audit page's filter."""
        with self.cursor() as cur:
            return [
                str(r[0]) for r in cur.execute("SELECT DISTINCT username FROM audit ORDER BY 1").fetchall()
            ]

    def last_content_change(self, also_skip: tuple[str, ...] = ()) -> str | None:
        """When the newest audited write that moved the content version was logged (the stored
        aware UTC ISO text; None when there is none), leaving out `also_skip` too: what a package
        made from the data dates itself by, so the same data gives the same bytes."""
        skip = sorted(ACTIONS_PAGES_DO_NOT_SHOW | set(also_skip))
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT max(logged_at) FROM audit WHERE NOT (action = ANY($skip::VARCHAR[]))",
                {"skip": skip},
            ).fetchone()
        return str(row[0]) if row and row[0] is not None else None
