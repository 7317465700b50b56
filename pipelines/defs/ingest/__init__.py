"""Ingest domain: feed assets with their guard checks, the weekly panel, and the refresh job."""

import dagster as dg

from pipelines.defs.ingest.assets import feed_assets, weekly_panel
from pipelines.defs.ingest.automation import (
    landing_files_sensor,
    weekly_refresh,
    weekly_refresh_schedule,
)

defs = dg.Definitions(
    assets=[*feed_assets, weekly_panel],
    jobs=[weekly_refresh],
    schedules=[weekly_refresh_schedule],
    sensors=[landing_files_sensor],
)
