"""The framework tables on PostgreSQL: one framework load at a time across processes.

A load takes the next sequence number (max + 1) and marks every city-year's scores stale, so
its commit takes the global lock exclusively anyway (metrics.store.pg.connection). Taking it
before the number is read makes two loads in two processes take turns, as they do in one DuckDB
process, instead of both reading the same number and one failing on the key. Its statements are
the DuckDB module's, as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrics.store.frameworks import Frameworks
from metrics.store.pg.connection import PgConnection, PgCursor

if TYPE_CHECKING:
    from metrics.framework import Framework


class PgFrameworks(Frameworks, PgConnection):
    """The framework tables on PostgreSQL."""

    def save_framework(self, cur: PgCursor, fw: Framework, username: str) -> int:  # type: ignore[override]
        self.lock_cities(cur, set(), everything=True)
        return super().save_framework(cur, fw, username)  # type: ignore[arg-type]
