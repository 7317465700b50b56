"""The clearcount media mix model as a PyMC model, and its mean in numpy.

Mean new patients in market ``g`` and week ``w`` (additive, as the simulator defines it)::

    mu[g, w] = baseline[g, w] + sum_c channel_contribution[g, w, c]
    baseline[g, w] = pop[g] * exp(a[g] + trend * t[w] + level[w] + fourier[w] @ gamma
                                  + holiday * hol[w] + controls[g, w] @ delta)
    level[w] = knot_basis[w] @ cumsum(level_step)   (a random walk over quarterly knots, net
                                                     of its mean and linear trend)
    channel_contribution[g, w, c] = pop[g] * beta[g, c]
                                    * saturation(adstock(x[g, :, c])[w] / saturation_geo[g, c])
    x[g, w, c] = spend[g, w, c] / pop[g] / spend_unit[c]

``new_patients[g, w] ~ NegativeBinomial(mu[g, w], alpha)`` for the observed market-weeks only
(the mask ``ModelData.observed``: market-weeks that were not measured, and held-out weeks, are
left out of the likelihood rather than read as zeros). Adstock and saturation are pluggable
transforms (:mod:`models.mmm.transforms`) that own their priors.

Channel effects are parameterised in marketer units: ``roi[c]`` is the channel's new patients
per $1,000 over the fitted history; ``beta[c]`` is derived from it, so the prior is stated
where the data speak and is scaled from the data (total new patients and total spend).
Market deviations ``beta[g, c] = beta[c] * exp(sigma_beta * z[g, c])`` and
``saturation_geo[g, c] = exp(saturation_geo_scale * z_saturation[g, c])`` (the market's multiplier
of the spend per person at which the channel saturates) are non-centred; market
baselines ``a[g] ~ Normal(a0, sigma_a)``; a national fit (one market) has ``a = a0``. The
baseline is sampled in coordinates that follow how new patients split between baseline and
media (:mod:`models.mmm.baseline`).

Named coords come from the data: ``geo`` (market codes), ``week`` (ISO Monday dates),
``channel``, ``fourier``, ``control`` (control names). Spend is ``pm.Data("spend")`` (USD, geo x
week x channel) so contributions can be recomputed for other spend with ``pm.set_data``; the
model's ``roi`` normalisation uses the fitted spend as a constant, so a new spend changes the
contributions, never the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.calendar import holiday_weeks, yearly_fourier
from models.mmm.baseline import sampled_log_baseline, stated_log_baseline
from models.mmm.transforms import (
    Adstock,
    Params,
    Saturation,
    apply_weights,
    draw_params,
    lagged,
    pt_lagged,
)
from models.panel import Panel

#: Names of the large deterministics that are defined in the model but not stored per draw
#: (compute them from the stored parameters with ``pm.compute_deterministics`` when needed).
LARGE_DETERMINISTICS = ("channel_contribution", "mu")


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
        saturation_geo_scale: sd of the market-to-market log spread of the spend per person at
            which a channel saturates (``saturation_geo``; 0 shares one curve across markets).
            Markets differ in how much spend per person buys the same reach: where each
            market's budget is planned against its own audience, the curve moves with the
            market's own spend level, not with its population (the public generator scales
            each region's curve by that region's largest spend: the log spread of the
            half-saturation per person is 0.1-0.4 by channel). One shared curve read the
            markets' differences as shape, with intervals too narrow for its errors (5 of 8
            covered on two of three seeds); at 0.2 the errors halved. Fixed, like
            ``beta_geo_scale``, not learned.
        baseline_geo_median: median of the LogNormal(log median, ``baseline_geo_log_sd``)
            prior on ``sigma_a``, the market-to-market log spread of baselines per person. Kept
            off zero: where the markets' rates per person are nearly equal (the public
            generator sets populations in proportion to the baselines) a half-normal let
            ``sigma_a`` fall to 0.003, the funnel of ``a_geo`` around it diverged (5 of 8,000
            draws on one world and 4 on another, after the re-run at target acceptance 0.99),
            and the gate refused fits whose PAC was 2-5% off. Real markets differ by far more
            than 1% in new patients per person.
        baseline_geo_log_sd: log sd of that prior (90% of its mass between 0.06 and 0.68).
        trend_sd: sd of the log change of the baseline over the whole history.
        season_sd: sd of each Fourier coefficient (log scale).
        holiday_sd: sd of the holiday-week effect (log scale).
        control_sd: sd of a standardised control's effect (log scale).
        level_knot_weeks: spacing of the knots of the baseline's random-walk level (weeks).
        level_step_scale: median of the LogNormal(log median, 0.75) prior on ``sigma_level``,
            the learned sd of the level's log step per knot (kept off zero: a half-normal
            let the chains stall where the level is not needed).
            The level lets the baseline move where no trend, season or control explains it
            (a new competitor, a clinic opening, a demand driver nobody measured); without it
            such a move is credited to whichever channel changed at the same time.
        dispersion_sd: scale (HalfNormal) of ``1/sqrt(alpha)`` of the negative binomial.
    """

    media_share: float = 0.25
    roi_level_sd: float = 0.6
    roi_sd: float = 0.8
    beta_geo_scale: float = 0.1
    saturation_geo_scale: float = 0.2
    baseline_geo_median: float = 0.2
    baseline_geo_log_sd: float = 0.75
    trend_sd: float = 0.5
    season_sd: float = 0.3
    holiday_sd: float = 0.3
    control_sd: float = 0.3
    level_knot_weeks: int = 13
    level_step_scale: float = 0.04
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
        sd: scale of the measurement error (see :mod:`models.mmm.calibration`).
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
        y: (n_geos, n_weeks) new patients (integers; 0 where not observed).
        observed: (n_geos, n_weeks) bool, market-weeks whose new patients enter the likelihood.
        pop: (n_geos,) population.
        spend: (n_geos, n_weeks, n_channels) USD.
        spend_unit: (n_channels,) mean non-zero weekly spend per capita (USD per person).
        x: (n_geos, n_weeks, n_channels) spend per capita in units of ``spend_unit``.
        lagged: (n_geos, n_weeks, n_channels, max_lag) lagged ``x``.
        t: (n_weeks,) centred time, -0.5 .. 0.5.
        fourier: (n_weeks, 2 * n_fourier).
        knot_basis: (n_weeks, n_knots - 1) linear interpolation between the level's knots
            (the first knot is 0), net of its mean and linear trend (:func:`knot_basis`);
            empty when the history is shorter than two knot spacings.
        holiday: (n_weeks,) 0/1.
        controls: (n_geos, n_weeks, n_controls) standardised.
        roi_centre: prior centre of new patients per $1,000 (all channels).
        log_rate_centre: prior centre of the log baseline new patients per person per week.
        coords: named coords ``geo``, ``week`` (ISO dates), ``fourier``, ``control``.
        lift: calibration terms.
    """

    y: np.ndarray
    observed: np.ndarray
    pop: np.ndarray
    spend: np.ndarray
    spend_unit: np.ndarray
    x: np.ndarray
    lagged: np.ndarray
    t: np.ndarray
    fourier: np.ndarray
    knot_basis: np.ndarray
    holiday: np.ndarray
    controls: np.ndarray
    roi_centre: float
    log_rate_centre: float
    coords: dict = field(default_factory=dict)
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


def knot_basis(n_weeks: int, spacing: int) -> np.ndarray:
    """(n_weeks, n_knots - 1) hat functions of knots every ``spacing`` weeks from week 0 (the
    last knot at or after the last week), without the first knot's column, with their mean and
    linear trend over the weeks projected out.

    The level is then the random walk's departure from a straight line: its mean belongs to the
    market levels and its slope to ``trend``. Left in, both were carried twice, and the sampler
    crawled along the ridges (on the calibrated sample: tail ESS 336 for ``trend``, 458 for
    ``a_geo``, and divergences at large ``sigma_level``).
    """
    n_knots = int(np.ceil((n_weeks - 1) / spacing)) + 1
    if n_knots < 3:
        return np.zeros((n_weeks, 0))
    pos = np.arange(n_weeks) / spacing  # knot coordinates
    basis = np.maximum(0.0, 1.0 - np.abs(pos[:, None] - np.arange(n_knots)[None, :]))[:, 1:]
    line = np.column_stack([np.ones(n_weeks), np.arange(n_weeks, dtype=float)])
    coef, *_ = np.linalg.lstsq(line, basis, rcond=None)
    return basis - line @ coef


def model_data(
    panel: Panel,
    adstock: Adstock,
    priors: Priors,
    n_fourier: int,
    observed: np.ndarray | None = None,
    lift: Sequence[LiftData] = (),
    holiday_country: str = "US",
) -> ModelData:
    """Precompute the model inputs from a panel (see :class:`ModelData`).

    Args:
        observed: (n_weeks,) bool, weeks to fit (False: held out); combined with the panel's
            own mask of measured market-weeks.
    """
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
    obs = panel.observed.copy()
    if observed is not None:
        obs = obs & np.asarray(observed, dtype=bool)[None, :]
    y = np.where(obs, panel.new_patients, 0.0)
    total_y = float(y.sum())
    # spend of the fitted market-weeks, per person-week fitted: the media share guess is a share
    # of the new patients in the same market-weeks
    total_spend = float((panel.spend * obs[:, :, None]).sum())
    roi_centre = priors.media_share * total_y / max(total_spend, 1e-9) * 1000.0
    rate = total_y / max(float((pop[:, None] * obs).sum()), 1.0)
    return ModelData(
        y=np.asarray(np.rint(y), dtype=np.int64),
        observed=obs,
        pop=pop,
        spend=panel.spend.astype(float),
        spend_unit=unit,
        x=x,
        lagged=lagged(x, adstock.max_lag),
        t=t,
        fourier=yearly_fourier(panel.weeks, n_fourier) if n_fourier else np.zeros((n_w, 0)),
        knot_basis=knot_basis(n_w, priors.level_knot_weeks),
        holiday=holiday_weeks(panel.weeks, holiday_country).astype(float),
        controls=controls,
        roi_centre=roi_centre,
        log_rate_centre=float(np.log(max(rate * (1.0 - priors.media_share), 1e-12))),
        coords={
            "geo": list(panel.geos),
            "week": [str(w) for w in panel.weeks.astype("datetime64[D]")],
            "fourier": [f"{f}_{k}" for f in ("sin", "cos") for k in range(1, n_fourier + 1)],
            "control": list(panel.control_names),
        },
        lift=tuple(lift),
    )


def build_model(
    data: ModelData,
    adstock: Adstock,
    saturation: Saturation,
    priors: Priors,
    channels: Sequence[str],
    prior_predictive: bool = False,
):
    """The PyMC model. Parameters are named as in the module docstring.

    The baseline is sampled in other coordinates (:mod:`models.mmm.baseline`), whose priors
    cannot be forward-sampled; ``prior_predictive`` builds the same model with its stated
    priors as random variables instead, for ``pm.sample_prior_predictive``.

    Deterministics: ``beta`` (geo, channel) new patients per person per week at full
    saturation; ``channel_contribution`` (geo, week, channel) and ``mu`` (geo, week), new
    patients, from ``pm.Data("spend")`` (large: a fit does not store them per draw, see
    :func:`stored_var_names`). The likelihood ``new_patients`` is observed on the market-weeks
    listed by ``pm.Data("obs_index")`` (flat indices into geo x week), whose counts are
    ``pm.Data("new_patients_observed")``; ``pm.Data("obs_weight")`` (geo, week) is the same mask
    as 0/1 weights. Change all three together (``compiled.with_data``) to fit other weeks. The
    sampled mean reads the fitted spend as a constant (its lags precomputed, so sampling does
    not redo them); it equals ``mu`` at the fitted spend, which a test checks.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if not data.observed.any():
        raise ValueError("no market-week is observed")
    coords = {**data.coords, "channel": list(channels)}
    if not coords.get("geo"):  # ModelData built by hand (tests)
        coords |= {"geo": np.arange(data.n_geos), "week": np.arange(data.n_weeks)}
    coords.setdefault("fourier", np.arange(data.fourier.shape[1]))
    coords.setdefault("control", np.arange(data.controls.shape[2]))
    coords["knot"] = np.arange(1, data.knot_basis.shape[1] + 1)
    pop = data.pop
    n_g = data.n_geos
    obs_idx = np.flatnonzero(data.observed.ravel())
    with pm.Model(coords=coords) as model:
        spend = pm.Data("spend", data.spend, dims=("geo", "week", "channel"))
        obs_w = pm.Data("obs_weight", data.observed.astype(float), dims=("geo", "week"))
        obs_index = pm.Data("obs_index", obs_idx)
        y_obs = pm.Data("new_patients_observed", data.y.ravel()[obs_idx])
        # --- media
        # new patients per $1,000 over the fitted weeks, around a level shared by the channels
        log_centre = np.log(data.roi_centre)
        if n_g > 1:  # the level is learned (partial pooling across channels)
            roi_level = pm.Normal("roi_level", mu=log_centre, sigma=priors.roi_level_sd)
            roi = pm.LogNormal("roi", mu=roi_level, sigma=priors.roi_sd, dims="channel")
        else:  # one series pins no channel down: the level stays at its centre, same marginal
            roi_sd = float(np.hypot(priors.roi_level_sd, priors.roi_sd))
            roi = pm.LogNormal("roi", mu=log_centre, sigma=roi_sd, dims="channel")
        ad_params = adstock.pm_priors()
        sat_params = {k: v[None, None, :] for k, v in saturation.pm_priors().items()}
        if n_g > 1:
            sigma_beta = priors.beta_geo_scale
            z_beta = pm.Normal("z_beta", 0.0, 1.0, dims=("geo", "channel"))
            geo_mult = pt.exp(sigma_beta * z_beta)  # (g, c)
        else:  # one market (a national fit): no market deviations to pool
            geo_mult = pt.ones((1, len(channels)))
        if n_g > 1 and priors.saturation_geo_scale > 0:
            z_sat = pm.Normal("z_saturation", 0.0, 1.0, dims=("geo", "channel"))
            sat_geo = pm.Deterministic(
                "saturation_geo",
                pt.exp(priors.saturation_geo_scale * z_sat),
                dims=("geo", "channel"),
            )
        else:
            sat_geo = pt.ones((n_g, len(channels)))

        w = adstock.pt_weights(ad_params)  # (c, L)
        # sampling reads the fitted spend as a constant (its lags precomputed): it fixes beta
        # from roi and gives the likelihood's mean
        h_fit = saturation.pt_apply(
            (pt.as_tensor_variable(data.lagged) * w).sum(axis=-1) / sat_geo[:, None, :],
            sat_params,
        )
        raw_total = (pop[:, None] * geo_mult * (h_fit * obs_w[:, :, None]).sum(axis=1)).sum(axis=0)
        spend_total = (data.spend * obs_w[:, :, None]).sum(axis=(0, 1))
        beta_c = roi * spend_total / 1000.0 / raw_total
        beta = pm.Deterministic("beta", beta_c[None, :] * geo_mult, dims=("geo", "channel"))
        scale = (pop[:, None] * beta)[:, None, :]  # (g, 1, c)
        media_fit = (h_fit * scale).sum(axis=-1)  # (g, w)

        # the named contributions and mean read pm.Data("spend"): equal to the sampled ones at
        # the fitted spend, and recomputed for any other spend set with pm.set_data (beta stays)
        x = spend / (pop[:, None, None] * data.spend_unit[None, None, :])
        h = saturation.pt_apply(
            (pt_lagged(x, adstock.max_lag) * w).sum(axis=-1) / sat_geo[:, None, :], sat_params
        )
        contrib = pm.Deterministic(
            "channel_contribution", h * scale, dims=("geo", "week", "channel")
        )

        # --- baseline
        if prior_predictive:
            log_base = stated_log_baseline(data, priors)
        else:
            log_base = sampled_log_baseline(data, priors, media_fit, obs_w)
        baseline = pop[:, None] * pt.exp(log_base)
        pm.Deterministic("mu", baseline + contrib.sum(axis=-1), dims=("geo", "week"))
        mu_fit = baseline + media_fit

        inv_sqrt_alpha = pm.HalfNormal("inv_sqrt_alpha", sigma=priors.dispersion_sd)
        alpha = 1.0 / inv_sqrt_alpha**2
        pm.NegativeBinomial(
            "new_patients", mu=mu_fit.ravel()[obs_index], alpha=alpha, observed=y_obs
        )

        # --- lift-test calibration
        for i, lt in enumerate(data.lift):
            c = lt.channel
            w_c = w[c]
            p_c = {k: v[0, 0, c] for k, v in sat_params.items()}
            sat_geo_t = sat_geo[lt.geos, c][:, None]  # (n_t, 1)
            hi = saturation.pt_apply((lt.lagged_high * w_c).sum(axis=-1) / sat_geo_t, p_c)
            lo = saturation.pt_apply((lt.lagged_low * w_c).sum(axis=-1) / sat_geo_t, p_c)
            scale = pop[lt.geos] * beta[lt.geos, c]  # (n_t,)
            pred = (scale[:, None] * (hi - lo)).sum()
            pm.Normal(f"lift_{i}", mu=pred, sigma=lt.sd, observed=lt.observed)
    return model


def stored_var_names(model) -> list[str]:
    """Names a fit stores per draw: every free variable and deterministic but the large ones."""
    names = [v.name for v in model.free_RVs] + [v.name for v in model.deterministics]
    return [n for n in names if n not in LARGE_DETERMINISTICS]


@dataclass(frozen=True)
class Draws:
    """Posterior draws flattened over chains, as numpy arrays (``n`` draws first).

    Shapes: adstock and saturation parameters {name: (n, C)}; beta and saturation_geo
    (n, G, C); a_geo (n, G); trend, holiday, alpha (n,); gamma (n, F); level_step
    (n, n_knots - 1); delta (n, K).
    """

    adstock: Params
    saturation: Params
    beta: np.ndarray
    saturation_geo: np.ndarray
    a_geo: np.ndarray
    trend: np.ndarray
    gamma: np.ndarray
    level_step: np.ndarray
    holiday: np.ndarray
    delta: np.ndarray
    alpha: np.ndarray

    @classmethod
    def from_idata(
        cls,
        idata,
        n_controls: int,
        adstock: Adstock,
        saturation: Saturation,
        group: str = "posterior",
    ) -> Draws:
        post = idata[group]

        def flat(name: str) -> np.ndarray:
            v = post[name].values
            return v.reshape(v.shape[0] * v.shape[1], *v.shape[2:])

        n = post.sizes["chain"] * post.sizes["draw"]
        beta = flat("beta")
        return cls(
            adstock={k: flat(k) for k in adstock.param_names},
            saturation={k: flat(k) for k in saturation.param_names},
            beta=beta,
            saturation_geo=flat("saturation_geo")
            if "saturation_geo" in post
            else np.ones_like(beta),
            a_geo=flat("a_geo"),
            trend=flat("trend"),
            gamma=flat("gamma"),
            level_step=flat("level_step") if "level_step" in post else np.zeros((n, 0)),
            holiday=flat("holiday"),
            delta=flat("delta") if n_controls else np.zeros((n, 0)),
            alpha=1.0 / flat("inv_sqrt_alpha") ** 2,
        )

    @property
    def n(self) -> int:
        return self.beta.shape[0]

    def take(self, idx: np.ndarray) -> Draws:
        """A subset of draws."""
        out = {}
        for f in self.__dataclass_fields__:
            v = getattr(self, f)
            out[f] = {k: a[idx] for k, a in v.items()} if isinstance(v, dict) else v[idx]
        return Draws(**out)


def media_contrib(
    draws: Draws,
    lagged_x: np.ndarray,
    pop: np.ndarray,
    adstock: Adstock,
    saturation: Saturation,
) -> np.ndarray:
    """Channel contributions (numpy, the same as the model's ``channel_contribution``).

    Args:
        draws: n posterior draws.
        lagged_x: (G, W, C, L) lagged normalised spend per capita.
        pop: (G,).

    Returns:
        (n, G, W, C) new patients.
    """
    ad = apply_weights(lagged_x, adstock.weights(draws.adstock))  # (n, G, W, C)
    h = saturation.apply(ad / draws.saturation_geo[:, :, None, :], draw_params(draws.saturation, 2))
    return pop[None, :, None, None] * draws.beta[:, :, None, :] * h


def baseline_mean(draws: Draws, data: ModelData) -> np.ndarray:
    """Baseline new patients (numpy), (n, G, W)."""
    log_time = (
        draws.trend[:, None] * data.t[None, :]
        + draws.gamma @ data.fourier.T
        + np.cumsum(draws.level_step, axis=1) @ data.knot_basis.T
        + draws.holiday[:, None] * data.holiday[None, :]
    )  # (n, W)
    log_base = draws.a_geo[:, :, None] + log_time[:, None, :]
    if data.controls.shape[2]:
        log_base = log_base + np.einsum("gwk,nk->ngw", data.controls, draws.delta)
    return data.pop[None, :, None] * np.exp(log_base)
