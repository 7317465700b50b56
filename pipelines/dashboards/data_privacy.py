"""Data and privacy page (``data_privacy.html``): every file scanned with its verdict and rule
ids (no values), the last load per feed, and the small-cell rule in force.
"""

from __future__ import annotations

import polars as pl

from pipelines.commands.rejections import fixes
from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.page import count, empty_note, esc, page, section, stamp, table_html


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
        section("Every scan", scans_table(data.file_scans), "scans"),
    ]
    return page("data_privacy.html", "Data & privacy", data.ctx, "".join(parts))
