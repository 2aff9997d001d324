"""Evidence files and links (issue 18): the content-addressed file store (evidence_blobs, each
file once by SHA-256), the items an OPD gave (evidence_items), their links to answers
(evidence_links, never deleted: unlinking stamps them) and the assessors' checks of required
evidence (evidence_checks)."""

from __future__ import annotations

from metrics.store.connection import Connection


class Evidence(Connection):
    """evidence_blobs, evidence_items, evidence_links, evidence_checks."""
