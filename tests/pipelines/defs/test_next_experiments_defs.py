"""The next_experiments asset: stored posterior response + proposed designs + panel ->
marts.next_experiments."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from models.mmm.response import ResponseModel
from models.mmm.transforms import GeometricAdstock, HillSaturation
from pipelines.defs.experiment_design.next_experiments import next_experiments
from pipelines.resources import ClearcountSettings
from pipelines.response_model import response_frame
from pipelines.warehouse import apply_schema, connect, replace_tables, sql_text
from simulator import WorldConfig, simulate_world


def write_world(path, panel) -> None:
    """core.weekly_panel / core.weekly_spend of ``panel`` and a default design per channel."""
    weeks = panel.weeks.astype("datetime64[D]")
    frames = {
        "core.weekly_panel": pl.DataFrame(
            {
                "week_start": np.tile(weeks, panel.n_geos),
                "geo": np.repeat(panel.geos, panel.n_weeks),
                "population": np.repeat(panel.population, panel.n_weeks).astype(np.int64),
                "new_patients": panel.new_patients.reshape(-1).astype(np.int64),
            }
        ),
        "core.weekly_spend": pl.DataFrame(
            {
                "week_start": np.tile(np.repeat(weeks, panel.n_channels), panel.n_geos),
                "geo": np.repeat(panel.geos, panel.n_weeks * panel.n_channels),
                "channel": np.tile(panel.channels, panel.n_geos * panel.n_weeks),
                "spend": panel.spend.reshape(-1),
            }
        ),
    }
    conn = connect(path)
    apply_schema(conn)
    for table, frame in frames.items():
        conn.register("_frame", frame.to_arrow())
        cols = ", ".join(frame.columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
        conn.unregister("_frame")
    conn.execute("CREATE SCHEMA IF NOT EXISTS geo")
    conn.execute(
        "CREATE TABLE geo.proposed_designs AS SELECT unnest(?) AS channel, 8 AS weeks, "
        "? AS treatment_geos, ? AS control_geos, 30.0 AS mde_new_patients",
        [list(panel.channels), list(panel.geos[:3]), list(panel.geos[3:])],
    )
    conn.close()


def response_of(panel, wide: int, n: int = 300) -> ResponseModel:
    """A posterior response over the last 52 weeks; channel ``wide`` is uncertain by 10x."""
    rng = np.random.default_rng(0)
    g, c, lag = panel.n_geos, panel.n_channels, 4
    x = panel.spend[:, -52:, :] / panel.population[:, None, None] / 0.01
    lagged = np.zeros((g, 52, c, lag))
    for lg in range(lag):
        lagged[:, lg:, :, lg] = x[:, : 52 - lg, :]
    sd = np.full(c, 0.05)
    sd[wide] = 0.5
    beta = 2e-4 * np.exp(sd * rng.standard_normal((n, c)))
    return ResponseModel(
        channels=panel.channels,
        window_spend=panel.spend[:, -52:, :].sum(axis=(0, 1)),
        max_weekly_spend=panel.spend.sum(axis=0).max(axis=0),
        pop=panel.population.astype(float),
        lagged_pre=np.zeros_like(lagged),
        lagged_win=lagged,
        adstock=GeometricAdstock(max_lag=lag),
        saturation=HillSaturation(),
        adstock_params={"decay": np.full((n, c), 0.3)},
        saturation_params={"half_saturation": np.ones((n, c)), "slope": np.ones((n, c))},
        beta=np.repeat(beta[:, None, :], g, axis=1),
    )


def test_asset_ranks_every_channel_and_the_uncertain_one_first(tmp_path):
    panel = simulate_world(WorldConfig(seed=31, n_geos=10, n_weeks=90)).panel
    db = tmp_path / "warehouse.duckdb"
    write_world(db, panel)
    wide = panel.channels.index("search")
    conn = connect(db)
    conn.execute(sql_text("mmm/schema.sql"))
    arrays = response_of(panel, wide).to_arrays()
    replace_tables(conn, {"mmm.response_model": response_frame(arrays)}, "the test response")
    conn.close()
    result = dg.materialize(
        [next_experiments],
        resources={
            "duckdb": DuckDBResource(database=str(db)),
            "settings": ClearcountSettings(output_dir=str(tmp_path / "out")),
        },
    )
    assert result.success
    mat = result.asset_materializations_for_node("next_experiments")[0]
    assert mat.metadata["dagster/row_count"].value == panel.n_channels
    assert mat.metadata["first"].value == "search"
    with duckdb.connect(str(db), read_only=True) as conn:
        frame = conn.sql("SELECT * FROM marts.next_experiments ORDER BY rank").pl()
    assert frame["rank"].to_list() == list(range(1, panel.n_channels + 1))
    top = frame.row(0, named=True)
    assert top["channel"] == "search" and top["treatment_geos"] == list(panel.geos[:3])
    assert top["expected_pac_hi"] - top["expected_pac_lo"] < top["pac_hi"] - top["pac_lo"]
    assert frame["refreshed_at"].null_count() == 0


def test_asset_fails_plainly_without_a_saved_posterior(tmp_path):
    panel = simulate_world(WorldConfig(seed=31, n_geos=10, n_weeks=90)).panel
    db = tmp_path / "warehouse.duckdb"
    write_world(db, panel)
    result = dg.materialize(
        [next_experiments],
        resources={
            "duckdb": DuckDBResource(database=str(db)),
            "settings": ClearcountSettings(output_dir=str(tmp_path / "out")),
        },
        raise_on_error=False,
    )
    assert not result.success
