"""The ``geo_test_designs`` asset: a default holdout design per paid channel.

It runs late in the refresh, after ``pac_by_channel``, because the expected cost of a test uses
the MMM's PAC of this refresh. Thin: read the warehouse, call ``models.geo.design``, replace
``geo.proposed_designs``.
"""

import math
import time
from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.defs.experiment_design.next_experiments import (
    next_experiments,
    next_experiments_asset,
)
from pipelines.defs.geo.assets import write_geo_tables
from pipelines.partitions import WEEKLY, AssetFamily, families
from pipelines.resources import ClearcountSettings

GROUP = "experiment_design"
DESIGN_WEEKS = 8


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def geo_test_designs_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``geo_test_designs`` asset of ``family``."""

    @dg.asset(
        name="geo_test_designs",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key(k) for k in ("weekly_panel", "geo_test_results", "pac_by_channel")],
        kinds={"duckdb"},
        description=(
            f"geo.proposed_designs: a default {DESIGN_WEEKS}-week holdout per paid channel "
            "(stratified randomised markets, MDE at 80% power and alpha 0.10 from backtests, "
            "power re-estimated on held-out backtests, expected spend saved and lost new "
            "patients at the MMM's PAC of this refresh (marts.pac_by_channel), else the "
            "last-touch PAC)."
        ),
    )
    def _designs(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        from models.geo.analysis import parse_experiments
        from models.geo.design import propose_design
        from pipelines.commands.design_test import assumed_pac
        from pipelines.panel import read_experiments, read_panel

        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        started = time.perf_counter()
        proposed_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        rows, skipped = [], []
        with warehouse.get_connection() as conn:
            panel = read_panel(conn)
            past, _ = parse_experiments(read_experiments(conn))
            for channel in panel.channels:
                pac, source = assumed_pac(conn, channel)
                try:
                    p = propose_design(panel, channel, DESIGN_WEEKS, pac=pac, past_tests=past)
                except ValueError:
                    skipped.append(channel)
                    continue
                rows.append(
                    {
                        "channel": channel,
                        "weeks": p.weeks,
                        "treatment_geos": list(p.treatment_geos),
                        "control_geos": list(p.control_geos),
                        "mde_new_patients": p.mde_new_patients,
                        "mde_pct": _finite(p.mde_pct),
                        "power": p.power,
                        "expected_lost_new_patients": _finite(p.expected_lost_new_patients),
                        "expected_spend_saved": p.expected_spend_saved,
                        "assumed_pac": pac,
                        "assumed_pac_source": source,
                        "proposed_at": proposed_at,
                    }
                )
            frame = pl.DataFrame(
                rows,
                schema={
                    "channel": pl.String,
                    "weeks": pl.Int32,
                    "treatment_geos": pl.List(pl.String),
                    "control_geos": pl.List(pl.String),
                    "mde_new_patients": pl.Float64,
                    "mde_pct": pl.Float64,
                    "power": pl.Float64,
                    "expected_lost_new_patients": pl.Float64,
                    "expected_spend_saved": pl.Float64,
                    "assumed_pac": pl.Float64,
                    "assumed_pac_source": pl.String,
                    "proposed_at": pl.Datetime("us"),
                },
            )
            write_geo_tables(conn, {"geo.proposed_designs": frame.sort("channel")})
        context.log.info(f"geo designs: {len(rows)} proposed, {len(skipped)} skipped")
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": "geo.proposed_designs",
                "dagster/row_count": len(rows),
                "channels_skipped": dg.MetadataValue.md(", ".join(skipped) or "none"),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )

    return _designs


geo_test_designs = geo_test_designs_asset()

defs = dg.Definitions(
    assets=[
        geo_test_designs,
        next_experiments,
        *(
            build(f)
            for f in families()
            if f.partitioned
            for build in (geo_test_designs_asset, next_experiments_asset)
        ),
    ]
)
