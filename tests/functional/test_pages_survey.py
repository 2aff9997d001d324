"""Survei warga (issue 17) through the real router with AppTest, on a private copy of the demo DB.

An admin uploads a small survey export (the shape Google Forms writes: a timestamp, the
programme code, a 1-5 question per column, plus an age-group column of 1-4 codes that looks like
a question), takes the core's suggested mapping, drops the age-group column in the mapping step,
imports, and sees per programme the respondents, mean answer and impact worked out by hand below;
the import is stored, audited and its mapping remembered. A file with a personal-data column is
refused with its sheet/row/column and stores nothing. Roles that may not import (a viewer, the
mayor's office) get the stand-in sentence and none of the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import surveys, users
from metrics.auth import SYSTEM
from metrics.formatting import number
from metrics.i18n import t as core_t
from metrics.records import Programme
from metrics.store import Store, utcnow
from tests.apptest_support import no_errors, t
from ui.charts import md_escape
from ui.shell import Filters

ROOT = Path(__file__).resolve().parents[2]
CITY, YEAR = "3299", 2024

# Two programmes of the city, planned for 2024 (the survey checks code, city and year).
PROGRAMMES = (
    Programme("PRG-SRV-1", "Mal pelayanan publik digital", "GOV.PUB", "masterplan", "01", 2023, 2026),
    Programme("PRG-SRV-2", "Aplikasi keluhan warga", "GOV.PUB", "quickwin", "01", 2024, 2024),
)
HEADER = "Timestamp,Kode program,Kelompok usia,Q1 Kemudahan layanan,Q2 Manfaat bagi warga"
# PRG-SRV-1: 50 respondents, 25 answering (4, 5) and 25 answering (3, 4): 100 answers summing to
#   25*9 + 25*7 = 400, mean 4.00, impact 3.00, counted (50 >= 50).
# PRG-SRV-2: 2 respondents, (2, 3) and (1, 2): 4 answers summing to 8, mean 2.00, impact 1.00,
#   not counted (2 < 50). The age-group column (1-4) is left out by the mapping step.
ROWS = (
    [f"2024/05/0{1 + n % 9} 10:00:00,PRG-SRV-1,{1 + n % 4},4,5" for n in range(25)]
    + [f"2024/06/0{1 + n % 9} 11:00:00,PRG-SRV-1,{1 + n % 4},3,4" for n in range(25)]
    + ["2024/06/10 09:00:00,PRG-SRV-2,2,2,3", "2024/06/11 09:30:00,PRG-SRV-2,4,1,2"]
)
SURVEY_CSV = ("\n".join([HEADER, *ROWS]) + "\n").encode()
QUESTIONS = ["Q1 Kemudahan layanan", "Q2 Manfaat bagi warga"]


def with_store(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def add_programmes(path: Path) -> None:
    """The register the survey refers to (until the demo data carries programmes)."""

    def add(store: Store) -> None:
        with store.transaction() as cur:
            store.insert_programme_version(cur, CITY, PROGRAMMES, SYSTEM.username, "load", "test.xlsx")
        store.checkpoint()

    with_store(path, add)


def run_page(path: Path, username: str = "admin", lang: str = "id") -> AppTest:
    user = with_store(path, lambda s: users.get_user(s, username))
    now = utcnow()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, now, now)
    at.session_state["lang"] = lang
    at.session_state["f_city"] = CITY
    at.run()
    at.switch_page("pages/survey.py").run()
    return at


def table_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns and len(d.value))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_survey_page_renders_for_the_admin_with_the_survey_in_force(app_db, lang):
    expected = with_store(app_db, lambda s: surveys.survey_summary(s, SYSTEM, CITY, YEAR, lang))
    at = run_page(app_db, lang=lang)
    no_errors(at)
    assert at.title[0].value == t("survey.page.title", lang)
    if expected.upload is None:
        assert t("survey.page.none", lang, year=YEAR) in [c.value for c in at.caption]
    else:  # the demo's survey: the core's figures, one row per surveyed programme
        assert at.metric[0].value == str(len(expected.programmes))
        assert at.metric[1].value == number(expected.mean_impact, lang)
        shown = table_with(at, "respondents")
        assert list(shown["respondents"]) == [p.respondents for p in expected.programmes]
        assert list(shown["code"]) == [p.code for p in expected.programmes]
    assert at.file_uploader(key="sv_file") is not None
    assert not [b for b in at.button if b.key == "sv_import"]  # nothing to import before a file


def test_admin_imports_a_survey_export_through_the_mapping_step(app_db):
    add_programmes(app_db)
    at = run_page(app_db, lang="en")
    at.file_uploader(key="sv_file").set_value(("survei-2024.csv", SURVEY_CSV, "text/csv")).run()
    no_errors(at)
    assert t("survey.page.read", "en", rows=len(ROWS), cols=5) in [c.value for c in at.caption]
    # the core's guess: the programme column by its name; every 1-5 column a question, the
    # timestamp left out as form metadata; the age-group codes look like answers too
    assert at.selectbox(key="sv_prog").value == "Kode program"
    assert at.multiselect(key="sv_questions").value == ["Kelompok usia", *QUESTIONS]
    at.multiselect(key="sv_questions").set_value(QUESTIONS).run()  # the mapping step: not a question
    at.button(key="sv_import").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        t("survey.page.imported", "en", file=md_escape("survei-2024.csv"), rows=len(ROWS), n=2)
    ]
    result = at.dataframe[-2].value  # the import's table, then the history
    assert list(result["code"]) == ["PRG-SRV-1", "PRG-SRV-2"]
    assert list(result["respondents"]) == [50, 2]
    assert list(result["mean_answer"]) == [4.0, 2.0]
    assert list(result["impact"]) == [3.0, 1.0]
    assert list(result["sufficient"]) == [
        t("survey.page.sufficient.True", "en"),
        t("survey.page.sufficient.False", "en"),
    ]
    # the survey in force above shows the import: the Impact value counts PRG-SRV-1 only
    assert at.metric[0].value == "2" and at.metric[1].value == number(3.0, "en")
    assert any(md_escape("PRG-SRV-2") in w.value for w in at.warning)  # left out: too few respondents

    def stored(store: Store):
        upload, results = store.survey_in_force(CITY, YEAR)
        audit = [r for r in store.audit_rows() if r.action == "survey.import" and r.username == "admin"]
        return upload, results, audit, store.survey_mapping(CITY)

    upload, results, audit, mapping = with_store(app_db, stored)
    assert (upload.username, upload.file_name, upload.n_rows, upload.source) == (
        "admin",
        "survei-2024.csv",
        52,
        "upload",
    )
    assert [(r.programme_code, r.respondents, r.answers, r.answer_sum, r.owner_opd) for r in results] == [
        ("PRG-SRV-1", 50, 100, 400.0, "01"),
        ("PRG-SRV-2", 2, 4, 8.0, "01"),
    ]
    assert len(audit) == 1 and audit[0].username == "admin"
    assert '"programme_column": "Kode program"' in mapping and "Kelompok usia" not in mapping

    # the next file of this city starts from the mapping remembered, not from the guess
    at = run_page(app_db, lang="en")
    at.file_uploader(key="sv_file").set_value(("survei-ulang.csv", SURVEY_CSV, "text/csv")).run()
    no_errors(at)
    assert at.multiselect(key="sv_questions").value == QUESTIONS


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_personal_data_column_is_refused_located_and_nothing_is_stored(app_db, lang):
    add_programmes(app_db)
    uploads = with_store(app_db, lambda s: len(s.survey_uploads(CITY)))
    data = (
        "Nama responden," + HEADER + "\n" + "\n".join(f"Warga {n}," + r for n, r in enumerate(ROWS)) + "\n"
    ).encode()
    at = run_page(app_db, lang=lang)
    at.file_uploader(key="sv_file").set_value(("survei-nama.csv", data, "text/csv")).run()
    at.multiselect(key="sv_questions").set_value(QUESTIONS).run()
    at.button(key="sv_import").click().run()
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [t("upload.rejected", lang, file=md_escape("survei-nama.csv"), n=1)]
    problems = table_with(at, "message")
    assert list(problems["row"]) == [1] and list(problems["column"]) == ["Nama responden"]
    assert "Nama responden" in problems["message"][0]
    assert with_store(app_db, lambda s: len(s.survey_uploads(CITY))) == uploads


@pytest.mark.parametrize("username", ["tamu", "walikota", "opd.kominfo"])
def test_roles_that_may_not_import_are_not_offered_the_page_and_are_refused(app_db, username):
    user = with_store(app_db, lambda s: users.get_user(s, username))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["session"] = users.Session(user, utcnow(), utcnow())
    at.run()
    offered = {
        Path(str(i["script_path"])).name for i in at._registered_pages.values() if i.get("script_path")
    }
    assert "survey.py" not in offered and "overview.py" in offered
    # the file run directly (a bypassed router): the core's refusal, nothing of the page
    direct = AppTest.from_file(str(ROOT / "pages" / "survey.py"), default_timeout=60)
    direct.session_state["session"] = users.Session(user, utcnow(), utcnow())
    direct.session_state["filters"] = Filters(CITY, YEAR, None, None)
    direct.run()
    assert not direct.exception
    assert [e.value for e in direct.error] == [
        core_t(
            "perm.denied",
            "id",
            role=user.role,
            action=md_escape("import_survey"),
            scope=md_escape(f" ({CITY})"),
        )
    ]
    assert not direct.file_uploader and not direct.dataframe and not direct.metric
