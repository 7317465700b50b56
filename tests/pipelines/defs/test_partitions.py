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
