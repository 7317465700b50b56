"""The ``next_experiments`` asset: which geo test to run next (``marts.next_experiments``).

Thin: reads the posterior response of the latest converged fit
(``$CLEARCOUNT_OUTPUT_DIR/mmm/response.npz``), the default designs of ``geo.proposed_designs``,
the weekly panel (its markets as the MMM prepares them) and the past tests, calls
``models.experiments.with_larger_tests`` and replaces the table in one transaction.
"""

from datetime import UTC, datetime

import dagster as dg
import duckdb
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings
from pipelines.warehouse import sql_text, transaction

COLUMNS = (
    "channel", "design", "weeks", "treatment_geos", "control_geos", "spend_change",
    "mde_new_patients", "expected_lift", "detection_probability", "spend", "pac", "pac_lo",
    "pac_hi", "expected_pac_lo", "expected_pac_hi", "width_reduction", "value_usd",
    "effective_draws",
)  # fmt: skip


def proposed_tests(conn: duckdb.DuckDBPyConnection) -> list:
    """``geo.proposed_designs`` as ``models.experiments.ProposedTest`` (empty when missing)."""
    from models.experiments import ProposedTest

    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'geo' AND table_name = 'proposed_designs'"
    ).fetchall()[0][0]
    if not exists:
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


@dg.asset(
    group_name="marts",
    pool="warehouse",
    deps=["mmm_fit", "geo_test_designs", "weekly_panel"],
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
def next_experiments(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    from models.experiments import with_larger_tests
    from models.geo.analysis import parse_experiments
    from models.mmm.inputs import prepare_panel
    from models.mmm.response import ResponseModel
    from pipelines.panel import read_experiments, read_panel

    settings = Settings.from_env()
    path = settings.output_dir / "mmm" / "response.npz"
    if not path.is_file():
        raise dg.Failure(f"no posterior response at {path}: materialise mmm_fit first")
    with np.load(path) as arrays:
        response = ResponseModel.from_arrays(dict(arrays))
    with duckdb.get_connection() as conn:
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
    with duckdb.get_connection() as conn:
        write_next_experiments(conn, frame, refreshed_at)
    lines = ["| rank | channel | test | PAC 90% now | expected after |", "|---|---|---|---|---|"]
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
