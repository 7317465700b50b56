"""Design of a geo holdout test: which markets, how small an effect it can see, what it costs.

1. Candidates: markets are ranked by their recent weekly new patients and cut into ``k`` strata
   of neighbours; a candidate treatment set takes one market at random from each stratum
   (stratified, then randomised), so every candidate resembles the whole footprint.
   Candidates whose share of the channel's spend is far from their share of new patients are
   dropped (when others remain), so a holdout removes a representative slice of the channel.
2. Selection: every candidate is backtested as a placebo test (no effect) on a set of past
   windows of the test's length; the candidate with the smallest error of the synthetic-control
   estimate, relative to its expected new patients, is chosen.
3. Winner's-curse guard: choosing the best of many candidates on the same backtests flatters it.
   The chosen design's minimum detectable effect and power are therefore re-estimated on a
   disjoint set of held-out windows: the MDE at 80% power and alpha 0.10 (two-sided) is
   ``(z_0.95 + z_0.80) * RMSE`` of the held-out placebo estimates (from the full analysis, the
   one the real test will get), and the reported power is the share of held-out windows where
   the conformal test rejects "no effect" once an effect of that MDE is removed from the
   treatment markets.
4. Cost of a holdout: spend saved = the treatment markets' mean weekly spend on the channel over
   the last year x weeks; expected lost new patients = spend saved / an assumed PAC (the
   caller's, e.g. the MMM's; unknown when none is given).

Only measured cells are backtested (:func:`measured_part`): markets measured in each of the last
year's weeks, over the weeks since all of them have been measured.

Units: new patients and USD over the whole test; ``mde_pct`` in percent of the treatment
markets' expected new patients during the test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import numpy as np
from scipy.stats import norm

from models.geo.analysis import estimate_effect
from models.geo.prepare import CARRYOVER_WEEKS
from models.geo.synthetic_control import control_scale, fit_sc
from models.geo.types import DesignProposal, GeoTest
from models.panel import Panel

ALPHA = 0.10
POWER = 0.80
MIN_PRE_WEEKS = 26
"""Weeks of history before a backtest window."""
RECENT_WEEKS = 52
N_CANDIDATES = 40
N_SELECTION = 12
N_HOLDOUT = 80


def measured_part(panel: Panel) -> Panel:
    """The part of the panel a design may backtest on: no unmeasured cell is ever fitted.

    Markets measured in every one of the last ``RECENT_WEEKS`` weeks, over the weeks since all of
    them have been measured without a gap (``Panel.observed``). Other markets are neither
    treatment nor control markets of the proposal.
    """
    recent = panel.observed[:, -RECENT_WEEKS:].all(axis=1)
    gaps = np.flatnonzero(~panel.observed[recent].all(axis=0))
    first = int(gaps[-1]) + 1 if gaps.size else 0
    if recent.all() and first == 0:
        return panel
    keep = np.flatnonzero(recent)
    return replace(
        panel,
        weeks=panel.weeks[first:],
        geos=tuple(panel.geos[i] for i in keep),
        population=panel.population[keep],
        spend=panel.spend[keep, first:],
        new_patients=panel.new_patients[keep, first:],
        controls=panel.controls[keep, first:],
        observed=panel.observed[keep, first:],
    )


def _default_treated(n_geos: int) -> int:
    return max(1, min(n_geos - 2, round(n_geos / 5)))


def _candidates(rng: np.random.Generator, size: np.ndarray, k: int, n: int) -> list[np.ndarray]:
    """Up to ``n`` distinct stratified random treatment sets of ``k`` market indices."""
    strata = np.array_split(np.argsort(size), k)
    seen: set[tuple[int, ...]] = set()
    out = []
    for _ in range(4 * n):
        pick = tuple(sorted(int(rng.choice(s)) for s in strata))
        if pick not in seen:
            seen.add(pick)
            out.append(np.array(pick))
        if len(out) == n:
            break
    return out


def _windows(
    rng: np.random.Generator, n_weeks: int, weeks: int, busy: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Start weeks of backtest windows, split at random into selection and held-out sets.

    ``busy`` (n_weeks,) marks weeks of past tests (and their carry-over): windows touching them
    are not used, since their markets did not run as usual.
    """
    starts = np.arange(MIN_PRE_WEEKS, n_weeks - weeks + 1)
    if busy is not None:
        starts = np.array([s for s in starts if not busy[s : s + weeks].any()], dtype=int)
    if starts.size < 4:
        raise ValueError(
            f"the panel is too short to backtest a {weeks}-week test: it needs at least "
            f"{MIN_PRE_WEEKS + weeks + 3} weeks"
        )
    starts = rng.permutation(starts)
    n_sel = min(N_SELECTION, starts.size // 3)
    sel = starts[:n_sel]
    hold = starts[n_sel : n_sel + N_HOLDOUT]
    return sel, hold


def _series(panel: Panel, treated: np.ndarray, start: int, weeks: int):
    controls = np.setdiff1d(np.arange(panel.n_geos), treated)
    idx = np.arange(0, start + weeks)
    y = panel.new_patients[treated][:, idx].sum(axis=0).astype(float)
    x = panel.new_patients[controls][:, idx].T.astype(float)
    keep = x[:start].sum(axis=0) > 0
    return y, x[:, keep]


def _placebo_error(panel: Panel, treated: np.ndarray, start: int, weeks: int) -> float:
    """Quick placebo error (plain SC fitted on the pre-period), new patients over the window."""
    y, x = _series(panel, treated, start, weeks)
    scale = control_scale(x[:start], y[:start])
    model = fit_sc(x[:start], y[:start], scale)
    return float(np.sum(y[start:] - model.predict(x[start:])))


def _prepared(panel: Panel, treated: np.ndarray, start: int, weeks: int) -> dict[str, object]:
    """A held-out backtest: the full analysis of a placebo test (its ``effect`` is the error)."""
    y, x = _series(panel, treated, start, weeks)
    return estimate_effect(y, x, weeks, len(treated))


def _power(backtests: list[dict[str, object]], effect: float) -> float:
    """Share of backtests whose test rejects "no effect" (p < ALPHA) had ``effect`` new patients
    been removed from the treatment markets' test weeks: the p-value of "the effect is
    ``effect``" on the placebo data, which is the same test shifted."""
    return float(np.mean([b["inference"].p_value(effect) < ALPHA for b in backtests]))


def propose_design(
    panel: Panel,
    channel: str,
    weeks: int,
    treated: int | None = None,
    seed: int = 0,
    pac: float | None = None,
    past_tests: Sequence[GeoTest] = (),
) -> DesignProposal:
    """Propose a holdout test of ``channel`` lasting ``weeks`` weeks.

    Args:
        panel: the weekly panel (history to backtest on; only its :func:`measured_part`).
        channel: a paid channel of the panel.
        weeks: test length in weeks (>= 1).
        treated: number of treatment markets; default one in five markets (at least 1).
        seed: seed of the randomisation.
        pac: assumed USD per incremental new patient of the channel, for the expected loss.
        past_tests: earlier geo tests; backtest windows overlapping them (or the
            ``CARRYOVER_WEEKS`` after them) are skipped.

    Returns:
        A :class:`DesignProposal`.

    Raises:
        ValueError: unknown channel, bad ``weeks`` or ``treated``, or too little history
            (messages carry no data values).
    """
    if channel not in panel.channels:
        raise ValueError(f"unknown channel '{channel}': the paid channels are {panel.channels}")
    if weeks < 1:
        raise ValueError("--weeks must be at least 1")
    panel = measured_part(panel)
    if panel.n_geos < 3:
        raise ValueError("a geo test needs at least 3 markets measured throughout the last year")
    k = _default_treated(panel.n_geos) if treated is None else int(treated)
    if not 1 <= k <= panel.n_geos - 2:
        raise ValueError(
            f"--treated must be between 1 and {panel.n_geos - 2} (the panel has "
            f"{panel.n_geos} markets; at least 2 stay as controls)"
        )
    # a seed per channel, so that different channels get different random draws
    rng = np.random.default_rng([seed, *channel.encode()])
    c = panel.channels.index(channel)
    recent = slice(max(0, panel.n_weeks - RECENT_WEEKS), panel.n_weeks)
    size = panel.new_patients[:, recent].mean(axis=1)
    busy = np.zeros(panel.n_weeks, dtype=bool)
    for t in past_tests:
        s0 = np.datetime64(t.start_week, "D")
        s1 = np.datetime64(t.end_week + timedelta(weeks=CARRYOVER_WEEKS), "D")
        busy |= (panel.weeks >= s0) & (panel.weeks <= s1)
    sel, hold = _windows(rng, panel.n_weeks, weeks, busy)

    # selection on the selection windows: relative RMSE of placebo estimates
    best, best_score = None, math.inf
    candidates = _candidates(rng, size, k, N_CANDIDATES)
    # representative of the channel: the treatment markets' share of the channel's spend
    # within +-25% (relative) of their share of new patients, when any candidate manages it
    spend = panel.spend[:, recent, c].sum(axis=1)
    if spend.sum() > 0:
        balanced = [
            cand
            for cand in candidates
            if abs(spend[cand].sum() / spend.sum() - size[cand].sum() / size.sum())
            <= 0.25 * size[cand].sum() / size.sum()
        ]
        candidates = balanced or candidates
    for cand in candidates:
        errs = np.array([_placebo_error(panel, cand, int(s), weeks) for s in sel])
        level = size[cand].sum() * weeks
        score = float(np.sqrt(np.mean(errs**2))) / level
        if score < best_score:
            best, best_score = cand, score
    assert best is not None
    z = float(norm.ppf(1 - ALPHA / 2) + norm.ppf(POWER))
    mde_sel = z * best_score * size[best].sum() * weeks

    # winner's-curse guard: MDE calibrated on one set of windows the choice did not see,
    # power at that MDE re-estimated on another
    calib = [_prepared(panel, best, int(s), weeks) for s in hold[: len(hold) // 2]]
    check = [_prepared(panel, best, int(s), weeks) for s in hold[len(hold) // 2 :]]
    rmse = float(np.sqrt(np.mean([float(b["effect"]) ** 2 for b in calib])))
    mde = z * rmse
    for factor in np.arange(0.6, 4.01, 0.1):
        if _power(calib, factor * z * rmse) >= POWER:
            mde = float(factor * z * rmse)
            break
    else:
        mde = float(4.0 * z * rmse)
    power = _power(check, mde)
    expected_np = size[best].sum() * weeks
    spend_saved = float(panel.spend[best][:, recent, c].sum(axis=0).mean() * weeks)
    lost = spend_saved / pac if pac and pac > 0 else math.nan
    controls = np.setdiff1d(np.arange(panel.n_geos), best)
    return DesignProposal(
        channel=channel,
        weeks=weeks,
        treatment_geos=tuple(panel.geos[i] for i in best),
        control_geos=tuple(panel.geos[i] for i in controls),
        mde_new_patients=mde,
        mde_pct=float(100.0 * mde / expected_np) if expected_np > 0 else math.nan,
        power=power,
        expected_lost_new_patients=float(lost),
        expected_spend_saved=spend_saved,
        n_backtests=len(check),
        mde_in_selection=float(mde_sel),
        expected_new_patients=float(expected_np),
    )
