"""Rapor: the printable report card (PDF) and all the numbers (XLSX) for the chosen city and year.

The files are made by the core only when a button is clicked (deferred download data), so each
download is checked against the user's EXPORT permission and audited once, and merely opening
the page exports nothing.
"""

import streamlit as st

from metrics import reportcard, reports
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
f = shell.filters()
user = shell.current_user()
lang = shell.lang()
ov = shell.cached(reportcard.preview, store, f.city, f.year, lang, user=user)

charts.header("report.title", ov)
if charts.empty_state(ov):
    st.stop()

st.caption(tr("report.intro"))
c1, c2 = st.columns(2)
with c1:
    st.metric(
        tr("report.index", hi=ov.scale.max), charts.fmt(ov.index), charts.fmt_delta(ov.delta), border=True
    )
    charts.band_badge(ov.band)
with c2:
    st.subheader(tr("report.pdf_title"))
    st.caption(tr("report.pdf_help", fw=charts.md_escape(ov.framework_id)))
    st.download_button(
        tr("report.download_pdf"),
        data=lambda city=f.city, year=f.year, u=user, lg=lang: (
            reportcard.report_card(store, u, city, year, lg).pdf
        ),
        file_name=reportcard.file_name(f.city, f.year, lang),
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        type="primary",
        key="report_pdf",
    )
    st.subheader(tr("report.xlsx_title"))
    st.caption(tr("report.xlsx_help"))
    st.download_button(
        tr("report.download_xlsx"),
        data=lambda city=f.city, year=f.year, u=user, lg=lang: reports.export(
            store, u, year, city, "xlsx", lg
        ),
        file_name=f"angka_{f.city}_{f.year}_{lang}.xlsx",
        mime=reports.XLSX_MIME,
        icon=":material/download:",
        key="report_xlsx",
    )
st.caption(tr("report.audited"))
