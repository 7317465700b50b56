"""The code location's layout: loaded from the defs folder, groups in order, settings as a
resource fed by EnvVar, nothing written at import, the partitioned path beside the weekly one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg
import pytest

from pipelines.resources import ClearcountSettings, settings_resource
from pipelines.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[3]
GROUP_ORDER = ["ingest", "geo", "mmm", "marts", "experiment_design", "dashboards"]


def group_edges(defs: dg.Definitions) -> set[tuple[str, str]]:
    graph = defs.resolve_asset_graph()
    edges = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        for parent in node.parent_keys:
            upstream = graph.get(parent).group_name
            if upstream != node.group_name:
                edges.add((upstream, node.group_name))
    return edges


def test_groups_read_left_to_right():
    from pipelines.definitions import defs

    edges = group_edges(defs)
    rank = {g: i for i, g in enumerate(GROUP_ORDER)}
    assert {g for edge in edges for g in edge} == set(GROUP_ORDER)
    assert all(rank[a] < rank[b] for a, b in edges), sorted(edges)
    # every group feeds the next one: no dead end beside the dashboards
    assert all((a, b) in edges for a, b in zip(GROUP_ORDER, GROUP_ORDER[1:], strict=False))


def test_definitions_come_from_the_defs_folder_as_dg_configures_it():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert config["tool"]["dg"]["directory_type"] == "project"
    project = config["tool"]["dg"]["project"]
    assert project["root_module"] == "pipelines" and project["defs_module"] == "pipelines.defs"
    assert config["tool"]["dagster"]["module_name"] == project["code_location_target_module"]
    assert "load_from_defs_folder" in (REPO / "pipelines" / "definitions.py").read_text()
    from pipelines.definitions import defs

    assert {job.name for job in defs.resolve_all_job_defs()} >= {
        "weekly_refresh",
        "dashboards_refresh",
    }
    assert set(defs.resources) == {"duckdb", "settings"}


def run_python(code: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_loading_the_code_location_writes_nothing(tmp_path):
    env = {
        "CLEARCOUNT_WAREHOUSE": str(tmp_path / "wh" / "warehouse.duckdb"),
        "CLEARCOUNT_OUTPUT_DIR": str(tmp_path / "out"),
        "CLEARCOUNT_LANDING_DIR": str(tmp_path / "landing"),
    }
    run_python("import pipelines.definitions", tmp_path, env)
    assert list(tmp_path.iterdir()) == []


def test_settings_resource_uses_envvar_for_what_is_set(monkeypatch, tmp_path):
    for name in ("CLEARCOUNT_LANDING_DIR", "CLEARCOUNT_WINDOW_WEEKS", "CLEARCOUNT_MIN_CELL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLEARCOUNT_OUTPUT_DIR", str(tmp_path / "out"))
    resource = settings_resource()
    assert isinstance(resource.output_dir, dg.EnvVar)
    assert resource.landing_dir is None  # read when a run starts
    monkeypatch.setenv("CLEARCOUNT_WINDOW_WEEKS", "26")
    settings = resource.process_config_and_initialize().as_settings()  # as when a run starts
    assert settings.output_dir == tmp_path / "out"
    assert settings.landing_dir == Path("data/sample").absolute()
    assert (settings.window_weeks, settings.min_cell, settings.holiday_country) == (26, 11, "US")
    assert settings == Settings.from_env()


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("min_cell", "0", "CLEARCOUNT_MIN_CELL"),
        ("window_weeks", "many", "CLEARCOUNT_WINDOW_WEEKS"),
        ("partitions", "North,south", "CLEARCOUNT_PARTITIONS"),
    ],
)
def test_bad_settings_name_their_variable(field, value, variable):
    with pytest.raises(SettingsError, match=variable):
        ClearcountSettings(**{field: value}).as_settings()


def test_partition_settings_have_their_own_landing_warehouse_and_outputs(tmp_path):
    base = ClearcountSettings(
        landing_dir=str(tmp_path / "landing"),
        warehouse=str(tmp_path / "data" / "warehouse.duckdb"),
        output_dir=str(tmp_path / "out"),
        partitions="north,south",
    ).as_settings()
    north = base.for_partition("north")
    assert north.landing_dir == tmp_path / "landing" / "north"
    assert north.warehouse == tmp_path / "data" / "warehouse" / "north.duckdb"
    assert north.output_dir == tmp_path / "out" / "north"
    with pytest.raises(SettingsError, match="CLEARCOUNT_PARTITIONS"):
        base.for_partition("east")


PARTITIONED_LAYOUT = """
import json
import dagster as dg
from pipelines.definitions import defs

weekly = defs.resolve_job_def("weekly_refresh")
part = defs.resolve_job_def("partitioned_refresh")
graph = defs.resolve_asset_graph()
print(json.dumps({
    "weekly": sorted(k.to_user_string() for k in weekly.asset_layer.executable_asset_keys),
    "partitioned": sorted(k.to_user_string() for k in part.asset_layer.executable_asset_keys),
    "partitions": part.partitions_def.get_partition_keys(),
    "pools": sorted({str(graph.get(k).pools) for k in part.asset_layer.executable_asset_keys}),
}))
"""


def test_partitioned_path_sits_beside_the_unpartitioned_weekly_refresh(tmp_path):
    out = json.loads(
        run_python(PARTITIONED_LAYOUT, tmp_path, {"CLEARCOUNT_PARTITIONS": "north,south"})
    )
    assert out["partitions"] == ["north", "south"]
    assert not any(k.startswith("partitioned/") for k in out["weekly"])
    assert out["partitioned"] == sorted(f"partitioned/{k}" for k in out["weekly"])
    assert out["pools"] == ["set()"]  # one run per partition, limited by the run queue
