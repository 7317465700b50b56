"""Shared fixtures: small landing dirs, throwaway warehouses and clearcount settings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SMALL_LANDING = FIXTURES / "ingest" / "small"
SAMPLE_LANDING = REPO / "data" / "sample"


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
    """CLEARCOUNT_* settings pointing at the small landing copy and tmp outputs."""
    env = {
        "CLEARCOUNT_LANDING_DIR": str(small_landing),
        "CLEARCOUNT_WAREHOUSE": str(warehouse_path),
        "CLEARCOUNT_OUTPUT_DIR": str(tmp_path / "output"),
        "CLEARCOUNT_MIN_CELL": "11",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
