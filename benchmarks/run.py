"""Run every benchmark and print one table: `python -m benchmarks.run [--quick]`.

Full mode generates (or reuses) the national workload under benchmarks/out/full/ and takes
tens of minutes; `--quick` does everything at toy sizes in seconds and is what the test suite
runs so that this code keeps working. Results go to benchmarks/out/results-<mode>.json and
.md (git-ignored); docs/performance.md quotes the latest full table.

Each figure is timed several times and reported as median/min/max. Where a straightforward
implementation exists (benchmarks/baseline.py) it is measured in the same run and the ratio
is baseline / median. Targets are the issue's; `met` is only filled in for full-size runs,
because toy sizes say nothing about them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks import generate
from benchmarks.generate import FULL, QUICK, Sizes

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Figure:
    """One row of the results table."""

    name: str
    unit: str  # "s", "ms", "MB" or "" (a count)
    samples: list[float]
    baseline: float | None = None  # same unit as samples
    baseline_note: str = ""
    target: float | None = None  # the limit, same unit
    higher_is_better: bool = False
    note: str = ""
    min_ratio: float | None = None  # e.g. ingest must be >= 20x the baseline
    met: bool | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.median:
            return None
        return self.median / self.baseline if self.higher_is_better else self.baseline / self.median

    def judge(self) -> None:
        ok = []
        if self.target is not None:
            ok.append(self.median >= self.target if self.higher_is_better else self.median <= self.target)
        if self.min_ratio is not None and self.ratio is not None:
            ok.append(self.ratio >= self.min_ratio)
        self.met = all(ok) if ok else None


@dataclass
class Report:
    mode: str
    machine: dict
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: dict = field(default_factory=dict)  # correctness facts gathered on the way
    started: str = ""
    seconds: float = 0.0

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        return fig


# ----------------------------------------------------------------------------- helpers


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    mem_gb = None  # stays unknown where there is no /proc
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    import duckdb

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": mem_gb,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "os": platform.platform(),
        "load_at_start": os.getloadavg(),
    }


def probe(name: str, db: Path, *args: str, timeout: float = 3600) -> dict:
    """Run benchmarks.probes NAME in a fresh process and return its JSON."""
    cmd = [PY, "-m", "benchmarks.probes", name, "--db", str(db), *args]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"probe {name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def timed_cmd(cmd: list[str], repeat: int, env: dict | None = None, out: Path | None = None) -> list[float]:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)
        samples.append(time.perf_counter() - t)
        if res.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr.decode()[-3000:]}")
        if out is not None:
            out.write_bytes(res.stdout)
    return samples


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def workbooks(batch: Path) -> list[Path]:
    return sorted(batch.rglob("*.xlsx"))


# ----------------------------------------------------------------------------- benchmarks


def bench_read(rep: Report, wl: Path, sz: Sizes, full: bool) -> None:
    """What one 150-row workbook costs to read, by reader, and with every check of the core."""
    bad = set(json.loads((wl / "manifest.json").read_text())["batch"]["bad_files"])
    files = [p for p in workbooks(wl / "batch") if p.name not in bad][: 200 if full else 4]
    r = probe("read", wl / "national.duckdb", "--files", *map(str, files))
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    rep.add(
        Figure(
            "read: python-calamine, sheet only (per workbook)",
            "ms",
            ms(r["calamine"]),
            baseline=statistics.median(ms(r["openpyxl"])),
            baseline_note="openpyxl read-only, values only",
            note=f"median over {len(files)} workbooks of {sz.per_type} rows",
        )
    )
    rep.add(
        Figure(
            "read: safe reader (zip/XML checks + calamine)",
            "ms",
            ms(r["reader"]),
            baseline=statistics.median(ms(r["openpyxl"])),
            baseline_note="openpyxl read-only, values only",
        )
    )
    rep.add(Figure("read+validate: parse_file, every rule (per workbook)", "ms", ms(r["parse_file"])))


def bench_ingest(rep: Report, wl: Path, sz: Sizes, full: bool, tmp: Path, repeat: int) -> None:
    """Target 1: the national batch through `python -m metrics ingest <folder>`, end to end."""
    from metrics.keys import copy_database

    manifest = json.loads((wl / "manifest.json").read_text())
    n_files = manifest["batch"]["files"]
    expected_bad = set(manifest["batch"]["bad_files"])
    work = tmp / "ingest.duckdb"
    out = tmp / "ingest.json"
    samples = []
    for n in range(repeat):
        for p in (work, Path(str(work) + ".wal")):
            p.unlink(missing_ok=True)
        copy_database(wl / "national.duckdb", work)
        log(f"ingest run {n + 1}/{repeat}: {n_files} files")
        samples += timed_cmd(
            [PY, "-m", "metrics", "--db", str(work), "--lang", "en", "ingest", "--json", str(wl / "batch")],
            1,
            out=out,
        )
    results = json.loads(out.read_text())
    refused = {r["file"] for r in results if r["status"] != "accepted"}
    if refused != expected_bad or len(results) != n_files:
        raise RuntimeError(
            f"ingest outcome differs from the workload: {len(results)} results, "
            f"refused {sorted(refused ^ expected_bad)[:5]}…"
        )
    rep.checks["ingest_results"] = len(results)
    rep.checks["ingest_refused"] = sorted(refused)
    size_mb = work.stat().st_size / 1e6
    # baseline: pandas/openpyxl + one INSERT per row, on a sample, scaled to the batch
    sample = [p for p in workbooks(wl / "batch") if p.name not in expected_bad][: 300 if full else 4]
    log(f"ingest baseline on {len(sample)} workbooks")
    b = probe(
        "naive-ingest",
        wl / "national.duckdb",
        "--work",
        str(tmp / "naive.duckdb"),
        "--files",
        *map(str, sample),
    )
    rep.checks["baseline_ingest_accepted"] = [b["accepted"], len(sample)]
    per_file = statistics.median(b["samples"])
    rep.add(
        Figure(
            f"ingest: national batch, {n_files:,} files, end to end",
            "s",
            samples,
            baseline=per_file * n_files,
            baseline_note=f"pandas/openpyxl + row-by-row INSERT: {per_file * 1000:.0f} ms/file on "
            f"{len(sample)} files, x {n_files:,}",
            target=30.0 if full else None,
            min_ratio=20.0 if full else None,
            note=f"{len(expected_bad)} files refused as planted; store grew to {size_mb:.0f} MB; "
            f"{os.cpu_count()} CPUs",
        )
    )
    rep.add(
        Figure(
            "ingest: throughput",
            "files/s",
            [n_files / s for s in samples],
            baseline=1 / per_file,
            higher_is_better=True,
            baseline_note="baseline files/s",
        )
    )
    rep.checks["baseline_s_per_file"] = per_file


def bench_upload(rep: Report, wl: Path, sz: Sizes, full: bool, tmp: Path) -> None:
    """Target 2: one OPD head's 150-row workbook, accepted or refused with the full error list."""
    manifest = json.loads((wl / "manifest.json").read_text())
    bad_names = manifest["batch"]["bad_files"]
    city_dir = wl / "batch" / generate.city_code(0)
    good = [p for p in sorted(city_dir.glob("*.xlsx")) if p.name not in bad_names][: 15 if full else 3]
    bad_files = [p for p in workbooks(wl / "batch") if p.name in bad_names]

    def planted(p: Path) -> int | None:  # penilaian-<city>-<opd>-<year>.xlsx
        _, c, o, _ = p.stem.split("-")
        return generate.bad_kind(sz, int(c) - 1, int(o) - 1)

    # an unknown OPD code refuses every row: the longest error list a workbook can get
    bad = next((p for p in bad_files if planted(p) == 5), bad_files[0])
    r = probe(
        "upload",
        wl / "national.duckdb",
        "--work",
        str(tmp / "upload.duckdb"),
        "--files",
        *map(str, good),
        "--bad",
        str(bad),
    )
    rep.checks["upload_problems"] = r["problems"]
    base = rep.checks.get("baseline_s_per_file")  # measured by bench_ingest in the same run
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    rep.add(
        Figure(
            "upload: one 150-row workbook accepted (server time)",
            "ms",
            ms(r["accepted"]),
            baseline=base * 1000 if base else None,
            baseline_note="pandas/openpyxl + row-by-row INSERT",
            target=300.0 if full else None,
            note="parse, every rule, store, audit, score tables",
        )
    )
    rep.add(
        Figure(
            f"upload: one workbook refused, {r['problems']} problems listed",
            "ms",
            ms(r["rejected"]),
            target=300.0 if full else None,
            note=f"{bad.name}",
        )
    )


def bench_score(rep: Report, wl: Path, sz: Sizes, full: bool, tmp: Path, repeat: int) -> None:
    """Target 3: every city's index, dimensions and pillars for all years from the raw rows, warm;
    memory; pandas. Also what the dashboard reads (the score tables) and what rebuilding them costs."""
    db = wl / "national.duckdb"
    raw = probe("recompute", db, "--repeat", str(repeat))
    s = probe("score", db, "--repeat", str(repeat))
    log("scoring: pandas baseline (loads every raw row)")
    p = probe("pandas", db, "--repeat", str(max(1, repeat // 3)))
    log("scoring: rebuild the score tables from raw rows")
    r = probe("rebuild", db, "--work", str(tmp / "rebuild.duckdb"), "--repeat", str(max(1, repeat // 3)))
    rep.checks["pandas_max_abs_diff"] = p["max_abs_diff"]
    rep.checks["recompute_vs_tables_differences"] = raw["n_differences"]
    rep.checks["scored_city_years"] = s["city_years"]
    what = f"{s['cities']} cities x {s['years']} years, {p['rows']:,} answer rows"
    rep.add(
        Figure(
            "score: all cities, all years, recomputed from the raw rows, warm (integrity check)",
            "s",
            raw["samples"],
            baseline=statistics.median(p["samples"]),
            baseline_note="pandas from the raw rows (DataFrames already loaded)",
            note=f"what `score --check` runs; its 0.5 s target retired by issue 20 (pages and the CLI read "
            f"the score tables); {what}; nothing pre-computed; first call {raw['first']:.2f} s; "
            f"{raw['n_differences']} differences from the score tables (to 1e-9); pandas max |diff| "
            f"{p['max_abs_diff']:.1e}",
        )
    )
    rep.add(
        Figure(
            "score: peak memory of the recomputing process",
            "MB",
            [raw["maxrss_mb"]],
            baseline=p["maxrss_mb"],
            baseline_note="pandas process peak",
            target=400.0 if full else None,
        )
    )
    rep.add(
        Figure(
            "score: all cities, all years, read from the score tables, warm",
            "s",
            s["samples"],
            baseline=statistics.median(p["samples"]),
            baseline_note="pandas from the raw rows",
            note=f"what pages and the CLI do: tables kept up to date by every write; first call "
            f"{s['first']:.2f} s; peak {s['maxrss_mb']:.0f} MB",
        )
    )
    rep.add(
        Figure(
            "score: rebuild the score tables from raw rows, then score",
            "s",
            r["samples"],
            baseline=statistics.median(p["samples"]) + p["load"],
            baseline_note="pandas load + compute from raw rows",
            note=f"what a framework load costs, written in one transaction; peak {r['maxrss_mb']:.0f} MB",
        )
    )


def bench_startup(rep: Report, wl: Path, sz: Sizes, full: bool, repeat: int) -> None:
    """Target 5: `python -m metrics score --year Y --json` as a whole process."""
    cmd = [
        PY,
        "-m",
        "metrics",
        "--db",
        str(wl / "national.duckdb"),
        "score",
        "--year",
        str(sz.batch_year - 1),
        "--json",
    ]
    timed_cmd(cmd, 1)  # page cache
    samples = timed_cmd(cmd, repeat)
    floor = statistics.median(timed_cmd([PY, "-c", "pass"], 1 if repeat == 1 else 3))
    rep.add(
        Figure(
            f"startup: score --year {sz.batch_year - 1} --json, whole process",
            "s",
            samples,
            target=1.5 if full else None,
            note=f"bare `python -c pass` takes {floor:.2f} s",
        )
    )


# ----------------------------------------------------------------------------- output


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "ms" or unit == "MB":
        return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    if unit == "files/s":
        return f"{v:,.0f}"
    return f"{v:.2f}" if v < 100 else f"{v:,.0f}"


def table(rep: Report) -> str:
    head = "| figure | unit | median | min | max | baseline | ratio | target | met |"
    lines = [head, "|" + "---|" * 9]
    for f in rep.figures:
        ratio = f"{f.ratio:.1f}x" if f.ratio is not None else "-"
        target = "-" if f.target is None else (">= " if f.higher_is_better else "<= ") + fmt(f.target, f.unit)
        if f.min_ratio is not None:
            target += f", >= {f.min_ratio:.0f}x"
        met = {True: "yes", False: "**no**", None: "-"}[f.met]
        lines.append(
            f"| {f.name} | {f.unit} | {fmt(f.median, f.unit)} | {fmt(min(f.samples), f.unit)} | "
            f"{fmt(max(f.samples), f.unit)} | {fmt(f.baseline, f.unit)} | {ratio} | {target} | {met} |"
        )
    return "\n".join(lines)


def notes(rep: Report) -> str:
    out = []
    for f in rep.figures:
        bits = [b for b in (f.note, f"baseline: {f.baseline_note}" if f.baseline_note else "") if b]
        if bits:
            out.append(f"- {f.name}: {'; '.join(bits)}")
    out += [f"- {n}" for n in rep.notes]
    return "\n".join(out)


def write(rep: Report, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    data = asdict(rep)
    for f, d in zip(rep.figures, data["figures"]):
        d["median"], d["ratio"] = f.median, f.ratio
    (out / f"results-{rep.mode}.json").write_text(json.dumps(data, indent=1))
    m = rep.machine
    md = (
        f"# Benchmark results ({rep.mode})\n\nRun {rep.started}, {rep.seconds / 60:.1f} min. Machine: "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, DuckDB {m['duckdb']}; "
        f"load average at start {m['load_at_start'][0]:.2f}, at end {m.get('load_at_end', [0])[0]:.2f}.\n\n"
        + table(rep)
        + "\n\n"
        + notes(rep)
        + "\n"
    )
    path = out / f"results-{rep.mode}.md"
    path.write_text(md)
    return path


# ----------------------------------------------------------------------------- entry point

BENCHES = ("read", "ingest", "upload", "score", "startup", "pages", "whatif", "plan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description="Run every benchmark, print one table."
    )
    ap.add_argument("--quick", action="store_true", help="toy sizes, seconds; no target judgement")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    ap.add_argument("--out", type=Path, default=generate.OUT, help="workload and results folder")
    ap.add_argument("--repeat", type=int, help="timed repetitions (default 3 full / 1 quick for ingest)")
    ap.add_argument("--no-browser", action="store_true", help="skip the headless Chromium measurements")
    args = ap.parse_args(argv)
    sz = QUICK if args.quick else FULL
    full = not args.quick
    only = set(args.only.split(",")) if args.only else set(BENCHES)
    unknown = only - set(BENCHES)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    t0 = time.perf_counter()
    rep = Report(sz.name, machine(), started=time.strftime("%Y-%m-%d %H:%M"))
    log(f"workload {sz.name}: {sz.batch_files:,} workbooks, {sz.history_rows:,} history rows")
    manifest = generate.ensure(sz, log=log, out=args.out)
    wl = generate.workload_dir(sz, args.out)
    rep.notes.append(
        f"workload: {manifest['batch']['workbooks']:,} workbooks x {sz.per_type} rows + "
        f"{manifest['batch']['csv']} metric CSVs ({manifest['batch']['bytes'] / 1e6:.0f} MB); store: "
        f"{manifest['store']['assessments']:,} assessment rows, {manifest['store']['submissions']:,} "
        f"submissions, {sz.cities} cities x {sz.opds_per_city} OPDs x {sz.history_years} years"
    )
    repeat = args.repeat or (3 if full else 1)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_s:
        tmp = Path(tmp_s)
        if "read" in only:
            log("reading one workbook")
            bench_read(rep, wl, sz, full)
        if "ingest" in only:
            bench_ingest(rep, wl, sz, full, tmp, repeat)
        if "upload" in only:
            log("one upload")
            bench_upload(rep, wl, sz, full, tmp)
        if "score" in only:
            log("scoring")
            bench_score(rep, wl, sz, full, tmp, repeat * 3 if full else 1)
        if "startup" in only:
            log("CLI start-up")
            bench_startup(rep, wl, sz, full, repeat * 2 + 1 if full else 1)
        if "pages" in only:
            from benchmarks import pages

            log("dashboard pages")
            pages.bench(rep, wl, sz, full, tmp, browser=not args.no_browser)
        if "whatif" in only:
            from benchmarks import planning

            log("what-if of a framework change")
            planning.bench_whatif(rep, wl, full, tmp, repeat * 3 if full else 1)
        if "plan" in only:
            from benchmarks import planning

            log("path to target")
            planning.bench_plan(rep, wl, full, repeat * 3 if full else 1)
    for f in rep.figures:
        if full:
            f.judge()
    rep.machine["load_at_end"] = os.getloadavg()
    rep.seconds = time.perf_counter() - t0
    path = write(rep, args.out)
    print(table(rep))
    print()
    print(notes(rep))
    print(f"\n(written to {path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
