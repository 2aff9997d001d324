"""The Diskominfo administrator's remaining core functions: publication, audit log, backups.

Why a module of its own: governance.py holds the writes that change what is scored (frameworks,
registry, periods, verification), users.py the accounts; what is left for the administration
page — whether results are public, reading and checking the audit trail, taking and restoring
a backup from the browser, and the overview the page starts from — lives here, each behind
`require` and, when it writes, an audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from metrics import audit as audit_chain
from metrics.auth import Action, User, require
from metrics.backup import make_backup, restore_backup
from metrics.errors import ValidationError
from metrics.i18n import pick

PUBLIC_READ = "public_read"
AUDIT_LIMIT = 1000


# ------------------------------------------------------------------------------ publication


def public_read(store) -> bool:
    return store.get_setting(PUBLIC_READ, "false") == "true"


def set_public_read(store, user: User, value: bool) -> bool:
    """Allow (or stop) reading published results without signing in; returns the previous value."""
    require(user, Action.SETTINGS)
    with store.transaction() as cur:
        before = store.get_setting(PUBLIC_READ, "false") == "true"
        store.set_setting(cur, PUBLIC_READ, "true" if value else "false")
        store.write_audit(cur, user, "setting.public_read", f"setting:{PUBLIC_READ}",
                          {"value": before}, {"value": bool(value)})
    return before


# ------------------------------------------------------------------------------ audit log


@dataclass(frozen=True)
class AuditView:
    rows: pd.DataFrame  # id, logged_at, username, action, object, before, after (newest first)
    total: int  # rows in the whole log
    actions: tuple[str, ...]  # every action recorded, for the filter
    limit: int

    @property
    def truncated(self) -> bool:
        return len(self.rows) >= self.limit


def read_audit(store, user: User, username: str | None = None, action: str | None = None,
               since: str | None = None, until: str | None = None, limit: int = AUDIT_LIMIT) -> AuditView:
    """The audit log, newest first, filtered by user, action and ISO date/time range."""
    require(user, Action.READ_AUDIT)
    limit = max(1, min(int(limit), 10_000))
    rows = store.audit_frame(username or None, action or None, since or None, until or None, limit)
    return AuditView(rows, store.audit_count(), tuple(store.audit_actions()), limit)


def check_audit_chain(store, user: User) -> list[int]:
    """Ids of audit rows whose hash chain is broken (edited or deleted behind the app's back)."""
    require(user, Action.READ_AUDIT)
    return audit_chain.verify_chain(store.audit_rows())


# ------------------------------------------------------------------------------ backups


@dataclass(frozen=True)
class BackupFile:
    name: str
    data: bytes
    sha256: str
    files: int


def backup(store, user: User) -> BackupFile:
    """A checksummed backup (metrics.backup) as bytes, for the browser to download. Audited."""
    require(user, Action.BACKUP)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"indeks-kota-cerdas-{stamp}.zip"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        info = make_backup(store, user, out)
        data = out.read_bytes()
    return BackupFile(name, data, info["sha256"], info["files"])


@dataclass(frozen=True)
class RestoreResult:
    path: str  # the NEW database file the backup was restored into
    sha256: str


def restore_to_new_file(store, user: User, data: bytes, name: str) -> RestoreResult:
    """Restore an uploaded backup into a new database file beside the live one. Audited.

    The live database stays untouched: DuckDB holds it open for this process, so switching to
    the restored copy is the administrator's step (stop the app, point SMARTCITY_DB at the new
    file or move it into place, start again). A damaged or altered backup is refused whole.
    """
    require(user, Action.BACKUP)
    if not data:
        raise ValidationError("admin.restore_empty")
    sha = hashlib.sha256(data).hexdigest()
    live = Path(store.path) if store.path != ":memory:" else Path(tempfile.gettempdir()) / "memory.duckdb"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = live.with_name(f"{live.stem}-restored-{stamp}.duckdb")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "backup.zip"
        src.write_bytes(data)
        restore_backup(src, target)
    with store.transaction() as cur:
        store.write_audit(cur, user, "backup.restore", f"file:{Path(name).name}", None,
                          {"sha256": sha, "restored_to": str(target)})
    return RestoreResult(str(target), sha)


# ------------------------------------------------------------------------------ the page's start


@dataclass(frozen=True)
class AdminView:
    city_code: str | None
    periods: pd.DataFrame  # year, status, updated_at, updated_by (every known year of the city)
    users: pd.DataFrame
    cities: pd.DataFrame
    opds: pd.DataFrame  # of the chosen city
    frameworks: pd.DataFrame
    public_read: bool
    counts: dict = field(default_factory=dict)
    years: tuple[int, ...] = ()


def admin_view(store, user: User, city: str | None) -> AdminView:
    """Everything the administration page lists: periods, users, registry, frameworks, settings."""
    require(user, Action.PERIOD, city)
    years = sorted(set(store.years()))
    pf = store.periods_frame(city) if city else store.periods_frame().iloc[0:0]
    known = {int(y): r for y, r in zip(pf["year"], pf.to_dict("records"))}
    periods = pd.DataFrame(
        [{"year": y, "status": known[y]["status"] if y in known else "open",
          "updated_at": known[y]["updated_at"] if y in known else None,
          "updated_by": known[y]["updated_by"] if y in known else None} for y in years],
        columns=["year", "status", "updated_at", "updated_by"])
    users = store.users_frame()
    if user.city_code is not None:
        users = users[users["city_code"] == user.city_code]
    cities = pd.DataFrame([c.__dict__ for c in store.cities()],
                          columns=["city_code", "name", "province", "category", "population"])
    opds = pd.DataFrame([o.__dict__ for o in store.opds(city)] if city else [],
                        columns=["city_code", "opd_code", "opd_type", "name"])
    return AdminView(city, periods, users.reset_index(drop=True), cities, opds, store.framework_list(),
                     public_read(store), store.counts(), tuple(years))


def framework_indicators(store, user: User, seq: int | None = None, lang: str = "id") -> pd.DataFrame:
    """The indicators of a loaded framework (the latest when `seq` is None), for checking a load."""
    require(user, Action.LOAD_FRAMEWORK)
    frameworks = store.frameworks()
    if not frameworks:
        return pd.DataFrame(columns=["code", "name", "pillar", "dimension", "weight", "opd_types", "metric"])
    fw = next((f for f, s in frameworks if s == seq), frameworks[-1][0]) if seq is not None else frameworks[-1][0]
    return pd.DataFrame(
        [{"code": i.code, "name": pick(i.name, lang), "pillar": i.subpillar or i.pillar, "dimension": i.dimension,
          "weight": i.weight, "opd_types": ", ".join(i.opd_types), "metric": i.metric.code if i.metric else ""}
         for i in fw.indicators],
        columns=["code", "name", "pillar", "dimension", "weight", "opd_types", "metric"])
