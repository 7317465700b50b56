"""The ``geo_test_results`` asset: analyse every test of the experiments feed.

Thin: read the warehouse, call ``models.geo``, replace the tables of ``sql/geo/tables.sql`` in
one transaction. Metadata holds counts, test ids and value-free reasons only. A test's status is
``conclusive`` when the 90% interval of its effect excludes zero, else ``inconclusive``.
"""

import math
import time

import dagster as dg
import duckdb
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.partitions import WEEKLY, AssetFamily, families
from pipelines.resources import ClearcountSettings
from pipelines.warehouse import replace_tables, sql_text

GROUP = "geo"
TABLES_SQL = "geo/tables.sql"
WITH_CARRYOVER = (
    "incremental_new_patients_with_carryover",
    "incremental_new_patients_with_carryover_lo",
    "incremental_new_patients_with_carryover_hi",
    "pac_with_carryover",
    "pac_with_carryover_lo",
    "pac_with_carryover_hi",
)
"""Columns of marts.geo_test_results measured over the test weeks plus the carry-over weeks."""


class GeoWriteError(RuntimeError):
    """Writing the geo tables failed; the previous rows are kept. No values in the message."""


def write_geo_tables(conn: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    """Create the geo tables if needed and replace the rows of ``frames`` in one transaction."""
    conn.execute(sql_text(TABLES_SQL))
    replace_tables(conn, frames, "writing the geo tables", GeoWriteError)


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def result_frames(results: list, weeks: np.ndarray) -> dict[str, pl.DataFrame]:
    """The new rows of ``marts.geo_test_results``, ``geo.test_series``, ``geo.test_messages`` and
    ``geo.test_crosscheck``, keyed by table."""
    ok = [r for r in results if r.ok]
    res = pl.DataFrame(
        {
            "test_id": [r.test_id for r in ok],
            "channel": [r.channel for r in ok],
            "design": [r.design for r in ok],
            "start_week": [r.start_week for r in ok],
            "end_week": [r.end_week for r in ok],
            "treatment_geos": [r.treatment_geos for r in ok],
            **{
                col: [_finite(getattr(r, col)) for r in ok]
                for col in (
                    "incremental_new_patients",
                    "incremental_new_patients_lo",
                    "incremental_new_patients_hi",
                    "lift_pct",
                    "p_value",
                    "incremental_spend",
                    "pac",
                    "pac_lo",
                    "pac_hi",
                )
            },
            "method": [r.method for r in ok],
            "carryover_weeks": [r.carryover_weeks for r in ok],
            **{col: [_finite(getattr(r, col)) for r in ok] for col in WITH_CARRYOVER},
        },
        schema_overrides={
            "start_week": pl.Date,
            "end_week": pl.Date,
            "treatment_geos": pl.Int32,
            "carryover_weeks": pl.Int32,
            **dict.fromkeys(WITH_CARRYOVER, pl.Float64),
        },
    )
    series = []
    for r in ok:
        d = r.details
        series.append(
            pl.DataFrame(
                {
                    "test_id": r.test_id,
                    "week_start": weeks[d["week_index"]].astype("datetime64[D]"),
                    "treated": d["treated"],
                    "counterfactual": d["counterfactual"],
                    "counterfactual_lo": d["counterfactual_lo"],
                    "counterfactual_hi": d["counterfactual_hi"],
                    "in_test": d["in_test"],
                }
            )
        )
    series_frame = (
        pl.concat(series)
        if series
        else pl.DataFrame(
            schema={
                "test_id": pl.String,
                "week_start": pl.Date,
                "treated": pl.Float64,
                "counterfactual": pl.Float64,
                "counterfactual_lo": pl.Float64,
                "counterfactual_hi": pl.Float64,
                "in_test": pl.Boolean,
            }
        )
    )
    messages = pl.DataFrame(
        {
            "test_id": [r.test_id for r in results],
            "ok": [r.ok for r in results],
            "message": [r.message or "analysed" for r in results],
        },
        schema={"test_id": pl.String, "ok": pl.Boolean, "message": pl.String},
    )
    cross = pl.DataFrame(
        {
            "test_id": [r.test_id for r in ok],
            "method": ["did_twfe_cluster_robust"] * len(ok),
            "incremental_new_patients": [r.details["did"]["incremental_new_patients"] for r in ok],
            "incremental_new_patients_lo": [r.details["did"]["lo"] for r in ok],
            "incremental_new_patients_hi": [r.details["did"]["hi"] for r in ok],
        },
        schema={
            "test_id": pl.String,
            "method": pl.String,
            "incremental_new_patients": pl.Float64,
            "incremental_new_patients_lo": pl.Float64,
            "incremental_new_patients_hi": pl.Float64,
        },
    )
    return {
        "marts.geo_test_results": res.with_columns(
            pl.when(
                (pl.col("incremental_new_patients_lo") > 0)
                | (pl.col("incremental_new_patients_hi") < 0)
            )
            .then(pl.lit("conclusive"))
            .otherwise(pl.lit("inconclusive"))
            .alias("status")
        ).sort("test_id"),
        "geo.test_series": series_frame.sort("test_id", "week_start"),
        "geo.test_messages": messages.sort("test_id"),
        "geo.test_crosscheck": cross.sort("test_id"),
    }


def geo_test_results_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``geo_test_results`` asset of ``family``."""

    @dg.asset(
        name="geo_test_results",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key("weekly_panel"), family.key("experiments")],
        kinds={"duckdb"},
        description=(
            "marts.geo_test_results: every test of the experiments feed analysed by synthetic "
            "control on the summed treatment markets (regularised and ridge-augmented as "
            "time-series cross-validation says), with a p-value and 90% interval of the "
            "cumulative effect (placebo-in-space with 30 or more control markets, else "
            "conformal in time), incremental spend from the spend feed and the test's PAC, "
            "during the test and with up to 8 weeks of carry-over after it. Unmeasured "
            "market-weeks are never fitted. Also geo.test_series (weekly actual vs "
            "counterfactual), geo.test_messages (why a test was not analysed) and "
            "geo.test_crosscheck (DiD). No experiments feed: no rows."
        ),
    )
    def _results(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        from models.geo.analysis import analyze_tests, parse_experiments
        from pipelines.panel import read_experiments, read_panel

        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        started = time.perf_counter()
        with warehouse.get_connection() as conn:
            panel = read_panel(conn)
            tests, malformed = parse_experiments(read_experiments(conn))
            results = malformed + analyze_tests(panel, tests)
            write_geo_tables(conn, result_frames(results, panel.weeks))
        failed = [r for r in results if not r.ok]
        analysed = [r for r in results if r.ok]
        context.log.info(
            f"geo tests: {len(analysed)} analysed, {len(failed)} not analysed, "
            f"{time.perf_counter() - started:.1f} s"
        )
        if not results:
            context.log.info(
                "no geo test in the experiments feed: the MMM runs uncalibrated and says so"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": "marts.geo_test_results",
                "dagster/row_count": len(analysed),
                "tests_analysed": len(analysed),
                "tests_failed": len(failed),
                "analysed": dg.MetadataValue.md(
                    "\n".join(f"- `{r.test_id}` ({r.method})" for r in analysed) or "none"
                ),
                "failed": dg.MetadataValue.md(
                    "\n".join(f"- `{r.test_id}`: {r.message}" for r in failed) or "none"
                ),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )

    return _results


geo_test_results = geo_test_results_asset()

defs = dg.Definitions(
    assets=[
        geo_test_results,
        *(geo_test_results_asset(f) for f in families() if f.partitioned),
    ]
)
