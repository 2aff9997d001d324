"""Exports: neutralised text, no formula cells, role checks, audit rows."""

import csv
import io

import openpyxl
import pytest

from metrics import reports
from metrics.auth import SYSTEM, User
from metrics.errors import PermissionDenied
from metrics.governance import load_registry_bytes
from metrics.ingest import ingest_bytes
from tests.conftest import ASSESS_CSV

pytestmark = pytest.mark.both_backends

PAYLOADS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "  =lead", " @x"]


@pytest.mark.parametrize("p", PAYLOADS)
def test_neutralise(p):
    assert reports.neutralise(p) == "'" + p


def test_neutralise_leaves_safe_values():
    assert [reports.neutralise(v) for v in ("Kota A", 3.5, None, -2, "a=b")] == [
        "Kota A",
        3.5,
        None,
        -2,
        "a=b",
    ]


def test_export_with_hostile_names(mini):
    names = "".join(f"0101,{n:02d},DLH,{p.replace(chr(13), ' ')}\n" for n, p in enumerate(PAYLOADS, start=10))
    load_registry_bytes(mini, SYSTEM, ("city_code,opd_code,opd_type,name\n" + names).encode(), "o.csv")
    ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv")
    n_audit = mini.audit_count()
    data = reports.export(mini, SYSTEM, 2023, "0101", "xlsx")
    assert mini.audit_count() == n_audit + 1 and mini.audit_rows()[-1].action == "export"
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=1+1" in texts
    rows = list(csv.reader(io.StringIO(reports.export(mini, SYSTEM, 2023, None, "csv").decode("utf-8-sig"))))
    assert rows[0][0] == "Kode Kota" and any(r[0] == "0101" for r in rows[1:])


def test_export_refused_for_viewer_and_other_city(mini):
    with pytest.raises(PermissionDenied):
        reports.export(mini, User("v", "viewer"), 2023, None, "csv")
    with pytest.raises(PermissionDenied):
        reports.export(mini, User("e", "executive", "0202"), 2023, "0101", "csv")
