"""Data and privacy page (``data_privacy.html``): every file scanned with its verdict and rule
ids (no values), the last load per feed, what each feed measured (gaps are not zeros), and the
small-cell rule in force.
"""

from __future__ import annotations

import polars as pl

from pipelines.commands.rejections import fixes
from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.page import (
    count,
    day,
    empty_note,
    esc,
    page,
    section,
    stamp,
    table_html,
)
from pipelines.settings import short_history_note, trend_and_season_confounded


def scans_summary(scans: pl.DataFrame) -> str:
    if scans.is_empty():
        return empty_note("No file has been scanned yet.")
    per_feed = (
        scans.group_by("feed")
        .agg(
            (pl.col("verdict") == "accepted").sum().alias("accepted"),
            (pl.col("verdict") == "rejected").sum().alias("rejected"),
            pl.col("scanned_at").max().alias("last_scan"),
        )
        .sort("feed")
    )
    return table_html(
        per_feed,
        [
            ("feed", "feed", esc),
            ("accepted", "scans accepted", count),
            ("rejected", "scans rejected", count),
            ("last_scan", "last scan", stamp),
        ],
        table_id="scan-summary-table",
        row_attr="feed",
    )


def scans_table(scans: pl.DataFrame) -> str:
    if scans.is_empty():
        return ""
    return table_html(
        scans,
        [
            ("scanned_at", "scanned", stamp),
            ("feed", "feed", esc),
            ("file_name", "file", esc),
            ("sha256", "sha256", lambda v: f"<code>{esc((v or '')[:12])}</code>"),
            ("rows", "rows", count),
            (
                "verdict",
                "verdict",
                lambda v: (
                    f'<span class="badge {"ok" if v == "accepted" else "bad"}">{esc(v)}</span>'
                ),
            ),
            ("rules", "rules hit (rule(column)=rows)", lambda v: esc(v) if v else "none"),
            ("rules", "what to do", lambda v: "<br>".join(esc(f) for f in fixes(v)) or "–"),
        ],
        table_id="scans-table",
    )


def loads_table(loaded: pl.DataFrame) -> str:
    if loaded.is_empty():
        return empty_note("Nothing has been loaded yet.")
    per_feed = (
        loaded.group_by("feed")
        .agg(
            pl.col("loaded_at").max().alias("loaded_at"),
            pl.len().alias("files"),
            pl.col("rows").sum().alias("rows"),
        )
        .sort("feed")
    )
    return table_html(
        per_feed,
        [
            ("feed", "feed", esc),
            ("loaded_at", "last load", stamp),
            ("files", "files in staging", count),
            ("rows", "rows in those files", count),
        ],
        table_id="loads-table",
        row_attr="feed",
    )


def coverage_html(data: DashboardData) -> str:
    """Each feed's date range and markets, the panel's unmeasured market-weeks, filled controls."""
    if data.feed_coverage.is_empty():
        return empty_note("No feed has been loaded into the weekly panel yet.")
    table = table_html(
        data.feed_coverage,
        [
            ("feed", "feed", esc),
            ("first_week", "first week", day),
            ("last_week", "last week", day),
            ("markets", "markets with rows", count),
            ("markets_starting_late", "markets starting later", count),
            ("markets_ending_early", "markets ending earlier", count),
        ],
        table_id="coverage-table",
        row_attr="feed",
    )
    notes = [
        "The weekly panel spans every feed's weeks (the union of their ranges). A market-week "
        "that calls or bookings did not measure, because a market's tracking started later or "
        "ended earlier or the spend feed does not cover the week, is a gap, not zero new "
        "patients: the model and the geo tests leave it out, and the weekly totals show no "
        "value for it."
    ]
    if not data.panel_coverage.is_empty():
        row = data.panel_coverage.row(0, named=True)
        notes.append(
            f'<span id="unmeasured">{count(row["unmeasured"])}</span> of '
            f"{count(row['market_weeks'])} market-weeks were not measured by every feed."
        )
        if trend_and_season_confounded(int(row["weeks"] or 0)):
            notes.append(f'<b id="short-history">{esc(short_history_note(int(row["weeks"])))}</b>')
    if not data.control_gaps.is_empty():
        filled = int(data.control_gaps["filled_cells"].sum())
        if filled:
            notes.append(
                f'<span id="control-gaps">{count(filled)}</span> measured market-week(s) had no '
                "value for a control in the controls feed; each was filled with that market's "
                "mean of the control."
            )
    return table + "".join(f'<p class="note">{n}</p>' for n in notes)


def render(data: DashboardData) -> str:
    floor = data.ctx.min_cell
    rule = (
        f'<p id="small-cell-rule">Small cells: every published count of 1 to {floor - 1} new '
        f"patients (CLEARCOUNT_MIN_CELL = {floor}) is suppressed on these pages, along with any "
        "figure from which it could be recovered. The warehouse keeps true counts; nothing "
        "individual-level ever enters it.</p>"
        '<p class="note">Every landing file is scanned before any of it is loaded. A file that '
        "breaks a rule is rejected whole and the warehouse keeps its previous data. Rejections "
        "name the file, rule, column and number of rows hit, never a value, and say what to "
        "do. Only CSV (UTF-8) and Parquet files are read: save spreadsheets in one of those "
        "formats.</p>"
    )
    parts = [
        section("Privacy rules in force", rule, "rules"),
        section("Files scanned per feed", scans_summary(data.file_scans), "scan-summary"),
        section("Last load per feed", loads_table(data.loaded_files), "loads"),
        section("What each feed measured", coverage_html(data), "coverage"),
        section("Every scan", scans_table(data.file_scans), "scans"),
    ]
    return page("data_privacy.html", "Data & privacy", data.ctx, "".join(parts))
