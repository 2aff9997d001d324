"""Backups an official can keep on a USB stick and restore on a fresh server.

A backup is a zip of DuckDB's own `EXPORT DATABASE` output (schema plus Parquet files) and a
manifest with the SHA-256 of every file, so a damaged or altered backup is refused before
anything is restored.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from pathlib import Path

from metrics.auth import Action, User, require
from metrics.errors import CoreError

MANIFEST = "manifest.json"


def make_backup(store, user: User, output: str | Path) -> dict:
    require(user, Action.BACKUP)
    output = Path(output)
    with store.transaction() as cur:
        # audited before the export so the backup contains its own audit row
        store.write_audit(cur, user, "backup.create", f"file:{output.name}")
    with tempfile.TemporaryDirectory() as tmp:
        store.export_database(tmp)
        files = sorted(p for p in Path(tmp).rglob("*") if p.is_file())
        manifest = {"format": 1, "files": {p.relative_to(tmp).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                                           for p in files}}
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.relative_to(tmp).as_posix())
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
    data = output.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "files": len(manifest["files"])}


def restore_backup(backup: str | Path, db_path: str | Path | None, force: bool = False) -> None:
    """Restore into `db_path`, which must not exist (or `force`): never merges into live data."""
    from metrics.store import Store, resolve_db_path

    target = Path(resolve_db_path(db_path))
    try:
        zf = zipfile.ZipFile(backup)
        manifest = json.loads(zf.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CoreError("backup.bad", detail=type(exc).__name__) from None
    files = manifest.get("files", {})
    if not files or any(".." in n or n.startswith("/") for n in files):
        raise CoreError("backup.bad", detail="manifest")
    for name, digest in files.items():
        if hashlib.sha256(zf.read(name)).hexdigest() != digest:
            raise CoreError("backup.checksum", name=name)
    if target.exists():
        if not force:
            raise CoreError("backup.bad", detail=f"{target} exists (use --force)")
        target.unlink()
        Path(str(target) + ".wal").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            dest = Path(tmp) / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        store = Store(target, migrate=False)  # the backup's schema.sql creates everything
        store.import_database(tmp)
        store.close()
