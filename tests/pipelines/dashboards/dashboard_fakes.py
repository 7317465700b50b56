"""A small fake warehouse (every table the dashboards read), as frames and as a DuckDB file.

Numbers are invented; two cells are deliberately small (tv last touch 7, a treated week of 6).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

CHANNELS = ("paid_search", "social", "tv")
WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(30)]
WINDOW = (WEEKS[10], WEEKS[29])
T1 = datetime(2024, 8, 5, 6, 0)
T0 = T1 - timedelta(days=7)


def fake_frames(converged: bool = True) -> dict[str, pl.DataFrame]:
    """Frames named as ``pipelines.dashboards.data.TABLES`` (raw, before the small-cell filter)."""
    rng = np.random.default_rng(0)
    spend = {"paid_search": 52_000.0, "social": 31_000.0, "tv": 80_000.0}
    inc = {"paid_search": 410.0, "social": 150.0, "tv": 260.0}
    lt = {"paid_search": 900, "social": 80, "tv": 7}  # tv last touch: a small cell
    # latest geo test: paid_search measured, social inconclusive (open interval), tv none
    geo = {
        "paid_search": (140.0, 90.0, 260.0, "conclusive"),
        "social": (4250.0, 323.0, None, "inconclusive"),
        "tv": (None, None, None, "none"),
    }
    rows = []
    for ch in CHANNELS:
        rows.append(
            {
                "channel": ch, "window_start": WINDOW[0], "window_end": WINDOW[1],
                "spend": spend[ch], "last_touch_new_patients": lt[ch],
                "last_touch_pac": spend[ch] / lt[ch], "incremental_new_patients": inc[ch],
                "incremental_new_patients_lo": inc[ch] * 0.7,
                "incremental_new_patients_hi": inc[ch] * 1.4, "pac": spend[ch] / inc[ch],
                "pac_lo": spend[ch] / inc[ch] / 1.4, "pac_hi": spend[ch] / inc[ch] / 0.7,
                "marginal_pac": spend[ch] / inc[ch] * 1.6,
                "geo_test_pac": geo[ch][0], "geo_test_pac_lo": geo[ch][1],
                "geo_test_pac_hi": geo[ch][2], "refreshed_at": T1, "geo_test_status": geo[ch][3],
            }
        )  # fmt: skip
    pac = pl.DataFrame(rows)
    prev = pac.with_columns((pl.col("pac") * 1.1).alias("pac"), pl.lit(T0).alias("refreshed_at"))
    contributions = pl.DataFrame(
        [
            {"week_start": w, "component": comp, "median": m, "lo": m * 0.8, "hi": m * 1.2}
            for w in WEEKS
            for comp, m in [("baseline", 120.0), *((c, inc[c] / 20) for c in CHANNELS)]
        ]
    )
    curves = pl.DataFrame(
        [
            {
                "channel": ch, "weekly_spend": s, "new_patients": 30 * (1 - np.exp(-s / 3000)),
                "new_patients_lo": 20 * (1 - np.exp(-s / 3000)),
                "new_patients_hi": 40 * (1 - np.exp(-s / 3000)), "current": i == 10,
            }
            for ch in CHANNELS
            for i, s in enumerate(np.linspace(0, 8000, 21))
        ]
    )  # fmt: skip
    actual = rng.poisson(160, len(WEEKS))
    actual[3] = 4  # a small national week: must be suppressed
    fva = pl.DataFrame(
        {
            "week_start": WEEKS, "actual": actual, "fitted": np.full(len(WEEKS), 158.0),
            "fitted_lo": np.full(len(WEEKS), 140.0), "fitted_hi": np.full(len(WEEKS), 176.0),
            "holdout": [i >= 26 for i in range(len(WEEKS))],
        }
    )  # fmt: skip
    diagnostics = pl.DataFrame(
        {
            "metric": ["divergences", "max_rhat", "min_ess_bulk"],
            "value": [0.0, 1.004 if converged else 1.3, 850.0],
            "threshold": [0.0, 1.01, 400.0],
            "passed": [True, converged, True],
        }
    )
    fit_status = pl.DataFrame(
        {
            "fitted_at": [T1 - timedelta(minutes=5)], "converged": [converged],
            "message": ["all gates passed" if converged else "r_hat 1.3 > 1.01"],
            "n_geos": [12], "n_weeks": [30], "n_channels": [3], "seconds": [61.0],
            "calibrated": [True],
        }
    )  # fmt: skip
    geo_results = pl.DataFrame(
        {
            "test_id": ["search_holdout_1", "social_scale_up_1"],
            "channel": ["paid_search", "social"], "design": ["holdout", "scale_up"],
            "start_week": [WEEKS[20], WEEKS[12]], "end_week": [WEEKS[25], WEEKS[17]],
            "treatment_geos": [1, 1], "incremental_new_patients": [36.0, 4.0],
            "incremental_new_patients_lo": [20.0, -225.0],
            "incremental_new_patients_hi": [55.0, 331.0], "lift_pct": [12.5, 0.4],
            "p_value": [0.02, 0.87], "incremental_spend": [5040.0, 17000.0],
            "pac": [140.0, 4250.0], "pac_lo": [90.0, 323.0], "pac_hi": [260.0, None],
            "method": ["synthetic_control"] * 2, "status": ["conclusive", "inconclusive"],
        }
    )  # fmt: skip
    treated = rng.poisson(30, len(WEEKS)).astype(np.int64)
    treated[22] = 6  # one treated market, one week with 6 new patients: a small cell
    geo_series = pl.DataFrame(
        {
            "test_id": ["search_holdout_1"] * len(WEEKS), "week_start": WEEKS,
            "treated": treated, "counterfactual": np.full(len(WEEKS), 31.0),
            "counterfactual_lo": np.full(len(WEEKS), 25.0),
            "counterfactual_hi": np.full(len(WEEKS), 37.0),
            "in_test": [20 <= i <= 25 for i in range(len(WEEKS))],
        }
    )  # fmt: skip
    geo_messages = pl.DataFrame(
        {"test_id": ["search_holdout_1"], "ok": [True], "message": ["pre-period fit good"]}
    )
    designs = pl.DataFrame(
        {
            "channel": ["social"], "weeks": [6], "treatment_geos": [["g01", "g02"]],
            "control_geos": [["g03", "g04", "g05"]], "mde_new_patients": [40.0],
            "mde_pct": [9.5], "power": [0.8], "expected_lost_new_patients": [18.0],
            "expected_spend_saved": [4200.0], "proposed_at": [T1],
        }
    )  # fmt: skip
    scans = pl.DataFrame(
        {
            "file_name": ["markets.csv", "spend_2024.csv", "calls_bad.csv"],
            "sha256": ["a" * 64, "b" * 64, "c" * 64], "feed": ["markets", "spend", "calls"],
            "rows": [12, 1080, 40], "verdict": ["accepted", "accepted", "rejected"],
            "rules": ["", "", "phone(notes)=3; unknown_column(notes)=40"],
            "scanned_at": [T1 - timedelta(minutes=9)] * 3,
        }
    )  # fmt: skip
    loaded = pl.DataFrame(
        {
            "feed": ["markets", "spend"], "file_name": ["markets.csv", "spend_2024.csv"],
            "sha256": ["a" * 64, "b" * 64], "rows": [12, 1080],
            "loaded_at": [T1 - timedelta(minutes=8)] * 2,
        }
    )  # fmt: skip
    budget = pl.DataFrame(
        {
            "channel": list(CHANNELS), "current_spend": [spend[c] for c in CHANNELS],
            "recommended_spend": [67_600.0, 21_700.0, 73_700.0],
            "current_new_patients": [inc[c] for c in CHANNELS],
            "recommended_new_patients": [470.0, 120.0, 250.0],
            "current_pac": [spend[c] / inc[c] for c in CHANNELS],
            "recommended_pac": [67_600 / 470, 21_700 / 120, 73_700 / 250],
            "prob_beats_current": [0.93] * 3,
            "min_spend": [spend[c] * 0.7 for c in CHANNELS],
            "max_spend": [spend[c] * 1.3 for c in CHANNELS],
            "gain_new_patients": [20.0] * 3, "gain_new_patients_lo": [-4.0] * 3,
            "gain_new_patients_hi": [47.0] * 3,
            "cautious_spend": [60_000.0, 25_000.0, 78_000.0],
            "cautious_new_patients": [450.0, 135.0, 258.0],
            "cautious_gain_new_patients": [12.0] * 3,
            "cautious_gain_new_patients_lo": [2.0] * 3,
            "cautious_gain_new_patients_hi": [25.0] * 3,
            "cautious_prob_beats_current": [0.97] * 3,
            "warning": ["paid_search: recommended weekly spend reaches $3,900, above the "
                        "highest $3,500 the model has seen; the response there is extrapolated",
                        None, None],
        }
    )  # fmt: skip
    totals = pl.DataFrame({"week_start": WEEKS, "new_patients": [900] * len(WEEKS)})
    next_experiments = pl.DataFrame(
        {
            "rank": [1, 2], "channel": ["social", "tv"], "design": ["holdout", "scale_up"],
            "weeks": [8, 8], "treatment_geos": [["g01", "g02"], ["g03"]],
            "control_geos": [["g03", "g04", "g05"], ["g01", "g02", "g04", "g05"]],
            "spend_change": [-9_200.0, 6_100.0], "mde_new_patients": [40.0, 35.0],
            "expected_lift": [61.0, 22.0], "detection_probability": [0.74, 0.31],
            "spend": [31_000.0, 80_000.0], "pac": [207.0, 308.0], "pac_lo": [148.0, 220.0],
            "pac_hi": [296.0, 440.0], "expected_pac_lo": [171.0, 231.0],
            "expected_pac_hi": [246.0, 402.0], "width_reduction": [0.49, 0.21],
            "value_usd": [22_000.0, 11_900.0], "effective_draws": [140.0, 320.0],
            "refreshed_at": [T1, T1],
        }
    )  # fmt: skip
    markets = pl.DataFrame(
        {"geo": ["g01", "g02", "g03", "g04", "g05"],
         "label": ["North valley", "Harbor district", None, "East hills", "Lakeside"]}
    )  # fmt: skip
    spend_seen = pl.DataFrame({"channel": list(CHANNELS), "seen_high": [6000.0] * 3})
    return {
        "pac": pac, "pac_history": pl.concat([prev, pac]), "budget": budget,
        "channel_summary": pac.select(
            "channel", "window_start", "window_end", "incremental_new_patients",
            "incremental_new_patients_lo", "incremental_new_patients_hi",
        ).with_columns(pl.lit(True).alias("calibrated")),
        "contributions": contributions, "response_curves": curves, "fit_vs_actual": fva,
        "diagnostics": diagnostics, "fit_status": fit_status, "geo_results": geo_results,
        "geo_series": geo_series, "geo_messages": geo_messages, "geo_designs": designs,
        "file_scans": scans, "loaded_files": loaded, "weekly_totals": totals,
        "next_experiments": next_experiments, "markets": markets, "spend_seen": spend_seen,
    }  # fmt: skip


TABLE_OF = {
    "pac": "marts.pac_by_channel", "pac_history": "marts.pac_history",
    "budget": "marts.budget_plan", "channel_summary": "mmm.channel_summary",
    "contributions": "mmm.contributions", "response_curves": "mmm.response_curves",
    "fit_vs_actual": "mmm.fit_vs_actual", "diagnostics": "mmm.diagnostics",
    "fit_status": "mmm.fit_status", "geo_results": "marts.geo_test_results",
    "geo_series": "geo.test_series", "geo_messages": "geo.test_messages",
    "geo_designs": "geo.proposed_designs", "file_scans": "audit.file_scans",
    "loaded_files": "audit.loaded_files", "next_experiments": "marts.next_experiments",
    "markets": "staging.markets",
}  # fmt: skip


def write_fake_warehouse(path: Path, converged: bool = True) -> None:
    """All fake frames as warehouse tables; weekly totals as a 2-market core.weekly_panel."""
    frames = fake_frames(converged)
    with duckdb.connect(str(path)) as conn:
        for schema in ("marts", "mmm", "geo", "audit", "core", "staging"):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, table in TABLE_OF.items():
            frame = frames[name]  # noqa: F841 (scanned by DuckDB)
            conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")
        totals = frames["weekly_totals"]  # noqa: F841
        conn.execute(
            "CREATE OR REPLACE TABLE core.weekly_panel AS SELECT week_start, t.geo, "
            "100000::BIGINT AS population, (new_patients // 2)::BIGINT AS new_patients, "
            "true AS observed FROM totals CROSS JOIN (VALUES ('g01'), ('g02')) AS t(geo)"
        )
        conn.execute(
            "CREATE OR REPLACE TABLE staging.controls "
            "(week_start DATE, geo VARCHAR, name VARCHAR, value DOUBLE)"
        )
