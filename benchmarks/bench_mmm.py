"""Benchmark the clearcount MMM against simulated worlds with known truth.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_mmm.py                 # sample + 4 seeds
    .venv/bin/python benchmarks/bench_mmm.py --seeds 20240601 --hard-seeds
    .venv/bin/python benchmarks/bench_mmm.py --national-only            # national fits only
    .venv/bin/python benchmarks/bench_mmm.py --seeds 20240601 --with-pymc-marketing

Each world is fitted twice by default (``--calibration none geo``): uncalibrated, and calibrated
with the lifts that ``models.geo`` measures from the world's own geo tests, which is what the
pipeline does when the experiments feed has tests. Per fit it prints, for every channel: true
PAC, clearcount PAC [5%, 95%], relative error, whether the interval covers the truth, and
last-touch PAC; then wall time, R-hat, ESS, divergences, posterior predictive coverage and
holdout MAPE. Then the national fit (markets summed). The bar: median |PAC error| <= 15% over
channels with >= 10% of spend, the 90% interval covering the true PAC for >= 5 of 6 channels,
converged; a national fit converged within 30 s.

``--with-pymc-marketing`` fits pymc-marketing 0.19's MMM on the first seed's data, in a throwaway
venv (``/tmp/pmm-venv``, created with uv) in a subprocess, because its pins conflict with ours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.mmm import MMMConfig, fit_mmm  # noqa: E402
from models.mmm.diagnostics import MAX_RHAT, MIN_ESS  # noqa: E402
from simulator import WorldConfig, simulate_world  # noqa: E402

SAMPLE_SEED = 20240601
DEFAULT_SEEDS = (SAMPLE_SEED, 11, 23, 37)
DEFAULT_HARD = (53,)
PMM_VENV = Path("/tmp/pmm-venv")


def world_config(seed: int, hard: bool) -> WorldConfig:
    if hard:
        return WorldConfig(seed=seed, correlated_flighting=True, effect_scale=0.6)
    return WorldConfig(seed=seed)


def score(truth: dict, pac: dict[str, tuple[float, float, float]]) -> dict:
    """Median |error| over channels with >= 10% of spend, and interval coverage count."""
    total = sum(v["spend"] for v in truth["channels"].values())
    errs, covered = [], 0
    for ch, (med, lo, hi) in pac.items():
        t = truth["channels"][ch]
        if t["spend"] / total >= 0.10:
            errs.append(abs(med / t["pac"] - 1))
        covered += int(lo <= t["pac"] <= hi)
    return {"median_abs_err": float(np.median(errs)), "covered": covered, "n": len(pac)}


def pac_of(fit) -> dict[str, tuple[float, float, float]]:
    """Channel -> (PAC median, 5%, 95%) of a fit."""
    return {
        r["channel"]: (r["pac"], r["pac_lo"], r["pac_hi"])
        for r in fit.channel_summary.iter_rows(named=True)
    }


def print_table(
    truth: dict, pac: dict[str, tuple[float, float, float]], label: str = "clearcount"
) -> None:
    print(
        f"  {'channel':12s} {'true PAC':>9s} {label + ' PAC [5%, 95%]':>30s} {'error':>7s} "
        f"{'covered':>8s} {'last-touch':>10s} {'share':>6s}"
    )
    total = sum(v["spend"] for v in truth["channels"].values())
    for ch, (med, lo, hi) in pac.items():
        t = truth["channels"][ch]
        print(
            f"  {ch:12s} {t['pac']:9.0f} {med:9.0f} [{lo:8.0f}, {hi:8.0f}]   "
            f"{med / t['pac'] - 1:+7.1%} {str(lo <= t['pac'] <= hi):>8s} "
            f"{t['last_touch_pac']:10.0f} {t['spend'] / total:6.0%}"
        )


def true_lift(world, rel_halfwidth: float = 0.25) -> list:
    """The simulator's true geo-test lifts as calibration input (90% interval +-25%)."""
    from datetime import date

    from models.geo.types import LiftMeasurement

    out = []
    for t in world.truth["tests"].values():
        inc = float(t["incremental_new_patients"])
        out.append(
            LiftMeasurement(
                channel=t["channel"],
                geos=tuple(t["treatment_geos"]),
                start_week=date.fromisoformat(t["start_week"]),
                end_week=date.fromisoformat(t["end_week"]),
                incremental_new_patients=inc,
                lo=inc * (1 - rel_halfwidth),
                hi=inc * (1 + rel_halfwidth),
                incremental_spend=float(t["incremental_spend"]),
                design=t["design"],
            )
        )
    return out


def geo_lift(world) -> list:
    """The world's own geo tests analysed by ``models.geo``, as the pipeline calibrates."""
    from models.geo.analysis import analyze_tests

    lifts = (r.to_lift() for r in analyze_tests(world.panel, world.tests))
    return [m for m in lifts if m is not None]


CALIBRATIONS = {
    "none": ("uncalibrated", lambda world: []),
    "geo": ("calibrated with its own geo-test results, as the pipeline does", geo_lift),
    "true": ("calibrated with the simulator's true geo-test lifts (+-25%)", true_lift),
}


def fit_geo(world, seed: int, hard: bool, config: MMMConfig, calibration: str) -> dict:
    """Fit the market-level model, print its table and return its scores."""
    label, make_lift = CALIBRATIONS[calibration]
    lift = make_lift(world)
    t0, c0 = time.perf_counter(), time.process_time()
    fit = fit_mmm(world.panel, config, lift)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pac = pac_of(fit)
    d = fit.diagnostics
    s = score(world.truth, pac)
    print(
        f"\n=== seed {seed}{' (hard: correlated flighting, effects x0.6)' if hard else ''}, "
        f"{label} ({len(lift)} lift measurements) ==="
    )
    print_table(world.truth, pac)
    lt = {c: (v["last_touch_pac"],) * 3 for c, v in world.truth["channels"].items()}
    print(
        f"  clearcount: median |PAC error| {s['median_abs_err']:.1%} (channels >= 10% of spend), "
        f"covered {s['covered']}/{s['n']}; last-touch median |error| "
        f"{score(world.truth, lt)['median_abs_err']:.1%}"
    )
    print(
        f"  geo fit: {wall:.0f} s wall, {cpu:.0f} s CPU (sampling incl. compile "
        f"{fit.sampling_seconds:.0f} s wall; holdout fit included), {fit.n_geos} markets x "
        f"{fit.n_weeks} weeks; R-hat {d.max_rhat:.3f}, ESS bulk {d.min_ess_bulk:.0f} tail "
        f"{d.min_ess_tail:.0f}, divergences {d.divergences}, converged {d.converged}; 90% PPC "
        f"coverage {d.ppc_coverage_90:.2f}; holdout MAPE ({d.holdout_weeks} wk) "
        f"{d.holdout_mape:.1%}"
    )
    return {"fit": f"geo, {calibration}", "wall": wall, "cpu": cpu, **s, "converged": d.converged}


def fit_national(world, config: MMMConfig) -> dict:
    """Fit the markets summed into one series (no holdout fit), print and return its scores."""
    from dataclasses import replace

    t0, c0 = time.perf_counter(), time.process_time()
    fit = fit_mmm(world.panel.national(), replace(config, holdout_weeks=0))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pac = pac_of(fit)
    s = score(world.truth, pac)
    d = fit.diagnostics
    print(
        f"  national fit: {wall:.0f} s wall, {cpu:.0f} s CPU (sampling incl. compile "
        f"{fit.sampling_seconds:.0f} s); median |PAC error| {s['median_abs_err']:.1%}, "
        f"covered {s['covered']}/{s['n']}; R-hat {d.max_rhat:.3f}, ESS bulk "
        f"{d.min_ess_bulk:.0f} tail {d.min_ess_tail:.0f}, divergences {d.divergences}"
    )
    return {"fit": "national", "wall": wall, "cpu": cpu, **s, "converged": d.converged}


PMM_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
from pymc_marketing.mmm.multidimensional import MMM

d = np.load(sys.argv[1], allow_pickle=True)
spend, y, weeks, geos, channels = d["spend"], d["y"], d["weeks"], list(d["geos"]), list(d["channels"])
window = int(d["window"])
rows = []
for g, geo in enumerate(geos):
    for w, wk in enumerate(weeks):
        rows.append({"date": pd.Timestamp(wk), "geo": geo, "y": float(y[g, w]),
                     **{c: float(spend[g, w, i]) for i, c in enumerate(channels)}})
df = pd.DataFrame(rows)
mmm = MMM(date_column="date", target_column="y", channel_columns=channels, dims=("geo",),
          adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(),
          yearly_seasonality=2)
t0 = time.perf_counter()
mmm.fit(X=df.drop(columns="y"), y=df["y"], nuts_sampler="nutpie", chains=2, cores=2,
        random_seed=1, progressbar=False)
wall = time.perf_counter() - t0
import pymc as pm
mmm.add_original_scale_contribution_variable(var=["channel_contribution"])
post = pm.compute_deterministics(
    mmm.idata.posterior, var_names=["channel_contribution_original_scale"], model=mmm.model,
    merge_dataset=False, progressbar=False,
)["channel_contribution_original_scale"]
post = post.transpose("chain", "draw", "date", "geo", "channel")
c = post.values.reshape(-1, *post.shape[2:])  # (n, W, G, C)
inc = c[:, -window:].sum(axis=(1, 2))
ws = spend[:, -window:].sum(axis=(0, 1))
pac = ws[None, :] / inc
import arviz as az
summ = az.summary(mmm.idata, var_names=["saturation_beta", "adstock_alpha", "saturation_lam"])
div = int(mmm.idata.sample_stats["diverging"].values.sum())
out = {"wall": wall, "rhat": float(summ["r_hat"].max()), "ess": float(summ["ess_bulk"].min()),
       "divergences": div,
       "pac": {ch: [float(np.percentile(pac[:, i], q)) for q in (50, 5, 95)]
               for i, ch in enumerate(channels)}}
print("PMM_RESULT " + json.dumps(out))
"""


def run_pymc_marketing(seed: int, hard: bool = False) -> dict | None:
    """Fit pymc-marketing 0.19 (geo MMM, documented defaults) in a throwaway venv; print its
    table and return its scores (None if it failed). Convergence is judged on its channel
    parameters (saturation beta and lambda, adstock alpha) by the same thresholds."""
    world = simulate_world(world_config(seed, hard))
    py = PMM_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run(["uv", "venv", "--python", "3.11", str(PMM_VENV)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "--python", str(py), "pymc-marketing==0.19.*", "nutpie"],
            check=True,
        )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "world.npz"
        p = world.panel
        np.savez(
            data,
            spend=p.spend,
            y=p.new_patients,
            weeks=p.weeks.astype("datetime64[D]").astype(str),
            geos=np.array(p.geos),
            channels=np.array(p.channels),
            window=world.config.window_weeks,
        )
        script = Path(tmp) / "pmm.py"
        script.write_text(PMM_SCRIPT)
        t0 = time.perf_counter()
        res = subprocess.run(
            [str(py), str(script), str(data)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        wall = time.perf_counter() - t0
    line = [x for x in res.stdout.splitlines() if x.startswith("PMM_RESULT ")]
    if not line:
        print(f"\npymc-marketing failed ({wall:.0f} s):\n{res.stderr[-3000:]}")
        return None
    out = json.loads(line[0][len("PMM_RESULT ") :])
    pac = {ch: tuple(v) for ch, v in out["pac"].items()}
    s = score(world.truth, pac)
    print(f"\n=== pymc-marketing 0.19 geo MMM (dims=('geo',), defaults, nutpie), seed {seed} ===")
    print_table(world.truth, pac, label="pymc-marketing")
    print(
        f"  pymc-marketing: median |PAC error| {s['median_abs_err']:.1%}, covered "
        f"{s['covered']}/{s['n']}; fit {out['wall']:.0f} s ({wall:.0f} s with data prep and "
        f"imports); max R-hat {out['rhat']:.3f}, min ESS bulk {out['ess']:.0f}, divergences "
        f"{out['divergences']}"
    )
    converged = out["rhat"] <= MAX_RHAT and out["ess"] >= MIN_ESS and out["divergences"] == 0
    return {"fit": "pymc-marketing", "wall": out["wall"], **s, "converged": converged}


def print_side_by_side(seed: int, ours: dict | None, theirs: dict | None) -> None:
    """clearcount's uncalibrated geo fit and pymc-marketing's geo MMM on the same world."""
    print(f"\n=== side by side, seed {seed} (same data, same run) ===")
    print(f"  {'model':28s} {'wall':>7s} {'median |PAC error|':>19s} {'covered':>8s} converged")
    for label, r in (("clearcount (uncalibrated)", ours), ("pymc-marketing 0.19", theirs)):
        if r is None:
            print(f"  {label:28s} {'no result':>7s}")
            continue
        print(
            f"  {label:28s} {r['wall']:6.0f}s {r['median_abs_err']:19.1%} "
            f"{r['covered']:>5d}/{r['n']} {r['converged']}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=list(DEFAULT_SEEDS))
    ap.add_argument("--hard-seeds", type=int, nargs="*", default=list(DEFAULT_HARD))
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--no-national", action="store_true")
    ap.add_argument("--national-only", action="store_true", help="only the national fits")
    ap.add_argument("--with-pymc-marketing", action="store_true")
    ap.add_argument(
        "--only-pymc-marketing", action="store_true", help="skip clearcount fits (first seed)"
    )
    ap.add_argument(
        "--calibration",
        nargs="*",
        choices=list(CALIBRATIONS),
        default=["none", "geo"],
        help="fits per world: none (uncalibrated), geo (its own geo-test results, as the "
        "pipeline does), true (the simulator's true lifts)",
    )
    args = ap.parse_args(argv)
    base = MMMConfig()
    from dataclasses import replace

    config = replace(base, draws=args.draws or base.draws, tune=args.tune or base.tune)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t0 = time.perf_counter()
    import arviz  # noqa: F401
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    print(f"library imports: {time.perf_counter() - t0:.0f} s (not counted in fit times)")
    results = []
    if args.only_pymc_marketing:
        run_pymc_marketing(args.seeds[0] if args.seeds else SAMPLE_SEED)
        return 0
    worlds = [(s, False) for s in args.seeds] + [(s, True) for s in args.hard_seeds]
    for seed, hard in worlds:
        world = simulate_world(world_config(seed, hard))
        fits = [] if args.national_only else [("geo", c) for c in args.calibration]
        if args.national_only or not args.no_national:
            fits.append(("national", None))
        for kind, calibration in fits:
            try:
                if kind == "geo":
                    r = fit_geo(world, seed, hard, config, calibration)
                else:
                    if args.national_only:
                        print(f"\n=== seed {seed}{' hard' if hard else ''} ===")
                    r = fit_national(world, config)
            except Exception as exc:  # keep benchmarking the other seeds
                print(f"\n=== seed {seed}: failed with {type(exc).__name__}: {exc} ===")
                continue
            results.append({**r, "seed": seed, "hard": hard})
            sys.stdout.flush()
    print("\n=== summary ===")
    for r in results:
        ok = r["median_abs_err"] <= 0.15 and r["covered"] >= r["n"] - 1 and r["converged"]
        if r["fit"] == "national":
            ok = r["converged"] and r["wall"] <= 30
        print(
            f"  seed {r['seed']}{' hard' if r['hard'] else ''} ({r['fit']}): median |err| "
            f"{r['median_abs_err']:.1%}, covered {r['covered']}/{r['n']}, converged "
            f"{r['converged']}, {r['wall']:.0f} s wall / {r['cpu']:.0f} s CPU"
            + f" -> {'meets the bar' if ok else 'MISSES the bar'}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.with_pymc_marketing and worlds:
        seed, hard = worlds[0]
        ours = next((r for r in results if r["seed"] == seed and r["fit"] == "geo, none"), None)
        print_side_by_side(seed, ours, run_pymc_marketing(seed, hard))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
