"""Model page (``model.html``): fit status and gates, fit vs actual, contributions over time,
response curves with intervals. Shows a failed fit as failed.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.index import media_baseline_figure
from pipelines.dashboards.page import (
    COLORS,
    PageContext,
    count,
    empty_note,
    esc,
    figure_html,
    label,
    num,
    page,
    pct,
    section,
    stamp,
    table_html,
)
from pipelines.settings import short_history_note, trend_and_season_confounded


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


METRICS: dict[str, tuple[str, str, bool]] = {
    "max_rhat": ("Largest R-hat (chains agree)", "at most {t}", False),
    "min_ess_bulk": ("Smallest bulk effective sample size", "at least {t}", True),
    "min_ess_tail": ("Smallest tail effective sample size", "at least {t}", True),
    "divergences": ("Divergent transitions", "{t}", True),
    "n_draws": ("Posterior draws", "", True),
    "ppc_coverage_90": (
        "Weeks inside the 90% predictive interval (market-weeks)",
        "about {t} expected",
        False,
    ),
    "holdout_mape": ("Error on held-out final weeks (MAPE)", "", False),
    "holdout_weeks": ("Held-out final weeks", "", True),
}
"""metric -> (label, how its threshold reads, whether it is a whole number)."""


def _value(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    if METRICS.get(metric, ("", "", False))[2]:
        return count(v)
    if metric == "ppc_coverage_90":
        return pct(v, 1)
    if metric == "holdout_mape":
        return pct(v, 1) if v < 1 else num(v, 3)
    return num(v, 3)


def diagnostics_table(diag: pl.DataFrame) -> str:
    """Gates (rows with a pass/fail) first, then information rows that are not gates."""
    if diag.is_empty():
        return empty_note("No diagnostics recorded.")
    rows = []
    for r in diag.sort(pl.col("passed").is_null()).iter_rows(named=True):
        name, rule, _ = METRICS.get(r["metric"], (r["metric"], "", False))
        gate = r["passed"] is not None
        threshold = "" if r["threshold"] is None else _value(r["metric"], r["threshold"])
        if gate:
            verdict = (
                '<span class="badge ok">passed</span>'
                if r["passed"]
                else '<span class="badge bad">failed</span>'
            )
        else:
            verdict = '<span class="note">information, not a gate</span>'
        rows.append(
            {
                "metric": r["metric"],
                "what": name,
                "value": _value(r["metric"], r["value"]),
                "rule": rule.format(t=threshold) if rule and threshold else "–",
                "verdict": verdict,
            }
        )
    return table_html(
        pl.DataFrame(rows),
        [
            ("what", "check", esc),
            ("value", "value", str),
            ("rule", "gate", esc),
            ("verdict", "result", str),
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


def response_figure(curves: pl.DataFrame, seen: pl.DataFrame, ctx: PageContext) -> str:
    """Response curves in the channels' colours: solid up to the highest national weekly spend
    seen in the history, dotted beyond it (extrapolated); x marks current spend."""
    import plotly.graph_objects as go
    from plotly.colors import hex_to_rgb

    high = (
        {r["channel"]: r["seen_high"] for r in seen.iter_rows(named=True)}
        if not seen.is_empty()
        else {}
    )
    fig = go.Figure()
    for ch in sorted(curves["channel"].unique().to_list()):
        color, name = ctx.color(ch), label(ch)
        part = curves.filter(pl.col("channel") == ch).sort("weekly_spend")
        x = part["weekly_spend"].to_list()
        fig.add_trace(
            go.Scatter(x=x + x[::-1],
                       y=part["new_patients_hi"].to_list() + part["new_patients_lo"].to_list()[::-1],
                       fill="toself", fillcolor="rgba({},{},{},0.13)".format(*hex_to_rgb(color)),
                       line={"width": 0},
                       legendgroup=ch, showlegend=False, hoverinfo="skip", name=f"{name} 90%")
        )  # fmt: skip
        limit = high.get(ch)
        seen_part = part if limit is None else part.filter(pl.col("weekly_spend") <= limit)
        fig.add_trace(
            go.Scatter(x=seen_part["weekly_spend"].to_list(),
                       y=seen_part["new_patients"].to_list(), mode="lines", name=name, meta=ch,
                       legendgroup=ch, line={"color": color, "width": 2.5},
                       hovertemplate=f"{esc(name)}: %{{x:$,.0f}} a week → %{{y:,.0f}} new "
                       "patients<extra></extra>")
        )  # fmt: skip
        if limit is not None:
            beyond = part.filter(pl.col("weekly_spend") >= limit)
            fig.add_trace(
                go.Scatter(x=[limit, *beyond["weekly_spend"].to_list()],
                           y=[float(np.interp(limit, x, part["new_patients"].to_list())),
                              *beyond["new_patients"].to_list()],
                           mode="lines", name=f"{name} (extrapolated)", legendgroup=ch,
                           showlegend=False, line={"color": color, "width": 2, "dash": "dot"},
                           hovertemplate=f"{esc(name)}, beyond any spend seen: %{{x:$,.0f}} a "
                           "week → %{y:,.0f}<extra></extra>")
            )  # fmt: skip
        cur = part.filter(pl.col("current"))
        if not cur.is_empty():
            fig.add_trace(
                go.Scatter(x=cur["weekly_spend"].to_list(), y=cur["new_patients"].to_list(),
                           mode="markers", marker={"color": color, "size": 11, "symbol": "x"},
                           legendgroup=ch, showlegend=False, name=f"{name} current",
                           hovertemplate=f"{esc(name)}: current spend %{{x:$,.0f}} a week"
                           "<extra></extra>")
            )  # fmt: skip
    fig.update_layout(
        title="New patients per week vs national weekly spend (x: current; dotted: beyond any "
        "week seen)", height=440,
        xaxis={"title": "national spend per week (USD)", "tickprefix": "$", "tickformat": "~s"},
        yaxis={"title": "new patients per week"}, legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-response")


def summary_table(cs: pl.DataFrame) -> str:
    if cs.is_empty():
        return ""
    return table_html(
        cs,
        [
            ("channel", "channel", lambda c: esc(label(c))),
            ("incremental_new_patients", "new patients caused", count),
            ("incremental_new_patients_lo", "5%", count),
            ("incremental_new_patients_hi", "95%", count),
            ("calibrated", "calibrated", lambda v: "yes" if v else "no"),
        ],
        table_id="channel-summary-table",
        row_attr="channel",
    )


def history_note(data: DashboardData) -> str:
    """A warning when the history is too short to tell trend from yearly seasonality."""
    start, end = data.ctx.data_start, data.ctx.data_end
    weeks = (end - start).days // 7 + 1 if start and end else 0
    if not trend_and_season_confounded(weeks):
        return ""
    return f'<p class="note" id="short-history"><b>{esc(short_history_note(weeks))}</b></p>'


def render(data: DashboardData) -> str:
    parts = [
        section("Fit status", status_section(data) + history_note(data), "status"),
        section("Diagnostics and gates", diagnostics_table(data.diagnostics), "diagnostics"),
    ]
    if not data.fit_vs_actual.is_empty():
        parts.append(section("Fit vs actual", fit_figure(data.fit_vs_actual), "fit"))
    if not data.contributions.is_empty():
        parts.append(
            section(
                "Contributions over time",
                media_baseline_figure(data.contributions, data.ctx, "fig-contributions"),
                "contributions",
            )
        )
    if not data.response_curves.is_empty():
        parts.append(
            section(
                "Response curves",
                response_figure(data.response_curves, data.spend_seen, data.ctx)
                + '<p class="note">Bands: 90% posterior interval. Solid: spend levels the '
                "history contains; dotted: beyond the highest national weekly spend ever seen, "
                "where the curve is the model's extrapolation, not an observation.</p>",
                "response",
            )
        )
    parts.append(
        section("Channel contributions in the window", summary_table(data.channel_summary))
    )
    return page("model.html", "Media mix model", data.ctx, "".join(parts))
