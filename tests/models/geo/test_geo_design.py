"""Design proposals on a small simulator world."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from models.geo.design import measured_part, propose_design
from simulator import WorldConfig, simulate_world


@pytest.fixture(scope="module")
def panel():
    return simulate_world(WorldConfig(seed=12, n_geos=10, n_weeks=90)).panel


def test_proposal_is_a_stratified_split_with_an_mde(panel) -> None:
    p = propose_design(panel, "search", 6, treated=3, seed=1, pac=200.0)
    assert len(p.treatment_geos) == 3
    assert set(p.treatment_geos).isdisjoint(p.control_geos)
    assert set(p.treatment_geos) | set(p.control_geos) == set(panel.geos)
    assert p.mde_new_patients > 0 and 0 < p.mde_pct < 100
    assert 0.0 <= p.power <= 1.0 and p.n_backtests > 0
    assert p.expected_spend_saved > 0
    assert p.expected_lost_new_patients == pytest.approx(p.expected_spend_saved / 200.0)
    # the same seed gives the same design
    assert propose_design(panel, "search", 6, treated=3, seed=1).treatment_geos == p.treatment_geos


def test_default_size_and_unknown_pac(panel) -> None:
    p = propose_design(panel, "tv", 4)
    assert len(p.treatment_geos) == 2
    assert math.isnan(p.expected_lost_new_patients)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"channel": "radio", "weeks": 4}, "unknown channel"),
        ({"channel": "tv", "weeks": 0}, "at least 1"),
        ({"channel": "tv", "weeks": 4, "treated": 9}, "--treated"),
        ({"channel": "tv", "weeks": 70}, "too short"),
    ],
)
def test_bad_requests_raise_clear_errors(panel, kwargs, words) -> None:
    with pytest.raises(ValueError, match=words):
        propose_design(panel, **kwargs)


def test_markets_and_weeks_not_measured_stay_out_of_the_design(make_panel) -> None:
    panel = make_panel(12, 90, seed=3)
    observed = np.ones_like(panel.observed)
    observed[4, -3:] = False  # a market whose tracking broke off: out of the design
    observed[7, :20] = False  # a market whose tracking started late: the design starts there
    gappy = replace(panel, observed=observed)
    part = measured_part(gappy)
    assert panel.geos[4] not in part.geos and part.n_geos == 11
    assert part.n_weeks == 70 and part.observed.all()
    p = propose_design(gappy, "search", 4, treated=2, seed=0)
    assert set(p.treatment_geos) | set(p.control_geos) == set(panel.geos) - {panel.geos[4]}
