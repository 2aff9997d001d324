"""Interview sessions (issue 18): when assessors meet a city's OPDs, where, about which indicators."""

from __future__ import annotations

from metrics.store.connection import Connection


class Interviews(Connection):
    """interviews."""
