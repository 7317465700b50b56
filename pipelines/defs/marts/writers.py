"""Warehouse writers of the marts: plain functions of a DuckDB connection (no Dagster).

``write_pac_by_channel`` rebuilds ``marts.pac_by_channel`` and appends it to
``marts.pac_history`` in one transaction; ``write_budget_plan`` replaces ``marts.budget_plan``.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import polars as pl

from models.budget import BudgetPlan, SpendRange
from pipelines.warehouse import sql_text, transaction


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``marts.pac_by_channel`` and ``marts.pac_history`` when missing."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    conn.execute(sql_text("marts/tables.sql"))


def _set_variables(conn: duckdb.DuckDBPyConnection, **values: object) -> None:
    for name, value in values.items():
        conn.execute(f"SET VARIABLE {name} = ?", [value])


def write_pac_by_channel(conn: duckdb.DuckDBPyConnection, refreshed_at: datetime) -> int:
    """Rebuild ``marts.pac_by_channel`` and append it to ``marts.pac_history`` atomically.

    Reads ``core.weekly_spend``, ``core.last_touch``, ``mmm.channel_summary`` and
    ``marts.geo_test_results``. Returns the number of channel rows written.
    """
    ensure_tables(conn)
    with transaction(conn, "writing marts.pac_by_channel"):
        _set_variables(conn, refreshed_at=refreshed_at)
        conn.execute(sql_text("marts/pac_by_channel.sql"))
    row = conn.execute("SELECT count(*) FROM marts.pac_by_channel").fetchall()[0]
    return int(row[0]) if row else 0


def mmm_window(conn: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """First and last week of the MMM's reporting window (``mmm.channel_summary``)."""
    row = conn.execute(
        "SELECT min(window_start), max(window_end) FROM mmm.channel_summary"
    ).fetchall()[0]
    if not row or row[0] is None:
        raise RuntimeError("mmm.channel_summary is empty: materialise mmm_fit first")
    return row[0], row[1]


def spend_range(
    conn: duckdb.DuckDBPyConnection, channels: tuple[str, ...], start: date, end: date
) -> tuple[SpendRange, int]:
    """Weekly national spend range per channel (in ``channels`` order) and weeks in the window.

    Channels absent from ``core.weekly_spend`` get a zero range.
    """
    frame = conn.sql(sql_text("marts/spend_range.sql"), params=[start, end]).pl()
    by = {r["channel"]: r for r in frame.iter_rows(named=True)}

    def col(name: str) -> np.ndarray:
        return np.array([float(by.get(c, {}).get(name) or 0.0) for c in channels])

    row = conn.execute(
        "SELECT count(DISTINCT week_start) FROM core.weekly_panel WHERE week_start BETWEEN ? AND ?",
        [start, end],
    ).fetchall()[0]
    n_weeks = int(row[0]) if row else 0
    return (
        SpendRange(
            window_low=col("window_low"),
            window_high=col("window_high"),
            seen_low=col("seen_low"),
            seen_high=col("seen_high"),
        ),
        n_weeks,
    )


def plan_frame(plan: BudgetPlan, cautious: BudgetPlan | None = None) -> pl.DataFrame:
    """``plan.to_frame()`` with the plan's gain over current spend (posterior mean and 90%
    interval, new patients in the window, same on every row) and, when given, the cautious
    (CVaR) plan's spend, new patients, gain and probability of beating current spend."""
    from models.budget import plan_gain

    gain, lo, hi = plan_gain(plan)
    frame = plan.to_frame().with_columns(
        pl.lit(gain).alias("gain_new_patients"),
        pl.lit(lo).alias("gain_new_patients_lo"),
        pl.lit(hi).alias("gain_new_patients_hi"),
    )
    if cautious is None:
        return frame
    c_gain, c_lo, c_hi = plan_gain(cautious)
    return frame.with_columns(
        pl.Series("cautious_spend", cautious.recommended_spend.astype(float)),
        pl.Series("cautious_new_patients", cautious.recommended_draws.mean(axis=0)),
        pl.lit(c_gain).alias("cautious_gain_new_patients"),
        pl.lit(c_lo).alias("cautious_gain_new_patients_lo"),
        pl.lit(c_hi).alias("cautious_gain_new_patients_hi"),
        pl.lit(cautious.prob_beats_current).alias("cautious_prob_beats_current"),
    )


def write_budget_plan(
    conn: duckdb.DuckDBPyConnection,
    plan: BudgetPlan,
    window: tuple[date, date],
    refreshed_at: datetime,
    cautious: BudgetPlan | None = None,
) -> pl.DataFrame:
    """Replace ``marts.budget_plan`` with ``plan`` (one row per channel, with the cautious
    plan's columns when given: :func:`plan_frame`); return the frame."""
    budget_plan_frame = plan_frame(plan, cautious)
    conn.register("budget_plan_frame", budget_plan_frame)
    try:
        with transaction(conn, "writing marts.budget_plan"):
            _set_variables(
                conn, refreshed_at=refreshed_at, window_start=window[0], window_end=window[1]
            )
            conn.execute(sql_text("marts/budget_plan.sql"))
    finally:
        conn.unregister("budget_plan_frame")
    return budget_plan_frame
