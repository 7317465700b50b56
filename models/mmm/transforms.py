"""Media transforms: geometric adstock and Hill saturation.

Each transform is a small class holding its settings and default priors, with a numpy function
(used for results from posterior draws) and a PyTensor function (used inside the PyMC model)
that compute the same thing. Shapes follow the panel: ``(n_geos, n_weeks, n_channels)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Offset added before taking logs in the Hill curve, in units of a channel's typical spend per
#: capita. Keeps the gradient finite where adstocked spend is exactly zero (flighted channels).
LOG_EPS = 1e-6


@dataclass(frozen=True)
class GeometricAdstock:
    """Geometric carry-over with normalised weights.

    ``adstock[w] = sum_{l=0}^{L-1} decay**l * x[w - l] / sum_l decay**l`` (spend before the first
    week counts as zero). Weights sum to one, so a constant spend stays the same level.

    Attributes:
        max_lag: L, the number of weeks a dollar acts for (this week included).
        decay_mean: prior mean of the weekly decay (``Beta``).
        decay_concentration: ``alpha + beta`` of the Beta prior (larger is tighter).
    """

    max_lag: int = 8
    decay_mean: float = 0.4
    decay_concentration: float = 4.0

    @property
    def decay_prior(self) -> tuple[float, float]:
        """(alpha, beta) of the Beta prior on the weekly decay."""
        return (
            self.decay_mean * self.decay_concentration,
            (1.0 - self.decay_mean) * self.decay_concentration,
        )

    def weights(self, decay: np.ndarray) -> np.ndarray:
        """Normalised lag weights.

        Args:
            decay: (...,) weekly decay in [0, 1).

        Returns:
            (..., max_lag) weights summing to one over the last axis.
        """
        decay = np.asarray(decay, dtype=float)
        w = decay[..., None] ** np.arange(self.max_lag)
        return w / w.sum(axis=-1, keepdims=True)

    def lagged(self, x: np.ndarray) -> np.ndarray:
        """Stack of lagged copies along a new last axis.

        Args:
            x: (n_geos, n_weeks, n_channels).

        Returns:
            (n_geos, n_weeks, n_channels, max_lag); entry ``[..., w, c, l] = x[..., w - l, c]``,
            zero where ``w - l < 0``.
        """
        n_w = x.shape[1]
        out = np.zeros((*x.shape, self.max_lag), dtype=float)
        for lag in range(self.max_lag):
            if lag < n_w:
                out[:, lag:, :, lag] = x[:, : n_w - lag, :]
        return out

    def apply(self, x: np.ndarray, decay: np.ndarray) -> np.ndarray:
        """Adstocked series (numpy).

        Args:
            x: (n_geos, n_weeks, n_channels) spend (any unit).
            decay: (n_channels,) weekly decay.

        Returns:
            (n_geos, n_weeks, n_channels), same unit as ``x``.
        """
        return np.einsum("gwcl,cl->gwc", self.lagged(x), self.weights(decay))

    @staticmethod
    def apply_draws(lagged: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Adstock for many posterior draws at once (numpy, matrix products per channel).

        Args:
            lagged: (G, W, C, L) lagged spend.
            weights: (n, C, L) lag weights per draw.

        Returns:
            (n, G, W, C).
        """
        n, n_c = weights.shape[0], weights.shape[1]
        out = np.empty((n, *lagged.shape[:3]))
        for c in range(n_c):
            out[..., c] = np.moveaxis(lagged[:, :, c, :] @ weights[:, c, :].T, -1, 0)
        return out

    @staticmethod
    def pt_weights(decay, max_lag: int):
        """PyTensor lag weights: decay (n_channels,) -> (n_channels, max_lag)."""
        import pytensor.tensor as pt

        w = decay[:, None] ** pt.arange(max_lag)[None, :]
        return w / w.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class HillSaturation:
    """Hill curve computed in log space: ``sigmoid(slope * (log(x + eps) - log(k)))``.

    Equal to ``x**s / (x**s + k**s)`` for ``x > 0`` (to within ``eps``) with finite gradients at
    zero spend. ``k`` (half saturation) is in units of the channel's mean non-zero weekly spend
    per capita, so the default prior fits any currency scale and market size.

    Attributes:
        half_saturation_sd: sd of the LogNormal(0, sd) prior on ``k``.
        slope_mean, slope_sd: mean and sd of the Gamma prior on the slope ``s``.
    """

    half_saturation_sd: float = 0.5
    slope_mean: float = 1.5
    slope_sd: float = 0.5

    @staticmethod
    def apply(x: np.ndarray, k: np.ndarray, slope: np.ndarray) -> np.ndarray:
        """Saturated response in [0, 1) (numpy); ``k`` and ``slope`` broadcast against ``x``."""
        z = slope * (np.log(x + LOG_EPS) - np.log(k))
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    @staticmethod
    def pt_apply(x, k, slope):
        """Same as :meth:`apply` for PyTensor tensors."""
        import pytensor.tensor as pt

        return pt.sigmoid(slope * (pt.log(x + LOG_EPS) - pt.log(k)))
