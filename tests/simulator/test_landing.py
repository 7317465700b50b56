"""The simulated world's landing files follow the contract and match its panel."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pipelines.feeds import FEEDS, RESTRICTED_ZIP3, SLUG_PATTERN
from simulator.world import WorldConfig, simulate_world


@pytest.fixture(scope="module")
def world():
    return simulate_world(WorldConfig(seed=3, n_geos=12, n_weeks=104))


def test_feeds_follow_the_contract(world) -> None:
    for feed, files in world.files.items():
        for name, frame in files:
            assert name.endswith(".csv")
            assert set(frame.columns) == set(FEEDS[feed].column_names), feed
            key = list(FEEDS[feed].key)
            assert frame.select(key).is_duplicated().sum() == 0, (feed, name)
    markets = world.files["markets"][0][1]
    assert not set(markets["geo"]) & (RESTRICTED_ZIP3 | {"000"})
    assert (markets["population"] > 20_000).all()
    spend = world.files["spend"][0][1]
    assert all(re.match(SLUG_PATTERN, c) for c in spend["channel"].unique())
    weeks = np.array(spend["week_start"].unique().to_list(), dtype="datetime64[D]")
    assert (weeks.astype("datetime64[W]").astype("datetime64[D]") + 4 == weeks).all()  # Mondays


def test_restatement_replaces_preliminary_spend(world) -> None:
    (_, first), (_, restated) = world.files["spend"]
    assert restated.height > 0
    joined = first.join(restated, on=["week_start", "geo", "channel"], suffix="_final")
    assert joined.height == restated.height
    assert (joined["spend"] <= joined["spend_final"]).all()
    assert (joined["spend"] < joined["spend_final"]).any()


def test_kpi_is_calls_plus_bookings(world) -> None:
    calls = world.files["calls"][0][1]["new_patient_calls"].sum()
    bookings = world.files["bookings"][0][1]["new_patient_bookings"].sum()
    assert calls + bookings == world.panel.new_patients.sum()
