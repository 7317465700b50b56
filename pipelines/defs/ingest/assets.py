"""Ingest assets: one per landing feed (scan, then load accepted files), and the weekly panel.

Each feed asset carries a blocking ``files_accepted`` check: when any current file of the feed
was rejected by the privacy guard, the check fails and nothing downstream runs. Metadata holds
file names, verdicts, rule ids, columns and counts, never a value from a file. The assets are
built once per :class:`pipelines.partitions.AssetFamily` (the weekly graph, and the
partitioned path when ``CLEARCOUNT_PARTITIONS`` is set).
"""

from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.gx_checks import build_gx_checks
from pipelines.feeds import FEED_ORDER, FEEDS
from pipelines.ingest import FeedLoad, load_feed
from pipelines.panel import build_panel_tables, control_gaps
from pipelines.partitions import WEEKLY, AssetFamily, families
from pipelines.resources import ClearcountSettings
from pipelines.settings import short_history_note, trend_and_season_confounded

GROUP = "ingest"
CHECK = "files_accepted"


def ensure_parent(resource: DuckDBResource) -> None:
    """Create the warehouse file's folder (DuckDB does not, and would retry for ~100 s)."""
    if resource.database != ":memory:":
        Path(resource.database).parent.mkdir(parents=True, exist_ok=True)


def table_schema(conn: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """Column names and DuckDB types of a warehouse table (a trusted, qualified name)."""
    rows = conn.execute(f"DESCRIBE {table}").fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=r[0], type=str(r[1])) for r in rows])


def files_table(load: FeedLoad) -> str:
    """Markdown table of the feed's files: name, sha256 prefix, verdict, rows, rules."""
    lines = ["| file | sha256 | verdict | rows | rules | scanned |", "|---|---|---|---|---|---|"]
    for f in load.files:
        rows = "" if f.rows is None else str(f.rows)
        rules = f.rules.replace("|", "/")
        lines.append(
            f"| {f.file_name} | {f.sha256[:12]} | {f.verdict} | {rows} | {rules} | "
            f"{'yes' if f.scanned else 'no (unchanged)'} |"
        )
    if not load.files:
        lines.append("| (no files) | | | | | |")
    return "\n".join(lines)


def check_result(load: FeedLoad) -> dg.AssetCheckResult:
    """The blocking ``files_accepted`` result for one feed load."""
    if load.accepted:
        description = f"all {len(load.files)} file(s) of feed '{load.feed}' accepted"
    else:
        description = (
            f"feed '{load.feed}': {len(load.rejected)} of {len(load.files)} file(s) rejected; "
            f"staging.{load.feed} keeps its previous rows. " + load.rejection_text()
        )
    return dg.AssetCheckResult(
        check_name=CHECK,
        passed=load.accepted,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "rejected_files": len(load.rejected),
            "rejections": dg.MetadataValue.md(
                "\n".join(
                    f"- `{f.file_name}` sha256 `{f.sha256}`: {f.rules or 'unreadable'}"
                    for f in load.rejected
                )
                or "none"
            ),
        },
    )


def feed_asset(feed: str, family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the asset that scans and loads ``feed`` into ``staging.<feed>``."""
    spec = FEEDS[feed]
    optional = " (optional feed: an absent folder means no rows)" if spec.optional_feed else ""

    @dg.asset(
        name=feed,
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[] if feed == "markets" else [family.key("markets")],
        kinds={"duckdb"},
        description=(
            f"Landing feed `{feed}`{optional}: every new or changed file is scanned by the "
            f"privacy guard; when all files are accepted, staging.{feed} is rebuilt from them "
            "in one transaction (later files restate earlier rows with the same key "
            f"{', '.join(spec.key)})."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                CHECK,
                asset=family.key(feed),
                blocking=True,
                description=f"every current file of feed '{feed}' passed the privacy guard",
            )
        ],
    )
    def _feed(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        run, warehouse = family.scope(context, settings.as_settings(), duckdb)
        ensure_parent(warehouse)
        with warehouse.get_connection() as conn:
            try:
                load = load_feed(conn, feed, run.landing_dir)
                schema = table_schema(conn, f"staging.{feed}")
            finally:
                conn.close()
        verdicts = {"accepted": 0, "rejected": 0}
        for f in load.files:
            verdicts[f.verdict] = verdicts.get(f.verdict, 0) + 1
        context.log.info(
            f"feed {feed}: {len(load.files)} file(s), {verdicts['accepted']} accepted, "
            f"{verdicts['rejected']} rejected; staging "
            f"{'rebuilt' if load.changed else 'unchanged'} with {load.staged_rows} rows"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": f"staging.{feed}",
                "dagster/row_count": load.staged_rows,
                "dagster/column_schema": schema,
                "files": dg.MetadataValue.md(files_table(load)),
                "file_count": len(load.files),
                "accepted_files": verdicts["accepted"],
                "rejected_files": verdicts["rejected"],
                "staging_rebuilt": load.changed,
                "folder_present": load.folder_present,
            },
            check_results=[check_result(load)],
        )

    return _feed


def weekly_panel_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``weekly_panel`` asset of ``family``."""

    @dg.asset(
        name="weekly_panel",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key(f) for f in ("markets", "spend", "calls", "bookings", "controls")],
        kinds={"duckdb"},
        description=(
            "Per week and market: population and new patients (new_patient_calls + "
            "new_patient_bookings over all sources) in core.weekly_panel; spend per paid channel in "
            "core.weekly_spend; last-touch new patients per source in core.last_touch; what each "
            "feed measured per market in core.feed_coverage. The week grid is the union of the "
            "feeds' ranges; a (market, week) that a feed did not measure is kept as a gap "
            "(observed = false), not as zero new patients."
        ),
    )
    def _panel(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        ensure_parent(warehouse)
        with warehouse.get_connection() as conn:
            try:
                stats = build_panel_tables(conn)
                gaps = control_gaps(conn)
                schema = table_schema(conn, "core.weekly_panel")
            finally:
                conn.close()
        context.log.info(
            f"weekly panel: {stats['weeks']} weeks x {stats['geos']} markets x "
            f"{stats['channels']} paid channels"
        )
        unmeasured = stats["panel_rows"] - stats["observed_cells"]
        if unmeasured:
            context.log.warning(
                f"{unmeasured} of {stats['panel_rows']} market-weeks were not measured by every "
                "feed (see core.feed_coverage); the models skip them instead of reading zeros"
            )
        if gaps:
            context.log.warning(
                f"{len(gaps)} control(s) have no value in {sum(gaps.values())} measured "
                "market-week(s) in all: each gap is filled with that market's mean of the control"
            )
        if trend_and_season_confounded(stats["weeks"]):
            context.log.warning(short_history_note(stats["weeks"]))
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": "core.weekly_panel",
                "dagster/row_count": stats["panel_rows"],
                "dagster/column_schema": schema,
                "weeks": stats["weeks"],
                "markets": stats["geos"],
                "paid_channels": stats["channels"],
                "last_touch_sources": stats["sources"],
                "weekly_spend_rows": stats["spend_rows"],
                "last_touch_rows": stats["last_touch_rows"],
                "unmeasured_market_weeks": unmeasured,
                "control_cells_filled_with_mean": sum(gaps.values()),
                "short_history": trend_and_season_confounded(stats["weeks"]),
            }
        )

    return _panel


def build(family: AssetFamily) -> list[dg.AssetsDefinition]:
    """The feed assets (in load order) and the weekly panel of ``family``."""
    return [*(feed_asset(feed, family) for feed in FEED_ORDER), weekly_panel_asset(family)]


feed_assets: list[dg.AssetsDefinition] = [feed_asset(feed) for feed in FEED_ORDER]
weekly_panel = weekly_panel_asset()

partitioned_assets = [a for f in families() if f.partitioned for a in build(f)]

defs = dg.Definitions(
    assets=[*feed_assets, weekly_panel, *partitioned_assets],
    asset_checks=build_gx_checks(),
)
