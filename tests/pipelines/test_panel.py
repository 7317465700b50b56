"""The weekly panel: KPI sums, week x market grid, paid channels, last touch, read_panel."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from pipelines.feeds import FEED_ORDER
from pipelines.ingest import load_feed
from pipelines.panel import (
    PanelError,
    build_panel_tables,
    control_gaps,
    read_experiments,
    read_panel,
)

REPO = Path(__file__).resolve().parents[2]


def load(conn, landing: Path) -> dict[str, int]:
    for feed in FEED_ORDER:
        assert load_feed(conn, feed, landing).accepted, feed
    return build_panel_tables(conn)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def expected_new_patients(landing: Path) -> dict[tuple[str, str], int]:
    total: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows(landing / "calls" / "calls.csv"):
        total[(r["week_start"], r["geo"])] += int(r["new_patient_calls"])
    for r in rows(landing / "bookings" / "bookings.csv"):
        total[(r["week_start"], r["geo"])] += int(r["new_patient_bookings"])
    return total


def test_panel_sums_new_patients_over_all_sources(warehouse, small_landing):
    stats = load(warehouse, small_landing)
    assert stats == {
        "weeks": 8,
        "geos": 3,
        "channels": 2,
        "sources": 4,
        "panel_rows": 24,
        "spend_rows": 48,
        "last_touch_rows": 96,
        "observed_cells": 24,
    }
    got = {
        (str(w), g): n
        for w, g, n in warehouse.execute(
            "SELECT week_start, geo, new_patients FROM core.weekly_panel"
        ).fetchall()
    }
    assert got == expected_new_patients(small_landing)
    lt = warehouse.execute("SELECT sum(new_patients) FROM core.last_touch").fetchall()[0][0]
    assert lt == sum(got.values())
    sources = {
        r[0] for r in warehouse.execute("SELECT DISTINCT source FROM core.last_touch").fetchall()
    }
    assert sources == {"paid_search", "organic", "tv", "direct"}


def test_missing_weeks_inside_range_count_zero(warehouse, small_landing):
    for feed, name in (("calls", "calls.csv"), ("bookings", "bookings.csv")):
        path = small_landing / feed / name
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(line for line in lines if not line.startswith("2024-01-15,NY,")))
    spend = small_landing / "spend" / "spend_2024_01.csv"
    lines = spend.read_text().splitlines(keepends=True)
    spend.write_text("".join(line for line in lines if not line.startswith("2024-01-22,TX,tv,")))
    load(warehouse, small_landing)
    assert warehouse.execute(
        "SELECT new_patients FROM core.weekly_panel WHERE week_start = '2024-01-15' AND geo = 'NY'"
    ).fetchall() == [(0,)]
    assert warehouse.execute(
        "SELECT spend FROM core.weekly_spend "
        "WHERE week_start = '2024-01-22' AND geo = 'TX' AND channel = 'tv'"
    ).fetchall() == [(0.0,)]
    assert warehouse.execute("SELECT count(*) FROM core.weekly_panel").fetchall() == [(24,)]


def drop_rows(path: Path, *prefixes: str) -> None:
    """Remove the data rows of a landing CSV that start with any of ``prefixes``."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(prefixes)))


def test_grid_is_the_union_of_feed_ranges_and_unmeasured_weeks_are_not_observed(
    warehouse, small_landing
):
    for name in ("spend_2024_01.csv", "spend_2024_02_restated.csv"):
        drop_rows(small_landing / "spend" / name, "2024-01-01,")
    stats = load(warehouse, small_landing)
    assert stats["weeks"] == 8
    first = warehouse.execute("SELECT min(week_start) FROM core.weekly_panel").fetchall()[0][0]
    assert first == date(2024, 1, 1)
    panel = read_panel(warehouse)
    # spend was not measured in the first week: no market is observed then, all others are
    assert not panel.observed[:, 0].any()
    assert panel.observed[:, 1:].all()
    assert (panel.spend[:, 0] == 0).all()


def test_bookings_that_start_late_keep_the_calls_history(warehouse, small_landing):
    late = ("2024-01-01,", "2024-01-08,", "2024-01-15,")
    drop_rows(small_landing / "bookings" / "bookings.csv", *late)
    stats = load(warehouse, small_landing)
    assert stats["weeks"] == 8 and stats["observed_cells"] == 3 * 5
    panel = read_panel(warehouse)
    assert not panel.observed[:, :3].any() and panel.observed[:, 3:].all()
    # a placeholder, not a count of calls alone
    assert (panel.new_patients[:, :3] == 0).all()
    expected = expected_new_patients(small_landing)
    for gi, geo in enumerate(panel.geos):
        for wi, week in enumerate(panel.weeks.astype(str)):
            if wi >= 3:
                assert panel.new_patients[gi, wi] == expected[(week, geo)]
    coverage = dict(
        warehouse.execute(
            "SELECT geo, first_week FROM core.feed_coverage WHERE feed = 'bookings'"
        ).fetchall()
    )
    assert coverage == {g: date(2024, 1, 22) for g in ("CA", "NY", "TX")}


def test_a_market_whose_call_tracking_started_late_is_a_gap_not_zeros(warehouse, small_landing):
    drop_rows(small_landing / "calls" / "calls.csv", "2024-01-01,TX,", "2024-01-08,TX,")
    load(warehouse, small_landing)
    panel = read_panel(warehouse)
    tx = panel.geos.index("TX")
    assert panel.observed[tx].tolist() == [False, False] + [True] * 6
    others = [g for g in range(panel.n_geos) if g != tx]
    assert panel.observed[others].all()
    national = panel.national()
    assert national.observed[0].tolist() == [False, False] + [True] * 6


def test_read_panel_shapes_orders_and_values(warehouse, small_landing):
    load(warehouse, small_landing)
    panel = read_panel(warehouse)
    assert panel.geos == ("CA", "NY", "TX")
    assert panel.channels == ("paid_search", "tv")
    assert panel.weeks.dtype == np.dtype("datetime64[D]")
    assert np.all(np.diff(panel.weeks).astype(int) == 7)
    assert panel.spend.shape == (3, 8, 2) and panel.new_patients.shape == (3, 8)
    np.testing.assert_array_equal(panel.population, [39000000, 19500000, 30000000])
    expected = expected_new_patients(small_landing)
    for gi, geo in enumerate(panel.geos):
        for wi, week in enumerate(panel.weeks.astype(str)):
            assert panel.new_patients[gi, wi] == expected[(week, geo)]
    restated = {
        (r["week_start"], r["geo"], r["channel"]): float(r["spend"])
        for r in rows(small_landing / "spend" / "spend_2024_02_restated.csv")
    }
    w = list(panel.weeks.astype(str)).index("2024-02-19")
    assert panel.spend[1, w, 1] == pytest.approx(restated[("2024-02-19", "NY", "tv")])
    assert panel.control_names == ("flu_index",)
    assert panel.controls.shape == (3, 8, 1)
    assert np.isfinite(panel.controls).all()


def test_controls_gaps_are_filled_with_market_mean_and_counted(warehouse, small_landing):
    path = small_landing / "controls" / "controls.csv"
    drop_rows(path, "2024-01-08,CA,")
    kept = path.read_text().splitlines()
    load(warehouse, small_landing)
    panel = read_panel(warehouse)
    ca = [float(line.strip().split(",")[3]) for line in kept[1:] if ",CA," in line]
    assert panel.controls[0, 1, 0] == pytest.approx(np.mean(ca))
    assert control_gaps(warehouse) == {"flu_index": 1}


def test_no_control_gaps_reported_when_complete(warehouse, small_landing):
    load(warehouse, small_landing)
    assert control_gaps(warehouse) == {}


def test_panel_without_controls(warehouse, small_landing):
    import shutil

    shutil.rmtree(small_landing / "controls")
    load(warehouse, small_landing)
    panel = read_panel(warehouse)
    assert panel.control_names == () and panel.controls.shape == (3, 8, 0)


def test_read_panel_on_empty_warehouse_says_what_to_do(warehouse):
    with pytest.raises(PanelError, match="weekly_refresh"):
        read_panel(warehouse)


def test_rebuild_is_idempotent(warehouse, small_landing):
    load(warehouse, small_landing)
    first = warehouse.execute("SELECT * FROM core.weekly_spend ORDER BY ALL").fetchall()
    build_panel_tables(warehouse)
    assert warehouse.execute("SELECT * FROM core.weekly_spend ORDER BY ALL").fetchall() == first


def test_read_experiments(warehouse, small_landing):
    load(warehouse, small_landing)
    frame = read_experiments(warehouse)
    assert frame.columns == [
        "test_id",
        "channel",
        "geo",
        "role",
        "start_week",
        "end_week",
        "design",
    ]
    assert frame.rows() == [
        (
            "tv_holdout_2024",
            "tv",
            "CA",
            "treatment",
            date(2024, 1, 29),
            date(2024, 2, 19),
            "holdout",
        ),
        ("tv_holdout_2024", "tv", "NY", "control", date(2024, 1, 29), date(2024, 2, 19), "holdout"),
    ]


@pytest.mark.slow
def test_sample_landing_gives_the_simulated_panel(warehouse):
    sample = REPO / "data" / "sample"
    truth = json.loads((sample / "truth.json").read_text())
    load(warehouse, sample)
    panel = read_panel(warehouse)
    config = truth["config"]
    assert panel.n_geos == config["n_geos"]
    assert panel.n_weeks == config["n_weeks"]
    assert set(panel.channels) == set(truth["channels"])
    assert str(panel.weeks[0]) == config["first_week"]
    # restated spend: the panel holds the restated file's values for the restated weeks
    restated = sorted((sample / "spend").glob("*restated*"))[-1]
    first = rows(restated)[0]
    g = panel.geos.index(first["geo"])
    w = list(panel.weeks.astype(str)).index(first["week_start"])
    c = panel.channels.index(first["channel"])
    assert panel.spend[g, w, c] == pytest.approx(float(first["spend"]))
    assert read_experiments(warehouse).height == len(
        rows(sample / "experiments" / "experiments.csv")
    )
