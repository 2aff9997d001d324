"""What the Upload and Form pages share: choosing the OPD, and showing the result of a write.

Both ways of sending data end in the same core `entry.Outcome`, so they are shown the same way:
accepted with what it changed (answers, completeness, the OPD's index, the city index before and
after), refused with every problem in a table and the files to fix it with, or, when it would
drop answers from the version in force, the core's preview with the merge/replace choice.
"""

from __future__ import annotations

import streamlit as st

from metrics import entry
from metrics.ingest import MODES
from ui import charts, shell
from ui.shell import lang, tr

PROBLEM_COLUMNS = {
    "file": ("text", "col.file"),
    "sheet": ("text", "upload.col_sheet"),
    "row": ("int", "col.row"),
    "column": ("text", "upload.col_column"),
    "indicator": ("text", "col.indicator"),
    "message": ("longtext", "upload.col_message"),
    "code": ("text", "upload.col_code"),
}
PREVIEW_COLUMNS = {
    "opd_code": ("text", "col.opd_code"),
    "metric_code": ("text", "upload.col_metric"),
    "key": ("text", "upload.col_key"),
    "name": ("text", "col.indicator"),
    "old": ("text", "upload.col_old"),
    "new": ("text", "upload.col_new"),
}
EFFECT_COLUMNS = {
    "measure": ("tag", "upload.measure"),
    "opd_code": ("text", "col.opd_code"),
    "now": ("text", "upload.col_now"),
    "merge": ("text", "upload.col_merge"),
    "replace": ("text", "upload.col_replace"),
}


def pick_opd(store, user, f, key: str):
    """The operator's OPD for the open year (an admin picks one of the city's): (context, OPD code).

    Stops the page with a hint when the user has no OPD to write for.
    """
    ctx = shell.cached(entry.upload_context, store, user, f.city, f.year, lang())
    if not ctx.opds:
        st.info(tr("upload.no_opd"), icon=":material/info:")
        st.stop()
    opd = st.selectbox(
        tr("upload.opd"),
        [c for c, _ in ctx.opds],
        format_func=lambda c: f"{c} · {ctx.opd_name(c)}",
        key=key,
        disabled=len(ctx.opds) == 1,
    )
    return ctx, opd


def summary(out, key: str) -> None:
    """The 'accepted' screen: the first unit's numbers (one OPD and year per file) and every unit."""
    s = out.summaries[0] if out.summaries else None
    st.success(
        tr("upload.accepted", file=charts.md_escape(out.file), n=len(out.submission_ids)),
        icon=":material/task_alt:",
    )
    if out.mode is not None and out.changes:
        st.caption(
            tr(
                f"upload.stored_mode.{out.mode}",
                carried=out.changes.get("carried", 0),
                dropped=out.changes.get("dropped", 0),
            )
        )
    if s is None:
        return
    if s.na:  # "tidak berlaku" answers wait for an assessor (issue 17)
        st.caption(tr("na.summary", n=s.na))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(tr("upload.answered"), f"{s.answered} / {s.pairs}", border=True)
    c2.metric(tr("upload.completeness"), charts.fmt_pct(s.completeness), border=True)
    c3.metric(tr("upload.opd_index"), charts.fmt(s.opd_index), border=True)
    c4.metric(
        tr("upload.city_index"),
        charts.fmt(s.city_index_after),
        charts.fmt_delta(s.city_index_change),
        border=True,
        help=tr("upload.city_index_help", before=charts.fmt(s.city_index_before)),
    )
    if len(out.summaries) > 1:  # a service-metric file: one submission per metric
        charts.table(
            out.summary_frame(),
            {
                "opd_code": ("text", "col.opd_code"),
                "kind": ("tag", "upload.kind"),
                "rows": ("int", "upload.col_rows"),
                "year": ("year", "filter.year"),
            },
            key=f"{key}_units",
        )


def problems(out, key: str, title_key: str = "upload.rejected", form: bool = False) -> None:
    """Every problem in a table (by indicator for the form) and the files to fix it with."""
    st.error(tr(title_key, file=charts.md_escape(out.file), n=len(out.problems)), icon=":material/error:")
    cols = dict(PROBLEM_COLUMNS)
    if form:  # the form's CSV is ours, not the operator's: name the indicator, not a file position
        for c in ("file", "sheet", "row", "column"):
            cols.pop(c)
    if shell.current_user().role == "opd":  # internal error keys are for admins and assessors (and the CSV)
        cols.pop("code")
    charts.table(out.problems_frame(lang()), cols, key=f"{key}_problems")
    c1, c2 = st.columns(2)
    if out.feedback is not None and out.feedback.name.endswith(".xlsx"):
        c1.download_button(
            tr("upload.download_marked"),
            out.feedback.data,
            out.feedback.name,
            out.feedback.mime,
            key=f"{key}_marked",
            icon=":material/download:",
            help=tr("upload.download_marked_help"),
        )
    if out.errors is not None:
        c2.download_button(
            tr("upload.download_errors"),
            out.errors.data,
            out.errors.name,
            out.errors.mime,
            key=f"{key}_errors",
            icon=":material/download:",
        )


def choose(out, key: str) -> str | None:
    """What a file that would drop answers changes (from the core's preview), the merge/replace
    choice (merge first, the default) and a confirm button: the chosen mode once confirmed."""
    pv = out.preview
    counts = pv.counts()
    st.warning(
        tr("upload.drops", file=charts.md_escape(out.file), n=counts["dropped"]), icon=":material/warning:"
    )
    for col, k in zip(st.columns(4), ("dropped", "changed", "added", "kept")):
        col.metric(tr(f"upload.change.{k}"), counts[k], border=True)
    st.markdown(f"**{tr('upload.dropped_title')}**")
    charts.table(pv.frame("dropped"), PREVIEW_COLUMNS, key=f"{key}_pv_dropped")
    for k in ("changed", "added", "kept"):
        with st.expander(f"{tr(f'upload.change.{k}')} ({counts[k]})"):
            charts.table(pv.frame(k), PREVIEW_COLUMNS, key=f"{key}_pv_{k}", empty="upload.none")
    st.markdown(f"**{tr('upload.effect_title')}**")
    charts.table(pv.effects_frame(lang()), EFFECT_COLUMNS, key=f"{key}_pv_effect")
    # labels looked up now, in this run's language: a format_func that asked later could answer in
    # another language than the one the options were drawn in
    labels = {m: tr(f"upload.mode.{m}") for m in MODES}
    mode = st.radio(tr("upload.mode"), MODES, format_func=labels.__getitem__, key=f"{key}_mode")
    if st.button(tr("upload.confirm"), key=f"{key}_confirm", type="primary", icon=":material/check:"):
        return mode
    return None


def show(out, key: str, form: bool = False) -> str | None:
    """Show an outcome; for one that needs a choice, the mode once the operator confirmed it."""
    if out.needs_choice:
        return choose(out, key)
    if out.accepted:
        summary(out, key)
    elif out.status == "saved":
        st.info(tr("entry.saved", n=out.answered), icon=":material/save:")
        if out.problems:
            problems(out, key, "entry.saved_problems", form=True)
    else:
        problems(out, key, form=form)
