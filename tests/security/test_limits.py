"""Limits before parsing: oversize uploads, zip bombs, forged headers and oversized sheets are
refused from the container and the raw sheet XML, before calamine (the spreadsheet parser) runs.

Times are not asserted here (no timed unit tests); tools/security_figures.py measures each case
in a fresh process and SECURITY.md quotes the figures. What is asserted: the refusal reason,
that nothing changed, that the parser was never loaded, and the peak memory of the worst case.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import pytest

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes, load_context, parse_upload
from metrics.readers import DEFAULT_LIMITS, Limits
from tests.conftest import ROOT
from tests.security import hostile
from tests.security.conftest import good_xlsx, keys, reject

pytestmark = pytest.mark.both_backends


@pytest.mark.parametrize("name", sorted(hostile.LIMIT_CASES))
def test_limit_refused_with_reason_and_nothing_changed(mini, name):
    build, key = hostile.LIMIT_CASES[name]
    r = reject(mini, build(), "serangan.xlsx" if "CSV" not in name and "csv" not in name else "serangan.csv")
    assert key in keys(r), [p.render("en") for p in r.problems]


def test_default_limits_are_the_documented_ones():
    assert DEFAULT_LIMITS.max_bytes == 10 * 1024 * 1024
    assert DEFAULT_LIMITS.max_unzipped == 20 * 1024 * 1024
    assert DEFAULT_LIMITS.max_entries == 100 and DEFAULT_LIMITS.max_ratio == 100


def test_forged_size_is_a_clear_message_not_a_traceback(mini):
    r = reject(mini, hostile.forged_small_size_bomb(), "bom.xlsx")
    (p,) = r.problems
    assert p.key == "file.zip_bad" and "forged size header" in p.params["detail"]
    assert "rusak" in p.message("id") and "damaged" in p.message("en")
    assert "Traceback" not in p.render("en")


def test_damaged_crc_is_refused(mini):
    import io
    import struct
    import zipfile

    data = bytearray(good_xlsx())
    infos = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()
    pos = 0
    for info in infos:  # flip the sheet's CRC in its central-directory record and local header
        pos = data.find(b"PK\x01\x02", pos)
        if info.filename == hostile.SHEET:
            struct.pack_into("<I", data, pos + 16, info.CRC ^ 0xFFFF)
            struct.pack_into("<I", data, info.header_offset + 14, info.CRC ^ 0xFFFF)
        pos += 4
    r = reject(mini, bytes(data), "crc.xlsx")
    assert keys(r) == {"file.zip_bad"} and "CRC" in r.problems[0].params["detail"]


def test_repacked_container_holds_exactly_the_verified_parts():
    """The zip the parsers read is written by hand (readers._stored_zip) from the parts that
    were checked, under fixed names: zipfile must read it back entry for entry, CRCs included;
    a sheet's bytes are the uploader's sheet, byte for byte; nothing else of the upload (folders,
    properties, custom XML, its own relationships and content types) is carried over."""
    import io
    import zipfile

    from metrics.readers import open_xlsx
    from tests.security.conftest import build_zip, zip_parts

    parts = zip_parts(good_xlsx())
    parts["xl/media/"] = b""  # a folder entry: dropped, it holds nothing
    parts["docProps/catatan-ê.xml"] = "<?xml version='1.0' encoding='UTF-8'?><x>é</x>".encode()
    parts["customXml/empty.xml"] = b""
    pkg = open_xlsx(build_zip(parts), "repack.xlsx")
    zf = zipfile.ZipFile(io.BytesIO(pkg.data))
    assert zf.testzip() is None  # every CRC in the new container matches its content
    assert {i.filename: zf.read(i) for i in zf.infolist()} == pkg.parts
    assert set(pkg.parts) == {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/worksheets/sheet1.xml",
        "xl/styles.xml",
    }
    assert pkg.parts["xl/worksheets/sheet1.xml"] == parts["xl/worksheets/sheet1.xml"]
    assert pkg.parts["xl/styles.xml"] == parts["xl/styles.xml"]
    assert pkg.sheets == {"Data": "xl/worksheets/sheet1.xml"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())


def test_limits_are_configurable_and_enforced_exactly(mini):
    # the same valid workbook passes at its own size and is refused one byte below it
    data = good_xlsx()
    ctx = load_context(mini)
    assert parse_upload(data, "ok.xlsx", ctx, Limits(max_bytes=len(data))).batch is not None
    r = parse_upload(data, "ok.xlsx", ctx, Limits(max_bytes=len(data) - 1)).result
    assert keys(r) == {"file.too_large"}


def test_bomb_memory_stays_bounded(mini):
    """The 40 MB disguised bomb is refused without ever holding more than a few chunks."""
    data = hostile.forged_small_size_bomb()
    ctx = load_context(mini)
    tracemalloc.start()
    try:
        res = parse_upload(data, "bom.xlsx", ctx).result
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert keys(res) == {"file.zip_bad"}
    assert peak < 100 * 1024 * 1024, peak  # the bound; in practice a few MB (SECURITY.md)
    assert peak < 4 * DEFAULT_LIMITS.chunk + 2 * len(data), peak  # chunks, not the 40 MB it inflates to


CHILD = r"""
import json, sys
sys.path.insert(0, {root!r})
from tests.security import hostile
from metrics.readers import DEFAULT_LIMITS
from metrics.errors import Rejected
from metrics.ingest import read_records
out = {{}}
for name, (build, key) in sorted(hostile.LIMIT_CASES.items()):
    data = build()
    try:
        read_records(data, "x")
        out[name] = "accepted"
    except Rejected as exc:
        out[name] = exc.problems[0].key
from metrics import isolation
out["_calamine_after_hostile"] = "python_calamine" in sys.modules
out["_reader_started_after_hostile"] = bool(isolation.worker_pids())
read_records(hostile.shared_strings_xlsx(), "ok.xlsx")
out["_calamine_after_good"] = "python_calamine" in sys.modules
out["_reader_started_after_good"] = bool(isolation.worker_pids())
isolation.shutdown()
print(json.dumps(out))
"""


def test_refused_before_the_spreadsheet_parser_is_even_loaded():
    """In a fresh process every limit case is refused before the spreadsheet parser's worker is
    even started; the control (a valid workbook afterwards) shows the parser does start when a
    file gets that far, and then in its isolated worker: never in the server's own process."""
    r = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out.pop("_calamine_after_hostile") is False
    assert out.pop("_reader_started_after_hostile") is False
    assert out.pop("_reader_started_after_good") is True
    assert out.pop("_calamine_after_good") is False
    assert out == {name: key for name, (_b, key) in hostile.LIMIT_CASES.items()}


def test_accepted_workbook_still_ingests(mini):
    """The re-packing of verified parts does not change what a valid workbook says."""
    r = ingest_bytes(mini, SYSTEM, hostile.shared_strings_xlsx(), "ok.xlsx")
    assert r.accepted, r.to_dict("en")
    rows = mini.submission_rows(r.submission_ids[0])
    assert rows.to_dict("records") == [
        {"indicator_code": "G1", "level": 3, "evidence": "Perwali 12/2023", "note": None, "source_row": 2}
    ]


def test_stacked_cells_with_a_namespace_prefix_are_counted_too(mini):
    """The C-level count covers plain <c> tags; prefixed ones take the bounded regex walk."""
    from tests.security.conftest import with_part

    def edit(xml: bytes) -> bytes:
        cells = b'<x:c r="A3" t="n"><x:v>1</x:v></x:c>' * 60_001
        return xml.replace(
            b"<worksheet ",
            b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ',
            1,
        ).replace(b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>")

    r = reject(mini, with_part(good_xlsx(), hostile.SHEET, edit), "x.xlsx")
    assert keys(r) == {"file.zip_ratio"} or keys(r) == {"file.too_many_cells"}
    limits = Limits(max_ratio=10_000)  # past the ratio check, the cell budget still refuses it
    res = parse_upload(
        with_part(good_xlsx(), hostile.SHEET, edit), "x.xlsx", load_context(mini), limits
    ).result
    assert keys(res) == {"file.too_many_cells"}
