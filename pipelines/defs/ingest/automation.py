"""The weekly refresh job, its Monday schedule and the landing-files sensor."""

import hashlib
import os
from pathlib import Path

import dagster as dg

from pipelines.feeds import FEED_ORDER
from pipelines.ingest import LANDING_SUFFIXES
from pipelines.settings import Settings

DEFAULT_TIMEZONE = "America/New_York"

weekly_refresh = dg.define_asset_job(
    name="weekly_refresh",
    selection=dg.AssetSelection.all(),
    description=(
        "Scan and load the landing feeds, rebuild the weekly panel, then every downstream "
        "model, mart and dashboard."
    ),
    # One process for the whole run: the steps run one after another anyway (they share the
    # single-writer warehouse through the "warehouse" pool), and a process per step costs
    # seconds of start-up and re-import each. `clearcount refresh` runs the same way.
    executor_def=dg.in_process_executor,
)


def refresh_timezone() -> str:
    """IANA timezone of the weekly schedule (``CLEARCOUNT_TIMEZONE``)."""
    return os.environ.get("CLEARCOUNT_TIMEZONE", "").strip() or DEFAULT_TIMEZONE


weekly_refresh_schedule = dg.ScheduleDefinition(
    name="weekly_refresh_schedule",
    job=weekly_refresh,
    cron_schedule="0 6 * * 1",
    execution_timezone=refresh_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays at 06:00 in CLEARCOUNT_TIMEZONE (default America/New_York).",
)


def landing_fingerprint(landing_dir: Path) -> str:
    """Hash of the names, sizes and modification times of every landing file of every feed.

    Changes whenever a landing file is added, removed, replaced or touched; reads no contents.
    """
    digest = hashlib.sha256()
    for feed in FEED_ORDER:
        folder = Path(landing_dir) / feed
        if not folder.is_dir():
            digest.update(f"{feed}:absent\n".encode())
            continue
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            if not path.is_file() or path.suffix.lower() not in LANDING_SUFFIXES:
                continue
            stat = path.stat()
            digest.update(f"{feed}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dg.sensor(
    name="landing_files_sensor",
    job=weekly_refresh,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Starts weekly_refresh when a landing file is new or changed (names, sizes and "
        "modification times under CLEARCOUNT_LANDING_DIR). Turn it on in the UI."
    ),
)
def landing_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    fingerprint = landing_fingerprint(Settings.from_env().landing_dir)
    if fingerprint == context.cursor:
        return dg.SensorResult(skip_reason="no landing file is new or changed")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint)],
        cursor=fingerprint,
    )
