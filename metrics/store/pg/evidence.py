"""Evidence files and links on PostgreSQL: the statements PostgreSQL spells otherwise.

The files themselves are BYTEA rows of evidence_blobs (within the upload size caps of
metrics.evidence), so every dashboard process serves every file; they go to and from the server
as bytes (metrics.store.pg.bytea). Several processes link at
once: a link in force is unique by a partial index (metrics.store.pg.schema), so two
transactions linking the same item to the same answer make one link, not two.
"""

from __future__ import annotations

from metrics.store.connection import utcnow
from metrics.store.evidence import Evidence
from metrics.store.pg import bytea
from metrics.store.pg.connection import PgConnection, PgCursor


class PgEvidence(Evidence, PgConnection):
    """evidence_blobs, evidence_items, evidence_links on PostgreSQL."""

    def put_evidence_blob(self, cur: PgCursor, sha256: str, mime: str, content: bytes) -> bool:  # type: ignore[override]
        if cur.execute("SELECT 1 FROM evidence_blobs WHERE sha256 = ?", [sha256]).fetchone():
            return False  # kept already: the content is not sent again
        return bool(
            bytea.run(
                cur,
                "INSERT INTO evidence_blobs VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
                [sha256, mime, len(content), content, utcnow()],
            )
        )

    def evidence_blob(self, sha256: str) -> bytes | None:
        return bytea.read(self, "SELECT content FROM evidence_blobs WHERE sha256 = ?", [sha256])

    def link_evidence(  # type: ignore[override]
        self, cur: PgCursor, city: str, opd: str, year: int, indicator: str, item_id: int, username: str
    ) -> bool:
        return bool(
            cur.execute(
                """INSERT INTO evidence_links VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)
                   ON CONFLICT (city_code, opd_code, year, indicator_code, item_id) WHERE unlinked_at IS NULL
                   DO NOTHING RETURNING item_id""",
                [city, opd, year, indicator, item_id, username, utcnow()],
            ).fetchall()
        )

    def evidence_blob_mismatches(self, cur: PgCursor | None = None) -> list[str]:  # type: ignore[override]
        sql = """SELECT sha256 FROM evidence_blobs
                 WHERE encode(sha256(content), 'hex') <> sha256 OR octet_length(content) <> size
                 UNION
                 SELECT i.sha256 FROM evidence_items i
                 WHERE i.kind = 'file' AND NOT EXISTS (SELECT 1 FROM evidence_blobs b WHERE b.sha256 = i.sha256)
                 ORDER BY 1"""
        if cur is not None:
            return [str(r[0]) for r in cur.execute(sql).fetchall()]
        with self.cursor() as own:
            return [str(r[0]) for r in own.execute(sql).fetchall()]
