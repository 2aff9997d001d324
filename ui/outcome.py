"""What the Upload and Form pages share: choosing the OPD, and showing the result of a write.

Both ways of sending data end in the same core `entry.Outcome`, so they are shown the same way:
accepted with what it changed (answers, completeness, the OPD's index, the city index before and
after), refused with every problem in a table and the files to fix it with, or, when it would
drop answers from the version in force, the core's preview with the merge/replace choice.

Both also attach evidence (issue 18) through ONE panel (`attach_panel`): the operator picks the
answers, then a file, an https link or items given earlier; never a file picker per card (each
keyed widget costs every rerun of the form a session-state copy). A card's evidence list
(`evidence_list`) and an open clarification request with its answer (`request_box`) are drawn
here too, so Isi formulir and Unggah show evidence the same way.
"""

from __future__ import annotations

import streamlit as st

from metrics import clarify, entry, evidence
from metrics.errors import CoreError, Rejected
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


# ------------------------------------------------------------------ evidence (issue 18)


def item_label(item) -> str:
    """An evidence item in a list: a file's name and size, or a link's address (plain text)."""
    if item.kind == "link":
        return item.url or ""
    kb = max(1, round((item.size or 0) / 1024))
    return f"{item.original_name or tr('evidence.form.file')} ({kb} KB)"


def evidence_list(store, user, items, key: str) -> None:
    """The items linked to an answer: a file as a download (fetched, and audited, only when
    clicked), a link as a link; the checks' notes on a file beside it."""
    for it in items:
        if it.kind == "file":
            st.download_button(
                md_escape_label(item_label(it)),
                data=lambda i=it.id: evidence.download(store, user, i).data,
                file_name=evidence.safe_name(it.original_name or "bukti", it.mime),
                mime=it.mime,
                key=f"{key}_{it.id}",
                icon=":material/attach_file:",
                type="tertiary",
                on_click="ignore",
            )
        else:
            st.link_button(
                md_escape_label(item_label(it)), it.url or "", type="tertiary", icon=":material/link:"
            )
        if it.flags:
            st.caption(tr("evidence.form.item_flags", flags=charts.md_escape(it.flags)))


def md_escape_label(text: str) -> str:
    """A widget label from user text: Markdown made literal, long addresses shortened."""
    return charts.md_escape(text if len(text) <= 80 else text[:77] + "…")


def attach_panel(
    store,
    user,
    city: str,
    opd: str,
    year: int,
    choices: list[tuple[str, str]],
    items,
    key: str,
    default: list[str] | None = None,
    disabled: bool = False,
    popover: bool = True,
):
    """ "Lampirkan bukti": choose the answers, then a file, an https link and/or items given
    earlier; one core call (entry.attach) links them to every answer chosen, then the page
    reruns to show them on the cards. In a popover (the form: it takes no room among the
    cards) or an open container (the upload page's step after an accepted file)."""
    labels = dict(choices)
    done_key = f"{key}_done"
    box = (
        st.popover(tr("evidence.form.panel"), icon=":material/attach_file:")
        if popover
        else st.container(border=True)
    )
    if (done := st.session_state.pop(done_key, None)) is not None:
        n, m, flags = done
        st.success(tr("evidence.form.attached", n=n, m=m), icon=":material/task_alt:")
        for f in flags:
            st.warning(tr("evidence.form.item_flags", flags=charts.md_escape(f)))
    with box:
        st.caption(tr("evidence.form.panel_help", mb=evidence.MAX_FILE_BYTES // (1024 * 1024)))
        with st.form(f"{key}_form", clear_on_submit=True, border=False):
            codes = st.multiselect(
                tr("evidence.form.panel_for"),
                list(labels),
                default=[c for c in (default or []) if c in labels],
                # options are drawn as plain text, not Markdown: no escaping (it would show)
                format_func=lambda c: labels.get(c, c),
                key=f"{key}_codes",
                disabled=disabled,
            )
            # any type: a wrong one reaches the core, which says in the user's language what it is
            up = st.file_uploader(
                tr("evidence.form.panel_file"), type=None, key=f"{key}_file", disabled=disabled
            )
            url = st.text_input(
                tr("evidence.form.panel_link"), key=f"{key}_url", placeholder="https://", disabled=disabled
            )
            by_id = {i.id: i for i in items}
            reuse = st.multiselect(
                tr("evidence.form.panel_reuse"),
                list(by_id),
                format_func=lambda i: item_label(by_id[i]),
                key=f"{key}_reuse",
                disabled=disabled or not by_id,
            )
            sent = st.form_submit_button(
                tr("evidence.form.panel_attach"),
                icon=":material/attach_file:",
                type="primary",
                disabled=disabled,
                key=f"{key}_send",
            )
        if sent:
            try:
                res = entry.attach(
                    store,
                    user,
                    city,
                    opd,
                    year,
                    codes,
                    (up.getvalue(), up.name) if up is not None else None,
                    url,
                    reuse,
                )
            except Rejected as exc:
                st.error(tr("evidence.form.refused"))
                for p in exc.problems:
                    st.markdown(f"- {charts.md_escape(p.message(lang()))}")
                return None
            except CoreError as exc:
                st.error(shell.core_message(exc))
                return None
            st.session_state[done_key] = (len(res.items), len(res.indicators), [i.flags for i in res.flagged])
            st.rerun()
    return None


def request_box(store, user, city: str, year: int, view, items, key: str, disabled: bool = False) -> None:
    """An open clarification request on an answer: the assessor's message, the due date (late
    or not), and the answer: a text and/or evidence items of the OPD (a new file goes through
    the panel first; a new level through the form's own submit)."""
    c = view.request
    due = charts.fmt_date(c.due) if c.due is not None else "–"
    st.warning(
        tr(
            "clarify.form.card_request",
            message=charts.md_escape(c.message),
            due=due,
            by=charts.md_escape(c.asked_by),
        ),
        icon=":material/help:",
    )
    if view.overdue:
        st.error(tr("clarify.form.card_overdue", days=view.days_overdue), icon=":material/alarm:")
    by_id = {i.id: i for i in items}
    with st.form(f"{key}_{c.id}", clear_on_submit=True):
        text = st.text_area(
            tr("clarify.form.card_answer_text"), key=f"{key}_{c.id}_text", max_chars=4000, height=80
        )
        ids = st.multiselect(
            tr("clarify.form.card_answer_items"),
            list(by_id),
            format_func=lambda i: item_label(by_id[i]),
            key=f"{key}_{c.id}_items",
        )
        st.caption(tr("clarify.form.card_answer_help"))
        sent = st.form_submit_button(
            tr("clarify.form.card_answer_send"),
            icon=":material/reply:",
            disabled=disabled,
            key=f"{key}_{c.id}_send",
        )
    if sent:
        try:
            clarify.answer(store, user, city, year, c.id, text, ids)
        except CoreError as exc:
            st.error(shell.core_message(exc))
            return
        st.session_state[f"{key}_answered"] = c.id
        st.rerun()
