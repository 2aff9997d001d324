"""Shared fixtures: a tiny hand-computable store, and the demo database as the main fixture;
and how the suite shares the machine (pytest-xdist).

Everything runs on real databases; nothing is faked. Both databases are built once per test
process through the real core and copied per test with the core's own `copy_database`: a copy
costs a few milliseconds, a build half a second (mini) or seconds (demo). A test marked
`both_backends` runs a second time on PostgreSQL (the `backend` fixture): there each is built
once into a template database of the test cluster (tests/pg_cluster.py) and copied per test
with CREATE DATABASE ... TEMPLATE, key and head files included.

Running in parallel (`-n auto` in pyproject.toml's addopts):
- a run of named files or tests stays in one process (starting workers would cost more than it
  saves); a run of the whole suite or of folders uses one worker per CPU;
- tests marked `serial` run alone: while one runs, no other test runs in any worker (a lock shared
  by the workers: every test holds it shared, a serial test exclusively);
- browser tests (`e2e`, in tests/*/test_e2e_*.py) are one unit of work for one worker, so at most
  one Chromium and one served dashboard run at a time, beside the other worker's tests.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from metrics.auth import SYSTEM, User
from metrics.governance import load_framework_text, load_registry_bytes
from metrics.keys import HEAD_SUFFIX, KEY_SUFFIX, STATE_DIR_ENV, copy_database, state_base
from metrics.store import Store
from tests import pg_cluster

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


def _load_mini(store: Store) -> None:
    load_framework_text(store, SYSTEM, MINI_YAML.read_text(encoding="utf-8"))
    load_registry_bytes(store, SYSTEM, CITIES_CSV, "cities.csv")
    load_registry_bytes(store, SYSTEM, OPDS_CSV, "opds.csv")


def make_mini_store(path: Path | str) -> Store:
    store = Store(path)
    _load_mini(store)
    return store


# copying a database with the files that belong to it is the core's own rule
copy_db = copy_database


BACKENDS = ("duckdb", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `both_backends` that uses a store fixture runs once per backend (a test of
    such a module marked `duckdb_only` only on DuckDB)."""
    if (
        metafunc.definition.get_closest_marker("both_backends")
        and not metafunc.definition.get_closest_marker("duckdb_only")
        and "backend" in metafunc.fixturenames
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Which store the fixtures below build: "duckdb" unless the test is marked both_backends."""
    return str(getattr(request, "param", "duckdb"))


@pytest.fixture(scope="session")
def pg_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the PostgreSQL test stores keep their key and head files (metrics.keys.state_base)."""
    path = tmp_path_factory.mktemp("pgstate")
    os.environ[STATE_DIR_ENV] = str(path)
    return path


def _pg_copy(template_url: str) -> str:
    """A new database copied from a template database, with the template's key and head files:
    the PostgreSQL counterpart of copy_db."""
    import shutil

    url = pg_cluster.create_database(template=template_url.rsplit("/", 1)[1])
    for suffix in (KEY_SUFFIX, HEAD_SUFFIX):
        src = Path(state_base(template_url) + suffix)
        if src.exists():
            shutil.copy(src, state_base(url) + suffix)
    return url


def _pg_template(build: Callable[[Store], None]) -> str:
    """A database built once through the real core, then used as a template (no connections)."""
    url = pg_cluster.create_database()
    store = Store(url)
    try:
        build(store)
    finally:
        store.close()
    return url


@pytest.fixture(scope="session")
def mini_pg_template(pg_state_dir: Path) -> Iterator[str]:
    url = _pg_template(_load_mini)
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(scope="session")
def demo_pg_template(pg_state_dir: Path) -> Iterator[str]:
    from metrics import demo

    url = _pg_template(demo.install)
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture
def pg_url(pg_state_dir: Path) -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped after the test."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(scope="session")
def mini_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini store, built once per test process through the real loads (make_mini_store)."""
    path = tmp_path_factory.mktemp("mini") / "mini.duckdb"
    store = make_mini_store(path)
    store.checkpoint()
    store.close()
    return path


@pytest.fixture
def mini(backend: str, mini_db_file: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A private copy of the mini store that a test may change (its own file, key and audit head;
    tests that need a store with a key of its own call make_mini_store). On PostgreSQL (tests
    marked both_backends), its own database copied from the mini template."""
    if backend == "postgresql":
        url = _pg_copy(request.getfixturevalue("mini_pg_template"))
        store = Store(url)
        yield store
        store.close()
        pg_cluster.drop_database(url)
        return
    path = tmp_path / "mini.duckdb"
    copy_db(mini_db_file, path)
    store = Store(path)
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per test session through the real `init --demo` path."""
    from metrics import demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    store = Store(path)
    demo.install(store)
    store.checkpoint()
    store.close()
    return path


@pytest.fixture
def demo_store(
    backend: str, demo_db_file: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Store]:
    """A private copy of the demo database that a test may change (on PostgreSQL, for tests
    marked both_backends, its own database copied from the demo template)."""
    if backend == "postgresql":
        url = _pg_copy(request.getfixturevalue("demo_pg_template"))
        store = Store(url)
        yield store
        store.close()
        pg_cluster.drop_database(url)
        return
    path = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, path)
    store = Store(path)
    yield store
    store.close()


def opd_user(city: str = "0101", opd: str = "01") -> User:
    return User(f"op{city}{opd}", "opd", city, opd)


@pytest.fixture
def app_pg(demo_pg_template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private PostgreSQL copy of the demo database that the dashboard under AppTest opens
    (SMARTCITY_DB is its URL); the app's cached store is closed and the copy dropped after."""
    url = _pg_copy(demo_pg_template)
    monkeypatch.setenv("SMARTCITY_DB", url)
    yield url
    from ui import shell

    shell._store(url).close()  # the app's cached pool to this copy
    shell._store.clear()
    pg_cluster.drop_database(url)


@pytest.fixture
def app_db(
    backend: str,
    demo_db_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Path | str]:
    """A private copy of the demo database that the dashboard under AppTest opens (SMARTCITY_DB):
    a DuckDB file, or (tests marked both_backends) a PostgreSQL database, app_pg's URL."""
    if backend == "postgresql":
        yield request.getfixturevalue("app_pg")
        return
    path = tmp_path / "app.duckdb"
    copy_db(demo_db_file, path)
    monkeypatch.setenv("SMARTCITY_DB", str(path))
    yield path
    from ui import shell

    shell._store.clear()  # drop the app's cached connection to this copy


# --- sharing the machine under pytest-xdist ------------------------------------------------------


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one process for named files or tests, else xdist's own count (one per CPU)."""
    if any(Path(arg.split("::")[0]).is_file() for arg in config.args):
        return 0
    return None


def _in_browser_file(nodeid: str) -> bool:
    """Browser tests live in tests/*/test_e2e_*.py (and test_no_network.py's served dashboards)."""
    name = nodeid.split("::")[0].rsplit("/", 1)[-1]
    return name.startswith("test_e2e_") or name == "test_no_network.py"


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Every test is its own work unit, except the browser tests: one unit, so one worker runs
    them one after another while the other workers take the rest. (xdist's own `--dist
    loadgroup` cannot do this under pytest 9.2: it tags node ids, which pytest 9.2 no longer
    lets a plugin change; pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "load":  # an explicit --dist is honoured
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsOnOneWorker(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            return "browser" if _in_browser_file(nodeid) else nodeid

    return BrowserTestsOnOneWorker(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    misplaced = [i.nodeid for i in items if i.get_closest_marker("e2e") and not _in_browser_file(i.nodeid)]
    if misplaced:
        raise pytest.UsageError(f"e2e tests must live in a tests/*/test_e2e_*.py file: {misplaced}")
    # serial tests first (a serial test waits for every running test to end: at the start that is
    # a short wait, later it could be a browser test's minute), then the browser tests (the
    # longest unit, started early so the other workers' share evens out), then the rest
    items.sort(key=lambda i: (i.get_closest_marker("serial") is None, not _in_browser_file(i.nodeid)))


def _lock_files(run_id: str) -> tuple[Path, Path]:
    base = Path(tempfile.gettempdir()) / f"pytest-machine-{run_id}"
    return base.with_suffix(".turnstile"), base.with_suffix(".lock")


def pytest_configure(config: pytest.Config) -> None:
    # the controller names the run, so that it can remove the run's lock files at the end
    controller = not hasattr(config, "workerinput") and config.pluginmanager.hasplugin("xdist")
    if controller and config.getoption("testrunuid", None) is None:
        config.option.testrunuid = uuid.uuid4().hex


def pytest_unconfigure(config: pytest.Config) -> None:
    run_id = getattr(config.option, "testrunuid", None)
    if run_id and not hasattr(config, "workerinput"):
        for path in _lock_files(run_id):
            path.unlink(missing_ok=True)


@contextmanager
def _machine_lock(exclusive: bool) -> Iterator[None]:
    """A readers-writer lock across the workers of one run (flock on two files in the temp dir).

    The turnstile gives a waiting serial test priority: once it holds the turnstile, no worker
    starts another test until the serial one has run."""
    turnstile_file, lock_file = _lock_files(os.environ["PYTEST_XDIST_TESTRUNUID"])
    with open(turnstile_file, "a+b") as turnstile, open(lock_file, "a+b") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            if not exclusive:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if exclusive:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Setup, call and teardown of a `serial` test run with no other test running (under xdist)."""
    if "PYTEST_XDIST_TESTRUNUID" not in os.environ:
        return (yield)
    with _machine_lock(exclusive=item.get_closest_marker("serial") is not None):
        return (yield)


# ------------------------------------------------------------------ a local mail server


class _Inbox:
    """What a local SMTP server received: (recipients, message text) per message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    """An aiosmtpd server on a free port of 127.0.0.1 (reminders and clarification notices)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()
