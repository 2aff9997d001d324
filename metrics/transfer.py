"""`python -m metrics copy`: a whole database moved between the embedded DuckDB file and the
national PostgreSQL store (either way), with a checksum report.

What moves: every table a backup holds (metrics.backup: every table but the derived score
tables, rebuilt on the target after the load, and the browser sessions), row for row and id for
id, so every submission, version, kept file, verification, user (password hashes as stored,
never re-hashed) and audit row arrives as it was; and the installation key, without which the
copied audit chain cannot be checked: the target is given the source's key file (for a
PostgreSQL store, `$SMARTCITY_STATE_DIR/pg-<host>-<port>-<db>.key`, metrics.keys.state_base),
as `keys.copy_database` does for a file copy, and the chain head is written beside it. The
source's chain must verify before anything is copied; the target's must verify after.

The checksum report: per table, its row count and a content checksum computed identically on
both sides from the rows as the store hands them out (Arrow batches of the same column types on
both backends, metrics.store.pg.backup_tables): each column becomes canonical text by Arrow's own
cast (shortest exact floats, ISO times; bytes as their SHA-256, lists as JSON), length-prefixed,
the row's columns joined and hashed with SHA-256 after its table's name, and the row hashes are
summed modulo 2^256. The sum does not depend on row order (no backend's order is needed) and
streams: a national table is never in memory. The target's checksums are computed inside the
load transaction, before it commits: a difference rolls the whole load back.

Which path (copy_store): into an empty target, the whole copy above. Into a target that holds
data and was made by copying this very source (the same installation key, no other city), the
whole copy's check: identical means nothing to do, anything else is refused (`copy.city_differs`
naming the city, `copy.other_data`). Into a PostgreSQL store serving other cities (another key,
or cities the source lacks): the merge below. A DuckDB target is never merged into.

The merge (merge_store; issue 19: a city's embedded database moves into the province's or the
ministry's national store). One transaction, under the global lock taken exclusively first (no
write to any city meanwhile), all or nothing:
- The source's chain must verify. Its tables are read whole from one snapshot (a city's
  database: thousands of rows, in memory); every table of the schema has a rule here (ID_TABLES,
  CITY_TABLES, OWNED, FRAMEWORK_TABLES, SHARED, SKIPPED, users, audit; score tables rebuilt,
  sessions never carried), and a test fails when a table of metrics.store.pg.schema has none.
- Refused, naming it and changing nothing: a source city the target holds with different
  content (`copy.city_differs`); an account name the target has for another role, city or OPD
  (`copy.user_clash`); a framework the target has with the same id and applies_from but other
  source text (`copy.framework_differs`). A source city the target holds with the same content is
  nothing to do: merging the same file twice changes nothing (not even the audit log).
  "Same content" compares the city's rows in every city-keyed table and the rows hanging off
  them (answers, programme registers, survey results, clarification events), with each id
  replaced by its rank among the city's ids of that table and each fw_seq by the framework's
  identity (id, applies_from, SHA-256 of its source text): the merge gives fresh ids in the
  source's order, so the ranks agree on both sides exactly when the rows do.
- Carried for the new cities: their registry rows and every city-keyed table, rows with an id
  renumbered from the target's sequences (nextval, in the source's id order) and every column
  naming such an id remapped (REFS: answers' submission_id, programme rows' version_id, survey
  rows' upload_id, clarification events' clarification_id, submission_id and item_ids array,
  evidence links' item_id), submissions' fw_seq mapped to the target's framework. A framework the
  target has (same identity) keeps the target's seq; one it lacks is inserted with the next seq
  and its fw_* rows; it then applies to every city for its years, as loading it there would, so
  all score tables are rebuilt (otherwise only the merged cities' city-years). Kept files and
  evidence blobs are inserted when the target has none with their SHA-256 (a present one is the
  same bytes). Accounts of the source's cities are carried with their password hashes as
  stored; an account the target has for the same role, city and OPD is kept as the target has
  it; accounts without a city (the city's own admin or assessors) are not carried (a national
  account is the national store's to make) and are listed in the report. Not carried: meta
  (each store's own), login_failures and unlock_codes (the source machine's sign-in throttle and
  one-time codes), sessions.
- Audit: the target keeps its own key. The merge appends one `copy.import` row (the source's file
  name, its audit head's id and hash, its key id, the cities and the row count), then the
  source's audit rows in their order with their own logged_at, username, action, object,
  before and after, re-chained under the target's key with the target's next ids. They go
  through the store's commit-time chain writer (metrics.store.pg.audit_log: import_audit, under
  the audit lock, last), so the target's chain verifies after the commit. Ids quoted inside old
  audit texts are the source's (the copy.import row names the source).
- The report: per table, the source's rows against the target's rows for them read back inside
  the transaction (city rows by rank as above; frameworks by identity without loaded_at/by;
  files without their name and blobs without stored_at, which the first loader set; kept
  accounts by name, role, city and OPD), so the checksums are comparable; a difference raises
  `copy.mismatch` and rolls everything back. The audit line compares the source's rows with the
  re-chained rows after the commit (they are written at commit), and the target's chain is
  verified then.

One city out (extract_city, `copy --from postgresql://… --to NEW.duckdb --city CODE`): the city's
rows (ids kept: unique in the national store), every framework, its accounts and the files and
blobs its rows name go into a new DuckDB file with a key of its own; its chain starts with one
`copy.export` row recording the national store's audit head (the history stays there, verifiable
under the national key). Checked per table inside the load's transaction; scores rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics import audit as audit_chain
from metrics import keys
from metrics import progress as steps
from metrics.errors import CoreError

if TYPE_CHECKING:
    import pyarrow as pa

    from metrics.storage import Cursor, Storage

MOD = 1 << 256
# meta rows each database sets for itself (its migrations, its score tables' SQL), not copied
OWN_META = ("schema_version", "score_tables_version")
# columns by which a table's rows belong to a row of a table with a city_code (its parent); the
# first one a table has counts (a clarification event's submission_id is optional)
PARENTS = {
    "clarification_id": "clarifications",
    "submission_id": "submissions",
    "version_id": "programme_versions",
    "upload_id": "survey_uploads",
    "item_id": "evidence_items",
}


def _is_url(path: str) -> bool:
    return path.startswith(("postgresql://", "postgres://"))


# ------------------------------------------------------------------------------ checksums


def _column_text(col: pa.Array) -> pa.Array:
    """One column as canonical text per row: "<length>:<text>", or "N" for a null, so that the
    row's columns joined are unambiguous. Scalars through Arrow's own cast (the same types on both
    backends give the same text: shortest exact floats, ISO times); binaries as their SHA-256, lists
    as JSON (few rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        values = col.to_pylist()
        text = pa.array([None if v is None else hashlib.sha256(v).hexdigest() for v in values], pa.string())
    elif pa.types.is_nested(t):
        text = pa.array([None if v is None else _JSON.encode(v) for v in col.to_pylist()], pa.string())
    else:
        text = pc.cast(col, pa.string())
    lengths = pc.cast(pc.utf8_length(text), pa.string())
    return pc.fill_null(pc.binary_join_element_wise(lengths, text, ":"), "N")


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def row_digests(table: str, batch: pa.RecordBatch) -> list[int]:
    """Each row's SHA-256 (of its table's name and its canonical columns) as an integer."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = pc.binary_join_element_wise(*(_column_text(c) for c in batch.columns), "|")
    start = hashlib.sha256(table.encode("utf-8") + b"\x00")
    out = []
    for text in pc.cast(rows, pa.binary()).to_pylist():
        h = start.copy()
        h.update(text)
        out.append(int.from_bytes(h.digest(), "big"))
    return out


@dataclass
class Sums:
    """A database's checksums: per table (rows, sum), per city (sum over its rows everywhere)."""

    tables: dict[str, tuple[int, int]]
    cities: dict[str, int]

    @property
    def empty(self) -> bool:
        return not any(rows for rows, _ in self.tables.values())


def columns_of(store: Storage, tables: list[str]) -> dict[str, list[str]]:
    """Each table's column names, those with a city_code first (their ids name the city of the
    rows hanging off them, read after them)."""
    named = {t: list(store.table_schema(t).names) for t in tables}
    return dict(sorted(named.items(), key=lambda tc: "city_code" not in tc[1]))


def checksums(store: Storage, cur: Cursor, columns: dict[str, list[str]]) -> Sums:
    """Every table's row count and content checksum, read on `cur` (a snapshot or the load);
    `columns` as columns_of gives them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sums: dict[str, tuple[int, int]] = {}
    cities: dict[str, int] = {}
    city_of: dict[str, dict[object, str]] = {}  # parent table -> id -> city
    own = pa.array(list(OWN_META))
    for table, names in columns.items():
        has_city = "city_code" in names
        link = None if has_city else next((c for c in PARENTS if c in names), None)
        parent = city_of.get(PARENTS[link], {}) if link is not None else {}
        ids: dict[object, str] = {}
        n = total = 0
        for batch in store.table_batches(cur, table):
            if table == "meta":
                batch = batch.filter(pc.invert(pc.is_in(batch.column(0), value_set=own)))
            digests = row_digests(table, batch)
            n += len(digests)
            total += sum(digests)
            if has_city:
                owners = [
                    None if c is None else str(c) for c in batch.column(names.index("city_code")).to_pylist()
                ]
                if "id" in names:
                    ids.update(
                        (i, c)
                        for i, c in zip(batch.column(names.index("id")).to_pylist(), owners, strict=True)
                        if c is not None
                    )
            elif link is not None:
                owners = [parent.get(v) for v in batch.column(names.index(link)).to_pylist()]
            else:
                continue
            for city, d in zip(owners, digests, strict=True):
                if city is not None:
                    cities[city] = cities.get(city, 0) + d
        if ids:
            city_of[table] = ids
        sums[table] = (n, total % MOD)
    return Sums(sums, {c: d % MOD for c, d in cities.items()})


def shown(digest: int) -> str:
    """A checksum as printed (the first 16 hex digits of the 256-bit sum)."""
    return f"{digest:064x}"[:16]


# ------------------------------------------------------------------------------ the report


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


@dataclass(frozen=True)
class CopyReport:
    source: str  # where from (a URL without its password)
    target: str
    tables: tuple[TableCheck, ...]
    copied: bool  # rows were loaded (False: the target already held exactly this data)
    audit: audit_chain.AuditReport  # the target's chain, checked under the key it now has
    key_id: str  # the installation key both now share (a merge: the target's own)
    seconds: float
    merged: bool = False  # a merge into a store serving other cities (merge_store)
    cities: tuple[str, ...] = ()  # a merge: the cities carried
    present: tuple[str, ...] = ()  # a merge: the cities the target already held, identical
    skipped_users: tuple[str, ...] = ()  # a merge: accounts without a city, not carried

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.tables) and self.audit.ok


def _checks(src: Sums, dst: Sums) -> tuple[TableCheck, ...]:
    out = []
    for table in sorted(set(src.tables) | set(dst.tables)):
        sr, ss = src.tables.get(table, (0, 0))
        tr, ts = dst.tables.get(table, (0, 0))
        out.append(TableCheck(table, sr, tr, shown(ss), shown(ts)))
    return tuple(out)


# ------------------------------------------------------------------------------ the copy


@contextmanager
def _opened(path: str, **kwargs: Any) -> Iterator[Storage]:
    from metrics.store import Store

    store = Store(path, **kwargs)
    try:
        yield store
    finally:
        store.close()


def _give_key(db_path: str, key: keys.InstallationKey) -> None:
    """The target gets the source's installation key: written when missing, replaced when the
    target had one of its own (only ever for a target that was empty: its key vouched for no row)."""
    path = keys.key_path(db_path)
    if path is None:
        return
    try:
        if path.read_bytes() == key.secret:
            return
    except FileNotFoundError:
        keys.install_key(db_path, key)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    keys.write_atomic(path, key.secret)


def _source_key(src: Storage) -> keys.InstallationKey:
    key = src.audit_key
    if key is None:
        kp = keys.key_path(src.path)
        raise CoreError("copy.no_key", path=str(kp) if kp else "-")
    rep = audit_chain.verify_store(src)
    if not rep.ok:
        raise CoreError("copy.source_audit", detail=rep.problems("en")[0])
    return key


def _refuse(src: Sums, dst: Sums) -> None:
    """Refuse a target holding data other than the source's (the module docstring says why)."""
    differs = sorted(c for c in src.cities if c in dst.cities and src.cities[c] != dst.cities[c])
    if differs:
        raise CoreError("copy.city_differs", city=", ".join(differs))
    if any(src.tables.get(t, (0, 0)) != dst.tables[t] for t in dst.tables):
        others = sorted(set(dst.cities) - set(src.cities))
        raise CoreError("copy.other_data", cities=", ".join(others) or "-")


def _load(
    src: Storage, scur: Cursor, dst: Storage, tables: list[str], progress: steps.Progress | None
) -> Sums:
    """Every table's rows, read on the source's snapshot `scur`, into the empty target in one
    transaction; the target's checksums computed inside it (returned), so that a difference
    undoes the whole load."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = columns_of(dst, tables)
    with dst.transaction() as tcur:
        for n, table in enumerate(tables):
            steps.report(progress, "progress.copy_tables", 0.1 + 0.7 * n / max(len(tables), 1))
            for batch in src.table_batches(scur, table):
                part = pa.Table.from_batches([batch])
                if table == "meta":
                    own = pa.array(list(OWN_META))
                    part = part.filter(pc.invert(pc.is_in(part.column("key"), value_set=own)))
                if part.num_rows:
                    dst.load_rows(tcur, table, part)
        dst.restart_sequences(tcur)
        steps.report(progress, "progress.copy_check", 0.8)
        return checksums(dst, tcur, columns)


def copy_store(source: str, target: str, progress: steps.Progress | None = None) -> CopyReport:
    """Copy the database at `source` into `target` (a DuckDB file or a postgresql:// URL each),
    checked table by table; see the module docstring for what moves and what is refused. Raises
    CoreError (one sentence) for every refusal; the target is then unchanged."""
    from metrics.store import resolve_db_path

    t0 = time.perf_counter()
    source, target = resolve_db_path(source), resolve_db_path(target)
    if source == target:
        raise CoreError("copy.same", path=source)
    if not _is_url(source) and not Path(source).exists():
        raise CoreError("copy.no_source", path=source)
    created = not _is_url(target) and not Path(target).exists()
    steps.report(progress, "progress.copy_source", 0.0)
    if _is_url(target) and _merges(source, target):
        return merge_store(source, target, progress)
    try:
        # one snapshot of the source for its checksums and the rows copied: a PostgreSQL source
        # that keeps serving writes is copied as of one moment
        with _opened(source, read_only=True) as src, src.snapshot() as scur:
            key = _source_key(src)
            tables = src.backup_tables()
            src_sums = checksums(src, scur, columns_of(src, tables))
            with _opened(target, key=keys.InstallationKey(key.secret, key.path)) as dst:
                if dst.schema_version() != src.schema_version() or dst.backup_tables() != tables:
                    raise CoreError("copy.schema", theirs=src.schema_version(), ours=dst.schema_version())
                with dst.snapshot() as cur:
                    dst_sums = checksums(dst, cur, columns_of(dst, tables))
                copied = dst_sums.empty and not src_sums.empty
                if not dst_sums.empty:
                    _refuse(src_sums, dst_sums)
                    mine = keys.load_key(dst.path, create=False)
                    if mine is not None and mine.secret != key.secret:
                        raise CoreError("copy.key_differs", path=mine.path or "-")
                elif copied:
                    dst_sums = _load(src, scur, dst, tables, progress)
                    bad = [c.table for c in _checks(src_sums, dst_sums) if not c.ok]
                    if bad:  # pragma: no cover - the load is rolled back; a bug, never expected
                        raise CoreError("copy.mismatch", tables=", ".join(bad))
                _give_key(dst.path, key)
                status, _ = audit_chain.read_head(dst.path, key)
                if copied or status != "ok":
                    stamp = datetime.now(UTC).isoformat(timespec="microseconds")
                    audit_chain.write_head(dst.path, audit_chain.head_of(dst.audit_rows(), stamp), key)
                if copied:
                    steps.report(progress, "progress.copy_scores", 0.9)
                    dst.refresh_score_tables()
                audit = audit_chain.verify_store(dst)
                report = CopyReport(
                    src.path,
                    dst.path,
                    _checks(src_sums, dst_sums),
                    copied,
                    audit,
                    key.key_id,
                    time.perf_counter() - t0,
                )
    except BaseException:
        if created:  # a DuckDB file this call made: gone again
            for p in (target, target + ".wal", target + keys.HEAD_SUFFIX):
                Path(p).unlink(missing_ok=True)
        raise
    steps.done(progress)
    return report


def _merges(source: str, target: str) -> bool:
    """Whether copying `source` into the PostgreSQL store `target` is a merge: the target holds
    data (a city or an audit row: cheap to ask of a national store) and was not made by copying
    this source (its key is another installation's), or since holds cities the source lacks. A
    target copied from the source itself, or empty, takes the whole-copy path."""
    if not Path(source).exists() and not _is_url(source):
        return False
    with _opened(target) as dst:
        pg: Any = dst  # a PgStore (PgAuditLog.audit_head)
        theirs_cities = dst.city_codes()
        with dst.snapshot() as cur:  # every write leaves an audit row: none and no city is empty
            held = bool(theirs_cities) or pg.audit_head(cur).last_id > 0
        if not held:
            return False
        mine = dst.audit_key
    theirs = keys.load_key(source, create=False)
    if mine is None or theirs is None or mine.secret != theirs.secret:
        return True
    # the source's own copy, since joined by other cities (merged into it): a merge too
    with _opened(source, read_only=True) as src:
        return bool(theirs_cities - src.city_codes())


def restore_into(backup: str | Path, target: str, foreign: bool = False) -> tuple[Any, CopyReport]:
    """`restore` into a PostgreSQL store: the backup is restored, with every check of
    metrics.backup.restore_backup (signature, checksums, audit chain, scores recomputed), into a
    DuckDB file built aside, which is then copied into `target` (empty, or holding exactly that
    data) with the checksum report. The backup must be signed with the target's key unless
    `foreign` (a target without a key yet takes the backup's key only as a foreign import)."""
    from metrics.backup import restore_backup

    key = keys.load_key(target, create=False)
    if key is None and not foreign:
        kp = keys.key_path(target)
        raise CoreError("backup.no_key", path=str(kp) if kp else "-")
    with tempfile.TemporaryDirectory(prefix=".restore-pg-") as work:
        aside = str(Path(work) / "restored.duckdb")
        restored = restore_backup(backup, aside, foreign=foreign, key=key)
        return restored, copy_store(aside, target)


# ------------------------------------------------------------------------------ the merge

# How the merge treats every table a backup holds (a test checks that this covers the whole
# schema of metrics.store.pg.schema, so a new table cannot be forgotten).
# Tables with a city_code whose rows get fresh ids from the target's sequences:
ID_TABLES = (
    "submissions",
    "verifications",
    "programme_versions",
    "survey_uploads",
    "na_decisions",
    "evidence_items",
    "evidence_checks",
    "clarifications",
    "interviews",
)
# tables with a city_code and no id of their own (evidence_links refers to an item: REFS)
CITY_TABLES = (
    "cities",
    "city_population",
    "opds",
    "opd_assignments",
    "periods",
    "deadlines",
    "reminders",
    "drafts",
    "indicator_efforts",
    "effort_units",
    "survey_mappings",
    "evidence_links",
)
# tables without a city_code, owned through their first id column; clarification_events also
# gets fresh ids
OWNED = {
    "assessments": ("submission_id", "submissions"),
    "metric_values": ("submission_id", "submissions"),
    "assessment_na": ("submission_id", "submissions"),
    "clarification_events": ("clarification_id", "clarifications"),
    "programmes": ("version_id", "programme_versions"),
    "programme_budgets": ("version_id", "programme_versions"),
    "programme_statuses": ("version_id", "programme_versions"),
    "survey_programmes": ("upload_id", "survey_uploads"),
    "survey_questions": ("upload_id", "survey_uploads"),
}
NEW_IDS = (*ID_TABLES, "clarification_events")
# every column that names another row by id: table -> column -> the table whose id it is
REFS: dict[str, dict[str, str]] = {
    **{t: {col: parent} for t, (col, parent) in OWNED.items()},
    "clarification_events": {
        "clarification_id": "clarifications",
        "submission_id": "submissions",
        "item_ids": "evidence_items",  # an array of ids
    },
    "evidence_links": {"item_id": "evidence_items"},
}
# a framework is the target's own when its id, applies_from and stored source text are equal;
# its seq (and the fw_seq of its rows and of submissions) is then the target's
FRAMEWORK_TABLES = ("frameworks", "fw_category_thresholds", "fw_dimensions", "fw_indicators", "fw_pillars")
# rows keyed by their content's SHA-256: inserted when the target has none with that hash
SHARED = ("files", "evidence_blobs")
# columns a row kept as the target already had it may differ in (the first loader's name / time)
SHARED_FREE = {"files": ("name",), "evidence_blobs": ("stored_at",), "frameworks": ("loaded_at", "loaded_by")}
# not carried: each store's own (schema version, score SQL version, content version), the
# sign-in throttle of the source's machine and its one-time unlock codes
SKIPPED = ("meta", "login_failures", "unlock_codes")
# "users" (by username: carried, or kept when the target has the same role, city and OPD) and
# "audit" (re-chained after a copy.import row) are handled by name; score tables are rebuilt
# and browser sessions are never carried (neither is in backup_tables)
MERGED_TABLES = frozenset(
    (*ID_TABLES, *CITY_TABLES, *OWNED, *FRAMEWORK_TABLES, *SHARED, *SKIPPED, "users", "audit")
)
_AUDIT_TEXT = ("logged_at", "username", "action", "object", "before", "after")


def _fw_key(row: dict[str, Any]) -> str:
    source = hashlib.sha256(str(row.get("source") or "").encode("utf-8")).hexdigest()
    return f"{row['id']}@{row['applies_from']}#{source}"


def _map_column(
    table: pa.Table, name: str, mapping: dict[Any, Any], typ: pa.DataType | None = None
) -> pa.Table:
    """`table` with column `name`'s values (or an array's elements) replaced through `mapping`;
    a value missing from it is a bug (a row naming another city's row) and raises KeyError."""
    import pyarrow as pa

    i = table.schema.get_field_index(name)
    field = table.schema.field(i)
    values = table.column(i).to_pylist()
    if pa.types.is_list(field.type):
        new = [None if v is None else [mapping[x] for x in v] for v in values]
        arr = pa.array(new, typ or field.type)
    else:
        arr = pa.array([None if v is None else mapping[v] for v in values], typ or field.type)
    return table.set_column(i, pa.field(name, arr.type), arr)


def _city_rows(fetch: Any, cities: list[str]) -> dict[str, pa.Table]:
    """The rows of `cities` in every city-keyed and owned table, through fetch(table, column,
    values): rows with a city_code first, then those hanging off them by id."""
    out = {t: fetch(t, "city_code", cities) for t in (*ID_TABLES, *CITY_TABLES)}
    for t, (col, parent) in OWNED.items():
        out[t] = fetch(t, col, out[parent].column("id").to_pylist())
    return out


def _remap(
    rows: dict[str, pa.Table], ids: dict[str, dict[Any, Any]], fw: dict[Any, Any], fw_type: Any
) -> dict[str, pa.Table]:
    """`rows` with every id (own and referenced) and every submission's fw_seq replaced."""
    out = {}
    for t, tb in rows.items():
        if t in ids and "id" in tb.schema.names:
            tb = _map_column(tb, "id", ids[t])
        for col, parent in REFS.get(t, {}).items():
            tb = _map_column(tb, col, ids[parent])
        if t == "submissions":
            tb = _map_column(tb, "fw_seq", fw, fw_type)
        out[t] = tb
    return out


def _ranks(rows: dict[str, pa.Table]) -> dict[str, dict[Any, Any]]:
    """Each id of `rows` -> its rank among its table's ids: equal on both sides of a merge (the
    target's ids are given in the source's order), so rows compare without the ids themselves."""
    return {t: {v: n for n, v in enumerate(sorted(rows[t].column("id").to_pylist()))} for t in NEW_IDS}


def _digest(table: str, tb: pa.Table, drop: tuple[str, ...] = ()) -> tuple[int, int]:
    cols = [c for c in tb.schema.names if c not in drop]
    part = tb.select(cols)
    total = 0
    for batch in part.to_batches():
        total += sum(row_digests(table, batch))
    return part.num_rows, total % MOD


def _city_digests(
    fetch: Any, cities: list[str], fw_key: dict[Any, str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """Per city, per table: (rows, checksum) of its rows with ids replaced by their ranks within
    the city and frameworks by their identity (_fw_key): comparable across two stores."""
    import pyarrow as pa

    out = {}
    for city in cities:
        rows = _city_rows(fetch, [city])
        normal = _remap(rows, _ranks(rows), fw_key, pa.string())
        out[city] = {t: _digest(t, tb) for t, tb in normal.items()}
    return out


@dataclass
class _Plan:
    """What a merge writes (computed under the lock, before any write)."""

    cities: list[str]  # the source's cities new to the target
    present: list[str]  # the source's cities the target already holds, identical
    fw_seq: dict[Any, Any]  # source seq -> target seq
    new_frameworks: list[Any]  # source seqs inserted
    users_new: list[str]
    users_kept: list[str]
    users_skipped: list[str]  # accounts without a city the target does not have (not carried)
    shared_new: dict[str, list[str]]  # files / evidence_blobs: hashes inserted


def _merge(
    src: Storage, data: dict[str, pa.Table], dst: Any, cur: Any, progress: steps.Progress | None
) -> tuple[_Plan, dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """Merge the source's tables `data` into the PostgreSQL store `dst` on its transaction `cur`
    (the exclusive global lock is taken first). Returns the plan and the per-table (rows,
    checksum) of the source and of the target's rows as merged (ids compared by rank)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dst.lock_everything(cur)

    def fetch_src(t: str, col: str, values: list[Any]) -> pa.Table:
        tb = data[t]
        if not values:
            return tb.slice(0, 0)
        return tb.filter(pc.is_in(tb.column(col), value_set=pa.array(values, tb.schema.field(col).type)))

    def fetch_dst(t: str, col: str, values: list[Any]) -> pa.Table:
        return dst.rows_where(cur, t, col, values)

    # frameworks: the target's own when equal, refused when the same id and year differ
    src_fw = data["frameworks"].to_pylist()
    dst_fw = dst.table_batches(cur, "frameworks").read_all().to_pylist()
    src_key = {r["seq"]: _fw_key(r) for r in src_fw}
    by_key = {_fw_key(r): r["seq"] for r in dst_fw}
    by_name = {(r["id"], r["applies_from"]) for r in dst_fw}
    next_seq = max((int(r["seq"]) for r in dst_fw), default=0) + 1
    fw_seq: dict[Any, Any] = {}
    new_fw = []
    for r in sorted(src_fw, key=lambda r: r["seq"]):
        if src_key[r["seq"]] in by_key:
            fw_seq[r["seq"]] = by_key[src_key[r["seq"]]]
        elif (r["id"], r["applies_from"]) in by_name:
            raise CoreError("copy.framework_differs", framework=r["id"], year=r["applies_from"])
        else:
            fw_seq[r["seq"]], next_seq = next_seq, next_seq + 1
            new_fw.append(r["seq"])
    fw_identity = dict(src_key)
    dst_identity = {r["seq"]: _fw_key(r) for r in dst_fw}
    for s in new_fw:
        dst_identity[fw_seq[s]] = src_key[s]

    # cities: new, identical (nothing to do), or different (refused, by name)
    cities = sorted(str(c) for c in data["cities"].column("city_code").to_pylist())
    there = set(fetch_dst("cities", "city_code", list(cities)).column("city_code").to_pylist())
    src_city = _city_digests(fetch_src, cities, fw_identity)
    if there:
        dst_city = _city_digests(fetch_dst, sorted(there), dst_identity)
        differs = sorted(c for c in there if src_city[c] != dst_city[c])
        if differs:
            raise CoreError("copy.city_differs", city=", ".join(differs))
    new_cities = [c for c in cities if c not in there]

    # accounts: the same name for another role, city or OPD is refused
    users = data["users"].to_pylist()
    theirs = {
        r["username"]: r for r in fetch_dst("users", "username", [u["username"] for u in users]).to_pylist()
    }
    ident = ("role", "city_code", "opd_code")
    clash = sorted(
        u["username"]
        for u in users
        if u["username"] in theirs and any(u[k] != theirs[u["username"]][k] for k in ident)
    )
    if clash:
        raise CoreError("copy.user_clash", user=", ".join(clash))
    kept = sorted(u["username"] for u in users if u["username"] in theirs)
    skipped = sorted(u["username"] for u in users if u["username"] not in theirs and u["city_code"] is None)
    carried = sorted(
        u["username"] for u in users if u["username"] not in theirs and u["city_code"] is not None
    )
    shared_new: dict[str, list[str]] = {}
    for t in SHARED:
        hashes = data[t].column("sha256").to_pylist()
        have = set(fetch_dst(t, "sha256", hashes).column("sha256").to_pylist())
        shared_new[t] = [h for h in hashes if h not in have]
    plan = _Plan(new_cities, sorted(there), fw_seq, new_fw, carried, kept, skipped, shared_new)

    if new_cities or carried or new_fw or any(shared_new.values()):
        steps.report(progress, "progress.copy_tables", 0.3)
        _write(src, data, dst, cur, plan, fetch_src)
    steps.report(progress, "progress.copy_check", 0.7)
    return plan, *_compare(data, dst, cur, plan, fetch_src, fetch_dst, fw_identity, dst_identity)


def _write(src: Storage, data: dict[str, pa.Table], dst: Any, cur: Any, plan: _Plan, fetch_src: Any) -> None:
    """The inserts of a merge, ids renumbered from the target's sequences."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from metrics.auth import SYSTEM
    from metrics.store.scores import ALL_CITY_YEARS

    def keep(t: str, col: str, values: list[Any]) -> pa.Table:
        tb = data[t]
        return tb.filter(pc.is_in(tb.column(col), value_set=pa.array(values, tb.schema.field(col).type)))

    # the source's audit rows as they stand (its chain was verified before), read first: the
    # copy.import row records their head
    audit = data["audit"].sort_by("id")
    last_id, last_hash = _source_head(data)
    written = 0
    for t in SHARED:
        if plan.shared_new[t]:
            rows = keep(t, "sha256", plan.shared_new[t])
            dst.load_rows(cur, t, rows)
            written += rows.num_rows
    if plan.new_frameworks:
        seq_type = data["frameworks"].schema.field("seq").type
        for t in FRAMEWORK_TABLES:
            col = "seq" if t == "frameworks" else "fw_seq"
            rows = keep(t, col, plan.new_frameworks)
            rows = _map_column(rows, col, plan.fw_seq, seq_type)
            dst.load_rows(cur, t, rows)
            written += rows.num_rows
    if plan.users_new:
        rows = keep("users", "username", plan.users_new)
        dst.load_rows(cur, "users", rows)
        written += rows.num_rows
    if plan.cities:
        rows = _city_rows(fetch_src, plan.cities)
        ids = {}
        for t in NEW_IDS:
            old = sorted(rows[t].column("id").to_pylist())
            ids[t] = dict(zip(old, dst.next_ids(cur, t, len(old)), strict=True))
        fw_type = data["submissions"].schema.field("fw_seq").type
        for t, tb in _remap(rows, ids, plan.fw_seq, fw_type).items():
            if tb.num_rows:
                dst.load_rows(cur, t, tb)
                written += tb.num_rows
        city_years: set[tuple[str, int]] = set()
        for tb in rows.values():
            if "year" in tb.schema.names and "city_code" in tb.schema.names:
                city_years.update(
                    zip(tb.column("city_code").to_pylist(), tb.column("year").to_pylist(), strict=True)
                )
        if plan.new_frameworks:  # a new framework may be the one in force for other cities' years
            dst.mark_scores_stale(cur, ALL_CITY_YEARS)
        elif city_years:
            dst.mark_scores_stale(cur, city_years)
            dst.mark_finished_scores_stale(cur, set(plan.cities))
    key = src.audit_key
    dst.write_audit(
        cur,
        SYSTEM,
        "copy.import",
        Path(src.path).name if not _is_url(src.path) else src.path,
        None,
        {
            "source": Path(src.path).name if not _is_url(src.path) else src.path,
            "source_head_id": last_id,
            "source_head_hash": last_hash,
            "source_key_id": key.key_id if key else None,
            "cities": plan.cities,
            "rows": written,
            "audit_rows": audit.num_rows,
        },
    )
    dst.import_audit(
        cur, [tuple(r[c] for c in _AUDIT_TEXT) for r in audit.select(list(_AUDIT_TEXT)).to_pylist()]
    )


def _compare(
    data: dict[str, pa.Table],
    dst: Any,
    cur: Any,
    plan: _Plan,
    fetch_src: Any,
    fetch_dst: Any,
    fw_src: dict[Any, str],
    fw_dst: dict[Any, str],
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """Per table (rows, checksum) of the source and of the target's rows for it, read back on the
    merge's transaction: city rows with ids by rank, frameworks by identity, shared rows and kept
    accounts without the columns a first loader set (SHARED_FREE; kept accounts by name, role,
    city and OPD only). The audit rows are compared after the commit (copy_store)."""
    import pyarrow as pa

    src_out: dict[str, tuple[int, int]] = {}
    dst_out: dict[str, tuple[int, int]] = {}

    def add(out: dict[str, tuple[int, int]], t: str, d: tuple[int, int]) -> None:
        n, s = out.get(t, (0, 0))
        out[t] = (n + d[0], (s + d[1]) % MOD)

    cities = sorted([*plan.cities, *plan.present])
    for side, fetch, fw in ((src_out, fetch_src, fw_src), (dst_out, fetch_dst, fw_dst)):
        for per_table in _city_digests(fetch, cities, fw).values():
            for t, d in per_table.items():
                add(side, t, d)
    # frameworks
    seqs = sorted(plan.fw_seq)
    for side, fetch, fw, keys_ in (
        (src_out, fetch_src, fw_src, seqs),
        (dst_out, fetch_dst, fw_dst, [plan.fw_seq[s] for s in seqs]),
    ):
        for t in FRAMEWORK_TABLES:
            col = "seq" if t == "frameworks" else "fw_seq"
            tb = _map_column(fetch(t, col, keys_), col, fw, pa.string())
            add(side, t, _digest(t, tb, SHARED_FREE.get(t, ())))
    for t in SHARED:
        hashes = data[t].column("sha256").to_pylist()
        add(src_out, t, _digest(t, fetch_src(t, "sha256", hashes), SHARED_FREE[t]))
        add(dst_out, t, _digest(t, fetch_dst(t, "sha256", hashes), SHARED_FREE[t]))
    names = [*plan.users_new, *plan.users_kept]
    identity = ("username", "role", "city_code", "opd_code")
    for side, fetch in ((src_out, fetch_src), (dst_out, fetch_dst)):
        rows = fetch("users", "username", names)
        new = rows.filter(
            pa.array([u in set(plan.users_new) for u in rows.column("username").to_pylist()], pa.bool_())
        )
        old = rows.filter(
            pa.array([u in set(plan.users_kept) for u in rows.column("username").to_pylist()], pa.bool_())
        )
        add(side, "users", _digest("users", new))
        add(side, "users", _digest("users", old.select(list(identity))))
    return src_out, dst_out


def _source_head(data: dict[str, pa.Table]) -> tuple[int, str]:
    """The source's audit head: its last row's id and hash."""
    audit = data["audit"].sort_by("id")
    if not audit.num_rows:
        return 0, audit_chain.GENESIS
    last = audit.slice(audit.num_rows - 1).to_pylist()[0]
    return int(last["id"]), str(last["hash"])


def _audit_text(rows: pa.Table) -> tuple[int, int]:
    return _digest("audit", rows.sort_by("id").select(list(_AUDIT_TEXT)))


def merge_store(source: str, target: str, progress: steps.Progress | None = None) -> CopyReport:
    """Merge the cities of the database at `source` into the PostgreSQL store at `target`, which
    already serves others (see the module docstring). Raises CoreError (one sentence) for every
    refusal; the target is then unchanged."""
    from metrics.store import resolve_db_path

    t0 = time.perf_counter()
    source, target = resolve_db_path(source), resolve_db_path(target)
    with _opened(source, read_only=True) as src, src.snapshot() as scur:
        _source_key(src)  # its chain verifies, under its key
        tables = src.backup_tables()
        unknown = sorted(set(tables) - MERGED_TABLES)
        if unknown:  # pragma: no cover - a new table without its merge rule (a test guards this)
            raise CoreError("copy.schema", theirs=src.schema_version(), ours=", ".join(unknown))
        data = {t: src.table_batches(scur, t).read_all() for t in tables}
        with _opened(target) as dst:
            if dst.schema_version() != src.schema_version() or dst.backup_tables() != tables:
                raise CoreError("copy.schema", theirs=src.schema_version(), ours=dst.schema_version())
            mine = dst.audit_key
            if mine is None:  # pragma: no cover - a PostgreSQL store makes its key at first open
                kp = keys.key_path(dst.path)
                raise CoreError("copy.no_key", path=str(kp) if kp else "-")
            pg: Any = dst  # a PgStore: lock_everything, next_ids, rows_where, import_audit (pg.merge_rows)
            with dst.snapshot() as cur:
                head_before = pg.audit_head(cur)
            with dst.transaction() as tcur:
                plan, src_sums, dst_sums = _merge(src, data, pg, tcur, progress)
                bad = sorted(t for t in src_sums if src_sums[t] != dst_sums.get(t))
                if bad:
                    raise CoreError("copy.mismatch", tables=", ".join(bad))
            copied = bool(
                plan.cities or plan.users_new or plan.new_frameworks or any(plan.shared_new.values())
            )
            src_sums["audit"] = _audit_text(data["audit"]) if copied else (0, 0)
            dst_sums["audit"] = (0, 0)
            if copied:  # the source's rows, re-chained after its copy.import row
                with dst.snapshot() as cur:
                    head_after = pg.audit_head(cur)
                    ids = list(range(head_before.last_id + 1, head_after.last_id + 1))
                    recent = pg.rows_where(cur, "audit", "id", ids).sort_by("id").to_pylist()
                mark = f'"source_head_hash":"{_source_head(data)[1]}"'
                at = next(
                    (
                        n
                        for n, r in enumerate(recent)
                        if r["action"] == "copy.import" and mark in (r["after"] or "")
                    ),
                    None,
                )
                if at is not None:
                    n = data["audit"].num_rows
                    rows = recent[at + 1 : at + 1 + n]
                    if rows:
                        import pyarrow as pa

                        dst_sums["audit"] = _audit_text(pa.Table.from_pylist(rows))
            report = CopyReport(
                src.path,
                dst.path,
                _checks(Sums(src_sums, {}), Sums(dst_sums, {})),
                copied,
                audit_chain.verify_store(dst),
                mine.key_id,
                time.perf_counter() - t0,
                merged=True,
                cities=tuple(plan.cities),
                present=tuple(plan.present),
                skipped_users=tuple(plan.users_skipped),
            )
    steps.done(progress)
    return report


# ------------------------------------------------------------------------------ one city out


def extract_city(source: str, target: str, city: str, progress: steps.Progress | None = None) -> CopyReport:
    """Copy one city out of the store at `source` (the national PostgreSQL store, or any store
    holding several cities) into a NEW DuckDB file `target`: its registry rows, every row of it
    and hanging off it (ids kept: they are unique in the national store), every framework (the
    one in force for any of its years is among them), its accounts (password hashes as stored),
    and the kept files and evidence blobs its rows name. The new file gets a key of its own and
    its audit chain starts with one `copy.export` row recording the source's audit head (the
    history stays in the source, where it verifies under the source's key). Checked table by
    table inside the load's transaction; refused for a city the source does not hold, a target
    that exists, or a source whose chain does not verify."""
    import pyarrow as pa

    from metrics.auth import SYSTEM
    from metrics.store import resolve_db_path

    t0 = time.perf_counter()
    source, target = resolve_db_path(source), resolve_db_path(target)
    if _is_url(target) or Path(target).exists():
        raise CoreError("copy.extract_target", path=target)
    key_file = keys.key_path(target)
    key_existed = key_file is not None and key_file.exists()
    if source == target:
        raise CoreError("copy.same", path=source)
    if not _is_url(source) and not Path(source).exists():
        raise CoreError("copy.no_source", path=source)
    steps.report(progress, "progress.copy_source", 0.0)
    try:
        with _opened(source, read_only=True) as src, src.snapshot() as scur:
            _source_key(src)
            tables = src.backup_tables()
            unknown = sorted(set(tables) - MERGED_TABLES)
            if unknown:  # pragma: no cover - a new table without its merge rule (a test guards this)
                raise CoreError("copy.schema", theirs=src.schema_version(), ours=", ".join(unknown))
            pg: Any = src  # rows_where: a PgStore's (metrics.store.pg.merge_rows)
            if not hasattr(pg, "rows_where"):
                raise CoreError("copy.extract_source", path=source)

            def fetch(t: str, col: str, values: list[Any]) -> pa.Table:
                return pg.rows_where(scur, t, col, values)

            if not fetch("cities", "city_code", [city]).num_rows:
                raise CoreError("copy.extract_no_city", city=city)
            with src.snapshot() as hcur:
                head = pg.audit_head(hcur)
            rows = _city_rows(fetch, [city])
            rows["users"] = fetch("users", "city_code", [city])
            for t in FRAMEWORK_TABLES:
                rows[t] = src.table_batches(scur, t).read_all()
            kept = {
                h
                for t in ("submissions", "programme_versions", "survey_uploads")
                for h in rows[t].column("sha256").to_pylist()
                if h
            }
            rows["files"] = fetch("files", "sha256", sorted(kept))
            blobs = sorted({h for h in rows["evidence_items"].column("sha256").to_pylist() if h})
            rows["evidence_blobs"] = fetch("evidence_blobs", "sha256", blobs)
            src_sums = {t: _digest(t, tb) for t, tb in rows.items()}
            written = sum(tb.num_rows for tb in rows.values())
            with _opened(target) as dst:
                if dst.schema_version() != src.schema_version() or dst.backup_tables() != tables:
                    raise CoreError("copy.schema", theirs=src.schema_version(), ours=dst.schema_version())
                with dst.transaction() as tcur:
                    steps.report(progress, "progress.copy_tables", 0.2)
                    for t, tb in rows.items():
                        if tb.num_rows:
                            dst.load_rows(tcur, t, tb)
                    dst.restart_sequences(tcur)
                    dst.write_audit(
                        tcur,
                        SYSTEM,
                        "copy.export",
                        city,
                        None,
                        {
                            "source": src.path,
                            "source_head_id": head.last_id,
                            "source_head_hash": head.last_hash,
                            "source_key_id": src.audit_key.key_id if src.audit_key else None,
                            "city": city,
                            "rows": written,
                        },
                    )
                    steps.report(progress, "progress.copy_check", 0.7)
                    dst_sums = {}
                    for t in rows:
                        batches = list(dst.table_batches(tcur, t))
                        part = pa.Table.from_batches(batches, schema=dst.table_schema(t))
                        dst_sums[t] = _digest(t, part)
                    bad = sorted(t for t in src_sums if src_sums[t] != dst_sums[t])
                    if bad:
                        raise CoreError("copy.mismatch", tables=", ".join(bad))
                steps.report(progress, "progress.copy_scores", 0.9)
                dst.refresh_score_tables()
                audit = audit_chain.verify_store(dst)
                mine = dst.audit_key
                report = CopyReport(
                    src.path,
                    dst.path,
                    _checks(Sums(src_sums, {}), Sums(dst_sums, {})),
                    True,
                    audit,
                    mine.key_id if mine else "-",
                    time.perf_counter() - t0,
                    merged=False,
                    cities=(city,),
                )
    except BaseException:  # the new file, and the key and head made for it, gone again
        for p in (target, target + ".wal", keys.head_path(target), None if key_existed else key_file):
            if p is not None:
                Path(p).unlink(missing_ok=True)
        raise
    steps.done(progress)
    return report
