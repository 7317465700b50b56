"""End to end: ``dagster dev`` on a free local port, weekly_refresh launched through GraphQL.

The server runs in its own process group (``start_new_session``) and the whole group is
stopped afterwards; the teardown then asserts that no member of the group is still running.
Zombies do not count: on this machine PID 1 does not reap orphans, so a grandchild that
outlived its parent stays a zombie in the group for good. The run goes through the instance
of ``dagster.yaml`` (run queue, pool).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 15 * 60
START_TIMEOUT_S = 240

LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

REPOSITORIES = """
{ repositoriesOrError { __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } } } }
"""

RUN_STATUS = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }
"""

STEP_FAILURES = """
query Logs($runId: ID!) {
  logsForRun(runId: $runId) { __typename
    ... on EventConnection { events { __typename
      ... on ExecutionStepFailureEvent { stepKey error { message } } } } }
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graphql(port: int, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 400:  # GraphQL validation errors come back as 400 with a JSON body
            pytest.fail(f"GraphQL rejected the query: {exc.read()[:2000]!r}")
        raise
    assert "errors" not in payload, payload.get("errors")
    return payload["data"]


def live_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are still running (zombies are finished: they
    only wait for their parent, or init, to reap them)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        state, pgrp = fields[0], int(fields[3])
        if pgrp == pgid and state not in {"Z", "X"}:
            live.append(int(stat.parent.name))
    return live


def wait_until_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while live_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is still running after 10 s (on
    two busy cores ``dagster dev`` can take longer than that to wind down: waiting for it took
    45 s of the suite and tested nothing the kill does not)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    if not wait_until_gone(proc.pid, timeout=5):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        wait_until_gone(proc.pid, timeout=30)
    proc.wait(timeout=30)


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[tuple[int, Path, Path, Path]]:
    """A running ``dagster dev`` on a small simulated world (6 markets x 80 weeks: the whole
    refresh in a few minutes; the sample's own refresh is tested by ``sample_refreshed``);
    yields (port, warehouse, log, landing dir)."""
    from simulator import WorldConfig, simulate_world, write_world

    landing = tmp_path / "landing"
    write_world(simulate_world(WorldConfig(seed=7, n_geos=6, n_weeks=80)), landing)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "warehouse.duckdb"
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(home),
        CLEARCOUNT_LANDING_DIR=str(landing),
        CLEARCOUNT_WAREHOUSE=str(warehouse),
        CLEARCOUNT_OUTPUT_DIR=str(tmp_path / "output"),
    )
    port = free_port()
    log = tmp_path / "dagster_dev.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster")),
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield port, warehouse, log, landing
    finally:
        stop_group(proc)
        assert live_members(proc.pid) == [], "dagster dev left processes running"


def wait_for_job(port: int, log: Path) -> dict:
    """Wait until the webserver answers and the code location has weekly_refresh."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last: object = None
    while time.monotonic() < deadline:
        try:
            data = graphql(port, REPOSITORIES, timeout=10)
            for node in data["repositoriesOrError"].get("nodes", []):
                if "weekly_refresh" in {j["name"] for j in node["jobs"]}:
                    return {
                        "repositoryLocationName": node["location"]["name"],
                        "repositoryName": node["name"],
                        "jobName": "weekly_refresh",
                    }
            last = data
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = exc
        time.sleep(2)
    pytest.fail(f"dagster dev did not serve weekly_refresh: {last!r}\n{log.read_text()[-3000:]}")


def test_weekly_refresh_launched_through_graphql_loads_the_warehouse(dagster_dev):
    port, warehouse, log, landing = dagster_dev
    selector = wait_for_job(port, log)
    # two chains and no holdout fit: the launch path and its run config are under test here,
    # the default sampler is run on the sample by ``sample_refreshed``
    run_config = {"ops": {"mmm_fit": {"config": {"chains": 2, "holdout_weeks": 0}}}}
    launched = graphql(
        port, LAUNCH, {"executionParams": {"selector": selector, "runConfigData": run_config}}
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        status = graphql(port, RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            break
        time.sleep(3)
    if status not in {"SUCCESS", "FAILURE", "CANCELED"}:
        pytest.fail(f"run {run_id} still {status} after {RUN_TIMEOUT_S} s")
    # The ingest part is checked first so that a failure further down still shows it.
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        scans = conn.execute("SELECT feed, verdict FROM audit.file_scans").fetchall()
        files = sorted(p for p in landing.glob("*/*") if p.suffix in {".csv", ".parquet"})
        assert len(scans) == len(files)
        assert all(verdict == "accepted" for _, verdict in scans)
        markets = conn.execute("SELECT count(*) FROM staging.markets").fetchall()[0][0]
        weeks = conn.execute("SELECT count(DISTINCT week_start) FROM core.weekly_panel").fetchall()[
            0
        ][0]
        assert conn.execute("SELECT count(*) FROM core.weekly_panel").fetchall() == [
            (markets * weeks,)
        ]
        truth = json.loads((landing / "truth.json").read_text())
        assert markets == truth["config"]["n_geos"] and weeks == truth["config"]["n_weeks"]
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT week_start, geo, channel FROM staging.spend "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchall()
        assert dupes == [(0,)]
    finally:
        conn.close()
    if status != "SUCCESS":
        events = graphql(port, STEP_FAILURES, {"runId": run_id})["logsForRun"].get("events", [])
        failures = [
            (e["stepKey"], e["error"]["message"][:300])
            for e in events
            if e["__typename"] == "ExecutionStepFailureEvent"
        ]
        pytest.fail(f"run {run_id} ended {status}; failed steps: {failures}")
