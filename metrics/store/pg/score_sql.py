"""The scoring rules as SQL in PostgreSQL's dialect: metrics.store.score_sql, fragment for fragment.

What the derived tables hold, and why each fragment is shaped as it is, is said once, in
metrics.store.score_sql (DuckDB): every fragment here has the name of its DuckDB counterpart and
states the same rule, so the two can be read side by side. What differs is the dialect only:
- QUALIFY row_number() ... = 1 and arg_max(x, key): DISTINCT ON (...) ORDER BY ..., key DESC;
- GROUP BY ALL: the columns named; SEMI/ANTI JOIN: EXISTS/NOT EXISTS;
- list(x), list_sort(list(...)): array_agg(x), array_agg(x ORDER BY x COLLATE "C") (DuckDB sorts
  text by its bytes, as the "C" collation does, whatever the database's default collation);
- list_contains(l, x): x = ANY(l); list_has_any(a, b): a && b;
- len(list_filter(l, t -> cond)): a count over unnest(l) WHERE cond;
- a list of structs unnested per row (each part an indicator counts in): a LATERAL VALUES list;
- any_value(x) (PostgreSQL 16+) of a value that is the same in the whole group: min(x);
- integer / integer is integer division in PostgreSQL: one side cast to DOUBLE PRECISION;
- every subquery in FROM is named (PostgreSQL 15 requires it).
Parameters keep DuckDB's names ($cities, $years, $city, $year), cast where PostgreSQL could not
infer their type; metrics.store.pg.connection.PgCursor binds them. Every statement is fixed text.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from metrics.store.pg.schema import _V9
from metrics.store.score_sql import (
    DERIVED_TABLES,
    FINISHED_TABLE,
    SCORE_CITY_COLUMNS,
    SCORE_TABLES,
    SubmissionScope,
    with_ctes,
)

# Which scores a scoring query computes: score_sql.ScoreScope's, and "target", the city-years in
# the paired $cities/$years lists (after a write, only the city-years it changed are scored anew).
ScoreScope = Literal["asked", "cities", "all", "target"]

__all__ = [
    "CITY_YEARS",
    "DERIVED_TABLES",
    "EFFECTIVE_LEVELS",
    "FACTS_CTES",
    "FINISHED_TABLE",
    "METHOD_CTES",
    "METRIC_VALUE",
    "OPD_ASSIGNED",
    "SCORE_CITY_COLUMNS",
    "SCORE_CITY_READ",
    "SCORE_CY_SELECT",
    "SCORE_FACTS_SELECT",
    "SCORE_TABLES",
    "SCORE_TABLES_DDL",
    "SCORE_TABLES_VERSION",
    "TARGET_CITY_YEARS",
    "WIDE_SELECT",
    "ScoreScope",
    "SubmissionScope",
    "answers_for",
    "base_ctes",
    "delete_target_sql",
    "facts_cte",
    "framework_of_year",
    "in_force",
    "in_target",
    "level_input",
    "pair_rows",
    "parts_of",
    "raw_table_ctes",
    "refresh_ctes",
    "refresh_sql",
    "score_city_insert",
    "score_ctes",
    "score_raw_sql",
    "score_tables_version",
    "score_wide_sql",
    "with_ctes",
]


def _derived_ddl() -> tuple[str, ...]:
    """The derived tables' DDL and indexes, as the PostgreSQL schema states them."""
    return tuple(
        stmt
        for stmt in _V9
        for t in DERIVED_TABLES
        if stmt.startswith(f"CREATE TABLE IF NOT EXISTS {t}(")
        or (stmt.startswith("CREATE INDEX") and f" ON {t}(" in stmt)
    )


# What metrics.store.pg.scores creates anew when the tables were built by other SQL.
SCORE_TABLES_DDL = _derived_ddl()

# The text both a city code's and a part code's order follow: DuckDB's (bytes).
BYTES = 'COLLATE "C"'

# --------------------------------------------------------------------------- shared fragments
TARGET_CITY_YEARS = """target_city_years AS (SELECT DISTINCT city_code, year
        FROM unnest($cities::VARCHAR[], $years::INTEGER[]) AS t(city_code, year))"""


def in_target(alias: str) -> str:
    """Whether the row `alias` is of a city-year in TARGET_CITY_YEARS. (The city and year each
    among the lists' as well: conditions an index on (city_code, year) serves, in a plan made
    once for any lists; the pairs then decide.)"""
    a = f"{alias}." if alias else ""
    return (
        f"{a}city_code = ANY($cities::VARCHAR[]) AND {a}year = ANY($years::INTEGER[])"
        f" AND EXISTS (SELECT 1 FROM target_city_years t WHERE t.city_code = {a}city_code AND t.year = {a}year)"
    )


_SUBMISSION_WHERE: dict[SubmissionScope, str] = {
    "all": "",
    "target": " AND " + in_target("s"),
    "asked": " AND ($city::VARCHAR IS NULL OR s.city_code = $city::VARCHAR)"
    " AND ($years::INTEGER[] IS NULL OR s.year = ANY($years::INTEGER[]))",
}


def in_force(scope: SubmissionScope) -> str:
    """The CTEs `assessments_in_force` and `metrics_in_force` (score_sql.in_force): the newest
    submission per city/OPD/year (and metric), by DISTINCT ON instead of QUALIFY."""
    where = _SUBMISSION_WHERE[scope]
    return f"""assessments_in_force AS (
    SELECT DISTINCT ON (s.city_code, s.opd_code, s.year) s.id, s.city_code, s.opd_code, s.year FROM submissions s
    WHERE s.kind = 'assessment'{where}
    ORDER BY s.city_code, s.opd_code, s.year, s.id DESC),
metrics_in_force AS (
    SELECT DISTINCT ON (s.city_code, s.opd_code, s.metric_code, s.year)
           s.id, s.city_code, s.opd_code, s.year, s.metric_code FROM submissions s
    WHERE s.kind = 'metric'{where}
    ORDER BY s.city_code, s.opd_code, s.metric_code, s.year, s.id DESC)"""


def framework_of_year(name: str, city_years: str) -> str:
    """The CTE `name` (score_sql.framework_of_year): per year of `city_years`, the framework
    with the latest applies_from not after it, the last loaded among equals."""
    return f"""{name} AS (
    SELECT DISTINCT ON (y.year) y.year, f.seq AS fw_seq
    FROM (SELECT DISTINCT year FROM {city_years}) y JOIN frameworks f ON f.applies_from <= y.year
    ORDER BY y.year, f.applies_from DESC, f.seq DESC)"""


OPD_ASSIGNED = """(SELECT city_code, opd_code, array_agg(indicator_code) AS assigned_codes FROM opd_assignments
    GROUP BY city_code, opd_code)"""


def answers_for(indicator: str, opd_type: str, assigned: str) -> str:
    """Whether the OPD answers for the indicator (score_sql.answers_for)."""
    return (
        f"coalesce({opd_type} = ANY({indicator}.opd_types)"
        f" OR {indicator}.code = ANY({assigned}.assigned_codes), false)"
    )


def pair_rows(city_years: str) -> str:
    """A subquery: the (indicator, responsible OPD) pairs of `city_years`, counted
    (score_sql.pair_rows)."""
    return f"""(
    WITH pair_city_years AS (SELECT DISTINCT city_code, year, fw_seq FROM {city_years} pcy),
    city_opds AS (SELECT o.city_code, o.opd_code, o.opd_type  -- (read by city: see register_programmes)
                  FROM (SELECT DISTINCT city_code FROM pair_city_years) pc
                  CROSS JOIN LATERAL (SELECT o.city_code, o.opd_code, o.opd_type FROM opds o
                                      WHERE o.city_code = pc.city_code OFFSET 0) o),
    assigned AS (SELECT a.city_code, a.opd_code, a.indicator_code FROM opd_assignments a
                 WHERE EXISTS (SELECT 1 FROM city_opds o WHERE o.city_code = a.city_code AND o.opd_code = a.opd_code)),
    type_counts AS (SELECT i.fw_seq, t.opd_type, count(*) AS indicators
                FROM fw_indicators i CROSS JOIN LATERAL (SELECT DISTINCT x FROM unnest(i.opd_types) x) t(opd_type)
                WHERE i.fw_seq IN (SELECT fw_seq FROM pair_city_years) GROUP BY i.fw_seq, t.opd_type),
    city_types AS (SELECT city_code, array_agg(DISTINCT opd_type) AS types FROM city_opds GROUP BY city_code)
    SELECT city_code, year, fw_seq, opd_code, sum(pairs) AS pairs FROM (
        SELECT pc.city_code, pc.year, pc.fw_seq, o.opd_code, tc.indicators AS pairs FROM pair_city_years pc
        JOIN city_opds o ON o.city_code = pc.city_code
        JOIN type_counts tc ON tc.fw_seq = pc.fw_seq AND tc.opd_type = o.opd_type
        UNION ALL
        SELECT pc.city_code, pc.year, pc.fw_seq, o.opd_code, 1 FROM pair_city_years pc
        JOIN assigned a ON a.city_code = pc.city_code
        JOIN city_opds o ON o.city_code = a.city_code AND o.opd_code = a.opd_code
        JOIN fw_indicators i ON i.fw_seq = pc.fw_seq AND i.code = a.indicator_code
        WHERE NOT (o.opd_type = ANY(i.opd_types))
        UNION ALL
        SELECT pc.city_code, pc.year, pc.fw_seq, NULL, 1 FROM pair_city_years pc
        JOIN fw_indicators i ON i.fw_seq = pc.fw_seq
        LEFT JOIN city_types ct ON ct.city_code = pc.city_code
        WHERE NOT coalesce(i.opd_types && ct.types, false)
          AND NOT EXISTS (SELECT 1 FROM assigned a WHERE a.city_code = pc.city_code AND a.indicator_code = i.code)
        ) pr
    GROUP BY city_code, year, fw_seq, opd_code)"""


# One row per indicator row `x` and each of the parts it counts in (its dimension, pillar,
# sub-pillar, and the total), as `part` (kind, code): score_sql._EACH_PART's struct list.
_EACH_PART = """CROSS JOIN LATERAL (VALUES ('dimension', x.dimension), ('pillar', x.pillar),
                        ('subpillar', x.subpillar), ('total', '*')) AS part(kind, code)"""


def level_input(facts: str, *, targeted: bool = False, changed: bool = False) -> str:
    """A query: rows of score_facts-like `facts` with weight, parts and `score_level`
    (score_sql.level_input; `targeted`, `changed` as there)."""
    changed_cols = (
        "v.level AS verified_level, n.indicator_code IS NOT NULL AS confirmed_na, " if changed else ""
    )
    changed_join = (
        """
    LEFT JOIN verified v ON v.city_code = f.city_code AND v.year = f.year AND v.indicator_code = f.indicator_code
    LEFT JOIN na_confirmed n ON n.city_code = f.city_code AND n.year = f.year AND n.indicator_code = f.indicator_code"""
        if changed
        else ""
    )
    where = []
    if targeted:
        where.append(in_target("f"))
    if changed:
        where.append("(v.level IS NOT NULL OR n.indicator_code IS NOT NULL)")
    where_sql = ("\n    WHERE " + " AND ".join(where)) if where else ""
    return f"""
    SELECT {changed_cols}f.city_code, f.year, f.fw_seq, f.unverified_source, f.answered, i.weight,
           i.dimension, i.pillar, i.subpillar,
           CASE WHEN f.unverified_level IS NOT NULL THEN f.unverified_level
                WHEN fw.missing = 'zero' THEN fw.scale_min::DOUBLE PRECISION END AS score_level
    FROM {facts} f JOIN fw_indicators i ON i.fw_seq = f.fw_seq AND i.code = f.indicator_code
    JOIN frameworks fw ON fw.seq = f.fw_seq{changed_join}{where_sql}"""


def parts_of(levels: str) -> str:
    """A query: the rows of `levels` (shaped by level_input) summed per city-year and part
    (score_sql.parts_of). `levels` is a relation name or a parenthesised query."""
    return f"""
    SELECT x.city_code, x.year, x.fw_seq, part.kind AS kind, part.code AS code,
           coalesce(sum(x.weight * x.score_level), 0) AS weighted_levels,
           coalesce(sum(CASE WHEN x.score_level IS NOT NULL THEN x.weight END), 0) AS weights,
           count(*) AS indicators, count(*) FILTER (WHERE x.unverified_source = 'missing') AS missing,
           sum(x.answered) AS answered
    FROM {levels} x {_EACH_PART}
    WHERE part.code IS NOT NULL
    GROUP BY x.city_code, x.year, x.fw_seq, part.kind, part.code"""


# --------------------------------------------------------------------------- the answer tables
CITY_YEARS = """city_years AS (  -- the city-years with a submission in force, numbered
    SELECT city_code, year, (row_number() OVER ())::INTEGER AS city_year_no FROM (
        SELECT city_code, year FROM assessments_in_force UNION SELECT city_code, year FROM metrics_in_force) u)"""


def refresh_ctes(scope: Literal["all", "target"]) -> list[str]:
    """The CTEs every answer table is built from (score_sql.refresh_ctes)."""
    head = [TARGET_CITY_YEARS] if scope == "target" else []
    return [*head, in_force(scope), CITY_YEARS, framework_of_year("framework_of_year", "city_years")]


SCORE_CY_SELECT = f"""
SELECT c.city_code, c.year, fy.fw_seq, coalesce(sum(p.pairs), 0) AS pairs
FROM city_years c JOIN framework_of_year fy USING (year)
LEFT JOIN {pair_rows("(SELECT c.city_code, c.year, fy.fw_seq FROM city_years c JOIN framework_of_year fy USING (year))")} p
  ON p.city_code = c.city_code AND p.year = c.year
GROUP BY c.city_code, c.year, fy.fw_seq"""

METRIC_VALUE = """CASE i.metric_aggregate WHEN 'mean' THEN ma.a_mean WHEN 'sum' THEN ma.a_sum WHEN 'last' THEN ma.a_last
                WHEN 'min' THEN ma.a_min WHEN 'max' THEN ma.a_max END"""

FACTS_CTES = (
    """opd_metric_sets AS (  -- the service metrics each OPD reports in force, per city-year
    SELECT city_code, year, opd_code,
           array_agg(DISTINCT metric_code ORDER BY metric_code) FILTER (WHERE metric_code IS NOT NULL) AS metric_codes
    FROM metrics_in_force GROUP BY city_code, year, opd_code)""",
    f"""answer_keys AS (  -- assessment submissions in force, keyed by what decides how their answers count
    SELECT s.id, c.city_year_no, fy.fw_seq, o.opd_type, ms.metric_codes, oa.assigned_codes,
           (dense_rank() OVER (ORDER BY fy.fw_seq, o.opd_type, ms.metric_codes, oa.assigned_codes))::INTEGER
             AS rule_key
    FROM assessments_in_force s JOIN city_years c ON c.city_code = s.city_code AND c.year = s.year
    JOIN framework_of_year fy ON fy.year = s.year
    LEFT JOIN opds o ON o.city_code = s.city_code AND o.opd_code = s.opd_code
    LEFT JOIN opd_metric_sets ms ON ms.city_code = s.city_code AND ms.year = s.year AND ms.opd_code = s.opd_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = s.city_code AND oa.opd_code = s.opd_code)""",
    f"""indicator_rules AS (  -- per key, every indicator of the framework: its number, whether the
                         -- OPD answers for it, and whether the OPD also reports its metric
    SELECT k.rule_key, i.code, i.ord AS indicator_no, {answers_for("i", "k.opd_type", "k")} AS responsible,
           {answers_for("i", "k.opd_type", "k")}
             AND coalesce(i.metric_code = ANY(k.metric_codes), false) AS by_metric_too
    FROM (SELECT DISTINCT rule_key, fw_seq, opd_type, metric_codes, assigned_codes FROM answer_keys) k
    JOIN fw_indicators i ON i.fw_seq = k.fw_seq)""",
    """self_assessed AS (  -- (answers to indicators outside the year's framework get no number)
    SELECT k.city_year_no, r.indicator_no, sum(a.level)::DOUBLE PRECISION AS self_sum, count(*) AS self_n,
           count(*) FILTER (WHERE r.responsible) AS answered, count(*) FILTER (WHERE r.by_metric_too) AS also_metric
    FROM answer_keys k JOIN assessments a ON a.submission_id = k.id
    LEFT JOIN indicator_rules r ON r.rule_key = k.rule_key AND r.code = a.indicator_code
    GROUP BY k.city_year_no, r.indicator_no)""",
    f"""metric_answerers AS (  -- responsible OPDs reporting a metric that scores an indicator
    SELECT s.city_code, s.year, i.code, count(DISTINCT s.opd_code) AS opds
    FROM metrics_in_force s JOIN framework_of_year fy ON fy.year = s.year
    JOIN fw_indicators i ON i.fw_seq = fy.fw_seq AND i.metric_code = s.metric_code
    JOIN opds o ON o.city_code = s.city_code AND o.opd_code = s.opd_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = s.city_code AND oa.opd_code = s.opd_code
    WHERE {answers_for("i", "o.opd_type", "oa")}
    GROUP BY s.city_code, s.year, i.code)""",
    """metric_aggregates AS (  -- each metric's values in force, aggregated every way a framework may ask;
    -- 'last' is the mean of the values of the latest period (several OPDs may report that period)
    SELECT city_code, year, metric_code, avg(value) AS a_mean, sum(value) AS a_sum,
           avg(value) FILTER (WHERE period = last_period) AS a_last, min(value) AS a_min, max(value) AS a_max
    FROM (SELECT s.city_code, s.year, s.metric_code, v.value, v.period,
                 max(v.period) OVER (PARTITION BY s.city_code, s.year, s.metric_code) AS last_period
          FROM metrics_in_force s JOIN metric_values v ON v.submission_id = s.id) mv
    GROUP BY city_code, year, metric_code)""",
    """na_claimed AS (  -- "tidak berlaku" answers in the assessments in force, per city-year and indicator
    SELECT k.city_year_no, n.indicator_code, count(*) AS claims
    FROM answer_keys k JOIN assessment_na n ON n.submission_id = k.id
    GROUP BY k.city_year_no, n.indicator_code)""",
    """city_sizes AS (  -- per city-year: the category whose thresholds apply, and the population
    SELECT c.city_year_no, ci.category, coalesce(cp.population, ci.population) AS population
    FROM city_years c LEFT JOIN cities ci ON ci.city_code = c.city_code
    LEFT JOIN (SELECT DISTINCT ON (c2.city_year_no) c2.city_year_no, p.population
               FROM city_years c2 JOIN city_population p ON p.city_code = c2.city_code AND p.year <= c2.year
               ORDER BY c2.city_year_no, p.year DESC) cp ON cp.city_year_no = c.city_year_no)""",
    f"""facts_raw AS (  -- every indicator of every city-year's framework, with its answers
    SELECT c.city_code, c.year, fy.fw_seq, i.code, s.self_sum, coalesce(s.self_n, 0) AS self_n,
           coalesce(s.answered, 0) + coalesce(m.opds, 0) - coalesce(s.also_metric, 0) AS answered, i.ord,
           CASE WHEN s.self_n > 0 THEN s.self_sum / s.self_n END AS self_level,
           {METRIC_VALUE} AS metric_value,
           fw.scale_min, coalesce(ct.thresholds, i.thresholds) AS thresholds, i.metric_direction,
           i.per_population, cs.population,
           CASE WHEN i.allow_na THEN coalesce(na.claims, 0) ELSE 0 END AS na_claims
    FROM city_years c JOIN framework_of_year fy USING (year) JOIN frameworks fw ON fw.seq = fy.fw_seq
    JOIN fw_indicators i ON i.fw_seq = fy.fw_seq
    JOIN city_sizes cs ON cs.city_year_no = c.city_year_no
    LEFT JOIN fw_category_thresholds ct
           ON ct.fw_seq = fy.fw_seq AND ct.indicator_code = i.code AND ct.category = cs.category
    LEFT JOIN self_assessed s ON s.city_year_no = c.city_year_no AND s.indicator_no = i.ord
    LEFT JOIN na_claimed na ON na.city_year_no = c.city_year_no AND na.indicator_code = i.code
    LEFT JOIN metric_answerers m ON m.city_code = c.city_code AND m.year = c.year AND m.code = i.code
    LEFT JOIN metric_aggregates ma
           ON ma.city_code = c.city_code AND ma.year = c.year AND ma.metric_code = i.metric_code)""",
    """facts_scaled AS (  -- the value the thresholds apply to (per `per_population` inhabitants)
    SELECT i.*, CASE WHEN i.metric_value IS NULL THEN NULL WHEN i.per_population IS NULL THEN i.metric_value
                     WHEN i.population > 0 THEN i.metric_value / i.population * i.per_population END AS metric_basis
    FROM facts_raw i)""",
    """facts_levelled AS (  -- a metric value's level: how many thresholds it reaches (>= higher-is-better, <= lower)
    SELECT i.*, CASE WHEN i.metric_basis IS NULL OR i.thresholds IS NULL THEN NULL
         ELSE i.scale_min + (SELECT count(*) FROM unnest(i.thresholds) t
              WHERE CASE WHEN i.metric_direction = 'lower' THEN i.metric_basis <= t ELSE i.metric_basis >= t END)
         END AS metric_level
    FROM facts_scaled i)""",
)


# self_assessed for the few submissions of a targeted rebuild: each answer looks its indicator up by
# (framework, code) and judges the rule of its own key, instead of joining indicator_rules (every
# indicator of the framework judged once per key: a key per OPD type, more rows than a city-year
# has answers). The same numbers: a key's rule of an indicator is that indicator's row and the
# same expressions over the key's columns, and an answer outside the framework matches neither.
_SELF_ASSESSED_TARGET = f"""self_assessed AS (  -- (answers to indicators outside the year's framework get no number)
    SELECT x.city_year_no, x.indicator_no, sum(x.level)::DOUBLE PRECISION AS self_sum, count(*) AS self_n,
           count(*) FILTER (WHERE x.responsible) AS answered,
           count(*) FILTER (WHERE x.responsible AND coalesce(x.metric_code = ANY(x.metric_codes), false)) AS also_metric
    FROM (SELECT k.city_year_no, i.ord AS indicator_no, a.level, i.metric_code, k.metric_codes,
                 {answers_for("i", "k.opd_type", "k")} AS responsible
          FROM answer_keys k JOIN assessments a ON a.submission_id = k.id
          LEFT JOIN fw_indicators i ON i.fw_seq = k.fw_seq AND i.code = a.indicator_code
          OFFSET 0) x  -- (kept a subquery: `responsible` judged once per answer, not once per count)
    GROUP BY x.city_year_no, x.indicator_no)"""


def _facts_ctes(scope: Literal["all", "target"]) -> tuple[str, ...]:
    """FACTS_CTES, with the targeted self_assessed (and without indicator_rules) for "target"."""
    if scope == "all":
        return FACTS_CTES
    return tuple(
        _SELF_ASSESSED_TARGET if c.startswith("self_assessed AS (") else c
        for c in FACTS_CTES
        if not c.startswith("indicator_rules AS (")
    )


def facts_cte(name: str) -> str:
    """The CTE `name` of FACTS_CTES (score_sql.facts_cte)."""
    return next(c for c in FACTS_CTES if c.startswith(f"{name} AS ("))


SCORE_FACTS_SELECT = """
SELECT city_code, year, fw_seq, code AS indicator_code, self_sum, self_n::INTEGER AS self_n,
       answered::INTEGER AS answered, metric_value, metric_level,
       coalesce(metric_level, self_level) AS unverified_level,
       CASE WHEN metric_level IS NOT NULL THEN 'metric' WHEN self_level IS NOT NULL THEN 'self'
            ELSE 'missing' END AS unverified_source,
       na_claims::INTEGER AS na_claims, metric_basis, population
FROM facts_levelled"""


def refresh_sql(table: str, scope: Literal["all", "target"]) -> str:
    """The rows of answer table `table` for every city-year, or for the city-years in the paired
    $cities/$years lists (score_sql.refresh_sql)."""
    if table == "score_cy":
        return with_ctes(*refresh_ctes(scope)) + SCORE_CY_SELECT + " ORDER BY 1, 2\n"
    if table == "score_facts":
        return (
            with_ctes(*refresh_ctes(scope), *_facts_ctes(scope))
            + SCORE_FACTS_SELECT
            + " ORDER BY city_code, year, ord\n"
        )
    if table == "score_parts":
        head = [TARGET_CITY_YEARS] if scope == "target" else []
        levels = f"levels AS ({level_input('score_facts', targeted=scope == 'target')})"
        return with_ctes(*head, levels) + parts_of("levels") + "\nORDER BY 1, 2, 4, 5\n"
    raise ValueError(f"not an answer table: {table!r}")


def delete_target_sql(table: str) -> str:
    """Delete the rows of derived table `table` for the city-years in the paired $cities/$years lists."""
    if table not in DERIVED_TABLES:
        raise ValueError(f"not a derived table: {table!r}")
    return f"""DELETE FROM {table} USING unnest($cities::VARCHAR[], $years::INTEGER[]) AS t(c, y)
           WHERE {table}.city_code = t.c AND {table}.year = t.y
             AND {table}.city_code = ANY($cities::VARCHAR[]) AND {table}.year = ANY($years::INTEGER[])"""


# --------------------------------------------------------------------------- scoring
_SCOPE_FILTER: dict[ScoreScope, str] = {
    "asked": "($city::VARCHAR IS NULL OR city_code = $city::VARCHAR)"
    " AND ($years::INTEGER[] IS NULL OR year = ANY($years::INTEGER[]))",
    "cities": "city_code = ANY($cities::VARCHAR[])",
    "all": "true",
    "target": in_target(""),
}
_OTHER_CITY_YEARS: dict[ScoreScope, str] = {
    "asked": """SELECT city_code, year FROM verified
        UNION SELECT c.city_code, y.y FROM cities c, unnest(coalesce($years::INTEGER[], '{}'::INTEGER[])) AS y(y)
              WHERE $city::VARCHAR IS NOT NULL AND c.city_code = $city::VARCHAR""",
    "cities": "SELECT DISTINCT city_code, year FROM verified",
    "all": "SELECT DISTINCT city_code, year FROM verified",
    "target": "SELECT DISTINCT city_code, year FROM verified",
}


def base_ctes(scope: ScoreScope) -> list[str]:
    """The CTEs every scoring query starts from (score_sql.base_ctes): `verified`,
    `kept_city_years`, `extra_*`, `scored_city_years`, `year_frameworks`, `facts`, `na_confirmed`
    (the target scope begins with TARGET_CITY_YEARS)."""
    where = _SCOPE_FILTER[scope]
    return [
        *([TARGET_CITY_YEARS] if scope == "target" else []),
        f"""verified AS (
    SELECT DISTINCT ON (city_code, year, indicator_code) city_code, year, indicator_code, level FROM verifications
    WHERE {where}
    ORDER BY city_code, year, indicator_code, id DESC)""",
        f"""kept_city_years AS (
    SELECT city_code, year, fw_seq, pairs FROM score_cy
    WHERE {where})""",
        f"""extra_city_years AS (
    SELECT x.city_code, x.year FROM (
        {_OTHER_CITY_YEARS[scope]}) x
    WHERE NOT EXISTS (SELECT 1 FROM kept_city_years k WHERE k.city_code = x.city_code AND k.year = x.year))""",
        framework_of_year("extra_frameworks", "extra_city_years"),
        f"""extra_layout AS (
    SELECT e.city_code, e.year, ef.fw_seq, coalesce(sum(p.pairs), 0) AS pairs
    FROM extra_city_years e JOIN extra_frameworks ef USING (year)
    LEFT JOIN {pair_rows("(SELECT e.city_code, e.year, ef.fw_seq FROM extra_city_years e JOIN extra_frameworks ef USING (year))")} p
      ON p.city_code = e.city_code AND p.year = e.year
    GROUP BY e.city_code, e.year, ef.fw_seq)""",
        """scored_city_years AS (
    SELECT city_code, year, fw_seq, pairs FROM kept_city_years
    UNION ALL SELECT city_code, year, fw_seq, pairs FROM extra_layout)""",
        "year_frameworks AS (SELECT DISTINCT year, fw_seq FROM scored_city_years)",
        """extra_facts AS (
    SELECT c.city_code, c.year, c.fw_seq, i.code AS indicator_code, NULL::DOUBLE PRECISION AS self_sum,
           0 AS self_n, 0 AS answered, NULL::DOUBLE PRECISION AS metric_value, NULL::INTEGER AS metric_level,
           NULL::DOUBLE PRECISION AS unverified_level, 'missing'::VARCHAR AS unverified_source, 0 AS na_claims,
           NULL::DOUBLE PRECISION AS metric_basis, NULL::BIGINT AS population
    FROM extra_layout c JOIN fw_indicators i ON i.fw_seq = c.fw_seq)""",
        f"""facts AS (
    SELECT city_code, year, fw_seq, indicator_code, self_sum, self_n, answered, metric_value, metric_level,
           unverified_level, unverified_source, na_claims, metric_basis, population FROM score_facts
    WHERE {where}
    UNION ALL SELECT * FROM extra_facts)""",
        f"""na_confirmed AS (  -- indicators an assessor confirmed "tidak berlaku" that an assessment in force claims so
    SELECT f.city_code, f.year, f.indicator_code FROM score_facts f
    JOIN (SELECT DISTINCT ON (city_code, year, indicator_code) city_code, year, indicator_code, decision
          FROM na_decisions WHERE {where} ORDER BY city_code, year, indicator_code, id DESC) d
      ON d.city_code = f.city_code AND d.year = f.year AND d.indicator_code = f.indicator_code
    WHERE d.decision = 'accepted' AND f.na_claims > 0)""",
    ]


EFFECTIVE_LEVELS = """effective_levels AS (
    SELECT b.city_code, b.year, b.fw_seq, b.indicator_code AS code, i.dimension, i.pillar, i.subpillar,
           i.weight, i.metric_code, i.metric_direction, coalesce(ct.thresholds, i.thresholds) AS thresholds,
           v.level AS verified_level, b.metric_value, b.metric_level, b.metric_basis, b.population,
           i.per_population, CASE WHEN b.self_n > 0 THEN b.self_sum / b.self_n END AS self_level,
           b.self_n AS n_opd, b.answered, b.na_claims, n.indicator_code IS NOT NULL AS confirmed_na,
           CASE WHEN n.indicator_code IS NULL THEN coalesce(v.level, b.unverified_level) END AS effective,
           CASE WHEN n.indicator_code IS NOT NULL THEN 'na' WHEN v.level IS NOT NULL THEN 'verified'
                ELSE b.unverified_source END AS source,
           CASE WHEN n.indicator_code IS NOT NULL THEN NULL
                WHEN coalesce(v.level, b.unverified_level) IS NOT NULL
                THEN coalesce(v.level, b.unverified_level)::DOUBLE PRECISION
                WHEN fw.missing = 'zero' THEN fw.scale_min::DOUBLE PRECISION END AS score_level
    FROM facts b JOIN fw_indicators i ON i.fw_seq = b.fw_seq AND i.code = b.indicator_code
    JOIN frameworks fw ON fw.seq = b.fw_seq
    LEFT JOIN cities ci ON ci.city_code = b.city_code
    LEFT JOIN fw_category_thresholds ct
           ON ct.fw_seq = b.fw_seq AND ct.indicator_code = b.indicator_code AND ct.category = ci.category
    LEFT JOIN verified v ON v.city_code = b.city_code AND v.year = b.year AND v.indicator_code = b.indicator_code
    LEFT JOIN na_confirmed n ON n.city_code = b.city_code AND n.year = b.year AND n.indicator_code = b.indicator_code)"""


# The dimensions scored by another method than the rubric (score_sql.METHOD_CTES). Follow base_ctes.
METHOD_CTES = [
    """method_dimensions AS (  -- the non-rubric dimensions of the scored years' frameworks
    SELECT d.fw_seq, d.code, d.method, d.kind, d.min_respondents, d.pillar_weight FROM fw_dimensions d
    WHERE d.method <> 'rubric' AND d.fw_seq IN (SELECT fw_seq FROM year_frameworks))""",
    """top_pillars AS (
    SELECT p.fw_seq, p.code FROM fw_pillars p
    WHERE p.parent IS NULL AND p.fw_seq IN (SELECT fw_seq FROM year_frameworks))""",
    """register_programmes AS (  -- per scored city-year, every programme of the city's register in force
    SELECT cy.city_code, cy.year, cy.fw_seq, p.code, p.name, p.kind, p.pillar AS programme_pillar,
           coalesce(fp.parent, fp.code) AS pillar, coalesce(st.status, 'direncanakan') AS status,
           coalesce(st.status = 'dihentikan' AND st.reason_accepted, false) AS excluded,
           p.start_year <= cy.year AND cy.year <= p.end_year AS active
    -- (each lookup by its key, in a LATERAL subquery the planner keeps: a plan made once for any
    -- city must not hash every city's programmes)
    FROM scored_city_years cy
    JOIN (SELECT c.city_code, (SELECT max(v.id) FROM programme_versions v WHERE v.city_code = c.city_code) AS version_id
          FROM (SELECT DISTINCT city_code FROM scored_city_years) c) r ON r.city_code = cy.city_code
    CROSS JOIN LATERAL (SELECT p.code, p.name, p.kind, p.pillar, p.start_year, p.end_year FROM programmes p
                        WHERE p.version_id = r.version_id OFFSET 0) p
    LEFT JOIN fw_pillars fp ON fp.fw_seq = cy.fw_seq AND fp.code = p.pillar
    LEFT JOIN LATERAL (
        SELECT st.status, st.reason_accepted FROM programme_statuses st
        WHERE st.version_id = r.version_id AND st.programme_code = p.code AND st.year = cy.year LIMIT 1) st ON true)""",
    """programme_counts AS MATERIALIZED (  -- per programmes dimension and top pillar: planned and running that year
    SELECT rp.city_code, rp.year, d.code AS dimension, rp.pillar,
           count(*) FILTER (WHERE NOT rp.excluded) AS planned,
           count(*) FILTER (WHERE NOT rp.excluded AND rp.status IN ('berjalan', 'selesai')) AS running,
           count(*) FILTER (WHERE rp.excluded) AS excluded,
           count(*) FILTER (WHERE rp.status = 'direncanakan') AS not_started,
           count(*) FILTER (WHERE rp.status = 'dihentikan' AND NOT rp.excluded) AS stalled
    FROM register_programmes rp
    JOIN method_dimensions d ON d.fw_seq = rp.fw_seq AND d.method = 'programmes' AND d.kind = rp.kind
    WHERE rp.active AND rp.pillar IS NOT NULL
    GROUP BY rp.city_code, rp.year, d.code, rp.pillar)""",
    """survey_impacts AS (  -- per survey dimension, each programme of the survey in force in the register in force
    WITH su AS MATERIALIZED (  -- the survey in force: the newest import of each scored city-year
        SELECT s.city_code, s.year,
               (SELECT max(u.id) FROM survey_uploads u WHERE u.city_code = s.city_code AND u.year = s.year) AS upload_id
        FROM (SELECT DISTINCT city_code, year FROM scored_city_years) s),
    sp AS MATERIALIZED (  -- its programme rows, read by upload id (as register_programmes reads)
        SELECT su.city_code, su.year, p.programme_code, p.respondents, p.answers, p.answer_sum
        FROM su CROSS JOIN LATERAL (SELECT p.programme_code, p.respondents, p.answers, p.answer_sum
                                    FROM survey_programmes p WHERE p.upload_id = su.upload_id OFFSET 0) p)
    SELECT rp.city_code, rp.year, d.code AS dimension, rp.code AS programme_code, rp.pillar, sp.respondents,
           sp.answers, CASE WHEN sp.answers > 0 THEN sp.answer_sum / sp.answers END AS mean_answer,
           CASE WHEN sp.answers > 0
                THEN fw.scale_min + (fw.scale_max - fw.scale_min) * (sp.answer_sum / sp.answers - 1) / 4 END AS impact,
           sp.respondents >= d.min_respondents AND sp.answers > 0 AS sufficient
    FROM sp JOIN register_programmes rp ON rp.city_code = sp.city_code AND rp.year = sp.year AND rp.code = sp.programme_code
    JOIN frameworks fw ON fw.seq = rp.fw_seq
    JOIN method_dimensions d ON d.fw_seq = rp.fw_seq AND d.method = 'survey')""",
    """method_pillar_values AS (  -- v(d, p) of every scored city-year, method dimension and top pillar
    WITH si AS MATERIALIZED (
        SELECT city_code, year, dimension, pillar, sum(impact ORDER BY programme_code) / count(*) AS impact
        FROM survey_impacts WHERE sufficient AND pillar IS NOT NULL GROUP BY city_code, year, dimension, pillar)
    SELECT cy.city_code, cy.year, cy.fw_seq, d.code AS dimension, d.method, d.pillar_weight, tp.code AS pillar,
           fw.missing, fw.scale_min,
           CASE WHEN d.method = 'programmes' AND pc.planned > 0
                THEN fw.scale_min + (fw.scale_max - fw.scale_min) * pc.running::DOUBLE PRECISION / pc.planned
                WHEN d.method = 'survey' THEN si.impact END AS value
    FROM scored_city_years cy JOIN frameworks fw ON fw.seq = cy.fw_seq
    JOIN method_dimensions d ON d.fw_seq = cy.fw_seq JOIN top_pillars tp ON tp.fw_seq = cy.fw_seq
    LEFT JOIN programme_counts pc
           ON pc.city_code = cy.city_code AND pc.year = cy.year AND pc.dimension = d.code AND pc.pillar = tp.code
    LEFT JOIN si ON si.city_code = cy.city_code AND si.year = cy.year AND si.dimension = d.code AND si.pillar = tp.code)""",
    """method_dimension_values AS (  -- D(d) of every scored city-year and method dimension
    WITH sd AS MATERIALIZED (
        SELECT city_code, year, dimension, sum(impact ORDER BY programme_code) / count(*) AS impact
        FROM survey_impacts WHERE sufficient GROUP BY city_code, year, dimension)
    SELECT v.city_code, v.year, v.fw_seq, v.dimension,
           CASE WHEN min(v.method) = 'programmes'
                THEN sum(CASE WHEN v.value IS NOT NULL THEN v.value WHEN v.missing = 'zero' THEN v.scale_min END
                         ORDER BY v.pillar)
                     / count(*) FILTER (WHERE v.value IS NOT NULL OR v.missing = 'zero')
                ELSE min(sd.impact) END AS value
    FROM method_pillar_values v
    LEFT JOIN sd ON sd.city_code = v.city_code AND sd.year = v.year AND sd.dimension = v.dimension
    GROUP BY v.city_code, v.year, v.fw_seq, v.dimension)""",
    """method_parts AS (  -- what the methods add to score parts (sums in dimension order)
    SELECT city_code, year, fw_seq, 'pillar' AS kind, pillar AS code,
           coalesce(sum(pillar_weight * coalesce(value, scale_min) ORDER BY dimension)
                    FILTER (WHERE value IS NOT NULL OR missing = 'zero'), 0) AS weighted_levels,
           coalesce(sum(pillar_weight ORDER BY dimension) FILTER (WHERE value IS NOT NULL OR missing = 'zero'), 0)
             AS weights
    FROM method_pillar_values GROUP BY city_code, year, fw_seq, pillar
    UNION ALL
    SELECT city_code, year, fw_seq, 'dimension', dimension, coalesce(value, 0), CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END
    FROM method_dimension_values)""",
]


def score_ctes(scope: ScoreScope) -> list[str]:
    """City-year scores (`scored`, its breakdowns already as parallel code/value arrays sorted by
    code) from score_parts, verifications, confirmed N/A and the method dimensions
    (score_sql.score_ctes). Follows base_ctes(scope)."""
    return [
        f"""parts AS (
    SELECT city_code, year, fw_seq, kind, code, weighted_levels, weights, indicators, missing, answered
    FROM score_parts
    WHERE {_SCOPE_FILTER[scope]}
    UNION ALL ({parts_of("(" + level_input("extra_facts") + ")")}))""",
        f"changed_inputs AS ({level_input('facts', changed=True)})",
        f"""level_changes AS (
    SELECT x.city_code, x.year, part.kind AS kind, part.code AS code,
           sum(CASE WHEN x.confirmed_na THEN -(x.weight * coalesce(x.score_level, 0))
                    ELSE x.weight * x.verified_level - x.weight * coalesce(x.score_level, 0) END) AS weighted_level_change,
           sum(CASE WHEN x.confirmed_na THEN (CASE WHEN x.score_level IS NULL THEN 0 ELSE -x.weight END)
                    WHEN x.score_level IS NULL THEN x.weight ELSE 0 END) AS weight_change,
           count(*) FILTER (WHERE x.unverified_source = 'missing') AS missing_change,
           count(*) FILTER (WHERE x.confirmed_na) AS indicator_change,
           coalesce(sum(x.answered) FILTER (WHERE x.confirmed_na), 0) AS answered_change
    FROM changed_inputs x {_EACH_PART}
    WHERE part.code IS NOT NULL
    GROUP BY x.city_code, x.year, part.kind, part.code)""",
        *METHOD_CTES,
        """part_rows AS (
    SELECT p.city_code, p.year, p.fw_seq, p.kind, p.code,
           p.weighted_levels + coalesce(c.weighted_level_change, 0) AS weighted_levels,
           p.weights + coalesce(c.weight_change, 0) AS weights,
           p.indicators - coalesce(c.indicator_change, 0) AS indicators,
           p.missing - coalesce(c.missing_change, 0) AS missing, p.answered - coalesce(c.answered_change, 0) AS answered
    FROM parts p LEFT JOIN level_changes c
         ON c.city_code = p.city_code AND c.year = p.year AND c.kind = p.kind AND c.code = p.code
    UNION ALL
    SELECT city_code, year, fw_seq, kind, code, weighted_levels, weights, 0, 0, 0 FROM method_parts)""",
        """verified_parts AS (
    SELECT city_code, year, fw_seq, kind, code,
           CASE WHEN sum(weights) > 0 THEN sum(weighted_levels) / sum(weights) END AS value,
           sum(indicators) AS indicators, sum(missing) AS missing, sum(answered) AS answered
    FROM part_rows GROUP BY city_code, year, fw_seq, kind, code)""",
        f"""na_pairs AS (  -- the (indicator, OPD) pairs of confirmed N/A indicators: they leave completeness
    SELECT n.city_code, n.year, sum(n.pairs) AS pairs FROM (
        SELECT n.city_code, n.year, n.indicator_code, greatest(1, count(o.opd_code)) AS pairs
        FROM na_confirmed n JOIN scored_city_years cy ON cy.city_code = n.city_code AND cy.year = n.year
        JOIN fw_indicators i ON i.fw_seq = cy.fw_seq AND i.code = n.indicator_code
        LEFT JOIN (SELECT o.city_code, o.opd_code, o.opd_type, oa.assigned_codes FROM opds o
                   LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = o.city_code AND oa.opd_code = o.opd_code) o
               ON o.city_code = n.city_code AND {answers_for("i", "o.opd_type", "o")}
        GROUP BY n.city_code, n.year, n.indicator_code) n
    GROUP BY n.city_code, n.year)""",
        f"""scored AS (
    SELECT a.city_code, a.year, a.fw_seq, min(cy.pairs) - coalesce(min(np.pairs), 0) AS pairs,
           sum(fd.weight * a.value ORDER BY a.code) FILTER (WHERE a.kind = 'dimension' AND a.value IS NOT NULL)
             / sum(fd.weight ORDER BY a.code) FILTER (WHERE a.kind = 'dimension' AND a.value IS NOT NULL) AS index,
           array_agg(a.code ORDER BY a.code {BYTES}) FILTER (WHERE a.kind = 'dimension') AS dim_codes,
           array_agg(a.value ORDER BY a.code {BYTES}) FILTER (WHERE a.kind = 'dimension') AS dim_values,
           array_agg(a.code ORDER BY a.code {BYTES}) FILTER (WHERE a.kind = 'pillar') AS pillar_codes,
           array_agg(a.value ORDER BY a.code {BYTES}) FILTER (WHERE a.kind = 'pillar') AS pillar_values,
           array_agg(a.code ORDER BY a.code {BYTES}) FILTER (WHERE a.kind = 'subpillar') AS sub_codes,
           array_agg(a.value ORDER BY a.code {BYTES}) FILTER (WHERE a.kind = 'subpillar') AS sub_values,
           sum(a.indicators) FILTER (WHERE a.kind = 'total') AS indicators,
           sum(a.missing) FILTER (WHERE a.kind = 'total') AS missing,
           sum(a.answered) FILTER (WHERE a.kind = 'total') AS answered
    FROM verified_parts a JOIN scored_city_years cy ON cy.city_code = a.city_code AND cy.year = a.year
    LEFT JOIN na_pairs np ON np.city_code = a.city_code AND np.year = a.year
    LEFT JOIN fw_dimensions fd ON a.kind = 'dimension' AND fd.fw_seq = a.fw_seq AND fd.code = a.code
    GROUP BY a.city_code, a.year, a.fw_seq)""",
    ]


# One row per city-year, the breakdowns as parallel code/value arrays (score_sql.WIDE_SELECT;
# `scored` builds the arrays itself, in code order).
WIDE_SELECT = f"""
SELECT city_code, year, fw_seq, index, dim_codes, dim_values, pillar_codes, pillar_values, sub_codes, sub_values,
       indicators, missing, pairs, CASE WHEN pairs > 0 THEN answered ELSE 0 END AS answered
FROM scored ORDER BY year, city_code {BYTES}
"""


def score_wide_sql(scope: ScoreScope) -> str:
    """The wide score rows of `scope`, from the kept tables."""
    return with_ctes(*base_ctes(scope), *score_ctes(scope)) + WIDE_SELECT


def raw_table_ctes() -> list[str]:
    """CTEs named score_cy, score_facts and score_parts built from the raw answer rows by the SQL
    that refreshes those tables (score_sql.raw_table_ctes): put before base_ctes, they shadow them."""
    return [
        *refresh_ctes("all"),
        *FACTS_CTES,
        f"score_cy AS ({SCORE_CY_SELECT})",
        f"score_facts AS ({SCORE_FACTS_SELECT})",
        f"score_parts AS ({parts_of('(' + level_input('score_facts') + ')')})",
    ]


def score_raw_sql() -> str:
    """The scores of $city/$years recomputed from the raw answer rows (score_sql.score_raw_sql)."""
    return with_ctes(*raw_table_ctes(), *base_ctes("asked"), *score_ctes("asked")) + WIDE_SELECT


SCORE_CITY_READ = f"""SELECT {SCORE_CITY_COLUMNS} FROM score_city
    WHERE ($city::VARCHAR IS NULL OR city_code = $city::VARCHAR)
      AND ($years::INTEGER[] IS NULL OR year = ANY($years::INTEGER[]))
    ORDER BY year, city_code {BYTES}"""


def score_city_insert(scope: Literal["all", "cities", "target"]) -> str:
    """Fill score_city for every city-year with data, for every year of the cities in $cities, or
    for the city-years in the paired $cities/$years lists."""
    return f"INSERT INTO score_city ({SCORE_CITY_COLUMNS}) " + score_wide_sql(scope)


# --------------------------------------------------------------------------- the tables' version
def score_tables_version() -> str:
    """A hash of what the derived tables hold on PostgreSQL: their DDL and every statement that
    fills them (score_sql.score_tables_version; a PostgreSQL database records this one)."""
    texts = [
        *SCORE_TABLES_DDL,
        *(refresh_sql(t, s) for t in SCORE_TABLES for s in ("all", "target")),
        score_city_insert("all"),
        score_city_insert("cities"),
        score_city_insert("target"),
    ]
    return "pg-" + hashlib.sha256("\n;\n".join(texts).encode()).hexdigest()[:16]


SCORE_TABLES_VERSION = score_tables_version()
