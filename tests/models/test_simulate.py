"""The simulated world: deterministic, consistent with its own truth, and shaped like the contract."""

from __future__ import annotations

import numpy as np
import pytest

from models.simulate import CHANNELS, WorldConfig, adstock, hill, simulate_world


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
