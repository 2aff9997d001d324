"""Isi formulir: the template's form in the browser, with the rubric beside each indicator.

A draft is saved in the store (not in the browser), so work survives a closed tab; submitting
sends the draft through the very same ingest rules as an uploaded file (entry.submit). A closed
or locked year shows the answers read-only.
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

st.title(tr("entry.title"))
ctx, opd = outcome.pick_opd(store, user, f, "en_opd")
fm = shell.cached(entry.form, store, user, ctx.city_code, opd, ctx.year, lang)
st.caption(tr("upload.context", opd=charts.md_escape(fm.opd_name), year=fm.year, fw=charts.md_escape(fm.framework_id)))
if not fm.editable:
    st.warning(fm.closed_message(lang) + " " + tr("entry.read_only"), icon=":material/lock:")
st.caption(tr(f"entry.source_{fm.source}", by=charts.md_escape(fm.saved_by or ""),
              at=str(fm.saved_at)[:16] if fm.saved_at is not None else ""))
st.caption(tr("entry.help", lo=fm.scale_min, hi=fm.scale_max))

# a new key after submit/discard drops the editor's pending edits along with the draft
gen = st.session_state.get("en_gen", 0)
unit = (fm.city_code, fm.opd_code, fm.year)
editor_key = f"en_editor_{fm.city_code}_{fm.opd_code}_{fm.year}_{gen}"
rubric = {c: st.column_config.TextColumn(tr("entry.col_rubric", lv=lv), width="medium", disabled=True)
          for c, lv in fm.rubric_columns.items()}
edited = st.data_editor(
    fm.rows, key=editor_key, hide_index=True, num_rows="fixed", disabled=not fm.editable,
    height=min(38 + 35 * max(1, len(fm.rows)), 38 + 35 * 20),
    # the level stays in view (pinned) with the evidence beside it; the rubric of each level
    # scrolls after them (full sentences on hover and in the template)
    column_order=["code", "indicator", "level", "evidence", *rubric, "note", "pillar", "dimension"],
    column_config={
        "code": st.column_config.TextColumn(tr("col.code"), disabled=True, pinned=True),
        "indicator": st.column_config.TextColumn(tr("col.indicator"), width="medium", disabled=True, pinned=True),
        "pillar": st.column_config.TextColumn(tr("col.pillar"), disabled=True),
        "dimension": st.column_config.TextColumn(tr("col.dimension"), disabled=True),
        **rubric,
        "level": st.column_config.SelectboxColumn(tr("entry.col_level", lo=fm.scale_min, hi=fm.scale_max),
                                                  options=fm.levels, pinned=True),
        "evidence": st.column_config.TextColumn(tr("entry.col_evidence"), width="medium", max_chars=4000),
        "note": st.column_config.TextColumn(tr("col.note"), width="medium", max_chars=4000),
    })

if fm.editable:
    c1, c2, c3 = st.columns(3)
    action = None
    if c1.button(tr("entry.save"), key="en_save", icon=":material/save:"):
        action = "save"
    if c2.button(tr("entry.submit"), key="en_submit", type="primary", icon=":material/send:"):
        action = "submit"
    if c3.button(tr("entry.discard"), key="en_discard", icon=":material/delete:", disabled=fm.source != "draft"):
        action = "discard"
    if action is not None:
        records = edited.to_dict("records")
        try:
            if action == "save":
                st.session_state["en_outcome"] = (unit, entry.save_draft(store, user, fm.city_code, fm.opd_code,
                                                                         fm.year, records, lang))
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
    outcome.show(shown[1], "en", form=True)
