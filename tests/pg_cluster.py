"""A throwaway PostgreSQL cluster for the tests: found, or started, or reported missing.

`.ci/run` starts one (Debian's postgresql, initdb into a temporary directory, a free port on
127.0.0.1) and exports its URL as SMARTCITY_TEST_PG. A developer's run without that variable
starts its own here when the server binaries are installed, one per test process, stopped at
exit. Without them the PostgreSQL tests skip with a message, except under CI=true, where a
missing server is a failure: CI must prove both backends.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

URL_ENV = "SMARTCITY_TEST_PG"
_started: dict[str, str] = {}


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian keeps it off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` account when we are root."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def start_cluster() -> str:
    """Start a cluster in a temporary directory; return the admin URL. Stopped at exit."""
    bindir = server_bin()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="smartcity-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(
        _as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=300"
    subprocess.run(
        _as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


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
