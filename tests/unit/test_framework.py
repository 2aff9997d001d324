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
    assert {i.dimension for i in fw.indicators} == {d.code for d in fw.dimensions}
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
