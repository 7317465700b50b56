"""The MMM graph: prior predictive, numpy results match the PyMC graph, response model."""

import numpy as np
import pytest

from models.mmm.fit import MMMConfig
from models.mmm.model import (
    Draws,
    baseline_mean,
    build_model,
    media_contrib,
    model_data,
)
from models.mmm.response import ResponseModel


@pytest.fixture(scope="module")
def prior_draws(tiny_panel):
    import pymc as pm

    cfg = MMMConfig()
    panel = tiny_panel()
    data = model_data(panel, cfg.adstock, cfg.priors, cfg.n_fourier)
    model = build_model(
        data, cfg.adstock, cfg.saturation, cfg.priors, panel.channels, keep_mean=True
    )
    idata = pm.sample_prior_predictive(draws=200, model=model, random_seed=1)
    return panel, data, idata


def test_prior_predictive_is_positive_and_on_the_data_scale(prior_draws) -> None:
    panel, _, idata = prior_draws
    mu = idata.prior["mu"].values
    assert np.all(mu > 0)
    ratio = np.median(mu.sum(axis=(-2, -1))) / panel.new_patients.sum()
    assert 0.3 < ratio < 3.0
    # the mean's spread across prior draws stays within a plausible range (no 1e6 patients)
    assert np.quantile(mu.sum(axis=(-2, -1)), 0.95) < 20 * panel.new_patients.sum()


def test_numpy_mean_matches_the_pymc_graph(prior_draws) -> None:
    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, n_controls=0, group="prior")
    mu_np = media_contrib(draws, data.lagged, data.pop, cfg.adstock).sum(-1) + baseline_mean(
        draws, data
    )
    mu_pm = idata.prior["mu"].values.reshape(mu_np.shape)
    np.testing.assert_allclose(mu_np, mu_pm, rtol=1e-6)


def test_prior_roi_matches_its_definition(prior_draws) -> None:
    """roi (new patients per $1,000 over the fitted weeks) is what the contributions give."""
    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, n_controls=0, group="prior")
    contrib = media_contrib(draws, data.lagged, data.pop, cfg.adstock).sum(axis=(1, 2))
    roi = idata.prior["roi"].values.reshape(contrib.shape)
    np.testing.assert_allclose(contrib / panel.spend.sum(axis=(0, 1)) * 1000, roi, rtol=1e-6)


def test_response_model_round_trip_and_monotone(prior_draws) -> None:
    from models.mmm.results import response_model

    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, n_controls=0, group="prior")
    window = panel.window(52)
    rm = response_model(panel.channels, draws, data, window, cfg.adstock, n_draws=50)
    rm2 = ResponseModel.from_arrays(rm.to_arrays())
    base = rm2.new_patients(np.ones(2))
    assert base.shape == (50,)
    np.testing.assert_allclose(base, rm.new_patients(np.ones(2)))
    more = rm2.new_patients(np.array([2.0, 1.0]))
    assert np.all(more >= base)
    assert np.all(rm2.new_patients(np.zeros(2)) < base)
    assert rm2.extrapolates(np.array([100.0, 1.0])).tolist() == [True, False]


def test_national_baseline_is_only_a_change_of_coordinates(tiny_panel) -> None:
    """A national fit samples its baseline in other coordinates; the model must not change.

    At random points, its potentials must equal the stated Normal priors of trend, seasonality,
    holiday, controls and ``a0`` at the mapped values, plus the log Jacobian of the map from the
    sampled coordinates, checked against a finite-difference Jacobian. (The other coordinates
    map to themselves, so the Jacobian's determinant is that of this block.)
    """
    from dataclasses import replace

    from scipy.stats import norm

    cfg = MMMConfig()
    panel = tiny_panel(n_geos=3, n_weeks=60, seed=2).national()
    rng = np.random.default_rng(0)
    panel = replace(panel, controls=rng.normal(size=(1, 60, 1)), control_names=("flu",))
    data = model_data(panel, cfg.adstock, cfg.priors, cfg.n_fourier)
    model = build_model(data, cfg.adstock, cfg.saturation, cfg.priors, panel.channels)
    mapped = {"trend_raw": "trend", "gamma_raw": "gamma", "holiday_raw": "holiday"}
    mapped |= {"delta_raw": "delta", "a0_offset": "a0"}

    def compile_at_values(names):
        outs = model.replace_rvs_by_values([model[n] for n in names])
        return model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")

    to_phi = compile_at_values(mapped.values())
    potentials = compile_at_values(
        ("amplitudes_jacobian", "a0_prior", "trend_prior", "gamma_prior")
    )
    for _ in range(3):
        point = {k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in model.initial_point().items()}
        sizes = [np.size(point[n]) for n in mapped]
        z = np.concatenate([np.ravel(point[n]) for n in mapped])

        def phi(vec: np.ndarray, point=point, sizes=sizes) -> np.ndarray:
            parts = np.split(vec, np.cumsum(sizes)[:-1])
            moved = {n: p.reshape(np.shape(point[n])) for n, p in zip(mapped, parts, strict=True)}
            return np.concatenate([np.ravel(v) for v in to_phi(point | moved)])

        h = 1e-6
        jac = np.column_stack([(phi(z + h * e) - phi(z - h * e)) / (2 * h) for e in np.eye(z.size)])
        _, log_det = np.linalg.slogdet(jac)
        jacobian, a0_prior, trend_prior, gamma_prior = potentials(point)
        np.testing.assert_allclose(jacobian, log_det, atol=1e-5)
        values = dict(zip(mapped.values(), to_phi(point), strict=True))
        assert a0_prior == pytest.approx(norm.logpdf(values["a0"], data.log_rate_centre, 1.0))
        assert trend_prior == pytest.approx(norm.logpdf(values["trend"], 0.0, cfg.priors.trend_sd))
        expected = norm.logpdf(values["gamma"], 0.0, cfg.priors.season_sd).sum()
        assert gamma_prior == pytest.approx(expected)
