"""The demo database: plausible, deterministic, and containing the awkward cases on purpose."""

import subprocess
import sys

from metrics import demo, scoring
from metrics.audit import verify_chain
from metrics.framework import DEFAULT_FRAMEWORK_PATH, load_framework
from tests.conftest import ROOT


def test_generation_is_deterministic():
    fw = load_framework(DEFAULT_FRAMEWORK_PATH)
    a, b = demo.generate(fw, seed=7), demo.generate(fw, seed=7)
    assert [(s.city_code, s.opd_code, s.year, len(s.rows)) for _, s in a[2]] == [
        (s.city_code, s.opd_code, s.year, len(s.rows)) for _, s in b[2]
    ]
    assert [r.level for _, s in a[2] if s.kind == "assessment" for r in s.rows] == [
        r.level for _, s in b[2] if s.kind == "assessment" for r in s.rows
    ]


def test_demo_contents(demo_store):
    cities = demo_store.cities()
    assert 5 <= len(cities) <= 8 and any(c.city_code.startswith("0") for c in cities)
    per_city = {}
    for o in demo_store.opds():
        per_city[o.city_code] = per_city.get(o.city_code, 0) + 1
    assert all(15 <= n <= 25 for n in per_city.values())
    assert demo_store.years() == [2020, 2021, 2022, 2023, 2024]
    scores = scoring.score(demo_store, [2020, 2024])
    by = {(s.city_code, s.year): s for s in scores}
    # plausible trends: every city improved between 2020 and 2024, all within the scale
    for c in cities:
        assert 0 <= by[(c.city_code, 2020)].index < by[(c.city_code, 2024)].index <= 4
    # some OPDs never submitted, so completeness is below 100% everywhere
    assert all(s.completeness < 1 for s in scores)
    opds = scoring.opd_scores(demo_store, 2024)
    assert any(o.answered == 0 for o in opds)
    # superseded versions and service metrics are present; verification overrides in 2023
    subs = demo_store.submissions_frame()
    assert (~subs["in_force"]).sum() > 0 and (subs["kind"] == "metric").sum() > 0
    first = demo.CITIES[0].city_code  # the assessor verified part of 2023 for the first three cities
    levels = scoring.indicator_levels(demo_store, first, 2023)
    assert {lv.source for lv in levels} >= {"verified", "self", "metric"}
    assert demo_store.period_status(first, 2023) == "locked"
    assert demo_store.period_status(first, 2024) == "open"
    assert verify_chain(demo_store.audit_rows()) == []


def test_init_demo_cli_prints_a_ranking(tmp_path):
    db = str(tmp_path / "d.duckdb")
    r = subprocess.run(
        [sys.executable, "-m", "metrics", "--db", db, "init", "--demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "metrics", "--db", db, "score", "--year", "2024"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "Kota Sukamaju" in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()[:1].isdigit()]
    assert len(lines) == len(demo.CITIES) and lines[0].split()[0] == "1"
    r = subprocess.run(
        [sys.executable, "-m", "metrics", "--db", db, "init", "--demo", "--if-missing"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "already exists" in r.stdout
