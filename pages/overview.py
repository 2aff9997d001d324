"""Ringkasan: the mayor's first screen — the index, its band, the change, and where to act."""

import streamlit as st

from metrics import exports, opendata, views
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
ov = shell.cached(views.overview, store, f.city, f.year, shell.lang(), user=shell.current_user())

charts.header("overview.title", ov)
if charts.empty_state(ov):
    st.stop()

# published results: the whole year as open data, for anyone (made and audited only when clicked)
if shell.public_read(store):
    st.download_button(
        tr("opendata.download"),
        lambda: exports.opendata_download(store, ov.year, shell.lang(), user=shell.current_user()),
        file_name=opendata.zip_name(ov.year),
        mime=opendata.ZIP_MIME,
        icon=":material/download:",
        help=tr("opendata.download_help", year=ov.year),
        key="ov_opendata",
    )

c1, c2, c3, c4 = st.columns([1.3, 1, 1, 1])
with c1:
    st.metric(
        tr("overview.index", hi=ov.scale.max),
        charts.fmt(ov.index),
        charts.fmt_delta(ov.delta),
        border=True,
        help=tr("overview.index_help"),
        delta_description=tr("overview.vs_year", year=ov.prev_year) if ov.prev_year else None,
    )
    charts.band_badge(ov.band)
with c2:
    st.metric(tr("overview.prev", year=ov.year - 1), charts.fmt(ov.prev_index), border=True)
    if ov.prev_band is not None:
        st.caption(ov.prev_band.label)
with c3:
    st.metric(
        tr("overview.completeness"),
        charts.fmt_pct(ov.completeness),
        border=True,
        help=tr("overview.completeness_help"),
    )
    st.caption(tr("overview.answered", answered=ov.answered, pairs=ov.pairs))
with c4:
    st.metric(
        tr("overview.missing"),
        f"{ov.missing} / {ov.indicators}",
        border=True,
        help=tr("overview.missing_help"),
    )
    if ov.verified:
        st.caption(tr("overview.verified", n=ov.verified))

charts.rank_cards(ov.ranks)
charts.show(charts.index_bullet(ov.index, ov.prev_index, ov.prev_year, ov.year, ov.scale), key="ov_bullet")
charts.scale_note(ov.scale, ov.missing, ov.indicators)
if ov.orphans:  # indicators nobody in the city can answer: visible, not a silent zero
    st.warning(
        tr("orphans.warning", n=len(ov.orphans)) + "  \n" + charts.md_escape(ov.orphans_text),
        icon=":material/person_off:",
    )
if ov.prev_year is None:
    st.info(tr("overview.no_prev", year=ov.year - 1), icon=":material/history:")
if ov.framework_changed:
    st.warning(
        tr(
            "note.framework_changed",
            before=charts.md_escape(ov.prev_framework_id),
            after=charts.md_escape(ov.framework_id),
        ),
        icon=":material/rule:",
    )

left, right = st.columns(2)
with left:
    st.subheader(tr("overview.dimensions"))
    charts.show(charts.dimension_bars(ov.dimensions, ov.year, ov.prev_year, ov.scale), key="ov_dims")
with right:
    st.subheader(tr("overview.pillars"))
    charts.show(charts.pillar_radar(ov.pillars, ov.year, ov.prev_year, ov.scale), key="ov_radar")

st.subheader(tr("overview.priorities"))
st.caption(tr("overview.priorities_help"))
if ov.priorities.empty:
    st.success(tr("overview.no_priorities"))
else:
    charts.show(charts.priority_bars(ov.priorities, ov.scale), key="ov_priorities")
    charts.priority_list(ov.priorities)

# programmes planned this year that are not running: only for readers of the city's submissions
# (the view leaves `stalled` None for the public and viewers)
if ov.stalled is not None:
    sp = ov.stalled
    st.subheader(tr("overview.stalled_title"))
    st.caption(tr("overview.stalled_help", year=sp.year))
    if not sp.registered:
        st.info(tr("overview.stalled_no_register"), icon=":material/assignment:")
    elif not sp.count:
        st.success(tr("overview.stalled_none", year=sp.year))
    else:
        st.warning(
            tr("overview.stalled_n", n=sp.count, total=sp.registered, year=sp.year),
            icon=":material/pause_circle:",
        )
        charts.table(
            sp.shown,
            {
                "code": ("text", "col.code"),
                "name": ("text", "overview.col_programme"),
                "pillar_name": ("text", "col.pillar"),
                "opd": ("text", "col.opd"),
                "kind": ("tag", "overview.kind"),
                "status": ("tag", "overview.pstatus"),
            },
            key="ov_stalled",
        )
        if sp.more:
            st.caption(tr("overview.stalled_more", n=sp.more))
