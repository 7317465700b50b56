"""The simulated world: deterministic, consistent with its own truth, and shaped like the contract."""

from __future__ import annotations

import re

import numpy as np
import pytest

from models.simulate import CHANNELS, WorldConfig, adstock, hill, simulate_world
from pipelines.feeds import FEEDS, RESTRICTED_ZIP3, SLUG_PATTERN


@pytest.fixture(scope="module")
def world():
    return simulate_world(WorldConfig(seed=3, n_geos=12, n_weeks=104))


def test_same_seed_same_world() -> None:
    cfg = WorldConfig(seed=11, n_geos=8, n_weeks=90)
    a, b = simulate_world(cfg), simulate_world(cfg)
    np.testing.assert_array_equal(a.panel.new_patients, b.panel.new_patients)
    assert a.truth == b.truth
    assert not np.array_equal(
        a.panel.new_patients,
        simulate_world(WorldConfig(seed=12, n_geos=8, n_weeks=90)).panel.new_patients,
    )


def test_adstock_and_hill_by_hand() -> None:
    x = np.array([[1.0, 0.0, 0.0]])
    w0 = 1 / sum(0.5**i for i in range(8))
    np.testing.assert_allclose(adstock(x, 0.5), [[w0, w0 * 0.5, w0 * 0.25]])
    np.testing.assert_allclose(hill(np.array([0.0, 2.0]), 2.0, 1.5), [0.0, 0.5])


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


def test_truth_is_consistent(world) -> None:
    ch = world.truth["channels"]
    assert set(ch) == {c.name for c in CHANNELS}
    for v in ch.values():
        assert v["pac"] == pytest.approx(v["spend"] / v["incremental_new_patients"])
        assert v["incremental_new_patients"] > 0
    # last touch over-credits search and under-credits upper funnel channels
    assert ch["search"]["last_touch_pac"] < ch["search"]["pac"]
    assert ch["tv"]["last_touch_pac"] > ch["tv"]["pac"]
    window_spend = world.panel.spend[:, -world.config.window_weeks :, :].sum(axis=(0, 1))
    total = sum(v["spend"] for v in ch.values())
    assert total == pytest.approx(window_spend.sum(), rel=1e-6)


def test_geo_tests_in_last_year_with_positive_truth(world) -> None:
    assert {t.design for t in world.tests} == {"holdout", "scale_up"}
    last_year = world.panel.weeks[-52]
    for t in world.tests:
        assert np.datetime64(t.start_week) >= last_year
        truth = world.truth["tests"][t.test_id]
        assert truth["incremental_new_patients"] > 0 and truth["incremental_spend"] > 0
        c = world.panel.channels.index(t.channel)
        g = [world.panel.geos.index(x) for x in t.treatment_geos]
        w = (world.panel.weeks >= np.datetime64(t.start_week)) & (
            world.panel.weeks <= np.datetime64(t.end_week)
        )
        if t.design == "holdout":
            assert world.panel.spend[np.ix_(g, np.where(w)[0], [c])].sum() == 0


def test_hard_world_flights_move_together() -> None:
    hard = simulate_world(WorldConfig(seed=5, n_geos=8, n_weeks=90, correlated_flighting=True))
    social = hard.panel.spend[:, 10:, hard.panel.channels.index("social")] > 0
    assert (social == social[0]).mean() > 0.95  # same calendar in every market
    assert hard.panel.spend[:, :, hard.panel.channels.index("ctv")][:, :60].sum() == 0
