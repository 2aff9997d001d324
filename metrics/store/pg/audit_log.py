"""The audit chain on PostgreSQL: entries collected during a transaction, chained at commit.

Several processes write at once, so the chain's tail may only be read under a lock held until
commit. Taking that lock at the first audit write would hold it across the score rebuild and
make the lock order depend on the code path; instead `write_audit` collects the entries and
`_append_audit` (called by PgConnection.transaction after the score rebuild) takes the audit
lock last, reads the tail, chains and appends the rows, and moves the content version. The ids
returned by `write_audit` are therefore not known until commit; no caller uses them.
"""

from __future__ import annotations

from metrics import audit as audit_chain
from metrics.auth import User
from metrics.store.audit_log import ACTIONS_PAGES_DO_NOT_SHOW, AuditEntry, AuditLog
from metrics.store.connection import _now_iso
from metrics.store.pg.connection import AUDIT_LOCK, PgConnection, PgCursor

_CONTENT_VERSION = "content_version"
# an imported row as it stood in another store: logged_at, username, action, object, before and
# after (the last two as their canonical text already)
ImportedRow = tuple[str, str, str, str, str | None, str | None]


class _Imported:
    """Rows of another store's audit log, queued to be chained at commit (import_audit)."""

    def __init__(self, rows: list[ImportedRow]) -> None:
        self.rows = rows


_AUDIT_COLUMNS = ("id", "logged_at", "username", "action", "object", "before", "after", "prev_hash", "hash")


class PgAuditLog(AuditLog, PgConnection):
    """The audit table on PostgreSQL: rows appended at commit under the audit lock."""

    def write_audit(  # type: ignore[override]
        self, cur: PgCursor, user: User, action: str, obj: str, before: object = None, after: object = None
    ) -> int:
        self.write_audit_many(cur, user, [(action, obj, before, after)])
        return 0  # the id is given at commit (see the module docstring)

    def write_audit_many(self, cur: PgCursor, user: User, entries: list[AuditEntry]) -> list[int]:  # type: ignore[override]
        if not entries:
            return []
        pending = self._audit_pending.get(id(cur))
        if pending is None:  # not inside transaction(): a one-statement write, chained at once
            self._chain_and_append(cur, [(user, list(entries))])
        else:
            pending.append((user, list(entries)))
            self._audit_written[id(cur)] = True
        return [0] * len(entries)

    def import_audit(self, cur: PgCursor, rows: list[ImportedRow]) -> None:
        """Queue another store's audit rows (metrics.transfer's merge), in their order and with
        their own times and users, to be chained under this store's key after the entries queued
        before them: the same commit-time writer, under the same lock. Inside transaction() only."""
        pending = self._audit_pending.get(id(cur))
        if pending is None:
            raise RuntimeError("import_audit needs a transaction()")
        if rows:
            pending.append((_Imported(list(rows)), []))
            self._audit_written[id(cur)] = True

    def _append_audit(self, cur: PgCursor) -> audit_chain.Head | None:
        pending = self._audit_pending.get(id(cur))
        if not pending:
            return None
        return self._chain_and_append(cur, pending)

    def _chain_and_append(
        self, cur: PgCursor, batches: list[tuple[User, list[AuditEntry]]]
    ) -> audit_chain.Head:
        self.lock(cur, AUDIT_LOCK)
        imported = any(isinstance(user, _Imported) for user, _ in batches)
        if imported or any(
            a not in ACTIONS_PAGES_DO_NOT_SHOW for _, entries in batches for a, _, _, _ in entries
        ):
            cur.execute(
                "INSERT INTO meta SELECT $k, (coalesce(max(value::BIGINT), 0) + 1)::VARCHAR FROM meta "
                "WHERE key = $k ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {"k": _CONTENT_VERSION},
            )
        last = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        n = int(last[0]) if last else 0
        prev = str(last[1]) if last else audit_chain.GENESIS
        rows = []
        for user, entries in batches:
            if isinstance(user, _Imported):
                for at, username, action, obj, b, a in user.rows:
                    n += 1
                    h = audit_chain.row_hash(prev, n, at, username, action, obj, b, a, self.audit_key)
                    rows.append((n, at, username, action, obj, b, a, prev, h))
                    prev = h
                continue
            for action, obj, before, after in entries:
                n += 1
                at = _now_iso()
                b, a = audit_chain.canonical(before), audit_chain.canonical(after)
                h = audit_chain.row_hash(prev, n, at, user.username, action, obj, b, a, self.audit_key)
                rows.append((n, at, user.username, action, obj, b, a, prev, h))
                prev = h
        cur.copy_rows("audit", _AUDIT_COLUMNS, rows)
        # the rows the chain holds up to its head: every writer numbers a row one past the one
        # before, so it is the id span (min(id) is one index probe; count(*) would read a
        # national log whole on every commit). A row deleted before or after this commit shows
        # in `audit verify` as a count that differs from this one.
        first = cur.execute("SELECT min(id) FROM audit").fetchone()
        return audit_chain.Head(
            n, prev, n - int(first[0]) + 1 if first and first[0] else len(rows), _now_iso()
        )

    def has_audit_table(self) -> bool:
        with self.cursor() as cur:
            row = cur.execute("SELECT to_regclass('audit') IS NOT NULL").fetchone()
        return bool(row and row[0])

    def audit_head(self, cur: PgCursor) -> audit_chain.Head:  # type: ignore[override]
        row = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return audit_chain.Head(0, audit_chain.GENESIS, 0, _now_iso())
        count = cur.execute("SELECT count(*) FROM audit").fetchone()
        return audit_chain.Head(int(row[0]), str(row[1]), int(count[0]) if count else 0, _now_iso())

    def _publish_audit_head(self, head: audit_chain.Head) -> None:
        """As on DuckDB, but several processes publish: a head older than the one already kept
        (another process committed after this one and published first) is not written back."""
        if self.audit_key is None:
            return
        try:
            audit_chain.write_head_if_newer(self.path, head, self.audit_key)
        except OSError as exc:
            audit_chain.log.error("audit head of %s not written (%s): %s", self.path, exc, head.short())
