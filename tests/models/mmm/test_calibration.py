"""Lift measurements become calibration terms with the right counterfactual spend path."""

from dataclasses import replace

import numpy as np
import pytest

from models.geo.types import LiftMeasurement
from models.mmm.calibration import lift_terms
from models.mmm.fit import MMMConfig
from models.mmm.model import spend_unit


def test_lift_term_counterfactual_direction(tiny_panel) -> None:
    """A holdout (spend off in the test) adds spend back; a scale-up removes the extra."""
    cfg = MMMConfig()
    p = tiny_panel(n_weeks=60)
    spend = p.spend.copy()
    spend[0, 50:54, 0] = 0.0  # holdout in g0
    p = replace(p, spend=spend)
    m = LiftMeasurement(
        channel="search",
        geos=("g0",),
        start_week=p.weeks[50].item(),
        end_week=p.weeks[53].item(),
        incremental_new_patients=20.0,
        lo=10.0,
        hi=30.0,
        incremental_spend=4000.0,
        design="holdout",
    )
    (lt,), _ = lift_terms(p, [m], cfg.adstock.max_lag, spend_unit(p))
    assert lt.channel == 0 and lt.geos.tolist() == [0]
    assert lt.lagged_high.shape == (1, 4, cfg.adstock.max_lag)
    assert lt.lagged_high[..., 0].sum() > 0 and lt.lagged_low[..., 0].sum() == 0
    assert lt.sd == pytest.approx(10.0 / 1.645 * np.sqrt(2.0))

    # the same weeks as a scale-up: the observed spend is the higher arm, the extra is removed
    up = replace(m, design="scale_up", incremental_spend=float(p.spend[0, 50:54, 0].sum() + 1))
    (lt_up,), _ = lift_terms(p, [up], cfg.adstock.max_lag, spend_unit(p))
    np.testing.assert_allclose(lt_up.lagged_high, lt.lagged_low)
    assert lt_up.lagged_low[..., 0].sum() == 0
    # an unknown design is ignored with a note, not guessed
    lts, notes = lift_terms(p, [replace(m, design="crossover")], cfg.adstock.max_lag, spend_unit(p))
    assert lts == [] and any("design" in n for n in notes)
