"""The Diskominfo administrator's remaining core functions: publication, audit log, backups.

Why a module of its own: governance.py holds the writes that change what is scored (frameworks,
registry, periods, verification), users.py the accounts; what is left for the administration
page — whether results are public, reading and checking the audit trail, taking and restoring
a backup from the browser, and the overview the page starts from — lives here, each behind
`require` and, when it writes, an audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from metrics import audit as audit_chain
from metrics.auth import Action, User, require
from metrics.backup import make_backup, restore_backup
from metrics.errors import ValidationError
from metrics.framework import framework_for_year
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.progress import Progress
from metrics.store.pg.connection import is_postgres

if TYPE_CHECKING:
    from metrics.storage import Storage

PUBLIC_READ = "public_read"
AUDIT_LIMIT = 1000
AUDIT_COLUMNS = ["id", "logged_at", "username", "action", "object", "before", "after"]


# ------------------------------------------------------------------------------ publication


def public_read(store: Storage) -> bool:
    """Whether results are published: anyone, signed in or not, may read them (the one check)."""
    return store.get_setting(PUBLIC_READ, "false") == "true"


def set_public_read(store: Storage, user: User, value: bool) -> bool:
    """Allow (or stop) reading published results without signing in; returns the previous value."""
    require(user, Action.SETTINGS)
    with store.transaction() as cur:
        before = public_read(store)
        store.set_setting(cur, PUBLIC_READ, "true" if value else "false")
        store.write_audit(
            cur,
            user,
            "setting.public_read",
            f"setting:{PUBLIC_READ}",
            {"value": before},
            {"value": bool(value)},
        )
    return before


# ------------------------------------------------------------------------------ report card signatory

SIGNATORY = "signatory"  # one per city: setting "signatory.<city_code>" = {"name", "position"}
MAX_SIGNATORY_TEXT = 120


@dataclass(frozen=True)
class Signatory:
    """Who signs the city's report card: shown in the PDF's signature block."""

    name: str
    position: str


def signatory(store: Storage, city: str | None) -> Signatory | None:
    """The official who signs `city`'s report card, when the admin has named one."""
    if not city:
        return None
    raw = store.get_setting(f"{SIGNATORY}.{city}")
    if not raw:
        return None
    d = json.loads(raw)
    return Signatory(d.get("name", ""), d.get("position", ""))


def set_signatory(store: Storage, user: User, city: str, name: str, position: str) -> Signatory | None:
    """Name the official who signs `city`'s report card (both empty: nobody named). Audited.

    Kept as an admin setting rather than typed on the report page, so every card of the city
    carries the same, accountable name, and a change shows in the audit log.
    """
    require(user, Action.SETTINGS, city)
    name, position = (name or "").strip(), (position or "").strip()
    for v in (name, position):
        if len(v) > MAX_SIGNATORY_TEXT or any(ord(ch) < 32 for ch in v):
            raise ValidationError("setting.signatory_invalid", limit=MAX_SIGNATORY_TEXT)
    if city not in {c.city_code for c in store.cities()}:
        raise ValidationError("cell.unknown_city", value=city)
    key = f"{SIGNATORY}.{city}"
    with store.transaction() as cur:
        before = signatory(store, city)
        value = (
            json.dumps({"name": name, "position": position}, ensure_ascii=False) if name or position else ""
        )
        store.set_setting(cur, key, value)
        store.write_audit(
            cur,
            user,
            "setting.signatory",
            f"setting:{key}",
            before.__dict__ if before else None,
            {"name": name, "position": position},
        )
    return signatory(store, city)


HELP_CONTACT = "help_contact"  # who OPD operators and the mayor's office ask (the Bantuan page, the guide)
MAX_HELP_CONTACT = 300


def help_contact(store: Storage) -> str:
    """The deployment's help contact as the admin wrote it ("" when none is set)."""
    return store.get_setting(HELP_CONTACT, "") or ""


def set_help_contact(store: Storage, user: User, text: str) -> str:
    """Set who to ask for help (name, unit, telephone, e-mail: one line, free text). Audited.

    An instance-wide setting, so the Bantuan page and the printed guide name the same person,
    and a change shows in the audit log.
    """
    require(user, Action.SETTINGS)
    text = (text or "").strip()
    if len(text) > MAX_HELP_CONTACT or any(ord(ch) < 32 for ch in text):
        raise ValidationError("setting.help_contact_invalid", limit=MAX_HELP_CONTACT)
    with store.transaction() as cur:
        before = help_contact(store)
        store.set_setting(cur, HELP_CONTACT, text)
        store.write_audit(
            cur, user, "setting.help_contact", f"setting:{HELP_CONTACT}", {"text": before}, {"text": text}
        )
    return help_contact(store)


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

        rows = [
            [None if (v is None or (isinstance(v, float) and v != v)) else v for v in r]
            for r in self.rows[AUDIT_COLUMNS].itertuples(index=False, name=None)
        ]
        return table_to_csv(TableOut("audit", list(AUDIT_COLUMNS), rows))


def _bound(value: date | datetime | str | None, end: bool) -> str | None:
    """An audit timestamp bound: a date covers its whole day (until = before the next day)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        # stored times look like 2024-05-01T09:30:00.000000+00:00; the bare next-day date sorts
        # below every time of that day, so `<=` it keeps exactly the rows up to the end of `value`
        return (value + timedelta(days=1)).isoformat() if end else value.isoformat()
    return str(value)


def read_audit(
    store: Storage,
    user: User,
    username: str | None = None,
    action: str | None = None,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    limit: int = AUDIT_LIMIT,
    check_chain: bool = False,
) -> AuditView:
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
    rows = store.audit_frame(
        username or None, action or None, _bound(since, False), _bound(until, True), limit
    )
    # stored as the exact ISO text the hash chain covers; shown and exported as a UTC time
    rows = rows.assign(logged_at=pd.to_datetime(rows["logged_at"], utc=True, format="ISO8601"))
    return AuditView(
        rows,
        store.audit_count(),
        tuple(store.audit_actions()),
        limit,
        tuple(store.audit_usernames()),
        report.broken if report else None,
        report,
    )


def check_audit_chain(store: Storage, user: User) -> list[int]:
    """Ids of audit rows whose keyed hash chain is broken (edited, inserted or deleted in the
    middle behind the app's back); audit_report says everything else (a cut tail, a lost head)."""
    require(user, Action.READ_AUDIT)
    return list(audit_report(store, user).broken)


def audit_report(store: Storage, user: User) -> audit_chain.AuditReport:
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


def backup(store: Storage, user: User, progress: Progress | None = None) -> BackupFile:
    """A checksummed backup (metrics.backup) as bytes, for the browser to download. Audited.
    `progress` hears of make_backup's steps."""
    require(user, Action.BACKUP)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"indeks-kota-cerdas-{stamp}.zip"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        info = make_backup(store, user, out, progress)
        data = out.read_bytes()
    return BackupFile(name, data, info["sha256"], info["files"])


@dataclass(frozen=True)
class RestoreResult:
    path: str  # the NEW database file the backup was restored into
    sha256: str
    counts: dict[str, int] = field(default_factory=dict)  # rows per table in the restored database
    chain_ok: bool = True  # the restored audit log's check
    foreign: bool = False  # imported as another installation's (or an edited) backup, audited

    def message(self, lang: str = "id") -> str:
        """What was restored and how to switch the application to it."""
        return t(
            "admin.restore_done",
            lang,
            path=self.path,
            submissions=self.counts.get("submissions", 0),
            users=self.counts.get("users", 0),
        )


def _new_target(live: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = live.with_name(f"{live.stem}-restored-{stamp}{f'-{n}' if n else ''}.duckdb")
        if not target.exists() and not Path(str(target) + ".wal").exists():
            return target
    raise ValidationError("backup.bad", detail="no free file name")  # pragma: no cover


def restore_to_new_file(
    store: Storage,
    user: User,
    data: bytes,
    name: str,
    foreign: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
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
    if is_postgres(store.path):
        # no file beside a PostgreSQL store, and a new database is the DBA's to create: the
        # national store restores with `python -m metrics restore BACKUP --db postgresql://...`
        raise ValidationError("admin.restore_national")
    live = Path(store.path).resolve()
    target = _new_target(live)
    with tempfile.TemporaryDirectory(dir=live.parent, prefix=".upload-") as tmp:
        src = Path(tmp) / "backup.zip"
        src.write_bytes(data)
        rep = restore_backup(
            src,
            target,
            foreign=foreign,
            user=user,
            key=store.audit_key,
            memory_limit=store.memory_limit,
            progress=progress,
        )  # same budget as here
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "backup.restore",
            f"file:{Path(name).name}",
            None,
            {"sha256": sha, "restored_to": str(target), "foreign": rep.foreign, "key_id": rep.key_id},
        )
    return RestoreResult(str(target), sha, rep.counts, rep.chain_ok, rep.foreign)


# ------------------------------------------------------------------------------ the page's start


@dataclass(frozen=True)
class AuditState:
    """The audit log as the admin page shows it: its row count and the chain head kept outside
    the database ("ok"/"missing"/"bad"/"memory", head). Read apart from AdminView because it
    moves with every sign-in, which the data version page caches key on does not."""

    rows: int
    head_status: str
    head: audit_chain.Head | None


def audit_state(store: Storage, user: User) -> AuditState:
    require(user, Action.PERIOD)
    status, head = audit_chain.read_head(store.path, store.audit_key)
    return AuditState(store.audit_count(), status, head)


@dataclass(frozen=True)
class AdminView:
    city_code: str | None
    periods: pd.DataFrame  # year, status, updated_at, updated_by (every known year of the city)
    users: pd.DataFrame
    cities: pd.DataFrame
    opds: pd.DataFrame  # of the chosen city
    frameworks: pd.DataFrame
    public_read: bool
    counts: dict[str, int] = field(default_factory=dict)
    years: tuple[int, ...] = ()  # known years and the next one (which an admin may open)
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)  # of the chosen (else latest) framework
    framework_seq: int | None = None
    signatory: Signatory | None = None  # who signs the chosen city's report card
    help_contact: str = ""  # who to ask, as the Bantuan page and the guide say (metrics.guide)
    # year, self_due, verify_due, scope (city|all|none): the deadlines in force per known year
    deadlines: pd.DataFrame = field(default_factory=pd.DataFrame)
    # code, name, opd_types: indicators of the year's framework that no OPD of the chosen city
    # can answer (metrics.responsibility)
    orphans: pd.DataFrame = field(default_factory=pd.DataFrame)
    # indicator_code, opd_code, opd_name, assigned_at, assigned_by: indicators of the chosen city
    # assigned to one of its OPDs (metrics.responsibility.assign)
    assignments: pd.DataFrame = field(default_factory=pd.DataFrame)

    def status(self, year: int | None) -> str:
        """The period status of `year` for the chosen city ('open' until set otherwise)."""
        hit = self.periods[self.periods["year"] == year]
        return str(hit["status"].iloc[0]) if len(hit) else "open"


def admin_view(
    store: Storage,
    user: User,
    city: str | None,
    fw_seq: int | None = None,
    lang: str = "id",
    year: int | None = None,
) -> AdminView:
    """Everything the administration page lists: periods, users, registry, frameworks, settings."""
    require(user, Action.PERIOD, city)
    known_years = set(store.years())
    years = sorted(known_years | ({max(known_years) + 1} if known_years else set()))
    pf = store.periods_frame(city) if city else store.periods_frame().iloc[0:0]
    known = {int(y): r for y, r in zip(pf["year"], pf.to_dict("records"))}
    periods = pd.DataFrame(
        [
            {
                "year": y,
                "status": known[y]["status"] if y in known else "open",
                "updated_at": known[y]["updated_at"] if y in known else None,
                "updated_by": known[y]["updated_by"] if y in known else None,
            }
            for y in sorted(known_years)
        ],
        columns=["year", "status", "updated_at", "updated_by"],
    )
    users = store.users_frame()
    if user.city_code is not None:
        users = users[users["city_code"] == user.city_code]
    cities = pd.DataFrame(
        [c.__dict__ for c in store.cities()],
        columns=["city_code", "name", "province", "category", "population"],
    )
    opds = pd.DataFrame(
        [o.__dict__ for o in store.opds(city)] if city else [],
        columns=["city_code", "opd_code", "opd_type", "name", "head_name", "email"],
    )
    frameworks = store.framework_list()
    seqs = [int(x) for x in frameworks["seq"]]
    chosen = fw_seq if fw_seq in seqs else (seqs[-1] if seqs else None)
    indicators = framework_indicators(store, user, chosen, lang)
    return AdminView(
        city,
        periods,
        users.reset_index(drop=True),
        cities,
        opds,
        frameworks,
        public_read(store),
        store.counts(),
        tuple(years),
        indicators,
        chosen,
        signatory=signatory(store, city),
        help_contact=help_contact(store),
        assignments=_assignments(store, city),
        **_deadlines_and_orphans(store, city, year, known_years, lang),
    )


def _assignments(store: Storage, city: str | None) -> pd.DataFrame:
    names = {o.opd_code: o.name for o in store.opds(city)} if city else {}
    rows = store.assignment_rows(city) if city else []
    return pd.DataFrame(
        [
            {
                "indicator_code": i,
                "opd_code": o,
                "opd_name": names.get(o, o),
                "assigned_at": at,
                "assigned_by": by,
            }
            for _c, i, o, at, by in rows
        ],
        columns=["indicator_code", "opd_code", "opd_name", "assigned_at", "assigned_by"],
    )


def _deadlines_and_orphans(
    store: Storage, city: str | None, year: int | None, known_years: set[int], lang: str
) -> dict[str, pd.DataFrame]:
    """The deadline in force per known year (and the next) and the indicators nobody answers."""
    from metrics import deadlines, home  # they read views/scoring, which import this module

    years = sorted(known_years | ({max(known_years) + 1} if known_years else set()))
    rows = [deadlines.deadline(store, city, y) for y in years] if city else []
    dl = pd.DataFrame(
        [
            {"year": d.year, "self_due": d.self_due, "verify_due": d.verify_due, "scope": d.scope}
            for d in rows
        ],
        columns=["year", "self_due", "verify_due", "scope"],
    )
    y = year if year is not None else (max(known_years) if known_years else None)
    fw = framework_for_year(loaded_frameworks(store), y) if y is not None else None
    orphans = (
        home.orphan_table(store, fw, city, lang)
        if city and fw
        else pd.DataFrame(columns=["code", "name", "opd_types"])
    )
    return {"deadlines": dl, "orphans": orphans}


def framework_indicators(
    store: Storage, user: User, seq: int | None = None, lang: str = "id"
) -> pd.DataFrame:
    """The indicators of a loaded framework (the latest when `seq` is None), for checking a load."""
    require(user, Action.LOAD_FRAMEWORK)
    frameworks = loaded_frameworks(store)
    if not frameworks:
        return pd.DataFrame(columns=["code", "name", "pillar", "dimension", "weight", "opd_types", "metric"])
    fw = next((f for f, s in frameworks if s == seq), frameworks[-1][0])
    return pd.DataFrame(
        [
            {
                "code": i.code,
                "name": pick(i.name, lang),
                "pillar": i.subpillar or i.pillar,
                "dimension": i.dimension,
                "weight": i.weight,
                "opd_types": ", ".join(i.opd_types),
                "metric": i.metric.code if i.metric else "",
            }
            for i in fw.indicators
        ],
        columns=["code", "name", "pillar", "dimension", "weight", "opd_types", "metric"],
    )
