"""The Panel container: shapes, the observed mask and the national sum."""

from __future__ import annotations

import numpy as np
import pytest

from models.panel import Panel


def make_panel(observed: np.ndarray | None = None) -> Panel:
    n_g, n_w, n_c = 3, 4, 2
    return Panel(
        weeks=np.arange("2024-01-01", 4 * 7, 7, dtype="datetime64[D]")[:n_w],
        geos=("a", "b", "c"),
        channels=("search", "tv"),
        population=np.array([1e5, 2e5, 3e5]),
        spend=np.ones((n_g, n_w, n_c)),
        new_patients=np.full((n_g, n_w), 5.0),
        observed=observed,
    )


def test_observed_defaults_to_every_cell():
    panel = make_panel()
    assert panel.observed.shape == (3, 4) and panel.observed.dtype == bool
    assert panel.observed.all() and panel.fully_observed


def test_observed_must_match_the_grid():
    with pytest.raises(ValueError, match="observed"):
        make_panel(np.ones((3, 5), dtype=bool))
    with pytest.raises(ValueError, match="observed"):
        make_panel(np.ones((3, 4)))


def test_national_week_is_observed_only_when_every_market_was():
    mask = np.ones((3, 4), dtype=bool)
    mask[2, :2] = False
    panel = make_panel(mask)
    assert not panel.fully_observed
    national = panel.national()
    assert national.observed.tolist() == [[False, False, True, True]]
    assert national.new_patients.shape == (1, 4)
