"""Wawancara: the assessors' interview sessions with a city's OPDs.

Assessors and the administrator schedule a session (date and time in the city's zone, length,
place or video link, the OPDs that attend, the indicators to discuss), cancel it, and keep notes
with the indicators discussed; everyone who may see a session takes it as an .ics file for their
calendar. The mayor's office and the planners read; an OPD operator sees its own OPD's sessions.
The core decides all of it (metrics.interviews); this page collects the choices and draws.
"""

from datetime import UTC, date, datetime, time

import streamlit as st

from metrics import interviews
from metrics.errors import CoreError
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("interview.page.title"))
if f.city is None:
    st.info(tr("empty.first_run"), icon=":material/database:")
    st.stop()
city = f.city
# the minute is part of the key: a session moves from "to come" to "past" as time goes by
minute = datetime.now(UTC).replace(second=0, microsecond=0)
b = shell.cached(interviews.board, store, user, city, f.year, lang, minute)
st.caption(tr("interview.page.intro", city=charts.md_escape(b.city_name), zone=b.zone))

flash = st.session_state.pop("iv_flash", None)
if flash:
    st.success(flash, icon=":material/task_alt:")

indicator_names = dict(b.indicator_options)


def when(s: interviews.Session) -> str:
    return tr(
        "interview.when",
        start=charts.fmt_time(s.interview.starts_at),
        zone=s.zone,
        minutes=s.interview.minutes,
    )


def act(call, done_key: str, **params) -> None:
    """Run one core write; on success say so after the rerun, on refusal say why."""
    try:
        call()
    except CoreError as exc:
        st.error(shell.core_message(exc))
    else:
        st.session_state["iv_flash"] = tr(done_key, **params)
        st.rerun()


def session_card(s: interviews.Session) -> None:
    iv = s.interview
    with st.container(border=True):
        head = charts.md_escape(when(s))
        st.markdown(f"**{head}**" + (" · " + tr("interview.page.cancelled") if iv.cancelled else ""))
        if iv.place:
            st.caption(tr("interview.page.place", place=charts.md_escape(iv.place)))
        if iv.video_link:
            st.caption(tr("interview.page.link"))
            st.code(iv.video_link, language=None)  # shown as text to copy, never as a live link
        st.caption(tr("interview.page.opds", opds=charts.md_escape(", ".join(s.opd_names))))
        if iv.indicator_codes:
            st.caption(tr("interview.page.indicators", codes=charts.md_escape(", ".join(iv.indicator_codes))))
        st.download_button(
            tr("interview.page.ics"),
            lambda sid=iv.id: interviews.ics(store, user, city, sid, lang),
            file_name=interviews.ics_name(city, iv.id),
            mime=interviews.ICS_MIME,
            key=f"iv_ics_{iv.id}",
            icon=":material/calendar_add_on:",
        )
        for n in s.notes:
            st.caption(
                tr(
                    "interview.page.note_meta",
                    user=charts.md_escape(n.by),
                    at=charts.fmt_time(n.at),
                    codes=charts.md_escape(", ".join(n.indicators) or "–"),
                )
            )
            st.text(n.text)
        if not b.can_schedule or iv.cancelled:
            return
        with st.expander(tr("interview.page.add_note")):
            text = st.text_area(
                tr("interview.page.note"), key=f"iv_note_{iv.id}", max_chars=interviews.MAX_NOTE
            )
            options = list(dict.fromkeys([*iv.indicator_codes, *indicator_names]))
            discussed = st.multiselect(
                tr("interview.page.discussed"),
                options,
                default=list(iv.indicator_codes),
                key=f"iv_discussed_{iv.id}",
                format_func=lambda c: indicator_names.get(c, c),
            )
            if st.button(tr("interview.page.save_note"), key=f"iv_save_note_{iv.id}", icon=":material/save:"):
                act(
                    lambda: interviews.add_notes(store, user, city, iv.id, text, discussed),
                    "interview.page.note_saved",
                )
        if st.button(tr("interview.page.cancel"), key=f"iv_cancel_{iv.id}", icon=":material/event_busy:"):
            act(lambda: interviews.cancel(store, user, city, iv.id), "interview.page.cancelled_done")


# ------------------------------------------------------------------ schedule (assessors, admin)
if b.can_schedule:
    with st.expander(tr("interview.page.schedule"), icon=":material/add:", expanded=not b.upcoming):
        opd_names = dict(b.opd_options)
        with st.form("iv_form", clear_on_submit=False):
            c1, c2, c3 = st.columns(3)
            day = c1.date_input(
                tr("interview.page.date"), value=b.today or date.today(), key="iv_date", format="DD/MM/YYYY"
            )
            at_time = c2.time_input(tr("interview.page.time", zone=b.zone), value=time(9, 0), key="iv_time")
            minutes = c3.number_input(
                tr("interview.page.minutes"),
                min_value=interviews.MIN_MINUTES,
                max_value=interviews.MAX_MINUTES,
                value=90,
                step=15,
                key="iv_minutes",
            )
            place = st.text_input(
                tr("interview.page.place_input"), key="iv_place", max_chars=interviews.MAX_PLACE
            )
            link = st.text_input(
                tr("interview.page.link_input"), key="iv_link", max_chars=interviews.MAX_LINK
            )
            opds = st.multiselect(
                tr("interview.page.opds_input"),
                list(opd_names),
                key="iv_opds",
                format_func=lambda c: f"{c} · {opd_names.get(c, c)}",
            )
            chosen = st.multiselect(
                tr("interview.page.indicators_input", year=f.year),
                list(indicator_names),
                key="iv_indicators",
                format_func=lambda c: indicator_names.get(c, c),
            )
            agenda = st.text_area(tr("interview.page.agenda"), key="iv_agenda", max_chars=interviews.MAX_NOTE)
            if st.form_submit_button(tr("interview.page.submit"), type="primary", icon=":material/event:"):
                act(
                    lambda: interviews.schedule(
                        store,
                        user,
                        city,
                        datetime.combine(day, at_time) if day and at_time else None,
                        int(minutes),
                        place,
                        link,
                        opds,
                        chosen,
                        agenda,
                    ),
                    "interview.page.scheduled",
                )

# ------------------------------------------------------------------ sessions to come, then past ones
st.subheader(tr("interview.page.upcoming"))
if not b.upcoming:
    st.caption(tr("interview.page.none_upcoming"))
for s in b.upcoming:
    session_card(s)
if f.year is not None:
    st.subheader(tr("interview.page.past", year=f.year))
    if not b.past:
        st.caption(tr("interview.page.none_past", year=f.year))
    for s in b.past:
        session_card(s)
