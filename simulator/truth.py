"""A simulated world's last-touch credit and its truth (the ``truth.json`` content).

Definitions are those of :mod:`simulator.world`: expected values, a channel's incremental new
patients summed over markets and the PAC window's weeks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from models.geo.types import GeoTest

if TYPE_CHECKING:
    from simulator.world import ChannelSpec, WorldConfig

UNPAID_SOURCES = ("organic", "direct", "referral", "unknown")
# Where baseline patients are credited by last touch; search over-credited by brand searches.
BASELINE_CREDIT = {
    "organic": 0.34,
    "direct": 0.24,
    "referral": 0.16,
    "unknown": 0.08,
    "search": 0.18,
}

#: A geo test and the cells it changed: (test, channel index, market indices, first week, end
#: week (exclusive)); weeks index the simulation, burn-in included.
TestBlock = tuple[GeoTest, int, list[int], int, int]


def last_touch(
    rng: np.random.Generator, channels: Sequence[ChannelSpec], baseline: np.ndarray,
    contrib: np.ndarray, y: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Split observed new patients (n_geos, n_weeks) across last-touch sources.

    A patient caused by channel c is credited to c with ``last_touch_share``; the rest of its
    credit goes to search (brand searches before calling), direct and organic. ``baseline`` is
    (n_geos, n_weeks) and ``contrib`` (n_geos, n_weeks, n_channels), expected new patients.
    """
    sources = [ch.name for ch in channels] + list(UNPAID_SOURCES)
    idx = {s: i for i, s in enumerate(sources)}
    expected = np.zeros(y.shape + (len(sources),))
    for s, share in BASELINE_CREDIT.items():
        expected[:, :, idx[s]] += share * baseline
    for c, ch in enumerate(channels):
        rest = 1 - ch.last_touch_share
        expected[:, :, idx[ch.name]] += ch.last_touch_share * contrib[:, :, c]
        for s, share in (("search", 0.5), ("direct", 0.3), ("organic", 0.2)):
            expected[:, :, idx[s]] += rest * share * contrib[:, :, c]
    probs = expected / expected.sum(axis=2, keepdims=True)
    flat = rng.multinomial(y.reshape(-1), probs.reshape(-1, len(sources)))
    counts = flat.reshape(y.shape + (len(sources),))
    return {s: counts[:, :, i] for s, i in idx.items()}


def world_truth(
    cfg: WorldConfig, weeks: np.ndarray, channels: Sequence[ChannelSpec], planned: np.ndarray,
    spend: np.ndarray, contributions: Callable[[np.ndarray], np.ndarray], params: Sequence[dict],
    credited: dict[str, np.ndarray], test_blocks: Sequence[TestBlock],
) -> dict:  # fmt: skip
    """The ``truth.json`` content.

    Args:
        cfg: the world's config.
        weeks: (n_weeks,) reported Mondays.
        channels: the paid channels, in the order of the last axis of the spend arrays.
        planned, spend: (n_geos, n_total, n_channels) planned and final spend in USD, burn-in
            weeks first.
        contributions: spend of that shape -> expected new patients caused, same shape.
        params: per channel, its true transform parameters (name -> value), e.g.
            ``adstock_decay``, ``hill_half_saturation`` (spend per capita), ``hill_slope``.
        credited: last-touch source -> (n_geos, n_weeks) new patients credited to it.
        test_blocks: the geo tests and the cells each changed.
    """
    n_total = spend.shape[1]
    window = slice(n_total - cfg.window_weeks, n_total)
    contrib = contributions(spend)
    inc = contrib[:, window, :].sum(axis=(0, 1))
    out = {}
    for c, ch in enumerate(channels):
        bumped = spend.copy()
        bumped[:, window, c] *= 1.01
        extra = contributions(bumped)[:, window, :].sum(axis=(0, 1))[c] - inc[c]
        w_spend = float(spend[:, window, c].sum())
        lt = float(credited[ch.name][:, -cfg.window_weeks :].sum())
        out[ch.name] = {
            "spend": round(w_spend, 2),
            "incremental_new_patients": float(inc[c]),
            "pac": w_spend / inc[c] if inc[c] > 0 else None,
            "marginal_pac": 0.01 * w_spend / extra if extra > 0 else None,
            "last_touch_new_patients": lt,
            "last_touch_pac": w_spend / lt if lt > 0 else None,
            **{k: float(v) if isinstance(v, np.floating) else v for k, v in params[c].items()},
            "share_of_window_spend": None,
        }
    total = sum(v["spend"] for v in out.values())
    for v in out.values():
        v["share_of_window_spend"] = v["spend"] / total
    return {
        "seed": cfg.seed,
        "config": config_record(cfg),
        "window": {
            "start": str(weeks[-cfg.window_weeks]),
            "end": str(weeks[-1]),
        },
        "definitions": (
            "Expected values. Channel incremental new patients: sum over markets and window weeks "
            "of the channel's additive contribution (carry-in counted, carry-out after the window "
            "not). PAC = window spend / incremental. Marginal PAC = 1% of window spend / extra "
            "new patients in the window. Test incremental new patients: expected new patients in "
            "treatment markets during the test weeks with the higher spend minus the lower."
        ),
        "channels": out,
        "tests": _test_truth(planned, spend, contributions, test_blocks),
    }


def config_record(cfg: WorldConfig) -> dict:
    """The config as JSON: every field, except that a mode field (metadata ``mode``) is written
    only when it is set, so that a default world's truth is the same as before modes existed."""
    out = {}
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata.get("mode") and value == f.default:
            continue
        out[f.name] = value.isoformat() if isinstance(value, date) else value
    return out


def _test_truth(
    planned: np.ndarray, spend: np.ndarray, contributions: Callable[[np.ndarray], np.ndarray],
    test_blocks: Sequence[TestBlock],
) -> dict:  # fmt: skip
    """Test id -> its true incremental new patients and spend (higher arm minus lower)."""
    out = {}
    for test, c, gi, w0, w1 in test_blocks:
        # the other arm: the same world with this test's block at its planned spend
        other = spend.copy()
        block = np.ix_(gi, range(w0, w1), [c])
        other[block] = planned[block]
        high, low = (other, spend) if test.design == "holdout" else (spend, other)
        ch_high = contributions(high)[gi, w0:w1, c].sum()
        ch_low = contributions(low)[gi, w0:w1, c].sum()
        d_spend = float(high[block].sum() - low[block].sum())
        out[test.test_id] = {
            "channel": test.channel,
            "design": test.design,
            "start_week": test.start_week.isoformat(),
            "end_week": test.end_week.isoformat(),
            "treatment_geos": list(test.treatment_geos),
            "control_geos": list(test.control_geos),
            "incremental_new_patients": float(ch_high - ch_low),
            "incremental_spend": round(d_spend, 2),
            "pac": d_spend / float(ch_high - ch_low),
        }
    return out
