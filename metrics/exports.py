"""Downloads the read pages offer, made on request and recorded in the audit log.

The read-models (views.py) only read, so that drawing a page writes nothing: no audit row, no
lock, no change of the data version the dashboard's caches are keyed on. Handing a table to
someone is another matter: who took which table is audited, like every other export
(reports.export for the CLI). This module joins the two: it makes the file from the same
read-model the page draws and writes the audit row in its own transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrics import views
from metrics.auth import User

if TYPE_CHECKING:
    from metrics.storage import Storage


def rankings_download(
    store: Storage,
    city: str | None,
    year: int | None,
    province: str | None,
    category: str | None,
    lang: str,
    part: str,
    *,
    user: User,
) -> bytes:
    """One of the rankings page's downloads (views.RANKING_FILES), audited as an export.

    Anyone who may read the rankings may download what they see (a refusal raises before anything
    is written); the audit row records who took which table.
    """
    data = views.rankings_file(store, city, year, province, category, lang, part, user=user)
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "export",
            f"rankings:{year}/{city or '*'}",
            None,
            {"format": part, "bytes": len(data), "province": province, "category": category},
        )
    return data
