"""tools/recompute_floor.py, whose split of the recomputation docs/performance.md quotes.

The split is evidence only while its cut-down query is the product's query minus one step, so
the script checks that it computes the same scores; these tests run it on the demo database and
show that the check refuses a cut that changes the scores or no longer finds its step.
"""

import pytest


def test_split_runs_on_the_demo_store_and_prints_every_part(demo_db_file, capsys):
    from tools import recompute_floor

    assert recompute_floor.main([str(demo_db_file), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for part in recompute_floor._queries():
        assert f"| {part} |" in out
    assert "HASH_GROUP_BY" in out  # DuckDB's profile was read


def test_split_refuses_a_precomputed_pass_that_changes_the_scores(demo_db_file, monkeypatch):
    from metrics.store import score_sql
    from tools import recompute_floor

    # the pass done beforehand now adds one level to every answer; the whole query (composed at
    # import, in metrics.store.scores) is untouched
    wrong = tuple(
        cte.replace("sum(a.level)::DOUBLE AS self_sum", "sum(a.level + 1)::DOUBLE AS self_sum")
        for cte in score_sql.FACTS_CTES
    )
    assert wrong != score_sql.FACTS_CTES
    monkeypatch.setattr(score_sql, "FACTS_CTES", wrong)
    with pytest.raises(SystemExit, match="other scores"):
        recompute_floor.main([str(demo_db_file), "--repeat", "1"])


def test_split_refuses_a_query_without_the_step_it_cuts(demo_db_file, monkeypatch):
    from metrics.store import scores
    from tools import recompute_floor

    renamed = scores._SCORE_RAW_SQL.replace("\nself_assessed AS (", "\nown AS (")
    assert renamed != scores._SCORE_RAW_SQL
    monkeypatch.setattr(scores, "_SCORE_RAW_SQL", renamed)
    with pytest.raises(SystemExit, match="no longer has a `self_assessed` step before `metric_answerers`"):
        recompute_floor.main([str(demo_db_file), "--repeat", "1"])
