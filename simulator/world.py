"""A generative model of a health system's marketing, with known truth.

The world: markets (3-digit ZIP service areas) with different populations; six paid channels
with their own carry-over (geometric adstock) and saturation (Hill) on spend per capita; a
baseline of new patients with trend, flu-season seasonality, holiday dips and a flu-activity
control; negative-binomial noise; last-touch attribution that over-credits search and
under-credits upper-funnel channels; one holdout and one scale-up geo test in the last year.

Truth definitions (docs/architecture.md) use expected values:

- mean new patients ``mu[g, w] = baseline[g, w] + sum_c contrib[g, w, c]``;
- ``contrib[g, w, c] = pop[g] * beta[g, c] * hill(adstock(spend[g, :, c] / pop[g])[w])``;
- a channel's incremental new patients = sum of ``contrib`` over markets and window weeks;
- PAC = window spend / incremental new patients; marginal PAC from a 1 % spend increase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

import numpy as np
import polars as pl

from models.calendar import holiday_weeks
from models.geo.types import GeoTest
from models.panel import Panel
from simulator.landing import landing_files
from simulator.truth import TestBlock, last_touch, world_truth

MAX_LAG = 8
BURN_IN = MAX_LAG  # weeks of spend simulated before the first reported week
RESTRICTED_OR_SMALL = {
    "000", "036", "059", "063", "102", "203", "205", "369", "556", "692",
    "790", "821", "823", "830", "831", "878", "879", "884", "890", "893",
}  # fmt: skip


@dataclass(frozen=True)
class ChannelSpec:
    """True behaviour of one paid channel.

    Attributes:
        name: channel slug.
        budget_share: share of the media budget.
        pattern: ``always_on``, ``flighted``, ``bursts`` or ``pulses``.
        decay: geometric adstock decay per week (0..1).
        half_saturation: Hill half-saturation, as a multiple of the channel's mean weekly spend
            per capita while active.
        slope: Hill slope.
        target_pac: USD per incremental new patient at planned spend, before ``effect_scale``.
        last_touch_share: share of the patients it causes that last-touch credits to it.
        start_week: first week with spend (index into reported weeks; 0 = from the start).
    """

    name: str
    budget_share: float
    pattern: str
    decay: float
    half_saturation: float
    slope: float
    target_pac: float
    last_touch_share: float
    start_week: int = 0


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("search", 0.32, "always_on", 0.15, 1.0, 1.4, 170.0, 0.80),
    ChannelSpec("social", 0.16, "flighted", 0.35, 0.9, 1.2, 300.0, 0.35),
    ChannelSpec("display", 0.10, "flighted", 0.30, 1.1, 1.0, 520.0, 0.12),
    ChannelSpec("tv", 0.20, "bursts", 0.65, 1.2, 1.8, 420.0, 0.03),
    ChannelSpec("ctv", 0.10, "flighted", 0.50, 0.8, 1.3, 360.0, 0.06, start_week=64),
    ChannelSpec("direct_mail", 0.12, "pulses", 0.40, 1.0, 1.1, 260.0, 0.25),
)


@dataclass(frozen=True)
class WorldConfig:
    """Knobs of a simulated world.

    Attributes:
        seed: random seed; the same config gives the same world.
        n_geos: number of markets.
        n_weeks: reported weeks (Mondays from ``first_week``).
        first_week: first reported Monday.
        correlated_flighting: flights of all flighted channels share one national calendar
            (hard to separate).
        effect_scale: multiplies every channel's effect (< 1: weaker channels).
        window_weeks: the PAC window, the last N weeks.
        weekly_budget: national media budget, USD per week.
        baseline_rate: baseline new patients per 1,000 people per week.
        dispersion: negative-binomial shape (larger is less noisy).
    """

    seed: int = 20240601
    n_geos: int = 24
    n_weeks: int = 156
    first_week: date = date(2023, 11, 27)
    correlated_flighting: bool = False
    effect_scale: float = 1.0
    window_weeks: int = 52
    weekly_budget: float = 150_000.0
    baseline_rate: float = 0.25
    dispersion: float = 60.0

    def __post_init__(self) -> None:
        if self.first_week.weekday() != 0:
            raise ValueError("first_week must be a Monday")
        if self.n_weeks < 80 or self.n_geos < 6:
            raise ValueError("a world needs at least 80 weeks and 6 markets")


@dataclass
class World:
    """A simulated world: the panel, the landing files and the truth.

    Attributes:
        config: how it was made.
        panel: true final spend and observed new patients.
        files: feed name -> list of (file name, frame) in the order they are delivered.
        tests: the geo tests run in the last year.
        truth: the ``truth.json`` content.
    """

    config: WorldConfig
    panel: Panel
    files: dict[str, list[tuple[str, pl.DataFrame]]]
    tests: list[GeoTest]
    truth: dict = field(default_factory=dict)


def adstock_weights(decay: float, max_lag: int = MAX_LAG) -> np.ndarray:
    """Normalised geometric adstock weights, shape (max_lag,), summing to 1."""
    w = decay ** np.arange(max_lag)
    return w / w.sum()


def adstock(x: np.ndarray, decay: float, max_lag: int = MAX_LAG) -> np.ndarray:
    """Geometric adstock along the last axis: ``out[..., t] = sum_l w_l x[..., t - l]``."""
    w = adstock_weights(decay, max_lag)
    out = np.zeros_like(x, dtype=float)
    n = x.shape[-1]
    for lag, wl in enumerate(w[:n]):
        out[..., lag:] += wl * x[..., : n - lag]
    return out


def hill(x: np.ndarray, half_saturation: float, slope: float) -> np.ndarray:
    """Hill saturation ``x^s / (x^s + k^s)``, 0 at x = 0, 1/2 at x = k."""
    xs = np.power(np.maximum(x, 0.0), slope)
    return xs / (xs + half_saturation**slope)


def _markets(rng: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    codes = [f"{c:03d}" for c in range(100, 999) if f"{c:03d}" not in RESTRICTED_OR_SMALL]
    geos = sorted(rng.choice(codes, size=n, replace=False).tolist())
    population = np.round(np.exp(rng.normal(np.log(260_000), 0.6, n))).astype(int)
    return geos, np.clip(population, 45_000, 2_500_000)


def _on_off(
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


_PATTERNS = {"flighted": ((4, 8), (3, 7)), "bursts": ((2, 4), (4, 9)), "pulses": ((1, 1), (3, 5))}


def _planned_spend(
    rng: np.random.Generator, cfg: WorldConfig, population: np.ndarray, n_total: int
) -> np.ndarray:
    """Planned spend (n_geos, n_total, n_channels) in USD, burn-in weeks included."""
    n_g = len(population)
    shares = population / population.sum()
    national_cal = {
        p: _on_off(rng, n_total, *_PATTERNS[p]) for p in ("flighted", "bursts", "pulses")
    }
    weeks = np.arange(n_total)
    spend = np.zeros((n_g, n_total, len(CHANNELS)))
    for c, ch in enumerate(CHANNELS):
        # markets differ in intensity per capita: the geo-level variation that identifies effects
        intensity = np.exp(rng.normal(0.0, 0.35, n_g))
        level = cfg.weekly_budget * ch.budget_share * shares * intensity / np.mean(intensity)
        if ch.pattern == "always_on":
            season = 1 + 0.15 * np.cos(2 * np.pi * (weeks - 8) / 52.18)
            noise = np.exp(rng.normal(0, 0.12, (n_g, n_total)))
            active = np.ones((n_g, n_total), dtype=bool)
            amount = level[:, None] * season[None, :] * noise
        else:
            if cfg.correlated_flighting:
                cal = national_cal[ch.pattern][None, :].repeat(n_g, axis=0)
            else:
                cal = np.stack([_on_off(rng, n_total, *_PATTERNS[ch.pattern]) for _ in range(n_g)])
            duty = max(cal.mean(), 0.1)
            noise = np.exp(rng.normal(0, 0.2, (n_g, n_total)))
            active = cal
            amount = level[:, None] / duty * noise
        started = weeks >= ch.start_week + BURN_IN
        spend[:, :, c] = np.where(active & started[None, :], amount, 0.0)
    return np.round(spend, 2)


def _contributions(
    spend: np.ndarray, population: np.ndarray, beta: np.ndarray, half_sat: np.ndarray
) -> np.ndarray:
    """Expected new patients caused per market, week and channel, shape of ``spend``."""
    x = spend / population[:, None, None]
    out = np.empty_like(x)
    for c, ch in enumerate(CHANNELS):
        ad = adstock(x[:, :, c], ch.decay)
        out[:, :, c] = population[:, None] * beta[:, c][:, None] * hill(ad, half_sat[c], ch.slope)
    return out


def _tests(
    rng: np.random.Generator, geos: list[str], n_weeks: int, first_week: date
) -> list[GeoTest]:
    """One search holdout and one social scale-up in the last year, on disjoint markets."""
    order = rng.permutation(len(geos))
    n, n_t = len(geos), max(1, len(geos) // 4)
    hold_t = tuple(sorted(geos[i] for i in order[:n_t]))
    hold_c = tuple(sorted(geos[i] for i in order[n_t : n - n_t]))
    up_t = tuple(sorted(geos[i] for i in order[n - n_t :]))

    def monday(i: int) -> date:
        return first_week + timedelta(weeks=i)

    h0 = n_weeks - 40
    u0 = n_weeks - 20
    return [
        GeoTest(
            "search_holdout_1", "search", "holdout", monday(h0), monday(h0 + 7), hold_t, hold_c
        ),
        GeoTest("social_scale_up_1", "social", "scale_up", monday(u0), monday(u0 + 5), up_t),
    ]


def _test_block(test: GeoTest, geos: list[str], first_week: date) -> TestBlock:
    """The cells a geo test changes, with weeks indexing the simulation (burn-in included)."""
    c = [ch.name for ch in CHANNELS].index(test.channel)
    gi = [geos.index(g) for g in test.treatment_geos]
    w0 = BURN_IN + (test.start_week - first_week).days // 7
    w1 = BURN_IN + (test.end_week - first_week).days // 7 + 1
    return test, c, gi, w0, w1


def simulate_world(cfg: WorldConfig) -> World:
    """Simulate a world and everything it would deliver to the landing folder."""
    rng = np.random.default_rng(cfg.seed)
    n_w, n_total = cfg.n_weeks, cfg.n_weeks + BURN_IN
    geos, population = _markets(rng, cfg.n_geos)
    n_g, n_c = len(geos), len(CHANNELS)
    weeks = np.array([np.datetime64(cfg.first_week + timedelta(weeks=i), "D") for i in range(n_w)])
    all_weeks = weeks[0] + np.arange(-BURN_IN, n_w) * np.timedelta64(7, "D")

    # --- baseline: per-capita rate, trend, flu season, holidays, flu control -------------
    t_years = (np.arange(n_total) - BURN_IN) / 52.18
    rate = cfg.baseline_rate / 1000 * np.exp(rng.normal(0, 0.25, n_g))
    doy = (all_weeks - all_weeks.astype("datetime64[Y]")).astype(int)
    flu_shape = np.exp(-((((doy - 35 + 182) % 365 - 182) / 40.0) ** 2))  # peaks early February
    season_year = np.exp(rng.normal(0, 0.35, int(t_years.max()) + 3))
    flu = flu_shape[None, :] * season_year[(t_years - t_years.min()).astype(int)][None, :]
    flu = flu * np.exp(rng.normal(0, 0.15, (n_g, 1))) + rng.normal(0, 0.03, (n_g, n_total))
    flu = np.clip(flu, 0, None)
    log_base = (
        0.05 * t_years[None, :]
        + 0.05 * np.cos(2 * np.pi * (doy[None, :] - 200) / 365.25)
        + 0.18 * flu
        - 0.22 * holiday_weeks(all_weeks)[None, :]
    )
    baseline = population[:, None] * rate[:, None] * np.exp(log_base)

    # --- media --------------------------------------------------------------------------
    planned = _planned_spend(rng, cfg, population, n_total)
    half_sat = np.empty(n_c)
    for c, ch in enumerate(CHANNELS):
        x = planned[:, :, c] / population[:, None]
        half_sat[c] = ch.half_saturation * x[x > 0].mean()
    unit = _contributions(planned, population, np.ones((n_g, n_c)), half_sat)
    beta_c = np.array(
        [
            planned[:, :, c].sum() / ch.target_pac / unit[:, :, c].sum()
            for c, ch in enumerate(CHANNELS)
        ]
    )
    beta = beta_c[None, :] * np.exp(rng.normal(0, 0.15, (n_g, n_c))) * cfg.effect_scale

    tests = _tests(rng, geos, n_w, cfg.first_week)
    test_blocks = [_test_block(test, geos, cfg.first_week) for test in tests]
    spend = planned.copy()
    for test, c, gi, w0, w1 in test_blocks:
        block = np.ix_(gi, range(w0, w1), [c])
        if test.design == "holdout":
            spend[block] = 0.0
        else:  # a scale-up runs an extra flight at twice the market's usual active level
            active = np.where(planned[gi, :, c] > 0, planned[gi, :, c], np.nan)
            spend[block] += np.round(2.0 * np.nanmean(active, axis=1), 2)[:, None, None]
    contributions = partial(_contributions, population=population, beta=beta, half_sat=half_sat)
    contrib = contributions(spend)
    mu = baseline + contrib.sum(axis=2)
    p = cfg.dispersion / (cfg.dispersion + mu)
    new_patients = rng.negative_binomial(cfg.dispersion, p)

    obs = slice(BURN_IN, None)
    panel = Panel(
        weeks=weeks,
        geos=tuple(geos),
        channels=tuple(sorted(ch.name for ch in CHANNELS)),
        population=population,
        spend=spend[:, obs, :][:, :, np.argsort([ch.name for ch in CHANNELS])],
        new_patients=new_patients[:, obs],
        controls=flu[:, obs, None],
        control_names=("flu_activity",),
    )
    credited = last_touch(rng, CHANNELS, baseline[:, obs], contrib[:, obs, :], new_patients[:, obs])
    truth = world_truth(
        cfg, weeks, CHANNELS, planned, spend, contributions, half_sat, credited, test_blocks
    )
    files = landing_files(rng, CHANNELS, weeks, geos, population, spend[:, obs, :], flu[:, obs],
                          credited, tests)  # fmt: skip
    return World(config=cfg, panel=panel, files=files, tests=tests, truth=truth)
