"""The what-if of a framework change (metrics.whatif, metrics.store.whatif).

The key test: for candidates that change each thing a framework decides, the preview equals
loading the candidate into the (per-test copy of the) demo database to apply from the year and
scoring that year. Ranks, bands, drivers and the moved count are hand-checked on the mini store.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

import pytest

from metrics import scoring
from metrics.auth import SYSTEM, User
from metrics.errors import PermissionDenied, ValidationError
from metrics.framework import Band, Framework, Indicator, Metric, parse_framework
from metrics.governance import load_framework_text
from metrics.ingest import ingest_bytes
from metrics.store import Store
from metrics.whatif import (
    FrameworkEdits,
    edited_framework,
    framework_changes,
    framework_of_year,
    framework_yaml,
    whatif,
)
from tests.conftest import ASSESS_CSV, opd_user

pytestmark = pytest.mark.both_backends

TOL = 1e-9


def _checked(fw: Framework) -> Framework:
    """`fw` through the framework file validator (what a load would accept)."""
    return parse_framework(framework_yaml(fw))


def _metric(fw: Framework, code: str) -> Indicator:
    return next(i for i in fw.indicators if i.metric and i.metric.code == code)


def _with_indicators(fw: Framework, change: Callable[[Indicator], Indicator | None]) -> Framework:
    kept = [x for x in (change(i) for i in fw.indicators) if x is not None]
    return dataclasses.replace(fw, indicators=tuple(kept))


def _replace_metric(fw: Framework, metric_code: str, **changes: object) -> Framework:
    def change(i: Indicator) -> Indicator:
        if i.metric is None or i.metric.code != metric_code:
            return i
        return dataclasses.replace(i, metric=dataclasses.replace(i.metric, **changes))  # type: ignore[arg-type]

    return _with_indicators(fw, change)


def dimension_weights(base: Framework) -> Framework:
    weights = {"BASELINE": 0.3, "OUTPUT": 0.3, "OUTCOME": 0.2, "IMPACT": 0.1, "QUICKWIN": 0.1}
    return edited_framework(base, FrameworkEdits(dimension_weights=weights))


def indicator_weights(base: Framework) -> Framework:
    weights = {"GOV-01": 3.0, "GOV-04": 5.0, "ECO-03": 0.5, "LIV-05": 2.0, "ENV-02": 4.0}
    return edited_framework(base, FrameworkEdits(indicator_weights=weights))


def thresholds(base: Framework) -> Framework:
    """Default thresholds (an edit), a category's thresholds changed and a category list added
    where there was none, and a per-population basis added."""
    gov05 = _metric(base, "ONLINE_LICENCE_SHARE").code
    fw = edited_framework(base, FrameworkEdits(thresholds={gov05: (5.0, 10.0, 50.0, 95.0)}))
    datasets = _metric(fw, "OPEN_DATA_DATASETS").metric
    assert datasets is not None and datasets.category_thresholds
    fw = _replace_metric(
        fw,
        "OPEN_DATA_DATASETS",
        category_thresholds=datasets.category_thresholds | {"kecil": (5.0, 10.0, 20.0, 40.0)},
    )
    fw = _replace_metric(fw, "PAD_DIGITAL_SHARE", category_thresholds={"kecil": (10.0, 20.0, 30.0, 40.0)})
    fw = _replace_metric(fw, "TELEMEDICINE_VISITS_PER_1000", per_population=1000.0)
    return _checked(fw)


def metric_aggregates(base: Framework) -> Framework:
    """Another aggregate of the same metric: recomputed from the metric values in force (the
    demo's monthly values: a sum of shares reaches every threshold; the best month of online
    licences reaches 75 where the mean does not)."""
    fw = _replace_metric(base, "ONLINE_LICENCE_SHARE", aggregate="max", thresholds=(20.0, 40.0, 60.0, 75.0))
    fw = _replace_metric(fw, "WASTE_RECYCLED_SHARE", aggregate="sum")
    return _checked(_replace_metric(fw, "OPEN_DATA_DATASETS", aggregate="min"))


def method_to_rubric(base: Framework) -> Framework:
    """QUICKWIN scored by the rubric: it has no indicators, so no value."""
    return edited_framework(base, FrameworkEdits(methods={"QUICKWIN": "rubric"}))


def survey_to_rubric_with_indicators(base: Framework) -> Framework:
    """IMPACT by the rubric, with three indicators moved into it (and a survey no longer counted)."""
    fw = edited_framework(base, FrameworkEdits(methods={"IMPACT": "rubric"}))
    moved = {"GOV-02", "ECO-04", "ENV-07"}
    return _checked(
        _with_indicators(fw, lambda i: dataclasses.replace(i, dimension="IMPACT") if i.code in moved else i)
    )


def survey_to_programmes(base: Framework) -> Framework:
    """QUICKWIN gone (its weight to OUTPUT), IMPACT counts the quick wins instead of the survey."""
    dims = [d for d in base.dimensions if d.code != "QUICKWIN"]
    dims = [
        dataclasses.replace(d, weight=0.4)
        if d.code == "OUTPUT"
        else dataclasses.replace(d, method="programmes", kind="quickwin")
        if d.code == "IMPACT"
        else d
        for d in dims
    ]
    return _checked(dataclasses.replace(base, dimensions=tuple(dims)))


def missing_exclude(base: Framework) -> Framework:
    return edited_framework(base, FrameworkEdits(missing="exclude"))


def indicators_removed_and_added(base: Framework) -> Framework:
    """GOV-05 (the online-licence metric) and ECO-10 removed; NEW-01 scores that metric another
    way, NEW-02 has no answers at all."""
    gov05 = _metric(base, "ONLINE_LICENCE_SHARE")
    fw = _with_indicators(base, lambda i: None if i.code in {"GOV-05", "ECO-10"} else i)
    new01 = dataclasses.replace(
        gov05,
        code="NEW-01",
        dimension="OUTPUT",
        weight=2.0,
        metric=Metric("ONLINE_LICENCE_SHARE", "percent", "last", "higher", (10.0, 30.0, 50.0, 70.0)),
    )
    new02 = dataclasses.replace(gov05, code="NEW-02", dimension="BASELINE", metric=None)
    return _checked(dataclasses.replace(fw, indicators=(*fw.indicators, new01, new02)))


def bands(base: Framework) -> Framework:
    return edited_framework(base, FrameworkEdits(bands=((0.0, "Awal"), (1.5, "Tengah"), (2.4, "Atas"))))


CANDIDATES: dict[str, Callable[[Framework], Framework]] = {
    f.__name__: f
    for f in (
        dimension_weights,
        indicator_weights,
        thresholds,
        metric_aggregates,
        method_to_rubric,
        survey_to_rubric_with_indicators,
        survey_to_programmes,
        missing_exclude,
        indicators_removed_and_added,
        bands,
    )
}


def _close(a: float | None, b: float | None) -> bool:
    return (a is None) == (b is None) and (a is None or b is None or abs(a - b) <= TOL)


def _same_values(a: dict[str, float | None], b: dict[str, float | None]) -> bool:
    return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("name", "year"), [*((n, 2024) for n in CANDIDATES), ("thresholds", 2022)])
def test_whatif_equals_loading_the_candidate_and_scoring(demo_store: Store, name: str, year: int) -> None:
    base = framework_of_year(demo_store, year)
    candidate = dataclasses.replace(CANDIDATES[name](base), applies_from=year)
    assert framework_changes(base, candidate, "en"), "the candidate must differ from the base"
    table = demo_store.whatif_score_table(candidate, year)
    result = whatif(demo_store, SYSTEM, candidate, year, "en")
    if name != "bands":  # a candidate that moves no score would prove little
        assert any(abs(c.delta or 0) > 1e-3 for c in result.cities)

    load_framework_text(demo_store, SYSTEM, framework_yaml(candidate))  # the copy: loaded for real
    loaded = {s.city_code: s for s in scoring.score(demo_store, [year])}

    assert sorted(table["city_code"]) == sorted(loaded) and len(loaded) >= 5
    rows = {c: n for n, c in enumerate(table["city_code"])}
    for code, s in loaded.items():
        n = rows[code]

        def values(codes: str, vals: str, n: int = n) -> dict[str, float | None]:
            return dict(zip(table[codes][n] or (), table[vals][n] or (), strict=True))

        assert _close(table["index"][n], s.index), (code, table["index"][n], s.index)
        assert _same_values(values("dim_codes", "dim_values"), s.dimensions), code
        assert _same_values(values("pillar_codes", "pillar_values"), s.pillars), code
        assert _same_values(values("sub_codes", "sub_values"), s.subpillars), code
        assert (table["indicators"][n], table["missing"][n]) == (s.indicators, s.missing), code
        assert (table["pairs"][n], table["answered"][n]) == (s.pairs, s.answered), code
    for c in result.cities:
        s = loaded[c.city_code]
        assert _close(c.index_after, s.index)
        assert _same_values(c.dimensions_after, s.dimensions) and _same_values(c.pillars_after, s.pillars)
        assert c.band_after == (s.band.label["en"] if s.band else None)


def test_the_same_framework_changes_nothing(demo_store: Store) -> None:
    base = framework_of_year(demo_store, 2023)
    result = whatif(demo_store, SYSTEM, base, 2023, "en")
    assert result.changes == () and result.moved == 0
    assert all(c.delta == pytest.approx(0, abs=TOL) and c.rank_change == 0 for c in result.cities)
    assert {c.driver for c in result.cities} == {"unchanged"}
    # pairs and answered too: the completeness counts follow the kept facts
    kept, preview = demo_store.score_table([2023], None), demo_store.whatif_score_table(base, 2023)
    for col in ("city_code", "indicators", "missing", "pairs", "answered"):
        assert preview[col] == kept[col]


def test_nothing_is_written_and_the_preview_is_audited_as_a_read(demo_store: Store) -> None:
    base = framework_of_year(demo_store, 2024)
    candidate = dimension_weights(base)
    fingerprint, version = demo_store.content_fingerprint(), demo_store.data_version()
    audit_before = demo_store.audit_rows()
    demo_store.whatif_score_table(candidate, 2024)
    assert demo_store.content_fingerprint() == fingerprint  # the read alone writes nothing at all

    text = framework_yaml(dataclasses.replace(candidate, applies_from=2031))  # its applies_from is ignored
    result = whatif(demo_store, SYSTEM, text, 2024)
    audit_after = demo_store.audit_rows()
    assert len(audit_after) == len(audit_before) + 1
    row = audit_after[-1]
    assert (row.username, row.action, row.object) == ("system", "framework.whatif", "year:2024")
    assert f'"sha256":"{hashlib.sha256(text.encode()).hexdigest()}"' in (row.after or "")
    assert demo_store.data_version() == version  # pages' caches stay valid: nothing they show moved
    assert [s for s, _ in demo_store.framework_sources()] == [1]
    assert result.framework_after == candidate.id and result.year == 2024
    assert result.elapsed_ms > 0


def test_refusals(demo_store: Store) -> None:
    base = framework_of_year(demo_store, 2024)
    audit = len(demo_store.audit_rows())
    for user in (opd_user("0101", "01"), User("walikota", "executive", "0101"), User("asesor", "assessor")):
        with pytest.raises(PermissionDenied):
            whatif(demo_store, user, base, 2024)
    with pytest.raises(ValidationError) as exc:
        whatif(demo_store, SYSTEM, base, 2019)
    assert exc.value.key == "whatif.error.no_framework"
    bad = framework_yaml(base).replace("weight: 0.1\n", "weight: 0.15\n", 1)
    with pytest.raises(ValidationError) as exc:
        whatif(demo_store, SYSTEM, bad, 2024)
    assert exc.value.key == "fw.weights_sum" and exc.value.params["key"] == "dimensions"
    assert len(demo_store.audit_rows()) == audit  # a refused preview is not audited


def test_a_year_without_scores_is_refused(mini: Store) -> None:
    fw = framework_of_year(mini, 2023)
    with pytest.raises(ValidationError) as exc:
        whatif(mini, SYSTEM, fw, 2023)
    assert exc.value.key == "whatif.error.no_scores"
    assert "2023" in exc.value.message("en")


# --------------------------------------------------------------------------- hand-checked (mini)
# 0202 answers every indicator: G1=1, G2=4 (DISKOMINFO); E1=3, E2=2 (DLH).
ASSESS_0202 = (
    b"city_code;opd_code;year;indicator_code;level;evidence;note\n"
    b"0202;01;2023;G1;1;;\n0202;01;2023;G2;4;;\n0202;03;2023;E1;3;;\n0202;03;2023;E2;2;;\n"
)


@pytest.fixture
def two_cities(mini: Store) -> Store:
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert ingest_bytes(mini, SYSTEM, ASSESS_0202, "b.csv").accepted
    return mini


def test_ranks_bands_drivers_and_moved_by_hand(two_cities: Store) -> None:
    """Before (OUTPUT 0.4 = G1 w1 + E1 w3; OUTCOME 0.6 = G2 w2 + E2 w1; bands 0 Rintisan, 2 Maju):
      0101: OUTPUT (3 + 3*1)/4 = 1.5, OUTCOME (2*3 + 0)/3 = 2, index 0.4*1.5 + 0.6*2 = 1.8, rank 2
      0202: OUTPUT (1 + 3*3)/4 = 2.5, OUTCOME (2*4 + 2)/3 = 10/3, index 1 + 2 = 3.0, rank 1
    After (OUTPUT 0.9, OUTCOME 0.1; G1 w3, E1 w1; bands 0 Rintisan, 1.7 Maju):
      0101: OUTPUT (3*3 + 1)/4 = 2.5, index 0.9*2.5 + 0.1*2 = 2.45, rank 1 (up 1), Maju
      0202: OUTPUT (1*3 + 3)/4 = 1.5, index 0.9*1.5 + 0.1*10/3 = 1.68333, rank 2 (down 1), Rintisan
    Drivers: 0101's OUTPUT contribution moves 0.6 -> 2.25 (OUTCOME 1.2 -> 0.2): its value 1,50 ->
    2,50; 0202's OUTCOME moves 2.0 -> 0.3333 (OUTPUT 1.0 -> 1.35) at the same value: its weight."""
    base = framework_of_year(two_cities, 2023)
    edits = FrameworkEdits(
        dimension_weights={"OUTPUT": 0.9, "OUTCOME": 0.1},
        indicator_weights={"G1": 3.0, "E1": 1.0},
        bands=((0.0, "Rintisan"), (1.7, "Maju")),
    )
    candidate = edited_framework(base, edits)
    assert candidate.id == "mini-2023-edit"
    assert candidate.bands == (
        Band(0.0, {"id": "Rintisan", "en": "Initiating"}),
        Band(1.7, base.bands[1].label),
    )
    result = whatif(two_cities, SYSTEM, candidate, 2023)
    assert (result.year, result.framework_before, result.framework_after) == (
        2023,
        "mini-2023",
        "mini-2023-edit",
    )
    first, second = result.cities
    assert first.city_code == "0101" and second.city_code == "0202"
    assert (first.name, first.province, first.category) == ("Kota Uji", "Jawa Barat", "kecil")
    assert first.index_before == pytest.approx(1.8) and first.index_after == pytest.approx(2.45)
    assert first.delta == pytest.approx(0.65)
    assert (first.rank_before, first.rank_after, first.rank_change) == (2, 1, 1)
    assert (first.band_before, first.band_after) == ("Rintisan", "Maju")
    assert first.dimensions_before == pytest.approx({"OUTPUT": 1.5, "OUTCOME": 2.0})
    assert first.dimensions_after == pytest.approx({"OUTPUT": 2.5, "OUTCOME": 2.0})
    assert first.driver == "Keluaran 1,50 → 2,50"
    assert second.index_before == pytest.approx(3.0) and second.index_after == pytest.approx(1.35 + 1 / 3)
    assert (second.rank_before, second.rank_after, second.rank_change) == (1, 2, -1)
    assert (second.band_before, second.band_after) == ("Maju", "Rintisan")
    assert second.driver == "Hasil: bobot 0,6 → 0,1"
    assert result.moved == 2
    assert result.changes == (
        "Predikat: Rintisan ≥ 0; Maju ≥ 2 → Rintisan ≥ 0; Maju ≥ 1,7",
        "Bobot dimensi OUTPUT: 0,4 → 0,9",
        "Bobot dimensi OUTCOME: 0,6 → 0,1",
        "Bobot indikator G1: 1 → 3",
        "Bobot indikator E1: 3 → 1",
    )


def test_one_indicator_drives(two_cities: Store) -> None:
    """Only G2's thresholds change ([20,40,60,80] -> [1,2,3,5]): no metric value, so nothing moves;
    with a value the driver names G2."""
    base = framework_of_year(two_cities, 2023)
    metrics_csv = b"city_code,opd_code,metric_code,period,value\n0202,01,ONLINE_LICENCE_SHARE,2023,50\n"
    assert ingest_bytes(two_cities, SYSTEM, metrics_csv, "m.csv").accepted
    # before: 0202's G2 from its metric 50 -> level 2; OUTCOME (2*2 + 2)/3 = 2, index 1 + 1.2 = 2.2
    # after: 50 >= 5 -> level 4, OUTCOME back to 10/3, index 3.0
    candidate = edited_framework(base, FrameworkEdits(thresholds={"G2": (1.0, 2.0, 3.0, 5.0)}))
    result = whatif(two_cities, SYSTEM, candidate, 2023, "en")
    by_code = {c.city_code: c for c in result.cities}
    assert by_code["0202"].index_before == pytest.approx(2.2)
    assert by_code["0202"].index_after == pytest.approx(3.0)
    assert by_code["0202"].driver == "G2: Outcome 2.00 → 3.33"
    assert by_code["0101"].driver == "unchanged" and by_code["0101"].delta == pytest.approx(0)
    assert result.moved == 0  # 0202 was first and stays first
    assert result.changes == ("Indicator G2 thresholds (default): [20; 40; 60; 80] → [1; 2; 3; 5]",)


def test_edits_are_validated_by_the_framework_validator(mini: Store) -> None:
    base = framework_of_year(mini, 2023)
    with pytest.raises(ValidationError) as exc:
        edited_framework(base, FrameworkEdits(dimension_weights={"OUTPUT": 0.5}))
    assert exc.value.key == "fw.weights_sum"
    with pytest.raises(ValidationError) as exc:
        edited_framework(base, FrameworkEdits(thresholds={"G2": (80.0, 60.0, 40.0, 20.0)}))
    assert (exc.value.key, exc.value.params["key"]) == (
        "fw.thresholds_order",
        "indicators[G2].metric.thresholds",
    )
    with pytest.raises(ValidationError) as exc:
        edited_framework(base, FrameworkEdits(thresholds={"G1": (1.0, 2.0, 3.0, 4.0)}))
    assert exc.value.key == "whatif.error.not_metric"
    with pytest.raises(ValidationError) as exc:
        edited_framework(base, FrameworkEdits(indicator_weights={"X9": 1.0}))
    assert exc.value.key == "whatif.error.unknown_code"
    with pytest.raises(ValidationError) as exc:  # a survey dimension takes no indicators
        edited_framework(base, FrameworkEdits(methods={"OUTPUT": "survey"}))
    assert exc.value.key == "fw.indicator_in_method_dimension"
    with pytest.raises(ValidationError) as exc:
        edited_framework(base, FrameworkEdits(bands=((1.0, "A"), (0.5, "B"))))
    assert exc.value.key == "fw.bands_order"
    fw = edited_framework(base, FrameworkEdits(missing="exclude"))
    assert fw.missing == "exclude" and fw.id == "mini-2023-edit"
    assert framework_changes(base, fw, "en") == ("Indicators without a value (missing): zero → exclude",)


def test_the_framework_file_round_trip_is_exact(demo_store: Store, mini: Store) -> None:
    for fw in (framework_of_year(demo_store, 2024), framework_of_year(mini, 2023)):
        assert parse_framework(framework_yaml(fw)) == fw
    demo = framework_of_year(demo_store, 2024)
    fw = edited_framework(demo, FrameworkEdits(methods={"QUICKWIN": "rubric"}))
    fw = edited_framework(fw, FrameworkEdits(methods={"IMPACT": "programmes"}))
    impact = fw.dimension("IMPACT")
    assert impact is not None and (impact.method, impact.kind) == ("programmes", "quickwin")
