"""The geo test to run next (``marts.next_experiments``): the summary's "Run this next" and the
full ranking on the geo tests page.

Each row is a channel's best test (holdout or scale-up) from ``models.experiments``: markets,
weeks, spend change, minimum detectable effect, and the PAC interval expected after calibrating
the model with it. Money USD; counts new patients over the test.
"""

from __future__ import annotations

import polars as pl

from pipelines.dashboards.data import DashboardData
from pipelines.dashboards.page import (
    count,
    empty_note,
    esc,
    label,
    pct,
    section,
    share,
    table_html,
    usd,
)

LEARNS = 0.05
"""A test that narrows the PAC interval by less than this teaches little worth its cost."""

DESIGN_NAMES = {"holdout": "holdout (spend off)", "scale_up": "scale-up (spend +50%)"}

RANKING_NOTE = (
    "Ranked by what the test would teach: the channel's window spend times how much the test "
    "is expected to narrow its 90% PAC interval (relative to the PAC): the budget most in doubt "
    "that one test would settle. The expected interval is simulated from the model's posterior "
    "draws: a test outcome is drawn from the model, the draws are reweighted by how well they "
    "predict it, and the interval is read off, averaged over 400 simulated outcomes. Where "
    "the default 8-week test would rarely be conclusive, a 13-week test in twice the markets "
    "is designed too, and the one that teaches more is shown."
)


def _design(row: dict) -> str:
    return DESIGN_NAMES.get(row["design"], row["design"])


def proposal_text(row: dict, data: DashboardData) -> str:
    """The proposal for one channel in plain words (HTML-escaped)."""
    treated = data.market_names(row["treatment_geos"] or [])
    n_controls = len(row["control_geos"] or [])
    action = (
        f"switches off about {usd(-row['spend_change'])} of its spend and should lose about "
        f"{count(row['expected_lift'])} new patients"
        if row["design"] == "holdout"
        else f"adds about {usd(row['spend_change'])} of spend and should bring about "
        f"{count(row['expected_lift'])} more new patients"
    )
    article = "An" if str(row["weeks"]).startswith(("8", "11", "18")) else "A"
    return esc(
        f"{article} {row['weeks']}-week {_design(row)} of {label(row['channel'])} in "
        f"{len(treated)} markets ({', '.join(treated)}), against {n_controls} control markets. "
        f"It {action}; it detects an effect of {count(row['mde_new_patients'])} new patients or "
        f"more, and would be conclusive in {share(row['detection_probability'])} of simulated "
        f"outcomes. {label(row['channel'])}'s PAC interval, {usd(row['pac_lo'])} – "
        f"{usd(row['pac_hi'])} today, is expected to narrow to {usd(row['expected_pac_lo'])} – "
        f"{usd(row['expected_pac_hi'])} ({pct(max(row['width_reduction'], 0.0))} narrower)."
    )


def ranking_table(frame: pl.DataFrame) -> str:
    """Every channel's best test, ranked."""
    shown = frame.with_columns(
        pl.struct(["pac_lo", "pac_hi"]).alias("now"),
        pl.struct(["expected_pac_lo", "expected_pac_hi"]).alias("after"),
        pl.struct(["design", "weeks", "treatment_geos"]).alias("test"),
    )
    return table_html(
        shown,
        [
            ("rank", "rank", lambda v: f"{v}"),
            ("channel", "channel", lambda c: esc(label(c))),
            (
                "test",
                "test",
                lambda t: esc(
                    f"{t['weeks']}-week {_design(t)}, {len(t['treatment_geos'] or [])} markets"
                ),
            ),
            ("spend_change", "spend change", lambda v: ("+" if v > 0 else "") + usd(v)),
            ("mde_new_patients", "detects (MDE)", count),
            ("expected_lift", "expected effect", count),
            ("now", "PAC 90% now", lambda r: f"{usd(r['pac_lo'])} – {usd(r['pac_hi'])}"),
            (
                "after",
                "expected after the test",
                lambda r: f"{usd(r['expected_pac_lo'])} – {usd(r['expected_pac_hi'])}",
            ),
            ("width_reduction", "narrower by", lambda v: pct(max(v, 0.0))),
            ("value_usd", "value (USD)", lambda v: usd(max(v, 0.0))),
        ],
        table_id="next-experiments-table",
        row_attr="channel",
    )


def next_experiment_section(data: DashboardData) -> str:
    """Summary page: the top test in words, the runner-up in one line, a link to the ranking."""
    frame = data.next_experiments
    if frame.is_empty():
        return section(
            "Run this next",
            empty_note(
                "No geo test proposal yet: it needs a converged model fit and the default "
                "designs of this refresh."
            ),
            "next",
        )
    top = frame.row(0, named=True)
    body = f'<p id="next-proposal">{proposal_text(top, data)}</p>'
    if frame.height > 1:
        second = frame.row(1, named=True)
        if second["width_reduction"] >= LEARNS:
            then = (
                f"Then: {esc(label(second['channel']))} ({esc(_design(second))}, expected "
                f"{pct(second['width_reduction'])} narrower)."
            )
        else:
            then = (
                f"No other channel's test would narrow its interval by {pct(LEARNS)} or more: "
                "their expected effects are below what a geo test in these markets can detect."
            )
        body += (
            f'<p class="note">{then} Every channel\'s test is on the '
            '<a href="geo_tests.html#next">geo tests page</a>.</p>'
        )
    body += f'<p class="note">{esc(RANKING_NOTE)}</p>'
    return (
        f'<section id="next" class="next"><h2>Run this next: a geo test of '
        f"{esc(label(top['channel']))}</h2>{body}</section>"
    )


def ranking_section(data: DashboardData) -> str:
    """Geo tests page: the whole ranking with the top proposal in words."""
    frame = data.next_experiments
    if frame.is_empty():
        return section("Which test to run next", empty_note("No proposal yet."), "next")
    body = (
        f'<p id="next-proposal">{proposal_text(frame.row(0, named=True), data)}</p>'
        + ranking_table(frame)
        + f'<p class="note">{esc(RANKING_NOTE)}</p>'
    )
    return section("Which test to run next", body, "next")
