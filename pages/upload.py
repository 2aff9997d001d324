"""Unggah: an OPD operator downloads the pre-filled template, uploads it, and sees at once whether it went in.

Everything is decided by the core (entry.upload): the page only hands over the bytes once per
chosen file and shows the Outcome — accepted with what changed, or every problem with the
marked workbook and an errors CSV to fix it with.
"""

import streamlit as st

from metrics import entry
from metrics.errors import CoreError
from ui import charts, outcome, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("upload.title"))
ctx, opd = outcome.pick_opd(store, user, f, "up_opd")
st.caption(tr("upload.context", opd=charts.md_escape(ctx.opd_name(opd)), year=ctx.year,
              fw=charts.md_escape(ctx.framework_id or "–")))
if not ctx.open:
    st.warning(ctx.closed_message(lang), icon=":material/lock:")

st.subheader(tr("upload.step_template"))
st.caption(tr("upload.template_help"))
tpl = shell.cached(entry.template, store, user, ctx.city_code, opd, ctx.year)
mtpl = shell.cached(entry.metric_template, store, user, ctx.city_code, opd, ctx.year)
c1, c2 = st.columns(2)
c1.download_button(tr("upload.download_template"), tpl.data, tpl.name, tpl.mime, key="up_tpl",
                   icon=":material/download:", type="primary")
c2.download_button(tr("upload.download_metric_template"), mtpl.data, mtpl.name, mtpl.mime, key="up_mtpl",
                   icon=":material/download:")
with st.expander(tr("upload.metrics_title")):
    charts.table(ctx.metrics_for(opd), {
        "metric_code": ("text", "upload.col_metric"), "indicator": ("text", "col.code"),
        "name": ("text", "col.indicator"), "unit": ("text", "upload.col_unit"),
        "aggregate": ("text", "upload.col_aggregate"), "direction": ("text", "upload.col_direction"),
        "thresholds": ("text", "upload.col_thresholds")}, key="up_metrics", empty="upload.no_metrics")

st.subheader(tr("upload.step_upload"))
st.caption(tr("upload.upload_help", mb=ctx.max_bytes // 1_000_000))
up = st.file_uploader(tr("upload.file"), type=["xlsx", "csv"], key="up_file", disabled=not ctx.open)
# a widget rerun must not store the same file again: each chosen file is handed over once
if up is not None and st.session_state.get("up_done") != up.file_id:
    st.session_state["up_done"] = up.file_id
    try:
        st.session_state["up_outcome"] = entry.upload(store, user, up.getvalue(), up.name, lang)
    except CoreError as exc:
        st.session_state.pop("up_outcome", None)
        st.error(shell.core_message(exc))
result = st.session_state.get("up_outcome")
if result is not None and up is not None:
    outcome.show(result, "up")
