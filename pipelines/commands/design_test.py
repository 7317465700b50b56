"""``clearcount design-test --channel C --weeks N [--treated K]``: propose a geo holdout test.

Reads the weekly panel from the warehouse (read-only), proposes treatment and control markets
with ``models.geo.design.propose_design`` and prints them with the minimum detectable effect and
the expected cost of a holdout. Market codes come from the markets registry and are printed;
counts from 1 to ``CLEARCOUNT_MIN_CELL - 1`` are printed as ``<MIN_CELL``.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TextIO

import duckdb

from pipelines.settings import Settings
from pipelines.warehouse import connect, sql_text, table_exists


def assumed_pac(conn: duckdb.DuckDBPyConnection, channel: str) -> tuple[float | None, str]:
    """The PAC (USD per new patient) a design assumes for its expected loss, and its source.

    The MMM's PAC of the latest refresh (``marts.pac_by_channel``) when there is one, else the
    channel's last-touch PAC over the last 52 weeks; ``(None, "none")`` when neither exists.
    """
    if table_exists(conn, "marts.pac_by_channel"):
        rows = conn.execute(sql_text("geo/mmm_pac.sql"), [channel]).fetchall()
        if rows and rows[0][0] is not None:
            return float(rows[0][0]), "mmm"
    if table_exists(conn, "core.last_touch") and table_exists(conn, "core.weekly_spend"):
        rows = conn.execute(sql_text("geo/assumed_pac.sql"), [channel, channel]).fetchall()
        pac = rows[0][0] if rows else None
        if pac is not None and math.isfinite(pac) and pac > 0:
            return float(pac), "last_touch"
    return None, "none"


def count_text(value: float, min_cell: int) -> str:
    """A count for printing: small counts (1 to ``min_cell - 1``) become ``<min_cell``."""
    if value is None or not math.isfinite(value):
        return "unknown"
    n = round(value)
    if 1 <= abs(n) < min_cell:
        return f"<{min_cell}"
    return f"{n:,}"


def format_proposal(proposal, min_cell: int, pac: float | None, pac_source: str) -> str:
    """The lines ``design-test`` prints for a :class:`models.geo.types.DesignProposal`."""
    p = proposal
    source = {"mmm": "the MMM's PAC", "last_touch": "the last-touch PAC (biased)"}.get(
        pac_source, "no PAC estimate"
    )
    lines = [
        f"Geo holdout test of '{p.channel}' for {p.weeks} week(s)",
        f"  treatment markets ({len(p.treatment_geos)}): {', '.join(p.treatment_geos)}",
        f"  control markets ({len(p.control_geos)}): {', '.join(p.control_geos)}",
        f"  minimum detectable effect (80% power, alpha 0.10): "
        f"{count_text(p.mde_new_patients, min_cell)} new patients "
        f"({p.mde_pct:.1f}% of the treatment markets' expected new patients)",
        f"  power at that effect on {p.n_backtests} held-out backtests: {p.power:.0%} "
        f"(selection backtests alone suggested an MDE of "
        f"{count_text(p.mde_in_selection, min_cell)})",
        f"  expected spend saved by the holdout: ${p.expected_spend_saved:,.0f}",
        f"  expected lost new patients: {count_text(p.expected_lost_new_patients, min_cell)}"
        + (f" (at ${pac:,.0f} per new patient, {source})" if pac else f" ({source})"),
    ]
    if math.isfinite(p.expected_lost_new_patients) and (
        p.expected_lost_new_patients < p.mde_new_patients
    ):
        lines.append("  note: the expected effect is below the MDE; consider more weeks or markets")
    return "\n".join(lines)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``design-test``; returns the exit code (0 ok, 1 no warehouse/panel, 2 bad usage).

    Args:
        args: ``.channel`` (str), ``.weeks`` (int), ``.treated`` (int or None).
        out: where to print (standard output by default).
    """
    from models.geo.analysis import parse_experiments
    from models.geo.design import propose_design
    from pipelines.panel import PanelError, read_experiments, read_panel

    out = out or sys.stdout
    settings = Settings.from_env()
    if not settings.warehouse.is_file():
        print(
            f"no warehouse at {settings.warehouse}: run `clearcount refresh` first",
            file=sys.stderr,
        )
        return 1
    try:
        conn = connect(settings.warehouse, read_only=True)
    except duckdb.Error as exc:
        print(f"cannot open the warehouse ({type(exc).__name__})", file=sys.stderr)
        return 1
    try:
        try:
            panel = read_panel(conn)
        except (PanelError, duckdb.Error) as exc:
            msg = str(exc) if isinstance(exc, PanelError) else type(exc).__name__
            print(f"cannot read the weekly panel: {msg}", file=sys.stderr)
            return 1
        pac, source = assumed_pac(conn, args.channel)
        past = []
        if table_exists(conn, "staging.experiments"):
            past, _ = parse_experiments(read_experiments(conn))
    finally:
        conn.close()
    try:
        proposal = propose_design(
            panel, args.channel, int(args.weeks), args.treated, pac=pac, past_tests=past
        )
    except ValueError as exc:
        print(f"design-test: {exc}", file=sys.stderr)
        return 2
    print(format_proposal(proposal, settings.min_cell, pac, source), file=out)
    return 0
