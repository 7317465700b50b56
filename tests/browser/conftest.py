"""Browser-test fixtures: Debian chromium via Playwright, and one refreshed warehouse per session.

The session refresh is the ``sample_refreshed`` fixture of ``tests/conftest.py`` (shared with the
notebook and MMM tests, so the sample is refreshed once per session).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


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
def refreshed(sample_refreshed: dict[str, str]) -> dict[str, str]:
    """The sample refreshed once per session, with its dashboards; its ``CLEARCOUNT_*``."""
    index = Path(sample_refreshed["CLEARCOUNT_OUTPUT_DIR"]) / "dashboards" / "index.html"
    assert index.is_file(), "the refresh did not write index.html"
    return sample_refreshed
