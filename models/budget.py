"""Budget allocation over the MMM's posterior response.

Given a posterior summary of how many new patients media spend causes (``ResponseModel`` of
``models.mmm.response``, or anything with the same interface), find the split of a fixed total
budget across paid channels that maximises the expected (posterior mean) number of media-caused
new patients in the reporting window, each channel kept within bounds (default plus or minus 30%
of its current spend). The plan is judged on the same posterior draws: the probability that it
beats the current split, and per-channel new patients with 90% intervals.

Units: spend is USD over the reporting window (``response.window_spend``); a plan scales each
channel's spend by the same factor in every market and week of the window. New patients are
counts over the window.

The model is additive across channels (architecture: ``mu = baseline + sum_c contrib_c``); the
response reports each channel's own new patients (``new_patients_by_channel``), which include
carry-over into the window from spend before it.

No Dagster, no files: arrays in, a ``BudgetPlan`` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl
from scipy.optimize import minimize

DEFAULT_MAX_CHANGE = 0.30
"""Default per-channel bound: the plan stays within this fraction of current spend."""


class Response(Protocol):
    """What the optimiser needs from a posterior response summary."""

    channels: tuple[str, ...]
    window_spend: np.ndarray  # (n_channels,) USD in the window

    def new_patients(self, spend_scale: np.ndarray) -> np.ndarray:
        """(n_channels,) scale of each channel's window spend -> (n_draws,) new patients."""
        ...

    def new_patients_by_channel(self, spend_scale: np.ndarray) -> np.ndarray:
        """As ``new_patients``, per channel: (n_draws, n_channels)."""
        ...


@dataclass(frozen=True)
class SpendRange:
    """National weekly spend per channel, USD per week, each array ``(n_channels,)``.

    Attributes:
        window_low, window_high: lowest and highest weekly spend inside the reporting window.
        seen_low, seen_high: lowest and highest weekly spend in all the history the model was
            fitted on.
    """

    window_low: np.ndarray
    window_high: np.ndarray
    seen_low: np.ndarray
    seen_high: np.ndarray


@dataclass(frozen=True)
class BudgetPlan:
    """A recommended split of the budget and how it compares with current spend.

    Attributes:
        channels: (n_channels,) channel slugs.
        n_weeks: weeks in the reporting window.
        current_spend, recommended_spend, lower, upper: (n_channels,) USD over the window.
        current_draws, recommended_draws: (n_draws, n_channels) new patients each channel causes
            in the window at current and recommended spend, per posterior draw.
        prob_beats_current: share of draws in which the plan's total media new patients exceed
            the current split's.
        warnings: (n_channels,) text, empty where none: recommended spend outside the spend
            range the model has seen.
        converged: whether the optimiser reported success.
        message: the optimiser's message, or why the current split was kept.
    """

    channels: tuple[str, ...]
    n_weeks: int
    current_spend: np.ndarray
    recommended_spend: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    current_draws: np.ndarray
    recommended_draws: np.ndarray
    prob_beats_current: float
    warnings: tuple[str, ...]
    converged: bool
    message: str

    @property
    def expected_gain(self) -> float:
        """Posterior mean of extra media new patients of the plan over current spend."""
        return float(
            self.recommended_draws.sum(axis=1).mean() - self.current_draws.sum(axis=1).mean()
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per channel: the ``marts.budget_plan`` columns (CONTRACT s.4) and extras.

        New patients are posterior means; ``_lo``/``_hi`` are the 5th and 95th percentiles.
        PAC is spend / mean new patients (null where no new patients are expected).
        """
        cur = self.current_draws.mean(axis=0)
        rec = self.recommended_draws.mean(axis=0)
        rec_lo, rec_hi = np.percentile(self.recommended_draws, [5, 95], axis=0)

        def pac(spend: np.ndarray, patients: np.ndarray) -> list[float | None]:
            return [float(s / p) if p > 0 else None for s, p in zip(spend, patients, strict=True)]

        return pl.DataFrame(
            {
                "channel": list(self.channels),
                "current_spend": self.current_spend.astype(float),
                "recommended_spend": self.recommended_spend.astype(float),
                "current_new_patients": cur.astype(float),
                "recommended_new_patients": rec.astype(float),
                "current_pac": pac(self.current_spend, cur),
                "recommended_pac": pac(self.recommended_spend, rec),
                "recommended_new_patients_lo": rec_lo.astype(float),
                "recommended_new_patients_hi": rec_hi.astype(float),
                "current_weekly_spend": self.current_spend / self.n_weeks,
                "recommended_weekly_spend": self.recommended_spend / self.n_weeks,
                "min_spend": self.lower.astype(float),
                "max_spend": self.upper.astype(float),
                "prob_beats_current": [self.prob_beats_current] * len(self.channels),
                "warning": [w or None for w in self.warnings],
            },
            schema_overrides={
                "current_pac": pl.Float64,
                "recommended_pac": pl.Float64,
                "warning": pl.Utf8,
            },
        )


def channel_draws(response: Response, spend_scale: np.ndarray) -> np.ndarray:
    """New patients per draw and channel, ``(n_draws, n_channels)``, at ``spend_scale``."""
    draws = np.asarray(response.new_patients_by_channel(np.asarray(spend_scale)), dtype=float)
    if draws.ndim != 2 or draws.shape[1] != len(response.channels):
        raise ValueError("new_patients_by_channel must return (n_draws, n_channels)")
    return draws


def spend_bounds(
    current: np.ndarray,
    max_change: float = DEFAULT_MAX_CHANGE,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel bounds in USD: given ones where set, else ``current * (1 -/+ max_change)``.

    ``lower``/``upper`` may hold NaN for channels that keep the default bound.
    """
    if not max_change >= 0:
        raise ValueError("max_change must be >= 0")
    lo = current * max(0.0, 1.0 - max_change)
    hi = current * (1.0 + max_change)
    if lower is not None:
        lower = np.asarray(lower, dtype=float)
        lo = np.where(np.isnan(lower), lo, lower)
    if upper is not None:
        upper = np.asarray(upper, dtype=float)
        hi = np.where(np.isnan(upper), hi, upper)
    if np.any(lo < 0) or np.any(hi < lo):
        raise ValueError("budget bounds must satisfy 0 <= lower <= upper for every channel")
    return lo, hi


def range_warnings(
    channels: tuple[str, ...], scale: np.ndarray, spend_range: SpendRange | None
) -> tuple[str, ...]:
    """Warn where the plan's weekly spend leaves the range seen in the fitted history.

    The plan multiplies every window week by ``scale``, so its weekly spend runs from
    ``scale * window_low`` to ``scale * window_high``; this is compared with ``seen_low`` and
    ``seen_high``. Amounts are USD per week.
    """
    if spend_range is None:
        return tuple("" for _ in channels)
    out = []
    for c, name in enumerate(channels):
        top = scale[c] * spend_range.window_high[c]
        bottom = scale[c] * spend_range.window_low[c]
        msgs = []
        if top > spend_range.seen_high[c] * (1 + 1e-9):
            msgs.append(
                f"{name}: recommended weekly spend reaches ${top:,.0f}, above the highest "
                f"${spend_range.seen_high[c]:,.0f} the model has seen; the response there is "
                "extrapolated"
            )
        if bottom < spend_range.seen_low[c] * (1 - 1e-9):
            msgs.append(
                f"{name}: recommended weekly spend falls to ${bottom:,.0f}, below the lowest "
                f"${spend_range.seen_low[c]:,.0f} the model has seen; the response there is "
                "extrapolated"
            )
        out.append("; ".join(msgs))
    return tuple(out)


def optimise_budget(
    response: Response,
    n_weeks: int,
    total: float | None = None,
    max_change: float = DEFAULT_MAX_CHANGE,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    spend_range: SpendRange | None = None,
) -> BudgetPlan:
    """Split ``total`` across channels to maximise expected media new patients in the window.

    SLSQP from the current split, with the budget as an equality constraint and per-channel
    bounds. Channels with no current spend and no explicit upper bound stay at zero (the model
    has no data on them). If the optimiser fails, or finds nothing better than the current
    split, the current split (rescaled to ``total`` when needed) is kept and ``message`` says so.

    Args:
        response: posterior response summary (see ``Response``).
        n_weeks: weeks in the reporting window (to report weekly spend).
        total: USD to allocate over the window; default the current total.
        max_change: default bound as a fraction of current spend (0.3 = plus or minus 30%).
        lower, upper: (n_channels,) explicit USD bounds per channel (NaN = default).
        spend_range: weekly spend seen, for the extrapolation warnings.

    Raises:
        ValueError: when the bounds cannot hold ``total``.
    """
    current = np.asarray(response.window_spend, dtype=float)
    n = len(response.channels)
    if current.shape != (n,):
        raise ValueError("window_spend must have one entry per channel")
    total = float(current.sum()) if total is None else float(total)
    lo, hi = spend_bounds(current, max_change, lower, upper)
    if total < lo.sum() - 1e-6 * max(total, 1) or total > hi.sum() + 1e-6 * max(total, 1):
        raise ValueError(
            f"a total of ${total:,.0f} cannot be split within the channel bounds "
            f"(${lo.sum():,.0f} to ${hi.sum():,.0f}); widen the bounds or change the total"
        )
    free = (current > 0) & (hi > lo)
    fixed_spend = np.where(free, 0.0, np.clip(np.where(current > 0, current, lo), lo, hi))

    def scale_of(spend: np.ndarray) -> np.ndarray:
        return np.where(current > 0, spend / np.where(current > 0, current, 1.0), 0.0)

    cur_draws = channel_draws(response, np.where(current > 0, 1.0, 0.0))
    cur_total = cur_draws.sum(axis=1)
    norm = max(abs(float(cur_total.mean())), 1e-9)
    budget = total - fixed_spend.sum()
    idx = np.flatnonzero(free)

    # Start: current spend of the free channels, moved into the bounds and onto the budget.
    start = np.clip(current[idx], lo[idx], hi[idx])
    if idx.size and start.sum() > 0:
        start = _onto_budget(start, lo[idx], hi[idx], budget)

    def spend_of(x: np.ndarray) -> np.ndarray:
        s = fixed_spend.copy()
        s[idx] = x * budget if budget > 0 else 0.0
        return s

    def objective(x: np.ndarray) -> float:
        s = spend_of(x)
        return -float(np.mean(response.new_patients(scale_of(s)))) / norm

    converged, message = True, "current split kept: no channel can move"
    recommended = spend_of(start / budget) if idx.size and budget > 0 else fixed_spend
    if idx.size > 1 and budget > 0:
        res = minimize(
            objective,
            start / budget,
            method="SLSQP",
            bounds=list(zip(lo[idx] / budget, hi[idx] / budget, strict=True)),
            constraints=[{"type": "eq", "fun": lambda x: float(x.sum() - 1.0)}],
            options={"maxiter": 200, "ftol": 1e-9, "eps": 1e-7},
        )
        converged, message = bool(res.success), str(res.message)
        if res.success:
            x = np.clip(res.x, lo[idx] / budget, hi[idx] / budget)
            candidate = spend_of(_onto_budget(x * budget, lo[idx], hi[idx], budget) / budget)
            if objective(candidate[idx] / budget) <= objective(start / budget):
                recommended = candidate
            else:
                message = "current split kept: the optimiser found nothing better"
        else:
            message = f"current split kept: optimiser did not converge ({message})"
    rec_scale = scale_of(recommended)
    rec_draws = channel_draws(response, rec_scale)
    prob = float(np.mean(rec_draws.sum(axis=1) > cur_total))
    return BudgetPlan(
        channels=tuple(response.channels),
        n_weeks=int(n_weeks),
        current_spend=current,
        recommended_spend=recommended,
        lower=lo,
        upper=hi,
        current_draws=cur_draws,
        recommended_draws=rec_draws,
        prob_beats_current=prob,
        warnings=range_warnings(tuple(response.channels), rec_scale, spend_range),
        converged=converged,
        message=message,
    )


def _onto_budget(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> np.ndarray:
    """Shift ``x`` within ``[lo, hi]`` so that it sums to ``budget`` (proportional to slack)."""
    x = np.clip(x, lo, hi)
    for _ in range(50):
        gap = budget - x.sum()
        if abs(gap) <= 1e-9 * max(budget, 1.0):
            break
        room = (hi - x) if gap > 0 else (x - lo)
        if room.sum() <= 0:
            break
        x = np.clip(x + gap * room / room.sum(), lo, hi)
    return x


CAUTIOUS_TAIL = 0.10
"""Share of the worst posterior draws whose mean the cautious plan maximises (CVaR at 10%)."""


class WorstDrawsResponse:
    """A ``Response`` whose ``new_patients`` keeps only the worst ``tail`` share of the draws.

    ``optimise_budget`` maximises the mean of ``new_patients``; on this wrapper that mean is
    the conditional value at risk (CVaR): the expected media new patients in the worst
    ``tail`` share of posterior draws. ``new_patients_by_channel`` is the wrapped response's,
    so the plan is still reported (and compared with current spend) over every draw.
    """

    def __init__(self, response: Response, tail: float = CAUTIOUS_TAIL) -> None:
        if not 0 < tail <= 1:
            raise ValueError("tail must be in (0, 1]")
        self.response = response
        self.tail = tail
        self.channels = tuple(response.channels)
        self.window_spend = np.asarray(response.window_spend, dtype=float)

    def new_patients(self, spend_scale: np.ndarray) -> np.ndarray:
        """(k,) the ``k = ceil(tail * n_draws)`` lowest draws of total media new patients."""
        draws = np.sort(np.asarray(self.response.new_patients(spend_scale), dtype=float))
        return draws[: max(1, int(np.ceil(self.tail * draws.size)))]

    def new_patients_by_channel(self, spend_scale: np.ndarray) -> np.ndarray:
        return self.response.new_patients_by_channel(spend_scale)


def optimise_cautious_budget(
    response: Response, tail: float = CAUTIOUS_TAIL, **kwargs: object
) -> BudgetPlan:
    """As :func:`optimise_budget`, but maximising the CVaR of media new patients.

    The risk-neutral plan maximises the posterior mean, so a channel whose posterior is wide
    and right-skewed attracts budget on the strength of draws that may not be true. This plan
    maximises the mean over the worst ``tail`` share of draws (default 10%) instead: it favours
    channels the data pin down. Keyword arguments are those of :func:`optimise_budget`.
    """
    return optimise_budget(WorstDrawsResponse(response, tail), **kwargs)  # type: ignore[arg-type]


def plan_gain(plan: BudgetPlan, q: tuple[float, float] = (5.0, 95.0)) -> tuple[float, float, float]:
    """Extra media new patients of ``plan`` over current spend: (mean, low, high).

    The gain is computed per posterior draw (plan minus current, same draw), so its interval
    (percentiles ``q``, default the 90% interval) accounts for what the two share.
    """
    gain = plan.recommended_draws.sum(axis=1) - plan.current_draws.sum(axis=1)
    lo, hi = np.percentile(gain, q)
    return float(gain.mean()), float(lo), float(hi)
