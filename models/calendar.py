"""Calendar features shared by the simulator and the models: holiday weeks and yearly Fourier terms."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np


def _thanksgiving(year: int) -> date:
    """Fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


def holiday_weeks(weeks: np.ndarray) -> np.ndarray:
    """Flag weeks (Monday starts) that contain a major US holiday when clinics see fewer patients.

    Holidays: Thanksgiving, Christmas Day, New Year's Day, Independence Day, Memorial Day,
    Labor Day.

    Args:
        weeks: (n_weeks,) ``datetime64[D]`` Mondays.

    Returns:
        (n_weeks,) bool.
    """
    days = weeks.astype("datetime64[D]")
    years = range(int(str(days.min())[:4]) - 1, int(str(days.max())[:4]) + 2)
    holidays: list[date] = []
    for y in years:
        may31 = date(y, 5, 31)
        sep1 = date(y, 9, 1)
        holidays += [
            _thanksgiving(y),
            date(y, 12, 25),
            date(y, 1, 1),
            date(y, 7, 4),
            may31 - timedelta(days=may31.weekday()),  # last Monday of May
            sep1 + timedelta(days=(0 - sep1.weekday()) % 7),  # first Monday of September
        ]
    hol = np.array(holidays, dtype="datetime64[D]")
    return ((hol[None, :] >= days[:, None]) & (hol[None, :] < days[:, None] + 7)).any(axis=1)


def yearly_fourier(weeks: np.ndarray, n_terms: int) -> np.ndarray:
    """Yearly Fourier features.

    Args:
        weeks: (n_weeks,) ``datetime64[D]``.
        n_terms: number of sine/cosine pairs.

    Returns:
        (n_weeks, 2 * n_terms) array: sin(2 pi k t / 365.25), cos(...) for k = 1..n_terms,
        t = days since 1970-01-01.
    """
    t = weeks.astype("datetime64[D]").astype(np.int64).astype(float)
    k = np.arange(1, n_terms + 1)
    angle = 2 * np.pi * t[:, None] * k[None, :] / 365.25
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
