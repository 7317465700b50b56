"""Dashboards domain: one asset writing the four self-contained HTML pages.

Reads the warehouse (small cells suppressed by ``pipelines.small_cells``), renders with Plotly
and writes ``$CLEARCOUNT_OUTPUT_DIR/dashboards/*.html``. Its metadata links to every page.

When ``weekly_refresh`` fails (a rejected file, a model that did not converge), the steps after
the failure are skipped, so the pages would keep saying all is well. The run-failure sensor
``dashboards_after_failed_refresh`` then runs ``dashboards_refresh`` (this asset alone): the
marts keep the last good refresh, and the pages show the failed status and scans honestly.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.automation import weekly_refresh
from pipelines.settings import Settings

GROUP = "dashboards"
POOL = "warehouse"


@dg.asset(
    group_name=GROUP,
    pool=POOL,
    deps=[
        "pac_by_channel",
        "budget_plan",
        "next_experiments",
        "weekly_panel",
        "geo_test_results",
        "geo_test_designs",
    ],
    kinds={"plotly", "html"},
    description=(
        "Leadership summary (index.html), model page, geo tests page and data & privacy page: "
        "each one self-contained HTML file (plotly.js inlined, no network) under "
        "$CLEARCOUNT_OUTPUT_DIR/dashboards/. Every published count passes the small-cell filter."
    ),
)
def dashboards(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    from pipelines.dashboards import read_dashboard_data, render_pages, write_pages

    settings = Settings.from_env()
    with duckdb.get_connection() as conn:
        data = read_dashboard_data(conn, settings.min_cell)
    paths = write_pages(render_pages(data), settings.output_dir / "dashboards")
    context.log.info(f"dashboards written: {paths['index.html']}")
    metadata: dict[str, dg.MetadataValue] = {
        "index": dg.MetadataValue.path(str(paths["index.html"])),
        "index_url": dg.MetadataValue.url(paths["index.html"].as_uri()),
    }
    for name, path in paths.items():
        if name != "index.html":
            metadata[name.removesuffix(".html")] = dg.MetadataValue.path(str(path))
    metadata["refreshed_at"] = dg.MetadataValue.text(
        data.ctx.refreshed_at.isoformat() if data.ctx.refreshed_at else "unknown"
    )
    return dg.MaterializeResult(metadata=metadata)


dashboards_refresh = dg.define_asset_job(
    name="dashboards_refresh",
    selection=[dashboards],
    description="Rewrite the dashboards from the warehouse as it is (no refit).",
)


@dg.run_failure_sensor(
    name="dashboards_after_failed_refresh",
    monitored_jobs=[weekly_refresh],
    request_job=dashboards_refresh,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After a failed weekly_refresh, rewrite the dashboards so they show the failed model "
        "gate or rejected files next to the last published figures."
    ),
)
def dashboards_after_failed_refresh(context: dg.RunFailureSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=context.dagster_run.run_id)


defs = dg.Definitions(
    assets=[dashboards], jobs=[dashboards_refresh], sensors=[dashboards_after_failed_refresh]
)
