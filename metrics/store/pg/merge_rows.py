"""The statements `copy` needs to merge a city's database into a national PostgreSQL store
(metrics.transfer): fresh ids from the target's sequences, the rows of some keys of a table, and
the exclusive global lock under which the whole merge runs. The re-chained audit rows go through
the audit group's commit-time writer (metrics.store.pg.audit_log.PgAuditLog.import_audit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrics.store.backup_tables import ID_SEQUENCES, BackupTables
from metrics.store.pg.backup_tables import _batch
from metrics.store.pg.connection import GLOBAL_LOCK, PgConnection, PgCursor

if TYPE_CHECKING:
    import pyarrow as pa

_SEQUENCE_OF = {table: seq for seq, table in ID_SEQUENCES}


class PgMergeRows(BackupTables, PgConnection):
    """Row reads and id allocation for merging one store's cities into another (PostgreSQL)."""

    def lock_everything(self, cur: PgCursor) -> None:
        """The global lock, exclusively: no other write (of any city) until the transaction ends."""
        self.lock(cur, GLOBAL_LOCK)

    def next_ids(self, cur: PgCursor, table: str, n: int) -> list[int]:
        """`n` fresh ids of `table` (one of ID_SEQUENCES' tables) from its sequence, ascending."""
        if n <= 0:
            return []
        seq = _SEQUENCE_OF[self._own_table(table)]  # a name from our own constant
        rows = cur.execute(f"SELECT nextval('{seq}') FROM generate_series(1, ?)", [n]).fetchall()
        return sorted(int(r[0]) for r in rows)

    def rows_where(self, cur: PgCursor, table: str, column: str, values: list[object]) -> pa.Table:
        """The rows of `table` whose `column` is one of `values` (all rows for values None), with
        the table's Arrow schema (metrics.store.pg.backup_tables)."""
        import pyarrow as pa

        schema = self.table_schema(table)
        if column not in schema.names:
            raise ValueError(f"{table} has no column {column}")
        if not values:
            return schema.empty_table()
        # names checked against the catalog above; the values are a bound array parameter
        rows = cur.execute(
            f'SELECT * FROM {self._own_table(table)} WHERE "{column}" = ANY(?)', [list(values)]
        ).fetchall()
        return pa.Table.from_batches([_batch(schema, [tuple(r) for r in rows])], schema=schema)
