"""Dagster resources shared by every domain: the run settings and the warehouse.

Both are fed by ``dg.EnvVar`` for every ``CLEARCOUNT_*`` variable that is set, so the values are
read when a run starts (not when the code location loads) and the Dagster UI shows which
variable each came from; an unset variable falls back to its default of ``pipelines.settings``.
Nothing here touches the file system: the warehouse folder is created by the first step that
writes to it.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pipelines.settings import ENV, Settings, env_text


def env_or_default(setting: str) -> str | dg.EnvVar:
    """``dg.EnvVar`` of the setting's variable when it is set, else the default text."""
    variable, default = ENV[setting]
    return dg.EnvVar(variable) if os.environ.get(variable, "").strip() else default


class ClearcountSettings(dg.ConfigurableResource):
    """The run settings as a Dagster resource (resource key ``settings``).

    Each field holds the text of one ``CLEARCOUNT_*`` variable (see ``pipelines.settings.ENV``);
    a field left unset is read from the environment when the run starts, else its default.
    ``as_settings()`` checks the values and returns the plain
    :class:`pipelines.settings.Settings` that asset bodies use.
    """

    landing_dir: str | None = Field(default=None, description="CLEARCOUNT_LANDING_DIR")
    warehouse: str | None = Field(default=None, description="CLEARCOUNT_WAREHOUSE")
    output_dir: str | None = Field(default=None, description="CLEARCOUNT_OUTPUT_DIR")
    min_cell: str | None = Field(default=None, description="CLEARCOUNT_MIN_CELL")
    window_weeks: str | None = Field(default=None, description="CLEARCOUNT_WINDOW_WEEKS")
    holiday_country: str | None = Field(default=None, description="CLEARCOUNT_HOLIDAY_COUNTRY")
    partitions: str | None = Field(default=None, description="CLEARCOUNT_PARTITIONS")

    def as_settings(self) -> Settings:
        """The checked settings (absolute paths).

        Raises:
            pipelines.settings.SettingsError: a value the pipeline cannot use.
        """
        values = {name: getattr(self, name) for name in ENV}
        return Settings.from_values(
            {name: env_text(name) if value is None else value for name, value in values.items()}
        )


def settings_resource() -> ClearcountSettings:
    """The ``settings`` resource: every ``CLEARCOUNT_*`` variable set now as a ``dg.EnvVar``
    (resolved when a run starts); the others are read when a run starts."""
    return ClearcountSettings(
        **{
            name: dg.EnvVar(ENV[name][0])
            for name in ENV
            if os.environ.get(ENV[name][0], "").strip()
        }
    )


def warehouse_resource() -> DuckDBResource:
    """The ``duckdb`` resource: the warehouse file of ``CLEARCOUNT_WAREHOUSE``."""
    return DuckDBResource(database=env_or_default("warehouse"))
