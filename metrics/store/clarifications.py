"""Clarification requests between assessors and OPDs (issue 18): each request and every event of
its loop (asked, answered, closed), so that the whole exchange can be read back."""

from __future__ import annotations

from metrics.store.connection import Connection


class Clarifications(Connection):
    """clarifications, clarification_events."""
