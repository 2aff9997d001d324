"""Isi formulir: the template's form in the browser, one card per indicator with its whole rubric.

Cards are grouped by pillar with the progress (answered x of y) above them; every change is saved
as the OPD's draft at once (entry.save_draft), in the store, not in the browser, so work survives
a closed tab or a reload; submitting
sends the draft through the very same ingest rules as an uploaded file (entry.submit). A closed
or locked year shows the answers read-only.

Evidence (issue 18): one "Lampirkan bukti" panel above the cards attaches a file, an https link
or earlier items to the answers chosen (entry.attach); each card lists its files and links and
the framework's required evidence for its level; an answer with an open clarification request
shows the request and a box to answer it (clarify.answer).
"""

import streamlit as st

from metrics import entry
from metrics.errors import CoreError
from ui import charts, outcome, shell
from ui import form as form_ui
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("entry.title"))
ctx, opd = outcome.pick_opd(store, user, f, "en_opd")
fm = shell.cached(entry.form, store, user, ctx.city_code, opd, ctx.year, lang)
st.caption(
    tr(
        "upload.context",
        opd=charts.md_escape(fm.opd_name),
        year=fm.year,
        fw=charts.md_escape(fm.framework_id),
    )
)
if not fm.editable:
    st.warning(fm.closed_message(lang) + " " + tr("entry.read_only"), icon=":material/lock:")
st.caption(
    tr(f"entry.source_{fm.source}", by=charts.md_escape(fm.saved_by or ""), at=charts.fmt_time(fm.saved_at))
)
st.caption(tr("entry.help", lo=fm.scale_min, hi=fm.scale_max))
st.progress(
    fm.answered / fm.total if fm.total else 0.0,
    text=tr("entry.progress", answered=fm.answered, total=fm.total),
)
# "tidak berlaku" answers are filled in, but count in the index only once an assessor confirms them
if n_na := sum(1 for c in fm.cards if c.na and c.na_state != "accepted"):
    st.caption(tr("na.form_unconfirmed", n=n_na))

# evidence: ONE panel for every answer (a file picker per card would cost each rerun a copy);
# a closed or locked year takes no evidence, so it has none
if fm.editable:
    outcome.attach_panel(
        store,
        user,
        fm.city_code,
        fm.opd_code,
        fm.year,
        [(c.code, f"{c.code} · {c.name}") for c in fm.cards],
        fm.items,
        "en_ev",
    )
if fm.requests:
    st.warning(tr("clarify.form.open", n=len(fm.requests)), icon=":material/help:")
if st.session_state.pop("en_cl_answered", None) is not None:
    st.success(tr("clarify.form.answered"), icon=":material/task_alt:")


def extras(c) -> None:
    """A card's files and links, and its open clarification requests with their answer box."""
    if c.items:
        st.caption(tr("evidence.form.attached_list", n=len(c.items)))
        outcome.evidence_list(store, user, c.items, f"en_evdl_{c.code}")
    for view in c.requests:
        outcome.request_box(
            store, user, fm.city_code, fm.year, view, fm.items, "en_cl", disabled=not fm.editable
        )


# a new generation after submit/discard gives the cards new keys: their pending edits go with the draft
gen = st.session_state.get("en_gen", 0)
unit = (fm.city_code, fm.opd_code, fm.year)
scope = (*unit, gen)


def autosave() -> None:
    """Save as you go: every change on a card keeps the whole form as the OPD's draft (one core call)."""
    try:
        st.session_state["en_outcome"] = (
            unit,
            entry.save_draft(
                store, user, fm.city_code, fm.opd_code, fm.year, fm.records(form_ui.getter(scope)), lang
            ),
        )
    except CoreError as exc:
        st.session_state["en_outcome"] = None
        st.session_state["en_error"] = shell.core_message(exc)


form_ui.cards(fm, scope, autosave, extras)

if fm.editable:
    c1, c2, c3 = st.columns(3)
    action = None
    if c1.button(tr("entry.save"), key="en_save", icon=":material/save:"):
        action = "save"
    if c2.button(tr("entry.submit"), key="en_submit", type="primary", icon=":material/send:"):
        action = "submit"
    if c3.button(
        tr("entry.discard"), key="en_discard", icon=":material/delete:", disabled=fm.source != "draft"
    ):
        action = "discard"
    if action is not None:
        records = fm.records(form_ui.getter(scope))
        try:
            if action == "save":
                st.session_state["en_outcome"] = (
                    unit,
                    entry.save_draft(store, user, fm.city_code, fm.opd_code, fm.year, records, lang),
                )
            elif action == "submit":
                res = entry.submit(store, user, fm.city_code, fm.opd_code, fm.year, records, lang)
                st.session_state["en_outcome"] = (unit, res)
                if res.accepted:
                    st.session_state["en_gen"] = gen + 1
            else:
                entry.discard_draft(store, user, fm.city_code, fm.opd_code, fm.year)
                st.session_state["en_outcome"] = None
                st.session_state["en_discarded"] = True
                st.session_state["en_gen"] = gen + 1
        except CoreError as exc:
            st.session_state["en_outcome"] = None
            st.session_state["en_error"] = shell.core_message(exc)
        st.rerun()

if st.session_state.pop("en_discarded", False):
    st.info(tr("entry.discarded"), icon=":material/delete:")
if (err := st.session_state.pop("en_error", None)) is not None:
    st.error(err)
shown = st.session_state.get("en_outcome")
if shown is not None and shown[0] == unit:  # only the result of this OPD and year's form
    # a form that empties answers of the version in force shows the core's preview; on confirm
    # the saved draft is submitted again with the chosen mode
    if (mode := outcome.show(shown[1], "en", form=True)) is not None:
        try:
            res = entry.submit(store, user, fm.city_code, fm.opd_code, fm.year, None, lang, mode=mode)
            st.session_state["en_outcome"] = (unit, res)
            if res.accepted:
                st.session_state["en_gen"] = gen + 1
        except CoreError as exc:
            st.session_state["en_outcome"] = None
            st.session_state["en_error"] = shell.core_message(exc)
        st.rerun()
