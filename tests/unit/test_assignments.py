"""Issue 15, point 6: an indicator no OPD of a city can answer counts as an unanswered pair, and
the city's admin can assign it to one of the city's OPDs, who then answers it like any other.

Demo city 7399 (Kabupaten Lembah Hijau) has no OPD of the types of ECO-05, ECO-09 and SOC-07.
"""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from metrics import entry, scoring
from metrics.auth import SYSTEM, User
from metrics.errors import PermissionDenied, ValidationError
from metrics.framework import framework_for_year
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from metrics.responsibility import answered_sets, assign, responsibility

CITY = "7399"
ORPHANS = ("ECO-05", "ECO-09", "SOC-07")


def _year(store) -> int:
    return max(y for y in store.years() if store.period_status(CITY, y) == "open")


def _hand_counts(store, year: int) -> tuple[int, int]:
    """(pairs, answered) counted in plain Python from the registry, the assignments and the raw
    answers: per indicator, each OPD answering it is one pair; an indicator nobody answers is one."""
    fw = framework_for_year(loaded_frameworks(store), year)
    opds = store.opds(CITY)
    assigned = {(i, o) for c, i, o, *_ in store.assignment_rows(CITY)}
    got = answered_sets(store, fw, CITY, year)
    pairs = answered = 0
    for ind in fw.indicators:
        who = [o.opd_code for o in opds if o.opd_type in ind.opd_types or (ind.code, o.opd_code) in assigned]
        pairs += max(1, len(who))
        answered += sum(1 for oc in who if ind.code in got.get(oc, ()))
    return pairs, answered


def _fw(store):
    return loaded_frameworks(store)[-1][0]


@pytest.mark.both_backends
def test_unanswerable_indicators_count_as_unanswered_pairs(demo_store):
    year = _year(demo_store)
    assert responsibility(demo_store, _fw(demo_store), CITY).orphans == ORPHANS
    pairs, answered = _hand_counts(demo_store, year)
    cs = scoring.city_score(demo_store, CITY, year)
    assert (cs.pairs, cs.answered) == (pairs, answered)
    assert cs.completeness == pytest.approx(answered / pairs) and cs.completeness < 1
    assert scoring.recomputation_differences(demo_store) == []


@pytest.mark.both_backends
def test_admin_assigns_an_orphan_and_its_opd_answers_it(demo_store):
    store, year, fw = demo_store, _year(demo_store), _fw(demo_store)
    ind = fw.indicator("ECO-05")
    before = scoring.city_score(store, CITY, year)
    pairs0, answered0 = _hand_counts(store, year)

    assert assign(store, SYSTEM, CITY, "ECO-05", "01") is None
    assert responsibility(store, fw, CITY).orphans == ("ECO-09", "SOC-07")
    assert responsibility(store, fw, CITY).by_indicator["ECO-05"] == ("01",)
    with store.cursor() as cur:
        row = cur.execute(
            "SELECT action, object, before, after FROM audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row[:2] == ("indicator.assign", f"assignment:{CITY}/ECO-05")
    assert json.loads(row[2]) == {"opd": None} and json.loads(row[3]) == {"opd": "01"}
    # the pair now belongs to OPD 01, still unanswered: nothing moves yet
    mid = scoring.city_score(store, CITY, year)
    assert (mid.pairs, mid.answered, mid.index) == (
        before.pairs,
        before.answered,
        pytest.approx(before.index),
    )
    assert _hand_counts(store, year) == (pairs0, answered0)

    # OPD 01's workbook carries it
    op = User("op739901", "opd", CITY, "01")
    wb = load_workbook(io.BytesIO(entry.template(store, op, CITY, "01", year).data))
    codes = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert "ECO-05" in codes
    assert "ECO-05" in set(entry.form(store, op, CITY, "01", year).rows["code"])

    # and an upload answering it is accepted and counts
    csv = (
        f"city_code,opd_code,year,indicator_code,level,evidence,note\n"
        f"{CITY},01,{year},ECO-05,3,SK Bupati tentang UMKM digital,\n"
    ).encode()
    res = ingest_bytes(store, op, csv, "eco05.csv", mode="merge")
    assert res.accepted, [p.render() for p in res.problems]
    after = scoring.city_score(store, CITY, year)
    assert _hand_counts(store, year) == (pairs0, answered0 + 1)
    assert (after.pairs, after.answered) == (pairs0, answered0 + 1)
    # the index moves by the indicator's weighted level in its dimension (missing counted as 0)
    dims = {d.code: d.weight for d in fw.dimensions}
    w_dim = sum(i.weight for i in fw.indicators if i.dimension == ind.dimension)
    delta = dims[ind.dimension] / sum(dims.values()) * ind.weight * 3 / w_dim
    assert after.index - before.index == pytest.approx(delta)
    assert scoring.recomputation_differences(store) == []

    # withdrawn: the indicator is nobody's again, OPD 01's answer no longer counts
    assert assign(store, SYSTEM, CITY, "ECO-05", None) == "01"
    back = scoring.city_score(store, CITY, year)
    assert (back.pairs, back.answered) == (before.pairs, before.answered)
    assert "ECO-05" in responsibility(store, fw, CITY).orphans
    assert scoring.recomputation_differences(store) == []
    refused = ingest_bytes(store, op, csv.replace(b",3,", b",2,"), "again.csv", mode="merge")
    assert not refused.accepted and {p.key for p in refused.problems} == {"cell.not_responsible"}


@pytest.mark.both_backends
def test_assignment_rules(demo_store):
    store = demo_store
    for who in (
        User("exec", "executive", CITY, None),
        User("op", "opd", CITY, "01"),
        User("adm", "admin", "0101", None),
    ):
        with pytest.raises(PermissionDenied):
            assign(store, who, CITY, "ECO-05", "01")
    assert "99" not in {o.opd_code for o in store.opds(CITY)}
    with pytest.raises(ValidationError) as e:
        assign(store, SYSTEM, CITY, "ECO-05", "99")
    assert e.value.key == "assign.not_of_city"
    answerable = next(i.code for i in _fw(store).indicators if i.code not in ORPHANS)
    with pytest.raises(ValidationError) as e:
        assign(store, SYSTEM, CITY, answerable, "01")
    assert e.value.key == "assign.answerable"
    with pytest.raises(ValidationError):
        assign(store, SYSTEM, CITY, "NOPE-01", "01")
    # a city admin may assign in their own city
    assign(store, User("adm", "admin", CITY, None), CITY, "SOC-07", "02")
    assert store.assignment_rows(CITY)[0][:3] == (CITY, "SOC-07", "02")


def test_an_older_database_is_rescored_on_upgrade(demo_db_file, tmp_path):
    """A database of the release before v6 kept completeness without the unanswerable pairs; the
    migration rebuilds the score tables so that kept scores equal a recomputation."""
    from metrics.keys import copy_database
    from metrics.store import MIGRATIONS, SCHEMA_VERSION, Store

    before_v = next(n for n, m in enumerate(MIGRATIONS) if "CREATE TABLE opd_assignments" in m[0])

    path = tmp_path / "old.duckdb"
    copy_database(demo_db_file, path)
    s = Store(path)
    year = _year(s)
    pairs, answered = _hand_counts(s, year)
    with s.transaction() as cur:  # the score tables as the previous release left them: no orphan pairs
        cur.execute("DROP TABLE opd_assignments")
        for table in ("score_cy", "score_facts", "score_parts", "score_city"):  # that release's layout,
            cur.execute(f"DROP TABLE {table}")  # built by v2's frozen SQL (issue 16: scoresql)
        for stmt in MIGRATIONS[1]:
            cur.execute(stmt)
        cur.execute("UPDATE score_cy SET pairs = pairs - 3 WHERE city_code = ?", [CITY])
        cur.execute("UPDATE score_city SET pairs = pairs - 3 WHERE city_code = ?", [CITY])
        cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(before_v)])
        # that release's score tables carried its own SQL's version (issue 17 changed the SQL since)
        cur.execute("DELETE FROM meta WHERE key = 'score_tables_version'")
    s.close()
    s = Store(path)
    try:
        assert s.schema_version() == SCHEMA_VERSION
        cs = scoring.city_score(s, CITY, year)
        assert (cs.pairs, cs.answered) == (pairs, answered)
        assert scoring.recomputation_differences(s) == []
    finally:
        s.close()


def test_the_admin_assigns_from_the_page_and_the_flag_goes(app_db):
    """Administrasi → Registri lists 7399's unanswerable indicators; assigning one from the page
    goes through the core (audited) and the flag drops to the two left; withdrawing brings it back."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest_support import app_store, no_errors, session, t
    from tests.functional.test_pages_admin import ROOT

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = session(app_db, "admin")
    at.session_state["lang"] = "id"
    at.session_state["f_city"] = CITY
    at.run()
    at.switch_page("pages/admin.py").run()
    no_errors(at)
    assert any(w.value.startswith(t("orphans.warning", n=3)[:40]) for w in at.warning)
    at.selectbox(key="admin_assign_code").set_value("SOC-07")
    at.selectbox(key="admin_assign_opd").set_value("04")
    at.button(key="admin_assign").click().run()
    no_errors(at)
    assert any(t("assign.done", code="SOC-07", opd="04") in s.value for s in at.success)
    assert any(t("orphans.warning", n=2)[:40] in w.value for w in at.warning)
    assert list(at.selectbox(key="admin_assign_code").options) == [
        "ECO-05 · " + _name(app_db, "ECO-05"),
        "ECO-09 · " + _name(app_db, "ECO-09"),
    ]
    store = app_store(app_db)
    assert [r[:3] for r in store.assignment_rows(CITY)] == [(CITY, "SOC-07", "04")]
    with store.cursor() as cur:
        assert cur.execute("SELECT username, action FROM audit ORDER BY id DESC LIMIT 1").fetchone() == (
            "admin",
            "indicator.assign",
        )
    at.button(key="admin_unassign").click().run()
    no_errors(at)
    assert any(t("orphans.warning", n=3)[:40] in w.value for w in at.warning)
    assert store.assignment_rows(CITY) == []


def _name(path, code: str) -> str:
    from metrics.i18n import pick
    from tests.apptest_support import app_store

    return pick(loaded_frameworks(app_store(path))[-1][0].indicator(code).name, "id")
