"""Geo-test lift measurements turned into the MMM's calibration terms (:class:`LiftData`).

A measurement enters the model as ``observed ~ Normal(predicted lift, sd)``, where the
predicted lift is the model's new patients in the treated markets and test weeks under the
higher minus the lower spend path. Three choices keep a test from dragging the model where it
should only inform it:

- the scale is the wider half of the 90% interval over 1.645 (a skewed interval is not read as
  a narrow symmetric one), times ``DOUBLE_USE_INFLATION``: the test's outcomes also enter the
  model's likelihood, so the measurement is not independent evidence;
- an inconclusive test (a wide interval) has a large ``sd`` and moves the channel little (a
  Student-t likelihood was tried to discount disagreeing tests; the calibrated sample fit mixed
  worse with it, R-hat 1.020 against 1.012);
- the counterfactual spend follows the channel's weekly pattern in the markets not treated
  (the business-as-usual flighting), not an even spread over the test weeks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.geo.types import DESIGNS
from models.mmm.model import LiftData
from models.mmm.transforms import lagged
from models.panel import Panel

log = logging.getLogger(__name__)

#: Inflation of a lift measurement's standard error for using the same outcomes twice
DOUBLE_USE_INFLATION = float(np.sqrt(2.0))
#: z of the 95th percentile: a 90% interval's half-width is 1.645 sd
Z90 = 1.645


def lift_terms(
    panel: Panel, lift: Sequence[Any], max_lag: int, spend_unit: np.ndarray
) -> tuple[list[LiftData], list[str]]:
    """Turn lift measurements (``models.geo.types.LiftMeasurement``) into model inputs.

    The counterfactual spend path puts ``incremental_spend`` on the treated markets in
    proportion to their pre-test share of the channel's spend (population share if none), and
    over the test weeks in proportion to the channel's spend per capita in the other markets
    (evenly if they had none). For a holdout the observed spend is the lower arm and the
    counterfactual adds it back (higher arm); for a scale-up the observed spend is the higher
    arm and the counterfactual removes it. A test of another design is ignored with a note.
    """
    out: list[LiftData] = []
    notes: list[str] = []
    weeks = panel.weeks.astype("datetime64[D]")
    for m in lift:
        if m.channel not in panel.channels:
            notes.append("Ignored a lift test of a channel that is not fitted (no spend).")
            continue
        if m.design not in DESIGNS:
            notes.append("Ignored a lift test whose design is neither holdout nor scale_up.")
            continue
        c = panel.channels.index(m.channel)
        geos = np.array([panel.geos.index(g) for g in m.geos if g in panel.geos], dtype=int)
        test = (weeks >= np.datetime64(m.start_week, "D")) & (
            weeks <= np.datetime64(m.end_week, "D")
        )
        est, lo, hi = float(m.incremental_new_patients), float(m.lo), float(m.hi)
        half = max(hi - est, est - lo, (hi - lo) / 2.0)
        sd = half / Z90 * DOUBLE_USE_INFLATION
        if geos.size == 0 or not test.any() or not np.isfinite(sd) or sd <= 0:
            notes.append("Ignored a lift test with no fitted market or week in it, or no interval.")
            continue
        ti = np.flatnonzero(test)
        spend = panel.spend[geos, :, c]  # (n_t, W)
        pre_total = spend[:, : ti[0]].sum(axis=1)
        pop = panel.population[geos].astype(float)
        share = pre_total / pre_total.sum() if pre_total.sum() > 0 else pop / pop.sum()
        add = np.zeros_like(spend)
        add[:, ti] = float(m.incremental_spend) * share[:, None] * _week_shape(panel, geos, c, ti)
        if m.design == "holdout":
            high, low = spend + add, spend
        else:
            high, low = spend, np.maximum(spend - add, 0.0)

        unit = pop * spend_unit[c]
        out.append(
            LiftData(
                channel=c,
                geos=geos,
                lagged_high=lagged((high / unit[:, None])[:, :, None], max_lag)[:, ti, 0, :],
                lagged_low=lagged((low / unit[:, None])[:, :, None], max_lag)[:, ti, 0, :],
                observed=est,
                sd=sd,
            )
        )
    for n in notes:
        log.warning(n)
    return out, notes


def _week_shape(panel: Panel, treated: np.ndarray, c: int, test_weeks: np.ndarray) -> np.ndarray:
    """(n_test_weeks,) weights summing to one: the channel's spend per capita in the markets not
    treated, week by week over the test (even where they spent nothing)."""
    others = np.setdiff1d(np.arange(panel.n_geos), treated)
    if others.size:
        per_cap = panel.spend[others][:, test_weeks, c].sum(axis=0) / panel.population[others].sum()
        if per_cap.sum() > 0:
            return per_cap / per_cap.sum()
    return np.full(test_weeks.size, 1.0 / test_weeks.size)
