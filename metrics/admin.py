"""The Diskominfo administrator's remaining core functions: publication, audit log, backups.

Why a module of its own: governance.py holds the writes that change what is scored (frameworks,
registry, periods, verification), users.py the accounts; what is left for the administration
page — whether results are public, reading and checking the audit trail, taking and restoring
a backup from the browser, and the overview the page starts from — lives here, each behind
`require` and, when it writes, an audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from metrics import audit as audit_chain
from metrics.auth import Action, User, require
from metrics.backup import MANIFEST, make_backup, restore_backup
from metrics.errors import CoreError, ValidationError
from metrics.i18n import pick, t

PUBLIC_READ = "public_read"
AUDIT_LIMIT = 1000
AUDIT_COLUMNS = ["id", "logged_at", "username", "action", "object", "before", "after"]
# A backup may unpack to at most this much (the sum of its entries' sizes): a restore from the
# browser must not be able to fill the disk with a small, highly compressed upload.
RESTORE_MAX_UNPACKED = 8 * 1024 ** 3


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
    usernames: tuple[str, ...] = ()  # everyone who appears in the log, for the filter
    broken: tuple[int, ...] | None = None  # ids failing the hash-chain check; None: not checked

    @property
    def truncated(self) -> bool:
        return len(self.rows) >= self.limit

    @property
    def chain_ok(self) -> bool | None:
        return None if self.broken is None else not self.broken

    def to_csv(self) -> bytes:
        """The rows shown, as UTF-8 CSV with every text cell neutralised for spreadsheets."""
        from metrics.reports import TableOut, table_to_csv  # reports imports views, which imports us

        rows = [[None if (v is None or (isinstance(v, float) and v != v)) else v for v in r]
                for r in self.rows[AUDIT_COLUMNS].itertuples(index=False, name=None)]
        return table_to_csv(TableOut("audit", list(AUDIT_COLUMNS), rows))


def _bound(value, end: bool) -> str | None:
    """An audit timestamp bound: a date covers its whole day (until = before the next day)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        # stored times look like 2024-05-01T09:30:00.000000+00:00; the bare next-day date sorts
        # below every time of that day, so `<=` it keeps exactly the rows up to the end of `value`
        return (value + timedelta(days=1)).isoformat() if end else value.isoformat()
    return str(value)


def read_audit(store, user: User, username: str | None = None, action: str | None = None,
               since: date | datetime | str | None = None, until: date | datetime | str | None = None,
               limit: int = AUDIT_LIMIT, check_chain: bool = False) -> AuditView:
    """The audit log, newest first, filtered by user, action and date range (both ends inclusive).

    With `check_chain` the whole log's hash chain is checked too (metrics.audit), so the page
    shows in the same view whether any row was changed behind the application's back.
    """
    require(user, Action.READ_AUDIT)
    limit = max(1, min(int(limit), 10_000))
    rows = store.audit_frame(username or None, action or None, _bound(since, False), _bound(until, True), limit)
    # stored as the exact ISO text the hash chain covers; shown and exported as a UTC time
    rows = rows.assign(logged_at=pd.to_datetime(rows["logged_at"], utc=True, format="ISO8601"))
    broken = tuple(audit_chain.verify_chain(store.audit_rows())) if check_chain else None
    return AuditView(rows, store.audit_count(), tuple(store.audit_actions()), limit,
                     tuple(store.audit_usernames()), broken)


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
    counts: dict = field(default_factory=dict)  # rows per table in the restored database
    chain_ok: bool = True  # the restored audit log's hash chain

    def message(self, lang: str = "id") -> str:
        """What was restored and how to switch the application to it."""
        return t("admin.restore_done", lang, path=self.path, submissions=self.counts.get("submissions", 0),
                 users=self.counts.get("users", 0))


def _new_target(live: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = live.with_name(f"{live.stem}-restored-{stamp}{f'-{n}' if n else ''}.duckdb")
        if not target.exists() and not Path(str(target) + ".wal").exists():
            return target
    raise ValidationError("backup.bad", detail="no free file name")  # pragma: no cover


def _check_backup_zip(data: bytes) -> None:
    """Refuse, before anything is written, what is not a backup or would unpack too large."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
        json.loads(zf.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CoreError("backup.bad", detail=type(exc).__name__) from None
    if sum(i.file_size for i in infos) > RESTORE_MAX_UNPACKED:
        raise CoreError("backup.bad", detail="too large when unpacked")


def restore_to_new_file(store, user: User, data: bytes, name: str) -> RestoreResult:
    """Restore an uploaded backup into a new database file beside the live one. Audited.

    The live database stays untouched: DuckDB holds it open for this process, so switching to
    the restored copy is the administrator's step (stop the app, point SMARTCITY_DB at the new
    file or move it into place, start again; RestoreResult.message says so). A damaged or
    altered backup is refused whole (metrics.backup checks every checksum first).
    """
    from metrics.store import Store

    require(user, Action.BACKUP)
    if not data:
        raise ValidationError("admin.restore_empty")
    _check_backup_zip(data)
    sha = hashlib.sha256(data).hexdigest()
    if store.path == ":memory:":
        raise ValidationError("admin.restore_memory")
    target = _new_target(Path(store.path).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "backup.zip"
        src.write_bytes(data)
        restore_backup(src, target)
    restored = Store(target, memory_limit=store.memory_limit)  # checked in this process: same budget
    try:
        counts = restored.counts()
        chain_ok = not audit_chain.verify_chain(restored.audit_rows())
    finally:
        restored.close()
    with store.transaction() as cur:
        store.write_audit(cur, user, "backup.restore", f"file:{Path(name).name}", None,
                          {"sha256": sha, "restored_to": str(target)})
    return RestoreResult(str(target), sha, counts, chain_ok)


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
    years: tuple[int, ...] = ()  # known years and the next one (which an admin may open)
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)  # of the chosen (else latest) framework
    framework_seq: int | None = None

    def status(self, year: int | None) -> str:
        """The period status of `year` for the chosen city ('open' until set otherwise)."""
        hit = self.periods[self.periods["year"] == year]
        return str(hit["status"].iloc[0]) if len(hit) else "open"


def admin_view(store, user: User, city: str | None, fw_seq: int | None = None, lang: str = "id") -> AdminView:
    """Everything the administration page lists: periods, users, registry, frameworks, settings."""
    require(user, Action.PERIOD, city)
    known_years = set(store.years())
    years = sorted(known_years | ({max(known_years) + 1} if known_years else set()))
    pf = store.periods_frame(city) if city else store.periods_frame().iloc[0:0]
    known = {int(y): r for y, r in zip(pf["year"], pf.to_dict("records"))}
    periods = pd.DataFrame(
        [{"year": y, "status": known[y]["status"] if y in known else "open",
          "updated_at": known[y]["updated_at"] if y in known else None,
          "updated_by": known[y]["updated_by"] if y in known else None} for y in sorted(known_years)],
        columns=["year", "status", "updated_at", "updated_by"])
    users = store.users_frame()
    if user.city_code is not None:
        users = users[users["city_code"] == user.city_code]
    cities = pd.DataFrame([c.__dict__ for c in store.cities()],
                          columns=["city_code", "name", "province", "category", "population"])
    opds = pd.DataFrame([o.__dict__ for o in store.opds(city)] if city else [],
                        columns=["city_code", "opd_code", "opd_type", "name"])
    frameworks = store.framework_list()
    seqs = [int(x) for x in frameworks["seq"]]
    chosen = fw_seq if fw_seq in seqs else (seqs[-1] if seqs else None)
    indicators = framework_indicators(store, user, chosen, lang)
    return AdminView(city, periods, users.reset_index(drop=True), cities, opds, frameworks,
                     public_read(store), store.counts(), tuple(years), indicators, chosen)


def framework_indicators(store, user: User, seq: int | None = None, lang: str = "id") -> pd.DataFrame:
    """The indicators of a loaded framework (the latest when `seq` is None), for checking a load."""
    require(user, Action.LOAD_FRAMEWORK)
    frameworks = store.frameworks()
    if not frameworks:
        return pd.DataFrame(columns=["code", "name", "pillar", "dimension", "weight", "opd_types", "metric"])
    fw = next((f for f, s in frameworks if s == seq), frameworks[-1][0])
    return pd.DataFrame(
        [{"code": i.code, "name": pick(i.name, lang), "pillar": i.subpillar or i.pillar, "dimension": i.dimension,
          "weight": i.weight, "opd_types": ", ".join(i.opd_types), "metric": i.metric.code if i.metric else ""}
         for i in fw.indicators],
        columns=["code", "name", "pillar", "dimension", "weight", "opd_types", "metric"])
