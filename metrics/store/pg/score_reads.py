"""The scoring reads on PostgreSQL: the statements of metrics.store.score_sql's reads (per OPD,
per indicator, answers, method inputs, "tidak berlaku" rows, level history), the upload preview
and the framework what-if, in PostgreSQL's dialect, and `PgScoreReads`, which runs them.

The rules are those of metrics.store.score_sql, fragment for fragment (same CTE names, same
joins). The fragments a read shares with the rebuild (base_ctes, score_ctes, pair_rows, the facts
fragments the what-if levels by, ...) are metrics.store.pg.score_sql's, whose docstring lists how
the dialects differ; the ones here follow the same rules (DISTINCT ON for QUALIFY and arg_max,
EXISTS for SEMI/ANTI JOIN, array_agg for list, explicit GROUP BY, a divisor that may be 0
NULLIF'd where DuckDB would give inf or NaN, text ordered by bytes with COLLATE "C").
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import suppress
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from metrics.store.frameworks import FRAMEWORK_COLUMNS, framework_rows
from metrics.store.pg.connection import PgConnection, PgCursor
from metrics.store.pg.score_sql import (
    EFFECTIVE_LEVELS,
    METHOD_CTES,
    METRIC_VALUE,
    OPD_ASSIGNED,
    SCORE_CITY_READ,
    SCORE_FACTS_SELECT,
    WIDE_SELECT,
    answers_for,
    base_ctes,
    facts_cte,
    in_force,
    level_input,
    pair_rows,
    parts_of,
    score_ctes,
    with_ctes,
)
from metrics.store.scores import Row, Scores, _dicts
from metrics.store.whatif import _YEAR_INDICATORS, Reuse, WhatIf, _reuse

if TYPE_CHECKING:
    from metrics.framework import Framework
    from metrics.records import SubmissionBatch

# The rows a read asks for: the city $city (NULL: every city) in the years $years (NULL: all).
ASKED = (
    "($city::VARCHAR IS NULL OR city_code = $city::VARCHAR)"
    " AND ($years::INTEGER[] IS NULL OR year = ANY($years::INTEGER[]))"
)
IN_FORCE = in_force("asked")


# --------------------------------------------------------------------------- per OPD, per indicator
_OPD_CTES = [
    """opd_levels AS (
    SELECT s.city_code, s.opd_code, s.year, yf.fw_seq, a.indicator_code,
           coalesce(v.level, a.level)::DOUBLE PRECISION AS level
    FROM assessments_in_force s JOIN assessments a ON a.submission_id = s.id JOIN year_frameworks yf ON yf.year = s.year
    LEFT JOIN verified v ON v.city_code = s.city_code AND v.year = s.year AND v.indicator_code = a.indicator_code
    WHERE NOT EXISTS (SELECT 1 FROM na_confirmed n
                      WHERE n.city_code = s.city_code AND n.year = s.year AND n.indicator_code = a.indicator_code))""",
    """opd_dimensions AS (
    SELECT l.city_code, l.opd_code, l.year, l.fw_seq, i.dimension,
           sum(i.weight * l.level ORDER BY l.indicator_code COLLATE "C")
             / nullif(sum(i.weight ORDER BY l.indicator_code COLLATE "C"), 0) AS value
    FROM opd_levels l JOIN fw_indicators i ON i.fw_seq = l.fw_seq AND i.code = l.indicator_code
    GROUP BY l.city_code, l.opd_code, l.year, l.fw_seq, i.dimension)""",
    """opd_index AS (
    SELECT d.city_code, d.opd_code, d.year,
           sum(fd.weight * d.value ORDER BY d.dimension COLLATE "C")
             / nullif(sum(fd.weight ORDER BY d.dimension COLLATE "C"), 0) AS value
    FROM opd_dimensions d JOIN fw_dimensions fd ON fd.fw_seq = d.fw_seq AND fd.code = d.dimension
    GROUP BY d.city_code, d.opd_code, d.year)""",
    f"""opd_na_pairs AS (
    SELECT n.city_code, o.opd_code, n.year, count(*) AS pairs
    FROM na_confirmed n JOIN year_frameworks yf ON yf.year = n.year
    JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.code = n.indicator_code
    JOIN opds o ON o.city_code = n.city_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = o.city_code AND oa.opd_code = o.opd_code
    WHERE {answers_for("i", "o.opd_type", "oa")} GROUP BY n.city_code, o.opd_code, n.year)""",
    f"""opd_pairs AS (
    SELECT p.city_code, p.opd_code, p.year, p.pairs - coalesce(np.pairs, 0) AS pairs
    FROM {pair_rows("scored_city_years")} p
    LEFT JOIN opd_na_pairs np ON np.city_code = p.city_code AND np.opd_code = p.opd_code AND np.year = p.year
    WHERE p.opd_code IS NOT NULL)""",
    f"""opd_answered AS (
    SELECT x.city_code, x.opd_code, x.year, count(DISTINCT x.indicator_code) AS answered
    FROM (SELECT s.city_code, s.year, s.opd_code, a.indicator_code
          FROM assessments_in_force s JOIN assessments a ON a.submission_id = s.id
          UNION ALL
          SELECT s.city_code, s.year, s.opd_code, i.code
          FROM metrics_in_force s JOIN year_frameworks yf ON yf.year = s.year
          JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.metric_code = s.metric_code) x
    JOIN year_frameworks yf ON yf.year = x.year
    JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.code = x.indicator_code
    JOIN opds o ON o.city_code = x.city_code AND o.opd_code = x.opd_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = x.city_code AND oa.opd_code = x.opd_code
    WHERE {answers_for("i", "o.opd_type", "oa")}
      AND NOT EXISTS (SELECT 1 FROM na_confirmed n
                      WHERE n.city_code = x.city_code AND n.year = x.year AND n.indicator_code = x.indicator_code)
    GROUP BY x.city_code, x.opd_code, x.year)""",
    """opd_completeness AS (
    SELECT p.city_code, p.opd_code, p.year, p.pairs, coalesce(a.answered, 0) AS answered
    FROM opd_pairs p LEFT JOIN opd_answered a USING (city_code, opd_code, year))""",
    f"""last_uploads AS (
    SELECT city_code, opd_code, year, max(accepted_at) AS last_upload, max(id) AS submission_id
    FROM submissions WHERE {ASKED} GROUP BY city_code, opd_code, year)""",
    """opd_years AS (
    SELECT city_code, opd_code, year FROM opd_completeness
    UNION SELECT city_code, opd_code, year FROM opd_index)""",
]
OPD_SQL = (
    with_ctes(*base_ctes("asked"), IN_FORCE, *_OPD_CTES)
    + """SELECT u.city_code, u.opd_code, o.name, o.opd_type, u.year, x.value AS index,
       coalesce(c.pairs, 0) AS pairs, coalesce(c.answered, 0) AS answered,
       lu.last_upload, lu.submission_id
FROM opd_years u JOIN opds o ON o.city_code = u.city_code AND o.opd_code = u.opd_code
LEFT JOIN opd_index x ON x.city_code = u.city_code AND x.opd_code = u.opd_code AND x.year = u.year
LEFT JOIN opd_completeness c ON c.city_code = u.city_code AND c.opd_code = u.opd_code AND c.year = u.year
LEFT JOIN last_uploads lu ON lu.city_code = u.city_code AND lu.opd_code = u.opd_code AND lu.year = u.year
"""
)

_RESPONSIBLE_COUNTS = f"""responsible_counts AS (
    SELECT cy.city_code, cy.year, i.code, count(*) AS opds
    FROM scored_city_years cy JOIN year_frameworks yf USING (year) JOIN fw_indicators i ON i.fw_seq = yf.fw_seq
    JOIN opds o ON o.city_code = cy.city_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = o.city_code AND oa.opd_code = o.opd_code
    WHERE {answers_for("i", "o.opd_type", "oa")}
    GROUP BY cy.city_code, cy.year, i.code)"""
INDICATOR_SQL = (
    with_ctes(*base_ctes("asked"), EFFECTIVE_LEVELS, _RESPONSIBLE_COUNTS)
    + """SELECT e.city_code, e.year, e.fw_seq, e.code, i.name_id, i.name_en, e.dimension, e.pillar, e.subpillar,
       e.weight, e.effective, e.score_level, e.source, e.verified_level, e.metric_code, e.metric_value,
       e.metric_level, i.metric_unit, i.metric_aggregate, e.metric_direction, e.thresholds,
       e.self_level, e.n_opd, i.opd_types, i.ord, coalesce(r.opds, 0) AS responsible_opds,
       e.metric_basis, e.population, e.per_population, e.na_claims, e.confirmed_na, i.allow_na
FROM effective_levels e JOIN fw_indicators i ON i.fw_seq = e.fw_seq AND i.code = e.code
LEFT JOIN responsible_counts r ON r.city_code = e.city_code AND r.year = e.year AND r.code = e.code
WHERE $city IS NULL OR e.city_code = $city
ORDER BY e.city_code COLLATE "C", i.ord
"""
)

ANSWERS_SQL = """
WITH current_assessments AS (
    SELECT DISTINCT ON (opd_code) id, city_code, opd_code, year, accepted_at, username, file_name FROM submissions
    WHERE kind = 'assessment' AND city_code = $city AND year = $year AND ($opd IS NULL OR opd_code = $opd)
    ORDER BY opd_code, id DESC)
SELECT a.indicator_code, c.opd_code, o.name AS opd_name, a.level, a.evidence, a.note,
       c.id AS submission_id, c.accepted_at, c.username, c.file_name, a.source_row
FROM current_assessments c JOIN assessments a ON a.submission_id = c.id
LEFT JOIN opds o ON o.city_code = c.city_code AND o.opd_code = c.opd_code
ORDER BY a.indicator_code COLLATE "C", c.opd_code COLLATE "C"
"""

LEVELS_SQL = (
    with_ctes(*base_ctes("asked"), EFFECTIVE_LEVELS)
    + """SELECT city_code, year, code, effective, score_level FROM effective_levels
ORDER BY city_code COLLATE "C", code COLLATE "C", year
"""
)

# --------------------------------------------------------------------------- method inputs
METHOD_DIMENSIONS_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT v.city_code, d.code, fd.name_id, fd.name_en, d.method, d.kind, d.min_respondents, d.pillar_weight, fd.weight,
       v.value
FROM method_dimension_values v JOIN method_dimensions d ON d.fw_seq = v.fw_seq AND d.code = v.dimension
JOIN fw_dimensions fd ON fd.fw_seq = d.fw_seq AND fd.code = d.code
ORDER BY v.city_code COLLATE "C", fd.ord
"""
)
METHOD_PILLARS_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT v.city_code, v.dimension, v.pillar, v.value, coalesce(pc.planned, 0) AS planned, coalesce(pc.running, 0) AS running,
       coalesce(pc.excluded, 0) AS excluded, coalesce(pc.not_started, 0) AS not_started,
       coalesce(pc.stalled, 0) AS stalled, coalesce(sc.programmes, 0) AS programmes
FROM method_pillar_values v JOIN fw_pillars fp ON fp.fw_seq = v.fw_seq AND fp.code = v.pillar
LEFT JOIN programme_counts pc
       ON pc.city_code = v.city_code AND pc.year = v.year AND pc.dimension = v.dimension AND pc.pillar = v.pillar
LEFT JOIN (SELECT city_code, year, dimension, pillar, count(*) AS programmes FROM survey_impacts
           WHERE sufficient GROUP BY city_code, year, dimension, pillar) sc
       ON sc.city_code = v.city_code AND sc.year = v.year AND sc.dimension = v.dimension AND sc.pillar = v.pillar
ORDER BY v.city_code COLLATE "C", v.dimension COLLATE "C", fp.ord
"""
)
SURVEYED_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT s.city_code, s.dimension, s.programme_code, rp.name, s.pillar, s.respondents, s.mean_answer, s.impact, s.sufficient
FROM survey_impacts s JOIN register_programmes rp
     ON rp.city_code = s.city_code AND rp.year = s.year AND rp.code = s.programme_code
ORDER BY s.city_code COLLATE "C", s.dimension COLLATE "C", s.programme_code COLLATE "C"
"""
)
IGNORED_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT * FROM (
SELECT rp.city_code, d.code AS dimension, rp.code FROM register_programmes rp
JOIN method_dimensions d ON d.fw_seq = rp.fw_seq AND d.method = 'programmes' AND d.kind = rp.kind
WHERE rp.active AND rp.pillar IS NULL
UNION ALL
SELECT su.city_code, d.code, sp.programme_code
FROM (SELECT u.city_code, u.year, max(u.id) AS upload_id FROM survey_uploads u
      WHERE EXISTS (SELECT 1 FROM scored_city_years s WHERE s.city_code = u.city_code AND s.year = u.year)
      GROUP BY u.city_code, u.year) su
JOIN scored_city_years cy ON cy.city_code = su.city_code AND cy.year = su.year
JOIN survey_programmes sp ON sp.upload_id = su.upload_id
JOIN method_dimensions d ON d.fw_seq = cy.fw_seq AND d.method = 'survey'
WHERE NOT EXISTS (SELECT 1 FROM register_programmes rp
                  WHERE rp.city_code = su.city_code AND rp.year = su.year AND rp.code = sp.programme_code)) x
ORDER BY x.city_code COLLATE "C", x.dimension COLLATE "C", x.code COLLATE "C"
"""
)
NA_SQL = (
    with_ctes(
        *base_ctes("asked"),
        IN_FORCE,
        """claims AS (
    SELECT s.city_code, s.year, n.indicator_code,
           array_agg(ARRAY[s.opd_code, n.reason] ORDER BY s.opd_code COLLATE "C") AS reasons
    FROM assessments_in_force s JOIN assessment_na n ON n.submission_id = s.id
    GROUP BY s.city_code, s.year, n.indicator_code)""",
        """decisions AS (
    SELECT DISTINCT ON (city_code, year, indicator_code) city_code, year, indicator_code, decision, note,
           username AS decided_by, decided_at
    FROM na_decisions WHERE city_code = $city AND year = ANY($years)
    ORDER BY city_code, year, indicator_code, id DESC)""",
    )
    + """SELECT f.indicator_code, f.na_claims, c.reasons, d.decision, d.note, d.decided_by, d.decided_at,
       n.indicator_code IS NOT NULL AS confirmed
FROM facts f JOIN fw_indicators i ON i.fw_seq = f.fw_seq AND i.code = f.indicator_code
LEFT JOIN claims c ON c.city_code = f.city_code AND c.year = f.year AND c.indicator_code = f.indicator_code
LEFT JOIN decisions d ON d.city_code = f.city_code AND d.year = f.year AND d.indicator_code = f.indicator_code
LEFT JOIN na_confirmed n ON n.city_code = f.city_code AND n.year = f.year AND n.indicator_code = f.indicator_code
WHERE f.city_code = $city AND (f.na_claims > 0 OR d.decision IS NOT NULL)
ORDER BY i.ord
"""
)


# --------------------------------------------------------------------------- the what-if
# metrics.store.whatif's query in PostgreSQL's dialect. The candidate's framework rows come as
# JSON parameters ($whatif_<table>), made rows of the table's own row type by
# jsonb_populate_recordset: no temporary table, so the what-if runs on a read-only replica too.
# In PostgreSQL a WITH item's own name, and a later item's, still name the table inside it, so
# `fw_indicators AS (SELECT ... FROM fw_indicators ...)` reads the stored rows; `stored_fw_indicators`
# keeps them readable after the shadowing item.
_SHADOW_FRAMEWORK = [
    "stored_fw_indicators AS NOT MATERIALIZED (SELECT * FROM fw_indicators)",
    *(
        f"""{table} AS (SELECT {columns} FROM {table}
    UNION ALL SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, $whatif_{table}::jsonb))"""
        for table, columns in FRAMEWORK_COLUMNS.items()
    ),
]

_WHATIF_CITY_YEARS = [
    """city_years AS (
    SELECT city_code, year, fw_seq, pairs, (row_number() OVER ())::INTEGER AS city_year_no
    FROM score_cy WHERE year = $year)""",
    facts_cte("city_sizes"),
    """whatif_city_years AS (
    SELECT c.city_code, c.year, c.fw_seq, c.pairs, s.category, s.population
    FROM city_years c JOIN city_sizes s USING (city_year_no))""",
]
_KEPT_COLUMNS = {
    "kept": "",
    "candidate": ", o.metric_code AS kept_metric_code, o.metric_aggregate AS kept_aggregate, false AS new_code",
}
_KEPT_JOIN = {
    "kept": "",
    "candidate": " JOIN stored_fw_indicators o ON o.fw_seq = f.fw_seq AND o.code = f.indicator_code",
}
_KEPT_NONE = {"kept": "", "candidate": ", NULL, NULL, true"}


def _kept(metrics: Reuse) -> str:
    return f"""whatif_kept AS (
    SELECT f.city_code, f.indicator_code, f.self_sum, f.self_n, f.answered, f.metric_value,
           f.na_claims{_KEPT_COLUMNS[metrics]}
    FROM score_facts f{_KEPT_JOIN[metrics]} WHERE f.year = $year
    UNION ALL
    SELECT c.city_code, i.code, NULL, 0, 0, NULL, 0{_KEPT_NONE[metrics]}
    FROM whatif_city_years c JOIN fw_indicators i ON i.fw_seq = $seq
    WHERE NOT EXISTS (SELECT 1 FROM stored_fw_indicators o WHERE o.fw_seq = c.fw_seq AND o.code = i.code))"""


_NEW_METRICS = [
    """whatif_new_metrics AS (
    SELECT DISTINCT i.metric_code FROM fw_indicators i
    WHERE i.fw_seq = $seq AND i.metric_code IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM stored_fw_indicators o
        WHERE EXISTS (SELECT 1 FROM score_cy c WHERE c.fw_seq = o.fw_seq AND c.year = $year)
          AND o.code = i.code AND o.metric_code = i.metric_code AND o.metric_aggregate = i.metric_aggregate))""",
    IN_FORCE,
    facts_cte("metric_aggregates"),
    "framework_of_year AS (SELECT $year::INTEGER AS year, $seq::INTEGER AS fw_seq)",
    facts_cte("metric_answerers"),
]
_METRIC_VALUE = {
    "kept": "k.metric_value",
    "candidate": f"""CASE WHEN k.kept_metric_code = i.metric_code AND k.kept_aggregate = i.metric_aggregate
                THEN k.metric_value ELSE {METRIC_VALUE} END""",
}
_ANSWERED = {
    "kept": "k.answered",
    "candidate": "CASE WHEN k.new_code THEN coalesce(m.opds, 0) ELSE k.answered END",
}
_METRIC_JOIN = {
    "kept": "",
    "candidate": """
    LEFT JOIN (SELECT * FROM metric_aggregates WHERE metric_code IN (SELECT metric_code FROM whatif_new_metrics)) ma
           ON ma.city_code = c.city_code AND ma.year = c.year AND ma.metric_code = i.metric_code
    LEFT JOIN metric_answerers m ON m.city_code = c.city_code AND m.year = c.year AND m.code = i.code""",
}
_SCORE_CY = {
    "kept": "score_cy AS (SELECT city_code, year, $seq::INTEGER AS fw_seq, pairs FROM whatif_city_years)",
    "candidate": f"""score_cy AS (
    SELECT c.city_code, c.year, $seq::INTEGER AS fw_seq, coalesce(sum(p.pairs), 0) AS pairs
    FROM whatif_city_years c
    LEFT JOIN {pair_rows("(SELECT city_code, year, $seq::INTEGER AS fw_seq FROM whatif_city_years)")} p
      ON p.city_code = c.city_code AND p.year = c.year
    GROUP BY c.city_code, c.year)""",
}


def whatif_sql(metrics: Reuse, pairs: Reuse) -> str:
    """metrics.store.whatif.whatif_sql in PostgreSQL's dialect."""
    facts_raw = f"""facts_raw AS (
    SELECT c.city_code, c.year, $seq::INTEGER AS fw_seq, i.code, k.self_sum, k.self_n, {_ANSWERED[metrics]} AS answered,
           i.ord, CASE WHEN k.self_n > 0 THEN k.self_sum / k.self_n END AS self_level,
           {_METRIC_VALUE[metrics]} AS metric_value,
           fw.scale_min, coalesce(ct.thresholds, i.thresholds) AS thresholds, i.metric_direction,
           i.per_population, c.population,
           CASE WHEN i.allow_na THEN k.na_claims ELSE 0 END AS na_claims
    FROM whatif_kept k JOIN whatif_city_years c ON c.city_code = k.city_code
    JOIN fw_indicators i ON i.fw_seq = $seq AND i.code = k.indicator_code
    JOIN frameworks fw ON fw.seq = $seq
    LEFT JOIN fw_category_thresholds ct
           ON ct.fw_seq = $seq AND ct.indicator_code = i.code AND ct.category = c.category{_METRIC_JOIN[metrics]})"""
    return (
        with_ctes(
            *_SHADOW_FRAMEWORK,
            *_WHATIF_CITY_YEARS,
            _kept(metrics),
            *(_NEW_METRICS if metrics == "candidate" else []),
            facts_raw,
            facts_cte("facts_scaled"),
            facts_cte("facts_levelled"),
            _SCORE_CY[pairs],
            f"score_facts AS ({SCORE_FACTS_SELECT})",
            f"score_parts AS ({parts_of('(' + level_input('score_facts') + ')')})",
            *base_ctes("asked"),
            *score_ctes("asked"),
        )
        + WIDE_SELECT
    )


WHATIF_SQL: dict[tuple[Reuse, Reuse], str] = {
    (m, p): whatif_sql(m, p) for m in ("kept", "candidate") for p in ("kept", "candidate")
}


def _json_rows(columns: str, rows: list[list[Any]]) -> str:
    """Rows as the JSON array of objects jsonb_populate_recordset reads (keys: column names)."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date | datetime) else value

    names = columns.split(", ")
    return json.dumps(
        [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in rows], allow_nan=False
    )


def _result_columns(cur: PgCursor) -> dict[str, list[Any]]:
    """A result's columns (what scores._columns gives on DuckDB, without a pass through Arrow)."""
    names = cur.columns()
    rows = cur.fetchall()
    return {name: [r[n] for r in rows] for n, name in enumerate(names)}


# --------------------------------------------------------------------------- the reads
class PgScoreReads(WhatIf, Scores, PgConnection):
    """The scoring reads, the upload preview and the what-if on PostgreSQL."""

    def opd_score_rows(self, years: list[int] | None, city: str | None) -> list[Row]:
        with self.cursor() as cur:
            return cur.execute(OPD_SQL, {"years": years, "city": city}).fetchall()

    def indicator_rows(self, year: int, city: str | None) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            return _dicts(cur.execute(INDICATOR_SQL, {"years": [year], "city": city}))  # type: ignore[arg-type]

    def answer_rows(self, year: int, city: str, opd: str | None = None) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            return _dicts(cur.execute(ANSWERS_SQL, {"year": year, "city": city, "opd": opd}))  # type: ignore[arg-type]

    def method_input_rows(self, year: int, city: str | None) -> dict[str, list[dict[str, Any]]]:
        asked = {"years": [year], "city": city}
        with self.cursor() as cur:
            # one snapshot for the four reads, as one DuckDB connection sees
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                return {
                    "dimensions": _dicts(cur.execute(METHOD_DIMENSIONS_SQL, asked)),  # type: ignore[arg-type]
                    "pillars": _dicts(cur.execute(METHOD_PILLARS_SQL, asked)),  # type: ignore[arg-type]
                    "surveyed": _dicts(cur.execute(SURVEYED_SQL, asked)),  # type: ignore[arg-type]
                    "ignored": _dicts(cur.execute(IGNORED_SQL, asked)),  # type: ignore[arg-type]
                }
            finally:
                cur.rollback()

    def na_indicator_rows(self, year: int, city: str) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            return _dicts(cur.execute(NA_SQL, {"years": [year], "city": city}))  # type: ignore[arg-type]

    def level_history(self, city: str | None, years: list[int]) -> list[Row]:
        with self.cursor() as cur:
            return cur.execute(LEVELS_SQL, {"years": years, "city": city}).fetchall()

    def scores_if(
        self, batch: SubmissionBatch, username: str, city: str, year: int
    ) -> tuple[dict[str, list[Any]], list[Row]]:
        """Scores.scores_if on PostgreSQL: the batch written and the city's score tables rebuilt
        in a transaction that is always rolled back. The city's lock is taken first, as a write
        would take it, so a preview never meets a writer's half-rebuilt rows of that city."""
        import psycopg

        asked = {"years": [year], "city": city}
        with self.cursor() as cur:
            cur.begin()
            try:
                self.lock_cities(cur, {city})
                self.insert_submissions(cur, batch, username, None, None, "preview")  # type: ignore[attr-defined]
                table = _result_columns(cur.execute(SCORE_CITY_READ, asked))
                opd_rows = cur.execute(OPD_SQL, asked).fetchall()
            finally:
                with suppress(psycopg.Error):
                    cur.rollback()
        return table, opd_rows

    def whatif_score_table(self, fw: Framework, year: int) -> dict[str, list[Any]]:
        """WhatIf.whatif_score_table on PostgreSQL: one REPEATABLE READ snapshot, the candidate's
        rows as JSON parameters, nothing written."""
        candidate = dataclasses.replace(fw, applies_from=year)
        with self.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                row = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM frameworks").fetchone()
                seq = int(row[0]) if row else 1
                rows = framework_rows(candidate, seq)
                stored = cur.execute(_YEAR_INDICATORS, {"year": year}).fetchall()
                metrics, pairs = _reuse(stored, rows)
                params: dict[str, Any] = {"year": year, "years": [year], "city": None, "seq": seq}
                for table, table_rows in rows.tables().items():
                    params[f"whatif_{table}"] = _json_rows(FRAMEWORK_COLUMNS[table], table_rows)
                return _result_columns(cur.execute(WHATIF_SQL[metrics, pairs], params))
            finally:
                cur.rollback()
