"""The ``mmm_fit`` asset: fit the media mix model on the weekly panel and write ``mmm.*``.

Thin: read the panel and lift measurements from the warehouse, call ``models.mmm.fit_mmm``,
write its tables in one transaction and save the posterior (NetCDF) and the response model
(``.npz``) under ``$CLEARCOUNT_OUTPUT_DIR/mmm/``. The blocking ``mmm_converged`` check fails when
the sampler did not converge; then the published tables downstream are not refreshed, and the
fit's PAC tables (``mmm.channel_summary``, ``mmm.contributions``, ``mmm.response_curves``,
``mmm.fit_vs_actual``) and artifacts keep the last converged fit: only ``mmm.diagnostics`` and
``mmm.fit_status`` record the failed attempt.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import numpy as np
from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings
from pipelines.warehouse import sql_text, transaction

GROUP = "mmm"
POOL = "warehouse"
CHECK = "mmm_converged"
SCHEMA_SQL = "mmm/schema.sql"
LIFT_SQL = "mmm/lift_measurements.sql"


class MMMWriteError(RuntimeError):
    """Writing the MMM tables failed; the previous rows are kept. No values in the message."""


class MMMRunConfig(dg.Config):
    """Model settings an analyst may change for one run (unset: ``MMMConfig``'s defaults).

    Sampler: ``draws``, ``tune`` (per chain), ``chains``, ``seed``, ``holdout_weeks``.
    Transforms: ``adstock`` (``geometric`` or ``weibull``), ``max_lag`` (weeks),
    ``saturation`` (``hill`` or ``logistic``). Priors (``models.mmm.model.Priors``):
    ``media_share`` (guess of the share of new patients paid media cause), ``roi_sd``,
    ``roi_level_sd``, ``level_step_scale``.
    """

    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    seed: int | None = None
    holdout_weeks: int | None = None
    adstock: str | None = None
    max_lag: int | None = None
    saturation: str | None = None
    media_share: float | None = None
    roi_sd: float | None = None
    roi_level_sd: float | None = None
    level_step_scale: float | None = None

    def mmm_config(self, base):
        """``base`` (an ``MMMConfig``) with this run's settings; an unknown transform name
        raises ``ValueError`` naming the choices."""
        from dataclasses import replace

        from models.mmm.transforms import ADSTOCKS, SATURATIONS

        sampler = {
            k: getattr(self, k) for k in ("draws", "tune", "chains", "seed", "holdout_weeks")
        }
        changes = {k: v for k, v in sampler.items() if v is not None}
        if self.adstock is not None or self.max_lag is not None:
            kind = self.adstock or base.adstock.kind
            if kind not in ADSTOCKS:
                raise ValueError(f"adstock must be one of {sorted(ADSTOCKS)}")
            changes["adstock"] = ADSTOCKS[kind](max_lag=self.max_lag or base.adstock.max_lag)
        if self.saturation is not None:
            if self.saturation not in SATURATIONS:
                raise ValueError(f"saturation must be one of {sorted(SATURATIONS)}")
            changes["saturation"] = SATURATIONS[self.saturation]()
        priors = {
            k: getattr(self, k)
            for k in ("media_share", "roi_sd", "roi_level_sd", "level_step_scale")
            if getattr(self, k) is not None
        }
        if priors:
            changes["priors"] = replace(base.priors, **priors)
        return replace(base, **changes)


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists in the warehouse."""
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()[0]
    return bool(row[0])


def read_lift(conn: duckdb.DuckDBPyConnection) -> list[Any]:
    """Lift measurements from ``marts.geo_test_results`` and the treated markets of
    ``staging.experiments``; empty (an uncalibrated fit) when either table is missing."""
    from models.geo.types import LiftMeasurement

    if not (
        table_exists(conn, "marts", "geo_test_results")
        and table_exists(conn, "staging", "experiments")
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


def write_tables(conn: duckdb.DuckDBPyConnection, fit: Any, fitted_at: datetime) -> None:
    """Replace the ``mmm.*`` tables with this fit's results in one transaction.

    A non-converged fit only replaces ``mmm.diagnostics`` and ``mmm.fit_status``.
    """
    import polars as pl

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
    frames = {"diagnostics": diag, "fit_status": status}
    if d.converged:
        frames |= {
            "channel_summary": fit.channel_summary.with_columns(
                pl.lit(fitted_at).alias("fitted_at")
            ),
            "contributions": fit.contributions,
            "response_curves": fit.response_curves,
            "fit_vs_actual": fit.fit_vs_actual,
        }
    conn.execute(sql_text(SCHEMA_SQL))
    with transaction(conn, "writing the mmm tables", MMMWriteError):
        for table, frame in frames.items():
            conn.register("_mmm_frame", frame.to_arrow())
            conn.execute(f"DELETE FROM mmm.{table}")
            cols = ", ".join(frame.columns)
            conn.execute(f"INSERT INTO mmm.{table} ({cols}) SELECT {cols} FROM _mmm_frame")
            conn.unregister("_mmm_frame")


def check_result(fit: Any) -> dg.AssetCheckResult:
    """The blocking ``mmm_converged`` result for a fit."""
    d = fit.diagnostics
    return dg.AssetCheckResult(
        check_name=CHECK,
        passed=d.converged,
        severity=dg.AssetCheckSeverity.ERROR,
        description=d.message(),
        metadata={
            "max_rhat": float(d.max_rhat),
            "min_ess_bulk": float(d.min_ess_bulk),
            "min_ess_tail": float(d.min_ess_tail),
            "divergences": int(d.divergences),
        },
    )


@dg.asset(
    group_name=GROUP,
    pool=POOL,
    deps=["weekly_panel", "geo_test_results"],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset="mmm_fit",
            blocking=True,
            description="R-hat <= 1.01, bulk and tail ESS >= 400 and no divergences; "
            "otherwise published PAC is not refreshed.",
        )
    ],
    kinds={"pymc", "duckdb"},
    description="Bayesian media mix model: PAC per channel with 90% intervals (mmm.* tables).",
)
def mmm_fit(context: dg.AssetExecutionContext, config: MMMRunConfig, duckdb: DuckDBResource):
    """Fit the MMM on ``core.weekly_panel`` (calibrated by geo tests when there are any)."""
    from models.mmm import MMMConfig, fit_mmm
    from pipelines.panel import read_panel

    settings = Settings.from_env()
    with duckdb.get_connection() as conn:
        panel = read_panel(conn)
        lift = read_lift(conn)
    context.log.info(
        f"Fitting the MMM: {panel.n_geos} markets, {panel.n_weeks} weeks, "
        f"{panel.n_channels} channels, {len(lift)} lift measurement(s)."
    )
    # nutpie runs the chains in threads: no fork inside the step
    mmm_config = config.mmm_config(MMMConfig())
    fit = fit_mmm(panel, mmm_config, lift)
    for note in fit.notes:
        context.log.warning(note)
    fitted_at = datetime.now(UTC).replace(tzinfo=None)
    with duckdb.get_connection() as conn:
        write_tables(conn, fit, fitted_at)
    out = settings.output_dir / "mmm"
    out.mkdir(parents=True, exist_ok=True)
    if fit.diagnostics.converged:
        fit.idata.to_netcdf(str(out / "posterior.nc"))
        np.savez(out / "response.npz", **fit.response.to_arrays())
    context.log.info(fit.diagnostics.message())
    yield dg.MaterializeResult(
        metadata={
            "converged": fit.diagnostics.converged,
            "calibrated": fit.calibrated,
            "lift_measurements": len(lift),
            "seconds": round(fit.seconds, 1),
            "n_geos": fit.n_geos,
            "n_weeks": fit.n_weeks,
            "channels": ", ".join(fit.channels),
            "holdout_mape": float(fit.diagnostics.holdout_mape),
            "ppc_coverage_90": float(fit.diagnostics.ppc_coverage_90),
            "posterior": dg.MetadataValue.path(str(out / "posterior.nc")),
        }
    )
    yield check_result(fit)
