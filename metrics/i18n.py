"""Bilingual message catalogue for everything the core says to a person.

Indonesian is the default because the people who read these messages are OPD operators;
English is kept alongside so assessors and outside reviewers get the same text. Messages
are looked up by key at display time, so a stored or returned problem can be shown in
either language.
"""

from __future__ import annotations

DEFAULT_LANG = "id"
LANGS = ("id", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # --- file-level problems -------------------------------------------------------
    "file.empty": {"id": "Berkas kosong.", "en": "The file is empty."},
    "file.too_large": {
        "id": "Berkas terlalu besar ({size} byte; batas {limit} byte).",
        "en": "The file is too large ({size} bytes; limit {limit} bytes).",
    },
    "file.unknown_type": {
        "id": "Jenis berkas tidak dikenali: hanya .xlsx dan .csv (UTF-8) yang diterima.",
        "en": "Unrecognised file type: only .xlsx and .csv (UTF-8) are accepted.",
    },
    "file.not_utf8": {
        "id": "CSV bukan UTF-8 (byte tidak valid pada posisi {pos}). Simpan ulang sebagai 'CSV UTF-8'.",
        "en": "The CSV is not UTF-8 (invalid byte at position {pos}). Save it again as 'CSV UTF-8'.",
    },
    "file.csv_one_column": {
        "id": "CSV hanya terbaca satu kolom: pemisah harus koma (,) atau titik koma (;).",
        "en": "The CSV reads as a single column: the delimiter must be a comma (,) or semicolon (;).",
    },
    "file.csv_malformed": {
        "id": "CSV tidak dapat dibaca: {detail}.",
        "en": "The CSV cannot be read: {detail}.",
    },
    "file.unknown_kind": {
        "id": "Kolom tidak dikenali. Penilaian mandiri memerlukan {assess}; metrik layanan memerlukan {metric}.",
        "en": "Unrecognised columns. A self-assessment needs {assess}; a service metric needs {metric}.",
    },
    "file.zip_bad": {
        "id": "Berkas .xlsx rusak atau bukan arsip yang sah ({detail}).",
        "en": "The .xlsx file is damaged or not a valid archive ({detail}).",
    },
    "file.zip_entries": {
        "id": "Berkas .xlsx berisi {n} entri; batas {limit}.",
        "en": "The .xlsx file holds {n} entries; the limit is {limit}.",
    },
    "file.zip_size": {
        "id": "Isi .xlsx jika dibuka berukuran {size} byte; batas {limit} byte.",
        "en": "The .xlsx unpacks to {size} bytes; the limit is {limit} bytes.",
    },
    "file.zip_ratio": {
        "id": "Rasio kompresi .xlsx mencurigakan ({ratio}:1; batas {limit}:1).",
        "en": "The .xlsx compression ratio is suspicious ({ratio}:1; limit {limit}:1).",
    },
    "file.xml_dtd": {
        "id": "Bagian '{part}' berisi deklarasi DTD/entitas, yang tidak diizinkan demi keamanan.",
        "en": "Part '{part}' contains a DTD/entity declaration, which is refused for safety.",
    },
    "file.xml_bad": {
        "id": "Struktur .xlsx tidak sah: {detail}.",
        "en": "Invalid .xlsx structure: {detail}.",
    },
    "file.too_many_rows": {
        "id": "Terlalu banyak baris ({n}; batas {limit}).",
        "en": "Too many rows ({n}; limit {limit}).",
    },
    "file.too_many_cols": {
        "id": "Terlalu banyak kolom ({n}; batas {limit}).",
        "en": "Too many columns ({n}; limit {limit}).",
    },
    "file.no_rows": {
        "id": "Tidak ada baris data yang terisi.",
        "en": "No data rows are filled in.",
    },
    "file.personal_data": {
        "id": "Sel tampak berisi NIK atau nomor KK (16 digit). Sistem ini hanya menyimpan data agregat; hapus data pribadi lalu unggah ulang.",
        "en": "The cell looks like a national ID (NIK) or family card (KK) number (16 digits). This system stores aggregates only; remove personal data and upload again.",
    },
    # --- workbook structure ---------------------------------------------------------
    "xlsx.no_sheet": {
        "id": "Lembar '{sheet}' tidak ditemukan; gunakan templat yang diunduh dari aplikasi.",
        "en": "Sheet '{sheet}' not found; use the template downloaded from the application.",
    },
    "xlsx.hidden_sheet": {
        "id": "Lembar tersembunyi '{name}' tidak diharapkan pada templat.",
        "en": "Unexpected hidden sheet '{name}' in the template.",
    },
    "xlsx.formula": {
        "id": "Sel berisi rumus; isi dengan nilai, bukan rumus.",
        "en": "The cell holds a formula; enter a value, not a formula.",
    },
    "xlsx.error_cell": {
        "id": "Sel berisi galat Excel ({value}).",
        "en": "The cell holds an Excel error ({value}).",
    },
    "xlsx.merged": {
        "id": "Sel gabungan ({ref}) tidak diizinkan di area data.",
        "en": "Merged cells ({ref}) are not allowed in the data area.",
    },
    "xlsx.info_missing": {
        "id": "Blok info templat tidak lengkap: '{field}' kosong.",
        "en": "The template info block is incomplete: '{field}' is empty.",
    },
    "xlsx.header": {
        "id": "Judul kolom seharusnya '{expected}', tertulis '{found}'.",
        "en": "The column header should be '{expected}', found '{found}'.",
    },
    "xlsx.framework_mismatch": {
        "id": "Templat dibuat untuk kerangka '{found}', sedangkan tahun {year} memakai '{expected}'. Unduh templat baru.",
        "en": "The template was made for framework '{found}', but year {year} uses '{expected}'. Download a new template.",
    },
    # --- row/cell problems -------------------------------------------------------------
    "col.missing": {
        "id": "Kolom wajib '{column}' tidak ada.",
        "en": "Required column '{column}' is missing.",
    },
    "col.duplicate": {
        "id": "Kolom '{column}' muncul lebih dari sekali.",
        "en": "Column '{column}' appears more than once.",
    },
    "col.unknown": {
        "id": "Kolom '{column}' tidak dikenal; kolom yang diterima: {allowed}.",
        "en": "Unknown column '{column}'; accepted columns: {allowed}.",
    },
    "cell.required": {"id": "Wajib diisi.", "en": "Required."},
    "cell.unknown_city": {
        "id": "Kode kota '{value}' tidak terdaftar.",
        "en": "City code '{value}' is not registered.",
    },
    "cell.unknown_opd": {
        "id": "OPD '{value}' tidak terdaftar untuk kota {city}.",
        "en": "OPD '{value}' is not registered for city {city}.",
    },
    "cell.unknown_indicator": {
        "id": "Indikator '{value}' tidak ada dalam kerangka {framework}.",
        "en": "Indicator '{value}' is not in framework {framework}.",
    },
    "cell.not_responsible": {
        "id": "OPD {opd} (jenis {opd_type}) tidak bertanggung jawab atas indikator {value}.",
        "en": "OPD {opd} (type {opd_type}) is not responsible for indicator {value}.",
    },
    "cell.unknown_metric": {
        "id": "Kode metrik '{value}' tidak ada dalam kerangka {framework}.",
        "en": "Metric code '{value}' is not in framework {framework}.",
    },
    "cell.year": {
        "id": "Tahun '{value}' tidak sah (harus bilangan bulat 4 digit).",
        "en": "Year '{value}' is invalid (must be a 4-digit integer).",
    },
    "cell.no_framework": {
        "id": "Tidak ada kerangka penilaian yang berlaku untuk tahun {value}.",
        "en": "No assessment framework applies to year {value}.",
    },
    "cell.period": {
        "id": "Periode '{value}' tidak sah (format YYYY atau YYYY-MM).",
        "en": "Period '{value}' is invalid (format YYYY or YYYY-MM).",
    },
    "cell.level_decimal_comma": {
        "id": "Level '{value}' memakai koma desimal; level harus bilangan bulat {min}–{max}.",
        "en": "Level '{value}' uses a decimal comma; the level must be a whole number {min}–{max}.",
    },
    "cell.level_not_int": {
        "id": "Level '{value}' bukan bilangan bulat {min}–{max}.",
        "en": "Level '{value}' is not a whole number {min}–{max}.",
    },
    "cell.level_range": {
        "id": "Level {value} di luar skala {min}–{max}.",
        "en": "Level {value} is outside the scale {min}–{max}.",
    },
    "cell.boolean": {
        "id": "Nilai benar/salah (TRUE/FALSE) tidak diterima di sini.",
        "en": "A true/false value is not accepted here.",
    },
    "cell.not_number": {
        "id": "Nilai '{value}' bukan angka (gunakan titik sebagai pemisah desimal).",
        "en": "Value '{value}' is not a number (use a point as the decimal separator).",
    },
    "cell.level_missing_with_text": {
        "id": "Bukti/catatan terisi tetapi level kosong.",
        "en": "Evidence/note is filled but the level is empty.",
    },
    "cell.duplicate_row": {
        "id": "Duplikat: {what} sudah ada di baris {first}.",
        "en": "Duplicate: {what} already appears on row {first}.",
    },
    "cell.text_too_long": {
        "id": "Teks terlalu panjang ({n} karakter; batas {limit}).",
        "en": "Text too long ({n} characters; limit {limit}).",
    },
    # --- permissions and periods ------------------------------------------------------
    "perm.denied": {
        "id": "Akses ditolak: peran '{role}' tidak boleh melakukan '{action}'{scope}.",
        "en": "Access denied: role '{role}' may not perform '{action}'{scope}.",
    },
    "period.closed": {
        "id": "Periode {year} untuk kota {city} sudah ditutup; hubungi admin Diskominfo.",
        "en": "The {year} period for city {city} is closed; contact the Diskominfo admin.",
    },
    "period.locked": {
        "id": "Periode {year} untuk kota {city} sudah dikunci (final); tidak ada level yang dapat diubah.",
        "en": "The {year} period for city {city} is locked (final); no level can change.",
    },
    # --- framework loading --------------------------------------------------------------
    "fw.invalid": {
        "id": "Kerangka tidak sah pada '{key}': {detail}",
        "en": "Invalid framework at '{key}': {detail}",
    },
    "registry.invalid": {
        "id": "Registri tidak sah ({file}, baris {row}, kolom {column}): {detail}",
        "en": "Invalid registry ({file}, row {row}, column {column}): {detail}",
    },
    # --- users ---------------------------------------------------------------------
    "user.password_short": {
        "id": "Kata sandi minimal {n} karakter.",
        "en": "The password must have at least {n} characters.",
    },
    "user.password_long": {
        "id": "Kata sandi maksimal {n} karakter.",
        "en": "The password may have at most {n} characters.",
    },
    "user.password_common": {
        "id": "Kata sandi ini terlalu umum; pilih yang lain.",
        "en": "This password is too common; choose another.",
    },
    "user.exists": {"id": "Pengguna '{name}' sudah ada.", "en": "User '{name}' already exists."},
    "user.unknown": {"id": "Pengguna '{name}' tidak ada.", "en": "User '{name}' does not exist."},
    "user.bad_role": {
        "id": "Peran '{role}' tidak dikenal.",
        "en": "Unknown role '{role}'.",
    },
    "user.opd_needs_scope": {
        "id": "Pengguna berperan opd harus memiliki kota dan OPD.",
        "en": "A user with role opd needs a city and an OPD.",
    },
    "user.bad_name": {
        "id": "Nama pengguna hanya boleh huruf kecil, angka, titik, garis bawah, atau tanda hubung (3–64).",
        "en": "A username may use only lowercase letters, digits, dot, underscore or hyphen (3–64).",
    },
    "login.failed": {
        "id": "Nama pengguna atau kata sandi salah.",
        "en": "Wrong username or password.",
    },
    "login.locked": {
        "id": "Akun terkunci sementara karena terlalu banyak percobaan gagal. Coba lagi setelah {until}.",
        "en": "The account is temporarily locked after too many failed attempts. Try again after {until}.",
    },
    "login.disabled": {"id": "Akun dinonaktifkan.", "en": "The account is disabled."},
    # --- backups ----------------------------------------------------------------------
    "backup.checksum": {
        "id": "Cadangan rusak: checksum tidak cocok untuk '{name}'.",
        "en": "The backup is damaged: checksum mismatch for '{name}'.",
    },
    "backup.bad": {"id": "Berkas cadangan tidak sah: {detail}.", "en": "Invalid backup file: {detail}."},
}


def t(key: str, lang: str = DEFAULT_LANG, /, **params: object) -> str:
    """Message `key` in `lang`, formatted with `params`; unknown keys fail loudly in tests."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**params) if params else text


def pick(label: dict[str, str] | None, lang: str = DEFAULT_LANG) -> str:
    """Choose the `lang` text of a bilingual label from the framework, falling back to Indonesian."""
    if not label:
        return ""
    return label.get(lang) or label.get(DEFAULT_LANG) or next(iter(label.values()), "")
