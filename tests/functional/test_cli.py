"""`python -m metrics` end to end, as a subprocess on a real database file."""

import json
import subprocess
import sys

import openpyxl
import pytest

from tests.conftest import ASSESS_CSV, ROOT, make_mini_store


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    make_mini_store(path).close()
    return str(path)


def test_ingest_score_rank_json(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(ASSESS_CSV)
    log = tmp_path / "ingest.log"
    r = run("--db", db, "ingest", str(good), "--log", str(log))
    assert r.returncode == 0, r.stderr
    # an accepted file's line is in the log (and --json), the terminal gets the batch's one line
    assert "good.csv:" not in r.stdout and "1 diterima, 0 ditolak, 3 versi baru" in r.stdout
    assert "good.csv: diterima, 4 rows" in log.read_text() and "delimiter ';'" in log.read_text()
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
    bad.write_text('city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,"3,5",,\n')
    r = run("--db", db, "ingest", str(bad))
    assert r.returncode == 1
    assert (
        "bad.csv: ditolak" in r.stdout and "baris 2, kolom level" in r.stdout and "koma desimal" in r.stdout
    )
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
    r = run(
        "--db",
        db,
        "user",
        "add",
        "op.dlh",
        "--role",
        "opd",
        "--city",
        "0101",
        "--opd",
        "03",
        stdin="Sandi-Rahasia-Dlh\n",
    )
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
    assert r.returncode == 1 and "dibuat untuk OPD 01" in r.stdout and "bukan untuk OPD Anda (03" in r.stdout


def test_export_neutralises_and_audit_verify(db, tmp_path):
    evil = tmp_path / "evil.csv"
    evil.write_text(
        'city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,3,=HYPERLINK("x"),\n'
    )
    assert run("--db", db, "ingest", str(evil)).returncode == 0
    out = tmp_path / "e.xlsx"
    r = run("--db", db, "export", "--year", "2023", "--city", "0101", "-o", str(out))
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Indeks", "OPD", "Indikator"]
    assert all(c.data_type != "f" for ws in wb for row in ws.iter_rows() for c in row)
    r = run("--db", db, "audit", "verify")
    assert r.returncode == 0 and "chain intact" in r.stdout


# --------------------------------------------------------------------------- partial files: merge / replace

PARTIAL = "city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,4,SK baru,\n"


def test_ingest_refuses_a_file_that_drops_answers_without_mode(db, tmp_path):
    good, partial = tmp_path / "good.csv", tmp_path / "partial.csv"
    good.write_bytes(ASSESS_CSV)  # OPD 01 answers G1 and G2
    partial.write_text(PARTIAL)  # G1 only: G2 would be dropped
    assert run("--db", db, "ingest", str(good)).returncode == 0
    r = run("--db", db, "ingest", str(partial))
    assert r.returncode == 1
    assert (
        "partial.csv: ditolak" in r.stdout
        and "menghapus 1 jawaban" in r.stdout
        and "--mode merge" in r.stdout
    )
    r = run("--db", db, "--lang", "en", "ingest", str(partial), "--json")
    assert r.returncode == 1 and json.loads(r.stdout)[0]["errors"][0]["code"] == "file.drops_answers"
    # a file that drops nothing goes in as before, without --mode
    full = tmp_path / "full.csv"
    full.write_text(PARTIAL + "0101,01,2023,G2,2,,\n")
    r = run("--db", db, "ingest", str(full), "--json")
    assert r.returncode == 0, r.stdout
    res = json.loads(r.stdout)[0]
    assert res["mode"] is None and res["changes"] == {"kept": 1, "changed": 1, "added": 0, "dropped": 0}


@pytest.mark.parametrize(
    "mode, answers, counts",
    [
        ("merge", {"G1": 4, "G2": 2}, {"kept": 1, "changed": 1, "added": 0, "dropped": 0, "carried": 1}),
        ("replace", {"G1": 4}, {"kept": 0, "changed": 1, "added": 0, "dropped": 1}),
    ],
)
def test_ingest_mode_merge_or_replace(db, tmp_path, mode, answers, counts):
    from metrics.store import Store

    good, partial = tmp_path / "good.csv", tmp_path / "partial.csv"
    good.write_bytes(ASSESS_CSV)
    partial.write_text(PARTIAL)
    assert run("--db", db, "ingest", str(good)).returncode == 0
    r = run("--db", db, "ingest", str(partial), "--mode", mode, "--json")
    assert r.returncode == 0, r.stdout
    res = json.loads(r.stdout)[0]
    assert res["status"] == "accepted" and res["mode"] == mode and res["changes"] == counts
    store = Store(db)
    try:
        got = {a["indicator_code"]: a["level"] for a in store.answer_rows(2023, "0101", "01")}
        audit = store.audit_frame(action="submission.create")
    finally:
        store.close()
    assert got == answers
    last = json.loads(audit.sort_values("id")["after"].iloc[-1])
    assert last["mode"] == mode and last["changes"] == counts


# --------------------------------------------------------------------------- a folder of many files


def _batch(tmp_path, n_good: int = 30):
    folder = tmp_path / "isian"
    folder.mkdir()
    head = "city_code,opd_code,year,indicator_code,level,evidence,note\n"
    for n in range(n_good):
        (folder / f"ok-{n:03}.csv").write_text(
            head + f"0101,01,2023,G1,{n % 5},Dok {n},\n0101,01,2023,G2,1,,\n"
        )
    (folder / "salah.csv").write_text(head + "0101,01,2023,G1,7,,\n")
    return folder


def test_a_folder_prints_only_the_refused_files_and_one_summary_line(db, tmp_path):
    """Issue 15, point 10: thousands of accepted files used to scroll by one line each. Now
    stdout holds the refused files with their reasons and one summary line; every file's line
    is in --log (and --json); and with stdout in a pipe there is no progress bar anywhere."""
    folder = _batch(tmp_path)
    log = tmp_path / "batch.log"
    r = run("--db", db, "ingest", str(folder), "--log", str(log))
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0] == "salah.csv: ditolak" and "di luar skala" in lines[1]
    assert not any(line.startswith("ok-") for line in lines)
    summary = next(line for line in lines if line.startswith("Selesai:"))
    assert "31 berkas, 30 diterima, 1 ditolak, 30 versi baru" in summary and "detik" in summary
    logged = log.read_text().splitlines()
    assert sum(line.startswith("ok-") and ": diterima, 2 rows" in line for line in logged) == 30
    assert "salah.csv: ditolak" in logged and logged[-1] == summary
    assert "%|" not in r.stderr and "berkas/s" not in r.stderr
    r = run("--db", db, "--lang", "en", "ingest", str(folder), "--json")
    assert len(json.loads(r.stdout)) == 31


def test_a_terminal_gets_a_progress_bar(db, tmp_path):
    """On a terminal (stdout and stderr a tty) tqdm draws the bar on stderr; the lines stay the same."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    folder = _batch(tmp_path, 5)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    proc = subprocess.Popen(
        [sys.executable, "-m", "metrics", "--db", db, "ingest", str(folder)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=120)
    os.close(master)
    text = out.decode("utf-8", "replace")
    assert "/6 [" in text and "berkas/s" in text, text  # the bar, counted in files (6 of them)
    assert "salah.csv: ditolak" in text and "Selesai: 6 berkas, 5 diterima, 1 ditolak" in text


# --------------------------------------------------- a new database has no known password (issue 16)


def test_init_without_demo_creates_no_account_and_the_first_admin_sets_a_password(tmp_path):
    from metrics import users
    from metrics.demo import DEMO_PASSWORD
    from metrics.i18n import t
    from metrics.store import Store

    db = str(tmp_path / "baru.duckdb")
    r = run("--db", db, "init")
    assert r.returncode == 0, r.stderr
    assert t("cli.init_no_accounts", "id") in r.stdout and DEMO_PASSWORD not in r.stdout
    store = Store(db)
    try:
        assert not users.has_accounts(store) and not users.is_demo_database(store)
    finally:
        store.close()
    # the demo password, a common one and the product's name are refused for the first admin
    for pw, key in (
        (DEMO_PASSWORD, "user.password_demo"),
        ("blackcat123", "user.password_common"),
        ("KotaCerdas2025", "user.password_common"),
    ):
        r = run("--db", db, "user", "add", "kepala", "--role", "admin", "--password-stdin", stdin=pw + "\n")
        assert r.returncode == 1 and t(key, "id") in r.stderr, (pw, r.stderr)
    r = run(
        "--db",
        db,
        "user",
        "add",
        "kepala",
        "--role",
        "admin",
        "--password-stdin",
        stdin="Sandi-Kepala-Dinas\n",
    )
    assert r.returncode == 0 and "OK: kepala (admin)" in r.stdout, r.stderr
    store = Store(db)
    try:
        assert users.has_accounts(store)
        assert [u for u in store.users_frame()["username"]] == ["kepala"]
        with pytest.raises(users.LoginFailed):
            users.login(store, "kepala", DEMO_PASSWORD)
        assert users.login(store, "kepala", "Sandi-Kepala-Dinas").user.role == "admin"
    finally:
        store.close()
    r = run("--db", db, "user", "passwd", "kepala", "--password-stdin", stdin=DEMO_PASSWORD + "\n")
    assert r.returncode == 1 and t("user.password_demo", "id") in r.stderr


def test_init_demo_marks_a_demo_database_whose_accounts_use_the_demo_password(tmp_path):
    from metrics import users
    from metrics.demo import DEMO_PASSWORD
    from metrics.store import Store

    db = str(tmp_path / "demo.duckdb")
    r = run("--db", db, "init", "--demo", "--if-missing")  # README's first command
    assert r.returncode == 0, r.stderr
    assert f"demo password: {DEMO_PASSWORD}" in r.stdout
    store = Store(db)
    try:
        assert users.is_demo_database(store)
        assert users.login(store, "admin", DEMO_PASSWORD).user.role == "admin"
    finally:
        store.close()
