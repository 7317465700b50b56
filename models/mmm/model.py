"""The clearcount media mix model as a PyMC model, and its mean in numpy.

Mean new patients in market ``g`` and week ``w`` (additive, as the simulator defines it)::

    mu[g, w] = baseline[g, w] + sum_c contrib[g, w, c]
    baseline[g, w] = pop[g] * exp(a[g] + trend * t[w] + fourier[w] @ gamma
                                  + holiday * hol[w] + controls[g, w] @ delta)
    contrib[g, w, c] = pop[g] * beta[g, c] * hill(adstock(spend[g, :, c] / pop[g])[w])

Channel effects are parameterised in marketer units: ``roi[c]`` is the channel's new patients
per $1,000 over the fitted history; ``beta[c]`` is derived from it, so the prior is stated
where the data speak and is scaled from the data (total new patients and total spend).
Market deviations ``beta[g, c] = beta[c] * exp(sigma_beta * z[g, c])`` are non-centred (weakly
informed by the data; ``sigma_beta`` is a fixed prior scale); market baselines
``a[g] ~ Normal(a0, sigma_a)`` are centred (each market's counts pin its baseline down, where a
non-centred form mixes badly); a national fit (one market) has ``a = a0``. The baseline is
sampled in coordinates that follow how new patients split between baseline and media
(:mod:`models.mmm.baseline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.calendar import holiday_weeks, yearly_fourier
from models.mmm.baseline import sampled_log_baseline, stated_log_baseline
from models.mmm.transforms import GeometricAdstock, HillSaturation
from models.panel import Panel


@dataclass(frozen=True)
class Priors:
    """Default priors, in the units a marketer knows.

    Attributes:
        media_share: prior guess of the share of new patients caused by paid media; sets the
            centre of each channel's new-patients-per-$1,000 prior (all channels alike).
        roi_level_sd: sd of the log of the level shared by all channels' new patients per
            $1,000, around the centre that ``media_share`` gives. The level is learned: where
            the data pin some channels down, the weakly identified ones are shrunk towards what
            those show, not towards a fixed guess of the media share. A national fit (one
            series, which pins no channel down) keeps the level at its centre: there a learned
            level only lengthened the baseline-media ridge (slower, and one fit of five did not
            converge), with the same marginal prior per channel.
        roi_sd: sd of a channel's log new patients per $1,000 around the shared level. With
            ``roi_level_sd`` the marginal sd is 1.0 (a factor ~2.7 either way), and channels
            share 36% of their prior variance.
        beta_geo_scale: sd of the market-to-market log spread of channel effects (0.1: a
            market's effect is typically within ~10-20% of the channel's). Fixed, not learned:
            the markets' effects are still fitted, shrunk towards the channel's with this
            scale. A learned scale formed a funnel (divergences); a wider fixed scale (0.2) let
            an always-on channel's market effects trade off with the market baselines (bulk ESS
            ~200 of 2,000 draws). 0.1 samples cleanly (ESS > 450).
        baseline_geo_sd: scale (HalfNormal) of the market-to-market log spread of baselines.
        trend_sd: sd of the log change of the baseline over the whole history.
        season_sd: sd of each Fourier coefficient (log scale).
        holiday_sd: sd of the holiday-week effect (log scale).
        control_sd: sd of a standardised control's effect (log scale).
        dispersion_sd: scale (HalfNormal) of ``1/sqrt(alpha)`` of the negative binomial.
    """

    media_share: float = 0.25
    roi_level_sd: float = 0.6
    roi_sd: float = 0.8
    beta_geo_scale: float = 0.1
    baseline_geo_sd: float = 0.5
    trend_sd: float = 0.5
    season_sd: float = 0.3
    holiday_sd: float = 0.3
    control_sd: float = 0.3
    dispersion_sd: float = 0.3


@dataclass(frozen=True)
class LiftData:
    """One lift measurement turned into constant model inputs.

    Attributes:
        channel: index of the channel.
        geos: (n_t,) indices of the treated markets.
        lagged_high: (n_t, n_test_weeks, max_lag) normalised spend per capita, higher-spend path.
        lagged_low: (n_t, n_test_weeks, max_lag) normalised spend per capita, lower-spend path.
        observed: measured incremental new patients (higher minus lower spend).
        sd: its standard error, ``(hi - lo) / 3.29``.
    """

    channel: int
    geos: np.ndarray
    lagged_high: np.ndarray
    lagged_low: np.ndarray
    observed: float
    sd: float


@dataclass(frozen=True)
class ModelData:
    """Everything the model needs, precomputed from a panel.

    Attributes:
        y: (n_geos, n_weeks) new patients (integers).
        pop: (n_geos,) population.
        spend: (n_geos, n_weeks, n_channels) USD.
        spend_unit: (n_channels,) mean non-zero weekly spend per capita (USD per person).
        x: (n_geos, n_weeks, n_channels) spend per capita in units of ``spend_unit``.
        lagged: (n_geos, n_weeks, n_channels, max_lag) lagged ``x``.
        t: (n_weeks,) centred time, -0.5 .. 0.5.
        fourier: (n_weeks, 2 * n_fourier).
        holiday: (n_weeks,) 0/1.
        controls: (n_geos, n_weeks, n_controls) standardised.
        observed: (n_weeks,) bool, weeks whose new patients enter the likelihood.
        roi_centre: prior centre of new patients per $1,000 (all channels).
        log_rate_centre: prior centre of the log baseline new patients per person per week.
        lift: calibration terms.
    """

    y: np.ndarray
    pop: np.ndarray
    spend: np.ndarray
    spend_unit: np.ndarray
    x: np.ndarray
    lagged: np.ndarray
    t: np.ndarray
    fourier: np.ndarray
    holiday: np.ndarray
    controls: np.ndarray
    observed: np.ndarray
    roi_centre: float
    log_rate_centre: float
    lift: tuple[LiftData, ...] = ()

    @property
    def n_geos(self) -> int:
        return self.y.shape[0]

    @property
    def n_weeks(self) -> int:
        return self.y.shape[1]

    @property
    def n_channels(self) -> int:
        return self.x.shape[2]


def spend_unit(panel: Panel) -> np.ndarray:
    """(n_channels,) mean of the non-zero weekly spend per capita of each channel (USD/person)."""
    per_cap = panel.spend / panel.population[:, None, None]
    units = np.empty(panel.n_channels)
    for c in range(panel.n_channels):
        v = per_cap[:, :, c]
        nz = v[v > 0]
        units[c] = nz.mean() if nz.size else 1.0
    return units


def model_data(
    panel: Panel,
    adstock: GeometricAdstock,
    priors: Priors,
    n_fourier: int = 2,
    observed: np.ndarray | None = None,
    lift: Sequence[LiftData] = (),
) -> ModelData:
    """Precompute the model inputs from a panel (see :class:`ModelData`)."""
    pop = panel.population.astype(float)
    unit = spend_unit(panel)
    x = panel.spend / pop[:, None, None] / unit[None, None, :]
    n_w = panel.n_weeks
    t = np.arange(n_w) / max(n_w - 1, 1) - 0.5
    controls = panel.controls.astype(float)
    if controls.shape[2]:
        sd = controls.reshape(-1, controls.shape[2]).std(axis=0)
        mean = controls.reshape(-1, controls.shape[2]).mean(axis=0)
        controls = (controls - mean) / np.where(sd > 0, sd, 1.0)
    obs = np.ones(n_w, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    y = panel.new_patients
    total_y = float(y[:, obs].sum())
    total_spend = float(panel.spend[:, obs, :].sum())
    roi_centre = priors.media_share * total_y / max(total_spend, 1e-9) * 1000.0
    rate = total_y / (pop.sum() * obs.sum())
    return ModelData(
        y=np.asarray(np.rint(y), dtype=np.int64),
        pop=pop,
        spend=panel.spend.astype(float),
        spend_unit=unit,
        x=x,
        lagged=adstock.lagged(x),
        t=t,
        fourier=yearly_fourier(panel.weeks, n_fourier) if n_fourier else np.zeros((n_w, 0)),
        holiday=holiday_weeks(panel.weeks).astype(float),
        controls=controls,
        observed=obs,
        roi_centre=roi_centre,
        log_rate_centre=float(np.log(max(rate * (1.0 - priors.media_share), 1e-12))),
        lift=tuple(lift),
    )


def build_model(
    data: ModelData,
    adstock: GeometricAdstock,
    saturation: HillSaturation,
    priors: Priors,
    channels: Sequence[str],
    keep_mean: bool = False,
    prior_predictive: bool = False,
):
    """The PyMC model. Parameters are named as in the module docstring.

    The baseline is sampled in other coordinates (:mod:`models.mmm.baseline`), whose priors
    cannot be forward-sampled; ``prior_predictive`` builds the same model with its stated
    priors as random variables instead, for ``pm.sample_prior_predictive``.

    Deterministics kept in the trace (small): ``beta`` (n_geos, n_channels) new patients per
    person per week at full saturation, ``decay``, ``half_saturation``,
    ``slope`` (n_channels,). With ``keep_mean`` also ``mu`` (n_geos, n_weeks), the mean new
    patients (large: for checks, not for default fits).
    """
    import pymc as pm
    import pytensor.tensor as pt

    n_g, n_w = data.n_geos, data.n_weeks
    if not data.observed.any():
        raise ValueError("no week is observed")
    coords = {
        "geo": np.arange(n_g),
        "week": np.arange(n_w),
        "channel": list(channels),
        "fourier": np.arange(data.fourier.shape[1]),
        "control": np.arange(data.controls.shape[2]),
    }
    pop = data.pop
    a_dec, b_dec = adstock.decay_prior
    with pm.Model(coords=coords) as model:
        # 1 for weeks whose new patients enter the likelihood (0: held out); data, so that a
        # compiled model can be re-sampled with other weeks held out (nutpie ``with_data``)
        obs_w = pm.Data("obs_weight", data.observed.astype(float), dims="week")
        # --- media
        # new patients per $1,000 over the fitted weeks, around a level shared by the channels
        log_centre = np.log(data.roi_centre)
        if n_g > 1:  # the level is learned (partial pooling across channels)
            roi_level = pm.Normal("roi_level", mu=log_centre, sigma=priors.roi_level_sd)
            roi = pm.LogNormal("roi", mu=roi_level, sigma=priors.roi_sd, dims="channel")
        else:  # one series pins no channel down: the level stays at its centre, same marginal
            roi_sd = float(np.hypot(priors.roi_level_sd, priors.roi_sd))
            roi = pm.LogNormal("roi", mu=log_centre, sigma=roi_sd, dims="channel")
        decay = pm.Beta("decay", alpha=a_dec, beta=b_dec, dims="channel")
        k = pm.LogNormal(
            "half_saturation", mu=0.0, sigma=saturation.half_saturation_sd, dims="channel"
        )
        slope = pm.Gamma(
            "slope", mu=saturation.slope_mean, sigma=saturation.slope_sd, dims="channel"
        )
        if n_g > 1:
            # the spread is fixed (see Priors.beta_geo_scale): a learned scale formed a funnel
            sigma_beta = priors.beta_geo_scale
            z_beta = pm.Normal("z_beta", 0.0, 1.0, dims=("geo", "channel"))
            geo_mult = pt.exp(sigma_beta * z_beta)  # (g, c)
        else:  # one market (a national fit): no market deviations to pool
            geo_mult = pt.ones((1, len(channels)))

        w = GeometricAdstock.pt_weights(decay, adstock.max_lag)  # (c, L)
        ad = (pt.as_tensor_variable(data.lagged) * w[None, None, :, :]).sum(axis=-1)
        h = saturation.pt_apply(ad, k[None, None, :], slope[None, None, :])  # (g, w, c)
        # contributions and spend over the fitted weeks with beta_c = 1, (c,)
        raw_total = (pop[:, None] * geo_mult * (h * obs_w[None, :, None]).sum(axis=1)).sum(axis=0)
        spend_total = (data.spend * obs_w[None, :, None]).sum(axis=(0, 1))
        beta_c = roi * spend_total / 1000.0 / raw_total
        beta = pm.Deterministic("beta", beta_c[None, :] * geo_mult, dims=("geo", "channel"))
        media = (h * (pop[:, None] * beta)[:, None, :]).sum(axis=-1)  # (g, w)

        # --- baseline
        if prior_predictive:
            log_base = stated_log_baseline(data, priors)
        else:
            log_base = sampled_log_baseline(data, priors, media, obs_w)
        baseline = pop[:, None] * pt.exp(log_base)
        mu = baseline + media
        if keep_mean:
            mu = pm.Deterministic("mu", mu, dims=("geo", "week"))

        inv_sqrt_alpha = pm.HalfNormal("inv_sqrt_alpha", sigma=priors.dispersion_sd)
        alpha = 1.0 / inv_sqrt_alpha**2
        loglik = pm.logp(pm.NegativeBinomial.dist(mu=mu, alpha=alpha), data.y)  # (g, w)
        pm.Potential("new_patients_loglik", (loglik * obs_w[None, :]).sum())

        # --- lift-test calibration
        for i, lt in enumerate(data.lift):
            c = lt.channel
            w_c = w[c]
            hi = saturation.pt_apply((lt.lagged_high * w_c).sum(axis=-1), k[c], slope[c])
            lo = saturation.pt_apply((lt.lagged_low * w_c).sum(axis=-1), k[c], slope[c])
            scale = pop[lt.geos] * beta[lt.geos, c]  # (n_t,)
            pred = (scale[:, None] * (hi - lo)).sum()
            pm.Normal(f"lift_{i}", mu=pred, sigma=lt.sd, observed=lt.observed)
    return model


@dataclass(frozen=True)
class Draws:
    """Posterior draws flattened over chains, as numpy arrays (``n`` draws first).

    Shapes: roi, decay, half_saturation, slope (n, C); beta (n, G, C); a_geo (n, G); trend,
    holiday, alpha (n,); gamma (n, F); delta (n, K).
    """

    decay: np.ndarray
    half_saturation: np.ndarray
    slope: np.ndarray
    beta: np.ndarray
    a_geo: np.ndarray
    trend: np.ndarray
    gamma: np.ndarray
    holiday: np.ndarray
    delta: np.ndarray
    alpha: np.ndarray

    @classmethod
    def from_idata(cls, idata, n_controls: int, group: str = "posterior") -> Draws:
        post = idata[group]

        def flat(name: str) -> np.ndarray:
            v = post[name].values
            return v.reshape(v.shape[0] * v.shape[1], *v.shape[2:])

        n = post.sizes["chain"] * post.sizes["draw"]
        return cls(
            decay=flat("decay"),
            half_saturation=flat("half_saturation"),
            slope=flat("slope"),
            beta=flat("beta"),
            a_geo=flat("a_geo"),
            trend=flat("trend"),
            gamma=flat("gamma"),
            holiday=flat("holiday"),
            delta=flat("delta") if n_controls else np.zeros((n, 0)),
            alpha=1.0 / flat("inv_sqrt_alpha") ** 2,
        )

    @property
    def n(self) -> int:
        return self.decay.shape[0]

    def take(self, idx: np.ndarray) -> Draws:
        """A subset of draws."""
        return Draws(**{f: getattr(self, f)[idx] for f in self.__dataclass_fields__})


def media_contrib(
    draws: Draws, lagged: np.ndarray, pop: np.ndarray, adstock: GeometricAdstock
) -> np.ndarray:
    """Channel contributions (numpy), new patients.

    Args:
        draws: n posterior draws.
        lagged: (G, W, C, L) lagged normalised spend per capita.
        pop: (G,).

    Returns:
        (n, G, W, C).
    """
    wts = adstock.weights(draws.decay)  # (n, C, L)
    ad = GeometricAdstock.apply_draws(lagged, wts)
    h = HillSaturation.apply(
        ad, draws.half_saturation[:, None, None, :], draws.slope[:, None, None, :]
    )
    return pop[None, :, None, None] * draws.beta[:, :, None, :] * h


def baseline_mean(draws: Draws, data: ModelData) -> np.ndarray:
    """Baseline new patients (numpy), (n, G, W)."""
    log_time = (
        draws.trend[:, None] * data.t[None, :]
        + draws.gamma @ data.fourier.T
        + draws.holiday[:, None] * data.holiday[None, :]
    )  # (n, W)
    log_base = draws.a_geo[:, :, None] + log_time[:, None, :]
    if data.controls.shape[2]:
        log_base = log_base + np.einsum("gwk,nk->ngw", data.controls, draws.delta)
    return data.pop[None, :, None] * np.exp(log_base)
