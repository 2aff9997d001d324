"""The one store of record: a DuckDB database, and the only module that speaks SQL.

Every statement here is fixed text with bound parameters; nothing a user typed is ever
formatted into SQL. Reads run on a fresh cursor each; writes run inside `transaction()`,
which serialises writers in this process and commits or rolls back as a whole, so a file is
stored completely or not at all. The audit row for a change is written in the same
transaction as the change.
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from metrics import audit as audit_chain
from metrics.auth import User
from metrics.framework import Framework, parse_framework
from metrics.registry import City, Opd

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "smartcity.duckdb"
SCHEMA_VERSION = 1


def resolve_db_path(explicit: str | os.PathLike | None = None) -> str:
    """--db, else $SMARTCITY_DB, else data/smartcity.duckdb (':memory:' allowed for tests)."""
    if explicit:
        return str(explicit)
    env = os.environ.get("SMARTCITY_DB")
    return env if env else str(DEFAULT_DB)


def utcnow() -> datetime:
    """Naive UTC, as DuckDB TIMESTAMP columns hold it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


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


class Store:
    """One DuckDB connection per process; a cursor per use; writers serialised by a lock."""

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = False,
                 migrate: bool = True) -> None:
        self.path = resolve_db_path(path)
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
        self._write_lock = threading.RLock()
        self._fw_cache: dict[int, Framework] = {}
        if migrate and not read_only:
            self.migrate()

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
            try:
                yield cur
            except BaseException:
                cur.rollback()
                raise
            cur.commit()

    def migrate(self) -> None:
        with self._write_lock, self.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)")
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            for n, steps in enumerate(MIGRATIONS, start=1):
                if n <= version:
                    continue
                cur.begin()
                try:
                    for stmt in steps:
                        if stmt.startswith("CREATE TABLE IF NOT EXISTS meta"):
                            continue
                        cur.execute(stmt)
                    cur.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(n)]
                    )
                    cur.commit()
                except BaseException:
                    cur.rollback()
                    raise

    def schema_version(self) -> int:
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def checkpoint(self) -> None:
        with self._write_lock, self.cursor() as cur:
            cur.execute("CHECKPOINT")

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", [f"setting.{key}"]).fetchone()
        return row[0] if row else default

    def set_setting(self, cur, key: str, value: str) -> None:
        cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"setting.{key}", value])

    # ------------------------------------------------------------------ audit

    def write_audit(self, cur, user: User, action: str, obj: str, before: object = None,
                    after: object = None) -> int:
        """Append one hash-chained audit row inside the caller's transaction."""
        last = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        new_id = (last[0] + 1) if last else 1
        prev = last[1] if last else audit_chain.GENESIS
        at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        b, a = audit_chain.canonical(before), audit_chain.canonical(after)
        h = audit_chain.row_hash(prev, new_id, at, user.username, action, obj, b, a)
        cur.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [new_id, at, user.username, action, obj, b, a, prev, h],
        )
        return new_id

    def audit_rows(self) -> list[audit_chain.AuditRow]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT id, logged_at, username, action, object, before, after, prev_hash, hash FROM audit ORDER BY id"
            ).fetchall()
        return [audit_chain.AuditRow(*r) for r in rows]

    def audit_frame(self, username: str | None = None, action: str | None = None,
                    since: str | None = None, until: str | None = None, limit: int = 1000):
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

    # ------------------------------------------------------------------ frameworks

    def save_framework(self, cur, fw: Framework, username: str) -> int:
        seq = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM frameworks").fetchone()[0]
        cur.execute(
            "INSERT INTO frameworks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, fw.id, fw.applies_from, fw.name["id"], fw.name["en"], fw.scale_min, fw.scale_max,
             fw.missing, fw.source, utcnow(), username],
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
                [seq, i.code, i.pillar, i.subpillar, i.dimension, i.weight, list(i.opd_types),
                 i.name["id"], i.name["en"],
                 i.metric.code if i.metric else None, i.metric.unit if i.metric else None,
                 i.metric.aggregate if i.metric else None, i.metric.direction if i.metric else None,
                 list(i.metric.thresholds) if i.metric else None, n]
                for n, i in enumerate(fw.indicators)
            ],
        )
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
            "INSERT OR REPLACE INTO cities VALUES (?, ?, ?, ?, ?)",
            [[c.city_code, c.name, c.province, c.category, c.population] for c in cities],
        )
        new = sum(1 for c in cities if c.city_code not in existing)
        return new, len(cities) - new

    def upsert_opds(self, cur, opds: list[Opd]) -> tuple[int, int]:
        existing = set(cur.execute("SELECT city_code, opd_code FROM opds").fetchall())
        cur.executemany(
            "INSERT OR REPLACE INTO opds VALUES (?, ?, ?, ?)",
            [[o.city_code, o.opd_code, o.opd_type, o.name] for o in opds],
        )
        new = sum(1 for o in opds if (o.city_code, o.opd_code) not in existing)
        return new, len(opds) - new

    def city_codes(self, cur=None) -> set[str]:
        with self.cursor() as c:
            return {r[0] for r in (cur or c).execute("SELECT city_code FROM cities").fetchall()}

    def cities(self) -> list[City]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT city_code, name, province, category, population FROM cities ORDER BY name"
            ).fetchall()
        return [City(*r) for r in rows]

    def opds(self, city: str | None = None) -> list[Opd]:
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT city_code, opd_code, opd_type, name FROM opds
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, opd_code""",
                {"c": city},
            ).fetchall()
        return [Opd(*r) for r in rows]

    def opd_map(self, cur=None) -> dict[tuple[str, str], Opd]:
        with self.cursor() as c:
            rows = (cur or c).execute("SELECT city_code, opd_code, opd_type, name FROM opds").fetchall()
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
            row = (cur or c).execute(
                "SELECT status FROM periods WHERE city_code = ? AND year = ?", [city, year]
            ).fetchone()
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

    # ------------------------------------------------------------------ submissions

    def keep_file(self, cur, sha256: str, name: str, content: bytes) -> None:
        cur.execute(
            "INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", [sha256, name, len(content), content]
        )

    def file_content(self, sha256: str) -> bytes | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT content FROM files WHERE sha256 = ?", [sha256]).fetchone()
        return bytes(row[0]) if row else None

    def insert_submissions(self, cur, subs: list, username: str, file_name: str | None,
                           sha256: str | None, source: str, at: datetime | list[datetime] | None = None,
                           file_names: list[str] | None = None) -> list[int]:
        """Insert submissions (ingest.Submission) and their rows in bulk; returns the new ids.

        Rows go in through Arrow so that a 150-row workbook or a national batch is one
        columnar append per table, not a statement per row.
        """
        import pyarrow as pa

        if not subs:
            return []
        ats = at if isinstance(at, list) else [at or utcnow()] * len(subs)
        ids = [r[0] for r in cur.execute(
            "SELECT nextval('submission_id_seq') FROM range(?)", [len(subs)]).fetchall()]
        sub_tbl = pa.table({
            "id": pa.array(ids, pa.int64()),
            "kind": [s.kind for s in subs],
            "city_code": [s.city_code for s in subs],
            "opd_code": [s.opd_code for s in subs],
            "year": pa.array([s.year for s in subs], pa.int32()),
            "metric_code": pa.array([s.metric_code for s in subs], pa.string()),
            "fw_seq": pa.array([s.fw_seq for s in subs], pa.int32()),
            "file_name": pa.array(file_names or [file_name] * len(subs), pa.string()),
            "sha256": pa.array([sha256] * len(subs), pa.string()),
            "username": [username] * len(subs),
            "accepted_at": pa.array(ats, pa.timestamp("us")),
            "source": [source] * len(subs),
            "n_rows": pa.array([len(s.rows) for s in subs], pa.int32()),
        })
        cur.register("_new_subs", sub_tbl)
        cur.execute("INSERT INTO submissions SELECT * FROM _new_subs")
        cur.unregister("_new_subs")
        a_cols: dict[str, list] = {"submission_id": [], "indicator_code": [], "level": [], "evidence": [],
                                   "note": [], "source_row": []}
        m_cols: dict[str, list] = {"submission_id": [], "metric_code": [], "period": [], "value": [],
                                   "source_row": []}
        for sid, s in zip(ids, subs):
            if s.kind == "assessment":
                for r in s.rows:
                    a_cols["submission_id"].append(sid)
                    a_cols["indicator_code"].append(r.indicator_code)
                    a_cols["level"].append(r.level)
                    a_cols["evidence"].append(r.evidence)
                    a_cols["note"].append(r.note)
                    a_cols["source_row"].append(r.source_row)
            else:
                for r in s.rows:
                    m_cols["submission_id"].append(sid)
                    m_cols["metric_code"].append(s.metric_code)
                    m_cols["period"].append(r.period)
                    m_cols["value"].append(r.value)
                    m_cols["source_row"].append(r.source_row)
        if a_cols["submission_id"]:
            t = pa.table({
                "submission_id": pa.array(a_cols["submission_id"], pa.int64()),
                "indicator_code": pa.array(a_cols["indicator_code"], pa.string()),
                "level": pa.array(a_cols["level"], pa.int8()),
                "evidence": pa.array(a_cols["evidence"], pa.string()),
                "note": pa.array(a_cols["note"], pa.string()),
                "source_row": pa.array(a_cols["source_row"], pa.int32()),
            })
            cur.register("_new_rows", t)
            cur.execute("INSERT INTO assessments SELECT * FROM _new_rows")
            cur.unregister("_new_rows")
        if m_cols["submission_id"]:
            t = pa.table({
                "submission_id": pa.array(m_cols["submission_id"], pa.int64()),
                "metric_code": pa.array(m_cols["metric_code"], pa.string()),
                "period": pa.array(m_cols["period"], pa.string()),
                "value": pa.array(m_cols["value"], pa.float64()),
                "source_row": pa.array(m_cols["source_row"], pa.int32()),
            })
            cur.register("_new_rows", t)
            cur.execute("INSERT INTO metric_values SELECT * FROM _new_rows")
            cur.unregister("_new_rows")
        return ids

    def submissions_frame(self, city: str | None = None, opd: str | None = None, year: int | None = None,
                          kind: str | None = None):
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
                for t in ("cities", "opds", "submissions", "assessments", "metric_values", "verifications",
                          "users", "audit", "frameworks", "files")
            }

    def content_fingerprint(self) -> str:
        """A hash of every row of every data table, to prove a rejected file changed nothing."""
        h = hashlib.sha256()
        with self.cursor() as cur:
            for t in ("cities", "opds", "submissions", "assessments", "metric_values", "verifications",
                      "periods", "drafts", "users", "audit", "frameworks", "files"):
                rows = cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()  # fixed names
                h.update(t.encode())
                h.update(repr(rows).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ verifications

    def add_verification(self, cur, city: str, year: int, indicator: str, level: int, note: str,
                         username: str) -> int:
        vid = cur.execute("SELECT nextval('verification_id_seq')").fetchone()[0]
        cur.execute(
            "INSERT INTO verifications VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [vid, city, year, indicator, level, note, username, utcnow()],
        )
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
            return (cur or c).execute(
                """SELECT username, pw_hash, role, city_code, opd_code, active, display_name, failed_count,
                          locked_until, sessions_valid_after FROM users WHERE username = ?""",
                [username],
            ).fetchone()

    def insert_user(self, cur, username: str, pw_hash: str, role: str, city: str | None, opd: str | None,
                    display_name: str) -> None:
        cur.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, TRUE, ?, 0, NULL, ?, NULL)",
            [username, pw_hash, role, city, opd, display_name, utcnow()],
        )

    def update_user(self, cur, username: str, **fields: object) -> None:
        allowed = {"pw_hash", "role", "city_code", "opd_code", "active", "display_name", "failed_count",
                   "locked_until", "sessions_valid_after"}
        for k, v in fields.items():
            if k not in allowed:
                raise KeyError(k)
            # column names come from the fixed set above, values are bound
            cur.execute(f"UPDATE users SET {k} = ? WHERE username = ?", [v, username])

    def users_frame(self):
        with self.cursor() as cur:
            return cur.execute(
                """SELECT username, role, city_code, opd_code, active, display_name, failed_count,
                          locked_until, created_at FROM users ORDER BY username"""
            ).df()

    # ------------------------------------------------------------------ drafts

    def get_draft(self, city: str, opd: str, year: int):
        with self.cursor() as cur:
            return cur.execute(
                "SELECT payload, updated_at, username FROM drafts WHERE city_code = ? AND opd_code = ? AND year = ?",
                [city, opd, year],
            ).fetchone()

    def save_draft(self, cur, city: str, opd: str, year: int, payload: str, username: str) -> None:
        cur.execute(
            "INSERT OR REPLACE INTO drafts VALUES (?, ?, ?, ?, ?, ?)", [city, opd, year, payload, utcnow(), username]
        )

    def delete_draft(self, cur, city: str, opd: str, year: int) -> None:
        cur.execute("DELETE FROM drafts WHERE city_code = ? AND opd_code = ? AND year = ?", [city, opd, year])

    # ------------------------------------------------------------------ scoring reads
    # The scoring rules (see scoring.py for the why) as fixed SQL over bound $years/$city.

    def score_rows(self, years: list[int] | None, city: str | None) -> list[tuple]:
        """Long rows (city, year, fw_seq, kind, code, value) for every scored city-year."""
        with self.cursor() as cur:
            return cur.execute(_SCORE_SQL, {"years": years, "city": city}).fetchall()

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

    # ------------------------------------------------------------------ backup

    def export_database(self, directory: str) -> None:
        with self._write_lock, self.cursor() as cur:
            cur.execute("CHECKPOINT")
            # EXPORT DATABASE takes a path literal, not a parameter; the path is ours (a temp dir)
            safe = str(directory).replace("'", "''")
            cur.execute(f"EXPORT DATABASE '{safe}' (FORMAT parquet)")

    def import_database(self, directory: str) -> None:
        with self._write_lock, self.cursor() as cur:
            safe = str(directory).replace("'", "''")
            cur.execute(f"IMPORT DATABASE '{safe}'")


# --------------------------------------------------------------------------- scoring SQL
# Shared CTEs: the submission in force per unit, verified levels, the framework per year,
# and the effective level of every indicator for every scored city-year.
_BASE_CTES = """
WITH
sub_a AS (
    SELECT id, city_code, opd_code, year, accepted_at FROM submissions
    WHERE kind = 'assessment' AND ($city IS NULL OR city_code = $city)
      AND ($years IS NULL OR list_contains($years, year))
    QUALIFY row_number() OVER (PARTITION BY city_code, opd_code, year ORDER BY id DESC) = 1),
sub_m AS (
    SELECT id, city_code, opd_code, year, metric_code FROM submissions
    WHERE kind = 'metric' AND ($city IS NULL OR city_code = $city)
      AND ($years IS NULL OR list_contains($years, year))
    QUALIFY row_number() OVER (PARTITION BY city_code, opd_code, metric_code, year ORDER BY id DESC) = 1),
ver AS (
    SELECT city_code, year, indicator_code, arg_max(level, id) AS level FROM verifications
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))
    GROUP BY ALL),
cy AS (
    SELECT city_code, year FROM sub_a UNION SELECT city_code, year FROM sub_m
    UNION SELECT city_code, year FROM ver
    UNION SELECT c.city_code, y.y FROM cities c, (SELECT unnest(coalesce($years, []::INTEGER[])) AS y) y
          WHERE $city IS NOT NULL AND c.city_code = $city),
yf AS (
    SELECT y.year, arg_max(f.seq, f.applies_from::BIGINT * 1000000 + f.seq) AS fw_seq
    FROM (SELECT DISTINCT year FROM cy) y JOIN frameworks f ON f.applies_from <= y.year
    GROUP BY y.year),
self_lv AS (
    SELECT s.city_code, s.year, a.indicator_code, avg(a.level) AS level, count(*) AS n_opd
    FROM sub_a s JOIN assessments a ON a.submission_id = s.id GROUP BY ALL),
mv AS (
    SELECT s.city_code, s.year, s.metric_code, avg(v.value) AS a_mean, sum(v.value) AS a_sum,
           arg_max(v.value, v.period) AS a_last, min(v.value) AS a_min, max(v.value) AS a_max,
           count(*) AS n_values
    FROM sub_m s JOIN metric_values v ON v.submission_id = s.id GROUP BY ALL),
eff0 AS (
    SELECT cy.city_code, cy.year, yf.fw_seq, i.code, i.dimension, i.pillar, i.subpillar, i.weight,
           i.metric_code, i.metric_direction, i.thresholds, f.scale_min, f.missing,
           ver.level AS verified_level,
           CASE i.metric_aggregate WHEN 'mean' THEN mv.a_mean WHEN 'sum' THEN mv.a_sum
                WHEN 'last' THEN mv.a_last WHEN 'min' THEN mv.a_min WHEN 'max' THEN mv.a_max END AS metric_value,
           self_lv.level AS self_level, coalesce(self_lv.n_opd, 0) AS n_opd
    FROM cy JOIN yf USING (year) JOIN frameworks f ON f.seq = yf.fw_seq
    JOIN fw_indicators i ON i.fw_seq = yf.fw_seq
    LEFT JOIN ver ON ver.city_code = cy.city_code AND ver.year = cy.year AND ver.indicator_code = i.code
    LEFT JOIN mv ON mv.city_code = cy.city_code AND mv.year = cy.year AND mv.metric_code = i.metric_code
    LEFT JOIN self_lv ON self_lv.city_code = cy.city_code AND self_lv.year = cy.year
                     AND self_lv.indicator_code = i.code),
eff1 AS (
    SELECT *, CASE WHEN metric_value IS NULL THEN NULL
                   ELSE scale_min + len(list_filter(thresholds, lambda t:
                        CASE WHEN metric_direction = 'lower' THEN metric_value <= t ELSE metric_value >= t END))
              END AS metric_level
    FROM eff0),
eff AS (
    SELECT *, coalesce(verified_level, metric_level, self_level) AS effective,
           CASE WHEN verified_level IS NOT NULL THEN 'verified' WHEN metric_level IS NOT NULL THEN 'metric'
                WHEN self_level IS NOT NULL THEN 'self' ELSE 'missing' END AS source,
           CASE WHEN coalesce(verified_level, metric_level, self_level) IS NOT NULL
                THEN coalesce(verified_level, metric_level, self_level)::DOUBLE
                WHEN missing = 'zero' THEN scale_min::DOUBLE END AS score_level
    FROM eff1),
resp AS (
    SELECT cy.city_code, cy.year, o.opd_code, i.code AS indicator_code
    FROM cy JOIN yf USING (year) JOIN fw_indicators i ON i.fw_seq = yf.fw_seq
    JOIN opds o ON o.city_code = cy.city_code AND list_contains(i.opd_types, o.opd_type)),
ans AS (
    SELECT s.city_code, s.year, s.opd_code, a.indicator_code
    FROM sub_a s JOIN assessments a ON a.submission_id = s.id
    UNION
    SELECT s.city_code, s.year, s.opd_code, i.code
    FROM sub_m s JOIN yf ON yf.year = s.year
    JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.metric_code = s.metric_code),
resp_ans AS (
    SELECT r.*, a.indicator_code IS NOT NULL AS answered
    FROM resp r LEFT JOIN ans a ON a.city_code = r.city_code AND a.year = r.year
         AND a.opd_code = r.opd_code AND a.indicator_code = r.indicator_code)
"""

_SCORE_SQL = _BASE_CTES + """,
dims AS (
    SELECT city_code, year, fw_seq, dimension AS code,
           sum(weight * score_level) / sum(CASE WHEN score_level IS NOT NULL THEN weight END) AS value
    FROM eff GROUP BY ALL),
idx AS (
    SELECT d.city_code, d.year, d.fw_seq, sum(fd.weight * d.value) / sum(fd.weight) AS value
    FROM dims d JOIN fw_dimensions fd ON fd.fw_seq = d.fw_seq AND fd.code = d.code
    WHERE d.value IS NOT NULL GROUP BY ALL),
comp AS (
    SELECT city_code, year, count(*) AS pairs, count(*) FILTER (WHERE answered) AS answered
    FROM resp_ans GROUP BY ALL)
SELECT city_code, year, fw_seq, 'index' AS kind, NULL AS code, value FROM idx
UNION ALL SELECT city_code, year, fw_seq, 'dimension', code, value FROM dims
UNION ALL SELECT city_code, year, fw_seq, 'pillar', pillar,
       sum(weight * score_level) / sum(CASE WHEN score_level IS NOT NULL THEN weight END)
    FROM eff GROUP BY city_code, year, fw_seq, pillar
UNION ALL SELECT city_code, year, fw_seq, 'subpillar', subpillar,
       sum(weight * score_level) / sum(CASE WHEN score_level IS NOT NULL THEN weight END)
    FROM eff WHERE subpillar IS NOT NULL GROUP BY city_code, year, fw_seq, subpillar
UNION ALL SELECT city_code, year, fw_seq, 'indicators', NULL, count(*) FROM eff GROUP BY ALL
UNION ALL SELECT city_code, year, fw_seq, 'missing', NULL, count(*) FILTER (WHERE source = 'missing')
    FROM eff GROUP BY ALL
UNION ALL SELECT city_code, year, NULL, 'pairs', NULL, pairs FROM comp
UNION ALL SELECT city_code, year, NULL, 'answered', NULL, answered FROM comp
"""

_OPD_SQL = _BASE_CTES + """,
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
opd_comp AS (
    SELECT city_code, opd_code, year, count(*) AS pairs, count(*) FILTER (WHERE answered) AS answered
    FROM resp_ans GROUP BY ALL),
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

_INDICATOR_SQL = _BASE_CTES + """
SELECT e.city_code, e.year, e.fw_seq, e.code, i.name_id, i.name_en, e.dimension, e.pillar, e.subpillar,
       e.weight, e.effective, e.score_level, e.source, e.verified_level, e.metric_code, e.metric_value,
       e.metric_level, i.metric_unit, i.metric_aggregate, e.metric_direction, e.thresholds,
       e.self_level, e.n_opd, i.opd_types, i.ord,
       (SELECT count(*) FROM resp_ans r WHERE r.city_code = e.city_code AND r.year = e.year
            AND r.indicator_code = e.code) AS responsible_opds
FROM eff e JOIN fw_indicators i ON i.fw_seq = e.fw_seq AND i.code = e.code
WHERE e.city_code = $city
ORDER BY i.ord
"""

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

_LEVELS_SQL = _BASE_CTES + """
SELECT city_code, year, code, effective, score_level FROM eff ORDER BY city_code, code, year
"""
