"""The PostgreSQL connection: a pool shared by the process's threads, transactions that several
processes may run at once, and the locks that keep the derived tables and the audit chain right.

Why this shape (issue 19): several dashboard processes write to one database. Under READ
COMMITTED, two transactions that delete and re-insert the same city's score rows both insert
(the second delete does not see the first's new rows), and two that chain audit rows both read
the same tail. So every write transaction, just before it commits:
1. takes the lock of each city whose score tables it rebuilds, in sorted order (a change to
   every city takes the global lock exclusively; a change to some cities takes it shared first),
   then rebuilds them (metrics.store.pg.scores);
2. takes the audit lock last, reads the chain's tail, appends the rows it collected during the
   transaction (metrics.store.pg.audit_log), and moves the content version;
3. commits, which releases every lock (they are transaction-scoped advisory locks).
Locks taken in one global order cannot deadlock; the audit lock is held only for the append
and the commit.

SQL is written with DuckDB's placeholders (`?` and `$name`) where the text is shared with the
DuckDB store; `PgCursor` turns them into psycopg's (`%s`, `%(name)s`) once per statement text.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from metrics import audit as audit_chain
from metrics import keys
from metrics.store.connection import CommitFailed, Connection, SchemaNewer, _now_iso
from metrics.store.migrations import SCHEMA_VERSION
from metrics.store.pg.schema import PG_MIGRATIONS

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    import pyarrow as pa
    from psycopg_pool import ConnectionPool

# advisory lock keys: (class, object) pairs of int4; the class keeps them apart from other users
LOCK_CLASS = 0x5C17  # "smart city"
GLOBAL_LOCK = (LOCK_CLASS, 0)  # shared by writes to some cities, exclusive for a change to all
AUDIT_LOCK = (LOCK_CLASS + 1, 0)  # the audit chain's tail; always taken last
MIGRATE_LOCK = (LOCK_CLASS + 2, 0)  # session lock while one process migrates
CITY_LOCK_CLASS = LOCK_CLASS + 3  # object = hashtext(city_code)
# a city's period status: shared by a write that checks it, exclusive to change it (pg.periods);
# taken in a transaction's body, so always before the city locks and the audit lock
PERIOD_LOCK_CLASS = LOCK_CLASS + 4  # object = hashtext(city_code)

POOL_ENV = "SMARTCITY_PG_POOL"  # max connections per process (default 16)


def is_postgres(path: str) -> bool:
    """The one test of whether a database setting names a PostgreSQL store."""
    return path.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password: what the store shows as its `path` and writes to logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def probe(url: str, timeout: int = 10) -> None:
    """Connect once, outside any pool, and close: a wrong host, port, database or password
    raises psycopg's own OperationalError at once (a pool retries for 30 s and then says only
    that it timed out). The command line calls it before opening a PostgreSQL store."""
    import psycopg

    psycopg.connect(url, connect_timeout=timeout).close()


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\$[A-Za-z_]\w*|\?|%|::")


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """DuckDB placeholders to psycopg's: `?` -> `%s`, `$name` -> `%(name)s`, a literal `%` ->
    `%%`; quoted text, quoted names and comments are left alone."""

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        if tok.startswith("$"):
            return f"%({tok[1:]})s"
        return tok

    return _TOKENS.sub(sub, sql)


def _numeric_loader() -> type:
    """PostgreSQL's NUMERIC (what sum(bigint) and avg(int) return) as DuckDB returns those: an
    int for a whole sum, a float for an average; never Decimal, which the core does not expect."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> Any:
            text = bytes(data).decode("ascii")
            if text in ("NaN", "Infinity", "-Infinity"):
                return float(text)
            return float(text) if "." in text or "e" in text.lower() else int(text)

    return NumericLoader


class PgCursor:
    """What the store's SQL runs on: the DuckDB cursor's calls used by the store, over psycopg."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cur = conn.cursor()

    def execute(self, sql: str, params: object = None) -> PgCursor:
        self.cur.execute(translate(sql) if params is not None else sql, params)  # type: ignore[call-overload]
        return self

    def executemany(self, sql: str, params: Sequence[Any]) -> PgCursor:
        self.cur.executemany(translate(sql), params)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.cur.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.cur.fetchall()

    @property
    def description(self) -> list[tuple[str]] | None:
        d = self.cur.description
        return None if d is None else [(c.name,) for c in d]

    def columns(self) -> list[str]:
        return [c.name for c in self.cur.description or []]

    def df(self) -> pd.DataFrame:
        import pandas as pd

        cols = self.columns()
        return pd.DataFrame.from_records(self.cur.fetchall(), columns=cols)

    def to_arrow_table(self) -> pa.Table:
        import pyarrow as pa

        cols = self.columns()
        rows = self.cur.fetchall()
        return pa.table({c: pa.array([r[n] for r in rows]) for n, c in enumerate(cols)})

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Append rows through COPY (bulk rows: what PostgreSQL loads fastest). `table` and
        `columns` are fixed names from the store's own code, never from input."""
        from psycopg import sql

        stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        with self.cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)

    def begin(self) -> None:
        self.cur.execute("BEGIN")

    def commit(self) -> None:
        self.cur.execute("COMMIT")

    def rollback(self) -> None:
        self.cur.execute("ROLLBACK")

    def close(self) -> None:
        self.cur.close()


class PgConnection(Connection):
    """A PostgreSQL store's connections: a psycopg pool; a pooled connection per use."""

    dialect = "postgresql"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        migrate: bool = True,
        memory_limit: str | None = None,
        key: keys.InstallationKey | None = None,
    ) -> None:
        from psycopg_pool import ConnectionPool

        from metrics.store.connection import resolve_db_path

        url = resolve_db_path(path)
        self.url = url
        self.path = redacted(url)
        self.memory_limit = memory_limit
        self.read_only = read_only
        self._write_lock = threading.RLock()  # this process's schema work (migrate, score tables)
        self._stale: dict[int, set[tuple[str, int]]] = {}
        self._stale_finished: dict[int, set[str]] = {}
        self._audit_written: dict[int, bool] = {}
        # per open transaction: the audit entries it wrote, appended to the chain at commit
        self._audit_pending: dict[int, list[tuple[Any, list[tuple[str, str, object, object]]]]] = {}
        loader = _numeric_loader()

        def configure(conn: psycopg.Connection[Any]) -> None:
            import psycopg

            conn.adapters.register_loader("numeric", loader)
            # parameters bound by psycopg on the client (still quoted by the library, never by
            # our code): the store's shared SQL uses `$x IS NULL OR col = $x`, whose types a
            # server-side prepared statement cannot infer
            conn.cursor_factory = psycopg.ClientCursor
            conn.autocommit = True  # transactions are explicit (BEGIN/COMMIT), as in DuckDB
            # no JIT: the score rebuild's generic plans are costed for any city list, above
            # jit_above_cost, and compiling one took 15 s on the national store where running it
            # takes 15 ms (benchmarks/national_pg.py); the store's statements are all short
            conn.execute("SET jit = off")
            if read_only:
                conn.execute("SET default_transaction_read_only = on")

        self.pool: ConnectionPool = ConnectionPool(
            url,
            min_size=1,
            max_size=int(os.environ.get(POOL_ENV, "16")),
            configure=configure,
            open=True,
            name="smartcity",
        )
        try:
            self.pool.wait(timeout=30)
            self._refuse_newer_schema()
            if migrate and not read_only:
                self.migrate()
                self._check_score_tables()
            self.audit_key = key or keys.load_key(url, create=not read_only)
        except BaseException:
            self.pool.close()
            raise
        if self.audit_key is not None and self.audit_key.created and not read_only and self.has_audit_table():
            rows = self.audit_rows()
            if not any(r.hash.startswith(audit_chain.KEYED) for r in rows):
                self._publish_audit_head(audit_chain.head_of(rows, _now_iso()))

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def cursor(self) -> Iterator[PgCursor]:  # type: ignore[override]
        with self.pool.connection() as conn:
            cur = PgCursor(conn)
            try:
                yield cur
            finally:
                cur.close()

    @contextmanager
    def transaction(self) -> Iterator[PgCursor]:  # type: ignore[override]
        import psycopg

        with self.cursor() as cur:
            key = id(cur)
            cur.begin()
            self._stale[key] = set()
            self._stale_finished[key] = set()
            self._audit_written[key] = False
            self._audit_pending[key] = []
            try:
                yield cur
                self._refresh_stale(cur)  # type: ignore[arg-type]  # takes the city locks, in order (pg.scores)
                head = self._append_audit(cur)  # takes the audit lock, last
                cur.commit()
            except BaseException as exc:
                with suppress(psycopg.Error):
                    cur.rollback()
                if isinstance(exc, psycopg.OperationalError):
                    raise CommitFailed(exc, self.path) from exc
                raise
            finally:
                self._stale.pop(key, None)
                self._stale_finished.pop(key, None)
                self._audit_written.pop(key, None)
                self._audit_pending.pop(key, None)
        if head is not None:
            self._publish_audit_head(head)

    def _append_audit(self, cur: PgCursor) -> audit_chain.Head | None:
        """Overridden by metrics.store.pg.audit_log (a Connection without an audit log has none)."""
        return None

    def lock(self, cur: PgCursor, *pairs: tuple[int, int], shared: bool = False) -> None:
        """Take transaction-scoped advisory locks, in the order given (callers sort)."""
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        for a, b in pairs:
            cur.execute(f"SELECT {fn}(?, ?)", [a, b])  # fixed function names

    def lock_cities(self, cur: PgCursor, cities: set[str], everything: bool = False) -> None:
        """The score-rebuild locks: the global lock (exclusive for a change to every city), then
        each city's lock in sorted order."""
        if everything:
            self.lock(cur, GLOBAL_LOCK)
            return
        # One statement, one round trip: a SELECT without FROM is a single Result node whose target
        # list is compiled into one expression program and run left to right, so the global lock is
        # taken first and the cities' in sorted order, as by one statement each. (The text depends
        # only on the number of cities; the codes are parameters.)
        ordered = sorted(cities)
        params: list[object] = [*GLOBAL_LOCK]
        for city in ordered:
            params += [CITY_LOCK_CLASS, city]
        cur.execute(
            "SELECT pg_advisory_xact_lock_shared(?, ?)"
            + ", pg_advisory_xact_lock(?, hashtext(?))" * len(ordered),
            params,
        )

    def _refuse_newer_schema(self) -> None:
        with self.cursor() as cur:
            has_meta = cur.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
        if has_meta and has_meta[0]:
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                self.pool.close()
                raise SchemaNewer(self.path, version, SCHEMA_VERSION)

    def migrate(self, upto: int | None = None) -> None:
        """Apply the PostgreSQL migrations this database has not had (one process at a time:
        the others wait on a session lock, then find nothing left to do)."""
        with self._write_lock, self.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(?, ?)", list(MIGRATE_LOCK))
            try:
                cur.execute("CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)")
                row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = int(row[0]) if row else 0
                if version > SCHEMA_VERSION:
                    raise SchemaNewer(self.path, version, SCHEMA_VERSION)
                for n in sorted(PG_MIGRATIONS):
                    if n <= version or (upto is not None and n > upto):
                        continue
                    cur.begin()
                    try:
                        for stmt in PG_MIGRATIONS[n]:
                            cur.execute(stmt)
                        cur.execute(
                            "INSERT INTO meta VALUES ('schema_version', ?) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            [str(n)],
                        )
                        cur.commit()
                    except BaseException:
                        cur.rollback()
                        raise
            finally:
                cur.execute("SELECT pg_advisory_unlock(?, ?)", list(MIGRATE_LOCK))

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints by itself."""

    @contextmanager
    def bulk_writes(self, threads: int | None = None) -> Iterator[None]:
        """Nothing to tune: PostgreSQL has no write-ahead-log threshold to raise per batch."""
        yield

    def append_rows(  # type: ignore[override]
        self, cur: PgCursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Bulk rows through COPY (what PostgreSQL loads fastest)."""
        if rows:
            cur.copy_rows(table, columns, rows)

    def set_setting(self, cur: PgCursor, key: str, value: str) -> None:  # type: ignore[override]
        cur.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [f"setting.{key}", value],
        )
