"""Shared fixtures: small landing dirs, throwaway warehouses and clearcount settings."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SMALL_LANDING = FIXTURES / "ingest" / "small"
SAMPLE_LANDING = REPO / "data" / "sample"


def _load_sample_refresh():
    """``tests/notebooks/sample_refresh.py`` as the module ``sample_refresh`` (one refresh)."""
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the refreshed sample run last (in their collected order), so that the refresh
    started for them when the session begins runs beside the rest of the suite."""
    items.sort(key=lambda item: "sample_refreshed" in item.fixturenames)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the sample's refresh in the background when a collected test needs it."""
    if session.config.option.collectonly:
        return
    if any("sample_refreshed" in item.fixturenames for item in session.items):
        sample_refresh.start_refresh(Path(tempfile.mkdtemp(prefix="clearcount-sample-")))


def pytest_sessionfinish() -> None:
    """Stop the sample's refresh if it still runs, and delete its folder."""
    sample_refresh.end_refresh()


@pytest.fixture(scope="session")
def sample_refreshed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample refreshed once per session (the whole ``weekly_refresh`` job, started in the
    background when the session begins); the ``CLEARCOUNT_*`` settings that point at its
    warehouse and output dir."""
    try:
        return sample_refresh.refreshed_sample(tmp_path_factory.mktemp("refreshed"))
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def small_landing(tmp_path: Path) -> Path:
    """A writable copy of the small landing dir (3 markets, 8 weeks, spend restated)."""
    target = tmp_path / "landing"
    shutil.copytree(SMALL_LANDING, target)
    return target


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet."""
    return tmp_path / "wh" / "warehouse.duckdb"


@pytest.fixture
def warehouse(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection to a fresh warehouse with the schema applied."""
    from pipelines.warehouse import apply_schema, connect

    conn = connect(warehouse_path)
    apply_schema(conn)
    yield conn
    conn.close()


@pytest.fixture
def clearcount_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_landing: Path, warehouse_path: Path
) -> dict[str, str]:
    """CLEARCOUNT_* settings pointing at the small landing copy and tmp outputs, and a tmp
    DAGSTER_HOME for the runs ``clearcount refresh`` records."""
    env = {
        "CLEARCOUNT_LANDING_DIR": str(small_landing),
        "CLEARCOUNT_WAREHOUSE": str(warehouse_path),
        "CLEARCOUNT_OUTPUT_DIR": str(tmp_path / "output"),
        "CLEARCOUNT_MIN_CELL": "11",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
