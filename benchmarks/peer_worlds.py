"""Benchmark worlds from a generator nobody on the team wrote: pymc-labs/mmm-param-recovery.

The generator (Apache-2.0, https://github.com/pymc-labs/mmm-param-recovery) is not vendored and
none of its code is committed here: it runs from a checkout of commit ``PEER_COMMIT``, taken from
``$MMM_PARAM_RECOVERY`` or ``~/.cache/clearcount/mmm-param-recovery``, which
:func:`peer_checkout` clones there on first use (only its ``mmm_param_recovery`` package is
needed). Its transforms call ``pymc_marketing.mmm.transformers``, an API pymc-marketing no longer
has, and its package imports seaborn and matplotlib for plots: we lend it plain numpy versions of
the transforms its presets name (``geometric_adstock``, ``hill_function``,
``logistic_saturation``, as pymc-marketing 0.x defined them) and stand in for its plotting
module (seaborn, matplotlib) with one that draws nothing; the generator itself is not changed.

A run of one preset and seed gives data and truth from the same call: weekly sales ``y`` per
region (baseline + controls + channel contributions, continuous) become new patients (rounded),
its Sunday-ending weeks become Monday-starting weeks, its controls the controls feed, and its
regions markets of type ``custom`` with a population of 10 people per weekly sale of the
region's baseline (the generator has no populations; the model reads spend per capita, so this
only sets units). True PAC per channel = spend in the last 52 weeks / the generator's own
contributions of that channel in those weeks (carry-in counted). The oracle is the generator's
own forms: geometric adstock (its ``l_max``) and its saturation.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from models.panel import Panel
from simulator.world import Oracle

PEER_REPO = "https://github.com/pymc-labs/mmm-param-recovery"
PEER_COMMIT = "8a8468feb98ef78a050fdc370699a98c4f8c3d14"
PEOPLE_PER_WEEKLY_SALE = 10
#: the generator's plotting functions (seaborn and matplotlib), replaced by a stub module
PLOT_FUNCTIONS = (
    "plot_channel_spend",
    "plot_channel_contributions",
    "plot_roas_comparison",
    "plot_regional_comparison",
    "plot_data_quality",
)
SATURATIONS = {"hill_function": "hill", "logistic_saturation": "logistic"}


@dataclass
class PeerWorld:
    """One run of the peer generator, as the benchmark reads a simulated world.

    Attributes:
        name: ``<preset>`` (the seed is in ``seed``).
        seed: the generator's seed.
        panel: spend, new patients and the generator's controls.
        files: landing feeds (CONTRACT section 2): feed -> [(file name, frame)].
        tests: geo tests (the generator runs none).
        oracle: the generator's own forms.
        truth: ``truth.json``-shaped: per channel spend, incremental new patients and PAC in the
            window, and the generator's transform parameters.
    """

    name: str
    seed: int
    panel: Panel
    files: dict[str, list[tuple[str, pl.DataFrame]]]
    oracle: Oracle
    truth: dict
    tests: list = field(default_factory=list)

    def oracle_panel(self) -> Panel:
        return self.panel


def peer_checkout() -> Path:
    """A checkout of the generator at ``PEER_COMMIT``: ``$MMM_PARAM_RECOVERY`` if set, else
    ``~/.cache/clearcount/mmm-param-recovery``, cloned from GitHub when missing."""
    path = Path(
        os.environ.get(
            "MMM_PARAM_RECOVERY", Path.home() / ".cache" / "clearcount" / "mmm-param-recovery"
        )
    )
    if not (path / "mmm_param_recovery").is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["git", "clone", "--quiet", PEER_REPO, str(path)], check=True)
            subprocess.run(["git", "-C", str(path), "checkout", "--quiet", PEER_COMMIT], check=True)
        except (OSError, subprocess.CalledProcessError):
            raise RuntimeError(
                f"no checkout of {PEER_REPO} at {path} and cloning it failed: clone it there "
                "(or anywhere, and set MMM_PARAM_RECOVERY to that folder)"
            ) from None
    return path


def _geometric_adstock(x, alpha=0.0, l_max=12, normalize=False, axis=0, mode=None):
    """pymc-marketing 0.x ``geometric_adstock`` in numpy: ``y[t] = sum_l w_l x[t-l]``,
    ``w_l = alpha**l`` for l < l_max (divided by their sum if ``normalize``)."""
    x = np.asarray(x, dtype=float)
    w = float(alpha) ** np.arange(int(l_max))
    if normalize:
        w = w / w.sum()
    out = np.zeros_like(x)
    for lag, wl in enumerate(w[: len(x)]):
        out[lag:] += wl * x[: len(x) - lag]
    return _Evaluated(out)


def _hill_function(x, slope, kappa):
    """pymc-marketing 0.x ``hill_function``: ``1 - kappa**slope / (kappa**slope + x**slope)``."""
    x = np.asarray(x, dtype=float)
    return _Evaluated(np.where(x == 0, 0.0, 1 - kappa**slope / (kappa**slope + x**slope)))


def _logistic_saturation(x, lam=0.5):
    """pymc-marketing 0.x ``logistic_saturation``: ``(1 - exp(-lam x)) / (1 + exp(-lam x))``."""
    e = np.exp(-lam * np.asarray(x, dtype=float))
    return _Evaluated((1 - e) / (1 + e))


class _Evaluated(np.ndarray):
    """A numpy result that answers ``.eval()`` as the generator expects of a tensor."""

    def __new__(cls, values: np.ndarray) -> _Evaluated:
        return np.asarray(values).view(cls)

    def eval(self) -> np.ndarray:
        return np.asarray(self)


def _lend_modules() -> None:
    """Put the numpy transforms where the generator imports them, and stub its plots module."""
    transformers = types.ModuleType("pymc_marketing.mmm.transformers")
    transformers.geometric_adstock = _geometric_adstock
    transformers.hill_function = _hill_function
    transformers.logistic_saturation = _logistic_saturation
    mmm = types.ModuleType("pymc_marketing.mmm")
    mmm.transformers = transformers
    package = types.ModuleType("pymc_marketing")
    package.mmm = mmm
    sys.modules.update(
        {
            "pymc_marketing": package,
            "pymc_marketing.mmm": mmm,
            "pymc_marketing.mmm.transformers": transformers,
        }
    )
    plots = types.ModuleType("mmm_param_recovery.data_generator.visualization")
    for name in PLOT_FUNCTIONS:
        setattr(plots, name, _no_plots)
    sys.modules[plots.__name__] = plots


def _no_plots(*args, **kwargs):
    raise NotImplementedError("the benchmark does not draw the generator's plots")


def _generator():
    """The generator's ``data_generator`` package, imported from the checkout."""
    root = str(peer_checkout())
    if root not in sys.path:
        sys.path.insert(0, root)
    _lend_modules()
    return importlib.import_module("mmm_param_recovery.data_generator")


@contextmanager
def _redrawn_baseline_noise(noise_seed: int) -> Iterator[None]:
    """While open, the generator's regional baselines get their weekly noise from
    ``default_rng(noise_seed + region index)``, at the preset's ``sales_volatility``; the rest of
    each baseline (level, trend, season) is the generator's own. The new noise has its own random
    generator, so nothing else the generator draws (spend, controls) changes."""
    core = importlib.import_module("mmm_param_recovery.data_generator.core")
    own = core.generate_regional_baseline

    def redrawn(regions, time_index, region_idx, seed=None):
        out = own(regions, time_index, region_idx, seed)
        rate = regions.base_sales_rate
        noise = out["base_sales"] / rate - 1.0
        shape = 1.0 + out["trend"] + out["seasonal"]
        kept = out["total"] > 0  # the generator clips at 0; the region's level is one number
        level = float(np.median(out["total"][kept] / (rate * (shape + noise)[kept])))
        new = np.random.default_rng(noise_seed + region_idx).normal(
            0.0, regions.sales_volatility, len(time_index)
        )
        return out | {
            "base_sales": rate * (1.0 + new),
            "total": np.clip(rate * level * (shape + new), 0.0, None),
        }

    core.generate_regional_baseline = redrawn
    try:
        yield
    finally:
        core.generate_regional_baseline = own


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def peer_world(
    preset: str, seed: int, window_weeks: int = 52, noise_seed: int | None = None
) -> PeerWorld:
    """Run the generator's ``preset`` with ``seed`` and convert data and truth.

    ``noise_seed``: redraw the weekly noise of the generator's baselines from this seed (see
    :func:`_redrawn_baseline_noise`); spend, contributions and so the true PAC stay those of
    ``seed``. Fits to several noise draws of one world show how far its estimates move with the
    noise alone, which a 90% interval should cover nine times in ten.
    """
    gen = _generator()
    config = gen.get_preset_config(preset, seed=seed)
    if noise_seed is None:
        out = gen.generate_mmm_dataset(config)
    else:
        with _redrawn_baseline_noise(noise_seed):
            out = gen.generate_mmm_dataset(config)
    data = out["data"].sort_values(["geo", "date"])
    contrib = out["ground_truth"]["transformed_spend"]
    regions = list(config.regions.region_names)
    dates = np.array(sorted(data["date"].unique()), dtype="datetime64[D]")
    weeks = dates - np.timedelta64(6, "D")  # the Monday that starts each Sunday-ending week
    n_g, n_w = len(regions), len(weeks)
    spend_cols = [f"x{i + 1}_{ch.name}" for i, ch in enumerate(config.channels)]
    names = [_slug(ch.name) for ch in config.channels]
    order = np.argsort(names)

    def cube(frame, columns: list[str]) -> np.ndarray:
        """(n_g, n_w, len(columns)) from a (date, geo)-long frame."""
        out = np.empty((n_g, n_w, len(columns)))
        for g, region in enumerate(regions):
            rows = frame[frame["geo"] == region].sort_values("date")
            out[g] = rows[columns].to_numpy(dtype=float)
        return out

    spend = np.round(cube(data, spend_cols), 2)
    contributions = cube(contrib.reset_index(), [f"contribution_{c}" for c in spend_cols])
    y = np.clip(np.rint(data.pivot(index="geo", columns="date", values="y").loc[regions]), 0, None)
    control_cols = [f"c{i + 1}" for i in range(len(config.control_variables))]
    control_names = tuple(_slug(c.name) for c in config.control_variables)
    controls = cube(data, control_cols) if control_cols else np.zeros((n_g, n_w, 0))
    baseline = out["ground_truth"]["baseline_components"]["baseline_sales"]
    population = np.array(
        [round(PEOPLE_PER_WEEKLY_SALE * baseline.xs(r, level="geo").mean(), -3) for r in regions],
        dtype=np.int64,
    )
    geos = tuple(_slug(r) for r in regions)
    panel = Panel(
        weeks=weeks,
        geos=geos,
        channels=tuple(names[i] for i in order),
        population=population,
        spend=spend[:, :, order],
        new_patients=y.to_numpy().astype(np.int64),
        controls=controls,
        control_names=control_names,
    )
    saturations = config.transforms.saturation_fun
    saturation = SATURATIONS[saturations if isinstance(saturations, str) else saturations[0]]
    l_max = config.transforms.get_adstock_kwargs(0).get("l_max", 12)
    oracle = Oracle("geometric", saturation, int(l_max), "US", (), np.zeros((n_g, n_w, 0)))
    truth = _truth(config, names, spend, contributions, weeks, window_weeks, preset, seed)
    files = _landing_files(panel)
    return PeerWorld(f"{preset}", seed, panel, files, oracle, truth)


def _truth(config, names, spend, contributions, weeks, window_weeks, preset, seed) -> dict:
    window = slice(-window_weeks, None)
    w_spend = spend[:, window].sum(axis=(0, 1))
    inc = contributions[:, window].sum(axis=(0, 1))
    total = w_spend.sum()
    channels = {}
    for c, name in enumerate(names):
        channels[name] = {
            "spend": round(float(w_spend[c]), 2),
            "incremental_new_patients": float(inc[c]),
            "pac": float(w_spend[c] / inc[c]) if inc[c] > 0 else None,
            "last_touch_pac": None,
            "share_of_window_spend": float(w_spend[c] / total),
            "adstock": config.transforms.get_adstock_kwargs(c),
            "saturation": config.transforms.get_saturation_kwargs(c),
        }
    return {
        "source": f"{PEER_REPO} @ {PEER_COMMIT[:10]}, preset {preset}, seed {seed}",
        "window": {"start": str(weeks[-window_weeks]), "end": str(weeks[-1])},
        "definitions": (
            "Expected contributions as the generator computes them; PAC = window spend / the "
            "channel's contributions in the window weeks (carry-in counted)."
        ),
        "channels": channels,
        "tests": {},
    }


def _landing_files(panel: Panel) -> dict[str, list[tuple[str, pl.DataFrame]]]:
    """The panel as landing feeds: every new patient arrives by phone from source ``unknown``
    (the generator has no last-touch credit), bookings are empty, no experiments."""
    n_g, n_w = panel.n_geos, panel.n_weeks
    week_col = np.tile(panel.weeks.astype(str), n_g)
    geo_col = np.repeat(panel.geos, n_w)
    markets = pl.DataFrame(
        {
            "geo": list(panel.geos),
            "geo_type": ["custom"] * n_g,
            "population": panel.population,
            "label": [f"Region {i + 1}" for i in range(n_g)],
        }
    )
    spend = pl.concat(
        pl.DataFrame(
            {
                "week_start": week_col,
                "geo": geo_col,
                "channel": ch,
                "spend": panel.spend[:, :, c].reshape(-1),
            }
        )
        for c, ch in enumerate(panel.channels)
    )
    y = panel.new_patients.reshape(-1)
    calls = pl.DataFrame(
        {
            "week_start": week_col,
            "geo": geo_col,
            "channel": "unknown",
            "calls": y,
            "new_patient_calls": y,
        }
    )
    bookings = calls.rename({"calls": "bookings", "new_patient_calls": "new_patient_bookings"})
    bookings = bookings.with_columns(
        pl.lit(0).alias("bookings"), pl.lit(0).alias("new_patient_bookings")
    )
    controls = [
        pl.DataFrame(
            {
                "week_start": week_col,
                "geo": geo_col,
                "name": name,
                "value": panel.controls[:, :, k].reshape(-1),
            }
        )
        for k, name in enumerate(panel.control_names)
    ]
    return {
        "markets": [("markets.csv", markets)],
        "spend": [("spend.csv", spend)],
        "calls": [("calls.csv", calls)],
        "bookings": [("bookings.csv", bookings)],
    } | ({"controls": [("controls.csv", pl.concat(controls))]} if controls else {})
