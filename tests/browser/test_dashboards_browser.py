"""The dashboards as leadership sees them: opened from disk in headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.dashboards import read_dashboard_data, render_pages, write_pages
from pipelines.dashboards.page import PAGES, count, label, usd

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOCAL = ("file://", "data:", "blob:", "about:")


class Watch:
    """Console errors, page errors and every request that leaves ``file://``."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.remote: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(LOCAL) else self.remote.append(r.url))


def open_page(browser, path: Path):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, watch


def screenshots(env: dict[str, str]) -> Path:
    """Where the tests save what each page looks like at 1440 px (first screen and full)."""
    shots = Path(env["CLEARCOUNT_OUTPUT_DIR"]) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def dashboards_dir(env: dict[str, str]) -> Path:
    return Path(env["CLEARCOUNT_OUTPUT_DIR"]) / "dashboards"


def charts_rendered(page) -> list[int]:
    """Per Plotly chart on the page: how many SVG elements its main SVG holds."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".every(d => d.querySelector('svg.main-svg'))"
    )
    return page.eval_on_selector_all(
        ".js-plotly-plot",
        "els => els.map(e => e.querySelectorAll('svg.main-svg *').length)",
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_offline_and_renders(browser, refreshed, name):
    out = dashboards_dir(refreshed)
    context, page, watch = open_page(browser, out / name)
    try:
        sizes = charts_rendered(page)
        if name != "data_privacy.html":
            assert sizes, f"{name} has no chart"
        assert all(s > 20 for s in sizes), f"{name}: an empty chart {sizes}"
        assert page.locator("#refreshed-at").inner_text() != "unknown"
        assert " to " in page.locator("#window").inner_text()
        shots = screenshots(refreshed)
        page.screenshot(path=str(shots / f"{name.removesuffix('.html')}.png"), full_page=True)
        page.screenshot(path=str(shots / f"{name.removesuffix('.html')}_first_screen.png"))
        assert watch.errors == [], f"{name}: console errors {watch.errors[:3]}"
        assert watch.remote == [], f"{name}: requests left file:// {watch.remote[:3]}"
    finally:
        context.close()


def test_numbers_for_a_channel_equal_the_warehouse(browser, refreshed):
    with duckdb.connect(refreshed["CLEARCOUNT_WAREHOUSE"], read_only=True) as conn:
        row = conn.execute(
            "SELECT channel, spend, pac, pac_lo, pac_hi, incremental_new_patients, marginal_pac "
            "FROM marts.pac_by_channel ORDER BY spend DESC LIMIT 1"
        ).fetchall()[0]
        plan = conn.execute(
            "SELECT recommended_spend FROM marts.budget_plan WHERE channel = ?", [row[0]]
        ).fetchall()[0]
    channel, spend, pac, pac_lo, pac_hi, inc, marginal = row
    context, page, _ = open_page(browser, dashboards_dir(refreshed) / "index.html")
    try:
        cells = page.locator(f'#pac-table tr[data-key="{channel}"]')

        def cell(col: str) -> str:
            return cells.locator(f'td[data-col="{col}"]').inner_text().strip()

        assert cell("spend") == usd(spend)
        assert cell("pac") == usd(pac)
        assert cell("pac_int") == f"{usd(pac_lo)} – {usd(pac_hi)}"
        assert cell("incremental_new_patients") == count(inc)
        assert cell("marginal_pac") == usd(marginal)
        budget_cell = page.locator(
            f'#budget-table tr[data-key="{channel}"] td[data-col="recommended_spend"]'
        )
        assert budget_cell.inner_text().strip() == usd(plan[0])
        # the chart plots the same PAC, in the channel's own trace
        xs = page.evaluate(
            f"() => document.getElementById('fig-pac').data.find(t => t.meta === '{channel}').x"
        )
        assert xs == [pytest.approx(pac)]
    finally:
        context.close()


def test_links_from_index_reach_every_page(browser, refreshed):
    context, page, watch = open_page(browser, dashboards_dir(refreshed) / "index.html")
    try:
        for name, label in PAGES.items():
            if name == "index.html":
                continue
            page.locator("#page-links").get_by_role("link", name=label).click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/" + name)
            assert page.locator("header h1").inner_text()
            page.go_back()
            page.wait_for_load_state("load")
            assert page.url.endswith("/index.html")
        assert watch.remote == []
    finally:
        context.close()


def test_a_planted_small_cell_is_not_shown(browser, refreshed, tmp_path):
    """A treated-market week of 7 new patients and a last-touch count of 7 must not appear."""
    planted = tmp_path / "planted.duckdb"
    shutil.copy(refreshed["CLEARCOUNT_WAREHOUSE"], planted)
    with duckdb.connect(str(planted)) as conn:
        test_id, week = conn.execute(
            "SELECT test_id, min(week_start) FROM geo.test_series GROUP BY 1 ORDER BY 1 LIMIT 1"
        ).fetchall()[0]
        conn.execute(
            "UPDATE geo.test_series SET treated = 7 WHERE test_id = ? AND week_start = ?",
            [test_id, week],
        )
        channel = conn.execute(
            "SELECT channel FROM marts.pac_by_channel ORDER BY channel LIMIT 1"
        ).fetchall()[0][0]
        conn.execute(
            "UPDATE marts.pac_by_channel SET last_touch_new_patients = 7, "
            "last_touch_pac = spend / 7 WHERE channel = ?",
            [channel],
        )
        data = read_dashboard_data(conn, min_cell=11)
    out = write_pages(render_pages(data), tmp_path / "dashboards")
    context, page, _ = open_page(browser, out["geo_tests.html"])
    try:
        charts_rendered(page)
        treated = page.evaluate(
            f"() => document.getElementById('fig-test-{test_id}').data"
            ".find(t => t.name === 'treated markets').y"
        )
        assert 7 not in treated and 7.0 not in treated
        assert sum(v is not None for v in treated) > 10  # other weeks are still shown
    finally:
        context.close()
    context, page, _ = open_page(browser, out["index.html"])
    try:
        row = page.locator(f'#pac-table tr[data-key="{channel}"]')
        shown = row.locator('td[data-col="last_touch_new_patients"]').inner_text().strip()
        assert shown != "7"
        assert row.locator('td[data-col="last_touch_pac"]').inner_text().strip() == "–"
        trace = page.evaluate(
            "() => document.getElementById('fig-pac').data"
            ".find(t => t.name === 'last-touch credit')"
        )
        assert trace["x"][trace["y"].index(label(channel))] is None
    finally:
        context.close()


def test_first_screen_holds_the_ranked_pac_chart_and_the_recommendation(browser, refreshed):
    context, page, _ = open_page(browser, dashboards_dir(refreshed) / "index.html")
    try:
        charts_rendered(page)
        for selector in ("#fig-pac", "#recommendation", "#plan-gain", "#plan-constraints"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, selector
        with duckdb.connect(refreshed["CLEARCOUNT_WAREHOUSE"], read_only=True) as conn:
            order = [
                r[0]
                for r in conn.execute(
                    "SELECT channel FROM marts.pac_by_channel WHERE pac IS NOT NULL ORDER BY pac"
                ).fetchall()
            ]
        # ranked: cheapest channel at the top of the chart
        shown = page.evaluate("() => document.getElementById('fig-pac').layout.yaxis.categoryarray")
        assert shown[::-1][: len(order)] == [label(c) for c in order]
        text = page.locator("#recommendation").inner_text()
        assert "new patients" in text and "posterior draws" in text
    finally:
        context.close()


def test_an_inconclusive_test_renders_as_inconclusive(browser, refreshed, tmp_path):
    """Each test shows the status of the mart; a test planted as inconclusive (its effect
    interval made to include zero) reads as inconclusive on the summary and the geo page."""
    planted = tmp_path / "planted.duckdb"
    shutil.copy(refreshed["CLEARCOUNT_WAREHOUSE"], planted)
    with duckdb.connect(str(planted)) as conn:
        test_id, channel = conn.execute(
            "SELECT test_id, channel FROM marts.geo_test_results ORDER BY test_id LIMIT 1"
        ).fetchall()[0]
        conn.execute(
            "UPDATE marts.geo_test_results SET incremental_new_patients_lo = -50, "
            "pac_hi = NULL, status = 'inconclusive' WHERE test_id = ?",
            [test_id],
        )
        conn.execute(
            "UPDATE marts.pac_by_channel SET geo_test_pac_hi = NULL, "
            "geo_test_status = 'inconclusive' WHERE channel = ?",
            [channel],
        )
        tests = dict(conn.execute("SELECT test_id, status FROM marts.geo_test_results").fetchall())
        open_channels = [
            r[0]
            for r in conn.execute(
                "SELECT channel FROM marts.pac_by_channel WHERE geo_test_status = 'inconclusive'"
            ).fetchall()
        ]
        data = read_dashboard_data(conn, min_cell=11)
    out = write_pages(render_pages(data), tmp_path / "dashboards")
    assert channel in open_channels
    context, page, _ = open_page(browser, out["geo_tests.html"])
    try:
        for tid, status in tests.items():
            shown = page.locator(f"#test-{tid} .test-result").get_attribute("data-status")
            assert shown == status, tid
            row = page.locator(f'#geo-results-table tr[data-key="{tid}"]').inner_text()
            assert status in row
            if status == "inconclusive":
                assert "not measured" in row
        page.locator(f"#test-{test_id}").screenshot(
            path=str(screenshots(refreshed) / "inconclusive_test.png")
        )
    finally:
        context.close()
    context, page, _ = open_page(browser, out["index.html"])
    try:
        charts_rendered(page)
        for ch in open_channels:
            row = page.locator(f'#pac-table tr[data-key="{ch}"]').inner_text()
            assert "inconclusive" in row and "or more (open)" in row
            head = page.locator(f'#headlines li[data-key="{ch}"]').inner_text()
            assert "inconclusive" in head and "measured" not in head
        names = page.evaluate("() => document.getElementById('fig-pac').data.map(t => t.name)")
        assert "geo test inconclusive (no upper bound)" in names
        page.locator("#answer").screenshot(
            path=str(screenshots(refreshed) / "inconclusive_summary.png")
        )
    finally:
        context.close()


COLOUR_OF = {
    "index.html": {
        "fig-pac": "t => [[t.meta, t.marker.color]]",
        "fig-budget": "t => t.type === 'bar' ? t.x.map((x, i) => [x, t.marker.color[i]]) : []",
        "fig-shares": "t => t.x.map((x, i) => [x, t.marker.color[i]])",
        "fig-media-baseline": "t => [[t.meta, t.line.color]]",
    },
    "model.html": {
        "fig-response": "t => t.meta ? [[t.meta, t.line.color]] : []",
        "fig-contributions": "t => [[t.meta, t.line.color]]",
    },
}
"""Page -> chart -> JS mapping a trace to [channel (slug or label), colour] pairs."""


def test_a_channel_has_one_colour_on_every_chart_of_every_page(browser, refreshed):
    with duckdb.connect(refreshed["CLEARCOUNT_WAREHOUSE"], read_only=True) as conn:
        rows = conn.execute("SELECT channel FROM marts.pac_by_channel").fetchall()
    channels = [r[0] for r in rows]
    by_label = {label(c): c for c in channels}
    seen: dict[str, set[str]] = {c: set() for c in channels}
    charts = 0
    for name, figures in COLOUR_OF.items():
        context, page, _ = open_page(browser, dashboards_dir(refreshed) / name)
        try:
            charts_rendered(page)
            for fig, mapper in figures.items():
                pairs = page.evaluate(
                    f"() => document.getElementById('{fig}').data.flatMap({mapper})"
                )
                found = [(by_label.get(k, k), v) for k, v in pairs if by_label.get(k, k) in seen]
                assert {c for c, _ in found} == set(channels), (name, fig)
                for c, colour in found:
                    seen[c].add(colour.lower())
                charts += 1
        finally:
            context.close()
    assert charts == 6
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert len({next(iter(v)) for v in seen.values()}) == len(channels), "colours are distinct"


def test_the_next_experiment_appears(browser, refreshed):
    with duckdb.connect(refreshed["CLEARCOUNT_WAREHOUSE"], read_only=True) as conn:
        top = conn.execute(
            "SELECT channel, weeks, design, expected_pac_lo, expected_pac_hi "
            "FROM marts.next_experiments ORDER BY rank LIMIT 1"
        ).fetchall()[0]
        n = conn.execute("SELECT count(*) FROM marts.next_experiments").fetchall()[0][0]
    channel, weeks, design, lo, hi = top
    context, page, _ = open_page(browser, dashboards_dir(refreshed) / "index.html")
    try:
        heading = page.locator("#next h2").inner_text()
        assert heading == f"Run this next: a geo test of {label(channel)}"
        proposal = page.locator("#next-proposal").inner_text()
        assert f"{weeks}-week" in proposal and f"{usd(lo)} – {usd(hi)}" in proposal
        assert ("holdout" if design == "holdout" else "scale-up") in proposal
        # market labels from the markets feed, not bare codes
        assert "Service area" in proposal
        page.locator("#next").screenshot(path=str(screenshots(refreshed) / "run_this_next.png"))
    finally:
        context.close()
    context, page, _ = open_page(browser, dashboards_dir(refreshed) / "geo_tests.html")
    try:
        assert page.locator("#next-experiments-table tbody tr").count() == n
    finally:
        context.close()
