"""National mode on PostgreSQL (issue 19): `python -m benchmarks.national_pg [--quick] [--pg URL]`.

The figures, on the benchmarks' seeded workload (benchmarks/generate.py):
  load    the national store (DuckDB file) into an empty PostgreSQL database, every table by
          COPY, then ANALYZE, row counts checked; then the store's first open, which builds the
          score tables natively in PostgreSQL (the store the other figures run on);
  score   `python -m metrics --db postgresql://… score --year Y --json` as a whole process;
  txn     one upload's database transaction (a parsed 150-answer workbook stored: submission,
          answers, the city-year's score rebuild, the audit row, commit), median;
  writers W writer processes at once (default 16), each its own Store(url), uploading workbooks
          of the batch through `ingest_bytes` (parse + store), twice: crowded onto the same cities
          (the contended city lock) and spread over many: accepted uploads/s, p95 latency; then
          checked: every accepted upload stored once (0 lost, 0 duplicated) with one audit row,
          the chain verifying, one score row per group, and the score tables equal to a
          recomputation from the raw rows for the batch year;
  copy    `python -m metrics copy --from national.duckdb --to postgresql://…` into a new database,
          the whole command as an operator runs it (checksums on both sides).
The PostgreSQL server is a throwaway cluster started here with fsync ON (honest write figures;
tests/pg_cluster.start_cluster), or the one given by --pg (an admin URL: a database is created
in it and dropped at the end). `--quick` runs at toy sizes in seconds; the test suite runs it
(tests/functional/test_benchmarks_quick.py) so that this code keeps working. Results go to
<out>/results-national-pg-<mode>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import generate
from benchmarks.generate import FULL, QUICK, Sizes
from benchmarks.run import PY, ROOT, Figure, Report, log, machine, notes, table

BENCHES = ("load", "score", "txn", "writers", "copy")
STATE_DIR_ENV = "SMARTCITY_STATE_DIR"  # metrics.keys.STATE_DIR_ENV
DERIVED = ("score_cy", "score_facts", "score_parts", "score_city")
GROUPS = {
    "score_cy": ("city_code", "year", "fw_seq"),
    "score_facts": ("city_code", "year", "fw_seq", "indicator_code"),
    "score_parts": ("city_code", "year", "fw_seq", "kind", "code"),
    "score_city": ("city_code", "year", "fw_seq"),
}


# ----------------------------------------------------------------------------- the server


def server(admin: str | None, fsync: bool) -> str:
    """The admin URL of the cluster to measure on: the one given, or a throwaway one."""
    if admin:
        return admin
    from tests import pg_cluster

    log(f"starting a throwaway PostgreSQL cluster (fsync {'on' if fsync else 'off'})")
    return pg_cluster.start_cluster(fsync=fsync)


def create_database(admin: str) -> str:
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # our own generated name
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_database(admin: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def server_settings(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'shared_buffers', 'server_version', 'max_connections')"
        ).fetchall()
    return {str(k): str(v) for k, v in rows}


# ----------------------------------------------------------------------------- load and copy


def copy_tables(duck: Path, url: str, tmp: Path) -> dict[str, int]:
    """Every table of the DuckDB store into the (migrated, empty) PostgreSQL store, through COPY:
    plain tables as CSV written by DuckDB, tables with list or binary columns row by row; then
    the sequences moved on and ANALYZE. Returns each table's row count."""
    import duckdb
    import psycopg
    from psycopg import sql

    src = duckdb.connect(str(duck), read_only=True)
    counts: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as pg:
        pg_tables = {
            r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        }
        tables = [
            r[0]
            for r in src.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
                "ORDER BY table_name"
            ).fetchall()
            if r[0] in pg_tables and r[0] not in DERIVED  # built by the store on first open
        ]
        with pg.transaction():
            for t in tables:
                cols = src.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                    "AND schema_name = 'main' ORDER BY column_index",
                    [t],
                ).fetchall()
                names = [c[0] for c in cols]
                ident = sql.Identifier(t)
                collist = sql.SQL(", ").join(sql.Identifier(c) for c in names)
                if t == "meta":  # the migration wrote its own; the store's settings come over
                    # (and no score tables' version: the store's first open builds them)
                    pg.execute("DELETE FROM meta WHERE key <> 'schema_version'")
                    rows = src.execute(
                        "SELECT key, value FROM meta WHERE key NOT IN ('schema_version', 'score_tables_version')"
                    ).fetchall()
                    with pg.cursor().copy("COPY meta (key, value) FROM STDIN") as cp:
                        for row in rows:
                            cp.write_row(row)
                    counts[t] = len(rows) + 1
                    continue
                pg.execute(sql.SQL("DELETE FROM {}").format(ident))
                plain = all("[]" not in c[1] and c[1] not in ("BLOB", "STRUCT") for c in cols)
                if plain:
                    csv = tmp / f"{t}.csv"
                    src.execute(f"COPY (SELECT * FROM \"{t}\") TO '{csv}' (HEADER false)")  # our own names
                    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(ident, collist)
                    with pg.cursor().copy(stmt) as cp, open(csv, "rb") as fh:
                        while chunk := fh.read(1 << 20):
                            cp.write(chunk)
                    csv.unlink()
                else:
                    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(ident, collist)
                    res = src.execute(f'SELECT * FROM "{t}"')  # our own names
                    with pg.cursor().copy(stmt) as cp:
                        while batch := res.fetchmany(10_000):
                            for row in batch:
                                cp.write_row(row)
                got = pg.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
                want = src.execute(f'SELECT count(*) FROM "{t}"').fetchone()
                if got is None or want is None or got[0] != want[0]:
                    raise RuntimeError(f"copy of {t}: {got} rows in PostgreSQL, {want} in DuckDB")
                counts[t] = int(got[0])
            pg_seqs = {
                r[0]
                for r in pg.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                ).fetchall()
            }
            for name, last in src.execute(
                "SELECT sequence_name, last_value FROM duckdb_sequences()"
            ).fetchall():
                if name in pg_seqs and last is not None:
                    pg.execute("SELECT setval(%s, %s)", [name, last])
        pg.execute("ANALYZE")
    src.close()
    return counts


def copy_key_files(duck: Path, url: str) -> None:
    """The DuckDB store's key and audit head, as the PostgreSQL store's (its chain came over)."""
    import shutil

    from metrics.keys import HEAD_SUFFIX, KEY_SUFFIX, state_base

    for suffix in (KEY_SUFFIX, HEAD_SUFFIX):
        src = Path(str(duck) + suffix)
        if src.exists():
            shutil.copy(src, state_base(url) + suffix)


def bench_load(rep: Report, wl: Path, url: str, tmp: Path) -> None:
    """The national store into PostgreSQL for the other figures: every table by COPY, then the
    store's first open, which builds the score tables from the raw rows."""
    from metrics.store import Store

    duck = wl / "national.duckdb"
    Store(url).close()  # the schema
    t = time.perf_counter()
    counts = copy_tables(duck, url, tmp)
    loaded = time.perf_counter() - t
    copy_key_files(duck, url)
    t = time.perf_counter()
    Store(url).close()  # a first open: builds the score tables (their version is not recorded)
    opened = time.perf_counter() - t
    rep.checks["loaded_rows"] = counts
    rep.add(
        Figure(
            "load: national store into PostgreSQL, COPY per table + ANALYZE",
            "s",
            [loaded],
            note=f"{counts.get('assessments', 0):,} assessment rows; CSV written by DuckDB, row by row "
            "for tables with list or binary columns; score tables left out",
        )
    )
    rep.add(
        Figure(
            "load: the store's first open, score tables built from the raw rows",
            "s",
            [opened],
            note="every city-year of every table, natively in PostgreSQL, one transaction",
        )
    )


def bench_copy(rep: Report, wl: Path, admin: str) -> None:
    """(d) `python -m metrics copy --from national.duckdb --to postgresql://…` into a new database,
    as an operator moves a store (its checksums on both sides included); the database dropped."""
    duck = wl / "national.duckdb"
    url = create_database(admin)
    try:
        cmd = [PY, "-m", "metrics", "copy", "--from", str(duck), "--to", url]
        t = time.perf_counter()
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - t
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    finally:
        drop_database(admin, url)
    rep.add(
        Figure(
            "copy: python -m metrics copy, national store DuckDB -> PostgreSQL",
            "s",
            [took],
            note="the whole command: source chain verified, every table with its checksum on both "
            "sides, score tables rebuilt on the target",
        )
    )


# ----------------------------------------------------------------------------- score


def bench_score(rep: Report, url: str, sz: Sizes, full: bool, repeat: int) -> None:
    """(c) `score --year Y --json` as a whole process on PostgreSQL."""
    year = sz.batch_year - 1
    cmd = [PY, "-m", "metrics", "--db", url, "score", "--year", str(year), "--json"]
    samples, scored = [], []
    for n in range(repeat + 1):  # the first run warms the server's cache and is not counted
        t = time.perf_counter()
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if n:
            samples.append(time.perf_counter() - t)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
        scored = json.loads(res.stdout)["cities"]
    if len(scored) != sz.cities:
        raise RuntimeError(f"score --json scored {len(scored)} cities, not {sz.cities}")
    rep.checks["score_cli_cities"] = len(scored)
    rep.add(
        Figure(
            f"score: score --year {year} --json on PostgreSQL, whole process",
            "s",
            samples,
            target=1.5 if full else None,
            note=f"{len(scored)} cities scored",
        )
    )


# ----------------------------------------------------------------------------- one transaction


def opd_head(p: Path) -> Any:
    """The OPD head who uploads a batch workbook penilaian-<city>-<opd>-<year>.xlsx."""
    from metrics.auth import User

    _, city, opd, _ = p.stem.split("-")
    return User(f"opd.{city}.{opd}", "opd", city, opd)


def good_workbooks(wl: Path) -> list[Path]:
    bad = set(json.loads((wl / "manifest.json").read_text())["batch"]["bad_files"])
    return [p for p in sorted((wl / "batch").rglob("penilaian-*.xlsx")) if p.name not in bad]


def bench_txn(rep: Report, wl: Path, url: str, sz: Sizes, full: bool) -> None:
    """(a) One upload's database transaction: a workbook parsed beforehand, then stored
    (store_parsed: the permission and period checks, the comparison with the version in force,
    the submission and its answers, the score rebuild, the audit row, the commit). The audit
    head file written after the commit (an fsync'd file beside the database, not the database)
    is timed apart and left out of the figure."""
    from metrics.ingest import load_context, parse_upload, store_parsed
    from metrics.store import Store

    files = [p for p in good_workbooks(wl) if p.parent.name == generate.city_code(0)][: 30 if full else 3]
    store = Store(url)
    head_s: list[float] = []
    publish = store._publish_audit_head

    def timed_publish(head: Any) -> None:
        t = time.perf_counter()
        publish(head)
        head_s.append(time.perf_counter() - t)

    store._publish_audit_head = timed_publish  # type: ignore[method-assign]
    try:
        ctx = load_context(store)
        samples, totals = [], []
        for p in files:
            parsed = parse_upload(p.read_bytes(), p.name, ctx)
            head_s.clear()
            t = time.perf_counter()
            store_parsed(store, opd_head(p), [parsed])
            total = time.perf_counter() - t
            totals.append(total)
            samples.append(total - sum(head_s))
            if not parsed.result.accepted:
                raise RuntimeError(f"{p.name} refused: {[x.key for x in parsed.result.problems]}")
    finally:
        store.close()
    rep.add(
        Figure(
            f"txn: one upload's database transaction ({sz.per_type} answers, score rebuild, audit row)",
            "ms",
            [s * 1000 for s in samples],
            target=10.0 if full else None,
            note=f"{len(files)} workbooks of one city, each stored after parsing (store_parsed); with the "
            f"audit head file written after commit: median {statistics.median(totals) * 1000:.1f} ms",
        )
    )


# ----------------------------------------------------------------------------- concurrent writers


def writer_main(argv: list[str]) -> int:
    """One writer process: READY, wait for a line on stdin, upload each file, one JSON line each."""
    from metrics.ingest import ingest_bytes, load_context
    from metrics.store import Store

    url, *paths = argv
    files = [(Path(p), Path(p).read_bytes()) for p in paths]
    store = Store(url)
    ctx = load_context(store)
    print("READY", flush=True)
    sys.stdin.readline()
    for p, data in files:
        t = time.perf_counter()
        try:
            r = ingest_bytes(store, opd_head(p), data, p.name, ctx=ctx)
            line = {"name": p.name, "status": r.status, "ids": r.submission_ids, "error": None}
        except Exception as exc:  # counted as lost by the parent
            line = {"name": p.name, "status": "error", "ids": [], "error": repr(exc)[:500]}
        line["seconds"] = time.perf_counter() - t
        line["end"] = time.time()
        print(json.dumps(line), flush=True)
    store.close()
    return 0


def run_writers(url: str, shares: list[list[Path]]) -> tuple[list[dict[str, Any]], float]:
    """Start one process per share, release them at once; (their lines, wall seconds)."""
    procs = [
        subprocess.Popen(
            [PY, "-m", "benchmarks.national_pg", "writer", url, *map(str, share)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stderr is not None
            if p.stdout.readline().strip() != "READY":
                raise RuntimeError(f"writer did not start:\n{p.stderr.read()[-3000:]}")
        start = time.time()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        lines: list[dict[str, Any]] = []
        for p in procs:
            out, err = p.communicate(timeout=3600)
            if p.returncode != 0:
                raise RuntimeError(f"writer failed:\n{err[-3000:]}")
            lines += [json.loads(x) for x in out.splitlines() if x.strip()]
        return lines, max(x["end"] for x in lines) - start
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def score_groups_duplicated(url: str, year: int) -> int:
    """How many score groups of `year` have more than one row (0 when the tables are right)."""
    import psycopg

    n = 0
    with psycopg.connect(url) as conn:
        for table, key in GROUPS.items():
            cols = ", ".join(f'"{c}"' for c in key)  # fixed names
            row = conn.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {table} WHERE year = %s "
                f"GROUP BY {cols} HAVING count(*) > 1) d",
                [year],
            ).fetchone()
            n += int(row[0]) if row else 0
    return n


def writer_files(wl: Path, n: int) -> dict[str, list[Path]]:
    """Two disjoint sets of `n` workbooks, none of the first city (bench_txn's), in the order they
    are dealt round-robin to the writers: "crowded", one city's OPDs after another (at any moment
    every writer uploads for the same city or two: the contended city lock, the worst case);
    "spread", one OPD of each city in turn (every writer a different city: the deadline week of
    many cities)."""
    by_city: dict[str, list[Path]] = {}
    for p in good_workbooks(wl):
        if p.parent.name != generate.city_code(0):
            by_city.setdefault(p.parent.name, []).append(p)
    ordered = [p for c in sorted(by_city) for p in by_city[c]]
    crowded = ordered[:n]
    taken = set(crowded)
    rest = {c: [p for p in ps if p not in taken] for c, ps in by_city.items()}
    last = crowded[-1].parent.name
    cities = [c for c in sorted(rest) if rest[c] and c > last] + [
        c for c in sorted(rest) if rest[c] and c <= last
    ]
    spread: list[Path] = []
    depth = 0
    while len(spread) < n and any(len(rest[c]) > depth for c in cities):
        spread += [rest[c][depth] for c in cities if len(rest[c]) > depth][: n - len(spread)]
        depth += 1
    return {"crowded": crowded, "spread": spread}


def bench_writers(
    rep: Report, url: str, sz: Sizes, full: bool, writers: int, files: list[Path], how: str
) -> None:
    """(b) `writers` processes uploading `files` at once; then nothing lost or duplicated, one
    audit row each, and the score tables equal to the recomputation."""
    from metrics import audit, scoring
    from metrics.store import Store

    shares = [files[w::writers] for w in range(writers)]
    store = Store(url)
    before = set(store.submissions_frame(year=sz.batch_year)["id"])
    audit_before = len(store.audit_rows())
    store.close()
    log(f"writers ({how}): {writers} processes, {len(files)} workbooks")
    lines, wall = run_writers(url, shares)
    accepted = [x for x in lines if x["status"] == "accepted"]
    lat = sorted(x["seconds"] * 1000 for x in lines)
    ids = [i for x in accepted for i in x["ids"]]
    store = Store(url)
    try:
        stored = set(store.submissions_frame(year=sz.batch_year)["id"]) - before
        audit_rows = store.audit_rows()
        new_audit = [r for r in audit_rows[audit_before:] if r.action == "submission.create"]
        chain = audit.verify_store(store)
        t = time.perf_counter()
        diffs = scoring.recomputation_differences(store, [sz.batch_year])
        recompute_s = time.perf_counter() - t
    finally:
        store.close()
    dup_groups = score_groups_duplicated(url, sz.batch_year)
    checks = {
        "uploads": len(lines),
        "accepted": len(accepted),
        "errors": [x["error"] for x in lines if x["error"]][:5],
        "lost": len(set(ids) - stored),
        "duplicated": len(ids) - len(set(ids)) + len(stored - set(ids)),
        "audit_rows_per_accepted": [len(new_audit), len(accepted)],
        "audit_chain_ok": chain.ok,
        "score_groups_duplicated": dup_groups,
        "recompute_differences": len(diffs),
        "recompute_seconds": recompute_s,
    }
    rep.checks["writers" if how == "spread" else f"writers_{how}"] = checks
    if checks["lost"] or checks["duplicated"] or dup_groups or diffs or len(accepted) != len(files):
        raise RuntimeError(f"concurrent writers went wrong: {checks} {diffs[:5]}")
    ok = "0 lost, 0 duplicated, score tables = recomputation, audit chain " + (
        "verifies" if chain.ok else "BROKEN"
    )
    rep.add(
        Figure(
            f"writers: {writers} processes at once ({how}), accepted uploads per second",
            "uploads/s",
            [len(accepted) / wall],
            target=100.0 if full else None,
            higher_is_better=True,
            note=f"{len(accepted)} workbooks of {sz.per_type} answers in {wall:.1f} s, through "
            f"ingest_bytes (parse + store); {ok}",
        )
    )
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    rep.add(
        Figure(
            f"writers: {writers} processes at once ({how}), p95 upload latency",
            "ms",
            [p95],
            target=300.0 if full else None,
            note=f"median {statistics.median(lat):.0f} ms, max {lat[-1]:.0f} ms",
        )
    )


# ----------------------------------------------------------------------------- output


def write(rep: Report, out: Path, settings: dict[str, str]) -> Path:
    from dataclasses import asdict

    out.mkdir(parents=True, exist_ok=True)
    data = asdict(rep)
    for f, d in zip(rep.figures, data["figures"], strict=True):
        d["median"] = f.median
    data["server"] = settings
    (out / f"results-national-pg-{rep.mode}.json").write_text(json.dumps(data, indent=1, default=str))
    m = rep.machine
    md = (
        f"# National mode on PostgreSQL ({rep.mode})\n\nRun {rep.started}, {rep.seconds / 60:.1f} min. "
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM; PostgreSQL "
        f"{settings.get('server_version', '?')}, fsync {settings.get('fsync', '?')}, synchronous_commit "
        f"{settings.get('synchronous_commit', '?')}, shared_buffers {settings.get('shared_buffers', '?')} x 8 kB."
        f"\n\n" + table(rep) + "\n\n" + notes(rep) + "\n"
    )
    path = out / f"results-national-pg-{rep.mode}.md"
    path.write_text(md)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["writer"]:
        return writer_main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmarks.national_pg", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="toy sizes, seconds; no target judgement")
    ap.add_argument("--pg", help="admin URL of a PostgreSQL cluster (default: start a throwaway one)")
    ap.add_argument("--no-fsync", action="store_true", help="the throwaway cluster without fsync")
    ap.add_argument(
        "--only",
        help=f"comma-separated subset of {','.join(BENCHES)} (load always runs, except with --reuse)",
    )
    ap.add_argument("--out", type=Path, default=generate.OUT, help="workload and results folder")
    ap.add_argument("--repeat", type=int, help="timed repetitions of the score command (default 7 / 1)")
    ap.add_argument("--writers", type=int, help="concurrent writer processes (default 16 / 2)")
    ap.add_argument("--per-writer", type=int, help="workbooks per writer (default 25 / 2)")
    ap.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    ap.add_argument("--reuse", help="URL of a database loaded by an earlier --keep run (skips copy)")
    ap.add_argument("--state-dir", help="where the store's key files live (default: a temporary folder)")
    args = ap.parse_args(argv)
    sz = QUICK if args.quick else FULL
    full = not args.quick
    only = set(args.only.split(",")) if args.only else set(BENCHES)
    if only - set(BENCHES):
        ap.error(f"unknown benchmark(s): {', '.join(sorted(only - set(BENCHES)))}")
    failed: list[str] = []
    t0 = time.perf_counter()
    rep = Report(f"{sz.name}", machine(), started=time.strftime("%Y-%m-%d %H:%M"))
    manifest = generate.ensure(sz, log=log, out=args.out)
    wl = generate.workload_dir(sz, args.out)
    rep.notes.append(
        f"workload: {manifest['store']['assessments']:,} history assessment rows, {sz.cities} cities x "
        f"{sz.opds_per_city} OPDs x {sz.history_years} years; uploads are the batch's {sz.per_type}-answer "
        f"workbooks of year {sz.batch_year}"
    )
    saved_state_dir = os.environ.get(STATE_DIR_ENV)  # put back: the test suite runs this in-process
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp_s:
            tmp = Path(tmp_s)
            # the PostgreSQL store's key files (kept with a kept database)
            os.environ[STATE_DIR_ENV] = str(args.state_dir or tmp)
            if args.reuse:  # a database loaded by an earlier run with --keep (its key files with it)
                admin, url = args.reuse.rsplit("/", 1)[0] + "/postgres", args.reuse
                only.discard("load")
            else:
                only.add("load")
                admin = server(args.pg, fsync=not args.no_fsync)
                url = create_database(admin)
            settings = server_settings(url)
            writers = args.writers or (16 if full else 2)
            steps = {
                "load": lambda: bench_load(rep, wl, url, tmp),
                "score": lambda: bench_score(rep, url, sz, full, args.repeat or (7 if full else 1)),
                "txn": lambda: bench_txn(rep, wl, url, sz, full),
                "writers": lambda: [
                    bench_writers(rep, url, sz, full, writers, files, how)
                    for how, files in writer_files(
                        wl, writers * (args.per_writer or (25 if full else 2))
                    ).items()
                ],
                "copy": lambda: bench_copy(rep, wl, admin),
            }
            try:
                for name, step in steps.items():
                    if name in only:
                        log(name)
                        try:
                            step()
                        except Exception as exc:  # reported, and the run fails; the next figure still runs
                            failed.append(name)
                            rep.notes.append(f"{name} FAILED: {str(exc)[-1500:]}")
                            log(f"{name} FAILED: {exc}")
            finally:
                if args.keep or args.reuse:
                    log(f"kept: {url}")
                else:
                    drop_database(admin, url)
    finally:
        if saved_state_dir is None:
            os.environ.pop(STATE_DIR_ENV, None)
        else:
            os.environ[STATE_DIR_ENV] = saved_state_dir
    for f in rep.figures:
        if full:
            f.judge()
    rep.machine["load_at_end"] = os.getloadavg()
    rep.seconds = time.perf_counter() - t0
    path = write(rep, args.out, settings)
    print(table(rep))
    print()
    print(notes(rep))
    print(f"\n(written to {path})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
