"""The MMM benchmark battery: clearcount's PAC on worlds with known truth, beside the oracle.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_mmm.py               # every world, held-out seeds
    .venv/bin/python benchmarks/bench_mmm.py --worlds weibull peer_medium --quick
    .venv/bin/python benchmarks/bench_mmm.py --tuning                  # the tuning seeds instead
    .venv/bin/python benchmarks/bench_mmm.py --worlds default --with-pymc-marketing
    .venv/bin/python benchmarks/bench_mmm.py --worlds weibull default --adstock weibull
    .venv/bin/python benchmarks/bench_mmm.py --sizes                   # 24/100/210 DMAs
    .venv/bin/python benchmarks/bench_mmm.py --national-only
    .venv/bin/python benchmarks/bench_mmm.py --list                    # the worlds

Worlds (``--list``): the public pymc-labs/mmm-param-recovery generator's ``small_business`` and
``medium_business`` presets (``peer_*``, see ``benchmarks/peer_worlds.py``: a generator nobody on
the team wrote), and the simulator (``simulator/``) in its default world and in misspecified
modes, one mode per world so that each can be blamed alone, plus ``media_plan``, the four shapes
of real media plans together.

Seeds are split: tuning seeds (the simulator seeds the model's settings were tuned on, and the
generator's default seed) and held-out seeds; the table reports held-out seeds unless
``--tuning``. Per world and seed it fits clearcount as the pipeline does (default
``MMMConfig``; uncalibrated, and calibrated by the lifts ``models.geo`` measures from the world's
own geo tests where it has tests) and the oracle: the same model configured with the world's true
forms (adstock and saturation family, carry-over length, holiday calendar) and given the controls
the world withholds (a hidden demand driver, a level-shift step), parameters unknown, so that its
error says how much the data can tell. Where the true forms are the model's defaults and nothing
is withheld, the oracle is the uncalibrated fit itself (marked ``=``). Then a national fit
(markets summed), unless ``--no-national``.

Scores: median |PAC error| over channels with at least 10% of the window's spend; ``covered``
counts channels whose 90% interval holds the true PAC. The bar (issue 14): covered for all but at
most one channel, converged, error at most 1.25 times the oracle's, and at most 15% wherever the
oracle's error is at most 10%.

``--peer-noise-seed N`` redraws the weekly noise of the generator's baselines from seed ``N``
(``peer_*`` worlds only; spend and truth stay those of the world's seed): fits to a few noise
draws of one world show whether its misses are noise, which 90% intervals must cover nine times
in ten, or a bias that stays.

``--adstock weibull`` fits clearcount with another carry-over than the default, to judge a
candidate default on the battery (the oracle keeps each world's true form, so on a geometric world
the oracle is then the default model).

``--with-pymc-marketing`` also fits pymc-marketing 1.3 (``benchmarks/pmm_anchor.py``, a throwaway
Python 3.12 venv) on the same data in the same run and prints it side by side.

``--sizes`` fits the default model to 24, 100 and 210 DMA markets x 156 weeks x 10 channels (a
simulator world with the budget per person of the default world), each in its own subprocess, and
reports wall time, the subprocess's peak resident memory and convergence.

A full run is long: about 2.5 hours on 2 idle cores (23 worlds and seeds; per simulator world an
uncalibrated and a calibrated fit, each with its holdout fit, an oracle fit for the five worlds
whose true model differs from the default, and a national fit). ``--calibration none`` skips the
calibrated fits; ``--quick`` samples 300 draws after 300 tuning steps and skips the holdout fits,
for iteration only (its fits do not converge: judge nothing by it). ``--write-worlds DIR`` writes
the worlds as landing folders for ``clearcount refresh`` instead of fitting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from models.mmm import MMMConfig, fit_mmm  # noqa: E402
from models.mmm.transforms import ADSTOCKS, SATURATIONS  # noqa: E402
from simulator import WorldConfig, simulate_world  # noqa: E402

SHARE_SCORED = 0.10  # channels with at least this share of window spend enter the median error
SIM_TUNING = (20240601, 11)  # seeds the model's settings were tuned on (with 23, 37 and 53)
SIM_HELD_OUT = (101,)  # one per mode: each isolates one thing; --seeds 202 303 adds more
PEER_TUNING = (20250715,)  # the generator's own default seed
PEER_HELD_OUT = (1, 2, 3)
SIZES = (24, 100, 210)


@dataclass(frozen=True)
class WorldSpec:
    """A world of the battery: how to make it for a seed, and which seeds are which."""

    name: str
    about: str
    make: Callable[[int], object]
    tuning: tuple[int, ...]
    held_out: tuple[int, ...]


def _simulated(name: str, about: str, **modes) -> WorldSpec:
    return WorldSpec(
        name,
        about,
        lambda seed: simulate_world(WorldConfig(seed=seed, **modes)),
        SIM_TUNING,
        SIM_HELD_OUT,
    )


def _peer(name: str, preset: str) -> WorldSpec:
    def make(seed: int, noise_seed: int | None = None):
        from peer_worlds import peer_world

        return peer_world(preset, seed, noise_seed=noise_seed)

    about = f"pymc-labs/mmm-param-recovery preset {preset}"
    return WorldSpec(name, about, make, PEER_TUNING, PEER_HELD_OUT)


MEDIA_PLAN = {
    "national_flights": True,
    "quarterly_budgets": True,
    "staggered_mail": True,
    "spend_pauses": True,
}
WORLDS = {
    spec.name: spec
    for spec in (
        _peer("peer_small", "small_business"),
        _peer("peer_medium", "medium_business"),
        _simulated("default", "the simulator's default: the model's own assumptions"),
        _simulated("weibull", "delayed carry-over (peaks 1-3 weeks later)", adstock="weibull"),
        _simulated("logistic", "logistic saturation", saturation="logistic"),
        _simulated("half_sat_0.3", "half-saturation at 0.3x current spend", half_saturation=0.3),
        _simulated("half_sat_3", "half-saturation at 3x current spend", half_saturation=3.0),
        _simulated("media_5pct", "media cause 5% of new patients", media_share=0.05),
        _simulated("media_50pct", "media cause 50% of new patients", media_share=0.5),
        _simulated("level_shift", "baseline steps up 25% mid-history", level_shift=0.22),
        _simulated("gb_holidays", "English bank holidays, not US ones", holiday_country="GB-ENG"),
        _simulated("hidden_driver", "a demand driver the model is not given", hidden_driver=0.15),
        _simulated("flat_channel", "search spend barely moves", flat_channel=True),
        _simulated("market_sizes", "markets of 30 thousand to 5 million", market_sizes="wide"),
        _simulated("national_flights", "flights in the same weeks everywhere", national_flights=True),
        _simulated("quarterly_budgets", "always-on budgets move by quarter and market", quarterly_budgets=True),
        _simulated("staggered_mail", "mail drops in a different week per market", staggered_mail=True),
        _simulated("spend_pauses", "two national pauses of all media", spend_pauses=True),
        _simulated("media_plan", "the four media-plan shapes together", **MEDIA_PLAN),
    )
}  # fmt: skip


# --- scoring -------------------------------------------------------------------------------


def score(truth: dict, pac: dict[str, tuple[float, float, float]]) -> dict:
    """Median |PAC error| over channels with >= 10% of window spend; interval coverage."""
    chans = {c: v for c, v in truth["channels"].items() if v["pac"] is not None and c in pac}
    total = sum(v["spend"] for v in truth["channels"].values())
    errs = [
        abs(pac[c][0] / v["pac"] - 1)
        for c, v in chans.items()
        if v["spend"] / total >= SHARE_SCORED
    ]
    covered = sum(int(pac[c][1] <= v["pac"] <= pac[c][2]) for c, v in chans.items())
    return {
        "err": float(np.median(errs)) if errs else float("nan"),
        "covered": covered,
        "n": len(chans),
    }


def pac_of(fit) -> dict[str, tuple[float, float, float]]:
    """Channel -> (PAC median, 5%, 95%) of a clearcount fit."""
    return {
        r["channel"]: (r["pac"], r["pac_lo"], r["pac_hi"])
        for r in fit.channel_summary.iter_rows(named=True)
    }


def print_channels(truth: dict, pac: dict[str, tuple[float, float, float]], label: str) -> None:
    total = sum(v["spend"] for v in truth["channels"].values())
    print(f"  {'channel':18s} {'true PAC':>10s} {label + ' PAC [5%, 95%]':>34s} {'error':>7s} "
          f"{'covered':>8s} {'share':>6s}")  # fmt: skip
    for ch, (med, lo, hi) in pac.items():
        t = truth["channels"].get(ch)
        if t is None or t["pac"] is None:
            continue
        print(
            f"  {ch:18s} {t['pac']:10.4g} {med:10.4g} [{lo:10.4g}, {hi:10.4g}]   "
            f"{med / t['pac'] - 1:+7.1%} {str(lo <= t['pac'] <= hi):>8s} "
            f"{t['spend'] / total:6.0%}"
        )


def geo_lift(world) -> list:
    """The world's own geo tests analysed by ``models.geo``, as the pipeline calibrates."""
    from models.geo.analysis import analyze_tests

    lifts = (r.to_lift() for r in analyze_tests(world.panel, world.tests))
    return [m for m in lifts if m is not None]


# --- fits ----------------------------------------------------------------------------------


def oracle_config(oracle, base: MMMConfig) -> tuple[MMMConfig | None, str]:
    """The model configured with the world's true forms; (None, reason) if the model cannot
    state them yet. The config is ``base`` itself when the true forms are its defaults."""
    changes = {}
    try:
        if oracle.adstock != base.adstock.kind or oracle.max_lag != base.adstock.max_lag:
            changes["adstock"] = ADSTOCKS[oracle.adstock](max_lag=oracle.max_lag)
        if oracle.saturation != base.saturation.kind:
            changes["saturation"] = SATURATIONS[oracle.saturation]()
        if oracle.holiday_country != base.holiday_country:
            changes["holiday_country"] = oracle.holiday_country
        return replace(base, **changes), ""
    except (AttributeError, KeyError, TypeError) as exc:
        return None, f"the model cannot be told the true forms yet ({exc})"


def fit_market_level(world, panel, config: MMMConfig, lift: list, label: str) -> dict:
    """Fit the market-level model, print its channel table and return its scores."""
    t0 = time.perf_counter()
    fit = fit_mmm(panel, config, lift)
    wall = time.perf_counter() - t0
    pac = pac_of(fit)
    d = fit.diagnostics
    s = score(world.truth, pac)
    print(f"\n  -- {label} ({len(lift)} lift measurements) --")
    print_channels(world.truth, pac, label.split(",")[0])
    print(
        f"  median |PAC error| {s['err']:.1%}, covered {s['covered']}/{s['n']}; {wall:.0f} s "
        f"wall ({fit.n_geos} markets x {fit.n_weeks} weeks); R-hat {d.max_rhat:.3f}, ESS bulk "
        f"{d.min_ess_bulk:.0f} tail {d.min_ess_tail:.0f}, divergences {d.divergences}, "
        f"converged {d.converged}; 90% PPC coverage {d.ppc_coverage_90:.2f}; holdout MAPE "
        f"{d.holdout_mape:.1%}"
    )
    return {**s, "wall": wall, "converged": d.converged}


def fit_national(world, config: MMMConfig) -> dict:
    """Fit the markets summed into one series (no holdout fit); print and return scores."""
    t0 = time.perf_counter()
    fit = fit_mmm(world.panel.national(), replace(config, holdout_weeks=0))
    wall = time.perf_counter() - t0
    s = score(world.truth, pac_of(fit))
    d = fit.diagnostics
    print(
        f"\n  -- national fit: {wall:.0f} s wall; median |PAC error| {s['err']:.1%}, covered "
        f"{s['covered']}/{s['n']}; R-hat {d.max_rhat:.3f}, ESS bulk {d.min_ess_bulk:.0f}, "
        f"divergences {d.divergences}, converged {d.converged} --"
    )
    return {**s, "wall": wall, "converged": d.converged}


def fit_anchor(world, quick: bool) -> dict | None:
    from pmm_anchor import fit_pymc_marketing

    out = fit_pymc_marketing(world, *((300, 300) if quick else (1000, 1000)))
    if "error" in out:
        print(f"\n  -- pymc-marketing 1.3: {out['error']} --")
        return None
    s = score(world.truth, out["pac"])
    print("\n  -- pymc-marketing 1.3 (dims geo, its defaults, 4 chains, nutpie) --")
    print_channels(world.truth, out["pac"], "pymc-marketing")
    print(
        f"  median |PAC error| {s['err']:.1%}, covered {s['covered']}/{s['n']}; fit "
        f"{out['wall']:.0f} s; R-hat {out['rhat']:.3f}, ESS bulk {out['ess']:.0f}, divergences "
        f"{out['divergences']}, converged {out['converged']}"
    )
    return {**s, "wall": out["wall"], "converged": out["converged"]}


def run_world(spec: WorldSpec, seed: int, config: MMMConfig, args) -> list[dict]:
    """Every fit of one world and seed; the summary rows."""
    redrawn = args.peer_noise_seed is not None
    noise = f", baseline noise redrawn from seed {args.peer_noise_seed}" if redrawn else ""
    print(f"\n=== {spec.name}, seed {seed}: {spec.about}{noise} ===")
    try:
        world = spec.make(seed, noise_seed=args.peer_noise_seed) if redrawn else spec.make(seed)
    except Exception as exc:  # a world that cannot be made is reported, the others still run
        print(f"  -- the world could not be made: {type(exc).__name__}: {exc} --")
        return [{"world": spec.name, "seed": seed, "fit": "(no world)", "r": None,
                 "oracle": None, "oracle_mark": ""}]  # fmt: skip
    rows = []

    def attempt(what: str, run: Callable[[], dict | None]) -> dict | None:
        try:
            return run()
        except Exception as exc:  # keep benchmarking the other fits and worlds
            print(f"\n  -- {what} failed: {type(exc).__name__}: {exc} --")
            return None

    if not args.national_only:
        uncal = attempt(
            "clearcount", lambda: fit_market_level(world, world.panel, config, [], "clearcount")
        )
        oracle_cfg, why_not = oracle_config(world.oracle, config)
        if oracle_cfg == config and not world.oracle.control_names:
            oracle, oracle_mark = uncal, "="
        elif oracle_cfg is None:
            oracle, oracle_mark = None, ""
            print(f"\n  -- oracle: {why_not} --")
        else:
            oracle_mark = ""
            oracle = attempt(
                "oracle",
                lambda: fit_market_level(
                    world, world.oracle_panel(), oracle_cfg, [], "oracle, true forms"
                ),
            )
        fits = [("uncalibrated", uncal)]
        if world.tests and "geo" in args.calibration:
            calibrated = attempt(
                "calibrated",
                lambda: fit_market_level(
                    world, world.panel, config, geo_lift(world), "clearcount, calibrated"
                ),
            )
            fits.append(("calibrated", calibrated))
        for variant, r in fits:
            rows.append(
                {"world": spec.name, "seed": seed, "fit": variant, "r": r, "oracle": oracle,
                 "oracle_mark": oracle_mark}
            )  # fmt: skip
        if args.with_pymc_marketing:
            rows.append(
                {"world": spec.name, "seed": seed, "fit": "pymc-marketing 1.3",
                 "r": attempt("pymc-marketing", lambda: fit_anchor(world, args.quick)),
                 "oracle": oracle, "oracle_mark": oracle_mark}
            )  # fmt: skip
    if (args.national_only or not args.no_national) and world.panel.n_geos > 1:
        rows.append(
            {"world": spec.name, "seed": seed, "fit": "national",
             "r": attempt("national", lambda: fit_national(world, config)), "oracle": None,
             "oracle_mark": ""}
        )  # fmt: skip
    sys.stdout.flush()
    return rows


def bar_met(r: dict, oracle: dict | None) -> str:
    """Whether a market-level fit meets issue 14's bar (``?`` when there is no oracle)."""
    if r is None:
        return "no fit"
    covered = r["covered"] >= r["n"] - 1 and r["converged"]
    if oracle is None:
        return "?" if covered else "no"
    close = r["err"] <= 1.25 * oracle["err"] + 1e-12
    floor = r["err"] <= 0.15 if oracle["err"] <= 0.10 else True
    return "yes" if covered and close and floor else "no"


def print_battery(rows: list[dict], seeds_label: str) -> None:
    print(f"\n=== battery ({seeds_label} seeds) ===")
    head = (
        f"{'world':18s} {'seed':>8s} {'fit':19s} {'error':>7s} {'covered':>8s} {'conv':>5s} "
        f"{'wall s':>7s} | {'oracle':>7s} {'covered':>8s} {'ratio':>6s} | bar"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        r, o = row["r"], row["oracle"]
        left = f"{row['world']:18s} {row['seed']:>8d} {row['fit']:19s}"
        if r is None:
            print(f"{left} {'failed':>7s}")
            continue
        mine = f"{r['err']:7.1%} {r['covered']:>5d}/{r['n']:<2d} {str(r['converged'])[0]:>5s} {r['wall']:7.0f}"
        if row["fit"] == "national":
            print(
                f"{left} {mine} | {'':>7s} {'':>8s} {'':>6s} | {'<= 30 s' if r['wall'] <= 30 else '> 30 s'}"
            )
            continue
        if o is None:
            theirs = f"{'n/a':>7s} {'':>8s} {'':>6s}"
        else:
            ratio = r["err"] / o["err"] if o["err"] > 0 else float("nan")
            theirs = f"{row['oracle_mark'] + format(o['err'], '.1%'):>7s} {o['covered']:>5d}/{o['n']:<2d} {ratio:6.2f}"
        print(f"{left} {mine} | {theirs} | {bar_met(r, o)}")  # fmt: skip


# --- sizes ---------------------------------------------------------------------------------


def size_world(n_geos: int, seed: int = 101):
    """A simulator world of ``n_geos`` DMA markets x 156 weeks x 10 channels whose media budget
    per person is the default world's."""
    reference = simulate_world(WorldConfig()).panel.population.sum()
    cfg = WorldConfig(seed=seed, n_geos=n_geos, geo_type="dma", n_channels=10)
    people = simulate_world(replace(cfg, n_weeks=80)).panel.population.sum()  # same markets
    return simulate_world(replace(cfg, weekly_budget=cfg.weekly_budget * people / reference))


def size_fit(n_geos: int, quick: bool) -> None:
    """Child process of ``--sizes``: fit one size and print its result as JSON."""
    world = size_world(n_geos)
    config = quick_config() if quick else MMMConfig()
    t0 = time.perf_counter()
    fit = fit_mmm(world.panel, config)
    wall = time.perf_counter() - t0
    d = fit.diagnostics
    s = score(world.truth, pac_of(fit))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print("SIZE_RESULT " + json.dumps({
        "n_geos": n_geos, "wall": wall, "peak_mb": peak_mb, "rhat": d.max_rhat,
        "ess": d.min_ess_bulk, "divergences": d.divergences, "converged": d.converged, **s,
        "retries": [n for n in fit.notes if n.startswith("Run ")],
    }))  # fmt: skip


def run_sizes(sizes: Sequence[int], quick: bool) -> None:
    print(
        f"\n=== sizes: DMA markets x 156 weeks x 10 channels, default MMMConfig{' (quick)' if quick else ''} ==="
    )
    print(
        f"{'markets':>8s} {'wall s':>8s} {'peak MB':>8s} {'R-hat':>6s} {'ESS':>6s} {'div':>5s} conv  error  covered"
    )
    for n in sizes:
        cmd = [sys.executable, __file__, "--size-fit", str(n)] + (["--quick"] if quick else [])
        res = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in res.stdout.splitlines() if x.startswith("SIZE_RESULT ")]
        if not line:
            print(f"{n:>8d} failed: {res.stderr[-1500:]}")
            continue
        r = json.loads(line[0][len("SIZE_RESULT ") :])
        print(
            f"{n:>8d} {r['wall']:8.0f} {r['peak_mb']:8.0f} {r['rhat']:6.3f} {r['ess']:6.0f} "
            f"{r['divergences']:>5d} {str(r['converged'])[0]:>4s} {r['err']:6.1%} {r['covered']:>4d}/{r['n']}"
        )
        for note in r["retries"]:
            print(f"{'':>8s} {note}")
        sys.stdout.flush()  # fmt: skip


# --- main ----------------------------------------------------------------------------------


def write_worlds(args) -> None:
    from simulator import write_world

    for name in args.worlds:
        spec = WORLDS[name]
        for seed in args.seeds or (spec.tuning if args.tuning else spec.held_out):
            world = spec.make(seed)
            out = args.write_worlds / f"{name}_{seed}"
            readme = f"# Benchmark world {name}, seed {seed}\n\n{spec.about}.\n"
            write_world(world, out, readme)
            print(f"wrote {out}")


def quick_config() -> MMMConfig:
    return replace(MMMConfig(), draws=300, tune=300, holdout_weeks=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--worlds", nargs="+", choices=list(WORLDS), default=list(WORLDS))
    ap.add_argument("--tuning", action="store_true", help="run the tuning seeds instead")
    ap.add_argument("--seeds", type=int, nargs="+", help="these seeds instead (any world)")
    ap.add_argument("--quick", action="store_true", help="300 draws, no holdout fits")
    ap.add_argument("--calibration", nargs="*", choices=["none", "geo"], default=["none", "geo"])
    ap.add_argument("--no-national", action="store_true")
    ap.add_argument(
        "--no-holdout", action="store_true", help="skip the 13-week holdout fits (not in the bar)"
    )
    ap.add_argument("--national-only", action="store_true")
    ap.add_argument(
        "--adstock",
        choices=list(ADSTOCKS),
        help="fit clearcount with this carry-over instead of the default (a candidate default: "
        "the oracle keeps each world's true form)",
    )
    ap.add_argument(
        "--peer-noise-seed", type=int, help="redraw the peer worlds' baseline noise from this seed"
    )
    ap.add_argument("--with-pymc-marketing", action="store_true")
    ap.add_argument(
        "--sizes",
        nargs="*",
        type=int,
        help="fit time, memory and convergence at "
        f"these numbers of markets (default {' '.join(map(str, SIZES))})",
    )
    ap.add_argument("--size-fit", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--list", action="store_true", help="list the worlds and their seeds")
    ap.add_argument(
        "--write-worlds",
        type=Path,
        metavar="DIR",
        help="write each world and seed as a landing folder DIR/<world>_<seed> "
        "(feeds and truth.json, for clearcount refresh) instead of fitting",
    )
    args = ap.parse_args(argv)
    if args.size_fit:
        size_fit(args.size_fit, args.quick)
        return 0
    if args.list:
        for spec in WORLDS.values():
            print(f"{spec.name:18s} tuning {spec.tuning} held-out {spec.held_out}: {spec.about}")
        return 0
    if args.write_worlds:
        write_worlds(args)
        return 0
    if args.sizes is not None:
        run_sizes(args.sizes or SIZES, args.quick)
        return 0
    config = quick_config() if args.quick else MMMConfig()
    if args.no_holdout:
        config = replace(config, holdout_weeks=0)
    if args.adstock:
        config = replace(config, adstock=ADSTOCKS[args.adstock]())
    if args.peer_noise_seed is not None and not all(n.startswith("peer_") for n in args.worlds):
        ap.error("--peer-noise-seed redraws the noise of peer_* worlds only")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for name in args.worlds:
        spec = WORLDS[name]
        seeds = args.seeds or (spec.tuning if args.tuning else spec.held_out)
        for seed in seeds:
            rows += run_world(spec, seed, config, args)
    label = "given" if args.seeds else ("tuning" if args.tuning else "held-out")
    print_battery(rows, label + (", quick" if args.quick else ""))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
