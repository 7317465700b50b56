"""Holiday weeks of the simulated worlds: the US calendar the model knows, and another country's.

A world with ``holiday_country="GB"`` dips in the weeks of the bank holidays of England and Wales
(with their weekday substitutes, as the ``holidays`` package lists them), which share only
Christmas and New Year with the US calendar the model assumes by default.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from models.calendar import holiday_weeks as us_holiday_weeks

COUNTRIES = ("US", "GB")


def easter_sunday(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    day = (h + el - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(0 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def gb_bank_holidays(year: int) -> list[date]:
    """Bank holidays of England and Wales in ``year``, weekday substitutes included."""
    easter = easter_sunday(year)
    days = [
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        _first_monday(year, 5),  # early May bank holiday
        _last_monday(year, 5),  # spring bank holiday
        _last_monday(year, 8),  # summer bank holiday
    ]
    new_year = date(year, 1, 1)
    days.append(new_year)
    if new_year.weekday() >= 5:
        days.append(new_year + timedelta(days=7 - new_year.weekday()))
    christmas, boxing = date(year, 12, 25), date(year, 12, 26)
    days += [christmas, boxing]
    if christmas.weekday() == 5:  # Saturday: substitutes on Monday 27 and Tuesday 28
        days += [date(year, 12, 27), date(year, 12, 28)]
    elif christmas.weekday() == 6:  # Sunday: Christmas on Tuesday 27 (Boxing Day is Monday)
        days.append(date(year, 12, 27))
    elif boxing.weekday() == 5:  # Boxing Day on Saturday: substitute Monday 28
        days.append(date(year, 12, 28))
    return days


def holiday_weeks(weeks: np.ndarray, country: str = "US") -> np.ndarray:
    """Flag weeks (Monday starts) holding a public holiday of ``country``.

    Args:
        weeks: (n_weeks,) ``datetime64[D]`` Mondays.
        country: ``US`` (the model's own calendar, :func:`models.calendar.holiday_weeks`) or
            ``GB``.

    Returns:
        (n_weeks,) bool.
    """
    if country == "US":
        return us_holiday_weeks(weeks)
    if country != "GB":
        raise ValueError(f"holiday_country must be one of {COUNTRIES}")
    days = weeks.astype("datetime64[D]")
    years = range(int(str(days.min())[:4]) - 1, int(str(days.max())[:4]) + 2)
    hol = np.array([d for y in years for d in gb_bank_holidays(y)], dtype="datetime64[D]")
    return ((hol[None, :] >= days[:, None]) & (hol[None, :] < days[:, None] + 7)).any(axis=1)
