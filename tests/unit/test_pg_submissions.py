"""The upload write path on PostgreSQL (metrics.store.pg.submissions, .evidence), where several
processes write at once: two `Store(url)` objects on one database are two processes' pools
(each its own connections, nothing shared in memory).

- uploads for the same OPD-year from both at once: every accepted upload is its own version
  (no id lost or given twice, every answer row kept), the newest is the one in force;
- an original file is kept once by its SHA-256, also when two open transactions keep the same
  file at the same moment (the second waits for the first, then skips it; or stores it if the
  first rolled back); evidence files and links likewise;
- what one process stored, the other reads (the original's bytes, the submission and its rows);
- an upload's rows go in with a fixed number of statements, whatever their count (COPY, no
  statement per row).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from metrics import audit, evidence
from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes, load_context
from metrics.records import SubmissionBatch
from metrics.store import PgStore, Store
from metrics.store.pg.connection import PgCursor
from tests import pg_cluster
from tests.conftest import _pg_copy, opd_user
from tests.security import evidence_samples as S

HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"
OP = opd_user("0101", "01")
STORES, THREADS, UPLOADS = 2, 3, 6


def body(thread: int, k: int) -> bytes:
    """The file a thread uploads k-th: the same bytes from both stores (the same original kept
    by two processes at once), different ones across threads and turns."""
    return (
        HEAD + f"0101,01,2023,G1,{k % 5},bukti t{thread} k{k},\n0101,01,2023,G2,{thread % 5},,\n"
    ).encode()


@pytest.fixture
def url(mini_pg_template: str) -> Iterator[str]:
    u = _pg_copy(mini_pg_template)
    yield u
    pg_cluster.drop_database(u)


@pytest.fixture
def two(url: str) -> Iterator[tuple[Store, Store]]:
    a, b = Store(url), Store(url)
    assert isinstance(a, PgStore) and isinstance(b, PgStore) and a.pool is not b.pool
    yield a, b
    a.close()
    b.close()


def _count(store: Store, sql: str, params: object = None) -> int:
    with store.cursor() as cur:
        return int(cur.execute(sql, params).fetchone()[0])


def test_two_stores_uploading_for_one_opd_year_at_once_keep_every_version(two):
    a, b = two
    before = a.counts()
    contexts = {id(s): load_context(s) for s in two}
    results: list[tuple[bytes, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(STORES * THREADS)

    def work(store: Store, thread: int) -> None:
        try:
            start.wait()
            for k in range(UPLOADS):
                data = body(thread, k)
                r = ingest_bytes(store, OP, data, f"t{thread}-k{k}.csv", ctx=contexts[id(store)])
                with lock:
                    results.append((data, r))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, t)) for s in two for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert len(results) == STORES * THREADS * UPLOADS
    assert [r.problems for _, r in results if not r.accepted] == []

    ids = [i for _, r in results for i in r.submission_ids]
    assert all(len(r.submission_ids) == 1 for _, r in results)
    assert len(set(ids)) == len(ids) == STORES * THREADS * UPLOADS  # none given twice
    stored = a.submissions_frame(city="0101", opd="01", year=2023)
    assert sorted(stored["id"].tolist()) == sorted(ids)  # none lost (the mini store had none before)
    assert a.counts()["submissions"] == before["submissions"] + len(ids)
    # the newest version is the one in force, and only it
    assert stored.loc[stored["in_force"], "id"].tolist() == [max(ids)]
    # every version has its own rows, exactly those of its file
    for data, r in results:
        rows = b.submission_rows(r.submission_ids[0])
        lines = data.decode().splitlines()[1:]
        assert [(x.split(",")[3], int(x.split(",")[4])) for x in lines] == list(
            zip(rows["indicator_code"], rows["level"], strict=True)
        )
        assert b.submission(r.submission_ids[0]).sha256 == hashlib.sha256(data).hexdigest()
    assert a.counts()["assessments"] == before["assessments"] + 2 * len(ids)
    # each original once, though both stores kept each one (at about the same moment)
    contents = {d for d, _ in results}
    assert len(contents) == THREADS * UPLOADS
    assert a.counts()["files"] == before["files"] + len(contents)
    assert _count(a, "SELECT count(DISTINCT sha256) FROM files") == a.counts()["files"]
    for data in contents:
        assert b.file_content(hashlib.sha256(data).hexdigest()) == data
    # one audit row per upload, one chain
    creates = [r for r in a.audit_rows() if r.action == "submission.create"]
    assert len(creates) == len(ids)
    rep = audit.verify_store(a)
    assert not rep.broken, rep


def _hold_then_race(
    first: Store, second: Store, write: Any, end_first: str
) -> tuple[list[Any], float, list[BaseException]]:
    """`write(store, cur)` in an open transaction of `first`; then the same in `second` from a
    thread, which must wait for `first` (its own return values collected); then `first` ends
    (`commit` or `rollback`). Returns (second's results, how long it waited, errors)."""
    out: list[Any] = []
    errors: list[BaseException] = []
    second_done = threading.Event()
    waited = [0.0]

    def other() -> None:
        t = time.perf_counter()
        try:
            with second.transaction() as cur:
                out.append(write(second, cur))
        except BaseException as exc:
            errors.append(exc)
        waited[0] = time.perf_counter() - t
        second_done.set()

    class Rollback(Exception):
        """Ends the first transaction by rolling it back."""

    th = threading.Thread(target=other)
    try:
        with first.transaction() as cur:
            out.append(write(first, cur))
            th.start()
            # the second transaction is blocked on the first's row, not done before it
            assert not second_done.wait(0.5)
            if end_first == "rollback":
                raise Rollback
    except Rollback:
        pass  # the rollback this case asked for
    th.join(timeout=60)
    assert second_done.is_set()
    return out, waited[0], errors


@pytest.mark.parametrize("end_first", ["commit", "rollback"])
def test_the_same_original_kept_by_two_open_transactions_is_stored_once(two, end_first):
    a, b = two
    data = body(0, 0)
    sha = hashlib.sha256(data).hexdigest()
    before = a.counts()["files"]
    _, waited, errors = _hold_then_race(
        a, b, lambda s, cur: s.keep_files(cur, [(sha, "a.csv", data), (sha, "again.csv", data)]), end_first
    )
    assert errors == [] and waited >= 0.5
    assert a.counts()["files"] == before + 1
    assert a.file_content(sha) == data and b.file_content(sha) == data
    with b.cursor() as cur:
        name = cur.execute("SELECT name FROM files WHERE sha256 = ?", [sha]).fetchone()[0]
    assert name == "a.csv"  # the first name of a content is kept, whichever store kept it


@pytest.mark.parametrize("end_first", ["commit", "rollback"])
def test_the_same_evidence_file_stored_by_two_open_transactions_is_kept_once(two, end_first):
    a, b = two
    data = S.good_pdf()
    sha = hashlib.sha256(data).hexdigest()
    out, _, errors = _hold_then_race(
        a, b, lambda s, cur: s.put_evidence_blob(cur, sha, "application/pdf", data), end_first
    )
    assert errors == []
    # new to the first; to the second only if the first rolled back
    assert out == [True, end_first == "rollback"]
    assert _count(a, "SELECT count(*) FROM evidence_blobs") == 1
    assert b.evidence_blob(sha) == data and a.evidence_blob_mismatches() == []


def test_one_answer_linked_by_two_open_transactions_has_one_link(two):
    a, b = two
    item = evidence.add_file(a, OP, "0101", "01", 2023, S.good_pdf(), "Perwali.pdf", ["G1"])
    out, _, errors = _hold_then_race(
        a, b, lambda s, cur: s.link_evidence(cur, "0101", "01", 2023, "G2", item.id, OP.username), "commit"
    )
    assert errors == [] and out == [True, False]
    assert [i.id for _, i in b.linked_evidence("0101", 2023, "G2")] == [item.id]
    # unlinked, it may be linked again: the uniqueness is of the link in force only
    assert evidence.unlink(b, OP, "0101", "01", 2023, "G2", item.id)
    assert evidence.link(a, OP, "0101", "01", 2023, "G2", item.id)
    assert _count(a, "SELECT count(*) FROM evidence_links WHERE indicator_code = 'G2'") == 2


def test_an_original_uploaded_through_one_store_is_read_through_the_other(two):
    a, b = two
    data = body(1, 1)
    r = ingest_bytes(a, SYSTEM, data, "satu.csv")
    assert r.accepted
    sid = r.submission_ids[0]
    meta = b.submission(sid)
    assert meta is not None and (meta.city_code, meta.opd_code, meta.year, meta.file_name) == (
        "0101",
        "01",
        2023,
        "satu.csv",
    )
    assert b.file_content(meta.sha256) == data
    assert b.submission_rows(sid)["level"].tolist() == [1, 1]
    assert b.submissions_frame(city="0101")["id"].tolist() == [sid]


def _batch(answers: int) -> SubmissionBatch:
    """One assessment submission with `answers` answer rows, one metric submission with as many
    periods, and a not-applicable answer."""
    b = SubmissionBatch()
    b.kind += ["assessment", "metric"]
    b.city_code += ["0101", "0101"]
    b.opd_code += ["01", "01"]
    b.year += [2023, 2023]
    b.metric_code += [None, "ONLINE_LICENCE_SHARE"]
    b.fw_seq += [1, None]
    b.file_name += ["x.csv", "x.csv"]
    b.sha256 += ["0" * 64, "0" * 64]
    b.n_rows += [answers + 1, answers]
    b.a_sub += [0] * answers
    b.a_code += [f"X{n}" for n in range(answers)]
    b.a_level += [n % 5 for n in range(answers)]
    b.a_evidence += [None] * answers
    b.a_note += ["tab\tand\nnewline"] * answers
    b.a_row += list(range(2, answers + 2))
    b.m_sub += [1] * answers
    b.m_period += [f"2023-{n:04d}" for n in range(answers)]
    b.m_value += [n / 3 for n in range(answers)]
    b.m_row += list(range(2, answers + 2))
    b.n_sub += [0]
    b.n_code += ["NA1"]
    b.n_reason += ["tidak ada"]
    b.n_row += [None]
    return b


def test_an_uploads_rows_go_in_with_as_many_statements_whatever_their_count(two, monkeypatch):
    a, _ = two
    calls: list[str] = []
    for name in ("execute", "executemany", "copy_rows"):
        real = getattr(PgCursor, name)

        def counted(self: PgCursor, *args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            calls.append(_name)
            return _real(self, *args, **kw)

        monkeypatch.setattr(PgCursor, name, counted)

    def statements(answers: int) -> tuple[list[str], list[int]]:
        calls.clear()
        with a.transaction() as cur:
            ids = a.insert_submissions(cur, _batch(answers), "op", None, None, "upload")
            made = list(calls)
        return made, ids

    small, _ = statements(1)
    large, ids = statements(150)
    assert small == large and "executemany" not in large and large.count("copy_rows") == 4
    # every row went in, as given (COPY's text format keeps tabs and newlines)
    rows = a.submission_rows(ids[0])
    assert len(rows) == 150 and set(rows["note"]) == {"tab\tand\nnewline"}
    assert sorted(rows["level"]) == sorted(n % 5 for n in range(150))
    values = a.submission_rows(ids[1])
    assert values["value"].tolist() == pytest.approx([n / 3 for n in range(150)])
    assert _count(a, "SELECT count(*) FROM assessment_na WHERE submission_id = ?", [ids[0]]) == 1


def test_file_contents_of_any_bytes_up_to_the_cap_go_in_and_out_unchanged(two):
    """Contents travel as bytes (metrics.store.pg.bytea): every byte value, NUL included, at the
    evidence size cap."""
    import os

    a, b = two
    big = bytes(range(256)) + os.urandom(evidence.MAX_FILE_BYTES - 256)
    sha = hashlib.sha256(big).hexdigest()
    with a.transaction() as cur:
        a.keep_files(cur, [(sha, "besar.xlsx", big)])
        assert a.put_evidence_blob(cur, sha, "application/pdf", big)
    assert b.file_content(sha) == big and b.evidence_blob(sha) == big
    assert b.evidence_blob_mismatches() == []
    with b.cursor() as cur:
        assert cur.execute("SELECT size FROM files WHERE sha256 = ?", [sha]).fetchone()[0] == len(big)
    assert b.file_content("0" * 64) is None and b.evidence_blob("0" * 64) is None


# ------------------------------------------------------------------ the same answers on both backends


def _plain(v: Any) -> Any:
    """A value as both backends must agree on it: times dropped (each store stamps its own),
    floats rounded, records and frames as tuples."""
    import datetime as dt

    import pandas as pd

    if isinstance(v, dt.datetime):
        return "<time>"
    if isinstance(v, float):
        return None if v != v else round(v, 9)
    if isinstance(v, pd.DataFrame):
        return [_plain(tuple(r)) for r in v.itertuples(index=False)]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    if hasattr(v, "__dataclass_fields__"):
        return _plain(tuple(getattr(v, f) for f in v.__dataclass_fields__))
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars from a frame
        return _plain(v.item())
    return v


def _the_same_history(store: Store) -> None:
    """Uploads (versions, a "tidak berlaku" answer, a metric), verifications, N/A decisions,
    evidence and a clarification loop: written the same way on each backend."""
    from datetime import date

    from metrics.governance import load_framework_text, load_registry_bytes
    from tests.conftest import CITIES_CSV, FIXTURES, OPDS_CSV

    load_framework_text(store, SYSTEM, (FIXTURES / "na.yaml").read_text(encoding="utf-8"))
    load_registry_bytes(store, SYSTEM, CITIES_CSV, "cities.csv")
    load_registry_bytes(store, SYSTEM, OPDS_CSV, "opds.csv")
    files = [
        HEAD + "0101,01,2023,G1,3,Perwali,\n0101,01,2023,G2,2,,\n0101,02,2023,G2,4,OSS,\n"
        "0101,03,2023,E1,TB,,Tidak ada stasiun\n0101,03,2023,E2,1,,\n",
        HEAD + "0101,01,2023,G1,4,Perwali baru,\n0101,01,2023,G2,2,,catatan\n",
        HEAD + "0202,01,2023,G1,1,,\n0202,01,2023,G2,3,,\n0202,03,2023,E1,2,,\n0202,03,2023,E2,2,,\n",
        HEAD + "0202,01,2024,G1,2,,\n0202,01,2024,G2,2,,\n",
        "city_code,opd_code,metric_code,period,value\n0101,02,ONLINE_LICENCE_SHARE,2023-01,50.5\n"
        "0101,02,ONLINE_LICENCE_SHARE,2023-02,61\n",
    ]
    for n, body_ in enumerate(files):
        assert ingest_bytes(store, SYSTEM, body_.encode(), f"f{n}.csv").accepted
    pdf = S.good_pdf()
    item = evidence.add_file(store, OP, "0101", "01", 2023, pdf, "Perwali.pdf", ["G1", "G2"])
    evidence.add_link(store, OP, "0101", "01", 2023, "https://contoh.go.id/bukti", ["G1"])
    evidence.unlink(store, OP, "0101", "01", 2023, "G2", item.id)
    with store.transaction() as cur:
        store.add_verification(cur, "0101", 2023, "G1", 3, "cek lapangan", "asesor")
        store.add_verification(cur, "0101", 2023, "G1", 2, "dikoreksi", "asesor")
        store.add_verification(cur, "0101", 2023, "G2", 1, "", "asesor")
        store.add_na_decision(cur, "0101", 2023, "E1", "rejected", "ada data provinsi", "asesor")
        store.add_na_decision(cur, "0101", 2023, "E1", "accepted", "diterima", "asesor")
        cid = store.add_clarification(
            cur, "0101", 2023, "G1", "01", "Mohon buktinya", date(2023, 12, 1), "asesor"
        )
        store.add_clarification_event(cur, cid, "answered", "Terlampir", [item.id], None, OP.username)
        store.set_clarification_status(cur, cid, "closed", "asesor", "verified", 3, "cukup")
        other = store.add_clarification(cur, "0101", 2023, "E2", None, "Semua OPD", None, "asesor")
        store.add_clarification_event(cur, other, "asked", None, [], None, "asesor")
        for met in (False, True):
            store.add_evidence_check(cur, "0101", 2023, "G1", 3, 0, met, "", "asesor")
        store.add_evidence_check(cur, "0101", 2023, "G1", 3, 1, False, "kurang", "asesor")


def _reads(store: Store) -> dict[str, Any]:
    units_a = [("0101", "01", 2023), ("0101", "03", 2023), ("0202", "01", 2023), ("0101", "02", 2024)]
    units_m = [("0101", "02", "ONLINE_LICENCE_SHARE", 2023)]
    with store.cursor() as cur:
        inside = {
            "current_verification": store.current_verification(cur, "0101", 2023, "G1"),
            "current_na_decision": store.current_na_decision(cur, "0101", 2023, "E1"),
            "evidence_bytes_used": store.evidence_bytes_used(cur, "0101", "01", 2023),
            "evidence_item_by_content": store.evidence_item_by_content(
                cur, "0101", "01", 2023, hashlib.sha256(S.good_pdf()).hexdigest()
            ),
        }
    frame = store.submissions_frame()
    return {
        **inside,
        "years": store.years(),
        "counts": store.counts(),
        "submissions_frame": frame.drop(columns=["accepted_at"]),
        "submissions_frame_city": store.submissions_frame(city="0101", year=2023, kind="assessment"),
        "submission": [store.submission(int(i)) for i in frame["id"]],
        "submission_rows": [store.submission_rows(int(i)) for i in frame["id"]],
        "in_force_rows": store.in_force_rows(units_a, units_m),
        "in_force_na_rows": store.in_force_na_rows(units_a),
        "na_claims": store.na_claims("0101", 2023),
        "na_claims_opd": store.na_claims("0101", 2023, "01"),
        "verification_rows": store.verification_rows("0101", 2023),
        "peer_levels": store.peer_levels(2023, "0101"),
        "evidence_items": store.evidence_items("0101", "01", 2023),
        "linked_evidence": store.linked_evidence("0101", 2023, "G1"),
        "linked_evidence_opd": store.linked_evidence("0101", 2023, "G2", "01"),
        "linked_evidence_of_year": store.linked_evidence_of_year("0101", 2023),
        "evidence_blob_mismatches": store.evidence_blob_mismatches(),
        "clarification_list": store.clarification_list("0101"),
        "clarification_list_open": store.clarification_list("0101", 2023, "03", "open"),
        "evidence_check_rows": store.evidence_check_rows("0101", 2023),
        "evidence_check_rows_g1": store.evidence_check_rows("0101", 2023, "G1"),
    }


def test_both_backends_give_the_same_answers_to_every_read_of_these_groups(tmp_path, pg_url):
    duck, pg = Store(tmp_path / "parity.duckdb"), Store(pg_url)
    try:
        assert isinstance(pg, PgStore) and not isinstance(duck, PgStore)
        for s in (duck, pg):
            _the_same_history(s)
        want, got = _reads(duck), _reads(pg)
        for name in want:
            assert _plain(got[name]) == _plain(want[name]), name
        # the reads saw the history (not two empty answers agreeing)
        assert len(want["submissions_frame"]) == 8 and want["submissions_frame"]["in_force"].sum() == 7
        assert [c["decision"] for c in want["na_claims"]] == ["accepted"]
        assert [v["level"] for v in want["verification_rows"]] == [2, 1]
        assert len(want["in_force_rows"][0]) == 5 and len(want["in_force_rows"][1]) == 2
        assert want["peer_levels"] and len(want["clarification_list"][0].events) == 2
        assert [r[3] for r in want["evidence_check_rows"]] == [True, False]
        assert len(want["linked_evidence_of_year"]) == 2 and want["evidence_item_by_content"] is not None
    finally:
        duck.close()
        pg.close()
