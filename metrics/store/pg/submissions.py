"""Submissions on PostgreSQL: an upload's rows go in through COPY, a few round trips per upload.

What DuckDB appends through Arrow (metrics.store.submissions) is COPY here: the submissions, their
answer rows, their metric values and their "tidak berlaku" answers, one COPY per table however
many rows. Ids come from the sequence in one statement. (Measured for one submission of 150
answers: about 1 ms for the three statements; one INSERT ... SELECT FROM unnest(arrays)
RETURNING id instead of the ids and the submission's COPY was slower.) Every upload is a new version (new ids,
rows only added), so two processes uploading for the same OPD-year at once both keep theirs.

An original file is kept once by its SHA-256 even when two transactions keep the same file at the
same moment: `INSERT ... ON CONFLICT DO NOTHING` makes the second wait for the first and then
skip it (files are inserted in SHA-256 order, so two transactions cannot wait on each other).
File contents go to and from the server as bytes (metrics.store.pg.bytea).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from metrics.records import SubmissionBatch
from metrics.store.connection import utcnow
from metrics.store.pg import bytea
from metrics.store.pg.connection import PgConnection, PgCursor
from metrics.store.submissions import Submissions, as_batch

_SUBMISSION_COLUMNS = (
    "id",
    "kind",
    "city_code",
    "opd_code",
    "year",
    "metric_code",
    "fw_seq",
    "file_name",
    "sha256",
    "username",
    "accepted_at",
    "source",
    "n_rows",
)
_ASSESSMENT_COLUMNS = ("submission_id", "indicator_code", "level", "evidence", "note", "source_row")
_METRIC_COLUMNS = ("submission_id", "metric_code", "period", "value", "source_row")
_NA_COLUMNS = ("submission_id", "indicator_code", "reason", "source_row")


class PgSubmissions(Submissions, PgConnection):
    """Submissions, their rows and the kept upload files on PostgreSQL."""

    def keep_files(self, cur: PgCursor, files: list[tuple[str, str, bytes]]) -> None:  # type: ignore[override]
        first: dict[str, tuple[str, bytes]] = {}
        for sha, name, content in files:
            first.setdefault(sha, (name, content))
        if not first:
            return
        rows = [(sha, name, len(content), content) for sha, (name, content) in sorted(first.items())]
        # one statement for the few files of a transaction; the placeholders are counted, not read
        values = ", ".join(["(?, ?, ?, ?)"] * len(rows))
        bytea.run(
            cur,
            f"INSERT INTO files VALUES {values} ON CONFLICT (sha256) DO NOTHING",
            [v for row in rows for v in row],
        )

    def file_content(self, sha256: str) -> bytes | None:
        return bytea.read(self, "SELECT content FROM files WHERE sha256 = ?", [sha256])

    def insert_submissions(  # type: ignore[override]
        self,
        cur: PgCursor,
        subs: list[Any] | SubmissionBatch,
        username: str,
        file_name: str | None,
        sha256: str | None,
        source: str,
        at: datetime | list[datetime] | None = None,
        file_names: list[str] | None = None,
    ) -> list[int]:
        batch = as_batch(subs, file_name, sha256, file_names)
        if not len(batch):
            return []
        count = len(batch)
        ats = at if isinstance(at, list) else [at or utcnow()] * count
        ids = [
            int(r[0])
            for r in cur.execute(
                "SELECT nextval('submission_id_seq') FROM generate_series(1, ?) ORDER BY 1", [count]
            ).fetchall()
        ]
        cur.copy_rows(
            "submissions",
            _SUBMISSION_COLUMNS,
            list(
                zip(
                    ids,
                    batch.kind,
                    batch.city_code,
                    batch.opd_code,
                    batch.year,
                    batch.metric_code,
                    batch.fw_seq,
                    batch.file_name,
                    batch.sha256,
                    [username] * count,
                    ats,
                    [source] * count,
                    batch.n_rows,
                    strict=True,
                )
            ),
        )
        if batch.a_sub:
            cur.copy_rows(
                "assessments",
                _ASSESSMENT_COLUMNS,
                list(
                    zip(
                        [ids[k] for k in batch.a_sub],
                        batch.a_code,
                        batch.a_level,
                        batch.a_evidence,
                        batch.a_note,
                        batch.a_row,
                        strict=True,
                    )
                ),
            )
        if batch.m_sub:
            cur.copy_rows(
                "metric_values",
                _METRIC_COLUMNS,
                list(
                    zip(
                        [ids[k] for k in batch.m_sub],
                        [batch.metric_code[k] for k in batch.m_sub],
                        batch.m_period,
                        batch.m_value,
                        batch.m_row,
                        strict=True,
                    )
                ),
            )
        if batch.n_sub:
            cur.copy_rows(
                "assessment_na",
                _NA_COLUMNS,
                list(
                    zip([ids[k] for k in batch.n_sub], batch.n_code, batch.n_reason, batch.n_row, strict=True)
                ),
            )
        self.mark_scores_stale(cur, set(zip(batch.city_code, batch.year)))  # type: ignore[arg-type]
        return ids
