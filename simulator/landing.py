"""A simulated world's landing files: the feeds of the contract (section 2) as polars frames,
and written to a landing folder with the world's ``truth.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from models.geo.types import GeoTest
from simulator.markets import market_labels

if TYPE_CHECKING:
    from simulator.world import ChannelSpec, World

README = """# Sample landing feeds

Simulated by `clearcount simulate --seed {seed}` (simulator/world.py): {n_geos} markets,
{n_weeks} weeks, six paid channels, two geo tests. `truth.json` holds the true incremental new
patients, PAC and marginal PAC of each channel in the window and the true effect of each test;
the pipeline ignores it. No real patient, market or health system is described here.
"""


def write_world(world: World, out: Path, readme: str | None = None) -> None:
    """Write every feed file of ``world`` into ``out/<feed>/``, ``out/truth.json`` and a README.

    Existing feed files in ``out`` that the world does not deliver are removed, so that a
    folder always holds exactly one world. ``world`` may be any object with ``files`` and
    ``truth`` (a benchmark world from another generator) if ``readme`` gives the README text.
    """
    out.mkdir(parents=True, exist_ok=True)
    for feed, files in world.files.items():
        folder = out / feed
        folder.mkdir(exist_ok=True)
        keep = {name for name, _ in files}
        for stale in folder.glob("*"):
            if stale.suffix in {".csv", ".parquet"} and stale.name not in keep:
                stale.unlink()
        for name, frame in files:
            frame.write_csv(folder / name, float_precision=None)
    (out / "truth.json").write_text(json.dumps(world.truth, indent=2) + "\n")
    if readme is None:
        cfg = world.config
        readme = README.format(seed=cfg.seed, n_geos=cfg.n_geos, n_weeks=cfg.n_weeks)
    (out / "README.md").write_text(readme)


def landing_files(
    rng: np.random.Generator, channels: Sequence[ChannelSpec], weeks: np.ndarray, geos: list[str],
    population: np.ndarray, spend: np.ndarray, flu: np.ndarray,
    credited: dict[str, np.ndarray], tests: list[GeoTest], geo_type: str = "zip3",
) -> dict[str, list[tuple[str, pl.DataFrame]]]:  # fmt: skip
    """The landing feeds of docs/contract.md section 2 as frames, file names included.

    Args:
        rng: the world's generator (the impressions, calls and bookings draws come from it).
        channels: the paid channels, in the order of the last axis of ``spend``.
        weeks: (n_weeks,) reported Mondays; ``geos``, ``population``: (n_geos,).
        spend: (n_geos, n_weeks, n_channels) USD; ``flu``: (n_geos, n_weeks) control values.
        credited: last-touch source -> (n_geos, n_weeks) new patients credited to it.
        tests: the geo tests, for the experiments feed.
        geo_type: the markets' type (``zip3`` or ``dma``), which also names their labels.

    Returns:
        feed name -> [(file name, frame)] in delivery order.
    """
    n_g, n_w = len(geos), len(weeks)
    week_col = np.tile(weeks.astype(str), n_g)
    geo_col = np.repeat(geos, n_w)
    markets = pl.DataFrame(
        {
            "geo": geos,
            "geo_type": [geo_type] * n_g,
            "population": population.astype(np.int64),
            "label": market_labels(geo_type, n_g),
        }
    )
    spend_rows = []
    for c, ch in enumerate(channels):
        s = spend[:, :, c].reshape(-1)
        launched = np.tile(np.arange(n_w) >= ch.start_week, n_g)
        cpm = np.exp(rng.normal(np.log(12.0), 0.1, s.shape))
        spend_rows.append(
            pl.DataFrame(
                {
                    "week_start": week_col,
                    "geo": geo_col,
                    "channel": ch.name,
                    "spend": np.round(s, 2),
                    "impressions": np.round(s / cpm * 1000).astype(np.int64),
                }
            ).filter(pl.Series(launched))
        )
    spend_all = pl.concat(spend_rows).sort("week_start", "geo", "channel")
    # the first delivery carried preliminary numbers for its last 6 weeks; a restatement fixes them
    cut = str(weeks[-6])
    prelim = spend_all.with_columns(
        pl.when(pl.col("week_start") >= cut)
        .then((pl.col("spend") * 0.9).round(2))
        .otherwise(pl.col("spend"))
        .alias("spend")
    )
    restated = spend_all.filter(pl.col("week_start") >= cut)

    # calls take a binomial 60 % of each source's new patients; bookings take the rest
    calls, bookings = calls_and_bookings(rng, credited, week_col, geo_col)
    experiments = pl.DataFrame(
        [
            {
                "test_id": t.test_id,
                "channel": t.channel,
                "geo": g,
                "role": role,
                "start_week": t.start_week.isoformat(),
                "end_week": t.end_week.isoformat(),
                "design": t.design,
            }
            for t in tests
            for role, gs in (("treatment", t.treatment_geos), ("control", t.control_geos))
            for g in gs
        ]
    )
    controls = pl.DataFrame(
        {
            "week_start": week_col,
            "geo": geo_col,
            "name": "flu_activity",
            "value": np.round(flu.reshape(-1), 4),
        }
    )
    return {
        "markets": [("markets.csv", markets)],
        "spend": [
            (f"spend_{weeks[0]}_{weeks[-1]}.csv", prelim),
            (f"spend_{cut}_{weeks[-1]}_restated.csv", restated),
        ],
        "calls": [("calls.csv", calls)],
        "bookings": [("bookings.csv", bookings)],
        "experiments": [("experiments.csv", experiments)],
        "controls": [("controls.csv", controls)],
    }


def calls_and_bookings(
    rng: np.random.Generator, credited: dict[str, np.ndarray], week_col: np.ndarray,
    geo_col: np.ndarray,
) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """Calls and bookings rows per source: new patients split 60/40, plus existing patients."""
    calls, bookings = [], []
    for source, y in credited.items():
        by_phone = rng.binomial(y, 0.6)
        for frames, kind, new, existing in (
            (calls, "calls", by_phone, 1.2),
            (bookings, "bookings", y - by_phone, 0.4),
        ):
            total = new + rng.poisson(existing * new + 0.5)
            frames.append(
                pl.DataFrame(
                    {
                        "week_start": week_col,
                        "geo": geo_col,
                        "channel": source,
                        kind: total.reshape(-1).astype(np.int64),
                        f"new_patient_{kind}": new.reshape(-1).astype(np.int64),
                    }
                )
            )
    order = ("week_start", "geo", "channel")
    return pl.concat(calls).sort(order), pl.concat(bookings).sort(order)
