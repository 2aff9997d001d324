"""The scoring rules as SQL: fixed fragments, composed by small functions.

Scoring reads, per city-year, every indicator's self-assessed levels in the submissions in
force, its service metric, who answered it, and the assessor's verification. At national scale
the answers are tens of millions of rows, so everything except verifications (few, and changed
by assessors at any time) is kept pre-computed in derived tables:
  score_cy     one row per city-year with a submission in force: its framework and the number of
               (indicator, responsible OPD) pairs;
  score_facts  per such city-year and indicator of its framework: self-assessment sum/count,
               responsible OPDs that answered (by assessment or service metric), the metric's
               value, the value its thresholds apply to (per population where the framework says
               so) and its level under the thresholds of the city's category, the level before
               verification (metric, else self), and the "tidak berlaku" claims in force;
  score_parts  the same city-year summed per dimension, pillar, sub-pillar and in total
               (weighted levels, weights, counts), before verification;
  score_city   the finished scores of every city-year with data (verifications and assessors'
               N/A decisions applied, the programme and survey dimensions computed): what the
               dashboard's national pages read.
They are rebuilt for the affected city-years inside the same transaction as every write that
changes their inputs (metrics.store.scores), so a reader never sees them stale.

Every statement is fixed text with bound parameters. A query is a list of named CTEs joined by
`with_ctes`; where a query exists in variants (every city-year, or those in $cities/$years), a
function picks one of a few fixed fragments by a `Literal` argument. The only text a function
puts into another fragment is one of our own fragments or relation names, never a value.
"""

from __future__ import annotations

import hashlib
from typing import Literal

# Which submissions a query reads: every one; the city-years in the paired $cities/$years lists
# (a rebuild after a write); or the city $city (NULL: every city) in the years $years (NULL: all).
SubmissionScope = Literal["all", "target", "asked"]
# Which scores a scoring query computes: those asked for by $city/$years (a read; city-years
# asked for without any data are scored on the spot as all missing); every year of the cities in
# $cities (a rebuild of their finished scores); or every city-year with data.
ScoreScope = Literal["asked", "cities", "all"]

SCORE_TABLES = ("score_cy", "score_facts", "score_parts")  # the answer tables, in rebuild order
FINISHED_TABLE = "score_city"
DERIVED_TABLES = (*SCORE_TABLES, FINISHED_TABLE)

SCORE_TABLES_DDL = (
    """CREATE TABLE score_cy(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, pairs BIGINT NOT NULL)""",
    """CREATE TABLE score_facts(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, self_sum DOUBLE, self_n INTEGER NOT NULL,
        answered INTEGER NOT NULL, metric_value DOUBLE, metric_level INTEGER, unverified_level DOUBLE,
        unverified_source VARCHAR NOT NULL, na_claims INTEGER NOT NULL, metric_basis DOUBLE, population BIGINT)""",
    """CREATE TABLE score_parts(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, kind VARCHAR NOT NULL, code VARCHAR NOT NULL, weighted_levels DOUBLE NOT NULL,
        weights DOUBLE NOT NULL, indicators BIGINT NOT NULL, missing BIGINT NOT NULL, answered BIGINT NOT NULL)""",
    """CREATE TABLE score_city(city_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        fw_seq INTEGER NOT NULL, index DOUBLE, dim_codes VARCHAR[], dim_values DOUBLE[], pillar_codes VARCHAR[],
        pillar_values DOUBLE[], sub_codes VARCHAR[], sub_values DOUBLE[], indicators BIGINT, missing BIGINT,
        pairs BIGINT, answered BIGINT)""",
)


def with_ctes(*ctes: str) -> str:
    """`WITH a AS (...), b AS (...)` from fragments that each read `name AS (...)`."""
    return "WITH " + ",\n".join(ctes) + "\n"


# --------------------------------------------------------------------------- shared fragments
TARGET_CITY_YEARS = """target_city_years AS (SELECT DISTINCT city_code, year FROM (
        SELECT unnest($cities::VARCHAR[]) AS city_code, unnest($years::INTEGER[]) AS year))"""

_SUBMISSION_JOIN: dict[SubmissionScope, str] = {
    "all": "",
    "target": " SEMI JOIN target_city_years t ON t.city_code = s.city_code AND t.year = s.year",
    "asked": "",
}
_SUBMISSION_WHERE: dict[SubmissionScope, str] = {
    "all": "",
    "target": "",
    "asked": " AND ($city IS NULL OR s.city_code = $city) AND ($years IS NULL OR list_contains($years, s.year))",
}


def in_force(scope: SubmissionScope) -> str:
    """The CTEs `assessments_in_force` and `metrics_in_force`: per city/OPD/year (and metric),
    the submission with the greatest id, among those of `scope` (the target scope needs the
    CTE TARGET_CITY_YEARS before it)."""
    join, where = _SUBMISSION_JOIN[scope], _SUBMISSION_WHERE[scope]
    return f"""assessments_in_force AS (
    SELECT s.id, s.city_code, s.opd_code, s.year FROM submissions s{join}
    WHERE s.kind = 'assessment'{where}
    QUALIFY row_number() OVER (PARTITION BY s.city_code, s.opd_code, s.year ORDER BY s.id DESC) = 1),
metrics_in_force AS (
    SELECT s.id, s.city_code, s.opd_code, s.year, s.metric_code FROM submissions s{join}
    WHERE s.kind = 'metric'{where}
    QUALIFY row_number() OVER (PARTITION BY s.city_code, s.opd_code, s.metric_code, s.year ORDER BY s.id DESC) = 1)"""


def framework_of_year(name: str, city_years: str) -> str:
    """The CTE `name`: (year, fw_seq) of the framework in force for each year in `city_years`
    (the latest applies_from not after the year; the last loaded among equals)."""
    return f"""{name} AS (
    SELECT y.year, arg_max(f.seq, f.applies_from::BIGINT * 1000000 + f.seq) AS fw_seq
    FROM (SELECT DISTINCT year FROM {city_years}) y JOIN frameworks f ON f.applies_from <= y.year GROUP BY y.year)"""


# Who answers which indicator in a city (metrics.responsibility states the same rule for Python):
# every OPD of the city whose type the framework lists for it, and every OPD the admin assigned it
# to (opd_assignments, per city). OPD_ASSIGNED is each OPD's assigned indicator codes.
OPD_ASSIGNED = (
    "(SELECT city_code, opd_code, list(indicator_code) AS assigned_codes FROM opd_assignments GROUP BY ALL)"
)


def answers_for(indicator: str, opd_type: str, assigned: str) -> str:
    """Whether the OPD of type `opd_type` with assignment row `assigned` answers for the
    indicator row `indicator` (all three are aliases of the calling query)."""
    return (
        f"coalesce(list_contains({indicator}.opd_types, {opd_type})"
        f" OR list_contains({assigned}.assigned_codes, {indicator}.code), false)"
    )


def pair_rows(city_years: str) -> str:
    """A subquery: the (indicator, responsible OPD) pairs of the city-years in `city_years` (a
    relation with city_code, year, fw_seq), counted. One row per OPD with the number of
    indicators it answers, and one row with opd_code NULL for the indicators nobody answers (no
    OPD of their types, none assigned), each of which counts as ONE pair that stays unanswered,
    so completeness shows the gap (issue 15). Every count of pairs reads this one fragment."""
    return f"""(
    WITH pair_city_years AS (SELECT DISTINCT city_code, year, fw_seq FROM {city_years}),
    city_opds AS (SELECT o.city_code, o.opd_code, o.opd_type FROM opds o
                  SEMI JOIN pair_city_years pc ON pc.city_code = o.city_code),
    assigned AS (SELECT a.city_code, a.opd_code, a.indicator_code FROM opd_assignments a
                 SEMI JOIN city_opds o ON o.city_code = a.city_code AND o.opd_code = a.opd_code),
    type_counts AS (SELECT fw_seq, opd_type, count(*) AS indicators FROM (
                SELECT fw_seq, unnest(list_distinct(opd_types)) AS opd_type FROM fw_indicators
                WHERE fw_seq IN (SELECT fw_seq FROM pair_city_years)) GROUP BY ALL),
    city_types AS (SELECT city_code, list(DISTINCT opd_type) AS types FROM city_opds GROUP BY ALL)
    SELECT city_code, year, fw_seq, opd_code, sum(pairs) AS pairs FROM (
        SELECT pc.city_code, pc.year, pc.fw_seq, o.opd_code, tc.indicators AS pairs FROM pair_city_years pc
        JOIN city_opds o ON o.city_code = pc.city_code
        JOIN type_counts tc ON tc.fw_seq = pc.fw_seq AND tc.opd_type = o.opd_type
        UNION ALL
        SELECT pc.city_code, pc.year, pc.fw_seq, o.opd_code, 1 FROM pair_city_years pc
        JOIN assigned a ON a.city_code = pc.city_code
        JOIN city_opds o ON o.city_code = a.city_code AND o.opd_code = a.opd_code
        JOIN fw_indicators i ON i.fw_seq = pc.fw_seq AND i.code = a.indicator_code
        WHERE NOT list_contains(i.opd_types, o.opd_type)
        UNION ALL
        SELECT pc.city_code, pc.year, pc.fw_seq, NULL, 1 FROM pair_city_years pc
        JOIN fw_indicators i ON i.fw_seq = pc.fw_seq
        LEFT JOIN city_types ct ON ct.city_code = pc.city_code
        WHERE NOT coalesce(list_has_any(i.opd_types, ct.types), false)
          AND NOT EXISTS (SELECT 1 FROM assigned a WHERE a.city_code = pc.city_code AND a.indicator_code = i.code))
    GROUP BY ALL)"""


# One row per indicator and each of the parts it counts in (its dimension, pillar, sub-pillar,
# and the total), as the struct `part` (kind, code).
_EACH_PART = """unnest([{'kind': 'dimension', 'code': dimension}, {'kind': 'pillar', 'code': pillar},
                        {'kind': 'subpillar', 'code': subpillar}, {'kind': 'total', 'code': '*'}]) AS part"""


def level_input(facts: str, *, targeted: bool = False, changed: bool = False) -> str:
    """A query: rows of score_facts-like `facts` with the indicator's weight and parts joined,
    and `score_level`, the level the index counts before verification (missing counts as the
    scale's minimum when the framework says so). `targeted` keeps only the city-years of
    TARGET_CITY_YEARS; `changed` keeps only the indicators an assessor's word changes (needs the
    CTEs `verified` and `na_confirmed`): verified ones, with their `verified_level`, and those
    confirmed not applicable (`confirmed_na`), whose verification is ignored."""
    changed_cols = (
        "v.level AS verified_level, n.indicator_code IS NOT NULL AS confirmed_na, " if changed else ""
    )
    target_join = (
        " SEMI JOIN target_city_years t ON t.city_code = f.city_code AND t.year = f.year" if targeted else ""
    )
    changed_join = (
        """
    LEFT JOIN verified v ON v.city_code = f.city_code AND v.year = f.year AND v.indicator_code = f.indicator_code
    LEFT JOIN na_confirmed n ON n.city_code = f.city_code AND n.year = f.year AND n.indicator_code = f.indicator_code
    WHERE v.level IS NOT NULL OR n.indicator_code IS NOT NULL"""
        if changed
        else ""
    )
    return f"""
    SELECT {changed_cols}f.city_code, f.year, f.fw_seq, f.unverified_source, f.answered, i.weight,
           i.dimension, i.pillar, i.subpillar,
           CASE WHEN f.unverified_level IS NOT NULL THEN f.unverified_level
                WHEN fw.missing = 'zero' THEN fw.scale_min::DOUBLE END AS score_level
    FROM {facts} f JOIN fw_indicators i ON i.fw_seq = f.fw_seq AND i.code = f.indicator_code
    JOIN frameworks fw ON fw.seq = f.fw_seq{target_join}{changed_join}"""


def parts_of(levels: str) -> str:
    """A query: the rows of `levels` (shaped by level_input) summed per city-year and part."""
    return f"""
    SELECT city_code, year, fw_seq, part.kind AS kind, part.code AS code,
           coalesce(sum(weight * score_level), 0) AS weighted_levels,
           coalesce(sum(CASE WHEN score_level IS NOT NULL THEN weight END), 0) AS weights,
           count(*) AS indicators, count(*) FILTER (WHERE unverified_source = 'missing') AS missing,
           sum(answered) AS answered
    FROM (SELECT x.*, {_EACH_PART} FROM {levels} x)
    WHERE part.code IS NOT NULL
    GROUP BY ALL"""


# --------------------------------------------------------------------------- the answer tables
CITY_YEARS = """city_years AS (  -- the city-years with a submission in force, numbered: a cheap key for 20 M answers
    SELECT city_code, year, (row_number() OVER ())::INTEGER AS city_year_no FROM (
        SELECT city_code, year FROM assessments_in_force UNION SELECT city_code, year FROM metrics_in_force))"""


def refresh_ctes(scope: Literal["all", "target"]) -> list[str]:
    """The CTEs every answer table is built from: the submissions in force, the city-years they
    make (`city_years`) and each year's framework (`framework_of_year`)."""
    head = [TARGET_CITY_YEARS] if scope == "target" else []
    return [*head, in_force(scope), CITY_YEARS, framework_of_year("framework_of_year", "city_years")]


SCORE_CY_SELECT = f"""
SELECT c.city_code, c.year, fy.fw_seq, coalesce(sum(p.pairs), 0) AS pairs
FROM city_years c JOIN framework_of_year fy USING (year)
LEFT JOIN {pair_rows("(SELECT c.city_code, c.year, fy.fw_seq FROM city_years c JOIN framework_of_year fy USING (year))")} p
  ON p.city_code = c.city_code AND p.year = c.year
GROUP BY ALL"""

# A metric indicator's value (`i` an fw_indicators row, `ma` a metric_aggregates row): the aggregate
# its framework asks for. Also read by the what-if (metrics.store.whatif) for a changed metric.
METRIC_VALUE = """CASE i.metric_aggregate WHEN 'mean' THEN ma.a_mean WHEN 'sum' THEN ma.a_sum WHEN 'last' THEN ma.a_last
                WHEN 'min' THEN ma.a_min WHEN 'max' THEN ma.a_max END"""

# Per city-year and indicator: the self-assessments summed, and how many responsible OPDs
# answered it, by assessment or by reporting its service metric. Every in-force answer row is one
# (OPD, indicator) pair: insert_submissions() refuses an assessment submission that answers an
# indicator twice, so counting rows counts pairs.
# The answer rows are tens of millions, so they are read once, with two joins: to their
# submission by id (which numbered city-year), and to `indicator_rules` by a number for what
# decides how an answer counts (the framework, the OPD's type, the metrics that OPD reports, the
# indicators assigned to it) and the indicator code; the group-by is on two integers. "Answered
# by metric only" is then the metric-reporting OPDs minus those whose answer row says they also
# assessed it.
FACTS_CTES = (
    """opd_metric_sets AS (  -- the service metrics each OPD reports in force, per city-year
    SELECT city_code, year, opd_code, list_sort(list_distinct(list(metric_code))) AS metric_codes
    FROM metrics_in_force GROUP BY ALL)""",
    f"""answer_keys AS (  -- assessment submissions in force, keyed by what decides how their answers
                     -- count: the framework, the OPD's type, the metrics it reports, its assignments
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
             AND coalesce(list_contains(k.metric_codes, i.metric_code), false) AS by_metric_too
    FROM (SELECT DISTINCT rule_key, fw_seq, opd_type, metric_codes, assigned_codes FROM answer_keys) k
    JOIN fw_indicators i ON i.fw_seq = k.fw_seq)""",
    """self_assessed AS (  -- (answers to indicators outside the year's framework get no number and
                   -- drop out in facts_raw; a LEFT JOIN, because with an inner one the optimizer
                   -- may join indicator_rules first: 40x the rows)
    SELECT k.city_year_no, r.indicator_no, sum(a.level)::DOUBLE AS self_sum, count(*) AS self_n,
           count(*) FILTER (WHERE r.responsible) AS answered, count(*) FILTER (WHERE r.by_metric_too) AS also_metric
    FROM answer_keys k JOIN assessments a ON a.submission_id = k.id
    LEFT JOIN indicator_rules r ON r.rule_key = k.rule_key AND r.code = a.indicator_code
    GROUP BY ALL)""",
    f"""metric_answerers AS (  -- responsible OPDs reporting a metric that scores an indicator
    SELECT s.city_code, s.year, i.code, count(DISTINCT s.opd_code) AS opds
    FROM metrics_in_force s JOIN framework_of_year fy ON fy.year = s.year
    JOIN fw_indicators i ON i.fw_seq = fy.fw_seq AND i.metric_code = s.metric_code
    JOIN opds o ON o.city_code = s.city_code AND o.opd_code = s.opd_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = s.city_code AND oa.opd_code = s.opd_code
    WHERE {answers_for("i", "o.opd_type", "oa")}
    GROUP BY ALL)""",
    """metric_aggregates AS (  -- each metric's values in force, aggregated every way a framework may ask;
    -- 'last' is the mean of the values of the latest period (several OPDs may report that period)
    SELECT city_code, year, metric_code, avg(value) AS a_mean, sum(value) AS a_sum,
           avg(value) FILTER (WHERE period = last_period) AS a_last, min(value) AS a_min, max(value) AS a_max
    FROM (SELECT s.city_code, s.year, s.metric_code, v.value, v.period,
                 max(v.period) OVER (PARTITION BY s.city_code, s.year, s.metric_code) AS last_period
          FROM metrics_in_force s JOIN metric_values v ON v.submission_id = s.id)
    GROUP BY ALL)""",
    """na_claimed AS (  -- "tidak berlaku" answers in the assessments in force, per city-year and
                   -- indicator: they give no level; an assessor's decision (applied when scoring,
                   -- like verifications) decides whether the indicator leaves the score
    SELECT k.city_year_no, n.indicator_code, count(*) AS claims
    FROM answer_keys k JOIN assessment_na n ON n.submission_id = k.id
    GROUP BY ALL)""",
    """city_sizes AS (  -- per city-year: the category whose thresholds apply, and the population a
                   -- per-population metric is divided by (the latest figure by year not after the
                   -- year, else the registry's one figure)
    SELECT c.city_year_no, ci.category, coalesce(cp.population, ci.population) AS population
    FROM city_years c LEFT JOIN cities ci ON ci.city_code = c.city_code
    LEFT JOIN (SELECT c2.city_year_no, arg_max(p.population, p.year) AS population
               FROM city_years c2 JOIN city_population p ON p.city_code = c2.city_code AND p.year <= c2.year
               GROUP BY ALL) cp ON cp.city_year_no = c.city_year_no)""",
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
    """facts_scaled AS (  -- the value the thresholds apply to: per `per_population` inhabitants where
                     -- the framework says so; without a population figure there is none (no level)
    SELECT i.*, CASE WHEN i.metric_value IS NULL THEN NULL WHEN i.per_population IS NULL THEN i.metric_value
                     WHEN i.population > 0 THEN i.metric_value / i.population * i.per_population END AS metric_basis
    FROM facts_raw i)""",
    """facts_levelled AS (  -- a metric value's level: how many thresholds it reaches (>= higher-is-better, <= lower)
    SELECT i.*, CASE WHEN i.metric_basis IS NULL THEN NULL
         ELSE i.scale_min + len(list_filter(i.thresholds, lambda t:
              CASE WHEN i.metric_direction = 'lower' THEN i.metric_basis <= t ELSE i.metric_basis >= t END))
         END AS metric_level
    FROM facts_scaled i)""",
)


def facts_cte(name: str) -> str:
    """The CTE `name` of FACTS_CTES, for a query that builds `facts_raw` its own way and levels it
    by these very fragments (the what-if, metrics.store.whatif)."""
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
    """The rows of answer table `table` (one of SCORE_TABLES) for every city-year, or for the
    city-years in the paired $cities/$years lists."""
    if table == "score_cy":
        return with_ctes(*refresh_ctes(scope)) + SCORE_CY_SELECT + " ORDER BY 1, 2\n"
    if table == "score_facts":
        return (
            with_ctes(*refresh_ctes(scope), *FACTS_CTES)
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
    return f"""DELETE FROM {table} USING (SELECT unnest($cities::VARCHAR[]) AS c, unnest($years::INTEGER[]) AS y) t
           WHERE {table}.city_code = t.c AND {table}.year = t.y"""


# --------------------------------------------------------------------------- scoring
# The rows a scoring query reads from the derived tables and verifications, per scope.
_SCOPE_FILTER: dict[ScoreScope, str] = {
    "asked": "($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))",
    "cities": "list_contains($cities, city_code)",
    "all": "true",
}
# City-years that may have no submission in force: those with verifications (one row per
# city-year: `verified` has one per indicator), and, for a read, those asked for by $city/$years,
# scored as every indicator missing.
_OTHER_CITY_YEARS: dict[ScoreScope, str] = {
    "asked": """SELECT city_code, year FROM verified
        UNION SELECT c.city_code, y.y FROM cities c, (SELECT unnest(coalesce($years, []::INTEGER[])) AS y) y
              WHERE $city IS NOT NULL AND c.city_code = $city""",
    "cities": "SELECT DISTINCT city_code, year FROM verified",
    "all": "SELECT DISTINCT city_code, year FROM verified",
}


def base_ctes(scope: ScoreScope) -> list[str]:
    """The CTEs every scoring query starts from: `verified` levels; `scored_city_years`, the
    city-years to score with their framework and pairs (those with a submission in force from
    score_cy; those with only verifications, or asked for without any data, laid out here as
    `extra_*`); `year_frameworks`; `facts`, score_facts plus every indicator of the extra
    city-years as missing; and `na_confirmed`, the indicators confirmed not applicable. CTEs named
    score_cy/score_facts before these shadow the tables."""
    where = _SCOPE_FILTER[scope]
    return [
        f"""verified AS (
    SELECT city_code, year, indicator_code, arg_max(level, id) AS level FROM verifications
    WHERE {where}
    GROUP BY ALL)""",
        f"""kept_city_years AS (
    SELECT city_code, year, fw_seq, pairs FROM score_cy
    WHERE {where})""",
        f"""extra_city_years AS (
    SELECT x.city_code, x.year FROM (
        {_OTHER_CITY_YEARS[scope]}) x
    ANTI JOIN kept_city_years k ON k.city_code = x.city_code AND k.year = x.year)""",
        framework_of_year("extra_frameworks", "extra_city_years"),
        f"""extra_layout AS (
    SELECT e.city_code, e.year, ef.fw_seq, coalesce(sum(p.pairs), 0) AS pairs
    FROM extra_city_years e JOIN extra_frameworks ef USING (year)
    LEFT JOIN {pair_rows("(SELECT e.city_code, e.year, ef.fw_seq FROM extra_city_years e JOIN extra_frameworks ef USING (year))")} p
      ON p.city_code = e.city_code AND p.year = e.year
    GROUP BY ALL)""",
        """scored_city_years AS (
    SELECT city_code, year, fw_seq, pairs FROM kept_city_years
    UNION ALL SELECT city_code, year, fw_seq, pairs FROM extra_layout)""",
        "year_frameworks AS (SELECT DISTINCT year, fw_seq FROM scored_city_years)",
        """extra_facts AS (
    SELECT c.city_code, c.year, c.fw_seq, i.code AS indicator_code, NULL::DOUBLE AS self_sum, 0 AS self_n,
           0 AS answered, NULL::DOUBLE AS metric_value, NULL::INTEGER AS metric_level,
           NULL::DOUBLE AS unverified_level, 'missing' AS unverified_source, 0 AS na_claims,
           NULL::DOUBLE AS metric_basis, NULL::BIGINT AS population
    FROM extra_layout c JOIN fw_indicators i ON i.fw_seq = c.fw_seq)""",
        f"""facts AS (
    SELECT city_code, year, fw_seq, indicator_code, self_sum, self_n, answered, metric_value, metric_level,
           unverified_level, unverified_source, na_claims, metric_basis, population FROM score_facts
    WHERE {where}
    UNION ALL SELECT * FROM extra_facts)""",
        # (from score_facts, not `facts`: the extra city-years have no submission, so no claim)
        f"""na_confirmed AS (  -- indicators an assessor confirmed "tidak berlaku" (the newest decision
                      -- accepts it) that an assessment in force claims so: they leave the score
    SELECT f.city_code, f.year, f.indicator_code FROM score_facts f
    JOIN (SELECT city_code, year, indicator_code, arg_max(decision, id) AS decision FROM na_decisions
          WHERE {where} GROUP BY ALL) d
      ON d.city_code = f.city_code AND d.year = f.year AND d.indicator_code = f.indicator_code
    WHERE d.decision = 'accepted' AND f.na_claims > 0)""",
    ]


# The effective level of every indicator of every scored city-year (drill-down, history): an
# indicator confirmed not applicable has none (source 'na') and counts nowhere; `thresholds` are
# those of the city's category.
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
                THEN coalesce(v.level, b.unverified_level)::DOUBLE
                WHEN fw.missing = 'zero' THEN fw.scale_min::DOUBLE END AS score_level
    FROM facts b JOIN fw_indicators i ON i.fw_seq = b.fw_seq AND i.code = b.indicator_code
    JOIN frameworks fw ON fw.seq = b.fw_seq
    LEFT JOIN cities ci ON ci.city_code = b.city_code
    LEFT JOIN fw_category_thresholds ct
           ON ct.fw_seq = b.fw_seq AND ct.indicator_code = b.indicator_code AND ct.category = ci.category
    LEFT JOIN verified v ON v.city_code = b.city_code AND v.year = b.year AND v.indicator_code = b.indicator_code
    LEFT JOIN na_confirmed n ON n.city_code = b.city_code AND n.year = b.year AND n.indicator_code = b.indicator_code)"""


# The dimensions scored by another method than the rubric (metrics.scoring states the rules):
# computed for the scored city-years only, at scoring time, like verifications: the programme
# register and the survey change at any time and are small (tens of programmes per city), and
# their writes rebuild the city's finished scores. Follow base_ctes.
METHOD_CTES = [
    """method_dimensions AS (  -- the non-rubric dimensions of the scored years' frameworks
    SELECT d.fw_seq, d.code, d.method, d.kind, d.min_respondents, d.pillar_weight FROM fw_dimensions d
    WHERE d.method <> 'rubric' AND d.fw_seq IN (SELECT fw_seq FROM year_frameworks))""",
    """top_pillars AS (
    SELECT p.fw_seq, p.code FROM fw_pillars p
    WHERE p.parent IS NULL AND p.fw_seq IN (SELECT fw_seq FROM year_frameworks))""",
    """register_programmes AS (  -- per scored city-year, every programme of the city's register in force
    -- (its newest version), with the top pillar its pillar or sub-pillar maps to in the year's framework
    -- (NULL: not in it), its status that year (no row: direncanakan), and whether it runs that year
    SELECT cy.city_code, cy.year, cy.fw_seq, p.code, p.name, p.kind, p.pillar AS programme_pillar,
           coalesce(fp.parent, fp.code) AS pillar, coalesce(st.status, 'direncanakan') AS status,
           coalesce(st.status = 'dihentikan' AND st.reason_accepted, false) AS excluded,
           p.start_year <= cy.year AND cy.year <= p.end_year AS active
    FROM scored_city_years cy
    JOIN (SELECT v.city_code, max(v.id) AS version_id FROM programme_versions v
          SEMI JOIN scored_city_years s ON s.city_code = v.city_code GROUP BY ALL) r ON r.city_code = cy.city_code
    JOIN programmes p ON p.version_id = r.version_id
    LEFT JOIN fw_pillars fp ON fp.fw_seq = cy.fw_seq AND fp.code = p.pillar
    LEFT JOIN programme_statuses st
           ON st.version_id = r.version_id AND st.programme_code = p.code AND st.year = cy.year)""",
    """programme_counts AS (  -- per programmes dimension and top pillar: planned (not stopped with an
                         -- accepted reason) and running (berjalan or selesai) that year
    SELECT rp.city_code, rp.year, d.code AS dimension, rp.pillar,
           count(*) FILTER (WHERE NOT rp.excluded) AS planned,
           count(*) FILTER (WHERE NOT rp.excluded AND rp.status IN ('berjalan', 'selesai')) AS running,
           count(*) FILTER (WHERE rp.excluded) AS excluded,
           count(*) FILTER (WHERE rp.status = 'direncanakan') AS not_started,
           count(*) FILTER (WHERE rp.status = 'dihentikan' AND NOT rp.excluded) AS stalled
    FROM register_programmes rp
    JOIN method_dimensions d ON d.fw_seq = rp.fw_seq AND d.method = 'programmes' AND d.kind = rp.kind
    WHERE rp.active AND rp.pillar IS NOT NULL
    GROUP BY ALL)""",
    """survey_impacts AS (  -- per survey dimension, each programme of the survey in force (the newest
    -- import of the city-year) that is in the register in force: its impact, the mean answer on the
    -- 1-5 scale mapped onto the framework's scale, and whether enough citizens answered
    SELECT rp.city_code, rp.year, d.code AS dimension, rp.code AS programme_code, rp.pillar, sp.respondents,
           sp.answers, CASE WHEN sp.answers > 0 THEN sp.answer_sum / sp.answers END AS mean_answer,
           CASE WHEN sp.answers > 0
                THEN fw.scale_min + (fw.scale_max - fw.scale_min) * (sp.answer_sum / sp.answers - 1) / 4 END AS impact,
           sp.respondents >= d.min_respondents AND sp.answers > 0 AS sufficient
    FROM (SELECT u.city_code, u.year, max(u.id) AS upload_id FROM survey_uploads u
          SEMI JOIN scored_city_years s ON s.city_code = u.city_code AND s.year = u.year GROUP BY ALL) su
    JOIN survey_programmes sp ON sp.upload_id = su.upload_id
    JOIN register_programmes rp ON rp.city_code = su.city_code AND rp.year = su.year AND rp.code = sp.programme_code
    JOIN frameworks fw ON fw.seq = rp.fw_seq
    JOIN method_dimensions d ON d.fw_seq = rp.fw_seq AND d.method = 'survey')""",
    """method_pillar_values AS (  -- v(d, p) of every scored city-year, method dimension and top pillar
                             -- (NULL: missing; no programme planned, no sufficient survey)
    SELECT cy.city_code, cy.year, cy.fw_seq, d.code AS dimension, d.method, d.pillar_weight, tp.code AS pillar,
           fw.missing, fw.scale_min,
           CASE WHEN d.method = 'programmes' AND pc.planned > 0
                THEN fw.scale_min + (fw.scale_max - fw.scale_min) * pc.running / pc.planned
                WHEN d.method = 'survey' THEN si.impact END AS value
    FROM scored_city_years cy JOIN frameworks fw ON fw.seq = cy.fw_seq
    JOIN method_dimensions d ON d.fw_seq = cy.fw_seq JOIN top_pillars tp ON tp.fw_seq = cy.fw_seq
    LEFT JOIN programme_counts pc
           ON pc.city_code = cy.city_code AND pc.year = cy.year AND pc.dimension = d.code AND pc.pillar = tp.code
    LEFT JOIN (SELECT city_code, year, dimension, pillar,
                      sum(impact ORDER BY programme_code) / count(*) AS impact
               FROM survey_impacts WHERE sufficient AND pillar IS NOT NULL GROUP BY ALL) si
           ON si.city_code = cy.city_code AND si.year = cy.year AND si.dimension = d.code AND si.pillar = tp.code)""",
    """method_dimension_values AS (  -- D(d): a programmes dimension's mean over every top pillar (a
    -- missing one counts as the scale's minimum under `missing: zero`, is left out under exclude);
    -- a survey dimension's mean impact over every sufficient programme
    SELECT v.city_code, v.year, v.fw_seq, v.dimension,
           CASE WHEN any_value(v.method) = 'programmes'
                THEN sum(CASE WHEN v.value IS NOT NULL THEN v.value WHEN v.missing = 'zero' THEN v.scale_min END
                         ORDER BY v.pillar)
                     / count(*) FILTER (WHERE v.value IS NOT NULL OR v.missing = 'zero')
                ELSE any_value(sd.impact) END AS value
    FROM method_pillar_values v
    LEFT JOIN (SELECT city_code, year, dimension, sum(impact ORDER BY programme_code) / count(*) AS impact
               FROM survey_impacts WHERE sufficient GROUP BY ALL) sd
           ON sd.city_code = v.city_code AND sd.year = v.year AND sd.dimension = v.dimension
    GROUP BY v.city_code, v.year, v.fw_seq, v.dimension)""",
    """method_parts AS (  -- what the methods add to score parts: per pillar, sum(pw_d v(d, p)) over
    -- sum(pw_d) (a missing v counts as the minimum under zero, is left out under exclude); per
    -- method dimension, its value with weight 1 (none: weight 0). Sums in dimension order: rows
    -- arrive in any order (a restored database inserts them anew), the last bit must not move.
    SELECT city_code, year, fw_seq, 'pillar' AS kind, pillar AS code,
           coalesce(sum(pillar_weight * coalesce(value, scale_min) ORDER BY dimension)
                    FILTER (WHERE value IS NOT NULL OR missing = 'zero'), 0) AS weighted_levels,
           coalesce(sum(pillar_weight ORDER BY dimension) FILTER (WHERE value IS NOT NULL OR missing = 'zero'), 0)
             AS weights
    FROM method_pillar_values GROUP BY ALL
    UNION ALL
    SELECT city_code, year, fw_seq, 'dimension', dimension, coalesce(value, 0), CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END
    FROM method_dimension_values)""",
]


def score_ctes(scope: ScoreScope) -> list[str]:
    """City-year scores (`scored`) from score_parts (plus the extra city-years' parts), corrected
    for each verified indicator by the difference between its verified and its unverified level,
    less the indicators confirmed not applicable, plus the method dimensions (METHOD_CTES).
    Follows base_ctes(scope).

    (The breakdown lists are sorted by code, so that their order does not depend on the number
    of threads (parallel sums may still differ in the last bit); list_sort costs nothing
    measurable, an ORDER BY inside list() cost 5% of a recompute. Each CTE is read once: a UNION
    ALL over several references to one large CTE made DuckDB 1.5.5 hang on national-size data.)"""
    return [
        f"""parts AS (
    SELECT city_code, year, fw_seq, kind, code, weighted_levels, weights, indicators, missing, answered
    FROM score_parts
    WHERE {_SCOPE_FILTER[scope]}
    UNION ALL ({parts_of("(" + level_input("extra_facts") + ")")}))""",
        f"changed_inputs AS ({level_input('facts', changed=True)})",
        # A verified indicator: its verified level replaces the unverified one (a missing one
        # gains its weight and is no longer missing). A confirmed N/A indicator: it leaves its
        # parts whole (level, weight, count, missing, answered), verified or not.
        f"""level_changes AS (
    SELECT city_code, year, part.kind AS kind, part.code AS code,
           sum(CASE WHEN confirmed_na THEN -(weight * coalesce(score_level, 0))
                    ELSE weight * verified_level - weight * coalesce(score_level, 0) END) AS weighted_level_change,
           sum(CASE WHEN confirmed_na THEN (CASE WHEN score_level IS NULL THEN 0 ELSE -weight END)
                    WHEN score_level IS NULL THEN weight ELSE 0 END) AS weight_change,
           count(*) FILTER (WHERE unverified_source = 'missing') AS missing_change,
           count(*) FILTER (WHERE confirmed_na) AS indicator_change,
           coalesce(sum(answered) FILTER (WHERE confirmed_na), 0) AS answered_change
    FROM (SELECT x.*, {_EACH_PART} FROM changed_inputs x)
    WHERE part.code IS NOT NULL
    GROUP BY ALL)""",
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
        # (at most two rows per part, the rubric's and the methods': their sums are exact in any order)
        """verified_parts AS (
    SELECT city_code, year, fw_seq, kind, code,
           CASE WHEN sum(weights) > 0 THEN sum(weighted_levels) / sum(weights) END AS value,
           sum(indicators) AS indicators, sum(missing) AS missing, sum(answered) AS answered
    FROM part_rows GROUP BY ALL)""",
        f"""na_pairs AS (  -- the (indicator, OPD) pairs of confirmed N/A indicators: they leave completeness
    SELECT n.city_code, n.year, sum(n.pairs) AS pairs FROM (
        SELECT n.city_code, n.year, n.indicator_code, greatest(1, count(o.opd_code)) AS pairs
        FROM na_confirmed n JOIN scored_city_years cy ON cy.city_code = n.city_code AND cy.year = n.year
        JOIN fw_indicators i ON i.fw_seq = cy.fw_seq AND i.code = n.indicator_code
        LEFT JOIN (SELECT o.city_code, o.opd_code, o.opd_type, oa.assigned_codes FROM opds o
                   LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = o.city_code AND oa.opd_code = o.opd_code) o
               ON o.city_code = n.city_code AND {answers_for("i", "o.opd_type", "o")}
        GROUP BY ALL) n
    GROUP BY ALL)""",
        """scored AS (
    SELECT a.city_code, a.year, a.fw_seq, any_value(cy.pairs) - coalesce(any_value(np.pairs), 0) AS pairs,
           sum(fd.weight * a.value ORDER BY a.code) FILTER (WHERE a.kind = 'dimension' AND a.value IS NOT NULL)
             / sum(fd.weight ORDER BY a.code) FILTER (WHERE a.kind = 'dimension' AND a.value IS NOT NULL) AS index,
           list_sort(list({'code': a.code, 'value': a.value}) FILTER (WHERE a.kind = 'dimension'))
             AS dimension_list,
           list_sort(list({'code': a.code, 'value': a.value}) FILTER (WHERE a.kind = 'pillar')) AS pillar_list,
           list_sort(list({'code': a.code, 'value': a.value}) FILTER (WHERE a.kind = 'subpillar'))
             AS subpillar_list,
           sum(a.indicators) FILTER (WHERE a.kind = 'total') AS indicators,
           sum(a.missing) FILTER (WHERE a.kind = 'total') AS missing,
           sum(a.answered) FILTER (WHERE a.kind = 'total') AS answered
    FROM verified_parts a JOIN scored_city_years cy ON cy.city_code = a.city_code AND cy.year = a.year
    LEFT JOIN na_pairs np ON np.city_code = a.city_code AND np.year = a.year
    LEFT JOIN fw_dimensions fd ON a.kind = 'dimension' AND fd.fw_seq = a.fw_seq AND fd.code = a.code
    GROUP BY a.city_code, a.year, a.fw_seq)""",
    ]


# One row per city-year, breakdowns as parallel code/value lists: what scoring.score() reads,
# because shaping a few thousand rows is much cheaper than a hundred thousand long ones.
WIDE_SELECT = """
SELECT city_code, year, fw_seq, index,
       list_transform(dimension_list, x -> x.code) AS dim_codes,
       list_transform(dimension_list, x -> x.value) AS dim_values,
       list_transform(pillar_list, x -> x.code) AS pillar_codes,
       list_transform(pillar_list, x -> x.value) AS pillar_values,
       list_transform(subpillar_list, x -> x.code) AS sub_codes,
       list_transform(subpillar_list, x -> x.value) AS sub_values,
       indicators, missing, pairs, CASE WHEN pairs > 0 THEN answered ELSE 0 END AS answered
FROM scored ORDER BY year, city_code
"""


def score_wide_sql(scope: ScoreScope) -> str:
    """The wide score rows of `scope`, from the kept tables."""
    return with_ctes(*base_ctes(scope), *score_ctes(scope)) + WIDE_SELECT


def raw_table_ctes() -> list[str]:
    """CTEs named score_cy, score_facts and score_parts, built from the raw answer rows by the
    very SQL that refreshes those tables: put before base_ctes, they shadow the tables."""
    return [
        *refresh_ctes("all"),
        *FACTS_CTES,
        f"score_cy AS ({SCORE_CY_SELECT})",
        f"score_facts AS ({SCORE_FACTS_SELECT})",
        f"score_parts AS ({parts_of('(' + level_input('score_facts') + ')')})",
    ]


def score_raw_sql() -> str:
    """The scores of $city/$years recomputed from the raw answer rows, with nothing pre-computed.

    Nothing is written: scoring.recomputation_differences compares it with the tables kept up to
    date write by write; the benchmarks time it (target 3)."""
    return with_ctes(*raw_table_ctes(), *base_ctes("asked"), *score_ctes("asked")) + WIDE_SELECT


SCORE_CITY_COLUMNS = (
    "city_code, year, fw_seq, index, dim_codes, dim_values, pillar_codes, pillar_values, sub_codes, "
    "sub_values, indicators, missing, pairs, answered"
)
SCORE_CITY_READ = f"""SELECT {SCORE_CITY_COLUMNS} FROM score_city
    WHERE ($city IS NULL OR city_code = $city) AND ($years IS NULL OR list_contains($years, year))
    ORDER BY year, city_code"""


def score_city_insert(scope: Literal["all", "cities"]) -> str:
    """Fill score_city for every city-year with data, or for every year of the cities in $cities."""
    return "INSERT INTO score_city " + score_wide_sql(scope)


# --------------------------------------------------------------------------- per OPD, per indicator
# Per-OPD scores read the raw answers of the requested city/years (a city's few thousand rows).
# The sums are ordered: DuckDB adds a group's values in whatever order its threads merge them,
# so a plain sum could differ in the last bit from one read to the next (compensated fsum too).
_OPD_CTES = [
    """opd_levels AS (
    SELECT s.city_code, s.opd_code, s.year, yf.fw_seq, a.indicator_code,
           coalesce(v.level, a.level)::DOUBLE AS level
    FROM assessments_in_force s JOIN assessments a ON a.submission_id = s.id JOIN year_frameworks yf ON yf.year = s.year
    LEFT JOIN verified v ON v.city_code = s.city_code AND v.year = s.year AND v.indicator_code = a.indicator_code
    ANTI JOIN na_confirmed n ON n.city_code = s.city_code AND n.year = s.year AND n.indicator_code = a.indicator_code)""",
    """opd_dimensions AS (
    SELECT l.city_code, l.opd_code, l.year, l.fw_seq, i.dimension,
           sum(i.weight * l.level ORDER BY l.indicator_code) / sum(i.weight ORDER BY l.indicator_code) AS value
    FROM opd_levels l JOIN fw_indicators i ON i.fw_seq = l.fw_seq AND i.code = l.indicator_code
    GROUP BY ALL)""",
    """opd_index AS (
    SELECT d.city_code, d.opd_code, d.year,
           sum(fd.weight * d.value ORDER BY d.dimension) / sum(fd.weight ORDER BY d.dimension) AS value
    FROM opd_dimensions d JOIN fw_dimensions fd ON fd.fw_seq = d.fw_seq AND fd.code = d.dimension
    GROUP BY ALL)""",
    f"""opd_na_pairs AS (  -- the confirmed N/A indicators each OPD answers for: they leave its completeness
    SELECT n.city_code, o.opd_code, n.year, count(*) AS pairs
    FROM na_confirmed n JOIN year_frameworks yf ON yf.year = n.year
    JOIN fw_indicators i ON i.fw_seq = yf.fw_seq AND i.code = n.indicator_code
    JOIN opds o ON o.city_code = n.city_code
    LEFT JOIN {OPD_ASSIGNED} oa ON oa.city_code = o.city_code AND oa.opd_code = o.opd_code
    WHERE {answers_for("i", "o.opd_type", "oa")} GROUP BY ALL)""",
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
    ANTI JOIN na_confirmed n ON n.city_code = x.city_code AND n.year = x.year AND n.indicator_code = x.indicator_code
    WHERE {answers_for("i", "o.opd_type", "oa")} GROUP BY ALL)""",
    """opd_completeness AS (
    SELECT p.city_code, p.opd_code, p.year, p.pairs, coalesce(a.answered, 0) AS answered
    FROM opd_pairs p LEFT JOIN opd_answered a USING (city_code, opd_code, year))""",
    """last_uploads AS (
    SELECT city_code, opd_code, year, max(accepted_at) AS last_upload, max(id) AS submission_id
    FROM submissions WHERE ($city IS NULL OR city_code = $city)
      AND ($years IS NULL OR list_contains($years, year)) GROUP BY ALL)""",
    """opd_years AS (
    SELECT city_code, opd_code, year FROM opd_completeness
    UNION SELECT city_code, opd_code, year FROM opd_index)""",
]
OPD_SQL = (
    with_ctes(*base_ctes("asked"), in_force("asked"), *_OPD_CTES)
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
    GROUP BY ALL)"""
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
ORDER BY e.city_code, i.ord
"""
)

ANSWERS_SQL = """
WITH current_assessments AS (
    SELECT id, city_code, opd_code, year, accepted_at, username, file_name FROM submissions
    WHERE kind = 'assessment' AND city_code = $city AND year = $year AND ($opd IS NULL OR opd_code = $opd)
    QUALIFY row_number() OVER (PARTITION BY city_code, opd_code, year ORDER BY id DESC) = 1)
SELECT a.indicator_code, c.opd_code, o.name AS opd_name, a.level, a.evidence, a.note,
       c.id AS submission_id, c.accepted_at, c.username, c.file_name, a.source_row
FROM current_assessments c JOIN assessments a ON a.submission_id = c.id
LEFT JOIN opds o ON o.city_code = c.city_code AND o.opd_code = c.opd_code
ORDER BY a.indicator_code, c.opd_code
"""

LEVELS_SQL = (
    with_ctes(*base_ctes("asked"), EFFECTIVE_LEVELS)
    + """SELECT city_code, year, code, effective, score_level FROM effective_levels ORDER BY city_code, code, year
"""
)


# --------------------------------------------------------------------------- method inputs
# What each method dimension of the city-years asked for ($city, NULL: every city with data;
# $years = [year]) counted, by the very CTEs that score it (metrics.methods shapes the rows for the drill-down and `score --json`).
METHOD_DIMENSIONS_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT v.city_code, d.code, fd.name_id, fd.name_en, d.method, d.kind, d.min_respondents, d.pillar_weight, fd.weight,
       v.value
FROM method_dimension_values v JOIN method_dimensions d ON d.fw_seq = v.fw_seq AND d.code = v.dimension
JOIN fw_dimensions fd ON fd.fw_seq = d.fw_seq AND fd.code = d.code
ORDER BY v.city_code, fd.ord
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
           WHERE sufficient GROUP BY ALL) sc
       ON sc.city_code = v.city_code AND sc.year = v.year AND sc.dimension = v.dimension AND sc.pillar = v.pillar
ORDER BY v.city_code, v.dimension, fp.ord
"""
)
SURVEYED_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT s.city_code, s.dimension, s.programme_code, rp.name, s.pillar, s.respondents, s.mean_answer, s.impact, s.sufficient
FROM survey_impacts s JOIN register_programmes rp
     ON rp.city_code = s.city_code AND rp.year = s.year AND rp.code = s.programme_code
ORDER BY s.city_code, s.dimension, s.programme_code
"""
)
# Per method dimension, what it ignored: programmes of its kind running that year whose pillar is
# not in the year's framework; survey rows of programmes not in the register in force.
IGNORED_SQL = (
    with_ctes(*base_ctes("asked"), *METHOD_CTES)
    + """SELECT rp.city_code, d.code AS dimension, rp.code FROM register_programmes rp
JOIN method_dimensions d ON d.fw_seq = rp.fw_seq AND d.method = 'programmes' AND d.kind = rp.kind
WHERE rp.active AND rp.pillar IS NULL
UNION ALL
SELECT su.city_code, d.code, sp.programme_code
FROM (SELECT u.city_code, u.year, max(u.id) AS upload_id FROM survey_uploads u
      SEMI JOIN scored_city_years s ON s.city_code = u.city_code AND s.year = u.year GROUP BY ALL) su
JOIN scored_city_years cy ON cy.city_code = su.city_code AND cy.year = su.year
JOIN survey_programmes sp ON sp.upload_id = su.upload_id
JOIN method_dimensions d ON d.fw_seq = cy.fw_seq AND d.method = 'survey'
WHERE NOT EXISTS (SELECT 1 FROM register_programmes rp
                  WHERE rp.city_code = su.city_code AND rp.year = su.year AND rp.code = sp.programme_code)
ORDER BY 1, 2, 3
"""
)
# The indicators of one city-year answered "tidak berlaku" in an assessment in force, or decided
# on by an assessor: the claims (OPD, reason), the newest decision, and whether it is confirmed.
NA_SQL = (
    with_ctes(
        *base_ctes("asked"),
        in_force("asked"),
        """claims AS (
    SELECT s.city_code, s.year, n.indicator_code, list([s.opd_code, n.reason] ORDER BY s.opd_code) AS reasons
    FROM assessments_in_force s JOIN assessment_na n ON n.submission_id = s.id GROUP BY ALL)""",
        """decisions AS (
    SELECT city_code, year, indicator_code, arg_max(decision, id) AS decision, arg_max(note, id) AS note,
           arg_max(username, id) AS decided_by, arg_max(decided_at, id) AS decided_at
    FROM na_decisions WHERE city_code = $city AND list_contains($years, year) GROUP BY ALL)""",
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


# --------------------------------------------------------------------------- the tables' version
def score_tables_version() -> str:
    """A hash of what the derived tables hold: their DDL and every statement that fills them.

    Kept in meta (key `score_tables_version`); a database whose tables were built by other SQL
    is rebuilt on open (metrics.store.scores), so a change to a rule or a column never leaves a
    stale table behind."""
    texts = [
        *SCORE_TABLES_DDL,
        *(refresh_sql(t, s) for t in SCORE_TABLES for s in ("all", "target")),
        score_city_insert("all"),
        score_city_insert("cities"),
    ]
    return hashlib.sha256("\n;\n".join(texts).encode()).hexdigest()[:16]


SCORE_TABLES_VERSION = score_tables_version()
