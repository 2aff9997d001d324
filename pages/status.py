"""Papan status: where an administrator lands — the city-year at a glance: completeness by OPD,
who is overdue (with the printable daftar tunggakan), the last uploads, indicators nobody answers."""

import streamlit as st

from metrics import deadlines, home
from metrics.errors import CoreError
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()
board = shell.cached(home.status_board, store, user, f.city, f.year, lang)

charts.header("status.title", board)
if charts.empty_state(board):
    st.stop()
cs = board.status
dl = cs.deadline
left = cs.days_left
if dl.self_due is None:
    st.info(tr("compl.no_deadline"), icon=":material/event:")
else:
    st.caption(
        tr(
            "compl.deadline",
            date=charts.fmt_date(dl.self_due),
            left=tr("home.days_left", n=left)
            if left > 0
            else tr("home.due_today")
            if left == 0
            else tr("home.days_over", n=-left),
        )
    )

c1, c2, c3 = st.columns(3)
c1.metric(tr("status.complete_n"), f"{cs.n_complete} / {len(cs.opds)}", border=True)
c2.metric(tr("status.overdue_n"), len(board.overdue), border=True)
c3.metric(
    tr("compl.on_time_rate"), charts.fmt_pct(board.on_time_rate), border=True, help=tr("compl.on_time_help")
)

if not board.orphans.empty:
    st.warning(tr("orphans.warning", n=len(board.orphans)), icon=":material/person_off:")
    st.caption(tr("orphans.title"))
    charts.table(
        board.orphans,
        {
            "code": ("text", "col.code"),
            "name": ("text", "col.indicator"),
            "opd_types": ("text", "col.opd_types"),
        },
        key="st_orphans",
    )

st.subheader(tr("status.overdue"))
charts.table(
    board.overdue,
    {
        "name": ("text", "col.opd"),
        "head_name": ("text", "col.head"),
        "missing": ("int", "col.missing_n"),
        "days_overdue": ("int", "col.days_overdue"),
    },
    key="st_overdue",
    empty="status.no_overdue",
)


def overdue_file(fmt: str) -> bytes:
    try:
        return deadlines.overdue_list(store, user, f.city, f.year, fmt, lang).data
    except CoreError as exc:  # shown on the next run; the download gets nothing
        st.session_state["status_error"] = shell.core_message(exc)
        return b""


d1, d2 = st.columns(2)
d1.download_button(
    tr("status.pdf"),
    lambda: overdue_file("pdf"),
    file_name=f"tunggakan_{f.city}_{f.year}.pdf",
    mime="application/pdf",
    key="st_pdf",
    icon=":material/picture_as_pdf:",
)
d2.download_button(
    tr("status.xlsx"),
    lambda: overdue_file("xlsx"),
    file_name=f"tunggakan_{f.city}_{f.year}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="st_xlsx",
    icon=":material/table:",
)
if st.session_state.get("status_error"):
    st.error(st.session_state.pop("status_error"))

smtp = shell.smtp_settings()
if smtp is not None:
    if st.button(tr("status.remind"), key="st_remind", help=tr("status.remind_help")):
        try:
            sent = deadlines.send_reminders(store, user, f.year, smtp, cities=[f.city], lang=lang)
        except (CoreError, OSError) as exc:
            st.error(shell.core_message(exc) if isinstance(exc, CoreError) else str(exc))
        else:
            st.success(
                tr(
                    "status.remind_done",
                    sent=deadlines.count_sent(sent),
                    skipped=len(sent) - deadlines.count_sent(sent),
                )
            )

st.subheader(tr("status.opds"))
charts.table(
    board.opds,
    {
        "name": ("text", "col.opd"),
        "status": ("tag", "status"),
        "completeness": ("pct", "col.completeness"),
        "answered": ("int", "col.answered"),
        "pairs": ("int", "col.required"),
        "timeliness": ("tag", "timeliness"),
        "submitted_at": ("datetime", "col.submitted_at"),
        "days_overdue": ("int", "col.days_overdue"),
    },
    key="st_opds",
)

st.subheader(tr("status.last_uploads"))
charts.table(
    board.last_uploads,
    {
        "accepted_at": ("datetime", "col.submitted_at"),
        "opd_name": ("text", "col.opd"),
        "file_name": ("text", "status.col.file"),
        "username": ("text", "status.col.user"),
        "id": ("int", "col.submission"),
    },
    key="st_last",
    empty="status.no_uploads",
)
