"""Scores of a year under a candidate framework, from the kept per-indicator facts: the what-if.

Nothing is written: the candidate's framework rows are handed to DuckDB as in-memory tables and
shadow the stored framework of that year inside one read query, which runs the scoring SQL of
metrics.store.score_sql over score_facts re-levelled under the candidate (no pass over the raw
answers), so the preview follows the very rules a loaded framework would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metrics.store.connection import Connection

if TYPE_CHECKING:
    from metrics.framework import Framework


class WhatIf(Connection):
    """The what-if read (see the module docstring)."""

    def whatif_score_table(self, fw: Framework, year: int) -> dict[str, list[Any]]:
        """Columns as score_table() gives them, of every city scored in `year`, as they would be
        with `fw` loaded to apply from `year`."""
        raise NotImplementedError  # filled by the what-if work in this change
