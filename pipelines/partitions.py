"""The two copies of the asset graph: the weekly refresh, and the partitioned path.

A hospital group with several brands or regions (or an agency with several clients) lists them
in ``CLEARCOUNT_PARTITIONS`` (for example ``north,south``). Each partition has its own landing
folder, warehouse file and outputs (``Settings.for_partition``), so partitions are fitted in
parallel runs without sharing a DuckDB writer. The partitioned assets carry the key prefix
``partitioned`` and a static partitions definition; the unpartitioned weekly graph stays as it
is, because ``dagster asset materialize --select '*'`` (and any job over all assets) fails as
soon as one selected asset is partitioned.

Each domain builds its assets once per :class:`AssetFamily`; an asset body calls
:meth:`AssetFamily.scope` to get the settings and warehouse of the run (whole, or one
partition's).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings, env_text, partition_keys

PARTITIONED_PREFIX = "partitioned"
WAREHOUSE_POOL = "warehouse"


@dataclass(frozen=True)
class AssetFamily:
    """One copy of the asset graph.

    Attributes:
        partitions_def: None for the weekly (unpartitioned) graph; the static partitions of
            ``CLEARCOUNT_PARTITIONS`` for the partitioned path.
    """

    partitions_def: dg.StaticPartitionsDefinition | None = None

    @property
    def partitioned(self) -> bool:
        return self.partitions_def is not None

    @property
    def prefix(self) -> list[str]:
        """Key prefix of the family's assets (empty for the weekly graph)."""
        return [PARTITIONED_PREFIX] if self.partitioned else []

    def key(self, name: str) -> dg.AssetKey:
        """The asset key of ``name`` in this family."""
        return dg.AssetKey([*self.prefix, name])

    def group(self, name: str) -> str:
        """The UI group of a domain in this family (``partitioned_<domain>`` when partitioned)."""
        return f"{PARTITIONED_PREFIX}_{name}" if self.partitioned else name

    @property
    def pool(self) -> str | None:
        """Concurrency pool of warehouse writers.

        The weekly graph's writers share the pool ``warehouse`` (one slot in ``dagster.yaml``:
        DuckDB allows one writing process per file). Partitions write to their own files; their
        runs are limited to one per partition by the run queue (``docs/deploy.md``).
        """
        return None if self.partitioned else WAREHOUSE_POOL

    def scope(
        self,
        context: dg.AssetExecutionContext | dg.OpExecutionContext,
        settings: Settings,
        duckdb: DuckDBResource,
    ) -> tuple[Settings, DuckDBResource]:
        """The settings and warehouse this run reads and writes.

        The weekly graph: ``settings`` and the ``duckdb`` resource as given. A partition: its
        landing folder, outputs and warehouse file (``Settings.for_partition``).
        """
        if not self.partitioned:
            return settings, duckdb
        part = settings.for_partition(context.partition_key)
        return part, DuckDBResource(database=str(part.warehouse))


WEEKLY = AssetFamily()


def families() -> list[AssetFamily]:
    """The weekly graph, plus the partitioned path when ``CLEARCOUNT_PARTITIONS`` names any."""
    keys = partition_keys(env_text("partitions"))
    if not keys:
        return [WEEKLY]
    return [WEEKLY, AssetFamily(dg.StaticPartitionsDefinition(list(keys)))]
