"""Validity and speed study of the geo-test analysis and design, on simulator worlds.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_geo.py [--quick]`` (about 2-3 minutes;
``--quick`` runs a fifth of the placebo and injection tests).

(a) A/A: placebo tests with no effect on 5 simulator worlds and 1 hard world (random treatment sets of 2-6 markets, random 4-10 week
    windows in the history before any real test): share with p < 0.10 should lie in
    [0.05, 0.15].
(b) Injected effects: the same placebo tests with new patients of the treatment markets in the
    test weeks thinned (holdout: each patient kept with probability 1 - lift) or augmented
    (scale-up: Poisson(lift x observed) added); the true effect is the realised number of removed
    or added patients. Coverage of the 90% interval (bar: >= 0.85) and power (p < 0.10) per
    lift.
(c) The committed sample's world and four other seeds: does each real test's 90% interval cover
    its true incremental new patients (truth.json definition)?
(d) Timings: ``design-test`` (the CLI body) for 24 markets and an 8-week test; analysis of all
    tests of the sample warehouse; wall and CPU seconds.
(e) Robustness: A/A size and coverage of a 10% lift on 8-market/80-week and 40-market/104-week
    worlds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.geo.analysis import analyze_test, analyze_tests  # noqa: E402
from models.geo.types import GeoTest  # noqa: E402
from simulator import WorldConfig, simulate_world  # noqa: E402

SAMPLE_SEED = WorldConfig().seed
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
SAMPLE_WAREHOUSE = Path(tempfile.mkdtemp(prefix="bench_geo_")) / "warehouse.duckdb"
OTHER_SEEDS = (1, 2, 3, 4)
STUDY_SEEDS = (101, 102, 103, 104, 105)
LIFTS = (0.02, 0.05, 0.10, 0.20)


def week(panel, i: int) -> date:
    return panel.weeks[i].astype(object)


def random_placebo(rng: np.random.Generator, world, channel: str) -> GeoTest:
    """A random test before every real test of the world."""
    panel = world.panel
    first_real = min((panel.weeks.tolist().index(np.datetime64(t.start_week, "D")))
                     for t in world.tests)  # fmt: skip
    length = int(rng.integers(4, 11))
    start = int(rng.integers(20, first_real - length - 1))
    k = int(rng.integers(2, 7))
    treated = tuple(sorted(rng.choice(panel.geos, size=k, replace=False).tolist()))
    design = "holdout" if rng.random() < 0.5 else "scale_up"
    return GeoTest(f"placebo_{start}_{k}", channel, design, week(panel, start),
                   week(panel, start + length - 1), treated)  # fmt: skip


def inject(rng: np.random.Generator, world, test: GeoTest, lift: float):
    """Panel with the effect injected, and the realised effect (new patients, positive)."""
    panel = world.panel
    gi = [panel.geos.index(g) for g in test.treatment_geos]
    w0 = panel.weeks.tolist().index(np.datetime64(test.start_week, "D"))
    w1 = panel.weeks.tolist().index(np.datetime64(test.end_week, "D")) + 1
    y = panel.new_patients.copy()
    block = y[np.ix_(gi, range(w0, w1))]
    if test.design == "holdout":
        kept = rng.binomial(block.astype(np.int64), 1.0 - lift)
        effect = float((block - kept).sum())
        y[np.ix_(gi, range(w0, w1))] = kept
    else:
        added = rng.poisson(lift * block)
        effect = float(added.sum())
        y[np.ix_(gi, range(w0, w1))] = block + added
    return replace(panel, new_patients=y), effect


def study(n_aa: int, n_per_lift: int) -> dict:
    rng = np.random.default_rng(7)
    worlds = [simulate_world(WorldConfig(seed=s)) for s in STUDY_SEEDS]
    # one hard world: flights of all channels share a national calendar, weaker effects
    worlds.append(
        simulate_world(WorldConfig(seed=106, correlated_flighting=True, effect_scale=0.6))
    )
    out: dict = {"aa": [], "inj": {lift: [] for lift in LIFTS}}
    for i in range(n_aa):
        world = worlds[i % len(worlds)]
        channel = world.panel.channels[i % world.panel.n_channels]
        test = random_placebo(rng, world, channel)
        r = analyze_test(world.panel, test, world.tests)
        if r.ok:
            out["aa"].append((r.p_value, r.incremental_new_patients_lo <= 0
                              <= r.incremental_new_patients_hi))  # fmt: skip
    for lift in LIFTS:
        for i in range(n_per_lift):
            world = worlds[i % len(worlds)]
            test = random_placebo(rng, world, world.panel.channels[i % world.panel.n_channels])
            panel, effect = inject(rng, world, test, lift)
            r = analyze_test(panel, test, world.tests)
            if r.ok:
                covered = r.incremental_new_patients_lo <= effect <= r.incremental_new_patients_hi
                out["inj"][lift].append((r.p_value, covered, r.incremental_new_patients - effect))
    return out


def build_sample_warehouse(path: Path) -> None:
    """The committed landing files of data/sample through the guard, ingest and panel."""
    from pipelines.feeds import FEED_ORDER
    from pipelines.ingest import load_feed
    from pipelines.panel import build_panel_tables
    from pipelines.warehouse import apply_schema, connect

    conn = connect(path)
    apply_schema(conn)
    for feed in FEED_ORDER:
        load_feed(conn, feed, SAMPLE_DIR)
    build_panel_tables(conn)
    conn.close()


def analyse_warehouse(path: Path) -> list:
    """Every test of the warehouse's experiments feed, as the geo_test_results asset does."""
    from models.geo.analysis import parse_experiments
    from pipelines.panel import read_experiments, read_panel
    from pipelines.warehouse import connect

    conn = connect(path, read_only=True)
    panel = read_panel(conn)
    tests, failed = parse_experiments(read_experiments(conn))
    conn.close()
    return failed + analyze_tests(panel, tests)


def committed_sample() -> list[tuple]:
    """Results on the committed sample (read through the warehouse) with truth.json."""
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    results = analyse_warehouse(SAMPLE_WAREHOUSE)
    return [("sample", r, truth["tests"][r.test_id]["incremental_new_patients"]) for r in results]


def robustness(n: int) -> list[tuple]:
    """A/A size and coverage of a 10% injected lift on smaller and larger worlds."""
    rows = []
    for cfg in (dict(n_geos=8, n_weeks=80), dict(n_geos=40, n_weeks=104)):
        worlds = [simulate_world(WorldConfig(seed=s, **cfg)) for s in (201, 202, 203)]
        rng = np.random.default_rng(3)
        ps, cov = [], []
        for i in range(n):
            world = worlds[i % len(worlds)]
            test = random_placebo(rng, world, world.panel.channels[i % world.panel.n_channels])
            if len(test.treatment_geos) > world.panel.n_geos - 2:
                continue
            r = analyze_test(world.panel, test, world.tests)
            if not r.ok:
                continue
            ps.append(r.p_value)
            panel, effect = inject(rng, world, test, 0.10)
            r2 = analyze_test(panel, test, world.tests)
            cov.append(r2.incremental_new_patients_lo <= effect <= r2.incremental_new_patients_hi)
        rows.append((cfg, len(ps), float(np.mean(np.array(ps) < 0.10)), float(np.mean(cov))))
    return rows


def real_tests() -> list[tuple]:
    rows = committed_sample()
    for seed in (SAMPLE_SEED, *OTHER_SEEDS):
        world = simulate_world(WorldConfig(seed=seed))
        for r in analyze_tests(world.panel, world.tests):
            truth = world.truth["tests"][r.test_id]["incremental_new_patients"]
            rows.append((seed, r, truth))
    return rows


def timings() -> dict:
    """Wall and CPU seconds of design-test (the CLI body on the sample warehouse: 24 markets,
    8 weeks) and of the analysis of all tests (warehouse read included), plus 10 tests."""
    import argparse
    import contextlib
    import io
    import os

    from pipelines.commands.design_test import run

    os.environ["CLEARCOUNT_WAREHOUSE"] = str(SAMPLE_WAREHOUSE)
    out = io.StringIO()
    w0, c0 = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        rc = run(argparse.Namespace(channel="search", weeks=8, treated=None), out=out)
    t_design = (time.perf_counter() - w0, time.process_time() - c0)
    assert rc == 0
    w0, c0 = time.perf_counter(), time.process_time()
    analyse_warehouse(SAMPLE_WAREHOUSE)
    t_analysis = (time.perf_counter() - w0, time.process_time() - c0)
    world = simulate_world(WorldConfig(seed=SAMPLE_SEED))
    tests = list(world.tests)
    start = world.panel.n_weeks - 60
    for j in range(8):
        g = world.panel.geos[2 * j : 2 * j + 2]
        tests.append(GeoTest(f"extra_{j}", world.panel.channels[j % 6], "holdout",
                             week(world.panel, start - 6 * j), week(world.panel, start - 6 * j + 5),
                             tuple(g)))  # fmt: skip
    w0, c0 = time.perf_counter(), time.process_time()
    analyze_tests(world.panel, tests)
    t_ten = (time.perf_counter() - w0, time.process_time() - c0)
    return {"design": t_design, "analysis": t_analysis, "analysis10": t_ten, "text": out.getvalue()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_aa, n_lift = (50, 15) if args.quick else (360, 72)
    t0 = time.perf_counter()
    build_sample_warehouse(SAMPLE_WAREHOUSE)
    res = study(n_aa, n_lift)
    aa = np.array([p for p, _ in res["aa"]])
    print(
        f"\n(a) A/A placebo tests: n={aa.size}, share p<0.10 = {np.mean(aa < 0.10):.3f} "
        f"(bar 0.05-0.15); 90% interval covers 0: {np.mean([c for _, c in res['aa']]):.3f}"
    )
    print("\n(b) injected effects        n  coverage90  power(p<0.10)  mean error")
    all_cov = []
    for lift, rows in res["inj"].items():
        cov = np.mean([c for _, c, _ in rows])
        power = np.mean([p < 0.10 for p, _, _ in rows])
        err = np.mean([e for _, _, e in rows])
        all_cov += [c for _, c, _ in rows]
        print(
            f"    lift {lift:>5.0%}           {len(rows):>4d}  {cov:>9.3f}  {power:>12.3f}  {err:>10.1f}"
        )
    print(f"    all                  {len(all_cov):>4d}  {np.mean(all_cov):>9.3f}   (bar >= 0.85)")
    print("\n(c) real tests: seed  test                  true    estimate  [90% interval]  covered")
    n_cov = 0
    rows = real_tests()
    for seed, r, truth in rows:
        if not r.ok:
            print(f"    {seed!s:>9}  {r.test_id:<20s} not analysed: {r.message}")
            continue
        ok = r.incremental_new_patients_lo <= truth <= r.incremental_new_patients_hi
        n_cov += ok
        print(
            f"    {seed!s:>9}  {r.test_id:<20s} {truth:>7.1f}  {r.incremental_new_patients:>8.1f}  "
            f"[{r.incremental_new_patients_lo:>7.1f}, {r.incremental_new_patients_hi:>7.1f}]  "
            f"{'yes' if ok else 'NO'}  ({r.method})"
        )
    print(f"    covered {n_cov} of {len(rows)}")
    print("\n(e) other world sizes: markets x weeks, n, A/A share p<0.10, coverage of a 10% lift")
    for cfg, n, size, cov in robustness(40 if args.quick else 150):
        print(f"    {cfg['n_geos']:>3d} x {cfg['n_weeks']:>3d}  {n:>4d}  {size:.3f}  {cov:.3f}")
    t = timings()
    print("\n(d) timings (wall s / CPU s; the machine is shared, so wall > CPU under load)")
    print(
        f"    design-test search, 8 weeks, 24 markets: {t['design'][0]:.1f} / "
        f"{t['design'][1]:.1f} (bar 60)"
    )
    print(
        f"    analysis of all tests of the sample warehouse: {t['analysis'][0]:.2f} / "
        f"{t['analysis'][1]:.2f} (bar 30); 10 tests on one panel: {t['analysis10'][0]:.2f} / "
        f"{t['analysis10'][1]:.2f}"
    )
    print("\n" + t["text"])
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
