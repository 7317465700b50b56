"""The MMM graph: prior predictive, numpy results match the PyMC graph, response model."""

from dataclasses import replace

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
    mu_np = media_contrib(draws, data.lagged, data.pop, cfg.adstock, cfg.saturation).sum(
        -1
    ) + baseline_mean(draws, data)
    mu_pm = idata.prior["mu"].values.reshape(mu_np.shape)
    np.testing.assert_allclose(mu_np, mu_pm, rtol=1e-6)


def test_markets_have_their_own_saturation_point(prior_draws) -> None:
    """``saturation_geo`` (geo, channel) spreads around 1 at ``saturation_geo_scale`` on the
    log scale, and a market whose multiplier is doubled responds to twice the spend as it did
    to the spend before."""
    _, data, idata = prior_draws
    cfg = MMMConfig()
    log_sat = np.log(idata.prior["saturation_geo"].values)  # (chain, draw, geo, channel)
    assert log_sat.shape[-2:] == (data.n_geos, data.n_channels)
    assert abs(log_sat.std() - cfg.priors.saturation_geo_scale) < 0.02
    draws = Draws.from_idata(idata, 0, cfg.adstock, cfg.saturation, group="prior")
    wider = replace(draws, saturation_geo=2.0 * draws.saturation_geo)
    np.testing.assert_allclose(
        media_contrib(wider, 2.0 * data.lagged, data.pop, cfg.adstock, cfg.saturation),
        media_contrib(draws, data.lagged, data.pop, cfg.adstock, cfg.saturation),
        rtol=1e-9,
    )


def test_prior_roi_matches_its_definition(prior_draws) -> None:
    """roi (new patients per $1,000 over the fitted weeks) is what the contributions give."""
    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, 0, cfg.adstock, cfg.saturation, group="prior")
    contrib = media_contrib(draws, data.lagged, data.pop, cfg.adstock, cfg.saturation).sum(
        axis=(1, 2)
    )
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


def test_named_contribution_is_the_numpy_contribution_and_follows_spend_data(prior_draws) -> None:
    """``channel_contribution`` (from pm.Data spend) equals the numpy results path; with other
    spend set by ``pm.set_data`` it is recomputed with the same parameters (beta stays)."""
    import pymc as pm

    from models.mmm.transforms import lagged

    panel, data, idata = prior_draws
    cfg = MMMConfig()
    draws = Draws.from_idata(idata, 0, cfg.adstock, cfg.saturation, group="prior")
    got = idata.prior["channel_contribution"].values.reshape(draws.n, *data.x.shape)
    np.testing.assert_allclose(
        got,
        media_contrib(draws, data.lagged, data.pop, cfg.adstock, cfg.saturation),
        rtol=1e-6,
        atol=1e-8,
    )
    model = build_model(
        data, cfg.adstock, cfg.saturation, cfg.priors, panel.channels, prior_predictive=True
    )
    prior = idata.prior.isel(chain=[0], draw=slice(0, 20))
    with model:
        pm.set_data({"spend": 2.0 * data.spend})
        doubled = pm.compute_deterministics(
            prior, var_names=["channel_contribution"], progressbar=False
        )["channel_contribution"].values[0]
    expected = media_contrib(
        draws.take(np.arange(20)),
        lagged(2.0 * data.x, cfg.adstock.max_lag),
        data.pop,
        cfg.adstock,
        cfg.saturation,
    )
    np.testing.assert_allclose(doubled, expected, rtol=1e-6, atol=1e-8)


def test_unobserved_market_weeks_do_not_enter_the_likelihood(tiny_panel) -> None:
    cfg = MMMConfig()
    panel = tiny_panel()
    observed = np.ones((panel.n_geos, panel.n_weeks), dtype=bool)
    observed[1, :20] = False  # call tracking started late in one market
    masked = replace(panel, observed=observed)
    other = replace(masked, new_patients=np.where(observed, panel.new_patients, 999.0))

    def logp(p) -> float:
        data = model_data(p, cfg.adstock, cfg.priors, cfg.n_fourier)
        m = build_model(data, cfg.adstock, cfg.saturation, cfg.priors, p.channels)
        return float(m.compile_logp()(m.initial_point()))

    assert logp(masked) == pytest.approx(logp(other))
    assert logp(masked) != pytest.approx(logp(panel))
