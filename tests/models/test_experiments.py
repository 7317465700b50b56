"""Next experiment on a simulated world: a posterior centred on the world's true PAC, one channel
made uncertain by construction; its test must rank first and calibrating with it must help."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.experiments import (
    LONGER_WEEKS,
    Z_MDE,
    ProposedTest,
    calibrated_interval,
    lift_draws,
    rank_next_experiments,
    weighted_quantiles,
    with_larger_tests,
)
from models.mmm.model import Priors, model_data
from models.mmm.response import ResponseModel
from models.mmm.results import split_lagged
from models.mmm.transforms import GeometricAdstock
from simulator.world import WorldConfig, simulate_world

WIDE = "social"
N_DRAWS = 400


@pytest.fixture(scope="module")
def world_posterior():
    """(world, response, centre): a posterior whose every channel's median PAC is the world's
    true PAC; ``WIDE`` has a log-sd of 0.6 on its effect, the others 0.08.

    Decay is the world's; the saturation is the model's Hill at half-saturation 1 (one unit of
    mean weekly spend per capita), slope 1. ``centre`` is the response at the central draw.
    """
    world = simulate_world(WorldConfig(seed=7, n_geos=12, n_weeks=104))
    panel = world.panel
    adstock = GeometricAdstock(max_lag=8)
    data = model_data(panel, adstock, Priors(), n_fourier=0)
    window = np.zeros(panel.n_weeks, dtype=bool)
    window[-52:] = True
    pre, win = split_lagged(data, window, adstock)
    channels = panel.channels
    n_c = len(channels)
    decay = np.array([world.truth["channels"][c]["adstock_decay"] for c in channels])

    def response(beta: np.ndarray) -> ResponseModel:
        n = beta.shape[0]
        return ResponseModel(
            channels=channels,
            window_spend=data.spend[:, window, :].sum(axis=(0, 1)),
            max_weekly_spend=data.spend.sum(axis=0).max(axis=0),
            pop=data.pop,
            lagged_pre=pre,
            lagged_win=win,
            decay=np.tile(decay, (n, 1)),
            half_saturation=np.ones((n, n_c)),
            slope=np.ones((n, n_c)),
            beta=beta,
        )

    unit = response(np.ones((1, panel.n_geos, n_c)))
    per_beta = unit.new_patients_by_channel(np.ones(n_c))[0]
    true_incr = np.array([world.truth["channels"][c]["incremental_new_patients"] for c in channels])
    beta_c = true_incr / per_beta
    rng = np.random.default_rng(11)
    sd = np.where(np.array(channels) == WIDE, 0.6, 0.08)
    z = rng.standard_normal((N_DRAWS, n_c))
    beta = beta_c * np.exp(sd * z)  # median at the truth
    post = response(np.repeat(beta[:, None, :], panel.n_geos, axis=1))
    centre = response(np.repeat(beta_c[None, None, :], panel.n_geos, axis=1))
    return world, post, centre


def designs(world, mde_share: float = 0.04) -> list[ProposedTest]:
    """The same 8-week design for every channel: a third of the markets treated, the MDE a
    fixed share of their expected new patients (as ``propose_design`` reports it)."""
    p = world.panel
    treated = p.geos[::3]
    expected = p.new_patients[::3, -52:].mean(axis=1).sum() * 8
    return [
        ProposedTest(
            channel=c,
            weeks=8,
            treatment_geos=tuple(treated),
            control_geos=tuple(g for g in p.geos if g not in treated),
            mde_new_patients=mde_share * expected,
        )
        for c in p.channels
    ]


def test_the_widest_channel_is_tested_first_and_its_interval_narrows(world_posterior):
    world, post, _ = world_posterior
    ranked = rank_next_experiments(post, world.panel.geos, designs(world), n_outcomes=200)
    assert [e.channel for e in ranked][0] == WIDE
    assert len(ranked) == len(world.panel.channels)
    top = ranked[0]
    assert top.expected_pac_hi - top.expected_pac_lo < 0.7 * (top.pac_hi - top.pac_lo)
    assert 0.3 < top.width_reduction < 1 and top.value_usd > 0
    assert top.design in ("holdout", "scale_up")
    assert top.effective_draws > 10
    assert all(a.value_usd >= b.value_usd for a, b in zip(ranked, ranked[1:], strict=False))
    # well-measured channels learn little
    assert max(e.width_reduction for e in ranked[1:]) < top.width_reduction
    # a holdout removes spend, a scale-up adds it
    assert (top.spend_change < 0) == (top.design == "holdout")


def test_calibrating_with_the_true_test_narrows_and_covers_the_truth(world_posterior):
    """One test outcome simulated from the world's truth (not from a posterior draw)."""
    world, post, centre = world_posterior
    c = post.channels.index(WIDE)
    test = designs(world)[c]
    geos = np.array([world.panel.geos.index(g) for g in test.treatment_geos])
    lift, _ = lift_draws(post, c, geos, test.weeks, "holdout")
    true_lift, _ = lift_draws(centre, c, geos, test.weeks, "holdout")
    sd = test.mde_new_patients / Z_MDE
    observed = true_lift[0] + 0.5 * sd  # an estimate half a standard error off
    incr = post.new_patients_by_channel(np.ones(len(post.channels)))[:, c]
    pac = post.window_spend[c] / incr
    w = np.exp(-0.5 * ((observed - lift) / sd) ** 2)
    lo, hi = weighted_quantiles(pac, w[None, :], (5.0, 95.0))[0]
    lo0, hi0 = np.percentile(pac, [5, 95])
    true_pac = world.truth["channels"][WIDE]["pac"]
    assert hi - lo < 0.6 * (hi0 - lo0)
    assert lo <= true_pac <= hi
    assert true_lift[0] > 0 and lift.mean() > 0


def test_weighted_quantiles_match_plain_percentiles_under_equal_weights():
    values = np.random.default_rng(0).lognormal(size=1001)
    got = weighted_quantiles(values, np.ones((2, values.size)), (5.0, 50.0, 95.0))
    want = np.percentile(values, [5, 50, 95], method="inverted_cdf")
    np.testing.assert_allclose(got, np.vstack([want, want]))


def test_an_uninformative_test_teaches_nothing():
    """A test whose noise dwarfs every draw's lift leaves the interval where it was."""
    rng = np.random.default_rng(1)
    pac = rng.lognormal(5, 0.5, 2000)
    lift = 1000.0 / pac
    lo, hi, ess, detect = calibrated_interval(pac, lift, sd=1e6, rng=rng, n_outcomes=50)
    lo0, hi0 = np.percentile(pac, [5, 95])
    assert lo == pytest.approx(lo0, rel=0.02) and hi == pytest.approx(hi0, rel=0.02)
    assert ess > 1900 and detect < 0.25


def test_a_channel_whose_default_test_is_too_small_gets_a_longer_larger_one(world_posterior):
    """The wide channel's default test detects only effects far above its own: a 13-week test
    in twice the markets is designed with the geo design code and teaches more."""
    world, post, _ = world_posterior
    small = [
        replace(t, mde_new_patients=t.mde_new_patients * (12.0 if t.channel == WIDE else 1.0))
        for t in designs(world)
    ]
    default = {e.channel: e for e in rank_next_experiments(post, world.panel.geos, small)}
    assert default[WIDE].detection_probability < 0.5
    ranked = with_larger_tests(post, world.panel.geos, small, world.panel, n_channels=1)
    wide = next(e for e in ranked if e.channel == WIDE)
    assert wide.weeks == LONGER_WEEKS
    assert len(wide.treatment_geos) == min(2 * len(small[0].treatment_geos), 12 - 2)
    assert wide.value_usd > default[WIDE].value_usd
    assert wide.detection_probability > default[WIDE].detection_probability
    assert len(ranked) == len(world.panel.channels)
