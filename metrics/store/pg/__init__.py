"""The PostgreSQL store (national mode): the same interface as the DuckDB store, its own SQL.

`Store(path)` returns a `PgStore` when the database setting is a `postgresql://` URL (see
metrics.store.Store.__new__), so the rest of the product never asks which backend it runs on.
Each class here overrides, in PostgreSQL's dialect, the statements of the DuckDB table group it
names; statements that both engines accept as written stay in the DuckDB module, stated once.
"""

from __future__ import annotations

from metrics.store.pg.audit_log import PgAuditLog
from metrics.store.pg.backup_tables import PgBackupTables
from metrics.store.pg.connection import PgConnection, is_postgres, redacted
from metrics.store.pg.evidence import PgEvidence
from metrics.store.pg.frameworks import PgFrameworks
from metrics.store.pg.merge_rows import PgMergeRows
from metrics.store.pg.periods import PgPeriods
from metrics.store.pg.registry import PgRegistry
from metrics.store.pg.score_reads import PgScoreReads
from metrics.store.pg.scores import PgScores
from metrics.store.pg.submissions import PgSubmissions
from metrics.store.pg.users import PgUsers

# the table groups with PostgreSQL statements of their own, first in the store's class order
PG_GROUPS: tuple[type, ...] = (
    PgBackupTables,
    PgMergeRows,
    PgAuditLog,
    PgScoreReads,
    PgScores,
    PgSubmissions,
    PgEvidence,
    PgFrameworks,
    PgRegistry,
    PgPeriods,
    PgUsers,
)

__all__ = ["PG_GROUPS", "PgAuditLog", "PgConnection", "PgScoreReads", "PgScores", "is_postgres", "redacted"]
