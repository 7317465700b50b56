"""Which weeks and markets a test may use: unmeasured cells and the carry-over window."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from models.geo.prepare import CARRYOVER_WEEKS, carryover_weeks, prepare_test
from models.geo.types import GeoTest


def _test(panel, start: int, length: int, geos, test_id: str = "t") -> GeoTest:
    return GeoTest(
        test_id,
        "search",
        "holdout",
        panel.weeks[start].astype(object),
        panel.weeks[start + length - 1].astype(object),
        tuple(geos),
    )


def test_controls_not_measured_in_a_used_week_leave_the_pool(make_panel) -> None:
    panel = make_panel(12, 40, seed=1)
    observed = np.ones_like(panel.observed)
    observed[5, 3] = False  # in the pre-period
    observed[6, 21] = False  # in the test weeks
    observed[7, 35] = False  # after the test: not used
    prep = prepare_test(replace(panel, observed=observed), _test(panel, 20, 4, panel.geos[:2]))
    assert not isinstance(prep, str)
    assert set(prep.controls) == set(range(2, 12)) - {5, 6}
    assert prep.weeks.tolist() == list(range(24))


def test_weeks_a_treatment_market_missed_are_cut_from_the_pre_period(make_panel) -> None:
    panel = make_panel(12, 40, seed=2)
    observed = np.ones_like(panel.observed)
    observed[0, 4:9] = False
    prep = prepare_test(replace(panel, observed=observed), _test(panel, 20, 4, panel.geos[:2]))
    assert not isinstance(prep, str)
    assert prep.weeks.tolist() == [*range(4), *range(9, 24)]
    observed[0, :15] = False  # 5 usable weeks left: too few
    msg = prepare_test(replace(panel, observed=observed), _test(panel, 20, 4, panel.geos[:2]))
    assert isinstance(msg, str) and "only 5 usable week(s)" in msg


def test_carry_over_window_stops_at_the_data_end_a_gap_or_the_next_test(make_panel) -> None:
    panel = make_panel(12, 40, seed=3)
    test = _test(panel, 20, 4, panel.geos[:2])
    assert carryover_weeks(panel, test) == CARRYOVER_WEEKS
    assert carryover_weeks(panel, _test(panel, 34, 4, panel.geos[:2])) == 2
    later = replace(test, test_id="later", start_week=test.end_week + timedelta(weeks=4))
    assert carryover_weeks(panel, test, [test, later]) == 3
    elsewhere = replace(later, treatment_geos=panel.geos[5:7])
    assert carryover_weeks(panel, test, [test, elsewhere]) == CARRYOVER_WEEKS
    observed = np.ones_like(panel.observed)
    observed[1, 26] = False
    assert carryover_weeks(replace(panel, observed=observed), test) == 2
