"""The straightforward implementations the optimised paths are measured against.

These are what one would write first, kept honest: the same validation rules as the product
(`metrics.ingest.validate` on the same records), the same tables, the same audit row — only
read with pandas/openpyxl and written one statement per row, and scores computed in pandas
from the raw answer rows. They live here, not in the product, and are never used by it.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime

from metrics import templates as tpl
from metrics.audit import GENESIS, canonical, row_hash
from metrics.errors import Problem, Rejected
from metrics.ingest import Context, Record, validate

# ----------------------------------------------------------------------------- ingest


def naive_read(data: bytes, name: str, ctx: Context):
    """pandas.read_excel (openpyxl underneath) + the product's validation: (subs, problems)."""
    import pandas as pd

    df = pd.read_excel(io.BytesIO(data), sheet_name=tpl.SHEET, header=None, engine="openpyxl", dtype=object)
    rows = [[None if (isinstance(v, float) and v != v) else v for v in r] for r in df.itertuples(index=False)]

    def cell(r1: int, c0: int):
        if r1 - 1 < len(rows) and c0 < len(rows[r1 - 1]):
            return rows[r1 - 1][c0]
        return None

    fixed = {fld: cell(r, 1) for fld, (r, _) in tpl.INFO_ROWS.items()}
    idx = tpl.COL_INDEX
    labels = {f: f"({tpl.COLUMNS[idx[f]].header})" for f in ("indicator_code", "level", "evidence", "note")}
    records = []
    for r1 in range(tpl.FIRST_DATA_ROW, len(rows) + 1):
        raw = rows[r1 - 1]
        if all(v in ("", None) for v in raw):
            continue
        records.append(
            Record(
                r1,
                {
                    "city_code": fixed["city_code"],
                    "opd_code": fixed["opd_code"],
                    "year": fixed["year"],
                    "indicator_code": cell(r1, idx["indicator_code"]),
                    "level": cell(r1, idx["level"]),
                    "evidence": cell(r1, idx["evidence"]),
                    "note": cell(r1, idx["note"]),
                },
                labels,
            )
        )
    try:
        return validate("assessment", name, tpl.SHEET, records, ctx, fixed), []
    except Rejected as exc:
        return [], exc.problems


def naive_store(con, username: str, data: bytes, name: str, subs) -> list[int]:
    """One transaction per file, one INSERT per submission and per answer row, one audit row."""
    sha = hashlib.sha256(data).hexdigest()
    now = datetime.now(UTC).replace(tzinfo=None)
    cur = con.cursor()
    cur.begin()
    try:
        cur.execute("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", [sha, name, len(data), data])
        ids = []
        for s in subs:
            sid = cur.execute("SELECT nextval('submission_id_seq')").fetchone()[0]
            cur.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sid,
                    s.kind,
                    s.city_code,
                    s.opd_code,
                    s.year,
                    s.metric_code,
                    s.fw_seq,
                    name,
                    sha,
                    username,
                    now,
                    "upload",
                    len(s.rows),
                ],
            )
            for r in s.rows:
                cur.execute(
                    "INSERT INTO assessments VALUES (?, ?, ?, ?, ?, ?)",
                    [sid, r.indicator_code, r.level, r.evidence, r.note, r.source_row],
                )
            ids.append(sid)
        last = cur.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        new_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        after = canonical({"sha256": sha, "kind": "assessment", "submissions": ids})
        h = row_hash(prev, new_id, at, username, "submission.create", f"file:{name}", None, after)
        cur.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [new_id, at, username, "submission.create", f"file:{name}", None, after, prev, h],
        )
        cur.commit()
    except BaseException:
        cur.rollback()
        raise
    finally:
        cur.close()
    return ids


def naive_ingest_file(con, ctx: Context, username: str, path) -> tuple[bool, list[Problem]]:
    data = path.read_bytes()
    subs, problems = naive_read(data, path.name, ctx)
    if problems:
        return False, problems
    naive_store(con, username, data, path.name, subs)
    return True, []


# ----------------------------------------------------------------------------- scoring


def pandas_frames(con) -> dict:
    """The raw tables scoring needs, as DataFrames (what 'load' is timed on)."""
    q = {
        "subs": "SELECT id, kind, city_code, opd_code, year, metric_code FROM submissions",
        "assess": "SELECT submission_id, indicator_code, level FROM assessments",
        "mvals": "SELECT submission_id, period, value FROM metric_values",
        "ver": "SELECT id, city_code, year, indicator_code, level FROM verifications",
        "fw": "SELECT seq, applies_from, scale_min, missing FROM frameworks",
        "ind": """SELECT fw_seq, code, pillar, subpillar, dimension, weight, opd_types, metric_code,
                         metric_aggregate, metric_direction, thresholds FROM fw_indicators""",
        "dims": "SELECT fw_seq, code, weight FROM fw_dimensions",
        "opds": "SELECT city_code, opd_code, opd_type FROM opds",
    }
    return {k: con.execute(v).df() for k, v in q.items()}


def pandas_scores(f: dict):
    """Every city-year's index, dimensions, pillars and completeness, in pandas, from raw rows.

    The same rules as metrics.scoring (submission in force = greatest id per unit; verified >
    metric > mean self level; missing counts as the scale minimum when the framework says so).
    Returns a DataFrame indexed by (city_code, year) with columns index, pairs, answered.
    """
    import numpy as np
    import pandas as pd

    subs = f["subs"]
    last = subs.groupby(["kind", "city_code", "opd_code", "year", subs["metric_code"].fillna("")])["id"].max()
    in_force = subs[subs["id"].isin(last.values)]
    sa = in_force[in_force["kind"] == "assessment"]
    sm = in_force[in_force["kind"] == "metric"]
    # framework of each year: greatest applies_from <= year, ties to the last loaded
    fw = f["fw"].sort_values(["applies_from", "seq"])
    years = pd.DataFrame(
        {"year": sorted(int(y) for y in set(in_force["year"]) | set(f["ver"]["year"]))}, dtype="int64"
    )
    fwk = fw[["applies_from", "seq"]].rename(columns={"applies_from": "year"}).astype("int64")
    yf = pd.merge_asof(years, fwk, on="year", direction="backward").dropna().rename(columns={"seq": "fw_seq"})
    yf = yf.astype("int64")
    a = f["assess"].merge(sa[["id", "city_code", "opd_code", "year"]], left_on="submission_id", right_on="id")
    self_lv = a.groupby(["city_code", "year", "indicator_code"])["level"].agg(["mean", "size"]).reset_index()
    self_lv.columns = ["city_code", "year", "code", "self_level", "n_opd"]
    mv = f["mvals"].merge(
        sm[["id", "city_code", "year", "metric_code"]], left_on="submission_id", right_on="id"
    )
    mv = mv.sort_values("period")
    magg = (
        mv.groupby(["city_code", "year", "metric_code"])["value"]
        .agg(a_mean="mean", a_sum="sum", a_last="last", a_min="min", a_max="max")
        .reset_index()
    )
    ver = (
        f["ver"]
        .sort_values("id")
        .groupby(["city_code", "year", "indicator_code"])["level"]
        .last()
        .reset_index()
    )
    ver.columns = ["city_code", "year", "code", "verified_level"]
    cy = pd.concat(
        [sa[["city_code", "year"]], sm[["city_code", "year"]], ver[["city_code", "year"]]]
    ).drop_duplicates()
    cy = cy.merge(yf, on="year")
    ind = f["ind"].merge(f["fw"][["seq", "scale_min", "missing"]], left_on="fw_seq", right_on="seq")
    eff = cy.merge(ind, on="fw_seq")
    eff = eff.merge(ver, on=["city_code", "year", "code"], how="left")
    eff = eff.merge(self_lv, on=["city_code", "year", "code"], how="left")
    eff = eff.merge(magg, on=["city_code", "year", "metric_code"], how="left")
    agg_col = eff["metric_aggregate"].map(
        {"mean": "a_mean", "sum": "a_sum", "last": "a_last", "min": "a_min", "max": "a_max"}
    )
    mval = np.full(len(eff), np.nan)
    for col in ("a_mean", "a_sum", "a_last", "a_min", "a_max"):
        sel = (agg_col == col).to_numpy()
        mval[sel] = eff[col].to_numpy(dtype=float)[sel]
    eff["metric_value"] = mval
    has = ~np.isnan(mval)
    mlevel = np.full(len(eff), np.nan)
    if has.any():
        sub = eff.loc[has, ["metric_value", "thresholds", "metric_direction", "scale_min"]]
        mlevel[has] = [
            smin + sum((v <= t) if d == "lower" else (v >= t) for t in th)
            for v, th, d, smin in sub.itertuples(index=False)
        ]
    eff["metric_level"] = mlevel
    effective = eff["verified_level"].astype(float).fillna(eff["metric_level"]).fillna(eff["self_level"])
    zero = eff["missing"] == "zero"
    eff["score_level"] = effective.where(
        effective.notna(), np.where(zero, eff["scale_min"].astype(float), np.nan)
    )
    eff["wl"] = eff["weight"] * eff["score_level"]
    eff["w"] = eff["weight"].where(eff["score_level"].notna())
    keys = ["city_code", "year", "fw_seq"]
    dims = eff.groupby(keys + ["dimension"])[["wl", "w"]].sum(min_count=1).reset_index()
    dims["value"] = dims["wl"] / dims["w"]
    pillars = eff.groupby(keys + ["pillar"])[["wl", "w"]].sum(min_count=1)
    pillars = (pillars["wl"] / pillars["w"]).rename("value")
    subp = eff.dropna(subset=["subpillar"]).groupby(keys + ["subpillar"])[["wl", "w"]].sum(min_count=1)
    subp = (subp["wl"] / subp["w"]).rename("value")
    d = dims.dropna(subset=["value"]).merge(
        f["dims"], left_on=["fw_seq", "dimension"], right_on=["fw_seq", "code"], suffixes=("", "_d")
    )
    d["x"] = d["weight"] * d["value"]
    idx = d.groupby(["city_code", "year"])[["x", "weight"]].sum()
    out = pd.DataFrame({"index": idx["x"] / idx["weight"]})
    # completeness: responsible (OPD, indicator) pairs, and those answered by assessment or metric
    types = (
        ind[["fw_seq", "code", "opd_types"]]
        .explode("opd_types")
        .drop_duplicates()
        .rename(columns={"opd_types": "opd_type"})
    )
    type_n = types.groupby(["fw_seq", "opd_type"]).size().rename("n").reset_index()
    pairs = (
        cy.merge(f["opds"], on="city_code")
        .merge(type_n, on=["fw_seq", "opd_type"])
        .groupby(["city_code", "year"])["n"]
        .sum()
        .rename("pairs")
    )
    aa = a[["city_code", "year", "opd_code", "indicator_code"]].rename(columns={"indicator_code": "code"})
    aa = aa.merge(yf, on="year").merge(f["opds"], on=["city_code", "opd_code"])
    aa = aa.merge(types, on=["fw_seq", "opd_type", "code"])[["city_code", "year", "opd_code", "code"]]
    am = (
        sm.merge(yf, on="year")
        .merge(
            ind[["fw_seq", "code", "metric_code"]].dropna(subset=["metric_code"]),
            on=["fw_seq", "metric_code"],
        )
        .merge(f["opds"], on=["city_code", "opd_code"])
    )
    am = am.merge(types, on=["fw_seq", "opd_type", "code"])[["city_code", "year", "opd_code", "code"]]
    answered = pd.concat([aa, am]).drop_duplicates().groupby(["city_code", "year"]).size().rename("answered")
    out = out.join(pairs, how="outer").join(answered, how="left")
    out.attrs["parts"] = (len(dims), len(pillars), len(subp))
    return out


def compare_with(scores, df) -> float:
    """Largest absolute difference between product scores and the pandas index (NaN-safe)."""
    worst = 0.0
    got = {(s.city_code, s.year): s.index for s in scores}
    for (city, year), row in df.iterrows():
        a, b = got.get((city, year)), row["index"]
        if a is None and b != b:
            continue
        if a is None or b != b:
            return float("inf")
        worst = max(worst, abs(a - b))
    return worst


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)
