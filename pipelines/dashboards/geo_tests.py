"""Geo tests page (``geo_tests.html``): per test, treated markets vs their counterfactual with
its interval, the effect, p-value and PAC; then the designs proposed for new tests.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.page import (
    COLORS,
    count,
    day,
    empty_note,
    esc,
    figure_html,
    interval,
    num,
    page,
    pct,
    section,
    table_html,
    usd,
)


def results_table(res: pl.DataFrame) -> str:
    frame = res.with_columns(
        pl.struct(["incremental_new_patients_lo", "incremental_new_patients_hi"]).alias("inc_int"),
        pl.struct(["pac_lo", "pac_hi"]).alias("pac_int"),
    )
    return table_html(
        frame,
        [
            ("test_id", "test", esc),
            ("channel", "channel", esc),
            ("design", "design", esc),
            ("start_week", "from", day),
            ("end_week", "to", day),
            ("treatment_geos", "treated markets", count),
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
            ("p_value", "p-value", lambda v: num(v, 3)),
            ("incremental_spend", "spend difference", usd),
            ("pac", "PAC", usd),
            ("pac_int", "PAC 90%", lambda s: interval(s["pac_lo"], s["pac_hi"], usd)),
            ("method", "method", esc),
        ],
        table_id="geo-results-table",
        row_attr="test_id",
    )


def test_figure(series: pl.DataFrame, test_id: str, title: str) -> str:
    import plotly.graph_objects as go

    s = series.sort("week_start")
    weeks = s["week_start"].to_list()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=weeks + weeks[::-1],
                   y=s["counterfactual_hi"].to_list() + s["counterfactual_lo"].to_list()[::-1],
                   fill="toself", fillcolor=COLORS["band"], line={"width": 0},
                   name="counterfactual 90% interval", hoverinfo="skip")
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=weeks, y=s["counterfactual"].to_list(), mode="lines",
                   name="counterfactual", line={"color": COLORS["mmm"], "dash": "dash"})
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=weeks, y=s["treated"].to_list(), mode="lines+markers",
                   name="treated markets", line={"color": COLORS["geo"]}, marker={"size": 4})
    )  # fmt: skip
    inside = s.filter(pl.col("in_test"))
    if not inside.is_empty():
        fig.add_vrect(
            x0=inside["week_start"].min(), x1=inside["week_start"].max(), fillcolor="#fff4d6",
            opacity=0.6, line_width=0, layer="below", annotation_text="test", annotation_position="top left",
        )  # fmt: skip
    fig.update_layout(
        title=title, height=340, yaxis={"title": "new patients per week"},
        legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return figure_html(fig, f"fig-test-{test_id}")


def designs_table(designs: pl.DataFrame) -> str:
    if designs.is_empty():
        return empty_note("No designs proposed yet.")
    cols = [
        ("channel", "channel", esc),
        ("weeks", "weeks", count),
        ("treatment_geos", "treatment markets", esc),
        ("control_geos", "control markets", esc),
        ("mde_new_patients", "minimum detectable effect (new patients)", count),
        ("mde_pct", "MDE", lambda v: num(v, 1) + "%" if v is not None else "–"),
        ("power", "power", pct),
        ("expected_lost_new_patients", "expected new patients lost", count),
        ("expected_spend_saved", "spend saved", usd),
    ]
    frame = designs.with_columns(
        [
            pl.col(c).cast(pl.List(pl.Utf8)).list.join(", ")
            if isinstance(designs.schema[c], pl.List)
            else pl.col(c)
            for c in ("treatment_geos", "control_geos")
            if c in designs.columns
        ]
    )
    return table_html(frame, [c for c in cols if c[0] in frame.columns], table_id="designs-table")


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
                "channel works. PAC = spend difference / new patients caused.</p>"
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
            if m is not None:
                cls = "ok" if m["ok"] else "warn"
                body += f'<p><span class="badge {cls}">{"ok" if m["ok"] else "check"}</span> {esc(m["message"])}</p>'
            body += (
                f"<p>{esc(r['channel'])}, {esc(r['design'])}, {day(r['start_week'])} to "
                f"{day(r['end_week'])}: {count(r['incremental_new_patients'])} new patients caused "
                f"({count(r['incremental_new_patients_lo'])} to "
                f"{count(r['incremental_new_patients_hi'])}), p = {num(r['p_value'], 3)}, "
                f"PAC {usd(r['pac'])} ({interval(r['pac_lo'], r['pac_hi'], usd)}).</p>"
            )
            series = (
                data.geo_series.filter(pl.col("test_id") == tid)
                if not data.geo_series.is_empty()
                else data.geo_series
            )
            if not series.is_empty():
                body += test_figure(series, tid, f"{tid}: treated markets vs counterfactual")
            parts.append(section(f"Test {tid}", body, f"test-{tid}"))
    parts.append(section("Proposed designs", designs_table(data.geo_designs), "designs"))
    return page("geo_tests.html", "Geo tests", data.ctx, "".join(parts))
