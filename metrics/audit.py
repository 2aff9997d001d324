"""The audit trail's keyed hash chain, and the chain head kept outside the database.

Rows are written by the store inside the same transaction as the change they describe; this
module defines how a row is hashed and how the whole log is checked, so that tampering by
someone who can write the database file is found by `python -m metrics audit verify`:

- Each row's hash is an HMAC-SHA256, under the installation key (metrics.keys, a file outside
  the database), of its content and the previous row's hash, stored as "hmac:<hex>". An edited,
  inserted or reordered row breaks the chain, and without the key nobody can recompute it.
- The chain head (last id, last hash, row count), signed with the key, is written outside the
  database after every commit that added audit rows (`<db>.audit-head`), logged to the server
  log, put in every backup's manifest and shown on the audit page. A chain cut at its newest
  end, or emptied, is still a valid chain: only the head shows what is missing.

Rows written before the chain was keyed keep their plain SHA-256 hashes ("legacy"): they are
checked as a plain chain and anchored by the first keyed row, whose HMAC covers the last legacy
hash. They are not re-chained: re-hashing them under the key would vouch for rows this
installation never checked. A plain-hashed row after a keyed one is refused (a downgrade).
Rows imported from another installation's backup (restore --foreign) cannot be checked with
this key: their links are checked, and the keyed import row that follows them records where
they end and what their last hash was.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics import keys
from metrics.i18n import t

if TYPE_CHECKING:
    from metrics.storage import Storage

GENESIS = "0" * 64
KEYED = "hmac:"
FOREIGN_IMPORT = "backup.import_foreign"
log = logging.getLogger("metrics.audit")


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str  # ISO timestamp, as stored
    username: str
    action: str
    object: str
    before: str | None  # canonical JSON text or None
    after: str | None
    prev_hash: str
    hash: str


class AuditRows(list[AuditRow]):
    """Audit rows as read from a store, with the key that store checks them under."""

    def __init__(self, rows: Iterable[AuditRow] = (), key: keys.InstallationKey | None = None) -> None:
        super().__init__(rows)
        self.key = key


def canonical(obj: object) -> str | None:
    if obj is None:
        return None
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(
    prev_hash: str,
    id: int,
    at: str,
    username: str,
    action: str,
    obj: str,
    before: str | None,
    after: str | None,
    key: keys.InstallationKey | None = None,
) -> str:
    """The row's keyed hash; without a key the legacy plain SHA-256 (for checking old rows)."""
    payload = json.dumps(
        [prev_hash, id, at, username, action, obj, before, after], ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return KEYED + key.mac(payload)


def _expected(r: AuditRow, prev: str, key: keys.InstallationKey | None) -> str:
    return row_hash(prev, r.id, r.at, r.username, r.action, r.object, r.before, r.after, key)


def _foreign_prefix(rows: list[AuditRow], key: keys.InstallationKey | None) -> int:
    """The last id of rows imported from a foreign backup, as vouched for by a keyed import row."""
    upto = 0
    if key is None:
        return upto
    for r in rows:
        if (
            r.action != FOREIGN_IMPORT
            or not r.hash.startswith(KEYED)
            or r.hash != _expected(r, r.prev_hash, key)
        ):
            continue
        try:
            info = json.loads(r.after or "{}")
            last, last_hash = int(info["foreign_last_id"]), info["foreign_last_hash"]
        except (ValueError, KeyError, TypeError):
            continue
        if r.prev_hash == last_hash and last < r.id:
            upto = max(upto, last)
    return upto


@dataclass(frozen=True)
class ChainCheck:
    broken: tuple[int, ...]  # ids whose hash or link does not match
    downgraded: tuple[int, ...]  # plain-hashed rows after a keyed one (rewritten without the key)
    keyed: int
    legacy: int
    foreign: int


def check_chain(rows: list[AuditRow], key: keys.InstallationKey | None) -> ChainCheck:
    foreign_upto = _foreign_prefix(rows, key)
    broken: list[int] = []
    downgraded: list[int] = []
    keyed = legacy = foreign = 0
    seen_keyed = False
    prev = GENESIS
    for r in rows:
        if r.id <= foreign_upto:
            foreign += 1
            ok = True  # another installation's hash: only the link can be checked
        elif r.hash.startswith(KEYED):
            keyed += 1
            seen_keyed = True
            ok = key is not None and r.hash == _expected(r, prev, key)
        else:
            legacy += 1
            ok = not seen_keyed and r.hash == _expected(r, prev, None)
            if seen_keyed:
                downgraded.append(r.id)
        if r.prev_hash != prev or not ok:
            broken.append(r.id)
        prev = r.hash
    return ChainCheck(tuple(broken), tuple(downgraded), keyed, legacy, foreign)


def check_links(rows: list[AuditRow]) -> list[int]:
    """Ids of rows not linked to the one before: all that can be checked of a chain whose key
    is not ours (a foreign backup's, before it is imported)."""
    bad, prev = [], GENESIS
    for r in rows:
        if r.prev_hash != prev:
            bad.append(r.id)
        prev = r.hash
    return bad


def verify_chain(rows: list[AuditRow], key: keys.InstallationKey | None = None) -> list[int]:
    """Ids of rows whose hash or link does not match; empty when the chain is intact. The key
    defaults to the one the rows were read with (Store.audit_rows)."""
    return list(check_chain(rows, key if key is not None else getattr(rows, "key", None)).broken)


# ------------------------------------------------------------------------------ the head


@dataclass(frozen=True)
class Head:
    last_id: int
    last_hash: str
    rows: int
    at: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "kind": "audit-head",
            "last_id": self.last_id,
            "last_hash": self.last_hash,
            "rows": self.rows,
            "at": self.at,
        }

    @classmethod
    def from_payload(cls, p: object) -> Head | None:
        if not isinstance(p, dict) or p.get("kind") != "audit-head":
            return None
        try:
            last_id, rows = p["last_id"], p["rows"]
            if type(last_id) is not int or type(rows) is not int or not isinstance(p["last_hash"], str):
                return None
            return cls(last_id, p["last_hash"], rows, str(p.get("at", "")))
        except KeyError:
            return None

    def short(self) -> str:
        return f"id {self.last_id}, {self.rows} rows, {self.last_hash[:21]}…"


def head_of(rows: list[AuditRow], at: str = "") -> Head:
    return Head(rows[-1].id, rows[-1].hash, len(rows), at) if rows else Head(0, GENESIS, 0, at)


def write_head(db_path: str, head: Head, key: keys.InstallationKey) -> None:
    path = keys.head_path(db_path)
    if path is None:
        return
    keys.write_signed(path, head.payload(), key)
    log.info("audit head of %s: %s", Path(db_path).name, head.short())


def write_head_if_newer(db_path: str, head: Head, key: keys.InstallationKey) -> None:
    """Write the head unless the one kept is already further along: several processes serving
    one PostgreSQL store publish after their own commits, in any order. A lock file beside the
    head makes the read-compare-write one step between the processes of this machine."""
    import fcntl

    path = keys.head_path(db_path)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        status, kept = read_head(db_path, key)
        if status == "ok" and kept is not None and kept.last_id >= head.last_id:
            return
        keys.write_signed(path, head.payload(), key)


def read_head(db_path: str, key: keys.InstallationKey | None) -> tuple[str, Head | None]:
    """("memory" | "missing" | "bad" | "ok", head)."""
    path = keys.head_path(db_path)
    if path is None:
        return "memory", None
    status, payload = keys.read_signed(path, key)
    if status != "ok":
        return status, None
    head = Head.from_payload(payload)
    return ("ok", head) if head is not None else ("bad", None)


# ------------------------------------------------------------------------------ the whole check


@dataclass(frozen=True)
class Finding:
    key: str  # message key audit.<key> in metrics/i18n.py
    params: dict[str, object]
    error: bool

    def message(self, lang: str = "id") -> str:
        return t(f"audit.{self.key}", lang, **self.params)


@dataclass(frozen=True)
class AuditReport:
    rows: int
    keyed: int
    legacy: int
    foreign: int
    broken: tuple[int, ...]
    head: Head | None  # the head kept outside the database, when present and signed
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.error for f in self.findings)

    def problems(self, lang: str = "id") -> list[str]:
        return [f.message(lang) for f in self.findings if f.error]

    def notes(self, lang: str = "id") -> list[str]:
        return [f.message(lang) for f in self.findings if not f.error]

    def keys(self) -> list[str]:
        return [f.key for f in self.findings]


def _ids(ids: Iterable[int]) -> str:
    ids = list(ids)
    return ", ".join(map(str, ids[:20])) + (" …" if len(ids) > 20 else "")


def assess(
    rows: list[AuditRow] | None,
    key: keys.InstallationKey | None,
    head_status: str,
    head: Head | None,
    head_file: str | None = None,
    key_file: str | None = None,
) -> AuditReport:
    """Everything wrong with the log `rows` (None: the table is gone), given the key and the
    head read from outside the database. Pure: the tests feed it tampered logs directly."""
    f: list[Finding] = []
    if rows is None:
        f.append(Finding("table_missing", {"rows": head.rows if head else "?"}, True))
        if head_status in ("missing", "bad"):
            f.append(Finding(f"head_{head_status}", {"path": head_file}, True))
        return AuditReport(0, 0, 0, 0, (), head, tuple(f))
    chk = check_chain(rows, key)
    broken = chk.broken
    if key is None and chk.keyed:
        f.append(Finding("key_missing", {"path": key_file or "?", "n": chk.keyed}, True))
        broken = tuple(i for i in broken if not next(r for r in rows if r.id == i).hash.startswith(KEYED))
    if chk.downgraded:
        f.append(Finding("unkeyed", {"n": len(chk.downgraded), "ids": _ids(chk.downgraded)}, True))
    other = [i for i in broken if i not in set(chk.downgraded)]
    if other:
        f.append(Finding("broken", {"n": len(other), "ids": _ids(other)}, True))
    if head_status == "memory":
        f.append(Finding("head_memory", {}, False))
    elif head_status in ("missing", "bad"):
        f.append(Finding(f"head_{head_status}", {"path": head_file}, True))
    elif head is not None:
        last_db = rows[-1].id if rows else 0
        upto = [r for r in rows if r.id <= head.last_id]
        if not rows and head.rows:
            f.append(Finding("all_deleted", {"rows": head.rows, "last_id": head.last_id}, True))
        elif last_db < head.last_id:
            f.append(
                Finding(
                    "tail_cut",
                    {
                        "n": head.rows - len(upto),
                        "first": last_db + 1,
                        "last": head.last_id,
                        "rows": head.rows,
                    },
                    True,
                )
            )
        elif upto and upto[-1].id == head.last_id and upto[-1].hash != head.last_hash:
            f.append(Finding("head_mismatch", {"last_id": head.last_id}, True))
        elif len(upto) != head.rows:
            f.append(
                Finding("count_mismatch", {"rows": head.rows, "last_id": head.last_id, "n": len(upto)}, True)
            )
        if last_db > head.last_id:
            f.append(Finding("head_behind", {"n": len([r for r in rows if r.id > head.last_id])}, False))
    if chk.legacy:
        f.append(Finding("legacy", {"n": chk.legacy}, False))
    if chk.foreign:
        f.append(Finding("foreign", {"n": chk.foreign}, False))
    return AuditReport(len(rows), chk.keyed, chk.legacy, chk.foreign, broken, head, tuple(f))


def verify_store(store: Storage) -> AuditReport:
    """The whole check of a store's audit log: chain under the key, head outside the database,
    a missing table or key, each reported as a sentence (never an exception)."""
    key = store.audit_key
    rows = store.audit_rows() if store.has_audit_table() else None
    status, head = read_head(store.path, key)
    kp, hp = keys.key_path(store.path), keys.head_path(store.path)
    return assess(rows, key, status, head, str(hp) if hp else None, str(kp) if kp else None)
