"""The simulated world: deterministic, with the transforms and calendars it promises."""

from __future__ import annotations

import numpy as np

from simulator.world import WorldConfig, adstock, hill, simulate_world


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


def test_hard_world_flights_move_together() -> None:
    hard = simulate_world(WorldConfig(seed=5, n_geos=8, n_weeks=90, correlated_flighting=True))
    social = hard.panel.spend[:, 10:, hard.panel.channels.index("social")] > 0
    assert (social == social[0]).mean() > 0.95  # same calendar in every market
    assert hard.panel.spend[:, :, hard.panel.channels.index("ctv")][:, :60].sum() == 0
