"""Synthetic control for one treated series (the sum of the treatment markets).

A sum of several markets is usually larger than any single control market, so it lies outside
the convex hull of the raw control series. Each control series is therefore first rescaled to
the treated series' pre-period mean (``x_j * mean(y_pre) / mean(x_j_pre)``): the weights then
match the *shape* (trend, seasonality, shocks) and every convex combination already matches the
level. Weights are non-negative and sum to one (a simplex), fitted by least squares on the
demeaned pre-period.

Two regularisations, both chosen by forward-chaining time-series cross-validation on the
pre-period only (scikit-learn's ``TimeSeriesSplit``: fit on the weeks before a fold, predict the
fold, judge the fold's *sum*, the quantity a test estimates):

- ``penalty``: the simplex weights are pulled towards size weights (each control's share of the
  controls' pre-period new patients) by ``penalty * n_weeks * sigma^2 * ||w - w_size||^2``, where
  ``sigma^2`` is the mean squared week-to-week change of the scaled controls (the noise scale of
  synthetic difference-in-differences, Arkhangelsky et al. 2021). ``0`` is the plain synthetic
  control; a large penalty is the ratio of totals (difference-in-differences on all controls).
  With a short history and many controls the plain simplex fit chases noise; the penalty is what
  keeps it honest.
- ``ridge``: augmented synthetic control (Ben-Michael, Feller & Rothstein 2021; the estimator of
  Meta's GeoLift): a ridge regression (scikit-learn ``Ridge``) of the simplex fit's residuals on
  the demeaned controls adds ``Xc @ delta``. Used only when it cuts the cross-validated error
  below ``AUGMENT_GAIN`` times that of the simplex fit alone.

Shapes: ``y`` (n_times,), ``x`` (n_times, n_controls). Units: new patients per week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit

PENALTY_GRID = (0.0, 0.1, 1.0, 10.0, 1e4)
"""Penalty multiples tried (0: plain synthetic control; 1e4: the ratio of totals)."""
RIDGE_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""Ridge penalties tried, as multiples of the mean squared control column (scale free)."""
AUGMENT_GAIN = 0.7
"""The ridge correction is used only when it cuts the cross-validated error below this share."""
MIN_TRAIN_WEEKS = 6
"""Fewest weeks a cross-validation fit is trained on."""
MAX_FOLDS = 8
"""Most cross-validation folds (the most recent pre-period weeks)."""
MIN_CV_WEEKS = 26
"""Fewest pre-period weeks to choose the regularisation by cross-validation; with fewer, the
folds are too few and too short to choose anything but noise, and ``DEFAULT_SPEC`` is used."""


@dataclass(frozen=True)
class FitSpec:
    """The regularisation of a synthetic-control fit.

    Attributes:
        penalty: pull of the weights towards size weights (multiple of ``n_weeks * sigma^2``).
        ridge: ridge multiple of the augmentation (0: none).
    """

    penalty: float = 0.0
    ridge: float = 0.0


def simplex_weights(
    x: np.ndarray, y: np.ndarray, penalty: float = 0.0, prior: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares weights on the simplex: ``argmin ||y - x w||^2 + penalty ||w - prior||^2``.

    Solved as a non-negative least-squares problem with a heavily weighted sum-to-one row.

    Args:
        x: (n_times, n_controls) control series.
        y: (n_times,) treated series.
        penalty: weight of the pull towards ``prior`` (same units as ``||y||^2``).
        prior: (n_controls,) weights the penalty pulls towards (uniform when None).

    Returns:
        (n_controls,) weights, non-negative, summing to one.
    """
    n, j = x.shape
    scale = float(np.sqrt(np.mean(y**2))) or 1.0
    rows, target = [x / scale], [y / scale]
    if penalty > 0:
        prior = np.full(j, 1.0 / j) if prior is None else prior
        rows.append(np.sqrt(penalty) / scale * np.eye(j))
        target.append(np.sqrt(penalty) / scale * prior)
    big = 1e3 * np.sqrt(n)
    a = np.vstack([*rows, np.full((1, j), big)])
    b = np.concatenate([*target, [big]])
    w, _ = nnls(a, b, maxiter=50 * j)
    total = w.sum()
    return w / total if total > 0 else np.full(j, 1.0 / j)


@dataclass(frozen=True)
class SCModel:
    """A fitted synthetic control.

    Attributes:
        scale: (n_controls,) factors applied to the raw control series.
        weights: (n_controls,) simplex weights on the scaled, demeaned controls.
        delta: (n_controls,) ridge correction on the scaled, demeaned controls (zeros: none).
        x_mean: (n_controls,) fit-period means of the scaled controls.
        y_mean: fit-period mean of the treated series.
        spec: the regularisation used.
    """

    scale: np.ndarray
    weights: np.ndarray
    delta: np.ndarray
    x_mean: np.ndarray
    y_mean: float
    spec: FitSpec

    @property
    def method(self) -> str:
        """``synthetic_control`` or ``augmented_synthetic_control`` (ridge-augmented)."""
        return "augmented_synthetic_control" if self.spec.ridge > 0 else "synthetic_control"

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Counterfactual treated series (n_times,) from raw controls (n_times, n_controls)."""
        xc = x * self.scale - self.x_mean
        return self.y_mean + xc @ (self.weights + self.delta)


def control_scale(x_pre: np.ndarray, y_pre: np.ndarray) -> np.ndarray:
    """Factors (n_controls,) bringing each control's pre-period mean to the treated mean."""
    means = x_pre.mean(axis=0)
    safe = np.where(means > 0, means, 1.0)
    return np.where(means > 0, y_pre.mean() / safe, 0.0)


def fit_sc(x: np.ndarray, y: np.ndarray, scale: np.ndarray, spec: FitSpec = FitSpec()) -> SCModel:
    """Fit the weights (and the ridge correction when ``spec.ridge > 0``) on the given rows.

    Args:
        x: (n_times, n_controls) raw control series of the fitting weeks.
        y: (n_times,) treated series of the same weeks.
        scale: fixed control scale factors (see :func:`control_scale`).
        spec: the regularisation.
    """
    xs = x * scale
    x_mean = xs.mean(axis=0)
    y_mean = float(y.mean())
    xc, yc = xs - x_mean, y - y_mean
    penalty, prior = 0.0, None
    if spec.penalty > 0 and len(y) > 1:
        sigma2 = float(np.mean(np.diff(xs, axis=0) ** 2))
        penalty = spec.penalty * len(y) * sigma2
        size = x.mean(axis=0)
        prior = size / size.sum() if size.sum() > 0 else None
    w = simplex_weights(xc, yc, penalty, prior)
    delta = np.zeros_like(w)
    if spec.ridge > 0:
        resid = yc - xc @ w
        alpha = spec.ridge * float(np.mean(xc**2)) * len(y)
        if alpha > 0:
            delta = Ridge(alpha=alpha, fit_intercept=False).fit(xc, resid).coef_
    return SCModel(scale=scale, weights=w, delta=delta, x_mean=x_mean, y_mean=y_mean, spec=spec)


def cv_error(x: np.ndarray, y: np.ndarray, scale: np.ndarray, spec: FitSpec, block: int) -> float:
    """Mean squared error of the sums of held-out folds of ``block`` weeks (pre-period only).

    Folds come from ``TimeSeriesSplit``: each fit sees only the weeks before its fold, as the
    real test's fit sees only the weeks before the test. ``inf`` when no fold fits.
    """
    splits = cv_splits(len(y), block)
    errs = []
    for train, hold in splits:
        model = fit_sc(x[train], y[train], scale, spec)
        errs.append(float(np.sum(y[hold] - model.predict(x[hold]))) ** 2)
    return float(np.mean(errs)) if errs else float("inf")


def cv_splits(n: int, block: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Forward-chaining folds of ``block`` weeks (shortened so that at least 3 fit) over ``n``."""
    block = max(1, min(block, (n - MIN_TRAIN_WEEKS) // 3))
    n_splits = min(MAX_FOLDS, (n - MIN_TRAIN_WEEKS) // block)
    if n_splits < 2:
        return []
    return list(TimeSeriesSplit(n_splits=n_splits, test_size=block).split(np.arange(n)))


def choose_spec(x_pre: np.ndarray, y_pre: np.ndarray, scale: np.ndarray, block: int) -> FitSpec:
    """Pick the penalty, then whether to ridge-augment, by time-series cross-validation.

    With fewer than ``MIN_CV_WEEKS`` pre-period weeks, the size-weight penalty of 1 (a middle
    ground between the plain synthetic control and the ratio of totals) is used, unaugmented.
    """
    if x_pre.shape[1] < 2:
        return FitSpec()
    if len(y_pre) < MIN_CV_WEEKS or not cv_splits(len(y_pre), block):
        return FitSpec(penalty=1.0)
    errors = {p: cv_error(x_pre, y_pre, scale, FitSpec(p), block) for p in PENALTY_GRID}
    penalty = min(errors, key=errors.get)
    base = errors[penalty]
    best, best_err = 0.0, base
    for r in RIDGE_GRID:
        err = cv_error(x_pre, y_pre, scale, FitSpec(penalty, r), block)
        if err < best_err:
            best, best_err = r, err
    return FitSpec(penalty, best if best_err < AUGMENT_GAIN * base else 0.0)
