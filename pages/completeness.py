"""Kelengkapan: who has submitted for the year and what is still missing, so an empty dashboard shows."""

import streamlit as st

from metrics import views
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
cp = shell.cached(views.completeness, store, f.city, f.year, shell.lang(), user=shell.current_user())

charts.header("compl.title", cp)
if charts.empty_state(cp):
    st.stop()

c1, c2, c3, c4, c5 = st.columns(5)
c1.metric(
    tr("compl.submitted"), f"{cp.n_submitted} / {cp.n_opds}", border=True, help=tr("compl.submitted_help")
)
c2.metric(tr("compl.complete"), f"{cp.n_complete} / {cp.n_opds}", border=True)
c3.metric(
    tr("overview.completeness"),
    charts.fmt_pct(cp.completeness),
    border=True,
    help=tr("overview.completeness_help"),
)
c4.metric(
    tr("overview.missing"), f"{cp.missing} / {cp.indicators}", border=True, help=tr("overview.missing_help")
)
c5.metric(
    tr("compl.on_time_rate"), charts.fmt_pct(cp.on_time_rate), border=True, help=tr("compl.on_time_help")
)
st.caption(tr("overview.answered", answered=cp.answered, pairs=cp.pairs))
left = cp.days_left
if cp.deadline is None or cp.deadline.self_due is None:
    st.caption(tr("compl.no_deadline"))
else:
    st.caption(
        tr(
            "compl.deadline",
            date=charts.fmt_date(cp.deadline.self_due),
            left=tr("home.days_left", n=left)
            if left > 0
            else tr("home.due_today")
            if left == 0
            else tr("home.days_over", n=-left),
        )
    )
if not cp.orphans.empty:  # indicators nobody in the city can answer: visible, not a silent zero
    st.warning(tr("orphans.warning", n=len(cp.orphans)), icon=":material/person_off:")
    st.caption(tr("orphans.title"))
    charts.table(
        cp.orphans,
        {
            "code": ("text", "col.code"),
            "name": ("text", "col.indicator"),
            "opd_types": ("text", "col.opd_types"),
        },
        key="cp_orphans",
    )

if cp.n_submitted == 0:
    st.warning(
        tr("compl.nothing", city=charts.md_escape(cp.city_name), year=cp.year), icon=":material/upload_file:"
    )
elif cp.n_not_submitted:
    st.warning(tr("compl.some_missing", n=cp.n_not_submitted), icon=":material/pending_actions:")
else:
    st.success(tr("compl.all_submitted"), icon=":material/task_alt:")
if cp.missing and cp.scale.missing_rule == "zero":
    st.caption(tr("scale.missing_zero", n=cp.missing, total=cp.indicators, lo=cp.scale.min))

st.subheader(tr("compl.heat"))
st.caption(tr("compl.heat_help"))
charts.show(charts.completeness_heatmap(cp.heat, cp.opd_order, cp.pillars), key="cp_heat")

st.subheader(tr("compl.opds"))
charts.table(
    cp.opds,
    {
        "opd_code": ("text", "col.opd_code"),
        "name": ("text", "col.opd"),
        "opd_type": ("text", "col.opd_type"),
        "status": ("tag", "status"),
        "completeness": ("pct", "col.completeness"),
        "answered": ("int", "col.answered"),
        "pairs": ("int", "col.required"),
        "timeliness": ("tag", "timeliness"),
        "last_upload": ("datetime", "col.last_upload"),
        "submission_id": ("int", "col.submission"),
    },
    key="cp_opds",
)

st.subheader(tr("compl.missing_title"))
st.caption(tr("compl.missing_help"))
charts.table(
    cp.missing_indicators,
    {
        "code": ("text", "col.code"),
        "name": ("text", "col.indicator"),
        "status": ("tag", "istatus"),
        "answered": ("int", "col.answered"),
        "responsible": ("int", "col.responsible"),
        "opd_types": ("text", "col.opd_types"),
        "pillar": ("text", "col.pillar"),
        "dimension": ("text", "col.dimension"),
    },
    key="cp_missing",
    empty="compl.none_missing",
)

# open clarification requests past their due date (issue 18): for readers of the submissions only
if not cp.overdue_requests.empty:
    st.subheader(tr("clarify.overdue_title", n=len(cp.overdue_requests)))
    st.caption(tr("clarify.overdue_help"))
    charts.table(
        cp.overdue_requests,
        {
            "code": ("text", "col.code"),
            "indicator": ("text", "col.indicator"),
            "opd_name": ("text", "col.opd"),
            "due_text": ("text", "clarify.col.due"),
            "days_overdue": ("int", "clarify.col.days_overdue"),
            "asked_by": ("text", "clarify.col.asked_by"),
        },
        key="cp_clarify_overdue",
    )
