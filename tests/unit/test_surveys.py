"""The citizen impact survey import (metrics.surveys): exports of the form tools people use read
into per-programme counts and sums, with hand-computed respondents and means; every refusal
located and leaving the store untouched; personal data refused by header and by value."""

from __future__ import annotations

import io
import json
from datetime import datetime

import openpyxl
import pytest

from metrics.auth import SYSTEM, User
from metrics.errors import PermissionDenied
from metrics.personal import find_contact
from metrics.records import Programme
from metrics.surveys import (
    SurveyMapping,
    import_survey,
    personal_header,
    read_survey_table,
    suggest_mapping,
    survey_history,
    survey_summary,
)
from tests.conftest import FIXTURES

pytestmark = pytest.mark.both_backends

GF = (FIXTURES / "survey-googleforms.csv").read_bytes()
KOBO_CSV = (FIXTURES / "survey-kobo.csv").read_bytes()
GF_Q1 = "Seberapa puas Anda dengan layanan program ini?"
GF_Q2 = "Apakah program ini memudahkan urusan Anda?"
GF_MAPPING = SurveyMapping("Kode program", (GF_Q1, GF_Q2))
KOBO_MAPPING = SurveyMapping("kode_program", ("q1_kepuasan", "q2_manfaat", "q3_rekomendasi"))
PLANNER = User("perencana", "planner", "0101")


def _programmes(store):
    """Kota Uji's register: two programmes planned for 2024, one starting in 2025; Kota Coba's one."""
    with store.transaction() as cur:
        store.insert_programme_version(
            cur,
            "0101",
            [
                Programme("P-GOV-01", "Aplikasi pengaduan terpadu", "GOV", "masterplan", "01", 2023, 2025),
                Programme("P-ENV-01", "Bank sampah digital", "ENV", "quickwin", "03", 2023, 2024),
                Programme("P-GOV-02", "Perizinan daring terpadu", "GOV", "masterplan", "02", 2025, 2026),
            ],
            "admin",
            "load",
        )
        store.insert_programme_version(
            cur,
            "0202",
            [Programme("P-COBA-01", "Wifi taman kota", "GOV", "masterplan", "01", 2023, 2026)],
            "admin",
            "load",
        )


@pytest.fixture
def store(mini):
    _programmes(mini)
    return mini


def _by_code(result):
    return {p.code: p for p in result.programmes}


def _kobo_xlsx(rows=None, header=None):
    """A KoboToolbox-style XLSX export (metadata columns around the questions), built here."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Survei Dampak Program"
    ws.append(
        header
        or ["start", "end", "kode_program", "q1_kepuasan", "q2_manfaat", "q3_rekomendasi", "_id", "_uuid"]
    )
    uuid = "3f8e2a10-7c4b-4d7e-9a51-0b2c6d8e1f9{}"
    for n, (code, *answers) in enumerate(
        rows
        or [
            ("P-ENV-01", 5, 4, 5),
            ("P-ENV-01", 4, 4, None),
            ("P-ENV-01", 3, None, None),
            ("P-GOV-01", 1, 2, 2),
            ("P-GOV-01", 2, 2, 1),
            ("P-GOV-01", None, None, None),  # opened the form, answered nothing: not a respondent
        ]
    ):
        start = datetime(2024, 6, 10, 9, n)
        ws.append([start, start.replace(second=50), code, *answers, 245678901 + n, uuid.format(n)])
    ws2 = wb.create_sheet("Lainnya")
    ws2.append(["catatan"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv(header, rows, sep=","):
    lines = [sep.join(header)] + [sep.join("" if v is None else str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _nothing_stored(store, audit_before):
    assert store.survey_uploads("0101") == [] and store.survey_mapping("0101") is None
    assert store.audit_count() == audit_before


# ---------------------------------------------------------------------------------- accepted


def test_google_forms_csv_imports_the_hand_computed_counts_and_means(store):
    table = read_survey_table(GF, "survei.csv")
    assert table.sheet is None and table.delimiter == "," and len(table.rows) == 8
    assert suggest_mapping(store, "0101", table) == GF_MAPPING  # timestamp and free text left out
    r = import_survey(store, PLANNER, "0101", 2024, GF, "survei.csv", GF_MAPPING, min_respondents=4)
    assert r.problems == [] and r.upload_id is not None and r.rows == 8
    gov, env = _by_code(r)["P-GOV-01"], _by_code(r)["P-ENV-01"]
    # P-GOV-01: answers 4 5 / 3 4 / 5 5 / 2 3 -> 8 answers, sum 31
    assert (gov.respondents, gov.answers) == (4, 8)
    assert gov.mean_answer == pytest.approx(31 / 8) and gov.impact == pytest.approx(31 / 8 - 1)
    assert gov.name == "Aplikasi pengaduan terpadu" and gov.owner_opd == "01" and gov.sufficient
    assert [(q, n, pytest.approx(m)) for q, n, m in gov.questions] == [(GF_Q1, 4, 3.5), (GF_Q2, 4, 4.25)]
    # P-ENV-01: 4 _ / 3 3 / 5 4 (a skipped question is no answer); the last row answered nothing
    assert (env.respondents, env.answers) == (3, 5)
    assert env.mean_answer == pytest.approx(19 / 5) and env.impact == pytest.approx(2.8)
    assert env.owner_opd == "03" and not env.sufficient  # 3 < 4
    assert [(q, n, pytest.approx(m)) for q, n, m in env.questions] == [(GF_Q1, 3, 4.0), (GF_Q2, 2, 3.5)]
    # stored: aggregates only, the file's hash but not its content
    upload, results = store.survey_in_force("0101", 2024)
    assert upload.id == r.upload_id and upload.n_rows == 8 and upload.source == "upload"
    assert upload.username == "perencana" and len(upload.sha256) == 64
    assert SurveyMapping.from_json(upload.mapping) == GF_MAPPING
    assert [(s.programme_code, s.respondents, s.answers, s.answer_sum, s.owner_opd) for s in results] == [
        ("P-ENV-01", 3, 5, 19.0, "03"),
        ("P-GOV-01", 4, 8, 31.0, "01"),
    ]


def test_kobo_semicolon_csv_and_xlsx_give_the_same_hand_computed_figures(store):
    table = read_survey_table(KOBO_CSV, "kobo.csv")
    assert table.delimiter == ";"
    assert suggest_mapping(store, "0101", table) == KOBO_MAPPING  # start/end/today/_id/_index left out
    xlsx = _kobo_xlsx()
    xtable = read_survey_table(xlsx, "kobo.xlsx")
    assert xtable.sheet == "Survei Dampak Program" and xtable.row_numbers == [2, 3, 4, 5, 6, 7]
    assert suggest_mapping(store, "0101", xtable) == KOBO_MAPPING
    for data, name in ((KOBO_CSV, "kobo.csv"), (xlsx, "kobo.xlsx")):
        r = import_survey(store, PLANNER, "0101", 2024, data, name, KOBO_MAPPING, source="cli")
        assert r.problems == [] and r.rows == 6 and r.min_respondents == 50
        env, gov = _by_code(r)["P-ENV-01"], _by_code(r)["P-GOV-01"]
        # P-ENV-01: 5 4 5 / 4 4 _ / 3 _ _ -> 6 answers, sum 25
        assert (env.respondents, env.answers, env.mean_answer) == (3, 6, pytest.approx(25 / 6))
        assert env.impact == pytest.approx(25 / 6 - 1)
        # P-GOV-01: 1 2 2 / 2 2 1 -> 6 answers, sum 10; the empty row is not a respondent
        assert (gov.respondents, gov.answers, gov.mean_answer) == (2, 6, pytest.approx(10 / 6))
        assert [(q, n, pytest.approx(m)) for q, n, m in gov.questions] == [
            ("q1_kepuasan", 2, 1.5),
            ("q2_manfaat", 2, 2.0),
            ("q3_rekomendasi", 2, 1.5),
        ]
        assert not env.sufficient and not gov.sufficient  # under the default 50


def test_a_programme_under_the_minimum_is_stored_but_insufficient(store):
    rows = [("P-GOV-01", 1 + n % 5, 5 - n % 5) for n in range(50)] + [("P-ENV-01", 4, 5)] * 12
    data = _csv(["kode_program", "q1", "q2"], rows)
    r = import_survey(
        store, PLANNER, "0101", 2024, data, "s.csv", SurveyMapping("kode_program", ("q1", "q2"))
    )
    gov, env = _by_code(r)["P-GOV-01"], _by_code(r)["P-ENV-01"]
    # 50 respondents, each answering n%5+1 and 5-n%5: every pair sums to 6 -> mean 3, impact 2
    assert (gov.respondents, gov.mean_answer, gov.impact, gov.sufficient) == (50, 3.0, 2.0, True)
    assert (env.respondents, env.mean_answer, env.impact, env.sufficient) == (12, 4.5, 3.5, False)
    s = survey_summary(store, PLANNER, "0101", 2024, "en")
    assert s.min_respondents == 50 and [p.code for p in s.programmes] == ["P-ENV-01", "P-GOV-01"]
    assert [p.respondents for p in s.programmes] == [12, 50]
    assert s.mean_impact == pytest.approx(2.0)  # only the sufficient programme
    assert s.note == "Left out of the Impact score for fewer than 50 respondents: P-ENV-01."
    assert s.programmes[1].name == "Aplikasi pengaduan terpadu" and s.upload.id == r.upload_id


def test_the_floor_comes_from_the_framework_s_survey_dimension(store):
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    text = text.replace("id: mini-2023\napplies_from: 2023", "id: mini-2024\napplies_from: 2024").replace(
        "weight: 0.6}",
        "weight: 0.4}\n  - {code: IMPACT, name: {id: Dampak, en: Impact}, weight: 0.2, method: survey,"
        " min_respondents: 3}",
    )
    from metrics.governance import load_framework_text

    load_framework_text(store, SYSTEM, text)
    r = import_survey(store, PLANNER, "0101", 2024, GF, "survei.csv", GF_MAPPING)
    assert r.min_respondents == 3 and all(p.sufficient for p in r.programmes)
    assert survey_summary(store, PLANNER, "0101", 2024, "id").min_respondents == 3
    assert survey_summary(store, PLANNER, "0101", 2023, "id").min_respondents == 50


def test_the_mapping_is_remembered_per_city_and_reused(store):
    only_q1 = SurveyMapping("Kode program", (GF_Q1,))
    r = import_survey(store, PLANNER, "0101", 2024, GF, "survei.csv", only_q1)
    assert r.accepted and _by_code(r)["P-ENV-01"].answers == 3
    assert SurveyMapping.from_json(store.survey_mapping("0101")) == only_q1
    # the next export of the same form: the remembered mapping, not the guess (which takes both)
    assert suggest_mapping(store, "0101", read_survey_table(GF, "mei.csv")) == only_q1
    # another city has its own; a form without the remembered columns gets a fresh guess
    assert store.survey_mapping("0202") is None
    assert suggest_mapping(store, "0101", read_survey_table(KOBO_CSV, "kobo.csv")) == KOBO_MAPPING
    # an import with other columns replaces the remembered mapping (one row per city)
    assert import_survey(store, PLANNER, "0101", 2024, GF, "juni.csv", GF_MAPPING).accepted
    assert SurveyMapping.from_json(store.survey_mapping("0101")) == GF_MAPPING


def test_a_new_import_supersedes_the_previous_one_which_is_kept_and_audited(store):
    n = store.audit_count()
    first = import_survey(store, PLANNER, "0101", 2024, GF, "april.csv", GF_MAPPING)
    second = import_survey(store, SYSTEM, "0101", 2024, KOBO_CSV, "mei.csv", KOBO_MAPPING)
    assert second.upload_id > first.upload_id
    assert [u.id for u in survey_history(store, PLANNER, "0101", 2024)] == [second.upload_id, first.upload_id]
    assert store.survey_in_force("0101", 2024)[0].file_name == "mei.csv"
    assert {s.programme_code: s.respondents for s in store.survey_results(first.upload_id)} == {
        "P-GOV-01": 4,
        "P-ENV-01": 3,
    }
    s = survey_summary(store, PLANNER, "0101", 2024, "id")
    assert s.superseded == 1 and s.upload.file_name == "mei.csv" and s.upload.username == SYSTEM.username
    assert store.audit_count() == n + 2
    rows = store.audit_rows()[-2:]
    assert [(a.action, a.username) for a in rows] == [
        ("survey.import", "perencana"),
        ("survey.import", "system"),
    ]
    assert rows[0].before is None and json.loads(rows[1].before) == {
        "upload_id": first.upload_id,
        "file": "april.csv",
    }
    after = json.loads(rows[0].after)
    assert {k: after[k] for k in ("file", "rows", "respondents", "programmes", "insufficient")} == {
        "file": "april.csv",
        "rows": 8,
        "respondents": 7,
        "programmes": 2,
        "insufficient": 2,
    }
    assert rows[0].object == "survey:0101/2024"


def test_no_survey_yet_reads_as_empty(store):
    s = survey_summary(store, PLANNER, "0101", 2024, "id")
    assert s.upload is None and s.programmes == [] and s.mean_impact is None and s.note == ""


# ---------------------------------------------------------------------------------- refused


def _refused(store, data, mapping, file="s.csv", year=2024):
    n = store.audit_count()
    r = import_survey(store, PLANNER, "0101", year, data, file, mapping)
    assert r.upload_id is None and r.programmes == []
    _nothing_stored(store, n)
    return [(p.key, p.row, p.column) for p in r.problems], r.problems


M3 = SurveyMapping("kode_program", ("q1", "q2"))


def test_programme_codes_must_be_the_city_s_planned_programmes(store):
    data = _csv(
        ["kode_program", "q1", "q2"],
        [
            ("P-GOV-01", 4, 4),
            ("P-XXX-99", 4, 4),  # nobody's programme
            ("P-COBA-01", 3, 3),  # Kota Coba's
            ("P-GOV-02", 5, 5),  # Kota Uji's, but it starts in 2025
            ("", 2, 2),
            ("", None, None),  # no answer, no code: not a respondent, not a problem
        ],
    )
    found, problems = _refused(store, data, M3)
    assert found == [
        ("survey.programme_unknown", 3, "kode_program"),
        ("survey.programme_unknown", 4, "kode_program"),
        ("survey.programme_not_planned", 5, "kode_program"),
        ("survey.programme_missing", 6, "kode_program"),
    ]
    assert problems[1].render("en") == (
        "s.csv, row 4, column kode_program: Programme 'P-COBA-01' is not in the programme register of city 0101."
    )
    assert (
        problems[2].message("id") == "Program 'P-GOV-02' tidak direncanakan pada 2024 (berjalan 2025–2026)."
    )


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (0, "survey.answer_range"),
        (6, "survey.answer_range"),
        ("abc", "survey.answer_invalid"),
        ("3,5", "survey.answer_invalid"),
        ("4.5", "survey.answer_invalid"),
    ],
)
def test_answers_must_be_whole_numbers_one_to_five(store, value, key):
    data = _csv(["kode_program", "q1", "q2"], [("P-GOV-01", 4, 4), ("P-GOV-01", 3, value)], sep=";")
    found, problems = _refused(store, data, M3)
    assert found == [(key, 3, "q2")]
    assert str(value) in problems[0].message("en")


def test_every_problem_of_a_workbook_is_reported_at_once_with_sheet_row_and_column(store):
    data = _kobo_xlsx(rows=[("P-GOV-01", 4, 0, 5), ("P-XXX-99", 6, 2, 2), ("P-ENV-01", 3, 3, 3)])
    found, problems = _refused(store, data, KOBO_MAPPING, file="kobo.xlsx")
    assert found == [
        ("survey.answer_range", 2, "E (q2_manfaat)"),
        ("survey.programme_unknown", 3, "C (kode_program)"),
        ("survey.answer_range", 3, "D (q1_kepuasan)"),
    ]
    assert all(p.sheet == "Survei Dampak Program" and p.file == "kobo.xlsx" for p in problems)
    assert problems[0].render("id") == (
        "kobo.xlsx, lembar Survei Dampak Program, baris 2, kolom E (q2_manfaat): Jawaban 0 di luar skala 1–5."
    )


def test_mapped_columns_must_exist(store):
    found, problems = _refused(
        store, GF, SurveyMapping("Program", (GF_Q1, "Pertanyaan 9")), file="survei.csv"
    )
    assert found == [("survey.column_missing", 1, None), ("survey.column_missing", 1, None)]
    assert [p.params["column"] for p in problems] == ["Program", "Pertanyaan 9"]
    found, _ = _refused(store, GF, SurveyMapping("Kode program", ()), file="survei.csv")
    assert found == [("survey.no_questions", None, None)]


@pytest.mark.parametrize(
    "header", ["Nama", "No HP", "Email", "NIK", "Nomor WhatsApp", "e-mail", "Alamat rumah", "no_kk"]
)
def test_a_personal_column_refuses_the_file_naming_the_column(store, header):
    data = _csv(["kode_program", "q1", "q2", header], [("P-GOV-01", 4, 4, "x"), ("P-ENV-01", 3, 3, "")])
    found, problems = _refused(store, data, M3)
    assert found == [("survey.personal_column", 1, header)]
    assert f"'{header}'" in problems[0].message("en") and "delete this column" in problems[0].message("en")


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        ("hubungi saya di budi.santoso@gmail.com", "survey.personal_email"),
        ("3201234567890123", "file.personal_data"),
        ("0812 3456 7890", "survey.personal_phone"),
        ("WA: +62 813-1234-5678", "survey.personal_phone"),
    ],
)
def test_personal_data_in_any_cell_refuses_the_file_without_repeating_it(store, cell, key):
    data = _csv(
        ["Timestamp", "Kode program", "Q1", "Saran"],
        [
            ("2024/05/02 9:15:01 AM GMT+7", "P-GOV-01", 4, "Bagus"),
            ("2024/05/02 9:16:01 AM GMT+7", "P-GOV-01", 5, cell),
        ],
    )
    found, problems = _refused(store, data, SurveyMapping("Kode program", ("Q1",)))
    assert found == [(key, 3, "Saran")]
    assert cell not in problems[0].render("en")


def test_personal_data_is_refused_in_a_workbook_too_even_as_a_number(store):
    data = _kobo_xlsx(
        header=[
            "start",
            "end",
            "kode_program",
            "q1_kepuasan",
            "q2_manfaat",
            "q3_rekomendasi",
            "_id",
            "kontak",
        ],
        rows=[("P-GOV-01", 4, 4, 4)],
    )
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb.active["H2"] = 81234567890  # Excel dropped the leading 0 of 0812...
    buf = io.BytesIO()
    wb.save(buf)
    found, _ = _refused(store, buf.getvalue(), KOBO_MAPPING, file="kobo.xlsx")
    assert found == [("survey.personal_phone", 2, "H (kontak)")]


def test_what_is_not_personal(store):
    # a question about a WhatsApp service, mapped as a question (its values are 1-5 answers only),
    # a programme's name, and Kobo's ids and timestamps are not personal data
    q = "Seberapa mudah layanan pengaduan lewat WhatsApp?"
    data = _csv(
        ["_submission_time", "Kode program", "Nama program", q, "_uuid"],
        [
            (
                "2024-06-10T02:05:13",
                "P-GOV-01",
                "Aplikasi pengaduan",
                4,
                "62081234-4471-4a55-8f3a-620812345678",
            )
        ],
    )
    r = import_survey(store, PLANNER, "0101", 2024, data, "s.csv", SurveyMapping("Kode program", (q,)))
    assert r.problems == [] and r.accepted
    assert not personal_header("Nama program") and not personal_header("Nama OPD pengampu")
    assert personal_header("Nama lengkap") and personal_header("NoHP") and personal_header("Alamat e-mail")
    for text in ("Rp 62.500.000.000", "2024-06-20 08:15:00", "Perda 12/2024", "245678901", "021 555 1234"):
        assert find_contact(text) is None, text
    assert find_contact("+6281234567890") == "phone" and find_contact(6281234567890) == "phone"


def test_a_file_the_readers_refuse_is_reported_not_raised(store):
    found, _ = _refused(store, b"%PDF-1.7 not a survey", M3, file="survei.pdf")
    assert found == [("file.not_spreadsheet", None, None)]
    found, _ = _refused(store, _kobo_xlsx(), M3, file="kobo.xlsx")  # columns q1/q2 do not exist
    assert [k for k, _r, _c in found] == ["survey.column_missing", "survey.column_missing"]


def test_only_admin_and_the_city_s_planner_may_import(store):
    for user in (
        User("lihat", "viewer", "0101"),
        User("op", "opd", "0101", "01"),
        User("nilai", "assessor", "0101"),
        User("perencana2", "planner", "0202"),
    ):
        with pytest.raises(PermissionDenied):
            import_survey(store, user, "0101", 2024, GF, "survei.csv", GF_MAPPING)
    assert store.survey_uploads("0101") == []
    with pytest.raises(PermissionDenied):
        survey_summary(store, User("lihat", "viewer", "0101"), "0101", 2024, "id")
    with pytest.raises(PermissionDenied):
        survey_history(store, User("lihat", "viewer", "0101"), "0101", 2024)
    with pytest.raises(PermissionDenied):  # an OPD reads its own OPD's submissions, not the city's
        survey_summary(store, User("op", "opd", "0101", "01"), "0101", 2024, "id")
    for reader in (User("nilai", "assessor", "0101"), User("wali", "executive", "0101"), PLANNER):
        assert survey_summary(store, reader, "0101", 2024, "id").upload is None


def test_a_locked_year_refuses_an_import(store):
    from metrics.errors import PeriodClosed
    from metrics.governance import set_period

    set_period(store, SYSTEM, "0101", 2024, "locked")
    n = store.audit_count()
    with pytest.raises(PeriodClosed):
        import_survey(store, PLANNER, "0101", 2024, GF, "survei.csv", GF_MAPPING)
    _nothing_stored(store, n)
