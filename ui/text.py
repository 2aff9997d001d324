"""UI labels in Bahasa Indonesia (default) and English. Core messages live in metrics.i18n.

Shell labels are here; the read pages' labels are in text_read.py and the write pages' in
text_upload.py, text_review.py and text_report.py, merged below so each group of pages can grow its own.
"""

from ui.text_home import T_HOME
from ui.text_read import T_READ
from ui.text_report import T_REPORT
from ui.text_review import T_REVIEW
from ui.text_upload import T_UPLOAD

T: dict[str, dict[str, str]] = {
    "app.title": {"id": "Indeks Kota Cerdas", "en": "Smart City Index"},
    "lang.label": {"id": "Bahasa", "en": "Language"},
    "section.read": {"id": "Hasil", "en": "Results"},
    "section.write": {"id": "Pengisian", "en": "Data entry"},
    "section.admin": {"id": "Tata kelola", "en": "Governance"},
    "section.account": {"id": "Akun", "en": "Account"},
    "page.overview": {"id": "Ringkasan", "en": "Overview"},
    "page.rankings": {"id": "Peringkat", "en": "Rankings"},
    "page.compare": {"id": "Perbandingan", "en": "Year over year"},
    "page.drilldown": {"id": "Rincian", "en": "Drill-down"},
    "page.completeness": {"id": "Kelengkapan", "en": "Completeness"},
    "page.matrix": {"id": "Peta kematangan", "en": "Maturity matrix"},
    "page.login": {"id": "Masuk", "en": "Sign in"},
    "page.account": {"id": "Akun saya", "en": "My account"},
    "filter.city": {"id": "Kota/Kabupaten", "en": "City/Regency"},
    "filter.year": {"id": "Tahun", "en": "Year"},
    "table.download": {"id": "Unduh tabel (CSV)", "en": "Download table (CSV)"},
    "filter.province": {"id": "Provinsi", "en": "Province"},
    "filter.category": {"id": "Kategori kota", "en": "City category"},
    "filter.all": {"id": "Semua", "en": "All"},
    "login.title": {"id": "Masuk ke Indeks Kota Cerdas", "en": "Sign in to the Smart City Index"},
    "login.username": {"id": "Nama pengguna", "en": "Username"},
    "login.password": {"id": "Kata sandi", "en": "Password"},
    "login.submit": {"id": "Masuk", "en": "Sign in"},
    "login.sso": {"id": "Masuk dengan SSO", "en": "Sign in with SSO"},
    "login.unlock": {"id": "Punya kode buka dari admin server?", "en": "Have an unlock code from the server admin?"},
    "login.unlock_code": {"id": "Kode buka (sekali pakai)", "en": "Unlock code (single use)"},
    "login.unlock_help": {
        "id": "Setelah banyak percobaan gagal, masuk dibatasi sementara. Admin server dapat membuat kode dengan "
              "`python -m metrics user unlock NAMA`; isikan kode itu bersama kata sandi yang benar.",
        "en": "After many failed attempts, sign-in is limited for a while. The server admin can make a code with "
              "`python -m metrics user unlock NAME`; enter it together with the right password."},
    "login.signed_in_as": {"id": "Masuk sebagai **{name}** ({role})", "en": "Signed in as **{name}** ({role})"},
    "login.logout": {"id": "Keluar", "en": "Sign out"},
    "login.session_until": {
        "id": "Sesi ini berakhir setelah {minutes} menit tanpa aktivitas (kini pukul {idle}), "
              "paling lambat pukul {until}.",
        "en": "This session ends after {minutes} minutes without activity (now at {idle}), "
              "at the latest at {until}."},
    "login.wait_until": {"id": "Anda dapat mencoba lagi mulai pukul {time}.",
                         "en": "You can try again from {time}."},
    "login.attempts_left": {
        "id": "Masih {n} kali percobaan gagal dari perangkat ini sebelum harus menunggu.",
        "en": "{n} more failed attempts from this device before a waiting time."},
    "login.attempts_none": {
        "id": "Percobaan gagal berikutnya dari perangkat ini membuat Anda harus menunggu.",
        "en": "The next failed attempt from this device brings a waiting time."},
    "nav.not_available": {"id": "Halaman ini tidak tersedia untuk peran Anda.",
                          "en": "This page is not available for your role."},
    "login.session_ended": {"id": "Sesi Anda berakhir. Silakan masuk kembali.",
                            "en": "Your session has ended. Please sign in again."},
    "login.public_hint": {"id": "Hasil yang dipublikasikan dapat dibaca tanpa masuk.",
                          "en": "Published results can be read without signing in."},
    "role.col": {"id": "Peran", "en": "Role"},
    "role.admin": {"id": "Admin Diskominfo", "en": "Diskominfo admin"},
    "role.executive": {"id": "Kantor Wali Kota/Bupati", "en": "Mayor's office"},
    "role.opd": {"id": "Operator OPD", "en": "OPD operator"},
    "role.assessor": {"id": "Penilai", "en": "Assessor"},
    "role.viewer": {"id": "Pembaca", "en": "Viewer"},
    "role.anonymous": {"id": "Publik", "en": "Public"},
    "empty.first_run": {
        "id": "Basis data masih kosong. Jalankan `python -m metrics init --demo` untuk data contoh, "
              "atau muat registri kota/OPD dan kerangka penilaian melalui menu Administrasi.",
        "en": "The database is empty. Run `python -m metrics init --demo` for demo data, "
              "or load the city/OPD registry and the framework from the Administration page.",
    },
    "page.report": {"id": "Rapor", "en": "Report card"},
    "page.upload": {"id": "Unggah", "en": "Upload"},
    "page.entry": {"id": "Isi formulir", "en": "Fill in online"},
    "page.history": {"id": "Riwayat unggahan", "en": "Submission history"},
    "page.verify": {"id": "Verifikasi", "en": "Verification"},
    "page.admin": {"id": "Administrasi", "en": "Administration"},
    "page.audit": {"id": "Log audit", "en": "Audit log"},
    "page.help": {"id": "Bantuan", "en": "Help"},
    "admin.help_contact": {"id": "Kontak bantuan", "en": "Help contact"},
    "admin.help_contact_label": {"id": "Siapa yang dihubungi (tampil di halaman Bantuan dan di panduan)",
                                 "en": "Who to contact (shown on the Help page and in the guide)"},
    "admin.help_contact_hint": {"id": "mis. Bidang Aplikasi Informatika Diskominfo, 0812-…, helpdesk@…",
                                "en": "e.g. Diskominfo applications unit, 0812-…, helpdesk@…"},
    "admin.help_contact_save": {"id": "Simpan kontak", "en": "Save contact"},
    "admin.help_contact_done": {"id": "Kontak bantuan disimpan.", "en": "Help contact saved."},
    "progress.framework": {"id": "Memuat kerangka", "en": "Loading the framework"},
    "progress.backup": {"id": "Membuat cadangan", "en": "Making the backup"},
    "progress.restore": {"id": "Memulihkan cadangan", "en": "Restoring the backup"},
    "progress.report": {"id": "Membuat rapor", "en": "Making the report card"},
    "help.download": {"id": "Unduh panduan (PDF)", "en": "Download the guide (PDF)"},
    "help.download_help": {"id": "Panduan cetak dibuat saat tombol diklik, dengan tangkapan layar terbaru.",
                           "en": "The printable guide is made when you click, with the latest screenshots."},
    "help.screens": {"id": "Tampilan layar", "en": "Screens"},
}
T.update(T_READ)
T.update(T_HOME)
T.update(T_UPLOAD)
T.update(T_REVIEW)
T.update(T_REPORT)
