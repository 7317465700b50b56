"""The weekly panel: build ``core.*`` from staging, and read it back as a ``models.panel.Panel``."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from models.panel import Panel
from pipelines.warehouse import apply_schema, sql_text, transaction

PANEL_SQL = "core/weekly_panel.sql"
CONTROL_GAPS_SQL = "core/control_gaps.sql"


class PanelError(RuntimeError):
    """The panel could not be built or read. Messages carry no values."""


def build_panel_tables(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild ``core.weekly_panel``, ``core.weekly_spend`` and ``core.last_touch`` in one
    transaction.

    Returns:
        Counts: ``weeks``, ``geos``, ``channels``, ``sources``, ``panel_rows``, ``spend_rows``,
        ``last_touch_rows``, ``observed_cells`` (panel rows a feed measured; the rest are
        gaps).
    """
    apply_schema(conn)
    with transaction(conn, "building the weekly panel", PanelError):
        conn.execute(sql_text(PANEL_SQL))
    (weeks, geos, panel_rows, observed) = conn.execute(
        "SELECT count(DISTINCT week_start), count(DISTINCT geo), count(*), "
        "count(*) FILTER (WHERE observed) FROM core.weekly_panel"
    ).fetchall()[0]
    (channels, spend_rows) = conn.execute(
        "SELECT count(DISTINCT channel), count(*) FROM core.weekly_spend"
    ).fetchall()[0]
    (sources, lt_rows) = conn.execute(
        "SELECT count(DISTINCT source), count(*) FROM core.last_touch"
    ).fetchall()[0]
    return {
        "weeks": int(weeks),
        "geos": int(geos),
        "channels": int(channels),
        "sources": int(sources),
        "panel_rows": int(panel_rows),
        "spend_rows": int(spend_rows),
        "last_touch_rows": int(lt_rows),
        "observed_cells": int(observed),
    }


def read_panel(conn: duckdb.DuckDBPyConnection) -> Panel:
    """Read ``core.weekly_panel``/``core.weekly_spend`` (and ``staging.controls``) as a Panel.

    Markets and channels are in sorted order; weeks ascending. Controls are pivoted from
    ``staging.controls`` onto the panel grid, names sorted; a missing (market, week) value of a
    control is filled with that market's mean of the control (the overall mean if the market
    has none). The fill is reported, not silent: ``control_gaps`` counts the filled cells and
    the ``weekly_panel`` asset and the data page say so.

    Returns:
        ``Panel`` with ``spend`` (n_geos, n_weeks, n_channels) USD as float64,
        ``new_patients`` (n_geos, n_weeks) as float64 whole numbers, ``population`` (n_geos,)
        float64, ``controls`` (n_geos, n_weeks, n_controls) float64 and ``observed``
        (n_geos, n_weeks) bool (False where a feed did not measure the market that week;
        ``new_patients`` and ``spend`` are placeholder zeros there).

    Raises:
        PanelError: when the panel is empty (no refresh has built it yet).
    """
    frame = conn.sql(
        "SELECT week_start, geo, population, new_patients, observed FROM core.weekly_panel "
        "ORDER BY geo, week_start"
    ).pl()
    if frame.height == 0:
        raise PanelError("core.weekly_panel is empty: run the ingest assets (weekly_refresh) first")
    geos = tuple(sorted(frame["geo"].unique().to_list()))
    weeks_list = sorted(frame["week_start"].unique().to_list())
    weeks = np.array(weeks_list, dtype="datetime64[D]")
    n_g, n_w = len(geos), len(weeks)
    if frame.height != n_g * n_w:
        raise PanelError("core.weekly_panel is not a full week x market grid")
    new_patients = frame["new_patients"].to_numpy().astype(np.float64).reshape(n_g, n_w)
    observed = frame["observed"].fill_null(True).to_numpy().astype(bool).reshape(n_g, n_w)
    population = (
        frame.group_by("geo")
        .agg(pl.col("population").first())
        .sort("geo")["population"]
        .to_numpy()
        .astype(np.float64)
    )

    spend_frame = conn.sql(
        "SELECT geo, week_start, channel, spend FROM core.weekly_spend "
        "ORDER BY geo, week_start, channel"
    ).pl()
    channels = tuple(sorted(spend_frame["channel"].unique().to_list()))
    n_c = len(channels)
    if spend_frame.height != n_g * n_w * n_c:
        raise PanelError("core.weekly_spend is not a full week x market x channel grid")
    spend = spend_frame["spend"].to_numpy().astype(np.float64).reshape(n_g, n_w, n_c)

    controls, names = _read_controls(conn, geos, weeks)
    return Panel(
        weeks=weeks,
        geos=geos,
        channels=channels,
        population=population,
        spend=spend,
        new_patients=new_patients,
        controls=controls,
        control_names=names,
        observed=observed,
    )


def _read_controls(
    conn: duckdb.DuckDBPyConnection, geos: tuple[str, ...], weeks: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Pivot ``staging.controls`` to (n_geos, n_weeks, n_controls), gaps filled by means."""
    frame = conn.sql("SELECT geo, week_start, name, value FROM staging.controls").pl()
    names = tuple(sorted(frame["name"].unique().to_list())) if frame.height else ()
    n_g, n_w = len(geos), len(weeks)
    values = np.full((n_g, n_w, len(names)), np.nan)
    if names:
        g_index = {g: i for i, g in enumerate(geos)}
        w_index = {w: i for i, w in enumerate(weeks.astype("datetime64[D]").tolist())}
        k_index = {k: i for i, k in enumerate(names)}
        for geo, week, name, value in frame.iter_rows():
            gi, wi = g_index.get(geo), w_index.get(week)
            if gi is not None and wi is not None:
                values[gi, wi, k_index[name]] = value
        for k in range(len(names)):
            block = values[:, :, k]
            overall = np.nanmean(block) if np.isfinite(block).any() else 0.0
            for g in range(n_g):
                row = block[g]
                fill = np.nanmean(row) if np.isfinite(row).any() else overall
                row[~np.isfinite(row)] = fill
    return values, names


def control_gaps(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per control name, the observed panel cells (market, week) that have no value and are
    filled with a mean by ``read_panel``; names with no gap are left out."""
    return {name: int(n) for name, n in conn.execute(sql_text(CONTROL_GAPS_SQL)).fetchall() if n}


def read_experiments(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The experiments feed as staged: one row per (test_id, geo).

    Columns: ``test_id``, ``channel``, ``geo``, ``role`` (treatment|control), ``start_week``,
    ``end_week`` (dates, Mondays), ``design`` (holdout|scale_up); sorted by test_id, role, geo.
    """
    return conn.sql(
        "SELECT test_id, channel, geo, role, start_week, end_week, design "
        "FROM staging.experiments ORDER BY test_id, role DESC, geo"
    ).pl()
