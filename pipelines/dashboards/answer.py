"""The first screen of the summary page: the answer a CMO reads in ten seconds.

Left, the paid channels ranked by PAC with 90% intervals (MMM), last-touch PAC and the latest
geo test (an inconclusive test drawn as an open-ended interval). Right, one line of what to do
and how sure we are, then the plan's gain with its interval, the constraints the plan obeyed,
its objective and the cautious alternative, and which PAC to quote.

Inputs are ``marts.pac_by_channel`` and ``marts.budget_plan`` frames (``DashboardData``);
money is USD over the reporting window, new patients are counts over the window.
"""

from __future__ import annotations

import math

import polars as pl

from pipelines.dashboards.data import DashboardData, window_weeks
from pipelines.dashboards.page import (
    COLORS,
    PageContext,
    count,
    esc,
    figure_html,
    label,
    log_ticks,
    pct,
    share,
    usd,
    usd_short,
)

MOVE = 0.01
"""A channel whose recommended spend is within 1% of current spend is "kept"."""


def _ok(v: float | None) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def _names(channels: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` of channel labels."""
    labels = [label(c) for c in channels]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def inconclusive(row: dict) -> bool:
    """Whether a ``marts.pac_by_channel`` row's latest geo test is inconclusive.

    Read from ``geo_test_status``; warehouses made before that column existed fall back to
    the open PAC interval (a test with a PAC but no upper bound).
    """
    status = row.get("geo_test_status")
    if status is not None:
        return status == "inconclusive"
    return _ok(row.get("geo_test_pac_lo")) and not _ok(row.get("geo_test_pac_hi"))


def ranked(pac: pl.DataFrame) -> pl.DataFrame:
    """Channels by MMM PAC, cheapest first; channels without a PAC last (by name)."""
    return pac.sort([pl.col("pac").is_null(), pl.col("pac"), pl.col("channel")], nulls_last=True)


def pac_figure(pac: pl.DataFrame, ctx: PageContext) -> str:
    """Channels ranked by PAC (cheapest on top), log axis with dollar ticks.

    One trace per channel in its colour (MMM median and 90% interval); last touch as grey
    diamonds; the latest geo test as black squares with its interval, or, when inconclusive,
    as a dashed open-ended interval from its lower end with an arrow (no point estimate).
    """
    import plotly.graph_objects as go

    rows = list(ranked(pac).iter_rows(named=True))
    names = [label(r["channel"]) for r in rows]
    values = [
        v
        for r in rows
        for v in (r["pac_lo"], r["pac_hi"], r["last_touch_pac"], r["geo_test_pac_lo"])
        + ((r["geo_test_pac_hi"],) if not inconclusive(r) else ())
        if _ok(v) and v > 0
    ]
    lo, hi = (min(values), max(values)) if values else (10.0, 1000.0)
    left, right = math.log10(lo) - 0.08, math.log10(hi) + 0.12
    fig = go.Figure()
    for r, name in zip(rows, names, strict=True):
        if not _ok(r["pac"]):
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["pac"]], y=[name], mode="markers", name=name, meta=r["channel"],
                legendgroup="mmm", showlegend=False,
                marker={"color": ctx.color(r["channel"]), "size": 13},
                error_x={"type": "data", "symmetric": False, "array": [r["pac_hi"] - r["pac"]],
                         "arrayminus": [r["pac"] - r["pac_lo"]], "color": ctx.color(r["channel"]),
                         "thickness": 3, "width": 6},
                hovertemplate=f"{esc(name)}: model PAC %{{x:$,.0f}} (90% interval "
                f"{usd(r['pac_lo'])} – {usd(r['pac_hi'])})<extra></extra>",
            )
        )  # fmt: skip
    lt = [(r["last_touch_pac"], n) for r, n in zip(rows, names, strict=True)]
    fig.add_trace(
        go.Scatter(
            x=[v for v, _ in lt], y=[n for _, n in lt], mode="markers", name="last-touch credit",
            marker={"color": COLORS["last_touch"], "size": 10, "symbol": "diamond"},
            hovertemplate="%{y}: last-touch PAC %{x:$,.0f}<extra></extra>",
        )
    )  # fmt: skip
    measured = [(r, n) for r, n in zip(rows, names, strict=True) if _ok(r["geo_test_pac"])]
    closed = [(r, n) for r, n in measured if not inconclusive(r)]
    if closed:
        fig.add_trace(
            go.Scatter(
                x=[r["geo_test_pac"] for r, _ in closed], y=[n for _, n in closed],
                mode="markers", name="geo test, test weeks only (90% interval)",
                marker={"color": COLORS["actual"], "size": 9, "symbol": "square"},
                error_x={"type": "data", "symmetric": False, "color": COLORS["actual"],
                         "array": [(r["geo_test_pac_hi"] or r["geo_test_pac"]) - r["geo_test_pac"]
                                   for r, _ in closed],
                         "arrayminus": [r["geo_test_pac"] - (r["geo_test_pac_lo"] or r["geo_test_pac"])
                                        for r, _ in closed]},
                hovertemplate="%{y}: geo test PAC %{x:$,.0f} (test weeks, excludes carry-over)<extra></extra>",
            )
        )  # fmt: skip
    open_ended = [
        (r, n)
        for r, n in zip(rows, names, strict=True)
        if inconclusive(r) and _ok(r["geo_test_pac_lo"])
    ]
    end = 10 ** (right - 0.02)
    for i, (r, n) in enumerate(open_ended):
        fig.add_trace(
            go.Scatter(
                x=[r["geo_test_pac_lo"], end], y=[n, n], mode="lines+markers",
                name="geo test inconclusive (no upper bound)", legendgroup="open",
                showlegend=i == 0, line={"color": COLORS["actual"], "dash": "dot", "width": 2},
                marker={"symbol": ["line-ns", "arrow-right"], "size": [12, 12],
                        "color": COLORS["actual"]},
                hovertemplate=f"{esc(n)}: geo test inconclusive; PAC {usd(r['geo_test_pac_lo'])} "
                "or more<extra></extra>",
            )
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[None], y=[None], mode="markers", name="model PAC, 90% interval",
            marker={"color": "#555", "size": 11}, error_x={"type": "data", "array": [0]},
        )
    )  # fmt: skip
    ticks = log_ticks(10**left, 10**right)
    fig.update_layout(
        title="Cost per new patient by channel, cheapest first", height=150 + 52 * len(rows),
        xaxis={"title": "USD per new patient (log scale)", "type": "log",
               "range": [left, right], "tickvals": ticks, "ticktext": [usd(t) for t in ticks]},
        yaxis={"categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
        legend={"orientation": "h", "y": -0.22, "x": 0},
    )  # fmt: skip
    return figure_html(fig, "fig-pac")


def _confidence(prob: float | None) -> str:
    if not _ok(prob):
        return ""
    if prob >= 0.95:
        return f"Confident: the plan beats current spend in {share(prob)} of posterior draws."
    if prob >= 0.8:
        return f"Likely better: the plan beats current spend in {pct(prob)} of posterior draws."
    return (
        f"Not sure: the plan beats current spend in only {pct(prob)} of posterior draws; "
        "treat it as a hypothesis to test, not a decision."
    )


def recommendation(data: DashboardData) -> str:
    """One line of what to do and how sure we are (plain text)."""
    budget, pac = data.budget, data.pac
    if budget.is_empty():
        if pac.is_empty() or pac["pac"].null_count() == pac.height:
            return "No answer yet: the model has not produced a cost per new patient."
        order = ranked(pac).filter(pl.col("pac").is_not_null())
        first, last = order.row(0, named=True), order.row(order.height - 1, named=True)
        return (
            f"{label(first['channel'])} brings new patients cheapest ({usd(first['pac'])} each), "
            f"{label(last['channel'])} dearest ({usd(last['pac'])}); no budget plan yet."
        )
    rows = list(budget.iter_rows(named=True))
    change = {
        r["channel"]: r["recommended_spend"] / r["current_spend"] - 1
        for r in rows
        if _ok(r["current_spend"]) and r["current_spend"] > 0
    }
    up = sorted((c for c, v in change.items() if v > MOVE), key=lambda c: -change[c])
    down = sorted((c for c, v in change.items() if v < -MOVE), key=lambda c: change[c])
    gain = rows[0].get("gain_new_patients")
    if not _ok(gain):
        gain = sum(r["recommended_new_patients"] - r["current_new_patients"] for r in rows)
    total = sum(r["recommended_spend"] for r in rows)
    if not up and not down:
        return "Keep the current split: no move within the allowed bounds adds new patients."
    move = (
        f"Move budget to {_names(up)} from {_names(down)}"
        if up and down
        else (f"Spend more on {_names(up)}" if up else f"Spend less on {_names(down)}")
    )
    return (
        f"{move}: about {'+' if gain >= 0 else ''}{count(gain)} new patients in the window for "
        f"the same {usd_short(total)}. {_confidence(rows[0].get('prob_beats_current'))}"
    )


def plan_facts(data: DashboardData) -> list[tuple[str, str]]:
    """(element id, HTML) facts about the plan: gain, constraints, objective."""
    budget = data.budget
    if budget.is_empty():
        return []
    rows = list(budget.iter_rows(named=True))
    first = rows[0]
    facts = []
    if _ok(first.get("gain_new_patients")):
        facts.append(
            (
                "plan-gain",
                f"<b>Gain of the plan:</b> {count(first['gain_new_patients'])} new patients "
                f"(90% interval {count(first['gain_new_patients_lo'])} to "
                f"{count(first['gain_new_patients_hi'])}) over the "
                f"{esc(_weeks(data))} of the window.",
            )
        )
    facts.append(
        ("plan-constraints", "<b>" + esc(constraints_text(budget)).replace(":", ":</b>", 1))
    )
    facts.append(("plan-objective", objective_text(budget)))
    return facts


def _weeks(data: DashboardData) -> str:
    c = data.ctx
    if c.window_start is None or c.window_end is None:
        return "weeks"
    return f"{(c.window_end - c.window_start).days // 7 + 1} weeks"


def constraints_text(budget: pl.DataFrame) -> str:
    """The bounds the plan obeyed and which channels sit on them."""
    rows = list(budget.iter_rows(named=True))
    total = sum(r["recommended_spend"] for r in rows)
    text = f"Constraints: the same total of {usd_short(total)}"
    if "min_spend" not in budget.columns:
        return text + "."
    moves = {
        round(100 * (1 - r["min_spend"] / r["current_spend"]))
        for r in rows
        if _ok(r["current_spend"]) and r["current_spend"] > 0 and _ok(r["min_spend"])
    }
    if len(moves) == 1:
        text += f"; each channel within plus or minus {moves.pop()}% of its current spend"
    else:
        text += "; each channel within its own spend bounds"

    def at(r: dict, bound: str) -> bool:
        return _ok(r[bound]) and abs(r["recommended_spend"] - r[bound]) <= 0.005 * max(
            r["current_spend"], 1.0
        )

    top = [r["channel"] for r in rows if at(r, "max_spend") and r["max_spend"] > r["min_spend"]]
    bottom = [r["channel"] for r in rows if at(r, "min_spend") and r["max_spend"] > r["min_spend"]]
    on = len(top) + len(bottom)
    if on:
        parts = []
        if top:
            parts.append(f"{_names(top)} at the upper bound")
        if bottom:
            parts.append(f"{_names(bottom)} at the lower bound")
        text += (
            f". {on} of {len(rows)} channels sit on a bound ({'; '.join(parts)}): the model "
            "would move further if allowed, where its curves are less certain"
        )
    return text + "."


def objective_text(budget: pl.DataFrame) -> str:
    """Which objective the plan shown maximises, and what the cautious plan would do (HTML)."""
    text = (
        "<b>Objective shown:</b> expected new patients (risk-neutral: the posterior mean). "
        "Wide, skewed posteriors can attract budget under it."
    )
    if "cautious_spend" not in budget.columns:
        return text
    first = budget.row(0, named=True)
    moved = [
        r["channel"]
        for r in budget.iter_rows(named=True)
        if abs(r["cautious_spend"] - r["recommended_spend"]) > MOVE * max(r["current_spend"], 1.0)
    ]
    gain = first["cautious_gain_new_patients"]
    text += (
        " A cautious plan, maximising the worst 10% of outcomes (CVaR), gains "
        f"{count(gain)} new patients (90% interval {count(first['cautious_gain_new_patients_lo'])}"
        f" to {count(first['cautious_gain_new_patients_hi'])}) and beats current spend in "
        f"{share(first['cautious_prob_beats_current'])} of draws; "
    )
    text += (
        f"it differs from the plan shown on {esc(_names(moved))} (see the budget table)."
        if moved
        else "it moves the budget the same way."
    )
    return text


def pac_to_quote(data: DashboardData) -> str:
    """Media PAC vs blended PAC, and which one to quote (HTML)."""
    pac = data.pac
    if pac.is_empty():
        return ""
    spend = float(pac["spend"].sum())
    media = (
        float(pac["incremental_new_patients"].sum())
        if pac["incremental_new_patients"].null_count() < pac.height
        else None
    )
    totals = window_weeks(data.weekly_totals, data.ctx)
    all_np = (
        float(totals["new_patients"].sum())
        if not totals.is_empty() and totals["new_patients"].null_count() == 0
        else None
    )
    media_pac = usd(spend / media) if spend and media else "–"
    blended = usd(spend / all_np) if spend and all_np else "–"
    return (
        f'<b>Which PAC to quote:</b> media PAC <span id="kpi-media-pac">{media_pac}</span> '
        "(paid spend / new patients paid media caused) when asking what marketing buys. "
        f'Blended PAC <span id="kpi-blended-pac">{blended}</span> (paid spend / all new '
        "patients) counts patients who would have come anyway: use it for the total cost of "
        "the patient base, never to judge a channel."
    )


def answer_html(data: DashboardData, status: str) -> str:
    """The first screen: status line, ranked PAC chart left, recommendation and facts right."""
    if data.pac.is_empty():
        chart = '<p class="note">No PAC yet: the marts have not been built.</p>'
    else:
        chart = pac_figure(data.pac, data.ctx)
    facts = plan_facts(data)
    quote = pac_to_quote(data)
    if quote:
        facts.append(("pac-to-quote", quote))
    items = "".join(f'<li id="{i}">{html}</li>' for i, html in facts)
    return (
        f'<section id="answer">{status}<div class="answer-grid">'
        f'<div class="answer-chart">{chart}</div>'
        f'<div class="answer-text"><p id="recommendation">{esc(recommendation(data))}</p>'
        f'<ul class="facts">{items}</ul></div></div></section>'
    )
