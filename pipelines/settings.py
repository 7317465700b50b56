"""Run settings read from the environment (CONTRACT.md section 1).

Relative paths are resolved against the current working directory when the settings are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where feeds arrive, where the warehouse lives, where outputs go, and the small-cell floor.

    Attributes:
        landing_dir: folder holding one sub-folder per feed.
        warehouse: path of the DuckDB file.
        output_dir: dashboards, model artifacts and scan reports go below it.
        min_cell: published counts from 1 to ``min_cell - 1`` are suppressed.
    """

    landing_dir: Path
    warehouse: Path
    output_dir: Path
    min_cell: int

    @classmethod
    def from_env(cls) -> Settings:
        """Read ``CLEARCOUNT_*`` variables, falling back to the contract defaults."""
        min_cell = os.environ.get("CLEARCOUNT_MIN_CELL", "11")
        if not min_cell.isdigit() or int(min_cell) < 1:
            raise ValueError("CLEARCOUNT_MIN_CELL must be a whole number of at least 1")
        return cls(
            landing_dir=Path(os.environ.get("CLEARCOUNT_LANDING_DIR", "data/sample")).absolute(),
            warehouse=Path(
                os.environ.get("CLEARCOUNT_WAREHOUSE", "data/warehouse.duckdb")
            ).absolute(),
            output_dir=Path(os.environ.get("CLEARCOUNT_OUTPUT_DIR", "output")).absolute(),
            min_cell=int(min_cell),
        )
