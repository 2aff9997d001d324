"""The administrator's core (metrics.admin, and governance's period/framework writes): the
public-read setting, the audit log's filters and chain check, backup -> restore into a new file
with identical scores, and the overview the administration page starts from.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from metrics import admin, demo, scoring, users
from metrics.auth import ANONYMOUS, SYSTEM, User
from metrics.demo import DEMO_PASSWORD
from metrics.errors import CoreError, PeriodClosed, PermissionDenied, ValidationError
from metrics.governance import load_framework_bytes, set_period, verify
from metrics.ingest import ingest_bytes
from metrics.store import Store
from tests.conftest import ASSESS_CSV, MINI_YAML

ADMIN = User("adm", "admin")
ASSESSOR = User("pn", "assessor")
NOT_ADMINS = [
    User("wk", "executive", "0101"),
    User("op", "opd", "0101", "01"),
    ASSESSOR,
    User("tm", "viewer"),
    ANONYMOUS,
    User("adm2", "admin", active=False),
]
NOT_ADMIN_IDS = ["executive", "opd", "assessor", "viewer", "anonymous", "disabled-admin"]


# --------------------------------------------------------------------------- publication


@pytest.mark.both_backends
def test_public_read_switch_is_audited(mini):
    assert admin.public_read(mini) is False
    n = mini.audit_count()
    assert admin.set_public_read(mini, ADMIN, True) is False
    assert admin.public_read(mini) is True
    last = admin.read_audit(mini, ADMIN, limit=1).rows.iloc[0]
    assert (last["action"], last["username"], last["after"]) == (
        "setting.public_read",
        "adm",
        '{"value":true}',
    )
    assert admin.set_public_read(mini, ADMIN, False) is True and admin.public_read(mini) is False
    assert mini.audit_count() == n + 2


@pytest.mark.both_backends
@pytest.mark.parametrize("user", NOT_ADMINS, ids=NOT_ADMIN_IDS)
def test_non_admins_cannot_administer(mini, user, tmp_path):
    before = mini.content_fingerprint()
    for act in (
        lambda: admin.set_public_read(mini, user, True),
        lambda: admin.read_audit(mini, user),
        lambda: admin.check_audit_chain(mini, user),
        lambda: admin.backup(mini, user),
        lambda: admin.restore_to_new_file(mini, user, b"PK", "x.zip"),
        lambda: admin.admin_view(mini, user, "0101"),
        lambda: admin.framework_indicators(mini, user),
        lambda: set_period(mini, user, "0101", 2023, "closed"),
        lambda: load_framework_bytes(mini, user, MINI_YAML.read_bytes(), "mini.yaml"),
    ):
        with pytest.raises(PermissionDenied):
            act()
    assert mini.content_fingerprint() == before
    assert list(tmp_path.parent.glob("*-restored-*")) == []


# --------------------------------------------------------------------------- audit log


@pytest.fixture
def logged(mini):
    """Five audited actions by three users on the mini store (plus its three setup rows)."""
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    verify(mini, ASSESSOR, "0101", 2023, "G1", 2, "cek")
    verify(mini, ASSESSOR, "0101", 2023, "E1", 1, "cek")
    set_period(mini, ADMIN, "0101", 2023, "closed")
    admin.set_public_read(mini, ADMIN, True)
    return mini


@pytest.mark.both_backends
def test_audit_filters(logged):
    everything = admin.read_audit(logged, ADMIN)
    assert everything.total == len(everything.rows) == 8 and not everything.truncated
    assert list(everything.rows["id"]) == sorted(everything.rows["id"], reverse=True)  # newest first
    assert set(everything.usernames) == {"system", "pn", "adm"}
    assert {"verification.create", "period.closed", "setting.public_read"} <= set(everything.actions)
    by_user = admin.read_audit(logged, ADMIN, username="pn")
    assert list(by_user.rows["action"]) == ["verification.create"] * 2
    assert list(by_user.rows["object"]) == ["indicator:0101/2023/E1", "indicator:0101/2023/G1"]
    by_action = admin.read_audit(logged, ADMIN, action="period.closed")
    assert list(by_action.rows["object"]) == ["period:0101/2023"] and list(by_action.rows["username"]) == [
        "adm"
    ]
    both = admin.read_audit(logged, ADMIN, username="adm", action="verification.create")
    assert both.rows.empty and both.total == 8
    # dates are whole days, both ends inclusive
    today = pd.Timestamp(everything.rows["logged_at"].iloc[0]).date()
    assert len(admin.read_audit(logged, ADMIN, since=today, until=today).rows) == 8
    assert len(admin.read_audit(logged, ADMIN, until=today - timedelta(days=1)).rows) == 0
    assert len(admin.read_audit(logged, ADMIN, since=today + timedelta(days=1)).rows) == 0
    assert len(admin.read_audit(logged, ADMIN, since=date(2000, 1, 1), until=today).rows) == 8
    limited = admin.read_audit(logged, ADMIN, limit=3)
    assert len(limited.rows) == 3 and limited.truncated and list(limited.rows["id"]) == [8, 7, 6]


@pytest.mark.both_backends
def test_chain_check_detects_a_tampered_row(logged):
    assert admin.check_audit_chain(logged, ADMIN) == []
    assert admin.read_audit(logged, ADMIN, check_chain=True).chain_ok is True
    assert admin.read_audit(logged, ADMIN).chain_ok is None  # not asked
    target = int(admin.read_audit(logged, ADMIN, action="period.closed").rows["id"].iloc[0])
    with logged.cursor() as cur:  # behind the application's back
        cur.execute('UPDATE audit SET after = \'{"status":"open"}\' WHERE id = ?', [target])
    assert admin.check_audit_chain(logged, ADMIN) == [target]
    view = admin.read_audit(logged, ADMIN, check_chain=True)
    assert view.chain_ok is False and view.broken == (target,)


@pytest.mark.both_backends
def test_audit_csv_is_neutralised(logged):
    view = admin.read_audit(logged, ADMIN)
    text = view.to_csv().decode("utf-8-sig")
    assert text.splitlines()[0] == "id,logged_at,username,action,object,before,after"
    assert len(text.splitlines()) == 9 and "indicator:0101/2023/G1" in text
    hostile = admin.AuditView(
        pd.DataFrame(
            [
                {
                    "id": 1,
                    "logged_at": "2024",
                    "username": "x",
                    "action": "=1+1",
                    "object": "@SUM(A1)",
                    "before": None,
                    "after": "-2",
                }
            ]
        ),
        1,
        (),
        10,
    )
    row = hostile.to_csv().decode("utf-8-sig").splitlines()[1]
    assert row == "1,2024,x,'=1+1,'@SUM(A1),,'-2"


# --------------------------------------------------------------------------- backups


def _scores(store) -> list:
    return [
        (c.city_code, c.year, c.index, c.dimensions, c.pillars, c.completeness) for c in scoring.score(store)
    ]


def test_backup_then_restore_to_a_new_file_gives_identical_scores(demo_store):
    verify(demo_store, SYSTEM, "3299", 2024, "GOV-01", 1, "cek")
    live_path = Path(demo_store.path)
    scores = _scores(demo_store)
    bk = admin.backup(demo_store, ADMIN)
    assert bk.name.endswith(".zip") and bk.files > 5 and len(bk.sha256) == 64
    assert admin.read_audit(demo_store, ADMIN, limit=1).rows["action"].iloc[0] == "backup.create"
    res = admin.restore_to_new_file(demo_store, ADMIN, bk.data, bk.name)
    target = Path(res.path)
    assert target != live_path and target.parent == live_path.parent.resolve() and target.exists()
    assert res.chain_ok and res.counts["submissions"] == demo_store.counts()["submissions"]
    assert res.path in res.message("en") and "SMARTCITY_DB" in res.message("id")
    # the live database is the same file, unchanged but for the restore's own audit row
    assert _scores(demo_store) == scores
    last = admin.read_audit(demo_store, ADMIN, limit=1).rows.iloc[0]
    assert last["action"] == "backup.restore" and res.path in last["after"]
    restored = Store(target)
    try:
        assert _scores(restored) == scores
        assert restored.period_status("3299", 2023) == "locked"
        assert restored.verification_rows("3299", 2024) == demo_store.verification_rows("3299", 2024)
    finally:
        restored.close()
    # a second restore never reuses (or overwrites) the first file
    again = admin.restore_to_new_file(demo_store, ADMIN, bk.data, bk.name)
    assert again.path != res.path and Path(again.path).exists()


def test_a_damaged_or_foreign_backup_is_refused_and_creates_nothing(mini):
    bk = admin.backup(mini, ADMIN)
    parts = {
        i.filename: zipfile.ZipFile(io.BytesIO(bk.data)).read(i.filename)
        for i in zipfile.ZipFile(io.BytesIO(bk.data)).infolist()
    }
    name = next(n for n in parts if n.endswith(".parquet"))
    parts[name] = parts[name][:-10] + b"0123456789"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    folder = Path(mini.path).parent
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(CoreError) as exc:
        admin.restore_to_new_file(mini, ADMIN, buf.getvalue(), "rusak.zip")
    assert exc.value.key == "backup.checksum" and name in exc.value.message("en")
    with pytest.raises(CoreError) as exc:
        admin.restore_to_new_file(mini, ADMIN, b"bukan zip", "x.zip")
    assert exc.value.key == "backup.bad"
    with pytest.raises(ValidationError) as exc:
        admin.restore_to_new_file(mini, ADMIN, b"", "x.zip")
    assert exc.value.key == "admin.restore_empty"
    assert sorted(p.name for p in folder.iterdir()) == before


# --------------------------------------------------------------------------- the page's start


def test_admin_view_of_the_demo(demo_store):
    view = admin.admin_view(demo_store, ADMIN, "3299", lang="en")
    assert view.years == (2020, 2021, 2022, 2023, 2024, 2025)  # and the next year, to open it
    assert list(view.periods["year"]) == list(view.years[:-1])
    assert [view.status(y) for y in view.years] == ["locked"] * 4 + ["open", "open"]
    assert set(view.users["username"]) == {
        "admin",
        "walikota",
        "opd.kominfo",
        "opd.dinkes",
        "penilai",
        "tamu",
        *(demo.planner_of(c) for c in demo.CITIES),
    }
    assert "pw_hash" not in view.users.columns
    assert len(view.cities) == 7 and set(view.opds["city_code"]) == {"3299"}
    assert len(view.opds) == len(demo_store.opds("3299"))
    assert list(view.frameworks["id"]) == ["default-2024"] and view.framework_seq == 1
    assert len(view.indicators) == 60 and view.indicators["code"].iloc[0] == "GOV-01"
    assert view.public_read is False and view.counts["users"] == 6 + len(demo.CITIES)
    set_period(demo_store, ADMIN, "3299", 2025, "open")
    assert admin.admin_view(demo_store, ADMIN, "3299").years[-1] == 2026


@pytest.mark.both_backends
def test_framework_upload_and_its_indicators(mini):
    fw, seq = load_framework_bytes(mini, ADMIN, "\ufeff".encode() + MINI_YAML.read_bytes(), "mini.yaml")
    assert seq == 2 and fw.id == "mini-2023"
    ind = admin.framework_indicators(mini, ADMIN, seq, "en")
    assert list(ind["code"]) == ["G1", "G2", "E1", "E2"] and ind["name"].iloc[0] == "Service portal"
    assert list(ind["metric"]) == ["", "ONLINE_LICENCE_SHARE", "", "COMPLAINT_HOURS"]
    before = mini.content_fingerprint()
    for data, key in (
        (b"id: [unclosed", "fw.invalid"),
        (b"\xff\xfe\x00x", "framework.not_utf8"),
        (b"  ", "file.empty"),
    ):
        with pytest.raises(ValidationError) as exc:
            load_framework_bytes(mini, ADMIN, data, "x.yaml")
        assert exc.value.key == key
    assert mini.content_fingerprint() == before


# --------------------------------------------------------------------------- periods


@pytest.mark.both_backends
def test_period_rules(mini):
    assert set_period(mini, ADMIN, "0101", 2023, "closed") == "open"
    assert set_period(mini, ADMIN, "0101", 2023, "open") == "closed"  # an admin reopens a closed year
    assert set_period(mini, ADMIN, "0101", 2023, "locked") == "open"
    before = mini.content_fingerprint()
    for status in ("open", "closed"):
        with pytest.raises(PeriodClosed):
            set_period(mini, ADMIN, "0101", 2023, status)
    with pytest.raises(ValidationError) as exc:
        set_period(mini, ADMIN, "9999", 2023, "closed")
    assert exc.value.key == "cell.unknown_city"
    for year in ("2023", 2023.0, True, 99999):
        with pytest.raises(ValidationError) as exc:
            set_period(mini, ADMIN, "0101", year, "closed")
        assert exc.value.key == "cell.year"
    assert mini.content_fingerprint() == before
    actions = list(admin.read_audit(mini, ADMIN, username="adm").rows["action"])
    assert actions == ["period.locked", "period.open", "period.closed"]


@pytest.mark.both_backends
def test_disabled_user_from_the_admin_page_functions(demo_store):
    # the page's user management is users.update_user / set_password; a disabled account cannot sign in
    admin_user = users.get_user(demo_store, "admin")
    users.update_user(demo_store, admin_user, "tamu", active=False)
    with pytest.raises(users.LoginFailed) as exc:
        users.login(demo_store, "tamu", DEMO_PASSWORD)
    # the same answer as a wrong password (no telling which names exist); the audit row says why
    assert exc.value.key == "login.failed"
    assert '"disabled"' in demo_store.audit_rows()[-1].after


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_national_store_is_not_restored_from_the_page(mini):
    """On PostgreSQL there is no file beside the store to restore into: the page says how the
    database administrator restores (the CLI into an empty database) and changes nothing."""
    bk = admin.backup(mini, ADMIN)
    rows = mini.audit_count()
    with pytest.raises(ValidationError) as exc:
        admin.restore_to_new_file(mini, ADMIN, bk.data, bk.name)
    assert exc.value.key == "admin.restore_national" and "restore" in exc.value.message("id")
    assert mini.audit_count() == rows  # nothing written (the backup's own row came before)
