"""Ingest domain: feed assets with their guard and GX checks, the weekly panel, the refresh job."""

import dagster as dg

from pipelines.defs.ingest.assets import feed_assets, weekly_panel
from pipelines.defs.ingest.automation import (
    landing_files_sensor,
    weekly_refresh,
    weekly_refresh_schedule,
)
from pipelines.defs.ingest.gx_checks import build_gx_checks

defs = dg.Definitions(
    assets=[*feed_assets, weekly_panel],
    asset_checks=build_gx_checks(),
    jobs=[weekly_refresh],
    schedules=[weekly_refresh_schedule],
    sensors=[landing_files_sensor],
)
