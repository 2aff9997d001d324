"""Peta kematangan: levels by dimension × pillar for the city, and by pillar for each of its OPDs."""

import streamlit as st

from metrics import views
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
mx = shell.cached(views.matrix, store, f.city, f.year, shell.lang(), user=shell.current_user())

charts.header("matrix.title", mx)
if charts.empty_state(mx):
    st.stop()

c1, c2 = st.columns([1, 3])
with c1:
    st.metric(tr("overview.index", hi=mx.scale.max), charts.fmt(mx.index), border=True)
    charts.band_badge(mx.band)
with c2:
    st.caption(tr("matrix.help"))
    charts.scale_note(mx.scale, mx.missing, mx.indicators)

st.subheader(tr("matrix.city", city=charts.md_escape(mx.city_name)))
charts.show(
    charts.level_heatmap(
        mx.city,
        "dimension",
        "dimension_name",
        "pillar",
        "pillar_name",
        mx.scale,
        mx.dimension_codes,
        mx.pillar_codes,
        tr("col.indicators"),
    ),
    key="mx_city",
)
st.caption(tr("matrix.city_help"))

st.subheader(tr("matrix.opds"))
charts.show(
    charts.level_heatmap(
        mx.opds,
        "opd_code",
        "opd",
        "pillar",
        "pillar_name",
        mx.scale,
        mx.opd_order,
        mx.pillar_codes,
        tr("col.answered_n"),
    ),
    key="mx_opds",
)
st.caption(tr("matrix.opds_help"))
