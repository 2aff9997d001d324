"""Labels of the report card page (keys "report.*"); single sign-on uses the shell's login.* keys."""

T_REPORT: dict[str, dict[str, str]] = {
    "report.title": {"id": "Rapor kota cerdas", "en": "Smart city report card"},
    "report.intro": {
        "id": "Unduh rapor untuk dicetak dan ditandatangani, serta semua angka kota dan tahun terpilih "
              "dalam satu berkas Excel. Isinya sama dengan angka di dasbor.",
        "en": "Download the report card to print and sign, and every number of the chosen city and year "
              "in one Excel file. They carry the same numbers as the dashboard.",
    },
    "report.index": {"id": "Indeks (skala 0–{hi})", "en": "Index (0–{hi} scale)"},
    "report.pdf_title": {"id": "Rapor (PDF)", "en": "Report card (PDF)"},
    "report.pdf_help": {
        "id": "Ringkasan indeks dan kategori, perubahan dari tahun lalu, dimensi, pilar, peringkat OPD dan "
              "indikator prioritas; bertanggal dan mencantumkan kerangka {fw}.",
        "en": "Index and band, change from last year, dimensions, pillars, OPD ranking and priority "
              "indicators; dated and labelled with framework {fw}.",
    },
    "report.download_pdf": {"id": "Unduh rapor (PDF)", "en": "Download report card (PDF)"},
    "report.xlsx_title": {"id": "Semua angka (Excel)", "en": "All the numbers (Excel)"},
    "report.xlsx_help": {
        "id": "Lembar Indeks, OPD dan Indikator dengan nilai lengkap (tanpa pembulatan), tanpa rumus.",
        "en": "Index, OPD and Indicator sheets with full-precision values, without formulas.",
    },
    "report.download_xlsx": {"id": "Unduh angka (XLSX)", "en": "Download numbers (XLSX)"},
    "report.audited": {
        "id": "Setiap unduhan dicatat di log audit (siapa, kapan, kota dan tahun).",
        "en": "Every download is recorded in the audit log (who, when, city and year).",
    },
}
