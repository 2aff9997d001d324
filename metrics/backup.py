"""Backups an official can keep on a USB stick, and a restore that cannot hurt the live database.

A backup (format 2) is a zip of
  tables/<table>.<part>.parquet  the rows of every table of the schema but the derived score
                                 tables, written by the store from its own tables;
  manifest.json                  format, schema version, every entry's size and SHA-256, every
                                 table's row count and parts, the audit chain head, the key id;
  manifest.sig                   an HMAC-SHA256 of manifest.json under the installation key
                                 (metrics.keys), so an edited backup is not ours any more.

Why not DuckDB's EXPORT/IMPORT DATABASE any more (issue 14): IMPORT runs whatever SQL the
archive's schema.sql/load.sql hold (a `COPY ... TO` wrote a file on the server), and a checksum
manifest anyone can recompute let an edited backup restore as valid. A restore here never
executes text from the archive: it refuses, from the zip directory alone, anything but the
entries above within size bounds; authenticates the manifest (or, only when the admin says the
backup is foreign, records that in the audit log); checks the schema version and every entry's
SHA-256 while streaming it to disk under a cap; builds the new database aside through the
product's own migrations; loads each table through one fixed INSERT after checking its Parquet
columns and types against the product schema and its row groups against memory bounds; then
checks the row counts, the audit chain against the manifest's head, and every score against a
recomputation from the raw rows. Only then is the live file moved aside (kept) and the new one
renamed into its place. Any failure leaves the live database untouched and says why in one
sentence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BufferedWriter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from metrics import audit as audit_chain
from metrics import keys
from metrics import progress as steps
from metrics.auth import SYSTEM, Action, User, require
from metrics.errors import CoreError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from metrics.storage import Cursor, Storage

FORMAT = 2
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
ENTRY = re.compile(r"tables/([a-z][a-z0-9_]{0,62})\.(\d{4})\.parquet")
# Bounds checked on the zip directory before any entry is read. A part is at most MAX_ENTRY
# (the writer starts a new part at PART_BYTES); the whole archive unpacks to at most MAX_TOTAL,
# so a small upload cannot fill the disk either.
MAX_ENTRIES = 4096
MAX_MANIFEST = 4 * 1024**2
MAX_SIGNATURE = 4096
MAX_ENTRY = 512 * 1024**2
MAX_TOTAL = 8 * 1024**3
PART_BYTES = 256 * 1024**2
# A Parquet row group is read whole: bounded by its declared size (the writer keeps them small).
ROW_GROUP_BYTES = 32 * 1024**2
MAX_ROW_GROUP_BYTES = 256 * 1024**2
MAX_ROW_GROUP_ROWS = 4_000_000
log = logging.getLogger("metrics.backup")

# A manifest as read from JSON: checked key by key in _parse_manifest before anything uses it.
Manifest = dict[str, Any]


class BackupInfo(TypedDict):
    """What make_backup reports about the archive it wrote."""

    bytes: int
    sha256: str
    files: int
    audit_head: audit_chain.Head


class _Built(TypedDict):
    """What _build hands to the swap and the report."""

    counts: dict[str, int]
    key: keys.InstallationKey
    head: audit_chain.Head
    audit: audit_chain.AuditReport
    notes: list[str]


def _now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _shown(name: object) -> str:
    """An archive's entry name as safe to print (and to render as Markdown on a page)."""
    return re.sub(r"[^A-Za-z0-9._/-]", "?", str(name))[:80] or "?"


# ------------------------------------------------------------------------------ writing


def _pieces(batch: pa.RecordBatch, limit: int) -> Iterator[pa.RecordBatch]:
    """`batch` in slices of at most about `limit` bytes (a row group is read whole on restore)."""
    if batch.num_rows <= 1 or batch.nbytes <= limit:
        yield batch
        return
    step = max(1, batch.num_rows * limit // batch.nbytes)
    for off in range(0, batch.num_rows, step):
        yield batch.slice(off, step)


def _write_table(
    store: Storage,
    cur: Cursor,
    table: str,
    tmp: Path,
    zf: zipfile.ZipFile,
    entries: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    import pyarrow.parquet as pq

    reader = store.table_batches(cur, table)  # streamed: never the whole table in memory
    parts: list[str] = []
    rows = 0

    def start() -> tuple[pq.ParquetWriter, BufferedWriter]:
        parts.append(f"tables/{table}.{len(parts):04d}.parquet")
        sink = open(tmp / parts[-1].replace("/", "_"), "wb")  # noqa: SIM115 - finish() closes it
        return pq.ParquetWriter(sink, reader.schema, compression="zstd"), sink

    def finish(writer: pq.ParquetWriter, sink: BufferedWriter) -> None:
        writer.close()
        sink.close()
        name = parts[-1]
        path = tmp / name.replace("/", "_")
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        entries[name] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
        zf.write(path, name, compress_type=zipfile.ZIP_STORED)  # Parquet is compressed already
        path.unlink()

    writer, sink = start()  # an empty table still gets one part: its columns are checked on restore
    for batch in reader:
        for piece in _pieces(batch, ROW_GROUP_BYTES):
            if sink.tell() >= PART_BYTES:
                finish(writer, sink)
                writer, sink = start()
            writer.write_batch(piece)
            rows += piece.num_rows
    finish(writer, sink)
    return {"rows": rows, "parts": parts}


def make_backup(
    store: Storage, user: User, output: str | Path, progress: steps.Progress | None = None
) -> BackupInfo:
    """Write a signed backup of the whole database to `output`. Audited (the backup holds its
    own audit row). `progress` hears of each table copied."""
    require(user, Action.BACKUP)
    output = Path(output)
    steps.report(progress, "progress.backup_audit", 0.0)
    with store.transaction() as cur:
        store.write_audit(cur, user, "backup.create", f"file:{output.name}")
    key = store.audit_key
    assert key is not None  # a store open for writing has its key (metrics.keys.load_key makes one)
    tables: dict[str, dict[str, Any]] = {}
    entries: dict[str, dict[str, Any]] = {}
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as tmp,
        zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        names = store.backup_tables()
        with store.snapshot() as cur:  # every table as of one moment
            for n, table in enumerate(names):
                steps.report(progress, "progress.backup_tables", 0.05 + 0.85 * n / max(len(names), 1))
                tables[table] = _write_table(store, cur, table, Path(tmp), zf, entries)
            head = store.audit_head(cur)
        steps.report(progress, "progress.backup_sign", 0.9)
        manifest = {
            "format": FORMAT,
            "schema_version": store.schema_version(),
            "made_at": _now_stamp(),
            "key_id": key.key_id,
            "tables": tables,
            "entries": entries,
            "audit_head": head.payload(),
        }
        data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        zf.writestr(MANIFEST, data)
        zf.writestr(SIGNATURE, json.dumps({"key_id": key.key_id, "hmac": key.mac(data)}))
    log.info("backup %s written: %s", output.name, head.short())
    digest = hashlib.sha256()
    with open(output, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    steps.done(progress)
    return {
        "bytes": output.stat().st_size,
        "sha256": digest.hexdigest(),
        "files": len(entries) + 2,
        "audit_head": head,
    }


# ------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class RestoreReport:
    path: str  # the database file now holding the backup
    counts: dict[str, int]  # rows per table, as restored (equal to the manifest's)
    foreign: bool  # imported as another installation's backup (audited in the restored log)
    key_id: str  # the key that signed the backup
    audit: audit_chain.AuditReport  # the restored log, checked
    moved_aside: str | None = None  # where the replaced live database was kept
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def chain_ok(self) -> bool:
        return self.audit.ok


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CoreError("backup.damaged", name=_shown(info.filename), detail=type(exc).__name__) from None
    if len(data) > cap:
        raise CoreError("backup.entry_too_large", name=_shown(info.filename), size=len(data), limit=cap)
    return data


def _check_directory(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Refuse, from the zip directory alone, anything but a backup's entries within bounds."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise CoreError("backup.bad", detail=f"{len(infos)} entries (limit {MAX_ENTRIES})")
    by_name: dict[str, zipfile.ZipInfo] = {}
    for i in infos:
        if i.filename in by_name:
            raise CoreError("backup.bad", detail=f"entry {_shown(i.filename)} appears twice")
        by_name[i.filename] = i
        cap = (
            MAX_MANIFEST
            if i.filename == MANIFEST
            else MAX_SIGNATURE
            if i.filename == SIGNATURE
            else MAX_ENTRY
            if ENTRY.fullmatch(i.filename)
            else None
        )
        if cap is None:
            raise CoreError("backup.unexpected_entry", name=_shown(i.filename))
        if i.file_size > cap:
            raise CoreError("backup.entry_too_large", name=_shown(i.filename), size=i.file_size, limit=cap)
        if i.flag_bits & 0x1 or i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CoreError(
                "backup.bad", detail=f"entry {_shown(i.filename)} is encrypted or oddly compressed"
            )
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL:
        raise CoreError("backup.too_large", size=total, limit=MAX_TOTAL)
    for name in (MANIFEST, SIGNATURE):
        if name not in by_name:
            raise CoreError("backup.missing_entry", name=name)
    return by_name


def _authenticate(
    zf: zipfile.ZipFile,
    by_name: dict[str, zipfile.ZipInfo],
    key: keys.InstallationKey | None,
    foreign: bool,
    key_file: str,
) -> tuple[bytes, bool, str]:
    """(manifest bytes, ours, signing key id): refuses a backup not signed by `key` unless foreign."""
    data = _read_capped(zf, by_name[MANIFEST], MAX_MANIFEST)
    try:
        sig = json.loads(_read_capped(zf, by_name[SIGNATURE], MAX_SIGNATURE))
        their_id = _shown(sig.get("key_id", "?"))[:16]
        mac = sig.get("hmac")
    except (ValueError, AttributeError):
        raise CoreError("backup.bad", detail="signature unreadable") from None
    ours = key is not None and key.check(data, mac)
    if not ours and not foreign:
        if key is None:
            raise CoreError("backup.no_key", path=key_file)
        raise CoreError("backup.not_ours", key_id=their_id, ours=key.key_id)
    return data, ours, their_id


def _entry_table(name: str) -> str | None:
    """The table a part entry's name belongs to (None: not a part's name)."""
    m = ENTRY.fullmatch(name)
    return m.group(1) if m else None


def _int(v: object) -> bool:
    return type(v) is int and v >= 0


def _parse_manifest(data: bytes, by_name: dict[str, zipfile.ZipInfo]) -> Manifest:
    try:
        m = json.loads(data)
    except ValueError:
        raise CoreError("backup.bad", detail="manifest unreadable") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise CoreError(
            "backup.format", format=_shown(m.get("format") if isinstance(m, dict) else "?"), ours=FORMAT
        )
    entries, tables = m.get("entries"), m.get("tables")
    if not isinstance(entries, dict) or not isinstance(tables, dict) or not _int(m.get("schema_version")):
        raise CoreError("backup.bad", detail="manifest incomplete")
    for name, e in entries.items():
        if (
            not ENTRY.fullmatch(name)
            or not isinstance(e, dict)
            or not _int(e.get("size"))
            or not re.fullmatch(r"[0-9a-f]{64}", str(e.get("sha256")))
        ):
            raise CoreError("backup.bad", detail=f"manifest entry {_shown(name)}")
        if name not in by_name:
            raise CoreError("backup.missing_entry", name=_shown(name))
        if by_name[name].file_size != e["size"]:
            raise CoreError("backup.checksum", name=_shown(name))
    listed = set()
    for table, t in tables.items():
        if (
            not isinstance(t, dict)
            or not _int(t.get("rows"))
            or not isinstance(t.get("parts"), list)
            or not t["parts"]
            or any(p not in entries or _entry_table(p) != table for p in t["parts"])
        ):
            raise CoreError("backup.bad", detail=f"manifest table {_shown(table)}")
        listed |= set(t["parts"])
    unlisted = sorted(n for n in by_name if ENTRY.fullmatch(n) and n not in listed)
    if unlisted:
        raise CoreError("backup.unexpected_entry", name=_shown(unlisted[0]))
    head = audit_chain.Head.from_payload(m.get("audit_head"))
    if head is None:
        raise CoreError("backup.bad", detail="manifest audit head")
    m["_head"] = head
    return m


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, expect: dict[str, Any], dest: Path) -> Path:
    """Stream one entry to `dest`, at most its declared size, checking its SHA-256."""
    digest = hashlib.sha256()
    n = 0
    try:
        with zf.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                n += len(chunk)
                if n > expect["size"]:
                    raise CoreError("backup.checksum", name=_shown(info.filename))
                digest.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CoreError("backup.damaged", name=_shown(info.filename), detail=type(exc).__name__) from None
    if n != expect["size"] or digest.hexdigest() != expect["sha256"]:
        raise CoreError("backup.checksum", name=_shown(info.filename))
    return dest


def _type_name(t: pa.DataType) -> str:
    """An Arrow type up to its offset width (string/large_string/string_view are one type to the
    INSERT), so a backup survives an Arrow export that changes only that."""
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"list<{_type_name(t.value_type)}>"
    return str(t)


def _same_columns(got: pa.Schema, want: pa.Schema) -> bool:
    return got.names == want.names and [_type_name(f.type) for f in got] == [_type_name(f.type) for f in want]


def _load_table(
    store: Storage,
    cur: Cursor,
    zf: zipfile.ZipFile,
    by_name: dict[str, zipfile.ZipInfo],
    manifest: Manifest,
    table: str,
    work: Path,
) -> int:
    """Load one table's parts through the store's fixed INSERT; returns the rows read."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    want = store.table_schema(table)
    rows = 0
    for name in manifest["tables"][table]["parts"]:
        path = _extract(zf, by_name[name], manifest["entries"][name], work / "part.parquet")
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise CoreError("backup.damaged", name=_shown(name), detail=type(exc).__name__) from None
        with pf:
            if not _same_columns(pf.schema_arrow, want):
                raise CoreError("backup.columns", name=_shown(name), table=table)
            md = pf.metadata
            for g in range(md.num_row_groups):
                rg = md.row_group(g)
                if rg.total_byte_size > MAX_ROW_GROUP_BYTES or rg.num_rows > MAX_ROW_GROUP_ROWS:
                    raise CoreError(
                        "backup.entry_too_large",
                        name=_shown(name),
                        size=rg.total_byte_size,
                        limit=MAX_ROW_GROUP_BYTES,
                    )
            for g in range(md.num_row_groups):
                part = pf.read_row_group(g)
                rows += part.num_rows
                if table == "meta":  # the new file's own versions: set by its migrations and score tables
                    own = pa.array(["schema_version", "score_tables_version"])
                    part = part.filter(pc.invert(pc.is_in(part.column("key"), value_set=own)))
                store.load_rows(cur, table, part)
        path.unlink()
    return rows


def _check_restored(
    new: Storage,
    manifest: Manifest,
    key: keys.InstallationKey,
    ours: bool,
    their_id: str,
    user: User,
    archive_sha: str,
) -> list[str]:
    """Counts, audit chain and scores of the file being built; appends the foreign import row."""
    from metrics import scoring

    notes: list[str] = []
    rows = new.audit_rows()
    head = manifest["_head"]
    if ours:
        rep = audit_chain.assess(rows, key, "ok", head)
        if not rep.ok:
            raise CoreError("backup.audit", detail=rep.problems("en")[0])
    else:
        # another installation's chain: its links, and its end against its own manifest's head
        broken = audit_chain.check_links(rows)
        if broken or audit_chain.head_of(rows) != audit_chain.Head(head.last_id, head.last_hash, head.rows):
            raise CoreError(
                "backup.audit",
                detail=f"links broken at {broken[:5]}"
                if broken
                else f"the log does not end at its manifest's head ({head.short()})",
            )
        with new.transaction() as cur:
            new.write_audit(
                cur,
                user,
                audit_chain.FOREIGN_IMPORT,
                f"backup:{their_id}",
                None,
                {
                    "foreign_last_id": head.last_id,
                    "foreign_last_hash": head.last_hash,
                    "foreign_rows": head.rows,
                    "key_id": their_id,
                    "sha256": archive_sha,
                },
            )
        notes.append("foreign")
    diffs = scoring.recomputation_differences(new)
    if diffs:
        raise CoreError("backup.scores", n=len(diffs), detail=diffs[0])
    # evidence files are content-addressed: each blob must still hash to its key (a foreign or
    # edited backup could carry a swapped document under a known checksum)
    bad = new.evidence_blob_mismatches()
    if bad:
        raise CoreError("backup.evidence", n=len(bad), sha256=bad[0][:16])
    return notes


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_db(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal"), Path(str(path) + ".audit-head")):
        p.unlink(missing_ok=True)


def _move_live_aside(target: Path) -> str:
    """Keep the live database (and its head) under a new name; refuse if a process holds it."""
    import duckdb

    try:
        duckdb.connect(str(target)).close()  # folds its write-ahead log; fails if another process has it
    except duckdb.Error as exc:
        raise CoreError("backup.target_busy", path=str(target), detail=type(exc).__name__) from None
    stamp = _now_stamp()
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    n = 0
    while aside.exists():
        n += 1
        aside = target.with_name(f"{target.name}.before-restore-{stamp}-{n}")
    os.replace(target, aside)
    for suffix in (".wal", ".audit-head"):
        side = Path(str(target) + suffix)
        if side.exists():
            os.replace(side, Path(str(aside) + suffix))
    return str(aside)


def restore_backup(
    backup: str | Path,
    db_path: str | Path | None,
    force: bool = False,
    foreign: bool = False,
    user: User = SYSTEM,
    key: keys.InstallationKey | None = None,
    memory_limit: str | None = None,
    progress: steps.Progress | None = None,
) -> RestoreReport:
    """Restore `backup` as the database at `db_path`, which must not exist unless `force`.

    `key` is the installation key the backup must be signed with (default: the target's key
    file). `foreign` accepts a backup signed by another key (or edited): its audit chain is then
    checked as the archive's own and a keyed row in the restored log records the import. The
    new database is built beside the target and replaces it only when every check passed; the
    replaced file is kept as `<db>.before-restore-<stamp>`. `progress` hears of the checks, each
    table restored, the score rebuild and the audit check.
    """
    from metrics.store import resolve_db_path

    t0 = time.perf_counter()
    steps.report(progress, "progress.restore_check", 0.0)
    target = Path(resolve_db_path(db_path))
    if str(target) == ":memory:":
        raise CoreError("admin.restore_memory")
    target = target.absolute()
    if (target.exists() or Path(str(target) + ".wal").exists()) and not force:
        raise CoreError("backup.exists", path=str(target))
    key = key or keys.load_key(str(target), create=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    build = target.with_name(f".{target.name}.restoring-{secrets.token_hex(4)}")
    try:
        try:
            zf = zipfile.ZipFile(backup)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise CoreError(
                "backup.bad", detail=f"not an intact zip archive ({type(exc).__name__})"
            ) from None
        with zf, tempfile.TemporaryDirectory(dir=target.parent, prefix=".restore-") as work:
            by_name = _check_directory(zf)
            data, ours, their_id = _authenticate(zf, by_name, key, foreign, str(keys.key_path(str(target))))
            manifest = _parse_manifest(data, by_name)
            report = _build(
                zf,
                by_name,
                manifest,
                build,
                Path(work),
                target,
                key,
                ours,
                their_id,
                user,
                _sha256_file(Path(backup)),
                memory_limit,
                progress,
            )
        aside = _move_live_aside(target) if target.exists() else None
        os.replace(build, target)
        Path(str(build) + ".audit-head").unlink(missing_ok=True)  # the new head is written below
    except CoreError as exc:
        _remove_db(build)
        log.info("restore of %s into %s refused: %s", Path(backup).name, target, exc)
        raise
    except Exception as exc:  # anything else an archive provokes: one sentence, never a traceback
        _remove_db(build)
        log.info("restore of %s into %s failed: %s", Path(backup).name, target, exc)
        log.debug("restore failure", exc_info=True)  # for a developer; never shown to the user
        raise CoreError("backup.failed", detail=f"{type(exc).__name__}: {str(exc)[:160]}") from None
    new_key = report["key"]
    keys.install_key(str(target), new_key)
    audit_chain.write_head(str(target), report["head"], new_key)
    log.info(
        "restored %s into %s (%s)%s",
        Path(backup).name,
        target,
        report["head"].short(),
        f"; the previous database was kept as {aside}" if aside else "",
    )
    steps.done(progress)
    return RestoreReport(
        str(target),
        report["counts"],
        not ours,
        their_id,
        report["audit"],
        aside,
        time.perf_counter() - t0,
        tuple(report["notes"]),
    )


def _build(
    zf: zipfile.ZipFile,
    by_name: dict[str, zipfile.ZipInfo],
    manifest: Manifest,
    build: Path,
    work: Path,
    target: Path,
    key: keys.InstallationKey | None,
    ours: bool,
    their_id: str,
    user: User,
    archive_sha: str,
    memory_limit: str | None,
    progress: steps.Progress | None = None,
) -> _Built:
    """Build and check the new database at `build`; returns what the swap and the report need."""
    from metrics.store import Store

    if key is None:  # a foreign import into a place with no key yet: it gets its own, made here
        key = keys.InstallationKey(secrets.token_bytes(keys.KEY_BYTES), str(keys.key_path(str(target))))
    elif key.created:
        key = keys.InstallationKey(key.secret, key.path)  # no head beside the file being built
    new = Store(build, key=key, memory_limit=memory_limit)  # our schema, by our own migrations
    try:
        if manifest["schema_version"] != new.schema_version():
            raise CoreError("backup.schema", theirs=manifest["schema_version"], ours=new.schema_version())
        tables = new.backup_tables()
        missing = sorted(set(tables) - set(manifest["tables"]))
        extra = sorted(set(manifest["tables"]) - set(tables))
        if missing or extra:
            raise CoreError(
                "backup.tables",
                detail=", ".join([*(f"-{t}" for t in missing), *(f"+{_shown(t)}" for t in extra)]),
            )
        counts: dict[str, int] = {}
        with new.transaction() as cur:
            for n, table in enumerate(tables):
                steps.report(progress, "progress.restore_tables", 0.1 + 0.6 * n / max(len(tables), 1))
                counts[table] = _load_table(new, cur, zf, by_name, manifest, table, work)
                if counts[table] != manifest["tables"][table]["rows"]:
                    raise CoreError(
                        "backup.counts",
                        table=table,
                        n=counts[table],
                        expected=manifest["tables"][table]["rows"],
                    )
            new.restart_sequences(cur)
        steps.report(progress, "progress.restore_scores", 0.75)
        new.refresh_score_tables()
        steps.report(progress, "progress.restore_audit", 0.85)
        notes = _check_restored(new, manifest, key, ours, their_id, user, archive_sha)
        rows = new.audit_rows()
        head = audit_chain.head_of(rows, datetime.now(UTC).isoformat(timespec="microseconds"))
        rep = audit_chain.assess(rows, key, "ok", head)  # the new file's log under the key it keeps
        if not rep.ok:  # pragma: no cover - the checks above already refuse this
            raise CoreError("backup.audit", detail=rep.problems("en")[0])
        new.checkpoint()
    finally:
        new.close()
    return {"counts": counts, "key": key, "head": head, "audit": rep, "notes": notes}
