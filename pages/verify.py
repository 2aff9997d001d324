"""Verifikasi: the assessor checks the OPDs' self-assessments and sets verified levels.

The core (metrics.review) flags the answers most likely over-stated and applies the verified
levels (checked, all-or-nothing, audited); this page only shows and edits. A locked year is
read-only.
"""

import streamlit as st

from metrics import clarify, evidence, review
from metrics.errors import CoreError
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()
rv = shell.cached(review.review, store, user, f.city, f.year, lang)

charts.header("verify.title", rv)
if charts.empty_state(rv):
    st.stop()
st.caption(tr("verify.intro"))

flash = st.session_state.pop("verify_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

if rv.status == "locked":
    st.info(tr("verify.locked", year=rv.year), icon=":material/lock:")
elif rv.status == "closed":
    st.caption(tr("verify.closed", year=rv.year))

c1, c2, c3, c4 = st.columns(4)
c1.metric(
    tr("verify.flag.jump"), rv.flag_counts.get("jump", 0), help=tr("verify.flag.jump_help"), border=True
)
c2.metric(
    tr("verify.flag.no_evidence"),
    rv.flag_counts.get("no_evidence", 0),
    help=tr("verify.flag.no_evidence_help"),
    border=True,
)
c3.metric(
    tr("verify.flag.above_peers"),
    rv.flag_counts.get("above_peers", 0),
    help=tr("verify.flag.above_peers_help"),
    border=True,
)
c4.metric(tr("verify.verified_count"), f"{rv.verified} / {len(rv.indicators)}", border=True)

# ------------------------------------------------------------------ answers with evidence
st.subheader(tr("verify.answers"))
only_flagged = st.toggle(tr("verify.only_flagged"), value=True, key="verify_only_flagged")
charts.table(
    rv.answers_shown(only_flagged),
    {
        "flag_text": ("text", "verify.col.flags"),
        "opd_name": ("text", "col.opd"),
        "code": ("text", "col.code"),
        "indicator": ("text", "col.indicator"),
        "level": ("int", "verify.col.level"),
        "prev_level": ("int", "verify.col.prev_level"),
        "peer_mean": ("level", "verify.col.peer_mean"),
        "evidence": ("longtext", "verify.col.evidence"),
        "note": ("text", "verify.col.note"),
    },
    key="verify_answers",
    empty="verify.no_answers",
    download=f"jawaban-{rv.city_code}-{rv.year}.csv",
)

# ------------------------------------------------------------------ verified levels
st.subheader(tr("verify.editor"))
cc = st.column_config
columns = {
    "code": cc.TextColumn(tr("col.code")),
    "indicator": cc.TextColumn(tr("col.indicator"), width="large"),
    "dimension": cc.TextColumn(tr("col.dimension")),
    "self_level": cc.NumberColumn(tr("verify.col.self_level"), format="%.2f"),
    "n_opd": cc.NumberColumn(tr("col.n_opd"), format="%d"),
    "flags": cc.NumberColumn(tr("verify.col.flag_count"), format="%d"),
    "effective": cc.NumberColumn(tr("col.counted"), format="%.2f"),
    "verified_level": cc.NumberColumn(
        tr("verify.col.verified_level"), min_value=rv.scale_min, max_value=rv.scale_max, step=1, format="%d"
    ),
    "verified_note": cc.TextColumn(tr("verify.col.verified_note"), max_chars=4000, width="medium"),
    "verified_by": cc.TextColumn(tr("verify.col.verified_by")),
    "verified_at": cc.DatetimeColumn(tr("verify.col.verified_at"), format="YYYY-MM-DD HH:mm"),
}
if not rv.editable:
    st.dataframe(
        rv.indicators,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        key="verify_readonly",
    )
else:
    st.caption(tr("verify.editor_help"))
    edit_round = st.session_state.get("verify_round", 0)
    edited = st.data_editor(
        rv.indicators,
        hide_index=True,
        column_order=list(columns),
        column_config=columns,
        disabled=[
            "code",
            "indicator",
            "dimension",
            "self_level",
            "n_opd",
            "flags",
            "effective",
            "verified_by",
            "verified_at",
        ],
        num_rows="fixed",
        key=f"verify_editor_{rv.city_code}_{rv.year}_{edit_round}",
    )
    if st.button(tr("verify.save"), type="primary", key="verify_save"):
        try:
            done = review.apply(store, user, rv.city_code, rv.year, edited.to_dict("records"))
        except CoreError as exc:
            st.error(shell.core_message(exc))
        else:
            st.session_state["verify_round"] = edit_round + 1
            st.session_state["verify_flash"] = (
                tr("verify.saved", n=len(done.changed)) if done.changed else tr("verify.nothing")
            )
            st.rerun()

# ------------------------------------------------------------------ "tidak berlaku" answers (issue 17)
# An OPD's "not applicable" answer counts as missing until the assessor accepts it; a rejection
# goes back to the OPD with the note. One decision per indicator of the city-year.
na = shell.cached(review.na_claims, store, user, rv.city_code, rv.year, lang)
if len(na.claims):
    st.subheader(tr("na.verify_title"))
    st.caption(tr("na.verify_help", n=len(na.open)))
    charts.table(
        na.claims,
        {
            "code": ("text", "col.code"),
            "indicator": ("text", "col.indicator"),
            "opd_name": ("text", "col.opd"),
            "reason": ("longtext", "na.col.reason"),
            "state_text": ("text", "na.col.state"),
            "decision_note": ("text", "na.col.note"),
            "decided_by": ("text", "verify.col.verified_by"),
        },
        key="verify_na_table",
    )
    if na.editable:
        na_round = st.session_state.get("verify_na_round", 0)
        code = st.selectbox(tr("na.pick"), na.codes, key=f"verify_na_code_{na_round}")
        note = st.text_input(tr("na.note_label"), key=f"verify_na_note_{na_round}", max_chars=4000)
        b1, b2 = st.columns(2)
        verdict = None
        if b1.button(tr("na.accept"), key="verify_na_accept", icon=":material/check:"):
            verdict = True
        if b2.button(tr("na.reject"), key="verify_na_reject", icon=":material/undo:"):
            verdict = False
        if verdict is not None and code is not None:
            try:
                review.decide_na(store, user, rv.city_code, rv.year, code, verdict, note)
            except CoreError as exc:
                st.error(shell.core_message(exc))
            else:
                st.session_state["verify_na_round"] = na_round + 1
                st.session_state["verify_flash"] = tr("na.accepted" if verdict else "na.rejected", code=code)
                st.rerun()

# ------------------------------------------------------------------ one answer: evidence and clarification (issue 18)
# The evidence the OPDs linked to the answer (a preview of a PDF's first page or an image, the
# files as attachments, the links), the required evidence of the levels given with met / not met,
# and the clarification requests: ask, see the exchange, close. One core read (review.answer_review).
st.subheader(tr("clarify.verify.title"))
if rv.indicators.empty:
    st.caption(tr("clarify.verify.none"))
else:
    names = dict(zip(rv.indicators["code"], rv.indicators["indicator"], strict=True))
    code = st.selectbox(
        tr("clarify.verify.pick"),
        list(names),
        format_func=lambda c: f"{c} · {names.get(c, '')}",
        key="verify_ev_code",
    )
    ar = shell.cached(review.answer_review, store, user, rv.city_code, rv.year, code, lang)
    if ar is not None:
        ev_round = st.session_state.get("verify_ev_round", 0)

        def done(message: str) -> None:
            st.session_state["verify_ev_round"] = ev_round + 1
            st.session_state["verify_flash"] = message
            st.rerun()

        st.caption(
            tr(
                "clarify.verify.answers",
                levels=", ".join(f"{charts.md_escape(n)}: {lv}" for _, n, lv in ar.answers) or "–",
                state=tr(f"clarify.state.{ar.state}") if ar.state else "–",
            )
        )

        # the evidence: files (preview, download) and links
        if not ar.evidence:
            st.caption(tr("clarify.verify.no_evidence"))
        for opd_code, item in ar.files:
            with st.container(border=True):
                name = evidence.safe_name(item.original_name or "bukti", item.mime)
                st.markdown(f"**{charts.md_escape(name)}** · {charts.md_escape(ar.opd_name(opd_code))}")
                if item.flags:
                    st.caption(tr("clarify.verify.flags", flags=charts.md_escape(item.flags)))
                png = shell.cached(evidence.preview_png, store, user, item.id)
                if png:
                    st.image(png, caption=tr("clarify.verify.preview"), width=600)
                st.download_button(
                    tr("clarify.verify.download"),
                    lambda iid=item.id: evidence.download(store, user, iid).data,
                    file_name=name,
                    mime=item.mime or "application/octet-stream",
                    key=f"verify_ev_dl_{item.id}",
                    icon=":material/download:",
                )
        for opd_code, item in ar.links:
            st.markdown(f"{charts.md_escape(ar.opd_name(opd_code))} · <{item.url}>")

        # the required evidence of the levels given
        if ar.requirements:
            st.markdown(f"**{tr('clarify.verify.required')}**")
        options = ["met", "not_met"]
        for r in ar.requirements:
            current = None if r.met is None else ("met" if r.met else "not_met")
            got = st.radio(
                tr("clarify.verify.requirement", level=r.level, label=charts.md_escape(r.label)),
                options,
                index=None if current is None else options.index(current),
                format_func=lambda o: tr(f"clarify.verify.{o}"),
                horizontal=True,
                disabled=not ar.editable,
                key=f"verify_req_{code}_{r.level}_{r.index}_{ev_round}",
            )
            if got is not None and got != current:
                try:
                    clarify.mark_requirement(
                        store, user, ar.city_code, ar.year, code, r.level, r.index, got == "met"
                    )
                except CoreError as exc:
                    st.error(shell.core_message(exc))
                else:
                    done(tr("clarify.verify.marked"))

        # the clarification requests with their exchange; closing an open one
        for view in ar.requests:
            c = view.request
            with st.container(border=True):
                head = tr(
                    "clarify.verify.request",
                    id=c.id,
                    opd=charts.md_escape(ar.opd_name(c.opd_code) or tr("clarify.all_opds")),
                    status=tr(f"clarify.status.{c.status}"),
                    due=charts.fmt_date(c.due) if c.due else tr("clarify.no_due"),
                )
                (st.error if view.overdue else st.markdown)(head)
                for e in c.events:
                    st.caption(
                        tr(
                            f"clarify.event.{e.kind}",
                            who=charts.md_escape(e.username),
                            at=charts.fmt_time(e.happened_at),
                            text=charts.md_escape(e.text or ""),
                        )
                    )
                    for iid in e.item_ids:
                        it = ar.given.get(iid)
                        if it is None:
                            continue
                        if it.kind == "link":
                            st.markdown(f"<{it.url}>")
                            continue
                        st.download_button(
                            evidence.safe_name(it.original_name or "bukti", it.mime),
                            lambda iid=iid: evidence.download(store, user, iid).data,
                            file_name=evidence.safe_name(it.original_name or "bukti", it.mime),
                            mime=it.mime or "application/octet-stream",
                            key=f"verify_ev_given_{c.id}_{e.id}_{iid}",
                            icon=":material/download:",
                        )
                if c.status == "closed" or not ar.editable:
                    continue
                outcome = st.radio(
                    tr("clarify.verify.outcome"),
                    ["accepted", "verified", "rejected"],
                    format_func=lambda o: tr(f"clarify.outcome.{o}"),
                    horizontal=True,
                    key=f"verify_close_outcome_{c.id}_{ev_round}",
                )
                level = st.number_input(
                    tr("clarify.verify.level"),
                    min_value=ar.scale_min,
                    max_value=ar.scale_max,
                    value=ar.verified_level if ar.verified_level is not None else ar.scale_max,
                    step=1,
                    key=f"verify_close_level_{c.id}_{ev_round}",
                    disabled=outcome != "verified",
                )
                note = st.text_input(
                    tr("clarify.verify.note"), max_chars=4000, key=f"verify_close_note_{c.id}_{ev_round}"
                )
                if st.button(
                    tr("clarify.verify.close"), key=f"verify_close_{c.id}", icon=":material/task_alt:"
                ):
                    try:
                        clarify.close(
                            store,
                            user,
                            ar.city_code,
                            ar.year,
                            c.id,
                            outcome,
                            int(level) if outcome == "verified" else None,
                            note,
                        )
                    except CoreError as exc:
                        st.error(shell.core_message(exc))
                    else:
                        done(tr("clarify.verify.closed", id=c.id))

        # asking: a message, a due date, one OPD or every responsible one
        if ar.editable and ar.responsible:
            with st.form(f"verify_ask_{code}_{ev_round}", border=True):
                st.markdown(f"**{tr('clarify.verify.ask_title')}**")
                message = st.text_area(
                    tr("clarify.verify.message"), max_chars=4000, key=f"verify_ask_message_{ev_round}"
                )
                due = st.date_input(tr("clarify.verify.due"), value=None, key=f"verify_ask_due_{ev_round}")
                who = st.selectbox(
                    tr("clarify.verify.to"),
                    [None, *(o for o, _ in ar.responsible)],
                    format_func=lambda o: tr("clarify.all_opds") if o is None else dict(ar.responsible)[o],
                    key=f"verify_ask_opd_{ev_round}",
                )
                if st.form_submit_button(tr("clarify.verify.ask"), icon=":material/help:"):
                    try:
                        clarify.ask(
                            store,
                            user,
                            ar.city_code,
                            ar.year,
                            code,
                            message,
                            due,
                            who,
                            smtp=shell.smtp_settings(),
                            lang=lang,
                        )
                    except CoreError as exc:
                        st.error(shell.core_message(exc))
                    else:
                        done(tr("clarify.verify.asked", code=code))

# ------------------------------------------------------------------ self-assessment gap per OPD
st.subheader(tr("verify.gaps"))
st.caption(tr("verify.gaps_help"))
if rv.verified == 0:
    st.caption(tr("verify.no_gaps"))
else:
    charts.table(
        rv.gaps,
        {
            "opd_name": ("text", "col.opd"),
            "answered": ("int", "col.answered"),
            "verified": ("int", "verify.col.verified"),
            "self_mean": ("level", "verify.col.self_mean"),
            "verified_mean": ("level", "verify.col.verified_mean"),
            "gap": ("delta", "verify.col.gap"),
        },
        key="verify_gaps",
    )
