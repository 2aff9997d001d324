"""Scores of a year under a candidate framework, from the kept per-indicator facts: the what-if.

Nothing is written: the candidate's framework rows are handed to DuckDB as in-memory tables and
shadow the stored framework of that year inside one read query, which runs the scoring SQL of
metrics.store.score_sql over score_facts re-levelled under the candidate (no pass over the raw
answers), so the preview follows the very rules a loaded framework would.

How the query is built (CTEs named like a table shadow it for the rest of the query):
- frameworks, fw_dimensions, fw_pillars, fw_indicators, fw_category_thresholds: the stored rows
  (read as `main.<table>`) plus the candidate's (metrics.store.frameworks.framework_rows, the one
  rule of how a framework becomes rows), under a load sequence number above every stored one and
  applying from the year, so that it is the year's framework in force;
- facts_raw: per city-year of the year in score_cy and indicator of the CANDIDATE, what the kept
  facts say of that indicator code (self-assessments, answering OPDs, "tidak berlaku" claims; a
  new code has none), the metric value kept when the indicator keeps its metric and aggregate,
  else its aggregate of the year's metric values in force (score_sql's metric_aggregates), and
  the candidate's thresholds for the city's category and the city's population (city_sizes);
  then score_sql's own facts_scaled, facts_levelled and SCORE_FACTS_SELECT level it, as a
  rebuild would;
- score_cy (pairs: kept, or pair_rows under the candidate's indicators and OPD types),
  score_facts and score_parts shadow the tables, and score_sql's base_ctes, score_ctes and
  WIDE_SELECT finish the scores (verifications, confirmed N/A, and the programme and survey
  dimensions follow the candidate's dimensions).
Whether metric values and pairs are recomputed is decided before the query (`_reuse`): when no
indicator changes them, the kept ones are read and that part of the query is left out.

What the kept facts cannot know, so the preview keeps as the stored framework counted it: the
OPDs that answered an indicator whose metric or OPD types the candidate changes (completeness
only, never a level or a score; a new indicator code's are the responsible OPDs reporting its
metric, as a load counts them).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

from metrics.store import score_sql as sql
from metrics.store.connection import Connection
from metrics.store.frameworks import FRAMEWORK_COLUMNS, FrameworkRows, framework_rows
from metrics.store.scores import _columns

if TYPE_CHECKING:
    from metrics.framework import Framework

# The in-memory relation each framework table's candidate rows are registered as.
_CANDIDATE = {table: f"whatif_{table}" for table in FRAMEWORK_COLUMNS}

_SHADOW_FRAMEWORK = [
    f"""{table} AS (SELECT {columns} FROM main.{table}
    UNION ALL SELECT {columns} FROM {_CANDIDATE[table]})"""
    for table, columns in FRAMEWORK_COLUMNS.items()
]

# Which of the year's kept facts still hold under the candidate decides how much is recomputed:
# "kept" when every indicator keeps its metric and aggregate (and, for pairs, its OPD types),
# else the candidate's metric values (from the year's metric values in force) and pairs.
Reuse = Literal["kept", "candidate"]

_CITY_YEARS = [
    """city_years AS (  -- the city-years of $year with a submission in force, numbered for city_sizes
    SELECT city_code, year, fw_seq, pairs, (row_number() OVER ())::INTEGER AS city_year_no
    FROM main.score_cy WHERE year = $year)""",
    sql.facts_cte("city_sizes"),
    """whatif_city_years AS (  -- with the category whose thresholds apply and the population
    SELECT c.city_code, c.year, c.fw_seq, c.pairs, s.category, s.population
    FROM city_years c JOIN city_sizes s USING (city_year_no))""",
]
# Per city-year of $year and indicator: the kept facts (those of an indicator the candidate drops
# fall out when joined to its indicators), and a row of no answers per indicator code the year's
# framework did not have. (Kept rows probe small tables in facts_raw rather than meeting the
# candidate's city x indicator grid in one large join.)
_KEPT_COLUMNS = {
    "kept": "",
    "candidate": ", o.metric_code AS kept_metric_code, o.metric_aggregate AS kept_aggregate, false AS new_code",
}
_KEPT_JOIN = {
    "kept": "",
    "candidate": " JOIN main.fw_indicators o ON o.fw_seq = f.fw_seq AND o.code = f.indicator_code",
}
_KEPT_NONE = {"kept": "", "candidate": ", NULL, NULL, true"}


def _kept(metrics: Reuse) -> str:
    return f"""whatif_kept AS (
    SELECT f.city_code, f.indicator_code, f.self_sum, f.self_n, f.answered, f.metric_value,
           f.na_claims{_KEPT_COLUMNS[metrics]}
    FROM main.score_facts f{_KEPT_JOIN[metrics]} WHERE f.year = $year
    UNION ALL
    SELECT c.city_code, i.code, NULL, 0, 0, NULL, 0{_KEPT_NONE[metrics]}
    FROM whatif_city_years c JOIN fw_indicators i ON i.fw_seq = $seq
    ANTI JOIN main.fw_indicators o ON o.fw_seq = c.fw_seq AND o.code = i.code)"""


# the metrics some indicator scores otherwise than the kept facts did (another metric or
# aggregate), aggregated afresh from the year's metric values in force
_NEW_METRICS = [
    """whatif_new_metrics AS (
    SELECT DISTINCT i.metric_code FROM fw_indicators i
    WHERE i.fw_seq = $seq AND i.metric_code IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM main.fw_indicators o SEMI JOIN main.score_cy c ON c.fw_seq = o.fw_seq AND c.year = $year
        WHERE o.code = i.code AND o.metric_code = i.metric_code AND o.metric_aggregate = i.metric_aggregate))""",
    sql.in_force("asked"),
    sql.facts_cte("metric_aggregates"),
    # (a new indicator code's answering OPDs: the responsible ones reporting its metric)
    "framework_of_year AS (SELECT $year AS year, $seq AS fw_seq)",
    sql.facts_cte("metric_answerers"),
]
_METRIC_VALUE = {
    "kept": "k.metric_value",
    "candidate": f"""CASE WHEN k.kept_metric_code = i.metric_code AND k.kept_aggregate = i.metric_aggregate
                THEN k.metric_value ELSE {sql.METRIC_VALUE} END""",
}
_ANSWERED = {
    "kept": "k.answered",
    "candidate": "CASE WHEN k.new_code THEN coalesce(m.opds, 0) ELSE k.answered END",
}
_METRIC_JOIN = {
    "kept": "",
    "candidate": """
    LEFT JOIN (SELECT * FROM metric_aggregates SEMI JOIN whatif_new_metrics USING (metric_code)) ma
           ON ma.city_code = c.city_code AND ma.year = c.year AND ma.metric_code = i.metric_code
    LEFT JOIN metric_answerers m ON m.city_code = c.city_code AND m.year = c.year AND m.code = i.code""",
}
_SCORE_CY = {
    "kept": "score_cy AS (SELECT city_code, year, $seq AS fw_seq, pairs FROM whatif_city_years)",
    "candidate": f"""score_cy AS (  -- pairs under the candidate's OPD types
    SELECT c.city_code, c.year, $seq AS fw_seq, coalesce(sum(p.pairs), 0) AS pairs
    FROM whatif_city_years c
    LEFT JOIN {sql.pair_rows("(SELECT city_code, year, $seq AS fw_seq FROM whatif_city_years)")} p
      ON p.city_code = c.city_code AND p.year = c.year
    GROUP BY ALL)""",
}


def whatif_sql(metrics: Reuse, pairs: Reuse) -> str:
    """The what-if query (see the module docstring): `metrics` kept when no indicator changes its
    metric or aggregate, `pairs` kept when no indicator changes its OPD types or code."""
    facts_raw = f"""facts_raw AS (  -- every indicator of the candidate for every city-year of $year
    SELECT c.city_code, c.year, $seq AS fw_seq, i.code, k.self_sum, k.self_n, {_ANSWERED[metrics]} AS answered, i.ord,
           CASE WHEN k.self_n > 0 THEN k.self_sum / k.self_n END AS self_level,
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
        sql.with_ctes(
            *_SHADOW_FRAMEWORK,
            *_CITY_YEARS,
            _kept(metrics),
            *(_NEW_METRICS if metrics == "candidate" else []),
            facts_raw,
            sql.facts_cte("facts_scaled"),
            sql.facts_cte("facts_levelled"),
            _SCORE_CY[pairs],
            f"score_facts AS ({sql.SCORE_FACTS_SELECT})",
            f"score_parts AS ({sql.parts_of('(' + sql.level_input('score_facts') + ')')})",
            *sql.base_ctes("asked"),
            *sql.score_ctes("asked"),
        )
        + sql.WIDE_SELECT
    )


# Every variant, composed once at import.
WHATIF_SQL: dict[tuple[Reuse, Reuse], str] = {
    (m, p): whatif_sql(m, p) for m in ("kept", "candidate") for p in ("kept", "candidate")
}
# The year's framework's indicators as the kept facts were built by them (all city-years of a
# year share the framework in force).
_YEAR_INDICATORS = """SELECT i.code, i.opd_types, i.metric_code, i.metric_aggregate FROM fw_indicators i
    WHERE i.fw_seq = (SELECT max(fw_seq) FROM score_cy WHERE year = $year)"""


def _reuse(stored: list[tuple[Any, ...]], rows: FrameworkRows) -> tuple[Reuse, Reuse]:
    """Whether the kept metric values and pairs hold under the candidate `rows`, given the
    `stored` (code, opd_types, metric_code, metric_aggregate) of the year's framework: metric
    values when every candidate indicator has the metric and aggregate its code had (none for a
    new code), pairs when the indicators and their OPD types are the same."""
    old_types = {r[0]: sorted(r[1]) for r in stored}
    old_metrics = {r[0]: (r[2], r[3]) for r in stored}
    # (FRAMEWORK_COLUMNS order: code 1, opd_types 6, metric_code 9, metric_aggregate 11)
    new_types = {r[1]: sorted(r[6]) for r in rows.fw_indicators}
    new_metrics = {r[1]: (r[9], r[11]) for r in rows.fw_indicators}
    same_metrics = all(old_metrics.get(code, (None, None)) == m for code, m in new_metrics.items())
    same_pairs = old_types == new_types
    return ("kept" if same_metrics else "candidate"), ("kept" if same_pairs else "candidate")


class WhatIf(Connection):
    """The what-if read (see the module docstring)."""

    def whatif_score_table(self, fw: Framework, year: int) -> dict[str, list[Any]]:
        """Columns as score_table() gives them, of every city scored in `year`, as they would be
        with `fw` loaded to apply from `year` (fw_seq: a number above every loaded framework's)."""
        import pyarrow as pa

        candidate = dataclasses.replace(fw, applies_from=year)
        with self.cursor() as cur:
            # a read transaction: the sequence number, the year's framework and the facts are
            # read at one moment
            cur.begin()
            try:
                row = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM frameworks").fetchone()
                seq = int(row[0]) if row else 1
                rows = framework_rows(candidate, seq)
                stored = cur.execute(_YEAR_INDICATORS, {"year": year}).fetchall()
                metrics, pairs = _reuse(stored, rows)
                for table, table_rows in rows.tables().items():
                    names = FRAMEWORK_COLUMNS[table].split(", ")
                    columns = {name: pa.array([r[n] for r in table_rows]) for n, name in enumerate(names)}
                    cur.register(_CANDIDATE[table], pa.table(columns))
                params = {"year": year, "years": [year], "city": None, "seq": seq}
                return _columns(cur.execute(WHATIF_SQL[metrics, pairs], params))
            finally:
                cur.rollback()
