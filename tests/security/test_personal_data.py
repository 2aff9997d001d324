"""No personal data: the store holds aggregates only. A national ID (NIK) or family card (KK)
number, as a column or in any cell, refuses the whole file with a message saying why."""

from __future__ import annotations

import io

import openpyxl
import pytest

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from tests.security.conftest import GOOD_ROW, HEAD, long_xlsx, reject, wb_bytes

NIK = "3273012345678901"
KK = "3273010101120003"


def _csv(header, row) -> bytes:
    return (",".join(header) + "\n" + ",".join("" if v is None else str(v) for v in row) + "\n").encode()


@pytest.mark.parametrize("column", ["nik", "NIK", "no_kk", "Nomor KK", "ktp"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_personal_column_refused(mini, fmt, column):
    header, row = HEAD + [column], list(GOOD_ROW) + ["x"]
    data = _csv(header, row) if fmt == "csv" else wb_bytes(long_xlsx(rows=[row], header=header))
    r = reject(mini, data, f"pribadi.{fmt}")
    p = next(p for p in r.problems if p.key == "file.personal_data")
    assert p.row == 1 and p.column in (column, "H")
    assert "NIK" in p.message("id") and "agregat" in p.message("id") and "aggregates only" in p.message("en")


@pytest.mark.parametrize("value", [NIK, KK, f"NIK: {NIK}", "3273 0123 4567 8901", "3273.0123.4567.8901",
                                   int(NIK)])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_personal_number_in_a_cell_refused(mini, fmt, value):
    row = list(GOOD_ROW)
    row[HEAD.index("note")] = value
    data = _csv(HEAD, row) if fmt == "csv" else wb_bytes(long_xlsx(rows=[row]))
    r = reject(mini, data, f"pribadi.{fmt}")
    (p,) = r.problems
    assert p.key == "file.personal_data" and p.row == 2
    assert p.column == ("note" if fmt == "csv" else "G")


def test_personal_number_in_the_template_refused(mini):
    from metrics.templates import build_template

    fw = mini.frameworks()[0][0]
    city = next(c for c in mini.cities() if c.city_code == "0101")
    wb = openpyxl.load_workbook(io.BytesIO(build_template(fw, city, mini.opd_map()[("0101", "01")], 2023)))
    wb["Penilaian"]["J11"] = 3
    wb["Penilaian"]["K11"] = f"Warga NIK {NIK}"
    r = reject(mini, wb_bytes(wb), "templat.xlsx")
    assert [(p.key, p.row, p.column) for p in r.problems] == [("file.personal_data", 11, "K")]


def test_ordinary_long_numbers_are_not_personal(mini):
    """Control: budget figures and 15-digit numbers pass, so the rule is not 'any big number'."""
    row = list(GOOD_ROW)
    row[HEAD.index("evidence")] = "Anggaran Rp 125000000000000 (15 digit)"
    assert ingest_bytes(mini, SYSTEM, _csv(HEAD, row), "ok.csv").accepted
