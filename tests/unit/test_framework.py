"""Framework loading accepts the default file and refuses bad ones naming the key."""

import pytest
import yaml

from metrics.errors import ValidationError
from metrics.framework import DEFAULT_FRAMEWORK_PATH, framework_for_year, load_framework, parse_framework
from tests.conftest import MINI_YAML


def test_default_framework_shape():
    fw = load_framework(DEFAULT_FRAMEWORK_PATH)
    assert {d.code: d.weight for d in fw.dimensions} == {
        "BASELINE": 0.10,
        "OUTPUT": 0.20,
        "OUTCOME": 0.30,
        "IMPACT": 0.20,
        "QUICKWIN": 0.20,
    }
    assert [p.code for p in fw.pillars] == ["GOV", "BRD", "ECO", "LIV", "SOC", "ENV"]
    assert 50 <= len(fw.indicators) <= 80
    assert all(sorted(i.levels) == [0, 1, 2, 3, 4] for i in fw.indicators)
    assert all(i.name["id"] and i.name["en"] for i in fw.indicators)
    assert {i.dimension for i in fw.indicators} == {d.code for d in fw.rubric_dimensions()}
    assert {i.pillar for i in fw.indicators} == {p.code for p in fw.pillars}
    assert sum(1 for i in fw.indicators if i.metric) >= 8
    assert [b.min for b in fw.bands] == sorted(b.min for b in fw.bands)


def _mutate(fn):
    doc = yaml.safe_load(MINI_YAML.read_text())
    fn(doc)
    return yaml.safe_dump(doc, allow_unicode=True)


@pytest.mark.parametrize(
    "mutation,key",
    [
        (lambda d: d["indicators"][0].update(pillar="NOPE"), "indicators[G1].pillar"),
        (lambda d: d["indicators"][0].update(dimension="NOPE"), "indicators[G1].dimension"),
        (lambda d: d["indicators"][1].update(code="G1"), "indicators[G1].code"),
        (lambda d: d["dimensions"][1].update(code="OUTPUT"), "dimensions[1].code"),
        (lambda d: d["indicators"][0].update(weight=0), "indicators[G1].weight"),
        (lambda d: d["indicators"][0].update(weight=-1), "indicators[G1].weight"),
        (lambda d: d["dimensions"][0].update(weight=-0.4), "dimensions[0].weight"),
        (lambda d: d["dimensions"][0].update(weight=0.5), "dimensions"),
        (
            lambda d: d["indicators"][0]["levels"].update({5: {"id": "x", "en": "x"}}),
            "indicators[G1].levels.5",
        ),
        (lambda d: d["indicators"][0]["levels"].pop(2), "indicators[G1].levels"),
        (
            lambda d: d["indicators"][1]["metric"].update(thresholds=[20, 60, 40, 80]),
            "indicators[G2].metric.thresholds",
        ),
        (
            lambda d: d["indicators"][3]["metric"].update(thresholds=[8, 24, 48, 72]),
            "indicators[E2].metric.thresholds",
        ),
        (
            lambda d: d["indicators"][1]["metric"].update(aggregate="median"),
            "indicators[G2].metric.aggregate",
        ),
        (lambda d: d.pop("scale"), "scale"),
        (lambda d: d["bands"].append({"min": 9, "label": {"id": "x"}}), "bands[2].min"),
    ],
)
def test_rejections_name_the_key(mutation, key):
    with pytest.raises(ValidationError) as exc:
        parse_framework(_mutate(mutation))
    assert exc.value.params["key"] == key
    assert key in exc.value.message("id") and key in exc.value.message("en")


def test_weights_summing_to_one_within_tolerance_are_fine():
    fw = parse_framework(_mutate(lambda d: d["dimensions"][0].update(weight=0.4 + 1e-12)))
    assert fw.id == "mini-2023"


def test_framework_for_year_picks_latest_applicable_ties_to_last_loaded():
    a = parse_framework(MINI_YAML.read_text())
    b = parse_framework(MINI_YAML.read_text().replace("id: mini-2023", "id: b"))
    c = parse_framework(MINI_YAML.read_text().replace("id: mini-2023", "id: c").replace("2023", "2025"))
    fws = [(a, 1), (b, 2), (c, 3)]
    assert framework_for_year(fws, 2022) is None
    assert framework_for_year(fws, 2023).id == "b"
    assert framework_for_year(fws, 2024).id == "b"
    assert framework_for_year(fws, 2030).id == "c"


# --------------------------------------------------------------------------- the steps, each alone (issue 16)

from metrics import framework as fwm  # noqa: E402
from metrics import i18n  # noqa: E402


def _doc(fn=None):
    doc = yaml.safe_load(MINI_YAML.read_text())
    if fn is not None:
        fn(doc)
    return doc


def _located(exc: ValidationError, msg_key: str, key: str) -> None:
    """The error names the rule and the key path, in both languages."""
    assert exc.key == msg_key, (exc.key, exc.params)
    assert exc.params["key"] == key
    ind, eng = exc.message("id"), exc.message("en")
    assert key in ind and key in eng and ind != eng
    assert ind.startswith("Kerangka tidak sah") and eng.startswith("Invalid framework")


def test_the_steps_compose_to_parse_framework():
    text = MINI_YAML.read_text()
    doc = fwm.load_yaml(text)
    raw = fwm.to_file(doc)
    assert isinstance(raw, fwm.FrameworkFile) and raw.indicators[1].metric.aggregate == "mean"
    fwm.check_references(raw)
    fw = fwm.build(raw, text)
    assert fw == parse_framework(text) and fw.source == text
    g1 = fw.indicator("G1")
    assert (g1.pillar, g1.subpillar, g1.opd_types) == ("GOV", "GOV.PUB", ("DISKOMINFO",))
    assert fw.indicator("E2").metric.thresholds == (72.0, 48.0, 24.0, 8.0)


def test_yaml_syntax_error_is_located():
    with pytest.raises(ValidationError) as exc:
        fwm.load_yaml("id: [unclosed")
    assert exc.value.key == "fw.invalid" and exc.value.params["key"] == "(yaml)"


def test_labels_and_defaults_as_before():
    def change(d):
        d["name"] = "Satu bahasa"  # a plain string is the text in both languages
        d["bands"][0]["label"] = {"id": "Rintisan", "en": "  "}  # a blank English text falls back
        d["indicators"][0].pop("weight")
        d["indicators"][0]["opd_types"] = "DISKOMINFO"
        d.pop("missing")
        d["indicators"][1]["metric"] = {"code": "M", "thresholds": [1, 2, 3, 4]}

    fw = fwm.build(fwm.to_file(_doc(change)))
    assert fw.name == {"id": "Satu bahasa", "en": "Satu bahasa"}
    assert fw.bands[0].label == {"id": "Rintisan", "en": "Rintisan"}
    assert fw.indicator("G1").weight == 1.0 and fw.indicator("G1").opd_types == ("DISKOMINFO",)
    assert fw.missing == "zero"
    assert fw.indicator("G2").metric == fwm.Metric("M", "", "mean", "higher", (1.0, 2.0, 3.0, 4.0))


def _set(path, value):
    """A mutation that sets doc[path...] = value (path of keys and list indexes)."""

    def fn(doc):
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return fn


def _drop(path):
    def fn(doc):
        node = doc
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]

    return fn


# the typed layer: msgspec's errors become located, bilingual ValidationErrors (never the fallback)
@pytest.mark.parametrize(
    "mutation,msg_key,key",
    [
        # a wrong type
        (_set(["indicators", 0, "weight"], "heavy"), "fw.wrong_type", "indicators[G1].weight"),
        (_set(["applies_from"], True), "fw.wrong_type", "applies_from"),
        (_set(["scale", "max"], 4.5), "fw.wrong_type", "scale.max"),
        (_set(["indicators", 2, "opd_types"], [7]), "fw.wrong_type", "indicators[E1].opd_types[0]"),
        (
            _set(["indicators", 2, "levels"], {0: "a", 1: "b", 2: 5, 3: "c", 4: "d"}),
            "fw.wrong_type",
            "indicators[E1].levels.2",
        ),
        (_set(["indicators", 2, "levels"], {"x": "a"}), "fw.wrong_type", "indicators[E1].levels"),
        (_set(["pillars"], {"GOV": "x"}), "fw.wrong_type", "pillars"),
        # an unknown field (a misspelt key was silently ignored before)
        (_set(["indicators", 2, "wieght"], 2), "fw.unknown_field", "indicators[E1].wieght"),
        (_set(["version"], 2), "fw.unknown_field", "version"),
        (_set(["name", "fr"], "Cadre"), "fw.unknown_field", "name.fr"),
        (
            _set(["indicators", 1, "metric", "treshold"], 1),
            "fw.unknown_field",
            "indicators[G2].metric.treshold",
        ),
        # a missing field
        (_drop(["indicators", 2, "dimension"]), "fw.missing_field", "indicators[E1].dimension"),
        (_drop(["bands"]), "fw.missing_field", "bands"),
        (_drop(["scale", "min"]), "fw.missing_field", "scale.min"),
        (_set(["bands", 1, "label"], {"en": "Advanced"}), "fw.missing_field", "bands[1].label.id"),
        # ranges, choices, emptiness
        (_set(["indicators"], []), "fw.empty", "indicators"),
        (_set(["indicators", 0, "opd_types"], []), "fw.empty", "indicators[G1].opd_types"),
        (_set(["id"], "   "), "fw.blank", "id"),
        (_set(["applies_from"], 1800), "fw.out_of_range", "applies_from"),
        (_set(["dimensions", 0, "weight"], float("inf")), "fw.not_finite", "dimensions[0].weight"),
        (_set(["bands", 0, "min"], float("nan")), "fw.not_finite", "bands[0].min"),
        (
            _set(["indicators", 3, "metric", "direction"], "down"),
            "fw.not_one_of",
            "indicators[E2].metric.direction",
        ),
        (_set(["missing"], "skip"), "fw.not_one_of", "missing"),
    ],
)
def test_type_errors_are_located(mutation, msg_key, key):
    with pytest.raises(ValidationError) as exc:
        fwm.to_file(_doc(mutation))
    _located(exc.value, msg_key, key)
    # and parse_framework reports the same
    with pytest.raises(ValidationError) as again:
        parse_framework(yaml.safe_dump(_doc(mutation), allow_unicode=True))
    assert (again.value.key, again.value.params) == (exc.value.key, exc.value.params)


def test_a_choice_error_lists_the_choices():
    with pytest.raises(ValidationError) as exc:
        fwm.to_file(_doc(_set(["indicators", 1, "metric", "aggregate"], "median")))
    assert "mean, sum, last, min, max" in exc.value.message("en") and "'median'" in exc.value.message("id")


def test_a_document_that_is_not_a_mapping_is_located_at_the_root():
    with pytest.raises(ValidationError) as exc:
        fwm.to_file(["a", "b"])
    _located(exc.value, "fw.wrong_type", "(root)")


# mini's two dimensions with weight made room for a programmes dimension without indicators
_METHOD_DIMS = [
    {"code": "OUTPUT", "name": {"id": "Keluaran", "en": "Output"}, "weight": 0.4},
    {"code": "OUTCOME", "name": {"id": "Hasil", "en": "Outcome"}, "weight": 0.4},
    {
        "code": "QW",
        "name": {"id": "Percepatan", "en": "Quick wins"},
        "weight": 0.2,
        "method": "programmes",
        "kind": "quickwin",
    },
]

# the hand-written layer: each mutation passes the types and breaks exactly one check
CROSS_REFERENCE_CASES = [
    (_set(["scale"], {"min": 4, "max": 0}), fwm.check_scale, "fw.scale_order", "scale"),
    (_set(["bands", 1, "min"], 9), fwm.check_bands, "fw.outside_scale", "bands[1].min"),
    (_set(["bands", 1, "min"], 0), fwm.check_bands, "fw.bands_order", "bands"),
    (
        _set(
            ["dimensions"],
            [
                *_doc()["dimensions"][:1],
                {"code": "OUTCOME", "name": "a", "weight": 0.4},
                {"code": "OUTPUT", "name": "b", "weight": 0.2},
            ],
        ),
        fwm.check_dimensions,
        "fw.duplicate",
        "dimensions[2].code",
    ),
    (_set(["dimensions", 0, "weight"], 0.5), fwm.check_dimensions, "fw.weights_sum", "dimensions"),
    (
        _set(["pillars", 1, "subpillars"], [{"code": "GOV.PUB", "name": "x"}]),
        fwm.check_pillars,
        "fw.duplicate",
        "pillars[1].subpillars[0].code",
    ),
    (_set(["indicators", 1, "code"], "G1"), fwm.check_indicator_codes, "fw.duplicate", "indicators[G1].code"),
    (
        _set(["indicators", 3, "metric", "code"], "ONLINE_LICENCE_SHARE"),
        fwm.check_indicator_codes,
        "fw.duplicate",
        "indicators[E2].metric.code",
    ),
    (
        _set(["indicators", 0, "pillar"], "NOPE"),
        fwm.check_indicator_references,
        "fw.unknown_pillar",
        "indicators[G1].pillar",
    ),
    (
        _set(["indicators", 0, "dimension"], "NOPE"),
        fwm.check_indicator_references,
        "fw.unknown_dimension",
        "indicators[G1].dimension",
    ),
    (
        _set(["indicators", 2, "levels"], {k: "x" for k in range(6)}),
        fwm.check_levels,
        "fw.outside_scale",
        "indicators[E1].levels.5",
    ),
    (
        _set(["indicators", 2, "levels"], {k: "x" for k in (0, 1, 3, 4)}),
        fwm.check_levels,
        "fw.levels_incomplete",
        "indicators[E1].levels",
    ),
    (
        _set(["indicators", 1, "metric", "thresholds"], [20, 40, 60]),
        fwm.check_thresholds,
        "fw.thresholds_count",
        "indicators[G2].metric.thresholds",
    ),
    (
        _set(["indicators", 1, "metric", "thresholds"], [20, 60, 40, 80]),
        fwm.check_thresholds,
        "fw.thresholds_order",
        "indicators[G2].metric.thresholds",
    ),
    (
        _set(["indicators", 3, "metric", "thresholds"], [8, 24, 48, 72]),
        fwm.check_thresholds,
        "fw.thresholds_order",
        "indicators[E2].metric.thresholds",
    ),
    # issue 17: dimension methods, thresholds per city category
    (
        _set(["dimensions"], [*_METHOD_DIMS[:2], {**_METHOD_DIMS[2], "kind": None}]),
        fwm.check_methods,
        "fw.method_needs_kind",
        "dimensions[2].kind",
    ),
    (
        _set(["dimensions"], [*_METHOD_DIMS[:2], {**_METHOD_DIMS[2], "method": "survey"}]),
        fwm.check_methods,
        "fw.kind_without_programmes",
        "dimensions[2].kind",
    ),
    (
        _set(
            ["dimensions"],
            [
                *_METHOD_DIMS[:2],
                {**_METHOD_DIMS[2], "weight": 0.1},
                {**_METHOD_DIMS[2], "code": "QW2", "weight": 0.1},
            ],
        ),
        fwm.check_methods,
        "fw.duplicate",
        "dimensions[3].method",
    ),
    (
        _set(["dimensions", 1, "method"], "survey"),
        fwm.check_indicator_references,
        "fw.indicator_in_method_dimension",
        "indicators[G2].dimension",
    ),
    (
        _set(["indicators", 1, "metric", "thresholds"], {"kecil": [10, 20, 30, 40]}),
        fwm.check_thresholds,
        "fw.thresholds_default",
        "indicators[G2].metric.thresholds",
    ),
    (
        _set(["indicators", 1, "metric", "thresholds"], {"default": [20, 40, 60, 80], "desa": [1, 2, 3, 4]}),
        fwm.check_thresholds,
        "fw.thresholds_category",
        "indicators[G2].metric.thresholds.desa",
    ),
    (
        _set(["indicators", 1, "metric", "thresholds"], {"default": [20, 40, 60, 80], "kecil": [1, 2, 3]}),
        fwm.check_thresholds,
        "fw.thresholds_count",
        "indicators[G2].metric.thresholds.kecil",
    ),
]


@pytest.mark.parametrize("mutation,check,msg_key,key", CROSS_REFERENCE_CASES)
def test_each_cross_reference_check_fires_alone(mutation, check, msg_key, key):
    raw = fwm.to_file(_doc(mutation))  # the types are fine: only the hand-written rule sees it
    with pytest.raises(ValidationError) as exc:
        check(raw)
    _located(exc.value, msg_key, key)
    # the other checks pass (the scale is the one rule the others stand on: a reversed scale
    # also puts every band and level outside it)
    if check is not fwm.check_scale:
        for other in fwm.CHECKS:
            if other is not check:
                other(raw)
    with pytest.raises(ValidationError) as again:
        fwm.check_references(raw)
    assert (again.value.key, again.value.params) == (exc.value.key, exc.value.params)


def test_every_check_has_a_case():
    assert {c for _, c, _, _ in CROSS_REFERENCE_CASES} == set(fwm.CHECKS)


def test_every_framework_message_exists_in_both_languages():
    keys = {k for _, k in fwm._MSGSPEC_FORMS} | {k for *_, k, _ in CROSS_REFERENCE_CASES} | {"fw.not_finite"}
    for k in keys:
        assert i18n.has(k), k
        assert "'{key}'" in i18n.text(k, "id") and "'{key}'" in i18n.text(k, "en"), k
