"""The help guide (issue 15, point 10): generated from the message catalogue, illustrated with the
screenshots that exist, printable, and on a Bantuan page every visitor reaches."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from metrics import admin, guide, i18n
from metrics.auth import SYSTEM
from metrics.errors import ValidationError
from tests.apptest_support import ROOT, session, t

ERROR_KEYS = sorted(k for k in i18n.CATALOGUE["id"] if k.split(".")[0] in ("file", "cell", "xlsx"))
needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext") or not shutil.which("pdfimages"),
    reason="poppler-utils (pdftotext, pdfimages) not installed",
)


def _flat(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "guide.pdf"
    pdf.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    # a paragraph may run over a page break: leave out the footer lines printed in between
    body = [
        line
        for line in out.splitlines()
        if not re.match(r"^(Panduan Indeks Kota Cerdas · dibuat|Halaman \d+/\d+)", line)
    ]
    return _flat("\n".join(body))


def _pdf_images(data: bytes, tmp_path: Path) -> int:
    pdf = tmp_path / "images.pdf"
    pdf.write_bytes(data)
    out = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    return len(out.splitlines()[2:])  # two header lines, then one line per image


def _shots(folder: Path, stems) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, stem in enumerate(stems):
        Image.new("RGB", (300 + 10 * n, 200), (20 * n, 90, 160)).save(folder / f"{stem}.png")


def test_the_guide_lists_every_upload_error_of_the_catalogue():
    assert len(ERROR_KEYS) > 40  # the catalogue's file/cell/xlsx messages, not an empty selection
    for lang in ("id", "en"):
        g = guide.guide(lang)
        listed = [key for group in g.errors for key, _ in group.messages]
        assert sorted(listed) == ERROR_KEYS
        texts = {key: text for group in g.errors for key, text in group.messages}
        assert texts["file.too_large"] == i18n.text("file.too_large", lang).replace("{size}", "…").replace(
            "{limit}", "…"
        )
        assert not any("{" in text for text in texts.values())


@needs_poppler
def test_the_printed_guide_holds_every_error_message_and_the_screenshots_that_exist(tmp_path):
    folder = tmp_path / "screenshots"
    present = ["phone-opd.kominfo-home", "upload-accepted", "overview"]
    _shots(folder, [*present, "not-in-the-named-list"])
    made = guide.build_pdf(guide.guide("id", "Seksi Aplikasi Diskominfo, 0812-3456-7890", folder))
    text = _pdf_text(made.pdf, tmp_path)
    missing = [k for k in ERROR_KEYS if _flat(guide.error_text(k, "id")) not in text]
    assert not missing, missing
    for needle in (
        "gabung (merge)",
        "ganti (replace)",
        "Seksi Aplikasi Diskominfo, 0812-3456-7890",
        "Panduan Indeks Kota Cerdas",
        "Bertanya kepada siapa",
    ):
        assert needle.lower() in text.lower(), needle
    assert sorted(made.images) == sorted(f"{s}.png" for s in present)
    assert _pdf_images(made.pdf, tmp_path) == 3  # only the named screenshots that exist

    bare = guide.build_pdf(guide.guide("id", "", tmp_path / "no-such-folder"))
    assert bare.images == () and _pdf_images(bare.pdf, tmp_path) == 0
    assert "Hubungi administrator Diskominfo" in _pdf_text(bare.pdf, tmp_path)


def test_the_help_contact_is_an_audited_admin_setting(demo_store):
    assert admin.help_contact(demo_store) == ""
    assert (
        admin.set_help_contact(demo_store, SYSTEM, "  Helpdesk Diskominfo, ext. 21 ")
        == "Helpdesk Diskominfo, ext. 21"
    )
    assert guide.help_guide(demo_store).ask.paragraphs[-1] == "Kontak: Helpdesk Diskominfo, ext. 21"
    with pytest.raises(ValidationError):
        admin.set_help_contact(demo_store, SYSTEM, "a\nb")
    rows = demo_store.audit_rows()
    assert [r for r in rows if "setting.help_contact" in str(r)]


def _help_page(app_db, username: str | None, lang: str = "id") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    if username:
        at.session_state["session"] = session(app_db, username)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("pages/help.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("username", [None, "opd.kominfo"])
def test_the_help_page_shows_the_guide(app_db, username, monkeypatch, tmp_path):
    folder = tmp_path / "shots"
    _shots(folder, ["admin-upload"])
    monkeypatch.setenv("SMARTCITY_SCREENSHOTS", str(folder))
    at = _help_page(app_db, username)
    assert [x.value for x in at.title] == [t("page.help")]
    assert [b.label for b in at.get("download_button")] == [t("help.download")]
    shown = _flat(" ".join(m.value for m in at.markdown).replace("\\", "").replace("\u2060", ""))
    assert "gabung (merge)" in shown.lower() and "Hubungi administrator Diskominfo" in shown
    for key in ("file.empty", "cell.level_range" if i18n.has("cell.level_range") else ERROR_KEYS[-1]):
        assert _flat(guide.error_text(key)) in shown, key
    assert len(at.get("image")) == 1  # the one named screenshot present


def test_the_help_page_is_in_every_role_s_navigation():
    from metrics.auth import ANONYMOUS, User
    from ui import shell

    for user in (
        ANONYMOUS,
        User("a", "admin"),
        User("w", "executive", "3299"),
        User("o", "opd", "3299", "01"),
        User("p", "assessor"),
        User("v", "viewer"),
    ):
        assert any(s.file == "help.py" and shell.page_allowed(s, user, False) for s in shell.PAGE_SPECS), (
            user.role
        )
