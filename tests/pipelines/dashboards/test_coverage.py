"""The data page says what each feed measured: gaps are shown as gaps, filled controls counted,
and a short history is flagged (a real warehouse built from the small landing dir)."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.dashboards import data_privacy, model, read_dashboard_data
from pipelines.feeds import FEED_ORDER
from pipelines.ingest import load_feed
from pipelines.panel import build_panel_tables


def drop_rows(path: Path, *prefixes: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(prefixes)))


def test_data_page_shows_feed_coverage_gaps_and_filled_controls(warehouse, small_landing):
    drop_rows(small_landing / "calls" / "calls.csv", "2024-01-01,TX,", "2024-01-08,TX,")
    drop_rows(small_landing / "controls" / "controls.csv", "2024-01-15,CA,")
    for feed in FEED_ORDER:
        assert load_feed(warehouse, feed, small_landing).accepted
    build_panel_tables(warehouse)
    data = read_dashboard_data(warehouse, 11)
    calls = data.feed_coverage.filter(feed="calls").row(0, named=True)
    assert (calls["markets"], calls["markets_starting_late"]) == (3, 1)
    totals = data.weekly_totals.sort("week_start")["new_patients"].to_list()
    assert totals[:2] == [None, None] and all(t is not None for t in totals[2:])
    html = data_privacy.render(data)
    assert re.search(r'id="unmeasured">2</span> of 24 market-weeks', html)
    assert re.search(r'id="control-gaps">1</span>', html)
    assert 'id="coverage-table"' in html
    assert "Only 8 weeks of history" in html  # fewer than 78: trend vs seasonality caveat
    assert 'id="short-history"' in model.render(data)
