"""The default framework says what an Indonesian evaluator expects (issue 17, section 6).

tests/unit/test_framework.py checks that it loads and its general shape; these tests hold the
corrections: the dimensions' methods as the national evaluation scores them, current names of
institutions and programmes, wording, specific level-4 texts, fair thresholds and band labels of
our own.
"""

import difflib
import itertools
import re

import pytest

from metrics.framework import DEFAULT_FRAMEWORK_PATH, load_framework

FW = load_framework(DEFAULT_FRAMEWORK_PATH)
TEXT = DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8")


def _texts() -> list[str]:
    """Every label of the framework, both languages."""
    labels = [FW.name, *(b.label for b in FW.bands), *(d.name for d in FW.dimensions)]
    labels += [p.name for p in (*FW.pillars, *FW.subpillars)]
    labels += [i.name for i in FW.indicators] + [lv for i in FW.indicators for lv in i.levels.values()]
    return [text for lab in labels for text in lab.values()]


def test_identity_and_scale_are_kept():
    assert (FW.id, FW.applies_from, FW.scale_min, FW.scale_max, FW.missing) == (
        "default-2024",
        2020,
        0,
        4,
        "zero",
    )


def test_dimensions_are_scored_by_the_evaluations_methods():
    dims = {d.code: d for d in FW.dimensions}
    assert [(d.code, d.weight, d.method, d.kind) for d in FW.dimensions] == [
        ("BASELINE", 0.10, "rubric", None),
        ("OUTPUT", 0.20, "rubric", None),
        ("OUTCOME", 0.30, "programmes", "masterplan"),
        ("IMPACT", 0.20, "survey", None),
        ("QUICKWIN", 0.20, "programmes", "quickwin"),
    ]
    assert sum(d.weight for d in FW.dimensions) == pytest.approx(1.0)
    assert dims["IMPACT"].min_respondents == 50
    # the method dimensions weigh in a pillar as their index weights do (30:20:20)
    assert [dims[c].pillar_weight for c in ("OUTCOME", "IMPACT", "QUICKWIN")] == [3.0, 2.0, 2.0]
    assert dims["OUTCOME"].name == {
        "id": "Pelaksanaan Program Masterplan",
        "en": "Masterplan programme execution",
    }
    assert dims["QUICKWIN"].name["id"] == "Program Percepatan (Quick Win)"
    assert dims["IMPACT"].name["id"] == "Dampak bagi Warga (Survei)"
    assert "Pondasi" in dims["OUTPUT"].name["id"]
    # indicators sit only in the rubric dimensions, and every one of them has some
    assert {i.dimension for i in FW.indicators} == {"BASELINE", "OUTPUT"}


def test_pillars_keep_their_codes_and_english_names():
    assert {p.code: p.name["id"] for p in FW.pillars} == {
        "GOV": "Smart Governance (Tata Kelola)",
        "BRD": "Smart Branding (Branding Daerah)",
        "ECO": "Smart Economy (Ekonomi)",
        "LIV": "Smart Living (Kehidupan)",
        "SOC": "Smart Society (Masyarakat)",
        "ENV": "Smart Environment (Lingkungan)",
    }
    assert [p.name["en"] for p in FW.pillars] == [
        "Smart Governance",
        "Smart Branding",
        "Smart Economy",
        "Smart Living",
        "Smart Society",
        "Smart Environment",
    ]
    assert len(FW.subpillars) == 18 and all(s.code.startswith(f"{s.parent}.") for s in FW.subpillars)


def test_indicator_codes_and_their_metrics_are_kept():
    """Tests, stored data and the benchmark refer to these codes."""
    assert [i.code for i in FW.indicators] == [
        f"{p}-{n:02d}" for p in ("GOV", "BRD", "ECO", "LIV", "SOC", "ENV") for n in range(1, 11)
    ]
    assert {i.code: (m.code, m.unit, m.aggregate, m.direction) for i in FW.indicators if (m := i.metric)} == {
        "GOV-04": ("OPEN_DATA_DATASETS", "count", "last", "higher"),
        "GOV-05": ("ONLINE_LICENCE_SHARE", "percent", "mean", "higher"),
        "GOV-07": ("COMPLAINT_RESPONSE_HOURS", "hours", "mean", "lower"),
        "BRD-05": ("TOURISM_DIGITAL_BOOKINGS", "count", "sum", "higher"),
        "ECO-05": ("PAD_DIGITAL_SHARE", "percent", "mean", "higher"),
        "ECO-06": ("UMKM_ONLINE_SHARE", "percent", "last", "higher"),
        "LIV-05": ("TELEMEDICINE_VISITS_PER_1000", "per_1000", "sum", "higher"),
        "LIV-07": ("BUS_ON_TIME_SHARE", "percent", "mean", "higher"),
        "SOC-03": ("CCTV_UPTIME", "percent", "mean", "higher"),
        "SOC-05": ("DIGITAL_LITERACY_PER_1000", "per_1000", "sum", "higher"),
        "SOC-09": ("PUBLIC_WIFI_POINTS", "count", "last", "higher"),
        "ENV-07": ("WASTE_RECYCLED_SHARE", "percent", "mean", "higher"),
    }
    # the OPD types the assignment tests rely on (no OPD of these types in demo city 7399)
    assert [FW.indicator(c).opd_types for c in ("ECO-05", "ECO-09", "SOC-07")] == [
        ("BAPENDA",),
        ("DISPERINDAG", "BAPENDA"),
        ("DINSOS",),
    ]


def test_wording():
    texts = _texts()
    assert not [t for t in texts if "Pencitraan" in t]
    assert not [t for t in texts if re.search(r"\bporsi\b", t, re.IGNORECASE)]
    assert not [t for t in texts if "secara langsung" in t]
    assert any("waktu nyata (real-time)" in t for t in texts)
    assert any(re.search(r"\b(persentase|proporsi)\b", t, re.IGNORECASE) for t in texts)


@pytest.mark.parametrize(
    "code,words",
    [
        ("ECO-09", ["QRIS"]),
        ("GOV-09", ["BSrE", "Diskominfo", "persandian"]),
        ("GOV-06", ["SRIKANDI", "DISPERPUSIP"]),
        ("SOC-02", ["DTSEN", "DTKS"]),
        ("LIV-01", ["SATUSEHAT"]),
    ],
)
def test_current_institutions_and_programmes(code, words):
    ind = FW.indicator(code)
    said = " ".join([ind.name["id"], *(lv["id"] for lv in ind.levels.values())])
    assert all(w in said for w in words)
    assert "DISPERPUSIP" in FW.indicator("GOV-06").opd_types


def test_level_4_texts_are_specific_to_their_indicator():
    for lang in ("id", "en"):
        top = [(i.code, i.levels[4][lang]) for i in FW.indicators]
        close = [
            (a, b, round(r, 2))
            for (a, x), (b, y) in itertools.combinations(top, 2)
            if (r := difflib.SequenceMatcher(None, x, y).ratio()) >= 0.8
        ]
        assert close == []
        # the boilerplate the old file repeated
        assert not [
            c for c, t in top if re.search(r"dievaluasi (berkala|tiap tahun)|evaluated and improved", t)
        ]


def test_fair_thresholds():
    open_data = FW.indicator("GOV-04").metric
    assert open_data.thresholds == (50, 150, 300, 600)
    assert open_data.thresholds_for("kecil") == (25, 75, 150, 300)
    assert open_data.thresholds_for("metropolitan") == (50, 150, 300, 600)
    assert FW.indicator("BRD-05").metric.thresholds_for("sedang") == (600, 3000, 12000, 30000)
    wifi = FW.indicator("SOC-09").metric
    assert (wifi.per_population, wifi.thresholds) == (100000, (2, 6, 12, 24))
    # a kabupaten may run no city bus and no hospital of its own
    assert {i.code for i in FW.indicators if i.allow_na} == {"LIV-07", "LIV-09"}


def test_bands_are_our_own_with_finer_steps_at_the_top():
    assert [b.min for b in FW.bands] == [0, 1, 2, 2.5, 3, 3.3, 3.6]
    labels = {b.label[lang].lower() for b in FW.bands for lang in ("id", "en")}
    assert len(labels) == 2 * len(FW.bands)
    # SPBE's maturity levels and index predicates, and the earlier default's bands, in either language
    spbe = {"rintisan", "terkelola", "terdefinisi", "terpadu", "terintegrasi", "optimum", "berkembang"}
    spbe |= {"kurang", "cukup", "baik", "sangat baik", "memuaskan", "initiating", "defined", "integrated"}
    assert not [lab for lab in labels if set(lab.split()) & spbe or lab in spbe]
    assert FW.band(3.48).label["id"] != FW.band(3.62).label["id"] != FW.band(3.31).label["id"]


def test_the_file_says_where_its_words_come_from():
    assert "our own wording" in TEXT and "docs/framework.md" in TEXT


def test_levels_three_and_four_list_their_evidence_where_a_document_proves_them():
    """Issue 18: the form shows a level's required evidence as a checklist and the review flags
    a level 3-4 answer with fewer evidence items than its level lists."""
    with_evidence = [i for i in FW.indicators if i.evidence]
    assert len(with_evidence) >= 15
    for ind in with_evidence:
        assert set(ind.evidence) == {3, 4}, ind.code  # only the levels an assessor questions
        for level in (3, 4):
            items = ind.evidence_for(level)
            assert items, (ind.code, level)
            for item in items:
                assert item["id"].strip() and item["en"].strip(), (ind.code, level)
            assert len({x["id"] for x in items}) == len(items), (ind.code, level)  # no repeats
    assert FW.indicators[0].evidence_for(2) == ()  # a level without a list requires nothing
