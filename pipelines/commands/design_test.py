"""``clearcount design-test --channel C --weeks N [--treated K]``: propose a geo holdout test;
``clearcount design-test --next``: the geo tests ranked by what they would teach.

Reads the weekly panel from the warehouse (read-only), proposes treatment and control markets
with ``models.geo.design.propose_design`` and prints them with the minimum detectable effect and
the expected cost of a holdout. Markets are printed by their label from the markets feed (code
in brackets), or by code where the feed has no label; counts from 1 to ``CLEARCOUNT_MIN_CELL -
1`` are printed as ``<MIN_CELL``. A channel is matched in any case and checked against the
warehouse's paid channels before the panel is read. ``--next`` prints
``marts.next_experiments`` (written by each refresh).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TextIO

import duckdb

from pipelines.settings import Settings
from pipelines.warehouse import connect, sql_text, table_exists

POWER_TARGET = 0.80
"""The power a design's minimum detectable effect is defined by."""


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


def power_interval(power: float, n: int, level: float = 0.90) -> tuple[float, float]:
    """Clopper-Pearson interval of a power estimated on ``n`` backtests (fractions)."""
    from scipy.stats import binomtest

    if n <= 0 or not math.isfinite(power):
        return math.nan, math.nan
    ci = binomtest(round(power * n), n).proportion_ci(confidence_level=level)
    return float(ci.low), float(ci.high)


def market_names(conn: duckdb.DuckDBPyConnection | None, geos: tuple[str, ...]) -> list[str]:
    """``Label (code)`` where the markets feed gives a label, else the code."""
    labels: dict[str, str] = {}
    if conn is not None and table_exists(conn, "staging.markets"):
        labels = {
            g: lbl
            for g, lbl in conn.execute("SELECT geo, label FROM staging.markets").fetchall()
            if lbl
        }
    return [f"{labels[g]} ({g})" if g in labels else g for g in geos]


def format_proposal(
    proposal,
    min_cell: int,
    pac: float | None,
    pac_source: str,
    treated_names: list[str] | None = None,
    control_names: list[str] | None = None,
) -> str:
    """The lines ``design-test`` prints for a :class:`models.geo.types.DesignProposal`.

    The MDE is the effect detected with 80% power on one set of held-out backtests; the power
    printed beside it is re-estimated on another set, so it scatters around 80%: its 90%
    interval is printed with it, so that a 75% reads as what it is.
    """
    p = proposal
    source = {"mmm": "the MMM's PAC", "last_touch": "the last-touch PAC (biased)"}.get(
        pac_source, "no PAC estimate"
    )
    treated = treated_names or list(p.treatment_geos)
    controls = control_names or list(p.control_geos)
    lo, hi = power_interval(p.power, p.n_backtests)
    lines = [
        f"Geo holdout test of '{p.channel}' for {p.weeks} week(s)",
        f"  treatment markets ({len(treated)}): {', '.join(treated)}",
        f"  control markets ({len(controls)}): {', '.join(controls)}",
        f"  minimum detectable effect: {count_text(p.mde_new_patients, min_cell)} new patients "
        f"({p.mde_pct:.1f}% of the treatment markets' expected new patients), the smallest "
        "effect detected in 80% of held-out backtests (alpha 0.10, two-sided)",
        f"  check on {p.n_backtests} other held-out backtests: an effect of that size was "
        f"detected in {p.power:.0%} (90% interval {lo:.0%} to {hi:.0%}, so consistent with "
        f"80%)" + ("" if lo <= POWER_TARGET <= hi else "; below 80%: consider more weeks"),
        f"  (choosing the markets on their own backtests suggested an optimistic MDE of "
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


def paid_channels(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The paid channels of the warehouse (``core.weekly_spend``), sorted."""
    if not table_exists(conn, "core.weekly_spend"):
        return []
    rows = conn.execute("SELECT DISTINCT channel FROM core.weekly_spend ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def format_next(rows: list[dict], min_cell: int, names) -> str:
    """The lines ``design-test --next`` prints from ``marts.next_experiments`` rows."""
    from pipelines.dashboards.page import share

    if not rows:
        return "no proposal yet: run `clearcount refresh` (it needs a converged model fit)"
    lines = [
        "Geo tests ranked by what they would teach (window spend x expected narrowing of the "
        "channel's 90% PAC interval, simulated from the model's posterior):"
    ]
    for r in rows:
        design = "holdout (spend off)" if r["design"] == "holdout" else "scale-up (spend +50%)"
        lines += [
            f"{r['rank']}. {r['channel']}: {r['weeks']}-week {design}, spend change "
            f"{'+' if r['spend_change'] > 0 else '-'}${abs(r['spend_change']):,.0f}",
            f"   treatment markets ({len(r['treatment_geos'])}): "
            f"{', '.join(names(tuple(r['treatment_geos'])))}",
            f"   control markets: {len(r['control_geos'])}; minimum detectable effect "
            f"{count_text(r['mde_new_patients'], min_cell)} new patients; expected effect "
            f"{count_text(r['expected_lift'], min_cell)} (conclusive in "
            f"{share(r['detection_probability'])} of simulated outcomes)",
            f"   PAC 90% interval now ${r['pac_lo']:,.0f} - ${r['pac_hi']:,.0f}; expected after "
            f"the test ${r['expected_pac_lo']:,.0f} - ${r['expected_pac_hi']:,.0f} "
            f"({max(r['width_reduction'], 0.0):.0%} narrower)",
        ]
    return "\n".join(lines)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``design-test``; returns the exit code (0 ok, 1 no warehouse/panel, 2 bad usage).

    Args:
        args: ``.channel`` (str or None), ``.weeks`` (int or None), ``.treated`` (int or None),
            ``.next`` (bool: print ``marts.next_experiments`` instead of designing one test).
        out: where to print (standard output by default).
    """
    out = out or sys.stdout
    settings = Settings.from_env()
    show_next = bool(getattr(args, "next", False))
    if not show_next and (args.channel is None or args.weeks is None):
        print("design-test: give --channel and --weeks, or --next", file=sys.stderr)
        return 2
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
        if show_next:
            return _print_next(conn, settings.min_cell, out)
        # refuse a channel before reading the panel (slugs are lower case: any case is accepted)
        channel = str(args.channel).strip().lower()
        channels = paid_channels(conn)
        if channel not in channels:
            print(
                f"design-test: unknown channel '{args.channel}': the paid channels are "
                f"{', '.join(channels) or 'none yet (run `clearcount refresh`)'}",
                file=sys.stderr,
            )
            return 2
        from models.geo.analysis import parse_experiments
        from pipelines.panel import PanelError, read_experiments, read_panel

        try:
            panel = read_panel(conn)
        except (PanelError, duckdb.Error) as exc:
            msg = str(exc) if isinstance(exc, PanelError) else type(exc).__name__
            print(f"cannot read the weekly panel: {msg}", file=sys.stderr)
            return 1
        pac, source = assumed_pac(conn, channel)
        past = []
        if table_exists(conn, "staging.experiments"):
            past, _ = parse_experiments(read_experiments(conn))
        from models.geo.design import propose_design

        try:
            proposal = propose_design(
                panel, channel, int(args.weeks), args.treated, pac=pac, past_tests=past
            )
        except ValueError as exc:
            print(f"design-test: {exc}", file=sys.stderr)
            return 2
        text = format_proposal(
            proposal,
            settings.min_cell,
            pac,
            source,
            market_names(conn, proposal.treatment_geos),
            market_names(conn, proposal.control_geos),
        )
    finally:
        conn.close()
    print(text, file=out)
    return 0


def _print_next(conn: duckdb.DuckDBPyConnection, min_cell: int, out: TextIO) -> int:
    rows = []
    if table_exists(conn, "marts.next_experiments"):
        rows = conn.sql("SELECT * FROM marts.next_experiments ORDER BY rank").pl().to_dicts()
    print(format_next(rows, min_cell, lambda geos: market_names(conn, geos)), file=out)
    return 0 if rows else 1
