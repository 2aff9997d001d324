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
