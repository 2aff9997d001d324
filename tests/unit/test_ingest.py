"""Each rejection rule names file, sheet, row and column, in Indonesian and English, and changes nothing."""

import io

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from metrics.loaded_frameworks import loaded_frameworks
from tests.conftest import ASSESS_CSV, opd_user

pytestmark = pytest.mark.both_backends

HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def reject(store, data: bytes, name="bad.csv", user=SYSTEM):
    before = store.content_fingerprint()
    r = ingest_bytes(store, user, data, name)
    assert r.status == "rejected", r.to_dict()
    assert r.problems, "a rejection must carry at least one reason"
    assert store.content_fingerprint() == before, "a rejected file changed the store"
    return r


def only(r):
    assert len(r.problems) == 1, [p.render("en") for p in r.problems]
    return r.problems[0]


@pytest.mark.parametrize(
    "line,key,column",
    [
        ('0101,01,2023,G1,"3,5",,', "cell.level_decimal_comma", "level"),
        ("0101,01,2023,G1,3.5,,", "cell.level_not_int", "level"),
        ("0101,01,2023,G1,5,,", "cell.level_range", "level"),
        ("0101,01,2023,G1,-1,,", "cell.level_range", "level"),
        ("0101,01,2023,G1,TRUE,,", "cell.boolean", "level"),
        ("0101,01,2023,G1,tiga,,", "cell.level_not_int", "level"),
        ("9999,01,2023,G1,3,,", "cell.unknown_city", "city_code"),
        ("0101,77,2023,G1,3,,", "cell.unknown_opd", "opd_code"),
        ("0101,01,2023,XX-99,3,,", "cell.unknown_indicator", "indicator_code"),
        ("0101,03,2023,G1,3,,", "cell.not_responsible", "indicator_code"),
        ("0101,01,20x3,G1,3,,", "cell.year", "year"),
        ("0101,01,1999,G1,3,,", "cell.no_framework", "year"),
        ("0101,01,2023,G1,,bukti tanpa level,", "cell.level_missing_with_text", "level"),
        ("0101,01,2023,G1,3,NIK 3273012345678901,", "file.personal_data", "evidence"),
    ],
)
def test_cell_rules(mini, line, key, column):
    p = only(reject(mini, (HEAD + line + "\n").encode()))
    assert (p.key, p.file, p.row, p.column) == (key, "bad.csv", 2, column)
    assert p.message("id") != p.message("en")
    assert "bad.csv" in p.render("id") and "baris 2" in p.render("id") and "row 2" in p.render("en")


def test_duplicates_inside_one_file(mini):
    p = only(reject(mini, (HEAD + "0101,01,2023,G1,3,,\n0101,01,2023,G1,2,,\n").encode()))
    assert (p.key, p.row, p.params["first"]) == ("cell.duplicate_row", 3, 2)


def test_every_problem_is_listed_not_just_the_first(mini):
    r = reject(mini, (HEAD + "0101,01,2023,G1,9,,\n0101,01,2023,G2,x,,\n0101,01,2023,ZZ,1,,\n").encode())
    assert [(p.row, p.key) for p in r.problems] == [
        (2, "cell.level_range"),
        (3, "cell.level_not_int"),
        (4, "cell.unknown_indicator"),
    ]


def test_missing_and_unknown_columns(mini):
    r = reject(mini, b"city_code,opd_code,indicator_code,level,extra\n0101,01,G1,3,x\n")
    assert {(p.key, p.column) for p in r.problems} == {("col.missing", "year"), ("col.unknown", "extra")}
    p = only(reject(mini, b"foo,bar\n1,2\n"))
    assert p.key == "file.unknown_kind"


def test_nik_column_header_refused(mini):
    r = reject(mini, (HEAD.strip() + ",nik\n0101,01,2023,G1,3,,,123\n").encode())
    assert any(p.key == "file.personal_data" and p.column == "nik" for p in r.problems)


def test_csv_encoding_and_delimiters(mini):
    p = only(reject(mini, (HEAD + "0101,01,2023,G1,3,Bukti dengan é,\n").encode("latin-1")))
    assert p.key == "file.not_utf8"
    p = only(reject(mini, b"city_code|opd_code|year|indicator_code|level\n0101|01|2023|G1|3\n"))
    assert p.key == "file.csv_one_column"
    # BOM + semicolons are accepted, and the delimiter is reported
    r = ingest_bytes(mini, SYSTEM, "\ufeff".encode() + ASSESS_CSV, "ok.csv")
    assert r.accepted and r.delimiter == ";"


def test_indonesian_header_aliases(mini):
    data = b"kode_kota,kode_opd,tahun,kode_indikator,level,bukti,catatan\n0101,01,2023,G1,2,Dok,\n"
    assert ingest_bytes(mini, SYSTEM, data, "id.csv").accepted


def test_metric_rules(mini):
    head = "city_code,opd_code,metric_code,period,value\n"
    cases = [
        ("0101,02,ONLINE_LICENCE_SHARE,2023-13,50", "cell.period", "period"),
        ('0101,02,ONLINE_LICENCE_SHARE,2023-01,"50,5"', "cell.not_number", "value"),
        ("0101,02,ONLINE_LICENCE_SHARE,2023-01,banyak", "cell.not_number", "value"),
        ("0101,02,NOPE,2023-01,50", "cell.unknown_metric", "metric_code"),
        ("0101,03,ONLINE_LICENCE_SHARE,2023-01,50", "cell.not_responsible", "metric_code"),
        ("0101,02,ONLINE_LICENCE_SHARE,2023-01,", "cell.required", "value"),
    ]
    for line, key, column in cases:
        p = only(reject(mini, (head + line + "\n").encode()))
        assert (p.key, p.row, p.column) == (key, 2, column), line


def test_one_csv_many_units_one_transaction(mini):
    data = (HEAD + "0101,01,2023,G1,3,,\n0101,03,2023,E1,2,,\n0202,01,2023,G1,1,,\n").encode()
    r = ingest_bytes(mini, SYSTEM, data, "multi.csv")
    assert r.accepted and len(r.submission_ids) == 3
    assert mini.counts()["submissions"] == 3
    # one bad row anywhere refuses all three units
    reject(mini, (HEAD + "0101,01,2023,G1,3,,\n0101,03,2023,E1,2,,\n0202,01,2023,G1,9,,\n").encode())


def test_failure_mid_write_leaves_nothing(mini, monkeypatch):
    before = mini.content_fingerprint()
    real = mini.insert_submissions

    def explode(cur, subs, *a, **k):
        real(cur, subs, *a, **k)  # the rows are written inside the transaction...
        raise RuntimeError("disk full")  # ...and then something fails before commit

    monkeypatch.setattr(mini, "insert_submissions", explode)
    with pytest.raises(RuntimeError):
        ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv")
    assert mini.content_fingerprint() == before


def test_opd_user_may_upload_only_for_own_opd(mini):
    r = reject(mini, ASSESS_CSV, "a.csv", user=opd_user("0101", "01"))  # holds OPDs 02 and 03 too
    assert r.problems[0].key == "perm.denied"
    own = b"city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,2,,\n"
    assert ingest_bytes(mini, opd_user("0101", "01"), own, "own.csv").accepted


def test_closed_and_locked_periods_refuse_uploads(mini):
    from metrics.governance import set_period

    set_period(mini, SYSTEM, "0101", 2023, "closed")
    assert reject(mini, ASSESS_CSV).problems[0].key == "period.closed"
    set_period(mini, SYSTEM, "0101", 2023, "locked")
    assert reject(mini, ASSESS_CSV).problems[0].key == "period.locked"


def test_accepted_file_is_kept_with_hash_and_audited(mini):
    import hashlib

    r = ingest_bytes(
        mini,
        opd_user("0101", "01"),
        b"city_code,opd_code,year,indicator_code,level,evidence,note\n0101,01,2023,G1,2,,\n",
        "x.csv",
    )
    sub = mini.submission(r.submission_ids[0])
    assert sub.sha256 == hashlib.sha256(mini.file_content(sub.sha256)).hexdigest()
    assert sub.username == "op010101" and sub.file_name == "x.csv"
    last = mini.audit_rows()[-1]
    assert last.action == "submission.create" and last.username == "op010101"


# ---------------------------------------------------------------------------- xlsx rules


def _wb_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _long_xlsx(rows, header=HEAD.strip().split(",")):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(header)
    for r in rows:
        ws.append(r)
    return wb


def test_long_format_xlsx_accepted(mini):
    wb = _long_xlsx([["0101", "01", 2023, "G1", 3, "bukti", None]])
    assert ingest_bytes(mini, SYSTEM, _wb_bytes(wb), "long.xlsx").accepted


def test_xlsx_formula_error_merged_hidden(mini):
    wb = _long_xlsx([["0101", "01", 2023, "G1", "=1+2", None, None]])
    p = only(reject(mini, _wb_bytes(wb), "f.xlsx"))
    assert (p.key, p.sheet, p.row, p.column) == ("xlsx.formula", "Data", 2, "E")

    wb = _long_xlsx([["0101", "01", 2023, "G1", 3, None, None]])
    wb.active["E2"].value = "#DIV/0!"
    wb.active["E2"].data_type = "e"
    p = only(reject(mini, _wb_bytes(wb), "e.xlsx"))
    assert (p.key, p.row, p.column) == ("xlsx.error_cell", 2, "E")

    wb = _long_xlsx([["0101", "01", 2023, "G1", 3, "a", "b"]])
    wb.active.merge_cells("F2:G2")
    p = only(reject(mini, _wb_bytes(wb), "m.xlsx"))
    assert (p.key, p.row, p.column) == ("xlsx.merged", 2, "F")

    wb = _long_xlsx([["0101", "01", 2023, "G1", 3, None, None]])
    wb.create_sheet("Rahasia").sheet_state = "hidden"
    p = only(reject(mini, _wb_bytes(wb), "h.xlsx"))
    assert (p.key, p.sheet) == ("xlsx.hidden_sheet", "Rahasia")


def test_not_a_spreadsheet_by_content_not_name(mini):
    p = only(reject(mini, b"\x00\x01binary\x00junk", "looks.csv"))
    assert p.key == "file.not_spreadsheet" and p.params["what"] == "biner/binary"
    p = only(reject(mini, b"PK\x03\x04 truncated zip", "x.xlsx"))
    assert p.key == "file.zip_bad"


def test_level_of_only_spaces_with_text_is_refused_not_dropped(mini):
    # a level cell holding only spaces is unanswered: its evidence must not vanish silently
    p = only(reject(mini, (HEAD + "0101,01,2023,G1,  ,bukti tanpa level,\n").encode()))
    assert (p.key, p.row, p.column) == ("cell.level_missing_with_text", 2, "level")


# ----------------------------------------------------------------------------------------------
# A template's rows are validated column by column first (ingest._template_fast); whatever it
# accepts, the row-by-row path must accept identically, and whatever it cannot vouch for goes to
# the row-by-row path, which reports the problems.


@pytest.fixture(scope="module")
def template_case(tmp_path_factory):
    from metrics.ingest import TemplateRows, load_context, read_records
    from tests.conftest import make_mini_store
    from tools import fuzz

    store = make_mini_store(tmp_path_factory.mktemp("tpl") / "tpl.duckdb")
    data = fuzz.seed_files(store)["template.xlsx"]
    kind, sheet, rows, _delimiter, fixed = read_records(data, "t.xlsx")
    assert kind == "assessment" and isinstance(rows, TemplateRows) and len(rows) >= 2
    fw, _seq = loaded_frameworks(store)[0]
    codes = [i.code for i in fw.indicators] + ["ZZ-9", "", " G1 "]
    yield load_context(store), sheet, rows, fixed, codes
    store.close()


def _outcome(case, rows, fixed=None, fast=True):
    from metrics.errors import Rejected
    from metrics.ingest import validate

    ctx, sheet, _rows, base_fixed, _codes = case
    try:
        return "accepted", validate("assessment", "t.xlsx", sheet, rows, ctx, fixed or base_fixed, fast=fast)
    except Rejected as exc:
        return "rejected", exc.problems


def test_template_fast_path_is_taken_and_agrees(template_case, monkeypatch):
    from metrics import ingest

    _ctx, _sheet, rows, _fixed, _codes = template_case
    taken = []
    real = ingest._template_fast
    monkeypatch.setattr(ingest, "_template_fast", lambda *a: taken.append(real(*a)) or taken[-1])
    fast = _outcome(template_case, rows)
    assert taken and taken[0] is not None, "the seed template should pass column by column"
    assert fast == _outcome(template_case, rows, fast=False)
    assert fast[0] == "accepted" and len(fast[1][0].rows) == len(rows)


CELL_VALUES = {
    "code": st.one_of(st.sampled_from([None, True, 1.0, 0, "   "]), st.text(max_size=6)),
    "level": st.sampled_from(
        [0.0, 1.0, 4.0, 4, "2", " 3 ", 5.0, -1.0, 3.5, "3,5", "", None, "  ", True, False, "tiga", 1e20]
    ),
    "evidence": st.one_of(
        st.sampled_from(["", "  ", None, 2.0, True, "x" * 4001, " " + "y" * 4000 + " "]), st.text(max_size=8)
    ),
    "note": st.sampled_from(["", "catatan", None, 0.0, False, "z" * 4001]),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_template_fast_path_matches_row_by_row(template_case, data):
    from dataclasses import replace

    _ctx, _sheet, rows, fixed, codes = template_case
    n = len(rows)
    cols = {f: list(getattr(rows, f)) for f in ("code", "level", "evidence", "note")}
    for _ in range(data.draw(st.integers(0, 4))):
        f = data.draw(st.sampled_from(sorted(cols)))
        i = data.draw(st.integers(0, n - 1))
        value = data.draw(
            st.one_of(st.sampled_from(codes), CELL_VALUES[f]) if f == "code" else CELL_VALUES[f]
        )
        cols[f][i] = value
    changed = replace(rows, **cols)
    fixed2 = dict(fixed)
    if data.draw(st.booleans()):
        fixed2[data.draw(st.sampled_from(["city_code", "opd_code", "year", "framework"]))] = data.draw(
            st.sampled_from(["9999", "03", 1999, "lain", ""])
        )
    assert _outcome(template_case, changed, fixed2) == _outcome(template_case, changed, fixed2, fast=False)


@pytest.mark.duckdb_only  # DuckDB's threads setting
def test_batch_ingest_restores_gc_and_duckdb_threads(mini, tmp_path, monkeypatch):
    """A batch pauses the cyclic GC and caps DuckDB's threads while workers parse; both come back."""
    import gc
    import sys
    import types

    from metrics import ingest

    # Worker processes re-import the parent's __main__ by its path; after an AppTest run in this
    # process that is a dashboard page. `python -m metrics` (the real caller) has no such path.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    (tmp_path / "a.csv").write_bytes((HEAD + "0101,01,2023,G1,3,,\n").encode())
    (tmp_path / "b.csv").write_bytes(
        (HEAD + "0101,02,2023,G2,2,,\n").encode()
    )  # another OPD: nothing dropped

    def threads():
        with mini.cursor() as cur:
            return cur.execute("SELECT current_setting('threads')").fetchone()[0]

    before = threads()
    seen = []
    real = ingest.store_parsed
    monkeypatch.setattr(
        ingest, "store_parsed", lambda *a, **k: seen.append((gc.isenabled(), threads())) or real(*a, **k)
    )
    results = ingest.ingest_paths(mini, SYSTEM, [tmp_path], workers=2)
    assert [r.status for r in results] == ["accepted", "accepted"]
    assert seen == [(False, 1)]
    assert gc.isenabled() and threads() == before

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "store_parsed", boom)
    with pytest.raises(RuntimeError):
        ingest.ingest_paths(mini, SYSTEM, [tmp_path], workers=1)
    assert gc.isenabled() and threads() == before
