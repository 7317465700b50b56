"""Holiday calendars of the simulated worlds."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from simulator.calendars import easter_sunday, gb_bank_holidays, holiday_weeks


def test_easter_on_known_dates() -> None:
    assert [easter_sunday(y) for y in (2024, 2025, 2026)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
    ]


def test_gb_substitute_days() -> None:
    # Christmas 2027 is a Saturday: substitutes on Monday 27 and Tuesday 28
    assert {date(2027, 12, 27), date(2027, 12, 28)} <= set(gb_bank_holidays(2027))
    assert len(gb_bank_holidays(2025)) == 8


def test_gb_and_us_calendars_differ() -> None:
    weeks = np.array(["2024-04-01", "2024-11-25", "2024-12-23", "2024-08-26"], "datetime64[D]")
    # Easter Monday, Thanksgiving, Christmas, the summer bank holiday
    np.testing.assert_array_equal(holiday_weeks(weeks, "GB"), [True, False, True, True])
    np.testing.assert_array_equal(holiday_weeks(weeks, "US"), [False, True, True, False])
    with pytest.raises(ValueError):
        holiday_weeks(weeks, "XX")
