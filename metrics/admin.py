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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from metrics import audit as audit_chain
from metrics.auth import Action, User, require
from metrics.backup import make_backup, restore_backup
from metrics.errors import ValidationError
from metrics.i18n import pick, t

PUBLIC_READ = "public_read"
AUDIT_LIMIT = 1000
AUDIT_COLUMNS = ["id", "logged_at", "username", "action", "object", "before", "after"]


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
    report: audit_chain.AuditReport | None = None  # the whole check (chain, head, key, table)

    @property
    def truncated(self) -> bool:
        return len(self.rows) >= self.limit

    @property
    def chain_ok(self) -> bool | None:
        return None if self.report is None else self.report.ok

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

    With `check_chain` the whole log is checked too (metrics.audit.verify_store: the keyed chain
    and the head kept outside the database), so the page shows in the same view whether any row
    was changed, cut or deleted behind the application's back. A dropped audit table gives an
    empty view whose report says so.
    """
    require(user, Action.READ_AUDIT)
    limit = max(1, min(int(limit), 10_000))
    report = audit_chain.verify_store(store) if check_chain else None
    if not store.has_audit_table():
        return AuditView(pd.DataFrame(columns=AUDIT_COLUMNS), 0, (), limit, (), (), report)
    rows = store.audit_frame(username or None, action or None, _bound(since, False), _bound(until, True), limit)
    # stored as the exact ISO text the hash chain covers; shown and exported as a UTC time
    rows = rows.assign(logged_at=pd.to_datetime(rows["logged_at"], utc=True, format="ISO8601"))
    return AuditView(rows, store.audit_count(), tuple(store.audit_actions()), limit,
                     tuple(store.audit_usernames()), report.broken if report else None, report)


def check_audit_chain(store, user: User) -> list[int]:
    """Ids of audit rows whose keyed hash chain is broken (edited, inserted or deleted in the
    middle behind the app's back); audit_report says everything else (a cut tail, a lost head)."""
    require(user, Action.READ_AUDIT)
    return list(audit_report(store, user).broken)


def audit_report(store, user: User) -> audit_chain.AuditReport:
    """The whole audit check (metrics.audit.verify_store), for the pages and the CLI alike."""
    require(user, Action.READ_AUDIT)
    return audit_chain.verify_store(store)


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
    chain_ok: bool = True  # the restored audit log's check
    foreign: bool = False  # imported as another installation's (or an edited) backup, audited

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


def restore_to_new_file(store, user: User, data: bytes, name: str, foreign: bool = False) -> RestoreResult:
    """Restore an uploaded backup into a new database file beside the live one. Audited.

    The live database stays untouched: DuckDB holds it open for this process, so switching to
    the restored copy is the administrator's step (stop the app, point SMARTCITY_DB at the new
    file or move it into place, start again; RestoreResult.message says so). metrics.backup
    refuses a damaged, oversized, edited or SQL-carrying archive before the new file exists; a
    backup not signed with this installation's key restores only with `foreign`, which the
    restored log and this one both record. The new file gets this installation's key.
    """
    require(user, Action.BACKUP)
    if not data:
        raise ValidationError("admin.restore_empty")
    sha = hashlib.sha256(data).hexdigest()
    if store.path == ":memory:":
        raise ValidationError("admin.restore_memory")
    live = Path(store.path).resolve()
    target = _new_target(live)
    with tempfile.TemporaryDirectory(dir=live.parent, prefix=".upload-") as tmp:
        src = Path(tmp) / "backup.zip"
        src.write_bytes(data)
        rep = restore_backup(src, target, foreign=foreign, user=user, key=store.audit_key,
                             memory_limit=store.memory_limit)  # checked in this process: same budget
    with store.transaction() as cur:
        store.write_audit(cur, user, "backup.restore", f"file:{Path(name).name}", None,
                          {"sha256": sha, "restored_to": str(target), "foreign": rep.foreign,
                           "key_id": rep.key_id})
    return RestoreResult(str(target), sha, rep.counts, rep.chain_ok, rep.foreign)


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
    # the audit chain head kept outside the database ("ok"/"missing"/"bad"/"memory", head)
    audit_head: tuple[str, audit_chain.Head | None] = ("memory", None)

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
                     public_read(store), store.counts(), tuple(years), indicators, chosen,
                     audit_chain.read_head(store.path, store.audit_key))


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
