"""The steps of ingest.validate, each on its own (the whole is tested in test_ingest.py and the
security tests): what each finds, as (field, message key, params), for a few telling cells."""

from __future__ import annotations

import io

import openpyxl
import pytest

from metrics import ingest
from metrics import templates as tpl
from metrics.auth import User

pytestmark = pytest.mark.both_backends


@pytest.fixture
def ctx(mini):
    return ingest.load_context(mini)


def keys(found) -> list[tuple[str, str]]:
    return [(fld, key) for fld, key, _params in found]


def test_check_unit(ctx):
    ok = ingest.check_unit("assessment", ctx, "0101", "01", 2023.0)  # Excel's numbers are floats
    assert ok.found == () and not ok.stop and (ok.city, ok.opd, ok.year) == ("0101", "01", 2023)
    ok = ingest.check_unit("assessment", ctx, "0101", "01", "2023")
    assert ok.opd_obj is not None and ok.fw is not None and ok.seq is not None
    bad = ingest.check_unit("assessment", ctx, "9999", "", 1800)
    assert keys(bad.found) == [
        ("city_code", "cell.unknown_city"),
        ("opd_code", "cell.required"),
        ("year", "cell.year"),
    ]
    assert not bad.stop
    assert keys(ingest.check_unit("assessment", ctx, "0101", "01", 2019).found) == [
        ("year", "cell.no_framework")
    ]
    assert keys(ingest.check_unit("assessment", ctx, "0101", "09", 2023).found) == [
        ("opd_code", "cell.unknown_opd")
    ]
    # a true/false city stops the unit: nothing else about its rows can be said
    stopped = ingest.check_unit("assessment", ctx, True, "01", 2023)
    assert stopped.stop and keys(stopped.found) == [("city_code", "cell.boolean")]
    # a metric unit has no year of its own (each row's period gives it)
    m = ingest.check_unit("metric", ctx, "0101", "01", None)
    assert m.found == () and m.year is None and m.fw is None


def test_check_unit_names_another_opds_file(ctx):
    from dataclasses import replace

    operator = User("op", "opd", "0101", "01")
    other = ingest.check_unit("assessment", replace(ctx, user=operator), "0101", "02", 2023)
    assert other.stop and keys(other.found) == [("opd_code", "file.other_opd")]
    assert other.found[0][2]["own"].startswith("01 · ")


def test_check_code(ctx):
    unit = ingest.check_unit("assessment", ctx, "0101", "01", 2023)
    found, code, ind = ingest.check_code(" G1 ", unit.fw, unit.opd_obj, "01", ctx)
    assert found == [] and code == "G1" and ind is not None
    assert keys(ingest.check_code("", unit.fw, unit.opd_obj, "01", ctx)[0]) == [
        ("indicator_code", "cell.required")
    ]
    assert keys(ingest.check_code("ZZ9", unit.fw, unit.opd_obj, "01", ctx)[0]) == [
        ("indicator_code", "cell.unknown_indicator")
    ]
    assert keys(ingest.check_code("E1", unit.fw, unit.opd_obj, "01", ctx)[0]) == [
        ("indicator_code", "cell.not_responsible")
    ]


def test_check_level_and_text():
    assert ingest.check_level(3.0, 0, 4) == ((), 3)
    assert ingest.check_level("  ", 0, 4) == ((), None)
    assert ingest.check_level("3,5", 0, 4) == (
        (("level", "cell.level_decimal_comma", {"value": "3,5", "min": 0, "max": 4}),),
        None,
    )
    assert ingest.check_text("  bukti ", "evidence", 10) == ("bukti", ())
    assert ingest.check_text(None, "note", 10) == (None, ())
    assert ingest.check_text(2.0, "note", 10) == ("2", ())
    assert keys(ingest.check_text(True, "note", 10)[1]) == [("note", "cell.boolean")]
    text, found = ingest.check_text("x" * 11, "evidence", 10)
    assert text == "x" * 11 and found == (("evidence", "cell.text_too_long", {"n": 11, "limit": 10}),)


def test_metric_steps(ctx):
    found, year, fwp, ok = ingest.check_period("2023-02", ctx)
    assert found == [] and year == 2023 and fwp is not None and ok
    assert keys(ingest.check_period("2023-13", ctx)[0]) == [("period", "cell.period")]
    assert keys(ingest.check_period("", ctx)[0]) == [("period", "cell.required")]
    assert keys(ingest.check_period("2019", ctx)[0]) == [("period", "cell.no_framework")]
    fw = fwp[0]
    metric = next(iter(fw.metric_codes()))
    opd_of = ctx.opds
    owner = next(o for o in opd_of.values() if ctx.answers(o, fw.metric_codes()[metric]))
    assert ingest.check_metric_code(metric, fw, owner, owner.opd_code, ctx)[0] == []
    assert keys(ingest.check_metric_code("nope", fw, owner, owner.opd_code, ctx)[0]) == [
        ("metric_code", "cell.unknown_metric")
    ]
    assert ingest.check_metric_value("1.5e3") == ([], 1500.0)
    assert keys(ingest.check_metric_value(" ")[0]) == [("value", "cell.required")]
    assert keys(ingest.check_metric_value("1,5")[0]) == [("value", "cell.not_number")]
    assert keys(ingest.check_metric_value(float("inf"))[0]) == [("value", "cell.not_number")]


def test_check_info_block(ctx):
    fw_id = ctx.framework(2023)[0].id
    assert ingest.check_info_block({"year": 2023, "framework": fw_id}, ctx, "t.xlsx", tpl.SHEET) == []
    [p] = ingest.check_info_block({"year": "2023", "framework": "lama"}, ctx, "t.xlsx", tpl.SHEET)
    assert (p.key, p.row, p.column) == ("xlsx.framework_mismatch", tpl.INFO_ROWS["framework"][0], "B")
    assert ingest.check_info_block({"year": "tahun", "framework": "x"}, ctx, "t.xlsx", tpl.SHEET) == []


def test_a_true_false_framework_cell_is_a_mismatch_not_a_crash(mini):
    """Before issue 16 the info block's check let the boolean cell's CellError escape parse_upload."""
    from tools import fuzz

    store = mini
    wb = openpyxl.load_workbook(io.BytesIO(fuzz.seed_files(store)["template.xlsx"]))
    wb[tpl.SHEET].cell(tpl.INFO_ROWS["framework"][0], 2).value = True
    buf = io.BytesIO()
    wb.save(buf)
    parsed = ingest.parse_upload(buf.getvalue(), "t.xlsx", ingest.load_context(store))
    assert [(p.key, p.params["found"]) for p in parsed.result.problems] == [
        ("xlsx.framework_mismatch", "True")
    ]
