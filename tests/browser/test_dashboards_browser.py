"""The dashboards as leadership sees them: opened from disk in headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.dashboards import read_dashboard_data, render_pages, write_pages
from pipelines.dashboards.page import PAGES, count, usd

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
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, watch


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
        shots = Path(refreshed["CLEARCOUNT_OUTPUT_DIR"]) / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{name.removesuffix('.html')}.png"), full_page=True)
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
        # the chart plots the same PAC
        xs = page.evaluate("() => document.getElementById('fig-pac').data[0].x")
        ys = page.evaluate("() => document.getElementById('fig-pac').data[0].y")
        assert xs[ys.index(channel)] == pytest.approx(pac)
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
        lt = page.evaluate(
            "() => document.getElementById('fig-pac').data.find(t => t.name === 'last touch').x"
        )
        ys = page.evaluate("() => document.getElementById('fig-pac').data[0].y")
        assert lt[ys.index(channel)] is None
    finally:
        context.close()
