"""Whole-table reads and writes for signed backups and restores.

A backup holds every table of this schema but the derived score tables (rebuilt on restore)
and the browser sessions, one Parquet stream each, written from and read into the tables
through the statements below. Table names come from this database's own catalog, never from an
archive; metrics.backup checks an archive's tables and columns against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from metrics.store.connection import Connection, Cursor, scalar
from metrics.store.scores import _SCORE_TABLES

if TYPE_CHECKING:
    import pyarrow as pa


# Every id sequence and the table whose `id` it numbers.
ID_SEQUENCES = (
    ("submission_id_seq", "submissions"),
    ("verification_id_seq", "verifications"),
    ("programme_version_seq", "programme_versions"),
    ("survey_upload_seq", "survey_uploads"),
    ("na_decision_seq", "na_decisions"),
    ("evidence_item_seq", "evidence_items"),
    ("evidence_check_seq", "evidence_checks"),
    ("clarification_seq", "clarifications"),
    ("clarification_event_seq", "clarification_events"),
    ("interview_seq", "interviews"),
)


class BackupTables(Connection):
    """Whole-table reads and writes for signed backups and restores."""

    def backup_tables(self) -> list[str]:
        with self.cursor() as cur:
            names = [
                r[0]
                for r in cur.execute(
                    """SELECT table_name FROM duckdb_tables()
                   WHERE database_name = current_database() AND schema_name = 'main' ORDER BY table_name"""
                ).fetchall()
            ]
        # browser sessions are not data: a restore signs everyone out rather than bring back old ones
        return [n for n in names if n not in (*_SCORE_TABLES, "score_city", "sessions")]

    def _own_table(self, table: str) -> str:
        # the catalog is read again only for a name not seen in it before (a copy asks per batch
        # reader, and DuckDB's catalog query costs milliseconds)
        known: frozenset[str] | None = self.__dict__.get("_own_tables")
        if known is None or table not in known:
            known = frozenset(self.backup_tables())
            self.__dict__["_own_tables"] = known
        if table not in known:
            raise ValueError(f"not a table of this schema: {table!r}")
        return table

    def table_schema(self, table: str) -> pa.Schema:
        """The Arrow schema of one of our tables: what a backup's Parquet file of it must carry."""
        with self.cursor() as cur:
            return cur.execute(f"SELECT * FROM {self._own_table(table)} LIMIT 0").to_arrow_table().schema

    @contextmanager
    def snapshot(self) -> Iterator[Cursor]:
        """A read transaction: every table read on it shows the same moment (a consistent backup)."""
        with self.cursor() as cur:
            cur.begin()
            try:
                yield cur
            finally:
                cur.rollback()

    def table_batches(self, cur: Cursor, table: str, rows: int = 8192) -> pa.RecordBatchReader:
        """One table's rows as Arrow record batches, streamed (a national `files` table is large)."""
        return cur.execute(f"SELECT * FROM {self._own_table(table)}").to_arrow_reader(rows)

    def table_count(self, cur: Cursor, table: str) -> int:
        return int(scalar(cur, f"SELECT count(*) FROM {self._own_table(table)}"))

    def load_rows(self, cur: Cursor, table: str, rows: pa.Table) -> None:
        """Append Arrow rows (columns already checked against table_schema) to one of our tables."""
        cur.register("_restore_rows", rows)
        try:
            cur.execute(f"INSERT INTO {self._own_table(table)} SELECT * FROM _restore_rows")
        finally:
            cur.unregister("_restore_rows")

    def restart_sequences(self, cur: Cursor) -> None:
        """Id sequences continue after the restored rows (a new submission gets a fresh id)."""
        for seq, table in ID_SEQUENCES:
            start = int(scalar(cur, f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))
            cur.execute(f"DROP SEQUENCE {seq}")
            cur.execute(f"CREATE SEQUENCE {seq} START {start}")  # an int computed here, not text
