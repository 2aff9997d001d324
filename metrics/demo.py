"""Demo data: fictional cities with five years of plausible history, made in seconds.

The cities are invented so that no real city is misrepresented. The data doubles as the test
fixture, so it deliberately contains what the product must cope with: OPDs that never
submitted, partial submissions, a corrected re-submission that supersedes an earlier one,
high self-scores without evidence, service metrics, assessor verifications and locked years.
Everything is drawn from one seeded generator, so the same seed gives the same database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.auth import DEMO_PASSWORD, DEMO_SETTING, SYSTEM, hash_password
from metrics.framework import DEFAULT_FRAMEWORK_PATH, Framework
from metrics.ingest import AssessmentRow, MetricRow, Submission
from metrics.registry import City, Opd

if TYPE_CHECKING:
    from metrics.storage import Storage

YEARS = tuple(range(2020, 2025))
# Every demo account signs in with auth.DEMO_PASSWORD (imported above, used from here by tests),
# which auth refuses in any database that install() did not mark as a demo.

CITIES = (
    City("3299", "Kota Sukamaju", "Jawa Barat", "besar", 1_180_000),
    City("3599", "Kota Tirtamulya", "Jawa Timur", "sedang", 420_000),
    City("1299", "Kota Bandar Permai", "Sumatera Utara", "metropolitan", 2_310_000),
    City("6499", "Kota Banuaraya", "Kalimantan Timur", "sedang", 365_000),
    City("7399", "Kabupaten Lembah Hijau", "Sulawesi Selatan", "kecil", 240_000),
    City("5199", "Kabupaten Nusa Asri", "Bali", "kecil", 198_000),
    City("0199", "Kota Laut Biru", "Aceh", "kecil", 155_000),  # code with a leading zero, on purpose
)

OPD_NAMES = {
    "DISKOMINFO": "Dinas Komunikasi dan Informatika",
    "BAPPEDA": "Badan Perencanaan Pembangunan Daerah",
    "DPMPTSP": "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
    "DINKES": "Dinas Kesehatan",
    "DISDIK": "Dinas Pendidikan",
    "DISHUB": "Dinas Perhubungan",
    "DLH": "Dinas Lingkungan Hidup",
    "DISPERINDAG": "Dinas Perindustrian dan Perdagangan",
    "DISKOPUKM": "Dinas Koperasi dan UKM",
    "DISPAR": "Dinas Pariwisata",
    "DISDUKCAPIL": "Dinas Kependudukan dan Pencatatan Sipil",
    "DINSOS": "Dinas Sosial",
    "BPBD": "Badan Penanggulangan Bencana Daerah",
    "PUPR": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "SATPOLPP": "Satuan Polisi Pamong Praja",
    "BAPENDA": "Badan Pendapatan Daerah",
    "BKPSDM": "Badan Kepegawaian dan Pengembangan SDM",
    "DISPORA": "Dinas Pemuda dan Olahraga",
    "DKPP": "Dinas Ketahanan Pangan dan Pertanian",
    "DISNAKER": "Dinas Tenaga Kerja",
    "INSPEKTORAT": "Inspektorat Daerah",
    "SETDA": "Sekretariat Daerah",
    "PERKIM": "Dinas Perumahan dan Kawasan Permukiman",
    "DISPERPUSIP": "Dinas Perpustakaan dan Kearsipan",
}
CORE_TYPES = ("DISKOMINFO", "BAPPEDA", "DPMPTSP", "DINKES", "DISDIK", "DISHUB", "DLH", "SETDA")

EVIDENCE = (
    "Peraturan Wali Kota Nomor {n}/{y} tentang {topic}",
    "Laporan kegiatan {topic} tahun {y} (tautan: https://data.{slug}.go.id/laporan/{n})",
    "SK Kepala OPD Nomor {n}/{y} dan dokumentasi {topic}",
    "Dasbor {topic} yang dapat diakses publik; tangkapan layar terlampir",
    "Notulen rapat evaluasi {topic} triwulan IV {y}",
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    city: str | None
    opd: str | None
    display_name: str


def demo_users(opds: list[Opd]) -> list[DemoUser]:
    first = CITIES[0].city_code
    by_type = {o.opd_type: o for o in opds if o.city_code == first}
    return [
        DemoUser("admin", "admin", None, None, "Admin Diskominfo"),
        DemoUser("walikota", "executive", first, None, "Kantor Wali Kota Sukamaju"),
        DemoUser("opd.kominfo", "opd", first, by_type["DISKOMINFO"].opd_code, "Operator Diskominfo"),
        DemoUser("opd.dinkes", "opd", first, by_type["DINKES"].opd_code, "Operator Dinas Kesehatan"),
        DemoUser("penilai", "assessor", None, None, "Tim Penilai"),
        DemoUser("tamu", "viewer", None, None, "Tamu"),
    ]


def make_opds(rng: random.Random, cities: tuple[City, ...] = CITIES) -> list[Opd]:
    opds = []
    others = [t for t in OPD_NAMES if t not in CORE_TYPES]
    for c in cities:
        n = rng.randint(15, 23)
        types = list(CORE_TYPES) + rng.sample(others, n - len(CORE_TYPES))
        for k, t in enumerate(sorted(types, key=lambda t: list(OPD_NAMES).index(t)), start=1):
            opds.append(Opd(c.city_code, f"{k:02d}", t, OPD_NAMES[t]))
    return opds


def _value_for_level(rng: random.Random, thresholds: tuple[float, ...], direction: str, level: int) -> float:
    """A metric value that lands on `level` (0 below the first threshold)."""
    t = list(thresholds)
    if direction == "higher":
        lo = t[level - 1] if level > 0 else max(0.0, t[0] - (t[1] - t[0]))
        hi = t[level] if level < len(t) else t[-1] + (t[-1] - t[-2])
    else:
        lo = t[level] if level < len(t) else max(0.0, t[-1] - (t[-2] - t[-1]))
        hi = t[level - 1] if level > 0 else t[0] + (t[0] - t[1])
        lo, hi = min(lo, hi), max(lo, hi)
    v = lo + (hi - lo) * rng.uniform(0.05, 0.95)
    return round(v, 1)


# what generate makes: cities, OPDs, (accepted at, submission) in acceptance order,
# verifications (city, year, indicator, level, note) and the demo accounts
DemoData = tuple[
    list[City],
    list[Opd],
    list[tuple[datetime, Submission]],
    list[tuple[str, int, str, int, str]],
    list[DemoUser],
]


def generate(fw: Framework, seed: int = 2024) -> DemoData:
    """(cities, opds, submissions by year with their acceptance time, verifications, users)."""
    rng = random.Random(seed)
    opds = make_opds(rng)
    subs: list[tuple[datetime, Submission]] = []
    verifications: list[tuple[str, int, str, int, str]] = []
    slug = {c.city_code: c.name.split()[-1].lower() for c in CITIES}
    for ci, city in enumerate(CITIES):
        base = 2.4 - 0.25 * ci + rng.uniform(-0.2, 0.2)
        trend = rng.uniform(0.08, 0.3)
        city_opds = [o for o in opds if o.city_code == city.city_code]
        never = set(rng.sample([o.opd_code for o in city_opds if o.opd_type not in CORE_TYPES], 2))
        opd_bias = {o.opd_code: rng.uniform(-0.6, 0.6) for o in city_opds}
        ind_bias = {i.code: rng.uniform(-0.8, 0.8) for i in fw.indicators}
        for year in YEARS:
            t = year - YEARS[0]
            for o in city_opds:
                if o.opd_code in never or (year < 2022 and rng.random() < 0.15):
                    continue
                inds = fw.indicators_for_opd_type(o.opd_type)
                if not inds:
                    continue
                skip_share = 0.35 if rng.random() < 0.2 else 0.0  # some OPDs answer only part
                rows: list[AssessmentRow] = []
                for n, ind in enumerate(inds):
                    if rng.random() < skip_share:
                        continue
                    raw = base + trend * t + opd_bias[o.opd_code] + ind_bias[ind.code] + rng.gauss(0, 0.45)
                    level = max(fw.scale_min, min(fw.scale_max, round(raw)))
                    evidence = None
                    if level >= 1 and rng.random() > 0.12:  # a few high scores arrive without evidence
                        evidence = rng.choice(EVIDENCE).format(
                            n=rng.randint(3, 120),
                            y=year,
                            topic=ind.name["id"].lower()[:60],
                            slug=slug[city.city_code],
                        )
                    note = "Perlu dukungan anggaran tahun depan" if rng.random() < 0.05 else None
                    rows.append(AssessmentRow(ind.code, level, evidence, note, 11 + n))
                if not rows:
                    continue
                at = datetime(year + 1, 2, 1 + rng.randint(0, 26), rng.randint(8, 16), rng.randint(0, 59))
                if year == YEARS[-1] and rng.random() < 0.25:
                    # an earlier, rougher version that the corrected one below supersedes
                    early = [
                        AssessmentRow(
                            r.indicator_code, max(fw.scale_min, r.level - 1), None, None, r.source_row
                        )
                        for r in rows[: max(1, len(rows) // 2)]
                    ]
                    subs.append(
                        (
                            at.replace(day=1, hour=7),
                            Submission("assessment", city.city_code, o.opd_code, year, 0, None, early),
                        )
                    )
                subs.append((at, Submission("assessment", city.city_code, o.opd_code, year, 0, None, rows)))
            # service metrics, monthly for mean/min/max, yearly otherwise
            for ind in fw.indicators:
                if not ind.metric:
                    continue
                owners = [o for o in city_opds if o.opd_type in ind.opd_types and o.opd_code not in never]
                if not owners or (year < 2022 and rng.random() < 0.5):
                    continue
                o = owners[0]
                m = ind.metric
                target = max(
                    0,
                    min(len(m.thresholds), round(base + trend * t + ind_bias[ind.code] + rng.gauss(0, 0.4))),
                )
                mrows: list[MetricRow]
                if m.aggregate in ("mean", "min", "max"):
                    mrows = [
                        MetricRow(
                            f"{year}-{mo:02d}", _value_for_level(rng, m.thresholds, m.direction, target), mo
                        )
                        for mo in range(1, 13)
                    ]
                else:
                    mrows = [
                        MetricRow(str(year), _value_for_level(rng, m.thresholds, m.direction, target), 1)
                    ]
                at = datetime(year + 1, 1, 15, 9, 0)
                subs.append((at, Submission("metric", city.city_code, o.opd_code, year, 0, m.code, mrows)))
        # the assessor verified part of 2023 for the first three cities
        if ci < 3:
            for ind in rng.sample(list(fw.indicators), 8):
                verifications.append(
                    (
                        city.city_code,
                        2023,
                        ind.code,
                        rng.randint(1, 3),
                        "Diverifikasi berdasarkan kunjungan lapangan",
                    )
                )
    subs.sort(key=lambda x: x[0])
    return list(CITIES), opds, subs, verifications, demo_users(opds)


def install(
    store: Storage, fw_path: Path = DEFAULT_FRAMEWORK_PATH, seed: int = 2024, password: str = DEMO_PASSWORD
) -> dict[str, object]:
    """Load the default framework and the demo registry, history and users into `store`, and
    mark it a demo database (the only kind where the published demo password is accepted)."""
    from metrics.governance import load_framework_text

    fw, seq = load_framework_text(store, SYSTEM, fw_path.read_text(encoding="utf-8"))
    cities, opds, subs, verifications, users = generate(fw, seed)
    pw_hash = hash_password(password, demo_database=True)
    with store.transaction() as cur:
        store.upsert_cities(cur, cities)
        store.upsert_opds(cur, opds)
        for _at, s in subs:
            s.fw_seq = seq
        # one bulk insert, in acceptance order so ids follow the history's timestamps
        ids = store.insert_submissions(
            cur,
            [s for _, s in subs],
            "demo",
            None,
            None,
            "demo",
            at=[at for at, _ in subs],
            file_names=[f"demo-{s.city_code}-{s.opd_code}-{s.year}.xlsx" for _, s in subs],
        )
        for city, year, code, level, note in verifications:
            store.add_verification(cur, city, year, code, level, note, "penilai")
        for c in cities:
            for y in YEARS[:-1]:
                store.set_period_status(cur, c.city_code, y, "locked", "admin")
        store.set_setting(cur, DEMO_SETTING, "true")
        for u in users:
            store.insert_user(cur, u.username, pw_hash, u.role, u.city, u.opd, u.display_name)
        summary = {
            "cities": len(cities),
            "opds": len(opds),
            "submissions": len(ids),
            "verifications": len(verifications),
            "users": [u.username for u in users],
            "seed": seed,
        }
        store.write_audit(cur, SYSTEM, "demo.install", "database", None, summary)
    return summary
