"""Leadership summary page (``index.html``): the answer first (channels ranked by PAC, what to
do and how sure we are: :mod:`pipelines.dashboards.answer`), the geo test to run next, the
budget plan, then detail: a headline per channel, the PAC table, spend share vs effect share,
media vs baseline, changes since the previous refresh and a glossary.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.answer import answer_html, inconclusive, ranked
from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.next_tests import next_experiment_section
from pipelines.dashboards.page import (
    COLORS,
    PAGES,
    PageContext,
    count,
    day,
    esc,
    figure_html,
    label,
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
    ch = label(row["channel"])
    if not _ok(row.get("pac")):
        text = (
            f"{ch}: the model could not attribute new patients to this channel in the window, "
            "so its cost per new patient is unknown."
        )
    else:
        text = (
            f"{ch}: about {usd(row['pac'])} per new patient "
            f"(90% interval {usd(row['pac_lo'])} to {usd(row['pac_hi'])})."
        )
        lt = row.get("last_touch_pac")
        if _ok(lt):
            ratio = lt / row["pac"]
            if abs(ratio - 1) < 0.1:
                text += f" Last-touch credit gives about the same ({usd(lt)})."
            elif ratio < 1:
                text += (
                    f" Last touch says {usd(lt)}: {pct(1 - ratio)} too cheap, it credits "
                    "patients who would have come anyway."
                )
            elif ratio < 2:
                text += f" Last touch says {usd(lt)}: {pct(ratio - 1)} too expensive."
            else:
                text += (
                    f" Last touch says {usd(lt)}, {ratio:,.0f} times the real cost: most "
                    "patients it brings call or book through another source."
                )
        if inconclusive(row):
            text += (
                " Its latest geo test was inconclusive (the effect's 90% interval includes "
                "zero): it neither confirms nor contradicts the model."
            )
        elif _ok(row.get("geo_test_pac")):
            agrees = _overlap(
                row["pac_lo"], row["pac_hi"], row["geo_test_pac_lo"], row["geo_test_pac_hi"]
            )
            text += (
                f" Its latest geo test measured {usd(row['geo_test_pac'])} "
                f"({between(row['geo_test_pac_lo'], row['geo_test_pac_hi'], usd)}) over its test "
                "weeks (excluding carry-over after the test, so it reads high; see the geo tests "
                "page for the PAC with carry-over), "
                + ("consistent with the model." if agrees else "which the model does not match.")
            )
    if plan and _ok(plan.get("current_spend")) and plan["current_spend"] > 0:
        change = plan["recommended_spend"] / plan["current_spend"] - 1
        if abs(change) < 0.01:
            text += " The plan keeps its spend."
        else:
            verb = "raises" if change > 0 else "cuts"
            text += f" The plan {verb} its spend by {pct(abs(change))}."
    return text


def status_banner(data: DashboardData) -> str:
    """Model status: whether the latest fit passed its gates and whether the marts are current."""
    fs = data.fit_status
    if fs.is_empty():
        return '<p id="model-status"><span class="badge warn">No model fit recorded yet.</span></p>'
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


def geo_status_text(row: dict) -> str:
    """How to read a channel's latest geo test: measured, inconclusive, or none."""
    if inconclusive(row):
        return '<span class="badge status-inconclusive">inconclusive</span>'
    if _ok(row.get("geo_test_pac")):
        return '<span class="badge ok">measured</span>'
    return "no test"


def pac_table(pac: pl.DataFrame) -> str:
    def interval(lo: str, hi: str):
        return lambda r: between(r[lo], r[hi], usd)

    frame = ranked(pac).with_columns(
        pl.struct(["pac_lo", "pac_hi"]).alias("pac_int"),
        pl.struct(["incremental_new_patients_lo", "incremental_new_patients_hi"]).alias("inc_int"),
        pl.struct(pac.columns).alias("geo_status"),
        pl.struct(["geo_test_pac", "geo_test_pac_lo", "geo_test_pac_hi"]).alias("geo_shown"),
        pl.struct(pac.columns).alias("geo_int"),
    )
    return table_html(
        frame,
        [
            ("channel", "channel", lambda c: f'<span class="text">{esc(label(c))}</span>'),
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
            ("geo_status", "geo test", geo_status_text),
            (
                "geo_shown",
                "geo-test PAC",
                lambda r: "–" if r["geo_test_pac_hi"] is None else usd(r["geo_test_pac"]),
            ),
            (
                "geo_int",
                "geo-test 90% interval",
                lambda r: (
                    f"{usd(r['geo_test_pac_lo'])} or more (open)"
                    if inconclusive(r) and _ok(r["geo_test_pac_lo"])
                    else between(r["geo_test_pac_lo"], r["geo_test_pac_hi"], usd)
                ),
            ),
        ],
        table_id="pac-table",
        row_attr="channel",
    )


def shares_figure(pac: pl.DataFrame, ctx: PageContext) -> str:
    """Per channel: share of paid spend vs share of media-caused new patients (medians).

    A channel whose effect share is below its spend share costs more per new patient than
    paid media on average; above it, less.
    """
    import plotly.graph_objects as go

    rows = [r for r in pac.sort("spend", descending=True).iter_rows(named=True)]
    spend = sum(r["spend"] or 0 for r in rows)
    effect = sum(r["incremental_new_patients"] or 0 for r in rows)
    names = [label(r["channel"]) for r in rows]
    colors = [ctx.color(r["channel"]) for r in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=names, y=[(r["spend"] or 0) / spend if spend else None for r in rows],
            name="share of paid spend", marker={"color": colors, "opacity": 0.35,
            "line": {"color": colors, "width": 1.5}},
            hovertemplate="%{x}: %{y:.0%} of spend<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Bar(
            x=names,
            y=[(r["incremental_new_patients"] or 0) / effect if effect else None for r in rows],
            name="share of new patients media caused", marker={"color": colors},
            hovertemplate="%{x}: %{y:.0%} of media-caused new patients<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title="Share of spend (light) vs share of new patients caused (solid)", barmode="group",
        height=340, yaxis={"title": "share", "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, "fig-shares")


def media_baseline_figure(contrib: pl.DataFrame, ctx: PageContext, fig_id: str) -> str:
    """Weekly new patients: baseline and each channel (posterior medians), stacked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    comps = ["baseline"] + sorted(c for c in contrib["component"].unique() if c != "baseline")
    for comp in comps:
        part = contrib.filter(pl.col("component") == comp).sort("week_start")
        color = COLORS["baseline"] if comp == "baseline" else ctx.color(comp)
        fig.add_trace(
            go.Scatter(
                x=part["week_start"].to_list(), y=part["median"].to_list(),
                name="baseline (would come anyway)" if comp == "baseline" else label(comp),
                meta=comp, stackgroup="one", mode="lines", line={"width": 0.5, "color": color},
                fillcolor=color,
            )
        )  # fmt: skip
    fig.update_layout(
        title="New patients per week: baseline and media (posterior medians)", height=380,
        yaxis={"title": "new patients per week"}, legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure_html(fig, fig_id)


GLOSSARY = (
    (
        "PAC (patient acquisition cost)",
        "Spend on a channel divided by the new patients it caused: patients who would not "
        "have come without it. Not the same as what the call-tracking system credits.",
    ),
    (
        "Media PAC and blended PAC",
        "Media PAC divides paid spend by the new patients paid media caused; blended PAC "
        "divides it by all new patients, including those who would have come anyway.",
    ),
    (
        "Marginal PAC",
        "What one more new patient would cost at today's spend. Above the PAC when the "
        "channel saturates: the next dollar buys less than the average dollar did.",
    ),
    (
        "Last touch",
        "The source the call-tracking or booking system credited for a call or booking. It "
        "credits patients who would have come anyway, and misses those who called after "
        "seeing an ad elsewhere.",
    ),
    (
        "Baseline",
        "New patients who would have come with no paid media: referrals, reputation, "
        "search for the hospital's name, season.",
    ),
    (
        "90% interval",
        "The range that holds the true value with 90% probability, given the model and the "
        "data. Wide intervals mean the data do not pin the channel down yet.",
    ),
    (
        "Geo test (holdout, scale-up)",
        "An experiment: a channel's spend is switched off (holdout) or raised (scale-up) in "
        "some markets for some weeks, and compared with similar markets that ran as usual.",
    ),
    (
        "Inconclusive",
        "A geo test whose 90% interval of the effect includes zero: it cannot tell the "
        "channel's effect from none. Its PAC has no upper bound; it is not a measurement.",
    ),
    (
        "MDE (minimum detectable effect)",
        "The smallest effect a proposed geo test would detect 8 times in 10 (80% power, at "
        "the 10% significance level). A channel whose effect is below it needs a longer or "
        "larger test.",
    ),
    (
        "Posterior draws",
        "The model's uncertainty as a few thousand plausible versions of the truth; "
        "probabilities on these pages are shares of those draws.",
    ),
    (
        "CVaR (cautious plan)",
        "The average of the worst 10% of the plausible outcomes. The cautious plan maximises "
        "it, preferring channels the data pin down.",
    ),
)
"""Terms the pages use, in plain words."""


def glossary() -> str:
    items = "".join(f"<dt>{esc(t)}</dt><dd>{esc(d)}</dd>" for t, d in GLOSSARY)
    return f'<dl class="glossary" id="glossary-terms">{items}</dl>'


def render(data: DashboardData) -> str:
    """The whole ``index.html``: the answer first, then what to test next, then detail."""
    pac = data.pac
    plans = (
        {r["channel"]: r for r in data.budget.iter_rows(named=True)}
        if not data.budget.is_empty()
        else {}
    )
    parts = [answer_html(data, status_banner(data))]
    parts.append(next_experiment_section(data))
    parts.append(section("Budget plan", budget_section(data.budget, data.ctx), "budget"))
    if not pac.is_empty():
        heads = "".join(
            f'<li data-key="{esc(r["channel"])}">{esc(headline(r, plans.get(r["channel"])))}</li>'
            for r in pac.sort("spend", descending=True).iter_rows(named=True)
        )
        parts.append(
            section(
                "Channel by channel (largest spend first)",
                f'<ul class="headlines" id="headlines">{heads}</ul>',
                "headlines-section",
            )
        )
        parts.append(
            section(
                "Cost per new patient (PAC) by channel",
                '<p class="note">PAC = spend / new patients the channel caused in the window. '
                "Model: posterior median with 90% interval. Last touch: spend / new patients "
                "the call-tracking and booking systems credited to the channel. Geo test: the "
                "most recent experiment on the channel. Marginal PAC: cost of one more new "
                "patient at current spend.</p>" + pac_table(pac),
                "pac",
            )
        )
        parts.append(
            section(
                "Spend share vs effect share",
                shares_figure(pac, data.ctx)
                + '<p class="note">A channel whose solid bar is shorter than its light bar '
                "brings fewer new patients than its share of the budget (a PAC above the media "
                "average); a longer solid bar, more.</p>",
                "shares",
            )
        )
    if not data.contributions.is_empty():
        parts.append(
            section(
                "New patients caused by media vs baseline",
                media_baseline_figure(data.contributions, data.ctx, "fig-media-baseline"),
                "media-baseline",
            )
        )
    parts.append(
        section("Changes since the previous refresh", changes_section(data.pac_history), "changes")
    )
    parts.append(section("Glossary", glossary(), "glossary"))
    links = "".join(
        f'<li><a href="{n}">{esc(lbl)}</a></li>' for n, lbl in PAGES.items() if n != "index.html"
    )
    parts.append(section("More detail", f'<ul id="page-links">{links}</ul>'))
    window = f"{day(data.ctx.window_start)} to {day(data.ctx.window_end)}"
    return page("index.html", f"Patient acquisition cost · {window}", data.ctx, "".join(parts))
