"""Budget-plan and refresh-to-refresh sections of the leadership page (``index.html``).

Both take a mart frame (``marts.budget_plan`` rows per channel, ``marts.pac_history`` rows per
refresh and channel) and return an HTML fragment; an empty frame gives a plain note.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.page import (
    COLORS,
    count,
    empty_note,
    esc,
    figure_html,
    pct,
    stamp,
    table_html,
    usd,
)


def budget_section(budget: pl.DataFrame) -> str:
    """Current vs recommended window spend (USD) per channel: summary line, warnings, bar chart
    and table."""
    import plotly.graph_objects as go

    if budget.is_empty():
        return empty_note("No budget plan yet.")
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=budget["channel"].to_list(), y=budget["current_spend"].to_list(),
               name="current", marker_color=COLORS["last_touch"])
    )  # fmt: skip
    fig.add_trace(
        go.Bar(x=budget["channel"].to_list(), y=budget["recommended_spend"].to_list(),
               name="recommended", marker_color=COLORS["mmm"])
    )  # fmt: skip
    fig.update_layout(
        title="Window spend per channel: current vs recommended (same total)", barmode="group",
        height=340, yaxis={"title": "USD", "tickprefix": "$"},
    )  # fmt: skip
    cur = float(budget["current_new_patients"].sum())
    rec = float(budget["recommended_new_patients"].sum())
    prob = budget["prob_beats_current"][0] if "prob_beats_current" in budget.columns else None
    summary = (
        f'<p id="budget-summary">Moving the same total of {usd(float(budget["recommended_spend"].sum()))} '
        f"as recommended would bring about {count(rec)} media-caused new patients instead of "
        f"{count(cur)} ({'+' if rec >= cur else ''}{count(rec - cur)}); the plan beats current "
        f"spend in {pct(prob)} of posterior draws.</p>"
    )
    warnings = (
        [w for w in budget.get_column("warning").to_list() if w]
        if "warning" in budget.columns
        else []
    )
    warn_html = "".join(f'<p class="badge warn">{esc(w)}</p><br>' for w in warnings)
    table = table_html(
        budget,
        [
            ("channel", "channel", esc),
            ("current_spend", "current spend", usd),
            ("recommended_spend", "recommended spend", usd),
            ("current_new_patients", "new patients now", count),
            ("recommended_new_patients", "new patients with plan", count),
            ("current_pac", "PAC now", usd),
            ("recommended_pac", "PAC with plan", usd),
        ],
        table_id="budget-table",
        row_attr="channel",
    )
    note = (
        '<p class="note">New patients and PAC in the plan are posterior means over the window '
        "(the PAC table above shows medians). A warning marks spend outside the weekly range "
        "the model was fitted on, where its response curve is an extrapolation.</p>"
    )
    return summary + warn_html + figure_html(fig, "fig-budget") + table + note


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
                ("channel", "channel", esc),
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
