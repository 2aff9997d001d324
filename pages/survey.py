"""Survei warga: import the citizen impact survey and see the figures the Impact dimension uses.

The national evaluation scores Impact from a survey of selected programmes (at least 50
respondents each, answers 1-5). Cities run it with the form tools they have, so the export is
uploaded as it is (Google Forms, KoboToolbox/ODK, XLSX, CSV), the page asks which column names
the programme and which columns are the questions (pre-filled from the core's suggestion: the
city's last mapping, else a guess), and the core checks everything (personal data, codes,
answers), stores only per-programme counts and sums, and remembers the mapping. This page only
collects the choice and shows the answer.
"""

import pandas as pd
import streamlit as st

from metrics import entry, surveys
from metrics.auth import Action, require
from metrics.errors import CoreError, Rejected
from ui import charts, outcome, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("survey.page.title"))
if f.city is None or f.year is None:
    st.info(tr("empty.first_run"), icon=":material/database:")
    st.stop()
city, year = f.city, f.year
try:  # the whole page is the import's: a role that may not import sees nothing of it
    require(user, Action.IMPORT_SURVEY, city)
except CoreError as exc:
    st.error(shell.core_message(exc))
    st.stop()
summary = shell.cached(surveys.survey_summary, store, user, city, year, lang)
st.caption(tr("survey.page.intro", year=year, min=summary.min_respondents))

IMPACT_COLUMNS = {
    "code": ("text", "survey.page.col_code"),
    "name": ("text", "survey.page.col_name"),
    "owner_opd": ("text", "col.opd_code"),
    "respondents": ("int", "survey.page.col_respondents"),
    "mean_answer": ("level", "survey.page.col_mean"),
    "impact": ("level", "survey.page.col_impact"),
    "sufficient": ("tag", "survey.page.sufficient"),
}


def impacts(rows, key: str) -> None:
    """Per programme: respondents, mean answer (1-5), impact (0-4) and whether it is counted."""
    charts.table(pd.DataFrame(rows, columns=list(IMPACT_COLUMNS)), IMPACT_COLUMNS, key=key)


# ------------------------------------------------------------------ the survey in force
st.subheader(tr("survey.page.in_force", year=year))
if summary.upload is None:
    st.caption(tr("survey.page.none", year=year))
else:
    up0 = summary.upload
    st.caption(
        tr(
            "survey.page.upload_meta",
            id=up0.id,
            file=charts.md_escape(up0.file_name or "–"),
            user=charts.md_escape(up0.username),
            at=charts.fmt_time(up0.accepted_at),
            n=up0.n_rows,
            superseded=summary.superseded,
        )
    )
    c1, c2 = st.columns(2)
    c1.metric(tr("survey.page.programmes"), len(summary.programmes), border=True)
    c2.metric(
        tr("survey.page.mean_impact"),
        charts.fmt(summary.mean_impact),
        border=True,
        help=tr("survey.page.mean_impact_help", min=summary.min_respondents),
    )
    if summary.note:
        st.warning(charts.md_escape(summary.note), icon=":material/warning:")
    impacts(summary.programmes, "sv_in_force")

# ------------------------------------------------------------------ import: file, mapping, import
st.subheader(tr("survey.page.import"))
st.caption(tr("survey.page.import_help"))
up = st.file_uploader(tr("survey.page.file"), type=None, key="sv_file")
if up is None:
    st.session_state.pop("sv_read", None)
elif st.session_state.get("sv_read") != up.file_id:
    # a new file: read it once, offer the core's mapping, forget the previous file's answer
    st.session_state["sv_read"] = up.file_id
    st.session_state.pop("sv_result", None)
    try:
        table = surveys.read_survey_table(up.getvalue(), up.name)
    except Rejected as exc:
        st.session_state["sv_table"] = exc.problems
    else:
        st.session_state["sv_table"] = table
        guess = surveys.suggest_mapping(store, city, table)
        st.session_state["sv_prog"] = guess.programme_column if guess else next(iter(table.header), None)
        st.session_state["sv_questions"] = list(guess.question_columns) if guess else []

table = st.session_state.get("sv_table") if up is not None else None
if isinstance(table, list):  # the file could not be read as a table: every problem, located
    outcome.problems(entry.Outcome("rejected", up.name, problems=table), "sv_read")
elif table is not None:
    st.caption(tr("survey.page.read", rows=len(table.rows), cols=len(table.header)))
    c1, c2 = st.columns([1, 2])
    prog = c1.selectbox(tr("survey.page.programme_column"), table.header, key="sv_prog")
    questions = c2.multiselect(tr("survey.page.question_columns"), table.header, key="sv_questions")
    if st.button(tr("survey.page.submit"), type="primary", key="sv_import", icon=":material/upload:"):
        try:
            st.session_state["sv_result"] = surveys.import_survey(
                store,
                user,
                city,
                year,
                up.getvalue(),
                up.name,
                surveys.SurveyMapping(prog, tuple(questions)),
            )
        except CoreError as exc:
            st.error(shell.core_message(exc))
        else:
            st.rerun()  # the survey in force above shows the import at once

result = st.session_state.get("sv_result") if up is not None else None
if result is not None and result.accepted:
    st.success(
        tr(
            "survey.page.imported",
            file=charts.md_escape(result.file_name),
            n=len(result.programmes),
            rows=result.rows,
        ),
        icon=":material/task_alt:",
    )
    impacts(result.programmes, "sv_result_table")
elif result is not None:
    outcome.problems(entry.Outcome("rejected", result.file_name, problems=result.problems), "sv")

# ------------------------------------------------------------------ earlier imports of the year
st.subheader(tr("survey.page.history"))
history = shell.cached(surveys.survey_history, store, user, city, year)
charts.table(
    pd.DataFrame(history, columns=["id", "file_name", "username", "accepted_at", "source", "n_rows"]),
    {
        "id": ("int", "survey.page.col_id"),
        "file_name": ("text", "col.file"),
        "username": ("text", "history.col_user"),
        "accepted_at": ("datetime", "history.col_at"),
        "source": ("text", "history.col_source"),
        "n_rows": ("int", "upload.col_rows"),
    },
    key="sv_history",
    empty="survey.page.history_none",
)
