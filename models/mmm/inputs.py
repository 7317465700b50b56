"""Checks and documented treatments of a panel before the MMM fits it (counts only, no values)."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from models.panel import Panel

log = logging.getLogger(__name__)

MIN_WEEKS = 52


class MMMInputError(ValueError):
    """The panel cannot be fitted; the message says why (counts and names only, no values)."""


def prepare_panel(panel: Panel, window_weeks: int = 52) -> tuple[Panel, list[str]]:
    """Check and clean a panel before fitting.

    Treatments (each logged and returned as a note):
    - leading/trailing weeks where no market has any new patient are dropped (no KPI data);
    - a channel with no spend at all is dropped;
    - a market with no new patients in any week is dropped.
    Notes give counts only (no market or channel names: they come from landing files).

    Raises:
        MMMInputError: fewer than 52 weeks with new patients, spend and new-patient weeks that
            overlap by fewer than 52 weeks, no channel with spend, or no market left.
    """
    notes: list[str] = []
    if panel.n_weeks < MIN_WEEKS:
        raise MMMInputError(
            f"The panel has {panel.n_weeks} weeks; the MMM needs at least {MIN_WEEKS} weeks "
            "(one full year) to separate seasonality from media."
        )
    kpi_weeks = np.flatnonzero((panel.new_patients * panel.observed).sum(axis=0) > 0)
    spend_weeks = np.flatnonzero(panel.spend.sum(axis=(0, 2)) > 0)
    if kpi_weeks.size == 0:
        raise MMMInputError("No market has any new patients: there is nothing to fit.")
    if spend_weeks.size == 0:
        raise MMMInputError("No channel has any spend: there is nothing to attribute.")
    overlap = min(kpi_weeks[-1], spend_weeks[-1]) - max(kpi_weeks[0], spend_weeks[0]) + 1
    if overlap < MIN_WEEKS:
        raise MMMInputError(
            f"Spend and new-patient weeks overlap for {max(overlap, 0)} weeks; the MMM needs at "
            f"least {MIN_WEEKS}. Check that the spend and calls/bookings feeds cover the same "
            "period."
        )
    first, last = kpi_weeks[0], kpi_weeks[-1]
    if first > 0 or last < panel.n_weeks - 1:
        n_drop = panel.n_weeks - (last - first + 1)
        notes.append(
            f"Dropped {n_drop} leading/trailing weeks with no new patients in any market "
            "(treated as not yet reported)."
        )
        sl = slice(first, last + 1)
        panel = replace(
            panel,
            weeks=panel.weeks[sl],
            spend=panel.spend[:, sl],
            new_patients=panel.new_patients[:, sl],
            observed=panel.observed[:, sl],
            controls=panel.controls[:, sl],
        )
    if panel.n_weeks < MIN_WEEKS:
        raise MMMInputError(
            f"Only {panel.n_weeks} weeks have new patients; the MMM needs at least {MIN_WEEKS}."
        )
    has_spend = panel.spend.sum(axis=(0, 1)) > 0
    if not has_spend.all():
        notes.append(
            f"Dropped {int((~has_spend).sum())} channel(s) with no spend in the history (they "
            "get no PAC)."
        )
        panel = replace(
            panel,
            channels=tuple(c for c, k in zip(panel.channels, has_spend, strict=True) if k),
            spend=panel.spend[:, :, has_spend],
        )
    has_kpi = (panel.new_patients * panel.observed).sum(axis=1) > 0
    if not has_kpi.all():
        notes.append(
            f"Dropped {int((~has_kpi).sum())} market(s) with no new patients in any week "
            "(likely missing call-tracking/booking data, not zero demand)."
        )
        panel = replace(
            panel,
            geos=tuple(g for g, k in zip(panel.geos, has_kpi, strict=True) if k),
            population=panel.population[has_kpi],
            spend=panel.spend[has_kpi],
            new_patients=panel.new_patients[has_kpi],
            observed=panel.observed[has_kpi],
            controls=panel.controls[has_kpi],
        )
    if panel.n_geos == 0:
        raise MMMInputError("No market is left to fit.")
    if window_weeks > panel.n_weeks:
        raise MMMInputError(
            f"The reporting window ({window_weeks} weeks) is longer than the history "
            f"({panel.n_weeks} weeks)."
        )
    for n in notes:
        log.warning(n)
    return panel, notes
