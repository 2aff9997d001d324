"""Evidence on the OPD's side (issue 18), on a private copy of the demo database.

The attach panel's core call (entry.attach: a file, a link, reuse of an earlier item), the
form's cards with their items, required evidence and open requests, the template's "Tautan
bukti" column (https links become evidence items in the upload's own transaction; anything else
is refused at its cell; templates made before the column still load) and the review's evidence
flag per requirement.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image

from metrics import clarify, entry, evidence, review, users
from metrics import templates as tpl
from metrics.errors import ValidationError

pytestmark = pytest.mark.both_backends

CITY, OPD, YEAR = "3299", "01", 2024
LINK_COL = tpl.COL_INDEX["evidence_link"] + 1  # 1-based, as openpyxl counts
GOV01_REQUIRED_4 = [
    "Peraturan kepala daerah tentang masterplan kota cerdas",
    "Berita acara atau notulen tinjauan tahunan bersama OPD dan DPRD",
]


@pytest.fixture
def kominfo(demo_store):
    return users.get_user(demo_store, "opd.kominfo")


@pytest.fixture
def assessor(demo_store):
    return users.get_user(demo_store, "penilai")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def cards(store, user) -> dict[str, entry.FormCard]:
    return {c.code: c for c in entry.form(store, user, CITY, OPD, YEAR).cards}


def linked(store, user, code: str) -> list[tuple[str, str | None]]:
    return sorted((i.kind, i.url) for _o, i in evidence.answer_evidence(store, user, CITY, YEAR, code, OPD))


def template_rows(data: bytes) -> dict[str, int]:
    ws = load_workbook(io.BytesIO(data))[tpl.SHEET]
    return {ws.cell(r, 1).value: r for r in range(tpl.FIRST_DATA_ROW, ws.max_row + 1) if ws.cell(r, 1).value}


def edited(data: bytes, cells: dict[tuple[int, int], object], drop_col: int | None = None) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[tpl.SHEET]
    for (r, c), v in cells.items():
        ws.cell(r, c).value = v
    if drop_col is not None:
        ws.delete_cols(drop_col)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- the attach panel


def test_a_file_and_a_link_attached_show_on_the_card_and_a_file_is_reused_not_copied(demo_store, kominfo):
    res = entry.attach(
        demo_store,
        kominfo,
        CITY,
        OPD,
        YEAR,
        ["GOV-01"],
        file=(png(), "perwal.png"),
        url="https://jdih.sukamaju.go.id/perwal-102-2024",
    )
    assert res.indicators == ("GOV-01",)
    assert sorted(i.kind for i in res.items) == ["file", "link"]
    c = cards(demo_store, kominfo)
    assert sorted((i.kind, i.url) for i in c["GOV-01"].items) == [
        ("file", None),
        ("link", "https://jdih.sukamaju.go.id/perwal-102-2024"),
    ]
    assert c["GOV-02"].items == ()
    # the same file backs a second answer: linked again, not stored twice
    file_id = next(i.id for i in res.items if i.kind == "file")
    again = entry.attach(demo_store, kominfo, CITY, OPD, YEAR, ["GOV-02"], reuse=[file_id])
    assert [i.id for i in again.items] == [file_id]
    c = cards(demo_store, kominfo)
    assert [i.id for i in c["GOV-02"].items] == [file_id]
    assert file_id in {i.id for i in c["GOV-01"].items}
    assert len(entry.form(demo_store, kominfo, CITY, OPD, YEAR).items) == 2  # the OPD-year's items


def test_the_panel_refuses_before_storing_anything(demo_store, kominfo):
    with pytest.raises(ValidationError) as e:
        entry.attach(demo_store, kominfo, CITY, OPD, YEAR, [], url="https://a.go.id/x")
    assert e.value.key == "evidence.attach_no_indicator"
    with pytest.raises(ValidationError) as e:
        entry.attach(demo_store, kominfo, CITY, OPD, YEAR, ["GOV-01"], url="  ")
    assert e.value.key == "evidence.attach_nothing"
    # an http link refuses the whole attachment, the file with it
    with pytest.raises(ValidationError) as e:
        entry.attach(
            demo_store, kominfo, CITY, OPD, YEAR, ["GOV-01"], file=(png(), "a.png"), url="http://a.go.id/x"
        )
    assert e.value.key == "evidence.url_https"
    assert evidence.items(demo_store, kominfo, CITY, OPD, YEAR) == []


def test_the_card_lists_the_required_evidence_of_each_level(demo_store, kominfo):
    c = cards(demo_store, kominfo)["GOV-01"]
    assert c.level == 4
    assert list(c.required(4)) == GOV01_REQUIRED_4
    assert len(c.required(3)) == 2 and c.required(2) == ()
    en = {x.code: x for x in entry.form(demo_store, kominfo, CITY, OPD, YEAR, "en").cards}["GOV-01"]
    assert en.required(4)[0] == "Regional head regulation adopting the smart city master plan"


def test_an_open_request_is_on_its_card_and_is_answered_with_text_and_evidence(demo_store, kominfo, assessor):
    due = date.today() + timedelta(days=30)
    cid = clarify.ask(demo_store, assessor, CITY, YEAR, "GOV-01", "Mohon lampirkan Perwal", due, opd=OPD)
    c = cards(demo_store, kominfo)
    assert [(v.request.id, v.request.message, v.request.due, v.overdue) for v in c["GOV-01"].requests] == [
        (cid, "Mohon lampirkan Perwal", due, False)
    ]
    assert c["GOV-02"].requests == ()
    # its pillar opens even when every answer in it is filled
    (gov,) = [g for g in entry.form(demo_store, kominfo, CITY, OPD, YEAR).pillars if g.code == "GOV"]
    assert gov.needs_attention and any(card.requests for card in gov.cards)
    item = entry.attach(demo_store, kominfo, CITY, OPD, YEAR, ["GOV-01"], url="https://a.go.id/perwal").items[
        0
    ]
    clarify.answer(demo_store, kominfo, CITY, YEAR, cid, "Perwal terlampir", [item.id])
    assert cards(demo_store, kominfo)["GOV-01"].requests == ()  # answered: no longer open
    (gov,) = [g for g in entry.form(demo_store, kominfo, CITY, OPD, YEAR).pillars if g.code == "GOV"]
    assert gov.needs_attention == (gov.answered < gov.total)
    assert clarify.answer_states(demo_store, kominfo, CITY, YEAR, OPD)["GOV-01"] == "dijawab"


# --------------------------------------------------------------------------- the template's column


def test_the_link_column_sits_next_to_the_evidence_text():
    assert tpl.COLUMNS[tpl.COL_INDEX["evidence"] + 1].header == "Tautan bukti"
    assert tpl.COL_INDEX["note"] == tpl.COL_INDEX["evidence_link"] + 1
    assert [c.field for c in tpl.LEGACY_COLUMNS] == [
        c.field for c in tpl.COLUMNS if c.field != "evidence_link"
    ]


def test_https_links_in_the_template_become_evidence_of_their_answers(demo_store, kominfo):
    data = entry.template(demo_store, kominfo, CITY, OPD, YEAR).data
    rows = template_rows(data)
    shared = "https://data.sukamaju.go.id/laporan/113"
    filled = edited(
        data,
        {
            (rows["GOV-01"], LINK_COL): "https://jdih.sukamaju.go.id/perwal-102;  " + shared,
            (rows["GOV-02"], LINK_COL): shared,
        },
    )
    out = entry.upload(demo_store, kominfo, filled, "penilaian.xlsx")
    assert out.accepted, out.problems
    assert linked(demo_store, kominfo, "GOV-01") == [
        ("link", "https://data.sukamaju.go.id/laporan/113"),
        ("link", "https://jdih.sukamaju.go.id/perwal-102"),
    ]
    assert linked(demo_store, kominfo, "GOV-02") == [("link", shared)]
    assert len(evidence.items(demo_store, kominfo, CITY, OPD, YEAR)) == 2  # the shared link is one item
    # the same workbook again: a new version of the answers, no copies of the links
    assert entry.upload(demo_store, kominfo, filled, "penilaian.xlsx").accepted
    assert len(evidence.items(demo_store, kominfo, CITY, OPD, YEAR)) == 2


def test_an_http_link_in_the_template_is_refused_at_its_cell_and_nothing_is_stored(demo_store, kominfo):
    data = entry.template(demo_store, kominfo, CITY, OPD, YEAR).data
    rows = template_rows(data)
    before = demo_store.submissions_frame(CITY, OPD, YEAR, "assessment")
    bad = edited(data, {(rows["GOV-02"], LINK_COL): "http://data.sukamaju.go.id/laporan/113"})
    out = entry.upload(demo_store, kominfo, bad, "penilaian.xlsx")
    assert out.status == "rejected"
    assert [(p.key, p.sheet, p.row, p.column) for p in out.problems] == [
        ("evidence.url_https", tpl.SHEET, rows["GOV-02"], "L (Tautan bukti)")
    ]
    assert "L (Tautan bukti)" in out.problems_frame("en")["column"].tolist()
    assert len(demo_store.submissions_frame(CITY, OPD, YEAR, "assessment")) == len(before)
    assert evidence.items(demo_store, kominfo, CITY, OPD, YEAR) == []
    # a link on a row without a level is text on an unanswered row, as evidence text is
    blank_row = next(r for code, r in rows.items() if code not in {"GOV-01", "GOV-02"})
    level_col = tpl.COL_INDEX["level"] + 1
    cells = {(blank_row, level_col): None, (blank_row, LINK_COL): "https://a.go.id/x"}
    out = entry.upload(demo_store, kominfo, edited(data, cells), "penilaian.xlsx")
    assert ("cell.level_missing_with_text", blank_row) in {(p.key, p.row) for p in out.problems}


def test_a_template_made_before_the_link_column_still_loads(demo_store, kominfo):
    data = entry.template(demo_store, kominfo, CITY, OPD, YEAR).data
    rows = template_rows(data)
    old = edited(data, {(rows["GOV-01"], tpl.COL_INDEX["note"] + 1): "catatan lama"}, drop_col=LINK_COL)
    ws = load_workbook(io.BytesIO(old))[tpl.SHEET]
    assert [ws.cell(tpl.HEADER_ROW, n + 1).value for n in range(len(tpl.LEGACY_COLUMNS))] == [
        c.header for c in tpl.LEGACY_COLUMNS
    ]
    out = entry.upload(demo_store, kominfo, old, "lama.xlsx")
    assert out.accepted, out.problems
    notes = {r["indicator_code"]: r["note"] for r in demo_store.answer_rows(YEAR, CITY, OPD)}
    assert notes["GOV-01"] == "catatan lama"  # the old layout's note column read as the note
    assert evidence.items(demo_store, kominfo, CITY, OPD, YEAR) == []


# --------------------------------------------------------------------------- the review's flag


def test_the_evidence_flag_rules():
    assert review.flags_for(3, None, "", None, 0) == ["no_evidence"]  # no list: the old rule
    assert review.flags_for(3, None, "", None, 0, linked=1) == []
    assert review.flags_for(4, None, "SK 12/2024", None, 0, required=2, linked=1) == ["no_evidence"]
    assert review.flags_for(4, None, None, None, 0, required=2, linked=2) == []
    assert review.flags_for(2, None, None, None, 0, required=2, linked=0) == []


def _gov01(store, assessor):
    df = review.review(store, assessor, CITY, YEAR).answers
    return df[(df["code"] == "GOV-01") & (df["opd_code"] == OPD)].iloc[0]


def test_a_level_4_answer_is_flagged_per_requirement_until_its_evidence_is_there(
    demo_store, kominfo, assessor
):
    row = _gov01(demo_store, assessor)
    # level 4 lists two documents; the answer has evidence text but no item
    assert (row["level"], row["evidence_items"]) == (4, 0)
    assert "no_evidence" in row["flags"].split(",")
    assert row["missing_evidence"] == "; ".join(GOV01_REQUIRED_4)
    assert "2" in row["flag_text"] and GOV01_REQUIRED_4[0] in row["flag_text"]
    entry.attach(demo_store, kominfo, CITY, OPD, YEAR, ["GOV-01"], url="https://a.go.id/perwal")
    row = _gov01(demo_store, assessor)
    assert row["evidence_items"] == 1 and "no_evidence" in row["flags"].split(",")
    # the assessor marks the regulation met: only the minutes are named as missing
    clarify.mark_requirement(demo_store, assessor, CITY, YEAR, "GOV-01", 4, 0, True)
    assert _gov01(demo_store, assessor)["missing_evidence"] == GOV01_REQUIRED_4[1]
    entry.attach(demo_store, kominfo, CITY, OPD, YEAR, ["GOV-01"], url="https://a.go.id/notulen")
    row = _gov01(demo_store, assessor)
    assert row["evidence_items"] == 2
    assert "no_evidence" not in row["flags"].split(",") and row["missing_evidence"] == ""


def test_the_fast_template_path_reads_the_same_links_as_the_row_path(demo_store, kominfo):
    from metrics import ingest

    data = entry.template(demo_store, kominfo, CITY, OPD, YEAR).data
    rows = template_rows(data)
    filled = edited(
        data,
        {
            (rows["GOV-01"], LINK_COL): "https://a.go.id/1 https://a.go.id/2",
            (rows["GOV-02"], LINK_COL): "https://a.go.id/1",
        },
    )
    ctx = ingest.load_context(demo_store, kominfo)
    kind, sheet, records, _d, fixed = ingest.read_records(filled, "t.xlsx")
    fast = ingest.validate(kind, "t.xlsx", sheet, records, ctx, fixed)
    slow = ingest.validate(kind, "t.xlsx", sheet, records, ctx, fixed, fast=False)
    assert [s.links for s in fast] == [s.links for s in slow]
    assert [(r.indicator_code, r.urls, r.source_row) for r in fast[0].links] == [
        ("GOV-01", ("https://a.go.id/1", "https://a.go.id/2"), rows["GOV-01"]),
        ("GOV-02", ("https://a.go.id/1",), rows["GOV-02"]),
    ]


def test_a_request_past_its_due_date_is_shown_overdue_on_its_card(demo_store, kominfo):
    from metrics.deadlines import city_today

    today = city_today(demo_store, CITY)
    with demo_store.transaction() as cur:  # asked long ago: ask() refuses a due date in the past
        demo_store.add_clarification(
            cur, CITY, YEAR, "GOV-01", OPD, "Mana SK-nya?", today - timedelta(3), "penilai"
        )
    (view,) = cards(demo_store, kominfo)["GOV-01"].requests
    assert (view.request.message, view.overdue, view.days_overdue) == ("Mana SK-nya?", True, 3)
