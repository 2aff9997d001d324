"""`python -m metrics copy` (and backup/restore with a PostgreSQL store), as a subprocess, on the
demo database and the PostgreSQL test cluster (skipped without one; failed under CI=true)."""

from __future__ import annotations

from metrics import keys
from tests.conftest import copy_db, make_mini_store
from tests.functional.test_cli import run


def _table_lines(out: str) -> dict[str, list[str]]:
    """The checksum report's table rows by table name (after the header and its rule)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    rows = {}
    for line in lines[start:]:
        cells = line.split()
        if len(cells) != 5:
            break
        rows[cells[0]] = cells[1:]
    return rows


def test_copy_to_postgresql_and_back_prints_a_checksum_per_table(tmp_path, pg_url, demo_db_file):
    src = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, src)
    r = run("copy", "--from", str(src), "--to", pg_url)
    assert r.returncode == 0, r.stderr
    assert "Tabel" in r.stdout and "Checksum sumber" in r.stdout and "Disalin" in r.stdout
    rows = _table_lines(r.stdout)
    assert rows["submissions"][0] == "927" and rows["users"][0] == "13"
    assert all(v[3] == "OK" and v[1] == v[2] for v in rows.values()) and len(rows) > 40
    assert "rantai utuh" in r.stdout

    again = run("--lang", "en", "copy", "--from", str(src), "--to", pg_url)
    assert again.returncode == 0, again.stderr
    assert "nothing was changed" in again.stdout and _table_lines(again.stdout) == rows

    back = tmp_path / "back.duckdb"
    r = run("copy", "--from", pg_url, "--to", str(back))
    assert r.returncode == 0, r.stderr
    assert _table_lines(r.stdout) == rows
    assert run("--db", str(back), "audit", "verify").returncode == 0


def test_a_city_database_merges_into_a_national_store_with_the_report(tmp_path, pg_url, demo_db_file):
    make_mini_store(pg_url).close()  # the national store already serves 0101 and 0202
    src = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, src)
    r = run("copy", "--from", str(src), "--to", pg_url)
    assert r.returncode == 0, r.stderr
    rows = _table_lines(r.stdout)
    assert rows["submissions"][0] == "927" and "Digabungkan" in r.stdout and "copy.import" in r.stdout
    assert all(v[3] == "OK" and v[1] == v[2] for v in rows.values()) and "audit" in rows
    assert "rantai utuh" in r.stdout
    again = run("--lang", "en", "copy", "--from", str(src), "--to", pg_url)
    assert again.returncode == 0, again.stderr
    assert "already in the target with the same content" in again.stdout
    assert run("--db", pg_url, "audit", "verify").returncode == 0
    # and one city back out into a new file of its own
    out = tmp_path / "0199.duckdb"
    r = run("copy", "--from", pg_url, "--to", str(out), "--city", "0199")
    assert r.returncode == 0, r.stderr
    assert "copy.export" in r.stdout and all(v[3] == "OK" for v in _table_lines(r.stdout).values())
    assert run("--db", str(out), "audit", "verify").returncode == 0


def test_copy_refusals_are_one_sentence(tmp_path, pg_url, demo_db_file):
    from metrics.auth import SYSTEM
    from metrics.ingest import ingest_bytes
    from tests.conftest import ASSESS_CSV

    make_mini_store(pg_url).close()
    other = make_mini_store(tmp_path / "mini.duckdb")  # the same cities, 0101 with other answers
    assert ingest_bytes(other, SYSTEM, ASSESS_CSV, "a.csv").accepted
    other.close()
    r = run("copy", "--from", str(tmp_path / "mini.duckdb"), "--to", pg_url)
    assert r.returncode == 1
    assert "Salinan ditolak" in r.stderr and "0101" in r.stderr and "Traceback" not in r.stderr
    missing = run("copy", "--from", str(tmp_path / "none.duckdb"), "--to", pg_url)
    assert missing.returncode == 1 and "tidak ada" in missing.stderr and "Traceback" not in missing.stderr


def test_an_unreachable_postgresql_is_reported_without_its_password(tmp_path, demo_db_file):
    src = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, src)
    for url in (
        "postgresql://kota:Rahasia-Sekali9@127.0.0.1:1/nasional",  # nothing listens there
        "postgresql://postgres:Rahasia-Sekali9@127.0.0.1:1/nasional",
    ):
        r = run("copy", "--from", str(src), "--to", url)
        assert r.returncode == 1
        assert "Tidak dapat membuka basis data postgresql://kota@" in r.stderr or "postgres@" in r.stderr
        assert "Rahasia-Sekali9" not in r.stderr + r.stdout and "Traceback" not in r.stderr
    r = run("--db", "postgresql://kota:Rahasia-Sekali9@127.0.0.1:1/nasional", "score", "--year", "2024")
    assert r.returncode == 1 and "Rahasia-Sekali9" not in r.stderr and "Traceback" not in r.stderr


def test_backup_of_a_postgresql_store_and_restore_into_postgresql(tmp_path, pg_url, demo_db_file):
    from tests import pg_cluster

    src = tmp_path / "demo.duckdb"
    copy_db(demo_db_file, src)
    assert run("copy", "--from", str(src), "--to", pg_url).returncode == 0
    r = run("--db", pg_url, "backup", "-o", str(tmp_path / "pg.zip"))
    assert r.returncode == 0, r.stderr
    other = pg_cluster.create_database()
    try:
        # not this installation's key there yet: refused unless --foreign
        r = run("--db", other, "restore", str(tmp_path / "pg.zip"))
        assert r.returncode == 1 and "Traceback" not in r.stderr
        keys.key_path(other).write_bytes(keys.key_path(pg_url).read_bytes())
        r = run("--db", other, "restore", str(tmp_path / "pg.zip"))
        assert r.returncode == 0, r.stderr
        assert _table_lines(r.stdout)["submissions"][0] == "927"
        assert run("--db", other, "audit", "verify").returncode == 0
    finally:
        pg_cluster.drop_database(other)


def test_init_on_postgresql_creates_once_and_never_empties_a_store(pg_url):
    """`init` into an empty PostgreSQL database builds it; on one that holds data `--if-missing`
    says so and exits 0, and neither a plain `init` nor `--force` touches it (a national store
    is emptied by its database administrator, not from the CLI)."""
    from metrics.store import Store

    r = run("--db", pg_url, "init")
    assert r.returncode == 0, r.stderr
    store = Store(pg_url)
    before = store.counts()
    store.close()
    assert before["frameworks"] == 1
    again = run("--db", pg_url, "init", "--if-missing")
    assert again.returncode == 0 and "already exists" in again.stdout
    for extra in ((), ("--force",)):
        r = run("--db", pg_url, "init", "--demo", *extra)
        assert r.returncode == 1 and "sudah berisi data" in r.stderr, r.stderr
    store = Store(pg_url)
    try:
        assert store.counts() == before
    finally:
        store.close()
