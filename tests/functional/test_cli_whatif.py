"""`python -m metrics whatif`: a candidate framework previewed on every city, as a subprocess on
a real database file (the mini store with two cities; the numbers are hand-checked in
tests/unit/test_whatif.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from metrics.store import Store
from metrics.whatif import FrameworkEdits, edited_framework, framework_of_year, framework_yaml
from tests.conftest import ASSESS_CSV, ROOT, make_mini_store
from tests.unit.test_whatif import ASSESS_0202


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Path]:
    """The two-city mini store and a candidate: OUTPUT 0.9 / OUTCOME 0.1, G1 w3, E1 w1, Maju from 1.7."""
    path = tmp_path / "cli.duckdb"
    store = make_mini_store(path)
    assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert ingest_bytes(store, SYSTEM, ASSESS_0202, "b.csv").accepted
    edits = FrameworkEdits(
        dimension_weights={"OUTPUT": 0.9, "OUTCOME": 0.1},
        indicator_weights={"G1": 3.0, "E1": 1.0},
        bands=((0.0, "Rintisan"), (1.7, "Maju")),
    )
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(framework_yaml(edited_framework(framework_of_year(store, 2023), edits)))
    store.close()
    return str(path), candidate


def audit_actions(path: str) -> list[str]:
    store = Store(path)
    try:
        return [r.action for r in store.audit_rows()]
    finally:
        store.close()


def test_whatif_table(db: tuple[str, Path]) -> None:
    path, candidate = db
    before = audit_actions(path)
    r = run("--db", path, "whatif", str(candidate), "--year", "2023")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:7] == ["kode", "kota", "sebelum", "sesudah", "selisih", "predikat", "peringkat"]
    first, second = lines[1], lines[2]
    assert first.startswith("0101   Kota Uji") and "1,80    2,45   +0,65" in first
    assert "Rintisan → Maju" in first and "2 → 1" in first and first.endswith("Keluaran 1,50 → 2,50")
    assert second.startswith("0202   Kota Coba") and "3,00    1,68   -1,32" in second
    assert "Maju → Rintisan" in second and "1 → 2" in second and second.endswith("Hasil: bobot 0,6 → 0,1")
    assert "Perbedaan kerangka mini-2023 → mini-2023-edit:" in r.stdout
    assert "  - Bobot dimensi OUTPUT: 0,4 → 0,9" in r.stdout and "  - Bobot indikator E1: 3 → 1" in r.stdout
    assert "2 dari 2 kota berpindah peringkat pada tahun 2023" in lines[-1]
    assert audit_actions(path) == [*before, "framework.whatif"]


def test_whatif_json_in_english(db: tuple[str, Path]) -> None:
    path, candidate = db
    r = run("--db", path, "whatif", str(candidate), "--year", "2023", "--json", "--lang", "en")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["year"], out["framework_before"], out["framework_after"], out["moved"]) == (
        2023,
        "mini-2023",
        "mini-2023-edit",
        2,
    )
    assert out["changes"][1] == "Dimension OUTPUT weight: 0.4 → 0.9"
    first, second = out["cities"]
    assert first["city_code"] == "0101" and first["index_after"] == pytest.approx(2.45)
    assert (first["rank_before"], first["rank_after"], first["rank_change"]) == (2, 1, 1)
    assert (first["band_before"], first["band_after"]) == ("Initiating", "Advanced")
    assert first["driver"] == "Output 1.50 → 2.50"
    assert first["dimensions_after"] == pytest.approx({"OUTPUT": 2.5, "OUTCOME": 2.0})
    assert second["driver"] == "Outcome: weight 0.6 → 0.1" and second["rank_change"] == -1


def test_whatif_refusals(db: tuple[str, Path], tmp_path: Path) -> None:
    path, candidate = db
    before = audit_actions(path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(candidate.read_text().replace("weight: 0.9", "weight: 0.8", 1))
    r = run("--db", path, "whatif", str(bad), "--year", "2023", "--lang", "en")
    assert r.returncode == 1 and r.stdout == ""
    assert (
        r.stderr.strip()
        == f"{bad}: Invalid framework at 'dimensions': the weights must sum to 1; they sum to 0.9."
    )
    r = run("--db", path, "whatif", str(candidate), "--year", "2022")
    assert r.returncode == 1 and "Tidak ada kerangka yang berlaku untuk tahun 2022." in r.stderr
    r = run("--db", path, "whatif", str(candidate), "--year", "2024", "--lang", "en")
    assert r.returncode == 1 and "Year 2024 has no city scores yet" in r.stderr
    assert audit_actions(path) == before
