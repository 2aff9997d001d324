"""Unggah: an OPD operator downloads the pre-filled template, uploads it, and sees at once whether it went in.

Everything is decided by the core (entry.upload): the page only hands over the bytes once per
chosen file and shows the Outcome — accepted with what changed, or every problem with the
marked workbook and an errors CSV to fix it with. After an accepted self-assessment, one more
step attaches evidence files and links to the answers just uploaded (the form's panel, entry.attach).
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
st.caption(
    tr(
        "upload.context",
        opd=charts.md_escape(ctx.opd_name(opd)),
        year=ctx.year,
        fw=charts.md_escape(ctx.framework_id or "–"),
    )
)
if not ctx.open:
    st.warning(ctx.closed_message(lang), icon=":material/lock:")

st.subheader(tr("upload.step_template"))
st.caption(tr("upload.template_help"))
tpl = shell.cached(entry.template, store, user, ctx.city_code, opd, ctx.year)
mtpl = shell.cached(entry.metric_template, store, user, ctx.city_code, opd, ctx.year)
c1, c2 = st.columns(2)
c1.download_button(
    tr("upload.download_template"),
    tpl.data,
    tpl.name,
    tpl.mime,
    key="up_tpl",
    icon=":material/download:",
    type="primary",
)
c2.download_button(
    tr("upload.download_metric_template"),
    mtpl.data,
    mtpl.name,
    mtpl.mime,
    key="up_mtpl",
    icon=":material/download:",
)
with st.expander(tr("upload.metrics_title")):
    charts.table(
        ctx.metrics_for(opd),
        {
            "metric_code": ("text", "upload.col_metric"),
            "indicator": ("text", "col.code"),
            "name": ("text", "col.indicator"),
            "unit": ("text", "upload.col_unit"),
            "aggregate": ("text", "upload.col_aggregate"),
            "direction": ("text", "upload.col_direction"),
            "thresholds": ("text", "upload.col_thresholds"),
        },
        key="up_metrics",
        empty="upload.no_metrics",
    )

st.subheader(tr("upload.step_upload"))
st.caption(tr("upload.upload_help", mb=ctx.max_bytes // 1_000_000))
# any type: a wrong one (.xls, .pdf, ...) reaches the core, which says in the user's language what
# it is and what to do, instead of the browser's English "file type not allowed"
up = st.file_uploader(tr("upload.file"), type=None, key="up_file", disabled=not ctx.open)
# a widget rerun must not store the same file again: each chosen file is handed over once (a file
# that would drop answers comes back with the core's preview; the choice survives reruns under
# its key, and only the confirm button hands the same file over again, with the chosen mode)
if up is not None and st.session_state.get("up_done") != up.file_id:
    st.session_state["up_done"] = up.file_id
    st.session_state.pop("up_mode", None)  # a new file starts from the default choice (merge)
    try:
        st.session_state["up_outcome"] = entry.upload(store, user, up.getvalue(), up.name, lang)
    except CoreError as exc:
        st.session_state.pop("up_outcome", None)
        st.error(shell.core_message(exc))
result = st.session_state.get("up_outcome")
if result is not None and up is not None:
    mode = outcome.show(result, "up")
    if mode is not None:
        try:
            st.session_state["up_outcome"] = entry.upload(
                store, user, up.getvalue(), up.name, lang, mode=mode
            )
        except CoreError as exc:
            st.session_state.pop("up_outcome", None)
            st.session_state["up_error"] = shell.core_message(exc)
        st.rerun()
if (err := st.session_state.pop("up_error", None)) is not None:
    st.error(err)

# evidence for the answers just uploaded: the same panel as the form's (links typed in the
# template's "Tautan bukti" column are already attached); it stays after its own rerun
if result is not None and up is not None and result.accepted and result.kind == "assessment":
    st.subheader(tr("evidence.form.upload_step"))
    fm = shell.cached(entry.form, store, user, ctx.city_code, opd, ctx.year, lang)
    outcome.attach_panel(
        store,
        user,
        fm.city_code,
        fm.opd_code,
        fm.year,
        [(c.code, f"{c.code} · {c.name}") for c in fm.cards if c.answered],
        fm.items,
        "up_ev",
        disabled=not fm.editable,
        popover=False,
    )
