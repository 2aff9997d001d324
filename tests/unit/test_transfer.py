"""`copy` between the embedded DuckDB file and a PostgreSQL store (metrics.transfer), and the
PostgreSQL store's whole-table reads and writes that backups use (metrics.store.pg.backup_tables).

Every test here needs the PostgreSQL test cluster (tests/pg_cluster.py: skipped without one,
failed under CI=true). Score tables are not compared: the copy rebuilds them on the target, and
PostgreSQL's rebuild is ported separately.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics import audit as audit_chain
from metrics import evidence, keys, transfer
from metrics.auth import SYSTEM, User
from metrics.errors import CoreError
from metrics.ingest import ingest_bytes
from metrics.store import Store
from metrics.users import add_user, login
from tests.conftest import ASSESS_CSV, copy_db, make_mini_store
from tests.security import evidence_samples as S

OP1 = User("op010101", "opd", "0101", "01")
PASSWORD = "Kota-Cerdas-Salin#2026"
# a second city's answer (0202 is the mini store's other city)
CSV_0202 = b"city_code;opd_code;year;indicator_code;level;evidence;note\n0202;01;2023;G1;2;;\n"
CSV_0101 = b"city_code;opd_code;year;indicator_code;level;evidence;note\n0101;01;2023;G1;4;;\n"


def _mini_source(path: Path) -> Path:
    """The mini store with every kind of row the copy must carry: submissions and their kept
    file (bytes), an evidence file, a user with a password hash, audit rows."""
    store = make_mini_store(path)
    try:
        assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
        evidence.add_file(store, OP1, "0101", "01", 2023, S.good_pdf(), "Perwali 12.pdf", ["G1"])
        add_user(store, SYSTEM, "penilai.uji", PASSWORD, "assessor", "0101")
        store.checkpoint()
    finally:
        store.close()
    return path


def _sums(path: str) -> transfer.Sums:
    store = Store(path, read_only=True)
    try:
        tables = store.backup_tables()
        with store.snapshot() as cur:
            return transfer.checksums(store, cur, transfer.columns_of(store, tables))
    finally:
        store.close()


def _count(store: Store, table: str) -> int:
    with store.cursor() as cur:
        return int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # fixed names


def test_duckdb_to_postgresql_and_back_carries_every_row_and_the_verifying_chain(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    before = _sums(src)
    assert before.tables["files"][0] == 1 and before.tables["evidence_blobs"][0] == 1
    assert before.tables["audit"][0] >= 5 and before.tables["submissions"][0] == 3
    Store(pg_url).close()  # opened once while empty: it made a key of its own, replaced below
    assert keys.key_path(pg_url).read_bytes() != keys.key_path(src).read_bytes()

    rep = transfer.copy_store(src, pg_url)
    assert rep.copied and rep.ok and rep.audit.ok and rep.audit.rows == before.tables["audit"][0]
    assert [c.table for c in rep.tables] == sorted(before.tables)
    assert all(c.ok for c in rep.tables)
    assert {c.table: (c.source_rows, c.source_sum) for c in rep.tables} == {
        t: (n, transfer.shown(s)) for t, (n, s) in before.tables.items()
    }
    # the target's own reading agrees (a fresh snapshot, after the commit)
    assert _sums(pg_url).tables == before.tables
    # the key moved: the PostgreSQL store's key file is the source's, and its chain verifies
    assert keys.key_path(pg_url).read_bytes() == keys.key_path(src).read_bytes()
    pg = Store(pg_url)
    try:
        assert audit_chain.verify_store(pg).ok
        assert pg.audit_rows() == Store(src, read_only=True).audit_rows()
    finally:
        pg.close()

    back = str(tmp_path / "back.duckdb")
    rep2 = transfer.copy_store(pg_url, back)
    assert rep2.copied and rep2.ok
    assert _sums(back).tables == before.tables
    store = Store(back)
    try:
        assert audit_chain.verify_store(store).ok
        assert keys.key_path(back).read_bytes() == keys.key_path(src).read_bytes()
    finally:
        store.close()


def test_the_copy_keeps_working_on_postgresql_ids_continue_and_the_chain_grows(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    transfer.copy_store(src, pg_url)
    pg = Store(pg_url)
    try:
        with pg.cursor() as cur:
            top = cur.execute("SELECT max(id) FROM submissions").fetchone()[0]
        res = ingest_bytes(pg, SYSTEM, CSV_0202, "b.csv")
        assert res.accepted
        with pg.cursor() as cur:
            ids = [r[0] for r in cur.execute("SELECT id FROM submissions ORDER BY id").fetchall()]
        assert ids[-1] == top + 1 and len(set(ids)) == len(ids)
        assert audit_chain.verify_store(pg).ok  # new rows chained under the carried key
    finally:
        pg.close()


def test_user_password_hashes_are_carried_not_re_hashed(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    store = Store(src, read_only=True)
    theirs = store.get_user_row("penilai.uji")
    store.close()
    transfer.copy_store(src, pg_url)
    pg = Store(pg_url)
    try:
        ours = pg.get_user_row("penilai.uji")
        assert ours == theirs  # the same argon2id hash text, salt and all
        assert login(pg, "penilai.uji", PASSWORD, client="127.0.0.1").user.username == "penilai.uji"
        assert audit_chain.verify_store(pg).ok
    finally:
        pg.close()


def test_a_second_run_changes_nothing_and_reports_every_table_ok(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    transfer.copy_store(src, pg_url)
    head = keys.head_path(pg_url).read_bytes()
    after_first = _sums(pg_url)
    rep = transfer.copy_store(src, pg_url)
    assert not rep.copied and rep.ok and all(c.ok for c in rep.tables)
    assert _sums(pg_url).tables == after_first.tables
    assert keys.head_path(pg_url).read_bytes() == head
    # and the other way: a file already holding it
    back = str(tmp_path / "back.duckdb")
    transfer.copy_store(pg_url, back)
    again = transfer.copy_store(pg_url, back)
    assert not again.copied and again.ok


def test_a_different_citys_data_is_refused_by_name_and_nothing_changes(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    transfer.copy_store(src, pg_url)
    before = _sums(pg_url)
    store = Store(src)
    try:  # the source's city 0202 moves on after the first copy; 0101 does not
        assert ingest_bytes(store, SYSTEM, CSV_0202, "b.csv").accepted
    finally:
        store.close()
    with pytest.raises(CoreError) as err:
        transfer.copy_store(src, pg_url)
    assert err.value.key == "copy.city_differs" and err.value.params["city"] == "0202"
    assert "0202" in err.value.message("id") and "0202" in err.value.message("en")
    assert _sums(pg_url).tables == before.tables and _sums(pg_url).cities == before.cities


def test_a_changed_answer_under_the_same_submission_names_its_city(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    transfer.copy_store(src, pg_url)
    pg = Store(pg_url)
    try:  # a row hanging off a submission by id (no city_code of its own) is that city's data
        with pg.cursor() as cur:
            cur.execute("UPDATE assessments SET note = 'diubah' WHERE indicator_code = 'E1'")
    finally:
        pg.close()
    with pytest.raises(CoreError) as err:
        transfer.copy_store(src, pg_url)
    assert err.value.key == "copy.city_differs" and err.value.params["city"] == "0101"


def test_a_city_database_merges_into_a_store_holding_other_cities(tmp_path, pg_url, demo_db_file):
    make_mini_store(pg_url).close()  # the national store already serves 0101 and 0202
    before = _sums(pg_url)
    src = str(tmp_path / "demo.duckdb")
    copy_db(demo_db_file, src)
    demo = _sums(src)
    rep = transfer.copy_store(src, pg_url)
    assert rep.merged and rep.copied and rep.ok and rep.audit.ok
    assert set(rep.cities) == set(demo.cities) - {"0101", "0202"} and rep.cities
    after = _sums(pg_url)
    assert after.cities["0101"] == before.cities["0101"] and after.cities["0202"] == before.cities["0202"]
    assert after.tables["submissions"][0] == before.tables["submissions"][0] + demo.tables["submissions"][0]


def test_a_source_whose_audit_chain_is_broken_is_not_copied(tmp_path, pg_url):
    src = str(_mini_source(tmp_path / "city.duckdb"))
    store = Store(src)
    with store.cursor() as cur:
        cur.execute("UPDATE audit SET username = 'orang.lain' WHERE id = 2")
    store.close()
    with pytest.raises(CoreError) as err:
        transfer.copy_store(src, pg_url)
    assert err.value.key == "copy.source_audit"
    assert _sums(pg_url).empty


def test_a_copy_into_a_new_file_that_is_refused_leaves_no_file(tmp_path, pg_url):
    make_mini_store(pg_url).close()
    pg = Store(pg_url)
    with pg.cursor() as cur:
        cur.execute("UPDATE audit SET username = 'orang.lain' WHERE id = 1")
    pg.close()
    target = tmp_path / "new.duckdb"
    with pytest.raises(CoreError):
        transfer.copy_store(pg_url, str(target))
    assert not target.exists()


# ------------------------------------------------------------------ PostgreSQL backups


def test_postgresql_tables_have_the_duckdb_arrow_schema(tmp_path, pg_url):
    pg = Store(pg_url)
    duck = Store(tmp_path / "empty.duckdb")
    try:
        assert pg.backup_tables() == duck.backup_tables()
        for table in duck.backup_tables():
            assert pg.table_schema(table) == duck.table_schema(table), table
        with pytest.raises(ValueError):
            pg.table_schema("sessions")
    finally:
        pg.close()
        duck.close()


def test_a_postgresql_backup_restores_into_duckdb_and_into_postgresql(tmp_path, pg_url, demo_db_file):
    from metrics.backup import make_backup, restore_backup
    from tests import pg_cluster

    src = str(tmp_path / "demo.duckdb")
    copy_db(demo_db_file, src)
    transfer.copy_store(src, pg_url)
    pg = Store(pg_url)
    try:
        make_backup(pg, SYSTEM, tmp_path / "pg.zip")
        key = pg.audit_key
        with pg.snapshot() as cur:
            counts = {t: pg.table_count(cur, t) for t in pg.backup_tables()}
    finally:
        pg.close()
    rep = restore_backup(tmp_path / "pg.zip", tmp_path / "restored.duckdb", key=key)
    assert rep.chain_ok and not rep.foreign
    assert rep.counts == counts  # the manifest's counts, read from PostgreSQL
    # into another PostgreSQL database of the same installation (the key file is there)
    other = pg_cluster.create_database()
    try:
        kp = keys.key_path(other)
        kp.write_bytes(keys.key_path(pg_url).read_bytes())
        restored, copied = transfer.restore_into(tmp_path / "pg.zip", other)
        assert copied.copied and copied.ok and restored.chain_ok
        assert _sums(other).tables == _sums(str(tmp_path / "restored.duckdb")).tables
    finally:
        pg_cluster.drop_database(other)


# ------------------------------------------------------------------ merging cities into a national store

CITY_A = (
    b"city_code,name,province,category,population\n0101,Kota Uji,Jawa Barat,kecil,1000\n",
    b"city_code,opd_code,opd_type,name\n0101,01,DISKOMINFO,Dinas Kominfo Uji\n0101,02,DPMPTSP,DPMPTSP Uji\n0101,03,DLH,DLH Uji\n",
)
CITY_B = (
    b"city_code,name,province,category,population\n0202,Kota Coba,Bali,sedang,2000\n",
    b"city_code,opd_code,opd_type,name\n0202,01,DISKOMINFO,Dinas Kominfo Coba\n0202,03,DLH,DLH Coba\n",
)
ASSESSOR_B = User("penilai.coba", "assessor", "0202")


def _one_city(path: Path, city: tuple[bytes, bytes], answers: bytes, user: str, role_city: str) -> str:
    """A city's own database (one city in its registry) with answers, a kept file, a
    verification, an evidence file linked to an answer, a clarification with an event, and an
    account with a password."""
    from metrics.clarify import ask
    from metrics.governance import load_framework_text, load_registry_bytes, verify
    from tests.conftest import MINI_YAML

    store = Store(path)
    try:
        load_framework_text(store, SYSTEM, MINI_YAML.read_text(encoding="utf-8"))
        load_registry_bytes(store, SYSTEM, city[0], "cities.csv")
        load_registry_bytes(store, SYSTEM, city[1], "opds.csv")
        assert ingest_bytes(store, SYSTEM, answers, "a.csv").accepted
        op = User(f"op{role_city}01", "opd", role_city, "01")
        evidence.add_file(store, op, role_city, "01", 2023, S.good_pdf(), "Perwali 12.pdf", ["G1"])
        verify(store, SYSTEM, role_city, 2023, "G1", 2, "cek")
        ask(store, SYSTEM, role_city, 2023, "G2", "Mohon lampirkan dokumen.", opd="01")
        add_user(store, SYSTEM, user, PASSWORD, "assessor", role_city)
        store.checkpoint()
    finally:
        store.close()
    return str(path)


ANSWERS_B = (
    b"city_code;opd_code;year;indicator_code;level;evidence;note\n"
    b"0202;01;2023;G1;2;;\n0202;01;2023;G2;3;Perda 4;\n0202;03;2023;E1;4;;\n"
)


def _rows(store: Store, sql: str, params: list | None = None) -> list[tuple]:
    with store.cursor() as cur:
        return [tuple(r) for r in cur.execute(sql, params or []).fetchall()]


def _answers(store: Store, city: str) -> list[tuple]:
    return sorted(
        _rows(
            store,
            "SELECT s.opd_code, s.year, s.kind, s.file_name, s.sha256, s.username, a.indicator_code, a.level, "
            "a.evidence, a.note FROM submissions s JOIN assessments a ON a.submission_id = s.id "
            "WHERE s.city_code = ?",
            [city],
        ),
        key=repr,
    )


def _scores(store: Store, city: str) -> list[tuple]:
    return sorted(
        _rows(
            store, 'SELECT year, "index", dim_codes, dim_values FROM score_city WHERE city_code = ?', [city]
        ),
        key=repr,
    )


def _merged_pair(tmp_path: Path, pg_url: str) -> tuple[str, str]:
    a = _one_city(tmp_path / "a.duckdb", CITY_A, ASSESS_CSV, "penilai.uji", "0101")
    b = _one_city(tmp_path / "b.duckdb", CITY_B, ANSWERS_B, "penilai.coba", "0202")
    transfer.copy_store(a, pg_url)  # the first city: a whole copy (the store was empty)
    return a, b


def test_merge_rules_cover_every_table_of_the_schema():
    """Every table of the PostgreSQL schema is carried, rebuilt or explicitly skipped by the merge:
    a table added to the schema without a merge rule fails here."""
    import re

    from metrics.store.pg.schema import PG_MIGRATIONS
    from metrics.store.scores import _SCORE_TABLES

    tables = {
        m.group(1)
        for stmts in PG_MIGRATIONS.values()
        for s in stmts
        if (m := re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", s))
    }
    rebuilt = {*_SCORE_TABLES, "score_city"}
    assert tables == set(transfer.MERGED_TABLES) | rebuilt | {"sessions"}
    assert not set(transfer.MERGED_TABLES) & rebuilt
    # every id column of a carried table is renumbered or mapped
    for stmts in PG_MIGRATIONS.values():
        for s in stmts:
            m = re.match(r"CREATE TABLE IF NOT EXISTS (\w+)\((.*)\)$", s)
            if not m or m.group(1) not in transfer.MERGED_TABLES:
                continue
            for col in re.findall(r"(\w+_ids?) BIGINT", m.group(2)):
                assert col in transfer.REFS.get(m.group(1), {}), (m.group(1), col)
            if "fw_seq " in m.group(2):
                assert m.group(1) in (*transfer.FRAMEWORK_TABLES, "submissions"), m.group(1)
            if re.match(r"id BIGINT PRIMARY KEY", m.group(2)) and m.group(1) != "audit":
                assert m.group(1) in transfer.NEW_IDS, m.group(1)


def test_two_cities_merge_into_one_national_store_with_every_row_and_a_verifying_chain(tmp_path, pg_url):
    a, b = _merged_pair(tmp_path, pg_url)
    sums_b = _sums(b)
    pg = Store(pg_url)
    try:
        count_before = {t: _count(pg, t) for t in pg.backup_tables()}
        audit_before = _count(pg, "audit")
    finally:
        pg.close()

    rep = transfer.copy_store(b, pg_url)
    assert rep.merged and rep.copied and rep.ok and rep.cities == ("0202",) and rep.present == ()
    assert all(c.ok for c in rep.tables) and {c.table for c in rep.tables} >= {
        "submissions",
        "assessments",
        "audit",
    }
    assert rep.audit.ok

    src, pg = Store(b, read_only=True), Store(pg_url)
    try:
        # every row carried: the target grew by the source's rows (the framework and the
        # shared PDF were already there; meta is each store's own)
        for t, n in count_before.items():
            grew = _count(pg, t) - n
            if t in (
                "frameworks",
                "fw_category_thresholds",
                "fw_dimensions",
                "fw_indicators",
                "fw_pillars",
                "evidence_blobs",
            ):
                assert grew == 0, t
            elif t == "audit":
                assert grew == sums_b.tables["audit"][0] + 1, t  # and the copy.import row
            elif t == "meta":
                continue
            else:
                assert grew == sums_b.tables[t][0], t
        assert _answers(pg, "0202") == _answers(src, "0202") and len(_answers(pg, "0202")) == 3
        assert _answers(pg, "0101") and _answers(pg, "0101") != _answers(pg, "0202")
        assert _scores(pg, "0202") == _scores(src, "0202") and _scores(pg, "0202")
        a_src = Store(a, read_only=True)
        try:
            assert _scores(pg, "0101") == _scores(a_src, "0101")
        finally:
            a_src.close()
        # ids are the target's: 0202's submissions follow 0101's, and their answers point at them
        ids = _rows(pg, "SELECT city_code, min(id), max(id) FROM submissions GROUP BY city_code ORDER BY 1")
        assert ids[0][2] < ids[1][1]
        assert _rows(
            pg,
            "SELECT count(*) FROM assessments a LEFT JOIN submissions s ON s.id = a.submission_id WHERE s.id IS NULL",
        ) == [(0,)]
        assert _rows(
            pg,
            "SELECT count(*) FROM evidence_links l JOIN evidence_items i ON i.id = l.item_id AND i.city_code = l.city_code",
        ) == [(2,)]
        # the password hash is carried as stored, and signing in works
        assert _rows(pg, "SELECT pw_hash FROM users WHERE username = 'penilai.coba'") == _rows(
            src, "SELECT pw_hash FROM users WHERE username = 'penilai.coba'"
        )
        # the chain: the copy.import row records the source's head, then the source's rows
        imported = _rows(
            pg,
            'SELECT username, "action", "object", "before", "after", logged_at FROM audit WHERE id > ? ORDER BY id',
            [audit_before],
        )
        head = _rows(src, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")[0]
        assert imported[0][1] == "copy.import" and f'"source_head_hash":"{head[1]}"' in imported[0][4]
        assert imported[1:] == _rows(
            src, 'SELECT username, "action", "object", "before", "after", logged_at FROM audit ORDER BY id'
        )
        assert audit_chain.verify_store(pg).ok
        assert login(pg, "penilai.coba", PASSWORD).user.city_code == "0202"
    finally:
        src.close()
        pg.close()
    # a write after the merge continues both the ids and the chain
    pg = Store(pg_url)
    try:
        more = b"city_code;opd_code;year;indicator_code;level;evidence;note\n0202;01;2023;G1;4;;\n0202;01;2023;G2;3;Perda 4;\n"
        assert ingest_bytes(pg, SYSTEM, more, "c.csv").accepted
        assert _rows(pg, "SELECT max(id) FROM submissions WHERE file_name = 'c.csv'")[0][0] == ids[1][2] + 1
        assert audit_chain.verify_store(pg).ok
    finally:
        pg.close()


def test_merging_a_city_again_changes_nothing(tmp_path, pg_url):
    a, b = _merged_pair(tmp_path, pg_url)
    transfer.copy_store(b, pg_url)
    before = _sums(pg_url)
    rep = transfer.copy_store(b, pg_url)
    assert rep.merged and not rep.copied and rep.ok and rep.present == ("0202",) and rep.cities == ()
    assert _sums(pg_url).tables == before.tables
    rep = transfer.copy_store(a, pg_url)  # the first city (copied whole, its key moved): unchanged
    assert not rep.copied and rep.ok
    assert _sums(pg_url).tables == before.tables


def test_a_third_source_with_other_content_for_a_held_city_is_refused(tmp_path, pg_url):
    _a, b = _merged_pair(tmp_path, pg_url)
    transfer.copy_store(b, pg_url)
    before = _sums(pg_url)
    other = _one_city(tmp_path / "c.duckdb", CITY_A, CSV_0101, "penilai.lain", "0101")
    with pytest.raises(CoreError) as err:
        transfer.copy_store(other, pg_url)
    assert err.value.key == "copy.city_differs" and err.value.params["city"] == "0101"
    assert _sums(pg_url).tables == before.tables


def test_a_source_account_held_by_another_city_is_refused(tmp_path, pg_url):
    _merged_pair(tmp_path, pg_url)
    before = _sums(pg_url)
    clash = _one_city(tmp_path / "c.duckdb", CITY_B, ANSWERS_B, "penilai.uji", "0202")  # 0101's account name
    with pytest.raises(CoreError) as err:
        transfer.copy_store(clash, pg_url)
    assert err.value.key == "copy.user_clash" and err.value.params["user"] == "penilai.uji"
    assert "penilai.uji" in err.value.message("id") and "penilai.uji" in err.value.message("en")
    assert _sums(pg_url).tables == before.tables


def test_a_merge_whose_rows_do_not_read_back_equal_is_undone(tmp_path, pg_url, monkeypatch):
    import pyarrow as pa

    _a, b = _merged_pair(tmp_path, pg_url)
    before = _sums(pg_url)
    real = transfer._remap

    def lossy(rows, ids, fw, fw_type):  # the load loses one answer (the checks read ranks: strings)
        out = real(rows, ids, fw, fw_type)
        if not pa.types.is_string(fw_type):
            out["assessments"] = out["assessments"].slice(1)
        return out

    monkeypatch.setattr(transfer, "_remap", lossy)
    with pytest.raises(CoreError) as err:
        transfer.copy_store(b, pg_url)
    assert err.value.key == "copy.mismatch" and err.value.params["tables"] == "assessments"
    assert _sums(pg_url).tables == before.tables


def test_one_city_comes_out_of_the_national_store_into_a_new_file(tmp_path, pg_url):
    _a, b = _merged_pair(tmp_path, pg_url)
    transfer.copy_store(b, pg_url)
    pg = Store(pg_url)
    try:
        head = _rows(pg, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")[0]
    finally:
        pg.close()
    out = tmp_path / "0202.duckdb"
    rep = transfer.extract_city(pg_url, str(out), "0202")
    assert rep.ok and rep.copied and rep.audit.ok and rep.audit.rows == 1
    assert {c.table for c in rep.tables} >= {"submissions", "assessments", "users", "files", "evidence_blobs"}
    src, got = Store(b, read_only=True), Store(str(out))
    try:
        assert _rows(got, "SELECT city_code FROM cities") == [("0202",)]
        assert _answers(got, "0202") == _answers(src, "0202")
        assert _scores(got, "0202") == _scores(src, "0202") and _scores(got, "0202")
        assert _rows(got, "SELECT username, pw_hash FROM users") == _rows(
            src, "SELECT username, pw_hash FROM users WHERE city_code = '0202'"
        )
        assert _count(got, "files") == 1 and _count(got, "evidence_blobs") == 1
        export = _rows(got, 'SELECT "action", "after" FROM audit')
        assert export[0][0] == "copy.export" and f'"source_head_hash":"{head[1]}"' in export[0][1]
        assert login(got, "penilai.coba", PASSWORD).user.city_code == "0202"
    finally:
        src.close()
        got.close()
    # refusals: the file exists now; a city the store does not hold (no file is left behind)
    with pytest.raises(CoreError) as err:
        transfer.extract_city(pg_url, str(out), "0202")
    assert err.value.key == "copy.extract_target"
    with pytest.raises(CoreError) as err:
        transfer.extract_city(pg_url, str(tmp_path / "x.duckdb"), "9999")
    assert err.value.key == "copy.extract_no_city" and not (tmp_path / "x.duckdb").exists()
