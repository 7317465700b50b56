"""Planned media spend of a simulated world: budgets, flighting calendars and the spend modes.

Every channel gets a budget split over markets by population and a market-specific intensity
(the geo-level variation that identifies effects). Always-on channels spend every week with a
mild season; flighted ones switch on and off. The spend modes of :class:`WorldConfig` reshape
this the way real media plans do, one mode at a time; each draws from its own random stream, so
that a mode changes only what it is about and the default world stays as it always was.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simulator.world import ChannelSpec, WorldConfig

#: flighting pattern -> ((shortest, longest) flight in weeks, (shortest, longest) gap in weeks)
PATTERNS = {"flighted": ((4, 8), (3, 7)), "bursts": ((2, 4), (4, 9)), "pulses": ((1, 1), (3, 5))}
MAIL_CYCLE = 13  # weeks between two drops of a staggered mail channel (one drop a quarter)


def mode_rng(cfg: WorldConfig, mode: str) -> np.random.Generator:
    """The random stream of one mode of a world, independent of the world's main stream."""
    return np.random.default_rng([cfg.seed, zlib.crc32(mode.encode())])


def on_off(
    rng: np.random.Generator, n: int, on: tuple[int, int], off: tuple[int, int]
) -> np.ndarray:
    """A random on/off calendar of length n: flights of ``on`` weeks separated by ``off`` weeks."""
    out = np.zeros(n, dtype=bool)
    t = int(rng.integers(0, off[1] + 1))
    while t < n:
        length = int(rng.integers(on[0], on[1] + 1))
        out[t : t + length] = True
        t += length + int(rng.integers(off[0], off[1] + 1))
    return out


def planned_spend(
    rng: np.random.Generator, cfg: WorldConfig, channels: Sequence[ChannelSpec],
    population: np.ndarray, n_total: int, burn_in: int, demand: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    """Planned spend (n_geos, n_total, n_channels) in USD, the ``burn_in`` weeks first.

    Args:
        rng: the world's main random stream.
        cfg: the world's config (budget and spend modes).
        channels: the paid channels, in the order of the last axis.
        population: (n_geos,) people per market.
        n_total: weeks simulated, burn-in included.
        burn_in: weeks simulated before the first reported week.
        demand: (n_geos, n_total) standardised hidden demand driver that always-on spend
            follows (search budgets track searches), or None.
    """
    n_g = len(population)
    shares = population / population.sum()
    national_cal = {p: on_off(rng, n_total, *PATTERNS[p]) for p in ("flighted", "bursts", "pulses")}
    weeks = np.arange(n_total)
    spend = np.zeros((n_g, n_total, len(channels)))
    first_always_on = next((c for c, ch in enumerate(channels) if ch.pattern == "always_on"), None)
    for c, ch in enumerate(channels):
        # markets differ in intensity per capita: the geo-level variation that identifies effects
        intensity = np.exp(rng.normal(0.0, 0.35, n_g))
        level = cfg.weekly_budget * ch.budget_share * shares * intensity / np.mean(intensity)
        if ch.pattern == "always_on":
            season = 1 + 0.15 * np.cos(2 * np.pi * (weeks - 8) / 52.18)
            noise = np.exp(rng.normal(0, 0.12, (n_g, n_total)))
            if cfg.flat_channel and c == first_always_on:
                season = np.ones(n_total)
                noise = np.exp(mode_rng(cfg, "flat_channel").normal(0, 0.02, (n_g, n_total)))
            active = np.ones((n_g, n_total), dtype=bool)
            amount = level[:, None] * season[None, :] * noise
            if cfg.quarterly_budgets:
                amount = amount * _quarterly_moves(mode_rng(cfg, f"quarterly_{c}"), n_g, n_total)
        else:
            if cfg.correlated_flighting:
                cal = national_cal[ch.pattern][None, :].repeat(n_g, axis=0)
            else:
                cal = np.stack([on_off(rng, n_total, *PATTERNS[ch.pattern]) for _ in range(n_g)])
            if cfg.national_flights and ch.pattern in ("flighted", "bursts"):
                own = on_off(mode_rng(cfg, f"national_{c}"), n_total, *PATTERNS[ch.pattern])
                cal = own[None, :].repeat(n_g, axis=0)
            if cfg.staggered_mail and ch.pattern == "pulses":
                cal = _staggered_drops(mode_rng(cfg, f"mail_{c}"), n_g, n_total)
            duty = max(cal.mean(), 0.05)  # share of market-weeks on air (1/13 for mail drops)
            noise = np.exp(rng.normal(0, 0.2, (n_g, n_total)))
            active = cal
            amount = level[:, None] / duty * noise
        started = weeks >= ch.start_week + burn_in
        spend[:, :, c] = np.where(active & started[None, :], amount, 0.0)
    if cfg.spend_pauses:
        spend[:, _pause_weeks(mode_rng(cfg, "pauses"), cfg.n_weeks, burn_in), :] = 0.0
    if demand is not None:
        always_on = [c for c, ch in enumerate(channels) if ch.pattern == "always_on"]
        spend[:, :, always_on] *= np.exp(cfg.hidden_driver * demand)[:, :, None]
    return np.round(spend, 2)


def _quarterly_moves(rng: np.random.Generator, n_g: int, n_total: int) -> np.ndarray:
    """(n_g, n_total) budget multipliers that change every 13 weeks, differently per market."""
    n_q = n_total // 13 + 1
    moves = np.exp(rng.normal(0, 0.35, (n_g, n_q)))
    return moves[:, np.arange(n_total) // 13] / moves.mean(axis=1, keepdims=True)


def _staggered_drops(rng: np.random.Generator, n_g: int, n_total: int) -> np.ndarray:
    """(n_g, n_total) bool: one mail drop every ``MAIL_CYCLE`` weeks, in a week of the cycle
    that differs between markets."""
    phase = rng.integers(0, MAIL_CYCLE, n_g)
    return (np.arange(n_total)[None, :] - phase[:, None]) % MAIL_CYCLE == 0


def _pause_weeks(rng: np.random.Generator, n_weeks: int, burn_in: int) -> np.ndarray:
    """Week indices (burn-in included) of two national pauses of 2 to 4 weeks, both before the
    last year (where the geo tests run)."""
    hi = max(n_weeks - 56, 10)
    mid = (8 + hi) // 2
    weeks = []
    for lo, up in ((8, mid), (mid, hi)):
        start = int(rng.integers(lo, up))
        weeks += range(start, start + int(rng.integers(2, 5)))
    return burn_in + np.array(sorted(set(weeks)))
