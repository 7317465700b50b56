"""A simulated world's truth and last-touch credit: consistent with the world itself."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.truth import UNPAID_SOURCES, last_touch
from simulator.world import CHANNELS, WorldConfig, simulate_world


@pytest.fixture(scope="module")
def world():
    return simulate_world(WorldConfig(seed=3, n_geos=12, n_weeks=104))


def test_last_touch_credits_every_patient_once() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 50, (3, 5))
    baseline = np.full((3, 5), 20.0)
    contrib = np.full((3, 5, len(CHANNELS)), 2.0)
    credited = last_touch(rng, CHANNELS, baseline, contrib, y)
    assert set(credited) == {c.name for c in CHANNELS} | set(UNPAID_SOURCES)
    np.testing.assert_array_equal(sum(credited.values()), y)
    # a channel that caused no patient gets no credit (tv is not credited for others' patients)
    tv = [c.name for c in CHANNELS].index("tv")
    contrib[:, :, tv] = 0.0
    assert last_touch(rng, CHANNELS, baseline, contrib, y)["tv"].sum() == 0


def test_truth_is_consistent(world) -> None:
    ch = world.truth["channels"]
    assert set(ch) == {c.name for c in CHANNELS}
    for v in ch.values():
        assert v["pac"] == pytest.approx(v["spend"] / v["incremental_new_patients"])
        assert v["incremental_new_patients"] > 0
    # last touch over-credits search and under-credits upper funnel channels
    assert ch["search"]["last_touch_pac"] < ch["search"]["pac"]
    assert ch["tv"]["last_touch_pac"] > ch["tv"]["pac"]
    window_spend = world.panel.spend[:, -world.config.window_weeks :, :].sum(axis=(0, 1))
    total = sum(v["spend"] for v in ch.values())
    assert total == pytest.approx(window_spend.sum(), rel=1e-6)


def test_geo_tests_in_last_year_with_positive_truth(world) -> None:
    assert {t.design for t in world.tests} == {"holdout", "scale_up"}
    last_year = world.panel.weeks[-52]
    for t in world.tests:
        assert np.datetime64(t.start_week) >= last_year
        truth = world.truth["tests"][t.test_id]
        assert truth["incremental_new_patients"] > 0 and truth["incremental_spend"] > 0
        c = world.panel.channels.index(t.channel)
        g = [world.panel.geos.index(x) for x in t.treatment_geos]
        w = (world.panel.weeks >= np.datetime64(t.start_week)) & (
            world.panel.weeks <= np.datetime64(t.end_week)
        )
        if t.design == "holdout":
            assert world.panel.spend[np.ix_(g, np.where(w)[0], [c])].sum() == 0
