"""What-if for a framework change: every city's index, band and rank for a loaded year under a
candidate framework, beside today's, without loading it.

The re-score runs in the store (metrics.store.whatif) over the kept per-indicator facts with
the candidate shadowing the year's framework, so it follows the very rules a loaded framework
would; nothing is stored, and the preview is audited as a read.
"""

from __future__ import annotations

# Entry points (filled in by the issue-20 work):
#   whatif(store, user, candidate: Framework | str, year, lang="id") -> WhatIfResult
#   edited_framework(base: Framework, edits: FrameworkEdits) -> Framework  (the page's edits)
#   framework_of_year(store, year) -> Framework
