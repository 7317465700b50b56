"""Analysis of geo tests: synthetic control, interval, carry-over, spend and PAC.

For one test (its weeks and markets checked by ``prepare.py``): the treatment markets' weekly new
patients are summed into one series; the counterfactual comes from the control pool by a
synthetic control fitted on the weeks before the test, regularised and ridge-augmented as
time-series cross-validation says (``synthetic_control.py``); the p-value and 90% interval of the
cumulative effect come from placebo-in-space with a large control pool, else conformal inference
in time (``inference.py``, the rule in docs/geo_tests.md); a two-way fixed-effects DiD is
computed as a cross-check (``did.py``); incremental spend comes from the spend of the tested
channel (``spend.py``); PAC = incremental spend / incremental new patients, its interval from the
effect interval (the upper bound is infinite when the effect's interval reaches zero).

Carry-over: the test weeks miss the patients the changed spend still brings (or, for a holdout,
still fails to bring) after the test ends, through adstock. So the effect is measured a second
time over the test weeks plus up to ``CARRYOVER_WEEKS`` weeks after them (``carryover_weeks``
says how many could be measured), with the same estimator and inference; the PAC from that
total is the one comparable with the MMM's PAC. The test-weeks numbers stay what they were (the
MMM calibrates on them, over the same weeks).

Sign convention: ``incremental_new_patients`` is the higher-spend arm minus the lower-spend arm,
so it is positive for a holdout that lost patients and for a scale-up that gained them.

A test that cannot be analysed gets ``ok=False`` and a message naming the problem and counts,
never a data value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from models.geo.did import did_estimate
from models.geo.inference import (
    SPACE,
    PlaceboInSpace,
    TimeConformal,
    choose_inference,
    circular_block_sums,
    placebo_in_space,
)
from models.geo.prepare import PreparedTest, carryover_weeks, prepare_test
from models.geo.spend import incremental_spend
from models.geo.synthetic_control import choose_spec, control_scale, fit_sc
from models.geo.types import GeoTest, GeoTestResult
from models.panel import Panel

LEVEL = 0.90
OPEN_ENDED = (
    "too few weeks and too few control markets for a bounded 90% interval (the interval is "
    "open-ended)"
)


def _failed(test: GeoTest, message: str) -> GeoTestResult:
    return GeoTestResult(
        test_id=test.test_id,
        channel=test.channel,
        design=test.design,
        start_week=test.start_week,
        end_week=test.end_week,
        treatment_geos=len(test.treatment_geos),
        ok=False,
        message=message,
        geos=tuple(test.treatment_geos),
    )


def estimate_effect(
    y: np.ndarray, x: np.ndarray, n_post: int, n_treated: int = 1, level: float = LEVEL
) -> dict[str, object]:
    """Synthetic-control estimate of a test's cumulative effect, its interval and p-value.

    Args:
        y: (n_times,) treated series (the sum of ``n_treated`` markets), test weeks last.
        x: (n_times, n_controls) control series, same weeks.
        n_post: number of test weeks.
        n_treated: markets summed in ``y`` (sets the size of placebo sets).
        level: confidence level.

    Returns:
        ``effect`` (actual - counterfactual, summed over the test weeks), ``lo``, ``hi``,
        ``p_value``, ``counterfactual`` (n_times,), ``band`` (pointwise half-width, n_times),
        ``spec`` (the regularisation), ``inference`` (a :class:`PlaceboInSpace` or
        :class:`TimeConformal`: ``p_value(theta)``), ``method``, ``weights``.
    """
    n_pre = len(y) - n_post
    y_pre, x_pre = y[:n_pre], x[:n_pre]
    scale = control_scale(x_pre, y_pre)
    spec = choose_spec(x_pre, y_pre, scale, n_post)
    model = fit_sc(x_pre, y_pre, scale, spec)
    cf = model.predict(x)
    effect = float(np.sum(y[n_pre:] - cf[n_pre:]))
    inference: PlaceboInSpace | TimeConformal
    if choose_inference(x.shape[1], n_treated) == SPACE:
        inference = placebo_in_space(y, x, n_post, n_treated, spec)
    else:
        resid_pre = y_pre - cf[:n_pre]
        spread = 1.5 * float(np.std(circular_block_sums(resid_pre, n_post))) + 1e-6
        inference = TimeConformal(x, y, n_post, scale, spec, effect, spread)
    lo, hi = inference.interval(level)
    # pointwise band for charts: quantile of single-week residuals of the all-weeks fit at the
    # estimate (the one-week version of the conformal test in time)
    y0 = y.copy()
    y0[n_pre:] -= effect / n_post
    full = fit_sc(x, y0, scale, spec)
    q = float(np.quantile(np.abs(y0 - full.predict(x)), level))
    return {
        "effect": effect,
        "lo": lo,
        "hi": hi,
        "p_value": inference.p_value(0.0),
        "counterfactual": cf,
        "band": np.full(len(y), q),
        "spec": spec,
        "inference": inference,
        "method": f"{model.method}+{inference.method}",
        "weights": model.weights,
    }


def _series(panel: Panel, prep: PreparedTest) -> tuple[np.ndarray, np.ndarray]:
    """The treated sum (n_times,) and the control series (n_times, n_controls) of a test."""
    y = panel.new_patients[prep.treated][:, prep.weeks].sum(axis=0).astype(float)
    x = panel.new_patients[prep.controls][:, prep.weeks].T.astype(float)
    return y, x


def _signed(design: str, est: dict[str, object]) -> tuple[float, float, float]:
    """Estimate and interval as higher-spend minus lower-spend arm (see the module docstring)."""
    sign = -1.0 if design == "holdout" else 1.0
    lo, hi = sorted((sign * float(est["lo"]), sign * float(est["hi"])))
    return sign * float(est["effect"]), lo, hi


def _carryover(
    panel: Panel, test: GeoTest, others: Sequence[GeoTest], level: float
) -> dict[str, object]:
    """The effect over the test weeks plus the measurable carry-over weeks after them."""
    weeks = carryover_weeks(panel, test, others)
    if weeks == 0:
        return {"weeks": 0}
    extended = replace(test, end_week=test.end_week + timedelta(weeks=weeks))
    prep = prepare_test(panel, extended, others)
    if isinstance(prep, str):
        return {"weeks": 0, "message": prep}
    y, x = _series(panel, prep)
    inc, lo, hi = _signed(test.design, estimate_effect(y, x, prep.n_post, len(prep.treated), level))
    return {"weeks": weeks, "inc": inc, "lo": lo, "hi": hi}


def analyze_test(
    panel: Panel,
    test: GeoTest,
    others: Sequence[GeoTest] = (),
    level: float = LEVEL,
    carryover: bool = True,
) -> GeoTestResult:
    """Analyse one geo test.

    Args:
        panel: the weekly panel (observed spend and new patients; unmeasured cells are skipped).
        test: the test.
        others: the feed's other tests (overlap checks, contaminated weeks removed).
        level: confidence level of the intervals (0.90 in the marts).
        carryover: also measure the effect with the carry-over weeks after the test (False:
            the ``*_with_carryover`` fields stay empty and ``carryover_weeks`` 0).

    Returns:
        A :class:`GeoTestResult`; ``details`` holds the weekly series (``week_index``,
        ``treated``, ``counterfactual``, ``counterfactual_lo``, ``counterfactual_hi``,
        ``in_test``), the DiD cross-check, the SC weights by market code, ``n_pre_weeks``,
        ``n_controls`` and ``inference``.
    """
    prep = prepare_test(panel, test, others)
    if isinstance(prep, str):
        return _failed(test, prep)
    weeks = prep.weeks
    y, x = _series(panel, prep)
    est = estimate_effect(y, x, prep.n_post, len(prep.treated), level)
    inc, lo, hi = _signed(test.design, est)

    spend_t = panel.spend[prep.treated][:, weeks, prep.channel].sum(axis=0)
    spend_c = panel.spend[prep.controls][:, weeks, prep.channel].sum(axis=0)
    inc_spend, _ = incremental_spend(spend_t, spend_c, prep.n_post, test.design)

    cf = est["counterfactual"]
    n_pre = len(y) - prep.n_post
    lower_arm = y[n_pre:].sum() if test.design == "holdout" else cf[n_pre:].sum()
    lift = 100.0 * inc / lower_arm if lower_arm > 0 else None
    pac, pac_lo, pac_hi = _pac(inc_spend, inc, lo, hi)
    carry = _carryover(panel, test, others, level) if carryover else {"weeks": 0}
    if carry["weeks"]:
        pac_c = _pac(inc_spend, carry["inc"], carry["lo"], carry["hi"])
    else:
        pac_c = (None, None, None)

    markets = np.concatenate([prep.treated, prep.controls])
    is_treated = np.zeros(len(markets), dtype=bool)
    is_treated[: len(prep.treated)] = True
    did = did_estimate(
        panel.new_patients[markets][:, weeks].astype(float),
        panel.population[markets].astype(float),
        is_treated,
        prep.n_post,
        level,
    )
    in_test = np.zeros(len(y), dtype=bool)
    in_test[n_pre:] = True
    sign = -1.0 if test.design == "holdout" else 1.0
    details = {
        "week_index": weeks,
        "treated": y,
        "counterfactual": cf,
        "counterfactual_lo": cf - est["band"],
        "counterfactual_hi": cf + est["band"],
        "in_test": in_test,
        "did": {
            "incremental_new_patients": sign * did.estimate,
            "lo": min(sign * did.lo, sign * did.hi),
            "hi": max(sign * did.lo, sign * did.hi),
        },
        "weights": {
            panel.geos[i]: float(w) for i, w in zip(prep.controls, est["weights"], strict=True)
        },
        "n_pre_weeks": n_pre,
        "n_controls": len(prep.controls),
        "inference": est["inference"].method,
    }
    bounded = math.isfinite(lo) and math.isfinite(hi)
    return GeoTestResult(
        test_id=test.test_id,
        channel=test.channel,
        design=test.design,
        start_week=test.start_week,
        end_week=test.end_week,
        treatment_geos=len(test.treatment_geos),
        incremental_new_patients=inc,
        incremental_new_patients_lo=lo,
        incremental_new_patients_hi=hi,
        lift_pct=None if lift is None else float(lift),
        p_value=float(est["p_value"]),
        incremental_spend=float(inc_spend),
        pac=pac,
        pac_lo=pac_lo,
        pac_hi=pac_hi,
        method=str(est["method"]),
        carryover_weeks=int(carry["weeks"]),
        incremental_new_patients_with_carryover=carry.get("inc"),
        incremental_new_patients_with_carryover_lo=carry.get("lo"),
        incremental_new_patients_with_carryover_hi=carry.get("hi"),
        pac_with_carryover=pac_c[0],
        pac_with_carryover_lo=pac_c[1],
        pac_with_carryover_hi=pac_c[2],
        ok=True,
        message="" if bounded else OPEN_ENDED,
        geos=tuple(test.treatment_geos),
        details=details,
    )


def _pac(spend: float, inc: float, lo: float, hi: float) -> tuple[float | None, ...]:
    """PAC and its interval (USD per new patient) from the effect and its interval.

    PAC falls as the effect grows, so ``pac_lo = spend / hi`` and ``pac_hi = spend / lo``.
    When ``lo <= 0`` the upper bound is unbounded (``inf``); when the estimate itself is not
    positive the PAC is undefined (None); when even ``hi <= 0`` all three are None.
    """
    if spend <= 0 or hi <= 0:
        return None, None, None
    pac = spend / inc if inc > 0 else None
    pac_lo = spend / hi
    pac_hi = spend / lo if lo > 0 else math.inf
    return pac, pac_lo, pac_hi


def analyze_tests(panel: Panel, tests: Sequence[GeoTest]) -> list[GeoTestResult]:
    """Analyse every test; a test that cannot be analysed gets its message, the others run."""
    results = []
    for test in tests:
        try:
            results.append(analyze_test(panel, test, tests))
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            results.append(_failed(test, f"the analysis failed numerically ({type(exc).__name__})"))
    return results


def parse_experiments(frame: pl.DataFrame) -> tuple[list[GeoTest], list[GeoTestResult]]:
    """Turn rows of the experiments feed into tests.

    Args:
        frame: columns ``test_id``, ``channel``, ``geo``, ``role``, ``start_week``,
            ``end_week``, ``design`` (one row per test and market).

    Returns:
        ``(tests, failed)``: well-formed tests, and failed results for tests whose rows
        disagree on channel, design or weeks, or whose weeks are missing.
    """
    tests: list[GeoTest] = []
    failed: list[GeoTestResult] = []
    if frame.height == 0:
        return tests, failed
    for (test_id,), rows in frame.sort("test_id", "geo").group_by("test_id", maintain_order=True):
        chans = rows["channel"].unique().to_list()
        designs = rows["design"].unique().to_list()
        starts = rows["start_week"].unique().to_list()
        ends = rows["end_week"].unique().to_list()
        treated = tuple(sorted(rows.filter(pl.col("role") == "treatment")["geo"].to_list()))
        control = tuple(sorted(rows.filter(pl.col("role") == "control")["geo"].to_list()))
        base = GeoTest(
            test_id=str(test_id),
            channel=str(chans[0]),
            design=str(designs[0]),
            start_week=starts[0] if len(starts) == 1 and starts[0] is not None else date.min,
            end_week=ends[0] if len(ends) == 1 and ends[0] is not None else date.min,
            treatment_geos=treated,
            control_geos=control,
        )
        problem = None
        if len(chans) > 1 or len(designs) > 1:
            problem = "the rows of this test disagree on channel or design"
        elif len(starts) > 1 or len(ends) > 1:
            problem = "the rows of this test disagree on start_week or end_week"
        elif starts[0] is None or ends[0] is None:
            problem = "start_week or end_week is missing"
        if problem:
            failed.append(_failed(base, problem))
        else:
            tests.append(base)
    return tests, failed
