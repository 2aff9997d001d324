"""The assessor's core (metrics.review, metrics.governance.verify_many): review flags on
constructed data, verified levels moving the index by the hand-computed amount, and refusals
(locked year, roles without Action.VERIFY, invalid rows) that change nothing.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics import review, scoring
from metrics.auth import ANONYMOUS, SYSTEM, User
from metrics.errors import PeriodClosed, PermissionDenied, ValidationError
from metrics.governance import load_registry_bytes, set_period, verify, verify_many
from metrics.ingest import ingest_bytes
from tests.conftest import ASSESS_CSV

pytestmark = pytest.mark.both_backends

ASSESSOR = User("pn", "assessor")
HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def _ingest(store, body: str, name: str) -> None:
    r = ingest_bytes(store, SYSTEM, (HEAD + body).encode(), name)
    assert r.accepted, r.to_dict("en")


def _rows(df: pd.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["opd_code"], r["code"]): r for r in df.to_dict("records")}


# --------------------------------------------------------------------------- the flag rules


@pytest.mark.parametrize(
    "level,prev,evidence,peer_mean,peers,expected",
    [
        (3, 1, "SK 1/2024", None, 0, ["jump"]),  # +2: flagged
        (3, 2, "SK 1/2024", None, 0, []),  # +1: not
        (4, None, "SK 1/2024", None, 0, []),  # no previous answer: no jump
        (3, 3, "", None, 0, ["no_evidence"]),
        (4, 4, "   ", None, 0, ["no_evidence"]),  # blank is no evidence
        (2, 2, None, None, 0, []),  # level 2 needs no evidence
        (4, 4, "ada", 2.0, 3, ["above_peers"]),  # exactly 2 above 3 peers
        (4, 4, "ada", 2.1, 3, []),  # 1.9 above: not
        (4, 4, "ada", 0.0, 2, []),  # too few peers to compare with
        (4, 1, None, 1.0, 5, ["jump", "no_evidence", "above_peers"]),
    ],
)
def test_flag_rules(level, prev, evidence, peer_mean, peers, expected):
    assert review.flags_for(level, prev, evidence, peer_mean, peers) == expected


@pytest.fixture
def flagged(mini):
    """Kota Uji (0101) answers 2023 (conftest) and 2024; three more cities' DLH answer E1 in 2024.

    In 2024 DLH Uji (0101/03) answers E1 = 3 without evidence: it was 1 in 2023 (jump), and
    the three other DLHs gave 0, 1, 0 (peer mean 1/3, 2.67 below): all three flags. Nothing
    else is flagged: G1 4 with evidence (3 last year), G2 2 without evidence, G2 4 with evidence.
    """
    load_registry_bytes(
        mini,
        SYSTEM,
        b"city_code,name,province,category,population\n"
        b"0303,Kota Tiga,Bali,kecil,10\n0404,Kota Empat,Bali,kecil,10\n"
        b"0505,Kota Lima,Bali,kecil,10\n",
        "c.csv",
    )
    load_registry_bytes(
        mini,
        SYSTEM,
        b"city_code,opd_code,opd_type,name\n0303,03,DLH,DLH Tiga\n"
        b"0404,03,DLH,DLH Empat\n0505,03,DLH,DLH Lima\n",
        "o.csv",
    )
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "2023.csv").accepted
    _ingest(
        mini,
        "0101,01,2024,G1,4,Perwali 12/2023,\n0101,01,2024,G2,2,,\n0101,02,2024,G2,4,Laporan OSS,\n",
        "a.csv",
    )
    _ingest(mini, "0101,03,2024,E1,3,,\n", "b.csv")
    _ingest(mini, "0303,03,2024,E1,0,,\n", "c.csv")
    _ingest(mini, "0404,03,2024,E1,1,,\n", "d.csv")
    _ingest(mini, "0505,03,2024,E1,0,,\n", "e.csv")
    return mini


def test_review_flags_the_constructed_answers(flagged):
    rv = review.review(flagged, ASSESSOR, "0101", 2024, "en")
    assert set(rv.indicators["dimension"]) == {"Output", "Outcome"}  # named in the reader's language
    assert rv.state == "ok" and rv.city_name == "Kota Uji" and rv.status == "open" and rv.editable
    rows = _rows(rv.answers)
    assert set(rows) == {("01", "G1"), ("01", "G2"), ("02", "G2"), ("03", "E1")}
    assert rows[("03", "E1")]["flags"] == "jump,no_evidence,above_peers"
    assert rows[("03", "E1")]["prev_level"] == 1 and rows[("03", "E1")]["peers"] == 3
    assert math.isclose(rows[("03", "E1")]["peer_mean"], 1 / 3)
    assert rows[("03", "E1")]["flag_text"] == (
        "up ≥2 levels since last year; level 3–4 without evidence; far above similar OPDs in other cities"
    )
    assert all(rows[k]["flags"] == "" for k in rows if k != ("03", "E1"))
    assert rv.flag_counts == {"jump": 1, "no_evidence": 1, "above_peers": 1}
    assert list(rv.answers_shown(only_flagged=True)["code"]) == ["E1"]
    assert rv.answers_shown()["code"].iloc[0] == "E1"  # flagged first
    ind = rv.indicators.set_index("code")
    assert ind.loc["E1", "flags"] == 1 and ind.loc["G2", "flags"] == 0
    assert ind.loc["G2", "self_level"] == 3.0 and ind.loc["G2", "n_opd"] == 2
    # the other cities' answers never appear in Kota Uji's review
    assert set(rv.answers["opd_name"]) == {"Dinas Kominfo Uji", "DPMPTSP Uji", "DLH Uji"}


def test_review_states(mini):
    assert review.review(mini, ASSESSOR, None, 2023).state == "no_city"
    assert review.review(mini, ASSESSOR, "0101", 2023).state == "no_data"
    assert review.review(mini, ASSESSOR, "0101", 2019).state == "empty"  # no framework applies yet


# --------------------------------------------------------------------------- applying verified levels


def test_apply_moves_the_index_by_the_hand_computed_amount(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    # OUTPUT = (1·3 + 3·1)/4 = 1.5; OUTCOME = (2·3 + 1·0)/3 = 2; index = 0.4·1.5 + 0.6·2 = 1.8
    assert math.isclose(scoring.city_score(mini, "0101", 2023).index, 1.8)
    rv = review.review(mini, ASSESSOR, "0101", 2023)
    rows = rv.indicators.to_dict("records")
    e1 = next(r for r in rows if r["code"] == "E1")
    e1["verified_level"], e1["verified_note"] = 3, "  dokumen dicek  "
    audit_before = mini.audit_count()
    done = review.apply(mini, ASSESSOR, "0101", 2023, rows)
    assert done.changed == ("E1",) and done.unchanged == 0
    assert mini.audit_count() == audit_before + 1
    # E1 verified at 3: OUTPUT = (1·3 + 3·3)/4 = 3; index = 0.4·3 + 0.6·2 = 2.4, i.e. +0.6
    assert math.isclose(scoring.city_score(mini, "0101", 2023).index, 2.4)
    after = review.review(mini, ASSESSOR, "0101", 2023).indicators.set_index("code")
    assert after.loc["E1", "verified_level"] == 3 and after.loc["E1", "verified_note"] == "dokumen dicek"
    assert after.loc["E1", "source"] == "verified" and after.loc["E1", "verified_by"] == "pn"
    # the same rows again change nothing and write nothing
    again = review.apply(
        mini,
        ASSESSOR,
        "0101",
        2023,
        review.review(mini, ASSESSOR, "0101", 2023).indicators.to_dict("records"),
    )
    assert again.changed == () and again.unchanged == 1 and mini.audit_count() == audit_before + 1
    # G2 verified at 1 (from the editor, as a float): OUTCOME = (2·1 + 0)/3; index = 1.2 + 0.4 = 1.6
    done = review.apply(
        mini, ASSESSOR, "0101", 2023, [{"code": "G2", "verified_level": 1.0, "verified_note": None}]
    )
    assert done.changed == ("G2",)
    assert math.isclose(scoring.city_score(mini, "0101", 2023).index, 1.6)


def test_gap_per_opd(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    review.apply(
        mini,
        ASSESSOR,
        "0101",
        2023,
        [{"code": "E1", "verified_level": 3}, {"code": "G2", "verified_level": 2}],
    )
    gaps = review.review(mini, ASSESSOR, "0101", 2023).gaps
    # 02 said G2 = 4 (verified 2): +2; 01 said G1 = 3 (not verified) and G2 = 2 (verified 2): 0;
    # 03 said E1 = 1 (verified 3): -2. Most over-stated first.
    assert list(gaps["opd_code"]) == ["02", "01", "03"]
    assert list(gaps["gap"]) == [2.0, 0.0, -2.0]
    assert list(gaps["answered"]) == [1, 2, 1] and list(gaps["verified"]) == [1, 1, 1]


def test_a_row_without_a_verified_level_is_left_alone(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    verify(mini, ASSESSOR, "0101", 2023, "G1", 2, "awal")
    done = review.apply(
        mini,
        ASSESSOR,
        "0101",
        2023,
        [
            {"code": "G1", "verified_level": None},
            {"code": "E1", "verified_level": float("nan")},
            {"code": "G2", "verified_level": pd.NA},
        ],
    )
    assert done.changed == () and done.unchanged == 0
    assert mini.verification_rows("0101", 2023)[0]["level"] == 2


# each refused with the key an upload of the same cell gets (metrics.cells.parse_level); before
# issue 16 the review said "outside the scale" for all of them, and took "0_1" as level 1
@pytest.mark.parametrize(
    "bad, key",
    [
        (7, "cell.level_range"),
        (-1, "cell.level_range"),
        ("7", "cell.level_range"),
        (2.5, "cell.level_not_int"),
        ("2.5", "cell.level_not_int"),
        ("0_1", "cell.level_not_int"),
        ("3,5", "cell.level_decimal_comma"),
        (True, "cell.boolean"),
        ("BENAR", "cell.boolean"),
        ("tiga", "cell.level_not_int"),
    ],
)
def test_an_invalid_row_refuses_the_whole_save(mini, bad, key):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    before = mini.content_fingerprint()
    with pytest.raises(ValidationError) as exc:
        review.apply(
            mini,
            ASSESSOR,
            "0101",
            2023,
            [{"code": "G1", "verified_level": 3}, {"code": "E1", "verified_level": bad}],
        )
    assert exc.value.key == key and exc.value.message("en")
    assert mini.content_fingerprint() == before  # G1, valid, was not written either


def test_unknown_indicator_and_city_are_refused(mini):
    before = mini.content_fingerprint()
    with pytest.raises(ValidationError) as exc:
        verify_many(mini, ASSESSOR, "0101", 2023, [("G1", 2, ""), ("ZZ9", 2, "")])
    assert exc.value.key == "cell.unknown_indicator"
    with pytest.raises(ValidationError) as exc:
        verify(mini, ASSESSOR, "9999", 2023, "G1", 2)
    assert exc.value.key == "cell.unknown_city"
    with pytest.raises(ValidationError) as exc:
        verify(mini, ASSESSOR, "0101", 2023, "G1", 2, "x" * 4001)
    assert exc.value.key == "cell.text_too_long"
    assert mini.content_fingerprint() == before


def test_a_locked_year_cannot_be_verified(mini):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    set_period(mini, SYSTEM, "0101", 2023, "locked")
    rv = review.review(mini, ASSESSOR, "0101", 2023)
    assert rv.status == "locked" and not rv.editable
    before = mini.content_fingerprint()
    with pytest.raises(PeriodClosed) as exc:
        review.apply(mini, ASSESSOR, "0101", 2023, [{"code": "E1", "verified_level": 3}])
    assert exc.value.key == "period.locked"
    with pytest.raises(PeriodClosed):
        verify(mini, ASSESSOR, "0101", 2023, "E1", 3)
    assert mini.content_fingerprint() == before
    # a closed (not locked) year may still be verified
    set_period(mini, SYSTEM, "0202", 2023, "closed")
    assert review.apply(mini, ASSESSOR, "0202", 2023, [{"code": "E1", "verified_level": 3}]).changed == (
        "E1",
    )


@pytest.mark.parametrize(
    "user",
    [
        User("wk", "executive", "0101"),
        User("op", "opd", "0101", "03"),
        User("tm", "viewer"),
        ANONYMOUS,
        User("pn2", "assessor", active=False),
        User("pn3", "assessor", "0202"),
    ],
    ids=["executive", "opd", "viewer", "anonymous", "disabled", "other-city"],
)
def test_who_may_not_verify_is_refused(mini, user):
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    before = mini.content_fingerprint()
    with pytest.raises(PermissionDenied):
        review.review(mini, user, "0101", 2023)
    with pytest.raises(PermissionDenied):
        review.apply(mini, user, "0101", 2023, [{"code": "E1", "verified_level": 3}])
    assert mini.content_fingerprint() == before
