"""Write a simulated world (``models.simulate``) as landing feeds plus ``truth.json``.

Used by ``clearcount simulate`` and by tests and benchmarks that need worlds of other seeds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.simulate import World, WorldConfig, simulate_world

SAMPLE_SEED = 20240601

README = """# Sample landing feeds

Simulated by `clearcount simulate --seed {seed}` (models/simulate.py): {n_geos} markets,
{n_weeks} weeks, six paid channels, two geo tests. `truth.json` holds the true incremental new
patients, PAC and marginal PAC of each channel in the window and the true effect of each test;
the pipeline ignores it. No real patient, market or health system is described here.
"""


def write_world(world: World, out: Path) -> None:
    """Write every feed file of ``world`` into ``out/<feed>/`` and ``out/truth.json``.

    Existing feed files in ``out`` that the world does not deliver are removed, so that a
    folder always holds exactly one world.
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
    cfg = world.config
    (out / "README.md").write_text(
        README.format(seed=cfg.seed, n_geos=cfg.n_geos, n_weeks=cfg.n_weeks)
    )


def config_from_args(args: argparse.Namespace) -> WorldConfig:
    """The world config of ``clearcount simulate`` arguments (``--hard``: correlated, weaker)."""
    hard = {"correlated_flighting": True, "effect_scale": 0.6} if args.hard else {}
    return WorldConfig(seed=args.seed, n_geos=args.geos, n_weeks=args.weeks, **hard)


def main(args: argparse.Namespace) -> int:
    """Entry point of ``clearcount simulate``; returns the exit code."""
    out = Path(args.out)
    write_world(simulate_world(config_from_args(args)), out)
    print(f"wrote a simulated world (seed {args.seed}) to {out}")
    return 0
