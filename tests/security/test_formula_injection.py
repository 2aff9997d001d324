"""Formula injection: no export or template the product writes contains a formula cell, or a
text cell that a spreadsheet program would run as one.

Payloads start with =, +, -, @, tab or carriage return, also after leading spaces. CSV and the
export workbooks carry them with a leading apostrophe (metrics.reports.neutralise); the OPD
template keeps the exact text (it is re-uploaded) as a string cell with Excel's quote prefix.
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from metrics import reports
from metrics.auth import SYSTEM
from metrics.governance import load_registry_bytes
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from metrics.registry import City, Opd
from metrics.templates import build_template

PAYLOADS = [
    "=1+1",
    '=HYPERLINK("http://x","klik")',
    "+SUM(A1)",
    "-2+3",
    "@cmd",
    "\tTAB",
    "\rCR",
    "  =lead",
    " @x",
    "   +1",
    " -1+1",
    "=cmd|' /C calc'!A0",
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _dangerous(text: str) -> bool:
    return text.startswith(("\t", "\r")) or text.lstrip(" ").startswith(DANGEROUS)


def _check_xlsx(data: bytes, allow_quote_prefix: bool = False) -> list[str]:
    """Every text cell of every sheet; asserts no formula cell and nothing dangerous unescaped."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    texts = []
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    texts.append(c.value)
                    if _dangerous(c.value):
                        assert allow_quote_prefix and c.quotePrefix, (ws.title, c.coordinate, repr(c.value))
    return texts


NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _check_csv(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for r in rows:
        for v in r:
            # a plain negative number such as -2 is a number to a spreadsheet, not a formula
            assert not _dangerous(v) or NUMBER.fullmatch(v), repr(v)
    return rows


@pytest.fixture
def hostile_store(mini):
    """OPD names and evidence made of the payloads (CR becomes a space in the registry CSV)."""
    lines = "".join(
        f'0101,{n:02d},DLH,"{p.replace(chr(13), " ").replace(chr(34), chr(34) * 2)}"\n'
        for n, p in enumerate(PAYLOADS, start=10)
    )
    load_registry_bytes(mini, SYSTEM, ("city_code,opd_code,opd_type,name\n" + lines).encode(), "opd.csv")
    body = "".join(
        f'0101,{n:02d},2023,E1,{n % 5},"{p.replace(chr(34), chr(34) * 2)}","{p.replace(chr(34), chr(34) * 2)}"\n'
        for n, p in enumerate(PAYLOADS, start=10)
    )
    r = ingest_bytes(
        mini,
        SYSTEM,
        ("city_code,opd_code,year,indicator_code,level,evidence,note\n" + body).encode(),
        "bukti.csv",
    )
    assert r.accepted, r.to_dict("en")
    return mini


@pytest.mark.parametrize("p", PAYLOADS)
def test_neutralise_each_payload(p):
    out = reports.neutralise(p)
    assert out == "'" + p and not _dangerous(out)


def test_exports_xlsx_and_csv(hostile_store):
    data = reports.export(hostile_store, SYSTEM, 2023, "0101", "xlsx")
    texts = _check_xlsx(data)
    assert "'=1+1" in texts and "'-2+3" in texts  # the payloads are there, escaped
    for city in ("0101", None):
        rows = _check_csv(reports.export(hostile_store, SYSTEM, 2023, city, "csv"))
        assert len(rows) > 1


def test_tables_to_xlsx_and_table_to_csv_directly():
    t = reports.TableOut("=Sheet", ["=h", "+h"], [[p, 1.5, None, -2] for p in PAYLOADS])
    texts = _check_xlsx(reports.tables_to_xlsx([t]))
    assert sum(1 for x in texts if x.startswith("'")) == len(PAYLOADS) + 2
    rows = _check_csv(reports.table_to_csv(t))
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert rows[1][1:] == ["1.5", "", "-2"]  # numbers are numbers, not escaped text


def test_template_has_no_formula_and_round_trips_the_text(hostile_store):
    fw = loaded_frameworks(hostile_store)[0][0]
    city = City("0101", '=HYPERLINK("http://x","k")', "Jawa Barat", "kecil", 1)
    for n, p in enumerate(PAYLOADS, start=10):
        opd = Opd("0101", f"{n:02d}", "DLH", p)
        data = build_template(fw, city, opd, 2023, prefill={"E1": (2, p, p)})
        texts = _check_xlsx(data, allow_quote_prefix=True)
        # kept exactly (as an inert string cell), so a re-upload keeps the value; XML itself
        # reads a bare carriage return back as a line feed
        assert p in texts or p.replace("\r", "\n") in texts
        wb = openpyxl.load_workbook(io.BytesIO(data))
        wb["Penilaian"]["J11"] = 2
        buf = io.BytesIO()
        wb.save(buf)
        r = ingest_bytes(hostile_store, SYSTEM, buf.getvalue(), "templat.xlsx")
        assert r.accepted, r.to_dict("en")
        row = hostile_store.submission_rows(r.submission_ids[0]).to_dict("records")[0]
        assert row["evidence"] == p.strip() and row["note"] == p.strip()


# --------------------------------------------------------------------------- the dashboard's tables


def test_table_toolbar_csv_download_is_off():
    """Streamlit's own 'Download as CSV' (table toolbar) writes cells as they are, so it is off;
    tests/security/test_no_network.py checks in Chromium that the button is gone."""
    import tomllib

    from tests.conftest import ROOT

    with (ROOT / ".streamlit" / "config.toml").open("rb") as f:
        assert tomllib.load(f)["client"]["disableDataExport"] is True


def test_the_pages_table_csv_is_neutralised(hostile_store):
    """What replaces it (ui.charts.table's `download`): the verification answers with the
    payloads as evidence and note, every one written inert, the numbers left numbers."""
    import pandas as pd

    from metrics import review
    from ui import charts

    rv = review.review(hostile_store, SYSTEM, "0101", 2023, "en")
    answers = rv.answers_shown(False)
    rows = _check_csv(
        charts.table_csv(
            answers, {"opd_name": "OPD", "level": "Level", "evidence": "Evidence", "note": "Note"}
        )
    )
    assert rows[0] == ["OPD", "Level", "Evidence", "Note"]
    evidence = {r[2] for r in rows[1:]}
    # stored stripped (so "\tTAB" is plain "TAB"); every one still formula-like is escaped
    assert {"'" + p.strip() for p in PAYLOADS if reports.formula_like(p.strip())} <= evidence
    assert all(r[1].isdigit() for r in rows[1:])
    assert _check_csv(charts.table_csv(pd.DataFrame({"a": [None, float("nan")]}), {"a": "A"})) == [
        ["A"],
        [""],
        [""],
    ]
