"""A health system that never ran a geo test: no ``experiments`` folder, or an empty one.

The refresh must still publish the MMM, PAC, budget plan and dashboards, uncalibrated and saying
so. The fast tests run every step but the MMM on the small landing dir; the slow one runs the
whole ``weekly_refresh`` on a small simulated world with no experiments folder.
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


@pytest.mark.slow
@pytest.mark.e2e
def test_refresh_without_experiments_publishes_uncalibrated(tmp_path, monkeypatch):
    from pipelines.resources import warehouse_resource
    from simulator import WorldConfig, simulate_world, write_world

    landing = tmp_path / "landing"
    write_world(simulate_world(WorldConfig(seed=7, n_geos=6, n_weeks=80)), landing)
    shutil.rmtree(landing / "experiments")
    for key, value in {
        "CLEARCOUNT_LANDING_DIR": str(landing),
        "CLEARCOUNT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "CLEARCOUNT_OUTPUT_DIR": str(tmp_path / "output"),
    }.items():
        monkeypatch.setenv(key, value)
    result = defs.resolve_job_def("weekly_refresh").execute_in_process(
        raise_on_error=False,
        resources={"duckdb": warehouse_resource()},
        instance=dg.DagsterInstance.ephemeral(),
        run_config={
            "ops": {
                "mmm_fit": {"config": {"draws": 400, "tune": 400, "chains": 2, "holdout_weeks": 0}}
            }
        },
    )
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, failed
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert conn.execute("SELECT calibrated FROM mmm.fit_status").fetchall() == [(False,)]
        pac = conn.execute(
            "SELECT count(*), count(pac), count(geo_test_pac) FROM marts.pac_by_channel"
        ).fetchall()
        assert pac == [(6, 6, 0)]
        assert conn.execute("SELECT count(*) FROM marts.budget_plan").fetchall() == [(6,)]
        assert conn.execute("SELECT count(*) FROM marts.geo_test_results").fetchall() == [(0,)]
    finally:
        conn.close()
    index = (tmp_path / "output" / "dashboards" / "index.html").read_text()
    assert "not calibrated" in index
