"""Holiday weeks by country (the ``holidays`` package) and yearly Fourier terms."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from models.calendar import holiday_weeks, yearly_fourier


def mondays(first: str, n: int) -> np.ndarray:
    return np.datetime64(first, "D") + 7 * np.arange(n)


def us_rules(year: int) -> list[date]:
    """The six US clinic holidays by their rules (the hand-written calendar this replaced)."""
    nov1 = date(year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7) + timedelta(weeks=3)
    may31, sep1 = date(year, 5, 31), date(year, 9, 1)
    return [
        thanksgiving,
        date(year, 12, 25),
        date(year, 1, 1),
        date(year, 7, 4),
        may31 - timedelta(days=may31.weekday()),
        sep1 + timedelta(days=(0 - sep1.weekday()) % 7),
    ]


def test_us_default_flags_the_same_six_holidays_as_before():
    weeks = mondays("1990-01-01", 52 * 50)
    days = sorted(d for y in range(1989, 2042) for d in us_rules(y))
    hol = np.array(days, dtype="datetime64[D]")
    expected = ((hol[None, :] >= weeks[:, None]) & (hol[None, :] < weeks[:, None] + 7)).any(1)
    np.testing.assert_array_equal(holiday_weeks(weeks), expected)
    np.testing.assert_array_equal(holiday_weeks(weeks, "US"), expected)


def test_other_countries_use_their_public_holidays():
    weeks = mondays("2024-01-01", 52)
    week_of = {str(w): i for i, w in enumerate(weeks)}
    england = holiday_weeks(weeks, "GB-ENG")
    assert england[week_of["2024-04-01"]]  # Easter Monday 1 April 2024
    assert england[week_of["2024-08-26"]]  # summer bank holiday
    assert not england[week_of["2024-11-25"]]  # US Thanksgiving is not a holiday there
    us = holiday_weeks(weeks, "US")
    assert us[week_of["2024-11-25"]] and not us[week_of["2024-04-01"]]
    germany = holiday_weeks(weeks, "de")
    assert germany[week_of["2024-09-30"]]  # 3 October, German Unity Day


def test_unknown_country_is_a_clear_error():
    with pytest.raises(ValueError, match="no holiday calendar for 'XX'"):
        holiday_weeks(mondays("2024-01-01", 4), "XX")


def test_yearly_fourier_shape_and_period():
    weeks = mondays("2024-01-01", 106)
    features = yearly_fourier(weeks, 2)
    assert features.shape == (106, 4)
    assert np.abs(features).max() <= 1.0
    # one year later (52 weeks, 364 days) the terms are almost the same
    np.testing.assert_allclose(features[:54], features[52:], atol=0.05)
