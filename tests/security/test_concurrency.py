"""One writer: the app holds one DuckDB connection per process and a cursor per use; concurrent
uploads from threads are each accepted or cleanly refused with nothing lost or duplicated, and
a second process opening the same database gets a clear StoreBusy message and changes nothing.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from metrics.audit import verify_chain
from metrics.auth import SYSTEM, User
from metrics.ingest import ingest_bytes
from metrics.store import Store, StoreBusy
from tests.conftest import ROOT

HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def _uploads() -> list[tuple[User, bytes, str, bool]]:
    """20 uploads: (user, file, name, should be accepted)."""
    out = []
    for n in range(14):  # distinct city/OPD/year units, valid
        year = 2023 + n
        out.append(
            (
                SYSTEM,
                (HEAD + f"0101,01,{year},G1,{n % 5},bukti {n},\n0101,01,{year},G2,2,,\n").encode(),
                f"ok_{n}.csv",
                True,
            )
        )
    for n in range(3):  # invalid content
        out.append((SYSTEM, (HEAD + f"0101,01,{2050 + n},G1,9,,\n").encode(), f"bad_{n}.csv", False))
    for n in range(2):  # an OPD operator uploading for another OPD
        out.append(
            (
                User(f"op{n}", "opd", "0101", "02"),
                (HEAD + f"0101,01,{2060 + n},G1,1,,\n").encode(),
                f"other_{n}.csv",
                False,
            )
        )
    out.append(
        (User("op.dlh", "opd", "0101", "03"), (HEAD + "0101,03,2070,E1,4,,\n").encode(), "own.csv", True)
    )
    return out


def test_twenty_concurrent_uploads_in_one_process(mini):
    uploads = _uploads()
    assert len(uploads) == 20
    barrier = threading.Barrier(len(uploads))
    results: dict[str, object] = {}

    def work(user, data, name):
        barrier.wait()
        try:
            results[name] = ingest_bytes(mini, user, data, name)
        except BaseException as exc:  # recorded, then asserted absent
            results[name] = exc

    threads = [threading.Thread(target=work, args=u[:3]) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not [n for n, r in results.items() if isinstance(r, BaseException)], results
    for _user, _data, name, ok in uploads:
        r = results[name]
        assert r.accepted is ok, (name, r.to_dict("en"))
        if not ok:
            assert r.problems and r.submission_ids == []
    ids = [i for r in results.values() for i in r.submission_ids]
    assert len(ids) == len(set(ids)) == 15  # nothing duplicated
    frame = mini.submissions_frame()
    assert sorted(frame["id"]) == sorted(ids)  # nothing lost, nothing extra
    for sid in ids:
        meta = mini.submission(sid)
        assert meta.n_rows == len(mini.submission_rows(sid))
    rows = mini.audit_rows()
    assert verify_chain(rows) == []  # concurrent audit appends still form one chain
    assert sum(1 for a in rows if a.action == "submission.create") == 15


def test_second_process_gets_store_busy_and_database_stays_intact(mini):
    ingest_bytes(mini, SYSTEM, (HEAD + "0101,01,2023,G1,3,,\n").encode(), "a.csv")
    before = mini.content_fingerprint()
    code = (
        "import sys\nfrom metrics.store import Store, StoreBusy\n"
        "try:\n    Store(sys.argv[1])\nexcept StoreBusy as exc:\n    print(exc)\n    sys.exit(7)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, mini.path], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 7, (r.stdout, r.stderr)
    assert "in use by another process" in r.stdout
    # the operator's command line says so too, without a traceback
    r = subprocess.run(
        [sys.executable, "-m", "metrics", "--db", mini.path, "score", "--year", "2023"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "in use by another process" in r.stderr and "Traceback" not in r.stderr
    assert mini.content_fingerprint() == before
    assert ingest_bytes(mini, SYSTEM, (HEAD + "0101,01,2024,G1,2,,\n").encode(), "b.csv").accepted


def test_store_busy_is_the_exception_type(tmp_path):
    """StoreBusy is raised for a lock held by another process, not for other I/O errors."""
    assert issubclass(StoreBusy, RuntimeError)
    path = tmp_path / "x.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\nfrom metrics.store import Store\n"
            "s=Store(sys.argv[1]); print('held', flush=True); time.sleep(60)",
            str(path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        try:
            Store(path)
        except StoreBusy as exc:
            assert str(path) in str(exc)
        else:
            raise AssertionError("a second process opened a database another process holds")
    finally:
        holder.kill()
        holder.wait()
    Store(path).close()  # free again once the holder is gone


def test_app_shares_one_connection_per_process(tmp_path, monkeypatch):
    """ui.shell.get_store() hands every session the same Store (st.cache_resource)."""
    import warnings

    monkeypatch.setenv("SMARTCITY_DB", str(tmp_path / "app.duckdb"))
    from ui import shell

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = shell.get_store(), shell.get_store()
        assert a is b and a.conn is b.conn
        shell._store.clear()
    a.close()
