"""Beranda OPD: where an OPD operator lands — their OPD's status for the open year and ONE next step."""

import streamlit as st

from metrics import home, interviews
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
h = shell.cached(home.opd_home, store, user)

st.title(tr("home.title", opd=charts.md_escape(h.opd_name)))
if h.year is None:
    st.info(tr("home.no_year"), icon=":material/event_busy:")
    st.stop()
st.caption(tr("home.context", city=charts.md_escape(h.city_name), year=h.year))

c1, c2, c3 = st.columns(3)
c1.metric(tr("home.answered"), f"{h.answered} / {h.pairs}", border=True)
# the date as the value (a third of the page is too narrow for "#846 · 10 Februari 2024"), the
# version's number beside the label
c2.metric(
    tr("home.version_of", id=h.submission_id) if h.submission_id is not None else tr("home.version"),
    charts.fmt_date(h.submitted_at) if h.submission_id is not None else tr("home.version_none"),
    border=True,
)
left = h.days_left
c3.metric(
    tr("home.deadline"),
    charts.fmt_date(h.deadline.self_due) if h.deadline and h.deadline.self_due else tr("home.deadline_none"),
    border=True,
    delta=None
    if left is None
    else (
        tr("home.days_left", n=left)
        if left > 0
        else tr("home.due_today")
        if left == 0
        else tr("home.days_over", n=-left)
    ),
    delta_color="normal" if left is not None and left > 0 else "inverse" if left is not None else "off",
    delta_arrow="off",
)

st.subheader(tr("home.next"))
target = {
    "upload": "upload.py",
    "continue": "entry.py",
    "complete": "entry.py",
    "done": "history.py",
    "closed": "history.py",
}[h.next_action]
label = tr(f"home.action.{h.next_action}", n=len(h.missing))
st.caption(tr(f"home.help.{h.next_action}", date=charts.fmt_time(h.draft_at), year=h.year))
if st.button(label, key="home_next", type="primary", icon=":material/arrow_forward:"):
    st.switch_page(str(shell.PAGES / target))
if h.missing:
    with st.expander(tr("home.missing", n=len(h.missing))):
        st.text(", ".join(h.missing))
# "tidak berlaku" answers: a rejected one goes back to the OPD with the assessor's note (to fix);
# a pending one waits for the assessor and counts as not answered until confirmed
for item in h.na_rejected:
    st.warning(
        tr("na.home_rejected", code=item.code, note=charts.md_escape(item.note or "-")),
        icon=":material/undo:",
    )
if h.na_pending:
    st.caption(tr("na.home_pending", n=len(h.na_pending), codes=", ".join(i.code for i in h.na_pending)))

# the assessors' open clarification requests (issue 18): each with its due date, late ones marked;
# the answer is given on the form, where the request shows on the indicator's card
if h.requests:
    st.subheader(tr("clarify.home.title", n=len(h.requests)))
    for rv in h.requests:
        c = rv.request
        due = charts.fmt_date(c.due) if c.due else tr("clarify.no_due")
        text = tr(
            "clarify.home.item",
            code=c.indicator_code,
            indicator=charts.md_escape(rv.indicator),
            due=due,
            message=charts.md_escape(c.message),
        )
        if rv.overdue:
            st.error(text + " " + tr("clarify.home.late", n=rv.days_overdue), icon=":material/schedule:")
        else:
            st.warning(text, icon=":material/help:")
    if st.button(tr("clarify.home.answer"), key="home_clarify", icon=":material/edit_note:"):
        st.switch_page(str(shell.PAGES / "entry.py"))

# the next interview sessions the OPD attends (issue 18), each with its calendar file
if h.interview_sessions:
    st.subheader(tr("interview.home.title"))
    for s in h.interview_sessions:
        iv = s.interview
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.markdown(
            charts.md_escape(
                tr("interview.when", start=charts.fmt_time(iv.starts_at), zone=s.zone, minutes=iv.minutes)
                + " · "
                + (iv.place or iv.video_link or "")
            )
        )
        c2.download_button(
            tr("interview.page.ics"),
            lambda sid=iv.id: interviews.ics(store, user, h.city_code, sid, shell.lang()),
            file_name=interviews.ics_name(h.city_code, iv.id),
            mime=interviews.ICS_MIME,
            key=f"home_ics_{iv.id}",
            icon=":material/calendar_add_on:",
        )
