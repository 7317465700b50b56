"""Adstock and saturation transforms against hand-computed values; numpy and PyTensor agree."""

import numpy as np
import pytest

from models.mmm.transforms import (
    ADSTOCKS,
    SATURATIONS,
    GeometricAdstock,
    HillSaturation,
    LogisticSaturation,
    WeibullAdstock,
    apply_weights,
    lagged,
    prior_settings,
    pt_lagged,
    with_priors,
)


def test_adstock_weights_hand_computed() -> None:
    w = GeometricAdstock(max_lag=3).weights({"decay": np.array([0.5])})
    np.testing.assert_allclose(w, [[4 / 7, 2 / 7, 1 / 7]])


def test_adstock_impulse_and_constant() -> None:
    ad = GeometricAdstock(max_lag=3)
    x = np.zeros((1, 6, 2))
    x[0, 1, 0] = 7.0  # impulse in week 1
    x[0, :, 1] = 3.0  # constant spend
    out = apply_weights(lagged(x, 3), ad.weights({"decay": np.array([[0.5, 0.5]])}))[0]
    np.testing.assert_allclose(out[0, :, 0], [0, 4, 2, 1, 0, 0])
    # constant spend: weights sum to 1 once the lags are filled; the first weeks ramp up
    np.testing.assert_allclose(out[0, :, 1], [12 / 7, 18 / 7, 3, 3, 3, 3])


def test_lagged_shape_and_shift_and_pytensor_agree() -> None:
    x = np.arange(10.0).reshape(1, 5, 2)
    lag = lagged(x, 2)
    assert lag.shape == (1, 5, 2, 2)
    np.testing.assert_allclose(lag[0, :, 0, 1], [0, 0, 2, 4, 6])
    np.testing.assert_allclose(pt_lagged(x, 2).eval(), lag)


def test_weibull_weights_hand_computed_and_delayed() -> None:
    ad = WeibullAdstock(max_lag=4)
    k, lam = 2.5, 3.0
    u = np.arange(1, 5) / lam
    dens = (k / lam) * u ** (k - 1) * np.exp(-(u**k))
    w = ad.weights({"lag_shape": np.array([k]), "lag_scale": np.array([lam])})
    np.testing.assert_allclose(w[0], dens / dens.sum())
    assert np.argmax(w[0]) >= 1  # the effect peaks after the week of spend
    params = {"lag_shape": np.array([2.0, 0.8]), "lag_scale": np.array([2.0, 1.5])}
    np.testing.assert_allclose(
        ad.pt_weights({k: np.asarray(v) for k, v in params.items()}).eval(), ad.weights(params)
    )


def test_geometric_numpy_and_pytensor_weights_agree() -> None:
    ad = GeometricAdstock(max_lag=5)
    d = np.array([0.1, 0.6, 0.9])
    np.testing.assert_allclose(ad.pt_weights({"decay": d}).eval(), ad.weights({"decay": d}))


def test_hill_hand_computed() -> None:
    k, s = 2.0, 1.5
    x = np.array([2.0, 4.0, 1.0])
    expected = x**s / (x**s + k**s)
    sat = HillSaturation()
    np.testing.assert_allclose(
        sat.apply(x, {"half_saturation": k, "slope": s}), expected, rtol=1e-5
    )


def test_hill_zero_spend_is_zero_with_finite_gradient() -> None:
    import pytensor
    import pytensor.tensor as pt

    x = pt.dvector("x")
    s = pt.dscalar("s")
    y = HillSaturation().pt_apply(x, {"half_saturation": 1.0, "slope": s}).sum()
    grad = pytensor.function([x, s], pytensor.grad(y, s))
    assert np.isfinite(grad(np.array([0.0, 0.0, 1.5]), 1.2))


def test_logistic_hand_computed_and_pytensor_agree() -> None:
    x = np.array([0.0, 0.5, 2.0])
    lam = 1.3
    expected = (1 - np.exp(-lam * x)) / (1 + np.exp(-lam * x))
    sat = LogisticSaturation()
    np.testing.assert_allclose(sat.apply(x, {"lam": lam}), expected)
    np.testing.assert_allclose(sat.pt_apply(x, {"lam": lam}).eval(), expected)


@pytest.mark.parametrize("kind", sorted(SATURATIONS))
def test_numpy_and_pytensor_saturation_agree(kind: str) -> None:
    sat = SATURATIONS[kind]()
    x = np.array([0.0, 0.3, 1.0, 5.0])
    params = {"half_saturation": 0.8, "slope": 1.3, "lam": 0.7}
    params = {k: params[k] for k in sat.param_names}
    np.testing.assert_allclose(sat.pt_apply(x, params).eval(), sat.apply(x, params), rtol=1e-9)


@pytest.mark.parametrize("kind", sorted(ADSTOCKS))
def test_adstock_priors_are_owned_by_the_transform(kind: str) -> None:
    import pymc as pm

    ad = ADSTOCKS[kind](max_lag=6)
    with pm.Model(coords={"channel": ["a", "b"]}) as m:
        params = ad.pm_priors()
    assert set(params) == set(ad.param_names) <= set(m.named_vars)
    draws = pm.draw([params[k] for k in ad.param_names], draws=50, random_seed=1)
    w = ad.weights(dict(zip(ad.param_names, draws, strict=True)))
    assert w.shape == (50, 2, 6)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)


def test_prior_settings_reach_the_transforms_priors() -> None:
    import pymc as pm

    priors = {"decay_mean": 0.7, "decay_concentration": 20.0}
    ad = with_priors(ADSTOCKS, "adstock", "geometric", priors, max_lag=4)
    assert (ad.max_lag, ad.decay_mean, ad.decay_concentration) == (4, 0.7, 20.0)
    with pm.Model(coords={"channel": ["a"]}):
        decay = ad.pm_priors()["decay"]
    assert pm.draw(decay, draws=2000, random_seed=2).mean() == pytest.approx(0.7, abs=0.01)
    sat = with_priors(SATURATIONS, "saturation", "hill", {"slope_mean": 1.0})
    assert (sat.slope_mean, sat.slope_sd) == (1.0, HillSaturation().slope_sd)
    assert "max_lag" not in prior_settings(WeibullAdstock)
    assert prior_settings(LogisticSaturation) == ("lam_sd",)


@pytest.mark.parametrize(
    ("kind", "priors", "message"),
    [
        ("geometric", {"decay_sd": 0.1}, "no prior setting 'decay_sd'; it has decay_mean"),
        ("geometric", {"decay_mean": 1.0}, "'decay_mean' must be positive and below 1"),
        ("hill", {"slope_sd": -0.5}, "'slope_sd' must be positive"),
        ("logistic", {"lam_sd": float("nan")}, "'lam_sd' must be positive"),
        ("tanh", {}, r"saturation must be one of \['hill', 'logistic'\]"),
    ],
)
def test_bad_prior_settings_are_refused_by_name(kind, priors, message) -> None:
    registry, role = (ADSTOCKS, "adstock") if kind == "geometric" else (SATURATIONS, "saturation")
    with pytest.raises(ValueError, match=message):
        with_priors(registry, role, kind, priors)
