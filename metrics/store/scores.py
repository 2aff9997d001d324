"""The derived score tables: marking them stale, rebuilding them, and reading scores."""

from __future__ import annotations

from contextlib import suppress

import duckdb

from metrics.records import SubmissionBatch
from metrics.store.connection import Connection


class Scores(Connection):
    """The derived score tables: marking them stale, rebuilding them, and reading scores."""

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
