"""The bytes checked are the bytes parsed, and no parse can take the process down.

Issue 14, round two: a 13 KB workbook declaring `uniqueCount="100000000000"` aborted the
dashboard for everyone; packages that two readers resolve differently (the root relationship
pointing elsewhere, names differing in case, backslashes, two sheets of one name, dot segments)
let a formula the checks never saw through; macros and external links were accepted. Each
hostile file here is one of tests/security/hostile.PACKAGE_CASES, fed to the real ingest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metrics import isolation
from metrics.auth import SYSTEM
from metrics.errors import Rejected
from metrics.ingest import ingest_bytes
from metrics.readers import _native_sheet, _stored_zip, open_xlsx, read_sheet, zlib
from tests.security import hostile
from tests.security.conftest import keys, reject, zip_parts

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(hostile.PACKAGE_CASES))
def test_package_case(mini, name):
    build, key = hostile.PACKAGE_CASES[name]
    if key is None:  # valid once read as checked: accepted, and read as the checks read it
        r = ingest_bytes(mini, SYSTEM, build(), "ok.xlsx")
        assert r.accepted, r.to_dict("en")
        return
    r = reject(mini, build(), "hostile.xlsx")
    assert keys(r) == {key}, r.to_dict("en")


def test_declared_string_count_never_reaches_the_reader():
    """The canonical package's string table carries no declared counts, only real items."""
    pkg = open_xlsx(hostile.sst_unique_count_huge(), "x.xlsx")
    sst = pkg.parts["xl/sharedStrings.xml"]
    assert b"uniqueCount" not in sst and b"count=" not in sst
    assert b"<si><t>city_code</t></si>" in sst
    assert read_sheet(pkg, "Data")[0][0][0] == "city_code"


def _raw_package(pkg, sst: bytes) -> bytes:
    """`pkg`'s canonical package with the upload's own string table put back (counts and all)."""
    parts = dict(pkg.parts)
    parts["xl/sharedStrings.xml"] = sst
    return _stored_zip(parts, {n: zlib.crc32(c) for n, c in parts.items()})


def test_a_reader_abort_costs_only_that_parse():
    """Handed the raw 100-billion count (as the reader was before), the native reader aborts the
    process it runs in: that is the isolated worker, reported as a failure, and the next parse
    runs on a fresh worker."""
    pkg = open_xlsx(hostile.shared_strings_xlsx(), "x.xlsx")
    raw_sst = zip_parts(hostile.sst_unique_count_huge())[hostile.SST]
    with pytest.raises(isolation.ParseFailed) as exc:
        isolation.run(_native_sheet, _raw_package(pkg, raw_sst), "Data")
    assert exc.value.crashed
    rows, _merged = isolation.run(_native_sheet, pkg.data, "Data")
    assert rows[0][0] == "city_code"


def test_a_panic_is_a_failure_not_an_escape():
    """uniqueCount at 2^64-1 makes the reader panic: a PanicException, which derives from
    BaseException. It comes back as a failure naming it, never as an exception past the core."""
    pkg = open_xlsx(hostile.shared_strings_xlsx(), "x.xlsx")
    raw_sst = zip_parts(hostile.sst_unique_count_max())[hostile.SST]
    with pytest.raises(isolation.ParseFailed) as exc:
        isolation.run(_native_sheet, _raw_package(pkg, raw_sst), "Data")
    assert "Panic" in exc.value.detail or exc.value.crashed


def test_read_sheet_turns_a_crash_into_a_located_refusal():
    pkg = open_xlsx(hostile.shared_strings_xlsx(), "kota.xlsx")
    pkg.data = _raw_package(pkg, zip_parts(hostile.sst_unique_count_huge())[hostile.SST])
    with pytest.raises(Rejected) as exc:
        read_sheet(pkg, "Data")
    (p,) = exc.value.problems
    assert (p.key, p.file, p.sheet) == ("file.reader_crashed", "kota.xlsx", "Data")
    assert p.message("id") != p.message("en")


def test_worker_memory_is_capped():
    """An allocation far past the cap fails inside the worker (MemoryError), not in the server."""
    with pytest.raises(isolation.ParseFailed) as exc:
        isolation.run(bytearray, 8 * 1024**3)
    assert "MemoryError" in exc.value.detail or exc.value.crashed


def test_an_abort_in_one_parse_does_not_refuse_the_parse_beside_it():
    """Two parses share the pool; one aborts its worker. The other is retried on a fresh pool."""
    from concurrent.futures import ThreadPoolExecutor

    pkg = open_xlsx(hostile.shared_strings_xlsx(), "x.xlsx")
    with ThreadPoolExecutor(2) as ex:
        crash = ex.submit(isolation.run, os.abort)
        time.sleep(0.05)
        good = ex.submit(isolation.run, _native_sheet, pkg.data, "Data")
        with pytest.raises(isolation.ParseFailed):
            crash.result(timeout=60)
        assert good.result(timeout=60)[0][0][0] == "city_code"


def test_a_worker_outlives_the_thread_that_started_it():
    """Streamlit runs each page in a thread that ends with the run; the reader's worker started
    there must serve the next upload (a parent-death signal would follow that thread and kill it)."""
    import threading

    isolation.shutdown()
    first: list[int] = []
    t = threading.Thread(target=lambda: first.append(isolation.run(os.getpid)))
    t.start()
    t.join()
    time.sleep(1.5)
    assert isolation.run(os.getpid) == first[0]


def test_a_worker_killed_while_idle_is_replaced_before_the_next_call():
    pid = isolation.run(os.getpid)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert isolation.run(os.getpid) != pid


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


CHILD = r"""
import os, sys, threading, time
sys.path.insert(0, {root!r})
from metrics import isolation
from metrics.ingest import _parse_all, load_context
from metrics.readers import DEFAULT_LIMITS
from tests.conftest import make_mini_store

if __name__ == "__main__":
    store = make_mini_store({db!r})
    ctx = load_context(store)
    # a native parse that is busy for ten minutes, in the isolation pool
    threading.Thread(target=lambda: isolation.run(time.sleep, 600, timeout=700), daemon=True).start()
    # a batch whose workers block reading named pipes that nobody ever writes
    fifos = sorted(os.path.join({tmp!r}, f) for f in os.listdir({tmp!r}) if f.endswith(".csv"))
    threading.Thread(target=lambda: list(_parse_all([__import__("pathlib").Path(f) for f in fifos], ctx,
                                                    DEFAULT_LIMITS, 2)), daemon=True).start()
    time.sleep(4)
    print("READY", flush=True)
    time.sleep(600)
"""


@pytest.mark.serial  # the child gets 4 s to start its workers before it is counted and killed
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_parse_workers_end_with_their_parent(tmp_path):
    """A killed batch ingest (or dashboard) leaves no parse worker behind, even a busy one."""
    fifo_dir = tmp_path / "fifos"
    fifo_dir.mkdir()
    for n in range(4):
        os.mkfifo(fifo_dir / f"blocked{n}.csv")
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), db=str(tmp_path / "mini.duckdb"), tmp=str(fifo_dir)))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "READY"
        workers = _descendants(proc.pid)
        # the forkserver, two batch workers and two isolation workers, at least
        assert len(workers) >= 4, workers
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:  # never leave them behind for the rest of the suite
        os.kill(p, signal.SIGKILL)
    assert left == [], f"parse workers outlived their parent: {left}"


@pytest.mark.parametrize(
    "data, name, what",
    [
        (hostile.renamed_pdf(), "laporan.xlsx", "PDF"),
        (b"a", "isian.csv", "teks/text"),
        (hostile.word_document(), "isian.xlsx", "Word (.docx)"),
        ("kode,level\nG1,3\n".encode("utf-32"), "isian.csv", "UTF-32"),
        ("kode,level\nG1,3\n".encode("utf-16-le"), "isian.csv", "UTF-16"),
    ],
)
def test_what_is_not_a_table_is_named(mini, data, name, what):
    """A file that is not a workbook or a CSV is refused as such, saying what it looks like,
    instead of "the CSV reads as a single column" or "the info block is incomplete"."""
    r = reject(mini, data, name)
    (p,) = r.problems
    assert p.key == "file.not_spreadsheet" and p.params["what"].startswith(what)
    assert what in p.message("id") and what in p.message("en")


def test_a_missing_path_is_reported_as_not_found(mini, tmp_path):
    from metrics.ingest import ingest_paths

    (r,) = ingest_paths(mini, SYSTEM, [tmp_path / "tidak-ada.xlsx"])
    assert [p.key for p in r.problems] == ["file.not_found"]
    assert "tidak ditemukan" in r.problems[0].message("id") and "not found" in r.problems[0].message("en")


def _worker_peak_mb() -> float:
    peak = 0.0
    for pid in isolation.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_largest_readable_sheet_stays_within_the_memory_budget(mini):
    """The worst an upload can make the readers hold: a sheet of 19.9 MB of text (the limits'
    maximum), read whole by the native reader. The server's traced allocations and the fresh
    reader worker's resident peak each stay under the 150 MB budget (tools/security_figures.py
    measures both; SECURITY.md quotes them). Halving the unpacked limit's headroom is what keeps
    this true: at the earlier 50 MB limit the same reading took 115 MB here and 268 MB there."""
    import tracemalloc

    data = hostile.largest_allowed_sheet()
    isolation.shutdown()  # a fresh worker, so its peak is this file's
    tracemalloc.start()
    try:
        r = reject(mini, data, "besar.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert keys(r) == {"xlsx.stray_cell"}
    assert peak < 150 * 1024 * 1024, peak / 2**20
    assert 0 < _worker_peak_mb() < 150


def test_sheet_names_with_markup_characters_survive_the_rebuilt_workbook():
    """The canonical workbook part is written by us: a sheet name holding & < > " ' must come
    through as the same name, not as broken XML or a different sheet."""
    from tests.security.conftest import long_xlsx, wb_bytes

    name = "Data & <\"Kota\"> 'x'"
    pkg = open_xlsx(wb_bytes(long_xlsx(title=name)), "x.xlsx")
    assert list(pkg.sheets) == [name]
    assert read_sheet(pkg, name)[0][0][0] == "city_code"
