"""Reliability of refreshes: SIGKILL in the middle of a load, and two refreshes at once.

Each refresh runs in its own process through ``clearcount refresh`` (``pipelines.cli.main``)
with a ``weekly_refresh`` made of the ingest domain only: the steps that write landing data.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.feeds import FEEDS
from pipelines.warehouse import table_exists

pytestmark = pytest.mark.slow

RUNNER = """
import sys, time, types
import dagster as dg
from pipelines.defs.automation import weekly_refresh
from pipelines.defs.ingest.assets import defs as ingest_defs
from pipelines.resources import settings_resource, warehouse_resource

module = types.ModuleType("pipelines.definitions")
module.defs = dg.Definitions.merge(
    ingest_defs,
    dg.Definitions(
        jobs=[weekly_refresh],
        resources={"duckdb": warehouse_resource(), "settings": settings_resource()},
    ),
)
sys.modules["pipelines.definitions"] = module

if len(sys.argv) > 1 and sys.argv[1] == "pause-in-load":
    # Stop inside the load transaction of the spend feed, after the old rows were deleted.
    import pipelines.ingest as ingest

    real = ingest.sql_text

    def pausing(relpath):
        text = real(relpath)
        if relpath == "staging/spend.sql":
            print("LOADING", flush=True)
            time.sleep(120)
        return text

    ingest.sql_text = pausing

from pipelines.cli import main
sys.exit(main(["refresh"]))
"""


def write_landing(
    root: Path, n_geos: int, n_weeks: int, n_channels: int, bump: float = 0.0
) -> None:
    """A landing dir large enough that loading it takes a noticeable time."""
    geos = [f"m{i:02d}" for i in range(n_geos)]
    weeks = [(date(2020, 1, 6) + timedelta(weeks=w)).isoformat() for w in range(n_weeks)]
    channels = [f"ch{c:02d}" for c in range(n_channels)]
    for feed in ("markets", "spend", "calls", "bookings", "experiments"):
        (root / feed).mkdir(parents=True, exist_ok=True)
    (root / "markets" / "markets.csv").write_text(
        "geo,geo_type,population\n"
        + "".join(f"{g},custom,{50000 + 1000 * i}\n" for i, g in enumerate(geos))
    )
    with open(root / "spend" / "spend_1.csv", "w") as out:
        out.write("week_start,geo,channel,spend,impressions\n")
        for w, week in enumerate(weeks):
            for g, geo in enumerate(geos):
                for c, ch in enumerate(channels):
                    out.write(f"{week},{geo},{ch},{(w * 7 + g * 3 + c) % 997 + bump:.2f},{w + c}\n")
    for feed, total, part in (
        ("calls", "calls", "new_patient_calls"),
        ("bookings", "bookings", "new_patient_bookings"),
    ):
        with open(root / feed / f"{feed}.csv", "w") as out:
            out.write(f"week_start,geo,channel,{total},{part}\n")
            for w, week in enumerate(weeks):
                for g, geo in enumerate(geos):
                    for src in ("organic", "ch00", "ch01"):
                        n = (w + g) % 17 + 3
                        out.write(f"{week},{geo},{src},{n},{n // 2}\n")
    (root / "experiments" / "experiments.csv").write_text(
        "test_id,channel,geo,role,start_week,end_week,design\n"
        f"t1,ch00,m00,treatment,{weeks[-8]},{weeks[-1]},holdout\n"
        f"t1,ch00,m01,control,{weeks[-8]},{weeks[-1]},holdout\n"
    )


def run_refresh(
    env: dict[str, str], *extra: str, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_refresh(env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def environment(landing: Path, warehouse: Path, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CLEARCOUNT_LANDING_DIR=str(landing),
        CLEARCOUNT_WAREHOUSE=str(warehouse),
        CLEARCOUNT_OUTPUT_DIR=str(tmp_path / "output"),
    )
    return env


def state(warehouse: Path) -> dict[str, list[tuple]]:
    """Every staging and core table plus what audit says is loaded (timestamps left out)."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {
            f"staging.{feed}": conn.execute(f"SELECT * FROM staging.{feed} ORDER BY ALL").fetchall()
            for feed in FEEDS
        }
        for table in ("core.weekly_panel", "core.weekly_spend", "core.last_touch"):
            tables[table] = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        tables["audit.loaded_files"] = conn.execute(
            "SELECT feed, file_name, sha256, rows FROM audit.loaded_files ORDER BY ALL"
        ).fetchall()
        return tables
    finally:
        conn.close()


def has_schema(warehouse: Path) -> bool:
    """Whether the schema was created (a refresh killed before that leaves an empty file)."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return table_exists(conn, "staging.markets")
    finally:
        conn.close()


def assert_consistent(warehouse: Path) -> None:
    """No duplicate keys; every staged row comes from a file audit says is loaded, whole."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        for feed, spec in FEEDS.items():
            key = ", ".join(spec.key)
            dupes = conn.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM staging.{feed} "
                f"GROUP BY {key} HAVING count(*) > 1)"
            ).fetchall()
            assert dupes == [(0,)], feed
            orphans = conn.execute(
                f"SELECT count(*) FROM staging.{feed} s ANTI JOIN audit.loaded_files a "
                "ON a.feed = ? AND a.file_name = s._file AND a.sha256 = s._sha256",
                [feed],
            ).fetchall()
            assert orphans == [(0,)], feed
            # the last file of a feed restates nothing after it: all of its rows are staged
            last = conn.execute(
                "SELECT file_name, rows FROM audit.loaded_files WHERE feed = ? "
                "ORDER BY file_name DESC LIMIT 1",
                [feed],
            ).fetchall()
            if last:
                (name, rows) = last[0]
                staged = conn.execute(
                    f"SELECT count(*) FROM staging.{feed} WHERE _file = ?", [name]
                ).fetchall()
                assert staged == [(rows,)], feed
    finally:
        conn.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A big landing dir, a warehouse loaded once from it cleanly, and that warehouse's state."""
    root = tmp_path_factory.mktemp("reliability")
    landing = root / "landing"
    write_landing(landing, n_geos=30, n_weeks=156, n_channels=10)
    warehouse = root / "reference.duckdb"
    done = run_refresh(environment(landing, warehouse, root))
    assert done.returncode == 0, done.stderr[-2000:]
    return landing, warehouse, state(warehouse)


@pytest.fixture
def big_landing(template, tmp_path: Path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(template[0], target)
    return target


@pytest.fixture
def reference(template) -> dict[str, list[tuple]]:
    return template[2]


def test_sigkill_inside_load_transaction_keeps_previous_rows(
    template, big_landing, tmp_path, reference
):
    warehouse = tmp_path / "w.duckdb"
    env = environment(big_landing, warehouse, tmp_path)
    shutil.copy(template[1], warehouse)  # a warehouse that loaded these files before
    before = state(warehouse)
    assert before == reference

    # A restatement of the first 4000 rows arrives; the refresh is killed inside the load
    # transaction, after it deleted the old spend rows.
    lines = (big_landing / "spend" / "spend_1.csv").read_text().splitlines()
    restated = []
    for line in lines[1:4001]:
        fields = line.split(",")
        fields[3] = f"{float(fields[3]) + 0.5:.2f}"
        restated.append(",".join(fields))
    (big_landing / "spend" / "spend_2.csv").write_text("\n".join([lines[0], *restated]) + "\n")
    proc = start_refresh(env, "pause-in-load")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and "LOADING" not in line:
            line = proc.stdout.readline()
        assert "LOADING" in line, proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    assert state(warehouse) == before  # nothing of the killed transaction survives
    assert_consistent(warehouse)

    done = run_refresh(env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_consistent(warehouse)
    after = state(warehouse)
    assert len(after["staging.spend"]) == len(before["staging.spend"])
    assert {r[:3] for r in after["staging.spend"]} == {r[:3] for r in before["staging.spend"]}
    assert sum(1 for r in after["staging.spend"] if r[5] == "spend_2.csv") == 4000
    restated_values = {tuple(r.split(",")[:3]): r.split(",")[3] for r in restated}
    for row in after["staging.spend"]:
        if row[5] == "spend_2.csv":
            assert f"{row[3]:.2f}" == restated_values[(row[0].isoformat(), row[1], row[2])]


@pytest.mark.parametrize("delay", [5.0, 8.0])
def test_sigkill_at_any_moment_then_rerun_matches_clean_load(
    big_landing, tmp_path, reference, delay
):
    warehouse = tmp_path / "w.duckdb"
    env = environment(big_landing, warehouse, tmp_path)
    proc = start_refresh(env)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    if warehouse.exists() and has_schema(warehouse):
        assert_consistent(warehouse)
    done = run_refresh(env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_consistent(warehouse)
    assert state(warehouse) == reference


def test_two_refreshes_at_once_both_finish_and_warehouse_is_right(big_landing, tmp_path, reference):
    warehouse = tmp_path / "w.duckdb"
    env = environment(big_landing, warehouse, tmp_path)
    first, second = start_refresh(env), start_refresh(env)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == 0, outputs[0][1][-2000:]
    assert second.returncode == 0, outputs[1][1][-2000:]
    waited = [err for _, err in outputs if "waiting for it to finish" in err]
    assert len(waited) == 1, "the second refresh says it waits for the first"
    assert state(warehouse) == reference
    assert_consistent(warehouse)
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        # every file was scanned once: the second refresh found them all loaded
        assert conn.execute(
            "SELECT count(*), count(DISTINCT file_name) FROM audit.file_scans"
        ).fetchall() == [(5, 5)]
    finally:
        conn.close()
