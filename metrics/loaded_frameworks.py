"""The frameworks loaded into the store, as Framework objects.

The store keeps each loaded framework's source text and returns it as text
(`Storage.framework_sources`); it parses no YAML, so a second backend need not either. This is
the one place that turns stored sources into Framework objects, each source parsed once per
process (a framework is never edited once loaded: a change is a new load with a new sequence
number and new text).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from metrics.framework import Framework, parse_framework

if TYPE_CHECKING:
    from metrics.storage import Storage

# Parsed frameworks by source text. Every reader of a process shares them, as it shared the
# store's per-connection cache before; a few national frameworks a year fit many times over.
_parsed = lru_cache(maxsize=64)(parse_framework)


def loaded_frameworks(store: Storage) -> list[tuple[Framework, int]]:
    """Every loaded framework with its load sequence number, oldest first."""
    return [(_parsed(source), seq) for seq, source in store.framework_sources()]
