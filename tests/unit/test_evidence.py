"""Evidence files and links (metrics.evidence): storing once by content, links to answers,
quota, https-only links, downloads and previews, on the mini store (OPD 01 DISKOMINFO answers
G1 and G2, OPD 02 DPMPTSP answers G2, OPD 03 DLH answers E1 and E2, in 2023)."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from PIL import Image

from metrics import evidence
from metrics.auth import SYSTEM, User
from metrics.errors import PeriodClosed, Rejected, ValidationError
from tests.conftest import opd_user
from tests.security import evidence_samples as S

pytestmark = pytest.mark.both_backends

OP1 = opd_user("0101", "01")
OP2 = opd_user("0101", "02")
ASSESSOR = User("asesor", "assessor", "0101")


def _count(store, table: str) -> int:
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # fixed names


def _audit(store, action: str) -> list[dict]:
    return [json.loads(r.after) if r.after else {} for r in store.audit_rows() if r.action == action]


def test_a_pdf_is_kept_once_with_who_when_and_its_links(mini):
    data = S.good_pdf()
    item = evidence.add_file(mini, OP1, "0101", "01", 2023, data, "Perwali 12.pdf", ["G1", "G2"])
    assert (item.kind, item.city_code, item.opd_code, item.year) == ("file", "0101", "01", 2023)
    assert item.sha256 == hashlib.sha256(data).hexdigest() and item.size == len(data)
    assert (item.mime, item.original_name, item.uploaded_by) == (
        "application/pdf",
        "Perwali 12.pdf",
        OP1.username,
    )
    assert item.flags is None
    # the same content again: the same item, no second blob, the new link added to it
    again = evidence.add_file(mini, OP1, "0101", "01", 2023, data, "salinan.pdf", ["G2"])
    assert again.id == item.id
    assert _count(mini, "evidence_blobs") == 1 and _count(mini, "evidence_items") == 1
    # another OPD giving the same content gets its own item over the same blob
    other = evidence.add_file(mini, OP2, "0101", "02", 2023, data, "oss.pdf", ["G2"])
    assert other.id != item.id and other.sha256 == item.sha256
    assert _count(mini, "evidence_blobs") == 1 and _count(mini, "evidence_items") == 2
    assert [(o, i.id) for o, i in evidence.answer_evidence(mini, ASSESSOR, "0101", 2023, "G2")] == [
        ("01", item.id),
        ("02", other.id),
    ]
    assert [i.id for _o, i in evidence.answer_evidence(mini, OP1, "0101", 2023, "G2", "01")] == [item.id]
    # the audit row names the content by checksum, never carries it
    rows = _audit(mini, "evidence.add")
    assert [r["sha256"] for r in rows] == [item.sha256] * 3
    assert [r["reused"] for r in rows] == [False, True, False]
    assert rows[0]["size"] == len(data) and rows[0]["indicators"] == ["G1", "G2"]
    assert all("content" not in r and "data" not in r for r in rows)


def test_an_indicator_the_opd_does_not_answer_is_refused_and_nothing_is_kept(mini):
    before = mini.content_fingerprint()
    with pytest.raises(ValidationError) as exc:
        evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "a.pdf", ["E1"])
    assert exc.value.key == "evidence.indicator" and exc.value.params["code"] == "E1"
    with pytest.raises(ValidationError):
        evidence.add_link(mini, OP1, "0101", "01", 2023, "https://jdih.example.go.id/x", ["NOPE"])
    assert mini.content_fingerprint() == before


def test_images_are_re_encoded_upright_without_exif_or_gps(mini):
    data = S.jpeg_with_gps()
    with Image.open(io.BytesIO(data)) as im:
        assert im.getexif().get_ifd(0x8825)  # the sample really carries a GPS position
    item = evidence.add_file(mini, OP1, "0101", "01", 2023, data, "foto rumah.jpg", ["G1"])
    stored = evidence.download(mini, OP1, item.id).data
    assert stored != data and item.sha256 == hashlib.sha256(stored).hexdigest()
    assert b"Exif" not in stored and b"KameraHP" not in stored and b"rumah pak RT" not in stored
    with Image.open(io.BytesIO(stored)) as im:
        assert im.format == "JPEG" and len(im.getexif()) == 0 and "exif" not in im.info
        assert im.size == (48, 64)  # orientation 6 applied before the EXIF went
    assert item.flags == "metadata_removed"
    png = evidence.add_file(mini, OP1, "0101", "01", 2023, S.png_with_text_chunks(), "layar.png")
    stored = evidence.download(mini, OP1, png.id).data
    assert b"Budi" not in stored and b"tEXt" not in stored and png.flags == "metadata_removed"


def test_a_pdf_without_a_text_layer_is_flagged_for_the_assessor(mini):
    item = evidence.add_file(mini, OP1, "0101", "01", 2023, S.pdf_without_text(), "scan.pdf")
    assert item.flags == "no_text_layer"


def test_good_office_files_are_accepted_as_they_are(mini):
    for name, gen, mime in (S.GOOD["XLSX"], S.GOOD["DOCX"]):
        data = gen()
        item = evidence.add_file(mini, OP1, "0101", "01", 2023, data, name)
        assert item.mime == mime and evidence.download(mini, OP1, item.id).data == data
        assert evidence.preview_png(mini, OP1, item.id) is None


def test_the_quota_counts_distinct_contents_of_the_opd_year(mini):
    a, b = S.good_pdf(), S.pdf_open_at_first_page()
    with mini.transaction() as cur:
        mini.set_setting(cur, evidence.QUOTA_SETTING, str((len(a) + len(b) - 1) / 1024 / 1024))
    evidence.add_file(mini, OP1, "0101", "01", 2023, a, "a.pdf")
    evidence.add_file(mini, OP1, "0101", "01", 2023, a, "a-lagi.pdf")  # the same content costs nothing
    before = mini.content_fingerprint()
    with pytest.raises(Rejected) as exc:
        evidence.add_file(mini, OP1, "0101", "01", 2023, b, "b.pdf")
    p = exc.value.problems[0]
    assert p.key == "evidence.quota" and p.params == {
        "used": len(a),
        "size": len(b),
        "limit": len(a) + len(b) - 1,
    }
    assert mini.content_fingerprint() == before
    # another OPD, or another year, has a quota of its own
    evidence.add_file(mini, OP2, "0101", "02", 2023, b, "b.pdf")
    assert evidence.quota_bytes(mini) == len(a) + len(b) - 1


def test_the_default_quota_is_200_mb():
    assert evidence.DEFAULT_QUOTA_MB == 200 and evidence.MAX_FILE_BYTES == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://jdih.example.go.id/perwali", "evidence.url_https"),
        ("javascript:alert(1)", "evidence.url_https"),
        ("data:text/html,<script>alert(1)</script>", "evidence.url_https"),
        ("JaVaScRiPt:alert(1)", "evidence.url_https"),
        ("ftp://x.example/a", "evidence.url_https"),
        ("https://user:pass@drive.example/a", "evidence.url_credentials"),
        ("https://user@drive.example/a", "evidence.url_credentials"),
        ("https:///nohost", "evidence.url_bad"),
        ("https://x.example/a b", "evidence.url_bad"),
        ("https://x.example/\u202eexe.pdf", "evidence.url_bad"),
        ("https://x.example/" + "a" * 2000, "evidence.url_length"),
        ("", "evidence.url_length"),
    ],
)
def test_only_plain_https_links_are_kept(mini, url, key):
    before = mini.content_fingerprint()
    with pytest.raises(ValidationError) as exc:
        evidence.add_link(mini, OP1, "0101", "01", 2023, url, ["G1"])
    assert exc.value.key == key
    assert mini.content_fingerprint() == before


def test_a_link_is_kept_and_linked(mini):
    item = evidence.add_link(mini, OP1, "0101", "01", 2023, " https://jdih.example.go.id/perwali-12 ", ["G1"])
    assert (item.kind, item.url, item.sha256, item.mime) == (
        "link",
        "https://jdih.example.go.id/perwali-12",
        None,
        None,
    )
    assert [i.id for _o, i in evidence.answer_evidence(mini, OP1, "0101", 2023, "G1", "01")] == [item.id]
    assert _audit(mini, "evidence.link_add")[0]["url"] == item.url
    # the same link given again (for another answer) is the same item, not a copy
    again = evidence.add_link(mini, OP1, "0101", "01", 2023, "https://jdih.example.go.id/perwali-12", ["G2"])
    assert again.id == item.id and len(evidence.items(mini, OP1, "0101", "01", 2023)) == 1
    assert [i.id for _o, i in evidence.answer_evidence(mini, OP1, "0101", 2023, "G2", "01")] == [item.id]
    assert evidence.preview_png(mini, OP1, item.id) is None
    with pytest.raises(ValidationError) as exc:
        evidence.download(mini, OP1, item.id)
    assert exc.value.key == "evidence.is_link"


def test_reuse_unlink_and_relink_keep_every_link_row(mini):
    item = evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "a.pdf", ["G1"])
    assert evidence.link(mini, OP1, "0101", "01", 2023, "G2", item.id) is True
    assert evidence.link(mini, OP1, "0101", "01", 2023, "G2", item.id) is False  # linked already
    assert evidence.unlink(mini, OP1, "0101", "01", 2023, "G2", item.id) is True
    assert evidence.unlink(mini, OP1, "0101", "01", 2023, "G2", item.id) is False
    assert evidence.answer_evidence(mini, OP1, "0101", 2023, "G2", "01") == []
    assert evidence.link(mini, OP1, "0101", "01", 2023, "G2", item.id) is True
    with mini.cursor() as cur:
        rows = cur.execute(
            """SELECT indicator_code, linked_by, unlinked_by IS NOT NULL FROM evidence_links
               ORDER BY indicator_code, linked_at"""
        ).fetchall()
    assert rows == [("G1", OP1.username, False), ("G2", OP1.username, True), ("G2", OP1.username, False)]
    assert [a["indicator"] for a in _audit(mini, "evidence.link")] == ["G2", "G2"]
    unl = [json.loads(r.before) for r in mini.audit_rows() if r.action == "evidence.unlink"]
    assert unl == [{"indicator": "G2"}]
    assert [i.id for i in evidence.items(mini, OP1, "0101", "01", 2023)] == [item.id]


def test_an_item_of_another_opd_cannot_be_linked(mini):
    theirs = evidence.add_file(mini, OP2, "0101", "02", 2023, S.good_pdf(), "a.pdf", ["G2"])
    with pytest.raises(ValidationError) as exc:
        evidence.link(mini, OP1, "0101", "01", 2023, "G2", theirs.id)
    assert exc.value.key == "evidence.not_own"
    with pytest.raises(ValidationError):
        evidence.link(mini, OP1, "0101", "01", 2024, "G1", theirs.id)


def test_a_closed_year_takes_no_evidence(mini):
    from metrics.governance import set_period

    set_period(mini, SYSTEM, "0101", 2023, "closed")
    with pytest.raises(PeriodClosed):
        evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "a.pdf", ["G1"])
    with pytest.raises(PeriodClosed):
        evidence.add_link(mini, OP1, "0101", "01", 2023, "https://x.example/a")


def test_download_names_are_clean_and_typed_by_content(mini):
    item = evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "..\\..\\etc/la\x00por\u202ean.exe")
    got = evidence.download(mini, ASSESSOR, item.id)
    assert got.file_name == "la por an.pdf" and got.mime == "application/pdf"
    assert evidence.safe_name("C:\\Users\\x\\foto.JPEG", "image/jpeg") == "foto.JPEG"
    assert evidence.safe_name("", "image/png") == "bukti.png"
    assert evidence.safe_name("a" * 300 + ".pdf", "application/pdf") == "a" * 116 + ".pdf"
    # a download is audited as an export, which leaves the pages' caches alone
    rows = [r for r in mini.audit_rows() if r.action == "export"]
    assert (
        rows[-1].object == f"evidence:0101/01/2023/{item.id}"
        and json.loads(rows[-1].after)["sha256"] == item.sha256
    )


def test_previews_are_pngs_rendered_from_the_first_page_or_the_image(mini):
    pdf_item = evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "a.pdf")
    png = evidence.preview_png(mini, ASSESSOR, pdf_item.id, width=600)
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as im:
        # pdfium rounds the page's height up: 842 pt x 600 / 595 = 849.07 -> 850 px
        assert im.size == (600, 850)
        assert im.convert("L").getextrema()[0] < 100  # the text is drawn, not a blank page
    img_item = evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_jpeg(), "a.jpg")
    png = evidence.preview_png(mini, ASSESSOR, img_item.id)
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.size == (64, 48)  # never scaled up
