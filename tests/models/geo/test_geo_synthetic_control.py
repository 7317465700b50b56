"""Synthetic-control weights, block sums and the conformal test on hand-made series."""

from __future__ import annotations

import numpy as np

from models.geo.inference import circular_block_sums, conformal_interval, conformal_pvalue
from models.geo.synthetic_control import (
    FitSpec,
    choose_spec,
    control_scale,
    fit_sc,
    simplex_weights,
)


def test_simplex_weights_recover_a_convex_combination() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(100, 10, size=(80, 5))
    true = np.array([0.5, 0.0, 0.3, 0.2, 0.0])
    w = simplex_weights(x, x @ true)
    assert np.all(w >= 0)
    assert abs(w.sum() - 1) < 1e-9
    np.testing.assert_allclose(w, true, atol=1e-4)


def test_scaled_fit_matches_a_sum_outside_the_convex_hull() -> None:
    # the treated series is three times a mix of controls: scaling puts it back in the hull
    rng = np.random.default_rng(1)
    t = np.arange(100)
    x = 50 + 10 * np.sin(t[:, None] / (3 + np.arange(4))) + rng.normal(0, 0.1, (100, 4))
    y = 3 * (0.7 * x[:, 0] + 0.3 * x[:, 2])
    scale = control_scale(x[:80], y[:80])
    model = fit_sc(x[:80], y[:80], scale)
    pred = model.predict(x[80:])
    assert np.max(np.abs(pred - y[80:])) < 0.05 * y[80:].mean()
    assert model.method == "synthetic_control"


def test_ridge_is_chosen_only_when_the_simplex_fit_is_poor() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(100, 10, size=(120, 6))
    good = x[:, :3].mean(axis=1) + rng.normal(0, 0.5, 120)
    assert choose_spec(x, good, control_scale(x, good), 6).ridge == 0.0
    # a series that needs negative weights: the simplex cannot follow it, the ridge can
    bad = 200 + 2 * x[:, 0] - 1.5 * x[:, 1] + rng.normal(0, 0.5, 120)
    assert choose_spec(x, bad, control_scale(x, bad), 6).ridge > 0


def test_circular_block_sums() -> None:
    u = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(circular_block_sums(u, 2), [3, 5, 7, 5])


def test_conformal_interval_covers_the_effect_and_rejects_zero() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(100, 5, size=(108, 6))
    y = x[:, :2].sum(axis=1) + rng.normal(0, 2, 108)
    y[-8:] += 10.0  # cumulative effect 80
    scale = control_scale(x[:100], y[:100])
    assert conformal_pvalue(x, y, 8, scale, FitSpec(), 0.0) < 0.05
    assert conformal_pvalue(x, y, 8, scale, FitSpec(), 80.0) > 0.10
    res = conformal_interval(x, y, 8, scale, FitSpec(), center=80.0, spread=6.0)
    assert res.lo < 80 < res.hi
    assert res.lo > 0
    assert res.p_value < 0.10
