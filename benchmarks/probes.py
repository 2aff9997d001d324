"""Measurements that must run in a process of their own, one per call.

Peak memory (VmHWM, see maxrss_mb) is only meaningful for a fresh process, and a cold start only happens
once per process, so the runner starts `python -m benchmarks.probes NAME ...` for each and
reads one JSON object from its stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import time
from pathlib import Path


def maxrss_mb() -> float:
    """This process's peak resident memory, MB: VmHWM, the peak of the running program's own
    memory. (getrusage's ru_maxrss keeps the peak of the process before exec, so a probe started
    by a runner that had just generated the 2.5 GB workload reported 2.5 GB.)"""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def _scratch_store(args):
    """A private copy of --db at --work for a probe that writes, removed afterwards."""
    from metrics.keys import copy_database
    from metrics.store import Store

    work = Path(args.work)
    copy_database(args.db, work)
    store = Store(work)
    try:
        yield store
    finally:
        store.close()
        work.unlink(missing_ok=True)
        Path(str(work) + ".wal").unlink(missing_ok=True)


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def probe_score(args) -> dict:
    """scoring.score() of every city and year: first call, then `repeat` warm calls."""
    from metrics import scoring
    from metrics.store import Store

    store = Store(args.db, read_only=True, migrate=False)
    t = time.perf_counter()
    first = scoring.score(store)
    first_s = time.perf_counter() - t
    samples = _timed(lambda: scoring.score(store), args.repeat)
    return {
        "samples": samples,
        "first": first_s,
        "city_years": len(first),
        "cities": len({s.city_code for s in first}),
        "years": len({s.year for s in first}),
        "maxrss_mb": maxrss_mb(),
    }


def probe_recompute(args) -> dict:
    """Every city's scores recomputed from the raw answer rows, nothing pre-computed (target 3).

    Peak memory is read before the check against the score tables, which would add to it.
    """
    from metrics import scoring
    from metrics.store import Store

    store = Store(args.db, read_only=True, migrate=False)
    t = time.perf_counter()
    scoring.score(store, from_raw=True)
    first = time.perf_counter() - t
    samples = _timed(lambda: scoring.score(store, from_raw=True), args.repeat)
    peak = maxrss_mb()
    diffs = scoring.recomputation_differences(store)
    return {
        "samples": samples,
        "first": first,
        "maxrss_mb": peak,
        "differences": diffs[:20],
        "n_differences": len(diffs),
    }


def probe_rebuild(args) -> dict:
    """Rebuild the score tables from the raw answer rows (after a framework load), then score()."""
    from metrics import scoring

    with _scratch_store(args) as store:

        def run():
            store.refresh_score_tables()
            scoring.score(store)

        samples = _timed(run, args.repeat)
        rows = store.conn.execute("SELECT count(*) FROM assessments").fetchone()[0]
    return {"samples": samples, "assessment_rows": rows, "maxrss_mb": maxrss_mb()}


def probe_pandas(args) -> dict:
    """The same scores in pandas from the raw rows: load once, compute `repeat` times."""
    from benchmarks.baseline import compare_with, pandas_frames, pandas_scores
    from metrics import scoring
    from metrics.store import Store

    store = Store(args.db, read_only=True, migrate=False)
    t = time.perf_counter()
    frames = pandas_frames(store.conn)
    load_s = time.perf_counter() - t
    out = None
    samples = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        out = pandas_scores(frames)
        samples.append(time.perf_counter() - t)
    peak = maxrss_mb()
    diff = compare_with(scoring.score(store), out)
    return {
        "samples": samples,
        "load": load_s,
        "maxrss_mb": peak,
        "max_abs_diff": diff,
        "rows": len(frames["assess"]),
    }


def probe_upload(args) -> dict:
    """One OPD's workbook through ingest_bytes, as the upload page calls it (server time)."""
    from metrics.auth import User
    from metrics.ingest import ingest_bytes

    def opd_head(p: Path) -> User:  # penilaian-<city>-<opd>-<year>.xlsx
        _, city, opd, _ = p.stem.split("-")
        return User(f"opd.{city}.{opd}", "opd", city, opd)

    with _scratch_store(args) as store:
        good = [Path(p) for p in args.files]
        bad = Path(args.bad)
        # warm the process the way a running dashboard is warm (imports, framework parsed once)
        ingest_bytes(store, opd_head(bad), bad.read_bytes(), bad.name)
        accepted, rejected, problems = [], [], 0
        for p in good:
            data = p.read_bytes()
            t = time.perf_counter()
            r = ingest_bytes(store, opd_head(p), data, p.name)
            accepted.append(time.perf_counter() - t)
            if not r.accepted:
                raise SystemExit(f"{p.name} was refused: {[x.render('en') for x in r.problems[:3]]}")
        data = bad.read_bytes()
        for _ in range(len(good)):
            t = time.perf_counter()
            r = ingest_bytes(store, opd_head(bad), data, bad.name)
            rejected.append(time.perf_counter() - t)
            problems = len(r.problems)
    return {"accepted": accepted, "rejected": rejected, "problems": problems, "maxrss_mb": maxrss_mb()}


def probe_naive_ingest(args) -> dict:
    """The baseline: pandas/openpyxl reading + one INSERT per row, file by file."""
    from benchmarks.baseline import naive_ingest_file
    from metrics.ingest import load_context

    with _scratch_store(args) as store:
        ctx = load_context(store)
        samples, accepted = [], 0
        for p in map(Path, args.files):
            t = time.perf_counter()
            ok, _ = naive_ingest_file(store.conn, ctx, "admin", p)
            samples.append(time.perf_counter() - t)
            accepted += ok
    return {"samples": samples, "accepted": accepted, "maxrss_mb": maxrss_mb()}


def probe_read(args) -> dict:
    """Per-file reading cost of one workbook, by reader (median over the given files)."""
    import io

    from metrics.ingest import load_context, parse_file
    from metrics.readers import open_xlsx, read_sheet
    from metrics.store import Store
    from metrics.templates import SHEET

    store = Store(args.db, read_only=True, migrate=False)
    ctx = load_context(store)
    datas = [Path(p).read_bytes() for p in args.files]

    def each(fn) -> list[float]:
        out = []
        for d in datas:
            t = time.perf_counter()
            fn(d)
            out.append(time.perf_counter() - t)
        return out

    def calamine_only(d):
        from python_calamine import CalamineWorkbook

        CalamineWorkbook.from_filelike(io.BytesIO(d)).get_sheet_by_name(SHEET).to_python(
            skip_empty_area=False
        )

    def openpyxl_only(d):
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(d), read_only=True, data_only=True)
        list(wb[SHEET].iter_rows(values_only=True))
        wb.close()

    each(calamine_only)  # warm imports
    each(openpyxl_only)
    return {
        "calamine": each(calamine_only),
        "reader": each(lambda d: read_sheet(open_xlsx(d, "x.xlsx"), SHEET)),
        "parse_file": each(lambda d: parse_file(d, "x.xlsx", ctx)),
        "openpyxl": each(openpyxl_only),
    }


PROBES = {
    "score": probe_score,
    "recompute": probe_recompute,
    "rebuild": probe_rebuild,
    "pandas": probe_pandas,
    "upload": probe_upload,
    "naive-ingest": probe_naive_ingest,
    "read": probe_read,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.probes")
    ap.add_argument("probe", choices=sorted(PROBES))
    ap.add_argument("--db", required=True)
    ap.add_argument("--work", help="scratch copy of the database for probes that write")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--files", nargs="*", default=[])
    ap.add_argument("--bad")
    args = ap.parse_args(argv)
    sys.stdout.write(json.dumps(PROBES[args.probe](args)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
