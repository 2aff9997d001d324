"""Evidence and the clarification loop in headless Chromium (issue 18, "Done when").

Against `python -m ui.serve` on a demo copy:

1. the OPD operator of Diskominfo (opd.kominfo) opens Isi formulir and attaches a small PDF to its
   answer GOV-01 through the "Lampirkan bukti" panel (the real file input);
2. the assessor (penilai) opens Verifikasi, picks Kota Sukamaju and GOV-01, sees the PDF's first
   page as a preview image drawn by the server, and asks Diskominfo for clarification with a
   message and a due date;
3. the operator sees the open request on its home, follows it to the form, attaches a NEW PDF and
   answers the request with a text and that file;
4. the assessor closes the request as verified at level 3.

Once the server has stopped, the database is opened read-only: the verification row, the closed
request with its exchange (the answer carrying the new file) and the audit rows of ask, answer and
close. The server runs under tests/netwatch.py: neither it nor the browser may reach outside this
machine. Screenshots (for the printable guide): test-output/screenshots/evidence-{attached,
preview,asked,home-request,answered,verified}.png.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from benchmarks.pages import open_signed_in, served_dashboard
from metrics import clarify, deadlines, formatting, i18n, users
from metrics.demo import DEMO_PASSWORD
from metrics.keys import copy_database
from metrics.store import Store
from tests.functional.test_e2e_browser import SHOTS, _assert_no_error, _screenshot, _wait_idle, chromium  # noqa: F401
from tests.netwatch import outside, watched_env
from tests.security.evidence_samples import text_pdf

ROOT = Path(__file__).resolve().parents[2]
OPERATOR, ASSESSOR = "opd.kominfo", "penilai"
CITY, CITY_NAME, OPD, YEAR = "3299", "Kota Sukamaju", "01", 2024
CODE = "GOV-01"  # answered by Diskominfo at level 4 in the demo; its framework lists required evidence
FIRST = (
    "sk-tim-kota-cerdas.pdf",
    text_pdf("Keputusan Wali Kota tentang Tim Kota Cerdas", "Lampiran susunan tim"),
)
SECOND = ("notulen-rapat-tim.pdf", text_pdf("Notulen rapat Tim Kota Cerdas, 12 Maret 2024"))
QUESTION = "Mohon lampirkan notulen rapat tim yang ditandatangani."
ANSWER = "Notulen rapat terlampir."
NOTE = "Notulen sesuai, level 4 belum terbukti."
VERIFIED_AT = 3
PDF = "application/pdf"
# no source watcher: an edit to the code while the journey runs (in a work tree) would make
# Streamlit re-import modules mid-run, and objects cached under the old classes fail to pickle
SERVER_ENV = {"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}

pytestmark = pytest.mark.e2e


def L(key: str, **kw) -> str:
    """A label of the Indonesian UI, from the catalogue."""
    return i18n.t(key, "id", **kw)


@pytest.fixture(scope="module")
def evidence_db(chromium, demo_db_file, tmp_path_factory):  # noqa: F811 - the shared fixture
    """A private demo DB copy and what the journey needs to know from it before the server takes
    the file: the OPD's and the indicator's names, and the city's today (the due date is a week on)."""
    db = tmp_path_factory.mktemp("evidence") / "demo.duckdb"
    copy_database(demo_db_file, db)
    store = Store(db)
    opd_name = next(o.name for o in store.opds(CITY) if o.opd_code == OPD)
    today = deadlines.city_today(store, CITY)
    assert clarify.requests(store, users.get_user(store, ASSESSOR), CITY, YEAR) == []
    assert [v for v in store.verification_rows(CITY, YEAR) if v["indicator_code"] == CODE] == []
    store.close()
    return db, opd_name, today + timedelta(days=7)


def _go(page, nav, page_key: str, title: str) -> None:
    from playwright.sync_api import expect

    nav.get_by_text(L(page_key), exact=True).click()
    expect(page.locator('[data-testid="stHeading"] h1').first).to_have_text(title, timeout=60_000)
    _wait_idle(page)
    _assert_no_error(page, page_key)


def _pick(page, scope, label: str, option: str) -> None:
    """Choose `option` in the Streamlit selectbox labelled `label` (inside `scope`)."""
    from playwright.sync_api import expect

    field = scope.get_by_role("combobox", name=label, exact=True)
    field.click()  # a click in the field starts a search; the down arrow opens the whole list
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    expect(field).to_have_value(option)
    _wait_idle(page)


def _attach(page, name: str, data: bytes) -> None:
    """The operator's "Lampirkan bukti" panel: answer GOV-01, the file, Lampirkan."""
    from playwright.sync_api import expect

    page.get_by_role("button", name=L("evidence.form.panel")).click()
    body = page.locator('[data-testid="stPopoverBody"]')
    expect(body).to_be_visible(timeout=30_000)
    codes = body.get_by_role("combobox", name=L("evidence.form.panel_for"))
    codes.click()
    page.keyboard.type(CODE)
    page.get_by_role("option").filter(has_text=f"{CODE} · ").click()
    expect(body.locator('[data-testid="stMultiSelect"]').first).to_contain_text(CODE)
    page.keyboard.press("Tab")  # leave the list; the popover stays open
    body.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": name, "buffer": data, "mimeType": PDF}]
    )
    # the uploader shortens the name it shows; its remove button carries the whole name
    expect(body.get_by_role("button", name=f"Remove {name}")).to_be_visible(timeout=30_000)
    body.get_by_role("button", name=L("evidence.form.panel_attach")).click()
    expect(page.locator('[data-testid="stAlertContentSuccess"]').first).to_contain_text(
        L("evidence.form.attached", n=1, m=1), timeout=60_000
    )
    _wait_idle(page)
    _assert_no_error(page, f"entry (attached {name})")
    page.keyboard.press("Escape")  # the panel stays open after the rerun; close it as a person would
    expect(body).to_be_hidden(timeout=30_000)


def _gov_card(page):
    """The GOV-01 card on the form, its pillar opened (every answer is given, so it starts closed)."""
    from playwright.sync_api import expect

    pillar = page.locator('[data-testid="stExpander"]').filter(has_text="GOV · ")
    if pillar.locator("details").first.get_attribute("open") is None:
        pillar.locator("summary").first.click()
    title = page.get_by_text(re.compile(f"^{re.escape(CODE)} · "))
    expect(pillar.locator(title)).to_be_visible(timeout=30_000)
    # the innermost block holding the title is the card (its columns are blocks inside it)
    return pillar.locator('[data-testid="stVerticalBlock"]').filter(has=title).last


def test_opd_attaches_a_pdf_the_assessor_previews_asks_and_verifies(evidence_db, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    db, opd_name, due = evidence_db
    SHOTS.mkdir(parents=True, exist_ok=True)
    watch = Path(str(db) + "-net")
    watch.mkdir()
    env = {**watched_env(watch, [ROOT]), **SERVER_ENV}
    with (
        served_dashboard(db, db.with_suffix(".log"), timeout=60, env=env) as (url, _),
        sync_playwright() as pw,
    ):
        opd_browser, opd, opd_nav, opd_external = open_signed_in(
            pw, url, OPERATOR, DEMO_PASSWORD, chromium, 60_000
        )
        penilai_browser, ass, ass_nav, ass_external = open_signed_in(
            pw, url, ASSESSOR, DEMO_PASSWORD, chromium, 60_000
        )
        try:
            # --- 1. the operator attaches a PDF to GOV-01 on Isi formulir
            _go(opd, opd_nav, "page.entry", L("entry.title"))
            _attach(opd, *FIRST)
            card = _gov_card(opd)
            expect(card.get_by_role("button", name=re.compile(re.escape(FIRST[0])))).to_be_visible()
            _screenshot(opd, "evidence-attached")

            # --- 2. the assessor sees its first page on Verifikasi and asks for clarification
            _go(ass, ass_nav, "page.verify", L("verify.title"))
            _pick(ass, ass.locator('[data-testid="stSidebar"]'), L("filter.city"), CITY_NAME)
            main = ass.locator('[data-testid="stMain"]')
            indicator = main.get_by_role("combobox", name=L("clarify.verify.pick"), exact=True)
            indicator.click()
            ass.keyboard.type(CODE)
            ass.get_by_role("option").filter(has_text=f"{CODE} · ").click()
            expect(indicator).to_have_value(re.compile(f"^{re.escape(CODE)} · "))
            _wait_idle(ass)
            _assert_no_error(ass, "verify (GOV-01)")
            # the preview: a PNG the server drew of page 1, loaded and not empty
            preview = main.locator('[data-testid="stImage"] img').first
            expect(preview).to_be_visible(timeout=30_000)
            preview.scroll_into_view_if_needed()
            expect(main.get_by_text(L("clarify.verify.preview"), exact=True)).to_be_visible()
            ass.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
            width, height = preview.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert width >= 100 and height > width, (width, height)  # an A4 page, portrait
            box = preview.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, box
            expect(main.get_by_text(FIRST[0])).to_be_visible()
            _screenshot(ass, "evidence-preview")

            main.get_by_label(L("clarify.verify.message"), exact=True).fill(QUESTION)
            main.get_by_role("spinbutton", name=f"year, {L('clarify.verify.due')}").click()
            ass.keyboard.type(due.strftime("%Y%m%d"))
            expect(main.locator('[data-testid="stDateInput"] input[type="date"]')).to_have_value(
                due.isoformat()
            )
            _pick(ass, main, L("clarify.verify.to"), opd_name)
            main.get_by_role("button", name=L("clarify.verify.ask")).click()
            expect(ass.locator('[data-testid="stAlertContentSuccess"]').first).to_contain_text(
                L("clarify.verify.asked", code=CODE), timeout=60_000
            )
            _wait_idle(ass)
            _assert_no_error(ass, "verify (asked)")
            expect(main.get_by_text(QUESTION)).to_be_visible()
            _screenshot(ass, "evidence-asked")

            # --- 3. the operator sees the request on its home and answers it with a new file
            _go(opd, opd_nav, "page.home", L("home.title", opd=opd_name))
            expect(opd.get_by_role("heading", name=L("clarify.home.title", n=1))).to_be_visible()
            request = opd.locator('[data-testid="stAlertContentWarning"]').filter(has_text=QUESTION)
            expect(request).to_contain_text(CODE)
            expect(request).to_contain_text(formatting.long_date(due, "id"))  # "13 Desember 2026"
            _screenshot(opd, "evidence-home-request")
            opd.get_by_role("button", name=L("clarify.home.answer")).click()
            expect(opd.locator('[data-testid="stHeading"] h1').first).to_have_text(
                L("entry.title"), timeout=60_000
            )
            _wait_idle(opd)
            expect(opd.locator('[data-testid="stAlertContentWarning"]').first).to_contain_text(
                L("clarify.form.open", n=1)
            )
            _attach(opd, *SECOND)
            card = _gov_card(opd)
            expect(card.locator('[data-testid="stAlertContentWarning"]')).to_contain_text(QUESTION)
            card.get_by_label(L("clarify.form.card_answer_text"), exact=True).fill(ANSWER)
            given = card.get_by_role("combobox", name=L("clarify.form.card_answer_items"))
            given.click()
            opd.keyboard.type("notulen")  # typing opens the list (a click alone may only focus it)
            opd.get_by_role("option").filter(has_text=SECOND[0]).click()
            expect(card.locator('[data-testid="stMultiSelect"]').first).to_contain_text(SECOND[0])
            opd.keyboard.press("Tab")
            card.get_by_role("button", name=L("clarify.form.card_answer_send")).click()
            expect(opd.locator('[data-testid="stAlertContentSuccess"]').first).to_contain_text(
                L("clarify.form.answered"), timeout=60_000
            )
            _wait_idle(opd)
            _assert_no_error(opd, "entry (answered)")
            _screenshot(opd, "evidence-answered")

            # --- 4. the assessor sees the answer and closes the request as verified at level 3
            _go(ass, ass_nav, "page.verify", L("verify.title"))  # a fresh run: the answer is new data
            expect(indicator).to_have_value(re.compile(f"^{re.escape(CODE)} · "))
            expect(main.get_by_text(ANSWER)).to_be_visible(timeout=30_000)
            expect(main.get_by_role("button", name=SECOND[0])).to_be_visible()  # the new file, to download
            outcome = main.locator('[data-testid="stRadio"]').filter(has_text=L("clarify.verify.outcome"))
            outcome.get_by_text(L("clarify.outcome.verified"), exact=True).click()
            _wait_idle(ass)
            level = main.get_by_label(L("clarify.verify.level"), exact=True)
            expect(level).to_be_enabled(timeout=30_000)
            level.fill(str(VERIFIED_AT))
            level.press("Enter")
            _wait_idle(ass)
            note = main.get_by_label(L("clarify.verify.note"), exact=True)
            note.fill(NOTE)
            note.press("Enter")
            _wait_idle(ass)
            main.get_by_role("button", name=L("clarify.verify.close")).click()
            expect(ass.locator('[data-testid="stAlertContentSuccess"]').first).to_contain_text(
                re.compile(re.escape(L("clarify.verify.closed", id=999999)).replace("999999", r"\d+")),
                timeout=60_000,
            )
            _wait_idle(ass)
            _assert_no_error(ass, "verify (closed)")
            expect(main.get_by_text(L("clarify.status.closed"), exact=False).first).to_be_visible()
            expect(main).to_contain_text(f"status: {L('clarify.state.terverifikasi')}")  # the answer's state
            _screenshot(ass, "evidence-verified")
        except BaseException:  # what each browser showed when a step failed, to look at afterwards
            opd.screenshot(path=str(SHOTS / "evidence-failed-operator.png"), full_page=True)
            ass.screenshot(path=str(SHOTS / "evidence-failed-assessor.png"), full_page=True)
            raise
        finally:
            opd_browser.close()
            penilai_browser.close()
    assert opd_external == [] and ass_external == [], (opd_external[:5], ass_external[:5])
    assert outside(watch) == [], "the dashboard server called outside this machine"

    # --- what was stored (the server has stopped: the file is free)
    store = Store(db, read_only=True)
    try:
        ver = [v for v in store.verification_rows(CITY, YEAR) if v["indicator_code"] == CODE]
        assert [(v["level"], v["note"], v["username"]) for v in ver] == [(VERIFIED_AT, NOTE, ASSESSOR)]
        (c,) = clarify.requests(store, users.get_user(store, ASSESSOR), CITY, YEAR)
        assert (c.indicator_code, c.opd_code, c.message, c.due, c.status, c.outcome, c.verified_level) == (
            CODE,
            OPD,
            QUESTION,
            due,
            "closed",
            "verified",
            VERIFIED_AT,
        )
        assert [(e.kind, e.username) for e in c.events] == [
            ("asked", ASSESSOR),
            ("answered", OPERATOR),
            ("closed", ASSESSOR),
        ]
        (new_item,) = c.events[1].item_ids
        item = store.evidence_item(new_item)
        assert (item.original_name, item.mime, item.size) == (SECOND[0], PDF, len(SECOND[1]))
        assert c.events[1].text == ANSWER
        rows = [r for r in store.audit_rows() if r.object == f"indicator:{CITY}/{YEAR}/{CODE}"]
        steps = [(r.action, r.username, json.loads(r.after).get("state")) for r in rows]
        assert steps == [
            ("clarification.ask", ASSESSOR, "perlu_klarifikasi"),
            ("clarification.answer", OPERATOR, "dijawab"),
            ("verification.create", ASSESSOR, None),
            ("clarification.close", ASSESSOR, "terverifikasi"),
        ], steps
        added = [json.loads(r.after) for r in store.audit_rows() if r.action == "evidence.add"]
        assert [(a["name"], a["indicators"]) for a in added] == [(FIRST[0], [CODE]), (SECOND[0], [CODE])]
    finally:
        store.close()
