"""Analysis of geo tests: validation, synthetic control, conformal interval, spend and PAC.

For one test: the treatment markets' weekly new patients are summed into one series; the
counterfactual comes from the control pool by (augmented) synthetic control fitted on the weeks
before the test (see ``synthetic_control.py``); the p-value and 90% interval of the cumulative
effect come from conformal inference with moving-block permutations (``inference.py``); a
two-way fixed-effects DiD is computed as a cross-check (``did.py``); incremental spend comes from
the spend of the tested channel (``spend.py``); PAC = incremental spend / incremental new
patients, its interval from the effect interval (the upper bound is infinite when the effect's
interval reaches zero).

Sign convention: ``incremental_new_patients`` is the higher-spend arm minus the lower-spend arm,
so it is positive for a holdout that lost patients and for a scale-up that gained them.

A test that cannot be analysed (unknown markets, weeks outside the data, fewer than
``MIN_PRE_WEEKS`` weeks before it, no control market left, overlapping another test of the same
markets) gets ``ok=False`` and a message naming the problem and counts, never a data value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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
from models.geo.spend import incremental_spend
from models.geo.synthetic_control import choose_spec, control_scale, fit_sc
from models.geo.types import DESIGNS, GeoTest, GeoTestResult
from models.panel import Panel

MIN_PRE_WEEKS = 8
"""Fewest weeks before a test that an analysis accepts."""
CARRYOVER_WEEKS = 8
"""Weeks after another test during which its markets still carry its effect."""
MAX_PRE_WEEKS = 156
"""Most weeks before a test that the fit uses (the most recent ones)."""
LEVEL = 0.90


@dataclass(frozen=True)
class PreparedTest:
    """Index sets of one valid test.

    Attributes:
        weeks: (n_times,) panel week indices used, pre-period first, the test weeks last.
        n_post: number of test weeks.
        treated: panel market indices of the treatment markets.
        controls: panel market indices of the control pool.
        channel: panel channel index.
    """

    weeks: np.ndarray
    n_post: int
    treated: np.ndarray
    controls: np.ndarray
    channel: int


def _week_index(panel: Panel, day: date) -> int | None:
    target = np.datetime64(day, "D")
    idx = int(np.searchsorted(panel.weeks, target))
    if idx < panel.n_weeks and panel.weeks[idx] == target:
        return idx
    return None


def _overlaps(a0: date, a1: date, b0: date, b1: date) -> bool:
    return a0 <= b1 and b0 <= a1


def prepare_test(panel: Panel, test: GeoTest, others: Sequence[GeoTest] = ()) -> PreparedTest | str:
    """Check a test against the data and build its index sets, or return why it cannot run.

    Args:
        panel: the weekly panel.
        test: the test.
        others: the other tests of the feed (for overlaps and contaminated weeks).

    Returns:
        A :class:`PreparedTest`, or a value-free message.
    """
    if test.design not in DESIGNS:
        return "design is neither 'holdout' nor 'scale_up'"
    if test.channel not in panel.channels:
        return "the channel has no spend in the spend feed"
    if not test.treatment_geos:
        return "the test lists no treatment market"
    known = set(panel.geos)
    unknown_t = [g for g in test.treatment_geos if g not in known]
    unknown_c = [g for g in test.control_geos if g not in known]
    if unknown_t or unknown_c:
        return (
            f"{len(unknown_t)} treatment and {len(unknown_c)} control market(s) are not in the "
            "panel (unknown markets)"
        )
    if test.end_week < test.start_week:
        return "end_week is before start_week"
    first, last = panel.weeks[0].astype(object), panel.weeks[-1].astype(object)
    if test.start_week < first or test.end_week > last:
        return "the test weeks lie outside the weeks of data in the weekly panel"
    w0, w1 = _week_index(panel, test.start_week), _week_index(panel, test.end_week)
    if w0 is None or w1 is None:
        return "start_week or end_week is not a week of the panel (weeks start on Mondays)"
    if w0 < MIN_PRE_WEEKS:
        return f"only {w0} week(s) of data before the test; at least {MIN_PRE_WEEKS} are needed"

    treated_set = set(test.treatment_geos)
    for other in others:
        if other.test_id == test.test_id:
            continue
        if treated_set & set(other.treatment_geos) and _overlaps(
            test.start_week, test.end_week, other.start_week, other.end_week
        ):
            return f"overlaps test '{other.test_id}' in the same markets during the test weeks"

    pool = [g for g in (test.control_geos or panel.geos) if g not in treated_set]
    drop_weeks = np.zeros(panel.n_weeks, dtype=bool)
    excluded: set[str] = set()
    for other in others:
        if other.test_id == test.test_id:
            continue
        touched = set(other.treatment_geos)
        end_carry = other.end_week + timedelta(weeks=CARRYOVER_WEEKS)
        if _overlaps(test.start_week, test.end_week, other.start_week, end_carry):
            excluded |= touched  # those markets are not "untreated" during this test
        elif touched & (treated_set | set(pool)) and other.start_week < test.start_week:
            s = np.datetime64(other.start_week, "D")
            e = np.datetime64(end_carry, "D")
            drop_weeks |= (panel.weeks >= s) & (panel.weeks <= e)
    pool = [g for g in pool if g not in excluded]
    gi = {g: i for i, g in enumerate(panel.geos)}
    controls = np.array([gi[g] for g in pool], dtype=int)
    if controls.size:
        pre_sum = panel.new_patients[controls, :w0].sum(axis=1)
        controls = controls[pre_sum > 0]
    if controls.size == 0:
        return "no possible control market (every candidate is treated, in another test or empty)"
    pre = np.flatnonzero(~drop_weeks[:w0])[-MAX_PRE_WEEKS:]
    if pre.size < MIN_PRE_WEEKS:
        return (
            f"only {pre.size} usable week(s) before the test once other tests' weeks are "
            f"removed; at least {MIN_PRE_WEEKS} are needed"
        )
    treated = np.array([gi[g] for g in test.treatment_geos], dtype=int)
    if panel.new_patients[treated][:, pre].sum() <= 0:
        return "the treatment markets have no new patients before the test"
    return PreparedTest(
        weeks=np.concatenate([pre, np.arange(w0, w1 + 1)]),
        n_post=w1 - w0 + 1,
        treated=treated,
        controls=controls,
        channel=panel.channels.index(test.channel),
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


def analyze_test(
    panel: Panel, test: GeoTest, others: Sequence[GeoTest] = (), level: float = LEVEL
) -> GeoTestResult:
    """Analyse one geo test.

    Args:
        panel: the weekly panel (observed spend and new patients).
        test: the test.
        others: the feed's other tests (overlap checks, contaminated weeks removed).
        level: confidence level of the intervals (0.90 in the marts).

    Returns:
        A :class:`GeoTestResult`; ``details`` holds the weekly series (``week_index``,
        ``treated``, ``counterfactual``, ``counterfactual_lo``, ``counterfactual_hi``,
        ``in_test``), the DiD cross-check and the SC weights by market code.
    """
    prep = prepare_test(panel, test, others)
    if isinstance(prep, str):
        return _failed(test, prep)
    weeks = prep.weeks
    y = panel.new_patients[prep.treated][:, weeks].sum(axis=0).astype(float)
    x = panel.new_patients[prep.controls][:, weeks].T.astype(float)
    est = estimate_effect(y, x, prep.n_post, len(prep.treated), level)
    sign = -1.0 if test.design == "holdout" else 1.0
    inc = sign * est["effect"]
    lo, hi = sorted((sign * est["lo"], sign * est["hi"]))

    spend_t = panel.spend[prep.treated][:, weeks, prep.channel].sum(axis=0)
    spend_c = panel.spend[prep.controls][:, weeks, prep.channel].sum(axis=0)
    inc_spend, _ = incremental_spend(spend_t, spend_c, prep.n_post, test.design)

    cf = est["counterfactual"]
    n_pre = len(y) - prep.n_post
    lower_arm = y[n_pre:].sum() if test.design == "holdout" else cf[n_pre:].sum()
    lift = 100.0 * inc / lower_arm if lower_arm > 0 else None
    pac, pac_lo, pac_hi = _pac(inc_spend, inc, lo, hi)

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
    }
    return GeoTestResult(
        test_id=test.test_id,
        channel=test.channel,
        design=test.design,
        start_week=test.start_week,
        end_week=test.end_week,
        treatment_geos=len(test.treatment_geos),
        incremental_new_patients=float(inc),
        incremental_new_patients_lo=float(lo),
        incremental_new_patients_hi=float(hi),
        lift_pct=None if lift is None else float(lift),
        p_value=float(est["p_value"]),
        incremental_spend=float(inc_spend),
        pac=pac,
        pac_lo=pac_lo,
        pac_hi=pac_hi,
        method=str(est["method"]),
        ok=True,
        message=""
        if math.isfinite(lo) and math.isfinite(hi)
        else "too few weeks for a bounded 90% interval (the interval is open-ended)",
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
