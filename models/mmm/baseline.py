"""Pieces of the model's log baseline: the time effects, and a national fit's coordinates.

Kept apart from :mod:`models.mmm.model` so that the national reparameterisation, with its
Jacobian, reads on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.mmm.model import ModelData, Priors


def log_time_effects(data: ModelData, trend, gamma, holiday):
    """(n_weeks,) log-scale effect of trend, yearly seasonality and holiday weeks (PyTensor)."""
    import pytensor.tensor as pt

    return trend * data.t + pt.dot(data.fourier, gamma) + holiday * data.holiday


def national_log_baseline(data: ModelData, priors: Priors, media, obs_w):
    """The log baseline of a national fit (one market), reparameterised to sample cleanly.

    One national series pins down the weekly mean ``baseline + media`` well, but not how it
    splits between the two. The split is a curved ridge in the model's own parameters: as the
    media share of new patients grows, the baseline level ``a0`` falls like
    ``log(mean(y) - M)`` (``M`` the mean media contribution over the observed weeks), and the
    log-scale amplitudes of trend, seasonality, holiday and controls grow like
    ``1 / share`` (``share = (mean(y) - M) / mean(y)``, the baseline share), because the same
    weekly swings in new patients are carried by a smaller baseline. NUTS diverges on that
    ridge. So the free variables are

    - ``*_raw`` = amplitude * share for ``trend``, ``gamma``, ``holiday``, ``delta``;
    - ``a0_offset`` = ``a0 - log((mean(y) - M) / B)``, ``B`` the mean of the baseline at
      ``a0 = 0`` over the observed weeks.

    This is a change of coordinates only: the model's priors are added as potentials on the
    original parameters (kept as deterministics under their usual names), with the log
    Jacobian ``-n_amplitudes * log(share)`` (``a0_offset`` is a shift: unit Jacobian), so the
    posterior is the same model's. ``mean(y) - M`` is floored smoothly (softplus) where media
    alone would exceed the observed mean.

    The priors being potentials, a national model cannot be forward-sampled (no prior
    predictive; ``pm.Flat`` says so when asked).

    Returns:
        (1, n_weeks) log baseline new patients per person.
    """
    import pymc as pm
    import pytensor.tensor as pt

    def normal_prior(name: str, sd: float, share, dims: str | None = None):
        raw = pm.Flat(f"{name}_raw", dims=dims)
        value = pm.Deterministic(name, raw / share, dims=dims)
        pm.Potential(f"{name}_prior", pm.logp(pm.Normal.dist(0.0, sd), value).sum())
        return value

    n_obs = obs_w.sum()
    y_mean = (data.y[0] * obs_w).sum() / n_obs
    m_mean = (media[0] * obs_w).sum() / n_obs
    sharp = 20.0  # softplus sharpness; the floor is mean(y) * log(2) / sharp
    gap = y_mean / sharp * pt.softplus(sharp * (y_mean - m_mean) / y_mean)
    share = gap / y_mean
    trend = normal_prior("trend", priors.trend_sd, share)
    gamma = normal_prior("gamma", priors.season_sd, share, "fourier")
    hol = normal_prior("holiday", priors.holiday_sd, share)
    log_shape = log_time_effects(data, trend, gamma, hol)
    n_amp = 2 + data.fourier.shape[1]
    if data.controls.shape[2]:
        delta = normal_prior("delta", priors.control_sd, share, "control")
        log_shape = log_shape + pt.dot(data.controls[0], delta)
        n_amp += data.controls.shape[2]
    pm.Potential("amplitudes_jacobian", -n_amp * pt.log(share))
    b_mean = (data.pop[0] * pt.exp(log_shape) * obs_w).sum() / n_obs
    offset = pm.Flat("a0_offset")
    a0 = pm.Deterministic("a0", pt.log(gap) - pt.log(b_mean) + offset)
    pm.Potential("a0_prior", pm.logp(pm.Normal.dist(data.log_rate_centre, 1.0), a0))
    pm.Deterministic("a_geo", a0[None], dims="geo")
    return a0 + log_shape[None, :]
