"""Labels of the read pages (overview, rankings, compare, drill-down, completeness, matrix)."""

T_READ: dict[str, dict[str, str]] = {
    # --- shared furniture ------------------------------------------------------------
    "header.context": {"id": "{city} · tahun penilaian {year}", "en": "{city} · assessment year {year}"},
    "header.framework": {"id": " · kerangka {fw}", "en": " · framework {fw}"},
    "empty.no_city": {"id": "Pilih kota/kabupaten di panel samping untuk melihat hasilnya.",
                      "en": "Choose a city/regency in the sidebar to see its results."},
    "empty.no_data": {
        "id": "Belum ada data penilaian untuk {city} tahun {year}, jadi belum ada indeks yang dapat ditampilkan. "
              "Minta OPD mengunggah lembar penilaian mandiri (menu Pengisian → Unggah), lalu buka halaman "
              "Kelengkapan untuk melihat OPD mana yang belum mengirim.",
        "en": "There is no assessment data for {city} in {year} yet, so there is no index to show. Ask the OPDs "
              "to upload their self-assessment sheets (Data entry → Upload), then open the Completeness page "
              "to see which OPDs have not submitted.",
    },
    "scale.line": {"id": "Skala {lo}–{hi} ({bands}).", "en": "Scale {lo}–{hi} ({bands})."},
    "scale.missing_zero": {
        "id": "{n} dari {total} indikator belum ada datanya dan dihitung {lo} dalam indeks.",
        "en": "{n} of {total} indicators have no data yet and count as {lo} in the index.",
    },
    "scale.missing_excluded": {
        "id": "{n} dari {total} indikator belum ada datanya dan tidak diikutkan dalam perhitungan.",
        "en": "{n} of {total} indicators have no data yet and are left out of the calculation.",
    },
    "note.framework_changed": {
        "id": "Tahun lalu dinilai dengan kerangka {before}, tahun ini dengan {after}: perubahan nilai sebagian "
              "berasal dari perubahan kerangka, bukan hanya dari kinerja.",
        "en": "Last year was scored under framework {before}, this year under {after}: part of the change comes "
              "from the framework, not only from performance.",
    },
    "chart.level_axis": {"id": "Level ({lo}–{hi})", "en": "Level ({lo}–{hi})"},
    "chart.level_short": {"id": "Level", "en": "Level"},
    "chart.weight": {"id": "Bobot", "en": "Weight"},
    "chart.under_half": {"id": "< 50%", "en": "< 50%"},
    "chart.partial": {"id": "50–99%", "en": "50–99%"},
    "chart.level_step": {"id": "level {now} → {next}", "en": "level {now} → {next}"},
    "chart.gain_text": {"id": "+{gain} poin indeks", "en": "+{gain} index points"},
    "chart.framework_change": {"id": "kerangka {before} → {after}", "en": "framework {before} → {after}"},
    # --- table columns ---------------------------------------------------------------------
    "col.code": {"id": "Kode", "en": "Code"},
    "col.indicator": {"id": "Indikator", "en": "Indicator"},
    "col.indicators": {"id": "Jumlah indikator", "en": "Indicators"},
    "col.pillar": {"id": "Pilar", "en": "Pillar"},
    "col.dimension": {"id": "Dimensi", "en": "Dimension"},
    "col.level": {"id": "Level", "en": "Level"},
    "col.level_now": {"id": "Level saat ini", "en": "Current level"},
    "col.counted": {"id": "Level dihitung", "en": "Level counted"},
    "col.gain": {"id": "Kenaikan indeks bila naik 1 level", "en": "Index gain for one level up"},
    "col.rank": {"id": "Peringkat", "en": "Rank"},
    "col.rank_national": {"id": "Peringkat nasional", "en": "National rank"},
    "col.rank_selection": {"id": "Peringkat dalam pilihan", "en": "Rank in selection"},
    "col.rank_prev": {"id": "Peringkat tahun lalu", "en": "Rank last year"},
    "col.movement": {"id": "Pergerakan", "en": "Movement"},
    "col.opd": {"id": "OPD", "en": "OPD"},
    "col.opd_code": {"id": "Kode OPD", "en": "OPD code"},
    "col.opd_type": {"id": "Jenis OPD", "en": "OPD type"},
    "col.opd_types": {"id": "Jenis OPD penanggung jawab", "en": "Responsible OPD types"},
    "col.index": {"id": "Indeks (0–4)", "en": "Index (0–4)"},
    "col.band": {"id": "Kategori kematangan", "en": "Maturity band"},
    "col.change": {"id": "Perubahan", "en": "Change"},
    "col.completeness": {"id": "Kelengkapan", "en": "Completeness"},
    "col.answered": {"id": "Dijawab", "en": "Answered"},
    "col.answered_n": {"id": "Indikator dijawab", "en": "Indicators answered"},
    "col.required": {"id": "Wajib dijawab", "en": "Required"},
    "col.responsible": {"id": "OPD penanggung jawab", "en": "Responsible OPDs"},
    "col.last_upload": {"id": "Unggahan terakhir", "en": "Last upload"},
    "col.city": {"id": "Kota/Kabupaten", "en": "City/Regency"},
    "col.province": {"id": "Provinsi", "en": "Province"},
    "col.category": {"id": "Kategori kota", "en": "City category"},
    "col.missing": {"id": "Kosong", "en": "Missing"},
    "col.missing_zero": {"id": "Indikator kosong (dihitung 0)", "en": "Missing indicators (count as 0)"},
    "col.framework": {"id": "Kerangka", "en": "Framework"},
    "col.from_year": {"id": "Dari tahun", "en": "From year"},
    "col.to_year": {"id": "Ke tahun", "en": "To year"},
    "col.from_level": {"id": "Level awal", "en": "Level then"},
    "col.to_level": {"id": "Level akhir", "en": "Level now"},
    "col.weight": {"id": "Bobot", "en": "Weight"},
    "col.contribution": {"id": "Bobot × level", "en": "Weight × level"},
    "col.n_opd": {"id": "OPD menilai", "en": "OPDs assessing"},
    "col.value": {"id": "Nilai", "en": "Value"},
    "col.source": {"id": "Sumber level", "en": "Source of level"},
    "col.rubric": {"id": "Rubrik", "en": "Rubric"},
    "col.evidence": {"id": "Bukti dukung", "en": "Evidence"},
    "col.note": {"id": "Catatan", "en": "Note"},
    "col.submission": {"id": "No. pengiriman", "en": "Submission no."},
    "col.accepted_at": {"id": "Diterima", "en": "Accepted"},
    "col.file": {"id": "Berkas", "en": "File"},
    "col.row": {"id": "Baris", "en": "Row"},
    # coded values shown as words
    "source.col": {"id": "Sumber level", "en": "Source of level"},
    "source.self": {"id": "Penilaian mandiri OPD", "en": "OPD self-assessment"},
    "source.metric": {"id": "Metrik layanan", "en": "Service metric"},
    "source.verified": {"id": "Diverifikasi penilai", "en": "Verified by assessor"},
    "source.missing": {"id": "Belum ada data", "en": "No data yet"},
    "status.col": {"id": "Status", "en": "Status"},
    "status.none": {"id": "Belum mengirim", "en": "Not submitted"},
    "status.partial": {"id": "Sebagian", "en": "Partial"},
    "status.complete": {"id": "Lengkap", "en": "Complete"},
    "istatus.col": {"id": "Status", "en": "Status"},
    "istatus.missing": {"id": "Belum ada jawaban", "en": "No answer yet"},
    "istatus.partial": {"id": "Sebagian OPD menjawab", "en": "Some OPDs answered"},
    "agg.mean": {"id": "rata-rata", "en": "mean"},
    "agg.sum": {"id": "jumlah", "en": "sum"},
    "agg.last": {"id": "nilai terakhir", "en": "latest value"},
    "agg.min": {"id": "nilai terendah", "en": "minimum"},
    "agg.max": {"id": "nilai tertinggi", "en": "maximum"},
    "agg.None": {"id": "–", "en": "–"},
    # --- 1. overview ------------------------------------------------------------------------
    "overview.title": {"id": "Ringkasan Indeks Kota Cerdas", "en": "Smart City Index overview"},
    "overview.index": {"id": "Indeks kota cerdas (skala 0–{hi})", "en": "Smart city index (scale 0–{hi})"},
    "overview.index_help": {
        "id": "Rata-rata tertimbang lima dimensi evaluasi; tiap dimensi adalah rata-rata tertimbang level "
              "indikatornya. Rumus lengkap ada di halaman Rincian.",
        "en": "Weighted mean of the five evaluation dimensions; each dimension is the weighted mean of its "
              "indicators' levels. The full formula is on the Drill-down page.",
    },
    "overview.vs_year": {"id": "dibanding {year}", "en": "vs {year}"},
    "overview.prev": {"id": "Indeks {year}", "en": "Index {year}"},
    "overview.completeness": {"id": "Kelengkapan data", "en": "Data completeness"},
    "overview.completeness_help": {
        "id": "Bagian pasangan (indikator, OPD penanggung jawab) yang sudah dijawab tahun ini.",
        "en": "Share of (indicator, responsible OPD) pairs answered this year.",
    },
    "overview.answered": {"id": "{answered} dari {pairs} jawaban wajib sudah masuk.",
                          "en": "{answered} of {pairs} required answers received."},
    "overview.missing": {"id": "Indikator tanpa data", "en": "Indicators without data"},
    "overview.missing_help": {
        "id": "Indikator yang belum dijawab OPD mana pun, tidak punya metrik layanan, dan belum diverifikasi. "
              "Indikator ini dihitung 0 dalam indeks.",
        "en": "Indicators no OPD has answered, with no service metric and no verification. They count as 0 "
              "in the index.",
    },
    "overview.verified": {"id": "{n} indikator diverifikasi penilai.", "en": "{n} indicators verified by an assessor."},
    "overview.no_prev": {"id": "Belum ada data {year} untuk kota ini, jadi perubahan dari tahun lalu belum dapat "
                                "dihitung.",
                         "en": "There is no {year} data for this city, so the change from last year cannot be "
                               "shown."},
    "overview.dimensions": {"id": "Lima dimensi evaluasi", "en": "The five evaluation dimensions"},
    "overview.pillars": {"id": "Enam pilar kota cerdas", "en": "The six smart-city pillars"},
    "overview.priorities": {"id": "Lima indikator prioritas", "en": "Five priority indicators"},
    "overview.priorities_help": {
        "id": "Indikator yang paling menaikkan indeks bila naik satu level (bobot × ruang kenaikan), dengan "
              "indikator lain tetap.",
        "en": "The indicators that would raise the index most if improved by one level (weight × room to "
              "grow), all else equal.",
    },
    "overview.rank_national": {"id": "Peringkat nasional", "en": "National rank"},
    "overview.rank_province": {"id": "Peringkat di {group}", "en": "Rank in {group}"},
    "overview.rank_category": {"id": "Peringkat kategori {group}", "en": "Rank in category {group}"},
    "overview.rank_value": {"id": "{rank} dari {of}", "en": "{rank} of {of}"},
    "overview.rank_help": {"id": "Di antara kota/kabupaten yang memiliki data tahun ini; nilai sama berbagi "
                                 "peringkat (1, 2, 2, 4).",
                           "en": "Among the cities/regencies with data this year; equal values share a rank "
                                 "(1, 2, 2, 4)."},
    "overview.priority_gain": {"id": "indeks naik {gain} bila naik satu level (kini {level})",
                               "en": "index rises {gain} with one level more (now {level})"},
    "overview.priority_opds": {"id": "Penanggung jawab: {opds}", "en": "Responsible: {opds}"},
    "overview.priority_no_opd": {"id": "Belum ada OPD penanggung jawab di kota ini.",
                                 "en": "No OPD of this city is responsible for it yet."},
    "overview.priority_next": {"id": "**Level {level} berikutnya:**", "en": "**Next, level {level}:**"},
    "formula.words": {"id": "Σ(bobot × nilai) ÷ Σ bobot", "en": "Σ(weight × value) ÷ Σ weight"},
    "overview.no_priorities": {"id": "Semua indikator sudah di level tertinggi.",
                               "en": "Every indicator is at the top level."},
    # --- 2. rankings ------------------------------------------------------------------------
    "rankings.title": {"id": "Peringkat", "en": "Rankings"},
    "rankings.city_rank": {"id": "Peringkat nasional kota", "en": "City's national rank"},
    "rankings.city_rank_help": {"id": "Di antara kota/kabupaten yang memiliki data tahun ini; nilai sama berbagi "
                                      "peringkat.",
                                "en": "Among the cities/regencies with data this year; equal values share a rank."},
    "rankings.opds_ranked": {"id": "OPD yang memiliki nilai", "en": "OPDs with a score"},
    "rankings.opds_ranked_help": {"id": "OPD yang sudah menjawab minimal satu indikator tahun ini.",
                                  "en": "OPDs that answered at least one indicator this year."},
    "rankings.download_xlsx": {"id": "Unduh peringkat (XLSX)", "en": "Download rankings (XLSX)"},
    "rankings.download_csv": {"id": "Unduh tabel ini (CSV)", "en": "Download this table (CSV)"},
    "rankings.scale": {"id": "Indeks pada skala {lo}–{hi}; klik judul kolom untuk mengurutkan.",
                       "en": "Index on the {lo}–{hi} scale; click a column header to sort."},
    "rankings.tab_opd": {"id": "OPD {city}", "en": "OPDs of {city}"},
    "rankings.tab_city": {"id": "Kota/kabupaten nasional", "en": "Cities nationally"},
    "rankings.opd_help": {
        "id": "Indeks OPD dihitung hanya dari indikator yang dijawab OPD itu sendiri pada {year}; OPD yang "
              "belum menjawab tidak diberi peringkat. Perubahan dibanding {prev}.",
        "en": "An OPD's index counts only the indicators it answered itself in {year}; OPDs that have not "
              "answered are not ranked. Change against {prev}.",
    },
    "rankings.city_help": {
        "id": "Indeks kota {year}. Pergerakan: naik (+) atau turun (−) peringkat dibanding {prev}.",
        "en": "City index {year}. Movement: places gained (+) or lost (−) against {prev}.",
    },
    "rankings.missing_zero": {"id": "Indikator kosong dihitung 0, jadi data yang belum lengkap menurunkan indeks.",
                              "en": "Missing indicators count as 0, so incomplete data lowers the index."},
    "rankings.filtered": {"id": "Disaring: provinsi {province}, kategori {category}. Peringkat nasional tetap "
                                "dihitung atas semua kota.",
                          "en": "Filtered: province {province}, category {category}. National ranks are still "
                                "computed over every city."},
    "rankings.no_cities": {"id": "Belum ada kota/kabupaten dengan data untuk tahun ini.",
                           "en": "No city/regency has data for this year yet."},
    "rankings.framework_changed": {
        "id": "Sebagian kota dinilai dengan kerangka yang berbeda dari tahun lalu (kolom Kerangka); "
              "pergerakan peringkatnya tidak sepenuhnya sebanding.",
        "en": "Some cities were scored under a different framework than last year (Framework column); their "
              "rank movement is not fully comparable.",
    },
    # --- 3. year over year --------------------------------------------------------------------
    "compare.title": {"id": "Perbandingan antartahun", "en": "Year over year"},
    "compare.cities": {"id": "Kota/kabupaten (maks. {n})", "en": "Cities/regencies (up to {n})"},
    "compare.years": {"id": "Tahun", "en": "Years"},
    "compare.default_peers": {"id": "Bawaan: kota terpilih dan dua kota pembanding terdekat (kategori sama, lalu "
                                    "indeks terdekat). Ubah pilihan di atas.",
                              "en": "Default: the chosen city and its two nearest peers (same category, then nearest "
                                    "index). Change the choice above."},
    "compare.truncated": {"id": "Hanya {n} kota pertama yang ditampilkan.",
                          "en": "Only the first {n} cities are shown."},
    "compare.pick_city": {"id": "Pilih minimal satu kota/kabupaten untuk dibandingkan.",
                          "en": "Choose at least one city/regency to compare."},
    "compare.no_data": {"id": "Kota yang dipilih belum memiliki data pada tahun-tahun ini. Pilih tahun lain atau "
                              "lihat halaman Kelengkapan untuk OPD yang belum mengirim.",
                        "en": "The chosen cities have no data in these years. Choose other years or see the "
                              "Completeness page for the OPDs that have not submitted."},
    "compare.context": {"id": "Tahun {years}; semua nilai pada skala 0–4.",
                        "en": "Years {years}; every value on the 0–4 scale."},
    "compare.latest": {"id": "{city} ({year})", "en": "{city} ({year})"},
    "compare.since": {"id": "sejak {year}", "en": "since {year}"},
    "compare.card_framework": {"id": "Kerangka berbeda antara tahun awal dan akhir.",
                               "en": "Framework differs between the first and last year."},
    "compare.framework_changes": {
        "id": "Tahun-tahun ini dinilai dengan kerangka berbeda ({changes}); garis putus-putus pada grafik "
              "menandai pergantiannya. Perubahan di titik itu sebagian berasal dari kerangka.",
        "en": "These years were scored under different frameworks ({changes}); the dashed line on the charts "
              "marks the change. Movement at that point partly comes from the framework.",
    },
    "compare.missing": {"id": "Dalam tahun-tahun yang ditampilkan ada {n} indikator kosong yang dihitung {lo}.",
                        "en": "Across the years shown, {n} missing indicators count as {lo}."},
    "compare.index_lines": {"id": "Indeks dari tahun ke tahun", "en": "Index over the years"},
    "compare.dimension_lines": {"id": "Tiap dimensi evaluasi", "en": "Each evaluation dimension"},
    "compare.movers": {"id": "Indikator yang paling berubah", "en": "Biggest movers"},
    "compare.movers_help": {
        "id": "Level indikator dari tahun pertama ke tahun terakhir yang memiliki data untuk tiap kota. "
              "\"–\" berarti belum ada data pada tahun itu; perubahannya dihitung dari 0, seperti dalam indeks.",
        "en": "Indicator levels from each city's first to its last year with data. \"–\" means no data that "
              "year; its change is counted from 0, as in the index.",
    },
    "compare.rising": {"id": "Naik paling banyak", "en": "Rose most"},
    "compare.falling": {"id": "Turun paling banyak", "en": "Fell most"},
    "compare.none": {"id": "Tidak ada.", "en": "None."},
    # --- 4. drill-down -------------------------------------------------------------------------
    "drill.title": {"id": "Rincian perhitungan", "en": "Drill-down"},
    "drill.index_formula": {"id": "Dari dimensi ke indeks", "en": "From the dimensions to the index"},
    "drill.index_symbol": {"id": "Indeks", "en": "Index"},
    "drill.index_formula_help": {
        "id": "Tiap suku: bobot dimensi × nilai dimensi. Angka ditampilkan dua desimal; hasil dihitung dengan "
              "presisi penuh.",
        "en": "Each term: dimension weight × dimension value. Terms shown to two decimals; the result is computed "
              "at full precision.",
    },
    "drill.by": {"id": "Telusuri menurut", "en": "Drill down by"},
    "drill.by_dimension": {"id": "Dimensi evaluasi", "en": "Evaluation dimension"},
    "drill.by_pillar": {"id": "Pilar", "en": "Pillar"},
    "drill.pick_dimension": {"id": "Dimensi", "en": "Dimension"},
    "drill.pick_pillar": {"id": "Pilar", "en": "Pillar"},
    "drill.group_title": {"id": "{name}: {value}", "en": "{name}: {value}"},
    "drill.group_missing": {"id": "{n} indikator kosong dihitung {lo} dalam rumus ini.",
                            "en": "{n} missing indicators count as {lo} in this formula."},
    "drill.indicator": {"id": "Indikator", "en": "Indicator"},
    "drill.pick_indicator": {"id": "Pilih indikator", "en": "Choose an indicator"},
    "drill.effective": {"id": "Level efektif (0–{hi})", "en": "Effective level (0–{hi})"},
    "drill.counted": {"id": "Level dihitung", "en": "Level counted"},
    "drill.counted_help": {"id": "Level yang masuk ke rumus indeks (indikator kosong dihitung 0).",
                           "en": "The level that enters the index formula (missing indicators count as 0)."},
    "drill.where": {"id": "Dimensi {dimension} · pilar {pillar} · subpilar {sub} · bobot {weight}",
                    "en": "Dimension {dimension} · pillar {pillar} · sub-pillar {sub} · weight {weight}"},
    "drill.source_line": {"id": "Sumber level: {source}", "en": "Source of the level: {source}"},
    "drill.verified": {
        "id": "Level {level} ditetapkan penilai ({by}, {at}); verifikasi menggantikan metrik layanan dan "
              "penilaian mandiri.",
        "en": "Level {level} set by an assessor ({by}, {at}); a verification overrides the service metric and "
              "the self-assessment.",
    },
    "drill.verified_note": {"id": "Catatan penilai", "en": "Assessor's note"},
    "drill.metric": {
        "id": "Metrik layanan {code}: {agg} {value} {unit}. Ambang: {thresholds} → level {level}.",
        "en": "Service metric {code}: {agg} {value} {unit}. Thresholds: {thresholds} → level {level}.",
    },
    "drill.metric_overridden": {"id": "(Digantikan oleh verifikasi.)", "en": "(Overridden by the verification.)"},
    "drill.metric_sub": {"id": "Dikirim oleh {opd} · pengiriman no. {sid} · {at} · berkas {file}",
                         "en": "Sent by {opd} · submission no. {sid} · {at} · file {file}"},
    "drill.metric_none": {"id": "Metrik layanan {code} belum dilaporkan tahun ini (ambang: {thresholds}).",
                          "en": "Service metric {code} has not been reported this year (thresholds: {thresholds})."},
    "drill.missing": {
        "id": "Belum ada jawaban dari {n} OPD penanggung jawab, metrik, atau verifikasi: indikator ini dihitung "
              "{lo} dalam indeks. Minta OPD penanggung jawab mengisinya.",
        "en": "No answer from the {n} responsible OPDs, no metric and no verification: this indicator counts as "
              "{lo} in the index. Ask the responsible OPDs to fill it in.",
    },
    "drill.missing_excluded": {
        "id": "Belum ada jawaban dari {n} OPD penanggung jawab: indikator ini tidak diikutkan dalam perhitungan.",
        "en": "No answer from the {n} responsible OPDs: this indicator is left out of the calculation.",
    },
    "drill.rubric": {"id": "Rubrik level {level}:", "en": "Rubric for level {level}:"},
    "drill.full_rubric": {"id": "Rubrik lengkap indikator ini", "en": "This indicator's full rubric"},
    "drill.answers": {"id": "Penilaian mandiri OPD ({n} dari {total} OPD penanggung jawab)",
                      "en": "OPD self-assessments ({n} of {total} responsible OPDs)"},
    "drill.self_formula": {"id": "Rata-rata OPD", "en": "Mean over OPDs"},
    # --- 5. completeness --------------------------------------------------------------------------
    "compl.title": {"id": "Kelengkapan data", "en": "Data completeness"},
    "compl.submitted": {"id": "OPD sudah mengirim", "en": "OPDs that submitted"},
    "compl.submitted_help": {"id": "OPD yang bertanggung jawab atas minimal satu indikator dan sudah mengirim "
                                   "data untuk tahun ini.",
                             "en": "OPDs responsible for at least one indicator that have sent data for this year."},
    "compl.complete": {"id": "OPD lengkap", "en": "OPDs complete"},
    "compl.nothing": {
        "id": "Belum ada satu pun OPD {city} yang mengirim data untuk {year}. Bagikan templat kepada OPD "
              "(menu Pengisian) dan minta mereka mengunggah; indeks akan muncul setelah data masuk.",
        "en": "No OPD of {city} has sent data for {year} yet. Share the templates with the OPDs (Data entry) and "
              "ask them to upload; the index appears once data arrives.",
    },
    "compl.some_missing": {"id": "{n} OPD belum mengirim data tahun ini (status \"Belum mengirim\" di tabel).",
                           "en": "{n} OPDs have not sent data this year (status \"Not submitted\" in the table)."},
    "compl.all_submitted": {"id": "Semua OPD penanggung jawab sudah mengirim data.",
                            "en": "Every responsible OPD has sent data."},
    "compl.heat": {"id": "Kelengkapan OPD × pilar", "en": "Completeness by OPD × pillar"},
    "compl.heat_help": {"id": "Persentase indikator wajib OPD pada tiap pilar yang sudah dijawab; sel kosong: "
                              "OPD tidak bertanggung jawab atas pilar itu.",
                        "en": "Share of the OPD's required indicators in each pillar that it answered; blank: the "
                              "OPD has no indicator in that pillar."},
    "compl.opds": {"id": "Status pengiriman OPD", "en": "OPD submission status"},
    "compl.missing_title": {"id": "Indikator yang belum lengkap", "en": "Indicators still incomplete"},
    "compl.missing_help": {"id": "\"Belum ada jawaban\" dihitung 0 dalam indeks; \"Sebagian OPD menjawab\" "
                                 "berarti sebagian OPD penanggung jawab belum mengisi.",
                           "en": "\"No answer yet\" counts as 0 in the index; \"Some OPDs answered\" means some "
                                 "responsible OPDs have not filled it in."},
    "compl.none_missing": {"id": "Semua indikator sudah dijawab oleh semua OPD penanggung jawab.",
                           "en": "Every indicator has been answered by every responsible OPD."},
    # --- 6. maturity matrix ---------------------------------------------------------------------
    "matrix.title": {"id": "Peta kematangan", "en": "Maturity matrix"},
    "matrix.help": {"id": "Warna mengikuti kategori kematangan kerangka; sel kosong berarti tidak ada indikator "
                          "pada kombinasi itu.",
                    "en": "Colours follow the framework's maturity bands; a blank cell means no indicator in "
                          "that combination."},
    "matrix.city": {"id": "Dimensi × pilar: {city}", "en": "Dimension × pillar: {city}"},
    "matrix.city_help": {"id": "Tiap sel: rata-rata tertimbang level indikator pada dimensi dan pilar itu, "
                               "dihitung seperti indeks (lihat catatan skala di atas untuk indikator kosong).",
                         "en": "Each cell: weighted mean level of the indicators in that dimension and pillar, "
                               "counted as in the index (see the scale note above for missing indicators)."},
    "matrix.opds": {"id": "OPD × pilar", "en": "OPD × pillar"},
    "matrix.opds_help": {"id": "Tiap sel: rata-rata tertimbang level yang dijawab OPD itu sendiri (atau level "
                               "verifikasi) pada pilar itu; sel kosong: OPD tidak menjawab indikator pilar itu.",
                         "en": "Each cell: weighted mean of the levels the OPD itself answered (or the verified "
                               "level) in that pillar; blank: the OPD answered no indicator of that pillar."},
}
