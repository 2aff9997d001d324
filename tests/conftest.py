"""Shared fixtures: a tiny hand-computable store, and the demo database as the main fixture.

Everything runs on real DuckDB files; nothing is faked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.auth import SYSTEM, User
from metrics.governance import load_framework_text, load_registry_bytes
from metrics.keys import copy_database
from metrics.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI_YAML = FIXTURES / "mini.yaml"

CITIES_CSV = (
    b"city_code,name,province,category,population\n"
    b"0101,Kota Uji,Jawa Barat,kecil,1000\n"
    b"0202,Kota Coba,Bali,sedang,2000\n"
)
OPDS_CSV = (
    b"city_code,opd_code,opd_type,name\n"
    b"0101,01,DISKOMINFO,Dinas Kominfo Uji\n"
    b"0101,02,DPMPTSP,DPMPTSP Uji\n"
    b"0101,03,DLH,DLH Uji\n"
    b"0202,01,DISKOMINFO,Dinas Kominfo Coba\n"
    b"0202,03,DLH,DLH Coba\n"
)

# The hand-computed case used across the tests (see test_scoring.py for the arithmetic).
ASSESS_CSV = (
    b"city_code;opd_code;year;indicator_code;level;evidence;note\n"
    b"0101;01;2023;G1;3;Perwali 12/2023;\n"
    b"0101;01;2023;G2;2;;\n"
    b"0101;02;2023;G2;4;Laporan OSS;\n"
    b"0101;03;2023;E1;1;;\n"
)


def make_mini_store(path) -> Store:
    store = Store(path)
    load_framework_text(store, SYSTEM, MINI_YAML.read_text(encoding="utf-8"))
    load_registry_bytes(store, SYSTEM, CITIES_CSV, "cities.csv")
    load_registry_bytes(store, SYSTEM, OPDS_CSV, "opds.csv")
    return store


# copying a database with the files that belong to it is the core's own rule
copy_db = copy_database


@pytest.fixture
def mini(tmp_path) -> Store:
    store = make_mini_store(tmp_path / "mini.duckdb")
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory) -> Path:
    """The demo database, built once per test session through the real `init --demo` path."""
    from metrics import demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    store = Store(path)
    demo.install(store)
    store.checkpoint()
    store.close()
    return path


@pytest.fixture
def demo_store(demo_db_file, tmp_path) -> Store:
    """A private copy of the demo database that a test may change."""
    path = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, path)
    store = Store(path)
    yield store
    store.close()


def opd_user(city="0101", opd="01") -> User:
    return User(f"op{city}{opd}", "opd", city, opd)


@pytest.fixture
def app_db(demo_db_file, tmp_path, monkeypatch) -> Path:
    """A private copy of the demo database that the dashboard under AppTest opens (SMARTCITY_DB)."""
    path = tmp_path / "app.duckdb"
    copy_db(demo_db_file, path)
    monkeypatch.setenv("SMARTCITY_DB", str(path))
    yield path
    from ui import shell

    shell._store.clear()  # drop the app's cached connection to this copy
