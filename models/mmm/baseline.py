"""The model's log baseline, as stated and in the coordinates it is sampled in.

The stated baseline (module docstring of :mod:`models.mmm.model`)::

    log_base[g, w] = a_geo[g] + trend * t[w] + knot_basis[w] @ cumsum(level_step)
                     + fourier[w] @ gamma + holiday * hol[w] + controls[g, w] @ delta
    level_step = sigma_level * z_level,  z_level ~ Normal(0, 1),  sigma_level ~ LogNormal(log(level_step_scale), 0.75)
    a_geo[g] ~ Normal(a0, sigma_a)   (one market: a_geo = a0)
    sigma_a ~ LogNormal(log(baseline_geo_median), baseline_geo_log_sd)

The counts pin down each market's weekly mean ``baseline + media`` well, but less well how it
splits between the two, and the split is a curved ridge in the stated parameters. As the
media share of new patients grows, a market's level ``a_geo`` falls like
``log(mean(y) - M)`` (``M`` its mean media contribution over the observed market-weeks), and the
log-scale amplitudes of trend, seasonality, holiday and controls grow like ``1 / share``
(``share``, the baseline share of all new patients), because the same weekly swings are carried
by a smaller baseline. NUTS diverges on that ridge where a channel's effect is weakly identified
(one national series; an always-on channel). So a fit samples

- ``*_raw`` = amplitude * share for ``trend``, ``gamma``, ``z_level``, ``holiday``,
  ``delta``;
- ``a_geo_offset`` = ``a_geo - log((mean(y) - M) / B)`` per market (one market:
  ``a0_offset``), ``B`` the market's mean baseline per unit level over the observed weeks.

This is a change of coordinates only: the stated priors are potentials on the stated
parameters (kept as deterministics under their names), with the log Jacobian
``-n_amplitudes * log(share)`` (the offsets are shifts, with unit Jacobian), so the posterior
is the stated model's. ``mean(y) - M`` is floored smoothly (softplus) where media alone would
exceed the observed mean. Priors that are potentials cannot be forward-sampled: the prior
predictive uses the stated coordinates (``pm.Flat`` fails loudly if asked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.mmm.model import ModelData, Priors

#: softplus sharpness of the floor of ``mean(y) - M``; the floor is ``mean(y) * log(2) / 20``
GAP_SHARPNESS = 20.0


def baseline_geo_spread(priors: Priors):
    """``sigma_a``, the market-to-market log spread of the baselines per person: a LogNormal
    kept off zero (see ``Priors.baseline_geo_median``)."""
    import pymc as pm

    return pm.LogNormal(
        "sigma_a", mu=np.log(priors.baseline_geo_median), sigma=priors.baseline_geo_log_sd
    )


def log_time_effects(data: ModelData, trend, gamma, level_step, holiday):
    """(n_weeks,) log-scale effect of trend, random-walk level, yearly seasonality and holiday
    weeks (PyTensor)."""
    import pytensor.tensor as pt

    out = trend * data.t + pt.dot(data.fourier, gamma) + holiday * data.holiday
    if data.knot_basis.shape[1]:
        out = out + pt.dot(data.knot_basis, pt.cumsum(level_step))
    return out


def stated_log_baseline(data: ModelData, priors: Priors):
    """(n_geos, n_weeks) log baseline new patients per person, with the stated priors as random
    variables (forward-samplable: for the prior predictive)."""
    import pymc as pm
    import pytensor.tensor as pt

    a0 = pm.Normal("a0", mu=data.log_rate_centre, sigma=1.0)
    if data.n_geos > 1:
        sigma_a = baseline_geo_spread(priors)
        a_geo = pm.Normal("a_geo", mu=a0, sigma=sigma_a, dims="geo")
    else:
        a_geo = pm.Deterministic("a_geo", a0[None], dims="geo")
    trend = pm.Normal("trend", 0.0, priors.trend_sd)
    gamma = pm.Normal("gamma", 0.0, priors.season_sd, dims="fourier")
    level_step = None
    if data.knot_basis.shape[1]:
        sigma_level = pm.LogNormal("sigma_level", mu=np.log(priors.level_step_scale), sigma=0.75)
        z_level = pm.Normal("z_level", 0.0, 1.0, dims="knot")
        level_step = pm.Deterministic("level_step", sigma_level * z_level, dims="knot")
    hol = pm.Normal("holiday", 0.0, priors.holiday_sd)
    log_base = a_geo[:, None] + log_time_effects(data, trend, gamma, level_step, hol)[None, :]
    if data.controls.shape[2]:
        delta = pm.Normal("delta", 0.0, priors.control_sd, dims="control")
        log_base = log_base + pt.dot(data.controls, delta)
    return log_base


def sampled_log_baseline(data: ModelData, priors: Priors, media, obs_w):
    """(n_geos, n_weeks) log baseline new patients per person, in the coordinates of the module
    docstring (same posterior as :func:`stated_log_baseline`).

    Args:
        media: (n_geos, n_weeks) PyTensor mean media contribution, new patients.
        obs_w: (n_geos, n_weeks) PyTensor 0/1 weights of the market-weeks in the likelihood.
    """
    import pymc as pm
    import pytensor.tensor as pt

    n_obs = pt.maximum(obs_w.sum(axis=1), 1.0)  # (g,)
    y_mean = pt.maximum((data.y * obs_w).sum(axis=1) / n_obs, 1e-6)  # (g,)
    m_mean = (media * obs_w).sum(axis=1) / n_obs  # (g,)
    gap = y_mean / GAP_SHARPNESS * pt.softplus(GAP_SHARPNESS * (y_mean - m_mean) / y_mean)
    share = gap.sum() / y_mean.sum()

    def normal_prior(name: str, sd, dims: str | None = None):
        raw = pm.Flat(f"{name}_raw", dims=dims)
        value = pm.Deterministic(name, raw / share, dims=dims)
        pm.Potential(f"{name}_prior", pm.logp(pm.Normal.dist(0.0, sd), value).sum())
        return value

    trend = normal_prior("trend", priors.trend_sd)
    gamma = normal_prior("gamma", priors.season_sd, "fourier")
    n_amp = 2 + data.fourier.shape[1]
    level_step = None
    if data.knot_basis.shape[1]:
        # non-centred: the steps are sigma_level * z, so that a level the data do not need
        # (sigma_level near 0) is no funnel; z is scaled by the baseline share like the rest
        sigma_level = pm.LogNormal("sigma_level", mu=np.log(priors.level_step_scale), sigma=0.75)
        z_level = normal_prior("z_level", 1.0, "knot")
        level_step = pm.Deterministic("level_step", sigma_level * z_level, dims="knot")
        n_amp += data.knot_basis.shape[1]
    hol = normal_prior("holiday", priors.holiday_sd)
    log_shape = pt.broadcast_to(
        log_time_effects(data, trend, gamma, level_step, hol)[None, :],
        (data.n_geos, data.n_weeks),
    )
    if data.controls.shape[2]:
        delta = normal_prior("delta", priors.control_sd, "control")
        log_shape = log_shape + pt.dot(data.controls, delta)
        n_amp += data.controls.shape[2]
    pm.Potential("amplitudes_jacobian", -n_amp * pt.log(share))
    b_mean = (data.pop[:, None] * pt.exp(log_shape) * obs_w).sum(axis=1) / n_obs
    level = pt.log(gap) - pt.log(b_mean)  # (g,) the level the media leave room for
    if data.n_geos > 1:
        a0 = pm.Normal("a0", mu=data.log_rate_centre, sigma=1.0)
        sigma_a = baseline_geo_spread(priors)
        offset = pm.Flat("a_geo_offset", dims="geo")
        a_geo = pm.Deterministic("a_geo", level + offset, dims="geo")
        pm.Potential("a_geo_prior", pm.logp(pm.Normal.dist(a0, sigma_a), a_geo).sum())
    else:
        offset = pm.Flat("a0_offset")
        a0 = pm.Deterministic("a0", level[0] + offset)
        pm.Potential("a0_prior", pm.logp(pm.Normal.dist(data.log_rate_centre, 1.0), a0))
        a_geo = pm.Deterministic("a_geo", a0[None], dims="geo")
    return a_geo[:, None] + log_shape
