"""Read-models never write; the downloads the pages offer are audited by metrics.exports
(issue 16, point 4: page caches keyed on the data version must survive a reader reading)."""

from __future__ import annotations

import csv
import dataclasses
import io

import pandas as pd
import pytest

from metrics import exports, views
from metrics.auth import ANONYMOUS, User
from metrics.demo import YEARS
from metrics.errors import PermissionDenied

CITY = "3299"
YEAR = YEARS[-1]
VIEWER = User("tamu", "viewer")


def _same(a: object, b: object) -> bool:
    """Equality that looks inside dataclasses and compares DataFrames by value."""
    if isinstance(a, pd.DataFrame | pd.Series):
        return isinstance(b, type(a)) and a.equals(b)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, list | tuple):
        return isinstance(b, type(a)) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b) or (a != a and b != b)  # NaN equals NaN here


READS = {
    "overview": lambda s: views.overview(s, CITY, YEAR, "id", user=VIEWER),
    "rankings": lambda s: views.rankings(s, CITY, YEAR, None, None, "id", user=VIEWER),
    "rankings_file": lambda s: views.rankings_file(s, CITY, YEAR, None, None, "id", "city_csv", user=VIEWER),
    "compare": lambda s: views.compare(s, None, None, None, "id", CITY, user=VIEWER),
    "drilldown": lambda s: views.drilldown(s, CITY, YEAR, "id", user=VIEWER),
    "completeness": lambda s: views.completeness(s, CITY, YEAR, "en", user=VIEWER),
    "matrix": lambda s: views.matrix(s, CITY, YEAR, "id", user=VIEWER),
}


@pytest.mark.parametrize("name", list(READS))
def test_a_read_model_read_twice_gives_the_same_answer_and_writes_nothing(demo_store, name):
    audit, version = demo_store.audit_count(), demo_store.data_version()
    first = READS[name](demo_store)
    second = READS[name](demo_store)
    assert _same(first, second)
    assert demo_store.audit_count() == audit  # no audit row written by reading
    assert demo_store.data_version() == version  # so no cached page is emptied by it


def test_the_rankings_download_is_audited_by_the_export_not_by_the_read_model(demo_store):
    before = demo_store.audit_count()
    data = exports.rankings_download(demo_store, CITY, YEAR, None, None, "id", "opd_csv", user=VIEWER)
    assert data == views.rankings_file(demo_store, CITY, YEAR, None, None, "id", "opd_csv", user=VIEWER)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) > 1
    assert demo_store.audit_count() == before + 1  # the download, not the read-model call after it
    last = demo_store.audit_rows()[-1]
    assert (last.username, last.action, last.object) == ("tamu", "export", f"rankings:{YEAR}/{CITY}")
    with pytest.raises(PermissionDenied):
        exports.rankings_download(demo_store, CITY, YEAR, None, None, "id", "xlsx", user=ANONYMOUS)
    assert demo_store.audit_count() == before + 1
