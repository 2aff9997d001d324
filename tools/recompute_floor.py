"""Split the from-raw-rows recomputation (issue 6, target 3) into its parts, to show its floor.

Why a script: docs/performance.md says that recomputing every score from the 20 million raw
answer rows cannot reach 0.5 s on two cores with the rules the scores follow. That claim rests
on these four figures, measured on the benchmark's national store, so anyone can re-measure it:

  * the whole recomputation, the store's own query (what the benchmark's target-3 figure times,
    without the Python that shapes 5,000 rows);
  * the same query with its pass over the answer rows (the `self_assessed` step) done beforehand, i.e.
    everything else: the 1 million per-indicator facts, metrics, parts and verifications;
  * that pass alone, with the scoring rules (which OPD answers for which indicator);
  * a lower bound for any such pass: scan, join to the submissions, group by city-year and
    indicator, with no rules at all.

It reads the store's private SQL on purpose (the query measured is exactly the product's), and
fails loudly if the step it cuts out has been renamed. A measuring aid, not part of the product:

    .venv/bin/python tools/recompute_floor.py [benchmarks/out/full/national.duckdb] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.store import score_sql  # noqa: E402
from metrics.store import scores as store_scores  # noqa: E402

PARAMS = {"years": None, "city": None}
# Only the submissions in force count in the product's query; this lower bound skips even that.
BARE_PASS = """
WITH s AS (SELECT id, dense_rank() OVER (ORDER BY city_code, year)::INTEGER AS cy
           FROM submissions WHERE kind = 'assessment')
SELECT sum(sl), sum(n) FROM (
    SELECT s.cy, a.indicator_code, sum(a.level) AS sl, count(*) AS n
    FROM assessments a JOIN s ON s.id = a.submission_id GROUP BY ALL)"""


def _cut(sql: str, step: str, next_step: str, table: str) -> str:
    """`sql` with its CTE `step` (up to the CTE `next_step`) read from `table` instead."""
    start, end = sql.find(f"\n{step} AS ("), sql.find(f"\n{next_step} AS (")
    if start < 0 or end < start:
        raise SystemExit(
            f"the recomputation query no longer has a `{step}` step before `{next_step}`: update this script"
        )
    return sql[:start] + f"\n{step} AS (SELECT * FROM {table}),\n" + sql[end + 1 :]


def _facts() -> str:
    return score_sql.with_ctes(*score_sql.refresh_ctes("all"), *score_sql.FACTS_CTES)


def _prepare() -> list[str]:
    """The steps done beforehand. The city-years are kept too: they are numbered by row_number()
    OVER (), which may number them differently in another run, and the pass's rows carry those
    numbers. Counting the city-years in "everything else" would add only milliseconds."""
    return [
        "CREATE TEMP TABLE _cyr_done AS " + _facts() + " SELECT * FROM city_years",
        "CREATE TEMP TABLE _self_done AS "
        + _cut(_facts(), "city_years", "framework_of_year", "_cyr_done")
        + " SELECT * FROM self_assessed",
    ]


def _queries() -> dict[str, str]:
    full = store_scores._SCORE_RAW_SQL  # the statement the product runs, composed at import
    rest = _cut(
        _cut(full, "city_years", "framework_of_year", "_cyr_done"),
        "self_assessed",
        "metric_answerers",
        "_self_done",
    )
    return {
        "whole recomputation": full,
        "all but the answer pass": rest,
        "answer pass alone, with the rules": _facts()
        + " SELECT sum(self_sum), sum(self_n), sum(answered), sum(also_metric) FROM self_assessed",
        "bare pass, no rules (lower bound)": BARE_PASS,
    }


def _close(a: object, b: object) -> bool:
    """Equal, floats to 1e-9 relative (parallel sums may differ in the last bits)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def _args(sql: str) -> dict:
    return {k: v for k, v in PARAMS.items() if "$" + k in sql}


def _profile(con, sql: str, top: int) -> list[tuple[float, str, int, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.json"
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{out}'")
        con.execute(sql, _args(sql)).fetchall()
        con.execute("PRAGMA disable_profiling")
        tree = json.loads(out.read_text())
    ops: list[tuple[float, str, int, str]] = []

    def walk(node: dict) -> None:
        info = node.get("extra_info") or {}
        what = info.get("Conditions") or info.get("Groups") or info.get("Table") or ""
        ops.append(
            (
                node.get("operator_timing", 0.0),
                node.get("operator_name", "?"),
                node.get("operator_cardinality", 0),
                str(what)[:60],
            )
        )
        for child in node.get("children", []):
            walk(child)

    for child in tree.get("children", []):
        walk(child)
    ops.sort(key=lambda o: -o[0])
    return ops[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", nargs="?", default=str(ROOT / "benchmarks/out/full/national.duckdb"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    import duckdb

    with duckdb.connect(args.db, read_only=True) as con:
        queries = _queries()
        for sql in _prepare():
            con.execute(sql)
        n_answers = con.execute("SELECT count(*) FROM assessments").fetchone()[0]
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        print(f"{args.db}: {n_answers:,} answer rows, DuckDB {duckdb.__version__}, {threads} threads\n")
        # the split is only evidence if cutting the pass out computes the very same scores
        whole, cut = (
            con.execute(queries[k], PARAMS).fetchall()
            for k in ("whole recomputation", "all but the answer pass")
        )
        if not whole or not _close(whole, cut):
            raise SystemExit(
                "the query with the answer pass done beforehand gives other scores: update this script"
            )
        print("| part | median s | min s | max s |\n|---|---|---|---|")
        for name, sql in queries.items():
            con.execute(sql, _args(sql)).fetchall()  # warm
            samples = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                con.execute(sql, _args(sql)).fetchall()
                samples.append(time.perf_counter() - t)
            print(f"| {name} | {statistics.median(samples):.3f} | {min(samples):.3f} | {max(samples):.3f} |")
        ops = _profile(con, queries["whole recomputation"], 10)
        print(
            "\nDuckDB's profile of the whole recomputation, costliest operators (CPU seconds, all threads):"
        )
        for cpu, name, rows, what in ops:
            print(f"  {cpu:.3f}  {name:<14} {rows:>10,} rows  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
