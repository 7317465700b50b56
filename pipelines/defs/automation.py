"""Every job, schedule and sensor of clearcount, in one place.

- ``weekly_refresh``: every asset of the weekly (unpartitioned) graph, scheduled Mondays at
  06:00 by ``weekly_refresh_schedule`` and started by ``landing_files_sensor`` when a landing
  file changes (sensor off by default). ``clearcount refresh`` runs the same job.
- ``dashboards_refresh``: the dashboards alone, run by ``dashboards_after_failed_refresh`` after
  a failed ``weekly_refresh`` so the pages show the failure next to the last good figures.
- ``partitioned_refresh`` (only when ``CLEARCOUNT_PARTITIONS`` names partitions): the same graph
  for one brand or region, one run per partition (see ``pipelines.partitions``). It is a
  separate job because a job over all assets fails as soon as one of them is partitioned.
"""

import hashlib
import os
from pathlib import Path

import dagster as dg

from pipelines.feeds import FEED_ORDER
from pipelines.ingest import LANDING_SUFFIXES
from pipelines.partitions import PARTITIONED_PREFIX, families
from pipelines.resources import ClearcountSettings

DEFAULT_TIMEZONE = "America/New_York"

WEEKLY_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(PARTITIONED_PREFIX)

weekly_refresh = dg.define_asset_job(
    name="weekly_refresh",
    selection=WEEKLY_ASSETS,
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
def landing_files_sensor(
    context: dg.SensorEvaluationContext, settings: ClearcountSettings
) -> dg.SensorResult:
    fingerprint = landing_fingerprint(settings.as_settings().landing_dir)
    if fingerprint == context.cursor:
        return dg.SensorResult(skip_reason="no landing file is new or changed")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint)],
        cursor=fingerprint,
    )


dashboards_refresh = dg.define_asset_job(
    name="dashboards_refresh",
    selection=dg.AssetSelection.assets("dashboards"),
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


def partitioned_jobs() -> list:
    """``partitioned_refresh`` over the partitioned path, when partitions are configured."""
    partitioned = [f for f in families() if f.partitioned]
    if not partitioned:
        return []
    return [
        dg.define_asset_job(
            name="partitioned_refresh",
            selection=dg.AssetSelection.key_prefixes(PARTITIONED_PREFIX),
            partitions_def=partitioned[0].partitions_def,
            description=(
                "The whole graph for one partition (brand or region of CLEARCOUNT_PARTITIONS): "
                "its landing folder, its warehouse file, its dashboards. Launch one run per "
                "partition (a backfill); runs of different partitions may run in parallel."
            ),
            executor_def=dg.in_process_executor,
        )
    ]


defs = dg.Definitions(
    jobs=[weekly_refresh, dashboards_refresh, *partitioned_jobs()],
    schedules=[weekly_refresh_schedule],
    sensors=[landing_files_sensor, dashboards_after_failed_refresh],
)
