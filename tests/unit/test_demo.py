"""The demo database: plausible, deterministic, and containing the awkward cases on purpose."""

import subprocess
import sys
from collections import Counter

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


# --------------------------------------------------------------------------- issue 17: what else the evaluation scores

PILLARS = ("GOV", "BRD", "ECO", "LIV", "SOC", "ENV")


def test_programme_registers(demo_store):
    fw = load_framework(DEFAULT_FRAMEWORK_PATH)
    opd_codes = {(o.city_code, o.opd_code) for o in demo_store.opds()}
    statuses = Counter()
    for c in demo.CITIES:
        progs = demo_store.programmes_in_force(c.city_code)
        per = Counter((p.pillar.split(".")[0], p.kind) for p in progs)
        for pillar in PILLARS:
            assert 4 <= per[(pillar, "masterplan")] + per[(pillar, "quickwin")] <= 12
            assert 1 <= per[(pillar, "quickwin")] <= 3
        for p in progs:
            assert (c.city_code, p.opd_code) in opd_codes  # owned by an OPD of the city
            assert 2020 <= p.start_year <= p.end_year <= 2026
            assert p.pillar in {s.code for s in fw.subpillars}
            assert p.indicator_codes and all(fw.indicator(i).subpillar == p.pillar for i in p.indicator_codes)
            assert {b.year for b in p.budgets} == set(range(p.start_year, p.end_year + 1))
            assert all(b.amount > 0 and b.source in ("APBD", "APBN", "mitra") for b in p.budgets)
            assert [s.year for s in p.statuses] == list(range(p.start_year, min(p.end_year, 2024) + 1))
            statuses.update(s.status for s in p.statuses)
            assert all(s.reason for s in p.statuses if s.status == "dihentikan")
        # a programme of each kind in every pillar is planned in every year: no pillar counts 0
        # because nothing was planned
        for y in demo.YEARS:
            for pillar in PILLARS:
                for kind in ("masterplan", "quickwin"):
                    assert any(
                        p.kind == kind and p.pillar.startswith(pillar) and p.start_year <= y <= p.end_year
                        for p in progs
                    )
    assert {"direncanakan", "berjalan", "selesai", "dihentikan"} <= set(statuses)
    assert all(
        p.budgets[0].source == "APBD"
        for c in demo.CITIES
        for p in demo_store.programmes_in_force(c.city_code)
    )
    # some programmes never started
    never = [
        p
        for c in demo.CITIES
        for p in demo_store.programmes_in_force(c.city_code)
        if all(s.status == "direncanakan" for s in p.statuses)
    ]
    assert len(never) >= 5


def test_programmes_stopped_with_a_reason_and_a_second_version():
    fw = load_framework(DEFAULT_FRAMEWORK_PATH)
    first = demo.CITIES[0].city_code
    _, opds, *_ = demo.generate(fw)
    registers = demo.programme_registers(fw, opds)
    assert registers == demo.programme_registers(fw, opds)  # seeded: the same every time
    stopped = [p.status_in(2024) for p in registers[first] if p.status_in(2024) is not None]
    stopped = [s for s in stopped if s.status == "dihentikan"]
    assert any(s.reason_accepted for s in stopped) and any(not s.reason_accepted for s in stopped)


def test_register_versions(demo_store):
    first = demo.CITIES[0]
    versions = demo_store.programme_versions(first.city_code)
    assert [(v.change, v.username) for v in versions] == [
        ("status", "opd.kominfo"),
        ("load", "bappeda.sukamaju"),
    ]
    new, old = ({p.code: p for p in demo_store.programmes_of_version(v.id)} for v in versions)  # newest first
    changed = [code for code in new if new[code] != old[code]]
    assert len(changed) == 1
    code = changed[0]
    assert (old[code].status_in(2024).status, new[code].status_in(2024).status) == (
        "direncanakan",
        "berjalan",
    )
    kominfo = next(
        o for o in demo_store.opds() if (o.city_code, o.opd_type) == (first.city_code, "DISKOMINFO")
    )
    assert new[code].opd_code == kominfo.opd_code
    assert all(len(demo_store.programme_versions(c.city_code)) == 1 for c in demo.CITIES[1:])


def test_surveys(demo_store):
    short = []
    for c in demo.CITIES:
        progs = {p.code: p for p in demo_store.programmes_in_force(c.city_code)}
        assert demo_store.survey_in_force(c.city_code, 2021) is None
        for year in (2022, 2023, 2024):
            upload, results = demo_store.survey_in_force(c.city_code, year)
            assert upload.source == "demo" and upload.n_rows == sum(r.respondents for r in results)
            per_pillar = Counter(progs[r.programme_code].pillar.split(".")[0] for r in results)
            assert set(per_pillar) == set(PILLARS) and max(per_pillar.values()) == 3
            for r in results:
                p = progs[r.programme_code]
                assert p.status_in(year).status in ("berjalan", "selesai")  # surveyed while it ran
                assert r.owner_opd == p.opd_code
                assert 3 <= len(r.questions) <= 5
                assert r.answers == sum(q.answers for q in r.questions) and r.answer_sum == sum(
                    q.answer_sum for q in r.questions
                )
                assert all(q.answers <= r.respondents for q in r.questions)
                assert 3.2 <= r.answer_sum / r.answers <= 4.3
                if r.respondents < 50:
                    short.append((c.city_code, year, r.programme_code))
                else:
                    assert r.respondents <= 150
    assert len(short) == 1 and short[0][:2] == (demo.CITIES[0].city_code, 2024)


def test_not_applicable_answers(demo_store):
    fw = load_framework(DEFAULT_FRAMEWORK_PATH)
    seen = {}
    for case in demo.NA_CASES:
        assert fw.indicator(case.indicator).allow_na
        claims = [
            c for c in demo_store.na_claims(case.city, case.year) if c["indicator_code"] == case.indicator
        ]
        assert len(claims) == 1 and claims[0]["reason"] == case.reason
        assert (claims[0]["decision"], claims[0]["decision_note"]) == (case.decision, case.note)
        seen[case.decision] = case
    assert set(seen) == {"accepted", "rejected", None}
    assert seen["rejected"].note  # returned to the OPD with the assessor's note
    # a "tidak berlaku" answer is not also answered with a level, nor with a figure
    bus = fw.indicator("LIV-07").metric.code
    subs = demo_store.submissions_frame()
    for case in demo.NA_CASES:
        if case.indicator == "LIV-07":
            rows = subs[(subs["city_code"] == case.city) & (subs["year"] == case.year)]
            assert bus not in set(rows["metric_code"].dropna())


def test_population_by_year(demo_store):
    rows = demo_store.population_rows()
    assert {(r.city_code, r.year) for r in rows} == {
        (c.city_code, y) for c in demo.CITIES for y in demo.YEARS
    }
    by = {(r.city_code, r.year): r.population for r in rows}
    for c in demo.CITIES:
        assert by[(c.city_code, 2024)] == c.population
        for y in demo.YEARS[1:]:
            assert 1.005 < by[(c.city_code, y)] / by[(c.city_code, y - 1)] < 1.015


def test_planner_accounts(demo_store):
    for c in demo.CITIES:
        row = demo_store.get_user_row(demo.planner_of(c))
        assert row[2:5] == ("planner", c.city_code, None)
    assert demo.planner_of(demo.CITIES[2]) == "bappeda.bandarpermai"


def test_per_population_metric_is_reported_as_a_count():
    """The OPD reports the number of internet points; scoring divides by the population."""
    fw = load_framework(DEFAULT_FRAMEWORK_PATH)
    _, _, subs, _, _ = demo.generate(fw)
    pop = {(p.city_code, p.year): p.population for p in demo.populations()}
    wifi = [s for _, s in subs if s.metric_code == "PUBLIC_WIFI_POINTS"]
    assert wifi
    for s in wifi:
        value = s.rows[0].value
        assert value == int(value)
        assert 0 <= value / pop[(s.city_code, s.year)] * 100000 <= 40  # per 100,000: thresholds 2-24
