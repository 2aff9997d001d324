"""Perbandingan: up to six cities over the years — the index, each dimension, and the biggest movers."""

import streamlit as st

from metrics import views
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
# the choices are read before the core call and drawn after it, from the options it returns;
# before any choice the core picks the sidebar city and its two nearest peers
cities = st.session_state.get("cmp_cities")
span = st.session_state.get("cmp_years", (None, None))
cmp = shell.cached(
    views.compare,
    store,
    tuple(cities) if cities is not None else None,
    span[0],
    span[1],
    shell.lang(),
    f.city,
    user=shell.current_user(),
)

st.title(tr("compare.title"))
if cmp.state == "empty":
    charts.empty_state(cmp)
    st.stop()
names = dict(cmp.city_options)
a, b = st.columns([3, 2])
a.multiselect(
    tr("compare.cities", n=views.MAX_COMPARE_CITIES),
    list(names),
    default=list(cmp.cities),
    format_func=lambda c: names.get(c, c),
    max_selections=views.MAX_COMPARE_CITIES,
    key="cmp_cities",
    placeholder=tr("compare.pick_city"),
)
b.select_slider(
    tr("compare.years"), list(cmp.year_options), value=(cmp.years[0], cmp.years[-1]), key="cmp_years"
)
if cities is None:
    st.caption(tr("compare.default_peers"))
if cmp.truncated:
    st.warning(tr("compare.truncated", n=views.MAX_COMPARE_CITIES))
if cmp.state == "no_city":
    st.info(tr("compare.pick_city"), icon=":material/location_city:")
    st.stop()
if cmp.state == "no_data":
    st.warning(tr("compare.no_data"), icon=":material/upload_file:")
    st.stop()

charts.latest_cards(cmp.latest)
charts.framework_note(cmp.framework_changes)
st.caption(
    tr("compare.context", years=f"{cmp.years[0]}–{cmp.years[-1]}")
    + (" " + tr("compare.missing", n=cmp.missing_counted, lo=cmp.scale.min) if cmp.missing_counted else "")
)

st.subheader(tr("compare.index_lines"))
charts.show(charts.compare_index_lines(cmp.series, cmp.scale, cmp.framework_changes), key="cmp_index")
st.subheader(tr("compare.dimension_lines"))
charts.show(
    charts.compare_dimension_lines(cmp.series, cmp.measures, cmp.scale, cmp.framework_changes), key="cmp_dims"
)

st.subheader(tr("compare.movers"))
st.caption(tr("compare.movers_help"))
movers = {
    "city": ("text", "col.city"),
    "code": ("text", "col.code"),
    "name": ("longtext", "col.indicator"),
    "from_year": ("year", "col.from_year"),
    "from_level": ("level", "col.from_level"),
    "to_year": ("year", "col.to_year"),
    "to_level": ("level", "col.to_level"),
    "change": ("delta", "col.change"),
}
st.markdown("**" + tr("compare.rising") + "**")
charts.table(cmp.rising, movers, key="cmp_rising", empty="compare.none")
st.markdown("**" + tr("compare.falling") + "**")
charts.table(cmp.falling, movers, key="cmp_falling", empty="compare.none")
