"""Adstock and saturation against hand-computed values."""

import numpy as np
import pytest

from models.mmm.transforms import GeometricAdstock, HillSaturation


def test_adstock_weights_hand_computed() -> None:
    w = GeometricAdstock(max_lag=3).weights(np.array([0.5]))
    np.testing.assert_allclose(w, [[4 / 7, 2 / 7, 1 / 7]])


def test_adstock_impulse_and_constant() -> None:
    ad = GeometricAdstock(max_lag=3)
    x = np.zeros((1, 6, 2))
    x[0, 1, 0] = 7.0  # impulse in week 1
    x[0, :, 1] = 3.0  # constant spend
    out = ad.apply(x, np.array([0.5, 0.5]))
    np.testing.assert_allclose(out[0, :, 0], [0, 4, 2, 1, 0, 0])
    # constant spend: weights sum to 1 once the lags are filled; the first weeks ramp up
    np.testing.assert_allclose(out[0, :, 1], [12 / 7, 18 / 7, 3, 3, 3, 3])


def test_adstock_zero_decay_is_identity() -> None:
    x = np.random.default_rng(0).random((2, 10, 3))
    np.testing.assert_allclose(GeometricAdstock(8).apply(x, np.zeros(3)), x)


def test_lagged_shape_and_shift() -> None:
    x = np.arange(5.0).reshape(1, 5, 1)
    lag = GeometricAdstock(max_lag=2).lagged(x)
    assert lag.shape == (1, 5, 1, 2)
    np.testing.assert_allclose(lag[0, :, 0, 1], [0, 0, 1, 2, 3])


def test_hill_hand_computed() -> None:
    k, s = 2.0, 1.5
    x = np.array([2.0, 4.0, 1.0])
    expected = x**s / (x**s + k**s)
    np.testing.assert_allclose(HillSaturation.apply(x, k, s), expected, rtol=1e-5)
    assert HillSaturation.apply(np.array([2.0]), 2.0, 1.0)[0] == pytest.approx(0.5, rel=1e-5)


def test_hill_zero_spend_is_zero_with_finite_gradient() -> None:
    import pytensor
    import pytensor.tensor as pt

    x = pt.dvector("x")
    s = pt.dscalar("s")
    y = HillSaturation.pt_apply(x, 1.0, s).sum()
    grad = pytensor.function([x, s], pytensor.grad(y, s))
    g = grad(np.array([0.0, 0.0, 1.5]), 1.2)
    assert np.isfinite(g)
    assert HillSaturation.apply(np.array([0.0]), 1.0, 1.2)[0] < 1e-6


def test_numpy_and_pytensor_hill_agree() -> None:
    import pytensor.tensor as pt

    x = np.array([0.0, 0.3, 1.0, 5.0])
    got = HillSaturation.pt_apply(pt.as_tensor_variable(x), 0.8, 1.3).eval()
    np.testing.assert_allclose(got, HillSaturation.apply(x, 0.8, 1.3), rtol=1e-9)


def test_apply_draws_matches_apply() -> None:
    ad = GeometricAdstock(max_lag=4)
    x = np.random.default_rng(1).random((3, 12, 2))
    decays = np.array([[0.2, 0.7], [0.5, 0.1]])
    got = ad.apply_draws(ad.lagged(x), ad.weights(decays))
    for i in range(2):
        np.testing.assert_allclose(got[i], ad.apply(x, decays[i]))
