"""Which geo test to run next: what each channel's test would teach, simulated from the posterior.

For each paid channel with a proposed design (treatment markets and a minimum detectable effect
from :func:`models.geo.design.propose_design`), the test is simulated on the MMM's saved
posterior draws (:class:`models.mmm.response.ResponseModel`), with no refit:

1. Lift per draw: the new patients the channel would cause in the treatment markets during the
   test, higher-spend arm minus lower-spend arm, under each posterior draw. The test is laid on
   the last ``weeks`` weeks of the reporting window (the most recent spend pattern). A holdout
   switches the channel's spend off there; a scale-up raises it by ``SCALE_UP``. Carry-over
   from spend before the test is the same in both arms; only test weeks are counted, as the
   geo analysis and the MMM's lift likelihood count them.
2. Measurement noise: the design's MDE is ``(z_0.95 + z_0.80) x sd`` of the test's estimate
   (80% power, alpha 0.10, two-sided), so ``sd = MDE / 2.49``.
3. Calibration, simulated: an outcome is drawn as the lift of one posterior draw plus noise;
   the posterior draws are importance-weighted by the Normal likelihood of that outcome (the
   MMM's own lift-test likelihood), and the channel's PAC interval (5th to 95th weighted
   percentile) is read off. This is averaged over ``n_outcomes`` simulated outcomes: the
   expected interval after calibrating with the test (preposterior analysis).
4. Value of the test: the channel's window spend x the expected narrowing of its relative
   90% PAC interval (width / median, now minus after). In USD: how much of the budget's
   uncertainty about what it buys the test is expected to remove. Channels are ranked by it.
5. Where a channel's default test would rarely be conclusive, a longer test in twice the
   markets is designed (:func:`with_larger_tests`) and kept if it teaches more.

Importance weights from one draw's outcome concentrate on few draws when the test is very
informative; ``effective_draws`` (the mean Kish effective sample size) says how many draws the
expected interval rests on. No Dagster, no files: arrays in, plain results out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from models.geo.types import GeoTest
from models.mmm.response import ResponseModel
from models.mmm.transforms import channel_params
from models.panel import Panel

Z_MDE = float(norm.ppf(0.95) + norm.ppf(0.80))
"""MDE / sd of a test's estimate: 80% power at alpha 0.10, two-sided (as ``models.geo.design``)."""
SCALE_UP = 0.5
"""A scale-up test raises the channel's spend in the treatment markets by this fraction."""
N_OUTCOMES = 400
Q = (5.0, 95.0)
LONGER_WEEKS = 13
"""Length of the longer test tried where the default one would rarely be conclusive."""
N_LARGER = 2
"""How many such channels get a longer, larger design (each costs a design search)."""


@dataclass(frozen=True)
class ProposedTest:
    """A geo test design to evaluate.

    Attributes:
        channel: the channel's slug.
        weeks: test length in weeks.
        treatment_geos: market codes of the treatment markets.
        control_geos: market codes of the controls (reported, not used in the simulation).
        mde_new_patients: the design's minimum detectable effect (new patients over the test).
    """

    channel: str
    weeks: int
    treatment_geos: tuple[str, ...]
    control_geos: tuple[str, ...]
    mde_new_patients: float


@dataclass(frozen=True)
class NextExperiment:
    """What a proposed test of one channel would teach. Money USD, counts new patients.

    Attributes:
        channel, design, weeks, treatment_geos, control_geos, mde_new_patients: the test.
        spend_change: USD the test changes the channel's spend by in the treatment markets
            over the test weeks (negative for a holdout).
        expected_lift: posterior mean of the new patients the test would cause (higher minus
            lower arm); for a holdout, the new patients it is expected to lose.
        detection_probability: share of simulated outcomes whose estimate exceeds the MDE-based
            significance threshold (``1.645 sd``): how often the test would be conclusive.
        spend: the channel's window spend.
        pac, pac_lo, pac_hi: the channel's PAC now (median, 90% interval) on these draws.
        expected_pac_lo, expected_pac_hi: expected 90% interval after calibrating with the test.
        width_reduction: ``1 - expected width / current width`` (0..1).
        value_usd: ``spend x (relative width now - expected relative width after)``.
        effective_draws: mean Kish effective sample size of the importance weights.
    """

    channel: str
    design: str
    weeks: int
    treatment_geos: tuple[str, ...]
    control_geos: tuple[str, ...]
    mde_new_patients: float
    spend_change: float
    expected_lift: float
    detection_probability: float
    spend: float
    pac: float
    pac_lo: float
    pac_hi: float
    expected_pac_lo: float
    expected_pac_hi: float
    width_reduction: float
    value_usd: float
    effective_draws: float


def lift_draws(
    response: ResponseModel, channel: int, geos: np.ndarray, weeks: int, design: str
) -> tuple[np.ndarray, float]:
    """New patients a test would cause per posterior draw, and the spend it changes.

    Args:
        response: the posterior response (its window's markets, weeks and draws).
        channel: index of the channel in ``response.channels``.
        geos: (k,) indices of the treatment markets in the response's market order.
        weeks: test length; the test covers the window's last ``weeks`` weeks.
        design: ``"holdout"`` (spend off) or ``"scale_up"`` (spend x ``1 + SCALE_UP``).

    Returns:
        ((n_draws,) higher-spend arm minus lower-spend arm, summed over treatment markets and
        test weeks; USD change of spend, negative for a holdout).
    """
    if design not in ("holdout", "scale_up"):
        raise ValueError(f"unknown design {design!r}")
    n_win = response.lagged_win.shape[1]
    if not 1 <= weeks <= n_win:
        raise ValueError(f"a {weeks}-week test does not fit in the {n_win}-week window")
    t0 = n_win - weeks
    lag = response.lagged_win.shape[-1]
    full = (response.lagged_pre + response.lagged_win)[geos][:, t0:, channel, :]  # (k, T, L)
    # entry [.., w, l] is spend of week t0 + w - l: inside the test when w - l >= 0
    in_test = (np.arange(weeks)[:, None] - np.arange(lag)[None, :]) >= 0  # (T, L)
    changed = full * in_test[None]
    factor = -1.0 if design == "holdout" else SCALE_UP
    observed, other = full, full + factor * changed
    high, low = (observed, other) if design == "holdout" else (other, observed)
    weights = response.adstock.weights(response.adstock_params)[:, channel]  # (n, L)
    sat_geo = response.saturation_geo[:, geos, channel][:, :, None]  # (n, k, 1)
    ad_high = np.einsum("ktl,nl->nkt", high, weights) / sat_geo
    ad_low = np.einsum("ktl,nl->nkt", low, weights) / sat_geo
    params = channel_params(response.saturation_params, channel, 2)  # (n, 1, 1) each
    beta = response.beta[:, geos, channel][:, :, None]  # (n, k, 1)
    pop = response.pop[geos][None, :, None]
    sat = response.saturation
    lift = pop * beta * (sat.apply(ad_high, params) - sat.apply(ad_low, params))
    # USD: the window's spend on the channel, in the treatment markets' test weeks
    units = response.lagged_win[:, :, channel, 0] * response.pop[:, None]  # (G, W) spend units
    share = units[geos, t0:].sum() / units.sum() if units.sum() > 0 else 0.0
    return lift.sum(axis=(1, 2)), float(factor * response.window_spend[channel] * share)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` (percent) of ``values`` (n,) under each row of ``weights`` (S, n).

    Returns (S, len(q)). Weights need not be normalised. Uses the inverse of the weighted
    empirical distribution function (the smallest value whose cumulative weight reaches q).
    """
    order = np.argsort(values)
    v = values[order]
    w = weights[:, order]
    cum = np.cumsum(w, axis=1)
    cum /= cum[:, -1:]
    out = np.empty((w.shape[0], len(q)))
    for j, p in enumerate(q):
        idx = (cum < p / 100.0).sum(axis=1)
        out[:, j] = v[np.minimum(idx, v.size - 1)]
    return out


def calibrated_interval(
    pac: np.ndarray,
    lift: np.ndarray,
    sd: float,
    rng: np.random.Generator,
    n_outcomes: int = N_OUTCOMES,
) -> tuple[float, float, float, float]:
    """Expected 90% PAC interval after calibrating with a test of measurement sd ``sd``.

    Args:
        pac: (n,) PAC per posterior draw (USD; ``inf`` where a draw causes no new patients).
        lift: (n,) the test's lift per draw (new patients).
        sd: sd of the test's estimate (new patients).
        rng: random generator for the simulated outcomes.
        n_outcomes: simulated outcomes averaged over.

    Returns:
        (expected low, expected high, mean effective number of draws, share of outcomes whose
        estimate is significant at alpha 0.10, i.e. |estimate| > 1.645 sd).
    """
    truth = rng.integers(0, lift.size, n_outcomes)
    observed = lift[truth] + rng.normal(0.0, sd, n_outcomes)
    logw = -0.5 * ((observed[:, None] - lift[None, :]) / sd) ** 2
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    qs = weighted_quantiles(pac, w, Q)
    ess = 1.0 / (w**2).sum(axis=1)
    significant = np.abs(observed) > norm.ppf(0.95) * sd
    return (
        float(qs[:, 0].mean()),
        float(qs[:, 1].mean()),
        float(ess.mean()),
        float(significant.mean()),
    )


def rank_next_experiments(
    response: ResponseModel,
    geos: Sequence[str],
    tests: Sequence[ProposedTest],
    designs: Sequence[str] = ("holdout", "scale_up"),
    seed: int = 0,
    n_outcomes: int = N_OUTCOMES,
) -> list[NextExperiment]:
    """Evaluate each proposed test under every design, keep each channel's best, rank them.

    Args:
        response: the posterior response of the latest converged fit.
        geos: (n_geos,) market codes in the response's market order (the panel's).
        tests: one proposed design per channel (channels not in the response are skipped).
        designs: designs to try for each test; the one narrowing the PAC interval most is kept.
        seed: seed of the simulated outcomes (results are reproducible).
        n_outcomes: simulated outcomes per test.

    Returns:
        One :class:`NextExperiment` per evaluated channel (its best test and design when
        ``tests`` holds several for it), highest ``value_usd`` first.
    """
    if len(geos) != response.pop.shape[0]:
        raise ValueError("geos must list the response's markets in its order")
    index = {g: i for i, g in enumerate(geos)}
    incr = response.new_patients_by_channel(np.ones(len(response.channels)))  # (n, C)
    best_of: dict[str, NextExperiment] = {}
    for test in tests:
        if test.channel not in response.channels:
            continue
        c = response.channels.index(test.channel)
        treated = np.array([index[g] for g in test.treatment_geos if g in index], dtype=int)
        sd = test.mde_new_patients / Z_MDE
        if treated.size == 0 or not np.isfinite(sd) or sd <= 0:
            continue
        spend = float(response.window_spend[c])
        with np.errstate(divide="ignore"):
            pac = np.where(incr[:, c] > 0, spend / np.maximum(incr[:, c], 1e-300), np.inf)
        # the same estimator as the reweighted intervals (equal weights), so that a test that
        # teaches nothing narrows nothing
        lo0, med, hi0 = weighted_quantiles(pac, np.ones((1, pac.size)), (Q[0], 50.0, Q[1]))[0]
        best = best_of.get(test.channel)
        for design in designs:
            lift, spend_change = lift_draws(response, c, treated, test.weeks, design)
            rng = np.random.default_rng([seed, c, designs.index(design)])
            lo, hi, ess, detect = calibrated_interval(pac, lift, sd, rng, n_outcomes)
            reduction = 1.0 - (hi - lo) / (hi0 - lo0) if hi0 > lo0 else 0.0
            candidate = NextExperiment(
                channel=test.channel,
                design=design,
                weeks=test.weeks,
                treatment_geos=tuple(test.treatment_geos),
                control_geos=tuple(test.control_geos),
                mde_new_patients=float(test.mde_new_patients),
                spend_change=spend_change,
                expected_lift=float(lift.mean()),
                detection_probability=detect,
                spend=spend,
                pac=float(med),
                pac_lo=float(lo0),
                pac_hi=float(hi0),
                expected_pac_lo=lo,
                expected_pac_hi=hi,
                width_reduction=float(reduction),
                value_usd=float(spend * ((hi0 - lo0) - (hi - lo)) / med) if med > 0 else 0.0,
                effective_draws=ess,
            )
            if best is None or candidate.value_usd > best.value_usd:
                best = candidate
        if best is not None:
            best_of[test.channel] = best
    return sorted(best_of.values(), key=lambda e: -e.value_usd)


def with_larger_tests(
    response: ResponseModel,
    geos: Sequence[str],
    tests: Sequence[ProposedTest],
    panel: Panel,
    past_tests: Sequence[GeoTest] = (),
    weeks: int = LONGER_WEEKS,
    n_channels: int = N_LARGER,
    seed: int = 0,
) -> list[NextExperiment]:
    """:func:`rank_next_experiments`, also trying a longer and larger test where the default
    one would rarely be conclusive.

    The default designs (``tests``) are evaluated first. For up to ``n_channels`` channels whose
    default test would be conclusive in fewer than half of the simulated outcomes (its
    effect is below what it detects), taken in order of uncertain money (window spend x
    relative width of the 90% PAC interval), a ``weeks``-week design with twice the treatment
    markets is proposed by :func:`models.geo.design.propose_design` and evaluated too; each
    channel keeps whichever test teaches more.
    """
    from models.geo.design import propose_design

    ranked = rank_next_experiments(response, geos, tests, seed=seed)
    weak = sorted(
        (e for e in ranked if e.detection_probability < 0.5),
        key=lambda e: -e.spend * (e.pac_hi - e.pac_lo) / e.pac if e.pac > 0 else 0.0,
    )[:n_channels]
    larger = []
    for e in weak:
        treated = min(2 * len(e.treatment_geos), panel.n_geos - 2)
        try:
            p = propose_design(panel, e.channel, weeks, treated, seed=seed, past_tests=past_tests)
        except ValueError:  # too little history for a test this long: keep the default
            continue
        larger.append(
            ProposedTest(
                channel=p.channel,
                weeks=p.weeks,
                treatment_geos=p.treatment_geos,
                control_geos=p.control_geos,
                mde_new_patients=p.mde_new_patients,
            )
        )
    if not larger:
        return ranked
    return rank_next_experiments(response, geos, [*tests, *larger], seed=seed)
