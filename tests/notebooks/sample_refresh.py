"""One weekly refresh of the sample per test session, shared by the notebook and browser tests.

The refresh runs ``weekly_refresh`` in a subprocess through ``clearcount refresh``'s own code
(``pipelines.cli.execute_refresh``) with ``CLEARCOUNT_*`` and ``DAGSTER_HOME`` pointing into a tmp
dir, so the repository's warehouse is never touched and the Dagster UI can be opened on the run. ``CLEARCOUNT_TEST_MMM_DRAWS`` / ``CLEARCOUNT_TEST_MMM_TUNE`` (default: the MMM's own
defaults) set the sampler; the convergence gate still applies. ``CLEARCOUNT_TEST_REFRESHED_ROOT``
names a folder refreshed before (``warehouse.duckdb`` and ``output/``) to reuse instead.
"""

from __future__ import annotations

import os
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


def settings_env(root: Path) -> dict[str, str]:
    """``CLEARCOUNT_*`` variables for a refresh of the sample into ``root``."""
    return {
        "CLEARCOUNT_LANDING_DIR": str(REPO / "data" / "sample"),
        "CLEARCOUNT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "CLEARCOUNT_OUTPUT_DIR": str(root / "output"),
        "CLEARCOUNT_MIN_CELL": "11",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def refreshed_sample(root: Path) -> dict[str, str]:
    """Refresh the sample into ``root`` once per process; later calls reuse the first result.

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
    env = settings_env(root)
    proc = subprocess.run(
        [sys.executable, "-c", REFRESH_SCRIPT],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-3:])
        _FAILED = f"the weekly refresh of the sample failed (exit {proc.returncode}): {tail}"
        raise RuntimeError(_FAILED)
    _DONE = env
    return env
