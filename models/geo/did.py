"""Difference-in-differences cross-check of a geo test (statsmodels, cluster-robust by market).

Two-way fixed effects on new patients per 1,000 people: market and week effects are removed by
the within transformation of the balanced panel, then ``y ~ D`` (D = treatment market in a test
week) is fitted by OLS with standard errors clustered by market. The per-capita effect is turned
into cumulative new patients over the test weeks with the treatment markets' population. With few
treated clusters the clustered errors are optimistic: this is a cross-check of the synthetic
control's point estimate, not the reported interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy.stats import norm


@dataclass(frozen=True)
class DiDResult:
    """Cumulative effect (actual - counterfactual) over the test weeks, new patients.

    Attributes:
        estimate: point estimate.
        lo, hi: 90% interval from the cluster-robust standard error.
        se: that standard error.
    """

    estimate: float
    lo: float
    hi: float
    se: float


def did_estimate(
    y: np.ndarray, population: np.ndarray, treated: np.ndarray, n_post: int, level: float = 0.90
) -> DiDResult:
    """Two-way fixed-effects DiD on per-capita new patients.

    Args:
        y: (n_markets, n_times) weekly new patients, test weeks last.
        population: (n_markets,) people per market.
        treated: (n_markets,) boolean, True for treatment markets.
        n_post: number of test weeks (the last columns).
        level: confidence level of the interval.
    """
    n_m, n_t = y.shape
    rate = y / population[:, None] * 1000.0
    d = np.zeros((n_m, n_t))
    d[np.ix_(treated, np.arange(n_t - n_post, n_t))] = 1.0

    def within(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()

    yy, dd = within(rate).reshape(-1), within(d).reshape(-1)
    groups = np.repeat(np.arange(n_m), n_t)
    fit = sm.OLS(yy, dd[:, None]).fit(cov_type="cluster", cov_kwds={"groups": groups})
    per_week = population[treated].sum() / 1000.0
    est = float(fit.params[0]) * per_week * n_post
    se = float(fit.bse[0]) * per_week * n_post
    z = float(norm.ppf(0.5 + level / 2))
    return DiDResult(estimate=est, lo=est - z * se, hi=est + z * se, se=se)
