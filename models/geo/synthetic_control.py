"""Synthetic control for one treated series (the sum of the treatment markets).

A sum of several markets is usually larger than any single control market, so it lies outside
the convex hull of the raw control series. Each control series is therefore first rescaled to
the treated series' pre-period mean (``x_j * mean(y_pre) / mean(x_j_pre)``): the weights then
match the *shape* (trend, seasonality, shocks) and every convex combination already matches the
level. Weights are non-negative and sum to one (a simplex), fitted by least squares on the
pre-period. When the simplex fit leaves structure a linear combination could explain, a ridge
correction (augmented synthetic control, Ben-Michael, Feller & Rothstein 2021, here in the
time-series direction) adds ``Xc @ delta`` with ``delta`` shrunk towards zero; the penalty is
chosen by blocked cross-validation on the pre-period only.

Shapes: ``y`` (n_times,), ``x`` (n_times, n_controls). Units: new patients per week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

RIDGE_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""Ridge penalties tried, as multiples of the mean squared control column (scale free)."""

AUGMENT_GAIN = 0.7
"""The ridge correction is used only when it cuts the cross-validated error below this share."""


def simplex_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares weights on the simplex: ``argmin ||y - x w||`` with ``w >= 0, sum w = 1``.

    Solved as a non-negative least-squares problem with a heavily weighted sum-to-one row.

    Args:
        x: (n_times, n_controls) control series.
        y: (n_times,) treated series.

    Returns:
        (n_controls,) weights, non-negative, summing to one.
    """
    n, j = x.shape
    scale = float(np.sqrt(np.mean(y**2))) or 1.0
    xs, ys = x / scale, y / scale
    big = 1e3 * np.sqrt(n)
    a = np.vstack([xs, np.full((1, j), big)])
    b = np.append(ys, big)
    w, _ = nnls(a, b, maxiter=50 * j)
    total = w.sum()
    return w / total if total > 0 else np.full(j, 1.0 / j)


@dataclass(frozen=True)
class SCModel:
    """A fitted synthetic control.

    Attributes:
        scale: (n_controls,) factors applied to the raw control series.
        weights: (n_controls,) simplex weights on the scaled, demeaned controls.
        delta: (n_controls,) ridge correction on the scaled, demeaned controls (zeros: plain SC).
        x_mean: (n_controls,) fit-period means of the scaled controls.
        y_mean: fit-period mean of the treated series.
        ridge: the ridge penalty multiple used (0 for plain SC).
    """

    scale: np.ndarray
    weights: np.ndarray
    delta: np.ndarray
    x_mean: np.ndarray
    y_mean: float
    ridge: float

    @property
    def method(self) -> str:
        """``synthetic_control`` or ``augmented_synthetic_control``."""
        return "augmented_synthetic_control" if self.ridge > 0 else "synthetic_control"

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Counterfactual treated series (n_times,) from raw controls (n_times, n_controls)."""
        xc = x * self.scale - self.x_mean
        return self.y_mean + xc @ (self.weights + self.delta)


def control_scale(x_pre: np.ndarray, y_pre: np.ndarray) -> np.ndarray:
    """Factors (n_controls,) bringing each control's pre-period mean to the treated mean."""
    means = x_pre.mean(axis=0)
    safe = np.where(means > 0, means, 1.0)
    return np.where(means > 0, y_pre.mean() / safe, 0.0)


def fit_sc(x: np.ndarray, y: np.ndarray, scale: np.ndarray, ridge: float = 0.0) -> SCModel:
    """Fit weights (and the ridge correction when ``ridge > 0``) on the given rows.

    Args:
        x: (n_times, n_controls) raw control series of the fitting weeks.
        y: (n_times,) treated series of the same weeks.
        scale: fixed control scale factors (see :func:`control_scale`).
        ridge: penalty multiple of the mean squared demeaned control column; 0 for plain SC.
    """
    xs = x * scale
    x_mean = xs.mean(axis=0)
    y_mean = float(y.mean())
    xc, yc = xs - x_mean, y - y_mean
    w = simplex_weights(xc, yc)
    delta = np.zeros_like(w)
    if ridge > 0:
        resid = yc - xc @ w
        lam = ridge * float(np.mean(xc**2)) * len(y)
        delta = np.linalg.solve(xc.T @ xc + lam * np.eye(xc.shape[1]), xc.T @ resid)
    return SCModel(scale=scale, weights=w, delta=delta, x_mean=x_mean, y_mean=y_mean, ridge=ridge)


def blocked_cv_error(
    x: np.ndarray, y: np.ndarray, scale: np.ndarray, ridge: float, block: int, n_folds: int = 12
) -> float:
    """Mean squared error of held-out blocks of ``block`` consecutive weeks (pre-period only)."""
    n = len(y)
    block = max(1, min(block, n // 3))
    starts = np.linspace(0, n - block, num=min(n_folds, max(1, n // block)), dtype=int)
    errs = []
    for s in np.unique(starts):
        hold = np.zeros(n, dtype=bool)
        hold[s : s + block] = True
        if (~hold).sum() < 4:
            continue
        model = fit_sc(x[~hold], y[~hold], scale, ridge)
        # held-out blocks are judged on their sum, the quantity the tests estimate
        errs.append(float(np.sum(y[hold] - model.predict(x[hold])) ** 2))
    return float(np.mean(errs)) if errs else float("inf")


def choose_ridge(x_pre: np.ndarray, y_pre: np.ndarray, scale: np.ndarray, block: int) -> float:
    """Pick plain SC (0) or a ridge-corrected SC by blocked cross-validation on the pre-period.

    The augmented variant is taken only when it cuts the cross-validated error of a block sum
    below ``AUGMENT_GAIN`` times that of plain SC: the fallback for a poor simplex fit.
    """
    if x_pre.shape[0] < 3 * block or x_pre.shape[1] < 2:
        return 0.0
    base = blocked_cv_error(x_pre, y_pre, scale, 0.0, block)
    best, best_err = 0.0, base
    for r in RIDGE_GRID:
        err = blocked_cv_error(x_pre, y_pre, scale, r, block)
        if err < best_err:
            best, best_err = r, err
    return best if best_err < AUGMENT_GAIN * base else 0.0
