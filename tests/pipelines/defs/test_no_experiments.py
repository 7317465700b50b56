"""A health system that never ran a geo test: no ``experiments`` folder, or an empty one.

The refresh must still publish the MMM, PAC, budget plan and dashboards, uncalibrated and saying
so. These tests run every step but the MMM on the small landing dir; the whole refresh of a
world with no experiments folder, MMM and dashboards included, is the ``south`` brand of
``test_partitions.py::test_two_partitions_refresh_end_to_end_in_parallel`` (one fit, not two).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.definitions import defs

BEFORE_MMM = [
    "markets",
    "spend",
    "calls",
    "bookings",
    "experiments",
    "controls",
    "weekly_panel",
    "geo_test_results",
]


def run_before_mmm(warehouse_path: Path) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in BEFORE_MMM}
    )
    return job.execute_in_process(
        raise_on_error=False,
        resources={"duckdb": DuckDBResource(database=str(warehouse_path))},
        instance=dg.DagsterInstance.ephemeral(),
    )


def staged_state(warehouse_path: Path) -> tuple:
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return (
            conn.execute("SELECT count(*) FROM staging.experiments").fetchall(),
            conn.execute("SELECT count(*) FROM marts.geo_test_results").fetchall(),
            conn.execute("SELECT count(*) FROM core.weekly_panel").fetchall(),
        )
    finally:
        conn.close()


@pytest.mark.parametrize("absent", [True, False], ids=["no_folder", "empty_folder"])
def test_missing_and_empty_experiments_behave_the_same(
    clearcount_env, small_landing, warehouse_path, absent
):
    folder = small_landing / "experiments"
    shutil.rmtree(folder)
    if not absent:
        folder.mkdir()
    result = run_before_mmm(warehouse_path)
    assert result.success
    meta = result.asset_materializations_for_node("experiments")[0].metadata
    assert meta["folder_present"].value is (not absent)
    assert meta["dagster/row_count"].value == 0
    assert staged_state(warehouse_path) == ([(0,)], [(0,)], [(24,)])


def test_experiments_removed_later_empties_the_staged_tests(
    clearcount_env, small_landing, warehouse_path
):
    assert run_before_mmm(warehouse_path).success
    assert staged_state(warehouse_path)[0] == [(2,)]
    shutil.rmtree(small_landing / "experiments")
    assert run_before_mmm(warehouse_path).success
    assert staged_state(warehouse_path)[0] == [(0,)]
