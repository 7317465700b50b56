"""``clearcount design-test`` on a warehouse holding a small simulated world."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.commands.design_test import count_text, run
from pipelines.warehouse import apply_schema, connect
from simulator import WorldConfig, simulate_world


def write_panel(path: Path, panel) -> None:
    """core.weekly_panel and core.weekly_spend of ``panel``."""
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
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
        conn.unregister("_frame")
    conn.close()


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("design") / "warehouse.duckdb"
    write_panel(path, simulate_world(WorldConfig(seed=31, n_geos=10, n_weeks=90)).panel)
    return path


def args(channel: str, weeks: int, treated: int | None = None) -> argparse.Namespace:
    return argparse.Namespace(channel=channel, weeks=weeks, treated=treated)


def test_design_test_prints_markets_mde_and_cost(
    warehouse_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(warehouse_file))
    out = io.StringIO()
    assert run(args("search", 6, 3), out=out) == 0
    text = out.getvalue()
    assert "treatment markets (3)" in text and "control markets (7)" in text
    assert "minimum detectable effect" in text and "held-out backtests" in text
    assert "expected spend saved by the holdout: $" in text
    assert "expected lost new patients: unknown" in text  # no last touch, no MMM: no PAC


def test_design_test_bad_usage_and_missing_warehouse(
    warehouse_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(warehouse_file))
    assert run(args("radio", 6)) == 2
    assert "unknown channel" in capsys.readouterr().err
    assert run(args("search", 6, 40)) == 2
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(tmp_path / "none.duckdb"))
    assert run(args("search", 6)) == 1
    assert "clearcount refresh" in capsys.readouterr().err


def test_small_counts_are_not_printed() -> None:
    assert count_text(4.2, 11) == "<11"
    assert count_text(0.2, 11) == "0"
    assert count_text(1234.4, 11) == "1,234"
    assert count_text(float("nan"), 11) == "unknown"
