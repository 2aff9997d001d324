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
        "id": "Berkas .xlsx/.ods rusak atau bukan arsip yang sah ({detail}).",
        "en": "The .xlsx/.ods file is damaged or not a valid archive ({detail}).",
    },
    "file.zip_entries": {
        "id": "Berkas .xlsx/.ods berisi {n} entri; batas {limit}.",
        "en": "The .xlsx/.ods file holds {n} entries; the limit is {limit}.",
    },
    "file.zip_size": {
        "id": "Isi .xlsx/.ods jika dibuka berukuran {size} byte; batas {limit} byte.",
        "en": "The .xlsx/.ods unpacks to {size} bytes; the limit is {limit} bytes.",
    },
    "file.zip_ratio": {
        "id": "Rasio kompresi .xlsx/.ods mencurigakan ({ratio}:1; batas {limit}:1).",
        "en": "The .xlsx/.ods compression ratio is suspicious ({ratio}:1; limit {limit}:1).",
    },
    "file.xml_dtd": {
        "id": "Bagian '{part}' berisi deklarasi DTD/entitas, yang tidak diizinkan demi keamanan.",
        "en": "Part '{part}' contains a DTD/entity declaration, which is refused for safety.",
    },
    "file.xml_bad": {
        "id": "Struktur .xlsx/.ods tidak sah: {detail}.",
        "en": "Invalid .xlsx/.ods structure: {detail}.",
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
    "file.csv_ambiguous": {
        "id": "Pemisah CSV tidak jelas: judul terbaca {comma} kolom dengan koma dan {semicolon} kolom dengan titik koma. Gunakan satu jenis pemisah saja.",
        "en": "The CSV delimiter is ambiguous: the header reads as {comma} columns with commas and {semicolon} with semicolons. Use one delimiter only.",
    },
    "file.csv_row_width": {
        "id": "Baris berisi {n} nilai, padahal judul hanya {m} kolom (koma desimal atau koma tanpa tanda kutip?).",
        "en": "The row holds {n} values but the header has only {m} columns (a decimal comma or an unquoted comma?).",
    },
    "file.xml_encoding": {
        "id": "Bagian '{part}' memakai pengodean {encoding}; hanya UTF-8 yang diterima.",
        "en": "Part '{part}' uses the {encoding} encoding; only UTF-8 is accepted.",
    },
    "file.not_spreadsheet": {
        "id": "Berkas ini bukan lembar kerja .xlsx, .ods atau CSV (terbaca sebagai: {what}). Unggah templat .xlsx yang diunduh dari aplikasi, atau simpan data sebagai .xlsx / CSV UTF-8.",
        "en": "This file is not an .xlsx or .ods workbook or a CSV (it reads as: {what}). Upload the .xlsx template downloaded from the application, or save the data as .xlsx / UTF-8 CSV.",
    },
    "file.old_excel": {
        "id": "Berkas ini berformat lama Excel 97–2003 (.xls) atau Office 97–2003 lainnya, yang tidak diterima karena tidak dapat diperiksa dengan aman. Buka berkas di Excel atau LibreOffice Calc, pilih Simpan Sebagai → 'Buku Kerja Excel (.xlsx)', lalu unggah berkas .xlsx tersebut.",
        "en": "This file is in the old Excel 97–2003 (.xls) or another Office 97–2003 format, which is refused because it cannot be checked safely. Open it in Excel or LibreOffice Calc, choose Save As → 'Excel Workbook (.xlsx)', and upload that .xlsx file.",
    },
    "file.not_found": {
        "id": "Berkas tidak ditemukan: {path}.",
        "en": "File not found: {path}.",
    },
    "file.unreadable": {
        "id": "Berkas tidak dapat dibuka: {detail}.",
        "en": "The file cannot be opened: {detail}.",
    },
    "file.package_ambiguous": {
        "id": "Struktur .xlsx/.ods ambigu sehingga tidak dapat dibaca dengan aman ({detail}). Buka berkas di Excel atau LibreOffice, simpan ulang sebagai .xlsx, lalu unggah lagi.",
        "en": "The .xlsx/.ods structure is ambiguous, so it cannot be read safely ({detail}). Open the file in Excel or LibreOffice, save it again as .xlsx and upload it again.",
    },
    "file.active.macro": {
        "id": "Berkas berisi makro (VBA/Basic) ({part}). Makro tidak diterima: simpan sebagai 'Buku Kerja Excel (.xlsx)' tanpa makro, lalu unggah lagi.",
        "en": "The file contains macros (VBA/Basic) ({part}). Macros are refused: save it as 'Excel Workbook (.xlsx)' without macros and upload it again.",
    },
    "file.active.external_link": {
        "id": "Berkas berisi tautan ke buku kerja lain ({part}). Tautan eksternal tidak diterima: salin nilainya (Tempel Nilai) lalu hapus tautannya.",
        "en": "The file links to another workbook ({part}). External links are refused: paste the values (Paste Values) and remove the link.",
    },
    "file.active.ole_object": {
        "id": "Berkas berisi objek atau berkas tertanam ({part}). Hapus objek tersebut lalu unggah lagi.",
        "en": "The file contains an embedded object or file ({part}). Remove it and upload again.",
    },
    "file.active.activex": {
        "id": "Berkas berisi kontrol ActiveX atau kontrol formulir ({part}). Hapus kontrol tersebut lalu unggah lagi.",
        "en": "The file contains ActiveX or form controls ({part}). Remove them and upload again.",
    },
    "file.too_many_strings": {
        "id": "Tabel teks bersama (sharedStrings) berisi terlalu banyak entri ({n}; batas {limit}).",
        "en": "The shared-strings table holds too many entries ({n}; limit {limit}).",
    },
    "file.reader_crashed": {
        "id": "Lembar tidak dapat dibaca dengan aman: pembaca lembar kerja berhenti ({detail}). Berkas ditolak; simpan ulang dari Excel atau LibreOffice lalu unggah lagi.",
        "en": "The sheet cannot be read safely: the spreadsheet reader stopped ({detail}). The file is refused; save it again from Excel or LibreOffice and upload it again.",
    },
    "xlsx.not_worksheet": {
        "id": "Lembar '{name}' bukan lembar kerja biasa ({type}); hapus lembar itu lalu unggah lagi.",
        "en": "Sheet '{name}' is not an ordinary worksheet ({type}); remove it and upload again.",
    },
    "file.too_many_cells": {
        "id": "Lembar berisi terlalu banyak sel (batas {limit}).",
        "en": "The sheet holds too many cells (limit {limit}).",
    },
    "xlsx.stray_cell": {
        "id": "Sel di luar kolom templat (kolom terakhir {last}) berisi nilai yang tidak akan dibaca; kosongkan atau pindahkan.",
        "en": "A cell beyond the template's columns (last column {last}) holds a value that would not be read; clear or move it.",
    },
    "file.personal_data": {
        "id": "Sel tampak berisi NIK atau nomor KK (16 digit). Sistem ini hanya menyimpan data agregat; hapus data pribadi lalu unggah ulang.",
        "en": "The cell looks like a national ID (NIK) or family card (KK) number (16 digits). This system stores aggregates only; remove personal data and upload again.",
    },
    "file.drops_answers": {
        "id": "Berkas ini akan menghapus {n} jawaban dari versi yang berlaku (berkas tidak memuatnya); belum ada yang disimpan. Pilih gabungkan (jawaban baru di atas versi yang berlaku) atau ganti (berkas menjadi seluruh jawaban).",
        "en": "This file would drop {n} answers from the version in force (the file lacks them); nothing was stored. Choose merge (the new answers on top of the version in force) or replace (the file becomes the whole answer set).",
    },
    "cli.accepted": {"id": "diterima", "en": "accepted"},
    "cli.rejected": {"id": "ditolak", "en": "rejected"},
    "cli.ingest_summary": {
        "id": "Selesai: {files} berkas, {accepted} diterima, {rejected} ditolak, {versions} versi baru, {seconds} detik.",
        "en": "Done: {files} files, {accepted} accepted, {rejected} rejected, {versions} new versions, {seconds} s.",
    },
    "cli.ingest_not_stored": {
        "id": "{n} berkas tidak tersimpan (penulisan ke basis data gagal).",
        "en": "{n} files not stored (the database write failed).",
    },
    "cli.ingest_log": {
        "id": "Baris per berkas: {path}",
        "en": "Per-file lines: {path}",
    },
    "cli.choose_mode": {
        "id": "Jalankan lagi dengan --mode merge (gabungkan dengan versi yang berlaku) atau --mode replace (ganti seluruhnya).",
        "en": "Run again with --mode merge (merge with the version in force) or --mode replace (replace it whole).",
    },
    "file.other_opd": {
        "id": "Berkas ini dibuat untuk OPD {opd} · {name} (kota {city}), bukan untuk OPD Anda ({own}). Unduh templat OPD Anda sendiri lalu isi di sana.",
        "en": "This file was made for OPD {opd} · {name} (city {city}), not for your OPD ({own}). Download your own OPD's template and fill it in.",
    },
    "file.template_as_csv": {
        "id": "Berkas ini adalah templat penilaian yang disimpan sebagai CSV. Unggah templat dalam format .xlsx (Simpan sebagai 'Buku Kerja Excel (.xlsx)'), bukan CSV.",
        "en": "This file is the assessment template saved as CSV. Upload the template as .xlsx (Save as 'Excel Workbook (.xlsx)'), not as CSV.",
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
    "assign.unknown_indicator": {
        "id": "Indikator '{value}' tidak ada dalam kerangka penilaian.",
        "en": "Indicator '{value}' is not in the framework.",
    },
    "assign.not_of_city": {
        "id": "OPD '{opd}' tidak terdaftar di kota/kabupaten {city}.",
        "en": "OPD '{opd}' is not registered in city {city}.",
    },
    "assign.answerable": {
        "id": "Indikator {value} sudah dijawab oleh OPD dengan jenis yang ditetapkan di {city}; penugasan hanya untuk indikator yang tidak dapat dijawab siapa pun.",
        "en": "Indicator {value} already has an OPD of a responsible type in {city}; assignment is only for indicators nobody can answer.",
    },
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
    # --- deadlines, overdue list, reminders, assignments (issue 15) -------------------------
    "deadline.bad_date": {
        "id": "Tanggal '{value}' untuk {field} tidak sah; gunakan format TTTT-BB-HH.",
        "en": "Date '{value}' for {field} is not valid; use YYYY-MM-DD.",
    },
    "deadline.order": {
        "id": "Batas verifikasi ({verify_due}) tidak boleh sebelum batas penilaian mandiri ({self_due}).",
        "en": "The verification deadline ({verify_due}) cannot be before the self-assessment deadline "
              "({self_due}).",
    },
    "assign.not_orphan": {
        "id": "Indikator {indicator} sudah dijawab oleh OPD berjenis penanggung jawab di kota {city}; "
              "penugasan hanya untuk indikator tanpa OPD penanggung jawab.",
        "en": "Indicator {indicator} already has an OPD of the responsible type in city {city}; an "
              "assignment is only for an indicator with no responsible OPD.",
    },
    "overdue.col.opd": {"id": "OPD", "en": "OPD"},
    "overdue.col.head": {"id": "Kepala OPD", "en": "Head of OPD"},
    "overdue.col.answered": {"id": "Dijawab", "en": "Answered"},
    "overdue.col.missing": {"id": "Indikator belum dijawab", "en": "Indicators not answered"},
    "overdue.col.days": {"id": "Hari terlambat", "en": "Days overdue"},
    "overdue.sheet": {"id": "Tunggakan", "en": "Overdue"},
    "overdue.title": {"id": "Daftar Tunggakan Penilaian Mandiri — {city} {year}",
                      "en": "Overdue Self-Assessments — {city} {year}"},
    "overdue.intro": {
        "id": "Batas penilaian mandiri: {due}. Per {today}, {n} dari {total} OPD penanggung jawab belum "
              "menjawab semua indikatornya.",
        "en": "Self-assessment deadline: {due}. As of {today}, {n} of {total} responsible OPDs have not "
              "answered all their indicators.",
    },
    "overdue.none": {"id": "Tidak ada OPD yang menunggak.", "en": "No OPD is overdue."},
    "overdue.footer": {"id": "Indeks Kota Cerdas · kerangka {fw} · dibuat {date}",
                       "en": "Indeks Kota Cerdas · framework {fw} · made {date}"},
    "remind.before_subject": {
        "id": "Pengingat: penilaian mandiri {year} jatuh tempo {due} ({n} hari lagi)",
        "en": "Reminder: the {year} self-assessment is due {due} ({n} days left)",
    },
    "remind.before_body": {
        "id": "Yth. {opd} ({city}),\n\nPenilaian mandiri Indeks Kota Cerdas tahun {year} jatuh tempo pada {due} "
              "({n} hari lagi). Saat ini {answered} dari {pairs} indikator sudah dijawab.\n"
              "Belum dijawab: {missing}\n\nSilakan masuk ke dasbor dan unggah isian Anda.\n",
        "en": "Dear {opd} ({city}),\n\nThe {year} Smart City Index self-assessment is due on {due} "
              "({n} days left). {answered} of {pairs} indicators are answered so far.\n"
              "Not answered: {missing}\n\nPlease sign in to the dashboard and upload your answers.\n",
    },
    "remind.after_subject": {
        "id": "Terlambat {n} hari: penilaian mandiri {year} (batas {due})",
        "en": "{n} days overdue: the {year} self-assessment (due {due})",
    },
    "remind.after_body": {
        "id": "Yth. {opd} ({city}),\n\nBatas penilaian mandiri Indeks Kota Cerdas tahun {year} ({due}) sudah "
              "lewat {n} hari. Baru {answered} dari {pairs} indikator dijawab.\nBelum dijawab: {missing}\n\n"
              "Silakan segera masuk ke dasbor dan unggah isian Anda.\n",
        "en": "Dear {opd} ({city}),\n\nThe {year} Smart City Index self-assessment deadline ({due}) passed "
              "{n} days ago. Only {answered} of {pairs} indicators are answered.\nNot answered: {missing}\n\n"
              "Please sign in to the dashboard and upload your answers.\n",
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
    "user.last_admin": {"id": "'{name}' adalah admin aktif terakhir; tambahkan admin lain sebelum menonaktifkan atau mengubah perannya.",
                        "en": "'{name}' is the last active admin; add another admin before disabling it or changing its role."},
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
    # one answer whether the name is unknown, the account disabled, the password wrong or the
    # attempt throttled (metrics/users.py); the wait depends only on the name typed and the client
    "login.failed": {
        "id": "Nama pengguna atau kata sandi salah, atau akun sedang dibatasi sementara.",
        "en": "Wrong username or password, or the account is temporarily limited.",
    },
    "login.failed_wait": {
        "id": "Nama pengguna atau kata sandi salah, atau akun sedang dibatasi sementara. "
              "Coba lagi dalam {seconds} detik.",
        "en": "Wrong username or password, or the account is temporarily limited. "
              "Try again in {seconds} seconds.",
    },
    "user.unlock_issued": {
        "id": "Kode buka sekali pakai untuk '{name}' (di atas), berlaku sampai {until}: isikan bersama kata sandi "
              "yang benar di formulir masuk; kode itu melewati pembatasan sekali dan menghapusnya.",
        "en": "One-time unlock code for '{name}' (above), valid until {until}: enter it with the right password "
              "in the sign-in form; it passes the sign-in throttle once and clears it.",
    },
    "user.field_long": {
        "id": "Isian '{field}' terlalu panjang (maksimal {n} karakter).",
        "en": "The field '{field}' is too long (at most {n} characters).",
    },
    "login.disabled": {"id": "Akun dinonaktifkan.", "en": "The account is disabled."},
    # --- backups ----------------------------------------------------------------------
    "backup.checksum": {
        "id": "Cadangan rusak: checksum tidak cocok untuk '{name}'.",
        "en": "The backup is damaged: checksum mismatch for '{name}'.",
    },
    "backup.bad": {"id": "Berkas cadangan tidak sah: {detail}.", "en": "Invalid backup file: {detail}."},
    # restore refusals (metrics/backup.py): one sentence each; the live database is never touched
    "backup.damaged": {"id": "Cadangan rusak: bagian '{name}' tidak dapat dibaca ({detail}).",
                       "en": "The backup is damaged: entry '{name}' cannot be read ({detail})."},
    "backup.entry_too_large": {
        "id": "Cadangan ditolak: bagian '{name}' menyatakan {size} byte, melebihi batas {limit} byte.",
        "en": "The backup is refused: entry '{name}' declares {size} bytes, over the limit of {limit} bytes.",
    },
    "backup.too_large": {"id": "Cadangan ditolak: isinya {size} byte bila dibuka, melebihi batas {limit} byte.",
                         "en": "The backup is refused: it unpacks to {size} bytes, over the limit of {limit} bytes."},
    "backup.unexpected_entry": {
        "id": "Cadangan ditolak: berisi bagian '{name}' yang bukan bagian cadangan aplikasi ini.",
        "en": "The backup is refused: it holds an entry '{name}' that is not part of this application's backups.",
    },
    "backup.missing_entry": {"id": "Cadangan tidak lengkap: bagian '{name}' tidak ada.",
                             "en": "The backup is incomplete: entry '{name}' is missing."},
    "backup.no_key": {
        "id": "Cadangan tidak dapat diautentikasi: kunci instalasi {path} tidak ada di sini; salin berkas kunci "
              "instalasi ini ke sana, atau impor cadangan sebagai cadangan asing.",
        "en": "The backup cannot be authenticated: there is no installation key {path} here; copy this "
              "installation's key file there, or import the backup as foreign.",
    },
    "backup.not_ours": {
        "id": "Cadangan ditolak: tanda tangannya tidak cocok dengan kunci instalasi ini ({ours}; cadangan "
              "menyebut {key_id}), jadi cadangan ini diubah atau dibuat instalasi lain; impor sebagai cadangan "
              "asing hanya bila Anda mempercayai asalnya.",
        "en": "The backup is refused: its signature does not match this installation's key ({ours}; the backup "
              "names {key_id}), so it was edited or made by another installation; import it as foreign only if "
              "you trust where it came from.",
    },
    "backup.format": {"id": "Cadangan ditolak: format {format} tidak didukung (versi ini membaca format {ours}).",
                      "en": "The backup is refused: format {format} is not supported (this version reads format {ours})."},
    "backup.schema": {
        "id": "Cadangan ditolak: dibuat dengan skema basis data versi {theirs}, sedangkan aplikasi ini versi {ours}.",
        "en": "The backup is refused: it was made with database schema version {theirs}, this application has {ours}.",
    },
    "backup.tables": {"id": "Cadangan ditolak: daftar tabelnya tidak sesuai skema ({detail}).",
                      "en": "The backup is refused: its tables do not match the schema ({detail})."},
    "backup.columns": {
        "id": "Cadangan ditolak: kolom atau tipe data di '{name}' tidak sesuai tabel {table}.",
        "en": "The backup is refused: the columns or types in '{name}' do not match table {table}.",
    },
    "backup.counts": {"id": "Cadangan ditolak: tabel {table} berisi {n} baris, manifes menyebut {expected}.",
                      "en": "The backup is refused: table {table} holds {n} rows, the manifest says {expected}."},
    "backup.audit": {"id": "Cadangan ditolak: log audit di dalamnya tidak utuh ({detail}).",
                     "en": "The backup is refused: its audit log is not intact ({detail})."},
    "backup.scores": {
        "id": "Cadangan ditolak: {n} nilai tidak sama dengan perhitungan ulang dari data mentah ({detail}).",
        "en": "The backup is refused: {n} scores differ from a recomputation from the raw rows ({detail}).",
    },
    "backup.exists": {"id": "{path} sudah ada; pemulihan tidak menimpanya kecuali dengan --force.",
                      "en": "{path} already exists; a restore replaces it only with --force."},
    "backup.target_busy": {
        "id": "Basis data {path} sedang dipakai proses lain ({detail}); hentikan aplikasi dulu, lalu pulihkan lagi.",
        "en": "The database {path} is in use by another process ({detail}); stop the application, then restore again.",
    },
    "backup.failed": {
        "id": "Pemulihan gagal dan basis data yang dipakai tidak diubah: {detail}.",
        "en": "The restore failed and the live database was not changed: {detail}.",
    },
    # audit verify (metrics/audit.py): each kind of tampering in its own sentence
    "audit.ok": {
        "id": "OK: {rows} baris audit, rantai utuh ({keyed} berkunci, {legacy} lama); kepala rantai di luar basis data: {head}.",
        "en": "OK: {rows} audit rows, chain intact ({keyed} keyed, {legacy} legacy); chain head outside the database: {head}.",
    },
    "audit.table_missing": {
        "id": "Tabel audit tidak ada di basis data (dihapus di luar aplikasi); kepala rantai di luar basis data mencatat {rows} baris.",
        "en": "The audit table is missing from the database (dropped outside the application); the chain head kept outside the database records {rows} rows.",
    },
    "audit.key_missing": {
        "id": "Kunci instalasi {path} tidak ada, jadi {n} baris audit berkunci tidak dapat diperiksa.",
        "en": "The installation key {path} is missing, so {n} keyed audit rows cannot be checked.",
    },
    "audit.unkeyed": {
        "id": "{n} baris audit ditulis ulang tanpa kunci setelah rantai berkunci dimulai (id {ids}): log diubah di luar aplikasi.",
        "en": "{n} audit rows were rewritten without the key after the keyed chain began (ids {ids}): the log was changed outside the application.",
    },
    "audit.broken": {
        "id": "{n} baris audit tidak cocok dengan rantai berkunci (id {ids}): diubah, disisipkan, diurutkan ulang atau dihapus di tengah.",
        "en": "{n} audit rows do not match the keyed chain (ids {ids}): edited, inserted, reordered or deleted in the middle.",
    },
    "audit.head_memory": {
        "id": "Basis data dalam memori: tidak ada kepala rantai yang disimpan di luarnya.",
        "en": "In-memory database: no chain head is kept outside it.",
    },
    "audit.head_missing": {
        "id": "Kepala rantai yang disimpan di luar basis data ({path}) hilang, jadi baris terbaru yang dipotong tidak dapat disingkirkan kemungkinannya.",
        "en": "The chain head kept outside the database ({path}) is missing, so a cut of the newest rows cannot be ruled out.",
    },
    "audit.head_bad": {
        "id": "Kepala rantai {path} tidak bertanda tangan kunci instalasi ini (diubah, rusak, atau milik basis data lain).",
        "en": "The chain head {path} is not signed with this installation's key (edited, damaged, or another database's).",
    },
    "audit.all_deleted": {
        "id": "Semua baris audit telah dihapus: kepala rantai di luar basis data mencatat {rows} baris sampai id {last_id}.",
        "en": "Every audit row has been deleted: the chain head kept outside the database records {rows} rows up to id {last_id}.",
    },
    "audit.tail_cut": {
        "id": "{n} baris audit terbaru hilang (id {first}–{last}): kepala rantai di luar basis data mencatat {rows} baris.",
        "en": "The newest {n} audit rows are missing (ids {first}–{last}): the chain head kept outside the database records {rows} rows.",
    },
    "audit.head_mismatch": {
        "id": "Baris audit {last_id}, yang tercatat sebagai kepala rantai, berbeda dari yang ada di basis data (rantai ditulis ulang).",
        "en": "Audit row {last_id}, recorded as the chain head, differs from the one in the database (the chain was rewritten).",
    },
    "audit.count_mismatch": {
        "id": "Kepala rantai mencatat {rows} baris sampai id {last_id}, basis data memuat {n}.",
        "en": "The chain head records {rows} rows up to id {last_id}, the database holds {n}.",
    },
    "audit.head_behind": {
        "id": "{n} baris audit ditulis setelah kepala rantai terakhir dicatat (misalnya proses terhenti); semuanya cocok dengan kunci.",
        "en": "{n} audit rows were written after the chain head was last recorded (e.g. a process stopped); they all match the key.",
    },
    "audit.legacy": {
        "id": "{n} baris audit dari sebelum rantai berkunci memakai SHA-256 biasa; baris berkunci sesudahnya mengikatnya.",
        "en": "{n} audit rows from before the chain was keyed use plain SHA-256; the keyed rows after them anchor them.",
    },
    "audit.foreign": {
        "id": "{n} baris audit berasal dari cadangan asing yang diimpor; tautannya diperiksa, isinya tidak dapat diperiksa dengan kunci ini.",
        "en": "{n} audit rows come from an imported foreign backup; their links are checked, their contents cannot be checked with this key.",
    },
    # --- write side: feedback files, drafts, versions, sign-in by SSO, restore ------------
    "feedback.sheet": {"id": "Kesalahan", "en": "Errors"},
    "feedback.suffix": {"id": "koreksi", "en": "corrections"},
    "feedback.errors_suffix": {"id": "daftar-kesalahan", "en": "errors"},
    "feedback.intro": {
        "id": "Berkas ini ditolak karena {n} masalah. Sel yang salah diberi warna merah dan komentar; perbaiki lalu unggah ulang.",
        "en": "This file was refused for {n} problem(s). Faulty cells are marked red with a comment; fix them and upload again.",
    },
    "entry.draft_too_large": {
        "id": "Draf terlalu besar (batas {limit} byte); persingkat bukti atau catatan.",
        "en": "The draft is too large (limit {limit} bytes); shorten the evidence or notes.",
    },
    "entry.no_draft": {
        "id": "Belum ada draf yang tersimpan untuk dikirim.",
        "en": "There is no saved draft to submit.",
    },
    "entry.no_version": {"id": "Versi unggahan {id} tidak ada.", "en": "Submission version {id} does not exist."},
    "entry.diff_mismatch": {
        "id": "Versi {old} dan {new} bukan milik OPD dan jenis data yang sama, jadi tidak dapat dibandingkan.",
        "en": "Versions {old} and {new} do not belong to the same OPD and kind of data, so they cannot be compared.",
    },
    "admin.restore_empty": {"id": "Berkas cadangan kosong.", "en": "The backup file is empty."},
    "admin.restore_memory": {
        "id": "Basis data dalam memori tidak dapat dipulihkan ke berkas di sebelahnya.",
        "en": "An in-memory database cannot be restored to a file beside it.",
    },
    "admin.restore_done": {
        "id": "Cadangan dipulihkan ke berkas BARU {path} ({submissions} unggahan, {users} pengguna); basis data "
              "yang sedang dipakai tidak diubah. Untuk memakainya: hentikan aplikasi, arahkan SMARTCITY_DB ke berkas "
              "itu (atau pindahkan berkas itu menggantikan basis data lama setelah menyimpan salinannya), lalu "
              "jalankan aplikasi lagi.",
        "en": "The backup was restored into a NEW file {path} ({submissions} submissions, {users} users); the live "
              "database was not changed. To use it: stop the application, point SMARTCITY_DB at that file (or move "
              "it in place of the old database after keeping a copy of it), then start the application again.",
    },
    "login.sso_unknown": {
        "id": "Identitas SSO Anda tidak terhubung dengan akun mana pun di aplikasi ini; hubungi admin Diskominfo.",
        "en": "Your SSO identity is not linked to any account in this application; contact the Diskominfo admin.",
    },
    "login.sso_unverified": {
        "id": "Alamat e-mail SSO Anda belum terverifikasi oleh penyedia identitas; masuk dengan SSO ditolak.",
        "en": "Your SSO e-mail address is not verified by the identity provider; SSO sign-in is refused.",
    },
    "login.sso_domain": {
        "id": "Domain e-mail '{domain}' tidak diizinkan untuk masuk dengan SSO; hubungi admin Diskominfo.",
        "en": "The e-mail domain '{domain}' is not allowed to sign in with SSO; contact the Diskominfo admin.",
    },
    # --- assessor review flags ----------------------------------------------------------
    "review.flag.jump": {"id": "naik ≥2 level dari tahun lalu", "en": "up ≥2 levels since last year"},
    "review.flag.no_evidence": {"id": "level 3–4 tanpa bukti", "en": "level 3–4 without evidence"},
    "review.flag.above_peers": {"id": "jauh di atas OPD sejenis di kota lain",
                                "en": "far above similar OPDs in other cities"},
    # --- report card (PDF) ----------------------------------------------------------------
    "export.no_data": {
        "id": "Belum ada data penilaian untuk {city} tahun {year}, jadi belum ada yang dapat diunduh.",
        "en": "There is no assessment data for {city} in {year}, so there is nothing to download yet.",
    },
    "rc.no_data": {
        "id": "Belum ada data penilaian untuk kota {city} tahun {year}, jadi rapor belum dapat dibuat.",
        "en": "There is no assessment data for city {city} in {year}, so no report card can be made yet.",
    },
    "setting.signatory_invalid": {
        "id": "Nama dan jabatan penanda tangan paling panjang {limit} karakter, satu baris.",
        "en": "The signatory's name and position are at most {limit} characters, on one line.",
    },
    "rc.rank_title": {"id": "Peringkat kota", "en": "City rank"},
    "rc.rank_national": {"id": "Nasional: {rank} dari {of}", "en": "National: {rank} of {of}"},
    "rc.rank_province": {"id": "Provinsi {group}: {rank} dari {of}", "en": "Province {group}: {rank} of {of}"},
    "rc.rank_category": {"id": "Kategori {group}: {rank} dari {of}", "en": "Category {group}: {rank} of {of}"},
    "rc.col_opds": {"id": "Penanggung jawab", "en": "Responsible"},
    "rc.col_next": {"id": "Level berikutnya", "en": "Next level"},
    "rc.sign_place_date": {"id": "{city}, {date}", "en": "{city}, {date}"},
    "rc.sign_unnamed": {"id": "(nama dan jabatan penanda tangan belum diatur oleh admin)",
                        "en": "(the signatory's name and position are not set by the admin)"},
    "rc.title": {"id": "Rapor Kota Cerdas", "en": "Smart City Report Card"},
    "rc.subtitle": {"id": "{city} · tahun penilaian {year} · kerangka {fw}",
                    "en": "{city} · assessment year {year} · framework {fw}"},
    "rc.footer": {"id": "Indeks Kota Cerdas · {city} · {year} · kerangka {fw} · dibuat {date}",
                  "en": "Smart City Index · {city} · {year} · framework {fw} · made {date}"},
    "rc.page": {"id": "hlm. {n}/{total}", "en": "page {n}/{total}"},
    "rc.index": {"id": "Indeks kota cerdas (skala 0–{hi})", "en": "Smart city index (0–{hi} scale)"},
    "rc.band": {"id": "Kategori: {band}", "en": "Band: {band}"},
    "rc.change": {"id": "{delta} dibanding {year} ({prev})", "en": "{delta} compared with {year} ({prev})"},
    "rc.no_prev": {"id": "Tidak ada data tahun {year} untuk dibandingkan.", "en": "No {year} data to compare with."},
    "rc.completeness": {"id": "Kelengkapan pengisian", "en": "Completeness"},
    "rc.answered": {"id": "{answered} dari {pairs} pasangan indikator–OPD terjawab",
                    "en": "{answered} of {pairs} indicator–OPD pairs answered"},
    "rc.missing": {"id": "Indikator tanpa data", "en": "Indicators without data"},
    "rc.missing_note": {"id": "dihitung 0 dalam indeks", "en": "counted as 0 in the index"},
    "rc.verified": {"id": "Indikator terverifikasi", "en": "Verified indicators"},
    "rc.verified_note": {"id": "level penilai menggantikan penilaian mandiri",
                         "en": "the assessor's level replaces the self-assessment"},
    "rc.scale_title": {"id": "Posisi pada skala kematangan", "en": "Position on the maturity scale"},
    "rc.scale_legend": {"id": "Garis tebal: {year}; garis tipis: {prev}.", "en": "Thick line: {year}; thin line: {prev}."},
    "rc.dimensions": {"id": "Dimensi evaluasi", "en": "Evaluation dimensions"},
    "rc.weight": {"id": "bobot", "en": "weight"},
    "rc.bars_legend": {"id": "Batang berwarna: {year}; garis abu-abu: {prev}.",
                       "en": "Coloured bar: {year}; grey line: {prev}."},
    "rc.pillars_title": {"id": "Pilar kota cerdas", "en": "Smart city pillars"},
    "rc.radar_legend": {"id": "Area biru: {year}; garis putus-putus: {prev}. Skala 0 di tengah.",
                        "en": "Blue area: {year}; dashed line: {prev}. Scale 0 at the centre."},
    "rc.pillars_table": {"id": "Nilai per pilar", "en": "Values by pillar"},
    "rc.col_code": {"id": "Kode", "en": "Code"},
    "rc.col_pillar": {"id": "Pilar", "en": "Pillar"},
    "rc.col_change": {"id": "Perubahan", "en": "Change"},
    "rc.opds_title": {"id": "Peringkat OPD", "en": "OPD ranking"},
    "rc.opds_note": {
        "id": "Indeks tiap OPD dihitung dari indikator yang dijawabnya (dengan level terverifikasi bila ada). "
              "Kelengkapan adalah bagian indikator yang menjadi tanggung jawab OPD dan sudah dijawab.",
        "en": "Each OPD's index is computed over the indicators it answered (with verified levels where present). "
              "Completeness is the share of the OPD's indicators it has answered.",
    },
    "rc.col_rank": {"id": "#", "en": "#"},
    "rc.col_opd": {"id": "OPD", "en": "OPD"},
    "rc.col_index": {"id": "Indeks", "en": "Index"},
    "rc.col_completeness": {"id": "Kelengkapan", "en": "Completeness"},
    "rc.opds_more": {"id": "{n} OPD lainnya ada di lampiran XLSX.", "en": "{n} more OPDs are in the XLSX annex."},
    "rc.priorities_title": {"id": "Indikator prioritas", "en": "Priority indicators"},
    "rc.priorities_note": {
        "id": "Indikator yang paling menaikkan indeks kota bila naik satu level, dengan semua hal lain tetap.",
        "en": "The indicators that would raise the city index most if they rose one level, all else equal.",
    },
    "rc.col_indicator": {"id": "Indikator", "en": "Indicator"},
    "rc.col_dimension": {"id": "Dimensi", "en": "Dimension"},
    "rc.col_level": {"id": "Level", "en": "Level"},
    "rc.col_gain": {"id": "+ indeks", "en": "+ index"},
    "rc.no_priorities": {"id": "Semua indikator sudah di level tertinggi.", "en": "Every indicator is at the top level."},
    "rc.method_title": {"id": "Cara menghitung", "en": "How the index is computed"},
    "rc.method": {
        "id": "Level efektif tiap indikator ({lo}–{hi}) adalah level verifikasi penilai bila ada; bila tidak, level dari "
              "metrik layanan; bila tidak, rata-rata penilaian mandiri OPD yang bertanggung jawab. Nilai dimensi dan "
              "pilar adalah rata-rata tertimbang level indikatornya; indeks adalah rata-rata tertimbang nilai dimensi.",
        "en": "Each indicator's effective level ({lo}–{hi}) is the assessor's verified level if any; else the level from "
              "its service metric; else the mean self-assessment of the responsible OPDs. Dimension and pillar values "
              "are weighted means of their indicators' levels; the index is the weighted mean of the dimensions.",
    },
    "rc.missing_rule_zero": {"id": "Indikator yang belum ada datanya dihitung {lo}.",
                             "en": "Indicators without data count as {lo}."},
    "rc.missing_rule_exclude": {"id": "Indikator yang belum ada datanya tidak diikutkan.",
                                "en": "Indicators without data are left out."},
    "rc.framework_changed": {
        "id": "Kerangka penilaian tahun lalu ({before}) berbeda dari tahun ini ({after}); perbandingan bersifat indikatif.",
        "en": "Last year's framework ({before}) differs from this year's ({after}); the comparison is indicative.",
    },
    "rc.made": {"id": "Dibuat pada {date} dengan kerangka {fw} ({name}).",
                "en": "Made on {date} under framework {fw} ({name})."},
    # a write the database could not complete (typically a full disk): say what is kept
    "store.commit_failed": {
        "id": "Tidak ada yang tersimpan: basis data tidak dapat menulis perubahan ini ({reason}). "
              "Aman untuk mengirim ulang setelah penyebabnya diatasi (misalnya ruang disk dikosongkan).",
        "en": "Nothing was stored: the database could not write this change ({reason}). "
              "It is safe to send it again once the cause is fixed (e.g. disk space freed).",
    },
    "store.commit_failed_restart": {
        "id": "Tidak ada yang tersimpan: basis data tidak dapat menulis perubahan ini ({reason}). "
              "Atasi penyebabnya (misalnya kosongkan ruang disk) dan jalankan ulang aplikasi; "
              "setelah itu aman untuk mengirim ulang.",
        "en": "Nothing was stored: the database could not write this change ({reason}). "
              "Fix the cause (e.g. free disk space) and restart the application; "
              "then it is safe to send it again.",
    },
    "store.checkpoint_failed": {
        "id": "Semua data sudah tersimpan (di log tulis-depan {wal}), tetapi penyalinannya ke berkas "
              "basis data gagal ({reason}). JANGAN kirim ulang: itu membuat versi ganda. Kosongkan ruang "
              "disk; penyalinan diselesaikan saat basis data dibuka berikutnya.",
        "en": "Everything was stored (in the write-ahead log {wal}), but copying it into the database "
              "file failed ({reason}). Do NOT send it again: that would create duplicate versions. Free "
              "disk space; the copy is completed when the database is next opened.",
    },
    "store.batch_stopped": {
        "id": "Berkas yang dilaporkan diterima di atas sudah tersimpan; kirim ulang hanya berkas lainnya.",
        "en": "The files reported accepted above are stored; send only the others again.",
    },
    "store.not_stored": {"id": "tidak tersimpan", "en": "not stored"},
    # --- progress of long work (metrics.progress) and the help guide (metrics.guide) ---
    "progress.done": {"id": "Selesai.", "en": "Done."},
    "progress.framework_parse": {"id": "Memeriksa kerangka…", "en": "Checking the framework…"},
    "progress.framework_save": {"id": "Menyimpan kerangka dan menghitung ulang skor…",
                                "en": "Saving the framework and recomputing the scores…"},
    "progress.backup_audit": {"id": "Mencatat cadangan di log audit…", "en": "Recording the backup in the audit log…"},
    "progress.backup_tables": {"id": "Menyalin tabel-tabel basis data…", "en": "Copying the database tables…"},
    "progress.backup_sign": {"id": "Menandatangani cadangan…", "en": "Signing the backup…"},
    "progress.restore_check": {"id": "Memeriksa arsip cadangan…", "en": "Checking the backup archive…"},
    "progress.restore_tables": {"id": "Memulihkan tabel-tabel basis data…", "en": "Restoring the database tables…"},
    "progress.restore_scores": {"id": "Menghitung ulang skor…", "en": "Recomputing the scores…"},
    "progress.restore_audit": {"id": "Memeriksa log audit hasil pemulihan…", "en": "Checking the restored audit log…"},
    "progress.rc_read": {"id": "Membaca hasil kota…", "en": "Reading the city's results…"},
    "progress.rc_rank": {"id": "Menyusun peringkat OPD…", "en": "Ranking the OPDs…"},
    "progress.rc_draw": {"id": "Menggambar halaman PDF…", "en": "Drawing the PDF pages…"},
    "progress.rc_audit": {"id": "Mencatat unduhan di log audit…", "en": "Recording the download in the audit log…"},
    "guide.title": {"id": "Panduan Indeks Kota Cerdas", "en": "Indeks Kota Cerdas guide"},
    "guide.subtitle": {"id": "Untuk operator OPD dan kantor wali kota/bupati",
                       "en": "For OPD operators and the mayor's office"},
    "guide.intro": {
        "id": "Aplikasi ini menghitung indeks kematangan kota cerdas dari penilaian mandiri setiap OPD. "
              "Operator OPD mengisi penilaian mandiri OPD-nya; kantor wali kota/bupati membaca hasilnya, "
              "melihat OPD mana yang belum mengisi, dan mencetak rapor.",
        "en": "This application computes the city's smart-city maturity index from each OPD's "
              "self-assessment. OPD operators fill in their OPD's self-assessment; the mayor's office "
              "reads the results, sees which OPDs have not submitted, and prints the report card.",
    },
    "guide.fill.title": {"id": "1. Mengisi penilaian mandiri (operator OPD)",
                         "en": "1. Filling in the self-assessment (OPD operators)"},
    "guide.fill.1": {
        "id": "Masuk dengan akun OPD Anda. Beranda menampilkan status OPD Anda untuk tahun berjalan: "
              "indikator yang sudah terjawab, versi yang berlaku, tenggat dan sisa hari, serta langkah berikutnya.",
        "en": "Sign in with your OPD account. The home page shows your OPD's status for the open year: "
              "indicators answered, the version in force, the deadline and days left, and the next step.",
    },
    "guide.fill.2": {
        "id": "Templat: di halaman Unggah, unduh templat Excel OPD Anda. Templat hanya berisi indikator "
              "yang menjadi tanggung jawab OPD Anda, dengan rubrik setiap level (0–4).",
        "en": "Template: on the Upload page, download your OPD's Excel template. It holds only the "
              "indicators your OPD answers, with the rubric of each level (0–4).",
    },
    "guide.fill.3": {
        "id": "Isi level (0–4) dan bukti untuk setiap indikator. Jangan ubah nama sheet, judul kolom atau "
              "blok informasi; jangan gunakan rumus, sel gabungan, sheet tersembunyi, makro atau tautan.",
        "en": "Enter the level (0–4) and the evidence of each indicator. Do not rename sheets, column "
              "headings or the information block; use no formulas, merged cells, hidden sheets, macros or links.",
    },
    "guide.fill.4": {
        "id": "Unggah: simpan sebagai .xlsx (atau .ods dari LibreOffice) dan unggah di halaman Unggah. "
              "Semua masalah dalam berkas dicantumkan sekaligus, dengan baris, kode dan nama indikator; "
              "perbaiki semuanya lalu unggah lagi. Berkas .xls lama harus disimpan ulang sebagai .xlsx.",
        "en": "Upload: save as .xlsx (or .ods from LibreOffice) and upload it on the Upload page. Every "
              "problem in the file is listed at once, with the row, indicator code and name; fix them "
              "all and upload again. An old .xls file must be saved again as .xlsx.",
    },
    "guide.fill.5": {
        "id": "Formulir: atau isi langsung di halaman Isi formulir, satu kartu per indikator dengan "
              "rubrik lengkap. Isian disimpan sebagai draf sampai Anda mengirimnya.",
        "en": "Form: or fill in online on the Fill in online page, one card per indicator with the full "
              "rubric. Your entries are kept as a draft until you submit them.",
    },
    "guide.fill.6": {
        "id": "Gabung (merge) atau ganti (replace): bila berkas atau formulir menjawab lebih sedikit "
              "indikator daripada versi yang berlaku, Anda lebih dulu melihat jawaban yang tetap, berubah, "
              "bertambah dan hilang, serta pengaruhnya pada indeks OPD dan kota. Pilih gabung (merge, "
              "bawaan): jawaban baru ditambahkan di atas versi yang berlaku; atau ganti (replace): berkas "
              "menjadi seluruh jawaban. Setiap pilihan menyimpan versi baru; versi lama tidak pernah dihapus.",
        "en": "Merge or replace: when a file or form answers fewer indicators than the version in "
              "force, you first see the answers kept, changed, added and dropped, and the effect on the "
              "OPD and city index. Choose merge (the default): the new answers go on top of the version "
              "in force; or replace: the file becomes the whole answer set. Either way a new version is "
              "stored; older versions are never deleted.",
    },
    "guide.fill.7": {
        "id": "Riwayat unggahan menampilkan setiap versi yang pernah dikirim, siapa pengirimnya, dan "
              "perbedaannya dengan versi sebelumnya.",
        "en": "Submission history shows every version ever sent, who sent it, and how it differs from "
              "the one before.",
    },
    "guide.read.title": {"id": "2. Membaca hasil (kantor wali kota/bupati)",
                         "en": "2. Reading the results (the mayor's office)"},
    "guide.read.1": {
        "id": "Ringkasan: indeks kota, kategori kematangan, perubahan dari tahun lalu, peringkat kota, "
              "nilai per pilar dan indikator prioritas beserta OPD penanggung jawabnya.",
        "en": "Overview: the city's index, maturity band, change from last year, the city's rank, "
              "pillar values and priority indicators with the OPDs responsible.",
    },
    "guide.read.2": {
        "id": "Kelengkapan: OPD mana yang sudah mengisi tepat waktu, terlambat atau belum, dan "
              "indikator yang belum memiliki OPD penanggung jawab.",
        "en": "Completeness: which OPDs submitted on time, late or not yet, and the indicators that "
              "have no responsible OPD.",
    },
    "guide.read.3": {
        "id": "Rapor: unduh rapor PDF untuk dicetak dan ditandatangani, serta semua angka dalam XLSX.",
        "en": "Report card: download the PDF report card to print and sign, and all numbers as XLSX.",
    },
    "guide.errors.title": {"id": "3. Arti pesan kesalahan", "en": "3. What each error message means"},
    "guide.errors.intro": {
        "id": "Pesan berikut diambil langsung dari katalog pesan aplikasi, sehingga selalu sama dengan "
              "yang Anda lihat. Tanda … diganti dengan nilai dari berkas Anda (baris, kolom, nilai, batas).",
        "en": "The messages below are taken from the application's own message catalogue, so they "
              "always match what you see. Each … is replaced by a value from your file (row, column, value, limit).",
    },
    "guide.errors.file": {"id": "Masalah pada berkas", "en": "Problems with the file"},
    "guide.errors.xlsx": {"id": "Masalah pada lembar kerja", "en": "Problems in the workbook"},
    "guide.errors.cell": {"id": "Masalah pada baris dan sel", "en": "Problems in rows and cells"},
    "guide.ask.title": {"id": "4. Bertanya kepada siapa", "en": "4. Who to ask"},
    "guide.ask.default": {
        "id": "Hubungi administrator Diskominfo kota/kabupaten Anda, pengelola aplikasi ini: ia dapat "
              "membuka kembali tahun, membuat akun, memberi kode buka kunci dan menjelaskan pesan kesalahan.",
        "en": "Contact your city's Diskominfo administrator, who runs this application: they can reopen "
              "a year, create accounts, issue unlock codes and explain error messages.",
    },
    "guide.ask.contact": {"id": "Kontak: {contact}", "en": "Contact: {contact}"},
    "guide.shots.title": {"id": "Tampilan layar", "en": "Screens"},
    "guide.shot.home": {"id": "Beranda operator OPD", "en": "The OPD operator's home"},
    "guide.shot.upload": {"id": "Halaman Unggah", "en": "The Upload page"},
    "guide.shot.accepted": {"id": "Berkas diterima", "en": "A file accepted"},
    "guide.shot.form": {"id": "Halaman Isi formulir", "en": "The Fill in online page"},
    "guide.shot.overview": {"id": "Ringkasan", "en": "Overview"},
    "guide.shot.completeness": {"id": "Kelengkapan", "en": "Completeness"},
    "guide.shot.report": {"id": "Rapor", "en": "Report card"},
    "guide.footer": {"id": "Panduan Indeks Kota Cerdas · dibuat {date}", "en": "Indeks Kota Cerdas guide · made {date}"},
    "guide.page": {"id": "Halaman {n}/{total}", "en": "Page {n}/{total}"},
    "setting.help_contact_invalid": {
        "id": "Kontak bantuan paling banyak {limit} karakter, tanpa karakter kendali.",
        "en": "The help contact may have at most {limit} characters and no control characters.",
    },
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
