"""The results pages show the new scoring methods (issue 17), through the real router under AppTest.

Ringkasan lists the programmes stalled this year to readers of the city's submissions (and to
nobody else); Rincian shows, for a dimension computed by a method, the numbers the method used:
per pillar the programmes planned, running and excluded with the formula in words, and per
surveyed programme its respondents, mean answer and impact, an insufficient one marked as not
counted. The register and survey are the hand-made ones of tests/unit/test_views.py, written as
a new version in force of a copy of the demo database, so the expected numbers are exact.
"""

from __future__ import annotations

import pytest

from metrics import views
from metrics.auth import SYSTEM
from metrics.formatting import number
from metrics.store import Store
from tests.apptest_support import no_errors, t
from tests.functional.test_pages_read import CITY, YEAR, expected, run_page
from tests.unit.test_views import insert_register, insert_survey
from ui.shell import md_escape


@pytest.fixture
def methods_db(app_db):
    store = Store(app_db)
    try:
        insert_register(store, CITY, YEAR)
        insert_survey(store, CITY, YEAR)
    finally:
        store.close()
    return app_db


@pytest.mark.parametrize("lang", ["id", "en"])
def test_overview_lists_the_stalled_programmes(methods_db, lang):
    at = run_page(methods_db, "overview", lang=lang)
    no_errors(at)
    assert t("overview.stalled_title", lang) in [s.value for s in at.subheader]
    assert t("overview.stalled_n", lang, n=3, total=6, year=YEAR) in [w.value for w in at.warning]
    table = next(d.value for d in at.dataframe if "status" in d.value.columns and "kind" in d.value.columns)
    assert table["code"].tolist() == ["P-ECO-1", "P-GOV-2", "P-LIV-1"]
    # coded values as words of the reader's language
    assert table["status"].tolist() == [
        t("overview.pstatus.dihentikan", lang),
        t("overview.pstatus.direncanakan", lang),
        t("overview.pstatus.none", lang),
    ]
    assert table["kind"].tolist() == [
        t("overview.kind.quickwin", lang),
        t("overview.kind.masterplan", lang),
    ] + [t("overview.kind.quickwin", lang)]


def test_overview_shows_no_programmes_to_a_viewer(methods_db):
    at = run_page(methods_db, "overview", username="tamu")
    no_errors(at)
    assert at.metric  # the results are there
    assert t("overview.stalled_title") not in [s.value for s in at.subheader]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_drilldown_shows_the_programmes_counted_per_pillar(methods_db, lang):
    at = run_page(methods_db, "drilldown", lang=lang)
    no_errors(at)
    at.selectbox(key="dd_group_dimension").set_value("OUTCOME").run()
    no_errors(at)
    dd = expected(methods_db, lambda s: views.drilldown(s, CITY, YEAR, lang, user=SYSTEM))
    g = dd.group("dimension", "OUTCOME")
    # the dimension's value: the mean over the six pillars, the five without programmes as 0
    assert any(g.formula.text(lang) in c.value for c in at.code)
    assert g.formula.result == pytest.approx(2.0 / 6) and number(g.value, lang) in g.formula.text(lang)
    method = t("drill.method.programmes", lang)
    assert t("drill.method_title", lang, method=method) in [s.value for s in at.subheader]
    pillars = at.dataframe[0].value.set_index("pillar")
    assert pillars.loc["GOV", ["planned", "running", "excluded", "stalled"]].tolist() == [2, 1, 0, 1]
    assert pillars.loc["GOV", "formula"] == t(
        "drill.method_pillar_formula", lang, running=1, planned=2, value=number(2.0, lang)
    )
    assert pillars.loc["ENV", ["planned", "excluded"]].tolist() == [0, 1]
    assert pillars.loc["ENV", "formula"] == t("drill.method_no_programmes", lang)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_drilldown_marks_a_survey_programme_under_the_minimum(methods_db, lang):
    at = run_page(methods_db, "drilldown", lang=lang)
    at.selectbox(key="dd_group_dimension").set_value("IMPACT").run()
    no_errors(at)
    assert t("drill.method_insufficient_n", lang, n=1, min=50) in [w.value for w in at.warning]
    rows = at.dataframe[0].value.set_index("code")
    assert rows.loc["P-GOV-1", ["respondents", "mean", "impact"]].tolist() == [60, 4.0, 3.0]
    assert rows.loc["P-GOV-1", "note"] == t("drill.method_counted", lang)
    assert rows.loc["P-LIV-1", ["respondents", "mean", "impact"]].tolist() == [30, 5.0, 4.0]
    assert rows.loc["P-LIV-1", "note"] == t("drill.method_insufficient", lang, min=50)
    assert "P-XXX-9" not in rows.index
    # user text (a code from the survey file) is escaped, never markup
    assert t("drill.method_ignored", lang, codes=md_escape("P-XXX-9")) in [c.value for c in at.caption]
