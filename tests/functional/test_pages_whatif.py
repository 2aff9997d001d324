"""Simulasi kerangka (issue 20) through the real router with AppTest, on a private copy of the
demo database (7 cities, 2024, framework default-2024).

The admin edits two dimension weights of the year's framework (Baseline 0,1 -> 0,2 and Outcome
0,3 -> 0,2, so they still sum to 1) and previews: the differences, the number of cities that
moved and the table of every city are what metrics.whatif.whatif returns for the same edits,
and nothing is stored but the preview's audit row. An edit the framework validator refuses
(weights no longer summing to 1) is shown as its error, and no preview is made. Roles other than
the admin are not offered the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import users, whatif
from metrics.loaded_frameworks import loaded_frameworks
from tests.apptest_support import app_store, no_errors, session, t

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2024


def run_page(path: Path, username: str = "admin", lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(path, username)
    at.session_state["lang"] = lang
    at.session_state["f_year"] = YEAR
    at.run()
    at.switch_page("pages/whatif.py").run()
    no_errors(at)
    return at


def edit_dimensions(at: AppTest, weights: dict[str, float]) -> AppTest:
    dims = at.data_editor[0].value
    rows = list(dims["code"])
    at.session_state[f"wi_dims_{YEAR}"] = {
        "edited_rows": {rows.index(code): {"weight": w} for code, w in weights.items()},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="wi_go").click().run()
    return at


def previews(path: Path) -> list[tuple[str, str]]:
    return [(r.username, r.object) for r in app_store(path).audit_rows() if r.action == "framework.whatif"]


def test_the_admin_previews_changed_dimension_weights(app_db):
    at = run_page(app_db)
    store = app_store(app_db)
    frameworks = len(loaded_frameworks(store))
    assert at.info[0].value == t("whatif.nothing_stored")
    assert at.button(key="wi_go").disabled  # nothing edited yet
    edit_dimensions(at, {"BASELINE": 0.2, "OUTCOME": 0.2})
    no_errors(at)
    base = whatif.framework_of_year(store, YEAR)
    edits = whatif.FrameworkEdits(dimension_weights={"BASELINE": 0.2, "OUTCOME": 0.2})
    expected = whatif.whatif(
        store, users.get_user(store, "admin"), whatif.edited_framework(base, edits), YEAR, "id"
    )
    assert expected.changes == (
        "Bobot dimensi BASELINE: 0,1 → 0,2",
        "Bobot dimensi OUTCOME: 0,3 → 0,2",
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("whatif.cities")] == "7" == str(len(expected.cities))
    assert metrics[t("whatif.moved")] == str(expected.moved)
    table = at.dataframe[-1].value
    assert list(table["name"]) == [c.name for c in expected.cities]
    assert list(table["index_before"]) == [c.index_before for c in expected.cities]
    assert list(table["index_after"]) == [c.index_after for c in expected.cities]
    assert list(table["delta"]) == [c.delta for c in expected.cities]
    assert list(table["rank"]) == [f"{c.rank_before} → {c.rank_after}" for c in expected.cities]
    assert list(table["band"]) == [f"{c.band_before} → {c.band_after}" for c in expected.cities]
    assert list(table["driver"]) == [c.driver for c in expected.cities]
    # Baseline and Outcome traded weight: every city's index moved by 0,1 x (Baseline - Outcome)
    for c in expected.cities:
        b, o = c.dimensions_before["BASELINE"], c.dimensions_before["OUTCOME"]
        assert c.delta == pytest.approx(0.1 * ((b or 0.0) - (o or 0.0)), abs=1e-9), c.city_code
    assert at.get("plotly_chart") or expected.moved == 0
    # nothing stored but the preview's audit rows (the page's and this test's)
    assert len(loaded_frameworks(store)) == frameworks
    assert previews(app_db) == [("admin", f"year:{YEAR}")] * 2


def test_an_edit_the_validator_refuses_is_shown_and_no_preview_is_made(app_db):
    at = edit_dimensions(run_page(app_db, lang="en"), {"BASELINE": 0.5})
    assert not at.exception and not at.metric
    assert len(at.error) == 1 and at.error[0].value  # the framework validator's located message
    assert previews(app_db) == []


def test_an_emptied_weight_cell_is_no_edit_and_breaks_nothing(app_db):
    # the grid asks for a value; a message that still carries an empty cell changes nothing
    at = run_page(app_db)
    rows = list(at.data_editor[0].value["code"])
    at.session_state[f"wi_dims_{YEAR}"] = {
        "edited_rows": {rows.index("BASELINE"): {"weight": None}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    no_errors(at)
    assert at.button(key="wi_go").disabled and at.caption[-1].value == t("whatif.no_edits")
    assert previews(app_db) == []


@pytest.mark.parametrize("username", ["walikota", "bappeda.sukamaju", "penilai", "opd.kominfo"])
def test_a_role_other_than_the_admin_gets_no_whatif_page(app_db, username):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(app_db, username)
    at.run()
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/whatif.py")


def test_the_admin_previews_an_uploaded_candidate_file(app_db):
    store = app_store(app_db)
    base = whatif.framework_of_year(store, YEAR)
    edits = whatif.FrameworkEdits(dimension_weights={"OUTPUT": 0.3, "QUICKWIN": 0.1})
    text = whatif.framework_yaml(whatif.edited_framework(base, edits))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(app_db, "admin")
    at.session_state["f_year"] = YEAR
    at.session_state["wi_source"] = "file"
    at.run()
    at.switch_page("pages/whatif.py").run()
    no_errors(at)
    assert not at.data_editor  # the file, not the tables
    at.file_uploader(key="wi_file").set_value(
        ("kerangka-2025.yaml", b"\xff\xfe not text", "application/yaml")
    )
    at.run()
    at.button(key="wi_go").click().run()  # the core reads the upload, under the load's own rule
    assert [e.value for e in at.error] == [t("framework.not_utf8", pos=0)]
    at.file_uploader(key="wi_file").set_value(("kerangka-2025.yaml", text.encode(), "application/yaml"))
    at.run()
    at.button(key="wi_go").click().run()
    no_errors(at)
    expected = whatif.whatif(store, users.get_user(store, "admin"), text, YEAR, "id")
    assert expected.changes == (
        "Bobot dimensi OUTPUT: 0,2 → 0,3",
        "Bobot dimensi QUICKWIN: 0,2 → 0,1",
    )
    table = at.dataframe[-1].value
    assert list(table["name"]) == [c.name for c in expected.cities]
    assert list(table["index_after"]) == [c.index_after for c in expected.cities]
    assert list(table["rank_change"]) == [c.rank_change for c in expected.cities]
    assert {m.label: m.value for m in at.metric}[t("whatif.moved")] == str(expected.moved)
