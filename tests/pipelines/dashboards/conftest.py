"""Fixtures: fake dashboard frames and a fake warehouse file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from dashboard_fakes import fake_frames, write_fake_warehouse


@pytest.fixture()
def frames() -> dict[str, pl.DataFrame]:
    return fake_frames()


@pytest.fixture()
def fake_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    write_fake_warehouse(path)
    return path
