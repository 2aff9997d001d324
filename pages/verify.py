"""Verifikasi: the assessor checks the OPDs' self-assessments and sets verified levels.

The core (metrics.review) flags the answers most likely over-stated and applies the verified
levels (checked, all-or-nothing, audited); this page only shows and edits. A locked year is
read-only.
"""

import streamlit as st

from metrics import review
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
