"""The geo assets on a warehouse holding a small simulated world plus broken tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.defs.experiment_design.assets import geo_test_designs
from pipelines.defs.geo.assets import defs as geo_defs
from pipelines.defs.geo.assets import geo_test_results
from pipelines.resources import ClearcountSettings
from pipelines.warehouse import apply_schema, connect
from simulator import WorldConfig, simulate_world

CONTRACT_COLUMNS = [
    "test_id", "channel", "design", "start_week", "end_week", "treatment_geos",
    "incremental_new_patients", "incremental_new_patients_lo", "incremental_new_patients_hi",
    "lift_pct", "p_value", "incremental_spend", "pac", "pac_lo", "pac_hi", "method", "status",
    "carryover_weeks", "incremental_new_patients_with_carryover",
    "incremental_new_patients_with_carryover_lo", "incremental_new_patients_with_carryover_hi",
    "pac_with_carryover", "pac_with_carryover_lo", "pac_with_carryover_hi",
]  # fmt: skip


def load_world(path: Path, world, extra_rows: list[dict] = ()) -> None:
    """Write the world's panel into core.* and its tests (plus ``extra_rows``) into staging."""
    p = world.panel
    weeks = p.weeks.astype("datetime64[D]")
    panel = pl.DataFrame(
        {
            "week_start": np.tile(weeks, p.n_geos),
            "geo": np.repeat(p.geos, p.n_weeks),
            "population": np.repeat(p.population, p.n_weeks).astype(np.int64),
            "new_patients": p.new_patients.reshape(-1).astype(np.int64),
        }
    )
    spend = pl.DataFrame(
        {
            "week_start": np.tile(np.repeat(weeks, p.n_channels), p.n_geos),
            "geo": np.repeat(p.geos, p.n_weeks * p.n_channels),
            "channel": np.tile(p.channels, p.n_geos * p.n_weeks),
            "spend": p.spend.reshape(-1),
        }
    )
    rows = [
        {"test_id": t.test_id, "channel": t.channel, "geo": g, "role": role,
         "start_week": t.start_week, "end_week": t.end_week, "design": t.design}
        for t in world.tests
        for role, gs in (("treatment", t.treatment_geos), ("control", t.control_geos))
        for g in gs
    ] + list(extra_rows)  # fmt: skip
    experiments = pl.DataFrame(rows).with_columns(
        pl.lit("experiments.csv").alias("_file"), pl.lit("0" * 64).alias("_sha256")
    )
    conn = connect(path)
    apply_schema(conn)
    for table, frame in (
        ("core.weekly_panel", panel),
        ("core.weekly_spend", spend),
        ("staging.experiments", experiments),
    ):
        conn.register("_frame", frame.to_arrow())
        cols = ", ".join(frame.columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
        conn.unregister("_frame")
    conn.close()


@pytest.fixture(scope="module")
def warehouse_with_tests(tmp_path_factory) -> tuple[Path, object]:
    world = simulate_world(WorldConfig(seed=21, n_geos=10, n_weeks=90))
    path = tmp_path_factory.mktemp("geo") / "warehouse.duckdb"
    first = world.panel.weeks[0].astype(object)
    extra = [
        # unknown market
        {"test_id": "bad_unknown", "channel": "tv", "geo": "999", "role": "treatment",
         "start_week": first + timedelta(weeks=40), "end_week": first + timedelta(weeks=43),
         "design": "holdout"},
        # too few weeks before the test
        {"test_id": "bad_short", "channel": "tv", "geo": world.panel.geos[0], "role": "treatment",
         "start_week": first + timedelta(weeks=2), "end_week": first + timedelta(weeks=5),
         "design": "holdout"},
    ]  # fmt: skip
    load_world(path, world, extra)
    result = dg.materialize(
        [geo_test_results, geo_test_designs],
        resources={"duckdb": DuckDBResource(database=str(path)), "settings": ClearcountSettings()},
    )
    assert result.success
    return path, result


def test_results_table_has_the_contract_columns_and_one_row_per_analysed_test(
    warehouse_with_tests,
) -> None:
    path, _ = warehouse_with_tests
    conn = connect(path, read_only=True)
    frame = conn.sql("SELECT * FROM marts.geo_test_results ORDER BY test_id").pl()
    assert frame.columns == CONTRACT_COLUMNS
    assert frame["test_id"].to_list() == ["search_holdout_1", "social_scale_up_1"]
    assert frame["start_week"].dtype == pl.Date
    assert (frame["incremental_new_patients_lo"] <= frame["incremental_new_patients_hi"]).all()
    assert (frame["incremental_spend"] > 0).all()
    # an open PAC interval is always labelled, never a bare NULL
    for r in frame.iter_rows(named=True):
        excludes_zero = r["incremental_new_patients_lo"] > 0 or r["incremental_new_patients_hi"] < 0
        assert r["status"] == ("conclusive" if excludes_zero else "inconclusive")
        if r["pac_hi"] is None:
            assert r["status"] == "inconclusive"
    messages = dict(conn.execute("SELECT test_id, message FROM geo.test_messages").fetchall())
    assert "unknown markets" in messages["bad_unknown"]
    assert "at least 8" in messages["bad_short"]
    series = conn.execute(
        "SELECT test_id, count(*), sum(in_test::INT) FROM geo.test_series GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [s[0] for s in series] == ["search_holdout_1", "social_scale_up_1"]
    assert series[0][2] == 8 and series[1][2] == 6
    cross = conn.execute("SELECT count(*) FROM geo.test_crosscheck").fetchall()[0][0]
    channels = [
        r[0] for r in conn.execute("SELECT DISTINCT channel FROM core.weekly_spend").fetchall()
    ]
    designs = conn.execute(
        "SELECT channel, len(treatment_geos), power FROM geo.proposed_designs ORDER BY 1"
    ).fetchall()
    conn.close()
    assert cross == 2
    assert [d[0] for d in designs] == sorted(channels)
    assert all(d[1] == 2 and 0 <= d[2] <= 1 for d in designs)


def test_metadata_names_failed_tests_without_values(warehouse_with_tests) -> None:
    _, result = warehouse_with_tests
    mats = result.asset_materializations_for_node("geo_test_results")
    meta = mats[0].metadata
    assert meta["tests_analysed"].value == 2
    assert meta["tests_failed"].value == 2
    text = meta["failed"].value
    assert "bad_unknown" in text and "bad_short" in text
    assert "999" not in text


def test_assets_are_in_the_geo_group_with_the_warehouse_pool() -> None:
    graph = dg.Definitions.merge(
        geo_defs,
        dg.Definitions(
            resources={
                "duckdb": DuckDBResource(database=":memory:"),
                "settings": ClearcountSettings(),
            }
        ),
    ).resolve_asset_graph()
    node = graph.get(dg.AssetKey("geo_test_results"))
    assert node.group_name == "geo"
    assert {k.to_user_string() for k in node.parent_keys} == {"weekly_panel", "experiments"}
    assert geo_test_results.op.pool == "warehouse"


def test_designs_run_late_in_their_own_group() -> None:
    from pipelines.definitions import defs

    node = defs.resolve_asset_graph().get(dg.AssetKey("geo_test_designs"))
    assert node.group_name == "experiment_design"
    assert "pac_by_channel" in {k.to_user_string() for k in node.parent_keys}
    assert geo_test_designs.op.pool == "warehouse"
