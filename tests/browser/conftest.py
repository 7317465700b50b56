"""Browser-test fixtures: Debian chromium via Playwright, and one refreshed warehouse per session.

The session refresh is ``tests/notebooks/sample_refresh.py`` (shared with the notebook test, so
the sample is refreshed once per session).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


def _load_sample_refresh():
    """``tests/notebooks/sample_refresh.py``, shared with the notebook test (one refresh)."""
    if "sample_refresh" in sys.modules:
        return sys.modules["sample_refresh"]
    spec = importlib.util.spec_from_file_location(
        "sample_refresh", REPO / "tests" / "notebooks" / "sample_refresh.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["sample_refresh"] = module
    spec.loader.exec_module(module)
    return module


sample_refresh = _load_sample_refresh()
settings_env = sample_refresh.settings_env


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make browser installs it as root)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample refreshed once per session; its ``CLEARCOUNT_*`` settings."""
    try:
        env = sample_refresh.refreshed_sample(tmp_path_factory.mktemp("refreshed"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    index = Path(env["CLEARCOUNT_OUTPUT_DIR"]) / "dashboards" / "index.html"
    assert index.is_file(), "the refresh did not write index.html"
    return env
