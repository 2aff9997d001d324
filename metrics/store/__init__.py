"""The one store of record: a DuckDB database (or PostgreSQL, metrics.store.pg), and the only
package that speaks SQL.

Every statement here is fixed text with bound parameters; nothing a user typed is ever
formatted into SQL. Reads run on a fresh cursor each; writes run inside `transaction()`,
which serialises writers in this process and commits or rolls back as a whole, so a file is
stored completely or not at all. The audit row for a change is written in the same
transaction as the change.

`Store` is composed of one class per table group (each module below holds that group's SQL);
the rest of the core depends on the `Storage` protocol it implements (metrics.storage), and
constructs a `Store` only where a process opens its database (the CLI, the dashboard's shell,
a restore, the demo and benchmark builders).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from metrics.records import SubmissionBatch, SubmissionMeta
from metrics.store.audit_log import ACTIONS_PAGES_DO_NOT_SHOW, AuditLog
from metrics.store.backup_tables import BackupTables
from metrics.store.clarifications import Clarifications
from metrics.store.connection import (
    DEFAULT_DB,
    CheckpointFailed,
    CommitFailed,
    SchemaNewer,
    StorageFailed,
    StoreBusy,
    resolve_db_path,
    utcnow,
)
from metrics.store.drafts import Drafts
from metrics.store.efforts import Efforts
from metrics.store.evidence import Evidence
from metrics.store.frameworks import Frameworks
from metrics.store.interviews import Interviews
from metrics.store.migrations import MIGRATIONS, SCHEMA_VERSION
from metrics.store.periods import Periods
from metrics.store.programmes import Programmes
from metrics.store.registry import Registry
from metrics.store.scores import ALL_CITY_YEARS, Scores
from metrics.store.submissions import Submissions
from metrics.store.surveys import Surveys
from metrics.store.users import Users
from metrics.store.whatif import WhatIf


class Store(
    AuditLog,
    Frameworks,
    Registry,
    Periods,
    Submissions,
    Programmes,
    Surveys,
    Evidence,
    Clarifications,
    Interviews,
    Users,
    Drafts,
    Efforts,
    WhatIf,
    Scores,
    BackupTables,
):
    """One DuckDB connection per process; a cursor per use; writers serialised by a lock.

    Constructed with a `postgresql://` URL (the path argument, --db or $SMARTCITY_DB), it is a
    PgStore instead: the one place that decides which backend serves the database."""

    def __new__(cls, path: str | os.PathLike[str] | None = None, *args: object, **kwargs: object) -> Store:
        if cls is Store and is_postgres(resolve_db_path(path)):
            return super().__new__(PgStore)
        return super().__new__(cls)


from metrics.store.pg import PG_GROUPS, is_postgres  # noqa: E402 - they build on the groups above


class PgStore(*PG_GROUPS, Store):  # type: ignore[misc]
    """The PostgreSQL store: the same interface, the groups' PostgreSQL statements first."""


if TYPE_CHECKING:
    from metrics.storage import Storage

    def _implements_storage(store: Store) -> Storage:
        return store  # mypy checks here that Store has every Storage member, compatibly typed


__all__ = [
    "ACTIONS_PAGES_DO_NOT_SHOW",
    "ALL_CITY_YEARS",
    "DEFAULT_DB",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "CheckpointFailed",
    "CommitFailed",
    "PgStore",
    "SchemaNewer",
    "StorageFailed",
    "Store",
    "StoreBusy",
    "SubmissionBatch",
    "SubmissionMeta",
    "resolve_db_path",
    "utcnow",
]
