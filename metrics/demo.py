"""Demo data: fictional cities with five years of plausible history, made in seconds.

The cities are invented so that no real city is misrepresented. The data doubles as the test
fixture, so it deliberately contains what the product must cope with: OPDs that never
submitted, partial submissions, a corrected re-submission that supersedes an earlier one,
high self-scores without evidence, service metrics, assessor verifications and locked years.
Since issue 17 it also holds what the national evaluation scores besides the rubric: each
city's programme register (masterplan and quick-win programmes with budgets and yearly
statuses, including programmes that never started and programmes stopped with a reason, one
accepted and one awaiting the assessor; a second register version in Kota Sukamaju), citizen
impact surveys of three programmes per pillar for the last three years (one programme below
the 50-respondent minimum), "tidak berlaku" answers (one confirmed, one rejected, one pending)
and population by year. Everything is drawn from seeded generators, so the same seed gives the
same database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.auth import DEMO_PASSWORD, DEMO_SETTING, SYSTEM, hash_password
from metrics.framework import DEFAULT_FRAMEWORK_PATH, Framework
from metrics.ingest import AssessmentRow, MetricRow, NaAnswer, Submission
from metrics.records import (
    RUNNING_STATUSES,
    Programme,
    ProgrammeBudget,
    ProgrammeStatus,
    SurveyProgramme,
    SurveyQuestion,
)
from metrics.registry import City, CityPopulation, Opd

if TYPE_CHECKING:
    from metrics.storage import Cursor, Storage

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
        # the planners (Bappeda) who keep each city's programme register
        *(
            DemoUser(planner_of(c), "planner", c.city_code, None, f"Perencana Bappeda {short_name(c)}")
            for c in CITIES
        ),
    ]


def short_name(city: City) -> str:
    """'Kota Bandar Permai' -> 'Bandar Permai'."""
    return city.name.split(" ", 1)[1]


def planner_of(city: City) -> str:
    """The demo planner account of `city`: 'bappeda.bandarpermai'."""
    return "bappeda." + short_name(city).replace(" ", "").lower()


def make_opds(rng: random.Random, cities: tuple[City, ...] = CITIES) -> list[Opd]:
    opds = []
    others = [t for t in OPD_NAMES if t not in CORE_TYPES]
    for c in cities:
        n = rng.randint(15, 23)
        types = list(CORE_TYPES) + rng.sample(others, n - len(CORE_TYPES))
        for k, t in enumerate(sorted(types, key=lambda t: list(OPD_NAMES).index(t)), start=1):
            opds.append(Opd(c.city_code, f"{k:02d}", t, OPD_NAMES[t]))
    return opds


def _scaled(value: float, scale: float | None) -> float:
    """A per-population figure as the count the OPD reports (`scale`: population / per)."""
    return value if scale is None else float(round(value * scale))


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
    population = {(p.city_code, p.year): p.population for p in populations()}
    na_cases = {(c.city, c.year, c.indicator) for c in NA_CASES}
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
                na = [
                    NaAnswer(c.indicator, c.reason, 11 + [i.code for i in inds].index(c.indicator))
                    for c in NA_CASES
                    if (c.city, c.year, c.opd_type) == (city.city_code, year, o.opd_type)
                ]
                rows = [r for r in rows if r.indicator_code not in {n.indicator_code for n in na}]
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
                subs.append(
                    (
                        at,
                        Submission("assessment", city.city_code, o.opd_code, year, 0, None, rows, na_rows=na),
                    )
                )
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
                # the thresholds this city is held to; a per-population metric is reported as the
                # raw count, which scoring divides by the year's population
                th = m.thresholds_for(city.category)
                scale = population[(city.city_code, year)] / m.per_population if m.per_population else None
                mrows: list[MetricRow]
                if m.aggregate in ("mean", "min", "max"):
                    mrows = [
                        MetricRow(
                            f"{year}-{mo:02d}",
                            _scaled(_value_for_level(rng, th, m.direction, target), scale),
                            mo,
                        )
                        for mo in range(1, 13)
                    ]
                else:
                    mrows = [
                        MetricRow(
                            str(year), _scaled(_value_for_level(rng, th, m.direction, target), scale), 1
                        )
                    ]
                if (city.city_code, year, ind.code) in na_cases:
                    continue  # answered "tidak berlaku": the OPD reports no figure (drawn all the same,
                    # so the rest of the history does not move)
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


# --------------------------------------------------------------------------- population by year


def populations(cities: tuple[City, ...] = CITIES) -> list[CityPopulation]:
    """Each city's population for every demo year, growing about 1% a year up to the registry's
    figure (which is the last year's)."""
    return [
        CityPopulation(c.city_code, y, round((c.population or 0) / 1.01 ** (YEARS[-1] - y)))
        for c in cities
        for y in YEARS
    ]


# --------------------------------------------------------------------------- "tidak berlaku" answers


@dataclass(frozen=True)
class NaCase:
    """An OPD's "tidak berlaku" answer and the assessor's word on it (None: not yet judged)."""

    city: str
    year: int
    opd_type: str  # the OPD that answers it
    indicator: str  # an allow_na indicator of the default framework
    reason: str
    decision: str | None  # accepted | rejected | None (pending)
    note: str | None = None


_NO_BUS = "Kabupaten tidak memiliki layanan bus kota maupun BRT; angkutan umum dilayani angkutan perdesaan milik swasta."
NA_CASES = (
    NaCase(
        "5199",
        2023,
        "DISHUB",
        "LIV-07",
        _NO_BUS,
        "accepted",
        "Sesuai data trayek Dinas Perhubungan provinsi.",
    ),
    NaCase("5199", 2024, "DISHUB", "LIV-07", _NO_BUS, "accepted", "Tidak ada perubahan trayek sejak 2023."),
    NaCase(
        "5199",
        2024,
        "DINKES",
        "LIV-09",
        "Rumah sakit rujukan di wilayah kami dikelola pemerintah provinsi.",
        "rejected",
        "RSUD Nusa Asri milik pemerintah kabupaten; mohon isi ketersediaan tempat tidurnya.",
    ),
    NaCase("0199", 2024, "DISHUB", "LIV-07", "Belum ada bus kota; angkutan kota dikelola swasta.", None),
)


# --------------------------------------------------------------------------- programme register


@dataclass(frozen=True)
class ProgrammeIdea:
    name: str
    subpillar: str
    opd_types: tuple[str, ...]  # who would own it, in order of preference
    urban: bool = False  # only a kota runs it (a city bus, say)


def _ideas(subpillar: str, *items: str) -> list[ProgrammeIdea]:
    """Ideas of one sub-pillar: 'name|OPD,OPD' strings ('!' first: a kota only)."""
    out = []
    for item in items:
        name, types = item.split("|")
        out.append(ProgrammeIdea(name.lstrip("!"), subpillar, tuple(types.split(",")), name.startswith("!")))
    return out


# masterplan programmes and quick wins a city of the demo may run, by pillar: realistic names
MASTERPLAN = {
    "GOV": _ideas(
        "GOV.POL",
        "Satu Data Kota|DISKOMINFO,BAPPEDA",
        "Pusat Data dan Komputasi Awan Pemda|DISKOMINFO",
        "Tim Tanggap Insiden Siber (CSIRT) Daerah|DISKOMINFO",
        "E-Planning dan E-Budgeting Terpadu|BAPPEDA",
        "Dasbor Kinerja Kepala Daerah|BAPPEDA,SETDA",
    )
    + _ideas(
        "GOV.PUB",
        "Mal Pelayanan Publik Digital|DPMPTSP",
        "Integrasi Perizinan Daerah dengan OSS|DPMPTSP",
        "Pengaduan Terpadu Terhubung SP4N-LAPOR!|DISKOMINFO",
    )
    + _ideas(
        "GOV.BUR",
        "SRIKANDI untuk Semua OPD|DISPERPUSIP,SETDA",
        "Sertifikat Elektronik BSrE untuk Pejabat|DISKOMINFO",
        "Sistem Informasi Kepegawaian Terintegrasi|BKPSDM,SETDA",
    ),
    "BRD": _ideas(
        "BRD.TOUR",
        "Portal Pariwisata Terpadu|DISPAR,DISKOMINFO",
        "Desa Wisata Digital|DISPAR,BAPPEDA",
        "Festival Budaya Berbasis Digital|DISPAR,DISPORA,DISKOMINFO",
        "Tiket Destinasi Nontunai|DISPAR,BAPENDA",
    )
    + _ideas(
        "BRD.BIZ",
        "Peta Potensi Investasi Berbasis Spasial|DPMPTSP,BAPPEDA",
        "Promosi Investasi Daring|DPMPTSP",
        "Klinik Layanan Investor|DPMPTSP",
    )
    + _ideas(
        "BRD.IDN",
        "Penguatan Merek dan Identitas Kota|BAPPEDA,DISKOMINFO",
        "!Revitalisasi Kawasan Kota Lama|PUPR,PERKIM",
        "Papan Informasi Digital di Gerbang Kota|DISKOMINFO",
    ),
    "ECO": _ideas(
        "ECO.IND",
        "Basis Data Tunggal UMKM|DISKOPUKM,DISPERINDAG",
        "Sistem Pemantauan Harga Pangan|DISPERINDAG,DKPP",
        "Inkubator Bisnis Digital|DISKOPUKM,DISKOMINFO",
        "Pasar Daring Produk Lokal|DISPERINDAG,DISKOPUKM",
    )
    + _ideas(
        "ECO.FIN",
        "Pajak Daerah Daring|BAPENDA",
        "Elektronifikasi Transaksi Pemerintah Daerah|BAPENDA,SETDA",
        "Retribusi Daerah Nontunai|BAPENDA",
    )
    + _ideas(
        "ECO.JOB",
        "Bursa Kerja Daring Daerah|DISNAKER,DISKOMINFO",
        "Pelatihan Kerja Kompetensi Digital|DISNAKER,DISKOMINFO",
        "Peta Jalan Ekonomi Digital|BAPPEDA",
    ),
    "LIV": _ideas(
        "LIV.HLT",
        "Rekam Medis Elektronik Terhubung SATUSEHAT|DINKES",
        "Antrean Daring Puskesmas dan RSUD|DINKES",
        "Telemedisin Puskesmas|DINKES",
        "Layanan Ambulans Gawat Darurat Terpadu|DINKES",
    )
    + _ideas(
        "LIV.MOB",
        "Pusat Kendali Lalu Lintas (ATCS)|DISHUB",
        "!Bus Listrik Koridor 1|DISHUB",
        "!Halte Pintar dengan Informasi Kedatangan|DISHUB",
        "Parkir Elektronik Kawasan Pusat Kota|DISHUB",
    )
    + _ideas(
        "LIV.HOU",
        "Sistem Informasi Rumah Tidak Layak Huni|PERKIM,PUPR",
        "Penanganan Kawasan Kumuh Terpadu|PERKIM,PUPR",
    ),
    "SOC": _ideas(
        "SOC.EDU",
        "Sekolah Digital|DISDIK",
        "Perpustakaan Digital Daerah|DISPERPUSIP,DISDIK",
        "Beasiswa Daerah Daring|DISDIK",
    )
    + _ideas(
        "SOC.COM",
        "Literasi Digital untuk Warga|DISKOMINFO",
        "E-Musrenbang|BAPPEDA",
        "Kampung Digital|DISKOMINFO",
        "Sistem Informasi Kepemudaan|DISPORA,DISKOMINFO",
    )
    + _ideas(
        "SOC.SAF",
        "Pemutakhiran DTSEN Berbasis Desa dan Kelurahan|DINSOS",
        "Command Center dan CCTV Kota|DISKOMINFO",
        "Layanan Darurat 112|DISKOMINFO,BPBD",
    ),
    "ENV": _ideas(
        "ENV.WST",
        "Bank Sampah Digital|DLH",
        "TPS3R dan Penimbangan Sampah Digital|DLH",
        "Pengolahan Sampah Menjadi Energi|DLH",
    )
    + _ideas(
        "ENV.QLT",
        "Stasiun Pemantau Kualitas Udara|DLH",
        "Penerangan Jalan Umum LED Terpantau|PUPR,DISHUB",
        "Inventaris Ruang Terbuka Hijau Digital|PERKIM,DLH",
        "Panel Surya Gedung Pemerintah|PUPR",
    )
    + _ideas(
        "ENV.DRR",
        "Sistem Peringatan Dini Banjir|BPBD",
        "Peta Rawan Bencana Daring|BPBD,PUPR",
        "Drainase Perkotaan Berbasis Data|PUPR",
    ),
}
QUICK_WINS = {
    "GOV": _ideas(
        "GOV.PUB",
        "Layanan Adminduk Daring dari Rumah|DISDUKCAPIL,DISKOMINFO",
        "Aktivasi IKD Keliling|DISDUKCAPIL,DISKOMINFO",
        "Kanal WhatsApp Layanan Publik|DISKOMINFO",
    ),
    "BRD": _ideas("BRD.TOUR", "Kalender Acara Kota Daring|DISPAR,DISKOMINFO")
    + _ideas(
        "BRD.IDN",
        "Penataan Alun-Alun dengan Wi-Fi Publik|PUPR,DISKOMINFO",
        "Kampanye Bangga Buatan Lokal|DISKOMINFO",
    ),
    "ECO": _ideas("ECO.FIN", "QRIS di Pasar Rakyat|DISPERINDAG,BAPENDA")
    + _ideas(
        "ECO.IND",
        "Pelatihan Pemasaran Digital UMKM|DISKOPUKM,DISKOMINFO",
        "Bazar UMKM Bayar dengan QRIS|DISKOPUKM,DISPERINDAG",
    ),
    "LIV": _ideas("LIV.HLT", "Informasi Tempat Tidur Rumah Sakit Daring|DINKES", "Posyandu Digital|DINKES")
    + _ideas("LIV.MOB", "Parkir Tepi Jalan dengan QRIS|DISHUB"),
    "SOC": _ideas("SOC.COM", "Wi-Fi Publik Gratis di Ruang Terbuka|DISKOMINFO")
    + _ideas("SOC.EDU", "Kelas Guru Digital|DISDIK")
    + _ideas("SOC.SAF", "Bantuan Sosial Nontunai Tepat Sasaran|DINSOS"),
    "ENV": _ideas("ENV.DRR", "Lapor Genangan|PUPR,BPBD")
    + _ideas("ENV.QLT", "Gerakan Tanam Pohon Terdata|DLH,PERKIM")
    + _ideas("ENV.WST", "Jemput Sampah Terpilah|DLH"),
}
STOP_REASONS = (
    "Digantikan aplikasi nasional; aplikasi daerah tidak diperlukan lagi",
    "Anggaran dialihkan untuk penanganan banjir",
    "Mitra penyedia menghentikan kerja sama",
    "Lahan belum tersedia setelah kajian teknis",
)
PLAN_END = 2026  # the last year a demo programme may run to (the masterplan's horizon)


def _programme(
    rng: random.Random,
    idea: ProgrammeIdea,
    code: str,
    kind: str,
    owner: str,
    links: list[str],
    quality: float,
    whole_plan: bool,
) -> Programme:
    """One programme with a span, budgets and a status for each of its years up to the last
    demo year: late starts and finished programmes by chance, better in a stronger city and
    in later years, and a few that never start or are stopped. A `whole_plan` programme runs
    from the first demo year to the plan's horizon or near it (each pillar has one of each
    kind, so no pillar-year has nothing planned: the method would count that pillar as 0)."""
    quick = kind == "quickwin"
    if whole_plan:
        start, end = YEARS[0], rng.randint(YEARS[-1], PLAN_END)
    else:
        start = rng.randint(YEARS[0], YEARS[-1] - (0 if quick else 1))
        end = min(PLAN_END, start + (rng.randint(0, 2) if quick else rng.randint(2, 5)))
    p_now = min(0.95, max(0.2, 0.4 + 0.12 * (start - YEARS[0]) + 0.2 * quality + (0.15 if quick else 0)))
    delay = 0 if rng.random() < p_now else (1 if rng.random() < 0.7 else 2)
    fate = rng.random()
    never, stop_at = fate < 0.07, (start + delay + 1 if fate > 0.94 else None)
    statuses = []
    for y in range(start, min(end, YEARS[-1]) + 1):
        if never or y < start + delay:
            statuses.append(ProgrammeStatus(y, "direncanakan"))
        elif stop_at is not None and y >= stop_at:
            statuses.append(ProgrammeStatus(y, "dihentikan", rng.choice(STOP_REASONS[1:])))
        else:
            done = y == end and rng.random() < 0.75
            evidence = f"Laporan kemajuan {y}: {idea.name}" if rng.random() < 0.8 else None
            statuses.append(ProgrammeStatus(y, "selesai" if done else "berjalan", evidence=evidence))
    budgets = []
    scale = rng.choice((150, 300, 500, 800, 1_200, 2_500, 5_000)) * 1_000_000  # Rupiah a year
    for y in range(start, end + 1):
        amount = round(scale * rng.uniform(0.7, 1.3), -6)
        budgets.append(ProgrammeBudget(y, "APBD", int(amount)))
        if rng.random() < 0.1:
            budgets.append(ProgrammeBudget(y, "APBN", int(round(scale * rng.uniform(0.3, 1.0), -6))))
        if rng.random() < 0.05:
            budgets.append(ProgrammeBudget(y, "mitra", int(round(scale * rng.uniform(0.1, 0.5), -6))))
    return Programme(
        code,
        idea.name,
        idea.subpillar,
        kind,
        owner,
        start,
        end,
        tuple(links),
        tuple(budgets),
        tuple(statuses),
    )


def city_quality() -> dict[str, float]:
    """-1..1 per city, in the order of CITIES (the first is the strongest), as in the rubric's
    history: a stronger city starts its programmes on time more often and its residents rate
    them a little higher."""
    return {c.city_code: 1 - 2 * n / (len(CITIES) - 1) for n, c in enumerate(CITIES)}


def programme_registers(fw: Framework, opds: list[Opd], seed: int = 2024) -> dict[str, list[Programme]]:
    """Each city's programme register: per pillar 1-3 quick wins and enough masterplan
    programmes for 4-12 in all."""
    quality = city_quality()
    rng = random.Random(f"{seed}-programmes")  # its own stream: the rest of the history stays put
    registers: dict[str, list[Programme]] = {}
    for city in CITIES:
        by_type = {o.opd_type: o.opd_code for o in opds if o.city_code == city.city_code}
        kota = city.name.startswith("Kota")
        progs: list[Programme] = []
        for pillar in (p.code for p in fw.pillars):
            n_quick = rng.randint(1, 3)
            n_master = rng.randint(max(3, 4 - n_quick), min(9, 12 - n_quick))
            for kind, pool, n, tag in (
                ("masterplan", MASTERPLAN[pillar], n_master, "MP"),
                ("quickwin", QUICK_WINS[pillar], n_quick, "QW"),
            ):
                ideas = rng.sample([i for i in pool if kota or not i.urban], min(n, len(pool)))
                for k, idea in enumerate(ideas, start=1):
                    owner = next((by_type[t] for t in idea.opd_types if t in by_type), by_type["BAPPEDA"])
                    inds = [i.code for i in fw.indicators if i.subpillar == idea.subpillar]
                    links = sorted(rng.sample(inds, min(len(inds), rng.randint(1, 2))))
                    code = f"{pillar}-{tag}{k:02d}"
                    progs.append(
                        _programme(rng, idea, code, kind, owner, links, quality[city.city_code], k == 1)
                    )
        registers[city.city_code] = progs
    _stop_two(registers[CITIES[0].city_code])
    return registers


def _stop_two(progs: list[Programme]) -> None:
    """Two masterplan programmes of the first city stopped in the last year, one with the
    reason accepted by the assessor and one awaiting that word (in place, for the tests)."""
    last = YEARS[-1]
    candidates = [
        n
        for n, p in enumerate(progs)
        if p.kind == "masterplan" and p.start_year < last <= p.end_year and p.status_in(last - 1) is not None
    ]
    for n, accepted in zip(candidates[:2], (True, False), strict=True):
        p = progs[n]
        kept = tuple(s for s in p.statuses if s.year < last)
        stopped = ProgrammeStatus(
            last,
            "dihentikan",
            STOP_REASONS[0 if accepted else 2],
            reason_accepted=accepted,
            reason_decided=accepted,  # the other one waits for the assessor
        )
        progs[n] = Programme(
            p.code,
            p.name,
            p.pillar,
            p.kind,
            p.opd_code,
            p.start_year,
            p.end_year,
            p.indicator_codes,
            p.budgets,
            (*kept, stopped),
        )


# --------------------------------------------------------------------------- citizen impact surveys

SURVEY_QUESTIONS = (
    "Program ini memudahkan urusan saya",
    "Layanan program ini mudah diakses",
    "Saya puas dengan hasil program ini",
    "Program ini bermanfaat bagi lingkungan saya",
    "Saya akan menyarankan program ini kepada orang lain",
)
SURVEY_YEARS = YEARS[-3:]
SHORT_SURVEY = (CITIES[0].city_code, YEARS[-1])  # where one programme has fewer than 50 respondents


def surveys(
    registers: dict[str, list[Programme]], seed: int = 2024
) -> dict[tuple[str, int], list[SurveyProgramme]]:
    """Per city-year of SURVEY_YEARS: three running programmes per pillar surveyed, 50-150
    respondents each (one programme short of 50), 3-5 questions, means between 3.2 and 4.3
    (1-5 scale) rising a little each year. Only the aggregates, as an import stores them."""
    quality = city_quality()
    rng = random.Random(f"{seed}-surveys")
    out: dict[tuple[str, int], list[SurveyProgramme]] = {}
    for city in CITIES:
        for year in SURVEY_YEARS:
            questions = SURVEY_QUESTIONS[: rng.randint(3, 5)]
            results: list[SurveyProgramme] = []
            for pillar in dict.fromkeys(p.pillar.split(".")[0] for p in registers[city.city_code]):
                running = [
                    p
                    for p in registers[city.city_code]
                    if p.pillar.split(".")[0] == pillar
                    and (s := p.status_in(year)) is not None
                    and s.status in RUNNING_STATUSES
                ]
                for p in sorted(rng.sample(running, min(3, len(running))), key=lambda p: p.code):
                    short = (city.city_code, year) == SHORT_SURVEY and not any(
                        r.respondents < 50 for r in results
                    )
                    n = rng.randint(31, 46) if short else rng.randint(50, 150)
                    mean = min(
                        4.15,
                        max(
                            3.35,
                            3.6
                            + 0.3 * quality[city.city_code]
                            + 0.12 * (year - SURVEY_YEARS[0])
                            + rng.gauss(0, 0.2),
                        ),
                    )
                    qs = []
                    for q in questions:
                        answers = n - rng.randint(0, 3)
                        qs.append(
                            SurveyQuestion(
                                q, answers, float(round(answers * (mean + rng.uniform(-0.15, 0.15))))
                            )
                        )
                    results.append(
                        SurveyProgramme(
                            p.code,
                            n,
                            sum(q.answers for q in qs),
                            sum(q.answer_sum for q in qs),
                            p.opd_code,
                            tuple(qs),
                        )
                    )
            out[(city.city_code, year)] = results
    return out


def install(
    store: Storage, fw_path: Path = DEFAULT_FRAMEWORK_PATH, seed: int = 2024, password: str = DEMO_PASSWORD
) -> dict[str, object]:
    """Load the default framework and the demo registry, history and users into `store`, and
    mark it a demo database (the only kind where the published demo password is accepted)."""
    from metrics.governance import load_framework_text

    fw, seq = load_framework_text(store, SYSTEM, fw_path.read_text(encoding="utf-8"))
    cities, opds, subs, verifications, users = generate(fw, seed)
    registers = programme_registers(fw, opds, seed)
    survey_results = surveys(registers, seed)
    pw_hash = hash_password(password, demo_database=True)
    with store.transaction() as cur:
        store.upsert_cities(cur, cities)
        store.upsert_population(cur, populations())
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
        for case in NA_CASES:
            if case.decision is not None:
                store.add_na_decision(
                    cur, case.city, case.year, case.indicator, case.decision, case.note or "", "penilai"
                )
        kominfo = next(
            o.opd_code for o in opds if (o.city_code, o.opd_type) == (CITIES[0].city_code, "DISKOMINFO")
        )
        n_versions = _install_registers(store, cur, registers, kominfo)
        _install_interviews(store, cur, opds)
        for (city_code, year), results in survey_results.items():
            store.insert_survey(
                cur,
                city_code,
                year,
                results,
                planner_of(next(c for c in cities if c.city_code == city_code)),
                file_name=f"survei-dampak-{city_code}-{year}.xlsx",
                sha256=None,
                source="demo",
                n_rows=sum(r.respondents for r in results),
                mapping=None,
            )
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
            "programmes": sum(len(p) for p in registers.values()),
            "programme_versions": n_versions,
            "surveys": len(survey_results),
            "na_answers": len(NA_CASES),
            "users": [u.username for u in users],
            "seed": seed,
        }
        store.write_audit(cur, SYSTEM, "demo.install", "database", None, summary)
    return summary


def _install_registers(
    store: Storage, cur: Cursor, registers: dict[str, list[Programme]], kominfo: str
) -> int:
    """Every city's register as loaded by its planner; in the first city, a second version in
    which the Diskominfo operator reports a programme running in the last year (before that
    update the planner's file had it as planned; `kominfo` is its OPD code). The number of
    versions written."""
    first = CITIES[0]
    n = 0
    for city in CITIES:
        progs = registers[city.city_code]
        planner = planner_of(city)
        name = f"program-{city.city_code}.xlsx"
        if city is first:
            k = _status_update(progs, kominfo)
            p = progs[k]
            last = YEARS[-1]
            planned = ProgrammeStatus(last, "direncanakan")
            earlier = [
                *progs[:k],
                replace(p, statuses=(*(s for s in p.statuses if s.year != last), planned)),
                *progs[k + 1 :],
            ]
            store.insert_programme_version(cur, city.city_code, earlier, planner, "load", name)
            store.insert_programme_version(
                cur,
                city.city_code,
                progs,
                "opd.kominfo",
                "status",
                None,
                None,
                f"{p.code}: status {last} diperbarui",
            )
            n += 2
        else:
            store.insert_programme_version(cur, city.city_code, progs, planner, "load", name)
            n += 1
    return n


def _status_update(progs: list[Programme], owner: str) -> int:
    """The position of the first programme `owner` owns that runs in the last year."""
    last = YEARS[-1]
    return next(
        n
        for n, p in enumerate(progs)
        if p.opd_code == owner and (s := p.status_in(last)) is not None and s.status == "berjalan"
    )


# Interview sessions of the first city (issue 18): (local start, minutes, place, video link, OPD
# types, indicators, notes as (text, indicators discussed)), made by the assessor at fixed times.
DEMO_INTERVIEWS = (
    (
        datetime(2024, 8, 14, 9, 0),
        120,
        "Ruang Rapat Bappeda, Balai Kota Sukamaju",
        None,
        ("BAPPEDA", "DISKOMINFO"),
        ("GOV-01", "GOV-04"),
        (
            (
                "Masterplan sudah ditetapkan dengan Perwali; portal data terbuka belum memuat metadata.",
                ("GOV-01", "GOV-04"),
            ),
        ),
    ),
    (
        datetime(2024, 8, 15, 13, 30),
        90,
        None,
        "https://meet.example.id/sukamaju-dinkes",
        ("DINKES", "DISKOMINFO"),
        ("LIV-01", "LIV-05", "LIV-09"),
        (
            (
                "Integrasi SATUSEHAT baru di 4 dari 11 puskesmas; bukti telemedisin diminta menyusul.",
                ("LIV-01", "LIV-05"),
            ),
        ),
    ),
    (
        datetime(2025, 2, 20, 10, 0),
        60,
        "Mal Pelayanan Publik Sukamaju",
        "https://meet.example.id/sukamaju-dpmptsp",
        ("DPMPTSP", "DISKOMINFO"),
        ("GOV-03", "GOV-05"),
        (),
    ),
)


def _install_interviews(store: Storage, cur: Cursor, opds: list[Opd]) -> int:
    """The demo's interview sessions of the first city, with their notes; how many."""
    from metrics.interviews import SessionNote, notes_json

    city = CITIES[0].city_code
    code = {o.opd_type: o.opd_code for o in opds if o.city_code == city}
    for start, minutes, place, link, types, indicators, notes in DEMO_INTERVIEWS:
        made = datetime(start.year, start.month, 1, 2, 0)  # scheduled on the 1st at 09.00 WIB (naive UTC)
        # noted as the session ends (naive UTC: the city keeps WIB, UTC+7)
        noted = start + timedelta(minutes=minutes) - timedelta(hours=7)
        kept = [SessionNote(text, discussed, "penilai", noted) for text, discussed in notes]
        store.insert_interview(
            cur,
            city,
            start,
            minutes,
            place,
            link,
            [code[t] for t in types],
            indicators,
            notes_json(kept),
            "penilai",
            at=made,
        )
    return len(DEMO_INTERVIEWS)
