"""Leadership summary page (``index.html``): PAC per channel three ways, media vs baseline,
the budget plan, changes since the previous refresh, and one plain-language headline per channel.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.page import (
    COLORS,
    PAGES,
    count,
    day,
    empty_note,
    esc,
    figure_html,
    page,
    pct,
    section,
    stamp,
    table_html,
    usd,
)
from pipelines.dashboards.page import (
    interval as between,
)
from pipelines.dashboards.plan_sections import budget_section, changes_section


def _ok(v: float | None) -> bool:
    return v is not None and v == v


def _overlap(a_lo, a_hi, b_lo, b_hi) -> bool:
    """Whether two intervals overlap; a missing upper end is unbounded."""
    a_hi = a_hi if _ok(a_hi) else float("inf")
    b_hi = b_hi if _ok(b_hi) else float("inf")
    return _ok(a_lo) and _ok(b_lo) and a_lo <= b_hi and b_lo <= a_hi


def headline(row: dict, plan: dict | None) -> str:
    """One plain-language sentence group about a channel (a ``marts.pac_by_channel`` row)."""
    ch = row["channel"]
    if not _ok(row.get("pac")):
        text = (
            f"{ch}: the model could not attribute new patients to this channel in the window, "
            "so its cost per new patient is unknown."
        )
    else:
        text = (
            f"{ch}: each new patient it brought in cost about {usd(row['pac'])} "
            f"(90% interval {usd(row['pac_lo'])} to {usd(row['pac_hi'])})."
        )
        lt = row.get("last_touch_pac")
        if _ok(lt):
            ratio = lt / row["pac"]
            if abs(ratio - 1) < 0.1:
                text += f" Last-touch credit gives about the same ({usd(lt)})."
            elif ratio < 1:
                text += (
                    f" Last-touch credit says {usd(lt)}, making it look {pct(1 - ratio)} "
                    "cheaper than it is: it credits the channel with patients who would have "
                    "come anyway."
                )
            elif ratio < 2:
                text += (
                    f" Last-touch credit says {usd(lt)}, making it look {pct(ratio - 1)} "
                    "more expensive than it is."
                )
            else:
                text += (
                    f" Last-touch credit says {usd(lt)}, about {ratio:,.0f} times the real "
                    "cost: most patients it brings in call or book through another source."
                )
        if _ok(row.get("geo_test_pac")):
            agrees = _overlap(
                row["pac_lo"], row["pac_hi"], row["geo_test_pac_lo"], row["geo_test_pac_hi"]
            )
            text += (
                f" Its latest geo test measured {usd(row['geo_test_pac'])} "
                f"({between(row['geo_test_pac_lo'], row['geo_test_pac_hi'], usd)}), "
                + ("consistent with the model." if agrees else "which the model does not match.")
            )
        if _ok(row.get("marginal_pac")):
            text += f" One more new patient at current spend would cost about {usd(row['marginal_pac'])}."
    if plan and _ok(plan.get("current_spend")) and plan["current_spend"] > 0:
        change = plan["recommended_spend"] / plan["current_spend"] - 1
        if abs(change) < 0.01:
            text += " The budget plan keeps its spend."
        else:
            verb = "raises" if change > 0 else "cuts"
            text += f" The budget plan {verb} its spend by {pct(abs(change))}."
    return text


def status_banner(data: DashboardData) -> str:
    """Model status: whether the latest fit passed its gates and whether the marts are current."""
    fs = data.fit_status
    if fs.is_empty():
        return '<p class="badge warn">No model fit recorded yet.</p>'
    last = fs.row(fs.height - 1, named=True)
    if not last["converged"]:
        return (
            '<p id="model-status"><span class="badge bad">Latest model fit failed its gates</span> '
            f"(fitted {esc(stamp(last['fitted_at']))}: {esc(last['message'])}). The figures below "
            f"are from the last refresh that passed, {esc(stamp(data.ctx.refreshed_at))}.</p>"
        )
    cal = "calibrated with geo tests" if last.get("calibrated") else "not calibrated"
    return (
        '<p id="model-status"><span class="badge ok">Model passed its gates</span> '
        f"(fitted {esc(stamp(last['fitted_at']))}, {esc(cal)}; "
        f'details on the <a href="model.html">model page</a>).</p>'
    )


def window_weeks(frame: pl.DataFrame, data: DashboardData) -> pl.DataFrame:
    if frame.is_empty() or data.ctx.window_start is None:
        return frame
    return frame.filter(pl.col("week_start").is_between(data.ctx.window_start, data.ctx.window_end))


def kpis(data: DashboardData) -> str:
    """Window totals: spend, media and baseline new patients, media and blended PAC."""
    pac = data.pac
    spend = float(pac["spend"].sum()) if not pac.is_empty() else None
    media = (
        float(pac["incremental_new_patients"].sum())
        if not pac.is_empty() and pac["incremental_new_patients"].null_count() < pac.height
        else None
    )
    contrib = window_weeks(data.contributions, data)
    baseline = (
        float(contrib.filter(pl.col("component") == "baseline")["median"].sum())
        if not contrib.is_empty()
        else None
    )
    totals = window_weeks(data.weekly_totals, data)
    all_np = (
        float(totals["new_patients"].sum())
        if not totals.is_empty() and totals["new_patients"].null_count() == 0
        else None
    )
    items = [
        ("kpi-spend", usd(spend), "paid media spend in the window"),
        ("kpi-media", count(media), "new patients caused by paid media (model median)"),
        ("kpi-baseline", count(baseline), "new patients who would have come anyway (baseline)"),
        (
            "kpi-media-pac",
            usd(spend / media) if spend and media else "–",
            "media PAC: spend / new patients media caused",
        ),
        (
            "kpi-blended-pac",
            usd(spend / all_np) if spend and all_np else "–",
            "blended PAC: spend / all new patients",
        ),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi" id="{k}"><div class="v">{esc(v)}</div><div class="l">{esc(lbl)}</div></div>'
            for k, v, lbl in items
        )
        + "</div>"
    )


def pac_figure(pac: pl.DataFrame) -> str:
    """PAC per channel: MMM with 90% interval, last-touch, geo test with interval."""
    import plotly.graph_objects as go

    ch = pac["channel"].to_list()
    fig = go.Figure()

    def err(col: str, lo: str, hi: str) -> dict:
        return {
            "type": "data",
            "symmetric": False,
            "array": (pac[hi] - pac[col]).to_list(),
            "arrayminus": (pac[col] - pac[lo]).to_list(),
        }

    fig.add_trace(
        go.Scatter(
            x=pac["pac"].to_list(), y=ch, mode="markers", name="MMM (90% interval)",
            marker={"color": COLORS["mmm"], "size": 11}, error_x=err("pac", "pac_lo", "pac_hi"),
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=pac["last_touch_pac"].to_list(), y=ch, mode="markers", name="last touch",
            marker={"color": COLORS["last_touch"], "size": 10, "symbol": "diamond"},
        )
    )  # fmt: skip
    if pac["geo_test_pac"].null_count() < pac.height:
        fig.add_trace(
            go.Scatter(
                x=pac["geo_test_pac"].to_list(), y=ch, mode="markers", name="geo test (90%)",
                marker={"color": COLORS["geo"], "size": 10, "symbol": "square"},
                error_x=err("geo_test_pac", "geo_test_pac_lo", "geo_test_pac_hi"),
            )
        )  # fmt: skip
    fig.update_layout(
        title="Cost per new patient (USD)", height=110 + 60 * len(ch),
        xaxis={"title": "USD per new patient (log scale)", "type": "log", "tickprefix": "$"},
        legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return figure_html(fig, "fig-pac")


def pac_table(pac: pl.DataFrame) -> str:
    def interval(lo: str, hi: str):
        return lambda r: between(r[lo], r[hi], usd)

    frame = pac.with_columns(
        pl.struct(["pac_lo", "pac_hi"]).alias("pac_int"),
        pl.struct(["incremental_new_patients_lo", "incremental_new_patients_hi"]).alias("inc_int"),
        pl.struct(["geo_test_pac_lo", "geo_test_pac_hi"]).alias("geo_int"),
    )
    return table_html(
        frame,
        [
            ("channel", "channel", esc),
            ("spend", "spend", usd),
            ("incremental_new_patients", "new patients caused", count),
            (
                "inc_int",
                "90% interval",
                lambda s: (
                    f"{count(s['incremental_new_patients_lo'])} – "
                    f"{count(s['incremental_new_patients_hi'])}"
                ),
            ),
            ("pac", "PAC", usd),
            ("pac_int", "PAC 90% interval", interval("pac_lo", "pac_hi")),
            ("marginal_pac", "marginal PAC", usd),
            ("last_touch_new_patients", "last-touch new patients", count),
            ("last_touch_pac", "last-touch PAC", usd),
            ("geo_test_pac", "geo-test PAC", usd),
            ("geo_int", "geo-test 90% interval", interval("geo_test_pac_lo", "geo_test_pac_hi")),
        ],
        table_id="pac-table",
        row_attr="channel",
    )


def media_baseline_figure(contrib: pl.DataFrame) -> str:
    """Weekly new patients: baseline and each channel (posterior medians), stacked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    comps = ["baseline"] + sorted(c for c in contrib["component"].unique() if c != "baseline")
    for comp in comps:
        part = contrib.filter(pl.col("component") == comp).sort("week_start")
        fig.add_trace(
            go.Scatter(
                x=part["week_start"].to_list(), y=part["median"].to_list(), name=comp,
                stackgroup="one", mode="lines", line={"width": 0.5},
                fillcolor=COLORS["baseline"] if comp == "baseline" else None,
            )
        )  # fmt: skip
    fig.update_layout(
        title="New patients per week: baseline and media (posterior medians)", height=380,
        yaxis={"title": "new patients per week"}, legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-media-baseline")


def render(data: DashboardData) -> str:
    """The whole ``index.html``."""
    pac = data.pac
    plans = (
        {r["channel"]: r for r in data.budget.iter_rows(named=True)}
        if not data.budget.is_empty()
        else {}
    )
    parts = [
        section("Model status", status_banner(data)),
        section("This window at a glance", kpis(data)),
    ]
    if pac.is_empty():
        parts.append(
            section(
                "Cost per new patient", empty_note("No PAC yet: the marts have not been built.")
            )
        )
    else:
        heads = "".join(
            f'<li data-key="{esc(r["channel"])}">{esc(headline(r, plans.get(r["channel"])))}</li>'
            for r in pac.iter_rows(named=True)
        )
        parts.append(section("Headlines", f'<ul class="headlines" id="headlines">{heads}</ul>'))
        parts.append(
            section(
                "Cost per new patient (PAC) by channel",
                pac_figure(pac)
                + '<p class="note">PAC = spend / new patients the channel caused in the window. '
                "MMM: posterior median with 90% interval. Last touch: spend / new patients the "
                "call-tracking and booking systems credited to the channel. Geo test: the most "
                "recent experiment on the channel. Marginal PAC: cost of one more new patient at "
                "current spend.</p>" + pac_table(pac),
                "pac",
            )
        )
    if not data.contributions.is_empty():
        parts.append(
            section(
                "New patients caused by media vs baseline",
                media_baseline_figure(data.contributions),
                "media-baseline",
            )
        )
    parts.append(section("Budget plan", budget_section(data.budget), "budget"))
    parts.append(
        section("Changes since the previous refresh", changes_section(data.pac_history), "changes")
    )
    links = "".join(
        f'<li><a href="{n}">{esc(lbl)}</a></li>' for n, lbl in PAGES.items() if n != "index.html"
    )
    parts.append(section("More detail", f'<ul id="page-links">{links}</ul>'))
    window = f"{day(data.ctx.window_start)} to {day(data.ctx.window_end)}"
    return page("index.html", f"Patient acquisition cost · {window}", data.ctx, "".join(parts))
