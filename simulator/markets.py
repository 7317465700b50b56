"""The simulated markets: geo codes of the contract's types and their populations."""

from __future__ import annotations

import numpy as np

RESTRICTED_OR_SMALL = {
    "000", "036", "059", "063", "102", "203", "205", "369", "556", "692",
    "790", "821", "823", "830", "831", "878", "879", "884", "890", "893",
}  # fmt: skip

#: geo type -> (codes to draw from, (median population, log sd, smallest, largest)) for
#: ``market_sizes="typical"``: ZIP3 service areas of a regional health system, or Nielsen-style
#: DMA codes 500..899 with TV-market populations (all 210 US DMAs fit).
GEO_TYPES = {
    "zip3": (
        [f"{c:03d}" for c in range(100, 999) if f"{c:03d}" not in RESTRICTED_OR_SMALL],
        (260_000, 0.6, 45_000, 2_500_000),
    ),
    "dma": ([str(c) for c in range(500, 900)], (650_000, 1.15, 30_000, 20_000_000)),
}
#: ``market_sizes="wide"``: the smallest market has 30 thousand people, the largest 5 million.
WIDE_SIZES = (30_000, 5_000_000)
LABELS = {"zip3": "Service area", "dma": "TV market"}


def draw_markets(
    rng: np.random.Generator, n: int, geo_type: str = "zip3", sizes: str = "typical"
) -> tuple[list[str], np.ndarray]:
    """``n`` sorted geo codes of ``geo_type`` and their populations, (n,) int, all > 20,000."""
    codes, typical = GEO_TYPES[geo_type]
    if n > len(codes):
        raise ValueError(f"at most {len(codes)} markets of type {geo_type}")
    median, sd, low, high = typical
    geos = sorted(rng.choice(codes, size=n, replace=False).tolist())
    log_pop = rng.normal(np.log(median), sd, n)
    if sizes == "wide":  # the same draws stretched to span the whole range, log-normal between
        low, high = WIDE_SIZES
        unit = (log_pop - log_pop.min()) / (log_pop.max() - log_pop.min())
        log_pop = np.log(low) + unit * (np.log(high) - np.log(low))
    return geos, np.clip(np.round(np.exp(log_pop)).astype(int), low, high)


def market_labels(geo_type: str, n: int) -> list[str]:
    """Printable market labels (no digits runs, no names): ``Service area 1`` ..."""
    return [f"{LABELS[geo_type]} {i + 1}" for i in range(n)]
