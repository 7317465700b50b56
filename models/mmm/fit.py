"""Fit the media mix model to a panel and turn the posterior into results."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from models.mmm.calibration import lift_terms
from models.mmm.diagnostics import MAX_RHAT, MIN_ESS, Diagnostics, sampler_diagnostics
from models.mmm.inputs import MIN_WEEKS, prepare_panel
from models.mmm.model import (
    Draws,
    ModelData,
    Priors,
    build_model,
    model_data,
    spend_unit,
    stored_var_names,
)
from models.mmm.response import ResponseModel
from models.mmm.results import (
    channel_summary,
    contributions_frame,
    national_components,
    response_curves,
    response_model,
    split_lagged,
    window_incremental,
)
from models.mmm.transforms import Adstock, GeometricAdstock, HillSaturation, Saturation
from models.panel import Panel

#: target_accept of a national fit (one series): at 0.98 one benchmark world of five had one
#: divergence in 3,000 draws and another a bulk ESS of 350; 0.99 converged on all five, in
#: 25-29 s (measured 2026-11-28).
NATIONAL_TARGET_ACCEPT = 0.99
#: target_accept of a retry after divergences
RETRY_TARGET_ACCEPT = 0.99
#: above this many pointwise log-likelihood values (draws x market-weeks) the fit skips them
MAX_LOGLIK_VALUES = 60_000_000


@dataclass(frozen=True)
class MMMConfig:
    """Settings of a fit.

    Attributes:
        window_weeks: the reporting window (last N weeks) for PAC.
        draws, tune, chains, cores: sampler settings (nutpie, threads; no fork). Four chains:
            R-hat from two chains is a weak check.
        seed: makes a fit reproducible on one machine. Another machine's floating point
            draws other chains from the same seed, and the PAC move within their Monte
            Carlo error (docs/benchmarks.md).
        n_fourier: yearly Fourier pairs in the baseline. Three: a season that is additive on
            the baseline (as in the public mmm-param-recovery generator, ``1 + 0.6 sin``) is not
            a two-pair sinusoid on the log scale (residual sd 1.8% of the baseline, 0.45% with
            three pairs), and what two pairs miss was credited to a channel whose spend follows
            the season (its PAC 11% low, outside its interval; -1% with three).
        target_accept: nutpie step-size target. 0.9: with the level net of its trend the
            calibrated sample converges at 0.9 in 238 s (0.97: 368 s, the same PAC); a fit that
            diverges is re-sampled at ``RETRY_TARGET_ACCEPT`` (``retries``).
        low_rank_mass_matrix: nutpie's low-rank mass matrix adaptation, which learns the
            posterior correlations between market baselines and market channel effects.
        holdout_weeks: weeks held out for the out-of-sample check (0 = skip it).
        holdout_draws, holdout_tune: sampler settings of the cheaper holdout fit (per chain).
        response_draws: posterior draws kept in the :class:`ResponseModel`.
        ppc_draws: posterior draws used for the posterior predictive check and fitted series.
        log_likelihood: compute the pointwise log likelihood (``idata.log_likelihood``) so
            model variants can be compared with LOO; skipped (with a note) above
            ``MAX_LOGLIK_VALUES`` values.
        holiday_country: the holiday calendar of the baseline (``models.calendar``).
        retries: when a run misses a convergence gate, sample again (fresh seed) with twice
            the tuning, twice the draws if R-hat or ESS missed, and target acceptance
            ``RETRY_TARGET_ACCEPT`` if it diverged; up to this many times. Only the last run's
            draws and diagnostics are used; the notes say what was retried and why.
        adstock, saturation: the transforms, which own their priors.
        priors: the other priors.
    """

    window_weeks: int = 52
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int = 2
    seed: int = 20240601
    n_fourier: int = 3
    target_accept: float = 0.9
    low_rank_mass_matrix: bool = True
    holdout_weeks: int = 13
    holdout_draws: int = 150
    holdout_tune: int = 300
    response_draws: int = 200
    ppc_draws: int = 400
    log_likelihood: bool = True
    holiday_country: str = "US"
    retries: int = 1
    adstock: Adstock = field(default_factory=GeometricAdstock)
    saturation: Saturation = field(default_factory=HillSaturation)
    priors: Priors = field(default_factory=Priors)


@dataclass
class MMMFit:
    """A fitted model and its results.

    Attributes:
        idata: arviz InferenceData (posterior, sample_stats).
        diagnostics: convergence and fit checks.
        channels: channels fitted (channels without spend are dropped).
        channel_summary: one row per channel (``mmm.channel_summary`` columns but ``fitted_at``).
        contributions: national weekly contributions per component.
        response_curves: national weekly response curves.
        fit_vs_actual: national weekly actual vs fitted (holdout weeks from the holdout fit).
        response: posterior response for the budget optimiser.
        notes: logged treatments of the input (dropped channels, markets, trimmed weeks).
        seconds: wall time of the whole fit; ``sampling_seconds``: of the main sampler run
            including compilation.
        calibrated: a lift measurement entered the fit.
        n_geos, n_weeks: panel size fitted.
    """

    idata: Any
    diagnostics: Diagnostics
    channels: tuple[str, ...]
    channel_summary: pl.DataFrame
    contributions: pl.DataFrame
    response_curves: pl.DataFrame
    fit_vs_actual: pl.DataFrame
    response: ResponseModel
    notes: list[str]
    seconds: float
    sampling_seconds: float
    calibrated: bool
    n_geos: int
    n_weeks: int


def compile_model(model):
    """Compile a PyMC model for nutpie (numba backend), storing all but the large
    deterministics (:data:`models.mmm.model.LARGE_DETERMINISTICS`)."""
    import nutpie

    return nutpie.compile_pymc_model(model, var_names=stored_var_names(model))


def run_sampler(compiled, config: MMMConfig, draws: int, tune: int, seed: int):
    """Run nutpie (chains in threads, no fork); returns arviz InferenceData."""
    import nutpie

    return nutpie.sample(
        compiled,
        draws=draws,
        tune=tune,
        chains=config.chains,
        cores=config.cores,
        seed=seed,
        target_accept=config.target_accept,
        low_rank_modified_mass_matrix=config.low_rank_mass_matrix,
        progress_bar=False,
        save_warmup=False,
    )


def sample_until_converged(compiled, config: MMMConfig, notes: list[str]):
    """Run the sampler; while a run misses a gate and ``config.retries`` allow, run it again
    with longer chains (see :class:`MMMConfig`). Appends a note per retry.

    Returns:
        (idata of the last run, the config it ran with, its sampler :class:`Diagnostics`).
    """

    def sample(seed: int):
        idata = run_sampler(compiled, config, config.draws, config.tune, seed)
        return idata, Diagnostics(*sampler_diagnostics(idata), n_draws=config.draws * config.chains)

    idata, run = sample(config.seed)
    for attempt in range(1, config.retries + 1):
        if run.converged:
            break
        mixing = not run.max_rhat <= MAX_RHAT or min(run.min_ess_bulk, run.min_ess_tail) < MIN_ESS
        config = replace(
            config,
            tune=2 * config.tune,
            draws=2 * config.draws if mixing else config.draws,
            target_accept=max(config.target_accept, RETRY_TARGET_ACCEPT)
            if run.divergences
            else config.target_accept,
        )
        notes.append(
            f"Run {attempt} missed a convergence gate ({'; '.join(run.problems())}); sampled "
            f"again with {config.tune} tuning steps, {config.draws} draws per chain and "
            f"target acceptance {config.target_accept}."
        )
        idata, run = sample(config.seed + attempt)
    return idata, config, run


def fit_mmm(panel: Panel, config: MMMConfig | None = None, lift: Sequence[Any] = ()) -> MMMFit:
    """Fit the MMM and compute PAC, contributions, response curves and diagnostics.

    Args:
        panel: weekly spend (USD) and new patients per market (its ``observed`` mask, if any,
            says which market-weeks were measured).
        config: settings; defaults are meant to work on unseen data.
        lift: geo-test results (``LiftMeasurement``) that calibrate channel contributions.

    Returns:
        :class:`MMMFit`.
    """
    config = config or MMMConfig()
    adstock, saturation = config.adstock, config.saturation
    t0 = time.perf_counter()
    panel, notes = prepare_panel(panel, config.window_weeks)
    lifts, lift_notes = lift_terms(panel, lift, adstock.max_lag, spend_unit(panel))
    notes += lift_notes
    data = model_data(
        panel,
        adstock,
        config.priors,
        config.n_fourier,
        lift=lifts,
        holiday_country=config.holiday_country,
    )
    model = build_model(data, adstock, saturation, config.priors, panel.channels)
    if panel.n_geos == 1 and config.target_accept < NATIONAL_TARGET_ACCEPT:
        # one national series identifies saturation poorly: curved tails diverge at lower targets
        config = replace(config, target_accept=NATIONAL_TARGET_ACCEPT)
        notes.append(
            f"One market only (a national fit): target_accept raised to {NATIONAL_TARGET_ACCEPT}."
        )
    ts = time.perf_counter()
    compiled = compile_model(model)
    idata, config, sampled = sample_until_converged(compiled, config, notes)
    sampling_seconds = time.perf_counter() - ts
    n_loglik = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"] * data.observed.sum()
    if config.log_likelihood and n_loglik <= MAX_LOGLIK_VALUES:
        import pymc as pm

        pm.compute_log_likelihood(idata, var_names=["new_patients"], model=model, progressbar=False)
    elif config.log_likelihood:
        notes.append("Pointwise log likelihood skipped: the panel is too large to keep it.")
    draws = Draws.from_idata(idata, data.controls.shape[2], adstock, saturation)

    window = panel.window(config.window_weeks)
    wk = panel.weeks.astype("datetime64[D]")
    pre, win = split_lagged(data, window, adstock.max_lag)
    incr = window_incremental(draws, pre, win, data.pop, adstock, saturation)
    incr_up = window_incremental(draws, pre, win, data.pop, adstock, saturation, scale=1.01)
    calibrated = np.zeros(panel.n_channels, dtype=bool)
    for lt in lifts:
        calibrated[lt.channel] = True
    summary = channel_summary(
        panel.channels,
        data.spend[:, window, :].sum(axis=(0, 1)),
        incr,
        incr_up,
        calibrated,
        wk[window][0].item(),
        wk[window][-1].item(),
    )

    thin = draws.take(np.unique(np.linspace(0, draws.n - 1, min(500, draws.n)).astype(int)))
    media, base = national_components(thin, data, adstock, saturation)
    contributions = contributions_frame(wk, panel.channels, media, base)
    mu, pred = posterior_predictive(model, idata, data, data.observed, config)
    coverage = predictive_coverage(pred, data)
    curves = response_curves(panel.channels, thin, data, window, saturation)
    response = response_model(
        panel.channels, draws, data, window, adstock, saturation, config.response_draws
    )

    fitted = np.median(mu.sum(axis=1), axis=0)
    lo, hi = np.percentile(pred.sum(axis=1), [5, 95], axis=0)
    holdout = np.zeros(panel.n_weeks, dtype=bool)
    mape = float("nan")
    if config.holdout_weeks and panel.n_weeks - config.holdout_weeks >= MIN_WEEKS:
        holdout[-config.holdout_weeks :] = True
        hmu, hpred = holdout_fit(model, compiled, data, config, holdout)
        fitted[holdout] = np.median(hmu.sum(axis=1), axis=0)[holdout]
        lo[holdout], hi[holdout] = np.percentile(hpred.sum(axis=1)[:, holdout], [5, 95], axis=0)
        actual = panel.new_patients.sum(axis=0)[holdout]
        mape = float(np.mean(np.abs(fitted[holdout] - actual) / np.maximum(actual, 1.0)))
    fit_vs_actual = pl.DataFrame(
        {
            "week_start": wk,
            "actual": panel.new_patients.sum(axis=0).astype(float),
            "fitted": fitted,
            "fitted_lo": lo,
            "fitted_hi": hi,
            "holdout": holdout,
        }
    )
    diagnostics = replace(
        sampled,
        ppc_coverage_90=coverage,
        holdout_mape=mape,
        holdout_weeks=int(holdout.sum()),
    )
    return MMMFit(
        idata=idata,
        diagnostics=diagnostics,
        channels=panel.channels,
        channel_summary=summary,
        contributions=contributions,
        response_curves=curves,
        fit_vs_actual=fit_vs_actual,
        response=response,
        notes=notes,
        seconds=time.perf_counter() - t0,
        sampling_seconds=sampling_seconds,
        calibrated=bool(lifts),
        n_geos=panel.n_geos,
        n_weeks=panel.n_weeks,
    )


def posterior_predictive(
    model, idata, data: ModelData, fitted: np.ndarray, config: MMMConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and predictive new patients for every market-week, by ``pm.sample_posterior_predictive``.

    Args:
        model: the fitted PyMC model (its data are restored afterwards).
        idata: posterior of a fit in which ``fitted`` (G, W) marked the market-weeks in the
            likelihood (the baseline's sampling coordinates depend on it).
        config: ``ppc_draws`` draws are used, spread evenly over the chains.

    Returns:
        (mu, y_pred), each (n, G, W): the mean and a predictive draw of every market-week
        (unfitted ones are forecasts).
    """
    import pymc as pm

    post = idata.posterior
    n_per_chain = max(1, config.ppc_draws // post.sizes["chain"])
    keep = np.unique(np.linspace(0, post.sizes["draw"] - 1, n_per_chain).astype(int))
    every = np.arange(data.n_geos * data.n_weeks)
    kept = np.flatnonzero(data.observed.ravel())
    with model:
        pm.set_data(
            {
                "obs_weight": fitted.astype(float),
                "obs_index": every,
                "new_patients_observed": data.y.ravel(),
            }
        )
        try:
            pp = pm.sample_posterior_predictive(
                post.isel(draw=keep),
                var_names=["mu", "new_patients"],
                random_seed=config.seed,
                progressbar=False,
            ).posterior_predictive
        finally:
            pm.set_data(
                {
                    "obs_weight": data.observed.astype(float),
                    "obs_index": kept,
                    "new_patients_observed": data.y.ravel()[kept],
                }
            )
    shape = (-1, data.n_geos, data.n_weeks)
    mu = pp["mu"].values.reshape(shape)
    y_pred = pp["new_patients"].values.reshape(shape)
    return mu, y_pred


def predictive_coverage(y_pred: np.ndarray, data: ModelData) -> float:
    """Share of observed market-weeks inside their 90% posterior predictive interval."""
    lo, hi = np.percentile(y_pred, [5, 95], axis=0)
    obs = data.observed
    y = data.y
    return float(((y >= lo) & (y <= hi))[obs].mean())


def holdout_fit(
    model, compiled, data: ModelData, config: MMMConfig, holdout: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Re-sample the compiled model without the held-out weeks' new patients.

    Returns:
        (mu, y_pred), each (n, G, W), for every market-week (the held-out ones are forecasts).
    """
    fitted = data.observed & ~holdout[None, :]
    idx = np.flatnonzero(fitted.ravel())
    held = compiled.with_data(
        obs_weight=fitted.astype(float), obs_index=idx, new_patients_observed=data.y.ravel()[idx]
    )
    idata = run_sampler(held, config, config.holdout_draws, config.holdout_tune, config.seed + 1)
    return posterior_predictive(model, idata, data, fitted, config)
