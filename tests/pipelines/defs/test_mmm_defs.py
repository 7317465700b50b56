"""The mmm_fit asset: definitions, lift reading, table writing, and the blocking gate."""

from datetime import date, datetime

import duckdb
import numpy as np
import polars as pl
import pytest

from models.mmm.diagnostics import Diagnostics
from pipelines.defs.mmm import assets as mmm_assets


def test_asset_definition() -> None:
    import dagster as dg

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    key = dg.AssetKey("mmm_fit")
    node = graph.get(key)
    assert node.group_name == "mmm"
    assert {d.to_user_string() for d in node.parent_keys} >= {"weekly_panel", "geo_test_results"}
    check = dg.AssetCheckKey(key, "mmm_converged")
    assert check in graph.asset_check_keys
    (spec,) = mmm_assets.mmm_converged.check_specs
    assert spec.blocking and spec.key == check
    assert mmm_assets.mmm_converged.node_def.pool == "warehouse"


def test_the_warehouse_pool_is_not_held_while_sampling() -> None:
    pools = {op.name: op.pool for op in mmm_assets.mmm_fit.node_def.node_defs}
    assert pools == {
        "mmm_read_inputs": "warehouse",
        "mmm_sample": None,
        "mmm_write": "warehouse",
    }


def test_read_lift_without_tables_is_empty() -> None:
    conn = duckdb.connect(":memory:")
    assert mmm_assets.read_lift(conn) == []


def test_read_lift_joins_treated_geos() -> None:
    conn = duckdb.connect(":memory:")
    conn.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
    conn.execute(
        "CREATE TABLE marts.geo_test_results (test_id VARCHAR, channel VARCHAR, design VARCHAR, "
        "start_week DATE, end_week DATE, incremental_new_patients DOUBLE, "
        "incremental_new_patients_lo DOUBLE, incremental_new_patients_hi DOUBLE, "
        "incremental_spend DOUBLE)"
    )
    conn.execute(
        "CREATE TABLE staging.experiments (test_id VARCHAR, channel VARCHAR, geo VARCHAR, "
        "role VARCHAR, start_week DATE, end_week DATE, design VARCHAR)"
    )
    conn.execute(
        "INSERT INTO marts.geo_test_results VALUES "
        "('t1', 'tv', 'holdout', '2026-01-05', '2026-02-02', 40, 20, 60, 10000), "
        "('t2', 'tv', 'holdout', '2026-01-05', '2026-02-02', NULL, NULL, NULL, 10000)"
    )
    conn.execute(
        "INSERT INTO staging.experiments VALUES "
        "('t1', 'tv', 'g2', 'treatment', '2026-01-05', '2026-02-02', 'holdout'), "
        "('t1', 'tv', 'g1', 'treatment', '2026-01-05', '2026-02-02', 'holdout'), "
        "('t1', 'tv', 'g3', 'control', '2026-01-05', '2026-02-02', 'holdout'), "
        "('t2', 'tv', 'g4', 'treatment', '2026-01-05', '2026-02-02', 'holdout')"
    )
    (m,) = mmm_assets.read_lift(conn)
    assert m.channel == "tv" and m.geos == ("g1", "g2") and m.design == "holdout"
    assert m.start_week == date(2026, 1, 5)
    assert (m.incremental_new_patients, m.lo, m.hi, m.incremental_spend) == (40, 20, 60, 10000)


class FakeFit:
    """Just the attributes write_tables reads."""

    def __init__(self, converged: bool) -> None:
        self.diagnostics = Diagnostics(
            max_rhat=1.001 if converged else 1.3,
            min_ess_bulk=900.0,
            min_ess_tail=800.0,
            divergences=0 if converged else 4,
            n_draws=2000,
        )
        self.channels = ("tv",)
        self.n_geos, self.n_weeks, self.seconds, self.calibrated = 3, 60, 12.0, False
        wk = date(2026, 1, 5)
        self.channel_summary = pl.DataFrame(
            {
                "channel": ["tv"],
                "window_start": [wk],
                "window_end": [wk],
                **{
                    c: [1.0]
                    for c in (
                        "spend",
                        "incremental_new_patients",
                        "incremental_new_patients_lo",
                        "incremental_new_patients_hi",
                        "pac",
                        "pac_lo",
                        "pac_hi",
                        "marginal_pac",
                        "marginal_pac_lo",
                        "marginal_pac_hi",
                    )
                },
                "calibrated": [False],
            }
        )
        self.contributions = pl.DataFrame(
            {"week_start": [wk], "component": ["tv"], "median": [1.0], "lo": [0.5], "hi": [2.0]}
        )
        self.response_curves = pl.DataFrame(
            {
                "channel": ["tv"],
                "weekly_spend": [0.0],
                "new_patients": [0.0],
                "new_patients_lo": [0.0],
                "new_patients_hi": [0.0],
                "current": [False],
            }
        )
        self.fit_vs_actual = pl.DataFrame(
            {
                "week_start": [wk],
                "actual": [3.0],
                "fitted": [3.1],
                "fitted_lo": [2.0],
                "fitted_hi": [4.0],
                "holdout": [True],
            }
        )
        self.response = FakeResponse()


class FakeResponse:
    """Arrays as ``ResponseModel.to_arrays`` returns them."""

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"channels": np.array(["tv"]), "beta": np.arange(6.0).reshape(1, 2, 3)}


def test_write_tables_converged_and_not() -> None:
    conn = duckdb.connect(":memory:")
    mmm_assets.write_tables(conn, FakeFit(True), datetime(2026, 1, 12))
    assert conn.execute("SELECT count(*) FROM mmm.channel_summary").fetchone()[0] == 1
    assert conn.execute("SELECT converged FROM mmm.fit_status").fetchone()[0] is True
    stored = dict(conn.execute("SELECT name, npy FROM mmm.response_model").fetchall())
    assert set(stored) == {"channels", "beta"}
    assert mmm_assets.convergence_result(conn).passed
    # a failed fit keeps the published PAC tables and records why
    mmm_assets.write_tables(conn, FakeFit(False), datetime(2026, 1, 19))
    assert conn.execute("SELECT count(*) FROM mmm.channel_summary").fetchone()[0] == 1
    conv, msg = conn.execute("SELECT converged, message FROM mmm.fit_status").fetchone()
    assert conv is False and "did not converge" in msg and "divergent" in msg
    passed = conn.execute(
        "SELECT passed FROM mmm.diagnostics WHERE metric = 'max_rhat'"
    ).fetchone()[0]
    assert passed is False
    # the response model of the last converged fit is kept with its PAC tables
    assert conn.execute("SELECT count(*) FROM mmm.response_model").fetchone()[0] == 2
    result = mmm_assets.convergence_result(conn)
    assert not result.passed and result.description == msg
    assert result.metadata["max_rhat"].value == 1.3


@pytest.mark.slow
def test_non_converged_fit_fails_the_blocking_check(tmp_path, monkeypatch) -> None:
    """A deliberately short run: the check fails with a plain-words reason, PAC is not written."""
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines.resources import ClearcountSettings
    from simulator import WorldConfig, simulate_world

    world = simulate_world(WorldConfig(seed=3, n_geos=6, n_weeks=80))
    monkeypatch.setattr("pipelines.panel.read_panel", lambda conn: world.panel)
    db = str(tmp_path / "wh.duckdb")
    result = dg.materialize(
        [mmm_assets.mmm_fit, mmm_assets.mmm_converged],
        resources={
            "duckdb": DuckDBResource(database=db),
            "settings": ClearcountSettings(output_dir=str(tmp_path / "out")),
        },
        run_config={
            "ops": {
                "mmm_fit": {"config": {"draws": 10, "tune": 10, "holdout_weeks": 0, "retries": 0}}
            }
        },
        raise_on_error=False,
    )
    evals = result.get_asset_check_evaluations()
    (ev,) = [e for e in evals if e.check_name == "mmm_converged"]
    assert not ev.passed
    assert ev.severity == dg.AssetCheckSeverity.ERROR
    assert "did not converge" in ev.description
    conn = duckdb.connect(db)
    assert conn.execute("SELECT count(*) FROM mmm.channel_summary").fetchone()[0] == 0
    assert conn.execute("SELECT converged FROM mmm.fit_status").fetchone()[0] is False
    assert not (tmp_path / "out" / "mmm" / "posterior.nc").exists()
    np.testing.assert_equal(
        conn.execute("SELECT count(*) FROM mmm.diagnostics").fetchone()[0] > 0, True
    )


@pytest.mark.slow
@pytest.mark.e2e
def test_sample_refresh_calibrates_the_mmm_with_its_geo_test_results(sample_refreshed) -> None:
    """The published fit took its lift terms from the rows of ``marts.geo_test_results``."""
    conn = duckdb.connect(sample_refreshed["CLEARCOUNT_WAREHOUSE"], read_only=True)
    try:
        lifts = mmm_assets.read_lift(conn)
        analysed = conn.execute(
            "SELECT channel, design FROM marts.geo_test_results "
            "WHERE incremental_new_patients IS NOT NULL ORDER BY test_id"
        ).fetchall()
        status = conn.execute("SELECT converged, calibrated FROM mmm.fit_status").fetchall()
        calibrated = conn.execute(
            "SELECT channel FROM mmm.channel_summary WHERE calibrated ORDER BY channel"
        ).fetchall()
    finally:
        conn.close()
    assert len(analysed) == 2  # the sample's search holdout and social scale-up
    assert sorted((m.channel, m.design) for m in lifts) == sorted(analysed)
    assert status == [(True, True)]
    assert [c for (c,) in calibrated] == sorted({c for c, _ in analysed})


def test_run_settings_reach_the_model_config(tmp_path, monkeypatch) -> None:
    """The reporting window and holiday calendar come from the settings resource; the run
    config may set the window, the sampler, the transforms and the priors."""
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from models.panel import Panel
    from pipelines.resources import ClearcountSettings

    weeks = np.arange("2024-01-01", 8 * 7, 7, dtype="datetime64[D]")
    panel = Panel(
        weeks=weeks,
        geos=("a",),
        channels=("tv",),
        population=np.array([1e5]),
        spend=np.ones((1, 8, 1)),
        new_patients=np.full((1, 8), 5.0),
    )
    seen = []

    def fake_fit(panel, config, lift):
        seen.append(config)
        fit = FakeFit(False)
        fit.notes, fit.calibrated = [], False
        return fit

    monkeypatch.setattr("pipelines.panel.read_panel", lambda conn: panel)
    monkeypatch.setattr("models.mmm.fit_mmm", fake_fit)
    resources = {
        "duckdb": DuckDBResource(database=str(tmp_path / "wh.duckdb")),
        "settings": ClearcountSettings(
            output_dir=str(tmp_path / "out"), window_weeks="26", holiday_country="GB-ENG"
        ),
    }
    dg.materialize([mmm_assets.mmm_fit], resources=resources)
    model = {
        "window_weeks": 13, "chains": 2, "saturation": "logistic", "media_share": 0.4,
        "n_fourier": 2, "saturation_geo_scale": 0.0, "adstock_priors": {"decay_mean": 0.6},
        "saturation_priors": {"lam_sd": 0.5},
    }  # fmt: skip
    dg.materialize(
        [mmm_assets.mmm_fit],
        resources=resources,
        run_config={"ops": {"mmm_fit": {"config": model}}},
    )
    assert [c.window_weeks for c in seen] == [26, 13]
    assert [c.holiday_country for c in seen] == ["GB-ENG", "GB-ENG"]
    assert (seen[0].chains, seen[1].chains) == (4, 2)
    assert (seen[0].saturation.kind, seen[1].saturation.kind) == ("hill", "logistic")
    assert seen[1].priors.media_share == 0.4
    assert (seen[0].n_fourier, seen[1].n_fourier) == (3, 2)
    assert (seen[0].priors.saturation_geo_scale, seen[1].priors.saturation_geo_scale) == (0.2, 0.0)
    assert (seen[0].adstock.decay_mean, seen[1].adstock.decay_mean) == (0.4, 0.6)
    assert (seen[1].adstock.kind, seen[1].adstock.max_lag) == ("geometric", 8)
    assert seen[1].saturation.lam_sd == 0.5
