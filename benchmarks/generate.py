"""The benchmark workload, generated from a seed so every run measures the same thing.

What a national evaluation looks like to this product: ~500 kota/kabupaten with ~40 OPDs
each. Two things are generated:

* a **national store**: a synthetic framework (200 indicators, each OPD type answering 150),
  the registry, and ten years of history (cities x OPDs x 100 indicators x years assessment
  rows, plus service metrics, verifications and locked years) bulk-generated straight into
  DuckDB with SQL, because pushing 20 million rows through ingest would only measure ingest;
* a **national batch** for the next year: one filled self-assessment workbook per OPD (150
  indicator rows each), as OPDs would return them, plus one service-metric CSV per city.
  The workbooks start from our own template written once per OPD type with openpyxl; the
  filled variants are made by editing the sheet XML inside the zip, because 20,000 openpyxl
  writes would take longer than everything being measured. A few files carry deliberate
  mistakes so the batch exercises rejection as a real one would.

Run `python -m benchmarks.generate [--quick]` on its own, or let `benchmarks.run` call it; the
output goes to benchmarks/out/<size>/ (git-ignored) and is reused while the sizes match.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parent / "out"
GENERATOR_VERSION = 5  # bump when the workload changes shape, so old output is rebuilt
PASSWORD = "Bench#KotaCerdas2025"

DIMENSIONS = (
    ("BASELINE", "Dasar", "Baseline", 0.10),
    ("OUTPUT", "Keluaran", "Output", 0.20),
    ("OUTCOME", "Hasil", "Outcome", 0.30),
    ("IMPACT", "Dampak", "Impact", 0.20),
    ("QUICKWIN", "Capaian Cepat", "Quick win", 0.20),
)
PILLARS = (
    ("GOV", "Tata Kelola Cerdas", "Smart Governance"),
    ("BRD", "Branding Cerdas", "Smart Branding"),
    ("ECO", "Ekonomi Cerdas", "Smart Economy"),
    ("LIV", "Lingkungan Hidup Cerdas", "Smart Living"),
    ("SOC", "Masyarakat Cerdas", "Smart Society"),
    ("ENV", "Lingkungan Cerdas", "Smart Environment"),
)
AGGS = ("mean", "sum", "last", "min", "max")
TOPICS = (
    "layanan perizinan daring",
    "satu data daerah",
    "pengaduan masyarakat",
    "transportasi publik",
    "pengelolaan sampah",
    "kesehatan digital",
    "pendidikan digital",
    "UMKM daring",
    "pariwisata",
    "tanggap bencana",
    "ruang terbuka hijau",
    "pajak daerah elektronik",
    "arsip digital",
    "kependudukan",
    "ketahanan pangan",
    "kualitas udara",
    "air bersih",
    "penerangan jalan",
)


@dataclass(frozen=True)
class Sizes:
    name: str
    cities: int
    opds_per_city: int  # also the number of OPD types: every city has one OPD of each type
    indicators: int = 200
    per_type: int = 150  # indicators each OPD type answers (rows in its workbook)
    history_years: int = 10
    history_per_opd: int = 100  # indicators each OPD answered in each history year
    first_year: int = 2015
    metrics: int = 20  # indicators that also have a service metric
    bad_every: int = 200  # one workbook in this many carries deliberate mistakes
    seed: int = 2025

    @property
    def batch_year(self) -> int:
        return self.first_year + self.history_years

    @property
    def history_rows(self) -> int:
        return self.cities * self.opds_per_city * self.history_per_opd * self.history_years

    @property
    def batch_files(self) -> int:
        return self.cities * self.opds_per_city


FULL = Sizes("full", cities=500, opds_per_city=40)
QUICK = Sizes("quick", cities=3, opds_per_city=5, history_years=3, bad_every=5)


# ------------------------------------------------------------------------------ the world


def u(*xs: int) -> float:
    """A reproducible uniform [0, 1) from integers (the same formula the history SQL uses)."""
    x = 0
    for v in xs:
        x = (x * 1_000_003 + v) % 2_147_483_647
    return ((x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648


def city_code(c: int) -> str:
    return f"{c + 1:04d}"  # leading zeros on purpose, as official codes have them


def opd_code(t: int) -> str:
    return f"{t + 1:02d}"


def opd_type(t: int) -> str:
    return f"T{t + 1:02d}"


def type_indicators(sz: Sizes, t: int) -> list[int]:
    """Indicator numbers (0-based, framework order) that OPD type `t` answers."""
    stride = max(1, sz.indicators // sz.opds_per_city)
    return sorted({(t * stride + j) % sz.indicators for j in range(sz.per_type)})


def indicator_code(n: int) -> str:
    return f"BX{n + 1:03d}"


def metric_indicators(sz: Sizes) -> list[int]:
    step = max(1, sz.indicators // sz.metrics)
    return [k * step + 1 for k in range(sz.metrics) if k * step + 1 < sz.indicators]


def metric_spec(n: int, k: int) -> dict:
    higher = k % 3 != 2
    return {
        "code": f"MX{n + 1:03d}",
        "unit": "persen" if higher else "jam",
        "aggregate": AGGS[k % len(AGGS)],
        "direction": "higher" if higher else "lower",
        "thresholds": [20, 40, 60, 80] if higher else [72, 48, 24, 8],
    }


def framework_yaml(sz: Sizes) -> str:
    """A framework shaped like the real one but with `indicators` indicators (YAML text)."""
    lines = [
        "# Synthetic benchmark framework (benchmarks/generate.py): same shape as the default one,",
        f"# {sz.indicators} indicators, every OPD type answers {sz.per_type}.",
        "id: bench-nasional",
        f"applies_from: {sz.first_year}",
        'name: {id: "Kerangka Uji Kinerja Nasional", en: "National benchmark framework"}',
        "scale: {min: 0, max: 4}",
        "missing: zero",
        "bands:",
        '  - {min: 0, label: {id: "Rintisan", en: "Initiating"}}',
        '  - {min: 1, label: {id: "Berkembang", en: "Developing"}}',
        '  - {min: 2, label: {id: "Maju", en: "Advanced"}}',
        '  - {min: 3, label: {id: "Unggul", en: "Leading"}}',
        "dimensions:",
    ]
    for code, nid, nen, w in DIMENSIONS:
        lines.append(f'  - {{code: {code}, name: {{id: "{nid}", en: "{nen}"}}, weight: {w}}}')
    lines.append("pillars:")
    for code, nid, nen in PILLARS:
        lines += [f"  - code: {code}", f'    name: {{id: "{nid}", en: "{nen}"}}', "    subpillars:"]
        for s in (1, 2):
            lines.append(f'      - {{code: {code}.{s}, name: {{id: "{nid} {s}", en: "{nen} {s}"}}}}')
    lines.append("indicators:")
    types_of: dict[int, list[str]] = {}
    for t in range(sz.opds_per_city):
        for n in type_indicators(sz, t):
            types_of.setdefault(n, []).append(opd_type(t))
    metrics = {n: metric_spec(n, k) for k, n in enumerate(metric_indicators(sz))}
    for n in range(sz.indicators):
        p = PILLARS[n % len(PILLARS)][0]
        pillar = p if n % 3 == 0 else f"{p}.{1 + n % 2}"
        topic = TOPICS[n % len(TOPICS)]
        types = types_of.get(n) or [opd_type(0)]
        lines += [
            f"  - code: {indicator_code(n)}",
            f"    pillar: {pillar}",
            f"    dimension: {DIMENSIONS[n % 5][0]}",
            f"    weight: {1 + (n * 7) % 3}",
            f"    opd_types: [{', '.join(types)}]",
            f'    name: {{id: "Indikator {n + 1} {topic}", en: "Indicator {n + 1} {topic}"}}',
            "    levels:",
            f'      0: "Belum ada kebijakan atau kegiatan {topic}"',
            f'      1: "Ada rencana {topic} yang tertulis namun belum dijalankan"',
            f'      2: "{topic.capitalize()} berjalan di sebagian unit dengan data yang belum lengkap"',
            f'      3: "{topic.capitalize()} berjalan penuh, dipantau berkala, datanya terbuka"',
            f'      4: "{topic.capitalize()} terintegrasi lintas OPD dan dievaluasi dampaknya tiap tahun"',
        ]
        if n in metrics:
            m = metrics[n]
            lines += [
                "    metric:",
                f"      code: {m['code']}",
                f"      unit: {m['unit']}",
                f"      aggregate: {m['aggregate']}",
                f"      direction: {m['direction']}",
                f"      thresholds: {m['thresholds']}",
            ]
    return "\n".join(lines) + "\n"


def metric_owner(sz: Sizes, n: int) -> int:
    """The OPD type (index) that reports the metric of indicator n: the first that answers it."""
    return next(t for t in range(sz.opds_per_city) if n in set(type_indicators(sz, t)))


def metric_value(spec: dict, level: int, r: float) -> float:
    th = spec["thresholds"]
    lo = [0.0] + [float(x) for x in th] if spec["direction"] == "higher" else [96.0] + [float(x) for x in th]
    # a value inside the band that yields `level` (between threshold level-1 and level)
    if spec["direction"] == "higher":
        a, b = lo[level], (lo[level + 1] if level + 1 < len(lo) else 100.0)
    else:
        a, b = (lo[level + 1] if level + 1 < len(lo) else 0.0), lo[level]
    return round(a + (b - a) * (0.05 + 0.9 * r), 1)


# ------------------------------------------------------------------------------ national store


def build_store(sz: Sizes, path: Path, fw_text: str) -> dict:
    """The national store: framework, registry, users and the bulk-generated history."""
    import pyarrow as pa

    from metrics.auth import SYSTEM, hash_password
    from metrics.governance import load_framework_text
    from metrics.store import Store

    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    store = Store(path)
    _fw, seq = load_framework_text(store, SYSTEM, fw_text)
    cities = pa.table(
        {
            "city_code": [city_code(c) for c in range(sz.cities)],
            "name": [("Kota" if c % 3 else "Kabupaten") + f" Uji {c + 1:03d}" for c in range(sz.cities)],
            "province": [f"Provinsi {c % 38 + 1:02d}" for c in range(sz.cities)],
            "category": [("metropolitan", "besar", "sedang", "kecil")[c % 4] for c in range(sz.cities)],
            "population": pa.array(
                [50_000 + int(u(c, 99) * 2_000_000) for c in range(sz.cities)], pa.int64()
            ),
            "c_idx": pa.array(range(sz.cities), pa.int32()),
        }
    )
    opds = pa.table(
        {
            "city_code": [city_code(c) for c in range(sz.cities) for t in range(sz.opds_per_city)],
            "opd_code": [opd_code(t) for c in range(sz.cities) for t in range(sz.opds_per_city)],
            "opd_type": [opd_type(t) for c in range(sz.cities) for t in range(sz.opds_per_city)],
            "name": [f"Dinas Uji {t + 1:02d}" for c in range(sz.cities) for t in range(sz.opds_per_city)],
            "c_idx": pa.array([c for c in range(sz.cities) for t in range(sz.opds_per_city)], pa.int32()),
            "t_idx": pa.array([t for c in range(sz.cities) for t in range(sz.opds_per_city)], pa.int32()),
        }
    )
    imap_rows = [(t, n, pos) for t in range(sz.opds_per_city) for pos, n in enumerate(type_indicators(sz, t))]
    imap = pa.table(
        {
            "t_idx": pa.array([r[0] for r in imap_rows], pa.int32()),
            "i_idx": pa.array([r[1] for r in imap_rows], pa.int32()),
            "code": [indicator_code(r[1]) for r in imap_rows],
            "pos": pa.array([r[2] for r in imap_rows], pa.int32()),
        }
    )
    mets = metric_indicators(sz)
    mtab = pa.table(
        {
            "i_idx": pa.array(mets, pa.int32()),
            "metric_code": [metric_spec(n, k)["code"] for k, n in enumerate(mets)],
            "agg": [metric_spec(n, k)["aggregate"] for k, n in enumerate(mets)],
            "higher": [metric_spec(n, k)["direction"] == "higher" for k, n in enumerate(mets)],
            "owner": pa.array([metric_owner(sz, n) for n in mets], pa.int32()),
        }
    )
    years = list(range(sz.first_year, sz.batch_year))
    # u(...) in SQL: the same integer hash as the Python helper above
    U = (
        "((((({a})::BIGINT * 1000003 + ({b})) % 2147483647 * 1000003 + ({c})) % 2147483647 * 1103515245 + 12345)"
        " % 2147483648)::DOUBLE / 2147483648"
    )
    pw = hash_password(PASSWORD)
    t0 = time.perf_counter()
    with store.transaction() as cur:
        for name, tbl in (("_b_cities", cities), ("_b_opds", opds), ("_b_map", imap), ("_b_met", mtab)):
            cur.register(name + "_v", tbl)
            cur.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_v")
            cur.unregister(name + "_v")
        cur.execute(
            "INSERT INTO cities (city_code, name, province, category, population) "
            "SELECT city_code, name, province, category, population FROM _b_cities"
        )
        cur.execute(
            "INSERT INTO opds (city_code, opd_code, opd_type, name) SELECT city_code, opd_code, opd_type, name FROM _b_opds"
        )
        n_assess_subs = sz.cities * sz.opds_per_city * len(years)
        n_metric_subs = sz.cities * len(mets) * len(years)
        # take the ids from the sequence so later ingests continue after them
        ids = cur.execute(
            "SELECT min(i), max(i) FROM (SELECT nextval('submission_id_seq') AS i FROM range(?))",
            [n_assess_subs + n_metric_subs],
        ).fetchone()
        assert ids == (1, n_assess_subs + n_metric_subs), ids
        cur.execute(f"""
            INSERT INTO submissions
            SELECT row_number() OVER (ORDER BY y.range, o.c_idx, o.t_idx), 'assessment', o.city_code, o.opd_code,
                   y.range::INTEGER, NULL, {seq}, 'riwayat-' || o.city_code || '-' || o.opd_code || '-' || y.range || '.xlsx',
                   NULL, 'riwayat', make_timestamp(y.range + 1, 2, 1 + (o.t_idx % 27), 9, o.c_idx % 60, 0),
                   'history', {sz.history_per_opd}
            FROM _b_opds o, range({years[0]}, {years[-1] + 1}) y""")
        cur.execute(f"""
            INSERT INTO submissions
            SELECT {n_assess_subs} + row_number() OVER (ORDER BY y.range, c.city_code, m.i_idx), 'metric', c.city_code,
                   lpad((m.owner + 1)::VARCHAR, 2, '0'), y.range::INTEGER, m.metric_code, {seq},
                   'metrik-' || c.city_code || '-' || y.range || '.csv', NULL, 'riwayat',
                   make_timestamp(y.range + 1, 1, 15, 9, 0, 0), 'history',
                   CASE WHEN m.agg IN ('mean', 'min', 'max') THEN 12 ELSE 1 END
            FROM _b_cities c, _b_met m, range({years[0]}, {years[-1] + 1}) y""")
        # each OPD answers history_per_opd of its indicators, a window that moves by year
        lvl = (
            "greatest(0, least(4, round(0.6 + 2.2 * "
            + U.format(a="o.c_idx", b=7, c=1)
            + " + (s.year - "
            + str(years[0])
            + ") * (0.04 + 0.12 * "
            + U.format(a="o.c_idx", b=13, c=5)
            + ") + 1.2 * ("
            + U.format(a="m.i_idx", b=31, c=3)
            + " - 0.5) + 1.4 * ("
            + U.format(a="s.id", b="m.i_idx", c=17)
            + " - 0.5))))::TINYINT"
        )
        cur.execute(f"""
            INSERT INTO assessments
            SELECT s.id, m.code, {lvl},
                   CASE WHEN {U.format(a="s.id", b="m.i_idx", c=29)} < 0.75
                        THEN 'Dokumen pendukung ' || m.code || ' tahun ' || s.year END,
                   CASE WHEN {U.format(a="s.id", b="m.i_idx", c=41)} < 0.03 THEN 'Perlu dukungan anggaran' END,
                   11 + m.pos
            FROM submissions s
            JOIN _b_opds o ON o.city_code = s.city_code AND o.opd_code = s.opd_code
            JOIN _b_map m ON m.t_idx = o.t_idx
            WHERE s.kind = 'assessment'
              AND (m.pos - 7 * (s.year - {years[0]}) + 10 * {sz.per_type}) % {sz.per_type} < {sz.history_per_opd}
            ORDER BY s.id, m.pos""")
        cur.execute(f"""
            INSERT INTO metric_values
            SELECT s.id, s.metric_code,
                   CASE WHEN s.n_rows = 12 THEN s.year || '-' || lpad(mo.range::VARCHAR, 2, '0') ELSE s.year::VARCHAR END,
                   round(CASE WHEN m.higher THEN 100 * {U.format(a="s.id", b="mo.range", c=3)}
                              ELSE 96 * {U.format(a="s.id", b="mo.range", c=5)} END, 1),
                   mo.range
            FROM submissions s JOIN _b_met m ON m.metric_code = s.metric_code, range(1, 13) mo
            WHERE s.kind = 'metric' AND mo.range <= s.n_rows
            ORDER BY s.id, mo.range""")
        # assessors verified a few indicators in one city-year in ten
        cur.execute(f"""
            INSERT INTO verifications
            SELECT nextval('verification_id_seq'), c.city_code, y.range::INTEGER, m.code,
                   (1 + floor(3 * {U.format(a="c.c_idx", b="m.i_idx", c="y.range")}))::TINYINT,
                   'Diverifikasi berdasarkan kunjungan lapangan', 'penilai', make_timestamp(y.range + 1, 3, 1, 10, 0, 0)
            FROM _b_cities c, range({years[0]}, {years[-1] + 1}) y,
                 (SELECT DISTINCT i_idx, code FROM _b_map) m
            WHERE (c.c_idx + y.range) % 4 = 0 AND m.i_idx % 40 = 3""")
        # every city's programme register (issue 17): per pillar four masterplan programmes and
        # one quick win, one owned by each of the first OPDs, statuses moving from planned to
        # running over the years, one in seven never started; and a citizen survey of three
        # programmes per pillar in the last history year, one programme in eleven under 50
        # respondents
        cur.execute("""
            INSERT INTO programme_versions
            SELECT nextval('programme_version_seq'), city_code, make_timestamp(2020, 1, 15, 9, 0, 0),
                   'perencana', 'load', 'program-' || city_code || '.xlsx', NULL, NULL
            FROM _b_cities ORDER BY c_idx""")
        cur.execute(f"""
            INSERT INTO programmes
            SELECT v.id, p.code || '-' || lpad(k.range::VARCHAR, 2, '0'), 'Program Uji ' || p.code || ' ' || k.range,
                   p.code, CASE WHEN k.range = 5 THEN 'quickwin' ELSE 'masterplan' END,
                   lpad((k.range % {sz.opds_per_city} + 1)::VARCHAR, 2, '0'), {years[0]} + k.range % 3,
                   {years[-1]} + 2, [], NULL
            FROM programme_versions v JOIN _b_cities c ON c.city_code = v.city_code,
                 (SELECT unnest({[p[0] for p in PILLARS]}) AS code) p, range(1, 6) k""")
        cur.execute(f"""
            INSERT INTO programme_statuses
            SELECT pr.version_id, pr.code, y.range::INTEGER,
                   CASE WHEN {U.format(a="c.c_idx", b="hash(pr.code) % 1000003", c=7)} < 0.14 THEN 'direncanakan'
                        WHEN y.range - pr.start_year >= 1 THEN 'berjalan' ELSE 'direncanakan' END,
                   NULL, false, NULL, NULL, NULL, false
            FROM programmes pr JOIN programme_versions v ON v.id = pr.version_id
            JOIN _b_cities c ON c.city_code = v.city_code, range({years[0]}, {years[-1] + 1}) y
            WHERE y.range >= pr.start_year""")
        cur.execute(f"""
            INSERT INTO survey_uploads
            SELECT nextval('survey_upload_seq'), city_code, {years[-1]}, 'survei-' || city_code || '.csv', NULL,
                   'admin', make_timestamp({years[-1]}, 11, 1, 9, 0, 0), 'history', 0, NULL
            FROM _b_cities ORDER BY c_idx""")
        cur.execute(f"""
            INSERT INTO survey_programmes
            SELECT s.id, pr.code, n.respondents, n.respondents * 4,
                   round(n.respondents * 4 * (3.0 + 1.5 * {U.format(a="c.c_idx", b="hash(pr.code) % 1000003", c=11)})),
                   pr.opd_code
            FROM survey_uploads s JOIN _b_cities c ON c.city_code = s.city_code
            JOIN programme_versions v ON v.city_code = s.city_code JOIN programmes pr ON pr.version_id = v.id,
                 LATERAL (SELECT CASE WHEN (c.c_idx + hash(pr.code)) % 11 = 0 THEN 30 ELSE 60 + (c.c_idx % 90) END
                          AS respondents) n
            WHERE right(pr.code, 2) IN ('01', '02', '03')""")
        cur.execute(
            "UPDATE survey_uploads SET n_rows = (SELECT sum(respondents) FROM survey_programmes WHERE upload_id = id)"
        )
        # two interview sessions per city in the last history year (issue 18), with the first OPDs
        cur.execute(f"""
            INSERT INTO interviews
            SELECT nextval('interview_seq'), c.city_code, make_timestamp({years[-1]}, 8, 5 + k.range, 9, 0, 0), 90,
                   'Ruang rapat Bappeda', NULL, ['01', '02'], [], NULL, false, 'penilai',
                   make_timestamp({years[-1]}, 7, 1, 9, 0, 0), NULL, NULL
            FROM _b_cities c, range(2) k ORDER BY c.c_idx, k.range""")
        cur.execute(f"""
            INSERT INTO periods SELECT c.city_code, y.range::INTEGER, 'locked', TIMESTAMP '{years[-1]}-12-31 00:00:00', 'admin'
            FROM _b_cities c, range({years[0]}, {years[-1]}) y""")
        users = [
            ("admin", "admin", None, None, "Admin Nasional"),
            ("walikota", "executive", city_code(0), None, "Kantor Wali Kota Uji 001"),
            ("opd.uji", "opd", city_code(0), opd_code(0), "Operator Dinas Uji 01"),
            ("penilai", "assessor", None, None, "Tim Penilai"),
            ("tamu", "viewer", None, None, "Tamu"),
        ]
        for name, role, c, o, disp in users:
            store.insert_user(cur, name, pw, role, c, o, disp)
        counts = {
            t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "cities",
                "opds",
                "submissions",
                "assessments",
                "metric_values",
                "verifications",
                "programmes",
                "survey_programmes",
            )
        }
        store.write_audit(
            cur,
            SYSTEM,
            "benchmark.history",
            "database",
            None,
            {"generator": GENERATOR_VERSION, "sizes": asdict(sz), "counts": counts},
        )
        for name in ("_b_cities", "_b_opds", "_b_map", "_b_met"):
            cur.execute(f"DROP TABLE {name}")
    store.refresh_score_tables()  # the history went in behind the store's back
    store.checkpoint()
    store.close()
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    return counts


# ------------------------------------------------------------------------------ workbooks

PH_CITY, PH_CITY_NAME, PH_OPD, PH_OPD_NAME = "QQKOTAQQ", "QQNAMAKOTAQQ", "QQOPDQQ", "QQNAMAOPDQQ"
# the template's input cells: level (J), evidence (K), evidence link (L, left empty), note (M)
_INPUT_CELL = re.compile(r'<c r="([JKLM])(\d+)" s="(\d+)" t="n" />')
_CODE_CELL = re.compile(r'<c r="A(\d+)" s="(\d+)" t="inlineStr"><is><t>(BX\d+)</t></is></c>')


def write_templates(sz: Sizes, fw_text: str, folder: Path) -> dict[int, Path]:
    """One template per OPD type, written by our own openpyxl template code, with placeholders."""
    from metrics.framework import parse_framework
    from metrics.registry import City, Opd
    from metrics.templates import build_template

    fw = parse_framework(fw_text)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for t in range(sz.opds_per_city):
        city = City(PH_CITY, PH_CITY_NAME, "-", "sedang", None)
        opd = Opd(PH_CITY, PH_OPD, opd_type(t), PH_OPD_NAME)
        p = folder / f"templat-{opd_type(t)}.xlsx"
        p.write_bytes(build_template(fw, city, opd, sz.batch_year))
        out[t] = p
    return out


class TemplateParts:
    """A template unpacked once: every part's bytes, and which part is the assessment sheet."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as z:
            self.names = [i.filename for i in z.infolist()]
            self.parts = {n: z.read(n) for n in self.names}
        self.sheet = next(
            n for n in self.names if n.startswith("xl/worksheets/sheet") and PH_OPD.encode() in self.parts[n]
        )


EVIDENCE = (
    "Peraturan Wali Kota Nomor {n}/{y} tentang {topic}",
    "Laporan kegiatan {topic} tahun {y}, tautan https://data.kota{c}.go.id/laporan/{n}",
    "SK Kepala OPD Nomor {n}/{y} dan dokumentasi {topic}",
    "Dasbor {topic} terbuka untuk publik; tangkapan layar terlampir",
    "Notulen rapat evaluasi {topic} triwulan IV {y}",
)


def fill_workbook(sz: Sizes, tp: TemplateParts, c: int, t: int, city_name: str, bad: int | None) -> bytes:
    """One OPD's returned workbook: the template with info block, levels and evidence filled in.

    `bad` selects a deliberate mistake (see BAD_KINDS) or None for a clean file.
    """
    rng = random.Random(sz.seed * 1_000_003 + c * 1000 + t)
    xml = tp.parts[tp.sheet].decode("utf-8")
    ccode, ocode = city_code(c), opd_code(t)
    if bad == 5:
        ocode = "99"  # an OPD code the registry does not know
    xml = (
        xml.replace(PH_CITY_NAME, escape(city_name))
        .replace(PH_OPD_NAME, f"Dinas Uji {t + 1:02d}")
        .replace(PH_CITY, ccode)
        .replace(PH_OPD, ocode)
    )
    base = 0.6 + 2.2 * u(c, 7, 1) + sz.history_years * (0.04 + 0.12 * u(c, 13, 5))
    first = 11
    codes = {int(m.group(1)): m.group(3) for m in _CODE_CELL.finditer(xml)}
    n_rows = len(codes)
    bad_row = first + rng.randrange(n_rows)
    levels: dict[int, int | None] = {}
    for r, code in codes.items():
        n = int(code[2:]) - 1
        raw = base + 1.2 * (u(n, 31, 3) - 0.5) + 1.4 * (rng.random() - 0.5)
        levels[r] = max(0, min(4, round(raw)))

    def cell(m: re.Match) -> str:
        col, r, s = m.group(1), int(m.group(2)), m.group(3)
        ref = f"{col}{r}"
        lv = levels.get(r)
        if lv is None:
            return m.group(0)
        if col == "J":
            if r == bad_row and bad == 0:
                return f'<c r="{ref}" s="{s}" t="n"><v>5</v></c>'
            if r == bad_row and bad == 1:
                return f'<c r="{ref}" s="{s}" t="inlineStr"><is><t>3,5</t></is></c>'
            if r == bad_row and bad == 2:
                return f'<c r="{ref}" s="{s}"><f>1+2</f><v>3</v></c>'
            if r == bad_row and bad == 4:
                return m.group(0)  # level left empty, evidence written below
            return f'<c r="{ref}" s="{s}" t="n"><v>{lv}</v></c>'
        if col == "K":
            if r == bad_row and bad == 3:
                text = "Data warga NIK 3273012345678901"
            elif (lv >= 1 and rng.random() < 0.75) or (r == bad_row and bad == 4):
                text = rng.choice(EVIDENCE).format(
                    n=rng.randint(3, 120),
                    y=sz.batch_year,
                    c=c + 1,
                    topic=TOPICS[int(codes[r][2:]) % len(TOPICS)],
                )
            else:
                return m.group(0)
            return f'<c r="{ref}" s="{s}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
        if col == "M" and rng.random() < 0.05:
            return (
                f'<c r="{ref}" s="{s}" t="inlineStr"><is><t>Perlu dukungan anggaran tahun depan</t></is></c>'
            )
        return m.group(0)

    xml = _INPUT_CELL.sub(cell, xml)
    parts = dict(tp.parts)
    parts[tp.sheet] = xml.encode("utf-8")
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name in tp.names:
            z.writestr(name, parts[name])
    return buf.getvalue()


BAD_KINDS = {
    0: "cell.level_range",
    1: "cell.level_decimal_comma",
    2: "xlsx.formula",
    3: "file.personal_data",
    4: "cell.level_missing_with_text",
    5: "cell.unknown_opd",
}


def bad_kind(sz: Sizes, c: int, t: int) -> int | None:
    i = c * sz.opds_per_city + t
    if i % sz.bad_every != sz.bad_every // 2:
        return None
    return (i // sz.bad_every) % len(BAD_KINDS)


def metric_csv(sz: Sizes, c: int) -> bytes:
    """The city's service-metric table for the batch year (monthly where the metric is averaged)."""
    rng = random.Random(sz.seed * 7 + c)
    lines = ["city_code,opd_code,metric_code,period,value"]
    for k, n in enumerate(metric_indicators(sz)):
        spec = metric_spec(n, k)
        owner = opd_code(metric_owner(sz, n))
        target = max(0, min(4, round(0.6 + 3.0 * u(c, 7, 1) + rng.gauss(0, 0.5))))
        periods = (
            [f"{sz.batch_year}-{mo:02d}" for mo in range(1, 13)]
            if spec["aggregate"] in ("mean", "min", "max")
            else [str(sz.batch_year)]
        )
        for p in periods:
            lines.append(
                f"{city_code(c)},{owner},{spec['code']},{p},{metric_value(spec, target, rng.random())}"
            )
    return ("\n".join(lines) + "\n").encode()


def _write_cities(args) -> tuple[int, int, list[str]]:
    sz, templates, folder, cities = args
    tps = {t: TemplateParts(Path(p)) for t, p in templates.items()}
    n_bytes, n_files, bad_names = 0, 0, []
    for c in cities:
        d = Path(folder) / city_code(c)
        d.mkdir(parents=True, exist_ok=True)
        name = ("Kota" if c % 3 else "Kabupaten") + f" Uji {c + 1:03d}"
        for t in range(sz.opds_per_city):
            bad = bad_kind(sz, c, t)
            data = fill_workbook(sz, tps[t], c, t, name, bad)
            fname = f"penilaian-{city_code(c)}-{opd_code(t)}-{sz.batch_year}.xlsx"
            (d / fname).write_bytes(data)
            n_bytes += len(data)
            n_files += 1
            if bad is not None:
                bad_names.append(fname)
        data = metric_csv(sz, c)
        (d / f"metrik-{city_code(c)}-{sz.batch_year}.csv").write_bytes(data)
        n_bytes += len(data)
        n_files += 1
    return n_files, n_bytes, bad_names


def write_batch(sz: Sizes, templates: dict[int, Path], folder: Path, workers: int = 1) -> dict:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    chunks = [list(range(i, min(sz.cities, i + 10))) for i in range(0, sz.cities, 10)]
    jobs = [(sz, {t: str(p) for t, p in templates.items()}, str(folder), ch) for ch in chunks]
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(_write_cities, jobs)
    else:
        results = [_write_cities(j) for j in jobs]
    return {
        "files": sum(r[0] for r in results),
        "bytes": sum(r[1] for r in results),
        "workbooks": sz.batch_files,
        "csv": sz.cities,
        "bad_files": sorted(n for r in results for n in r[2]),
    }


# ------------------------------------------------------------------------------ entry point


def workload_dir(sz: Sizes, out: Path = OUT) -> Path:
    return Path(out) / sz.name


def store_is_current(path: Path) -> bool:
    """True if the national store has the schema this checkout expects (else it is rebuilt)."""
    import duckdb

    from metrics.store import MIGRATIONS
    from metrics.store.score_sql import SCORE_TABLES_VERSION

    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            scores = con.execute("SELECT value FROM meta WHERE key = 'score_tables_version'").fetchone()
        finally:
            con.close()
    except Exception:
        return False
    derived = {"score_cy", "score_facts", "score_parts", "score_city"}  # precomputed score tables
    # the probes open it read-only, so score tables built by other SQL could not be rebuilt then
    fresh = bool(scores) and scores[0] == SCORE_TABLES_VERSION
    return bool(row) and int(row[0]) == len(MIGRATIONS) and derived <= tables and fresh


def ensure(sz: Sizes, force: bool = False, workers: int | None = None, log=print, out: Path = OUT) -> dict:
    """Generate the workload for `sz` unless an up-to-date one exists; returns the manifest.

    The batch files are reused while the sizes and generator match; the national store is
    rebuilt on its own when the store schema moved on (a new migration), since that is cheap.
    """
    d = workload_dir(sz, out)
    manifest_path = d / "manifest.json"
    want = {"generator": GENERATOR_VERSION, "sizes": asdict(sz)}
    if not force and manifest_path.exists():
        m = json.loads(manifest_path.read_text())
        if {k: m.get(k) for k in want} == want and (d / "batch").is_dir():
            if not store_is_current(d / "national.duckdb"):
                log(f"[generate] {sz.name}: national store (schema changed)")
                t0 = time.perf_counter()
                m["store"] = build_store(
                    sz, d / "national.duckdb", (d / "framework.yaml").read_text(encoding="utf-8")
                )
                m["seconds"]["store"] = round(time.perf_counter() - t0, 1)
                manifest_path.write_text(json.dumps(m, indent=1))
            return m
    d.mkdir(parents=True, exist_ok=True)
    workers = workers or min(2, os.cpu_count() or 1)
    t0 = time.perf_counter()
    fw_text = framework_yaml(sz)
    (d / "framework.yaml").write_text(fw_text, encoding="utf-8")
    log(f"[generate] {sz.name}: templates for {sz.opds_per_city} OPD types")
    templates = write_templates(sz, fw_text, d / "templates")
    t1 = time.perf_counter()
    log(f"[generate] {sz.name}: {sz.batch_files} workbooks + {sz.cities} metric CSVs")
    batch = write_batch(sz, templates, d / "batch", workers)
    t2 = time.perf_counter()
    log(f"[generate] {sz.name}: national store, {sz.history_rows:,} history assessment rows")
    store_counts = build_store(sz, d / "national.duckdb", fw_text)
    t3 = time.perf_counter()
    manifest = {
        **want,
        "batch": batch,
        "store": store_counts,
        "seconds": {"templates": round(t1 - t0, 1), "batch": round(t2 - t1, 1), "store": round(t3 - t2, 1)},
    }
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="toy sizes (what the test suite uses)")
    ap.add_argument("--force", action="store_true", help="regenerate even if an up-to-date workload exists")
    ap.add_argument("--out", type=Path, default=OUT, help="where to write (default benchmarks/out)")
    args = ap.parse_args(argv)
    m = ensure(QUICK if args.quick else FULL, force=args.force, out=args.out)
    print(json.dumps({k: m[k] for k in ("store", "seconds")} | {"files": m["batch"]["files"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
