"""The mayor's report card PDF (metrics.reportcard), read back the way a person would see it.

The text is extracted with poppler's `pdftotext` and page 1 is rendered with `pdftoppm`
(Debian package poppler-utils, installed by .ci/run). Without poppler the text tests are skipped
locally with a message, and fail under CI=true. Rendered pages are kept under
test-output/reportcard/ so a person can look at them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from metrics import admin, reportcard, scoring, users, views
from metrics.auth import ANONYMOUS, SYSTEM, User
from metrics.demo import YEARS
from metrics.errors import PermissionDenied, ValidationError
from metrics.formatting import number, signed
from metrics.keys import copy_database

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "reportcard"
CITY, YEAR = "3299", YEARS[-1]
MADE = date(2025, 3, 14)
MADE_TEXT = {"id": "14 Maret 2025", "en": "March 14, 2025"}  # Babel's long dates (metrics.formatting)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        msg = f"{tool} (Debian package poppler-utils) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " — .ci/run installs it; CI must not skip this test")
        pytest.skip(msg + "; install poppler-utils to run this test")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "card.pdf", *pages: int) -> str:
    f = tmp_path / name
    f.write_bytes(pdf)
    args = [need("pdftotext")]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    out = subprocess.run([*args, str(f), "-"], capture_output=True, check=True, timeout=60)
    return out.stdout.decode("utf-8")


def flat(text: str) -> str:
    return " ".join(text.split())


def walikota(store) -> User:
    return users.get_user(store, "walikota")


def audit_exports(store) -> list[tuple[str, str, str | None]]:
    return [(r.username, r.object, r.after) for r in store.audit_rows() if r.action == "export"]


@pytest.fixture(scope="module")
def cards(demo_db_file, tmp_path_factory):
    """The report card in both languages, made once from a copy of the demo database."""
    from metrics.store import Store

    path = tmp_path_factory.mktemp("rc") / "demo.duckdb"
    copy_database(demo_db_file, path)
    store = Store(path)
    try:
        user = walikota(store)
        out = {
            lang: reportcard.report_card(store, user, CITY, YEAR, lang, made_on=MADE) for lang in ("id", "en")
        }
        cs = scoring.city_score(store, CITY, YEAR)
        opds = scoring.opd_scores(store, YEAR, CITY)
        ov = {lang: views.overview(store, CITY, YEAR, lang, user=user) for lang in ("id", "en")}
        name = next(c.name for c in store.cities() if c.city_code == CITY)
        exports = audit_exports(store)
    finally:
        store.close()
    return out, cs, opds, ov, name, exports


# --------------------------------------------------------------------------- the document


@pytest.mark.parametrize("lang", ["id", "en"])
def test_card_has_five_titled_pages_in_its_language(cards, lang):
    out, *_ = cards
    card = out[lang]
    assert card.pdf[:5] == b"%PDF-"
    # summary, pillars, OPD ranking (21 OPDs fit on one page), programmes and survey (the default
    # framework computes Outcome, Impact and Quick Win by a method; it may run over two pages),
    # priorities
    assert card.pages >= 5
    from metrics.i18n import t

    assert card.sections == tuple(
        t(f"rc.{k}", lang) for k in ("title", "pillars_title", "opds_title", "prog_title", "priorities_title")
    )
    assert card.name == f"rapor_{CITY}_{YEAR}_{lang}.pdf"
    assert card.unicode_font == (reportcard._font_paths() is not None)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_card_text_carries_the_dashboard_numbers(cards, lang, tmp_path):
    out, cs, _opds, ov, name, _ = cards
    card = out[lang]
    text = pdf_text(card.pdf, tmp_path)
    # pdftotext reports the page count through the form feeds between pages
    assert text.count("\f") == card.pages
    body = flat(text)
    assert name in body
    page1 = flat(pdf_text(card.pdf, tmp_path, "p1.pdf", 1))
    assert number(cs.index, lang) in page1.split()
    assert number(cs.index, lang) == f"{cs.index:.2f}".replace(".", "," if lang == "id" else ".")
    assert ov[lang].band is not None and ov[lang].band.label in page1
    assert cs.framework_id in page1 and cs.framework_id == ov[lang].framework_id
    assert MADE_TEXT[lang] in body  # dated, in words, in the card's language
    # the change from last year, as the dashboard shows it
    assert signed(ov[lang].delta, lang) in page1
    # every dimension and pillar value is on the card, with the language's decimal mark
    for v in [*cs.dimensions.values(), *cs.pillars.values()]:
        assert number(v, lang) in body
    # language: the other language's title is absent
    other = {"id": "Smart City Report Card", "en": "Rapor Kota Cerdas"}[lang]
    assert other not in body


def test_opds_are_listed_in_ranking_order(cards, tmp_path):
    out, _, opds, *_ = cards
    ranks = {c: r for c, _, r in scoring.competition_ranks([(o.opd_code, o.index) for o in opds])}
    expected = [
        o.name
        for o in sorted(opds, key=lambda o: (ranks[o.opd_code] is None, ranks[o.opd_code] or 0, o.opd_code))
    ]
    assert len(expected) > 10
    body = flat(pdf_text(out["id"].pdf, tmp_path, "opd.pdf", 3))
    positions = [body.find(n) for n in expected]
    assert -1 not in positions, [n for n, p in zip(expected, positions) if p < 0]
    assert positions == sorted(positions)
    # ranks with ties as in the dashboard: the first one is 1 and is next to the best OPD's index
    best = max((o for o in opds if o.index is not None), key=lambda o: o.index)
    assert f"1 {expected[0]} {number(best.index, 'id')}" in body


def test_page_one_renders_and_is_not_blank(cards, tmp_path):
    from PIL import Image

    out, *_ = cards
    OUT.mkdir(parents=True, exist_ok=True)
    for lang in ("id", "en"):
        pdf = OUT / f"rapor_{lang}.pdf"
        pdf.write_bytes(out[lang].pdf)
        prefix = OUT / f"rapor_{lang}"
        subprocess.run([need("pdftoppm"), "-png", "-r", "50", str(pdf), str(prefix)], check=True, timeout=120)
        pngs = sorted(OUT.glob(f"rapor_{lang}-*.png"))
        assert len(pngs) == out[lang].pages
        img = Image.open(pngs[0]).convert("L")
        assert img.size == (414, 585)  # A4 at 50 dpi
        lo, hi = img.getextrema()
        assert hi - lo > 150, "page 1 is blank"
        dark = sum(img.histogram()[:128]) / (img.size[0] * img.size[1])
        assert 0.02 < dark < 0.5, dark  # a header band, the index and the bars; not all ink


# --------------------------------------------------------------------------- access and audit


def test_export_is_audited_once_per_card(cards):
    out, *_, exports = cards
    assert [(u, o) for u, o, _ in exports] == [("walikota", f"reportcard:{YEAR}/{CITY}")] * 2
    details = [json.loads(a) for _, _, a in exports]
    assert [(d["format"], d["lang"], d["pages"]) for d in details] == [
        ("pdf", "id", out["id"].pages),
        ("pdf", "en", out["en"].pages),
    ]


@pytest.mark.parametrize(
    "user",
    [
        User("tamu", "viewer"),
        User("opd.kominfo", "opd", CITY, "01"),
        ANONYMOUS,
        User("walikota.lain", "executive", "1101"),
    ],
    ids=["viewer", "opd", "anonymous", "other-city-executive"],
)
def test_export_refused_without_export_right_and_nothing_audited(demo_store, user):
    before = demo_store.audit_count()
    with pytest.raises(PermissionDenied) as exc:
        reportcard.report_card(demo_store, user, CITY, YEAR, "id")
    assert exc.value.message("en")
    assert demo_store.audit_count() == before


def test_demo_viewer_account_really_lacks_export(demo_store):
    tamu = users.get_user(demo_store, "tamu")
    assert tamu.role == "viewer"
    with pytest.raises(PermissionDenied):
        reportcard.report_card(demo_store, tamu, CITY, YEAR, "id")


def test_assessor_and_admin_may_export(cards, demo_store):
    out, *_ = cards
    for user in (users.get_user(demo_store, "penilai"), SYSTEM):
        card = reportcard.report_card(demo_store, user, CITY, YEAR, "en")
        assert card.pages == out["en"].pages and card.sections == out["en"].sections
    assert [r.username for r in demo_store.audit_rows() if r.action == "export"] == ["penilai", "system"]


def test_a_year_without_data_is_refused_with_a_reason(demo_store):
    with pytest.raises(ValidationError) as exc:
        reportcard.report_card(demo_store, walikota(demo_store), CITY, YEAR + 5, "id")
    assert exc.value.key == "rc.no_data"
    assert str(YEAR + 5) in exc.value.message("id")


# --------------------------------------------------------------------------- fonts


def test_without_dejavu_the_card_falls_back_to_latin1(cards, demo_store, monkeypatch, tmp_path):
    monkeypatch.setattr(reportcard, "FONT_DIRS", (tmp_path / "no-fonts",))
    card = reportcard.report_card(demo_store, walikota(demo_store), CITY, YEAR, "id", made_on=MADE)
    assert not card.unicode_font
    out, cs, _, ov, name, _ = cards
    assert card.sections == out["id"].sections
    body = flat(pdf_text(card.pdf, tmp_path))
    assert name in body and number(cs.index, "id") in body and ov["id"].band.label in body
    assert "skala 0-4" in body  # the en dash became a hyphen rather than a missing glyph


def test_dejavu_is_used_when_present():
    if reportcard._font_paths() is None:
        msg = "fonts-dejavu-core is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " — .ci/run installs it")
        pytest.skip(msg)
    regular, bold = reportcard._font_paths()
    assert regular.name == "DejaVuSans.ttf" and bold.name == "DejaVuSans-Bold.ttf"


def test_long_opd_lists_continue_on_a_new_page_with_the_header(cards, tmp_path):
    """A city with many long-named OPDs: names wrap (never cut), and the table header repeats."""
    from dataclasses import replace

    out, _cs, opds, ov, *_ = cards
    many = [
        (
            n + 1,
            replace(opds[n % len(opds)], name=f"OPD {n:02d} " + "Bidang Urusan Pemerintahan " * 3 + "Akhir"),
        )
        for n in range(45)
    ]
    card = reportcard.build_pdf(ov["en"], many, "en", MADE)
    assert card.pages > 4
    text = pdf_text(card.pdf, tmp_path)
    ranking_pages = [flat(p) for p in text.split("\f") if "OPD ranking" in p]
    assert len(ranking_pages) >= 2
    for page in ranking_pages:  # banner and column header repeated on the continuation page
        assert "# OPD Index" in page and "Completeness" in page
    body = flat(text)
    for n in range(45):
        assert f"OPD {n:02d} " + "Bidang Urusan Pemerintahan " * 3 + "Akhir" in body
    # a continuation is not a new section (and without programmes there is no programme page)
    assert card.sections == tuple(s for s in out["en"].sections if s != "Programmes and survey")


# --------------------------------------------------------------------------- rank, priorities, signature (issue 15)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_card_gives_the_city_rank_nationally_in_province_and_category(cards, lang, tmp_path):
    out, _, _, ov, *_ = cards
    from metrics.i18n import t

    page1 = flat(pdf_text(out[lang].pdf, tmp_path, "rank.pdf", 1))
    assert t("rc.rank_title", lang) in page1
    for r in ov[lang].ranks:
        assert flat(t(f"rc.rank_{r.scope}", lang, group=r.group, rank=r.rank, of=r.of)) in page1


def test_card_priorities_name_the_opds_and_the_next_level(cards, tmp_path):
    out, _, _, ov, *_ = cards
    body = flat(pdf_text(out["id"].pdf, tmp_path, "pri.pdf", out["id"].pages))
    pri = ov["id"].priorities.to_dict("records")
    assert pri
    for p in pri:
        assert f"{p['next_level']}: " in body
        # the first words of the rubric text and of the first OPD's name (long ones wrap over lines)
        assert " ".join(p["next_rubric"].split()[:3]) in body
        if p["opds"]:
            assert " ".join(p["opds"][0].split()[:2]) in body


def test_card_carries_the_signature_block_the_admin_set(demo_store, tmp_path):
    from metrics.i18n import t

    user = walikota(demo_store)
    unsigned = flat(
        pdf_text(reportcard.report_card(demo_store, user, CITY, YEAR, "id", made_on=MADE).pdf, tmp_path)
    )
    assert t("rc.sign_unnamed", "id") in unsigned  # says who must set it rather than a blank line
    assert admin.signatory(demo_store, CITY) is None
    admin_user = users.get_user(demo_store, "admin")
    admin.set_signatory(demo_store, admin_user, CITY, "Dr. H. Budi Santoso, M.Si.", "Wali Kota Sukamaju")
    card = reportcard.report_card(demo_store, user, CITY, YEAR, "id", made_on=MADE)
    last = flat(pdf_text(card.pdf, tmp_path, "sig.pdf", card.pages))
    name = next(c.name for c in demo_store.cities() if c.city_code == CITY)
    assert f"{name}, 14 Maret 2025" in last
    assert "Wali Kota Sukamaju" in last and "Dr. H. Budi Santoso, M.Si." in last
    assert t("rc.sign_unnamed", "id") not in last
    audit = [r for r in demo_store.audit_rows() if r.action == "setting.signatory"]
    assert len(audit) == 1 and audit[0].username == "admin" and "Budi Santoso" in audit[0].after


def test_only_an_admin_names_the_signatory_and_bad_text_is_refused(demo_store):
    with pytest.raises(PermissionDenied):
        admin.set_signatory(demo_store, walikota(demo_store), CITY, "Siapa Saja", "Wali Kota")
    admin_user = users.get_user(demo_store, "admin")
    with pytest.raises(ValidationError) as exc:
        admin.set_signatory(demo_store, admin_user, CITY, "Nama\nbaris dua", "Wali Kota")
    assert exc.value.key == "setting.signatory_invalid"
    assert admin.signatory(demo_store, CITY) is None


def test_long_table_text_is_cut_with_an_ellipsis_and_the_page_keeps_its_banner(cards, tmp_path):
    """A priority whose rubric runs over six lines ends with '…' (the table never grows without
    bound); the priorities table is fpdf2's table(), so its wrapping is the one measured."""
    from dataclasses import replace

    _, _, _, ov, *_ = cards
    pri = ov["en"].priorities.copy()
    words = " ".join(f"word{n:03d}" for n in range(200))
    pri.loc[pri.index[0], "next_rubric"] = words
    card = reportcard.build_pdf(replace(ov["en"], priorities=pri), [], "en", MADE)
    last = flat(pdf_text(card.pdf, tmp_path, "cut.pdf", card.pages))
    assert "Priority indicators" in last
    assert "word000" in last and "word199" not in last and "…" in last


# --------------------------------------------------------------------------- programmes and survey (issue 17)


@pytest.fixture(scope="module")
def programme_cards(demo_db_file, tmp_path_factory):
    """The card in both languages for the demo city with the hand-made register and survey of
    tests/unit/test_views.py (a new register version and survey in force)."""
    from metrics.store import Store
    from tests.unit.test_views import insert_register, insert_survey

    path = tmp_path_factory.mktemp("rcprog") / "demo.duckdb"
    copy_database(demo_db_file, path)
    store = Store(path)
    try:
        insert_register(store, CITY, YEAR)
        insert_survey(store, CITY, YEAR)
        user = walikota(store)
        out = {
            lang: reportcard.report_card(store, user, CITY, YEAR, lang, made_on=MADE) for lang in ("id", "en")
        }
        cs = scoring.city_score(store, CITY, YEAR)
    finally:
        store.close()
    return out, cs


def _programme_pages(card, tmp_path, title: str) -> str:
    text = pdf_text(card.pdf, tmp_path, "prog.pdf")
    return flat(" ".join(p for p in text.split("\f") if title in p))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_card_lists_the_programmes_per_pillar_with_status_and_budget(programme_cards, lang, tmp_path):
    from metrics.i18n import t

    out, cs = programme_cards
    card = out[lang]
    assert t("rc.prog_title", lang) in card.sections
    body = _programme_pages(card, tmp_path, t("rc.prog_title", lang))
    # the programmes planned this year; SOC-1 starts next year and is not on this year's list
    for code in ("P-GOV-1", "P-GOV-2", "P-LIV-1", "P-ENV-1", "P-ECO-1"):
        assert code in body
    assert "P-SOC-1" not in body
    assert "Satu Data Kota" in body and "Bank sampah digital" in body
    # the stalled ones are marked, the running and the accepted stop are not
    stalled = {"id": "(MANDEK)", "en": "(STALLED)"}[lang]
    assert body.count(stalled) == 3
    assert "Tanda tangan" in body
    # budgets this year: GOV-1 1.25 bn + 0.25 bn, GOV-2 0.5 bn, ENV-1 75 m (partner)
    assert number(1_500_000_000, lang, 0) in body
    total = number(2_075_000_000, lang, 0)
    assert total == ("2.075.000.000" if lang == "id" else "2,075,000,000")
    assert t("rc.prog_budget_total", lang, year=YEAR, total=total) in body
    # each dimension's method, with its value written in the language's decimal mark
    assert t("drill.method.programmes", lang) in body and t("drill.method.survey", lang) in body
    assert number(cs.dimensions["OUTCOME"], lang) == ("0,33" if lang == "id" else "0.33")
    assert number(cs.dimensions["OUTCOME"], lang) in body.split()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_card_gives_the_survey_figures_per_programme(programme_cards, lang, tmp_path):
    from metrics.i18n import t

    out, _ = programme_cards
    body = _programme_pages(out[lang], tmp_path, t("rc.prog_title", lang))
    dec = "," if lang == "id" else "."
    # pdftotext reads a table cell by cell, so the figures are checked as words: GOV-1 has 60
    # respondents, mean 4,00, impact 3,00 and counts; LIV-1 has 30, 5,00, 4,00 and does not
    survey = body[body.index(t("rc.survey_title", lang, name="")) :]
    words = survey.split()
    for w in ("P-GOV-1", "60", f"4{dec}00", f"3{dec}00", "P-LIV-1", "30", f"5{dec}00"):
        assert w in words, w
    assert t("drill.method_counted", lang) in words
    assert flat(t("drill.method_insufficient", lang, min=50)) in survey
    assert t("rc.survey_note", lang, min=50) in body
    assert "P-XXX-9" not in survey  # not in the register: ignored
