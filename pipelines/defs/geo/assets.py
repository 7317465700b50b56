"""Geo-test assets: analyse every test of the experiments feed, and propose default designs.

Thin: read the warehouse, call ``models.geo``, write the tables of ``sql/geo/tables.sql`` in one
transaction. Metadata holds counts, test ids and value-free reasons only.
"""

import math
import time
from datetime import UTC, datetime

import dagster as dg
import duckdb
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.warehouse import sql_text, transaction

GROUP = "geo"
POOL = "warehouse"
DESIGN_WEEKS = 8
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


def _write(conn: duckdb.DuckDBPyConnection, sql_file: str, frames: dict[str, pl.DataFrame]) -> None:
    """Register ``frames`` under their names and run ``sql/<sql_file>`` in one transaction."""
    conn.execute(sql_text("geo/tables.sql"))
    for name, frame in frames.items():
        conn.register(name, frame.to_arrow())
    try:
        with transaction(conn, "writing the geo tables", GeoWriteError):
            conn.execute(sql_text(sql_file))
    finally:
        for name in frames:
            conn.unregister(name)


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def result_frames(results: list, weeks: np.ndarray) -> dict[str, pl.DataFrame]:
    """The frames ``_geo_results``, ``_geo_series``, ``_geo_messages``, ``_geo_crosscheck``."""
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
        "_geo_results": res,
        "_geo_series": series_frame,
        "_geo_messages": messages,
        "_geo_crosscheck": cross,
    }


@dg.asset(
    group_name=GROUP,
    pool=POOL,
    deps=["weekly_panel", "experiments"],
    kinds={"duckdb"},
    description=(
        "marts.geo_test_results: every test of the experiments feed analysed by synthetic "
        "control on the summed treatment markets (regularised and ridge-augmented as "
        "time-series cross-validation says), with a p-value and 90% interval of the cumulative "
        "effect (placebo-in-space with 30 or more control markets, else conformal in time), "
        "incremental spend from the spend feed and the test's PAC, during the test and with up "
        "to 8 weeks of carry-over after it. Unmeasured market-weeks are never fitted. Also "
        "geo.test_series "
        "(weekly actual vs counterfactual), geo.test_messages (why a test was not analysed) "
        "and geo.test_crosscheck (DiD)."
    ),
)
def geo_test_results(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    from models.geo.analysis import analyze_tests, parse_experiments
    from pipelines.panel import read_experiments, read_panel

    started = time.perf_counter()
    with duckdb.get_connection() as conn:
        panel = read_panel(conn)
        tests, malformed = parse_experiments(read_experiments(conn))
        results = malformed + analyze_tests(panel, tests)
        _write(conn, "geo/write_results.sql", result_frames(results, panel.weeks))
    failed = [r for r in results if not r.ok]
    analysed = [r for r in results if r.ok]
    context.log.info(
        f"geo tests: {len(analysed)} analysed, {len(failed)} not analysed, "
        f"{time.perf_counter() - started:.1f} s"
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


@dg.asset(
    group_name=GROUP,
    pool=POOL,
    deps=["weekly_panel", "geo_test_results", "pac_by_channel"],
    kinds={"duckdb"},
    description=(
        f"geo.proposed_designs: a default {DESIGN_WEEKS}-week holdout per paid channel "
        "(stratified randomised markets, MDE at 80% power and alpha 0.10 from backtests, power "
        "re-estimated on held-out backtests, expected spend saved and lost new patients at the "
        "MMM's PAC of this refresh (marts.pac_by_channel), else the last-touch PAC)."
    ),
)
def geo_test_designs(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    from models.geo.analysis import parse_experiments
    from models.geo.design import propose_design
    from pipelines.commands.design_test import assumed_pac
    from pipelines.panel import read_experiments, read_panel

    started = time.perf_counter()
    proposed_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    rows, skipped = [], []
    with duckdb.get_connection() as conn:
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
        _write(conn, "geo/write_designs.sql", {"_geo_designs": frame})
    context.log.info(f"geo designs: {len(rows)} proposed, {len(skipped)} skipped")
    return dg.MaterializeResult(
        metadata={
            "dagster/table_name": "geo.proposed_designs",
            "dagster/row_count": len(rows),
            "channels_skipped": dg.MetadataValue.md(", ".join(skipped) or "none"),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
