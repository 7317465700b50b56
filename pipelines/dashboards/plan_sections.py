"""Budget-plan and refresh-to-refresh sections of the leadership page (``index.html``).

Both take a mart frame (``marts.budget_plan`` rows per channel, ``marts.pac_history`` rows per
refresh and channel) and return an HTML fragment; an empty frame gives a plain note.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.page import (
    PageContext,
    count,
    empty_note,
    esc,
    figure_html,
    label,
    pct,
    stamp,
    table_html,
    usd,
)


def budget_figure(budget: pl.DataFrame, ctx: PageContext) -> str:
    """Window spend per channel: current (light), recommended (solid), allowed range (ticks)."""
    import plotly.graph_objects as go

    names = [label(c) for c in budget["channel"].to_list()]
    colors = [ctx.color(c) for c in budget["channel"].to_list()]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=names, y=budget["current_spend"].to_list(), name="current",
               marker={"color": colors, "opacity": 0.35, "line": {"color": colors, "width": 1.5}},
               hovertemplate="%{x}: current %{y:$,.0f}<extra></extra>")
    )  # fmt: skip
    fig.add_trace(
        go.Bar(x=names, y=budget["recommended_spend"].to_list(), name="recommended",
               marker={"color": colors},
               hovertemplate="%{x}: recommended %{y:$,.0f}<extra></extra>")
    )  # fmt: skip
    if "min_spend" in budget.columns:
        for bound, what in (("min_spend", "lowest allowed"), ("max_spend", "highest allowed")):
            fig.add_trace(
                go.Scatter(x=names, y=budget[bound].to_list(), mode="markers",
                           name="allowed range", legendgroup="bounds",
                           showlegend=bound == "max_spend",
                           marker={"symbol": "line-ew-open", "size": 30, "color": "#333",
                                   "line": {"width": 2}},
                           hovertemplate=f"%{{x}}: {what} %{{y:$,.0f}}<extra></extra>")
            )  # fmt: skip
    fig.update_layout(
        title="Window spend per channel: current (light) vs recommended (solid)", barmode="group",
        height=360, yaxis={"title": "USD over the window", "tickprefix": "$", "tickformat": "~s"},
        legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-budget")


def budget_section(budget: pl.DataFrame, ctx: PageContext) -> str:
    """Current vs recommended window spend (USD) per channel: summary line, warnings, bar chart
    and table, with the cautious (CVaR) plan's spend where the mart has it."""
    if budget.is_empty():
        return empty_note("No budget plan yet.")
    first = budget.row(0, named=True)
    cur = float(budget["current_new_patients"].sum())
    rec = float(budget["recommended_new_patients"].sum())
    gain = first.get("gain_new_patients")
    interval = (
        f", 90% interval {count(first['gain_new_patients_lo'])} to "
        f"{count(first['gain_new_patients_hi'])}"
        if gain is not None
        else ""
    )
    prob = first.get("prob_beats_current")
    summary = (
        f'<p id="budget-summary">Moving the same total of '
        f"{usd(float(budget['recommended_spend'].sum()))} as recommended would bring about "
        f"{count(rec)} media-caused new patients instead of {count(cur)} "
        f"({'+' if rec >= cur else ''}{count(rec - cur)}{interval}); the plan beats current "
        f"spend in {pct(prob)} of posterior draws. It maximises expected new patients; the "
        "cautious column maximises the worst 10% of outcomes instead.</p>"
    )
    warnings = (
        [w for w in budget.get_column("warning").to_list() if w]
        if "warning" in budget.columns
        else []
    )
    warn_html = "".join(f'<p class="badge warn">{esc(w)}</p><br>' for w in warnings)
    columns = [
        ("channel", "channel", lambda c: esc(label(c))),
        ("current_spend", "current spend", usd),
        ("recommended_spend", "recommended spend", usd),
        ("current_new_patients", "new patients now", count),
        ("recommended_new_patients", "new patients with plan", count),
        ("current_pac", "PAC now", usd),
        ("recommended_pac", "PAC with plan", usd),
    ]
    if "cautious_spend" in budget.columns:
        columns.append(("cautious_spend", "cautious plan spend", usd))
    table = table_html(budget, columns, table_id="budget-table", row_attr="channel")
    note = (
        '<p class="note">New patients and PAC in the plan are posterior means over the window '
        "(the PAC table shows medians). Ticks mark the spend each channel may take. A warning "
        "marks spend outside the weekly range the model was fitted on, where its response "
        "curve is an extrapolation.</p>"
    )
    return summary + warn_html + budget_figure(budget, ctx) + table + note


def changes_section(history: pl.DataFrame) -> str:
    """PAC change per channel between the latest refresh and the one before."""
    if history.is_empty():
        return empty_note("No history yet.")
    stamps = sorted(history["refreshed_at"].unique().to_list())
    if len(stamps) < 2:
        return empty_note(
            f"This is the first refresh on record ({stamp(stamps[-1])}); changes appear from the next one."
        )
    prev = history.filter(pl.col("refreshed_at") == stamps[-2]).select(
        "channel", pl.col("pac").alias("pac_prev"), pl.col("spend").alias("spend_prev"),
        pl.col("incremental_new_patients").alias("inc_prev"),
    )  # fmt: skip
    now = history.filter(pl.col("refreshed_at") == stamps[-1]).select(
        "channel", "pac", "spend", "incremental_new_patients"
    )
    both = (
        now.join(prev, on="channel", how="full", coalesce=True)
        .with_columns(((pl.col("pac") / pl.col("pac_prev")) - 1).alias("pac_change"))
        .sort("channel")
    )
    return (
        f'<p class="note">Compared with the refresh of {esc(stamp(stamps[-2]))}.</p>'
        + table_html(
            both,
            [
                ("channel", "channel", lambda c: esc(label(c))),
                ("pac_prev", "PAC before", usd),
                ("pac", "PAC now", usd),
                ("pac_change", "change", lambda v: "–" if v is None else f"{100 * v:+.0f}%"),
                ("inc_prev", "new patients caused before", count),
                ("incremental_new_patients", "new patients caused now", count),
            ],
            table_id="changes-table",
            row_attr="channel",
        )
    )
