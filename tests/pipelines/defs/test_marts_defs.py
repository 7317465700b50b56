"""Marts writers and assets on a small fake warehouse (no MMM fit needed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg
import duckdb
import numpy as np
import pytest
from dagster_duckdb import DuckDBResource

from models.budget import optimise_budget
from models.mmm.response import ResponseModel
from models.mmm.transforms import GeometricAdstock, HillSaturation
from pipelines.defs.marts.assets import budget_plan, pac_by_channel
from pipelines.defs.marts.writers import (
    mmm_window,
    spend_range,
    write_budget_plan,
    write_pac_by_channel,
)
from pipelines.resources import ClearcountSettings
from pipelines.response_model import response_frame
from pipelines.warehouse import WarehouseError, apply_schema, replace_tables, sql_text

WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(8)]
PAC_COLUMNS = [
    "channel", "window_start", "window_end", "spend", "last_touch_new_patients",
    "last_touch_pac", "incremental_new_patients", "incremental_new_patients_lo",
    "incremental_new_patients_hi", "pac", "pac_lo", "pac_hi", "marginal_pac", "geo_test_pac",
    "geo_test_pac_lo", "geo_test_pac_hi", "refreshed_at", "geo_test_status",
]  # fmt: skip


def fill(conn: duckdb.DuckDBPyConnection) -> None:
    """Two geos, 8 weeks, paid channels search and tv; window = last 4 weeks."""
    apply_schema(conn)
    for w in WEEKS:
        for g in ("a", "b"):
            conn.execute(
                "INSERT INTO core.weekly_panel (week_start, geo, population, new_patients) "
                "VALUES (?, ?, 100000, 50)",
                [w, g],
            )
            conn.execute("INSERT INTO core.weekly_spend VALUES (?, ?, 'search', 100.0)", [w, g])
            conn.execute(
                "INSERT INTO core.weekly_spend VALUES (?, ?, 'tv', ?)", [w, g, 50.0 * (w.day % 3)]
            )
            conn.execute("INSERT INTO core.last_touch VALUES (?, ?, 'search', 7)", [w, g])
            conn.execute("INSERT INTO core.last_touch VALUES (?, ?, 'organic', 30)", [w, g])
    conn.execute(
        "CREATE TABLE mmm.channel_summary (channel VARCHAR, window_start DATE, window_end DATE, "
        "spend DOUBLE, incremental_new_patients DOUBLE, incremental_new_patients_lo DOUBLE, "
        "incremental_new_patients_hi DOUBLE, pac DOUBLE, pac_lo DOUBLE, pac_hi DOUBLE, "
        "marginal_pac DOUBLE, marginal_pac_lo DOUBLE, marginal_pac_hi DOUBLE, calibrated BOOLEAN, "
        "fitted_at TIMESTAMP)"
    )
    for ch, spend in (("search", 800.0), ("tv", 400.0)):
        conn.execute(
            "INSERT INTO mmm.channel_summary VALUES (?, ?, ?, ?, 20, 10, 30, ?, ?, ?, ?, 0, 0, "
            "false, now())",
            [ch, WEEKS[4], WEEKS[7], spend, spend / 20, spend / 30, spend / 10, spend / 15],
        )
    conn.execute(
        "CREATE TABLE marts.geo_test_results (test_id VARCHAR, channel VARCHAR, design VARCHAR, "
        "start_week DATE, end_week DATE, treatment_geos BIGINT, incremental_new_patients DOUBLE, "
        "incremental_new_patients_lo DOUBLE, incremental_new_patients_hi DOUBLE, lift_pct DOUBLE, "
        "p_value DOUBLE, incremental_spend DOUBLE, pac DOUBLE, pac_lo DOUBLE, pac_hi DOUBLE, "
        "method VARCHAR, status VARCHAR)"
    )
    for tid, end, pac in (("old", WEEKS[2], 11.0), ("new", WEEKS[6], 22.0)):
        conn.execute(
            "INSERT INTO marts.geo_test_results VALUES (?, 'search', 'holdout', ?, ?, 1, 5, 1, 9, "
            "3, 0.04, 100, ?, ?, ?, 'scm', 'conclusive')",
            [tid, WEEKS[0], end, pac, pac / 2, pac * 2],
        )


@pytest.fixture()
def conn():
    c = duckdb.connect(":memory:")
    fill(c)
    yield c
    c.close()


def test_pac_by_channel_rows_and_history(conn):
    t1 = datetime(2024, 3, 1, 6, 0)
    assert write_pac_by_channel(conn, t1) == 2
    df = conn.sql("SELECT * FROM marts.pac_by_channel ORDER BY channel").pl()
    assert df.columns == PAC_COLUMNS
    search, tv = df.row(0, named=True), df.row(1, named=True)
    assert search["channel"] == "search" and tv["channel"] == "tv"
    assert search["window_start"] == WEEKS[4] and search["window_end"] == WEEKS[7]
    # 4 window weeks x 2 geos x 7 last-touch new patients
    assert search["last_touch_new_patients"] == 56
    assert search["last_touch_pac"] == pytest.approx(800.0 / 56)
    assert tv["last_touch_new_patients"] == 0 and tv["last_touch_pac"] is None
    assert search["pac"] == pytest.approx(40.0)
    # the most recent test wins
    assert search["geo_test_pac"] == 22.0 and search["geo_test_pac_hi"] == 44.0
    assert tv["geo_test_pac"] is None
    assert search["geo_test_status"] == "conclusive" and tv["geo_test_status"] == "none"
    assert search["refreshed_at"] == t1

    write_pac_by_channel(conn, t1 + timedelta(days=7))
    hist = conn.sql("SELECT refreshed_at, count(*) n FROM marts.pac_history GROUP BY 1").pl()
    assert hist.height == 2 and set(hist["n"].to_list()) == {2}
    assert conn.sql("SELECT count(*) FROM marts.pac_by_channel").fetchall()[0][0] == 2


def test_pac_by_channel_rolls_back_on_failure(conn):
    write_pac_by_channel(conn, datetime(2024, 3, 1))
    conn.execute("DROP TABLE marts.geo_test_results")
    with pytest.raises(WarehouseError, match="writing marts.pac_by_channel failed"):
        write_pac_by_channel(conn, datetime(2024, 3, 8))
    assert conn.sql("SELECT count(*) FROM marts.pac_by_channel").fetchall()[0][0] == 2
    assert conn.sql("SELECT count(*) FROM marts.pac_history").fetchall()[0][0] == 2


class Linear:
    channels = ("search", "tv")
    window_spend = np.array([800.0, 400.0])

    def new_patients_by_channel(self, spend_scale):
        s = np.asarray(spend_scale) * self.window_spend
        return np.array([[1.0], [2.0]]) * np.sqrt(s * np.array([1.0, 4.0]))

    def new_patients(self, spend_scale):
        return self.new_patients_by_channel(spend_scale).sum(axis=1)


def test_spend_range_and_budget_plan(conn):
    window = mmm_window(conn)
    assert window == (WEEKS[4], WEEKS[7])
    seen, n_weeks = spend_range(conn, ("search", "tv"), *window)
    assert n_weeks == 4
    np.testing.assert_allclose(seen.seen_high, [200.0, 200.0])
    np.testing.assert_allclose(
        seen.window_low, [200.0, min(100.0 * (w.day % 3) for w in WEEKS[4:])]
    )
    plan = optimise_budget(Linear(), n_weeks, spend_range=seen)
    frame = write_budget_plan(conn, plan, window, datetime(2024, 3, 1))
    stored = conn.sql("SELECT * FROM marts.budget_plan ORDER BY channel").pl()
    assert stored.height == 2
    assert stored["recommended_spend"].sum() == pytest.approx(1200.0)
    assert stored["window_start"][0] == WEEKS[4]
    assert frame["warning"][1] is not None  # tv pushed above the highest weekly spend seen


def resources(tmp_path, db) -> dict:
    return {
        "duckdb": DuckDBResource(database=str(db)),
        "settings": ClearcountSettings(output_dir=str(tmp_path / "out")),
    }


def test_pac_asset_materialises_with_dashboard_link(tmp_path):
    db = tmp_path / "wh.duckdb"
    with duckdb.connect(str(db)) as c:
        fill(c)
    result = dg.materialize([pac_by_channel], resources=resources(tmp_path, db))
    assert result.success
    mat = result.asset_materializations_for_node("pac_by_channel")[0]
    assert mat.metadata["dagster/row_count"].value == 2
    assert mat.metadata["dashboard"].value.endswith("dashboards/index.html")


def small_response() -> ResponseModel:
    """Two channels, two markets, four window weeks, three posterior draws."""
    rng = np.random.default_rng(0)
    lagged = rng.uniform(0.0, 1.0, size=(2, 4, 2, 3))
    return ResponseModel(
        channels=("search", "tv"),
        window_spend=np.array([800.0, 400.0]),
        max_weekly_spend=np.array([200.0, 200.0]),
        pop=np.array([1e5, 1e5]),
        lagged_pre=lagged * 0.2,
        lagged_win=lagged,
        adstock=GeometricAdstock(max_lag=3),
        saturation=HillSaturation(),
        adstock_params={"decay": np.full((3, 2), 0.5)},
        saturation_params={"half_saturation": np.full((3, 2), 0.5), "slope": np.full((3, 2), 1.0)},
        beta=rng.uniform(1e-5, 2e-5, size=(3, 2, 2)),
    )


def test_budget_plan_reads_the_response_model_from_the_warehouse(tmp_path):
    db = tmp_path / "wh.duckdb"
    with duckdb.connect(str(db)) as c:
        fill(c)
    failed = dg.materialize([budget_plan], resources=resources(tmp_path, db), raise_on_error=False)
    assert not failed.success  # no fit has stored a response model yet
    with DuckDBResource(database=str(db)).get_connection() as c:
        c.execute(sql_text("mmm/schema.sql"))
        replace_tables(c, {"mmm.response_model": response_frame(small_response().to_arrays())}, "t")
    result = dg.materialize([budget_plan], resources=resources(tmp_path, db))
    assert result.success
    with DuckDBResource(database=str(db)).get_connection() as c:
        stored = c.execute(
            "SELECT channel, current_spend, recommended_spend FROM marts.budget_plan "
            "ORDER BY channel"
        ).fetchall()
    assert [r[0] for r in stored] == ["search", "tv"]
    assert sum(r[2] for r in stored) == pytest.approx(sum(r[1] for r in stored))
