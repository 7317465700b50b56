"""Intervals and p-values for the cumulative effect of a geo test: in time or across markets.

Two ways to learn how far a synthetic control's estimate strays from the truth, chosen by a
rule on the shape of the test (:func:`choose_inference`; docs/geo_tests.md states it):

- **Conformal inference in time** (Chernozhukov, Wüthrich & Zhu 2021, JASA): under the null
  that the test weeks' effect is ``theta`` (spread evenly over the test weeks), subtract it from
  the treated series, fit the synthetic control on *all* weeks (pre-period and test weeks alike,
  so that test-week residuals are as overfitted as the others), and compare the absolute sum of
  the test weeks' residuals with the sums of every other block of as many consecutive weeks
  (cyclic shifts, which keep the serial dependence). The interval collects every ``theta`` whose
  p-value exceeds 0.10 (test inversion). It needs many weeks per control market: with more
  controls than weeks the all-weeks fit absorbs any ``theta`` and the interval is open.
- **Placebo-in-space** (Abadie, Diamond & Hainmueller 2010, studentised): sets of as many
  control markets as were treated are drawn at random from the control pool, summed and
  "analysed" as if treated, with the same estimator and the rest of the pool as donors. Their
  errors are divided by their own week-to-week noise over the pre-period
  (``sd(weekly changes) / sqrt(2) * sqrt(n_post)``) so that small and large placebo sets are
  comparable with the treated set; the treated estimate's
  studentised error is then one more draw from that distribution when treatment was assigned at
  random over markets (as ``design-test`` does). Interval: ``effect - scale * t`` over the
  5th and 95th percentiles ``t`` of the placebo distribution (finite-sample order statistics).

Shapes: ``x`` (n_times, n_controls) raw controls, ``y`` (n_times,) treated sum; the test weeks are
the last ``n_post`` rows. Units: new patients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from models.geo.synthetic_control import FitSpec, control_scale, fit_sc

TIME = "conformal_in_time"
SPACE = "placebo_in_space"
MIN_SPACE_CONTROLS = 30
"""Fewest control markets for placebo-in-space inference."""
SPACE_CONTROLS_PER_TREATED = 3
"""Placebo-in-space also needs this many control markets per treatment market."""
N_PLACEBOS = 100
"""Placebo sets drawn (all of them when there are fewer distinct sets)."""


def choose_inference(n_controls: int, n_treated: int) -> str:
    """The inference rule: placebo-in-space with a large control pool, else conformal in time.

    Placebo-in-space when the pool has at least ``MIN_SPACE_CONTROLS`` markets and at least
    ``SPACE_CONTROLS_PER_TREATED`` per treatment market (enough distinct placebo sets, and donors
    left beside each); otherwise conformal inference in time, which needs weeks instead.
    """
    if n_controls >= max(MIN_SPACE_CONTROLS, SPACE_CONTROLS_PER_TREATED * n_treated):
        return SPACE
    return TIME


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
    x: np.ndarray, y: np.ndarray, n_post: int, scale: np.ndarray, spec: FitSpec, theta: float
) -> float:
    """p-value of the null "the test weeks' cumulative effect (actual - counterfactual) is theta".

    Args:
        x: (n_times, n_controls) raw control series, test weeks last.
        y: (n_times,) treated series.
        n_post: number of test weeks (the last rows).
        scale: control scale factors (fixed on the pre-period).
        spec: the regularisation of the chosen model.
        theta: hypothesised cumulative effect over the test weeks, new patients.
    """
    y0 = y.copy()
    y0[-n_post:] -= theta / n_post
    model = fit_sc(x, y0, scale, spec)
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
    spec: FitSpec,
    center: float,
    spread: float,
    level: float = 0.90,
    n_grid: int = 41,
    refine: int = 7,
) -> ConformalResult:
    """Invert the conformal test over a grid of effects around ``center``.

    Args:
        x, y, n_post, scale, spec: as in :func:`conformal_pvalue`.
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
        return conformal_pvalue(x, y, n_post, scale, spec, theta)

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


@dataclass(frozen=True)
class TimeConformal:
    """Conformal inference in time for one test, as an object with the placebo's interface.

    Attributes:
        x, y, n_post, scale, spec: as in :func:`conformal_pvalue`.
        estimate: the point estimate of the cumulative effect (centres the interval search).
        spread: a rough standard error of it (sets the search grid).
    """

    x: np.ndarray
    y: np.ndarray
    n_post: int
    scale: np.ndarray
    spec: FitSpec
    estimate: float
    spread: float

    method = TIME

    def p_value(self, theta: float = 0.0) -> float:
        """p-value of "the cumulative effect is ``theta``"."""
        return conformal_pvalue(self.x, self.y, self.n_post, self.scale, self.spec, theta)

    def interval(self, level: float) -> tuple[float, float]:
        """The ``level`` interval by test inversion (infinite ends when the data cannot close
        it)."""
        res = conformal_interval(
            self.x, self.y, self.n_post, self.scale, self.spec, self.estimate, self.spread, level
        )
        return res.lo, res.hi


@dataclass(frozen=True)
class PlaceboInSpace:
    """The studentised placebo distribution of one test.

    Attributes:
        t: (n_placebos,) sorted studentised placebo errors (estimate / scale, true effect 0).
        estimate: the treated set's estimate of the cumulative effect, new patients.
        scale: its studentising scale (pre-period week-to-week noise x sqrt(n_post)), new
            patients.
    """

    t: np.ndarray
    estimate: float
    scale: float

    method = SPACE

    def p_value(self, theta: float = 0.0) -> float:
        """Two-sided placebo p-value of "the cumulative effect is ``theta``"."""
        obs = (self.estimate - theta) / self.scale
        n = len(self.t)
        above = (1 + np.count_nonzero(self.t >= obs)) / (n + 1)
        below = (1 + np.count_nonzero(self.t <= obs)) / (n + 1)
        return float(min(1.0, 2.0 * min(above, below)))

    def interval(self, level: float) -> tuple[float, float]:
        """Every ``theta`` with p-value above ``1 - level``: ``estimate - scale * t`` between
        order statistics of ``t``. Open-ended when there are too few placebos."""
        n = len(self.t)
        # a value t_(j) (1-based, ascending) is accepted from above when
        # 2 * (1 + n - j + 1) / (n + 1) > alpha, i.e. j < n + 2 - alpha * (n + 1) / 2
        need = (1.0 - level) * (n + 1) / 2
        j_hi = math.ceil(n + 2 - need) - 1  # largest accepted j
        j_lo = n + 1 - j_hi  # by symmetry, the smallest
        if n == 0 or j_hi > n or j_lo < 1:
            return -math.inf, math.inf
        t_hi, t_lo = self.t[j_hi - 1], self.t[j_lo - 1]
        return self.estimate - self.scale * t_hi, self.estimate - self.scale * t_lo


def _studentised_error(
    y: np.ndarray, x: np.ndarray, n_post: int, spec: FitSpec
) -> tuple[float, float]:
    """Estimate (actual - counterfactual over the test weeks) and its studentising scale.

    The scale is the series' own week-to-week noise over the pre-period (the standard deviation
    of its weekly changes over sqrt 2, times sqrt(n_post)): no fit enters it, so a spec chosen
    for the treated series cannot shrink its scale more than a placebo's.
    """
    n_pre = len(y) - n_post
    scale = control_scale(x[:n_pre], y[:n_pre])
    model = fit_sc(x[:n_pre], y[:n_pre], scale, spec)
    effect = float(np.sum(y[n_pre:] - model.predict(x[n_pre:])))
    noise = float(np.std(np.diff(y[:n_pre]))) / math.sqrt(2)
    floor = 1e-6 * (1.0 + float(np.mean(np.abs(y[:n_pre]))))
    return effect, max(noise, floor) * math.sqrt(n_post)


def _placebo_sets(rng: np.random.Generator, n: int, k: int, size: int) -> list[np.ndarray]:
    """Up to ``size`` distinct ``k``-subsets of ``range(n)``: all of them when few, else random."""
    if comb(n, k) <= size:
        return [np.array(c) for c in combinations(range(n), k)]
    seen: set[tuple[int, ...]] = set()
    out = []
    while len(out) < size:
        pick = tuple(sorted(rng.choice(n, size=k, replace=False).tolist()))
        if pick not in seen:
            seen.add(pick)
            out.append(np.array(pick))
    return out


def placebo_in_space(
    y: np.ndarray,
    x: np.ndarray,
    n_post: int,
    n_treated: int,
    spec: FitSpec,
    seed: int = 0,
    n_placebos: int = N_PLACEBOS,
) -> PlaceboInSpace:
    """Run the estimator on placebo sets of ``n_treated`` control markets.

    Args:
        y: (n_times,) treated sum, test weeks last.
        x: (n_times, n_controls) control markets, same weeks.
        n_post: number of test weeks.
        n_treated: markets in the treated sum (the size of each placebo set).
        spec: the regularisation chosen for the treated series (used for every placebo).
        seed: seed of the placebo draws (results are reproducible).
        n_placebos: placebo sets to draw.
    """
    n_pre = len(y) - n_post
    estimate, scale = _studentised_error(y, x, n_post, spec)
    rng = np.random.default_rng(seed)
    n_c = x.shape[1]
    t = []
    for pick in _placebo_sets(rng, n_c, n_treated, n_placebos):
        yb = x[:, pick].sum(axis=1)
        if yb[:n_pre].sum() <= 0:
            continue
        donors = np.delete(x, pick, axis=1)
        e, s = _studentised_error(yb, donors, n_post, spec)
        t.append(e / s)
    return PlaceboInSpace(t=np.sort(np.array(t)), estimate=estimate, scale=scale)
