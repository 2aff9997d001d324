"""The browser form's cards: one per indicator, the full rubric as the choices, evidence beside it.

Why cards and not a grid: a data grid cut the rubric to a few characters and pushed levels 3–4
off-screen, so an operator chose a number without reading what it means. Here every level's
whole sentence is the choice itself ("3 — <rubric text>"). An indicator a service metric scores
shows the metric's value, its thresholds and the level it gives instead of a level to choose
(a chosen level would silently have no effect). The page draws what metrics.entry.form returns
and hands the widgets' values back through EntryForm.records; no rule lives here.

Evidence (issue 18): a card lists the evidence the framework requires at the level chosen (a
list, not widgets: the assessor marks each item met on Verifikasi) and how many items are
attached; the page's `extras(card)` draws the card's files and links and any open clarification
request (ui.outcome), which need the store.
"""

from __future__ import annotations

import streamlit as st

from metrics import entry, formatting, i18n
from metrics.cells import NA
from ui.shell import lang, md_escape, tr


def key(code: str, fld: str, scope: tuple) -> str:
    """The widget key of one card's field; `scope` (city, OPD, year, generation) renews it after a submit."""
    return "en_" + fld + "_" + "_".join(str(x) for x in scope) + "_" + code


def getter(scope: tuple):
    """What EntryForm.records asks for: the value a card's widget holds, or UNSET if it was never drawn."""
    return lambda code, fld: st.session_state.get(key(code, fld, scope), entry.UNSET)


def _thresholds(m: entry.MetricInfo) -> str:
    op = "≥" if m.direction != "lower" else "≤"
    return ", ".join(
        tr("entry.threshold", level=n, op=op, value=formatting.plain(t, lang()))
        for n, t in enumerate(m.thresholds, start=1)
    )


def cards(fm: entry.EntryForm, scope: tuple, on_change, extras=None) -> None:
    """Every card, in one expander per pillar (open while the pillar has unanswered indicators or
    an open clarification request, so reaching a card costs no click)."""
    for group in fm.pillars:
        with st.expander(
            tr(
                "entry.pillar",
                code=group.code,
                name=md_escape(group.name),
                answered=group.answered,
                total=group.total,
            ),
            expanded=group.needs_attention,
        ):
            for c in group.cards:
                card(c, fm.levels, scope, not fm.editable, on_change, extras)


def _na_status(c: entry.FormCard) -> None:
    """Where a "tidak berlaku" answer stands: not sent, waiting for the assessor, confirmed, or
    rejected with the assessor's note (the OPD then answers a level or gives a better reason)."""
    state = c.na_state or "draft"
    text = tr(f"na.state.{state}")
    if state == "rejected":
        st.warning(
            text + (f" {tr('na.assessor_note')}: {md_escape(c.na_note)}" if c.na_note else ""),
            icon=":material/undo:",
        )
    elif state == "accepted":
        st.success(text, icon=":material/task_alt:")
    else:
        st.caption(text)


def required_evidence(c: entry.FormCard, level: object) -> None:
    """The evidence the framework requires at `level`, as a checklist to attach against."""
    req = c.required(level)
    if not req:
        return
    st.caption(tr("evidence.form.required", level=level, n=len(c.items), m=len(req)))
    st.markdown("\n".join(f"- :material/check_box_outline_blank: {md_escape(x)}" for x in req))


def card(c: entry.FormCard, levels: list[int], scope: tuple, disabled: bool, on_change, extras=None) -> None:
    """One indicator: code and name; the rubric as choices (or the metric's verdict); evidence and note.

    An indicator that allows "tidak berlaku" offers TB as one more choice; its reason is the note
    field, relabelled as a required reason while TB is chosen (no extra widget per card: each keyed
    widget costs the page a session-state copy)."""
    level_key = key(c.code, "level", scope)
    with st.container(border=True):
        st.markdown(f"**{md_escape(c.code)} · {md_escape(c.name)}**")
        left, right = st.columns([3, 2])
        options: list[int | str] = [*levels, NA] if c.allow_na else list(levels)
        chosen_na = st.session_state.get(level_key, c.value) == NA
        with left:
            if c.level_editable:
                st.radio(
                    tr("entry.level_label"),
                    options,
                    index=options.index(c.value) if c.value in options else None,
                    format_func=lambda v: c.choice(v, lang()),
                    key=level_key,
                    disabled=disabled,
                    on_change=on_change,
                )
                if chosen_na:
                    _na_status(c)
                if c.metric is not None:  # a metric without a value yet: the chosen level counts until then
                    st.caption(
                        tr(
                            "entry.metric_pending",
                            thresholds=_thresholds(c.metric),
                            unit=md_escape(tr_unit(c.metric.unit)),
                        )
                    )
            else:
                m = c.metric
                st.info(
                    tr(
                        "entry.metric_scored",
                        value=formatting.number(m.value, lang()),
                        unit=md_escape(tr_unit(m.unit)),
                        agg=tr(f"agg.{m.aggregate}"),
                        level=m.level,
                        thresholds=_thresholds(m),
                    ),
                    icon=":material/speed:",
                )
                st.markdown(f"**{md_escape(c.choice(m.level))}**")
        with right:
            st.text_area(
                tr("entry.col_evidence"),
                value=c.evidence,
                key=key(c.code, "evidence", scope),
                disabled=disabled,
                max_chars=4000,
                height=110,
                on_change=on_change,
                placeholder=tr("entry.evidence_hint"),
            )
            st.text_input(
                tr("na.reason_label") if chosen_na else tr("col.note"),
                value=c.note,
                key=key(c.code, "note", scope),
                disabled=disabled,
                max_chars=4000,
                on_change=on_change,
            )
        required_evidence(
            c,
            st.session_state.get(level_key, c.value)
            if c.level_editable or c.metric is None
            else c.metric.level,
        )
        if extras is not None:
            extras(c)


def tr_unit(unit: str) -> str:
    """A metric's unit code in words where a label exists ('percent' -> 'persen'), else as written."""
    k = f"unit.{unit}"
    return tr(k) if i18n.has(k) else unit
