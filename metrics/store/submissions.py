"""Submissions, their answer and metric rows, the kept upload files, and verifications.

The reads are written so that PostgreSQL runs them as they are (the newest version per unit is
max(id) ... GROUP BY or a row_number() subquery, not DuckDB's QUALIFY: measured as fast on
DuckDB on the national store); the bulk writes, which DuckDB takes through Arrow, are
PostgreSQL's COPY in metrics.store.pg.submissions.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metrics.records import SubmissionBatch, SubmissionMeta
from metrics.store.connection import Connection, Cursor, Row, scalar, utcnow

if TYPE_CHECKING:
    import pandas as pd


# The assessment submissions in force of the (city, OPD, year) units in $cities/$opds/$years:
# what a merge compares with and carries over (answers and "tidak berlaku" answers alike).
_UNITS_IN_FORCE = """WITH units AS (SELECT DISTINCT unnest($cities::VARCHAR[]) AS city_code,
                         unnest($opds::VARCHAR[]) AS opd_code, unnest($years::INTEGER[]) AS year),
in_force AS (
    SELECT max(s.id) AS id, s.city_code, s.opd_code, s.year FROM submissions s
    JOIN units u ON u.city_code = s.city_code AND u.opd_code = s.opd_code AND u.year = s.year
    WHERE s.kind = 'assessment'
    GROUP BY s.city_code, s.opd_code, s.year)
"""


# the tables that content_fingerprint hashes
FINGERPRINT_TABLES: tuple[str, ...] = (
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
    "opd_assignments",
    "city_population",
    "assessment_na",
    "na_decisions",
    "programme_versions",
    "programmes",
    "programme_budgets",
    "programme_statuses",
    "survey_uploads",
    "survey_programmes",
    "survey_questions",
    "survey_mappings",
    "evidence_blobs",
    "evidence_items",
    "evidence_links",
    "indicator_efforts",
    "effort_units",
)


def as_batch(
    subs: list[Any] | SubmissionBatch, file_name: str | None, sha256: str | None, file_names: list[str] | None
) -> SubmissionBatch:
    """insert_submissions' input as columns: a SubmissionBatch as it is, or a list of
    ingest.Submission (all from `file_name`/`sha256`, or per submission `file_names`)."""
    if isinstance(subs, SubmissionBatch):
        return subs
    batch = SubmissionBatch()
    for n, s in enumerate(subs):
        batch.add(s, file_names[n] if file_names else file_name, sha256)
    return batch


class Submissions(Connection):
    """Submissions, their answer and metric rows, the kept upload files, and verifications."""

    def years(self) -> list[int]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT DISTINCT year FROM submissions UNION SELECT DISTINCT year FROM periods ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    def keep_files(self, cur: Cursor, files: list[tuple[str, str, bytes]]) -> None:
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

    def file_content(self, sha256: str) -> bytes | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT content FROM files WHERE sha256 = ?", [sha256]).fetchone()
        return bytes(row[0]) if row else None

    def insert_submissions(
        self,
        cur: Cursor,
        subs: list[Any] | SubmissionBatch,
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

        batch = as_batch(subs, file_name, sha256, file_names)
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
        if batch.n_sub:
            cur.executemany(
                "INSERT INTO assessment_na VALUES (?, ?, ?, ?)",
                [
                    [ids[k], code, reason, row]
                    for k, code, reason, row in zip(batch.n_sub, batch.n_code, batch.n_reason, batch.n_row)
                ],
            )
        self.mark_scores_stale(cur, set(zip(batch.city_code, batch.year)))
        return ids

    def in_force_rows(
        self,
        units_a: list[tuple[str, str, int]],
        units_m: list[tuple[str, str, str, int]],
        cur: Cursor | None = None,
    ) -> tuple[list[Row], list[Row]]:
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
                _UNITS_IN_FORCE
                + """SELECT f.city_code, f.opd_code, f.year, f.id, a.indicator_code, a.level, a.evidence, a.note
                   FROM in_force f JOIN assessments a ON a.submission_id = f.id
                   ORDER BY f.id, a.indicator_code""",
                {
                    "cities": [u[0] for u in units_a],
                    "opds": [u[1] for u in units_a],
                    "years": [u[2] for u in units_a],
                },
            ).fetchall()
        if units_m:
            m = cur.execute(
                """WITH units AS (SELECT DISTINCT unnest($cities::VARCHAR[]) AS city_code,
                                         unnest($opds::VARCHAR[]) AS opd_code, unnest($metrics::VARCHAR[]) AS metric_code,
                                         unnest($years::INTEGER[]) AS year),
                   in_force AS (
                       SELECT max(s.id) AS id, s.city_code, s.opd_code, s.metric_code, s.year FROM submissions s
                       JOIN units u ON u.city_code = s.city_code AND u.opd_code = s.opd_code
                                   AND u.metric_code = s.metric_code AND u.year = s.year
                       WHERE s.kind = 'metric'
                       GROUP BY s.city_code, s.opd_code, s.metric_code, s.year)
                   SELECT f.city_code, f.opd_code, f.metric_code, f.year, f.id, v.period, v.value
                   FROM in_force f JOIN metric_values v ON v.submission_id = f.id
                   ORDER BY f.id, v.period""",
                {
                    "cities": [u[0] for u in units_m],
                    "opds": [u[1] for u in units_m],
                    "metrics": [u[2] for u in units_m],
                    "years": [u[3] for u in units_m],
                },
            ).fetchall()
        return a, m

    def submissions_frame(
        self,
        city: str | None = None,
        opd: str | None = None,
        year: int | None = None,
        kind: str | None = None,
    ) -> pd.DataFrame:
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

    def submission_rows(self, sid: int) -> pd.DataFrame | None:
        """The answer rows (assessment) or period values (metric) of one submission."""
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
                t: int(scalar(cur, f"SELECT count(*) FROM {t}"))  # fixed table names only
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
            for t in FINGERPRINT_TABLES:
                # ORDER BY the whole row: both engines accept it (DuckDB's ORDER BY ALL does not)
                rows = cur.execute(f"SELECT * FROM {t} AS r ORDER BY r").fetchall()  # fixed names
                h.update(t.encode())
                h.update(repr(rows).encode())
        return h.hexdigest()

    def add_verification(
        self, cur: Cursor, city: str, year: int, indicator: str, level: int, note: str, username: str
    ) -> int:
        vid = int(scalar(cur, "SELECT nextval('verification_id_seq')"))
        cur.execute(
            "INSERT INTO verifications VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [vid, city, year, indicator, level, note, username, utcnow()],
        )
        self.mark_finished_scores_stale(cur, {city})
        return vid

    def add_na_decision(
        self, cur: Cursor, city: str, year: int, indicator: str, decision: str, note: str, username: str
    ) -> int:
        """Record an assessor's decision (`accepted` | `rejected`) on a city-year's not-applicable
        answer to `indicator`; the newest decision counts."""
        nid = int(scalar(cur, "SELECT nextval('na_decision_seq')"))
        cur.execute(
            "INSERT INTO na_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [nid, city, year, indicator, decision, note, username, utcnow()],
        )
        self.mark_finished_scores_stale(cur, {city})
        return nid

    def current_verification(self, cur: Cursor, city: str, year: int, indicator: str) -> Row | None:
        return cur.execute(
            """SELECT level, note, username FROM verifications WHERE city_code = ? AND year = ?
               AND indicator_code = ? ORDER BY id DESC LIMIT 1""",
            [city, year, indicator],
        ).fetchone()

    def verification_rows(self, city: str, year: int) -> list[dict[str, Any]]:
        """The verification in force per indicator of a city-year (who, when, why), for the drill-down."""
        with self.cursor() as cur:
            res = cur.execute(
                """SELECT indicator_code, level, note, username, verified_at, id FROM verifications
                   WHERE id IN (SELECT max(id) FROM verifications WHERE city_code = $city AND year = $year
                                GROUP BY indicator_code)
                   ORDER BY indicator_code""",
                {"city": city, "year": year},
            )
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, r)) for r in res.fetchall()]

    def peer_levels(self, year: int, exclude_city: str) -> list[Row]:
        """(opd_type, indicator, mean level, answers) over the in-force self-assessments of
        `year` in every city but `exclude_city`: what an OPD's answer is compared with."""
        with self.cursor() as cur:
            return cur.execute(
                """WITH in_force AS (
                       SELECT id, city_code, opd_code FROM (
                           SELECT id, city_code, opd_code,
                                  row_number() OVER (PARTITION BY city_code, opd_code ORDER BY id DESC) AS rn
                           FROM submissions WHERE kind = 'assessment' AND year = $year AND city_code <> $city
                       ) AS ranked WHERE rn = 1)
                   SELECT o.opd_type, a.indicator_code, avg(a.level) AS mean_level, count(*) AS answers
                   FROM in_force f JOIN assessments a ON a.submission_id = f.id
                   JOIN opds o ON o.city_code = f.city_code AND o.opd_code = f.opd_code
                   GROUP BY o.opd_type, a.indicator_code ORDER BY o.opd_type, a.indicator_code""",
                {"year": year, "city": exclude_city},
            ).fetchall()

    # ------------------------------------------------------------------ not-applicable answers (issue 17)

    def in_force_na_rows(self, units_a: list[tuple[str, str, int]], cur: Cursor | None = None) -> list[Row]:
        """The "tidak berlaku" answers of the versions in force of the given (city, OPD, year) units,
        as rows (city, OPD, year, submission id, indicator, reason): what a merge carries over."""
        if cur is None:
            with self.cursor() as own:
                return self.in_force_na_rows(units_a, own)
        if not units_a:
            return []
        return cur.execute(
            _UNITS_IN_FORCE
            + """SELECT f.city_code, f.opd_code, f.year, f.id, n.indicator_code, n.reason
               FROM in_force f JOIN assessment_na n ON n.submission_id = f.id
               ORDER BY f.id, n.indicator_code""",
            {
                "cities": [u[0] for u in units_a],
                "opds": [u[1] for u in units_a],
                "years": [u[2] for u in units_a],
            },
        ).fetchall()

    def na_claims(
        self, city: str, year: int, opd: str | None = None, cur: Cursor | None = None
    ) -> list[dict[str, Any]]:
        """The "tidak berlaku" answers of the city-year's submissions in force (of `opd`, or every
        OPD), each with the newest assessor's decision on its indicator, if any.

        Keys: opd_code, opd_name, indicator_code, reason, source_row, submission_id, submitted_by,
        submitted_at, decision (accepted | rejected | None), decision_note, decided_by, decided_at.
        """
        if cur is None:
            with self.cursor() as own:
                return self.na_claims(city, year, opd, own)
        res = cur.execute(
            """WITH in_force AS (
                   SELECT id, opd_code, username, accepted_at FROM submissions
                   WHERE id IN (SELECT max(id) FROM submissions
                                WHERE kind = 'assessment' AND city_code = $city AND year = $year
                                  AND ($opd IS NULL OR opd_code = $opd)
                                GROUP BY opd_code)),
               dec AS (
                   SELECT indicator_code, decision, note, username, decided_at FROM na_decisions
                   WHERE id IN (SELECT max(id) FROM na_decisions WHERE city_code = $city AND year = $year
                                GROUP BY indicator_code))
               SELECT f.opd_code, o.name AS opd_name, n.indicator_code, n.reason, n.source_row,
                      f.id AS submission_id, f.username AS submitted_by, f.accepted_at AS submitted_at,
                      d.decision, d.note AS decision_note, d.username AS decided_by, d.decided_at
               FROM in_force f JOIN assessment_na n ON n.submission_id = f.id
               LEFT JOIN opds o ON o.city_code = $city AND o.opd_code = f.opd_code
               LEFT JOIN dec d ON d.indicator_code = n.indicator_code
               ORDER BY n.indicator_code, f.opd_code""",
            {"city": city, "year": year, "opd": opd},
        )
        cols = [d[0] for d in res.description or []]
        return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]

    def current_na_decision(self, cur: Cursor, city: str, year: int, indicator: str) -> Row | None:
        """The newest assessor's decision on a city-year's "tidak berlaku" answer to `indicator`:
        (decision, note, username, decided_at), or None."""
        return cur.execute(
            """SELECT decision, note, username, decided_at FROM na_decisions
               WHERE city_code = ? AND year = ? AND indicator_code = ? ORDER BY id DESC LIMIT 1""",
            [city, year, indicator],
        ).fetchone()
