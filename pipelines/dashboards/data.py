"""Everything the dashboards show, read from the warehouse in one short read-only visit.

``read_dashboard_data`` returns a ``DashboardData`` of Polars frames; every observed count that
is published (last-touch new patients, weekly new patients, treated-market series) has already
gone through ``pipelines.small_cells.suppress_small_cells``, and any figure from which a
suppressed count could be recovered (last-touch PAC) is blanked with it. Page builders take a
``DashboardData`` and never touch the warehouse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime

import duckdb
import polars as pl

from pipelines.dashboards.page import PageContext
from pipelines.warehouse import sql_text, table_exists

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
    "next_experiments": "SELECT * FROM marts.next_experiments ORDER BY rank",
    "markets": "SELECT geo, label FROM staging.markets ORDER BY geo",
    "spend_seen": (
        "SELECT DISTINCT channel, max(sum(spend)) OVER (PARTITION BY channel) AS seen_high "
        "FROM core.weekly_spend GROUP BY channel, week_start ORDER BY channel"
    ),
    "file_scans": (
        "SELECT file_name, sha256, feed, rows, verdict, rules, scanned_at "
        "FROM audit.file_scans ORDER BY scanned_at DESC, feed, file_name"
    ),
    "loaded_files": (
        "SELECT feed, file_name, sha256, rows, loaded_at FROM audit.loaded_files "
        "ORDER BY feed, file_name"
    ),
    "weekly_totals": sql_text("dashboards/weekly_totals.sql"),
    "feed_coverage": sql_text("dashboards/feed_coverage.sql"),
    "panel_coverage": sql_text("dashboards/panel_coverage.sql"),
    "control_gaps": sql_text("core/control_gaps.sql"),
}
"""Frame name -> query. Tables that do not exist yet give empty frames."""

COUNT_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pac": (("last_touch_new_patients",), ("channel",)),
    "pac_history": (("last_touch_new_patients",), ("refreshed_at", "channel")),
    "fit_vs_actual": (("actual",), ("week_start",)),
    "geo_series": (("treated",), ("test_id", "in_test")),
    "weekly_totals": (("new_patients",), ("week_start",)),
}
"""Observed counts per frame, and the grouping whose totals a reader can see.

Frame -> (count columns, group columns) for ``suppress_small_cells``. A group of one row means
no total over those rows is published. A geo test's in-test weeks form one group: their total
can be recovered from the published effect and counterfactual, so a suppressed week gets a
complement there.
"""

DERIVED: dict[str, dict[str, str]] = {
    "pac": {"last_touch_pac": "last_touch_new_patients"},
    "pac_history": {"last_touch_pac": "last_touch_new_patients"},
}
"""Per frame: column -> the count it is computed from (blanked when that count is)."""


@dataclass
class DashboardData:
    """The frames behind the four pages (empty where a table does not exist yet).

    ``markets`` holds each market's code and label (the markets feed's display name);
    ``spend_seen`` the highest national weekly spend per channel in the whole history (USD),
    where the response curves stop being observed and start being extrapolated.
    """

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
    next_experiments: pl.DataFrame = field(default_factory=pl.DataFrame)
    markets: pl.DataFrame = field(default_factory=pl.DataFrame)
    spend_seen: pl.DataFrame = field(default_factory=pl.DataFrame)
    file_scans: pl.DataFrame = field(default_factory=pl.DataFrame)
    loaded_files: pl.DataFrame = field(default_factory=pl.DataFrame)
    weekly_totals: pl.DataFrame = field(default_factory=pl.DataFrame)
    feed_coverage: pl.DataFrame = field(default_factory=pl.DataFrame)
    panel_coverage: pl.DataFrame = field(default_factory=pl.DataFrame)
    control_gaps: pl.DataFrame = field(default_factory=pl.DataFrame)

    def market_names(self, geos: list[str] | tuple[str, ...]) -> list[str]:
        """Market labels where the markets feed has them (code in brackets), else codes."""
        names = (
            {r["geo"]: r["label"] for r in self.markets.iter_rows(named=True) if r["label"]}
            if not self.markets.is_empty()
            else {}
        )
        return [f"{names[g]} ({g})" if g in names else g for g in geos]


FIRST_TABLE = re.compile(r"\bFROM\s+([a-z_]+\.[a-z_]+)")


def _exists(conn: duckdb.DuckDBPyConnection, query: str) -> bool:
    """Whether the first table a ``TABLES`` query reads from exists."""
    return table_exists(conn, FIRST_TABLE.search(query).group(1))


def suppress(
    frame: pl.DataFrame, counts: tuple[str, ...], groups: tuple[str, ...], min_cell: int
) -> pl.DataFrame:
    """``suppress_small_cells`` on the rows whose counts are all present (others kept as is).

    Counts stored as floats are rounded to whole numbers first (published counts are whole).
    """
    from pipelines.small_cells import suppress_small_cells

    frame = frame.with_columns(pl.col(c).round(0).cast(pl.Int64) for c in counts)
    frame = frame.with_row_index("_row")
    present = frame.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in counts))
    missing = frame.filter(~pl.all_horizontal(pl.col(c).is_not_null() for c in counts))
    done = suppress_small_cells(present, list(counts), list(groups), min_cell=min_cell)
    return pl.concat([done, missing], how="vertical_relaxed").sort("_row").drop("_row")


def publishable(frames: dict[str, pl.DataFrame], min_cell: int) -> dict[str, pl.DataFrame]:
    """Pass every observed count through the small-cell filter; blank what derives from it."""
    out = dict(frames)
    for name, (counts, groups) in COUNT_COLUMNS.items():
        frame = out.get(name)
        if frame is None or frame.is_empty():
            continue
        if not all(c in frame.columns for c in (*counts, *groups)):
            raise ValueError(f"{name} lacks the columns the small-cell filter needs")
        filtered = suppress(frame, counts, groups, min_cell)
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
    channels: set[str] = set()
    for name in ("pac", "budget", "channel_summary", "response_curves"):
        frame = frames.get(name)
        if frame is not None and not frame.is_empty() and "channel" in frame.columns:
            channels.update(frame["channel"].drop_nulls().to_list())
    return PageContext(
        channels=tuple(sorted(channels)),
        refreshed_at=refreshed,
        window_start=w_start,
        window_end=w_end,
        data_start=d_start,
        data_end=d_end,
        min_cell=min_cell,
    )


def window_weeks(frame: pl.DataFrame, ctx: PageContext) -> pl.DataFrame:
    """The rows of a weekly frame (``week_start``) inside the reporting window."""
    if frame.is_empty() or ctx.window_start is None:
        return frame
    return frame.filter(pl.col("week_start").is_between(ctx.window_start, ctx.window_end))


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
