"""The sheet checks are one list (readers.SHEET_CHECKS): each check's byte patterns make the RE2
prefilter, its exact check runs on what a real XML parser reads, and these tests are
parametrised by the same list. They prove, per check, that the prefilter is never narrower
than the exact check (on generated sheets written every way XML allows), that a check lacking
either half fails, and that the parser-based checks catch the shapes the old tag regexes missed.
"""

from __future__ import annotations

import functools
import io
import random
import zipfile
import zlib
from collections import Counter

import pytest

from metrics import i18n
from metrics import readers as R
from metrics.errors import Rejected
from metrics.readers import SHEET_CHECKS, Limits, SheetCheck
from tests.security.conftest import GOOD_ROW, long_xlsx, reject, wb_bytes, with_part

EXAMPLE_LIMITS = Limits(max_rows=9, max_cols=5)  # the limits SheetCheck.example is written for
LIMITS = [EXAMPLE_LIMITS, Limits(max_rows=50, max_cols=27), R.DEFAULT_LIMITS]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PREFIXES = ["", "", "", "x:", "é:", "s_1.a-b:"]
ROOT = f'<worksheet xmlns="{MAIN}"' + "".join(f' xmlns:{p[:-1]}="{MAIN}"' for p in PREFIXES if p) + ">"


# ------------------------------------------------------------------ generated sheets
def _attrs(rng: random.Random, attrs: dict[str, str]) -> str:
    """Attributes in a random order, quotes and spacing (values hold neither quote)."""
    items = list(attrs.items())
    rng.shuffle(items)
    out = []
    for name, value in items:
        q = "'" if "'" not in value and (rng.random() < 0.3 or '"' in value) else '"'
        eq = rng.choice(["=", "=", " = ", "=\n", "\t="])
        out.append(rng.choice([" ", " ", "  ", "\n", "\t", "\r\n"]) + name + eq + q + value + q)
    return "".join(out)


CELL_REFS = [
    "A1",
    "B2",
    "E9",
    "F1",
    "A10",
    "AA3",
    "AE1",
    "XFD1",
    "A2001",
    "a1",
    "$A$1",
    "5",
    "A",
    "",
    " A1",
    "A1 ",
    "&#65;1",
    "A&#49;",
    "&#x41;&#50;",
    "A>1",
    "A>&#49;",
    "'&#65;1",
    "A0",
    "A0002001",
    "Z" * 7 + "1",
]
ROW_REFS = ["1", "2", "9", "10", "51", "2001", "0", "05", "&#49;", "A5", "", " 3"]
TYPES = ["s", "n", "e", "&#101;", "&#x65;", " e", "str", "E", "inlineStr"]
TEXTS = ["1", "#N/A", "<![CDATA[</c><f>]]>", "&amp;&lt;c&gt;", "", "<!-- </c> -->", 't="e"']


def _cell(rng: random.Random, plain: bool, ref: str) -> str:
    p = "" if plain else rng.choice(PREFIXES)
    attrs: dict[str, str] = {}
    if plain or rng.random() < 0.8:
        attrs["r"] = ref if plain else rng.choice([ref, *CELL_REFS])
    if rng.random() < 0.5:
        attrs["t"] = rng.choice(["s", "n"] if plain else TYPES)
    if rng.random() < 0.3:
        attrs["s"] = "1"
    if not plain and rng.random() < 0.15:
        attrs["x:" + rng.choice("rts")] = rng.choice(CELL_REFS + TYPES)
    head = f"<{p}c" + (_attrs(rng, attrs) if not plain else "".join(f' {k}="{v}"' for k, v in attrs.items()))
    body = []
    for _ in range(rng.randint(0, 3)):
        q = rng.choice(PREFIXES) if not plain else ""
        kind = rng.random()
        if not plain and kind < 0.25:
            body.append(rng.choice([f"<{q}f>1+1</{q}f>", f"<{q}f/>", f'<{q}f\n t="shared" si="0"/>']))
        elif not plain and kind < 0.35:
            body.append(
                rng.choice(
                    ["<!-- </c><f>x</f> -->", "<?f x?>", f"<{q}is><{q}t>a<![CDATA[<c >]]></{q}t></{q}is>"]
                )
            )
        else:
            body.append(f"<{q}v>{rng.choice(TEXTS[:2] if plain else TEXTS)}</{q}v>")
    if not body and rng.random() < 0.5:
        return head + rng.choice(["/>", " />"])
    return head + ">" + "".join(body) + f"</{p}c>"


def sheet(rng: random.Random) -> bytes:
    """A well-formed sheet: plain (as Excel writes it), plain but for one row or cell, or with
    every row and cell written any way XML allows."""
    mode = rng.choice(["plain", "one", "one", "odd"])
    odd_one = rng.randrange(20)
    seen = 0

    def plain() -> bool:
        nonlocal seen
        seen += 1
        return mode == "plain" or (mode == "one" and seen - 1 != odd_one)

    out = [ROOT, "<sheetData>"]
    for n in range(1, rng.randint(0, 12) + 1):
        row_plain = plain()
        p = "" if row_plain else rng.choice(PREFIXES)
        attrs = {"r": str(n) if row_plain else rng.choice([str(n), str(n), *ROW_REFS])}
        if not row_plain and rng.random() < 0.2:
            del attrs["r"]
        if rng.random() < 0.3:
            attrs["spans"] = "1:5"
        if not row_plain and rng.random() < 0.1:
            attrs["x:r"] = rng.choice(ROW_REFS)
        tag = f"<{p}row" + (
            _attrs(rng, attrs) if not row_plain else "".join(f' {k}="{v}"' for k, v in attrs.items())
        )
        cells = "".join(_cell(rng, plain(), f"{R.col_letter(i)}{n}") for i in range(rng.randint(0, 8)))
        out.append(tag + ("/>" if not cells and rng.random() < 0.5 else f">{cells}</{p}row>"))
    if mode == "odd" and rng.random() < 0.2:
        out.append(rng.choice(["<!-- <c r='XFD1'/> -->", "<?x <f>?>"]))
    out.append("</sheetData>")
    if rng.random() < 0.3:
        out.append('<cols><col min="1" max="2"/></cols><rowBreaks count="0"/>')
    out.append("</worksheet>")
    return "".join(out).encode("utf-8")


@functools.cache
def sheets(n: int, seed: int = 1729) -> list[bytes]:
    rng = random.Random(seed)
    return [sheet(rng) for _ in range(n)]


# ------------------------------------------------------------------ the agreement of the two halves
def disagreements(
    checks: tuple[SheetCheck, ...], xmls: list[bytes], limits: Limits, found: Counter[str] | None = None
) -> list[str]:
    """Where a list's checks fail their contract: an exact check that does not find its own
    example, patterns that miss it, or a sheet an exact check finds and its patterns miss.
    `found` counts, by check, the sheets its exact check finds."""
    out = []
    for check in checks:
        own = R.sheet_findings(check.example, "t.xlsx", "S", EXAMPLE_LIMITS, checks)[check.name]
        if not own:
            out.append(f"{check.name}: its exact check does not find its example")
        if not R._survey(check.example, EXAMPLE_LIMITS, (check,)):
            out.append(f"{check.name}: its patterns miss its example")
        if {f.key for f in own} - set(check.keys):
            out.append(f"{check.name}: a finding with a key it does not list")
    for xml in xmls:
        findings = R.sheet_findings(xml, "t.xlsx", "S", limits, checks)
        for check in checks:
            if not findings[check.name]:
                continue
            if found is not None:
                found[check.name] += 1
            if not R._survey(xml, limits, (check,)):
                out.append(f"{check.name}: its exact check finds what its patterns miss: {xml!r}")
    return out


def unlisted_exact_checks(checks: tuple[SheetCheck, ...]) -> list[str]:
    """Exact checks written in readers (named _exact_*) that the list does not hold."""
    listed = {c.exact for c in checks}
    return sorted(n for n, f in vars(R).items() if n.startswith("_exact_") and f not in listed)


@pytest.mark.parametrize("check", SHEET_CHECKS, ids=lambda c: c.name)
def test_each_check_has_both_halves(check):
    assert disagreements((check,), [], EXAMPLE_LIMITS) == []
    assert R._survey(check.example, EXAMPLE_LIMITS)  # the generated prefilter holds its patterns
    for key in check.keys:
        assert i18n.has(key), key


@pytest.mark.parametrize("limits", LIMITS, ids=lambda lim: f"{lim.max_rows}x{lim.max_cols}")
@pytest.mark.parametrize("check", SHEET_CHECKS, ids=lambda c: c.name)
def test_prefilter_is_never_narrower_than_the_exact_check(check, limits):
    xmls, found = sheets(800), Counter[str]()
    assert disagreements((check,), xmls, limits, found) == []
    # the sample means something: this check finds some sheets (for a check that can under
    # these limits), and the whole prefilter lets the plain ones through unparsed
    if limits is EXAMPLE_LIMITS or check.name in ("escaped_ref", "error", "formula", "reference_beyond"):
        assert found[check.name] >= 20, found
    assert sum(not R._survey(x, limits) for x in xmls) >= 100


def test_generated_sheets_are_well_formed():
    for xml in sheets(300, seed=7):
        R.sheet_findings(xml, "t", "S", R.DEFAULT_LIMITS)  # raises Rejected on XML expat cannot read


def test_every_exact_check_is_in_the_list():
    assert unlisted_exact_checks(SHEET_CHECKS) == []
    assert len({c.name for c in SHEET_CHECKS}) == len(SHEET_CHECKS)


# ------------------------------------------------------------------ a check missing a half fails
def _hyperlink(el, limits):
    return R.Finding("file.xml_bad", params={"detail": "hyperlink"}) if el.name == "hyperlink" else None


def test_a_check_without_its_exact_half_fails():
    stub = SheetCheck(
        "hyperlink",
        R._fixed(b"<hyperlink"),
        lambda el, limits: None,
        ("hyperlink",),
        ("file.xml_bad",),
        True,
        R._DOC % b'<row r="1"/></sheetData><hyperlinks><hyperlink ref="A1"/></hyperlinks><sheetData>',
    )
    found = disagreements((*SHEET_CHECKS, stub), sheets(50), EXAMPLE_LIMITS)
    assert found == ["hyperlink: its exact check does not find its example"]


def test_a_check_without_its_prefilter_half_fails():
    narrow = SheetCheck(
        "hyperlink",
        R._fixed(b"<zzz"),
        _hyperlink,
        ("hyperlink",),
        ("file.xml_bad",),
        True,
        R._DOC % b'<row r="1"/></sheetData><hyperlinks><hyperlink ref="A1"/></hyperlinks><sheetData>',
    )
    assert "hyperlink: its patterns miss its example" in disagreements(
        (*SHEET_CHECKS, narrow), [], EXAMPLE_LIMITS
    )

    # patterns that find the example but not every way to write the same thing
    def inline_string(el, limits):
        return R.Finding("xlsx.formula", 1, 0) if el.ended and el.attrs.get("t") == "str" else None

    half = SheetCheck(
        "str",
        R._fixed(b't="str"'),
        inline_string,
        ("/c",),
        ("xlsx.formula",),
        False,
        R._DOC % b'<row r="1"><c r="A1" t="str"><v>x</v></c></row>',
    )
    found = disagreements((half,), sheets(400), EXAMPLE_LIMITS)
    assert found and all(f.startswith("str: its exact check finds what its patterns miss") for f in found)


def test_an_exact_check_left_out_of_the_list_fails():
    without = tuple(c for c in SHEET_CHECKS if c.name != "formula")
    assert unlisted_exact_checks(without) == ["_exact_formula"]


def test_the_list_drives_prefilter_and_exact_checks():
    """Take a check out of the list and neither half runs: the reader is driven by the list."""
    example = next(c for c in SHEET_CHECKS if c.name == "formula").example
    without = tuple(c for c in SHEET_CHECKS if c.name != "formula")
    assert R.check_sheet(example, "t", "S", EXAMPLE_LIMITS) == {(1, 0): ("formula", "")}
    assert not R._survey(example, EXAMPLE_LIMITS, without)
    assert R.sheet_findings(example, "t", "S", EXAMPLE_LIMITS, without).keys() == {c.name for c in without}
    assert R.check_sheet(example, "t", "S", EXAMPLE_LIMITS, without) == {}


# ------------------------------------------------------------------ shapes the tag regexes missed
SHEET = "xl/worksheets/sheet1.xml"
E_CELL = b'<c r="E2" t="n"><v>3</v></c>'
DECL_X = f' xmlns:x="{MAIN}"'.encode()
DECL_E = f' xmlns:é="{MAIN}"'.encode()


def _edited(cell: bytes, decl: bytes = b"", row: bytes = b"") -> bytes:
    def edit(xml: bytes) -> bytes:
        assert E_CELL in xml
        xml = xml.replace(E_CELL, cell).replace(b"<worksheet ", b"<worksheet" + decl + b" ", 1)
        return xml.replace(b"</sheetData>", row + b"</sheetData>") if row else xml

    return with_part(wb_bytes(long_xlsx(rows=[GOOD_ROW])), SHEET, edit)


# name: (workbook, expected (key, sheet, row, column)); "old" says what the regexes made of it
BYPASSES = {
    "formula <x:f> with a declared prefix (old: found)": (
        lambda: _edited(b'<x:c r="E2" t="n"><x:f>1+2</x:f><x:v>3</x:v></x:c>', DECL_X),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "formula <é:f>, a non-ASCII prefix (old: missed)": (
        lambda: _edited('<é:c r="E2" t="n"><é:f>1+2</é:f><é:v>3</é:v></é:c>'.encode(), DECL_E),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "formula after a comment holding </c> (old: missed)": (
        lambda: _edited(b'<c r="E2" t="n"><!-- </c> --><f>1+2</f><v>3</v></c>'),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "formula after CDATA holding <c > (old: put at column F)": (
        lambda: _edited(b'<c r="E2" t="n"><v>3</v><is><t><![CDATA[<c >]]></t></is><f>1+2</f></c>'),
        ("xlsx.formula", "Data", 2, "E"),
    ),
    "error t='e' in single quotes (old: found)": (
        lambda: _edited(b"<c r='E2' t='e'><v>#N/A</v></c>"),
        ("xlsx.error_cell", "Data", 2, "E"),
    ),
    'error t = "e" spaced, after other attributes on new lines (old: found)': (
        lambda: _edited(b'<c\n s="0"\n t = "e"\tr="E2"><v>#N/A</v></c>'),
        ("xlsx.error_cell", "Data", 2, "E"),
    ),
    # an error to Excel, which resolves the reference; calamine reads it as written and refuses
    # it after the check has found the error cell (test_bypass_shapes_found_by_the_exact_checks)
    'error t="&#101;", a character reference (old: missed)': (
        lambda: _edited(b'<c r="E2" t="&#101;"><v>#DIV/0!</v></c>'),
        ("file.xml_bad", "Data", None, None),  # calamine: "Unknown cell 't' attribute"
    ),
    'error t="&#x65;", a hex character reference (old: missed)': (
        lambda: _edited(b'<c r="E2" t="&#x65;"><v>#DIV/0!</v></c>'),
        ("file.xml_bad", "Data", None, None),  # calamine: "Unknown cell 't' attribute"
    ),
    "31 cells with a non-ASCII prefix and no reference (old: missed)": (
        lambda: _edited(E_CELL, DECL_E, b'<row r="3">' + "<é:c><é:v>1</é:v></é:c>".encode() * 31 + b"</row>"),
        ("file.too_many_cols", "Data", 3, None),
    ),
}


def _sheet_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(SHEET)


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_bypass_shapes_are_caught(mini, name):
    build, want = BYPASSES[name]
    data = build()
    assert R._survey(_sheet_xml(data), R.DEFAULT_LIMITS), "the prefilter must fire"
    r = reject(mini, data, "isian.xlsx")
    assert [(p.key, p.sheet, p.row, p.column) for p in r.problems] == [want], [
        p.render("en") for p in r.problems
    ]


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_bypass_shapes_found_by_the_exact_checks(name):
    """What the checks themselves say, before calamine reads the sheet."""
    xml = _sheet_xml(BYPASSES[name][0]())
    if "cells" in name:
        with pytest.raises(Rejected) as e:
            R.check_sheet(xml, "t.xlsx", "Data")
        assert e.value.problems[0].key == "file.too_many_cols"
    else:
        kind = "formula" if name.startswith("formula") else "error"
        assert R.check_sheet(xml, "t.xlsx", "Data").get((2, 4), ("",))[0] == kind


def test_a_commented_out_formula_is_not_a_formula():
    """The old regexes saw `<f>` in a comment as a formula; a parser sees a comment."""
    xml = _sheet_xml(_edited(b'<c r="E2" t="n"><!-- <f>1+2</f> --><v>3</v></c>'))
    assert R._survey(xml, R.DEFAULT_LIMITS)
    assert R.check_sheet(xml, "t.xlsx", "Data") == {}


def test_xml_the_parser_cannot_read_is_refused():
    xml = b'<worksheet><sheetData><row r="1"><c r="A1"><f>1</f></row></sheetData></worksheet>'
    with pytest.raises(Rejected) as e:
        R.check_sheet(xml, "t.xlsx", "Data")
    assert e.value.problems[0].key == "file.xml_bad"


# ------------------------------------------------------------------ carried over from test_survey
def test_our_template_needs_no_exact_check(mini):
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
        try:
            findings = R.sheet_findings(xml, "t.xlsx", "S", R.DEFAULT_LIMITS)
        except Rejected:
            continue  # not XML a parser reads: refused whenever the prefilter fires
        if any(findings.values()):
            flagged += 1
            assert R._survey(xml, R.DEFAULT_LIMITS), name
    assert flagged >= 5, flagged
