"""Small geo-test worlds built with plain numpy, one per real-data case (fast: no simulator)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pytest

from models.panel import Panel


def numpy_panel(n_geos: int, n_weeks: int, seed: int = 0) -> Panel:
    """Markets of lognormal size sharing a season, a trend and national shocks, each with its
    own small shocks and Poisson counts; one channel ``search`` whose spend follows the size.

    Mean weekly new patients per market are about 80 (a factor 2 either way is common).
    """
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(np.log(80.0), 0.6, n_geos))
    t = np.arange(n_weeks)
    common = 1 + 0.15 * np.sin(2 * np.pi * t / 52) + 0.05 * t / 52 + rng.normal(0, 0.03, n_weeks)
    local = 1 + rng.normal(0, 0.04, (n_geos, n_weeks))
    mu = size[:, None] * common[None, :] * local
    spend = (size[:, None] * 12.0 * np.exp(rng.normal(0, 0.1, (n_geos, n_weeks))))[:, :, None]
    weeks = np.array(
        [np.datetime64(date(2024, 1, 1) + timedelta(weeks=i), "D") for i in range(n_weeks)]
    )
    return Panel(
        weeks=weeks,
        geos=tuple(f"{100 + i:03d}" for i in range(n_geos)),
        channels=("search",),
        population=np.round(size * 4000).astype(np.int64),
        spend=np.round(spend, 2),
        new_patients=rng.poisson(mu),
    )


@pytest.fixture(scope="module")
def make_panel() -> Callable[..., Panel]:
    """The builder :func:`numpy_panel`."""
    return numpy_panel
