"""Benchmark the privacy guard (run by hand, not a test).

    nice -n 10 .venv/bin/python benchmarks/bench_guard.py [--rows-log 1000000] [--rows-feed 1000000]
        [--rows-big 5000000]

Generates, in a temporary folder, a 12-column individual-level call log (the kind of export a
call-tracking system gives: call id, start time, caller name and number, tracking number,
duration, source, campaign, recording URL, city, state, ZIP), the same log without its header
row (no column names to go by), a clean aggregate ``calls`` feed of 1M rows and one of 5M rows
(geos checked against markets with their populations, so the per-head bounds run); scans each in
a fresh subprocess (``scan_file``: quarantine copy included) and prints wall time, rows/s and the
subprocess's peak RSS; then validates the clean feed with the GX suite of
``pipelines.expectations`` and prints the time ratio GX / guard. Targets on a 2-core machine:
clean 1M-row feed >= 1,000,000 rows/s, call log rejected within 5 s, peak memory < 1 GiB on the
5M-row file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
REPEATS = 3  # each scan runs this often in its subprocess; the best time is reported


def make_call_log(path: Path, rows: int, seed: int = 1, header: bool = True) -> None:
    """An individual-level call log, one row per call, 12 columns (all fake values)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(rows)
    first = np.array(["Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana"])
    last = np.array(["Smith", "Jones", "Garcia", "Nguyen", "Patel", "Kim", "Brown", "Lee"])
    start = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 86400 * 365, rows).astype(
        "timedelta64[s]"
    )
    frame = pl.DataFrame(
        {
            "Call ID": [f"{i:08x}-4b1c-4d2e-9f3a-{i * 7919 % 16**12:012x}" for i in idx],
            "Start Time": start.astype(str),
            "Caller Name": np.char.add(
                np.char.add(first[rng.integers(0, 8, rows)], " "), last[rng.integers(0, 8, rows)]
            ),
            "Caller Number": [f"({200 + i % 700}) 555-{i % 10000:04d}" for i in idx],
            "Tracking Number": [f"+1617555{i % 10000:04d}" for i in idx],
            "Duration": rng.integers(5, 900, rows),
            "Source": np.array(["Google Ads", "Facebook", "Direct", "Organic"])[
                rng.integers(0, 4, rows)
            ],
            "Campaign": np.array(["Brand", "Ortho Q1", "Cardio Always-On"])[
                rng.integers(0, 3, rows)
            ],
            "Recording URL": [f"https://app.example-calls.com/recordings/{i}.mp3" for i in idx],
            "City": np.array(["Boston", "Quincy", "Newton", "Salem"])[rng.integers(0, 4, rows)],
            "State": np.array(["MA", "NH", "RI"])[rng.integers(0, 3, rows)],
            "Zip": [f"{2100 + i % 800:05d}" for i in idx],
        }
    )
    frame.write_csv(path, include_header=header)


def make_clean_feed(path: Path, rows: int) -> dict[str, int]:
    """A clean weekly ``calls`` feed of about ``rows`` rows; returns its geos and populations."""
    channels = ["search", "social", "display", "video", "tv", "radio", "organic", "direct"]
    n_geos = 100
    n_weeks = max(1, rows // (n_geos * len(channels)))
    geos = [f"{100 + g:03d}" for g in range(n_geos)]
    weeks = [(date(2021, 1, 4) + timedelta(weeks=w)).isoformat() for w in range(n_weeks)]
    rng = np.random.default_rng(2)
    n = n_weeks * n_geos * len(channels)
    calls = rng.poisson(40, n)
    frame = pl.DataFrame(
        {
            "week_start": np.repeat(weeks, n_geos * len(channels)),
            "geo": np.tile(np.repeat(geos, len(channels)), n_weeks),
            "channel": np.tile(channels, n_weeks * n_geos),
            "calls": calls,
            "new_patient_calls": rng.binomial(calls, 0.3),
        }
    )
    frame.write_csv(path)
    return {geo: 50_000 + 10_000 * g for g, geo in enumerate(geos)}


def scan_in_subprocess(path: Path, feed: str, geos: dict[str, int] | None) -> dict:
    """Scan one file in a fresh interpreter; return its timing, verdict and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--scan", str(path), feed, json.dumps(geos)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_rss_kib() -> int:
    """Peak resident memory of this process in KiB (VmHWM; ru_maxrss survives exec on Linux
    and would report the parent's peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _scan_child(path: str, feed: str, geos_json: str) -> None:
    from pipelines.guard import scan_file

    geos = json.loads(geos_json)
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = scan_file(Path(path), feed, geos)
        times.append(time.perf_counter() - t0)
    seconds = min(times)
    peak_kib = _peak_rss_kib()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "median": sorted(times)[len(times) // 2],
                "rows": result.rows,
                "verdict": result.verdict,
                "rules": sorted(result.rules),
                "peak_mib": peak_kib / 1024,
            }
        )
    )


def run_gx(path: Path) -> float:
    """Seconds to validate the clean feed (as a staged pandas frame) with the GX suite."""
    t0 = time.perf_counter()
    from pipelines.expectations import validate_staged

    frame = pl.read_csv(path, schema_overrides={"geo": pl.Utf8, "week_start": pl.Date})
    pdf = frame.with_columns(
        pl.lit(path.name).alias("_file"), pl.lit("0" * 64).alias("_sha256")
    ).to_pandas()
    validate_staged("calls", pdf.head(100))  # import GX and create the shared context
    print(f"  GX import + context + first validation: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    summary = validate_staged("calls", pdf)
    seconds = time.perf_counter() - t0
    print(f"  GX suite success={summary['success']} expectations={summary['evaluated']}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-log", type=int, default=1_000_000)
    parser.add_argument("--rows-feed", type=int, default=1_000_000)
    parser.add_argument("--rows-big", type=int, default=5_000_000)
    parser.add_argument("--scan", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--no-gx", action="store_true", help="skip the GX comparison")
    args = parser.parse_args()
    if args.scan:
        _scan_child(*args.scan)
        return
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        log_path, feed_path = Path(tmp) / "call_log.csv", Path(tmp) / "calls.csv"
        bare_path = Path(tmp) / "call_log_no_header.csv"
        make_call_log(log_path, args.rows_log)
        make_call_log(bare_path, args.rows_log, header=False)
        geos = make_clean_feed(feed_path, args.rows_feed)
        big_path = Path(tmp) / "calls_big.csv"
        make_clean_feed(big_path, args.rows_big)
        for label, path, feed_geos in (
            ("call log", log_path, geos),
            ("call log without header", bare_path, geos),
            ("clean feed", feed_path, geos),
            ("clean feed, large", big_path, geos),
        ):
            r = scan_in_subprocess(path, "calls", feed_geos)
            size = path.stat().st_size / 2**20
            print(
                f"{label}: {r['rows']:,} rows ({size:.0f} MiB) {r['verdict']} in "
                f"{r['seconds']:.2f} s (best of {REPEATS}; median {r['median']:.2f} s) = "
                f"{r['rows'] / r['seconds']:,.0f} rows/s; "
                f"peak RSS {r['peak_mib']:.0f} MiB; rules {', '.join(r['rules']) or '-'}"
            )
            if label == "clean feed":
                guard_seconds = r["seconds"]
        if not args.no_gx:
            gx_seconds = run_gx(feed_path)
            print(
                f"GX suite on clean feed: {gx_seconds:.2f} s; GX / guard = "
                f"{gx_seconds / guard_seconds:.1f}x"
            )


if __name__ == "__main__":
    main()
