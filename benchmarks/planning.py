"""Figures for planning ahead (issue 20): the what-if of a framework change, and the path to target.

* **What-if**: every city of one year re-scored under a candidate framework (the year's own
  with other dimension weights and one metric's thresholds moved), warm, through the store's
  read (`Store.whatif_score_table`) and through the core (`metrics.whatif.whatif`, which adds
  today's scores beside it, bands, ranks and the audit row), with the probe process's peak
  memory. The baseline is the same computation in pandas, measured in the same run: the year's
  score_facts, verifications and "tidak berlaku" decisions read into DataFrames (timed apart),
  then re-levelled under the candidate and re-aggregated to every city's dimensions and index.
  Its result is checked equal to the what-if's (to 1e-9), and, before that, the same pandas
  code under the unchanged framework is checked equal to the kept scores, so a wrong baseline
  cannot pass unnoticed. It covers rubric dimensions only (the benchmark framework has no
  programme or survey dimension); it refuses a framework that has them.
* **Path to target**: `metrics.targets.plan` for one city of the national store (200
  indicators, the city ranked in the middle of the year), for an index well above today's and
  for a rank; the time inside SciPy's milp is measured apart by wrapping it.

Like benchmarks.probes, each measurement runs in a fresh process (`python -m
benchmarks.planning PROBE ...`) so that its peak memory (VmHWM, benchmarks.probes.maxrss_mb) is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.probes import maxrss_mb

ROOT = Path(__file__).resolve().parent.parent

# The candidate: two dimension weights swapped (BASELINE 0.10 -> 0.30, OUTCOME 0.30 -> 0.10) and
# the first metric indicator's thresholds moved one notch (10 points) harder.
WEIGHT_CHANGES = {"BASELINE": 0.30, "OUTCOME": 0.10}
THRESHOLD_SHIFT = 10.0


# ----------------------------------------------------------------------------- shared pieces


def rss_mb() -> float:
    """The process's resident memory now (VmRSS), MB; 0 where there is no /proc."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def year_framework(store: Any, year: int) -> Any:
    from metrics.framework import framework_for_year
    from metrics.loaded_frameworks import loaded_frameworks

    fw = framework_for_year(loaded_frameworks(store), year)
    if fw is None:
        raise SystemExit(f"no framework in force in {year}")
    return fw


def candidate_text(source: str, year: int) -> tuple[str, str]:
    """The candidate framework's YAML (from the year's framework source) and what was changed."""
    import yaml

    doc = yaml.safe_load(source)
    doc["applies_from"] = year
    for d in doc["dimensions"]:
        if d["code"] in WEIGHT_CHANGES:
            d["weight"] = WEIGHT_CHANGES[d["code"]]
    ind = next(i for i in doc["indicators"] if i.get("metric"))
    m = ind["metric"]
    if not isinstance(m["thresholds"], list):
        raise SystemExit("the benchmark candidate expects default thresholds only")
    step = THRESHOLD_SHIFT if m.get("direction", "higher") == "higher" else -THRESHOLD_SHIFT
    old = list(m["thresholds"])
    m["thresholds"] = [t + step for t in old]
    what = (
        ", ".join(f"{k} weight -> {v}" for k, v in WEIGHT_CHANGES.items())
        + f"; {ind['code']} ({m['code']}, {m.get('direction', 'higher')}) thresholds {old} -> {m['thresholds']}"
    )
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), what


def bench_year(store: Any) -> int:
    return max(store.years())


# ----------------------------------------------------------------------------- the pandas baseline


def pandas_read(con: Any, fw: Any, year: int) -> dict:
    """The year's kept per-indicator facts, verifications and N/A decisions, and the framework,
    as DataFrames (what the baseline's 'read' time is)."""
    import pandas as pd

    if any(d.method != "rubric" for d in fw.dimensions):
        raise SystemExit("the pandas baseline covers rubric dimensions only")
    q = {
        "facts": """SELECT city_code, indicator_code, self_sum, self_n, metric_basis, na_claims
                    FROM score_facts WHERE year = ?""",
        "ver": "SELECT id, city_code, indicator_code, level FROM verifications WHERE year = ?",
        "na": "SELECT id, city_code, indicator_code, decision FROM na_decisions WHERE year = ?",
    }
    out = {k: con.execute(v, [year]).df() for k, v in q.items()}
    out["ind"] = pd.DataFrame(
        {
            "indicator_code": [i.code for i in fw.indicators],
            "dimension": [i.dimension for i in fw.indicators],
            "weight": [float(i.weight) for i in fw.indicators],
        }
    )
    # a metric's thresholds for these cities: the benchmark framework lists no category and no
    # per-population basis, so the default thresholds apply to the kept metric_basis
    for i in fw.indicators:
        if i.metric and (i.metric.category_thresholds or i.metric.per_population):
            raise SystemExit("the pandas baseline covers default thresholds only")
    out["metrics"] = {
        i.code: (i.metric.direction, tuple(float(t) for t in i.metric.thresholds))
        for i in fw.indicators
        if i.metric
    }
    out["dims"] = pd.Series({d.code: float(d.weight) for d in fw.dimensions}, name="dim_weight")
    out["scale_min"], out["missing"] = float(fw.scale_min), fw.missing
    return out


def pandas_whatif(f: dict):
    """Every city's dimensions and index under the framework in `f`, in pandas (scoring's rules
    1, 2 and 7 for rubric dimensions; see metrics/scoring.py): a metric indicator's level is the
    number of thresholds its value reaches, else the mean self-assessed level; a verification
    overrides both; an indicator confirmed not applicable leaves the score. Returns a DataFrame
    indexed by city_code: column `index` and one column per dimension."""
    import numpy as np
    import pandas as pd

    x = f["facts"].merge(f["ind"], on="indicator_code")
    basis = x["metric_basis"].to_numpy(dtype=float)
    code = x["indicator_code"].to_numpy()
    metric_level = np.full(len(x), np.nan)
    for c, (direction, th) in f["metrics"].items():
        sel = (code == c) & ~np.isnan(basis)
        if not sel.any():
            continue
        t = np.asarray(th)[None, :]
        b = basis[sel][:, None]
        reached = (b <= t) if direction == "lower" else (b >= t)
        metric_level[sel] = f["scale_min"] + reached.sum(axis=1)
    self_n = x["self_n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        self_level = np.where(self_n > 0, x["self_sum"].to_numpy(dtype=float) / self_n, np.nan)
    unverified = np.where(np.isnan(metric_level), self_level, metric_level)
    keys = ["city_code", "indicator_code"]
    ver = f["ver"].sort_values("id").groupby(keys)["level"].last().rename("verified")
    dec = f["na"].sort_values("id").groupby(keys)["decision"].last().rename("decision")
    x = x.join(ver, on=keys).join(dec, on=keys)
    effective = x["verified"].astype(float).fillna(pd.Series(unverified, index=x.index))
    if f["missing"] == "zero":
        effective = effective.fillna(f["scale_min"])
    confirmed_na = (x["decision"] == "accepted") & (x["na_claims"] > 0)
    x["wl"] = (x["weight"] * effective).where(~confirmed_na)
    x["w"] = x["weight"].where(effective.notna() & ~confirmed_na)
    dims = x.groupby(["city_code", "dimension"])[["wl", "w"]].sum(min_count=1)
    dims["value"] = dims["wl"] / dims["w"].where(dims["w"] > 0)
    dims = dims.join(f["dims"], on="dimension")
    have = dims["value"].notna()
    dims["x"] = (dims["dim_weight"] * dims["value"]).where(have)
    dims["W"] = dims["dim_weight"].where(have)
    per_city = dims.groupby("city_code")[["x", "W"]].sum(min_count=1)
    out = dims["value"].unstack("dimension")
    out["index"] = per_city["x"] / per_city["W"]
    return out


def frame_values(df) -> dict[str, dict[str, float | None]]:
    """{city: {"index": v, dimension: v, ...}} from pandas_whatif's DataFrame (NaN -> None)."""
    out = {}
    for city, row in df.iterrows():
        out[str(city)] = {k: (None if v != v else float(v)) for k, v in row.items()}
    return out


def table_values(cols: dict[str, list[Any]]) -> dict[str, dict[str, float | None]]:
    """The same shape from score_table()-like columns."""
    out = {}
    for n, city in enumerate(cols["city_code"]):
        d: dict[str, float | None] = dict(zip(cols["dim_codes"][n] or [], cols["dim_values"][n] or []))
        d["index"] = cols["index"][n]
        out[city] = d
    return out


def max_difference(a: dict, b: dict) -> float:
    """Largest |a - b| over the cities and values `a` has (inf where one side lacks a value)."""
    worst = 0.0
    for city, vals in a.items():
        other = b.get(city)
        if other is None:
            return math.inf
        for k, v in vals.items():
            w = other.get(k)
            if v is None and w is None:
                continue
            if v is None or w is None:
                return math.inf
            worst = max(worst, abs(v - w))
    return worst


# ----------------------------------------------------------------------------- probes (fresh processes)


def probe_whatif_pandas(args: argparse.Namespace) -> dict:
    """The baseline: read into DataFrames (timed), compute `repeat` times (timed), peak memory;
    plus the self-check under the unchanged framework against the kept scores."""
    from metrics.framework import parse_framework
    from metrics.store import Store

    store = Store(args.db, read_only=True, migrate=False)
    year = args.year or bench_year(store)
    base = year_framework(store, year)
    text, _ = candidate_text(base.source, year)
    reads, samples, out = [], [], None
    for _ in range(args.repeat):
        t = time.perf_counter()
        frames = pandas_read(store.conn, parse_framework(text), year)
        reads.append(time.perf_counter() - t)
    for _ in range(args.repeat):
        t = time.perf_counter()
        out = pandas_whatif(frames)
        samples.append(time.perf_counter() - t)
    peak = maxrss_mb()
    kept = table_values(store.score_table([year], None))
    self_check = max_difference(frame_values(pandas_whatif(pandas_read(store.conn, base, year))), kept)
    return {
        "year": year,
        "read": reads,
        "samples": samples,
        "maxrss_mb": peak,
        "self_check_max_abs_diff": self_check,
        "values": frame_values(out),
    }


def probe_whatif(args: argparse.Namespace) -> dict:
    """The what-if: the store's read and the core's whatif(), first call then `repeat` warm
    calls each, on a scratch copy (the core writes an audit row); peak memory of the process."""
    from metrics import whatif
    from metrics.auth import SYSTEM
    from metrics.framework import parse_framework
    from metrics.keys import copy_database
    from metrics.store import Store

    work = Path(args.work)
    copy_database(args.db, work)
    store = Store(work)
    try:
        year = args.year or bench_year(store)
        text, what = candidate_text(year_framework(store, year).source, year)
        fw = parse_framework(text)
        store.score_table([year], None)  # the page has today's scores warm too
        rss0 = rss_mb()
        t = time.perf_counter()
        cols = store.whatif_score_table(fw, year)
        first_read = time.perf_counter() - t
        reads = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            cols = store.whatif_score_table(fw, year)
            reads.append(time.perf_counter() - t)
        peak_read = maxrss_mb()
        t = time.perf_counter()
        # (the candidate parsed, as the page hands it over after an edit; reading a YAML file
        # is the framework loader's cost, timed apart)
        result = whatif.whatif(store, SYSTEM, fw, year)
        first_core = time.perf_counter() - t
        cores = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = whatif.whatif(store, SYSTEM, fw, year)
            cores.append(time.perf_counter() - t)
        t = time.perf_counter()
        parse_framework(text)
        parse_s = time.perf_counter() - t
        peak = maxrss_mb()
        duck_mb = store.conn.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
        return {
            "year": year,
            "what": what,
            "cities": len(cols["city_code"]),
            "first_read": first_read,
            "read": reads,
            "first_core": first_core,
            "parse": parse_s,
            "core": cores,
            "rss_before_mb": rss0,
            "maxrss_read_mb": peak_read,
            "maxrss_mb": peak,
            "duckdb_mb_after": (duck_mb or 0) / 1e6,
            "values": table_values(cols),
            "core_values": _core_values(result),
        }
    finally:
        store.close()
        work.unlink(missing_ok=True)
        Path(str(work) + ".wal").unlink(missing_ok=True)


def _core_values(result: Any) -> dict[str, dict[str, float | None]]:
    """{city: {"index": v, dimension: v, ...}} after the change, from the core's WhatIfResult."""
    return {c.city_code: {**c.dimensions_after, "index": c.index_after} for c in result.cities}


def probe_plan(args: argparse.Namespace) -> dict:
    """plan() for the middle-ranked city of the year: an index target well above today's and a
    rank target; first call then `repeat` warm calls each; milp's own time measured apart."""
    import scipy.optimize

    from metrics import targets
    from metrics.auth import SYSTEM
    from metrics.store import Store

    solve: list[float] = []
    real_milp = scipy.optimize.milp

    def timed_milp(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_milp(*a, **k)
        finally:
            solve.append(time.perf_counter() - t)

    scipy.optimize.milp = timed_milp
    if hasattr(targets, "milp"):
        targets.milp = timed_milp  # imported by name

    store = Store(args.db, read_only=True, migrate=False)
    year = args.year or bench_year(store)
    cols = store.score_table([year], None)
    ranked = sorted((i, c) for i, c in zip(cols["index"], cols["city_code"], strict=True) if i is not None)
    index_now, city = ranked[len(ranked) // 2]
    rank_now = len(ranked) - len(ranked) // 2
    fw = year_framework(store, year)
    goal = index_now + (fw.scale_max - index_now) / 2
    rank_goal = max(1, rank_now // 10)
    out: dict[str, Any] = {"city": city, "year": year, "index_now": index_now, "rank_now": rank_now}
    for key, target in (
        ("index", targets.Target("index", goal)),
        ("rank", targets.Target("rank", rank_goal)),
    ):
        solve.clear()
        t = time.perf_counter()
        p = targets.plan(store, SYSTEM, city, year, target, "en")
        first = time.perf_counter() - t
        first_solve = sum(solve)
        samples, solves, outcomes = [], [], {(len(p.moves), p.total_effort)}
        for _ in range(args.repeat):
            solve.clear()
            t = time.perf_counter()
            p = targets.plan(store, SYSTEM, city, year, target, "en")
            samples.append(time.perf_counter() - t)
            solves.append(sum(solve))
            outcomes.add((len(p.moves), p.total_effort))
        out[key] = {
            "target": target.value,
            "first": first,
            "first_solve": first_solve,
            "samples": samples,
            "solve": solves,
            "milp_calls": len(solve),
            "reachable": p.reachable,
            "moves": len(p.moves),
            "total_effort": p.total_effort,
            "outcomes": sorted(outcomes),  # (moves, effort) of every call: one, unless a plan varies
            "final_index": p.final_index,
            "needed_index": p.needed_index,
            "start_index": p.start_index,
            "solver": p.solver,
            "effort_unit": p.effort_unit,
        }
    out["maxrss_mb"] = maxrss_mb()
    return out


PROBES = {"whatif": probe_whatif, "whatif-pandas": probe_whatif_pandas, "plan": probe_plan}


# ----------------------------------------------------------------------------- runner side


def _run_probe(kind: str, *args: str) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.planning", kind, *args]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"planning probe {kind} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_whatif(rep: Any, wl: Path, full: bool, tmp: Path, repeat: int) -> None:
    from benchmarks.run import Figure

    db = wl / "national.duckdb"
    w = _run_probe("whatif", "--db", str(db), "--work", str(tmp / "whatif.duckdb"), "--repeat", str(repeat))
    p = _run_probe("whatif-pandas", "--db", str(db), "--year", str(w["year"]), "--repeat", str(repeat))
    # the store's read and the core's result, each against pandas
    diff = max(max_difference(p["values"], w["values"]), max_difference(p["values"], w["core_values"]))
    rep.checks["whatif_pandas_max_abs_diff"] = diff
    rep.checks["whatif_pandas_self_check"] = p["self_check_max_abs_diff"]
    rep.checks["whatif_cities"] = [w["cities"], len(p["values"]), len(w["core_values"])]
    if diff > 1e-9 or p["self_check_max_abs_diff"] > 1e-9:
        raise RuntimeError(
            f"what-if and pandas disagree: max |diff| {diff:.3g} (pandas vs kept scores, unchanged "
            f"framework: {p['self_check_max_abs_diff']:.3g})"
        )
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    # the baseline is the same work from the same start: the year's facts read out of the
    # database into DataFrames, then re-levelled and re-aggregated (the store read does both)
    compute_ms = statistics.median(ms(p["samples"]))
    read_ms = statistics.median(ms(p["read"]))
    pandas_ms = compute_ms + read_ms
    what = f"{w['cities']} cities, {w['year']}; candidate: {w['what']}"
    rep.add(
        Figure(
            "whatif: every city of a year re-scored under a candidate framework, store read, warm",
            "ms",
            ms(w["read"]),
            baseline=pandas_ms,
            baseline_note=f"pandas: read into DataFrames {read_ms:.0f} ms + re-level and re-aggregate "
            f"{compute_ms:.0f} ms (the compute alone: ratio {compute_ms / statistics.median(ms(w['read'])):.1f}x)",
            target=300.0 if full else None,
            note=f"Store.whatif_score_table over score_facts; {what}; first call {w['first_read'] * 1000:.0f} ms; "
            f"equal to pandas (max |diff| {diff:.1e}, index and dimensions of every city)",
        )
    )
    rep.add(
        Figure(
            "whatif: the same through metrics.whatif.whatif (today beside it, bands, ranks, audit), warm",
            "ms",
            ms(w["core"]),
            baseline=pandas_ms,
            baseline_note="pandas read + re-level + re-aggregate, as above",
            target=300.0 if full else None,
            note=f"first call {w['first_core'] * 1000:.0f} ms; the candidate parsed (reading its YAML took "
            f"{w['parse'] * 1000:.0f} ms more)",
        )
    )
    rep.add(
        Figure(
            "whatif: peak memory of the what-if process",
            "MB",
            [w["maxrss_mb"]],
            baseline=p["maxrss_mb"],
            baseline_note="pandas process peak",
            target=300.0 if full else None,
            note=f"peak resident memory (VmHWM) of a fresh process (store opened, today's scores read, then the what-if); "
            f"{w['rss_before_mb']:.0f} MB resident before the first what-if, peak {w['maxrss_read_mb']:.0f} MB "
            f"after the store reads alone; DuckDB holds {w['duckdb_mb_after']:.0f} MB after",
        )
    )
    rep.add(
        Figure(
            "whatif: pandas baseline, reading score_facts and the framework into DataFrames",
            "ms",
            ms(p["read"]),
            note="the baseline's read, reported apart from its compute",
        )
    )


def bench_plan(rep: Any, wl: Path, full: bool, repeat: int) -> None:
    from benchmarks.run import Figure

    r = _run_probe("plan", "--db", str(wl / "national.duckdb"), "--repeat", str(repeat))
    rep.checks["plan"] = {
        k: {kk: r[k][kk] for kk in ("reachable", "moves", "milp_calls", "outcomes")}
        for k in ("index", "rank")
    }
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    who = f"city {r['city']} (ranked {r['rank_now']}, index {r['index_now']:.3f}), {r['year']}"
    for key, label in (("index", "an index target"), ("rank", "a rank target")):
        d = r[key]
        goal = f"index >= {d['target']:.3f}" if key == "index" else f"national rank <= {d['target']}"
        rep.add(
            Figure(
                f"plan: path to {label} for one city, warm",
                "ms",
                ms(d["samples"]),
                target=1000.0 if full else None,
                note=f"{who}; {goal}; {'reachable' if d['reachable'] else 'NOT reachable'}, "
                f"{d['moves']} moves, effort {d['total_effort']:g} {d['effort_unit']}, index {d['start_index']:.3f} -> "
                f"{d['final_index']:.3f}; "
                f"first call {d['first'] * 1000:.0f} ms; {d['solver']}; peak {r['maxrss_mb']:.0f} MB",
            )
        )
        if not d["milp_calls"]:  # e.g. the target is met today: nothing to solve
            rep.notes.append(f"plan, {label}: no milp call")
            continue
        rep.add(
            Figure(
                f"plan: {label}, time inside milp",
                "ms",
                ms(d["solve"]),
                note=f"{d['milp_calls']} milp call(s) per plan; first call's {d['first_solve'] * 1000:.0f} ms",
            )
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.planning")
    ap.add_argument("probe", choices=sorted(PROBES))
    ap.add_argument("--db", required=True)
    ap.add_argument("--work", help="scratch copy of the database for probes that write")
    ap.add_argument("--year", type=int, default=0, help="default: the latest year scored")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    sys.stdout.write("\n" + json.dumps(PROBES[args.probe](args)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
