"""The simulator's true media transforms: carry-over (adstock) kernels and saturation curves.

Plain numpy on spend per capita. ``geometric`` and ``hill`` are the forms the clearcount model
assumes; ``weibull`` (delayed carry-over) and ``logistic`` are the misspecified alternatives a
world can use instead.
"""

from __future__ import annotations

import numpy as np

#: Weibull shape of the delayed carry-over kernels (> 1: the weight rises, peaks, then falls).
WEIBULL_SHAPE = 2.5


def geometric_weights(decay: float, max_lag: int) -> np.ndarray:
    """Normalised geometric adstock weights ``w[l] ∝ decay**l``, shape (max_lag,), sum 1."""
    w = decay ** np.arange(max_lag)
    return w / w.sum()


def weibull_weights(shape: float, scale: float, max_lag: int) -> np.ndarray:
    """Normalised Weibull-pdf adstock weights, shape (max_lag,), sum 1.

    ``w[l] ∝ (k/λ) ((l+1)/λ)^(k-1) exp(-((l+1)/λ)^k)`` for l = 0..max_lag-1, k = ``shape``,
    λ = ``scale`` (weeks). With k > 1 the largest weight is at lag
    ``round(λ ((k-1)/k)^(1/k)) - 1``: the effect of a week's spend peaks weeks later.
    """
    t = np.arange(1, max_lag + 1) / scale
    w = (shape / scale) * t ** (shape - 1) * np.exp(-(t**shape))
    return w / w.sum()


def weibull_scale_for_peak(peak_lag: int, shape: float = WEIBULL_SHAPE) -> float:
    """The Weibull scale λ whose kernel (in :func:`weibull_weights`) peaks at ``peak_lag`` weeks."""
    return (peak_lag + 1) / ((shape - 1) / shape) ** (1 / shape)


def convolve(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Carry-over along the last axis: ``out[..., t] = sum_l weights[l] x[..., t - l]``."""
    out = np.zeros_like(x, dtype=float)
    n = x.shape[-1]
    for lag, wl in enumerate(weights[:n]):
        out[..., lag:] += wl * x[..., : n - lag]
    return out


def hill(x: np.ndarray, half_saturation: float, slope: float) -> np.ndarray:
    """Hill saturation ``x^s / (x^s + k^s)``, 0 at x = 0, 1/2 at x = k."""
    xs = np.power(np.maximum(x, 0.0), slope)
    return xs / (xs + half_saturation**slope)


def logistic(x: np.ndarray, lam: float) -> np.ndarray:
    """Logistic saturation ``(1 - exp(-lam x)) / (1 + exp(-lam x))``, 0 at 0, tends to 1."""
    e = np.exp(-lam * np.maximum(x, 0.0))
    return (1 - e) / (1 + e)


def logistic_lam(half_saturation: float) -> float:
    """The logistic ``lam`` that puts half of the maximum effect at ``half_saturation``."""
    return float(np.log(3.0) / half_saturation)
