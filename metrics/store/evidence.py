"""Evidence files and links (issue 18): the content-addressed file store (evidence_blobs, each
file once by SHA-256), the items an OPD gave (evidence_items), their links to answers
(evidence_links, never deleted: unlinking stamps them) and the assessors' checks of required
evidence (evidence_checks)."""

from __future__ import annotations

from metrics.records import EvidenceItem
from metrics.store.connection import Connection, Cursor, scalar, utcnow

_ITEM_COLUMNS = """id, city_code, opd_code, year, kind, sha256, url, original_name, mime, size, flags,
    uploaded_by, uploaded_at"""


def _item(row: tuple[object, ...]) -> EvidenceItem:
    return EvidenceItem(*row)  # type: ignore[arg-type]  # the columns in the record's order


class Evidence(Connection):
    """evidence_blobs, evidence_items, evidence_links, evidence_checks."""

    # ------------------------------------------------------------------ blobs and items (evfiles)
    def put_evidence_blob(self, cur: Cursor, sha256: str, mime: str, content: bytes) -> bool:
        """Keep `content` under its SHA-256 unless it is there already; whether it was new."""
        if scalar(cur, "SELECT count(*) FROM evidence_blobs WHERE sha256 = ?", [sha256]):
            return False
        cur.execute(
            "INSERT INTO evidence_blobs VALUES (?, ?, ?, ?, ?)",
            [sha256, mime, len(content), content, utcnow()],
        )
        return True

    def evidence_blob(self, sha256: str) -> bytes | None:
        with self.cursor() as cur:
            row = cur.execute("SELECT content FROM evidence_blobs WHERE sha256 = ?", [sha256]).fetchone()
        return bytes(row[0]) if row else None

    def insert_evidence_item(
        self,
        cur: Cursor,
        city: str,
        opd: str,
        year: int,
        kind: str,
        *,
        sha256: str | None,
        url: str | None,
        original_name: str | None,
        mime: str | None,
        size: int | None,
        flags: str | None,
        username: str,
    ) -> int:
        """A new evidence item (kind file|link) of the OPD-year; its id."""
        item_id = int(scalar(cur, "SELECT nextval('evidence_item_seq')"))
        cur.execute(
            "INSERT INTO evidence_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item_id,
                city,
                opd,
                year,
                kind,
                sha256,
                url,
                original_name,
                mime,
                size,
                flags,
                username,
                utcnow(),
            ],
        )
        return item_id

    def evidence_item(self, item_id: int, cur: Cursor | None = None) -> EvidenceItem | None:
        """One item (on the caller's transaction when given `cur`: no second connection is taken
        then, which on PostgreSQL would hold two pooled connections at once)."""
        if cur is None:
            with self.cursor() as own:
                return self.evidence_item(item_id, own)
        row = cur.execute(
            f"SELECT {_ITEM_COLUMNS} FROM evidence_items WHERE id = ?", [item_id]
        ).fetchone()  # fixed text
        return _item(row) if row else None

    def evidence_items(self, city: str, opd: str, year: int, cur: Cursor | None = None) -> list[EvidenceItem]:
        """The OPD-year's items, newest first (on the caller's transaction when given `cur`)."""
        sql = f"""SELECT {_ITEM_COLUMNS} FROM evidence_items
                  WHERE city_code = ? AND opd_code = ? AND year = ? ORDER BY id DESC"""  # fixed text
        if cur is not None:
            return [_item(r) for r in cur.execute(sql, [city, opd, year]).fetchall()]
        with self.cursor() as c:
            return [_item(r) for r in c.execute(sql, [city, opd, year]).fetchall()]

    def evidence_item_by_content(
        self, cur: Cursor, city: str, opd: str, year: int, sha256: str
    ) -> int | None:
        """The OPD-year's earliest file item with this content, if it gave it before."""
        row = cur.execute(
            """SELECT min(id) FROM evidence_items
               WHERE city_code = ? AND opd_code = ? AND year = ? AND kind = 'file' AND sha256 = ?""",
            [city, opd, year, sha256],
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def evidence_bytes_used(self, cur: Cursor, city: str, opd: str, year: int) -> int:
        """The size of the distinct file contents the OPD-year holds (its quota's use)."""
        return int(
            scalar(
                cur,
                """SELECT coalesce(sum(size), 0) FROM (
                       SELECT DISTINCT sha256, size FROM evidence_items
                       WHERE city_code = ? AND opd_code = ? AND year = ? AND kind = 'file') AS files""",
                [city, opd, year],
            )
        )

    # ------------------------------------------------------------------ links to answers (evfiles)
    def link_evidence(
        self, cur: Cursor, city: str, opd: str, year: int, indicator: str, item_id: int, username: str
    ) -> bool:
        """Link the item to the answer unless it is linked now; whether a link was made."""
        if scalar(
            cur,
            """SELECT count(*) FROM evidence_links WHERE city_code = ? AND opd_code = ? AND year = ?
               AND indicator_code = ? AND item_id = ? AND unlinked_at IS NULL""",
            [city, opd, year, indicator, item_id],
        ):
            return False
        cur.execute(
            "INSERT INTO evidence_links VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            [city, opd, year, indicator, item_id, username, utcnow()],
        )
        return True

    def unlink_evidence(
        self, cur: Cursor, city: str, opd: str, year: int, indicator: str, item_id: int, username: str
    ) -> bool:
        """Stamp the item's current link to the answer as ended; whether there was one."""
        row = cur.execute(
            """UPDATE evidence_links SET unlinked_by = ?, unlinked_at = ?
               WHERE city_code = ? AND opd_code = ? AND year = ? AND indicator_code = ? AND item_id = ?
               AND unlinked_at IS NULL RETURNING item_id""",
            [username, utcnow(), city, opd, year, indicator, item_id],
        ).fetchall()
        return bool(row)

    def linked_evidence(
        self, city: str, year: int, indicator: str, opd: str | None = None
    ) -> list[tuple[str, EvidenceItem]]:
        """(OPD code, item) of every item linked now to the answer (of one OPD), by OPD, oldest link first."""
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT l.opd_code, i.id, i.city_code, i.opd_code, i.year, i.kind, i.sha256, i.url,
                          i.original_name, i.mime, i.size, i.flags, i.uploaded_by, i.uploaded_at
                   FROM evidence_links l JOIN evidence_items i ON i.id = l.item_id
                   WHERE l.city_code = ? AND l.year = ? AND l.indicator_code = ? AND l.unlinked_at IS NULL
                     AND (? IS NULL OR l.opd_code = ?)
                   ORDER BY l.opd_code, l.linked_at, i.id""",
                [city, year, indicator, opd, opd],
            ).fetchall()
        return [(str(r[0]), _item(r[1:])) for r in rows]

    def linked_evidence_of_year(
        self, city: str, year: int, opd: str | None = None
    ) -> list[tuple[str, str, EvidenceItem]]:
        """(OPD code, indicator, item) of every item linked now to the city-year's answers (of one
        OPD): the form's cards and the review's flag read them at once, not per indicator."""
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT l.opd_code, l.indicator_code, i.id, i.city_code, i.opd_code, i.year, i.kind,
                          i.sha256, i.url, i.original_name, i.mime, i.size, i.flags, i.uploaded_by,
                          i.uploaded_at
                   FROM evidence_links l JOIN evidence_items i ON i.id = l.item_id
                   WHERE l.city_code = ? AND l.year = ? AND l.unlinked_at IS NULL
                     AND (? IS NULL OR l.opd_code = ?)
                   ORDER BY l.opd_code, l.indicator_code, l.linked_at, i.id""",
                [city, year, opd, opd],
            ).fetchall()
        return [(str(r[0]), str(r[1]), _item(r[2:])) for r in rows]

    def evidence_blob_mismatches(self, cur: Cursor | None = None) -> list[str]:
        """SHA-256 keys of blobs whose content does not hash to them (or whose size is wrong),
        and of file items whose blob is missing: a restore refuses a backup with any."""
        with self.cursor() as c:
            rows = (
                (cur or c)
                .execute(
                    """SELECT sha256 FROM evidence_blobs
                       WHERE sha256(content) <> sha256 OR octet_length(content) <> size
                       UNION
                       SELECT i.sha256 FROM evidence_items i
                       WHERE i.kind = 'file' AND NOT EXISTS (SELECT 1 FROM evidence_blobs b WHERE b.sha256 = i.sha256)
                       ORDER BY 1"""
                )
                .fetchall()
            )
        return [str(r[0]) for r in rows]
