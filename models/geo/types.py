"""Plain data types of the geo-test part: tests, their results, designs and lift measurements.

Counts are new patients (the KPI); money is USD. Weeks are Mondays (``datetime.date``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

DESIGNS = ("holdout", "scale_up")
"""The geo-test designs: spend switched off in the treated markets, or raised there."""


@dataclass(frozen=True)
class GeoTest:
    """One geo experiment as listed in the ``experiments`` feed.

    Attributes:
        test_id: slug of the test.
        channel: paid channel whose spend was changed.
        design: ``"holdout"`` (spend switched off in treatment markets) or ``"scale_up"``.
        start_week, end_week: first and last Monday of the test, inclusive.
        treatment_geos: market codes whose spend was changed.
        control_geos: market codes forming the control pool; empty means every market not
            treated in this test is eligible.
    """

    test_id: str
    channel: str
    design: str
    start_week: date
    end_week: date
    treatment_geos: tuple[str, ...]
    control_geos: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiftMeasurement:
    """A geo test's result as the MMM's calibration input.

    Attributes:
        channel: the tested channel.
        geos: the treatment markets.
        start_week, end_week: test weeks, inclusive.
        incremental_new_patients: new patients the channel caused in the treatment markets
            during the test weeks (higher-spend minus lower-spend arm; positive when it works).
        lo, hi: 90% interval of ``incremental_new_patients``.
        incremental_spend: the matching spend difference in USD (positive).
        design: ``"holdout"`` (the treated markets spent less: the observed spend is the
            lower arm) or ``"scale_up"`` (they spent more: the observed spend is the higher arm).
    """

    channel: str
    geos: tuple[str, ...]
    start_week: date
    end_week: date
    incremental_new_patients: float
    lo: float
    hi: float
    incremental_spend: float
    design: str


@dataclass(frozen=True)
class GeoTestResult:
    """One row of ``marts.geo_test_results`` plus whether the analysis ran.

    Attributes mirror the columns (CONTRACT s.4). ``treatment_geos`` is the number of treatment
    markets. ``incremental_*`` are new patients over the test weeks (positive for a holdout
    that lost patients); ``lift_pct`` is the effect in percent of the lower-spend arm's level;
    ``incremental_spend`` is USD (positive); ``pac*`` are USD per incremental new patient
    (``pac_hi`` is ``inf`` when the effect interval reaches 0 or below, ``None`` in the table).
    These exclude carry-over: new patients the changed spend moves after the test ends.
    ``carryover_weeks`` is how many weeks after the test were measured as well (0 to 8; 0 when
    the data end with the test); ``*_with_carryover`` are the same quantities over the test
    weeks plus those weeks (``None`` when ``carryover_weeks`` is 0): the PAC comparable with
    the MMM's, which counts the patients a week's spend brings in later weeks too.
    ``ok`` is False when the test could not be analysed; ``message`` then gives a value-free
    reason (and the numeric fields are ``None``). ``geos`` keeps the treatment market codes.
    """

    test_id: str
    channel: str
    design: str
    start_week: date
    end_week: date
    treatment_geos: int
    incremental_new_patients: float | None = None
    incremental_new_patients_lo: float | None = None
    incremental_new_patients_hi: float | None = None
    lift_pct: float | None = None
    p_value: float | None = None
    incremental_spend: float | None = None
    pac: float | None = None
    pac_lo: float | None = None
    pac_hi: float | None = None
    method: str | None = None
    carryover_weeks: int = 0
    incremental_new_patients_with_carryover: float | None = None
    incremental_new_patients_with_carryover_lo: float | None = None
    incremental_new_patients_with_carryover_hi: float | None = None
    pac_with_carryover: float | None = None
    pac_with_carryover_lo: float | None = None
    pac_with_carryover_hi: float | None = None
    ok: bool = True
    message: str = ""
    geos: tuple[str, ...] = ()
    details: dict = field(default_factory=dict, compare=False, repr=False)

    def to_lift(self) -> LiftMeasurement | None:
        """The MMM calibration input, or None when the test was not analysed."""
        if not self.ok or self.incremental_new_patients is None:
            return None
        values = (
            self.incremental_new_patients,
            self.incremental_new_patients_lo,
            self.incremental_new_patients_hi,
            self.incremental_spend,
        )
        if any(v is None or not math.isfinite(v) for v in values):
            return None
        return LiftMeasurement(
            channel=self.channel,
            geos=self.geos,
            start_week=self.start_week,
            end_week=self.end_week,
            incremental_new_patients=float(self.incremental_new_patients),
            lo=float(self.incremental_new_patients_lo),
            hi=float(self.incremental_new_patients_hi),
            incremental_spend=float(self.incremental_spend),
            design=self.design,
        )


@dataclass(frozen=True)
class DesignProposal:
    """A proposed geo holdout test of one channel.

    Attributes:
        channel: the channel to test.
        weeks: test length in weeks.
        treatment_geos, control_geos: market codes.
        mde_new_patients: minimum detectable effect (80% power, alpha 0.10, two-sided) as
            cumulative new patients in the treatment markets over the test weeks, from held-out
            placebo backtests (not the ones used to choose the markets).
        mde_pct: the MDE in percent of ``expected_new_patients``.
        power: share of held-out backtests in which an effect of the MDE is detected
            (p < 0.10): the winner's-curse guard.
        expected_lost_new_patients: new patients a holdout is expected to lose (spend saved /
            the assumed PAC; NaN when no PAC was given).
        expected_spend_saved: USD the treatment markets would spend on the channel during the
            test (what a holdout saves).
        n_backtests: held-out backtests behind ``mde_new_patients`` and ``power``.
        mde_in_selection: the MDE the selection backtests suggested (optimistic: the chosen
            design was the best on them).
        expected_new_patients: the treatment markets' expected new patients during the test.
    """

    channel: str
    weeks: int
    treatment_geos: tuple[str, ...]
    control_geos: tuple[str, ...]
    mde_new_patients: float
    mde_pct: float
    power: float
    expected_lost_new_patients: float
    expected_spend_saved: float
    n_backtests: int = 0
    mde_in_selection: float = float("nan")
    expected_new_patients: float = float("nan")
