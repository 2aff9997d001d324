"""Rincian: from the index to a dimension or pillar to each indicator, with the formulas to recompute it."""

import streamlit as st

from metrics import views
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
dd = shell.cached(views.drilldown, store, f.city, f.year, shell.lang(), user=shell.current_user())

charts.header("drill.title", dd)
if charts.empty_state(dd):
    st.stop()

c1, c2 = st.columns([1, 3])
with c1:
    st.metric(tr("overview.index", hi=dd.scale.max), charts.fmt(dd.index), border=True)
    charts.band_badge(dd.band)
with c2:
    st.markdown("**" + tr("drill.index_formula") + "**")
    charts.formula_block(tr("drill.index_symbol"), dd.index_formula, tr("drill.index_formula_help"))
charts.scale_note(dd.scale, dd.missing, dd.indicators_total)

by_labels = {"dimension": tr("drill.by_dimension"), "pillar": tr("drill.by_pillar")}
by = st.segmented_control(
    tr("drill.by"),
    list(by_labels),
    default="dimension",
    required=True,
    format_func=by_labels.get,
    key="dd_by",
)
group = st.selectbox(
    tr(f"drill.pick_{by}"),
    dd.group_options(by),
    format_func=lambda c: dd.group_label(by, c),
    key=f"dd_group_{by}",
)
g = dd.group(by, group)
charts.show(charts.group_bars(dd.groups[by], dd.scale, g.code), key=f"dd_groups_{by}")

st.subheader(tr("drill.group_title", name=charts.md_escape(g.name), value=charts.fmt(g.value)))
charts.formula_block(
    f"{g.code}", g.formula, tr("drill.group_missing", n=g.missing, lo=dd.scale.min) if g.missing else None
)
mv = dd.method(g.code) if by == "dimension" else None
if mv is not None:
    # a dimension computed by a method has no indicators: show the numbers the method counted
    st.subheader(tr("drill.method_title", method=charts.words("drill.method", mv.method)))
    if mv.method == "programmes":
        kind = charts.words("overview.kind", mv.kind)
        st.caption(tr("drill.method_programmes_words", kind=charts.md_escape(kind)))
        charts.table(
            mv.pillars,
            {
                "pillar_name": ("text", "col.pillar"),
                "planned": ("int", "drill.col_planned"),
                "running": ("int", "drill.col_running"),
                "excluded": ("int", "drill.col_excluded"),
                "stalled": ("int", "drill.col_stalled"),
                "value": ("level", "col.value"),
                "formula": ("text", "drill.col_formula"),
            },
            key=f"dd_method_pillars_{mv.code}",
        )
    else:
        st.caption(tr("drill.method_survey_words", min=mv.min_respondents))
        if len(mv.insufficient):
            st.warning(
                tr("drill.method_insufficient_n", n=len(mv.insufficient), min=mv.min_respondents),
                icon=":material/group_off:",
            )
        charts.table(
            mv.programmes,
            {
                "code": ("text", "col.code"),
                "name": ("text", "drill.col_programme"),
                "respondents": ("int", "drill.col_respondents"),
                "mean": ("level", "drill.col_mean"),
                "impact": ("level", "drill.col_impact"),
                "note": ("text", "drill.col_counted"),
            },
            key=f"dd_method_survey_{mv.code}",
        )
        if mv.ignored:
            st.caption(tr("drill.method_ignored", codes=charts.md_escape(", ".join(mv.ignored))))
else:
    if by == "pillar" and dd.methods:
        st.caption(tr("drill.method_pillar_note"))
    rows = dd.table(by, g.code)
    charts.show(charts.indicator_bars(rows, dd.scale), key=f"dd_ind_bars_{by}_{g.code}")
    charts.table(
        rows,
        {
            "code": ("text", "col.code"),
            "name": ("text", "col.indicator"),
            "weight": ("level", "col.weight"),
            "effective": ("level", "col.level"),
            "score_level": ("level", "col.counted"),
            "source": ("tag", "source"),
            "contribution": ("level", "col.contribution"),
            "n_opd": ("int", "col.n_opd"),
            "responsible_opds": ("int", "col.responsible"),
        },
        key=f"dd_table_{by}_{g.code}",
    )

    st.subheader(tr("drill.indicator"))
    code = st.selectbox(
        tr("drill.pick_indicator"),
        list(g.indicators),
        format_func=dd.indicator_label,
        key=f"dd_indicator_{by}_{g.code}",
    )
    det = shell.cached(
        views.indicator_detail, store, f.city, f.year, code, shell.lang(), user=shell.current_user()
    )
    if det is not None:
        charts.indicator_detail(det, dd.scale)

if not dd.na.empty:
    st.subheader(tr("drill.na_title"))
    st.caption(tr("drill.na_help"))
    charts.table(
        dd.na,
        {
            "code": ("text", "col.code"),
            "name": ("text", "col.indicator"),
            "dimension_name": ("text", "col.dimension"),
            "pillar_name": ("text", "col.pillar"),
            "status": ("tag", "drill.na_status"),
            "reason": ("text", "drill.col_reason"),
        },
        key="dd_na",
    )
