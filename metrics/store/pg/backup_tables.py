"""Whole-table reads and writes of a PostgreSQL store: backups, restores and `copy`.

The same interface as the DuckDB group (metrics.store.backup_tables), in PostgreSQL's dialect:
the tables come from the catalog of the current schema; each table's Arrow schema is the one the
DuckDB store gives the same table (the two schemas have the same columns in the same order; a
SMALLINT here is DuckDB's TINYINT), so a backup made on either backend carries the same column
types and restores on either; rows stream out of a REPEATABLE READ snapshot in chunks (psycopg's
`stream`, so a national `files` table is never in memory whole) and go in through COPY.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from metrics.store.backup_tables import ID_SEQUENCES, BackupTables
from metrics.store.pg.connection import PgConnection, PgCursor

if TYPE_CHECKING:
    import pyarrow as pa


def _arrow_type(data_type: str, udt_name: str) -> pa.DataType:
    """The Arrow type DuckDB gives the column that PostgreSQL stores as `data_type`."""
    import pyarrow as pa

    scalars = {
        "character varying": pa.string(),
        "text": pa.string(),
        "bigint": pa.int64(),
        "integer": pa.int32(),
        "smallint": pa.int8(),  # DuckDB's TINYINT (the schema has no other SMALLINT)
        "boolean": pa.bool_(),
        "double precision": pa.float64(),
        "timestamp without time zone": pa.timestamp("us"),
        "date": pa.date32(),
        "bytea": pa.binary(),
    }
    if data_type == "ARRAY":
        element = {
            "_varchar": pa.string(),
            "_text": pa.string(),
            "_int8": pa.int64(),
            "_float8": pa.float64(),
        }
        if udt_name in element:
            return pa.list_(pa.field("l", element[udt_name]))  # DuckDB names a list's item "l"
    elif data_type in scalars:
        return scalars[data_type]
    raise ValueError(f"no Arrow type for the PostgreSQL type {data_type} ({udt_name})")


class PgBackupTables(BackupTables, PgConnection):
    """Whole-table reads and writes for signed backups, restores and `copy` (PostgreSQL)."""

    def _catalog(self) -> dict[str, pa.Schema]:
        """Every table of the current schema with its Arrow schema, read from the catalog once
        per open store (the schema changes only by migrations, which run at open)."""
        import pyarrow as pa

        cached: dict[str, pa.Schema] | None = self.__dict__.get("_pg_catalog")
        if cached is not None:
            return cached
        with self.cursor() as cur:
            cols = cur.execute(
                "SELECT c.table_name, c.column_name, c.data_type, c.udt_name "
                "FROM information_schema.columns c JOIN information_schema.tables t "
                "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
                "ORDER BY c.table_name, c.ordinal_position"
            ).fetchall()
        fields: dict[str, list[pa.Field]] = {}
        for table, name, dt, udt in cols:
            fields.setdefault(str(table), []).append(pa.field(str(name), _arrow_type(str(dt), str(udt))))
        catalog = {t: pa.schema(f) for t, f in fields.items()}
        if "meta" in catalog:  # a store whose migrations ran: the schema is complete
            self.__dict__["_pg_catalog"] = catalog
        return catalog

    def backup_tables(self) -> list[str]:
        from metrics.store.scores import _SCORE_TABLES

        # browser sessions are not data (see the DuckDB group); score tables are rebuilt
        skip = (*_SCORE_TABLES, "score_city", "sessions")
        return sorted(t for t in self._catalog() if t not in skip)

    def table_schema(self, table: str) -> pa.Schema:
        return self._catalog()[self._own_table(table)]

    @contextmanager
    def snapshot(self) -> Iterator[PgCursor]:  # type: ignore[override]
        """A read-only REPEATABLE READ transaction: every table read on it shows one moment."""
        with self.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield cur
            finally:
                cur.rollback()

    def table_batches(self, cur: PgCursor, table: str, rows: int = 8192) -> pa.RecordBatchReader:  # type: ignore[override]
        """One table's rows as Arrow record batches of the table's schema, fetched `rows` at a time
        from the server (psycopg's `stream`): the table is never in memory whole. Consume the
        reader before running anything else on `cur`."""
        import pyarrow as pa

        schema = self.table_schema(table)
        stream = cur.cur.stream(f"SELECT * FROM {self._own_table(table)}", size=rows)  # our own name

        def batches() -> Iterator[pa.RecordBatch]:
            chunk: list[tuple[object, ...]] = []
            for row in stream:
                chunk.append(row)
                if len(chunk) >= rows:
                    yield _batch(schema, chunk)
                    chunk = []
            if chunk:
                yield _batch(schema, chunk)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def load_rows(self, cur: PgCursor, table: str, rows: pa.Table) -> None:  # type: ignore[override]
        """Append Arrow rows (columns already checked against table_schema) through COPY."""
        table = self._own_table(table)
        for batch in rows.to_batches():
            columns = [c.to_pylist() for c in batch.columns]
            cur.copy_rows(table, rows.column_names, list(zip(*columns, strict=True)))

    def restart_sequences(self, cur: PgCursor) -> None:  # type: ignore[override]
        """Id sequences continue after the loaded rows (a new submission gets a fresh id)."""
        for seq, table in ID_SEQUENCES:
            # names from our own constant; the next value is max(id) + 1 (1 for an empty table)
            cur.execute(f"SELECT setval('{seq}', coalesce(max(id), 0) + 1, false) FROM {table}")


def _batch(schema: pa.Schema, rows: list[tuple[object, ...]]) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [pa.array([r[n] for r in rows], type=f.type) for n, f in enumerate(schema)], schema=schema
    )
