"""Peringkat: the city's OPDs ranked by index, and the cities ranked nationally, against last year."""

import streamlit as st

from metrics import exports, reports, views
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
user = shell.current_user()
rk = shell.cached(views.rankings, store, f.city, f.year, f.province, f.category, shell.lang(), user=user)


def download(part: str):
    # made and audited by the core only when the button is clicked
    return lambda: exports.rankings_download(
        store, f.city, f.year, f.province, f.category, shell.lang(), part, user=user
    )


charts.header("rankings.title", rk)
if charts.empty_state(rk):
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric(
    tr("rankings.city_rank"),
    f"{rk.city_rank} / {rk.ranked_cities}" if rk.city_rank else "–",
    border=True,
    help=tr("rankings.city_rank_help"),
)
c2.metric(
    tr("rankings.opds_ranked"),
    f"{rk.ranked_opds} / {len(rk.opds)}",
    border=True,
    help=tr("rankings.opds_ranked_help"),
)
c3.download_button(
    tr("rankings.download_xlsx"),
    download("xlsx"),
    file_name=f"peringkat-{rk.city_code}-{rk.year}.xlsx",
    mime=reports.XLSX_MIME,
    icon=":material/download:",
    type="primary",
    key="rk_xlsx",
)
st.caption(tr("rankings.scale", lo=rk.scale.min, hi=rk.scale.max))

tab_opd, tab_city = st.tabs(
    [tr("rankings.tab_opd", city=charts.md_escape(rk.city_name)), tr("rankings.tab_city")]
)
with tab_opd:
    st.caption(tr("rankings.opd_help", year=rk.year, prev=rk.prev_year))
    charts.table(
        rk.opds,
        {
            "rank": ("int", "col.rank"),
            "opd_code": ("text", "col.opd_code"),
            "name": ("text", "col.opd"),
            "opd_type": ("text", "col.opd_type"),
            "index": ("level", "col.index"),
            "band": ("text", "col.band"),
            "change": ("delta", "col.change"),
            "completeness": ("pct", "col.completeness"),
            "answered": ("int", "col.answered"),
            "pairs": ("int", "col.required"),
            "last_upload": ("datetime", "col.last_upload"),
        },
        key="rk_opd_table",
    )
    st.download_button(
        tr("rankings.download_csv"),
        download("opd_csv"),
        file_name=f"peringkat-opd-{rk.city_code}-{rk.year}.csv",
        mime=reports.CSV_MIME,
        icon=":material/download:",
        key="rk_opd_csv",
    )
    charts.show(
        charts.ranked_bars(rk.opds["name"].tolist(), rk.opds["index"].tolist(), rk.scale), key="rk_opd_bars"
    )
with tab_city:
    if rk.filtered:
        st.caption(
            tr(
                "rankings.filtered",
                province=charts.md_escape(f.province or tr("filter.all")),
                category=charts.md_escape(f.category or tr("filter.all")),
            )
        )
    st.caption(
        tr("rankings.city_help", year=rk.year, prev=rk.prev_year)
        + (" " + tr("rankings.missing_zero") if rk.missing_zero else "")
    )
    if rk.framework_changed:
        st.warning(tr("rankings.framework_changed"), icon=":material/rule:")
    charts.table(
        rk.cities,
        {
            "rank": ("int", "col.rank_national"),
            **({"rank_in_selection": ("int", "col.rank_selection")} if rk.filtered else {}),
            "movement": ("move", "col.movement"),
            "rank_prev": ("int", "col.rank_prev"),
            "name": ("text", "col.city"),
            "province": ("text", "col.province"),
            "category": ("text", "col.category"),
            "index": ("level", "col.index"),
            "band": ("text", "col.band"),
            "completeness": ("pct", "col.completeness"),
            "missing": ("int", "col.missing_zero" if rk.missing_zero else "col.missing_answers"),
            "framework_id": ("text", "col.framework"),
        },
        key="rk_city_table",
        empty="rankings.no_cities",
    )
    st.download_button(
        tr("rankings.download_csv"),
        download("city_csv"),
        file_name=f"peringkat-kota-{rk.year}.csv",
        mime=reports.CSV_MIME,
        icon=":material/download:",
        key="rk_city_csv",
    )
    charts.show(
        charts.ranked_bars(
            rk.cities["name"].tolist(), rk.cities["index"].tolist(), rk.scale, highlight=rk.city_row
        ),
        key="rk_city_bars",
    )
