"""No personal data: the store holds aggregates only. A national ID (NIK) or family card (KK)
number, as a column or in any cell, refuses the whole file with a message saying why."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from tests.security.conftest import GOOD_ROW, HEAD, long_xlsx, reject, wb_bytes

NIK = "3273012345678901"
KK = "3273010101120003"


def _csv(header, row) -> bytes:
    return (",".join(header) + "\n" + ",".join("" if v is None else str(v) for v in row) + "\n").encode()


@pytest.mark.parametrize("column", ["nik", "NIK", "no_kk", "Nomor KK", "ktp"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_personal_column_refused(mini, fmt, column):
    header, row = HEAD + [column], list(GOOD_ROW) + ["x"]
    data = _csv(header, row) if fmt == "csv" else wb_bytes(long_xlsx(rows=[row], header=header))
    r = reject(mini, data, f"pribadi.{fmt}")
    p = next(p for p in r.problems if p.key == "file.personal_data")
    assert p.row == 1 and p.column in (column, "H")
    assert "NIK" in p.message("id") and "agregat" in p.message("id") and "aggregates only" in p.message("en")


@pytest.mark.parametrize(
    "value",
    [
        NIK,
        KK,
        f"NIK: {NIK}",
        "3273 0123 4567 8901",
        "3273.0123.4567.8901",
        int(NIK),
        "3201234567890123\u200b2024",
        "3201 - 2345 - 6789 - 0123",
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_personal_number_in_a_cell_refused(mini, fmt, value):
    row = list(GOOD_ROW)
    row[HEAD.index("note")] = value
    data = _csv(HEAD, row) if fmt == "csv" else wb_bytes(long_xlsx(rows=[row]))
    r = reject(mini, data, f"pribadi.{fmt}")
    (p,) = r.problems
    assert p.key == "file.personal_data" and p.row == 2
    assert p.column == ("note" if fmt == "csv" else "G")


def test_personal_number_in_the_template_refused(mini):
    from metrics.templates import build_template

    fw = loaded_frameworks(mini)[0][0]
    city = next(c for c in mini.cities() if c.city_code == "0101")
    wb = openpyxl.load_workbook(io.BytesIO(build_template(fw, city, mini.opd_map()[("0101", "01")], 2023)))
    wb["Penilaian"]["J11"] = 3
    wb["Penilaian"]["K11"] = f"Warga NIK {NIK}"
    r = reject(mini, wb_bytes(wb), "templat.xlsx")
    assert [(p.key, p.row, p.column) for p in r.problems] == [("file.personal_data", 11, "K")]


def test_ordinary_long_numbers_are_not_personal(mini):
    """Control: budget figures and 15-digit numbers pass, so the rule is not 'any big number'."""
    row = list(GOOD_ROW)
    row[HEAD.index("evidence")] = "Anggaran Rp 125000000000000 (15 digit)"
    assert ingest_bytes(mini, SYSTEM, _csv(HEAD, row), "ok.csv").accepted


# ----------------------------------------------------------------------- hostile round two
# Issue 14, point 8: each way a NIK slipped through, and more of the same kind. The detector
# before metrics/personal.py accepted and stored every value here (the float only as CSV text).
BYPASSES = {
    "space_then_year": "3201234567890123 2024",
    "two_niks_with_space": "3201234567890123 3273010101120003",
    "slash": "3201/2345/6789/0123",
    "underscore": "3201_2345_6789_0123",
    "comma": "3201,2345,6789,0123",
    "no_break_space": "3201\u00a02345\u00a06789\u00a00123",
    "zero_width_space": "3201\u200b2345\u200b6789\u200b0123",
    "thin_space": "3201\u20092345\u20096789\u20090123",
    "excel_text_comma": "3,20123456789012E+15",
    "excel_text_point": "3.20123456789012E+15",
    "excel_float_as_csv_text": 3.20123456789012e15,  # an xlsx number cell was already refused
    "word_joiner": "3201\u20602345\u20606789\u20600123",
    "soft_hyphen": "3201\u00ad2345\u00ad6789\u00ad0123",
    "superscript_digits": "³²⁰¹²³⁴⁵⁶⁷⁸⁹⁰¹²³",
    "struck_through": "".join(d + "\u0336" for d in "3201234567890123"),
    "grouped_then_year": "NIK 3201 2345 6789 0123 2024",
}


def _csv_rows(header, rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [header] + [["" if v is None else v for v in r] for r in rows]
    )
    return buf.getvalue().encode("utf-8")


@pytest.mark.parametrize("value", list(BYPASSES.values()), ids=list(BYPASSES))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_hidden_number_refused(mini, fmt, value):
    row = list(GOOD_ROW)
    row[HEAD.index("note")] = value
    data = _csv_rows(HEAD, [row]) if fmt == "csv" else wb_bytes(long_xlsx(rows=[row]))
    r = reject(mini, data, f"pribadi.{fmt}")
    assert [(p.key, p.row, p.column) for p in r.problems] == [
        ("file.personal_data", 2, "note" if fmt == "csv" else "G")
    ]


def test_every_hidden_number_named_by_row_and_column(mini):
    """One upload hiding a number in each row, alternately in evidence and note: one problem
    per cell, each naming its row and column, so the operator can find them all."""
    rows, want = [], []
    for n, value in enumerate(BYPASSES.values()):
        row = ["0101", "01", 2023, "G1", 3, "Perwali 12/2023", None]
        col = "evidence" if n % 2 else "note"
        row[HEAD.index(col)] = value
        rows.append(row)
        want.append(("file.personal_data", n + 2, col))
    r = reject(mini, _csv_rows(HEAD, rows), "banyak.csv")
    personal = [(p.key, p.row, p.column) for p in r.problems if p.key == "file.personal_data"]
    assert personal == want[:20]  # the scan stops at 20
    # listed together with the file's other problems (every row repeats G1), all in one pass
    assert {p.key for p in r.problems} == {"file.personal_data", "cell.duplicate_row"}


@pytest.mark.parametrize("key", ["space_then_year", "zero_width_space", "excel_text_comma"])
def test_hidden_number_in_the_template_refused(mini, key):
    from metrics.templates import build_template

    fw = loaded_frameworks(mini)[0][0]
    city = next(c for c in mini.cities() if c.city_code == "0101")
    wb = openpyxl.load_workbook(io.BytesIO(build_template(fw, city, mini.opd_map()[("0101", "01")], 2023)))
    wb["Penilaian"]["J11"] = 3
    wb["Penilaian"]["K11"] = f"Bantuan warga a.n. Budi, NIK {BYPASSES[key]}"
    r = reject(mini, wb_bytes(wb), "templat.xlsx")
    assert [(p.key, p.row, p.column) for p in r.problems] == [("file.personal_data", 11, "K")]


def test_fuzz_generator_variants_refused_where_planted(mini):
    """tools/fuzz.py's NIK generator: every style, planted in a data cell of every seed file
    (template, long xlsx, both CSVs, the service-metric CSV), is refused naming that cell."""
    import random

    from tools import fuzz

    seeds = fuzz.seed_files(mini)
    rng = random.Random(2024)
    names = sorted(seeds)
    styles = sorted(fuzz.NIK_STYLES)
    for k, style in enumerate(styles * 2):
        name = names[k % len(names)]
        data, row, col, _ = fuzz.plant_nik(
            rng, seeds[name], "xlsx" if name.endswith(".xlsx") else "csv", style
        )
        r = ingest_bytes(mini, SYSTEM, data, name)
        assert [(p.key, p.row, p.column) for p in r.problems] == [("file.personal_data", row, col)], (
            style,
            name,
        )


# Realistic evidence and note text from OPD uploads: regulation and decree numbers, dates, phone
# numbers, tax and business numbers, budgets, addresses on the network, statistics.
EVIDENCE_TEXT = (
    "Peraturan Wali Kota Nomor 12 Tahun 2023 tentang Smart City",
    "Keputusan Wali Kota Nomor 188.45/123/2024",
    "SK Kepala Dinas No. 800/1234/435.7/2024",
    "Perda Kota Bandung No. 4 Tahun 2022",
    "Surat Edaran Nomor 050/2345/Bappeda/2023",
    "Nota Dinas 005/178/DISKOMINFO/XII/2023",
    "Perwal No. 12 Tahun 2023",
    "Keputusan Menteri PANRB Nomor 1234 Tahun 2024",
    "Nomor: 100.3.3.2/1234/SJ tanggal 05/12/2026",
    "SK No. 188.45/Kep.1234-Diskominfo/2024",
    "Perpres 95/2018 tentang SPBE; Permen PANRB 59/2020",
    "Instruksi Wali Kota Nomor 3 Tahun 2021 jo. Nomor 7 Tahun 2022",
    "UU 23/2014, PP 18/2016, Permendagri 90/2019",
    "Nomor 027/3456/PBJ/2024 Tanggal 15 Maret 2024",
    "Kode rekening 5.1.02.01.01.0024",
    "Nomor register 400.10.2.2/2024/0012345",
    "Terlampir SK 188.45/Kep.567-Huk/2024 dan 188.45/Kep.568-Huk/2024",
    "Rapat evaluasi 05/12/2026 pukul 09.00 WIB",
    "Periode 01-01-2024 s.d. 31-12-2024",
    "Masa berlaku 12/01/2024 - 31/12/2024",
    "Renstra 2021-2026, RKPD 2024-2025",
    "Tahun anggaran 2023/2024",
    "Diunggah 2024-01-15T10:30:00+07:00",
    "Data tahun 2021 2022 2023 2024",
    "Dilaksanakan 17 Agustus 2024 dan 28 Oktober 2024",
    "Call center 112, pengaduan +62 812-3456-7890",
    "WA 0812 3456 7890",
    "Telp. (022) 4230393, faks (022) 4230394",
    "Hotline 0811-2345-6789 / 0813-9876-5432",
    "Hotline 0811-2345-6789/0813-9876-5432",
    "NPWP 01.234.567.8-901.000",
    "NPWP Pemda 00.123.456.7-123.000",
    "NPWP16 badan 0012345678901000",
    "NIB 9120001234567",
    "Kode SKPD 1.02.0.00.0.00.01.0000",
    "ISBN 978-602-1234-56-7",
    "Nomor kontrak 027/SPK/PPK-DISKOMINFO/2024",
    "Anggaran Rp 1.250.000.000 (APBD 2024)",
    "Realisasi Rp 987.654.321.000 dari pagu Rp 1.000.000.000.000",
    "Belanja modal Rp 1.234.567.890.123",
    "Anggaran Rp 125000000000000 (15 digit)",
    "Nilai kontrak Rp1.250.000.000,00",
    "Rp 12.500.000 x 12 bulan = Rp 150.000.000",
    "PAD 2023: Rp 2.345.678.901.234,56",
    "APBD DKI Rp 81.700.000.000.000",
    "Server 192.168.100.200, cadangan 10.20.30.40",
    "https://data.kota1.go.id/laporan/123456789012",
    "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456/view",
    "https://jdih.bandung.go.id/dokumen/2024/12/05/perwal-12-2023.pdf",
    "https://sipd.kemendagri.go.id/?id=20240115123456",
    "Tiket layanan #20240115-000123",
    "Jumlah penduduk 2.530.000 jiwa, 1.234.567 KK",
    "Luas wilayah 167,67 km²; kepadatan 15.000 jiwa/km²",
    "Cakupan 98,5% (2023) naik dari 95,2% (2022)",
    "1.234 dari 1.500 pegawai (82,3%) sudah terlatih",
    "Versi aplikasi 2.14.3 build 20240115",
    "Koordinat -6.914744, 107.609810",
    "Kode wilayah 32.73.01.1001",
    "Kode pos 40111, RT 003/RW 005",
    "Sertifikat ISO 27001:2013 No. 123456789",
    "Indeks SPBE 3,45 (2023) dan 3,62 (2024)",
    "Rekening Bank BJB 0012345678901",
    "Virtual account 8808 1234 5678",
    "Rapat 10:30–12:00 WIB, 15–16 Mei 2024",
    "Laporan triwulan I–IV 2024 (Jan–Des)",
)


def test_false_positive_rate_on_realistic_evidence(mini):
    """Measured false-positive rate: 0 of 65 realistic evidence texts refused. (The detector
    before metrics/personal.py refused 2 of them: four years in a row, and an agency's 16-digit
    NPWP, which starts with 0 as no NIK does.) Through a real upload too: every text, in the
    evidence or note cell of a CSV, is accepted."""
    from metrics.personal import looks_personal

    assert len(EVIDENCE_TEXT) >= 50
    flagged = [s for s in EVIDENCE_TEXT if looks_personal(s)]
    assert len(flagged) / len(EVIDENCE_TEXT) == 0.0, flagged
    for k in range(0, len(EVIDENCE_TEXT), 2):
        row = list(GOOD_ROW)
        row[HEAD.index("evidence")] = EVIDENCE_TEXT[k]
        row[HEAD.index("note")] = EVIDENCE_TEXT[k + 1] if k + 1 < len(EVIDENCE_TEXT) else None
        r = ingest_bytes(mini, SYSTEM, _csv_rows(HEAD, [row]), f"bukti{k}.csv")
        assert r.accepted, (EVIDENCE_TEXT[k : k + 2], r.to_dict("en"))


# ------------------------------------------------------------------- prefilter vs exact rule
# The sheet-wide RE2 prefilter decides whether the exact rule runs at all, so it must never say
# no where the exact rule says yes. Text built from digits, every kind of separator, invisible
# and look-alike characters, exponents and cell breaks, where the two could disagree.
_ALPHABET = list("0123456789012345678901234567890123456789 .,-/_'|:;eE+xA") + [
    "\u00a0",
    "\u2009",
    "\u202f",
    "\u3000",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u0336",
    "\u2013",
    "\t",
    "\n",
    "٣",
    "３",
    "²",
    "⑳",
    "\x00",
    "\x1f",
    "é",
]
_digit_text = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=60)
_cell = st.one_of(
    _digit_text,
    st.text(max_size=40),
    st.integers(10**14, 10**17),
    st.floats(1e14, 1e17),
    st.integers(10**14, 10**17).map(str),
    st.floats(1e14, 1e17).map(str),
)


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(_cell, min_size=1, max_size=6))
def test_prefilter_finds_whatever_the_exact_rule_flags(cells):
    from metrics.personal import find_personal, looks_personal, may_hold_personal

    def exact(v) -> bool:  # looks_personal itself asks the prefilter first about text
        return find_personal(v) is not None if isinstance(v, str) else looks_personal(v)

    if any(exact(c) for c in cells):
        assert may_hold_personal("\x00".join(map(str, cells)))  # as ingest's sheet-wide scan builds it
    for c in cells:
        if exact(c):
            assert may_hold_personal(str(c))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    word=st.sampled_from(["NIK ", "KK: ", "warga ", "no. ktp=", "("]),
)
def test_a_realistic_nik_in_any_style_and_context_is_found(seed, before, after, word):
    import random

    from metrics.personal import looks_personal
    from tools import fuzz

    style, value = fuzz.nik_bypass(random.Random(seed))
    if not isinstance(value, str):
        assert looks_personal(value), style
        return
    # the text around it is kept apart by a word: digits touching the number would make it
    # another, longer number
    assert looks_personal(f"{before} {word}{value} catatan {after}"), (style, value)
