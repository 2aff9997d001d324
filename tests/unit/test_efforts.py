"""Efforts per indicator step: who may set them, what is refused (changing nothing), the audit."""

import json
import math

import pytest

from metrics import efforts
from metrics.auth import SYSTEM, User
from metrics.efforts import EffortChange, effort_table, efforts_of, set_effort_unit, set_efforts
from metrics.errors import PermissionDenied, ValidationError

pytestmark = pytest.mark.both_backends

CITY, YEAR = "3299", 2024
DINKES = User("opd.dinkes", "opd", CITY, "04")  # the demo's health office of the first city
PLANNER = User("bappeda.x", "planner", CITY)


def test_table_marks_the_rows_an_opd_may_edit(demo_store):
    t = effort_table(demo_store, DINKES, CITY, YEAR, "en")
    mine = {r.code for r in t.rows if r.editable}
    assert mine and mine == {r.code for r in t.rows if "04" in r.opd_codes}
    assert t.editable and not t.unit_editable and t.unit == "langkah"
    assert all(set(r.efforts) == {1, 2, 3, 4} and set(r.efforts.values()) == {None} for r in t.rows)
    planner = effort_table(demo_store, PLANNER, CITY, YEAR)
    assert all(r.editable for r in planner.rows) and planner.unit_editable


def test_opd_sets_its_own_and_one_audit_row_lists_the_changes(demo_store):
    mine = next(r.code for r in effort_table(demo_store, DINKES, CITY, YEAR).rows if r.editable)
    n_audit = len(demo_store.audit_rows())
    assert (
        set_efforts(demo_store, DINKES, CITY, YEAR, [EffortChange(mine, 2, 3.0), EffortChange(mine, 3, 0)])
        == 2
    )
    assert efforts_of(demo_store, CITY, YEAR) == {(mine, 2): 3.0, (mine, 3): 0.0}
    rows = demo_store.audit_rows()
    assert len(rows) == n_audit + 1
    last = rows[-1]
    assert last.action == "effort.set" and last.object == f"efforts:{CITY}/{YEAR}"
    assert json.loads(last.before) == {f"{mine}:2": None, f"{mine}:3": None}
    assert json.loads(last.after) == {f"{mine}:2": 3.0, f"{mine}:3": 0.0}
    # clearing one: before 3.0, after None; an unchanged value writes nothing
    assert (
        set_efforts(demo_store, DINKES, CITY, YEAR, [EffortChange(mine, 2, None), EffortChange(mine, 3, 0.0)])
        == 1
    )
    assert efforts_of(demo_store, CITY, YEAR) == {(mine, 3): 0.0}
    assert json.loads(demo_store.audit_rows()[-1].before) == {f"{mine}:2": 3.0}


def test_opd_may_not_set_another_opds_indicator_and_nothing_changes(demo_store):
    table = effort_table(demo_store, DINKES, CITY, YEAR)
    mine = next(r.code for r in table.rows if r.editable)
    other = next(r.code for r in table.rows if not r.editable)
    n_audit = len(demo_store.audit_rows())
    with pytest.raises(PermissionDenied) as exc:
        set_efforts(demo_store, DINKES, CITY, YEAR, [EffortChange(mine, 2, 1.0), EffortChange(other, 2, 1.0)])
    assert exc.value.key == "effort.not_yours"
    assert efforts_of(demo_store, CITY, YEAR) == {} and len(demo_store.audit_rows()) == n_audit
    # nor any indicator of another city
    with pytest.raises(PermissionDenied):
        set_efforts(demo_store, DINKES, "0199", YEAR, [EffortChange(mine, 2, 1.0)])


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (EffortChange("LIV-05", 2, -1.0), "effort.bad_value"),
        (EffortChange("LIV-05", 2, math.nan), "effort.bad_value"),
        (EffortChange("LIV-05", 2, math.inf), "effort.bad_value"),
        (EffortChange("LIV-05", 2, 1e16), "effort.bad_value"),
        (EffortChange("LIV-05", 2, True), "effort.bad_value"),
        (EffortChange("LIV-05", 0, 1.0), "effort.bad_level"),  # the scale minimum: no step reaches it
        (EffortChange("LIV-05", 5, 1.0), "effort.bad_level"),
        (EffortChange("NOPE-01", 2, 1.0), "effort.unknown_indicator"),
    ],
)
def test_bad_values_are_refused_with_nothing_changed(demo_store, change, key):
    good = EffortChange("LIV-01", 2, 2.0)
    with pytest.raises(ValidationError) as exc:
        set_efforts(demo_store, PLANNER, CITY, YEAR, [good, change])
    assert exc.value.key == key
    assert efforts_of(demo_store, CITY, YEAR) == {}


def test_duplicate_step_refused(demo_store):
    with pytest.raises(ValidationError) as exc:
        set_efforts(
            demo_store, PLANNER, CITY, YEAR, [EffortChange("LIV-01", 2, 2.0), EffortChange("LIV-01", 2, 3.0)]
        )
    assert exc.value.key == "effort.duplicate"


def test_unit_planner_only(demo_store):
    with pytest.raises(PermissionDenied):
        set_effort_unit(demo_store, DINKES, CITY, YEAR, "hari")
    with pytest.raises(PermissionDenied):
        set_effort_unit(demo_store, User("v", "viewer"), CITY, YEAR, "hari")
    with pytest.raises(ValidationError):
        set_effort_unit(demo_store, PLANNER, CITY, YEAR, "jam")
    set_effort_unit(demo_store, PLANNER, CITY, YEAR, "rupiah")
    assert efforts.effort_unit_of(demo_store, CITY, YEAR) == "rupiah"
    last = demo_store.audit_rows()[-1]
    assert last.action == "effort.unit" and json.loads(last.after) == {"unit": "rupiah"}
    set_effort_unit(demo_store, SYSTEM, CITY, YEAR, "hari")
    assert efforts.effort_unit_of(demo_store, CITY, YEAR) == "hari"
