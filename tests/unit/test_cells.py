"""The one rule for blank cells and levels (metrics.cells), and the three readers that use it.

An upload (metrics.ingest), the browser form (metrics.entry) and the assessor's review
(metrics.review) used to parse levels each their own way: the form showed level 7 on a 0-4 scale
that an upload refuses, crashed on "-+3" or "²", and the review took "0_1" as level 1 and called a
decimal comma "outside the scale". The agreement tests below run each reader's real path on the
same cells and fail on that old code.
"""

from __future__ import annotations

import io
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from metrics import entry, ingest, review
from metrics.auth import User
from metrics.cells import CellError, blank, editor_value, missing, parse_level
from metrics.errors import ValidationError
from tests.conftest import opd_user

# cell -> the level it is, None when blank, or the refusal's key; scale 0-4
LEVELS = [
    (0, 0),
    (4, 4),
    (3.0, 3),  # Excel stores every number as a float
    ("3", 3),
    (" 3 ", 3),
    ("+3", 3),
    ("\xa03\xa0", 3),  # no-break spaces pasted from the web
    (None, None),
    ("", None),
    ("   ", None),
    ("\xa0", None),
    ("\t\n", None),
    (5, "cell.level_range"),
    (-1, "cell.level_range"),
    ("7", "cell.level_range"),
    (1e20, "cell.level_range"),
    (3.5, "cell.level_not_int"),
    ("3.5", "cell.level_not_int"),
    ("3.0", "cell.level_not_int"),  # text, not a number Excel wrote: as an upload has always read it
    ("0_1", "cell.level_not_int"),  # int() would take it as 1
    ("-+3", "cell.level_not_int"),
    ("²", "cell.level_not_int"),  # str.isdigit() says yes, int() fails
    ("tiga", "cell.level_not_int"),
    (math.inf, "cell.level_not_int"),
    (math.nan, "cell.level_not_int"),  # a NaN in a file is refused; the data editor's NaN is blank
    ("3,5", "cell.level_decimal_comma"),
    ("-0,5", "cell.level_decimal_comma"),
    (True, "cell.boolean"),
    (False, "cell.boolean"),
    ("TRUE", "cell.boolean"),
    ("salah", "cell.boolean"),
]


def _verdict(v: object) -> object:
    try:
        return parse_level(v, 0, 4)
    except CellError as e:
        return e.key


@pytest.mark.parametrize("cell, expected", LEVELS, ids=[repr(c) for c, _ in LEVELS])
def test_parse_level(cell, expected):
    assert _verdict(cell) == expected


def test_parse_level_params_name_the_value_and_scale():
    with pytest.raises(CellError) as exc:
        parse_level("3,5", 1, 5)
    assert exc.value.params == {"value": "3,5", "min": 1, "max": 5}
    with pytest.raises(CellError) as exc:
        parse_level(6, 1, 5)
    assert exc.value.params == {"value": 6, "min": 1, "max": 5}
    assert parse_level(1, 1, 5) == 1 and _verdict(0) == 0


@pytest.mark.parametrize(
    "cell, is_blank",
    [
        (None, True),
        ("", True),
        ("  ", True),
        ("\xa0", True),
        ("\u3000\t", True),
        ("0", False),
        (0, False),
        (0.0, False),
        (False, False),
        ("-", False),
        ("\u200b", False),
    ],
)
def test_blank(cell, is_blank):
    assert blank(cell) is is_blank


def test_editor_values_become_plain_values():
    assert all(missing(v) for v in (None, math.nan, pd.NA, pd.NaT, np.float64("nan")))
    assert not any(missing(v) for v in (0, "", [1, 2], "x"))
    assert editor_value(pd.NA) is None and editor_value(math.nan) is None
    got = editor_value(np.int64(3))
    assert got == 3 and type(got) is int
    assert editor_value(np.bool_(True)) is True  # then refused as a boolean, as in an upload
    assert editor_value(" 3 ") == " 3 "


# ---------------------------------------------------------------------------------- agreement
# The same level cell through an upload, the form and the review. Cells a person can type into
# the form or the review table (text, numbers, a true/false); the form's CSV carries them as text.

AGREE = [
    3,
    3.0,
    "3",
    " +3 ",
    7,
    "7",
    3.5,
    "3.5",
    "3,5",
    "0_1",
    "-+3",
    "²",
    True,
    "BENAR",
    "tiga",
    "",
    " ",
    None,
]

ASSESSOR = User("pn", "assessor")


def _xlsx(level: object) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["city_code", "opd_code", "year", "indicator_code", "level", "evidence", "note"])
    ws.append(["0101", "01", 2023, "G1", level, None, None])
    ws.append(["0101", "01", 2023, "G2", 2, None, None])  # so that a blank G1 still leaves a file
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(store, level: object) -> object:
    """The level an upload stores for G1 (None: unanswered), or the keys it refuses it with."""
    parsed = ingest.parse_upload(_xlsx(level), "a.xlsx", ingest.load_context(store))
    if parsed.result.problems:
        return {p.key for p in parsed.result.problems}
    assert parsed.batch is not None
    got = dict(zip(parsed.batch.a_code, parsed.batch.a_level))
    return None if "G1" not in got else int(got["G1"])


@pytest.mark.parametrize("cell", AGREE, ids=[repr(c) for c in AGREE])
def test_form_and_review_read_a_level_as_an_upload_does(mini, cell):
    upload = _upload(mini, cell)
    if isinstance(upload, set):
        assert len(upload) == 1  # one refusal, of the level cell

    # the form: what saving it would refuse, and the level the form then shows
    user = opd_user("0101", "01")
    rows = [{"code": "G1", "level": cell, "evidence": "", "note": ""}, {"code": "G2", "level": 2}]
    saved = entry.save_draft(mini, user, "0101", "01", 2023, rows)
    form = entry.form(mini, user, "0101", "01", 2023)
    shown = form.rows.set_index("code")["level"]["G1"]
    shown = None if pd.isna(shown) else int(shown)
    assert next(c.level for g in form.pillars for c in g.cards if c.code == "G1") == shown
    if isinstance(upload, set):
        assert {p.key for p in saved.problems} == upload
        assert shown is None  # a level the upload refuses is never shown as an answer
    else:
        assert saved.problems == [] and shown == upload

    # the review: the same refusal, or the same level recorded
    try:
        review.apply(mini, ASSESSOR, "0101", 2023, [{"code": "G1", "verified_level": cell}])
    except ValidationError as exc:
        assert isinstance(upload, set) and {exc.key} == upload
    else:
        verified = {v["indicator_code"]: int(v["level"]) for v in mini.verification_rows("0101", 2023)}
        assert verified.get("G1") == upload
