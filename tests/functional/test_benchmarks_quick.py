"""The benchmark suite at toy sizes, so that its code keeps working (no timing is asserted).

`python -m benchmarks.run --quick` generates a seeded workload (a framework, a registry, a few
filled workbooks with planted mistakes, a history written straight into DuckDB), then runs
every benchmark against it: reading, the batch ingest through the CLI, one upload, scoring
(with the pandas baseline), CLI start-up, the dashboard pages through AppTest, the what-if of a
framework change (with its pandas baseline) and the path to target. The headless
browser part is left to the full run (and tests/functional/test_e2e_browser.py covers the pages there).
"""

from __future__ import annotations

import json

import pytest

from benchmarks import generate, run


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert run.main(["--quick", "--no-browser", "--out", str(out)]) == 0
    return out, json.loads((out / "results-quick.json").read_text())


def test_every_benchmark_reports_its_figures(quick_results):
    out, data = quick_results
    names = [f["name"] for f in data["figures"]]
    for prefix in (
        "read:",
        "read+validate:",
        "ingest: national batch",
        "upload: one 150-row",
        "upload: one workbook refused",
        "score: all cities, all years, recomputed",
        "score: peak memory",
        "score: all cities, all years, read",
        "score: rebuild",
        "startup:",
        "page overview:",
        "page rankings:",
        "whatif: every city of a year re-scored",
        "whatif: the same through metrics.whatif.whatif",
        "whatif: peak memory",
        "whatif: pandas baseline, reading",
        "plan: path to an index target",
        "plan: path to a rank target",
    ):
        assert any(n.startswith(prefix) for n in names), f"no figure starting with {prefix!r}: {names}"
    for f in data["figures"]:
        assert f["samples"] and all(x > 0 for x in f["samples"]), f["name"]
        assert f["met"] is None, "toy sizes must not be judged against the targets"
    md = (out / "results-quick.md").read_text()
    assert all(n in md for n in names)
    assert data["machine"]["nproc"] >= 1 and data["machine"]["cpu"]


def test_workload_outcomes_are_the_planted_ones(quick_results):
    out, data = quick_results
    manifest = json.loads((out / "quick" / "manifest.json").read_text())
    sz = generate.QUICK
    checks = data["checks"]
    # every workbook and metric table got a result; exactly the files with planted mistakes were refused
    assert checks["ingest_results"] == sz.batch_files + sz.cities == manifest["batch"]["files"]
    assert checks["ingest_refused"] == manifest["batch"]["bad_files"] != []
    # the baseline ingest accepts the same clean files the product does
    accepted, sampled = checks["baseline_ingest_accepted"]
    assert accepted == sampled > 0
    # the refused upload lists its problems, and scoring covers every city and history year
    assert checks["upload_problems"] >= 1
    assert checks["scored_city_years"] == sz.cities * sz.history_years
    assert manifest["store"]["assessments"] == sz.history_rows


def test_pandas_baseline_and_the_recomputation_give_the_same_scores(quick_results):
    _, data = quick_results
    assert data["checks"]["pandas_max_abs_diff"] < 1e-9
    assert data["checks"]["recompute_vs_tables_differences"] == 0


def test_pages_were_measured_signed_in_and_drew_their_content(quick_results):
    _, data = quick_results
    checks = data["checks"]
    assert checks["page_errors"] == [], "a page measured showed an error, so its timing means nothing"
    assert checks["page_elements"] and all(n > 0 for n in checks["page_elements"].values()), checks[
        "page_elements"
    ]


def test_whatif_equals_its_pandas_baseline_and_the_plans_were_solved(quick_results):
    _, data = quick_results
    checks = data["checks"]
    sz = generate.QUICK
    # the pandas baseline reproduces the kept scores under the unchanged framework, and the
    # what-if's index and dimensions of every city under the candidate
    assert checks["whatif_pandas_self_check"] < 1e-9
    assert checks["whatif_pandas_max_abs_diff"] < 1e-9
    store_cities, pandas_cities, core_cities = checks["whatif_cities"]
    assert store_cities == pandas_cities == core_cities == sz.cities
    # both targets lie above where the middle city stands, so each plan has moves and a solve
    for kind in ("index", "rank"):
        assert checks["plan"][kind]["milp_calls"] >= 1, checks["plan"]
        assert checks["plan"][kind]["reachable"] and checks["plan"][kind]["moves"] >= 1, checks["plan"]


def test_national_mode_on_postgresql_reports_its_figures(tmp_path, pg_state_dir):
    """benchmarks/national_pg.py at toy sizes on the test cluster: every figure measured, and the
    concurrent writers' run checked (nothing lost or duplicated, score tables = recomputation)."""
    from benchmarks import national_pg
    from tests import pg_cluster

    admin = pg_cluster.admin_url()
    assert national_pg.main(["--quick", "--pg", admin, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results-national-pg-quick.json").read_text())
    names = [f["name"] for f in data["figures"]]
    for prefix in (
        "load: national store into PostgreSQL",
        "load: the store's first open",
        "score: score --year",
        "txn: one upload's",
        "writers: 2 processes at once (crowded)",
        "writers: 2 processes at once (spread)",
        "copy: python -m metrics copy",
    ):
        assert any(n.startswith(prefix) for n in names), f"no figure starting with {prefix!r}: {names}"
    for f in data["figures"]:
        assert f["samples"] and all(x > 0 for x in f["samples"]), f["name"]
        assert f["met"] is None, "toy sizes must not be judged against the targets"
    for w in (data["checks"]["writers"], data["checks"]["writers_crowded"]):
        assert w["accepted"] == w["uploads"] == 4 and w["errors"] == []
        assert w["lost"] == w["duplicated"] == w["score_groups_duplicated"] == w["recompute_differences"] == 0
        assert w["audit_rows_per_accepted"] == [4, 4] and w["audit_chain_ok"]
    assert "score_city" not in data["checks"]["loaded_rows"]  # built by the store, not copied
    assert data["checks"]["score_cli_cities"] == generate.QUICK.cities
    assert data["server"]["server_version"]
