"""Riwayat unggahan: every version an OPD (or, for city roles, the whole city) has sent, and what changed.

Nothing is ever overwritten, so any earlier version can be opened with its answers and its
original file, and two versions can be compared indicator by indicator (entry.diff). An OPD
operator sees only their own OPD; the core refuses anything else.
"""

import streamlit as st

from metrics import entry
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("history.title"))
city = f.city  # the sidebar already holds a city-bound user to their own city
if city is None:
    st.info(tr("empty.first_run"), icon=":material/database:")
    st.stop()
all_years = st.toggle(tr("history.all_years"), key="hi_all_years")
# an account bound to an OPD asks for that OPD's versions (the core refuses it the whole city)
hist = shell.cached(entry.history, store, user, city, user.opd_code, None if all_years else f.year)
st.caption(
    tr(
        "history.scope_opd" if hist.opd_code else "history.scope_city",
        n=len(hist.ids),
        city=charts.md_escape(hist.city_name),
        opd=charts.md_escape(hist.opd_code or ""),
        year=tr("filter.all") if all_years else f.year,
    )
)
charts.table(
    hist.versions,
    {
        "id": ("int", "history.col_id"),
        "in_force": ("bool", "history.col_in_force"),
        "opd_code": ("text", "col.opd_code"),
        "opd_name": ("text", "col.opd"),
        "year": ("year", "filter.year"),
        "kind": ("tag", "upload.kind"),
        "metric_code": ("text", "upload.col_metric"),
        "file_name": ("text", "col.file"),
        "username": ("text", "history.col_user"),
        "accepted_at": ("datetime", "history.col_at"),
        "source": ("text", "history.col_source"),
        "n_rows": ("int", "upload.col_rows"),
    },
    key="hi_versions",
    empty="history.none",
    download=f"riwayat-{city}.csv",
)
if not hist.ids:
    st.stop()

st.subheader(tr("history.open"))
sid = st.selectbox(tr("history.pick"), hist.ids, format_func=hist.label, key="hi_version")
v = shell.cached(entry.version, store, user, sid)
st.caption(
    tr(
        "history.version_meta",
        id=v.id,
        user=charts.md_escape(v.username),
        at=charts.fmt_time(v.accepted_at),
        source=v.source,
        n=len(v.rows),
    )
)
if v.kind == "assessment":
    charts.table(
        v.rows,
        {
            "indicator_code": ("text", "col.code"),
            "level": ("int", "col.level"),
            "evidence": ("longtext", "entry.col_evidence"),
            "note": ("text", "col.note"),
            "source_row": ("int", "col.row"),
        },
        key="hi_rows",
        download=f"versi-{v.id}.csv",
    )
else:
    charts.table(
        v.rows,
        {
            "metric_code": ("text", "upload.col_metric"),
            "period": ("text", "history.col_period"),
            "value": ("level", "history.col_value"),
            "source_row": ("int", "col.row"),
        },
        key="hi_rows",
    )
if v.original is not None:
    st.download_button(
        tr("history.download_original"),
        v.original.data,
        v.original.name,
        v.original.mime,
        key="hi_original",
        icon=":material/download:",
    )

st.subheader(tr("history.diff"))
c1, c2 = st.columns(2)
new = c2.selectbox(tr("history.new"), hist.ids, format_func=hist.label, key="hi_new")
others = hist.comparable(new)  # the same OPD, kind and metric: what a diff is meaningful for
if not others:
    st.caption(tr("history.diff_need_two"))
    st.stop()
old = c1.selectbox(tr("history.old"), others, format_func=hist.label, key="hi_old")
d = shell.cached(entry.diff, store, user, old, new)
charts.table(
    d,
    {
        "key": ("text", "history.col_key"),
        "change": ("tag", "history.change"),
        **{c: ("text", f"history.col_{c}") for c in d.columns if c not in ("key", "change")},
    },
    key="hi_diff",
    empty="history.no_change",
)
