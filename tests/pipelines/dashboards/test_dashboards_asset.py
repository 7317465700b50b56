"""The dashboards asset on a fake warehouse: pages written, linked in metadata, small cells out."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from dashboard_fakes import WINDOW

from pipelines.dashboards import read_dashboard_data
from pipelines.dashboards.page import PAGES
from pipelines.defs.dashboards.assets import dashboards
from pipelines.resources import ClearcountSettings


def test_asset_writes_every_page_and_links_them(fake_warehouse: Path, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("CLEARCOUNT_OUTPUT_DIR", str(out))
    monkeypatch.setenv("CLEARCOUNT_MIN_CELL", "11")
    result = dg.materialize(
        [dashboards],
        resources={
            "duckdb": DuckDBResource(database=str(fake_warehouse)),
            "settings": ClearcountSettings(),
        },
    )
    assert result.success
    meta = result.asset_materializations_for_node("dashboards")[0].metadata
    assert meta["index"].value == str(out / "dashboards" / "index.html")
    for name in PAGES:
        assert (out / "dashboards" / name).is_file()
    assert meta["geo_tests"].value.endswith("geo_tests.html")
    html = (out / "dashboards" / "index.html").read_text()
    assert f"{WINDOW[0]:%Y-%m-%d} to {WINDOW[1]:%Y-%m-%d}" in html


def test_small_cells_are_suppressed_when_read(fake_warehouse: Path):
    with duckdb.connect(str(fake_warehouse), read_only=True) as conn:
        data = read_dashboard_data(conn, min_cell=11)
    tv = data.pac.filter(data.pac["channel"] == "tv").row(0, named=True)
    assert tv["last_touch_new_patients"] in (None, 0) or tv["last_touch_new_patients"] >= 11
    assert tv["last_touch_pac"] is None  # derived from the suppressed count
    search = data.pac.filter(data.pac["channel"] == "paid_search").row(0, named=True)
    assert search["last_touch_new_patients"] == 900  # large counts are kept
    treated = data.geo_series["treated"].to_list()
    assert 6 not in treated and 6.0 not in treated
    assert sum(v is not None for v in treated) >= len(treated) - 2
    assert 4 not in data.fit_vs_actual["actual"].to_list()


def test_small_cell_never_reaches_the_html(fake_warehouse: Path):
    from pipelines.dashboards import render_pages

    with duckdb.connect(str(fake_warehouse), read_only=True) as conn:
        pages = render_pages(read_dashboard_data(conn, min_cell=11))
    geo = pages["geo_tests.html"]
    fig = re.search(r'"name":"treated markets".*?"y":\[(.*?)\]', geo)
    assert fig is not None
    values = [v.strip() for v in fig.group(1).split(",")]
    assert "6" not in values and "6.0" not in values
    row = re.search(r'<tr data-key="tv">(.*?)</tr>', pages["index.html"]).group(1)
    assert 'data-col="last_touch_new_patients">7<' not in row


def test_rebuild_after_a_failed_fit_shows_the_failure(tmp_path, monkeypatch):
    from dashboard_fakes import write_fake_warehouse

    from pipelines.dashboards import rebuild_from_warehouse
    from pipelines.settings import Settings

    db = tmp_path / "wh.duckdb"
    write_fake_warehouse(db, converged=False)
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(db))
    monkeypatch.setenv("CLEARCOUNT_OUTPUT_DIR", str(tmp_path / "out"))
    paths = rebuild_from_warehouse(Settings.from_env())
    assert "FAILED its gates" in paths["model.html"].read_text()
    assert "Latest model fit failed its gates" in paths["index.html"].read_text()


def test_failure_sensor_rebuilds_only_the_dashboards():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("dashboards_refresh")
    assert [k.to_user_string() for k in job.asset_layer.executable_asset_keys] == ["dashboards"]
    sensor = defs.resolve_sensor_def("dashboards_after_failed_refresh")
    assert sensor.job_name == "dashboards_refresh"
