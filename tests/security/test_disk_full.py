"""A database that cannot write (a full disk): say exactly what is kept, in one sentence.

Two different failures need opposite advice. A commit that fails keeps nothing (DuckDB rolls
it back), so sending again is safe. A checkpoint that fails after the commit keeps everything
in the write-ahead log (DuckDB replays it at the next open), so sending again would store
duplicate versions. The CLI and the dashboard both print the core's sentence (metrics.store
CommitFailed / CheckpointFailed), never a traceback or Streamlit's error box.

The failures are made the way DuckDB reports them on a full disk (the messages are the ones
DuckDB 1.5 gave on a full tmpfs), by a cursor that fails its commit or its CHECKPOINT; the last
test fills a real tmpfs when the machine lets it mount one (root), and is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from contextlib import contextmanager

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from metrics import cli, users
from metrics.i18n import t
from metrics.store import CheckpointFailed, CommitFailed, Store, utcnow
from tests.conftest import ASSESS_CSV, ROOT, make_mini_store

COMMIT_ERROR = (
    'TransactionContext Error: Failed to commit: Could not write file "/data/x.duckdb.wal": '
    "No space left on device"
)
CHECKPOINT_ERROR = (
    "FATAL Error: Failed to create checkpoint because of error: Could not write file "
    '"/data/x.duckdb": No space left on device'
)


class _DiskFullCursor:
    """A real DuckDB cursor whose commit of new submissions, or whose CHECKPOINT, fails."""

    def __init__(self, cur, fail: str) -> None:
        self._cur, self._fail, self._writes_submissions = cur, fail, False

    def execute(self, sql, *args, **kwargs):
        if self._fail == "checkpoint" and sql.strip().upper() == "CHECKPOINT":
            raise duckdb.FatalException(CHECKPOINT_ERROR)
        if "INSERT INTO submissions" in sql:
            self._writes_submissions = True
        return self._cur.execute(sql, *args, **kwargs)

    def commit(self):
        if self._fail == "commit" and self._writes_submissions:
            self._cur.rollback()  # what DuckDB does with a commit it could not write
            raise duckdb.TransactionException(COMMIT_ERROR)
        return self._cur.commit()

    def __getattr__(self, name):
        return getattr(self._cur, name)


def disk_full(monkeypatch, fail: str) -> None:
    real = Store.cursor

    @contextmanager
    def cursor(self):
        with real(self) as cur:
            yield _DiskFullCursor(cur, fail)

    monkeypatch.setattr(Store, "cursor", cursor)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    make_mini_store(path).close()
    return str(path)


@pytest.fixture
def good(tmp_path):
    f = tmp_path / "good.csv"
    f.write_bytes(ASSESS_CSV)
    return f


def submissions(db: str) -> int:
    store = Store(db)
    try:
        return store.counts()["submissions"]
    finally:
        store.close()


# --------------------------------------------------------------------------- the core


def test_a_failed_commit_is_commit_failed_and_keeps_nothing(db, good, monkeypatch):
    from metrics.auth import SYSTEM
    from metrics.ingest import ingest_paths

    disk_full(monkeypatch, "commit")
    store = Store(db)
    with pytest.raises(CommitFailed) as raised:
        ingest_paths(store, SYSTEM, [good])
    store.close()
    exc = raised.value
    assert exc.stored is False and [r.file for r in exc.results] == ["good.csv"]
    assert not exc.results[0].accepted
    assert exc.message("en").startswith(
        "Nothing was stored: the database could not write this change (No space left on device)."
    )
    assert "/data/" not in exc.message("en")  # no server paths in what users read
    monkeypatch.undo()
    assert submissions(db) == 0


def test_a_failed_checkpoint_after_the_commit_is_checkpoint_failed_and_keeps_everything(
    db, good, monkeypatch
):
    from metrics.auth import SYSTEM
    from metrics.ingest import ingest_paths

    disk_full(monkeypatch, "checkpoint")
    store = Store(db)
    with pytest.raises(CheckpointFailed) as raised:
        ingest_paths(store, SYSTEM, [good])
    store.close()
    exc = raised.value
    assert exc.stored is True and [r.accepted for r in exc.results] == [True]
    assert "Do NOT send it again" in exc.message("en") and "JANGAN kirim ulang" in exc.message("id")
    monkeypatch.undo()
    assert submissions(db) == len(exc.results[0].submission_ids) > 0


# --------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("lang", ["id", "en"])
def test_cli_checkpoint_failure_says_stored_and_exits_0(db, good, monkeypatch, capsys, lang):
    disk_full(monkeypatch, "checkpoint")
    code = cli.main(["--db", db, "--lang", lang, "ingest", str(good), "--json"])
    out, err = capsys.readouterr()
    assert code == 0  # stored: a script that retries on failure must not send it again
    (r,) = json.loads(out)
    assert r["status"] == "accepted"
    assert err.strip() == t(
        "store.checkpoint_failed", lang, reason="No space left on device", wal="cli.duckdb.wal"
    )
    assert "Traceback" not in out + err
    monkeypatch.undo()
    assert submissions(db) == len(r["submissions"]) > 0  # every submission the CLI listed is kept


@pytest.mark.parametrize("lang", ["id", "en"])
def test_cli_commit_failure_says_nothing_stored_and_exits_1(db, good, monkeypatch, capsys, lang):
    disk_full(monkeypatch, "commit")
    code = cli.main(["--db", db, "--lang", lang, "ingest", str(good)])
    out, err = capsys.readouterr()
    assert code == 1
    first, summary = out.strip().splitlines()
    assert first == "good.csv: " + t("store.not_stored", lang)
    assert summary.endswith(t("cli.ingest_not_stored", lang, n=1))
    assert err.strip() == t("store.commit_failed", lang, reason="No space left on device")
    monkeypatch.undo()
    assert submissions(db) == 0


def test_cli_batch_stopped_by_a_failed_commit_names_what_is_stored(db, good, tmp_path, monkeypatch, capsys):
    """A batch of several transactions: the first is stored, the second fails; say which is which."""
    from metrics import ingest

    second = tmp_path / "second.csv"
    second.write_bytes(ASSESS_CSV)  # a second version of the same answers
    calls = []
    real = ingest.store_parsed

    def store_parsed(store, user, items, *args, **kwargs):
        calls.append(len(items))
        if len(calls) == 2:
            disk_full(monkeypatch, "commit")  # the disk fills between the two transactions
        return real(store, user, items, *args, **kwargs)

    monkeypatch.setattr(ingest, "store_parsed", store_parsed)
    whole = ingest.ingest_paths
    monkeypatch.setattr(
        ingest, "ingest_paths", lambda s, u, p, **kw: whole(s, u, p, chunk=1, **kw)
    )  # a file a transaction
    log = tmp_path / "ingest.log"
    code = cli.main(
        ["--db", db, "--lang", "en", "ingest", str(good), str(second), "--mode", "replace", "--log", str(log)]
    )
    out, err = capsys.readouterr()
    assert code == 1 and calls == [1, 1]
    assert out.splitlines()[0] == "second.csv: not stored"  # on screen: what needs attention
    lines = log.read_text().splitlines()  # in the log: every file
    assert lines[0].startswith("good.csv: accepted") and lines[1] == "second.csv: not stored"
    stored = len(re.search(r"submissions \[([^\]]*)\]", lines[0]).group(1).split(","))
    assert err.strip().splitlines() == [
        t("store.commit_failed", "en", reason="No space left on device"),
        t("store.batch_stopped", "en"),
    ]
    monkeypatch.undo()
    assert submissions(db) == stored


# --------------------------------------------------------------------------- the dashboard


def test_dashboard_upload_commit_failure_is_one_sentence(app_db, monkeypatch):
    from metrics import entry

    store = Store(app_db)
    user = users.get_user(store, "opd.kominfo")
    lines = (
        entry.metric_template(store, user, "3299", "01", 2024).data.decode("utf-8-sig").strip().split("\n")
    )
    store.close()
    data = "\n".join([lines[0]] + [ln + "12.5" for ln in lines[1:]]).encode()  # a good service-metric file
    before = submissions(str(app_db))
    now = utcnow()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, now, now)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("pages/upload.py").run()
    disk_full(monkeypatch, "commit")
    at.file_uploader(key="up_file").set_value(("metrik.csv", data, "text/csv")).run()
    if at.button(key="up_confirm") is not None and not at.error:  # answers fewer periods: merge
        at.button(key="up_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [t("store.commit_failed", "en", reason="No space left on device")]
    assert not at.success
    monkeypatch.undo()
    from ui import shell

    shell._store.clear()
    assert submissions(str(app_db)) == before


# --------------------------------------------------------------------------- a real full disk


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_real_full_disk_keeps_nothing_of_the_failed_commit_and_says_so(tiny_disk, good, tmp_path):
    """On a real full disk: the CLI's sentence, exit 1, and after freeing space nothing was stored."""
    import sys

    db = tiny_disk / "full.duckdb"
    make_mini_store(db).close()
    filler = tiny_disk / "filler"
    with filler.open("wb") as f:  # fill the disk to its last byte
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    r = subprocess.run(
        [sys.executable, "-m", "metrics", "--db", str(db), "--lang", "en", "ingest", str(good)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout.strip().splitlines()[0] == "good.csv: not stored"
    assert r.stderr.startswith(
        "Nothing was stored: the database could not write this change (No space left on device)."
    ), r.stderr
    filler.unlink()
    assert submissions(str(db)) == 0
