"""Plotly figures, tables and page furniture for the read pages.

Why here: the pages stay thin (read filters, call one core function, draw) and every chart
looks the same way across them: the 0–4 scale on the axis, the framework's maturity bands as
coloured backgrounds, two-decimal hover text, previous year in grey. Plotly renders from the
JavaScript bundled with Streamlit, so nothing is fetched from the network.

Text that came from spreadsheets (OPD names, evidence) goes into figures HTML-escaped, because
plotly interprets a subset of HTML in labels and hover text; into Markdown (captions, alerts,
labels) through ui.shell.md_escape; in tables it is shown by st.dataframe, which never
interprets it, and leaves as CSV only through `table`'s own neutralised download.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from metrics import formatting, i18n, reports
from metrics.views import BandView, Scale
from ui.shell import lang, md_escape, tr

# A red-to-green ramp; a framework's bands take evenly spaced colours from it, lowest band red
# (the same four steps as the band badge: red, orange, amber, green).
RAMP = ("#B3261E", "#E8710A", "#D99A00", "#2E7D32")
BADGE = ("red", "orange", "yellow", "green")
PREV_COLOUR = "#9AA5B1"
PRIMARY = "#1F4E79"
CITY_COLOURS = ("#1F4E79", "#C2185B", "#00897B", "#F57C00", "#6A1B9A", "#5D4037")
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"], "locale": "id"}
FONT = dict(family="Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif", size=13, color="#1F2933")


def esc(text: object) -> str:
    """Text for plotly labels/hover: HTML-escaped so data can never become markup."""
    return html.escape("" if text is None else str(text), quote=True)


def wrap(text: object, width: int = 16) -> str:
    """Escaped text broken into lines of about `width` characters (plotly's <br>), for axis labels."""
    lines, cur = [], ""
    for word in esc(text).split(" "):
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    lines.append(cur)
    return "<br>".join(lines)


def fmt(value: float | None, digits: int = 2) -> str:
    """A number as the reader's language writes it (3,48 / 3.48): metrics.formatting, never an f-string."""
    return formatting.number(value, lang(), digits)


def fmt_pct(share: float | None) -> str:
    """A 0..1 share as a whole percentage."""
    return formatting.percent(share, lang())


def fmt_delta(value: float | None) -> str | None:
    text = formatting.signed(value, lang())
    return None if text == formatting.DASH else text


def fmt_date(value) -> str:
    """A long date (5 Desember 2026 / December 5, 2026)."""
    return formatting.long_date(value, lang())


def fmt_time(value) -> str:
    """A moment to the minute (5 Des 2026 14.30)."""
    return formatting.date_time(value, lang())


def words(prefix: str, code: object, lg: str | None = None) -> str:
    """A coded value (an audit action, a role) in words when a label `prefix.code` exists, else as stored."""
    key = f"{prefix}.{code}"
    if not i18n.has(key):
        return "" if code is None else str(code)
    return i18n.text(key, lg or lang())


def words_func(prefix: str, none_label: str | None = None):
    """A selectbox format_func naming codes in words, in the language of this run (fixed now, because
    Streamlit may call it outside the script run); None reads as `none_label` (e.g. "all")."""
    lg, none_text = lang(), tr(none_label) if none_label else ""
    return lambda v: none_text if v is None else words(prefix, v, lg)


def _tint(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def band_colour(band: BandView | None) -> str:
    if band is None:
        return PREV_COLOUR
    if band.count <= 1:
        return RAMP[-1]
    return RAMP[round(band.position * (len(RAMP) - 1) / (band.count - 1))]


def value_colour(scale: Scale, value: float | None) -> str:
    return band_colour(scale.band(value))


def level_colourscale(scale: Scale) -> list:
    """The band colours as a stepped colourscale over [scale.min, scale.max]."""
    span = float(scale.max - scale.min) or 1.0
    out = []
    for b in scale.bands:
        lo, hi = (b.min - scale.min) / span, (b.max - scale.min) / span
        c = band_colour(b)
        out += [[max(0.0, lo), c], [min(1.0, hi), c]]
    out[0][0], out[-1][0] = 0.0, 1.0
    return out


def _layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    base = dict(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        font=FONT,
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel=dict(bgcolor="white", font_size=13),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        # hover and tick numbers with the language's decimal mark (3,48 in Indonesian)
        separators=formatting.plotly_separators(lang()),
    )
    fig.update_layout(**{**base, **kw})
    return fig


def _band_background(fig: go.Figure, scale: Scale, axis: str = "y", labels: bool = True, **where) -> None:
    """Each maturity band as a faint coloured stripe along the value axis, labelled at the edge."""
    for b in scale.bands:
        c = band_colour(b)
        if axis == "y":
            fig.add_hrect(y0=b.min, y1=b.max, fillcolor=c, opacity=0.08, line_width=0, layer="below", **where)
            if labels:
                fig.add_annotation(
                    x=1.01,
                    xref="paper",
                    xanchor="left",
                    y=(b.min + b.max) / 2,
                    yanchor="middle",
                    text=esc(b.label),
                    showarrow=False,
                    font=dict(size=11, color=c),
                    **where,
                )
        else:
            fig.add_vrect(x0=b.min, x1=b.max, fillcolor=c, opacity=0.08, line_width=0, layer="below", **where)
            if labels:
                fig.add_annotation(
                    y=1,
                    yref="paper",
                    yanchor="bottom",
                    x=(b.min + b.max) / 2,
                    xanchor="center",
                    text=esc(b.label),
                    showarrow=False,
                    font=dict(size=11, color=c),
                    **where,
                )


def _level_axis(scale: Scale) -> dict:
    return dict(
        range=[scale.min, scale.max],
        dtick=1,
        title=tr("chart.level_axis", lo=scale.min, hi=scale.max),
        gridcolor="#E4E7EB",
        zeroline=False,
    )


def show(fig: go.Figure | None, key: str | None = None) -> None:
    """Draw a figure from this module (None: a builder had nothing to draw, so nothing is shown)."""
    if fig is not None:
        st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key)


# --------------------------------------------------------------------------- overview


def index_bullet(
    index: float, prev: float | None, prev_year: int | None, year: int, scale: Scale
) -> go.Figure:
    """The index as a marker on the 0–4 scale, over the coloured bands, with last year's value."""
    fig = go.Figure()
    for b in scale.bands:
        fig.add_trace(
            go.Bar(
                x=[b.max - b.min],
                base=[b.min],
                y=[""],
                orientation="h",
                marker_color=_tint(band_colour(b), 0.3),
                showlegend=False,
                hoverinfo="text",
                hovertext=esc(f"{b.label}: {fmt(b.min)}–{fmt(b.max)}"),
                text=esc(b.label),
                textposition="inside",
                insidetextanchor="middle",
                textfont=dict(color="#1F2933", size=12),
            )
        )
    if prev is not None:
        fig.add_trace(
            go.Scatter(
                x=[prev],
                y=[""],
                mode="markers",
                name=str(prev_year),
                marker=dict(symbol="line-ns", size=34, line=dict(width=3, color="#52606D")),
                hovertemplate=f"{prev_year}: %{{x:.2f}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[index],
            y=[""],
            mode="markers",
            name=str(year),
            marker=dict(symbol="diamond", size=22, color=PRIMARY, line=dict(width=2, color="white")),
            hovertemplate=f"{year}: %{{x:.2f}}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[scale.min, scale.max], dtick=1, showgrid=False)
    fig.update_yaxes(showticklabels=False)
    return _layout(fig, 130, barmode="overlay", margin=dict(l=10, r=10, t=30, b=10))


def dimension_bars(df: pd.DataFrame, year: int, prev_year: int | None, scale: Scale) -> go.Figure:
    """Each evaluation dimension this year (coloured by band) beside last year (grey)."""
    names = [esc(n) for n in df["name"]]
    fig = go.Figure()
    if prev_year is not None:
        fig.add_trace(
            go.Bar(
                x=names,
                y=df["prev"],
                name=str(prev_year),
                marker_color=PREV_COLOUR,
                customdata=list(zip(df["weight"])),
                hovertemplate=f"%{{x}}<br>{prev_year}: %{{y:.2f}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Bar(
            x=names,
            y=df["value"],
            name=str(year),
            marker_color=[value_colour(scale, v) for v in df["value"]],
            text=[fmt(v) for v in df["value"]],
            textposition="outside",
            cliponaxis=False,
            customdata=list(zip(df["weight"], df["code"])),
            hovertemplate=(
                f"%{{x}} (%{{customdata[1]}})<br>{year}: %{{y:.2f}}<br>"
                + esc(tr("chart.weight"))
                + ": %{customdata[0]:.2f}<extra></extra>"
            ),
        )
    )
    _band_background(fig, scale)
    fig.update_yaxes(**_level_axis(scale))
    return _layout(fig, 380, barmode="group", bargap=0.25, margin=dict(l=10, r=90, t=40, b=10))


def pillar_radar(df: pd.DataFrame, year: int, prev_year: int | None, scale: Scale) -> go.Figure:
    """Pillars on a radar, each axis labelled with its name and this year's value (the mayor reads
    the number without hovering), the value also printed at its point."""
    # name and value on two lines: on one, the left and right labels ran off a half-width column
    names = [f"{esc(n)}<br><b>{fmt(v)}</b>" for n, v in zip(df["name"], df["value"])]
    closed = names + names[:1]
    fig = go.Figure()
    if prev_year is not None:
        prev = list(df["prev"]) + list(df["prev"])[:1]
        fig.add_trace(
            go.Scatterpolar(
                r=prev,
                theta=closed,
                name=str(prev_year),
                line=dict(color=PREV_COLOUR, dash="dot"),
                hovertemplate=f"%{{theta}}<br>{prev_year}: %{{r:.2f}}<extra></extra>",
            )
        )
    cur = list(df["value"]) + list(df["value"])[:1]
    fig.add_trace(
        go.Scatterpolar(
            r=cur,
            theta=closed,
            name=str(year),
            fill="toself",
            mode="lines+markers+text",
            text=[fmt(v) for v in cur[:-1]] + [""],
            textposition="top center",
            textfont=dict(size=11, color=PRIMARY),
            line=dict(color=PRIMARY, width=3),
            fillcolor="rgba(31,78,121,0.15)",
            hovertemplate=f"%{{theta}}<br>{year}: %{{r:.2f}}<extra></extra>",
        )
    )
    fig.update_layout(
        polar=dict(
            radialaxis=dict(range=[scale.min, scale.max], dtick=1, angle=90, tickfont=dict(size=10)),
            angularaxis=dict(direction="clockwise"),
        )
    )
    return _layout(fig, 400, margin=dict(l=120, r=120, t=50, b=30))


def rank_cards(ranks) -> None:
    """The city's rank nationally, in its province and in its category, one metric each."""
    cols = st.columns(len(ranks)) if ranks else []
    for col, r in zip(cols, ranks):
        label = tr(f"overview.rank_{r.scope}", group=md_escape(r.group))
        value = tr("overview.rank_value", rank=r.rank, of=r.of) if r.rank is not None else "–"
        col.metric(label, value, border=True, help=tr("overview.rank_help"))


def priority_list(df: pd.DataFrame) -> None:
    """Each priority: who answers for it in the city and what the rubric asks at the next level."""
    for r in df.to_dict("records"):
        with st.container(border=True):
            st.markdown(
                f"**{md_escape(r['code'])} · {md_escape(r['name'])}** — "
                + tr("overview.priority_gain", gain=fmt(r["gain"]), level=fmt(r["level"]))
            )
            opds = ", ".join(r["opds"]) if r["opds"] else ""
            st.caption(
                tr("overview.priority_opds", opds=md_escape(opds)) if opds else tr("overview.priority_no_opd")
            )
            st.markdown(
                tr("overview.priority_next", level=r["next_level"]) + " " + md_escape(r["next_rubric"])
            )


def priority_bars(df: pd.DataFrame, scale: Scale) -> go.Figure:
    """How much the index would rise if each priority indicator went up one level."""
    labels = [
        esc(f"{c} · {n}")
        + f"<br><span style='font-size:11px'>{esc(p)} · {esc(d)} · "
        + esc(tr("chart.level_step", now=fmt(lv), next=fmt(min(scale.max, lv + 1))))
        + "</span>"
        for c, n, p, d, lv in zip(df["code"], df["name"], df["pillar"], df["dimension"], df["level"])
    ]
    fig = go.Figure(
        go.Bar(
            x=df["gain"],
            y=labels,
            orientation="h",
            marker_color=PRIMARY,
            text=[tr("chart.gain_text", gain=fmt(g)) for g in df["gain"]],
            textposition="outside",
            cliponaxis=False,
            customdata=list(zip(df["level"], df["pillar"].map(esc), df["dimension"].map(esc))),
            hovertemplate=(
                "%{y}<br>" + esc(tr("col.level_now")) + ": %{customdata[0]:.2f}<br>%{customdata[1]} · "
                "%{customdata[2]}<br>" + esc(tr("col.gain")) + ": +%{x:.2f}<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=tr("col.gain"), rangemode="tozero", gridcolor="#E4E7EB", tickformat=".2f")
    return _layout(fig, 90 + 56 * max(1, len(df)), showlegend=False, margin=dict(l=10, r=120, t=20, b=10))


# --------------------------------------------------------------------------- rankings


def ranked_bars(names: list, values: list, scale: Scale, highlight: int | None = None) -> go.Figure | None:
    """Horizontal bars, best first, coloured by band; `highlight` marks one row (the chosen city)."""
    if not any(v is not None and v == v for v in values):
        return None
    labels = [esc(n) for n in names]
    colours = [value_colour(scale, v) for v in values]
    widths = [3 if n == highlight else 0 for n in range(len(values))]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker=dict(color=colours, line=dict(color="#1F2933", width=widths)),
            text=[fmt(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>" + esc(tr("col.index")) + ": %{x:.2f}<extra></extra>",
        )
    )
    _band_background(fig, scale, axis="x")
    fig.update_xaxes(**_level_axis(scale))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 90 + 26 * max(1, len(values)), showlegend=False, margin=dict(l=10, r=40, t=30, b=10))


# --------------------------------------------------------------------------- year over year


def compare_index_lines(series: pd.DataFrame, scale: Scale, changes: tuple) -> go.Figure:
    fig = go.Figure()
    idx = series[series["measure"] == "index"]
    for n, (_code, g) in enumerate(idx.groupby("city_code", sort=False)):
        name = esc(g["city"].iloc[0])
        # the value is written at the last point only; every point has it on hover
        fig.add_trace(
            go.Scatter(
                x=g["year"],
                y=g["value"],
                name=name,
                mode="lines+markers+text",
                text=[""] * (len(g) - 1) + [fmt(g["value"].iloc[-1])],
                textposition="middle right",
                line=dict(color=CITY_COLOURS[n % len(CITY_COLOURS)], width=3),
                cliponaxis=False,
                customdata=g["framework_id"].map(esc),
                hovertemplate=(
                    name
                    + "<br>%{x}: %{y:.2f}<br>"
                    + esc(tr("col.framework"))
                    + ": %{customdata}<extra></extra>"
                ),
            )
        )
    _band_background(fig, scale)
    _framework_marks(fig, changes)
    fig.update_yaxes(**_level_axis(scale))
    fig.update_xaxes(dtick=1, title=tr("filter.year"))
    return _layout(fig, 400, margin=dict(l=10, r=90, t=60, b=10))


def _framework_marks(fig: go.Figure, changes: tuple, **where) -> None:
    for year, before, after in changes:
        fig.add_vline(x=year - 0.5, line=dict(color="#52606D", dash="dash", width=1), **where)
        fig.add_annotation(
            x=year - 0.5,
            y=1,
            yref="paper" if not where else "y domain",
            yanchor="bottom",
            text=esc(tr("chart.framework_change", before=before, after=after)),
            showarrow=False,
            font=dict(size=11, color="#52606D"),
            **where,
        )


def compare_dimension_lines(series: pd.DataFrame, measures: tuple, scale: Scale, changes: tuple) -> go.Figure:
    dims = [(c, n) for c, n in measures if c != "index"]
    cols = 3
    rows = -(-len(dims) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(n) for _, n in dims],
        shared_yaxes=True,
        vertical_spacing=0.14,
        horizontal_spacing=0.05,
    )
    cities = list(dict.fromkeys(series["city_code"]))
    for k, (code, dname) in enumerate(dims):
        r, c = k // cols + 1, k % cols + 1
        part = series[series["measure"] == code]
        for _n, (city, g) in enumerate(part.groupby("city_code", sort=False)):
            name = esc(g["city"].iloc[0])
            fig.add_trace(
                go.Scatter(
                    x=g["year"],
                    y=g["value"],
                    name=name,
                    legendgroup=city,
                    showlegend=k == 0,
                    mode="lines+markers",
                    line=dict(color=CITY_COLOURS[cities.index(city) % len(CITY_COLOURS)], width=2),
                    hovertemplate=name + " · " + esc(dname) + "<br>%{x}: %{y:.2f}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        fig.update_yaxes(range=[scale.min, scale.max], dtick=1, gridcolor="#E4E7EB", row=r, col=c)
        fig.update_xaxes(dtick=1, row=r, col=c)
        for year, _, _ in changes:
            fig.add_vline(x=year - 0.5, line=dict(color="#52606D", dash="dash", width=1), row=r, col=c)
    return _layout(
        fig,
        80 + 280 * rows,
        margin=dict(l=10, r=10, t=90, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.06, xanchor="left", x=0),
    )


# --------------------------------------------------------------------------- drill-down


def group_bars(groups: list, scale: Scale, selected: str | None) -> go.Figure:
    names = [esc(f"{g.name}") for g in groups]
    values = [g.value for g in groups]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker=dict(
                color=[value_colour(scale, v) for v in values],
                line=dict(color="#1F2933", width=[3 if g.code == selected else 0 for g in groups]),
            ),
            text=[fmt(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            customdata=[
                [g.code, g.weight if g.weight is not None else float("nan"), len(g.indicators), g.missing]
                for g in groups
            ],
            hovertemplate=(
                "%{x} (%{customdata[0]})<br>"
                + esc(tr("col.value"))
                + ": %{y:.2f}<br>"
                + esc(tr("col.indicators"))
                + ": %{customdata[2]} · "
                + esc(tr("col.missing_answers"))
                + ": %{customdata[3]}<extra></extra>"
            ),
        )
    )
    _band_background(fig, scale)
    fig.update_yaxes(**_level_axis(scale))
    return _layout(fig, 340, showlegend=False, margin=dict(l=10, r=90, t=30, b=10))


def indicator_bars(table: pd.DataFrame, scale: Scale) -> go.Figure:
    source_labels = {k: tr(f"source.{k}") for k in ("self", "metric", "verified", "missing")}
    labels = [esc(f"{c} · {n}") for c, n in zip(table["code"], table["name"])]
    values = table["score_level"].tolist()
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker=dict(
                color=[
                    PREV_COLOUR if s == "missing" else value_colour(scale, v)
                    for s, v in zip(table["source"], values)
                ]
            ),
            text=[fmt(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            customdata=[[source_labels.get(s, s), w] for s, w in zip(table["source"], table["weight"])],
            hovertemplate=(
                "%{y}<br>"
                + esc(tr("col.level"))
                + ": %{x:.2f}<br>"
                + esc(tr("col.source"))
                + ": %{customdata[0]}<br>"
                + esc(tr("chart.weight"))
                + ": %{customdata[1]:.2f}<extra></extra>"
            ),
        )
    )
    _band_background(fig, scale, axis="x")
    fig.update_xaxes(**_level_axis(scale))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 90 + 28 * max(1, len(values)), showlegend=False, margin=dict(l=10, r=40, t=30, b=10))


# --------------------------------------------------------------------------- heat maps


def level_heatmap(
    df: pd.DataFrame,
    row: str,
    row_name: str,
    col: str,
    col_name: str,
    scale: Scale,
    row_order: list,
    col_order: list,
    hover_n_label: str,
) -> go.Figure | None:
    """Levels on the 0–4 scale coloured by band; empty cells (no indicator) stay blank."""
    if df.empty or not row_order:
        return None
    grid = df.pivot(index=row, columns=col, values="value").reindex(index=row_order, columns=col_order)
    counts = df.pivot(index=row, columns=col, values="n").reindex(index=row_order, columns=col_order)
    rnames = dict(zip(df[row], df[row_name]))
    cnames = dict(zip(df[col], df[col_name]))
    z = grid.to_numpy(dtype=float)
    text = [[fmt(v) if v == v else "" for v in r] for r in z]
    n = counts.fillna(0).astype(int)
    custom = [
        [[esc(rnames.get(rk, rk)), esc(cnames.get(ck, ck)), int(n.loc[rk, ck])] for ck in col_order]
        for rk in row_order
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[wrap(cnames.get(c, c), 14) for c in col_order],
            y=[esc(rnames.get(r, r)) for r in row_order],
            zmin=scale.min,
            zmax=scale.max,
            colorscale=level_colourscale(scale),
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            xgap=2,
            ygap=2,
            hoverongaps=False,
            colorbar=dict(
                title=tr("chart.level_short"),
                tickvals=[(b.min + b.max) / 2 for b in scale.bands],
                ticktext=[esc(b.label) for b in scale.bands],
                len=min(1.0, max(0.5, 4 / max(1, len(row_order)))),
            ),
            hovertemplate=(
                "%{customdata[0]} × %{customdata[1]}<br>"
                + esc(tr("col.level"))
                + ": %{z:.2f}<br>"
                + esc(hover_n_label)
                + ": %{customdata[2]}<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top", tickangle=0)
    return _layout(fig, 140 + 34 * max(1, len(row_order)), margin=dict(l=10, r=10, t=70, b=10))


def completeness_heatmap(df: pd.DataFrame, opd_order: list, pillars: tuple) -> go.Figure | None:
    """OPD × pillar completeness in three steps (under half, partial, complete) so gaps stand out."""
    if df.empty or not opd_order:
        return None
    codes = [c for c, _ in pillars]
    grid = df.pivot(index="opd_code", columns="pillar", values="share").reindex(
        index=opd_order, columns=codes
    )
    ans = df.pivot(index="opd_code", columns="pillar", values="answered").reindex(
        index=opd_order, columns=codes
    )
    req = df.pivot(index="opd_code", columns="pillar", values="required").reindex(
        index=opd_order, columns=codes
    )
    names = dict(zip(df["opd_code"], df["opd"]))
    share = grid.to_numpy(dtype=float)
    step = [
        [float("nan") if v != v else (0.0 if v < 50 else (1.0 if v < 100 else 2.0)) for v in r] for r in share
    ]
    text = [[formatting.percent(v / 100, lang()) if v == v else "" for v in r] for r in share]
    custom = [
        [
            [esc(names.get(o, o)), int(ans.loc[o, p]), int(req.loc[o, p]), text[i][j]]
            for j, p in enumerate(codes)
        ]
        for i, o in enumerate(opd_order)
    ]
    third = 1 / 3
    fig = go.Figure(
        go.Heatmap(
            z=step,
            x=[wrap(n, 14) for _, n in pillars],
            y=[esc(f"{o} · {names.get(o, o)}") for o in opd_order],
            zmin=-0.5,
            zmax=2.5,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            xgap=2,
            ygap=2,
            hoverongaps=False,
            colorscale=[
                [0, RAMP[0]],
                [third, RAMP[0]],
                [third, RAMP[2]],
                [2 * third, RAMP[2]],
                [2 * third, RAMP[-1]],
                [1, RAMP[-1]],
            ],
            colorbar=dict(
                tickvals=[0, 1, 2],
                ticktext=[tr("chart.under_half"), tr("chart.partial"), "100%"],
                len=min(1.0, max(0.4, 8 / max(1, len(opd_order)))),
            ),
            hovertemplate=(
                "%{customdata[0]} · %{x}<br>" + esc(tr("col.answered")) + ": %{customdata[1]} / "
                "%{customdata[2]} (%{customdata[3]})<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top", tickangle=0)
    return _layout(fig, 140 + 28 * max(1, len(opd_order)), margin=dict(l=10, r=10, t=70, b=10))


# --------------------------------------------------------------------------- tables


def _cfg(kind: str, label: str, help_: str | None = None):
    cc = st.column_config
    if kind == "level":
        return cc.NumberColumn(label, format="%.2f", help=help_)
    if kind == "delta":
        return cc.NumberColumn(label, format="%+.2f", help=help_)
    if kind in ("int", "year"):
        return cc.NumberColumn(label, format="%d", help=help_)
    if kind == "longtext":
        return cc.TextColumn(label, help=help_, width="large")
    if kind == "move":
        return cc.NumberColumn(label, format="%+d", help=help_)
    if kind == "pct":
        return cc.ProgressColumn(label, format="%.0f%%", min_value=0, max_value=100, help=help_)
    if kind == "datetime":
        return cc.DatetimeColumn(label, format="YYYY-MM-DD HH:mm", help=help_)
    if kind == "bool":
        return cc.CheckboxColumn(label, help=help_)
    return cc.TextColumn(label, help=help_)


def table_csv(df: pd.DataFrame, labels: dict[str, str]) -> bytes:
    """The columns `labels` {column: header} of `df` as CSV, formula-like text neutralised."""

    def cell(v):
        return None if v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v)) else v

    cols = [c for c in labels if c in df.columns]
    rows = [[cell(v) for v in r] for r in df[cols].itertuples(index=False, name=None)]
    return reports.table_to_csv(reports.TableOut("table", [labels[c] for c in cols], rows))


def table(
    df: pd.DataFrame,
    columns: dict[str, tuple[str, str]],
    key: str | None = None,
    empty: str | None = None,
    download: str | None = None,
) -> None:
    """A sortable table of `df` showing `columns` {column: (kind, label key)} in that order.

    With `empty` (a label key), an empty table is replaced by that sentence. With `download` (a
    file name), a button under it downloads the table as CSV: the toolbar's own CSV download is
    off (.streamlit/config.toml), because it writes text such as "=HYPERLINK(...)" as it is.
    """
    if empty is not None and df.empty:
        st.caption(tr(empty))
        return
    tags = {c: label for c, (kind, label) in columns.items() if kind == "tag"}
    if tags:  # coded values (status, source) shown as words: label key + "." + value
        df = df.assign(**{c: df[c].map(lambda v, k=k: words(k, v)) for c, k in tags.items()})
        columns = {c: (("text", f"{k}.col") if c in tags else (kind, k)) for c, (kind, k) in columns.items()}
    height = min(38 + 35 * max(1, len(df)), 38 + 35 * 25)  # every row visible up to ~25 rows, then scroll
    st.dataframe(
        df,
        hide_index=True,
        column_order=list(columns),
        key=key,
        height=height,
        placeholder="–",
        column_config={c: _cfg(kind, tr(label)) for c, (kind, label) in columns.items()},
    )
    if download:
        # made only when clicked (deferred data), from the same rows and labels as shown
        labels = {c: tr(label) for c, (_, label) in columns.items()}
        st.download_button(
            tr("table.download"),
            lambda df=df, labels=labels: table_csv(df, labels),
            file_name=download,
            mime=reports.CSV_MIME,
            key=f"{key}_csv",
            icon=":material/download:",
        )


# --------------------------------------------------------------------------- page furniture


def header(title_key: str, view) -> None:
    """Page title, and under it the city, year and framework the page is about."""
    st.title(tr(title_key))
    city = getattr(view, "city_name", "")
    year = getattr(view, "year", None)
    if city and year:
        fw = getattr(view, "framework_id", "")
        st.caption(
            tr("header.context", city=md_escape(city), year=year)
            + (tr("header.framework", fw=md_escape(fw)) if fw else "")
        )


def empty_state(view) -> bool:
    """Show what to do when the page has nothing to draw; True when the caller should stop."""
    state = getattr(view, "state", "ok")
    if state == "ok":
        return False
    if state == "empty":
        st.info(tr("empty.first_run"), icon=":material/database:")
    elif state == "no_city":
        st.info(tr("empty.no_city"), icon=":material/location_city:")
    else:
        st.warning(
            tr(
                "empty.no_data",
                city=md_escape(getattr(view, "city_name", "") or "–"),
                year=getattr(view, "year", "") or "–",
            ),
            icon=":material/upload_file:",
        )
    return True


def scale_note(scale: Scale, missing: int, indicators: int) -> None:
    """The 0–4 scale and how missing indicators were counted, with how many there are."""
    bands = " · ".join(
        f"{md_escape(b.label)} {fmt(b.min, 0) if b.min == int(b.min) else fmt(b.min)}–"
        f"{fmt(b.max, 0) if b.max == int(b.max) else fmt(b.max)}"
        for b in scale.bands
    )
    if scale.missing_rule == "zero":
        missing_text = tr("scale.missing_zero", n=missing, total=indicators, lo=scale.min)
    else:
        missing_text = tr("scale.missing_excluded", n=missing, total=indicators)
    st.caption(tr("scale.line", lo=scale.min, hi=scale.max, bands=bands) + " " + missing_text)


def band_badge(band: BandView | None) -> None:
    if band is None:
        return
    pos = round(band.position * (len(BADGE) - 1) / max(1, band.count - 1))
    st.badge(md_escape(band.label), color=BADGE[pos], icon=":material/workspace_premium:")


def latest_cards(latest: pd.DataFrame) -> None:
    """One card per compared city: its latest index and the change since the first plotted year."""
    cols = st.columns(max(1, len(latest)))
    for col, row in zip(cols, latest.itertuples()):
        has_change = row.change is not None and row.change == row.change
        col.metric(
            tr("compare.latest", city=md_escape(row.city), year=row.year),
            fmt(row.index),
            fmt_delta(row.change) if has_change else None,
            border=True,
            delta_description=tr("compare.since", year=row.from_year) if has_change else None,
        )
        if row.framework_changed:
            col.caption(tr("compare.card_framework"))


def framework_note(changes: tuple) -> None:
    """Say so when the plotted years were scored under different frameworks."""
    if not changes:
        return
    text = "; ".join(
        tr("chart.framework_change", before=md_escape(b), after=md_escape(a)) + f" ({y})"
        for y, b, a in changes
    )
    st.warning(tr("compare.framework_changes", changes=text), icon=":material/rule:")


# --------------------------------------------------------------------------- drill-down detail


def formula_block(label: str, formula, note: str | None = None) -> None:
    """`label = Σ(w×L) ÷ Σw = (…) ÷ (…) = x` as a copyable block, so the number can be recomputed."""
    st.code(f"{label} = {tr('formula.words')}\n= {formula.text(lang())}", language=None, wrap_lines=True)
    if note:
        st.caption(note)


def _thresholds_text(d) -> str:
    op = "≥" if d.metric_direction != "lower" else "≤"
    return ", ".join(f"L{n} {op} {formatting.plain(t, lang())}" for n, t in enumerate(d.thresholds, start=1))


def indicator_detail(d, scale: Scale) -> None:
    """One indicator: its level, where the level came from, who sent it and when, evidence, rubric."""
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric(
        tr("drill.effective", hi=scale.max), fmt(d.effective) if d.effective is not None else "–", border=True
    )
    c2.metric(tr("drill.counted"), fmt(d.score_level), border=True, help=tr("drill.counted_help"))
    with c3:
        st.markdown(f"**{md_escape(d.code)} · {md_escape(d.name)}**")
        st.caption(
            tr(
                "drill.where",
                dimension=md_escape(d.dimension_name),
                pillar=md_escape(d.pillar_name),
                sub=md_escape(d.subpillar_name or "–"),
                weight=fmt(d.weight),
            )
        )
        st.caption(tr("drill.source_line", source=tr(f"source.{d.source}")))
    if d.source == "verified":
        st.info(
            tr(
                "drill.verified",
                level=d.verified_level,
                by=md_escape(d.verified_by or "–"),
                at=fmt_time(d.verified_at),
            ),
            icon=":material/verified:",
        )
        if d.verified_note:
            st.markdown(f"**{tr('drill.verified_note')}:** {md_escape(d.verified_note)}")
    if d.metric_code:
        if d.metric_value is not None:
            st.info(
                tr(
                    "drill.metric",
                    code=md_escape(d.metric_code),
                    value=fmt(d.metric_value),
                    unit=md_escape(d.metric_unit or ""),
                    agg=tr(f"agg.{d.metric_aggregate}"),
                    thresholds=_thresholds_text(d),
                    level=d.metric_level,
                )
                + (" " + tr("drill.metric_overridden") if d.source == "verified" else ""),
                icon=":material/speed:",
            )
            if d.metric_submission:
                m = d.metric_submission
                st.caption(
                    tr(
                        "drill.metric_sub",
                        opd=md_escape(f"{m['opd_code']} · {m['opd_name'] or ''}"),
                        sid=m["submission_id"],
                        at=fmt_time(m["accepted_at"]),
                        file=md_escape(m["file_name"] or "–"),
                    )
                )
        else:
            st.caption(tr("drill.metric_none", code=md_escape(d.metric_code), thresholds=_thresholds_text(d)))
    if d.source == "missing":
        st.warning(
            tr("drill.missing", lo=scale.min, n=d.responsible_opds)
            if scale.missing_rule == "zero"
            else tr("drill.missing_excluded", n=d.responsible_opds),
            icon=":material/help:",
        )
    if d.rubric_level is not None:
        st.markdown(f"**{tr('drill.rubric', level=d.rubric_level)}** {md_escape(d.rubric_sentence)}")
    if not d.answers.empty:
        st.markdown(f"**{tr('drill.answers', n=d.n_opd, total=d.responsible_opds)}**")
        if d.source == "self":
            st.code(f"{tr('drill.self_formula')} = {d.self_formula(lang())}", language=None, wrap_lines=True)
        table(
            d.answers,
            {
                "opd_name": ("text", "col.opd"),
                "level": ("int", "col.level"),
                "rubric": ("longtext", "col.rubric"),
                "evidence": ("longtext", "col.evidence"),
                "note": ("text", "col.note"),
                "submission_id": ("int", "col.submission"),
                "accepted_at": ("datetime", "col.accepted_at"),
                "file_name": ("text", "col.file"),
                "source_row": ("int", "col.row"),
            },
            key=f"dd_answers_{d.code}",
            download=f"jawaban-{d.code}.csv",
        )
    with st.expander(tr("drill.full_rubric")):
        st.dataframe(pd.DataFrame(d.rubric, columns=[tr("col.level"), tr("col.rubric")]), hide_index=True)


# --------------------------------------------------------------------------- path to target, what-if


def plan_climb(plan, bands: tuple[tuple[str, float], ...], scale_max: int) -> go.Figure | None:
    """The index after each move of a plan (metrics.targets.Plan) as a step line from today's
    index, with the index the target asks for as a horizontal line over the framework's bands
    ((label, lower bound), ascending). None when there is nothing to climb."""
    if plan.start_index is None or not plan.moves:
        return None
    xs = list(range(len(plan.moves) + 1))
    ys = [plan.start_index, *(m.index_after for m in plan.moves)]
    names = [tr("target.chart.today"), *(f"{m.code} · {m.name}" for m in plan.moves)]
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            line=dict(shape="hv", color=PRIMARY, width=3),
            marker=dict(size=7, color=PRIMARY),
            customdata=[esc(n) for n in names],
            hovertemplate="%{customdata}<br>" + esc(tr("col.index")) + ": %{y:.2f}<extra></extra>",
            name=esc(tr("target.chart.index")),
        )
    )
    views_bands = tuple(
        BandView(lo, bands[n + 1][1] if n + 1 < len(bands) else float(scale_max), label, n, len(bands))
        for n, (label, lo) in enumerate(bands)
    )
    _band_background(fig, Scale(0, scale_max, views_bands, "zero"))
    fig.add_hline(
        y=plan.needed_index,
        line=dict(color="#B3261E", dash="dash", width=2),
        annotation_text=esc(tr("target.chart.target", value=fmt(plan.needed_index))),
        annotation_position="top left",
    )
    # the climb is a few tenths of the scale: show the part of it between today and the top
    low = max(0.0, min([*ys, plan.needed_index]) - 0.5)
    fig.update_yaxes(
        **{
            **_level_axis(Scale(0, scale_max, views_bands, "zero")),
            "range": [low, scale_max],
            "dtick": 0.5,
            "title": tr("target.chart.index"),
        }
    )
    fig.update_xaxes(dtick=1, title=tr("target.chart.moves"), range=[-0.3, len(plan.moves) + 0.3])
    return _layout(fig, 380, showlegend=False, margin=dict(l=10, r=110, t=30, b=10))


RANK_CHART_CITIES = 40  # the chart shows the cities that moved most; the table lists every city


def rank_changes(cities, today: str, candidate: str) -> go.Figure | None:
    """Rank today beside rank under the candidate framework (a slope per city, metrics.whatif.
    CityChange), for the cities whose rank changed, the RANK_CHART_CITIES largest moves; rank 1 on
    top, a climb in green and a fall in red. None when no rank changed."""
    moved = [c for c in cities if c.rank_before is not None and c.rank_after is not None and c.rank_change]
    if not moved:
        return None
    moved = sorted(moved, key=lambda c: (-abs(c.rank_change), c.city_code))[:RANK_CHART_CITIES]
    fig = go.Figure()
    for c in moved:
        up = c.rank_after < c.rank_before
        colour = RAMP[-1] if up else RAMP[0]
        name = esc(c.name)
        fig.add_trace(
            go.Scatter(
                x=[esc(today), esc(candidate)],
                y=[c.rank_before, c.rank_after],
                mode="lines+markers+text",
                line=dict(color=colour, width=2),
                marker=dict(size=7, color=colour),
                text=["", name],
                textposition="middle right",
                cliponaxis=False,
                hovertemplate=name + "<br>%{x}: %{y}<extra></extra>",
                name=name,
            )
        )
    fig.update_yaxes(
        autorange="reversed", title=tr("whatif.chart.rank"), dtick=1 if len(moved) < 15 else None
    )
    return _layout(fig, 160 + 22 * len(moved), showlegend=False, margin=dict(l=10, r=200, t=30, b=10))
