"""`python -m metrics` end to end, as a subprocess on a real database file."""

import json
import subprocess
import sys

import openpyxl
import pytest

from tests.conftest import ASSESS_CSV, ROOT, make_mini_store


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=120)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    make_mini_store(path).close()
    return str(path)


def test_ingest_score_rank_json(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(ASSESS_CSV)
    r = run("--db", db, "ingest", str(good))
    assert r.returncode == 0, r.stderr
    assert "good.csv: diterima, 4 rows" in r.stdout and "delimiter ';'" in r.stdout
    r = run("--db", db, "score", "--year", "2023", "--json")
    out = json.loads(r.stdout)
    assert out["framework"] == "mini-2023" and out["year"] == 2023
    city = next(c for c in out["cities"] if c["city_code"] == "0101")
    assert city["index"] == pytest.approx(1.8)
    assert city["dimensions"] == pytest.approx({"OUTPUT": 1.5, "OUTCOME": 2.0})
    assert city["pillars"] == pytest.approx({"GOV": 3.0, "ENV": 0.75})
    assert city["subpillars"] == pytest.approx({"GOV.PUB": 3.0})
    assert city["completeness"] == pytest.approx(0.8) and city["band"] == "Rintisan"
    r = run("--db", db, "rank", "--year", "2023", "--by", "opd", "--city", "0101", "--json")
    assert [(x["code"], x["rank"]) for x in json.loads(r.stdout)] == [("02", 1), ("01", 2), ("03", 3)]
    r = run("--db", db, "score", "--year", "2023")
    assert r.returncode == 0 and "Kota Uji" in r.stdout and "1.80" in r.stdout


def test_score_check_compares_the_stored_scores_with_a_recomputation(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(ASSESS_CSV)
    assert run("--db", db, "ingest", str(good)).returncode == 0
    r = run("--db", db, "score", "--year", "2023", "--check")
    assert r.returncode == 0, r.stderr
    assert "OK: 1 stored city scores for 2023 equal a recomputation" in r.stdout
    import duckdb

    con = duckdb.connect(db)  # a stored score changed behind the product's back
    con.execute("UPDATE score_city SET index = index + 1")
    con.close()
    r = run("--db", db, "score", "--year", "2023", "--check")
    assert r.returncode == 1
    assert "0101 2023: index" in r.stderr and "SCORES DIFFER" in r.stderr


def test_rejected_file_exit_1_with_positions_in_both_languages(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,\"3,5\",,\n")
    r = run("--db", db, "ingest", str(bad))
    assert r.returncode == 1
    assert "bad.csv: ditolak" in r.stdout and "baris 2, kolom level" in r.stdout and "koma desimal" in r.stdout
    r = run("--db", db, "--lang", "en", "ingest", "--json", str(bad))
    assert r.returncode == 1
    res = json.loads(r.stdout)
    assert res[0]["status"] == "rejected"
    assert res[0]["errors"][0]["row"] == 2 and res[0]["errors"][0]["column"] == "level"
    assert "decimal comma" in res[0]["errors"][0]["message"]


def test_usage_error_exit_2(db):
    assert run("--db", db, "score").returncode == 2
    assert run("--db", db, "frobnicate").returncode == 2


def test_template_then_ingest_folder(db, tmp_path):
    out = tmp_path / "isian" / "t.xlsx"
    out.parent.mkdir()
    r = run("--db", db, "template", "--city", "0101", "--opd", "03", "--year", "2023", "-o", str(out))
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    ws = wb["Penilaian"]
    ws["J11"] = 2
    ws["J12"] = 4
    wb.save(out)
    r = run("--db", db, "ingest", str(out.parent), "--json")
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout)[0]["rows"] == 2


def test_user_add_list_and_acting_user_scope(db, tmp_path):
    r = run("--db", db, "user", "add", "op.dlh", "--role", "opd", "--city", "0101", "--opd", "03",
            stdin="Sandi-Rahasia-Dlh\n")
    assert r.returncode == 0, r.stderr
    r = run("--db", db, "user", "add", "lemah", "--role", "viewer", stdin="password\n")
    assert r.returncode == 1 and "terlalu umum" in r.stderr
    r = run("--db", db, "user", "add", "tamu.nasional", "--role", "viewer", stdin="Sandi-Tamu-Nasional\n")
    assert r.returncode == 0, r.stderr
    r = run("--db", db, "user", "list")
    assert "op.dlh" in r.stdout and "lemah" not in r.stdout
    # a user of no city is listed as '*' (every city), never as pandas' 'nan'
    assert "nan" not in r.stdout.split()
    assert next(line for line in r.stdout.splitlines() if line.startswith("tamu.nasional")).split()[2] == "*"
    f = tmp_path / "x.csv"
    f.write_bytes(ASSESS_CSV)  # holds OPDs 01 and 02: not op.dlh's
    r = run("--db", db, "ingest", str(f), "--user", "op.dlh")
    assert r.returncode == 1 and "Akses ditolak" in r.stdout


def test_export_neutralises_and_audit_verify(db, tmp_path):
    evil = tmp_path / "evil.csv"
    evil.write_text("city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,3,=HYPERLINK(\"x\"),\n")
    assert run("--db", db, "ingest", str(evil)).returncode == 0
    out = tmp_path / "e.xlsx"
    r = run("--db", db, "export", "--year", "2023", "--city", "0101", "-o", str(out))
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Indeks", "OPD", "Indikator"]
    assert all(c.data_type != "f" for ws in wb for row in ws.iter_rows() for c in row)
    r = run("--db", db, "audit", "verify")
    assert r.returncode == 0 and "chain intact" in r.stdout
