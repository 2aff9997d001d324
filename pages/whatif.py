"""Simulasi kerangka: every city's index, band and rank under a candidate framework, beside
today's, before anyone loads it.

Next year's weights or thresholds move every city's rank; the evaluator wants to see who moves,
by how much and why before deciding. The re-score is the core's (metrics.whatif.whatif: the
candidate shadows the year's framework over the kept per-indicator facts, nothing is stored, the
preview is audited as a read). This page collects the candidate (an uploaded YAML file, or edits
to the year's framework in tables) and shows the answer.
"""

import pandas as pd
import streamlit as st

from metrics import whatif
from metrics.errors import CoreError
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("whatif.title"))
if f.year is None:
    st.info(tr("empty.first_run"), icon=":material/database:")
    st.stop()
year = f.year
try:  # the admin's page: the core refuses everyone else before anything is drawn
    base = shell.cached(whatif.editable_framework, store, user, year)
except CoreError as exc:
    st.error(shell.core_message(exc))
    st.stop()
st.caption(tr("whatif.intro", year=year))
st.info(tr("whatif.nothing_stored"), icon=":material/info:")


def name(label: dict) -> str:
    return label.get(lang) or label.get("id") or next(iter(label.values()), "")


# ------------------------------------------------------------------ the candidate
sources = {"edit": tr("whatif.source.edit"), "file": tr("whatif.source.file")}
source = st.segmented_control(
    tr("whatif.source"),
    list(sources),
    default="edit",
    required=True,
    format_func=sources.get,
    key="wi_source",
)
candidate = None
if source == "file":
    up = st.file_uploader(tr("whatif.upload"), type=["yaml", "yml"], key="wi_file")
    if up is not None:
        candidate = up.getvalue()  # the core checks its size and encoding, as for a load
else:
    st.caption(tr("whatif.edit_help", fw=charts.md_escape(base.id)))
    cc = st.column_config
    dims = pd.DataFrame(
        [
            {"code": d.code, "name": name(d.name), "weight": d.weight, "method": d.method}
            for d in base.dimensions
        ],
        columns=["code", "name", "weight", "method"],
    )
    inds = pd.DataFrame(
        [
            {"code": i.code, "name": name(i.name), "dimension": i.dimension, "weight": i.weight}
            for i in base.indicators
        ],
        columns=["code", "name", "dimension", "weight"],
    )
    steps = list(range(base.scale_min + 1, base.scale_max + 1))
    metrics_df = pd.DataFrame(
        [
            {
                "code": i.code,
                "metric": i.metric.code,
                "unit": i.metric.unit,
                "direction": i.metric.direction,
                **{f"t{k}": v for k, v in zip(steps, i.metric.thresholds)},
            }
            for i in base.indicators
            if i.metric is not None
        ],
        columns=["code", "metric", "unit", "direction", *(f"t{k}" for k in steps)],
    )
    text = cc.TextColumn
    tabs = st.tabs([tr("whatif.tab.dimensions"), tr("whatif.tab.indicators"), tr("whatif.tab.thresholds")])
    with tabs[0]:
        st.data_editor(
            dims,
            hide_index=True,
            num_rows="fixed",
            disabled=["code", "name"],
            column_config={
                "code": text(tr("col.code")),
                "name": text(tr("col.dimension")),
                "weight": cc.NumberColumn(
                    tr("col.weight"), min_value=0.0, max_value=1.0, format="%.4f", required=True
                ),
                "method": cc.SelectboxColumn(
                    tr("whatif.col.method"), options=["rubric", "programmes", "survey"], required=True
                ),
            },
            key=f"wi_dims_{year}",
        )
        missing = st.selectbox(
            tr("whatif.missing"),
            ["zero", "exclude"],
            index=0 if base.missing == "zero" else 1,
            format_func={m: tr(f"whatif.missing.{m}") for m in ("zero", "exclude")}.get,
            key=f"wi_missing_{year}",
        )
    with tabs[1]:
        st.data_editor(
            inds,
            hide_index=True,
            num_rows="fixed",
            disabled=["code", "name", "dimension"],
            column_config={
                "code": text(tr("col.code")),
                "name": text(tr("col.indicator")),
                "dimension": text(tr("col.dimension")),
                "weight": cc.NumberColumn(tr("col.weight"), min_value=0.0, format="%.2f", required=True),
            },
            key=f"wi_inds_{year}",
        )
    with tabs[2]:
        st.data_editor(
            metrics_df,
            hide_index=True,
            num_rows="fixed",
            disabled=["code", "metric", "unit", "direction"],
            column_config={
                "code": text(tr("col.code")),
                "metric": text(tr("whatif.col.metric")),
                "unit": text(tr("whatif.col.unit")),
                "direction": text(tr("whatif.col.direction")),
                **{
                    f"t{k}": cc.NumberColumn(tr("whatif.col.threshold", level=k), required=True)
                    for k in steps
                },
            },
            key=f"wi_thr_{year}",
        )

    def typed(key: str) -> dict:
        """What was typed into editor `key`: {row position: {column: new value}}."""
        return st.session_state.get(key, {}).get("edited_rows", {})

    # the edits, as the core's FrameworkEdits: only what was changed in the tables (a cell emptied
    # is no edit: the grid asks for a value, and a message that still carries none changes nothing)
    dim_rows, ind_rows, thr_rows = typed(f"wi_dims_{year}"), typed(f"wi_inds_{year}"), typed(f"wi_thr_{year}")
    edits = whatif.FrameworkEdits(
        dimension_weights={
            dims["code"].iloc[int(r)]: float(c["weight"])
            for r, c in dim_rows.items()
            if c.get("weight") is not None
        },
        methods={dims["code"].iloc[int(r)]: str(c["method"]) for r, c in dim_rows.items() if c.get("method")},
        indicator_weights={
            inds["code"].iloc[int(r)]: float(c["weight"])
            for r, c in ind_rows.items()
            if c.get("weight") is not None
        },
        thresholds={
            metrics_df["code"].iloc[int(r)]: tuple(
                float(metrics_df[f"t{k}"].iloc[int(r)] if c.get(f"t{k}") is None else c[f"t{k}"])
                for k in steps
            )
            for r, c in thr_rows.items()
        },
        missing=missing if missing != base.missing else None,
    )
    candidate = edits if edits != whatif.FrameworkEdits() else None
    if candidate is None:
        st.caption(tr("whatif.no_edits"))

if st.button(
    tr("whatif.preview"),
    type="primary",
    key="wi_go",
    icon=":material/play_arrow:",
    disabled=candidate is None,
):
    try:
        framework = (
            whatif.edited_framework(base, candidate)
            if isinstance(candidate, whatif.FrameworkEdits)
            else candidate
        )
        st.session_state["wi_result"] = whatif.whatif(store, user, framework, year, lang)
    except CoreError as exc:
        st.session_state.pop("wi_result", None)
        st.error(shell.core_message(exc))

# ------------------------------------------------------------------ the answer
result = st.session_state.get("wi_result")
if result is not None and result.year == year:
    st.subheader(
        tr(
            "whatif.result",
            before=charts.md_escape(result.framework_before),
            after=charts.md_escape(result.framework_after),
            year=result.year,
        )
    )
    c1, c2, c3 = st.columns(3)
    c1.metric(tr("whatif.cities"), len(result.cities), border=True)
    c2.metric(tr("whatif.moved"), result.moved, border=True)
    c3.metric(tr("whatif.elapsed"), f"{charts.fmt(result.elapsed_ms, 0)} ms", border=True)
    st.markdown("**" + tr("whatif.changes") + "**")
    if result.changes:
        st.markdown(shell.md_list(result.changes))
    else:
        st.caption(tr("whatif.no_changes"))
    rows = pd.DataFrame(
        [
            {
                "name": c.name,
                "province": c.province,
                "index_before": c.index_before,
                "index_after": c.index_after,
                "delta": c.delta,
                "band": f"{c.band_before or '–'} → {c.band_after or '–'}",
                "rank": f"{c.rank_before or '–'} → {c.rank_after or '–'}",
                "rank_change": c.rank_change,
                "driver": c.driver,
            }
            for c in result.cities
        ],
        columns=[
            "name",
            "province",
            "index_before",
            "index_after",
            "delta",
            "band",
            "rank",
            "rank_change",
            "driver",
        ],
    )
    charts.table(
        rows,
        {
            "name": ("text", "col.city"),
            "province": ("text", "whatif.col.province"),
            "index_before": ("level", "whatif.col.index_before"),
            "index_after": ("level", "whatif.col.index_after"),
            "delta": ("delta", "whatif.col.delta"),
            "band": ("text", "whatif.col.band"),
            "rank": ("text", "whatif.col.rank"),
            "rank_change": ("move", "whatif.col.rank_change"),
            "driver": ("longtext", "whatif.col.driver"),
        },
        key="wi_cities",
    )
    charts.show(
        charts.rank_changes(result.cities, tr("whatif.chart.today"), tr("whatif.chart.candidate")),
        key="wi_chart",
    )
