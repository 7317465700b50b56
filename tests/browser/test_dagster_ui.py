"""The analyst's path: Dagster UI on 127.0.0.1, find the weekly_refresh assets, launch a run,
and see the run that ``clearcount refresh`` recorded.

Starts ``dagster dev`` in its own process group on a free port with a throwaway DAGSTER_HOME
(the repository's dagster.yaml) and ``CLEARCOUNT_*`` in a tmp dir, and stops the whole group
afterwards. The run launched with the UI's own button materialises the ingest group of the job
(fast variant: guard, staging and the weekly panel on the sample feeds).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sample_refresh import REPO, settings_env  # loaded by conftest

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

GROUP_ASSETS = {
    "ingest": ["markets", "spend", "calls", "bookings", "experiments", "controls", "weekly_panel"],
    "geo": ["geo_test_results"],
    "mmm": ["mmm_fit"],
    "marts": ["pac_by_channel", "budget_plan"],
    "experiment_design": ["geo_test_designs", "next_experiments"],
    "dashboards": ["dashboards"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/server_info", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError("dagster dev did not come up")


@contextlib.contextmanager
def dagster_dev(home: Path, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Base URL of ``dagster dev`` on ``home`` (its DAGSTER_HOME); whole group stopped after."""
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env={**os.environ, **env, "DAGSTER_HOME": str(home)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc, 180)
        yield base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.fixture()
def dagster_ui(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, DAGSTER_HOME) of a running ``dagster dev`` on a fresh instance."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    with dagster_dev(home, settings_env(tmp_path), tmp_path / "dagster_dev.log") as base:
        yield base, home


STATUS = re.compile(r"Runs\s*/\s*[0-9a-f]{8}\s*(Success|Failure|Canceled|Started|Starting|Queued)")


def tmp_path_of(ui: tuple[str, Path]) -> Path:
    """Where screenshots of the UI go: beside the test's DAGSTER_HOME."""
    return ui[1].parent


def filter_graph(page, query: str) -> None:
    """Type a query into the asset graph's search box (a CodeMirror editor)."""
    editor = page.locator(".CodeMirror").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(query)
    page.keyboard.press("Enter")


def test_launch_weekly_refresh_from_the_ui(browser, dagster_ui):
    base, _ = dagster_ui
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(base + "/jobs")
        page.get_by_role("link", name="weekly_refresh").first.click()
        page.get_by_role("button", name="Materialize all").wait_for()
        # every group of the job, and its assets, in the asset graph
        for group, assets in GROUP_ASSETS.items():
            filter_graph(page, f"group:{group}")
            for asset in assets:
                page.get_by_text(asset, exact=True).first.wait_for()
        # fast variant: launch the ingest group with the UI's own button
        filter_graph(page, "group:ingest")
        page.get_by_text("weekly_panel", exact=True).first.wait_for()
        page.get_by_role("button", name="Materialize all").click()
        page.get_by_text(re.compile("Launched run")).first.wait_for()
        # open the run from the Runs page, as an analyst would
        page.locator("a[href='/runs']").first.click()
        run_link = page.locator("a[href^='/runs/']").filter(has_text=re.compile(r"^[0-9a-f]{8}$"))
        run_link.first.click()
        page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
        status = "unknown"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            page.wait_for_timeout(3000)
            page.reload()
            page.get_by_text("weekly_refresh").first.wait_for()
            found = STATUS.search(page.locator("body").inner_text())
            status = found.group(1) if found else "unknown"
            if status in ("Success", "Failure", "Canceled"):
                break
        shots = tmp_path_of(dagster_ui)
        page.screenshot(path=str(shots / "dagster_run.png"))
        assert status == "Success", f"the run launched from the UI ended as {status}"
    finally:
        context.close()


def test_the_ui_shows_the_run_of_clearcount_refresh(browser, refreshed, tmp_path):
    """`clearcount refresh` and `make ui` share one instance: its run, materialisations, check
    results and metadata are in the UI."""
    home = Path(refreshed["DAGSTER_HOME"])
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    with dagster_dev(home, refreshed, tmp_path / "dagster_dev.log") as base:
        try:
            page.goto(base + "/runs")
            page.get_by_text("weekly_refresh").first.wait_for()
            body = page.locator("body").inner_text()
            assert "Success" in body, "the refresh's run is listed as a success"
            shots = Path(refreshed["CLEARCOUNT_OUTPUT_DIR"]) / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "dagster_runs.png"))
            page.goto(base + "/assets/pac_by_channel")
            page.get_by_text("refreshes_in_history").first.wait_for()
            assert "Never materialized" not in page.locator("body").inner_text()
            page.goto(base + "/assets/mmm_fit?view=checks")
            page.get_by_text("mmm_converged").first.wait_for()
            page.get_by_text(re.compile("^Passed$")).first.wait_for()
            page.screenshot(path=str(shots / "dagster_mmm_checks.png"))
        finally:
            context.close()
