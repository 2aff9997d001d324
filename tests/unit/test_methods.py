"""The programmes and survey methods, "tidak berlaku" answers and fair thresholds, on hand-computed
cases (tests/fixtures/methods.yaml; the rules are metrics.scoring's module docstring).

methods.yaml, scale 0-4: BASELINE 0.1 = {G2 (w2, GOV, allow_na), E1 (w1, ENV, metric WIFI_SPOTS
per 100,000 inhabitants, [5, 10, 20, 40])}; OUTPUT 0.2 = {G1 (w1, GOV.PUB), C1 (w2, ECO, metric
QRIS_MERCHANTS sum, default [100..400], kecil [25..100], metropolitan [400..1600])}; OUTCOME 0.3
programmes masterplan (pillar_weight 3); IMPACT 0.2 survey (min 50 respondents, pillar_weight 2);
QUICKWIN 0.2 programmes quickwin (pillar_weight 2); pillars GOV (sub-pillar GOV.PUB), ECO, ENV.

The city 0101 (kecil) in 2024, as built by `_city` (every number below is worked out by hand):
  rubric: G1 = 3 (OPD 01), C1 = 1 (OPD 01), E1 = 2 (OPD 03), G2 answered "tidak berlaku" by OPD 02
          and by nobody else: missing (0) until an assessor confirms it
  masterplan: ECO 12 programmes, 10 berjalan/selesai -> 4 x 10/12 = 3.3333; GOV 2 programmes, one
          berjalan, one dihentikan with an accepted reason -> 4 x 1/1 = 4; ENV none -> missing
  quick wins: GOV Q1 selesai + Q2 dihentikan (reason pending) -> 4 x 1/2 = 2; ECO Q3 no status
          (direncanakan) -> 0; ENV Q4 berjalan -> 4; Q5 starts 2025 (not counted); Q6 pillar XXX
          (not in the framework: ignored)
  survey: M-ECO-01 60 respondents, mean 4.0 -> impact 3.0; Q1 (GOV) 50, mean 3.5 -> 2.5; Q4 (ENV)
          49 respondents: insufficient; X99 not in the register: ignored
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from metrics import methods, scoring
from metrics.auth import SYSTEM
from metrics.cli import main as cli_main
from metrics.governance import decide_na, load_framework_text, load_registry_bytes, verify
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from metrics.records import Programme, ProgrammeStatus, SurveyProgramme
from metrics.store import Store
from tests import pg_cluster

pytestmark = pytest.mark.both_backends

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "methods.yaml"
CITIES = (
    b"city_code,name,province,category,population\n"
    b"0101,Kabupaten Uji,Jawa Barat,kecil,50000\n"
    b"0202,Kota Metro,DKI Jakarta,metropolitan,2000000\n"
    b"0303,Kota Sedang,Bali,sedang,300000\n"
    b"0404,Kota Tanpa Data,Bali,sedang,\n"
)
OPDS = (
    b"city_code,opd_code,opd_type,name\n"
    b"0101,01,DISKOMINFO,Diskominfo Uji\n0101,02,DISHUB,Dishub Uji\n0101,03,DLH,DLH Uji\n"
    b"0202,01,DISKOMINFO,Diskominfo Metro\n0202,03,DLH,DLH Metro\n"
    b"0303,01,DISKOMINFO,Diskominfo Sedang\n0303,03,DLH,DLH Sedang\n"
    b"0404,01,DISKOMINFO,Diskominfo Tanpa\n0404,03,DLH,DLH Tanpa\n"
)
ASSESS = (
    b"city_code;opd_code;year;indicator_code;level;evidence;note\n"
    b"0101;01;2024;G1;3;Perbup 1/2024;\n"
    b"0101;01;2024;C1;1;;\n"
    b"0101;02;2024;G2;TB;;Kabupaten tidak punya layanan bus kota\n"
    b"0101;03;2024;E1;2;;\n"
)
TOL = 1e-12


@pytest.fixture
def new_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """A new empty database of the test's backend per call (a file, or a PostgreSQL database
    dropped after the test), by name."""
    made: list[str] = []
    if backend == "postgresql":
        request.getfixturevalue("pg_state_dir")  # where its key files go

    def make(name: str) -> str:
        if backend == "postgresql":
            made.append(pg_cluster.create_database())
            return made[-1]
        return str(tmp_path / f"{name}.duckdb")

    yield make
    for url in made:
        pg_cluster.drop_database(url)


def _store(new_db: Callable[[str], str], missing: str = "zero") -> Store:
    store = Store(new_db(f"methods-{missing}"))
    load_framework_text(
        store, SYSTEM, FIXTURE.read_text(encoding="utf-8").replace("missing: zero", f"missing: {missing}")
    )
    load_registry_bytes(store, SYSTEM, CITIES, "cities.csv")
    load_registry_bytes(store, SYSTEM, OPDS, "opds.csv")
    return store


def _p(
    code: str,
    pillar: str,
    kind: str,
    status: str | None,
    *,
    accepted: bool = False,
    start: int = 2023,
    end: int = 2026,
) -> Programme:
    statuses = ()
    if status is not None:
        reason = "Anggaran dialihkan" if status == "dihentikan" else None
        statuses = (ProgrammeStatus(2024, status, reason, accepted),)
    return Programme(code, f"Program {code}", pillar, kind, "01", start, end, statuses=statuses)


def _register(stalled_reason_accepted: bool = False) -> list[Programme]:
    eco = [
        _p(f"M-ECO-{n:02d}", "ECO", "masterplan", "berjalan" if n <= 6 else "selesai") for n in range(1, 11)
    ]
    eco += [_p("M-ECO-11", "ECO", "masterplan", "direncanakan"), _p("M-ECO-12", "ECO", "masterplan", None)]
    return [
        *eco,
        _p("M-GOV-01", "GOV.PUB", "masterplan", "berjalan"),  # a sub-pillar maps to its pillar
        _p("M-GOV-02", "GOV", "masterplan", "dihentikan", accepted=True),
        _p("Q1", "GOV", "quickwin", "selesai"),
        _p("Q2", "GOV", "quickwin", "dihentikan", accepted=stalled_reason_accepted),
        _p("Q3", "ECO", "quickwin", None),
        _p("Q4", "ENV", "quickwin", "berjalan"),
        _p("Q5", "ENV", "quickwin", None, start=2025),
        _p("Q6", "XXX", "quickwin", "berjalan"),
    ]


SURVEY = [
    SurveyProgramme("M-ECO-01", 60, 120, 480.0, "01"),  # mean 4.0 -> impact 3.0
    SurveyProgramme("Q1", 50, 100, 350.0, "01"),  # mean 3.5 -> impact 2.5
    SurveyProgramme("Q4", 49, 98, 490.0, "03"),  # 49 < 50: insufficient
    SurveyProgramme("X99", 80, 80, 400.0, None),  # not in the register: ignored
]


def _city(store: Store, *, stalled_reason_accepted: bool = False) -> None:
    result = ingest_bytes(store, SYSTEM, ASSESS, "isian.csv")
    assert result.accepted, [p.key for p in result.problems]
    with store.transaction() as cur:
        store.insert_programme_version(cur, "0101", _register(stalled_reason_accepted), "tester", "test")
        store.insert_survey(
            cur,
            "0101",
            2024,
            SURVEY,
            "tester",
            file_name=None,
            sha256=None,
            source="test",
            n_rows=239,
            mapping=None,
        )


def _score(store: Store, city: str = "0101", year: int = 2024) -> scoring.CityScore:
    s = scoring.city_score(store, city, year)
    assert s is not None
    assert scoring.recomputation_differences(store, [year]) == []  # the kept tables agree with the raw rows
    return s


@pytest.fixture
def store(new_db: Callable[[str], str]) -> Iterator[Store]:
    s = _store(new_db)
    yield s
    s.close()


def test_the_hand_computed_city_with_an_unconfirmed_na(store):
    _city(store)
    s = _score(store)
    assert s.dimensions["BASELINE"] == pytest.approx((2 * 0 + 1 * 2) / 3, abs=TOL)  # G2 missing: 0
    assert s.dimensions["OUTPUT"] == pytest.approx((1 * 3 + 2 * 1) / 3, abs=TOL)
    assert s.dimensions["OUTCOME"] == pytest.approx((4 + 4 * 10 / 12 + 0) / 3, abs=TOL)  # 2.4444
    assert s.dimensions["IMPACT"] == pytest.approx((3.0 + 2.5) / 2, abs=TOL)
    assert s.dimensions["QUICKWIN"] == pytest.approx((2 + 0 + 4) / 3, abs=TOL)
    # P = (sum w L + sum pw v) / (sum w + sum pw), pw: OUTCOME 3, IMPACT 2, QUICKWIN 2
    assert s.pillars["GOV"] == pytest.approx((1 * 3 + 2 * 0 + 3 * 4 + 2 * 2.5 + 2 * 2) / 10, abs=TOL)  # 2.4
    assert s.pillars["ECO"] == pytest.approx(
        (2 * 1 + 3 * (4 * 10 / 12) + 2 * 3.0 + 2 * 0) / 9, abs=TOL
    )  # 2.0
    assert s.pillars["ENV"] == pytest.approx((1 * 2 + 3 * 0 + 2 * 0 + 2 * 4) / 8, abs=TOL)  # 1.25
    assert s.subpillars == pytest.approx({"GOV.PUB": 3.0}, abs=TOL)  # rubric indicators only
    assert s.index == pytest.approx(25 / 12, abs=TOL)  # .1*2/3 + .2*5/3 + .3*22/9 + .2*2.75 + .2*2
    # pairs: G1-01, G2-01, G2-02, C1-01, E1-03; the claim is not an answer
    assert (s.indicators, s.missing, s.pairs, s.answered) == (4, 1, 5, 3)
    levels = {lv.code: lv for lv in scoring.indicator_levels(store, "0101", 2024)}
    assert (levels["G2"].source, levels["G2"].na_claims, levels["G2"].effective) == ("missing", 1, None)
    [na] = methods.na_indicators(store, SYSTEM, "0101", 2024)
    assert (na.code, na.claims, na.status, na.reason) == (
        "G2",
        1,
        "pending",
        "02: Kabupaten tidak punya layanan bus kota",
    )


def test_a_confirmed_na_leaves_dimension_pillar_index_and_completeness(store):
    _city(store)
    decide_na(store, SYSTEM, "0101", 2024, "G2", True)
    s = _score(store)
    assert s.dimensions["BASELINE"] == pytest.approx(2.0, abs=TOL)  # E1 alone
    assert s.pillars["GOV"] == pytest.approx((3 + 12 + 5 + 4) / 8, abs=TOL)  # 3.0: G2's weight 2 leaves
    assert s.index == pytest.approx(133 / 60, abs=TOL)  # .1*2 + .2*5/3 + .3*22/9 + .2*2.75 + .2*2
    assert (s.indicators, s.missing, s.pairs, s.answered) == (3, 0, 3, 3)
    assert s.completeness == pytest.approx(1.0)
    opds = {o.opd_code: o for o in scoring.opd_scores(store, 2024, "0101")}
    assert (opds["01"].pairs, opds["01"].answered) == (2, 2)  # G1, C1 (G2 left)
    assert (opds["02"].pairs, opds["02"].answered, opds["02"].completeness) == (0, 0, None)
    levels = {lv.code: lv for lv in scoring.indicator_levels(store, "0101", 2024)}
    assert (levels["G2"].source, levels["G2"].score_level) == ("na", None)
    # a verification of a confirmed N/A indicator is ignored
    verify(store, SYSTEM, "0101", 2024, "G2", 4, "kunjungan")
    assert _score(store).index == pytest.approx(133 / 60, abs=TOL)
    [na] = methods.na_indicators(store, SYSTEM, "0101", 2024)
    assert (na.status, na.decision) == ("confirmed", "accepted")
    assert methods.na_counts((na,)) == {"confirmed": 1, "pending": 0, "rejected": 0, "withdrawn": 0}
    # rejected later: the newest decision counts, G2 is missing again (and the verification counts)
    decide_na(store, SYSTEM, "0101", 2024, "G2", False, "Ada trayek angkutan kota")
    s = _score(store)
    assert s.dimensions["BASELINE"] == pytest.approx((2 * 4 + 1 * 2) / 3, abs=TOL)
    assert (s.indicators, s.missing, s.pairs, s.answered) == (4, 0, 5, 3)
    assert methods.na_indicators(store, SYSTEM, "0101", 2024)[0].status == "rejected"


def test_a_confirmed_na_also_drops_another_opds_level(store):
    _city(store)
    extra = b"city_code;opd_code;year;indicator_code;level;evidence;note\n0101;01;2024;G2;3;;\n"
    assert ingest_bytes(store, SYSTEM, extra, "g2.csv", mode="merge").accepted
    s = _score(store)
    assert s.dimensions["BASELINE"] == pytest.approx((2 * 3 + 2) / 3, abs=TOL)  # the claim gives no level
    assert (s.pairs, s.answered) == (5, 4)
    decide_na(store, SYSTEM, "0101", 2024, "G2", True)
    s = _score(store)
    assert s.dimensions["BASELINE"] == pytest.approx(2.0, abs=TOL)
    assert (s.indicators, s.pairs, s.answered) == (3, 3, 3)  # G2's pairs (01, 02) and 01's answer leave


def test_programmes_without_a_pillar_count_zero_or_are_left_out(store, new_db):
    _city(store)
    outcome = {m.code: m for m in methods.method_inputs(store, SYSTEM, "0101", 2024)}["OUTCOME"]
    by_pillar = {p.pillar: p for p in outcome.pillars}
    assert (by_pillar["ECO"].planned, by_pillar["ECO"].running, by_pillar["ECO"].not_started) == (12, 10, 2)
    assert by_pillar["ECO"].value == pytest.approx(4 * 10 / 12, abs=TOL)  # 3.3333
    assert (by_pillar["GOV"].planned, by_pillar["GOV"].running, by_pillar["GOV"].excluded) == (1, 1, 1)
    assert (by_pillar["ENV"].planned, by_pillar["ENV"].value) == (0, None)
    assert outcome.value == pytest.approx(22 / 9, abs=TOL)  # (4 + 3.3333 + 0) / 3
    other = _store(new_db, "exclude")
    try:
        _city(other)
        s = _score(other)
        assert s.dimensions["OUTCOME"] == pytest.approx(
            (4 + 4 * 10 / 12) / 2, abs=TOL
        )  # 3.6667: ENV left out
        assert s.dimensions["IMPACT"] == pytest.approx(2.75, abs=TOL)
        assert s.dimensions["BASELINE"] == pytest.approx(2.0, abs=TOL)  # G2 missing: left out
        # ENV: E1 (w1) = 2, QUICKWIN (pw 2) = 4; OUTCOME and IMPACT have none there: left out
        assert s.pillars["ENV"] == pytest.approx((1 * 2 + 2 * 4) / 3, abs=TOL)
    finally:
        other.close()


def test_a_dropped_programme_with_an_accepted_reason_leaves_the_count(store):
    _city(store)
    quick = {m.code: m for m in methods.method_inputs(store, SYSTEM, "0101", 2024)}["QUICKWIN"]
    gov = next(p for p in quick.pillars if p.pillar == "GOV")
    assert (gov.planned, gov.running, gov.stalled, gov.excluded, gov.value) == (2, 1, 1, 0, 2.0)  # pending
    assert quick.ignored == ("Q6",)  # pillar XXX is not in the framework; Q5 starts in 2025
    with store.transaction() as cur:
        store.insert_programme_version(
            cur, "0101", _register(stalled_reason_accepted=True), "tester", "accept"
        )
    quick = {m.code: m for m in methods.method_inputs(store, SYSTEM, "0101", 2024)}["QUICKWIN"]
    gov = next(p for p in quick.pillars if p.pillar == "GOV")
    assert (gov.planned, gov.running, gov.stalled, gov.excluded, gov.value) == (1, 1, 0, 1, 4.0)
    s = _score(store)
    assert s.dimensions["QUICKWIN"] == pytest.approx((4 + 0 + 4) / 3, abs=TOL)
    assert s.index == pytest.approx(25 / 12 + 0.2 * (8 / 3 - 2), abs=TOL)


def test_a_survey_programme_under_the_minimum_is_left_out(store):
    _city(store)
    impact = {m.code: m for m in methods.method_inputs(store, SYSTEM, "0101", 2024)}["IMPACT"]
    got = {p.code: (p.respondents, p.mean, p.impact, p.sufficient) for p in impact.programmes}
    assert got == {
        "M-ECO-01": (60, 4.0, 3.0, True),
        "Q1": (50, 3.5, 2.5, True),
        "Q4": (49, 5.0, 4.0, False),
    }
    assert impact.ignored == ("X99",)
    assert impact.value == pytest.approx(2.75, abs=TOL)
    assert {p.pillar: (p.programmes, p.value) for p in impact.pillars} == {
        "GOV": (1, 2.5),
        "ECO": (1, 3.0),
        "ENV": (0, None),
    }


def test_programmes_or_a_survey_alone_add_no_city_year(store):
    with store.transaction() as cur:
        store.insert_programme_version(cur, "0202", _register(), "tester", "test")
    assert scoring.score(store, [2024]) == []
    # asked for, the city-year is scored on the spot: its methods count, its indicators are missing
    s = scoring.city_score(store, "0202", 2024)
    assert s is not None and s.dimensions["OUTCOME"] == pytest.approx(22 / 9, abs=TOL)
    assert s.dimensions["IMPACT"] is None  # no survey
    assert s.index == pytest.approx((0.3 * 22 / 9 + 0.2 * 2) / 0.8, abs=TOL)  # BASELINE/OUTPUT 0, IMPACT none


def test_category_thresholds_give_the_same_value_different_levels(store):
    data = (
        b"city_code,opd_code,metric_code,period,value\n"
        b"0101,01,QRIS_MERCHANTS,2024,120\n0202,01,QRIS_MERCHANTS,2024,120\n0303,01,QRIS_MERCHANTS,2024,120\n"
    )
    assert ingest_bytes(store, SYSTEM, data, "qris.csv").accepted
    got = {}
    for city in ("0101", "0202", "0303"):
        lv = next(x for x in scoring.indicator_levels(store, city, 2024) if x.code == "C1")
        got[city] = (lv.metric_value, lv.metric_level, tuple(lv.thresholds or ()))
    assert got == {
        "0101": (120.0, 4, (25, 50, 75, 100)),  # kecil: 120 reaches all four
        "0202": (120.0, 0, (400, 800, 1200, 1600)),  # metropolitan: none
        "0303": (120.0, 1, (100, 200, 300, 400)),  # sedang: no list of its own, the default
    }
    assert _score(store, "0101").dimensions["OUTPUT"] == pytest.approx(2 * 4 / 3, abs=TOL)
    assert _score(store, "0202").dimensions["OUTPUT"] == pytest.approx(0.0, abs=TOL)
    # the city becomes sedang: its scores follow the registry at once
    load_registry_bytes(
        store,
        SYSTEM,
        b"city_code,name,province,category,population\n0202,Kota Metro,DKI Jakarta,sedang,2000000\n",
        "c.csv",
    )
    assert _score(store, "0202").dimensions["OUTPUT"] == pytest.approx(2 * 1 / 3, abs=TOL)


def test_per_population_thresholds_follow_the_population_by_year(store):
    pop = b"city_code,year,population\n0101,2023,40000\n0101,2024,80000\n"
    load_registry_bytes(store, SYSTEM, pop, "penduduk.csv")
    data = (
        b"city_code,opd_code,metric_code,period,value\n"
        b"0101,03,WIFI_SPOTS,2023,12\n0101,03,WIFI_SPOTS,2024,12\n0101,03,WIFI_SPOTS,2025,12\n"
        b"0404,03,WIFI_SPOTS,2024,12\n"
    )
    assert ingest_bytes(store, SYSTEM, data, "wifi.csv").accepted
    self_e1 = b"city_code;opd_code;year;indicator_code;level;evidence;note\n0404;03;2024;E1;1;;\n"
    assert ingest_bytes(store, SYSTEM, self_e1, "e1.csv").accepted

    def e1(city: str, year: int) -> scoring.IndicatorLevel:
        return next(x for x in scoring.indicator_levels(store, city, year) if x.code == "E1")

    # 12 / 40,000 x 100,000 = 30 -> 3 (>= 5, 10, 20); 12 / 80,000 x 100,000 = 15 -> 2
    assert (e1("0101", 2023).metric_basis, e1("0101", 2023).metric_level) == (pytest.approx(30.0), 3)
    assert (e1("0101", 2024).metric_basis, e1("0101", 2024).metric_level, e1("0101", 2024).population) == (
        pytest.approx(15.0),
        2,
        80000,
    )
    assert e1("0101", 2025).metric_level == 2  # no 2025 figure: the latest before it (2024)
    # a corrected 2024 figure: 12 / 60,000 x 100,000 = 20 -> 3, scores rebuilt at once
    load_registry_bytes(store, SYSTEM, b"city_code,year,population\n0101,2024,60000\n", "penduduk2.csv")
    assert e1("0101", 2024).metric_level == 3
    assert _score(store, "0101").dimensions["BASELINE"] == pytest.approx((2 * 0 + 1 * 3) / 3, abs=TOL)
    # no population at all: no metric level, the self-assessment counts, and the reason is given
    lv = e1("0404", 2024)
    assert (lv.metric_value, lv.metric_level, lv.source, lv.effective) == (12.0, None, "self", 1)
    assert lv.metric_unscored_reason == "no_population"


def test_score_json_reports_each_dimensions_method_and_inputs(store, capsys):
    _city(store)
    path = store.path
    store.close()
    assert cli_main(["--db", str(path), "score", "--year", "2024", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    [city] = out["cities"]
    methods_ = city["dimension_methods"]
    assert methods_["BASELINE"] == {"method": "rubric", "inputs": None}
    assert methods_["OUTCOME"]["method"] == "programmes"
    eco = next(p for p in methods_["OUTCOME"]["inputs"]["pillars"] if p["pillar"] == "ECO")
    assert (eco["planned"], eco["running"]) == (12, 10)
    assert methods_["IMPACT"]["inputs"]["min_respondents"] == 50
    assert [p["code"] for p in methods_["IMPACT"]["inputs"]["programmes"] if not p["sufficient"]] == ["Q4"]
    assert city["index"] == pytest.approx(25 / 12, abs=TOL)


def test_index_gain_shares_the_index_with_the_method_dimensions(store):
    _city(store)
    fw = next(f for f, _ in loaded_frameworks(store))
    levels = scoring.indicator_levels(store, "0101", 2024)
    dims = _score(store).dimensions
    gains = scoring.index_gain_per_level(fw, levels, dims)
    # G1: OUTPUT weight 0.2 of the five dimensions' 1.0, G1's weight 1 of OUTPUT's 3
    assert gains["G1"] == pytest.approx(0.2 / 1.0 * 1 / 3, abs=TOL)
    # G2 (missing, counted as 0): BASELINE 0.1, its weight 2 of 3
    assert gains["G2"] == pytest.approx(0.1 * 2 / 3, abs=TOL)
    # C1 (level 1): OUTPUT 0.2, its weight 2 of 3: the largest gain
    [top] = scoring.priorities(fw, levels, 1, dims)
    assert (top.code, top.gain) == ("C1", pytest.approx(0.2 * 2 / 3, abs=TOL))
