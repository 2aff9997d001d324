"""The one-pass RE2 survey of a sheet (readers._survey) lets the exact `re` checks be skipped, so
it must flag every sheet that any exact check would flag, under any limits. A miss would let a
formula, an error cell, a hidden position or a reference past the limits through unexamined.
"""

from __future__ import annotations

import io
import random
import zipfile
import zlib

import pytest

from metrics import readers as R
from metrics.readers import Limits

# fragments around every boundary the exact patterns draw: prefixes, spacing (\v and \f too,
# which RE2's \s lacks), quotes, case, $ anchors, limits' neighbours, escaped references
TOKENS = [
    b"<c",
    b"<row",
    b"<f",
    b"<x:c",
    b"<x:row",
    b"<x:f",
    b"<col",
    b"<formula1>",
    b"<v>",
    b"</c>",
    b"</row>",
    b" ",
    b"  ",
    b"\t",
    b"\n",
    b"\r",
    b"\v",
    b"\f",
    b"/",
    b">",
    b"/>",
    b"r",
    b"R",
    b"r=",
    b" r=",
    b"=",
    b'"',
    b"'",
    b"t",
    b"t=",
    b'"e"',
    b"'e'",
    b"e",
    b"&",
    b"&#65;",
    b"&amp;",
    b"A",
    b"a",
    b"AD",
    b"AE",
    b"ae",
    b"XFD",
    b"$",
    b"0",
    b"1",
    b"9",
    b"00",
    b"160",
    b"2000",
    b"2001",
    b"1999",
    b"1048576",
    b"_",
    b"x",
    b":",
    b's="7"',
    b'<c r="A1">',
    b'<row r="1">',
    b'<c r="AD2000"/>',
    b'<c r="AE1"/>',
    b'<c r="A2001"/>',
    b"\xc3\xa9",
    b"\xff",
]


def exact_hit(xml: bytes, limits: Limits) -> bool:
    """What the exact checks look for (check_sheet_shape and scan_sheet_xml before the survey)."""
    return bool(
        R._PREFIXED_TAG.search(xml)
        or R._NOT_REF_FIRST.search(xml)
        or R._FORMULA_RE.search(xml)
        or R._word_search(R._TYPE_E_SCAN, xml)
        or R._word_search(R._ESCAPED_SCAN, xml)
        or R._word_search(R._pattern(limits), xml)
    )


@pytest.mark.parametrize(
    "limits", [R.DEFAULT_LIMITS, Limits(max_rows=50, max_cols=5), Limits(max_rows=9, max_cols=27)]
)
def test_survey_flags_whatever_an_exact_check_flags(limits):
    rng = random.Random(1729)
    hits = misses = 0
    for _ in range(25_000):
        xml = b"".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 10)))
        if exact_hit(xml, limits):
            hits += 1
            assert R._survey(xml, limits), xml
        elif not R._survey(xml, limits):
            misses += 1
    # the sample is meaningful: plenty of flagged sheets, and plenty the survey lets skip
    assert hits > 5_000 and misses > 2_000, (hits, misses)


def test_our_template_needs_no_exact_scan(mini):
    """The fast path is the usual path: a filled template of ours is not 'unusual'."""
    from metrics import templates as tpl
    from tools import fuzz

    pkg = R.open_xlsx(fuzz.seed_files(mini)["template.xlsx"], "t.xlsx")
    assert not R._survey(pkg.part(pkg.sheets[tpl.SHEET]), R.DEFAULT_LIMITS)


def test_every_hostile_sheet_is_flagged():
    """Each crafted sheet of the security suite that an exact check refuses is also flagged."""
    from tests.security import hostile

    flagged = 0
    for name, (build, _key) in hostile.LIMIT_CASES.items():
        data = build()
        if not data.startswith(b"PK"):
            continue  # the CSV cases
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if hostile.SHEET not in z.namelist() or z.getinfo(hostile.SHEET).file_size > 60_000_000:
                continue
            try:
                xml = z.read(hostile.SHEET)
            except (zipfile.BadZipFile, zlib.error):
                continue  # forged containers: refused before any sheet is read
        if exact_hit(xml, R.DEFAULT_LIMITS):
            flagged += 1
            assert R._survey(xml, R.DEFAULT_LIMITS), name
    assert flagged >= 5, flagged
