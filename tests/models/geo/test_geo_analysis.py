"""Geo-test analysis on simulator worlds: detection, bad inputs, A/A sanity, PAC, DiD, spend."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.geo.analysis import _pac, analyze_test, analyze_tests, parse_experiments
from models.geo.did import did_estimate
from models.geo.spend import incremental_spend
from models.geo.types import GeoTest
from simulator import WorldConfig, simulate_world


@pytest.fixture(scope="module")
def world():
    return simulate_world(WorldConfig(seed=11, n_geos=12, n_weeks=100))


def monday(world, i: int) -> date:
    return world.panel.weeks[i].astype(object)


def placebo(world, start: int, length: int, geos: tuple[str, ...], design="holdout") -> GeoTest:
    return GeoTest(
        f"p{start}", "search", design, monday(world, start), monday(world, start + length - 1), geos
    )


def thinned(world, test: GeoTest, lift: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = world.panel
    gi = [p.geos.index(g) for g in test.treatment_geos]
    w0 = list(p.weeks).index(np.datetime64(test.start_week))
    w1 = list(p.weeks).index(np.datetime64(test.end_week)) + 1
    y = p.new_patients.copy()
    block = y[np.ix_(gi, range(w0, w1))]
    kept = rng.binomial(block.astype(np.int64), 1 - lift)
    y[np.ix_(gi, range(w0, w1))] = kept
    return replace(p, new_patients=y), float((block - kept).sum())


def test_big_holdout_effect_is_detected_and_covered(world) -> None:
    test = placebo(world, 40, 8, world.panel.geos[:4])
    panel, effect = thinned(world, test, 0.30)
    r = analyze_test(panel, test)
    assert r.ok, r.message
    assert r.p_value < 0.10
    assert r.incremental_new_patients_lo <= effect <= r.incremental_new_patients_hi
    assert r.incremental_new_patients > 0
    assert 15 < r.lift_pct < 60
    assert r.method.endswith("+conformal_in_time")  # 8 controls: too few for placebos
    assert len(r.details["treated"]) == len(r.details["counterfactual"])
    assert r.details["in_test"].sum() == 8


def test_scale_up_sign_is_positive_when_patients_are_added(world) -> None:
    test = placebo(world, 50, 6, world.panel.geos[4:8], design="scale_up")
    p = world.panel
    y = p.new_patients.copy()
    gi = [p.geos.index(g) for g in test.treatment_geos]
    y[np.ix_(gi, range(50, 56))] = (y[np.ix_(gi, range(50, 56))] * 1.4).round()
    r = analyze_test(replace(p, new_patients=y), test)
    assert r.ok and r.incremental_new_patients > 0 and r.p_value < 0.10


def test_world_tests_run_and_give_lift_measurements(world) -> None:
    results = analyze_tests(world.panel, world.tests)
    assert [r.test_id for r in results] == [t.test_id for t in world.tests]
    for r in results:
        assert r.ok, r.message
        lift = r.to_lift()
        assert lift is not None and lift.channel == r.channel and lift.design == r.design
        assert lift.lo <= lift.incremental_new_patients <= lift.hi
        assert lift.incremental_spend > 0


def test_aa_mini_study_is_sane(world) -> None:
    rng = np.random.default_rng(5)
    ps, covers = [], []
    for i in range(12):
        geos = tuple(sorted(rng.choice(world.panel.geos, 3, replace=False)))
        r = analyze_test(world.panel, placebo(world, 25 + 3 * i, 6, geos))
        ps.append(r.p_value)
        covers.append(r.incremental_new_patients_lo <= 0 <= r.incremental_new_patients_hi)
    assert np.mean(np.array(ps) < 0.10) <= 0.34
    assert np.mean(covers) >= 0.66


def test_bad_inputs_get_messages_and_the_others_still_run(world) -> None:
    p = world.panel
    good = placebo(world, 40, 6, p.geos[:3])
    last = monday(world, p.n_weeks - 1)
    bad = [
        GeoTest("unknown", "search", "holdout", good.start_week, good.end_week, ("999",)),
        GeoTest("outside", "search", "holdout", last, last + timedelta(weeks=4), p.geos[:2]),
        GeoTest("short", "search", "holdout", monday(world, 3), monday(world, 6), p.geos[:2]),
        GeoTest(
            "no_control",
            "search",
            "holdout",
            monday(world, 60),
            monday(world, 65),
            p.geos[8:10],
            control_geos=p.geos[8:10],
        ),
        GeoTest("overlap", "social", "scale_up", good.start_week, good.end_week, p.geos[2:4]),
        GeoTest("channel", "radio", "holdout", good.start_week, good.end_week, p.geos[5:7]),
        GeoTest("design", "search", "pause", good.start_week, good.end_week, p.geos[5:7]),
    ]
    results = {r.test_id: r for r in analyze_tests(p, [good, *bad])}
    assert results[good.test_id].ok is False  # it overlaps "overlap" in market p.geos[2]
    expected = {
        "unknown": "unknown markets",
        "outside": "outside the weeks of data",
        "short": "at least 8",
        "no_control": "no possible control",
        "overlap": "overlaps test",
        "channel": "no spend",
        "design": "neither",
    }
    for test_id, words in expected.items():
        r = results[test_id]
        assert not r.ok and words in r.message, (test_id, r.message)
        assert r.to_lift() is None
    # without the overlapping test, the good one runs next to the bad ones
    results = analyze_tests(p, [good, *[b for b in bad if b.test_id != "overlap"]])
    assert results[0].ok and sum(r.ok for r in results) == 1


def test_pac_interval_is_unbounded_when_the_effect_interval_reaches_zero() -> None:
    assert _pac(1000.0, 10.0, 5.0, 20.0) == (100.0, 50.0, 200.0)
    pac, lo, hi = _pac(1000.0, 10.0, -5.0, 20.0)
    assert pac == 100.0 and lo == 50.0 and math.isinf(hi)
    assert _pac(1000.0, -3.0, -10.0, 5.0) == (None, 200.0, math.inf)
    assert _pac(1000.0, -3.0, -10.0, -1.0) == (None, None, None)


def test_incremental_spend_is_positive_for_both_designs() -> None:
    controls = np.full(30, 100.0)
    treated = np.full(30, 50.0)
    treated[-5:] = 0.0
    inc, predicted = incremental_spend(treated, controls, 5, "holdout")
    assert inc == pytest.approx(250.0) and predicted == pytest.approx(250.0)
    treated[-5:] = 100.0
    inc, _ = incremental_spend(treated, controls, 5, "scale_up")
    assert inc == pytest.approx(250.0)


def test_did_recovers_a_known_effect() -> None:
    rng = np.random.default_rng(4)
    pop = np.full(10, 100_000.0)
    y = 40 + rng.normal(0, 0.5, (10, 60)) + np.arange(60)[None, :] * 0.1
    treated = np.zeros(10, dtype=bool)
    treated[:3] = True
    y[:3, -6:] -= 4.0
    r = did_estimate(y, pop, treated, 6)
    assert r.estimate == pytest.approx(-4.0 * 3 * 6, rel=0.1)
    assert r.lo < r.estimate < r.hi


def test_parse_experiments_flags_inconsistent_rows() -> None:
    d0, d1 = date(2025, 1, 6), date(2025, 2, 3)
    frame = pl.DataFrame(
        {
            "test_id": ["a", "a", "a", "b", "b"],
            "channel": ["tv", "tv", "tv", "tv", "search"],
            "geo": ["100", "101", "102", "100", "101"],
            "role": ["treatment", "treatment", "control", "treatment", "treatment"],
            "start_week": [d0] * 5,
            "end_week": [d1] * 5,
            "design": ["holdout"] * 5,
        }
    )
    tests, failed = parse_experiments(frame)
    assert [t.test_id for t in tests] == ["a"]
    assert tests[0].treatment_geos == ("100", "101") and tests[0].control_geos == ("102",)
    assert [f.test_id for f in failed] == ["b"] and "disagree" in failed[0].message


def test_too_short_a_history_gives_an_open_interval_not_a_false_one(world) -> None:
    p = world.panel
    one_week = placebo(world, 8, 1, p.geos[:2])  # 9 weeks: no p-value can fall below 0.10
    r = analyze_test(p, one_week)
    assert r.ok and "open-ended" in r.message
    assert math.isinf(r.incremental_new_patients_lo) and math.isinf(r.incremental_new_patients_hi)
    assert r.to_lift() is None


def test_spend_prediction_follows_controls_that_stop_spending() -> None:
    controls = np.concatenate([np.full(20, 100.0), np.zeros(4)])
    treated = np.concatenate([np.full(20, 30.0), np.zeros(4)])
    inc, predicted = incremental_spend(treated, controls, 4, "holdout")
    assert predicted == 0.0 and inc == 0.0


# --- real-data cases on plain numpy worlds (conftest.numpy_panel) --------------------------


def _test_at(panel, n_pre: int, n_post: int, geos, test_id: str = "t") -> GeoTest:
    start = panel.weeks[n_pre].astype(object)
    end = panel.weeks[n_pre + n_post - 1].astype(object)
    return GeoTest(test_id, "search", "holdout", start, end, tuple(geos))


def _holdout(panel, test: GeoTest, lift: float, after: tuple[float, ...] = (), seed: int = 0):
    """Panel with the treated markets' new patients thinned by ``lift`` in the test weeks (and
    by ``after[i]`` in the i-th week after it) and their spend switched off in the test weeks;
    returns the panel and the realised loss in the test weeks and in all thinned weeks."""
    rng = np.random.default_rng(seed)
    gi = [panel.geos.index(g) for g in test.treatment_geos]
    w0 = list(panel.weeks).index(np.datetime64(test.start_week))
    w1 = list(panel.weeks).index(np.datetime64(test.end_week)) + 1
    y, spend = panel.new_patients.copy(), panel.spend.copy()
    lifts = [lift] * (w1 - w0) + list(after)
    lost = []
    for i, share in enumerate(lifts):
        cells = y[gi, w0 + i]
        kept = rng.binomial(cells, 1 - share)
        lost.append(float((cells - kept).sum()))
        y[gi, w0 + i] = kept
    spend[np.ix_(gi, range(w0, w1))] = 0.0
    return replace(panel, new_patients=y, spend=spend), sum(lost[: w1 - w0]), sum(lost)


def test_thirteen_weeks_and_a_hundred_markets_get_a_bounded_interval(make_panel) -> None:
    panel = make_panel(100, 17, seed=1)
    test = _test_at(panel, 13, 4, panel.geos[::10])
    holdout, lost, _ = _holdout(panel, test, 0.10)
    r = analyze_test(holdout, test, carryover=False)
    assert r.ok and r.message == "", r.message
    assert r.method.endswith("+placebo_in_space")
    assert r.details["n_pre_weeks"] == 13 and r.details["n_controls"] == 90
    assert r.incremental_new_patients_lo <= lost <= r.incremental_new_patients_hi
    # within twice the Poisson noise of the treated test weeks alone (a 10% lift is detected)
    level = panel.new_patients[::10, 13:].sum()
    assert (
        r.incremental_new_patients_hi - r.incremental_new_patients_lo < 2 * 2 * 1.645 * level**0.5
    )
    assert r.p_value < 0.10


def test_two_treated_of_forty_with_a_two_week_test_are_read_near_their_noise(make_panel) -> None:
    panel = make_panel(40, 62, seed=2)
    test = _test_at(panel, 60, 2, panel.geos[5:7])
    holdout, lost, _ = _holdout(panel, test, 0.10)
    r = analyze_test(holdout, test, carryover=False)
    assert r.ok and r.method.endswith("+placebo_in_space")
    assert r.incremental_new_patients_lo <= lost <= r.incremental_new_patients_hi
    # the Poisson noise of the 4 treated market-weeks alone gives a 90% interval of width
    # 2 * 1.645 * sqrt(their count); the counterfactual may add some, not multiples
    post = panel.new_patients[5:7, 60:62]
    floor = 2 * 1.645 * np.sqrt(post.sum())
    assert r.incremental_new_patients_hi - r.incremental_new_patients_lo < 2.0 * floor


def test_aa_on_114_markets_with_48_weeks_gets_intervals_that_cover_zero(make_panel) -> None:
    panel = make_panel(114, 52, seed=3)
    rng = np.random.default_rng(4)
    covers = []
    for _ in range(6):
        geos = sorted(rng.choice(panel.geos, 6, replace=False))
        r = analyze_test(panel, _test_at(panel, 48, 4, geos), carryover=False)
        assert r.ok and r.message == "" and r.method.endswith("+placebo_in_space")
        covers.append(r.incremental_new_patients_lo <= 0 <= r.incremental_new_patients_hi)
    assert np.mean(covers) >= 4 / 6


def test_carry_over_after_the_test_is_measured_and_lowers_the_pac(make_panel) -> None:
    panel = make_panel(60, 70, seed=5)
    test = _test_at(panel, 50, 4, panel.geos[:12])
    after = (0.12, 0.08, 0.05, 0.03, 0.02, 0.01)
    holdout, lost_test, lost_all = _holdout(panel, test, 0.15, after)
    r = analyze_test(holdout, test)
    assert r.ok and r.carryover_weeks == 8
    lo, hi = (
        r.incremental_new_patients_with_carryover_lo,
        r.incremental_new_patients_with_carryover_hi,
    )
    assert lo <= lost_all <= hi and lost_all > lost_test
    assert r.incremental_new_patients_with_carryover > r.incremental_new_patients
    assert r.pac_with_carryover < r.pac
    # a test that ends with the data has no carry-over weeks to measure: said, not guessed
    last = _test_at(panel, 66, 4, panel.geos[:12], "last")
    r = analyze_test(panel, last)
    assert r.ok and r.carryover_weeks == 0
    assert r.incremental_new_patients_with_carryover is None and r.pac_with_carryover is None


def test_unmeasured_cells_are_skipped_not_fitted_as_zeros(make_panel) -> None:
    panel = make_panel(40, 40, seed=6)
    test = _test_at(panel, 30, 4, panel.geos[:3])
    observed = np.ones_like(panel.observed)
    observed[10, :12] = False  # a control market whose call tracking started late
    observed[0, :5] = False  # a treatment market that started late too
    y = panel.new_patients.copy()
    y[~observed] = 0  # the placeholders
    gappy = replace(panel, new_patients=y, observed=observed)
    r = analyze_test(gappy, test, carryover=False)
    assert r.ok, r.message
    assert panel.geos[10] not in r.details["weights"]
    assert r.details["n_controls"] == 36 and r.details["n_pre_weeks"] == 25
    assert not (r.details["week_index"] < 5).any()
    # the same test on the complete data, with that market dropped and those weeks cut, agrees
    full = analyze_test(panel, test, carryover=False)
    assert abs(r.incremental_new_patients - full.incremental_new_patients) < 0.5 * (
        full.incremental_new_patients_hi - full.incremental_new_patients_lo
    )
    # a test week not measured in a treatment market cannot be read
    observed[1, 31] = False
    r = analyze_test(replace(gappy, observed=observed), test, carryover=False)
    assert not r.ok and "1 treatment market-week(s) of the test were not measured" in r.message
