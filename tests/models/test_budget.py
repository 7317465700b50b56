"""Budget optimiser on a fake posterior response with a known optimum."""

from __future__ import annotations

import numpy as np
import pytest

from models.budget import SpendRange, channel_draws, optimise_budget, spend_bounds


class FakeResponse:
    """Additive saturating response: channel c yields ``a[d,c] * (1 - exp(-s / k[c]))``.

    ``s`` is window spend in USD; ``a`` varies by draw to play the posterior.
    """

    def __init__(self, a: np.ndarray, k: np.ndarray, spend: np.ndarray) -> None:
        self.channels = tuple(f"ch{i}" for i in range(len(k)))
        self.window_spend = spend
        self.a = a
        self.k = k

    def new_patients_by_channel(self, spend_scale: np.ndarray) -> np.ndarray:
        s = np.asarray(spend_scale) * self.window_spend
        return self.a * (1 - np.exp(-s / self.k))

    def new_patients(self, spend_scale: np.ndarray) -> np.ndarray:
        return self.new_patients_by_channel(spend_scale).sum(axis=1)


def fake(n_draws: int = 200, seed: int = 0) -> FakeResponse:
    rng = np.random.default_rng(seed)
    a = np.array([400.0, 300.0, 200.0]) * rng.lognormal(0, 0.1, size=(n_draws, 3))
    return FakeResponse(
        a,
        k=np.array([50_000.0, 20_000.0, 80_000.0]),
        spend=np.array([60_000.0, 60_000.0, 60_000.0]),
    )


def analytic_optimum(resp: FakeResponse, lo, hi, total: float) -> np.ndarray:
    """Equal marginal returns a/k*exp(-s/k) = lambda within bounds, by bisection on lambda."""
    a = resp.a.mean(axis=0)
    k = resp.k

    def spend(lam: float) -> np.ndarray:
        return np.clip(-k * np.log(np.maximum(lam * k / a, 1e-300)), lo, hi)

    left, right = 1e-12, 1.0
    for _ in range(200):
        mid = np.sqrt(left * right)
        if spend(mid).sum() > total:
            left = mid
        else:
            right = mid
    return spend(np.sqrt(left * right))


def test_plan_keeps_total_respects_bounds_and_matches_analytic_optimum():
    resp = fake()
    plan = optimise_budget(resp, n_weeks=52)
    assert plan.converged
    assert plan.recommended_spend.sum() == pytest.approx(resp.window_spend.sum(), rel=1e-6)
    assert np.all(plan.recommended_spend >= 0.7 * resp.window_spend - 1e-3)
    assert np.all(plan.recommended_spend <= 1.3 * resp.window_spend + 1e-3)
    expected = analytic_optimum(resp, plan.lower, plan.upper, resp.window_spend.sum())
    np.testing.assert_allclose(plan.recommended_spend, expected, rtol=2e-3, atol=50)
    # Marginal returns at current spend: ch0 highest (it hits its +30% bound), ch1 lowest
    # (it saturates fastest), so money moves from ch1 to ch0.
    assert plan.recommended_spend[0] == pytest.approx(1.3 * resp.window_spend[0], rel=1e-6)
    assert plan.recommended_spend[1] < plan.recommended_spend[2] < resp.window_spend[2]
    assert plan.expected_gain > 0
    assert plan.prob_beats_current > 0.9


def test_frame_has_contract_columns_and_consistent_pac():
    resp = fake()
    frame = optimise_budget(resp, n_weeks=52).to_frame()
    for col in [
        "channel",
        "current_spend",
        "recommended_spend",
        "current_new_patients",
        "recommended_new_patients",
        "current_pac",
        "recommended_pac",
        "prob_beats_current",
        "warning",
    ]:
        assert col in frame.columns
    assert frame.height == 3
    cur = channel_draws(resp, np.ones(3)).mean(axis=0)
    np.testing.assert_allclose(frame["current_new_patients"].to_numpy(), cur)
    np.testing.assert_allclose(frame["current_pac"].to_numpy(), resp.window_spend / cur, rtol=1e-9)
    assert frame["warning"].null_count() == 3


def test_channel_draws_sum_to_total_response():
    resp = fake()
    draws = channel_draws(resp, np.array([1.2, 0.8, 1.0]))
    np.testing.assert_allclose(draws.sum(axis=1), resp.new_patients(np.array([1.2, 0.8, 1.0])))


def test_optimum_at_current_is_kept_and_does_not_claim_a_win():
    # Identical channels at equal spend: current split is already optimal.
    a = np.full((50, 2), 300.0)
    resp = FakeResponse(a, k=np.array([30_000.0, 30_000.0]), spend=np.array([40_000.0, 40_000.0]))
    plan = optimise_budget(resp, n_weeks=52)
    np.testing.assert_allclose(plan.recommended_spend, resp.window_spend, rtol=1e-4)
    assert plan.prob_beats_current <= 0.5


def test_configured_total_and_bounds():
    resp = fake()
    lower = np.array([np.nan, 55_000.0, np.nan])
    plan = optimise_budget(resp, n_weeks=52, total=200_000.0, lower=lower)
    assert plan.recommended_spend.sum() == pytest.approx(200_000.0, rel=1e-6)
    assert plan.recommended_spend[1] >= 55_000.0 - 1e-3
    with pytest.raises(ValueError, match="cannot be split"):
        optimise_budget(resp, n_weeks=52, total=400_000.0)


def test_zero_spend_channel_stays_at_zero():
    a = np.full((20, 3), 300.0)
    resp = FakeResponse(
        a, k=np.array([30_000.0, 10_000.0, 30_000.0]), spend=np.array([40_000.0, 0.0, 50_000.0])
    )
    plan = optimise_budget(resp, n_weeks=52)
    assert plan.recommended_spend[1] == 0.0
    frame = plan.to_frame()
    assert frame["current_pac"][1] is None


def test_warning_when_plan_leaves_seen_range():
    resp = fake()
    seen = SpendRange(
        window_low=np.array([900.0, 900.0, 900.0]),
        window_high=np.array([1400.0, 1400.0, 1400.0]),
        seen_low=np.array([500.0, 500.0, 500.0]),
        seen_high=np.array([1500.0, 1500.0, 1500.0]),
    )
    plan = optimise_budget(resp, n_weeks=52, spend_range=seen)
    # ch0 is raised beyond 1500/1400 = +7%: warned; ch1 is cut but stays above 500: not warned.
    assert "ch0" in plan.warnings[0] and "above" in plan.warnings[0]
    assert plan.warnings[1] == ""


def test_bounds_validation():
    with pytest.raises(ValueError):
        spend_bounds(
            np.array([1.0, 2.0]), lower=np.array([3.0, np.nan]), upper=np.array([2.0, np.nan])
        )


def test_with_the_mmm_response_model_including_carry_in():
    from models.mmm.response import ResponseModel

    rng = np.random.default_rng(3)
    n, g, w, c, lag = 40, 3, 10, 3, 4
    resp = ResponseModel(
        channels=("a", "b", "c"),
        window_spend=np.array([5_000.0, 3_000.0, 2_000.0]),
        max_weekly_spend=np.array([600.0, 400.0, 300.0]),
        pop=np.array([1e5, 2e5, 5e4]),
        lagged_pre=rng.uniform(0, 0.5, (g, w, c, lag)) * (np.arange(lag) >= 2),
        lagged_win=rng.uniform(0, 1.0, (g, w, c, lag)),
        decay=rng.uniform(0.2, 0.6, (n, c)),
        half_saturation=rng.uniform(0.5, 1.5, (n, c)),
        slope=rng.uniform(1.0, 2.0, (n, c)),
        beta=rng.uniform(1e-5, 5e-5, (n, g, c)),
    )
    plan = optimise_budget(resp, n_weeks=w)
    assert plan.recommended_spend.sum() == pytest.approx(10_000.0, rel=1e-6)
    np.testing.assert_allclose(
        plan.recommended_draws.sum(axis=1),
        resp.new_patients(plan.recommended_spend / resp.window_spend),
    )
    assert plan.expected_gain >= 0


def test_cautious_plan_moves_budget_away_from_a_wide_skewed_channel():
    """Two channels alike on average: ch1's posterior is wide and right-skewed. The mean plan
    favours ch1 (its mean return is higher); the CVaR plan favours the well-measured ch0."""
    from models.budget import WorstDrawsResponse, optimise_cautious_budget, plan_gain

    rng = np.random.default_rng(3)
    n = 400
    a = np.column_stack([np.full(n, 300.0), 340.0 * rng.lognormal(0.0, 0.8, n) / np.exp(0.32)])
    resp = FakeResponse(a, k=np.array([40_000.0, 40_000.0]), spend=np.array([50_000.0] * 2))
    assert a[:, 1].mean() > a[:, 0].mean()  # ch1 is better on average
    neutral = optimise_budget(resp, n_weeks=10, max_change=0.5)
    assert neutral.recommended_spend[1] > neutral.recommended_spend[0]
    cautious = optimise_cautious_budget(resp, n_weeks=10, max_change=0.5)
    assert cautious.recommended_spend.sum() == pytest.approx(neutral.recommended_spend.sum())
    assert cautious.recommended_spend[0] > neutral.recommended_spend[0] + 5_000

    def worst_tenth(plan) -> float:
        total = plan.recommended_draws.sum(axis=1)
        return float(np.sort(total)[: n // 10].mean())

    assert worst_tenth(cautious) > worst_tenth(neutral)
    # the wrapper's draws are the worst tenth; per-channel draws are all of them
    worst = WorstDrawsResponse(resp).new_patients(np.ones(2))
    assert (
        worst.shape == (n // 10,) and worst.max() <= np.sort(resp.new_patients(np.ones(2)))[n // 10]
    )
    mean, lo, hi = plan_gain(neutral)
    assert lo < mean < hi and mean == pytest.approx(neutral.expected_gain)
