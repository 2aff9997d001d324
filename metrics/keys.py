"""The installation's secret key, kept outside the database, and small files signed with it.

Why: a hash chain that anyone can recompute proves nothing against someone who can write the
database file (they edit a row and recompute the chain), and a checksum manifest proves nothing
against someone who edits a backup (they recompute the manifest). Both need a secret that the
database does not hold. The key is a file beside the database (`<db>.key`, 32 random bytes,
mode 0600) or wherever `$SMARTCITY_KEY_FILE` points, created on the first writable open. Keep a
copy of it apart from the backups: a backup restores as "made by this installation" only where
the same key is installed; elsewhere it can only be imported as foreign (audited).

An in-memory database (the tests' ":memory:") gets a throwaway key for its lifetime and keeps no
files beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_ENV = "SMARTCITY_KEY_FILE"
KEY_BYTES = 32


@dataclass(frozen=True)
class InstallationKey:
    secret: bytes = field(repr=False)
    path: str | None  # None: an in-memory database's throwaway key
    created: bool = False  # made by this open (the database had no key before)

    def mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    def check(self, data: bytes, mac: object) -> bool:
        return isinstance(mac, str) and hmac.compare_digest(self.mac(data), mac)

    @property
    def key_id(self) -> str:
        """A short public name of the key (not the key), to say which key signed what."""
        return hmac.new(self.secret, b"key-id", hashlib.sha256).hexdigest()[:16]


# the files beside a database that belong to it
KEY_SUFFIX = ".key"
HEAD_SUFFIX = ".audit-head"


STATE_DIR_ENV = "SMARTCITY_STATE_DIR"  # where a PostgreSQL store's key and head files live
DEFAULT_STATE_DIR = Path(__file__).resolve().parents[1] / "data"


def state_base(db_path: str) -> str:
    """The path the files that belong to a database are named after: the DuckDB file itself, or,
    for a PostgreSQL store (a URL, no file of its own), `pg-<host>-<port>-<database>` in
    $SMARTCITY_STATE_DIR (default data/). Every process serving that database must see the same
    directory (one machine, or a shared volume), as they share the key."""
    if not db_path.startswith(("postgresql://", "postgres://")):
        return db_path
    from urllib.parse import urlsplit

    url = urlsplit(db_path)
    name = "-".join(
        str(p) for p in ("pg", url.hostname or "local", url.port or 5432, url.path.strip("/") or "db")
    )
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in name)
    return str(Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR) / safe)


def key_path(db_path: str) -> Path | None:
    if db_path == ":memory:":
        return None
    env = os.environ.get(KEY_ENV)
    return Path(env) if env else Path(state_base(db_path) + KEY_SUFFIX)


def head_path(db_path: str) -> Path | None:
    """Where the audit chain's head is kept outside the database (None in memory)."""
    return None if db_path == ":memory:" else Path(state_base(db_path) + HEAD_SUFFIX)


def load_key(db_path: str, create: bool) -> InstallationKey | None:
    """The key of the database at `db_path`; made (0600) when missing and `create`, else None."""
    path = key_path(db_path)
    if path is None:
        return InstallationKey(secrets.token_bytes(KEY_BYTES), None, True)
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_key(db_path, create=False)
        with os.fdopen(fd, "wb") as f:
            f.write(secret)
            f.flush()
            os.fsync(f.fileno())
        return InstallationKey(secret, str(path), True)
    if len(secret) < KEY_BYTES:
        raise ValueError(f"the key file {path} is damaged (shorter than {KEY_BYTES} bytes)")
    return InstallationKey(secret, str(path), False)


def install_key(db_path: str, key: InstallationKey) -> None:
    """Give the database at `db_path` the same key (a restored copy of this installation)."""
    path = key_path(db_path)
    if path is None or path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.secret)


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(payload: dict[str, Any], key: InstallationKey) -> dict[str, Any]:
    return {**payload, "mac": key.mac(_canonical(payload))}


def verified(doc: object, key: InstallationKey) -> dict[str, Any] | None:
    """`doc` without its signature if `key` signed it, else None."""
    if not isinstance(doc, dict):
        return None
    payload = {k: v for k, v in doc.items() if k != "mac"}
    return payload if key.check(_canonical(payload), doc.get("mac")) else None


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (readers see the old file or the new one), mode 0600
    (mkstemp's): the one way the key and the signed small files are replaced."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_signed(path: Path, payload: dict[str, Any], key: InstallationKey) -> None:
    """Write `payload` signed with `key`, atomically: readers see the old file or the new one."""
    write_atomic(path, json.dumps(sign(payload, key), sort_keys=True, indent=1).encode("utf-8"))


def read_signed(
    path: Path, key: InstallationKey | None, limit: int = 64 * 1024
) -> tuple[str, dict[str, Any] | None]:
    """("missing" | "bad" | "ok", payload): a file that is absent, unreadable or not signed by
    `key` (edited, or another installation's), or the signed payload."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        return "missing", None
    except OSError:
        return "bad", None
    if len(data) > limit or key is None:
        return "bad", None
    try:
        doc = json.loads(data)
    except ValueError:
        return "bad", None
    payload = verified(doc, key)
    return ("ok", payload) if payload is not None else ("bad", None)


def copy_database(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy a (closed) database file with its installation key and audit chain head, as an
    administrator moving an installation must: without them the copy's audit log and backups
    can no longer be checked. A key named by $SMARTCITY_KEY_FILE stays where it is."""
    import shutil

    shutil.copy(src, dst)
    for suffix in (KEY_SUFFIX, HEAD_SUFFIX):
        if Path(str(src) + suffix).exists():
            shutil.copy(str(src) + suffix, str(dst) + suffix)
    return Path(dst)
