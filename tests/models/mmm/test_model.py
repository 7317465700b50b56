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
        data,
        cfg.adstock,
        cfg.saturation,
        cfg.priors,
        panel.channels,
        prior_predictive=True,
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
    draws = Draws.from_idata(idata, 0, cfg.adstock, cfg.saturation, group="prior")
    mu_np = media_contrib(draws, data.lagged, data.pop, cfg.adstock, cfg.saturation).sum(-1) + baseline_mean(
        draws, data
    )
    mu_pm = idata.prior["mu"].values.reshape(mu_np.shape)
    np.testing.assert_allclose(mu_np, mu_pm, rtol=1e-6)


def test_prior_roi_matches_its_definition(prior_draws) -> None:
    """roi (new patients per $1,000 over the fitted weeks) is what the contributions give."""
    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, 0, cfg.adstock, cfg.saturation, group="prior")
    contrib = media_contrib(draws, data.lagged, data.pop, cfg.adstock, cfg.saturation).sum(axis=(1, 2))
    roi = idata.prior["roi"].values.reshape(contrib.shape)
    np.testing.assert_allclose(contrib / panel.spend.sum(axis=(0, 1)) * 1000, roi, rtol=1e-6)


def test_response_model_round_trip_and_monotone(prior_draws) -> None:
    from models.mmm.results import response_model

    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, 0, cfg.adstock, cfg.saturation, group="prior")
    window = panel.window(52)
    rm = response_model(
        panel.channels, draws, data, window, cfg.adstock, cfg.saturation, n_draws=50
    )
    rm2 = ResponseModel.from_arrays(rm.to_arrays())
    base = rm2.new_patients(np.ones(2))
    assert base.shape == (50,)
    np.testing.assert_allclose(base, rm.new_patients(np.ones(2)))
    more = rm2.new_patients(np.array([2.0, 1.0]))
    assert np.all(more >= base)
    assert np.all(rm2.new_patients(np.zeros(2)) < base)
    assert rm2.extrapolates(np.array([100.0, 1.0])).tolist() == [True, False]
