"""A generative model of a health system's marketing, with known truth.

The default world: markets (3-digit ZIP service areas) with different populations; six paid
channels with their own carry-over (geometric adstock) and saturation (Hill) on spend per
capita; a baseline of new patients with trend, flu-season seasonality, US holiday dips and a
flu-activity control; negative-binomial noise; last-touch attribution that over-credits search
and under-credits upper-funnel channels; one holdout and one scale-up geo test in the last year.

The default shares the clearcount model's own assumptions. The modes of :class:`WorldConfig`
break them one at a time (other curve families, saturation and media share far from the prior's
centre, another country's holidays, a level shift, a demand driver the model is not given,
spend shaped as real media plans are, many markets of very different size), and every
:class:`World` says what its true generating model is (:class:`Oracle`), so that a benchmark can
fit the model with the true forms and learn how much the data can tell.

Truth definitions (docs/architecture.md) use expected values:

- mean new patients ``mu[g, w] = baseline[g, w] + sum_c contrib[g, w, c]``;
- ``contrib[g, w, c] = pop[g] * beta[g, c] * saturation(adstock(spend[g, :, c] / pop[g])[w])``;
- a channel's incremental new patients = sum of ``contrib`` over markets and window weeks;
- PAC = window spend / incremental new patients; marginal PAC from a 1 % spend increase.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial

import numpy as np
import polars as pl

from models.calendar import holiday_weeks
from models.geo.types import GeoTest
from models.panel import Panel
from simulator.landing import landing_files
from simulator.markets import GEO_TYPES, draw_markets
from simulator.spend import mode_rng, planned_spend
from simulator.transforms import (
    WEIBULL_SHAPE,
    convolve,
    geometric_weights,
    hill,
    logistic,
    logistic_lam,
    weibull_scale_for_peak,
    weibull_weights,
)
from simulator.truth import TestBlock, last_touch, world_truth

MAX_LAG = 8  # weeks of carry-over of the geometric kernels (the model's own)
WEIBULL_MAX_LAG = 10  # weeks of carry-over of the delayed (Weibull) kernels
MODE = {"mode": True}  # metadata of the config fields that make a misspecified world


@dataclass(frozen=True)
class ChannelSpec:
    """True behaviour of one paid channel.

    Attributes:
        name: channel slug.
        budget_share: share of the media budget.
        pattern: ``always_on``, ``flighted``, ``bursts`` or ``pulses``.
        decay: geometric adstock decay per week (0..1); in a Weibull world it sets how late
            the carry-over peaks instead (:func:`weibull_peak_lag`).
        half_saturation: half-saturation, as a multiple of the channel's mean weekly spend
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
#: Channels 7 to 10 of a world with ``n_channels`` above 6 (budget shares are renormalised).
MORE_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("radio", 0.08, "bursts", 0.55, 1.0, 1.5, 450.0, 0.03),
    ChannelSpec("ooh", 0.07, "always_on", 0.45, 1.1, 1.2, 520.0, 0.02),
    ChannelSpec("podcast", 0.05, "flighted", 0.40, 0.9, 1.1, 380.0, 0.05),
    ChannelSpec("print", 0.05, "pulses", 0.35, 1.0, 1.0, 330.0, 0.10),
)


@dataclass(frozen=True)
class WorldConfig:
    """Knobs of a simulated world.

    The fields after ``dispersion`` are the modes of a misspecified world; their defaults give
    the default world, unchanged by their existence (same seed, same bytes).

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
        n_channels: paid channels, 2 to 10: the first of ``CHANNELS`` then ``MORE_CHANNELS``.
        geo_type: ``zip3`` (service areas) or ``dma`` (codes 500..899, TV-market populations).
        market_sizes: ``typical`` for the geo type, or ``wide`` (30 thousand to 5 million).
        adstock: ``geometric`` (the model's form) or ``weibull`` (delayed: the effect of a
            week's spend peaks 1 to 3 weeks later; ``WEIBULL_MAX_LAG`` weeks of carry-over).
        saturation: ``hill`` (the model's form) or ``logistic``
            (``(1 - exp(-lam x)) / (1 + exp(-lam x))``, half the maximum at the half-saturation).
        half_saturation: every channel's half-saturation as a multiple of its mean active
            weekly spend per capita (0.3: deep in saturation; 3: nearly linear); None keeps
            each channel's own (0.8 to 1.2).
        media_share: expected share of the window's new patients caused by media (all
            channels' effects scaled together); None leaves it as the channels' PACs make it.
        level_shift: change of the log baseline from week ``level_shift_week`` on, in every
            market (a clinic opening, a competitor closing); 0 for none.
        level_shift_week: reported week index of the level shift (None: the middle week).
        holiday_country: whose holidays dip the baseline, as :func:`models.calendar.holiday_weeks`
            knows them: ``US`` (the model's default) or another ISO code such as ``GB-ENG``.
        hidden_driver: effect on the log baseline of one standard deviation of a demand driver
            that is not written to the controls feed (always-on spend follows it, as search
            budgets follow searches); 0 for none.
        flat_channel: the first always-on channel's spend barely moves from week to week.
        national_flights: each flighted or burst channel is on air in the same weeks in every
            market (its own national calendar).
        quarterly_budgets: always-on budgets move every quarter, differently by market.
        staggered_mail: a pulsed (mail) channel drops once a quarter, in a week that differs
            between markets.
        spend_pauses: two national pauses of all media, 2 to 4 weeks each, before the last year.
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
    n_channels: int = field(default=6, metadata=MODE)
    geo_type: str = field(default="zip3", metadata=MODE)
    market_sizes: str = field(default="typical", metadata=MODE)
    adstock: str = field(default="geometric", metadata=MODE)
    saturation: str = field(default="hill", metadata=MODE)
    half_saturation: float | None = field(default=None, metadata=MODE)
    media_share: float | None = field(default=None, metadata=MODE)
    level_shift: float = field(default=0.0, metadata=MODE)
    level_shift_week: int | None = field(default=None, metadata=MODE)
    holiday_country: str = field(default="US", metadata=MODE)
    hidden_driver: float = field(default=0.0, metadata=MODE)
    flat_channel: bool = field(default=False, metadata=MODE)
    national_flights: bool = field(default=False, metadata=MODE)
    quarterly_budgets: bool = field(default=False, metadata=MODE)
    staggered_mail: bool = field(default=False, metadata=MODE)
    spend_pauses: bool = field(default=False, metadata=MODE)

    def __post_init__(self) -> None:
        if self.first_week.weekday() != 0:
            raise ValueError("first_week must be a Monday")
        if self.n_weeks < 80 or self.n_geos < 6:
            raise ValueError("a world needs at least 80 weeks and 6 markets")
        if not 2 <= self.n_channels <= len(CHANNELS) + len(MORE_CHANNELS):
            raise ValueError("n_channels must be between 2 and 10")
        choices = {
            "geo_type": tuple(GEO_TYPES),
            "market_sizes": ("typical", "wide"),
            "adstock": ("geometric", "weibull"),
            "saturation": ("hill", "logistic"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")
        if self.media_share is not None and not 0 < self.media_share < 1:
            raise ValueError("media_share must be between 0 and 1")
        if self.level_shift_week is not None and not 0 < self.level_shift_week < self.n_weeks:
            raise ValueError("level_shift_week must fall inside the reported weeks")

    @property
    def max_lag(self) -> int:
        """Weeks of carry-over of the true adstock kernels (also the spend burn-in)."""
        return WEIBULL_MAX_LAG if self.adstock == "weibull" else MAX_LAG

    @property
    def channels(self) -> tuple[ChannelSpec, ...]:
        """The world's paid channels, budget shares summing to 1."""
        specs = (CHANNELS + MORE_CHANNELS)[: self.n_channels]
        if self.n_channels == len(CHANNELS):
            return specs
        total = sum(ch.budget_share for ch in specs)
        return tuple(replace(ch, budget_share=ch.budget_share / total) for ch in specs)


@dataclass(frozen=True)
class Oracle:
    """The true generating model of a world, as a model configuration can state it.

    Fitting clearcount's model with these forms (parameters unknown) and these extra controls
    measures how well any model could do on the world.

    Attributes:
        adstock: ``geometric`` or ``weibull`` (normalised kernels, see
            :mod:`simulator.transforms`).
        saturation: ``hill`` or ``logistic``.
        max_lag: weeks of carry-over of the kernels.
        holiday_country: the calendar whose holidays dip the baseline.
        control_names: controls the world's feeds do not carry but the oracle is given:
            ``demand_driver`` (the hidden driver, standardised) and ``level_shift`` (0 before
            the shift's week, 1 from it), where the world has them.
        controls: (n_geos, n_weeks, len(control_names)) their values.
    """

    adstock: str
    saturation: str
    max_lag: int
    holiday_country: str
    control_names: tuple[str, ...]
    controls: np.ndarray


@dataclass
class World:
    """A simulated world: the panel, the landing files, the truth and the true model.

    Attributes:
        config: how it was made.
        panel: true final spend and observed new patients.
        files: feed name -> list of (file name, frame) in the order they are delivered.
        tests: the geo tests run in the last year.
        oracle: the true generating model.
        truth: the ``truth.json`` content.
    """

    config: WorldConfig
    panel: Panel
    files: dict[str, list[tuple[str, pl.DataFrame]]]
    tests: list[GeoTest]
    oracle: Oracle
    truth: dict = field(default_factory=dict)

    def oracle_panel(self) -> Panel:
        """The panel with the oracle's extra controls appended to the world's own."""
        p = self.panel
        return replace(
            p,
            controls=np.concatenate([p.controls, self.oracle.controls], axis=2),
            control_names=p.control_names + self.oracle.control_names,
        )


def weibull_peak_lag(decay: float) -> int:
    """Lag (weeks) at which a channel's Weibull carry-over peaks: 1 to 3, later for channels
    whose geometric decay is slower."""
    return 1 + int(decay >= 0.3) + int(decay >= 0.5)


@dataclass(frozen=True)
class ChannelCurve:
    """A channel's true response to spend per capita: carry-over kernel, then saturation.

    Attributes:
        weights: (max_lag,) normalised carry-over kernel.
        saturation: ``hill`` or ``logistic``.
        half_saturation: spend per capita (USD per person per week) at half the maximum.
        slope: Hill slope (unused by the logistic curve).
    """

    weights: np.ndarray
    saturation: str
    half_saturation: float
    slope: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Response in (0, 1) to spend per capita ``x`` (..., n_weeks), same shape."""
        carried = convolve(x, self.weights)
        if self.saturation == "hill":
            return hill(carried, self.half_saturation, self.slope)
        return logistic(carried, logistic_lam(self.half_saturation))


def _kernel(cfg: WorldConfig, ch: ChannelSpec) -> np.ndarray:
    if cfg.adstock == "geometric":
        return geometric_weights(ch.decay, cfg.max_lag)
    scale = weibull_scale_for_peak(weibull_peak_lag(ch.decay))
    return weibull_weights(WEIBULL_SHAPE, scale, cfg.max_lag)


def _curve_params(cfg: WorldConfig, ch: ChannelSpec, curve: ChannelCurve) -> dict:
    """A channel's true transform parameters as written to ``truth.json``."""
    if cfg.adstock == "geometric":
        out: dict = {"adstock_decay": ch.decay}
    else:
        peak = weibull_peak_lag(ch.decay)
        out = {
            "adstock_weibull_shape": WEIBULL_SHAPE,
            "adstock_weibull_scale": weibull_scale_for_peak(peak),
            "adstock_peak_lag": peak,
        }
    if cfg.saturation == "hill":
        out |= {"hill_half_saturation": curve.half_saturation, "hill_slope": ch.slope}
    else:
        out |= {
            "logistic_lam": logistic_lam(curve.half_saturation),
            "half_saturation": curve.half_saturation,
        }
    return out


def _contributions(
    spend: np.ndarray, population: np.ndarray, beta: np.ndarray, curves: list[ChannelCurve]
) -> np.ndarray:
    """Expected new patients caused per market, week and channel, shape of ``spend``."""
    x = spend / population[:, None, None]
    out = np.empty_like(x)
    for c, curve in enumerate(curves):
        out[:, :, c] = population[:, None] * beta[:, c][:, None] * curve(x[:, :, c])
    return out


def _demand_driver(cfg: WorldConfig, n_g: int, n_total: int) -> np.ndarray:
    """(n_g, n_total) standardised demand: a slow national wave plus slow local moves (AR(1),
    0.95 a week), unrelated to season and holidays."""
    rng = mode_rng(cfg, "demand")

    def ar1(shape: tuple[int, ...]) -> np.ndarray:
        e = rng.normal(0, 1, shape + (n_total,))
        out = np.empty_like(e)
        out[..., 0] = e[..., 0] / np.sqrt(1 - 0.95**2)
        for t in range(1, n_total):
            out[..., t] = 0.95 * out[..., t - 1] + e[..., t]
        return out

    z = ar1(())[None, :] + ar1((n_g,))
    return (z - z.mean()) / z.std()


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


def _test_block(
    test: GeoTest, channels: tuple[ChannelSpec, ...], geos: list[str], cfg: WorldConfig
) -> TestBlock:
    """The cells a geo test changes, with weeks indexing the simulation (burn-in included)."""
    c = [ch.name for ch in channels].index(test.channel)
    gi = [geos.index(g) for g in test.treatment_geos]
    w0 = cfg.max_lag + (test.start_week - cfg.first_week).days // 7
    w1 = cfg.max_lag + (test.end_week - cfg.first_week).days // 7 + 1
    return test, c, gi, w0, w1


def simulate_world(cfg: WorldConfig) -> World:
    """Simulate a world and everything it would deliver to the landing folder."""
    rng = np.random.default_rng(cfg.seed)
    channels = cfg.channels
    burn_in = cfg.max_lag  # weeks of spend simulated before the first reported week
    n_w, n_total = cfg.n_weeks, cfg.n_weeks + burn_in
    geos, population = draw_markets(rng, cfg.n_geos, cfg.geo_type, cfg.market_sizes)
    n_g, n_c = len(geos), len(channels)
    weeks = np.array([np.datetime64(cfg.first_week + timedelta(weeks=i), "D") for i in range(n_w)])
    all_weeks = weeks[0] + np.arange(-burn_in, n_w) * np.timedelta64(7, "D")

    # --- baseline: per-capita rate, trend, flu season, holidays, flu control -------------
    t_years = (np.arange(n_total) - burn_in) / 52.18
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
        - 0.22 * holiday_weeks(all_weeks, cfg.holiday_country)[None, :]
    )
    hidden: dict[str, np.ndarray] = {}  # controls the feeds do not carry, (n_g, n_total)
    demand = _demand_driver(cfg, n_g, n_total) if cfg.hidden_driver else None
    if demand is not None:
        hidden["demand_driver"] = demand
        log_base = log_base + cfg.hidden_driver * demand
    if cfg.level_shift:
        shift_week = n_w // 2 if cfg.level_shift_week is None else cfg.level_shift_week
        step = (np.arange(n_total) >= burn_in + shift_week).astype(float)
        hidden["level_shift"] = np.repeat(step[None, :], n_g, axis=0)
        log_base = log_base + cfg.level_shift * step[None, :]
    baseline = population[:, None] * rate[:, None] * np.exp(log_base)

    # --- media --------------------------------------------------------------------------
    planned = planned_spend(rng, cfg, channels, population, n_total, burn_in, demand)
    curves = []
    for c, ch in enumerate(channels):
        x = planned[:, :, c] / population[:, None]
        multiple = ch.half_saturation if cfg.half_saturation is None else cfg.half_saturation
        curves.append(
            ChannelCurve(_kernel(cfg, ch), cfg.saturation, multiple * x[x > 0].mean(), ch.slope)
        )
    unit = _contributions(planned, population, np.ones((n_g, n_c)), curves)
    beta_c = np.array(
        [
            planned[:, :, c].sum() / ch.target_pac / unit[:, :, c].sum()
            for c, ch in enumerate(channels)
        ]
    )
    beta = beta_c[None, :] * np.exp(rng.normal(0, 0.15, (n_g, n_c))) * cfg.effect_scale

    tests = _tests(rng, geos, n_w, cfg.first_week)
    test_blocks = [_test_block(test, channels, geos, cfg) for test in tests]
    spend = planned.copy()
    for test, c, gi, w0, w1 in test_blocks:
        block = np.ix_(gi, range(w0, w1), [c])
        if test.design == "holdout":
            spend[block] = 0.0
        else:  # a scale-up runs an extra flight at twice the market's usual active level
            active = np.where(planned[gi, :, c] > 0, planned[gi, :, c], np.nan)
            spend[block] += np.round(2.0 * np.nanmean(active, axis=1), 2)[:, None, None]
    if cfg.media_share is not None:  # scale every effect so media cause that share
        window = slice(n_total - cfg.window_weeks, n_total)
        media = _contributions(spend, population, beta, curves)[:, window].sum()
        base = baseline[:, window].sum()
        beta = beta * cfg.media_share * base / ((1 - cfg.media_share) * media)
    contributions = partial(_contributions, population=population, beta=beta, curves=curves)
    contrib = contributions(spend)
    mu = baseline + contrib.sum(axis=2)
    p = cfg.dispersion / (cfg.dispersion + mu)
    new_patients = rng.negative_binomial(cfg.dispersion, p)

    obs = slice(burn_in, None)
    order = np.argsort([ch.name for ch in channels])
    panel = Panel(
        weeks=weeks,
        geos=tuple(geos),
        channels=tuple(sorted(ch.name for ch in channels)),
        population=population,
        spend=spend[:, obs, :][:, :, order],
        new_patients=new_patients[:, obs],
        controls=flu[:, obs, None],
        control_names=("flu_activity",),
    )
    oracle = Oracle(
        adstock=cfg.adstock,
        saturation=cfg.saturation,
        max_lag=cfg.max_lag,
        holiday_country=cfg.holiday_country,
        control_names=tuple(hidden),
        controls=np.stack([v[:, obs] for v in hidden.values()], axis=2)
        if hidden
        else np.zeros((n_g, n_w, 0)),
    )
    credited = last_touch(rng, channels, baseline[:, obs], contrib[:, obs, :], new_patients[:, obs])
    params = [_curve_params(cfg, ch, curve) for ch, curve in zip(channels, curves, strict=True)]
    truth = world_truth(
        cfg, weeks, channels, planned, spend, contributions, params, credited, test_blocks
    )
    files = landing_files(rng, channels, weeks, geos, population, spend[:, obs, :], flu[:, obs],
                          credited, tests, geo_type=cfg.geo_type)  # fmt: skip
    return World(config=cfg, panel=panel, files=files, tests=tests, oracle=oracle, truth=truth)
