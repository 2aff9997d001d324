"""Log audit: the append-only, hash-chained audit trail, filtered, checked and downloadable.

The core (metrics.admin.read_audit) filters the log and checks it whole on every visit (the
keyed chain and the head kept outside the database), so a row edited, cut or deleted behind the
application's back shows here at once, each kind in its own sentence. The CSV is neutralised
against formula injection by metrics.reports.
"""

import streamlit as st

from metrics import admin, reports
from metrics.errors import CoreError
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
lang = shell.lang()

# the filters' current values are read before the call, and the widgets drawn after it, so the
# choices offered come from the same read of the log
picked_user = st.session_state.get("audit_user")
picked_action = st.session_state.get("audit_action")
dates = st.session_state.get("audit_dates") or ()
try:
    log = admin.read_audit(
        store,
        user,
        picked_user,
        picked_action,
        since=dates[0] if len(dates) > 0 else None,
        until=dates[-1] if len(dates) > 0 else None,
        check_chain=True,
    )
except CoreError as exc:  # not an admin: say so and show nothing of the log
    st.error(shell.core_message(exc))
    st.stop()

st.title(tr("audit.title"))
st.caption(tr("audit.intro"))
if log.chain_ok:
    st.success(tr("audit.chain_ok", n=log.total), icon=":material/verified_user:")
else:
    if log.broken:
        st.error(
            tr("audit.chain_broken", n=len(log.broken), ids=", ".join(map(str, log.broken[:20]))),
            icon=":material/gpp_bad:",
        )
    for finding in log.report.findings:  # a cut tail, a lost head or key, a dropped table
        if finding.error and finding.key not in ("broken", "unkeyed"):
            st.error(charts.md_escape(finding.message(lang)), icon=":material/gpp_bad:")
for note in log.report.notes(lang):
    st.info(charts.md_escape(note))
if log.report.head is not None:
    st.caption(tr("audit.head", head=log.report.head.short()))

c1, c2, c3 = st.columns(3)
if picked_user not in (None, *log.usernames):
    st.session_state["audit_user"] = None
if picked_action not in (None, *log.actions):
    st.session_state["audit_action"] = None
c1.selectbox(
    tr("audit.user"),
    [None, *log.usernames],
    key="audit_user",
    format_func=lambda v, all_=tr("filter.all"): all_ if v is None else v,
)
c2.selectbox(
    tr("audit.action"),
    [None, *log.actions],
    key="audit_action",
    format_func=charts.words_func("audit.act", "filter.all"),
)
c3.date_input(tr("audit.dates"), value=(), key="audit_dates", format="YYYY-MM-DD")

st.caption(tr("audit.shown", n=len(log.rows), total=log.total))
if log.truncated:
    st.warning(tr("audit.truncated", limit=log.limit))
charts.table(
    log.rows,
    {
        "id": ("int", "audit.col.id"),
        "logged_at": ("datetime", "audit.col.logged_at"),
        "username": ("text", "audit.col.username"),
        "action": ("tag", "audit.act"),
        "object": ("text", "audit.col.object"),
        "before": ("longtext", "audit.col.before"),
        "after": ("longtext", "audit.col.after"),
    },
    key="audit_rows",
    empty="audit.none",
)
st.download_button(
    tr("audit.download"),
    log.to_csv(),
    file_name="log-audit.csv",
    mime=reports.CSV_MIME,
    key="audit_csv",
    disabled=log.rows.empty,
)
