"""Two partitions (brands or regions) side by side: each run reads its own landing folder and
writes its own warehouse file; the weekly graph is untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.defs.geo.assets import geo_test_results_asset
from pipelines.defs.ingest import assets as ingest_assets
from pipelines.partitions import AssetFamily
from pipelines.resources import ClearcountSettings

FAMILY = AssetFamily(dg.StaticPartitionsDefinition(["north", "south"]))
SMALL = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "small"


@pytest.fixture
def two_brands(tmp_path: Path) -> ClearcountSettings:
    """``north``: the small landing dir; ``south``: the same without TX and without experiments."""
    landing = tmp_path / "landing"
    shutil.copytree(SMALL, landing / "north")
    shutil.copytree(SMALL, landing / "south")
    shutil.rmtree(landing / "south" / "experiments")
    for path in (landing / "south").rglob("*.csv"):
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(line for line in lines if ",TX," not in line and line[:3] != "TX,"))
    return ClearcountSettings(
        landing_dir=str(landing),
        warehouse=str(tmp_path / "data" / "warehouse.duckdb"),
        output_dir=str(tmp_path / "out"),
        partitions="north,south",
    )


def test_each_partition_loads_its_own_landing_into_its_own_warehouse(two_brands, tmp_path):
    assets = [*ingest_assets.build(FAMILY), geo_test_results_asset(FAMILY)]
    unused = DuckDBResource(database=str(tmp_path / "weekly.duckdb"))
    for key in ("north", "south"):
        result = dg.materialize(
            assets, partition_key=key, resources={"duckdb": unused, "settings": two_brands}
        )
        assert result.success, key
        keys = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
        assert "partitioned/weekly_panel" in keys
    counts = {}
    for key in ("north", "south"):
        path = tmp_path / "data" / "warehouse" / f"{key}.duckdb"
        with duckdb.connect(str(path), read_only=True) as conn:
            counts[key] = conn.execute(
                "SELECT (SELECT count(DISTINCT geo) FROM core.weekly_panel), "
                "(SELECT count(*) FROM staging.experiments)"
            ).fetchall()[0]
    assert counts == {"north": (3, 2), "south": (2, 0)}
    assert not (tmp_path / "weekly.duckdb").exists()  # the weekly warehouse is not touched


#: One partition's refresh. The fit keeps the default sampler settings (four chains of 1,000
#: draws after 1,000 tuning steps), without its holdout fit: with two chains of 400 draws the
#: uncalibrated brand missed the R-hat gate even after its retry on one machine (1.011), and
#: passed on another: the test rested on floating-point luck.
RUN_PARTITION = """
import sys
import dagster as dg
from pipelines.definitions import defs

result = defs.resolve_job_def("partitioned_refresh").execute_in_process(
    partition_key=sys.argv[1],
    raise_on_error=False,
    instance=dg.DagsterInstance.ephemeral(),
    run_config={"ops": {"partitioned__mmm_fit": {"config": {"holdout_weeks": 0}}}},
)
print("failed steps:", [e.step_key for e in result.all_events if e.is_step_failure])
sys.exit(0 if result.success else 1)
"""


@pytest.mark.slow
@pytest.mark.e2e
def test_two_partitions_refresh_end_to_end_in_parallel(tmp_path):
    """Two brands fitted at once, each from its landing folder into its warehouse file: one
    with geo tests (calibrated), one that never ran a test (no ``experiments`` folder:
    uncalibrated, and its dashboards say so); both publish PAC and a budget plan."""
    import os
    import subprocess
    import sys

    from simulator import WorldConfig, simulate_world, write_world

    landing = tmp_path / "landing"
    write_world(simulate_world(WorldConfig(seed=7, n_geos=6, n_weeks=80)), landing / "north")
    write_world(simulate_world(WorldConfig(seed=8, n_geos=6, n_weeks=80)), landing / "south")
    shutil.rmtree(landing / "south" / "experiments")
    env = {
        **os.environ,
        "CLEARCOUNT_PARTITIONS": "north,south",
        "CLEARCOUNT_LANDING_DIR": str(landing),
        "CLEARCOUNT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "CLEARCOUNT_OUTPUT_DIR": str(tmp_path / "out"),
    }
    runs = {
        key: subprocess.Popen(
            [sys.executable, "-c", RUN_PARTITION, key],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for key in ("north", "south")
    }
    for key, proc in runs.items():
        out, _ = proc.communicate(timeout=1800)
        assert proc.returncode == 0, (key, out[-500:])
    status = {}
    for key in ("north", "south"):
        with duckdb.connect(str(tmp_path / "warehouse" / f"{key}.duckdb"), read_only=True) as c:
            status[key] = c.execute(
                "SELECT (SELECT calibrated FROM mmm.fit_status), "
                "(SELECT count(pac) FROM marts.pac_by_channel), "
                "(SELECT count(geo_test_pac) FROM marts.pac_by_channel), "
                "(SELECT count(*) FROM marts.budget_plan), "
                "(SELECT count(*) FROM marts.geo_test_results)"
            ).fetchall()[0]
    # (calibrated, PAC rows, geo-test PAC rows, budget plan rows, geo-test results)
    assert status["north"][:2] == (True, 6) and status["north"][3] == 6
    assert status["south"] == (False, 6, 0, 6, 0)
    index = {k: (tmp_path / "out" / k / "dashboards" / "index.html").read_text() for k in runs}
    assert "not calibrated" in index["south"] and "not calibrated" not in index["north"]
    assert not (tmp_path / "warehouse.duckdb").exists()  # the weekly warehouse is not touched
