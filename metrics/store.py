"""The one store of record: a DuckDB database, and the only module that speaks SQL.

Every statement here is fixed text with bound parameters; nothing a user typed is ever
formatted into SQL. Reads run on a fresh cursor each; writes run inside `transaction()`,
which serialises writers in this process and commits or rolls back as a whole, so a file is
stored completely or not at all. The audit row for a change is written in the same
transaction as the change.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from metrics import audit as audit_chain
from metrics import keys
from metrics.auth import User
from metrics.errors import CoreError
from metrics.framework import Framework, parse_framework
from metrics.registry import City, Opd

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "smartcity.duckdb"


def resolve_db_path(explicit: str | os.PathLike | None = None) -> str:
    """--db, else $SMARTCITY_DB, else data/smartcity.duckdb (':memory:' allowed for tests)."""
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


MIGRATIONS: list[list[str]] = [
    # v1: the whole first schema
    [
        "CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)",
        """CREATE TABLE frameworks(
            seq INTEGER PRIMARY KEY, id VARCHAR NOT NULL, applies_from INTEGER NOT NULL,
            name_id VARCHAR, name_en VARCHAR, scale_min INTEGER, scale_max INTEGER,
            missing VARCHAR, source VARCHAR, loaded_at TIMESTAMP, loaded_by VARCHAR)""",
        """CREATE TABLE fw_dimensions(fw_seq INTEGER, code VARCHAR, name_id VARCHAR, name_en VARCHAR,
            weight DOUBLE, ord INTEGER)""",
        """CREATE TABLE fw_pillars(fw_seq INTEGER, code VARCHAR, parent VARCHAR, name_id VARCHAR,
            name_en VARCHAR, ord INTEGER)""",
        """CREATE TABLE fw_indicators(fw_seq INTEGER, code VARCHAR, pillar VARCHAR, subpillar VARCHAR,
            dimension VARCHAR, weight DOUBLE, opd_types VARCHAR[], name_id VARCHAR, name_en VARCHAR,
            metric_code VARCHAR, metric_unit VARCHAR, metric_aggregate VARCHAR, metric_direction VARCHAR,
            thresholds DOUBLE[], ord INTEGER)""",
        """CREATE TABLE cities(city_code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, province VARCHAR,
            category VARCHAR, population BIGINT)""",
        """CREATE TABLE opds(city_code VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, opd_type VARCHAR NOT NULL,
            name VARCHAR NOT NULL, PRIMARY KEY(city_code, opd_code))""",
        "CREATE SEQUENCE submission_id_seq START 1",
        """CREATE TABLE submissions(
            id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, city_code VARCHAR NOT NULL,
            opd_code VARCHAR NOT NULL, year INTEGER NOT NULL, metric_code VARCHAR,
            fw_seq INTEGER, file_name VARCHAR, sha256 VARCHAR, username VARCHAR,
            accepted_at TIMESTAMP, source VARCHAR, n_rows INTEGER)""",
        """CREATE TABLE assessments(submission_id BIGINT NOT NULL, indicator_code VARCHAR NOT NULL,
            level TINYINT NOT NULL, evidence VARCHAR, note VARCHAR, source_row INTEGER)""",
        """CREATE TABLE metric_values(submission_id BIGINT NOT NULL, metric_code VARCHAR NOT NULL,
            period VARCHAR NOT NULL, value DOUBLE NOT NULL, source_row INTEGER)""",
        "CREATE TABLE files(sha256 VARCHAR PRIMARY KEY, name VARCHAR, size BIGINT, content BLOB)",
        "CREATE SEQUENCE verification_id_seq START 1",
        """CREATE TABLE verifications(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
            indicator_code VARCHAR NOT NULL, level TINYINT NOT NULL, note VARCHAR, username VARCHAR,
            verified_at TIMESTAMP)""",
        """CREATE TABLE periods(city_code VARCHAR NOT NULL, year INTEGER NOT NULL, status VARCHAR NOT NULL,
            updated_at TIMESTAMP, updated_by VARCHAR, PRIMARY KEY(city_code, year))""",
        """CREATE TABLE drafts(city_code VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, year INTEGER NOT NULL,
            payload VARCHAR, updated_at TIMESTAMP, username VARCHAR, PRIMARY KEY(city_code, opd_code, year))""",
        """CREATE TABLE users(username VARCHAR PRIMARY KEY, pw_hash VARCHAR NOT NULL, role VARCHAR NOT NULL,
            city_code VARCHAR, opd_code VARCHAR, active BOOLEAN NOT NULL DEFAULT TRUE, display_name VARCHAR,
            failed_count INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMP, created_at TIMESTAMP,
            sessions_valid_after TIMESTAMP)""",
        """CREATE TABLE audit(id BIGINT PRIMARY KEY, logged_at VARCHAR NOT NULL, username VARCHAR NOT NULL,
            action VARCHAR NOT NULL, object VARCHAR NOT NULL, before VARCHAR, after VARCHAR,
            prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)""",
    ],
]


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
        self.results: list | None = None


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


@dataclass(frozen=True)
class SubmissionMeta:
    id: int
    kind: str
    city_code: str
    opd_code: str
    year: int
    metric_code: str | None
    file_name: str | None
    sha256: str | None
    username: str
    accepted_at: datetime
    source: str
    n_rows: int


@dataclass
class SubmissionBatch:
    """Submissions and their rows as columns: the shape many files are inserted in at once.

    `a_sub`/`m_sub` give each assessment/metric row the position of its submission in the
    batch. Columns pickle and extend cheaply, so a national batch parsed in worker processes
    reaches the store without a Python object per answer row.
    """

    kind: list = field(default_factory=list)
    city_code: list = field(default_factory=list)
    opd_code: list = field(default_factory=list)
    year: list = field(default_factory=list)
    metric_code: list = field(default_factory=list)
    fw_seq: list = field(default_factory=list)
    file_name: list = field(default_factory=list)
    sha256: list = field(default_factory=list)
    n_rows: list = field(default_factory=list)
    a_sub: list = field(default_factory=list)
    a_code: list = field(default_factory=list)
    a_level: list = field(default_factory=list)
    a_evidence: list = field(default_factory=list)
    a_note: list = field(default_factory=list)
    a_row: list = field(default_factory=list)
    m_sub: list = field(default_factory=list)
    m_period: list = field(default_factory=list)
    m_value: list = field(default_factory=list)
    m_row: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, sub, file_name: str | None, sha256: str | None) -> None:
        """Append one ingest.Submission (kind, codes, year, fw_seq, metric_code, rows)."""
        k = len(self.kind)
        rows = sub.rows
        if sub.kind == "assessment":
            codes = [r.indicator_code for r in rows]
            if len(set(codes)) != len(codes):
                # scoring counts answer rows as (OPD, indicator) pairs; ingest refuses such files
                raise ValueError(
                    f"submission {sub.city_code}/{sub.opd_code}/{sub.year} answers an indicator twice"
                )
            self.a_sub.extend([k] * len(rows))
            self.a_code.extend(codes)
            self.a_level.extend([r.level for r in rows])
            self.a_evidence.extend([r.evidence for r in rows])
            self.a_note.extend([r.note for r in rows])
            self.a_row.extend([r.source_row for r in rows])
        else:
            self.m_sub.extend([k] * len(rows))
            self.m_period.extend([r.period for r in rows])
            self.m_value.extend([r.value for r in rows])
            self.m_row.extend([r.source_row for r in rows])
        self.kind.append(sub.kind)
        self.city_code.append(sub.city_code)
        self.opd_code.append(sub.opd_code)
        self.year.append(sub.year)
        self.metric_code.append(sub.metric_code)
        self.fw_seq.append(sub.fw_seq)
        self.file_name.append(file_name)
        self.sha256.append(sha256)
        self.n_rows.append(len(rows))

    def extend(self, other: SubmissionBatch) -> None:
        off = len(self.kind)
        for name in (
            "kind",
            "city_code",
            "opd_code",
            "year",
            "metric_code",
            "fw_seq",
            "file_name",
            "sha256",
            "n_rows",
            "a_code",
            "a_level",
            "a_evidence",
            "a_note",
            "a_row",
            "m_period",
            "m_value",
            "m_row",
        ):
            getattr(self, name).extend(getattr(other, name))
        self.a_sub.extend([k + off for k in other.a_sub] if off else other.a_sub)
        self.m_sub.extend([k + off for k in other.m_sub] if off else other.m_sub)


class Store:
    """One DuckDB connection per process; a cursor per use; writers serialised by a lock."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
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
        self._fw_cache: dict[int, Framework] = {}
        # per open transaction (keyed by cursor): city-years whose score tables need rebuilding,
        # and cities whose finished scores alone need it (a verification changes nothing else)
        self._stale: dict[int, set[tuple[str, int]]] = {}
        self._stale_finished: dict[int, set[str]] = {}
        # per open transaction: whether it wrote audit rows (the head is published after commit)
        self._audit_written: dict[int, bool] = {}
        if migrate and not read_only:
            self.migrate()
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

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
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

    def migrate(self, upto: int | None = None) -> None:
        """Apply the migrations this database has not had; `upto` stops at that version (the
        upgrade tests build an older release's database this way)."""
        with self._write_lock, self.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)")
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
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

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", [f"setting.{key}"]).fetchone()
        return row[0] if row else default

    def set_setting(self, cur, key: str, value: str) -> None:
        cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"setting.{key}", value])

    # ------------------------------------------------------------------ audit

    def _chained(self, cur, user: User, entries: list[tuple[str, str, object, object]]) -> list[tuple]:
        """Audit rows for `entries`, in order, each hash-chained under the key to the one before
        (the last stored row first): the one place that computes the chain, for one row or many."""
        if id(cur) in self._audit_written:
            self._audit_written[id(cur)] = True
        last = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        next_id = (last[0] + 1) if last else 1
        prev = last[1] if last else audit_chain.GENESIS
        rows = []
        for n, (action, obj, before, after) in enumerate(entries):
            at = _now_iso()
            b, a = audit_chain.canonical(before), audit_chain.canonical(after)
            h = audit_chain.row_hash(prev, next_id + n, at, user.username, action, obj, b, a, self.audit_key)
            rows.append((next_id + n, at, user.username, action, obj, b, a, prev, h))
            prev = h
        return rows

    def write_audit(
        self, cur, user: User, action: str, obj: str, before: object = None, after: object = None
    ) -> int:
        """Append one hash-chained audit row inside the caller's transaction."""
        (row,) = self._chained(cur, user, [(action, obj, before, after)])
        cur.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
        return row[0]

    def write_audit_many(self, cur, user: User, entries: list[tuple[str, str, object, object]]) -> list[int]:
        """Append one hash-chained audit row per (action, object, before, after), in order, in one go."""
        import pyarrow as pa

        if not entries:
            return []
        cols = list(zip(*self._chained(cur, user, entries)))
        names = ("id", "logged_at", "username", "action", "object", "before", "after", "prev_hash", "hash")
        tbl = pa.table(
            {k: pa.array(v, pa.int64() if k == "id" else pa.string()) for k, v in zip(names, cols)}
        )
        cur.register("_new_audit", tbl)
        cur.execute("INSERT INTO audit SELECT * FROM _new_audit")
        cur.unregister("_new_audit")
        return list(cols[0])

    def audit_rows(self) -> audit_chain.AuditRows:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT id, logged_at, username, action, object, before, after, prev_hash, hash FROM audit ORDER BY id"
            ).fetchall()
        return audit_chain.AuditRows((audit_chain.AuditRow(*r) for r in rows), self.audit_key)

    def has_audit_table(self) -> bool:
        """False when the audit table was dropped behind the application's back."""
        with self.cursor() as cur:
            return (
                cur.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                    "AND schema_name = 'main' AND table_name = 'audit'"
                ).fetchone()[0]
                == 1
            )

    def _audit_head_in(self, cur) -> audit_chain.Head | None:
        """The chain head as this transaction leaves it, if it wrote audit rows (one read per commit)."""
        return self.audit_head(cur) if self._audit_written.get(id(cur)) else None

    def audit_head(self, cur) -> audit_chain.Head:
        """Last id, last hash and row count of the audit log as `cur` sees it."""
        n, last_id, last_hash = cur.execute(
            "SELECT count(*), max(id), arg_max(hash, id) FROM audit"
        ).fetchone()
        if not n:
            return audit_chain.Head(0, audit_chain.GENESIS, 0, _now_iso())
        return audit_chain.Head(int(last_id), last_hash, int(n), _now_iso())

    def _publish_audit_head(self, head: audit_chain.Head) -> None:
        """Keep the committed head outside the database (and in the server log). A failure here
        cannot undo the commit: it is logged, and `audit verify` then shows the head behind."""
        if self.audit_key is None:
            return
        try:
            audit_chain.write_head(self.path, head, self.audit_key)
        except OSError as exc:
            audit_chain.log.error("audit head of %s not written (%s): %s", self.path, exc, head.short())

    def audit_frame(
        self,
        username: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 1000,
    ):
        with self.cursor() as cur:
            return cur.execute(
                """SELECT id, logged_at, username, action, object, before, after FROM audit
                   WHERE ($u IS NULL OR username = $u) AND ($a IS NULL OR action = $a)
                     AND ($s IS NULL OR logged_at >= $s) AND ($e IS NULL OR logged_at <= $e)
                   ORDER BY id DESC LIMIT $n""",
                {"u": username, "a": action, "s": since, "e": until, "n": limit},
            ).df()

    def audit_count(self) -> int:
        with self.cursor() as cur:
            return cur.execute("SELECT count(*) FROM audit").fetchone()[0]

    def audit_actions(self) -> list[str]:
        """The distinct audit actions recorded, for the audit page's filter."""
        with self.cursor() as cur:
            return [r[0] for r in cur.execute("SELECT DISTINCT action FROM audit ORDER BY 1").fetchall()]

    def audit_usernames(self) -> list[str]:
        """The distinct users in the audit log, for the audit page's filter."""
        with self.cursor() as cur:
            return [r[0] for r in cur.execute("SELECT DISTINCT username FROM audit ORDER BY 1").fetchall()]

    # ------------------------------------------------------------------ frameworks

    def save_framework(self, cur, fw: Framework, username: str) -> int:
        seq = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM frameworks").fetchone()[0]
        cur.execute(
            "INSERT INTO frameworks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                seq,
                fw.id,
                fw.applies_from,
                fw.name["id"],
                fw.name["en"],
                fw.scale_min,
                fw.scale_max,
                fw.missing,
                fw.source,
                utcnow(),
                username,
            ],
        )
        cur.executemany(
            "INSERT INTO fw_dimensions VALUES (?, ?, ?, ?, ?, ?)",
            [[seq, d.code, d.name["id"], d.name["en"], d.weight, n] for n, d in enumerate(fw.dimensions)],
        )
        pillar_rows = [[seq, p.code, None, p.name["id"], p.name["en"], n] for n, p in enumerate(fw.pillars)]
        pillar_rows += [
            [seq, s.code, s.parent, s.name["id"], s.name["en"], 100 + n] for n, s in enumerate(fw.subpillars)
        ]
        cur.executemany("INSERT INTO fw_pillars VALUES (?, ?, ?, ?, ?, ?)", pillar_rows)
        cur.executemany(
            "INSERT INTO fw_indicators VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    seq,
                    i.code,
                    i.pillar,
                    i.subpillar,
                    i.dimension,
                    i.weight,
                    list(i.opd_types),
                    i.name["id"],
                    i.name["en"],
                    i.metric.code if i.metric else None,
                    i.metric.unit if i.metric else None,
                    i.metric.aggregate if i.metric else None,
                    i.metric.direction if i.metric else None,
                    list(i.metric.thresholds) if i.metric else None,
                    n,
                ]
                for n, i in enumerate(fw.indicators)
            ],
        )
        self.mark_scores_stale(cur, ALL_CITY_YEARS)  # which framework scores a year may have changed
        return seq

    def frameworks(self) -> list[tuple[Framework, int]]:
        """Every loaded framework with its load sequence number (parsed once per process)."""
        with self.cursor() as cur:
            rows = cur.execute("SELECT seq, source FROM frameworks ORDER BY seq").fetchall()
        out = []
        for seq, source in rows:
            fw = self._fw_cache.get(seq)
            if fw is None:
                fw = self._fw_cache[seq] = parse_framework(source)
            out.append((fw, seq))
        return out

    def framework_list(self):
        with self.cursor() as cur:
            return cur.execute(
                """SELECT f.seq, f.id, f.applies_from, f.name_id, f.name_en, f.loaded_at, f.loaded_by,
                          (SELECT count(*) FROM fw_indicators i WHERE i.fw_seq = f.seq) AS indicators
                   FROM frameworks f ORDER BY seq"""
            ).df()

    # ------------------------------------------------------------------ registry

    def upsert_cities(self, cur, cities: list[City]) -> tuple[int, int]:
        existing = {r[0] for r in cur.execute("SELECT city_code FROM cities").fetchall()}
        cur.executemany(
            "INSERT OR REPLACE INTO cities(city_code, name, province, category, population, timezone) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [[c.city_code, c.name, c.province, c.category, c.population, c.timezone] for c in cities],
        )
        new = sum(1 for c in cities if c.city_code not in existing)
        return new, len(cities) - new

    def upsert_opds(self, cur, opds: list[Opd]) -> tuple[int, int]:
        existing = {
            (r[0], r[1]): r[2]
            for r in cur.execute("SELECT city_code, opd_code, opd_type FROM opds").fetchall()
        }
        # head_name/email None: not in the loaded file, the stored one stays; "": cleared
        cur.executemany(
            """INSERT INTO opds (city_code, opd_code, opd_type, name, head_name, email) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (city_code, opd_code) DO UPDATE SET opd_type = excluded.opd_type, name = excluded.name,
                 head_name = CASE WHEN excluded.head_name IS NULL THEN opds.head_name
                                  ELSE nullif(excluded.head_name, '') END,
                 email = CASE WHEN excluded.email IS NULL THEN opds.email ELSE nullif(excluded.email, '') END""",
            [[o.city_code, o.opd_code, o.opd_type, o.name, o.head_name, o.email] for o in opds],
        )
        new = sum(1 for o in opds if (o.city_code, o.opd_code) not in existing)
        # an OPD's type decides which of its answers count towards completeness
        changed = sorted({o.city_code for o in opds if existing.get((o.city_code, o.opd_code)) != o.opd_type})
        if changed:
            years = cur.execute(
                "SELECT DISTINCT city_code, year FROM submissions WHERE list_contains(?, city_code)",
                [changed],
            ).fetchall()
            self.mark_scores_stale(cur, {(c, y) for c, y in years})
        return new, len(opds) - new

    def city_codes(self, cur=None) -> set[str]:
        with self.cursor() as c:
            return {r[0] for r in (cur or c).execute("SELECT city_code FROM cities").fetchall()}

    def cities(self) -> list[City]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT city_code, name, province, category, population, timezone FROM cities ORDER BY name"
            ).fetchall()
        return [City(*r) for r in rows]

    def opds(self, city: str | None = None) -> list[Opd]:
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT city_code, opd_code, opd_type, name, head_name, email FROM opds
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, opd_code""",
                {"c": city},
            ).fetchall()
        return [Opd(*r) for r in rows]

    def assignment_rows(self, city: str | None = None, cur=None) -> list[tuple[str, str, str, object, str]]:
        """(city, indicator, OPD, assigned_at, assigned_by): indicators assigned to an OPD of a city."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(
                    """SELECT city_code, indicator_code, opd_code, assigned_at, assigned_by FROM opd_assignments
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, indicator_code, opd_code""",
                    {"c": city},
                )
                .fetchall()
            )

    def set_assignment_row(self, cur, city: str, indicator: str, opd: str | None, username: str) -> None:
        """Make `opd` (None: nobody) the one assigned OPD of `indicator` in `city`; rescores the city."""
        cur.execute(
            "DELETE FROM opd_assignments WHERE city_code = ? AND indicator_code = ?", [city, indicator]
        )
        if opd is not None:
            cur.execute(
                "INSERT INTO opd_assignments VALUES (?, ?, ?, ?, ?)",
                [city, indicator, opd, utcnow(), username],
            )
        years = cur.execute("SELECT DISTINCT year FROM submissions WHERE city_code = ?", [city]).fetchall()
        self.mark_scores_stale(cur, {(city, y) for (y,) in years})
        self.mark_finished_scores_stale(cur, {city})

    def opd_map(self, cur=None) -> dict[tuple[str, str], Opd]:
        with self.cursor() as c:
            rows = (
                (cur or c)
                .execute("SELECT city_code, opd_code, opd_type, name, head_name, email FROM opds")
                .fetchall()
            )
        return {(r[0], r[1]): Opd(*r) for r in rows}

    def years(self) -> list[int]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT DISTINCT year FROM submissions UNION SELECT DISTINCT year FROM periods ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ periods

    def period_status(self, city: str, year: int, cur=None) -> str:
        with self.cursor() as c:
            row = (
                (cur or c)
                .execute("SELECT status FROM periods WHERE city_code = ? AND year = ?", [city, year])
                .fetchone()
            )
        return row[0] if row else "open"

    def set_period_status(self, cur, city: str, year: int, status: str, username: str) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO periods VALUES (?, ?, ?, ?, ?)", [city, year, status, utcnow(), username]
        )

    def periods_frame(self, city: str | None = None):
        with self.cursor() as cur:
            return cur.execute(
                """SELECT city_code, year, status, updated_at, updated_by FROM periods
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, year""",
                {"c": city},
            ).df()

    # ------------------------------------------------------------------ deadlines and reminders

    def deadline_rows(self, city: str, year: int, cur=None) -> list[tuple]:
        """(city_code, self_due, verify_due, updated_at, updated_by) of the city's own row and the
        all-cities row ('*') of a year, whichever exist."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(
                    """SELECT city_code, self_due, verify_due, updated_at, updated_by FROM deadlines
                   WHERE year = ? AND city_code IN (?, '*') ORDER BY city_code = '*'""",
                    [year, city],
                )
                .fetchall()
            )

    def set_deadline_row(self, cur, city: str, year: int, self_due, verify_due, username: str) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO deadlines VALUES (?, ?, ?, ?, ?, ?)",
            [city, year, self_due, verify_due, utcnow(), username],
        )

    def delete_deadline_row(self, cur, city: str, year: int) -> None:
        cur.execute("DELETE FROM deadlines WHERE city_code = ? AND year = ?", [city, year])

    def deadline_years(self) -> list[int]:
        with self.cursor() as cur:
            return [r[0] for r in cur.execute("SELECT DISTINCT year FROM deadlines ORDER BY 1").fetchall()]

    def reminder_sent(self, city: str, opd: str, year: int, stage: str) -> bool:
        with self.cursor() as cur:
            return (
                cur.execute(
                    "SELECT 1 FROM reminders WHERE city_code = ? AND opd_code = ? AND year = ? AND stage = ?",
                    [city, opd, year, stage],
                ).fetchone()
                is not None
            )

    def add_reminder(self, cur, city: str, opd: str, year: int, stage: str, recipient: str) -> None:
        cur.execute(
            "INSERT INTO reminders VALUES (?, ?, ?, ?, ?, ?)", [city, opd, year, stage, recipient, utcnow()]
        )

    # ------------------------------------------------------------------ submissions

    def keep_files(self, cur, files: list[tuple[str, str, bytes]]) -> None:
        """Keep original uploads (sha256, name, content); a content already kept is skipped."""
        import pyarrow as pa

        first: dict[str, tuple[str, bytes]] = {}
        for sha, name, content in files:
            first.setdefault(sha, (name, content))
        if not first:
            return
        tbl = pa.table(
            {
                "sha256": pa.array(list(first), pa.string()),
                "name": pa.array([v[0] for v in first.values()], pa.string()),
                "size": pa.array([len(v[1]) for v in first.values()], pa.int64()),
                "content": pa.array([v[1] for v in first.values()], pa.binary()),
            }
        )
        cur.register("_new_files", tbl)
        cur.execute(
            "INSERT INTO files SELECT * FROM _new_files n WHERE NOT EXISTS "
            "(SELECT 1 FROM files f WHERE f.sha256 = n.sha256)"
        )
        cur.unregister("_new_files")

    def period_statuses(self, cur, cities: list[str]) -> dict[tuple[str, int], str]:
        """(city, year) -> status of every period row of `cities` (no row means open)."""
        rows = cur.execute(
            "SELECT city_code, year, status FROM periods WHERE list_contains(?, city_code)",
            [sorted(set(cities))],
        ).fetchall()
        return {(c, y): st for c, y, st in rows}

    def file_content(self, sha256: str) -> bytes | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT content FROM files WHERE sha256 = ?", [sha256]).fetchone()
        return bytes(row[0]) if row else None

    def insert_submissions(
        self,
        cur,
        subs: list | SubmissionBatch,
        username: str,
        file_name: str | None,
        sha256: str | None,
        source: str,
        at: datetime | list[datetime] | None = None,
        file_names: list[str] | None = None,
    ) -> list[int]:
        """Insert submissions and their rows in bulk; returns the new ids, in order.

        `subs` is a list of ingest.Submission (all from `file_name`/`sha256`, or per submission
        `file_names`) or a SubmissionBatch that carries each submission's file itself. Rows go in
        through Arrow, so a 150-row workbook or a national batch is one columnar append per table.
        """
        import pyarrow as pa

        if isinstance(subs, SubmissionBatch):
            batch = subs
        else:
            batch = SubmissionBatch()
            for n, s in enumerate(subs):
                batch.add(s, file_names[n] if file_names else file_name, sha256)
        if not len(batch):
            return []
        count = len(batch)
        ats = at if isinstance(at, list) else [at or utcnow()] * count
        ids = [
            r[0] for r in cur.execute("SELECT nextval('submission_id_seq') FROM range(?)", [count]).fetchall()
        ]
        sub_tbl = pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "kind": pa.array(batch.kind, pa.string()),
                "city_code": pa.array(batch.city_code, pa.string()),
                "opd_code": pa.array(batch.opd_code, pa.string()),
                "year": pa.array(batch.year, pa.int32()),
                "metric_code": pa.array(batch.metric_code, pa.string()),
                "fw_seq": pa.array(batch.fw_seq, pa.int32()),
                "file_name": pa.array(batch.file_name, pa.string()),
                "sha256": pa.array(batch.sha256, pa.string()),
                "username": pa.array([username] * count, pa.string()),
                "accepted_at": pa.array(ats, pa.timestamp("us")),
                "source": pa.array([source] * count, pa.string()),
                "n_rows": pa.array(batch.n_rows, pa.int32()),
            }
        )
        cur.register("_new_subs", sub_tbl)
        cur.execute("INSERT INTO submissions SELECT * FROM _new_subs")
        cur.unregister("_new_subs")
        if batch.a_sub:
            t = pa.table(
                {
                    "submission_id": pa.array([ids[k] for k in batch.a_sub], pa.int64()),
                    "indicator_code": pa.array(batch.a_code, pa.string()),
                    "level": pa.array(batch.a_level, pa.int8()),
                    "evidence": pa.array(batch.a_evidence, pa.string()),
                    "note": pa.array(batch.a_note, pa.string()),
                    "source_row": pa.array(batch.a_row, pa.int32()),
                }
            )
            cur.register("_new_rows", t)
            cur.execute("INSERT INTO assessments SELECT * FROM _new_rows")
            cur.unregister("_new_rows")
        if batch.m_sub:
            t = pa.table(
                {
                    "submission_id": pa.array([ids[k] for k in batch.m_sub], pa.int64()),
                    "metric_code": pa.array([batch.metric_code[k] for k in batch.m_sub], pa.string()),
                    "period": pa.array(batch.m_period, pa.string()),
                    "value": pa.array(batch.m_value, pa.float64()),
                    "source_row": pa.array(batch.m_row, pa.int32()),
                }
            )
            cur.register("_new_rows", t)
            cur.execute("INSERT INTO metric_values SELECT * FROM _new_rows")
            cur.unregister("_new_rows")
        self.mark_scores_stale(cur, set(zip(batch.city_code, batch.year)))
        return ids

    def in_force_rows(
        self, units_a: list[tuple[str, str, int]], units_m: list[tuple[str, str, str, int]], cur=None
    ) -> tuple[list[tuple], list[tuple]]:
        """The answer rows of the versions in force of the given units, to compare a new file with.

        Assessment units are (city, OPD, year), rows (city, OPD, year, id, indicator, level,
        evidence, note); service-metric units are (city, OPD, metric, year), rows (city, OPD,
        metric, year, id, period, value). Read on `cur` inside a write, so that the comparison
        and the write see the same version in force.
        """
        if cur is None:
            with self.cursor() as own:
                return self.in_force_rows(units_a, units_m, own)
        a = m = []
        if units_a:
            a = cur.execute(
                """WITH u AS (SELECT DISTINCT unnest($c::VARCHAR[]) AS c, unnest($o::VARCHAR[]) AS o,
                                     unnest($y::INTEGER[]) AS y),
                   cur AS (SELECT s.id, s.city_code, s.opd_code, s.year FROM submissions s
                           SEMI JOIN u ON u.c = s.city_code AND u.o = s.opd_code AND u.y = s.year
                           WHERE s.kind = 'assessment'
                           QUALIFY row_number() OVER (PARTITION BY s.city_code, s.opd_code, s.year ORDER BY s.id DESC) = 1)
                   SELECT c.city_code, c.opd_code, c.year, c.id, a.indicator_code, a.level, a.evidence, a.note
                   FROM cur c JOIN assessments a ON a.submission_id = c.id
                   ORDER BY c.id, a.indicator_code""",
                {"c": [u[0] for u in units_a], "o": [u[1] for u in units_a], "y": [u[2] for u in units_a]},
            ).fetchall()
        if units_m:
            m = cur.execute(
                """WITH u AS (SELECT DISTINCT unnest($c::VARCHAR[]) AS c, unnest($o::VARCHAR[]) AS o,
                                     unnest($m::VARCHAR[]) AS m, unnest($y::INTEGER[]) AS y),
                   cur AS (SELECT s.id, s.city_code, s.opd_code, s.metric_code, s.year FROM submissions s
                           SEMI JOIN u ON u.c = s.city_code AND u.o = s.opd_code AND u.m = s.metric_code
                                      AND u.y = s.year
                           WHERE s.kind = 'metric'
                           QUALIFY row_number() OVER (PARTITION BY s.city_code, s.opd_code, s.metric_code, s.year
                                                      ORDER BY s.id DESC) = 1)
                   SELECT c.city_code, c.opd_code, c.metric_code, c.year, c.id, v.period, v.value
                   FROM cur c JOIN metric_values v ON v.submission_id = c.id
                   ORDER BY c.id, v.period""",
                {
                    "c": [u[0] for u in units_m],
                    "o": [u[1] for u in units_m],
                    "m": [u[2] for u in units_m],
                    "y": [u[3] for u in units_m],
                },
            ).fetchall()
        return a, m

    def scores_if(
        self, batch: SubmissionBatch, username: str, city: str, year: int
    ) -> tuple[dict, list[tuple]]:
        """(score_table-like columns, OPD score rows) of one city-year as they would be with `batch` stored.

        The batch is written and the city-year's score tables rebuilt exactly as a real upload
        would, in a transaction that is always rolled back: the effect of a file is computed by
        the same SQL that will compute it once stored, not by a second formula. Nothing is kept
        (a sequence number may be used up, which only leaves a gap in submission ids).
        """
        with self._write_lock, self.cursor() as cur:
            cur.begin()
            try:
                self.insert_submissions(cur, batch, username, None, None, "preview")
                tbl = cur.execute(_SCORE_CITY_READ, {"years": [year], "city": city}).to_arrow_table()
                table = {name: tbl.column(name).to_pylist() for name in tbl.column_names}
                opd_rows = cur.execute(_OPD_SQL, {"years": [year], "city": city}).fetchall()
            finally:
                with suppress(duckdb.Error):
                    cur.rollback()
        return table, opd_rows

    def submissions_frame(
        self,
        city: str | None = None,
        opd: str | None = None,
        year: int | None = None,
        kind: str | None = None,
    ):
        """Every submission (superseded ones too), newest first, with whether it is in force."""
        with self.cursor() as cur:
            return cur.execute(
                """SELECT s.id, s.kind, s.city_code, s.opd_code, o.name AS opd_name, s.year, s.metric_code,
                          s.file_name, s.sha256, s.username, s.accepted_at, s.source, s.n_rows,
                          s.id = max(s.id) OVER (PARTITION BY s.kind, s.city_code, s.opd_code, s.year,
                                                 coalesce(s.metric_code, '')) AS in_force
                   FROM submissions s LEFT JOIN opds o USING (city_code, opd_code)
                   WHERE ($c IS NULL OR s.city_code = $c) AND ($o IS NULL OR s.opd_code = $o)
                     AND ($y IS NULL OR s.year = $y) AND ($k IS NULL OR s.kind = $k)
                   ORDER BY s.id DESC""",
                {"c": city, "o": opd, "y": year, "k": kind},
            ).df()

    def submission(self, sid: int) -> SubmissionMeta | None:
        with self.cursor() as cur:
            row = cur.execute(
                """SELECT id, kind, city_code, opd_code, year, metric_code, file_name, sha256, username,
                          accepted_at, source, n_rows FROM submissions WHERE id = ?""",
                [sid],
            ).fetchone()
        return SubmissionMeta(*row) if row else None

    def submission_rows(self, sid: int):
        with self.cursor() as cur:
            kind = cur.execute("SELECT kind FROM submissions WHERE id = ?", [sid]).fetchone()
            if not kind:
                return None
            if kind[0] == "assessment":
                return cur.execute(
                    """SELECT indicator_code, level, evidence, note, source_row FROM assessments
                       WHERE submission_id = ? ORDER BY indicator_code""",
                    [sid],
                ).df()
            return cur.execute(
                """SELECT metric_code, period, value, source_row FROM metric_values
                   WHERE submission_id = ? ORDER BY period""",
                [sid],
            ).df()

    def counts(self) -> dict[str, int]:
        with self.cursor() as cur:
            return {
                t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # fixed table names only
                for t in (
                    "cities",
                    "opds",
                    "submissions",
                    "assessments",
                    "metric_values",
                    "verifications",
                    "users",
                    "audit",
                    "frameworks",
                    "files",
                )
            }

    def content_fingerprint(self) -> str:
        """A hash of every row of every data table, to prove a rejected file changed nothing."""
        h = hashlib.sha256()
        with self.cursor() as cur:
            for t in (
                "cities",
                "opds",
                "submissions",
                "assessments",
                "metric_values",
                "verifications",
                "periods",
                "drafts",
                "users",
                "audit",
                "frameworks",
                "files",
            ):
                rows = cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()  # fixed names
                h.update(t.encode())
                h.update(repr(rows).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ verifications

    def add_verification(
        self, cur, city: str, year: int, indicator: str, level: int, note: str, username: str
    ) -> int:
        vid = cur.execute("SELECT nextval('verification_id_seq')").fetchone()[0]
        cur.execute(
            "INSERT INTO verifications VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [vid, city, year, indicator, level, note, username, utcnow()],
        )
        self.mark_finished_scores_stale(cur, {city})
        return vid

    def current_verification(self, cur, city: str, year: int, indicator: str):
        return cur.execute(
            """SELECT level, note, username FROM verifications WHERE city_code = ? AND year = ?
               AND indicator_code = ? ORDER BY id DESC LIMIT 1""",
            [city, year, indicator],
        ).fetchone()

    # ------------------------------------------------------------------ users

    def get_user_row(self, username: str, cur=None):
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(
                    """SELECT username, pw_hash, role, city_code, opd_code, active, display_name, failed_count,
                          locked_until, sessions_valid_after FROM users WHERE lower(username) = lower($u)
                   ORDER BY username = $u DESC, username LIMIT 1""",
                    {"u": username},
                )
                .fetchone()
            )

    def insert_user(
        self,
        cur,
        username: str,
        pw_hash: str,
        role: str,
        city: str | None,
        opd: str | None,
        display_name: str,
    ) -> None:
        cur.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, TRUE, ?, 0, NULL, ?, NULL)",
            [username, pw_hash, role, city, opd, display_name, utcnow()],
        )

    def other_active_admins(self, cur, username: str) -> int:
        return cur.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND active AND username <> ?", [username]
        ).fetchone()[0]

    def update_user(self, cur, username: str, **fields: object) -> None:
        # failed_count/locked_until stay in the table (schema v1) but are no longer written
        allowed = {
            "pw_hash",
            "role",
            "city_code",
            "opd_code",
            "active",
            "display_name",
            "sessions_valid_after",
        }
        for k, v in fields.items():
            if k not in allowed:
                raise KeyError(k)
            # column names come from the fixed set above, values are bound
            cur.execute(f"UPDATE users SET {k} = ? WHERE username = ?", [v, username])

    def users_frame(self):
        with self.cursor() as cur:
            return cur.execute(
                """SELECT username, role, city_code, opd_code, active, display_name, created_at
                   FROM users ORDER BY username"""
            ).df()

    # ------------------------------------------------------------------ sign-in throttle

    def login_failure_stats(
        self, client: str, account: str, pair_since: datetime, client_since: datetime, account_since: datetime
    ) -> tuple:
        """(count, latest) of failed sign-ins for this client and account, for this client over
        all accounts, and for this account from every client, each since its own instant."""
        with self.cursor() as cur:
            return cur.execute(
                """SELECT count(*) FILTER (WHERE client = $c AND account = $a AND failed_at >= $ps),
                          max(failed_at) FILTER (WHERE client = $c AND account = $a AND failed_at >= $ps),
                          count(*) FILTER (WHERE client = $c AND failed_at >= $cs),
                          max(failed_at) FILTER (WHERE client = $c AND failed_at >= $cs),
                          count(*) FILTER (WHERE account = $a AND failed_at >= $as_),
                          max(failed_at) FILTER (WHERE account = $a AND failed_at >= $as_)
                   FROM login_failures WHERE failed_at >= least($ps, $cs, $as_)""",
                {"c": client, "a": account, "ps": pair_since, "cs": client_since, "as_": account_since},
            ).fetchone()

    def add_login_failure(self, cur, at: datetime, client: str, account: str, prune_before: datetime) -> None:
        """Record one failed sign-in, and forget those older than `prune_before`."""
        cur.execute("DELETE FROM login_failures WHERE failed_at < ?", [prune_before])
        cur.execute("INSERT INTO login_failures VALUES (?, ?, ?)", [at, client, account])

    def clear_login_failures(self, cur, account: str, client: str | None = None) -> None:
        """Forget the failures of `account` from `client`, or from every client when None."""
        cur.execute(
            "DELETE FROM login_failures WHERE account = $a AND ($c IS NULL OR client = $c)",
            {"a": account, "c": client},
        )

    def put_unlock_code(
        self, cur, account: str, code_hash: str, expires_at: datetime, created_by: str
    ) -> None:
        """The one live unlock code of `account` (a new one replaces the last)."""
        cur.execute(
            "INSERT OR REPLACE INTO unlock_codes VALUES (?, ?, ?, ?, ?)",
            [account, code_hash, expires_at, utcnow(), created_by],
        )

    def unlock_code_valid(self, account: str, code_hash: str, now: datetime) -> bool:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT code_hash, expires_at FROM unlock_codes WHERE account = ?", [account]
            ).fetchone()
        return row is not None and hmac.compare_digest(row[0], code_hash) and row[1] > now

    def use_unlock_code(self, cur, account: str) -> None:
        cur.execute("DELETE FROM unlock_codes WHERE account = ?", [account])

    # ------------------------------------------------------------------ browser sessions

    _SESSION_COLS = "sid, username, created_at, last_seen, expires_at, ticket_expires_at"

    def insert_session(
        self, cur, sid: str, username: str, created_at: datetime, expires_at: datetime, client: str
    ) -> None:
        cur.execute(
            "INSERT INTO sessions VALUES (?, ?, NULL, NULL, NULL, ?, ?, ?, ?)",
            [sid, username, created_at, created_at, expires_at, client],
        )

    def get_session(self, sid: str, cur=None):
        """(sid, username, created_at, last_seen, expires_at, ticket_expires_at) or None."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(f"SELECT {self._SESSION_COLS} FROM sessions WHERE sid = ?", [sid])
                .fetchone()
            )

    def session_by_token(self, token_hash: str):
        with self.cursor() as c:
            return c.execute(
                f"SELECT {self._SESSION_COLS} FROM sessions WHERE token_hash = ?", [token_hash]
            ).fetchone()

    def session_by_ticket(self, cur, ticket_hash: str):
        return cur.execute(
            f"SELECT {self._SESSION_COLS} FROM sessions WHERE ticket_hash = ?", [ticket_hash]
        ).fetchone()

    def set_session_ticket(self, cur, sid: str, ticket_hash: str, expires_at: datetime) -> None:
        cur.execute(
            "UPDATE sessions SET ticket_hash = ?, ticket_expires_at = ? WHERE sid = ?",
            [ticket_hash, expires_at, sid],
        )

    def set_session_token(self, cur, sid: str, token_hash: str | None) -> None:
        """The cookie's token of a session (a new one replaces the last); the ticket is spent."""
        cur.execute(
            "UPDATE sessions SET token_hash = ?, ticket_hash = NULL, ticket_expires_at = NULL WHERE sid = ?",
            [token_hash, sid],
        )

    def touch_session(self, cur, sid: str, at: datetime) -> None:
        cur.execute("UPDATE sessions SET last_seen = ? WHERE sid = ?", [at, sid])

    def delete_session(self, cur, sid: str) -> None:
        cur.execute("DELETE FROM sessions WHERE sid = ?", [sid])

    def delete_sessions(
        self, cur, username: str | None = None, city: str | None = None, before: datetime | None = None
    ) -> int:
        """End sessions: of one user (any case of the name), of every user of `city`, all of them
        (both None), and in every case those that expired before `before`. Returns how many."""
        n = cur.execute(
            """SELECT count(*) FROM sessions s LEFT JOIN users u ON u.username = s.username
               WHERE ($u IS NULL OR lower(s.username) = lower($u)) AND ($c IS NULL OR u.city_code = $c)""",
            {"u": username, "c": city},
        ).fetchone()[0]
        cur.execute(
            """DELETE FROM sessions WHERE sid IN (
                   SELECT s.sid FROM sessions s LEFT JOIN users u ON u.username = s.username
                   WHERE ($u IS NULL OR lower(s.username) = lower($u)) AND ($c IS NULL OR u.city_code = $c))""",
            {"u": username, "c": city},
        )
        if before is not None:
            cur.execute("DELETE FROM sessions WHERE expires_at < ?", [before])
        return int(n)

    def live_session_count(self, now: datetime) -> int:
        with self.cursor() as c:
            return int(c.execute("SELECT count(*) FROM sessions WHERE expires_at > ?", [now]).fetchone()[0])

    # ------------------------------------------------------------------ drafts

    def get_draft(self, city: str, opd: str, year: int):
        with self.cursor() as cur:
            return cur.execute(
                "SELECT payload, updated_at, username FROM drafts WHERE city_code = ? AND opd_code = ? AND year = ?",
                [city, opd, year],
            ).fetchone()

    def save_draft(self, cur, city: str, opd: str, year: int, payload: str, username: str) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO drafts VALUES (?, ?, ?, ?, ?, ?)",
            [city, opd, year, payload, utcnow(), username],
        )

    def delete_draft(self, cur, city: str, opd: str, year: int) -> None:
        cur.execute("DELETE FROM drafts WHERE city_code = ? AND opd_code = ? AND year = ?", [city, opd, year])

    # ------------------------------------------------------------------ precomputed score tables

    def mark_scores_stale(self, cur, city_years: set[tuple[str, int]] | tuple) -> None:
        """Note city-years whose score tables must follow a write made on `cur`.

        Inside `transaction()` the rebuild runs once, just before commit; on any other cursor
        it runs at once. Pass ALL_CITY_YEARS when every city-year may have changed.
        """
        items = {ALL_CITY_YEARS} if city_years == ALL_CITY_YEARS else set(city_years)
        pending = self._stale.get(id(cur))
        if pending is None:
            self._rebuild_score_tables(cur, items)
        else:
            pending |= items

    def mark_finished_scores_stale(self, cur, cities: set[str]) -> None:
        """Note cities whose finished scores (score_city) alone must follow a write on `cur`.

        For verifications: they are applied to the pre-summed parts when score_city is built, so
        the answer tables behind score_cy/score_facts/score_parts need no rebuild.
        """
        pending = self._stale_finished.get(id(cur))
        if pending is None:
            self._rebuild_finished_scores(cur, cities)
        else:
            pending |= set(cities)

    def _refresh_stale(self, cur) -> None:
        pending = self._stale.get(id(cur))
        finished = self._stale_finished.get(id(cur)) or set()
        if pending:
            if ALL_CITY_YEARS in pending:
                finished = set()  # every city's finished scores are rebuilt anyway
            else:
                finished = finished - {c for c, _ in pending}
            self._rebuild_score_tables(cur, pending)
            pending.clear()
        if finished:
            self._rebuild_finished_scores(cur, finished)
            self._stale_finished.get(id(cur), set()).clear()

    def _rebuild_finished_scores(self, cur, cities) -> None:
        cities = sorted(cities)  # the cities' finished scores, every year at once
        cur.execute("DELETE FROM score_city WHERE list_contains(?, city_code)", [cities])
        cur.execute(_SCORE_CITY_SOME, {"cities": cities})

    def _rebuild_score_tables(self, cur, items: set) -> None:
        if ALL_CITY_YEARS in items:
            for table in _SCORE_TABLES:
                cur.execute(f"DELETE FROM {table}")  # fixed table names
                cur.execute(f"INSERT INTO {table} " + _REFRESH_ALL[table])
            cur.execute("DELETE FROM score_city")
            cur.execute(_SCORE_CITY_ALL)
            return
        pairs = sorted(items)
        params = {"cities": [c for c, _ in pairs], "years": [y for _, y in pairs]}
        for table in _SCORE_TABLES:
            cur.execute(_DELETE_SOME[table], params)
            cur.execute(f"INSERT INTO {table} " + _REFRESH_SOME[table], params)
        self._rebuild_finished_scores(cur, {c for c, _ in pairs})

    def refresh_score_tables(self) -> None:
        """Rebuild the score tables from every raw answer (after bulk loads that bypass the store)."""
        with self.transaction() as cur:
            self.mark_scores_stale(cur, ALL_CITY_YEARS)

    # ------------------------------------------------------------------ scoring reads
    # The scoring rules (see scoring.py for the why) as fixed SQL over bound $years/$city.

    def score_table(
        self, years: list[int] | None, city: str | None, from_raw: bool = False
    ) -> dict[str, list]:
        """Columns of one row per scored city-year (breakdowns as parallel code/value lists).

        Read from score_city; a year asked for a city that has no data in it is scored on the
        spot (every indicator missing), as the scoring rules say. `from_raw` recomputes
        everything from the raw answer rows instead, ignoring the score tables.
        """
        with self.cursor() as cur:
            if from_raw:
                tbl = cur.execute(_SCORE_RAW_SQL, {"years": years, "city": city}).to_arrow_table()
                return {name: tbl.column(name).to_pylist() for name in tbl.column_names}
            # columns through Arrow: a national read is thousands of rows of lists
            tbl = cur.execute(_SCORE_CITY_READ, {"years": years, "city": city}).to_arrow_table()
            out = {name: tbl.column(name).to_pylist() for name in tbl.column_names}
            if city is not None and years:
                absent = sorted(set(years) - set(out["year"]))
                if absent:
                    res = cur.execute(_SCORE_WIDE_SQL, {"years": absent, "city": city})
                    cols = [d[0] for d in res.description]
                    rows = sorted(
                        [tuple(out[c][n] for c in cols) for n in range(len(out["year"]))] + res.fetchall(),
                        key=lambda r: (r[1], r[0]),
                    )
                    out = {c: [r[n] for r in rows] for n, c in enumerate(cols)}
        return out

    def opd_score_rows(self, years: list[int] | None, city: str | None) -> list[tuple]:
        with self.cursor() as cur:
            return cur.execute(_OPD_SQL, {"years": years, "city": city}).fetchall()

    def indicator_rows(self, year: int, city: str) -> list[tuple]:
        with self.cursor() as cur:
            res = cur.execute(_INDICATOR_SQL, {"years": [year], "city": city})
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, r)) for r in res.fetchall()]

    def answer_rows(self, year: int, city: str, opd: str | None = None) -> list[dict]:
        """Each OPD's current answer per indicator with its submission, for the drill-down."""
        with self.cursor() as cur:
            res = cur.execute(_ANSWERS_SQL, {"year": year, "city": city, "opd": opd})
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, r)) for r in res.fetchall()]

    def level_history(self, city: str | None, years: list[int]) -> list[tuple]:
        """(city, year, indicator, effective level) for the year-over-year movers table."""
        with self.cursor() as cur:
            return cur.execute(_LEVELS_SQL, {"years": years, "city": city}).fetchall()

    def data_version(self) -> tuple[int, int, int]:
        """(max submission id, max verification id, max audit id): changes whenever data does.

        Cheap enough to ask on every dashboard rerun; read caches key on it so an upload, a
        verification or any audited change (registry, framework) shows at once.
        """
        with self.cursor() as cur:
            row = cur.execute(
                """SELECT (SELECT coalesce(max(id), 0) FROM submissions),
                          (SELECT coalesce(max(id), 0) FROM verifications),
                          (SELECT coalesce(max(id), 0) FROM audit)"""
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def peer_levels(self, year: int, exclude_city: str) -> list[tuple]:
        """(opd_type, indicator, mean level, answers) over the in-force self-assessments of
        `year` in every city but `exclude_city`: what an OPD's answer is compared with."""
        with self.cursor() as cur:
            return cur.execute(
                """WITH cur AS (
                       SELECT id, city_code, opd_code FROM submissions
                       WHERE kind = 'assessment' AND year = $year AND city_code <> $city
                       QUALIFY row_number() OVER (PARTITION BY city_code, opd_code ORDER BY id DESC) = 1)
                   SELECT o.opd_type, a.indicator_code, avg(a.level) AS mean, count(*) AS n
                   FROM cur c JOIN assessments a ON a.submission_id = c.id
                   JOIN opds o ON o.city_code = c.city_code AND o.opd_code = c.opd_code
                   GROUP BY ALL ORDER BY ALL""",
                {"year": year, "city": exclude_city},
            ).fetchall()

    def verification_rows(self, city: str, year: int) -> list[dict]:
        """The verification in force per indicator of a city-year (who, when, why), for the drill-down."""
        with self.cursor() as cur:
            res = cur.execute(
                """SELECT indicator_code, level, note, username, verified_at, id FROM verifications
                   WHERE city_code = $city AND year = $year
                   QUALIFY row_number() OVER (PARTITION BY indicator_code ORDER BY id DESC) = 1
                   ORDER BY indicator_code""",
                {"city": city, "year": year},
            )
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, r)) for r in res.fetchall()]

    # ------------------------------------------------------------------ backup

    # A backup holds every table of this schema but the derived score tables (rebuilt on
    # restore), one Parquet stream each, written from and read into the tables through the
    # statements below. Table names come from this database's own catalog, never from an
    # archive; metrics.backup checks an archive's tables and columns against them.

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
        if table not in self.backup_tables():
            raise ValueError(f"not a table of this schema: {table!r}")
        return table

    def table_schema(self, table: str):
        """The Arrow schema of one of our tables: what a backup's Parquet file of it must carry."""
        with self.cursor() as cur:
            return cur.execute(f"SELECT * FROM {self._own_table(table)} LIMIT 0").to_arrow_table().schema

    @contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read transaction: every table read on it shows the same moment (a consistent backup)."""
        with self.cursor() as cur:
            cur.begin()
            try:
                yield cur
            finally:
                cur.rollback()

    def table_batches(self, cur, table: str, rows: int = 8192):
        """One table's rows as Arrow record batches, streamed (a national `files` table is large)."""
        return cur.execute(f"SELECT * FROM {self._own_table(table)}").to_arrow_reader(rows)

    def table_count(self, cur, table: str) -> int:
        return int(cur.execute(f"SELECT count(*) FROM {self._own_table(table)}").fetchone()[0])

    def load_rows(self, cur, table: str, rows) -> None:
        """Append Arrow rows (columns already checked against table_schema) to one of our tables."""
        cur.register("_restore_rows", rows)
        try:
            cur.execute(f"INSERT INTO {self._own_table(table)} SELECT * FROM _restore_rows")
        finally:
            cur.unregister("_restore_rows")

    def restart_sequences(self, cur) -> None:
        """Id sequences continue after the restored rows (a new submission gets a fresh id)."""
        for seq, table in (("submission_id_seq", "submissions"), ("verification_id_seq", "verifications")):
            start = int(cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])
            cur.execute(f"DROP SEQUENCE {seq}")
            cur.execute(f"CREATE SEQUENCE {seq} START {start}")  # an int computed here, not text


# --------------------------------------------------------------------------- precomputed score tables
# Scoring reads, per city-year, every indicator's self-assessed levels in the submissions in
# force, its service metric, who answered it, and the assessor's verification. At national
# scale the answers are tens of millions of rows, so everything except verifications (few, and
# changed by assessors at any time) is kept pre-computed in three derived tables:
#   score_cy     one row per city-year with a submission in force: its framework and the number
#                of (indicator, responsible OPD) pairs;
#   score_facts  per such city-year and indicator of its framework: self-assessment sum/count,
#                responsible OPDs that answered (by assessment or service metric), the metric's
#                value and level, and the level before verification (metric, else self);
#   score_parts  the same city-year summed per dimension, pillar, sub-pillar and in total
#                (weighted levels, weights, counts), before verification;
#   score_city   the finished scores of every city-year with data (verifications applied):
#                what the dashboard's national pages read.
# They are rebuilt for the affected city-years inside the same transaction as every write that
# changes their inputs (submissions, the OPD registry, frameworks), so a reader never sees them
# stale; a verification rebuilds its city's score_city rows the same way.
ALL_CITY_YEARS = ("*", -1)  # mark_scores_stale(): everything

_SCORE_TABLES_DDL = [
    """CREATE TABLE IF NOT EXISTS score_cy(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, pairs BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS score_facts(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, self_sum DOUBLE, self_n INTEGER NOT NULL,
        answered INTEGER NOT NULL, metric_value DOUBLE, metric_level INTEGER, nv_level DOUBLE,
        nv_source VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS score_parts(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, kind VARCHAR NOT NULL, code VARCHAR NOT NULL, wl DOUBLE NOT NULL,
        w DOUBLE NOT NULL, n BIGINT NOT NULL, missing BIGINT NOT NULL, answered BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS score_city(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, index DOUBLE, dim_codes VARCHAR[], dim_values DOUBLE[], pillar_codes VARCHAR[],
        pillar_values DOUBLE[], sub_codes VARCHAR[], sub_values DOUBLE[], indicators BIGINT, missing BIGINT,
        pairs BIGINT, answered BIGINT)""",
]

# {target}/{scope}: nothing (every city-year), or the city-years given as $cities/$years lists.
_TARGET_CTE = """_t AS (SELECT DISTINCT city_code, year FROM (
        SELECT unnest($cities::VARCHAR[]) AS city_code, unnest($years::INTEGER[]) AS year)),"""
_TARGET_SCOPE = "SEMI JOIN _t ON _t.city_code = s.city_code AND _t.year = s.year"
_IN_FORCE = """
sub_a AS (
    SELECT s.id, s.city_code, s.opd_code, s.year FROM submissions s {scope}
    WHERE s.kind = 'assessment'
    QUALIFY row_number() OVER (PARTITION BY s.city_code, s.opd_code, s.year ORDER BY s.id DESC) = 1),
sub_m AS (
    SELECT s.id, s.city_code, s.opd_code, s.year, s.metric_code FROM submissions s {scope}
    WHERE s.kind = 'metric'
    QUALIFY row_number() OVER (PARTITION BY s.city_code, s.opd_code, s.metric_code, s.year ORDER BY s.id DESC) = 1)"""
_FRAMEWORK_OF_YEAR = """
    SELECT y.year, arg_max(f.seq, f.applies_from::BIGINT * 1000000 + f.seq) AS fw_seq
    FROM (SELECT DISTINCT year FROM {src}) y JOIN frameworks f ON f.applies_from <= y.year GROUP BY y.year"""
_TYPE_N = """
    SELECT fw_seq, opd_type, count(*) AS n
    FROM (SELECT fw_seq, unnest(list_distinct(opd_types)) AS opd_type FROM fw_indicators
          WHERE fw_seq IN (SELECT fw_seq FROM {src}))
    GROUP BY ALL"""
# Who answers which indicator in a city (metrics.responsibility states the same rule for Python):
# every OPD of the city whose type the framework lists for it, and every OPD the admin assigned it
# to (opd_assignments, per city). `_OPD_ASG` is each OPD's assigned indicator codes; `_ANSWERS_FOR`
# the test for one (indicator {i}, OPD of type {t}, its assignment row {a}).
_OPD_ASG = "(SELECT city_code, opd_code, list(indicator_code) AS aset FROM opd_assignments GROUP BY ALL)"
_ANSWERS_FOR = "coalesce(list_contains({i}.opd_types, {t}) OR list_contains({a}.aset, {i}.code), false)"
# The (indicator, responsible OPD) pairs of the city-years in {src} (city_code, year, fw_seq),
# counted: one row per OPD with the number of indicators it answers, and one row with opd_code
# NULL for the indicators nobody answers (no OPD of their types, none assigned), each of which
# counts as ONE pair that stays unanswered, so completeness shows the gap (issue 15). Every
# count of pairs (score_cy, city-years laid out on the spot, per OPD) reads this one fragment.
_PAIR_ROWS = """(
    WITH pc AS (SELECT DISTINCT city_code, year, fw_seq FROM {src}),
    pot AS (SELECT o.city_code, o.opd_code, o.opd_type FROM opds o SEMI JOIN pc ON pc.city_code = o.city_code),
    poa AS (SELECT a.city_code, a.opd_code, a.indicator_code FROM opd_assignments a
            SEMI JOIN pot ON pot.city_code = a.city_code AND pot.opd_code = a.opd_code),
    ptn AS (SELECT fw_seq, opd_type, count(*) AS n FROM (
                SELECT fw_seq, unnest(list_distinct(opd_types)) AS opd_type FROM fw_indicators
                WHERE fw_seq IN (SELECT fw_seq FROM pc)) GROUP BY ALL),
    pct AS (SELECT city_code, list(DISTINCT opd_type) AS types FROM pot GROUP BY ALL)
    SELECT city_code, year, fw_seq, opd_code, sum(n) AS n FROM (
        SELECT pc.city_code, pc.year, pc.fw_seq, pot.opd_code, ptn.n FROM pc
        JOIN pot ON pot.city_code = pc.city_code JOIN ptn ON ptn.fw_seq = pc.fw_seq AND ptn.opd_type = pot.opd_type
        UNION ALL
        SELECT pc.city_code, pc.year, pc.fw_seq, pot.opd_code, 1 FROM pc
        JOIN poa ON poa.city_code = pc.city_code
        JOIN pot ON pot.city_code = poa.city_code AND pot.opd_code = poa.opd_code
        JOIN fw_indicators i ON i.fw_seq = pc.fw_seq AND i.code = poa.indicator_code
        WHERE NOT list_contains(i.opd_types, pot.opd_type)
        UNION ALL
        SELECT pc.city_code, pc.year, pc.fw_seq, NULL, 1 FROM pc JOIN fw_indicators i ON i.fw_seq = pc.fw_seq
        LEFT JOIN pct ON pct.city_code = pc.city_code
        WHERE NOT coalesce(list_has_any(i.opd_types, pct.types), false)
          AND NOT EXISTS (SELECT 1 FROM poa WHERE poa.city_code = pc.city_code AND poa.indicator_code = i.code))
    GROUP BY ALL)"""
# A metric value's level: how many thresholds it reaches (>= higher-is-better, <= lower).
_METRIC_LEVEL = """CASE WHEN {v} IS NULL THEN NULL
         ELSE {smin} + len(list_filter(i.thresholds, lambda t:
              CASE WHEN i.metric_direction = 'lower' THEN {v} <= t ELSE {v} >= t END)) END"""
# Rows of score_facts-like input `{src}` (with weight, missing rule and scale joined) summed per
# dimension, pillar, sub-pillar and total; `sl` is the level the index counts before verification.
_PARTS_OF = """
    SELECT city_code, year, fw_seq, kc.k AS kind, kc.c AS code,
           coalesce(sum(weight * sl), 0) AS wl, coalesce(sum(CASE WHEN sl IS NOT NULL THEN weight END), 0) AS w,
           count(*) AS n, count(*) FILTER (WHERE nv_source = 'missing') AS missing, sum(answered) AS answered
    FROM (SELECT x.*, unnest([{'k': 'dimension', 'c': dimension}, {'k': 'pillar', 'c': pillar},
                              {'k': 'subpillar', 'c': subpillar}, {'k': 'total', 'c': '*'}]) AS kc
          FROM {src} x)
    WHERE kc.c IS NOT NULL
    GROUP BY ALL"""
_LEVEL_INPUT = """
    SELECT f.city_code, f.year, f.fw_seq, f.nv_source, f.answered, i.weight, i.dimension, i.pillar, i.subpillar,
           CASE WHEN f.nv_level IS NOT NULL THEN f.nv_level
                WHEN fw.missing = 'zero' THEN fw.scale_min::DOUBLE END AS sl
    FROM {src} f JOIN fw_indicators i ON i.fw_seq = f.fw_seq AND i.code = f.indicator_code
    JOIN frameworks fw ON fw.seq = f.fw_seq"""

_REFRESH_CTES = (
    """
{target}"""
    + _IN_FORCE
    + """,
cyr AS (  -- the city-years with a submission in force, numbered: a cheap key for 20 M answers
    SELECT city_code, year, (row_number() OVER ())::INTEGER AS cy FROM (
        SELECT city_code, year FROM sub_a UNION SELECT city_code, year FROM sub_m)),
fwy AS ("""
    + _FRAMEWORK_OF_YEAR.replace("{src}", "cyr")
    + """)"""
)
_CY_COLS = (
    """
SELECT c.city_code, c.year, fwy.fw_seq, coalesce(sum(p.n), 0) AS pairs
FROM cyr c JOIN fwy USING (year)
LEFT JOIN """
    + _PAIR_ROWS.replace(
        "{src}", "(SELECT cyr.city_code, cyr.year, fwy.fw_seq FROM cyr JOIN fwy USING (year))"
    )
    + """ p
  ON p.city_code = c.city_code AND p.year = c.year
GROUP BY ALL"""
)
_CY_SQL = "WITH " + _REFRESH_CTES + _CY_COLS + " ORDER BY 1, 2\n"
# Per city-year and indicator: the self-assessments summed, and how many responsible OPDs
# answered it, by assessment or by reporting its service metric. Every in-force answer row is one
# (OPD, indicator) pair: insert_submissions() refuses an assessment submission that answers an
# indicator twice, so counting rows counts pairs.
# The answer rows are tens of millions, so they are read once, with two joins: to their
# submission by id (which numbered city-year), and to `resp` by a number for what decides how an
# answer counts (the framework, the OPD's type, the metrics that OPD reports) and the indicator
# code; the group-by is on two integers. "Answered by metric only" is then the metric-reporting
# OPDs minus those whose answer row says they also assessed it.
_FACTS_CTES = (
    _REFRESH_CTES
    + """,
ms AS (  -- the service metrics each OPD reports in force, per city-year
    SELECT city_code, year, opd_code, list_sort(list_distinct(list(metric_code))) AS mset FROM sub_m GROUP BY ALL),
sa AS (  -- assessment submissions in force, keyed by what decides how their answers count: the
         -- framework, the OPD's type and the metrics that OPD reports
    SELECT s.id, c.cy, fwy.fw_seq, o.opd_type, ms.mset, oa.aset,
           (dense_rank() OVER (ORDER BY fwy.fw_seq, o.opd_type, ms.mset, oa.aset))::INTEGER AS rkey
    FROM sub_a s JOIN cyr c ON c.city_code = s.city_code AND c.year = s.year JOIN fwy ON fwy.year = s.year
    LEFT JOIN opds o ON o.city_code = s.city_code AND o.opd_code = s.opd_code
    LEFT JOIN ms ON ms.city_code = s.city_code AND ms.year = s.year AND ms.opd_code = s.opd_code
    LEFT JOIN """
    + _OPD_ASG
    + """ oa ON oa.city_code = s.city_code AND oa.opd_code = s.opd_code),
resp AS (  -- per key, every indicator of the framework: its number, whether the OPD answers for it, and
           -- whether the OPD also reports the indicator's metric
    SELECT rk.rkey, i.code, i.ord AS ino, """
    + _ANSWERS_FOR.format(i="i", t="rk.opd_type", a="rk")
    + """ AS responsible,
           """
    + _ANSWERS_FOR.format(i="i", t="rk.opd_type", a="rk")
    + """
             AND coalesce(list_contains(rk.mset, i.metric_code), false) AS by_metric_too
    FROM (SELECT DISTINCT rkey, fw_seq, opd_type, mset, aset FROM sa) rk JOIN fw_indicators i ON i.fw_seq = rk.fw_seq),
self AS (  -- (answers to indicators outside the year's framework get no `ino` and drop out in f0;
          -- a LEFT JOIN, because with an inner one the optimizer may join resp first: 40x the rows)
    SELECT s.cy, r.ino, sum(a.level)::DOUBLE AS self_sum, count(*) AS self_n,
           count(*) FILTER (WHERE r.responsible) AS answered, count(*) FILTER (WHERE r.by_metric_too) AS also_metric
    FROM sa s JOIN assessments a ON a.submission_id = s.id
    LEFT JOIN resp r ON r.rkey = s.rkey AND r.code = a.indicator_code
    GROUP BY ALL),
bm AS (  -- responsible OPDs reporting a metric that scores an indicator
    SELECT s.city_code, s.year, i.code, count(DISTINCT s.opd_code) AS n
    FROM sub_m s JOIN fwy ON fwy.year = s.year
    JOIN fw_indicators i ON i.fw_seq = fwy.fw_seq AND i.metric_code = s.metric_code
    JOIN opds o ON o.city_code = s.city_code AND o.opd_code = s.opd_code
    LEFT JOIN """
    + _OPD_ASG
    + """ oa ON oa.city_code = s.city_code AND oa.opd_code = s.opd_code
    WHERE """
    + _ANSWERS_FOR.format(i="i", t="o.opd_type", a="oa")
    + """
    GROUP BY ALL),
mv AS (
    SELECT s.city_code, s.year, s.metric_code, avg(v.value) AS a_mean, sum(v.value) AS a_sum,
           arg_max(v.value, v.period) AS a_last, min(v.value) AS a_min, max(v.value) AS a_max
    FROM sub_m s JOIN metric_values v ON v.submission_id = s.id GROUP BY ALL),
f0 AS (
    SELECT c.city_code, c.year, fwy.fw_seq, i.code, s.self_sum, coalesce(s.self_n, 0) AS self_n,
           coalesce(s.answered, 0) + coalesce(bm.n, 0) - coalesce(s.also_metric, 0) AS answered, i.ord,
           CASE WHEN s.self_n > 0 THEN s.self_sum / s.self_n END AS self_level,
           CASE i.metric_aggregate WHEN 'mean' THEN mv.a_mean WHEN 'sum' THEN mv.a_sum WHEN 'last' THEN mv.a_last
                WHEN 'min' THEN mv.a_min WHEN 'max' THEN mv.a_max END AS metric_value,
           fw.scale_min, i.thresholds, i.metric_direction
    FROM cyr c JOIN fwy USING (year) JOIN frameworks fw ON fw.seq = fwy.fw_seq
    JOIN fw_indicators i ON i.fw_seq = fwy.fw_seq
    LEFT JOIN self s ON s.cy = c.cy AND s.ino = i.ord
    LEFT JOIN bm ON bm.city_code = c.city_code AND bm.year = c.year AND bm.code = i.code
    LEFT JOIN mv ON mv.city_code = c.city_code AND mv.year = c.year AND mv.metric_code = i.metric_code),
f1 AS (
    SELECT i.*, """
    + _METRIC_LEVEL.format(v="i.metric_value", smin="i.scale_min")
    + """ AS metric_level FROM f0 i)"""
)
_FACTS_COLS = """
SELECT city_code, year, fw_seq, code AS indicator_code, self_sum, self_n::INTEGER AS self_n,
       answered::INTEGER AS answered, metric_value, metric_level, coalesce(metric_level, self_level) AS nv_level,
       CASE WHEN metric_level IS NOT NULL THEN 'metric' WHEN self_level IS NOT NULL THEN 'self'
            ELSE 'missing' END AS nv_source
FROM f1"""
_FACTS_SQL = "WITH " + _FACTS_CTES + _FACTS_COLS + " ORDER BY city_code, year, ord\n"
_PARTS_SQL = (
    """
WITH {target}
lv AS ("""
    + _LEVEL_INPUT.replace("{src}", "score_facts").replace(
        "JOIN frameworks fw ON fw.seq = f.fw_seq", "JOIN frameworks fw ON fw.seq = f.fw_seq {fscope}"
    )
    + """)
"""
    + _PARTS_OF.replace("{src}", "lv")
    + """
ORDER BY 1, 2, 4, 5
"""
)
_SCORE_TABLES = ("score_cy", "score_facts", "score_parts")  # fixed names, in rebuild order
_REFRESH_ALL = {
    "score_cy": _CY_SQL.replace("{target}", "").replace("{scope}", ""),
    "score_facts": _FACTS_SQL.replace("{target}", "").replace("{scope}", ""),
    "score_parts": _PARTS_SQL.replace("{target}", "").replace("{fscope}", ""),
}
_REFRESH_SOME = {
    "score_cy": _CY_SQL.replace("{target}", _TARGET_CTE).replace("{scope}", _TARGET_SCOPE),
    "score_facts": _FACTS_SQL.replace("{target}", _TARGET_CTE).replace("{scope}", _TARGET_SCOPE),
    "score_parts": _PARTS_SQL.replace("{target}", _TARGET_CTE).replace(
        "{fscope}", "SEMI JOIN _t ON _t.city_code = f.city_code AND _t.year = f.year"
    ),
}
_DELETE_SOME = {
    t: f"""DELETE FROM {t} USING (SELECT unnest($cities::VARCHAR[]) AS c, unnest($years::INTEGER[]) AS y) _t
           WHERE {t}.city_code = _t.c AND {t}.year = _t.y"""
    for t in _SCORE_TABLES
}


# --------------------------------------------------------------------------- scoring SQL
# Shared CTEs: verified levels; the city-years to score with their framework and pairs (those
# with a submission in force from score_cy; those with only verifications, or asked for by
# $city/$years without any data, laid out here); and `facts`, score_facts plus every indicator
# of those extra city-years as missing.
_BASE_CTES_ON = (
    """
WITH {with}
ver AS (
    SELECT city_code, year, indicator_code, arg_max(level, id) AS level FROM verifications
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))
    GROUP BY ALL),
sc AS (
    SELECT city_code, year, fw_seq, pairs FROM score_cy
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))),
extra AS (
    SELECT x.city_code, x.year FROM (
        SELECT city_code, year FROM ver
        UNION SELECT c.city_code, y.y FROM cities c, (SELECT unnest(coalesce($years, []::INTEGER[])) AS y) y
              WHERE $city IS NOT NULL AND c.city_code = $city) x
    ANTI JOIN sc ON sc.city_code = x.city_code AND sc.year = x.year),
yx AS ("""
    + _FRAMEWORK_OF_YEAR.replace("{src}", "extra")
    + """),
cx AS (
    SELECT e.city_code, e.year, yx.fw_seq, coalesce(sum(p.n), 0) AS pairs
    FROM extra e JOIN yx USING (year)
    LEFT JOIN """
    + _PAIR_ROWS.replace(
        "{src}", "(SELECT extra.city_code, extra.year, yx.fw_seq FROM extra JOIN yx USING (year))"
    )
    + """ p
      ON p.city_code = e.city_code AND p.year = e.year
    GROUP BY ALL),
cy AS (SELECT city_code, year, fw_seq, pairs FROM sc UNION ALL SELECT city_code, year, fw_seq, pairs FROM cx),
yf AS (SELECT DISTINCT year, fw_seq FROM cy),
fx AS (
    SELECT c.city_code, c.year, c.fw_seq, i.code AS indicator_code, NULL::DOUBLE AS self_sum, 0 AS self_n,
           0 AS answered, NULL::DOUBLE AS metric_value, NULL::INTEGER AS metric_level, NULL::DOUBLE AS nv_level,
           'missing' AS nv_source
    FROM cx c JOIN fw_indicators i ON i.fw_seq = c.fw_seq),
facts AS (
    SELECT city_code, year, fw_seq, indicator_code, self_sum, self_n, answered, metric_value, metric_level,
           nv_level, nv_source FROM score_facts
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))
    UNION ALL SELECT * FROM fx)
"""
)
_BASE_CTES = _BASE_CTES_ON.replace("{with}", "")

# The effective level of every indicator of every scored city-year (drill-down, history).
_EFF_CTE = """,
eff AS (
    SELECT b.city_code, b.year, b.fw_seq, b.indicator_code AS code, i.dimension, i.pillar, i.subpillar,
           i.weight, i.metric_code, i.metric_direction, i.thresholds, v.level AS verified_level,
           b.metric_value, b.metric_level, CASE WHEN b.self_n > 0 THEN b.self_sum / b.self_n END AS self_level,
           b.self_n AS n_opd, b.answered,
           coalesce(v.level, b.nv_level) AS effective,
           CASE WHEN v.level IS NOT NULL THEN 'verified' ELSE b.nv_source END AS source,
           CASE WHEN coalesce(v.level, b.nv_level) IS NOT NULL THEN coalesce(v.level, b.nv_level)::DOUBLE
                WHEN fw.missing = 'zero' THEN fw.scale_min::DOUBLE END AS score_level
    FROM facts b JOIN fw_indicators i ON i.fw_seq = b.fw_seq AND i.code = b.indicator_code
    JOIN frameworks fw ON fw.seq = b.fw_seq
    LEFT JOIN ver v ON v.city_code = b.city_code AND v.year = b.year AND v.indicator_code = b.indicator_code)
"""

# City-year scores from score_parts (plus the extra city-years' parts), corrected for each
# verified indicator by the difference between its verified and its unverified level.
_SCORE_AGG = (
    """,
parts AS (
    SELECT city_code, year, fw_seq, kind, code, wl, w, n, missing, answered FROM score_parts
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))
    UNION ALL ("""
    + _PARTS_OF.replace("{src}", "(" + _LEVEL_INPUT.replace("{src}", "fx") + ")")
    + """)),
vl AS ("""
    + _LEVEL_INPUT.replace("{src}", "facts")
    .replace("SELECT f.city_code,", "SELECT v.level AS vlevel, f.city_code,")
    .replace(
        "JOIN frameworks fw ON fw.seq = f.fw_seq",
        "JOIN frameworks fw ON fw.seq = f.fw_seq\n    JOIN ver v ON v.city_code = f.city_code AND v.year = f.year"
        " AND v.indicator_code = f.indicator_code",
    )
    + """),
corr AS (
    SELECT city_code, year, kc.k AS kind, kc.c AS code,
           sum(weight * vlevel - weight * coalesce(sl, 0)) AS dwl,
           sum(CASE WHEN sl IS NULL THEN weight ELSE 0 END) AS dw,
           count(*) FILTER (WHERE nv_source = 'missing') AS dmissing
    FROM (SELECT x.*, unnest([{'k': 'dimension', 'c': dimension}, {'k': 'pillar', 'c': pillar},
                              {'k': 'subpillar', 'c': subpillar}, {'k': 'total', 'c': '*'}]) AS kc FROM vl x)
    WHERE kc.c IS NOT NULL
    GROUP BY ALL),
adj AS (
    SELECT p.city_code, p.year, p.fw_seq, p.kind, p.code,
           CASE WHEN p.w + coalesce(c.dw, 0) > 0
                THEN (p.wl + coalesce(c.dwl, 0)) / (p.w + coalesce(c.dw, 0)) END AS value,
           p.n, p.missing - coalesce(c.dmissing, 0) AS missing, p.answered
    FROM parts p LEFT JOIN corr c
         ON c.city_code = p.city_code AND c.year = p.year AND c.kind = p.kind AND c.code = p.code),
scored AS (
    SELECT a.city_code, a.year, a.fw_seq, any_value(cy.pairs) AS pairs,
           sum(fd.weight * a.value) FILTER (WHERE a.kind = 'dimension' AND a.value IS NOT NULL)
             / sum(fd.weight) FILTER (WHERE a.kind = 'dimension' AND a.value IS NOT NULL) AS index,
           list_sort(list({'c': a.code, 'v': a.value}) FILTER (WHERE a.kind = 'dimension')) AS dl,
           list_sort(list({'c': a.code, 'v': a.value}) FILTER (WHERE a.kind = 'pillar')) AS pl,
           list_sort(list({'c': a.code, 'v': a.value}) FILTER (WHERE a.kind = 'subpillar')) AS sl,
           sum(a.n) FILTER (WHERE a.kind = 'total') AS indicators,
           sum(a.missing) FILTER (WHERE a.kind = 'total') AS missing,
           sum(a.answered) FILTER (WHERE a.kind = 'total') AS answered
    FROM adj a JOIN cy ON cy.city_code = a.city_code AND cy.year = a.year
    LEFT JOIN fw_dimensions fd ON a.kind = 'dimension' AND fd.fw_seq = a.fw_seq AND fd.code = a.code
    GROUP BY a.city_code, a.year, a.fw_seq)
"""
)
# (The breakdown lists are sorted by code, so that their order does not depend on the number of
# threads (parallel sums may still differ in the last bit); list_sort costs nothing measurable,
# an ORDER BY inside list() cost 5% of a recompute.)
# (Each CTE above is read once: a UNION ALL over several references to one large CTE made
# DuckDB 1.5.5 hang on national-size data.)

# One row per city-year, breakdowns as parallel code/value lists: what scoring.score() reads,
# because shaping a few thousand rows is much cheaper than a hundred thousand long ones.
_SCORE_WIDE_SELECT = (
    _SCORE_AGG
    + """
SELECT city_code, year, fw_seq, index,
       list_transform(dl, x -> x.c) AS dim_codes, list_transform(dl, x -> x.v) AS dim_values,
       list_transform(pl, x -> x.c) AS pillar_codes, list_transform(pl, x -> x.v) AS pillar_values,
       list_transform(sl, x -> x.c) AS sub_codes, list_transform(sl, x -> x.v) AS sub_values,
       indicators, missing, pairs, CASE WHEN pairs > 0 THEN answered ELSE 0 END AS answered
FROM scored ORDER BY year, city_code
"""
)
_SCORE_WIDE_SQL = _BASE_CTES + _SCORE_WIDE_SELECT

# The same scores recomputed from the raw answer rows, with nothing pre-computed: CTEs named
# score_cy, score_facts and score_parts, built by the very SQL that refreshes those tables,
# shadow the tables in the query above. Nothing is written: scoring.recomputation_differences
# compares it with the tables kept up to date write by write; the benchmarks time it (target 3).
_RAW_SCORE_TABLES = (
    (
        _FACTS_CTES
        + """,
score_cy AS ("""
        + _CY_COLS
        + """),
score_facts AS ("""
        + _FACTS_COLS
        + """),
score_parts AS ("""
        + _PARTS_OF.replace("{src}", "(" + _LEVEL_INPUT.replace("{src}", "score_facts") + ")")
        + """),
"""
    )
    .replace("{target}", "")
    .replace("{scope}", "")
)
_SCORE_RAW_SQL = _BASE_CTES_ON.replace("{with}", _RAW_SCORE_TABLES) + _SCORE_WIDE_SELECT

# score_city: the wide rows above, for every city-year with data, or for one city ($city).
_CITY_COLS = (
    "city_code, year, fw_seq, index, dim_codes, dim_values, pillar_codes, pillar_values, sub_codes, "
    "sub_values, indicators, missing, pairs, answered"
)
_SCORE_CITY_ALL = "INSERT INTO score_city " + _SCORE_WIDE_SQL.replace("$city", "NULL::VARCHAR").replace(
    "$years", "NULL::INTEGER[]"
)
_SCORE_CITY_SOME = "INSERT INTO score_city " + _SCORE_WIDE_SQL.replace(
    "($city IS NULL OR city_code = $city)", "list_contains($cities, city_code)"
).replace("$city IS NOT NULL AND c.city_code = $city", "FALSE").replace("$years", "NULL::INTEGER[]")
assert "$city" not in _SCORE_CITY_SOME
_SCORE_CITY_READ = f"""SELECT {_CITY_COLS} FROM score_city
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))
    ORDER BY year, city_code"""

# v2: the precomputed score tables, built from whatever the database already holds
# (built as the rules stood then: opd_assignments came in v6, which rebuilds the tables)
_NO_ASSIGNMENTS = (
    "(SELECT NULL::VARCHAR AS city_code, NULL::VARCHAR AS opd_code, NULL::VARCHAR AS indicator_code"
    " WHERE false)"
)
MIGRATIONS.append(
    [
        x.replace("opd_assignments", _NO_ASSIGNMENTS)
        for x in _SCORE_TABLES_DDL
        + [f"INSERT INTO {t} " + _REFRESH_ALL[t] for t in _SCORE_TABLES]
        + [_SCORE_CITY_ALL]
    ]
)


# v3: sign-in throttle (failed attempts by client and account) and one-time unlock codes;
# the per-account lock (users.failed_count/locked_until) is retired, the columns kept empty
MIGRATIONS.append(
    [
        """CREATE TABLE login_failures(failed_at TIMESTAMP NOT NULL, client VARCHAR NOT NULL,
        account VARCHAR NOT NULL)""",
        """CREATE TABLE unlock_codes(account VARCHAR PRIMARY KEY, code_hash VARCHAR NOT NULL,
        expires_at TIMESTAMP NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR)""",
        "UPDATE users SET failed_count = 0, locked_until = NULL",
    ]
)

# v4 (issue 15, deadlines): the self-assessment and verification deadlines of a year, per city
# ('*': every city, overridden by a city's own row); who heads an OPD and where its reminders go;
# the reminders sent (one per OPD, year and stage)
MIGRATIONS.append(
    [
        """CREATE TABLE deadlines(city_code VARCHAR NOT NULL, year INTEGER NOT NULL, self_due DATE,
        verify_due DATE, updated_at TIMESTAMP, updated_by VARCHAR, PRIMARY KEY(city_code, year))""",
        "ALTER TABLE opds ADD COLUMN head_name VARCHAR",
        "ALTER TABLE opds ADD COLUMN email VARCHAR",
        """CREATE TABLE reminders(city_code VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        stage VARCHAR NOT NULL, recipient VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL,
        PRIMARY KEY(city_code, opd_code, year, stage))""",
    ]
)

# v5 (issue 15, sessions): browser sessions kept server-side, the cookie's token and the one-time
# ticket that sets it stored only as hashes; a city's time zone (WIB/WITA/WIT) for the times it sees
MIGRATIONS.append(
    [
        """CREATE TABLE sessions(sid VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, token_hash VARCHAR,
        ticket_hash VARCHAR, ticket_expires_at TIMESTAMP, created_at TIMESTAMP NOT NULL,
        last_seen TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL, client VARCHAR)""",
        "ALTER TABLE cities ADD COLUMN timezone VARCHAR",
    ]
)

# v6 (issue 15, unanswerable indicators): an indicator no OPD of a city can answer (no OPD of its
# types) assigned by the admin to one OPD of that city; completeness now counts such an
# indicator, until assigned, as one unanswered pair, so the score tables are rebuilt
MIGRATIONS.append(
    [
        """CREATE TABLE opd_assignments(city_code VARCHAR NOT NULL, indicator_code VARCHAR NOT NULL,
        opd_code VARCHAR NOT NULL, assigned_at TIMESTAMP NOT NULL, assigned_by VARCHAR,
        PRIMARY KEY(city_code, indicator_code, opd_code))""",
        *[f"DELETE FROM {t}" for t in (*_SCORE_TABLES, "score_city")],
        *[f"INSERT INTO {t} " + _REFRESH_ALL[t] for t in _SCORE_TABLES],
        _SCORE_CITY_ALL,
    ]
)

# New migrations are appended above this line, never edited once released; the version a new
# database is created at, and the one a backup must carry, is the number of them.
SCHEMA_VERSION = len(MIGRATIONS)

# Per-OPD scores read the raw answers of the requested city/years (a city's few thousand rows).
_OPD_SQL = (
    _BASE_CTES
    + """,
"""
    + _IN_FORCE.replace("{scope}", "")
    .replace(
        "WHERE s.kind = 'assessment'",
        "WHERE s.kind = 'assessment' AND ($city IS NULL OR s.city_code = $city)\n"
        "      AND ($years IS NULL OR list_contains($years, s.year))",
    )
    .replace(
        "WHERE s.kind = 'metric'",
        "WHERE s.kind = 'metric' AND ($city IS NULL OR s.city_code = $city)\n"
        "      AND ($years IS NULL OR list_contains($years, s.year))",
    )
    + """,
opd_lv AS (
    SELECT s.city_code, s.opd_code, s.year, yf.fw_seq, a.indicator_code,
           coalesce(ver.level, a.level)::DOUBLE AS level
    FROM sub_a s JOIN assessments a ON a.submission_id = s.id JOIN yf ON yf.year = s.year
    LEFT JOIN ver ON ver.city_code = s.city_code AND ver.year = s.year AND ver.indicator_code = a.indicator_code),
opd_dims AS (
    SELECT l.city_code, l.opd_code, l.year, l.fw_seq, i.dimension,
           sum(i.weight * l.level) / sum(i.weight) AS value
    FROM opd_lv l JOIN fw_indicators i ON i.fw_seq = l.fw_seq AND i.code = l.indicator_code
    GROUP BY ALL),
opd_idx AS (
    SELECT d.city_code, d.opd_code, d.year, sum(fd.weight * d.value) / sum(fd.weight) AS value
    FROM opd_dims d JOIN fw_dimensions fd ON fd.fw_seq = d.fw_seq AND fd.code = d.dimension
    GROUP BY ALL),
opd_pairs AS (
    SELECT p.city_code, p.opd_code, p.year, p.n AS pairs
    FROM """
    + _PAIR_ROWS.replace("{src}", "cy")
    + """ p WHERE p.opd_code IS NOT NULL),
opd_ans AS (
    SELECT x.city_code, x.opd_code, x.year, count(DISTINCT x.indicator_code) AS answered
    FROM (SELECT s.city_code, s.year, s.opd_code, a.indicator_code
          FROM sub_a s JOIN assessments a ON a.submission_id = s.id
          UNION ALL
          SELECT s.city_code, s.year, s.opd_code, i.code
          FROM sub_m s JOIN yf ON yf.year = s.year
          JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.metric_code = s.metric_code) x
    JOIN yf ON yf.year = x.year
    JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.code = x.indicator_code
    JOIN opds o ON o.city_code = x.city_code AND o.opd_code = x.opd_code
    LEFT JOIN """
    + _OPD_ASG
    + """ oa ON oa.city_code = x.city_code AND oa.opd_code = x.opd_code
    WHERE """
    + _ANSWERS_FOR.format(i="i", t="o.opd_type", a="oa")
    + """ GROUP BY ALL),
opd_comp AS (
    SELECT p.city_code, p.opd_code, p.year, p.pairs, coalesce(a.answered, 0) AS answered
    FROM opd_pairs p LEFT JOIN opd_ans a USING (city_code, opd_code, year)),
last_up AS (
    SELECT city_code, opd_code, year, max(accepted_at) AS last_upload, max(id) AS submission_id
    FROM submissions WHERE ($city IS NULL OR city_code = $city)
      AND ($years IS NULL OR list_contains($years, year)) GROUP BY ALL),
units AS (
    SELECT city_code, opd_code, year FROM opd_comp
    UNION SELECT city_code, opd_code, year FROM opd_idx)
SELECT u.city_code, u.opd_code, o.name, o.opd_type, u.year, x.value AS index,
       coalesce(c.pairs, 0) AS pairs, coalesce(c.answered, 0) AS answered,
       lu.last_upload, lu.submission_id
FROM units u JOIN opds o ON o.city_code = u.city_code AND o.opd_code = u.opd_code
LEFT JOIN opd_idx x ON x.city_code = u.city_code AND x.opd_code = u.opd_code AND x.year = u.year
LEFT JOIN opd_comp c ON c.city_code = u.city_code AND c.opd_code = u.opd_code AND c.year = u.year
LEFT JOIN last_up lu ON lu.city_code = u.city_code AND lu.opd_code = u.opd_code AND lu.year = u.year
"""
)

_INDICATOR_SQL = (
    _BASE_CTES
    + _EFF_CTE
    + """,
resp_n AS (
    SELECT cy.city_code, cy.year, i.code, count(*) AS n
    FROM cy JOIN yf USING (year) JOIN fw_indicators i ON i.fw_seq = yf.fw_seq
    JOIN opds o ON o.city_code = cy.city_code
    LEFT JOIN """
    + _OPD_ASG
    + """ oa ON oa.city_code = o.city_code AND oa.opd_code = o.opd_code
    WHERE """
    + _ANSWERS_FOR.format(i="i", t="o.opd_type", a="oa")
    + """
    GROUP BY ALL)
SELECT e.city_code, e.year, e.fw_seq, e.code, i.name_id, i.name_en, e.dimension, e.pillar, e.subpillar,
       e.weight, e.effective, e.score_level, e.source, e.verified_level, e.metric_code, e.metric_value,
       e.metric_level, i.metric_unit, i.metric_aggregate, e.metric_direction, e.thresholds,
       e.self_level, e.n_opd, i.opd_types, i.ord, coalesce(r.n, 0) AS responsible_opds
FROM eff e JOIN fw_indicators i ON i.fw_seq = e.fw_seq AND i.code = e.code
LEFT JOIN resp_n r ON r.city_code = e.city_code AND r.year = e.year AND r.code = e.code
WHERE e.city_code = $city
ORDER BY i.ord
"""
)

_ANSWERS_SQL = """
WITH cur AS (
    SELECT id, city_code, opd_code, year, accepted_at, username, file_name FROM submissions
    WHERE kind = 'assessment' AND city_code = $city AND year = $year AND ($opd IS NULL OR opd_code = $opd)
    QUALIFY row_number() OVER (PARTITION BY city_code, opd_code, year ORDER BY id DESC) = 1)
SELECT a.indicator_code, c.opd_code, o.name AS opd_name, a.level, a.evidence, a.note,
       c.id AS submission_id, c.accepted_at, c.username, c.file_name, a.source_row
FROM cur c JOIN assessments a ON a.submission_id = c.id
LEFT JOIN opds o ON o.city_code = c.city_code AND o.opd_code = c.opd_code
ORDER BY a.indicator_code, c.opd_code
"""

_LEVELS_SQL = (
    _BASE_CTES
    + _EFF_CTE
    + """
SELECT city_code, year, code, effective, score_level FROM eff ORDER BY city_code, code, year
"""
)
