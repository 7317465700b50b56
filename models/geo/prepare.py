"""Which weeks and markets a geo test may use: validation against the panel and the other tests.

Rules (docs/geo_tests.md):

- The pre-period is the ``MAX_PRE_WEEKS`` most recent weeks before the test, minus weeks when
  another earlier test (or its ``CARRYOVER_WEEKS`` after it) touched the treatment or control
  markets, minus weeks when a treatment market was not measured (``Panel.observed`` False). At
  least ``MIN_PRE_WEEKS`` must remain.
- Every treatment market must be measured in every test week; a test week that a feed did not
  cover cannot be read, so such a test is not analysed (the message says how many cells).
- The control pool is the test's listed controls (or every market not treated in it), minus
  markets in another test that overlaps this one or its carry-over, minus markets with no new
  patients before the test, minus markets not measured in every week the analysis uses (their
  placeholder zeros are never fitted).
- The carry-over window: up to ``CARRYOVER_WEEKS`` weeks after the test, stopping at the end of
  the data, at the first week a treatment market was not measured and before another test of the
  treatment markets starts.

Messages name the problem and counts, never a data value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from models.geo.types import DESIGNS, GeoTest
from models.panel import Panel

MIN_PRE_WEEKS = 8
"""Fewest weeks before a test that an analysis accepts."""
CARRYOVER_WEEKS = 8
"""Weeks after a test during which its markets still carry its effect (the MMM's adstock
reaches back 8 weeks): the carry-over window of a test, and the weeks after another test that
are not used as "untreated"."""
MAX_PRE_WEEKS = 156
"""Most weeks before a test that the fit uses (the most recent ones)."""


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


def _check_request(panel: Panel, test: GeoTest) -> str | None:
    """What is wrong with the test itself (design, channel, markets, weeks), or None."""
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
    if _week_index(panel, test.start_week) is None or _week_index(panel, test.end_week) is None:
        return "start_week or end_week is not a week of the panel (weeks start on Mondays)"
    return None


def prepare_test(panel: Panel, test: GeoTest, others: Sequence[GeoTest] = ()) -> PreparedTest | str:
    """Check a test against the data and build its index sets, or return why it cannot run.

    Args:
        panel: the weekly panel (its ``observed`` mask marks the cells that were measured).
        test: the test.
        others: the other tests of the feed (for overlaps and contaminated weeks).

    Returns:
        A :class:`PreparedTest`, or a value-free message.
    """
    problem = _check_request(panel, test)
    if problem:
        return problem
    w0, w1 = _week_index(panel, test.start_week), _week_index(panel, test.end_week)
    assert w0 is not None and w1 is not None
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

    gi = {g: i for i, g in enumerate(panel.geos)}
    treated = np.array([gi[g] for g in test.treatment_geos], dtype=int)
    test_weeks = np.arange(w0, w1 + 1)
    unmeasured = int((~panel.observed[np.ix_(treated, test_weeks)]).sum())
    if unmeasured:
        return (
            f"{unmeasured} treatment market-week(s) of the test were not measured (a feed did "
            "not cover them), so the test cannot be read there"
        )

    pool = [g for g in (test.control_geos or panel.geos) if g not in treated_set]
    drop_weeks = ~panel.observed[treated].all(axis=0)
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
    pre = np.flatnonzero(~drop_weeks[:w0])[-MAX_PRE_WEEKS:]
    if pre.size < MIN_PRE_WEEKS:
        return (
            f"only {pre.size} usable week(s) before the test once other tests' weeks and weeks "
            f"a treatment market was not measured are removed; at least {MIN_PRE_WEEKS} are needed"
        )
    if panel.new_patients[treated][:, pre].sum() <= 0:
        return "the treatment markets have no new patients before the test"
    weeks = np.concatenate([pre, test_weeks])
    controls = np.array([gi[g] for g in pool if g not in excluded], dtype=int)
    if controls.size:
        measured = panel.observed[np.ix_(controls, weeks)].all(axis=1)
        active = panel.new_patients[np.ix_(controls, pre)].sum(axis=1) > 0
        controls = controls[measured & active]
    if controls.size == 0:
        return (
            "no possible control market (every candidate is treated, in another test, empty "
            "before the test or not measured in every week the analysis uses)"
        )
    return PreparedTest(
        weeks=weeks,
        n_post=w1 - w0 + 1,
        treated=treated,
        controls=controls,
        channel=panel.channels.index(test.channel),
    )


def carryover_weeks(panel: Panel, test: GeoTest, others: Sequence[GeoTest] = ()) -> int:
    """Weeks after the test (0 to ``CARRYOVER_WEEKS``) whose new patients still carry its effect
    and can be measured: within the data, measured in every treatment market, and before any
    other test of a treatment market starts. Call only for a test :func:`prepare_test` accepts.
    """
    w1 = _week_index(panel, test.end_week)
    assert w1 is not None
    n = min(CARRYOVER_WEEKS, panel.n_weeks - 1 - w1)
    treated_set = set(test.treatment_geos)
    for other in others:
        if other.test_id == test.test_id or not treated_set & set(other.treatment_geos):
            continue
        if other.start_week > test.end_week:
            n = min(n, (other.start_week - test.end_week).days // 7 - 1)
    gi = {g: i for i, g in enumerate(panel.geos)}
    treated = [gi[g] for g in test.treatment_geos]
    measured = panel.observed[treated, w1 + 1 : w1 + 1 + n].all(axis=0)
    return int(np.argmin(measured)) if not measured.all() else n
