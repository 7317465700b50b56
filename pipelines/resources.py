"""Dagster resources shared by every domain."""

from __future__ import annotations

from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings


def warehouse_resource() -> DuckDBResource:
    """The ``duckdb`` resource: the warehouse file of ``CLEARCOUNT_WAREHOUSE``.

    The file's folder is created so that the first run can open it.
    """
    path = Settings.from_env().warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBResource(database=str(path))
