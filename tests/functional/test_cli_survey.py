"""`python -m metrics survey load` end to end, as a subprocess on a real database file: the
mapping remembered or guessed (and printed), the hand-computed figures, located refusals, exit
codes as `ingest`'s."""

from __future__ import annotations

import pytest

from metrics.records import Programme
from metrics.store import Store
from tests.conftest import FIXTURES, make_mini_store
from tests.functional.test_cli import run

GF = FIXTURES / "survey-googleforms.csv"
KOBO = FIXTURES / "survey-kobo.csv"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    store = make_mini_store(path)
    with store.transaction() as cur:
        store.insert_programme_version(
            cur,
            "0101",
            [
                Programme("P-GOV-01", "Aplikasi pengaduan terpadu", "GOV", "masterplan", "01", 2023, 2025),
                Programme("P-ENV-01", "Bank sampah digital", "ENV", "quickwin", "03", 2023, 2024),
            ],
            "admin",
            "load",
        )
    store.close()
    return str(path)


def test_survey_load_guesses_prints_the_mapping_and_stores_the_figures(db):
    r = run("--db", db, "survey", "load", str(GF), "--city", "0101", "--year", "2024")
    assert r.returncode == 0, r.stderr
    assert (
        "Pemetaan: kolom program 'Kode program'; pertanyaan: Seberapa puas Anda dengan layanan program ini?, "
        "Apakah program ini memudahkan urusan Anda?." in r.stdout
    )
    assert "8 baris, 7 responden, 2 program (minimal 50 responden per program)" in r.stdout
    # P-GOV-01: 31 / 8 = 3.875; P-ENV-01: 19 / 5 = 3.8 (both under 50 respondents)
    assert (
        "P-GOV-01 Aplikasi pengaduan terpadu (01): n=4 mean=3,88 impact=2,88  belum cukup (kurang dari 50)"
        in r.stdout
    )
    assert "P-ENV-01 Bank sampah digital (03): n=3 mean=3,80 impact=2,80" in r.stdout
    store = Store(db)
    try:
        upload, results = store.survey_in_force("0101", 2024)
        assert upload.source == "cli" and upload.file_name == GF.name and upload.username == "system"
        assert [(s.programme_code, s.respondents, s.answer_sum) for s in results] == [
            ("P-ENV-01", 3, 19.0),
            ("P-GOV-01", 4, 31.0),
        ]
        assert store.audit_rows()[-1].action == "survey.import"
    finally:
        store.close()


def test_survey_load_with_columns_given_and_in_english(db):
    r = run(
        "--db", db, "--lang", "en", "survey", "load", str(KOBO), "--city", "0101", "--year", "2024",
        "--programme-column", "kode_program", "--question-columns", "q1_kepuasan, q2_manfaat",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Mapping: programme column 'kode_program'; questions: q1_kepuasan, q2_manfaat." in r.stdout
    # P-ENV-01: 5 4 / 4 4 / 3 _ -> 5 answers, sum 20; P-GOV-01: 1 2 / 2 2 -> 4 answers, sum 7
    assert "P-ENV-01 Bank sampah digital (03): n=3 mean=4.00 impact=3.00" in r.stdout
    assert "P-GOV-01 Aplikasi pengaduan terpadu (01): n=2 mean=1.75 impact=0.75" in r.stdout
    # the next load of a Kobo export uses the remembered mapping (two questions, not three)
    r = run("--db", db, "--lang", "en", "survey", "load", str(KOBO), "--city", "0101", "--year", "2024")
    assert r.returncode == 0 and "questions: q1_kepuasan, q2_manfaat." in r.stdout


def test_survey_load_refused_prints_the_located_problems_and_exits_1(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kode_program;q1;q2;Saran\nP-GOV-01;4;7;\nP-XXX-01;3;3;\nP-ENV-01;3;3;telp 0812-3456-7890\n",
        encoding="utf-8",
    )
    r = run("--db", db, "--lang", "en", "survey", "load", str(bad), "--city", "0101", "--year", "2024",
            "--programme-column", "kode_program", "--question-columns", "q1,q2")  # fmt: skip
    assert r.returncode == 1
    assert "bad.csv: rejected" in r.stdout
    assert "  - bad.csv, row 4, column Saran: The cell holds a phone number." in r.stdout
    assert "  - bad.csv, row 2, column q2: Answer 7 is outside the scale 1–5." in r.stdout
    assert (
        "  - bad.csv, row 3, column kode_program: Programme 'P-XXX-01' is not in the programme register"
        in r.stdout
    )
    assert "0812" not in r.stdout
    store = Store(db)
    try:
        assert store.survey_uploads("0101") == [] and store.survey_mapping("0101") is None
    finally:
        store.close()


def test_survey_load_without_a_guessable_mapping_or_with_a_refused_user(db, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\nx,y\n", encoding="utf-8")
    r = run("--db", db, "--lang", "en", "survey", "load", str(odd), "--city", "0101", "--year", "2024")
    assert r.returncode == 1 and "give --programme-column and --question-columns" in r.stderr
    r = run(
        "--db",
        db,
        "user",
        "add",
        "lihat",
        "--role",
        "viewer",
        "--city",
        "0101",
        stdin="rahasia-panjang-sekali\n",
    )
    assert r.returncode == 0, r.stderr
    r = run(
        "--db",
        db,
        "--lang",
        "en",
        "survey",
        "load",
        str(GF),
        "--city",
        "0101",
        "--year",
        "2024",
        "--user",
        "lihat",
    )
    assert r.returncode == 1 and "may not perform 'import_survey'" in r.stderr
