"""Media transforms: carry-over (adstock) and saturation, each a small class that owns its priors.

Each transform holds its settings and default priors (pymc-marketing's ``mmm/components`` is the
model): ``pm_priors()`` creates its PyMC random variables (one per channel), ``weights`` /
``apply`` compute it in numpy from posterior draws, and ``pt_weights`` / ``pt_apply`` compute the
same inside the PyMC model. Parameters travel as dicts ``{name: array}`` whose last axis is the
channel. Spend arrays follow the panel: ``(n_geos, n_weeks, n_channels)``.

Adstock weights are normalised (they sum to one), so a constant spend keeps its level and the
saturation's scale stays in units of spend. Saturation inputs are spend per capita in units of
the channel's mean non-zero weekly spend per capita, so the priors fit any currency and market
size.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Protocol

import numpy as np

#: Offset added before taking logs in the Hill curve, in units of a channel's typical spend per
#: capita. Keeps the gradient finite where adstocked spend is exactly zero (flighted channels).
LOG_EPS = 1e-6

Params = dict[str, np.ndarray]


def lagged(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Stack of lagged copies along a new last axis.

    Args:
        x: (n_geos, n_weeks, n_channels).

    Returns:
        (n_geos, n_weeks, n_channels, max_lag); entry ``[..., w, c, l] = x[..., w - l, c]``, zero
        where ``w - l < 0`` (spend before the first week counts as zero).
    """
    n_w = x.shape[1]
    out = np.zeros((*x.shape, max_lag), dtype=float)
    for lag in range(max_lag):
        if lag < n_w:
            out[:, lag:, :, lag] = x[:, : n_w - lag, :]
    return out


def pt_lagged(x, max_lag: int):
    """PyTensor version of :func:`lagged`: (G, W, C) -> (G, W, C, L)."""
    import pytensor.tensor as pt

    shifted = [x]
    for lag in range(1, max_lag):
        shifted.append(pt.concatenate([pt.zeros_like(x[:, :lag]), x[:, :-lag]], axis=1))
    return pt.stack(shifted, axis=-1)


def apply_weights(lagged_x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Adstock for many posterior draws at once (numpy, a matrix product per channel).

    Args:
        lagged_x: (G, W, C, L) lagged spend.
        weights: (n, C, L) lag weights per draw.

    Returns:
        (n, G, W, C).
    """
    n, n_c = weights.shape[0], weights.shape[1]
    out = np.empty((n, *lagged_x.shape[:3]))
    for c in range(n_c):
        out[..., c] = np.moveaxis(lagged_x[:, :, c, :] @ weights[:, c, :].T, -1, 0)
    return out


class Adstock(Protocol):
    """What the model needs of a carry-over transform."""

    kind: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    max_lag: int

    def pm_priors(self) -> dict: ...
    def weights(self, params: Params) -> np.ndarray: ...
    def pt_weights(self, params: dict): ...


class Saturation(Protocol):
    """What the model needs of a saturation transform."""

    kind: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    def pm_priors(self) -> dict: ...
    def apply(self, x: np.ndarray, params: Params) -> np.ndarray: ...
    def pt_apply(self, x, params: dict): ...


@dataclass(frozen=True)
class GeometricAdstock:
    """Geometric carry-over: ``w[l] = decay**l / sum_l decay**l``, l = 0 .. L-1.

    Attributes:
        max_lag: L, the number of weeks a dollar acts for (this week included).
        decay_mean: prior mean of the weekly decay (``Beta``).
        decay_concentration: ``alpha + beta`` of the Beta prior (larger is tighter).
    """

    kind: ClassVar[str] = "geometric"
    param_names: ClassVar[tuple[str, ...]] = ("decay",)
    max_lag: int = 8
    decay_mean: float = 0.4
    decay_concentration: float = 4.0

    def __post_init__(self) -> None:
        if not 0 < self.decay_mean < 1:
            raise ValueError("geometric prior setting 'decay_mean' must be positive and below 1")

    def pm_priors(self) -> dict:
        """``decay`` (channel,) ~ Beta with the mean and concentration above."""
        import pymc as pm

        a = self.decay_mean * self.decay_concentration
        b = (1.0 - self.decay_mean) * self.decay_concentration
        return {"decay": pm.Beta("decay", alpha=a, beta=b, dims="channel")}

    def weights(self, params: Params) -> np.ndarray:
        """(..., C, L) weights summing to one over the last axis, from decay (..., C)."""
        decay = np.asarray(params["decay"], dtype=float)
        w = decay[..., None] ** np.arange(self.max_lag)
        return w / w.sum(axis=-1, keepdims=True)

    def pt_weights(self, params: dict):
        """PyTensor weights (C, L)."""
        import pytensor.tensor as pt

        w = params["decay"][:, None] ** pt.arange(self.max_lag)[None, :]
        return w / w.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class WeibullAdstock:
    """Delayed carry-over with a Weibull-density lag profile.

    ``w[l] ∝ (k/λ) ((l+1)/λ)**(k-1) exp(-((l+1)/λ)**k)``, l = 0 .. L-1, normalised. A shape
    ``k > 1`` peaks after the week of spend (a delayed effect, e.g. TV or mail); ``k <= 1``
    decays from the first week like a geometric adstock.

    Attributes:
        max_lag: L, weeks a dollar acts for.
        shape_mean, shape_sd: Gamma prior on the shape ``k``.
        scale_median, scale_sd: LogNormal prior on the scale ``λ`` in weeks (median, log sd).
    """

    kind: ClassVar[str] = "weibull"
    param_names: ClassVar[tuple[str, ...]] = ("lag_shape", "lag_scale")
    max_lag: int = 8
    shape_mean: float = 1.5
    shape_sd: float = 0.75
    scale_median: float = 2.0
    scale_sd: float = 0.6

    def pm_priors(self) -> dict:
        """``lag_shape`` and ``lag_scale`` (channel,)."""
        import pymc as pm

        return {
            "lag_shape": pm.Gamma(
                "lag_shape", mu=self.shape_mean, sigma=self.shape_sd, dims="channel"
            ),
            "lag_scale": pm.LogNormal(
                "lag_scale", mu=np.log(self.scale_median), sigma=self.scale_sd, dims="channel"
            ),
        }

    def weights(self, params: Params) -> np.ndarray:
        """(..., C, L) normalised weights from lag_shape, lag_scale (..., C)."""
        k = np.asarray(params["lag_shape"], dtype=float)[..., None]
        lam = np.asarray(params["lag_scale"], dtype=float)[..., None]
        u = (np.arange(self.max_lag) + 1.0) / lam
        logw = np.log(k / lam) + (k - 1.0) * np.log(u) - u**k
        w = np.exp(logw - logw.max(axis=-1, keepdims=True))
        return w / w.sum(axis=-1, keepdims=True)

    def pt_weights(self, params: dict):
        """PyTensor weights (C, L)."""
        import pytensor.tensor as pt

        k = params["lag_shape"][:, None]
        lam = params["lag_scale"][:, None]
        u = (pt.arange(self.max_lag) + 1.0)[None, :] / lam
        logw = pt.log(k / lam) + (k - 1.0) * pt.log(u) - u**k
        return pt.special.softmax(logw, axis=1)


@dataclass(frozen=True)
class HillSaturation:
    """Hill curve computed in log space: ``sigmoid(slope * (log(x + eps) - log(k)))``.

    Equal to ``x**s / (x**s + k**s)`` for ``x > 0`` (to within ``eps``) with finite gradients at
    zero spend. ``k`` (half saturation) is in units of the channel's mean non-zero weekly spend
    per capita. The prior on ``k`` is wide (a factor ~3.7 either way at 90%): a channel may be far
    from or deep into saturation at its current spend, and the data, not the prior, should say.

    Attributes:
        half_saturation_sd: sd of the LogNormal(0, sd) prior on ``k``.
        slope_mean, slope_sd: mean and sd of the Gamma prior on the slope ``s``.
    """

    kind: ClassVar[str] = "hill"
    param_names: ClassVar[tuple[str, ...]] = ("half_saturation", "slope")
    half_saturation_sd: float = 0.8
    slope_mean: float = 1.5
    slope_sd: float = 0.5

    def pm_priors(self) -> dict:
        """``half_saturation`` and ``slope`` (channel,)."""
        import pymc as pm

        return {
            "half_saturation": pm.LogNormal(
                "half_saturation", mu=0.0, sigma=self.half_saturation_sd, dims="channel"
            ),
            "slope": pm.Gamma("slope", mu=self.slope_mean, sigma=self.slope_sd, dims="channel"),
        }

    def apply(self, x: np.ndarray, params: Params) -> np.ndarray:
        """Saturated response in [0, 1) (numpy); params broadcast against ``x``."""
        z = params["slope"] * (np.log(x + LOG_EPS) - np.log(params["half_saturation"]))
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def pt_apply(self, x, params: dict):
        """Same as :meth:`apply` for PyTensor tensors."""
        import pytensor.tensor as pt

        return pt.sigmoid(
            params["slope"] * (pt.log(x + LOG_EPS) - pt.log(params["half_saturation"]))
        )


@dataclass(frozen=True)
class LogisticSaturation:
    """Logistic curve ``(1 - exp(-lam x)) / (1 + exp(-lam x)) = tanh(lam x / 2)``, in [0, 1).

    Concave from zero spend (no S-shape). ``lam`` is per unit of the channel's mean non-zero
    weekly spend per capita: at ``lam = 1`` current spend gives 46% of the maximum.

    Attributes:
        lam_sd: sd of the LogNormal(0, sd) prior on ``lam``.
    """

    kind: ClassVar[str] = "logistic"
    param_names: ClassVar[tuple[str, ...]] = ("lam",)
    lam_sd: float = 1.2

    def pm_priors(self) -> dict:
        """``lam`` (channel,)."""
        import pymc as pm

        return {"lam": pm.LogNormal("lam", mu=0.0, sigma=self.lam_sd, dims="channel")}

    def apply(self, x: np.ndarray, params: Params) -> np.ndarray:
        """Saturated response in [0, 1) (numpy); params broadcast against ``x``."""
        return np.tanh(0.5 * params["lam"] * x)

    def pt_apply(self, x, params: dict):
        """Same as :meth:`apply` for PyTensor tensors."""
        import pytensor.tensor as pt

        return pt.tanh(0.5 * params["lam"] * x)


ADSTOCKS: dict[str, type] = {c.kind: c for c in (GeometricAdstock, WeibullAdstock)}
SATURATIONS: dict[str, type] = {c.kind: c for c in (HillSaturation, LogisticSaturation)}


def prior_settings(transform: type) -> tuple[str, ...]:
    """Names of a transform class's prior settings: its fields but ``max_lag``."""
    return tuple(f.name for f in fields(transform) if f.name != "max_lag")


def with_priors(
    registry: dict[str, type], role: str, kind: str, priors: dict[str, float], **settings
):
    """``registry[kind](**settings, **priors)`` after checking the kind and the priors: a known
    kind, known setting names, positive finite values (the class checks its own bounds too).

    Args:
        registry: :data:`ADSTOCKS` or :data:`SATURATIONS`; ``role`` names it in messages
            (``adstock``, ``saturation``).

    Raises:
        ValueError: naming the kind or setting and the choices (run config, not data: no data
            value).
    """
    if kind not in registry:
        raise ValueError(f"{role} must be one of {sorted(registry)}")
    transform = registry[kind]
    known = prior_settings(transform)
    for name, value in priors.items():
        if name not in known:
            raise ValueError(f"{kind} has no prior setting {name!r}; it has {', '.join(known)}")
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{kind} prior setting {name!r} must be positive")
    return transform(**settings, **priors)


def channel_params(params: Params, c: int, ndim: int) -> Params:
    """Parameters of channel ``c`` for draws (n, C), shaped (n, 1, ..., 1) with ``ndim`` ones."""
    return {k: v[(slice(None), c) + (None,) * ndim] for k, v in params.items()}


def draw_params(params: Params, ndim: int) -> Params:
    """Parameters (n, C) shaped (n, 1, ..., 1, C) with ``ndim`` ones, to broadcast over data."""
    return {k: v[(slice(None),) + (None,) * ndim + (slice(None),)] for k, v in params.items()}
