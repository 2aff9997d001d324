"""Progress of long core work, reported to whoever asked for it.

Loading a framework (with the score rebuild), making or restoring a backup and drawing a report
card can take seconds; a person watching a page that does not move clicks again or leaves. The
core never draws anything (no streamlit here), so a long operation takes an optional
`progress(step, fraction)` callable and calls it at its real steps: `step` is a key of the message
catalogue (metrics.i18n, "progress.*"), shown in the reader's language by the caller, and
`fraction` runs from 0 to 1, never goes back, and ends at exactly 1.0 when the work is done.
The dashboard passes a callable that updates an st.status; the CLI passes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]

DONE = "progress.done"


def report(progress: Progress | None, step: str, fraction: float) -> None:
    """Tell `progress` (if any) that `step` has started, `fraction` of the work being behind us."""
    if progress is not None:
        progress(step, min(1.0, max(0.0, float(fraction))))


def done(progress: Progress | None) -> None:
    report(progress, DONE, 1.0)
