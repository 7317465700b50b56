"""Results from posterior draws: PAC, marginal PAC, contributions, response curves, fit."""

from __future__ import annotations

import numpy as np
import polars as pl

from models.mmm.model import Draws, ModelData, baseline_mean, media_contrib
from models.mmm.response import ResponseModel
from models.mmm.transforms import Adstock, Saturation, channel_params, lagged

Q = (5.0, 50.0, 95.0)
CHUNK = 200


def split_lagged(
    data: ModelData, window: np.ndarray, max_lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lagged normalised spend for the window weeks, split into carry-in and window spend.

    Returns:
        (lagged_pre, lagged_win), each (G, n_window_weeks, C, L): the first from spend before
        the window only, the second from the window's spend only. Their sum is the full input.
    """
    x_pre = np.where(window[None, :, None], 0.0, data.x)
    x_win = np.where(window[None, :, None], data.x, 0.0)
    return lagged(x_pre, max_lag)[:, window], lagged(x_win, max_lag)[:, window]


def window_incremental(
    draws: Draws,
    lagged_pre: np.ndarray,
    lagged_win: np.ndarray,
    pop: np.ndarray,
    adstock: Adstock,
    saturation: Saturation,
    scale: float = 1.0,
) -> np.ndarray:
    """(n, C) new patients each channel caused in the window with window spend x ``scale``."""
    out = []
    for s in range(0, draws.n, CHUNK):
        d = draws.take(np.arange(s, min(s + CHUNK, draws.n)))
        out.append(
            media_contrib(d, lagged_pre + scale * lagged_win, pop, adstock, saturation).sum(
                axis=(1, 2)
            )
        )
    return np.concatenate(out)


def _q(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, med, hi = np.percentile(a, Q, axis=axis)
    return med, lo, hi


def channel_summary(
    channels: tuple[str, ...],
    window_spend: np.ndarray,
    incr: np.ndarray,
    incr_up: np.ndarray,
    calibrated: np.ndarray,
    window_start,
    window_end,
) -> pl.DataFrame:
    """One row per channel: spend, incremental new patients, PAC, marginal PAC (median, 5%, 95%).

    Args:
        window_spend: (C,) USD.
        incr: (n, C) incremental new patients in the window per draw.
        incr_up: (n, C) the same with window spend x 1.01.
        calibrated: (C,) bool, a lift test entered the fit for the channel.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        pac = window_spend[None, :] / incr
        mpac = 0.01 * window_spend[None, :] / (incr_up - incr)
    i_med, i_lo, i_hi = _q(incr)
    p_med, p_lo, p_hi = _q(pac)
    m_med, m_lo, m_hi = _q(mpac)
    return pl.DataFrame(
        {
            "channel": list(channels),
            "window_start": [window_start] * len(channels),
            "window_end": [window_end] * len(channels),
            "spend": window_spend,
            "incremental_new_patients": i_med,
            "incremental_new_patients_lo": i_lo,
            "incremental_new_patients_hi": i_hi,
            "pac": p_med,
            "pac_lo": p_lo,
            "pac_hi": p_hi,
            "marginal_pac": m_med,
            "marginal_pac_lo": m_lo,
            "marginal_pac_hi": m_hi,
            "calibrated": [bool(c) for c in calibrated],
        }
    )


def national_components(
    draws: Draws, data: ModelData, adstock: Adstock, saturation: Saturation
) -> tuple[np.ndarray, np.ndarray]:
    """National media contributions (n, W, C) and baseline (n, W), new patients per week."""
    media, base = [], []
    for s in range(0, draws.n, CHUNK):
        d = draws.take(np.arange(s, min(s + CHUNK, draws.n)))
        media.append(media_contrib(d, data.lagged, data.pop, adstock, saturation).sum(axis=1))
        base.append(baseline_mean(d, data).sum(axis=1))
    return np.concatenate(media), np.concatenate(base)


def contributions_frame(
    weeks: np.ndarray, channels: tuple[str, ...], media: np.ndarray, base: np.ndarray
) -> pl.DataFrame:
    """Long frame (week_start, component, median, lo, hi): each channel and ``baseline``."""
    parts = []
    for name, arr in [*((c, media[:, :, i]) for i, c in enumerate(channels)), ("baseline", base)]:
        med, lo, hi = _q(arr)
        parts.append(
            pl.DataFrame(
                {
                    "week_start": weeks.astype("datetime64[D]"),
                    "component": [name] * len(weeks),
                    "median": med,
                    "lo": lo,
                    "hi": hi,
                }
            )
        )
    return pl.concat(parts)


def response_curves(
    channels: tuple[str, ...],
    draws: Draws,
    data: ModelData,
    window: np.ndarray,
    saturation: Saturation,
    n_points: int = 41,
) -> pl.DataFrame:
    """Steady-state national weekly new patients vs national weekly spend, per channel.

    Spend is split across markets by their share of the channel's window spend and held
    constant (so the adstock equals the spend). Grid: 0 .. 2x the highest national weekly spend
    seen, plus the current (mean window) weekly spend flagged ``current``.
    """
    rows = []
    nat_weekly = data.spend.sum(axis=0)  # (W, C)
    for c, ch in enumerate(channels):
        geo_spend = data.spend[:, window, c].sum(axis=1)
        share = geo_spend / geo_spend.sum() if geo_spend.sum() > 0 else data.pop / data.pop.sum()
        current = float(nat_weekly[window, c].mean())
        grid = np.linspace(0.0, 2.0 * float(nat_weekly[:, c].max()), n_points)
        grid = np.unique(np.append(grid, current))
        x = grid[:, None] * share[None, :] / data.pop[None, :] / data.spend_unit[c]  # (S, G)
        x = x[None] / draws.saturation_geo[:, None, :, c]  # (n, S, G)
        h = saturation.apply(x, channel_params(draws.saturation, c, 2))
        npat = (data.pop[None, None, :] * draws.beta[:, None, :, c] * h).sum(axis=-1)
        med, lo, hi = _q(npat)
        rows.append(
            pl.DataFrame(
                {
                    "channel": [ch] * len(grid),
                    "weekly_spend": grid,
                    "new_patients": med,
                    "new_patients_lo": lo,
                    "new_patients_hi": hi,
                    "current": np.isclose(grid, current),
                }
            )
        )
    return pl.concat(rows)


def response_model(
    channels: tuple[str, ...],
    draws: Draws,
    data: ModelData,
    window: np.ndarray,
    adstock: Adstock,
    saturation: Saturation,
    n_draws: int,
) -> ResponseModel:
    """A :class:`ResponseModel` on ``n_draws`` draws picked evenly from the posterior."""
    idx = np.unique(np.linspace(0, draws.n - 1, min(n_draws, draws.n)).astype(int))
    d = draws.take(idx)
    pre, win = split_lagged(data, window, adstock.max_lag)
    return ResponseModel(
        channels=channels,
        window_spend=data.spend[:, window, :].sum(axis=(0, 1)),
        max_weekly_spend=data.spend.sum(axis=0).max(axis=0),
        pop=data.pop,
        lagged_pre=pre,
        lagged_win=win,
        adstock=adstock,
        saturation=saturation,
        adstock_params=d.adstock,
        saturation_params=d.saturation,
        beta=d.beta,
        saturation_geo=d.saturation_geo,
    )
