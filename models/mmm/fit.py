"""Fit the media mix model to a panel and turn the posterior into results."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from models.mmm.calibration import lift_terms
from models.mmm.diagnostics import Diagnostics, sampler_diagnostics
from models.mmm.inputs import MIN_WEEKS, prepare_panel
from models.mmm.model import Draws, ModelData, Priors, build_model, model_data, spend_unit
from models.mmm.response import ResponseModel
from models.mmm.results import (
    channel_summary,
    contributions_frame,
    national_components,
    predictive_national,
    response_curves,
    response_model,
    split_lagged,
    window_incremental,
)
from models.mmm.transforms import GeometricAdstock, HillSaturation
from models.panel import Panel

#: target_accept of a national fit (one series): at 0.98 one benchmark world of five had one
#: divergence in 3,000 draws and another a bulk ESS of 350; 0.99 converged on all five, in
#: 25-29 s (measured 2026-11-28).
NATIONAL_TARGET_ACCEPT = 0.99


@dataclass(frozen=True)
class MMMConfig:
    """Settings of a fit.

    Attributes:
        window_weeks: the reporting window (last N weeks) for PAC.
        draws, tune, chains, cores: sampler settings (nutpie, threads; no fork).
        seed: makes a fit reproducible.
        max_lag: adstock length in weeks.
        n_fourier: yearly Fourier pairs in the baseline.
        target_accept: nutpie step-size target (0.95 with tune 1500: hard worlds converge).
        low_rank_mass_matrix: nutpie's low-rank mass matrix adaptation, which learns the
            posterior correlations between market baselines and market channel effects.
        holdout_weeks: weeks held out for the out-of-sample check (0 = skip it).
        holdout_draws, holdout_tune: sampler settings of the cheaper holdout fit.
        response_draws: posterior draws kept in the :class:`ResponseModel`.
        adstock, saturation, priors: transform settings and priors.
    """

    window_weeks: int = 52
    draws: int = 1500
    tune: int = 1500
    chains: int = 2
    cores: int = 2
    seed: int = 20240601
    max_lag: int = 8
    n_fourier: int = 2
    target_accept: float = 0.95
    low_rank_mass_matrix: bool = True
    holdout_weeks: int = 13
    holdout_draws: int = 250
    holdout_tune: int = 400
    response_draws: int = 200
    saturation: HillSaturation = field(default_factory=HillSaturation)
    priors: Priors = field(default_factory=Priors)

    @property
    def adstock(self) -> GeometricAdstock:
        return GeometricAdstock(max_lag=self.max_lag)


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
    """Compile a PyMC model for nutpie (numba backend)."""
    import nutpie

    return nutpie.compile_pymc_model(model)


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


def fit_mmm(panel: Panel, config: MMMConfig | None = None, lift: Sequence[Any] = ()) -> MMMFit:
    """Fit the MMM and compute PAC, contributions, response curves and diagnostics.

    Args:
        panel: weekly spend (USD) and new patients per market.
        config: settings; defaults are meant to work on unseen data.
        lift: geo-test results (``LiftMeasurement``) that calibrate channel contributions.

    Returns:
        :class:`MMMFit`.
    """
    config = config or MMMConfig()
    t0 = time.perf_counter()
    panel, notes = prepare_panel(panel, config.window_weeks)
    adstock = config.adstock
    lifts, lift_notes = lift_terms(panel, lift, adstock, spend_unit(panel))
    notes += lift_notes
    data = model_data(panel, adstock, config.priors, config.n_fourier, lift=lifts)
    model = build_model(data, adstock, config.saturation, config.priors, panel.channels)
    if panel.n_geos == 1 and config.target_accept < NATIONAL_TARGET_ACCEPT:
        # one national series identifies saturation poorly: curved tails diverge at lower targets
        config = replace(config, target_accept=NATIONAL_TARGET_ACCEPT)
        notes.append(
            f"One market only (a national fit): target_accept raised to {NATIONAL_TARGET_ACCEPT}."
        )
    ts = time.perf_counter()
    compiled = compile_model(model)
    idata = run_sampler(compiled, config, config.draws, config.tune, config.seed)
    sampling_seconds = time.perf_counter() - ts
    rhat, bulk, tail, div = sampler_diagnostics(idata)
    draws = Draws.from_idata(idata, data.controls.shape[2])

    window = panel.window(config.window_weeks)
    wk = panel.weeks.astype("datetime64[D]")
    pre, win = split_lagged(data, window, adstock)
    incr = window_incremental(draws, pre, win, data.pop, adstock)
    incr_up = window_incremental(draws, pre, win, data.pop, adstock, scale=1.01)
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

    rng = np.random.default_rng(config.seed)
    thin = draws.take(np.unique(np.linspace(0, draws.n - 1, min(500, draws.n)).astype(int)))
    media, base = national_components(thin, data, adstock)
    contributions = contributions_frame(wk, panel.channels, media, base)
    mu_nat, pred_nat, coverage = predictive_national(thin, data, adstock, rng)
    curves = response_curves(panel.channels, thin, data, window)
    response = response_model(panel.channels, draws, data, window, adstock, config.response_draws)

    fitted = np.median(mu_nat, axis=0)
    lo, hi = np.percentile(pred_nat, [5, 95], axis=0)
    holdout = np.zeros(panel.n_weeks, dtype=bool)
    mape = float("nan")
    if config.holdout_weeks and panel.n_weeks - config.holdout_weeks >= MIN_WEEKS:
        holdout[-config.holdout_weeks :] = True
        hmu, hpred = holdout_fit(compiled, data, config, holdout, rng)
        fitted[holdout] = np.median(hmu, axis=0)[holdout]
        lo[holdout], hi[holdout] = np.percentile(hpred[:, holdout], [5, 95], axis=0)
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
    diagnostics = Diagnostics(
        max_rhat=rhat,
        min_ess_bulk=bulk,
        min_ess_tail=tail,
        divergences=div,
        n_draws=draws.n,
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


def holdout_fit(
    compiled,
    data: ModelData,
    config: MMMConfig,
    holdout: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-sample the compiled model without the held-out weeks' new patients.

    Returns:
        (mu_nat, pred_nat), each (n, W), national mean and predictive draws for every week (the
        held-out ones are forecasts).
    """
    held = compiled.with_data(obs_weight=(~holdout).astype(float))
    idata = run_sampler(held, config, config.holdout_draws, config.holdout_tune, config.seed + 1)
    draws = Draws.from_idata(idata, data.controls.shape[2])
    mu_nat, pred_nat, _ = predictive_national(
        draws, replace(data, observed=~holdout), config.adstock, rng
    )
    return mu_nat, pred_nat
