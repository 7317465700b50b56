"""The ``dashboards`` asset: the self-contained HTML pages.

Reads the warehouse (small cells suppressed by ``pipelines.small_cells``), renders with Plotly
and writes ``$CLEARCOUNT_OUTPUT_DIR/dashboards/*.html``. Its metadata links to every page.

When ``weekly_refresh`` fails (a rejected file, a model that did not converge), the steps after
the failure are skipped, so the pages would keep saying all is well. The run-failure sensor
``dashboards_after_failed_refresh`` (``pipelines/defs/automation.py``) then runs
``dashboards_refresh`` (this asset alone): the marts keep the last good refresh, and the pages
show the failed status and scans honestly.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.partitions import WEEKLY, AssetFamily, families
from pipelines.resources import ClearcountSettings

GROUP = "dashboards"
UPSTREAM = (
    "weekly_panel",
    "geo_test_results",
    "mmm_fit",
    "pac_by_channel",
    "budget_plan",
    "geo_test_designs",
    "next_experiments",
)


def dashboards_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``dashboards`` asset of ``family``."""

    @dg.asset(
        name="dashboards",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key(k) for k in UPSTREAM],
        kinds={"plotly", "html"},
        description=(
            "Leadership summary (index.html), model page, geo tests page and data & privacy page: "
            "each one self-contained HTML file (plotly.js inlined, no network) under "
            "$CLEARCOUNT_OUTPUT_DIR/dashboards/. Every published count passes the small-cell filter."
        ),
    )
    def _dashboards(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        from pipelines.dashboards import read_dashboard_data, render_pages, write_pages

        run, warehouse = family.scope(context, settings.as_settings(), duckdb)
        with warehouse.get_connection() as conn:
            data = read_dashboard_data(conn, run.min_cell)
        paths = write_pages(render_pages(data), run.output_dir / "dashboards")
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

    return _dashboards


dashboards = dashboards_asset()

defs = dg.Definitions(
    assets=[dashboards, *(dashboards_asset(f) for f in families() if f.partitioned)]
)
