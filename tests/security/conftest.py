"""Fixtures and helpers shared by the security and reliability tests (tests/security/).

Everything runs on real DuckDB files through the real core; hostile files are built here
byte by byte, so each test shows exactly what an attacker would upload.
"""

from __future__ import annotations

import io
import struct
import zipfile

import openpyxl
import pytest

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes

HEAD = ["city_code", "opd_code", "year", "indicator_code", "level", "evidence", "note"]
GOOD_ROW = ["0101", "01", 2023, "G1", 3, "Perwali 12/2023", None]


def wb_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def long_xlsx(rows=(GOOD_ROW,), header=HEAD, title="Data") -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    return wb


def good_xlsx() -> bytes:
    return wb_bytes(long_xlsx())


def zip_parts(data: bytes) -> dict[str, bytes]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def build_zip(parts: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content, compress_type=method)
    return buf.getvalue()


def with_part(data: bytes, name: str, edit) -> bytes:
    """The workbook `data` with part `name` replaced by edit(old bytes)."""
    parts = zip_parts(data)
    parts[name] = edit(parts.get(name, b""))
    return build_zip(parts)


def forge_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Patch the declared uncompressed size of entry `name` in the central directory and its
    local header, as a zip bomb disguised as a small file would."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    out = bytearray(data)
    pos = 0
    for info in zf.infolist():
        pos = out.find(b"PK\x01\x02", pos)
        if info.filename == name:
            struct.pack_into("<I", out, pos + 24, size)
            struct.pack_into("<I", out, info.header_offset + 22, size)
            return bytes(out)
        pos += 4
    raise KeyError(name)


def reject(store, data: bytes, name: str, user=SYSTEM):
    """Ingest `data`, assert it is refused with reasons in both languages and changes nothing."""
    before = store.content_fingerprint()
    r = ingest_bytes(store, user, data, name)
    assert r.status == "rejected", r.to_dict("en")
    assert r.problems, "a rejection must carry at least one reason"
    for p in r.problems:
        assert p.file == name
        assert p.message("id") and p.message("en") and p.message("id") != p.message("en")
    assert store.content_fingerprint() == before, "a rejected file changed the store"
    return r


def keys(r) -> set[str]:
    return {p.key for p in r.problems}


@pytest.fixture
def canary(tmp_path):
    """A local file an external-entity attack would try to read; its content must never leak."""
    p = tmp_path / "rahasia.txt"
    p.write_text("CANARY-7f3a9c-RAHASIA")
    return p
