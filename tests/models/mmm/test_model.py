"""The MMM's model pieces: input checks, prior predictive, numpy results match the PyMC graph."""

from dataclasses import replace

import numpy as np
import pytest

from models.mmm.fit import MMMConfig, MMMInputError, lift_terms, prepare_panel
from models.mmm.model import (
    Draws,
    baseline_mean,
    build_model,
    media_contrib,
    model_data,
    spend_unit,
)
from models.mmm.response import ResponseModel
from models.panel import Panel


def tiny_panel(n_geos: int = 3, n_weeks: int = 60, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    weeks = np.datetime64("2024-01-01") + np.arange(n_weeks) * np.timedelta64(7, "D")
    spend = rng.gamma(2.0, 500.0, (n_geos, n_weeks, 2))
    spend[:, ::3, 1] = 0.0  # flighted
    return Panel(
        weeks=weeks,
        geos=tuple(f"g{i}" for i in range(n_geos)),
        channels=("search", "tv"),
        population=np.linspace(100_000, 300_000, n_geos),
        spend=spend,
        new_patients=rng.poisson(40, (n_geos, n_weeks)).astype(float),
    )


def test_too_few_weeks_is_a_clear_error() -> None:
    with pytest.raises(MMMInputError, match="at least 52 weeks"):
        prepare_panel(tiny_panel(n_weeks=40))


def test_channel_without_spend_is_dropped_and_noted() -> None:
    p = tiny_panel()
    spend = p.spend.copy()
    spend[:, :, 1] = 0.0
    out, notes = prepare_panel(replace(p, spend=spend))
    assert out.channels == ("search",)
    assert any("Dropped 1 channel(s) with no spend" in n for n in notes)
    assert not any("tv" in n for n in notes)  # names come from landing files: counts only


def test_market_without_new_patients_is_dropped_and_noted() -> None:
    p = tiny_panel()
    y = p.new_patients.copy()
    y[1] = 0.0
    out, notes = prepare_panel(replace(p, new_patients=y))
    assert out.geos == ("g0", "g2")
    assert any("Dropped 1 market(s) with no new patients" in n for n in notes)
    assert not any("g1" in n for n in notes)


def test_non_overlapping_spend_and_kpi_weeks_is_a_clear_error() -> None:
    p = tiny_panel(n_weeks=100)
    spend, y = p.spend.copy(), p.new_patients.copy()
    spend[:, 50:] = 0.0  # spend stops before the KPI starts
    y[:, :60] = 0.0
    with pytest.raises(MMMInputError, match="overlap for 0 weeks"):
        prepare_panel(replace(p, spend=spend, new_patients=y))


def test_trailing_weeks_without_kpi_are_trimmed() -> None:
    p = tiny_panel(n_weeks=70)
    y = p.new_patients.copy()
    y[:, -5:] = 0.0
    out, notes = prepare_panel(replace(p, new_patients=y))
    assert out.n_weeks == 65
    assert any("leading/trailing" in n for n in notes)


def test_error_messages_carry_no_values() -> None:
    p = tiny_panel(n_weeks=40)
    with pytest.raises(MMMInputError) as exc:
        prepare_panel(p)
    assert str(int(p.new_patients.sum())) not in str(exc.value)


@pytest.fixture(scope="module")
def prior_draws():
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


def test_lift_term_counterfactual_direction() -> None:
    """A holdout (spend off in the test) adds spend back; a scale-up removes the extra."""
    from models.geo.types import LiftMeasurement

    cfg = MMMConfig()
    p = tiny_panel(n_weeks=60)
    spend = p.spend.copy()
    spend[0, 50:54, 0] = 0.0  # holdout in g0
    p = replace(p, spend=spend)
    m = LiftMeasurement(
        channel="search",
        geos=("g0",),
        start_week=p.weeks[50].item(),
        end_week=p.weeks[53].item(),
        incremental_new_patients=20.0,
        lo=10.0,
        hi=30.0,
        incremental_spend=4000.0,
        design="holdout",
    )
    (lt,), _ = lift_terms(p, [m], cfg.adstock, spend_unit(p))
    assert lt.channel == 0 and lt.geos.tolist() == [0]
    assert lt.lagged_high.shape == (1, 4, cfg.max_lag)
    assert lt.lagged_high[..., 0].sum() > 0 and lt.lagged_low[..., 0].sum() == 0
    assert lt.sd == pytest.approx(20.0 / 3.29)

    # the same weeks as a scale-up: the observed spend is the higher arm, the extra is removed
    up = replace(m, design="scale_up", incremental_spend=float(p.spend[0, 50:54, 0].sum() + 1))
    (lt_up,), _ = lift_terms(p, [up], cfg.adstock, spend_unit(p))
    np.testing.assert_allclose(lt_up.lagged_high, lt.lagged_low)
    assert lt_up.lagged_low[..., 0].sum() == 0
    # an unknown design is ignored with a note, not guessed
    lts, notes = lift_terms(p, [replace(m, design="crossover")], cfg.adstock, spend_unit(p))
    assert lts == [] and any("design" in n for n in notes)
