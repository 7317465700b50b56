"""The Dagster ingest domain: assets, blocking checks, metadata, job, schedule, sensor, instance."""

from __future__ import annotations

import importlib
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import yaml
from dagster_duckdb import DuckDBResource

from pipelines.defs import automation
from pipelines.defs.ingest import assets as ingest_assets
from pipelines.resources import ClearcountSettings

REPO = Path(__file__).resolve().parents[3]
SENTINEL = "9Q7Z"
FEEDS = ["markets", "spend", "calls", "bookings", "experiments", "controls"]


def materialize(warehouse_path: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ingest_assets.feed_assets, ingest_assets.weekly_panel],
        resources={
            "duckdb": DuckDBResource(database=str(warehouse_path)),
            "settings": ClearcountSettings(),
        },
        raise_on_error=False,
    )


def test_ingest_assets_materialize_with_metadata(clearcount_env, warehouse_path):
    result = materialize(warehouse_path)
    assert result.success
    spend = result.asset_materializations_for_node("spend")[0].metadata
    assert spend["dagster/row_count"].value == 48
    assert spend["accepted_files"].value == 2 and spend["rejected_files"].value == 0
    assert "spend_2024_02_restated.csv" in spend["files"].value
    columns = [c.name for c in spend["dagster/column_schema"].value.columns]
    assert columns == ["week_start", "geo", "channel", "spend", "impressions", "_file", "_sha256"]
    panel = result.asset_materializations_for_node("weekly_panel")[0].metadata
    assert panel["weeks"].value == 8 and panel["markets"].value == 3
    checks = {e.asset_key.path[-1]: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == dict.fromkeys(FEEDS, True)


def test_rejected_file_fails_blocking_check_and_stops_downstream(
    clearcount_env, small_landing, warehouse_path
):
    assert materialize(warehouse_path).success
    bad = small_landing / "spend" / "spend_2024_03.csv"
    bad.write_text(f"week_start,geo,channel,spend\n2024-01-08,CA,tv,{SENTINEL}\n")
    result = materialize(warehouse_path)
    assert not result.success
    (failed,) = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed.asset_key == dg.AssetKey("spend") and failed.check_name == "files_accepted"
    assert "spend_2024_03.csv" in failed.description
    assert "bad_type(spend)=1" in failed.description
    from pipelines.ingest import sha256_of

    assert sha256_of(bad) in failed.description
    materialized = {
        e.asset_key.path[-1]
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert "weekly_panel" not in materialized  # blocked by the failed check
    text = " ".join(repr(e) for e in result.all_events)
    assert SENTINEL not in text


def test_missing_feed_folder_fails_the_asset_with_its_name(
    clearcount_env, small_landing, warehouse_path
):
    shutil.rmtree(small_landing / "bookings")
    result = materialize(warehouse_path)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [f.step_key for f in failures] == ["bookings"]
    assert "feed 'bookings' is missing" in failures[0].step_failure_data.error.cause.message


def test_every_ingest_asset_writes_through_the_warehouse_pool():
    for asset in [*ingest_assets.feed_assets, ingest_assets.weekly_panel]:
        assert asset.op.pool == "warehouse", asset.key


def test_definitions_hold_job_schedule_sensor_and_resource():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("weekly_refresh")
    assert job.executor_def.name == "in_process"
    keys = {k.path[-1] for k in job.asset_layer.executable_asset_keys}
    assert set(FEEDS) | {"weekly_panel"} <= keys
    assert set(defs.resolve_all_asset_keys()) == job.asset_layer.executable_asset_keys
    schedule = defs.resolve_schedule_def("weekly_refresh_schedule")
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.job_name == "weekly_refresh"
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    assert sensor.job_name == "weekly_refresh"
    assert isinstance(defs.resources["duckdb"], DuckDBResource)
    assert isinstance(defs.resources["settings"], ClearcountSettings)


def test_schedule_timezone_from_setting(monkeypatch):
    monkeypatch.delenv("CLEARCOUNT_TIMEZONE", raising=False)
    assert importlib.reload(automation).weekly_refresh_schedule.execution_timezone == (
        "America/New_York"
    )
    monkeypatch.setenv("CLEARCOUNT_TIMEZONE", "Europe/Berlin")
    assert importlib.reload(automation).weekly_refresh_schedule.execution_timezone == (
        "Europe/Berlin"
    )
    monkeypatch.delenv("CLEARCOUNT_TIMEZONE")
    importlib.reload(automation)


def test_sensor_requests_a_run_when_a_landing_file_is_new_or_changed(clearcount_env, small_landing):
    settings = ClearcountSettings()

    def evaluate(instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
        return automation.landing_files_sensor(
            dg.build_sensor_context(instance=instance, cursor=cursor), settings=settings
        )

    with dg.instance_for_test() as instance:
        first = evaluate(instance)
        assert len(first.run_requests) == 1 and first.cursor
        same = evaluate(instance, first.cursor)
        assert not same.run_requests
        extra = small_landing / "calls" / "calls_2.csv"
        extra.write_text("week_start,geo,channel,calls,new_patient_calls\n")
        new = evaluate(instance, first.cursor)
        assert len(new.run_requests) == 1 and new.cursor != first.cursor
        later = time.time() + 10
        os.utime(extra, (later, later))
        touched = evaluate(instance, new.cursor)
        assert len(touched.run_requests) == 1 and touched.cursor != new.cursor
        (small_landing / "calls" / "README.md").write_text("ignored")
        ignored = evaluate(instance, touched.cursor)
        assert not ignored.run_requests


def test_dagster_yaml_instance_settings(tmp_path):
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["telemetry"]["enabled"] is False
    assert config["nux"]["enabled"] is False
    assert config["concurrency"]["pools"]["default_limit"] == 1
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.run_queue_config.max_concurrent_runs >= 1
        (limit,) = concurrency.run_queue_config.tag_concurrency_limits
        assert limit["key"] == "dagster/partition" and limit["limit"] == 1
        assert limit["value"] == {"applyLimitPerUniqueValue": True}


def test_code_location_has_exactly_one_definitions_object():
    """``dagster dev`` (pyproject's module_name) refuses a module with several Definitions."""
    from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module

    targets = loadable_targets_from_python_module("pipelines.definitions", None)
    assert [t.attribute for t in targets] == ["defs"]
