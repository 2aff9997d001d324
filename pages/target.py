"""Jalur ke target: what exactly the city must do, and who must do it, to reach an index, a band
or a rank.

The mayor's office asks this after the results letter. The answer is the core's
(metrics.targets.plan: the cheapest set of moves, found exactly by an integer program); this page
collects the target, shows the plan as a task list per OPD with the index climbing to the
target, offers it as XLSX and as a report-card page, and lets the people who know the cost of a
step (the OPD that answers an indicator, the planner) enter it (metrics.efforts, audited).
"""

import pandas as pd
import streamlit as st

from metrics import efforts, exports, reportcard, targets
from metrics.errors import CoreError
from metrics.reports import XLSX_MIME
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("target.title"))
if f.city is None or f.year is None:
    st.info(tr("empty.first_run"), icon=":material/database:")
    st.stop()
city, year = f.city, f.year
# refuses a role that may not read the city's plans before anything is drawn
sit = shell.cached(targets.situation, store, user, city, year, lang)
st.caption(tr("header.context", city=charts.md_escape(sit.city_name), year=year))
flash = st.session_state.pop("tg_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
if sit.index is None:
    st.warning(tr("target.no_index", city=charts.md_escape(sit.city_name), year=year), icon=":material/info:")
    st.stop()

# ------------------------------------------------------------------ where the city stands
cols = st.columns(4)
cols[0].metric(tr("target.index_now", hi=sit.scale_max), charts.fmt(sit.index), border=True)
cols[1].metric(tr("target.band_now"), sit.band or "–", border=True)
for col, scope in zip(cols[2:], ("national", "province")):
    rank, ranked = sit.ranks.get(scope, (None, 0))
    col.metric(
        tr(f"target.rank_now.{scope}"),
        tr("target.rank_of", rank=rank, n=ranked) if rank is not None else "–",
        border=True,
    )
rank, ranked = sit.ranks.get("category", (None, 0))
if rank is not None:
    st.caption(tr("target.rank_category", rank=rank, n=ranked))

# ------------------------------------------------------------------ the target
st.subheader(tr("target.form"))
kinds = {k: tr(f"target.kind.{k}") for k in ("index", "band", "rank")}
kind = st.segmented_control(
    tr("target.kind"), list(kinds), default="index", required=True, format_func=kinds.get, key="tg_kind"
)
within = "national"
if kind == "index":
    # the next band's lower bound is the natural first target
    above = [lo for _, lo in sit.bands if lo > sit.index]
    value = st.number_input(
        tr("target.index_value", hi=sit.scale_max),
        min_value=0.0,
        max_value=float(sit.scale_max),
        value=float(above[0] if above else sit.scale_max),
        step=0.05,
        format="%.2f",
        key="tg_index",
    )
elif kind == "band":
    labels = [label for label, _ in sit.bands]
    value = st.selectbox(
        tr("target.band_value"),
        labels,
        index=min(labels.index(sit.band) + 1, len(labels) - 1) if sit.band in labels else 0,
        key="tg_band",
    )
else:
    scopes = {s: tr(f"target.within.{s}") for s in ("national", "province", "category")}
    c1, c2 = st.columns(2)
    within = c2.selectbox(tr("target.within"), list(scopes), format_func=scopes.get, key="tg_within")
    now, ranked = sit.ranks.get(within, (None, 0))
    value = c1.number_input(
        tr("target.rank_value"),
        min_value=1,
        max_value=max(1, ranked),
        value=max(1, (now or 2) - 1),
        step=1,
        key="tg_rank",
    )
    st.caption(tr("target.rank_held"))
if st.button(tr("target.compute"), type="primary", key="tg_go", icon=":material/route:"):
    st.session_state["tg_goal"] = (city, year, targets.Target(kind, value, within))

kept = st.session_state.get("tg_goal")
goal = kept[2] if kept and kept[:2] == (city, year) else None

# ------------------------------------------------------------------ the plan
if goal is not None:
    plan = shell.cached(targets.plan, store, user, city, year, goal, lang)
    unit = tr(f"target.unit.{plan.effort_unit}")
    st.subheader(tr("target.plan_title", target=charts.md_escape(exports.target_words(goal, lang))))
    if plan.reachable:
        st.success(
            tr(
                "target.reachable_plan",
                needed=charts.fmt(plan.needed_index),
                final=charts.fmt(plan.final_index),
                n=len(plan.moves),
                effort=charts.fmt(plan.total_effort),
                unit=unit,
            ),
            icon=":material/flag:",
        )
    else:
        st.warning(
            tr("target.unreachable", needed=charts.fmt(plan.needed_index), best=charts.fmt(plan.final_index)),
            icon=":material/block:",
        )
    if plan.held or plan.notes:
        st.caption(shell.md_list([n for n in (plan.held, *plan.notes) if n]))
    m1, m2, m3 = st.columns(3)
    m1.metric(tr("target.start"), charts.fmt(plan.start_index), border=True)
    m2.metric(
        tr("target.final"),
        charts.fmt(plan.final_index),
        charts.fmt_delta(
            plan.final_index - plan.start_index
            if plan.final_index is not None and plan.start_index is not None
            else None
        ),
        border=True,
    )
    m3.metric(tr("target.total_effort", unit=unit), charts.fmt(plan.total_effort), border=True)

    if plan.moves:
        step = {m: n for n, m in enumerate(plan.moves, 1)}
        task_columns = {
            "step": ("int", "target.col.step"),
            "code": ("text", "col.code"),
            "name": ("text", "col.indicator"),
            "from_to": ("text", "target.col.from_to"),
            "effort": ("level", "target.col.effort"),
            "index_after": ("level", "target.col.index_after"),
            "target_text": ("longtext", "target.col.target_text"),
            "metric_needed": ("text", "target.col.metric_needed"),
        }
        for n, (opd, moves) in enumerate(targets.by_opd(plan, lang).items()):
            st.markdown(f"**{charts.md_escape(opd)}** · " + tr("target.opd_tasks", n=len(moves)))
            rows = pd.DataFrame(
                [
                    {
                        "step": step[m],
                        "code": m.code,
                        "name": m.name,
                        "from_to": f"{charts.fmt(m.from_level)} → {'–' if m.to_level is None else m.to_level}",
                        "target_text": m.target_text,
                        "metric_needed": None
                        if m.metric_needed is None
                        else f"{m.metric_code} {'≤' if m.metric_direction == 'lower' else '≥'} "
                        f"{charts.fmt(m.metric_needed)} {m.metric_unit or ''}".strip(),
                        "effort": m.effort,
                        "index_after": m.index_after,
                    }
                    for m in moves
                ],
                columns=list(task_columns),
            )
            charts.table(rows, task_columns, key=f"tg_tasks_{n}")
        charts.show(charts.plan_climb(plan, sit.bands, sit.scale_max), key="tg_climb")
        c1, c2 = st.columns(2)
        c1.download_button(
            tr("target.download_xlsx"),
            lambda: exports.plan_download(store, city, year, goal, lang, user=user),
            file_name=exports.plan_file_name(city, year, lang, "xlsx"),
            mime=XLSX_MIME,
            key="tg_xlsx",
            icon=":material/download:",
        )
        c2.download_button(
            tr("target.download_pdf"),
            lambda: reportcard.plan_pdf(store, user, city, year, goal, lang),
            file_name=exports.plan_file_name(city, year, lang, "pdf"),
            mime="application/pdf",
            key="tg_pdf",
            icon=":material/picture_as_pdf:",
        )
    elif plan.reachable:
        st.info(tr("target.already"), icon=":material/check:")
    st.caption(tr("target.solver", solver=charts.md_escape(plan.solver)))

# ------------------------------------------------------------------ the effort of each step
st.subheader(tr("target.effort.title"))
table = shell.cached(efforts.effort_table, store, user, city, year, lang)
st.caption(tr("target.effort.help", unit=tr(f"target.unit.{table.unit}")))
levels = list(range(table.scale_min + 1, table.scale_max + 1))
step_columns = {f"to_{k}": k for k in levels}
grid = pd.DataFrame(
    [
        {
            "code": r.code,
            "name": r.name,
            "opds": ", ".join(r.opd_names),
            "level": r.level,
            "editable": r.editable,
            **{col: r.efforts.get(k) for col, k in step_columns.items()},
        }
        for r in table.rows
    ],
    columns=["code", "name", "opds", "level", "editable", *step_columns],
).astype({col: "float64" for col in ["level", *step_columns]})  # an empty cell reads as blank, not "None"
cc = st.column_config
config = {
    "code": cc.TextColumn(tr("col.code")),
    "name": cc.TextColumn(tr("col.indicator")),
    "opds": cc.TextColumn(tr("target.effort.col_opds")),
    "level": cc.NumberColumn(tr("col.level"), format="%.2f"),
    "editable": cc.CheckboxColumn(tr("target.effort.col_editable")),
    **{
        col: cc.NumberColumn(tr("target.effort.col_to", level=k), min_value=0.0)
        for col, k in step_columns.items()
    },
}
if not (table.editable or table.unit_editable):
    st.dataframe(
        grid,
        hide_index=True,
        column_order=["code", "name", "opds", "level", *step_columns],
        column_config=config,
        key="tg_efforts_read",
    )
    st.stop()

edit_round = st.session_state.get("tg_effort_round", 0)
editor_key = f"tg_efforts_{city}_{year}_{edit_round}"
st.data_editor(
    grid,
    hide_index=True,
    num_rows="fixed",
    disabled=["code", "name", "opds", "level", "editable"],
    column_config=config,
    key=editor_key,
)
unit = table.unit
if table.unit_editable:
    unit = st.selectbox(
        tr("target.effort.unit"),
        list(efforts.EFFORT_UNITS),
        index=list(efforts.EFFORT_UNITS).index(table.unit),
        format_func={u: tr(f"target.unit.{u}") for u in efforts.EFFORT_UNITS}.get,
        key=f"tg_unit_{city}_{year}_{edit_round}",
    )
if st.button(tr("target.effort.save"), type="primary", key="tg_effort_save", icon=":material/save:"):
    # the grid's own record of what was typed: {row position: {column: new value}}
    typed = st.session_state.get(editor_key, {}).get("edited_rows", {})
    changes = [
        efforts.EffortChange(
            grid["code"].iloc[int(row)], step_columns[col], None if value is None else float(value)
        )
        for row, cols in typed.items()
        for col, value in cols.items()
        if col in step_columns
    ]
    try:
        n = efforts.set_efforts(store, user, city, year, changes) if changes else 0
        if unit != table.unit:
            efforts.set_effort_unit(store, user, city, year, unit)
    except CoreError as exc:
        st.error(shell.core_message(exc))
    else:
        st.session_state["tg_effort_round"] = edit_round + 1
        st.session_state["tg_flash"] = tr("target.effort.saved", n=n, unit=tr(f"target.unit.{unit}"))
        st.rerun()
