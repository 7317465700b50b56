"""Validity, width and speed of the geo-test analysis, on simulator worlds of every shape.

Run: ``nice -n 15 .venv/bin/python benchmarks/bench_geo.py [--quick]`` (about 10 minutes on a
shared machine; ``--quick`` runs a quarter of the placebo tests).

One table, one row per world type. Each row draws placebo tests (random treatment markets and
weeks, before any real test of the world) and analyses each twice: as it is (A/A, no effect:
the share with p < 0.10 should lie in [0.05, 0.15]) and with an effect injected into the
treatment markets' test weeks (holdout: each new patient kept with probability 1 - lift;
scale-up: Poisson(lift x observed) added), whose realised size the 90% interval should cover
(bar: >= 0.85). ``width/floor`` is the median interval width over the *noise floor*: the width
an oracle who knew the treated markets' expected new patients would get from their own
negative-binomial noise in the test weeks alone, ``2 x 1.645 x sqrt(sum(y + y^2 / dispersion))``
over the treated test cells. No estimator beats it; the ratio says what the counterfactual and
the inference add. ``open`` is the share of intervals that stay open-ended.

World types:
    sample      24 markets x 156 weeks (5 seeds, and a hard world: correlated flighting, weaker
                effects), 2-6 treated, 4-10 week tests, lifts 2, 5, 10, 20%.
    small       8 markets x 80 weeks, 2-6 treated, 10% lift.
    large       40 markets x 104 weeks, 2-6 treated, 10% lift.
    short       100 markets, only 13 weeks before the test (windows cut from 80-week worlds),
                2-6 week tests, 2-20 treated, 10% lift.
    many        114 markets, 48 weeks before a 4-week test, 2-12 treated, 10% lift.
    few         40 DMA (TV-size) markets x 156 weeks, 2 treated, 2-week tests, 5% lift.
    carry-over  sample-shaped worlds; holdouts whose loss goes on for 6 weeks after the test
                (halving each week); the row judges the effect *with carry-over* (test weeks plus
                8 weeks after) against the realised total loss.

Below the table: the real tests of the committed sample and four other seeds against their
truth.json, and timings of design-test and of the analysis of the sample warehouse.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.geo.analysis import analyze_test, analyze_tests  # noqa: E402
from models.geo.types import GeoTest  # noqa: E402
from models.panel import Panel  # noqa: E402
from simulator import WorldConfig, simulate_world  # noqa: E402

SAMPLE_SEED = WorldConfig().seed
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
SAMPLE_WAREHOUSE = Path(tempfile.mkdtemp(prefix="bench_geo_")) / "warehouse.duckdb"
OTHER_SEEDS = (1, 2, 3, 4)
CARRY_DECAY = (0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625)
"""Loss in the weeks after a carry-over holdout, as shares of the test weeks' lift."""


@dataclass(frozen=True)
class WorldType:
    """A row of the table: worlds and how placebo tests are drawn on them.

    Attributes:
        name: row label.
        configs: the simulator worlds (tests are drawn on them in turn).
        n_pre: weeks kept before the test (the panel is cut to them), or None for the whole
            history before the test.
        n_post: range of test lengths in weeks (inclusive).
        treated: range of treatment markets (inclusive).
        lifts: injected effects (a placebo test per lift and draw).
        n_draws: placebo tests per lift (and A/A tests) in a full run.
        carryover: judge the effect with carry-over (holdouts whose loss decays after the test).
    """

    name: str
    configs: tuple[WorldConfig, ...]
    n_pre: int | None
    n_post: tuple[int, int]
    treated: tuple[int, int]
    lifts: tuple[float, ...]
    n_draws: int
    carryover: bool = False


def world_types() -> list[WorldType]:
    sample = tuple(WorldConfig(seed=s) for s in (101, 102, 103, 104, 105)) + (
        WorldConfig(seed=106, correlated_flighting=True, effect_scale=0.6),
    )
    return [
        WorldType("sample", sample, None, (4, 10), (2, 6), (0.02, 0.05, 0.10, 0.20), 100),
        WorldType(
            "small",
            tuple(WorldConfig(seed=s, n_geos=8, n_weeks=80) for s in (201, 202, 203)),
            None, (4, 10), (2, 6), (0.10,), 100,
        ),
        WorldType(
            "large",
            tuple(WorldConfig(seed=s, n_geos=40, n_weeks=104) for s in (201, 202, 203)),
            None, (4, 10), (2, 6), (0.10,), 100,
        ),
        WorldType(
            "short",
            tuple(WorldConfig(seed=s, n_geos=100, n_weeks=80) for s in (301, 302, 303)),
            13, (2, 6), (2, 20), (0.10,), 150,
        ),
        WorldType(
            "many",
            tuple(WorldConfig(seed=s, n_geos=114, n_weeks=100) for s in (311, 312)),
            48, (4, 4), (2, 12), (0.10,), 120,
        ),
        WorldType(
            "few",
            tuple(WorldConfig(seed=s, n_geos=40, geo_type="dma") for s in (321, 322, 323)),
            None, (2, 2), (2, 2), (0.05,), 150,
        ),
        WorldType("carry-over", sample[:5], None, (4, 8), (3, 6), (0.15,), 60, carryover=True),
    ]  # fmt: skip


@dataclass
class Row:
    """Results of one world type."""

    aa: list[bool] = field(default_factory=list)  # A/A test rejected "no effect"
    covered: list[bool] = field(default_factory=list)
    width: list[float] = field(default_factory=list)
    open: list[bool] = field(default_factory=list)
    power: list[bool] = field(default_factory=list)
    methods: Counter = field(default_factory=Counter)


def cut(panel: Panel, first: int, end: int) -> Panel:
    """The panel's weeks ``first`` to ``end - 1``."""
    weeks = slice(first, end)
    return replace(panel, weeks=panel.weeks[weeks], spend=panel.spend[:, weeks],
                   new_patients=panel.new_patients[:, weeks], controls=panel.controls[:, weeks],
                   observed=panel.observed[:, weeks])  # fmt: skip


def week(panel: Panel, i: int) -> date:
    return panel.weeks[i].astype(object)


def draw_test(
    rng: np.random.Generator, wt: WorldType, world, i: int
) -> tuple[Panel, GeoTest, list]:
    """A random placebo test before every real test of the world: (panel, test, other tests)."""
    panel = world.panel
    first_real = min(int(np.flatnonzero(panel.weeks == np.datetime64(t.start_week, "D"))[0])
                     for t in world.tests)  # fmt: skip
    length = int(rng.integers(wt.n_post[0], wt.n_post[1] + 1))
    room = 9 if wt.carryover else 1  # weeks kept free after the test
    others = list(world.tests)
    if wt.n_pre is None:
        start = int(rng.integers(20, first_real - length - room))
    else:
        first = int(rng.integers(0, first_real - wt.n_pre - length - room + 1))
        panel = cut(panel, first, first + wt.n_pre + length + (room - 1))
        start, others = wt.n_pre, []
    k = int(rng.integers(wt.treated[0], wt.treated[1] + 1))
    treated = tuple(sorted(rng.choice(panel.geos, size=k, replace=False).tolist()))
    design = "holdout" if wt.carryover or rng.random() < 0.5 else "scale_up"
    channel = panel.channels[i % panel.n_channels]
    test = GeoTest(f"placebo_{i}", channel, design, week(panel, start),
                   week(panel, start + length - 1), treated)  # fmt: skip
    return panel, test, others


def inject(rng: np.random.Generator, panel: Panel, test: GeoTest, lift: float, after=()) -> tuple:
    """Panel with the effect injected; realised effect in the test weeks and in all weeks
    (new patients, positive). ``after`` continues a holdout's loss after the test."""
    gi = [panel.geos.index(g) for g in test.treatment_geos]
    w0 = int(np.flatnonzero(panel.weeks == np.datetime64(test.start_week, "D"))[0])
    w1 = int(np.flatnonzero(panel.weeks == np.datetime64(test.end_week, "D"))[0]) + 1
    y = panel.new_patients.copy()
    shares = [lift] * (w1 - w0) + [lift * a for a in after]
    effects = []
    for j, share in enumerate(shares):
        cells = y[gi, w0 + j].astype(np.int64)
        if test.design == "holdout":
            kept = rng.binomial(cells, 1.0 - share)
            effects.append(float((cells - kept).sum()))
            y[gi, w0 + j] = kept
        else:
            added = rng.poisson(share * cells)
            effects.append(float(added.sum()))
            y[gi, w0 + j] = cells + added
    return replace(panel, new_patients=y), sum(effects[: w1 - w0]), sum(effects)


def noise_floor(panel: Panel, test: GeoTest, dispersion: float, weeks_after: int = 0) -> float:
    """Oracle 90% interval width from the treated markets' own noise in the measured weeks (the
    test weeks and ``weeks_after`` weeks after them)."""
    gi = [panel.geos.index(g) for g in test.treatment_geos]
    end = np.datetime64(test.end_week, "D") + np.timedelta64(7 * weeks_after, "D")
    w = (panel.weeks >= np.datetime64(test.start_week, "D")) & (panel.weeks <= end)
    y = panel.new_patients[gi][:, w].astype(float)
    return 2 * 1.645 * float(np.sqrt(np.sum(y + y**2 / dispersion)))


def interval(r, carryover: bool) -> tuple[float, float, float]:
    if carryover:
        return (r.incremental_new_patients_with_carryover,
                r.incremental_new_patients_with_carryover_lo,
                r.incremental_new_patients_with_carryover_hi)  # fmt: skip
    return r.incremental_new_patients, r.incremental_new_patients_lo, r.incremental_new_patients_hi


def run_type(wt: WorldType, scale: float, seed: int) -> Row:
    rng = np.random.default_rng(seed)
    worlds = [simulate_world(cfg) for cfg in wt.configs]
    n = max(8, round(wt.n_draws * scale))
    row = Row()
    for i in range(n):
        world = worlds[i % len(worlds)]
        panel, test, others = draw_test(rng, wt, world, i)
        r = analyze_test(panel, test, others, carryover=wt.carryover)
        if r.ok:
            est, lo, hi = interval(r, wt.carryover)
            # with carry-over there is no p-value of its own: the interval excluding 0 instead
            row.aa.append(r.p_value < 0.10 if not wt.carryover else not lo <= 0 <= hi)
            row.methods[r.method.split("+")[-1]] += 1
        for lift in wt.lifts:
            after = CARRY_DECAY if wt.carryover else ()
            injected, effect, total = inject(rng, panel, test, lift, after)
            r = analyze_test(injected, test, others, carryover=wt.carryover)
            if not r.ok:
                continue
            truth = total if wt.carryover else effect
            est, lo, hi = interval(r, wt.carryover)
            row.covered.append(lo <= truth <= hi)
            row.open.append(not (np.isfinite(lo) and np.isfinite(hi)))
            row.power.append(lo > 0 or hi < 0)
            if np.isfinite(hi - lo):
                floor = noise_floor(injected, test, world.config.dispersion, r.carryover_weeks)
                row.width.append((hi - lo) / floor)
    return row


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


def real_tests() -> list[tuple]:
    """(world, result, truth) for the committed sample (through the warehouse) and 4 seeds."""
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    rows = [("sample", r, truth["tests"][r.test_id]["incremental_new_patients"])
            for r in analyse_warehouse(SAMPLE_WAREHOUSE)]  # fmt: skip
    for seed in (SAMPLE_SEED, *OTHER_SEEDS):
        world = simulate_world(WorldConfig(seed=seed))
        for r in analyze_tests(world.panel, world.tests):
            rows.append((seed, r, world.truth["tests"][r.test_id]["incremental_new_patients"]))
    return rows


def timings() -> dict:
    """Wall and CPU seconds of design-test (the CLI body on the sample warehouse: 24 markets,
    8 weeks) and of the analysis of all tests (warehouse read included)."""
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
    return {"design": t_design, "analysis": (time.perf_counter() - w0, time.process_time() - c0)}


def print_table(rows: list[tuple[WorldType, Row]]) -> bool:
    print(
        "\nworld type   A/A n  p<0.10  (0.05-0.15)   inj n  coverage (>=0.85)  power  width/floor"
        "  open   inference"
    )
    ok_all = True
    for wt, row in rows:
        aa = float(np.mean(row.aa)) if row.aa else float("nan")
        cov = float(np.mean(row.covered)) if row.covered else float("nan")
        ok = 0.05 <= aa <= 0.15 and cov >= 0.85
        ok_all &= ok
        methods = ", ".join(f"{m} {c}" for m, c in row.methods.most_common())
        width = float(np.median(row.width)) if row.width else float("nan")
        print(
            f"{wt.name:<11s} {len(row.aa):>6d}  {aa:>6.3f}  {'ok' if 0.05 <= aa <= 0.15 else 'MISS':>11s}"
            f"  {len(row.covered):>6d}  {cov:>8.3f} {'ok' if cov >= 0.85 else 'MISS':>8s}"
            f"  {np.mean(row.power):>5.2f}  {width:>11.2f}  {np.mean(row.open):>4.2f}   {methods}"
        )
    return ok_all


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    t0 = time.perf_counter()
    rows = []
    for j, wt in enumerate(world_types()):
        t1 = time.perf_counter()
        rows.append((wt, run_type(wt, scale, seed=7 + j)))
        print(f"  {wt.name}: {time.perf_counter() - t1:.0f} s", flush=True)
    ok = print_table(rows)
    print("(carry-over: its A/A column is the share of intervals with carry-over excluding 0)")

    build_sample_warehouse(SAMPLE_WAREHOUSE)
    print("\nreal tests: world  test                  true    estimate  [90% interval]  covered")
    n_cov, results = 0, real_tests()
    for world, r, truth in results:
        if not r.ok:
            print(f"    {world!s:>9}  {r.test_id:<20s} not analysed: {r.message}")
            continue
        hit = r.incremental_new_patients_lo <= truth <= r.incremental_new_patients_hi
        n_cov += hit
        print(
            f"    {world!s:>9}  {r.test_id:<20s} {truth:>7.1f}  {r.incremental_new_patients:>8.1f}"
            f"  [{r.incremental_new_patients_lo:>7.1f}, {r.incremental_new_patients_hi:>7.1f}]"
            f"  {'yes' if hit else 'NO'}  ({r.method}; {r.carryover_weeks} carry-over weeks)"
        )
    print(f"    covered {n_cov} of {len(results)}")
    t = timings()
    print(
        f"\ntimings (wall s / CPU s): design-test search 8 weeks 24 markets {t['design'][0]:.1f} / "
        f"{t['design'][1]:.1f} (bar 60); all tests of the sample warehouse "
        f"{t['analysis'][0]:.2f} / {t['analysis'][1]:.2f} (bar 30)"
    )
    print(f"\nbars met on every world type: {'yes' if ok else 'NO'}; total "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
