"""The ``mmm_fit`` asset: fit the media mix model on the weekly panel and write ``mmm.*``.

``mmm_fit`` is a graph of three steps so that the warehouse pool is held only while the
warehouse is read or written, not through minutes of sampling:

1. ``mmm_read_inputs`` (pool ``warehouse``): the panel and the lift measurements of the geo tests.
2. ``mmm_sample`` (no pool): ``models.mmm.fit_mmm``; saves the posterior (NetCDF) for analysts
   under ``$CLEARCOUNT_OUTPUT_DIR/mmm/`` and hands the tables to write to the next step.
3. ``mmm_write`` (pool ``warehouse``): replaces the ``mmm.*`` tables in one transaction, the
   response model (``mmm.response_model``) with them.

The blocking ``mmm_converged`` check reads ``mmm.fit_status``: when the sampler did not converge
the published tables downstream are not refreshed, and the fit's PAC tables, response model and
posterior keep the last converged fit; only ``mmm.diagnostics`` and ``mmm.fit_status`` record the
failed attempt. Sampler settings and the reporting window can be set for one run as config of
``mmm_fit`` (``{"ops": {"mmm_fit": {"config": {"draws": 500}}}}``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.partitions import WEEKLY, AssetFamily, families
from pipelines.resources import ClearcountSettings
from pipelines.response_model import response_frame
from pipelines.settings import short_history_note, trend_and_season_confounded
from pipelines.warehouse import replace_tables, sql_text, table_exists

GROUP = "mmm"
CHECK = "mmm_converged"
SCHEMA_SQL = "mmm/schema.sql"
LIFT_SQL = "mmm/lift_measurements.sql"


class MMMWriteError(RuntimeError):
    """Writing the MMM tables failed; the previous rows are kept. No values in the message."""


class MMMRunConfig(dg.Config):
    """Model settings an analyst may change for one run (unset: ``MMMConfig``'s defaults).

    Sampler: ``draws``, ``tune`` (per chain), ``chains``, ``seed``, ``holdout_weeks``,
    ``retries`` (longer runs after a missed convergence gate).
    Baseline: ``n_fourier`` (yearly Fourier pairs; fewer for a history under two years).
    Transforms: ``adstock`` (``geometric`` or ``weibull``), ``max_lag`` (weeks),
    ``saturation`` (``hill`` or ``logistic``), and their priors, which the transform classes
    own (``models.mmm.transforms``): ``adstock_priors`` and ``saturation_priors``, maps from a
    setting's name to its value, e.g. ``{"decay_mean": 0.6}`` for a slower geometric carry-over
    or ``{"half_saturation_sd": 1.2}`` for a looser Hill curve. Priors
    (``models.mmm.model.Priors``): ``media_share`` (guess of the share of new patients paid
    media cause), ``roi_sd``, ``roi_level_sd``, ``level_step_scale``, ``saturation_geo_scale``
    (market spread of the spend per person at which a channel saturates; 0: one curve for all
    markets). Reporting window: ``window_weeks`` (default: the run settings).
    """

    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    seed: int | None = None
    holdout_weeks: int | None = None
    retries: int | None = None
    window_weeks: int | None = None
    n_fourier: int | None = None
    adstock: str | None = None
    max_lag: int | None = None
    saturation: str | None = None
    adstock_priors: dict[str, float] | None = None
    saturation_priors: dict[str, float] | None = None
    media_share: float | None = None
    roi_sd: float | None = None
    roi_level_sd: float | None = None
    level_step_scale: float | None = None
    saturation_geo_scale: float | None = None

    def mmm_config(self, base):
        """``base`` (an ``MMMConfig``) with this run's settings; an unknown transform name or
        prior setting raises ``ValueError`` naming the choices."""
        from dataclasses import replace

        from models.mmm.transforms import ADSTOCKS, SATURATIONS, with_priors

        sampler = {
            k: getattr(self, k)
            for k in (
                "draws", "tune", "chains", "seed", "holdout_weeks", "retries", "window_weeks",
                "n_fourier",
            )
        }  # fmt: skip
        changes = {k: v for k, v in sampler.items() if v is not None}
        if self.adstock is not None or self.max_lag is not None or self.adstock_priors:
            changes["adstock"] = with_priors(
                ADSTOCKS,
                "adstock",
                self.adstock or base.adstock.kind,
                self.adstock_priors or {},
                max_lag=self.max_lag or base.adstock.max_lag,
            )
        if self.saturation is not None or self.saturation_priors:
            changes["saturation"] = with_priors(
                SATURATIONS,
                "saturation",
                self.saturation or base.saturation.kind,
                self.saturation_priors or {},
            )
        priors = {
            k: getattr(self, k)
            for k in (
                "media_share",
                "roi_sd",
                "roi_level_sd",
                "level_step_scale",
                "saturation_geo_scale",
            )
            if getattr(self, k) is not None
        }
        if priors:
            changes["priors"] = replace(base.priors, **priors)
        return replace(base, **changes)


@dataclass(frozen=True)
class FitRecord:
    """What ``mmm_sample`` hands to ``mmm_write``: the rows to write and what to report.

    Attributes:
        tables: ``mmm.<table>`` -> new rows. A fit that did not converge carries only
            ``mmm.diagnostics`` and ``mmm.fit_status``.
        converged: the sampler passed its gates.
        metadata: materialisation metadata (counts and diagnostics, no data values).
    """

    tables: dict[str, pl.DataFrame]
    converged: bool
    metadata: dict[str, Any]


def read_lift(conn: duckdb.DuckDBPyConnection) -> list[Any]:
    """Lift measurements from ``marts.geo_test_results`` and the treated markets of
    ``staging.experiments``; empty (an uncalibrated fit) when either table is missing."""
    from models.geo.types import LiftMeasurement

    if not (
        table_exists(conn, "marts.geo_test_results") and table_exists(conn, "staging.experiments")
    ):
        return []
    rows = conn.execute(sql_text(LIFT_SQL)).fetchall()
    return [
        LiftMeasurement(
            channel=r[1],
            geos=tuple(r[9]),
            start_week=r[2],
            end_week=r[3],
            incremental_new_patients=float(r[4]),
            lo=float(r[5]),
            hi=float(r[6]),
            incremental_spend=float(r[7]),
            design=r[8],
        )
        for r in rows
    ]


def fit_tables(fit: Any, fitted_at: datetime) -> dict[str, pl.DataFrame]:
    """The new rows of the ``mmm.*`` tables for a fit.

    A non-converged fit only replaces ``mmm.diagnostics`` and ``mmm.fit_status``.
    """
    d = fit.diagnostics
    diag = pl.DataFrame(
        d.rows(),
        schema={
            "metric": pl.Utf8,
            "value": pl.Float64,
            "threshold": pl.Float64,
            "passed": pl.Boolean,
        },
        orient="row",
    )
    status = pl.DataFrame(
        {
            "fitted_at": [fitted_at],
            "converged": [d.converged],
            "message": [d.message()],
            "n_geos": [fit.n_geos],
            "n_weeks": [fit.n_weeks],
            "n_channels": [len(fit.channels)],
            "seconds": [fit.seconds],
            "calibrated": [fit.calibrated],
        }
    )
    tables = {"mmm.diagnostics": diag, "mmm.fit_status": status}
    if d.converged:
        tables |= {
            "mmm.channel_summary": fit.channel_summary.with_columns(
                pl.lit(fitted_at).alias("fitted_at")
            ),
            "mmm.contributions": fit.contributions,
            "mmm.response_curves": fit.response_curves,
            "mmm.fit_vs_actual": fit.fit_vs_actual,
            "mmm.response_model": response_frame(fit.response.to_arrays()),
        }
    return tables


def write_tables(conn: duckdb.DuckDBPyConnection, fit: Any, fitted_at: datetime) -> None:
    """Replace the ``mmm.*`` tables with this fit's rows in one transaction."""
    write_fit_tables(conn, fit_tables(fit, fitted_at))


def write_fit_tables(conn: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    """Create the ``mmm`` tables when missing and replace ``tables`` in one transaction."""
    conn.execute(sql_text(SCHEMA_SQL))
    replace_tables(conn, tables, "writing the mmm tables", MMMWriteError)


def convergence_result(conn: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """The blocking ``mmm_converged`` result for the fit recorded in ``mmm.fit_status``."""
    status = conn.execute(
        "SELECT converged, message FROM mmm.fit_status ORDER BY fitted_at DESC LIMIT 1"
    ).fetchall()
    diagnostics = dict(conn.execute("SELECT metric, value FROM mmm.diagnostics").fetchall())
    converged, message = status[0] if status else (False, "no fit recorded in mmm.fit_status")
    return dg.AssetCheckResult(
        passed=bool(converged),
        severity=dg.AssetCheckSeverity.ERROR,
        description=message,
        metadata={
            name: float(diagnostics[name])
            for name in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")
            if diagnostics.get(name) is not None
        },
    )


def mmm_fit_asset(
    family: AssetFamily = WEEKLY,
) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """Build the ``mmm_fit`` graph asset of ``family`` and its blocking ``mmm_converged`` check."""
    step = "_".join([*family.prefix, "mmm"])

    @dg.op(name=f"{step}_read_inputs", pool=family.pool, ins={"after": dg.In(dg.Nothing)})
    def read_inputs(
        context: dg.OpExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> tuple:
        """The panel (``models.panel.Panel``) and the lift measurements."""
        from pipelines.panel import read_panel

        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        with warehouse.get_connection() as conn:
            return read_panel(conn), read_lift(conn)

    @dg.op(name=f"{step}_sample")
    def sample(
        context: dg.OpExecutionContext,
        config: MMMRunConfig,
        settings: ClearcountSettings,
        inputs: tuple,
    ) -> FitRecord:
        """Fit the MMM (calibrated by the geo tests when there are any)."""
        from models.mmm import MMMConfig, fit_mmm

        panel, lift = inputs
        run = settings.as_settings()
        if family.partitioned:
            run = run.for_partition(context.partition_key)
        context.log.info(
            f"Fitting the MMM: {panel.n_geos} markets, {panel.n_weeks} weeks, "
            f"{panel.n_channels} channels, {len(lift)} lift measurement(s)."
        )
        if not lift:
            context.log.warning(
                "No analysed geo test to calibrate with: the MMM is fitted uncalibrated, and "
                "its PAC rests on the model alone (the dashboards say so)."
            )
        if trend_and_season_confounded(panel.n_weeks):
            context.log.warning(short_history_note(panel.n_weeks))
        # nutpie runs the chains in threads: no fork inside the step
        mmm_config = config.mmm_config(
            MMMConfig(window_weeks=run.window_weeks, holiday_country=run.holiday_country)
        )
        fit = fit_mmm(panel, mmm_config, lift)
        for note in fit.notes:
            context.log.warning(note)
        context.log.info(fit.diagnostics.message())
        out = run.output_dir / "mmm"
        if fit.diagnostics.converged:
            out.mkdir(parents=True, exist_ok=True)
            fit.idata.to_netcdf(str(out / "posterior.nc"))
        fitted_at = datetime.now(UTC).replace(tzinfo=None)
        return FitRecord(
            tables=fit_tables(fit, fitted_at),
            converged=fit.diagnostics.converged,
            metadata={
                "converged": fit.diagnostics.converged,
                "calibrated": fit.calibrated,
                "lift_measurements": len(lift),
                "seconds": round(fit.seconds, 1),
                "n_geos": fit.n_geos,
                "n_weeks": fit.n_weeks,
                "window_weeks": mmm_config.window_weeks,
                "short_history": trend_and_season_confounded(panel.n_weeks),
                "channels": ", ".join(fit.channels),
                "holdout_mape": float(fit.diagnostics.holdout_mape),
                "ppc_coverage_90": float(fit.diagnostics.ppc_coverage_90),
                "posterior": dg.MetadataValue.path(str(out / "posterior.nc")),
            },
        )

    @dg.op(name=f"{step}_write", pool=family.pool)
    def write(
        context: dg.OpExecutionContext,
        duckdb: DuckDBResource,
        settings: ClearcountSettings,
        record: FitRecord,
    ) -> dg.Output:
        """Replace the ``mmm.*`` tables with the fit's rows."""
        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        with warehouse.get_connection() as conn:
            write_fit_tables(conn, record.tables)
        return dg.Output(None, metadata=record.metadata)

    @dg.graph_asset(
        name="mmm_fit",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        partitions_def=family.partitions_def,
        ins={
            "weekly_panel": dg.AssetIn(family.key("weekly_panel"), dagster_type=dg.Nothing),
            "geo_test_results": dg.AssetIn(family.key("geo_test_results"), dagster_type=dg.Nothing),
        },
        config=dg.ConfigMapping(
            config_schema=MMMRunConfig.to_config_schema(),
            config_fn=lambda cfg: {f"{step}_sample": {"config": cfg}},
        ),
        kinds={"pymc", "duckdb"},
        description=(
            "Bayesian media mix model: PAC per channel with 90% intervals (mmm.* tables, and "
            "the posterior response model the budget plan reads). Sampling holds no warehouse "
            "pool slot."
        ),
    )
    def mmm_fit(weekly_panel, geo_test_results):
        return write(sample(read_inputs(after=[weekly_panel, geo_test_results])))

    @dg.asset_check(
        asset=family.key("mmm_fit"),
        name=CHECK,
        blocking=True,
        pool=family.pool,
        partitions_def=family.partitions_def,
        description="R-hat <= 1.01, bulk and tail ESS >= 400 and no divergences; "
        "otherwise published PAC is not refreshed.",
    )
    def mmm_converged(
        context: dg.AssetCheckExecutionContext,
        duckdb: DuckDBResource,
        settings: ClearcountSettings,
    ) -> dg.AssetCheckResult:
        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        with warehouse.get_connection() as conn:
            return convergence_result(conn)

    return mmm_fit, mmm_converged


mmm_fit, mmm_converged = mmm_fit_asset()
partitioned = [mmm_fit_asset(f) for f in families() if f.partitioned]

defs = dg.Definitions(
    assets=[mmm_fit, *(asset for asset, _ in partitioned)],
    asset_checks=[mmm_converged, *(check for _, check in partitioned)],
)
