"""The OPD operator's core (metrics.entry) on a private copy of the demo database.

Templates round-trip; a good upload goes in and moves the index; a bad one is refused with
every problem by sheet/row/column and changes nothing; drafts save and submit through the
same ingest rules; an OPD operator can never reach another OPD's drafts, history or versions;
closed and locked years refuse every write; versions are kept and compared, never overwritten.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from metrics import entry, scoring, users
from metrics import templates as tpl
from metrics.auth import SYSTEM
from metrics.errors import PeriodClosed, PermissionDenied, ValidationError
from metrics.governance import set_period
from metrics.loaded_frameworks import loaded_frameworks

pytestmark = pytest.mark.both_backends

CITY, YEAR = "3299", 2024
LEVEL_COL = tpl.COL_INDEX["level"] + 1  # 1-based, as openpyxl counts
LEVEL_LABEL = f"J ({tpl.COLUMNS[tpl.COL_INDEX['level']].header})"


@pytest.fixture
def kominfo(demo_store):
    return users.get_user(demo_store, "opd.kominfo")


@pytest.fixture
def dinkes(demo_store):
    return users.get_user(demo_store, "opd.dinkes")


def edit_template(data: bytes, cells: dict[tuple[int, int], object]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[tpl.SHEET]
    for (r, c), v in cells.items():
        ws.cell(r, c).value = v
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_levels(data: bytes) -> dict[str, object]:
    ws = load_workbook(io.BytesIO(data))[tpl.SHEET]
    return {
        ws.cell(r, 1).value: ws.cell(r, LEVEL_COL).value
        for r in range(tpl.FIRST_DATA_ROW, ws.max_row + 1)
        if ws.cell(r, 1).value
    }


def in_force(store, opd: str, kind: str = "assessment") -> int:
    h = store.submissions_frame(CITY, opd, YEAR, kind)
    return int(h.loc[h["in_force"], "id"].iloc[0])


# --------------------------------------------------------------------------- templates and uploads


def test_template_round_trips_to_the_answers_in_force(demo_store, kominfo):
    current = entry.current_answers(demo_store, CITY, "01", YEAR)
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    assert f.name == f"penilaian_{CITY}_01_{YEAR}.xlsx"
    assert {k: v for k, v in template_levels(f.data).items() if v is not None} == {
        k: v[0] for k, v in current.items()
    }
    before = in_force(demo_store, "01")
    out = entry.upload(demo_store, kominfo, f.data, f.name)
    assert out.accepted and out.kind == "assessment" and out.problems == []
    new = out.submission_ids[0]
    assert new == in_force(demo_store, "01") != before
    d = entry.diff(demo_store, kominfo, before, new)
    assert set(d["change"]) == {"same"} and len(d) == len(current)  # the untouched template changes nothing


def test_good_upload_is_accepted_and_moves_the_index(demo_store, kominfo):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    first_code, first_level = next(iter(template_levels(f.data).items()))
    assert first_level != 0
    data = edit_template(f.data, {(tpl.FIRST_DATA_ROW, LEVEL_COL): 0})
    before = scoring.city_score(demo_store, CITY, YEAR).index
    out = entry.upload(demo_store, kominfo, data, "isian.xlsx", "en")
    assert out.accepted and out.feedback is None and out.errors is None
    after = scoring.city_score(demo_store, CITY, YEAR)
    [s] = out.summaries
    assert (s.city_code, s.opd_code, s.year, s.kind) == (CITY, "01", YEAR, "assessment")
    assert s.city_index_before == pytest.approx(before) and s.city_index_after == pytest.approx(after.index)
    assert s.city_index_change == pytest.approx(after.index - before) and s.city_index_change < 0
    opd = next(o for o in scoring.opd_scores(demo_store, YEAR, CITY) if o.opd_code == "01")
    assert (s.answered, s.pairs, s.opd_index) == (opd.answered, opd.pairs, pytest.approx(opd.index))
    assert entry.current_answers(demo_store, CITY, "01", YEAR)[first_code][0] == 0


def test_bad_upload_lists_every_problem_and_changes_nothing(demo_store, kominfo):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    data = edit_template(f.data, {(11, LEVEL_COL): "3,5", (12, LEVEL_COL): 7, (14, LEVEL_COL): "tiga"})
    fingerprint = demo_store.content_fingerprint()
    out = entry.upload(demo_store, kominfo, data, "isian.xlsx", "en")
    assert out.status == "rejected" and out.submission_ids == [] and out.summaries == []
    assert [(p.sheet, p.row, p.column, p.key) for p in out.problems] == [
        (tpl.SHEET, 11, LEVEL_LABEL, "cell.level_decimal_comma"),
        (tpl.SHEET, 12, LEVEL_LABEL, "cell.level_range"),
        (tpl.SHEET, 14, LEVEL_LABEL, "cell.level_not_int"),
    ]
    frame = out.problems_frame("en")
    assert list(frame["row"]) == [11, 12, 14] and set(frame["file"]) == {"isian.xlsx"}
    assert frame["message"][1] == "Level 7 is outside the scale 0–4."
    assert out.problems_frame("id")["message"][1] == "Level 7 di luar skala 0–4."
    assert out.feedback.name == "isian-corrections.xlsx" and out.feedback.marked_cells == 3
    assert out.errors.name == "isian-errors.csv"
    assert demo_store.content_fingerprint() == fingerprint


def test_not_a_spreadsheet_is_refused(demo_store, kominfo):
    counts = demo_store.counts()
    out = entry.upload(demo_store, kominfo, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "foto.xlsx")
    assert out.status == "rejected" and [(p.key, p.params["what"]) for p in out.problems] == [
        ("file.not_spreadsheet", "PNG")
    ]
    assert out.feedback.name.endswith(".csv")  # nothing to mark: the errors as CSV
    assert demo_store.counts() == counts


def test_service_metric_csv_from_the_metric_template(demo_store, kominfo):
    m = entry.metric_template(demo_store, kominfo, CITY, "01", YEAR)
    text = m.data.decode("utf-8-sig")
    lines = text.strip().split("\n")
    assert lines[0] == "city_code,opd_code,metric_code,period,value" and len(lines) > 2
    fingerprint = demo_store.content_fingerprint()
    empty = entry.upload(demo_store, kominfo, m.data, m.name)  # values not filled in yet
    assert empty.status == "rejected"
    assert [(p.row, p.column, p.key) for p in empty.problems] == [
        (n, "value", "cell.required") for n in range(2, len(lines) + 1)
    ]
    assert demo_store.content_fingerprint() == fingerprint
    filled = "\n".join([lines[0]] + [ln + "9999" for ln in lines[1:]]) + "\n"
    # the demo reports monthly: a yearly file lacks the months in force, so the operator chooses
    out = entry.upload(demo_store, kominfo, filled.encode(), "metrik.csv")
    assert out.needs_choice and out.preview.counts()["dropped"] > 0
    assert demo_store.content_fingerprint() == fingerprint
    out = entry.upload(demo_store, kominfo, filled.encode(), "metrik.csv", mode="replace")
    assert out.accepted and out.kind == "metric" and len(out.submission_ids) == len(lines) - 1
    assert {s.kind for s in out.summaries} == {"metric"}
    h = entry.history(demo_store, kominfo, CITY, "01", YEAR).versions
    assert set(out.submission_ids) <= set(h.loc[h["in_force"], "id"])


def test_uploads_are_kept_as_versions_never_overwritten(demo_store, kominfo):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    one = edit_template(f.data, {(tpl.FIRST_DATA_ROW, LEVEL_COL): 1})
    two = edit_template(f.data, {(tpl.FIRST_DATA_ROW, LEVEL_COL): 2})
    a = entry.upload(demo_store, kominfo, one, "satu.xlsx").submission_ids[0]
    rows_a = demo_store.submission_rows(a)
    b = entry.upload(demo_store, kominfo, two, "dua.xlsx").submission_ids[0]
    c = entry.upload(demo_store, kominfo, one, "satu-lagi.xlsx").submission_ids[0]
    assert a < b < c
    pd.testing.assert_frame_equal(demo_store.submission_rows(a), rows_a)
    versions = entry.history(demo_store, kominfo, CITY, "01", YEAR).versions.set_index("id")
    assert [bool(versions.loc[i, "in_force"]) for i in (a, b, c)] == [False, False, True]
    va, vb = entry.version(demo_store, kominfo, a), entry.version(demo_store, kominfo, b)
    assert va.original.data == one and vb.original.data == two and va.original.name == "satu.xlsx"
    d = entry.diff(demo_store, kominfo, a, b).set_index("key")
    code = next(iter(template_levels(one)))  # the indicator on the first data row
    assert d.loc[code, "change"] == "changed" and (d.loc[code, "level_old"], d.loc[code, "level_new"]) == (
        1,
        2,
    )
    assert set(d["change"].drop(code)) == {"same"}


# --------------------------------------------------------------------------- drafts and the form


def test_form_draft_save_and_submit(demo_store, kominfo):
    fm = entry.form(demo_store, kominfo, CITY, "01", YEAR, "en")
    assert fm.editable and fm.source == "submission" and fm.levels == [0, 1, 2, 3, 4]
    assert {"code", "indicator", "rubric_0", "rubric_4", "level", "evidence", "note"} <= set(fm.rows.columns)
    assert fm.rows["rubric_0"].str.len().min() > 0  # the rubric is shown beside each indicator
    rows = fm.rows.to_dict("records")
    code0, code1 = rows[0]["code"], rows[1]["code"]
    rows[0]["level"], rows[0]["evidence"] = 1, "SK Wali Kota 7/2024"
    rows[1]["level"], rows[1]["evidence"], rows[1]["note"] = pd.NA, pd.NA, float("nan")  # emptied cells
    n_subs = demo_store.counts()["submissions"]
    saved = entry.save_draft(demo_store, kominfo, CITY, "01", YEAR, rows)
    assert saved.status == "saved" and saved.problems == [] and saved.answered == len(rows) - 1
    assert demo_store.counts()["submissions"] == n_subs  # a draft is not a submission
    again = entry.form(demo_store, kominfo, CITY, "01", YEAR)
    assert again.source == "draft" and again.saved_by == "opd.kominfo"
    row0 = again.rows.set_index("code").loc[code0]
    assert (row0["level"], row0["evidence"]) == (1, "SK Wali Kota 7/2024")
    assert pd.isna(again.rows.set_index("code").loc[code1, "level"])
    assert (
        template_levels(entry.template(demo_store, kominfo, CITY, "01", YEAR).data)[code0] == 1
    )  # pre-filled
    out = entry.submit(demo_store, kominfo, CITY, "01", YEAR)
    # the emptied level would drop an answer in force: nothing stored until replace is chosen
    assert out.needs_choice and out.preview.frame("dropped")["key"].tolist() == [code1]
    assert demo_store.counts()["submissions"] == n_subs and demo_store.get_draft(CITY, "01", YEAR) is not None
    out = entry.submit(demo_store, kominfo, CITY, "01", YEAR, mode="replace")
    assert out.accepted and out.kind == "assessment" and out.mode == "replace"
    assert demo_store.get_draft(CITY, "01", YEAR) is None
    answers = entry.current_answers(demo_store, CITY, "01", YEAR)
    assert answers[code0][:2] == (1, "SK Wali Kota 7/2024") and code1 not in answers
    assert entry.form(demo_store, kominfo, CITY, "01", YEAR).source == "submission"
    assert entry.version(demo_store, kominfo, out.submission_ids[0]).source == "form"


def test_a_submission_and_the_end_of_its_draft_commit_together(demo_store, kominfo, monkeypatch):
    rows = entry.form(demo_store, kominfo, CITY, "01", YEAR).rows.to_dict("records")
    rows[0]["level"] = 1
    entry.save_draft(demo_store, kominfo, CITY, "01", YEAR, rows)
    before = (demo_store.counts()["submissions"], demo_store.audit_count(), in_force(demo_store, "01"))

    def broken(cur, *args):
        raise RuntimeError("disk full while clearing the draft")

    monkeypatch.setattr(demo_store, "delete_draft", broken)
    with pytest.raises(RuntimeError):
        entry.submit(demo_store, kominfo, CITY, "01", YEAR)
    # the whole submission rolled back with it: no half state of "stored but draft still there"
    assert (
        demo_store.counts()["submissions"],
        demo_store.audit_count(),
        in_force(demo_store, "01"),
    ) == before
    assert demo_store.get_draft(CITY, "01", YEAR) is not None


def test_a_faulty_form_is_kept_as_draft_but_not_submitted(demo_store, kominfo):
    rows = entry.form(demo_store, kominfo, CITY, "01", YEAR).rows.to_dict("records")
    code = rows[2]["code"]
    rows[2]["level"], rows[2]["evidence"] = None, "bukti tanpa level"
    rows[3]["evidence"] = "NIK 3201234567890123"
    saved = entry.save_draft(demo_store, kominfo, CITY, "01", YEAR, rows, "en")
    assert saved.status == "saved" and saved.errors is not None
    # every problem at once: personal data and the row errors, each row named by its indicator
    assert [(saved.row_codes[p.row], p.key) for p in saved.problems] == [
        (rows[3]["code"], "file.personal_data"),
        (code, "cell.level_missing_with_text"),
    ]
    fingerprint = demo_store.content_fingerprint()
    out = entry.submit(demo_store, kominfo, CITY, "01", YEAR, lang="en")
    assert out.status == "rejected" and out.errors is not None
    assert (
        demo_store.content_fingerprint() == fingerprint and demo_store.get_draft(CITY, "01", YEAR) is not None
    )
    rows[3]["evidence"] = "Laporan 2024"
    out = entry.submit(demo_store, kominfo, CITY, "01", YEAR, rows, "en")
    assert out.status == "rejected"
    assert out.problems_frame("en")["indicator"][0].startswith(code + " ")  # code and name
    assert [p.key for p in out.problems] == ["cell.level_missing_with_text"]


def test_discard_draft_goes_back_to_the_submission(demo_store, kominfo):
    rows = entry.form(demo_store, kominfo, CITY, "01", YEAR).rows.to_dict("records")
    rows[0]["level"] = 0
    entry.save_draft(demo_store, kominfo, CITY, "01", YEAR, rows)
    assert entry.discard_draft(demo_store, kominfo, CITY, "01", YEAR) is True
    assert entry.discard_draft(demo_store, kominfo, CITY, "01", YEAR) is False
    assert entry.form(demo_store, kominfo, CITY, "01", YEAR).source == "submission"
    with pytest.raises(ValidationError):
        entry.submit(demo_store, kominfo, CITY, "01", YEAR)  # nothing saved to submit


# --------------------------------------------------------------------------- scope and periods


def test_an_opd_user_cannot_reach_another_opds_data(demo_store, kominfo, dinkes):
    other = dinkes.opd_code
    rows = entry.form(demo_store, dinkes, CITY, other, YEAR).rows.to_dict("records")
    entry.save_draft(demo_store, dinkes, CITY, other, YEAR, rows)  # dinkes has a draft
    their = in_force(demo_store, other)
    mine = in_force(demo_store, "01")
    fingerprint = demo_store.content_fingerprint()
    calls = [
        lambda: entry.template(demo_store, kominfo, CITY, other, YEAR),
        lambda: entry.metric_template(demo_store, kominfo, CITY, other, YEAR),
        lambda: entry.form(demo_store, kominfo, CITY, other, YEAR),
        lambda: entry.save_draft(demo_store, kominfo, CITY, other, YEAR, rows),
        lambda: entry.submit(demo_store, kominfo, CITY, other, YEAR),
        lambda: entry.discard_draft(demo_store, kominfo, CITY, other, YEAR),
        lambda: entry.history(demo_store, kominfo, CITY, other),
        lambda: entry.history(demo_store, kominfo, CITY),  # the whole city
        lambda: entry.history(demo_store, kominfo, "3599", "01"),  # same OPD code, another city
        lambda: entry.version(demo_store, kominfo, their),
        lambda: entry.diff(demo_store, kominfo, their, their),
        lambda: entry.diff(demo_store, kominfo, mine, their),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    # a file naming the other OPD is refused whole
    theirs = entry.template(demo_store, dinkes, CITY, other, YEAR)
    out = entry.upload(demo_store, kominfo, theirs.data, theirs.name)
    assert out.status == "rejected" and [p.key for p in out.problems] == ["file.other_opd"]  # one line: whose
    assert demo_store.content_fingerprint() == fingerprint
    ctx = entry.upload_context(demo_store, kominfo, "3599", YEAR)  # the city filter is ignored
    assert ctx.city_code == CITY and ctx.opds == ((kominfo.opd_code, ctx.opd_name("01")),)
    assert entry.history(demo_store, kominfo, CITY, "01").versions["opd_code"].unique().tolist() == ["01"]


def test_roles_outside_the_opd(demo_store, kominfo):
    walikota, penilai, admin = (users.get_user(demo_store, u) for u in ("walikota", "penilai", "admin"))
    mine = in_force(demo_store, "01")
    city = entry.history(demo_store, walikota, CITY).versions
    assert city["opd_code"].nunique() > 1  # the executive sees the whole city's history
    assert entry.version(demo_store, penilai, mine).id == mine
    with pytest.raises(PermissionDenied):
        entry.upload(demo_store, walikota, b"x", "x.csv")
    with pytest.raises(PermissionDenied):
        entry.form(demo_store, penilai, CITY, "01", YEAR)
    ctx = entry.upload_context(demo_store, admin, CITY, YEAR)
    assert len(ctx.opds) > 1 and ctx.open  # an admin may pick any OPD of the city
    f = entry.template(demo_store, admin, CITY, "01", YEAR)
    assert entry.upload(demo_store, admin, f.data, f.name).accepted


@pytest.mark.parametrize("status", ["closed", "locked"])
def test_closed_or_locked_year_refuses_upload_and_submit(demo_store, kominfo, status):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    rows = entry.form(demo_store, kominfo, CITY, "01", YEAR).rows.to_dict("records")
    entry.save_draft(demo_store, kominfo, CITY, "01", YEAR, rows)
    set_period(demo_store, SYSTEM, CITY, YEAR, status)
    fingerprint = demo_store.content_fingerprint()
    out = entry.upload(demo_store, kominfo, f.data, f.name, "en")
    assert out.status == "rejected" and [p.key for p in out.problems] == [f"period.{status}"]
    with pytest.raises(PeriodClosed):
        entry.submit(demo_store, kominfo, CITY, "01", YEAR)
    with pytest.raises(PeriodClosed):
        entry.submit(demo_store, kominfo, CITY, "01", YEAR, rows)
    with pytest.raises(PeriodClosed):
        entry.save_draft(demo_store, kominfo, CITY, "01", YEAR, rows)
    assert demo_store.content_fingerprint() == fingerprint
    fm = entry.form(demo_store, kominfo, CITY, "01", YEAR, "en")
    assert not fm.editable and str(YEAR) in fm.closed_message("en")
    ctx = entry.upload_context(demo_store, kominfo, CITY, YEAR)
    assert not ctx.open and ctx.closed_message("id") == fm.closed_message("id")


def test_diff_refuses_versions_of_different_things(demo_store, kominfo):
    assess = in_force(demo_store, "01")
    metric = in_force(demo_store, "01", "metric")
    with pytest.raises(ValidationError):
        entry.diff(demo_store, kominfo, assess, metric)
    h = entry.history(demo_store, kominfo, CITY, "01")
    assert metric not in h.comparable(assess) and all(
        h.versions.set_index("id").loc[i, "kind"] == "assessment" for i in h.comparable(assess)
    )
    with pytest.raises(ValidationError):
        entry.version(demo_store, kominfo, 10**9)


# --------------------------------------------------------------------------- partial uploads: merge / replace


def partial_csv(answers: dict[str, int], opd: str = "01") -> bytes:
    head = "city_code,opd_code,year,indicator_code,level,evidence,note\n"
    return (
        head + "".join(f"{CITY},{opd},{YEAR},{c},{lv},bukti baru,\n" for c, lv in answers.items())
    ).encode()


def test_a_partial_upload_is_previewed_and_stores_nothing_until_a_choice(demo_store, kominfo):
    before = entry.current_answers(demo_store, CITY, "01", YEAR)
    codes = sorted(before)
    changed, kept = codes[0], codes[1]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(entry.FORM_COLUMNS)
    w.writerow(
        [CITY, "01", YEAR, changed, (before[changed][0] + 1) % 5, before[changed][1], before[changed][2]]
    )
    w.writerow([CITY, "01", YEAR, kept, *before[kept]])  # the same answer: kept
    data = buf.getvalue().encode()
    fingerprint = demo_store.content_fingerprint()
    out = entry.upload(demo_store, kominfo, data, "sebagian.csv")
    assert out.needs_choice and not out.accepted and out.feedback is None
    assert demo_store.content_fingerprint() == fingerprint  # nothing took force, nothing audited
    pv = out.preview
    assert pv.drops and pv.counts() == {"kept": 1, "changed": 1, "added": 0, "dropped": len(codes) - 2}
    dropped = pv.frame("dropped")
    assert dropped["key"].tolist() == codes[2:]
    fw = scoring_fw(demo_store)
    assert dropped["name"].tolist() == [fw.indicator(c).name["id"] for c in codes[2:]]  # code and name
    assert dropped["old"].tolist() == [before[c][0] for c in codes[2:]] and dropped["new"].isna().all()
    assert pv.frame("changed")["key"].tolist() == [changed]
    [effect] = pv.effects
    now = scoring.city_score(demo_store, CITY, YEAR).index
    assert effect.city_index["now"] == pytest.approx(now)
    assert effect.answered["now"] == effect.pairs and effect.answered["replace"] < effect.answered["merge"]
    # the effect of each choice is the index that choice really gives (merge first: a replace
    # does not depend on the version in force)
    for mode in ("merge", "replace"):
        copy = entry.upload(demo_store, kominfo, data, "sebagian.csv", mode=mode)
        assert copy.accepted
        assert scoring.city_score(demo_store, CITY, YEAR).index == pytest.approx(effect.city_index[mode])
        assert copy.summaries[0].opd_index == pytest.approx(effect.opd_index[mode])


def scoring_fw(store):
    from metrics.framework import framework_for_year

    return framework_for_year(loaded_frameworks(store), YEAR)


@pytest.mark.parametrize("mode", ["merge", "replace"])
def test_merge_and_replace_store_a_new_whole_version_and_audit_the_choice(demo_store, kominfo, mode):
    before = entry.current_answers(demo_store, CITY, "01", YEAR)
    old_id = in_force(demo_store, "01")
    old_rows = demo_store.submission_rows(old_id)
    code = sorted(before)[0]
    out = entry.upload(demo_store, kominfo, partial_csv({code: 0}), "sebagian.csv", mode=mode)
    assert out.accepted and out.mode == mode
    new_id = in_force(demo_store, "01")
    assert out.submission_ids == [new_id] and new_id > old_id
    pd.testing.assert_frame_equal(demo_store.submission_rows(old_id), old_rows)  # the older version is kept
    after = entry.current_answers(demo_store, CITY, "01", YEAR)
    assert after[code] == (0, "bukti baru", None)
    if mode == "merge":  # the new answer on top of the version in force, in one whole version
        assert {c: v for c, v in after.items() if c != code} == {c: v for c, v in before.items() if c != code}
        assert out.changes == {
            "kept": len(before) - 1,
            "changed": 1,
            "added": 0,
            "dropped": 0,
            "carried": len(before) - 1,
        }
    else:
        assert list(after) == [code]
        assert out.changes == {"kept": 0, "changed": 1, "added": 0, "dropped": len(before) - 1}
    audit = demo_store.audit_frame(action="submission.create", limit=1)
    import json

    row = json.loads(audit["after"].iloc[0])
    assert row["mode"] == mode and row["changes"] == out.changes and row["submissions"][0]["id"] == new_id


def test_a_file_that_drops_nothing_is_stored_at_once(demo_store, kominfo):
    before = entry.current_answers(demo_store, CITY, "01", YEAR)
    out = entry.upload(demo_store, kominfo, partial_csv({c: v[0] for c, v in before.items()}), "penuh.csv")
    assert out.accepted and out.mode is None and out.changes["dropped"] == 0


def test_service_metrics_follow_the_same_rule_per_metric_and_year(demo_store, kominfo):
    metric = entry.upload_context(demo_store, kominfo, CITY, YEAR).metrics_for("01")["metric_code"].iloc[0]
    periods = [f"{YEAR}-{m:02d}" for m in (1, 2, 3)]
    monthly = "city_code,opd_code,metric_code,period,value\n" + "".join(
        f"{CITY},01,{metric},{p},{n + 10}\n" for n, p in enumerate(periods)
    )
    assert entry.upload(demo_store, kominfo, monthly.encode(), "bulanan.csv", mode="replace").accepted
    old = demo_store.submission_rows(in_force(demo_store, "01", "metric"))
    assert old["metric_code"].iloc[0] == metric and list(old["period"]) == periods
    one = f"city_code,opd_code,metric_code,period,value\n{CITY},01,{metric},{periods[0]},77\n".encode()
    out = entry.upload(demo_store, kominfo, one, "satu-bulan.csv")
    assert out.needs_choice and out.preview.counts() == {
        "kept": 0,
        "changed": 1,
        "added": 0,
        "dropped": len(periods) - 1,
    }
    assert out.preview.frame("dropped")["key"].tolist() == periods[1:]
    out = entry.upload(demo_store, kominfo, one, "satu-bulan.csv", mode="merge")
    assert out.accepted
    new = demo_store.submission_rows(in_force(demo_store, "01", "metric"))
    merged = dict(zip(new["period"], new["value"]))
    assert list(merged) == periods and merged[periods[0]] == 77
    assert merged[periods[1]] == old.set_index("period").loc[periods[1], "value"]


def test_the_form_follows_the_same_rule(demo_store, kominfo):
    rows = entry.form(demo_store, kominfo, CITY, "01", YEAR).rows.to_dict("records")
    emptied = rows[0]["code"]
    rows[0]["level"], rows[0]["evidence"], rows[0]["note"] = None, "", ""
    n = demo_store.counts()["submissions"]
    out = entry.submit(demo_store, kominfo, CITY, "01", YEAR, rows)
    assert out.needs_choice and out.preview.frame("dropped")["key"].tolist() == [emptied]
    assert demo_store.counts()["submissions"] == n
    out = entry.submit(demo_store, kominfo, CITY, "01", YEAR, mode="merge")
    assert (
        out.accepted
        and out.mode == "merge"
        and emptied in entry.current_answers(demo_store, CITY, "01", YEAR)
    )


# --------------------------------------------------------------------------- errors: all at once, in words


def test_every_problem_of_a_file_in_one_pass_each_row_named_by_its_indicator(demo_store, kominfo):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    first = tpl.FIRST_DATA_ROW
    evidence_col = tpl.COL_INDEX["evidence"] + 1
    cells = {(first, LEVEL_COL): "=1+1", (first + 1, evidence_col): "3201234567890123"}
    cells.update({(first + k, LEVEL_COL): 5 for k in range(2, 8)})
    out = entry.upload(demo_store, kominfo, edit_template(f.data, cells), "semua.xlsx")
    assert out.status == "rejected"
    assert [p.key for p in out.problems] == ["xlsx.formula", "file.personal_data"] + ["cell.level_range"] * 6
    levels = template_levels(f.data)
    codes = list(levels)
    fw = scoring_fw(demo_store)
    p = out.problems[2]
    ind = fw.indicator(codes[2])
    assert p.row == first + 2 and p.indicator == codes[2]
    assert p.line("id") == f"Baris {first + 2} · {codes[2]} {ind.name['id']} · Level 5 di luar skala 0–4."
    assert out.problems_frame("id")["indicator"].tolist()[:2] == [
        f"{c} {fw.indicator(c).name['id']}" for c in codes[:2]
    ]


def test_a_workbook_of_another_opd_is_one_line_saying_whose(demo_store, kominfo, dinkes):
    theirs = entry.template(demo_store, dinkes, CITY, dinkes.opd_code, YEAR)
    # even with level errors in it, the one thing to say is whose file it is
    data = edit_template(theirs.data, {(tpl.FIRST_DATA_ROW + k, LEVEL_COL): 9 for k in range(3)})
    out = entry.upload(demo_store, kominfo, data, "punya-dinkes.xlsx")
    assert out.status == "rejected" and len(out.problems) == 1
    msg = out.problems[0].message("id")
    assert "Dinas Kesehatan" in msg and f"OPD {dinkes.opd_code}" in msg and "bukan untuk OPD Anda (01" in msg


def test_a_template_from_an_unknown_opd_is_one_line_not_one_per_indicator(demo_store, kominfo):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    data = edit_template(f.data, {(tpl.INFO_ROWS["opd_code"][0], 2): "77"})
    out = entry.upload(demo_store, kominfo, data, "salah.xlsx")
    assert [(p.key, p.row) for p in out.problems] == [("cell.unknown_opd", tpl.INFO_ROWS["opd_code"][0])]


def test_a_template_saved_as_csv_is_recognised(demo_store, kominfo):
    f = entry.template(demo_store, kominfo, CITY, "01", YEAR)
    ws = load_workbook(io.BytesIO(f.data))[tpl.SHEET]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")  # as Excel in an Indonesian locale saves it
    for row in ws.iter_rows(values_only=True):
        w.writerow(["" if v is None else v for v in row])
    out = entry.upload(demo_store, kominfo, buf.getvalue().encode("utf-8-sig"), "templat.csv")
    assert [p.key for p in out.problems] == ["file.template_as_csv"]
    assert ".xlsx" in out.problems[0].message("id")


# ------------------------------------------------------------------------------ the form as cards (issue 15)


def test_form_model_groups_cards_by_pillar_with_the_whole_rubric_and_the_metric(mini):
    from metrics.ingest import ingest_bytes
    from tests.conftest import ASSESS_CSV, opd_user

    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    metric = b"city_code,opd_code,metric_code,period,value\n0101,01,ONLINE_LICENCE_SHARE,2023,65\n"
    assert ingest_bytes(mini, SYSTEM, metric, "m.csv").accepted
    fm = entry.form(mini, opd_user("0101", "01"), "0101", "01", 2023, "en")
    # DISKOMINFO answers G1 (sub-pillar GOV.PUB of GOV) and G2 (GOV): one pillar group, framework order
    assert [(g.code, g.name, [c.code for c in g.cards]) for g in fm.pillars] == [
        ("GOV", "Governance", ["G1", "G2"])
    ]
    g1, g2 = fm.cards
    # every level's full rubric text beside its number
    assert [ch.label for ch in g1.choices] == [
        "0 — None",
        "1 — Planned",
        "2 — Partial",
        "3 — Full",
        "4 — Integrated",
    ]
    assert g1.choice(3) == "3 — Full" and g1.level == 3 and g1.evidence == "Perwali 12/2023"
    assert g1.level_editable and g1.metric is None
    # G2 is scored from its service metric: 65 reaches the third threshold (>= 20, 40, 60), so level 3
    assert not g2.level_editable
    assert (g2.metric.code, g2.metric.value, g2.metric.level, g2.metric.thresholds, g2.metric.direction) == (
        "ONLINE_LICENCE_SHARE",
        65,
        3,
        (20, 40, 60, 80),
        "higher",
    )
    assert (fm.answered, fm.total) == (2, 2)
    # Indonesian rubric on the Indonesian form
    fm_id = entry.form(mini, opd_user("0101", "01"), "0101", "01", 2023, "id")
    assert fm_id.cards[0].choice(4) == "4 — Terintegrasi" and fm_id.pillars[0].name == "Tata Kelola"


def test_form_records_take_the_page_values_but_never_a_metric_decided_level(mini):
    from metrics.ingest import ingest_bytes
    from tests.conftest import ASSESS_CSV, opd_user

    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    assert ingest_bytes(
        mini,
        SYSTEM,
        b"city_code,opd_code,metric_code,period,value\n0101,01,ONLINE_LICENCE_SHARE,2023,65\n",
        "m.csv",
    ).accepted
    user = opd_user("0101", "01")
    fm = entry.form(mini, user, "0101", "01", 2023, "en")
    page = {("G1", "level"): 1, ("G1", "evidence"): "SK baru", ("G2", "level"): 0}
    records = fm.records(lambda code, fld: page.get((code, fld), entry.UNSET))
    assert records == [
        {"code": "G1", "level": 1, "evidence": "SK baru", "note": ""},
        {"code": "G2", "level": 2, "evidence": "", "note": ""},
    ]  # G2 keeps its answer (2)
    entry.save_draft(mini, user, "0101", "01", 2023, records)
    again = entry.form(mini, user, "0101", "01", 2023, "en")
    assert again.source == "draft" and [c.level for c in again.cards] == [1, 2]


def test_a_metric_without_a_value_leaves_the_level_to_choose(mini):
    from tests.conftest import opd_user

    fm = entry.form(mini, opd_user("0101", "01"), "0101", "01", 2023, "en")
    g2 = fm.cards[1]
    assert g2.metric is not None and g2.metric.value is None and g2.metric.level is None
    assert g2.level_editable and not g2.answered and fm.answered == 0
