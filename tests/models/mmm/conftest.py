"""Shared helpers of the MMM tests."""

from __future__ import annotations

import numpy as np
import pytest

from models.panel import Panel


def make_tiny_panel(n_geos: int = 3, n_weeks: int = 60, seed: int = 0) -> Panel:
    """A small random panel: 2 channels (search always on, tv flighted), Poisson counts."""
    rng = np.random.default_rng(seed)
    weeks = np.datetime64("2024-01-01") + np.arange(n_weeks) * np.timedelta64(7, "D")
    spend = rng.gamma(2.0, 500.0, (n_geos, n_weeks, 2))
    spend[:, ::3, 1] = 0.0  # flighted
    return Panel(
        weeks=weeks,
        geos=tuple(f"g{i}" for i in range(n_geos)),
        channels=("search", "tv"),
        population=np.linspace(100_000, 300_000, n_geos),
        spend=spend,
        new_patients=rng.poisson(40, (n_geos, n_weeks)).astype(float),
    )


@pytest.fixture(scope="session")
def tiny_panel():
    """Factory of small random panels: ``tiny_panel(n_geos=3, n_weeks=60, seed=0)``."""
    return make_tiny_panel
