"""The audit table: hash-chained rows written in the caller's transaction, and its reads."""

from __future__ import annotations

from metrics import audit as audit_chain
from metrics.auth import User
from metrics.store.connection import Connection, _now_iso


class AuditLog(Connection):
    """The audit table: hash-chained rows written in the caller's transaction, and its reads."""

    def _chained(self, cur, user: User, entries: list[tuple[str, str, object, object]]) -> list[tuple]:
        """Audit rows for `entries`, in order, each hash-chained under the key to the one before
        (the last stored row first): the one place that computes the chain, for one row or many."""
        if id(cur) in self._audit_written:
            self._audit_written[id(cur)] = True
        last = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        next_id = (last[0] + 1) if last else 1
        prev = last[1] if last else audit_chain.GENESIS
        rows = []
        for n, (action, obj, before, after) in enumerate(entries):
            at = _now_iso()
            b, a = audit_chain.canonical(before), audit_chain.canonical(after)
            h = audit_chain.row_hash(prev, next_id + n, at, user.username, action, obj, b, a, self.audit_key)
            rows.append((next_id + n, at, user.username, action, obj, b, a, prev, h))
            prev = h
        return rows

    def write_audit(
        self, cur, user: User, action: str, obj: str, before: object = None, after: object = None
    ) -> int:
        """Append one hash-chained audit row inside the caller's transaction."""
        (row,) = self._chained(cur, user, [(action, obj, before, after)])
        cur.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
        return row[0]

    def write_audit_many(self, cur, user: User, entries: list[tuple[str, str, object, object]]) -> list[int]:
        """Append one hash-chained audit row per (action, object, before, after), in order, in one go."""
        import pyarrow as pa

        if not entries:
            return []
        cols = list(zip(*self._chained(cur, user, entries)))
        names = ("id", "logged_at", "username", "action", "object", "before", "after", "prev_hash", "hash")
        tbl = pa.table(
            {k: pa.array(v, pa.int64() if k == "id" else pa.string()) for k, v in zip(names, cols)}
        )
        cur.register("_new_audit", tbl)
        cur.execute("INSERT INTO audit SELECT * FROM _new_audit")
        cur.unregister("_new_audit")
        return list(cols[0])

    def audit_rows(self) -> audit_chain.AuditRows:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT id, logged_at, username, action, object, before, after, prev_hash, hash FROM audit ORDER BY id"
            ).fetchall()
        return audit_chain.AuditRows((audit_chain.AuditRow(*r) for r in rows), self.audit_key)

    def has_audit_table(self) -> bool:
        """False when the audit table was dropped behind the application's back."""
        with self.cursor() as cur:
            return (
                cur.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                    "AND schema_name = 'main' AND table_name = 'audit'"
                ).fetchone()[0]
                == 1
            )

    def _audit_head_in(self, cur) -> audit_chain.Head | None:
        """The chain head as this transaction leaves it, if it wrote audit rows (one read per commit)."""
        return self.audit_head(cur) if self._audit_written.get(id(cur)) else None

    def audit_head(self, cur) -> audit_chain.Head:
        """Last id, last hash and row count of the audit log as `cur` sees it."""
        n, last_id, last_hash = cur.execute(
            "SELECT count(*), max(id), arg_max(hash, id) FROM audit"
        ).fetchone()
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
    ):
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
            return cur.execute("SELECT count(*) FROM audit").fetchone()[0]

    def audit_actions(self) -> list[str]:
        """The distinct audit actions recorded, for the audit page's filter."""
        with self.cursor() as cur:
            return [r[0] for r in cur.execute("SELECT DISTINCT action FROM audit ORDER BY 1").fetchall()]

    def audit_usernames(self) -> list[str]:
        """The distinct users in the audit log, for the audit page's filter."""
        with self.cursor() as cur:
            return [r[0] for r in cur.execute("SELECT DISTINCT username FROM audit ORDER BY 1").fetchall()]
