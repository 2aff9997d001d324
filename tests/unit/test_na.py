"""Not-applicable ("tidak berlaku") answers end to end (issue 17, section 4), on real stores.

An OPD marks an indicator that allows it TB with a reason (upload, template or browser form, all
by the one cell rule of metrics.cells); it is kept apart from the levels (assessment_na); an
assessor accepts or rejects it (audited, permission- and lock-checked); a rejection goes back to
the OPD's home and form card with the assessor's note. The fixture framework is mini.yaml with
E1 (air monitoring, answered by the DLH) allowed "tidak berlaku" (tests/fixtures/na.yaml).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from metrics import entry, governance, home, review
from metrics import templates as tpl
from metrics.auth import SYSTEM, User
from metrics.cells import NA, check_na, is_na
from metrics.errors import PeriodClosed, PermissionDenied, ValidationError
from metrics.governance import load_framework_text, load_registry_bytes, set_period
from metrics.ingest import NaAnswer, ingest_bytes, load_context, parse_file
from metrics.keys import copy_database
from metrics.loaded_frameworks import loaded_frameworks
from metrics.store import Store
from tests import pg_cluster
from tests.conftest import CITIES_CSV, FIXTURES, OPDS_CSV, _pg_copy, _pg_template, opd_user

pytestmark = pytest.mark.both_backends

CITY, OPD, YEAR = "0101", "03", 2023  # Kota Uji's DLH answers E1 (allow_na) and E2
HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"
REASON = "Kota kecil tanpa stasiun pemantauan udara; data dari provinsi"
ASSESSOR = User("pen", "assessor", CITY)


def _load_na(store: Store) -> None:
    load_framework_text(store, SYSTEM, (FIXTURES / "na.yaml").read_text(encoding="utf-8"))
    load_registry_bytes(store, SYSTEM, CITIES_CSV, "cities.csv")
    load_registry_bytes(store, SYSTEM, OPDS_CSV, "opds.csv")


@pytest.fixture(scope="module")
def na_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("na") / "na.duckdb"
    store = Store(path)
    _load_na(store)
    store.checkpoint()
    store.close()
    return path


@pytest.fixture(scope="module")
def na_pg_template(pg_state_dir: Path) -> Iterator[str]:
    url = _pg_template(_load_na)
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture
def store(backend: str, na_db_file: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A private copy of the na store, on the test's backend."""
    if backend == "postgresql":
        url = _pg_copy(request.getfixturevalue("na_pg_template"))
        s = Store(url)
        yield s
        s.close()
        pg_cluster.drop_database(url)
        return
    path = tmp_path / "na.duckdb"
    copy_database(na_db_file, path)
    s = Store(path)
    yield s
    s.close()


def upload(store, body: str, name: str = "na.csv", user: User = SYSTEM, mode: str | None = None):
    return ingest_bytes(store, user, (HEAD + body).encode(), name, mode=mode)


def assessment_na(store) -> list[tuple]:
    with store.cursor() as cur:
        return cur.execute(
            "SELECT submission_id, indicator_code, reason, source_row FROM assessment_na ORDER BY 1, 2, 3, 4"
        ).fetchall()


# ------------------------------------------------------------------ the cell rule


@pytest.mark.parametrize(
    "v", ["TB", "tb", " Tb ", "tidak berlaku", "Tidak  Berlaku", "N/A", "n/a", "NA", "na"]
)
def test_na_words(v):
    assert is_na(v)


@pytest.mark.parametrize("v", [None, "", "0", 0, 3, "T", "tidak", "N/A/", "TBD", True])
def test_not_na(v):
    assert not is_na(v)


def test_check_na_names_the_field_of_each_refusal():
    assert check_na(True, "E1", REASON) == []
    [(fld, err)] = check_na(False, "G1", REASON)
    assert (fld, err.key, err.params) == ("level", "cell.na_not_allowed", {"indicator": "G1"})
    [(fld, err)] = check_na(True, "E1", "  \u00a0")
    assert (fld, err.key) == ("note", "cell.na_reason_required")
    assert [f for f, _ in check_na(False, "G1", None)] == ["level", "note"]


# ------------------------------------------------------------------ uploads


def test_tb_for_an_allow_na_indicator_is_stored_apart_from_the_levels(store):
    r = upload(store, f"{CITY},{OPD},{YEAR},E1,TB,,{REASON}\n{CITY},{OPD},{YEAR},E2,2,,\n")
    assert r.accepted, r.to_dict()
    assert (r.rows, r.na) == (2, 1) and r.to_dict()["not_applicable"] == 1
    [sid] = r.submission_ids
    assert assessment_na(store) == [(sid, "E1", REASON, 2)]
    rows = store.submission_rows(sid)
    assert list(rows["indicator_code"]) == ["E2"]  # no level row for the N/A answer
    assert store.submission(sid).n_rows == 2
    [claim] = store.na_claims(CITY, YEAR)
    assert (claim["opd_code"], claim["indicator_code"], claim["reason"], claim["decision"]) == (
        OPD,
        "E1",
        REASON,
        None,
    )


def test_parsed_submission_carries_na_rows(store):
    data = (
        HEAD + f"{CITY},{OPD},{YEAR},E2,2,,\n{CITY},{OPD},{YEAR},E1,Tidak Berlaku,Surat,{REASON}\n"
    ).encode()
    _kind, _delim, [sub] = parse_file(data, "na.csv", load_context(store))
    assert sub.na_rows == [NaAnswer("E1", REASON, 3)] and [r.indicator_code for r in sub.rows] == ["E2"]


@pytest.mark.parametrize("word", ["tidak berlaku", "N/A", "na"])
def test_every_na_word_is_read_as_tb(store, word):
    r = upload(store, f"{CITY},{OPD},{YEAR},E1,{word},,{REASON}\n")
    assert r.accepted and r.na == 1, r.to_dict()


def test_tb_on_an_indicator_that_does_not_allow_it_is_refused_located(store):
    before = store.content_fingerprint()
    r = upload(store, f"{CITY},01,{YEAR},G1,TB,,{REASON}\n")
    assert not r.accepted
    [p] = r.problems
    assert (p.key, p.file, p.sheet, p.row, p.column) == ("cell.na_not_allowed", "na.csv", None, 2, "level")
    assert "G1 does not allow tidak berlaku" in p.message("en")
    assert "G1 tidak boleh dijawab tidak berlaku" in p.message("id")
    assert store.content_fingerprint() == before and assessment_na(store) == []


def test_tb_without_a_reason_is_refused_located(store):
    r = upload(store, f"{CITY},{OPD},{YEAR},E2,1,,\n{CITY},{OPD},{YEAR},E1,tb,Surat Dinas,\n")
    assert not r.accepted
    [p] = r.problems
    assert (p.key, p.row, p.column) == ("cell.na_reason_required", 3, "note")
    assert "E1" in p.message("en") and "Catatan" in p.message("id")
    assert assessment_na(store) == [] and store.na_claims(CITY, YEAR) == []


def test_tb_twice_for_one_indicator_is_a_duplicate(store):
    r = upload(store, f"{CITY},{OPD},{YEAR},E1,TB,,{REASON}\n{CITY},{OPD},{YEAR},E1,2,,\n")
    assert [(p.key, p.row) for p in r.problems] == [("cell.duplicate_row", 3)]


def test_a_merge_carries_na_answers_over_like_levels(store):
    first = upload(store, f"{CITY},{OPD},{YEAR},E1,TB,,{REASON}\n{CITY},{OPD},{YEAR},E2,2,,\n")
    assert first.accepted
    partial = f"{CITY},{OPD},{YEAR},E2,3,,\n"
    refused = upload(store, partial, "e2.csv")  # it would drop the N/A answer: a choice is needed
    assert [p.key for p in refused.problems] == ["file.drops_answers"]
    r = upload(store, partial, "e2.csv", mode="merge")
    assert r.accepted and r.changes == {"kept": 1, "changed": 1, "added": 0, "dropped": 0, "carried": 1}
    [sid] = r.submission_ids
    assert (sid, "E1", REASON, None) in assessment_na(store)  # carried: no row in the new file
    [claim] = store.na_claims(CITY, YEAR)
    assert claim["submission_id"] == sid and claim["source_row"] is None
    # replacing the N/A answer by a level: the claim is gone from the version in force
    r2 = upload(store, f"{CITY},{OPD},{YEAR},E1,2,,\n{CITY},{OPD},{YEAR},E2,3,,\n", "e1.csv")
    assert r2.accepted and r2.changes["changed"] == 1
    assert store.na_claims(CITY, YEAR) == []


# ------------------------------------------------------------------ templates


def _fw_city_opd(store):
    fw = next(f for f, _ in loaded_frameworks(store))
    city = next(c for c in store.cities() if c.city_code == CITY)
    return fw, city, store.opd_map()[(CITY, OPD)]


def test_template_offers_tb_only_where_allowed_and_round_trips(store):
    fw, city, opd = _fw_city_opd(store)
    data = tpl.build_template(fw, city, opd, YEAR, {"E1": (NA, None, REASON), "E2": (1, None, None)})
    wb = load_workbook(io.BytesIO(data))
    ws = wb[tpl.SHEET]
    rows = {ws.cell(r, 1).value: r for r in range(tpl.FIRST_DATA_ROW, ws.max_row + 1)}
    level_col = tpl.COL_INDEX["level"] + 1
    e1, e2 = rows["E1"], rows["E2"]
    assert ws.cell(e1, level_col).value == "TB" and ws.cell(e1, tpl.COL_INDEX["note"] + 1).value == REASON
    assert "TB" in ws.cell(e1, level_col).comment.text and ws.cell(e2, level_col).comment is None
    lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert lists == {'"0,1,2,3,4"': f"J{e2}", '"0,1,2,3,4,TB"': f"J{e1}"}
    assert any(
        "TB" in (c.value or "") and "Catatan" in (c.value or "") for c in wb[tpl.INSTRUCTIONS_SHEET]["A"]
    )
    r = ingest_bytes(store, SYSTEM, data, "penilaian.xlsx")
    assert r.accepted and r.na == 1, r.to_dict()
    assert assessment_na(store) == [(r.submission_ids[0], "E1", REASON, e1)]


def test_template_without_allow_na_indicators_keeps_one_range(store):
    fw, city, _ = _fw_city_opd(store)
    kominfo = store.opd_map()[(CITY, "01")]
    ws = load_workbook(io.BytesIO(tpl.build_template(fw, city, kominfo, YEAR)))[tpl.SHEET]
    [dv] = ws.data_validations.dataValidation
    assert dv.formula1 == '"0,1,2,3,4"' and str(dv.sqref) == "J11:J12"


def test_template_prefill_shows_the_na_answer_in_force(store):
    upload(store, f"{CITY},{OPD},{YEAR},E1,TB,,{REASON}\n")
    ws = load_workbook(io.BytesIO(entry.template(store, SYSTEM, CITY, OPD, YEAR).data))[tpl.SHEET]
    e1 = next(r for r in range(tpl.FIRST_DATA_ROW, ws.max_row + 1) if ws.cell(r, 1).value == "E1")
    assert ws.cell(e1, tpl.COL_INDEX["level"] + 1).value == "TB"
    assert ws.cell(e1, tpl.COL_INDEX["note"] + 1).value == REASON


# ------------------------------------------------------------------ the browser form


def test_draft_keeps_tb_and_submit_writes_na_rows(store):
    dlh = opd_user(CITY, OPD)
    out = entry.save_draft(
        store,
        dlh,
        CITY,
        OPD,
        YEAR,
        [{"code": "E1", "level": NA, "evidence": "", "note": REASON}, {"code": "E2", "level": 2}],
    )
    assert out.status == "saved" and out.problems == [] and out.answered == 2
    assert json.loads(store.get_draft(CITY, OPD, YEAR)[0])["answers"]["E1"] == ["TB", "", REASON]
    fm = entry.form(store, dlh, CITY, OPD, YEAR)
    e1 = next(c for c in fm.cards if c.code == "E1")
    e2 = next(c for c in fm.cards if c.code == "E2")
    assert (e1.na, e1.value, e1.level, e1.note, e1.na_state, e1.allow_na) == (
        True,
        NA,
        None,
        REASON,
        "draft",
        True,
    )
    assert not e2.allow_na and e2.value == 2 and fm.answered == 2
    assert e1.choice(NA, "en").startswith("TB — Not applicable")
    # a card the page never drew keeps its N/A answer
    assert fm.records(lambda code, fld: entry.UNSET)[0]["level"] == NA
    res = entry.submit(store, dlh, CITY, OPD, YEAR)
    assert res.accepted, res.problems_frame("en")
    assert res.summaries[0].na == 1
    assert store.get_draft(CITY, OPD, YEAR) is None
    assert [(c, r, row) for _, c, r, row in assessment_na(store)] == [("E1", REASON, 2)]
    fm2 = entry.form(store, dlh, CITY, OPD, YEAR)
    e1 = next(c for c in fm2.cards if c.code == "E1")
    assert fm2.source == "submission" and e1.na and e1.na_state == "pending" and e1.note == REASON


def test_form_tb_without_reason_cannot_be_submitted(store):
    dlh = opd_user(CITY, OPD)
    out = entry.save_draft(store, dlh, CITY, OPD, YEAR, [{"code": "E1", "level": "TB", "note": ""}])
    assert [p.key for p in out.problems] == ["cell.na_reason_required"]
    res = entry.submit(store, dlh, CITY, OPD, YEAR)
    assert not res.accepted and assessment_na(store) == []
    assert res.problems_frame("en")["indicator"].tolist() == ["E1 Air monitoring"]


# ------------------------------------------------------------------ the assessor's word


def _claim(store):
    r = upload(store, f"{CITY},{OPD},{YEAR},E1,TB,,{REASON}\n{CITY},{OPD},{YEAR},E2,2,,\n")
    assert r.accepted


def _audit(store, action):
    df = store.audit_frame(action=action)
    return [
        (row.object, json.loads(row.before) if row.before else None, json.loads(row.after))
        for row in df.itertuples()
    ]


def test_accept_and_reject_are_decisions_with_audit_rows(store):
    _claim(store)
    nid = governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", True)
    [claim] = store.na_claims(CITY, YEAR)
    assert (claim["decision"], claim["decided_by"], entry.na_state(claim)) == ("accepted", "pen", "accepted")
    assert _audit(store, "na.accept") == [
        ("indicator:0101/2023/E1", None, {"decision": "accepted", "note": "", "opds": ["03"]})
    ]
    nid2 = governance.decide_na(
        store, ASSESSOR, CITY, YEAR, "E1", False, "Data provinsi tersedia; isi level 1"
    )
    assert nid2 > nid
    [claim] = store.na_claims(CITY, YEAR)
    assert (claim["decision"], claim["decision_note"], entry.na_state(claim)) == (
        "rejected",
        "Data provinsi tersedia; isi level 1",
        "rejected",
    )
    assert _audit(store, "na.reject") == [
        (
            "indicator:0101/2023/E1",
            {"decision": "accepted", "note": ""},
            {"decision": "rejected", "note": "Data provinsi tersedia; isi level 1", "opds": ["03"]},
        )
    ]
    with store.cursor() as cur:
        assert store.current_na_decision(cur, CITY, YEAR, "E1")[:3] == (
            "rejected",
            "Data provinsi tersedia; isi level 1",
            "pen",
        )


@pytest.mark.parametrize(
    "user",
    [
        opd_user(CITY, OPD),  # the OPD cannot confirm its own claim
        User("tamu", "viewer", CITY),
        User("pen2", "assessor", "0202"),  # an assessor of another city
        User("plan", "planner", CITY),
    ],
)
def test_only_an_assessor_of_the_city_decides(store, user):
    _claim(store)
    with pytest.raises(PermissionDenied):
        governance.decide_na(store, user, CITY, YEAR, "E1", True)
    assert store.na_claims(CITY, YEAR)[0]["decision"] is None
    assert store.audit_frame(action="na.accept").empty


def test_refusals_change_nothing(store):
    with pytest.raises(ValidationError) as e:
        governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", True)  # nothing claimed yet
    assert e.value.key == "na.no_claim"
    _claim(store)
    with pytest.raises(ValidationError) as e:
        governance.decide_na(store, ASSESSOR, CITY, YEAR, "E2", True)  # E2 has a level, not TB
    assert e.value.key == "na.no_claim"
    with pytest.raises(ValidationError) as e:
        governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", False, "   ")
    assert e.value.key == "na.note_required"
    set_period(store, SYSTEM, CITY, YEAR, "locked")
    with pytest.raises(PeriodClosed):
        governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", True)
    assert store.na_claims(CITY, YEAR)[0]["decision"] is None
    assert store.audit_frame(action="na.accept").empty and store.audit_frame(action="na.reject").empty


def test_a_closed_year_still_takes_the_assessors_word(store):
    _claim(store)
    set_period(store, SYSTEM, CITY, YEAR, "closed")
    governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", True)
    assert store.na_claims(CITY, YEAR)[0]["decision"] == "accepted"


def test_review_lists_claims_open_first(store):
    _claim(store)
    upload(store, f"{CITY},01,{YEAR},G1,2,,\n", "g1.csv")
    na = review.na_claims(store, ASSESSOR, CITY, YEAR, "en")
    assert na.claims[["code", "opd_code", "reason", "state"]].values.tolist() == [
        ["E1", OPD, REASON, "pending"]
    ]
    assert na.claims["indicator"].tolist() == ["Air monitoring"] and na.open == ["E1"] and na.editable
    review.decide_na(store, ASSESSOR, CITY, YEAR, "E1", False, "Ada data provinsi")
    na = review.na_claims(store, ASSESSOR, CITY, YEAR, "id")
    assert na.open == [] and na.codes == ["E1"]
    assert na.claims["state_text"].tolist() == [
        "Tidak berlaku: ditolak penilai. Pilih level atau perbaiki alasannya."
    ]
    with pytest.raises(PermissionDenied):
        review.na_claims(store, opd_user(CITY, OPD), CITY, YEAR)


def test_a_resubmitted_claim_waits_for_the_assessor_again(store):
    _claim(store)
    governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", False, "Alasan kurang")
    upload(
        store,
        f"{CITY},{OPD},{YEAR},E1,TB,,{REASON} (surat BMKG terlampir)\n{CITY},{OPD},{YEAR},E2,2,,\n",
        "again.csv",
    )
    [claim] = store.na_claims(CITY, YEAR)
    assert claim["decision"] == "rejected" and entry.na_state(claim) == "pending"


# ------------------------------------------------------------------ the OPD's home


def test_rejected_na_is_on_the_opd_home_with_the_note(store):
    _claim(store)
    dlh = opd_user(CITY, OPD)
    h = home.opd_home(store, dlh, YEAR)
    assert [(i.code, i.state) for i in h.na_pending] == [("E1", "pending")] and h.na_rejected == ()
    governance.decide_na(store, ASSESSOR, CITY, YEAR, "E1", False, "Gunakan data provinsi")
    h = home.opd_home(store, dlh, YEAR)
    [item] = h.na_rejected
    assert (item.code, item.reason, item.note, item.decided_by) == (
        "E1",
        REASON,
        "Gunakan data provinsi",
        "pen",
    )
    assert h.na_pending == ()
    card = next(c for c in entry.form(store, dlh, CITY, OPD, YEAR).cards if c.code == "E1")
    assert (card.na_state, card.na_note) == ("rejected", "Gunakan data provinsi")
