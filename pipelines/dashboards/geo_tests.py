"""Geo tests page (``geo_tests.html``): per test, treated markets vs their counterfactual with
its interval, the effect, p-value and PAC; then the designs proposed for new tests.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.next_tests import ranking_section
from pipelines.dashboards.page import (
    COLORS,
    count,
    day,
    empty_note,
    esc,
    figure_html,
    interval,
    label,
    num,
    page,
    pct,
    section,
    table_html,
    usd,
)


def is_inconclusive(row: dict) -> bool:
    """The test's 90% effect interval includes zero (``status`` of the mart, or the interval
    itself in warehouses made before the column existed)."""
    if row.get("status") is not None:
        return row["status"] == "inconclusive"
    lo, hi = row["incremental_new_patients_lo"], row["incremental_new_patients_hi"]
    return lo is None or hi is None or (lo <= 0 <= hi)


def result_badge(row: dict) -> str:
    if is_inconclusive(row):
        return '<span class="badge status-inconclusive">inconclusive</span>'
    return '<span class="badge ok">conclusive</span>'


def pac_text(row: dict) -> str:
    """The test's PAC: not a measurement when inconclusive (open interval), else with interval."""
    if is_inconclusive(row):
        return f"not measured ({interval(row['pac_lo'], None, usd)})"
    return f"{usd(row['pac'])} ({interval(row['pac_lo'], row['pac_hi'], usd)})"


def carryover_text(r: dict) -> str:
    """The test's effect and PAC with the carry-over weeks after it, or why there are none."""
    weeks = r.get("carryover_weeks")
    if not weeks:
        return "<p>Carry-over after the test: not measured (no weeks of data after it yet).</p>"
    return (
        f"<p>With {count(weeks)} week(s) of carry-over after the test: "
        f"{count(r['incremental_new_patients_with_carryover'])} new patients caused "
        f"(90% interval {count(r['incremental_new_patients_with_carryover_lo'])} to "
        f"{count(r['incremental_new_patients_with_carryover_hi'])}), PAC "
        f"{usd(r['pac_with_carryover'])} "
        f"({interval(r['pac_with_carryover_lo'], r['pac_with_carryover_hi'], usd)}): the PAC "
        "comparable with the MMM's.</p>"
    )


def results_table(res: pl.DataFrame) -> str:
    frame = res.with_columns(
        pl.struct(["incremental_new_patients_lo", "incremental_new_patients_hi"]).alias("inc_int"),
        pl.struct(res.columns).alias("result"),
        pl.struct(res.columns).alias("pac_shown"),
    )
    return table_html(
        frame,
        [
            ("test_id", "test", esc),
            ("channel", "channel", lambda c: esc(label(c))),
            ("design", "design", esc),
            ("start_week", "from", day),
            ("end_week", "to", day),
            ("treatment_geos", "treated markets", count),
            ("result", "result", result_badge),
            ("incremental_new_patients", "new patients caused", count),
            (
                "inc_int",
                "90% interval",
                lambda s: (
                    f"{count(s['incremental_new_patients_lo'])} – "
                    f"{count(s['incremental_new_patients_hi'])}"
                ),
            ),
            ("lift_pct", "lift", lambda v: num(v, 1) + "%" if v is not None else "–"),
            ("p_value", "p-value", lambda v: num(v, 2)),
            ("incremental_spend", "spend difference", usd),
            ("pac_shown", "PAC, test weeks only (90% interval)", pac_text),
            ("method", "method", lambda v: esc((v or "").replace("_", " ").replace("+", " + "))),
        ],
        table_id="geo-results-table",
        row_attr="test_id",
    )


def with_gaps(series: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple]]:
    """The series on a full weekly grid (missing weeks as nulls, so lines break there), and
    the runs of missing weeks as (first, last, count)."""
    s = series.sort("week_start")
    weeks = s["week_start"].to_list()
    if len(weeks) < 2:
        return s, []
    grid = pl.DataFrame(
        {"week_start": pl.date_range(weeks[0], weeks[-1], interval="1w", eager=True)}
    )
    full = grid.join(s, on="week_start", how="left")
    runs, start, n = [], None, 0
    for w, present in zip(full["week_start"], full["test_id"].is_not_null(), strict=True):
        if not present:
            start, n = (start or w), n + 1
        elif start is not None:
            runs.append((start, w, n))
            start, n = None, 0
    return full, runs


def test_figure(series: pl.DataFrame, test_id: str, title: str) -> str:
    """Treated markets vs counterfactual; weeks the analysis did not use are left blank and
    shaded, with the reason in the chart."""
    import plotly.graph_objects as go

    s, gaps = with_gaps(series)
    weeks = s["week_start"].to_list()
    fig = go.Figure()
    # the band as one polygon per run of analysed weeks, so it is not drawn across a gap
    runs = s.with_columns(pl.col("counterfactual_lo").is_null().cum_sum().alias("_run")).filter(
        pl.col("counterfactual_lo").is_not_null()
    )
    for i, (_, band) in enumerate(runs.group_by("_run", maintain_order=True)):
        bw = band["week_start"].to_list()
        fig.add_trace(
            go.Scatter(x=bw + bw[::-1],
                       y=band["counterfactual_hi"].to_list() + band["counterfactual_lo"].to_list()[::-1],
                       fill="toself", fillcolor=COLORS["band"], line={"width": 0},
                       name="counterfactual 90% interval", legendgroup="band", showlegend=i == 0,
                       hoverinfo="skip")
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=weeks, y=s["counterfactual"].to_list(), mode="lines",
                   name="counterfactual (from control markets)",
                   line={"color": COLORS["mmm"], "dash": "dash"}, connectgaps=False)
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=weeks, y=s["treated"].to_list(), mode="lines+markers",
                   name="treated markets", line={"color": COLORS["geo"]}, marker={"size": 4},
                   connectgaps=False)
    )  # fmt: skip
    inside = s.filter(pl.col("in_test").fill_null(False))
    if not inside.is_empty():
        fig.add_vrect(
            x0=inside["week_start"].min(), x1=inside["week_start"].max(), fillcolor="#fff4d6",
            opacity=0.6, line_width=0, layer="below", annotation_text="test", annotation_position="top left",
        )  # fmt: skip
    for first, after, n in gaps:
        fig.add_vrect(
            x0=first, x1=after, fillcolor="#eceff3", opacity=0.7, line_width=0, layer="below",
            annotation_text=f"{n} weeks not used", annotation_position="top left",
        )  # fmt: skip
    fig.update_layout(
        title=title, height=340, yaxis={"title": "new patients per week"},
        legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return figure_html(fig, f"fig-test-{test_id}")


GAP_NOTE = (
    "Blank, shaded weeks were not used by the analysis: weeks of other geo tests and their "
    "carry-over, or weeks a feed did not measure. The line is not drawn through them."
)


def designs_table(designs: pl.DataFrame, data: DashboardData) -> str:
    """The default holdout design per channel; markets by label where the feed has one."""
    if designs.is_empty():
        return empty_note("No designs proposed yet.")
    frame = designs.with_columns(
        [
            pl.col(c).map_elements(
                lambda geos: ", ".join(data.market_names(list(geos))), return_dtype=pl.Utf8
            )
            for c in ("treatment_geos",)
            if c in designs.columns
        ]
        + [
            pl.col(c).list.len().alias(c)
            for c in ("control_geos",)
            if c in designs.columns and isinstance(designs.schema[c], pl.List)
        ]
    )
    cols = [
        ("channel", "channel", lambda c: esc(label(c))),
        ("weeks", "weeks", count),
        ("treatment_geos", "treatment markets", esc),
        ("control_geos", "control markets", count),
        ("mde_new_patients", "minimum detectable effect (new patients, 80% power)", count),
        ("mde_pct", "MDE as % of expected", lambda v: num(v, 1) + "%" if v is not None else "–"),
        ("power", "power re-checked on other backtests", pct),
        ("expected_lost_new_patients", "expected new patients lost", count),
        ("expected_spend_saved", "spend saved", usd),
    ]
    note = (
        '<p class="note">The MDE is the smallest effect detected in 80% of one set of held-out '
        "backtests; the power column re-checks it on another set, so it scatters around 80% "
        "(with 40 backtests, anything from about 65% to 90% is consistent with 80%).</p>"
    )
    return (
        table_html(frame, [c for c in cols if c[0] in frame.columns], table_id="designs-table")
        + note
    )


def render(data: DashboardData) -> str:
    res = data.geo_results
    parts = []
    if res.is_empty():
        parts.append(
            section("Geo test results", empty_note("No geo tests in the experiments feed."))
        )
    else:
        parts.append(
            section(
                "Geo test results",
                '<p class="note">New patients caused = treated markets minus their '
                "counterfactual (built from control markets) during the test; positive when the "
                "channel works. PAC = spend difference / new patients caused during the test: it "
                "excludes carry-over (patients the changed spend still moves after the test "
                "ends), so it reads higher than the MMM's PAC; each test below also gives its PAC "
                "with up to 8 weeks of carry-over, the one comparable with the MMM's.</p>"
                + results_table(res),
                "results",
            )
        )
        msgs = (
            {r["test_id"]: r for r in data.geo_messages.iter_rows(named=True)}
            if not data.geo_messages.is_empty()
            else {}
        )
        for r in res.iter_rows(named=True):
            tid = r["test_id"]
            body = ""
            m = msgs.get(tid)
            if m is not None and not (m["ok"] and m["message"] == "analysed"):
                cls = "ok" if m["ok"] else "warn"
                body += f'<p><span class="badge {cls}">{"ok" if m["ok"] else "check"}</span> {esc(m["message"])}</p>'
            if is_inconclusive(r):
                verdict = (
                    "<b>Inconclusive:</b> the 90% interval of new patients caused includes "
                    "zero, so this test cannot tell the channel's effect from none; its PAC has "
                    "no upper bound and is not used as a measurement."
                )
            else:
                verdict = (
                    "<b>Conclusive:</b> the 90% interval of new patients caused excludes zero."
                )
            body += (
                f'<p class="test-result" data-status="{"inconclusive" if is_inconclusive(r) else "conclusive"}">'
                f"{result_badge(r)} {verdict} {esc(label(r['channel']))}, {esc(r['design'])}, "
                f"{day(r['start_week'])} to {day(r['end_week'])}: "
                f"{count(r['incremental_new_patients'])} new patients caused "
                f"(90% interval {count(r['incremental_new_patients_lo'])} to "
                f"{count(r['incremental_new_patients_hi'])}), p = {num(r['p_value'], 2)}, "
                f"PAC {pac_text(r)}, excluding carry-over.</p>"
            )
            body += carryover_text(r)
            series = (
                data.geo_series.filter(pl.col("test_id") == tid)
                if not data.geo_series.is_empty()
                else data.geo_series
            )
            if not series.is_empty():
                body += test_figure(series, tid, f"{tid}: treated markets vs counterfactual")
                body += f'<p class="note">{esc(GAP_NOTE)}</p>'
            parts.append(section(f"Test {tid}", body, f"test-{tid}"))
    parts.append(ranking_section(data))
    parts.append(
        section(
            "Default designs per channel (8-week holdouts)",
            designs_table(data.geo_designs, data),
            "designs",
        )
    )
    return page("geo_tests.html", "Geo tests", data.ctx, "".join(parts))
