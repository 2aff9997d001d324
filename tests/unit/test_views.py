"""The read-models behind the result pages, on real DuckDB: the hand-computable mini store and the demo.

Each read-model must agree with the scoring core it is built on (the index, the ranks, the
completeness counts), must let a reader recompute every number it shows (the formulas), and
must say honestly when there is nothing to show, when missing indicators count as 0, and when
years were scored under different frameworks.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from metrics import scoring, views
from metrics.auth import SYSTEM
from metrics.demo import YEARS
from metrics.framework import framework_for_year
from metrics.governance import load_framework_text, load_registry_bytes, set_period, verify
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from metrics.store import Store
from tests.conftest import ASSESS_CSV, MINI_YAML

pytestmark = pytest.mark.both_backends

CITY = "3299"  # the demo mayor's city
YEAR = YEARS[-1]
METRICS_CSV = (
    b"city_code,opd_code,metric_code,period,value\n"
    b"0101,02,ONLINE_LICENCE_SHARE,2023-01,80\n"
    b"0101,02,ONLINE_LICENCE_SHARE,2023-02,90\n"
)


# --------------------------------------------------------------------------- states


def test_every_view_says_empty_on_a_new_database(tmp_path):
    store = Store(tmp_path / "empty.duckdb")
    try:
        assert views.overview(store, None, None, user=SYSTEM).state == "empty"
        assert views.rankings(store, None, None, user=SYSTEM).state == "empty"
        assert views.compare(store, None, default_city=None, user=SYSTEM).state == "empty"
        assert views.drilldown(store, None, None, user=SYSTEM).state == "empty"
        assert views.completeness(store, None, None, user=SYSTEM).state == "empty"
        assert views.matrix(store, None, None, user=SYSTEM).state == "empty"
    finally:
        store.close()


READ_VIEWS = ("overview", "rankings", "compare", "drilldown", "completeness", "matrix")


@pytest.mark.parametrize("name", READ_VIEWS)
def test_results_are_refused_to_the_public_until_the_admin_publishes_them(demo_store, name):
    from metrics.admin import set_public_read
    from metrics.auth import ANONYMOUS, User
    from metrics.errors import PermissionDenied

    fn = getattr(views, name)
    args = ((CITY,),) if name == "compare" else (CITY, YEAR)
    with pytest.raises(PermissionDenied):
        fn(demo_store, *args, user=ANONYMOUS)
    assert fn(demo_store, *args, user=User("tamu", "viewer")).state == "ok"
    set_public_read(demo_store, SYSTEM, True)
    assert fn(demo_store, *args, user=ANONYMOUS).state == "ok"
    set_public_read(demo_store, SYSTEM, False)
    with pytest.raises(PermissionDenied):
        fn(demo_store, *args, user=ANONYMOUS)
    with pytest.raises(PermissionDenied):  # a disabled account reads nothing either
        fn(demo_store, *args, user=User("tamu", "viewer", active=False))


def test_registry_without_data_is_no_data_not_an_index_of_zero(mini):
    # scoring.score() lays out an asked-for city-year with everything missing (index 0 under
    # `missing: zero`); the pages must say "no data yet" instead of showing 0.00
    assert scoring.city_score(mini, "0101", 2023).index == pytest.approx(0.0)
    assert views.overview(mini, "0101", 2023, user=SYSTEM).state == "no_data"
    assert views.drilldown(mini, "0101", 2023, user=SYSTEM).state == "no_data"
    assert views.matrix(mini, "0101", 2023, user=SYSTEM).state == "no_data"
    assert views.overview(mini, "9999", 2023, user=SYSTEM).state == "no_city"
    cp = views.completeness(mini, "0101", 2023, user=SYSTEM)  # this page exists to show the emptiness
    assert cp.state == "ok" and (cp.n_submitted, cp.n_opds) == (0, 3)
    assert set(cp.opds["status"]) == {"none"}


# --------------------------------------------------------------------------- overview


def test_overview_on_the_hand_computed_case(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    ov = views.overview(mini, "0101", 2023, "en", user=SYSTEM)
    assert ov.state == "ok"
    assert ov.index == pytest.approx(1.8)  # see test_scoring.test_self_assessment_only
    assert ov.band.label == "Initiating"
    assert (ov.missing, ov.indicators, ov.answered, ov.pairs) == (1, 4, 4, 5)
    assert ov.completeness == pytest.approx(0.8)
    assert ov.prev_year is None and ov.delta is None  # no 2022 data
    dims = dict(zip(ov.dimensions["code"], ov.dimensions["value"]))
    assert dims == pytest.approx({"OUTPUT": 1.5, "OUTCOME": 2.0})
    assert list(ov.dimensions["name"]) == ["Output", "Outcome"]
    assert ov.scale.missing_rule == "zero" and (ov.scale.min, ov.scale.max) == (0, 4)
    # gain per level = W_dimension * w_i / sum(w in dimension): G2 0.6*2/3, E1 0.4*3/4, E2 0.6*1/3, G1 0.4*1/4
    assert list(ov.priorities["code"]) == ["G2", "E1", "E2", "G1"]
    assert list(ov.priorities["gain"]) == pytest.approx([0.4, 0.3, 0.2, 0.1])


def test_overview_agrees_with_the_core_on_the_demo(demo_store):
    ov = views.overview(demo_store, CITY, YEAR, "id", user=SYSTEM)
    cs = scoring.city_score(demo_store, CITY, YEAR)
    prev = scoring.city_score(demo_store, CITY, YEAR - 1)
    assert ov.index == pytest.approx(cs.index)
    assert ov.delta == pytest.approx(cs.index - prev.index)
    assert ov.prev_year == YEAR - 1 and not ov.framework_changed
    fw = framework_for_year(loaded_frameworks(demo_store), YEAR)
    assert ov.band.label == fw.band(cs.index).label["id"]
    assert dict(zip(ov.dimensions["code"], ov.dimensions["value"])) == pytest.approx(cs.dimensions)
    assert dict(zip(ov.dimensions["code"], ov.dimensions["prev"])) == pytest.approx(prev.dimensions)
    assert dict(zip(ov.pillars["code"], ov.pillars["value"])) == pytest.approx(cs.pillars)
    assert (ov.missing, ov.indicators) == (cs.missing, cs.indicators)
    expected = scoring.priorities(fw, scoring.indicator_levels(demo_store, CITY, YEAR), 5)
    assert list(ov.priorities["code"]) == [p.code for p in expected]


def _second_framework(store, year: int) -> str:
    """Load a changed copy of the mini framework from `year` (different id and weights)."""
    text = (
        MINI_YAML.read_text(encoding="utf-8")
        .replace("id: mini-2023", "id: mini-2024")
        .replace("applies_from: 2023", f"applies_from: {year}")
        .replace("weight: 0.4}", "weight: 0.5}")
        .replace("weight: 0.6}", "weight: 0.5}")
    )
    fw, _ = load_framework_text(store, SYSTEM, text)
    return fw.id


def test_a_framework_change_between_years_is_flagged(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert _second_framework(mini, 2024) == "mini-2024"
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV.replace(b";2023;", b";2024;"), "b.csv").accepted
    ov = views.overview(mini, "0101", 2024, user=SYSTEM)
    assert ov.framework_changed and (ov.prev_framework_id, ov.framework_id) == ("mini-2023", "mini-2024")
    cmp = views.compare(mini, ("0101",), user=SYSTEM)
    assert cmp.framework_changes == ((2024, "mini-2023", "mini-2024"),)
    assert set(cmp.series["framework_id"]) == {"mini-2023", "mini-2024"}
    assert bool(cmp.latest["framework_changed"].iloc[0])
    rk = views.rankings(mini, "0101", 2024, user=SYSTEM)
    assert rk.framework_changed and bool(
        rk.cities.loc[rk.cities["city_code"] == "0101", "framework_changed"].iloc[0]
    )


# --------------------------------------------------------------------------- rankings


def test_rankings_follow_the_core_ranks_and_movement(demo_store):
    rk = views.rankings(demo_store, CITY, YEAR, user=SYSTEM)
    now = scoring.score(demo_store, [YEAR])
    before = scoring.score(demo_store, [YEAR - 1])
    r_now = {c: r for c, _, r in scoring.competition_ranks([(s.city_code, s.index) for s in now])}
    r_before = {c: r for c, _, r in scoring.competition_ranks([(s.city_code, s.index) for s in before])}
    assert list(rk.cities["city_code"]) == sorted(
        r_now, key=lambda c: (r_now[c], rk.cities.set_index("city_code").loc[c, "name"])
    )
    assert list(rk.cities["index"]) == sorted(rk.cities["index"], reverse=True)
    for row in rk.cities.itertuples():
        assert row.rank == r_now[row.city_code]
        assert row.movement == r_before[row.city_code] - r_now[row.city_code]
    assert rk.city_rank == r_now[CITY] and rk.ranked_cities == len(now)
    assert rk.cities.loc[rk.city_row, "city_code"] == CITY
    # OPDs: ranked by their own index, unranked (no answers) last, change against last year
    ops = {o.opd_code: o for o in scoring.opd_scores(demo_store, YEAR, CITY)}
    prev = {o.opd_code: o for o in scoring.opd_scores(demo_store, YEAR - 1, CITY)}
    ranked = rk.opds[rk.opds["index"].notna()]
    assert list(ranked["index"]) == sorted(ranked["index"], reverse=True)
    assert rk.opds["index"].isna().sum() == sum(1 for o in ops.values() if o.index is None)
    assert rk.ranked_opds == len(ranked)
    for row in ranked.itertuples():
        assert row.index == pytest.approx(ops[row.opd_code].index)
        p = prev.get(row.opd_code)
        if p is not None and p.index is not None:
            assert row.change == pytest.approx(ops[row.opd_code].index - p.index)


def test_rankings_filter_keeps_national_ranks(demo_store):
    everyone = views.rankings(demo_store, CITY, YEAR, user=SYSTEM)
    rk = views.rankings(demo_store, CITY, YEAR, province="Jawa Timur", user=SYSTEM)
    assert rk.filtered and set(rk.cities["province"]) == {"Jawa Timur"}
    national = dict(zip(everyone.cities["city_code"], everyone.cities["rank"]))
    assert all(r.rank == national[r.city_code] for r in rk.cities.itertuples())
    assert list(rk.cities["rank_in_selection"]) == list(range(1, len(rk.cities) + 1))
    assert rk.city_row is None  # the reader's city is not in Jawa Timur
    rk = views.rankings(demo_store, CITY, YEAR, category="kecil", user=SYSTEM)
    assert set(rk.cities["category"]) == {"kecil"} and len(rk.cities) == 3


def test_ranking_exports_are_formula_safe(mini):
    load_registry_bytes(
        mini, SYSTEM, b'city_code,opd_code,opd_type,name\n0101,09,DLH,=HYPERLINK("http://x")\n', "opds.csv"
    )
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    rk = views.rankings(mini, "0101", 2023, lang="en", user=SYSTEM)
    assert '=HYPERLINK("http://x")' in set(rk.opds["name"])  # shown as it is on screen
    opd_csv = views.rankings_file(mini, "0101", 2023, None, None, "en", "opd_csv", user=SYSTEM)
    rows = list(csv.reader(io.StringIO(opd_csv.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Rank", "OPD code", "OPD"]
    assert [r[2] for r in rows[1:] if "HYPERLINK" in r[2]] == ['\'=HYPERLINK("http://x")']
    wb = load_workbook(
        io.BytesIO(views.rankings_file(mini, "0101", 2023, None, None, "en", "xlsx", user=SYSTEM))
    )
    assert wb.sheetnames == ["OPD", "City"]
    cells = [
        c for row in wb["OPD"].iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert [c.value for c in cells] == ['\'=HYPERLINK("http://x")'] and all(c.data_type != "f" for c in cells)
    assert [c.value for c in wb["City"][1]][:3] == ["Rank", "Rank last year", "Rank movement"]


def test_ranking_downloads_are_made_on_request_and_audited(demo_store):
    from metrics import exports
    from metrics.auth import ANONYMOUS, User
    from metrics.errors import PermissionDenied

    viewer = User("tamu", "viewer")
    before = demo_store.audit_count()
    data = exports.rankings_download(demo_store, CITY, YEAR, None, None, "id", "city_csv", user=viewer)
    shown = views.rankings(demo_store, CITY, YEAR, user=viewer).cities
    rows_csv = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r[4] for r in rows_csv[1:]] == list(shown["name"])  # the table the reader sees, in its order
    rows = demo_store.audit_rows()
    assert demo_store.audit_count() == before + 1
    assert (rows[-1].username, rows[-1].action, rows[-1].object) == (
        "tamu",
        "export",
        f"rankings:{YEAR}/{CITY}",
    )
    with pytest.raises(PermissionDenied):
        exports.rankings_download(demo_store, CITY, YEAR, None, None, "id", "xlsx", user=ANONYMOUS)
    assert demo_store.audit_count() == before + 1


# --------------------------------------------------------------------------- year over year


def test_compare_lines_and_movers_come_from_the_core(demo_store):
    chosen = (CITY, "3599")
    cmp = views.compare(demo_store, chosen, YEARS[0], YEARS[-1], "id", user=SYSTEM)
    assert cmp.state == "ok" and cmp.cities == chosen and cmp.years == YEARS
    scores = {(s.city_code, s.year): s for s in scoring.score(demo_store, list(YEARS))}
    idx = cmp.series[cmp.series["measure"] == "index"]
    assert len(idx) == len(chosen) * len(YEARS)
    for row in idx.itertuples():
        assert row.value == pytest.approx(scores[(row.city_code, row.year)].index)
    dims = cmp.series[cmp.series["measure"] == "OUTCOME"]
    for row in dims.itertuples():
        assert row.value == pytest.approx(scores[(row.city_code, row.year)].dimensions["OUTCOME"])
    assert cmp.framework_changes == ()
    assert list(cmp.series["city_code"].drop_duplicates()) == list(chosen)  # the reader's city first
    # movers: real differences of the levels counted, biggest first
    hist = {(c, y, i): sl for c, y, i, _, sl in demo_store.level_history(CITY, [YEARS[0], YEARS[-1]])}
    assert not cmp.rising.empty and not cmp.falling.empty
    assert list(cmp.rising["change"]) == sorted(cmp.rising["change"], reverse=True)
    assert list(cmp.falling["change"]) == sorted(cmp.falling["change"])
    for row in cmp.rising[cmp.rising["city_code"] == CITY].itertuples():
        assert row.change == pytest.approx(
            hist[(CITY, YEARS[-1], row.code)] - hist[(CITY, YEARS[0], row.code)]
        )
    assert (cmp.rising["change"] > 0).all() and (cmp.falling["change"] < 0).all()
    assert len(cmp.rising) <= views.TOP_MOVERS
    latest = cmp.latest.set_index("city_code")
    assert latest.loc[CITY, "change"] == pytest.approx(
        scores[(CITY, YEARS[-1])].index - scores[(CITY, YEARS[0])].index
    )


def test_compare_caps_cities_defaults_to_peers_and_filters_years(demo_store):
    every = tuple(c.city_code for c in demo_store.cities())
    assert len(every) == 7
    cmp = views.compare(demo_store, every, user=SYSTEM)
    assert cmp.truncated and cmp.cities == every[: views.MAX_COMPARE_CITIES]
    peers = views.compare(demo_store, None, default_city=CITY, user=SYSTEM)
    assert len(peers.cities) == 3 and peers.cities[0] == CITY
    window = views.compare(demo_store, (CITY,), 2022, 2023, user=SYSTEM)
    assert window.years == (2022, 2023) and set(window.series["year"]) == {2022, 2023}
    assert views.compare(demo_store, (), user=SYSTEM).state == "no_city"


# --------------------------------------------------------------------------- drill-down


def test_drilldown_formulas_recompute_the_core(demo_store):
    dd = views.drilldown(demo_store, CITY, YEAR, "id", user=SYSTEM)
    cs = scoring.city_score(demo_store, CITY, YEAR)
    assert dd.index == pytest.approx(cs.index)
    assert dd.index_formula.result == pytest.approx(cs.index)
    assert dd.index_formula.text("en").endswith(f"= {cs.index:.2f}")
    # Indonesian: the decimal comma in every term and the result (metrics.formatting)
    id_text = dd.index_formula.text("id")
    assert id_text.endswith("= " + f"{cs.index:.2f}".replace(".", ",")) and "." not in id_text
    # the terms themselves recompute it: sum(W * D) / sum(W)
    terms = dd.index_formula.terms
    assert sum(w * v for _, w, v in terms) / sum(w for _, w, _ in terms) == pytest.approx(cs.index)
    for g in dd.groups["dimension"]:
        assert g.formula.result == pytest.approx(cs.dimensions[g.code]), g.code
        assert g.value == pytest.approx(cs.dimensions[g.code])
    for g in dd.groups["pillar"]:
        assert g.formula.result == pytest.approx(cs.pillars[g.code]), g.code
    assert sum(g.missing for g in dd.groups["dimension"]) == cs.missing
    table = dd.table("pillar", "GOV")
    assert set(table["pillar"]) == {"GOV"} and len(table) == len(dd.group("pillar", "GOV").indicators)


def test_drilldown_explains_each_source(demo_store):
    dd = views.drilldown(demo_store, CITY, YEAR, "en", user=SYSTEM)
    levels = {lv.code: lv for lv in scoring.indicator_levels(demo_store, CITY, YEAR)}
    fw = framework_for_year(loaded_frameworks(demo_store), YEAR)
    answers = demo_store.answer_rows(YEAR, CITY)
    by_source = {}
    for code in dd.indicators["code"]:
        d = views.indicator_detail(demo_store, CITY, YEAR, code, "en", user=SYSTEM)
        by_source.setdefault(d.source, d)
        assert d.effective == levels[code].effective and d.source == levels[code].source
    self_d = by_source["self"]
    mine = [a for a in answers if a["indicator_code"] == self_d.code]
    assert len(self_d.answers) == len(mine) == self_d.n_opd
    assert set(self_d.answers["submission_id"]) == {a["submission_id"] for a in mine}
    assert set(self_d.answers["evidence"].dropna()) == {a["evidence"] for a in mine if a["evidence"]}
    assert self_d.self_formula("en").endswith(f"= {levels[self_d.code].self_level:.2f}")
    assert self_d.self_formula("id").endswith(
        "= " + f"{levels[self_d.code].self_level:.2f}".replace(".", ",")
    )
    lvl = self_d.rubric_level
    assert self_d.rubric_sentence == fw.indicator(self_d.code).levels[lvl]["en"]
    metric_d = by_source["metric"]
    assert metric_d.metric_value == pytest.approx(levels[metric_d.code].metric_value)
    assert metric_d.thresholds == tuple(fw.indicator(metric_d.code).metric.thresholds)
    assert metric_d.metric_submission is not None and metric_d.metric_submission["submission_id"] > 0
    missing_d = by_source["missing"]
    assert missing_d.score_level == 0 and missing_d.answers.empty and missing_d.rubric_level is None
    assert views.indicator_detail(demo_store, CITY, YEAR, "NOT-AN-INDICATOR", "en", user=SYSTEM) is None


def test_drilldown_shows_who_verified_and_why(demo_store):
    verify(demo_store, SYSTEM, CITY, YEAR, "GOV-01", 1, "Dokumen belum ditandatangani")
    dd = views.drilldown(demo_store, CITY, YEAR, user=SYSTEM)
    d = views.indicator_detail(demo_store, CITY, YEAR, "GOV-01", user=SYSTEM)
    assert (d.source, d.effective, d.verified_level) == ("verified", 1, 1)
    assert d.verified_note == "Dokumen belum ditandatangani" and d.verified_by == "system"
    assert dd.index == pytest.approx(scoring.city_score(demo_store, CITY, YEAR).index)
    assert dd.index_formula.result == pytest.approx(dd.index)


# --------------------------------------------------------------------------- completeness


def test_completeness_on_the_hand_computed_case(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    cp = views.completeness(mini, "0101", 2023, "en", user=SYSTEM)
    # 01 DISKOMINFO answered G1, G2 of G1, G2; 02 DPMPTSP G2 of G2; 03 DLH E1 of E1, E2
    status = dict(zip(cp.opds["opd_code"], cp.opds["status"]))
    assert status == {"01": "complete", "02": "complete", "03": "partial"}
    assert next(iter(cp.opds["opd_code"])) == "03"  # the gap first
    assert (cp.n_opds, cp.n_submitted, cp.n_complete, cp.answered, cp.pairs) == (3, 3, 2, 4, 5)
    assert list(cp.missing_indicators["code"]) == ["E2"] and cp.missing_indicators["status"][0] == "missing"
    heat = cp.heat.set_index(["opd_code", "pillar"])
    assert (heat.loc[("03", "ENV"), "answered"], heat.loc[("03", "ENV"), "required"]) == (1, 2)
    assert heat.loc[("03", "ENV"), "share"] == pytest.approx(50.0)
    assert heat.loc[("02", "ENV"), "required"] == 0 and heat["share"].isna().sum() == 3
    # a service metric answers E2 for DLH
    assert ingest_bytes(
        mini,
        SYSTEM,
        b"city_code,opd_code,metric_code,period,value\n0101,03,COMPLAINT_HOURS,2023-12,20\n",
        "m.csv",
    ).accepted
    cp = views.completeness(mini, "0101", 2023, user=SYSTEM)
    assert cp.missing_indicators.empty and cp.n_complete == 3


def test_completeness_matches_the_core_counts_on_the_demo(demo_store):
    cp = views.completeness(demo_store, CITY, YEAR, user=SYSTEM)
    ops = [o for o in scoring.opd_scores(demo_store, YEAR, CITY) if o.pairs > 0]
    cs = scoring.city_score(demo_store, CITY, YEAR)
    assert cp.n_opds == len(ops)
    assert cp.n_submitted == sum(1 for o in ops if o.submission_id is not None) < cp.n_opds
    assert (cp.answered, cp.pairs, cp.missing) == (cs.answered, cs.pairs, cs.missing)
    per_opd = cp.heat.groupby("opd_code")[["answered", "required"]].sum()
    for o in ops:  # the heat map's cells add up to each OPD's answered/required
        assert (per_opd.loc[o.opd_code, "answered"], per_opd.loc[o.opd_code, "required"]) == (
            o.answered,
            o.pairs,
        )
    never = set(cp.opds.loc[cp.opds["status"] == "none", "opd_code"])
    submitted = set(demo_store.submissions_frame(CITY, year=YEAR)["opd_code"])
    assert never and not (never & submitted)
    assert (cp.missing_indicators["status"] == "missing").sum() == cs.missing


# --------------------------------------------------------------------------- maturity matrix


def test_matrix_cells_add_up_to_the_pillars(demo_store):
    mx = views.matrix(demo_store, CITY, YEAR, user=SYSTEM)
    cs = scoring.city_score(demo_store, CITY, YEAR)
    assert mx.index == pytest.approx(cs.index)
    for p in mx.pillar_codes:
        cells = mx.city[(mx.city["pillar"] == p) & mx.city["value"].notna()]
        assert (cells["value"] * cells["weight"]).sum() / cells["weight"].sum() == pytest.approx(
            cs.pillars[p]
        )
    fw = next(f for f, _ in loaded_frameworks(demo_store) if f.id == cs.framework_id)
    for d in mx.dimension_codes:
        cells = mx.city[(mx.city["dimension"] == d) & mx.city["value"].notna()]
        if fw.dimension(d).method == "survey":
            # a survey dimension's value is the mean over its programmes, not over pillars
            assert len(cells) == len(mx.pillar_codes)
            continue
        assert (cells["value"] * cells["weight"]).sum() / cells["weight"].sum() == pytest.approx(
            cs.dimensions[d]
        )
    assert mx.city["n"].sum() == cs.indicators and mx.city["missing"].sum() == cs.missing


def test_matrix_opd_rows_on_the_hand_computed_case(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    mx = views.matrix(mini, "0101", 2023, user=SYSTEM)
    cell = mx.opds.set_index(["opd_code", "pillar"])["value"]
    assert cell[("01", "GOV")] == pytest.approx((1 * 3 + 2 * 2) / 3)  # G1 w1 level 3, G2 w2 level 2
    assert cell[("02", "GOV")] == pytest.approx(4.0)
    assert cell[("03", "ENV")] == pytest.approx(1.0)
    assert cell.isna().sum() == 3 and mx.opd_order == ["01", "02", "03"]
    verify(mini, SYSTEM, "0101", 2023, "G2", 4, "site visit")  # a verification replaces each OPD's answer
    cell = views.matrix(mini, "0101", 2023, user=SYSTEM).opds.set_index(["opd_code", "pillar"])["value"]
    assert cell[("01", "GOV")] == pytest.approx((1 * 3 + 2 * 4) / 3)


# --------------------------------------------------------------------------- cache key


def test_data_version_moves_with_every_change(mini):
    v0 = mini.data_version()
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    v1 = mini.data_version()
    assert v1 > v0
    verify(mini, SYSTEM, "0101", 2023, "G1", 2, "")
    v2 = mini.data_version()
    assert v2 > v1
    set_period(mini, SYSTEM, "0101", 2024, "open")
    v3 = mini.data_version()
    assert v3 > v2
    assert ingest_bytes(mini, SYSTEM, METRICS_CSV, "m.csv").accepted
    assert mini.data_version() > v3


# --------------------------------------------------------------------------- overview: ranks, priorities (issue 15)

RANK_CITIES = (
    b"city_code,name,province,category,population\n"
    b"0101,Kota Uji,Jawa Barat,kecil,1000\n"
    b"0202,Kota Coba,Bali,sedang,2000\n"
    b"0303,Kota Tiga,Jawa Barat,sedang,3000\n"
    b"0404,Kota Empat,Jawa Barat,kecil,4000\n"
)
RANK_OPDS = (
    b"city_code,opd_code,opd_type,name\n"
    b"0101,01,DISKOMINFO,Dinas Kominfo Uji\n0202,01,DISKOMINFO,Dinas Kominfo Coba\n"
    b"0303,01,DISKOMINFO,Dinas Kominfo Tiga\n0404,01,DISKOMINFO,Dinas Kominfo Empat\n"
)


def _ranked_cities(store) -> None:
    """Four cities whose index follows their G1 level: 0202 (4) > 0101 = 0303 (3) > 0404 (1)."""
    load_registry_bytes(store, SYSTEM, RANK_CITIES, "cities.csv")
    load_registry_bytes(store, SYSTEM, RANK_OPDS, "opds.csv")
    rows = "".join(
        f"{c};01;2023;G1;{lv};;\n" for c, lv in (("0101", 3), ("0202", 4), ("0303", 3), ("0404", 1))
    )
    data = ("city_code;opd_code;year;indicator_code;level;evidence;note\n" + rows).encode()
    assert ingest_bytes(store, SYSTEM, data, "g1.csv").accepted


@pytest.mark.parametrize(
    "city, national, province, category",
    [
        ("0101", (2, 4), ("Jawa Barat", 1, 3), ("kecil", 1, 2)),  # tied with 0303: both 2nd nationally
        ("0303", (2, 4), ("Jawa Barat", 1, 3), ("sedang", 2, 2)),
        ("0202", (1, 4), ("Bali", 1, 1), ("sedang", 1, 2)),
        ("0404", (4, 4), ("Jawa Barat", 3, 3), ("kecil", 2, 2)),  # after a tie of two, rank 4 (1, 2, 2, 4)
    ],
)
def test_overview_ranks_the_city_nationally_in_its_province_and_category(
    mini, city, national, province, category
):
    _ranked_cities(mini)
    ov = views.overview(mini, city, 2023, "id", user=SYSTEM)
    assert [r.scope for r in ov.ranks] == ["national", "province", "category"]
    n, p, c = ov.rank("national"), ov.rank("province"), ov.rank("category")
    assert (n.rank, n.of) == national
    assert (p.group, p.rank, p.of) == province
    assert (c.group, c.rank, c.of) == category


def test_overview_national_rank_agrees_with_the_rankings_page(demo_store):
    ov = views.overview(demo_store, CITY, YEAR, "id", user=SYSTEM)
    rk = views.rankings(demo_store, CITY, YEAR, lang="id", user=SYSTEM)
    assert (ov.rank("national").rank, ov.rank("national").of) == (rk.city_rank, rk.ranked_cities)


def test_priorities_name_the_responsible_opds_and_the_next_level_rubric(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    ov = views.overview(mini, "0101", 2023, "en", user=SYSTEM)
    pri = {r["code"]: r for r in ov.priorities.to_dict("records")}
    # G2 is answered by both DISKOMINFO and DPMPTSP of the city; its level is their mean (2+4)/2 = 3
    assert pri["G2"]["opds"] == ("Dinas Kominfo Uji", "DPMPTSP Uji")
    assert (pri["G2"]["next_level"], pri["G2"]["next_rubric"]) == (4, "Integrated")
    assert pri["E1"]["opds"] == ("DLH Uji",) and (pri["E1"]["next_level"], pri["E1"]["next_rubric"]) == (
        2,
        "Partial",
    )
    assert (pri["E2"]["next_level"], pri["E2"]["next_rubric"]) == (1, "Planned")  # missing: counted 0
    ov_id = views.overview(mini, "0101", 2023, "id", user=SYSTEM)
    assert dict(zip(ov_id.priorities["code"], ov_id.priorities["next_rubric"]))["G2"] == "Terintegrasi"


# --------------------------------------------------------------------------- programmes and methods (issue 17)


def insert_register(store, city: str = CITY, year: int = YEAR) -> dict[str, str]:
    """A small programme register for the demo city (a new version: the one in force), with one
    programme of each case. Returns the OPD codes used by type.

    Planned in `year` (start <= year <= end): GOV-1 running, GOV-2 planned (stalled), LIV-1 no
    status (stalled), ENV-1 stopped with an accepted reason (not stalled), ECO-1 stopped with a
    reason not yet accepted (stalled); SOC-1 starts next year (not on this year's board).
    """
    from metrics.records import Programme, ProgrammeBudget, ProgrammeStatus

    opd = {o.opd_type: o.opd_code for o in store.opds(city)}
    y = year
    progs = [
        Programme(
            "P-GOV-1",
            "Satu Data Kota",
            "GOV",
            "masterplan",
            opd["DISKOMINFO"],
            y - 1,
            y + 1,
            budgets=(ProgrammeBudget(y, "APBD", 1_250_000_000), ProgrammeBudget(y, "APBN", 250_000_000)),
            statuses=(ProgrammeStatus(y, "berjalan"),),
        ),
        Programme(
            "P-GOV-2",
            "Tanda tangan elektronik BSrE",
            "GOV.BUR",
            "masterplan",
            opd["DISKOMINFO"],
            y,
            y,
            budgets=(ProgrammeBudget(y, "APBD", 500_000_000),),
            statuses=(ProgrammeStatus(y, "direncanakan"),),
        ),
        Programme(
            "P-LIV-1", "Rekam medis elektronik SATUSEHAT", "LIV.HLT", "quickwin", opd["DINKES"], y, y + 2
        ),
        Programme(
            "P-ENV-1",
            "Bank sampah digital",
            "ENV",
            "masterplan",
            opd["DLH"],
            y,
            y,
            budgets=(ProgrammeBudget(y, "mitra", 75_000_000),),
            statuses=(ProgrammeStatus(y, "dihentikan", "Anggaran dialihkan", True),),
        ),
        Programme(
            "P-ECO-1",
            "Pasar daring QRIS",
            "ECO",
            "quickwin",
            opd["DPMPTSP"],
            y,
            y,
            statuses=(ProgrammeStatus(y, "dihentikan", "Mitra mundur", False),),
        ),
        Programme("P-SOC-1", "Sekolah digital", "SOC", "masterplan", opd["DISDIK"], y + 1, y + 2),
    ]
    with store.transaction() as cur:
        store.insert_programme_version(cur, city, progs, "admin", "load")
    return opd


def test_overview_lists_the_stalled_programmes_of_the_year(demo_store):
    from metrics import users as accounts

    opd = insert_register(demo_store)
    ov = views.overview(demo_store, CITY, YEAR, "id", user=accounts.get_user(demo_store, "walikota"))
    sp = ov.stalled
    assert sp is not None and sp.year == YEAR and sp.registered == 6 and sp.count == 3 and sp.more == 0
    names = {o.opd_code: o.name for o in demo_store.opds(CITY)}
    fw = framework_for_year(loaded_frameworks(demo_store), YEAR)
    pillar = {p.code: p.name["id"] for p in (*fw.pillars, *fw.subpillars)}
    # by top-level pillar, kind, code; a planned programme without a status says so
    assert sp.rows[["code", "pillar", "pillar_name", "opd", "status"]].values.tolist() == [
        ["P-ECO-1", "ECO", pillar["ECO"], names[opd["DPMPTSP"]], "dihentikan"],
        ["P-GOV-2", "GOV.BUR", pillar["GOV.BUR"], names[opd["DISKOMINFO"]], "direncanakan"],
        ["P-LIV-1", "LIV.HLT", pillar["LIV.HLT"], names[opd["DINKES"]], views.NO_STATUS],
    ]
    # the year after: GOV-1 and LIV-1 have no status then, SOC-1 starts
    nxt = views._stalled(demo_store, SYSTEM, fw, CITY, YEAR + 1, "en")
    assert nxt is not None and nxt.rows["code"].tolist() == ["P-GOV-1", "P-LIV-1", "P-SOC-1"]


def test_stalled_programmes_only_for_readers_of_the_city_submissions(demo_store):
    from metrics.admin import set_public_read
    from metrics.auth import ANONYMOUS, User

    insert_register(demo_store)
    assert views.overview(demo_store, CITY, YEAR, user=User("tamu", "viewer")).stalled is None
    set_public_read(demo_store, SYSTEM, True)
    assert views.overview(demo_store, CITY, YEAR, user=ANONYMOUS).stalled is None
    other_city = User("wk2", "executive", "3599")
    assert views.overview(demo_store, CITY, YEAR, user=other_city).stalled is None
    opd_op = User("op", "opd", CITY, demo_store.opds(CITY)[0].opd_code)
    assert views.overview(demo_store, CITY, YEAR, user=opd_op).stalled.count == 3
    assert views.overview(demo_store, CITY, YEAR, user=User("p", "planner", CITY)).stalled.count == 3


def test_overview_of_a_city_without_a_register_says_so(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    sp = views.overview(mini, "0101", 2023, user=SYSTEM).stalled
    assert sp is not None and sp.registered == 0 and sp.count == 0


def insert_survey(store, city: str = CITY, year: int = YEAR) -> None:
    """The survey in force for the city-year: P-GOV-1 with 60 respondents (2 questions each, 120
    answers summing to 480: mean 4.0, impact 3.0), P-LIV-1 with 30 (under the minimum of 50: mean
    5.0, impact 4.0, not counted) and a code not in the register (ignored)."""
    from metrics.records import SurveyProgramme

    results = [
        SurveyProgramme("P-GOV-1", 60, 120, 480.0, None),
        SurveyProgramme("P-LIV-1", 30, 30, 150.0, None),
        SurveyProgramme("P-XXX-9", 70, 70, 280.0, None),
    ]
    with store.transaction() as cur:
        store.insert_survey(
            cur,
            city,
            year,
            results,
            "admin",
            file_name="survei.csv",
            sha256=None,
            source="cli",
            n_rows=160,
            mapping=None,
        )


def test_drilldown_shows_what_each_method_counted(demo_store):
    insert_register(demo_store)
    insert_survey(demo_store)
    cs = scoring.city_score(demo_store, CITY, YEAR)
    dd = views.drilldown(demo_store, CITY, YEAR, "id", user=SYSTEM)
    out, imp, qw = (dd.method(c) for c in ("OUTCOME", "IMPACT", "QUICKWIN"))
    assert dd.method("BASELINE") is None  # a rubric dimension
    # masterplan: GOV has GOV-1 running and GOV-2 planned (2 planned, 1 running: 4 x 1/2 = 2);
    # ENV's one programme was stopped with an accepted reason (out of the count: missing)
    gov = out.pillars.set_index("pillar").loc["GOV"]
    assert (gov["planned"], gov["running"], gov["excluded"], gov["stalled"]) == (2, 1, 0, 1)
    assert gov["value"] == pytest.approx(2.0) and gov["formula"] == "4 × 1 berjalan / 2 direncanakan = 2,00"
    env = out.pillars.set_index("pillar").loc["ENV"]
    assert (env["planned"], env["excluded"]) == (0, 1) and pd.isna(env["value"])
    assert env["formula"] == "tidak ada program — dihitung kosong"
    # the dimension: the mean over the 6 pillars, the missing five counting 0 (missing: zero)
    assert out.value == pytest.approx(2.0 / 6) == cs.dimensions["OUTCOME"]
    assert out.formula.result == pytest.approx(2.0 / 6)
    # quick wins: LIV-1 has no status, ECO-1 stopped without an accepted reason: both stalled
    qwp = qw.pillars.set_index("pillar")
    assert qwp.loc["LIV", ["planned", "running", "stalled"]].tolist() == [1, 0, 1]
    assert qwp.loc["ECO", ["planned", "running", "stalled"]].tolist() == [1, 0, 1]
    assert qw.value == pytest.approx(0.0)
    # the survey: GOV-1 mean 480/120 = 4.0 -> impact 3.0 counted; LIV-1 under 50 respondents shown,
    # not counted; a code outside the register ignored
    assert imp.min_respondents == 50
    rows = imp.programmes.set_index("code")
    assert rows.loc["P-GOV-1", ["respondents", "mean", "impact", "sufficient"]].tolist() == [
        60,
        4.0,
        3.0,
        True,
    ]
    assert rows.loc["P-GOV-1", "note"] == "dihitung"
    assert rows.loc["P-LIV-1", ["respondents", "mean", "impact", "sufficient"]].tolist() == [
        30,
        5.0,
        4.0,
        False,
    ]
    assert rows.loc["P-LIV-1", "note"] == "kurang dari 50 responden — tidak dihitung"
    assert imp.insufficient["code"].tolist() == ["P-LIV-1"]
    assert imp.ignored == ("P-XXX-9",)
    assert imp.value == pytest.approx(3.0) == cs.dimensions["IMPACT"] == imp.formula.result
    # every dimension and pillar formula recomputes the core's value; the index formula too
    for kind in ("dimension", "pillar"):
        for g in dd.groups[kind]:
            want = cs.dimensions[g.code] if kind == "dimension" else cs.pillars[g.code]
            assert g.formula.result == pytest.approx(want), (kind, g.code)
    assert dd.index_formula.result == pytest.approx(cs.index)


def test_drilldown_method_texts_in_english(demo_store):
    insert_register(demo_store)
    insert_survey(demo_store)
    dd = views.drilldown(demo_store, CITY, YEAR, "en", user=SYSTEM)
    gov = dd.method("OUTCOME").pillars.set_index("pillar").loc["GOV"]
    assert gov["formula"] == "4 × 1 running / 2 planned = 2.00"
    notes = dd.method("IMPACT").programmes.set_index("code")["note"]
    assert notes["P-LIV-1"] == "fewer than 50 respondents — not counted" and notes["P-GOV-1"] == "counted"
