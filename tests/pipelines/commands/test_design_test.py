"""``clearcount design-test`` on a warehouse holding a small simulated world."""

from __future__ import annotations

import argparse
import io
import re
import time
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
        cols = ", ".join(frame.columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
        conn.unregister("_frame")
    conn.close()


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("design") / "warehouse.duckdb"
    write_panel(path, simulate_world(WorldConfig(seed=31, n_geos=10, n_weeks=90)).panel)
    return path


def args(channel: str | None, weeks: int | None, treated: int | None = None, next_=False):
    return argparse.Namespace(channel=channel, weeks=weeks, treated=treated, next=next_)


def label_markets(path: Path, labels: dict[str, str]) -> None:
    """Give some markets a label in staging.markets (the markets feed's display names)."""
    conn = connect(path)
    conn.execute("DELETE FROM staging.markets")
    geos = [r[0] for r in conn.execute("SELECT DISTINCT geo FROM core.weekly_panel").fetchall()]
    for g in geos:
        conn.execute(
            "INSERT INTO staging.markets (geo, geo_type, population, label, _file, _sha256) "
            "VALUES (?, 'custom', 100000, ?, 'markets.csv', '0')",
            [g, labels.get(g)],
        )
    conn.close()


def test_design_test_prints_markets_mde_and_cost(
    warehouse_file, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(warehouse_file))
    out = io.StringIO()
    assert run(args("search", 6, 3), out=out) == 0
    text = out.getvalue()
    assert "treatment markets (3)" in text and "control markets (7)" in text
    assert "minimum detectable effect" in text and "held-out backtests" in text
    # the power check is printed with its interval, so it does not contradict the 80% MDE
    assert re.search(r"detected in \d+% \(90% interval \d+% to \d+%", text)
    assert "expected spend saved by the holdout: $" in text
    assert "expected lost new patients: unknown" in text  # no last touch, no MMM: no PAC


def test_design_test_bad_usage_and_missing_warehouse(
    warehouse_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(warehouse_file))
    started = time.perf_counter()
    assert run(args("radio", 6)) == 2
    assert time.perf_counter() - started < 2.0, "an unknown channel is refused at once"
    err = capsys.readouterr().err
    assert "unknown channel 'radio'" in err and "search" in err
    assert run(args(None, None)) == 2 and "--next" in capsys.readouterr().err
    assert run(args("search", 6, 40)) == 2
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(tmp_path / "none.duckdb"))
    assert run(args("search", 6)) == 1
    assert "clearcount refresh" in capsys.readouterr().err


def test_small_counts_are_not_printed() -> None:
    assert count_text(4.2, 11) == "<11"
    assert count_text(0.2, 11) == "0"
    assert count_text(1234.4, 11) == "1,234"
    assert count_text(float("nan"), 11) == "unknown"


def test_channel_in_any_case_and_markets_by_label(
    warehouse_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    path = tmp_path / "labelled.duckdb"
    shutil.copy(warehouse_file, path)
    conn = connect(path, read_only=True)
    geos = sorted(
        r[0] for r in conn.execute("SELECT DISTINCT geo FROM core.weekly_panel").fetchall()
    )
    conn.close()
    label_markets(path, {g: f"Area {i}" for i, g in enumerate(geos)})
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(path))
    out = io.StringIO()
    assert run(args("Search", 6, 3), out=out) == 0
    text = out.getvalue()
    assert "test of 'search'" in text
    assert re.search(r"treatment markets \(3\): Area \d+ \(\w+\), Area \d+", text)


def test_next_prints_the_ranking_of_the_last_refresh(
    warehouse_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from datetime import datetime

    from pipelines.defs.experiment_design.next_experiments import write_next_experiments

    path = tmp_path / "next.duckdb"
    shutil.copy(warehouse_file, path)
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(path))
    out = io.StringIO()
    assert run(args(None, None, next_=True), out=out) == 1  # no refresh has ranked them yet
    assert "no proposal yet" in out.getvalue()
    frame = pl.DataFrame(
        {
            "rank": [1], "channel": ["search"], "design": ["holdout"], "weeks": [8],
            "treatment_geos": [["g1", "g2"]], "control_geos": [["g3", "g4", "g5"]],
            "spend_change": [-88_000.0], "mde_new_patients": [264.0], "expected_lift": [534.0],
            "detection_probability": [1.0], "spend": [2.4e6], "pac": [155.0],
            "pac_lo": [121.0], "pac_hi": [205.0], "expected_pac_lo": [129.0],
            "expected_pac_hi": [201.0], "width_reduction": [0.14], "value_usd": [192_000.0],
            "effective_draws": [150.0],
        },
        schema_overrides={"rank": pl.Int32, "weeks": pl.Int32},
    )  # fmt: skip
    conn = connect(path)
    write_next_experiments(conn, frame, datetime(2026, 11, 30, 6))
    conn.close()
    out = io.StringIO()
    assert run(args(None, None, next_=True), out=out) == 0
    text = out.getvalue()
    assert "1. search: 8-week holdout (spend off), spend change -$88,000" in text
    assert "now $121 - $205; expected after the test $129 - $201 (14% narrower)" in text
