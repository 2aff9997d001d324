"""`python -m metrics programmes load|list|export` and `template --programmes`, end to end as
subprocesses on a real database file."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from tests.conftest import make_mini_store
from tests.functional.test_cli import run


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    make_mini_store(path).close()
    return str(path)


def _fill(template: bytes, programmes, statuses=(), budgets=()) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(template))
    for sheet, rows in (("Program", programmes), ("Status", statuses), ("Anggaran", budgets)):
        for r, values in enumerate(rows, start=2):
            for c, v in enumerate(values, start=1):
                cell = wb[sheet].cell(row=r, column=c, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PROGRAMMES = (
    ["P1", '=HYPERLINK("http://x.test")', "GOV", "masterplan", "01", 2023, 2025, "G1"],
    ["P2", "Sensor udara", "ENV", "quickwin", "03", 2024, 2024, None],
)
STATUSES = (["P1", 2024, "berjalan", None, "SK 1"],)
BUDGETS = (["P1", 2024, "APBD", 2_500_000],)


def test_template_load_list_and_export(db, tmp_path):
    tpl = tmp_path / "program.xlsx"
    r = run("--db", db, "template", "--programmes", "--city", "0101", "--out", str(tpl))
    assert r.returncode == 0, r.stderr
    filled = tmp_path / "isi.xlsx"
    filled.write_bytes(_fill(tpl.read_bytes(), PROGRAMMES, STATUSES, BUDGETS))
    r = run("--db", db, "programmes", "load", str(filled), "--city", "0101")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "isi.xlsx: diterima, 2 program (versi register 1)."

    r = run("--db", db, "programmes", "list", "--city", "0101", "--json")
    reg = json.loads(r.stdout)
    assert [(p["code"], p["kind"], p["opd_code"]) for p in reg] == [
        ("P1", "masterplan", "01"),
        ("P2", "quickwin", "03"),
    ]
    assert reg[0]["budgets"] == [{"year": 2024, "source": "APBD", "amount": 2_500_000}]

    r = run("--db", db, "programmes", "list", "--city", "0101", "--year", "2024", "--json")
    board = json.loads(r.stdout)
    assert board["framework"] == "mini-2023"
    cells = {(c["pillar"], c["kind"]): c for c in board["cells"]}
    assert (cells[("GOV", "masterplan")]["running"], cells[("GOV", "masterplan")]["share"]) == (1, 1.0)
    assert (cells[("ENV", "quickwin")]["stalled"], cells[("ENV", "quickwin")]["budget"]) == (1, 0)
    assert [(p["code"], p["stalled"]) for p in board["programmes"]] == [("P1", False), ("P2", True)]
    r = run("--db", db, "programmes", "list", "--city", "0101", "--year", "2024")
    assert r.returncode == 0 and "! P2" in r.stdout

    out = tmp_path / "register.csv"
    r = run("--db", db, "programmes", "export", "--city", "0101", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[1][:2] == ["P1", '\'=HYPERLINK("http://x.test")']  # inert in a spreadsheet
    xlsx = tmp_path / "register.xlsx"
    assert run("--db", db, "programmes", "export", "--city", "0101", "--out", str(xlsx)).returncode == 0
    assert openpyxl.load_workbook(xlsx).sheetnames == ["Program", "Status", "Anggaran"]


def test_a_refused_file_exits_1_with_every_place_and_stores_nothing(db, tmp_path):
    tpl = tmp_path / "program.xlsx"
    assert run("--db", db, "template", "--programmes", "--city", "0101", "-o", str(tpl)).returncode == 0
    bad = tmp_path / "salah.xlsx"
    rows = (["P1", "Pilar asing", "ECO", "masterplan", "01", 2023, 2024, None],)
    bad.write_bytes(_fill(tpl.read_bytes(), rows, (["P1", 2024, "dihentikan", None, None],)))
    r = run("--db", db, "--lang", "en", "programmes", "load", str(bad), "--city", "0101")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "salah.xlsx, sheet Program, row 2, column C: Pillar 'ECO' is not in framework mini-2023 (in force in 2023).",
        "salah.xlsx, sheet Status, row 2, column D: A stopped programme (dihentikan) needs the reason it stopped.",
    ]
    r = run("--db", db, "programmes", "list", "--city", "0101")
    assert r.stdout.strip() == "Kota 0101 belum memiliki register program."


def test_usage_and_permission_errors(db, tmp_path):
    r = run("--db", db, "template", "--city", "0101", "-o", str(tmp_path / "x.xlsx"))
    assert r.returncode == 2 and "--programmes" in r.stderr
    r = run(
        "--db",
        db,
        "user",
        "add",
        "pemirsa",
        "--role",
        "viewer",
        "--city",
        "0101",
        stdin="Rahasia#Kota2024x\n",
    )
    assert r.returncode == 0, r.stderr
    r = run("--db", db, "programmes", "list", "--city", "0101", "--user", "pemirsa")
    assert r.returncode == 1 and "viewer" in r.stderr
    r = run(
        "--db",
        db,
        "programmes",
        "export",
        "--city",
        "0101",
        "--out",
        str(tmp_path / "x.pdf"),
        "--format",
        "pdf",
    )
    assert r.returncode == 2  # argparse: not a format
