"""Conformal inference for the cumulative effect of a geo test.

Chernozhukov, Wüthrich & Zhu (2021), "An exact and robust conformal inference method for
counterfactual and synthetic controls" (JASA): under the null that the test weeks' effect is
``theta`` (spread evenly over the test weeks), subtract it from the treated series, fit the
synthetic control on *all* weeks (pre-period and test weeks alike, so that test-week residuals
are as overfitted as the others), and compare the test statistic of the test-week residuals with
its values under moving-block permutations (cyclic shifts of the residual series, which keep the
serial dependence). The p-value is the share of shifts with a statistic at least as large; the
90% interval collects every ``theta`` whose p-value exceeds 0.10 (test inversion).

The statistic is the absolute sum of the ``n_post`` residuals of a block: the cumulative effect.
Shapes: ``x`` (n_times, n_controls) raw controls, ``y`` (n_times,) treated sum; the test weeks are
the last ``n_post`` rows. Units: new patients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.geo.synthetic_control import fit_sc


def circular_block_sums(u: np.ndarray, length: int) -> np.ndarray:
    """Sums of ``length`` consecutive values starting at every position, wrapping around.

    Args:
        u: (n,) residuals.
        length: block length.

    Returns:
        (n,) block sums; entry ``k`` sums ``u[k], ..., u[(k + length - 1) % n]``.
    """
    n = len(u)
    ext = np.concatenate([u, u[: length - 1]])
    csum = np.concatenate([[0.0], np.cumsum(ext)])
    return csum[length : length + n] - csum[:n]


def conformal_pvalue(
    x: np.ndarray, y: np.ndarray, n_post: int, scale: np.ndarray, ridge: float, theta: float
) -> float:
    """p-value of the null "the test weeks' cumulative effect (actual - counterfactual) is theta".

    Args:
        x: (n_times, n_controls) raw control series, test weeks last.
        y: (n_times,) treated series.
        n_post: number of test weeks (the last rows).
        scale: control scale factors (fixed on the pre-period).
        ridge: ridge penalty multiple of the chosen model (0: plain synthetic control).
        theta: hypothesised cumulative effect over the test weeks, new patients.
    """
    y0 = y.copy()
    y0[-n_post:] -= theta / n_post
    model = fit_sc(x, y0, scale, ridge)
    u = y0 - model.predict(x)
    sums = np.abs(circular_block_sums(u, n_post))
    observed = sums[len(u) - n_post]
    return float(np.mean(sums >= observed - 1e-9 * (1.0 + abs(observed))))


@dataclass(frozen=True)
class ConformalResult:
    """Test inversion of :func:`conformal_pvalue`.

    Attributes:
        p_value: p-value of "no effect".
        lo, hi: interval of the cumulative effect (actual - counterfactual), new patients.
        level: the interval's confidence level.
        n_permutations: number of block permutations (the p-value resolution is 1/this).
    """

    p_value: float
    lo: float
    hi: float
    level: float
    n_permutations: int


def conformal_interval(
    x: np.ndarray,
    y: np.ndarray,
    n_post: int,
    scale: np.ndarray,
    ridge: float,
    center: float,
    spread: float,
    level: float = 0.90,
    n_grid: int = 41,
    refine: int = 7,
) -> ConformalResult:
    """Invert the conformal test over a grid of effects around ``center``.

    Args:
        x, y, n_post, scale, ridge: as in :func:`conformal_pvalue`.
        center: the point estimate of the cumulative effect.
        spread: a rough standard error of it (sets the grid width; the grid grows until the
            interval is closed on both sides).
        level: confidence level of the interval.
        n_grid: grid points over ``center +- 5 * spread``.
        refine: bisection steps for each end of the interval.
    """
    alpha = 1.0 - level
    spread = max(float(spread), 1e-6 * (1.0 + abs(center)), 1e-9)

    def p(theta: float) -> float:
        return conformal_pvalue(x, y, n_post, scale, ridge, theta)

    half = 5.0 * spread
    for _ in range(6):
        grid = np.linspace(center - half, center + half, n_grid)
        ps = np.array([p(t) for t in grid])
        accepted = ps > alpha
        if not accepted.any():
            # the point estimate itself is rejected (can happen with a coarse grid): widen
            half *= 2.0
            continue
        if accepted[0] or accepted[-1]:
            half *= 2.0
            continue
        break
    idx = np.flatnonzero(accepted)
    if idx.size == 0:
        # no effect size is compatible with the data at this resolution: say "unknown"
        return ConformalResult(p(0.0), -math.inf, math.inf, level, len(y))
    # still accepted at the edge of the widest grid: the interval is unbounded on that side
    # (happens when there are too few weeks for the permutation p-value to go below alpha)
    lo = -math.inf if accepted[0] else _bisect(p, grid[idx[0] - 1], grid[idx[0]], alpha, refine)
    hi = math.inf if accepted[-1] else _bisect(p, grid[idx[-1] + 1], grid[idx[-1]], alpha, refine)
    return ConformalResult(p(0.0), float(lo), float(hi), level, len(y))


def _bisect(p, out: float, inside: float, alpha: float, steps: int) -> float:
    """Move towards the boundary between a rejected ``out`` and an accepted ``inside`` value."""
    for _ in range(steps):
        mid = 0.5 * (out + inside)
        if p(mid) > alpha:
            inside = mid
        else:
            out = mid
    return inside
