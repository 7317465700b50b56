"""Model page (``model.html``): fit status and gates, fit vs actual, contributions over time,
response curves with intervals. Shows a failed fit as failed.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.page import (
    COLORS,
    count,
    empty_note,
    esc,
    figure_html,
    num,
    page,
    section,
    stamp,
    table_html,
)


def status_section(data: DashboardData) -> str:
    fs = data.fit_status
    if fs.is_empty():
        return empty_note("No model fit recorded yet.")
    r = fs.row(fs.height - 1, named=True)
    badge = (
        '<span class="badge ok" id="gate-status">passed its gates</span>'
        if r["converged"]
        else '<span class="badge bad" id="gate-status">FAILED its gates: not published</span>'
    )
    cal = "calibrated with geo-test results" if r.get("calibrated") else "not calibrated"
    text = (
        f"<p>Latest fit {esc(stamp(r['fitted_at']))}: {badge}. {esc(r['message'])}</p>"
        f'<p class="note">{count(r["n_geos"])} markets × {count(r["n_weeks"])} weeks × '
        f"{count(r['n_channels'])} channels, {num(r['seconds'], 0)} s, {esc(cal)}.</p>"
    )
    if not r["converged"]:
        text += (
            '<p class="note">This fit is not published: the marts, the summary page and the '
            "charts below keep the last fit that passed (refresh of "
            f"{esc(stamp(data.ctx.refreshed_at))}). The diagnostics above are the failed "
            "attempt's.</p>"
        )
    return text


def diagnostics_table(diag: pl.DataFrame) -> str:
    if diag.is_empty():
        return empty_note("No diagnostics recorded.")
    return table_html(
        diag,
        [
            ("metric", "metric", esc),
            ("value", "value", lambda v: num(v, 3)),
            ("threshold", "threshold", lambda v: num(v, 3)),
            (
                "passed",
                "passed",
                lambda v: (
                    '<span class="badge ok">yes</span>'
                    if v
                    else '<span class="badge bad">no</span>'
                ),
            ),
        ],
        table_id="diagnostics-table",
        row_attr="metric",
    )


def fit_figure(fva: pl.DataFrame) -> str:
    import plotly.graph_objects as go

    weeks = fva["week_start"].to_list()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=weeks + weeks[::-1],
                   y=fva["fitted_hi"].to_list() + fva["fitted_lo"].to_list()[::-1],
                   fill="toself", fillcolor=COLORS["band"], line={"width": 0},
                   name="fitted 90% interval", hoverinfo="skip")
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=weeks, y=fva["fitted"].to_list(), mode="lines", name="fitted",
                   line={"color": COLORS["mmm"]})
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=weeks, y=fva["actual"].to_list(), mode="markers", name="actual",
                   marker={"color": COLORS["actual"], "size": 4})
    )  # fmt: skip
    hold = fva.filter(pl.col("holdout"))
    if not hold.is_empty():
        fig.add_vrect(
            x0=hold["week_start"].min(), x1=hold["week_start"].max(), fillcolor="#fff4d6",
            opacity=0.6, line_width=0, layer="below", annotation_text="holdout", annotation_position="top left",
        )  # fmt: skip
    fig.update_layout(
        title="New patients per week, all markets: actual vs fitted", height=380,
        yaxis={"title": "new patients per week"}, legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-fit")


def contributions_figure(contrib: pl.DataFrame) -> str:
    import plotly.graph_objects as go

    fig = go.Figure()
    comps = ["baseline"] + sorted(c for c in contrib["component"].unique() if c != "baseline")
    for comp in comps:
        part = contrib.filter(pl.col("component") == comp).sort("week_start")
        fig.add_trace(
            go.Scatter(x=part["week_start"].to_list(), y=part["median"].to_list(), name=comp,
                       stackgroup="one", mode="lines", line={"width": 0.5})
        )  # fmt: skip
    fig.update_layout(
        title="Contributions over time (posterior medians, stacked)", height=380,
        yaxis={"title": "new patients per week"}, legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-contributions")


def response_figure(curves: pl.DataFrame) -> str:
    import plotly.graph_objects as go
    from plotly.colors import hex_to_rgb, qualitative

    fig = go.Figure()
    for i, ch in enumerate(sorted(curves["channel"].unique().to_list())):
        color = qualitative.Plotly[i % len(qualitative.Plotly)]
        part = curves.filter(pl.col("channel") == ch).sort("weekly_spend")
        x = part["weekly_spend"].to_list()
        fig.add_trace(
            go.Scatter(x=x + x[::-1],
                       y=part["new_patients_hi"].to_list() + part["new_patients_lo"].to_list()[::-1],
                       fill="toself", fillcolor="rgba({},{},{},0.15)".format(*hex_to_rgb(color)),
                       line={"width": 0},
                       legendgroup=ch, showlegend=False, hoverinfo="skip", name=f"{ch} 90%")
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=x, y=part["new_patients"].to_list(), mode="lines", name=ch,
                       legendgroup=ch, line={"color": color})
        )  # fmt: skip
        cur = part.filter(pl.col("current"))
        if not cur.is_empty():
            fig.add_trace(
                go.Scatter(x=cur["weekly_spend"].to_list(), y=cur["new_patients"].to_list(),
                           mode="markers", marker={"color": color, "size": 10, "symbol": "x"},
                           legendgroup=ch, showlegend=False, name=f"{ch} current")
            )  # fmt: skip
    fig.update_layout(
        title="Response curves: new patients per week vs national weekly spend (x = current)",
        height=420, xaxis={"title": "USD per week", "tickprefix": "$"},
        yaxis={"title": "new patients per week"}, legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-response")


def summary_table(cs: pl.DataFrame) -> str:
    if cs.is_empty():
        return ""
    return table_html(
        cs,
        [
            ("channel", "channel", esc),
            ("incremental_new_patients", "new patients caused", count),
            ("incremental_new_patients_lo", "5%", count),
            ("incremental_new_patients_hi", "95%", count),
            ("calibrated", "calibrated", lambda v: "yes" if v else "no"),
        ],
        table_id="channel-summary-table",
        row_attr="channel",
    )


def render(data: DashboardData) -> str:
    parts = [
        section("Fit status", status_section(data), "status"),
        section("Diagnostics and gates", diagnostics_table(data.diagnostics), "diagnostics"),
    ]
    if not data.fit_vs_actual.is_empty():
        parts.append(section("Fit vs actual", fit_figure(data.fit_vs_actual), "fit"))
    if not data.contributions.is_empty():
        parts.append(section("Contributions over time", contributions_figure(data.contributions)))
    if not data.response_curves.is_empty():
        parts.append(
            section(
                "Response curves",
                response_figure(data.response_curves)
                + '<p class="note">Bands: 90% posterior interval. Beyond the highest spend seen '
                "the curve is extrapolated.</p>",
                "response",
            )
        )
    parts.append(
        section("Channel contributions in the window", summary_table(data.channel_summary))
    )
    return page("model.html", "Media mix model", data.ctx, "".join(parts))
