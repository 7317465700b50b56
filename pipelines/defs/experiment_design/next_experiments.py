"""The ``next_experiments`` asset: which geo test to run next (``marts.next_experiments``).

Thin: reads the posterior response of the latest converged fit (``mmm.response_model``), the
default designs of ``geo.proposed_designs``, the weekly panel (its markets as the MMM prepares
them) and the past tests, calls ``models.experiments.with_larger_tests`` and replaces the table
in one transaction.
"""

from datetime import UTC, datetime

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.partitions import WEEKLY, AssetFamily
from pipelines.resources import ClearcountSettings
from pipelines.response_model import read_response_model
from pipelines.warehouse import sql_text, table_exists, transaction

GROUP = "experiment_design"

COLUMNS = (
    "channel", "design", "weeks", "treatment_geos", "control_geos", "spend_change",
    "mde_new_patients", "expected_lift", "detection_probability", "spend", "pac", "pac_lo",
    "pac_hi", "expected_pac_lo", "expected_pac_hi", "width_reduction", "value_usd",
    "effective_draws",
)  # fmt: skip


def proposed_tests(conn: duckdb.DuckDBPyConnection) -> list:
    """``geo.proposed_designs`` as ``models.experiments.ProposedTest`` (empty when missing)."""
    from models.experiments import ProposedTest

    if not table_exists(conn, "geo.proposed_designs"):
        return []
    rows = conn.execute(
        "SELECT channel, weeks, treatment_geos, control_geos, mde_new_patients "
        "FROM geo.proposed_designs WHERE mde_new_patients > 0 ORDER BY channel"
    ).fetchall()
    return [
        ProposedTest(
            channel=r[0], weeks=int(r[1]), treatment_geos=tuple(r[2]),
            control_geos=tuple(r[3]), mde_new_patients=float(r[4]),
        )
        for r in rows
    ]  # fmt: skip


def experiments_frame(ranked: list) -> pl.DataFrame:
    """One row per ``NextExperiment``, ``rank`` 1 first."""
    return pl.DataFrame(
        [{"rank": i + 1, **{c: getattr(e, c) for c in COLUMNS}} for i, e in enumerate(ranked)],
        schema={
            "rank": pl.Int32, "channel": pl.String, "design": pl.String, "weeks": pl.Int32,
            "treatment_geos": pl.List(pl.String), "control_geos": pl.List(pl.String),
            **{c: pl.Float64 for c in COLUMNS[5:]},
        },
    )  # fmt: skip


def write_next_experiments(
    conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame, refreshed_at: datetime
) -> None:
    """Replace ``marts.next_experiments`` with ``frame`` in one transaction."""
    conn.execute(sql_text("marts/next_experiments_table.sql"))
    conn.register("_next_experiments", frame.to_arrow())
    try:
        with transaction(conn, "writing marts.next_experiments"):
            conn.execute("SET VARIABLE refreshed_at = ?", [refreshed_at])
            conn.execute(sql_text("marts/write_next_experiments.sql"))
    finally:
        conn.unregister("_next_experiments")


def next_experiments_asset(family: AssetFamily = WEEKLY) -> dg.AssetsDefinition:
    """Build the ``next_experiments`` asset of ``family``."""

    @dg.asset(
        name="next_experiments",
        key_prefix=family.prefix,
        group_name=family.group(GROUP),
        pool=family.pool,
        partitions_def=family.partitions_def,
        deps=[family.key(k) for k in ("mmm_fit", "geo_test_designs", "weekly_panel")],
        kinds={"duckdb"},
        description=(
            "marts.next_experiments: paid channels ranked by what a geo test would teach (window "
            "spend x expected narrowing of the relative 90% PAC interval), each with the test to "
            "run (holdout or scale-up, markets and controls of geo.proposed_designs, weeks, spend "
            "change, MDE; a 13-week test in twice the markets where the default one would rarely "
            "be conclusive) and the PAC interval expected after calibrating with it, simulated "
            "from the MMM's posterior draws (importance reweighting; no refit)."
        ),
    )
    def _next(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: ClearcountSettings
    ) -> dg.MaterializeResult:
        from models.experiments import with_larger_tests
        from models.geo.analysis import parse_experiments
        from models.mmm.inputs import prepare_panel
        from pipelines.panel import read_experiments, read_panel

        _, warehouse = family.scope(context, settings.as_settings(), duckdb)
        with warehouse.get_connection() as conn:
            try:
                response = read_response_model(conn)
            except LookupError as exc:
                raise dg.Failure(str(exc)) from None
            panel = read_panel(conn)
            fitted, _ = prepare_panel(panel)
            tests = proposed_tests(conn)
            past, _ = parse_experiments(read_experiments(conn))
        if len(fitted.geos) != response.pop.shape[0]:
            raise dg.Failure(
                "the saved posterior is of another set of markets than the panel: run mmm_fit again"
            )
        ranked = with_larger_tests(response, fitted.geos, tests, panel, past)
        frame = experiments_frame(ranked)
        refreshed_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with warehouse.get_connection() as conn:
            write_next_experiments(conn, frame, refreshed_at)
        lines = [
            "| rank | channel | test | PAC 90% now | expected after |",
            "|---|---|---|---|---|",
        ]
        for r in frame.iter_rows(named=True):
            lines.append(
                f"| {r['rank']} | {r['channel']} | {r['design']}, {r['weeks']} weeks | "
                f"${r['pac_lo']:,.0f} – ${r['pac_hi']:,.0f} | "
                f"${r['expected_pac_lo']:,.0f} – ${r['expected_pac_hi']:,.0f} |"
            )
        context.log.info(f"next experiments: {frame.height} channel(s) ranked")
        return dg.MaterializeResult(
            metadata={
                "dagster/table_name": "marts.next_experiments",
                "dagster/row_count": frame.height,
                "first": frame["channel"][0] if frame.height else "none",
                "ranking": dg.MetadataValue.md("\n".join(lines)),
            }
        )

    return _next


next_experiments = next_experiments_asset()
