"""Everything the dashboards show, read from the warehouse in one short read-only visit.

``read_dashboard_data`` returns a ``DashboardData`` of Polars frames; every observed count that
is published (last-touch new patients, weekly new patients, treated-market series) has already
gone through ``pipelines.small_cells.suppress_small_cells``, and any figure from which a
suppressed count could be recovered (last-touch PAC) is blanked with it. Page builders take a
``DashboardData`` and never touch the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

import duckdb
import polars as pl

from pipelines.dashboards.page import PageContext

TABLES: dict[str, str] = {
    "pac": "SELECT * FROM marts.pac_by_channel ORDER BY channel",
    "pac_history": "SELECT * FROM marts.pac_history ORDER BY refreshed_at, channel",
    "budget": "SELECT * FROM marts.budget_plan ORDER BY channel",
    "channel_summary": "SELECT * FROM mmm.channel_summary ORDER BY channel",
    "contributions": "SELECT * FROM mmm.contributions ORDER BY week_start, component",
    "response_curves": "SELECT * FROM mmm.response_curves ORDER BY channel, weekly_spend",
    "fit_vs_actual": "SELECT * FROM mmm.fit_vs_actual ORDER BY week_start",
    "diagnostics": "SELECT * FROM mmm.diagnostics ORDER BY metric",
    "fit_status": "SELECT * FROM mmm.fit_status ORDER BY fitted_at",
    "geo_results": "SELECT * FROM marts.geo_test_results ORDER BY start_week, test_id",
    "geo_series": "SELECT * FROM geo.test_series ORDER BY test_id, week_start",
    "geo_messages": "SELECT * FROM geo.test_messages ORDER BY test_id",
    "geo_designs": "SELECT * FROM geo.proposed_designs ORDER BY channel, weeks",
    "file_scans": (
        "SELECT file_name, sha256, feed, rows, verdict, rules, scanned_at "
        "FROM audit.file_scans ORDER BY scanned_at DESC, feed, file_name"
    ),
    "loaded_files": (
        "SELECT feed, file_name, sha256, rows, loaded_at FROM audit.loaded_files "
        "ORDER BY feed, file_name"
    ),
    "weekly_totals": (
        "SELECT week_start, sum(new_patients) AS new_patients FROM core.weekly_panel "
        "GROUP BY week_start ORDER BY week_start"
    ),
}
"""Frame name -> query. Tables that do not exist yet give empty frames."""

COUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "pac": ("last_touch_new_patients",),
    "pac_history": ("last_touch_new_patients",),
    "fit_vs_actual": ("actual",),
    "geo_series": ("treated",),
    "weekly_totals": ("new_patients",),
}
"""Observed counts per frame: these go through the small-cell filter before publishing."""

DERIVED: dict[str, dict[str, str]] = {
    "pac": {"last_touch_pac": "last_touch_new_patients"},
    "pac_history": {"last_touch_pac": "last_touch_new_patients"},
}
"""Per frame: column -> the count it is computed from (blanked when that count is)."""


@dataclass
class DashboardData:
    """The frames behind the four pages (empty where a table does not exist yet)."""

    ctx: PageContext
    pac: pl.DataFrame = field(default_factory=pl.DataFrame)
    pac_history: pl.DataFrame = field(default_factory=pl.DataFrame)
    budget: pl.DataFrame = field(default_factory=pl.DataFrame)
    channel_summary: pl.DataFrame = field(default_factory=pl.DataFrame)
    contributions: pl.DataFrame = field(default_factory=pl.DataFrame)
    response_curves: pl.DataFrame = field(default_factory=pl.DataFrame)
    fit_vs_actual: pl.DataFrame = field(default_factory=pl.DataFrame)
    diagnostics: pl.DataFrame = field(default_factory=pl.DataFrame)
    fit_status: pl.DataFrame = field(default_factory=pl.DataFrame)
    geo_results: pl.DataFrame = field(default_factory=pl.DataFrame)
    geo_series: pl.DataFrame = field(default_factory=pl.DataFrame)
    geo_messages: pl.DataFrame = field(default_factory=pl.DataFrame)
    geo_designs: pl.DataFrame = field(default_factory=pl.DataFrame)
    file_scans: pl.DataFrame = field(default_factory=pl.DataFrame)
    loaded_files: pl.DataFrame = field(default_factory=pl.DataFrame)
    weekly_totals: pl.DataFrame = field(default_factory=pl.DataFrame)


def _exists(conn: duckdb.DuckDBPyConnection, query: str) -> bool:
    name = query.split(" FROM ", 1)[1].split()[0]
    schema, table = name.split(".")
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(rows[0][0])


def publishable(frames: dict[str, pl.DataFrame], min_cell: int) -> dict[str, pl.DataFrame]:
    """Pass every observed count through the small-cell filter; blank what derives from it."""
    from pipelines.small_cells import suppress_small_cells

    out = dict(frames)
    for name, cols in COUNT_COLUMNS.items():
        frame = out.get(name)
        if frame is None or frame.is_empty():
            continue
        present = [c for c in cols if c in frame.columns]
        if not present:
            continue
        filtered = suppress_small_cells(frame, present, min_cell=min_cell)
        for derived, source in DERIVED.get(name, {}).items():
            if derived in filtered.columns:
                filtered = filtered.with_columns(
                    pl.when(pl.col(source).is_null())
                    .then(None)
                    .otherwise(pl.col(derived))
                    .alias(derived)
                )
        out[name] = filtered
    return out


def context_of(frames: dict[str, pl.DataFrame], min_cell: int) -> PageContext:
    """Refresh time and windows from the frames (latest refresh of the marts)."""
    pac, totals = frames.get("pac"), frames.get("weekly_totals")
    refreshed: datetime | None = None
    w_start: date | None = None
    w_end: date | None = None
    if pac is not None and not pac.is_empty():
        refreshed = pac["refreshed_at"].max()
        w_start, w_end = pac["window_start"].min(), pac["window_end"].max()
    else:
        cs = frames.get("channel_summary")
        if cs is not None and not cs.is_empty():
            w_start, w_end = cs["window_start"].min(), cs["window_end"].max()
    d_start = d_end = None
    if totals is not None and not totals.is_empty():
        d_start, d_end = totals["week_start"].min(), totals["week_start"].max()
    return PageContext(
        refreshed_at=refreshed,
        window_start=w_start,
        window_end=w_end,
        data_start=d_start,
        data_end=d_end,
        min_cell=min_cell,
    )


def read_dashboard_data(conn: duckdb.DuckDBPyConnection, min_cell: int) -> DashboardData:
    """Read every dashboard frame (empty where the table is missing) and make it publishable."""
    frames: dict[str, pl.DataFrame] = {}
    for name, query in TABLES.items():
        frames[name] = conn.sql(query).pl() if _exists(conn, query) else pl.DataFrame()
    frames = publishable(frames, min_cell)
    return from_frames(frames, min_cell)


def from_frames(frames: dict[str, pl.DataFrame], min_cell: int) -> DashboardData:
    """A ``DashboardData`` from already publishable frames (missing names are empty)."""
    names = {f.name for f in fields(DashboardData)} - {"ctx"}
    return DashboardData(
        ctx=context_of(frames, min_cell),
        **{k: v for k, v in frames.items() if k in names},
    )
