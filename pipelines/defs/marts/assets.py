"""The marts: PAC per channel (with its history) and the budget plan.

Both assets wait for ``mmm_fit`` (whose blocking ``mmm_converged`` check stops them when the
model did not converge), ``geo_test_results`` and ``weekly_panel``. The budget plan reads the
MMM's response model from the warehouse (``mmm.response_model``), written with the fit.
"""

from datetime import UTC, datetime

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pipelines.defs.marts.writers import mmm_window, spend_range, write_budget_plan
from pipelines.defs.marts.writers import write_pac_by_channel as _write_pac
from pipelines.partitions import WEEKLY, AssetFamily, families
from pipelines.resources import ClearcountSettings
from pipelines.response_model import read_response_model
from pipelines.settings import Settings

GROUP = "marts"
DEPS = ("mmm_fit", "geo_test_results", "weekly_panel")


def _now() -> datetime:
    """Refresh time, UTC, without time zone (stored as TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _index_link(settings: Settings) -> dg.MetadataValue:
    return dg.MetadataValue.path(str(settings.output_dir / "dashboards" / "index.html"))


def pac_by_channel_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``pac_by_channel`` asset of ``family``."""

    @dg.asset(
        name="pac_by_channel",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key(k) for k in DEPS],
        kinds={"duckdb"},
        description=(
            "marts.pac_by_channel: per paid channel, window spend; last-touch new patients and PAC; "
            "MMM incremental new patients and PAC with 90% intervals and marginal PAC; PAC of the "
            "channel's most recent geo test. Each refresh is appended to marts.pac_history."
        ),
    )
    def _pac(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        run, warehouse = family.scope(context, settings.as_settings(), duckdb)
        refreshed_at = _now()
        with warehouse.get_connection() as conn:
            rows = _write_pac(conn, refreshed_at)
            frame = conn.sql(
                "SELECT channel, spend, pac, pac_lo, pac_hi, last_touch_pac, geo_test_pac "
                "FROM marts.pac_by_channel ORDER BY channel"
            ).pl()
            hist = conn.execute(
                "SELECT count(DISTINCT refreshed_at) FROM marts.pac_history"
            ).fetchall()[0]
        context.log.info(f"pac_by_channel: {rows} channel(s) at {refreshed_at:%Y-%m-%d %H:%M} UTC")
        lines = [
            "| channel | spend | PAC (90%) | last-touch PAC | geo-test PAC |",
            "|---|---|---|---|---|",
        ]
        for r in frame.iter_rows(named=True):
            lines.append(
                f"| {r['channel']} | {_usd(r['spend'])} | {_usd(r['pac'])} "
                f"({_usd(r['pac_lo'])} – {_usd(r['pac_hi'])}) | {_usd(r['last_touch_pac'])} | "
                f"{_usd(r['geo_test_pac'])} |"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": "marts.pac_by_channel",
                "dagster/row_count": rows,
                "refreshed_at": refreshed_at.isoformat(),
                "refreshes_in_history": int(hist[0]) if hist else 0,
                "pac": dg.MetadataValue.md("\n".join(lines)),
                "dashboard": _index_link(run),
            }
        )

    return _pac


def _usd(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"${value:,.0f}"


class BudgetConfig(dg.Config):
    """How the budget may move. Money is USD over the reporting window (the MMM's window)."""

    total: float | None = Field(
        default=None, description="budget to split; default the current total spend"
    )
    max_change: float = Field(
        default=0.30, description="default bound per channel, fraction of its current spend"
    )
    min_spend: dict[str, float] = Field(
        default_factory=dict, description="explicit lower bound per channel (USD, window)"
    )
    max_spend: dict[str, float] = Field(
        default_factory=dict, description="explicit upper bound per channel (USD, window)"
    )


def budget_plan_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``budget_plan`` asset of ``family``."""

    @dg.asset(
        name="budget_plan",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key(k) for k in DEPS],
        kinds={"duckdb"},
        description=(
            "marts.budget_plan: the split of the same total budget (configurable) that maximises "
            "expected new patients over the MMM's posterior draws, within plus or minus 30% of "
            "current spend per channel by default; with the probability that it beats current "
            "spend, its gain with a 90% interval, a warning where a channel leaves the spend "
            "range the model has seen, and the cautious plan (maximising the mean of the worst "
            "10% of draws, CVaR) beside it."
        ),
    )
    def _plan(
        context: dg.AssetExecutionContext,
        config: BudgetConfig,
        duckdb: DuckDBResource,
        settings: ClearcountSettings,
    ) -> dg.MaterializeResult:
        from models.budget import optimise_budget, optimise_cautious_budget

        run, warehouse = family.scope(context, settings.as_settings(), duckdb)
        refreshed_at = _now()
        with warehouse.get_connection() as conn:
            try:
                response = read_response_model(conn)
            except LookupError as exc:
                raise dg.Failure(str(exc)) from None
            channels = tuple(response.channels)
            lower = np.array([config.min_spend.get(c, np.nan) for c in channels], dtype=float)
            upper = np.array([config.max_spend.get(c, np.nan) for c in channels], dtype=float)
            window = mmm_window(conn)
            seen, n_weeks = spend_range(conn, channels, *window)
            bounds = {
                "n_weeks": n_weeks,
                "total": config.total,
                "max_change": config.max_change,
                "lower": lower,
                "upper": upper,
                "spend_range": seen,
            }
            plan = optimise_budget(response, **bounds)
            cautious = optimise_cautious_budget(response, **bounds)
            frame = write_budget_plan(conn, plan, window, refreshed_at, cautious)
        for w in plan.warnings:
            if w:
                context.log.warning(w)
        context.log.info(
            f"budget plan: {plan.message}; expected gain {plan.expected_gain:,.1f} new patients, "
            f"P(beats current) = {plan.prob_beats_current:.2f}"
        )
        lines = ["| channel | current | recommended | warning |", "|---|---|---|---|"]
        for r in frame.iter_rows(named=True):
            lines.append(
                f"| {r['channel']} | {_usd(r['current_spend'])} | {_usd(r['recommended_spend'])} | "
                f"{'yes' if r['warning'] else ''} |"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": "marts.budget_plan",
                "dagster/row_count": frame.height,
                "total_usd": float(plan.recommended_spend.sum()),
                "expected_gain_new_patients": plan.expected_gain,
                "prob_beats_current": plan.prob_beats_current,
                "optimiser": plan.message,
                "warnings": sum(1 for w in plan.warnings if w),
                "plan": dg.MetadataValue.md("\n".join(lines)),
                "dashboard": _index_link(run),
            }
        )

    return _plan


def build(family: AssetFamily) -> list[dg.AssetsDefinition]:
    """The marts of ``family``."""
    return [pac_by_channel_asset(family), budget_plan_asset(family)]


pac_by_channel = pac_by_channel_asset()
budget_plan = budget_plan_asset()

defs = dg.Definitions(
    assets=[
        pac_by_channel,
        budget_plan,
        *(a for f in families() if f.partitioned for a in build(f)),
    ]
)
