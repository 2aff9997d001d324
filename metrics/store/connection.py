"""The connection, its transactions and migrations, and the settings kept in `meta`.

One DuckDB connection per process; a cursor per use; writers serialised by a lock. A
transaction commits or rolls back as a whole, refreshes the derived score tables it made stale,
and publishes the audit chain head after commit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from metrics import audit as audit_chain
from metrics import keys
from metrics.errors import CoreError
from metrics.store.migrations import MIGRATIONS, SCHEMA_VERSION

Cursor = duckdb.DuckDBPyConnection  # what transaction() yields and the writes take
Row = tuple[Any, ...]  # a stored row, columns in the order the method's docstring gives


def scalar(cur: Cursor, sql: str, params: object = None) -> Any:
    """The one value of a one-row, one-column query (count(*), nextval, max(...))."""
    row = cur.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(sql)  # an aggregate always returns a row: this is a bug, not data
    return row[0]


DEFAULT_DB = Path(__file__).resolve().parents[2] / "data" / "smartcity.duckdb"


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> str:
    """The one rule for where the database is: the explicit path (--db), else $SMARTCITY_DB,
    else data/smartcity.duckdb (':memory:' allowed for tests). The CLI, the dashboard
    (ui.shell.db_path), backups and the benchmarks all ask here."""
    if explicit:
        return str(explicit)
    env = os.environ.get("SMARTCITY_DB")
    return env if env else str(DEFAULT_DB)


def _now_iso() -> str:
    """An audit timestamp: aware UTC ISO text, exactly what the hash chain covers."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utcnow() -> datetime:
    """Naive UTC, as DuckDB TIMESTAMP columns hold it."""
    return datetime.now(UTC).replace(tzinfo=None)


class StoreBusy(RuntimeError):
    """Another process holds the database; DuckDB allows one writer process per file."""


def _reason(exc: BaseException) -> str:
    """The operating system's words from a DuckDB error ("No space left on device"), no paths."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first.rsplit(": ", 1)[-1].strip()[:200]


class StorageFailed(CoreError):
    """The database could not write its files (a full disk, a read-only or failing volume).

    What an operator must know before sending anything again is whether the data is kept, so
    each subclass says it in `stored`. `results` is set by a batch that stopped (ingest_paths):
    the files it had stored before, and those it had not.
    """

    stored = False

    def __init__(self, key: str, exc: BaseException, path: str) -> None:
        super().__init__(key, reason=_reason(exc), wal=Path(str(path)).name + ".wal")
        self.fatal = isinstance(exc, duckdb.FatalException)
        self.results: list[Any] | None = None


class CommitFailed(StorageFailed):
    """The transaction was rolled back: nothing of it is kept, so sending it again is safe.

    DuckDB rolls back a commit that fails, also when the checkpoint it runs at commit time (a
    write-ahead log past its threshold) fails: it then writes the change straight into the data
    file instead of the log (measured on a full tmpfs, DuckDB 1.5). After a fatal error DuckDB
    refuses every statement until the database is opened again, so the message says so.
    """

    def __init__(self, exc: BaseException, path: str) -> None:
        fatal = isinstance(exc, duckdb.FatalException)
        super().__init__("store.commit_failed_restart" if fatal else "store.commit_failed", exc, path)


class CheckpointFailed(StorageFailed):
    """Committed, in the write-ahead log; only copying it into the data file failed.

    Sending it again would store duplicate versions. DuckDB replays the log when the database
    is next opened, and copies it then (given free space).
    """

    stored = True

    def __init__(self, exc: BaseException, path: str) -> None:
        super().__init__("store.checkpoint_failed", exc, path)


class SchemaNewer(CoreError):
    """The database was written by a newer release (its schema version is past ours).

    Running on it could misread or damage tables this code does not know, so the store refuses
    to open it; the operator runs the newer release or restores a backup made by this one.
    """

    def __init__(self, path: str, theirs: int, ours: int) -> None:
        super().__init__("store.schema_newer", db=Path(path).name, theirs=theirs, ours=ours)


class Connection:
    """One DuckDB connection per process; a cursor per use; writers serialised by a lock.

    The table groups (metrics.store.*) subclass it; `Store` composes them. The hooks declared
    under TYPE_CHECKING below are provided by those groups (scores, audit log).
    """

    if TYPE_CHECKING:

        def mark_scores_stale(
            self, cur: Cursor, city_years: set[tuple[str, int]] | tuple[str, int]
        ) -> None: ...
        def mark_finished_scores_stale(self, cur: Cursor, cities: set[str]) -> None: ...
        def _refresh_stale(self, cur: Cursor) -> None: ...
        def has_audit_table(self) -> bool: ...
        def audit_rows(self) -> audit_chain.AuditRows: ...
        def _audit_head_in(self, cur: Cursor) -> audit_chain.Head | None: ...
        def _publish_audit_head(self, head: audit_chain.Head) -> None: ...

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        migrate: bool = True,
        memory_limit: str | None = None,
        key: keys.InstallationKey | None = None,
    ) -> None:
        """`memory_limit` (e.g. "256MB") caps DuckDB's buffer pool, for a process with a memory
        budget: DuckDB then evicts cached table data instead of growing (see docs/performance.md)."""
        self.path = resolve_db_path(path)
        self.memory_limit = memory_limit
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(
                    f"The database {self.path} is in use by another process (DuckDB allows one "
                    "process at a time). Stop the other dashboard or command and try again."
                ) from None
            raise
        if memory_limit:
            # set on the open database, not as a connect option: DuckDB refuses a second
            # connection to a file that another one opened with different options
            self.conn.execute("SET memory_limit = ?", [memory_limit])
        self._write_lock = threading.RLock()
        # per open transaction (keyed by cursor): city-years whose score tables need rebuilding,
        # and cities whose finished scores alone need it (a verification changes nothing else)
        self._stale: dict[int, set[tuple[str, int]]] = {}
        self._stale_finished: dict[int, set[str]] = {}
        # per open transaction: whether it wrote audit rows (the head is published after commit)
        self._audit_written: dict[int, bool] = {}
        self._refuse_newer_schema()
        if migrate and not read_only:
            self.migrate()
            self._check_score_tables()  # metrics.store.scores: rebuild derived tables whose SQL changed
        # the key of the audit chain and of backups, outside the database (metrics.keys); a
        # restore builds its new file under the target's key, passed in
        self.audit_key = key or keys.load_key(self.path, create=not read_only)
        if self.audit_key is not None and self.audit_key.created and not read_only and self.has_audit_table():
            # the chain is keyed from now on: its head starts being kept outside the database
            rows = self.audit_rows()
            if any(r.hash.startswith(audit_chain.KEYED) for r in rows):
                # the key was lost (or the file copied without it): the old head stays as evidence
                audit_chain.log.warning(
                    "%s has audit rows keyed with another key than the new %s: "
                    "`audit verify` will report them",
                    self.path,
                    self.audit_key.path,
                )
            else:
                self._publish_audit_head(audit_chain.head_of(rows, _now_iso()))
        elif self.path != ":memory:" and self.audit_key is not None:
            status, head = audit_chain.read_head(self.path, self.audit_key)
            audit_chain.log.info(
                "audit head of %s at open: %s", Path(self.path).name, head.short() if head else status
            )

    def _check_score_tables(self) -> None:
        """Overridden by metrics.store.scores (a no-op for a Connection without score tables)."""
        return None

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._write_lock, self.cursor() as cur:
            cur.begin()
            self._stale[id(cur)] = set()
            self._audit_written[id(cur)] = False
            self._stale_finished[id(cur)] = set()
            try:
                yield cur
                # derived score tables follow the change in the same transaction, once per
                # transaction however many submissions it wrote
                self._refresh_stale(cur)
                head = self._audit_head_in(cur)  # None unless this transaction wrote audit rows
            except BaseException as exc:
                with suppress(duckdb.Error):  # after a fatal error DuckDB refuses even the rollback
                    cur.rollback()
                if isinstance(exc, (duckdb.IOException, duckdb.FatalException)):
                    raise CommitFailed(exc, self.path) from exc  # e.g. the disk filled while writing
                raise
            finally:
                self._stale.pop(id(cur), None)
                self._stale_finished.pop(id(cur), None)
                self._audit_written.pop(id(cur), None)
            try:
                cur.commit()
            except duckdb.Error as exc:
                raise CommitFailed(exc, self.path) from exc
            if head is not None:
                self._publish_audit_head(head)

    def _refuse_newer_schema(self) -> None:
        """SchemaNewer if a newer release wrote this database (checked at every open)."""
        with self.cursor() as cur:
            has_meta = cur.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND table_name = 'meta'"
            ).fetchone()
        if has_meta and has_meta[0]:
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                self.conn.close()
                raise SchemaNewer(self.path, version, SCHEMA_VERSION)

    def migrate(self, upto: int | None = None) -> None:
        """Apply the migrations this database has not had; `upto` stops at that version (the
        upgrade tests build an older release's database this way)."""
        with self._write_lock, self.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)")
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise SchemaNewer(self.path, version, SCHEMA_VERSION)
            for n, steps in enumerate(MIGRATIONS, start=1):
                if n <= version or (upto is not None and n > upto):
                    continue
                cur.begin()
                try:
                    for stmt in steps:
                        if stmt.startswith("CREATE TABLE IF NOT EXISTS meta"):
                            continue
                        cur.execute(stmt)
                    cur.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(n)])
                    cur.commit()
                except BaseException:
                    cur.rollback()
                    raise

    def schema_version(self) -> int:
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the data file; CheckpointFailed (data kept) if that fails."""
        with self._write_lock, self.cursor() as cur:
            try:
                cur.execute("CHECKPOINT")
            except duckdb.Error as exc:
                raise CheckpointFailed(exc, self.path) from exc

    @contextmanager
    def bulk_writes(self, threads: int | None = None) -> Iterator[None]:
        """Many write transactions in a row (a national batch): write the data file once at the end.

        By default DuckDB checkpoints whenever the write-ahead log passes 16 MB, which during a
        batch of thousands of files rewrites the same tables over and over. `threads` caps
        DuckDB's threads meanwhile (when other processes already keep the cores busy).
        """
        with self.cursor() as cur:
            cur.execute("SET checkpoint_threshold = '1GB'")
            if threads is not None:
                cur.execute("SET threads = ?", [int(threads)])
        try:
            yield
        except BaseException:
            # the batch stopped: what it committed is safe in the write-ahead log, and a failing
            # clean-up (after a fatal write error DuckDB refuses everything) must not hide why
            with suppress(duckdb.Error, StorageFailed):
                self._end_bulk_writes(threads)
            raise
        self._end_bulk_writes(threads)

    def _end_bulk_writes(self, threads: int | None) -> None:
        try:
            with self.cursor() as cur:
                cur.execute("RESET checkpoint_threshold")
                if threads is not None:
                    cur.execute("RESET threads")
        except duckdb.Error as exc:
            raise CheckpointFailed(exc, self.path) from exc
        self.checkpoint()

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", [f"setting.{key}"]).fetchone()
        return str(row[0]) if row else default

    def set_setting(self, cur: Cursor, key: str, value: str) -> None:
        cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"setting.{key}", value])

    def append_rows(
        self, cur: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append `rows` (values in the order of `columns`) to `table` as one columnar append;
        `table` and `columns` are the store's own constants, never input. DuckDB's executemany
        checks the table's keys row by row (about 1 ms a row on a keyed table), which made a few
        thousand register and survey rows take seconds; Arrow takes milliseconds, as for
        submissions. (PostgreSQL: COPY, metrics.store.pg.connection.)"""
        import pyarrow as pa

        if not rows:
            return
        cols = list(zip(*rows, strict=True))
        cur.register("_new_rows", pa.table({f"c{n}": pa.array(list(col)) for n, col in enumerate(cols)}))
        try:
            cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM _new_rows")
        finally:
            cur.unregister("_new_rows")
