"""Evidence on the OPD's pages (issue 18) through the real router with AppTest.

Signed in as the demo operator opd.kominfo on a private copy of the demo database: the form's
one "Lampirkan bukti" panel attaches a file and a link to an answer (stored, and listed on that
answer's card), reuses an earlier item for a second answer, refuses an http link; an answer with
an open clarification request shows the request on its card and is answered from there; after
an accepted upload, the upload page offers the same panel.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

from metrics import clarify, entry, evidence, users
from metrics.store import Store, utcnow
from tests.apptest_support import no_errors, t
from ui.charts import md_escape

ROOT = Path(__file__).resolve().parents[2]
CITY, OPD, YEAR = "3299", "01", 2024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def run_page(path: Path, page: str, username: str = "opd.kominfo", lang: str = "id") -> AppTest:
    user = with_store(path, lambda s: users.get_user(s, username))
    now = utcnow()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, now, now)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def linked(path: Path, code: str) -> list[tuple[str, str | None, str | None]]:
    def read(s):
        user = users.get_user(s, "opd.kominfo")
        return sorted(
            (i.kind, i.url, i.original_name)
            for _o, i in evidence.answer_evidence(s, user, CITY, YEAR, code, OPD)
        )

    return with_store(path, read)


def attach(
    at: AppTest, codes: list[str], url: str = "", file: tuple | None = None, reuse: list | None = None
):
    at.multiselect(key="en_ev_codes").set_value(codes)
    if url:
        at.text_input(key="en_ev_url").input(url)
    if file is not None:
        at.file_uploader(key="en_ev_file").set_value(file)
    if reuse:
        at.multiselect(key="en_ev_reuse").set_value(reuse)
    return at.button(key="en_ev_send").click().run()


def test_a_file_and_a_link_attached_from_the_panel_are_stored_and_shown_on_the_card(app_db):
    at = run_page(app_db, "entry")
    no_errors(at)
    assert at.multiselect(key="en_ev_codes").options  # one panel, the OPD's answers to choose
    attach(
        at, ["GOV-01"], url="https://jdih.sukamaju.go.id/perwal-102", file=("perwal.png", png(), "image/png")
    )
    no_errors(at)
    assert [s.value for s in at.success] == [t("evidence.form.attached", n=2, m=1)]
    assert linked(app_db, "GOV-01") == [
        ("file", None, "perwal.png"),
        ("link", "https://jdih.sukamaju.go.id/perwal-102", None),
    ]
    # the card lists both: the file as a download, the link as a link
    assert t("evidence.form.attached_list", n=2) in [c.value for c in at.caption]
    downloads = [b for b in at.get("download_button") if b.proto.id and "en_evdl_GOV-01" in b.proto.id]
    assert [b.proto.label for b in downloads] == [md_escape("perwal.png (1 KB)")]
    links = [b.proto for b in at.get("link_button")]
    assert [(b.label, b.url) for b in links] == [
        (md_escape("https://jdih.sukamaju.go.id/perwal-102"), "https://jdih.sukamaju.go.id/perwal-102")
    ]


def test_an_earlier_item_is_reused_for_a_second_answer(app_db):
    at = run_page(app_db, "entry")
    attach(at, ["GOV-01"], url="https://data.sukamaju.go.id/laporan/113")
    item_id = at.multiselect(key="en_ev_reuse").options
    assert len(item_id) == 1  # the OPD-year's one item, offered for reuse
    ids = with_store(
        app_db, lambda s: [i.id for i in evidence.items(s, users.get_user(s, "opd.kominfo"), CITY, OPD, YEAR)]
    )
    attach(at, ["GOV-02"], reuse=ids)
    no_errors(at)
    assert linked(app_db, "GOV-02") == [("link", "https://data.sukamaju.go.id/laporan/113", None)]
    assert linked(app_db, "GOV-01") == linked(app_db, "GOV-02")
    assert len(with_store(app_db, lambda s: s.evidence_items(CITY, OPD, YEAR))) == 1


def test_an_http_link_is_refused_in_the_users_language_and_nothing_is_stored(app_db):
    at = run_page(app_db, "entry", lang="en")
    attach(at, ["GOV-01"], url="http://data.sukamaju.go.id/laporan/113")
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [t("evidence.url_https", "en", scheme="http")]
    assert linked(app_db, "GOV-01") == []


def test_an_open_request_shows_on_its_card_and_is_answered_from_there(app_db):
    due = date.today() + timedelta(days=14)

    def ask(s):
        return clarify.ask(
            s, users.get_user(s, "penilai"), CITY, YEAR, "GOV-01", "Mohon lampirkan Perwal", due, OPD
        )

    cid = with_store(app_db, ask)
    at = run_page(app_db, "entry")
    no_errors(at)
    assert t("clarify.form.open", n=1) in [w.value for w in at.warning]
    shown = [
        w.value
        for w in at.warning
        if w.value.startswith(t("clarify.form.card_request", by="", message="", due="")[:12])
    ]
    assert len(shown) == 1 and "Mohon lampirkan Perwal" in shown[0] and "penilai" in shown[0]
    attach(at, ["GOV-01"], url="https://jdih.sukamaju.go.id/perwal-102")
    at.text_area(key=f"en_cl_{cid}_text").input("Perwal terlampir")
    items = at.multiselect(key=f"en_cl_{cid}_items")
    items.set_value(items.options)
    at.button(key=f"en_cl_{cid}_send").click().run()
    no_errors(at)
    assert t("clarify.form.answered") in [s.value for s in at.success]
    assert t("clarify.form.open", n=1) not in [w.value for w in at.warning]  # no longer open

    def loop(s):
        req = clarify.requests(s, users.get_user(s, "penilai"), CITY, YEAR, OPD)[0]
        return req.status, [(e.kind, e.text, len(e.item_ids or ())) for e in req.events]

    status, events = with_store(app_db, loop)
    assert status == "answered"
    assert events[-1] == ("answered", "Perwal terlampir", 1)


def test_the_upload_page_offers_the_panel_after_an_accepted_file(app_db):
    data = with_store(
        app_db, lambda s: entry.template(s, users.get_user(s, "opd.kominfo"), CITY, OPD, YEAR).data
    )
    at = run_page(app_db, "upload")
    assert not [m for m in at.multiselect if m.key == "up_ev_codes"]  # nothing uploaded yet
    at.file_uploader(key="up_file").set_value(("isian.xlsx", data, XLSX)).run()
    no_errors(at)
    assert t("evidence.form.upload_step") in [h.value for h in at.subheader]
    at.multiselect(key="up_ev_codes").set_value(["GOV-03"])
    at.text_input(key="up_ev_url").input("https://izin.sukamaju.go.id")
    at.button(key="up_ev_send").click().run()
    no_errors(at)
    assert linked(app_db, "GOV-03") == [("link", "https://izin.sukamaju.go.id", None)]
