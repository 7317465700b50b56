"""One weekly refresh of the sample per test session, shared by the notebook and browser tests.

The refresh runs ``weekly_refresh`` in a subprocess through ``clearcount refresh``'s own code
(``pipelines.cli.execute_refresh``) with ``CLEARCOUNT_*`` and ``DAGSTER_HOME`` pointing into a tmp
dir, so the repository's warehouse is never touched and the Dagster UI can be opened on the run.
``CLEARCOUNT_TEST_MMM_DRAWS`` / ``CLEARCOUNT_TEST_MMM_TUNE`` (default: the MMM's own defaults)
set the sampler; the convergence gate still applies. ``CLEARCOUNT_TEST_REFRESHED_ROOT`` names a
folder refreshed before (``warehouse.duckdb`` and ``output/``) to reuse instead.

``tests/conftest.py`` starts the refresh in the background when the session begins (see
:func:`start_refresh`) and runs the tests that need it last, so that the rest of the suite runs
beside it on the other core; :func:`refreshed_sample` waits for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

REFRESH_SCRIPT = """
import os, sys
import dagster as dg
from pipelines.cli import execute_refresh

mmm = {}
for key, env in (("draws", "CLEARCOUNT_TEST_MMM_DRAWS"), ("tune", "CLEARCOUNT_TEST_MMM_TUNE")):
    if os.environ.get(env):
        mmm[key] = int(os.environ[env])
result = execute_refresh({"ops": {"mmm_fit": {"config": mmm}}} if mmm else None)
failed = [e.step_key for e in result.all_events
          if e.event_type == dg.DagsterEventType.STEP_FAILURE]
skipped = [e.step_key for e in result.all_events
           if e.event_type == dg.DagsterEventType.STEP_SKIPPED]
print("steps failed:", failed, "skipped:", skipped)
sys.exit(0 if result.success and not skipped else 1)
"""

_DONE: dict[str, str] | None = None
_FAILED: str | None = None
_RUNNING: tuple[subprocess.Popen, Path] | None = None


def settings_env(root: Path) -> dict[str, str]:
    """``CLEARCOUNT_*`` variables for a refresh of the sample into ``root``."""
    return {
        "CLEARCOUNT_LANDING_DIR": str(REPO / "data" / "sample"),
        "CLEARCOUNT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "CLEARCOUNT_OUTPUT_DIR": str(root / "output"),
        "CLEARCOUNT_MIN_CELL": "11",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def start_refresh(root: Path) -> None:
    """Start the refresh of the sample into ``root`` in a background process, unless one was
    started or ``CLEARCOUNT_TEST_REFRESHED_ROOT`` names a folder to reuse. Its output goes to
    files in ``root`` (a pipe could fill and stall it while nobody reads)."""
    global _RUNNING
    if _RUNNING is not None or os.environ.get("CLEARCOUNT_TEST_REFRESHED_ROOT"):
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "refresh.out", "w") as out, open(root / "refresh.err", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", REFRESH_SCRIPT],
            cwd=REPO,
            env={**os.environ, **settings_env(root)},
            stdout=out,
            stderr=err,
        )
    _RUNNING = (proc, root)


def end_refresh() -> None:
    """Stop the background refresh if it still runs (the session ended before it was used) and
    delete its folder."""
    if _RUNNING is not None:
        proc, root = _RUNNING
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def refreshed_sample(root: Path) -> dict[str, str]:
    """The refreshed sample: waits for the background refresh, or refreshes into ``root`` when
    none was started; later calls reuse the first result.

    Raises:
        RuntimeError: when the refresh fails (value-free: step names only).
    """
    global _DONE, _FAILED
    if _DONE is not None:
        return _DONE
    if _FAILED is not None:
        raise RuntimeError(_FAILED)
    reuse = os.environ.get("CLEARCOUNT_TEST_REFRESHED_ROOT")
    if reuse:
        _DONE = settings_env(Path(reuse))
        return _DONE
    start_refresh(root)
    assert _RUNNING is not None
    proc, started_in = _RUNNING
    try:
        returncode = proc.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        proc.kill()
        returncode = proc.wait()
    if returncode != 0:
        lines = (started_in / "refresh.out").read_text().splitlines()
        tail = "\n".join(lines[-3:])
        _FAILED = f"the weekly refresh of the sample failed (exit {returncode}): {tail}"
        raise RuntimeError(_FAILED)
    _DONE = settings_env(started_in)
    return _DONE
