"""Run settings: where data lives (docs/contract.md section 1) and how the model reads the calendar.

Each setting has one environment variable and one default, listed in ``ENV``. Inside Dagster the
settings come from the ``settings`` resource (``pipelines.resources.ClearcountSettings``, fed by
``dg.EnvVar``); outside it (the ``clearcount`` command, notebooks) ``Settings.from_env()`` reads
the same variables. Relative paths are resolved against the current working directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

ENV: dict[str, tuple[str, str]] = {
    "landing_dir": ("CLEARCOUNT_LANDING_DIR", "data/sample"),
    "warehouse": ("CLEARCOUNT_WAREHOUSE", "data/warehouse.duckdb"),
    "output_dir": ("CLEARCOUNT_OUTPUT_DIR", "output"),
    "min_cell": ("CLEARCOUNT_MIN_CELL", "11"),
    "window_weeks": ("CLEARCOUNT_WINDOW_WEEKS", "52"),
    "holiday_country": ("CLEARCOUNT_HOLIDAY_COUNTRY", "US"),
    "partitions": ("CLEARCOUNT_PARTITIONS", ""),
}
"""Setting -> (environment variable, default as text)."""

PARTITION_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: Fewer weeks of history than this and yearly seasonality cannot be told apart from trend well
#: (a year and a half: every season seen at least once more after the first year).
MIN_WEEKS_TREND_VS_SEASON = 78


def trend_and_season_confounded(n_weeks: int) -> bool:
    """True when a history of ``n_weeks`` weeks is too short to tell trend from seasonality."""
    return 0 < n_weeks < MIN_WEEKS_TREND_VS_SEASON


def short_history_note(n_weeks: int) -> str:
    """The caveat said in the run and on the dashboards when the history is short."""
    return (
        f"Only {n_weeks} weeks of history (fewer than {MIN_WEEKS_TREND_VS_SEASON}): the model "
        "cannot tell trend and yearly seasonality apart well, so the baseline and the channel "
        "effects that move with the seasons are less certain than their intervals suggest."
    )


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use. The message names the variable."""


def env_text(setting: str) -> str:
    """The text of a setting from its environment variable, else its default."""
    variable, default = ENV[setting]
    return os.environ.get(variable, "").strip() or default


def whole_number(setting: str, text: str, minimum: int) -> int:
    """``text`` as an int of at least ``minimum``, or a ``SettingsError`` naming the variable."""
    if not text.strip().isdigit() or int(text) < minimum:
        raise SettingsError(f"{ENV[setting][0]} must be a whole number of at least {minimum}")
    return int(text)


def partition_keys(text: str) -> tuple[str, ...]:
    """Partition names from a comma-separated list (slugs, e.g. ``north,south``)."""
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in keys if not PARTITION_PATTERN.match(k)]
    if bad or len(set(keys)) != len(keys):
        raise SettingsError(
            "CLEARCOUNT_PARTITIONS must list distinct slugs (lower-case letters, digits, "
            "underscores), separated by commas"
        )
    return keys


@dataclass(frozen=True)
class Settings:
    """Where feeds arrive, where the warehouse lives, where outputs go, and what is published.

    Attributes:
        landing_dir: folder holding one sub-folder per feed.
        warehouse: path of the DuckDB file.
        output_dir: dashboards, model artifacts and scan reports go below it.
        min_cell: published counts from 1 to ``min_cell - 1`` are suppressed.
        window_weeks: the reporting window for PAC and the budget plan, in weeks (the last N).
        holiday_country: holiday calendar of the model (ISO 3166 code, e.g. ``US``, ``GB-ENG``).
        partitions: brands or regions of the partitioned path (empty: no partitioned path).
    """

    landing_dir: Path
    warehouse: Path
    output_dir: Path
    min_cell: int
    window_weeks: int = 52
    holiday_country: str = "US"
    partitions: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> Settings:
        """Read the ``CLEARCOUNT_*`` variables of ``ENV``, falling back to the defaults."""
        return cls.from_values({name: env_text(name) for name in ENV})

    @classmethod
    def from_values(cls, values: dict[str, str | int]) -> Settings:
        """Settings from texts or numbers keyed like ``ENV`` (paths made absolute).

        Raises:
            SettingsError: a number is not a whole number in range, or a partition name is
                not a slug.
        """
        return cls(
            landing_dir=Path(str(values["landing_dir"])).absolute(),
            warehouse=Path(str(values["warehouse"])).absolute(),
            output_dir=Path(str(values["output_dir"])).absolute(),
            min_cell=whole_number("min_cell", str(values["min_cell"]), 1),
            window_weeks=whole_number("window_weeks", str(values["window_weeks"]), 4),
            holiday_country=str(values["holiday_country"]).strip() or "US",
            partitions=partition_keys(str(values["partitions"])),
        )

    def for_partition(self, key: str) -> Settings:
        """The settings of one partition: its own landing folder, warehouse file and outputs.

        ``<landing_dir>/<key>/``, ``<warehouse folder>/<warehouse stem>/<key>.duckdb`` and
        ``<output_dir>/<key>/``.
        """
        if key not in self.partitions:
            raise SettingsError(f"'{key}' is not one of CLEARCOUNT_PARTITIONS")
        return replace(
            self,
            landing_dir=self.landing_dir / key,
            warehouse=self.warehouse.parent / self.warehouse.stem / f"{key}.duckdb",
            output_dir=self.output_dir / key,
            partitions=(),
        )
