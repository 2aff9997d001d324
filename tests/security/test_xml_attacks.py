"""XML attacks: entity expansion ("billion laughs") and external entities (XXE) in any part of a
workbook are refused before any parser expands or fetches anything, and no local file is read.

The refusal comes from the reader's scan of every inflated part for DTDs (in any position, and
in encodings that would hide them from a byte search); openpyxl and the workbook parse use
defusedxml as a second line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.security import hostile
from tests.security.conftest import keys, reject

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _OPENED is not None and args and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while _OPENED is a list


CASES = sorted(hostile.xml_cases("/nonexistent").keys())


def test_the_open_recorder_sees_opens(canary):
    """Control: the audit hook does record a read of the canary, so its silence below means something."""
    global _OPENED
    _OPENED = []
    try:
        canary.read_text()
    finally:
        opened, _OPENED = _OPENED, None
    assert str(canary) in opened


@pytest.mark.parametrize("name", CASES)
def test_xml_attack_refused_and_no_local_file_read(mini, canary, name):
    global _OPENED
    build, key = hostile.xml_cases(str(canary))[name]
    data = build()
    _OPENED = []
    try:
        r = reject(mini, data, "serangan.xlsx")
    finally:
        opened, _OPENED = _OPENED, None
    assert key in keys(r), [p.render("en") for p in r.problems]
    assert str(canary) not in opened, "the attack made the reader open the local file"
    text = " ".join(p.render(lang) for p in r.problems for lang in ("id", "en"))
    assert "CANARY" not in text


def test_xml_refusal_names_the_part_in_both_languages(mini, canary):
    r = reject(mini, hostile.xxe_in(hostile.SST, str(canary)), "xxe.xlsx")
    (p,) = r.problems
    assert p.params["part"] == "xl/sharedStrings.xml"
    assert "xl/sharedStrings.xml" in p.message("id") and "DTD" in p.message("en")


def test_the_seed_of_the_attacks_is_itself_accepted(mini):
    """Control: without the attack, the same shared-strings workbook is accepted."""
    from metrics.auth import SYSTEM
    from metrics.ingest import ingest_bytes

    assert ingest_bytes(mini, SYSTEM, hostile.shared_strings_xlsx(), "ok.xlsx").accepted


def test_defusedxml_is_pinned_and_openpyxl_uses_it():
    import openpyxl.xml

    reqs = (ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.strip().startswith("defusedxml==") for line in reqs)
    assert openpyxl.xml.DEFUSEDXML is True


def test_openpyxl_refuses_the_same_attacks(canary):
    """Second line: templates and tests load workbooks with openpyxl, which must not expand either."""
    import io

    import openpyxl

    for data in (hostile.laughs_in(hostile.SST), hostile.xxe_in(hostile.SHEET, str(canary))):
        with pytest.raises(Exception) as exc:
            openpyxl.load_workbook(io.BytesIO(data))
        assert "CANARY" not in str(exc.value)
