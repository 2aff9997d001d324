"""The audit trail's hash chain: each row's hash covers its content and the previous hash.

Rows are written by the store inside the same transaction as the change they describe; this
module only defines how a row is hashed and how a chain is checked, so that a row edited or
deleted behind the application's back is detected by `python -m metrics audit verify`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64


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


def canonical(obj: object) -> str | None:
    if obj is None:
        return None
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, id: int, at: str, username: str, action: str, obj: str,
             before: str | None, after: str | None) -> str:
    payload = json.dumps([prev_hash, id, at, username, action, obj, before, after],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def verify_chain(rows: list[AuditRow]) -> list[int]:
    """Ids of rows whose hash or link does not match; empty when the chain is intact."""
    bad: list[int] = []
    prev = GENESIS
    for r in rows:
        expected = row_hash(prev, r.id, r.at, r.username, r.action, r.object, r.before, r.after)
        if r.prev_hash != prev or r.hash != expected:
            bad.append(r.id)
        prev = r.hash
    return bad
