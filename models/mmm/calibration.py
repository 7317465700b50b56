"""Geo-test lift measurements turned into the MMM's calibration terms (:class:`LiftData`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.geo.types import DESIGNS
from models.mmm.model import LiftData
from models.mmm.transforms import GeometricAdstock
from models.panel import Panel

log = logging.getLogger(__name__)


def lift_terms(
    panel: Panel, lift: Sequence[Any], adstock: GeometricAdstock, spend_unit: np.ndarray
) -> tuple[list[LiftData], list[str]]:
    """Turn lift measurements (``models.geo.types.LiftMeasurement``) into model inputs.

    The counterfactual spend path spreads ``incremental_spend`` over the treated markets in
    proportion to their pre-test share of the channel's spend (population share if none), evenly
    over the test weeks. For a holdout the observed spend is the lower arm and the counterfactual
    adds it back (higher arm); for a scale-up the observed spend is the higher arm and the
    counterfactual removes it. A test of another design is ignored with a note.
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
        sd = (float(m.hi) - float(m.lo)) / 3.29
        if geos.size == 0 or not test.any() or not np.isfinite(sd) or sd <= 0:
            notes.append("Ignored a lift test with no fitted market or week in it, or no interval.")
            continue
        ti = np.flatnonzero(test)
        spend = panel.spend[geos, :, c]  # (n_t, W)
        pre_total = spend[:, : ti[0]].sum(axis=1)
        pop = panel.population[geos].astype(float)
        share = pre_total / pre_total.sum() if pre_total.sum() > 0 else pop / pop.sum()
        add = np.zeros_like(spend)
        add[:, ti] = float(m.incremental_spend) * share[:, None] / len(ti)
        if m.design == "holdout":
            high, low = spend + add, spend
        else:
            high, low = spend, np.maximum(spend - add, 0.0)

        out.append(
            LiftData(
                channel=c,
                geos=geos,
                lagged_high=_test_lagged(high, pop * spend_unit[c], ti, adstock),
                lagged_low=_test_lagged(low, pop * spend_unit[c], ti, adstock),
                observed=float(m.incremental_new_patients),
                sd=sd,
            )
        )
    for n in notes:
        log.warning(n)
    return out, notes


def _test_lagged(
    spend: np.ndarray, unit: np.ndarray, weeks: np.ndarray, adstock: GeometricAdstock
) -> np.ndarray:
    """(n_t, len(weeks), L) lagged normalised spend per capita of one channel in test weeks."""
    x = spend / unit[:, None]
    return adstock.lagged(x[:, :, None])[:, weeks, 0, :]
