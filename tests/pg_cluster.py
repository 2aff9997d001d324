"""A throwaway PostgreSQL cluster for the tests: found, or started, or reported missing.

`.ci/run` starts one (Debian's postgresql, initdb into a temporary directory, a free port on
127.0.0.1) and exports its URL as SMARTCITY_TEST_PG. A developer's run without that variable
starts its own here when the server binaries are installed, one per test process, stopped at
exit. Without them the PostgreSQL tests skip with a message, except under CI=true, where a
missing server is a failure: CI must prove both backends.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from deploy import national

URL_ENV = "SMARTCITY_TEST_PG"
_started: dict[str, str] = {}


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian keeps it off PATH)."""
    return national.pg_bin()


def start_cluster(fsync: bool = False) -> str:
    """Start a cluster in a temporary directory (deploy.national.start_server, the same server
    `deploy/local.sh` starts); return the admin URL. Stopped and removed at exit. `fsync` on for
    honest write figures (benchmarks/national_pg.py); off for the tests' speed."""
    root = Path(tempfile.mkdtemp(prefix="smartcity-pg-"))
    url, stop = national.start_server(root, max_connections=300, fsync=fsync)

    def stop_and_remove() -> None:
        stop("immediate")
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop_and_remove)
    return url


def admin_url() -> str:
    """The cluster the PostgreSQL tests use; skips (fails under CI=true) when there is none."""
    url = os.environ.get(URL_ENV)
    if url:
        return url
    if "url" in _started:
        return _started["url"]
    try:
        _started["url"] = start_cluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        msg = f"PostgreSQL tests need a server: set {URL_ENV} or install postgresql ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return _started["url"]


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def create_database(template: str | None = None) -> str:
    """A new empty database (or a copy of `template`) in the test cluster; its URL."""
    import psycopg

    admin = admin_url()
    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(admin, autocommit=True) as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')  # our own generated names
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin, name)


def drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # our own generated names
