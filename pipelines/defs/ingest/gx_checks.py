"""Great Expectations checks on the staged feeds, as Dagster asset checks.

One multi-asset check validates ``staging.<feed>`` for every feed with the suites of
``pipelines.expectations`` in a single step: importing GX costs several seconds per process, so
one step pays it once. Each feed gets its own ``gx_suite`` check result, whose metadata holds the
value-free summary (expectation names, columns, counts). The checks are not blocking: the
blocking gate is the guard's ``files_accepted`` check; these report drift in what staging holds.
They check the weekly graph's warehouse; the partitioned path relies on the guard's check.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.feeds import FEED_ORDER
from pipelines.partitions import WAREHOUSE_POOL

CHECK = "gx_suite"


def _metadata(summary: dict) -> dict:
    failed = [e for e in summary["expectations"] if not e["success"]]
    lines = ["| expectation | column | unexpected rows |", "|---|---|---|"]
    lines += [
        f"| {e['expectation']} | {e['column'] or ''} | "
        f"{'' if e['unexpected_count'] is None else e['unexpected_count']} |"
        for e in failed
    ]
    return {
        "suite": summary["suite"],
        "rows": summary["rows"],
        "expectations_evaluated": summary["evaluated"],
        "expectations_failed": summary["failed"],
        "failed_expectations": dg.MetadataValue.md("\n".join(lines) if failed else "none"),
    }


def build_gx_checks() -> list[dg.AssetChecksDefinition]:
    """The ``gx_suite`` checks of the six staged feed assets (one step for all)."""

    @dg.multi_asset_check(
        name="staged_feeds_gx",
        specs=[
            dg.AssetCheckSpec(
                CHECK,
                asset=feed,
                description=f"GX suite on staging.{feed}: columns, value sets, ranges, keys",
            )
            for feed in FEED_ORDER
        ],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def staged_feeds_gx(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
        from pipelines.expectations import validate_staged

        selected = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
        with duckdb.get_connection() as conn:
            frames = {}
            for feed in FEED_ORDER:
                if feed in selected:
                    frames[feed] = conn.sql(f"SELECT * FROM staging.{feed}").df()
            geos = set(frames["markets"]["geo"]) if "markets" in frames else None
            if geos is None:
                geos = {r[0] for r in conn.sql("SELECT geo FROM staging.markets").fetchall()}
        for feed, frame in frames.items():
            summary = validate_staged(feed, frame, None if feed == "markets" else geos)
            yield dg.AssetCheckResult(
                asset_key=feed,
                check_name=CHECK,
                passed=summary["success"],
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"{summary['evaluated'] - summary['failed']} of {summary['evaluated']} "
                    f"expectations met on staging.{feed}"
                ),
                metadata=_metadata(summary),
            )

    return [staged_feeds_gx]
