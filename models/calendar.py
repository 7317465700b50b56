"""Calendar features shared by the simulator and the models: holiday weeks and yearly Fourier terms."""

from __future__ import annotations

import numpy as np

#: Holidays of the US calendar when clinics see fewer patients (names as the ``holidays`` package
#: spells them). Federal holidays that leave clinics open (Columbus Day, Veterans Day, ...) are
#: left out.
US_CLINIC_HOLIDAYS: frozenset[str] = frozenset(
    {
        "New Year's Day",
        "Memorial Day",
        "Independence Day",
        "Labor Day",
        "Thanksgiving Day",
        "Christmas Day",
    }
)


def holiday_dates(country: str, years: range) -> np.ndarray:
    """Dates of the holidays that count for ``country`` in ``years``, as ``datetime64[D]``.

    Uses the ``holidays`` package (kept up to date for about 200 countries and their
    subdivisions). ``"US"``: the six holidays of :data:`US_CLINIC_HOLIDAYS` on their actual
    dates. Any other country: every public holiday, weekday substitutes included (a day off
    either way). A subdivision is written ``"GB-ENG"`` or ``"US-CA"``.

    Raises:
        ValueError: ``country`` is not a code the ``holidays`` package knows.
    """
    import holidays

    code, _, subdiv = country.strip().upper().partition("-")
    try:
        if code == "US" and not subdiv:
            table = holidays.country_holidays("US", years=years, observed=False)
            days = [d for d, name in table.items() if name in US_CLINIC_HOLIDAYS]
        else:
            table = holidays.country_holidays(code, subdiv=subdiv or None, years=years)
            days = list(table.keys())
    except NotImplementedError:
        raise ValueError(
            f"no holiday calendar for '{country}': use an ISO 3166-1 alpha-2 country code such "
            "as US, GB or DE, optionally with a subdivision (GB-ENG)"
        ) from None
    return np.array(sorted(days), dtype="datetime64[D]")


def holiday_weeks(weeks: np.ndarray, country: str = "US") -> np.ndarray:
    """Flag weeks (Monday starts) that contain a holiday when clinics see fewer patients.

    ``country="US"`` (the default): Thanksgiving, Christmas Day, New Year's Day, Independence
    Day, Memorial Day, Labor Day. Other countries: their public holidays (see
    :func:`holiday_dates`).

    Args:
        weeks: (n_weeks,) ``datetime64[D]`` Mondays.
        country: ISO 3166-1 alpha-2 code, optionally ``-SUBDIVISION``.

    Returns:
        (n_weeks,) bool.
    """
    days = weeks.astype("datetime64[D]")
    years = range(int(str(days.min())[:4]) - 1, int(str(days.max())[:4]) + 2)
    hol = holiday_dates(country, years)
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
