"""The simulated markets."""

from __future__ import annotations

import numpy as np

from simulator.markets import RESTRICTED_OR_SMALL, draw_markets, market_labels


def test_zip3_and_dma_codes_and_sizes() -> None:
    geos, pop = draw_markets(np.random.default_rng(1), 300, "zip3")
    assert not set(geos) & RESTRICTED_OR_SMALL and pop.min() > 20_000
    geos, pop = draw_markets(np.random.default_rng(1), 210, "dma")
    assert all(500 <= int(g) <= 899 for g in geos) and len(set(geos)) == 210
    assert pop.min() > 20_000 and 150e6 < pop.sum() < 600e6  # near the US population


def test_wide_sizes_span_30_thousand_to_5_million() -> None:
    _, pop = draw_markets(np.random.default_rng(2), 24, "zip3", "wide")
    assert (pop.min(), pop.max()) == (30_000, 5_000_000)
    assert market_labels("dma", 2) == ["TV market 1", "TV market 2"]
