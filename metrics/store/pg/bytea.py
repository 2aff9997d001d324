"""File contents (BYTEA) to and from PostgreSQL as bytes, not as quoted text.

The store's cursor binds parameters on the client (metrics.store.pg.connection), which turns a
file into a hex literal twice its size inside the SQL text, and reads BYTEA back as hex text.
For uploaded originals and evidence files (up to 10 MB) that costs: measured on this machine
for 5 MB, writing took 400-520 ms client-bound and 70-95 ms bound by the server in binary;
reading 73 ms as text and 20 ms as binary. So statements that carry file contents run here, on
a server-binding cursor of the same connection (and so in the same transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metrics.store.pg.connection import PgConnection, PgCursor, translate


def run(cur: PgCursor, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` (the store's `?` placeholders) in `cur`'s transaction with the parameters bound
    by the server; its rows, if it returns any, in binary (only bytes and text columns: the
    binary NUMERIC loader would give Decimal)."""
    import psycopg

    # prepare=False: no named prepared statement left on a connection a pooler may hand on
    with psycopg.Cursor(cur.conn) as raw:
        raw.execute(translate(sql), params, prepare=False, binary=True)
        return raw.fetchall() if raw.description is not None else []


def read(store: PgConnection, sql: str, params: Sequence[Any]) -> bytes | None:
    """The one bytes value that `sql` selects, or None (no row)."""
    with store.cursor() as cur:
        rows = run(cur, sql, params)
    return bytes(rows[0][0]) if rows else None
